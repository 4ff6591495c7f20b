/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The data path: device side of split virtqueues.
 *
 * rx_burst takes what the driver transmitted (its transmitq, odd vq
 * index), tx_burst fills the driver's receive buffers (its receiveq, even
 * index). Each burst reads the avail index once, walks and translates the
 * descriptor chains (every address checked against the client's DMA map,
 * chains bounded so loops end), copies, and publishes the used index once
 * with a release store. One interrupt at most per burst, and only when the
 * driver asked for it (flags or event index).
 */

#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <linux/virtio_pci.h>

#include <rte_memcpy.h>

#include "vfio_user_proto.h"
#include "vun.h"

/* Walk state of one descriptor chain. */
struct chain {
	const uint8_t *tbl;		/* current table (ring or indirect) */
	uint32_t tbl_size;
	uint16_t idx;
	bool indirect;
	uint32_t seen;			/* descriptors visited */
	struct vring_desc d;		/* the current one, our copy */
};

static __rte_always_inline void *
xlate(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
      uint64_t iova, uint64_t len, uint32_t access)
{
	return rte_vfio_user_iova_to_va_cached(t, &vq->mcache, iova, len,
					       access);
}

/*
 * Fetch the next descriptor of a chain (following an indirect table once)
 * into c->d. It is read once, as the driver may change it while we use it,
 * and with memcpy, as an indirect table need not be aligned. Returns NULL
 * when the chain is malformed, or longer than the queue (VIRTIO 1.x
 * 2.7.5.3.1), which also ends loops.
 */
static __rte_always_inline const struct vring_desc *
chain_desc(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	   struct chain *c)
{
	struct vring_desc *d = &c->d;

	if (unlikely(c->idx >= c->tbl_size || ++c->seen > vq->size))
		return NULL;
	memcpy(d, c->tbl + (size_t)c->idx * sizeof(*d), sizeof(*d));
	if (d->flags & VRING_DESC_F_INDIRECT) {
		/* only at the top level, only alone, a whole number of entries */
		if (unlikely(c->indirect || (d->flags & VRING_DESC_F_NEXT) ||
			     !vq->indirect || d->len == 0 ||
			     d->len % sizeof(struct vring_desc) != 0))
			return NULL;
		c->tbl = xlate(vq, t, d->addr, d->len, RTE_VFIO_USER_MEM_F_READ);
		if (unlikely(c->tbl == NULL))
			return NULL;
		c->tbl_size = d->len / sizeof(struct vring_desc);
		c->indirect = true;
		c->idx = 0;
		c->seen = 1;		/* the table's entries are the chain */
		memcpy(d, c->tbl, sizeof(*d));
		if (unlikely(d->flags & VRING_DESC_F_INDIRECT))
			return NULL;	/* indirect inside indirect */
	}
	return d;
}

/* Move to the next descriptor; false at the end of the chain. */
static __rte_always_inline bool
chain_next(struct chain *c, const struct vring_desc *d)
{
	if (!(d->flags & VRING_DESC_F_NEXT))
		return false;
	c->idx = d->next;
	return true;
}

static __rte_always_inline void
chain_start(struct chain *c, struct vun_vq *vq, uint16_t head)
{
	c->tbl = (const uint8_t *)vq->desc;
	c->tbl_size = vq->size;
	c->idx = head;
	c->indirect = false;
	c->seen = 0;
}

/*
 * As a PCI function does: MSI-X when the driver enabled it (the vector's
 * and the function's mask bits and the SET_IRQS masks latch it in the PBA
 * until unmasked), else INTx with the ISR bit (unless INTx is disabled in
 * the command register). The PCI helper reads the enable and mask state
 * lock-free: a couple of loads per interrupt, at most one per burst.
 */
static void
raise_interrupt(struct vun_vq *vq)
{
	struct vun_dev *d = vq->dev;
	int ret = -ENOTSUP;

	if (rte_vfio_user_pci_msix_enabled(d->pci) == 1) {
		if (vq->msix_vector == VIRTIO_MSI_NO_VECTOR)
			return;
		ret = rte_vfio_user_pci_msix_trigger(d->pci, vq->msix_vector);
	}
	if (ret == -ENOTSUP) {	/* MSI-X disabled (maybe just now) */
		__atomic_fetch_or(&d->isr, 1, __ATOMIC_RELEASE);
		ret = rte_vfio_user_pci_set_intx(d->pci, true);
	}
	if (ret >= 0)
		vq->st.interrupts++;
}

