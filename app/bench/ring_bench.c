/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * ring_bench: the data path of both PMDs in one process, one thread.
 *
 * net_vfio_user (the device) and net_virtio_vfio_user (the driver) are
 * both probed in this process, connected over a socket in a private
 * directory; the library's event thread serves the control path, and the
 * main lcore alone moves packets, alternating:
 *
 *   fe-be:  alloc + fill a burst, tx_burst on the client port,
 *           rx_burst on the device port, free what came;
 *   be-fe:  the same from the device port to the client port.
 *
 * Nothing else runs while it measures, so an instruction count of the two
 * loops (valgrind --tool=callgrind, see devtools/ring-bench.sh) is the
 * same from run to run: instructions per packet, per function, for each
 * step of the data path work. The figure leaves out what two cores pay to
 * move cache lines between them; measure that with two testpmd processes.
 * Without valgrind it prints the single-core packet rate as well.
 *
 * --transport vhost runs DPDK's net_vhost (device side, "be") and
 * net_virtio_user (driver side, "fe") the same way, memif net_memif's
 * server and client: the same loops, for comparison.
 *
 * --two-cores runs the sender and the receiver on two lcores (CPUs 0 and
 * 1) for --seconds, as two testpmd processes would, and times every call:
 * the sender's iteration (alloc + fill + tx_burst, what testpmd's txonly
 * does) and its tx_burst alone, the receiver's non-empty rx_burst (+ free).
 * It prints the median cycles per packet of each (a median is robust to
 * the preemptions of a shared machine, unlike a rate), how often the
 * sender found the ring full and the receiver found it empty (which side
 * bounds the rate), and the CPU 0 <-> 1 cache-line round trip before and
 * after (the vCPUs near or far, see doc/guides/perf.rst).
 *
 * --two-cores --loop runs testpmd's io-forward loop instead: the
 * frontend (lcore 1) injects --inflight packets, then each side sends
 * back what it receives (rx_burst, then tx_burst of what came; what does
 * not fit is freed, as testpmd's io mode without retry does). It prints
 * the packets each side received per second and the median cycles per
 * packet of each side's non-empty iterations (rx_burst + tx_burst): the
 * side with more cycles per packet and less idle time bounds the loop.
 * --mbuf-size sets the mbufs' data room (both pools), so that one mbuf
 * holds a jumbo frame (--size up to the data room less the headroom).
 *
 * --vlan tags every frame (802.1Q, VLAN 100) and gives the device the
 * MTU of the frame's size less the tagged header (at least 1500): frames
 * of 1518 bytes are then the MTU's, tagged.
 *
 * --csum sends UDP/IPv4 packets asking for their UDP checksum
 * (RTE_MBUF_F_TX_UDP_CKSUM, the pseudo header's sum in the field) with
 * both ports' checksum offloads enabled: the frontend negotiates
 * VIRTIO_NET_F_CSUM and _GUEST_CSUM, the sender leaves a partial
 * checksum, the receiver finishes it (what a Linux guest's traffic costs
 * the device); with --two-cores the receiver checks the first packet of
 * each burst (right, flagged RTE_MBUF_F_RX_L4_CKSUM_GOOD, or _NONE and
 * right once finished: the receiver kept it, its --be-args/--fe-args
 * rx_partial=1) out of its timing and fails on a wrong one. vfio-user
 * transport only.
 *
 * --qsbr prints what the QSBR bookkeeping of one burst costs (cycles,
 * best of five runs): going online and offline (what each burst of both
 * PMDs does), a quiescent report (what a thread that stays online would
 * do), and the fences and locked stores behind them.
 *
 *   ring_bench [--bursts N] [--size BYTES] [--burst N] [--dir fe-be|be-fe|both]
 *              [--be-args k=v,...] [--fe-args k=v,...] [--ring N]
 *              [--transport vfio-user|vhost|memif] [--qsbr]
 *              [--two-cores [--seconds S] [--loop [--inflight N]]]
 *              [--mbuf-size BYTES] [--csum | --vlan]
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_udp.h>
#include <rte_vfio_user_qsbr.h>

#include "eal_exit.h"

#define MAX_BURST 64

static struct {
	uint64_t bursts;
	uint32_t size;
	uint16_t burst;
	uint16_t ring;
	const char *dir;
	const char *be_args;
	const char *fe_args;
	const char *transport;
	bool qsbr;
	bool two_cores;
	bool loop;
	bool csum;
	bool vlan;
	uint32_t inflight;
	uint32_t mbuf_size;
	double seconds;
	uint16_t be, fe;
	struct rte_mempool *be_mp, *fe_mp;
	uint8_t tmpl[64];
} b = {
	.bursts = 200000,
	.size = 64,
	.burst = 32,
	.ring = 1024,
	.dir = "both",
	.be_args = "",
	.fe_args = "",
	.transport = "vfio-user",
	.seconds = 2.0,
	.inflight = 128,
	.mbuf_size = RTE_MBUF_DEFAULT_BUF_SIZE,
};

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--bursts N] [--size BYTES] [--burst N] "
		"[--dir fe-be|be-fe|both] [--be-args k=v,...] "
		"[--fe-args k=v,...] [--ring N] "
		"[--transport vfio-user|vhost|memif] [--qsbr] "
		"[--two-cores [--seconds S] [--loop [--inflight N]]] "
		"[--mbuf-size BYTES] [--csum | --vlan]\n",
		prog);
	exit(2);
}

