/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Client memory mapped in many small regions, as QEMU maps a guest behind
 * a vIOMMU: each file mapped once, regions coalesced into segments when
 * they are IOVA-adjacent and backed by adjacent offsets of one file with
 * the same protection; merges and splits in every order of maps and
 * unmaps checked against a model; ranges spanning 2..N regions of one file
 * (adjacent and non-adjacent offsets) and of different files translated
 * and copied both ways; dirty bits exact across merges and splits; and
 * 50,000 4 KiB regions (10,000 under ASan), mapped and unmapped in random and descending IOVA
 * order, in a handful of process mappings.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <rte_common.h>

#include "mi_common.h"

#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)
#define RO VFIO_USER_DMA_MAP_F_READ
#define MEM_R RTE_VFIO_USER_MEM_F_READ
#define MEM_W RTE_VFIO_USER_MEM_F_WRITE
#define MEM_RW (MEM_R | MEM_W)
#define PG ((uint64_t)MI_PAGE)
#define BASE 0x7000000000ull	/* IOVA of page 0 of a layout */
#define NFILES 3
#define FILE_PAGES 64

typedef struct rte_vfio_user_mem_segment seg_t;

static const struct rte_vfio_user_mem_table *
table(void)
{
	return rte_vfio_user_get_mem_table(mi_a.id);
}

/* Files whose page k of file f starts with the word (f << 32) | k. */
struct files {
	int fd[NFILES];
	uint8_t *mem[NFILES];
};

static uint64_t
tag(int f, uint64_t page)
{
	return ((uint64_t)(f + 1) << 32) | page;
}

static void
files_open(struct files *fs)
{
	for (int f = 0; f < NFILES; f++) {
		fs->fd[f] = mi_memfd(FILE_PAGES * PG, &fs->mem[f]);
		for (uint64_t k = 0; k < FILE_PAGES; k++) {
			uint64_t v = tag(f, k);

			memcpy(fs->mem[f] + k * PG, &v, sizeof(v));
		}
	}
}

static void
files_close(struct files *fs)
{
	for (int f = 0; f < NFILES; f++) {
		munmap(fs->mem[f], FILE_PAGES * PG);
		close(fs->fd[f]);
	}
}

/* Page i of a layout: IOVA BASE + i * PG, backed by page off of file
 * (or message-only with file -1), with DMA_MAP flags. */
struct page {
	int file;
	uint64_t off;		/* in pages */
	uint32_t flags;
	bool mapped;
};

static uint32_t
mem_prot(uint32_t flags)
{
	return (flags & VFIO_USER_DMA_MAP_F_READ ? MEM_R : 0) |
	       (flags & VFIO_USER_DMA_MAP_F_WRITE ? MEM_W : 0);
}

/* Whether mapped page j (= i + 1) continues mapped page i in a segment. */
static bool
joins(const struct page *a, const struct page *b)
{
	return a->file == b->file && a->flags == b->flags &&
	       (a->file < 0 || b->off == a->off + 1);
}

/*
 * The table of mi_a holds exactly the segments the pages make: walked in
 * order, each with the expected extent and protection, its address of
 * every page reading that page's tag, translations of a whole segment
 * working and of a range across two segments not.
 */
static void
check_layout(const struct page *pg, uint32_t n)
{
	const struct rte_vfio_user_mem_table *t = table();
	const seg_t *s = rte_vfio_user_mem_next(t, 0);
	uint32_t nseg = 0, nreg = 0, i = 0;

	while (i < n) {
		uint32_t j;

		if (!pg[i].mapped) {
			i++;
			continue;
		}
		for (j = i + 1;
		     j < n && pg[j].mapped && joins(&pg[j - 1], &pg[j]); j++)
			;
		assert_non_null(s);
		assert_int_equal(s->iova, BASE + i * PG);
		assert_int_equal(s->size, (j - i) * PG);
		assert_int_equal(s->prot & MEM_RW, mem_prot(pg[i].flags));
		if (pg[i].file < 0) {
			assert_null(s->vaddr);
			assert_null(s->map);
		} else {
			for (uint32_t k = i; k < j; k++) {
				uint64_t v;

				memcpy(&v, s->vaddr + (k - i) * PG, sizeof(v));
				assert_int_equal(v, tag(pg[k].file, pg[k].off));
			}
			assert_ptr_equal(rte_vfio_user_iova_to_va(t, s->iova,
								  s->size, 0),
					 s->vaddr);
		}
		if (j < n && pg[j].mapped) /* across the boundary */
			assert_null(
				rte_vfio_user_iova_to_va(t,
							 s->iova + s->size - 8,
							 16, 0));
		nseg++;
		nreg += j - i;
		s = rte_vfio_user_mem_next(t, s->iova + s->size);
		i = j;
	}
	assert_null(s);
	assert_int_equal(t->nsegments, nseg);
	assert_int_equal(t->nregions, nreg);
}