/* Publish used entries and interrupt the driver if it wants. */
static __rte_always_inline void
used_flush(struct vun_vq *vq, uint16_t old_used)
{
	if (vq->last_used == old_used)
		return;
	__atomic_store_n(&vq->used->idx, vq->last_used, __ATOMIC_RELEASE);
	vun_log_used(vq, old_used);
	/* the used index must be visible before we read the driver's
	 * interrupt suppression, or we could miss a needed interrupt */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq_need_interrupt(vq, old_used, vq->last_used))
		raise_interrupt(vq);
}

/* Polling: ask the driver not to kick this queue. */
static __rte_always_inline void
suppress_kicks(struct vun_vq *vq)
{
	if (vq->event_idx)
		/* just behind where we are: never crossed by new buffers */
		__atomic_store_n((uint16_t *)&vq->used->ring[vq->size],
				 (uint16_t)(vq->last_avail - 1), __ATOMIC_RELAXED);
}


/* Enter a burst: online in the device's QSBR; false if the queue is idle. */
static __rte_always_inline bool
burst_enter(struct vun_vq *vq, unsigned int *lcore)
{
	*lcore = rte_lcore_id();
	if (unlikely(*lcore >= RTE_MAX_LCORE))
		return false;	/* not an EAL thread: cannot be protected */
	rte_rcu_qsbr_thread_online(vq->dev->qsbr, *lcore);
	if (unlikely(!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))) {
		rte_rcu_qsbr_thread_offline(vq->dev->qsbr, *lcore);
		return false;
	}
	return true;
}

static __rte_always_inline void
burst_leave(struct vun_vq *vq, unsigned int lcore)
{
	rte_rcu_qsbr_thread_offline(vq->dev->qsbr, lcore);
}

/* ---- driver transmitq -> rx_burst ---- */

/* Copy one chain into m (already allocated). 0, or -1 for a bad chain. */
static int
dequeue_chain(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	      uint16_t head, struct rte_mbuf *m)
{
	struct rte_mempool *mp = vq->mp;
	struct rte_mbuf *cur = m;
	uint32_t skip = vq->hdr_len;
	const struct vring_desc *d;
	struct chain c;

	chain_start(&c, vq, head);
	do {
		const uint8_t *src;
		uint32_t len;

		d = chain_desc(vq, t, &c);
		if (unlikely(d == NULL || (d->flags & VRING_DESC_F_WRITE)))
			return -1;
		len = d->len;
		src = xlate(vq, t, d->addr, len, RTE_VFIO_USER_MEM_F_READ);
		if (unlikely(src == NULL && len != 0))
			return -1;
		if (skip > 0) {		/* the virtio_net_hdr: no offloads */
			uint32_t k = skip < len ? skip : len;

			skip -= k;
			src += k;
			len -= k;
		}
		/* bounds what a looping or lying chain costs us in mbufs */
		if (unlikely(len > VUN_MAX_FRAME - m->pkt_len))
			return -1;
		while (len > 0) {
			uint32_t room = rte_pktmbuf_tailroom(cur), k;

			if (room == 0) {
				struct rte_mbuf *n = rte_pktmbuf_alloc(mp);

				if (unlikely(n == NULL))
					return -2;
				cur->next = n;
				cur = n;
				m->nb_segs++;
				room = rte_pktmbuf_tailroom(cur);
			}
			k = len < room ? len : room;
			rte_memcpy(rte_pktmbuf_mtod_offset(cur, void *, cur->data_len),
				   src, k);
			cur->data_len += k;
			m->pkt_len += k;
			src += k;
			len -= k;
		}
	} while (chain_next(&c, d));
	return skip > 0 ? -1 : 0;	/* shorter than its header */
}

