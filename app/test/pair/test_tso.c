/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * TCP segmentation offload between the two PMDs, both ways, as
 * applications use it: a packet sent with RTE_MBUF_F_TX_TCP_SEG (TCP over
 * IPv4 or IPv6, up to 64 KiB, in a chain of mbufs, through
 * rte_eth_tx_prepare()) goes whole as a GSO packet when the receiving
 * side takes them (the device port with LRO: VIRTIO_NET_F_HOST_TSO4/6;
 * the frontend with LRO: VIRTIO_NET_F_GUEST_TSO4/6) and arrives flagged
 * RTE_MBUF_F_RX_LRO with its MSS, its IP length and checksum and its TCP
 * checksum right, its bytes intact; otherwise the sender cuts it into
 * segments (lengths, IPv4 identification, sequence numbers, flags and
 * checksums of each checked); some behind a VLAN tag. With the device port's LRO gone off, GSO
 * packets already negotiated are too long there. Both PMDs in one
 * process; argument: frontend devargs (e.g. packed_vq=0).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "frame_ip.h"
#include "inproc_pair.h"
#include "vu_pmd_csum.h"

#define WAIT_MS 2000
#define SEG 2000u		/* data bytes per mbuf of a chain */

static struct inproc_pair g;
static const char *fe_args = "";

/* What a packet is made of. */
struct shape {
	bool v6;
	uint32_t payload;
	uint16_t mss;
	uint8_t opt;		/* TCP option bytes (a multiple of 4) */
	uint8_t ext;		/* IPv6 hop-by-hop header bytes (8 x n) */
	bool vlan;		/* an 802.1Q tag after the MAC addresses */
};

static const struct shape shapes[] = {
	{ false, 60000, 1448, 0, 0 },	/* a 64 KiB IPv4 packet, 31 mbufs */
	{ true, 30001, 1000, 12, 0 },	/* IPv6, options, an odd length */
	{ false, 2000, 1448, 0, 0 },	/* two segments, the last short */
	{ false, 500, 1448, 0, 0 },	/* one segment: sent as a frame */
	{ true, 9000, 1400, 0, 16 },	/* an IPv6 extension header */
	{ false, 20000, 1448, 0, 0, true },	/* behind a VLAN tag */
	{ true, 5000, 1200, 8, 0, true },	/* IPv6 so, options */
};

static uint16_t
l2_len(const struct shape *s)
{
	return (uint16_t)(sizeof(struct rte_ether_hdr) +
			  (s->vlan ? sizeof(struct rte_vlan_hdr) : 0));
}

static uint16_t
l3_len(const struct shape *s)
{
	return s->v6 ? sizeof(struct rte_ipv6_hdr) + s->ext :
		       sizeof(struct rte_ipv4_hdr);
}

static uint16_t
l4_len(const struct shape *s)
{
	return (uint16_t)(sizeof(struct rte_tcp_hdr) + s->opt);
}

static uint32_t
frame_len(const struct shape *s)
{
	return l2_len(s) + l3_len(s) + l4_len(s) + s->payload;
}

/* The frame of shape s, number seq, into f: its lengths right, its
 * checksum fields 0. */
