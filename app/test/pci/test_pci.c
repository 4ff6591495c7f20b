/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Unit tests of the PCI config space helpers (rte_vfio_user_pci.h): header
 * fields, BAR sizing, read-only and W1C bits, command register, capability
 * chains, MSI-X table/PBA/masking, bounds and unaligned accesses.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_rcu_qsbr.h>

#include "rte_vfio_user.h"
#include "rte_vfio_user_client.h"
#include "rte_vfio_user_pci.h"
#include "vfio_user_proto.h"

/* ---- helpers ---- */

#define MAX_EV 4096
static struct rte_vfio_user_pci_event evs[MAX_EV];
static unsigned int nev;

static void
record(struct rte_vfio_user_pci *pci, const struct rte_vfio_user_pci_event *ev,
       void *arg)
{
	(void)pci;
	assert_ptr_equal(arg, &nev);
	if (nev < MAX_EV)
		evs[nev++] = *ev;
}

static int
count_ev(enum rte_vfio_user_pci_event_type t)
{
	int n = 0;

	for (unsigned int i = 0; i < nev; i++)
		n += evs[i].type == t;
	return n;
}

static const struct rte_vfio_user_pci_event *
find_ev(enum rte_vfio_user_pci_event_type t, uint32_t index)
{
	for (unsigned int i = 0; i < nev; i++)
		if (evs[i].type == t && evs[i].index == index)
			return &evs[i];
	return NULL;
}

static uint32_t
rd(struct rte_vfio_user_pci *pci, uint32_t off, size_t n)
{
	uint8_t b[8] = { 0 };
	uint32_t v = 0;

	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, off, b, n), (ssize_t)n);
	for (size_t i = n; i-- > 0;)
		v = v << 8 | b[i];
	return v;
}

static void
wr(struct rte_vfio_user_pci *pci, uint32_t off, uint32_t v, size_t n)
{
	uint8_t b[4];

	for (size_t i = 0; i < n; i++, v >>= 8)
		b[i] = (uint8_t)v;
	assert_int_equal(rte_vfio_user_pci_cfg_write(pci, off, b, n), (ssize_t)n);
}

static uint32_t
mrd(struct rte_vfio_user_pci *pci, uint32_t bar, uint64_t off, size_t n)
{
	char b[8] = { 0 };
	uint32_t v = 0;

	assert_int_equal(rte_vfio_user_pci_msix_access(pci, bar, b, n, off,
						       false), (ssize_t)n);
	for (size_t i = n; i-- > 0;)
		v = v << 8 | (uint8_t)b[i];
	return v;
}

static void
mwr(struct rte_vfio_user_pci *pci, uint32_t bar, uint64_t off, uint32_t v,
    size_t n)
{
	char b[4];

	for (size_t i = 0; i < n; i++, v >>= 8)
		b[i] = (char)(uint8_t)v;
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, bar, b, n, off,
						       true), (ssize_t)n);
}

static struct rte_vfio_user_pci *
mk(size_t size)
{
	struct rte_vfio_user_pci *pci = rte_vfio_user_pci_create(size);

	assert_non_null(pci);
	nev = 0;
	assert_int_equal(rte_vfio_user_pci_set_notify(pci, record, &nev), 0);
	return pci;
}

static const struct rte_vfio_user_pci_ids test_ids = {
	.vendor_id = 0x1234,
	.device_id = 0x5655,
	.subsystem_vendor_id = 0x1af4,
	.subsystem_id = 0x1100,
	.revision_id = 0x02,
	.class_code = 0x020000,
};

/* ---- tests ---- */

static void
test_create(void **state)
{
	struct rte_vfio_user_pci *pci;

	(void)state;
	errno = 0;
	assert_null(rte_vfio_user_pci_create(0));
	assert_int_equal(errno, EINVAL);
	assert_null(rte_vfio_user_pci_create(512));
	pci = rte_vfio_user_pci_create(RTE_VFIO_USER_PCI_CFG_SIZE);
	assert_non_null(pci);
	assert_int_equal(rte_vfio_user_pci_cfg_size(pci), 256);
	/* an empty type 0 header, no capabilities */
	assert_int_equal(rd(pci, 0x00, 4), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_CAPABILITY_LIST, 1), 0);
	rte_vfio_user_pci_free(pci);
	rte_vfio_user_pci_free(NULL);
	pci = rte_vfio_user_pci_create(RTE_VFIO_USER_PCI_CFG_SIZE_EXT);
	assert_non_null(pci);
	assert_int_equal(rte_vfio_user_pci_cfg_size(pci), 4096);
	assert_int_equal(rd(pci, 0x100, 4), 0);
	rte_vfio_user_pci_free(pci);
}

static void
test_header_fields(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	struct rte_vfio_user_pci_ids bad = test_ids;

	(void)state;
	assert_int_equal(rte_vfio_user_pci_set_ids(pci, &test_ids), 0);
	assert_int_equal(rte_vfio_user_pci_set_irq_pin(pci, 1), 0);
	assert_int_equal(rte_vfio_user_pci_set_irq_pin(pci, 5), -EINVAL);
	bad.class_code = 0x1000000;
	assert_int_equal(rte_vfio_user_pci_set_ids(pci, &bad), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_ids(pci, NULL), -EINVAL);

	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_VENDOR_ID, 2), 0x1234);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_DEVICE_ID, 2), 0x5655);
	assert_int_equal(rd(pci, 0x00, 4), 0x56551234);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_REVISION_ID, 1), 0x02);
	assert_int_equal(rd(pci, 0x08, 4), 0x02000002);	/* class | rev */
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_CLASS_PROG, 3), 0x020000);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_HEADER_TYPE, 1), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_SUBSYSTEM_ID, 2), 0x1100);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_INTERRUPT_PIN, 1), 1);
	/* interrupt line and cache line size are the client's */
	wr(pci, RTE_VFIO_USER_PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_INTERRUPT_LINE, 1), 0x0b);
	wr(pci, RTE_VFIO_USER_PCI_CACHE_LINE_SIZE, 0x10, 1);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_CACHE_LINE_SIZE, 1), 0x10);
	rte_vfio_user_pci_free(pci);
}

static void
test_read_only(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	uint8_t before[256], after[256], ones[256];

	(void)state;
	assert_int_equal(rte_vfio_user_pci_set_ids(pci, &test_ids), 0);
	assert_int_equal(rte_vfio_user_pci_set_irq_pin(pci, 2), 0);
	assert_int_equal(rte_vfio_user_pci_add_vendor_cap(pci, "abc", 3, NULL), 0x40);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 0, before, 256), 256);

	/* each read-only field refuses writes (the write itself succeeds) */
	wr(pci, RTE_VFIO_USER_PCI_VENDOR_ID, 0xffff, 2);
	wr(pci, RTE_VFIO_USER_PCI_DEVICE_ID, 0x0000, 2);
	wr(pci, RTE_VFIO_USER_PCI_REVISION_ID, 0xff, 1);
	wr(pci, RTE_VFIO_USER_PCI_CLASS_PROG, 0xffffff, 3);
	wr(pci, RTE_VFIO_USER_PCI_LATENCY_TIMER, 0xff, 1);
	wr(pci, RTE_VFIO_USER_PCI_HEADER_TYPE, 0x80, 1);
	wr(pci, RTE_VFIO_USER_PCI_BIST, 0xff, 1);
	wr(pci, RTE_VFIO_USER_PCI_BASE_ADDRESS_0, 0xffffffff, 4); /* no BAR */
	wr(pci, RTE_VFIO_USER_PCI_SUBSYSTEM_VENDOR_ID, 0, 4);
	wr(pci, RTE_VFIO_USER_PCI_ROM_ADDRESS, 0xffffffff, 4);	/* no ROM */
	wr(pci, RTE_VFIO_USER_PCI_CAPABILITY_LIST, 0x80, 1);
	wr(pci, RTE_VFIO_USER_PCI_INTERRUPT_PIN, 4, 1);
	wr(pci, RTE_VFIO_USER_PCI_STATUS, 0x00ff, 2);	/* CAP_LIST, INTx */
	wr(pci, 0x40, 0xffffffff, 4);		/* capability header */
	wr(pci, 0x80, 0xffffffff, 4);		/* unused */
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 0, after, 256), 256);
	assert_memory_equal(before, after, 256);

	/* a full-space write of ones changes only the writable bits */
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(rte_vfio_user_pci_cfg_write(pci, 0, ones, 256), 256);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 0, after, 256), 256);
	for (unsigned int i = 0; i < 256; i++) {
		switch (i) {
		case RTE_VFIO_USER_PCI_COMMAND:
			assert_int_equal(after[i], RTE_VFIO_USER_PCI_CMD_MASTER |
					 RTE_VFIO_USER_PCI_CMD_PARITY);
			break;
		case RTE_VFIO_USER_PCI_COMMAND + 1:
			assert_int_equal(after[i], (RTE_VFIO_USER_PCI_CMD_SERR |
				RTE_VFIO_USER_PCI_CMD_INTX_DISABLE) >> 8);
			break;
		case RTE_VFIO_USER_PCI_CACHE_LINE_SIZE:
		case RTE_VFIO_USER_PCI_INTERRUPT_LINE:
			assert_int_equal(after[i], 0xff);
			break;
		default:
			if (after[i] != before[i])
				fail_msg("byte 0x%x changed: 0x%x -> 0x%x", i,
					 before[i], after[i]);
		}
	}
	rte_vfio_user_pci_free(pci);
}

static void
test_bar_32(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	uint64_t addr;

	(void)state;
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 4096, 0), 0);
	assert_int_equal(rte_vfio_user_pci_get_bar_size(pci, 0), 4096);
	assert_int_equal(rd(pci, 0x10, 4), 0);	/* memory, 32-bit, !prefetch */
	/* sizing: all ones reads back the size mask */
	wr(pci, 0x10, 0xffffffff, 4);
	assert_int_equal(rd(pci, 0x10, 4), 0xfffff000);
	/* placing it */
	wr(pci, 0x10, 0xfeb01234, 4);
	assert_int_equal(rd(pci, 0x10, 4), 0xfeb01000);
	assert_int_equal(rte_vfio_user_pci_get_bar_addr(pci, 0, &addr), 0);
	assert_int_equal(addr, 0xfeb01000);
	/* a BAR write is notified with its index */
	assert_non_null(find_ev(RTE_VFIO_USER_PCI_EV_BAR, 0));
	assert_int_equal(evs[nev - 1].type, RTE_VFIO_USER_PCI_EV_CFG_WRITE);
	assert_int_equal(evs[nev - 1].offset, 0x10);
	assert_int_equal(evs[nev - 1].len, 4);

	/* smallest memory BAR: 16 bytes, all 28 address bits writable */
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 1, 16, 0), 0);
	wr(pci, 0x14, 0xffffffff, 4);
	assert_int_equal(rd(pci, 0x14, 4), 0xfffffff0);
	/* largest 32-bit one: 2 GiB */
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 5, 1ULL << 31, 0), 0);
	wr(pci, 0x24, 0xffffffff, 4);
	assert_int_equal(rd(pci, 0x24, 4), 0x80000000);
	/* byte-wise sizing works the same */
	wr(pci, 0x10, 0xff, 1);
	wr(pci, 0x11, 0xff, 1);
	wr(pci, 0x12, 0xffff, 2);
	assert_int_equal(rd(pci, 0x10, 4), 0xfffff000);
	rte_vfio_user_pci_free(pci);
}

