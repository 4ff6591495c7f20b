#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# offload_migration: an offloaded device moved between two backend
# processes, each with its own engine, while sequenced, CRC-checked
# frames flow:
#
#   engine EA: testpmd, net_vhost0 on ea.sock, io forwarding port 0 to
#              itself (what the driver sends on transmitq N comes back on
#              receiveq N)
#   device A:  testpmd hosting net_vfio_user0,path=a.sock,offload=ea.sock
#   engine EB, device B: the same on eb.sock, b.sock (same queues, MAC)
#   frontend:  pktcheck + net_virtio_vfio_user on a.sock, 2 queues,
#              --loopback: it checks its own frames as they come back
#
# The frontend's device is moved A -> B -> A ... (VU_OFFLOAD_MIG_ROUNDS
# round trips, default 5, 2 on split rings) with the telemetry command
# /vfio_user_client/move. At
# STOP_COPY the old device takes every queue back from its engine
# (GET_VRING_BASE) and its state carries the indices; the new device
# hands them to its engine from there when it runs. Then:
#  - every frame that came back is intact, in order, on its queue, and
#    never twice (pktcheck errors 0);
#  - frames lost: only the ones an engine held at the switch (the old
#    engine dequeued them from transmitq N and could no longer put them on
#    receiveq N: its io forwarding drops them), at most a burst (32) per
#    queue per move; the count is printed;
#  - each device's own port moved nothing (the engines did);
#  - no engine was handed an index that disagreed with its used ring
#    (DPDK's vhost library would mend it and log "mismatches").
#
#   test_offload_migration.sh BUILD_ROOT PKTCHECK

set -u
. "$(dirname "$0")/../pair/pair_lib.sh"
. "$(dirname "$0")/offload_lib.sh"

pair_init offload_migration "${1:?usage: $0 BUILD_ROOT PKTCHECK}" 240
PKTCHECK=${2:?usage: $0 BUILD_ROOT PKTCHECK [split]}
rings_from "${3:-}"
[ -x "$PKTCHECK" ] || pair_fail "no pktcheck program at $PKTCHECK"
command -v "$TESTPMD" >/dev/null 2>&1 ||
	pair_skip "$TESTPMD not found (Debian package dpdk)"
command -v python3 >/dev/null 2>&1 ||
	pair_skip "python3 not found (the telemetry client of this test)"

# (2 on split rings: a shorter second look, for CI's time)
ROUNDS=${VU_OFFLOAD_MIG_ROUNDS:-$([ "$RINGS" = split ] && echo 2 || echo 5)}
Q=2
PPS=${VU_OFFLOAD_MIG_PPS:-5000}	# per queue
STINT=${VU_OFFLOAD_MIG_STINT:-0.3}	# seconds on a backend between moves
BURST=32			# an engine's burst: what it may hold

field() {
	echo "$2" | sed -n "s/.* $1 \([0-9][0-9]*\).*/\1/p"
}

for s in A B; do
	engine_start "e$s" "$PAIR_WORK/e$s.sock" $Q
	tp_cmd "e$s" start
done
for s in A B; do
	dev_start "d$s" "$PAIR_WORK/$s.sock" "$PAIR_WORK/e$s.sock" $Q \
		",mac=02:00:00:00:0b:01"
	pair_wait_log "d$s" "offload engine .* connected" 20 ||
		pair_fail "device $s did not connect to its engine"
done

MEM=$(VU_NO_HUGE=1 pair_mem_args 128)
pair_prefix fe
FE_PFX=$PFX
# shellcheck disable=SC2086
pair_bg fe "$PKTCHECK" -l 1 --file-prefix "$FE_PFX" $MEM --no-pci \
	-d "$VU_FRONTEND_PMD" --vdev "$FE_NAME""0,path=$PAIR_WORK/A.sock,queues=$Q$FE_RINGS" \
	-- --name fe --queues $Q --tx -1 --rx 0 --stream 1 --loopback \
	--allow-gaps --wait --pps "$PPS" --idle-us 100 --timeout 200 \
	--max-size 1500
