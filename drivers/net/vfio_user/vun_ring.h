/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUN_RING_H
#define VUN_RING_H

/*
 * What the split (vun_ring.c) and packed (vun_packed.c) data paths share:
 * translation, the copies between client buffers and mbufs, interrupts.
 * Everything here runs on a polling lcore inside a burst, online in the
 * device's QSBR variable (see vun.h).
 */

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "vu_pmd_burst.h"
#include "vu_pmd_csum.h"
#include "vu_pmd_mbuf.h"
#include "vun.h"

/* The virtio_net_hdr (VERSION_1: always the 12-byte mrg_rxbuf layout). */
#define VUN_HDR_LEN	((uint32_t)sizeof(struct virtio_net_hdr_mrg_rxbuf))

static __rte_always_inline void *
xlate(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t, uint64_t iova,
      uint64_t len, uint32_t access)
{
	return rte_vfio_user_iova_to_va_cached(t, &vq->mcache, iova, len,
					       access);
}

/*
 * The client's memory table as published now, if it is not t (else NULL).
 * A burst loads the table once, before it reads the ring; a driver behind
 * a vIOMMU maps each buffer just before it makes it available (a DMA_MAP
 * the client waits for), so a buffer made available during the burst may
 * lie in memory t does not hold yet. A chain that fails with t is tried
 * once more with the newer table before it counts as the driver's error.
 * Switching is safe: the burst is online in the device's QSBR variable,
 * so no unmap completes before it ends and every table it loaded stays
 * valid (and still true) until then.
 */
static __rte_always_inline const struct rte_vfio_user_mem_table *
vun_table_newer(const struct vun_vq *vq,
		const struct rte_vfio_user_mem_table *t)
{
	const struct rte_vfio_user_mem_table *n = rte_vfio_user_get_mem_table(
		vq->dev->dev_id);

	return n != t ? n : NULL;
}

/* Back to an empty first segment (rx_init'ed), before a chain is read
 * again into m. */
static __rte_always_inline void
vun_mbuf_rewind(struct rte_mbuf *m, uint64_t rearm)
{
	if (m->next != NULL) {
		rte_pktmbuf_free(m->next);
		m->next = NULL;
	}
	vu_pmd_mbuf_rx_init(m, rearm, 0);
}

/*
 * The segment of the last translation, checked against this burst's table
 * once: a buffer inside it translates with two compares. Writes while the
 * client logs dirty pages, and anything outside it, take xlate().
 */
struct xwin {
	uint64_t iova;
	uint64_t size;			/* 0: no window, every lookup misses */
	uint8_t *va;
	uint32_t prot;			/* RTE_VFIO_USER_MEM_F_*, not WRITE if logging */
};

static __rte_always_inline void
xwin_init(struct xwin *w, const struct vun_vq *vq,
	  const struct rte_vfio_user_mem_table *t)
{
	const struct rte_vfio_user_mem_segment *sg = vq->mcache.seg;

	*w = (struct xwin){ .size = 0 };
	if (vq->mcache.gen != t->gen || sg == NULL || sg->vaddr == NULL)
		return;
	w->iova = sg->iova;
	w->size = sg->size;
	w->va = sg->vaddr;
	w->prot = sg->prot;
	if (sg->map != NULL &&
	    __atomic_load_n(&sg->map->dirty, __ATOMIC_RELAXED) != NULL)
		w->prot &= ~RTE_VFIO_USER_MEM_F_WRITE;
}

static __rte_always_inline void *
xwin_xlate(struct xwin *w, struct vun_vq *vq,
	   const struct rte_vfio_user_mem_table *t, uint64_t iova, uint64_t len,
	   uint32_t access)
{
	uint64_t off = iova - w->iova;
	void *p;

	if (likely(off < w->size && len <= w->size - off &&
		   (w->prot & access) == access))
		return w->va + off;
	p = xlate(vq, t, iova, len, access);
	if (p != NULL)
		xwin_init(w, vq, t);	/* that region, from now on */
	return p;
}

