#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# The product doing its main job: two DPDK processes exchanging packets
# through vfio-user.
#
#   backend:  dpdk-testpmd with net_vfio_user  (serves a virtio-net PCI
#             device on a UNIX socket), forwarding mode rxonly
#   frontend: dpdk-testpmd with net_virtio_vfio_user (drives that device
#             through the socket), forwarding mode txonly
#
# It installs what is missing (as root), builds, runs traffic for about
# DURATION seconds (default 10) printing the rates measured in every second
# (devtools/telemetry-rates.py: the ports' counters read through DPDK
# telemetry), and ends with a summary: packets sent, received, lost, Mpps.
# As root, it also probes how far apart the two CPUs are while the traffic
# runs (devtools/bench-c2c.c, once a second): on a virtual machine the
# host sometimes places the two vCPUs far apart, and every shared-memory
# data path then runs at a fraction of its rate (doc/guides/perf.rst).
#
# Environment: VU_DEMO_DURATION=seconds, VU_NO_HUGE=1 (force --no-huge),
# VU_BUILD_DIR=dir (default build).

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
. devtools/common.sh
. devtools/dpdk-run.sh

BUILD_DIR=${VU_BUILD_DIR:-build}
DURATION=${VU_DEMO_DURATION:-10}
TESTPMD=${VU_TESTPMD:-dpdk-testpmd}

ensure_packages
setup_hugepages
configure_drivers
if [ "${DRIVER_OPTS[0]}" = -Ddrivers=false ]; then
	echo "The demo needs the PMDs, which need the DPDK driver-SDK headers." >&2
	exit 1
fi
step "building in $BUILD_DIR"
meson_setup "$BUILD_DIR" "${DRIVER_OPTS[@]}" >/dev/null
ninja -C "$BUILD_DIR" >/dev/null

vu_plugin_dir "$BUILD_DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vu-demo.XXXXXX")
SOCK=$WORK/vnic0.sock
BE_PID='' FE_PID='' C2C_PID=''
cleanup() {
	[ -n "$C2C_PID" ] && vu_stop "$C2C_PID" 1
	[ -n "$FE_PID" ] && vu_stop "$FE_PID" 5
	[ -n "$BE_PID" ] && vu_stop "$BE_PID" 5
	vu_rm_runtime "vu-demo-be-$$" "vu-demo-fe-$$"
	vu_cleanup
	rm -rf "$WORK"
}
trap cleanup EXIT

MEM=$(vu_mem_args 256 2)
case "$MEM" in *no-huge*) echo "hugepages: not enough free, using --no-huge (memfd-backed memory)";; esac

step "starting the backend: testpmd serving a virtio-net device on $SOCK"
"$TESTPMD" -l 0,1 --file-prefix "vu-demo-be-$$" $MEM --no-pci \
	-d "$VU_BACKEND_PMD" \
	--vdev "net_vfio_user0,path=$SOCK,mac=02:00:00:00:00:01" \
	-- --total-num-mbufs=16384 --forward-mode=rxonly --stats-period 1 \
	>"$WORK/backend.log" 2>&1 &
BE_PID=$!
if ! vu_wait_socket "$SOCK" 30; then
	echo "backend did not come up:" >&2
	tail -20 "$WORK/backend.log" >&2
	exit 1
fi

step "starting the frontend: testpmd driving it through net_virtio_vfio_user"
"$TESTPMD" -l 0,1 --main-lcore 1 --file-prefix "vu-demo-fe-$$" $MEM --no-pci \
	-d "$VU_FRONTEND_PMD" \
	--vdev "net_virtio_vfio_user0,path=$SOCK" \
	-- --total-num-mbufs=16384 --forward-mode=txonly --txpkts=64 \
	--stats-period 1 >"$WORK/frontend.log" 2>&1 &
FE_PID=$!

