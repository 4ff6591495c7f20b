/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The device port's queue start and stop (rte_eth_dev_rx/tx_queue_start
 * and _stop on net_vfio_user) and deferred start. A stop is the port's
 * side only: the driver (the frontend, in the same process and thread)
 * sees a device that does not poll. The frontend sends from a pool of its
 * own with no cache (tx_mp), so that its frames in flight are the pool's
 * in-use count; every frame carries a sequence number per receiving port:
 *   - device rx queue 0 stopped: its bursts return 0, the frontend's
 *     frames stay in flight (backpressure once its ring is full), no
 *     counter of the device moves, no drop or error counter of the
 *     frontend; started: every one received, in order, intact;
 *   - device rx queue 0 stopped with its interrupt (intr_conf.rxq): the
 *     frames waiting for it wake no one, enabled or not, the port stopped
 *     neither; enabled, its start wakes the application;
 *   - a port started with a receive queue's mbufs shorter than a frame
 *     and no RTE_ETH_RX_OFFLOAD_SCATTER: a warning (both ports);
 *   - device tx queue 0 stopped: its bursts take nothing, the frontend
 *     receives nothing and its posted buffers stay posted, no counter of
 *     either port moves; started: frames flow;
 *   - deferred start (rx, then tx): the queue stays stopped at the port's
 *     start until its queue start, again at each start of the port; a
 *     port start starts every other queue, stopped before or not; every
 *     queue STOPPED after the port's stop;
 *   - a stopped queue stays stopped across the frontend reconnecting
 *     (rte_vfio_user_stop/start of the device), the driver resetting the
 *     device (the frontend set up again), and a move of the frontend's
 *     device to another device port and back (migration restore); the
 *     frames a stopped queue left in the driver's ring move with it;
 *   - a receive queue polling two pairs (1 rx queue, 2 pairs) stops for
 *     both; a transmit queue sharing a pair with another (2 tx queues, 1
 *     pair) stops alone;
 *   - offload mode (offload=, no engine needed): stop -ENOTSUP, deferred
 *     start refused at the queue setup (-EINVAL).
 * Each test starts from a started device port (test_clean()), so that a
 * failure does not carry over. test_stop_waits has the device's receive
 * bursts run on a thread of their own (an lcore id from
 * rte_thread_register()): once a stop returns, no burst of that queue is
 * still taking frames. Argument: frontend devargs that pick the rings
 * (default packed, in order).
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_vfio_user.h>

#include "inproc_pair.h"
#include "rte_pmd_vfio_user_client.h"

#define BURST	32
#define NB_RX	512	/* receive buffers the frontend posts */
#define STOPPED RTE_ETH_QUEUE_STATE_STOPPED
#define STARTED RTE_ETH_QUEUE_STATE_STARTED

static struct {
	const char *layout;
	struct inproc_pair p;
	uint16_t be, fe;
	struct rte_mempool *rx_mp, *tx_mp;	/* the frontend's, no cache */
} g;

static void
states(uint16_t port, uint8_t rx, uint8_t tx)
{
	assert_int_equal(inproc_queue_state(port, 0, false), rx);
	assert_int_equal(inproc_queue_state(port, 0, true), tx);
}

/* n frames from the device to the frontend, and back. */
static void
flows_in(uint32_t n)
{
	inproc_flows(g.be, g.p.be_mp, g.fe, n);
}

static void
flows_out(uint32_t n)
{
	inproc_flows(g.fe, g.tx_mp, g.be, n);
}

/* The frontend's frames the device has not taken: its transmit pool's
 * in-use count once it reclaimed all it could. */
static unsigned int
fe_in_flight(void)
{
	rte_eth_tx_done_cleanup(g.fe, 0, 0);
	return rte_mempool_in_use_count(g.tx_mp);
}

/*
 * The device's rx queue 0 takes nothing: the frontend's next frames stay
 * in its ring (n of them at least, as many as it takes before it is full:
 * backpressure), none reaches the device's bursts, none is freed. Returns
 * how many are in flight.
 */
static uint32_t
rx_stalled(uint32_t n)
{
	uint32_t before = fe_in_flight(), sent;

	sent = inproc_tx(g.fe, 0, g.be, g.tx_mp, 4096);
	printf("%" PRIu32 " frames in flight\n", before + sent);
	assert_true(sent >= n);
	assert_int_equal(inproc_tx(g.fe, 0, g.be, g.tx_mp, BURST), 0);
	assert_true(inproc_rx_none(g.be, 0));
	assert_int_equal(fe_in_flight(), before + sent);
	return before + sent;
}

/* The device's tx queue 0 takes nothing, the frontend receives nothing and
 * its posted receive buffers stay as they were. */
