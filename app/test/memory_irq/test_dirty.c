/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Dirty page logging: 0.9.1 DIRTY_PAGES (start, get bitmap, stop), the
 * bitmap of DMA_UNMAP, and DEVICE_FEATURE DMA_LOGGING_START / REPORT / STOP
 * and PROBE of the current text.
 */

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mi_common.h"

#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)
#define D 0x200000ull
#define DSIZE (64 * 1024ull)

struct dp_req {
	struct vfio_user_dirty_pages dp;
	struct vfio_user_bitmap_range rg;
} __attribute__((packed));

static int
dirty_pages(struct rc *c, uint32_t flags)
{
	struct vfio_user_dirty_pages d = { sizeof(d), flags };

	return rc_call(c, VFIO_USER_DIRTY_PAGES, &d, sizeof(d), NULL, 0, NULL);
}

/*
 * GET_BITMAP of [iova, iova + size) at pgsize with a bitmap of bmsize bytes;
 * *bits gets the first 64 bits. argsz 0: exactly what the reply needs.
 * Returns 0, -errno, or 1 for a reply without bitmap (argsz too small),
 * *bits then being the argsz the server asks for.
 */
static int
dirty_get(struct rc *c, uint64_t iova, uint64_t size, uint64_t pgsize,
	  uint64_t bmsize, uint32_t argsz, uint64_t *bits)
{
	struct dp_req q = {
		{ argsz ? argsz : (uint32_t)(sizeof(q) + bmsize),
		  VFIO_USER_DIRTY_PAGES_F_GET_BITMAP },
		{ iova, size, { pgsize, bmsize } },
	};
	struct rc_reply r;
	int ret;

	ret = rc_call(c, VFIO_USER_DIRTY_PAGES, &q, sizeof(q), NULL, 0, &r);
	if (ret == 0 && r.size == sizeof(q.dp)) {
		const struct vfio_user_dirty_pages *p = (const void *)r.payload;

		assert_int_equal(p->flags, VFIO_USER_DIRTY_PAGES_F_GET_BITMAP);
		*bits = p->argsz;
		ret = 1;
	} else if (ret == 0) {
		const struct dp_req *p = (const void *)r.payload;

		assert_int_equal(r.size, sizeof(q) + bmsize);
		assert_int_equal(p->dp.argsz, sizeof(q) + bmsize);
		assert_int_equal(p->dp.flags, VFIO_USER_DIRTY_PAGES_F_GET_BITMAP);
		assert_memory_equal(&p->rg, &q.rg, sizeof(q.rg));
		bits[0] = bits[1] = 0;
		memcpy(bits, r.payload + sizeof(q), bmsize < 16 ? bmsize : 16);
		/* nothing beyond what was looked at */
		for (uint64_t i = 16; i < bmsize; i++)
			assert_int_equal(r.payload[sizeof(q) + i], 0);
	}
	rc_reply_free(&r);
	return ret;
}

static uint64_t
get_all(struct rc *c)
{
	uint64_t bits[2] = { ~0ull, ~0ull };

	assert_int_equal(dirty_get(c, D, DSIZE, 4096, 8, 0, bits), 0);
	return bits[0];
}

/* DMA_UNMAP with the dirty bitmap; bits[0..1] as dirty_get(). */
static int
unmap_dirty(struct rc *c, uint64_t iova, uint64_t size, uint64_t pgsize,
	    uint64_t bmsize, uint32_t argsz, uint64_t *bits)
{
	struct {
		struct vfio_user_dma_unmap u;
		struct vfio_user_bitmap b;
	} __attribute__((packed)) q = {
		{ argsz ? argsz : (uint32_t)(sizeof(q) + bmsize),
		  VFIO_USER_DMA_UNMAP_F_GET_DIRTY_BITMAP, iova, size },
		{ pgsize, bmsize },
	};
	struct rc_reply r;
	int ret;

	ret = rc_call(c, VFIO_USER_DMA_UNMAP, &q, sizeof(q), NULL, 0, &r);
	if (ret == 0) {
		/* 16 + 24 + (16 + size in the VFIO bitmap) */
		assert_int_equal(r.size, sizeof(q) + bmsize);
		assert_memory_equal(r.payload, &q, sizeof(q));
		bits[0] = bits[1] = 0;
		memcpy(bits, r.payload + sizeof(q), bmsize < 16 ? bmsize : 16);
		for (uint64_t i = 16; i < bmsize; i++)
			assert_int_equal(r.payload[sizeof(q) + i], 0);
	}
	rc_reply_free(&r);
	return ret;
}

