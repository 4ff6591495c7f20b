#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# The whole offload chain on one machine, three DPDK processes
# (doc/guides/howto/offload.rst):
#
#   frontend: dpdk-testpmd, io forwarding        engine: dpdk-testpmd, io
#     net_virtio_vfio_user0 (virtio-net driver)    net_vhost0 (vhost-user
#        |  rings + buffers in its memory (memfd)   back end, server mode)
#        |                                            ^      |
#        | vfio-user socket             vhost-user    |      | reads/writes the
#        v                              socket        |      | frontend's rings
#   device: dpdk-testpmd (idle)                       |      | and buffers, calls
#     net_vfio_user0,offload=engine.sock -------------+      | its MSI-X eventfds
#        keeps the PCI device, the virtio control plane,     |
#        the control queue and the DMA table; hands the      |
#        data queues, the memory fds, the kick and call      |
#        eventfds to the engine at DRIVER_OK        <--------+ (no data here)
#
# The frontend sends one burst (start tx_first) and both testpmds bounce it
# for SECONDS; the frontend's counters grow, the device's stay 0.
#
#   examples/offload/offload-chain.sh [BUILD_DIR [SECONDS]]
#
# Without hugepages (--no-huge: the frontend's memory is a memfd the device
# can pass on). Exit status 0 if the traffic went through the engine only.

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
. devtools/dpdk-run.sh

BUILD=${1:-build}
SECS=${2:-5}
TESTPMD=${VU_TESTPMD:-dpdk-testpmd}
FE_NAME=${VU_FRONTEND_NAME:-net_virtio_vfio_user}
PIDS=()

W=$(mktemp -d "${TMPDIR:-/tmp}/vu-offload-example.XXXXXX")
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		vu_stop "$p" 5
	done
	rm -rf "$W" "/var/run/dpdk/vu-ex-engine-$$" "/var/run/dpdk/vu-ex-dev-$$" \
		"/var/run/dpdk/vu-ex-fe-$$"
	vu_cleanup
}
trap cleanup EXIT
vu_plugin_dir "$BUILD" || { echo "PMDs not built in $BUILD" >&2; exit 1; }
# PMDs of a sanitizer build load into Debian's testpmd with the ASan
# runtime preloaded
ASAN_LIB=$(ldd "$VU_BACKEND_PMD" | awk '/libasan\.so/ { print $3; exit }')
if [ -n "$ASAN_LIB" ]; then
	export LD_PRELOAD=$ASAN_LIB
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi

# testpmd ... -i, fed COMMANDS ("sleep N" lines are waits, not commands)
feed() {
	local line
	while IFS= read -r line; do
		case $line in
		sleep\ *) $line;;
		*) echo "$line";;
		esac
	done
}

# 1. the engine: a vhost-user back end forwarding what it receives back
printf '%s\n' "sleep $((SECS + 8))" "show port stats 0" "sleep 0.5" quit | feed |
	"$TESTPMD" -l 0,1 --main-lcore 1 --no-huge -m 256 \
	--file-prefix "vu-ex-engine-$$" --no-pci \
	--vdev "net_vhost0,iface=$W/engine.sock" \
	-- -i --total-num-mbufs=8192 --forward-mode=io --auto-start \
	>"$W/engine.log" 2>&1 &
PIDS+=($!)
vu_wait_socket "$W/engine.sock" 20 || { echo "no engine socket" >&2; exit 1; }

# 2. the device: net_vfio_user in offload mode, in an application that
#    does not need to forward anything
printf '%s\n' "sleep $((SECS + 7))" "show port stats 0" "sleep 0.5" quit | feed |
	"$TESTPMD" -l 0,1 --no-huge -m 128 --file-prefix "vu-ex-dev-$$" --no-pci \
	--log-level=pmd.net.vfio_user:info -d "$VU_BACKEND_PMD" \
	--vdev "net_vfio_user0,path=$W/dev.sock,offload=$W/engine.sock" \
	-- -i --total-num-mbufs=2048 >"$W/device.log" 2>&1 &
PIDS+=($!)
vu_wait_socket "$W/dev.sock" 20 || { echo "no device socket" >&2; exit 1; }

# 3. the driver: our virtio-net frontend PMD
printf '%s\n' "sleep 2" "start tx_first" "sleep $SECS" stop "show port stats 0" \
	"sleep 0.5" quit | feed |
	"$TESTPMD" -l 0,1 --no-huge -m 128 --file-prefix "vu-ex-fe-$$" --no-pci \
	-d "$VU_FRONTEND_PMD" --vdev "${FE_NAME}0,path=$W/dev.sock" \
	-- -i --total-num-mbufs=8192 --forward-mode=io >"$W/frontend.log" 2>&1
wait

rx_of() {	# LOG: the last RX-packets of "show port stats"
	tr -d '\r' <"$1" | sed -n 's/.*RX-packets: *\([0-9]*\).*RX-missed.*/\1/p' | tail -1
}
grep -a "offload" "$W/device.log" | tr -d '\r' | sed 's/^/device:   /'
FE_RX=$(rx_of "$W/frontend.log")
ENG_RX=$(rx_of "$W/engine.log")
DEV_RX=$(rx_of "$W/device.log")
echo "frontend received ${FE_RX:-?} packets, the engine ${ENG_RX:-?}, net_vfio_user itself ${DEV_RX:-?}"
[ "${FE_RX:-0}" -gt 0 ] && [ "${ENG_RX:-0}" -gt 0 ] && [ "${DEV_RX:-1}" -eq 0 ]
