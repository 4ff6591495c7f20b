/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * How much of its rings the frontend (net_virtio_vfio_user) uses: the
 * nb_desc of each queue setup (transmit: frames in flight, a chained one
 * taking a descriptor per segment; receive: buffers posted), the defaults
 * (256 frames in flight, the whole 1024-entry ring posted) and the 4 MiB
 * budget of posted receive buffers. Both PMDs
 * in one process, one thread: while one side does not poll, the other
 * fills the ring, and what it got in is counted exactly, then drained
 * and checked on the other side.
 */

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_bus_vdev.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "inproc_pair.h"

#define BURST		32
#define RING		1024		/* the frontend's rings */
#define TX_DEFAULT	256		/* its default transmit depth */
#define JUMBO_ROOM	9344		/* 9216 B of data + headroom */
#define FRAME		64

static struct {
	const char *layout;	/* frontend devargs that pick the rings */
	struct inproc_pair p;
	uint16_t be, fe;	/* p's */
	struct rte_mempool *be_mp, *fe_mp, *jumbo_mp;
} g;

#define link_up inproc_link_up

/* (Re)start the frontend with these queue sizes; the device follows. */
static void
fe_start(uint16_t nb_rx, uint16_t nb_tx, struct rte_mempool *mp)
{
	assert_int_equal(rte_eth_dev_stop(g.fe), 0);
	assert_int_equal(inproc_port_start(g.fe, NULL, nb_rx, nb_tx, mp), 0);
	assert_true(inproc_link_wait(g.be, true, 5000) &&
		    inproc_link_wait(g.fe, true, 5000));
}

/* n frames of segs segments of FRAME bytes each */
static uint16_t
frames(struct rte_mempool *mp, struct rte_mbuf **m, uint16_t n, uint16_t segs)
{
	uint16_t i;

	for (i = 0; i < n; i++) {
		m[i] = NULL;
		for (uint16_t k = 0; k < segs; k++) {
			struct rte_mbuf *s = rte_pktmbuf_alloc(mp);

			if (s == NULL)
				goto fail;
			memset(rte_pktmbuf_mtod(s, void *), 0x5a, FRAME);
			s->data_len = FRAME;
			s->pkt_len = FRAME;
			if (m[i] == NULL) {
				m[i] = s;
			} else if (rte_pktmbuf_chain(m[i], s) != 0) {
				rte_pktmbuf_free(s);
				goto fail;
			}
		}
	}
	return n;
fail:
	/* give back what this call took (m[i] may be NULL) */
	rte_pktmbuf_free_bulk(m, i + 1);
	return 0;
}

/* Send frames of segs segments on port until it takes nothing more (the
 * peer does not poll). */
static uint32_t
fill_segs(uint16_t port, struct rte_mempool *mp, uint16_t segs)
{
	struct rte_mbuf *m[BURST];
	uint32_t total = 0;
	int idle = 0;

	while (idle < 3 && total < 100000) {
		uint16_t n = frames(mp, m, BURST, segs), sent;

		assert_int_equal(n, BURST);
		sent = rte_eth_tx_burst(port, 0, m, n);
		if (sent < n)
			rte_pktmbuf_free_bulk(&m[sent], n - sent);
		total += sent;
		idle = sent == 0 ? idle + 1 : 0;
	}
	return total;
}

static uint32_t
fill(uint16_t port, struct rte_mempool *mp)
{
	return fill_segs(port, mp, 1);
}

/* Receive on port until want frames of len bytes came (bounded), in mbufs
 * of mp. */
static uint32_t
drain_len(uint16_t port, uint32_t want, const struct rte_mempool *mp,
	  uint32_t len)
{
	struct rte_mbuf *m[BURST];
	uint32_t got = 0;

	for (int i = 0; i < 200000 && got < want; i++) {
		uint16_t n = rte_eth_rx_burst(port, 0, m, BURST);

		for (uint16_t k = 0; k < n; k++) {
			assert_int_equal(m[k]->pkt_len, len);
			assert_ptr_equal(m[k]->pool, mp);
		}
		rte_pktmbuf_free_bulk(m, n);
		got += n;
	}
	return got;
}

