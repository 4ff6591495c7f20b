/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The driver side of packed virtqueues (VIRTIO 1.x 2.8,
 * VIRTIO_F_RING_PACKED), behind the same burst functions as split ones.
 *
 * We write descriptors in ring order from avail_idx (AVAIL bit = our wrap
 * counter, USED bit its inverse), a buffer's first descriptor's flags
 * last; a burst's very first descriptor gets its flags after the rest of
 * the burst, so the device finds the whole burst at once. We read used
 * descriptors in ring order from last_used.
 *
 * Buffer ids: with VIRTIO_F_IN_ORDER a buffer's id is the position of its
 * first descriptor, and the device may return a whole transmit batch as
 * one used descriptor carrying the last buffer's id: we free buffers from
 * last_used up to that one. Otherwise buffers can complete in any order,
 * and ids come from a free list (threaded through the cookies).
 *
 * Transmit: the header in the headroom (one descriptor per segment), or in
 * a per-id header slot. Receive: one writable descriptor per mbuf, the
 * header just before the data.
 */

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <linux/virtio_ring.h>

#include "vuc.h"
#include "vuc_ring.h"

/* Flags of an available descriptor for wrap counter w. */
static __rte_always_inline uint16_t
avail_bits(bool w)
{
	return w ? VUC_F_AVAIL : VUC_F_USED;
}

static __rte_always_inline bool
is_used(uint16_t flags, bool w)
{
	return (flags & (VUC_F_AVAIL | VUC_F_USED)) == vuc_used_bits(w);
}

static __rte_always_inline void
pos_add(uint16_t *pos, bool *wrap, uint16_t n, uint16_t size)
{
	*pos = (uint16_t)(*pos + n);
	if (*pos >= size) {
		*pos = (uint16_t)(*pos - size);
		*wrap = !*wrap;
	}
}

/* Per-id transmit headers live at the end of the ring's memzone. */
static inline struct virtio_net_hdr_mrg_rxbuf *
tx_hdr(struct vuc_vq *vq, uint16_t id)
{
	return (struct virtio_net_hdr_mrg_rxbuf
			*)((uint8_t *)vq->mz->addr + vq->mz->len -
			   (size_t)vq->size *
				   sizeof(struct virtio_net_hdr_mrg_rxbuf)) +
	       id;
}

/* A buffer id: the first descriptor's position in order, else a free one
 * (the free list goes through cookie[].last). */
static __rte_always_inline uint16_t
id_get(struct vuc_vq *vq, uint16_t pos)
{
	uint16_t id;

	if (vq->in_order)
		return pos;
	id = vq->free_head;
	vq->free_head = vq->cookie[id].last;
	return id;
}

static __rte_always_inline void
id_put(struct vuc_vq *vq, uint16_t id)
{
	if (vq->in_order)
		return;
	vq->cookie[id].last = vq->free_head;
	vq->free_head = id;
}

void
vuc_vq_init_packed(struct vuc_vq *vq)
{
	/* the ring was zeroed: no descriptor is available */
	vq->avail_wrap = true;
	vq->used_wrap = true;
	for (uint16_t i = 0; i < vq->size; i++)
		vq->cookie[i].last = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->drv_event->flags = vq->intr_on ? VRING_PACKED_EVENT_FLAG_ENABLE :
					     VRING_PACKED_EVENT_FLAG_DISABLE;
}

/* After making descriptors available from (old, old_wrap): kick if the
 * device wants it (its event suppression structure). */
static __rte_always_inline void
kick_if_needed(struct vuc_vq *vq, uint16_t old, bool old_wrap)
{
	uint16_t flags, off_wrap, off;
	uint32_t two = 2u * vq->size, o, n, e;

	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = __atomic_load_n(&vq->dev_event->flags, __ATOMIC_ACQUIRE) & 0x3;
	if (likely(flags == VRING_PACKED_EVENT_FLAG_DISABLE))
		return;
	if (flags == VRING_PACKED_EVENT_FLAG_DESC && vq->event_idx) {
		off_wrap = __atomic_load_n(&vq->dev_event->off_wrap,
					   __ATOMIC_ACQUIRE);
		off = off_wrap & 0x7fff;
		/* positions on a line of two laps: wrap 1 first */
		o = old_wrap ? old : (uint32_t)old + vq->size;
		n = vq->avail_wrap ? vq->avail_idx :
				     (uint32_t)vq->avail_idx + vq->size;
		e = (off_wrap >> 15) ? off : (uint32_t)off + vq->size;
		if (off < vq->size &&
		    (e + two - o) % two >= (n + two - o) % two)
			return;
	}
	vuc_kick(vq);
}

