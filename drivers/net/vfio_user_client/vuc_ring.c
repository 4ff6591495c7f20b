/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Data path of net_virtio_vfio_user: the bursts, and the driver side of
 * split virtqueues (packed ones are in vuc_packed.c, behind the same burst
 * functions). Descriptors carry virtual addresses (IOVA = VA, see vuc.h).
 *
 * Transmit: the header goes into the mbuf headroom when possible (one
 * descriptor per segment, the mbuf itself left as it was), else into a
 * per-slot header area. Completed mbufs are freed in bulk.
 * Receive: one writable descriptor per buffer with the header just before
 * the data, so a packet lands where rte_pktmbuf_mtod() points.
 *
 * Descriptors are found in O(1) either way: with VIRTIO_F_IN_ORDER they
 * are used in ring order (no free list; the device may complete a whole
 * transmit batch with one used entry), otherwise each head remembers its
 * chain's length and last descriptor.
 */

#include <string.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "vuc.h"
#include "vuc_ring.h"

/* Per-slot transmit headers live right after the used ring. */
static inline struct virtio_net_hdr_mrg_rxbuf *
tx_hdr(struct vuc_vq *vq, uint16_t slot)
{
	return (struct virtio_net_hdr_mrg_rxbuf *)
		((uint8_t *)vq->mz->addr + vq->mz->len -
		 (size_t)vq->size * sizeof(struct virtio_net_hdr_mrg_rxbuf)) + slot;
}

void
vuc_vq_init_ring(struct vuc_vq *vq)
{
	memset(vq->mz->addr, 0, vq->mz->len);
	memset(vq->cookie, 0, (size_t)vq->size * sizeof(*vq->cookie));
	vq->num_free = vq->size;
	vq->inflight = 0;
	vuc_vq_set_want(vq, vq->want);
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->used_head = 0;
	vq->tx_part = VUC_NO_PART;
	vq->free_head = 0;
	if (vq->packed) {
		vuc_vq_init_packed(vq);
		return;
	}
	/* in order, descriptors are used in ring order: chain i to i + 1
	 * once and for all, across the end of the table too */
	for (uint16_t i = 0; i < vq->size; i++)
		vq->desc[i].next = (uint16_t)((i + 1) & (vq->size - 1));
	/* we poll: no interrupts unless rx interrupts are turned on (kept
	 * across a reconnection); with EVENT_IDX by used_event alone, the
	 * flags 0 (VIRTIO 1.2 2.7.10.1) */
	vq->avail->flags = vq->intr_on || vq->event_idx ?
				   0 :
				   VRING_AVAIL_F_NO_INTERRUPT;
	if (vq->event_idx)
		vq->avail->ring[vq->size] = (uint16_t)(vq->last_used -
						       (vq->intr_on ? 0 : 1));
}

/* Descriptors [head, ...) of a completed buffer back to the free list. */
static __rte_always_inline void
desc_free(struct vuc_vq *vq, uint16_t head)
{
	struct vuc_cookie *c = &vq->cookie[head];

	if (vq->in_order) {
		vq->used_head = (uint16_t)((vq->used_head + c->ndesc) &
					   (vq->size - 1));
	} else {
		vq->desc[c->last].next = vq->free_head;
		vq->free_head = head;
	}
	vq->num_free += c->ndesc;
}

/* Take n descriptors for a new buffer: its head (chained in ring order
 * when in order, else off the free list). */
static __rte_always_inline uint16_t
desc_take(struct vuc_vq *vq, uint16_t n, uint16_t *last)
{
	uint16_t head = vq->free_head, i = head;

	for (uint16_t k = 1; k < n; k++)
		i = vq->desc[i].next;
	*last = i;
	vq->free_head = vq->in_order ? (uint16_t)((i + 1) & (vq->size - 1)) :
				       vq->desc[i].next;
	vq->num_free = (uint16_t)(vq->num_free - n);
	return head;
}

