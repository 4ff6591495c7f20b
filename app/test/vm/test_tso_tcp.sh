#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# TCP segmentation both ways, end to end: one guest, two net_vfio_user
# devices served by one testpmd (net_vfio_user0 and 1, two sockets, two
# vfio-user-pci devices in QEMU, fixed MACs). The guest (guest_tso_tcp.sh)
# puts one interface in a second network namespace (10.0.0.1/24 and
# 10.0.0.2/24) and moves 8 MiB over TCP from the first to the second and
# back (vmtool tcpsend/tcprecv: every byte checked). testpmd forwards
# between its ports with the csum engine: IP and TCP checksums in hw and
# segmentation requested on transmit (tso set 1448 on both ports, which
# enables RTE_ETH_TX_OFFLOAD_TCP_TSO: the devices offer GUEST_TSO4/6),
# with --enable-lro --max-lro-pkt-size=65597 (the devices offer
# HOST_TSO4/6: the guest's GSO packets arrive whole, RTE_MBUF_F_RX_LRO)
# and each port's --eth-peer the MAC of the guest interface on it (the
# engine rewrites the destination MAC).
#
# Argument: gso (default): the receiving driver gets the GSO packets whole
# (virtio_net_hdr gso_type TCPV4, gso_size 1448); cut: the guest turns
# rx-gro-hw off on both netdevs (VIRTIO_NET_CTRL_GUEST_OFFLOADS without
# GUEST_TSO4/6), so the device cuts every segmentation request into
# MSS-sized segments itself; kept: as gso, both devices with rx_partial=1
# and both ports with RTE_ETH_RX_OFFLOAD_TCP_CKSUM: the guest's partial checksums
# (plain and GSO packets) reach testpmd kept (RTE_MBUF_F_RX_L4_CKSUM_NONE,
# no sum by the device: rx_csum_kept > 0 on both ports), and the csum
# engine sends them on with its TCP hw checksum request (writing the
# pseudo header's sum itself), so the receiving guest gets them partial.
# Either way the data must arrive intact; the
# guest checks its counters (see guest_tso_tcp.sh). Here, for both
# ports, from testpmd's telemetry socket: rx_lro_packets > 0 (GSO packets
# taken whole from each sender), rx_too_long 0, tx_q0_drops 0, and
# opackets (what went to the driver) below the 5794 segments of 8 MiB
# (gso) or at least those (cut); from testpmd's log, the driver
# negotiated GUEST_TSO4/6 and HOST_TSO4/6 (the device's "driver ready,
# features" line: bits 7, 8, 11, 12). The transfers' times are printed,
# never checked (TCG).
#
# Why the cut case turns the guest's offload off rather than the port's
# TSO: testpmd's "tso set" itself enables RTE_ETH_TX_OFFLOAD_TCP_TSO (it
# is what has the csum engine request segmentation), and a port without
# it must not be sent RTE_MBUF_F_TX_TCP_SEG.

# shellcheck source=vm_lib.sh source-path=SCRIPTDIR
. "$(dirname "$(readlink -f "$0")")/vm_lib.sh"
mode=${1:-gso}
mac0=02:76:6d:00:00:0a
mac1=02:76:6d:00:00:0b
bytes=$((8 * 1024 * 1024))
# its segments of 1448 bytes (MTU 1500, TCP timestamps)
segs=$(((bytes + 1447) / 1448))
secs=60
kept=0
case $mode in
gso) cut=0 ;;
cut) cut=1 ;;
kept) cut=0 kept=1 ;;
*) vm_die "usage: $0 gso|cut|kept" ;;
esac

vm_setup
sock1=$VM_WORK/vnic1.sock
# csum set and tso set want the ports stopped: testpmd has started them
# when it reads the file, and starts forwarding after it
cat > "$VM_WORK/testpmd.cmd" <<EOF
port stop all
set fwd csum
csum set ip hw 0
csum set tcp hw 0
csum set ip hw 1
csum set tcp hw 1
tso set 1448 0
tso set 1448 1
$([ "$kept" = 1 ] && printf '%s\n' "port config 0 rx_offload tcp_cksum on" \
	"port config 1 rx_offload tcp_cksum on")
port start all
show port 0 tx_offload configuration
show port 1 tx_offload configuration
show port 0 rx_offload configuration
show port 1 rx_offload configuration
EOF
devx=
[ "$kept" = 1 ] && devx=,rx_partial=1
TP_EAL_ARGS=(--vdev "net_vfio_user1,path=$sock1,mac=$mac1,mtu=1500$devx")
tp_start csum "mac=$mac0,mtu=1500$devx" --enable-lro \
	--max-lro-pkt-size=65597 \
	--eth-peer=0,$mac0 --eth-peer=1,$mac1 \
	--cmdline-file="$VM_WORK/testpmd.cmd"
