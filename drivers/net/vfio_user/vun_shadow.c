/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Shadow rings: see vun_shadow.h.
 *
 * Why a page list and not a translation per burst: the pieces of a ring
 * stay where they are for as long as the queue is ready (an unmap that
 * takes one withdraws the queue before its grace period, on_update_status()
 * in vun_virtio.c), exactly what a view relies on; so their addresses are
 * looked up once, at queue start, and a burst reaches any ring byte with
 * one index and an add. The granule is the largest power of two (at most
 * 4 KiB, at least 16 bytes) that divides every boundary between the
 * ring's pieces: descriptors (16 bytes, 16-aligned), avail entries and
 * indices (2 bytes), event areas (4 bytes) then never straddle one, and
 * are accessed in place (atomically where the protocol needs it); a split
 * used element (8 bytes at 4 + 8i) may straddle one and is copied in two
 * parts.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_malloc.h>

#include <linux/virtio_ring.h>

#include "vun.h"
#include "vun_ring.h"
#include "vun_shadow.h"

#define GRAN_MAX_SHIFT	12
#define GRAN_MIN_SHIFT	4

#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)

/* One ring area of client memory [iova, iova + len), by granule. */
struct pages {
	uint64_t iova;
	uint32_t len;
	uint32_t skew;		/* iova's offset in its granule */
	uint32_t mask;		/* granule - 1 */
	uint8_t shift;		/* log2 of the granule */
	uint8_t **va;		/* our address of each granule's start */
};

struct vun_shadow {
	struct pages area[3];	/* split: desc, avail, used; packed: desc
				 * ring, driver event, device event */
	uint16_t in_idx;	/* split: avail index copied up to;
				 * packed: next position to copy */
	bool in_wrap;		/* packed: its wrap counter */
	struct vring_packed_desc_event drv_event; /* packed: DISABLE */
	/* then the granule pointers and the copies of the rings */
};

enum {
	DESC,
	AVAIL,
	USED
};

/* ---- page lists ---- */

static __rte_always_inline void *
pg_ptr(const struct pages *p, uint64_t off)
{
	uint64_t a = p->skew + off;

	return p->va[a >> p->shift] + (a & p->mask);
}

/* Copy src to [off, off + len) of the area across granules (the slow
 * part of pg_write()). */
static __rte_noinline void
pg_write_split(const struct pages *p, uint64_t off, const uint8_t *src,
	       uint32_t len)
{
	while (len > 0) {
		uint32_t in = (uint32_t)((p->skew + off) & p->mask),
			 k = RTE_MIN(len, p->mask + 1 - in);

		memcpy(pg_ptr(p, off), src, k);
		src += k;
		off += k;
		len -= k;
	}
}

/* Copy src to [off, off + len) of the area: one copy of a constant size
 * unless it straddles a granule (a split used element may). */
static __rte_always_inline void
pg_write(const struct pages *p, uint64_t off, const void *src, uint32_t len)
{
	if (likely(((p->skew + off) & p->mask) + len <= p->mask + 1))
		memcpy(pg_ptr(p, off), src, len);
	else
		pg_write_split(p, off, src, len);
}

/*
 * The granule of [iova, iova + len) (its pieces as t maps them): the
 * shift, or -EFAULT (not all mapped with access, message-only memory, or
 * pieces on boundaries finer than GRAN_MIN_SHIFT).
 */
static int
pages_shift(const struct rte_vfio_user_mem_table *t, uint64_t iova,
	    uint64_t len, uint32_t access)
{
	struct rte_vfio_user_mem_cache c = { 0, NULL };
	uint64_t a = iova, end = iova + len;
	int shift = GRAN_MAX_SHIFT;

	if (end < iova)
		return -EFAULT;	/* wraps around */
	while (a < end) {
		uint64_t n = end - a;

		if (a != iova)	/* a boundary between pieces */
			shift = RTE_MIN(shift, __builtin_ctzll(a));
		if (rte_vfio_user_iova_to_va_partial(t, &c, a, &n, access) ==
		    NULL)
			return -EFAULT;
		a += n;
	}
	return shift >= GRAN_MIN_SHIFT ? shift : -EFAULT;
}

static uint32_t
pages_count(uint64_t iova, uint64_t len, int shift)
{
	uint64_t g = 1ULL << shift, skew = iova & (g - 1);

	return (uint32_t)((skew + len + g - 1) >> shift);
}