static void
frame_make(uint8_t *f, const struct shape *s, uint32_t seq)
{
	uint8_t *l3 = f + l2_len(s), *l4 = l3 + l3_len(s);
	uint32_t pl = l4_len(s) + s->payload;
	struct rte_tcp_hdr *t = (void *)l4;
	uint8_t *p = l4 + l4_len(s);
	uint8_t *e = l3 - sizeof(struct rte_ether_hdr);

	memset(f, 0, frame_len(s));
	frame_ip_fill(e, s->v6, s->ext != 0 ? IPPROTO_HOPOPTS : IPPROTO_TCP,
		      (uint16_t)(s->ext + pl), seq);
	if (s->vlan) {
		/* the addresses before the tag (TPID, TCI: VLAN 100),
		 * the IP type after it */
		memmove(f, e, 2 * RTE_ETHER_ADDR_LEN);
		f[12] = 0x81;
		f[13] = 0x00;
		f[14] = 0x00;
		f[15] = 100;
	}
	if (s->ext != 0) {
		/* hop-by-hop options: TCP next, PadN to its end */
		uint8_t *x = l3 + sizeof(struct rte_ipv6_hdr);

		x[0] = IPPROTO_TCP;
		x[1] = (uint8_t)(s->ext / 8 - 1);
		x[2] = 1;
		x[3] = (uint8_t)(s->ext - 4);
	}
	t->src_port = rte_cpu_to_be_16(1000);
	t->dst_port = rte_cpu_to_be_16((uint16_t)(2000 + seq));
	t->sent_seq = rte_cpu_to_be_32(seq * 100000);
	t->data_off = (uint8_t)((l4_len(s) / 4) << 4);
	t->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
	t->rx_win = rte_cpu_to_be_16(65535);
	for (unsigned int i = 0; i < s->opt; i++)
		l4[sizeof(*t) + i] = 1;		/* NOP options */
	for (uint32_t i = 0; i < s->payload; i++)
		p[i] = (uint8_t)(i * 7 + seq + (i >> 8));
}

/* Frame seq of shape s in a chain of SEG-byte mbufs (the first of first
 * bytes, 0: SEG too), asking for segmentation; its IP length and
 * checksums wrong, as an application may leave them. */
static struct rte_mbuf *
mbuf_make_split(struct rte_mempool *mp, const struct shape *s, uint32_t seq,
		uint32_t first)
{
	static uint8_t f[VU_PMD_MAX_GSO_FRAME];
	uint32_t len = frame_len(s), off = 0;
	struct rte_mbuf *m = NULL;

	frame_make(f, s, seq);
	if (s->v6)
		((struct rte_ipv6_hdr *)(f + l2_len(s)))->payload_len = 0;
	else
		((struct rte_ipv4_hdr *)(f + l2_len(s)))->total_length = 0;
	((struct rte_tcp_hdr *)(f + l2_len(s) + l3_len(s)))->cksum = 0xdead;
	while (off < len) {
		struct rte_mbuf *n = rte_pktmbuf_alloc(mp);
		uint32_t k = RTE_MIN(off == 0 && first ? first : SEG,
				     len - off);

		assert_non_null(n);
		memcpy(rte_pktmbuf_append(n, (uint16_t)k), f + off, k);
		if (m == NULL)
			m = n;
		else
			assert_int_equal(rte_pktmbuf_chain(m, n), 0);
		off += k;
	}
	m->l2_len = l2_len(s);
	m->l3_len = l3_len(s);
	m->l4_len = l4_len(s);
	m->tso_segsz = s->mss;
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
	m->ol_flags |= s->v6 ? RTE_MBUF_F_TX_IPV6 :
			       RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	return m;
}

static struct rte_mbuf *
mbuf_make(struct rte_mempool *mp, const struct shape *s, uint32_t seq)
{
	return mbuf_make_split(mp, s, seq, 0);
}

/* Whether the TCP checksum of the frame b (len bytes, shape s) is right:
 * its pseudo header's sum, as RFC 8200 8.1 has it past extension headers
 * (DPDK's verify takes the fixed header's length and next header). */
static bool
tcp_cksum_ok(const uint8_t *b, uint32_t len, const struct shape *s)
{
	uint32_t l3 = l2_len(s), l4 = l3 + l3_len(s), sum;
	uint8_t ph[40] = { 0 };
	uint32_t n = 12;

	if (s->v6) {
		memcpy(ph, b + l3 + 8, 32);
		n = 40;
	} else {
		memcpy(ph, b + l3 + 12, 8);
	}
	/* length, then protocol (IPv4: a byte, a 16-bit length) */
	if (s->v6) {
		ph[34] = (uint8_t)((len - l4) >> 8);
		ph[35] = (uint8_t)(len - l4);
		ph[39] = IPPROTO_TCP;
	} else {
		ph[9] = IPPROTO_TCP;
		ph[10] = (uint8_t)((len - l4) >> 8);
		ph[11] = (uint8_t)(len - l4);
	}
	sum = (uint32_t)rte_raw_cksum(ph, n) + rte_raw_cksum(b + l4, len - l4);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum == 0xffff;
}

