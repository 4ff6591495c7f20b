/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The data path: the bursts, and the device side of split virtqueues
 * (packed ones are in vun_packed.c, behind the same burst functions).
 *
 * rx_burst takes what the driver transmitted (its transmitq, odd vq
 * index), tx_burst fills the driver's receive buffers (its receiveq, even
 * index). Each burst reads the avail index once, walks and translates the
 * descriptor chains (every address checked against the client's DMA map,
 * chains bounded so loops end), copies, and publishes the used index once
 * with a release store. One interrupt at most per burst, and only when the
 * driver asked for it (flags or event index).
 *
 * Buffers of one descriptor (what a DPDK driver and Linux use for small
 * packets) take a fast path in two passes: descriptors read, checked and
 * translated for the whole burst, the data prefetched, then the copies.
 * Everything else (chains, indirect tables, mergeable buffers, segmented
 * mbufs) goes through the general walkers below.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <linux/virtio_pci.h>

#include <rte_memcpy.h>

#include "vfio_user_proto.h"
#include "vun.h"
#include "vun_ring.h"
#include "vun_shadow.h"

/* Walk state of one descriptor chain. */
struct chain {
	struct vun_tbl tbl;		/* current table (ring or indirect) */
	uint32_t tbl_size;
	uint16_t idx;
	bool indirect;
	uint32_t seen;			/* descriptors visited */
	struct vring_desc d;		/* the current one, our copy */
};

/*
 * Fetch the next descriptor of a chain (following an indirect table once)
 * into c->d. It is read once, as the driver may change it while we use it,
 * and with memcpy, as an indirect table need not be aligned; an indirect
 * table that spans segments is read entry by entry. Returns NULL when the
 * chain is malformed, or longer than the queue (VIRTIO 1.x 2.7.5.3.1),
 * which also ends loops.
 */