static void
test_bar_64_prefetch(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	const uint32_t f64 = RTE_VFIO_USER_PCI_BAR_64 | RTE_VFIO_USER_PCI_BAR_PREFETCH;
	uint64_t addr;

	(void)state;
	/* 64-bit prefetchable 16 KiB BAR in slots 2 and 3 */
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 2, 16384, f64), 0);
	assert_int_equal(rd(pci, 0x18, 4), 0xc);
	assert_int_equal(rd(pci, 0x1c, 4), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 3, 4096, 0), -EEXIST);
	assert_int_equal(rte_vfio_user_pci_get_bar_size(pci, 3), 0);
	wr(pci, 0x18, 0xffffffff, 4);
	wr(pci, 0x1c, 0xffffffff, 4);
	assert_int_equal(rd(pci, 0x18, 4), 0xffffc00c);
	assert_int_equal(rd(pci, 0x1c, 4), 0xffffffff);
	/* an upper-half write is notified as the BAR's lower index */
	nev = 0;
	wr(pci, 0x1c, 0x00000001, 4);
	assert_non_null(find_ev(RTE_VFIO_USER_PCI_EV_BAR, 2));
	assert_null(find_ev(RTE_VFIO_USER_PCI_EV_BAR, 3));
	wr(pci, 0x18, 0x80000000, 4);
	assert_int_equal(rte_vfio_user_pci_get_bar_addr(pci, 2, &addr), 0);
	assert_true(addr == 0x180000000ULL);
	assert_int_equal(rte_vfio_user_pci_get_bar_addr(pci, 3, &addr), -EINVAL);

	/* 8 GiB 64-bit non-prefetchable BAR: low dword has no address bits */
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 8ULL << 30,
						   RTE_VFIO_USER_PCI_BAR_64), 0);
	wr(pci, 0x10, 0xffffffff, 4);
	wr(pci, 0x14, 0xffffffff, 4);
	assert_int_equal(rd(pci, 0x10, 4), 0x4);
	assert_int_equal(rd(pci, 0x14, 4), 0xfffffffe);
	/* 8-byte write of both halves at once */
	{
		uint8_t q[8] = { 0x04, 0, 0, 0, 0x02, 0, 0, 0 };

		assert_int_equal(rte_vfio_user_pci_cfg_write(pci, 0x10, q, 8), 8);
		assert_int_equal(rte_vfio_user_pci_get_bar_addr(pci, 0, &addr), 0);
		assert_true(addr == 0x200000000ULL);
	}
	/* 32-bit prefetchable */
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 4, 1 << 20,
			RTE_VFIO_USER_PCI_BAR_PREFETCH), 0);
	wr(pci, 0x20, 0xffffffff, 4);
	assert_int_equal(rd(pci, 0x20, 4), 0xfff00008);
	rte_vfio_user_pci_free(pci);
}

static void
test_bar_io_rom(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	uint64_t addr;

	(void)state;
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 1, 32,
			RTE_VFIO_USER_PCI_BAR_IO), 0);
	assert_int_equal(rd(pci, 0x14, 4), 0x1);
	wr(pci, 0x14, 0xffffffff, 4);
	assert_int_equal(rd(pci, 0x14, 4), 0xffffffe1);
	wr(pci, 0x14, 0xc040, 4);
	assert_int_equal(rd(pci, 0x14, 4), 0xc041);
	assert_int_equal(rte_vfio_user_pci_get_bar_addr(pci, 1, &addr), 0);
	assert_int_equal(addr, 0xc040);

	/* expansion ROM: 64 KiB, enable bit writable */
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, RTE_VFIO_USER_PCI_ROM_BAR,
						   65536, 0), 0);
	wr(pci, 0x30, 0xffffffff, 4);
	assert_int_equal(rd(pci, 0x30, 4), 0xffff0001);
	wr(pci, 0x30, 0xfea00000, 4);
	assert_int_equal(rd(pci, 0x30, 4), 0xfea00000);
	assert_int_equal(rte_vfio_user_pci_get_bar_addr(pci,
			RTE_VFIO_USER_PCI_ROM_BAR, &addr), 0);
	assert_int_equal(addr, 0xfea00000);
	rte_vfio_user_pci_free(pci);
}

static void
test_bar_invalid(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	const uint32_t io = RTE_VFIO_USER_PCI_BAR_IO;

	(void)state;
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 3000, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 0, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 8, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 1ULL << 32, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 512, io), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 2, io), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 16,
			io | RTE_VFIO_USER_PCI_BAR_PREFETCH), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 16, io |
			RTE_VFIO_USER_PCI_BAR_64), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 5, 16,
			RTE_VFIO_USER_PCI_BAR_64), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 16, 0x80), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 7, 16, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, RTE_VFIO_USER_PCI_ROM_BAR,
						   1024, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, RTE_VFIO_USER_PCI_ROM_BAR,
						   4096, io), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(NULL, 0, 16, 0), -EINVAL);
	/* a 64-bit BAR cannot take a slot already declared */
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 1, 16, 0), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 16,
			RTE_VFIO_USER_PCI_BAR_64), -EEXIST);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 1, 16, 0), -EEXIST);
	assert_int_equal(rte_vfio_user_pci_get_bar_size(pci, 0), 0);
	/* nothing of the failed calls reached config space */
	assert_int_equal(rd(pci, 0x10, 4), 0);
	rte_vfio_user_pci_free(pci);
}

static void
test_command(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	const struct rte_vfio_user_pci_event *e;

	(void)state;
	/* no BAR: no memory or I/O decoding to enable */
	wr(pci, RTE_VFIO_USER_PCI_COMMAND, 0xffff, 2);
	assert_int_equal(rte_vfio_user_pci_get_command(pci),
			 RTE_VFIO_USER_PCI_CMD_MASTER | RTE_VFIO_USER_PCI_CMD_PARITY |
			 RTE_VFIO_USER_PCI_CMD_SERR |
			 RTE_VFIO_USER_PCI_CMD_INTX_DISABLE);
	wr(pci, RTE_VFIO_USER_PCI_COMMAND, 0, 2);
	assert_int_equal(rte_vfio_user_pci_get_command(pci), 0);

	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 4096, 0), 0);
	nev = 0;
	wr(pci, RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_MEMORY |
	   RTE_VFIO_USER_PCI_CMD_IO | RTE_VFIO_USER_PCI_CMD_MASTER, 2);
	assert_int_equal(rte_vfio_user_pci_get_command(pci),
			 RTE_VFIO_USER_PCI_CMD_MEMORY | RTE_VFIO_USER_PCI_CMD_MASTER);
	e = find_ev(RTE_VFIO_USER_PCI_EV_COMMAND, 0);
	assert_non_null(e);
	assert_int_equal(e->old_val, 0);
	assert_int_equal(e->new_val, RTE_VFIO_USER_PCI_CMD_MEMORY |
			 RTE_VFIO_USER_PCI_CMD_MASTER);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_CFG_WRITE), 1);
	/* same value again: a write, but no command change */
	nev = 0;
	wr(pci, RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_MEMORY |
	   RTE_VFIO_USER_PCI_CMD_MASTER, 2);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_COMMAND), 0);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_CFG_WRITE), 1);
	/* I/O enable becomes writable with an I/O BAR */
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 1, 64,
			RTE_VFIO_USER_PCI_BAR_IO), 0);
	wr(pci, RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_IO, 1);
	assert_int_equal(rte_vfio_user_pci_get_command(pci),
			 RTE_VFIO_USER_PCI_CMD_IO);
	/* high byte alone: INTx disable */
	wr(pci, RTE_VFIO_USER_PCI_COMMAND + 1, 0x04, 1);
	assert_int_equal(rte_vfio_user_pci_get_command(pci),
			 RTE_VFIO_USER_PCI_CMD_IO | RTE_VFIO_USER_PCI_CMD_INTX_DISABLE);
	rte_vfio_user_pci_free(pci);
}

static void
test_status_w1c_intx(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	const uint16_t w1c = RTE_VFIO_USER_PCI_STATUS_W1C_MASK;

	(void)state;
	assert_int_equal(rte_vfio_user_pci_set_status_bits(pci,
			RTE_VFIO_USER_PCI_STATUS_INTERRUPT), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_status_bits(pci, w1c), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2), w1c);
	/* writing zeros clears nothing */
	wr(pci, RTE_VFIO_USER_PCI_STATUS, 0, 2);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2), w1c);
	/* a one clears its bit only */
	wr(pci, RTE_VFIO_USER_PCI_STATUS, RTE_VFIO_USER_PCI_STATUS_PARITY, 2);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2),
			 w1c & ~RTE_VFIO_USER_PCI_STATUS_PARITY);
	/* via the command dword write (command + status) */
	wr(pci, RTE_VFIO_USER_PCI_COMMAND,
	   (uint32_t)RTE_VFIO_USER_PCI_STATUS_REC_MASTER_ABORT << 16, 4);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2),
			 w1c & ~(RTE_VFIO_USER_PCI_STATUS_PARITY |
				 RTE_VFIO_USER_PCI_STATUS_REC_MASTER_ABORT));

	/* INTx: needs a pin */
	assert_int_equal(rte_vfio_user_pci_set_intx(pci, true), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_irq_pin(pci, 1), 0);
	assert_int_equal(rte_vfio_user_pci_set_intx(pci, true), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2) &
			 RTE_VFIO_USER_PCI_STATUS_INTERRUPT,
			 RTE_VFIO_USER_PCI_STATUS_INTERRUPT);
	/* the client can neither set nor clear it; all ones clear the W1C */
	wr(pci, RTE_VFIO_USER_PCI_STATUS, 0xffff, 2);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2),
			 RTE_VFIO_USER_PCI_STATUS_INTERRUPT);
	assert_int_equal(rte_vfio_user_pci_set_intx(pci, false), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2), 0);
	wr(pci, RTE_VFIO_USER_PCI_STATUS, RTE_VFIO_USER_PCI_STATUS_INTERRUPT, 2);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2), 0);
	rte_vfio_user_pci_free(pci);
}

/* Walk the list from 0x34: ids in order, 4-aligned, no overlap, ends. */
static void
walk(struct rte_vfio_user_pci *pci, const uint8_t *ids, const size_t *lens,
     unsigned int n)
{
	uint32_t off = rd(pci, RTE_VFIO_USER_PCI_CAPABILITY_LIST, 1);
	uint32_t prev_end = RTE_VFIO_USER_PCI_STD_HEADER_SIZE;
	unsigned int i;

	for (i = 0; off != 0; i++) {
		assert_true(i < n);		/* terminates, no loop */
		assert_int_equal(off % 4, 0);
		assert_true(off >= prev_end);	/* not overlapping */
		assert_true(off + lens[i] <= 256);
		assert_int_equal(rd(pci, off, 1), ids[i]);
		prev_end = off + (uint32_t)lens[i];
		off = rd(pci, off + 1, 1);
	}
	assert_int_equal(i, n);
}

