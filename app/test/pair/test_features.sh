#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# pair_features: pktcheck both ways at once over 2 queue pairs, for every
# combination of the ring features the PMDs offer and turn off with
# devargs: packed_vq and in_order on either side (what gets negotiated is
# what both offer), and the frontend's mrg_rxbuf. Each run checks the
# features the device saw negotiated (its "driver ready" log line) and
# that no frame was lost, corrupted, reordered or misrouted.
#
#   test_features.sh BUILD_ROOT PKTCHECK

set -u
. "$(dirname "$0")/pair_lib.sh"

pair_init pair_features "${1:?usage: $0 BUILD_ROOT PKTCHECK}" 270
PKTCHECK=${2:?usage: $0 BUILD_ROOT PKTCHECK}
[ -x "$PKTCHECK" ] || pair_fail "no pktcheck program at $PKTCHECK"

# the frontend's vdev name (the driver name, without the instance number)
FE_DRV=${VU_FE_DRV:-net_virtio_vfio_user}
MB=128
QUEUES=2
N=${VU_PAIR_FEATURE_FRAMES:-40000}
SUMMARY=()

field() {
	echo "$2" | sed -n "s/.* $1 \([0-9][0-9]*\).*/\1/p"
}

# run LABEL BE_DEVARGS FE_DEVARGS PACKED IN_ORDER MRG MAX_SIZE
RUN=0
run() {
	local label=$1 bea=$2 fea=$3 packed=$4 inorder=$5 mrg=$6 max=$7
	local sock="$PAIR_WORK/$label.sock" b f side line st feat
	local common=(--queues "$QUEUES" --tx "$N" --rx "$N" --max-size "$max"
		      --wait --timeout 60 --progress 10)
	local -A TXL RXL

	RUN=$((RUN + 1))
	# without mergeable buffers an mbuf holds a frame of the device's
	# MTU (VIRTIO 1.2 5.1.4.2: else the frontend refuses to start)
	local mtu=9000
	[ "$max" -le 1514 ] && mtu=1500
	b=be$RUN
	f=fe$RUN
	pair_log "$label: be '${bea}' fe '${fea}', $N frames per queue each way, up to $max B"
	pair_prefix $b
	# shellcheck disable=SC2086
	pair_bg $b "$PKTCHECK" -l 0 --file-prefix "$PFX" $MEM --no-pci \
		-d "$VU_BACKEND_PMD" --log-level=pmd.net.vfio_user:info \
		--vdev "net_vfio_user0,path=$sock,queues=$QUEUES,mtu=$mtu${bea:+,$bea}" \
		-- --name be "${common[@]}" --stream 2 --peer-stream 1 --seed 2
	vu_wait_socket "$sock" 20 || pair_fail "$label: no socket $sock"
	pair_prefix $f
	# shellcheck disable=SC2086
	pair_bg $f "$PKTCHECK" -l 1 --file-prefix "$PFX" $MEM --no-pci \
		-d "$VU_FRONTEND_PMD" \
		--vdev "${FE_DRV}0,path=$sock,queues=$QUEUES${fea:+,$fea}" \
		-- --name fe "${common[@]}" --stream 1 --peer-stream 2 --seed 1
	local b_pid=PID_$b f_pid=PID_$f
	pair_wait_log $b "be: DONE" 80 "${!b_pid}" ||
		pair_fail "$label: be did not finish"
	pair_wait_log $f "fe: DONE" 80 "${!f_pid}" ||
		pair_fail "$label: fe did not finish"
	for side in $f $b; do
		local pv=PID_$side
		kill -INT "${!pv}" 2>/dev/null
		pair_wait_exit "${!pv}" 20 ||
			pair_fail "$label: $side did not exit after SIGINT"
		st=$PAIR_STATUS
		TXL[$side]=$(grep -a ": TX stream" "$PAIR_WORK/$side.log" | tail -1)
		RXL[$side]=$(grep -a ": RX stream" "$PAIR_WORK/$side.log" | tail -1)
		line=$(grep -a "port stats" "$PAIR_WORK/$side.log" | tail -1)
		[ "$st" -eq 0 ] || pair_fail "$label: $side exited with status $st"
		[ "$(field imissed "$line")" = 0 ] &&
		[ "$(field ierrors "$line")" = 0 ] &&
		[ "$(field oerrors "$line")" = 0 ] ||
			pair_fail "$label: $side port counted drops or errors: $line"
	done
	[ "$(field packets "${RXL[$b]}")" = $((N * QUEUES)) ] &&
	[ "$(field bytes "${TXL[$f]}")" = "$(field bytes "${RXL[$b]}")" ] ||
		pair_fail "$label: fe -> be: ${TXL[$f]} / ${RXL[$b]}"
	[ "$(field packets "${RXL[$f]}")" = $((N * QUEUES)) ] &&
	[ "$(field bytes "${TXL[$b]}")" = "$(field bytes "${RXL[$f]}")" ] ||
		pair_fail "$label: be -> fe: ${TXL[$b]} / ${RXL[$f]}"
	[ "$(field errors "${RXL[$b]}")" = 0 ] &&
	[ "$(field errors "${RXL[$f]}")" = 0 ] ||
		pair_fail "$label: errors"
	# what was negotiated: the device logs it at DRIVER_OK
	feat=$(grep -a -o "driver ready, features 0x[0-9a-f]*" "$PAIR_WORK/$b.log" |
		tail -1 | sed 's/.* //')
	[ -n "$feat" ] || pair_fail "$label: no features line in the device's log"
	[ $(((feat >> 34) & 1)) = "$packed" ] &&
	[ $(((feat >> 35) & 1)) = "$inorder" ] &&
	[ $(((feat >> 15) & 1)) = "$mrg" ] ||
		pair_fail "$label: negotiated $feat: expected packed $packed, in order $inorder, mrg_rxbuf $mrg"
	SUMMARY+=("$label: features $feat (packed $packed, in order $inorder, mrg_rxbuf $mrg): ok")
}

MEM=$(VU_NO_HUGE=1 pair_mem_args $MB 2)
#   label         device            frontend                         P IO MRG max
run default       ""                ""                               1 1 1 9000
run be-split      packed_vq=0       ""                               0 1 1 9000
run be-no-order   in_order=0        ""                               1 0 1 9000
run be-plain      packed_vq=0,in_order=0 ""                          0 0 1 9000
run fe-split      ""                packed_vq=0                      0 1 1 9000
run fe-no-order   ""                in_order=0                       1 0 1 9000
run fe-plain      ""                packed_vq=0,in_order=0           0 0 1 9000
run mixed         packed_vq=0       in_order=0                       0 0 1 9000
run fastest       ""                packed_vq=1,in_order=1,mrg_rxbuf=0 1 1 0 1514
run split-no-mrg  ""                packed_vq=0,mrg_rxbuf=0          0 1 0 1514

for s in "${SUMMARY[@]}"; do
	echo "  $s"
done
pair_pass "every feature combination: no loss, no corruption, order kept, both ways"
