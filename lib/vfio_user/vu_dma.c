/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Client memory: DMA_MAP / DMA_UNMAP into an RCU-published table, dirty
 * page logging (0.9.1 DIRTY_PAGES and DEVICE_FEATURE DMA logging), and our
 * DMA_READ / DMA_WRITE requests to the client for message-only regions.
 *
 * A table is never changed in place: a map or unmap builds a new one,
 * publishes it, waits for every data-path thread of the device's QSBR
 * variable to pass a quiescent state, and only then unmaps memory and frees
 * the old table. So DMA_UNMAP is answered after the data path let go.
 *
 * dma.lock serializes the building and publishing of tables with the
 * threads that look a region up under it (rte_vfio_user_mark_dirty(),
 * rte_vfio_user_dma_read/write()); it is never held while waiting for the
 * grace period, as a data-path thread may take it before its next
 * quiescent state.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "vu_fdman.h"
#include "vu_internal.h"

#define PAGE RTE_VFIO_USER_DIRTY_PAGE_SIZE
#define DMA_RW_TIMEOUT_MS 5000

static inline uint64_t
bitmap_pages(uint64_t size, uint64_t pgsize)
{
	return size / pgsize + (size % pgsize != 0);
}

static inline uint64_t
bitmap_bytes(uint64_t size, uint64_t pgsize)
{
	return (bitmap_pages(size, pgsize) + 63) / 64 * 8;
}

/*
 * Dirty bitmaps: one bit per 4 KiB page of a mapped region. They come from
 * anonymous mappings, so the pages of a bitmap that nothing marks are never
 * backed by memory: a client mapping terabytes costs us address space, not
 * RSS. Message-only regions have none: the device never writes them
 * directly (a DMA_WRITE is the client's own write, which it tracks).
 */
static size_t
bitmap_alloc_size(uint64_t region_size)
{
	return RTE_ALIGN_CEIL(bitmap_bytes(region_size, PAGE),
			      (size_t)sysconf(_SC_PAGESIZE));
}