/* m holds frame seq of shape s with its IP length and every checksum
 * right, flagged as taken whole (lro) or not, its checksum as finished
 * by the receiver (partial) or not. */
static void
assert_received(const struct rte_mbuf *m, const struct shape *s, uint32_t seq,
		bool lro, bool partial, unsigned int i)
{
	static uint8_t f[VU_PMD_MAX_GSO_FRAME], got[VU_PMD_MAX_GSO_FRAME];
	uint32_t len = frame_len(s), l2 = l2_len(s), l4 = l2 + l3_len(s);
	const uint8_t *b = rte_pktmbuf_read(m, 0, m->pkt_len, got);
	const uint8_t *l3 = b + l2;
	uint32_t cks = l4 + offsetof(struct rte_tcp_hdr, cksum);

	if (m->pkt_len != len)
		fail_msg("packet %u: %u bytes, expected %u", i, m->pkt_len,
			 len);
	frame_make(f, s, seq);
	assert_true(tcp_cksum_ok(b, len, s));
	/* an IPv4 header's sum, its checksum included, is all ones */
	if (!s->v6)
		assert_int_equal(rte_raw_cksum(l3, sizeof(struct rte_ipv4_hdr)),
				 0xffff);
	/* nothing else changed: the IP length is the packet's */
	if (memcmp(b + cks + 2, f + cks + 2, len - cks - 2) != 0 ||
	    memcmp(b, f, s->v6 ? cks : l2 + 10) != 0 ||
	    (!s->v6 && memcmp(b + l2 + 12, f + l2 + 12, cks - l2 - 12) != 0))
		fail_msg("packet %u: bytes other than its checksums changed",
			 i);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
			 partial ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0);
	assert_int_equal(!!(m->ol_flags & RTE_MBUF_F_RX_LRO), lro);
	if (lro)
		assert_int_equal(m->tso_segsz, s->mss);
}

/* Segment k of n of frame seq of shape s, cut by the device, in m: its
 * headers as the original's but for the lengths, IPv4 identification,
 * sequence number and flags (PSH on the last only), its payload the k-th
 * MSS of the original's, every checksum right (partial: finished by the
 * receiver, flagged). */