static void
tx_stalled(void)
{
	struct rte_eth_rxq_info qi0, qi1;
	unsigned int posted = rte_mempool_in_use_count(g.rx_mp);

	assert_int_equal(rte_eth_rx_queue_info_get(g.fe, 0, &qi0), 0);
	assert_int_equal(inproc_tx(g.be, 0, g.fe, g.p.be_mp, BURST), 0);
	assert_true(inproc_rx_none(g.fe, 0));
	assert_int_equal(rte_eth_rx_queue_info_get(g.fe, 0, &qi1), 0);
	assert_int_equal(qi1.nb_desc, qi0.nb_desc);
	assert_int_equal(rte_mempool_in_use_count(g.rx_mp), posted);
}

/* Every xstat of port (its statistics with them), to compare. */
struct xs {
	int n;
	struct rte_eth_xstat v[512];
	struct rte_eth_stats st;
};

static void
xs_get(uint16_t port, struct xs *x)
{
	x->n = rte_eth_xstats_get(port, x->v, RTE_DIM(x->v));
	assert_true(x->n > 0 && x->n <= (int)RTE_DIM(x->v));
	assert_int_equal(rte_eth_stats_get(port, &x->st), 0);
}

/* No counter of port moved since x (all: false, those of drops and
 * errors only). */
static void
xs_same(uint16_t port, const struct xs *x, bool all)
{
	struct rte_eth_xstat_name names[512];
	struct xs now;

	xs_get(port, &now);
	assert_int_equal(now.n, x->n);
	assert_int_equal(rte_eth_xstats_get_names(port, names, RTE_DIM(names)),
			 x->n);
	for (int i = 0; i < x->n; i++) {
		if (!all && strstr(names[i].name, "drop") == NULL &&
		    strstr(names[i].name, "error") == NULL &&
		    strstr(names[i].name, "miss") == NULL)
			continue;
		if (now.v[i].value != x->v[i].value)
			printf("port %u: %s %" PRIu64 " -> %" PRIu64 "\n", port,
			       names[i].name, x->v[i].value, now.v[i].value);
		assert_int_equal(now.v[i].value, x->v[i].value);
	}
	if (all) {
		assert_memory_equal(&now.st, &x->st, sizeof(now.st));
		return;
	}
	assert_int_equal(now.st.imissed, x->st.imissed);
	assert_int_equal(now.st.ierrors, x->st.ierrors);
	assert_int_equal(now.st.oerrors, x->st.oerrors);
	assert_int_equal(now.st.rx_nombuf, x->st.rx_nombuf);
}

/* The frontend (re)configured: one queue pair, receiving into rx_mp
 * (NB_RX buffers), sending from tx_mp, its receive checksum offloads on
 * or off (a change of them resets the device and sets it up again);
 * both links up, nothing in flight. */
