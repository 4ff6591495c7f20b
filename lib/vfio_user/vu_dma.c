/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Client memory: DMA_MAP / DMA_UNMAP into an RCU-published table, dirty
 * page logging (0.9.1 DIRTY_PAGES and DEVICE_FEATURE DMA logging), and our
 * DMA_READ / DMA_WRITE requests to the client for message-only regions.
 *
 * Three structures, all changed under dma.lock by the control path:
 * - the client's files, each mapped once (vu_memmap.c), with their dirty
 *   bitmaps;
 * - the DMA regions, as the client mapped them (a B+tree only the control
 *   path reads: DMA_UNMAP must name a region exactly);
 * - the segments the regions make (adjacent regions backed by adjacent
 *   offsets of one mapping with the same protection coalesce), in a
 *   persistent B+tree (vu_memtable.c) behind the published table.
 *
 * A table is never changed in place: a map or unmap builds a new version,
 * copying only the tree nodes it changes, and publishes it; the nodes it
 * replaced are freed once every data-path thread of the device's QSBR
 * variable has passed a quiescent state. A DMA_MAP does not wait for that:
 * it queues them (struct vu_retired), and a later update frees what is no
 * longer seen. A DMA_UNMAP waits, so it is answered only after the data
 * path let go of the memory; its file mapping goes when its last region
 * does.
 *
 * dma.lock serializes the building and publishing of tables with the
 * threads that look a region up under it (rte_vfio_user_mark_dirty(),
 * rte_vfio_user_dma_read/write()); it is never held while waiting for the
 * grace period, as a data-path thread may take it before its next
 * quiescent state.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "vu_fdman.h"
#include "rte_vfio_user_qsbr.h"
#include "vu_internal.h"

#define PAGE RTE_VFIO_USER_DIRTY_PAGE_SIZE
/* Updates whose old nodes may wait for readers before a map waits too. */
#define VU_RETIRED_MAX 256u
/* Retired batches before one is checked without a wait (a barrier each). */
#define VU_RETIRED_CHECK 32u

typedef struct rte_vfio_user_mem_segment seg_t;

static inline struct vu_map *
map_of(const seg_t *s)
{
	return (struct vu_map *)(uintptr_t)s->map;	/* pub is first */
}

int
vu_dma_dev_init(struct vu_dev *dev)
{
	struct vu_dma *d = &dev->dma;
	size_t sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	pthread_mutexattr_t attr;
	struct vu_mt_txn x;

	/* recursive: update_status callbacks may call rte_vfio_user_dma_*() */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&d->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&d->req_lock, NULL);
	vu_cond_init_monotonic(&d->req_cond);
	vu_maps_init(&d->maps, dev->path);
	d->retired_tail = &d->retired;
	vu_mt_txn_begin(&x, vu_mt_new_gen());
	vu_mt_init(&d->regions, &x);
	vu_mt_init(&d->segs, &x);
	d->table = calloc(1, sizeof(*d->table));
	d->qsbr = aligned_alloc(RTE_CACHE_LINE_SIZE,
				RTE_ALIGN_CEIL(sz, RTE_CACHE_LINE_SIZE));
	if (d->table == NULL || vu_mt_txn_commit(&x, NULL) < 0 ||
	    d->qsbr == NULL || rte_rcu_qsbr_init(d->qsbr, RTE_MAX_LCORE) != 0) {
		d->regions = d->segs = (struct vu_mt){ 0 };
		return -ENOMEM;
	}
	d->table->gen = x.gen;
	d->table->root = d->segs.root;
	return 0;
}

/* Free the batches of retired nodes whose readers all let go: all of
 * them, or those up to token. With dma.lock held. */
static void
retired_free(struct vu_dma *d, bool all, uint64_t token)
{
	struct vu_retired *b;
	bool fenced = false;

	while ((b = d->retired) != NULL) {
		if (!all && b->token > token) {
			/* a batch nobody waited for: the readers' counters
			 * can be trusted only after the barrier (light QSBR
			 * entry), one system call, so only once enough
			 * batches piled up */
			if (!fenced) {
				if (d->nretired < VU_RETIRED_CHECK)
					break;
				rte_vfio_user_qsbr_barrier();
				fenced = true;
			}
			if (rte_rcu_qsbr_check(d->qsbr, b->token, false) != 1)
				break;
		}
		d->retired = b->next;
		if (d->retired == NULL)
			d->retired_tail = &d->retired;
		d->nretired--;
		vu_mt_ptrs_free(&b->ptrs);
		free(b);
	}
}

void
vu_dma_dev_fini(struct vu_dev *dev)
{
	struct vu_dma *d = &dev->dma;

	if (d->retired_tail != NULL)
		retired_free(d, true, 0);
	vu_views_drop(dev, 0, UINT64_MAX);
	vu_mt_destroy(&d->regions);
	vu_mt_destroy(&d->segs);
	vu_maps_fini(&d->maps);
	vu_dirty_kept_fini(&d->kept);
	free(d->table);
	free(d->qsbr);
	d->table = NULL;
	d->qsbr = NULL;
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->req_lock);
	pthread_cond_destroy(&d->req_cond);
}

static void
notify(struct vu_dev *dev, enum rte_vfio_user_status st)
{
	if (dev->ops.update_status != NULL)
		dev->ops.update_status(dev->id, st);
}

/*
 * Publish the trees built by the transactions xr (regions) and xs
 * (segments): a new table, its replaced nodes and the old table queued
 * until readers let go. With dma.lock held. Returns 0 and in *token what
 * a caller waits for so that no reader sees the old version any more, or
 * -ENOMEM (both transactions aborted, nothing changed).
 */
static int
table_commit(struct vu_dev *dev, const struct vu_mt *regions,
	     struct vu_mt_txn *xr, const struct vu_mt *segs,
	     struct vu_mt_txn *xs, uint64_t *token)
{
	struct vu_dma *d = &dev->dma;
	struct rte_vfio_user_mem_table *t = calloc(1, sizeof(*t));
	struct vu_retired *b = calloc(1, sizeof(*b));

	if (t == NULL || b == NULL || vu_mt_ptrs_add(&xs->old, d->table) < 0)
		xs->err = -ENOMEM;
	if (xr->err != 0 || xs->err != 0) {
		vu_mt_txn_abort(xr);
		vu_mt_txn_abort(xs);
		free(t);
		free(b);
		VU_LOG(ERR, "%s: no memory for the DMA table", dev->path);
		return -ENOMEM;
	}
	vu_mt_txn_commit(xr, NULL);	/* no reader: its old nodes go now */
	vu_mt_txn_commit(xs, &b->ptrs);
	d->regions = *regions;
	d->segs = *segs;
	t->gen = xs->gen;
	t->nregions = regions->count;
	t->nsegments = segs->count;
	t->depth = segs->depth;
	t->root = segs->root;
	__atomic_store_n(&d->table, t, __ATOMIC_RELEASE);
	/* readers that may still see the old version are those online now */
	b->token = rte_rcu_qsbr_start(d->qsbr);
	*d->retired_tail = b;
	d->retired_tail = &b->next;
	d->nretired++;
	if (token != NULL)
		*token = b->token;
	return 0;
}

/*
 * Wait until every data-path thread passed a quiescent state after token.
 * A polling thread passes one within a burst, so spin a little; but one
 * that was preempted while online (a busy machine) can only pass once it
 * runs again, and may need this very CPU: then yield it, and after a
 * while sleep, rather than spin for the rest of its time slice as
 * rte_rcu_qsbr_check(..., true) would.
 */
static void
qsbr_wait(struct rte_rcu_qsbr *q, uint64_t token)
{
	unsigned int n;

	/* readers may have gone online without a fence */
	rte_vfio_user_qsbr_barrier();
	for (n = 0; rte_rcu_qsbr_check(q, token, false) != 1; n++) {
		if (n < 100)
			rte_pause();
		else if (n < 1000)
			sched_yield();
		else
			usleep(20);
	}
}