static void
test_cap_chain(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	uint8_t pm[6] = { 0x03, 0x00, 0x08, 0x00, 0x00, 0x00 };
	uint8_t pm_w[6] = { 0, 0, 0x03, 0x81, 0, 0 };	/* PMCSR: state, PME en */
	uint8_t pm_c[6] = { 0, 0, 0, 0x00, 0, 0 };
	uint8_t vnd[13];
	uint8_t vnd_w[13] = { 0 };
	uint8_t ids[8];
	size_t lens[8];
	uint8_t big[200];
	int off_pm, off_vnd, off_x, off_msix;

	(void)state;
	for (unsigned int i = 0; i < sizeof(vnd); i++)
		vnd[i] = (uint8_t)(0xa0 + i);
	vnd_w[4] = 0xff;
	pm_c[3] = 0x80;	/* PME status: W1C */
	pm_w[3] = 0x01;

	/* argument checks */
	assert_int_equal(rte_vfio_user_pci_add_cap(pci, 0, pm, 6, NULL, NULL),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_add_cap(pci,
			RTE_VFIO_USER_PCI_CAP_ID_MSIX, pm, 6, NULL, NULL), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_add_cap(pci, 1, NULL, 6, NULL, NULL),
			 -EINVAL);
	pm_c[2] = 0x01;	/* same bit writable and W1C */
	assert_int_equal(rte_vfio_user_pci_add_cap(pci, 1, pm, 6, pm_w, pm_c),
			 -EINVAL);
	pm_c[2] = 0;
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2) &
			 RTE_VFIO_USER_PCI_STATUS_CAP_LIST, 0);

	off_pm = rte_vfio_user_pci_add_cap(pci, RTE_VFIO_USER_PCI_CAP_ID_PM,
					   pm, 6, pm_w, pm_c);
	assert_int_equal(off_pm, 0x40);
	/* one PM capability per function, whichever way it came */
	assert_int_equal(rte_vfio_user_pci_add_pm(pci, 0), -EEXIST);
	assert_int_equal(rte_vfio_user_pci_add_cap(pci,
						   RTE_VFIO_USER_PCI_CAP_ID_PM,
						   pm, 6, NULL, NULL),
			 -EEXIST);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2) &
			 RTE_VFIO_USER_PCI_STATUS_CAP_LIST,
			 RTE_VFIO_USER_PCI_STATUS_CAP_LIST);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_CAPABILITY_LIST, 1), 0x40);

	/* vendor capability: 3 + 13 = 16 bytes, its length byte set */
	off_vnd = rte_vfio_user_pci_add_vendor_cap(pci, vnd, sizeof(vnd), vnd_w);
	assert_int_equal(off_vnd, 0x48);	/* 0x40 + 8, aligned */
	assert_int_equal(rd(pci, off_vnd, 1), RTE_VFIO_USER_PCI_CAP_ID_VNDR);
	assert_int_equal(rd(pci, off_vnd + 2, 1), 16);
	assert_int_equal(rd(pci, off_vnd + 3, 1), 0xa0);
	assert_int_equal(rd(pci, off_vnd + 15, 1), 0xac);

	/* an odd-sized capability: the next one still lands aligned */
	off_x = rte_vfio_user_pci_add_cap(pci, 0x13, "\x01\x02\x03", 3, NULL, NULL);
	assert_int_equal(off_x, 0x58);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 4096, 0), 0);
	off_msix = rte_vfio_user_pci_add_msix(pci, 4, 0, 0x800, 0, 0xc00);
	assert_int_equal(off_msix, 0x60);	/* 0x58 + 5 -> 0x60 */

	ids[0] = RTE_VFIO_USER_PCI_CAP_ID_PM; lens[0] = 8;
	ids[1] = RTE_VFIO_USER_PCI_CAP_ID_VNDR; lens[1] = 16;
	ids[2] = 0x13; lens[2] = 5;
	ids[3] = RTE_VFIO_USER_PCI_CAP_ID_MSIX; lens[3] = 12;
	walk(pci, ids, lens, 4);

	/* capability headers are read-only, bodies follow their masks */
	wr(pci, off_pm, 0xffff, 2);
	assert_int_equal(rd(pci, off_pm, 1), 0x01);
	assert_int_equal(rd(pci, off_pm + 1, 1), off_vnd);
	wr(pci, off_pm + 4, 0xffff, 2);			/* PMCSR */
	assert_int_equal(rd(pci, off_pm + 4, 2), 0x010b);	/* bit 3 RO */
	wr(pci, off_vnd + 2, 0xff, 1);			/* length byte */
	assert_int_equal(rd(pci, off_vnd + 2, 1), 16);
	wr(pci, off_vnd + 3, 0xffffffff, 4);
	assert_int_equal(rd(pci, off_vnd + 3, 4), 0xa3a2a1a0);
	wr(pci, off_vnd + 7, 0x5a, 1);			/* body[4]: writable */
	assert_int_equal(rd(pci, off_vnd + 7, 1), 0x5a);
	/* a W1C bit of a capability */
	assert_int_equal(rte_vfio_user_pci_raw_write(pci, off_pm + 5,
			"\x80", 1), 0);
	wr(pci, off_pm + 5, 0x00, 1);
	assert_int_equal(rd(pci, off_pm + 5, 1), 0x80);
	wr(pci, off_pm + 5, 0x80, 1);
	assert_int_equal(rd(pci, off_pm + 5, 1), 0x00);

	/* full: 0x6c..0xff leaves 148 bytes */
	memset(big, 0, sizeof(big));
	assert_int_equal(rte_vfio_user_pci_add_cap(pci, 0x20, big, 147, NULL,
						   NULL), -ENOSPC);
	assert_int_equal(rte_vfio_user_pci_add_cap(pci, 0x20, big, 146, NULL,
						   NULL), 0x6c);
	assert_int_equal(rte_vfio_user_pci_add_cap(pci, 0x21, NULL, 0, NULL,
						   NULL), -ENOSPC);
	ids[4] = 0x20; lens[4] = 148;
	walk(pci, ids, lens, 5);
	/* nothing spilled into the extended space or wrapped */
	assert_int_equal(rte_vfio_user_pci_add_ext_cap(pci, 1, 1, big, 4, NULL,
						       NULL), -EINVAL);
	rte_vfio_user_pci_free(pci);
}

static void
test_ext_cap(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE_EXT);
	uint8_t body[20] = { 0 };
	uint8_t w[20] = { 0 };
	uint32_t off, hdr;
	int a, b, c;

	(void)state;
	w[0] = 0xff;
	assert_int_equal(rte_vfio_user_pci_add_ext_cap(pci, 0, 1, body, 4, NULL,
						       NULL), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_add_ext_cap(pci, 1, 16, body, 4, NULL,
						       NULL), -EINVAL);
	a = rte_vfio_user_pci_add_ext_cap(pci, 0x0001, 2, body, 9, w, NULL);
	assert_int_equal(a, 0x100);
	b = rte_vfio_user_pci_add_ext_cap(pci, 0x000b, 1, body, 20, NULL, NULL);
	assert_int_equal(b, 0x110);	/* 0x100 + 13 -> 0x110 */
	c = rte_vfio_user_pci_add_ext_cap(pci, 0x0023, 1, NULL, 0, NULL, NULL);
	assert_int_equal(c, 0x128);
	/* walk the 12-bit next pointers */
	off = 0x100;
	for (int i = 0; i < 3; i++) {
		static const uint16_t want[] = { 0x0001, 0x000b, 0x0023 };

		assert_int_equal(off % 4, 0);
		hdr = rd(pci, off, 4);
		assert_int_equal(hdr & 0xffff, want[i]);
		off = hdr >> 20;
	}
	assert_int_equal(off, 0);
	assert_int_equal(rd(pci, 0x100, 4) >> 16 & 0xf, 2);
	/* header read-only, body per mask */
	wr(pci, 0x100, 0, 4);
	assert_int_equal(rd(pci, 0x100, 4), 0x11020001);
	wr(pci, 0x104, 0xffffffff, 4);
	assert_int_equal(rd(pci, 0x104, 4), 0xff);
	/* standard capabilities stay below 0x100 */
	assert_int_equal(rte_vfio_user_pci_add_vendor_cap(pci, body, 4, NULL), 0x40);
	rte_vfio_user_pci_free(pci);
}

static void
test_bounds(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	struct rte_vfio_user_pci *ext = mk(RTE_VFIO_USER_PCI_CFG_SIZE_EXT);
	char buf[8] = { 0 };

	(void)state;
	nev = 0;
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 256, buf, 1), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 255, buf, 2), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 252, buf, 8), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 255, buf, 1), 1);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 252, buf, 4), 4);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, UINT64_MAX, buf, 2),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 1ULL << 32, buf, 1),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 0, buf, SIZE_MAX),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_write(pci, 256, buf, 1), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_write(pci, 254, buf, 4), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_write(pci, UINT64_MAX - 1, buf, 4),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_write(NULL, 0, buf, 1), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 0, NULL, 1), -EINVAL);
	/* refused writes are not notified */
	assert_int_equal(nev, 0);
	assert_int_equal(rte_vfio_user_pci_cfg_region_access(0, pci, buf, 1, 256,
							     false), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_region_access(0, pci, buf, 2, 255,
							     true), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_raw_read(pci, 250, buf, 7), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_raw_write(pci, 256, buf, 1), -EINVAL);
	/* a 4 KiB space ends at 4096 */
	assert_int_equal(rte_vfio_user_pci_cfg_read(ext, 4095, buf, 1), 1);
	assert_int_equal(rte_vfio_user_pci_cfg_read(ext, 4095, buf, 2), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_cfg_write(ext, 4092, buf, 4), 4);
	assert_int_equal(rte_vfio_user_pci_cfg_write(ext, 4096, buf, 1), -EINVAL);
	rte_vfio_user_pci_free(pci);
	rte_vfio_user_pci_free(ext);
}

static void
test_unaligned(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	uint8_t b[8];

	(void)state;
	assert_int_equal(rte_vfio_user_pci_set_ids(pci, &test_ids), 0);
	assert_int_equal(rte_vfio_user_pci_set_irq_pin(pci, 1), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 4096, 0), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 1, 256, 0), 0);
	/* 4 bytes at offset 1: vendor high, device, command low */
	assert_int_equal(rd(pci, 1, 4), 0x00565512);
	/* 3 bytes at 0x0b: class base (RO), cache line (RW), latency (RO) */
	wr(pci, 0x0b, 0xffffff, 3);
	assert_int_equal(rd(pci, 0x08, 4), 0x02000002);
	assert_int_equal(rd(pci, 0x0c, 4), 0x000000ff);
	/* a write straddling BAR0 and BAR1 at an odd offset */
	wr(pci, 0x13, 0xffffffff, 4);		/* BAR0[31:24], BAR1[23:0] */
	assert_int_equal(rd(pci, 0x10, 4), 0xff000000);
	assert_int_equal(rd(pci, 0x14, 4), 0x00ffff00);
	assert_non_null(find_ev(RTE_VFIO_USER_PCI_EV_BAR, 0));
	assert_non_null(find_ev(RTE_VFIO_USER_PCI_EV_BAR, 1));
	/* 2 bytes over interrupt line (RW) and pin (RO) */
	wr(pci, 0x3c, 0x0405, 2);
	assert_int_equal(rd(pci, 0x3c, 2), 0x0105);
	/* an 8-byte read at an odd offset equals the single bytes */
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 0x0f, b, 8), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(b[i], rd(pci, 0x0f + i, 1));
	/* 2-byte write over command high and status low */
	wr(pci, 0x05, 0xff04, 2);
	assert_int_equal(rd(pci, 0x04, 4), 0x00000400);
	rte_vfio_user_pci_free(pci);
}