static void
fe_setup_csum(bool rx_csum)
{
	struct rte_eth_conf conf = { 0 };

	if (rx_csum)
		conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
				       RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	assert_int_equal(rte_eth_dev_stop(g.fe), 0);
	assert_int_equal(rte_eth_dev_configure(g.fe, 1, 1, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(g.fe, 0, NB_RX, SOCKET_ID_ANY,
						NULL, g.rx_mp),
			 0);
	assert_int_equal(rte_eth_tx_queue_setup(g.fe, 0, 0, SOCKET_ID_ANY,
						NULL),
			 0);
	assert_int_equal(rte_eth_dev_start(g.fe), 0);
	assert_true(inproc_link_wait(g.fe, true, 5000));
	assert_true(inproc_link_wait(g.be, true, 5000));
	assert_int_equal(fe_in_flight(), 0);
	inproc_seq_resync(g.be);
	inproc_seq_resync(g.fe);
}

static void
fe_setup(void)
{
	fe_setup_csum(false);
}

/* The device port (re)configured with one queue pair, each queue's start
 * deferred or not, and started; both links up. */
static void
be_setup_intr(bool rx_deferred, bool tx_deferred, bool intr)
{
	struct rte_eth_conf conf = { .intr_conf.rxq = intr };
	struct rte_eth_rxconf rxc = { .rx_deferred_start = rx_deferred };
	struct rte_eth_txconf txc = { .tx_deferred_start = tx_deferred };
	struct rte_eth_rxq_info rqi;
	struct rte_eth_txq_info tqi;

	assert_int_equal(rte_eth_dev_stop(g.be), 0);
	assert_int_equal(rte_eth_dev_configure(g.be, 1, 1, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(g.be, 0, 1024, SOCKET_ID_ANY,
						&rxc, g.p.be_mp),
			 0);
	assert_int_equal(rte_eth_tx_queue_setup(g.be, 0, 1024, SOCKET_ID_ANY,
						&txc),
			 0);
	assert_int_equal(rte_eth_rx_queue_info_get(g.be, 0, &rqi), 0);
	assert_int_equal(rqi.conf.rx_deferred_start, rx_deferred);
	assert_int_equal(rte_eth_tx_queue_info_get(g.be, 0, &tqi), 0);
	assert_int_equal(tqi.conf.tx_deferred_start, tx_deferred);
	assert_int_equal(rte_eth_dev_start(g.be), 0);
	assert_true(inproc_link_wait(g.be, true, 5000));
	assert_true(inproc_link_wait(g.fe, true, 5000));
}

static void
be_setup(bool rx_deferred, bool tx_deferred)
{
	be_setup_intr(rx_deferred, tx_deferred, false);
}

static void
test_rx_stop_start(void **state)
{
	struct xs be0, fe0;
	uint64_t ipackets;
	uint32_t n;

	(void)state;
	fe_setup();
	flows_out(100);
	flows_in(100);
	xs_get(g.be, &be0);
	xs_get(g.fe, &fe0);
	ipackets = be0.st.ipackets;

	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	states(g.be, STOPPED, STARTED);
	n = rx_stalled(BURST);
	/* nothing counted by the device, nothing dropped by the driver
	 * (which counted what it sent) */
	xs_same(g.be, &be0, true);
	xs_same(g.fe, &fe0, false);
	/* stopped again: nothing to do */
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	/* the other way runs on */
	flows_in(100);

	assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
	states(g.be, STARTED, STARTED);
	assert_int_equal(inproc_rx(g.be, 0, n), n);
	assert_int_equal(fe_in_flight(), 0);
	xs_get(g.be, &be0);
	assert_int_equal(be0.st.ipackets - ipackets, n);
	assert_int_equal(be0.st.imissed + be0.st.ierrors, 0);
	flows_out(2000);	/* more than a lap of the ring */
	/* and once more */
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	n = rx_stalled(1);
	assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
	assert_int_equal(inproc_rx(g.be, 0, n), n);
	flows_out(100);
}

/* The device's rx queue 0's interrupt into (or out of) this thread's
 * epoll set (op: RTE_INTR_EVENT_ADD, _DEL). */
static void
be_intr_ctl(int op)
{
	assert_int_equal(rte_eth_dev_rx_intr_ctl_q(g.be, 0,
						   RTE_EPOLL_PER_THREAD, op,
						   NULL),
			 0);
}

/* rte_eth_dev_rx_queue_start() of the device's rx queue 0, here, and
 * on a thread of its own (no EAL thread). */
static void
queue_start_here(void)
{
	assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
}

static int start_ret;

static void *
queue_start_thread(void *arg)
{
	(void)arg;
	start_ret = rte_eth_dev_rx_queue_start(g.be, 0);
	return NULL;
}

static void
queue_start_elsewhere(void)
{
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, queue_start_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(start_ret, 0);
}

/* The events of rx queue 0's interrupt that wake this thread within ms,
 * once enabled, then (if not NULL) after the action (disabled again
 * after). */
static int
rx_intr_events(void (*action)(void), int ms)
{
	struct rte_epoll_event ev[2];
	int n;

	assert_int_equal(rte_eth_dev_rx_intr_enable(g.be, 0), 0);
	if (action != NULL)
		action();
	n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, RTE_DIM(ev), ms);
	assert_int_equal(rte_eth_dev_rx_intr_disable(g.be, 0), 0);
	assert_true(n >= 0);
	return n;
}

/* Whether rx queue 0's interrupt wakes this thread within ms, once
 * enabled (disabled again after). */
static bool
rx_intr_wakes(int ms)
{
	return rx_intr_events(NULL, ms) > 0;
}

/*
 * Review: a stopped receive queue's interrupt stayed armed: the frames
 * waiting in the driver's ring for its start woke an application that
 * enabled it at once, again and again (an l3fwd-power loop spun). Now it
 * wakes no one while the queue is stopped, and at its start as soon as it
 * is enabled with frames waiting.
 */
static void
test_rx_stop_intr(void **state)
{
	uint32_t n;

	(void)state;
	fe_setup();
	be_setup_intr(false, false, true);
	be_intr_ctl(RTE_INTR_EVENT_ADD);
	/* running: frames wake it */
	assert_false(rx_intr_wakes(20));
	assert_int_equal(inproc_tx(g.fe, 0, g.be, g.tx_mp, 10), 10);
	assert_true(rx_intr_wakes(1000));
	assert_int_equal(inproc_rx(g.be, 0, 10), 10);

	/* stopped: frames wait in the driver's ring, and wake no one */
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	n = inproc_tx(g.fe, 0, g.be, g.tx_mp, 10);
	assert_int_equal(n, 10);
	for (int i = 0; i < 5; i++)
		assert_false(rx_intr_wakes(20));
	/* enabled while stopped: the start arms it, the frames wake it */
	assert_int_equal(rx_intr_events(queue_start_here, 1000), 1);
	assert_int_equal(inproc_rx(g.be, 0, n), n);
	assert_int_equal(fe_in_flight(), 0);
	assert_false(rx_intr_wakes(20));

	/* started from a thread that is no EAL thread, which cannot write
	 * the rings: the application is woken to enable it again from its
	 * lcore (review: it slept on beside frames) */
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	n = inproc_tx(g.fe, 0, g.be, g.tx_mp, 10);
	assert_int_equal(n, 10);
	assert_int_equal(rx_intr_events(queue_start_elsewhere, 1000), 1);
	assert_true(rx_intr_wakes(1000));	/* armed from here: frames */
	assert_int_equal(inproc_rx(g.be, 0, n), n);

	/* the port stopped: the same */
	assert_int_equal(rte_eth_dev_stop(g.be), 0);
	n = inproc_tx(g.fe, 0, g.be, g.tx_mp, 10);
	assert_int_equal(n, 10);
	assert_false(rx_intr_wakes(20));
	assert_int_equal(rte_eth_dev_start(g.be), 0);
	assert_true(inproc_link_wait(g.fe, true, 5000));
	assert_true(rx_intr_wakes(1000));
	assert_int_equal(inproc_rx(g.be, 0, n), n);
	be_intr_ctl(RTE_INTR_EVENT_DEL);
	flows_out(100);
}

/* Review: an interrupt enabled under a configuration with intr_conf.rxq
 * kept asking the driver for doorbells after one without (which can no
 * longer disable it): the start of the new one withdraws it. */
static void
test_rx_intr_reconfigured(void **state)
{
	uint64_t before;

	(void)state;
	fe_setup();
	be_setup_intr(false, false, true);
	be_intr_ctl(RTE_INTR_EVENT_ADD);
	assert_int_equal(rte_eth_dev_rx_intr_enable(g.be, 0), 0);
	be_intr_ctl(RTE_INTR_EVENT_DEL);
	be_setup_intr(false, false, false);
	/* and after the driver sets the queues up again (a reset: its
	 * checksum offloads changed), as at its first setup */
	for (int i = 0; i < 2; i++) {
		before = inproc_xstat(g.fe, "tx_q0_kicks");
		flows_out(100);
		assert_int_equal(inproc_xstat(g.fe, "tx_q0_kicks"), before);
		fe_setup_csum(i == 0);
	}
}

/* Port's queues set up again (rx queue 0 into mp), the port configured
 * with offloads and started; what it logged (to free). */
static char *
rxq_start_log(uint16_t port, uint64_t offloads, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { .rxmode.offloads = offloads };

	assert_int_equal(rte_eth_dev_stop(port), 0);
	assert_int_equal(rte_eth_dev_configure(port, 1, 1, &conf), 0);
	assert_int_equal(rte_eth_rx_queue_setup(port, 0, 1024, SOCKET_ID_ANY,
						NULL, mp),
			 0);
	assert_int_equal(rte_eth_tx_queue_setup(port, 0,
						port == g.fe ? 0 : 1024,
						SOCKET_ID_ANY, NULL),
			 0);
	inproc_log_start();
	assert_int_equal(rte_eth_dev_start(port), 0);
	return inproc_log_end();
}

/*
 * Review: both ports deliver a frame longer than an mbuf as a chain, as
 * net_vhost does, also to an application that did not enable
 * RTE_ETH_RX_OFFLOAD_SCATTER: the port's start says so (a warning), and
 * nothing with scatter enabled or mbufs that hold a frame.
 */
static void
test_rx_scatter_note(void **state)
{
	const char *note = "rx queue 0: frames of up to 1522 bytes (MTU 1500) "
			   "arrive as chains of mbufs of 1024 bytes";
	struct rte_mempool *small;
	const uint16_t ports[2] = { g.be, g.fe };
	char *log;

	(void)state;
	small = rte_pktmbuf_pool_create("dqs_small", 2048, 0, 0,
					RTE_PKTMBUF_HEADROOM + 1024,
					SOCKET_ID_ANY);
	assert_non_null(small);
	for (int i = 0; i < 2; i++) {
		log = rxq_start_log(ports[i], 0, small);
		assert_non_null(strstr(log, note));
		free(log);
		log = rxq_start_log(ports[i], RTE_ETH_RX_OFFLOAD_SCATTER,
				    small);
		assert_null(strstr(log, "arrive as chains"));
		free(log);
		log = rxq_start_log(ports[i], 0, i == 0 ? g.p.be_mp : g.rx_mp);
		assert_null(strstr(log, "arrive as chains"));
		free(log);
	}
	/* both as before, the small pool no queue's */
	be_setup(false, false);
	fe_setup();
	flows_out(100);
	flows_in(100);
	rte_mempool_free(small);
}

static void
test_tx_stop_start(void **state)
{
	struct xs be0, fe0;

	(void)state;
	fe_setup();
	flows_in(100);
	xs_get(g.be, &be0);
	xs_get(g.fe, &fe0);

	assert_int_equal(rte_eth_dev_tx_queue_stop(g.be, 0), 0);
	states(g.be, STARTED, STOPPED);
	tx_stalled();
	xs_same(g.be, &be0, true);
	xs_same(g.fe, &fe0, true);
	flows_out(100);		/* the other way runs on */

	assert_int_equal(rte_eth_dev_tx_queue_start(g.be, 0), 0);
	states(g.be, STARTED, STARTED);
	flows_in(2000);
}

static void
test_deferred(void **state)
{
	uint32_t n;

	(void)state;
	fe_setup();
	/* rx deferred: stopped at the port's start */
	be_setup(true, false);
	states(g.be, STOPPED, STARTED);
	n = rx_stalled(BURST);
	flows_in(100);
	assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
	states(g.be, STARTED, STARTED);
	assert_int_equal(inproc_rx(g.be, 0, n), n);
	flows_out(100);

	/* every queue stopped with the port; deferred again at its start */
	assert_int_equal(rte_eth_dev_stop(g.be), 0);
	states(g.be, STOPPED, STOPPED);
	assert_int_equal(rte_eth_dev_start(g.be), 0);
	assert_true(inproc_link_wait(g.fe, true, 5000));
	states(g.be, STOPPED, STARTED);
	n = rx_stalled(1);
	flows_in(100);
	assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
	assert_int_equal(inproc_rx(g.be, 0, n), n);

	/* tx deferred */
	be_setup(false, true);
	states(g.be, STARTED, STOPPED);
	tx_stalled();
	flows_out(100);
	assert_int_equal(rte_eth_dev_tx_queue_start(g.be, 0), 0);
	states(g.be, STARTED, STARTED);
	flows_in(100);

	be_setup(false, false);
	states(g.be, STARTED, STARTED);
	flows_in(100);
	flows_out(100);
}

/* A port start starts the queues stopped before; after a port stop every
 * queue is STOPPED (ethdev's own dummy bursts front the stopped port),
 * and what the driver sent waits in its ring for the next start. */
static void
test_port_stop_start(void **state)
{
	uint32_t n;

	(void)state;
	fe_setup();
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	assert_int_equal(rte_eth_dev_tx_queue_stop(g.be, 0), 0);
	assert_int_equal(rte_eth_dev_stop(g.be), 0);
	states(g.be, STOPPED, STOPPED);
	assert_int_equal(rte_eth_dev_start(g.be), 0);
	assert_true(inproc_link_wait(g.fe, true, 5000));
	states(g.be, STARTED, STARTED);
	flows_in(100);
	flows_out(100);

	n = inproc_tx(g.fe, 0, g.be, g.tx_mp, 20);
	assert_int_equal(n, 20);
	assert_int_equal(rte_eth_dev_stop(g.be), 0);
	states(g.be, STOPPED, STOPPED);
	assert_int_equal(fe_in_flight(), n);
	assert_int_equal(rte_eth_dev_start(g.be), 0);
	assert_true(inproc_link_wait(g.fe, true, 5000));
	assert_int_equal(inproc_rx(g.be, 0, n), n);
	flows_in(100);
}

/* The frontend's connection goes and comes back (the device's library
 * stops and starts serving the socket, reconnect=): a stopped queue stays
 * stopped on the new connection. */
static void
test_reconnect(void **state)
{
	int dev = rte_vfio_user_get_dev_id(g.p.sock);
	uint32_t n;

	(void)state;
	assert_true(dev >= 0);
	fe_setup();
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	rx_stalled(1);
	assert_int_equal(rte_vfio_user_stop(dev), 0);
	assert_true(inproc_link_wait(g.fe, false, 5000));
	assert_int_equal(rte_vfio_user_start(dev), 0);
	assert_true(inproc_link_wait(g.fe, true, 10000));
	assert_true(inproc_link_wait(g.be, true, 5000));
	/* the frontend dropped its frames with the old rings */
	assert_int_equal(fe_in_flight(), 0);
	inproc_seq_resync(g.be);
	states(g.be, STOPPED, STARTED);
	n = rx_stalled(BURST);
	flows_in(100);
	assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
	assert_int_equal(inproc_rx(g.be, 0, n), n);
	flows_out(100);

	assert_int_equal(rte_eth_dev_tx_queue_stop(g.be, 0), 0);
	assert_int_equal(rte_vfio_user_stop(dev), 0);
	assert_true(inproc_link_wait(g.fe, false, 5000));
	assert_int_equal(rte_vfio_user_start(dev), 0);
	assert_true(inproc_link_wait(g.fe, true, 10000));
	assert_true(inproc_link_wait(g.be, true, 5000));
	states(g.be, STARTED, STOPPED);
	tx_stalled();
	flows_out(100);
	assert_int_equal(rte_eth_dev_tx_queue_start(g.be, 0), 0);
	flows_in(100);
}

/* The driver resets the device and sets it up again (the frontend's
 * queues set up anew): a stopped queue stays stopped. */
static void
test_driver_reset(void **state)
{
	uint32_t n;

	(void)state;
	fe_setup();
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	assert_int_equal(rte_eth_dev_tx_queue_stop(g.be, 0), 0);
	rx_stalled(1);
	/* its frames gone with the reset: none in flight */
	fe_setup_csum(true);
	states(g.be, STOPPED, STOPPED);
	n = rx_stalled(BURST);
	tx_stalled();
	assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
	assert_int_equal(inproc_rx(g.be, 0, n), n);
	tx_stalled();
	assert_int_equal(rte_eth_dev_tx_queue_start(g.be, 0), 0);
	flows_in(100);
	flows_out(100);
	fe_setup();
}

/* The frontend's device moved to a second device port (whose rx queue is
 * stopped) and back (to the first, whose tx queue is then stopped): each
 * restore leaves the port's stopped queue stopped. The frames the first
 * port's stopped rx queue left in the ring move with the device. */
static void
test_move(void **state)
{
	struct rte_pmd_vfio_user_client_move_stats st;
	struct rte_ether_addr mac;
	char sock2[128], args[64];
	uint16_t be2;
	uint32_t n;

	(void)state;
	fe_setup();
	assert_int_equal(rte_eth_macaddr_get(g.be, &mac), 0);
	snprintf(args, sizeof(args), "mac=" RTE_ETHER_ADDR_PRT_FMT,
		 RTE_ETHER_ADDR_BYTES(&mac));
	snprintf(sock2, sizeof(sock2), "%s/be2.sock", g.p.dir);
	assert_int_equal(inproc_device_add(&g.p, "net_vfio_user1", sock2, args,
					   &be2),
			 0);

	/* left in the first port's ring, received by the second */
	assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
	n = inproc_tx(g.fe, 0, g.be, g.tx_mp, 20);
	assert_int_equal(n, 20);
	assert_int_equal(rte_pmd_vfio_user_client_move(g.fe, sock2, &st), 0);
	inproc_seq_follow(be2, g.be);
	assert_int_equal(inproc_rx(be2, 0, n), n);
	assert_int_equal(fe_in_flight(), 0);
	assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);

	/* moved in to a port with a stopped queue */
	assert_int_equal(rte_pmd_vfio_user_client_move(g.fe, g.p.sock, &st), 0);
	assert_int_equal(rte_eth_dev_rx_queue_stop(be2, 0), 0);
	assert_int_equal(rte_pmd_vfio_user_client_move(g.fe, sock2, &st), 0);
	assert_int_equal(inproc_queue_state(be2, 0, false), STOPPED);
	inproc_seq_resync(be2);
	n = inproc_tx(g.fe, 0, be2, g.tx_mp, 4096);
	assert_true(n > 0);
	assert_true(inproc_rx_none(be2, 0));
	assert_int_equal(fe_in_flight(), n);
	assert_int_equal(rte_eth_dev_rx_queue_start(be2, 0), 0);
	assert_int_equal(inproc_rx(be2, 0, n), n);
	inproc_flows(be2, g.p.be_mp, g.fe, 100);

	/* back, to a port with a stopped tx queue */
	assert_int_equal(rte_eth_dev_tx_queue_stop(g.be, 0), 0);
	assert_int_equal(rte_pmd_vfio_user_client_move(g.fe, g.p.sock, &st), 0);
	states(g.be, STARTED, STOPPED);
	inproc_seq_resync(g.be);
	tx_stalled();
	flows_out(100);
	assert_int_equal(rte_eth_dev_tx_queue_start(g.be, 0), 0);
	flows_in(100);
	assert_int_equal(rte_eth_dev_stop(be2), 0);
	assert_int_equal(rte_eth_dev_close(be2), 0);
}

