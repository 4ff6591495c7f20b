#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# pair_migration: a running device moved between two backend processes,
# back and forth, while sequenced, CRC-checked frames flow both ways.
#
#   backend A: pktcheck + net_vfio_user on a.sock (CPU 0)
#   backend B: pktcheck + net_vfio_user on b.sock (CPU 0), same device
#   frontend:  pktcheck + net_virtio_vfio_user on a.sock (CPU 1), 2 queues
#
# Each side sends paced frames on both queues. The frontend's device is
# moved A -> B -> A ... (VU_MIG_ROUNDS round trips, 20 by default, 8 in a
# sanitizer build) through the telemetry command /vfio_user_client/move
# of the frontend process,
# the way an operator would do it with any DPDK application (testpmd
# included). Then every sender stops, and:
#  - frontend -> backends: the unbroken runs of sequence numbers each
#    backend received (pktcheck --allow-gaps), A's and B's together, tile
#    every queue's sequence exactly: nothing lost, nothing twice, nothing
#    corrupted or out of order; each backend's port counted as received
#    exactly what its pktcheck validated;
#  - backends -> frontend: for each backend's session, the frontend got
#    every frame that backend's port took, in order (--multi-session);
#  - downtime: the device's (STOP_COPY on the old backend to RUNNING on
#    the new one, as the move reports it) and the traffic's (last frame on
#    the old backend to the first on the new one, per queue, from the
#    runs' timestamps), min / avg / max over all moves.
#
#   test_migration.sh BUILD_ROOT PKTCHECK

set -u
. "$(dirname "$0")/pair_lib.sh"

pair_init pair_migration "${1:?usage: $0 BUILD_ROOT PKTCHECK}" 240
PKTCHECK=${2:?usage: $0 BUILD_ROOT PKTCHECK}
[ -x "$PKTCHECK" ] || pair_fail "no pktcheck program at $PKTCHECK"
command -v python3 >/dev/null 2>&1 ||
	pair_skip "python3 not found (the telemetry client of this test)"

# 20 round trips as issue 12 asks; a sanitizer build (memory errors, not
# endurance) makes 8 to keep the CI run short
if [ -n "$PAIR_ASAN_LIB" ]; then
	ROUNDS=${VU_MIG_ROUNDS:-8}
else
	ROUNDS=${VU_MIG_ROUNDS:-20}
fi
QUEUES=2
PPS=${VU_MIG_PPS:-5000}		# per queue, each side
STINT=${VU_MIG_STINT:-0.15}	# seconds on a backend between moves
MB=128
SOCK_A=$PAIR_WORK/a.sock
SOCK_B=$PAIR_WORK/b.sock
DEV="queues=$QUEUES,mac=02:00:00:00:0a:01"

MEM=$(pair_mem_args $MB 3)
pair_log "$ROUNDS round trips A -> B -> A, $QUEUES queues, $PPS frames/s per queue each way, $(pair_mem_mode "$MEM")"

BE_ARGS=(--queues "$QUEUES" --tx -1 --rx 0 --stream 2 --peer-stream 1
	 --allow-gaps --wait --pps "$PPS" --idle-us 100 --timeout 200
	 --link-timeout 200)
seed=2
for side in A B; do
	seed=$((seed + 1))
	pair_prefix be$side
	sock=SOCK_$side
	# shellcheck disable=SC2086
	pair_bg be$side "$PKTCHECK" -l 0 --file-prefix "$PFX" $MEM --no-pci \
		-d "$VU_BACKEND_PMD" --vdev "net_vfio_user0,path=${!sock},$DEV" \
		-- --name be$side --seed "$seed" "${BE_ARGS[@]}"
	vu_wait_socket "${!sock}" 20 || pair_fail "no socket ${!sock}"
done
pair_prefix fe
FE_PFX=$PFX
# shellcheck disable=SC2086
pair_bg fe "$PKTCHECK" -l 1 --file-prefix "$FE_PFX" $MEM --no-pci \
	-d "$VU_FRONTEND_PMD" \
	--vdev "net_virtio_vfio_user0,path=$SOCK_A,queues=$QUEUES" \
	-- --name fe --queues "$QUEUES" --tx -1 --rx 0 --stream 1 \
	--peer-stream 2 --multi-session --wait --pps "$PPS" --idle-us 100 \
	--timeout 200
