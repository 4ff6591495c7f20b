/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * net_vfio_user device model, seen by a driver: PCI config space, BARs,
 * capabilities, MSI-X table, feature negotiation, device configuration,
 * resets, and the ethdev link that follows the driver.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_bus_vdev.h>

#include "nic_common.h"
#include "vun.h"

#define PCI_CFG_DATA offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)
#define V1 NIC_F(VIRTIO_F_VERSION_1)

static uint32_t
le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* ---- config space ---- */

static void
test_config_ids(void **state)
{
	struct nic_drv *d = drv_open();
	uint8_t cap = d->cfg[RTE_VFIO_USER_PCI_CAPABILITY_LIST];

	(void)state;
	assert_int_equal(cfg_r16(d, RTE_VFIO_USER_PCI_VENDOR_ID), 0x1af4);
	/* 0x1040 + virtio device id 1 (network): a modern-only device */
	assert_int_equal(cfg_r16(d, RTE_VFIO_USER_PCI_DEVICE_ID), 0x1041);
	assert_true(cfg_r8(d, RTE_VFIO_USER_PCI_REVISION_ID) >= 1);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_REVISION_ID), 0x01);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_CLASS_PROG), 0x00);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_CLASS_PROG + 1), 0x00);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_CLASS_PROG + 2), 0x02);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_HEADER_TYPE), 0x00);
	assert_int_equal(cfg_r16(d, RTE_VFIO_USER_PCI_SUBSYSTEM_VENDOR_ID), 0x1af4);
	assert_int_equal(cfg_r16(d, RTE_VFIO_USER_PCI_SUBSYSTEM_ID), 0x1100);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_INTERRUPT_PIN), 1);
	assert_true(cfg_r16(d, RTE_VFIO_USER_PCI_STATUS) &
		    RTE_VFIO_USER_PCI_STATUS_CAP_LIST);
	assert_true(cap >= 0x40 && (cap & 3) == 0);

	/* read-only fields refuse writes */
	cfg_w16(d, RTE_VFIO_USER_PCI_VENDOR_ID, 0x1234);
	cfg_w16(d, RTE_VFIO_USER_PCI_DEVICE_ID, 0x5678);
	cfg_w32(d, RTE_VFIO_USER_PCI_REVISION_ID, 0xffffffff);
	cfg_w8(d, RTE_VFIO_USER_PCI_HEADER_TYPE, 0x80);
	cfg_w32(d, RTE_VFIO_USER_PCI_SUBSYSTEM_VENDOR_ID, 0);
	cfg_w8(d, RTE_VFIO_USER_PCI_CAPABILITY_LIST, 0);
	cfg_w8(d, RTE_VFIO_USER_PCI_INTERRUPT_PIN, 4);
	cfg_w16(d, RTE_VFIO_USER_PCI_STATUS, 0xffff);
	assert_int_equal(cfg_r32(d, RTE_VFIO_USER_PCI_VENDOR_ID), 0x10411af4);
	assert_int_equal(cfg_r32(d, RTE_VFIO_USER_PCI_REVISION_ID), 0x02000001);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_HEADER_TYPE), 0);
	assert_int_equal(cfg_r32(d, RTE_VFIO_USER_PCI_SUBSYSTEM_VENDOR_ID),
			 0x11001af4);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_CAPABILITY_LIST), cap);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_INTERRUPT_PIN), 1);
	assert_true(cfg_r16(d, RTE_VFIO_USER_PCI_STATUS) &
		    RTE_VFIO_USER_PCI_STATUS_CAP_LIST);
	/* a virtio capability's type and BAR are the device's (but for the
	 * PCI_CFG window's BAR, which the driver picks) */
	for (uint8_t p = cap; p != 0; p = cfg_r8(d, p + 1)) {
		uint8_t type, bar, next;

		if (cfg_r8(d, p) != RTE_VFIO_USER_PCI_CAP_ID_VNDR)
			continue;
		type = cfg_r8(d, p + 3);
		bar = cfg_r8(d, p + 4);
		next = cfg_r8(d, p + 1);
		cfg_w8(d, p + 3, 0x7f);
		cfg_w8(d, p + 4, 0x02);
		cfg_w8(d, p + 1, 0x00);
		assert_int_equal(cfg_r8(d, p + 3), type);
		if (type != VIRTIO_PCI_CAP_PCI_CFG)
			assert_int_equal(cfg_r8(d, p + 4), bar);
		assert_int_equal(cfg_r8(d, p), RTE_VFIO_USER_PCI_CAP_ID_VNDR);
		assert_int_equal(cfg_r8(d, p + 1), next);
	}
	/* writable ones take writes */
	cfg_w8(d, RTE_VFIO_USER_PCI_INTERRUPT_LINE, 0x0b);
	assert_int_equal(cfg_r8(d, RTE_VFIO_USER_PCI_INTERRUPT_LINE), 0x0b);
	assert_int_equal(cfg_r16(d, RTE_VFIO_USER_PCI_COMMAND) &
			 (RTE_VFIO_USER_PCI_CMD_MEMORY | RTE_VFIO_USER_PCI_CMD_MASTER),
			 RTE_VFIO_USER_PCI_CMD_MEMORY | RTE_VFIO_USER_PCI_CMD_MASTER);
	drv_close(d);
}

/* Size a BAR: write all-ones, read the mask back, restore. */
static uint32_t
bar_probe(struct nic_drv *d, unsigned int bar)
{
	uint32_t off = RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 4 * bar;
	uint32_t old = cfg_r32(d, off), v;

	cfg_w32(d, off, 0xffffffff);
	v = cfg_r32(d, off);
	cfg_w32(d, off, old);
	return v;
}

static void
test_bar_sizing(void **state)
{
	struct nic_drv *d = drv_open();
	struct rte_vfio_user_client_region reg;
	struct vfio_user_device_info info = { .argsz = sizeof(info) };
	uint32_t lo, hi;
	uint64_t mask;

	(void)state;
	assert_int_equal(rte_vfio_user_client_device_info(d->c, &info), 0);
	assert_true(info.flags & VFIO_USER_DEVICE_FLAGS_PCI);
	assert_true(info.flags & VFIO_USER_DEVICE_FLAGS_RESET);
	assert_true(info.num_regions >= VFIO_USER_PCI_NUM_REGIONS);
	assert_true(info.num_irqs >= VFIO_USER_PCI_NUM_IRQS);

	/* BAR1: 32-bit memory, not prefetchable, 4 KiB */
	assert_int_equal(bar_probe(d, 1), 0xfffff000);
	/* BAR4/BAR5: 64-bit prefetchable memory, 16 KiB */
	cfg_w32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 16, 0xffffffff);
	cfg_w32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 20, 0xffffffff);
	lo = cfg_r32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 16);
	hi = cfg_r32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 20);
	assert_int_equal(lo & 0xf, 0x4 | 0x8);	/* 64-bit type, prefetchable */
	mask = (uint64_t)hi << 32 | (lo & ~0xfu);
	assert_int_equal(~mask + 1, 16384);
	/* unimplemented BARs and the ROM stay zero */
	assert_int_equal(bar_probe(d, 0), 0);
	assert_int_equal(bar_probe(d, 2), 0);
	assert_int_equal(bar_probe(d, 3), 0);
	cfg_w32(d, RTE_VFIO_USER_PCI_ROM_ADDRESS, 0xffffffff);
	assert_int_equal(cfg_r32(d, RTE_VFIO_USER_PCI_ROM_ADDRESS), 0);

	/* placing them */
	cfg_w32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 4, 0xfe001000);
	cfg_w32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 16, 0xfe104000);
	cfg_w32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 20, 0x00000080);
	assert_int_equal(cfg_r32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 4),
			 0xfe001000);
	assert_int_equal(cfg_r32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 16),
			 0xfe10400c);
	assert_int_equal(cfg_r32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 20), 0x80);

	/* the regions match the BARs */
	assert_int_equal(rte_vfio_user_client_region_info(d->c, 1, &reg), 0);
	assert_int_equal(reg.size, 4096);
	assert_true(reg.flags & VFIO_USER_REGION_INFO_FLAG_READ);
	assert_true(reg.flags & VFIO_USER_REGION_INFO_FLAG_WRITE);
	/* read whole, as a client may (the kernel's vfio-pci allows it):
	 * the MSI-X table (every vector masked) and PBA among zeros */
	{
		uint8_t *bar1 = malloc(4096);

		assert_non_null(bar1);
		memset(bar1, 0xaa, 4096);
		bar_read(d, 1, 0, bar1, 4096);
		for (uint32_t v = 0; v < NIC_NVEC; v++)
			assert_int_equal(le32_at(bar1 + 16 * v + 12), 1);
		for (uint32_t i = NIC_NVEC * 16; i < 4096; i++)
			assert_int_equal(bar1[i], 0);
		free(bar1);
	}
	assert_int_equal(rte_vfio_user_client_region_info(d->c, 4, &reg), 0);
	assert_int_equal(reg.size, 16384);
	/* the virtio BAR read whole: each area as read on its own */
	{
		uint8_t *bar4 = malloc(16384);
		struct virtio_net_config nc;

		assert_non_null(bar4);
		memset(bar4, 0xaa, 16384);
		bar_read(d, NIC_BAR, 0, bar4, 16384);
		assert_int_equal(bar4[d->common +
				      offsetof(struct virtio_pci_common_cfg,
					       num_queues)],
				 cc_r16(d, CC(num_queues)) & 0xff);
		drv_read_netcfg(d, &nc);
		assert_memory_equal(bar4 + d->devcfg, &nc, sizeof(nc));
		assert_int_equal(bar4[0x1800], 0);	/* a hole */
		assert_int_equal(bar4[16383], 0);
		free(bar4);
	}
	assert_int_equal(rte_vfio_user_client_region_info(d->c,
			 VFIO_USER_PCI_CONFIG_REGION_INDEX, &reg), 0);
	assert_true(reg.size >= 256);
	for (unsigned int i = 0; i < 6; i++) {
		if (i == 1 || i == 4)
			continue;
		assert_int_equal(rte_vfio_user_client_region_info(d->c, i, &reg), 0);
		assert_int_equal(reg.size, 0);
	}
	/* interrupts: INTx, MSI-X, ERR (never signalled: count 0 makes
	 * QEMU warn at every start), REQ */
	{
		static const uint32_t count[] = { 1, 0, NIC_NVEC, 1, 1 };

		for (uint32_t i = 0; i < RTE_DIM(count); i++) {
			struct vfio_user_irq_info irq = { .argsz = sizeof(
								  irq) };

			assert_int_equal(rte_vfio_user_client_irq_info(d->c, i,
								       &irq),
					 0);
			assert_int_equal(irq.count, count[i]);
		}
	}
	drv_close(d);
}

