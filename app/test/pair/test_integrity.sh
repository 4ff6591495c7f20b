#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# pair_integrity: pktcheck on both sides, traffic both ways at once over
# 2 queue pairs, each process on one lcore (be on CPU 0, fe on CPU 1)
# polling both queues. Each side sends sequenced frames of 64..9000 bytes
# (jumbo ones as single 10 KiB mbufs or as chains of random segment sizes)
# with a CRC over a pseudo-random payload, and verifies what it receives:
# no loss, no corruption, per-queue order, right queue. The backend has
# mtu=9000; the frontend receives jumbo frames through MRG_RXBUF.
#   1. 500000 frames per queue each way (1,000,000 per direction),
#      hugepages if enough are free;
#   2. 40000 per queue each way without hugepages (memfd memory), the
#      backend paced to 20000 frames/s per queue, the frontend sleeping on
#      its rx interrupts (MSI-X eventfds) whenever it has nothing to do;
#   3. the same the other way round: the frontend paced, the backend
#      sleeping on net_vfio_user's rx interrupts (the driver's doorbells).
#
#   test_integrity.sh BUILD_ROOT PKTCHECK [BE_DEVARGS]
#
# BE_DEVARGS: more net_vfio_user devargs (pair_integrity_shadow:
# ring_copy=1, every queue on shadow rings, with both processes running
# at once on two cores).

set -u
. "$(dirname "$0")/pair_lib.sh"

pair_init pair_integrity "${1:?usage: $0 BUILD_ROOT PKTCHECK}" 270
PKTCHECK=${2:?usage: $0 BUILD_ROOT PKTCHECK}
BE_DEVARGS=${3:-}
[ -x "$PKTCHECK" ] || pair_fail "no pktcheck program at $PKTCHECK"

MB=128
QUEUES=2
SUMMARY=()

# field VALUE-NAME LINE: the number after "NAME " in LINE
field() {
	echo "$2" | sed -n "s/.* $1 \([0-9][0-9]*\).*/\1/p"
}