static void
parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bursts", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "burst", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'd' },
		{ "be-args", required_argument, NULL, 'B' },
		{ "fe-args", required_argument, NULL, 'F' },
		{ "ring", required_argument, NULL, 'r' },
		{ "transport", required_argument, NULL, 't' },
		{ "qsbr", no_argument, NULL, 'q' },
		{ "two-cores", no_argument, NULL, '2' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "loop", no_argument, NULL, 'L' },
		{ "inflight", required_argument, NULL, 'I' },
		{ "mbuf-size", required_argument, NULL, 'M' },
		{ "csum", no_argument, NULL, 'c' },
		{ "vlan", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			b.bursts = strtoull(optarg, NULL, 0);
			break;
		case 's':
			b.size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'b':
			b.burst = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'd':
			b.dir = optarg;
			break;
		case 'B':
			b.be_args = optarg;
			break;
		case 'F':
			b.fe_args = optarg;
			break;
		case 'r':
			b.ring = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 't':
			b.transport = optarg;
			break;
		case 'q':
			b.qsbr = true;
			break;
		case '2':
			b.two_cores = true;
			break;
		case 'S':
			b.seconds = strtod(optarg, NULL);
			break;
		case 'L':
			b.loop = true;
			break;
		case 'I':
			b.inflight = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'M':
			b.mbuf_size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			b.csum = true;
			break;
		case 'V':
			b.vlan = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (strcmp(b.transport, "vfio-user") != 0 &&
	    strcmp(b.transport, "vhost") != 0 &&
	    strcmp(b.transport, "memif") != 0)
		usage(argv[0]);
	if (b.csum && strcmp(b.transport, "vfio-user") != 0)
		usage(argv[0]);	/* the GOOD flag it checks is ours */
	if (b.mbuf_size < RTE_MBUF_DEFAULT_BUF_SIZE ||
	    b.mbuf_size > UINT16_MAX || b.size < 60 ||
	    b.size > b.mbuf_size - RTE_PKTMBUF_HEADROOM - 64 ||
	    (b.loop &&
	     (!b.two_cores || b.inflight == 0 || b.inflight > 4096)) ||
	    b.burst == 0 || b.burst > MAX_BURST || b.bursts == 0 ||
	    (b.csum && b.vlan) || !(b.seconds > 0 && b.seconds <= 60))
		usage(argv[0]);
}

/* What testpmd's txonly does per packet: a fresh mbuf with a copied
 * header (Ethernet, IPv4, UDP). */
static __rte_always_inline int
fill(struct rte_mempool *mp, struct rte_mbuf **m, uint16_t n)
{
	if (rte_pktmbuf_alloc_bulk(mp, m, n) != 0)
		return -1;
	for (uint16_t i = 0; i < n; i++) {
		/* (constant sizes: rte_memcpy() inlined for each) */
		if (b.vlan)
			rte_memcpy(rte_pktmbuf_mtod(m[i], void *), b.tmpl, 46);
		else
			rte_memcpy(rte_pktmbuf_mtod(m[i], void *), b.tmpl, 42);
		m[i]->data_len = (uint16_t)b.size;
		m[i]->pkt_len = b.size;
		if (b.csum) {
			m[i]->l2_len = RTE_ETHER_HDR_LEN;
			m[i]->l3_len = sizeof(struct rte_ipv4_hdr);
			m[i]->ol_flags = RTE_MBUF_F_TX_IPV4 |
					 RTE_MBUF_F_TX_UDP_CKSUM;
		}
	}
	return 0;
}