/* MSI-X with the function not attached to a device. */
static void
test_msix_table(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	struct rte_vfio_user_pci_msix_entry e;
	const struct rte_vfio_user_pci_event *ev;
	char b[32];
	int cap;

	(void)state;
	/* placement checks: BAR must exist, be memory, hold it, 8-aligned */
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, 4, 0, 0x800, 0, 0xc00),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 4096, 0), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 1, 64,
			RTE_VFIO_USER_PCI_BAR_IO), 0);
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, 0, 0, 0x800, 0, 0xc00),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, 2049, 0, 0, 0, 0xc00),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, 4, 0, 0x804, 0, 0xc00),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, 4, 0, 0xfc8, 0, 0xc00),
			 -EINVAL);	/* table past the BAR end */
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, 4, 0, 0x800, 0, 0x838),
			 -EINVAL);	/* PBA inside the table */
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, 4, 1, 0, 0, 0xc00),
			 -EINVAL);	/* I/O BAR */
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, 4, 2, 0, 0, 0xc00),
			 -EINVAL);	/* no BAR 2 */
	cap = rte_vfio_user_pci_add_msix(pci, 4, 0, 0x800, 0, 0xc00);
	assert_int_equal(cap, 0x40);
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, 4, 0, 0x800, 0, 0xc00),
			 -EEXIST);
	assert_int_equal(rd(pci, cap, 1), RTE_VFIO_USER_PCI_CAP_ID_MSIX);
	assert_int_equal(rd(pci, cap + 2, 2), 3);		/* size - 1 */
	assert_int_equal(rd(pci, cap + 4, 4), 0x800);		/* BIR 0 */
	assert_int_equal(rd(pci, cap + 8, 4), 0xc00);
	/* only enable and function mask are writable */
	wr(pci, cap + 2, 0xffff, 2);
	assert_int_equal(rd(pci, cap + 2, 2), 0xc003);
	wr(pci, cap + 2, 0, 2);
	wr(pci, cap + 4, 0xffffffff, 4);
	wr(pci, cap + 8, 0xffffffff, 4);
	assert_int_equal(rd(pci, cap + 4, 4), 0x800);
	assert_int_equal(rd(pci, cap + 8, 4), 0xc00);

	/* every vector starts masked, address and data 0 */
	for (uint32_t v = 0; v < 4; v++) {
		assert_int_equal(mrd(pci, 0, 0x800 + v * 16 + 12, 4), 1);
		assert_int_equal(rte_vfio_user_pci_msix_get_entry(pci, v, &e), 0);
		assert_true(e.addr == 0 && e.data == 0 && e.ctrl == 1);
	}
	assert_int_equal(rte_vfio_user_pci_msix_get_entry(pci, 4, &e), -EINVAL);
	/* accesses outside table and PBA are the caller's; straddling is bad */
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 0, b, 4, 0x10, false), 0);
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 0, b, 4, 0x840, false), 0);
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 2, b, 4, 0x800, false), 0);
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 0, b, 8, 0x7fc,
						       false),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 0, b, 8, 0x83c,
						       true),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 0, b, 16, 0xbfc,
						       false),
			 -EINVAL);
	/* wrapping past 2^64 */
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 0, b, 16,
						       UINT64_MAX - 7, false),
			 -EINVAL);

	/* disabled: nothing to trigger */
	assert_int_equal(rte_vfio_user_pci_msix_enabled(pci), 0);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 0), -ENOTSUP);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 4), -EINVAL);
	nev = 0;
	wr(pci, cap + 3, 0x80, 1);	/* enable, byte access */
	assert_int_equal(rte_vfio_user_pci_msix_enabled(pci), 1);
	ev = find_ev(RTE_VFIO_USER_PCI_EV_MSIX_CTRL, 0);
	assert_non_null(ev);
	assert_int_equal(ev->old_val, 3);
	assert_int_equal(ev->new_val, 0x8003);

	/* the table not driven yet: entry mask bits do not count */
	assert_int_equal(rte_vfio_user_pci_msix_masked(pci, 1), 0);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 1), -ENODEV);
	assert_int_equal(rte_vfio_user_pci_msix_pending(pci, 1), 0);

	/* program entry 0: address (low bits RO), data, unmask */
	nev = 0;
	mwr(pci, 0, 0x800, 0xfee00003, 4);
	mwr(pci, 0, 0x804, 0x00000001, 4);
	mwr(pci, 0, 0x808, 0x4041, 4);
	mwr(pci, 0, 0x80c, 0xfffffffe, 4);	/* reserved bits RO, unmask */
	assert_int_equal(rte_vfio_user_pci_msix_get_entry(pci, 0, &e), 0);
	assert_true(e.addr == 0x1fee00000ULL);
	assert_int_equal(e.data, 0x4041);
	assert_int_equal(e.ctrl, 0);
	assert_int_equal(mrd(pci, 0, 0x80c, 4), 0);
	ev = find_ev(RTE_VFIO_USER_PCI_EV_MSIX_VECTOR, 0);
	assert_non_null(ev);
	assert_int_equal(ev->old_val, 1);
	assert_int_equal(ev->new_val, 0);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_MSIX_VECTOR), 1);
	/* table reads of any size and alignment */
	assert_int_equal(mrd(pci, 0, 0x802, 4), 0x0001fee0);
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 0, b, 32, 0x800,
						       false), 32);
	assert_int_equal((uint8_t)b[8], 0x41);
	assert_int_equal((uint8_t)b[28], 1);		/* vector 1 ctrl */

	/* now the per-vector masks count: vector 1 is masked */
	assert_int_equal(rte_vfio_user_pci_msix_masked(pci, 0), 0);
	assert_int_equal(rte_vfio_user_pci_msix_masked(pci, 1), 1);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 1), 0);
	assert_int_equal(rte_vfio_user_pci_msix_pending(pci, 1), 1);
	assert_int_equal(rte_vfio_user_pci_msix_pending(pci, 0), 0);
	assert_int_equal(mrd(pci, 0, 0xc00, 8), 0x2);	/* PBA bit 1 */
	assert_int_equal(mrd(pci, 0, 0xc00, 1), 0x2);
	/* PBA writes are ignored */
	mwr(pci, 0, 0xc00, 0, 4);
	assert_int_equal(mrd(pci, 0, 0xc00, 4), 0x2);

	/* function mask masks every vector */
	wr(pci, cap + 2, 0xc000, 2);
	assert_int_equal(rte_vfio_user_pci_msix_masked(pci, 0), 1);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 0), 0);
	assert_int_equal(mrd(pci, 0, 0xc00, 4), 0x3);
	/* not attached: unmasking cannot deliver, the bits stay pending */
	nev = 0;
	wr(pci, cap + 2, 0x8000, 2);
	assert_non_null(find_ev(RTE_VFIO_USER_PCI_EV_MSIX_CTRL, 0));
	assert_int_equal(rte_vfio_user_pci_msix_masked(pci, 0), 0);
	assert_int_equal(mrd(pci, 0, 0xc00, 4), 0x3);
	/* byte write of vector 1's control */
	mwr(pci, 0, 0x81c, 0, 1);
	ev = find_ev(RTE_VFIO_USER_PCI_EV_MSIX_VECTOR, 1);
	assert_non_null(ev);
	assert_int_equal(ev->new_val, 0);

	/* reset: disabled, all masked, nothing pending */
	assert_int_equal(rte_vfio_user_pci_reset(pci), 0);
	assert_int_equal(rte_vfio_user_pci_msix_enabled(pci), 0);
	assert_int_equal(rd(pci, cap + 2, 2), 3);
	assert_int_equal(mrd(pci, 0, 0x80c, 4), 1);
	assert_int_equal(mrd(pci, 0, 0x800, 4), 0);
	assert_int_equal(mrd(pci, 0, 0xc00, 8), 0);
	rte_vfio_user_pci_free(pci);

	/* functions without MSI-X */
	pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	assert_int_equal(rte_vfio_user_pci_msix_enabled(pci), 0);
	assert_int_equal(rte_vfio_user_pci_msix_masked(pci, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 0, b, 4, 0, false), 0);
	rte_vfio_user_pci_free(pci);
}

/* A large table over several PBA words, in a separate BAR. */
static void
test_msix_large(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	char *tbl = calloc(1, 2048 * 16);
	int cap;

	(void)state;
	assert_non_null(tbl);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 2, 32768,
			RTE_VFIO_USER_PCI_BAR_64), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 4, 256, 0), 0);
	cap = rte_vfio_user_pci_add_msix(pci, 2048, 2, 0, 4, 0);
	assert_true(cap >= 0x40);
	assert_int_equal(rd(pci, cap + 2, 2), 0x7ff);
	assert_int_equal(rd(pci, cap + 4, 4), 2);
	assert_int_equal(rd(pci, cap + 8, 4), 4);
	wr(pci, cap + 2, 0x8000, 2);
	/* one write of the whole table: all unmasked but 100 and 2047 */
	for (int v = 0; v < 2048; v++)
		tbl[v * 16 + 12] = (v == 100 || v == 2047);
	nev = 0;
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 2, tbl, 2048 * 16, 0,
						       true), 2048 * 16);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_MSIX_VECTOR), 2046);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 100), 0);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 2047), 0);
	assert_int_equal(mrd(pci, 4, 12, 4), 0x10);		/* bit 100 */
	assert_int_equal(mrd(pci, 4, 255, 1), 0x80);		/* bit 2047 */
	assert_int_equal(rte_vfio_user_pci_msix_pending(pci, 2047), 1);
	assert_int_equal(rte_vfio_user_pci_msix_pending(pci, 2046), 0);
	/* PBA is 256 bytes: the BAR is exactly full */
	assert_int_equal(rte_vfio_user_pci_msix_access(pci, 4, tbl, 256, 0,
						       false), 256);
	free(tbl);
	rte_vfio_user_pci_free(pci);
}

/* ---- attached to a real (started, client-less) device ---- */

static char sock_dir[64];
static char sock_path[128];

static ssize_t
bar0_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	    bool is_write)
{
	ssize_t ret = rte_vfio_user_pci_msix_access(priv, 0, buf, count, offset,
						    is_write);

	(void)dev_id;
	if (ret != 0)
		return ret;
	if (!is_write)
		memset(buf, 0, count);
	return (ssize_t)count;
}

static void
test_attached(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = VFIO_USER_PCI_NUM_REGIONS,
		.num_irqs = VFIO_USER_PCI_NUM_IRQS,
	};
	struct rte_vfio_user_region reg = {
		.size = 4096,
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = bar0_access,
		.priv = pci,
		.mmap_fd = -1,
	};
	struct rte_vfio_user_irq_info intx = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE |
			RTE_VFIO_USER_IRQ_F_AUTOMASKED,
		.count = 1,
	};
	struct rte_vfio_user_irq_info msix = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE,
		.count = 4,
	};
	int id, cap;

	(void)state;
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/vu-pci-test-XXXXXX");
	assert_non_null(mkdtemp(sock_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/sock", sock_dir);

	assert_int_equal(rte_vfio_user_pci_set_ids(pci, &test_ids), 0);
	assert_int_equal(rte_vfio_user_pci_set_irq_pin(pci, 1), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 4096, 0), 0);
	cap = rte_vfio_user_pci_add_msix(pci, 4, 0, 0x800, 0, 0xc00);
	assert_int_equal(cap, 0x40);

	id = rte_vfio_user_register(sock_path, NULL, NULL);
	assert_true(id >= 0);
	assert_int_equal(rte_vfio_user_set_dev_info(id, &info), 0);
	assert_int_equal(rte_vfio_user_set_reg_info(id, 0, &reg), 0);
	assert_int_equal(rte_vfio_user_pci_fill_cfg_region(pci, &reg), 0);
	assert_int_equal(reg.size, 256);
	assert_true(reg.access == rte_vfio_user_pci_cfg_region_access);
	assert_int_equal(rte_vfio_user_set_reg_info(id,
			VFIO_USER_PCI_CONFIG_REGION_INDEX, &reg), 0);
	assert_int_equal(rte_vfio_user_set_irq_info(id,
			VFIO_USER_PCI_INTX_IRQ_INDEX, &intx), 0);
	assert_int_equal(rte_vfio_user_set_irq_info(id,
			VFIO_USER_PCI_MSIX_IRQ_INDEX, &msix), 0);
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_int_equal(rte_vfio_user_pci_attach(pci, RTE_VFIO_USER_MAX_DEVICES),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_pci_attach(pci, id), 0);

	/* no client eventfd: the library latches the vector, PBA shows it */
	wr(pci, cap + 2, 0x8000, 2);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 2), 0);
	assert_int_equal(rte_vfio_user_pci_msix_pending(pci, 2), 1);
	assert_int_equal(mrd(pci, 0, 0xc00, 4), 0x4);
	/* function-masked vector is latched here, delivered on unmask */
	wr(pci, cap + 2, 0xc000, 2);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(pci, 3), 0);
	assert_int_equal(rte_vfio_user_pci_msix_pending(pci, 3), 1);
	wr(pci, cap + 2, 0x8000, 2);
	/* went to the library (which latched it again: no eventfd) */
	assert_int_equal(rte_vfio_user_pci_msix_pending(pci, 3), 1);
	assert_int_equal(mrd(pci, 0, 0xc00, 4), 0xc);
	assert_int_equal(rte_vfio_user_irq_clear(id, VFIO_USER_PCI_MSIX_IRQ_INDEX,
						 3), 0);
	assert_int_equal(rte_vfio_user_pci_msix_pending(pci, 3), 0);

	/* INTx through the library; INTx disable drops it */
	assert_int_equal(rte_vfio_user_pci_set_intx(pci, true), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2) &
			 RTE_VFIO_USER_PCI_STATUS_INTERRUPT,
			 RTE_VFIO_USER_PCI_STATUS_INTERRUPT);
	wr(pci, RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_INTX_DISABLE, 2);
	wr(pci, RTE_VFIO_USER_PCI_COMMAND, 0, 2);
	assert_int_equal(rte_vfio_user_pci_set_intx(pci, false), 0);
	assert_int_equal(rte_vfio_user_pci_reset(pci), 0);

	assert_int_equal(rte_vfio_user_unregister(id), 0);
	rte_vfio_user_pci_free(pci);
	unlink(sock_path);
	rmdir(sock_dir);
}

