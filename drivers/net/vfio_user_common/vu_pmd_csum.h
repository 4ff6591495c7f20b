/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_PMD_CSUM_H
#define VU_PMD_CSUM_H

/*
 * Checksum offloads through the virtio_net_hdr (VIRTIO 1.x 5.1.6.2 and
 * 5.1.6.4), both PMDs. A packet sent with VIRTIO_NET_HDR_F_NEEDS_CSUM
 * carries, at csum_start + csum_offset, the checksum of the pseudo header
 * only; whoever takes it sums from csum_start to the end, over that seed,
 * and stores the result there. That is also what DPDK asks of an
 * application that sets RTE_MBUF_F_TX_TCP_CKSUM / _UDP_CKSUM (the pseudo
 * header's checksum in the L4 header: rte_eth_tx_prepare() puts it
 * there), so an mbuf flagged so is a partial packet as virtio means it.
 *
 * The checks on packets with no offload are one flag test each (inline
 * here); the work is out of line (vu_pmd_csum.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_net.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

/* The transmit requests we act on (VIRTIO has no IPv4 header checksum
 * offload: that one is always done here, in software). */
#define VU_PMD_TX_CSUM_FLAGS (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK)
/* ...and with TCP segmentation (TSO: GSO packets, or cut into segments),
 * which vu_pmd_csum_tx() also takes */
#define VU_PMD_TX_OFFLOAD_FLAGS (VU_PMD_TX_CSUM_FLAGS | RTE_MBUF_F_TX_TCP_SEG)

/* The transmit flags rte_eth_tx_prepare() lets through (and TCP_SEG, for
 * a request it checks). */
#define VU_PMD_TX_OL_OK                                                   \
	(VU_PMD_TX_CSUM_FLAGS | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6)

/*
 * The longest frame of a GSO packet (VIRTIO 5.1.6.2: up to a 64 KiB IP
 * packet; an IPv6 payload length counts after its 40-byte header), an
 * Ethernet header and two VLAN tags before it.
 */
#define VU_PMD_MAX_GSO_FRAME \
	(RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + 40 + UINT16_MAX)

/* TCP segmentation a driver may use to send (VIRTIO 5.1.6.2), or a device
 * to send it; each comes with its partial checksums (5.1.3.1: CSUM,
 * GUEST_CSUM). */
#define VU_PMD_HOST_TSO \
	((1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6))
#define VU_PMD_GUEST_TSO \
	((1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6))

/* The gso_type values (bits 1 << VIRTIO_NET_HDR_GSO_*) that the TCP
 * segmentation features allow on a driver's transmitq (VIRTIO_NET_F_
 * HOST_TSO4/6) or, guest, on its receiveq (VIRTIO_NET_F_GUEST_TSO4/6)
 * (VIRTIO 5.1.6.2). */
static inline uint32_t
vu_pmd_gso_types(uint64_t features, bool guest)
{
	unsigned int v4 = guest ? VIRTIO_NET_F_GUEST_TSO4 :
				  VIRTIO_NET_F_HOST_TSO4;
	unsigned int v6 = guest ? VIRTIO_NET_F_GUEST_TSO6 :
				  VIRTIO_NET_F_HOST_TSO6;
	uint32_t types = 0;

	if (features & (1ULL << v4))
		types |= 1u << VIRTIO_NET_HDR_GSO_TCPV4;
	if (features & (1ULL << v6))
		types |= 1u << VIRTIO_NET_HDR_GSO_TCPV6;
	return types;
}