/* The burst's first descriptor, whose flags go last. */
struct avail_head {
	uint16_t pos;
	uint16_t flags;
	bool set;
};

static __rte_always_inline void
put_flags(struct vuc_vq *vq, struct avail_head *h, uint16_t pos, uint16_t flags)
{
	if (!h->set) {
		h->pos = pos;
		h->flags = flags;
		h->set = true;
		return;
	}
	__atomic_store_n(&vq->pdesc[pos].flags, flags, __ATOMIC_RELEASE);
}

/* Make the burst available (its first flags); false if it is empty. */
static __rte_always_inline bool
publish_store(struct vuc_vq *vq, const struct avail_head *h)
{
	if (!h->set)
		return false;
	__atomic_store_n(&vq->pdesc[h->pos].flags, h->flags, __ATOMIC_RELEASE);
	return true;
}

static __rte_always_inline void
publish(struct vuc_vq *vq, struct avail_head *h, uint16_t old, bool old_wrap)
{
	if (publish_store(vq, h))
		kick_if_needed(vq, old, old_wrap);
}

/* ---- receive ---- */

int
vuc_rxq_fill_packed(struct vuc_vq *vq)
{
	struct rte_mbuf *m[VUC_BURST];
	struct vring_packed_desc *ring = vq->pdesc;
	uint16_t old = vq->avail_idx, pos = old, size = vq->size;
	bool old_wrap = vq->avail_wrap, wrap = old_wrap;
	struct avail_head h = { .set = false };
	int total = 0;

	while (vq->num_free > vq->hold) {
		uint16_t n = RTE_MIN((uint16_t)(vq->num_free - vq->hold),
				     (uint16_t)VUC_BURST);
		uint64_t rearm;
		uint32_t off, blen;

		prefetch_w_descs(ring, pos, n, size);
		if (rte_mempool_get_bulk(vq->mp, (void **)m, n) != 0) {
			vq->st.nombuf++;
			break;
		}
		rearm = vu_pmd_mbuf_rearm_word(m[0], vq->port_id);
		off = (uint32_t)(rearm & 0xffff);	/* data_off */
		blen = m[0]->buf_len - off + VUC_HDR_LEN;
		vq->rx_buf_len = blen;
		for (uint16_t i = 0; i < n; i++) {
			uint16_t id = id_get(vq, pos);
			struct vring_packed_desc *d = &ring[pos];

			vu_pmd_mbuf_rx_init(m[i], rearm, 0);
			d->addr = (uint64_t)(uintptr_t)m[i]->buf_addr + off -
				  VUC_HDR_LEN;
			d->len = blen;
			d->id = id;
			vq->cookie[id].m = m[i];
			vq->cookie[id].ndesc = 1;
			put_flags(vq, &h, pos,
				  VRING_DESC_F_WRITE | avail_bits(wrap));
			pos_add(&pos, &wrap, 1, size);
		}
		vq->num_free = (uint16_t)(vq->num_free - n);
		total += n;
	}
	vq->avail_idx = pos;
	vq->avail_wrap = wrap;
	publish(vq, &h, old, old_wrap);
	return total;
}

