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
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "frame_ip.h"
#include "inproc_pair.h"

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

/* The frontend port configured again with (or without) the checksum
 * offloads, and started. */
static void
fe_offloads(bool on)
{
	struct rte_eth_conf conf = { 0 };

	if (on) {
		conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
				       RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
				       RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
				       RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	}
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
	};

	return cmocka_run_group_tests_name("csum", tests, group_setup,
					   inproc_group_teardown);
}