/* Make head available in slot avail_idx. The avail ring entry is written
 * only if it changes: in order, with one descriptor per buffer, it never
 * does, and the cache line it is in stays shared with the device. */
static __rte_always_inline void
avail_put(struct vuc_vq *vq, uint16_t head)
{
	uint16_t *e = &vq->avail->ring[vq->avail_idx & (vq->size - 1)];

	if (*e != head)
		*e = head;
	vq->avail_idx++;
}

void
vuc_kick(struct vuc_vq *vq)
{
	struct vuc_dev *d = vq->dev;
	uint16_t idx = vq->index;
	/* a move swaps all three under us (vuc_migrate.c): read once */
	volatile uint16_t *bell = __atomic_load_n(&vq->notify_mmap,
						  __ATOMIC_ACQUIRE);
	int fd = __atomic_load_n(&vq->bell_fd, __ATOMIC_ACQUIRE);
	const uint64_t one = 1;

	vq->st.kicks++;
	if (bell != NULL) {
		*bell = idx;
		return;
	}
	/* the device's eventfd (vuc_bells_get()); should the write fail
	 * (a full counter on a non-blocking one), the message goes */
	if (fd >= 0 && write(fd, &one, sizeof(one)) == sizeof(one))
		return;
	rte_vfio_user_client_region_write(__atomic_load_n(&d->client,
							  __ATOMIC_ACQUIRE),
					  d->notify_bar, vq->notify_off, &idx,
					  sizeof(idx), true);
}

/* After publishing avail entries: kick if the device wants it. */
static __rte_always_inline void
kick_if_needed(struct vuc_vq *vq, uint16_t old)
{
	bool kick;

	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		uint16_t ev = __atomic_load_n((uint16_t *)&vq->used->ring[vq->size],
					      __ATOMIC_ACQUIRE);

		kick = (uint16_t)(vq->avail_idx - ev - 1) <
			(uint16_t)(vq->avail_idx - old);
	} else {
		kick = !(__atomic_load_n(&vq->used->flags, __ATOMIC_ACQUIRE) &
			 VRING_USED_F_NO_NOTIFY);
	}
	if (kick)
		vuc_kick(vq);
}

void
vuc_kick_if_needed(struct vuc_vq *vq, uint16_t old)
{
	kick_if_needed(vq, old);
}

/* vu_pmd_burst_enter() / vu_pmd_burst_leave(): online in the device's QSBR */
VU_PMD_BURST_DEFINE(struct vuc_vq)

/* ---- receive ---- */

/* Post free mbufs as receive buffers; returns how many. The ring state
 * is kept in locals: stores through the ring pointers could alias it. */
static int
rxq_fill_split(struct vuc_vq *vq)
{
	struct rte_mbuf *m[VUC_BURST];
	struct vring_desc *desc = vq->desc;
	struct vuc_cookie *ck = vq->cookie;
	uint16_t *ring = vq->avail->ring;
	uint16_t mask = vq->size - 1, fh = vq->free_head, ai = vq->avail_idx;
	uint16_t old = ai, nfree = vq->num_free;
	bool in_order = vq->in_order;
	int total = 0;

	while (nfree > vq->hold) {
		uint16_t n = RTE_MIN((uint16_t)(nfree - vq->hold),
				     (uint16_t)VUC_BURST);
		uint64_t rearm;
		uint32_t off, blen;

		if (rte_mempool_get_bulk(vq->mp, (void **)m, n) != 0) {
			vq->st.nombuf++;
			break;
		}
		rearm = vu_pmd_mbuf_rearm_word(m[0], vq->port_id);
		off = (uint32_t)(rearm & 0xffff);	/* data_off */
		blen = m[0]->buf_len - off + VUC_HDR_LEN;
		vq->rx_buf_len = blen;
		for (uint16_t i = 0; i < n; i++) {
			uint16_t head = fh;
			uint16_t *e = &ring[ai & mask];

			fh = in_order ? (uint16_t)((fh + 1) & mask) :
					desc[fh].next;
			vu_pmd_mbuf_rx_init(m[i], rearm, 0);
			desc[head].addr = (uint64_t)(uintptr_t)m[i]->buf_addr +
					  off - VUC_HDR_LEN;
			desc[head].len = blen;
			if (desc[head].flags != VRING_DESC_F_WRITE)
				desc[head].flags = VRING_DESC_F_WRITE;
			ck[head] = (struct vuc_cookie){ m[i], 1, head };
			if (*e != head)
				*e = head;
			ai++;
		}
		nfree = (uint16_t)(nfree - n);
		total += n;
	}
	vq->free_head = fh;
	vq->num_free = nfree;
	vq->avail_idx = ai;
	if (total > 0) {
		__atomic_store_n(&vq->avail->idx, ai, __ATOMIC_RELEASE);
		kick_if_needed(vq, old);
	}
	return total;
}