/* ---- interrupt semantics with a client: every bit, and SET_IRQS ---- */

#define IT_NVEC 4
#define IT_CAP 0x40
#define IT_CTL (IT_CAP + RTE_VFIO_USER_PCI_MSIX_FLAGS)
#define IT_EN RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE
#define IT_FMASK RTE_VFIO_USER_PCI_MSIX_FLAGS_MASKALL
#define IT_TABLE 0x800
#define IT_PBA 0xc00

static struct {
	struct rte_vfio_user_pci *pci;
	struct rte_vfio_user_client *c;
	struct rte_rcu_qsbr *qs;
	int id;
	int msix[IT_NVEC];
	int intx;
	char dir[64];
	char path[128];
} it;

/* PM flags it_open() adds a power management capability with (at IT_PM),
 * -1: none */
static int it_pm = -1;
#define IT_PM (IT_CAP + RTE_VFIO_USER_PCI_MSIX_CAP_SIZE)
#define IT_PMCSR (IT_PM + RTE_VFIO_USER_PCI_PM_CTRL)

static uint64_t
efd(int fd)
{
	eventfd_t v = 0;

	return eventfd_read(fd, &v) == 0 ? v : 0;
}

/* Config and BAR0 accesses through the client, as a driver makes them. */
static void
cwr(uint32_t off, uint32_t val, size_t n)
{
	assert_int_equal(rte_vfio_user_client_region_write(it.c,
			 VFIO_USER_PCI_CONFIG_REGION_INDEX, off, &val, n,
			 false), 0);
}

static uint32_t
crd(uint32_t off, size_t n)
{
	uint32_t v = 0;

	assert_int_equal(rte_vfio_user_client_region_read(it.c,
			 VFIO_USER_PCI_CONFIG_REGION_INDEX, off, &v, n), 0);
	return v;
}

static void
vctl(uint32_t vector, uint32_t ctl)
{
	assert_int_equal(rte_vfio_user_client_region_write(it.c, 0,
			 IT_TABLE + vector * 16 + 12, &ctl, 4, false), 0);
}

static uint64_t
pba(void)
{
	uint64_t v = 0;

	assert_int_equal(rte_vfio_user_client_region_read(it.c, 0, IT_PBA,
							  &v, 8), 0);
	return v;
}

/* DEVICE_SET_IRQS mask/unmask of one vector, DATA_NONE */
static void
irq_mask(uint32_t index, uint32_t vector, bool mask)
{
	assert_int_equal(rte_vfio_user_client_set_irqs(it.c, index,
			 VFIO_USER_IRQ_SET_DATA_NONE |
			 (mask ? VFIO_USER_IRQ_SET_ACTION_MASK :
			  VFIO_USER_IRQ_SET_ACTION_UNMASK), vector, 1, NULL), 0);
}

/* The device model's calls, online in the device's QSBR as the API asks. */
static int
trig(uint32_t vector)
{
	int ret;

	rte_rcu_qsbr_thread_online(it.qs, 0);
	ret = rte_vfio_user_pci_msix_trigger(it.pci, vector);
	rte_rcu_qsbr_thread_offline(it.qs, 0);
	return ret;
}

static int
intx(bool level)
{
	int ret;

	rte_rcu_qsbr_thread_online(it.qs, 0);
	ret = rte_vfio_user_pci_set_intx(it.pci, level);
	rte_rcu_qsbr_thread_offline(it.qs, 0);
	return ret;
}

static bool
status_int(void)
{
	return crd(RTE_VFIO_USER_PCI_STATUS, 2) &
		RTE_VFIO_USER_PCI_STATUS_INTERRUPT;
}

static void
it_open(void)
{
	struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = VFIO_USER_PCI_NUM_REGIONS,
		.num_irqs = VFIO_USER_PCI_NUM_IRQS,
	};
	struct rte_vfio_user_region reg = {
		.size = 4096,
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = bar0_access,
		.mmap_fd = -1,
	};
	struct rte_vfio_user_irq_info intx_info = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE |
			RTE_VFIO_USER_IRQ_F_AUTOMASKED,
		.count = 1,
	};
	struct rte_vfio_user_irq_info msix_info = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE,
		.count = IT_NVEC,
	};
	struct rte_vfio_user_client_conf conf = { .timeout_ms = 5000 };
	const uint32_t trigger = VFIO_USER_IRQ_SET_DATA_EVENTFD |
		VFIO_USER_IRQ_SET_ACTION_TRIGGER;

	memset(&it, 0, sizeof(it));
	snprintf(it.dir, sizeof(it.dir), "/tmp/vu-pci-irq-XXXXXX");
	assert_non_null(mkdtemp(it.dir));
	snprintf(it.path, sizeof(it.path), "%s/sock", it.dir);
	it.pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	assert_int_equal(rte_vfio_user_pci_set_ids(it.pci, &test_ids), 0);
	assert_int_equal(rte_vfio_user_pci_set_irq_pin(it.pci, 1), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(it.pci, 0, 4096, 0), 0);
	assert_int_equal(rte_vfio_user_pci_add_msix(it.pci, IT_NVEC, 0, IT_TABLE,
						    0, IT_PBA), IT_CAP);
	if (it_pm >= 0)
		assert_int_equal(rte_vfio_user_pci_add_pm(it.pci,
							  (unsigned int)it_pm),
				 IT_PM);
	it.id = rte_vfio_user_register(it.path, NULL, NULL);
	assert_true(it.id >= 0);
	reg.priv = it.pci;
	assert_int_equal(rte_vfio_user_set_dev_info(it.id, &info), 0);
	assert_int_equal(rte_vfio_user_set_reg_info(it.id, 0, &reg), 0);
	assert_int_equal(rte_vfio_user_pci_fill_cfg_region(it.pci, &reg), 0);
	assert_int_equal(rte_vfio_user_set_reg_info(it.id,
			 VFIO_USER_PCI_CONFIG_REGION_INDEX, &reg), 0);
	assert_int_equal(rte_vfio_user_set_irq_info(it.id,
			 VFIO_USER_PCI_INTX_IRQ_INDEX, &intx_info), 0);
	assert_int_equal(rte_vfio_user_set_irq_info(it.id,
			 VFIO_USER_PCI_MSIX_IRQ_INDEX, &msix_info), 0);
	assert_int_equal(rte_vfio_user_pci_attach(it.pci, it.id), 0);
	assert_int_equal(rte_vfio_user_start(it.id), 0);
	it.qs = rte_vfio_user_get_qsbr(it.id);
	assert_non_null(it.qs);
	assert_int_equal(rte_rcu_qsbr_thread_register(it.qs, 0), 0);
	assert_int_equal(rte_rcu_qsbr_thread_register(it.qs, 1), 0);

	conf.path = it.path;
	it.c = rte_vfio_user_client_attach(&conf);
	assert_non_null(it.c);
	for (int v = 0; v < IT_NVEC; v++) {
		it.msix[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		assert_true(it.msix[v] >= 0);
	}
	it.intx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(it.intx >= 0);
	assert_int_equal(rte_vfio_user_client_set_irqs(it.c,
			 VFIO_USER_PCI_MSIX_IRQ_INDEX, trigger, 0, IT_NVEC,
			 it.msix), 0);
	assert_int_equal(rte_vfio_user_client_set_irqs(it.c,
			 VFIO_USER_PCI_INTX_IRQ_INDEX, trigger, 0, 1, &it.intx), 0);
}

/* The client leaves; wait until the server has seen it go. */
static void
it_detach(void)
{
	rte_vfio_user_client_detach(it.c);
	it.c = NULL;
	for (int i = 0; i < 500 && rte_vfio_user_is_idle(it.id) != 1; i++)
		usleep(10 * 1000);
	assert_int_equal(rte_vfio_user_is_idle(it.id), 1);
}

static void
it_close(void)
{
	if (it.c != NULL)
		rte_vfio_user_client_detach(it.c);
	if (it.pci != NULL)
		assert_int_equal(rte_vfio_user_pci_attach(it.pci, -1), 0);
	assert_int_equal(rte_vfio_user_unregister(it.id), 0);
	rte_vfio_user_pci_free(it.pci);
	for (int v = 0; v < IT_NVEC; v++)
		close(it.msix[v]);
	close(it.intx);
	rmdir(it.dir);
}

/* INTx: the level, INTx Disable, MSI-X Enable, and the SET_IRQS mask. */
static void
test_irq_intx(void **state)
{
	(void)state;
	it_open();
	/* MSI-X disabled: INTx, and the status bit shows the level */
	assert_int_equal(trig(0), -ENOTSUP);
	assert_false(status_int());
	assert_int_equal(intx(true), 1);
	assert_int_equal(efd(it.intx), 1);
	assert_true(status_int());
	assert_int_equal(intx(false), 0);
	assert_false(status_int());
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);	/* EOI */
	assert_int_equal(efd(it.intx), 0);
	/* the client's EOI (unmask) while the line is still up: a level,
	 * it interrupts again, until the device model lowers it */
	assert_int_equal(intx(true), 1);
	assert_int_equal(efd(it.intx), 1);
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);
	assert_int_equal(efd(it.intx), 1);
	assert_int_equal(intx(false), 0);
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);
	assert_int_equal(efd(it.intx), 0);

	/* INTx Disable: the level shows, nothing is signalled ... */
	cwr(RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_INTX_DISABLE, 2);
	assert_int_equal(intx(true), 0);
	assert_true(status_int());
	assert_int_equal(efd(it.intx), 0);
	/* ... until it is cleared while the line is still up */
	cwr(RTE_VFIO_USER_PCI_COMMAND, 0, 2);
	assert_int_equal(efd(it.intx), 1);
	assert_int_equal(intx(false), 0);
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);

	/* masked with SET_IRQS: latched; INTx Disable drops the latch, so
	 * the unmask delivers nothing; clearing it signals the line again */
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, true);
	assert_int_equal(intx(true), 0);
	assert_int_equal(efd(it.intx), 0);
	cwr(RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_INTX_DISABLE, 2);
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);
	assert_int_equal(efd(it.intx), 0);
	cwr(RTE_VFIO_USER_PCI_COMMAND, 0, 2);
	assert_int_equal(efd(it.intx), 1);
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);
	assert_int_equal(efd(it.intx), 1);	/* the line is still up */
	assert_int_equal(intx(false), 0);
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);
	assert_int_equal(efd(it.intx), 0);

	/* MSI-X enabled: never INTx, whatever INTx Disable says; a latched
	 * INTx is dropped when MSI-X is enabled */
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, true);
	assert_int_equal(intx(true), 0);	/* latched (masked) */
	cwr(IT_CTL, IT_EN, 2);
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);
	assert_int_equal(efd(it.intx), 0);
	assert_int_equal(intx(true), 0);
	assert_int_equal(efd(it.intx), 0);
	assert_true(status_int());		/* the level still shows */
	/* MSI-X disabled again with the line up: INTx again */
	cwr(IT_CTL, 0, 2);
	assert_int_equal(efd(it.intx), 1);
	assert_int_equal(intx(false), 0);
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);

	/* reset: line down, INTx enabled again */
	assert_int_equal(intx(true), 1);
	assert_int_equal(efd(it.intx), 1);
	assert_int_equal(rte_vfio_user_pci_reset(it.pci), 0);
	assert_false(status_int());
	irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);
	assert_int_equal(efd(it.intx), 0);
	it_close();
}