uint16_t
vun_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vun_vq *vq = q;
	const struct rte_vfio_user_mem_table *t;
	uint16_t avail, count, i, nrx = 0, old_used;
	unsigned int lcore;
	uint64_t bytes = 0;

	if (unlikely(!burst_enter(vq, &lcore)))
		return 0;
	t = rte_vfio_user_get_mem_table(vq->dev->dev_id);
	avail = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	count = (uint16_t)(avail - vq->last_avail);
	if (unlikely(count > vq->size)) {
		vq->st.bad_desc++;
		count = 0;
	}
	if (count > n)
		count = n;
	if (count > VUN_BURST)
		count = VUN_BURST;
	if (count == 0 || unlikely(rte_pktmbuf_alloc_bulk(vq->mp, pkts, count))) {
		if (count)
			vq->st.drops++;	/* no mbufs: packets wait in the ring */
		burst_leave(vq, lcore);
		return 0;
	}
	old_used = vq->last_used;
	for (i = 0; i < count; i++) {
		uint16_t slot = (uint16_t)(vq->last_avail + i) & (vq->size - 1);
		uint16_t head = vq->avail->ring[slot];
		struct rte_mbuf *m = pkts[i];
		int ret;

		if (i + 1 < count)
			rte_prefetch0(&vq->desc[vq->avail->ring[(slot + 1) &
						(vq->size - 1)] & (vq->size - 1)]);
		ret = dequeue_chain(vq, t, head, m);
		if (unlikely(ret == -2)) {
			/* out of mbufs inside a chain: leave this packet and
			 * the rest in the ring for the next burst */
			rte_pktmbuf_free_bulk(&pkts[i], count - i);
			count = i;
			break;
		}
		vq_used_put(vq, head, 0);
		if (unlikely(ret < 0 || m->pkt_len < RTE_ETHER_HDR_LEN)) {
			/* a bad chain, or a runt: a chain with the virtio
			 * header and less than an Ethernet header after it */
			if (ret < 0)
				vq->st.bad_desc++;
			else
				vq->st.runts++;
			vq->st.drops++;
			rte_pktmbuf_free(m);
			continue;
		}
		m->port = vq->dev->port_id;
		bytes += m->pkt_len;
		pkts[nrx++] = m;
	}
	vq->last_avail += count;
	suppress_kicks(vq);
	used_flush(vq, old_used);
	burst_leave(vq, lcore);
	vq->st.packets += nrx;
	vq->st.bytes += bytes;
	return nrx;
}

/* ---- tx_burst -> driver receiveq ---- */

/* Source cursor over the header then the mbuf's segments. */
struct src {
	const uint8_t *hdr;
	uint32_t hdr_left;
	const struct rte_mbuf *seg;
	uint32_t off;			/* in seg */
	uint32_t data_left;		/* packet bytes not copied yet */
};

/* What is left of the whole packet: not just of the current segment,
 * which may be empty (an empty first segment, or one reached just as a
 * descriptor filled up) with data in the next ones. */
static __rte_always_inline uint32_t
src_left(const struct src *s)
{
	return s->hdr_left + s->data_left;
}

/* Copy up to len bytes from s into dst; returns bytes copied. Records where
 * num_buffers (header bytes 10..11) landed. */
static uint32_t
src_copy(struct src *s, uint8_t *dst, uint32_t len, uint32_t hdr_len,
	 uint8_t **nb)
{
	uint32_t done = 0;

	/* usual case: the whole header fits the first descriptor */
	if (s->hdr_left == hdr_len && len >= hdr_len) {
		memcpy(dst, s->hdr, hdr_len);
		if (hdr_len >= 12) {
			nb[0] = dst + 10;
			nb[1] = dst + 11;
		}
		s->hdr += hdr_len;
		s->hdr_left = 0;
		done = hdr_len;
	}
	while (done < len && s->hdr_left > 0) {
		uint32_t at = hdr_len - s->hdr_left;

		if (at == 10 || at == 11)
			nb[at - 10] = dst + done;
		dst[done++] = *s->hdr++;
		s->hdr_left--;
	}
	while (done < len && s->seg != NULL) {
		uint32_t k = s->seg->data_len - s->off;

		if (k > len - done)
			k = len - done;
		rte_memcpy(dst + done,
			   rte_pktmbuf_mtod_offset(s->seg, const uint8_t *, s->off), k);
		done += k;
		s->off += k;
		s->data_left -= k;
		if (s->off == s->seg->data_len) {
			s->seg = s->seg->next;
			s->off = 0;
		}
	}
	return done;
}

/* Fill one buffer (a descriptor chain) from s. Returns bytes written or
 * -1 for a bad chain. */
