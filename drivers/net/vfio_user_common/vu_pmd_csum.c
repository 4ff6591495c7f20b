/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/* Checksum offloads through the virtio_net_hdr (see vu_pmd_csum.h). */

#include <stddef.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_log.h>
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

/* Whether the IPv6 header at l3 of m (extension headers included in its
 * l3_len bytes) carries a routing header: its pseudo header's destination
 * is then the final one (RFC 8200 8.1), which a sender recomputing the
 * seed from the header would get wrong. */
static bool
ipv6_routed(const struct rte_mbuf *m, uint32_t l3, uint32_t l3_len)
{
	uint8_t b[2];
	const uint8_t *p = rte_pktmbuf_read(m, l3 + 6, 1, b);
	uint32_t off = 40;
	uint8_t next;

	if (p == NULL)
		return true;
	next = *p;
	while (off < l3_len) {
		if (next == IPPROTO_ROUTING)
			return true;
		p = rte_pktmbuf_read(m, l3 + off, 2, b);
		if (p == NULL)
			return true;
		next = p[0];
		/* (fragment headers are 8 bytes, their length byte reserved;
		 * rte_net_get_ptype() says L4_FRAG for those anyway) */
		off += (p[1] + 1u) * 8;
	}
	return false;
}

/* Whether a partial checksum at start + off of m is one that can be kept
 * (vu_pmd_csum_partial()); if so m's header lengths are set. */
static bool
csum_keepable(struct rte_mbuf *m, uint32_t start, uint32_t off)
{
	struct rte_net_hdr_lens hl;
	uint32_t ptype, l4off, min_l4;

	ptype = rte_net_get_ptype(m, &hl,
				  RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK |
					  RTE_PTYPE_L4_MASK);
	switch (ptype & RTE_PTYPE_L4_MASK) {
	case RTE_PTYPE_L4_TCP:
		l4off = offsetof(struct rte_tcp_hdr, cksum);
		min_l4 = sizeof(struct rte_tcp_hdr);
		break;
	case RTE_PTYPE_L4_UDP:
		l4off = offsetof(struct rte_udp_hdr, dgram_cksum);
		min_l4 = sizeof(struct rte_udp_hdr);
		break;
	default:
		return false;
	}
	/* IPv4 or IPv6 (ptype parses L4 behind a bad IPv4 header too), the
	 * field the L4 header's, the lengths within the mbuf's fields
	 * (l2_len 7 bits, l3_len 9: an IPv6 packet may carry more extension
	 * headers), no routing header */
	if (!(RTE_ETH_IS_IPV4_HDR(ptype) || RTE_ETH_IS_IPV6_HDR(ptype)) ||
	    off != l4off || start != (uint32_t)hl.l2_len + hl.l3_len ||
	    hl.l3_len < sizeof(struct rte_ipv4_hdr) || hl.l4_len < min_l4 ||
	    hl.l2_len > 127 || hl.l3_len > 511 ||
	    (RTE_ETH_IS_IPV6_HDR(ptype) &&
	     ipv6_routed(m, hl.l2_len, hl.l3_len)))
		return false;
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;
	return true;
}

int
vu_pmd_csum_partial(struct rte_mbuf *m, uint32_t start, uint32_t off, bool keep)
{
	if (start >= m->pkt_len || off + 2 > m->pkt_len - start)
		return -1;
	if (keep && csum_keepable(m, start, off)) {
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_NONE;
		return 1;
	}
	vu_pmd_csum_finish(m, start, off);
	m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return 0;
}

bool
vu_pmd_rx_partial(const char *path, bool arg, uint64_t rx_offloads)
{
	if (!arg)
		return false;
	if (rx_offloads & VU_PMD_RX_CSUM_CAPA)
		return true;
	RTE_LOG(WARNING, PMD,
		"%s: rx_partial=1 without the receive checksum offloads "
		"(TCP_CKSUM, UDP_CKSUM): partial checksums finished here\n",
		path);
	return false;
}