/* What both PMDs offer an application to send with... */
#define VU_PMD_TX_CSUM_CAPA                                          \
	(RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | \
	 RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
/* ...and to receive with: partial checksums finished and flagged
 * RTE_MBUF_F_RX_L4_CKSUM_GOOD, or kept and flagged _NONE (rx_partial,
 * vu_pmd_csum_partial()). */
#define VU_PMD_RX_CSUM_CAPA \
	(RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)

/*
 * Finish a partial checksum in software: the 16-bit ones' complement sum
 * of m from start to its end (the seed included) stored at start + off.
 * False, m untouched, when the field does not lie inside the packet.
 */
bool vu_pmd_csum_finish(struct rte_mbuf *m, uint32_t start, uint32_t off);

/*
 * A received partial checksum (csum_start start, csum_offset off): kept
 * as it is if keep and it is the TCP or UDP checksum of an IPv4 or IPv6
 * packet (after VLAN tags and IPv6 extension headers, but no routing
 * header, whose final destination a sender recomputing the pseudo header
 * from the IP header misses; its header lengths within the mbuf's), the
 * packet flagged RTE_MBUF_F_RX_L4_CKSUM_NONE (its data valid, the field
 * holding the pseudo header's sum: what RTE_MBUF_F_TX_TCP_CKSUM /
 * _UDP_CKSUM want there to send it on) with its l2_len, l3_len and
 * l4_len set, as DPDK's vhost does for an application that enabled the
 * receive checksum offloads; otherwise (or for any other) finished here
 * (vu_pmd_csum_finish()) and flagged RTE_MBUF_F_RX_L4_CKSUM_GOOD. Returns
 * 1 (kept), 0 (finished), or -1, m untouched, when the field does not lie
 * inside the packet.
 */
int vu_pmd_csum_partial(struct rte_mbuf *m, uint32_t start, uint32_t off,
			bool keep);

/*
 * Whether a port (path) with the devarg rx_partial (arg), configured with
 * rx_offloads, keeps partial checksums: only while the application
 * enabled the receive checksum offloads (one that did not gets correct
 * packets); the devarg without them is said.
 */
bool vu_pmd_rx_partial(const char *path, bool arg, uint64_t rx_offloads);

/*
 * The transmit offloads m asks for (VU_PMD_TX_OFFLOAD_FLAGS set), into
 * the virtio_net_hdr at hdr (flags, gso_type, hdr_len, gso_size,
 * csum_start and csum_offset written, num_buffers left; any alignment):
 * the IPv4 header checksum in software; the TCP or UDP checksum left to
 * the peer as a partial one if partial (it negotiated taking them), else
 * finished here. What is done here is written into m's data, as a NIC's
 * rte_eth_tx_prepare() does, and its request cleared from m->ol_flags (a
 * packet sent again, the queue full, is not summed twice). A request that
 * does not fit the packet (l2_len + l3_len past it) is sent as it is,
 * unflagged.
 *
 * RTE_MBUF_F_TX_TCP_SEG: its IPv4 total length (IPv6 payload length) set
 * to the packet's, as the offload leaves it to the NIC. The way
 * vu_pmd_tso_way() says VU_PMD_TSO_GSO (partial, gso_types the peer's),
 * m goes whole as a GSO packet (VIRTIO 5.1.6.2), the TCP checksum's seed
 * the pseudo header with the whole length (what Linux's GSO adjusts per
 * segment). Otherwise it goes as one frame with a TCP checksum request
 * (its payload fits one segment, or the request is not valid; those to
 * cut are the callers', vu_pmd_tx_cut()).
 */
void vu_pmd_csum_tx(struct rte_mbuf *m, bool partial, uint32_t gso_types,
		    void *hdr);

/*
 * rte_eth_tx_prepare() of both PMDs: each packet asking for a checksum
 * gets what DPDK's offload contract has the PMD fill in (the pseudo
 * header's checksum in its TCP or UDP header, a zero IPv4 checksum), as
 * with a NIC. Returns how many are ready; at the first that is not,
 * rte_errno says why: ENOTSUP for an offload we do not do (SCTP, tunnels,
 * VLAN insertion...), EINVAL for headers past the first segment, or a
 * segmentation request (RTE_MBUF_F_TX_TCP_SEG) without its tso_segsz,
 * l4_len, IPv4 or IPv6 header (flagged), larger than 64 KiB or of more
 * than VU_PMD_TSO_MAX_SEGS segments.
 */
uint16_t vu_pmd_tx_prepare(void *q, struct rte_mbuf **pkts, uint16_t n);

/* How a segmentation request (RTE_MBUF_F_TX_TCP_SEG) goes to a peer. */
enum vu_pmd_tso_way {
	VU_PMD_TSO_FRAME,	/* one frame: its payload fits one segment, or
				 * the request is not valid (as
				 * vu_pmd_tx_prepare() checks) */
	VU_PMD_TSO_GSO,		/* one GSO packet (vu_pmd_csum_tx()) */
	VU_PMD_TSO_CUT,		/* cut into segments here (vu_pmd_tso_cut()) */
};

/* The way of m to a peer taking GSO packets of gso_types with partial
 * checksums (0: none). */
enum vu_pmd_tso_way vu_pmd_tso_way(const struct rte_mbuf *m,
				   uint32_t gso_types);

/*
 * Cut the segmentation request m (VU_PMD_TSO_CUT) into seg[]:
 * new mbufs from m's pool, each its headers (IPv4 total length and
 * identification, IPv6 payload length, TCP sequence number; FIN and PSH
 * on the last only, CWR on the first only) and tso_segsz bytes of its
 * payload (the last what is left), asking for the TCP checksum (and the
 * IPv4 header's) as a NIC's TSO fills them in. m is left as it was.
 * Returns how many, or 0 (nothing allocated) when more than max would be
 * needed or the pool ran out.
 */
uint16_t vu_pmd_tso_cut(const struct rte_mbuf *m, struct rte_mbuf **seg,
			uint16_t max);

/* Segments vu_pmd_tx_cut() cuts a request into at most (a 64 KiB packet of
 * 256-byte segments). */
#define VU_PMD_TSO_MAX_SEGS 256

/* How a PMD's queue sends for vu_pmd_tx_cut(): fits(ctx, seg, n) whether
 * it surely has room for the n packets seg (else the request waits, as a
 * full queue's packets do), tx(ctx, pkts, n) its tx_burst's ring work. */
struct vu_pmd_tx_ops {
	bool (*fits)(void *ctx, struct rte_mbuf **seg, uint16_t n);
	uint16_t (*tx)(void *ctx, struct rte_mbuf **pkts, uint16_t n);
};

/*
 * The rest of a burst both PMDs' tx_burst leave to this when their queue
 * stopped before pkts[done], a segmentation request to cut here
 * (*cut_next set): it goes cut into segments (vu_pmd_tso_cut()) through
 * ops, and the burst goes on, as long as *cut_next is set again. Without
 * room for all its segments it is left to the caller with the rest, as a
 * full queue's packets are (segments the queue took fewer of than fits()
 * said are freed and counted in *drops); a request it cannot cut (too
 * many segments, no mbufs) is dropped and counted. Returns how many of
 * pkts were taken.
 */
uint16_t vu_pmd_tx_cut(struct rte_mbuf **pkts, uint16_t n, uint16_t done,
		       bool *cut_next, uint64_t *drops,
		       const struct vu_pmd_tx_ops *ops, void *ctx);

/*
 * A received GSO packet (its virtio_net_hdr h, a copy, gso_type not NONE)
 * of a peer allowed gso_types, after vu_pmd_csum_rx() on h: flagged
 * RTE_MBUF_F_RX_LRO with its MSS in m->tso_segsz and its header lengths
 * (l2_len, l3_len, l4_len), as DPDK has a NIC's aggregated packets, so
 * that an application can send it on with TSO. False, m untouched, for
 * one VIRTIO 5.1.6.2 or the stack behind us would refuse: a type not
 * negotiated (or ECN, never offered), no MSS, no partial checksum, not
 * TCP over the IP version its type says (after up to two VLAN tags, and
 * IPv6 hop-by-hop, routing and destination options headers; the headers
 * in the first 256 bytes), its checksum not the TCP one, or segments of
 * headers + MSS longer than max_frame (the MTU's frame).
 */
bool vu_pmd_gso_rx(struct rte_mbuf *m, const struct virtio_net_hdr *h,
		   uint32_t gso_types, uint32_t max_frame);

/*
 * A received packet's virtio_net_hdr at hdr (any alignment; read once,
 * the peer may be writing it), of a peer that may send partial checksums:
 * a partial one is finished in software and the packet flagged
 * RTE_MBUF_F_RX_L4_CKSUM_GOOD, or kept and flagged _NONE while *keep
 * (read only then: the port's rx_partial mode, vu_pmd_csum_partial()) and
 * counted in *kept; one the peer marked VIRTIO_NET_HDR_F_DATA_VALID is
 * flagged GOOD if valid_ok (a device may say so, a driver may not: VIRTIO
 * 1.x 5.1.6.2.1). False for a partial checksum whose field lies outside
 * the packet: the caller drops it.
 */
static __rte_always_inline bool
vu_pmd_csum_rx(struct rte_mbuf *m, const void *hdr, bool valid_ok,
	       const bool *keep, uint64_t *kept)
{
	struct virtio_net_hdr h;
	int r;

	h.flags = __atomic_load_n((const uint8_t *)hdr, __ATOMIC_RELAXED);
	if (likely(h.flags == 0))
		return true;
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		memcpy(&h.csum_start,
		       (const uint8_t *)hdr +
			       offsetof(struct virtio_net_hdr, csum_start),
		       2 * sizeof(h.csum_start));
		r = vu_pmd_csum_partial(m, rte_le_to_cpu_16(h.csum_start),
					rte_le_to_cpu_16(h.csum_offset),
					__atomic_load_n(keep,
							__ATOMIC_RELAXED));
		if (unlikely(r < 0))
			return false;
		*kept += (uint64_t)r;
	} else if (valid_ok && (h.flags & VIRTIO_NET_HDR_F_DATA_VALID)) {
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	}
	return true;
}

#endif /* VU_PMD_CSUM_H */
