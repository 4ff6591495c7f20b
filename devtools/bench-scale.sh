#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Scale benchmark: many devices on the library's one event thread.
#   1. DEVICES small PCI devices served by one process (vu-scale-bench -S):
#      time to register and start them, the server's VmRSS / fds / threads
#      before and after a client per device connected and mapped memory,
#      then the latency of a 4-byte REGION_READ on device 0 with the others
#      connected and idle, and with the others kept busy;
#   2. the same with net_vfio_user ports in one dpdk-testpmd: once with one
#      port and once with PORTS ports (at most RTE_MAX_ETHPORTS of the
#      installed DPDK: 32 in Debian's), each driven to DRIVER_OK by the
#      bench's virtio driver; the time from testpmd's start to its prompt
#      with every socket listening;
#   3. translation (rte_vfio_user_iova_to_va) with 1, 64 and 512 regions
#      (vu-xlate-bench).
# Figures and how to read them: doc/guides/perf_control_path.rst.
# A benchmark, not a test: it prints figures and never fails on them
# (app/test/pair/test_scale.sh is the test).
#
#   devtools/bench-scale.sh [-N DEVICES] [-p PORTS] [-n READS]
#
# Environment: VU_BUILD_DIR (default build), VU_TESTPMD, VU_NO_HUGE=1.

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
. devtools/dpdk-run.sh

DEVICES=64
PORTS=
READS=5000
while getopts "N:p:n:h" o; do
	case $o in
	N) DEVICES=$OPTARG ;;
	p) PORTS=$OPTARG ;;
	n) READS=$OPTARG ;;
	*) sed -n '3,24p' "$0"; exit 2 ;;
	esac
done
BUILD_DIR=${VU_BUILD_DIR:-build}
TESTPMD=${VU_TESTPMD:-dpdk-testpmd}
SCALE=$BUILD_DIR/app/test/bench/vu-scale-bench
XLATE=$BUILD_DIR/app/test/bench/vu-xlate-bench

ninja -C "$BUILD_DIR" >/dev/null
[ -x "$SCALE" ] || { echo "no $SCALE: configure with -Dtests=true" >&2; exit 1; }
max_ports() {
	local f
	for f in /usr/include/*/dpdk/rte_build_config.h \
		 /usr/include/dpdk/rte_build_config.h; do
		[ -f "$f" ] || continue
		awk '/define RTE_MAX_ETHPORTS/ { print $3; exit }' "$f"
		return
	done
	echo 32
}
MAXP=$(max_ports)
[ -n "$PORTS" ] || PORTS=$((DEVICES < MAXP ? DEVICES : MAXP))

vu_tool_work vu-bench-scale

echo "== 1. $DEVICES library devices in one process (vu-scale-bench -S)"
"$SCALE" -S -s "$WORK/dev" -N "$DEVICES" >"$WORK/server.log" 2>&1 &
SPID=$!
PIDS+=($SPID)
vu_wait_socket "$WORK/dev$((DEVICES - 1)).sock" 20 ||
	{ cat "$WORK/server.log"; exit 1; }
sleep 0.2
cat "$WORK/server.log"
"$SCALE" -s "$WORK/dev" -N "$DEVICES" -n "$READS" -p "$SPID"
vu_stop "$SPID" 5

# testpmd_up N: testpmd with N net_vfio_user ports; prints its start-up
# time and figures, then drives every device to DRIVER_OK (N > 1).
testpmd_up() {
	local n=$1 i vdevs=() t0 ms pid
	rm -f "$WORK"/nic*.sock "$WORK/tp.in"
	for ((i = 0; i < n; i++)); do
		vdevs+=(--vdev "net_vfio_user$i,path=$WORK/nic$i.sock")
	done
	mkfifo "$WORK/tp.in"
	t0=$(date +%s%N)
	# shellcheck disable=SC2046
	"$TESTPMD" -l 0,1 --no-pci --file-prefix "$PREFIX" \
		$(vu_mem_args 512) -d "$VU_BACKEND_PMD" "${vdevs[@]}" \
		-- -i --rxd=256 --txd=256 --total-num-mbufs=32768 \
		<"$WORK/tp.in" >"$WORK/testpmd.log" 2>&1 &
	pid=$!
	PIDS+=($pid)
	exec {TPFD}>"$WORK/tp.in"
	for ((i = 0; i < 600; i++)); do
		grep -q "testpmd> " "$WORK/testpmd.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	ms=$((($(date +%s%N) - t0) / 1000000))
	vu_wait_socket "$WORK/nic$((n - 1)).sock" 5 ||
		{ tail "$WORK/testpmd.log"; exit 1; }
	echo "testpmd with $n net_vfio_user port(s): prompt after $ms ms" \
	     "(EAL, mempool, $n ports configured and started)"
	"$SCALE" -s "$WORK/nic" -N "$n" -n "$READS" -v -p "$pid"
	echo quit >&"$TPFD"
	exec {TPFD}>&-
	TPFD=
	vu_stop "$pid" 10
}

echo
echo "== 2. net_vfio_user ports in dpdk-testpmd (RTE_MAX_ETHPORTS $MAXP)"
if command -v "$TESTPMD" >/dev/null 2>&1 &&
   [ -f "$BUILD_DIR/drivers/net/vfio_user/librte_net_vfio_user.so" ]; then
	vu_plugin_dir "$BUILD_DIR"
	testpmd_up 1
	testpmd_up "$PORTS"
else
	echo "skipped: no $TESTPMD or PMDs not built"
fi

echo
echo "== 3. translation, rte_vfio_user_iova_to_va() (vu-xlate-bench)"
"$XLATE" -r "1 64 512"
