/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/* Checksum offloads through the virtio_net_hdr (see vu_pmd_csum.h). */

#include <stddef.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vu_pmd_csum.h"

/* Store the 2 bytes at v at offset off of m (inside it: checked), over a
 * segment boundary if they straddle one. */
static void
mbuf_put16(struct rte_mbuf *m, uint32_t off, const uint8_t *v)
{
	if (likely(off + 2 <= m->data_len)) {	/* the usual case */
		memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, off), v, 2);
		return;
	}
	for (unsigned int i = 0; i < 2; i++, off++) {
		struct rte_mbuf *s = m;
		uint32_t o = off;

		while (o >= s->data_len) {
			o -= s->data_len;
			s = s->next;
		}
		*rte_pktmbuf_mtod_offset(s, uint8_t *, o) = v[i];
	}
}

/*
 * The 16-bit ones' complement sum of len bytes at p, as rte_raw_cksum()
 * (16-bit words in memory order, an odd last byte padded with a zero),
 * 4 bytes an add in two 64-bit accumulators where rte_raw_cksum() takes
 * 2: finishing a 1518-byte frame's checksum cost the receiver 760 cycles
 * with it (ring_bench --csum).
 */
static uint16_t
sum16(const uint8_t *p, uint32_t len)
{
	uint64_t s0 = 0, s1 = 0;
	uint32_t w[4];

	for (; len >= 16; p += 16, len -= 16) {
		memcpy(w, p, 16);
		s0 += (uint64_t)w[0] + w[2];
		s1 += (uint64_t)w[1] + w[3];
	}
	for (; len >= 4; p += 4, len -= 4) {
		memcpy(w, p, 4);
		s0 += w[0];
	}
	if (len >= 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		s1 += h;
		p += 2;
		len -= 2;
	}
	if (len > 0) {
		uint8_t last[2] = { *p, 0 };
		uint16_t h;

		memcpy(&h, last, 2);
		s1 += h;
	}
	s0 += s1;	/* < 2^50: no carry out */
	s0 = (s0 & 0xffffffff) + (s0 >> 32);
	s0 = (s0 & 0xffffffff) + (s0 >> 32);
	s0 = (s0 & 0xffff) + (s0 >> 16);
	s0 = (s0 & 0xffff) + (s0 >> 16);
	return (uint16_t)s0;
}

/*
 * The 16-bit ones' complement sum of m from off to its end. Not DPDK
 * 22.11's rte_raw_cksum_mbuf(): after a segment of odd length it swaps
 * the bytes of the next one's 32-bit sum cut to 16 bits, losing its
 * carries (a wrong sum over segments of odd sizes, seen in
 * test_tx_partial_csum); here each piece is folded before the swap.
 */