static void
page_map(struct rc *c, const struct files *fs, struct page *p, uint32_t i)
{
	assert_int_equal(mi_map(c, BASE + i * PG, PG, p->flags,
				p->file >= 0 ? fs->fd[p->file] : -1,
				p->file >= 0 ? p->off * PG : 0),
			 0);
	p->mapped = true;
}

static void
page_unmap(struct rc *c, struct page *p, uint32_t i)
{
	assert_int_equal(mi_unmap(c, BASE + i * PG, PG, 0), 0);
	p->mapped = false;
}

/* Next permutation of a[0..n) in lexicographic order; false after the
 * last. */
static bool
next_perm(uint32_t *a, uint32_t n)
{
	uint32_t i = n - 1, j = n - 1;

	while (i > 0 && a[i - 1] >= a[i])
		i--;
	if (i == 0)
		return false;
	while (a[j] <= a[i - 1])
		j--;
	{
		uint32_t tmp = a[i - 1];

		a[i - 1] = a[j];
		a[j] = tmp;
	}
	for (j = n - 1; i < j; i++, j--) {
		uint32_t tmp = a[i];

		a[i] = a[j];
		a[j] = tmp;
	}
	return true;
}

enum {
	LAYOUT_N = 4
};

/* Layouts of LAYOUT_N pages. */
static const struct page layouts[][LAYOUT_N] = {
	/* one file, adjacent offsets: one segment */
	{ { 0, 0, RW }, { 0, 1, RW }, { 0, 2, RW }, { 0, 3, RW } },
	/* one file, offsets not adjacent: none merge */
	{ { 0, 0, RW }, { 0, 2, RW }, { 0, 4, RW }, { 0, 6, RW } },
	/* one file, offsets going down: none merge */
	{ { 0, 9, RW }, { 0, 8, RW }, { 0, 7, RW }, { 0, 6, RW } },
	/* two files alternating */
	{ { 0, 0, RW }, { 1, 0, RW }, { 0, 1, RW }, { 1, 1, RW } },
	/* two runs of two files */
	{ { 1, 5, RW }, { 1, 6, RW }, { 2, 7, RW }, { 2, 8, RW } },
	/* a read-only page breaks a run */
	{ { 0, 0, RW }, { 0, 1, RO }, { 0, 2, RW }, { 0, 3, RW } },
	/* message-only pages merge among themselves */
	{ { -1, 0, RW }, { -1, 0, RW }, { 0, 2, RW }, { -1, 0, RW } },
};

/* Every order of the maps times every order of the unmaps. */
static void
test_seg_every_order(void **state)
{
	struct files fs;
	struct rc c;

	(void)state;
	files_open(&fs);
	mi_open(&c, &mi_a, NULL);
	for (size_t l = 0; l < RTE_DIM(layouts); l++) {
		uint32_t mo[LAYOUT_N] = { 0, 1, 2, 3 };
		struct page pg[LAYOUT_N];
		unsigned int combos = 0;

		memcpy(pg, layouts[l], sizeof(pg));
		do {
			uint32_t uo[LAYOUT_N] = { 0, 1, 2, 3 };

			do {
				for (uint32_t k = 0; k < LAYOUT_N; k++) {
					page_map(&c, &fs, &pg[mo[k]], mo[k]);
					check_layout(pg, LAYOUT_N);
				}
				for (uint32_t k = 0; k < LAYOUT_N; k++) {
					page_unmap(&c, &pg[uo[k]], uo[k]);
					check_layout(pg, LAYOUT_N);
				}
				combos++;
			} while (next_perm(uo, LAYOUT_N));
		} while (next_perm(mo, LAYOUT_N));
		assert_int_equal(combos, 24 * 24);
	}
	mi_close(&c, &mi_a);
	files_close(&fs);
}

/* Random maps and unmaps of 64 pages of mixed backing, against the model. */
static void
test_seg_random(void **state)
{
	enum {
		N = 64
	};
	struct page pg[N];
	struct files fs;
	uint64_t x = 0x2545f4914f6cdd1dull;
	struct rc c;

	(void)state;
	files_open(&fs);
	mi_open(&c, &mi_a, NULL);
	memset(pg, 0, sizeof(pg));
	for (int op = 0; op < 3000; op++) {
		uint32_t i;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = (uint32_t)(x % N);
		if (pg[i].mapped) {
			page_unmap(&c, &pg[i], i);
		} else {
			/* mostly the natural layout (file 0, page i: runs
			 * merge), sometimes another file, offset, protection
			 * or none */
			uint32_t r = (uint32_t)((x >> 20) % 16);

			pg[i].file = r == 0 ? -1 : r == 1 ? 1 : r == 2 ? 2 : 0;
			pg[i].off = r == 3 ? (i + 7) % FILE_PAGES : i;
			pg[i].flags = r == 4 ? RO : RW;
			page_map(&c, &fs, &pg[i], i);
		}
		check_layout(pg, N);
	}
	mi_close(&c, &mi_a);
	files_close(&fs);
}

