/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The queue status calls of both PMDs (rte_eth_rx_queue_count(),
 * rte_eth_rx_descriptor_status(), rte_eth_tx_descriptor_status()), each
 * checked against what the other port did, at every offset of the ring.
 * Both PMDs in one process, one thread: nothing moves between calls.
 *   - frontend -> device: the device's receive queue holds what the
 *     frontend sent and no burst took (DONE, the rest of its 1024-entry
 *     ring AVAIL); the frontend's transmit queue (nb_desc TX_DEPTH) has
 *     as many FULL descriptors, just behind its tail, the rest DONE;
 *     both move as the device receives (frames it used are DONE before
 *     the frontend frees them: the calls free nothing);
 *   - device -> frontend: the frontend's receive queue (NB_RX buffers
 *     posted on a 1024-entry ring) holds what the device sent (DONE), the
 *     rest of its buffers AVAIL, the ring's others UNAVAIL; the device's
 *     transmit queue sees the buffers it can still fill DONE, the rest
 *     UNAVAIL; both move as the frontend receives and posts again;
 *   - queues not running: a stopped frontend queue counts nothing (its
 *     virtqueue reset), nor does the device's queue of it; a stopped
 *     device transmit queue is UNAVAIL; a stopped device receive queue
 *     still counts what waits in its ring;
 *   - the device's receive queue polling two pairs sums them; a device
 *     transmit queue sharing a pair sees that pair's buffers (on rings
 *     through a copy too); on rings through a copy (ring_copy=1) what the
 *     driver did since the last burst is seen;
 *   - a frame of several descriptors counts one;
 *   - a frame in several mergeable receive buffers counts each, on the
 *     frontend's receive queue and the device's transmit queue; buffers a
 *     burst took are UNAVAIL until the frontend posts them again;
 *   - the frontend's power monitor condition (rte_eth_get_monitor_addr())
 *     says sleep while nothing came, wake once a frame did.
 * Argument: frontend devargs that pick the rings (default packed, in
 * order).
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_power_intrinsics.h>

#include "inproc_pair.h"

#define BURST		32
#define FRAME		64
#define RING		1024	/* both PMDs' default ring size */
#define NB_RX		512	/* receive buffers the frontend posts */
#define TX_DEPTH	256	/* frames the frontend has in flight, most */

static struct {
	const char *layout;
	struct inproc_pair p;
	uint16_t be, fe;
} g;

/* The frontend configured again on pool mp: one queue pair, NB_RX
 * receive buffers, TX_DEPTH frames in flight; started, both links up. */
static void
fe_start(struct rte_mempool *mp)
{
	assert_int_equal(rte_eth_dev_stop(g.fe), 0);
	assert_int_equal(inproc_port_start(g.fe, NULL, NB_RX, TX_DEPTH, mp), 0);
	assert_true(inproc_link_wait(g.fe, true, 5000));
	assert_true(inproc_link_wait(g.be, true, 5000));
}

/* fe_start() on the pair's pool. */
static void
fe_setup(void)
{
	fe_start(g.p.fe_mp);
}

/* n frames of segs segments of len bytes each sent on port's queue q, all
 * taken. */
static void
send_frames(uint16_t port, uint16_t q, struct rte_mempool *mp, uint16_t n,
	    unsigned int segs, uint16_t len)
{
	while (n > 0) {
		struct rte_mbuf *m[BURST];
		uint16_t k = RTE_MIN(n, (uint16_t)BURST), s;

		assert_int_equal(rte_pktmbuf_alloc_bulk(mp, m, k), 0);
		for (uint16_t i = 0; i < k; i++) {
			memset(rte_pktmbuf_append(m[i], len), 0x5a, len);
			for (unsigned int j = 1; j < segs; j++) {
				struct rte_mbuf *t = rte_pktmbuf_alloc(mp);

				assert_non_null(t);
				memset(rte_pktmbuf_append(t, len), 0xa5, len);
				assert_int_equal(rte_pktmbuf_chain(m[i], t), 0);
			}
		}
		s = rte_eth_tx_burst(port, q, m, k);
		rte_pktmbuf_free_bulk(&m[s], k - s);
		assert_int_equal(s, k);
		n = (uint16_t)(n - k);
	}
}