/* m's IP header of version (4 or 6; l3_len bytes at l2_len, options or
 * extension headers included, in the first segment, as the NICs' offload
 * wants it, at least min), or NULL. */
static void *
ip_hdr(const struct rte_mbuf *m, unsigned int version, size_t min)
{
	uint8_t *ip;

	if (m->l3_len < min || (uint32_t)m->l2_len + m->l3_len > m->data_len)
		return NULL;
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, m->l2_len);
	return ip[0] >> 4 == version ? ip : NULL;
}

static struct rte_ipv4_hdr *
ipv4_hdr(const struct rte_mbuf *m)
{
	return ip_hdr(m, 4, sizeof(struct rte_ipv4_hdr));
}

static struct rte_ipv6_hdr *
ipv6_hdr(const struct rte_mbuf *m)
{
	return ip_hdr(m, 6, sizeof(struct rte_ipv6_hdr));
}

/* The IPv4 header checksum of ip (len bytes, options included). */
static void
ipv4_cksum_set(struct rte_ipv4_hdr *ip, uint32_t len)
{
	ip->hdr_checksum = 0;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, len);
}

/* The length field of the IP header at ip (of a segmentation request's
 * type) for an IP packet of len bytes. */
static void
ip_len_set(void *ip, uint8_t type, uint32_t len)
{
	if (type == VIRTIO_NET_HDR_GSO_TCPV4)
		((struct rte_ipv4_hdr *)ip)->total_length = rte_cpu_to_be_16(
			(uint16_t)len);
	else
		((struct rte_ipv6_hdr *)ip)->payload_len = rte_cpu_to_be_16(
			(uint16_t)(len - sizeof(struct rte_ipv6_hdr)));
}

/* The IPv6 pseudo header's sum (RFC 8200 8.1) for an upper-layer packet
 * of len bytes of proto: not rte_ipv6_phdr_cksum()'s, which takes the
 * fixed header's payload length and next header, wrong past extension
 * headers. */
static uint16_t
ipv6_seed(const struct rte_ipv6_hdr *ip, uint32_t len, uint8_t proto)
{
	struct {
		uint8_t addr[32];
		rte_be32_t len;
		rte_be32_t proto;
	} ph;

	memcpy(ph.addr, ip->src_addr, 16);
	memcpy(ph.addr + 16, ip->dst_addr, 16);
	ph.len = rte_cpu_to_be_32(len);
	ph.proto = rte_cpu_to_be_32(proto);
	return rte_raw_cksum(&ph, sizeof(ph));
}

/*
 * The pseudo header's sum (the field's seed, what rte_eth_tx_prepare()
 * writes there) from m's IP header (first segment). Recomputed rather
 * than taken from the field: data sent twice (a clone, or to a second
 * port) may hold the checksum a first software pass finished. False
 * without an IPv4/IPv6 flag or header: then the field's own is used.
 */
static bool
pseudo_seed(const struct rte_mbuf *m, uint64_t ol, uint16_t *seed)
{
	if (ol & RTE_MBUF_F_TX_IPV4) {
		const struct rte_ipv4_hdr *ip = ipv4_hdr(m);

		if (ip == NULL)
			return false;
		*seed = rte_ipv4_phdr_cksum(ip, 0);
		return true;
	}
	if (ol & RTE_MBUF_F_TX_IPV6) {
		const struct rte_ipv6_hdr *ip = ipv6_hdr(m);

		if (ip == NULL)
			return false;
		*seed = ipv6_seed(ip, m->pkt_len - m->l2_len - m->l3_len,
				  (ol & RTE_MBUF_F_TX_L4_MASK) ==
						  RTE_MBUF_F_TX_UDP_CKSUM ?
					  IPPROTO_UDP :
					  IPPROTO_TCP);
		return true;
	}
	return false;
}

/* The gso_type of a TCP segmentation request m makes, or
 * VIRTIO_NET_HDR_GSO_NONE when its headers or size do not make one:
 * headers (l2_len + l3_len + l4_len) in the first segment, the IP one the
 * version flagged, tso_segsz set, the IP packet within 64 KiB. */
