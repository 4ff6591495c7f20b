#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# pair_testpmd: two real dpdk-testpmd processes, one serving the virtio-net
# device (net_vfio_user, "be"), one driving it (net_virtio_vfio_user, "fe"),
# both PMDs loaded with -d. Four runs:
#   1. fe txonly  -> be rxonly                      (hugepages if free)
#   2. be txonly  -> fe rxonly                      (no hugepages)
#   3. fe flowgen -> be io -> fe (loopback)         (no hugepages)
#   4. be flowgen -> fe io -> be, 2 queue pairs     (no hugepages)
# (flowgen is testpmd's engine that sends and also receives: txonly does
# not poll its receive queues.)
# testpmd runs interactively, commands through a fifo: the receiver starts
# first, the sender stops first, the receiver drains, then both stop and
# their statistics are compared. The ring is lossless: every packet a
# sender's port took must reach the other side (TX-dropped of testpmd means
# the ring was full: those were never sent).
#
#   test_testpmd.sh BUILD_ROOT

set -u
. "$(dirname "$0")/pair_lib.sh"

pair_init pair_testpmd "${1:?usage: $0 BUILD_ROOT}" 270
command -v "$TESTPMD" >/dev/null 2>&1 ||
	pair_skip "$TESTPMD not found (Debian package dpdk)"

DURATION=${VU_PAIR_DURATION:-1}
MB=128
MBUFS=8192
SUMMARY=()

now() {
	date +%s.%N
}

# drained BE FE: what either side's port sent, the other's received
# (polled, 5 s at most)
drained() {
	local i brx btx
	for ((i = 0; i < 50; i++)); do
		tp_cmd "$1" "show port stats 0"
		tp_nic_stats "$1"
		brx=$NIC_RX btx=$NIC_TX
		tp_cmd "$2" "show port stats 0"
		tp_nic_stats "$2"
		[ "$btx" = "$NIC_RX" ] && [ "$brx" = "$NIC_TX" ] && return 0
		sleep 0.1
	done
	return 1
}

