# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Guest script of test_tso_tcp.sh: two virtio-net devices served by one
# testpmd that forwards between them (csum engine, segmentation requested
# on transmit). The interface of vmtest.mac0 stays in the initial network
# namespace as 10.0.0.1/24, the one of vmtest.mac1 goes into a second one
# (busybox unshare -n holds it, nsenter -n enters it) as 10.0.0.2/24: the
# kernel cannot short-cut between them, every packet goes through the
# devices and testpmd. Then vmtool tcpsend/tcprecv move vmtest.bytes bytes
# of a known pattern over TCP from the first to the second and back, each
# checked byte for byte, within vmtest.secs seconds.
#
# Both drivers must have negotiated VIRTIO_NET_F_GUEST_TSO4/6 (bits 7, 8)
# and VIRTIO_NET_F_HOST_TSO4/6 (11, 12). The sender's kernel hands its
# driver GSO packets (tx_packets at most half the MSS-sized segments of
# the data). vmtest.cut=0: the receiving driver gets GSO packets whole
# from the device (rx_packets at most half the segments, rx_bytes /
# rx_packets over an MTU's frame). vmtest.cut=1: both netdevs turn
# rx-gro-hw off first (virtio_net: VIRTIO_NET_CTRL_GUEST_OFFLOADS without
# GUEST_TSO4/6), so the device cuts what testpmd sends into MSS-sized
# segments: rx_packets at least the segments, no frame over the MTU's.
# (busybox sh, /vmtest/lib.sh and guest_lib.sh sourced before)
# shellcheck shell=dash disable=SC1091

. /vmtest/guest_lib.sh
cut=$(vt_param cut 0)
bytes=$(vt_param bytes 8388608)
secs=$(vt_param secs 60)
mac0=$(vt_param mac0 02:76:6d:00:00:0a)
mac1=$(vt_param mac1 02:76:6d:00:00:0b)
ip0=10.0.0.1
ip1=10.0.0.2
mss=1448
# the MSS-sized segments of the data (MTU 1500, TCP timestamps: 1448)
segs=$(((bytes + mss - 1) / mss))

# g_if MAC: the interface with that address
g_if() {
	local n
	for n in /sys/class/net/*; do
		if [ "$(cat "$n/address")" = "$1" ]; then
			echo "${n##*/}"
			return 0
		fi
	done
	return 1
}
g_ifs() {
	IF0=$(g_if "$mac0") && IF1=$(g_if "$mac1")
}
vt_check find_devices vt_wait 10 g_ifs
vt_info "interfaces: $IF0 ($mac0), $IF1 ($mac1)"

# the sysfs string is bit 0 first: GUEST_TSO4/6 bits 7, 8, HOST_TSO4/6
# bits 11, 12
feat_bits() {
	local f
	f=$(cat "/sys/class/net/$1/device/features")
	echo "$f" | cut -c 8,9,12,13 | tr -d '\n'
}
for i in "$IF0" "$IF1"; do
	vt_info "$i: virtio features $(cat "/sys/class/net/$i/device/features")"
	vt_check "features_tso_$i" [ "$(feat_bits "$i")" = 1111 ]
done