/* MSI-X: enable, function mask, vector masks, PBA, SET_IRQS masks. */
static void
test_irq_msix(void **state)
{
	(void)state;
	it_open();
	/* disabled: the caller uses INTx */
	assert_int_equal(rte_vfio_user_pci_msix_enabled(it.pci), 0);
	assert_int_equal(trig(0), -ENOTSUP);
	assert_int_equal(efd(it.msix[0]), 0);

	/* enabled, table not driven (as with QEMU): straight through */
	cwr(IT_CTL, IT_EN, 2);
	assert_int_equal(rte_vfio_user_pci_msix_enabled(it.pci), 1);
	assert_int_equal(trig(0), 1);
	assert_int_equal(efd(it.msix[0]), 1);

	/* function mask: into the PBA; cleared: sent once */
	cwr(IT_CTL, IT_EN | IT_FMASK, 2);
	assert_int_equal(trig(1), 0);
	assert_int_equal(trig(1), 0);
	assert_int_equal(efd(it.msix[1]), 0);
	assert_int_equal(pba(), 0x2);
	assert_int_equal(rte_vfio_user_pci_msix_pending(it.pci, 1), 1);
	cwr(IT_CTL, IT_EN, 2);
	assert_int_equal(efd(it.msix[1]), 1);
	assert_int_equal(pba(), 0);

	/* the driver drives the table: vector 0 unmasked, 1-3 masked */
	vctl(0, 0);
	assert_int_equal(rte_vfio_user_pci_msix_masked(it.pci, 0), 0);
	assert_int_equal(rte_vfio_user_pci_msix_masked(it.pci, 2), 1);
	assert_int_equal(trig(2), 0);
	assert_int_equal(trig(0), 1);
	assert_int_equal(efd(it.msix[0]), 1);
	assert_int_equal(efd(it.msix[2]), 0);
	assert_int_equal(pba(), 0x4);
	vctl(2, 0);			/* unmasked: sent, PBA clear */
	assert_int_equal(efd(it.msix[2]), 1);
	assert_int_equal(pba(), 0);
	vctl(2, 1);			/* masked again: nothing sent */
	assert_int_equal(efd(it.msix[2]), 0);

	/* SET_IRQS mask on an unmasked vector: the library latches it, the
	 * PBA shows it, the unmask sends it */
	irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 0, true);
	assert_int_equal(trig(0), 0);
	assert_int_equal(efd(it.msix[0]), 0);
	assert_int_equal(pba(), 0x1);
	irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 0, false);
	assert_int_equal(efd(it.msix[0]), 1);
	assert_int_equal(pba(), 0);

	/* both masks: it waits for the last one, whichever it is */
	irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 0, true);
	assert_int_equal(trig(0), 0);		/* the library latched it */
	vctl(0, 1);				/* back into the PBA */
	irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 0, false);
	assert_int_equal(efd(it.msix[0]), 0);	/* the table still masks */
	assert_int_equal(pba(), 0x1);
	vctl(0, 0);
	assert_int_equal(efd(it.msix[0]), 1);
	assert_int_equal(pba(), 0);
	vctl(3, 0);
	irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 3, true);
	cwr(IT_CTL, IT_EN | IT_FMASK, 2);
	assert_int_equal(trig(3), 0);		/* in the PBA */
	cwr(IT_CTL, IT_EN, 2);			/* to the library: latched */
	assert_int_equal(efd(it.msix[3]), 0);
	assert_int_equal(pba(), 0x8);
	irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 3, false);
	assert_int_equal(efd(it.msix[3]), 1);
	assert_int_equal(pba(), 0);

	/* MSI-X disabled with a vector pending: kept, sent when enabled */
	cwr(IT_CTL, IT_EN | IT_FMASK, 2);
	assert_int_equal(trig(0), 0);
	cwr(IT_CTL, 0, 2);
	assert_int_equal(trig(0), -ENOTSUP);
	assert_int_equal(efd(it.msix[0]), 0);
	cwr(IT_CTL, IT_EN, 2);
	assert_int_equal(efd(it.msix[0]), 1);
	assert_int_equal(pba(), 0);

	/* reset: disabled, masked, nothing pending */
	cwr(IT_CTL, IT_EN | IT_FMASK, 2);
	assert_int_equal(trig(3), 0);
	assert_int_equal(rte_vfio_user_client_reset(it.c), 0);
	assert_int_equal(rte_vfio_user_pci_reset(it.pci), 0);
	assert_int_equal(pba(), 0);
	assert_int_equal(trig(3), -ENOTSUP);
	it_close();
}

/* Bus Master Enable: MSI-X messages are memory writes. */
static void
test_irq_bus_master(void **state)
{
	uint16_t cmd;

	(void)state;
	it_open();
	cwr(IT_CTL, IT_EN, 2);
	/* never set by the client (a driver that leaves the command
	 * register alone): the function works */
	cmd = (uint16_t)crd(RTE_VFIO_USER_PCI_COMMAND, 2);
	assert_int_equal(cmd & RTE_VFIO_USER_PCI_CMD_MASTER, 0);
	assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 1);
	assert_int_equal(trig(0), 1);
	assert_int_equal(efd(it.msix[0]), 1);

	/* set, then cleared (a driver letting go): vectors are held */
	cwr(RTE_VFIO_USER_PCI_COMMAND, cmd | RTE_VFIO_USER_PCI_CMD_MASTER, 2);
	assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 1);
	assert_int_equal(trig(1), 1);
	assert_int_equal(efd(it.msix[1]), 1);
	cwr(RTE_VFIO_USER_PCI_COMMAND, cmd, 2);
	assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 0);
	assert_int_equal(rte_vfio_user_pci_msix_masked(it.pci, 1), 1);
	assert_int_equal(trig(1), 0);
	assert_int_equal(trig(2), 0);
	assert_int_equal(efd(it.msix[1]), 0);
	assert_int_equal(efd(it.msix[2]), 0);
	assert_int_equal(pba(), 0x6);
	/* INTx is no memory write, but MSI-X enabled excludes it anyway;
	 * the same vectors once more: still one each */
	assert_int_equal(trig(1), 0);
	/* given back: each sent once */
	cwr(RTE_VFIO_USER_PCI_COMMAND, cmd | RTE_VFIO_USER_PCI_CMD_MASTER, 2);
	assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 1);
	assert_int_equal(efd(it.msix[1]), 1);
	assert_int_equal(efd(it.msix[2]), 1);
	assert_int_equal(pba(), 0);

	/* a SET_IRQS-latched vector comes back into the PBA when bus
	 * mastering goes, and waits for both */
	irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 3, true);
	assert_int_equal(trig(3), 0);
	cwr(RTE_VFIO_USER_PCI_COMMAND, cmd, 2);
	irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 3, false);
	assert_int_equal(efd(it.msix[3]), 0);
	assert_int_equal(pba(), 0x8);
	cwr(RTE_VFIO_USER_PCI_COMMAND, cmd | RTE_VFIO_USER_PCI_CMD_MASTER, 2);
	assert_int_equal(efd(it.msix[3]), 1);

	/* a reset forgets that the client had set it */
	cwr(RTE_VFIO_USER_PCI_COMMAND, cmd, 2);
	assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 0);
	assert_int_equal(rte_vfio_user_client_reset(it.c), 0);
	assert_int_equal(rte_vfio_user_pci_reset(it.pci), 0);
	assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 1);
	assert_int_equal(rte_vfio_user_pci_bus_master(NULL), -EINVAL);

	/* so does the client's leaving: the next one may never set it; a
	 * vector held for want of bus mastering was that client's, one the
	 * function mask holds stays */
	cwr(IT_CTL, IT_EN, 2);
	cwr(RTE_VFIO_USER_PCI_COMMAND, cmd | RTE_VFIO_USER_PCI_CMD_MASTER, 2);
	cwr(RTE_VFIO_USER_PCI_COMMAND, cmd, 2);
	assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 0);
	assert_int_equal(trig(0), 0);
	assert_int_equal(rte_vfio_user_pci_msix_pending(it.pci, 0), 1);
	it_detach();
	assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 1);
	assert_int_equal(rte_vfio_user_pci_msix_pending(it.pci, 0), 0);
	/* the register itself is kept, for a client that reconnects */
	assert_int_equal(rte_vfio_user_pci_get_command(it.pci), cmd);
	it_close();

	/* a function freed while attached (stop, free, start again): the
	 * next client's leaving must not reach it (ASan sees it if it does) */
	it_open();
	rte_vfio_user_pci_free(it.pci);
	it.pci = NULL;
	it_detach();
	it_close();
}

/* A trigger racing with the client's unmasking: never lost. */
struct race_arg {
	volatile bool stop;
	unsigned long n;
};

static void *
race_trigger(void *p)
{
	struct race_arg *a = p;

	rte_rcu_qsbr_thread_online(it.qs, 1);
	while (!a->stop) {
		assert_true(rte_vfio_user_pci_msix_trigger(it.pci, 1) >= 0);
		a->n++;
		rte_rcu_qsbr_quiescent(it.qs, 1);
	}
	rte_rcu_qsbr_thread_offline(it.qs, 1);
	return NULL;
}

static void
test_irq_race(void **state)
{
	struct race_arg a = { .n = 0 };
	uint64_t got = 0;
	pthread_t t;

	(void)state;
	it_open();
	cwr(IT_CTL, IT_EN, 2);
	vctl(1, 0);
	for (int i = 0; i < 200; i++) {
		a.stop = false;
		assert_int_equal(pthread_create(&t, NULL, race_trigger, &a), 0);
		cwr(IT_CTL, IT_EN | IT_FMASK, 2);
		vctl(1, 1);
		cwr(IT_CTL, IT_EN, 2);
		vctl(1, 0);
		irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 1, true);
		irq_mask(VFIO_USER_PCI_MSIX_IRQ_INDEX, 1, false);
		a.stop = true;
		pthread_join(t, NULL);
		/* every mask is off and the trigger stopped: nothing may be
		 * left latched, here or in the library */
		assert_int_equal(pba(), 0);
		assert_int_equal(rte_vfio_user_pci_msix_pending(it.pci, 1), 0);
		got += efd(it.msix[1]);
	}
	assert_true(got > 0 && got <= a.n);
	assert_int_equal(trig(1), 1);
	assert_int_equal(efd(it.msix[1]), 1);
	print_message("%lu triggers, %" PRIu64 " interrupts\n", a.n, got);
	it_close();
}