/*
 * Wait until no data-path thread sees a version older than the one token
 * came with, and free what they used. Without dma.lock: threads that take
 * it only ever see the newest table, as publishing holds it.
 */
static void
table_sync(struct vu_dev *dev, uint64_t token)
{
	qsbr_wait(dev->dma.qsbr, token);
	pthread_mutex_lock(&dev->dma.lock);
	retired_free(&dev->dma, false, token);
	pthread_mutex_unlock(&dev->dma.lock);
}

const struct rte_vfio_user_mem_table *
rte_vfio_user_get_mem_table(int dev_id)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	if (dev == NULL)
		return NULL;
	return __atomic_load_n(&dev->dma.table, __ATOMIC_ACQUIRE);
}

struct rte_rcu_qsbr *
rte_vfio_user_get_qsbr(int dev_id)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	return dev == NULL ? NULL : dev->dma.qsbr;
}

int
rte_vfio_user_get_unmap_range(int dev_id, uint64_t *iova, uint64_t *len)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (!dev->dma.unmapping)
		return -ENOENT;
	*iova = dev->dma.unmap_iova;
	*len = dev->dma.unmap_len;
	return 0;
}

/* update_status(UNMAP_PRE) with the range rte_vfio_user_get_unmap_range()
 * gives. Without dma.lock: the device model may wait for its data path,
 * which may take dma.lock meanwhile. */
static void
notify_unmap(struct vu_dev *dev, uint64_t iova, uint64_t len)
{
	dev->dma.unmap_iova = iova;
	dev->dma.unmap_len = len;
	dev->dma.unmapping = true;
	notify(dev, RTE_VFIO_USER_DMA_UNMAP_PRE);
	dev->dma.unmapping = false;
}

/* ---- DMA_MAP / DMA_UNMAP ---- */

/* Whether segment b, starting where a ends, continues a. */
static bool
seg_joins(const seg_t *a, const seg_t *b)
{
	return a->prot == b->prot && a->map == b->map &&
	       (a->map == NULL || a->vaddr + a->size == b->vaddr);
}

/* Add region nr: to the regions, and to the segments, merged with the
 * segments it continues or that continue it. With dma.lock held. */
static int
table_add(struct vu_dev *dev, const seg_t *nr)
{
	struct vu_dma *d = &dev->dma;
	struct vu_mt regions = d->regions, segs = d->segs;
	uint64_t gen = vu_mt_new_gen(), end = nr->iova + nr->size;
	const seg_t *left = NULL, *right;
	struct vu_mt_txn xr, xs;
	seg_t s = *nr;

	vu_mt_txn_begin(&xr, gen);
	vu_mt_txn_begin(&xs, gen);
	vu_mt_insert(&regions, &xr, nr);
	if (nr->iova > 0)
		left = vu_mt_floor(&segs, nr->iova - 1);
	if (left != NULL &&
	    (left->iova + left->size != nr->iova || !seg_joins(left, nr)))
		left = NULL;
	right = vu_mt_floor(&segs, end);
	if (right != NULL && (right->iova != end || !seg_joins(nr, right)))
		right = NULL;
	/* left and right point into the old version: read them first */
	if (left != NULL) {
		s.iova = left->iova;
		s.vaddr = left->vaddr;
		s.size += left->size;
	}
	if (right != NULL) {
		s.size += right->size;
		vu_mt_delete(&segs, &xs, end);
	}
	if (left != NULL)
		vu_mt_replace(&segs, &xs, &s);
	else
		vu_mt_insert(&segs, &xs, &s);
	return table_commit(dev, &regions, &xr, &segs, &xs, NULL);
}

/* Remove region r (a copy: it points into the tree): the segment holding
 * it splits in what lies before and after it. With dma.lock held. */
static int
table_remove(struct vu_dev *dev, const seg_t *r, uint64_t *token)
{
	struct vu_dma *d = &dev->dma;
	struct vu_mt regions = d->regions, segs = d->segs;
	uint64_t gen = vu_mt_new_gen(), end = r->iova + r->size;
	struct vu_mt_txn xr, xs;
	seg_t s = *vu_mt_floor(&segs, r->iova), before = s, after = s;

	vu_mt_txn_begin(&xr, gen);
	vu_mt_txn_begin(&xs, gen);
	vu_mt_delete(&regions, &xr, r->iova);
	if (s.iova < r->iova) {
		before.size = r->iova - s.iova;
		vu_mt_replace(&segs, &xs, &before);
	} else {
		vu_mt_delete(&segs, &xs, s.iova);
	}
	if (s.iova + s.size > end) {
		after.iova = end;
		after.size = s.iova + s.size - end;
		if (s.vaddr != NULL)
			after.vaddr = s.vaddr + (end - s.iova);
		vu_mt_insert(&segs, &xs, &after);
	}
	return table_commit(dev, &regions, &xr, &segs, &xs, token);
}

/* Remove every region. With dma.lock held. */
static int
table_clear(struct vu_dev *dev, uint64_t *token)
{
	struct vu_dma *d = &dev->dma;
	struct vu_mt regions = d->regions, segs = d->segs;
	uint64_t gen = vu_mt_new_gen();
	struct vu_mt_txn xr, xs;

	vu_mt_txn_begin(&xr, gen);
	vu_mt_txn_begin(&xs, gen);
	vu_mt_clear(&regions, &xr);
	vu_mt_clear(&segs, &xs);
	return table_commit(dev, &regions, &xr, &segs, &xs, token);
}

/*
 * Copy to or from client memory that may fault: process_vm_readv/writev on
 * our own process turns a fault into EFAULT instead of SIGBUS. Where the
 * system call is not allowed (a seccomp filter), fall back to memcpy.
 */
static int
copy_guarded(uint8_t *client, uint8_t *buf, size_t len, bool to_client)
{
	static bool warned;
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = client, .iov_len = len };
	ssize_t n;

	n = to_client ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0) :
		process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
		if (!__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
			VU_LOG(WARNING, "process_vm_readv/writev not allowed (%s): "
			       "copies of unsealed client memory are unguarded",
			       strerror(errno));
		if (to_client)
			memcpy(client, buf, len);
		else
			memcpy(buf, client, len);
		return 0;
	}
	return -EFAULT;
}