# ---- the second namespace ----
unshare -n sleep 100000 &
NSPID=$!
ns_ready() {
	[ -e "/proc/$NSPID/ns/net" ] &&
		[ "$(readlink "/proc/$NSPID/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}
nsx() { nsenter -t "$NSPID" -n "$@"; }
ns_setup() {
	vt_wait 5 ns_ready || return 1
	ip link set "$IF1" netns "$NSPID" || return 1
	# gone from here, there
	[ ! -e "/sys/class/net/$IF1" ] || return 1
	nsx ip link show "$IF1" > /dev/null || return 1
	nsx ip link set lo up
}
vt_check netns ns_setup
vt_info "namespaces: $IF0 in $(readlink /proc/self/ns/net)," \
	"$IF1 in $(readlink "/proc/$NSPID/ns/net") (pid $NSPID)"

# no IPv6 on them (its duplicate address detection, router solicitations)
echo 1 > "/proc/sys/net/ipv6/conf/$IF0/disable_ipv6"
nsx sh -c "echo 1 > /proc/sys/net/ipv6/conf/$IF1/disable_ipv6"

# the netdevs' receive offload (rx-gro-hw: virtio_net's GUEST_TSO4/6)
if [ "$cut" = 1 ]; then
	gro=off
	set0=rx-gro-hw=off
else
	gro=on
	set0=rx-gro-hw
fi
vmtool features "$IF0" "$set0" tx-tcp-segmentation > /tmp/f0 2>&1
nsx vmtool features "$IF1" "$set0" tx-tcp-segmentation > /tmp/f1 2>&1
sed "s/^/$IF0 /" /tmp/f0 | g_show
sed "s/^/$IF1 /" /tmp/f1 | g_show
netdev_ok() {
	grep -qx "rx-gro-hw $gro" "$1" &&
		grep -qx "tx-tcp-segmentation on" "$1"
}
vt_check "netdev_$IF0" netdev_ok /tmp/f0
vt_check "netdev_$IF1" netdev_ok /tmp/f1

ip addr add "$ip0/24" dev "$IF0"
ip link set "$IF0" up
nsx ip addr add "$ip1/24" dev "$IF1"
nsx ip link set "$IF1" up
links_up() {
	ip link show "$IF0" | grep -q LOWER_UP &&
		nsx ip link show "$IF1" | grep -q LOWER_UP
}
vt_check links_up vt_wait 15 links_up

# ifstat WHERE IF FIELD: a counter of /proc/net/dev (WHERE: nsx or
# env, the namespace)
ifstat() {
	"$1" cat /proc/net/dev | awk -v i="$2:" -v f="$3" '
		{ sub(/^ +/, ""); sub(/:/, ": ") }
		$1 == i { c["rx_bytes"] = $2; c["rx_packets"] = $3
			  c["tx_bytes"] = $10; c["tx_packets"] = $11
			  c["tx_dropped"] = $13; c["rx_dropped"] = $5
			  print c[f] + 0 }'
}

# rx_cut RX_PACKETS AVERAGE, rx_gso RX_PACKETS AVERAGE
rx_cut() { [ "$1" -ge "$segs" ] && [ "$2" -le 1514 ]; }
rx_gso() { [ $(($1 * 2)) -le "$segs" ] && [ "$2" -gt 1514 ]; }

# g_xfer NAME SWHERE SIF RWHERE RIF RIP PORT: bytes from SIF's namespace
# to RIP (RIF, in RWHERE's), checked; and the interfaces' counters
g_xfer() {
	local name=$1 sw=$2 sif=$3 rw=$4 rif=$5 rip=$6 port=$7
	local tp0 rp0 rb0 rd0 tp rp rb rd rpid src rrc avg
	tp0=$(ifstat "$sw" "$sif" tx_packets)
	rp0=$(ifstat "$rw" "$rif" rx_packets)
	rb0=$(ifstat "$rw" "$rif" rx_bytes)
	rd0=$(ifstat "$rw" "$rif" rx_dropped)
	"$rw" vmtool tcprecv "$rip" "$port" "$bytes" "$secs" \
		> "/tmp/$name.recv" 2>&1 &
	rpid=$!
	"$sw" vmtool tcpsend "$rip" "$port" "$bytes" "$secs" \
		> "/tmp/$name.send" 2>&1
	src=$?
	wait "$rpid"
	rrc=$?
	g_show "/tmp/$name.send"
	g_show "/tmp/$name.recv"
	vt_check "${name}_sent" [ "$src" = 0 ]
	vt_check "${name}_intact" [ "$rrc" = 0 ]
	tp=$(($(ifstat "$sw" "$sif" tx_packets) - tp0))
	rp=$(($(ifstat "$rw" "$rif" rx_packets) - rp0))
	rb=$(($(ifstat "$rw" "$rif" rx_bytes) - rb0))
	rd=$(($(ifstat "$rw" "$rif" rx_dropped) - rd0))
	avg=$((rb / (rp > 0 ? rp : 1)))
	vt_info "$name: $bytes bytes = $segs segments of $mss;" \
		"sender $sif tx_packets +$tp; receiver $rif rx_packets +$rp" \
		"rx_bytes +$rb (average $avg) rx_dropped +$rd"
	# the sender's GSO packets: 2 segments or more on average
	vt_check "${name}_tx_gso" [ $((tp * 2)) -le "$segs" ]
	vt_check "${name}_rx_dropped" [ "$rd" = 0 ]
	if [ "$cut" = 1 ]; then
		# cut by the device: every segment a frame (the ACKs going
		# the other way are not counted here)
		vt_check "${name}_rx_cut" rx_cut "$rp" "$avg"
	else
		vt_check "${name}_rx_gso" rx_gso "$rp" "$avg"
	fi
}

g_xfer xfer01 env "$IF0" nsx "$IF1" "$ip1" 5001
g_xfer xfer10 nsx "$IF1" env "$IF0" "$ip0" 5002
for i in "$IF0" "$IF1"; do
	w="env"
	[ "$i" = "$IF1" ] && w=nsx
	"$w" vmtool stats "$i" rx_queue_0_packets rx_queue_0_bytes \
		tx_queue_0_packets tx_queue_0_bytes rx_queue_0_drops \
		> /tmp/st 2>&1
	vt_info "$i virtio_net $(tr '\n' ' ' < /tmp/st)"
done
kill "$NSPID"
