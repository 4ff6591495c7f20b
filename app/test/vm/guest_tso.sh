# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Guest script of test_tso.sh: virtio_net negotiates TCP segmentation
# (VIRTIO_NET_F_HOST_TSO4/6) or not, and the kernel hands its netdev one
# GSO TCP/IPv4 and one TCP/IPv6 packet of vmtest.len bytes (MSS
# vmtest.mss4, vmtest.mss6: the MTU's, 1448 and 1440 at MTU 1500) from an
# AF_PACKET socket (vmtool gso): with the features the
# driver passes each to the device as ONE packet (tx_packets +1, tx_bytes
# +len), without them the kernel segments it in software into MSS-sized
# frames (tx_packets + the segments, tx_bytes + len and a header for each
# segment but the first). Kernel command line: vmtest.tso=1 (expect the
# features) or 0 (expect them not), vmtest.len, vmtest.mss4,
# vmtest.mss6, vmtest.peermac (the frames' destination; the host's
# testpmd takes any).
# (busybox sh, /vmtest/lib.sh and guest_lib.sh sourced before)
# shellcheck shell=dash disable=SC1091

. /vmtest/guest_lib.sh
tso=$(vt_param tso 1)
len=$(vt_param len 60000)
mss4=$(vt_param mss4 1448)
mss6=$(vt_param mss6 1440)
peermac=$(vt_param peermac 02:76:6d:00:00:fe)

vt_check pci_device g_find_dev
feat=$(cat "$PCIDEV"/virtio*/features)
vt_info "virtio features $feat"
# the sysfs string is bit 0 first: VIRTIO_NET_F_CSUM is bit 0,
# VIRTIO_NET_F_HOST_TSO4 and _TSO6 bits 11 and 12
feat_bit() { echo "$feat" | cut -c "$(($1 + 1))"; }
vt_info "CSUM $(feat_bit 0) HOST_TSO4 $(feat_bit 11) HOST_TSO6 $(feat_bit 12)"
vt_check features_csum [ "$(feat_bit 0)" = 1 ]
case $tso in
1) vt_check features_tso [ "$(feat_bit 11)$(feat_bit 12)" = 11 ] ;;
*) vt_check features_tso [ "$(feat_bit 11)$(feat_bit 12)" = 00 ] ;;
esac

# Nothing but our packets may leave the interface while tx_packets is
# counted: no IPv6 on it (its duplicate address detection, router
# solicitations and multicast reports), and no IP socket is used.
echo 1 > "/proc/sys/net/ipv6/conf/$IF/disable_ipv6"
vt_check link_up g_net_up

# the netdev's segmentation offloads, as ethtool -k shows them
vmtool features "$IF" tx-tcp-segmentation tx-tcp6-segmentation \
	tx-gso-robust > /tmp/features
g_show /tmp/features
netdev_tso() {
	grep -qx "tx-tcp-segmentation $1" /tmp/features &&
		grep -qx "tx-tcp6-segmentation $1" /tmp/features
}
case $tso in
1) vt_check netdev_tso netdev_tso on ;;
*) vt_check netdev_tso netdev_tso off ;;
esac

txstat() { cat "/sys/class/net/$IF/statistics/$1"; }

# g_tx_settle BEFORE: wait until tx_packets has passed BEFORE and not
# changed for a second (virtio_net counts a packet when the device has
# used its buffers), 10 s at most
g_tx_settle() {
	local last=-1 same=0 n=0 v
	while [ $n -lt 50 ]; do
		v=$(txstat tx_packets)
		if [ "$v" = "$last" ]; then
			same=$((same + 1))
			[ $same -ge 5 ] && [ "$v" -gt "$1" ] && return 0
		else
			same=0
			last=$v
		fi
		sleep 0.2
		n=$((n + 1))
	done
	return 1
}

# g_gso NAME SRCIP DSTIP HDRLEN MSS: one GSO packet through vmtool gso;
# the interface's tx_packets and tx_bytes must have grown as the mode says
# (HDRLEN: the Ethernet, IP and TCP headers' length)
g_gso() {
	local name="$1" src="$2" dst="$3" hl="$4" mss="$5"
	local p0 b0 d0 dp db dd segs wp wb
	segs=$(((len - hl + mss - 1) / mss))
	if [ "$tso" = 1 ]; then
		wp=1
		wb=$len
	else
		wp=$segs
		wb=$((len + (segs - 1) * hl))
	fi
	p0=$(txstat tx_packets)
	b0=$(txstat tx_bytes)
	d0=$(txstat tx_dropped)
	if ! vmtool gso "$IF" "$peermac" "$src" "$dst" "$len" "$mss" \
		> /tmp/gso.out 2>&1; then
		g_show /tmp/gso.out
		vt_fail "$name" "vmtool gso failed"
		return
	fi
	g_show /tmp/gso.out
	g_tx_settle "$p0"
	dp=$(($(txstat tx_packets) - p0))
	db=$(($(txstat tx_bytes) - b0))
	dd=$(($(txstat tx_dropped) - d0))
	vt_info "$name: tx_packets +$dp tx_bytes +$db tx_dropped +$dd" \
		"(expected +$wp, +$wb, +0: $segs segments of MSS $mss," \
		"$([ "$tso" = 1 ] && echo "one GSO packet" || echo "segmented by the kernel"))"
	vt_check "$name" [ "$dp:$db:$dd" = "$wp:$wb:0" ]
}

# Ethernet + IPv4 + TCP headers: 54 bytes; with IPv6: 74 (its MSS 20
# bytes less: a segment's frame is the MTU's either way)
g_gso gso_tcp4 "$GUEST_IP" "$PEER_IP" 54 "$mss4"
g_gso gso_tcp6 2001:db8::2 2001:db8::1 74 "$mss6"
ethtool_stats=$(vmtool stats "$IF" tx_queue_0_packets tx_queue_0_bytes 2>&1)
vt_info "virtio_net $(echo "$ethtool_stats" | tr '\n' ' ')"