# run LABEL MEM PER_QUEUE TIMEOUT [BE_OPTS [FE_OPTS]]
RUN=0
run() {
	local label=$1 mem=$2 n=$3 limit=$4 b f side line st
	local -a be_opts fe_opts
	read -r -a be_opts <<<"${5:-}"
	read -r -a fe_opts <<<"${6:-}"
	local sock="$PAIR_WORK/$label.sock"
	local common=(--queues "$QUEUES" --tx "$n" --rx "$n" --max-size 9000
		      --wait --timeout "$limit" --progress 10)
	local -A TXL RXL

	RUN=$((RUN + 1))
	b=be$RUN
	f=fe$RUN
	pair_log "$label: $n frames per queue each way, $QUEUES queues, $(pair_mem_mode "$mem")"
	pair_prefix $b
	# shellcheck disable=SC2086
	pair_bg $b "$PKTCHECK" -l 0 --file-prefix "$PFX" $mem --no-pci \
		-d "$VU_BACKEND_PMD" \
		--vdev "net_vfio_user0,path=$sock,queues=$QUEUES,mtu=9000${BE_DEVARGS:+,$BE_DEVARGS}" \
		-- --name be "${common[@]}" --stream 2 --peer-stream 1 --seed 2 \
		"${be_opts[@]}"
	vu_wait_socket "$sock" 20 || pair_fail "$label: no socket $sock"
	pair_prefix $f
	# shellcheck disable=SC2086
	pair_bg $f "$PKTCHECK" -l 1 --file-prefix "$PFX" $mem --no-pci \
		-d "$VU_FRONTEND_PMD" \
		--vdev "net_virtio_vfio_user0,path=$sock,queues=$QUEUES" \
		-- --name fe "${common[@]}" --stream 1 --peer-stream 2 --seed 1 \
		"${fe_opts[@]}"
	b_pid=PID_$b
	f_pid=PID_$f
	# both done: each sent all and received all the other sent
	pair_wait_log $b "be: DONE" $((limit + 10)) "${!b_pid}" ||
		pair_fail "$label: be did not finish"
	pair_wait_log $f "fe: DONE" $((limit + 10)) "${!f_pid}" ||
		pair_fail "$label: fe did not finish"
	pair_check_mem "$label: be" "${!b_pid}" "$mem"
	pair_check_mem "$label: fe" "${!f_pid}" "$mem"
	# the driver side first: the device side stays until it is gone
	for side in $f $b; do
		local pv=PID_$side
		kill -INT "${!pv}" 2>/dev/null
		pair_wait_exit "${!pv}" 20 ||
			pair_fail "$label: $side did not exit after SIGINT"
		st=$PAIR_STATUS
		TXL[$side]=$(grep -a ": TX stream" "$PAIR_WORK/$side.log" | tail -1)
		RXL[$side]=$(grep -a ": RX stream" "$PAIR_WORK/$side.log" | tail -1)
		line=$(grep -a "port stats" "$PAIR_WORK/$side.log" | tail -1)
		pair_log "$label: ${TXL[$side]}"
		pair_log "$label: ${RXL[$side]}"
		pair_log "$label: $line"
		[ "$st" -eq 0 ] || pair_fail "$label: $side exited with status $st"
		[ "$(field imissed "$line")" = 0 ] &&
		[ "$(field ierrors "$line")" = 0 ] &&
		[ "$(field oerrors "$line")" = 0 ] ||
			pair_fail "$label: $side port counted drops or errors"
	done
	# what each side sent is what the other received, and it is complete
	[ "$(field packets "${TXL[$f]}")" = "$(field packets "${RXL[$b]}")" ] &&
	[ "$(field bytes "${TXL[$f]}")" = "$(field bytes "${RXL[$b]}")" ] &&
	[ "$(field packets "${RXL[$b]}")" = $((n * QUEUES)) ] ||
		pair_fail "$label: fe -> be: sent/received differ"
	[ "$(field packets "${TXL[$b]}")" = "$(field packets "${RXL[$f]}")" ] &&
	[ "$(field bytes "${TXL[$b]}")" = "$(field bytes "${RXL[$f]}")" ] &&
	[ "$(field packets "${RXL[$f]}")" = $((n * QUEUES)) ] ||
		pair_fail "$label: be -> fe: sent/received differ"
	[ "$(field errors "${RXL[$b]}")" = 0 ] &&
	[ "$(field errors "${RXL[$f]}")" = 0 ] ||
		pair_fail "$label: errors"
	# a side that slept on its rx interrupts was woken by them
	for side in "$b:${5:-}" "$f:${6:-}"; do
		case ${side#*:} in
		*--rx-intr*)
			side=${side%%:*}
			line=$(grep -a "rx interrupts:" "$PAIR_WORK/$side.log" | tail -1)
			pair_log "$label: $line"
			[ "$(echo "$line" | sed -n 's/.*: \([0-9]*\) wakeups.*/\1/p')" -gt 0 ] ||
				pair_fail "$label: $side was never woken by an rx interrupt"
			# the device's kicks count doorbells that came as
			# messages: the frontend rang its ioeventfds instead
			[ "$side" != "$b" ] ||
				[ "$(echo "$line" | sed -n 's/.*, \([0-9]*\) kicks$/\1/p')" = 0 ] ||
				pair_fail "$label: doorbells came as messages, not through the device's ioeventfds: $line"
			SUMMARY+=("$label: $line")
			;;
		esac
	done
	SUMMARY+=("$label fe->be: $(echo "${RXL[$b]}" | sed 's/^be: RX stream [0-9]*: //')")
	SUMMARY+=("$label be->fe: $(echo "${RXL[$f]}" | sed 's/^fe: RX stream [0-9]*: //')")
}

MEM=$(pair_mem_args $MB 2)
case $MEM in *no-huge*) L=nohuge;; *) L=hugepages;; esac
run "$L" "$MEM" 500000 150
# the backend paced (20000 frames/s per queue): the frontend, done
# sending, sleeps on its rx interrupts between the backend's frames
run nohuge-2 "$(VU_NO_HUGE=1 pair_mem_args $MB 2)" 40000 90 "--pps 20000" \
	"--rx-intr"
# the other way round: the backend (net_vfio_user's receive interrupts,
# the driver's doorbells) sleeps between the paced frontend's frames
run nohuge-3 "$(VU_NO_HUGE=1 pair_mem_args $MB 2)" 40000 90 "--rx-intr" \
	"--pps 20000"

for s in "${SUMMARY[@]}"; do
	echo "  $s"
done
pair_pass "no loss, no corruption, order kept, both ways, 2 queues"