static uint8_t *
va(struct mi_dev *d, uint64_t iova, uint64_t len, uint32_t access)
{
	return rte_vfio_user_iova_to_va(rte_vfio_user_get_mem_table(d->id),
					iova, len, access);
}

/* The dirty bitmap of the mapping behind iova (NULL: none). */
static const uint64_t *
bitmap(struct mi_dev *d, uint64_t iova)
{
	const struct rte_vfio_user_mem_segment *s =
		rte_vfio_user_mem_find(rte_vfio_user_get_mem_table(d->id), iova,
				       1);

	assert_non_null(s);
	return s->map != NULL ? s->map->dirty : NULL;
}

static void
test_dirty_pages(void **state)
{
	const uint64_t e = D + 0x100000, h = 1ull << 40, hsize = 64ull << 30;
	int hfd;
	struct rte_vfio_user_mem_cache cache = { 0 };
	const struct rte_vfio_user_mem_table *t;
	uint8_t *mem, buf[200] = { 0 };
	uint64_t bits[2];
	struct rc c;
	int fd;

	(void)state;
	fd = mi_memfd(DSIZE + 16384, &mem);
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(mi_map(&c, D, DSIZE, RW, fd, 0), 0);
	assert_null(bitmap(&mi_a, D));
	/* not logging yet */
	assert_int_equal(dirty_get(&c, D, DSIZE, 4096, 8, 0, bits), -EINVAL);
	assert_int_equal(dirty_pages(&c, VFIO_USER_DIRTY_PAGES_F_START), 0);
	assert_int_equal(dirty_pages(&c, VFIO_USER_DIRTY_PAGES_F_START), 0);
	assert_non_null(bitmap(&mi_a, D));
	assert_int_equal(get_all(&c), 0);

	/* every way the device writes marks pages; reads do not */
	assert_non_null(va(&mi_a, D + 0x1008, 8, RTE_VFIO_USER_MEM_F_WRITE));
	assert_non_null(va(&mi_a, D + 0x3000, 8, RTE_VFIO_USER_MEM_F_READ));
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, D + 0x5000, 0x2000), 0);
	assert_int_equal(rte_vfio_user_dma_write(mi_a.id, D + 0xe000 + 4000, buf,
						 200), 0);
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, D + 0x4000, buf, 200), 0);
	t = rte_vfio_user_get_mem_table(mi_a.id);
	assert_non_null(rte_vfio_user_iova_to_va_cached(t, &cache, D + 0x9000, 4,
					RTE_VFIO_USER_MEM_F_WRITE));
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, D + DSIZE, 1), -EFAULT);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, D + DSIZE - 1, 2),
			 -EFAULT);
	assert_int_equal(get_all(&c), (1u << 1) | (1u << 5) | (1u << 6) | (1u << 9) |
			 (1u << 14) | (1u << 15));
	/* reading clears */
	assert_int_equal(get_all(&c), 0);

	/* larger pages aggregate */
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x1000, 1);
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x6000, 1);
	rte_vfio_user_mark_dirty(mi_a.id, D + 0xf000, 1);
	assert_int_equal(dirty_get(&c, D, DSIZE, 16384, 8, 0, bits), 0);
	assert_int_equal(bits[0], 0xb);
	assert_int_equal(get_all(&c), 0);
	/* a sub-range at 8 KiB: pages 4-5 are bit 0, 6-7 bit 1 */
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x4000, 1);
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x7000, 1);
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x1000, 1);
	assert_int_equal(dirty_get(&c, D + 0x4000, 0x8000, 8192, 8, 0, bits), 0);
	assert_int_equal(bits[0], 0x3);
	assert_int_equal(get_all(&c), 1u << 1);

	/* argsz too small: the size needed, and nothing cleared */
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x2000, 1);
	{
		struct dp_req q = {
			{ sizeof(struct vfio_user_dirty_pages),
			  VFIO_USER_DIRTY_PAGES_F_GET_BITMAP },
			{ D, DSIZE, { 4096, 8 } },
		};
		struct rc_reply r;

		assert_int_equal(rc_call(&c, VFIO_USER_DIRTY_PAGES, &q, sizeof(q),
					 NULL, 0, &r), 0);
		assert_int_equal(r.size, sizeof(struct vfio_user_dirty_pages));
		assert_int_equal(((struct vfio_user_dirty_pages *)r.payload)->argsz,
				 sizeof(q) + 8);
		assert_int_equal(((struct vfio_user_dirty_pages *)r.payload)->flags,
				 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP);
		rc_reply_free(&r);
	}
	assert_int_equal(dirty_get(&c, D, DSIZE, 4096, 8, sizeof(struct dp_req) + 7,
				   bits), 1);
	assert_int_equal(bits[0], sizeof(struct dp_req) + 8);
	assert_int_equal(get_all(&c), 1u << 2);
	/* a bitmap larger than needed: the reply carries what was asked */
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x3000, 1);
	assert_int_equal(dirty_get(&c, D, DSIZE, 4096, 24, 0, bits), 0);
	assert_int_equal(bits[0], 1u << 3);
	assert_int_equal(bits[1], 0);

	/* refused */
	assert_int_equal(dirty_get(&c, D, DSIZE, 4096, 0, 0, bits), -EINVAL);
	assert_int_equal(dirty_get(&c, D, DSIZE, 2048, 8, 0, bits), -EINVAL);
	assert_int_equal(dirty_get(&c, D, DSIZE, 12288, 8, 0, bits), -EINVAL);
	assert_int_equal(dirty_get(&c, D, DSIZE, 0, 8, 0, bits), -EINVAL);
	assert_int_equal(dirty_get(&c, D + 0x1000, 0x4000, 8192, 8, 0, bits),
			 -EINVAL);
	assert_int_equal(dirty_get(&c, D, DSIZE + 4096, 4096, 8, 0, bits),
			 -EINVAL);
	assert_int_equal(dirty_get(&c, D - 4096, 8192, 4096, 8, 0, bits),
			 -EINVAL);
	assert_int_equal(dirty_get(&c, D, 0, 4096, 8, 0, bits), -EINVAL);
	assert_int_equal(dirty_pages(&c, VFIO_USER_DIRTY_PAGES_F_START |
				     VFIO_USER_DIRTY_PAGES_F_STOP), -EINVAL);
	assert_int_equal(dirty_pages(&c, 0), -EINVAL);
	assert_int_equal(dirty_pages(&c, 1u << 5), -EINVAL);

	/* a region mapped while logging logs too */
	assert_int_equal(mi_map(&c, e, 16384, RW, fd, DSIZE), 0);
	assert_non_null(va(&mi_a, e + 0x3000, 1, RTE_VFIO_USER_MEM_F_WRITE));
	assert_int_equal(dirty_get(&c, e, 16384, 4096, 8, 0, bits), 0);
	assert_int_equal(bits[0], 1u << 3);

	/* DMA_UNMAP with the bitmap */
	assert_non_null(va(&mi_a, e, 1, RTE_VFIO_USER_MEM_F_WRITE));
	assert_int_equal(rte_vfio_user_dma_write(mi_a.id, e + 0x2000, buf, 1), 0);
	assert_int_equal(unmap_dirty(&c, e, 16384, 4096, 0, 0, bits), -EINVAL);
	assert_int_equal(unmap_dirty(&c, e, 16384, 1000, 8, 0, bits), -EINVAL);
	assert_int_equal(unmap_dirty(&c, e, 16384, 4096, 8, 24, bits), -EINVAL);
	assert_int_equal(unmap_dirty(&c, e, 8192, 4096, 8, 0, bits), -ENOENT);
	assert_int_equal(rte_vfio_user_get_mem_table(mi_a.id)->nregions, 2);
	assert_int_equal(unmap_dirty(&c, e, 16384, 4096, 8, 0, bits), 0);
	assert_int_equal(bits[0], 0x5);
	assert_int_equal(rte_vfio_user_get_mem_table(mi_a.id)->nregions, 1);
	/* ... at 16 KiB pages, with a larger bitmap than needed */
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x5000, 1);
	assert_int_equal(unmap_dirty(&c, D, DSIZE, 16384, 16, 0, bits), 0);
	assert_int_equal(bits[0], 0x2);

	/* a range whose 4 KiB bitmap cannot fit a message is refused with
	 * E2BIG, not overflowed; coarser pages work (a sparse memfd:
	 * message-only memory has no bitmap, the client writes it itself) */
	hfd = memfd_create("mi-dirty-huge", MFD_CLOEXEC);
	assert_true(hfd >= 0);
	assert_int_equal(ftruncate(hfd, (off_t)hsize), 0);
	assert_int_equal(mi_map(&c, h, hsize, RW, hfd, 0), 0);
	close(hfd);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, h + (5 << 20), 1), 0);
	assert_int_equal(unmap_dirty(&c, h, hsize, 4096, hsize / 4096 / 8, 0,
				     bits),
			 -E2BIG);
	assert_int_equal(dirty_get(&c, h, hsize, 4096, hsize / 4096 / 8, 0,
				   bits),
			 -E2BIG);
	/* a bitmap too small for the range stays EINVAL */
	assert_int_equal(dirty_get(&c, h, hsize, 1 << 20, 8, 0, bits), -EINVAL);
	assert_int_equal(dirty_get(&c, h, hsize, 1 << 20, 8192, 0, bits), 0);
	assert_int_equal(bits[0], 1u << 5);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, h + (64ull << 20), 1),
			 0);
	assert_int_equal(unmap_dirty(&c, h, hsize, 1 << 20, 8192, 0, bits), 0);
	assert_int_equal(bits[0], 0);
	assert_int_equal(bits[1], 1);
	assert_int_equal(rte_vfio_user_get_mem_table(mi_a.id)->nregions, 0);

	/* stop */
	assert_int_equal(mi_map(&c, D, DSIZE, RW, fd, 0), 0);
	assert_int_equal(dirty_pages(&c, VFIO_USER_DIRTY_PAGES_F_STOP), 0);
	assert_null(bitmap(&mi_a, D));
	assert_int_equal(dirty_pages(&c, VFIO_USER_DIRTY_PAGES_F_STOP), 0);
	assert_non_null(va(&mi_a, D, 8, RTE_VFIO_USER_MEM_F_WRITE));
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, D, 8), 0);
	assert_int_equal(dirty_get(&c, D, DSIZE, 4096, 8, 0, bits), -EINVAL);
	assert_int_equal(unmap_dirty(&c, D, DSIZE, 4096, 8, 0, bits), -EINVAL);
	assert_int_equal(mi_unmap(&c, D, DSIZE, 0), 0);
	mi_close(&c, &mi_a);
	munmap(mem, DSIZE + 16384);
	close(fd);
}