void
vuc_vq_set_want(struct vuc_vq *vq, uint16_t want)
{
	uint32_t post = want != 0 ? want : vq->size;

	vq->want = want;
	vq->tx_cap = (uint16_t)RTE_MIN(post, vq->size);
	if (vq->mp != NULL) {
		/* at most VUC_RX_POST_BYTES of buffers, two bursts at least */
		uint32_t room = rte_pktmbuf_data_room_size(vq->mp);

		if (room > 0)
			post = RTE_MIN(post, RTE_MAX(VUC_RX_POST_BYTES / room,
						     2u * VUC_BURST));
	}
	vq->hold = post < vq->size ? (uint16_t)(vq->size - post) : 0;
}

int
vuc_rxq_fill(struct vuc_vq *vq)
{
	return vq->packed ? vuc_rxq_fill_packed(vq) : rxq_fill_split(vq);
}

static __rte_always_inline const struct vring_used_elem *
used_at(const struct vuc_vq *vq, uint16_t i)
{
	return &vq->used->ring[i & (vq->size - 1)];
}

/* The buffer a used entry returns: in order, always the oldest one. */
static __rte_always_inline uint32_t
used_id(const struct vuc_vq *vq, const struct vring_used_elem *e)
{
	return vq->in_order ? vq->used_head : e->id;
}

/* Take one used buffer; NULL if the device returned a bad id. */
static __rte_always_inline struct rte_mbuf *
rx_take(struct vuc_vq *vq, uint32_t *len)
{
	const struct vring_used_elem *e = used_at(vq, vq->last_used);
	uint32_t id = used_id(vq, e);
	struct rte_mbuf *m;

	vq->last_used++;
	*len = e->len;
	if (unlikely(id >= vq->size || vq->cookie[id].m == NULL))
		return NULL;
	m = vq->cookie[id].m;
	vq->cookie[id].m = NULL;
	desc_free(vq, (uint16_t)id);
	return m;
}

/* Drop the next k used buffers (the rest of a bad packet). */
static void
rx_drop(struct vuc_vq *vq, uint16_t k)
{
	uint32_t len;

	while (k-- > 0)
		rte_pktmbuf_free(rx_take(vq, &len));
}

/* count: add what is returned to the queue's packets and bytes, and see
 * to its checksums (csum_kept); not when the ring's frames are dropped
 * (rxq_drop_delivered()) */