static __rte_always_inline uint64_t
one_way(uint16_t tx_port, struct rte_mempool *mp, uint16_t rx_port,
	uint64_t bursts)
{
	struct rte_mbuf *m[MAX_BURST], *r[MAX_BURST];
	uint64_t got = 0;

	for (uint64_t i = 0; i < bursts; i++) {
		uint16_t sent, n;

		if (fill(mp, m, b.burst) == 0) {
			sent = rte_eth_tx_burst(tx_port, 0, m, b.burst);
			if (sent < b.burst)
				rte_pktmbuf_free_bulk(&m[sent], b.burst - sent);
		}
		n = rte_eth_rx_burst(rx_port, 0, r, MAX_BURST);
		got += n;
		rte_pktmbuf_free_bulk(r, n);
	}
	return got;
}

/* The two measured loops (callgrind --toggle-collect names them). */
__rte_noinline uint64_t bench_fe_to_be(uint64_t bursts);
__rte_noinline uint64_t bench_be_to_fe(uint64_t bursts);

__rte_noinline uint64_t
bench_fe_to_be(uint64_t bursts)
{
	return one_way(b.fe, b.fe_mp, b.be, bursts);
}

__rte_noinline uint64_t
bench_be_to_fe(uint64_t bursts)
{
	return one_way(b.be, b.be_mp, b.fe, bursts);
}

/* Cycles per iteration of op, best of five runs of n. */
#define QSBR_COST(what, n, op)                                              \
	do {                                                                \
		uint64_t best = UINT64_MAX;                                 \
		for (int r = 0; r < 5; r++) {                               \
			uint64_t t0 = rte_rdtsc_precise();                  \
			for (uint32_t i = 0; i < (n); i++) {                \
				op;                                         \
			}                                                   \
			best = RTE_MIN(best, rte_rdtsc_precise() - t0);     \
		}                                                           \
		printf("  %-40s %6.1f cycles\n", what, (double)best / (n)); \
	} while (0)

static void
qsbr_cost(void)
{
	size_t sz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	struct rte_rcu_qsbr *v = rte_zmalloc("qsbr", sz, RTE_CACHE_LINE_SIZE);
	unsigned int lc = rte_lcore_id();
	const uint32_t n = 2000000;
	uint64_t word = 0, tok = 1;

	if (v == NULL || rte_rcu_qsbr_init(v, RTE_MAX_LCORE) != 0)
		return;
	rte_rcu_qsbr_thread_register(v, lc);
	printf("QSBR bookkeeping per burst (TSC %.2f GHz):\n",
	       rte_get_tsc_hz() / 1e9);
	QSBR_COST("nothing (loop)", n, rte_compiler_barrier());
	QSBR_COST("rte_lcore_id()", n, lc += rte_lcore_id();
		  rte_compiler_barrier());
	QSBR_COST("online + offline (the bursts)", n,
		  rte_rcu_qsbr_thread_online(v, 0);
		  rte_rcu_qsbr_thread_offline(v, 0));
	QSBR_COST("light online + offline (the bursts)", n,
		  rte_vfio_user_qsbr_online_light(v, 0);
		  rte_rcu_qsbr_thread_offline(v, 0));
	rte_rcu_qsbr_thread_online(v, 0);
	QSBR_COST("quiescent (thread stays online)", n,
		  rte_rcu_qsbr_quiescent(v, 0));
	rte_rcu_qsbr_thread_offline(v, 0);
	QSBR_COST("seq_cst fence (mfence)", n,
		  rte_atomic_thread_fence(__ATOMIC_SEQ_CST));
	QSBR_COST("locked exchange (xchg)", n,
		  __atomic_exchange_n(&word, tok++, __ATOMIC_SEQ_CST));
	QSBR_COST("release store", n,
		  __atomic_store_n(&word, tok++, __ATOMIC_RELEASE));
	rte_free(v);
	RTE_SET_USED(lc);
}

/* --csum: b.tmpl an Ethernet + IPv4 + UDP header for frames of b.size,
 * the UDP checksum field holding the pseudo header's sum. */