static void
assert_segment(const struct rte_mbuf *m, const struct shape *s, uint32_t seq,
	       uint32_t k, uint32_t n, bool partial)
{
	static uint8_t f[VU_PMD_MAX_GSO_FRAME], got[VU_PMD_MAX_GSO_FRAME];
	uint32_t l2 = l2_len(s), l4 = l2 + l3_len(s), hl = l4 + l4_len(s);
	uint32_t len = RTE_MIN((uint32_t)s->mss, s->payload - k * s->mss);
	const uint8_t *b;
	const struct rte_tcp_hdr *t, *t0;

	frame_make(f, s, seq);
	if (m->pkt_len != hl + len)
		fail_msg("segment %u/%u: %u bytes, expected %u", k, n,
			 m->pkt_len, hl + len);
	b = rte_pktmbuf_read(m, 0, m->pkt_len, got);
	t = (const void *)(b + l4);
	t0 = (const void *)(f + l4);
	assert_true(tcp_cksum_ok(b, m->pkt_len, s));
	if (s->v6) {
		const struct rte_ipv6_hdr *ip = (const void *)(b + l2);

		assert_int_equal(rte_be_to_cpu_16(ip->payload_len),
				 m->pkt_len - l2 - 40);
		/* to the payload length, then from the next header */
		assert_memory_equal(b, f, l2 + 4);
		assert_memory_equal(b + l2 + 6, f + l2 + 6, l4 - l2 - 6);
	} else {
		const struct rte_ipv4_hdr *ip = (const void *)(b + l2);
		const struct rte_ipv4_hdr *ip0 = (const void *)(f + l2);

		assert_int_equal(rte_be_to_cpu_16(ip->total_length),
				 m->pkt_len - l2);
		assert_int_equal(rte_be_to_cpu_16(ip->packet_id),
				 (uint16_t)(rte_be_to_cpu_16(ip0->packet_id) +
					    k));
		assert_int_equal(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
		assert_memory_equal(b, f, l2 + 2);	/* to the total length */
		/* flags, TTL, protocol; the addresses */
		assert_memory_equal(b + l2 + 6, f + l2 + 6, 4);
		assert_memory_equal(b + l2 + 12, f + l2 + 12, 8);
	}
	assert_int_equal(rte_be_to_cpu_32(t->sent_seq),
			 rte_be_to_cpu_32(t0->sent_seq) + k * s->mss);
	assert_int_equal(t->tcp_flags,
			 k + 1 == n ? t0->tcp_flags :
				      t0->tcp_flags & ~RTE_TCP_PSH_FLAG);
	assert_memory_equal(&t->src_port, &t0->src_port, 4);
	assert_memory_equal(&t->recv_ack, &t0->recv_ack, 5);	/* and data_off */
	assert_memory_equal(&t->rx_win, &t0->rx_win, 2);
	assert_memory_equal((const uint8_t *)t + 18, (const uint8_t *)t0 + 18,
			    l4_len(s) - 18);	/* urgent pointer, options */
	if (memcmp(b + hl, f + hl + k * s->mss, len) != 0)
		fail_msg("segment %u/%u: payload differs", k, n);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
			 partial ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_LRO, 0);
}

/* What becomes of a segmentation request on its way. */
enum fate {
	WHOLE,		/* taken whole (flagged RTE_MBUF_F_RX_LRO when more
			 * than one segment's worth) */
	CUT,		/* cut into segments by the sender */
};

/* Every shape from port `from` (its pool mp) to port `to` as segmentation
 * requests (seq from seq), through rte_eth_tx_prepare(), each checked as
 * fate f has it; partial: the checksums finished by the receiver. */
static void
xfer(uint16_t from, struct rte_mempool *mp, uint16_t to, uint32_t seq,
     enum fate f, bool partial)
{
	struct rte_mbuf *m[RTE_DIM(shapes)], *r[128];
	uint16_t n = RTE_DIM(shapes), want = 0, got = 0, k = 0;

	for (uint16_t i = 0; i < n; i++) {
		const struct shape *s = &shapes[i];
		uint32_t segs = (s->payload + s->mss - 1) / s->mss;

		m[i] = mbuf_make(mp, s, seq + i);
		want += f == CUT ? segs : 1;
	}
	assert_true(want <= RTE_DIM(r));
	assert_int_equal(rte_eth_tx_prepare(from, 0, m, n), n);
	assert_int_equal(rte_eth_tx_burst(from, 0, m, n), n);
	for (int t = 0; t < WAIT_MS && got < want; t++) {
		got += rte_eth_rx_burst(to, 0, r + got,
					(uint16_t)(RTE_DIM(r) - got));
		if (got < want)
			rte_delay_ms(1);
	}
	assert_int_equal(got, want);
	rte_delay_ms(20);	/* and no more */
	assert_int_equal(rte_eth_rx_burst(to, 0, r + got, 1), 0);
	for (uint16_t i = 0; i < n; i++) {
		const struct shape *s = &shapes[i];
		uint32_t segs = (s->payload + s->mss - 1) / s->mss;

		if (f != CUT || segs == 1) {
			assert_received(r[k], s, seq + i,
					f == WHOLE && segs > 1, partial, i);
			rte_pktmbuf_free(r[k++]);
			continue;
		}
		for (uint32_t j = 0; j < segs; j++) {
			assert_segment(r[k], s, seq + i, j, segs, partial);
			rte_pktmbuf_free(r[k++]);
		}
	}
}