/* A ring-sized range over 2..8 pages, mapped page by page. */
static void
test_seg_span(void **state)
{
	const struct rte_vfio_user_mem_table *t;
	struct rte_vfio_user_mem_cache cache = { 0 };
	uint8_t buf[8 * MI_PAGE], want[8 * MI_PAGE];
	struct files fs;
	struct rc c;

	(void)state;
	files_open(&fs);
	for (int f = 0; f < NFILES; f++)
		for (uint64_t i = 8; i < FILE_PAGES * PG; i++)
			if (i % PG >= 8)
				fs.mem[f][i] = (uint8_t)(i * 31 + f);
	mi_open(&c, &mi_a, NULL);
	for (uint32_t n = 2; n <= 8; n++) {
		/* adjacent offsets of one file, mapped in descending IOVA
		 * order as QEMU does: one segment, one pointer */
		uint64_t lo = BASE + 100, len = n * PG - 200;
		uint8_t *p;

		for (uint32_t i = n; i-- > 0;)
			assert_int_equal(mi_map(&c, BASE + i * PG, PG, RW,
						fs.fd[0], (8 + i) * PG),
					 0);
		t = table();
		assert_int_equal(t->nregions, n);
		assert_int_equal(t->nsegments, 1);
		p = rte_vfio_user_iova_to_va(t, lo, len, MEM_RW);
		assert_non_null(p);
		assert_memory_equal(p, fs.mem[0] + 8 * PG + 100, len);
		/* the client writes, the device sees it through the pointer */
		fs.mem[0][8 * PG + n * PG - 101] ^= 0xff;
		assert_int_equal(p[len - 1], fs.mem[0][8 * PG + n * PG - 101]);
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(mi_unmap(&c, BASE + i * PG, PG, 0), 0);

		/* the same pages from non-adjacent offsets, and alternating
		 * files: no one pointer, but partial translations and copies */
		for (int v = 0; v < 2; v++) {
			uint64_t off, done = 0;

			for (uint32_t i = 0; i < n; i++) {
				int f = v == 0 ? 0 : (int)(i % 2);

				off = v == 0 ? (8 + 2 * i) * PG : (8 + i) * PG;
				assert_int_equal(mi_map(&c, BASE + i * PG, PG,
							RW, fs.fd[f], off),
						 0);
				memcpy(want + i * PG, fs.mem[f] + off, PG);
			}
			t = table();
			assert_int_equal(t->nsegments, n);
			assert_null(
				rte_vfio_user_iova_to_va(t, lo, len, MEM_R));
			memset(buf, 0, sizeof(buf));
			assert_int_equal(rte_vfio_user_mem_read(t, &cache, lo,
								buf, len),
					 0);
			assert_memory_equal(buf, want + 100, len);
			/* the pieces: up to each page's end */
			while (done < len) {
				uint64_t l = len - done;

				p = rte_vfio_user_iova_to_va_partial(t, &cache,
								     lo + done,
								     &l, MEM_R);
				assert_non_null(p);
				assert_int_equal(l, RTE_MIN(len - done,
							    PG - (lo +
								  done) % PG));
				assert_memory_equal(p, want + 100 + done, l);
				done += l;
			}
			/* and the locking helper */
			memset(buf, 0, sizeof(buf));
			assert_int_equal(rte_vfio_user_dma_read(mi_a.id, lo,
								buf, len),
					 0);
			assert_memory_equal(buf, want + 100, len);
			for (uint32_t i = 0; i < n; i++)
				assert_int_equal(mi_unmap(&c, BASE + i * PG, PG,
							  0),
						 0);
		}
	}
	mi_close(&c, &mi_a);
	files_close(&fs);
}