/*
 * Mark what we wrote into the rings dirty while the client logs (no-op
 * otherwise: one cached lookup per burst). The rings were translated at
 * DRIVER_OK, before logging may have started.
 */
static __rte_always_inline void
log_ring(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	 uint64_t iova, uint64_t len)
{
	if (unlikely(vun_logging(vq, t, iova)))
		rte_vfio_user_mark_dirty(vq->dev->dev_id, iova, len);
}

/*
 * Small frames (16 to 64 bytes, most of the packets at high rates) with a
 * fixed number of unaligned 16-byte moves and no size ladder; false for
 * other sizes.
 */
static __rte_always_inline bool
copy_small(uint8_t *dst, const uint8_t *src, uint32_t len)
{
	if (likely(len >= 16 && len <= 64)) {
		/* [0,16) and [len-16,len), and from 32 bytes on [16,32) and
		 * [len-32,len-16): overlapping moves cover every size */
		uint32_t m1 = len >= 32 ? 16 : 0, m2 = len >= 32 ? len - 32 : 0;

		rte_mov16(dst, src);
		rte_mov16(dst + m1, src + m1);
		rte_mov16(dst + m2, src + m2);
		rte_mov16(dst + len - 16, src + len - 16);
		return true;
	}
	return false;
}

/*
 * Copy bytes out of the driver's memory into ours (its transmit buffers
 * into our mbufs): glibc's memcpy, whose moves are picked for the CPU at
 * run time, where Debian's rte_memcpy is built for the baseline x86 CPU
 * (16-byte moves). Taking 1518 B frames out of a --no-huge frontend's
 * memory it made 11.6-13.0 Mpps against 7.1 (doc/guides/perf.rst, "The
 * frame copy, 2026-12-06"); copying into the driver's buffers it was
 * slower, so that direction keeps rte_memcpy (copy_frame()).
 */
static __rte_always_inline void
copy_in(void *dst, const void *src, uint32_t len)
{
	memcpy(dst, src, len);
}

/* A frame out of the driver's memory (see copy_in()). */
static __rte_always_inline void
copy_frame_in(uint8_t *dst, const uint8_t *src, uint32_t len)
{
	if (!copy_small(dst, src, len))
		copy_in(dst, src, len);
}

/* A frame into the driver's memory: rte_memcpy (see copy_in()). */
static __rte_always_inline void
copy_frame(uint8_t *dst, const uint8_t *src, uint32_t len)
{
	if (!copy_small(dst, src, len))
		rte_memcpy(dst, src, len);
}

/* Whether a frame longer than the MTU lets in may be a GSO packet:
 * segmentation negotiated (with partial checksums), its header (vq->rx_hdr,
 * our copy) saying GSO; vun_rx_gso() checks the rest. */
static __rte_always_inline bool
vun_rx_gso_maybe(const struct vun_vq *vq)
{
	return vq->gso_types != 0 && vq->csum &&
	       vq->rx_hdr[offsetof(struct virtio_net_hdr, gso_type)] !=
		       VIRTIO_NET_HDR_GSO_NONE;
}

/* Whether m, longer than untagged (the MTU and 14 bytes), fits all the
 * same with the VLAN tags it carries, two at most (VIRTIO 5.1.4.1: the
 * MTU plus the Ethernet header), either way: to the driver's receiveq
 * (untagged: its max_frame) and from its transmitq (max_frame, which
 * lets one tag in anyway, less that tag). Out of line: the fast paths'
 * rare case; pure: they keep what they loaded across the call. */
bool vun_tagged_fits(const struct rte_mbuf *m, uint16_t untagged)
	__attribute__((pure));

/*
 * Receive (from the driver), a frame the slow path took (ret from the
 * chain walker): whether it is bad (counted: a malformed chain, a runt,
 * longer than the MTU lets in, vq->max_frame, and not a GSO packet taken)
 * and must be freed.
 */