/* The device port configured again, with LRO up to max_lro (0: off),
 * and TSO. */
static void
be_lro(uint32_t max_lro)
{
	struct rte_eth_conf conf = { 0 };

	if (max_lro != 0) {
		conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_LRO;
		conf.rxmode.max_lro_pkt_size = max_lro;
	}
	conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_TCP_TSO |
			       RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
			       RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
			       RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	assert_int_equal(rte_eth_dev_stop(g.be), 0);
	assert_int_equal(inproc_port_start(g.be, &conf, 1024, 1024, g.be_mp),
			 0);
}

/* The frontend port configured again with (or without) TSO, and LRO and
 * the receive checksum offloads (rx), started. */
static void
fe_conf(bool tso, bool lro, bool rx_csum)
{
	struct rte_eth_conf conf = { 0 };

	if (tso)
		conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_TCP_TSO |
				       RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
				       RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
				       RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	if (lro) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
		conf.rxmode.max_lro_pkt_size = VU_PMD_MAX_GSO_FRAME;
	}
	if (rx_csum)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	assert_int_equal(inproc_fe_restart(&g, &conf), 0);
}

/* Both ports offer TSO (sent whole where the peer takes it, else cut);
 * the device port LRO (taking its driver's GSO packets), the frontend too
 * (with mergeable buffers). */
static void
test_capabilities(void **state)
{
	struct rte_eth_dev_info be, fe;

	(void)state;
	assert_int_equal(rte_eth_dev_info_get(g.be, &be), 0);
	assert_int_equal(rte_eth_dev_info_get(g.fe, &fe), 0);
	assert_int_equal(be.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO,
			 RTE_ETH_RX_OFFLOAD_TCP_LRO);
	assert_int_equal(be.max_lro_pkt_size, VU_PMD_MAX_GSO_FRAME);
	assert_int_equal(fe.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_LRO,
			 RTE_ETH_RX_OFFLOAD_TCP_LRO);
	assert_int_equal(fe.max_lro_pkt_size, VU_PMD_MAX_GSO_FRAME);
	assert_int_equal(be.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO,
			 RTE_ETH_TX_OFFLOAD_TCP_TSO);
	assert_int_equal(fe.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO,
			 RTE_ETH_TX_OFFLOAD_TCP_TSO);
}

/* The device port without LRO offers no VIRTIO_NET_F_HOST_TSO4/6: the
 * frontend cuts its segmentation requests into segments, with partial
 * checksums (its TSO asks for VIRTIO_NET_F_CSUM) or, its offloads off,
 * finished. */
static void
test_fe_cut(void **state)
{
	(void)state;
	fe_conf(true, false, false);
	xfer(g.fe, g.fe_mp, g.be, 0, CUT, true);
	fe_conf(false, false, false);
	xfer(g.fe, g.fe_mp, g.be, 10, CUT, false);
}

/* A frame of 60 bytes, no offload. */
static struct rte_mbuf *
small_frame(struct rte_mempool *mp)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	assert_non_null(m);
	memset(rte_pktmbuf_append(m, 60), 0x5a, 60);
	return m;
}

/* n frames off the device port's queue (bounded in time). */
static void
be_take(uint16_t n)
{
	struct rte_mbuf *r[32];
	uint16_t got = 0;

	for (int t = 0; t < WAIT_MS && got < n; t++) {
		uint16_t k = rte_eth_rx_burst(g.be, 0, r,
					      (uint16_t)RTE_MIN(n - got, 32));

		rte_pktmbuf_free_bulk(r, k);
		got += k;
		if (k == 0)
			rte_delay_ms(1);
	}
	assert_int_equal(got, n);
}

/* The frontend's ring with room for some of a request's segments but
 * not all (the device not reading it): the burst stops before the
 * request, which the caller keeps, nothing of it sent or counted lost;
 * once the device has read the ring it goes, cut, every segment right. */