static uint8_t
tso_type(const struct rte_mbuf *m)
{
	uint32_t ip_len = m->pkt_len - m->l2_len;	/* the IP packet's */

	if (m->tso_segsz == 0 || m->l4_len < sizeof(struct rte_tcp_hdr) ||
	    (uint32_t)m->l2_len + m->l3_len + m->l4_len > m->data_len)
		return VIRTIO_NET_HDR_GSO_NONE;
	if ((m->ol_flags & RTE_MBUF_F_TX_IPV4) && ip_len <= UINT16_MAX &&
	    ipv4_hdr(m) != NULL)
		return VIRTIO_NET_HDR_GSO_TCPV4;
	if ((m->ol_flags & RTE_MBUF_F_TX_IPV6) &&
	    ip_len - sizeof(struct rte_ipv6_hdr) <= UINT16_MAX &&
	    ipv6_hdr(m) != NULL)
		return VIRTIO_NET_HDR_GSO_TCPV6;
	return VIRTIO_NET_HDR_GSO_NONE;
}

/* The payload of a segmentation request: past its headers. */
static uint32_t
tso_payload(const struct rte_mbuf *m)
{
	return m->pkt_len - m->l2_len - m->l3_len - m->l4_len;
}

/* The IP header's length field of a segmentation request m (of type, so
 * its header is the version flagged) set for the whole packet, as Linux
 * has a GSO packet's. */
static void
tso_ip_len(struct rte_mbuf *m, uint8_t type)
{
	ip_len_set(rte_pktmbuf_mtod_offset(m, uint8_t *, m->l2_len), type,
		   m->pkt_len - m->l2_len);
}

/* vu_pmd_tso_way() of m, its tso_type() given. */
static enum vu_pmd_tso_way
tso_way(const struct rte_mbuf *m, uint8_t type, uint32_t gso_types)
{
	if (type == VIRTIO_NET_HDR_GSO_NONE || tso_payload(m) <= m->tso_segsz)
		return VU_PMD_TSO_FRAME;
	/* CWR set: a GSO packet would need VIRTIO_NET_HDR_GSO_ECN, never
	 * negotiated (5.1.6.2); cut, CWR on the first segment only, as
	 * Linux does without NETIF_F_TSO_ECN */
	if (rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *,
				    m->l2_len + m->l3_len)
		    ->tcp_flags &
	    RTE_TCP_CWR_FLAG)
		return VU_PMD_TSO_CUT;
	return gso_types & (1u << type) ? VU_PMD_TSO_GSO : VU_PMD_TSO_CUT;
}

enum vu_pmd_tso_way
vu_pmd_tso_way(const struct rte_mbuf *m, uint32_t gso_types)
{
	return tso_way(m, tso_type(m), gso_types);
}

/*
 * m (RTE_MBUF_F_TX_TCP_SEG of type, its IP length set, the peer taking
 * it) as one GSO packet (VIRTIO 5.1.6.2): the IPv4 header checksum done,
 * the TCP checksum's seed the pseudo header with the whole TCP length
 * (Linux's GSO adjusts it to each segment's), the header at hdr.
 */
static void
tso_tx(struct rte_mbuf *m, uint8_t type, void *hdr)
{
	uint32_t l4 = (uint32_t)m->l2_len + m->l3_len;
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = type,
		.hdr_len = rte_cpu_to_le_16((uint16_t)(l4 + m->l4_len)),
		.gso_size = rte_cpu_to_le_16(m->tso_segsz),
		.csum_start = rte_cpu_to_le_16((uint16_t)l4),
		.csum_offset = rte_cpu_to_le_16(
			offsetof(struct rte_tcp_hdr, cksum)),
	};
	struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m,
							 struct rte_tcp_hdr *,
							 l4);

	if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		struct rte_ipv4_hdr *ip = ipv4_hdr(m);

		ipv4_cksum_set(ip, m->l3_len);
		th->cksum = rte_ipv4_phdr_cksum(ip, 0);
	} else {
		th->cksum = ipv6_seed(ipv6_hdr(m), m->pkt_len - l4,
				      IPPROTO_TCP);
	}
	memcpy(hdr, &h, sizeof(h));
	m->ol_flags &= ~RTE_MBUF_F_TX_IP_CKSUM;
}

