/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Data path of net_virtio_vfio_user: the driver side of split virtqueues.
 * Descriptors carry virtual addresses (IOVA = VA, see vuc.h). The transmit
 * header goes into the mbuf headroom when possible (one descriptor per
 * segment), else into a per-slot header area. Receive buffers are one
 * writable descriptor each with the header just before the data, so a
 * packet lands where rte_pktmbuf_mtod() points.
 */

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "vuc.h"

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
	for (uint16_t i = 0; i < vq->size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->num_free = vq->size;
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->rx_pending = NULL;
	/* we poll: no interrupts unless rx interrupts are turned on (kept
	 * across a reconnection) */
	vq->avail->flags = vq->intr_on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
	if (vq->event_idx)
		vq->avail->ring[vq->size] = (uint16_t)(vq->last_used -
						       (vq->intr_on ? 0 : 1));
}

static __rte_always_inline void
desc_free(struct vuc_vq *vq, uint16_t head)
{
	uint16_t i = head, n = 1;

	while (vq->desc[i].flags & VRING_DESC_F_NEXT) {
		i = vq->desc[i].next;
		n++;
	}
	vq->desc[i].next = vq->free_head;
	vq->free_head = head;
	vq->num_free += n;
}

void
vuc_kick(struct vuc_vq *vq)
{
	struct vuc_dev *d = vq->dev;
	uint16_t idx = vq->index;
	/* a move swaps both under us (vuc_migrate.c): read once */
	volatile uint16_t *bell = __atomic_load_n(&vq->notify_mmap,
						  __ATOMIC_ACQUIRE);

	vq->st.kicks++;
	if (bell != NULL) {
		*bell = idx;
		return;
	}
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

static __rte_always_inline bool
enter(struct vuc_vq *vq, unsigned int *lcore)
{
	*lcore = rte_lcore_id();
	if (unlikely(*lcore >= RTE_MAX_LCORE))
		return false;
	rte_rcu_qsbr_thread_online(vq->dev->qsbr, *lcore);
	if (unlikely(!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))) {
		rte_rcu_qsbr_thread_offline(vq->dev->qsbr, *lcore);
		return false;
	}
	return true;
}

static __rte_always_inline void
leave(struct vuc_vq *vq, unsigned int lcore)
{
	rte_rcu_qsbr_thread_offline(vq->dev->qsbr, lcore);
}

/* ---- receive ---- */

/* Post free mbufs as receive buffers; returns how many. */
int
vuc_rxq_fill(struct vuc_vq *vq)
{
	struct rte_mbuf *m[VUC_BURST];
	uint16_t old = vq->avail_idx;
	int total = 0;

	while (vq->num_free > 0) {
		uint16_t n = vq->num_free < VUC_BURST ? vq->num_free : VUC_BURST;

		if (rte_pktmbuf_alloc_bulk(vq->mp, m, n) != 0) {
			vq->st.nombuf++;
			break;
		}
		for (uint16_t i = 0; i < n; i++) {
			uint16_t head = vq->free_head;
			struct vring_desc *desc = &vq->desc[head];

			vq->free_head = desc->next;
			vq->num_free--;
			desc->addr = (uint64_t)(uintptr_t)
				rte_pktmbuf_mtod_offset(m[i], uint8_t *, -vq->hdr_len);
			desc->len = (uint32_t)(rte_pktmbuf_tailroom(m[i]) + vq->hdr_len);
			desc->flags = VRING_DESC_F_WRITE;
			vq->cookie[head] = m[i];
			vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
			vq->avail_idx++;
		}
		total += n;
	}
	if (total > 0) {
		__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
		kick_if_needed(vq, old);
	}
	return total;
}

static __rte_always_inline const struct vring_used_elem *
used_at(const struct vuc_vq *vq, uint16_t i)
{
	return &vq->used->ring[i & (vq->size - 1)];
}

static struct rte_mbuf *rx_take(struct vuc_vq *vq, uint32_t *len);

/* Drop the next k used buffers (the rest of a bad packet). */
static void
rx_drop(struct vuc_vq *vq, uint16_t k)
{
	uint32_t len;

	while (k-- > 0)
		rte_pktmbuf_free(rx_take(vq, &len));
}

/* Take one used buffer; NULL if the device returned a bad id. */
static struct rte_mbuf *
rx_take(struct vuc_vq *vq, uint32_t *len)
{
	const struct vring_used_elem *e = used_at(vq, vq->last_used);
	uint32_t id = e->id;
	struct rte_mbuf *m;

	vq->last_used++;
	*len = e->len;
	if (unlikely(id >= vq->size || vq->cookie[id] == NULL))
		return NULL;
	m = vq->cookie[id];
	vq->cookie[id] = NULL;
	desc_free(vq, (uint16_t)id);
	return m;
}