static __rte_always_inline bool
vun_rx_bad(struct vun_vq *vq, int ret, const struct rte_mbuf *m)
{
	if (unlikely(ret < 0))
		vq->st.bad_desc++;
	else if (unlikely(m->pkt_len < RTE_ETHER_HDR_LEN))
		vq->st.runts++;
	else if (unlikely(m->pkt_len > vq->max_frame) &&
		 !vun_rx_gso_maybe(vq) &&
		 !vun_tagged_fits(m, vq->max_frame - RTE_VLAN_HLEN))
		vq->st.too_long++;
	else
		return false;
	return true;
}

/* What a packet asking for offloads may be sent with now, read once for
 * it (the event thread changes them): partial checksums, and GSO packets
 * of gso types (negotiated, not turned off by VIRTIO_NET_CTRL_GUEST_
 * OFFLOADS_SET, with partial checksums). */
struct vun_tx_ol {
	bool partial;
	uint32_t gso;
};

static __rte_always_inline struct vun_tx_ol
vun_tx_ol(const struct vun_vq *vq, const struct rte_mbuf *m)
{
	struct vun_tx_ol o = { false, 0 };

	if (unlikely(m->ol_flags & VU_PMD_TX_OFFLOAD_FLAGS)) {
		o.partial = __atomic_load_n(&vq->guest_csum, __ATOMIC_RELAXED);
		if (o.partial)
			o.gso = __atomic_load_n(&vq->guest_gso,
						__ATOMIC_RELAXED);
	}
	return o;
}

/* The bytes VLAN tags (802.1Q, 802.1ad; two at most) add to m's Ethernet
 * header. */
static inline uint32_t
vun_vlan_len(const struct rte_mbuf *m)
{
	uint32_t n = 0;

	while (n < 2 * RTE_VLAN_HLEN) {
		rte_be16_t buf;
		const rte_be16_t *type =
			rte_pktmbuf_read(m, 2 * RTE_ETHER_ADDR_LEN + n,
					 sizeof(buf), &buf);

		if (type == NULL || (*type != RTE_BE16(RTE_ETHER_TYPE_VLAN) &&
				     *type != RTE_BE16(RTE_ETHER_TYPE_QINQ)))
			break;
		n += RTE_VLAN_HLEN;
	}
	return n;
}

/*
 * Transmit (to the driver): a frame longer than the driver takes with
 * VIRTIO_NET_F_MTU negotiated (vq->max_frame, the MTU and 14 bytes, and
 * what its VLAN tags add: VIRTIO 5.1.4.1, the MTU plus the Ethernet
 * header) is dropped, counted in drops; the caller frees it with the rest
 * it took. A GSO packet (sent with o) is not a frame: its segments are.
 */
static __rte_always_inline bool
vun_tx_too_long(struct vun_vq *vq, const struct rte_mbuf *m, struct vun_tx_ol o)
{
	if (likely(vq->max_frame == UINT16_MAX || m->pkt_len <= vq->max_frame))
		return false;
	if (vun_tagged_fits(m, vq->max_frame))
		return false;
	if ((m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) &&
	    vu_pmd_tso_way(m, o.gso) == VU_PMD_TSO_GSO)
		return false;
	vq->tx_st->drops++;
	return true;
}

/*
 * A segmentation request on a fast path (one mbuf, one buffer, its
 * header zeroed at hdr): its offloads into the header as it goes (a GSO
 * packet, or one frame); false, nothing done, for one to cut (the general
 * path's). Out of line, and its flag not tested in the fast paths' first
 * pass: either slowed them down (by 4 % at 64 B, devtools/bench-ab.sh
 * be-to-fe).
 */
bool vun_tx_fast_tso(struct vun_vq *vq, struct rte_mbuf *m, void *hdr);

/* Whether the burst must stop before m, to cut it into segments here
 * (a segmentation request the driver cannot take as a GSO packet). */
static __rte_always_inline bool
vun_tx_cut_next(struct vun_vq *vq, const struct rte_mbuf *m, struct vun_tx_ol o)
{
	if (likely(!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)) ||
	    vu_pmd_tso_way(m, o.gso) != VU_PMD_TSO_CUT)
		return false;
	vq->cut_next = true;
	return true;
}

/* vun_rx_offloads() of a packet whose header says GSO (vun_ring.c). */
bool vun_rx_gso(struct vun_vq *vq, struct rte_mbuf *m, const uint8_t *h);

