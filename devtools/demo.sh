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
# DURATION seconds (default 10) printing the rate every second, and ends
# with a summary: packets sent, received, lost, and Mpps.
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
BE_PID= FE_PID=
cleanup() {
	[ -n "$FE_PID" ] && vu_stop "$FE_PID" 5
	[ -n "$BE_PID" ] && vu_stop "$BE_PID" 5
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

# Per-second rates: testpmd prints Rx-pps/Tx-pps every second.
last_pps() {	# last_pps LOG FIELD
	grep -a -o "$2: *[0-9]*" "$1" 2>/dev/null | tail -1 | grep -o '[0-9]*$' || echo 0
}
alive() {
	if ! kill -0 "$BE_PID" 2>/dev/null || ! kill -0 "$FE_PID" 2>/dev/null; then
		echo "a testpmd process exited early:" >&2
		tail -20 "$WORK/backend.log" "$WORK/frontend.log" >&2
		exit 1
	fi
}
# The window starts when packets flow (EAL and mempool setup take a while).
for ((t = 0; t < 60; t++)); do
	alive
	[ "$(last_pps "$WORK/backend.log" Rx-pps)" -gt 0 ] && break
	sleep 0.5
done
step "traffic for ${DURATION}s (frontend txonly -> backend rxonly, 64-byte packets)"
RATES=()
for ((t = 1; t <= DURATION; t++)); do
	sleep 1
	alive
	rx=$(last_pps "$WORK/backend.log" Rx-pps)
	RATES+=("$rx")
	awk -v t="$t" -v tx="$(last_pps "$WORK/frontend.log" Tx-pps)" -v rx="$rx" \
		'BEGIN { printf "  %2ds  frontend tx %6.2f Mpps   backend rx %6.2f Mpps\n", t, tx / 1e6, rx / 1e6 }'
done

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
awk -v s="$SENT" -v r="$RECV" -v rates="${RATES[*]}" 'BEGIN {
	n = split(rates, a, " "); sum = 0
	for (i = 1; i <= n; i++) sum += a[i]
	printf "  packets sent      %d\n  packets received  %d\n  packets lost      %d\n", s, r, s - r
	printf "  average rate      %.2f Mpps over %d s (64-byte packets)\n", sum / n / 1e6, n
}'
[ "$SENT" -eq "$RECV" ]
