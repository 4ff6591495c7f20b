/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Client memory: DMA_MAP with an fd and translation on the server,
 * message-only ranges served by the client (single socket and twin socket),
 * refused requests, limits, and quiescence of the data path across unmaps.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <jansson.h>
#include <rte_rcu_qsbr.h>

#include "mi_common.h"

#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)
#define MEM_RW (RTE_VFIO_USER_MEM_F_READ | RTE_VFIO_USER_MEM_F_WRITE)

static const struct rte_vfio_user_mem_table *
table(struct mi_dev *d)
{
	return rte_vfio_user_get_mem_table(d->id);
}

static int
get_info(struct rc *c)
{
	struct vfio_user_device_info i = { .argsz = sizeof(i) };

	return rc_call(c, VFIO_USER_DEVICE_GET_INFO, &i, sizeof(i), NULL, 0,
		       NULL);
}

/* ---- mapped memory ---- */

static void
test_map_fd_translate(void **state)
{
	const uint64_t iova = 0x10000000, iova2 = 0x20000000, iova3 = 0x30000000;
	const struct rte_vfio_user_mem_segment *s;
	const struct rte_vfio_user_mem_table *t;
	struct rte_vfio_user_mem_cache cache = { 0 };
	int changed = mi_load(&mi_a.dma_changed);
	int pre = mi_load(&mi_a.unmap_pre);
	uint8_t *mem, *ro, *p, buf[64];
	int fd, rofd;
	struct rc c;

	(void)state;
	fd = mi_memfd(64 * 1024, &mem);
	rofd = mi_memfd(MI_PAGE, &ro);
	for (unsigned int i = 0; i < 64 * 1024; i++)
		mem[i] = (uint8_t)(i * 7 + 3);
	memset(ro, 0x5a, MI_PAGE);
	mi_open(&c, &mi_a, NULL);

	assert_int_equal(mi_map(&c, iova, 32 * 1024, RW, fd, 0), 0);
	/* offset: the second half of the same memfd */
	assert_int_equal(mi_map(&c, iova2, 32 * 1024, RW, fd, 32 * 1024), 0);
	assert_int_equal(mi_map(&c, iova3, MI_PAGE, VFIO_USER_DMA_MAP_F_READ,
				rofd, 0), 0);
	assert_int_equal(mi_load(&mi_a.dma_changed), changed + 3);
	t = table(&mi_a);
	assert_int_equal(t->nregions, 3);
	assert_int_equal(t->nsegments, 3);
	s = rte_vfio_user_mem_next(t, 0);
	assert_true(s != NULL && s->iova == iova && s->size == 32 * 1024);
	assert_non_null(s->vaddr);
	assert_int_equal(s->prot, MEM_RW);
	assert_null(s->map->dirty);
	s = rte_vfio_user_mem_next(t, s->iova + s->size);
	assert_true(s != NULL && s->iova == iova2);
	/* two regions of one file: one mapping */
	assert_ptr_equal(s->map, rte_vfio_user_mem_next(t, 0)->map);
	s = rte_vfio_user_mem_next(t, s->iova + s->size);
	assert_true(s != NULL && s->iova == iova3);
	assert_int_equal(s->prot, RTE_VFIO_USER_MEM_F_READ);
	assert_null(rte_vfio_user_mem_next(t, s->iova + s->size));

	/* the client writes, the server reads */
	p = rte_vfio_user_iova_to_va(t, iova + 100, 16, RTE_VFIO_USER_MEM_F_READ);
	assert_non_null(p);
	assert_memory_equal(p, mem + 100, 16);
	p = rte_vfio_user_iova_to_va(t, iova2 + 4096, 64, MEM_RW);
	assert_non_null(p);
	assert_memory_equal(p, mem + 32 * 1024 + 4096, 64);
	p = rte_vfio_user_iova_to_va_cached(t, &cache, iova + 32 * 1024 - 8, 8,
					    RTE_VFIO_USER_MEM_F_READ);
	assert_non_null(p);
	assert_memory_equal(p, mem + 32 * 1024 - 8, 8);
	mem[32 * 1024 - 8] = 0xee;
	assert_int_equal(p[0], 0xee);
	/* the server writes, the client reads */
	p = rte_vfio_user_iova_to_va_cached(t, &cache, iova + 200, 4,
					    RTE_VFIO_USER_MEM_F_WRITE);
	assert_non_null(p);
	memcpy(p, "\x01\x02\x03\x04", 4);
	assert_memory_equal(mem + 200, "\x01\x02\x03\x04", 4);
	p = rte_vfio_user_iova_to_va_cached(t, &cache, iova2, 4, MEM_RW);
	assert_non_null(p);
	memcpy(p, "ABCD", 4);
	assert_memory_equal(mem + 32 * 1024, "ABCD", 4);

	/* dma_read / dma_write on mapped memory copy directly */
	assert_int_equal(rte_vfio_user_dma_write(mi_a.id, iova2 + 1000, "hello",
						 5), 0);
	assert_memory_equal(mem + 32 * 1024 + 1000, "hello", 5);
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, iova + 300, buf, 64), 0);
	assert_memory_equal(buf, mem + 300, 64);
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, iova + 32 * 1024 - 10,
						buf, 20), -EFAULT);

	/* protections: a read-only map refuses write translations */
	assert_non_null(rte_vfio_user_iova_to_va(t, iova3, 8,
						 RTE_VFIO_USER_MEM_F_READ));
	assert_null(rte_vfio_user_iova_to_va(t, iova3, 8,
					     RTE_VFIO_USER_MEM_F_WRITE));
	assert_null(rte_vfio_user_iova_to_va(t, iova3, 8, MEM_RW));
	cache = (struct rte_vfio_user_mem_cache){ 0 };
	assert_null(rte_vfio_user_iova_to_va_cached(t, &cache, iova3, 8,
						    RTE_VFIO_USER_MEM_F_WRITE));
	assert_non_null(rte_vfio_user_iova_to_va_cached(t, &cache, iova3, 8,
						RTE_VFIO_USER_MEM_F_READ));
	assert_int_equal(rte_vfio_user_dma_write(mi_a.id, iova3, "x", 1),
			 -EFAULT);
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, iova3, buf, 8), 0);
	assert_int_equal(buf[0], 0x5a);

	assert_int_equal(mi_unmap(&c, iova3, MI_PAGE, 0), 0);
	assert_int_equal(mi_unmap(&c, iova, 32 * 1024, 0), 0);
	assert_int_equal(mi_load(&mi_a.unmap_pre), pre + 2);
	t = table(&mi_a);
	assert_int_equal(t->nregions, 1);
	assert_null(rte_vfio_user_iova_to_va(t, iova, 8, 0));
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, iova, buf, 8), -EFAULT);
	assert_int_equal(mi_unmap(&c, iova2, 32 * 1024, 0), 0);
	assert_int_equal(table(&mi_a)->nregions, 0);
	mi_close(&c, &mi_a);
	munmap(mem, 64 * 1024);
	munmap(ro, MI_PAGE);
	close(fd);
	close(rofd);
}