static __rte_always_inline uint16_t
rx_split(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n, bool count)
{
	uint16_t used, nrx = 0, port = vq->port_id;
	uint64_t bytes = 0;

	used = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	while (nrx < n && vq->last_used != used) {
		const struct vring_used_elem *e = used_at(vq, vq->last_used);
		uint32_t id = used_id(vq, e);
		uint16_t nbufs = 1;
		struct rte_mbuf *m, *prev;
		bool bad = false;
		uint32_t len;

		if (vq->mrg_rxbuf && id < vq->size && vq->cookie[id].m) {
			nbufs = rx_nbufs(vq, vq->cookie[id].m, e->len);
			if (unlikely((uint16_t)(used - vq->last_used) <
				     nbufs)) {
				/* the rest of the packet is not there yet,
				 * unless it names more buffers than the
				 * device holds: it never will be */
				if (nbufs <=
				    (uint16_t)(vq->size - vq->num_free))
					break;
				nbufs = 1;
				bad = true;
			}
		}
		m = rx_take(vq, &len);
		if (unlikely(m == NULL || bad || len < VUC_HDR_LEN ||
			     len - VUC_HDR_LEN > rte_pktmbuf_tailroom(m))) {
			vq->st.errors++;
			rte_pktmbuf_free(m);
			rx_drop(vq, (uint16_t)(nbufs - 1));
			continue;
		}
		m->data_len = (uint16_t)(len - VUC_HDR_LEN);
		m->pkt_len = m->data_len;
		m->port = port;
		prev = m;
		for (uint16_t k = 1; k < nbufs; k++) {
			struct rte_mbuf *s = rx_take(vq, &len);

			if (unlikely(s == NULL ||
				     len > rte_pktmbuf_tailroom(s) +
						     (uint32_t)VUC_HDR_LEN)) {
				rte_pktmbuf_free(s);
				rte_pktmbuf_free(m);
				m = NULL;
				vq->st.errors++;
				rx_drop(vq, (uint16_t)(nbufs - 1 - k));
				break;
			}
			/* continuation buffers have no header: data starts at
			 * the descriptor address, hdr_len before mtod */
			s->data_off = (uint16_t)(s->data_off - VUC_HDR_LEN);
			s->data_len = (uint16_t)len;
			prev->next = s;
			prev = s;
			m->nb_segs++;
			m->pkt_len += len;
		}
		if (m == NULL)
			continue;
		if (count && unlikely(vq->guest_csum) &&
		    unlikely(!rx_csum(vq, m))) {
			rte_pktmbuf_free(m);
			continue;
		}
		bytes += m->pkt_len;
		pkts[nrx++] = m;
	}
	/* interrupts, if on, after what we took; when off, used_event stays
	 * behind us: with EVENT_IDX the device ignores the flag, and moving
	 * used_event along would make it signal every burst */
	if (vq->event_idx && vq->intr_on)
		vq->avail->ring[vq->size] = vq->last_used;
	if (rxq_refill_due(vq))
		rxq_fill_split(vq);
	if (count) {
		vq->st.packets += nrx;
		vq->st.bytes += bytes;
	}
	return nrx;
}

uint16_t
vuc_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vuc_vq *vq = q;
	unsigned int lcore;
	uint16_t nrx;

	if (unlikely(!vu_pmd_burst_enter(vq, &lcore)))
		return 0;
	nrx = vq->packed ? vuc_rx_packed(vq, pkts, n) :
			   rx_split(vq, pkts, n, true);
	vu_pmd_burst_leave(vq, lcore);
	return nrx;
}

/* ---- transmit ---- */

/* Free what the device is done with, in bulk: limit frames at most
 * (the bursts: VUC_ALL). */
static __rte_always_inline void
tx_reclaim(struct vuc_vq *vq, uint16_t limit)
{
	uint16_t used = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	uint16_t n = (uint16_t)(used - vq->last_used);
	struct rte_mbuf *done[VUC_BURST];
	unsigned int nd = 0;
	bool warm = tx_free_warm(vq);

	/* each used entry is one buffer: never more than are in flight */
	if (unlikely(n > vq->inflight)) {
		vq->st.errors++;	/* more than we made available */
		return;
	}
	n = RTE_MIN(n, limit);
	while (n > 0) {
		uint16_t id;

		/* in order, the device may skip used entries of a batch:
		 * the oldest buffer is the next one done */
		if (vq->in_order) {
			id = vq->used_head;
			if (unlikely(vq->cookie[id].m == NULL)) {
				vq->st.errors++;	/* not one of ours */
				break;
			}
		} else {
			id = (uint16_t)used_at(vq, vq->last_used)->id;
			if (unlikely(id >= vq->size ||
				     vq->cookie[id].m == NULL)) {
				vq->st.errors++;
				vq->last_used++;
				n--;
				continue;
			}
		}
		vq->last_used++;
		n--;
		done[nd++] = vq->cookie[id].m;
		vq->cookie[id].m = NULL;
		vq->inflight--;
		desc_free(vq, id);
		if (nd == VUC_BURST) {
			tx_free_pkts(done, nd, warm);
			nd = 0;
		}
	}
	tx_free_pkts(done, nd, warm);
}

