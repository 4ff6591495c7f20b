/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Packed virtqueues and in-order use (VIRTIO_F_RING_PACKED,
 * VIRTIO_F_IN_ORDER) on net_vfio_user, against the test driver in its
 * packed and in-order modes:
 *  - traffic both ways on both queue pairs in the four ring modes (split,
 *    split in order, packed, packed in order), with and without mergeable
 *    buffers: frames of 64 to 9014 bytes, one descriptor, chains and
 *    indirect tables both ways, the control queue (MQ) on the same ring;
 *  - the rings wrapped many times, a packed ring of a size that is not a
 *    power of two;
 *  - in order, the driver's transmit buffers come back as one used
 *    descriptor (entry) per burst;
 *  - notifications: no kicks asked on data queues, interrupts as the
 *    driver event suppression structure says (DISABLE, ENABLE, DESC);
 *  - dirty page logging: the used parts of the rings and the receive
 *    buffers the device wrote are marked, the transmit buffers are not;
 *  - a malicious packed driver: descriptors outside its memory, wrapping
 *    lengths, chains as long as the ring, chains not wholly available,
 *    bad indirect tables, wrong directions, odd ids, wrap counter abuse,
 *    misplaced rings, a flood of control commands. The device must not
 *    crash, loop or touch memory outside the map, must count what it
 *    refused, and must go on for good traffic.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nic_common.h"

#define V1 NIC_F(VIRTIO_F_VERSION_1)
#define PACKED NIC_F(VIRTIO_F_RING_PACKED)
#define IN_ORDER NIC_F(VIRTIO_F_IN_ORDER)
#define MRG NIC_F(VIRTIO_NET_F_MRG_RXBUF)
#define UNMAPPED (NIC_IOVA + NIC_MEM_MAPPED)
#define RO_IOVA	 0x200000000ULL
#define S_UP                                                    \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

static const uint32_t sizes[] = {
	64,   65,   128,  511,	1024, 1514, 1515, 2036,
	2037, 2048, 4000, 6000, 8000, 9000, 9014,
};
#define NSIZES RTE_DIM(sizes)

static const struct {
	const char *name;
	uint64_t f;
} modes[] = {
	{ "split", 0 },
	{ "split in order", IN_ORDER },
	{ "packed", PACKED },
	{ "packed in order", PACKED | IN_ORDER },
};

static struct drx *rxbuf;
static uint32_t seq = 1;

static uint64_t
x(const char *fmt, unsigned int q)
{
	char name[64];

	snprintf(name, sizeof(name), fmt, q);
	return nic_xstat(name);
}

/* ---- traffic ---- */

/* Driver -> port on pair qp: sizes[] in the three shapes; check them. */
static uint64_t
drv_to_port(struct nic_drv *d, unsigned int qp, bool indirect)
{
	struct dvq *q = &d->vq[2 * qp + 1];
	struct rte_mbuf *m[NSIZES];
	uint64_t bytes = 0;
	uint32_t s0 = seq;
	uint16_t old = q->avail_idx;

	for (unsigned int i = 0; i < NSIZES; i++) {
		enum tx_shape shape = i % 3 == 0		? TX_ONE :
				      (i % 3 == 1 || !indirect) ? TX_SPLIT :
								  TX_INDIRECT;

		drv_send(d, q, sizes[i], seq++, shape, 700 + 100 * (i % 4));
		bytes += sizes[i];
	}
	dvq_kick(d, q, old);
	assert_int_equal(nic_rx((uint16_t)qp, m, NSIZES, 2000), NSIZES);
	for (unsigned int i = 0; i < NSIZES; i++) {
		if (!nic_mbuf_check(m[i], sizes[i], s0 + i))
			fail_msg("pair %u packet %u (%u bytes): got %u bytes",
				 qp, i, sizes[i], m[i]->pkt_len);
		assert_int_equal(m[i]->port, nic.port);
	}
	nic_free(m, NSIZES);
	assert_int_equal(dvq_pending_used(q), NSIZES);
	assert_int_equal(drv_tx_reclaim(q), NSIZES);
	assert_int_equal(q->num_free, NIC_QSZ);
	return bytes;
}

/* Port -> driver on pair qp: mergeable 2 KiB buffers (some indirect,
 * some chains of two), or 10 KiB chains without MRG_RXBUF. */