/* ---- DEVICE_FEATURE DMA logging ---- */

#define F_GET VFIO_USER_DEVICE_FEATURE_GET
#define F_SET VFIO_USER_DEVICE_FEATURE_SET
#define F_PROBE VFIO_USER_DEVICE_FEATURE_PROBE
#define F_START VFIO_USER_FEATURE_DMA_LOGGING_START
#define F_STOP VFIO_USER_FEATURE_DMA_LOGGING_STOP
#define F_REPORT VFIO_USER_FEATURE_DMA_LOGGING_REPORT

/* A DEVICE_FEATURE request with data; the reply payload in *r. */
static int
feature(struct rc *c, uint32_t argsz, uint32_t flags, const void *data,
	uint32_t len, struct rc_reply *r)
{
	uint8_t *buf = calloc(1, sizeof(struct vfio_user_device_feature) + len);
	struct vfio_user_device_feature *f = (void *)buf;
	struct rc_reply local;
	int ret;

	assert_non_null(buf);
	f->argsz = argsz ? argsz : (uint32_t)(sizeof(*f) + len);
	f->flags = flags;
	if (len > 0)
		memcpy(f->data, data, len);
	ret = rc_call(c, VFIO_USER_DEVICE_FEATURE, buf,
		      (uint32_t)(sizeof(*f) + len), NULL, 0, r ? r : &local);
	if (r == NULL)
		rc_reply_free(&local);
	free(buf);
	return ret;
}

