/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUN_LAYOUT_H
#define VUN_LAYOUT_H

#include <stdint.h>

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

/*
 * The common configuration structure of VIRTIO 1.2 4.1.4.3: the fields of
 * Linux's uapi struct virtio_pci_common_cfg (which Debian 12's headers end
 * at queue_used_hi), then queue_notify_data and queue_reset. queue_reset
 * exists with VIRTIO_F_RING_RESET; queue_notify_data (with
 * VIRTIO_F_NOTIF_CONFIG_DATA, never offered) reads 0.
 */
struct vun_common_cfg {
	uint32_t device_feature_select;
	uint32_t device_feature;
	uint32_t guest_feature_select;
	uint32_t guest_feature;
	uint16_t msix_config;
	uint16_t num_queues;
	uint8_t device_status;
	uint8_t config_generation;
	uint16_t queue_select;
	uint16_t queue_size;
	uint16_t queue_msix_vector;
	uint16_t queue_enable;
	uint16_t queue_notify_off;
	uint32_t queue_desc_lo;
	uint32_t queue_desc_hi;
	uint32_t queue_avail_lo;
	uint32_t queue_avail_hi;
	uint32_t queue_used_lo;
	uint32_t queue_used_hi;
	uint16_t queue_notify_data;
	uint16_t queue_reset;
};

/* Largest queue the device offers (the driver may pick smaller). */
#define VUN_QUEUE_SIZE_MAX	1024

#endif /* VUN_LAYOUT_H */
