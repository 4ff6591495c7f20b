/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * A sample device for the dpdk-vfio-user-info test: a virtio-net-like PCI
 * function (1af4:1041, class 020000) whose config space has a capability
 * list at 0x40 with MSI-X (3 vectors, table and PBA in BAR1) and a virtio
 * vendor capability (common cfg in BAR4). BAR1 is 4 KiB, BAR4 16 KiB,
 * 64-bit prefetchable and mappable in part.
 *
 * Usage: info_test_device <socket-path>
 * Prints "ready" once it listens; exits 0 on SIGTERM (or SIGINT).
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <rte_vfio_user.h>

#define CFG_SIZE	256
#define BAR1_SIZE	4096
#define BAR4_SIZE	16384

static uint8_t cfg[CFG_SIZE];
static uint8_t bar1[BAR1_SIZE];
static uint8_t *bar4;

static void
wr16(unsigned int off, uint16_t v)
{
	cfg[off] = (uint8_t)v;
	cfg[off + 1] = (uint8_t)(v >> 8);
}

static void
wr32(unsigned int off, uint32_t v)
{
	wr16(off, (uint16_t)v);
	wr16(off + 2, (uint16_t)(v >> 16));
}

static void
build_config(void)
{
	wr16(0x00, 0x1af4);		/* vendor */
	wr16(0x02, 0x1041);		/* device: virtio 1.0 net */
	wr16(0x04, 0x0000);		/* command */
	wr16(0x06, 0x0010);		/* status: capability list */
	cfg[0x08] = 0x01;		/* revision */
	cfg[0x09] = 0x00;		/* class 02 00 00: ethernet */
	cfg[0x0a] = 0x00;
	cfg[0x0b] = 0x02;
	cfg[0x0e] = 0x00;		/* header type 0 */
	wr32(0x14, 0x00000000);		/* BAR1: 32-bit memory */
	wr32(0x20, 0x0000000c);		/* BAR4: 64-bit prefetchable memory */
	wr32(0x24, 0x00000000);
	wr16(0x2c, 0x1af4);		/* subsystem vendor */
	wr16(0x2e, 0x1100);		/* subsystem */
	cfg[0x34] = 0x40;		/* capabilities */
	cfg[0x3d] = 0x01;		/* INTA# */

	/* MSI-X: 3 vectors, table at BAR1 + 0, PBA at BAR1 + 0x800 */
	cfg[0x40] = 0x11;
	cfg[0x41] = 0x4c;
	wr16(0x42, 3 - 1);
	wr32(0x44, 0x00000000 | 1);
	wr32(0x48, 0x00000800 | 1);

	/* virtio vendor capability: common cfg, BAR4 [0, 0x38) */
	cfg[0x4c] = 0x09;
	cfg[0x4d] = 0x5c;
	cfg[0x4e] = 16;			/* cap_len */
	cfg[0x4f] = 1;			/* cfg_type: common */
	cfg[0x50] = 4;			/* bar */
	wr32(0x54, 0);			/* offset */
	wr32(0x58, 0x38);		/* length */

	/* power management 1.2: D1, D2, PME from D3hot; in D3hot with
	 * No_Soft_Reset, PME enabled */
	cfg[0x5c] = 0x01;
	cfg[0x5d] = 0x00;
	wr16(0x5e, 0x4603);
	wr16(0x60, 0x010b);
}

static ssize_t
access_mem(int dev_id, void *priv, char *buf, size_t count, uint64_t off,
	   bool is_write)
{
	uint8_t *p = priv;

	(void)dev_id;
	if (is_write) {
		if (p == cfg)	/* config space is read-only here */
			return (ssize_t)count;
		memcpy(p + off, buf, count);
	} else {
		memcpy(buf, p + off, count);
	}
	return (ssize_t)count;
}

int
main(int argc, char **argv)
{
	const uint32_t rw = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE;
	struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = 9,	/* BAR0-5, ROM, config, VGA */
		.num_irqs = 5,		/* INTx, MSI, MSI-X, ERR, REQ */
	};
	static const struct rte_vfio_user_sparse_area bar4_sparse[] = {
		{ .offset = 0x1000, .size = 0x3000 },
	};
	struct rte_vfio_user_region reg;
	struct rte_vfio_user_irq_info irq;
	sigset_t set;
	int id, sig, fd, ret = 0;

	if (argc != 2) {
		fprintf(stderr, "Usage: %s <socket-path>\n", argv[0]);
		return 2;
	}
	/* block the signals before the library starts its thread */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	build_config();
	fd = memfd_create("bar4", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, BAR4_SIZE) < 0) {
		perror("memfd");
		return 1;
	}
	bar4 = mmap(NULL, BAR4_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar4 == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	id = rte_vfio_user_register(argv[1], NULL, NULL);
	if (id < 0) {
		fprintf(stderr, "register %s: %s\n", argv[1], strerror(-id));
		return 1;
	}
	ret |= rte_vfio_user_set_dev_info(id, &info);
	reg = (struct rte_vfio_user_region){
		.size = BAR1_SIZE, .flags = rw, .access = access_mem,
		.priv = bar1, .mmap_fd = -1,
	};
	ret |= rte_vfio_user_set_reg_info(id, 1, &reg);
	reg = (struct rte_vfio_user_region){
		.size = BAR4_SIZE, .flags = rw | RTE_VFIO_USER_REG_F_MMAP,
		.access = access_mem, .priv = bar4, .mmap_fd = fd,
		.nr_sparse = 1, .sparse = bar4_sparse,
	};
	ret |= rte_vfio_user_set_reg_info(id, 4, &reg);
	reg = (struct rte_vfio_user_region){
		.size = CFG_SIZE, .flags = rw, .access = access_mem,
		.priv = cfg, .mmap_fd = -1,
	};
	ret |= rte_vfio_user_set_reg_info(id, 7, &reg);
	irq = (struct rte_vfio_user_irq_info){
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE |
			RTE_VFIO_USER_IRQ_F_AUTOMASKED,
		.count = 1,
	};
	ret |= rte_vfio_user_set_irq_info(id, 0, &irq);
	irq = (struct rte_vfio_user_irq_info){
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_NORESIZE,
		.count = 3,
	};
	ret |= rte_vfio_user_set_irq_info(id, 2, &irq);
	if (ret != 0) {
		fprintf(stderr, "device description refused\n");
		rte_vfio_user_unregister(id);
		return 1;
	}
	ret = rte_vfio_user_start(id);
	if (ret < 0) {
		fprintf(stderr, "start: %s\n", strerror(-ret));
		rte_vfio_user_unregister(id);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	while (sigwait(&set, &sig) != 0)
		;
	rte_vfio_user_unregister(id);
	munmap(bar4, BAR4_SIZE);
	close(fd);
	return 0;
}