static uint32_t
drain(uint16_t port, uint32_t want, const struct rte_mempool *mp)
{
	return drain_len(port, want, mp, FRAME);
}

/* Transmit: the frontend has at most nb_desc frames in flight. */
static void
tx_depth(uint16_t nb_desc, uint32_t want)
{
	uint32_t n;

	fe_start(0, nb_desc, g.fe_mp);
	n = fill(g.fe, g.fe_mp);
	printf("tx nb_desc %u: %" PRIu32 " frames in flight (want %" PRIu32
	       ")\n",
	       nb_desc, n, want);
	assert_int_equal(n, want);
	assert_int_equal(drain(g.be, n, g.be_mp), n);
	/* and again once the device used them */
	assert_int_equal(fill(g.fe, g.fe_mp), want);
	assert_int_equal(drain(g.be, want, g.be_mp), want);
}

/* The ring layout asked for is the one negotiated (the device's xstat of
 * the driver's features: VIRTIO_F_RING_PACKED 34, VIRTIO_F_IN_ORDER 35). */
static void
test_layout(void **state)
{
	uint64_t features;
	bool packed = strstr(g.layout, "packed_vq=0") == NULL;
	bool in_order = strstr(g.layout, "in_order=0") == NULL;

	(void)state;
	fe_start(0, 0, g.fe_mp);
	features = inproc_xstat(g.be, "driver_features");
	printf("negotiated: packed %d, in order %d\n",
	       (int)((features >> 34) & 1), (int)((features >> 35) & 1));
	assert_int_equal((features >> 34) & 1, packed);
	assert_int_equal((features >> 35) & 1, in_order);
}

static void
test_tx_default(void **state)
{
	struct rte_eth_dev_info info;

	(void)state;
	assert_int_equal(rte_eth_dev_info_get(g.fe, &info), 0);
	assert_int_equal(info.default_txportconf.ring_size, TX_DEFAULT);
	assert_int_equal(info.default_rxportconf.ring_size, RING);
	tx_depth(0, TX_DEFAULT);
}

static void
test_tx_nb_desc(void **state)
{
	(void)state;
	tx_depth(100, 100);
	tx_depth(RING, RING);
	tx_depth(4096, RING);	/* more than the ring: all of it */
}

/* Chained frames: the default counts frames, each taking a descriptor per
 * segment, so 3-segment frames fill 768 descriptors and 5-segment ones
 * stop at the ring (204 of them, 1020 descriptors). */
static void
test_tx_chained(void **state)
{
	static const struct {
		uint16_t segs;
		uint32_t want;
	} c[] = { { 3, TX_DEFAULT }, { 5, RING / 5 } };

	(void)state;
	fe_start(0, 0, g.fe_mp);
	for (unsigned int i = 0; i < RTE_DIM(c); i++) {
		uint32_t n = fill_segs(g.fe, g.fe_mp, c[i].segs);

		printf("tx default, %u-segment frames: %" PRIu32
		       " in flight (want %" PRIu32 ")\n",
		       c[i].segs, n, c[i].want);
		assert_int_equal(n, c[i].want);
		assert_int_equal(drain_len(g.be, n, g.be_mp,
					   (uint32_t)c[i].segs * FRAME),
				 n);
	}
}

/* nb_desc lowered while more than that are in flight (the stop waits a
 * second for the device, which does not poll here): nothing more goes
 * out until the device used them, then nb_desc at a time. */
static void
test_tx_lowered(void **state)
{
	(void)state;
	fe_start(0, RING, g.fe_mp);
	assert_int_equal(fill(g.fe, g.fe_mp), RING);
	fe_start(0, 100, g.fe_mp);
	assert_int_equal(fill(g.fe, g.fe_mp), 0);
	assert_int_equal(drain(g.be, RING, g.be_mp), RING);
	assert_int_equal(fill(g.fe, g.fe_mp), 100);
	assert_int_equal(drain(g.be, 100, g.be_mp), 100);
}