/* inproc_mq_ports() with the frontend's rings, sequence numbers afresh. */
static void
mq_ports(uint16_t ports[2], int i, uint16_t nrx, uint16_t ntx,
	 uint16_t fe_pairs)
{
	inproc_mq_ports(&g.p, ports, i, nrx, ntx, "", fe_pairs, 0, 0, g.layout);
	inproc_seq_resync(ports[0]);
	inproc_seq_resync(ports[1]);
}

/* One receive queue for the driver's two pairs: its stop stops both. */
static void
test_rx_set(void **state)
{
	uint16_t pt[2];
	uint32_t n;

	(void)state;
	mq_ports(pt, 5, 1, 2, 2);
	/* pair 1's frames reach rx queue 0 */
	n = inproc_tx(pt[1], 1, pt[0], g.p.fe_mp, 10);
	assert_int_equal(n, 10);
	assert_int_equal(inproc_rx(pt[0], 0, n), n);

	assert_int_equal(rte_eth_dev_rx_queue_stop(pt[0], 0), 0);
	for (uint16_t q = 0; q < 2; q++) {
		n = inproc_tx(pt[1], q, pt[0], g.p.fe_mp, 10);
		assert_int_equal(n, 10);
		assert_true(inproc_rx_none(pt[0], 0));
		assert_int_equal(rte_eth_dev_rx_queue_start(pt[0], 0), 0);
		assert_int_equal(inproc_rx(pt[0], 0, n), n);
		assert_int_equal(rte_eth_dev_rx_queue_stop(pt[0], 0), 0);
	}
	assert_int_equal(rte_eth_dev_rx_queue_start(pt[0], 0), 0);
	inproc_mq_ports_close(pt);
}