static uint64_t *
bitmap_alloc(uint64_t region_size)
{
	void *p = mmap(NULL, bitmap_alloc_size(region_size),
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void
bitmap_free(uint64_t *bm, uint64_t region_size)
{
	if (bm != NULL)
		munmap(bm, bitmap_alloc_size(region_size));
}

/* Whether a region gets a bitmap while logging is on. */
static inline bool
region_logs(const struct rte_vfio_user_mem_region *r)
{
	return r->vaddr != NULL && (r->prot & RTE_VFIO_USER_MEM_F_WRITE);
}

static struct rte_vfio_user_mem_table *
table_alloc(uint32_t n)
{
	struct rte_vfio_user_mem_table *t;

	t = calloc(1, sizeof(*t) + (size_t)n * sizeof(t->regions[0]));
	if (t != NULL)
		t->nregions = n;
	return t;
}

int
vu_dma_dev_init(struct vu_dev *dev)
{
	struct vu_dma *d = &dev->dma;
	size_t sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	pthread_mutexattr_t attr;

	/* recursive: update_status callbacks may call rte_vfio_user_dma_*() */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&d->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&d->req_lock, NULL);
	pthread_cond_init(&d->req_cond, NULL);
	d->table = table_alloc(0);
	d->qsbr = aligned_alloc(RTE_CACHE_LINE_SIZE,
				RTE_ALIGN_CEIL(sz, RTE_CACHE_LINE_SIZE));
	if (d->table == NULL || d->qsbr == NULL ||
	    rte_rcu_qsbr_init(d->qsbr, RTE_MAX_LCORE) != 0)
		return -ENOMEM;
	return 0;
}

void
vu_dma_dev_fini(struct vu_dev *dev)
{
	struct vu_dma *d = &dev->dma;

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

/* Publish t (dma.lock held); returns the table it replaces, which the data
 * path may use until table_sync(). */
static struct rte_vfio_user_mem_table *
table_publish(struct vu_dev *dev, struct rte_vfio_user_mem_table *t)
{
	struct rte_vfio_user_mem_table *old = dev->dma.table;

	__atomic_store_n(&dev->dma.table, t, __ATOMIC_RELEASE);
	return old;
}

/*
 * Wait until every online data-path thread has passed a quiescent state
 * since the last table_publish(). Without dma.lock: threads that take it
 * only ever see the newest table, as publishing holds it.
 */
static void
table_sync(struct vu_dev *dev)
{
	rte_rcu_qsbr_synchronize(dev->dma.qsbr, RTE_QSBR_THRID_INVALID);
}

static void
region_release(struct rte_vfio_user_mem_region *r)
{
	if (r->vaddr != NULL)
		munmap(r->vaddr, r->size);
	bitmap_free(r->dirty, r->size);
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

/* ---- DMA_MAP / DMA_UNMAP ---- */

/*
 * A client that shrinks the file behind a mapping makes every later access
 * past the new end fault (SIGBUS). Memory that is sealed against shrinking
 * (F_SEAL_SHRINK: QEMU seals its memfd backends) is safe; a memfd that can
 * still be sealed is sealed here. Returns true if the file cannot shrink.
 * Files that cannot be sealed (hugetlbfs, tmpfs files) stay a risk for
 * direct accesses; the library's own copies are guarded (see
 * copy_guarded()).
 */
static bool
fd_seal_shrink(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return false;	/* not a memfd */
	if (!(seals & (F_SEAL_SHRINK | F_SEAL_SEAL)) &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0)
		seals |= F_SEAL_SHRINK;
	return seals & F_SEAL_SHRINK;
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
	struct rte_vfio_user_mem_table *old, *t;
	struct rte_vfio_user_mem_region nr = { 0 };
	uint32_t i, pos;
	int ret = 0, prot = 0;

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
	if (m->nfds == 1) {
		struct stat st;

		/* sealed first, so the size checked next is the size for good */
		if (fd_seal_shrink(m->fds[0]))
			nr.prot |= RTE_VFIO_USER_MEM_F_NO_SHRINK;
		/* a file that does not hold the range would SIGBUS the data
		 * path on its first access past the end */
		if (fstat(m->fds[0], &st) == 0 && S_ISREG(st.st_mode) &&
		    (req->offset > (uint64_t)st.st_size ||
		     req->size > (uint64_t)st.st_size - req->offset)) {
			VU_LOG(ERR, "%s: DMA_MAP of 0x%" PRIx64 " bytes at offset 0x%"
			       PRIx64 " of a file of 0x%" PRIx64 " bytes",
			       dev->path, req->size, req->offset,
			       (uint64_t)st.st_size);
			return -EINVAL;
		}
	}

	pthread_mutex_lock(&d->lock);
	old = d->table;
	if (old->nregions >= c->caps.max_dma_maps) {
		ret = -ENOSPC;
		goto out;
	}
	for (pos = 0; pos < old->nregions && old->regions[pos].iova < req->addr; pos++)
		;
	if ((pos > 0 && old->regions[pos - 1].iova +
	     old->regions[pos - 1].size > req->addr) ||
	    (pos < old->nregions &&
	     old->regions[pos].iova < req->addr + req->size)) {
		VU_LOG(ERR, "%s: DMA_MAP [0x%" PRIx64 ", +0x%" PRIx64
		       ") overlaps a mapping", dev->path, req->addr, req->size);
		ret = -EEXIST;
		goto out;
	}

	nr.iova = req->addr;
	nr.size = req->size;
	if (req->flags & VFIO_USER_DMA_MAP_F_READ) {
		nr.prot |= RTE_VFIO_USER_MEM_F_READ;
		prot |= PROT_READ;
	}
	if (req->flags & VFIO_USER_DMA_MAP_F_WRITE) {
		nr.prot |= RTE_VFIO_USER_MEM_F_WRITE;
		prot |= PROT_WRITE;
	}
	if (m->nfds == 1) {
		void *va = mmap(NULL, req->size, prot, MAP_SHARED, m->fds[0],
				(off_t)req->offset);

		if (va == MAP_FAILED) {
			ret = -errno;
			VU_LOG(ERR, "%s: DMA_MAP mmap of 0x%" PRIx64 " bytes at 0x%"
			       PRIx64 ": %s", dev->path, req->size, req->offset,
			       strerror(errno));
			goto out;
		}
		nr.vaddr = va;
	}
	if (d->logging && region_logs(&nr)) {
		nr.dirty = bitmap_alloc(nr.size);
		if (nr.dirty == NULL) {
			ret = -ENOMEM;
			goto out_unmap;
		}
	}
	t = table_alloc(old->nregions + 1);
	if (t == NULL) {
		ret = -ENOMEM;
		goto out_unmap;
	}
	memcpy(t->regions, old->regions, pos * sizeof(nr));
	t->regions[pos] = nr;
	for (i = pos; i < old->nregions; i++)
		t->regions[i + 1] = old->regions[i];
	table_publish(dev, t);
	pthread_mutex_unlock(&d->lock);
	table_sync(dev);
	free(old);
	VU_LOG(DEBUG, "%s: DMA_MAP [0x%" PRIx64 ", +0x%" PRIx64 ") %s",
	       dev->path, req->addr, req->size,
	       nr.vaddr ? "mapped" : "message-only");
	notify(dev, RTE_VFIO_USER_DMA_CHANGED);
	return 0;

out_unmap:
	bitmap_free(nr.dirty, nr.size);
	if (nr.vaddr != NULL)
		munmap(nr.vaddr, nr.size);
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/*
 * Copy the dirty bits of [iova, iova+size) in r (PAGE-aligned, inside r)
 * into out at pgsize granularity, clearing them. The work is one plain
 * load per 64 pages, and an atomic clear only where a word has bits set:
 * a large, mostly clean range costs a scan, whatever pgsize is.
 */
static void
dirty_collect(const struct rte_vfio_user_mem_region *r, uint64_t iova,
	      uint64_t size, uint64_t pgsize, uint64_t *out)
{
	uint64_t per = pgsize / PAGE, first = (iova - r->iova) / PAGE;
	uint64_t end = first + size / PAGE, w;

	memset(out, 0, bitmap_bytes(size, pgsize));
	if (r->dirty == NULL || size == 0)
		return;
	for (w = first / 64; w <= (end - 1) / 64; w++) {
		uint64_t mask = ~0ULL, bits;

		if (__atomic_load_n(&r->dirty[w], __ATOMIC_RELAXED) == 0)
			continue;
		if (w == first / 64)
			mask &= ~0ULL << (first % 64);
		if (w == (end - 1) / 64 && end % 64 != 0)
			mask &= ~0ULL >> (64 - end % 64);
		bits = __atomic_fetch_and(&r->dirty[w], ~mask,
					  __ATOMIC_RELAXED) & mask;
		while (bits != 0) {
			uint64_t q = w * 64 + (uint64_t)__builtin_ctzll(bits);
			uint64_t p = (q - first) / per;

			out[p / 64] |= 1ULL << (p % 64);
			bits &= bits - 1;
		}
	}
}

static int
pgsize_ok(uint64_t pgsize)
{
	return pgsize >= PAGE && (pgsize & (pgsize - 1)) == 0;
}

/* Index of the region [addr, addr + size) exactly, or UINT32_MAX. */
static uint32_t
region_match(const struct rte_vfio_user_mem_table *t, uint64_t addr,
	     uint64_t size)
{
	for (uint32_t i = 0; i < t->nregions; i++)
		if (t->regions[i].iova == addr && t->regions[i].size == size)
			return i;
	return UINT32_MAX;
}

int
vu_handle_dma_unmap(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_dma_unmap *req = (const void *)m->payload;
	struct vu_dev *dev = c->dev;
	struct vu_dma *d = &dev->dma;
	struct rte_vfio_user_mem_table *old, *t;
	const struct vfio_user_bitmap *bm = NULL;
	bool all = req->flags & VFIO_USER_DMA_UNMAP_F_ALL;
	uint32_t i, j, hit = UINT32_MAX;
	uint64_t need = sizeof(*req);

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
		    bm->size < bitmap_bytes(req->size, bm->pgsize) ||
		    bm->size > VU_MAX_MSG_SIZE - sizeof(*req) - sizeof(*bm)) {
			VU_LOG(ERR, "%s: DMA_UNMAP bitmap of %" PRIu64 " bytes at "
			       "page size %" PRIu64 " for 0x%" PRIx64 " bytes",
			       dev->path, bm->size, bm->pgsize, req->size);
			return -EINVAL;
		}
		need += sizeof(*bm) + bm->size;
	} else if (m->size != sizeof(*req)) {
		return -EINVAL;
	}
	if (req->argsz < need)
		return -EINVAL;
	if (all && (req->addr != 0 || req->size != 0))
		return -EINVAL;

	/* tell the device model first, without dma.lock: it may wait for its
	 * data path, which may take dma.lock meanwhile */
	pthread_mutex_lock(&d->lock);
	if (!all)
		hit = region_match(d->table, req->addr, req->size);
	if (!all && hit == UINT32_MAX) {
		pthread_mutex_unlock(&d->lock);
		VU_LOG(ERR, "%s: DMA_UNMAP [0x%" PRIx64 ", +0x%" PRIx64
		       ") matches no mapping", dev->path, req->addr, req->size);
		return -ENOENT;
	}
	if (bm != NULL && !d->logging) {
		pthread_mutex_unlock(&d->lock);
		VU_LOG(ERR, "%s: DMA_UNMAP dirty bitmap while not logging",
		       dev->path);
		return -EINVAL;
	}
	pthread_mutex_unlock(&d->lock);
	notify(dev, RTE_VFIO_USER_DMA_UNMAP_PRE);

	pthread_mutex_lock(&d->lock);
	old = d->table;
	if (!all) {	/* the event thread is the only writer: still there */
		hit = region_match(old, req->addr, req->size);
		if (hit == UINT32_MAX) {
			pthread_mutex_unlock(&d->lock);
			return -ENOENT;
		}
	}
	t = table_alloc(all ? 0 : old->nregions - 1);
	if (t == NULL) {
		pthread_mutex_unlock(&d->lock);
		return -ENOMEM;
	}
	for (i = 0, j = 0; !all && i < old->nregions; i++)
		if (i != hit)
			t->regions[j++] = old->regions[i];
	table_publish(dev, t);
	pthread_mutex_unlock(&d->lock);
	table_sync(dev);
	/* no data-path thread uses old's regions any more */
	memcpy(c->reply, req, sizeof(*req));
	r->size = sizeof(*req);
	if (bm != NULL) {
		uint8_t *p = c->reply + sizeof(*req);

		memcpy(p, bm, sizeof(*bm));
		memset(p + sizeof(*bm), 0, bm->size);
		dirty_collect(&old->regions[hit], req->addr, req->size,
			      bm->pgsize, (uint64_t *)(p + sizeof(*bm)));
		r->size = (uint32_t)need;
	}
	for (i = 0; i < old->nregions; i++)
		if (all || i == hit)
			region_release(&old->regions[i]);
	free(old);
	notify(dev, RTE_VFIO_USER_DMA_CHANGED);
	return 0;
}

/* ---- dirty page logging ---- */

/* Start or stop logging: publish a table whose regions carry bitmaps. */
static int
logging_set(struct vu_dev *dev, bool on)
{
	struct vu_dma *d = &dev->dma;
	struct rte_vfio_user_mem_table *old, *t;
	uint32_t i;

	pthread_mutex_lock(&d->lock);
	if (d->logging == on) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	old = d->table;
	t = table_alloc(old->nregions);
	if (t == NULL)
		goto nomem;
	memcpy(t->regions, old->regions, old->nregions * sizeof(t->regions[0]));
	for (i = 0; i < t->nregions; i++) {
		struct rte_vfio_user_mem_region *nr = &t->regions[i];

		nr->dirty = NULL;
		if (!on || !region_logs(nr))
			continue;
		nr->dirty = bitmap_alloc(nr->size);
		if (nr->dirty == NULL) {
			while (i-- > 0)
				bitmap_free(t->regions[i].dirty,
					    t->regions[i].size);
			free(t);
			goto nomem;
		}
	}
	table_publish(dev, t);
	d->logging = on;
	pthread_mutex_unlock(&d->lock);
	table_sync(dev);
	if (!on)
		for (i = 0; i < old->nregions; i++)
			bitmap_free(old->regions[i].dirty, old->regions[i].size);
	free(old);
	VU_LOG(INFO, "%s: dirty page logging %s", dev->path, on ? "on" : "off");
	return 0;
nomem:
	pthread_mutex_unlock(&d->lock);
	return -ENOMEM;
}

/* Bitmap of [iova, iova+len) at pgsize into out; -EINVAL if not inside
 * one region. With d->lock held. */
static int
dirty_report(struct vu_dev *dev, uint64_t iova, uint64_t len, uint64_t pgsize,
	     uint64_t *out)
{
	const struct rte_vfio_user_mem_region *r;

	if (!dev->dma.logging || !pgsize_ok(pgsize) || len == 0 ||
	    (iova | len) & (pgsize - 1))
		return -EINVAL;
	r = rte_vfio_user_mem_find(dev->dma.table, iova, len);
	if (r == NULL)
		return -EINVAL;
	dirty_collect(r, iova, len, pgsize, out);
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
	if (rg->bitmap.size < bitmap_bytes(rg->size, rg->bitmap.pgsize) ||
	    rg->bitmap.size > VU_MAX_MSG_SIZE - sizeof(*req) - sizeof(*rg))
		return -EINVAL;
	need = sizeof(*req) + sizeof(*rg) + rg->bitmap.size;
	rep->flags = VFIO_USER_DIRTY_PAGES_F_GET_BITMAP;
	rep->argsz = (uint32_t)need;
	if (req->argsz < need) {	/* the size needed, no bitmap */
		r->size = sizeof(*rep);
		return 0;
	}
	memcpy(rep + 1, rg, sizeof(*rg));
	memset(c->reply + sizeof(*rep) + sizeof(*rg), 0, rg->bitmap.size);
	pthread_mutex_lock(&c->dev->dma.lock);
	ret = dirty_report(c->dev, rg->iova, rg->size, rg->bitmap.pgsize,
			   (uint64_t *)(c->reply + sizeof(*rep) + sizeof(*rg)));
	pthread_mutex_unlock(&c->dev->dma.lock);
	if (ret < 0)
		return ret;
	r->size = (uint32_t)need;
	return 0;
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
		return -ENOTSUP;
	}
	if ((op & ~want) != 0)
		return -ENOTSUP;
	if (probe) {
		memcpy(rep, req, m->size);
		r->size = m->size;
		return 0;
	}
	if (feat == VFIO_USER_FEATURE_DMA_LOGGING_START) {
		struct vfio_user_dma_logging_control *ctl = (void *)rep->data;
		const struct vfio_user_dma_logging_range *rg;

		if (data < sizeof(*ctl))
			return -EINVAL;
		memcpy(rep, req, m->size);
		if (data != sizeof(*ctl) + (uint64_t)ctl->num_ranges * sizeof(*rg))
			return -EINVAL;
		rg = (const void *)(ctl + 1);
		for (uint32_t i = 0; i < ctl->num_ranges; i++)
			if (rg[i].length == 0 ||
			    rg[i].iova + rg[i].length < rg[i].iova)
				return -EINVAL;
		if (c->dev->dma.logging)
			return -EBUSY;
		if (ctl->page_size < PAGE || (ctl->page_size & (ctl->page_size - 1)))
			ctl->page_size = PAGE;
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

		if (data != sizeof(*rq) || !pgsize_ok(rq->page_size) ||
		    rq->length == 0)
			return -EINVAL;
		need = sizeof(*req) + sizeof(*rq) +
			bitmap_bytes(rq->length, rq->page_size);
		if (need > VU_MAX_MSG_SIZE)
			return -EINVAL;
		rep->flags = req->flags;
		rep->argsz = (uint32_t)need;
		if (req->argsz < need) {
			r->size = sizeof(*rep);
			return 0;
		}
		memcpy(rep->data, rq, sizeof(*rq));
		pthread_mutex_lock(&c->dev->dma.lock);
		ret = dirty_report(c->dev, rq->iova, rq->length, rq->page_size,
				   (uint64_t *)(rep->data + sizeof(*rq)));
		pthread_mutex_unlock(&c->dev->dma.lock);
		if (ret < 0)
			return ret;
		r->size = (uint32_t)need;
		return 0;
	}
}

int
rte_vfio_user_mark_dirty(int dev_id, uint64_t iova, uint64_t len)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	const struct rte_vfio_user_mem_region *r;
	int ret = 0;

	if (dev == NULL)
		return -ENODEV;
	pthread_mutex_lock(&dev->dma.lock);
	r = rte_vfio_user_mem_find(dev->dma.table, iova, len);
	if (r == NULL)
		ret = -EFAULT;
	else
		rte_vfio_user_mem_mark_dirty(r, iova, len);
	pthread_mutex_unlock(&dev->dma.lock);
	return ret;
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

/* Check a reply to req and take its data; 0 or -errno. */
static int
dma_reply_take(struct vu_dma_req *req, const struct vfio_user_header *h,
	       const uint8_t *payload, uint32_t size)
{
	const struct vfio_user_dma_access *a = (const void *)payload;

	if (h->flags & VFIO_USER_F_ERROR)
		return vu_reply_errno(h->error_no);
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
	uint64_t deadline = vu_now_ms() + DMA_RW_TIMEOUT_MS;

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
static bool
caller_online(const struct vu_dev *dev)
{
	unsigned int lcore = rte_lcore_id();

	return lcore < RTE_MAX_LCORE && lcore < dev->dma.qsbr->max_threads &&
		__atomic_load_n(&dev->dma.qsbr->qsbr_cnt[lcore].cnt,
				__ATOMIC_RELAXED) != __RTE_QSBR_CNT_THR_OFFLINE;
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
		return ret;
	}
	while (d->req != NULL)	/* one outstanding request at a time */
		pthread_cond_wait(&d->req_cond, &d->req_lock);
	d->req = &req;
	pthread_mutex_unlock(&d->req_lock);

	ret = vu_conn_send(c, &h, iov, cmd == VFIO_USER_DMA_WRITE ? 2 : 1,
			   NULL, 0);
	pthread_mutex_unlock(&dev->lock);

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += DMA_RW_TIMEOUT_MS / 1000;
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
	return ret;
}

static int
dma_rw(int dev_id, uint64_t iova, uint8_t *buf, size_t len, bool write)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	const struct rte_vfio_user_mem_region *r;
	uint32_t need = write ? RTE_VFIO_USER_MEM_F_WRITE : RTE_VFIO_USER_MEM_F_READ;
	uint64_t chunk;
	int ret = 0;

	if (dev == NULL)
		return -ENODEV;
	if (len == 0)
		return 0;
	pthread_mutex_lock(&dev->dma.lock);
	r = rte_vfio_user_mem_find(dev->dma.table, iova, len);
	if (r == NULL || (r->prot & need) != need) {
		pthread_mutex_unlock(&dev->dma.lock);
		return -EFAULT;
	}
	if (r->vaddr != NULL) {
		uint8_t *va = r->vaddr + (iova - r->iova);

		if (r->prot & RTE_VFIO_USER_MEM_F_NO_SHRINK) {
			if (write)
				memcpy(va, buf, len);
			else
				memcpy(buf, va, len);
		} else {
			ret = copy_guarded(va, buf, len, write);
		}
		if (ret == 0 && write)
			rte_vfio_user_mem_mark_dirty(r, iova, len);
		pthread_mutex_unlock(&dev->dma.lock);
		if (ret < 0)
			VU_LOG(ERR, "%s: client memory [0x%" PRIx64 ", +0x%zx) "
			       "faults: its file shrank under the mapping?",
			       dev->path, iova, len);
		return ret;
	}
	pthread_mutex_unlock(&dev->dma.lock);

	if (caller_online(dev)) {
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
	struct rte_vfio_user_mem_table *old, *t = table_alloc(0);

	pthread_mutex_lock(&d->req_lock);
	if (d->req != NULL && !d->req->done) {
		d->req->err = -ENOTCONN;
		d->req->done = true;
		pthread_cond_broadcast(&d->req_cond);
	}
	pthread_mutex_unlock(&d->req_lock);

	pthread_mutex_lock(&d->lock);
	old = d->table->nregions > 0 ? d->table : NULL;
	pthread_mutex_unlock(&d->lock);
	if (old != NULL)	/* without dma.lock, as in DMA_UNMAP */
		notify(dev, RTE_VFIO_USER_DMA_UNMAP_PRE);

	pthread_mutex_lock(&d->lock);
	old = NULL;
	if (d->table->nregions > 0 && t != NULL) {
		old = table_publish(dev, t);
		t = NULL;
	}
	d->logging = false;
	pthread_mutex_unlock(&d->lock);
	if (old != NULL) {
		table_sync(dev);
		for (uint32_t i = 0; i < old->nregions; i++)
			region_release(&old->regions[i]);
		free(old);
	}
	free(t);
}