static __rte_always_inline const struct vring_desc *
chain_desc(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	   struct chain *c)
{
	struct vring_desc *d = &c->d;

	if (unlikely(c->idx >= c->tbl_size || ++c->seen > vq->size))
		return NULL;
	if (unlikely(vun_tbl_read(t, &vq->mcache, &c->tbl, c->idx, d) < 0))
		return NULL;
	if (d->flags & VRING_DESC_F_INDIRECT) {
		/* only at the top level, only alone, a whole number of entries */
		if (unlikely(c->indirect || (d->flags & VRING_DESC_F_NEXT) ||
			     !vq->indirect || d->len == 0 ||
			     d->len % sizeof(struct vring_desc) != 0))
			return NULL;
		if (unlikely(vun_tbl_open(t, &vq->mcache, &c->tbl, d->addr,
					  d->len) < 0))
			return NULL;
		c->tbl_size = d->len / sizeof(struct vring_desc);
		c->indirect = true;
		c->idx = 0;
		c->seen = 1;		/* the table's entries are the chain */
		if (unlikely(vun_tbl_read(t, &vq->mcache, &c->tbl, 0, d) < 0))
			return NULL;
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
	c->tbl.va = (const uint8_t *)vq->desc;
	c->tbl.iova = vq->desc_iova;
	c->tbl_size = vq->size;
	c->idx = head;
	c->indirect = false;
	c->seen = 0;
}

/* ---- client memory spanning segments (the walkers' slow paths) ---- */

bool
vun_span_ok(const struct rte_vfio_user_mem_table *t,
	    struct rte_vfio_user_mem_cache *c, uint64_t iova, uint64_t len,
	    uint32_t access)
{
	if (iova + len < iova)
		return false;
	while (len > 0) {
		uint64_t n = len;

		if (rte_vfio_user_iova_to_va_partial(t, c, iova, &n, access) ==
		    NULL)
			return false;
		iova += n;
		len -= n;
	}
	return true;
}

int
vun_read_span(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	      uint64_t iova, uint32_t len, struct rte_mbuf *m,
	      struct rte_mbuf **cur, uint32_t *skip)
{
	while (len > 0) {
		uint64_t n = len;
		const uint8_t *src = rte_vfio_user_iova_to_va_partial(
			t, &vq->mcache, iova, &n, RTE_VFIO_USER_MEM_F_READ);
		int ret;

		if (src == NULL)
			return -1;
		ret = take_bytes(vq, m, cur, skip, src, (uint32_t)n);
		if (ret < 0)
			return ret;
		iova += n;
		len -= (uint32_t)n;
	}
	return 0;
}

int64_t
vun_fill_span(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	      uint64_t iova, uint32_t len, struct src *s, uint8_t **nb)
{
	int64_t written = 0;

	/* nothing written to a buffer we give back as bad */
	if (!vun_span_ok(t, &vq->mcache, iova, len, RTE_VFIO_USER_MEM_F_WRITE))
		return -1;
	while (len > 0 && src_left(s) > 0) {
		uint64_t n = len;
		uint8_t *dst = rte_vfio_user_iova_to_va_partial(
			t, &vq->mcache, iova, &n, RTE_VFIO_USER_MEM_F_WRITE);

		if (dst == NULL)
			return -1;	/* checked above: cannot happen */
		written += src_copy(s, dst, (uint32_t)n, vq->hdr_len, nb);
		iova += n;
		len -= (uint32_t)n;
	}
	return written;
}

/*
 * As a PCI function does: MSI-X when the driver enabled it (the vector's
 * and the function's mask bits and the SET_IRQS masks latch it in the PBA
 * until unmasked), else INTx with the ISR bit (unless INTx is disabled in
 * the command register). The PCI helper reads the enable and mask state
 * lock-free: a couple of loads per interrupt, at most one per burst.
 */
void
vun_raise_interrupt(struct vun_vq *vq)
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
used_flush(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	   uint16_t old_used)
{
	if (vq->last_used == old_used)
		return;
	__atomic_store_n(&vq->used->idx, vq->last_used, __ATOMIC_RELEASE);
	RTE_SET_USED(t);
	vun_log_used(vq, old_used);
	/* the used index must be visible before we read the driver's
	 * interrupt suppression, or we could miss a needed interrupt */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq_need_interrupt(vq, old_used, vq->last_used))
		vun_raise_interrupt(vq);
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

/* vu_pmd_burst_enter() / vu_pmd_burst_leave(): online in the device's QSBR */
VU_PMD_BURST_DEFINE(struct vun_vq)

/* ---- driver transmitq -> rx_burst ---- */

/* Copy one chain into m (already allocated). 0, -1 for a bad chain, -2
 * out of mbufs. */
static int
dequeue_chain(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	      uint16_t head, struct rte_mbuf *m)
{
	struct rte_mbuf *cur = m;
	uint32_t skip = vq->hdr_len;
	const struct vring_desc *d;
	struct chain c;

	chain_start(&c, vq, head);
	do {
		const uint8_t *src;
		uint32_t len;
		int ret;

		d = chain_desc(vq, t, &c);
		if (unlikely(d == NULL || (d->flags & VRING_DESC_F_WRITE)))
			return -1;
		len = d->len;
		if (unlikely(len == 0))
			continue;	/* nothing to copy (and maybe no address) */
		src = xlate(vq, t, d->addr, len, RTE_VFIO_USER_MEM_F_READ);
		if (likely(src != NULL))
			ret = take_bytes(vq, m, &cur, &skip, src, len);
		else /* not in one segment: piece by piece */
			ret = vun_read_span(vq, t, d->addr, len, m, &cur,
					    &skip);
		if (unlikely(ret < 0))
			return ret;
	} while (chain_next(&c, d));
	return skip > 0 ? -1 : 0;	/* shorter than its header */
}

bool
vun_rx_gso(struct vun_vq *vq, struct rte_mbuf *m, const uint8_t *h)
{
	struct virtio_net_hdr hc;
	uint32_t max_lro = __atomic_load_n(&vq->max_lro, __ATOMIC_RELAXED);
	uint64_t kept = 0;	/* counted once the packet is taken */

	/* read once: the driver may be writing it */
	memcpy(&hc, h, sizeof(hc));
	if (unlikely(!vu_pmd_csum_rx(m, &hc, false, &vq->dev->rx_partial,
				     &kept)))
		goto bad;
	/* LRO off (or the header changed under us): a plain frame, if the
	 * MTU lets it in */
	if (max_lro == 0 || hc.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if (m->pkt_len <= vq->max_frame ||
		    vun_tagged_fits(m, vq->max_frame - RTE_VLAN_HLEN)) {
			vq->st.csum_kept += kept;
			return true;
		}
		vq->st.too_long++;
		return false;
	}
	if (m->pkt_len > max_lro) {
		vq->st.too_long++;
		return false;
	}
	/* (segments of two VLAN tags, which the MTU frame has one of) */
	if (unlikely(!vu_pmd_gso_rx(m, &hc, vq->gso_types,
				    (uint32_t)vq->max_frame + RTE_VLAN_HLEN)))
		goto bad;
	vq->st.lro++;
	vq->st.csum_kept += kept;
	return true;
bad:
	vq->st.bad_desc++;
	return false;
}

/*
 * A data queue's avail index ran more than the ring size ahead of what we
 * consumed: the ring cannot be trusted any more, so the queue serves
 * nothing (the data path) and the device asks for a reset (VIRTIO 1.x
 * 2.1.2), as for the control queue. The status is the event thread's:
 * the polling lcore only posts the error there, once per queue.
 */
void __rte_cold
vun_vq_broken(struct vun_vq *vq)
{
	uint64_t one = 1;
	uint32_t fresh = 0;

	vq->st.bad_desc++;
	if (__atomic_compare_exchange_n(&vq->avail_broken, &fresh, 1, false,
					__ATOMIC_RELEASE, __ATOMIC_RELAXED) &&
	    vq->dev->error_efd >= 0 &&
	    write(vq->dev->error_efd, &one, sizeof(one)) < 0)
		VUN_LOG(ERR, "%s: queue %u: cannot post a driver error: %s",
			vq->dev->path, vq->index, strerror(errno));
}

static __rte_always_inline uint16_t
rx_split(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	 struct rte_mbuf **pkts, uint16_t n)
{
	const uint8_t *src[VUN_BURST];
	uint32_t len[VUN_BURST];
	uint16_t head[VUN_BURST];
	uint16_t avail, count, i, nrx = 0, old_used, mask = vq->size - 1;
	uint16_t port = vq->port_id;
	uint32_t room;
	uint64_t bytes = 0, rearm;
	const bool csum = vq->csum;
	struct xwin w;

	avail = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	count = (uint16_t)(avail - vq->last_avail);
	if (unlikely(count > vq->size)) {
		vun_vq_broken(vq);
		count = 0;
	}
	if (count > n)
		count = n;
	if (count > VUN_BURST)
		count = VUN_BURST;
	if (count == 0)
		return 0;
	if (unlikely(rte_mempool_get_bulk(vq->mp, (void **)pkts, count))) {
		vq->st.nombuf++;	/* packets wait in the ring */
		return 0;
	}
	rearm = vu_pmd_mbuf_rearm_word(pkts[0], port);
	/* a frame the fast path copies fits one fresh mbuf, and the MTU */
	room = pkts[0]->buf_len - (uint32_t)(rearm & 0xffff);
	room = RTE_MIN(room, (uint32_t)vq->max_frame);

	/* pass 1: heads, descriptors (read once), translation, prefetch */
	xwin_init(&w, vq, t);
	for (i = 0; i < count; i++) {
		uint16_t h =
			vq->avail->ring[(uint16_t)(vq->last_avail + i) & mask];
		struct vring_desc d;

		head[i] = h;
		src[i] = NULL;
		if (unlikely(h >= vq->size))
			continue;
		memcpy(&d, &vq->desc[h], sizeof(d));
		if (likely(!(d.flags &
			     (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT |
			      VRING_DESC_F_WRITE)) &&
			   d.len >= VUN_HDR_LEN + RTE_ETHER_HDR_LEN &&
			   d.len - VUN_HDR_LEN <= room)) {
			const uint8_t *p = xwin_xlate(&w, vq, t, d.addr, d.len,
						      RTE_VFIO_USER_MEM_F_READ);

			if (likely(p != NULL)) {
				src[i] = p + VUN_HDR_LEN;
				len[i] = d.len - VUN_HDR_LEN;
				rte_prefetch0(src[i]);
			}
		}
	}

	/* pass 2: copies; anything else through the chain walker */
	old_used = vq->last_used;
	for (i = 0; i < count; i++) {
		struct rte_mbuf *m = pkts[i];
		const uint8_t *hdr;
		int ret;

		if (likely(src[i] != NULL)) {
			vu_pmd_mbuf_rx_init(m, rearm, len[i]);
			copy_frame_in(rte_pktmbuf_mtod(m, uint8_t *), src[i],
				   len[i]);
			hdr = src[i] - VUN_HDR_LEN;
		} else {
			const struct rte_vfio_user_mem_table *nt;

			vu_pmd_mbuf_rx_init(m, rearm, 0);
			ret = dequeue_chain(vq, t, head[i], m);
			if (unlikely(ret == -1) &&
			    (nt = vun_table_newer(vq, t)) != NULL) {
				/* mapped since the burst began (vun_ring.h) */
				t = nt;
				vun_mbuf_rewind(m, rearm);
				ret = dequeue_chain(vq, t, head[i], m);
			}
			if (unlikely(ret == -2)) {
				/* out of mbufs inside a chain: leave this packet
				 * and the rest in the ring for the next burst */
				rte_pktmbuf_free(m);
				rte_mempool_put_bulk(vq->mp,
						     (void **)&pkts[i + 1],
						     count - i - 1);
				count = i;
				break;
			}
			/* a bad chain, a runt (the virtio header and less
			 * than an Ethernet header after it), or longer than
			 * the MTU lets in */
			if (unlikely(vun_rx_bad(vq, ret, m))) {
				rte_pktmbuf_free(m);
				continue;
			}
			hdr = vq->rx_hdr;
		}
		if (unlikely(csum) && unlikely(!vun_rx_offloads(vq, m, hdr))) {
			rte_pktmbuf_free(m);
			continue;
		}
		bytes += m->pkt_len;
		pkts[nrx++] = m;
	}
	if (count == 0)
		return 0;
	/* chains from the driver's transmitq are used with nothing written:
	 * in order, one entry tells the driver about the whole batch */
	if (vq->in_order) {
		vq_used_put(vq, head[count - 1], 0);
		vq->last_used = (uint16_t)(old_used + count);
	} else {
		for (i = 0; i < count; i++)
			vq_used_put(vq, head[i], 0);
	}
	vq->last_avail += count;
	suppress_kicks(vq);
	used_flush(vq, t, old_used);
	vq->st.packets += nrx;
	vq->st.bytes += bytes;
	return nrx;
}

static __rte_always_inline uint16_t
tx_split(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	 struct rte_mbuf **pkts, uint16_t n);

/*
 * A burst on shadow rings (vun_shadow.h): the copy brought up to date,
 * the usual burst on it, what it used written back; the interrupt decided
 * on the driver's fields. Out of line: the usual bursts pay one branch.
 */
static __rte_noinline uint16_t
shadow_burst(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	     struct rte_mbuf **pkts, uint16_t n, bool rx)
{
	uint16_t old = vq->last_used, ret;
	bool old_wrap = vq->used_wrap;

	vun_shadow_in(vq);
	if (vq->packed)
		ret = rx ? vun_rx_packed(vq, t, pkts, n) :
			   vun_tx_packed(vq, t, pkts, n);
	else
		ret = rx ? rx_split(vq, t, pkts, n) : tx_split(vq, t, pkts, n);
	if (vun_shadow_out(vq, t, old, old_wrap))
		vun_raise_interrupt(vq);
	return ret;
}

/* A burst on vq for the ethdev queue own (vq itself, or the receive
 * queue of the set vq is in). */
static __rte_always_inline uint16_t
rx_one(struct vun_vq *own, struct vun_vq *vq, struct rte_mbuf **pkts,
       uint16_t n)
{
	const struct rte_vfio_user_mem_table *t;
	unsigned int lcore;
	uint16_t nrx;

	if (unlikely(!vu_pmd_burst_enter(vq, &lcore)))
		return 0;
	/* read inside the QSBR section: once a queue stop returns, no
	 * burst is past this */
	if (unlikely(__atomic_load_n(&own->stopped, __ATOMIC_ACQUIRE))) {
		vu_pmd_burst_leave(vq, lcore);
		return 0;
	}
	t = rte_vfio_user_get_mem_table(vq->dev->dev_id);
	if (unlikely(vq->shadow != NULL))
		nrx = shadow_burst(vq, t, pkts, n, true);
	else if (vq->packed)
		nrx = vun_rx_packed(vq, t, pkts, n);
	else
		nrx = rx_split(vq, t, pkts, n);
	vu_pmd_burst_leave(vq, lcore);
	return nrx;
}

/*
 * A receive queue polling several pairs' transmitqs (struct vun_rx_set):
 * those of the pairs the driver enabled, from a different one each burst;
 * the others (what a driver queued before a smaller VQ_PAIRS_SET) only
 * when those had nothing. Each is entered and left as a burst of its own.
 * Out of line: the usual burst pays one branch.
 */
static __rte_noinline uint16_t
rx_set_burst(struct vun_vq *own, struct rte_mbuf **pkts, uint16_t n)
{
	struct vun_rx_set *s = own->rx_set;
	uint16_t active = __atomic_load_n(&s->vq[0]->dev->active_pairs,
					  __ATOMIC_RELAXED);
	uint16_t k = s->next, nrx = 0;

	for (uint16_t i = 0; i < s->n && nrx < n; i++) {
		if (s->vq[k]->qid < active)
			nrx += rx_one(own, s->vq[k], pkts + nrx, n - nrx);
		if (++k == s->n)
			k = 0;
	}
	if (++s->next == s->n)
		s->next = 0;
	for (uint16_t i = 0; i < s->n && nrx == 0; i++)
		if (s->vq[i]->qid >= active)
			nrx = rx_one(own, s->vq[i], pkts, n);
	return nrx;
}

uint16_t
vun_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vun_vq *vq = q;

	if (unlikely(vq->rx_set != NULL))
		return rx_set_burst(vq, pkts, n);
	return rx_one(vq, vq, pkts, n);
}

