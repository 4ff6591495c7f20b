# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Guest script of test_basic.sh: the device is found and bound to the stock
# drivers, MAC/MTU are the devargs', the link comes up (10G full duplex),
# ping and a payload check work, and interrupts (MSI-X, or INTx with
# pci=nomsi) are counted.
# Kernel command line: vmtest.mac= vmtest.mtu= vmtest.irq=msix|intx

. /vmtest/guest_lib.sh
mac=$(vt_param mac "")
mtu=$(vt_param mtu 1500)
irq=$(vt_param irq msix)

vt_check pci_device g_find_dev
vt_info "PCI function $PCIDEV, interface $IF"
vt_check pci_driver_virtio_pci \
	[ "$(basename "$(readlink "$PCIDEV/driver")")" = virtio-pci ]
vt_check virtio_driver_virtio_net \
	[ "$(basename "$(readlink "$PCIDEV"/virtio*/driver)")" = virtio_net ]
vt_info "virtio features $(cat "$PCIDEV"/virtio*/features)"
vt_check mac [ "$(cat "/sys/class/net/$IF/address")" = "$mac" ]
vt_check mtu [ "$(cat "/sys/class/net/$IF/mtu")" = "$mtu" ]
vt_check link_up g_net_up
# VIRTIO_NET_F_SPEED_DUPLEX: the device's 10G full duplex, as ethtool says
vt_check speed [ "$(cat "/sys/class/net/$IF/speed")" = 10000 ]
vt_check duplex [ "$(cat "/sys/class/net/$IF/duplex")" = full ]

case $irq in
msix)
	vt_check irq_mode_msix grep -q "virtio[0-9]*-input.0" /proc/interrupts
	pat='virtio[0-9]+-(input|output)'
	;;
intx)
	vt_check irq_mode_intx sh -c \
		'! grep -q "virtio[0-9]*-" /proc/interrupts && grep -q "virtio[0-9]" /proc/interrupts'
	pat='virtio[0-9]+'
	;;
esac
before=$(vt_irqs "$pat")
vt_check ping g_ping 5
vt_check echo_payload vmtool echo "$PEER_IP" 200 1000 8
after=$(vt_irqs "$pat")
grep virtio /proc/interrupts | g_show
vt_info "interrupts matching '$pat': $before before the traffic, $after after"
vt_check interrupts_grow [ "$after" -gt "$before" ]