void
vu_pmd_csum_tx(struct rte_mbuf *m, bool partial, uint32_t gso_types, void *hdr)
{
	uint64_t ol = m->ol_flags;
	uint32_t l4 = (uint32_t)m->l2_len + m->l3_len, off;
	struct rte_ipv4_hdr *ip;
	uint16_t f[2], seed;

	if (ol & RTE_MBUF_F_TX_TCP_SEG) {
		uint8_t type = tso_type(m);

		if (type != VIRTIO_NET_HDR_GSO_NONE)
			tso_ip_len(m, type);
		if (partial && tso_way(m, type, gso_types) == VU_PMD_TSO_GSO) {
			tso_tx(m, type, hdr);
			return;
		}
		/* not a GSO packet: one frame, with a TCP checksum request
		 * (which segmentation implies); an IPv4 header's checksum
		 * done again after its length */
		ol = (ol & ~(RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_L4_MASK)) |
		     RTE_MBUF_F_TX_TCP_CKSUM;
		if (type == VIRTIO_NET_HDR_GSO_TCPV4)
			ol |= RTE_MBUF_F_TX_IP_CKSUM;
		m->ol_flags = ol;
	}
	if ((ol & RTE_MBUF_F_TX_IP_CKSUM) && (ip = ipv4_hdr(m)) != NULL) {
		ipv4_cksum_set(ip, m->l3_len);
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

		/* segmentation: a request we can send whole or cut (into
		 * VU_PMD_TSO_MAX_SEGS at most) */
		if ((m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) &&
		    (tso_type(m) == VIRTIO_NET_HDR_GSO_NONE ||
		     (tso_payload(m) + m->tso_segsz - 1) / m->tso_segsz >
			     VU_PMD_TSO_MAX_SEGS)) {
			rte_errno = EINVAL;
			return i;
		}
		/* what we do not do (SCTP, tunnels, VLAN insertion...) */
		if ((m->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK &
		     ~(VU_PMD_TX_OL_OK | RTE_MBUF_F_TX_TCP_SEG)) ||
		    l4 == RTE_MBUF_F_TX_SCTP_CKSUM) {
			rte_errno = ENOTSUP;
			return i;
		}
		if (!(m->ol_flags & VU_PMD_TX_OFFLOAD_FLAGS))
			continue;
		/* the headers the checksums need in the first segment, the
		 * L4 one too: rte_net_intel_cksum_prepare() writes into it
		 * as if it were */
		if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)
			hdrs += m->l4_len;	/* tso_type(): in it */
		else if (l4 == RTE_MBUF_F_TX_TCP_CKSUM)
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

/* Append len bytes of m from off to the packet head (its last segment
 * *cur), segments allocated from mp as needed. 0, or -1 out of mbufs. */
static int
append_from(struct rte_mbuf *head, struct rte_mbuf **cur,
	    const struct rte_mbuf *m, uint32_t off, uint32_t len,
	    struct rte_mempool *mp)
{
	const struct rte_mbuf *s = m;

	while (off >= s->data_len) {
		off -= s->data_len;
		s = s->next;
	}
	while (len > 0) {
		struct rte_mbuf *c = *cur;
		uint32_t k = RTE_MIN(len, (uint32_t)(s->data_len - off));

		k = RTE_MIN(k, (uint32_t)rte_pktmbuf_tailroom(c));
		if (k == 0) {
			struct rte_mbuf *n = rte_pktmbuf_alloc(mp);

			if (n == NULL)
				return -1;
			c->next = n;
			*cur = n;
			head->nb_segs++;
			continue;
		}
		memcpy(rte_pktmbuf_mtod_offset(c, uint8_t *, c->data_len),
		       rte_pktmbuf_mtod_offset(s, const uint8_t *, off), k);
		c->data_len = (uint16_t)(c->data_len + k);
		head->pkt_len += k;
		len -= k;
		off += k;
		if (off == s->data_len) {
			s = s->next;
			off = 0;
		}
	}
	return 0;
}

/* Segment k of n of m (type; its headers hl bytes, first in seg), the
 * headers written for it: lengths, IPv4 identification, sequence number,
 * the flags only the first or last segment carries. */
static void
cut_headers(const struct rte_mbuf *m, struct rte_mbuf *seg, uint8_t type,
	    uint32_t k, uint32_t n, uint32_t len)
{
	uint32_t l3 = m->l2_len, l4 = l3 + m->l3_len, hl = l4 + m->l4_len;
	const uint8_t *src = rte_pktmbuf_mtod(m, const uint8_t *);
	uint8_t *p = rte_pktmbuf_mtod(seg, uint8_t *);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + l4);

	memcpy(p, src, hl);
	ip_len_set(p + l3, type, hl - l3 + len);
	if (type == VIRTIO_NET_HDR_GSO_TCPV4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + l3);

		ip->packet_id = rte_cpu_to_be_16(
			(uint16_t)(rte_be_to_cpu_16(ip->packet_id) + k));
		ip->hdr_checksum = 0;
	}
	th->sent_seq = rte_cpu_to_be_32(rte_be_to_cpu_32(th->sent_seq) +
					k * m->tso_segsz);
	if (k + 1 != n)
		th->tcp_flags &= (uint8_t) ~(RTE_TCP_FIN_FLAG |
					     RTE_TCP_PSH_FLAG);
	if (k != 0)
		th->tcp_flags &= (uint8_t)~RTE_TCP_CWR_FLAG;
	th->cksum = 0;
	seg->data_len = (uint16_t)hl;
	seg->pkt_len = hl;
	seg->l2_len = m->l2_len;
	seg->l3_len = m->l3_len;
	seg->l4_len = m->l4_len;
	seg->ol_flags = RTE_MBUF_F_TX_TCP_CKSUM |
			(type == VIRTIO_NET_HDR_GSO_TCPV4 ?
				 RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM :
				 RTE_MBUF_F_TX_IPV6);
}