static uint64_t
port_to_drv(struct nic_drv *d, unsigned int qp, bool indirect)
{
	struct dvq *q = &d->vq[2 * qp];
	bool mrg = d->features & MRG;
	struct rte_mbuf *m[NSIZES];
	uint64_t bytes = 0;
	unsigned int need = 0;
	uint32_t s0 = seq;
	uint16_t old = q->avail_idx;

	for (unsigned int i = 0; i < NSIZES; i++)
		need += mrg ? (NIC_HDR_LEN + sizes[i] + 2047) / 2048 : 1;
	for (unsigned int i = 0; i < need; i++) {
		if (mrg)
			drv_post_rx(q, i % 3 == 1 ? 2 : 1,
				    i % 3 == 1 ? 1024 : 2048,
				    indirect && i % 3 == 2);
		else
			drv_post_rx(q, 5, 2048, indirect && i % 2);
	}
	dvq_kick(d, q, old);
	for (unsigned int i = 0; i < NSIZES; i++) {
		m[i] = nic_mbuf(sizes[i], seq++, i % 2 ? 2048 : 1000 + 37 * i);
		bytes += sizes[i];
	}
	assert_int_equal(rte_eth_tx_burst(nic.port, (uint16_t)qp, m, NSIZES),
			 NSIZES);
	for (unsigned int i = 0; i < NSIZES; i++) {
		uint16_t nb = mrg ? (NIC_HDR_LEN + sizes[i] + 2047) / 2048 : 1;

		assert_true(drv_recv(d, q, rxbuf));
		assert_int_equal(rxbuf->hdr.hdr.flags, 0);
		assert_int_equal(rxbuf->hdr.hdr.gso_type,
				 VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(rxbuf->hdr.num_buffers, nb);
		assert_int_equal(rxbuf->nbufs, nb);
		if (rxbuf->len != sizes[i] ||
		    !pkt_check(rxbuf->data, sizes[i], s0 + i))
			fail_msg("pair %u packet %u: %u bytes, expected %u", qp,
				 i, rxbuf->len, sizes[i]);
	}
	assert_int_equal(dvq_pending_used(q), 0);
	assert_int_equal(q->num_free, NIC_QSZ);
	return bytes;
}

static uint8_t
ctrl_cmd(struct nic_drv *d, uint8_t cls, uint8_t cmd, const void *data,
	 uint32_t len, bool indirect)
{
	return drv_ctrl_cmd(d, cls, cmd, data, len, indirect);
}

static void
traffic_mode(uint64_t ring, uint64_t mrg)
{
	uint64_t f = (NIC_OFFERED & ~MRG) | mrg | ring;
	struct nic_drv *d = drv_open();
	uint16_t pairs = NIC_QUEUES;
	uint64_t rxb[NIC_QUEUES] = { 0 }, txb[NIC_QUEUES] = { 0 };
	uint8_t v = 0;

	rte_eth_stats_reset(nic.port);
	drv_init(d, f, NIC_NVQS);
	assert_int_equal(nic_xstat("driver_features"), f);
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
				  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2,
				  false),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_PROMISC, &v, 1, true),
			 VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_queue_pairs"), NIC_QUEUES);
	assert_int_equal(nic_xstat("driver_promisc"), 0);
	for (int round = 0; round < 3; round++)
		for (unsigned int qp = 0; qp < NIC_QUEUES; qp++) {
			rxb[qp] += drv_to_port(d, qp, round > 0);
			txb[qp] += port_to_drv(d, qp, round > 0);
		}
	for (unsigned int qp = 0; qp < NIC_QUEUES; qp++) {
		assert_int_equal(x("rx_q%u_packets", qp), 3 * NSIZES);
		assert_int_equal(x("rx_q%u_bytes", qp), rxb[qp]);
		assert_int_equal(x("tx_q%u_packets", qp), 3 * NSIZES);
		assert_int_equal(x("tx_q%u_bytes", qp), txb[qp]);
		assert_int_equal(x("rx_q%u_bad_descriptors", qp), 0);
		assert_int_equal(x("tx_q%u_bad_descriptors", qp), 0);
		assert_int_equal(x("rx_q%u_drops", qp), 0);
		assert_int_equal(x("tx_q%u_drops", qp), 0);
		/* a polling device wants no kicks on its data queues */
		assert_int_equal(d->vq[2 * qp].kicks + d->vq[2 * qp + 1].kicks,
				 0);
	}
	assert_int_equal(nic_xstat("ctrl_packets"), 2);
	assert_int_equal(nic_xstat("ctrl_bad_descriptors"), 0);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

static void
test_traffic(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(modes); i++) {
		traffic_mode(modes[i].f, MRG);
		traffic_mode(modes[i].f, 0);
	}
}

/* Many laps of the rings, bursts of odd sizes; a packed ring of 200. */
static void
wrap_mode(uint64_t ring, uint16_t qsize)
{
	uint64_t f = NIC_OFFERED | ring;
	struct nic_drv *d = drv_open();
	struct rte_mbuf *m[40];

	rte_eth_stats_reset(nic.port);
	assert_int_equal(drv_negotiate(d, f),
			 S_UP & ~VIRTIO_CONFIG_S_DRIVER_OK);
	cc_w16(d, CC(msix_config), 0);
	for (uint16_t i = 0; i < NIC_NVQS; i++)
		drv_setup_vq_at(d, i, i < 2 ? qsize : 0, 0, 0, 0);
	cc_w8(d, CC(device_status), S_UP);
	assert_int_equal(drv_status(d), S_UP);
	for (int round = 0; round < 60; round++) {
		unsigned int n = 1 + (round * 7) % 37;
		uint32_t s0 = seq;

		if (n > d->vq[1].size / 4u)
			n = RTE_MAX(d->vq[1].size / 4u, 1u);
		for (unsigned int i = 0; i < n; i++)
			drv_send(d, &d->vq[1], 60 + (i * 97 + round) % 1400,
				 seq++,
				 i % 5 == 4 && d->vq[1].size > 16 ? TX_SPLIT :
								    TX_ONE,
				 200);
		assert_int_equal(nic_rx(0, m, (uint16_t)n, 1000), n);
		for (unsigned int i = 0; i < n; i++)
			assert_true(nic_mbuf_check(m[i],
						   60 + (i * 97 + round) % 1400,
						   s0 + i));
		nic_free(m, (uint16_t)n);
		assert_int_equal(drv_tx_reclaim(&d->vq[1]), n);

		s0 = seq;
		for (unsigned int i = 0; i < n; i++) {
			drv_post_rx(&d->vq[0], 1, 2048, false);
			m[i] = nic_mbuf(60 + (i * 89 + round) % 1400, seq++, 0);
		}
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, (uint16_t)n),
				 n);
		for (unsigned int i = 0; i < n; i++) {
			assert_true(drv_recv(d, &d->vq[0], rxbuf));
			assert_int_equal(rxbuf->len,
					 60 + (i * 89 + round) % 1400);
			assert_true(pkt_check(rxbuf->data, rxbuf->len, s0 + i));
		}
	}
	/* several laps of either ring */
	assert_true(nic_xstat("rx_q0_packets") > 4 * (uint64_t)d->vq[1].size);
	assert_int_equal(nic_xstat("rx_q0_bad_descriptors"), 0);
	assert_int_equal(nic_xstat("tx_q0_bad_descriptors"), 0);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

static void
test_wrap(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(modes); i++)
		wrap_mode(modes[i].f, 0);
	wrap_mode(PACKED, 200);
	wrap_mode(PACKED | IN_ORDER, 200);
	wrap_mode(PACKED | IN_ORDER, 7);
}

/* In order, the driver's transmit buffers of a burst come back as one used
 * descriptor (entry), with the last buffer's id, at the first position. */
