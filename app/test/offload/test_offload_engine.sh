#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# offload_engine_loss: the engine (dpdk-testpmd + net_vhost, io forwarding
# on its one port: what the driver sends comes back) is killed with
# SIGKILL in the middle of traffic and started again, CYCLES times
# (default 20). Each cycle:
#   - a new engine; the device (net_vfio_user offload=..., in a testpmd
#     that does not forward) connects to it and hands the queues over
#     (its log), the frontend (our frontend PMD in testpmd, io forwarding,
#     reconnect=200) sees the link come up (LSC event);
#   - the frontend starts traffic (start tx_first): its port counters grow
#     (frames go round through the engine), net_vfio_user's stay 0;
#   - the engine is killed: the device logs the loss, sets
#     DEVICE_NEEDS_RESET and raises a config interrupt; the frontend
#     reads it ("device needs reset"), resets and sets the device up again
#     (link down meanwhile, until the next engine).
# The device process's open fds and /proc maps lines are taken after the
# loss of cycle 2 and of the last cycle (the frontend set up again, no
# engine): they must not have grown.
#
# Every 4th engine takes an IOTLB (net_vhost's iommu-support=1): its
# hand-over is in IOTLB mode (the backend request channel made anew with
# that engine and closed with its loss), the next engine's is not again.
# With "iotlb" (by hand): offload_engine_loss_iotlb, every engine takes an
# IOTLB, 4 cycles (3 in a sanitizer build).
#
#   test_offload_engine.sh BUILD_ROOT [iotlb]

set -u
. "$(dirname "$0")/../pair/pair_lib.sh"
. "$(dirname "$0")/offload_lib.sh"

MODE=${2:-}
TEST_NAME=offload_engine_loss
if [ "$MODE" = iotlb ]; then
	TEST_NAME=offload_engine_loss_iotlb
fi
pair_init $TEST_NAME "${1:?usage: $0 BUILD_ROOT [iotlb]}" 420
command -v "$TESTPMD" >/dev/null 2>&1 ||
	pair_skip "$TESTPMD not found (Debian package dpdk)"
# iotlb: 4 cycles, 3 in a sanitizer build (the full suite's time)
if [ "$MODE" = iotlb ] && [ -n "$PAIR_ASAN_LIB" ]; then
	VU_OFFLOAD_CYCLES=${VU_OFFLOAD_CYCLES:-3}
elif [ "$MODE" = iotlb ]; then
	VU_OFFLOAD_CYCLES=${VU_OFFLOAD_CYCLES:-4}
fi

# 20 cycles as issue 13 asks; a sanitizer build (which checks memory
# errors, not the maps) does 8 to keep the CI run short
if [ -n "$PAIR_ASAN_LIB" ]; then
	CYCLES=${VU_OFFLOAD_CYCLES:-8}
else
	CYCLES=${VU_OFFLOAD_CYCLES:-20}
fi
Q=1
ENG=$PAIR_WORK/engine.sock
DEV=$PAIR_WORK/dev.sock

resources() {	# PID: "fds maps"
	echo "$(ls "/proc/$1/fd" | wc -l) $(wc -l <"/proc/$1/maps")"
}

# fe_link STATE: the frontend's last link line is STATE and testpmd saw
# an LSC event for every change
fe_link() {
	local log="$PAIR_WORK/fe.log" i last changes events
	for ((i = 0; i < 500; i++)); do
		last=$(tr -d '\r' <"$log" | grep -a -o -E ': link (up|down)$' | tail -1)
		changes=$(tr -d '\r' <"$log" | grep -a -c -E ': link (up|down)$')
		events=$(grep -a -c 'link state change event' "$log")
		[ "$last" = ": link $1" ] && [ "$events" -eq "$changes" ] &&
			return 0
		sleep 0.02
	done
	pair_log "fe: last link line '$last', $changes changes, $events LSC events"
	return 1
}

dev_start dev "$DEV" "$ENG" $Q
pair_wait_log dev "offload engine .* not there yet" 10 ||
	pair_fail "dev: no word of the missing engine"
pair_prefix fe
# shellcheck disable=SC2046 # memory options: several words
tp_start fe -l 0,1 --file-prefix "$PFX" $(VU_NO_HUGE=1 pair_mem_args 128) \
	--no-pci --log-level='pmd.net.*:info' -d "$VU_FRONTEND_PMD" \
	--vdev "$FE_NAME""0,path=$DEV,queues=$Q,reconnect=200" \
	-- -i --total-num-mbufs=8192 --rxq=$Q --txq=$Q --forward-mode=io
