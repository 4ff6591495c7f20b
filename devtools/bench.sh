#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Process-to-process data path benchmark, side by side in one run:
#
#   vfio-user   testpmd net_vfio_user        <-> testpmd net_virtio_vfio_user
#   vhost-user  testpmd net_vhost            <-> testpmd net_virtio_user
#   memif       testpmd net_memif role=server <-> testpmd net_memif role=client
#
# For each transport, packet size and direction, the sender runs txonly and
# the receiver rxonly for DURATION seconds; the figure is the receiver's
# average Rx rate over that window. Ratios are against vhost-user. This
# machine is shared and noisy: compare figures of the same run only. A
# benchmark, not a test: it never fails because a number moved.
#
#   devtools/bench.sh [-d SECONDS] [-s "64 1518"] [-t "vfio-user vhost-user memif"]
#
# Environment: VU_BUILD_DIR (default build), VU_NO_HUGE=1.

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
. devtools/common.sh
. devtools/dpdk-run.sh

DURATION=5
SIZES="64 1518"
TRANSPORTS="vfio-user vhost-user memif"
while getopts "d:s:t:h" o; do
	case $o in
	d) DURATION=$OPTARG ;;
	s) SIZES=$OPTARG ;;
	t) TRANSPORTS=$OPTARG ;;
	*) sed -n '3,20p' "$0"; exit 2 ;;
	esac
done
BUILD_DIR=${VU_BUILD_DIR:-build}
TESTPMD=${VU_TESTPMD:-dpdk-testpmd}

ensure_packages
setup_hugepages
configure_drivers
step "building in $BUILD_DIR"
meson_setup "$BUILD_DIR" "${DRIVER_OPTS[@]}" >/dev/null
ninja -C "$BUILD_DIR" >/dev/null
vu_plugin_dir "$BUILD_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vu-bench.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do vu_stop "$p" 5; done
	vu_cleanup
	rm -rf "$WORK"
}
trap cleanup EXIT

MEM=$(vu_mem_args 256 2)

# vdev strings and plugins per transport: backend (creates the socket),
# frontend (connects).
vdevs() {	# vdevs TRANSPORT SOCK -> sets BE_ARGS FE_ARGS
	local t=$1 sock=$2
	case $t in
	vfio-user)
		BE_ARGS=(-d "$VU_BACKEND_PMD" --vdev "net_vfio_user0,path=$sock")
		FE_ARGS=(-d "$VU_FRONTEND_PMD" --vdev "net_virtio_vfio_user0,path=$sock")
		;;
	vhost-user)
		BE_ARGS=(--vdev "net_vhost0,iface=$sock,queues=1")
		FE_ARGS=(--vdev "net_virtio_user0,path=$sock,queues=1")
		;;
	memif)
		BE_ARGS=(--vdev "net_memif0,role=server,socket=$sock,socket-abstract=no")
		FE_ARGS=(--vdev "net_memif0,role=client,socket=$sock,socket-abstract=no")
		;;
	esac
}

avg_rx() {	# avg_rx FILE: mean of its Rx-pps samples
	grep -a -o 'Rx-pps: *[0-9]*' "$1" | grep -o '[0-9]*$' |
		awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n; else print 0 }'
}

# run TRANSPORT SIZE DIRECTION -> prints the receiver's average pps
run() {
	local t=$1 size=$2 dir=$3 sock=$WORK/$t.sock be_mode fe_mode rx_log
	local be fe i
	rm -f "$sock"
	vdevs "$t" "$sock"
	if [ "$dir" = fe-to-be ]; then
		be_mode=rxonly fe_mode=txonly rx_log=$WORK/be.log
	else
		be_mode=txonly fe_mode=rxonly rx_log=$WORK/fe.log
	fi
	"$TESTPMD" -l 0,1 --file-prefix "vu-bench-be-$$" $MEM --no-pci "${BE_ARGS[@]}" \
		-- --total-num-mbufs=16384 --forward-mode=$be_mode --txpkts=$size \
		--stats-period 1 >"$WORK/be.log" 2>&1 &
	be=$!
	PIDS=("$be")
	if ! vu_wait_socket "$sock" 30; then
		vu_stop "$be" 5
		echo 0
		return
	fi
	"$TESTPMD" -l 0,1 --main-lcore 1 --file-prefix "vu-bench-fe-$$" $MEM --no-pci \
		"${FE_ARGS[@]}" -- --total-num-mbufs=16384 --forward-mode=$fe_mode \
		--txpkts=$size --stats-period 1 >"$WORK/fe.log" 2>&1 &
	fe=$!
	PIDS=("$be" "$fe")
	# wait for traffic, then measure for DURATION seconds
	for ((i = 0; i < 60; i++)); do
		grep -a -q 'Rx-pps: *[1-9]' "$rx_log" 2>/dev/null && break
		sleep 0.5
	done
	# only the samples printed during the window count
	local before
	before=$(grep -a -c 'Rx-pps:' "$rx_log" || true)
	sleep "$DURATION"
	grep -a 'Rx-pps:' "$rx_log" | tail -n +"$((before + 1))" >"$WORK/sample.log"
	vu_stop "$fe" 5
	vu_stop "$be" 5
	PIDS=()
	avg_rx "$WORK/sample.log"
}

step "benchmark: ${DURATION}s per figure, sizes: $SIZES, transports: $TRANSPORTS"
[ "${MEM#--no-huge}" != "$MEM" ] && echo "note: running with --no-huge (not enough free hugepages)"
declare -A R
for size in $SIZES; do
	for dir in fe-to-be be-to-fe; do
		for t in $TRANSPORTS; do
			v=$(run "$t" "$size" "$dir")
			R[$t,$size,$dir]=$v
			awk -v t="$t" -v s="$size" -v d="$dir" -v v="$v" \
				'BEGIN { printf "  %-10s %5s B  %-9s %7.2f Mpps\n", t, s, d, v / 1e6 }'
		done
	done
done

step "summary (Mpps; ratio to vhost-user in the same run)"
printf "  %-10s %6s  %-9s %9s %7s\n" transport size direction Mpps ratio
for size in $SIZES; do
	for dir in fe-to-be be-to-fe; do
		ref=${R[vhost-user,$size,$dir]:-0}
		for t in $TRANSPORTS; do
			awk -v t="$t" -v s="$size" -v d="$dir" -v v="${R[$t,$size,$dir]}" -v r="$ref" \
				'BEGIN { ratio = r > 0 ? sprintf("%.2f", v / r) : "-"
					printf "  %-10s %6s  %-9s %9.2f %7s\n", t, s, d, v / 1e6, ratio }'
		done
	done
done