static void
test_fe_cut_full(void **state)
{
	const struct shape *s = &shapes[0];
	const uint32_t segs = (s->payload + s->mss - 1) / s->mss;
	struct rte_mbuf *m, *r[64];
	uint64_t err0 = inproc_xstat(g.fe, "tx_q0_errors");
	uint16_t sent = 0, got = 0;

	(void)state;
	fe_conf(true, false, false);
	assert_true(segs > 8 && segs <= RTE_DIM(r));
	for (;;) {
		m = small_frame(g.fe_mp);
		if (rte_eth_tx_burst(g.fe, 0, &m, 1) == 0)
			break;
		assert_true(++sent < 40000);
	}
	rte_pktmbuf_free(m);
	be_take(8);
	m = mbuf_make(g.fe_mp, s, 500);
	assert_int_equal(rte_eth_tx_prepare(g.fe, 0, &m, 1), 1);
	assert_int_equal(rte_eth_tx_burst(g.fe, 0, &m, 1), 0);
	assert_int_equal(rte_eth_tx_burst(g.fe, 0, &m, 1), 0);
	rte_delay_ms(20);
	be_take((uint16_t)(sent - 8));
	assert_int_equal(rte_eth_rx_burst(g.be, 0, r, 1), 0);
	assert_int_equal(rte_eth_tx_burst(g.fe, 0, &m, 1), 1);
	for (int t = 0; t < WAIT_MS && got < segs; t++) {
		got += rte_eth_rx_burst(g.be, 0, r + got,
					(uint16_t)(segs - got));
		if (got < segs)
			rte_delay_ms(1);
	}
	assert_int_equal(got, segs);
	for (uint32_t k = 0; k < segs; k++) {
		assert_segment(r[k], s, 500, k, segs, true);
		rte_pktmbuf_free(r[k]);
	}
	assert_int_equal(inproc_xstat(g.fe, "tx_q0_errors"), err0);
	fe_conf(false, false, false);	/* as test_fe_cut left it */
}

/* LRO on: the frontend (negotiating again at its start) sends them
 * whole, and the device port takes them so. */
static void
test_tso(void **state)
{
	uint64_t lro0;

	(void)state;
	be_lro(VU_PMD_MAX_GSO_FRAME);
	fe_conf(true, false, false);
	lro0 = inproc_xstat(g.be, "rx_lro_packets");
	for (unsigned int r = 0; r < 3; r++)
		xfer(g.fe, g.fe_mp, g.be, 20 + 10 * r, WHOLE, true);
	/* all but the one of one segment, sent as a frame */
	assert_int_equal(inproc_xstat(g.be, "rx_lro_packets") - lro0,
			 3 * (RTE_DIM(shapes) - 1));
}

/* rte_eth_tx_prepare(): segmentation the device takes passes; a request
 * without its MSS or TCP header length, an IP version flag, or with the
 * TCP header past the first mbuf, is EINVAL, on both ports (the device
 * port takes any: sent whole or cut). */
static void
test_prepare(void **state)
{
	const uint16_t ports[2] = { g.fe, g.be };

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(ports); i++) {
		uint16_t p = ports[i];
		struct rte_mbuf *m = mbuf_make(g.fe_mp, &shapes[1], 1);

		assert_int_equal(rte_eth_tx_prepare(p, 0, &m, 1), 1);
		m->tso_segsz = 0;
		assert_int_equal(rte_eth_tx_prepare(p, 0, &m, 1), 0);
		assert_int_equal(rte_errno, EINVAL);
		m->tso_segsz = 1000;
		m->l4_len = 0;
		assert_int_equal(rte_eth_tx_prepare(p, 0, &m, 1), 0);
		assert_int_equal(rte_errno, EINVAL);
		/* neither IPv4 nor IPv6 */
		m->l4_len = l4_len(&shapes[1]);
		m->ol_flags &= ~RTE_MBUF_F_TX_IPV6;
		assert_int_equal(rte_eth_tx_prepare(p, 0, &m, 1), 0);
		assert_int_equal(rte_errno, EINVAL);
		/* flagged IPv4, an IPv6 header */
		m->ol_flags |= RTE_MBUF_F_TX_IPV4;
		assert_int_equal(rte_eth_tx_prepare(p, 0, &m, 1), 0);
		assert_int_equal(rte_errno, EINVAL);
		rte_pktmbuf_free(m);
		/* the TCP header's options in the second mbuf */
		m = mbuf_make_split(g.fe_mp, &shapes[1], 1, 14 + 40 + 20);
		assert_int_equal(rte_eth_tx_prepare(p, 0, &m, 1), 0);
		assert_int_equal(rte_errno, EINVAL);
		rte_pktmbuf_free(m);
	}
}

