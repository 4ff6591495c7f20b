/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Checksum offloads between the two PMDs (VIRTIO_NET_F_CSUM and
 * VIRTIO_NET_F_GUEST_CSUM), as an application uses them: TCP and UDP
 * over IPv4 and IPv6, in one mbuf or two, sent with DPDK's offload flags
 * through rte_eth_tx_prepare(), arrive with every checksum right, both
 * ways. While the frontend's port enables the offloads (it asks for the
 * features then, negotiated again at its next start) the sender leaves
 * partial checksums and the receiver finishes them and flags the packet
 * RTE_MBUF_F_RX_L4_CKSUM_GOOD; otherwise the sender finishes them and
 * nothing is flagged. Both PMDs in one process.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "frame_ip.h"
#include "inproc_pair.h"
#include "vu_pmd_csum.h"

#define WAIT_MS 2000
#define FRAME_MAX 2048

static struct inproc_pair g;

/* What a packet is made of. */
struct shape {
	bool v6, tcp;
	uint16_t payload;
	uint16_t seg;		/* bytes in the first mbuf, 0: all */
};

static const struct shape shapes[] = {
	{ false, true, 18, 0 },		/* 64-byte frame */
	{ false, false, 1000, 0 },
	{ true, true, 1400, 0 },
	{ true, false, 333, 0 },
	{ false, true, 1201, 101 },	/* two mbufs, odd split */
	{ true, false, 700, 70 },	/* the headers in the first */
};

static uint16_t
l3_len(const struct shape *s)
{
	return s->v6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr);
}

static uint16_t
l4_len(const struct shape *s)
{
	return s->tcp ? sizeof(struct rte_tcp_hdr) : sizeof(struct rte_udp_hdr);
}

/* The frame of shape s, number seq, with its checksum fields wrong. */
static uint32_t
frame_make(uint8_t *f, const struct shape *s, uint32_t seq)
{
	uint8_t *l3 = f + sizeof(struct rte_ether_hdr), *l4 = l3 + l3_len(s);
	uint16_t pl = l4_len(s) + s->payload;
	uint8_t *p = l4 + l4_len(s);

	memset(f, 0, FRAME_MAX);
	frame_ip_fill(f, s->v6, s->tcp ? IPPROTO_TCP : IPPROTO_UDP, pl, seq);
	if (!s->v6)
		((struct rte_ipv4_hdr *)l3)->hdr_checksum = 0xbeef;
	if (s->tcp) {
		struct rte_tcp_hdr *t = (void *)l4;

		t->src_port = rte_cpu_to_be_16(1000);
		t->dst_port = rte_cpu_to_be_16((uint16_t)(2000 + seq));
		t->sent_seq = rte_cpu_to_be_32(seq);
		t->data_off = 5 << 4;
		t->tcp_flags = RTE_TCP_ACK_FLAG;
		t->cksum = 0xdead;
	} else {
		struct rte_udp_hdr *u = (void *)l4;

		u->src_port = rte_cpu_to_be_16(1000);
		u->dst_port = rte_cpu_to_be_16((uint16_t)(2000 + seq));
		u->dgram_len = rte_cpu_to_be_16(pl);
		u->dgram_cksum = 0xdead;
	}
	for (uint16_t i = 0; i < s->payload; i++)
		p[i] = (uint8_t)(i * 7 + seq);
	return (uint32_t)(p + s->payload - f);
}

/* Frame seq of shape s in an mbuf (or two) asking for its checksums. */
static struct rte_mbuf *
mbuf_make(struct rte_mempool *mp, const struct shape *s, uint32_t seq)
{
	static uint8_t f[FRAME_MAX];
	uint32_t len = frame_make(f, s, seq);
	uint32_t first = s->seg ? s->seg : len;
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp), *m2 = NULL;

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)first), f, first);
	if (first < len) {
		m2 = rte_pktmbuf_alloc(mp);
		assert_non_null(m2);
		memcpy(rte_pktmbuf_append(m2, (uint16_t)(len - first)),
		       f + first, len - first);
		assert_int_equal(rte_pktmbuf_chain(m, m2), 0);
	}
	m->l2_len = sizeof(struct rte_ether_hdr);
	m->l3_len = l3_len(s);
	m->ol_flags |= s->tcp ? RTE_MBUF_F_TX_TCP_CKSUM :
				RTE_MBUF_F_TX_UDP_CKSUM;
	m->ol_flags |= s->v6 ? RTE_MBUF_F_TX_IPV6 :
			       RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	return m;
}