/* SET/PROBE: the reply is the request. */
static int
feature_echo(struct rc *c, uint32_t flags, const void *data, uint32_t len)
{
	struct rc_reply r;
	int ret = feature(c, 0, flags, data, len, &r);

	if (ret == 0) {
		const struct vfio_user_device_feature *f = (const void *)r.payload;

		assert_int_equal(r.size, sizeof(*f) + len);
		assert_int_equal(f->flags, flags);
		if (len > 0)
			assert_memory_equal(f->data, data, len);
	}
	rc_reply_free(&r);
	return ret;
}

struct start_req {
	struct vfio_user_dma_logging_control ctl;
	struct vfio_user_dma_logging_range rg[2];
} __attribute__((packed));

static int
report(struct rc *c, uint64_t iova, uint64_t len, uint64_t pgsize,
       uint64_t *bits)
{
	struct vfio_user_dma_logging_report q = { iova, len, pgsize };
	uint32_t bm = (uint32_t)(((len / pgsize) + 63) / 64 * 8);
	struct rc_reply r;
	int ret;

	ret = feature(c, sizeof(struct vfio_user_device_feature) + sizeof(q) + bm,
		      F_GET | F_REPORT, &q, sizeof(q), &r);
	if (ret == 0) {
		const struct vfio_user_device_feature *f = (const void *)r.payload;

		assert_int_equal(r.size, sizeof(*f) + sizeof(q) + bm);
		assert_int_equal(f->flags, F_GET | F_REPORT);
		assert_memory_equal(f->data, &q, sizeof(q));
		*bits = 0;
		memcpy(bits, f->data + sizeof(q), bm < 8 ? bm : 8);
	}
	rc_reply_free(&r);
	return ret;
}