static void
test_in_order_batch(void **state)
{
	struct rte_mbuf *m[32];

	(void)state;
	for (int packed = 0; packed < 2; packed++) {
		struct nic_drv *d = drv_open();
		struct dvq *q = &d->vq[1];
		uint16_t ids[20], pos;

		drv_init(d, NIC_OFFERED | IN_ORDER | (packed ? PACKED : 0), 5);
		/* a first packet moves the positions off 0 */
		drv_send(d, q, 100, seq++, TX_ONE, 0);
		assert_int_equal(nic_rx(0, m, 1, 1000), 1);
		nic_free(m, 1);
		assert_int_equal(drv_tx_reclaim(q), 1);
		pos = packed ? q->next_used : q->last_used;
		for (int i = 0; i < 20; i++)
			ids[i] = drv_send(d, q, 64 + i, seq++,
					  i % 4 == 3 ? TX_SPLIT : TX_ONE, 40);
		assert_int_equal(nic_rx(0, m, 20, 1000), 20);
		nic_free(m, 20);
		if (packed) {
			uint16_t p2 = (uint16_t)(pos + q->chain_len[ids[0]]);

			/* one used descriptor, the next one still as we made it */
			assert_true(
				(q->pdesc[pos].flags & (F_AVAIL | F_USED)) ==
				(q->used_wrap ? F_AVAIL | F_USED : 0));
			assert_int_equal(q->pdesc[pos].id, ids[19]);
			assert_int_equal(q->pdesc[p2].flags &
						 (F_AVAIL | F_USED),
					 q->used_wrap ? F_AVAIL : F_USED);
		} else {
			assert_int_equal(q->used->idx, (uint16_t)(pos + 20));
			assert_int_equal(q->used->ring[pos & (q->size - 1)].id,
					 ids[19]);
			assert_int_equal(q->used->ring[(pos + 1) &
						       (q->size - 1)]
						 .id,
					 0);
		}
		assert_int_equal(dvq_pending_used(q), 20);
		assert_int_equal(drv_tx_reclaim(q), 20);
		drv_close(d);
	}
}

/* ---- dirty page logging ---- */

static bool
page_dirty(const uint64_t *bits, uint64_t iova)
{
	uint64_t p = (iova - NIC_IOVA) / 4096;

	return (bits[p / 64] >> (p % 64)) & 1;
}

/* While the client logs, what the device writes (the rings' used parts,
 * the receive buffers it fills) is marked dirty, what it only reads (the
 * transmit buffers) is not. */
static void
test_dirty_log(void **state)
{
	static uint64_t bits[(NIC_MEM_MAPPED / 4096 + 63) / 64];

	(void)state;
	for (int packed = 0; packed < 2; packed++) {
		struct nic_drv *d = drv_open();
		struct dvq *rq = &d->vq[0], *tq = &d->vq[1];
		struct rte_mbuf *m[4];
		uint16_t rx_id, tx_id;
		uint32_t s = seq++;

		drv_init(d, NIC_OFFERED | IN_ORDER | (packed ? PACKED : 0),
			 NIC_NVQS);
		assert_int_equal(rte_vfio_user_client_dirty_pages(
					 d->c, VFIO_USER_DIRTY_PAGES_F_START, 0,
					 0, 0, NULL, 0),
				 0);
		/* a first report clears what DRIVER_OK marked */
		assert_int_equal(rte_vfio_user_client_dirty_pages(
					 d->c,
					 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP,
					 NIC_IOVA, NIC_MEM_MAPPED, 4096, bits,
					 sizeof(bits)),
				 0);
		rx_id = drv_post_rx(rq, 1, 2048, false);
		m[0] = nic_mbuf(1000, s, 0);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
		tx_id = drv_send(d, tq, 1000, s, TX_ONE, 0);
		assert_int_equal(nic_rx(0, m, 1, 1000), 1);
		rte_pktmbuf_free(m[0]);
		memset(bits, 0, sizeof(bits));
		assert_int_equal(rte_vfio_user_client_dirty_pages(
					 d->c,
					 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP,
					 NIC_IOVA, NIC_MEM_MAPPED, 4096, bits,
					 sizeof(bits)),
				 0);
		/* used descriptors / entries of both queues */
		assert_true(page_dirty(bits,
				       packed ? rq->desc_iova : rq->used_iova));
		assert_true(page_dirty(bits,
				       packed ? tq->desc_iova : tq->used_iova));
		/* the receive buffer, not the transmit one */
		assert_true(page_dirty(bits, rq->bufs_iova + (uint64_t)rx_id *
								     NIC_SLOT));
		assert_false(
			page_dirty(bits,
				   tq->bufs_iova + (uint64_t)tx_id * NIC_SLOT));
		assert_true(drv_recv(d, rq, rxbuf));
		assert_int_equal(drv_tx_reclaim(tq), 1);
		assert_int_equal(rte_vfio_user_client_dirty_pages(
					 d->c, VFIO_USER_DIRTY_PAGES_F_STOP, 0,
					 0, 0, NULL, 0),
				 0);
		drv_close(d);
	}
}

/* ---- notifications ---- */