alive() {
	if ! kill -0 "$BE_PID" 2>/dev/null || ! kill -0 "$FE_PID" 2>/dev/null; then
		echo "a testpmd process exited early:" >&2
		tail -20 "$WORK/backend.log" "$WORK/frontend.log" >&2
		exit 1
	fi
}
# Per-second rates, from the ports' cumulative counters read through each
# testpmd's telemetry socket at every sample, over the time between two
# samples: each line is what was measured in that second. The window starts
# once packets flow (EAL and mempool setup take a while).
step "traffic for ${DURATION}s (frontend txonly -> backend rxonly, 64-byte packets)"
# the CPU 0 <-> 1 cache-line round trip, once a second while both forward
# (SCHED_FIFO, so root only)
if [ "$(id -u)" = 0 ] && cc -O2 -pthread -o "$WORK/c2c" devtools/bench-c2c.c 2>/dev/null; then
	"$WORK/c2c" --every 1000 0 1 >"$WORK/c2c.txt" 2>/dev/null &
	C2C_PID=$!
fi
if ! devtools/telemetry-rates.py -n "$DURATION" --wait 60 \
	"frontend tx=vu-demo-fe-$$:0:opackets" \
	"backend rx=vu-demo-be-$$:0:ipackets" | tee "$WORK/rates.txt" |
	grep -v '^average'; then
	alive
	echo "could not read the rates (telemetry)" >&2
	exit 1
fi
alive
if [ -n "$C2C_PID" ]; then
	vu_stop "$C2C_PID" 1
	C2C_PID=''
fi
AVG_PPS=$(awk '/^average/ { print $5 }' "$WORK/rates.txt")
AVG_SECS=$(awk '/^average/ { print $7 }' "$WORK/rates.txt")

# Stop the sender first, let the receiver drain, then stop it: SIGINT makes
# testpmd print its accumulated statistics.
kill -INT "$FE_PID"
wait "$FE_PID" 2>/dev/null || true
FE_PID=
sleep 1
kill -INT "$BE_PID"
wait "$BE_PID" 2>/dev/null || true
BE_PID=

acc() {	# acc LOG FIELD: value from the accumulated statistics block
	awk -v f="$2" '/Accumulated forward statistics/ { acc = 1 }
		acc && match($0, f ": *[0-9]+") {
			s = substr($0, RSTART, RLENGTH); sub(/.*: */, "", s); print s; exit }' "$1"
}
SENT=$(acc "$WORK/frontend.log" TX-packets)
RECV=$(acc "$WORK/backend.log" RX-packets)
if [ -z "$SENT" ] || [ -z "$RECV" ]; then
	echo "could not read the statistics:" >&2
	tail -30 "$WORK/frontend.log" "$WORK/backend.log" >&2
	exit 1
fi
step "summary"
awk -v s="$SENT" -v r="$RECV" -v pps="$AVG_PPS" -v secs="$AVG_SECS" 'BEGIN {
	printf "  packets sent      %d\n  packets received  %d\n  packets lost      %d\n", s, r, s - r
	printf "  average rate      %.2f Mpps received over %.1f s (64-byte packets)\n", pps / 1e6, secs
}'
# probes far over the lowest: the host had the two vCPUs far apart
[ -s "$WORK/c2c.txt" ] && awk -v f="$VU_C2C_FAR" '/^[0-9]+$/ { v[++n] = $1; if (lo == "" || $1 < lo) lo = $1 }
END {
	if (n == 0) exit
	for (i = 1; i <= n; i++) { far += v[i] > f * lo; s = s " " v[i] }
	printf "  CPU 0<->1 round trip (ns, once a second):%s\n", s
	if (far > 0)
		printf "  the two CPUs were far apart in %d of %d probes: every shared-memory\n" \
		       "  data path runs at a fraction of its rate then (doc/guides/perf.rst)\n", far, n
}' "$WORK/c2c.txt"
[ "$SENT" -eq "$RECV" ]