int
vu_handle_dma_map(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_dma_map *req = (const void *)m->payload;
	struct vu_dev *dev = c->dev;
	struct vu_dma *d = &dev->dma;
	struct vu_map *map = NULL;
	seg_t nr = { 0 };
	const seg_t *s;
	bool wait;
	int ret;

	RTE_SET_USED(r);
	if (req->argsz < sizeof(*req) ||
	    (req->flags & ~(VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)) ||
	    req->flags == 0) {
		VU_LOG(ERR, "%s: DMA_MAP argsz %u flags 0x%x", dev->path,
		       req->argsz, req->flags);
		return -EINVAL;
	}
	if (req->size == 0 || req->addr + req->size < req->addr ||
	    (req->addr | req->size | req->offset) & (PAGE - 1)) {
		VU_LOG(ERR, "%s: DMA_MAP [0x%" PRIx64 ", +0x%" PRIx64 ") offset 0x%"
		       PRIx64 ": empty, wrapping or not %u-aligned", dev->path,
		       req->addr, req->size, req->offset, PAGE);
		return -EINVAL;
	}
	if (m->nfds == 0 && req->offset != 0)
		return -EINVAL;
	nr.iova = req->addr;
	nr.size = req->size;
	if (req->flags & VFIO_USER_DMA_MAP_F_READ)
		nr.prot |= RTE_VFIO_USER_MEM_F_READ;
	if (req->flags & VFIO_USER_DMA_MAP_F_WRITE)
		nr.prot |= RTE_VFIO_USER_MEM_F_WRITE;

	pthread_mutex_lock(&d->lock);
	retired_free(d, false, 0);
	if (d->regions.count >= c->caps.max_dma_maps) {
		ret = -ENOSPC;
		goto out;
	}
	s = vu_mt_floor(&d->segs, req->addr + req->size - 1);
	if (s != NULL && s->iova + s->size > req->addr) {
		VU_LOG(ERR, "%s: DMA_MAP [0x%" PRIx64 ", +0x%" PRIx64
		       ") overlaps a mapping", dev->path, req->addr, req->size);
		ret = -EEXIST;
		goto out;
	}
	if (m->nfds == 1) {
		ret = vu_map_get(&d->maps, m->fds[0], req->offset, req->size,
				 nr.prot & RTE_VFIO_USER_MEM_F_WRITE, &map);
		if (ret < 0)
			goto out;
		nr.vaddr = map->pub.base + (req->offset - map->off);
		nr.map = &map->pub;
		if (map->no_shrink)
			nr.prot |= RTE_VFIO_USER_MEM_F_NO_SHRINK;
	}
	ret = table_add(dev, &nr);
	if (ret < 0) {
		vu_map_put(&d->maps, map);	/* nobody saw it */
		goto out;
	}
	/* a data-path thread that never goes quiescent must not make us
	 * keep versions without bound */
	wait = d->nretired > VU_RETIRED_MAX;
	pthread_mutex_unlock(&d->lock);
	/* only this thread unmaps: map stays while it works */
	if (map != NULL)
		vu_map_prefault(map, nr.vaddr, nr.size,
				nr.prot & RTE_VFIO_USER_MEM_F_WRITE);
	if (wait)
		table_sync(dev, rte_rcu_qsbr_start(d->qsbr));
	VU_LOG(DEBUG,
	       "%s: DMA_MAP [0x%" PRIx64 ", +0x%" PRIx64 ") %s 0x%" PRIx64
	       ": %u regions, %u segments",
	       dev->path, req->addr, req->size,
	       nr.vaddr ? "mapped, file offset" : "message-only", req->offset,
	       d->table->nregions, d->table->nsegments);
	notify(dev, RTE_VFIO_USER_DMA_CHANGED);
	return 0;
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static int
pgsize_ok(uint64_t pgsize)
{
	return pgsize >= PAGE && (pgsize & (pgsize - 1)) == 0;
}

/*
 * Why a dirty bitmap of size bytes (need at least), after hdr bytes of
 * reply, was refused: E2BIG when the reply could not fit a message
 * (VU_MAX_MSG_SIZE: about 32 GiB at 4 KiB pages; the client asks for
 * less at a time, or for larger pages), EINVAL when it is just too small.
 */
static int
bitmap_too_big(uint64_t size, uint64_t need, size_t hdr)
{
	return RTE_MAX(size, need) > VU_MAX_PAYLOAD - hdr ? -E2BIG : -EINVAL;
}

/* The region [addr, addr + size) exactly, or NULL. With dma.lock held. */
static const seg_t *
region_match(const struct vu_dma *d, uint64_t addr, uint64_t size)
{
	const seg_t *s = vu_mt_floor(&d->regions, addr);

	return s != NULL && s->iova == addr && s->size == size ? s : NULL;
}

/* Before a dirty report: the device marks the writes the library did not
 * see (rte_vfio_user_notify_ops::dirty_log). Not with dma.lock held. */
static int
dirty_sync(struct vu_dev *dev)
{
	bool logging;
	int ret;

	pthread_mutex_lock(&dev->dma.lock);
	logging = dev->dma.logging;
	pthread_mutex_unlock(&dev->dma.lock);
	if (!logging || dev->ops.dirty_log == NULL)
		return 0;
	ret = dev->ops.dirty_log(dev->id, RTE_VFIO_USER_DIRTY_SYNC);
	if (ret < 0)
		VU_LOG(ERR, "%s: the device could not report its writes: %s",
		       dev->path, strerror(-ret));
	return ret;
}

/* Whether r logs dirty pages (a mapped, writable region). */
static inline uint64_t *
region_bitmap(const seg_t *r)
{
	if (r->map == NULL || !(r->prot & RTE_VFIO_USER_MEM_F_WRITE))
		return NULL;
	return __atomic_load_n(&r->map->dirty, __ATOMIC_RELAXED);
}

struct keep {
	struct vu_dirty_kept *kept;
	uint64_t iova;
};

static void
keep_run(void *arg, uint64_t i, uint64_t n)
{
	const struct keep *k = arg;

	vu_dirty_kept_add(k->kept, k->iova + i * PAGE, n * PAGE);
}

/*
 * A region unmapped while logging: its dirty pages are kept for the
 * reports to come (the bitmap goes with its mapping), all of them if the
 * device could not say what it wrote (!synced). The bits are taken as a
 * report of the region would take them: two IOVAs of a page share its
 * bit, the first to ask gets it (a region mapping the same pages still
 * reports them no more). After the grace period, with dma.lock held.
 */
static void
dirty_keep(struct vu_dma *d, const seg_t *r, bool synced)
{
	struct keep k = { .kept = &d->kept, .iova = r->iova };

	if (!d->logging || r->map == NULL ||
	    !(r->prot & RTE_VFIO_USER_MEM_F_WRITE))
		return;
	if (!synced)
		vu_dirty_kept_add(&d->kept, r->iova, r->size);
	else
		vu_bitmap_take_runs(region_bitmap(r),
				    (uint64_t)(r->vaddr - r->map->base) / PAGE,
				    r->size / PAGE, keep_run, &k);
}

/* Every region, copied into *out (free() it): 0 or -ENOMEM. With
 * dma.lock held. */
static int
regions_copy(const struct vu_dma *d, seg_t **out, uint32_t *n)
{
	const seg_t *s;

	*n = 0;
	*out = calloc(RTE_MAX(d->regions.count, 1u), sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	for (s = vu_mt_next(&d->regions, 0); s != NULL;
	     s = vu_mt_next(&d->regions, s->iova + s->size))
		(*out)[(*n)++] = *s;
	return 0;
}

/*
 * The regions a DMA_UNMAP of [addr, addr + size) that names no region
 * exactly takes: every region wholly inside it, as VFIO type1 (v2) does
 * for ranges. Returns how many (0: none, the range holds no mapping), or
 * -EINVAL if a region straddles either end (type1 refuses to bisect one
 * too). With dma.lock held.
 */
static int64_t
range_regions(const struct vu_dma *d, uint64_t addr, uint64_t size)
{
	uint64_t last = addr + size - 1, n = 0;	/* may be 2^64 - 1 */
	const seg_t *s = vu_mt_floor(&d->regions, addr);

	/* regions end below 2^64 (DMA_MAP refuses a wrap): no overflow */
	if (s != NULL && s->iova < addr && s->iova + s->size > addr)
		return -EINVAL;
	for (s = vu_mt_next(&d->regions, addr); s != NULL && s->iova <= last;
	     s = vu_mt_next(&d->regions, s->iova + s->size)) {
		if (s->iova + s->size - 1 > last)
			return -EINVAL;
		n++;
	}
	return (int64_t)n;
}

/*
 * DMA_UNMAP of a range that is not one region (a client behind a vIOMMU:
 * QEMU unmaps whole naturally aligned blocks of the address space when the
 * guest's IOMMU domain changes, most of them holding no mapping): the
 * regions inside go, at one grace period for all; a range with none is
 * answered at once, as VFIO type1 answers it. Returns 0 or -errno.
 */
static int
unmap_range(struct vu_dev *dev, uint64_t addr, uint64_t size)
{
	struct vu_dma *d = &dev->dma;
	uint64_t token = 0;
	int64_t n, k = 0;
	bool synced;
	seg_t *gone;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	n = range_regions(d, addr, size);
	pthread_mutex_unlock(&d->lock);
	if (n < 0) {
		VU_LOG(ERR,
		       "%s: DMA_UNMAP [0x%" PRIx64 ", +0x%" PRIx64
		       ") splits a mapping",
		       dev->path, addr, size);
		return (int)n;
	}
	if (n == 0) {
		VU_LOG(DEBUG,
		       "%s: DMA_UNMAP [0x%" PRIx64 ", +0x%" PRIx64
		       "): no mapping in it",
		       dev->path, addr, size);
		return 0;
	}
	/* their file mappings go after the grace period */
	gone = calloc((size_t)n, sizeof(*gone));
	if (gone == NULL)
		return -ENOMEM;
	notify_unmap(dev, addr, size);
	synced = dirty_sync(dev) == 0;
	pthread_mutex_lock(&d->lock);
	/* the event thread is the only writer: the same regions */
	for (const seg_t *s = vu_mt_next(&d->regions, addr);
	     s != NULL && k < n && s->iova >= addr &&
	     s->iova - addr <= size - 1;
	     s = vu_mt_next(&d->regions, addr)) {
		seg_t reg = *s;

		ret = table_remove(dev, &reg, &token);
		if (ret < 0)
			break;
		gone[k++] = reg;
	}
	pthread_mutex_unlock(&d->lock);
	if (k > 0)
		table_sync(dev, token);
	/* no data-path thread uses those regions, nor views of them, any
	 * more */
	pthread_mutex_lock(&d->lock);
	for (int64_t i = 0; i < k; i++) {
		vu_views_drop(dev, gone[i].iova, gone[i].size);
		dirty_keep(d, &gone[i], synced);
		vu_map_put(&d->maps, map_of(&gone[i]));
	}
	pthread_mutex_unlock(&d->lock);
	free(gone);
	VU_LOG(DEBUG,
	       "%s: DMA_UNMAP [0x%" PRIx64 ", +0x%" PRIx64 "): %" PRId64
	       " regions",
	       dev->path, addr, size, k);
	notify(dev, RTE_VFIO_USER_DMA_CHANGED);
	return ret;
}

int
vu_handle_dma_unmap(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_dma_unmap *req = (const void *)m->payload;
	struct vu_dev *dev = c->dev;
	struct vu_dma *d = &dev->dma;
	const struct vfio_user_bitmap *bm = NULL;
	bool all = req->flags & VFIO_USER_DMA_UNMAP_F_ALL;
	uint64_t need = sizeof(*req), token;
	const seg_t *hit = NULL;
	seg_t reg = { 0 }, *gone = NULL;
	uint32_t ngone = 0;
	bool synced;
	int ret;

	if (req->flags & ~(VFIO_USER_DMA_UNMAP_F_GET_DIRTY_BITMAP |
			   VFIO_USER_DMA_UNMAP_F_ALL))
		return -EINVAL;
	if (req->flags & VFIO_USER_DMA_UNMAP_F_GET_DIRTY_BITMAP) {
		if (all || m->size != sizeof(*req) + sizeof(*bm))
			return -EINVAL;
		bm = (const void *)(req + 1);
		/* the reply carries the bitmap header and bm->size bytes of
		 * bitmap: it must hold the range's bits and fit a message */
		if (!pgsize_ok(bm->pgsize) ||
		    bm->size < vu_bitmap_bytes(req->size, bm->pgsize) ||
		    bm->size > VU_MAX_PAYLOAD - sizeof(*req) - sizeof(*bm)) {
			VU_LOG(ERR, "%s: DMA_UNMAP bitmap of %" PRIu64 " bytes at "
			       "page size %" PRIu64 " for 0x%" PRIx64 " bytes",
			       dev->path, bm->size, bm->pgsize, req->size);
			if (!pgsize_ok(bm->pgsize))
				return -EINVAL;
			return bitmap_too_big(bm->size,
					      vu_bitmap_bytes(req->size,
							      bm->pgsize),
					      sizeof(*req) + sizeof(*bm));
		}
		need += sizeof(*bm) + bm->size;
	} else if (m->size != sizeof(*req)) {
		return -EINVAL;
	}
	if (req->argsz < need)
		return -EINVAL;
	if (all && (req->addr != 0 || req->size != 0))
		return -EINVAL;

	/* a range may end at 2^64 (QEMU unmaps up to the top) */
	if (!all && (req->size == 0 || req->addr + (req->size - 1) < req->addr))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (!all)
		hit = region_match(d, req->addr, req->size);
	if (!all && hit == NULL && bm != NULL) {
		pthread_mutex_unlock(&d->lock);
		VU_LOG(ERR,
		       "%s: DMA_UNMAP [0x%" PRIx64 ", +0x%" PRIx64
		       ") with a dirty bitmap matches no mapping",
		       dev->path, req->addr, req->size);
		return -ENOENT;
	}
	if (!all && hit == NULL) {
		pthread_mutex_unlock(&d->lock);
		ret = unmap_range(dev, req->addr, req->size);
		if (ret < 0)
			return ret;
		memcpy(c->reply, req, sizeof(*req));
		r->size = sizeof(*req);
		return 0;
	}
	if (bm != NULL && !d->logging) {
		pthread_mutex_unlock(&d->lock);
		VU_LOG(ERR, "%s: DMA_UNMAP dirty bitmap while not logging",
		       dev->path);
		return -EINVAL;
	}
	/* logging: what the regions were, for their dirty pages (before the
	 * device is told: a failure here changes nothing) */
	ret = all && d->logging ? regions_copy(d, &gone, &ngone) : 0;
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		return ret;
	if (all)
		notify_unmap(dev, 0, UINT64_MAX);
	else
		notify_unmap(dev, req->addr, req->size);
	/* the device let go of the range: what it wrote there is final */
	ret = dirty_sync(dev);
	if (ret < 0 && bm != NULL)
		goto unchanged;
	synced = ret == 0;

	pthread_mutex_lock(&d->lock);
	if (!all) {	/* the event thread is the only writer: still there */
		hit = region_match(d, req->addr, req->size);
		reg = hit != NULL ? *hit : reg;
		ret = hit != NULL ? table_remove(dev, &reg, &token) : -ENOENT;
	} else {
		ret = table_clear(dev, &token);
	}
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		goto unchanged;
	table_sync(dev, token);
	/* no data-path thread uses the region any more */
	memcpy(c->reply, req, sizeof(*req));
	r->size = sizeof(*req);
	if (bm != NULL) {
		uint8_t *p = c->reply + sizeof(*req);
		const struct rte_vfio_user_mem_map *mp = reg.map;

		memcpy(p, bm, sizeof(*bm));
		memset(p + sizeof(*bm), 0, bm->size);
		if (region_bitmap(&reg) != NULL)
			vu_bitmap_collect(region_bitmap(&reg),
					  (uint64_t)(reg.vaddr - mp->base) /
						  PAGE,
					  reg.size / PAGE, 0, bm->pgsize / PAGE,
					  (uint64_t *)(p + sizeof(*bm)));
		r->size = (uint32_t)need;
	}
	pthread_mutex_lock(&d->lock);
	if (all) {
		for (uint32_t i = 0; i < ngone; i++)
			dirty_keep(d, &gone[i], synced);
		vu_views_drop(dev, 0, UINT64_MAX);
		vu_maps_clear(&d->maps);
	} else {
		dirty_keep(d, &reg, synced);
		vu_views_drop(dev, reg.iova, reg.size);
		vu_map_put(&d->maps, map_of(&reg));
	}
	pthread_mutex_unlock(&d->lock);
	free(gone);
	VU_LOG(DEBUG, "%s: DMA_UNMAP [0x%" PRIx64 ", +0x%" PRIx64 ")%s",
	       dev->path, req->addr, req->size, all ? " all" : "");
	notify(dev, RTE_VFIO_USER_DMA_CHANGED);
	return 0;
unchanged:
	/* the device let go of the range for nothing: it takes the table
	 * back as it is */
	free(gone);
	notify(dev, RTE_VFIO_USER_DMA_CHANGED);
	return ret;
}

/* ---- dirty page logging ---- */

/* The device's dirty_log callback, if it has one: 0 or its errno. */
static int
dirty_op(struct vu_dev *dev, enum rte_vfio_user_dirty_op op)
{
	return dev->ops.dirty_log != NULL ? dev->ops.dirty_log(dev->id, op) : 0;
}

/* Start or stop logging: give the mappings bitmaps, or take them back. */
static int
logging_set(struct vu_dev *dev, bool on)
{
	struct vu_dma *d = &dev->dma;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (d->logging == on) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	pthread_mutex_unlock(&d->lock);
	if (!on)	/* the device's own logging first */
		dirty_op(dev, RTE_VFIO_USER_DIRTY_STOP);
	pthread_mutex_lock(&d->lock);
	if (on) {
		ret = vu_dirty_kept_init(&d->kept);
		if (ret == 0 && (ret = vu_maps_log_start(&d->maps)) < 0)
			vu_dirty_kept_fini(&d->kept);
	} else {
		vu_maps_log_stop(&d->maps);
		vu_dirty_kept_fini(&d->kept);
	}
	if (ret == 0)
		d->logging = on;
	pthread_mutex_unlock(&d->lock);
	/* a burst that began before saw the bitmaps as they were: done
	 * after this, so logging is in force (or the old bitmaps unused) */
	qsbr_wait(d->qsbr, rte_rcu_qsbr_start(d->qsbr));
	pthread_mutex_lock(&d->lock);
	vu_maps_log_reap(&d->maps);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0)
		return ret;
	if (on) {	/* the bitmaps exist: the device's own logging */
		ret = dirty_op(dev, RTE_VFIO_USER_DIRTY_START);
		if (ret < 0) {
			VU_LOG(ERR, "%s: the device cannot log its writes: %s",
			       dev->path, strerror(-ret));
			logging_set(dev, false);
			return ret;
		}
	}
	VU_LOG(INFO, "%s: dirty page logging %s", dev->path, on ? "on" : "off");
	return 0;
}

/*
 * Bitmap of [iova, iova+len) at pgsize into out (zeroed), clearing the
 * bits: the range may span segments (each reports its pages from the
 * bitmap of its mapping; message-only and read-only ones are clean) and,
 * with holes, IOVA mapped nowhere (clean, but for the pages kept of
 * regions unmapped while logging: a device logs by IOVA, as DMA logging
 * in <linux/vfio.h>); without, it must be mapped throughout (-EINVAL, as
 * VFIO type1's dirty bitmap). With d->lock held.
 */
static int
dirty_report(struct vu_dev *dev, uint64_t iova, uint64_t len, uint64_t pgsize,
	     bool holes, uint64_t *out)
{
	struct vu_dma *d = &dev->dma;
	uint64_t end = iova + len, a, n;
	const seg_t *s;

	if (!d->logging || !pgsize_ok(pgsize) || len == 0 ||
	    (iova | len) & (pgsize - 1) || end < iova)
		return -EINVAL;
	for (a = iova; !holes && a < end; a = s->iova + s->size) {
		s = vu_mt_floor(&d->segs, a);
		if (s == NULL || a - s->iova >= s->size)
			return -EINVAL;
	}
	memset(out, 0, vu_bitmap_bytes(len, pgsize));
	for (a = iova; a < end; a += n) {
		s = vu_mt_next(&d->segs, a);	/* holding a, or after */
		if (s == NULL || s->iova >= end)
			break;
		if (s->iova > a) {	/* a hole up to it */
			n = s->iova - a;
			continue;
		}
		n = RTE_MIN(end, s->iova + s->size) - a;
		if (region_bitmap(s) != NULL)
			vu_bitmap_collect(region_bitmap(s),
					  ((uint64_t)(s->vaddr - s->map->base) +
					   (a - s->iova)) /
						  PAGE,
					  n / PAGE, (a - iova) / PAGE,
					  pgsize / PAGE, out);
	}
	vu_dirty_kept_take(&d->kept, iova, len, pgsize, out);
	return 0;
}

int
vu_handle_dirty_pages(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_dirty_pages *req = (const void *)m->payload;
	struct vfio_user_dirty_pages *rep = (void *)c->reply;
	const struct vfio_user_bitmap_range *rg = (const void *)(req + 1);
	uint64_t need;
	int ret;

	switch (req->flags) {
	case VFIO_USER_DIRTY_PAGES_F_START:
	case VFIO_USER_DIRTY_PAGES_F_STOP:
		if (m->size != sizeof(*req))
			return -EINVAL;
		return logging_set(c->dev,
				   req->flags == VFIO_USER_DIRTY_PAGES_F_START);
	case VFIO_USER_DIRTY_PAGES_F_GET_BITMAP:
		break;
	default:
		return -EINVAL;
	}
	if (m->size != sizeof(*req) + sizeof(*rg) || !pgsize_ok(rg->bitmap.pgsize))
		return -EINVAL;
	/* the reply: the range as asked, then bitmap.size bytes of bitmap,
	 * which must hold the range's bits and fit a message */
	if (rg->bitmap.size < vu_bitmap_bytes(rg->size, rg->bitmap.pgsize) ||
	    rg->bitmap.size > VU_MAX_PAYLOAD - sizeof(*req) - sizeof(*rg))
		return bitmap_too_big(rg->bitmap.size,
				      vu_bitmap_bytes(rg->size,
						      rg->bitmap.pgsize),
				      sizeof(*req) + sizeof(*rg));
	need = sizeof(*req) + sizeof(*rg) + rg->bitmap.size;
	rep->flags = VFIO_USER_DIRTY_PAGES_F_GET_BITMAP;
	rep->argsz = (uint32_t)need;
	if (req->argsz < need) {	/* the size needed, no bitmap */
		r->size = sizeof(*rep);
		return 0;
	}
	memcpy(rep + 1, rg, sizeof(*rg));
	memset(c->reply + sizeof(*rep) + sizeof(*rg), 0, rg->bitmap.size);
	ret = dirty_sync(c->dev);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&c->dev->dma.lock);
	ret = dirty_report(c->dev, rg->iova, rg->size, rg->bitmap.pgsize, false,
			   (uint64_t *)(c->reply + sizeof(*rep) + sizeof(*rg)));
	pthread_mutex_unlock(&c->dev->dma.lock);
	if (ret < 0)
		return ret;
	r->size = (uint32_t)need;
	return 0;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct vfio_user_dma_logging_range *x = a, *y = b;

	return x->iova < y->iova ? -1 : x->iova > y->iova;
}