uint16_t
vu_pmd_tso_cut(const struct rte_mbuf *m, struct rte_mbuf **seg, uint16_t max)
{
	uint8_t type = tso_type(m);
	uint32_t hl = (uint32_t)m->l2_len + m->l3_len + m->l4_len;
	uint32_t mss = m->tso_segsz, n, k;

	if (type == VIRTIO_NET_HDR_GSO_NONE)
		return 0;
	n = (tso_payload(m) + mss - 1) / mss;
	if (n == 0 || n > max)
		return 0;
	if (rte_pktmbuf_alloc_bulk(m->pool, seg, n) != 0)
		return 0;
	for (k = 0; k < n; k++) {
		struct rte_mbuf *cur = seg[k];
		uint32_t off = hl + k * mss;
		uint32_t len = RTE_MIN(mss, m->pkt_len - off);

		if (rte_pktmbuf_tailroom(cur) < hl)
			break;
		cut_headers(m, cur, type, k, n, len);
		if (append_from(seg[k], &cur, m, off, len, m->pool) < 0)
			break;
	}
	if (k < n) {
		rte_pktmbuf_free_bulk(seg, n);
		return 0;
	}
	return (uint16_t)n;
}

uint16_t
vu_pmd_tx_cut(struct rte_mbuf **pkts, uint16_t n, uint16_t done, bool *cut_next,
	      uint64_t *drops, const struct vu_pmd_tx_ops *ops, void *ctx)
{
	struct rte_mbuf *seg[VU_PMD_TSO_MAX_SEGS];

	while (*cut_next && done < n) {
		uint16_t ns, k;

		*cut_next = false;
		ns = vu_pmd_tso_cut(pkts[done], seg, RTE_DIM(seg));
		if (ns == 0) {
			(*drops)++;	/* too many segments, or no mbufs */
		} else {
			if (!ops->fits(ctx, seg, ns)) {
				rte_pktmbuf_free_bulk(seg, ns);
				break;	/* full: the caller keeps the rest */
			}
			k = ops->tx(ctx, seg, ns);
			if (k < ns) {
				rte_pktmbuf_free_bulk(seg + k, ns - k);
				*drops += ns - k;
			}
		}
		rte_pktmbuf_free(pkts[done]);
		done++;
		if (done < n)
			done += ops->tx(ctx, pkts + done, (uint16_t)(n - done));
	}
	return done;
}