/* rte_vfio_user_mem_read/write (and dma_read/write) across boundaries. */
static void
test_seg_copy(void **state)
{
	const struct rte_vfio_user_mem_table *t;
	struct rte_vfio_user_mem_cache cache = { 0 };
	static uint8_t buf[6 * MI_PAGE], src[6 * MI_PAGE];
	const uint64_t lo = BASE + 1000, len = 3 * PG + 2000;
	struct files fs;
	struct rc c;
	uint64_t v;

	(void)state;
	files_open(&fs);
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	mi_open(&c, &mi_a, NULL);
	/* pages 0-1: file 0 adjacent (one segment), page 2: file 0 far
	 * away, page 3: file 1; page 4 read-only, page 5 message-only */
	assert_int_equal(mi_map(&c, BASE, PG, RW, fs.fd[0], 10 * PG), 0);
	assert_int_equal(mi_map(&c, BASE + PG, PG, RW, fs.fd[0], 11 * PG), 0);
	assert_int_equal(mi_map(&c, BASE + 2 * PG, PG, RW, fs.fd[0], 30 * PG),
			 0);
	assert_int_equal(mi_map(&c, BASE + 3 * PG, PG, RW, fs.fd[1], 0), 0);
	assert_int_equal(mi_map(&c, BASE + 4 * PG, PG, RO, fs.fd[2], 0), 0);
	assert_int_equal(mi_map(&c, BASE + 5 * PG, PG, RW, -1, 0), 0);
	t = table();
	assert_int_equal(t->nsegments, 5);

	/* write across pages 0..3 (three segments), read it back */
	assert_int_equal(rte_vfio_user_mem_write(t, &cache, lo, src, len), 0);
	assert_memory_equal(fs.mem[0] + 10 * PG + 1000, src, 2 * PG - 1000);
	assert_memory_equal(fs.mem[0] + 30 * PG, src + 2 * PG - 1000, PG);
	assert_memory_equal(fs.mem[1], src + 3 * PG - 1000, 3000);
	assert_int_equal(fs.mem[1][3000], 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(rte_vfio_user_mem_read(t, &cache, lo, buf, len), 0);
	assert_memory_equal(buf, src, len);
	/* the slow path left the cache on the last segment it used */
	assert_int_equal(cache.gen, t->gen);
	assert_int_equal(cache.seg->iova, BASE + 3 * PG);
	/* within one segment: the inline path */
	assert_int_equal(rte_vfio_user_mem_read(t, &cache, BASE + 10, buf,
						2 * PG - 20),
			 0);
	assert_memory_equal(buf, fs.mem[0] + 10 * PG + 10, 2 * PG - 20);

	/* refused as a whole, nothing written: into read-only memory, into
	 * message-only memory (not for the data path), past the end, over a
	 * hole, wrapping */
	memcpy(&v, fs.mem[1] + PG - 8, sizeof(v));
	assert_int_equal(rte_vfio_user_mem_write(t, &cache, BASE + 4 * PG - 8,
						 src, 16),
			 -EFAULT);
	assert_int_equal(rte_vfio_user_mem_read(t, &cache, BASE + 4 * PG - 8,
						buf, 16),
			 0);
	assert_memory_equal(buf, &v, 8);
	assert_int_equal(rte_vfio_user_mem_read(t, &cache, BASE + 5 * PG - 8,
						buf, 16),
			 -EFAULT);
	assert_int_equal(rte_vfio_user_mem_read(t, &cache, BASE + 6 * PG - 8,
						buf, 16),
			 -EFAULT);
	assert_int_equal(rte_vfio_user_mem_read(t, &cache, BASE - 8, buf, 16),
			 -EFAULT);
	assert_int_equal(rte_vfio_user_mem_read(t, &cache, UINT64_MAX - 8, buf,
						16),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_mem_read(t, &cache, lo, buf, 0), 0);
	/* the locking helpers: across mapped segments of different files */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, lo, buf,
						5 * PG - 1000),
			 0);
	assert_memory_equal(buf, src, len);
	assert_int_equal(rte_vfio_user_dma_write(mi_a.id, BASE + 4 * PG - 8,
						 src, 16),
			 -EFAULT);
	assert_int_equal(rte_vfio_user_dma_write(mi_a.id, BASE + 2 * PG - 4,
						 "abcdefgh", 8),
			 0);
	assert_memory_equal(fs.mem[0] + 12 * PG - 4, "abcd", 4);
	assert_memory_equal(fs.mem[0] + 30 * PG, "efgh", 4);

	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(mi_unmap(&c, BASE + i * PG, PG, 0), 0);
	mi_close(&c, &mi_a);
	files_close(&fs);
}

/* ---- dirty pages across merges and splits ---- */

static int
dirty_ctl(struct rc *c, uint32_t flags)
{
	struct vfio_user_dirty_pages d = { sizeof(d), flags };

	return rc_call(c, VFIO_USER_DIRTY_PAGES, &d, sizeof(d), NULL, 0, NULL);
}