static void
test_translate_edges(void **state)
{
	const uint64_t a = 0x100000;
	const struct rte_vfio_user_mem_table *t;
	struct rte_vfio_user_mem_cache cache = { 0 };
	uint8_t *mem, *p;
	struct rc c;
	int fd;

	(void)state;
	fd = mi_memfd(64 * 1024, &mem);
	mem[0] = 1;
	mem[32 * 1024] = 2;
	mi_open(&c, &mi_a, NULL);
	/* two adjacent regions with different backing */
	assert_int_equal(mi_map(&c, a, 8192, RW, fd, 0), 0);
	assert_int_equal(mi_map(&c, a + 8192, 8192, RW, fd, 32 * 1024), 0);
	t = table(&mi_a);
	assert_int_equal(t->nregions, 2);
	assert_int_equal(t->nsegments, 2);	/* offsets not adjacent */

	p = rte_vfio_user_iova_to_va(t, a, 1, 0);
	assert_true(p != NULL && *p == 1);
	p = rte_vfio_user_iova_to_va(t, a + 8192, 1, 0);
	assert_true(p != NULL && *p == 2);
	assert_non_null(rte_vfio_user_iova_to_va(t, a + 8192 - 8, 8, 0));
	assert_non_null(rte_vfio_user_iova_to_va(t, a, 8192, 0));
	/* straddling the two regions */
	assert_null(rte_vfio_user_iova_to_va(t, a + 4096, 8192, 0));
	assert_null(rte_vfio_user_iova_to_va(t, a + 8192 - 1, 2, 0));
	/* past the end, below the first, wrapping */
	assert_null(rte_vfio_user_iova_to_va(t, a + 16384, 1, 0));
	assert_null(rte_vfio_user_iova_to_va(t, a + 16384 - 4, 8, 0));
	assert_null(rte_vfio_user_iova_to_va(t, a - 4096, 8, 0));
	assert_null(rte_vfio_user_iova_to_va(t, a - 1, 2, 0));
	assert_null(rte_vfio_user_iova_to_va(t, 0, 1, 0));
	assert_null(rte_vfio_user_iova_to_va(t, UINT64_MAX - 3, 8, 0));
	assert_null(rte_vfio_user_iova_to_va(t, a, UINT64_MAX, 0));
	assert_null(rte_vfio_user_mem_find(t, a + 4096, 8192));

	/* the cached variant: same answers, switching regions */
	p = rte_vfio_user_iova_to_va_cached(t, &cache, a + 10, 1, 0);
	assert_true(p != NULL &&
		    p == rte_vfio_user_mem_find(t, a, 1)->vaddr + 10);
	assert_ptr_equal(cache.seg, rte_vfio_user_mem_find(t, a, 1));
	assert_int_equal(cache.gen, t->gen);
	p = rte_vfio_user_iova_to_va_cached(t, &cache, a + 8192, 1, 0);
	assert_true(p != NULL && *p == 2);
	assert_ptr_equal(cache.seg, rte_vfio_user_mem_find(t, a + 8192, 1));
	assert_null(rte_vfio_user_iova_to_va_cached(t, &cache, a + 8192 - 1, 2,
						    0));
	assert_null(rte_vfio_user_iova_to_va_cached(t, &cache, a + 16384, 1, 0));
	assert_null(rte_vfio_user_iova_to_va_cached(t, &cache, a - 8, 8, 0));
	assert_null(rte_vfio_user_iova_to_va_cached(t, &cache, a + 8192,
						    UINT64_MAX, 0));
	/* a new table invalidates the cache */
	assert_int_equal(mi_unmap(&c, a + 8192, 8192, 0), 0);
	t = table(&mi_a);
	assert_null(rte_vfio_user_iova_to_va_cached(t, &cache, a + 8192, 1, 0));
	assert_non_null(rte_vfio_user_iova_to_va_cached(t, &cache, a, 1, 0));

	assert_int_equal(mi_unmap(&c, a, 8192, 0), 0);
	mi_close(&c, &mi_a);
	munmap(mem, 64 * 1024);
	close(fd);
}

/*
 * The translation cache outlives quiescent states (one per queue): a table
 * freed and another published at the same address must not make it use a
 * segment of the old one. Tables carry a generation number for that.
 */
static void
test_translate_cache_reuse(void **state)
{
	struct rte_vfio_user_mem_leaf *l = calloc(1, sizeof(*l));
	struct rte_vfio_user_mem_table *t = calloc(1, sizeof(*t));
	struct rte_vfio_user_mem_cache cache = { 0 };
	static uint8_t m0[4096], m2[4096];

	(void)state;
	assert_true(l != NULL && t != NULL);
	t->gen = 1000;
	t->root = l;
	l->n = 3;
	l->seg[0] = (struct rte_vfio_user_mem_segment){
		.iova = 0x1000, .size = 4096, .vaddr = m0,
		.prot = RTE_VFIO_USER_MEM_F_READ };
	l->seg[1] = (struct rte_vfio_user_mem_segment){
		.iova = 0x3000, .size = 4096, .vaddr = m0,
		.prot = RTE_VFIO_USER_MEM_F_READ };
	l->seg[2] = (struct rte_vfio_user_mem_segment){
		.iova = 0x5000, .size = 4096, .vaddr = m2,
		.prot = RTE_VFIO_USER_MEM_F_READ };
	t->nsegments = t->nregions = 3;
	assert_ptr_equal(rte_vfio_user_iova_to_va_cached(t, &cache, 0x5000, 8,
				RTE_VFIO_USER_MEM_F_READ), m2);
	/* the "same" table, a new version at the same address: one segment
	 * left; the cached slot is stale memory */
	t->gen = 1001;
	l->n = 1;
	t->nsegments = t->nregions = 1;
	assert_null(rte_vfio_user_iova_to_va_cached(t, &cache, 0x5000, 8,
				RTE_VFIO_USER_MEM_F_READ));
	assert_ptr_equal(rte_vfio_user_iova_to_va_cached(t, &cache, 0x1000, 8,
				RTE_VFIO_USER_MEM_F_READ), m0);
	assert_int_equal(cache.gen, 1001);
	/* a zeroed cache never matches a table */
	cache = (struct rte_vfio_user_mem_cache){ 0 };
	assert_ptr_equal(
		rte_vfio_user_iova_to_va_cached(t, &cache, 0x1008, 8,
						RTE_VFIO_USER_MEM_F_READ),
		m0 + 8);
	free(t);
	free(l);
}