/* Fill p (its va array in place) for [iova, iova + len). False if a
 * granule is not 16-byte aligned in our address space (a client mapping
 * an IOVA page at another offset of its page in the file): the ring's
 * structures would be misaligned. */
static bool
pages_fill(const struct rte_vfio_user_mem_table *t, struct pages *p,
	   uint64_t iova, uint64_t len, int shift, uint32_t access)
{
	struct rte_vfio_user_mem_cache c = { 0, NULL };
	uint64_t g = 1ULL << shift, base = iova & ~(g - 1);
	uint32_t n = pages_count(iova, len, shift);

	p->iova = iova;
	p->len = (uint32_t)len;
	p->shift = (uint8_t)shift;
	p->mask = (uint32_t)(g - 1);
	p->skew = (uint32_t)(iova - base);
	for (uint32_t k = 0; k < n; k++) {
		/* the granule's first byte we use, and its start */
		uint64_t at = RTE_MAX(base + (uint64_t)k * g, iova), one = 1;
		uint8_t *va = rte_vfio_user_iova_to_va_partial(t, &c, at, &one,
							       access);

		/* checked by pages_shift(): whole granules, all mapped */
		p->va[k] = (uint8_t *)((uintptr_t)va -
				       (uintptr_t)(at -
						   (base + (uint64_t)k * g)));
		if ((uintptr_t)p->va[k] & 15)
			return false;
	}
	return true;
}

/* ---- setup ---- */

/* A reason to log when a ring cannot be reached at all; *unmapped when
 * it is just not mapped (yet: the caller's warning says enough). */
static const char *
why_not(const struct rte_vfio_user_mem_table *t, uint64_t iova, uint64_t len,
	bool *unmapped)
{
	*unmapped = false;
	if (iova + len < iova)
		return "wraps around";
	for (uint64_t a = iova; a < iova + len;) {
		const struct rte_vfio_user_mem_segment *s =
			rte_vfio_user_mem_find(t, a, 1);

		if (s == NULL) {
			*unmapped = true;
			return "not mapped";
		}
		if (s->vaddr == NULL)
			return "in message-only memory (no fd), which the data "
			       "path cannot reach";
		a = s->iova + s->size;
	}
	return "mapped without the access it needs, or in pieces finer than "
	       "16 bytes";
}