/* The reclaim before a burst, when the one after the last burst left too
 * little room: not the usual case, kept out of line. */
static __rte_noinline void
tx_reclaim_before(struct vuc_vq *vq)
{
	tx_reclaim(vq, VUC_ALL);
}

bool
vuc_rx_gso(struct vuc_vq *vq, struct rte_mbuf *m)
{
	struct virtio_net_hdr h;

	/* (in the headroom: ours, the device is done with it; its partial
	 * checksum finished, or kept, already) */
	memcpy(&h, rte_pktmbuf_mtod_offset(m, const uint8_t *, -VUC_HDR_LEN),
	       sizeof(h));
	if (m->pkt_len <=
		    __atomic_load_n(&vq->dev->max_lro, __ATOMIC_RELAXED) &&
	    vu_pmd_gso_rx(m, &h, vq->lro_types,
			  (uint32_t)vq->dev->mtu + RTE_ETHER_HDR_LEN +
				  2 * RTE_VLAN_HLEN))
		return true;
	vq->st.errors++;
	return false;
}

void
vuc_tx_drop_too_big(struct vuc_vq *vq, struct rte_mbuf *m)
{
	vq->st.errors++;
	rte_pktmbuf_free(m);
}

static __rte_always_inline uint16_t
tx_split(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t old, i, dropped = 0;
	uint64_t bytes = 0;

	/* in bulk (tx_reclaim_due()); usually done after the last burst */
	if (tx_reclaim_due(vq) || tx_room(vq) < n)
		tx_reclaim_before(vq);
	old = vq->avail_idx;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *s;
		bool push = tx_can_push(m);
		/* 32 bits: 65535 segments and a header must not wrap */
		uint32_t need = m->nb_segs + (push ? 0u : 1u);
		uint16_t head, idx, last;

		if (unlikely(tx_cut_next(vq, m)))
			break;	/* cut into segments: vu_pmd_tx_cut() */
		if (unlikely(!tx_fits(vq, need))) {
			if (need <= vq->size) {
				vq->st.full++;
				break;
			}
			vuc_tx_drop_too_big(vq, m);
			dropped++;
			continue;
		}
		head = desc_take(vq, (uint16_t)need, &last);
		idx = head;
		if (likely(push)) {
			uint8_t *h = rte_pktmbuf_mtod_offset(m, uint8_t *,
							     -VUC_HDR_LEN);

			tx_hdr_put(vq, m, h);
			vq->desc[idx].addr = (uint64_t)(uintptr_t)h;
			vq->desc[idx].len = m->data_len + VUC_HDR_LEN;
			s = m->next;
		} else {
			struct virtio_net_hdr_mrg_rxbuf *h = tx_hdr(vq, head);

			tx_hdr_put(vq, m, h);
			vq->desc[idx].addr = (uint64_t)(uintptr_t)h;
			vq->desc[idx].len = VUC_HDR_LEN;
			s = m;
		}
		for (; s != NULL; s = s->next) {
			vq->desc[idx].flags = VRING_DESC_F_NEXT;
			idx = vq->desc[idx].next;
			vq->desc[idx].addr = (uint64_t)(uintptr_t)
				rte_pktmbuf_mtod(s, uint8_t *);
			vq->desc[idx].len = s->data_len;
		}
		if (vq->desc[idx].flags != 0)
			vq->desc[idx].flags = 0;	/* end of chain */
		vq->cookie[head] = (struct vuc_cookie){ m, (uint16_t)need,
							last };
		vq->inflight++;
		avail_put(vq, head);
		bytes += m->pkt_len;
	}
	if (i > dropped) {
		__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
		/* reclaim while the kick check's fence waits (vuc_packed.c) */
		if (tx_reclaim_due(vq))
			tx_reclaim(vq, VUC_ALL);
		kick_if_needed(vq, old);
	}
	vq->st.packets += (uint16_t)(i - dropped);
	vq->st.bytes += bytes;
	return i;
}