/* n frames of one segment */
static void
send_n(uint16_t port, uint16_t q, struct rte_mempool *mp, uint16_t n)
{
	send_frames(port, q, mp, n, 1, FRAME);
}

/* Exactly n frames received on port's queue q (bursts of at most BURST:
 * what a burst takes is then n, not what the ring holds). */
static void
recv_n(uint16_t port, uint16_t q, uint16_t n)
{
	while (n > 0) {
		struct rte_mbuf *m[BURST];
		uint16_t got = rte_eth_rx_burst(port, q, m,
						RTE_MIN(n, (uint16_t)BURST));

		rte_pktmbuf_free_bulk(m, got);
		assert_true(got > 0);
		n = (uint16_t)(n - got);
	}
}

/* Everything waiting either way received and freed. */
static void
drain(void)
{
	for (int i = 0; i < 100; i++) {
		struct rte_mbuf *m[BURST];
		uint16_t n = rte_eth_rx_burst(g.be, 0, m, BURST);

		n = (uint16_t)(n + rte_eth_rx_burst(g.fe, 0, &m[n],
						    (uint16_t)(BURST - n)));
		rte_pktmbuf_free_bulk(m, n);
	}
	assert_int_equal(rte_eth_rx_queue_count(g.be, 0), 0);
	assert_int_equal(rte_eth_rx_queue_count(g.fe, 0), 0);
}

/*
 * The descriptor status st (rx or tx) of port's queue q at each offset of
 * a ring of size: first below a, second below b, third below size;
 * -EINVAL at size.
 */
static void
status_expect(int (*st)(uint16_t, uint16_t, uint16_t), uint16_t port,
	      uint16_t q, unsigned int a, int first, unsigned int b, int second,
	      int third, unsigned int size)
{
	for (unsigned int off = 0; off < size; off++) {
		int want = off < a ? first : off < b ? second : third;
		int got = st(port, q, (uint16_t)off);

		if (got != want)
			fail_msg("port %u %s queue %u offset %u: %d, not %d",
				 port,
				 st == rte_eth_rx_descriptor_status ? "rx" :
								      "tx",
				 q, off, got, want);
	}
	assert_int_equal(st(port, q, (uint16_t)size), -EINVAL);
}

/* Receive queue q of port: rx_queue_count() done, and each offset of a
 * ring of size DONE below done, AVAIL below avail, UNAVAIL below size. */
static void
rx_expect(uint16_t port, uint16_t q, unsigned int done, unsigned int avail,
	  unsigned int size)
{
	assert_int_equal(rte_eth_rx_queue_count(port, q), done);
	status_expect(rte_eth_rx_descriptor_status, port, q, done,
		      RTE_ETH_RX_DESC_DONE, avail, RTE_ETH_RX_DESC_AVAIL,
		      RTE_ETH_RX_DESC_UNAVAIL, size);
}

/* Transmit queue q of port, a ring of size: offsets below from
 * first_state, then second_state. */
static void
tx_expect(uint16_t port, uint16_t q, unsigned int from, int first_state,
	  int second_state, unsigned int size)
{
	status_expect(rte_eth_tx_descriptor_status, port, q, from, first_state,
		      size, second_state, second_state, size);
}

/* Receive queue q of port not running: nothing counted, every offset
 * UNAVAIL (no ring to check an offset against). */
static void
rx_not_running(uint16_t port, uint16_t q)
{
	assert_int_equal(rte_eth_rx_queue_count(port, q), 0);
	for (unsigned int off = 0; off <= RING; off += RING / 4)
		assert_int_equal(rte_eth_rx_descriptor_status(port, q,
							      (uint16_t)off),
				 RTE_ETH_RX_DESC_UNAVAIL);
}

/* The same for a transmit queue. */
static void
tx_not_running(uint16_t port, uint16_t q)
{
	for (unsigned int off = 0; off <= RING; off += RING / 4)
		assert_int_equal(rte_eth_tx_descriptor_status(port, q,
							      (uint16_t)off),
				 RTE_ETH_TX_DESC_UNAVAIL);
}

/* The frontend's transmit queue with held frames the device has not
 * taken: FULL, just behind its tail. */