bool
vu_pmd_gso_rx(struct rte_mbuf *m, const struct virtio_net_hdr *h,
	      uint32_t gso_types, uint32_t max_frame)
{
	/* Ethernet, two VLAN tags, IP with options or extension headers,
	 * TCP with options */
	uint8_t buf[256];
	uint32_t len = RTE_MIN(m->pkt_len, (uint32_t)sizeof(buf));
	const uint8_t *p = rte_pktmbuf_read(m, 0, len, buf);
	uint32_t l2 = RTE_ETHER_HDR_LEN, l3, l4, thl;
	uint16_t type, mss = rte_le_to_cpu_16(h->gso_size);

	/* a type negotiated (ECN, 0x80, never offered), with its partial
	 * checksum (which vu_pmd_csum_rx() finished, or kept) and MSS */
	if (h->gso_type >= 32 || !(gso_types & (1u << h->gso_type)) ||
	    ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) !=
		     RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	     (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) !=
		     RTE_MBUF_F_RX_L4_CKSUM_NONE) ||
	    mss == 0 || p == NULL || len < l2)
		return false;
	memcpy(&type, p + 12, 2);
	for (int i = 0; i < 2 && (type == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
				  type == RTE_BE16(RTE_ETHER_TYPE_QINQ));
	     i++, l2 += RTE_VLAN_HLEN) {
		if (len < l2 + RTE_VLAN_HLEN)
			return false;
		memcpy(&type, p + l2 + 2, 2);
	}
	/* the IP version the type says, carrying TCP */
	if (h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (type != RTE_BE16(RTE_ETHER_TYPE_IPV4) || len < l2 + 20 ||
		    (p[l2] >> 4) != 4 || p[l2 + 9] != IPPROTO_TCP)
			return false;
		l3 = (p[l2] & 0xf) * 4u;
	} else {
		uint8_t next;

		if (type != RTE_BE16(RTE_ETHER_TYPE_IPV6) || len < l2 + 40 ||
		    (p[l2] >> 4) != 6)
			return false;
		/* past hop-by-hop, routing and destination options headers */
		next = p[l2 + 6];
		for (l3 = 40; next == IPPROTO_HOPOPTS ||
			      next == IPPROTO_ROUTING ||
			      next == IPPROTO_DSTOPTS;) {
			if (len < l2 + l3 + 8)
				return false;
			next = p[l2 + l3];
			l3 += (p[l2 + l3 + 1] + 1u) * 8;
		}
		if (next != IPPROTO_TCP)
			return false;
	}
	l4 = l2 + l3;
	if (l3 < 20 || len < l4 + 20)
		return false;
	thl = (p[l4 + 12] >> 4) * 4u;	/* data offset */
	/* the checksum is the TCP one; each segment fits the MTU */
	if (rte_le_to_cpu_16(h->csum_start) != l4 ||
	    rte_le_to_cpu_16(h->csum_offset) !=
		    offsetof(struct rte_tcp_hdr, cksum) ||
	    thl < 20 || len < l4 + thl || l4 + thl + mss > max_frame)
		return false;
	m->ol_flags |= RTE_MBUF_F_RX_LRO;
	m->tso_segsz = mss;
	m->l2_len = l2;
	m->l3_len = l3;
	m->l4_len = thl;
	return true;
}