static void
csum_template(void)
{
	struct rte_ether_hdr *eth = (void *)b.tmpl;
	struct rte_ipv4_hdr *ip = (void *)(eth + 1);
	struct rte_udp_hdr *udp = (void *)(ip + 1);
	uint16_t l4 = (uint16_t)(b.size - sizeof(*eth) - sizeof(*ip));

	memset(b.tmpl, 0, sizeof(b.tmpl));
	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr.addr_bytes[0] = 0x02;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(0x0a000001);
	ip->dst_addr = rte_cpu_to_be_32(0x0a000002);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(9);
	udp->dst_port = rte_cpu_to_be_16(9);
	udp->dgram_len = rte_cpu_to_be_16(l4);
	udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, 0);
}

static int
port_setup(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { 0 };
	int ret;

	if (b.csum) {
		conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		conf.txmode.offloads = RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	}
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(port, 0, b.ring, SOCKET_ID_ANY,
					     NULL, mp);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(port, 0, b.ring, SOCKET_ID_ANY,
					     NULL);
	return ret;
}

static bool
link_up(uint16_t port)
{
	struct rte_eth_link l;

	return rte_eth_link_get_nowait(port, &l) == 0 &&
	       l.link_status == RTE_ETH_LINK_UP;
}

static void
run(const char *name, uint64_t (*fn)(uint64_t))
{
	uint64_t t0, t1, pkts, warm, hz = rte_get_timer_hz();
	struct rte_eth_stats s;

	warm = fn(b.bursts / 10 + 10);	/* warm up */
	t0 = rte_get_timer_cycles();
	pkts = fn(b.bursts);
	t1 = rte_get_timer_cycles();
	printf("%s: %" PRIu64 " packets of %u bytes in %" PRIu64
	       " bursts of %u: "
	       "%.2f Mpps on one core (%" PRIu64 " packets in all)\n",
	       name, pkts, b.size, b.bursts, b.burst,
	       (double)pkts * hz / (double)(t1 - t0) / 1e6, warm + pkts);
	if (pkts != b.bursts * b.burst)
		printf("%s: WARNING: %" PRIu64 " packets expected\n", name,
		       b.bursts * b.burst);
	rte_eth_stats_get(b.be, &s);
	if (s.ierrors || s.oerrors || s.imissed)
		printf("%s: device port errors: ierrors %" PRIu64
		       " oerrors %" PRIu64 " imissed %" PRIu64 "\n",
		       name, s.ierrors, s.oerrors, s.imissed);
}

/* ---- --two-cores: sender and receiver on two lcores ---- */

#define HIST_MAX 32768	/* cycles per burst; longer ones count as this */

/* Cycles per burst of one timed call, as a histogram (a median from it). */
struct hist {
	uint64_t n;
	uint32_t c[HIST_MAX + 1];
};

static void
hist_add(struct hist *h, uint64_t cycles)
{
	h->c[RTE_MIN(cycles, (uint64_t)HIST_MAX)]++;
	h->n++;
}

static double
hist_median(const struct hist *h)
{
	uint64_t seen = 0;

	for (uint32_t i = 0; i <= HIST_MAX; i++) {
		seen += h->c[i];
		if (seen * 2 >= h->n && h->n > 0)
			return i;
	}
	return 0;
}

static struct {
	uint16_t tx_port, rx_port;
	struct rte_mempool *mp;
	uint64_t end;			/* TSC when both stop */
	volatile uint32_t go;		/* ping-pong of the probe, then start */
	uint64_t sent, full_bursts, short_bursts;
	uint64_t got, empty_polls, polls, busy_cycles;
	uint64_t checked, csum_bad;	/* --csum: first packets of bursts */
	uint64_t kept;			/* --csum: of those, kept partial */
	struct hist iter, tx, rx;	/* sender iteration, tx_burst, rx */
} tc;

/* --csum: m came with its UDP checksum finished (flagged GOOD, right), or
 * kept (the receiver's rx_partial=1: flagged NONE, right once finished
 * here). */
static bool
csum_right(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
					sizeof(struct rte_ether_hdr));
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);
	uint64_t f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

	if (m->nb_segs != 1)
		return false;
	if (f == RTE_MBUF_F_RX_L4_CKSUM_NONE) {
		uint16_t sum = (uint16_t)~rte_raw_cksum(
			u, m->data_len -
				   (uint32_t)((uint8_t *)u -
					      rte_pktmbuf_mtod(m, uint8_t *)));

		u->dgram_cksum = sum != 0 ? sum : 0xffff;
		tc.kept++;
	} else if (f != RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
		return false;
	}
	return rte_ipv4_udptcp_cksum_verify(ip, u) == 0;
}

