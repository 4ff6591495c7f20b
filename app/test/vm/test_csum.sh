#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Checksum offload with a Linux guest: its virtio_net negotiates
# VIRTIO_NET_F_CSUM and leaves the TCP/UDP checksums of what it sends to
# the device, which finishes them. Debian's dpdk-testpmd serves
# net_vfio_user in 5tswap mode (each frame sent back with its addresses
# and ports swapped, which keeps a right checksum right and a wrong one
# wrong); the guest's UDP datagrams must all come back (guest_csum.sh).
# Argument: devargs for the device (e.g. csum=0: the guest then sums in
# software; the features must not be offered).

. "$(dirname "$(readlink -f "$0")")/vm_lib.sh"
extra=${1:-}
mac=02:76:6d:00:00:01
csum=1
case ,$extra, in *,csum=0,*) csum=0 ;; esac

vm_setup
tp_start 5tswap "mac=$mac,mtu=1500${extra:+,$extra}"
vm_start csum "$VM_TEST_DIR/guest_csum.sh" --append "vmtest.csum=$csum"
vm_finish 150 || VM_FAILED=1
vm_expect pci_device features_csum link_up peer_arp udp_echo_small udp_echo_odd \
	udp_echo_full xdp_attach udp_echo_xdp xdp_detach udp_no_csum_errors
vm_done