static void
test_cap_chain(void **state)
{
	struct nic_drv *d = drv_open();
	const uint8_t *cfg = d->cfg;
	bool seen[256] = { false };
	int found[VIRTIO_PCI_CAP_PCI_CFG + 1] = { 0 }, msix = 0, pm = 0, n = 0;
	uint8_t p = cfg[RTE_VFIO_USER_PCI_CAPABILITY_LIST];

	(void)state;
	while (p != 0) {
		const uint8_t *c = &cfg[p];

		assert_true(p >= 0x40 && (p & 3) == 0);
		assert_false(seen[p]);		/* no loop */
		seen[p] = true;
		assert_true(++n < 48);
		if (c[0] == RTE_VFIO_USER_PCI_CAP_ID_MSIX) {
			uint16_t ctl;
			uint32_t tbl = le32_at(c + RTE_VFIO_USER_PCI_MSIX_TABLE);
			uint32_t pba = le32_at(c + RTE_VFIO_USER_PCI_MSIX_PBA);

			memcpy(&ctl, c + RTE_VFIO_USER_PCI_MSIX_FLAGS, 2);
			assert_int_equal((ctl & RTE_VFIO_USER_PCI_MSIX_FLAGS_QSIZE) + 1,
					 2 * NIC_QUEUES + 2);
			assert_int_equal(tbl & 7, NIC_MSIX_BAR);
			assert_int_equal(tbl & ~7u, 0);
			assert_int_equal(pba & 7, NIC_MSIX_BAR);
			assert_int_equal(pba & ~7u, 0x800);
			/* table and PBA inside the 4 KiB BAR, apart */
			assert_true(NIC_NVEC * 16 <= 0x800);
			msix++;
		} else if (c[0] == RTE_VFIO_USER_PCI_CAP_ID_VNDR) {
			uint8_t type = c[offsetof(struct virtio_pci_cap, cfg_type)];
			uint8_t len = c[offsetof(struct virtio_pci_cap, cap_len)];
			uint32_t off = le32_at(c + offsetof(struct virtio_pci_cap, offset));
			uint32_t length = le32_at(c + offsetof(struct virtio_pci_cap, length));
			uint8_t bar = c[offsetof(struct virtio_pci_cap, bar)];

			assert_true(len >= sizeof(struct virtio_pci_cap));
			assert_true(p + len <= 256);
			assert_true(type >= VIRTIO_PCI_CAP_COMMON_CFG &&
				    type <= VIRTIO_PCI_CAP_PCI_CFG);
			found[type]++;
			if (type != VIRTIO_PCI_CAP_PCI_CFG) {
				assert_int_equal(bar, NIC_BAR);
				assert_true((uint64_t)off + length <= 16384);
			}
			switch (type) {
			case VIRTIO_PCI_CAP_COMMON_CFG:
				assert_int_equal(off, 0x0000);
				/* to queue_reset (VIRTIO 1.2 4.1.4.3) */
				assert_int_equal(length,
					sizeof(struct virtio_pci_common_cfg) +
						4);
				break;
			case VIRTIO_PCI_CAP_NOTIFY_CFG:
				assert_true(len >= sizeof(struct virtio_pci_notify_cap));
				assert_int_equal(off, 0x3000);
				assert_int_equal(le32_at(c + offsetof(struct
					virtio_pci_notify_cap, notify_off_multiplier)), 4);
				/* a doorbell for every queue */
				assert_true(length >= 4u * NIC_NVQS);
				break;
			case VIRTIO_PCI_CAP_ISR_CFG:
				assert_int_equal(off, 0x1000);
				assert_true(length >= 1);
				break;
			case VIRTIO_PCI_CAP_DEVICE_CFG:
				assert_int_equal(off, 0x2000);
				assert_true(length >= offsetof(struct virtio_net_config,
							       speed));
				break;
			case VIRTIO_PCI_CAP_PCI_CFG:
				assert_true(len >= sizeof(struct virtio_pci_cfg_cap));
				break;
			}
		} else if (c[0] == RTE_VFIO_USER_PCI_CAP_ID_PM) {
			/* PCI PM 1.2, D0 and D3hot, no PME, no data;
			 * No_Soft_Reset 0: D3hot to D0 resets */
			assert_int_equal(le32_at(c + RTE_VFIO_USER_PCI_PM_PMC) &
						 0xffff,
					 0x0003);
			assert_int_equal(le32_at(c + RTE_VFIO_USER_PCI_PM_CTRL),
					 0);
			pm++;
		} else {
			fail_msg("unexpected capability 0x%02x at 0x%02x", c[0], p);
		}
		p = c[1];
	}
	assert_int_equal(msix, 1);
	assert_int_equal(pm, 1);
	for (int t = VIRTIO_PCI_CAP_COMMON_CFG; t <= VIRTIO_PCI_CAP_PCI_CFG; t++)
		assert_int_equal(found[t], 1);
	/* the queues' doorbells fit in the notify area */
	for (uint16_t q = 0; q < NIC_NVQS; q++) {
		cc_w16(d, CC(queue_select), q);
		assert_true(cc_r16(d, CC(queue_notify_off)) * 4u + 2 <= 4u * NIC_NVQS);
	}
	assert_int_equal(cc_r16(d, CC(num_queues)), NIC_NVQS);
	drv_close(d);
}

/* ---- VIRTIO_PCI_CAP_PCI_CFG ---- */

static void
window(struct nic_drv *d, uint8_t bar, uint32_t off, uint32_t len)
{
	cfg_w8(d, d->pcicfg_cap + offsetof(struct virtio_pci_cap, bar), bar);
	cfg_w32(d, d->pcicfg_cap + offsetof(struct virtio_pci_cap, offset), off);
	cfg_w32(d, d->pcicfg_cap + offsetof(struct virtio_pci_cap, length), len);
}