/* ---- tx_burst -> driver receiveq ---- */

__rte_noinline bool
vun_tagged_fits(const struct rte_mbuf *m, uint16_t untagged)
{
	return m->pkt_len <= (uint32_t)untagged + vun_vlan_len(m);
}

bool
vun_tx_fast_tso(struct vun_vq *vq, struct rte_mbuf *m, void *hdr)
{
	struct vun_tx_ol o = vun_tx_ol(vq, m);

	if (vu_pmd_tso_way(m, o.gso) == VU_PMD_TSO_CUT)
		return false;
	vu_pmd_csum_tx(m, o.partial, o.gso, hdr);
	return true;
}

/* Fill one buffer (a descriptor chain) from s. Returns bytes written or
 * -1 for a bad chain. Out of line: inlined, its slow paths cost the fast
 * path of tx_split() an instruction per packet (devtools/ring-bench.sh). */
static __rte_noinline int64_t
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
		if (likely(dst != NULL)) {
			written += src_copy(s, dst, d->len, vq->hdr_len, nb);
		} else if (d->len != 0) {
			/* not in one segment: piece by piece */
			int64_t w = vun_fill_span(vq, t, d->addr, d->len, s,
						  nb);

			if (unlikely(w < 0))
				return -1;
			written += (uint32_t)w;
		}
	} while (chain_next(&c, d));
	return written;
}

