/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUN_LAYOUT_H
#define VUN_LAYOUT_H

/*
 * Where things are in the emulated PCI function, as a guest sees them
 * (the same layout QEMU's virtio-net-pci uses, so it is familiar):
 *
 *   BAR1 (32-bit memory, 4 KiB): MSI-X table at 0, PBA at 0x800
 *   BAR4 (64-bit prefetchable memory, 16 KiB):
 *     0x0000 common configuration   (VIRTIO_PCI_CAP_COMMON_CFG)
 *     0x1000 ISR status             (VIRTIO_PCI_CAP_ISR_CFG)
 *     0x2000 device configuration   (VIRTIO_PCI_CAP_DEVICE_CFG)
 *     0x3000 notifications, 4 bytes per queue (VIRTIO_PCI_CAP_NOTIFY_CFG)
 */

#define VUN_PCI_VENDOR		0x1af4	/* Red Hat, Inc. (virtio) */
#define VUN_PCI_DEVICE		0x1041	/* virtio 1.x network device */
#define VUN_PCI_SUBSYS_ID	0x1100
#define VUN_PCI_REVISION	0x01	/* modern-only devices have rev >= 1 */
#define VUN_PCI_CLASS		0x020000 /* Ethernet controller */

#define VUN_MSIX_BAR		1
#define VUN_MSIX_BAR_SIZE	4096
#define VUN_MSIX_TABLE_OFF	0
#define VUN_MSIX_PBA_OFF	0x800

#define VUN_VIRTIO_BAR		4
#define VUN_VIRTIO_BAR_SIZE	0x4000
#define VUN_COMMON_OFF		0x0000
#define VUN_ISR_OFF		0x1000
#define VUN_ISR_LEN		4
#define VUN_DEVCFG_OFF		0x2000
#define VUN_NOTIFY_OFF		0x3000
#define VUN_NOTIFY_MULT		4

/* Largest queue the device offers (the driver may pick smaller). */
#define VUN_QUEUE_SIZE_MAX	1024

#endif /* VUN_LAYOUT_H */