/* DMA_LOGGING_START's ranges: each non-empty, aligned to pgsize (0: not
 * checked) and not wrapping (-EINVAL, -EOVERFLOW), no two overlapping
 * (-EINVAL). */
static int
logging_ranges_check(const struct vfio_user_dma_logging_range *rg, uint32_t n,
		     uint64_t pgsize)
{
	struct vfio_user_dma_logging_range *s;
	int ret = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (rg[i].length == 0 ||
		    (pgsize != 0 &&
		     ((rg[i].iova | rg[i].length) & (pgsize - 1))))
			return -EINVAL;
		if (rg[i].iova + rg[i].length < rg[i].iova)
			return -EOVERFLOW;
	}
	if (n < 2)
		return 0;
	s = malloc((size_t)n * sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	memcpy(s, rg, (size_t)n * sizeof(*s));
	qsort(s, n, sizeof(*s), range_cmp);
	for (uint32_t i = 1; i < n && ret == 0; i++)
		if (s[i].iova - s[i - 1].iova < s[i - 1].length)
			ret = -EINVAL;
	free(s);
	return ret;
}

int
vu_handle_device_feature(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_device_feature *req = (const void *)m->payload;
	struct vfio_user_device_feature *rep = (void *)c->reply;
	uint32_t feat = req->flags & VFIO_USER_DEVICE_FEATURE_MASK;
	uint32_t op = req->flags & (VFIO_USER_DEVICE_FEATURE_GET |
				    VFIO_USER_DEVICE_FEATURE_SET);
	bool probe = req->flags & VFIO_USER_DEVICE_FEATURE_PROBE;
	uint32_t data = m->size - (uint32_t)sizeof(*req);
	uint32_t want;
	int ret;

	if (req->flags & ~(VFIO_USER_DEVICE_FEATURE_MASK |
			   VFIO_USER_DEVICE_FEATURE_GET |
			   VFIO_USER_DEVICE_FEATURE_SET |
			   VFIO_USER_DEVICE_FEATURE_PROBE))
		return -EINVAL;
	if (op == (VFIO_USER_DEVICE_FEATURE_GET | VFIO_USER_DEVICE_FEATURE_SET) &&
	    !probe)
		return -EINVAL;
	if (op == 0 && !probe)
		return -EINVAL;
	/* argsz holds the reply's fixed header at least (the spec's
	 * "Message sizes"), whatever the feature */
	if (req->argsz < sizeof(*req))
		return -EINVAL;
	/* the reply to a SET or a PROBE is the request itself: argsz, the
	 * room for the reply, must hold it (as libvfio-user checks) */
	if ((probe || op == VFIO_USER_DEVICE_FEATURE_SET) &&
	    req->argsz < m->size)
		return -EINVAL;
	switch (feat) {
	case VFIO_USER_FEATURE_DMA_LOGGING_START:
	case VFIO_USER_FEATURE_DMA_LOGGING_STOP:
		want = VFIO_USER_DEVICE_FEATURE_SET;
		break;
	case VFIO_USER_FEATURE_DMA_LOGGING_REPORT:
		want = VFIO_USER_DEVICE_FEATURE_GET;
		break;
	case VFIO_USER_FEATURE_MIGRATION:
	case VFIO_USER_FEATURE_MIG_DEVICE_STATE:
		return vu_mig_handle_feature(c, m, r);	/* vu_mig.c */
	default:
		/* an unknown feature, an operation a feature does not
		 * have: EINVAL, as libvfio-user (and Linux's
		 * vfio_check_feature()) */
		return -EINVAL;
	}
	if ((op & ~want) != 0)
		return -EINVAL;
	if (probe) {
		memcpy(rep, req, m->size);
		r->size = m->size;
		return 0;
	}
	if (feat == VFIO_USER_FEATURE_DMA_LOGGING_START) {
		struct vfio_user_dma_logging_control *ctl = (void *)rep->data;
		const struct vfio_user_dma_logging_range *rg;
		uint64_t pgsize;

		if (data < sizeof(*ctl))
			return -EINVAL;
		memcpy(rep, req, m->size);
		if (data != sizeof(*ctl) + (uint64_t)ctl->num_ranges * sizeof(*rg))
			return -EINVAL;
		rg = (const void *)(ctl + 1);
		/* as <linux/vfio.h> (vfio_ioctl_device_feature_logging_start):
		 * ranges aligned to the page size asked for (a hint, which
		 * may be smaller than ours; a power of 2, else not checked),
		 * not wrapping, disjoint */
		pgsize = ctl->page_size;
		if (pgsize & (pgsize - 1))
			pgsize = 0;
		ret = logging_ranges_check(rg, ctl->num_ranges, pgsize);
		if (ret < 0)
			return ret;
		if (ctl->page_size < PAGE || (ctl->page_size & (ctl->page_size - 1)))
			ctl->page_size = PAGE;
		if (c->dev->dma.logging)
			return -EBUSY;
		ret = logging_set(c->dev, true);
		if (ret < 0)
			return ret;
		r->size = m->size;
		return 0;
	}
	if (feat == VFIO_USER_FEATURE_DMA_LOGGING_STOP) {
		if (data != 0)
			return -EINVAL;
		ret = logging_set(c->dev, false);
		if (ret < 0)
			return ret;
		memcpy(rep, req, m->size);
		r->size = m->size;
		return 0;
	}
	/* DMA_LOGGING_REPORT */
	{
		const struct vfio_user_dma_logging_report *rq = (const void *)req->data;
		uint64_t need;

		/* what makes the report fail, before a reply that only
		 * says the size it needs: logging off (<linux/vfio.h>: an
		 * error), a range not of whole pages, or wrapping
		 * (EOVERFLOW, as the kernel's check_add_overflow()) */
		if (data != sizeof(*rq) || !pgsize_ok(rq->page_size) ||
		    rq->length == 0 || !c->dev->dma.logging ||
		    ((rq->iova | rq->length) & (rq->page_size - 1)))
			return -EINVAL;
		if (rq->iova + rq->length < rq->iova)
			return -EOVERFLOW;
		need = sizeof(*req) + sizeof(*rq) +
		       vu_bitmap_bytes(rq->length, rq->page_size);
		if (need > VU_MAX_PAYLOAD) {
			VU_LOG(ERR,
			       "%s: DMA logging report of 0x%" PRIx64
			       " bytes at page size %" PRIu64
			       " needs a %" PRIu64
			       "-byte reply, over the %u a message holds: ask for "
			       "less at a time, or larger pages",
			       c->dev->path, rq->length, rq->page_size, need,
			       (unsigned int)VU_MAX_PAYLOAD);
			return -E2BIG;
		}
		rep->flags = req->flags;
		rep->argsz = (uint32_t)need;
		if (req->argsz < need) {
			r->size = sizeof(*rep);
			return 0;
		}
		memcpy(rep->data, rq, sizeof(*rq));
		ret = dirty_sync(c->dev);
		if (ret < 0)
			return ret;
		pthread_mutex_lock(&c->dev->dma.lock);
		ret = dirty_report(c->dev, rq->iova, rq->length, rq->page_size,
				   true, (uint64_t *)(rep->data + sizeof(*rq)));
		pthread_mutex_unlock(&c->dev->dma.lock);
		if (ret < 0)
			return ret;
		r->size = (uint32_t)need;
		return 0;
	}
}

