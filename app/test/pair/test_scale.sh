#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# pair_scale: many devices on the library's one event thread come up and
# all answer, in bounded time:
#   A. 64 devices served by one process (vu-scale-bench -S), a raw client
#      per device: each negotiates, maps memory, answers config-space
#      reads with its ids, also while the others are kept busy;
#   B. 32 net_vfio_user ports in one dpdk-testpmd (RTE_MAX_ETHPORTS of
#      Debian's DPDK): each virtio-net device is driven to DRIVER_OK and
#      must read back DRIVER_OK without NEEDS_RESET, with the virtio-net
#      ids; testpmd must still run afterwards.
# The whole test must take less than 30 s (60 s hard limit).
#
#   test_scale.sh BUILD_ROOT SCALE_BENCH

set -u
. "$(dirname "$0")/pair_lib.sh"

pair_init pair_scale "${1:?usage: $0 BUILD_ROOT SCALE_BENCH}" 60
SCALE=${2:?usage: $0 BUILD_ROOT SCALE_BENCH}
[ -x "$SCALE" ] || pair_fail "no vu-scale-bench at $SCALE"
LIB_DEVS=64
PORTS=32
BUDGET_S=30

pair_log "A. $LIB_DEVS library devices in one process"
pair_bg lsrv "$SCALE" -S -s "$PAIR_WORK/dev" -N $LIB_DEVS
pair_wait_log lsrv "^ready: $LIB_DEVS devices" 20 "$PID_lsrv" ||
	pair_fail "the $LIB_DEVS devices did not come up"
"$SCALE" -s "$PAIR_WORK/dev" -N $LIB_DEVS -n 500 -c -p "$PID_lsrv" \
	>"$PAIR_WORK/lclient.log" 2>&1 ||
	{ cat "$PAIR_WORK/lclient.log"; pair_fail "library devices: check failed"; }
cat "$PAIR_WORK/lclient.log"
grep -q "^check: $LIB_DEVS of $LIB_DEVS devices answered" \
	"$PAIR_WORK/lclient.log" || pair_fail "not every library device answered"
pair_alive "$PID_lsrv" || pair_fail "the device process died"
vu_stop "$PID_lsrv" 5
pair_forget "$PID_lsrv"

pair_log "B. $PORTS net_vfio_user ports in one testpmd"
if ! command -v "$TESTPMD" >/dev/null 2>&1; then
	pair_log "$TESTPMD not found (Debian package dpdk): part B skipped"
	[ $SECONDS -lt $BUDGET_S ] || pair_fail "took ${SECONDS}s (>= ${BUDGET_S}s)"
	pair_pass "$LIB_DEVS library devices came up and answered (part B skipped: no testpmd)"
fi
pair_prefix tp
VDEVS=()
for ((i = 0; i < PORTS; i++)); do
	VDEVS+=(--vdev "net_vfio_user$i,path=$PAIR_WORK/nic$i.sock")
done
# shellcheck disable=SC2046
tp_start tp -l 0,1 --no-pci --file-prefix "$PFX" $(pair_mem_args 512) \
	-d "$VU_BACKEND_PMD" "${VDEVS[@]}" \
	-- -i --rxd=256 --txd=256 --total-num-mbufs=32768
for ((i = 0; i < PORTS; i++)); do
	[ -S "$PAIR_WORK/nic$i.sock" ] || pair_fail "no socket for port $i"
done
"$SCALE" -s "$PAIR_WORK/nic" -N $PORTS -n 500 -v -c -p "$PID_tp" \
	>"$PAIR_WORK/nclient.log" 2>&1 ||
	{ cat "$PAIR_WORK/nclient.log"; pair_fail "net_vfio_user ports: check failed"; }
cat "$PAIR_WORK/nclient.log"
grep -q "^check: $PORTS of $PORTS devices answered" "$PAIR_WORK/nclient.log" ||
	pair_fail "not every net_vfio_user port answered"
pair_alive "$PID_tp" || pair_fail "testpmd died"
tp_cmd tp "show port summary all" 10
tp_quit tp
[ $SECONDS -lt $BUDGET_S ] || pair_fail "took ${SECONDS}s (>= ${BUDGET_S}s)"
pair_pass "$LIB_DEVS library devices and $PORTS net_vfio_user ports came up and answered in ${SECONDS}s"