/* Two transmit queues sharing the driver's one pair: a stop stops the
 * queue stopped only. */
static void
test_tx_shared(void **state)
{
	uint16_t pt[2];

	struct rte_eth_stats st;

	(void)state;
	mq_ports(pt, 6, 1, 2, 1);
	/* both send through pair 0 */
	for (uint16_t q = 0; q < 2; q++) {
		assert_int_equal(inproc_tx(pt[0], q, pt[1], g.p.be_mp, 10), 10);
		assert_int_equal(inproc_rx(pt[1], 0, 10), 10);
	}
	/* Review: each queue's counters are its own, not the pair's */
	assert_int_equal(rte_eth_stats_get(pt[0], &st), 0);
	assert_int_equal(st.q_opackets[0], 10);
	assert_int_equal(st.q_opackets[1], 10);
	assert_int_equal(st.opackets, 20);
	for (uint16_t q = 0; q < 2; q++) {
		uint16_t other = (uint16_t)(1 - q);

		assert_int_equal(rte_eth_dev_tx_queue_stop(pt[0], q), 0);
		assert_int_equal(inproc_tx(pt[0], q, pt[1], g.p.be_mp, BURST),
				 0);
		assert_true(inproc_rx_none(pt[1], 0));
		assert_int_equal(inproc_tx(pt[0], other, pt[1], g.p.be_mp, 10),
				 10);
		assert_int_equal(inproc_rx(pt[1], 0, 10), 10);
		assert_int_equal(rte_eth_dev_tx_queue_start(pt[0], q), 0);
		assert_int_equal(inproc_tx(pt[0], q, pt[1], g.p.be_mp, 10), 10);
		assert_int_equal(inproc_rx(pt[1], 0, 10), 10);
	}
	assert_int_equal(rte_eth_stats_get(pt[0], &st), 0);
	assert_int_equal(st.q_opackets[0], 30);
	assert_int_equal(st.q_opackets[1], 30);
	assert_int_equal(st.q_obytes[0], st.q_obytes[1]);
	inproc_mq_ports_close(pt);
}