/*
 * Fast path: from pkts[0], the longest run (at most VUN_BURST) of
 * single-segment packets that each fit the next available buffer, a
 * single writable descriptor. Returns how many were sent (0: none of
 * this shape at the head of pkts).
 */
static __rte_always_inline uint16_t
tx_split_fast(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	      struct rte_mbuf **pkts, uint16_t n, uint16_t avail,
	      uint64_t *bytes)
{
	uint8_t *dst[VUN_BURST];
	uint16_t head[VUN_BURST];
	uint16_t mask = vq->size - 1, k, i;
	const uint16_t max_frame = vq->max_frame;
	struct xwin w;

	xwin_init(&w, vq, t);
	k = (uint16_t)(avail - vq->last_avail);
	k = RTE_MIN(k, n);
	k = RTE_MIN(k, (uint16_t)VUN_BURST);
	for (i = 0; i < k; i++) {
		const struct rte_mbuf *m = pkts[i];
		uint16_t h =
			vq->avail->ring[(uint16_t)(vq->last_avail + i) & mask];
		uint32_t need = VUN_HDR_LEN + m->data_len;
		struct vring_desc d;

		if (unlikely(m->nb_segs != 1 || h >= vq->size))
			break;
		if (unlikely(m->data_len > max_frame) &&
		    !vun_tagged_fits(m, max_frame))
			break;
		memcpy(&d, &vq->desc[h], sizeof(d));
		if (unlikely((d.flags &
			      (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT |
			       VRING_DESC_F_WRITE)) != VRING_DESC_F_WRITE ||
			     d.len < need))
			break;
		/* all of it in the map, as the general path asks */
		dst[i] = xwin_xlate(&w, vq, t, d.addr, d.len,
				    RTE_VFIO_USER_MEM_F_WRITE);
		if (unlikely(dst[i] == NULL))
			break;
		head[i] = h;
		vu_pmd_prefetch_w(dst[i]);
		vu_pmd_prefetch_w(dst[i] + VUN_HDR_LEN);
	}
	k = i;
	for (i = 0; i < k; i++) {
		struct rte_mbuf *m = pkts[i];

		put_hdr(dst[i]);
		/* one to cut: the general path's */
		if (unlikely(m->ol_flags & VU_PMD_TX_OFFLOAD_FLAGS) &&
		    !vun_tx_fast_ol(vq, m, dst[i]))
			break;
		copy_frame(dst[i] + VUN_HDR_LEN,
			   rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
		vq_used_put(vq, head[i], VUN_HDR_LEN + m->data_len);
		*bytes += m->data_len;
	}
	vq->last_avail += i;
	return i;
}

static __rte_always_inline uint16_t
tx_split(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	 struct rte_mbuf **pkts, uint16_t n)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = {
		.hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE },
		.num_buffers = 1,
	};
	uint16_t avail, i, old_used;
	uint64_t bytes = 0, sent = 0;

	avail = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (unlikely((uint16_t)(avail - vq->last_avail) > vq->size)) {
		vun_vq_broken(vq);
		avail = vq->last_avail;
	}
	old_used = vq->last_used;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint16_t start_avail = vq->last_avail, start_used = vq->last_used;
		uint8_t *nb[2] = { NULL, NULL };
		uint16_t nbufs = 0, k, head = 0;
		struct src s = {
			.hdr = (const uint8_t *)&hdr, .hdr_left = vq->hdr_len,
			.seg = m, .off = 0, .data_left = m->pkt_len,
		};
		struct vun_tx_ol o;
		bool bad = false;

		k = tx_split_fast(vq, t, &pkts[i], n - i, avail, &bytes);
		if (k > 0) {
			sent += k;
			i += k - 1;
			continue;
		}
		o = vun_tx_ol(vq, m);
		if (unlikely(vun_tx_cut_next(vq, m, o)))
			break;		/* cut into segments: vu_pmd_tx_cut() */
		if (unlikely(vun_tx_too_long(vq, m, o)))
			continue;	/* dropped: longer than the MTU */
		memset(&hdr.hdr, 0, sizeof(hdr.hdr));
		if (unlikely(m->ol_flags & VU_PMD_TX_OFFLOAD_FLAGS))
			vu_pmd_csum_tx(m, o.partial, o.gso, &hdr);
		while (src_left(&s) > 0) {
			const struct rte_vfio_user_mem_table *nt;
			struct src s0 = s;
			uint8_t *nb0[2] = { nb[0], nb[1] };
			int64_t w;

			if (vq->last_avail == avail ||
			    (!vq->mrg_rxbuf && nbufs == 1))
				break;	/* out of buffers / one buffer only */
			head = vq->avail->ring[vq->last_avail & (vq->size - 1)];
			vq->last_avail++;
			w = fill_chain(vq, t, head, &s, nb);
			if (unlikely(w < 0) &&
			    (nt = vun_table_newer(vq, t)) != NULL) {
				/* mapped since the burst began (vun_ring.h):
				 * this buffer again, from where it started */
				t = nt;
				s = s0;
				nb[0] = nb0[0];
				nb[1] = nb0[1];
				w = fill_chain(vq, t, head, &s, nb);
			}
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
			vq->tx_st->drops++;
			continue;
		}
		if (unlikely(src_left(&s) > 0)) {
			bool full = (vq->mrg_rxbuf || nbufs == 0) &&
				    (uint16_t)(vq->last_avail - start_avail) <
					    vq->size;

			vq->last_avail = start_avail;
			vq->last_used = start_used;
			/* out of buffers: the rest to the caller */
			if (full)
				break;
			/* larger than the driver's one buffer, or (mergeable)
			 * than its whole ring: dropped, the buffers left
			 * available for the packets after it (a used buffer
			 * must hold a header, VIRTIO 5.1.6.4; QEMU leaves them
			 * too) */
			vq->tx_st->drops++;
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
	}
	suppress_kicks(vq);
	used_flush(vq, t, old_used);
	/* what we took: sent, or dropped */
	vu_pmd_free_pkts(pkts, i);
	vq->tx_st->packets += sent;
	vq->tx_st->bytes += bytes;
	return i;
}