pair_wait_log fe "fe: LINK UP" 30 "$PID_fe" || pair_fail "fe: no link"
pair_wait_log beA "beA: LINK UP" 30 "$PID_beA" || pair_fail "beA: no link"
pair_wait_telemetry "$FE_PFX"
sleep "$STINT"

# the moves
DOWN=()
SUMMARY_GAP=()
for ((r = 1; r <= ROUNDS; r++)); do
	for to in B A; do
		sock=SOCK_$to
		line=$(pair_tel_kv "$FE_PFX" "/vfio_user_client/move,0,${!sock}")
		[ "$(pair_kv_word result "$line")" = 0 ] ||
			pair_fail "round $r: move to $to failed: $line"
		DOWN+=("$(pair_kv_word downtime_us "$line")")
		for p in fe beA beB; do
			pv=PID_$p
			pair_alive "${!pv}" || pair_fail "round $r: $p died"
		done
		sleep "$STINT"
	done
	if [ $((r % 5)) -eq 0 ] || [ "$r" -eq 1 ]; then
		pair_log "round $r: moved to B and back, device downtime ${DOWN[-2]} us, ${DOWN[-1]} us"
	fi
done
line=$(pair_tel_kv "$FE_PFX" "/vfio_user_client/info,0")
pair_log "frontend: $line"
[ "$(pair_kv_word moves "$line")" = $((2 * ROUNDS)) ] ||
	pair_fail "the frontend counted $(pair_kv_word moves "$line") moves"

# everyone stops sending; what is in flight arrives; then they exit
for p in fe beA beB; do
	pv=PID_$p
	kill -USR1 "${!pv}"
done
sleep 1
for p in fe beA beB; do
	pv=PID_$p
	kill -INT "${!pv}" 2>/dev/null
	pair_wait_exit "${!pv}" 20 || pair_fail "$p did not exit after SIGINT"
	[ "$PAIR_STATUS" -eq 0 ] || pair_fail "$p exited with status $PAIR_STATUS"
done

# ---- the checks ----

# field NAME LINE: the number after "NAME " in LINE
field() {
	echo "$2" | sed -n "s/.* $1 \([0-9][0-9]*\).*/\1/p"
}

for p in fe beA beB; do
	line=$(grep -a ": RX stream" "$PAIR_WORK/$p.log" | tail -1)
	[ -n "$line" ] || pair_fail "$p: no summary"
	[ "$(field errors "$line")" = 0 ] || pair_fail "$p: $line"
	st=$(grep -a "port stats" "$PAIR_WORK/$p.log" | tail -1)
	[ "$(field ierrors "$st")" = 0 ] && [ "$(field oerrors "$st")" = 0 ] ||
		pair_fail "$p: port errors: $st"
	# every frame the port reported received was checked
	[ "$(field ipackets "$st")" = "$(field packets "$line")" ] ||
		pair_fail "$p: port received $(field ipackets "$st"), checked $(field packets "$line")"
done

