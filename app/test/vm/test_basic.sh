#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# A Linux guest's stock virtio-pci/virtio_net on net_vfio_user (served by
# Debian's dpdk-testpmd in icmpecho mode): device ids and driver binding,
# MAC and MTU from the devargs, link up, ping, payload check, interrupt
# counters growing. Argument: msix (default), intx (guest pci=nomsi), or
# viommu-strict / viommu-lazy: MSI-X with the device behind QEMU's
# emulated Intel IOMMU and the guest's IOMMU on (intel_iommu=on, strict or
# lazy unmaps): every ring and buffer page is a DMA_MAP of its own at an
# IOVA that is not its guest-physical address (issue 16).

. "$(dirname "$(readlink -f "$0")")/vm_lib.sh"
mode=${1:-msix}
mac=02:76:6d:00:00:01
mtu=1500
irq=$mode
case $mode in
viommu-strict | viommu-lazy)
	irq=msix
	export VM_VIOMMU=1
	;;
esac
[ "$mode" = intx ] && mtu=1400	# a non-default MTU once as well
append="vmtest.mac=$mac vmtest.mtu=$mtu vmtest.irq=$irq"
[ "$mode" = intx ] && append="$append pci=nomsi"
[ "$mode" = viommu-strict ] && append="$append intel_iommu=on iommu.strict=1"
[ "$mode" = viommu-lazy ] && append="$append intel_iommu=on iommu.strict=0"
# With interrupt remapping on, a boot-time timer check that misses its
# ticks (vCPUs starved on a busy 2-core host) panics the kernel ("timer
# doesn't work through Interrupt-remapped IO-APIC"): skip that check.
case $mode in viommu-*) append="$append no_timer_check" ;; esac

vm_setup
# VM_TP_DEVARGS: more net_vfio_user devargs (e.g. ring_copy=1)
tp_start icmpecho "mac=$mac,mtu=$mtu${VM_TP_DEVARGS:+,$VM_TP_DEVARGS}"
vm_start "$mode" "$VM_TEST_DIR/guest_basic.sh" --append "$append"
vm_finish 150 || VM_FAILED=1
vm_expect pci_device pci_driver_virtio_pci virtio_driver_virtio_net mac mtu \
	link_up speed duplex "irq_mode_$irq" ping echo_payload interrupts_grow
# VM_COUNT_SHADOW=1 (test_viommu_hugetlbfs.sh): how many queue starts
# ran on shadow rings. Without ring_copy it depends on the pages the guest
# got (a ring whose pages happen to be in file order needs none): a count;
# with it (VM_MIN_SHADOW=3: both data queues and the control queue), a
# check.
if [ "${VM_COUNT_SHADOW:-0}" = 1 ]; then
	n=$(tp_count "rings through a shadow copy")
	echo "net_vfio_user: $n virtqueue start(s) on shadow rings"
	if [ "$n" -lt "${VM_MIN_SHADOW:-0}" ]; then
		echo "fewer than $VM_MIN_SHADOW on shadow rings"
		VM_FAILED=1
	fi
fi
vm_done