int
vun_shadow_make(struct vun_dev *d, struct vun_vq *vq)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		d->dev_id);
	uint32_t rw = RTE_VFIO_USER_MEM_F_READ | RTE_VFIO_USER_MEM_F_WRITE;
	const uint64_t n = vq->size;
	const uint64_t iova[3] = { vq->desc_iova, vq->avail_iova,
				   vq->used_iova };
	uint64_t len[3];
	uint32_t access[3], align[3], count[3], total;
	size_t ptrs, rings, off;
	struct vun_shadow *s;
	int shift[3];
	uint8_t *p;

	vun_shadow_free(vq);
	if (vq->packed) {
		len[DESC] = n * sizeof(struct vring_packed_desc);
		len[AVAIL] = len[USED] = sizeof(struct vring_packed_desc_event);
		access[DESC] = rw;
		access[AVAIL] = RTE_VFIO_USER_MEM_F_READ;
		access[USED] = rw;
		align[DESC] = 16;
		align[AVAIL] = align[USED] = 4;
		rings = RTE_ALIGN_CEIL(len[DESC], RTE_CACHE_LINE_SIZE);
	} else {
		len[DESC] = n * sizeof(struct vring_desc);
		len[AVAIL] = sizeof(struct vring_avail) + (n + 1) * 2;
		len[USED] = sizeof(struct vring_used) +
			    n * sizeof(struct vring_used_elem) + 2;
		access[DESC] = access[AVAIL] = RTE_VFIO_USER_MEM_F_READ;
		access[USED] = rw;
		align[DESC] = 16;
		align[AVAIL] = 2;
		align[USED] = 4;
		rings = RTE_ALIGN_CEIL(len[DESC], RTE_CACHE_LINE_SIZE) +
			RTE_ALIGN_CEIL(len[AVAIL], RTE_CACHE_LINE_SIZE) +
			RTE_ALIGN_CEIL(len[USED], RTE_CACHE_LINE_SIZE);
	}
	total = 0;
	for (int i = 0; i < 3; i++) {
		if (iova[i] & (align[i] - 1)) {
			VUN_LOG(ERR,
				"%s: virtqueue %u: ring at 0x%" PRIx64
				" misaligned",
				d->path, vq->index, iova[i]);
			return -EFAULT;
		}
		shift[i] = pages_shift(t, iova[i], len[i], access[i]);
		if (shift[i] < 0) {
			bool unmapped;
			const char *why = why_not(t, iova[i], len[i],
						  &unmapped);

			rte_log(unmapped ? RTE_LOG_DEBUG : RTE_LOG_ERR,
				vun_logtype,
				"net_vfio_user: %s: virtqueue %u: ring [0x%" PRIx64
				", +0x%" PRIx64 ") %s\n",
				d->path, vq->index, iova[i], len[i], why);
			return -EFAULT;
		}
		count[i] = pages_count(iova[i], len[i], shift[i]);
		total += count[i];
	}
	off = RTE_ALIGN_CEIL(sizeof(*s), RTE_CACHE_LINE_SIZE);
	ptrs = RTE_ALIGN_CEIL(total * sizeof(uint8_t *), RTE_CACHE_LINE_SIZE);
	p = rte_zmalloc("vun_shadow", off + ptrs + rings, RTE_CACHE_LINE_SIZE);
	if (p == NULL)
		return -ENOMEM;
	s = (struct vun_shadow *)p;
	p += off;
	for (int i = 0; i < 3; i++) {
		s->area[i].va = (uint8_t **)p;
		p += count[i] * sizeof(uint8_t *);
		if (!pages_fill(t, &s->area[i], iova[i], len[i], shift[i],
				access[i])) {
			VUN_LOG(ERR,
				"%s: virtqueue %u: ring at 0x%" PRIx64
				" misaligned in our mapping of it",
				d->path, vq->index, iova[i]);
			rte_free(s);
			return -EFAULT;
		}
	}
	p = (uint8_t *)s + off + ptrs;
	if (vq->packed) {
		vq->pdesc = (struct vring_packed_desc *)p;
		/* the driver's events: ours, DISABLE, so that the fast path
		 * never interrupts (vun_shadow_out() decides) */
		s->drv_event.flags = VRING_PACKED_EVENT_FLAG_DISABLE;
		vq->drv_event = &s->drv_event;
		/* the device's: in place (4 bytes, 4-aligned: one granule) */
		vq->dev_event = pg_ptr(&s->area[USED], 0);
		s->in_idx = vq->last_avail;
		s->in_wrap = vq->avail_wrap;
	} else {
		vq->desc = (struct vring_desc *)p;
		p += RTE_ALIGN_CEIL(len[DESC], RTE_CACHE_LINE_SIZE);
		vq->avail = (struct vring_avail *)p;
		p += RTE_ALIGN_CEIL(len[AVAIL], RTE_CACHE_LINE_SIZE);
		vq->used = (struct vring_used *)p;
		vq->avail->idx = vq->last_avail;
		vq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
		vq->used->idx = vq->last_used;
		s->in_idx = vq->last_avail;
	}
	vq->shadow = s;
	VUN_LOG(INFO,
		"%s: virtqueue %u: rings through a shadow copy (granules of "
		"%u, %u, %u bytes)",
		d->path, vq->index, 1u << shift[0], 1u << shift[1],
		1u << shift[2]);
	return 0;
}

void
vun_shadow_free(struct vun_vq *vq)
{
	if (vq->shadow == NULL)
		return;
	rte_free(vq->shadow);
	vq->shadow = NULL;
}

/* ---- split ---- */

#define AVAIL_RING(i) (offsetof(struct vring_avail, ring) + 2 * (uint64_t)(i))
#define USED_RING(i)                         \
	(offsetof(struct vring_used, ring) + \
	 sizeof(struct vring_used_elem) * (uint64_t)(i))

static __rte_always_inline uint16_t *
guest_avail_idx(const struct vun_shadow *s)
{
	return pg_ptr(&s->area[AVAIL], offsetof(struct vring_avail, idx));
}

uint16_t
vun_shadow_avail_idx(struct vun_vq *vq)
{
	return __atomic_load_n(guest_avail_idx(vq->shadow), __ATOMIC_ACQUIRE);
}

const struct vring_packed_desc *
vun_shadow_driver_pdesc(const struct vun_vq *vq, uint16_t pos)
{
	return pg_ptr(&vq->shadow->area[DESC],
		      (uint64_t)pos * sizeof(struct vring_packed_desc));
}