/* m holds frame seq of shape s with every checksum right (and, only if
 * partial, the flag saying the receiver finished one). */
static void
assert_received(const struct rte_mbuf *m, const struct shape *s,
		uint32_t seq, bool partial, unsigned int i)
{
	static uint8_t f[FRAME_MAX], got[FRAME_MAX];
	uint32_t len = frame_make(f, s, seq);
	const uint8_t *b = rte_pktmbuf_read(m, 0, m->pkt_len, got);
	const uint8_t *l3 = b + sizeof(struct rte_ether_hdr);
	uint32_t l4 = sizeof(struct rte_ether_hdr) + l3_len(s);
	uint32_t cks = l4 + (s->tcp ? offsetof(struct rte_tcp_hdr, cksum) :
				      offsetof(struct rte_udp_hdr, dgram_cksum));

	if (m->pkt_len != len)
		fail_msg("packet %u: %u bytes, expected %u", i, m->pkt_len,
			 len);
	if (s->v6) {
		assert_int_equal(rte_ipv6_udptcp_cksum_verify(
					 (const struct rte_ipv6_hdr *)l3,
					 b + l4),
				 0);
	} else {
		/* the header's sum, its checksum included, is all ones */
		assert_int_equal(rte_raw_cksum(l3, sizeof(struct rte_ipv4_hdr)),
				 0xffff);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(
					 (const struct rte_ipv4_hdr *)l3,
					 b + l4),
				 0);
	}
	/* nothing else changed */
	if (memcmp(b + cks + 2, f + cks + 2, len - cks - 2) != 0 ||
	    memcmp(b, f, s->v6 ? cks : sizeof(struct rte_ether_hdr) + 10) !=
		    0)
		fail_msg("packet %u: bytes other than its checksums changed",
			 i);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
			 partial ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0);
}

/* Every shape from port `from` to port `to`, checked there. */
static void
send_all(uint16_t from, struct rte_mempool *mp, uint16_t to, bool partial)
{
	struct rte_mbuf *m[RTE_DIM(shapes)];
	uint16_t n = RTE_DIM(shapes), got = 0;

	for (uint16_t i = 0; i < n; i++)
		m[i] = mbuf_make(mp, &shapes[i], i);
	assert_int_equal(rte_eth_tx_prepare(from, 0, m, n), n);
	assert_int_equal(rte_eth_tx_burst(from, 0, m, n), n);
	for (int t = 0; t < WAIT_MS && got < n; t++) {
		got += rte_eth_rx_burst(to, 0, m + got, (uint16_t)(n - got));
		if (got < n)
			rte_delay_ms(1);
	}
	assert_int_equal(got, n);
	for (uint16_t i = 0; i < n; i++) {
		assert_received(m[i], &shapes[i], i, partial, i);
		rte_pktmbuf_free(m[i]);
	}
}

/* An mbuf of shape s and its clone (the same data) in one burst, the
 * data's checksum field holding the finished checksum from a first send
 * (as after a software pass): both arrive right. */
