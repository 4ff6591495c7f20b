/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The device side of packed virtqueues (VIRTIO 1.x 2.8,
 * VIRTIO_F_RING_PACKED), behind the same burst functions as split ones
 * (vun_ring.c calls these online in the QSBR, with the queue ready).
 *
 * One ring of descriptors, read and written by both sides. We read the
 * driver's descriptors in ring order from last_avail, where a descriptor
 * is available when its AVAIL bit equals our avail wrap counter and its
 * USED bit does not; a buffer is a chain (NEXT) of descriptors in ring
 * order or one indirect descriptor, its id in its last descriptor. We
 * write used descriptors in ring order from last_used: id, length, then
 * the flags (AVAIL and USED both equal to our used wrap counter). The
 * first used descriptor of a burst gets its flags last, after everything
 * else of the burst, so the driver sees the burst whole.
 *
 * With VIRTIO_F_IN_ORDER the driver's transmit buffers come back as one
 * used descriptor per burst (the last buffer's id, at the burst's first
 * position, VIRTIO 1.x 2.8.9): one descriptor line goes back to the
 * driver per burst, the others stay shared.
 *
 * A driver cannot make us loop or reach outside its memory: chains are at
 * most a ring long and must be available all along, indirect tables are
 * translated whole and walked within their length, every buffer is
 * translated against the DMA map; ids are the driver's own business (we
 * only hand them back).
 *
 * Notifications: data queues ask for no kicks (device event suppression
 * DISABLE, set at DRIVER_OK); interrupts follow the driver event
 * suppression structure (ENABLE, DISABLE, or with VIRTIO_RING_F_EVENT_IDX
 * a descriptor position and wrap counter).
 */

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <linux/virtio_ring.h>

#include "vun.h"
#include "vun_ring.h"
#include "vun_shadow.h"

#define F_AVAIL		(1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED		(1u << VRING_PACKED_DESC_F_USED)
#define F_CHAIN		(VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT)
/* Most segments one packet's receive buffers may have (mergeable buffers
 * or chains); a driver offering more, smaller pieces gets a drop. */
#define MAX_SEGS	64

/* The AVAIL/USED bits of an available descriptor for wrap counter w. */
static __rte_always_inline uint16_t
avail_bits(bool w)
{
	return w ? F_AVAIL : F_USED;
}

/* The AVAIL/USED bits of a used descriptor for wrap counter w. */
static __rte_always_inline uint16_t
used_bits(bool w)
{
	return w ? (F_AVAIL | F_USED) : 0;
}

static __rte_always_inline bool
is_avail(uint16_t flags, bool w)
{
	return (flags & (F_AVAIL | F_USED)) == avail_bits(w);
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

static __rte_always_inline uint16_t
load_flags(const struct vring_packed_desc *d)
{
	return __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE);
}

/*
 * Length of the chain that starts at pos (available, flags f): 1 for a
 * lone or indirect descriptor, else up to the first one without NEXT.
 * *id gets the buffer id (in the last descriptor). Returns the length;
 * 0 for a malformed chain (an indirect descriptor in it, or NEXT all
 * round the ring), to give back whole (*len descriptors, *id the last
 * one's id); or -1 if the rest of the chain is not available yet: the
 * driver makes the head available last, so a chain is taken only once
 * all of it is there.
 */
static int
chain_scan(const struct vun_vq *vq, uint16_t pos, bool wrap, uint16_t f,
	   uint16_t *id, uint16_t *len)
{
	uint16_t n = 1;
	bool bad = false;

	while (f & VRING_DESC_F_NEXT) {
		if (unlikely(n == vq->size)) {
			bad = true;	/* a loop */
			break;
		}
		bad |= f & VRING_DESC_F_INDIRECT;	/* not in a chain */
		pos_add(&pos, &wrap, 1, vq->size);
		f = load_flags(&vq->pdesc[pos]);
		if (unlikely(!is_avail(f, wrap)))
			return -1;
		n++;
	}
	bad |= n > 1 && (f & VRING_DESC_F_INDIRECT);
	*id = vq->pdesc[pos].id;
	*len = n;
	return bad ? 0 : n;
}

/* ---- used descriptors ---- */

