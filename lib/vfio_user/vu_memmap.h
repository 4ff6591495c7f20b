/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_MEMMAP_H
#define VU_MEMMAP_H

/*
 * The client's files as mapped in our address space: one mapping per file
 * (identified by st_dev and st_ino), shared by every DMA region the file
 * backs and counted by them, and the dirty bitmaps of those mappings (one
 * bit per 4 KiB page of a mapping, so that segments of the memory table
 * merge and split without moving bits). All of it is used by the control
 * path only, under the device's dma.lock; the data path sees a mapping
 * through struct rte_vfio_user_mem_map (its first member).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rte_vfio_user.h"

struct vu_map {
	struct rte_vfio_user_mem_map pub;	/* first: segments point here */
	dev_t dev;
	ino_t ino;
	uint64_t off;		/* file offset of pub.base */
	uint64_t *dirty_old;	/* bitmap withdrawn by vu_maps_log_stop() */
	int fd;			/* duplicate of the file's fd (keep_fds), or -1 */
	uint32_t refs;		/* DMA regions using it */
	bool writable;		/* mapped with PROT_WRITE */
	bool no_shrink;		/* the file cannot shrink (sealed) */
	bool shared;		/* in the hash: may back more regions */
	bool prefault;		/* the process locks its mappings */
	struct vu_map *hnext;	/* hash chain */
	struct vu_map *prev, *next;	/* every mapping */
};

struct vu_maps {
	struct vu_map **hash;
	uint32_t nbuckets;
	uint32_t nhashed;
	uint32_t count;		/* mappings */
	struct vu_map *all;
	bool logging;		/* new writable mappings get a bitmap */
	bool keep_fds;		/* new mappings keep a duplicate of their fd */
	int8_t locks;		/* process locks its mappings: 0 unknown,
				 * 1 yes, -1 no */
	const char *name;	/* for log messages (the device's path) */
};

void vu_maps_init(struct vu_maps *ms, const char *name);
/* Unmap and free every mapping (nothing may use them any more). */
void vu_maps_clear(struct vu_maps *ms);
void vu_maps_fini(struct vu_maps *ms);

/*
 * A mapping that holds [offset, offset + size) of fd's file, writable if
 * write: one that exists (the file mapped already, or grown in place to
 * hold the range), or a new one. A reference is taken for the caller.
 * A memfd that can still be sealed is sealed against shrinking first.
 * Returns 0, -EINVAL (the file does not hold the range), or the errno of
 * fstat() or mmap().
 */
int vu_map_get(struct vu_maps *ms, int fd, uint64_t offset, uint64_t size,
	       bool write, struct vu_map **out);
/* Fault in [va, va + len) of m, if the process wants its memory resident
 * (mlockall(MCL_FUTURE)): what mmap() did for a region mapped alone. */
void vu_map_prefault(const struct vu_map *m, uint8_t *va, uint64_t len,
		     bool write);
/* Drop a reference; the last one unmaps the file. Only once no reader
 * can reach the mapping any more. */
void vu_map_put(struct vu_maps *ms, struct vu_map *m);

/* Give every writable mapping a dirty bitmap (0, or -ENOMEM: none then). */
int vu_maps_log_start(struct vu_maps *ms);
/* Withdraw the bitmaps from readers; free them with vu_maps_log_reap()
 * once readers let go. */
void vu_maps_log_stop(struct vu_maps *ms);
void vu_maps_log_reap(struct vu_maps *ms);

/* Bytes of a dirty bitmap for size bytes at page size pgsize. */
uint64_t vu_bitmap_bytes(uint64_t size, uint64_t pgsize);

/*
 * Move the dirty bits of pages [first, first + npages) of bitmap bm into
 * out, clearing them: page first + i sets bit (q0 + i) / per of out. The
 * work is one plain load per 64 pages, and an atomic clear only where a
 * word has bits set: a large, mostly clean range costs a scan.
 */
void vu_bitmap_collect(uint64_t *bm, uint64_t first, uint64_t npages,
		       uint64_t q0, uint64_t per, uint64_t *out);

/*
 * Clear the dirty bits of pages [first, first + npages) of bm, telling
 * fn each run of set ones, in order: pages [first + i, first + i + n).
 */
void vu_bitmap_take_runs(uint64_t *bm, uint64_t first, uint64_t npages,
			 void (*fn)(void *arg, uint64_t i, uint64_t n),
			 void *arg);

#endif /* VU_MEMMAP_H */