/*
 * Whether [iova, iova + len) is all in segments allowing need, mapped
 * ones only if mapped; *first gets the segment of iova. len > 0, no wrap.
 */
static bool
range_ok(const struct rte_vfio_user_mem_table *t, uint64_t iova, uint64_t len,
	 uint32_t need, bool mapped)
{
	uint64_t end = iova + len, a;
	const seg_t *s;

	for (a = iova; a < end; a = s->iova + s->size) {
		s = __rte_vfio_user_mem_floor(t, a);
		if (s == NULL || a - s->iova >= s->size ||
		    (s->prot & need) != need || (mapped && s->vaddr == NULL))
			return false;
	}
	return true;
}

int
rte_vfio_user_mark_dirty(int dev_id, uint64_t iova, uint64_t len)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	const struct rte_vfio_user_mem_table *t;
	uint64_t end = iova + len, a, n;
	const seg_t *s;
	int ret = 0;

	if (dev == NULL)
		return -ENODEV;
	if (end < iova)
		return -EFAULT;
	pthread_mutex_lock(&dev->dma.lock);
	t = dev->dma.table;
	if (!range_ok(t, iova, len != 0 ? len : 1, 0, false))
		ret = -EFAULT;
	for (a = iova; ret == 0 && a < end; a += n) {
		s = __rte_vfio_user_mem_floor(t, a);
		n = RTE_MIN(end, s->iova + s->size) - a;
		rte_vfio_user_mem_mark_dirty(s, a, n);
	}
	pthread_mutex_unlock(&dev->dma.lock);
	return ret;
}