/*
 * Where a burst writes used descriptors (kept out of the queue structure:
 * stores into the ring could alias it), and its first one, whose flags go
 * last.
 */
struct used_head {
	struct vring_packed_desc *ring;
	uint16_t size;
	uint16_t pos;			/* next used position */
	bool wrap;			/* its wrap counter */
	bool set;			/* head_pos/head_flags hold the first */
	uint16_t head_pos;
	uint16_t head_flags;
};

static __rte_always_inline void
used_begin(struct used_head *h, const struct vun_vq *vq)
{
	h->ring = vq->pdesc;
	h->size = vq->size;
	h->pos = vq->last_used;
	h->wrap = vq->used_wrap;
	h->set = false;
	h->head_pos = 0;
	h->head_flags = 0;
}

/* Mark the buffer id used with len bytes written; it took nd descriptors. */
static __rte_always_inline void
used_put(struct used_head *h, uint16_t id, uint32_t len, uint16_t nd)
{
	struct vring_packed_desc *d = &h->ring[h->pos];
	uint16_t flags = used_bits(h->wrap) |
			 (len != 0 ? VRING_DESC_F_WRITE : 0);

	d->id = id;
	d->len = len;
	if (!h->set) {
		h->head_pos = h->pos;
		h->head_flags = flags;
		h->set = true;
	} else {
		__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
	}
	pos_add(&h->pos, &h->wrap, nd, h->size);
}

/* Position p (wrap w) on a line of 2 * size positions. */
static __rte_always_inline uint32_t
lin(uint16_t p, bool w, uint16_t size)
{
	return w ? p : (uint32_t)p + size;
}

/*
 * Whether the driver wants an interrupt for the descriptors used from
 * (old, old_wrap) to last_used: its driver event suppression ev says
 * always, never, or (EVENT_IDX) when the descriptor at its position was
 * used. ev is vq->drv_event, or with shadow rings the driver's own.
 */
bool
vun_packed_need_interrupt(const struct vun_vq *vq,
			  const struct vring_packed_desc_event *ev,
			  uint16_t old, bool old_wrap)
{
	uint16_t flags = __atomic_load_n(&ev->flags, __ATOMIC_ACQUIRE) & 0x3;
	uint32_t two = 2u * vq->size, o, n, e;
	uint16_t off_wrap, off;

	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx)
		return true;	/* ENABLE, or what we cannot read: signal */
	off_wrap = __atomic_load_n(&ev->off_wrap, __ATOMIC_ACQUIRE);
	off = off_wrap & 0x7fff;
	if (off >= vq->size)
		return true;
	o = lin(old, old_wrap, vq->size);
	n = lin(vq->last_used, vq->used_wrap, vq->size);
	e = lin(off, off_wrap >> 15, vq->size);
	return (e + two - o) % two < (n + two - o) % two;
}

static __rte_always_inline bool
need_interrupt(const struct vun_vq *vq, uint16_t old, bool old_wrap)
{
	return vun_packed_need_interrupt(vq, vq->drv_event, old, old_wrap);
}

/* Publish the burst (its first flags last), log it, interrupt if asked. */
static __rte_always_inline void
used_flush(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	   struct used_head *h, uint16_t old, bool old_wrap)
{
	if (!h->set)
		return;
	vq->last_used = h->pos;
	vq->used_wrap = h->wrap;
	__atomic_store_n(&vq->pdesc[h->head_pos].flags, h->head_flags,
			 __ATOMIC_RELEASE);
	log_ring(vq, t, vq->desc_iova, (uint64_t)vq->size * sizeof(*vq->pdesc));
	/* the flags must be visible before we read the driver's event
	 * suppression, or we could miss a needed interrupt */
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (need_interrupt(vq, old, old_wrap))
		vun_raise_interrupt(vq);
}

/* ---- driver transmitq -> rx_burst ---- */

/*
 * Copy the buffer of nd descriptors at pos into m (header skipped): a
 * chain of device-readable descriptors, or one indirect table. 0, -1 for
 * a bad buffer, -2 out of mbufs.
 */
