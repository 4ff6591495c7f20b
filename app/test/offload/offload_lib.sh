# shellcheck shell=bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Sourced by the offload_* tests, after pair_lib.sh: the three parts of an
# offloaded device, each a process of its own:
#   - the engine: Debian's dpdk-testpmd with net_vhost (a vhost-user back
#     end in server mode) forwarding in io mode (engine_start);
#   - the device: a dpdk-testpmd that only hosts net_vfio_user with
#     offload=<engine socket> and does not forward (dev_start): what
#     its port counts must stay 0;
#   - the driver: our frontend PMD in pktcheck or testpmd.
# The frontend PMD's name is one variable (VU_FRONTEND_NAME).

# shellcheck disable=SC2034 # used by the scripts that source this
FE_NAME=${VU_FRONTEND_NAME:-net_virtio_vfio_user}

# engine_start NAME SOCKET QUEUES [VDEV...]: testpmd with net_vhost0 on
# SOCKET (and more vdevs), io forwarding started, its forwarding lcore on
# CPU 0 (main lcore 1). ENGINE_DEVARGS: more devargs of net_vhost0
# (",iommu-support=1": the engine takes an IOTLB).
engine_start() {
	local name=$1 sock=$2 q=$3 v
	local -a vdevs=(--vdev "net_vhost0,iface=$sock,queues=$q${ENGINE_DEVARGS:-}")
	shift 3
	for v in "$@"; do
		vdevs+=(--vdev "$v")
	done
	pair_prefix "$name"
	# shellcheck disable=SC2046 # memory options: several words
	tp_start "$name" -l 0,1 --main-lcore 1 --file-prefix "$PFX" \
		$(VU_NO_HUGE=1 pair_mem_args 256) --no-pci "${vdevs[@]}" \
		-- -i --total-num-mbufs=16384 --rxq="$q" --txq="$q" \
		--forward-mode=io
}

# dev_start NAME DEVSOCK ENGINESOCK QUEUES [EXTRA DEVARGS]: the device's
# host process (not forwarding).
dev_start() {
	local name=$1 sock=$2 eng=$3 q=$4 extra=${5:-}
	pair_prefix "$name"
	# shellcheck disable=SC2046 # memory options: several words
	tp_start "$name" -l 0,1 --file-prefix "$PFX" \
		$(VU_NO_HUGE=1 pair_mem_args 64) --no-pci \
		--log-level=pmd.net.vfio_user:info -d "$VU_BACKEND_PMD" \
		--vdev "net_vfio_user0,path=$sock,offload=$eng,queues=$q$extra" \
		-- -i --total-num-mbufs=2048 --rxq="$q" --txq="$q"
	vu_wait_socket "$sock" 20 || pair_fail "$name: no socket $sock"
}

# dev_counters_zero NAME: net_vfio_user's own port counters are all 0.
dev_counters_zero() {
	tp_cmd "$1" "show port stats 0"
	tp_nic_stats "$1"
	[ "$NIC_RX" = 0 ] && [ "$NIC_TX" = 0 ] && [ "$NIC_RXB" = 0 ] &&
	[ "$NIC_TXB" = 0 ] ||
		pair_fail "$1: net_vfio_user moved data itself (rx $NIC_RX tx $NIC_TX packets)"
}

# count_log NAME REGEX: matching lines in NAME.log.
count_log() {
	grep -a -c -E -- "$2" "$PAIR_WORK/$1.log" 2>/dev/null || true
}

# wait_count NAME REGEX N SECS: at least N matching lines.
wait_count() {
	local name=$1 re=$2 n=$3 secs=$4 i
	for ((i = 0; i < secs * 50; i++)); do
		[ "$(count_log "$name" "$re")" -ge "$n" ] && return 0
		sleep 0.02
	done
	return 1
}

# rings_from ARG: RINGS, the ring layout a test asks of the frontend (ARG:
# packed, the default, or split), and FE_RINGS, the frontend devargs that
# ask for it (packed rings are the frontend's default, which the engine
# takes too).
rings_from() {
	RINGS=${1:-packed}
	case $RINGS in
	packed) FE_RINGS= ;;
	split) FE_RINGS=,packed_vq=0 ;;
	*) pair_fail "ring layout: packed or split, not '$RINGS'" ;;
	esac
}

# check_rings NAME RINGS: the last hand-over in NAME.log gave the engine
# the ring layout RINGS (packed or split: VIRTIO_F_RING_PACKED, bit 34, in
# the features it was handed).
check_rings() {
	local f
	f=$(grep -a "offload: .* queues handed" "$PAIR_WORK/$1.log" | tail -1 |
		sed -n 's/.*features \(0x[0-9a-f]*\).*/\1/p')
	[ -n "$f" ] || pair_fail "$1: no hand-over features in its log"
	if (((f >> 34) & 1)); then
		[ "$2" = packed ] || pair_fail "$1: packed rings handed, $2 wanted"
	else
		[ "$2" = split ] || pair_fail "$1: split rings handed, $2 wanted"
	fi
	pair_log "$1: $2 rings handed to the engine (features $f)"
}
