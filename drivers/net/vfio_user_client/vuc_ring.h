/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUC_RING_H
#define VUC_RING_H

/*
 * What the split (vuc_ring.c) and packed (vuc_packed.c) data paths of the
 * driver share.
 */

#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "vu_pmd_burst.h"
#include "vu_pmd_csum.h"
#include "vu_pmd_mbuf.h"
#include "vuc.h"

/* The virtio_net_hdr (VERSION_1: always the 12-byte mrg_rxbuf layout). */
#define VUC_HDR_LEN	((uint16_t)sizeof(struct virtio_net_hdr_mrg_rxbuf))

/* A packed descriptor's AVAIL and USED flags, and the two as a used
 * descriptor has them for wrap counter w (VIRTIO 1.x 2.8.1). */
#define VUC_F_AVAIL	(1u << VRING_PACKED_DESC_F_AVAIL)
#define VUC_F_USED	(1u << VRING_PACKED_DESC_F_USED)
static __rte_always_inline uint16_t
vuc_used_bits(bool w)
{
	return w ? (VUC_F_AVAIL | VUC_F_USED) : 0;
}

/* Prefetch for writing the ring lines of n descriptors of 16 bytes from
 * index i of a ring of size (any) entries. */
static __rte_always_inline void
prefetch_w_descs(const void *ring, uint16_t i, uint16_t n, uint16_t size)
{
	for (uint16_t k = 0; k < n; k = (uint16_t)(k + 4)) {
		uint16_t j = (uint16_t)(i + k);

		if (j >= size)
			j = (uint16_t)(j - size);
		vu_pmd_prefetch_w((const uint8_t *)ring + (size_t)j * 16);
	}
}

/*
 * The transmit header in the headroom: no offloads, so all zero. Written
 * as two stores, not a memset call, and only when it is not zero already:
 * an mbuf sent before still holds the zeros we wrote, and its header line
 * may sit in the device's cache too (the data line after it is what the
 * device read, and CPUs fetch line pairs): a load keeps that copy, a
 * store would have to take the line back first.
 */
static __rte_always_inline void
tx_hdr_zero(void *h)
{
	struct {
		uint64_t a;
		uint32_t b;
	} __rte_packed *p = h;

	RTE_BUILD_BUG_ON(VUC_HDR_LEN != 12);
	if (p->a != 0 || p->b != 0) {
		p->a = 0;
		p->b = 0;
	}
}

/*
 * Whether a transmit reclaim should take the mbufs it frees for writing:
 * yes while the queue pair's receive side has taken nothing since the
 * last reclaim. Then the application makes its own frames (a generator,
 * testpmd's txonly), and the mempool cache hands the freed mbufs back
 * first: the application writes their first data line, which the
 * device's CPU read on the way out. Prefetched for ownership here, that
 * line's transfer overlaps the rest of the burst instead of stalling the
 * application's stores (64 B frontend -> backend: about 1.7x the frames
 * per second). A port that receives is likely to post them as receive
 * buffers next, which the device writes: taking their lines here would
 * cost each one transfer more (an io loop lost about 8 %).
 */
static __rte_always_inline bool
tx_free_warm(struct vuc_vq *vq)
{
	const struct vuc_vq *rxq = vq - 1;	/* vq[2q], vq[2q + 1] */
	uint64_t rx = __atomic_load_n(&rxq->st.packets, __ATOMIC_RELAXED);
	bool warm = rx == vq->rx_seen;

	vq->rx_seen = rx;
	return warm;
}

/* Prefetch for writing the first data line each of n freed mbufs will
 * have when allocated again. */
static __rte_always_inline void
tx_free_prefetch(struct rte_mbuf *const *m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		vu_pmd_prefetch_w((const uint8_t *)m[i]->buf_addr +
				  RTE_PKTMBUF_HEADROOM);
}

/* Free n sent mbufs, their first data lines taken for writing if warm. */
static __rte_always_inline void
tx_free_pkts(struct rte_mbuf **m, unsigned int n, bool warm)
{
	if (warm)
		tx_free_prefetch(m, n);
	vu_pmd_free_pkts(m, n);
}

/* The header of a packet to send, at h: zero, unless m asks for checksum
 * or segmentation offloads (vu_pmd_csum.h). */
static __rte_always_inline void
tx_hdr_put(const struct vuc_vq *vq, struct rte_mbuf *m, void *h)
{
	tx_hdr_zero(h);
	if (unlikely(m->ol_flags & VU_PMD_TX_OFFLOAD_FLAGS))
		vu_pmd_csum_tx(m, vq->csum, vq->gso_types, h);
}

/* rx_csum() of a GSO packet (vuc_ring.c). */
bool vuc_rx_gso(struct vuc_vq *vq, struct rte_mbuf *m);

/*
 * A received packet (m, its header in the first buffer's headroom): a
 * partial checksum the device sent finished, its DATA_VALID told; a GSO
 * packet (VIRTIO_NET_F_GUEST_TSO4/6, asked for with the port's LRO)
 * flagged RTE_MBUF_F_RX_LRO with its MSS. False for a bad header, a GSO
 * packet not negotiated or longer than max_lro_pkt_size (counted; the
 * caller frees m).
 */