echo "testpmd: and --vdev net_vfio_user1,path=$sock1,mac=$mac1,mtu=1500$devx"
# the TSO both ports must have now
for p in 0 1; do
	grep -aA1 "Tx Offloading Configuration of port $p" "$TP_LOG" |
		grep -q "TCP_TSO" ||
		{ cat "$TP_LOG"; vm_die "testpmd: no TCP_TSO on port $p"; }
	[ "$kept" = 1 ] || continue
	grep -aA1 "Rx Offloading Configuration of port $p" "$TP_LOG" |
		grep -q "TCP_CKSUM" ||
		{ cat "$TP_LOG"; vm_die "testpmd: no TCP_CKSUM on port $p"; }
done
vm_start "tso-tcp-$mode" "$VM_TEST_DIR/guest_tso_tcp.sh" --append \
	"vmtest.cut=$cut vmtest.bytes=$bytes vmtest.secs=$secs vmtest.mac0=$mac0 vmtest.mac1=$mac1" \
	--qemu-arg -device --qemu-arg \
	"{\"driver\":\"vfio-user-pci\",\"socket\":{\"type\":\"unix\",\"path\":\"$sock1\"}}"
vm_finish 240 || VM_FAILED=1
guest_checks=(find_devices netns links_up)
for i in xfer01 xfer10; do
	guest_checks+=("${i}_sent" "${i}_intact" "${i}_tx_gso" "${i}_rx_dropped")
	if [ "$cut" = 1 ]; then
		guest_checks+=("${i}_rx_cut")
	else
		guest_checks+=("${i}_rx_gso")
	fi
done
vm_expect "${guest_checks[@]}"
# the transfers' times (informational)
tr -d '\r' <"$VM_LOG" | grep -aE 'tcp(send|recv): ' | sed 's/^VMTEST INFO */guest: /'

# ---- both ports' counters, from testpmd's telemetry socket ----
for p in 0 1; do
	tel=$VM_WORK/telemetry$p.json
	tp_telemetry "$tel" "/ethdev/xstats,$p" "/ethdev/stats,$p" || continue
	x() { tel_get "$tel" "/ethdev/xstats,$p" "$1"; }
	s() { tel_get "$tel" "/ethdev/stats,$p" "$1"; }
	# what the driver negotiated (the xstat driver_features is 0 again
	# once the guest has powered off): the device's log line
	sock=$TP_SOCK
	[ "$p" = 1 ] && sock=$sock1
	feat=$(tr -d '\r' <"$TP_LOG" |
		sed -n "s|^net_vfio_user: $sock: driver ready, features \(0x[0-9a-f]*\)\$|\1|p" |
		tail -n 1)
	feat=${feat:-0}
	lro=$(x rx_lro_packets)
	kept_n=$(x rx_csum_kept)
	too_long=$(x rx_too_long)
	drops=$(x tx_q0_drops)
	echo "port $p: driver features $feat; telemetry: rx_lro_packets $lro" \
		"rx_csum_kept $kept_n rx_too_long $too_long rx_q0_packets $(x rx_q0_packets)" \
		"tx_q0_packets $(x tx_q0_packets) tx_q0_drops $drops" \
		"ipackets $(s ipackets) ibytes $(s ibytes)" \
		"opackets $(s opackets) obytes $(s obytes) oerrors $(s oerrors)"
	# GUEST_TSO4/6 (7, 8) and HOST_TSO4/6 (11, 12)
	tp_check "port $p: driver features GUEST_TSO4/6, HOST_TSO4/6" \
		[ $((feat & 0x1980)) = $((0x1980)) ]
	tp_check "port $p: rx_lro_packets > 0" [ "$lro" -gt 0 ]
	tp_check "port $p: rx_too_long 0" [ "$too_long" = 0 ]
	if [ "$kept" = 1 ]; then
		tp_check "port $p: rx_csum_kept > 0" [ "$kept_n" -gt 0 ]
	else
		tp_check "port $p: rx_csum_kept 0" [ "$kept_n" = 0 ]
	fi
	tp_check "port $p: tx_q0_drops 0" [ "$drops" = 0 ]
	# the frames it put in the driver's receive queue (one transfer's
	# data, the other's ACKs): GSO packets whole, or every segment
	opk=$(s opackets)
	if [ "$cut" = 1 ]; then
		tp_check "port $p: opackets >= the $segs segments (cut)" \
			[ "$opk" -ge "$segs" ]
	else
		tp_check "port $p: opackets < the $segs segments (GSO whole)" \
			[ "$opk" -lt "$segs" ]
	fi
done
vm_done