/* LRO cannot go off on the device port while the frontend has negotiated
 * segmentation (its GSO packets would be lost): the configure is refused;
 * once the frontend has negotiated again without its TSO, it can, and
 * the frontend's TSO cuts its requests itself from then on. */
static void
test_lro_off(void **state)
{
	const struct rte_eth_conf none = { 0 };

	(void)state;
	assert_int_equal(rte_eth_dev_stop(g.be), 0);
	assert_int_equal(rte_eth_dev_configure(g.be, 1, 1, &none), -EBUSY);
	be_lro(VU_PMD_MAX_GSO_FRAME);	/* as it was */
	assert_true(inproc_link_wait(g.be, true, WAIT_MS));
	xfer(g.fe, g.fe_mp, g.be, 100, WHOLE, true);
	fe_conf(false, false, false);
	be_lro(0);
	assert_true(inproc_link_wait(g.be, true, WAIT_MS));
	xfer(g.fe, g.fe_mp, g.be, 110, CUT, false);
	fe_conf(true, false, false);
	xfer(g.fe, g.fe_mp, g.be, 120, CUT, true);
}

/* Device -> frontend: the frontend without LRO (no VIRTIO_NET_F_GUEST_
 * TSO4/6), the device cuts the segmentation requests into segments (with
 * partial checksums when the frontend takes them); with LRO the frontend
 * takes them whole, flagged RTE_MBUF_F_RX_LRO. */
static void
test_be_tso(void **state)
{
	(void)state;
	be_lro(VU_PMD_MAX_GSO_FRAME);
	fe_conf(false, false, false);
	xfer(g.be, g.be_mp, g.fe, 300, CUT, false);
	fe_conf(false, false, true);
	xfer(g.be, g.be_mp, g.fe, 310, CUT, true);
	fe_conf(false, true, true);
	for (uint32_t r = 0; r < 3; r++)
		xfer(g.be, g.be_mp, g.fe, 320 + 10 * r, WHOLE, true);
	/* LRO with ethdev's default max_lro_pkt_size (the MTU's frame): no
	 * GSO packet would fit, none is asked for: cut */
	{
		struct rte_eth_conf conf = { 0 };

		conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_LRO |
				       RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
		assert_int_equal(inproc_fe_restart(&g, &conf), 0);
		xfer(g.be, g.be_mp, g.fe, 360, CUT, true);
	}
	/* and again without */
	fe_conf(true, false, false);
	xfer(g.be, g.be_mp, g.fe, 400, CUT, false);
}

static int
group_setup(void **state)
{
	(void)state;
	return inproc_pair_up(&g, "tso", "--no-huge -m 512", fe_args) == 0 ? 0 :
									     -1;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_fe_cut),
		cmocka_unit_test(test_fe_cut_full),
		cmocka_unit_test(test_tso),
		cmocka_unit_test(test_prepare),
		cmocka_unit_test(test_lro_off),
		cmocka_unit_test(test_be_tso),
	};

	if (argc > 1)
		fe_args = argv[1];
	return cmocka_run_group_tests_name("tso", tests, group_setup,
					   inproc_group_teardown);
}