# run LABEL MEM QUEUES BE_MODE FE_MODE SENDER
#   SENDER: fe or be (txonly -> rxonly), or fe-loop / be-loop (flowgen on
#   the sender, io on the other side).
RUN=0
run() {
	local label=$1 mem=$2 q=$3 be_mode=$4 fe_mode=$5 sender=$6
	local sock="$PAIR_WORK/$label.sock" b f tx rx t0 t1 mpps
	local fwd_tx fwd_rx fwd_drop side
	local -A RXP TXP RXB TXB

	RUN=$((RUN + 1))
	b=be$RUN
	f=fe$RUN
	pair_log "$label: be $be_mode, fe $fe_mode, $q queue pair(s), $(pair_mem_mode "$mem")"
	pair_prefix $b
	# shellcheck disable=SC2086
	tp_start $b -l 0,1 --file-prefix "$PFX" $mem \
		--no-pci -d "$VU_BACKEND_PMD" \
		--vdev "net_vfio_user0,path=$sock,queues=$q" \
		-- -i --total-num-mbufs=$MBUFS --rxq=$q --txq=$q \
		--forward-mode="$be_mode"
	vu_wait_socket "$sock" 20 || pair_fail "$label: no socket $sock"
	pair_prefix $f
	# shellcheck disable=SC2086
	tp_start $f -l 0,1 --main-lcore 1 --file-prefix "$PFX" $mem --no-pci \
		-d "$VU_FRONTEND_PMD" \
		--vdev "net_virtio_vfio_user0,path=$sock,queues=$q" \
		-- -i --total-num-mbufs=$MBUFS --rxq=$q --txq=$q \
		--forward-mode="$fe_mode"
	local pb=PID_$b pf=PID_$f
	pair_check_mem "$label: be" "${!pb}" "$mem"
	pair_check_mem "$label: fe" "${!pf}" "$mem"

	case $sender in
	fe*) tx=$f; rx=$b;;
	be*) tx=$b; rx=$f;;
	esac
	tp_cmd "$rx" start
	t0=$(now)
	tp_cmd "$tx" start
	sleep "$DURATION"
	tp_cmd "$tx" stop
	t1=$(now)
	tp_fwd_stats "$tx"
	fwd_tx=$FWD_TX
	case $sender in
	*-loop)
		# the generator now only drains what comes back to it
		tp_cmd "$tx" "set fwd rxonly"
		tp_cmd "$tx" start
		;;
	esac
	# what is in flight arrives: every frame either port sent counted by
	# the other's (5 s at most; checked again below)
	drained $b $f ||
		pair_log "$label: still frames in flight after 5 s"
	tp_cmd "$rx" stop
	tp_fwd_stats "$rx"
	fwd_rx=$FWD_RX
	fwd_drop=$FWD_TXDROP
	case $sender in
	*-loop) tp_cmd "$tx" stop;;
	esac
	for side in $b $f; do
		tp_cmd $side "show port stats 0"
		tp_nic_stats $side
		[ "$NIC_MISSED" = 0 ] && [ "$NIC_RXERR" = 0 ] &&
		[ "$NIC_TXERR" = 0 ] ||
			pair_fail "$label: $side port errors: missed $NIC_MISSED, rx errors $NIC_RXERR, tx errors $NIC_TXERR"
		RXP[$side]=$NIC_RX TXP[$side]=$NIC_TX
		RXB[$side]=$NIC_RXB TXB[$side]=$NIC_TXB
	done
	tp_quit $f
	tp_quit $b

	pair_log "$label: be rx ${RXP[$b]} tx ${TXP[$b]}, fe rx ${RXP[$f]} tx ${TXP[$f]}; forward: $tx sent $fwd_tx, $rx received $fwd_rx"
	# the ports' counters: what one side sent, the other side received
	[ "${TXP[$f]}" = "${RXP[$b]}" ] && [ "${TXB[$f]}" = "${RXB[$b]}" ] ||
		pair_fail "$label: fe sent ${TXP[$f]} packets (${TXB[$f]} bytes), be received ${RXP[$b]} (${RXB[$b]} bytes)"
	[ "${TXP[$b]}" = "${RXP[$f]}" ] && [ "${TXB[$b]}" = "${RXB[$f]}" ] ||
		pair_fail "$label: be sent ${TXP[$b]} packets (${TXB[$b]} bytes), fe received ${RXP[$f]} (${RXB[$f]} bytes)"
	[ "$fwd_tx" -gt 0 ] || pair_fail "$label: nothing was sent"
	[ "$fwd_tx" = "${TXP[$tx]}" ] ||
		pair_fail "$label: $tx forwarded $fwd_tx packets, its port sent ${TXP[$tx]}"
	case $sender in
	fe|be)
		# testpmd's own view: sender's forward TX == receiver's forward RX
		[ "$fwd_tx" = "$fwd_rx" ] ||
			pair_fail "$label: $tx forwarded $fwd_tx packets, $rx received $fwd_rx"
		[ "${TXP[$rx]}" = 0 ] ||
			pair_fail "$label: the receiving side transmitted ${TXP[$rx]}"
		;;
	*-loop)
		# the echo side forwarded all it got, dropping only what did not
		# fit in the generator's full receive ring; all that was sent
		# back arrived (checked above)
		[ "$fwd_rx" = "${RXP[$rx]}" ] ||
			pair_fail "$label: $rx forward RX $fwd_rx != its port's RX ${RXP[$rx]}"
		[ $((TXP[$rx] + fwd_drop)) = "$fwd_rx" ] ||
			pair_fail "$label: $rx received $fwd_rx, sent back ${TXP[$rx]} + dropped $fwd_drop"
		[ "${RXP[$tx]}" -gt 0 ] ||
			pair_fail "$label: nothing came back to $tx"
		;;
	esac
	mpps=$(pair_mpps "$fwd_tx" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	case $sender in
	*-loop) SUMMARY+=("$label: $fwd_tx sent by ${tx%[0-9]*}, ${RXP[$tx]} came back (${fwd_drop} dropped by io on a full ring), $mpps Mpps, $(pair_mem_mode "$mem")");;
	*) SUMMARY+=("$label: $fwd_tx sent by ${tx%[0-9]*}, all received, $mpps Mpps, $(pair_mem_mode "$mem")");;
	esac
	pair_log "${SUMMARY[-1]}"
}

MEM_DEFAULT=$(pair_mem_args $MB 2)
MEM_NOHUGE=$(VU_NO_HUGE=1 pair_mem_args $MB 2)

run fe-to-be "$MEM_DEFAULT" 1 rxonly txonly fe
run be-to-fe "$MEM_NOHUGE" 1 txonly rxonly be
run fe-loop "$MEM_NOHUGE" 1 io flowgen fe-loop
run be-loop-2q "$MEM_NOHUGE" 2 flowgen io be-loop

for s in "${SUMMARY[@]}"; do
	echo "  $s"
done
pair_pass "txonly/rxonly both ways and io loopback both ways, counters agree"
