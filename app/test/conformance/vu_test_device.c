/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * vu_test_device: a small PCI device served with librte_vfio_user, the
 * server under test of the protocol conformance suite.
 *
 *   vu_test_device --socket-path=PATH | --fd=N [--msg-timeout=MS]
 *
 * Prints "ready <address>" on stdout once it listens, and exits 0 on
 * SIGTERM or SIGINT after unregistering the device.
 *
 * Regions (PCI indexes):
 *   0  BAR0    4 KiB  read/write register file (access callback); reset
 *                     clears it
 *   2  BAR2   64 KiB  read/write and mmappable: a memfd, BAR2 at offset
 *                     BAR2_FD_OFFSET in it; sparse areas [0, 16K) and
 *                     [32K, 48K); a TYPE cap too, so its chain has two links
 *   4  BAR4    4 KiB  read/write, two ioeventfd sub-regions
 *   7  config  256 B  read/write, a plausible type 0 header
 *   9  device-specific 4 KiB read-only region, TYPE cap 0x8086/1
 *   1, 3, 5, 6, 8: size 0
 * IRQ types: INTx 1, MSI 1, MSI-X 8, ERR 1, REQ 1.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_vfio_user.h>

#include "vu_test_device.h"

/* A region backed by plain memory. */
struct mem_region {
	uint8_t *base;
	size_t size;
};

static uint8_t bar0[VU_TD_BAR0_SIZE];
static uint8_t bar4[VU_TD_BAR4_SIZE];
static uint8_t cfg[VU_TD_CFG_SIZE];
static uint8_t devspec[VU_TD_R9_SIZE];

static struct mem_region bar0_mr = { bar0, sizeof(bar0) };
static struct mem_region bar2_mr;	/* set up from the memfd */
static struct mem_region bar4_mr = { bar4, sizeof(bar4) };
static struct mem_region cfg_mr = { cfg, sizeof(cfg) };
static struct mem_region devspec_mr = { devspec, sizeof(devspec) };

static ssize_t
mem_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	   bool is_write)
{
	struct mem_region *mr = priv;

	(void)dev_id;
	/* the library checked the bounds; a device model checks anyway */
	if (offset > mr->size || count > mr->size - offset)
		return -EINVAL;
	if (is_write)
		memcpy(mr->base + offset, buf, count);
	else
		memcpy(buf, mr->base + offset, count);
	return (ssize_t)count;
}

static int
reset_device(int dev_id)
{
	(void)dev_id;
	memset(bar0, 0, sizeof(bar0));
	return 0;
}