static void
test_notifications(void **state)
{
	uint64_t f = NIC_OFFERED | PACKED;
	struct nic_drv *d = drv_open();
	struct dvq *q = &d->vq[0];
	struct rte_mbuf *m[4];

	(void)state;
	drv_init(d, f, NIC_NVQS);
	/* data queues: no kicks; the control queue: kicks */
	for (uint16_t i = 0; i < NIC_CTRL_VQ; i++)
		assert_int_equal(d->vq[i].dev_ev->flags,
				 VRING_PACKED_EVENT_FLAG_DISABLE);
	assert_int_equal(d->vq[NIC_CTRL_VQ].dev_ev->flags,
			 VRING_PACKED_EVENT_FLAG_ENABLE);

	/* interrupts off: none */
	q->drv_ev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	drv_irqs_clear(d);
	for (int i = 0; i < 3; i++)
		drv_post_rx(q, 1, 2048, false);
	m[0] = nic_mbuf(100, seq++, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
	assert_true(drv_recv(d, q, rxbuf));
	assert_int_equal(drv_irqs(d, q->vector), 0);
	/* on: one per burst */
	q->drv_ev->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	m[0] = nic_mbuf(100, seq++, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
	assert_true(drv_recv(d, q, rxbuf));
	assert_int_equal(drv_irqs(d, q->vector), 1);
	drv_close(d);

	/* EVENT_IDX: an interrupt when the descriptor asked for is used */
	d = drv_open();
	q = &d->vq[0];
	drv_init(d, f, NIC_NVQS);
	for (int i = 0; i < 6; i++)
		drv_post_rx(q, 1, 2048, false);
	q->drv_ev->off_wrap = (uint16_t)(q->next_used + 3) |
			      (uint16_t)(q->used_wrap << 15);
	q->drv_ev->flags = VRING_PACKED_EVENT_FLAG_DESC;
	drv_irqs_clear(d);
	for (int round = 0; round < 3; round++) {
		m[0] = nic_mbuf(100, seq++, 0);
		m[1] = nic_mbuf(100, seq++, 0);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 2), 2);
		/* positions 0-1: no; 2-3 (3 asked): yes; 4-5: no */
		assert_int_equal(drv_irqs(d, q->vector), round == 1 ? 1 : 0);
	}
	for (int i = 0; i < 6; i++)
		assert_true(drv_recv(d, q, rxbuf));
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

/* ---- a malicious packed driver ---- */

static struct nic_drv *
mal_open(uint64_t ring)
{
	struct nic_drv *d = drv_open();

	rte_eth_stats_reset(nic.port);
	drv_init(d, NIC_OFFERED | ring, NIC_NVQS);
	return d;
}

static void
good_both_ways(struct nic_drv *d)
{
	struct rte_mbuf *m[4];
	uint32_t s = seq++;

	drv_send(d, &d->vq[1], 300, s, d->vq[1].size >= 8 ? TX_SPLIT : TX_ONE,
		 100);
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	assert_true(nic_mbuf_check(m[0], 300, s));
	rte_pktmbuf_free(m[0]);
	assert_int_equal(drv_tx_reclaim(&d->vq[1]), 1);
	drv_post_rx(&d->vq[0], 1, 2048, false);
	s = seq++;
	m[0] = nic_mbuf(400, s, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
	assert_true(drv_recv(d, &d->vq[0], rxbuf));
	assert_int_equal(rxbuf->len, 400);
	assert_true(pkt_check(rxbuf->data, 400, s));
	assert_true(drv_canary_ok(d));
}

/* Publish n descriptors (wrap bits added) on the transmitq as a buffer,
 * then a good packet: rx_burst delivers only the good one and counts one
 * bad descriptor; both buffers come back. */
static void
bad_tx(struct nic_drv *d, const struct vring_packed_desc *pd, unsigned int n)
{
	struct dvq *q = &d->vq[1];
	uint64_t bad = nic_xstat("rx_q0_bad_descriptors");
	uint64_t pkts = nic_xstat("rx_q0_packets");
	struct rte_mbuf *m[4];
	uint16_t id = dvq_alloc(q);
	uint32_t s = seq++;

	pdvq_publish(q, pd, n, id);
	drv_send(d, q, 80, s, TX_ONE, 0);
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	if (!nic_mbuf_check(m[0], 80, s))
		fail_msg("after a bad buffer (%" PRIx64
			 " +%u flags %#x): got %u "
			 "bytes, seq %u",
			 pd[0].addr, pd[0].len, pd[0].flags, m[0]->pkt_len,
			 pkt_seq(rte_pktmbuf_mtod(m[0], uint8_t *),
				 m[0]->data_len));
	rte_pktmbuf_free(m[0]);
	assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 4), 0);
	assert_int_equal(nic_xstat("rx_q0_bad_descriptors"), bad + 1);
	assert_int_equal(nic_xstat("rx_q0_packets"), pkts + 1);
	assert_int_equal(drv_tx_reclaim(q), 2);
	assert_true(drv_canary_ok(d));
}

static void
mal_tx(uint64_t ring)
{
	struct nic_drv *d = mal_open(ring);
	struct dvq *q = &d->vq[1];
	uint64_t data = q->bufs_iova + 100 * NIC_SLOT;
	struct vring_packed_desc pd[NIC_QSZ], *tbl = (void *)q->ind;
	uint64_t tbl_iova = q->ind_iova;

	good_both_ways(d);
	/* outside the map, straddling its end, wrapping */
	pd[0] = (struct vring_packed_desc){ UNMAPPED, 100, 0, 0 };
	bad_tx(d, pd, 1);
	pd[0] = (struct vring_packed_desc){ UNMAPPED - 50, 100, 0, 0 };
	bad_tx(d, pd, 1);
	pd[0] = (struct vring_packed_desc){ 0xfffffffffffff000ULL, 0x2000, 0,
					    0 };
	bad_tx(d, pd, 1);
	/* a writable descriptor in a transmit buffer */
	pd[0] = (struct vring_packed_desc){ data, 100, 0, VRING_DESC_F_WRITE };
	bad_tx(d, pd, 1);
	pd[0] = (struct vring_packed_desc){ data, NIC_HDR_LEN, 0,
					    VRING_DESC_F_NEXT };
	pd[1] = (struct vring_packed_desc){ data + 64, 100, 0,
					    VRING_DESC_F_WRITE };
	bad_tx(d, pd, 2);
	/* shorter than its header */
	pd[0] = (struct vring_packed_desc){ data, 5, 0, 0 };
	bad_tx(d, pd, 1);
	/* a chain as long as the ring, NEXT to the end: a loop */
	for (uint16_t k = 0; k < q->size - q->ring_used - 1; k++)
		pd[k] = (struct vring_packed_desc){ data, 16, 0,
						    VRING_DESC_F_NEXT };
	{
		uint16_t n = (uint16_t)(q->size - q->ring_used);

		pd[n - 1] = (struct vring_packed_desc){ data, 16, 0,
							VRING_DESC_F_NEXT };
		/* no room for the good packet after it: alone */
		pd[n - 1].flags = VRING_DESC_F_NEXT;
		pdvq_publish(q, pd, n, dvq_alloc(q));
		assert_int_equal(rte_eth_rx_burst(nic.port, 0,
						  (struct rte_mbuf *[]){ NULL },
						  1),
				 0);
		assert_int_equal(nic_xstat("rx_q0_bad_descriptors"), 7);
		assert_int_equal(drv_tx_reclaim(q), 1);
	}
	/* indirect: with NEXT, a table not a whole number of entries, outside
	 * the map, pointing outside it (in a table, flags other than WRITE are
	 * reserved and ignored: INDIRECT there means nothing) */
	tbl[0] = (struct vring_packed_desc){ data, 100, 0, 0 };
	pd[0] = (struct vring_packed_desc){
		tbl_iova, 16, 0, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT
	};
	pd[1] = (struct vring_packed_desc){ data, 100, 0, 0 };
	bad_tx(d, pd, 2);
	pd[0] = (struct vring_packed_desc){ tbl_iova, 24, 0,
					    VRING_DESC_F_INDIRECT };
	bad_tx(d, pd, 1);
	pd[0] = (struct vring_packed_desc){ UNMAPPED, 32, 0,
					    VRING_DESC_F_INDIRECT };
	bad_tx(d, pd, 1);
	tbl[0] = (struct vring_packed_desc){ UNMAPPED, 100, 0, 0 };
	pd[0] = (struct vring_packed_desc){ tbl_iova, 16, 0,
					    VRING_DESC_F_INDIRECT };
	bad_tx(d, pd, 1);
	/* a frame longer than any the device takes, in pieces */
	for (int k = 0; k < 12; k++)
		tbl[k] = (struct vring_packed_desc){ data, 1000, 0, 0 };
	pd[0] = (struct vring_packed_desc){ tbl_iova, 12 * 16, 0,
					    VRING_DESC_F_INDIRECT };
	bad_tx(d, pd, 1);
	assert_int_equal(nic_xstat("rx_q0_bad_descriptors"), 12);
	good_both_ways(d);
	drv_close(d);
}