pair_wait_log fe "fe: LINK UP" 30 "$PID_fe" || pair_fail "fe: no link"
pair_wait_log dA "offload: $((2 * Q)) queues handed" 10 ||
	pair_fail "device A did not hand the queues to its engine"
pair_wait_telemetry "$FE_PFX"
sleep "$STINT"

DOWN=()
for ((r = 1; r <= ROUNDS; r++)); do
	for to in B A; do
		line=$(pair_tel_kv "$FE_PFX" "/vfio_user_client/move,0,$PAIR_WORK/$to.sock")
		[ "$(pair_kv_word result "$line")" = 0 ] ||
			pair_fail "round $r: move to $to failed: $line"
		DOWN+=("$(pair_kv_word downtime_us "$line")")
		for p in fe eA eB dA dB; do
			pv=PID_$p
			pair_alive "${!pv}" || pair_fail "round $r: $p died"
		done
		sleep "$STINT"
	done
	pair_log "round $r: moved to B and back, device downtime ${DOWN[-2]} us, ${DOWN[-1]} us"
done
hand_a=$(count_log dA "offload: $((2 * Q)) queues handed")
hand_b=$(count_log dB "offload: $((2 * Q)) queues handed")
check_rings dA "$RINGS"
check_rings dB "$RINGS"
[ "$hand_a" -eq $((ROUNDS + 1)) ] && [ "$hand_b" -eq "$ROUNDS" ] ||
	pair_fail "hand-overs: A $hand_a (expected $((ROUNDS + 1))), B $hand_b (expected $ROUNDS)"

# stop sending; what is in flight comes back; then exit
kill -USR1 "$PID_fe"
sleep 1
kill -INT "$PID_fe" 2>/dev/null
pair_wait_exit "$PID_fe" 20 || pair_fail "fe did not exit after SIGINT"
RXL=$(grep -a "fe: RX stream" "$PAIR_WORK/fe.log" | tail -1)
pair_log "$RXL"
[ -n "$RXL" ] || pair_fail "fe: no summary"
[ "$(field errors "$RXL")" = 0 ] || pair_fail "fe: errors in what came back: $RXL"
[ "$PAIR_STATUS" -eq 0 ] || pair_fail "fe exited with status $PAIR_STATUS"
LOST=0
for ((q = 0; q < Q; q++)); do
	sent=$(grep -a "fe:   tx queue $q:" "$PAIR_WORK/fe.log" | tail -1 |
		sed -n 's/.*packets \([0-9]*\).*/\1/p')
	got=$(grep -a "fe:   rx queue $q:" "$PAIR_WORK/fe.log" | tail -1 |
		sed -n 's/.*packets \([0-9]*\).*/\1/p')
	runs=$(grep -a -c "fe: RUN queue $q " "$PAIR_WORK/fe.log")
	[ -n "$sent" ] && [ "$sent" -gt 0 ] || pair_fail "fe sent nothing on queue $q"
	lost=$((sent - got))
	pair_log "queue $q: $sent frames sent, $got came back intact and in order ($runs runs), $lost lost"
	[ "$lost" -ge 0 ] && [ "$lost" -le $((BURST * 2 * ROUNDS)) ] ||
		pair_fail "queue $q: $lost frames lost in $((2 * ROUNDS)) moves (at most $BURST per move: an engine's burst)"
	LOST=$((LOST + lost))
done
for s in A B; do
	dev_counters_zero "d$s"
	# DPDK's vhost library mends a SET_VRING_BASE that disagrees with the
	# used ring, and logs it: the indices carried were the engine's own
	[ "$(count_log "e$s" "mismatches")" = 0 ] ||
		pair_fail "engine $s was given queue indices unlike its used rings"
done
for s in A B; do
	tp_quit "d$s"
	tp_quit "e$s"
done
stats=$(printf '%s\n' "${DOWN[@]}" | awk '{ s += $1; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1 }
	END { printf "min %d / avg %d / max %d us", min, s / NR, max }')
echo "  device downtime (STOP_COPY on the old backend -> RUNNING on the new), $((2 * ROUNDS)) moves: $stats"
pair_pass "$((2 * ROUNDS)) moves of an offloaded device: every frame back intact and in order, $LOST lost at the switches (held by an engine)"