static void
send_clones(uint16_t from, struct rte_mempool *mp, uint16_t to, bool partial,
	    const struct shape *s)
{
	struct rte_mbuf *m[2];
	uint16_t got = 0;

	m[0] = mbuf_make(mp, s, 9);
	assert_int_equal(rte_eth_tx_prepare(from, 0, m, 1), 1);
	m[1] = rte_pktmbuf_clone(m[0], mp);
	assert_non_null(m[1]);
	assert_int_equal(rte_eth_tx_burst(from, 0, m, 2), 2);
	for (int t = 0; t < WAIT_MS && got < 2; t++) {
		got += rte_eth_rx_burst(to, 0, m + got, (uint16_t)(2 - got));
		if (got < 2)
			rte_delay_ms(1);
	}
	assert_int_equal(got, 2);
	for (unsigned int i = 0; i < 2; i++) {
		assert_received(m[i], s, 9, partial, i);
		rte_pktmbuf_free(m[i]);
	}
}

/* A port configuration with the checksum offloads both ways, or none. */
static struct rte_eth_conf
csum_conf(bool on)
{
	struct rte_eth_conf conf = { 0 };

	if (on) {
		conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
				       RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
				       RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
				       RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	}
	return conf;
}

/* The frontend port configured again with (or without) the checksum
 * offloads, and started. */
static void
fe_offloads(bool on)
{
	struct rte_eth_conf conf = csum_conf(on);

	assert_int_equal(inproc_fe_restart(&g, &conf), 0);
}

/* Both PMDs offer what they do in software. */
static void
test_capabilities(void **state)
{
	const uint64_t tx = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
			    RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
			    RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	struct rte_eth_dev_info be, fe;

	(void)state;
	assert_int_equal(rte_eth_dev_info_get(g.be, &be), 0);
	assert_int_equal(rte_eth_dev_info_get(g.fe, &fe), 0);
	const uint64_t rx = RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
			    RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	assert_int_equal(be.tx_offload_capa & tx, tx);
	assert_int_equal(fe.tx_offload_capa & tx, tx);
	assert_int_equal(be.rx_offload_capa & rx, rx);
	assert_int_equal(fe.rx_offload_capa & rx, rx);
}

/* rte_eth_tx_prepare() refuses what the PMDs do not do: VLAN insertion
 * (ENOTSUP), headers past the first segment (EINVAL); test_tso.c has the
 * segmentation requests. */
static void
test_prepare_refuses(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	m = mbuf_make(g.fe_mp, &shapes[4], 1);	/* 101 bytes in the first */
	m->l3_len = 100;
	assert_int_equal(rte_eth_tx_prepare(g.fe, 0, &m, 1), 0);
	assert_int_equal(rte_errno, EINVAL);
	rte_pktmbuf_free(m);
	/* the UDP header in the second segment (the first ends after IPv4):
	 * DPDK's prepare would write its field past the first's data */
	m = mbuf_make(g.fe_mp, &(const struct shape){ false, false, 100, 34 },
		      1);
	assert_int_equal(rte_eth_tx_prepare(g.be, 0, &m, 1), 0);
	assert_int_equal(rte_errno, EINVAL);
	rte_pktmbuf_free(m);
	/* an offload we do not do, with no checksum asked for */
	m = mbuf_make(g.fe_mp, &shapes[0], 1);
	m->ol_flags = RTE_MBUF_F_TX_VLAN;
	assert_int_equal(rte_eth_tx_prepare(g.fe, 0, &m, 1), 0);
	assert_int_equal(rte_errno, ENOTSUP);
	rte_pktmbuf_free(m);
}

/* The frontend's offloads off (as the pair comes up): the sender
 * finishes the checksums. */
static void
test_software(void **state)
{
	(void)state;
	send_all(g.fe, g.fe_mp, g.be, false);
	send_all(g.be, g.be_mp, g.fe, false);
	send_clones(g.fe, g.fe_mp, g.be, false, &shapes[1]);
	send_clones(g.be, g.be_mp, g.fe, false, &shapes[2]);
}

/* On: partial checksums both ways, finished by the receiver; off again:
 * negotiated away at the next start. */