static void
test_map_errors(void **state)
{
	const uint64_t a = 0x40000000;
	uint8_t *mem;
	struct rc c;
	int fd, small;
	uint8_t *smem;

	(void)state;
	fd = mi_memfd(64 * 1024, &mem);
	small = mi_memfd(MI_PAGE, &smem);
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(mi_map(&c, a, 16384, RW, fd, 0), 0);

	/* over an existing range: EEXIST, whatever the overlap */
	assert_int_equal(mi_map(&c, a, 16384, RW, fd, 0), -EEXIST);
	assert_int_equal(mi_map(&c, a - 4096, 8192, RW, -1, 0), -EEXIST);
	assert_int_equal(mi_map(&c, a + 12288, 8192, RW, -1, 0), -EEXIST);
	assert_int_equal(mi_map(&c, a + 4096, 4096, RW, -1, 0), -EEXIST);
	assert_int_equal(mi_map(&c, a - 4096, 32768, RW, -1, 0), -EEXIST);
	/* adjacent is fine */
	assert_int_equal(mi_map(&c, a + 16384, 4096, RW, -1, 0), 0);
	assert_int_equal(mi_map(&c, a - 4096, 4096, RW, -1, 0), 0);
	assert_int_equal(get_info(&c), 0);

	/* empty, wrapping, unaligned */
	assert_int_equal(mi_map(&c, 0x1000000, 0, RW, fd, 0), -EINVAL);
	assert_int_equal(mi_map(&c, 0xfffffffffffff000ull, 0x2000, RW, -1, 0),
			 -EINVAL);
	assert_int_equal(mi_map(&c, 0xfffffffffffff000ull, 0x1000, RW, -1, 0),
			 -EINVAL);
	assert_int_equal(mi_map(&c, 0x1000000, 0x1800, RW, fd, 0), -EINVAL);
	assert_int_equal(mi_map(&c, 0x1000800, 0x1000, RW, fd, 0), -EINVAL);
	assert_int_equal(mi_map(&c, 0x1000000, 0x1000, RW, fd, 0x10), -EINVAL);
	/* an offset without an fd means nothing */
	assert_int_equal(mi_map(&c, 0x1000000, 0x1000, RW, -1, 0x1000), -EINVAL);
	/* bad flags */
	assert_int_equal(mi_map(&c, 0x1000000, 0x1000, 0x4 | RW, fd, 0), -EINVAL);
	assert_int_equal(mi_map(&c, 0x1000000, 0x1000, 0x80000000u, fd, 0),
			 -EINVAL);
	/* the file does not hold the range: a later access would SIGBUS */
	assert_int_equal(mi_map(&c, 0x1000000, 0x2000, RW, small, 0), -EINVAL);
	assert_int_equal(mi_map(&c, 0x1000000, 0x1000, RW, small, 0x1000),
			 -EINVAL);
	assert_int_equal(mi_map(&c, 0x1000000, 0x1000, RW, fd,
				0xfffffffffffff000ull), -EINVAL);
	{	/* argsz smaller than the structure */
		struct vfio_user_dma_map m = { .argsz = 16, .flags = RW,
			.addr = 0x1000000, .size = 0x1000 };

		assert_int_equal(rc_call(&c, VFIO_USER_DMA_MAP, &m, sizeof(m),
					 NULL, 0, NULL), -EINVAL);
	}
	assert_int_equal(get_info(&c), 0);
	assert_int_equal(table(&mi_a)->nregions, 3);

	/* an unmap that is not one region: as VFIO type1 (v2), never a
	 * part of a region (test_unmap_range has the ranges that work) */
	assert_int_equal(mi_unmap(&c, a, 8192, 0), -EINVAL);
	assert_int_equal(mi_unmap(&c, a + 4096, 4096, 0), -EINVAL);
	assert_int_equal(mi_unmap(&c, a + 4096, 32768, 0), -EINVAL);
	assert_int_equal(mi_unmap(&c, a + 12288, 8192, 0), -EINVAL);
	assert_int_equal(mi_unmap(&c, 0x7000000, 0, 0), -EINVAL);
	assert_int_equal(mi_unmap(&c, 0x7000000, UINT64_MAX, 0), -EINVAL);
	assert_int_equal(mi_unmap(&c, a, 16384, 0x100), -EINVAL);
	assert_int_equal(mi_unmap(&c, a, 16384, 0x80000000u), -EINVAL);
	/* a dirty bitmap while not logging */
	{
		struct {
			struct vfio_user_dma_unmap u;
			struct vfio_user_bitmap b;
		} __attribute__((packed)) req = {
			{ sizeof(req) + 8, VFIO_USER_DMA_UNMAP_F_GET_DIRTY_BITMAP,
			  a, 16384 }, { 4096, 8 } };

		assert_int_equal(rc_call(&c, VFIO_USER_DMA_UNMAP, &req,
					 sizeof(req), NULL, 0, NULL), -EINVAL);
	}
	{	/* argsz too small for the reply */
		struct vfio_user_dma_unmap u = { 8, 0, a, 16384 };

		assert_int_equal(rc_call(&c, VFIO_USER_DMA_UNMAP, &u, sizeof(u),
					 NULL, 0, NULL), -EINVAL);
	}
	assert_int_equal(table(&mi_a)->nregions, 3);
	assert_int_equal(get_info(&c), 0);

	/* it all still works */
	assert_int_equal(mi_unmap(&c, a, 16384, 0), 0);
	assert_int_equal(mi_unmap(&c, a - 4096, 4096, 0), 0);
	assert_int_equal(mi_unmap(&c, a + 16384, 4096, 0), 0);
	/* again: nothing there now, nothing to do */
	assert_int_equal(mi_unmap(&c, a + 16384, 4096, 0), 0);
	assert_int_equal(mi_map(&c, a, 16384, RW, fd, 16384), 0);
	assert_int_equal(mi_unmap(&c, a, 16384, 0), 0);
	mi_close(&c, &mi_a);
	munmap(mem, 64 * 1024);
	munmap(smem, MI_PAGE);
	close(fd);
	close(small);
}

/*
 * DMA_UNMAP of a range that is not one region, as QEMU sends them with a
 * vIOMMU (whole naturally aligned blocks of the IOVA space, up to 2^64,
 * most of them empty, when the guest's IOMMU domain changes): the regions
 * wholly inside go, a range with none is answered with success (VFIO
 * type1), one splitting a region is refused and changes nothing.
 */
static void
test_unmap_range(void **state)
{
	const uint64_t a = 0xfff00000;
	uint8_t *mem;
	struct rc c;
	int fd;

	(void)state;
	fd = mi_memfd(64 * 1024, &mem);
	mi_open(&c, &mi_a, NULL);
	/* 4 KiB pages at descending IOVAs, not adjacent in the file, a
	 * message-only one among them, and one far above 4 GiB */
	for (uint64_t i = 0; i < 8; i++)
		assert_int_equal(mi_map(&c, a + 0xf0000 - i * 4096, 4096, RW,
					i == 5 ? -1 : fd,
					i == 5 ? 0 : i * 8192),
				 0);
	assert_int_equal(mi_map(&c, 0x800000000000ull, 4096, RW, fd, 0), 0);
	assert_int_equal(table(&mi_a)->nregions, 9);

	/* empty ranges, the first one ending at 2^64: nothing to do */
	assert_int_equal(mi_unmap(&c, 0x800000001000ull, 0xffff7ffffffff000ull,
				  0),
			 0);
	assert_int_equal(mi_unmap(&c, 0, 0x80000000, 0), 0);
	assert_int_equal(table(&mi_a)->nregions, 9);
	/* splitting a region (at either end): refused, nothing goes */
	assert_int_equal(mi_unmap(&c, a + 0xf0800, 0x10000, 0), -EINVAL);
	assert_int_equal(mi_unmap(&c, a + 0xe9000, 0x7800, 0), -EINVAL);
	assert_int_equal(table(&mi_a)->nregions, 9);
	assert_non_null(rte_vfio_user_iova_to_va(table(&mi_a), a + 0xf0000,
						 4096,
						 RTE_VFIO_USER_MEM_F_READ));
	/* a block holding three pages: those three go, their neighbours stay */
	assert_int_equal(mi_unmap(&c, a + 0xec000, 0x3000, 0), 0);
	assert_int_equal(table(&mi_a)->nregions, 6);
	assert_null(rte_vfio_user_iova_to_va(table(&mi_a), a + 0xed000, 4096,
					     RTE_VFIO_USER_MEM_F_READ));
	assert_non_null(rte_vfio_user_iova_to_va(table(&mi_a), a + 0xea000,
						 4096,
						 RTE_VFIO_USER_MEM_F_READ));
	assert_non_null(rte_vfio_user_iova_to_va(table(&mi_a), a + 0xef000,
						 4096,
						 RTE_VFIO_USER_MEM_F_READ));
	/* what QEMU sends when the domain goes: the rest of the 4 GiB, then
	 * everything above up to 2^64 */
	assert_int_equal(mi_unmap(&c, 0, 0x100000000ull, 0), 0);
	assert_int_equal(table(&mi_a)->nregions, 1);
	assert_int_equal(mi_unmap(&c, 0x100000000ull, 0xffffffff00000000ull, 0),
			 0);
	assert_int_equal(table(&mi_a)->nregions, 0);
	assert_int_equal(table(&mi_a)->nsegments, 0);
	/* the IOVAs are free again: the pages map anew elsewhere */
	assert_int_equal(mi_map(&c, a + 0xf0000, 4096, RW, fd, 4096), 0);
	assert_int_equal(mi_map(&c, 0x800000000000ull, 4096, RW, fd, 8192), 0);
	memcpy(mem + 4096, "remapped", 8);
	assert_memory_equal(rte_vfio_user_iova_to_va(table(&mi_a), a + 0xf0000,
						     8,
						     RTE_VFIO_USER_MEM_F_READ),
			    "remapped", 8);
	assert_int_equal(get_info(&c), 0);
	mi_close(&c, &mi_a);
	munmap(mem, 64 * 1024);
	close(fd);
}