static __rte_always_inline bool
rx_csum(struct vuc_vq *vq, struct rte_mbuf *m)
{
	const uint8_t *h = rte_pktmbuf_mtod_offset(m, const uint8_t *,
						   -VUC_HDR_LEN);
	uint64_t kept = 0;	/* counted once the packet is taken */

	/* (the flags byte first: the usual test, as without GSO) */
	if (likely(vu_pmd_csum_rx(m, h, true, &vq->dev->rx_partial, &kept))) {
		if (likely(h[offsetof(struct virtio_net_hdr, gso_type)] ==
			   VIRTIO_NET_HDR_GSO_NONE) ||
		    vuc_rx_gso(vq, m)) {
			vq->st.csum_kept += kept;
			return true;
		}
		return false;
	}
	vq->st.errors++;
	return false;
}

/* Whether the burst must stop before m, a segmentation request the device
 * does not take whole: cut into segments (vu_pmd_tx_cut()). */
static __rte_always_inline bool
tx_cut_next(struct vuc_vq *vq, const struct rte_mbuf *m)
{
	if (likely(!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)) ||
	    vu_pmd_tso_way(m, vq->gso_types) != VU_PMD_TSO_CUT)
		return false;
	vq->cut_next = true;
	return true;
}

/* Whether the header can go in m's headroom (we write into the mbuf). */
static __rte_always_inline bool
tx_can_push(const struct rte_mbuf *m)
{
	return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 &&
	       rte_pktmbuf_headroom(m) >= VUC_HDR_LEN;
}

/*
 * How many buffers a received packet takes (mergeable buffers): the
 * device uses every buffer but a packet's last one completely (VIRTIO 1.x
 * 5.1.6.4.2), so a first buffer not filled to its end holds the whole
 * packet, and its header (a cache line the device just wrote) need not be
 * read at all.
 */
static __rte_always_inline uint16_t
rx_nbufs(const struct vuc_vq *vq, const struct rte_mbuf *m, uint32_t len)
{
	const struct virtio_net_hdr_mrg_rxbuf *h;

	if (!vq->mrg_rxbuf || len < vq->rx_buf_len)
		return 1;
	h = rte_pktmbuf_mtod_offset(m, const struct virtio_net_hdr_mrg_rxbuf *,
				    -VUC_HDR_LEN);
	return h->num_buffers ? h->num_buffers : 1;
}

/* Whether a receive queue has enough room for a refill: a burst, or a
 * quarter of what it keeps posted. */
static __rte_always_inline bool
rxq_refill_due(const struct vuc_vq *vq)
{
	uint16_t posted = (uint16_t)(vq->size - vq->hold);

	return (uint32_t)vq->num_free >=
	       (uint32_t)vq->hold + RTE_MIN(VUC_BURST, posted / 4);
}

/* One-descriptor frames a transmit burst may add: as many as the free
 * descriptors and the queue's frame limit (its nb_desc; see
 * vuc_vq_set_want()) allow. None while more frames than that are in
 * flight (nb_desc lowered with frames in the ring). */
static __rte_always_inline uint16_t
tx_room(const struct vuc_vq *vq)
{
	uint16_t frames = vq->inflight < vq->tx_cap ?
				  (uint16_t)(vq->tx_cap - vq->inflight) :
				  0;

	return RTE_MIN(frames, vq->num_free);
}

/* Reclaim transmit buffers in bulk once this many descriptors are in
 * flight, not at every burst: each look at the device's used entries
 * pulls their cache line from the device's core. */
#define VUC_TX_RECLAIM	(2 * VUC_BURST)

static __rte_always_inline bool
tx_reclaim_due(const struct vuc_vq *vq)
{
	return (uint16_t)(vq->size - vq->num_free) >= VUC_TX_RECLAIM;
}

/* Whether one more frame taking need descriptors fits. */
static __rte_always_inline bool
tx_fits(const struct vuc_vq *vq, uint32_t need)
{
	return need <= vq->num_free && vq->inflight < vq->tx_cap;
}

/* vuc_ring.c */
void vuc_kick_if_needed(struct vuc_vq *vq, uint16_t old);
/* A frame needing more descriptors than the ring has: it can never be
 * sent, so it is dropped (counted in errors: oerrors) for the frames
 * after it to go, instead of holding the queue for good. */
void vuc_tx_drop_too_big(struct vuc_vq *vq, struct rte_mbuf *m);

/* vuc_packed.c: the packed halves (called online, queue ready) */
uint16_t vuc_rx_packed(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n);
/* vuc_rx_packed() leaving packets and bytes alone (vuc_vq_drain()) */
uint16_t vuc_rx_packed_drop(struct vuc_vq *vq, struct rte_mbuf **pkts,
			    uint16_t n);
uint16_t vuc_tx_packed(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n);
int vuc_rxq_fill_packed(struct vuc_vq *vq);
void vuc_vq_init_packed(struct vuc_vq *vq);
/* Whether the device used every transmit buffer (port stop; reads
 * only). */
bool vuc_txq_done_packed(const struct vuc_vq *vq);
/* The frames of the transmit buffers the device used that are not freed
 * yet (reads only). */
uint16_t vuc_tx_used_packed(const struct vuc_vq *vq);
/* Receive buffers the device returned and no burst took, at most limit
 * (no more than it holds). */
uint16_t vuc_rx_used_packed(const struct vuc_vq *vq, uint16_t limit);
/* Free the transmit buffers the device used, limit frames at most
 * (rte_eth_tx_done_cleanup()'s bound; VUC_ALL: every one). */
void vuc_tx_reclaim_packed(struct vuc_vq *vq, uint16_t limit);

#endif /* VUC_RING_H */