/* Copy the chain from head into the copy of the table (at most a ring's
 * worth: a loop ends there; the fast path checks the rest). */
static __rte_always_inline void
split_chain_in(struct vun_vq *vq, const struct vun_shadow *s, uint16_t head)
{
	for (uint16_t k = 0; k < vq->size && head < vq->size; k++) {
		struct vring_desc *d = &vq->desc[head];

		memcpy(d, pg_ptr(&s->area[DESC], (uint64_t)head * sizeof(*d)),
		       sizeof(*d));
		if (!(d->flags & VRING_DESC_F_NEXT))
			break;
		head = d->next;
	}
}

static void
split_in(struct vun_vq *vq)
{
	struct vun_shadow *s = vq->shadow;
	uint16_t mask = vq->size - 1, avail, from = s->in_idx;

	avail = __atomic_load_n(guest_avail_idx(s), __ATOMIC_ACQUIRE);
	/* the fast path never raises from the copy (vun_shadow_out()) */
	vq->avail->ring[vq->size] = (uint16_t)(vq->last_used - 1);
	if ((uint16_t)(avail - vq->last_avail) > vq->size) {
		/* a bad index: the fast path counts it */
		vq->avail->idx = avail;
		return;
	}
	if ((uint16_t)(from - vq->last_avail) >
	    (uint16_t)(avail - vq->last_avail))
		from = vq->last_avail;
	while (from != avail) {
		/* a run of entries in one granule (and one lap), copied at
		 * once; then the chains they name */
		const struct pages *a = &s->area[AVAIL];
		uint16_t i = from & mask;
		uint32_t in = (uint32_t)((a->skew + AVAIL_RING(i)) & a->mask),
			 n = RTE_MIN((uint32_t)(uint16_t)(avail - from),
				     (uint32_t)(vq->size - i));

		n = RTE_MIN(n, (a->mask + 1 - in) / 2);
		memcpy(&vq->avail->ring[i], pg_ptr(a, AVAIL_RING(i)), n * 2);
		for (uint32_t k = 0; k < n; k++)
			split_chain_in(vq, s, vq->avail->ring[i + k]);
		from = (uint16_t)(from + n);
	}
	s->in_idx = avail;
	vq->avail->idx = avail;
}

/* Publish the device area fields the device keeps in the copy (when
 * they changed: a store per burst would dirty the driver's line). */
void
vun_shadow_split_event(struct vun_vq *vq)
{
	struct vun_shadow *s = vq->shadow;
	uint16_t *gf = pg_ptr(&s->area[USED],
			      offsetof(struct vring_used, flags));
	uint16_t f = vq->used->flags;
	bool wrote = false;

	if (__atomic_load_n(gf, __ATOMIC_RELAXED) != f) {
		__atomic_store_n(gf, f, __ATOMIC_RELAXED);
		wrote = true;
	}
	if (vq->event_idx) {
		uint16_t *ge = pg_ptr(&s->area[USED], USED_RING(vq->size));
		uint16_t e =
			__atomic_load_n((uint16_t *)&vq->used->ring[vq->size],
					__ATOMIC_RELAXED);

		if (__atomic_load_n(ge, __ATOMIC_RELAXED) != e) {
			__atomic_store_n(ge, e, __ATOMIC_RELAXED);
			wrote = true;
		}
	}
	if (unlikely(wrote))	/* the header and avail_event */
		vun_log_used(vq, vq->last_used);
}