/* The cache-line probe of devtools/bench-c2c.c: round trips of tc.go
 * between the two lcores, median ns of batches of 8. */
#define PROBE_BATCHES 1000

static int
probe_peer(void *arg __rte_unused)
{
	for (uint32_t k = 1; k <= PROBE_BATCHES * 8; k++) {
		while (tc.go != 2 * k - 1)
			rte_pause();
		tc.go = 2 * k;
	}
	return 0;
}

static int
cmp_u64(const void *a, const void *b2)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b2;

	return x < y ? -1 : x > y;
}

static double
probe_main(unsigned int peer)
{
	static uint64_t t[PROBE_BATCHES];
	uint32_t k = 0;

	tc.go = 0;
	rte_eal_remote_launch(probe_peer, NULL, peer);
	for (uint32_t i = 0; i < PROBE_BATCHES; i++) {
		uint64_t t0 = rte_rdtsc_precise();

		for (uint32_t j = 0; j < 8; j++) {
			k++;
			tc.go = 2 * k - 1;
			while (tc.go != 2 * k)
				rte_pause();
		}
		t[i] = rte_rdtsc_precise() - t0;
	}
	rte_eal_wait_lcore(peer);
	qsort(t, PROBE_BATCHES, sizeof(t[0]), cmp_u64);
	return (double)t[PROBE_BATCHES / 2] / 8 * 1e9 / rte_get_tsc_hz();
}

/* Worker lcore: alloc + fill + tx_burst until tc.end. */
static int
tc_sender(void *arg __rte_unused)
{
	struct rte_mbuf *m[MAX_BURST];

	while (tc.go != 1)
		rte_pause();
	for (;;) {
		uint64_t t0 = rte_rdtsc(), t1, t2;
		uint16_t sent;

		if (t0 >= tc.end)
			break;
		if (fill(tc.mp, m, b.burst) != 0)
			continue;
		t1 = rte_rdtsc();
		sent = rte_eth_tx_burst(tc.tx_port, 0, m, b.burst);
		t2 = rte_rdtsc();
		tc.sent += sent;
		if (sent < b.burst) {
			rte_pktmbuf_free_bulk(&m[sent], b.burst - sent);
			tc.short_bursts++;
			continue;
		}
		tc.full_bursts++;
		hist_add(&tc.iter, t2 - t0);
		hist_add(&tc.tx, t2 - t1);
	}
	return 0;
}

static int
two_cores(const char *name, uint16_t tx_port, struct rte_mempool *mp,
	  uint16_t rx_port)
{
	unsigned int peer = rte_get_next_lcore(-1, 1, 0);
	struct rte_mbuf *r[MAX_BURST];
	uint64_t hz = rte_get_tsc_hz(), t0;
	double c2c_before, c2c_after;

	if (peer >= RTE_MAX_LCORE) {
		fprintf(stderr, "--two-cores needs a second lcore\n");
		return -1;
	}
	memset(&tc, 0, sizeof(tc));
	tc.tx_port = tx_port;
	tc.rx_port = rx_port;
	tc.mp = mp;
	c2c_before = probe_main(peer);
	tc.go = 0;
	t0 = rte_rdtsc();
	tc.end = t0 + (uint64_t)(b.seconds * (double)hz);
	rte_eal_remote_launch(tc_sender, NULL, peer);
	tc.go = 1;
	while (rte_rdtsc() < tc.end) {
		uint64_t t1 = rte_rdtsc(), t2;
		uint16_t n = rte_eth_rx_burst(rx_port, 0, r, MAX_BURST);

		tc.polls++;
		if (n == 0) {
			tc.empty_polls++;
			continue;
		}
		/* --csum: the first of each burst checked, out of the timing */
		rte_pktmbuf_free_bulk(r + b.csum, n - b.csum);
		t2 = rte_rdtsc();
		if (b.csum) {
			tc.checked++;
			tc.csum_bad += !csum_right(r[0]);
			rte_pktmbuf_free(r[0]);
		}
		tc.got += n;
		tc.busy_cycles += t2 - t1;
		/* per packet, scaled to a burst of b.burst */
		hist_add(&tc.rx, (t2 - t1) * b.burst / n);
	}
	rte_eal_wait_lcore(peer);
	/* what is still in the ring */
	for (int i = 0; i < 1000; i++) {
		uint16_t n = rte_eth_rx_burst(rx_port, 0, r, MAX_BURST);

		rte_pktmbuf_free_bulk(r, n);
	}
	c2c_after = probe_main(peer);
	if (tc.got == 0) {
		fprintf(stderr, "%s: no packet received on two cores\n", name);
		return -1;
	}
	if (b.csum) {
		printf("%s: %" PRIu64
		       " packets' UDP checksums checked, %" PRIu64
		       " wrong or not flagged GOOD or NONE, %" PRIu64
		       " kept partial (rx_partial=1)\n",
		       name, tc.checked, tc.csum_bad, tc.kept);
		if (tc.csum_bad != 0)
			return -1;
	}
	printf("%s: two cores, %.1f s, %u-byte frames: %.2f Mpps received\n"
	       "  sender   (lcore %u): median cycles/packet: iteration %.1f, "
	       "tx_burst %.1f; bursts ring-full (short) %.1f %%\n"
	       "  receiver (lcore %u): median cycles/packet of non-empty "
	       "rx_burst+free %.1f; empty polls %.1f %%, busy %.1f %% of "
	       "the time, %.1f packets per non-empty burst\n"
	       "  CPU 0 <-> 1 cache-line round trip: %.0f ns before, "
	       "%.0f ns after\n",
	       name, b.seconds, b.size, (double)tc.got / b.seconds / 1e6, peer,
	       hist_median(&tc.iter) / b.burst, hist_median(&tc.tx) / b.burst,
	       100.0 * (double)tc.short_bursts /
		       (double)RTE_MAX(tc.full_bursts + tc.short_bursts,
				       (uint64_t)1),
	       rte_lcore_id(), hist_median(&tc.rx) / b.burst,
	       100.0 * (double)tc.empty_polls /
		       (double)RTE_MAX(tc.polls, (uint64_t)1),
	       100.0 * (double)tc.busy_cycles / (b.seconds * (double)hz),
	       (double)tc.got /
		       (double)RTE_MAX(tc.polls - tc.empty_polls, (uint64_t)1),
	       c2c_before, c2c_after);
	return 0;
}