static __rte_always_inline uint16_t
tx_any(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
       struct rte_mbuf **pkts, uint16_t n)
{
	if (unlikely(vq->shadow != NULL))
		return shadow_burst(vq, t, pkts, n, false);
	if (vq->packed)
		return vun_tx_packed(vq, t, pkts, n);
	return tx_split(vq, t, pkts, n);
}

/* tx_any() for vu_pmd_tx_cut() */
struct tx_ctx {
	struct vun_vq *vq;
	const struct rte_vfio_user_mem_table *t;
};

static uint16_t
tx_any_ctx(void *ctx, struct rte_mbuf **pkts, uint16_t n)
{
	const struct tx_ctx *c = ctx;

	return tx_any(c->vq, c->t, pkts, n);
}

uint16_t
vun_bufs_avail(struct vun_vq *vq, uint16_t limit, bool driver)
{
	uint16_t n;

	if (vq->packed)
		return vun_packed_bufs_count(vq, limit, driver);
	if (driver && vq->shadow != NULL)
		n = vun_shadow_avail_idx(vq);
	else
		n = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	n = (uint16_t)(n - vq->last_avail);
	if (unlikely(n > vq->size))
		return 0;	/* a bad index: the next burst says it */
	return RTE_MIN(n, limit);
}

/* Whether the driver has posted n buffers at least (what n segments, each
 * within the MTU, take; more, if its buffers are smaller than a frame) */
