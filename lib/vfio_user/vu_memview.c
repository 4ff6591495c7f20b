/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Contiguous views of client memory that is contiguous in IOVA but not in
 * the client's files (rte_vfio_user_mem_view()).
 *
 * A guest behind a vIOMMU allocates a virtqueue ring with the DMA API,
 * which may take its pages one by one (Linux's iommu-dma remaps
 * non-contiguous pages into contiguous IOVAs, often in descending physical
 * order): contiguous for the device, scattered in the guest's memory file.
 * A view maps those file pages again, in IOVA order, into one range of our
 * address space: mremap() with an old size of 0 duplicates part of a
 * shared mapping at a chosen address, without the file's fd. The device
 * then uses the ring through plain pointers, as any other.
 *
 * A view lives until a DMA_UNMAP takes one of its pages (the device model
 * drops its pointers at update_status(DMA_UNMAP_PRE), the library unmaps
 * the view after that unmap's grace period) or the client leaves. Asking
 * for the same range again returns the same view, so a driver resetting
 * its device over and over does not pile them up; their number is bounded
 * all the same.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>

#include "vu_internal.h"

#define PAGE RTE_VFIO_USER_DIRTY_PAGE_SIZE
#define VU_VIEWS_MAX 256u	/* views of a device */
#define VU_VIEW_PIECES_MAX 4096u	/* mappings all its views take */

struct vu_view {
	struct vu_view *next;
	uint64_t iova;		/* as asked */
	uint64_t len;
	uint32_t access;
	uint32_t pieces;	/* mappings it takes */
	uint8_t *base;		/* the reserved range, page-aligned */
	size_t size;
};

/* Map [iova, iova + len) (page-aligned, mapped throughout) at dst. */
static int
view_fill(const struct rte_vfio_user_mem_table *t, uint64_t iova, uint64_t len,
	  uint8_t *dst, uint32_t *pieces)
{
	uint64_t end = iova + len, a, n;

	*pieces = 0;
	for (a = iova; a < end; a += n, dst += n) {
		const struct rte_vfio_user_mem_segment *s =
			__rte_vfio_user_mem_floor(t, a);
		void *p;

		n = RTE_MIN(end, s->iova + s->size) - a;
		p = mremap(s->vaddr + (a - s->iova), 0, n,
			   MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		if (p == MAP_FAILED)
			return -errno;
		(*pieces)++;
	}
	return 0;
}

void *
rte_vfio_user_mem_view(int dev_id, uint64_t iova, uint64_t len, uint32_t access)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	const struct rte_vfio_user_mem_segment *s = NULL;
	const struct rte_vfio_user_mem_table *t;
	uint64_t first, end, a;
	struct vu_view *v = NULL;
	uint32_t segs = 0;
	uint8_t *ret = NULL;
	struct vu_dma *d;
	int err = EFAULT;

	if (dev == NULL || len == 0 || iova + len < iova) {
		errno = EINVAL;
		return NULL;
	}
	d = &dev->dma;
	pthread_mutex_lock(&d->lock);
	t = d->table;
	/* mapped throughout, as asked */
	for (a = iova; a < iova + len; a = s->iova + s->size) {
		s = __rte_vfio_user_mem_floor(t, a);
		if (s == NULL || a - s->iova >= s->size || s->vaddr == NULL ||
		    (s->prot & access) != access)
			goto out;
		segs++;
	}
	s = __rte_vfio_user_mem_floor(t, iova);
	if (segs == 1) {	/* contiguous already */
		ret = s->vaddr + (iova - s->iova);
		goto mark;
	}
	for (v = d->views; v != NULL; v = v->next)
		if (v->iova == iova && v->len == len && v->access == access) {
			ret = v->base + (iova & (PAGE - 1));
			goto mark;
		}
	first = RTE_ALIGN_FLOOR(iova, PAGE);
	end = RTE_ALIGN_CEIL(iova + len, PAGE);
	/* no view: DEBUG only, the caller decides what it means (a device
	 * may fall back to copies) */
	if (d->nviews >= VU_VIEWS_MAX ||
	    d->nview_pieces + segs > VU_VIEW_PIECES_MAX) {
		VU_LOG(DEBUG, "%s: too many views of client memory", dev->path);
		err = ENOSPC;
		goto out;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		err = ENOMEM;
		goto out;
	}
	v->size = end - first;
	v->base = mmap(NULL, v->size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->base == MAP_FAILED) {
		err = errno;
		free(v);
		goto out;
	}
	err = -view_fill(t, first, end - first, v->base, &v->pieces);
	if (err > 0) {
		VU_LOG(DEBUG, "%s: view of [0x%" PRIx64 ", +0x%" PRIx64 "): %s",
		       dev->path, iova, len, strerror(err));
		munmap(v->base, v->size);
		free(v);
		goto out;
	}
	v->iova = iova;
	v->len = len;
	v->access = access;
	v->next = d->views;
	d->views = v;
	d->nviews++;
	d->nview_pieces += v->pieces;
	ret = v->base + (iova & (PAGE - 1));
	VU_LOG(DEBUG,
	       "%s: view of [0x%" PRIx64 ", +0x%" PRIx64 ") in %u pieces "
	       "at %p",
	       dev->path, iova, len, v->pieces, ret);
mark:
	if (access & RTE_VFIO_USER_MEM_F_WRITE)
		for (a = iova; a < iova + len; a = s->iova + s->size) {
			s = __rte_vfio_user_mem_floor(t, a);
			rte_vfio_user_mem_mark_dirty(s, a,
						     RTE_MIN(iova + len,
							     s->iova +
								     s->size) -
							     a);
		}
out:
	pthread_mutex_unlock(&d->lock);
	if (ret == NULL)
		errno = err;
	return ret;
}

void
vu_views_drop(struct vu_dev *dev, uint64_t iova, uint64_t len)
{
	struct vu_dma *d = &dev->dma;
	struct vu_view **pp = &d->views, *v;

	while ((v = *pp) != NULL) {
		uint64_t vf = RTE_ALIGN_FLOOR(v->iova, PAGE);

		if ((vf >= iova && vf - iova < len) ||
		    (iova >= vf && iova - vf < v->size)) {
			*pp = v->next;
			d->nviews--;
			d->nview_pieces -= v->pieces;
			munmap(v->base, v->size);
			free(v);
		} else {
			pp = &v->next;
		}
	}
}