static void
test_bad_tx(void **state)
{
	(void)state;
	mal_tx(PACKED);
	mal_tx(PACKED | IN_ORDER);
}

/* A chain whose tail the driver never made available, odd ids, and wrap
 * counter abuse: descriptors that are not available are left alone. */
static void
test_bad_flags(void **state)
{
	struct nic_drv *d = mal_open(PACKED | IN_ORDER);
	struct dvq *q = &d->vq[1];
	uint64_t data = q->bufs_iova + 100 * NIC_SLOT;
	uint8_t *dp = q->bufs + 100 * NIC_SLOT;
	struct vring_packed_desc pd[2];
	struct rte_mbuf *m[4];
	uint16_t ab = pdvq_avail_bits(q), id, pos;
	uint32_t s = seq++, len;

	(void)state;
	good_both_ways(d);
	memset(dp, 0, NIC_HDR_LEN);
	pkt_fill(dp + NIC_HDR_LEN, 200, s);
	/* not available: AVAIL and USED both set, both clear, the other
	 * lap's bits: the device must not take it */
	pos = q->next_avail;
	for (int k = 0; k < 3; k++) {
		static const uint16_t bits[3] = { F_AVAIL | F_USED, 0, 0 };
		uint16_t b = k == 2 ? (uint16_t)((F_AVAIL | F_USED) & ~ab) :
				      bits[k];

		q->pdesc[pos] = (struct vring_packed_desc){ data,
							    NIC_HDR_LEN + 200,
							    7, b };
		assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 4), 0);
	}
	/* a chain whose second descriptor is not available (yet): the
	 * device waits for it */
	pos = q->next_avail;
	pd[0] = (struct vring_packed_desc){ data, NIC_HDR_LEN, 0,
					    VRING_DESC_F_NEXT | ab };
	pd[1] = (struct vring_packed_desc){
		data + NIC_HDR_LEN, 200, 0, (uint16_t)((F_AVAIL | F_USED) & ~ab)
	};
	pdvq_publish_raw(q, pd, 2, dvq_alloc(q));
	assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 4), 0);
	assert_int_equal(q->pdesc[pos].flags, VRING_DESC_F_NEXT | ab);
	__atomic_store_n(&q->pdesc[(pos + 1) % q->size].flags, ab,
			 __ATOMIC_RELEASE);
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	assert_true(nic_mbuf_check(m[0], 200, s));
	rte_pktmbuf_free(m[0]);
	assert_int_equal(drv_tx_reclaim(q), 1);
	/* any id is the driver's: it comes back as is */
	ab = pdvq_avail_bits(q);
	pos = q->next_avail;
	pd[0] = (struct vring_packed_desc){ data, NIC_HDR_LEN + 200, 0xffff,
					    ab };
	id = dvq_alloc(q);
	pdvq_publish_raw(q, pd, 1, id);
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	assert_true(nic_mbuf_check(m[0], 200, s));
	rte_pktmbuf_free(m[0]);
	assert_int_equal(q->pdesc[pos].id, 0xffff);
	q->pdesc[pos].id = id;	/* what the bookkeeping expects */
	assert_true(dvq_get_used(q, &id, &len));
	dvq_free_chain(q, id);
	/* a descriptor the driver marks used itself: not available */
	ab = pdvq_avail_bits(q);
	q->pdesc[q->next_avail].flags = q->avail_wrap ? F_AVAIL | F_USED : 0;
	assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 4), 0);
	good_both_ways(d);
	assert_int_equal(nic_xstat("rx_q0_bad_descriptors"), 0);
	drv_close(d);
}

/* The driver's receive buffers (tx_burst): each bad one given back empty
 * (drop, bad descriptor), the packet dropped, the next one fine; nbufs 0:
 * good buffers the packet does not fit, left available. */
static void
bad_rx(struct nic_drv *d, const struct vring_packed_desc *pd, unsigned int n,
       uint32_t len, unsigned int nbufs)
{
	struct dvq *q = &d->vq[0];
	uint64_t drops = nic_xstat("tx_q0_drops");
	struct rte_mbuf *m = nic_mbuf(len, seq++, 0);
	uint16_t id;
	uint32_t ulen;

	if (n > 0)
		pdvq_publish(q, pd, n, dvq_alloc(q));
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	assert_int_equal(nic_xstat("tx_q0_drops"), drops + 1);
	assert_int_equal(dvq_pending_used(q), nbufs);
	for (unsigned int i = 0; i < nbufs; i++) {
		assert_true(dvq_get_used(q, &id, &ulen));
		assert_int_equal(ulen, 0);
		dvq_free_chain(q, id);
	}
	assert_true(drv_canary_ok(d));
}