/* Dirty bits of pages [first, first + n) of the layout (4 KiB pages). */
static int
dirty_get(struct rc *c, uint32_t first, uint32_t n, uint64_t *bits)
{
	struct {
		struct vfio_user_dirty_pages dp;
		struct vfio_user_bitmap_range rg;
	} __attribute__((packed)) q = {
		{ sizeof(q) + 8, VFIO_USER_DIRTY_PAGES_F_GET_BITMAP },
		{ BASE + first * PG, n * PG, { PG, 8 } },
	};
	struct rc_reply r;
	int ret;

	ret = rc_call(c, VFIO_USER_DIRTY_PAGES, &q, sizeof(q), NULL, 0, &r);
	if (ret == 0) {
		assert_int_equal(r.size, sizeof(q) + 8);
		memcpy(bits, r.payload + sizeof(q), 8);
	}
	rc_reply_free(&r);
	return ret;
}

/* DMA_UNMAP of page i with its bitmap. */
static uint64_t
unmap_dirty(struct rc *c, uint32_t i)
{
	struct {
		struct vfio_user_dma_unmap u;
		struct vfio_user_bitmap b;
	} __attribute__((packed)) q = {
		{ sizeof(q) + 8, VFIO_USER_DMA_UNMAP_F_GET_DIRTY_BITMAP,
		  BASE + i * PG, PG },
		{ PG, 8 },
	};
	struct rc_reply r;
	uint64_t bits = ~0ull;

	assert_int_equal(rc_call(c, VFIO_USER_DMA_UNMAP, &q, sizeof(q), NULL, 0,
				 &r),
			 0);
	assert_int_equal(r.size, sizeof(q) + 8);
	memcpy(&bits, r.payload + sizeof(q), 8);
	rc_reply_free(&r);
	return bits;
}

static void
test_seg_dirty(void **state)
{
	const uint32_t order[4] = { 2, 0, 3, 1 };
	struct rte_vfio_user_mem_cache cache = { 0 };
	struct files fs;
	uint64_t bits;
	struct rc c;
	uint8_t *p;

	(void)state;
	files_open(&fs);
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(dirty_ctl(&c, VFIO_USER_DIRTY_PAGES_F_START), 0);
	/* pages 0-3 of file 0, mapped out of order: they merge into one */
	for (int k = 0; k < 4; k++)
		assert_int_equal(mi_map(&c, BASE + order[k] * PG, PG, RW,
					fs.fd[0], order[k] * PG),
				 0);
	/* page 4: message-only, page 5: read-only, page 6: another file */
	assert_int_equal(mi_map(&c, BASE + 4 * PG, PG, RW, -1, 0), 0);
	assert_int_equal(mi_map(&c, BASE + 5 * PG, PG, RO, fs.fd[0], 5 * PG),
			 0);
	assert_int_equal(mi_map(&c, BASE + 6 * PG, PG, RW, fs.fd[1], 6 * PG),
			 0);
	assert_int_equal(table()->nsegments, 4);
	assert_int_equal(dirty_get(&c, 0, 7, &bits), 0);
	assert_int_equal(bits, 0);

	/* one translation writing pages 1 and 2 (two regions, one segment) */
	p = rte_vfio_user_iova_to_va(table(), BASE + PG + 100, PG, MEM_W);
	assert_non_null(p);
	/* the split: page 2 goes with its bit; [0-1] and [3] stay */
	assert_int_equal(unmap_dirty(&c, 2), 1);
	assert_int_equal(table()->nsegments, 5);
	assert_int_equal(dirty_get(&c, 0, 2, &bits), 0);
	assert_int_equal(bits, 0x2);	/* page 1, once */
	assert_int_equal(dirty_get(&c, 0, 2, &bits), 0);
	assert_int_equal(bits, 0);

	/* the merge: page 2 back, page 0 written before it; the bits of the
	 * merged segment are the pages', not moved */
	assert_int_equal(rte_vfio_user_mem_write(table(), &cache, BASE + 8, "x",
						 1),
			 0);
	assert_int_equal(mi_map(&c, BASE + 2 * PG, PG, RW, fs.fd[0], 2 * PG),
			 0);
	assert_int_equal(table()->nsegments, 4);
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, BASE + 3 * PG - 1,
						  2),
			 0); /* pages 2 and 3 */
	/* a report across segments: message-only and read-only are clean */
	assert_int_equal(rte_vfio_user_mark_dirty(mi_a.id, BASE + 4 * PG,
						  2 * PG),
			 0);
	assert_int_equal(rte_vfio_user_mem_write(table(), &cache,
						 BASE + 7 * PG - 1, "y", 1),
			 0);
	assert_int_equal(dirty_get(&c, 0, 7, &bits), 0);
	assert_int_equal(bits, 0x1 | 0x4 | 0x8 | 0x40);
	/* a copy across regions marks every page it wrote */
	assert_int_equal(rte_vfio_user_mem_write(table(), &cache,
						 BASE + 4 * PG - 4, "abcdefgh",
						 8),
			 -EFAULT);
	assert_int_equal(rte_vfio_user_mem_write(table(), &cache,
						 BASE + 2 * PG - 4, "abcdefgh",
						 8),
			 0);
	assert_int_equal(dirty_get(&c, 1, 3, &bits), 0);
	assert_int_equal(bits, 0x3);	/* pages 1 and 2 */
	/* not mapped throughout: refused */
	assert_int_equal(mi_unmap(&c, BASE + 4 * PG, PG, 0), 0);
	assert_int_equal(dirty_get(&c, 3, 3, &bits), -EINVAL);
	assert_int_equal(dirty_get(&c, 0, 4, &bits), 0);

	/* unmapping the middle of a merged run keeps the neighbours' bits */
	rte_vfio_user_mark_dirty(mi_a.id, BASE, 4 * PG);
	assert_int_equal(unmap_dirty(&c, 1), 1);
	assert_int_equal(unmap_dirty(&c, 2), 1);
	assert_int_equal(dirty_get(&c, 0, 1, &bits), 0);
	assert_int_equal(bits, 1);
	assert_int_equal(dirty_get(&c, 3, 1, &bits), 0);
	assert_int_equal(bits, 1);

	assert_int_equal(dirty_ctl(&c, VFIO_USER_DIRTY_PAGES_F_STOP), 0);
	mi_close(&c, &mi_a);
	files_close(&fs);
}