int
rte_vfio_user_mem_copy(const struct rte_vfio_user_mem_table *t,
		       struct rte_vfio_user_mem_cache *c, uint64_t iova,
		       void *buf, uint64_t len, bool write)
{
	uint32_t need = write ? RTE_VFIO_USER_MEM_F_WRITE :
				RTE_VFIO_USER_MEM_F_READ;
	uint64_t end = iova + len, a, n;
	const seg_t *s = NULL;
	uint8_t *p = buf;

	if (len == 0)
		return 0;
	if (end < iova)
		return -EINVAL;
	if (!range_ok(t, iova, len, need, true))
		return -EFAULT;
	for (a = iova; a < end; a += n, p += n) {
		uint8_t *va;

		s = __rte_vfio_user_mem_floor(t, a);
		n = RTE_MIN(end, s->iova + s->size) - a;
		va = s->vaddr + (a - s->iova);
		if (write) {
			memcpy(va, p, n);
			rte_vfio_user_mem_mark_dirty(s, a, n);
		} else {
			memcpy(p, va, n);
		}
	}
	if (c != NULL) {
		c->gen = t->gen;
		c->seg = s;
	}
	return 0;
}

/* ---- our DMA_READ / DMA_WRITE to the client ---- */

void
vu_dma_twin_close(struct vu_conn *c)
{
	if (c->twin_fd >= 0)
		close(c->twin_fd);
	c->twin_fd = -1;
	vu_rx_fini(&c->twin_rx);
}