static void
test_reset(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	uint8_t init[256], now[256];

	(void)state;
	assert_int_equal(rte_vfio_user_pci_set_ids(pci, &test_ids), 0);
	assert_int_equal(rte_vfio_user_pci_set_irq_pin(pci, 1), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 4096, 0), 0);
	assert_int_equal(rte_vfio_user_pci_add_vendor_cap(pci, "xyz", 3,
			(const uint8_t *)"\xff\xff\xff"), 0x40);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 0, init, 256), 256);
	wr(pci, 0x04, 0x0406, 2);
	wr(pci, 0x10, 0xfe000000, 4);
	wr(pci, 0x3c, 0x0a, 1);
	wr(pci, 0x43, 0x616263, 3);
	assert_int_equal(rte_vfio_user_pci_set_intx(pci, true), 0);
	assert_int_equal(rte_vfio_user_pci_set_status_bits(pci,
			RTE_VFIO_USER_PCI_STATUS_DETECTED_PARITY), 0);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 0, now, 256), 256);
	assert_memory_not_equal(init, now, 256);
	nev = 0;
	assert_int_equal(rte_vfio_user_pci_reset(pci), 0);
	assert_int_equal(nev, 0);
	assert_int_equal(rte_vfio_user_pci_cfg_read(pci, 0, now, 256), 256);
	assert_memory_equal(init, now, 256);
	assert_int_equal(rd(pci, 0x43, 3), 0x7a7978);
	rte_vfio_user_pci_free(pci);
}

/* The power management capability: registers, allowed changes, events,
 * the reset on D3hot to D0. */
static void
test_pm(void **state)
{
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	const struct rte_vfio_user_pci_event *ev;
	const uint32_t csr = 0x40 + RTE_VFIO_USER_PCI_PM_CTRL;

	(void)state;
	assert_int_equal(rte_vfio_user_pci_add_pm(NULL, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_add_pm(pci, 1u << 3), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 4096, 0), 0);
	assert_int_equal(rte_vfio_user_pci_pm_state(pci), 0);	/* none */
	assert_int_equal(rte_vfio_user_pci_add_pm(pci, 0), 0x40);
	assert_int_equal(rte_vfio_user_pci_add_pm(pci,
						  RTE_VFIO_USER_PCI_PM_F_D1),
			 -EEXIST);
	assert_int_equal(rte_vfio_user_pci_add_cap(pci,
						   RTE_VFIO_USER_PCI_CAP_ID_PM,
						   "\x03\x00\x00\x00\x00\x00",
						   6, NULL, NULL),
			 -EEXIST);
	/* id 1, last in the list; PMC: version 1.2, no D1/D2, no PME;
	 * PMCSR, bridge extensions and data 0 (No_Soft_Reset clear) */
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_CAPABILITY_LIST, 1), 0x40);
	assert_true(rd(pci, RTE_VFIO_USER_PCI_STATUS, 2) &
		    RTE_VFIO_USER_PCI_STATUS_CAP_LIST);
	assert_int_equal(rd(pci, 0x40, 2), RTE_VFIO_USER_PCI_CAP_ID_PM);
	assert_int_equal(rd(pci, 0x40 + RTE_VFIO_USER_PCI_PM_PMC, 2), 3);
	assert_int_equal(rd(pci, csr, 4), 0);
	assert_int_equal(rte_vfio_user_pci_pm_state(pci), 0);
	assert_int_equal(rte_vfio_user_pci_pm_state(NULL), -EINVAL);
	/* only the power state is writable (no PME: PME_En, PME_Status,
	 * data select are 0) */
	nev = 0;
	wr(pci, csr, 0xfffffffc, 4);
	assert_int_equal(rd(pci, csr, 4), 0);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_POWER), 0);
	/* D1 and D2 are not supported: the write completes, nothing
	 * changes */
	wr(pci, csr, 1, 2);
	assert_int_equal(rd(pci, csr, 2), 0);
	wr(pci, csr, 2, 1);
	assert_int_equal(rd(pci, csr, 2), 0);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_POWER), 0);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_CFG_WRITE), 3);

	/* a driven function goes to D3hot: one event, no bus mastering */
	wr(pci, RTE_VFIO_USER_PCI_COMMAND,
	   RTE_VFIO_USER_PCI_CMD_MEMORY | RTE_VFIO_USER_PCI_CMD_MASTER, 2);
	wr(pci, RTE_VFIO_USER_PCI_BASE_ADDRESS_0, 0xfe000000, 4);
	assert_int_equal(rte_vfio_user_pci_bus_master(pci), 1);
	nev = 0;
	wr(pci, csr, RTE_VFIO_USER_PCI_PM_D3HOT, 2);
	assert_int_equal(rd(pci, csr, 2), RTE_VFIO_USER_PCI_PM_D3HOT);
	assert_int_equal(rte_vfio_user_pci_pm_state(pci),
			 RTE_VFIO_USER_PCI_PM_D3HOT);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_POWER), 1);
	ev = find_ev(RTE_VFIO_USER_PCI_EV_POWER, 0);
	assert_non_null(ev);
	assert_int_equal(ev->old_val, 0);
	assert_int_equal(ev->new_val, 3);
	assert_int_equal(ev->reset, 0);
	assert_int_equal(rte_vfio_user_pci_bus_master(pci), 0);
	/* the command register stays what the driver wrote */
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_COMMAND, 2),
			 RTE_VFIO_USER_PCI_CMD_MEMORY |
				 RTE_VFIO_USER_PCI_CMD_MASTER);
	/* D3hot again, or D2: nothing */
	nev = 0;
	wr(pci, csr, RTE_VFIO_USER_PCI_PM_D3HOT, 2);
	wr(pci, csr, 2, 2);
	assert_int_equal(rd(pci, csr, 2), RTE_VFIO_USER_PCI_PM_D3HOT);
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_POWER), 0);
	/* D0: the function is reset (command, BAR back to 0), one event
	 * saying so and the write's own, no command or BAR event */
	nev = 0;
	wr(pci, csr - 2, 0x0000ffff, 4);	/* PMC bytes and PMCSR */
	assert_int_equal(rd(pci, csr, 2), 0);
	assert_int_equal(rte_vfio_user_pci_pm_state(pci), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_COMMAND, 2), 0);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_BASE_ADDRESS_0, 4), 0);
	assert_int_equal(rte_vfio_user_pci_bus_master(pci), 1);
	assert_int_equal(nev, 2);
	assert_int_equal(evs[0].type, RTE_VFIO_USER_PCI_EV_POWER);
	assert_int_equal(evs[0].old_val, 3);
	assert_int_equal(evs[0].new_val, 0);
	assert_int_equal(evs[0].reset, 1);
	assert_int_equal(evs[1].type, RTE_VFIO_USER_PCI_EV_CFG_WRITE);
	rte_vfio_user_pci_free(pci);

	/* D1, D2 and No_Soft_Reset: deeper states only, or D0; D3hot to D0
	 * keeps the function's state */
	pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	assert_int_equal(rte_vfio_user_pci_add_pm(
				 pci,
				 RTE_VFIO_USER_PCI_PM_F_D1 |
					 RTE_VFIO_USER_PCI_PM_F_D2 |
					 RTE_VFIO_USER_PCI_PM_F_NO_SOFT_RESET),
			 0x40);
	assert_int_equal(rd(pci, 0x40 + RTE_VFIO_USER_PCI_PM_PMC, 2),
			 3 | RTE_VFIO_USER_PCI_PM_PMC_D1 |
				 RTE_VFIO_USER_PCI_PM_PMC_D2);
	assert_int_equal(rd(pci, csr, 2),
			 RTE_VFIO_USER_PCI_PM_CTRL_NO_SOFT_RESET);
	wr(pci, RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_SERR, 2);
	wr(pci, csr, 2, 2);
	assert_int_equal(rd(pci, csr, 2) & 3, 2);
	wr(pci, csr, 1, 2);			/* D2 to D1: refused */
	assert_int_equal(rd(pci, csr, 2) & 3, 2);
	wr(pci, csr, 3, 2);
	assert_int_equal(rd(pci, csr, 2) & 3, 3);
	wr(pci, csr, 2, 2);			/* D3hot to D2: refused */
	assert_int_equal(rd(pci, csr, 2) & 3, 3);
	nev = 0;
	wr(pci, csr, 0, 2);
	assert_int_equal(rd(pci, csr, 2),
			 RTE_VFIO_USER_PCI_PM_CTRL_NO_SOFT_RESET);
	assert_int_equal(rd(pci, RTE_VFIO_USER_PCI_COMMAND, 2),
			 RTE_VFIO_USER_PCI_CMD_SERR);
	ev = find_ev(RTE_VFIO_USER_PCI_EV_POWER, 0);
	assert_non_null(ev);
	assert_int_equal(ev->old_val, 3);
	assert_int_equal(ev->reset, 0);
	wr(pci, csr, 1, 2);			/* D0 to D1 */
	assert_int_equal(rd(pci, csr, 2) & 3, 1);
	assert_int_equal(rte_vfio_user_pci_bus_master(pci), 0);
	/* a reset puts it back in D0 */
	assert_int_equal(rte_vfio_user_pci_reset(pci), 0);
	assert_int_equal(rd(pci, csr, 2) & 3, 0);
	assert_int_equal(rte_vfio_user_pci_bus_master(pci), 1);
	rte_vfio_user_pci_free(pci);

	/* the power state travels with a saved state; one this function
	 * cannot be in, or other PM registers, are refused */
	struct rte_vfio_user_pci *a = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	struct rte_vfio_user_pci *b = mk(RTE_VFIO_USER_PCI_CFG_SIZE);
	size_t sz;
	uint8_t *st, *bad;

	assert_int_equal(rte_vfio_user_pci_add_pm(a, 0), 0x40);
	assert_int_equal(rte_vfio_user_pci_add_pm(b, 0), 0x40);
	sz = rte_vfio_user_pci_state_size(a);
	st = malloc(sz);
	bad = malloc(sz);
	assert_non_null(st);
	assert_non_null(bad);
	wr(a, csr, RTE_VFIO_USER_PCI_PM_D3HOT, 2);
	assert_int_equal(rte_vfio_user_pci_save(a, st, sz), (ssize_t)sz);
	memcpy(bad, st, sz);
	bad[24 + csr] = 2;			/* D2: not supported */
	assert_int_equal(rte_vfio_user_pci_restore(b, bad, sz), -EINVAL);
	memcpy(bad, st, sz);
	bad[24 + csr] |= RTE_VFIO_USER_PCI_PM_CTRL_NO_SOFT_RESET;
	assert_int_equal(rte_vfio_user_pci_restore(b, bad, sz), -EINVAL);
	memcpy(bad, st, sz);
	bad[24 + 0x40 + RTE_VFIO_USER_PCI_PM_PMC + 1] |= 0x2;	/* D1 */
	assert_int_equal(rte_vfio_user_pci_restore(b, bad, sz), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_bus_master(b), 1);
	assert_int_equal(rte_vfio_user_pci_restore(b, st, sz), 0);
	assert_int_equal(rd(b, csr, 2), RTE_VFIO_USER_PCI_PM_D3HOT);
	assert_int_equal(rte_vfio_user_pci_bus_master(b), 0);
	nev = 0;
	wr(b, csr, 0, 2);			/* and resets from there */
	assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_POWER), 1);
	assert_int_equal(evs[0].reset, 1);
	assert_int_equal(rte_vfio_user_pci_bus_master(b), 1);
	free(st);
	free(bad);
	rte_vfio_user_pci_free(a);
	rte_vfio_user_pci_free(b);
}

/* Interrupts outside D0, through a client: none; what happened meanwhile
 * comes after D3hot to D0 with No_Soft_Reset, is dropped with a reset. */
