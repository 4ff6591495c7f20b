# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Guest script of test_csum.sh: virtio_net negotiates the checksum
# features, and UDP datagrams the kernel leaves partial checksums in
# (offloaded to the device) come back from a reflector intact: the
# kernel delivers none whose checksum is wrong, so every echo says the
# device finished the checksum right. Then a native XDP program attaches
# (the guest turns GUEST_CSUM off first) and traffic goes on. Kernel command line: vmtest.csum=1
# (expect the features) or 0 (expect them not).

. /vmtest/guest_lib.sh
csum=$(vt_param csum 1)

vt_check pci_device g_find_dev
feat=$(cat "$PCIDEV"/virtio*/features)
vt_info "virtio features $feat"
# the sysfs string is bit 0 first: VIRTIO_NET_F_CSUM, then _GUEST_CSUM
case $csum in
1) vt_check features_csum [ "${feat%"${feat#??}"}" = 11 ] ;;
*) vt_check features_csum [ "${feat%"${feat#??}"}" = 00 ] ;;
esac
vt_check link_up g_net_up
# the reflector (testpmd's 5tswap) answers no ARP: a static neighbour
vt_check peer_arp vmtool arp "$IF" "$PEER_IP" 02:76:6d:00:00:fe
vt_check udp_echo_small vmtool udpecho "$PEER_IP" 7 200 18
vt_check udp_echo_odd vmtool udpecho "$PEER_IP" 9 200 1001
vt_check udp_echo_full vmtool udpecho "$PEER_IP" 5001 200 1472
# native XDP with GUEST_CSUM negotiated: Linux turns the offload off
# first (VIRTIO_NET_CTRL_GUEST_OFFLOADS), refused without that command
vt_check xdp_attach vmtool xdp "$IF" on
vt_check udp_echo_xdp vmtool udpecho "$PEER_IP" 5002 100 999
vt_check xdp_detach vmtool xdp "$IF" off
grep "^Udp:" /proc/net/snmp | g_show
# the UDP checksum errors the kernel counted (InCsumErrors): none
udp_csum_errors() {
	awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 }
		       else print $c["InCsumErrors"] }' /proc/net/snmp
}
vt_info "UDP InCsumErrors: $(udp_csum_errors)"
vt_check udp_no_csum_errors [ "$(udp_csum_errors)" = 0 ]
