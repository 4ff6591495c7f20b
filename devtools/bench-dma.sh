#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Control-path benchmark: DMA_MAP + DMA_UNMAP pairs of one 4 KiB page per
# second (what a guest behind a strict vIOMMU costs per buffer), on the
# library's sample device (examples/vfio_user_sample: no device model work)
# and on net_vfio_user in testpmd: port started with forwarding stopped,
# forwarding (an lcore polling the port), and port stopped; on
# net_vfio_user without a driver, and with the bench driving the virtio
# device to DRIVER_OK with two queues of 1024 entries first, their rings
# in one region ("driver up") or in 4 KiB regions as a guest behind a
# vIOMMU maps them ("driver up, rings in 4 KiB maps"). Each case runs with
# an empty table (the page's file is then mapped and unmapped with each
# pair) and with BACKGROUND other regions of the same file mapped first
# (it stays mapped, as a guest's RAM does). Figures and how to read them:
# doc/guides/perf.rst, "Control path: DMA map/unmap".
# A benchmark, not a test: it prints figures and never fails on them.
#
#   devtools/bench-dma.sh [-n PAIRS] [-t SECONDS] [-b "0 1000"]
#
# Environment: VU_BUILD_DIR (default build), VU_TESTPMD, VU_NO_HUGE=1.

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
. devtools/dpdk-run.sh

PAIRS=20000
SECS=5
BACKGROUND="0 1000"
while getopts "n:t:b:h" o; do
	case $o in
	n) PAIRS=$OPTARG ;;
	t) SECS=$OPTARG ;;
	b) BACKGROUND=$OPTARG ;;
	*) sed -n '3,16p' "$0"; exit 2 ;;
	esac
done
BUILD_DIR=${VU_BUILD_DIR:-build}
TESTPMD=${VU_TESTPMD:-dpdk-testpmd}
BENCH=$BUILD_DIR/app/test/bench/vu-dma-bench
SAMPLE=$BUILD_DIR/examples/dpdk-vfio-user-sample

ninja -C "$BUILD_DIR" >/dev/null
[ -x "$BENCH" ] || { echo "no $BENCH: configure with -Dtests=true" >&2; exit 1; }
vu_plugin_dir "$BUILD_DIR"
vu_tool_work vu-bench-dma

bench() {	# bench SOCKET LABEL [vu-dma-bench options]
	local b sock=$1 label=$2
	shift 2
	for b in $BACKGROUND; do
		"$BENCH" -s "$sock" -n "$PAIRS" -t "$SECS" -b "$b" -l "$label" "$@"
	done
}

nic_bench() {	# nic_bench SOCKET STATE
	bench "$1" "net_vfio_user, $2, no driver"
	bench "$1" "net_vfio_user, $2, driver up" -v
	bench "$1" "net_vfio_user, $2, driver up, rings in 4 KiB maps" -v -p
}

echo "== DMA_MAP + DMA_UNMAP of one 4 KiB page, $PAIRS pairs or ${SECS}s per line"

"$SAMPLE" --socket-path="$WORK/sample.sock" >"$WORK/sample.log" 2>&1 &
PIDS+=($!)
vu_wait_socket "$WORK/sample.sock" 20 || { cat "$WORK/sample.log"; exit 1; }
bench "$WORK/sample.sock" "sample device"
vu_stop "${PIDS[0]}" 5

mkfifo "$WORK/tp.in"
# shellcheck disable=SC2046
"$TESTPMD" -l 0,1 --no-pci --file-prefix "$PREFIX" $(vu_mem_args 256) \
	-d "$VU_BACKEND_PMD" --vdev "net_vfio_user0,path=$WORK/nic.sock" \
	-- -i --forward-mode=io <"$WORK/tp.in" >"$WORK/testpmd.log" 2>&1 &
PIDS+=($!)
exec {TPFD}>"$WORK/tp.in"
vu_wait_socket "$WORK/nic.sock" 30 || { cat "$WORK/testpmd.log"; exit 1; }
sleep 1
nic_bench "$WORK/nic.sock" "port started, not forwarding"
echo start >&"$TPFD"
sleep 1
nic_bench "$WORK/nic.sock" "forwarding"
echo stop >&"$TPFD"
echo "port stop all" >&"$TPFD"
sleep 1
nic_bench "$WORK/nic.sock" "port stopped"