/* count: as rx_split() (vuc_ring.c) */
static __rte_always_inline uint16_t
rx_packed(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n, bool count)
{
	struct vring_packed_desc *ring = vq->pdesc;
	uint16_t nrx = 0, pos = vq->last_used, size = vq->size;
	uint16_t port = vq->port_id;
	bool wrap = vq->used_wrap, in_order = vq->in_order;
	uint64_t bytes = 0;

	while (nrx < n) {
		uint16_t f = __atomic_load_n(&ring[pos].flags,
					     __ATOMIC_ACQUIRE);
		uint16_t id, nbufs = 1;
		struct rte_mbuf *m, *prev;
		uint32_t len;

		if (!is_used(f, wrap))
			break;
		/* in order, a receive buffer (one descriptor) is used where
		 * it was made available: its position is its id (as
		 * id_get() gave it), whatever the device wrote, so a
		 * confused device cannot make a refill overwrite a buffer
		 * it still holds */
		id = in_order ? pos : ring[pos].id;
		len = ring[pos].len;
		if (unlikely(id >= size || vq->cookie[id].m == NULL)) {
			/* not ours: nothing to free; step over it */
			vq->st.errors++;
			pos_add(&pos, &wrap, 1, size);
			continue;
		}
		m = vq->cookie[id].m;
		/* the first buffer is used after the rest */
		nbufs = rx_nbufs(vq, m, len);
		vq->cookie[id].m = NULL;
		id_put(vq, id);
		vq->num_free++;
		pos_add(&pos, &wrap, 1, size);
		if (unlikely(len < VUC_HDR_LEN ||
			     len - VUC_HDR_LEN > rte_pktmbuf_tailroom(m)))
			goto bad;
		m->data_len = (uint16_t)(len - VUC_HDR_LEN);
		m->pkt_len = m->data_len;
		m->port = port;
		prev = m;
		for (uint16_t k = 1; k < nbufs; k++) {
			struct rte_mbuf *s;

			f = __atomic_load_n(&ring[pos].flags, __ATOMIC_ACQUIRE);
			id = in_order ? pos : ring[pos].id;
			len = ring[pos].len;
			if (unlikely(!is_used(f, wrap) || id >= size ||
				     vq->cookie[id].m == NULL))
				goto bad;
			s = vq->cookie[id].m;
			vq->cookie[id].m = NULL;
			id_put(vq, id);
			vq->num_free++;
			pos_add(&pos, &wrap, 1, size);
			/* continuation buffers have no header: data starts at
			 * the descriptor address, hdr_len before mtod */
			s->data_off = (uint16_t)(s->data_off - VUC_HDR_LEN);
			if (unlikely(len > (uint32_t)rte_pktmbuf_tailroom(s))) {
				rte_pktmbuf_free(s);
				goto bad;
			}
			s->data_len = (uint16_t)len;
			prev->next = s;
			prev = s;
			m->nb_segs++;
			m->pkt_len += len;
		}
		if (count && unlikely(vq->guest_csum) &&
		    unlikely(!rx_csum(vq, m))) {
			rte_pktmbuf_free(m);
			continue;
		}
		bytes += m->pkt_len;
		pkts[nrx++] = m;
		continue;
bad:
		vq->st.errors++;
		rte_pktmbuf_free(m);
	}
	vq->last_used = pos;
	vq->used_wrap = wrap;
	if (rxq_refill_due(vq))
		vuc_rxq_fill_packed(vq);
	if (count) {
		vq->st.packets += nrx;
		vq->st.bytes += bytes;
	}
	return nrx;
}

uint16_t
vuc_rx_packed(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n)
{
	return rx_packed(vq, pkts, n, true);
}

uint16_t
vuc_rx_packed_drop(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n)
{
	return rx_packed(vq, pkts, n, false);
}

/* ---- transmit ---- */

/*
 * Free sent mbufs. simple: every one took one descriptor, so it was
 * direct, not shared and of one segment when it was sent (tx_can_push()
 * or tx_packed_simple() checked), and ours since: only the pool is left
 * to check before one mempool put. warm: see tx_free_warm().
 */
static __rte_always_inline void
tx_free(struct rte_mbuf **done, unsigned int nd, bool simple, bool warm)
{
	struct rte_mempool *mp;
	unsigned int i;

	if (warm)
		tx_free_prefetch(done, nd);
	if (!simple || nd == 0) {
		vu_pmd_free_pkts(done, nd);
		return;
	}
	mp = done[0]->pool;
	for (i = 1; i < nd; i++)
		if (unlikely(done[i]->pool != mp))
			break;
	if (likely(i == nd))
		rte_mempool_put_bulk(mp, (void **)done, nd);
	else
		rte_pktmbuf_free_bulk(done, nd);
}

