#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# pair_plugins: both PMDs loaded into ONE dpdk-testpmd process, which
# creates a backend port (net_vfio_user0) and a frontend port
# (net_virtio_vfio_user0) driving it, whatever order the plugins load in.
# DPDK's vdev bus gives a device to the first registered driver whose name
# (or alias) is a prefix of the device name, and registration follows the
# plugin load order: no name of ours may be a prefix of another's.
#   1. -d backend -d frontend
#   2. -d frontend -d backend
#   3. -d <directory holding both>
# Each run checks, with "show port info", which driver got each port,
# that both links are up, and that io forwarding between the two ports
# moves packets both ways. Then:
#   4. the frontend's old name (net_vfio_user_client0), both plugins
#      loaded, then the frontend's only: the device is refused (EAL goes
#      on without it), with a message naming the new driver, and no socket
#      is created (it used to be taken by the backend, which then replaced
#      the socket another process was serving).
#
#   test_plugins.sh BUILD_ROOT

set -u
. "$(dirname "$0")/pair_lib.sh"

pair_init pair_plugins "${1:?usage: $0 BUILD_ROOT}" 240
command -v "$TESTPMD" >/dev/null 2>&1 ||
	pair_skip "$TESTPMD not found (Debian package dpdk)"

MEM=$(VU_NO_HUGE=1 pair_mem_args 256 1)
SUMMARY=()

# driver_of NAME DEVICE: the "Driver name" testpmd printed for DEVICE
driver_of() {
	tr -d '\r' <"$PAIR_WORK/$1.log" |
		awk -v dev="$2" '/^Device name: / { cur = $3 }
			/^Driver name: / && cur == dev { drv = $3 }
			END { print drv }'
}

# run LABEL PLUGIN-OPTIONS...
run() {
	local label=$1 sock be fe
	shift
	sock="$PAIR_WORK/$label.sock"
	pair_log "$label: $*"
	pair_prefix "$label"
	# shellcheck disable=SC2086
	tp_start "$label" -l 0,1 --file-prefix "$PFX" $MEM --no-pci "$@" \
		--vdev "net_vfio_user0,path=$sock" \
		--vdev "net_virtio_vfio_user0,path=$sock,reconnect=100" \
		-- -i --total-num-mbufs=8192
	local pv=PID_$label
	pair_check_mem "$label" "${!pv}" "$MEM"
	tp_cmd "$label" "show port info all"
	be=$(driver_of "$label" net_vfio_user0)
	fe=$(driver_of "$label" net_virtio_vfio_user0)
	pair_log "$label: net_vfio_user0 -> driver '$be', net_virtio_vfio_user0 -> driver '$fe'"
	[ "$be" = net_vfio_user ] ||
		pair_fail "$label: net_vfio_user0 was taken by '$be'"
	[ "$fe" = net_virtio_vfio_user ] ||
		pair_fail "$label: net_virtio_vfio_user0 was taken by '$fe'"
	# both links up (the frontend drives the backend's device)
	local i up p moved
	for ((i = 0; i < 100; i++)); do
		tp_cmd "$label" "show port info all"
		up=$(tr -d '\r' <"$PAIR_WORK/$label.log" |
			awk '/^Link status: / { s[++n] = $3 } END { print s[n-1] s[n] }')
		[ "$up" = upup ] && break
		sleep 0.1
	done
	[ "$up" = upup ] || pair_fail "$label: links not up (last: $up)"
	# io forwarding port 0 <-> port 1, a first burst from both
	tp_cmd "$label" "start tx_first"
	# until both ports moved frames both ways (5 s at most; checked
	# again below)
	for ((i = 0; i < 50; i++)); do
		moved=0
		for p in 0 1; do
			tp_cmd "$label" "show port stats $p"
			tp_nic_stats "$label"
			[ "$NIC_RX" -gt 0 ] && [ "$NIC_TX" -gt 0 ] &&
				moved=$((moved + 1))
		done
		[ "$moved" = 2 ] && break
		sleep 0.1
	done
	tp_cmd "$label" "stop"
	for i in 0 1; do
		tp_cmd "$label" "show port stats $i"
		tp_nic_stats "$label"
		[ "$NIC_RX" -gt 0 ] && [ "$NIC_TX" -gt 0 ] ||
			pair_fail "$label: port $i received $NIC_RX, sent $NIC_TX"
	done
	tp_quit "$label"
	SUMMARY+=("$label ($*): backend and frontend ports got the right drivers, traffic both ways")
}

run order_be_fe -d "$VU_BACKEND_PMD" -d "$VU_FRONTEND_PMD"
run order_fe_be -d "$VU_FRONTEND_PMD" -d "$VU_BACKEND_PMD"
run plugin_dir -d "$VU_PLUGIN_DIR"

# 4. the frontend's old name, with both plugins, and with the frontend's
# only (then no backend is there to refuse it: the frontend's plugin does)
old_name() {
	local tag=$1 old="$PAIR_WORK/old-$1.sock" pid
	shift
	pair_prefix "old_$tag"
	# shellcheck disable=SC2086
	pair_bg_testpmd "old_$tag" -l 0,1 --file-prefix "$PFX" $MEM --no-pci \
		"$@" --vdev "net_vfio_user_client0,path=$old" \
		-- --total-num-mbufs=8192 --stats-period=1
	pid=PID_old_$tag
	pair_wait_log "old_$tag" "net_vfio_user_client was renamed net_virtio_vfio_user" 30 \
		"${!pid}" || pair_fail "old-name ($tag): no message naming the new driver"
	pair_wait_log "old_$tag" "failed to initialize net_vfio_user_client0 device" 30 \
		"${!pid}" || pair_fail "old-name ($tag): the device was not refused"
	[ ! -e "$old" ] || pair_fail "old-name ($tag): $old was created"
	SUMMARY+=("old-name ($tag): net_vfio_user_client0 refused (renamed net_virtio_vfio_user), no socket created")
}
old_name both -d "$VU_PLUGIN_DIR"
old_name frontend_only -d "$VU_FRONTEND_PMD"

for s in "${SUMMARY[@]}"; do
	echo "  $s"
done
pair_pass "both PMDs in one process, in any load order and from a plugin directory"
