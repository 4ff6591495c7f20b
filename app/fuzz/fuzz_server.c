/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * fuzz_server: the server's message handling, fed arbitrary message
 * sequences with arbitrary fds.
 *
 * Each input is one client connection to a PCI device served by
 * librte_vfio_user: the device is registered on one end of a socket pair
 * (rte_vfio_user_register_fd(), as a backend started with --fd), so every
 * byte goes through the real path: the event thread, the framing and
 * SCM_RIGHTS handling of vu_transport.c, the dispatcher's checks in
 * vu_server.c and the handlers, the PCI config space and MSI-X code of
 * vu_pci.c behind region 7 and BAR0. The harness writes the input's
 * messages on the other end, reads (and drops) what comes back, then
 * closes its end and waits for the device to be idle. Each input ends
 * with the device unregistered and checks that every fd and every
 * mapping of the memfds it passed is gone.
 *
 * Input: records until the input ends, each
 *   u8  ctl      bits 0-5: number of fds; bit 6: keep the header's
 *                msg_size as given (else 16 + len); bit 7: send in two
 *                writes, split at the u16 that follows len
 *   u8  kind[n]  fd kinds (fuzz_make_fd())
 *   u16 len      payload bytes
 *   [u16 split]  with bit 7
 *   16 bytes     the header (msg_id, cmd, msg_size, flags, error_no)
 *   len bytes    the payload
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_log.h>

#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include "fuzz_common.h"

#define BAR0_SIZE	4096
#define BAR2_SIZE	(64 * 1024)
#define BAR2_FD_OFFSET	(64 * 1024)
#define BAR4_SIZE	4096
#define R9_SIZE		4096
#define MSIX_VECTORS	8
#define MSIX_TABLE	0x800
#define MSIX_PBA	0xc00

/* Device state, rebuilt for every input. */
static struct {
	struct rte_vfio_user_pci *pci;
	uint8_t bar0[BAR0_SIZE];
	uint8_t bar4[BAR4_SIZE];
	uint8_t r9[R9_SIZE];
	uint8_t *bar2;		/* mapping of bar2_fd */
	int bar2_fd;
	int io_fd[2];
	int dev_id;
	volatile uint64_t sink;	/* reads of mapped client memory go here */
} dev = { .bar2_fd = -1, .io_fd = { -1, -1 }, .dev_id = -1 };

struct mem {
	uint8_t *base;
	size_t size;
};
static struct mem bar2_mem, bar4_mem, r9_mem;

static ssize_t
mem_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	   bool is_write)
{
	struct mem *m = priv;

	(void)dev_id;
	if (offset > m->size || count > m->size - offset)
		fuzz_fail("region access [%#lx, +%zu) outside %zu bytes",
			  (unsigned long)offset, count, m->size);
	if (is_write)
		memcpy(m->base + offset, buf, count);
	else
		memcpy(buf, m->base + offset, count);
	return (ssize_t)count;
}

static ssize_t
bar0_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	    bool is_write)
{
	ssize_t ret;

	(void)priv;
	if (offset > BAR0_SIZE || count > BAR0_SIZE - offset)
		fuzz_fail("BAR0 access [%#lx, +%zu) outside the BAR",
			  (unsigned long)offset, count);
	ret = rte_vfio_user_pci_msix_access(dev.pci, 0, buf, count, offset,
					    is_write);
	if (ret != 0)
		return ret;
	(void)dev_id;
	if (is_write)
		memcpy(dev.bar0 + offset, buf, count);
	else
		memcpy(buf, dev.bar0 + offset, count);
	return (ssize_t)count;
}

/* What a device model does with a new table: touch the client memory.
 * A region mapped beyond its fd would fault here. */
static int
update_status(int dev_id, enum rte_vfio_user_status st)
{
	const struct rte_vfio_user_mem_table *t;
	const struct rte_vfio_user_mem_segment *r, *prev = NULL;
	uint64_t sum = 0;

	if (st != RTE_VFIO_USER_DMA_CHANGED)
		return 0;
	t = rte_vfio_user_get_mem_table(dev_id);
	for (r = rte_vfio_user_mem_next(t, 0); r != NULL;
	     prev = r,
	    r = r->iova + r->size == 0 ?
			NULL :
			rte_vfio_user_mem_next(t, r->iova + r->size)) {
		if (prev != NULL && r->iova < prev->iova + prev->size)
			fuzz_fail("memory table segments at 0x%" PRIx64
				  " and 0x%" PRIx64 " overlap",
				  prev->iova, r->iova);
		if (r->vaddr == NULL || !(r->prot & RTE_VFIO_USER_MEM_F_READ))
			continue;
		sum += r->vaddr[0] + r->vaddr[r->size - 1];
	}
	dev.sink += sum;
	return 0;
}

static int
reset_device(int dev_id)
{
	(void)dev_id;
	memset(dev.bar0, 0, sizeof(dev.bar0));
	return rte_vfio_user_pci_reset(dev.pci);
}