uint16_t
vuc_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vuc_vq *vq = q;
	uint16_t used, nrx = 0;
	unsigned int lcore;
	uint64_t bytes = 0;

	if (unlikely(!enter(vq, &lcore)))
		return 0;
	used = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
	while (nrx < n && vq->last_used != used) {
		const struct vring_used_elem *e = used_at(vq, vq->last_used);
		uint16_t nbufs = 1;
		struct rte_mbuf *m, *prev;
		uint32_t len;

		if (vq->mrg_rxbuf && e->id < vq->size && vq->cookie[e->id]) {
			const struct virtio_net_hdr_mrg_rxbuf *h =
				rte_pktmbuf_mtod_offset(vq->cookie[e->id],
					const struct virtio_net_hdr_mrg_rxbuf *,
					-vq->hdr_len);

			nbufs = h->num_buffers ? h->num_buffers : 1;
			if ((uint16_t)(used - vq->last_used) < nbufs)
				break;	/* the rest of the packet is not there yet */
		}
		m = rx_take(vq, &len);
		if (unlikely(m == NULL || len < vq->hdr_len ||
			     len - vq->hdr_len > rte_pktmbuf_tailroom(m))) {
			vq->st.errors++;
			rte_pktmbuf_free(m);
			rx_drop(vq, (uint16_t)(nbufs - 1));
			continue;
		}
		m->data_len = (uint16_t)(len - vq->hdr_len);
		m->pkt_len = m->data_len;
		m->port = vq->dev->port_id;
		prev = m;
		for (uint16_t k = 1; k < nbufs; k++) {
			struct rte_mbuf *s = rx_take(vq, &len);

			if (unlikely(s == NULL || len > rte_pktmbuf_tailroom(s) +
				     (uint32_t)vq->hdr_len)) {
				rte_pktmbuf_free(s);
				rte_pktmbuf_free(m);
				m = NULL;
				vq->st.errors++;
				rx_drop(vq, (uint16_t)(nbufs - 1 - k));
				break;
			}
			/* continuation buffers have no header: data starts at
			 * the descriptor address, hdr_len before mtod */
			s->data_off = (uint16_t)(s->data_off - vq->hdr_len);
			s->data_len = (uint16_t)len;
			prev->next = s;
			prev = s;
			m->nb_segs++;
			m->pkt_len += len;
		}
		if (m == NULL)
			continue;
		bytes += m->pkt_len;
		pkts[nrx++] = m;
	}
	/* interrupts, if on, after what we took; when off, used_event stays
	 * behind us: with EVENT_IDX the device ignores the flag, and moving
	 * used_event along would make it signal every burst */
	if (vq->event_idx && vq->intr_on)
		vq->avail->ring[vq->size] = vq->last_used;
	vuc_rxq_fill(vq);
	leave(vq, lcore);
	vq->st.packets += nrx;
	vq->st.bytes += bytes;
	return nrx;
}

/* ---- transmit ---- */

static __rte_always_inline void
tx_reclaim(struct vuc_vq *vq)
{
	uint16_t used = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);

	while (vq->last_used != used) {
		uint32_t id = used_at(vq, vq->last_used)->id;

		vq->last_used++;
		if (unlikely(id >= vq->size || vq->cookie[id] == NULL)) {
			vq->st.errors++;
			continue;
		}
		rte_pktmbuf_free(vq->cookie[id]);
		vq->cookie[id] = NULL;
		desc_free(vq, (uint16_t)id);
	}
}

uint16_t
vuc_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vuc_vq *vq = q;
	uint16_t old, i;
	unsigned int lcore;
	uint64_t bytes = 0;

	if (unlikely(!enter(vq, &lcore)))
		return 0;
	tx_reclaim(vq);
	old = vq->avail_idx;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *s;
		bool push = RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 &&
			rte_pktmbuf_headroom(m) >= vq->hdr_len;
		uint16_t need = (uint16_t)(m->nb_segs + (push ? 0 : 1));
		uint16_t head = vq->free_head, idx = head, prev = head;
		uint32_t pkt_len = m->pkt_len;

		if (unlikely(need > vq->num_free)) {
			vq->st.full++;
			break;
		}
		if (push) {
			void *h = rte_pktmbuf_prepend(m, vq->hdr_len);

			memset(h, 0, vq->hdr_len);
		} else {
			struct virtio_net_hdr_mrg_rxbuf *h = tx_hdr(vq, head);

			memset(h, 0, vq->hdr_len);
			vq->desc[idx].addr = (uint64_t)(uintptr_t)h;
			vq->desc[idx].len = vq->hdr_len;
			vq->desc[idx].flags = VRING_DESC_F_NEXT;
			prev = idx;
			idx = vq->desc[idx].next;
		}
		for (s = m; s != NULL; s = s->next) {
			vq->desc[idx].addr = (uint64_t)(uintptr_t)
				rte_pktmbuf_mtod(s, uint8_t *);
			vq->desc[idx].len = s->data_len;
			vq->desc[idx].flags = VRING_DESC_F_NEXT;
			prev = idx;
			idx = vq->desc[idx].next;
		}
		vq->desc[prev].flags = 0;	/* end of chain */
		vq->free_head = idx;
		vq->num_free = (uint16_t)(vq->num_free - need);
		vq->cookie[head] = m;
		vq->avail->ring[vq->avail_idx & (vq->size - 1)] = head;
		vq->avail_idx++;
		bytes += pkt_len;
	}
	if (i > 0) {
		__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
		kick_if_needed(vq, old);
	}
	leave(vq, lcore);
	vq->st.packets += i;
	vq->st.bytes += bytes;
	return i;
}

/* Free every mbuf still owned by the ring (queue withdrawn). */
void
vuc_vq_drain(struct vuc_vq *vq)
{
	if (vq->cookie == NULL)
		return;
	for (uint16_t i = 0; i < vq->size; i++) {
		if (vq->cookie[i] != NULL) {
			rte_pktmbuf_free(vq->cookie[i]);
			vq->cookie[i] = NULL;
		}
	}
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

		if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
			continue;
		while (__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) !=
		       vq->avail_idx) {
			if (rte_get_timer_cycles() > end ||
			    d->client == NULL ||
			    !rte_vfio_user_client_connected(d->client)) {
				VUC_LOG(WARNING, "%s: tx queue %u: %u buffers "
					"not taken by the device at stop", d->path,
					q, (uint16_t)(vq->avail_idx -
					__atomic_load_n(&vq->used->idx,
							__ATOMIC_ACQUIRE)));
				break;
			}
			rte_delay_us_sleep(1000);
		}
	}
}