static void
cfg_init(void)
{
	uint16_t w;
	uint32_t d;

	memset(cfg, 0, sizeof(cfg));
	w = VU_TD_VENDOR_ID;
	memcpy(&cfg[0x00], &w, 2);
	w = VU_TD_DEVICE_ID;
	memcpy(&cfg[0x02], &w, 2);
	w = 0x0010;			/* status: capabilities list */
	memcpy(&cfg[0x06], &w, 2);
	d = (uint32_t)VU_TD_CLASS << 8 | 0x01;	/* class code, revision 1 */
	memcpy(&cfg[0x08], &d, 4);
	cfg[0x0e] = 0x00;		/* header type 0 */
	d = 0x00000000;			/* BAR0: 32-bit memory */
	memcpy(&cfg[0x10], &d, 4);
	w = VU_TD_VENDOR_ID;		/* subsystem ids */
	memcpy(&cfg[0x2c], &w, 2);
	w = 0x0001;
	memcpy(&cfg[0x2e], &w, 2);
	cfg[0x34] = 0x00;		/* no capability yet */
	cfg[0x3d] = 0x01;		/* interrupt pin INTA */
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s --socket-path=PATH | --fd=N "
		"[--msg-timeout=MS]\n",
		prog);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket-path", required_argument, NULL, 'p' },
		{ "fd", required_argument, NULL, 'f' },
		{ "msg-timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct rte_vfio_user_sparse_area bar2_sparse[] = {
		{ .offset = VU_TD_BAR2_SPARSE0_OFF, .size = VU_TD_BAR2_SPARSE0_SIZE },
		{ .offset = VU_TD_BAR2_SPARSE1_OFF, .size = VU_TD_BAR2_SPARSE1_SIZE },
	};
	struct rte_vfio_user_io_fd bar4_io[2] = {
		{ .offset = VU_TD_BAR4_IO0_OFF, .size = 4, .fd = -1 },
		{ .offset = VU_TD_BAR4_IO1_OFF, .size = 4, .fd = -1,
		  .datamatch = true, .data = VU_TD_BAR4_IO1_DATA },
	};
	const struct rte_vfio_user_notify_ops ops = {
		.reset_device = reset_device,
	};
	const struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = VU_TD_NUM_REGIONS,
		.num_irqs = VU_TD_NUM_IRQS,
	};
	const struct rte_vfio_user_irq_info irqs[VU_TD_NUM_IRQS] = {
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD |
			   RTE_VFIO_USER_IRQ_F_MASKABLE |
			   RTE_VFIO_USER_IRQ_F_AUTOMASKED, .count = 1 },
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD |
			   RTE_VFIO_USER_IRQ_F_NORESIZE, .count = 1 },
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD |
			   RTE_VFIO_USER_IRQ_F_NORESIZE, .count = VU_TD_MSIX_COUNT },
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD, .count = 1 },
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD, .count = 1 },
	};
	struct rte_vfio_user_timeouts tmo = { 0 };
	struct rte_vfio_user_region reg;
	const char *path = NULL;
	char addr[PATH_MAX];
	int given_fd = -1, memfd = -1, dev_id = -1, sig, opt, ret, rc = 1;
	void *bar2_map = MAP_FAILED;
	sigset_t set;
	uint32_t i;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		case 'f': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX) {
				usage(argv[0]);
				return 2;
			}
			given_fd = (int)v;
			break;
		}
		case 't': {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v == 0 ||
			    v > RTE_VFIO_USER_TIMEOUT_MS_MAX) {
				usage(argv[0]);
				return 2;
			}
			tmo.msg_ms = (uint32_t)v;
			break;
		}
		default:
			usage(argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if ((path == NULL) == (given_fd < 0) || optind != argc) {
		usage(argv[0]);
		return 2;
	}

	/* Signals are taken with sigwait(): block them before the library
	 * starts its thread, which inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	cfg_init();
	for (i = 0; i < sizeof(devspec); i++)
		devspec[i] = (uint8_t)(i * 7 + 3);

	memfd = memfd_create("vu-test-bar2", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, VU_TD_BAR2_FD_SIZE) < 0) {
		perror("memfd");
		goto out;
	}
	bar2_map = mmap(NULL, VU_TD_BAR2_FD_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED, memfd, 0);
	if (bar2_map == MAP_FAILED) {
		perror("mmap");
		goto out;
	}
	bar2_mr.base = (uint8_t *)bar2_map + VU_TD_BAR2_FD_OFFSET;
	bar2_mr.size = VU_TD_BAR2_SIZE;
	for (i = 0; i < 2; i++) {
		bar4_io[i].fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (bar4_io[i].fd < 0) {
			perror("eventfd");
			goto out;
		}
	}

	if (path != NULL)
		dev_id = rte_vfio_user_register(path, &ops, NULL);
	else
		dev_id = rte_vfio_user_register_fd(given_fd, &ops, NULL);
	if (dev_id < 0) {
		fprintf(stderr, "register: %s\n", strerror(-dev_id));
		if (path == NULL)
			close(given_fd);
		goto out;
	}
	ret = rte_vfio_user_set_dev_info(dev_id, &info);
	if (ret < 0)
		goto err;
	ret = rte_vfio_user_set_timeouts(dev_id, &tmo);
	if (ret < 0)
		goto err;

	memset(&reg, 0, sizeof(reg));
	reg.size = VU_TD_BAR0_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE;
	reg.access = mem_access;
	reg.priv = &bar0_mr;
	reg.mmap_fd = -1;
	ret = rte_vfio_user_set_reg_info(dev_id, VU_TD_R_BAR0, &reg);
	if (ret < 0)
		goto err;

	memset(&reg, 0, sizeof(reg));
	reg.size = VU_TD_BAR2_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE |
		RTE_VFIO_USER_REG_F_MMAP;
	reg.access = mem_access;
	reg.priv = &bar2_mr;
	reg.mmap_fd = memfd;
	reg.mmap_offset = VU_TD_BAR2_FD_OFFSET;
	reg.nr_sparse = 2;
	reg.sparse = bar2_sparse;
	reg.type = VU_TD_BAR2_TYPE;
	reg.subtype = VU_TD_BAR2_SUBTYPE;
	ret = rte_vfio_user_set_reg_info(dev_id, VU_TD_R_BAR2, &reg);
	if (ret < 0)
		goto err;

	memset(&reg, 0, sizeof(reg));
	reg.size = VU_TD_BAR4_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE;
	reg.access = mem_access;
	reg.priv = &bar4_mr;
	reg.mmap_fd = -1;
	reg.nr_io_fds = 2;
	reg.io_fds = bar4_io;
	ret = rte_vfio_user_set_reg_info(dev_id, VU_TD_R_BAR4, &reg);
	if (ret < 0)
		goto err;

	memset(&reg, 0, sizeof(reg));
	reg.size = VU_TD_CFG_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE;
	reg.access = mem_access;
	reg.priv = &cfg_mr;
	reg.mmap_fd = -1;
	ret = rte_vfio_user_set_reg_info(dev_id, VU_TD_R_CFG, &reg);
	if (ret < 0)
		goto err;

	memset(&reg, 0, sizeof(reg));
	reg.size = VU_TD_R9_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ;
	reg.access = mem_access;
	reg.priv = &devspec_mr;
	reg.mmap_fd = -1;
	reg.type = VU_TD_R9_TYPE;
	reg.subtype = VU_TD_R9_SUBTYPE;
	ret = rte_vfio_user_set_reg_info(dev_id, VU_TD_R_DEVSPEC, &reg);
	if (ret < 0)
		goto err;

	for (i = 0; i < VU_TD_NUM_IRQS; i++) {
		ret = rte_vfio_user_set_irq_info(dev_id, i, &irqs[i]);
		if (ret < 0)
			goto err;
	}

	ret = rte_vfio_user_start(dev_id);
	if (ret < 0)
		goto err;
	if (rte_vfio_user_get_sock_addr(dev_id, addr, sizeof(addr)) < 0)
		snprintf(addr, sizeof(addr), "%s", path != NULL ? path : "fd");
	printf("ready %s\n", addr);
	fflush(stdout);

	do {
		ret = sigwait(&set, &sig);
	} while (ret == EINTR);
	if (ret != 0) {
		fprintf(stderr, "sigwait: %s\n", strerror(ret));
		goto out;
	}
	rc = 0;
	goto out;

err:
	fprintf(stderr, "device setup: %s\n", strerror(-ret));
out:
	if (dev_id >= 0) {
		ret = rte_vfio_user_unregister(dev_id);
		if (ret < 0) {
			fprintf(stderr, "unregister: %s\n", strerror(-ret));
			rc = 1;
		}
	}
	for (i = 0; i < 2; i++)
		if (bar4_io[i].fd >= 0)
			close(bar4_io[i].fd);
	if (bar2_map != MAP_FAILED)
		munmap(bar2_map, VU_TD_BAR2_FD_SIZE);
	if (memfd >= 0)
		close(memfd);
	return rc;
}