static __rte_always_inline void
tx_reclaim(struct vuc_vq *vq, uint16_t limit)
{
	struct vring_packed_desc *ring = vq->pdesc;
	struct rte_mbuf *done[VUC_BURST];
	uint16_t pos = vq->last_used, size = vq->size;
	uint16_t left = (uint16_t)(size - vq->num_free);
	bool wrap = vq->used_wrap, simple = true, warm = tx_free_warm(vq);
	unsigned int nd = 0, frames = 0;
	uint16_t part = vq->tx_part;	/* read once: set only below */

	while (left > 0 && frames < limit) {
		uint16_t id, last;

		if (unlikely(part != VUC_NO_PART)) {
			/* the rest of a batch a bounded reclaim left */
			id = part;
			part = VUC_NO_PART;
			vq->tx_part = VUC_NO_PART;
		} else {
			uint16_t f = __atomic_load_n(&ring[pos].flags,
						     __ATOMIC_ACQUIRE);

			if (!is_used(f, wrap))
				break;
			id = ring[pos].id;
		}
		if (vq->in_order) {
			/* buffers from here to the one with this id */
			uint16_t span = (uint16_t)(id - pos + 1 +
						   (id >= pos ? 0 : size));

			if (unlikely(id >= size || vq->cookie[id].m == NULL)) {
				vq->st.errors++;
				break;
			}
			/* the usual: one descriptor each, no wrap on the way */
			if (likely(span <= left && pos + span <= size)) {
				struct vuc_cookie *c = &vq->cookie[pos];
				uint16_t k,
					want = (uint16_t)
						RTE_MIN(span, limit - frames);

				for (k = 0; k < want; k++) {
					if (unlikely(c[k].m == NULL ||
						     c[k].ndesc != 1))
						break;
					done[nd++] = c[k].m;
					c[k].m = NULL;
					if (nd == VUC_BURST) {
						tx_free(done, nd, simple, warm);
						nd = 0;
						simple = true;
					}
				}
				left = (uint16_t)(left - k);
				frames += k;
				vq->num_free = (uint16_t)(vq->num_free + k);
				pos_add(&pos, &wrap, k, size);
				if (likely(k == span))
					continue;
			}
			do {
				struct vuc_cookie *c = &vq->cookie[pos];

				if (unlikely(frames >= limit)) {
					vq->tx_part = id;	/* the rest later */
					goto out;
				}
				if (unlikely(c->m == NULL || c->ndesc > left)) {
					vq->st.errors++;
					goto out;
				}
				simple &= c->ndesc == 1;
				done[nd++] = c->m;
				frames++;
				c->m = NULL;
				left = (uint16_t)(left - c->ndesc);
				vq->num_free = (uint16_t)(vq->num_free +
							  c->ndesc);
				last = pos;
				pos_add(&pos, &wrap, c->ndesc, size);
				if (nd == VUC_BURST) {
					tx_free(done, nd, simple, warm);
					nd = 0;
					simple = true;
				}
			} while (last != id && left > 0);
			continue;
		}
		if (unlikely(id >= size || vq->cookie[id].m == NULL ||
			     vq->cookie[id].ndesc > left)) {
			vq->st.errors++;
			break;
		}
		simple &= vq->cookie[id].ndesc == 1;
		done[nd++] = vq->cookie[id].m;
		frames++;
		vq->cookie[id].m = NULL;
		left = (uint16_t)(left - vq->cookie[id].ndesc);
		vq->num_free = (uint16_t)(vq->num_free + vq->cookie[id].ndesc);
		pos_add(&pos, &wrap, vq->cookie[id].ndesc, size);
		id_put(vq, id);
		if (nd == VUC_BURST) {
			tx_free(done, nd, simple, warm);
			nd = 0;
			simple = true;
		}
	}
out:
	vq->last_used = pos;
	vq->used_wrap = wrap;
	vq->inflight = (uint16_t)(vq->inflight - frames);
	tx_free(done, nd, simple, warm);
}

/* The reclaim before a burst, when the one after the last burst left too
 * little room: not the usual case, kept out of line. */
static __rte_noinline void
tx_reclaim_before(struct vuc_vq *vq)
{
	tx_reclaim(vq, VUC_ALL);
}

/*
 * The usual transmit with IN_ORDER: direct single-segment mbufs whose
 * headroom takes the header, one descriptor each, ids their positions,
 * the checks of tx_can_push() on one word of the mbuf. At most n (no
 * more than are free); stops at the first other mbuf, which the general
 * loop takes.
 *
 * The descriptors are written last to first. A device that keeps up
 * polls the flags of the burst's first descriptor, so it keeps reading
 * that cache line while we fill the burst: written first, the line would
 * go back and forth once per descriptor in it; written last, its stores
 * go out together.
 */