static void
test_max_dma_maps(void **state)
{
	struct rc_reply r;
	json_t *root, *caps;
	struct rc c;

	(void)state;
	mi_open_reply(&c, &mi_a, "{\"capabilities\":{\"max_dma_maps\":4}}", &r);
	caps = mi_version_caps(&r, &root);
	assert_int_equal(json_integer_value(json_object_get(caps,
							    "max_dma_maps")), 4);
	json_decref(root);
	rc_reply_free(&r);

	for (uint64_t i = 0; i < 4; i++)
		assert_int_equal(mi_map(&c, 0x100000 * (i + 1), 4096, RW, -1, 0),
				 0);
	assert_int_equal(mi_map(&c, 0x900000, 4096, RW, -1, 0), -ENOSPC);
	assert_int_equal(get_info(&c), 0);
	assert_int_equal(mi_unmap(&c, 0x200000, 4096, 0), 0);
	assert_int_equal(mi_map(&c, 0x900000, 4096, RW, -1, 0), 0);
	assert_int_equal(mi_map(&c, 0xa00000, 4096, RW, -1, 0), -ENOSPC);
	assert_int_equal(table(&mi_a)->nregions, 4);
	mi_close(&c, &mi_a);
}

#define MANY 600

static void
test_many_regions(void **state)
{
	const uint64_t base = 0x1000000000ull;
	const struct rte_vfio_user_mem_table *t;
	uint8_t *mem;
	struct rc c;
	int fd;

	(void)state;
	fd = mi_memfd((size_t)MANY * MI_PAGE, &mem);
	for (uint32_t i = 0; i < MANY; i++)
		memcpy(mem + (size_t)i * MI_PAGE, &i, sizeof(i));
	mi_open(&c, &mi_b, NULL);
	/* out of order, with holes between them */
	for (uint32_t k = 0; k < MANY; k++) {
		uint32_t i = (k * 7) % MANY;

		assert_int_equal(mi_map(&c, base + (uint64_t)i * 2 * MI_PAGE,
					MI_PAGE, RW, fd, (uint64_t)i * MI_PAGE),
				 0);
	}
	t = table(&mi_b);
	assert_int_equal(t->nregions, MANY);
	assert_int_equal(t->nsegments, MANY);	/* holes between them */
	for (uint32_t i = 0; i < MANY; i++) {
		uint64_t iova = base + (uint64_t)i * 2 * MI_PAGE;
		const uint32_t *p = rte_vfio_user_iova_to_va(t, iova, 4,
						RTE_VFIO_USER_MEM_F_READ);

		assert_int_equal(rte_vfio_user_mem_find(t, iova, 1)->iova,
				 iova);
		assert_non_null(p);
		assert_int_equal(*p, i);
		assert_null(rte_vfio_user_iova_to_va(t, iova + MI_PAGE, 1, 0));
		assert_null(rte_vfio_user_iova_to_va(t, iova + MI_PAGE - 1, 2,
						     0));
	}
	for (uint32_t i = 0; i < MANY; i++)
		assert_int_equal(mi_unmap(&c, base + (uint64_t)i * 2 * MI_PAGE,
					  MI_PAGE, 0), 0);
	assert_int_equal(table(&mi_b)->nregions, 0);
	mi_close(&c, &mi_b);
	munmap(mem, (size_t)MANY * MI_PAGE);
	close(fd);
}

static unsigned long
max_map_count(void)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	unsigned long v = 0;

	if (f != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/*
 * A file per DMA_MAP: each is a mapping (a kernel VMA) of ours, so a
 * device takes at most 8192 files (vu_memmap.c), not the process's
 * vm.max_map_count; more regions of a file mapped already still go, and
 * an unmapped file makes room again.
 */
#define FILES_MAX 8192

static void
test_map_many_files(void **state)
{
	const uint64_t base = 0x2000000000ull;
	uint8_t *first = NULL, *extra;
	int fd, first_fd = -1;
	unsigned long mmc = max_map_count();
	struct rc c;

	(void)state;
	/* the process's own limit (a quarter of it) must not come first */
	if (mmc < 4ul * (FILES_MAX + 4096)) {
		printf("test_map_many_files: vm.max_map_count %lu, below "
		       "%lu: the process limit would come first\n",
		       mmc, 4ul * (FILES_MAX + 4096));
		skip();
	}
	mi_open(&c, &mi_b, NULL);
	for (uint32_t i = 0; i < FILES_MAX; i++) {
		uint8_t *m;

		fd = mi_memfd(2 * MI_PAGE, &m);
		assert_int_equal(mi_map(&c, base + (uint64_t)i * 4 * MI_PAGE,
					MI_PAGE, RW, fd, 0),
				 0);
		if (i == 0) { /* kept for the checks below */
			first_fd = fd;
			first = m;
			continue;
		}
		munmap(m, 2 * MI_PAGE);
		close(fd);
	}
	assert_int_equal(table(&mi_b)->nregions, FILES_MAX);
	fd = mi_memfd(MI_PAGE, &extra);
	munmap(extra, MI_PAGE);
	assert_int_equal(mi_map(&c, base - 4 * MI_PAGE, MI_PAGE, RW, fd, 0),
			 -ENOSPC);
	/* the second page of a file mapped already: no new mapping */
	assert_int_equal(mi_map(&c, base + MI_PAGE, MI_PAGE, RW, first_fd,
				MI_PAGE),
			 0);
	memcpy(first + MI_PAGE, "page two", 8);
	assert_memory_equal(rte_vfio_user_iova_to_va(table(&mi_b),
						     base + MI_PAGE, 8,
						     RTE_VFIO_USER_MEM_F_READ),
			    "page two", 8);
	/* a file's last region gone: its mapping too, room for another */
	assert_int_equal(mi_unmap(&c, base + 4 * MI_PAGE, MI_PAGE, 0), 0);
	assert_int_equal(mi_map(&c, base - 4 * MI_PAGE, MI_PAGE, RW, fd, 0), 0);
	assert_int_equal(get_info(&c), 0);
	mi_close(&c, &mi_b);
	close(fd);
	close(first_fd);
	munmap(first, 2 * MI_PAGE);
}

/* Map up to n new files of a page each, 8 KiB apart from base: how many
 * went before the first ENOSPC. */
static uint32_t
map_files(struct rc *c, uint64_t base, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		uint8_t *m;
		int fd = mi_memfd(MI_PAGE, &m), ret;

		munmap(m, MI_PAGE);
		ret = mi_map(c, base + (uint64_t)i * 2 * MI_PAGE, MI_PAGE, RW,
			     fd, 0);
		close(fd);
		if (ret == -ENOSPC)
			break;
		assert_int_equal(ret, 0);
	}
	return i;
}

/*
 * The process's budget: two devices each at the device limit would take
 * more than a quarter of vm.max_map_count (65530: 16382), so the second
 * is refused before its own limit; once the first client goes (its
 * mappings with it), the second has room again.
 */
static void
test_map_budget_process(void **state)
{
	unsigned long budget = max_map_count() / 4;
	uint32_t na, nb;
	struct rc a, b;

	(void)state;
	if (budget >= 2ul * FILES_MAX || budget < FILES_MAX + 64) {
		printf("test_map_budget_process: a budget of %lu mappings "
		       "(vm.max_map_count / 4) is not between %u and %u: "
		       "two devices would not show it\n",
		       budget, FILES_MAX + 64, 2 * FILES_MAX);
		skip();
	}
	mi_open(&a, &mi_a, NULL);
	mi_open(&b, &mi_b, NULL);
	na = map_files(&a, 0x3000000000ull, FILES_MAX + 1);
	nb = map_files(&b, 0x4000000000ull, FILES_MAX);
	printf("files mapped: %u on one device, %u on the other; process "
	       "budget %lu\n",
	       na, nb, budget);
	assert_int_equal(na, FILES_MAX); /* the device's limit */
	assert_true(nb < FILES_MAX && na + nb <= budget);
	mi_close(&a, &mi_a);
	assert_int_equal(map_files(&b, 0x5000000000ull, 1), 1);
	mi_close(&b, &mi_b);
}