static void
mal_rx(uint64_t ring)
{
	struct nic_drv *d = mal_open(ring);
	struct dvq *q = &d->vq[0];
	uint8_t *ro = d->mem + NIC_SCRATCH_OFF;
	uint64_t data = q->bufs_iova + 100 * NIC_SLOT;
	struct vring_packed_desc pd[NIC_QSZ], *tbl = (void *)q->ind;

	assert_int_equal(rte_vfio_user_client_dma_map(d->c, RO_IOVA, 1u << 20,
						      ro, d->memfd,
						      NIC_SCRATCH_OFF,
						      VFIO_USER_DMA_MAP_F_READ),
			 0);
	good_both_ways(d);
	pd[0] = (struct vring_packed_desc){ UNMAPPED, 2048, 0,
					    VRING_DESC_F_WRITE };
	bad_rx(d, pd, 1, 100, 1);
	pd[0] = (struct vring_packed_desc){ 0xfffffffffffff000ULL, 0x2000, 0,
					    VRING_DESC_F_WRITE };
	bad_rx(d, pd, 1, 100, 1);
	/* device-readable, or into memory the client mapped read-only */
	pd[0] = (struct vring_packed_desc){ data, 2048, 0, 0 };
	bad_rx(d, pd, 1, 100, 1);
	memset(ro, 0x5a, 4096);
	pd[0] = (struct vring_packed_desc){ RO_IOVA, 2048, 0,
					    VRING_DESC_F_WRITE };
	bad_rx(d, pd, 1, 100, 1);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(ro[i], 0x5a);
	/* bad indirect tables */
	tbl[0] = (struct vring_packed_desc){ UNMAPPED, 2048, 0,
					     VRING_DESC_F_WRITE };
	pd[0] = (struct vring_packed_desc){ q->ind_iova, 16, 0,
					    VRING_DESC_F_INDIRECT };
	bad_rx(d, pd, 1, 100, 1);
	pd[0] = (struct vring_packed_desc){ q->ind_iova, 10, 0,
					    VRING_DESC_F_INDIRECT };
	bad_rx(d, pd, 1, 100, 1);
	/* a chain NEXT to the end of the ring */
	{
		uint16_t n = (uint16_t)(q->size - q->ring_used);

		for (uint16_t k = 0; k < n; k++)
			pd[k] = (struct vring_packed_desc){
				data, 8, 0,
				VRING_DESC_F_WRITE | VRING_DESC_F_NEXT
			};
		bad_rx(d, pd, n, 5000, 1);
	}
	/* mergeable: a good buffer, then a bad one: both come back empty */
	drv_post_rx(q, 1, 2048, false);
	pd[0] = (struct vring_packed_desc){ UNMAPPED, 2048, 0,
					    VRING_DESC_F_WRITE };
	bad_rx(d, pd, 1, 3000, 2);
	assert_int_equal(nic_xstat("tx_q0_bad_descriptors"), 8);
	/* more than 64 pieces for one packet: dropped, not a bad buffer;
	 * the buffers stay available (a used buffer holds a header, VIRTIO
	 * 5.1.6.4) and the packets after it take them */
	for (int k = 0; k < 70; k++)
		drv_post_rx(q, 1, 64, false);
	bad_rx(d, pd, 0, 9000, 0);
	assert_int_equal(nic_xstat("tx_q0_bad_descriptors"), 8);
	for (unsigned int i = 0; i < 2; i++) {
		const uint16_t nb = i == 0 ? 64 : 6;
		const uint32_t len = nb * 64u - NIC_HDR_LEN;
		struct rte_mbuf *m = nic_mbuf(len, seq, 0);

		assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
		assert_true(drv_recv(d, q, rxbuf));
		assert_int_equal(rxbuf->nbufs, nb);
		assert_int_equal(rxbuf->len, len);
		assert_true(pkt_check(rxbuf->data, len, seq));
		seq++;
	}
	/* one buffer in 70 descriptors: a packet that fits in the first
	 * pieces uses it (the rest is not taken apart); one that needs more
	 * than 64 pieces of it never will: the buffer comes back empty (not
	 * a bad one) rather than hold up the packets after it */
	for (int round = 0; round < 2; round++) {
		uint16_t head = dvq_alloc(q), id;
		uint64_t base = q->bufs_iova + (uint64_t)head * NIC_SLOT;
		uint64_t drops = nic_xstat("tx_q0_drops");
		uint32_t len = round == 0 ? 100 : 4400, ulen;
		struct rte_mbuf *m = nic_mbuf(len, seq, 0);

		for (int k = 0; k < 70; k++)
			pd[k] = (struct vring_packed_desc){
				base + 64u * k, 64, 0,
				VRING_DESC_F_WRITE |
					(k < 69 ? VRING_DESC_F_NEXT : 0)
			};
		pdvq_publish(q, pd, 70, head);
		if (round == 1)
			drv_post_rx(q, 1, 2048, false);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
		assert_true(dvq_get_used(q, &id, &ulen));
		assert_int_equal(id, head);
		if (round == 0) {
			assert_int_equal(ulen, NIC_HDR_LEN + len);
			assert_true(pkt_check(q->bufs +
						      (size_t)head * NIC_SLOT +
						      NIC_HDR_LEN,
					      len, seq));
		} else {
			assert_int_equal(ulen, 0);
			assert_int_equal(nic_xstat("tx_q0_drops"), drops + 1);
		}
		dvq_free_chain(q, id);
		seq++;
	}
	{
		struct rte_mbuf *m = nic_mbuf(100, seq, 0);

		assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
		assert_true(drv_recv(d, q, rxbuf));
		assert_int_equal(rxbuf->len, 100);
		assert_true(pkt_check(rxbuf->data, 100, seq));
		seq++;
	}
	assert_int_equal(nic_xstat("tx_q0_bad_descriptors"), 8);
	good_both_ways(d);
	assert_int_equal(rte_vfio_user_client_dma_unmap(d->c, RO_IOVA,
							1u << 20),
			 0);
	drv_close(d);
}

static void
test_bad_rx(void **state)
{
	(void)state;
	mal_rx(PACKED);
	mal_rx(PACKED | IN_ORDER);
}

/* Rings the device cannot use: misaligned, outside the map, sizes. */
static void
test_bad_rings(void **state)
{
	static const struct {
		uint16_t size;
		uint64_t desc, drv, dev;
		bool ok;
	} c[] = {
		{ 0, NIC_IOVA + 8, 0, 0, false },	/* ring not 16-aligned */
		{ 0, 0, NIC_IOVA + 0x1002, 0, false },	/* driver area */
		{ 0, 0, 0, NIC_IOVA + 0x2001, false },	/* device area */
		{ 0, UNMAPPED - 1024, 0, 0, false },	/* ring past the map */
		{ 0, 0, UNMAPPED, 0, false },
		{ 0, 0, 0, UNMAPPED - 2, false },
		{ 100, 0, 0, 0, true },			/* any size will do */
		{ 1, 0, 0, 0, true },
	};

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(c); i++) {
		struct nic_drv *d = drv_open();

		assert_int_equal(drv_negotiate(d, NIC_OFFERED | PACKED),
				 S_UP & ~VIRTIO_CONFIG_S_DRIVER_OK);
		cc_w16(d, CC(msix_config), 0);
		for (uint16_t k = 0; k < NIC_NVQS; k++) {
			if (k == 1)
				drv_setup_vq_at(d, k, c[i].size, c[i].desc,
						c[i].drv, c[i].dev);
			else
				drv_setup_vq(d, k);
		}
		cc_w8(d, CC(device_status), S_UP);
		if (c[i].ok) {
			assert_int_equal(drv_status(d), S_UP);
			good_both_ways(d);
		} else {
			assert_true(drv_status(d) &
				    VIRTIO_CONFIG_S_NEEDS_RESET);
		}
		assert_true(drv_canary_ok(d));
		drv_close(d);
	}
	/* too big: refused when written */
	{
		struct nic_drv *d = drv_open();

		assert_int_equal(drv_negotiate(d, NIC_OFFERED | PACKED),
				 S_UP & ~VIRTIO_CONFIG_S_DRIVER_OK);
		cc_w16(d, CC(queue_select), 0);
		cc_w16(d, CC(queue_size), 1025);
		assert_true(drv_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET);
		drv_close(d);
	}
}