/* A report of 4 KiB at iova whose argsz (8) only asks for the size
 * needed: 0 with that size, or the error a full one would get. */
static int
report_argsz8(struct rc *c, uint64_t iova)
{
	struct vfio_user_dma_logging_report q = { iova, 4096, 4096 };

	return feature(c, 8, F_GET | F_REPORT, &q, sizeof(q), NULL);
}

static void
test_dma_logging_feature(void **state)
{
	struct start_req s = {
		{ .page_size = 4096, .num_ranges = 1 },
		{ { D, DSIZE }, { 0, 0 } },
	};
	const uint32_t slen = sizeof(s.ctl) + sizeof(s.rg[0]);
	uint64_t bits;
	uint8_t *mem;
	struct rc c;
	int fd;

	(void)state;
	fd = mi_memfd(DSIZE, &mem);
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(mi_map(&c, D, DSIZE, RW, fd, 0), 0);

	/* probing */
	assert_int_equal(feature_echo(&c, F_PROBE | F_SET | F_START, NULL, 0), 0);
	assert_int_equal(feature_echo(&c, F_PROBE | F_SET | F_STOP, NULL, 0), 0);
	assert_int_equal(feature_echo(&c, F_PROBE | F_GET | F_REPORT, NULL, 0), 0);
	assert_int_equal(feature_echo(&c, F_PROBE | F_START, NULL, 0), 0);
	assert_true(feature(&c, 0, F_PROBE | F_GET | F_START, NULL, 0, NULL) < 0);
	assert_true(feature(&c, 0, F_PROBE | F_SET | F_REPORT, NULL, 0, NULL) < 0);
	assert_true(feature(&c, 0, F_PROBE | F_GET | F_SET | F_START, NULL, 0,
			    NULL) < 0);
	assert_true(feature(&c, 0, F_PROBE | F_GET | 1, NULL, 0, NULL) < 0);
	assert_int_equal(feature(&c, 0, F_GET | F_SET | F_START, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(feature(&c, 0, F_START, NULL, 0, NULL), -EINVAL);
	assert_int_equal(feature(&c, 0, F_SET | F_START | (1u << 20), NULL, 0,
				 NULL), -EINVAL);
	/* the reply of a PROBE or a SET is the request: argsz must hold it,
	 * and a SET without the room changes nothing */
	assert_int_equal(feature(&c, 4, F_PROBE | F_SET | F_START, NULL, 0,
				 NULL),
			 -EINVAL);
	assert_int_equal(feature(&c, 8 + slen - 1, F_SET | F_START, &s, slen,
				 NULL),
			 -EINVAL);
	assert_int_equal(feature(&c, 4, F_SET | F_STOP, NULL, 0, NULL),
			 -EINVAL);
	/* probing changed nothing */
	assert_int_equal(report(&c, D, DSIZE, 4096, &bits), -EINVAL);
	/* (an error, not the size it needs, with too small an argsz:
	 * <linux/vfio.h> "If DMA logging is not enabled, an error will be
	 * returned") */
	assert_int_equal(report_argsz8(&c, D), -EINVAL);
	assert_null(bitmap(&mi_a, D));

	/* start: the reply is the request */
	assert_int_equal(feature(&c, 0, F_SET | F_START, &s, slen + 16, NULL),
			 -EINVAL);	/* num_ranges does not match the data */
	assert_int_equal(feature_echo(&c, F_SET | F_START, &s, slen), 0);
	assert_non_null(bitmap(&mi_a, D));
	assert_int_equal(feature(&c, 0, F_SET | F_START, &s, slen, NULL), -EBUSY);

	rte_vfio_user_mark_dirty(mi_a.id, D, 1);
	assert_non_null(va(&mi_a, D + 0x3000, 8, RTE_VFIO_USER_MEM_F_WRITE));
	assert_int_equal(report(&c, D, DSIZE, 4096, &bits), 0);
	assert_int_equal(bits, 0x9);
	assert_int_equal(report(&c, D, DSIZE, 4096, &bits), 0);
	assert_int_equal(bits, 0);
	/* at 32 KiB */
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x3000, 1);
	rte_vfio_user_mark_dirty(mi_a.id, D + 0x9000, 1);
	assert_int_equal(report(&c, D, DSIZE, 32768, &bits), 0);
	assert_int_equal(bits, 0x3);
	/* argsz too small: the size needed */
	{
		struct vfio_user_dma_logging_report q = { D, DSIZE, 4096 };
		struct rc_reply r;

		assert_int_equal(feature(&c, 8, F_GET | F_REPORT, &q, sizeof(q),
					 &r), 0);
		assert_int_equal(r.size, sizeof(struct vfio_user_device_feature));
		assert_int_equal(((struct vfio_user_device_feature *)r.payload)->argsz,
				 sizeof(struct vfio_user_device_feature) +
				 sizeof(q) + 8);
		rc_reply_free(&r);
	}
	assert_int_equal(report(&c, D, DSIZE, 3000, &bits), -EINVAL);
	/* whole pages, no wrap (EOVERFLOW, as the kernel), whatever argsz */
	assert_int_equal(report(&c, D + 512, 4096, 4096, &bits), -EINVAL);
	assert_int_equal(report(&c, UINT64_MAX - 4095, 8192, 4096, &bits),
			 -EOVERFLOW);
	assert_int_equal(report_argsz8(&c, D + 512), -EINVAL);
	assert_int_equal(report(&c, D, 0, 4096, &bits), -EINVAL);
	/* IOVA mapped nowhere is clean (a device logs by IOVA) */
	assert_int_equal(report(&c, D + DSIZE, 4096, 4096, &bits), 0);
	assert_int_equal(bits, 0);

	/* stop */
	assert_int_equal(feature_echo(&c, F_SET | F_STOP, NULL, 0), 0);
	assert_null(bitmap(&mi_a, D));
	assert_int_equal(report(&c, D, DSIZE, 4096, &bits), -EINVAL);

	/* the device picks the page size it can do */
	s.ctl.page_size = 0;
	s.ctl.num_ranges = 0;
	{
		struct rc_reply r;
		const struct vfio_user_dma_logging_control *ctl;

		assert_int_equal(feature(&c, 0, F_SET | F_START, &s, sizeof(s.ctl),
					 &r), 0);
		assert_int_equal(r.size, sizeof(struct vfio_user_device_feature) +
				 sizeof(s.ctl));
		ctl = (const void *)(r.payload +
				     sizeof(struct vfio_user_device_feature));
		assert_true(ctl->page_size >= 4096 &&
			    (ctl->page_size & (ctl->page_size - 1)) == 0);
		rc_reply_free(&r);
	}
	assert_int_equal(feature_echo(&c, F_SET | F_STOP, NULL, 0), 0);
	assert_int_equal(mi_unmap(&c, D, DSIZE, 0), 0);
	mi_close(&c, &mi_a);
	munmap(mem, DSIZE);
	close(fd);
}

/*
 * The dirty pages of regions unmapped while logging are reported at their
 * IOVA afterwards, once: unmapped exactly, as part of a larger range, and
 * all at once (UNMAP_ALL); a report may span mapped and unmapped IOVA;
 * stopping forgets them.
 */
static void
test_dma_logging_unmapped(void **state)
{
	struct vfio_user_dma_logging_control all = { .page_size = 4096 };
	const uint64_t e = D + DSIZE + 0x10000;	/* 16 KiB, after a hole */
	uint64_t bits;
	uint8_t *mem;
	struct rc c;
	int fd;

	(void)state;
	fd = mi_memfd(DSIZE + 16384, &mem);
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(mi_map(&c, D, DSIZE, RW, fd, 0), 0);
	assert_int_equal(mi_map(&c, e, 16384, RW, fd, DSIZE), 0);
	assert_int_equal(feature_echo(&c, F_SET | F_START, &all, sizeof(all)),
			 0);
	/* never mapped: clean */
	assert_int_equal(report(&c, 0, 64 * 4096, 4096, &bits), 0);
	assert_int_equal(bits, 0);

	/* unmapped exactly (no bitmap asked) */
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, D + 0x1000, 1), 0);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, D + 0x3000, 0x2000),
			 0);
	assert_int_equal(mi_unmap(&c, D, DSIZE, 0), 0);
	assert_null(va(&mi_a, D, 1, 0));
	assert_int_equal(report(&c, D, DSIZE, 4096, &bits), 0);
	assert_int_equal(bits, 0x1a);
	assert_int_equal(report(&c, D, DSIZE, 4096, &bits), 0);
	assert_int_equal(bits, 0);

	/* unmapped within a range holding two regions; reported by a range
	 * over both, the hole between them, and past them; the page of a
	 * later mapping at the same IOVA adds to it */
	assert_int_equal(mi_map(&c, D, DSIZE, RW, fd, 0), 0);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, D + 0x2000, 1), 0);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, e + 0x3000, 1), 0);
	assert_int_equal(mi_unmap(&c, D, e + 16384 - D, 0), 0);
	assert_int_equal(rte_vfio_user_get_mem_table(mi_a.id)->nregions, 0);
	assert_int_equal(mi_map(&c, e, 16384, RW, fd, DSIZE), 0);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, e, 1), 0);
	assert_int_equal(report(&c, D, 0x40000, 0x4000, &bits), 0);
	assert_int_equal(bits, (1ull << 0) | (1ull << 8));
	assert_int_equal(report(&c, D, 0x40000, 0x4000, &bits), 0);
	assert_int_equal(bits, 0);

	/* UNMAP_ALL */
	assert_int_equal(mi_map(&c, D, DSIZE, RW, fd, 0), 0);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, D + 0xf000, 1), 0);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, e + 0x1000, 1), 0);
	assert_int_equal(mi_unmap(&c, 0, 0, VFIO_USER_DMA_UNMAP_F_ALL), 0);
	assert_int_equal(report(&c, D + 0xf000, 0x1000, 4096, &bits), 0);
	assert_int_equal(bits, 1);
	/* a device that cannot say what it wrote: the whole region is
	 * reported dirty, not only what the library saw */
	assert_int_equal(mi_map(&c, D, DSIZE, RW, fd, 0), 0);
	assert_int_equal(report(&c, D, DSIZE, 4096, &bits), 0);
	__atomic_store_n(&mi_a.dirty_sync_err, -EIO, __ATOMIC_RELEASE);
	assert_int_equal(mi_unmap(&c, D, DSIZE, 0), 0);
	assert_int_equal(report(&c, D, DSIZE, 4096, &bits), -EIO);
	__atomic_store_n(&mi_a.dirty_sync_err, 0, __ATOMIC_RELEASE);
	assert_int_equal(report(&c, D, DSIZE, 4096, &bits), 0);
	assert_int_equal(bits, 0xffff);
	/* stopping forgets what was kept */
	assert_int_equal(feature_echo(&c, F_SET | F_STOP, NULL, 0), 0);
	assert_int_equal(feature_echo(&c, F_SET | F_START, &all, sizeof(all)),
			 0);
	assert_int_equal(report(&c, e, 16384, 4096, &bits), 0);
	assert_int_equal(bits, 0);
	assert_int_equal(feature_echo(&c, F_SET | F_STOP, NULL, 0), 0);
	mi_close(&c, &mi_a);
	munmap(mem, DSIZE + 16384);
	close(fd);
}