static void
fe_tx_expect(unsigned int held)
{
	tx_expect(g.fe, 0, TX_DEPTH - held, RTE_ETH_TX_DESC_DONE,
		  RTE_ETH_TX_DESC_FULL, TX_DEPTH);
}

/* The device's transmit queue with room for free frames. */
static void
be_tx_expect(unsigned int free)
{
	tx_expect(g.be, 0, free, RTE_ETH_TX_DESC_DONE, RTE_ETH_TX_DESC_UNAVAIL,
		  RING);
}

static void
test_fe_to_dev(void **state)
{
	unsigned int in_use;

	(void)state;
	fe_setup();
	drain();
	rx_expect(g.be, 0, 0, RING, RING);
	fe_tx_expect(0);

	send_n(g.fe, 0, g.p.fe_mp, 100);
	rx_expect(g.be, 0, 100, RING, RING);
	fe_tx_expect(100);

	/* the device used BURST: DONE before the frontend frees them (the
	 * calls free nothing: the pool's count stays) */
	recv_n(g.be, 0, BURST);
	in_use = rte_mempool_in_use_count(g.p.fe_mp);
	rx_expect(g.be, 0, 100 - BURST, RING, RING);
	fe_tx_expect(100 - BURST);
	assert_int_equal(rte_mempool_in_use_count(g.p.fe_mp), in_use);

	recv_n(g.be, 0, 100 - BURST);
	rx_expect(g.be, 0, 0, RING, RING);
	fe_tx_expect(0);

	/* frames of three descriptors count one each */
	send_frames(g.fe, 0, g.p.fe_mp, 10, 3, FRAME);
	rx_expect(g.be, 0, 10, RING, RING);
	fe_tx_expect(10);
	recv_n(g.be, 0, 10);
	rx_expect(g.be, 0, 0, RING, RING);
	fe_tx_expect(0);
}

static void
test_dev_to_fe(void **state)
{
	(void)state;
	fe_setup();
	drain();
	rx_expect(g.fe, 0, 0, NB_RX, RING);
	be_tx_expect(NB_RX);

	send_n(g.be, 0, g.p.be_mp, 100);
	rx_expect(g.fe, 0, 100, NB_RX, RING);
	be_tx_expect(NB_RX - 100);

	/* a burst of BURST: NB_RX posted again after it */
	recv_n(g.fe, 0, BURST);
	rx_expect(g.fe, 0, 100 - BURST, NB_RX, RING);
	be_tx_expect(NB_RX - (100 - BURST));

	/* the ring filled: the device can send no more */
	send_n(g.be, 0, g.p.be_mp, NB_RX - (100 - BURST));
	rx_expect(g.fe, 0, NB_RX, NB_RX, RING);
	be_tx_expect(0);
	recv_n(g.fe, 0, NB_RX);
	rx_expect(g.fe, 0, 0, NB_RX, RING);
	be_tx_expect(NB_RX);
}

/*
 * Mergeable receive buffers smaller than a frame (the frontend's pool of
 * 256-byte rooms; 12 header bytes + 256 in the first, 268 in each other):
 * a 600-byte frame takes 3 buffers. The frontend counts buffers, the
 * device's transmit queue loses 3 buffers a frame; what a burst took is
 * posted again only at a refill (a burst's worth, 32, taken), UNAVAIL
 * until then.
 */
static void
test_mergeable(void **state)
{
	struct rte_mempool *mp = rte_pktmbuf_pool_create("fe_small", 4095, 0, 0,
							 RTE_PKTMBUF_HEADROOM +
								 256,
							 SOCKET_ID_ANY);

	(void)state;
	if (strstr(g.layout, "mrg_rxbuf=0") != NULL) {
		rte_mempool_free(mp);
		skip();	/* a frame in one buffer */
	}
	assert_non_null(mp);
	fe_start(mp);
	drain();
	rx_expect(g.fe, 0, 0, NB_RX, RING);
	be_tx_expect(NB_RX);

	send_frames(g.be, 0, g.p.be_mp, 10, 1, 600);
	rx_expect(g.fe, 0, 30, NB_RX, RING);
	be_tx_expect(NB_RX - 30);

	/* 10 frames, 30 buffers taken: fewer than a refill's worth */
	recv_n(g.fe, 0, 10);
	rx_expect(g.fe, 0, 0, NB_RX - 30, RING);
	be_tx_expect(NB_RX - 30);

	/* one more frame, 33 taken: posted again */
	send_frames(g.be, 0, g.p.be_mp, 1, 1, 600);
	recv_n(g.fe, 0, 1);
	rx_expect(g.fe, 0, 0, NB_RX, RING);
	be_tx_expect(NB_RX);

	fe_setup();	/* back on the pair's pool */
	drain();
	rte_mempool_free(mp);
}