/* Offload mode (no engine needed): the engine has the data queues. */
/* ---- a stop waits for a burst running on another thread ---- */

/*
 * A ring's worth the frontend sent while the device's rx queue 0 was
 * stopped is being taken by another thread's bursts
 * (inproc_rx_worker) when the queue is stopped again: the device's count
 * of frames received must not move once the stop returned (a burst past
 * the stopped check when the flag was set finishes, and counts, before
 * the grace period ends). Many rounds: the stop has to land inside a
 * burst now and then.
 */
static void
test_stop_waits(void **state)
{
	unsigned int rounds = 0, late = 0, sent_total = 0;
	struct inproc_rx_worker w;
	uint64_t end;

	(void)state;
	fe_setup();
	inproc_rx_worker_start(&w, g.be);
	end = rte_get_timer_cycles() + rte_get_timer_hz();	/* 1 s */
	while (rte_get_timer_cycles() < end || rounds < 200) {
		uint64_t wait_end;

		/* a ring's worth waiting, then taken from the start on, and
		 * the queue stopped a few microseconds into it */
		assert_int_equal(rte_eth_dev_rx_queue_stop(g.be, 0), 0);
		sent_total += inproc_tx(g.fe, 0, g.be, g.tx_mp, 256);
		assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
		rte_delay_us_block(rounds % 4);
		if (inproc_rx_stop_late(g.be))
			late++;
		assert_int_equal(rte_eth_dev_rx_queue_start(g.be, 0), 0);
		/* the ring taken empty before the next round */
		wait_end = rte_get_timer_cycles() + 2 * rte_get_timer_hz();
		while (fe_in_flight() > 0)
			assert_true(rte_get_timer_cycles() < wait_end);
		rounds++;
		if (rounds == 100000)
			break;
	}
	inproc_rx_worker_stop(&w);
	printf("%u rounds, %u frames, %" PRIu64 " taken by the other "
	       "thread; received after a stop returned: %u rounds\n",
	       rounds, sent_total, w.got, late);
	assert_int_equal(w.got, sent_total);
	assert_int_equal(late, 0);
	inproc_seq_resync(g.be);
}