/* Receive: the frontend keeps at most this many buffers posted. */
static void
rx_depth(uint16_t nb_desc, struct rte_mempool *mp, uint32_t want)
{
	uint32_t n;

	fe_start(nb_desc, 0, mp);
	/* the frontend posts its buffers at start and after each receive */
	n = fill(g.be, g.be_mp);
	printf("rx nb_desc %u, %u B buffers: %" PRIu32
	       " buffers posted (want %" PRIu32 ")\n",
	       nb_desc, rte_pktmbuf_data_room_size(mp), n, want);
	assert_int_equal(n, want);
	/* every buffer posted is of this setup's mempool */
	assert_int_equal(drain(g.fe, n, mp), n);
}

static void
test_rx_nb_desc(void **state)
{
	(void)state;
	rx_depth(0, g.fe_mp, RING);
	rx_depth(100, g.fe_mp, 100);
	/* 9 KB buffers: 4 MiB of them */
	rx_depth(0, g.jumbo_mp, (4u << 20) / JUMBO_ROOM);
	rx_depth(200, g.jumbo_mp, 200);
}

static unsigned int lsc_events;

static int
count_lsc(uint16_t port, enum rte_eth_event_type ev, void *arg, void *ret)
{
	(void)port;
	(void)ev;
	(void)arg;
	(void)ret;
	lsc_events++;
	return 0;
}

/* One FRAME-byte frame the frontend sent reaches the device port. */
static void
frame_received(void)
{
	struct rte_mbuf *rx[BURST];
	uint64_t end = rte_get_timer_cycles() + rte_get_timer_hz();
	uint16_t got = 0;

	while (got == 0 && rte_get_timer_cycles() < end) {
		got = rte_eth_rx_burst(g.be, 0, rx, BURST);
		rte_eth_tx_burst(g.fe, 0, NULL, 0);	/* reclaims */
	}
	assert_int_equal(got, 1);
	assert_int_equal(rx[0]->pkt_len, FRAME);
	rte_pktmbuf_free(rx[0]);
}

/*
 * What ethdev promises an application, on both ports: promiscuous and
 * all-multicast stay on (the devices do not filter: disabling them is
 * -ENOTSUP, not a silent 0); the frontend takes a deferred queue start
 * (VIRTIO_F_RING_RESET, which net_vfio_user offers: test_queue_stop); a
 * device port configured without intr_conf.lsc raises no LSC event; a
 * frame with more segments than the ring has descriptors is dropped and
 * counted (oerrors), and the frame after it goes.
 */