/* ---- message-only memory: the client serves DMA_READ / DMA_WRITE ---- */

/* A rte_vfio_user_dma_read/write in a thread of the device model. */
struct job {
	int dev;
	uint64_t iova;
	uint8_t *buf;
	size_t len;
	bool write;
	int ret;
	uint64_t ms;
	int done;
	pthread_t th;
};

static void *
job_run(void *arg)
{
	struct job *j = arg;
	uint64_t t0 = mi_now_ms();

	j->ret = j->write ? rte_vfio_user_dma_write(j->dev, j->iova, j->buf, j->len) :
		rte_vfio_user_dma_read(j->dev, j->iova, j->buf, j->len);
	j->ms = mi_now_ms() - t0;
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
job_start(struct job *j, struct mi_dev *d, uint64_t iova, void *buf,
	  size_t len, bool write)
{
	*j = (struct job){ .dev = d->id, .iova = iova, .buf = buf, .len = len,
			   .write = write };
	assert_int_equal(pthread_create(&j->th, NULL, job_run, j), 0);
}

static bool
job_done(struct job *j)
{
	return __atomic_load_n(&j->done, __ATOMIC_ACQUIRE);
}

/* The client's side of message-only memory. */
struct guest {
	uint8_t *mem;
	uint64_t base;
	uint64_t size;
	uint32_t max_count;	/* what the client negotiated */
	int nread, nwrite, bad;
	uint32_t largest;
	bool short_write_reply;	/* 4-byte count in DMA_WRITE replies */
	uint64_t split;		/* if not 0: two DMA_MAPs, the second here */
	uint32_t refuse;	/* if not 0: error replies with this errno */
};

/* Receive one request on c and answer it from g; 1, 0 on timeout. */
static int
serve_one(struct rc *c, struct guest *g, int timeout_ms)
{
	struct rc_reply r;
	const struct vfio_user_dma_access *a;
	struct vfio_user_header *h;
	uint8_t *out;
	size_t len;
	int ret;

	ret = rc_recv(c, &r, timeout_ms);
	if (ret == -ETIMEDOUT)
		return 0;
	assert_int_equal(ret, 0);
	a = (const void *)r.payload;
	assert_int_equal(r.hdr.flags & VFIO_USER_F_TYPE_MASK,
			 VFIO_USER_F_TYPE_COMMAND);
	assert_true(r.hdr.cmd == VFIO_USER_DMA_READ ||
		    r.hdr.cmd == VFIO_USER_DMA_WRITE);
	assert_true(r.size >= sizeof(*a));
	assert_int_equal(r.nfds, 0);
	if (a->count == 0 || a->count > g->max_count || a->addr < g->base ||
	    a->addr - g->base > g->size || a->count > g->size - (a->addr - g->base))
		g->bad++;
	/* a client answers from the memory of one DMA_MAP */
	if (g->split != 0 && a->addr - g->base < g->split &&
	    a->addr - g->base + a->count > g->split)
		g->bad++;
	if (a->count > g->largest)
		g->largest = (uint32_t)a->count;
	if (r.hdr.cmd == VFIO_USER_DMA_WRITE)
		assert_int_equal(r.size, sizeof(*a) + a->count);
	else
		assert_int_equal(r.size, sizeof(*a));

	len = sizeof(*h) + sizeof(*a) +
		(r.hdr.cmd == VFIO_USER_DMA_READ ? a->count : 0);
	out = calloc(1, len);
	assert_non_null(out);
	h = (void *)out;
	h->msg_id = r.hdr.msg_id;
	h->cmd = r.hdr.cmd;
	h->flags = VFIO_USER_F_TYPE_REPLY;
	if (g->refuse != 0) {
		h->flags |= VFIO_USER_F_ERROR;
		h->error_no = g->refuse;
		h->msg_size = sizeof(*h);
		assert_int_equal(rc_send_raw(c, out, sizeof(*h), NULL, 0), 0);
		free(out);
		rc_reply_free(&r);
		return 1;
	}
	memcpy(out + sizeof(*h), a, sizeof(*a));
	if (r.hdr.cmd == VFIO_USER_DMA_READ) {
		memcpy(out + sizeof(*h) + sizeof(*a),
		       g->mem + (a->addr - g->base), a->count);
		g->nread++;
	} else {
		memcpy(g->mem + (a->addr - g->base), a->data, a->count);
		g->nwrite++;
		if (g->short_write_reply)
			len -= 4;	/* the current text: 4-byte count */
	}
	h->msg_size = (uint32_t)len;
	assert_int_equal(rc_send_raw(c, out, len, NULL, 0), 0);
	free(out);
	rc_reply_free(&r);
	return 1;
}

/* Serve c until the job has finished. */
static void
serve_job(struct rc *c, struct guest *g, struct job *j)
{
	while (!job_done(j))
		serve_one(c, g, 20);
	pthread_join(j->th, NULL);
}

/* No message waits on c. */
static void
assert_quiet(struct rc *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 0), 0);
}

static void
msg_only_transfers(struct rc *srv, struct rc *quiet, struct guest *g)
{
	const size_t n = 20 * 1024;
	uint8_t *out = malloc(n + 100), *in = malloc(n + 100);
	struct job j;

	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < n + 100; i++)
		out[i] = (uint8_t)(i * 13 + 1);

	/* 20 KiB in 4 KiB requests, the client writing its memory */
	job_start(&j, &mi_a, g->base + 4096, out, n, true);
	serve_job(srv, g, &j);
	assert_int_equal(j.ret, 0);
	assert_int_equal(g->nwrite, 5);
	assert_int_equal(g->largest, 4096);
	assert_int_equal(g->bad, 0);
	assert_memory_equal(g->mem + 4096, out, n);

	/* and read back */
	memset(in, 0, n);
	job_start(&j, &mi_a, g->base + 4096, in, n, false);
	serve_job(srv, g, &j);
	assert_int_equal(j.ret, 0);
	assert_int_equal(g->nread, 5);
	assert_memory_equal(in, out, n);

	/* not a multiple of the chunk, not page aligned */
	g->nread = 0;
	job_start(&j, &mi_a, g->base + 100, in, n + 100, false);
	serve_job(srv, g, &j);
	assert_int_equal(j.ret, 0);
	assert_int_equal(g->nread, 6);
	assert_memory_equal(in, g->mem + 100, n + 100);

	/* a DMA_WRITE reply with the 4-byte count of the current text */
	g->short_write_reply = true;
	job_start(&j, &mi_a, g->base, out, 64, true);
	serve_job(srv, g, &j);
	assert_int_equal(j.ret, 0);
	assert_memory_equal(g->mem, out, 64);
	g->short_write_reply = false;
	assert_int_equal(g->bad, 0);
	if (quiet != NULL)
		assert_quiet(quiet);

	/* outside the range, or straddling its end: refused before a message */
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, g->base + g->size, in,
						1), -EFAULT);
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, g->base + g->size - 4,
						in, 8), -EFAULT);
	free(out);
	free(in);
}