/*
 * Receive (from the driver), a frame taken whole (m) with its header at
 * h (in the driver's memory, or vq->rx_hdr): a partial checksum the
 * driver left us (VIRTIO_NET_F_CSUM) finished; a GSO packet (VIRTIO_NET_
 * F_HOST_TSO4/6 negotiated) checked and flagged RTE_MBUF_F_RX_LRO while
 * the port has LRO (vun_rx_gso()). False for a header whose checksum
 * field lies outside the frame, or a packet too long or VIRTIO forbids
 * (counted: the caller frees it).
 */
static __rte_always_inline bool
vun_rx_offloads(struct vun_vq *vq, struct rte_mbuf *m, const uint8_t *h)
{
	if (unlikely(vq->gso_types != 0) &&
	    unlikely(__atomic_load_n(h + offsetof(struct virtio_net_hdr,
						  gso_type),
				     __ATOMIC_RELAXED) !=
		     VIRTIO_NET_HDR_GSO_NONE))
		return vun_rx_gso(vq, m, h);
	if (likely(vu_pmd_csum_rx(m, h, false, &vq->dev->rx_partial,
				  &vq->st.csum_kept)))
		return true;
	vq->st.bad_desc++;
	return false;
}

/* Whether partial checksums may go to the driver now (the event thread
 * changes it at VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET). */
static __rte_always_inline bool
vun_guest_csum(const struct vun_vq *vq)
{
	return __atomic_load_n(&vq->guest_csum, __ATOMIC_RELAXED);
}

/* A fast path's packet asking for offloads (VU_PMD_TX_OFFLOAD_FLAGS, the
 * caller tested), its header zeroed at hdr: into the header (before the
 * copy: it may write into m); false, nothing done, for a segmentation
 * request to cut (vun_tx_fast_tso()). */
static __rte_always_inline bool
vun_tx_fast_ol(struct vun_vq *vq, struct rte_mbuf *m, void *hdr)
{
	if (unlikely(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG))
		return vun_tx_fast_tso(vq, m, hdr);
	vu_pmd_csum_tx(m, vun_guest_csum(vq), 0, hdr);
	return true;
}

/* The header of a received packet with no offload: one buffer. */
static __rte_always_inline void
put_hdr(uint8_t *dst)
{
	static const struct virtio_net_hdr_mrg_rxbuf h = {
		.hdr = { .gso_type = VIRTIO_NET_HDR_GSO_NONE },
		.num_buffers = 1,
	};

	memcpy(dst, &h, VUN_HDR_LEN);
}

/*
 * Append len bytes at src to the packet m whose last segment is *cur,
 * allocating segments from vq->mp as needed. 0, or -2 out of mbufs.
 */
static __rte_always_inline int
mbuf_append(struct vun_vq *vq, struct rte_mbuf *m, struct rte_mbuf **cur,
	    const uint8_t *src, uint32_t len)
{
	while (len > 0) {
		struct rte_mbuf *c = *cur;
		uint32_t room = rte_pktmbuf_tailroom(c), k;

		if (room == 0) {
			struct rte_mbuf *n = rte_pktmbuf_alloc(vq->mp);

			if (unlikely(n == NULL))
				return -2;
			c->next = n;
			*cur = c = n;
			m->nb_segs++;
			room = rte_pktmbuf_tailroom(c);
		}
		k = len < room ? len : room;
		copy_in(rte_pktmbuf_mtod_offset(c, void *, c->data_len), src,
			k);
		c->data_len += k;
		m->pkt_len += k;
		src += k;
		len -= k;
	}
	return 0;
}

/*
 * Append len bytes of a driver buffer at src to the packet m (last segment
 * *cur), the virtio_net_hdr left out (*skip bytes of it still to come,
 * kept in vq->rx_hdr). 0, -1 for a frame larger than any we take, -2 out
 * of mbufs.
 */