/* ---- many regions ---- */

/* A sanitizer build checks memory errors, not scale: a fifth keeps the
 * CI run short. */
#ifdef MI_ASAN
#define MANY 10000u
#else
#define MANY 50000u
#endif

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
shuffle(uint32_t *a, uint32_t n, uint64_t seed)
{
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j, tmp;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		j = (uint32_t)(seed % (i + 1));
		tmp = a[i];
		a[i] = a[j];
		a[j] = tmp;
	}
}

/*
 * MANY 4 KiB regions of one file: page i at IOVA base + i * PG backed by
 * file page off[i]; mapped in order map_order, unmapped in unmap_order.
 * The process gains a handful of mappings, not MANY.
 */
static void
many(const char *name, const uint32_t *off, const uint32_t *map_order,
     const uint32_t *unmap_order, uint32_t expect_segs)
{
	const uint64_t base = 0x100000000ull;
	const struct rte_vfio_user_mem_table *t;
	int maps0 = rc_count_maps(), maps_peak;
	uint32_t half = 0;
	double t0, t1, t2;
	uint8_t *mem;
	struct rc c;
	int fd;

	fd = mi_memfd((size_t)MANY * PG, &mem);
	for (uint32_t i = 0; i < MANY; i += 97) {
		uint64_t v = tag(0, i);

		memcpy(mem + (size_t)i * PG, &v, sizeof(v));
	}
	mi_open(&c, &mi_a, NULL);
	alarm(200);
	t0 = now_s();
	for (uint32_t k = 0; k < MANY; k++) {
		uint32_t i = map_order[k];

		assert_int_equal(mi_map(&c, base + (uint64_t)i * PG, PG, RW, fd,
					(uint64_t)off[i] * PG),
				 0);
	}
	t1 = now_s();
	t = table();
	maps_peak = rc_count_maps();
	assert_int_equal(t->nregions, MANY);
	assert_int_equal(t->nsegments, expect_segs);
	for (uint32_t i = 0; i < MANY; i += 89) {
		const uint64_t *p =
			rte_vfio_user_iova_to_va(t, base + (uint64_t)i * PG, 8,
						 MEM_R);

		assert_non_null(p);
		if (off[i] % 97 == 0)
			assert_int_equal(*p, tag(0, off[i]));
	}
	for (uint32_t k = 0; k < MANY; k++) {
		uint32_t i = unmap_order[k];

		assert_int_equal(mi_unmap(&c, base + (uint64_t)i * PG, PG, 0),
				 0);
		if (k == MANY / 2)
			half = table()->nsegments;
	}
	t2 = now_s();
	assert_int_equal(table()->nregions, 0);
	assert_int_equal(table()->nsegments, 0);
	print_message("%u regions (%s): %u segments, %u when half unmapped; "
		      "map %.2f s (%.1f us each), unmap %.2f s (%.1f us each); "
		      "process mappings %d -> %d\n",
		      MANY, name, expect_segs, half, t1 - t0,
		      (t1 - t0) * 1e6 / MANY, t2 - t1, (t2 - t1) * 1e6 / MANY,
		      maps0, maps_peak);
	/* the file once, the test's own view of it, and what malloc's
	 * arenas may add: not one per region */
	assert_true(maps_peak - maps0 <= 8);
	mi_close(&c, &mi_a);
	munmap(mem, (size_t)MANY * PG);
	close(fd);
	alarm(100);
}

