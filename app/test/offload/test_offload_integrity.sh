#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# offload_integrity: the data path of an offloaded device, end to end, both
# ways at once, 2 queue pairs:
#
#   pktcheck fe --[frontend PMD]--> net_vfio_user (offload, in a testpmd
#   that does not forward) ==vhost-user==> engine testpmd:
#       net_vhost0 (our queues) <-io-> net_vhost1 <-- net_virtio_user0
#   (Debian's virtio-user PMD) in pktcheck be
#
# Each pktcheck sends sequenced, CRC-checked frames (64..1500 bytes) on
# both queues (paced: the engine forwards, and a forwarder drops what
# the receiver has no room for) and checks what the other sent: no loss, no corruption,
# order, right queue. The frames go through the engine only:
# net_vfio_user's own port counters must stay 0, and its log must show
# the hand-over. Then the driver goes (fe quits): the device takes the
# queues back (GET_VRING_BASE) and tells the engine to drop the memory
# (an empty SET_MEM_TABLE).
#
#   test_offload_integrity.sh BUILD_ROOT PKTCHECK

set -u
. "$(dirname "$0")/../pair/pair_lib.sh"
. "$(dirname "$0")/offload_lib.sh"

pair_init offload_integrity "${1:?usage: $0 BUILD_ROOT PKTCHECK}" 240
PKTCHECK=${2:?usage: $0 BUILD_ROOT PKTCHECK [split]}
rings_from "${3:-}"
[ -x "$PKTCHECK" ] || pair_fail "no pktcheck program at $PKTCHECK"
command -v "$TESTPMD" >/dev/null 2>&1 ||
	pair_skip "$TESTPMD not found (Debian package dpdk)"

Q=2
N=${VU_OFFLOAD_FRAMES:-40000}	# per queue, each way
# The engine is a forwarder: a frame it cannot place (the receiver's ring
# full) it drops. It retries (io retry mode) and the senders are paced,
# so that three polling processes on two CPUs lose nothing.
PPS=${VU_OFFLOAD_PPS:-20000}	# per queue
ENG=$PAIR_WORK/engine.sock
PEER=$PAIR_WORK/peer.sock
DEV=$PAIR_WORK/dev.sock

field() {
	echo "$2" | sed -n "s/.* $1 \([0-9][0-9]*\).*/\1/p"
}

engine_start eng "$ENG" $Q "net_vhost1,iface=$PEER,queues=$Q"
tp_cmd eng "set fwd io retry"
# retries without a practical bound (100 s): a receiver on a shared
# (and busy) CPU may be descheduled for long; the retrying lcore holds
# both directions, so nothing is ever dropped
tp_cmd eng "set burst tx delay 100 retry 1000000"
# forwarding before anything is sent (testpmd's start flushes its rx
# queues): a frame for a side not up yet waits in the retry loop
tp_cmd eng start
dev_start dev "$DEV" "$ENG" $Q
pair_wait_log dev "offload engine .* connected" 20 ||
	pair_fail "the device did not connect to the engine"

MEM=$(VU_NO_HUGE=1 pair_mem_args 128)
COMMON=(--queues $Q --tx "$N" --rx "$N" --max-size 1500 --wait
	--pps "$PPS" --timeout 150 --progress 10)
pair_prefix be
# shellcheck disable=SC2086
pair_bg be "$PKTCHECK" -l 1 --file-prefix "$PFX" $MEM --no-pci \
	--vdev "net_virtio_user0,path=$PEER,queues=$Q,queue_size=1024" \
	-- --name be "${COMMON[@]}" --stream 2 --peer-stream 1 --seed 2
pair_prefix fe
# shellcheck disable=SC2086
pair_bg fe "$PKTCHECK" -l 1 --file-prefix "$PFX" $MEM --no-pci \
	-d "$VU_FRONTEND_PMD" --vdev "$FE_NAME""0,path=$DEV,queues=$Q$FE_RINGS" \
	-- --name fe "${COMMON[@]}" --stream 1 --peer-stream 2 --seed 1

pair_wait_log dev "offload: $((2 * Q)) queues handed" 30 ||
	pair_fail "no hand-over of $((2 * Q)) queues to the engine"
pair_log "$(grep -a "offload: .* queues handed" "$PAIR_WORK/dev.log" | tail -1 | tr -d '\r')"
check_rings dev "$RINGS"
pair_wait_log be "be: DONE" 170 "$PID_be" || pair_fail "be did not finish"
pair_wait_log fe "fe: DONE" 170 "$PID_fe" || pair_fail "fe did not finish"

declare -A TXL RXL
for side in fe be; do
	pv=PID_$side
	kill -INT "${!pv}" 2>/dev/null
	pair_wait_exit "${!pv}" 20 || pair_fail "$side did not exit after SIGINT"
	[ "$PAIR_STATUS" -eq 0 ] || pair_fail "$side exited with status $PAIR_STATUS"
	TXL[$side]=$(grep -a ": TX stream" "$PAIR_WORK/$side.log" | tail -1)
	RXL[$side]=$(grep -a ": RX stream" "$PAIR_WORK/$side.log" | tail -1)
	pair_log "${TXL[$side]}"
	pair_log "${RXL[$side]}"
done
[ "$(field packets "${TXL[fe]}")" = "$(field packets "${RXL[be]}")" ] &&
[ "$(field bytes "${TXL[fe]}")" = "$(field bytes "${RXL[be]}")" ] &&
[ "$(field packets "${RXL[be]}")" = $((N * Q)) ] ||
	pair_fail "fe -> engine -> be: sent/received differ"
[ "$(field packets "${TXL[be]}")" = "$(field packets "${RXL[fe]}")" ] &&
[ "$(field bytes "${TXL[be]}")" = "$(field bytes "${RXL[fe]}")" ] &&
[ "$(field packets "${RXL[fe]}")" = $((N * Q)) ] ||
	pair_fail "be -> engine -> fe: sent/received differ"
[ "$(field errors "${RXL[be]}")" = 0 ] && [ "$(field errors "${RXL[fe]}")" = 0 ] ||
	pair_fail "errors in received frames"

# the device moved nothing itself
dev_counters_zero dev
# the driver gone: queues taken back from the engine, memory dropped
pair_wait_log dev "driver disconnected" 10 || pair_fail "dev: no disconnect"
grep -a -q "vring base idx:0 file:" "$PAIR_WORK/eng.log" ||
	pair_log "(engine log has no GET_VRING_BASE line: its log level)"
tp_cmd eng "stop"
tp_fwd_stats eng
pair_log "engine forwarded rx $FWD_RX tx $FWD_TX"
[ "$FWD_TX" -ge $((2 * N * Q)) ] ||
	pair_fail "engine forwarded $FWD_TX packets, expected at least $((2 * N * Q))"
tp_quit dev
tp_quit eng
pair_pass "$((N * Q)) frames each way through the engine, no loss or corruption; net_vfio_user counters 0"