static void
test_port_contract(void **state)
{
	const uint16_t ports[2] = { g.be, g.fe };
	struct rte_eth_txconf txc = { .tx_deferred_start = 1 };
	struct rte_eth_rxconf rxc = { .rx_deferred_start = 1 };
	struct rte_eth_dev_info info;
	struct rte_eth_stats st0, st1;
	struct rte_mbuf *m[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rte_eth_promiscuous_get(ports[i]), 1);
		assert_int_equal(rte_eth_allmulticast_get(ports[i]), 1);
		assert_int_equal(rte_eth_promiscuous_enable(ports[i]), 0);
		assert_int_equal(rte_eth_promiscuous_disable(ports[i]),
				 -ENOTSUP);
		assert_int_equal(rte_eth_allmulticast_disable(ports[i]),
				 -ENOTSUP);
		assert_int_equal(rte_eth_promiscuous_get(ports[i]), 1);
		assert_int_equal(rte_eth_allmulticast_get(ports[i]), 1);
	}

	/* the device port (configured with no intr_conf.lsc) sees its link
	 * go and come back with the frontend's restart: no event */
	assert_int_equal(rte_eth_dev_callback_register(g.be,
						       RTE_ETH_EVENT_INTR_LSC,
						       count_lsc, NULL),
			 0);
	assert_int_equal(rte_eth_dev_stop(g.fe), 0);
	assert_int_equal(rte_eth_rx_queue_setup(g.fe, 0, 0, SOCKET_ID_ANY, &rxc,
						g.fe_mp),
			 0);
	assert_int_equal(rte_eth_tx_queue_setup(g.fe, 0, 0, SOCKET_ID_ANY,
						&txc),
			 0);
	fe_start(0, 0, g.fe_mp);	/* (set up again without) */
	assert_int_equal(lsc_events, 0);
	assert_int_equal(rte_eth_dev_callback_unregister(g.be,
							 RTE_ETH_EVENT_INTR_LSC,
							 count_lsc, NULL),
			 0);

	/* queue information: the rings the frontend set up, seen from both
	 * sides, and the layout they negotiated */
	{
		struct rte_eth_burst_mode bm_be, bm_fe;
		struct rte_eth_rxq_info rq;
		struct rte_eth_txq_info tq;

		assert_int_equal(rte_eth_rx_queue_info_get(g.fe, 0, &rq), 0);
		assert_ptr_equal(rq.mp, g.fe_mp);
		assert_int_equal(rq.nb_desc, RING);
		assert_int_equal(rte_eth_tx_queue_info_get(g.fe, 0, &tq), 0);
		assert_int_equal(tq.nb_desc, TX_DEFAULT);
		assert_int_equal(rte_eth_rx_queue_info_get(g.be, 0, &rq), 0);
		assert_ptr_equal(rq.mp, g.be_mp);
		assert_int_equal(rq.nb_desc, RING);
		assert_int_equal(rq.scattered_rx, 1);
		assert_int_equal(rte_eth_tx_queue_info_get(g.be, 0, &tq), 0);
		assert_int_equal(tq.nb_desc, RING);
		assert_int_equal(rte_eth_rx_burst_mode_get(g.fe, 0, &bm_fe), 0);
		assert_int_equal(rte_eth_tx_burst_mode_get(g.be, 0, &bm_be), 0);
		assert_string_equal(bm_fe.info, bm_be.info);
		assert_non_null(strstr(bm_fe.info, "rings"));
		printf("burst mode: %s\n", bm_fe.info);
	}
	/* the frontend's MTU: up to the device's */
	{
		uint16_t mtu;

		assert_int_equal(rte_eth_dev_set_mtu(g.fe, 1400), 0);
		assert_int_equal(rte_eth_dev_get_mtu(g.fe, &mtu), 0);
		assert_int_equal(mtu, 1400);
		assert_int_equal(rte_eth_dev_set_mtu(g.fe, 1501), -EINVAL);
		assert_int_equal(rte_eth_dev_set_mtu(g.fe, 1500), 0);
	}

	/* 1100 segments: more than the frontend's 1024-entry ring */
	assert_int_equal(rte_eth_dev_info_get(g.fe, &info), 0);
	assert_int_equal(info.tx_desc_lim.nb_seg_max, RING - 1);
	assert_int_equal(frames(g.fe_mp, &m[0], 1, 1100), 1);
	assert_int_equal(frames(g.fe_mp, &m[1], 1, 1), 1);
	assert_int_equal(rte_eth_stats_get(g.fe, &st0), 0);
	assert_int_equal(rte_eth_tx_burst(g.fe, 0, m, 2), 2);
	assert_int_equal(rte_eth_stats_get(g.fe, &st1), 0);
	assert_int_equal(st1.oerrors - st0.oerrors, 1);
	assert_int_equal(st1.opackets - st0.opackets, 1);
	frame_received();
}

/*
 * The device went away and came back (a new process on the same socket);
 * the frontend, without reconnect=, is stopped and started: the start
 * sets the device up again, traffic flows. (The start returned 0 with the
 * port on the dead connection before: link down, every frame dropped.)
 */
static void
test_start_after_device_restart(void **state)
{
	struct rte_mbuf *m;

	(void)state;
	assert_int_equal(rte_vdev_uninit("net_vfio_user0"), 0);
	assert_true(inproc_link_wait(g.fe, false, 3000));
	assert_int_equal(inproc_device_add(&g.p, "net_vfio_user0", g.p.sock, "",
					   &g.be),
			 0);
	g.p.be = g.be;
	assert_false(link_up(g.fe));
	assert_int_equal(rte_eth_dev_stop(g.fe), 0);
	assert_int_equal(rte_eth_dev_start(g.fe), 0);
	assert_true(inproc_link_wait(g.fe, true, 3000) &&
		    inproc_link_wait(g.be, true, 3000));
	assert_int_equal(frames(g.fe_mp, &m, 1, 1), 1);
	assert_int_equal(rte_eth_tx_burst(g.fe, 0, &m, 1), 1);
	frame_received();
}