static void
test_seg_many(void **state)
{
	uint32_t *off = malloc(MANY * sizeof(*off));
	uint32_t *mo = malloc(MANY * sizeof(*mo));
	uint32_t *uo = malloc(MANY * sizeof(*uo));

	(void)state;
	assert_true(off != NULL && mo != NULL && uo != NULL);
	/* a vIOMMU mapping contiguous guest memory: descending IOVAs,
	 * adjacent offsets; it all coalesces, then unmaps at random */
	for (uint32_t i = 0; i < MANY; i++) {
		off[i] = i;
		mo[i] = MANY - 1 - i;
		uo[i] = i;
	}
	shuffle(uo, MANY, 0x9e3779b97f4a7c15ull);
	many("descending, contiguous", off, mo, uo, 1);
	/* the worst case: no two pages neighbours in the file, mapped at
	 * random, unmapped in descending IOVA order */
	for (uint32_t i = 0; i < MANY; i++) {
		mo[i] = i;
		uo[i] = MANY - 1 - i;
	}
	shuffle(off, MANY, 0xd1b54a32d192ed03ull);
	for (uint32_t i = 0; i + 1 < MANY; i++)	/* break accidental runs */
		if (off[i + 1] == off[i] + 1) {
			uint32_t tmp = off[i + 1];

			off[i + 1] = off[(i + 2) % MANY];
			off[(i + 2) % MANY] = tmp;
		}
	shuffle(mo, MANY, 0x2545f4914f6cdd1dull);
	{
		uint32_t segs = 1;

		for (uint32_t i = 0; i + 1 < MANY; i++)
			segs += off[i + 1] != off[i] + 1;
		many("random, scattered", off, mo, uo, segs);
	}
	free(off);
	free(mo);
	free(uo);
}

/* Whether [p, p + len) is mapped in this process. */
static bool
is_mapped(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(MI_PAGE - 1);
	unsigned char vec[64];

	len += (uintptr_t)p - a;
	assert_true(len <= sizeof(vec) * MI_PAGE);
	return mincore((void *)a, len, vec) == 0;
}

/*
 * A ring the way a guest behind a vIOMMU allocates it: contiguous IOVAs,
 * its pages in descending order in the guest's memory file. A view makes
 * it contiguous for the device, until one of its pages is unmapped.
 */
