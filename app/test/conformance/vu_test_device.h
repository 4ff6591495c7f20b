/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_TEST_DEVICE_H
#define VU_TEST_DEVICE_H

/*
 * What vu_test_device describes, shared by the device and the conformance
 * test (which checks every value through the protocol only).
 */

#define VU_TD_NUM_REGIONS	10
#define VU_TD_NUM_IRQS		5

/* Region indexes. */
#define VU_TD_R_BAR0		0
#define VU_TD_R_BAR2		2
#define VU_TD_R_BAR4		4
#define VU_TD_R_CFG		7
#define VU_TD_R_DEVSPEC		9

#define VU_TD_BAR0_SIZE		4096
#define VU_TD_BAR2_SIZE		(64 * 1024)
#define VU_TD_BAR4_SIZE		4096
#define VU_TD_CFG_SIZE		256
#define VU_TD_R9_SIZE		4096

/* BAR2 lives at this offset of its memfd (so the offset matters). */
#define VU_TD_BAR2_FD_OFFSET	(64 * 1024)
#define VU_TD_BAR2_FD_SIZE	(VU_TD_BAR2_FD_OFFSET + VU_TD_BAR2_SIZE)
#define VU_TD_BAR2_SPARSE0_OFF	0
#define VU_TD_BAR2_SPARSE0_SIZE	(16 * 1024)
#define VU_TD_BAR2_SPARSE1_OFF	(32 * 1024)
#define VU_TD_BAR2_SPARSE1_SIZE	(16 * 1024)
#define VU_TD_BAR2_TYPE		0x8086
#define VU_TD_BAR2_SUBTYPE	2

#define VU_TD_BAR4_IO0_OFF	0x0
#define VU_TD_BAR4_IO1_OFF	0x100
#define VU_TD_BAR4_IO1_DATA	0x1234

#define VU_TD_R9_TYPE		0x8086
#define VU_TD_R9_SUBTYPE	1

#define VU_TD_VENDOR_ID		0x1b36
#define VU_TD_DEVICE_ID		0x11f0
#define VU_TD_CLASS		0xff0000u	/* unassigned class */

#define VU_TD_MSIX_COUNT	8

#endif /* VU_TEST_DEVICE_H */