static void
test_partial(void **state)
{
	(void)state;
	fe_offloads(true);
	send_all(g.fe, g.fe_mp, g.be, true);
	send_all(g.be, g.be_mp, g.fe, true);
	send_clones(g.fe, g.fe_mp, g.be, true, &shapes[2]);
	send_clones(g.be, g.be_mp, g.fe, true, &shapes[1]);
	fe_offloads(false);
	send_all(g.fe, g.fe_mp, g.be, false);
	send_all(g.be, g.be_mp, g.fe, false);
}

/* m (received) with its kept partial checksum finished: the bytes in f
 * (the frame, read out), checked as assert_received() checks a finished
 * one; m's flags and header lengths those of a kept checksum. */
static void
assert_kept(const struct rte_mbuf *m, const struct shape *s, uint32_t seq,
	    unsigned int i)
{
	static uint8_t b[FRAME_MAX];
	const uint8_t *p = rte_pktmbuf_read(m, 0, m->pkt_len, b);
	uint32_t l4 = sizeof(struct rte_ether_hdr) + l3_len(s);
	uint32_t cks = l4 + (s->tcp ?
				     offsetof(struct rte_tcp_hdr, cksum) :
				     offsetof(struct rte_udp_hdr, dgram_cksum));
	struct rte_mbuf *c = rte_pktmbuf_alloc(g.fe_mp);
	uint16_t sum;

	assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
			 RTE_MBUF_F_RX_L4_CKSUM_NONE);
	assert_int_equal(m->l2_len, sizeof(struct rte_ether_hdr));
	assert_int_equal(m->l3_len, l3_len(s));
	assert_int_equal(m->l4_len, l4_len(s));
	/* the field holds the pseudo header's sum: the sum from the L4
	 * header to the end, complemented, is the checksum */
	if (p != b)
		memcpy(b, p, m->pkt_len);
	sum = (uint16_t)~rte_raw_cksum(b + l4, m->pkt_len - l4);
	if (sum == 0)
		sum = 0xffff;
	memcpy(b + cks, &sum, 2);
	assert_non_null(c);
	memcpy(rte_pktmbuf_append(c, (uint16_t)m->pkt_len), b, m->pkt_len);
	assert_received(c, s, seq, false, i);
	rte_pktmbuf_free(c);
}

/* The second pair's ports (test_kept). */
static uint16_t be2, fe2;

/* Port `port` of the second pair configured again, with the checksum
 * offloads both ways or none, and with TSO and LRO (seg). */
static void
kept_port(uint16_t port, bool on, bool seg, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = csum_conf(on);

	if (seg) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
		conf.rxmode.max_lro_pkt_size = VU_PMD_MAX_GSO_FRAME;
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO |
					RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	}
	assert_int_equal(rte_eth_dev_stop(port), 0);
	assert_int_equal(inproc_port_start(port, &conf, 0, 0, mp), 0);
	assert_true(inproc_link_wait(fe2, true, WAIT_MS));
	assert_true(inproc_link_wait(be2, true, WAIT_MS));
}

/* Receive n packets on port into m. */
static void
recv_n(uint16_t port, struct rte_mbuf **m, uint16_t n)
{
	uint16_t got = 0;

	for (int t = 0; t < WAIT_MS && got < n; t++) {
		got += rte_eth_rx_burst(port, 0, m + got, (uint16_t)(n - got));
		if (got < n)
			rte_delay_ms(1);
	}
	assert_int_equal(got, n);
}

/* A TCP/IPv4 segmentation request of 20000 bytes (MSS 1400) in a chain
 * from port `from`, received whole on `to`: flagged RTE_MBUF_F_RX_LRO and
 * _L4_CKSUM_NONE, its bytes as sent but the IP length and checksum, and
 * its TCP checksum right once finished. */