/*
 * (review) The cost of keeping the dirty pages of a large region unmapped
 * while logging, with dma.lock held on the event thread all devices
 * share: 8 GiB, every other page dirty. Another device's message waits
 * meanwhile.
 */
struct unmap_arg {
	struct rc *c;
	int ret;
};

static void *
unmap_thread(void *arg)
{
	struct unmap_arg *u = arg;

	u->ret = mi_unmap(u->c, 1ull << 40, 8ull << 30, 0);
	return NULL;
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
test_dma_logging_unmap_cost(void **state)
{
	struct vfio_user_dma_logging_control all = { .page_size = 4096 };
	const uint64_t big = 8ull << 30, X = 1ull << 40;
	struct rc c, cb;
	struct unmap_arg u = { .c = &c };
	pthread_t th;
	uint8_t *mem, *memb;
	double t0, t1, t2, t3;
	int fd, fdb, rb;

	(void)state;
	fd = mi_memfd(big, &mem);
	fdb = mi_memfd(DSIZE, &memb);
	mi_open(&c, &mi_a, NULL);
	mi_open(&cb, &mi_b, NULL);
	assert_int_equal(mi_map(&c, X, big, RW, fd, 0), 0);
	assert_int_equal(feature_echo(&c, F_SET | F_START, &all, sizeof(all)),
			 0);
	for (uint64_t p = 0; p < big / 4096; p += 2)
		assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, X + p * 4096,
							  1),
				 0);
	t0 = now_s();
	assert_int_equal(pthread_create(&th, NULL, unmap_thread, &u), 0);
	usleep(100000);
	t1 = now_s();
	rb = mi_map(&cb, D, DSIZE, RW, fdb, 0);
	t2 = now_s();
	pthread_join(th, NULL);
	t3 = now_s();
	print_message("unmap of 8 GiB, every other page dirty: %.3f s; "
		      "another device's DMA_MAP waited %.3f s (%d)\n",
		      t3 - t0, t2 - t1, rb);
	assert_int_equal(u.ret, 0);
	assert_int_equal(rb, 0);
	assert_true(t2 - t1 < 2.0);
	assert_int_equal(feature_echo(&c, F_SET | F_STOP, NULL, 0), 0);
	mi_close(&cb, &mi_b);
	mi_close(&c, &mi_a);
	munmap(mem, big);
	munmap(memb, DSIZE);
	close(fd);
	close(fdb);
}

#define T(f) cmocka_unit_test_setup_teardown(f, mi_test_setup, mi_test_teardown)
const struct CMUnitTest mi_dirty_tests[] = {
	T(test_dirty_pages),
	T(test_dma_logging_feature),
	T(test_dma_logging_unmapped),
	T(test_dma_logging_unmap_cost),
};
const size_t mi_dirty_tests_n = sizeof(mi_dirty_tests) / sizeof(mi_dirty_tests[0]);