static void
test_offload(void **state)
{
	struct rte_eth_rxconf rxc = { .rx_deferred_start = 1 };
	struct rte_eth_txconf txc = { .tx_deferred_start = 1 };
	char sock[128], args[256];
	uint16_t be;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/be7.sock", g.p.dir);
	snprintf(args, sizeof(args), "offload=%s/engine.sock", g.p.dir);
	assert_int_equal(inproc_device_add(&g.p, "net_vfio_user7", sock, args,
					   &be),
			 0);
	assert_int_equal(rte_eth_dev_rx_queue_stop(be, 0), -ENOTSUP);
	assert_int_equal(rte_eth_dev_tx_queue_stop(be, 0), -ENOTSUP);
	states(be, STARTED, STARTED);
	assert_int_equal(rte_eth_dev_stop(be), 0);
	assert_int_equal(rte_eth_rx_queue_setup(be, 0, 0, SOCKET_ID_ANY, &rxc,
						g.p.be_mp),
			 -EINVAL);
	assert_int_equal(rte_eth_tx_queue_setup(be, 0, 0, SOCKET_ID_ANY, &txc),
			 -EINVAL);
	assert_int_equal(rte_eth_dev_close(be), 0);
}

/* Before each test: what a failed one may have left undone (the device
 * port stopped, or with stopped or deferred queues; frames in flight)
 * set right, so that each test fails on its own. */