static void
check(int ret, const char *what)
{
	if (ret < 0)
		fuzz_fail("device setup: %s: %s", what, strerror(-ret));
}

/* Register and start the device on fd (a connected socket). */
static void
device_up(int fd)
{
	static const struct rte_vfio_user_notify_ops ops = {
		.update_status = update_status,
		.reset_device = reset_device,
	};
	static const struct rte_vfio_user_sparse_area bar2_sparse[] = {
		{ .offset = 0, .size = 16 * 1024 },
		{ .offset = 32 * 1024, .size = 16 * 1024 },
	};
	static const struct rte_vfio_user_pci_ids ids = {
		.vendor_id = 0x1b36,
		.device_id = 0x11f0,
		.subsystem_vendor_id = 0x1b36,
		.subsystem_id = 1,
		.class_code = 0xff0000,
		.revision_id = 1,
	};
	const struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = 10,	/* the PCI ones and a device-specific one */
		.num_irqs = VFIO_USER_PCI_NUM_IRQS,
	};
	const struct rte_vfio_user_irq_info irqs[] = {
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD |
			   RTE_VFIO_USER_IRQ_F_MASKABLE |
			   RTE_VFIO_USER_IRQ_F_AUTOMASKED,
		  .count = 1 },
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD |
			   RTE_VFIO_USER_IRQ_F_NORESIZE,
		  .count = 1 },
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD |
			   RTE_VFIO_USER_IRQ_F_MASKABLE,
		  .count = MSIX_VECTORS },
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD, .count = 1 },
		{ .flags = RTE_VFIO_USER_IRQ_F_EVENTFD, .count = 1 },
	};
	struct rte_vfio_user_io_fd io[2] = {
		{ .offset = 0, .size = 4, .fd = dev.io_fd[0] },
		{ .offset = 0x100,
		  .size = 4,
		  .fd = dev.io_fd[1],
		  .datamatch = true,
		  .data = 0x1234 },
	};
	struct rte_vfio_user_region reg;
	int id;

	memset(dev.bar0, 0, sizeof(dev.bar0));
	memset(dev.bar4, 0, sizeof(dev.bar4));
	memset(dev.bar2, 0, BAR2_SIZE);
	dev.pci = rte_vfio_user_pci_create(RTE_VFIO_USER_PCI_CFG_SIZE_EXT);
	if (dev.pci == NULL)
		fuzz_fail("rte_vfio_user_pci_create: %s", strerror(errno));
	check(rte_vfio_user_pci_set_ids(dev.pci, &ids), "ids");
	check(rte_vfio_user_pci_set_irq_pin(dev.pci, 1), "pin");
	check(rte_vfio_user_pci_set_bar(dev.pci, 0, BAR0_SIZE, 0), "bar0");
	check(rte_vfio_user_pci_set_bar(dev.pci, 2, BAR2_SIZE,
					RTE_VFIO_USER_PCI_BAR_64),
	      "bar2");
	check(rte_vfio_user_pci_set_bar(dev.pci, 4, BAR4_SIZE, 0), "bar4");
	check(rte_vfio_user_pci_add_msix(dev.pci, MSIX_VECTORS, 0, MSIX_TABLE,
					 0, MSIX_PBA),
	      "msix");

	id = rte_vfio_user_register_fd(fd, &ops, NULL);
	check(id, "register_fd");
	dev.dev_id = id;
	check(rte_vfio_user_set_dev_info(id, &info), "dev info");

	memset(&reg, 0, sizeof(reg));
	reg.size = BAR0_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE;
	reg.access = bar0_access;
	reg.mmap_fd = -1;
	check(rte_vfio_user_set_reg_info(id, 0, &reg), "bar0 region");

	memset(&reg, 0, sizeof(reg));
	reg.size = BAR2_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE |
		    RTE_VFIO_USER_REG_F_MMAP;
	reg.access = mem_access;
	reg.priv = &bar2_mem;
	reg.mmap_fd = dev.bar2_fd;
	reg.mmap_offset = BAR2_FD_OFFSET;
	reg.nr_sparse = 2;
	reg.sparse = bar2_sparse;
	reg.type = 0x8086;
	reg.subtype = 2;
	check(rte_vfio_user_set_reg_info(id, 2, &reg), "bar2 region");

	memset(&reg, 0, sizeof(reg));
	reg.size = BAR4_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE;
	reg.access = mem_access;
	reg.priv = &bar4_mem;
	reg.mmap_fd = -1;
	reg.nr_io_fds = 2;
	reg.io_fds = io;
	check(rte_vfio_user_set_reg_info(id, 4, &reg), "bar4 region");

	check(rte_vfio_user_pci_fill_cfg_region(dev.pci, &reg), "cfg fill");
	check(rte_vfio_user_set_reg_info(id, VFIO_USER_PCI_CONFIG_REGION_INDEX,
					 &reg),
	      "cfg region");

	memset(&reg, 0, sizeof(reg));
	reg.size = R9_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ;
	reg.access = mem_access;
	reg.priv = &r9_mem;
	reg.mmap_fd = -1;
	reg.type = 0x8086;
	reg.subtype = 1;
	check(rte_vfio_user_set_reg_info(id, 9, &reg), "region 9");

	for (uint32_t i = 0; i < RTE_DIM(irqs); i++)
		check(rte_vfio_user_set_irq_info(id, i, &irqs[i]), "irq info");
	check(rte_vfio_user_start(id), "start");
	check(rte_vfio_user_pci_attach(dev.pci, id), "pci attach");
}