int
vu_dma_twin_setup(struct vu_conn *c, int *client_end)
{
	int sv[2];

	/* a VERSION that failed after setting one up may be retried */
	vu_dma_twin_close(c);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (vu_rx_init(&c->twin_rx) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	c->twin_fd = sv[0];
	*client_end = sv[1];
	return 0;
}

/* Check a reply to req and take its data; 0, or -EIO for an error reply
 * (its errno kept for the log) or a malformed one. */
static int
dma_reply_take(struct vu_dma_req *req, const struct vfio_user_header *h,
	       const uint8_t *payload, uint32_t size)
{
	const struct vfio_user_dma_access *a = (const void *)payload;

	if (h->flags & VFIO_USER_F_ERROR) {
		/* not the client's errno: the caller would take an EFAULT
		 * or ENOTCONN of the client's for ours */
		req->client_errno = h->error_no;
		return -EIO;
	}
	if (size < sizeof(uint64_t) + sizeof(uint32_t) || a->addr != req->addr)
		return -EIO;
	if (req->cmd == VFIO_USER_DMA_READ) {
		if (size != sizeof(*a) + req->len || a->count != req->len)
			return -EIO;
		memcpy(req->buf, a->data, req->len);
	} else {
		/* count: 8 bytes (0.9.1), or 4 in the current text */
		uint64_t count = 0;

		if (size >= sizeof(*a)) {
			count = a->count;
		} else {
			uint32_t c32;

			memcpy(&c32, payload + sizeof(uint64_t), sizeof(c32));
			count = c32;
		}
		if (count != req->len)
			return -EIO;	/* the client did not write it all */
	}
	return 0;
}

void
vu_dma_rw_reply(struct vu_dev *dev, struct vu_msg *m)
{
	struct vu_dma *d = &dev->dma;

	pthread_mutex_lock(&d->req_lock);
	if (d->req != NULL && !d->req->done && d->req->msg_id == m->hdr->msg_id &&
	    d->req->cmd == m->hdr->cmd) {
		d->req->err = dma_reply_take(d->req, m->hdr, m->payload, m->size);
		d->req->done = true;
		pthread_cond_broadcast(&d->req_cond);
	} else {
		VU_LOG(WARNING, "%s: unexpected reply id %u cmd %u dropped",
		       dev->path, m->hdr->msg_id, m->hdr->cmd);
	}
	pthread_mutex_unlock(&d->req_lock);
}

/* Wait for the reply on the twin socket (any thread). */
static int
twin_wait(struct vu_conn *c, struct vu_dma_req *req)
{
	uint64_t deadline = vu_now_ms() + c->dev->tmo.dma_ms;

	for (;;) {
		/* the main socket too: a client gone from it is gone, even if
		 * it left the twin socket open */
		struct pollfd p[2] = {
			{ .fd = c->twin_fd, .events = POLLIN },
			{ .fd = c->fd, .events = POLLRDHUP },
		};
		uint64_t now = vu_now_ms();
		enum vu_rx_status st;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(p, 2, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		st = vu_rx_read(c->twin_fd, &c->twin_rx);
		if (st == VU_RX_AGAIN) {
			if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
				VU_LOG(ERR, "%s: client gone during a DMA request",
				       c->dev->path);
				return -ENOTCONN;
			}
			continue;
		}
		if (st == VU_RX_OVERSIZE) {
			/* too big to be a reply of ours; its payload is
			 * skipped by the next reads, keeping the stream in
			 * step (a partial message, too, is kept on timeout) */
			struct vfio_user_header *h = vu_rx_hdr(&c->twin_rx);
			bool ours = h->msg_id == req->msg_id && h->cmd == req->cmd;

			VU_LOG(ERR, "%s: message of %u bytes on the twin socket "
			       "skipped", c->dev->path, h->msg_size);
			vu_rx_next(&c->twin_rx);
			if (ours)
				return -EIO;
			continue;
		}
		if (st != VU_RX_MSG) {
			vu_rx_abort(&c->twin_rx);
			return -ENOTCONN;
		}
		{
			struct vfio_user_header *h = vu_rx_hdr(&c->twin_rx);
			int ret = 1;

			if ((h->flags & VFIO_USER_F_TYPE_MASK) ==
			    VFIO_USER_F_TYPE_REPLY && h->msg_id == req->msg_id &&
			    h->cmd == req->cmd)
				ret = dma_reply_take(req, h, c->twin_rx.buf + sizeof(*h),
						     c->twin_rx.want - sizeof(*h));
			vu_rx_next(&c->twin_rx);
			if (ret <= 0)
				return ret;
		}
	}
}

/*
 * Whether the calling thread is online in the device's QSBR variable under
 * its lcore id (the id the PMDs use). Such a thread must not wait for the
 * client: a DMA_MAP/UNMAP the client sends before its reply waits for this
 * very thread to go quiescent, and the reply is read only after it.
 */
bool
vu_dma_caller_online(const struct vu_dev *dev)
{
	unsigned int lcore = rte_lcore_id();

	return lcore < RTE_MAX_LCORE && lcore < dev->dma.qsbr->max_threads &&
		__atomic_load_n(&dev->dma.qsbr->qsbr_cnt[lcore].cnt,
				__ATOMIC_RELAXED) != __RTE_QSBR_CNT_THR_OFFLINE;
}

/* Say why the client did not do req: its error reply, or a reply that
 * does not fit the request. */
static void
dma_msg_failed(const struct vu_dev *dev, const struct vu_dma_req *req, int ret)
{
	if (ret != -EIO)
		return;
	if (req->client_errno != 0)
		VU_LOG(ERR,
		       "%s: client refused %s [0x%" PRIx64 ", +0x%" PRIx64
		       "): %s",
		       dev->path, vu_cmd_name(req->cmd), req->addr, req->len,
		       strerror((int)req->client_errno));
	else
		VU_LOG(ERR,
		       "%s: malformed reply to %s [0x%" PRIx64 ", +0x%" PRIx64
		       ")",
		       dev->path, vu_cmd_name(req->cmd), req->addr, req->len);
}

/* One DMA_READ or DMA_WRITE message exchange of at most max_xfer bytes. */
static int
dma_msg(struct vu_dev *dev, uint16_t cmd, uint64_t addr, uint8_t *buf,
	uint64_t len)
{
	struct vu_dma *d = &dev->dma;
	struct vu_dma_req req = { .cmd = cmd, .buf = buf, .addr = addr, .len = len };
	struct vfio_user_dma_access a = { .addr = addr, .count = len };
	struct vfio_user_header h = { .cmd = cmd };
	struct iovec iov[2] = {
		{ .iov_base = &a, .iov_len = sizeof(a) },
		{ .iov_base = buf, .iov_len = len },
	};
	struct timespec ts;
	struct vu_conn *c;
	int ret;

	pthread_mutex_lock(&dev->lock);
	c = dev->conn;
	if (c == NULL || !c->negotiated) {
		pthread_mutex_unlock(&dev->lock);
		return -ENOTCONN;
	}
	if (c->twin_fd < 0 && vu_fdman_is_event_thread()) {
		pthread_mutex_unlock(&dev->lock);
		VU_LOG(ERR, "%s: DMA_READ/WRITE from the event thread needs "
		       "twin_socket", dev->path);
		return -EDEADLK;
	}
	pthread_mutex_lock(&d->req_lock);
	req.msg_id = h.msg_id = d->next_id++;
	if (c->twin_fd >= 0) {
		/* the twin socket is ours alone while dev->lock is held */
		pthread_mutex_unlock(&d->req_lock);
		ret = vu_send(c->twin_fd, &h, iov,
			      cmd == VFIO_USER_DMA_WRITE ? 2 : 1, NULL, 0);
		if (ret == 0)
			ret = twin_wait(c, &req);
		pthread_mutex_unlock(&dev->lock);
		dma_msg_failed(dev, &req, ret);
		return ret;
	}
	while (d->req != NULL)	/* one outstanding request at a time */
		pthread_cond_wait(&d->req_cond, &d->req_lock);
	d->req = &req;
	pthread_mutex_unlock(&d->req_lock);

	ret = vu_conn_send(c, &h, iov, cmd == VFIO_USER_DMA_WRITE ? 2 : 1,
			   NULL, 0);
	pthread_mutex_unlock(&dev->lock);

	ts = vu_deadline_ts(vu_now_ms() + dev->tmo.dma_ms);
	pthread_mutex_lock(&d->req_lock);
	while (ret == 0 && !req.done) {
		if (pthread_cond_timedwait(&d->req_cond, &d->req_lock,
					   &ts) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			VU_LOG(ERR, "%s: no reply to DMA request %u",
			       dev->path, req.msg_id);
		}
	}
	if (ret == 0)
		ret = req.err;
	d->req = NULL;
	pthread_cond_broadcast(&d->req_cond);
	pthread_mutex_unlock(&d->req_lock);
	dma_msg_failed(dev, &req, ret);
	return ret;
}

/* Message-only memory [iova, iova + len): DMA_READ/WRITE messages,
 * chunked by the client's max_data_xfer_size. */
static int
dma_rw_msg(struct vu_dev *dev, uint64_t iova, uint8_t *buf, uint64_t len,
	   bool write)
{
	uint64_t chunk;
	int ret = 0;

	if (vu_dma_caller_online(dev)) {
		VU_LOG(ERR, "%s: DMA_READ/WRITE of message-only memory from lcore "
		       "%u, online in the device's QSBR: go offline first",
		       dev->path, rte_lcore_id());
		return -EDEADLK;
	}
	pthread_mutex_lock(&dev->lock);
	chunk = dev->conn != NULL ? dev->conn->caps.max_xfer : VU_MAX_XFER;
	pthread_mutex_unlock(&dev->lock);
	if (chunk > VU_MAX_XFER)
		chunk = VU_MAX_XFER;
	while (len > 0 && ret == 0) {
		uint64_t n = len < chunk ? len : chunk;

		ret = dma_msg(dev, write ? VFIO_USER_DMA_WRITE : VFIO_USER_DMA_READ,
			      iova, buf, n);
		iova += n;
		buf += n;
		len -= n;
	}
	return ret;
}

/*
 * Copy segment by segment: mapped memory directly (guarded where the file
 * may shrink), message-only memory with messages, at least one per client
 * DMA region. The whole range is
 * checked first; each piece is looked up again, as the client may change
 * its memory between messages.
 */
static int
dma_rw(int dev_id, uint64_t iova, uint8_t *buf, size_t len, bool write)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	uint32_t need = write ? RTE_VFIO_USER_MEM_F_WRITE :
				RTE_VFIO_USER_MEM_F_READ;
	int ret = 0;

	if (dev == NULL)
		return -ENODEV;
	if (len == 0)
		return 0;
	if (iova + len < iova)
		return -EFAULT;
	pthread_mutex_lock(&dev->dma.lock);
	if (!range_ok(dev->dma.table, iova, len, need, false))
		ret = -EFAULT;
	pthread_mutex_unlock(&dev->dma.lock);
	while (ret == 0 && len > 0) {
		const seg_t *s;
		uint64_t n;

		pthread_mutex_lock(&dev->dma.lock);
		s = rte_vfio_user_mem_find(dev->dma.table, iova, 1);
		if (s == NULL || (s->prot & need) != need) {
			pthread_mutex_unlock(&dev->dma.lock);
			return -EFAULT;
		}
		n = RTE_MIN((uint64_t)len, s->size - (iova - s->iova));
		if (s->vaddr != NULL) {
			uint8_t *va = s->vaddr + (iova - s->iova);

			if (s->prot & RTE_VFIO_USER_MEM_F_NO_SHRINK) {
				if (write)
					memcpy(va, buf, n);
				else
					memcpy(buf, va, n);
			} else {
				ret = copy_guarded(va, buf, n, write);
			}
			if (ret == 0 && write)
				rte_vfio_user_mem_mark_dirty(s, iova, n);
			pthread_mutex_unlock(&dev->dma.lock);
			if (ret < 0)
				VU_LOG(ERR,
				       "%s: client memory [0x%" PRIx64
				       ", +0x%" PRIx64
				       ") faults: its file shrank under the "
				       "mapping?",
				       dev->path, iova, n);
		} else {
			/* one request per client region: a client answers
			 * from the memory of one DMA_MAP (the spec's unit),
			 * where a segment may join several */
			const seg_t *r = vu_mt_floor(&dev->dma.regions, iova);

			if (r != NULL && iova - r->iova < r->size)
				n = RTE_MIN(n, r->size - (iova - r->iova));
			pthread_mutex_unlock(&dev->dma.lock);
			ret = dma_rw_msg(dev, iova, buf, n, write);
		}
		iova += n;
		buf += n;
		len -= n;
	}
	return ret;
}

