/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUN_IOTLB_H
#define VUN_IOTLB_H

/*
 * IOTLB mode of the offload (vun_offload.c): for an engine that takes
 * VIRTIO_F_IOMMU_PLATFORM with the BACKEND_REQ and REPLY_ACK protocol
 * features (DPDK's vhost library with RTE_VHOST_USER_IOMMU_SUPPORT, e.g.
 * net_vhost's iommu-support=1). The client's IOVAs need not be
 * guest-physical addresses of anything (a vIOMMU maps page by page, at
 * IOVAs of its choice), so they are not the engine's memory layout:
 *
 * - memory table: one region per backing file of client memory (files told
 *   apart by st_dev/st_ino of the fds the library keeps), covering the
 *   whole file when its size covers what the client mapped of it (a
 *   vIOMMU maps page by page: a region that followed the maps would change
 *   at each, and a new table flushes the engine's IOTLB), else every file
 *   range the client mapped since the file appeared; a file with no
 *   segment left is dropped. At a synthetic address: the files laid end to
 *   end, each at a 2 MiB aligned base, file offset o of a file at base + o
 *   (stable while the file stays); the synthetic address is both the
 *   region's guest-physical and its front-end address;
 * - IOTLB: an UPDATE maps one segment of the DMA table (iova, size) to the
 *   synthetic address of its file range, with the segment's access; sent
 *   for every segment at hand-over, for each new segment after a DMA map
 *   (before the map is answered), and when the engine misses; an
 *   INVALIDATE of the range of a DMA unmap, acked before the library
 *   unmaps and answers.
 *
 * Everything here runs with the offload's lock held.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vun.h"
#include "vun_vhost_user.h"

/* Alignment of the files' synthetic bases (a huge page). */
#define VUN_IOTLB_ALIGN (2ULL << 20)
/* An UPDATE answering a miss starts at the missed IOVA's page. */
#define VUN_IOTLB_PAGE 4096u

struct vun_iotlb_file {
	dev_t dev;
	ino_t ino;
	uint64_t base;		/* synthetic address of file offset 0 */
	uint64_t span;		/* bytes of synthetic space it holds */
	uint64_t lo, hi;	/* the file range the region covers */
	bool used;
};

struct vun_iotlb_range {
	uint64_t iova, size;
};

struct vun_iotlb {
	struct vun_iotlb_file f[VHU_MAX_MEM_REGIONS];
	struct vun_iotlb_range *known;	/* segments given, sorted */
	size_t nknown;
	bool miss_logged;	/* once per hand-over */
	uint64_t updates, invalidates, misses;
};

/* Forget the files and segments (a new engine, a new hand-over, or the
 * end: frees what it holds). */
void vun_iotlb_reset(struct vun_iotlb *t);

/* Forget which segments the engine was given (it got a new table, which
 * flushes its IOTLB): the next vun_iotlb_sync() gives them all again. */
void vun_iotlb_forget(struct vun_iotlb *t);

/* The engine's memory table in IOTLB mode: one region per file, less the
 * client memory in [skip, skip + skip_len). 0 or -E2BIG (more files than
 * a table holds). */
int vun_iotlb_table(struct vun_dev *d, struct vun_iotlb *t, uint64_t skip,
		    uint64_t skip_len, struct vhu_mem_region *r, uint32_t *n);

/* UPDATE for the segment that holds iova: 0 (sent, or nothing to send:
 * not mapped, no file, not in the table), or -errno of the engine. */
int vun_iotlb_update(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c,
		     uint64_t iova);

/* UPDATE for each segment with a file not given since the last call (all
 * of them after vun_iotlb_reset()): 0 or -errno. */
int vun_iotlb_sync(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c);

/* INVALIDATE [iova, iova + len), acked: the engine no longer uses it. */
int vun_iotlb_invalidate(struct vun_dev *d, struct vun_iotlb *t,
			 struct vhu_conn *c, uint64_t iova, uint64_t len);

/* The synthetic address of segment s of client memory (of its first
 * byte), or 0: no file, or its file range not in the engine's table. */
uint64_t vun_iotlb_addr(struct vun_dev *d, const struct vun_iotlb *t,
			const struct rte_vfio_user_mem_segment *s);

/* The end of the synthetic address space the files take now. */
uint64_t vun_iotlb_end(const struct vun_iotlb *t);

/* Serve what the engine sent on the backend request channel (its misses):
 * 0, or -errno when the channel or the engine failed. */
int vun_iotlb_serve(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c);

#endif /* VUN_IOTLB_H */