static int64_t
fill_chain(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	   uint16_t head, struct src *s, uint8_t **nb)
{
	const struct vring_desc *d;
	struct chain c;
	uint32_t written = 0;

	chain_start(&c, vq, head);
	do {
		uint8_t *dst;

		d = chain_desc(vq, t, &c);
		if (unlikely(d == NULL || !(d->flags & VRING_DESC_F_WRITE)))
			return -1;
		if (src_left(s) == 0)
			continue;	/* rest of the chain unused */
		dst = xlate(vq, t, d->addr, d->len, RTE_VFIO_USER_MEM_F_WRITE);
		if (unlikely(dst == NULL && d->len != 0))
			return -1;
		written += src_copy(s, dst, d->len, vq->hdr_len, nb);
	} while (chain_next(&c, d));
	return written;
}

uint16_t
vun_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vun_vq *vq = q;
	struct vun_dev *dev = vq->dev;
	const struct rte_vfio_user_mem_table *t;
	struct virtio_net_hdr_mrg_rxbuf hdr = {
		.hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE },
		.num_buffers = 1,
	};
	uint16_t avail, i, old_used;
	unsigned int lcore;
	uint64_t bytes = 0, sent = 0;

	/* a queue not running, or of a pair the driver did not enable (MQ):
	 * the caller keeps the packets, as with any full queue. The pairs
	 * are checked inside the QSBR section: once the device acknowledges
	 * a smaller VQ_PAIRS_SET (after a grace period), no burst that saw
	 * the old count is still filling a queue it disabled. */
	if (unlikely(!burst_enter(vq, &lcore)))
		return 0;
	if (unlikely(vq->qid >= __atomic_load_n(&dev->active_pairs,
						__ATOMIC_RELAXED))) {
		burst_leave(vq, lcore);
		return 0;
	}
	t = rte_vfio_user_get_mem_table(dev->dev_id);
	avail = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (unlikely((uint16_t)(avail - vq->last_avail) > vq->size)) {
		vq->st.bad_desc++;
		avail = vq->last_avail;
	}
	old_used = vq->last_used;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint16_t start_avail = vq->last_avail, start_used = vq->last_used;
		uint8_t *nb[2] = { NULL, NULL };
		uint16_t nbufs = 0, head = 0;
		struct src s = {
			.hdr = (const uint8_t *)&hdr, .hdr_left = vq->hdr_len,
			.seg = m, .off = 0, .data_left = m->pkt_len,
		};
		bool bad = false;

		while (src_left(&s) > 0) {
			int64_t w;

			if (vq->last_avail == avail ||
			    (!vq->mrg_rxbuf && nbufs == 1))
				break;	/* out of buffers / one buffer only */
			head = vq->avail->ring[vq->last_avail & (vq->size - 1)];
			vq->last_avail++;
			w = fill_chain(vq, t, head, &s, nb);
			if (unlikely(w < 0)) {
				bad = true;
				vq_used_put(vq, head, 0);	/* give it back empty */
				break;
			}
			vq_used_put(vq, head, (uint32_t)w);
			nbufs++;
		}
		if (unlikely(bad)) {
			/* the buffers stay consumed, all empty (even when the
			 * bad part came after the last byte) */
			for (uint16_t u = start_used; u != vq->last_used; u++)
				vq->used->ring[u & (vq->size - 1)].len = 0;
			vq->st.bad_desc++;
			vq->st.drops++;
			rte_pktmbuf_free(m);
			continue;
		}
		if (unlikely(src_left(&s) > 0)) {
			if (vq->mrg_rxbuf || nbufs == 0) {
				/* ring full: leave the rest to the caller */
				vq->last_avail = start_avail;
				vq->last_used = start_used;
				break;
			}
			/* larger than the driver's one buffer: give back the
			 * head we read and wrote (the ring entry is the
			 * driver's, it may have changed since) */
			vq->st.drops++;
			vq->last_used = start_used;
			vq_used_put(vq, head, 0);
			rte_pktmbuf_free(m);
			continue;
		}
		if (vq->hdr_len >= 12 && nbufs != 1) {
			if (nb[0] != NULL)
				*nb[0] = (uint8_t)nbufs;
			if (nb[1] != NULL)
				*nb[1] = (uint8_t)(nbufs >> 8);
		}
		bytes += m->pkt_len;
		sent++;
		rte_pktmbuf_free(m);
	}
	suppress_kicks(vq);
	used_flush(vq, old_used);
	burst_leave(vq, lcore);
	vq->st.packets += sent;
	vq->st.bytes += bytes;
	return i;
}