static int
dequeue_buf(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	    uint16_t pos, bool wrap, uint16_t nd, struct rte_mbuf *m)
{
	struct vun_tbl tbl = { NULL, 0 };
	struct rte_mbuf *cur = m;
	uint32_t skip = vq->hdr_len, n = nd;
	bool ind = false;

	for (uint32_t k = 0; k < n; k++) {
		struct vring_packed_desc d;
		const uint8_t *src;
		int ret;

		if (ind) {
			if (vun_tbl_read(t, &vq->mcache, &tbl, k, &d) < 0)
				return -1;
		} else {
			memcpy(&d, &vq->pdesc[pos], sizeof(d));
			pos_add(&pos, &wrap, 1, vq->size);
			if (d.flags & VRING_DESC_F_INDIRECT) {
				/* alone, when negotiated, whole entries */
				if (nd != 1 || !vq->indirect || d.len == 0 ||
				    d.len % sizeof(d) != 0)
					return -1;
				if (vun_tbl_open(t, &vq->mcache, &tbl, d.addr,
						 d.len) < 0)
					return -1;
				ind = true;
				n = d.len / sizeof(d);
				k = (uint32_t)-1;
				continue;
			}
		}
		if (unlikely(d.flags & VRING_DESC_F_WRITE))
			return -1;
		if (unlikely(d.len == 0))
			continue;	/* nothing to copy (and maybe no address) */
		src = xlate(vq, t, d.addr, d.len, RTE_VFIO_USER_MEM_F_READ);
		if (likely(src != NULL))
			ret = take_bytes(vq, m, &cur, &skip, src, d.len);
		else	/* not in one segment: piece by piece */
			ret = vun_read_span(vq, t, d.addr, d.len, m, &cur,
					    &skip);
		if (unlikely(ret < 0))
			return ret;
	}
	return skip > 0 ? -1 : 0;	/* shorter than its header */
}