static void
test_irq_power(void **state)
{
	(void)state;
	for (int keep = 0; keep < 2; keep++) {
		it_pm = keep ? RTE_VFIO_USER_PCI_PM_F_NO_SOFT_RESET : 0;
		it_open();
		it_pm = -1;
		cwr(RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_MASTER, 2);
		cwr(IT_CTL, IT_EN, 2);
		assert_int_equal(trig(0), 1);
		assert_int_equal(efd(it.msix[0]), 1);
		cwr(IT_PMCSR, RTE_VFIO_USER_PCI_PM_D3HOT, 2);
		assert_int_equal(crd(IT_PMCSR, 2) & 3, 3);
		/* MSI-X: held in the PBA */
		assert_int_equal(trig(0), 0);
		assert_int_equal(trig(2), 0);
		assert_int_equal(efd(it.msix[0]), 0);
		assert_int_equal(pba(), 0x5);
		/* INTx (MSI-X disabled): the level shows, is not signalled */
		cwr(IT_CTL, 0, 2);
		assert_int_equal(intx(true), 0);
		assert_true(status_int());
		assert_int_equal(efd(it.intx), 0);
		cwr(IT_CTL, IT_EN, 2);
		assert_int_equal(efd(it.msix[0]), 0);
		cwr(IT_PMCSR, 0, 2);
		if (keep) {
			/* back in D0, state kept: the held vectors go out
			 * once, INTx stays excluded by MSI-X */
			assert_int_equal(efd(it.msix[0]), 1);
			assert_int_equal(efd(it.msix[2]), 1);
			assert_int_equal(pba(), 0);
			assert_int_equal(efd(it.intx), 0);
			assert_int_equal(crd(IT_CTL, 2) & IT_EN, IT_EN);
		} else {
			/* reset: MSI-X disabled, nothing pending, INTx
			 * down and not signalled */
			assert_int_equal(crd(IT_CTL, 2) & IT_EN, 0);
			assert_int_equal(pba(), 0);
			assert_int_equal(efd(it.msix[0]), 0);
			assert_int_equal(efd(it.msix[2]), 0);
			assert_false(status_int());
			assert_int_equal(efd(it.intx), 0);
			assert_int_equal(crd(RTE_VFIO_USER_PCI_COMMAND, 2), 0);
		}
		assert_int_equal(intx(false), 0);
		/* INTx (MSI-X disabled): one latched under a SET_IRQS mask
		 * is dropped in D3hot (its unmask sends nothing); with
		 * No_Soft_Reset, back in D0 with the level still high, it
		 * is signalled again; a reset lowers the level */
		cwr(IT_CTL, 0, 2);
		irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, true);
		assert_int_equal(intx(true), 0);
		cwr(IT_PMCSR, RTE_VFIO_USER_PCI_PM_D3HOT, 2);
		irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);
		assert_int_equal(efd(it.intx), 0);
		cwr(IT_PMCSR, 0, 2);
		assert_int_equal(efd(it.intx), keep ? 1 : 0);
		assert_int_equal(status_int(), keep);
		assert_int_equal(intx(false), 0);
		irq_mask(VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);	/* EOI */
		assert_int_equal(efd(it.intx), 0);

		/* a client leaving the function in D3hot: the next one
		 * finds it in D0, a working function, reset as coming
		 * back to D0 resets it (kept with No_Soft_Reset, as for
		 * any reconnecting client) */
		cwr(RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_SERR, 2);
		cwr(IT_PMCSR, RTE_VFIO_USER_PCI_PM_D3HOT, 2);
		assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 0);
		assert_int_equal(intx(true), 0);
		nev = 0;
		it_detach();
		assert_int_equal(rte_vfio_user_pci_bus_master(it.pci), 1);
		assert_int_equal(rd(it.pci, IT_PMCSR, 2) & 3, 0);
		assert_int_equal(rd(it.pci, RTE_VFIO_USER_PCI_COMMAND, 2),
				 keep ? RTE_VFIO_USER_PCI_CMD_SERR : 0);
		assert_int_equal(rd(it.pci, RTE_VFIO_USER_PCI_STATUS, 2) &
					 RTE_VFIO_USER_PCI_STATUS_INTERRUPT,
				 keep ? RTE_VFIO_USER_PCI_STATUS_INTERRUPT : 0);
		assert_int_equal(count_ev(RTE_VFIO_USER_PCI_EV_POWER), 0);
		it_close();
	}
}

/* A function of the layout the state tests use. */
static struct rte_vfio_user_pci *
mk_state_fn(uint16_t device_id, uint16_t nvec)
{
	struct rte_vfio_user_pci_ids ids = test_ids;
	uint8_t body[6] = { 1, 2, 3, 4, 5, 6 };
	struct rte_vfio_user_pci *pci = mk(RTE_VFIO_USER_PCI_CFG_SIZE);

	ids.device_id = device_id;
	assert_int_equal(rte_vfio_user_pci_set_ids(pci, &ids), 0);
	assert_int_equal(rte_vfio_user_pci_set_bar(pci, 0, 4096, 0), 0);
	assert_int_equal(rte_vfio_user_pci_add_msix(pci, nvec, 0, 0x800, 0,
						    0xc00),
			 0x40);
	assert_true(rte_vfio_user_pci_add_vendor_cap(pci, body, sizeof(body),
						     NULL) > 0);
	return pci;
}

static void
test_state_save_restore(void **state)
{
	struct rte_vfio_user_pci *a = mk_state_fn(0x5655, 4);
	struct rte_vfio_user_pci *b = mk_state_fn(0x5655, 4);
	struct rte_vfio_user_pci *other = mk_state_fn(0x5656, 4);
	struct rte_vfio_user_pci *fewer = mk_state_fn(0x5655, 2);
	size_t sz = rte_vfio_user_pci_state_size(a);
	uint8_t *st = malloc(sz), *bad = malloc(sz);
	uint8_t cfg_a[256], cfg_b[256];
	char tab_a[64], tab_b[64];

	(void)state;
	assert_non_null(st);
	assert_non_null(bad);
	/* a function a client drove: command, BAR, MSI-X on, vector 1
	 * unmasked with an address, vector 2 masked and pending */
	wr(a, RTE_VFIO_USER_PCI_COMMAND,
	   RTE_VFIO_USER_PCI_CMD_MEMORY | RTE_VFIO_USER_PCI_CMD_MASTER, 2);
	wr(a, RTE_VFIO_USER_PCI_BASE_ADDRESS_0, 0xfe000000, 4);
	wr(a, 0x40 + RTE_VFIO_USER_PCI_MSIX_FLAGS,
	   RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE, 2);
	mwr(a, 0, 0x800 + 16, 0xfee00000, 4);
	mwr(a, 0, 0x800 + 16 + 8, 0x4021, 4);
	mwr(a, 0, 0x800 + 16 + 12, 0, 4);
	assert_int_equal(rte_vfio_user_pci_msix_trigger(a, 2), 0);
	assert_int_equal(rte_vfio_user_pci_msix_pending(a, 2), 1);

	assert_int_equal(rte_vfio_user_pci_save(a, st, sz - 1), -ENOSPC);
	assert_int_equal(rte_vfio_user_pci_save(a, st, sz), (ssize_t)sz);
	/* refused: another device id, another table size, truncated, another
	 * version; the function is left as it was */
	assert_int_equal(rte_vfio_user_pci_restore(other, st, sz), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_restore(fewer, st, sz), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_restore(b, st, sz - 1), -EINVAL);
	assert_int_equal(rte_vfio_user_pci_restore(b, st, 8), -EINVAL);
	memcpy(bad, st, sz);
	bad[4] = 9;		/* version */
	assert_int_equal(rte_vfio_user_pci_check_state(b, bad, sz),
			 -EPROTONOSUPPORT);
	assert_int_equal(rte_vfio_user_pci_restore(b, bad, sz),
			 -EPROTONOSUPPORT);
	memcpy(bad, st, sz);
	bad[0] ^= 1;		/* magic */
	assert_int_equal(rte_vfio_user_pci_restore(b, bad, sz), -EINVAL);
	memcpy(bad, st, sz);
	bad[24 + 0x40 + 1] ^= 0x4;	/* the capability chain */
	assert_int_equal(rte_vfio_user_pci_restore(b, bad, sz), -EINVAL);
	assert_int_equal(rd(b, RTE_VFIO_USER_PCI_COMMAND, 2), 0);
	assert_int_equal(mrd(b, 0, 0x800 + 16 + 12, 4), 1);

	/* restored: the same registers, table, masks and latches */
	assert_int_equal(rte_vfio_user_pci_check_state(b, st, sz), 0);
	assert_int_equal(rte_vfio_user_pci_restore(b, st, sz), 0);
	assert_int_equal(rte_vfio_user_pci_cfg_read(a, 0, cfg_a, 256), 256);
	assert_int_equal(rte_vfio_user_pci_cfg_read(b, 0, cfg_b, 256), 256);
	assert_memory_equal(cfg_a, cfg_b, 256);
	assert_int_equal(rte_vfio_user_pci_msix_access(a, 0, tab_a, 64, 0x800,
						       false),
			 64);
	assert_int_equal(rte_vfio_user_pci_msix_access(b, 0, tab_b, 64, 0x800,
						       false),
			 64);
	assert_memory_equal(tab_a, tab_b, 64);
	for (uint32_t v = 0; v < 4; v++) {
		assert_int_equal(rte_vfio_user_pci_msix_masked(b, v),
				 rte_vfio_user_pci_msix_masked(a, v));
		assert_int_equal(rte_vfio_user_pci_msix_pending(b, v),
				 rte_vfio_user_pci_msix_pending(a, v));
	}
	assert_int_equal(rte_vfio_user_pci_msix_enabled(b), 1);

	/* a client that never wrote the table: its mask bits stay unheeded */
	rte_vfio_user_pci_free(b);
	b = mk_state_fn(0x5655, 4);
	rte_vfio_user_pci_reset(a);
	wr(a, 0x40 + RTE_VFIO_USER_PCI_MSIX_FLAGS,
	   RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE, 2);
	assert_int_equal(rte_vfio_user_pci_msix_masked(a, 0), 0);
	assert_int_equal(rte_vfio_user_pci_save(a, st, sz), (ssize_t)sz);
	assert_int_equal(rte_vfio_user_pci_restore(b, st, sz), 0);
	assert_int_equal(rte_vfio_user_pci_msix_masked(b, 0), 0);

	/* bus mastering taken away travels with the state; a state where
	 * it never was set restores a working function */
	assert_int_equal(rte_vfio_user_pci_bus_master(b), 1);
	wr(a, RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_MASTER, 2);
	wr(a, RTE_VFIO_USER_PCI_COMMAND, 0, 2);
	assert_int_equal(rte_vfio_user_pci_bus_master(a), 0);
	assert_int_equal(rte_vfio_user_pci_save(a, st, sz), (ssize_t)sz);
	assert_int_equal(rte_vfio_user_pci_restore(b, st, sz), 0);
	assert_int_equal(rte_vfio_user_pci_bus_master(b), 0);
	assert_int_equal(rte_vfio_user_pci_msix_masked(b, 0), 1);
	rte_vfio_user_pci_reset(a);
	assert_int_equal(rte_vfio_user_pci_save(a, st, sz), (ssize_t)sz);
	assert_int_equal(rte_vfio_user_pci_restore(b, st, sz), 0);
	assert_int_equal(rte_vfio_user_pci_bus_master(b), 1);

	free(st);
	free(bad);
	rte_vfio_user_pci_free(a);
	rte_vfio_user_pci_free(b);
	rte_vfio_user_pci_free(other);
	rte_vfio_user_pci_free(fewer);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_read_only),
		cmocka_unit_test(test_bar_32),
		cmocka_unit_test(test_bar_64_prefetch),
		cmocka_unit_test(test_bar_io_rom),
		cmocka_unit_test(test_bar_invalid),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_status_w1c_intx),
		cmocka_unit_test(test_cap_chain),
		cmocka_unit_test(test_ext_cap),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_unaligned),
		cmocka_unit_test(test_msix_table),
		cmocka_unit_test(test_msix_large),
		cmocka_unit_test(test_attached),
		cmocka_unit_test(test_irq_intx),
		cmocka_unit_test(test_irq_msix),
		cmocka_unit_test(test_irq_bus_master),
		cmocka_unit_test(test_irq_race),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_pm),
		cmocka_unit_test(test_irq_power),
		cmocka_unit_test(test_state_save_restore),
	};

	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
