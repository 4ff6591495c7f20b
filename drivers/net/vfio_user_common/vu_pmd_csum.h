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

/* The transmit flags rte_eth_tx_prepare() lets through. */
#define VU_PMD_TX_OL_OK                                                   \
	(VU_PMD_TX_CSUM_FLAGS | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6)

/* What both PMDs offer an application to send with... */
#define VU_PMD_TX_CSUM_CAPA                                          \
	(RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | \
	 RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
/* ...and to receive with: partial checksums finished and flagged
 * RTE_MBUF_F_RX_L4_CKSUM_GOOD. */
#define VU_PMD_RX_CSUM_CAPA \
	(RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)

/*
 * Finish a partial checksum in software: the 16-bit ones' complement sum
 * of m from start to its end (the seed included) stored at start + off.
 * False, m untouched, when the field does not lie inside the packet.
 */
bool vu_pmd_csum_finish(struct rte_mbuf *m, uint32_t start, uint32_t off);

/*
 * The transmit offloads m asks for (VU_PMD_TX_CSUM_FLAGS set), into the
 * virtio_net_hdr at hdr (flags, csum_start and csum_offset written, the
 * rest left; any alignment): the IPv4 header checksum in software; the
 * TCP or UDP checksum left to the peer as a partial one if partial (it
 * negotiated taking them), else finished here. What is done here is
 * written into m's data, as a NIC's rte_eth_tx_prepare() does, and its
 * request cleared from m->ol_flags (a packet sent again, the queue full,
 * is not summed twice). A request that does not fit the packet (l2_len +
 * l3_len past it) is sent as it is, unflagged.
 */
void vu_pmd_csum_tx(struct rte_mbuf *m, bool partial, void *hdr);

/*
 * rte_eth_tx_prepare() of both PMDs: each packet asking for a checksum
 * gets what DPDK's offload contract has the PMD fill in (the pseudo
 * header's checksum in its TCP or UDP header, a zero IPv4 checksum), as
 * with a NIC. Returns how many are ready; at the first that is not,
 * rte_errno says why: ENOTSUP for an offload we do not do (segmentation,
 * SCTP, tunnels, VLAN...), EINVAL for headers past the first segment.
 */
uint16_t vu_pmd_tx_prepare(void *q, struct rte_mbuf **pkts, uint16_t n);

/*
 * A received packet's virtio_net_hdr at hdr (any alignment; read once,
 * the peer may be writing it), of a peer that may send partial checksums:
 * a partial one is finished in software and the packet flagged
 * RTE_MBUF_F_RX_L4_CKSUM_GOOD; so is one the peer marked
 * VIRTIO_NET_HDR_F_DATA_VALID if valid_ok (a device may say so, a
 * driver may not: VIRTIO 1.x 5.1.6.2.1). False for a partial checksum
 * whose field lies outside the packet: the caller drops it.
 */
static __rte_always_inline bool
vu_pmd_csum_rx(struct rte_mbuf *m, const void *hdr, bool valid_ok)
{
	struct virtio_net_hdr h;

	h.flags = __atomic_load_n((const uint8_t *)hdr, __ATOMIC_RELAXED);
	if (likely(h.flags == 0))
		return true;
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		memcpy(&h.csum_start,
		       (const uint8_t *)hdr +
			       offsetof(struct virtio_net_hdr, csum_start),
		       2 * sizeof(h.csum_start));
		if (unlikely(!vu_pmd_csum_finish(
			    m, rte_le_to_cpu_16(h.csum_start),
			    rte_le_to_cpu_16(h.csum_offset))))
			return false;
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	} else if (valid_ok && (h.flags & VIRTIO_NET_HDR_F_DATA_VALID)) {
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	}
	return true;
}

#endif /* VU_PMD_CSUM_H */