static void
kept_gso(uint16_t from, struct rte_mempool *mp, uint16_t to)
{
	enum {
		LEN = 20000,
		L4 = 34,
		CHUNK = 2000
	};
	static uint8_t f[LEN], b[LEN];
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(f + L4);
	struct rte_mbuf *m = NULL;
	const uint8_t *p;
	uint16_t sum;

	memset(f, 0, sizeof(f));
	frame_ip_fill(f, false, IPPROTO_TCP, LEN - L4, 77);
	t->src_port = rte_cpu_to_be_16(1000);
	t->dst_port = rte_cpu_to_be_16(2077);
	t->data_off = 5 << 4;
	t->tcp_flags = RTE_TCP_ACK_FLAG;
	for (uint32_t i = L4 + sizeof(*t); i < LEN; i++)
		f[i] = (uint8_t)(i * 11);
	for (uint32_t o = 0; o < LEN; o += CHUNK) {
		struct rte_mbuf *s = rte_pktmbuf_alloc(mp);

		assert_non_null(s);
		memcpy(rte_pktmbuf_append(s, CHUNK), f + o, CHUNK);
		if (m == NULL)
			m = s;
		else
			assert_int_equal(rte_pktmbuf_chain(m, s), 0);
	}
	m->l2_len = 14;
	m->l3_len = 20;
	m->l4_len = 20;
	m->tso_segsz = 1400;
	m->ol_flags = RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM |
		      RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
	assert_int_equal(rte_eth_tx_prepare(from, 0, &m, 1), 1);
	assert_int_equal(rte_eth_tx_burst(from, 0, &m, 1), 1);
	recv_n(to, &m, 1);
	assert_int_equal(m->ol_flags & (RTE_MBUF_F_RX_LRO |
					RTE_MBUF_F_RX_L4_CKSUM_MASK),
			 RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE);
	assert_int_equal(m->tso_segsz, 1400);
	assert_int_equal(m->pkt_len, LEN);
	p = rte_pktmbuf_read(m, 0, LEN, b);
	if (p != b)
		memcpy(b, p, LEN);
	assert_memory_equal(b + L4 + 18, f + L4 + 18, LEN - L4 - 18);
	assert_int_equal(rte_raw_cksum(b + 14, 20), 0xffff);
	sum = (uint16_t)~rte_raw_cksum(b + L4, LEN - L4);
	memcpy(b + L4 + 16, &sum, 2);
	assert_int_equal(rte_ipv4_udptcp_cksum_verify((const struct rte_ipv4_hdr
							       *)(b + 14),
						      b + L4),
			 0);
	rte_pktmbuf_free(m);
}

/*
 * rx_partial=1 on both PMDs (a second pair beside the first): with the
 * receive checksum offloads on, the partial checksums the other side
 * leaves arrive kept, flagged RTE_MBUF_F_RX_L4_CKSUM_NONE with their
 * header lengths, the field holding the pseudo header's sum. Sent on as
 * they came, with RTE_MBUF_F_TX_TCP_CKSUM / _UDP_CKSUM and without
 * rte_eth_tx_prepare() (a switch forwarding them), they arrive kept on
 * the other side too; finishing them gives every checksum right. With
 * the device port's receive offloads off, it finishes them.
 */