static __rte_always_inline uint16_t
tx_packed_simple(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n,
		 uint16_t *ppos, bool *pwrap, struct avail_head *h,
		 uint64_t *pbytes)
{
	struct vring_packed_desc *ring = vq->pdesc;
	struct vuc_cookie *ck = vq->cookie;
	uint16_t pos = *ppos, size = vq->size, i, k;
	bool wrap = *pwrap;
	uint64_t bytes = 0;

	for (k = 0; k < n; k++) {
		const struct rte_mbuf *m = pkts[k];
		uint64_t w;

		/* data_off, refcnt, nb_segs, port */
		memcpy(&w, &m->rearm_data, sizeof(w));
		/* (segmentation requests: the general loop) */
		if (unlikely(((w >> 16) & 0xffffffffu) != 0x00010001u ||
			     (uint16_t)w < VUC_HDR_LEN ||
			     (m->ol_flags &
			      (RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL |
			       RTE_MBUF_F_TX_TCP_SEG))))
			break;
	}
	for (i = k; i-- > 0;) {
		struct rte_mbuf *m = pkts[i];
		uint16_t at = pos;
		bool w = wrap;
		struct vring_packed_desc *d;
		uint8_t *hd;

		pos_add(&at, &w, i, size);
		d = &ring[at];
		hd = rte_pktmbuf_mtod_offset(m, uint8_t *, -VUC_HDR_LEN);
		tx_hdr_put(vq, m, hd);
		d->addr = (uint64_t)(uintptr_t)hd;
		d->len = (uint32_t)m->data_len + VUC_HDR_LEN;
		d->id = at;
		ck[at].m = m;
		ck[at].ndesc = 1;
		bytes += m->data_len;
		if (i > 0)
			__atomic_store_n(&d->flags, avail_bits(w),
					 __ATOMIC_RELEASE);
		else
			put_flags(vq, h, at, avail_bits(w));
	}
	pos_add(&pos, &wrap, k, size);
	vq->num_free = (uint16_t)(vq->num_free - k);
	vq->inflight = (uint16_t)(vq->inflight + k);
	*ppos = pos;
	*pwrap = wrap;
	*pbytes += bytes;
	return k;
}

uint16_t
vuc_tx_packed(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n)
{
	struct vring_packed_desc *ring = vq->pdesc;
	uint16_t old, i, pos, size = vq->size, dropped = 0;
	bool old_wrap, wrap;
	struct avail_head h = { .set = false };
	uint64_t bytes = 0;

	/* the lines this burst writes: owned before the reclaim is done */
	prefetch_w_descs(ring, vq->avail_idx, n, size);
	if (tx_reclaim_due(vq) || tx_room(vq) < n)
		tx_reclaim_before(vq);
	old = pos = vq->avail_idx;
	old_wrap = wrap = vq->avail_wrap;
	i = !vq->in_order ? 0 :
			    tx_packed_simple(vq, pkts, RTE_MIN(n, tx_room(vq)),
					     &pos, &wrap, &h, &bytes);
	for (; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *s = m;
		bool push = tx_can_push(m);
		/* 32 bits: 65535 segments and a header must not wrap */
		uint32_t need = m->nb_segs + (push ? 0u : 1u);
		uint16_t id, first = pos, ff;
		struct vring_packed_desc *d;

		if (unlikely(tx_cut_next(vq, m)))
			break;	/* cut into segments: vu_pmd_tx_cut() */
		if (unlikely(!tx_fits(vq, need))) {
			if (need <= size) {
				vq->st.full++;
				break;
			}
			vuc_tx_drop_too_big(vq, m);
			dropped++;
			continue;
		}
		id = id_get(vq, pos);
		d = &ring[pos];
		if (likely(push)) {
			uint8_t *hd = rte_pktmbuf_mtod_offset(m, uint8_t *,
							      -VUC_HDR_LEN);

			tx_hdr_put(vq, m, hd);
			d->addr = (uint64_t)(uintptr_t)hd;
			d->len = m->data_len + VUC_HDR_LEN;
			s = m->next;
		} else {
			struct virtio_net_hdr_mrg_rxbuf *hd = tx_hdr(vq, id);

			tx_hdr_put(vq, m, hd);
			d->addr = (uint64_t)(uintptr_t)hd;
			d->len = VUC_HDR_LEN;
		}
		d->id = id;
		ff = avail_bits(wrap) | (s != NULL ? VRING_DESC_F_NEXT : 0);
		pos_add(&pos, &wrap, 1, size);
		for (; s != NULL; s = s->next) {
			d = &ring[pos];
			d->addr = (uint64_t)(uintptr_t)
				rte_pktmbuf_mtod(s, uint8_t *);
			d->len = s->data_len;
			d->id = id;
			__atomic_store_n(&d->flags,
					 avail_bits(wrap) |
						 (s->next != NULL ?
							  VRING_DESC_F_NEXT :
							  0),
					 __ATOMIC_RELEASE);
			pos_add(&pos, &wrap, 1, size);
		}
		/* the buffer's first flags after the rest of it */
		put_flags(vq, &h, first, ff);
		vq->cookie[id].m = m;
		vq->cookie[id].ndesc = (uint16_t)need;
		vq->num_free = (uint16_t)(vq->num_free - need);
		vq->inflight++;
		bytes += m->pkt_len;
	}
	vq->avail_idx = pos;
	vq->avail_wrap = wrap;
	if (likely(publish_store(vq, &h))) {
		/* the kick check's fence waits for that store, whose line
		 * the device polls: reclaim meanwhile, so our read of its
		 * used descriptor crosses while the published line does */
		if (tx_reclaim_due(vq))
			tx_reclaim(vq, VUC_ALL);
		kick_if_needed(vq, old, old_wrap);
	}
	vq->st.packets += (uint16_t)(i - dropped);
	vq->st.bytes += bytes;
	return i;
}