static void
test_msg_only_single(void **state)
{
	struct guest g = { .base = 0x80000000, .size = 64 * 1024,
			   .max_count = 4096 };
	const struct rte_vfio_user_mem_table *t;
	struct rc c;

	(void)state;
	g.mem = calloc(1, g.size);
	mi_open(&c, &mi_a, "{\"capabilities\":{\"max_data_xfer_size\":4096}}");
	assert_int_equal(mi_map(&c, g.base, g.size, RW, -1, 0), 0);
	t = table(&mi_a);
	assert_int_equal(t->nregions, 1);
	assert_null(rte_vfio_user_mem_next(t, 0)->vaddr);
	assert_null(rte_vfio_user_mem_next(t, 0)->map);
	assert_null(rte_vfio_user_iova_to_va(t, g.base, 8, 0));

	msg_only_transfers(&c, NULL, &g);

	/* read-only message range: no DMA_WRITE */
	assert_int_equal(mi_map(&c, 0x90000000, 4096, VFIO_USER_DMA_MAP_F_READ,
				-1, 0), 0);
	assert_int_equal(rte_vfio_user_dma_write(mi_a.id, 0x90000000, "x", 1),
			 -EFAULT);
	assert_quiet(&c);
	mi_close(&c, &mi_a);
	/* no client */
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, g.base, g.mem, 8),
			 -EFAULT);
	free(g.mem);
}

/* Two adjacent message-only maps make one segment, and still one
 * request never spans both. */
static void
test_msg_only_regions(void **state)
{
	struct guest g = { .base = 0x80000000,
			   .size = 16 * 1024,
			   .max_count = 4096,
			   .split = 8192 };
	uint8_t in[8192];
	struct job j;
	struct rc c;

	(void)state;
	g.mem = calloc(1, g.size);
	assert_non_null(g.mem);
	for (size_t i = 0; i < g.size; i++)
		g.mem[i] = (uint8_t)(i * 7 + 3);
	mi_open(&c, &mi_a, "{\"capabilities\":{\"max_data_xfer_size\":4096}}");
	assert_int_equal(mi_map(&c, g.base, g.split, RW, -1, 0), 0);
	assert_int_equal(mi_map(&c, g.base + g.split, g.size - g.split, RW, -1,
				0),
			 0);
	assert_int_equal(table(&mi_a)->nregions, 2);
	assert_int_equal(table(&mi_a)->nsegments, 1);

	/* [6K, 14K): 2K up to the boundary, then 4K and 2K */
	job_start(&j, &mi_a, g.base + 6144, in, sizeof(in), false);
	serve_job(&c, &g, &j);
	assert_int_equal(j.ret, 0);
	assert_int_equal(g.bad, 0);
	assert_int_equal(g.nread, 3);
	assert_memory_equal(in, g.mem + 6144, sizeof(in));

	job_start(&j, &mi_a, g.base + 6144, in, sizeof(in), true);
	serve_job(&c, &g, &j);
	assert_int_equal(j.ret, 0);
	assert_int_equal(g.bad, 0);
	assert_int_equal(g.nwrite, 3);

	/* the client refuses: -EIO, whatever its errno (an EFAULT or
	 * ENOTCONN of the client's would read as ours) */
	g.refuse = EFAULT;
	job_start(&j, &mi_a, g.base, in, 16, false);
	serve_job(&c, &g, &j);
	assert_int_equal(j.ret, -EIO);
	g.refuse = ENOTCONN;
	job_start(&j, &mi_a, g.base, in, 16, true);
	serve_job(&c, &g, &j);
	assert_int_equal(j.ret, -EIO);
	assert_quiet(&c);
	mi_close(&c, &mi_a);
	free(g.mem);
}

struct twin_server {
	struct rc *tw;
	struct guest *g;
	int stop;
	pthread_t th;
};

static void *
twin_serve_thread(void *arg)
{
	struct twin_server *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
		serve_one(s->tw, s->g, 20);
	return NULL;
}

struct evt_read {
	uint64_t iova;
	size_t len;
	uint8_t buf[8192];
	int ret;
	int calls;
};

/* update_status hook: a DMA read from the library's event thread. */
static void
hook_read(struct mi_dev *d, enum rte_vfio_user_status st)
{
	struct evt_read *e = d->hook_arg;

	if (st != RTE_VFIO_USER_DMA_CHANGED || e->calls++ > 0)
		return;
	e->ret = rte_vfio_user_dma_read(d->id, e->iova, e->buf, e->len);
}

static void
test_msg_only_twin(void **state)
{
	struct guest g = { .base = 0x80000000, .size = 64 * 1024,
			   .max_count = 4096 };
	struct evt_read *e = calloc(1, sizeof(*e));
	struct twin_server ts;
	struct rc c, tw;

	(void)state;
	g.mem = calloc(1, g.size);
	tw.fd = mi_open_twin(&c, &mi_a, ",\"max_data_xfer_size\":4096");
	tw.next_id = 1;
	assert_int_equal(mi_map(&c, g.base, g.size, RW, -1, 0), 0);

	/* requests come on the twin socket, nothing on the main one */
	msg_only_transfers(&tw, &c, &g);

	/* from the event thread itself (a callback), served by a client
	 * thread while the main thread waits for its DMA_MAP reply */
	for (unsigned int i = 0; i < 8192; i++)
		g.mem[0x8000 + i] = (uint8_t)(i ^ 0x3c);
	e->iova = g.base + 0x8000;
	e->len = 8192;
	e->ret = 1;
	ts = (struct twin_server){ .tw = &tw, .g = &g };
	assert_int_equal(pthread_create(&ts.th, NULL, twin_serve_thread, &ts), 0);
	mi_a.hook_arg = e;
	mi_a.hook = hook_read;
	assert_int_equal(mi_map(&c, 0x90000000, 4096, RW, -1, 0), 0);
	mi_a.hook = NULL;
	__atomic_store_n(&ts.stop, 1, __ATOMIC_RELEASE);
	pthread_join(ts.th, NULL);
	assert_int_equal(e->calls, 1);
	assert_int_equal(e->ret, 0);
	assert_memory_equal(e->buf, g.mem + 0x8000, 8192);

	mi_close(&c, &mi_a);
	mi_untrack(tw.fd);
	rc_close(&tw);
	free(g.mem);
	free(e);
}

static void
test_msg_only_event_thread_deadlk(void **state)
{
	struct evt_read *e = calloc(1, sizeof(*e));
	struct rc c;

	(void)state;
	mi_open(&c, &mi_a, NULL);
	e->iova = 0x80000000;
	e->len = 16;
	e->ret = 1;
	mi_a.hook_arg = e;
	mi_a.hook = hook_read;
	assert_int_equal(mi_map(&c, 0x80000000, 4096, RW, -1, 0), 0);
	mi_a.hook = NULL;
	assert_int_equal(e->calls, 1);
	assert_int_equal(e->ret, -EDEADLK);
	assert_quiet(&c);
	assert_int_equal(get_info(&c), 0);
	mi_close(&c, &mi_a);
	free(e);
}

/* The client reads the request and never answers. */
static void
timeout_case(struct rc *c, struct rc *srv, struct guest *g)
{
	uint8_t buf[4096];
	struct rc_reply r;
	struct job j;

	job_start(&j, &mi_a, g->base, buf, sizeof(buf), false);
	assert_int_equal(rc_recv(srv, &r, 2000), 0);
	assert_int_equal(r.hdr.cmd, VFIO_USER_DMA_READ);
	rc_reply_free(&r);
	pthread_join(j.th, NULL);
	assert_int_equal(j.ret, -ETIMEDOUT);
	assert_true(j.ms >= MI_TIMEOUT_MS - 100 &&
		    j.ms <= MI_TIMEOUT_MS + 3000);

	/* the connection goes on */
	assert_int_equal(get_info(c), 0);
	memset(g->mem, 0x77, 4096);
	job_start(&j, &mi_a, g->base, buf, sizeof(buf), false);
	serve_job(srv, g, &j);
	assert_int_equal(j.ret, 0);
	assert_memory_equal(buf, g->mem, 4096);
}

