/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_DIRTY_KEPT_H
#define VU_DIRTY_KEPT_H

/*
 * The dirty pages of DMA regions unmapped while logging. Dirty bitmaps
 * live with the mappings (vu_memmap.h), but a device logs by IOVA (as
 * <linux/vfio.h>'s DMA logging does): a client that unmaps a range and
 * asks for its bits afterwards must get them. They are kept here, as runs
 * of IOVA, until a report of their range hands them out.
 *
 * The store is sized when logging starts and never grows: once it holds
 * VU_DIRTY_KEPT_MAX runs, a new run joins its nearer neighbour (the pages
 * between reported dirty too), and a report that splits a run merges the
 * two closest others. A page may be reported dirty that was not; none
 * that was is lost. Adding costs a binary search (an unmap may add a run
 * per page); used under the device's dma.lock.
 */

#include <stdint.h>

/* Runs kept at most (16 bytes each). */
#define VU_DIRTY_KEPT_MAX 4096

struct vu_dirty_run {
	uint64_t iova;
	uint64_t len;
};

struct vu_dirty_kept {
	struct vu_dirty_run *run;	/* sorted, disjoint, not touching */
	uint32_t n;
};

/* Room for the runs (0 or -ENOMEM), empty. */
int vu_dirty_kept_init(struct vu_dirty_kept *k);
void vu_dirty_kept_fini(struct vu_dirty_kept *k);

/* Keep [iova, iova + len) dirty (len > 0, no wrap). */
void vu_dirty_kept_add(struct vu_dirty_kept *k, uint64_t iova, uint64_t len);

/*
 * Hand out the kept pages of [iova, iova + len), forgetting them: every
 * pgsize unit holding one sets its bit of out (bit i: iova + i * pgsize).
 * iova and len are multiples of pgsize, a power of 2; no wrap.
 */
void vu_dirty_kept_take(struct vu_dirty_kept *k, uint64_t iova, uint64_t len,
			uint64_t pgsize, uint64_t *out);

#endif /* VU_DIRTY_KEPT_H */