/*
 * A frontend asking for more queue pairs (queues=4) than its device has
 * (1): the port offers the device's count, and configuring more fails
 * (queues past it would carry nothing).
 */
static void
test_fewer_device_pairs(void **state)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	char sock[96], args[160];
	uint16_t fe;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/be1.sock", g.p.dir);
	snprintf(args, sizeof(args), "path=%s,queues=1", sock);
	assert_int_equal(rte_vdev_init("net_vfio_user1", args), 0);
	assert_int_equal(inproc_frontend_add(&g.p, "net_virtio_vfio_user1",
					     sock, "queues=4", 0, &fe),
			 0);
	assert_int_equal(rte_eth_dev_info_get(fe, &info), 0);
	assert_int_equal(info.max_rx_queues, 1);
	assert_int_equal(info.max_tx_queues, 1);
	assert_int_equal(rte_eth_dev_configure(fe, 4, 4, &conf), -EINVAL);
	assert_int_equal(rte_eth_dev_configure(fe, 1, 1, &conf), 0);
	assert_int_equal(rte_vdev_uninit("net_virtio_vfio_user1"), 0);
	assert_int_equal(rte_vdev_uninit("net_vfio_user1"), 0);
}

/*
 * Last: the vdevs removed while their ports run (as rte_eal_cleanup()
 * does with an application that did not stop them): each is stopped and
 * closed, the device's socket goes, and its driver sees it go.
 */
static void
test_remove_started(void **state)
{
	struct rte_mbuf *m[BURST];
	char sock[96];
	uint64_t end;

	(void)state;
	snprintf(sock, sizeof(sock), "%s", g.p.sock);
	assert_true(link_up(g.be) && link_up(g.fe));
	assert_int_equal(access(sock, F_OK), 0);
	assert_int_equal(rte_eal_hotplug_remove("vdev", "net_vfio_user0"), 0);
	assert_false(rte_eth_dev_is_valid_port(g.be));
	assert_int_equal(access(sock, F_OK), -1);	/* the server stopped */
	/* the frontend polls on: its device is gone, not half there */
	end = rte_get_timer_cycles() + rte_get_timer_hz() * 3;
	while (link_up(g.fe) && rte_get_timer_cycles() < end) {
		uint16_t n = rte_eth_rx_burst(g.fe, 0, m, BURST);

		rte_pktmbuf_free_bulk(m, n);
		rte_delay_ms(1);
	}
	assert_false(link_up(g.fe));
	assert_int_equal(rte_eal_hotplug_remove("vdev",
						"net_virtio_vfio_user0"),
			 0);
	assert_false(rte_eth_dev_is_valid_port(g.fe));
}

static int
group_setup(void **state)
{
	(void)state;
	if (inproc_pair_up(&g.p, "queue-depth", "--no-huge -m 256", g.layout) !=
	    0)
		return -1;
	g.be = g.p.be;
	g.fe = g.p.fe;
	g.be_mp = g.p.be_mp;
	g.fe_mp = g.p.fe_mp;
	g.jumbo_mp = rte_pktmbuf_pool_create("jumbo", 1023, 0, 0, JUMBO_ROOM,
					     SOCKET_ID_ANY);
	return g.jumbo_mp != NULL ? 0 : -1;
}

/*
 * test_queue_depth [DEVARGS]: DEVARGS (e.g. packed_vq=0,in_order=0) go to
 * the frontend, which then negotiates that ring layout; the counts are
 * the same for every layout.
 */
int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_tx_default),
		cmocka_unit_test(test_tx_nb_desc),
		cmocka_unit_test(test_tx_chained),
		cmocka_unit_test(test_tx_lowered),
		cmocka_unit_test(test_rx_nb_desc),
		cmocka_unit_test(test_port_contract),
		cmocka_unit_test(test_fewer_device_pairs),
		cmocka_unit_test(test_start_after_device_restart),
		cmocka_unit_test(test_remove_started),	/* last */
	};

	g.layout = argc > 1 ? argv[1] : "";
	printf("frontend ring layout: %s\n",
	       g.layout[0] != '\0' ? g.layout : "default (packed, in order)");
	return cmocka_run_group_tests_name("queue_depth", tests, group_setup,
					   inproc_group_teardown);
}