uint16_t
vun_rx_packed(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	      struct rte_mbuf **pkts, uint16_t n)
{
	const uint8_t *src[VUN_BURST];
	uint32_t len[VUN_BURST];
	uint16_t id[VUN_BURST], nd[VUN_BURST], at[VUN_BURST];
	struct vring_packed_desc *ring = vq->pdesc;
	uint16_t count, i, nrx = 0, pos = vq->last_avail, size = vq->size;
	uint16_t old_used = vq->last_used, port = vq->port_id, total = 0;
	uint16_t ab = avail_bits(vq->avail_wrap);
	bool wrap = vq->avail_wrap, old_wrap = vq->used_wrap;
	struct used_head h;
	uint64_t bytes = 0, rearm, atw = 0;
	uint32_t room = VUN_MAX_FRAME;
	const bool csum = vq->csum;
	struct xwin w;

	count = RTE_MIN(n, (uint16_t)VUN_BURST);
	xwin_init(&w, vq, t);
	/* pass 1: the available buffers, read once; lone descriptors are
	 * checked and translated, their data prefetched */
	for (i = 0; i < count; i++) {
		struct vring_packed_desc d;
		uint16_t f = load_flags(&ring[pos]), l = 1;

		if ((f & (F_AVAIL | F_USED)) != ab)
			break;
		memcpy(&d, &ring[pos], sizeof(d));
		src[i] = NULL;
		id[i] = d.id;
		if (likely(!(f & (F_CHAIN | VRING_DESC_F_WRITE)))) {
			if (likely(d.len >= VUN_HDR_LEN + RTE_ETHER_HDR_LEN &&
				   d.len - VUN_HDR_LEN <= room)) {
				const uint8_t *p =
					xwin_xlate(&w, vq, t, d.addr, d.len,
						   RTE_VFIO_USER_MEM_F_READ);

				if (likely(p != NULL)) {
					src[i] = p + VUN_HDR_LEN;
					len[i] = d.len - VUN_HDR_LEN;
					rte_prefetch0(src[i]);
				}
			}
		} else if (f & VRING_DESC_F_NEXT) {
			int r = chain_scan(vq, pos, wrap, f, &id[i], &l);

			if (r < 0)
				break;		/* the rest is not there yet */
			if (r == 0)
				atw |= 1ULL << (32 + i);	/* malformed */
			/* no more descriptors than the ring holds */
			if (unlikely(total + l > size))
				break;
		}
		total = (uint16_t)(total + l);
		at[i] = pos;
		nd[i] = l;
		if (wrap)
			atw |= 1ULL << i;
		pos = (uint16_t)(pos + l);
		if (unlikely(pos >= size)) {
			pos = (uint16_t)(pos - size);
			wrap = !wrap;
			ab = avail_bits(wrap);
		}
	}
	count = i;
	if (count == 0)
		return 0;
	if (unlikely(rte_mempool_get_bulk(vq->mp, (void **)pkts, count))) {
		vq->st.nombuf++;	/* packets wait in the ring */
		return 0;
	}
	vu_pmd_prefetch_w(&ring[vq->last_used]);
	rearm = vu_pmd_mbuf_rearm_word(pkts[0], port);
	/* a frame copied here fits one fresh mbuf, and the MTU */
	room = pkts[0]->buf_len - (uint32_t)(rearm & 0xffff);
	room = RTE_MIN(room, (uint32_t)vq->max_frame);
	for (i = 0; i < count; i++) {
		struct rte_mbuf *m = pkts[i];
		const uint8_t *hdr;
		int ret;

		if (likely(src[i] != NULL && len[i] <= room)) {
			vu_pmd_mbuf_rx_init(m, rearm, len[i]);
			copy_frame_in(rte_pktmbuf_mtod(m, uint8_t *), src[i],
				   len[i]);
			hdr = src[i] - VUN_HDR_LEN;
		} else {
			/* chains, indirect tables, big frames */
			const struct rte_vfio_user_mem_table *nt;
			bool malformed = (atw >> (32 + i)) & 1;

			vu_pmd_mbuf_rx_init(m, rearm, 0);
			ret = malformed ? -1 :
					  dequeue_buf(vq, t, at[i],
						      (atw >> i) & 1, nd[i], m);
			if (unlikely(ret == -1) && !malformed &&
			    (nt = vun_table_newer(vq, t)) != NULL) {
				/* mapped since the burst began (vun_ring.h) */
				t = nt;
				vun_mbuf_rewind(m, rearm);
				ret = dequeue_buf(vq, t, at[i], (atw >> i) & 1,
						  nd[i], m);
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
			if (unlikely(vun_rx_bad(vq, ret, m))) {
				rte_pktmbuf_free(m);	/* see vun_ring.c */
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
	if (unlikely(count == 0))
		return 0;
	/* the buffers come back with nothing written: in order, the last id
	 * at the first position tells about them all */
	used_begin(&h, vq);
	if (vq->in_order) {
		uint16_t all = 0;

		for (i = 0; i < count; i++)
			all = (uint16_t)(all + nd[i]);
		used_put(&h, id[count - 1], 0, all);
	} else {
		for (i = 0; i < count; i++)
			used_put(&h, id[i], 0, nd[i]);
	}
	vq->last_avail = at[count - 1];
	vq->avail_wrap = (atw >> (count - 1)) & 1;
	pos_add(&vq->last_avail, &vq->avail_wrap, nd[count - 1], size);
	used_flush(vq, t, &h, old_used, old_wrap);
	vq->st.packets += nrx;
	vq->st.bytes += bytes;
	return nrx;
}

/* ---- tx_burst -> driver receiveq ---- */

/* A piece of receive buffer we may write, and the buffer it is part of. */
struct seg {
	uint8_t *va;
	uint32_t len;
};

struct rxbuf {
	uint16_t id;
	uint16_t nd;		/* ring descriptors */
	uint16_t nseg;		/* its segments in the seg list */
};

/*
 * The pieces of a writable descriptor [iova, iova + len) from seg[nseg]
 * on: itself when one segment holds it, else one piece per segment it
 * spans (checked whole first). Returns how many, -1 for a bad descriptor,
 * -2 for more pieces than MAX_SEGS in all.
 */
static __rte_always_inline int
add_pieces(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	   uint64_t iova, uint32_t len, struct seg *seg, uint16_t nseg)
{
	uint16_t k = nseg;

	if (nseg == MAX_SEGS)
		return -2;
	seg[k].va = xlate(vq, t, iova, len, RTE_VFIO_USER_MEM_F_WRITE);
	if (likely(seg[k].va != NULL)) {
		seg[k].len = len;
		return 1;
	}
	/* not in one segment: a piece per segment (the slow path) */
	if (!vun_span_ok(t, &vq->mcache, iova, len, RTE_VFIO_USER_MEM_F_WRITE))
		return -1;
	while (len > 0) {
		uint64_t n = len;

		if (k == MAX_SEGS)
			return -2;
		seg[k].va = rte_vfio_user_iova_to_va_partial(
			t, &vq->mcache, iova, &n, RTE_VFIO_USER_MEM_F_WRITE);
		if (seg[k].va == NULL)
			return -1;	/* checked above: cannot happen */
		seg[k].len = (uint32_t)n;
		k++;
		iova += n;
		len -= (uint32_t)n;
	}
	return k - nseg;
}

/*
 * Gather the receive buffers from last_avail for need bytes: one buffer,
 * or as many as needed with mergeable buffers. Returns how many buffers
 * (their pieces in seg), 0 if the ring does not hold enough yet, -1 to
 * drop the packet for a bad buffer (the driver's error: *nb buffers to
 * give back empty), or -2 to drop it for good buffers it does not fit
 * (larger than the driver's one buffer, or than MAX_SEGS of them): those
 * stay available, as QEMU leaves them, for the packets after it, since a
 * used buffer must hold a header (VIRTIO 5.1.6.4) and a used descriptor
 * without VRING_DESC_F_WRITE has no length a driver may read (2.8.4). The
 * one exception, our limit rather than the driver's: a first buffer in
 * more than MAX_SEGS pieces before the packet fits (-1, *nb 1).
 */
static int
gather_rx(struct vun_vq *vq, const struct rte_vfio_user_mem_table **tp,
	  uint32_t need, struct seg *seg, struct rxbuf *b, int *nb)
{
	const struct rte_vfio_user_mem_table *t = *tp, *nt;
	uint16_t pos, nbuf, nseg, ndesc;
	bool wrap, retried = false;
	uint32_t have;

again:
	pos = vq->last_avail;
	wrap = vq->avail_wrap;
	nbuf = nseg = ndesc = 0;
	have = 0;
	while (have < need) {
		uint16_t f = load_flags(&vq->pdesc[pos]), l = 1, id;
		struct rxbuf *cb = &b[nbuf];

		if (nbuf == MAX_SEGS || ndesc == vq->size)
			goto drop;	/* the whole ring would not do */
		if (!is_avail(f, wrap))
			return 0;	/* not enough buffers yet */
		id = vq->pdesc[pos].id;
		if (unlikely(f & VRING_DESC_F_NEXT)) {
			int r = chain_scan(vq, pos, wrap, f, &id, &l);

			if (r < 0)
				return 0;	/* not all there yet */
			if (r == 0) {
				*cb = (struct rxbuf){ id, l, 0 };
				nbuf++;
				goto bad;
			}
		}
		if (ndesc + l > vq->size)
			goto drop;
		*cb = (struct rxbuf){ id, l, 0 };
		nbuf++;
		ndesc = (uint16_t)(ndesc + l);
		for (uint16_t k = 0; k < l; k++) {
			struct vun_tbl tbl = { NULL, 0 };
			struct vring_packed_desc d;
			bool ind = false;
			uint32_t n = 1;

			memcpy(&d, &vq->pdesc[pos], sizeof(d));
			pos_add(&pos, &wrap, 1, vq->size);
			if (d.flags & VRING_DESC_F_INDIRECT) {
				if (l != 1 || !vq->indirect || d.len == 0 ||
				    d.len % sizeof(d) != 0)
					goto bad;
				if (vun_tbl_open(t, &vq->mcache, &tbl, d.addr,
						 d.len) < 0)
					goto bad;
				ind = true;
				n = d.len / sizeof(d);
			}
			for (uint32_t j = 0; j < n; j++) {
				int r;

				if (ind && vun_tbl_read(t, &vq->mcache, &tbl, j,
							&d) < 0)
					goto bad;
				if (!(d.flags & VRING_DESC_F_WRITE))
					goto bad;
				/* the packet fits already: the rest of the
				 * chain is not written (nor counted) */
				if (d.len == 0 || have >= need)
					continue;
				r = add_pieces(vq, t, d.addr, d.len, seg, nseg);
				if (r == -1)
					goto bad;
				if (r < 0 && nbuf == 1)
					goto too_many;
				if (r < 0)
					goto drop;	/* too many pieces */
				nseg = (uint16_t)(nseg + r);
				cb->nseg = (uint16_t)(cb->nseg + r);
				have += d.len;
			}
		}
		if (!vq->mrg_rxbuf && have < need)
			goto drop;	/* larger than the driver's buffer */
	}
	return nbuf;
bad:
	if (!retried && (nt = vun_table_newer(vq, t)) != NULL) {
		/* mapped since the burst began (vun_ring.h) */
		*tp = t = nt;
		retried = true;
		goto again;
	}
	vq->st.bad_desc++;
	*nb = nbuf;
	return -1;
too_many:
	/* one buffer in more than MAX_SEGS pieces, before the packet fits:
	 * no packet this large will ever go in it, and left available it
	 * would hold up every one after (the ring is in order): given back
	 * empty, as a bad one is, though not counted as one */
	*nb = 1;
	return -1;
drop:
	*nb = 0;
	return -2;
}

/* One packet through the general path. 1 sent, 0 ring full (the caller
 * keeps it and the rest), -1 dropped (buffers of a bad chain given back
 * empty; good ones it does not fit left available). */
static int
tx_one(struct vun_vq *vq, const struct rte_vfio_user_mem_table **tp,
       struct used_head *h, struct rte_mbuf *m, struct vun_tx_ol o)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = {
		.hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE },
		.num_buffers = 1,
	};
	struct seg seg[MAX_SEGS];
	struct rxbuf b[MAX_SEGS];
	uint8_t *nbp[2] = { NULL, NULL };
	struct src s = {
		.hdr = (const uint8_t *)&hdr,
		.hdr_left = vq->hdr_len,
		.seg = m,
		.off = 0,
		.data_left = m->pkt_len,
	};
	uint16_t k = 0;
	int nbuf, nb = 0;

	nbuf = gather_rx(vq, tp, vq->hdr_len + m->pkt_len, seg, b, &nb);
	if (nbuf == 0)
		return 0;
	if (unlikely(m->ol_flags & VU_PMD_TX_OFFLOAD_FLAGS))
		vu_pmd_csum_tx(m, o.partial, o.gso, &hdr);
	if (nbuf < 0) {
		vq->tx_st->drops++;
		for (int i = 0; i < nb; i++) {
			used_put(h, b[i].id, 0, b[i].nd);
			pos_add(&vq->last_avail, &vq->avail_wrap, b[i].nd,
				vq->size);
		}
		return -1;
	}
	for (int i = 0; i < nbuf; i++) {
		uint32_t written = 0;

		for (uint16_t j = 0; j < b[i].nseg; j++, k++)
			if (src_left(&s) > 0)
				written += src_copy(&s, seg[k].va, seg[k].len,
						    vq->hdr_len, nbp);
		used_put(h, b[i].id, written, b[i].nd);
		pos_add(&vq->last_avail, &vq->avail_wrap, b[i].nd, vq->size);
	}
	if (nbuf != 1) {
		if (nbp[0] != NULL)
			*nbp[0] = (uint8_t)nbuf;
		if (nbp[1] != NULL)
			*nbp[1] = (uint8_t)(nbuf >> 8);
	}
	return 1;
}

/* Descriptor pos as the bursts see it (a view, or the copy). */
static const struct vring_packed_desc *
ring_pdesc(const struct vun_vq *vq, uint16_t pos)
{
	return &vq->pdesc[pos];
}

uint16_t
vun_packed_bufs_count(struct vun_vq *vq, uint16_t limit, bool driver)
{
	const struct vring_packed_desc *(*at)(const struct vun_vq *, uint16_t) =
		driver && vq->shadow != NULL ? vun_shadow_driver_pdesc :
					       ring_pdesc;
	uint16_t pos = vq->last_avail, seen = 0, n = 0;
	bool wrap = vq->avail_wrap;

	while (n < limit) {
		uint16_t f;

		/* a buffer: its descriptors, the last without NEXT */
		do {
			f = load_flags(at(vq, pos));
			if (!is_avail(f, wrap) || ++seen > vq->size)
				return n;
			pos_add(&pos, &wrap, 1, vq->size);
		} while (f & VRING_DESC_F_NEXT);
		n++;
	}
	return n;
}

uint16_t
vun_tx_packed(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	      struct rte_mbuf **pkts, uint16_t n)
{
	struct vring_packed_desc *ring = vq->pdesc;
	uint16_t old_used = vq->last_used, i = 0, size = vq->size;
	const uint16_t max_frame = vq->max_frame;
	bool old_wrap = vq->used_wrap;
	struct used_head h;
	uint64_t bytes = 0, sent = 0;
	struct xwin w;

	used_begin(&h, vq);
	xwin_init(&w, vq, t);
	while (i < n) {
		uint8_t *dst[VUN_BURST];
		uint16_t id[VUN_BURST], k,
			lim = RTE_MIN((uint16_t)(n - i), (uint16_t)VUN_BURST);
		uint16_t pos = vq->last_avail;
		bool wrap = vq->avail_wrap;
		struct vun_tx_ol o;
		int ret;

		/* fast: single-segment packets, each fitting the next buffer,
		 * a lone writable descriptor; pass 1 checks and prefetches */
		for (k = 0; k < lim; k++) {
			const struct rte_mbuf *m = pkts[i + k];
			struct vring_packed_desc d;
			uint16_t f = load_flags(&ring[pos]);

			if (!is_avail(f, wrap) || m->nb_segs != 1 ||
			    (f & (F_CHAIN | VRING_DESC_F_WRITE)) !=
				    VRING_DESC_F_WRITE)
				break;
			memcpy(&d, &ring[pos], sizeof(d));
			if (d.len < VUN_HDR_LEN + m->data_len ||
			    (unlikely(m->data_len > max_frame) &&
			     !vun_tagged_fits(m, max_frame)))
				break;
			dst[k] = xwin_xlate(&w, vq, t, d.addr, d.len,
					    RTE_VFIO_USER_MEM_F_WRITE);
			if (dst[k] == NULL)
				break;
			id[k] = d.id;
			vu_pmd_prefetch_w(dst[k]);
			vu_pmd_prefetch_w(dst[k] + VUN_HDR_LEN);
			pos_add(&pos, &wrap, 1, size);
		}
		for (uint16_t j = 0; j < k; j++) {
			struct rte_mbuf *m = pkts[i + j];

			put_hdr(dst[j]);
			/* one to cut: the general path's, with what
			 * follows (its buffer left available) */
			if (unlikely(m->ol_flags & VU_PMD_TX_OFFLOAD_FLAGS) &&
			    !vun_tx_fast_ol(vq, m, dst[j])) {
				k = j;
				pos = vq->last_avail;
				wrap = vq->avail_wrap;
				pos_add(&pos, &wrap, j, size);
				break;
			}
			copy_frame(dst[j] + VUN_HDR_LEN,
				   rte_pktmbuf_mtod(m, const uint8_t *),
				   m->data_len);
			used_put(&h, id[j], VUN_HDR_LEN + m->data_len, 1);
			bytes += m->data_len;
		}
		vq->last_avail = pos;
		vq->avail_wrap = wrap;
		i += k;
		sent += k;
		if (k == lim)
			continue;
		if (i == n)
			break;
		o = vun_tx_ol(vq, pkts[i]);
		if (unlikely(vun_tx_cut_next(vq, pkts[i], o)))
			break;	/* cut into segments: vu_pmd_tx_cut() */
		if (unlikely(vun_tx_too_long(vq, pkts[i], o))) {
			i++;	/* dropped: longer than the MTU */
			continue;
		}
		/* the next one: general path */
		ret = tx_one(vq, &t, &h, pkts[i], o);
		if (ret == 0)
			break;		/* ring full: the caller keeps the rest */
		if (ret > 0) {
			bytes += pkts[i]->pkt_len;
			sent++;
		}
		i++;
		xwin_init(&w, vq, t);
	}
	used_flush(vq, t, &h, old_used, old_wrap);
	vu_pmd_free_pkts(pkts, i);
	vq->tx_st->packets += sent;
	vq->tx_st->bytes += bytes;
	return i;
}

/* ---- control queue (event thread) ---- */

/*
 * Serve the pending commands of a packed control queue, at most a ring's
 * worth per call. Each buffer: device-readable command, then at least one
 * writable byte for the ack. Returns whether to interrupt the driver.
 */
bool
vun_ctrl_packed(struct vun_dev *d, struct vun_vq *vq,
		uint8_t (*exec)(struct vun_dev *d, const uint8_t *cmd,
				uint32_t len, bool *shrunk))
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		d->dev_id);
	uint16_t old = vq->last_used;
	bool old_wrap = vq->used_wrap;
	struct rte_vfio_user_mem_cache mc = { 0, NULL };
	struct used_head h;
	uint8_t cmd[VUN_CTRL_MAX_CMD];
	bool shrunk = false;

	if (unlikely(vq->shadow != NULL))
		vun_shadow_in(vq);
	used_begin(&h, vq);

	for (uint16_t done = 0; done < vq->size; done++) {
		uint16_t pos = vq->last_avail, f = load_flags(&vq->pdesc[pos]);
		uint16_t l = 1, id = vq->pdesc[pos].id, n = 1;
		bool wrap = vq->avail_wrap, ok;
		struct vun_tbl tbl = { NULL, 0 };
		uint8_t *ack = NULL;
		uint32_t len = 0;

		if (!is_avail(f, wrap))
			break;
		ok = true;
		if (f & VRING_DESC_F_NEXT) {
			int r = chain_scan(vq, pos, wrap, f, &id, &l);

			if (r < 0)
				break;		/* not all there yet */
			ok = r > 0;
		}
		for (uint16_t k = 0; ok && k < l; k++) {
			struct vring_packed_desc dd;
			bool ind = false;

			memcpy(&dd, &vq->pdesc[pos], sizeof(dd));
			pos_add(&pos, &wrap, 1, vq->size);
			if (k == l - 1)
				id = dd.id;
			n = 1;
			if (dd.flags & VRING_DESC_F_INDIRECT) {
				ok = l == 1 && vq->indirect && dd.len != 0 &&
				     dd.len % sizeof(dd) == 0 &&
				     vun_tbl_open(t, &mc, &tbl, dd.addr,
						  dd.len) == 0;
				ind = true;
				n = dd.len / sizeof(dd);
			}
			for (uint32_t j = 0; ok && j < n; j++) {
				if (ind &&
				    vun_tbl_read(t, &mc, &tbl, j, &dd) < 0)
					ok = false;
				else
					ok = vun_ctrl_desc(
						t, &mc, dd.addr, dd.len,
						dd.flags & VRING_DESC_F_WRITE,
						cmd, &len, &ack);
			}
		}
		if (ok && ack != NULL) {
			*ack = exec(d, cmd, len, &shrunk);
			vq->st.packets++;
		} else {
			vq->st.bad_desc++;
		}
		used_put(&h, id, ok && ack != NULL ? 1 : 0, l);
		pos_add(&vq->last_avail, &vq->avail_wrap, l, vq->size);
	}
	if (!h.set)
		return false;
	/* VIRTIO 1.x 5.1.6.5.5: no packet goes to the queues a smaller
	 * VQ_PAIRS_SET disabled once the driver sees its ack: wait for the
	 * bursts that may have seen the old count */
	if (shrunk) {
		rte_vfio_user_qsbr_barrier();
		rte_rcu_qsbr_synchronize(d->qsbr, RTE_QSBR_THRID_INVALID);
	}
	vq->last_used = h.pos;
	vq->used_wrap = h.wrap;
	__atomic_store_n(&vq->pdesc[h.head_pos].flags, h.head_flags,
			 __ATOMIC_RELEASE);
	if (unlikely(vq->shadow != NULL))	/* to the driver's ring */
		return vun_shadow_out(vq, t, old, old_wrap);
	log_ring(vq, t, vq->desc_iova, (uint64_t)vq->size * sizeof(*vq->pdesc));
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	return need_interrupt(vq, old, old_wrap);
}