/* The control queue: bad commands, and a ring full of commands on one
 * kick (served, bounded). */
static void
test_ctrl(void **state)
{
	struct nic_drv *d = mal_open(PACKED);
	struct dvq *q = &d->vq[NIC_CTRL_VQ];
	struct vring_packed_desc pd[3];
	uint64_t iova = q->bufs_iova;
	uint8_t *slot = q->bufs;
	uint16_t id;
	uint32_t len;
	uint8_t v = 1;

	(void)state;
	/* no ack byte; data after the ack; outside the map */
	slot[0] = VIRTIO_NET_CTRL_RX;
	slot[1] = VIRTIO_NET_CTRL_RX_PROMISC;
	slot[2] = 0;
	pd[0] = (struct vring_packed_desc){ iova, 3, 0, 0 };
	pdvq_publish(q, pd, 1, dvq_alloc(q));
	pd[0] = (struct vring_packed_desc){
		iova + 4096, 1, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT
	};
	pd[1] = (struct vring_packed_desc){ iova, 3, 0, 0 };
	pdvq_publish(q, pd, 2, dvq_alloc(q));
	pd[0] = (struct vring_packed_desc){ UNMAPPED, 3, 0, VRING_DESC_F_NEXT };
	pd[1] = (struct vring_packed_desc){ iova + 4096, 1, 0,
					    VRING_DESC_F_WRITE };
	pdvq_publish(q, pd, 2, dvq_alloc(q));
	dvq_notify(d, q);
	assert_true(NIC_WAIT(dvq_pending_used(q) == 3, 2000));
	for (int i = 0; i < 3; i++) {
		assert_true(dvq_get_used(q, &id, &len));
		assert_int_equal(len, 0);
		dvq_free_chain(q, id);
	}
	assert_int_equal(nic_xstat("ctrl_bad_descriptors"), 3);
	assert_int_equal(nic_xstat("driver_promisc"), 1);
	/* a ring's worth of commands, one kick */
	for (int i = 0; i < NIC_QSZ / 2; i++) {
		uint16_t h = dvq_alloc(q);

		q->bufs[(size_t)h * NIC_SLOT] = VIRTIO_NET_CTRL_RX;
		q->bufs[(size_t)h * NIC_SLOT + 1] = VIRTIO_NET_CTRL_RX_ALLMULTI;
		q->bufs[(size_t)h * NIC_SLOT + 2] = (uint8_t)(i & 1);
		pd[0] = (struct vring_packed_desc){
			q->bufs_iova + (uint64_t)h * NIC_SLOT, 3, 0,
			VRING_DESC_F_NEXT
		};
		pd[1] = (struct vring_packed_desc){
			q->bufs_iova + (uint64_t)h * NIC_SLOT + 4096, 1, 0,
			VRING_DESC_F_WRITE
		};
		pdvq_publish(q, pd, 2, h);
	}
	dvq_notify(d, q);
	assert_true(NIC_WAIT(dvq_pending_used(q) == NIC_QSZ / 2, 2000));
	for (int i = 0; i < NIC_QSZ / 2; i++) {
		assert_true(dvq_get_used(q, &id, &len));
		assert_int_equal(len, 1);
		assert_int_equal(q->bufs[(size_t)id * NIC_SLOT + 4096],
				 VIRTIO_NET_OK);
		dvq_free_chain(q, id);
	}
	assert_int_equal(nic_xstat("driver_allmulti"), 1);
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_PROMISC, &v, 1, false),
			 VIRTIO_NET_OK);
	good_both_ways(d);
	drv_close(d);
}

/*
 * Guest memory in 4 KiB pieces that are not contiguous for the device,
 * as a guest behind a vIOMMU maps it (issue 16; see nic_frag): buffers,
 * indirect tables and control commands across the pieces, in the four
 * ring modes, with and without mergeable buffers.
 */
enum frag_what {
	FRAG_TX = 1,		/* driver -> device buffers across pages */
	FRAG_RX = 2,		/* device -> driver buffers across pages */
	FRAG_IND = 4,		/* indirect tables across pages */
	FRAG_CTRL = 8,		/* control commands across pages */
};

static void
frag_mode(uint64_t ring, uint64_t mrg, bool two_fds, unsigned int what)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	uint64_t f = (NIC_OFFERED & ~MRG) | mrg | ring;
	uint16_t pairs = NIC_QUEUES;
	struct nic_drv *d;
	uint8_t v = 0;

	nic_frag = (struct nic_frag){
		.on = true,
		.two_fds = two_fds,
		/* buffers whole in a page unless they are the point */
		.buf_off = what & (FRAG_TX | FRAG_RX | FRAG_CTRL) ?
				   NIC_FRAG_PAGE - 3 :
				   0,
		.ind_off = 480,
	};
	d = drv_open();
	rte_eth_stats_reset(nic.port);
	drv_init(d, f, NIC_NVQS);
	if (what & FRAG_CTRL) {
		struct dvq *cq = &d->vq[NIC_CTRL_VQ];

		/* commands at head 7: their data from the last byte of a
		 * page on, head 7's indirect table (3 entries at 480 +
		 * 7 * 512) across a page */
		for (int i = 0; i < 7; i++)
			dvq_alloc(cq);
		assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
					  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
					  &pairs, 2, false),
				 VIRTIO_NET_OK);
		assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MAC,
					  VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6,
					  true),
				 VIRTIO_NET_OK);
		assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_RX,
					  VIRTIO_NET_CTRL_RX_PROMISC, &v, 1,
					  true),
				 VIRTIO_NET_OK);
		assert_int_equal(nic_xstat("ctrl_packets"), 3);
		assert_int_equal(nic_xstat("ctrl_bad_descriptors"), 0);
		assert_int_equal(nic_xstat("driver_queue_pairs"), NIC_QUEUES);
		assert_int_equal(nic_xstat("driver_promisc"), 0);
	}
	if (what & FRAG_IND) {
		nic_frag_to_port(d, seq, true);
		nic_frag_to_drv(d, seq + 100, true);
		seq += 200;
	}
	if (what & FRAG_TX) {
		nic_frag_to_port(d, seq, false);
		seq += 100;
	}
	if (what & FRAG_RX) {
		nic_frag_to_drv(d, seq, false);
		seq += 100;
	}
	if (what == (FRAG_TX | FRAG_RX | FRAG_IND | FRAG_CTRL)) {
		/* and the usual traffic on both pairs over it all */
		for (unsigned int qp = 0; qp < NIC_QUEUES; qp++) {
			drv_to_port(d, qp, true);
			port_to_drv(d, qp, true);
			assert_int_equal(x("rx_q%u_bad_descriptors", qp), 0);
			assert_int_equal(x("tx_q%u_bad_descriptors", qp), 0);
			assert_int_equal(x("rx_q%u_drops", qp), 0);
			assert_int_equal(x("tx_q%u_drops", qp), 0);
		}
	}
	assert_true(drv_canary_ok(d));
	drv_close(d);
	memset(&nic_frag, 0, sizeof(nic_frag));
}