static void
test_kept(void **state)
{
	char sock[128];
	struct rte_mbuf *m[RTE_DIM(shapes)];
	const uint16_t n = RTE_DIM(shapes);

	(void)state;
	snprintf(sock, sizeof(sock), "%s/kept.sock", g.dir);
	assert_int_equal(inproc_device_add(&g, "net_vfio_user1", sock,
					   "rx_partial=1", &be2),
			 0);
	assert_int_equal(inproc_frontend_add(&g, "net_virtio_vfio_user1", sock,
					     "rx_partial=1", 1, &fe2),
			 0);
	kept_port(be2, true, false, g.be_mp);
	kept_port(fe2, true, false, g.fe_mp);

	/* frontend -> device: kept */
	for (uint16_t i = 0; i < n; i++)
		m[i] = mbuf_make(g.fe_mp, &shapes[i], 40 + i);
	assert_int_equal(rte_eth_tx_prepare(fe2, 0, m, n), n);
	assert_int_equal(rte_eth_tx_burst(fe2, 0, m, n), n);
	recv_n(be2, m, n);
	for (uint16_t i = 0; i < n; i++) {
		assert_kept(m[i], &shapes[i], 40 + i, i);
		/* sent on as a switch does: the offload asked for, the
		 * field's seed as it came (without an IP version flag the
		 * port takes it from the field, as a NIC does, rather than
		 * from the IP header) */
		m[i]->ol_flags = shapes[i].tcp ? RTE_MBUF_F_TX_TCP_CKSUM :
						 RTE_MBUF_F_TX_UDP_CKSUM;
		if (i % 2 == 0)
			m[i]->ol_flags |= shapes[i].v6 ? RTE_MBUF_F_TX_IPV6 :
							 RTE_MBUF_F_TX_IPV4;
	}
	/* device -> frontend: kept again */
	assert_int_equal(rte_eth_tx_burst(be2, 0, m, n), n);
	recv_n(fe2, m, n);
	for (uint16_t i = 0; i < n; i++) {
		assert_kept(m[i], &shapes[i], 40 + i, i);
		rte_pktmbuf_free(m[i]);
	}
	assert_int_equal(inproc_xstat(be2, "rx_csum_kept"), n);
	assert_int_equal(inproc_xstat(fe2, "rx_q0_csum_kept"), n);
	/* delivered again and never received: the frontend's queue stop
	 * drops them, counted there, not as kept */
	for (uint16_t i = 0; i < n; i++) {
		m[i] = mbuf_make(g.be_mp, &shapes[i], 60 + i);
		m[i]->ol_flags = (shapes[i].tcp ? RTE_MBUF_F_TX_TCP_CKSUM :
						  RTE_MBUF_F_TX_UDP_CKSUM) |
				 (shapes[i].v6 ? RTE_MBUF_F_TX_IPV6 :
						 RTE_MBUF_F_TX_IPV4);
	}
	assert_int_equal(rte_eth_tx_prepare(be2, 0, m, n), n);
	assert_int_equal(rte_eth_tx_burst(be2, 0, m, n), n);
	assert_int_equal(rte_eth_dev_rx_queue_stop(fe2, 0), 0);
	assert_int_equal(inproc_xstat(fe2, "rx_q0_dropped"), n);
	assert_int_equal(inproc_xstat(fe2, "rx_q0_csum_kept"), n);
	assert_int_equal(rte_eth_dev_rx_queue_start(fe2, 0), 0);
	{
		uint64_t id;	/* the receive queues' only */

		assert_int_not_equal(rte_eth_xstats_get_id_by_name(
					     fe2, "tx_q0_csum_kept", &id),
				     0);
	}

	/* GSO packets both ways (TSO and LRO on both ports): kept, not
	 * summed */
	kept_port(be2, true, true, g.be_mp);
	kept_port(fe2, true, true, g.fe_mp);
	kept_gso(fe2, g.fe_mp, be2);
	kept_gso(be2, g.be_mp, fe2);

	/* the device port without the receive offloads: finished there
	 * (the frontend without TSO first: LRO stays on under a driver
	 * that negotiated segmentation) */
	kept_port(fe2, true, false, g.fe_mp);
	kept_port(be2, false, false, g.be_mp);
	send_all(fe2, g.fe_mp, be2, true);

	assert_int_equal(rte_eth_dev_stop(fe2), 0);
	assert_int_equal(rte_eth_dev_close(fe2), 0);
	assert_int_equal(rte_eth_dev_stop(be2), 0);
	assert_int_equal(rte_eth_dev_close(be2), 0);
	assert_int_equal(rte_vdev_uninit("net_virtio_vfio_user1"), 0);
	assert_int_equal(rte_vdev_uninit("net_vfio_user1"), 0);
}

static int
group_setup(void **state)
{
	(void)state;
	return inproc_pair_up(&g, "csum", "--no-huge -m 256", "") == 0 ? 0 :
									 -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_prepare_refuses),
		cmocka_unit_test(test_software),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_kept),
	};

	return cmocka_run_group_tests_name("csum", tests, group_setup,
					   inproc_group_teardown);
}