/* Either ring layout. */
static __rte_always_inline uint16_t
tx_any(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n)
{
	return vq->packed ? vuc_tx_packed(vq, pkts, n) : tx_split(vq, pkts, n);
}

/* tx_any() for vu_pmd_tx_cut() */
static uint16_t
tx_any_ctx(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	return tx_any(q, pkts, n);
}

/* Whether the ring has room for the n packets seg now (vu_pmd_tx_cut(),
 * after the burst's reclaim) */
static bool
tx_cut_fits(void *q, struct rte_mbuf **seg, uint16_t n)
{
	const struct vuc_vq *vq = q;
	uint32_t need = 0;

	for (uint16_t i = 0; i < n; i++)
		need += seg[i]->nb_segs + (tx_can_push(seg[i]) ? 0u : 1u);
	return tx_room(vq) >= n && need <= vq->num_free;
}

static const struct vu_pmd_tx_ops tx_ops = { tx_cut_fits, tx_any_ctx };

uint16_t
vuc_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vuc_vq *vq = q;
	unsigned int lcore;
	uint16_t ntx;

	if (unlikely(!vu_pmd_burst_enter(vq, &lcore)))
		return 0;
	ntx = tx_any(vq, pkts, n);
	if (unlikely(vq->cut_next))
		ntx = vu_pmd_tx_cut(pkts, n, ntx, &vq->cut_next, &vq->st.errors,
				    &tx_ops, vq);
	vu_pmd_burst_leave(vq, lcore);
	return ntx;
}

/* Free the transmit buffers the device used, limit frames at most,
 * either ring layout (off the bursts: rte_eth_tx_done_cleanup(), a
 * drain). */
static void
tx_reclaim_any(struct vuc_vq *vq, uint16_t limit)
{
	if (vq->packed)
		vuc_tx_reclaim_packed(vq, limit);
	else
		tx_reclaim(vq, limit);
}

int
vuc_tx_done_cleanup(void *q, uint32_t free_cnt)
{
	struct vuc_vq *vq = q;
	unsigned int lcore;
	uint16_t before;

	if (rte_lcore_id() >= RTE_MAX_LCORE)
		return -EPERM;	/* as the bursts: from EAL threads only */
	/* (ethdev checks the queue is set up only in debug builds) */
	if (vq == NULL || !vu_pmd_burst_enter(vq, &lcore))
		return 0;	/* not set up, or withdrawn: nothing held */
	before = vq->inflight;
	/* 0: all; never more than a ring holds anyway */
	tx_reclaim_any(vq, free_cnt == 0 || free_cnt > VUC_ALL ?
				   VUC_ALL :
				   (uint16_t)free_cnt);
	before = (uint16_t)(before - vq->inflight);
	vu_pmd_burst_leave(vq, lcore);
	return before;
}

/*
 * Receive what the device delivered and the application did not take,
 * and drop it, counted (the device counted it sent). Nothing is posted
 * again: hold at the ring's size makes a refill never due. The frames
 * never go through packets and bytes: a reader of the statistics meanwhile
 * (telemetry) would see them received, then not; nor is anything put
 * back, which a statistics reset meanwhile (a reconnection drops on its
 * own thread) would undo or turn negative.
 */