void
vuc_tx_reclaim_packed(struct vuc_vq *vq, uint16_t limit)
{
	tx_reclaim(vq, limit);
}

uint16_t
vuc_rx_used_packed(const struct vuc_vq *vq, uint16_t limit)
{
	const struct vring_packed_desc *ring = vq->pdesc;
	uint16_t pos = vq->last_used, n = 0;
	bool wrap = vq->used_wrap;

	/* a receive buffer is one descriptor (vuc_rxq_fill_packed()) */
	while (n < limit &&
	       is_used(__atomic_load_n(&ring[pos].flags, __ATOMIC_ACQUIRE),
		       wrap)) {
		n++;
		pos_add(&pos, &wrap, 1, vq->size);
	}
	return n;
}

/*
 * Walk the transmit buffers the device used, from last_used, reading
 * only: *frames gets how many frames they hold. Whether the device is
 * done with all (or wrote one that is not ours: nothing more to wait
 * for).
 */
static bool
tx_used_walk(const struct vuc_vq *vq, uint16_t *frames)
{
	const struct vring_packed_desc *ring = vq->pdesc;
	uint16_t pos = vq->last_used, size = vq->size;
	uint16_t left = (uint16_t)(size - vq->num_free), part = vq->tx_part;
	bool wrap = vq->used_wrap;

	*frames = 0;
	while (left > 0) {
		uint16_t id, last;

		if (part != VUC_NO_PART) {
			id = part;	/* a batch partly freed (tx_reclaim()) */
			part = VUC_NO_PART;
		} else {
			uint16_t f = __atomic_load_n(&ring[pos].flags,
						     __ATOMIC_ACQUIRE);

			if (!is_used(f, wrap))
				return false;
			id = ring[pos].id;
		}
		if (id >= size || vq->cookie[id].m == NULL)
			return true;	/* not ours: nothing more to wait for */
		if (!vq->in_order) {
			if (vq->cookie[id].ndesc > left)
				return true;
			left = (uint16_t)(left - vq->cookie[id].ndesc);
			pos_add(&pos, &wrap, vq->cookie[id].ndesc, size);
			(*frames)++;
			continue;
		}
		do {
			const struct vuc_cookie *c = &vq->cookie[pos];

			if (c->m == NULL || c->ndesc > left)
				return true;
			left = (uint16_t)(left - c->ndesc);
			last = pos;
			pos_add(&pos, &wrap, c->ndesc, size);
			(*frames)++;
		} while (last != id && left > 0);
	}
	return true;
}

bool
vuc_txq_done_packed(const struct vuc_vq *vq)
{
	uint16_t frames;

	return tx_used_walk(vq, &frames);
}

uint16_t
vuc_tx_used_packed(const struct vuc_vq *vq)
{
	uint16_t frames;

	tx_used_walk(vq, &frames);
	return frames;
}