static __rte_always_inline int
take_bytes(struct vun_vq *vq, struct rte_mbuf *m, struct rte_mbuf **cur,
	   uint32_t *skip, const uint8_t *src, uint32_t len)
{
	if (*skip > 0) {	/* the virtio_net_hdr */
		uint32_t k = *skip < len ? *skip : len;

		memcpy(vq->rx_hdr + (vq->hdr_len - *skip), src, k);
		*skip -= k;
		src += k;
		len -= k;
	}
	/* bounds what a looping or lying chain costs us in mbufs */
	if (unlikely(len > vq->rx_limit - m->pkt_len))
		return -1;
	if (unlikely(mbuf_append(vq, m, cur, src, len) < 0))
		return -2;
	return 0;
}

/* Source cursor over the header then the mbuf's segments (tx_burst). */
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
static inline uint32_t
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
			   rte_pktmbuf_mtod_offset(s->seg, const uint8_t *,
						   s->off),
			   k);
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

/* vun_ring.c */
void vun_raise_interrupt(struct vun_vq *vq);
/*
 * The walkers' way with a device-readable buffer [iova, iova + len) that
 * no one segment holds: take_bytes() one segment at a time (returns as
 * it does; -1 too when a byte is not readable).
 */
int vun_read_span(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
		  uint64_t iova, uint32_t len, struct rte_mbuf *m,
		  struct rte_mbuf **cur, uint32_t *skip);
/*
 * And with a device-writable one: checked (and marked dirty while
 * logging) whole first, then filled from s one segment at a time. Bytes
 * written (src_copy()), or -1 when a byte is not writable.
 */
int64_t vun_fill_span(struct vun_vq *vq,
		      const struct rte_vfio_user_mem_table *t, uint64_t iova,
		      uint32_t len, struct src *s, uint8_t **nb);

/* vun_packed.c: whether the driver wants an interrupt for what was used
 * since (old, old_wrap), by its driver event suppression area ev */
bool vun_packed_need_interrupt(const struct vun_vq *vq,
			       const struct vring_packed_desc_event *ev,
			       uint16_t old, bool old_wrap);

/*
 * The pair transmit queue own sends through under map (dev->tx_map, read
 * inside the caller's QSBR section, vun_tx_map_update()): its own, or
 * with VUN_TX_SHARED pair qid % pairs (whose tx_lock its bursts take).
 * The pair's readiness is read after the map, and the map again after
 * it: a map read before a reset, with the pair ready again after it, is
 * no longer the map. NULL when there is none to use (a pair the driver
 * did not enable, not ready, the map changed).
 */
static __rte_always_inline struct vun_vq *
vun_tx_pair_of(struct vun_vq *own, uint32_t map)
{
	struct vun_dev *dev = own->dev;
	struct vun_vq *vq = own;

	if (map & VUN_TX_SHARED)
		vq = &dev->vq[2 * (own->qid % (uint16_t)map)];
	else if (own->qid >= (uint16_t)map)
		return NULL;
	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&dev->tx_map, __ATOMIC_RELAXED) != map)
		return NULL;
	return vq;
}

/* vun_ring.c: buffers the driver made available on vq and the device did
 * not take yet, at most limit (split or packed; 0 for a bad avail index:
 * the next burst says it): in the rings a burst uses (the copy, on shadow
 * rings), or with driver in the driver's own rings. Reads only. Online,
 * vq ready. */
uint16_t vun_bufs_avail(struct vun_vq *vq, uint16_t limit, bool driver);

/* vun_packed.c: the packed halves of the bursts (called online, ready) */
uint16_t vun_rx_packed(struct vun_vq *vq,
		       const struct rte_vfio_user_mem_table *t,
		       struct rte_mbuf **pkts, uint16_t n);
/* How many buffers the driver has made available from where we are, at
 * most limit (a chain of descriptors is one); driver: as
 * vun_bufs_avail(). */
uint16_t vun_packed_bufs_count(struct vun_vq *vq, uint16_t limit, bool driver);
uint16_t vun_tx_packed(struct vun_vq *vq,
		       const struct rte_vfio_user_mem_table *t,
		       struct rte_mbuf **pkts, uint16_t n);

#endif /* VUN_RING_H */