static void
test_msg_only_timeout(void **state)
{
	struct guest g = { .base = 0x80000000, .size = 64 * 1024,
			   .max_count = 1 << 20 };
	struct rc c, tw;

	(void)state;
	g.mem = calloc(1, g.size);
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(mi_map(&c, g.base, g.size, RW, -1, 0), 0);
	timeout_case(&c, &c, &g);
	mi_close(&c, &mi_a);

	tw.fd = mi_open_twin(&c, &mi_a, "");
	tw.next_id = 1;
	assert_int_equal(mi_map(&c, g.base, g.size, RW, -1, 0), 0);
	timeout_case(&c, &tw, &g);
	mi_close(&c, &mi_a);
	mi_untrack(tw.fd);
	rc_close(&tw);
	free(g.mem);
}

/* The client takes the request and goes away. */
static void
disconnect_case(struct rc *c, struct rc *srv)
{
	int before = mi_load(&mi_a.destroy_count);
	uint8_t buf[64];
	struct rc_reply r;
	struct job j;

	job_start(&j, &mi_a, 0x80000000, buf, sizeof(buf), false);
	assert_int_equal(rc_recv(srv, &r, 2000), 0);
	assert_int_equal(r.hdr.cmd, VFIO_USER_DMA_READ);
	rc_reply_free(&r);
	mi_untrack(c->fd);
	rc_close(c);	/* the main socket only */
	pthread_join(j.th, NULL);
	assert_int_equal(j.ret, -ENOTCONN);
	assert_true(j.ms < 2000);
	mi_wait_teardown(&mi_a, before);
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, 0x80000000, buf, 8),
			 -EFAULT);
}

static void
test_msg_only_disconnect(void **state)
{
	struct rc c, tw;

	(void)state;
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(mi_map(&c, 0x80000000, 4096, RW, -1, 0), 0);
	disconnect_case(&c, &c);

	tw.fd = mi_open_twin(&c, &mi_a, "");
	tw.next_id = 1;
	assert_int_equal(mi_map(&c, 0x80000000, 4096, RW, -1, 0), 0);
	disconnect_case(&c, &tw);
	mi_untrack(tw.fd);
	rc_close(&tw);
}

/* ---- quiescence: unmaps wait for the data path ---- */

#define QS_IOVA 0x40000000ull
#define QS_SLOTS 16u
#define QS_ITERS 10000u
#define QS_MAX_MS 45000u	/* a bound on a very loaded machine */
#define QS_POISON 0xdeadbeefdeadbeefull

struct qs_page {
	uint64_t gen;		/* written by the client before mapping */
	uint64_t touch;		/* the reader's accesses */
	uint8_t rest[MI_PAGE - 16];
};

struct qs_reader {
	struct mi_dev *d;
	int stop;
	int ready;
	uint64_t loops, hits, poisoned, bad_gen, calls;
	pthread_t th;
};

static void *
qs_reader_run(void *arg)
{
	struct qs_reader *s = arg;
	struct rte_rcu_qsbr *q = rte_vfio_user_get_qsbr(s->d->id);
	struct rte_vfio_user_mem_cache cache = { 0 };

	if (rte_rcu_qsbr_thread_register(q, MI_QS_READER) != 0)
		return NULL;
	rte_rcu_qsbr_thread_online(q, MI_QS_READER);
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		const struct rte_vfio_user_mem_table *t =
			rte_vfio_user_get_mem_table(s->d->id);
		struct qs_page *pg = rte_vfio_user_iova_to_va_cached(t, &cache,
				QS_IOVA, sizeof(*pg), RTE_VFIO_USER_MEM_F_READ |
				RTE_VFIO_USER_MEM_F_WRITE);

		if (pg != NULL) {
			uint64_t g = __atomic_load_n(&pg->gen, __ATOMIC_ACQUIRE);

			if (g == QS_POISON)
				s->poisoned++;
			else if (g >= QS_ITERS)
				s->bad_gen++;
			__atomic_fetch_add(&pg->touch, 1, __ATOMIC_RELEASE);
			pg->rest[sizeof(pg->rest) - 1]++;
			s->hits++;
			/* the locking helpers are usable from the data path */
			if ((s->loops & 63) == 0) {
				uint64_t v;

				rte_vfio_user_mark_dirty(s->d->id, QS_IOVA, 8);
				rte_vfio_user_dma_read(s->d->id, QS_IOVA, &v,
						       sizeof(v));
				s->calls++;
			}
		}
		s->loops++;
		rte_rcu_qsbr_quiescent(q, MI_QS_READER);
	}
	rte_rcu_qsbr_thread_offline(q, MI_QS_READER);
	rte_rcu_qsbr_thread_unregister(q, MI_QS_READER);
	return NULL;
}

static int
dirty_pages(struct rc *c, uint32_t flags)
{
	struct vfio_user_dirty_pages d = { sizeof(d), flags };

	return rc_call(c, VFIO_USER_DIRTY_PAGES, &d, sizeof(d), NULL, 0, NULL);
}

static void
test_quiescence(void **state)
{
	struct qs_reader *s = calloc(1, sizeof(*s));
	const size_t size = QS_SLOTS * sizeof(struct qs_page);
	uint64_t after[QS_SLOTS] = { 0 }, t0 = mi_now_ms();
	struct qs_page *pages;
	unsigned int touched = 0, iters = 0;
	struct rc c;
	int fd;

	(void)state;
	fd = mi_memfd(size, (uint8_t **)&pages);
	for (unsigned int i = 0; i < QS_SLOTS; i++)
		pages[i].gen = QS_POISON;
	mi_open(&c, &mi_b, NULL);
	/* logging on: every region carries a bitmap the reader writes to */
	assert_int_equal(dirty_pages(&c, VFIO_USER_DIRTY_PAGES_F_START), 0);
	s->d = &mi_b;
	assert_int_equal(pthread_create(&s->th, NULL, qs_reader_run, s), 0);
	assert_true(MI_WAIT(__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE), 2000));

	for (uint64_t g = 0; g < QS_ITERS; g++, iters++) {
		unsigned int slot = g % QS_SLOTS;
		struct qs_page *pg = &pages[slot];
		uint64_t end;

		/* nothing touched this page since its unmap was answered */
		assert_int_equal(__atomic_load_n(&pg->touch, __ATOMIC_ACQUIRE),
				 after[slot]);
		pg->touch = 0;
		__atomic_store_n(&pg->gen, g, __ATOMIC_RELEASE);
		assert_int_equal(mi_map(&c, QS_IOVA, sizeof(*pg), RW, fd,
					slot * sizeof(*pg)), 0);
		/* let the reader get at it (normally within microseconds) */
		end = mi_now_ms() + 200;
		while (__atomic_load_n(&pg->touch, __ATOMIC_ACQUIRE) == 0 &&
		       mi_now_ms() < end)
			sched_yield();
		if (__atomic_load_n(&pg->touch, __ATOMIC_ACQUIRE) > 0)
			touched++;
		assert_int_equal(mi_unmap(&c, QS_IOVA, sizeof(*pg), 0), 0);
		/* the reply came: the reader must have let go for good */
		__atomic_store_n(&pg->gen, QS_POISON, __ATOMIC_RELEASE);
		after[slot] = __atomic_load_n(&pg->touch, __ATOMIC_ACQUIRE);
		if (g >= 1000 && mi_now_ms() - t0 > QS_MAX_MS) {
			print_message("quiescence: time bound reached\n");
			iters++;
			break;
		}
	}
	/* give a late access every chance to show */
	usleep(20000);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->th, NULL);
	for (unsigned int i = 0; i < QS_SLOTS; i++)
		assert_int_equal(pages[i].touch, after[i]);
	print_message("quiescence: %u map/unmap in %" PRIu64 " ms, reader %"
		      PRIu64 " loops, %" PRIu64 " accesses, %u of %u mappings "
		      "touched\n", iters, mi_now_ms() - t0, s->loops,
		      s->hits, touched, iters);
	assert_int_equal(s->poisoned, 0);
	assert_int_equal(s->bad_gen, 0);
	assert_true(s->calls > 0);
	assert_true(touched > iters / 2);
	assert_int_equal(dirty_pages(&c, VFIO_USER_DIRTY_PAGES_F_STOP), 0);
	mi_close(&c, &mi_b);
	munmap(pages, size);
	close(fd);
	free(s);
}