/* Each kind alone, pages at reversed offsets of one file. */
static void
frag_each(unsigned int what)
{
	for (unsigned int i = 0; i < RTE_DIM(modes); i++) {
		frag_mode(modes[i].f, MRG, false, what);
		frag_mode(modes[i].f, 0, false, what);
	}
}

static void
test_frag_tx(void **state)
{
	(void)state;
	frag_each(FRAG_TX);
}

static void
test_frag_rx(void **state)
{
	(void)state;
	frag_each(FRAG_RX);
}

static void
test_frag_indirect(void **state)
{
	(void)state;
	frag_each(FRAG_IND);
}

static void
test_frag_ctrl(void **state)
{
	(void)state;
	frag_each(FRAG_CTRL);
}

/*
 * While the client logs, the device marks the pages it writes of a
 * receive buffer that spans segments (both pieces), and not those of a
 * transmit buffer that does.
 */
static void
test_frag_dirty_log(void **state)
{
	static uint64_t bits[(NIC_MEM_MAPPED / 4096 + 63) / 64];

	(void)state;
	for (int packed = 0; packed < 2; packed++) {
		struct nic_drv *d;
		struct dvq *rq, *tq;
		struct rte_mbuf *m[1];
		uint64_t rx, tx;
		uint16_t id;
		uint32_t s = seq++;

		nic_frag = (struct nic_frag){
			.on = true,
			.buf_off = NIC_FRAG_PAGE - 3,
			.ind_off = 480,
		};
		d = drv_open();
		rq = &d->vq[0];
		tq = &d->vq[1];
		drv_init(d, NIC_OFFERED | (packed ? PACKED : 0), NIC_NVQS);
		assert_int_equal(rte_vfio_user_client_dirty_pages(
					 d->c, VFIO_USER_DIRTY_PAGES_F_START, 0,
					 0, 0, NULL, 0),
				 0);
		assert_int_equal(rte_vfio_user_client_dirty_pages(
					 d->c,
					 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP,
					 NIC_IOVA, NIC_MEM_MAPPED, 4096, bits,
					 sizeof(bits)),
				 0);
		/* lone buffers of 3012 bytes from the last 3 of a page on */
		id = drv_post_rx(rq, 1, 3100, false);
		rx = rq->bufs_iova + (uint64_t)id * NIC_SLOT;
		m[0] = nic_mbuf(3000, s, 0);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
		id = drv_send(d, tq, 3000, s, TX_ONE, 0);
		tx = tq->bufs_iova + (uint64_t)id * NIC_SLOT;
		assert_int_equal(nic_rx(0, m, 1, 1000), 1);
		assert_true(nic_mbuf_check(m[0], 3000, s));
		rte_pktmbuf_free(m[0]);
		memset(bits, 0, sizeof(bits));
		assert_int_equal(rte_vfio_user_client_dirty_pages(
					 d->c,
					 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP,
					 NIC_IOVA, NIC_MEM_MAPPED, 4096, bits,
					 sizeof(bits)),
				 0);
		assert_true(page_dirty(bits, rx));
		assert_true(page_dirty(bits, rx + NIC_HDR_LEN + 3000 - 1));
		assert_false(page_dirty(bits, tx));
		assert_false(page_dirty(bits, tx + NIC_HDR_LEN + 3000 - 1));
		assert_true(drv_recv(d, rq, rxbuf));
		assert_true(pkt_check(rxbuf->data, 3000, s));
		assert_int_equal(drv_tx_reclaim(tq), 1);
		assert_int_equal(rte_vfio_user_client_dirty_pages(
					 d->c, VFIO_USER_DIRTY_PAGES_F_STOP, 0,
					 0, 0, NULL, 0),
				 0);
		drv_close(d);
		memset(&nic_frag, 0, sizeof(nic_frag));
	}
}

/* Everything, pages alternating between two files. */
static void
test_frag_two_fds(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(modes); i++)
		frag_mode(modes[i].f, i % 2 ? 0 : MRG, true,
			  FRAG_TX | FRAG_RX | FRAG_IND | FRAG_CTRL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_traffic, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_wrap, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_in_order_batch,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_notifications,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_dirty_log, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_bad_tx, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_bad_flags, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_bad_rx, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_bad_rings, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_ctrl, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_frag_tx, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_frag_rx, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_frag_indirect,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_frag_ctrl, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_frag_dirty_log,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_frag_two_fds,
						nic_test_setup,
						nic_test_teardown),
	};
	int ret;

	rxbuf = malloc(sizeof(*rxbuf));
#ifdef NIC_RING_COPY
	/* the same tests on shadow rings (net_vfio_user's ring_copy), every
	 * ring across pages (and in pieces where nic_frag is on) */
	nic_devargs_extra = ",ring_copy=1";
	nic_rings_across = true;
#define NIC_PROG "test_nic_packed_shadow"
#else
#define NIC_PROG "test_nic_packed"
#endif
	if (rxbuf == NULL || nic_group_setup(NIC_PROG) < 0)
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, nic_group_teardown);
	free(rxbuf);
	return ret;
}