# frontend -> backends: A's and B's runs tile each queue's sequence
{
	for p in beA beB; do
		grep -a ": RUN queue" "$PAIR_WORK/$p.log" |
			sed "s/^[^:]*: RUN queue \([0-9]*\) seq \([0-9]*\) \([0-9]*\) time \([0-9]*\) \([0-9]*\)/$p \1 \2 \3 \4 \5/"
	done
} >"$PAIR_WORK/runs"
for ((q = 0; q < QUEUES; q++)); do
	sent=$(grep -a "fe:   tx queue $q:" "$PAIR_WORK/fe.log" | tail -1 |
		sed -n 's/.*packets \([0-9]*\).*/\1/p')
	[ -n "$sent" ] && [ "$sent" -gt 0 ] || pair_fail "fe sent nothing on queue $q"
	res=$(awk -v q="$q" -v sent="$sent" '
		$2 == q { n++; who[n] = $1; f[n] = $3; l[n] = $4; t0[n] = $5; t1[n] = $6 }
		END {
			# sort the runs by their first sequence number
			for (i = 1; i <= n; i++)
				for (j = i + 1; j <= n; j++)
					if (f[j] < f[i]) {
						x = f[i]; f[i] = f[j]; f[j] = x
						x = l[i]; l[i] = l[j]; l[j] = x
						x = t0[i]; t0[i] = t0[j]; t0[j] = x
						x = t1[i]; t1[i] = t1[j]; t1[j] = x
						x = who[i]; who[i] = who[j]; who[j] = x
					}
			next_seq = 0; moves = 0; min = -1; max = 0; sum = 0
			for (i = 1; i <= n; i++) {
				if (f[i] != next_seq) {
					printf "BAD run %d of %s starts at %d, expected %d\n", i, who[i], f[i], next_seq
					exit
				}
				if (i > 1) {
					if (who[i] == who[i - 1]) {
						printf "BAD two runs of %s in a row at %d\n", who[i], f[i]
						exit
					}
					g = t0[i] - t1[i - 1]
					moves++; sum += g
					if (min < 0 || g < min) min = g
					if (g > max) max = g
				}
				next_seq = l[i] + 1
			}
			if (next_seq != sent) {
				printf "BAD received up to %d of %d\n", next_seq, sent
				exit
			}
			printf "OK %d %d %d %d %d\n", n, moves, min, (moves ? sum / moves : 0), max
		}' "$PAIR_WORK/runs")
	case $res in
	OK*) ;;
	*) pair_fail "queue $q, frontend -> backends: $res" ;;
	esac
	set -- $res
	pair_log "queue $q: $sent frames from the frontend in $2 runs over A and B, none lost or twice; traffic gap at the $3 switches: min $4 us, avg $5 us, max $6 us"
	SUMMARY_GAP+=("queue $q: last frame on the old backend -> first on the new: min $4 / avg $5 / max $6 us ($3 moves)")
	[ "$2" -eq $((2 * ROUNDS + 1)) ] ||
		pair_fail "queue $q: $2 runs, $((2 * ROUNDS + 1)) expected (a stint without traffic?)"
done

# backends -> frontend: per backend session, all it sent came, in order
for p in beA beB; do
	sess=$(grep -a "$p: TX session" "$PAIR_WORK/$p.log" | tail -1 | awk '{ print $4 }')
	for ((q = 0; q < QUEUES; q++)); do
		sent=$(grep -a "$p:   tx queue $q:" "$PAIR_WORK/$p.log" | tail -1 |
			sed -n 's/.*packets \([0-9]*\).*/\1/p')
		got=$(grep -a "fe:   rx queue $q session $sess:" "$PAIR_WORK/fe.log" | tail -1)
		[ -n "$got" ] || pair_fail "fe got nothing of $p's session $sess on queue $q"
		[ "$(field packets "$got")" = "$sent" ] &&
		[ "$(echo "$got" | sed -n 's/.*next seq \([0-9]*\).*/\1/p')" = "$sent" ] ||
			pair_fail "queue $q, $p -> frontend: $p sent $sent, fe: $got"
		pair_log "queue $q: $sent frames from $p, all received by the frontend in order"
	done
done

# the device's downtime, as the moves reported it
stats=$(printf '%s\n' "${DOWN[@]}" | awk '{ s += $1; if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1 }
	END { printf "min %d / avg %d / max %d us", min, s / NR, max }')
gaps=$(grep -a "fe: rx gaps" "$PAIR_WORK/fe.log" | tail -1 | sed 's/^fe: //')
echo "  device downtime (STOP_COPY on the old backend -> RUNNING on the new), $((2 * ROUNDS)) moves: $stats"
for s in "${SUMMARY_GAP[@]}"; do
	echo "  $s"
done
echo "  frontend $gaps"
pair_pass "$((2 * ROUNDS)) moves under traffic both ways: nothing lost, duplicated or corrupted"