static void
device_down(void)
{
	int ret;

	rte_vfio_user_pci_attach(dev.pci, -1);
	ret = rte_vfio_user_unregister(dev.dev_id);
	if (ret < 0)
		fuzz_fail("unregister: %s", strerror(-ret));
	dev.dev_id = -1;
	rte_vfio_user_pci_free(dev.pci);
	dev.pci = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_log_init();
	for (uint32_t i = 0; i < R9_SIZE; i++)
		dev.r9[i] = (uint8_t)(i * 7 + 3);
	dev.bar2_fd = memfd_create("vu-fuzz-bar2", MFD_CLOEXEC);
	if (dev.bar2_fd < 0 ||
	    ftruncate(dev.bar2_fd, BAR2_FD_OFFSET + BAR2_SIZE) < 0)
		fuzz_fail("bar2 memfd: %s", strerror(errno));
	dev.bar2 = mmap(NULL, BAR2_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			dev.bar2_fd, BAR2_FD_OFFSET);
	if (dev.bar2 == MAP_FAILED)
		fuzz_fail("bar2 mmap: %s", strerror(errno));
	bar2_mem = (struct mem){ dev.bar2, BAR2_SIZE };
	bar4_mem = (struct mem){ dev.bar4, BAR4_SIZE };
	r9_mem = (struct mem){ dev.r9, R9_SIZE };
	for (int i = 0; i < 2; i++) {
		dev.io_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dev.io_fd[i] < 0)
			fuzz_fail("eventfd: %s", strerror(errno));
	}
	fuzz_start_event_thread();
	return 0;
}

/* Send one record of the input; false at its end. */
static bool
send_record(struct fz *f, int sock)
{
	uint8_t ctl, kinds[63];
	int fds[63], peers[63], nfds, ret;
	struct vfio_user_header h;
	uint16_t len, split = 0;
	static uint8_t msg[sizeof(h) + 65535];

	if (fz_empty(f))
		return false;
	ctl = fz_u8(f);
	nfds = ctl & 0x3f;
	fz_bytes(f, kinds, (size_t)nfds);
	len = fz_u16(f);
	if (ctl & 0x80)
		split = fz_u16(f);
	fz_bytes(f, &h, sizeof(h));
	if (!(ctl & 0x40))
		h.msg_size = (uint32_t)(sizeof(h) + len);
	memcpy(msg, &h, sizeof(h));
	fz_bytes(f, msg + sizeof(h), len);

	for (int i = 0; i < nfds; i++) {
		fds[i] = fuzz_make_fd(kinds[i], &peers[i]);
		if (fds[i] < 0)
			fuzz_fail("fd of kind %u: %s", kinds[i],
				  strerror(errno));
	}
	if ((ctl & 0x80) && split > 0 && split < sizeof(h) + len) {
		ret = fuzz_send_draining(sock, msg, split, fds, nfds);
		fuzz_drain(sock);
		if (ret == 0)
			ret = fuzz_send_draining(sock, msg + split,
						 sizeof(h) + len - split, NULL,
						 0);
	} else {
		ret = fuzz_send_draining(sock, msg, sizeof(h) + len, fds, nfds);
	}
	for (int i = 0; i < nfds; i++) {
		close(fds[i]);
		if (peers[i] >= 0)
			close(peers[i]);
	}
	/* the server closed on us (a reply it could not send): done */
	if (ret < 0)
		return false;
	return fuzz_drain(sock) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	int sv[2], maps, baseline_fds = fuzz_count_fds();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair: %s", strerror(errno));
	device_up(sv[0]);
	while (send_record(&f, sv[1]))
		;
	/* end of the client: the server sees EOF and tears the connection
	 * down; read until it closed its end */
	shutdown(sv[1], SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = sv[1], .events = POLLIN };

		if (fuzz_poll(&p, 1, 30000) != 1)
			fuzz_fail(
				"server did not close the connection in 30 s");
		if (fuzz_drain(sv[1]) < 0)
			break;
	}
	close(sv[1]);
	device_down();

	fuzz_check_fds(baseline_fds);
	maps = fuzz_count_memfd_maps();
	if (maps != 0)
		fuzz_fail("%d mappings of passed memfds left", maps);
	return 0;
}