static bool
tx_fits(void *ctx, struct rte_mbuf **seg, uint16_t n)
{
	const struct tx_ctx *c = ctx;
	struct vun_vq *vq = c->vq;

	RTE_SET_USED(seg);
	return vun_bufs_avail(vq, n, false) >= n;
}

static const struct vu_pmd_tx_ops tx_ops = { tx_fits, tx_any_ctx };

/* A burst on a pair's receiveq: its packets, then any to cut. */
static __rte_always_inline uint16_t
tx_pair(struct vun_vq *vq, struct rte_mbuf **pkts, uint16_t n)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		vq->dev->dev_id);
	uint16_t ntx = tx_any(vq, t, pkts, n);

	if (unlikely(vq->cut_next))
		ntx = vu_pmd_tx_cut(pkts, n, ntx, &vq->cut_next,
				    &vq->tx_st->drops, &tx_ops,
				    &(struct tx_ctx){ vq, t });
	return ntx;
}

/*
 * More transmit queues than the driver's pairs (VUN_TX_SHARED): queue q
 * sends through pair q % pairs (vun_tx_pair_of()), under its lock.
 * Out of line: the usual burst pays one branch.
 */
static __rte_noinline uint16_t
tx_shared(struct vun_vq *own, uint32_t map, struct rte_mbuf **pkts, uint16_t n)
{
	struct vun_vq *vq = vun_tx_pair_of(own, map);
	uint16_t ntx;

	if (vq == NULL)
		return 0;
	rte_spinlock_lock(&vq->tx_lock);
	/* counted as the sending queue's (its q_opackets), not the pair's */
	vq->tx_st = &own->st;
	ntx = tx_pair(vq, pkts, n);
	vq->tx_st = &vq->st;
	rte_spinlock_unlock(&vq->tx_lock);
	return ntx;
}