int
rte_vfio_user_dma_read(int dev_id, uint64_t iova, void *buf, size_t len)
{
	return dma_rw(dev_id, iova, buf, len, false);
}

int
rte_vfio_user_dma_write(int dev_id, uint64_t iova, const void *buf, size_t len)
{
	return dma_rw(dev_id, iova, (uint8_t *)(uintptr_t)buf, len, true);
}

/* ---- disconnect ---- */

void
vu_dma_client_gone(struct vu_dev *dev)
{
	struct vu_dma *d = &dev->dma;
	bool mapped, logging;
	uint64_t token;

	pthread_mutex_lock(&d->req_lock);
	if (d->req != NULL && !d->req->done) {
		d->req->err = -ENOTCONN;
		d->req->done = true;
		pthread_cond_broadcast(&d->req_cond);
	}
	pthread_mutex_unlock(&d->req_lock);

	pthread_mutex_lock(&d->lock);
	mapped = d->regions.count > 0;
	pthread_mutex_unlock(&d->lock);
	if (mapped)	/* without dma.lock, as in DMA_UNMAP */
		notify_unmap(dev, 0, UINT64_MAX);

	pthread_mutex_lock(&d->lock);
	mapped = d->regions.count > 0;
	if (mapped && table_clear(dev, &token) < 0) {
		/* the mappings stay, in use, rather than go under readers */
		pthread_mutex_unlock(&d->lock);
		VU_LOG(ERR, "%s: client memory kept: no memory to withdraw it",
		       dev->path);
		return;
	}
	logging = d->logging;
	if (d->logging)
		vu_maps_log_stop(&d->maps);
	vu_dirty_kept_fini(&d->kept);
	d->logging = false;
	pthread_mutex_unlock(&d->lock);
	if (logging)
		dirty_op(dev, RTE_VFIO_USER_DIRTY_STOP);
	table_sync(dev, mapped ? token : rte_rcu_qsbr_start(d->qsbr));
	pthread_mutex_lock(&d->lock);
	vu_views_drop(dev, 0, UINT64_MAX);
	vu_maps_clear(&d->maps);
	pthread_mutex_unlock(&d->lock);
}