static void
rxq_drop_delivered(struct vuc_vq *vq)
{
	uint16_t hold = vq->hold, n;
	struct rte_mbuf *m[VUC_BURST];
	unsigned int total = 0;

	vq->hold = vq->size;
	do {
		n = vq->packed ? vuc_rx_packed_drop(vq, m, VUC_BURST) :
				 rx_split(vq, m, VUC_BURST, false);
		rte_pktmbuf_free_bulk(m, n);
		vq->st.dropped += n;
		total += n;
	} while (n > 0);
	/* used entries left on a split ring: the first buffers of a merged
	 * frame whose rest the device never published (on a packed ring a
	 * frame is used from its first buffer, which the device writes last:
	 * none is ever partly there) */
	if (!vq->packed && __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) !=
				   vq->last_used) {
		vq->st.dropped++;
		total++;
	}
	vq->hold = hold;
	if (total > 0)
		VUC_LOG(NOTICE,
			"%s: rx queue %u: %u frames the device delivered and "
			"no burst received dropped (imissed, rx_q%u_dropped)",
			vq->dev->path, vq->qid, total, vq->qid);
}

/*
 * Free what the device sent, and count as dropped the frames it never
 * took. They stay in opackets and obytes (counted sent when made
 * available): the port's counters only grow until a statistics reset.
 */
static void
txq_drop_untaken(struct vuc_vq *vq)
{
	uint64_t n = 0;

	tx_reclaim_any(vq, VUC_ALL);
	for (uint16_t i = 0; i < vq->size; i++)
		n += vq->cookie[i].m != NULL;
	vq->st.dropped += n;
	if (n > 0)
		VUC_LOG(NOTICE,
			"%s: tx queue %u: %" PRIu64
			" frames the device did not "
			"take dropped (oerrors, tx_q%u_dropped)",
			vq->dev->path, vq->qid, n, vq->qid);
}

/* Free every mbuf still owned by the ring: the queue withdrawn, the
 * device done with it (reset, or gone). What it holds of frames is
 * counted dropped (vuc_stats). */
void
vuc_vq_drain(struct vuc_vq *vq)
{
	if (vq->cookie == NULL)
		return;
	if (vq->mz != NULL && (vq->index & 1))
		txq_drop_untaken(vq);
	else if (vq->mz != NULL && vq->mp != NULL)	/* not the control
							 * queue */
		rxq_drop_delivered(vq);
	for (uint16_t i = 0; i < vq->size; i++) {
		if (vq->cookie[i].m != NULL) {
			rte_pktmbuf_free(vq->cookie[i].m);
			vq->cookie[i].m = NULL;
		}
	}
	vq->inflight = 0;
}

/* Whether the device took every buffer of a transmit queue. */
static bool
txq_done(const struct vuc_vq *vq)
{
	if (vq->packed)
		return vuc_txq_done_packed(vq);
	return __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) ==
	       vq->avail_idx;
}

bool
vuc_txq_drain_wait_one(struct vuc_dev *d, struct vuc_vq *vq, uint64_t end)
{
	while (!txq_done(vq)) {
		if (rte_get_timer_cycles() > end || d->client == NULL ||
		    !rte_vfio_user_client_connected(d->client))
			return false;
		rte_delay_us_sleep(1000);
	}
	return true;
}

/*
 * Port stop: the application no longer transmits; give the device up to
 * ms to take what is still in the transmit rings, so a stop (or an exit)
 * right after a burst loses nothing the device could still take.
 */
void
vuc_txq_drain_wait(struct vuc_dev *d, unsigned int ms)
{
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() * ms / 1000;

	for (uint16_t q = 0; q < d->pairs; q++) {
		struct vuc_vq *vq = &d->vq[2 * q + 1];

		if (__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE) &&
		    !vuc_txq_drain_wait_one(d, vq, end))
			VUC_LOG(WARNING,
				"%s: tx queue %u: frames not taken by the "
				"device in %u ms at the port's stop: they stay "
				"in the ring for it",
				d->path, vq->qid, ms);
	}
}