static void
test_not_running(void **state)
{
	(void)state;
	fe_setup();
	drain();

	/* the frontend's receive queue: reset on the device too */
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.fe, 0), 0);
	rx_not_running(g.fe, 0);
	tx_not_running(g.be, 0);
	assert_int_equal(rte_eth_dev_rx_queue_start(g.fe, 0), 0);
	rx_expect(g.fe, 0, 0, NB_RX, RING);
	be_tx_expect(NB_RX);

	/* the frontend's transmit queue: the same */
	send_n(g.fe, 0, g.p.fe_mp, 10);
	assert_int_equal(rte_eth_dev_tx_queue_stop(g.fe, 0), 0);
	tx_not_running(g.fe, 0);
	rx_not_running(g.be, 0);
	assert_int_equal(rte_eth_dev_tx_queue_start(g.fe, 0), 0);
	fe_tx_expect(0);
	rx_expect(g.be, 0, 0, RING, RING);

	/* the device's transmit queue stopped: it sends nothing */
	assert_int_equal(rte_eth_dev_tx_queue_stop(g.be, 0), 0);
	tx_not_running(g.be, 0);
	assert_int_equal(rte_eth_dev_tx_queue_start(g.be, 0), 0);
	be_tx_expect(NB_RX);

	/* the device's receive queue stopped: the frames wait, counted */
	send_n(g.fe, 0, g.p.fe_mp, 10);
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	rx_expect(g.be, 0, 10, RING, RING);
	fe_tx_expect(10);
	assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
	recv_n(g.be, 0, 10);
	rx_expect(g.be, 0, 0, RING, RING);
}

/* inproc_mq_ports() with the frontend's queue sizes and rings. */
static void
mq_ports(uint16_t ports[2], int i, uint16_t nrx, uint16_t ntx,
	 uint16_t fe_pairs, const char *be_args)
{
	inproc_mq_ports(&g.p, ports, i, nrx, ntx, be_args, fe_pairs, NB_RX,
			TX_DEPTH, g.layout);
}

/* One device receive queue for the driver's two pairs: their frames
 * summed, over both rings. */
static void
test_rx_set(void **state)
{
	uint16_t pt[2];

	(void)state;
	mq_ports(pt, 1, 1, 2, 2, "");
	rx_expect(pt[0], 0, 0, 2 * RING, 2 * RING);
	send_n(pt[1], 0, g.p.fe_mp, 10);
	send_n(pt[1], 1, g.p.fe_mp, 7);
	rx_expect(pt[0], 0, 17, 2 * RING, 2 * RING);
	recv_n(pt[0], 0, 17);
	rx_expect(pt[0], 0, 0, 2 * RING, 2 * RING);
	inproc_mq_ports_close(pt);
}

/* Two device transmit queues sharing the driver's one pair: both see its
 * buffers (device port i, with be_args). */
static void
tx_shared(int i, const char *be_args)
{
	uint16_t pt[2];

	mq_ports(pt, i, 1, 2, 1, be_args);
	for (uint16_t q = 0; q < 2; q++)
		tx_expect(pt[0], q, NB_RX, RTE_ETH_TX_DESC_DONE,
			  RTE_ETH_TX_DESC_UNAVAIL, RING);
	send_n(pt[0], 1, g.p.be_mp, 40);
	for (uint16_t q = 0; q < 2; q++)
		tx_expect(pt[0], q, NB_RX - 40, RTE_ETH_TX_DESC_DONE,
			  RTE_ETH_TX_DESC_UNAVAIL, RING);
	send_n(pt[0], 0, g.p.be_mp, 20);
	for (uint16_t q = 0; q < 2; q++)
		tx_expect(pt[0], q, NB_RX - 60, RTE_ETH_TX_DESC_DONE,
			  RTE_ETH_TX_DESC_UNAVAIL, RING);
	rx_expect(pt[1], 0, 60, NB_RX, RING);
	recv_n(pt[1], 0, 60);
	inproc_mq_ports_close(pt);
}