/* ---- --two-cores --loop: testpmd's io forwarding, both ways ---- */

struct loop_side {
	uint16_t port;
	uint64_t got, polls, empty_polls, busy_cycles, dropped;
	struct hist it;			/* non-empty iterations, cycles per
					 * packet (whole cycles) */
} __rte_cache_aligned;

static struct loop_side loop_be, loop_fe;

/* rx_burst, then tx_burst of what came, until tc.end. */
static void
loop_forward(struct loop_side *s)
{
	struct rte_mbuf *r[MAX_BURST];

	while (rte_rdtsc() < tc.end) {
		uint64_t t1 = rte_rdtsc(), t2;
		uint16_t n = rte_eth_rx_burst(s->port, 0, r, b.burst), sent;

		s->polls++;
		if (n == 0) {
			s->empty_polls++;
			continue;
		}
		sent = rte_eth_tx_burst(s->port, 0, r, n);
		if (sent < n) {
			rte_pktmbuf_free_bulk(&r[sent], n - sent);
			s->dropped += n - sent;
		}
		t2 = rte_rdtsc();
		s->got += n;
		s->busy_cycles += t2 - t1;
		hist_add(&s->it, (t2 - t1) / n);	/* jumbo bursts overflow */
	}
}

/* Worker lcore: the frontend injects b.inflight packets, then forwards. */
static int
loop_fe_main(void *arg __rte_unused)
{
	struct rte_mbuf *m[MAX_BURST];
	uint32_t left = b.inflight;

	while (tc.go != 1)
		rte_pause();
	while (left > 0) {
		uint16_t k = (uint16_t)RTE_MIN(left, (uint32_t)b.burst), sent;

		if (fill(b.fe_mp, m, k) != 0)
			break;
		sent = rte_eth_tx_burst(loop_fe.port, 0, m, k);
		if (sent < k)
			rte_pktmbuf_free_bulk(&m[sent], k - sent);
		left -= k;
	}
	loop_forward(&loop_fe);
	return 0;
}