static int
test_clean(void **state)
{
	struct rte_eth_conf conf = { 0 };
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz() / 5;
	struct rte_mbuf *m[BURST];

	(void)state;
	if (rte_eth_dev_stop(g.be) != 0 ||
	    rte_eth_dev_configure(g.be, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(g.be, 0, 1024, SOCKET_ID_ANY, NULL,
				   g.p.be_mp) != 0 ||
	    rte_eth_tx_queue_setup(g.be, 0, 1024, SOCKET_ID_ANY, NULL) != 0 ||
	    rte_eth_dev_start(g.be) != 0 || !inproc_link_wait(g.fe, true, 5000))
		return -1;
	while (rte_get_timer_cycles() < end) {
		uint16_t n = rte_eth_rx_burst(g.be, 0, m, BURST);

		rte_pktmbuf_free_bulk(m, n);
		n = rte_eth_rx_burst(g.fe, 0, m, BURST);
		rte_pktmbuf_free_bulk(m, n);
		rte_eth_tx_done_cleanup(g.fe, 0, 0);
	}
	inproc_seq_resync(g.be);
	inproc_seq_resync(g.fe);
	return 0;
}

static int
group_setup(void **state)
{
	char args[128];

	(void)state;
	snprintf(args, sizeof(args), "reconnect=20%s%s",
		 g.layout[0] != '\0' ? "," : "", g.layout);
	if (inproc_pair_up(&g.p, "dev_queue_stop", "--no-huge -m 256", args) !=
	    0)
		return -1;
	g.be = g.p.be;
	g.fe = g.p.fe;
	return inproc_nocache_pools(&g.rx_mp, &g.tx_mp);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rx_stop_start, test_clean),
		cmocka_unit_test_setup(test_rx_stop_intr, test_clean),
		cmocka_unit_test_setup(test_rx_intr_reconfigured, test_clean),
		cmocka_unit_test_setup(test_rx_scatter_note, test_clean),
		cmocka_unit_test_setup(test_tx_stop_start, test_clean),
		cmocka_unit_test_setup(test_deferred, test_clean),
		cmocka_unit_test_setup(test_port_stop_start, test_clean),
		cmocka_unit_test_setup(test_reconnect, test_clean),
		cmocka_unit_test_setup(test_driver_reset, test_clean),
		cmocka_unit_test_setup(test_move, test_clean),
		cmocka_unit_test_setup(test_rx_set, test_clean),
		cmocka_unit_test_setup(test_tx_shared, test_clean),
		cmocka_unit_test_setup(test_stop_waits, test_clean),
		cmocka_unit_test_setup(test_offload, test_clean),
	};

	g.layout = argc > 1 ? argv[1] : "";
	printf("frontend rings: %s\n", g.layout[0] ? g.layout : "default");
	return cmocka_run_group_tests_name("dev_queue_stop", tests, group_setup,
					   inproc_group_teardown);
}