uint16_t
vun_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vun_vq *vq = q;
	struct vun_dev *dev = vq->dev;
	unsigned int lcore;
	uint32_t map;
	uint16_t ntx = 0;

	/* a queue stopped (by the application), not running, or of a pair
	 * the driver did not enable (MQ): the caller keeps the packets, as
	 * with any full queue. The pairs (the map, vun_tx_map_update()), the
	 * queue's readiness, the map again (a map from before a reset is not
	 * used after it), all inside the QSBR section: once the device
	 * acknowledges a smaller VQ_PAIRS_SET (after a grace period), no
	 * burst that saw the old count is still filling a queue it
	 * disabled. */
	if (unlikely(!vu_pmd_online(vq, &lcore)))
		return 0;
	/* the ethdev queue stopped, whatever pair it sends through: as
	 * rx_one() */
	if (unlikely(__atomic_load_n(&vq->stopped, __ATOMIC_ACQUIRE))) {
		vu_pmd_burst_leave(vq, lcore);
		return 0;
	}
	map = __atomic_load_n(&dev->tx_map, __ATOMIC_ACQUIRE);
	if (unlikely(map & VUN_TX_SHARED))
		ntx = tx_shared(vq, map, pkts, n);
	else if (likely(vun_tx_pair_of(vq, map) != NULL))	/* vq itself */
		ntx = tx_pair(vq, pkts, n);
	vu_pmd_burst_leave(vq, lcore);
	return ntx;
}

/* ---- control queue descriptors (with vun_packed.c's and vun_virtio.c's
 * control queues; here so that fuzz_vring has it) ---- */

bool
vun_ctrl_desc(const struct rte_vfio_user_mem_table *t,
	      struct rte_vfio_user_mem_cache *c, uint64_t addr, uint32_t len,
	      bool write, uint8_t *cmd, uint32_t *cmd_len, uint8_t **ack)
{
	if (write) {
		uint64_t one = 1;

		if (len == 0)
			return true;
		if (!vun_span_ok(t, c, addr, len, RTE_VFIO_USER_MEM_F_WRITE))
			return false;
		if (*ack == NULL)
			*ack = rte_vfio_user_iova_to_va_partial(
				t, c, addr, &one, RTE_VFIO_USER_MEM_F_WRITE);
		return true;
	}
	if (*ack != NULL || len > VUN_CTRL_MAX_CMD - *cmd_len)
		return false; /* data after the ack, or too big */
	if (len > 0 &&
	    rte_vfio_user_mem_read(t, c, addr, cmd + *cmd_len, len) != 0)
		return false;
	*cmd_len += len;
	return true;
}