static int
two_cores_loop(void)
{
	unsigned int peer = rte_get_next_lcore(-1, 1, 0);
	struct rte_mbuf *r[MAX_BURST];
	uint64_t hz = rte_get_tsc_hz();
	double c2c_before, c2c_after;
	const struct loop_side *sides[2] = { &loop_be, &loop_fe };
	const char *names[2] = { "device (be)", "driver (fe)" };

	if (peer >= RTE_MAX_LCORE) {
		fprintf(stderr, "--two-cores needs a second lcore\n");
		return -1;
	}
	memset(&tc, 0, sizeof(tc));
	memset(&loop_be, 0, sizeof(loop_be));
	memset(&loop_fe, 0, sizeof(loop_fe));
	loop_be.port = b.be;
	loop_fe.port = b.fe;
	c2c_before = probe_main(peer);
	tc.go = 0;
	tc.end = rte_rdtsc() + (uint64_t)(b.seconds * (double)hz);
	rte_eal_remote_launch(loop_fe_main, NULL, peer);
	tc.go = 1;
	loop_forward(&loop_be);
	rte_eal_wait_lcore(peer);
	/* what is still in the rings */
	for (int i = 0; i < 1000; i++) {
		uint16_t n = rte_eth_rx_burst(b.be, 0, r, MAX_BURST);

		rte_pktmbuf_free_bulk(r, n);
		n = rte_eth_rx_burst(b.fe, 0, r, MAX_BURST);
		rte_pktmbuf_free_bulk(r, n);
	}
	c2c_after = probe_main(peer);
	if (loop_be.got == 0 || loop_fe.got == 0) {
		fprintf(stderr, "loop: no packet went round on two cores\n");
		return -1;
	}
	printf("loop: two cores, %.1f s, %u-byte frames in %u-byte mbufs, "
	       "%u in flight: %.3f Mpps (mean of both sides' receive "
	       "rates)\n",
	       b.seconds, b.size, b.mbuf_size, b.inflight,
	       (double)(loop_be.got + loop_fe.got) / 2 / b.seconds / 1e6);
	for (int i = 0; i < 2; i++) {
		const struct loop_side *s = sides[i];

		printf("  %s: received %.3f Mpps, median cycles/packet of "
		       "non-empty rx+tx %.1f, busy %.1f %% of the time, "
		       "empty polls %.1f %%, dropped %" PRIu64 "\n",
		       names[i], (double)s->got / b.seconds / 1e6,
		       hist_median(&s->it),
		       100.0 * (double)s->busy_cycles /
			       (b.seconds * (double)hz),
		       100.0 * (double)s->empty_polls /
			       (double)RTE_MAX(s->polls, (uint64_t)1),
		       s->dropped);
	}
	printf("  CPU 0 <-> 1 cache-line round trip: %.0f ns before, "
	       "%.0f ns after\n",
	       c2c_before, c2c_after);
	return 0;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/ring-bench.XXXXXX";
	char sock[64], vdev[256], fe_args[256], prefix[64];
	char *eal[] = {
		argv[0],       "-l",
		"0,1",	       "--no-huge",
		"-m",	       "512",
		"--no-pci",    "--no-telemetry",
		"--no-shconf", "--file-prefix",
		prefix,	       "--vdev",
		vdev,	       "--log-level=pmd.net.vfio_user*:warning",
	};
	int ret = 1;

	parse(argc, argv);
	if (!b.two_cores)
		eal[2] = (char *)(uintptr_t) "0"; /* one lcore is enough */
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/be.sock", dir);
	snprintf(prefix, sizeof(prefix), "ring-bench-%d", (int)getpid());
	if (strcmp(b.transport, "vhost") == 0) {
		snprintf(vdev, sizeof(vdev), "net_vhost0,iface=%s,queues=1%s%s",
			 sock, b.be_args[0] ? "," : "", b.be_args);
		snprintf(fe_args, sizeof(fe_args), "path=%s,queues=1%s%s", sock,
			 b.fe_args[0] ? "," : "", b.fe_args);
	} else if (strcmp(b.transport, "memif") == 0) {
		snprintf(vdev, sizeof(vdev),
			 "net_memif0,role=server,socket=%s,"
			 "socket-abstract=no%s%s",
			 sock, b.be_args[0] ? "," : "", b.be_args);
		snprintf(fe_args, sizeof(fe_args),
			 "role=client,socket=%s,"
			 "socket-abstract=no%s%s",
			 sock, b.fe_args[0] ? "," : "", b.fe_args);
	} else {
		/* the device drops frames longer than its MTU (+ 18) once the
		 * driver negotiated VIRTIO_NET_F_MTU: jumbo frames need it;
		 * --vlan: tagged frames of the MTU (1518 B: MTU 1500) */
		snprintf(vdev, sizeof(vdev),
			 "net_vfio_user0,path=%s,mtu=%u%s%s", sock,
			 RTE_MAX(b.size - (b.vlan ? RTE_ETHER_HDR_LEN +
							    RTE_VLAN_HLEN :
						    0),
				 (uint32_t)RTE_ETHER_MTU),
			 b.be_args[0] ? "," : "", b.be_args);
		snprintf(fe_args, sizeof(fe_args), "path=%s%s%s", sock,
			 b.fe_args[0] ? "," : "", b.fe_args);
	}
	if (rte_eal_init((int)RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		goto out;
	}
	if (b.qsbr) {
		qsbr_cost();
		ret = 0;
		goto out;
	}
	memset(b.tmpl, 0x5a, sizeof(b.tmpl));
	if (b.csum)
		csum_template();
	if (b.vlan) {
		/* an 802.1Q tag (VLAN 100) after the addresses */
		static const uint8_t tag[] = { 0x81, 0x00, 0x00, 0x64 };

		memcpy(&b.tmpl[2 * RTE_ETHER_ADDR_LEN], tag, sizeof(tag));
	}
	b.be_mp = rte_pktmbuf_pool_create("be", 8191, 256, 0,
					  (uint16_t)b.mbuf_size, SOCKET_ID_ANY);
	b.fe_mp = rte_pktmbuf_pool_create("fe", 8191, 256, 0,
					  (uint16_t)b.mbuf_size, SOCKET_ID_ANY);
	if (b.be_mp == NULL || b.fe_mp == NULL ||
	    rte_eth_dev_get_port_by_name(strchr(vdev, ',') == NULL ?
						 vdev :
						 strndupa(vdev,
							  strchr(vdev, ',') -
								  vdev),
					 &b.be) != 0 ||
	    port_setup(b.be, b.be_mp) != 0 || rte_eth_dev_start(b.be) != 0) {
		fprintf(stderr, "device port setup failed\n");
		goto out;
	}
	if (strcmp(b.transport, "vhost") == 0) {
		if (rte_vdev_init("net_virtio_user0", fe_args) != 0 ||
		    rte_eth_dev_get_port_by_name("net_virtio_user0", &b.fe) !=
			    0) {
			fprintf(stderr, "virtio-user port setup failed\n");
			goto out;
		}
	} else if (strcmp(b.transport, "memif") == 0) {
		if (rte_vdev_init("net_memif1", fe_args) != 0 ||
		    rte_eth_dev_get_port_by_name("net_memif1", &b.fe) != 0) {
			fprintf(stderr, "memif client port setup failed\n");
			goto out;
		}
		/* the frontend's name, or its old one */
	} else if ((rte_vdev_init("net_virtio_vfio_user0", fe_args) != 0 ||
		    rte_eth_dev_get_port_by_name("net_virtio_vfio_user0",
						 &b.fe) != 0) &&
		   (rte_vdev_init("net_virtio_vfio_user0", fe_args) != 0 ||
		    rte_eth_dev_get_port_by_name("net_virtio_vfio_user0",
						 &b.fe) != 0)) {
		fprintf(stderr, "client port setup failed\n");
		goto out;
	}
	if (port_setup(b.fe, b.fe_mp) != 0 || rte_eth_dev_start(b.fe) != 0) {
		fprintf(stderr, "client port setup failed\n");
		goto out;
	}
	for (int i = 0; i < 5000 && !(link_up(b.be) && link_up(b.fe)); i++)
		rte_delay_us_sleep(1000);
	if (!link_up(b.be) || !link_up(b.fe)) {
		fprintf(stderr, "links not up\n");
		goto out;
	}
	if (b.loop) {
		if (two_cores_loop() != 0)
			goto out;
	} else if (b.two_cores) {
		if (strcmp(b.dir, "be-fe") != 0 &&
		    two_cores("fe-be", b.fe, b.fe_mp, b.be) != 0)
			goto out;
		if (strcmp(b.dir, "fe-be") != 0 &&
		    two_cores("be-fe", b.be, b.be_mp, b.fe) != 0)
			goto out;
	} else {
		if (strcmp(b.dir, "be-fe") != 0)
			run("fe-be", bench_fe_to_be);
		if (strcmp(b.dir, "fe-be") != 0)
			run("be-fe", bench_be_to_fe);
	}
	ret = 0;
	rte_eth_dev_stop(b.fe);
	rte_eth_dev_close(b.fe);
	rte_eth_dev_stop(b.be);
	rte_eth_dev_close(b.be);
out:
	vu_eal_exit();
	unlink(sock);
	rmdir(dir);
	return ret;
}