pair_wait_log dev "driver ready" 20 || pair_fail "the frontend did not set the device up"
pair_wait_log dev "no offload engine yet" 10 ||
	pair_fail "dev: DRIVER_OK without an engine not reported"

prev_rx=0
n_iotlb=0
t_all=$SECONDS
for ((c = 1; c <= CYCLES; c++)); do
	e=eng$c
	rm -f "$ENG"	# a killed engine leaves its socket file behind
	ENGINE_DEVARGS=
	if [ "$MODE" = iotlb ] || [ $((c % 4)) -eq 0 ]; then
		ENGINE_DEVARGS=",iommu-support=1"
		n_iotlb=$((n_iotlb + 1))
	fi
	engine_start $e "$ENG" $Q
	tp_cmd $e start
	wait_count dev "offload: $((2 * Q)) queues handed" $c 20 ||
		pair_fail "cycle $c: no hand-over to the new engine"
	# IOTLB mode exactly with the engines that take an IOTLB
	[ "$(count_log dev "queues handed .*\(IOTLB mode\)")" -eq $n_iotlb ] ||
		pair_fail "cycle $c: $(count_log dev "queues handed .*\(IOTLB mode\)") hand-overs in IOTLB mode, $n_iotlb engines took an IOTLB"
	fe_link up || pair_fail "cycle $c: frontend link not up"
	[ $c -gt 1 ] && tp_cmd fe stop
	tp_cmd fe "start tx_first"
	# frames come round (10 s at most)
	for ((i = 0; i < 100; i++)); do
		tp_cmd fe "show port stats 0"
		tp_nic_stats fe
		[ "$NIC_RX" -gt "$prev_rx" ] && break
		sleep 0.1
	done
	[ "$NIC_RX" -gt "$prev_rx" ] ||
		pair_fail "cycle $c: no traffic through the engine (fe rx $prev_rx -> $NIC_RX)"
	prev_rx=$NIC_RX
	dev_counters_zero dev
	# mid-traffic
	epv=PID_$e
	{
		kill -KILL "${!epv}"
		pair_wait_exit "${!epv}" 10
	} 2>/dev/null || pair_fail "cycle $c: engine did not die"
	pair_forget "${!epv}"
	wait_count dev "offload engine .* lost with the queues" $c 10 ||
		pair_fail "cycle $c: the device did not notice the engine's loss"
	wait_count fe "device needs reset" $c 10 ||
		pair_fail "cycle $c: the frontend did not see DEVICE_NEEDS_RESET"
	wait_count fe ": reconnected" $c 20 ||
		pair_fail "cycle $c: the frontend did not set the device up again"
	wait_count dev "no offload engine yet" $((c + 1)) 10 ||
		pair_fail "cycle $c: the device is not waiting for an engine"
	fe_link down || pair_fail "cycle $c: frontend link not down without engine"
	[ $c -eq 2 ] && s2=$(resources "$PID_dev")
	[ $c -eq "$CYCLES" ] && sN=$(resources "$PID_dev")
	if [ $((c % 5)) -eq 0 ] || [ $c -eq 1 ]; then
		pair_log "cycle $c: fe rx $prev_rx, device fds/maps $(resources "$PID_dev")"
	fi
done
t_all=$((SECONDS - t_all))
tp_cmd fe stop
set -- $s2 $sN
pair_log "device process after cycle 2: $1 fds, $2 maps lines; after cycle $CYCLES: $3 fds, $4 maps lines"
[ "$3" -le "$1" ] || pair_fail "device fds grew from $1 to $3"
if [ -n "$PAIR_ASAN_LIB" ]; then
	pair_log "sanitizer build: maps not checked (ASan maps as it goes)"
else
	[ "$4" -le "$2" ] || pair_fail "device maps grew from $2 to $4 lines"
fi
tp_quit fe
tp_quit dev
pair_pass "$CYCLES engine kills${MODE:+ ($MODE)} ($n_iotlb in IOTLB mode) in ${t_all}s: each seen by the device and the frontend, traffic resumed through each new engine, fds and maps back to baseline"