static void
test_seg_view(void **state)
{
	enum {
		N = 6
	};
	const uint64_t lo = BASE + 100, len = N * PG - 300;
	uint8_t want[N * MI_PAGE];
	struct files fs;
	uint8_t *v, *v2;
	int maps0;
	struct rc c;

	(void)state;
	files_open(&fs);
	for (uint64_t i = 8; i < FILE_PAGES * PG; i++)
		if (i % PG >= 8)
			fs.mem[0][i] = (uint8_t)(i * 17 + 3);
	mi_open(&c, &mi_a, NULL);
	for (uint32_t i = 0; i < N; i++) {
		assert_int_equal(mi_map(&c, BASE + i * PG, PG, RW, fs.fd[0],
					(40 - i) * PG),
				 0);
		memcpy(want + i * PG, fs.mem[0] + (40 - i) * PG, PG);
	}
	assert_int_equal(table()->nsegments, N);
	assert_null(rte_vfio_user_iova_to_va(table(), lo, len, MEM_R));
	maps0 = rc_count_maps();
	v = rte_vfio_user_mem_view(mi_a.id, lo, len, MEM_RW);
	assert_non_null(v);
	assert_int_equal((uintptr_t)v % PG, 100);
	assert_memory_equal(v, want + 100, len);
	/* the same pages: the client sees the device's writes */
	v[PG] = 0x5a;
	assert_int_equal(fs.mem[0][39 * PG + 100], 0x5a);
	fs.mem[0][37 * PG + 7] = 0xa5;
	assert_int_equal(v[3 * PG - 93], 0xa5);
	/* asked again: the same view; a page of it alone: no view */
	assert_ptr_equal(rte_vfio_user_mem_view(mi_a.id, lo, len, MEM_RW), v);
	assert_ptr_equal(rte_vfio_user_mem_view(mi_a.id, BASE + 2 * PG + 8, 64,
						MEM_R),
			 rte_vfio_user_iova_to_va(table(), BASE + 2 * PG + 8,
						  64, MEM_R));
	assert_true(rc_count_maps() - maps0 <= N + 1);
	/* refused (errno says why): a hole, past the end, message-only,
	 * protection, no length */
	errno = 0;
	assert_null(rte_vfio_user_mem_view(mi_a.id, lo, N * PG, MEM_R));
	assert_int_equal(errno, EFAULT);
	assert_int_equal(mi_map(&c, BASE + N * PG, PG, RW, -1, 0), 0);
	assert_null(rte_vfio_user_mem_view(mi_a.id, lo, N * PG, MEM_R));
	assert_int_equal(mi_map(&c, BASE + (N + 1) * PG, PG, RO, fs.fd[1], 0),
			 0);
	errno = 0;
	assert_null(rte_vfio_user_mem_view(mi_a.id, BASE + (N + 1) * PG - 8, 16,
					   MEM_R));
	assert_int_equal(errno, EFAULT);
	assert_null(
		rte_vfio_user_mem_view(mi_a.id, BASE + N * PG - 8, 16, MEM_R));
	errno = 0;
	assert_null(rte_vfio_user_mem_view(mi_a.id, lo, 0, MEM_R));
	assert_int_equal(errno, EINVAL);

	/* a page of it unmapped: the view is gone once the reply came */
	assert_true(is_mapped(v, len));
	assert_int_equal(mi_unmap(&c, BASE + 3 * PG, PG, 0), 0);
	assert_false(is_mapped(v, 16));
	assert_int_equal(mi_map(&c, BASE + 3 * PG, PG, RW, fs.fd[0], 37 * PG),
			 0);
	v2 = rte_vfio_user_mem_view(mi_a.id, lo, len, MEM_R);
	assert_non_null(v2);
	assert_memory_equal(v2 + PG, fs.mem[0] + 39 * PG + 100, 16);
	/* and when the client goes */
	mi_close(&c, &mi_a);
	assert_false(is_mapped(v2, 16));
	files_close(&fs);
}

/*
 * In a process that locks its future mappings (testpmd: mlockall), a 4 KiB
 * map of a large file faults in that page, not the whole file the library
 * maps.
 */
static void
test_seg_mlockall(void **state)
{
	const size_t fsize = 256u << 20;
	const struct rte_vfio_user_mem_segment *s;
	int fd = memfd_create("mi-locked", MFD_CLOEXEC);
	unsigned char *vec;
	size_t resident = 0, pages;
	struct rc c;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)fsize), 0);
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
		print_message("mlockall: %s: not checked\n", strerror(errno));
		close(fd);
		return;
	}
	{	/* ASan makes mlockall() a no-op */
		void *p = mmap(NULL, PG, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned char in = 0;

		assert_true(p != MAP_FAILED);
		assert_int_equal(mincore(p, PG, &in), 0);
		munmap(p, PG);
		if (!(in & 1)) {
			munlockall();
			print_message(
				"mlockall has no effect here: not checked\n");
			close(fd);
			return;
		}
	}
	mi_open(&c, &mi_a, NULL);
	assert_int_equal(mi_map(&c, BASE, PG, RW, fd, 128u << 20), 0);
	s = rte_vfio_user_mem_find(table(), BASE, PG);
	assert_non_null(s);
	assert_int_equal(s->map->size, fsize);	/* the whole file */
	pages = fsize / PG;
	vec = malloc(pages);
	assert_non_null(vec);
	assert_int_equal(mincore(s->map->base, fsize, vec), 0);
	for (size_t i = 0; i < pages; i++)
		resident += vec[i] & 1;
	/* the region's page, as mmap() of it alone gave */
	assert_true(vec[(128u << 20) / PG] & 1);
	free(vec);
	assert_int_equal(mi_unmap(&c, BASE, PG, 0), 0);
	munlockall();
	print_message("mlockall: %zu of %zu pages of the file resident\n",
		      resident, pages);
	assert_true(resident <= 16);
	mi_close(&c, &mi_a);
	close(fd);
}

#define T(f) cmocka_unit_test_setup_teardown(f, mi_test_setup, mi_test_teardown)
const struct CMUnitTest mi_segments_tests[] = {
	T(test_seg_every_order), T(test_seg_random),   T(test_seg_span),
	T(test_seg_copy),	 T(test_seg_dirty),    T(test_seg_view),
	T(test_seg_many),	 T(test_seg_mlockall),
};
const size_t mi_segments_tests_n = sizeof(mi_segments_tests) /
				   sizeof(mi_segments_tests[0]);