static void
test_tx_shared(void **state)
{
	(void)state;
	tx_shared(2, "");
}

/* The same on rings through a copy: the status call reads the pair's
 * ring, the driver's own, under the pair's lock. */
static void
test_tx_shared_copy(void **state)
{
	(void)state;
	tx_shared(4, "ring_copy=1");
}

/* The device's rings through a copy (ring_copy=1): the calls read the
 * driver's own rings, what it did since the last burst too. */
static void
test_ring_copy(void **state)
{
	uint16_t pt[2];

	(void)state;
	mq_ports(pt, 3, 1, 1, 1, "ring_copy=1");
	send_n(pt[1], 0, g.p.fe_mp, 20);
	rx_expect(pt[0], 0, 20, RING, RING);
	tx_expect(pt[0], 0, NB_RX, RTE_ETH_TX_DESC_DONE,
		  RTE_ETH_TX_DESC_UNAVAIL, RING);
	send_n(pt[0], 0, g.p.be_mp, 30);
	tx_expect(pt[0], 0, NB_RX - 30, RTE_ETH_TX_DESC_DONE,
		  RTE_ETH_TX_DESC_UNAVAIL, RING);
	recv_n(pt[1], 0, 30);
	recv_n(pt[0], 0, 20);
	rx_expect(pt[0], 0, 0, RING, RING);
	inproc_mq_ports_close(pt);
}

/*
 * Frames from port from (of mp) to port to for 0.5 s, received on to by
 * an inproc_rx_worker on another CPU, while this thread asks to's receive
 * count and status and from's transmit status between its sends: every
 * frame received, no error or frame missed on either side, both links
 * up.
 */
static void
beside_bursts(uint16_t from, struct rte_mempool *mp, uint16_t to)
{
	unsigned int calls = 0, sent = 0;
	struct rte_eth_stats fs, ts;
	struct inproc_rx_worker w;
	uint64_t end;

	inproc_rx_worker_start(&w, to);
	end = rte_get_timer_cycles() + rte_get_timer_hz() / 2;
	while (rte_get_timer_cycles() < end) {
		struct rte_mbuf *m[BURST];
		uint16_t s;

		assert_int_equal(rte_pktmbuf_alloc_bulk(mp, m, BURST), 0);
		for (uint16_t i = 0; i < BURST; i++)
			memset(rte_pktmbuf_append(m[i], FRAME), 0x5a, FRAME);
		s = rte_eth_tx_burst(from, 0, m, BURST);
		rte_pktmbuf_free_bulk(&m[s], BURST - s);
		sent += s;
		for (unsigned int i = 0; i < 8; i++, calls++) {
			uint16_t off = (uint16_t)(calls * 97 % TX_DEPTH);
			int c = rte_eth_rx_queue_count(to, 0);
			int rs = rte_eth_rx_descriptor_status(to, 0, off);
			int xs = rte_eth_tx_descriptor_status(from, 0, off);

			assert_true(c >= 0 && c <= RING);
			assert_true(rs >= RTE_ETH_RX_DESC_AVAIL &&
				    rs <= RTE_ETH_RX_DESC_UNAVAIL);
			assert_true(xs >= RTE_ETH_TX_DESC_FULL &&
				    xs <= RTE_ETH_TX_DESC_UNAVAIL);
		}
	}
	end = rte_get_timer_cycles() + 2 * rte_get_timer_hz();
	while (__atomic_load_n(&w.got, __ATOMIC_RELAXED) < sent &&
	       rte_get_timer_cycles() < end)
		rte_delay_us_sleep(1000);
	inproc_rx_worker_stop(&w);
	printf("port %u to %u: %u frames received beside %u status calls\n",
	       from, to, sent, calls);
	assert_true(sent > 0);
	assert_int_equal(w.got, sent);
	assert_int_equal(rte_eth_stats_get(from, &fs), 0);
	assert_int_equal(rte_eth_stats_get(to, &ts), 0);
	assert_int_equal(fs.oerrors, 0);
	assert_int_equal(ts.ierrors, 0);
	assert_int_equal(ts.imissed, 0);
	assert_true(inproc_link_up(from) && inproc_link_up(to));
}

