/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The smallest useful vfio-user device: a PCI function (1234:5e1e) with one
 * 4 KiB memory BAR of scratch registers, served on a UNIX socket until
 * SIGINT or SIGTERM, in a DPDK application (so DPDK's telemetry shows it:
 * dpdk-telemetry.py, /vfio_user/info). It is built out of tree against an
 * installed dpdk-vfio-user with nothing but pkg-config (see the Makefile):
 *
 *   make
 *   ./build/dpdk-vfio-user-skeleton --no-huge -m 64 --no-pci -- /tmp/skel.sock
 *   dpdk-vfio-user-info /tmp/skel.sock
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>
#include <vfio_user_proto.h>	/* region and IRQ indexes of a PCI device */

#define SKEL_VENDOR_ID	0x1234
#define SKEL_DEVICE_ID	0x5e1e
#define SKEL_CLASS	0xff0000	/* unclassified device */
#define BAR0_SIZE	4096

static uint8_t regs[BAR0_SIZE];		/* BAR0: scratch registers */

/* Region callback: the library checked that [offset, offset + count) is
 * inside the region. The event thread is the only caller. */
static ssize_t
bar0_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	    bool is_write)
{
	(void)dev_id;
	(void)priv;
	if (is_write)
		memcpy(regs + offset, buf, count);
	else
		memcpy(buf, regs + offset, count);
	return (ssize_t)count;
}

static int
setup(int id, struct rte_vfio_user_pci *pci)
{
	static const struct rte_vfio_user_pci_ids ids = {
		.vendor_id = SKEL_VENDOR_ID,
		.device_id = SKEL_DEVICE_ID,
		.subsystem_vendor_id = SKEL_VENDOR_ID,
		.subsystem_id = SKEL_DEVICE_ID,
		.class_code = SKEL_CLASS,
	};
	const struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI,
		.num_regions = VFIO_USER_PCI_NUM_REGIONS,
		.num_irqs = VFIO_USER_PCI_NUM_IRQS,
	};
	const struct rte_vfio_user_region bar0 = {
		.size = BAR0_SIZE,
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = bar0_access,
		.mmap_fd = -1,
	};
	struct rte_vfio_user_region cfg;
	int ret;

	/* the config space: ids, BAR0; the PCI helpers serve it */
	ret = rte_vfio_user_pci_set_ids(pci, &ids);
	if (ret == 0)
		ret = rte_vfio_user_pci_set_bar(pci, 0, BAR0_SIZE,
						RTE_VFIO_USER_PCI_BAR_MEM);
	if (ret == 0)
		ret = rte_vfio_user_pci_fill_cfg_region(pci, &cfg);
	/* the device: 9 PCI regions (BAR0 and config exist), no IRQs */
	if (ret == 0)
		ret = rte_vfio_user_set_dev_info(id, &info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(
			id, VFIO_USER_PCI_BAR0_REGION_INDEX, &bar0);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(
			id, VFIO_USER_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret == 0)
		ret = rte_vfio_user_pci_attach(pci, id);
	return ret;
}

int
main(int argc, char **argv)
{
	struct rte_vfio_user_pci *pci;
	const char *path;
	sigset_t sigs;
	int id, ret, sig;

	/* signals are taken with sigwait(), blocked before EAL and the
	 * library start their threads so that they inherit the mask */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "cannot initialize EAL\n");
		return 1;
	}
	if (argc - ret != 2) {
		fprintf(stderr, "usage: %s [EAL options] -- SOCKET-PATH\n",
			argv[0]);
		rte_eal_cleanup();
		return 2;
	}
	path = argv[ret + 1];

	ret = 1;
	pci = rte_vfio_user_pci_create(RTE_VFIO_USER_PCI_CFG_SIZE);
	if (pci == NULL)
		goto out;
	id = rte_vfio_user_register(path, NULL, NULL);
	if (id < 0) {
		fprintf(stderr, "register %s: %s\n", path, strerror(-id));
		goto out;
	}
	ret = setup(id, pci);
	if (ret == 0)
		ret = rte_vfio_user_start(id);
	if (ret == 0) {
		printf("device %04x:%04x (vfio-user device %d) on %s\n",
		       SKEL_VENDOR_ID, SKEL_DEVICE_ID, id, path);
		fflush(stdout);
		sigwait(&sigs, &sig);
	} else {
		fprintf(stderr, "cannot start the device: %s\n",
			strerror(-ret));
	}
	rte_vfio_user_pci_attach(pci, -1);
	rte_vfio_user_unregister(id);
out:
	rte_vfio_user_pci_free(pci);
	rte_eal_cleanup();
	return ret == 0 ? 0 : 1;
}