/*
 * The same with a table that keeps changing shape: a reader copies a range
 * spanning 16 regions (one segment) and looks pages up at random in an
 * area of 2048 pages that are mapped and unmapped at random (segments
 * merging and splitting, tree nodes split, merged and replaced), while the
 * nodes of old versions are freed behind it. No page is ever read after
 * its unmap was answered (the client poisons it then); the stable range
 * always reads intact. Under ASan, a node freed too early would show too.
 */
#define QT_STABLE_IOVA 0x30000000ull
#define QT_STABLE 16u
#define QT_CHURN_IOVA 0x40000000ull
#define QT_CHURN 2048u
#define QT_OPS 20000u
#define QT_MAX_MS 20000u
#define QT_GOOD 0x600d600d600d600dull

struct qt_reader {
	struct mi_dev *d;
	const uint8_t *want;	/* the stable range */
	int stop;
	int ready;
	uint64_t loops, reads, bad, hits, poisoned;
	pthread_t th;
};

static void *
qt_reader_run(void *arg)
{
	struct qt_reader *s = arg;
	struct rte_rcu_qsbr *q = rte_vfio_user_get_qsbr(s->d->id);
	struct rte_vfio_user_mem_cache cache = { 0 }, cache2 = { 0 };
	const uint64_t len = QT_STABLE * MI_PAGE - 200;
	uint8_t *buf = malloc(QT_STABLE * MI_PAGE);
	uint64_t x = 0x9e3779b97f4a7c15ull;

	if (buf == NULL || rte_rcu_qsbr_thread_register(q, MI_QS_READER) != 0)
		return NULL;
	rte_rcu_qsbr_thread_online(q, MI_QS_READER);
	__atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		const struct rte_vfio_user_mem_table *t =
			rte_vfio_user_get_mem_table(s->d->id);

		if (rte_vfio_user_mem_read(t, &cache, QT_STABLE_IOVA + 100, buf,
					   len) != 0 ||
		    memcmp(buf, s->want + 100, len) != 0)
			s->bad++;
		s->reads++;
		for (int k = 0; k < 8; k++) {
			const uint64_t *p;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p = rte_vfio_user_iova_to_va_cached(
				t, &cache2,
				QT_CHURN_IOVA + (x % QT_CHURN) * MI_PAGE, 8,
				RTE_VFIO_USER_MEM_F_READ);
			if (p == NULL)
				continue;
			s->hits++;
			if (__atomic_load_n(p, __ATOMIC_ACQUIRE) != QT_GOOD)
				s->poisoned++;
		}
		s->loops++;
		rte_rcu_qsbr_quiescent(q, MI_QS_READER);
	}
	rte_rcu_qsbr_thread_offline(q, MI_QS_READER);
	rte_rcu_qsbr_thread_unregister(q, MI_QS_READER);
	free(buf);
	return NULL;
}

static void
test_quiescence_tree(void **state)
{
	struct qt_reader *s = calloc(1, sizeof(*s));
	const size_t ssize = QT_STABLE * MI_PAGE, csize = QT_CHURN * MI_PAGE;
	bool *mapped = calloc(QT_CHURN, sizeof(*mapped));
	uint64_t t0 = mi_now_ms(), x = 0x2545f4914f6cdd1dull;
	uint8_t *stable, *churn;
	unsigned int ops = 0, maxsegs = 0;
	int sfd, cfd;
	struct rc c;

	(void)state;
	assert_true(s != NULL && mapped != NULL);
	sfd = mi_memfd(ssize, &stable);
	cfd = mi_memfd(csize, &churn);
	for (size_t i = 0; i < ssize; i++)
		stable[i] = (uint8_t)(i * 13 + 5);
	for (uint32_t j = 0; j < QT_CHURN; j++) {
		uint64_t poison = QS_POISON;

		memcpy(churn + (size_t)j * MI_PAGE, &poison, sizeof(poison));
	}
	mi_open(&c, &mi_b, NULL);
	/* the stable range: page by page, descending: one segment */
	for (uint32_t i = QT_STABLE; i-- > 0;)
		assert_int_equal(mi_map(&c, QT_STABLE_IOVA + i * MI_PAGE,
					MI_PAGE, RW, sfd,
					(uint64_t)i * MI_PAGE),
				 0);
	assert_int_equal(table(&mi_b)->nsegments, 1);
	s->d = &mi_b;
	s->want = stable;
	assert_int_equal(pthread_create(&s->th, NULL, qt_reader_run, s), 0);
	assert_true(
		MI_WAIT(__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE), 2000));

	for (ops = 0; ops < QT_OPS && mi_now_ms() - t0 < QT_MAX_MS; ops++) {
		uint32_t j;
		uint64_t *w;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = (uint32_t)(x % QT_CHURN);
		w = (uint64_t *)(churn + (size_t)j * MI_PAGE);
		if (mapped[j]) {
			assert_int_equal(mi_unmap(&c,
						  QT_CHURN_IOVA + j * MI_PAGE,
						  MI_PAGE, 0),
					 0);
			/* answered: the reader let go of it for good */
			__atomic_store_n(w, QS_POISON, __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(w, QT_GOOD, __ATOMIC_RELEASE);
			assert_int_equal(mi_map(&c, QT_CHURN_IOVA + j * MI_PAGE,
						MI_PAGE, RW, cfd,
						(uint64_t)j * MI_PAGE),
					 0);
		}
		mapped[j] = !mapped[j];
		if (table(&mi_b)->nsegments > maxsegs)
			maxsegs = table(&mi_b)->nsegments;
	}
	usleep(20000);
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	pthread_join(s->th, NULL);
	print_message(
		"quiescence with a changing tree: %u map/unmap in %" PRIu64
		" ms (up to %u segments), reader %" PRIu64 " loops, %" PRIu64
		" range reads, %" PRIu64 " page hits\n",
		ops, mi_now_ms() - t0, maxsegs, s->loops, s->reads, s->hits);
	assert_int_equal(s->bad, 0);
	assert_int_equal(s->poisoned, 0);
	assert_true(s->reads > 0 && s->hits > 0);
	assert_true(ops >= 1000);
	mi_close(&c, &mi_b);
	munmap(stable, ssize);
	munmap(churn, csize);
	close(sfd);
	close(cfd);
	free(mapped);
	free(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, mi_test_setup, mi_test_teardown)
const struct CMUnitTest mi_dma_tests[] = {
	T(test_map_fd_translate),
	T(test_translate_edges),
	T(test_translate_cache_reuse),
	T(test_map_errors),
	T(test_unmap_range),
	T(test_max_dma_maps),
	T(test_many_regions),
	T(test_map_many_files),
	T(test_map_budget_process),
	T(test_msg_only_single),
	T(test_msg_only_regions),
	T(test_msg_only_twin),
	T(test_msg_only_event_thread_deadlk),
	T(test_msg_only_timeout),
	T(test_msg_only_disconnect),
	T(test_quiescence),
	T(test_quiescence_tree),
};
const size_t mi_dma_tests_n = sizeof(mi_dma_tests) / sizeof(mi_dma_tests[0]);