/*
 * The calls beside bursts on the same queue on another thread (testpmd's
 * show commands while it forwards), both ways, the device on shadow
 * rings: they disturb nothing (with the device's calls bringing the copy
 * up to date, as they once did, frames were lost).
 */
static void
test_beside_bursts(void **state)
{
	uint16_t pt[2];

	(void)state;
	mq_ports(pt, 6, 1, 1, 1, "ring_copy=1");
	beside_bursts(pt[1], g.p.fe_mp, pt[0]);
	beside_bursts(pt[0], g.p.be_mp, pt[1]);
	assert_int_equal(inproc_xstat(pt[0], "rx_q0_bad_descriptors"), 0);
	inproc_mq_ports_close(pt);
}

static int
group_setup(void **state)
{
	(void)state;
	if (inproc_pair_up(&g.p, "queue_status", "--no-huge -m 256",
			   g.layout) != 0)
		return -1;
	g.be = g.p.be;
	g.fe = g.p.fe;
	return 0;
}

/* The word rte_power_monitor() would read at pmc's address. */
static uint64_t
mon_read(const struct rte_power_monitor_cond *pmc)
{
	switch (pmc->size) {
	case 1:
		return *(const volatile uint8_t *)pmc->addr;
	case 2:
		return *(const volatile uint16_t *)pmc->addr;
	case 4:
		return *(const volatile uint32_t *)pmc->addr;
	default:
		assert_int_equal(pmc->size, 8);
		return *(const volatile uint64_t *)pmc->addr;
	}
}

/*
 * rte_eth_get_monitor_addr() of the frontend's receive queue: the
 * condition rte_power_monitor() checks before it sleeps (its callback on
 * the word at the address) says sleep while nothing came, wake once the
 * device returned a buffer (the same address read again, as the monitor
 * does), and sleep again once a burst took it; round the ring more than
 * twice (a packed ring's wrap counter both ways). The device's receive
 * queue has none.
 */
static void
test_monitor(void **state)
{
	struct rte_power_monitor_cond pmc;

	(void)state;
	fe_setup();
	drain();
	for (int i = 0; i < 2 * RING + 100; i++) {
		memset(&pmc, 0, sizeof(pmc));
		assert_int_equal(rte_eth_get_monitor_addr(g.fe, 0, &pmc), 0);
		assert_non_null(pmc.fn);
		assert_int_equal(pmc.fn(mon_read(&pmc), pmc.opaque), 0);
		send_n(g.be, 0, g.p.be_mp, 1);
		assert_int_equal(pmc.fn(mon_read(&pmc), pmc.opaque), -1);
		recv_n(g.fe, 0, 1);
	}
	assert_int_equal(rte_eth_get_monitor_addr(g.fe, 0, &pmc), 0);
	assert_int_equal(pmc.fn(mon_read(&pmc), pmc.opaque), 0);
	assert_int_equal(rte_eth_get_monitor_addr(g.be, 0, &pmc), -ENOTSUP);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fe_to_dev),
		cmocka_unit_test(test_dev_to_fe),
		cmocka_unit_test(test_mergeable),
		cmocka_unit_test(test_not_running),
		cmocka_unit_test(test_rx_set),
		cmocka_unit_test(test_tx_shared),
		cmocka_unit_test(test_tx_shared_copy),
		cmocka_unit_test(test_ring_copy),
		cmocka_unit_test(test_beside_bursts),
		cmocka_unit_test(test_monitor),
	};

	g.layout = argc > 1 ? argv[1] : "";
	printf("frontend rings: %s\n", g.layout[0] ? g.layout : "default");
	return cmocka_run_group_tests_name("queue_status", tests, group_setup,
					   inproc_group_teardown);
}
