#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# TCP segmentation offload with a Linux guest: net_vfio_user offers
# VIRTIO_NET_F_HOST_TSO4/6 while its port has RTE_ETH_RX_OFFLOAD_TCP_LRO
# (testpmd --enable-lro; --max-lro-pkt-size=65597 takes any GSO packet),
# the guest's virtio_net negotiates them and turns TSO on, and a GSO TCP
# packet the guest's kernel hands the driver reaches the application
# whole, flagged RTE_MBUF_F_RX_LRO. The guest (guest_tso.sh) sends one
# TCP/IPv4 and one TCP/IPv6 GSO packet of 60000 bytes (MSS 1448 and 1440:
# MTU 1500) from an AF_PACKET socket (vmtool gso) and checks its
# tx_packets: one packet each. Here, from testpmd's telemetry socket
# (/ethdev/xstats,0 and /ethdev/stats,0): rx_lro_packets 2 (the packets
# sent), rx_too_long 0, ipackets 2 or more and ibytes at least the 2
# packets' length; and testpmd's verbose dump (rxonly) shows exactly 2
# frames longer than the MTU's, of 60000 bytes, both RTE_MBUF_F_RX_LRO and
# RTE_MBUF_F_RX_L4_CKSUM_GOOD (the device finished the TCP checksum).
#
# Argument: lro (default, as above) or nolro: testpmd without
# --enable-lro: the features are not offered, the guest's netdev has no
# TSO, its kernel segments the same sends into MSS-sized frames
# (tx_packets + the segments), the port receives them all (ipackets and
# ibytes at least theirs), rx_lro_packets and rx_too_long 0, no frame
# longer than the MTU's. (tso=0 or csum=0 with --enable-lro is no case:
# the port then has no LRO capability and testpmd cannot configure it.)

# shellcheck source=vm_lib.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "$0")")/vm_lib.sh"
mode=${1:-lro}
mac=02:76:6d:00:00:08
peermac=02:76:6d:00:00:fe
len=60000
mss4=1448
mss6=1440
case $mode in
lro)
	tso=1
	tp_args=(--enable-lro --max-lro-pkt-size=65597)
	;;
nolro)
	tso=0
	tp_args=()
	;;
*) vm_die "usage: $0 lro|nolro" ;;
esac
# the segments of each packet (IPv4: 54 bytes of headers, IPv6: 74)
segs4=$(((len - 54 + mss4 - 1) / mss4))
segs6=$(((len - 74 + mss6 - 1) / mss6))
# and their frames' bytes: each but the first repeats the headers
seg_bytes=$((2 * len + (segs4 - 1) * 54 + (segs6 - 1) * 74))

vm_setup
# every packet testpmd receives dumped (length, ol_flags)
echo "set verbose 1" > "$VM_WORK/testpmd.cmd"
tp_start rxonly "mac=$mac,mtu=1500" "${tp_args[@]}" \
	--cmdline-file="$VM_WORK/testpmd.cmd"
vm_start "tso-$mode" "$VM_TEST_DIR/guest_tso.sh" --append \
	"vmtest.tso=$tso vmtest.len=$len vmtest.mss4=$mss4 vmtest.mss6=$mss6 vmtest.peermac=$peermac"
vm_finish 150 || VM_FAILED=1
vm_expect pci_device features_csum features_tso link_up netdev_tso \
	gso_tcp4 gso_tcp6

# ---- the port's counters, from testpmd's telemetry socket ----
# (and the log flushed: a statistics print after them, once a second)
prints=$(tp_count "NIC statistics for port")
tel=$VM_WORK/telemetry.json
tp_telemetry "$tel" /ethdev/xstats,0 /ethdev/stats,0 || true
lro_pkts=$(tel_get "$tel" /ethdev/xstats,0 rx_lro_packets)
too_long=$(tel_get "$tel" /ethdev/xstats,0 rx_too_long)
ipackets=$(tel_get "$tel" /ethdev/stats,0 ipackets)
ibytes=$(tel_get "$tel" /ethdev/stats,0 ibytes)
echo "telemetry (port 0): rx_lro_packets $lro_pkts rx_too_long $too_long" \
	"ipackets $ipackets ibytes $ibytes"
for ((i = 0; i < 50; i++)); do
	[ "$(tp_count "NIC statistics for port")" -gt "$prints" ] && break
	sleep 0.1
done
# testpmd's dump of what it received: "... length=N - nb_segs=M ..." then
# "ol_flags: ..." lines; the frames longer than the MTU's (1514 bytes),
# and how many are flagged LRO and checksum good (the device finished it)
big=$(tr -d '\r' <"$TP_LOG" | awk '
	/ - length=/ { match($0, /length=[0-9]+/)
		       l = substr($0, RSTART + 7, RLENGTH - 7) + 0; next }
	/ol_flags:/ && l > 1514 { n++; s = s " " l
				  if ($0 ~ /RTE_MBUF_F_RX_LRO/ &&
				      $0 ~ /RTE_MBUF_F_RX_L4_CKSUM_GOOD/) f++ }
	/ol_flags:/ { l = 0 }
	END { printf "%d %d%s\n", n, f, s }')
read -r big_n big_lro big_lens <<<"$big"
echo "testpmd received $big_n frames longer than 1514 bytes" \
	"(${big_lens:-none}), $big_lro flagged RTE_MBUF_F_RX_LRO and" \
	"RTE_MBUF_F_RX_L4_CKSUM_GOOD"
tp_check "rx_too_long 0" [ "$too_long" = 0 ]
if [ "$mode" = lro ]; then
	tp_check "rx_lro_packets 2 (one TCP/IPv4, one TCP/IPv6)" \
		[ "$lro_pkts" = 2 ]
	tp_check "ipackets >= 2" [ "$ipackets" -ge 2 ]
	tp_check "ibytes >= 2 x $len" [ "$ibytes" -ge $((2 * len)) ]
	tp_check "2 frames of $len bytes, LRO, L4 checksum good" \
		[ "$big_n:$big_lro:$big_lens" = "2:2:$len $len" ]
else
	tp_check "rx_lro_packets 0" [ "$lro_pkts" = 0 ]
	tp_check "ipackets >= $segs4 + $segs6 segments" \
		[ "$ipackets" -ge $((segs4 + segs6)) ]
	tp_check "ibytes >= the segments' $seg_bytes bytes" \
		[ "$ibytes" -ge "$seg_bytes" ]
	tp_check "no frame longer than 1514 bytes" [ "$big_n" = 0 ]
fi
vm_done