static uint16_t
mbuf_sum(const struct rte_mbuf *m, uint32_t off)
{
	uint32_t sum = 0, done = 0;

	for (const struct rte_mbuf *s = m; s != NULL; s = s->next) {
		uint16_t t;

		if (off >= s->data_len) {
			off -= s->data_len;
			continue;
		}
		t = sum16(rte_pktmbuf_mtod_offset(s, const uint8_t *, off),
			  s->data_len - off);
		if (done & 1)
			t = rte_bswap16(t);
		sum += t;
		done += s->data_len - off;
		off = 0;
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

bool
vu_pmd_csum_finish(struct rte_mbuf *m, uint32_t start, uint32_t off)
{
	uint16_t sum;

	if (start >= m->pkt_len || off + 2 > m->pkt_len - start)
		return false;
	sum = mbuf_sum(m, start);
	/* ones' complement; a UDP checksum of 0 means none: 0xffff is the
	 * same sum (RFC 768), and TCP takes either */
	sum = (uint16_t)~sum;
	if (sum == 0)
		sum = 0xffff;
	mbuf_put16(m, start + off, (const uint8_t *)&sum);
	return true;
}

/* m's IPv4 header (l3_len bytes at l2_len, options included, in the
 * first segment, as the NICs' offload wants it), or NULL. */
static struct rte_ipv4_hdr *
ipv4_hdr(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip;

	if (m->l3_len < sizeof(*ip) ||
	    (uint32_t)m->l2_len + m->l3_len > m->data_len)
		return NULL;
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
	return (ip->version_ihl >> 4) == 4 ? ip : NULL;
}

/*
 * The pseudo header's sum (the field's seed, what rte_eth_tx_prepare()
 * writes there) from m's IP header (first segment). Recomputed rather
 * than taken from the field: data sent twice (a clone, or to a second
 * port) may hold the checksum a first software pass finished. False
 * without an IPv4/IPv6 flag or header: then the field's own is used.
 */
static bool
pseudo_seed(struct rte_mbuf *m, uint64_t ol, uint16_t *seed)
{
	uint32_t l3 = m->l2_len;

	if (ol & RTE_MBUF_F_TX_IPV4) {
		const struct rte_ipv4_hdr *ip = ipv4_hdr(m);

		if (ip == NULL)
			return false;
		*seed = rte_ipv4_phdr_cksum(ip, 0);
		return true;
	}
	if ((uint32_t)l3 + m->l3_len > m->data_len)
		return false;
	if (ol & RTE_MBUF_F_TX_IPV6) {
		const struct rte_ipv6_hdr *ip =
			rte_pktmbuf_mtod_offset(m, const struct rte_ipv6_hdr *,
						l3);

		if (m->l3_len < sizeof(*ip) ||
		    (rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6)
			return false;
		*seed = rte_ipv6_phdr_cksum(ip, 0);
		return true;
	}
	return false;
}

void
vu_pmd_csum_tx(struct rte_mbuf *m, bool partial, void *hdr)
{
	uint64_t ol = m->ol_flags;
	uint32_t l4 = (uint32_t)m->l2_len + m->l3_len, off;
	struct rte_ipv4_hdr *ip;
	uint16_t f[2], seed;

	if ((ol & RTE_MBUF_F_TX_IP_CKSUM) && (ip = ipv4_hdr(m)) != NULL) {
		ip->hdr_checksum = 0;
		ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, m->l3_len);
		m->ol_flags &= ~RTE_MBUF_F_TX_IP_CKSUM;
	}
	switch (ol & RTE_MBUF_F_TX_L4_MASK) {
	case RTE_MBUF_F_TX_TCP_CKSUM:
		off = offsetof(struct rte_tcp_hdr, cksum);
		break;
	case RTE_MBUF_F_TX_UDP_CKSUM:
		off = offsetof(struct rte_udp_hdr, dgram_cksum);
		break;
	default:
		return;		/* SCTP: not offered */
	}
	if (l4 >= m->pkt_len || off + 2 > m->pkt_len - l4)
		return;		/* does not fit: sent as it is */
	if (pseudo_seed(m, ol, &seed))
		mbuf_put16(m, l4 + off, (const uint8_t *)&seed);
	if (partial) {
		*(uint8_t *)hdr = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		f[0] = rte_cpu_to_le_16((uint16_t)l4);
		f[1] = rte_cpu_to_le_16((uint16_t)off);
		memcpy((uint8_t *)hdr +
			       offsetof(struct virtio_net_hdr, csum_start),
		       f, sizeof(f));
	} else if (vu_pmd_csum_finish(m, l4, off)) {
		m->ol_flags &= ~RTE_MBUF_F_TX_L4_MASK;
	}
}

uint16_t
vu_pmd_tx_prepare(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(q);
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];
		uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
		uint32_t hdrs = (uint32_t)m->l2_len + m->l3_len;
		int ret;

		/* what we do not do (segmentation, SCTP, tunnels, VLAN
		 * insertion...) */
		if ((m->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK &
		     ~VU_PMD_TX_OL_OK) ||
		    l4 == RTE_MBUF_F_TX_SCTP_CKSUM) {
			rte_errno = ENOTSUP;
			return i;
		}
		if (!(m->ol_flags & VU_PMD_TX_CSUM_FLAGS))
			continue;
		/* the headers the checksums need in the first segment, the
		 * L4 one too: rte_net_intel_cksum_prepare() writes into it
		 * as if it were */
		if (l4 == RTE_MBUF_F_TX_TCP_CKSUM)
			hdrs += sizeof(struct rte_tcp_hdr);
		else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM)
			hdrs += sizeof(struct rte_udp_hdr);
		if (hdrs > m->data_len) {
			rte_errno = EINVAL;
			return i;
		}
		ret = rte_net_intel_cksum_prepare(pkts[i]);
		if (ret != 0) {
			rte_errno = -ret;
			return i;
		}
	}
	return n;
}