static void
test_pci_cfg_window(void **state)
{
	struct nic_drv *d = drv_open();
	uint32_t data = d->pcicfg_cap + PCI_CFG_DATA, v;

	(void)state;
	/* read a common-cfg field through it */
	window(d, NIC_BAR, CC(num_queues), 2);
	assert_int_equal(cfg_r16(d, data), NIC_NVQS);
	/* write device_feature_select through it, read device_feature */
	window(d, NIC_BAR, CC(device_feature_select), 4);
	cfg_w32(d, data, 1);
	assert_int_equal(cc_r32(d, CC(device_feature_select)), 1);
	window(d, NIC_BAR, CC(device_feature), 4);
	assert_int_equal(cfg_r32(d, data), (uint32_t)(NIC_DEV_OFFERED >> 32));
	cc_w32(d, CC(device_feature_select), 0);
	assert_int_equal(cfg_r32(d, data), (uint32_t)NIC_DEV_OFFERED);
	/* device status, one byte */
	window(d, NIC_BAR, CC(device_status), 1);
	cfg_w8(d, data, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(drv_status(d), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(cfg_r8(d, data), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	/* device configuration: the MAC's first bytes */
	window(d, NIC_BAR, d->devcfg, 4);
	v = cfg_r32(d, data);
	assert_int_equal(v, 0xaa000002);

	/* windows that are not valid do nothing */
	cc_w16(d, CC(msix_config), 0xffff);
	window(d, NIC_MSIX_BAR, CC(msix_config), 2);	/* wrong BAR */
	cfg_w16(d, data, 1);
	window(d, NIC_BAR, CC(msix_config), 3);		/* bad length */
	cfg_w16(d, data, 1);
	window(d, NIC_BAR, CC(msix_config) + 1, 2);	/* unaligned */
	cfg_w16(d, data, 1);
	window(d, NIC_BAR, 0xfffffffe, 2);		/* wraps */
	cfg_w16(d, data, 1);
	(void)cfg_r16(d, data);
	window(d, NIC_BAR, 16384, 4);			/* past the BAR */
	cfg_w32(d, data, 1);
	(void)cfg_r32(d, data);
	assert_int_equal(cc_r16(d, CC(msix_config)), 0xffff);
	/* and a valid one still works */
	window(d, NIC_BAR, CC(msix_config), 2);
	cfg_w16(d, data, 1);
	assert_int_equal(cc_r16(d, CC(msix_config)), 1);
	cc_w8(d, CC(device_status), 0);
	drv_close(d);
}

/* ---- MSI-X table ---- */

static void
test_msix_table(void **state)
{
	struct nic_drv *d = drv_open();
	uint32_t v;
	uint64_t pba = ~0ULL;

	(void)state;
	for (uint32_t k = 0; k < NIC_NVEC; k++) {
		uint32_t e = k * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE;

		bar_read(d, NIC_MSIX_BAR, e + 12, &v, 4);
		assert_int_equal(v, RTE_VFIO_USER_PCI_MSIX_ENTRY_CTRL_MASKBIT);
		v = 0xfee00000 + k * 0x1000;
		bar_write(d, NIC_MSIX_BAR, e, &v, 4);
		v = 0x4000 + k;
		bar_write(d, NIC_MSIX_BAR, e + 8, &v, 4);
		v = 0;		/* unmask */
		bar_write(d, NIC_MSIX_BAR, e + 12, &v, 4);
		bar_read(d, NIC_MSIX_BAR, e + 12, &v, 4);
		assert_int_equal(v, 0);
		bar_read(d, NIC_MSIX_BAR, e, &v, 4);
		assert_int_equal(v, 0xfee00000 + k * 0x1000);
		bar_read(d, NIC_MSIX_BAR, e + 8, &v, 4);
		assert_int_equal(v, 0x4000 + k);
		v = 0xffffffff;	/* mask; the reserved bits stay 0 */
		bar_write(d, NIC_MSIX_BAR, e + 12, &v, 4);
		bar_read(d, NIC_MSIX_BAR, e + 12, &v, 4);
		assert_int_equal(v, RTE_VFIO_USER_PCI_MSIX_ENTRY_CTRL_MASKBIT);
	}
	bar_read(d, NIC_MSIX_BAR, 0x800, &pba, 8);
	assert_int_equal(pba & ((1u << NIC_NVEC) - 1), 0);
	/* between table and PBA: zeros, writes ignored */
	v = 0x12345678;
	bar_write(d, NIC_MSIX_BAR, 0x400, &v, 4);
	bar_read(d, NIC_MSIX_BAR, 0x400, &v, 4);
	assert_int_equal(v, 0);
	/* the PBA is read-only */
	pba = ~0ULL;
	bar_write(d, NIC_MSIX_BAR, 0x800, &pba, 8);
	bar_read(d, NIC_MSIX_BAR, 0x800, &pba, 8);
	assert_int_equal(pba & ((1u << NIC_NVEC) - 1), 0);
	/* the function keeps its state across clients (vfio-user "Client
	 * Disconnection"): every vector is masked now, and the table driven,
	 * so the next driver would get no MSI-X until it unmasks them. A
	 * function reset puts the table back as it was. */
	assert_int_equal(rte_vfio_user_client_reset(d->c), 0);
	bar_read(d, NIC_MSIX_BAR, 12, &v, 4);
	assert_int_equal(v, RTE_VFIO_USER_PCI_MSIX_ENTRY_CTRL_MASKBIT);
	drv_close(d);
}

/* ---- features ---- */

static void
test_features(void **state)
{
	struct nic_drv *d = drv_open();
	const uint8_t ok = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		VIRTIO_CONFIG_S_FEATURES_OK;

	(void)state;
	assert_int_equal(drv_device_features(d), NIC_DEV_OFFERED);
	cc_w32(d, CC(device_feature_select), 2);
	assert_int_equal(cc_r32(d, CC(device_feature)), 0);

	/* VERSION_1 alone: a working minimal driver */
	assert_int_equal(drv_negotiate(d, V1), ok);
	cc_w32(d, CC(guest_feature_select), 0);
	assert_int_equal(cc_r32(d, CC(guest_feature)), 0);
	cc_w32(d, CC(guest_feature_select), 1);
	assert_int_equal(cc_r32(d, CC(guest_feature)), 1);
	/* features are frozen once FEATURES_OK is set */
	cc_w32(d, CC(guest_feature), 0);
	assert_int_equal(cc_r32(d, CC(guest_feature)), 1);
	cc_w32(d, CC(guest_feature_select), 0);
	cc_w32(d, CC(guest_feature), (uint32_t)NIC_OFFERED);
	assert_int_equal(cc_r32(d, CC(guest_feature)), 0);

	/* everything offered */
	assert_int_equal(drv_negotiate(d, NIC_DEV_OFFERED), ok);

	/* a feature not offered: FEATURES_OK does not stick */
	assert_int_equal(drv_negotiate(d, NIC_OFFERED |
			 NIC_F(VIRTIO_NET_F_GUEST_TSO4)),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	assert_int_equal(drv_negotiate(d,
				       V1 | NIC_F(38) /* NOTIFICATION_DATA */),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	assert_int_equal(drv_negotiate(d, V1 | NIC_F(62) /* STANDBY */),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	/* ... nor DRIVER_OK after it */
	cc_w8(d, CC(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE |
	      VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_false(drv_status(d) & VIRTIO_CONFIG_S_DRIVER_OK);

	/* no VERSION_1: a legacy driver is refused */
	assert_int_equal(drv_negotiate(d, NIC_F(VIRTIO_NET_F_MAC)),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	assert_int_equal(drv_negotiate(d, 0),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);

	/* and after all that, a good negotiation still works */
	assert_int_equal(drv_negotiate(d, V1 | NIC_F(VIRTIO_NET_F_MAC)), ok);
	cc_w8(d, CC(device_status), 0);
	drv_close(d);
}

/* ---- device configuration ---- */

static void
test_device_config(void **state)
{
	static const uint8_t mac[6] = NIC_MAC;
	struct nic_drv *d = drv_open();
	struct virtio_net_config c, c2;
	uint8_t gen, isr;
	uint8_t junk[6] = { 1, 2, 3, 4, 5, 6 };

	(void)state;
	drv_init(d, V1 | NIC_F(VIRTIO_NET_F_MAC) | NIC_F(VIRTIO_NET_F_MTU) |
		 NIC_F(VIRTIO_NET_F_STATUS), 2);
	drv_read_netcfg(d, &c);
	assert_memory_equal(c.mac, mac, 6);
	assert_int_equal(c.mtu, NIC_MTU);
	assert_int_equal(c.max_virtqueue_pairs, NIC_QUEUES);
	assert_int_equal(c.status & VIRTIO_NET_S_LINK_UP, VIRTIO_NET_S_LINK_UP);
	/* read-only */
	bar_write(d, NIC_BAR, d->devcfg, junk, 6);
	drv_read_netcfg(d, &c2);
	assert_memory_equal(c2.mac, mac, 6);

	/* the port stops: link down, a configuration change interrupt on the
	 * config vector, a new generation, ISR bit 1 */
	gen = cc_r8(d, CC(config_generation));
	drv_irqs_clear(d);
	bar_read(d, NIC_BAR, d->isr, &isr, 1);
	nic_port_stop();
	assert_true(NIC_WAIT(drv_irqs(d, 0) >= 1, 2000));
	drv_read_netcfg(d, &c);
	assert_int_equal(c.status & VIRTIO_NET_S_LINK_UP, 0);
	assert_int_not_equal(cc_r8(d, CC(config_generation)), gen);
	/* the ISR is its first byte: reading the next one clears nothing */
	bar_read(d, NIC_BAR, d->isr + 1, &isr, 1);
	assert_int_equal(isr, 0);
	bar_read(d, NIC_BAR, d->isr, &isr, 1);
	assert_true(isr & VIRTIO_PCI_ISR_CONFIG);
	bar_read(d, NIC_BAR, d->isr, &isr, 1);	/* reading cleared it */
	assert_int_equal(isr, 0);
	/* no queue interrupt for it */
	for (uint16_t v = 1; v < NIC_NVEC; v++)
		assert_int_equal(drv_irqs(d, v), 0);

	gen = cc_r8(d, CC(config_generation));
	nic_port_start();
	assert_true(NIC_WAIT(drv_irqs(d, 0) >= 1, 2000));
	drv_read_netcfg(d, &c);
	assert_int_equal(c.status & VIRTIO_NET_S_LINK_UP, VIRTIO_NET_S_LINK_UP);
	assert_int_not_equal(cc_r8(d, CC(config_generation)), gen);

	/* VIRTIO 5.1.4.1: the device MUST NOT modify mtu once set: with
	 * VIRTIO_NET_F_MTU negotiated the port keeps it (the same value is
	 * no change) */
	gen = cc_r8(d, CC(config_generation));
	drv_irqs_clear(d);
	assert_int_equal(rte_eth_dev_set_mtu(nic.port, 1500), -EBUSY);
	assert_int_equal(rte_eth_dev_set_mtu(nic.port, NIC_MTU), 0);
	drv_read_netcfg(d, &c);
	assert_int_equal(c.mtu, NIC_MTU);
	assert_int_equal(cc_r8(d, CC(config_generation)), gen);
	usleep(20000);
	assert_int_equal(drv_irqs(d, 0), 0);

	/* no interrupt without a config vector */
	cc_w16(d, CC(msix_config), VIRTIO_MSI_NO_VECTOR);
	drv_irqs_clear(d);
	nic_port_stop();
	nic_port_start();
	usleep(20000);
	assert_int_equal(drv_irqs(d, 0), 0);
	/* a vector beyond the table is refused (reads back NO_VECTOR) */
	cc_w16(d, CC(msix_config), NIC_NVEC);
	assert_int_equal(cc_r16(d, CC(msix_config)), VIRTIO_MSI_NO_VECTOR);

	/* after a reset the MTU changes, and the next driver reads it */
	cc_w8(d, CC(device_status), 0);
	assert_int_equal(rte_eth_dev_set_mtu(nic.port, 1500), 0);
	drv_init(d, V1 | NIC_F(VIRTIO_NET_F_MTU), 2);
	drv_read_netcfg(d, &c);
	assert_int_equal(c.mtu, 1500);
	assert_int_equal(rte_eth_dev_set_mtu(nic.port, NIC_MTU), -EBUSY);
	/* a driver without VIRTIO_NET_F_MTU: it changes, with an interrupt */
	drv_init(d, V1, 2);
	gen = cc_r8(d, CC(config_generation));
	assert_int_equal(rte_eth_dev_set_mtu(nic.port, NIC_MTU), 0);
	assert_true(NIC_WAIT(drv_irqs(d, 0) >= 1, 2000));
	drv_read_netcfg(d, &c);
	assert_int_equal(c.mtu, NIC_MTU);
	assert_int_not_equal(cc_r8(d, CC(config_generation)), gen);
	cc_w8(d, CC(device_status), 0);
	drv_close(d);
}

/*
 * rte_eth_dev_configure()'s rxmode.mtu becomes the device's MTU, which
 * the port then reports; left at ethdev's default (0, read as 1500) it
 * does not override the devarg mtu= while the device has it. With a driver that negotiated
 * VIRTIO_NET_F_MTU, a change is refused as rte_eth_dev_set_mtu()'s is.
 */
static void
test_configure_mtu(void **state)
{
	struct nic_drv *d = drv_open();
	struct virtio_net_config c;
	uint16_t mtu;

	(void)state;
	nic_port_stop();
	assert_int_equal(nic_port_configure(4000), 0);
	assert_int_equal(rte_eth_dev_get_mtu(nic.port, &mtu), 0);
	assert_int_equal(mtu, 4000);
	/* 0 (1500) keeps the devarg's only while the device has it */
	assert_int_equal(nic_port_configure(0), 0);
	assert_int_equal(rte_eth_dev_get_mtu(nic.port, &mtu), 0);
	assert_int_equal(mtu, 1500);
	assert_int_equal(nic_port_configure(NIC_MTU), 0);
	assert_int_equal(nic_port_configure(0), 0);
	assert_int_equal(rte_eth_dev_get_mtu(nic.port, &mtu), 0);
	assert_int_equal(mtu, NIC_MTU);
	assert_int_equal(nic_port_configure(4000), 0);
	nic_port_start();
	drv_init(d, V1 | NIC_F(VIRTIO_NET_F_MTU), 2);
	drv_read_netcfg(d, &c);
	assert_int_equal(c.mtu, 4000);
	nic_port_stop();
	assert_int_equal(nic_port_configure(NIC_MTU), -EBUSY);
	assert_int_equal(rte_eth_dev_get_mtu(nic.port, &mtu), 0);
	assert_int_equal(mtu, 4000);	/* ethdev rolled back */
	cc_w8(d, CC(device_status), 0);
	assert_int_equal(nic_port_configure(NIC_MTU), 0);
	assert_int_equal(rte_eth_dev_get_mtu(nic.port, &mtu), 0);
	assert_int_equal(mtu, NIC_MTU);
	nic_port_start();
	drv_close(d);
}

/* ---- resets ---- */

/* Queue q's fields read their reset values (VIRTIO 1.2 4.1.4.3). */
static void
check_queue_reset_state(struct nic_drv *d, uint16_t q)
{
	cc_w16(d, CC(queue_select), q);
	assert_int_equal(cc_r16(d, CC(queue_enable)), 0);
	assert_int_equal(cc_r16(d, CC(queue_size)), 1024);
	assert_int_equal(cc_r16(d, CC(queue_msix_vector)),
			 VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(cc_r32(d, CC(queue_desc_lo)), 0);
	assert_int_equal(cc_r32(d, CC(queue_desc_hi)), 0);
	assert_int_equal(cc_r32(d, CC(queue_avail_lo)), 0);
	assert_int_equal(cc_r32(d, CC(queue_used_hi)), 0);
}

static void
check_reset_state(struct nic_drv *d)
{
	assert_int_equal(drv_status(d), 0);
	cc_w32(d, CC(guest_feature_select), 0);
	assert_int_equal(cc_r32(d, CC(guest_feature)), 0);
	cc_w32(d, CC(guest_feature_select), 1);
	assert_int_equal(cc_r32(d, CC(guest_feature)), 0);
	assert_int_equal(cc_r16(d, CC(msix_config)), VIRTIO_MSI_NO_VECTOR);
	for (uint16_t q = 0; q < NIC_NVQS; q++)
		check_queue_reset_state(d, q);
}

/* The PMD's queues are idle: bursts see nothing, even with work queued. */
static void
check_queues_idle(struct nic_drv *d)
{
	struct rte_mbuf *m[4];

	/* left over from before the reset: the device must not look */
	drv_send(d, &d->vq[1], 64, 1, TX_ONE, 0);
	for (uint16_t q = 0; q < NIC_QUEUES; q++) {
		assert_int_equal(rte_eth_rx_burst(nic.port, q, m, 4), 0);
		m[0] = nic_mbuf(64, 1, 0);
		assert_int_equal(rte_eth_tx_burst(nic.port, q, m, 1), 0);
		rte_pktmbuf_free(m[0]);
	}
}

/* One packet each way on pair 0. */
static void
check_traffic(struct nic_drv *d)
{
	struct rte_mbuf *m[2];
	struct drx *rx = malloc(sizeof(*rx));
	uint16_t old = d->vq[1].avail_idx;

	assert_non_null(rx);
	drv_send(d, &d->vq[1], 100, 7, TX_ONE, 0);
	dvq_kick(d, &d->vq[1], old);
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	assert_true(nic_mbuf_check(m[0], 100, 7));
	rte_pktmbuf_free(m[0]);
	old = d->vq[0].avail_idx;
	drv_post_rx(&d->vq[0], 1, 2048, false);
	dvq_kick(d, &d->vq[0], old);
	m[0] = nic_mbuf(200, 8, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
	assert_true(drv_recv(d, &d->vq[0], rx));
	assert_int_equal(rx->len, 200);
	assert_true(pkt_check(rx->data, 200, 8));
	free(rx);
}

/* The port with 1 receive and 2 transmit queues (of NIC_QUEUES pairs),
 * started. */
static void
port_1rx_2tx(void)
{
	struct rte_eth_conf conf = { 0 };

	nic_port_stop();
	assert_int_equal(rte_eth_dev_configure(nic.port, 1, 2, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(nic.port, 0, 512, SOCKET_ID_ANY,
						NULL, nic.rx_mp),
			 0);
	for (uint16_t q = 0; q < 2; q++)
		assert_int_equal(rte_eth_tx_queue_setup(nic.port, q, 512,
							SOCKET_ID_ANY, NULL),
				 0);
	nic_port_start();
}

/* Frames seq .. seq + n - 1 of 64 bytes on transmitq q, one kick. */
static void
send_seqs(struct nic_drv *d, struct dvq *q, uint32_t seq, unsigned int n)
{
	uint16_t old = q->avail_idx;

	for (unsigned int i = 0; i < n; i++)
		drv_send(d, q, 64, seq + i, TX_ONE, 0);
	dvq_kick(d, q, old);
}

/* VQ_PAIRS_SET with the log it writes; returns the log (to free). */
static char *
pairs_set_logged(struct nic_drv *d, uint16_t pairs)
{
	char *log = NULL;
	size_t log_len = 0;
	FILE *f_log = open_memstream(&log, &log_len);

	assert_non_null(f_log);
	assert_int_equal(rte_openlog_stream(f_log), 0);
	assert_int_equal(drv_ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
				      VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
				      sizeof(pairs), false),
			 VIRTIO_NET_OK);
	rte_openlog_stream(NULL);
	fclose(f_log);
	return log;
}

/*
 * A port with fewer receive queues (1) than the device has pairs
 * (queues=2, all offered): its queue polls every pair's transmitq, taking
 * turns, so nothing a driver sends waits for nobody (before, pair 1's
 * frames stayed in its ring); the port's per-queue counters put them at
 * the queue that polled them, the xstats at their pair. A pair the driver
 * disabled is read only when the enabled ones have nothing. Transmit
 * queues the driver has no pair for (2 on the port, VQ_PAIRS_SET 1) are
 * said in the log. The offer stays queues= (the control queue's index
 * follows from it).
 */
static void
test_rx_sets(void **state)
{
	const uint64_t f = V1 | NIC_F(VIRTIO_NET_F_CTRL_VQ) |
			   NIC_F(VIRTIO_NET_F_MQ);
	struct rte_eth_stats st;
	struct virtio_net_config c;
	struct rte_mbuf *m[16];
	struct drx *rx = malloc(sizeof(*rx));
	unsigned int from1;
	struct nic_drv *d;
	char *log;

	(void)state;
	assert_non_null(rx);
	port_1rx_2tx();
	assert_int_equal(rte_eth_stats_reset(nic.port), 0);
	d = drv_open();
	drv_init(d, f, drv_num_vqs(f));
	drv_read_netcfg(d, &c);
	assert_int_equal(c.max_virtqueue_pairs, NIC_QUEUES);
	log = pairs_set_logged(d, 2);
	assert_int_equal(nic_xstat("driver_queue_pairs"), 2);
	assert_null(strstr(log, "transmit queues"));
	free(log);

	/* both pairs busy: the first bursts take from both, in turn */
	send_seqs(d, &d->vq[1], 100, 8);
	send_seqs(d, &d->vq[3], 200, 8);
	assert_int_equal(nic_rx(0, m, 4, 1000), 4);
	assert_int_equal(nic_rx(0, m + 4, 4, 1000), 4);
	from1 = 0;
	for (unsigned int i = 0; i < 8; i++)
		from1 += pkt_seq(rte_pktmbuf_mtod(m[i], uint8_t *), 64) >= 200;
	assert_int_equal(from1, 4);
	nic_free(m, 8);
	/* the rest, each pair's in its order */
	assert_int_equal(nic_rx(0, m, 8, 1000), 8);
	for (unsigned int i = 0, s0 = 104, s1 = 204; i < 8; i++) {
		uint32_t seq = pkt_seq(rte_pktmbuf_mtod(m[i], uint8_t *), 64);

		assert_true(nic_mbuf_check(m[i], 64, seq));
		assert_int_equal(seq, seq >= 200 ? s1++ : s0++);
	}
	nic_free(m, 8);
	assert_int_equal(rte_eth_stats_get(nic.port, &st), 0);
	assert_int_equal(st.ipackets, 16);
	assert_int_equal(st.q_ipackets[0], 16);
	assert_int_equal(st.q_ipackets[1], 0);
	assert_int_equal(nic_xstat("rx_q1_packets"), 8);

	/* one pair: the other's leftovers only once pair 0 has nothing;
	 * both transmit queues send through pair 0 (said in the log), in
	 * the order of their bursts */
	log = pairs_set_logged(d, 1);
	assert_non_null(strstr(log, "the driver uses 1 queue pairs, the port "
				    "has 2 transmit queues: queue q sends "
				    "through pair q % 1"));
	free(log);
	{
		struct dvq *rq = &d->vq[0];
		uint16_t old = rq->avail_idx;

		for (unsigned int i = 0; i < 4; i++)
			drv_post_rx(rq, 1, 2048, false);
		dvq_kick(d, rq, old);
		for (uint16_t q = 0; q < 2; q++) {
			m[q] = nic_mbuf(80, 500 + q, 0);
			assert_int_equal(rte_eth_tx_burst(nic.port, 1 - q,
							  &m[q], 1),
					 1);
		}
		for (unsigned int i = 0; i < 2; i++) {
			assert_true(drv_recv(d, rq, rx));
			assert_int_equal(rx->len, 80);
			assert_true(pkt_check(rx->data, 80, 500 + i));
		}
		assert_false(drv_recv(d, &d->vq[2], rx));
	}
	send_seqs(d, &d->vq[3], 300, 2);
	send_seqs(d, &d->vq[1], 400, 2);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 16), 2);
		assert_int_equal(pkt_seq(rte_pktmbuf_mtod(m[0], uint8_t *), 64),
				 i == 0 ? 400 : 300);
		nic_free(m, 2);
	}
	assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 16), 0);
	drv_close(d);
	free(rx);

	/* a driver of one pair (no MQ) sends no VQ_PAIRS_SET: the sharing
	 * is said as it goes live */
	{
		size_t log_len = 0;
		FILE *f_log;

		log = NULL;
		f_log = open_memstream(&log, &log_len);
		assert_non_null(f_log);
		assert_int_equal(rte_openlog_stream(f_log), 0);
		d = drv_open();
		drv_init(d, V1, drv_num_vqs(V1));
		rte_openlog_stream(NULL);
		fclose(f_log);
		assert_non_null(strstr(log, "the driver uses 1 queue pairs, "
					    "the port has 2 transmit queues"));
		free(log);
		drv_close(d);
	}

	nic_port_stop();
	assert_int_equal(nic_port_configure(NIC_MTU), 0);
	nic_port_start();
}

/* Post every free receive buffer of q (a packed ring: while it has
 * room; the driver's ids are NIC_QSZ) and kick. */
static void
post_all_rx(struct nic_drv *d, struct dvq *q)
{
	uint16_t old = q->avail_idx;

	while (q->num_free > 0 && (!q->packed || q->ring_used < q->size))
		drv_post_rx(q, 1, 2048, false);
	dvq_kick(d, q, old);
}

/* One of test_tx_shared's senders: TS_FRAMES frames on its transmit
 * queue, numbered (queue << 16 | i), from a thread of its own. */
#define TS_FRAMES 20000

struct ts_sender {
	uint16_t q;
	uint32_t sent;		/* atomic */
	struct rte_mempool *mp;
	pthread_t thread;
};

/* test_tx_shared's senders, stopped by model_teardown() when the test
 * failed half-way */
static struct ts_sender ts_snd[2];
static unsigned int ts_running;
static bool ts_stop;		/* atomic */

static void *
ts_sender_main(void *arg)
{
	struct ts_sender *s = arg;
	struct rte_mbuf *m[32];
	uint32_t i = 0;
	uint16_t n = 0;

	if (rte_thread_register() != 0)
		return NULL;
	while (i < TS_FRAMES && !__atomic_load_n(&ts_stop, __ATOMIC_ACQUIRE)) {
		uint16_t k;

		/* bursts of 32, what did not go first in the next */
		while (n < RTE_DIM(m) && i + n < TS_FRAMES) {
			uint32_t len = 64 + (i + n) % 64;

			m[n] = rte_pktmbuf_alloc(s->mp);
			if (m[n] == NULL)
				break;
			pkt_fill((uint8_t *)rte_pktmbuf_append(m[n],
							       (uint16_t)len),
				 len, (uint32_t)s->q << 16 | (i + n));
			n++;
		}
		k = rte_eth_tx_burst(nic.port, s->q, m, n);
		if (k < n && __atomic_load_n(&ts_stop, __ATOMIC_ACQUIRE))
			rte_pktmbuf_free_bulk(m + k, n - k);
		memmove(m, m + k, (n - k) * sizeof(m[0]));
		n -= k;
		i += k;
		__atomic_store_n(&s->sent, i, __ATOMIC_RELEASE);
		if (k == 0)
			rte_pause();
	}
	rte_thread_unregister();
	return NULL;
}

static void
ts_join(void)
{
	__atomic_store_n(&ts_stop, true, __ATOMIC_RELEASE);
	while (ts_running > 0)
		pthread_join(ts_snd[--ts_running].thread, NULL);
	__atomic_store_n(&ts_stop, false, __ATOMIC_RELEASE);
}

/* After the tests that change the port (queues, link, MTU) or run
 * threads: a test that failed half-way leaves it as the others want it. */
static int
model_teardown(void **state)
{
	struct rte_eth_dev_info info;
	uint16_t mtu = 0;

	ts_join();
	nic_test_teardown(state);
	(void)rte_eth_dev_set_link_up(nic.port);
	if (rte_eth_dev_info_get(nic.port, &info) != 0 ||
	    rte_eth_dev_get_mtu(nic.port, &mtu) != 0 ||
	    info.nb_rx_queues != NIC_QUEUES ||
	    info.nb_tx_queues != NIC_QUEUES || mtu != NIC_MTU) {
		nic_port_stop();
		if (nic_port_configure(NIC_MTU) != 0)
			return -1;
		nic_port_start();
	}
	return 0;
}

/*
 * More transmit queues (2) than the driver's pairs (VQ_PAIRS_SET 1): both
 * send through pair 0, each burst under its lock, from two threads at
 * once; the driver going to 2 pairs and back to 1 meanwhile (each queue
 * its own pair, then sharing again). Every frame arrives once, intact,
 * each queue's in order within a ring. Without the sharing, queue 1 sent
 * nothing while the driver had one pair; without the lock, the two
 * threads' bursts corrupt pair 0's ring.
 */
static void
test_tx_shared(void **state)
{
	const uint64_t f = V1 | NIC_F(VIRTIO_NET_F_CTRL_VQ) |
			   NIC_F(VIRTIO_NET_F_MQ);
	struct ts_sender *snd = ts_snd;
	struct drx *rx = malloc(sizeof(*rx));
	uint8_t *seen = calloc(2, TS_FRAMES);
	int32_t last[2][2] = { { -1, -1 }, { -1, -1 } };
	struct rte_mempool *mp;
	unsigned int got = 0, step = 0;
	struct nic_drv *d;
	uint64_t end;
	uint16_t pairs = 1;

	(void)state;
	assert_non_null(rx);
	assert_non_null(seen);
	mp = rte_pktmbuf_pool_create("ts", 2047, 32, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(mp);
	port_1rx_2tx();
	d = drv_open();
	drv_init(d, f, drv_num_vqs(f));
	assert_int_equal(drv_ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
				      VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs,
				      sizeof(pairs), false),
			 VIRTIO_NET_OK);
	for (unsigned int k = 0; k < 2; k++) {
		snd[k] = (struct ts_sender){ .q = (uint16_t)k, .mp = mp };
		assert_int_equal(pthread_create(&snd[k].thread, NULL,
						ts_sender_main, &snd[k]),
				 0);
		ts_running++;
	}
	end = nic_now_ms() + 20000;
	while (got < 2 * TS_FRAMES && nic_now_ms() < end) {
		for (unsigned int r = 0; r < 2; r++) {
			struct dvq *rq = &d->vq[2 * r];

			while (drv_recv(d, rq, rx)) {
				uint32_t seq = pkt_seq(rx->data, rx->len);
				uint32_t q = seq >> 16, i = seq & 0xffff;

				assert_true(q < 2 && i < TS_FRAMES);
				assert_true(pkt_check(rx->data, rx->len, seq));
				assert_int_equal(rx->len, 64 + i % 64);
				assert_int_equal(seen[q * TS_FRAMES + i]++, 0);
				assert_true((int32_t)i > last[r][q]);
				last[r][q] = (int32_t)i;
				got++;
			}
			post_all_rx(d, rq);
		}
		/* two pairs at a third of the frames, one again at two */
		if (step < 2 && got >= (step + 1) * 2 * TS_FRAMES / 3) {
			pairs = step == 0 ? 2 : 1;
			assert_int_equal(
				drv_ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
					     VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
					     &pairs, sizeof(pairs), false),
				VIRTIO_NET_OK);
			step++;
		}
	}
	ts_join();
	assert_int_equal(got, 2 * TS_FRAMES);
	assert_int_equal(step, 2);
	/* with 2 pairs queue 1 had pair 1, queue 0 never did */
	assert_true(last[1][1] >= 0);
	assert_int_equal(last[1][0], -1);
	assert_true(drv_canary_ok(d));
	drv_close(d);
	free(rx);
	free(seen);

	nic_port_stop();
	assert_int_equal(nic_port_configure(NIC_MTU), 0);
	nic_port_start();
	rte_mempool_free(mp);
}

/* ---- VIRTIO_F_RING_RESET ---- */

#define CC_QUEUE_RESET 58	/* struct vun_common_cfg's queue_reset */

/* The driver resets queue q and sees it done at once, every field back
 * at its reset value (VIRTIO 1.2 4.1.4.3.1). */
static void
rr_reset(struct nic_drv *d, uint16_t q)
{
	cc_w16(d, CC(queue_select), q);
	cc_w16(d, CC_QUEUE_RESET, 1);
	assert_int_equal(cc_r16(d, CC_QUEUE_RESET), 0);
	check_queue_reset_state(d, q);
}

/* Frames of test_ring_reset's sender on q's ring, in order after
 * *next; how many. */
static unsigned int
rr_recv(struct nic_drv *d, struct dvq *q, struct drx *rx, uint32_t *next)
{
	unsigned int n = 0;

	while (drv_recv(d, q, rx)) {
		uint32_t i = pkt_seq(rx->data, rx->len);

		assert_true(i < TS_FRAMES && i >= *next);
		assert_true(pkt_check(rx->data, rx->len, i));
		*next = i + 1;
		n++;
	}
	return n;
}

/*
 * VIRTIO_F_RING_RESET (VIRTIO 1.2 2.6.1): the driver resets one queue
 * while the device runs, and sets it up again, in a new place for packed
 * rings of another size.
 * - receiveq 0, while a thread sends on the port's queue 0: every frame
 *   the application's burst took reaches the driver once, in order, in
 *   the old ring (drained after the reset) or the new one; after the
 *   reset the old ring is not written to; the new ring starts at 0.
 * - transmitq 0 with frames not yet read by the port: after the reset
 *   the port reads none of them (2.6.1.1.1: the device executes no
 *   request of a reset queue), then the new ring's.
 * - without the feature, a 1 written to queue_reset does nothing.
 */
static void
ring_reset_run(uint64_t f)
{
	struct ts_sender *snd = ts_snd;
	struct drx *rx = malloc(sizeof(*rx));
	struct rte_mbuf *pkts[32];
	uint32_t next = 0;
	unsigned int got = 0, resets = 0;
	struct rte_mempool *mp;
	struct nic_drv *d;
	uint64_t end;

	assert_non_null(rx);
	mp = rte_pktmbuf_pool_create("rr", 2047, 32, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	assert_non_null(mp);
	d = drv_open();
	drv_init(d, f, 2);
	post_all_rx(d, &d->vq[0]);
	snd[0] = (struct ts_sender){ .q = 0, .mp = mp };
	assert_int_equal(pthread_create(&snd[0].thread, NULL, ts_sender_main,
					&snd[0]),
			 0);
	ts_running++;
	end = nic_now_ms() + 20000;
	while (got < TS_FRAMES && nic_now_ms() < end) {
		got += rr_recv(d, &d->vq[0], rx, &next);
		post_all_rx(d, &d->vq[0]);
		if (resets < 3 && got >= (resets + 1) * TS_FRAMES / 4) {
			uint16_t idx;

			rr_reset(d, 0);
			/* what the device wrote before: still ours */
			got += rr_recv(d, &d->vq[0], rx, &next);
			idx = d->vq[0].packed ? d->vq[0].next_used :
						d->vq[0].used->idx;
			usleep(50 * 1000);
			assert_int_equal(dvq_pending_used(&d->vq[0]), 0);
			assert_int_equal(d->vq[0].packed ? d->vq[0].next_used :
							   d->vq[0].used->idx,
					 idx);
			drv_setup_vq_at(d, 0, d->vq[0].packed ? 100 : 0, 0, 0,
					0);
			post_all_rx(d, &d->vq[0]);
			resets++;
		}
	}
	ts_join();
	got += rr_recv(d, &d->vq[0], rx, &next);
	assert_int_equal(resets, 3);
	assert_int_equal(got, TS_FRAMES);
	assert_int_equal(next, TS_FRAMES);

	/* transmitq: three frames the port has not read */
	for (uint32_t i = 0; i < 3; i++)
		drv_send(d, &d->vq[1], 80, 100 + i, TX_ONE, 0);
	dvq_notify(d, &d->vq[1]);
	rr_reset(d, 1);
	assert_int_equal(nic_rx(0, pkts, RTE_DIM(pkts), 100), 0);
	drv_setup_vq_at(d, 1, d->vq[1].packed ? 60 : 0, 0, 0, 0);
	for (uint32_t i = 0; i < 2; i++)
		drv_send(d, &d->vq[1], 90, 200 + i, TX_ONE, 0);
	dvq_notify(d, &d->vq[1]);
	assert_int_equal(nic_rx(0, pkts, 2, 2000), 2);
	assert_true(nic_mbuf_check(pkts[0], 90, 200));
	assert_true(nic_mbuf_check(pkts[1], 90, 201));
	nic_free(pkts, 2);
	assert_int_equal(nic_rx(0, pkts, RTE_DIM(pkts), 50), 0);
	assert_true(drv_canary_ok(d));
	drv_close(d);
	free(rx);
	rte_mempool_free(mp);
}

static void
test_ring_reset(void **state)
{
	const uint64_t rr = NIC_F(VIRTIO_F_RING_RESET);
	struct rte_mbuf *pkts[4];
	struct nic_drv *d;

	(void)state;
	ring_reset_run(V1 | rr);
	ring_reset_run(V1 | rr | NIC_F(VIRTIO_F_RING_PACKED));

	/* not negotiated: the queue runs on */
	d = drv_open();
	drv_init(d, V1, 2);
	cc_w16(d, CC(queue_select), 1);
	cc_w16(d, CC_QUEUE_RESET, 1);
	assert_int_equal(cc_r16(d, CC_QUEUE_RESET), 0);
	assert_int_equal(cc_r16(d, CC(queue_enable)), 1);
	drv_send(d, &d->vq[1], 70, 7, TX_ONE, 0);
	dvq_notify(d, &d->vq[1]);
	assert_int_equal(nic_rx(0, pkts, 1, 2000), 1);
	assert_true(nic_mbuf_check(pkts[0], 70, 7));
	nic_free(pkts, 1);
	drv_close(d);
}

/* ---- VIRTIO requirements an independent audit checked ---- */

static void
vec_ctrl(struct nic_drv *d, uint16_t v, uint32_t ctl)
{
	bar_write(d, NIC_MSIX_BAR, v * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE + 12,
		  &ctl, 4);
}

/*
 * VIRTIO 5.1.3.1: VIRTIO_NET_F_MQ, _CTRL_RX and _CTRL_MAC_ADDR require
 * VIRTIO_NET_F_CTRL_VQ. A set without it is no valid subset: FEATURES_OK
 * fails (2.2.1), as for HOST_TSO4 without CSUM; with it, it holds.
 */
static void
test_feature_dependencies(void **state)
{
	const uint64_t need_cvq[] = {
		NIC_F(VIRTIO_NET_F_MQ),
		NIC_F(VIRTIO_NET_F_CTRL_RX),
		NIC_F(VIRTIO_NET_F_CTRL_MAC_ADDR),
	};
	struct nic_drv *d = drv_open();

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(need_cvq); i++) {
		assert_int_equal(drv_negotiate(d, V1 | need_cvq[i]) &
					 VIRTIO_CONFIG_S_FEATURES_OK,
				 0);
		assert_int_equal(
			drv_negotiate(d, V1 | need_cvq[i] |
						 NIC_F(VIRTIO_NET_F_CTRL_VQ)) &
				VIRTIO_CONFIG_S_FEATURES_OK,
			VIRTIO_CONFIG_S_FEATURES_OK);
	}
	cc_w8(d, CC(device_status), 0);
	drv_close(d);
}

/*
 * VIRTIO 4.1.4.3.1: the device presents a changed config_generation once
 * the configuration changed since the driver last read it. The 8-bit
 * counter moves once for any number of changes between two of its reads:
 * 256 steps (255 link changes and an MTU) would wrap it back to what the
 * driver saw. Before DRIVER_OK: no interrupt makes the driver look.
 */
static void
test_config_generation_wrap(void **state)
{
	struct nic_drv *d = drv_open();
	struct virtio_net_config c0, c1;
	uint8_t g0, g1;

	(void)state;
	cc_w8(d, CC(device_status), 0);
	cc_w8(d, CC(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	g0 = cc_r8(d, CC(config_generation));
	drv_read_netcfg(d, &c0);
	assert_int_equal(cc_r8(d, CC(config_generation)), g0);
	assert_true(c0.status & VIRTIO_NET_S_LINK_UP);
	for (unsigned int i = 0; i < 255; i++)
		assert_int_equal(i % 2 == 0 ?
					 rte_eth_dev_set_link_down(nic.port) :
					 rte_eth_dev_set_link_up(nic.port),
				 0);
	assert_int_equal(rte_eth_dev_set_mtu(nic.port, NIC_MTU - 100), 0);
	g1 = cc_r8(d, CC(config_generation));
	drv_read_netcfg(d, &c1);
	assert_int_equal(c1.status & VIRTIO_NET_S_LINK_UP, 0);
	assert_int_equal(c1.mtu, NIC_MTU - 100);
	assert_int_not_equal(g1, g0);
	/* read: the next change is a new generation again */
	assert_int_equal(rte_eth_dev_set_link_up(nic.port), 0);
	assert_int_not_equal(cc_r8(d, CC(config_generation)), g1);
	assert_int_equal(rte_eth_dev_set_mtu(nic.port, NIC_MTU), 0);
	cc_w8(d, CC(device_status), 0);
	drv_close(d);
}

/*
 * VIRTIO 2.4.1: no notification after the reset completes. An interrupt
 * latched while the driver had masked its vector (PCI 3.0 6.8.2: the
 * pending bit) goes with the reset: unmasked after it, the vector brings
 * nothing. A queue's vector (packets to the driver) and the configuration
 * vector (a link change).
 */
static void
test_pending_msix_after_reset(void **state)
{
	struct nic_drv *d = drv_open();
	struct rte_mbuf *m[2];
	struct dvq *rq;
	uint16_t v, old;

	(void)state;
	drv_init(d,
		 V1 | NIC_F(VIRTIO_NET_F_MRG_RXBUF) |
			 NIC_F(VIRTIO_NET_F_STATUS),
		 2);
	rq = &d->vq[0];
	v = rq->vector;
	assert_int_not_equal(v, VIRTIO_MSI_NO_VECTOR);
	assert_int_not_equal(v, 0);	/* msix_config's */
	old = rq->avail_idx;
	for (unsigned int i = 0; i < 8; i++)
		drv_post_rx(rq, 1, 2048, false);
	dvq_kick(d, rq, old);
	rq->avail->flags = 0;		/* interrupts wanted */
	drv_irqs_clear(d);
	vec_ctrl(d, v, 1);
	vec_ctrl(d, 0, 1);
	for (unsigned int i = 0; i < 2; i++)
		m[i] = nic_mbuf(100, 1000 + i, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 2), 2);
	assert_int_equal(rte_eth_dev_set_link_down(nic.port), 0);
	assert_int_equal(drv_irqs(d, v) + drv_irqs(d, 0), 0);
	assert_int_equal(drv_pba(d) & ((1ULL << v) | 1), (1ULL << v) | 1);

	cc_w8(d, CC(device_status), 0);
	assert_int_equal(drv_status(d), 0);
	assert_int_equal(drv_pba(d), 0);
	vec_ctrl(d, v, 0);
	vec_ctrl(d, 0, 0);
	rte_delay_ms(5);
	assert_int_equal(drv_irqs(d, v) + drv_irqs(d, 0), 0);
	assert_int_equal(rte_eth_dev_set_link_up(nic.port), 0);
	drv_close(d);
}

/*
 * VIRTIO 2.7.10: with VIRTIO_F_EVENT_IDX the device sets used->flags to
 * 0, whatever the ring held (here the NO_NOTIFY a start without
 * EVENT_IDX wrote there): on every queue, the control queue too.
 */
static void
test_used_flags_event_idx(void **state)
{
	const uint64_t f = V1 | NIC_F(VIRTIO_RING_F_EVENT_IDX) |
			   NIC_F(VIRTIO_NET_F_CTRL_VQ);
	struct nic_drv *d = drv_open();
	uint8_t s = drv_negotiate(d, f);

	(void)state;
	assert_int_not_equal(s & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	cc_w16(d, CC(msix_config), 0);
	for (uint16_t i = 0; i < 3; i++) {
		drv_setup_vq(d, i);
		d->vq[i].used->flags = VRING_USED_F_NO_NOTIFY;	/* stale */
	}
	cc_w8(d, CC(device_status), s | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(drv_status(d), s | VIRTIO_CONFIG_S_DRIVER_OK);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(__atomic_load_n(&d->vq[i].used->flags,
						 __ATOMIC_ACQUIRE),
				 0);
	cc_w8(d, CC(device_status), 0);
	drv_close(d);
}

static void
test_reset_status0(void **state)
{
	struct nic_drv *d = drv_open();

	(void)state;
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	check_traffic(d);
	cc_w8(d, CC(device_status), 0);
	check_reset_state(d);
	check_queues_idle(d);
	/* and it comes back */
	drv_init(d, V1, 2);
	check_traffic(d);
	drv_close(d);
}

/*
 * After a reset of the function: device and queues at their reset values,
 * the function too (memory space, bus mastering and MSI-X off, BAR4's
 * address 0); a driver then brings it up again as after any function
 * reset, and traffic flows.
 */
static void
check_function_reset_then_up(struct nic_drv *d)
{
	uint16_t ctl;

	check_reset_state(d);
	check_queues_idle(d);
	assert_int_equal(cfg_r16(d, RTE_VFIO_USER_PCI_COMMAND) &
			 (RTE_VFIO_USER_PCI_CMD_MEMORY | RTE_VFIO_USER_PCI_CMD_MASTER),
			 0);
	assert_int_equal(cfg_r32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 16) & ~0xfu, 0);
	ctl = cfg_r16(d, d->msix_cap + RTE_VFIO_USER_PCI_MSIX_FLAGS);
	assert_int_equal(ctl & RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE, 0);
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_MEMORY |
		RTE_VFIO_USER_PCI_CMD_MASTER);
	cfg_w16(d, d->msix_cap + RTE_VFIO_USER_PCI_MSIX_FLAGS,
		ctl | RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE);
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	check_traffic(d);
}

static void
test_reset_device(void **state)
{
	struct nic_drv *d = drv_open();

	(void)state;
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	check_traffic(d);
	cfg_w32(d, RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 16, 0xfe104000);
	assert_int_equal(rte_vfio_user_client_reset(d->c), 0);
	check_function_reset_then_up(d);
	drv_close(d);
}

/*
 * The power management capability: D3hot takes the device out of the data
 * path (no bus mastering there) with its state kept; D3hot to D0 resets
 * device and function (No_Soft_Reset 0), which is a guest's reset method
 * (Linux's "pm" reset) and what its suspend to RAM does. D1 and D2 are
 * not supported: writes of them change nothing.
 */
static void
test_pm_reset(void **state)
{
	struct nic_drv *d = drv_open();
	struct rte_mbuf *m;
	struct dvq *q;
	uint16_t used;
	uint32_t csr;

	(void)state;
	assert_true(d->pm_cap != 0);
	csr = d->pm_cap + RTE_VFIO_USER_PCI_PM_CTRL;
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	check_traffic(d);
	cfg_w16(d, csr, 1);
	cfg_w16(d, csr, 2);
	assert_int_equal(cfg_r16(d, csr), 0);
	check_traffic(d);
	/* receive buffers posted: the port could send */
	q = &d->vq[0];
	post_all_rx(d, q);
	used = dvq_pending_used(q);
	assert_int_equal(nic_xstat("pci_power_state"), 0);
	assert_int_equal(nic_xstat("pci_bus_master"), 1);
	cfg_w16(d, csr, RTE_VFIO_USER_PCI_PM_D3HOT);
	assert_int_equal(cfg_r16(d, csr), RTE_VFIO_USER_PCI_PM_D3HOT);
	/* the port's xstats say where the driver left the function */
	assert_int_equal(nic_xstat("pci_power_state"), 3);
	assert_int_equal(nic_xstat("pci_bus_master"), 0);
	/* in D3hot: state kept, no frame moves either way, the driver's
	 * buffers untouched */
	assert_true(drv_status(d) & VIRTIO_CONFIG_S_DRIVER_OK);
	m = nic_mbuf(100, 904, 2048);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 0);
	rte_pktmbuf_free(m);
	check_queues_idle(d);
	assert_int_equal(dvq_pending_used(q), used);
	/* D0: device and function reset */
	cfg_w16(d, csr, 0);
	assert_int_equal(cfg_r16(d, csr), 0);
	assert_int_equal(nic_xstat("pci_power_state"), 0);
	check_function_reset_then_up(d);
	assert_int_equal(nic_xstat("pci_bus_master"), 1);
	drv_close(d);
}

/* ---- the ethdev link ---- */

static void
expect_link(bool up, int lsc)
{
	assert_true(NIC_WAIT(nic_link_up() == up, 2000));
	assert_true(NIC_WAIT(nic_lsc() == lsc, 2000));
	usleep(2000);
	assert_int_equal(nic_lsc(), lsc);
}

/* VIRTIO_NET_S_LINK_UP in the device's configuration, as d reads it */
static bool
netcfg_link(struct nic_drv *d)
{
	struct virtio_net_config c;

	drv_read_netcfg(d, &c);
	return c.status & VIRTIO_NET_S_LINK_UP;
}

/*
 * The link events of earlier tests all told, so that counting starts from
 * a quiet port: their last driver gone (the event thread tears it down
 * after the close), then every event the PMD queued for the EAL
 * interrupt thread delivered (its alarms run late on a loaded machine:
 * test_reset_device's four events once came after this test had counted).
 */
static int
lsc_settled(void)
{
	const struct vun_dev *v = rte_vfio_user_get_priv(nic.dev_id);
	int n;

	assert_true(NIC_WAIT(rte_vfio_user_is_idle(nic.dev_id) == 1, 5000));
	assert_true(NIC_WAIT(__atomic_load_n(&v->lsc.pending,
					     __ATOMIC_ACQUIRE) == 0,
			     5000));
	do {	/* the last one's callback, running as pending went 0 */
		n = nic_lsc();
		usleep(20 * 1000);
	} while (n != nic_lsc());
	return n;
}

static void
test_link(void **state)
{
	struct nic_drv *d;
	int n = lsc_settled();

	(void)state;
	expect_link(false, n);		/* no driver */
	d = drv_open();
	expect_link(false, n);		/* connected is not enough */
	drv_init(d, V1, 2);
	expect_link(true, ++n);		/* DRIVER_OK, port started */
	/* rte_eth_dev_set_link_down() / _up(): the driver is told (a
	 * configuration interrupt, the status bit); a start brings it up */
	drv_irqs(d, 0);
	assert_int_equal(rte_eth_dev_set_link_down(nic.port), 0);
	expect_link(false, ++n);
	assert_true(NIC_WAIT(drv_irqs(d, 0) >= 1, 1000));
	assert_false(netcfg_link(d));
	assert_int_equal(rte_eth_dev_set_link_down(nic.port), 0);
	expect_link(false, n);		/* no change, no event */
	assert_int_equal(rte_eth_dev_set_link_up(nic.port), 0);
	expect_link(true, ++n);
	assert_true(NIC_WAIT(drv_irqs(d, 0) >= 1, 1000));
	assert_true(netcfg_link(d));
	assert_int_equal(rte_eth_dev_set_link_down(nic.port), 0);
	expect_link(false, ++n);
	nic_port_stop();
	nic_port_start();
	expect_link(true, ++n);
	assert_true(netcfg_link(d));
	cc_w8(d, CC(device_status), 0);
	expect_link(false, ++n);	/* driver reset */
	drv_init(d, V1, 2);
	expect_link(true, ++n);
	assert_int_equal(rte_vfio_user_client_reset(d->c), 0);
	expect_link(false, ++n);	/* DEVICE_RESET */
	drv_init(d, V1, 2);
	expect_link(true, ++n);
	nic_port_stop();
	expect_link(false, ++n);	/* our side went down */
	nic_port_start();
	expect_link(true, ++n);
	nic_port_stop();
	expect_link(false, ++n);
	drv_init(d, V1, 2);		/* DRIVER_OK while stopped: still down */
	expect_link(false, n);
	nic_port_start();
	expect_link(true, ++n);
	drv_close(d);
	expect_link(false, ++n);	/* the driver went away */

	/* a driver that leaves with everything running */
	d = drv_open();
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	expect_link(true, ++n);
	drv_close(d);
	expect_link(false, ++n);
	/* and the next driver finds a reset device */
	d = drv_open();
	check_reset_state(d);
	drv_close(d);
}

/* ---- the socket: devarg sock_mode, a live server, the old name ---- */

static void
test_socket_devargs(void **state)
{
	char path[200], args[260];
	struct stat st, before;
	struct nic_drv *d;
	uint16_t port;

	(void)state;
	/* default mode 0600 (the fixture's port) */
	assert_int_equal(lstat(nic.sock, &before), 0);
	assert_true(S_ISSOCK(before.st_mode));
	assert_int_equal(before.st_mode & 07777, 0600);

	/* sock_mode=0660 */
	snprintf(path, sizeof(path), "%s/mode.sock", nic.dir);
	snprintf(args, sizeof(args), "path=%s,sock_mode=0660", path);
	assert_int_equal(rte_vdev_init("net_vfio_user9", args), 0);
	assert_int_equal(rte_eth_dev_get_port_by_name("net_vfio_user9", &port), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(rte_vdev_uninit("net_vfio_user9"), 0);
	assert_int_equal(access(path, F_OK), -1);
	/* bad values are refused, nothing is created */
	for (unsigned int i = 0; i < 5; i++) {
		static const char *const bad[] = {
			"0999", "01000", "-1", "rw", "",
		};

		snprintf(args, sizeof(args), "path=%s,sock_mode=%s", path, bad[i]);
		assert_true(rte_vdev_init("net_vfio_user9", args) < 0);
		assert_int_equal(access(path, F_OK), -1);
	}

	/* timeout: the library's default (the fixture's port), or what the
	 * devarg says, for each of the device's limits */
	{
		static const char *const bad[] = {
			"99", "3600001", "-1", "1s", "",
		};
		struct rte_vfio_user_timeouts t;
		int id = rte_vfio_user_get_dev_id(nic.sock);

		assert_true(id >= 0);
		assert_int_equal(rte_vfio_user_get_timeouts(id, &t), 0);
		assert_true(t.msg_ms == 5000 && t.reply_ms == 5000 &&
			    t.dma_ms == 5000);
		snprintf(args, sizeof(args), "path=%s,timeout=700", path);
		assert_int_equal(rte_vdev_init("net_vfio_user9", args), 0);
		id = rte_vfio_user_get_dev_id(path);
		assert_true(id >= 0);
		assert_int_equal(rte_vfio_user_get_timeouts(id, &t), 0);
		assert_true(t.msg_ms == 700 && t.reply_ms == 700 &&
			    t.dma_ms == 700);
		assert_int_equal(rte_vdev_uninit("net_vfio_user9"), 0);
		for (unsigned int i = 0; i < RTE_DIM(bad); i++) {
			snprintf(args, sizeof(args), "path=%s,timeout=%s", path,
				 bad[i]);
			assert_true(rte_vdev_init("net_vfio_user9", args) < 0);
			assert_int_equal(access(path, F_OK), -1);
		}
	}

	/* a second port on the socket our port serves (the same file under
	 * another name): refused with EADDRINUSE, the first one unharmed */
	snprintf(path, sizeof(path), "%s/./vnic.sock", nic.dir);
	snprintf(args, sizeof(args), "path=%s", path);
	assert_int_equal(rte_vdev_init("net_vfio_user8", args), -EADDRINUSE);
	assert_int_equal(lstat(nic.sock, &st), 0);
	assert_true(st.st_ino == before.st_ino && st.st_dev == before.st_dev);
	d = drv_open();
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	assert_true(NIC_WAIT(nic_link_up(), 2000));
	drv_close(d);

	/* the very path of a port of this process, and a path that is a
	 * file: EADDRINUSE too (the vdev bus takes EEXIST for "probed
	 * already" and would say nothing) */
	snprintf(args, sizeof(args), "path=%s", nic.sock);
	assert_int_equal(rte_vdev_init("net_vfio_user8", args), -EADDRINUSE);
	snprintf(path, sizeof(path), "%s/file", nic.dir);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fclose(f);
	}
	snprintf(args, sizeof(args), "path=%s", path);
	assert_int_equal(rte_vdev_init("net_vfio_user8", args), -EADDRINUSE);
	assert_int_equal(unlink(path), 0);

	/* devargs: an unknown key, a key given twice are refused; numbers
	 * are decimal (08 is 8) */
	snprintf(path, sizeof(path), "%s/args.sock", nic.dir);
	snprintf(args, sizeof(args), "path=%s,foo=1", path);
	assert_int_equal(rte_vdev_init("net_vfio_user9", args), -EINVAL);
	snprintf(args, sizeof(args), "path=%s,queues=1,queues=2", path);
	assert_int_equal(rte_vdev_init("net_vfio_user9", args), -EINVAL);
	snprintf(args, sizeof(args), "path=%s,queues", path);
	assert_int_equal(rte_vdev_init("net_vfio_user9", args), -EINVAL);
	snprintf(args, sizeof(args), "path=%s,queues=0x2", path);
	assert_int_equal(rte_vdev_init("net_vfio_user9", args), -EINVAL);
	/* each 0/1 key: anything else refused */
	for (unsigned int i = 0; i < 6; i++) {
		static const char *const key[] = {
			"packed_vq", "in_order",   "csum",
			"tso",	     "rx_partial", "ring_copy",
		};

		snprintf(args, sizeof(args), "path=%s,%s=%s", path, key[i],
			 i & 1 ? "2" : "yes");
		assert_int_equal(rte_vdev_init("net_vfio_user9", args),
				 -EINVAL);
	}
	assert_int_equal(access(path, F_OK), -1);
	snprintf(args, sizeof(args), "path=%s,queues=08", path);
	assert_int_equal(rte_vdev_init("net_vfio_user9", args), 0);
	assert_int_equal(rte_eth_dev_get_port_by_name("net_vfio_user9", &port),
			 0);
	{
		struct rte_eth_dev_info info;

		assert_int_equal(rte_eth_dev_info_get(port, &info), 0);
		assert_int_equal(info.max_rx_queues, 8);
	}
	assert_int_equal(rte_vdev_uninit("net_vfio_user9"), 0);

	/* the frontend's old name is not ours to serve */
	snprintf(path, sizeof(path), "%s/old.sock", nic.dir);
	snprintf(args, sizeof(args), "path=%s", path);
	assert_true(rte_vdev_init("net_vfio_user_client0", args) < 0);
	assert_int_equal(access(path, F_OK), -1);
}

/* The driver's side of test_close_settles: waits for the configuration
 * interrupt, then reads the link status (as Linux's virtio_net does) */
struct cfg_reader {
	struct nic_drv *d;
	int ret;
	uint16_t status;
};

static void *
cfg_reader_run(void *arg)
{
	struct cfg_reader *r = arg;
	struct pollfd pf = { .fd = r->d->efd[0], .events = POLLIN };

	r->ret = -ETIMEDOUT;
	if (poll(&pf, 1, 5000) != 1)
		return NULL;
	drv_irqs(r->d, 0);
	r->ret = rte_vfio_user_client_region_read(
		r->d->c, NIC_BAR,
		r->d->devcfg + offsetof(struct virtio_net_config, status),
		&r->status, sizeof(r->status));
	return NULL;
}

/*
 * A port closed right after its stop: the stop tells the driver the link
 * went down, and the driver reads the configuration next. The device stays
 * served until it has (QEMU would answer a read after the connection went
 * with all ones, which a Linux guest takes for VIRTIO_NET_S_ANNOUNCE and
 * hangs on), at most VUN_SETTLE_MS (1 s); a driver that does not read
 * does not hold the close longer, and one whose configuration vector is
 * masked (nothing reached it) does not hold it at all.
 */
static void
test_close_settles(void **state)
{
	enum {
		NO_READ,
		READS,
		MASKED,
		CASES
	};
	char path[PATH_MAX], args[PATH_MAX + 32];
	struct cfg_reader r = { 0 };
	struct nic_drv *d;
	pthread_t th;
	uint64_t t0, ms[CASES];
	uint16_t port;

	(void)state;
	snprintf(path, sizeof(path), "%s/settle.sock", nic.dir);
	snprintf(args, sizeof(args), "path=%s,queues=%u", path, NIC_QUEUES);
	for (int c = 0; c < CASES; c++) {
		assert_int_equal(rte_vdev_init("net_vfio_user7", args), 0);
		assert_int_equal(rte_eth_dev_get_port_by_name("net_vfio_user7",
							      &port),
				 0);
		assert_int_equal(nic_port_configure_at(port, NIC_MTU), 0);
		assert_int_equal(rte_eth_dev_start(port), 0);
		d = drv_open_at(path);
		drv_init(d, NIC_OFFERED, NIC_NVQS);
		drv_irqs_clear(d);
		if (c == MASKED) {	/* vector 0's control word: masked */
			uint32_t v = RTE_VFIO_USER_PCI_MSIX_ENTRY_CTRL_MASKBIT;

			bar_write(d, NIC_MSIX_BAR, 12, &v, 4);
		}
		r = (struct cfg_reader){ .d = d };
		if (c == READS)
			assert_int_equal(pthread_create(&th, NULL,
							cfg_reader_run, &r),
					 0);
		assert_int_equal(rte_eth_dev_stop(port), 0);
		t0 = nic_now_ms();
		assert_int_equal(rte_vdev_uninit("net_vfio_user7"), 0);
		ms[c] = nic_now_ms() - t0;
		if (c == READS) {
			pthread_join(th, NULL);
			/* read while still served, and it said link down */
			assert_int_equal(r.ret, 0);
			assert_int_equal(r.status & VIRTIO_NET_S_LINK_UP, 0);
		}
		drv_close(d);
	}
	print_message("close: %" PRIu64 " ms with a driver that reads the "
		      "change, %" PRIu64 " ms with one that does not, %" PRIu64
		      " ms with its vector masked\n",
		      ms[READS], ms[NO_READ], ms[MASKED]);
	assert_true(ms[READS] < 900);
	assert_true(ms[NO_READ] >= 900 && ms[NO_READ] < 3000);
	assert_true(ms[MASKED] < 900);
}

#define T(f) cmocka_unit_test_setup_teardown(f, nic_test_setup, nic_test_teardown)

int
main(void)
{
#define TM(f) cmocka_unit_test_setup_teardown(f, nic_test_setup, model_teardown)
	const struct CMUnitTest tests[] = {
		T(test_config_ids),
		T(test_bar_sizing),
		T(test_cap_chain),
		T(test_pci_cfg_window),
		T(test_msix_table),
		T(test_features),
		T(test_device_config),
		T(test_configure_mtu),
		TM(test_rx_sets),
		TM(test_tx_shared),
		TM(test_ring_reset),
		T(test_feature_dependencies),
		TM(test_config_generation_wrap),
		TM(test_pending_msix_after_reset),
		T(test_used_flags_event_idx),
		T(test_reset_status0),
		T(test_reset_device),
		T(test_pm_reset),
		T(test_link),
		T(test_socket_devargs),
		T(test_close_settles),
	};

	if (nic_group_setup("nic_model") < 0)
		return 1;
	return cmocka_run_group_tests_name("nic_model", tests, NULL,
					   nic_group_teardown);
}