static bool
split_out(struct vun_vq *vq, uint16_t old)
{
	struct vun_shadow *s = vq->shadow;
	uint16_t mask = vq->size - 1, n = vq->last_used, ev;

	vun_shadow_split_event(vq);
	if (n == old)
		return false;
	for (uint16_t u = old; u != n; u++)
		pg_write(&s->area[USED], USED_RING(u & mask),
			 &vq->used->ring[u & mask],
			 sizeof(struct vring_used_elem));
	__atomic_store_n((uint16_t *)pg_ptr(&s->area[USED],
					    offsetof(struct vring_used, idx)),
			 n, __ATOMIC_RELEASE);
	vun_log_used(vq, old);
	/* the used index visible before we read the driver's interrupt
	 * suppression (as vq_need_interrupt()'s callers do) */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		ev = __atomic_load_n((uint16_t *)pg_ptr(&s->area[AVAIL],
							AVAIL_RING(vq->size)),
				     __ATOMIC_ACQUIRE);
		return (uint16_t)(n - ev - 1) < (uint16_t)(n - old);
	}
	return !(__atomic_load_n((uint16_t *)pg_ptr(&s->area[AVAIL],
						    offsetof(struct vring_avail,
							     flags)),
				 __ATOMIC_ACQUIRE) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

/* ---- packed ---- */

static __rte_always_inline void
ppos_add(uint16_t *pos, bool *wrap, uint16_t size)
{
	if (++*pos == size) {
		*pos = 0;
		*wrap = !*wrap;
	}
}

/* Position p (wrap w) on a line of 2 * size positions. */
static __rte_always_inline uint32_t
plin(uint16_t p, bool w, uint16_t size)
{
	return w ? p : (uint32_t)p + size;
}

static __rte_always_inline uint32_t
pdist(uint16_t from, bool fw, uint16_t to, bool tw, uint16_t size)
{
	uint32_t two = 2u * size;

	return (plin(to, tw, size) + two - plin(from, fw, size)) % two;
}

static void
packed_in(struct vun_vq *vq)
{
	struct vun_shadow *s = vq->shadow;
	uint16_t size = vq->size, pos = s->in_idx;
	bool wrap = s->in_wrap;
	uint32_t ahead;

	/* copied so far: from last_avail on (else start there again) */
	if (pdist(vq->last_avail, vq->avail_wrap, pos, wrap, size) > size) {
		pos = vq->last_avail;
		wrap = vq->avail_wrap;
	}
	/* at most a ring ahead of what the device has yet to write */
	ahead = pdist(vq->last_used, vq->used_wrap, pos, wrap, size);
	for (; ahead < size; ahead++) {
		const struct vring_packed_desc *g = pg_ptr(&s->area[DESC],
							   (uint64_t)pos *
								   sizeof(*g));
		struct vring_packed_desc *d = &vq->pdesc[pos];
		uint16_t f = __atomic_load_n(&g->flags, __ATOMIC_ACQUIRE);

		/* the flags first: nothing else of one not available */
		if ((f & (F_AVAIL | F_USED)) != (wrap ? F_AVAIL : F_USED))
			break;
		d->addr = g->addr;
		d->len = g->len;
		d->id = g->id;
		d->flags = f;
		ppos_add(&pos, &wrap, size);
	}
	s->in_idx = pos;
	s->in_wrap = wrap;
}

/* Write used descriptor pos of the copy back (flags last, release). */
static __rte_always_inline void
packed_put(struct vun_vq *vq, const struct vun_shadow *s, uint16_t pos)
{
	struct vring_packed_desc *g = pg_ptr(&s->area[DESC],
					     (uint64_t)pos * sizeof(*g));
	const struct vring_packed_desc *d = &vq->pdesc[pos];

	g->len = d->len;
	g->id = d->id;
	__atomic_store_n(&g->flags, d->flags, __ATOMIC_RELEASE);
}

static bool
packed_out(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	   uint16_t old, bool old_wrap)
{
	struct vun_shadow *s = vq->shadow;
	uint16_t pos = old, size = vq->size;
	bool wrap = old_wrap;

	if (old == vq->last_used && old_wrap == vq->used_wrap)
		return false;
	/* those the device wrote (AVAIL == USED; the positions it skipped,
	 * in order, still hold the driver's available ones), the first of
	 * the burst last */
	ppos_add(&pos, &wrap, size);
	while (pos != vq->last_used || wrap != vq->used_wrap) {
		uint16_t f = vq->pdesc[pos].flags;

		if (!(f & F_AVAIL) == !(f & F_USED))
			packed_put(vq, s, pos);
		ppos_add(&pos, &wrap, size);
	}
	packed_put(vq, s, old);
	log_ring(vq, t, vq->desc_iova, (uint64_t)size * sizeof(*vq->pdesc));
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vun_packed_need_interrupt(vq, pg_ptr(&s->area[AVAIL], 0), old,
					 old_wrap);
}

/* ---- the burst's hooks ---- */

void
vun_shadow_started(struct vun_vq *vq)
{
	if (!vq->packed)
		vun_shadow_split_event(vq);
}

void
vun_shadow_in(struct vun_vq *vq)
{
	if (vq->packed)
		packed_in(vq);
	else
		split_in(vq);
}

bool
vun_shadow_out(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	       uint16_t old, bool old_wrap)
{
	if (vq->packed)
		return packed_out(vq, t, old, old_wrap);
	return split_out(vq, old);
}
