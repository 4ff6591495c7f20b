/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Traffic between a test virtio-net driver and the net_vfio_user port:
 * a minimal driver (VERSION_1 only) and a full one (mergeable buffers,
 * event index, indirect descriptors, control queue with MQ), packets of
 * 64 to 9014 bytes both ways on both queue pairs, interrupt and kick
 * suppression, and the counters that record it all.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "nic_common.h"
#include "vu_pmd_csum.h"
#include "vun.h"	/* white box: shadow rings, offload state */

#define V1 NIC_F(VIRTIO_F_VERSION_1)

static const uint32_t sizes[] = {
	64, 65, 128, 511, 1024, 1514, 1515, 2036, 2037, 2048, 4000, 6000,
	8000, 9000, 9014,
};
#define NSIZES RTE_DIM(sizes)

static struct drx *rxbuf;

static uint64_t
x(const char *fmt, unsigned int q)
{
	char name[64];

	snprintf(name, sizeof(name), fmt, q);
	return nic_xstat(name);
}

/* Driver -> port: send sizes[] on pair qp, one kick decision per batch,
 * receive them with rx_burst and check them. Returns bytes sent. */
static uint64_t
drv_to_port(struct nic_drv *d, unsigned int qp, uint32_t seq0, bool indirect)
{
	struct dvq *q = &d->vq[2 * qp + 1];
	struct rte_mbuf *m[NSIZES];
	uint16_t old = q->avail_idx;
	uint64_t bytes = 0;

	for (unsigned int i = 0; i < NSIZES; i++) {
		enum tx_shape shape = i % 3 == 0 ? TX_ONE :
			(i % 3 == 1 || !indirect) ? TX_SPLIT : TX_INDIRECT;

		drv_send(d, q, sizes[i], seq0 + i, shape, 700 + 100 * (i % 4));
		bytes += sizes[i];
	}
	dvq_kick(d, q, old);
	assert_int_equal(nic_rx((uint16_t)qp, m, NSIZES, 2000), NSIZES);
	for (unsigned int i = 0; i < NSIZES; i++) {
		if (!nic_mbuf_check(m[i], sizes[i], seq0 + i))
			fail_msg("pair %u packet %u (%u bytes): got %u bytes, seq %u",
				 qp, i, sizes[i], m[i]->pkt_len,
				 pkt_seq(rte_pktmbuf_mtod(m[i], uint8_t *),
					 rte_pktmbuf_data_len(m[i])));
		assert_int_equal(m[i]->port, nic.port);
	}
	nic_free(m, NSIZES);
	/* the device returned every chain, with nothing written */
	assert_int_equal(dvq_pending_used(q), NSIZES);
	for (unsigned int i = 0; i < NSIZES; i++) {
		uint16_t id;
		uint32_t len;

		assert_true(dvq_get_used(q, &id, &len));
		assert_int_equal(len, 0);
		dvq_free_chain(q, id);
	}
	assert_int_equal(q->num_free, q->size);
	return bytes;
}

/* Post receive buffers on pair qp: mergeable 2 KiB ones (some through
 * indirect tables) or, without MRG_RXBUF, 10 KiB chains of 5 x 2 KiB. */
static void
post_rx(struct nic_drv *d, unsigned int qp, unsigned int n, bool indirect)
{
	struct dvq *q = &d->vq[2 * qp];
	bool mrg = d->features & NIC_F(VIRTIO_NET_F_MRG_RXBUF);
	uint16_t old = q->avail_idx;

	for (unsigned int i = 0; i < n; i++) {
		if (mrg)
			drv_post_rx(q, indirect && i % 2 ? 2 : 1,
				    indirect && i % 2 ? 1024 : 2048,
				    indirect && i % 2);
		else
			drv_post_rx(q, 5, 2048, indirect && i % 2);
	}
	dvq_kick(d, q, old);
}

/* Port -> driver: tx_burst sizes[] on pair qp and check what the driver
 * receives. Returns bytes sent. */
static uint64_t
port_to_drv(struct nic_drv *d, unsigned int qp, uint32_t seq0, bool indirect)
{
	struct dvq *q = &d->vq[2 * qp];
	bool mrg = d->features & NIC_F(VIRTIO_NET_F_MRG_RXBUF);
	struct rte_mbuf *m[NSIZES];
	uint64_t bytes = 0;
	unsigned int need = 0;

	for (unsigned int i = 0; i < NSIZES; i++)
		need += mrg ? (NIC_HDR_LEN + sizes[i] + 2047) / 2048 : 1;
	post_rx(d, qp, need, indirect);
	for (unsigned int i = 0; i < NSIZES; i++) {
		/* single segments and chains of odd-sized segments */
		m[i] = nic_mbuf(sizes[i], seq0 + i, i % 2 ? 2048 : 1000 + 37 * i);
		bytes += sizes[i];
	}
	assert_int_equal(rte_eth_tx_burst(nic.port, (uint16_t)qp, m, NSIZES),
			 NSIZES);
	for (unsigned int i = 0; i < NSIZES; i++) {
		uint16_t nb = mrg ? (NIC_HDR_LEN + sizes[i] + 2047) / 2048 : 1;

		assert_true(drv_recv(d, q, rxbuf));
		assert_int_equal(rxbuf->hdr.hdr.flags, 0);
		assert_int_equal(rxbuf->hdr.hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(rxbuf->hdr.num_buffers, nb);
		assert_int_equal(rxbuf->nbufs, nb);
		if (rxbuf->len != sizes[i] || !pkt_check(rxbuf->data, sizes[i], seq0 + i))
			fail_msg("pair %u packet %u: %u bytes, expected %u",
				 qp, i, rxbuf->len, sizes[i]);
	}
	assert_int_equal(dvq_pending_used(q), 0);
	assert_int_equal(q->num_free, q->size);
	return bytes;
}

/* ---- control queue ---- */

/* A control command and its ack (nic_common's, any ring layout). */
static uint8_t
ctrl_cmd(struct nic_drv *d, uint8_t cls, uint8_t cmd, const void *data,
	 uint32_t len, bool indirect)
{
	return drv_ctrl_cmd(d, cls, cmd, data, len, indirect);
}

static uint8_t
ctrl_u8(struct nic_drv *d, uint8_t cls, uint8_t cmd, uint8_t v, bool ind)
{
	return ctrl_cmd(d, cls, cmd, &v, 1, ind);
}

/* The control queue's doorbell is a message, not a data ioeventfd that
 * nobody reads (the device handles commands on the kick). */
static void
check_ctrl_doorbell(struct nic_drv *d)
{
	struct rte_vfio_user_client_io_fd fds[2 * NIC_NVQS];
	struct dvq *q = &d->vq[d->ctrl_index];
	uint64_t bell = d->notify + (uint64_t)q->notify_off * d->notify_mult;
	uint32_t count = 0;

	assert_int_equal(rte_vfio_user_client_region_io_fds(d->c, NIC_BAR, fds,
			 RTE_DIM(fds), &count), 0);
	assert_true(count <= RTE_DIM(fds));
	for (uint32_t i = 0; i < count; i++) {
		if (bell >= fds[i].offset && bell < fds[i].offset +
		    (fds[i].size ? fds[i].size : 1))
			fail_msg("control queue doorbell 0x%" PRIx64 " is an "
				 "ioeventfd", bell);
		close(fds[i].fd);
	}
	/* the data queues' doorbells are distinct from it */
	for (uint16_t i = 0; i < drv_num_vqs(d->features); i++)
		if (i != q->index)
			assert_int_not_equal(d->vq[i].notify_off, q->notify_off);
}

/* ---- tests ---- */

static void
test_v1_only(void **state)
{
	struct nic_drv *d = drv_open();
	struct rte_mbuf *m[4];
	uint64_t rxb, txb, rxb2, txb2;
	uint16_t old;

	(void)state;
	rte_eth_stats_reset(nic.port);
	drv_init(d, V1, 2);
	/* a polling device asks for no kicks on data queues */
	assert_true(d->vq[0].used->flags & VRING_USED_F_NO_NOTIFY);
	assert_true(d->vq[1].used->flags & VRING_USED_F_NO_NOTIFY);
	rxb = drv_to_port(d, 0, 1000, false);
	txb = port_to_drv(d, 0, 2000, false);
	rxb2 = drv_to_port(d, 0, 3000, false);
	txb2 = port_to_drv(d, 0, 4000, false);
	assert_int_equal(nic_xstat("rx_q0_packets"), 2 * NSIZES);
	assert_int_equal(nic_xstat("rx_q0_bytes"), rxb + rxb2);
	assert_int_equal(nic_xstat("tx_q0_packets"), 2 * NSIZES);
	assert_int_equal(nic_xstat("tx_q0_bytes"), txb + txb2);
	assert_int_equal(nic_xstat("rx_q0_kicks"), d->vq[1].kicks);
	assert_int_equal(nic_xstat("tx_q0_kicks"), d->vq[0].kicks);
	assert_int_equal(d->vq[0].kicks + d->vq[1].kicks, 0);
	assert_int_equal(d->notify_mult, 4);
	/* one write over both queues' notify slots (4 bytes each) notifies
	 * each of them */
	{
		const uint16_t both[4] = { 0, 0, 1, 0 };

		bar_write(d, NIC_BAR, d->notify, both, sizeof(both));
		assert_int_equal(nic_xstat("rx_q0_kicks"), 1);
		assert_int_equal(nic_xstat("tx_q0_kicks"), 1);
	}
	assert_int_equal(nic_xstat("rx_q0_bad_descriptors"), 0);
	assert_int_equal(nic_xstat("tx_q0_bad_descriptors"), 0);
	assert_int_equal(nic_xstat("rx_q0_drops"), 0);
	assert_int_equal(nic_xstat("tx_q0_drops"), 0);
	assert_int_equal(nic_xstat("driver_features"), V1);
	assert_int_equal(nic_xstat("driver_queue_pairs"), 1);

	/* without MQ the second pair does not exist: the port keeps its
	 * packets, and sees none */
	m[0] = nic_mbuf(64, 1, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 1, m, 1), 0);
	rte_pktmbuf_free(m[0]);
	assert_int_equal(rte_eth_rx_burst(nic.port, 1, m, 4), 0);

	/* a packet larger than the driver's (single) buffer is dropped and
	 * the buffer stays available (a used buffer holds a header, VIRTIO
	 * 5.1.6.4): the next packet that fits takes it */
	old = d->vq[0].avail_idx;
	drv_post_rx(&d->vq[0], 1, 1526, false);
	dvq_kick(d, &d->vq[0], old);
	m[0] = nic_mbuf(9014, 5, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
	assert_int_equal(dvq_pending_used(&d->vq[0]), 0);
	assert_int_equal(nic_xstat("tx_q0_drops"), 1);
	m[0] = nic_mbuf(1514, 6, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
	assert_true(drv_recv(d, &d->vq[0], rxbuf));
	assert_int_equal(rxbuf->len, 1514);
	assert_true(pkt_check(rxbuf->data, 1514, 6));
	/* and packets that fit still go through */
	port_to_drv(d, 0, 5000, false);

	/* no buffers at all: the port keeps the packet */
	m[0] = nic_mbuf(64, 6, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 0);
	rte_pktmbuf_free(m[0]);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

static void
test_all_features(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	static const uint8_t dev_mac[6] = NIC_MAC;
	uint8_t tables[4 + 6 + 4 + 12] = { 1, 0, 0, 0 };
	struct nic_drv *d = drv_open();
	struct virtio_net_config nc;
	uint16_t pairs = 2;
	uint64_t rxb[2] = { 0 }, txb[2] = { 0 };
	uint8_t gen;

	(void)state;
	rte_eth_stats_reset(nic.port);
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	check_ctrl_doorbell(d);
	/* the control queue: commands, some through indirect tables */
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
			 VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2, false),
			 VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_queue_pairs"), 2);
	assert_int_equal(ctrl_u8(d, VIRTIO_NET_CTRL_RX,
			 VIRTIO_NET_CTRL_RX_PROMISC, 0, true), VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_promisc"), 0);
	assert_int_equal(ctrl_u8(d, VIRTIO_NET_CTRL_RX,
			 VIRTIO_NET_CTRL_RX_ALLMULTI, 0, false), VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_allmulti"), 0);
	assert_int_equal(ctrl_u8(d, VIRTIO_NET_CTRL_RX,
			 VIRTIO_NET_CTRL_RX_ALLMULTI, 1, true), VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_allmulti"), 1);
	assert_int_equal(ctrl_u8(d, VIRTIO_NET_CTRL_RX,
			 VIRTIO_NET_CTRL_RX_PROMISC, 1, false), VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_promisc"), 1);
	gen = cc_r8(d, CC(config_generation));
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MAC,
			 VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6, true), VIRTIO_NET_OK);
	/* config space's mac shows it (VIRTIO 5.1.6.5.2), in a new
	 * generation (4.1.4.3.1); the same address again changes nothing */
	drv_read_netcfg(d, &nc);
	assert_memory_equal(nc.mac, mac, 6);
	assert_int_not_equal(cc_r8(d, CC(config_generation)), gen);
	gen = cc_r8(d, CC(config_generation));
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MAC,
				  VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6, false),
			 VIRTIO_NET_OK);
	assert_int_equal(cc_r8(d, CC(config_generation)), gen);
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MAC,
			 VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 5, false), VIRTIO_NET_ERR);
	/* MAC_TABLE_SET: one unicast, two multicast entries */
	tables[10] = 2;
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MAC,
			 VIRTIO_NET_CTRL_MAC_TABLE_SET, tables, sizeof(tables),
			 false), VIRTIO_NET_OK);
	tables[10] = 3;		/* more entries than bytes */
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MAC,
			 VIRTIO_NET_CTRL_MAC_TABLE_SET, tables, sizeof(tables),
			 true), VIRTIO_NET_ERR);
	pairs = NIC_QUEUES + 1;
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
			 VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2, false),
			 VIRTIO_NET_ERR);
	pairs = 0;
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
			 VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2, true),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl_u8(d, 0x7f, 0, 0, false), VIRTIO_NET_ERR);
	assert_int_equal(nic_xstat("driver_queue_pairs"), 2);
	assert_int_equal(nic_xstat("ctrl_packets"), 13);
	assert_int_equal(nic_xstat("ctrl_bad_descriptors"), 0);
	assert_int_equal(nic_xstat("ctrl_kicks"), d->vq[NIC_CTRL_VQ].kicks);

	/* traffic on both pairs, twice */
	for (int round = 0; round < 2; round++)
		for (unsigned int qp = 0; qp < NIC_QUEUES; qp++) {
			uint32_t seq = 10000 * (1 + qp) + 1000 * round;

			rxb[qp] += drv_to_port(d, qp, seq, true);
			txb[qp] += port_to_drv(d, qp, seq + 500, true);
		}
	for (unsigned int qp = 0; qp < NIC_QUEUES; qp++) {
		assert_int_equal(x("rx_q%u_packets", qp), 2 * NSIZES);
		assert_int_equal(x("rx_q%u_bytes", qp), rxb[qp]);
		assert_int_equal(x("tx_q%u_packets", qp), 2 * NSIZES);
		assert_int_equal(x("tx_q%u_bytes", qp), txb[qp]);
		assert_int_equal(x("rx_q%u_bad_descriptors", qp), 0);
		assert_int_equal(x("tx_q%u_bad_descriptors", qp), 0);
		assert_int_equal(x("rx_q%u_drops", qp), 0);
		assert_int_equal(x("tx_q%u_drops", qp), 0);
		/* kicks: what we rang; EVENT_IDX keeps them rare */
		assert_int_equal(x("rx_q%u_kicks", qp), d->vq[2 * qp + 1].kicks);
		assert_int_equal(x("tx_q%u_kicks", qp), d->vq[2 * qp].kicks);
		assert_true(d->vq[2 * qp + 1].kicks <= 1);
		assert_true(d->vq[2 * qp].kicks <= 1);
	}
	assert_int_equal(nic_xstat("driver_features"), NIC_OFFERED);

	/* back to one pair: the second one's tx stops */
	pairs = 1;
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
			 VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2, false),
			 VIRTIO_NET_OK);
	{
		struct rte_mbuf *m = nic_mbuf(64, 1, 0);

		post_rx(d, 1, 1, false);
		assert_int_equal(rte_eth_tx_burst(nic.port, 1, &m, 1), 0);
		rte_pktmbuf_free(m);
	}
	assert_true(drv_canary_ok(d));
	/* a reset gives config space the device's own mac back */
	cc_w8(d, CC(device_status), 0);
	assert_int_equal(cc_r8(d, CC(device_status)), 0);
	drv_read_netcfg(d, &nc);
	assert_memory_equal(nc.mac, dev_mac, 6);
	drv_close(d);
}

/*
 * VIRTIO 5.1.4.1: with VIRTIO_NET_F_MTU negotiated the device passes the
 * driver no frame longer than mtu plus its Ethernet header: 14 bytes, 18
 * with a VLAN tag, 22 with two (802.1ad then 802.1Q); a longer one is
 * dropped and counted, and the frames around it go through. Without the
 * feature, the buffers decide. Split and packed rings. At NIC_MTU the
 * frames span mbuf segments (the general paths); at 1500 each is one
 * segment into one buffer (the fast paths, which take tagged frames of
 * the MTU too).
 */
static void
tx_longer_than_mtu(uint32_t mtu)
{
	const struct {
		uint32_t len;
		uint8_t tags;
		bool too_long;
	} f[] = {
		{ mtu + 14, 0, false }, { mtu + 15, 0, true },
		{ mtu + 18, 1, false }, { mtu + 19, 1, true },
		{ mtu + 22, 2, false }, { mtu + 23, 2, true },
		{ 64, 0, false },
	};
	const uint64_t variants[3] = {
		NIC_OFFERED,
		NIC_OFFERED | NIC_F(VIRTIO_F_RING_PACKED),
		NIC_OFFERED & ~NIC_F(VIRTIO_NET_F_MTU),
	};
	static uint8_t frame[RTE_DIM(f)][NIC_MTU + 32];

	assert_true(mtu <= NIC_MTU);
	for (unsigned int i = 0; i < RTE_DIM(f); i++) {
		pkt_fill(frame[i], f[i].len, 700 + i);
		for (unsigned int t = 0; t < f[i].tags; t++) {
			/* the outer tag 802.1ad when there are two */
			frame[i][12 + 4 * t] = t + 1 < f[i].tags ? 0x88 : 0x81;
			frame[i][13 + 4 * t] = t + 1 < f[i].tags ? 0xa8 : 0x00;
		}
	}
	/* the device's configuration, read by the driver at its start */
	assert_int_equal(rte_eth_dev_set_mtu(nic.port, (uint16_t)mtu), 0);
	for (unsigned int v = 0; v < RTE_DIM(variants); v++) {
		bool limited = variants[v] & NIC_F(VIRTIO_NET_F_MTU);
		struct nic_drv *d = drv_open();
		struct rte_mbuf *m[RTE_DIM(f)];
		unsigned int dropped = 0;
		struct dvq *q;
		uint64_t drops0;
		uint16_t old;

		drv_init(d, variants[v], NIC_NVQS);
		q = &d->vq[0];
		old = q->avail_idx;
		for (unsigned int i = 0; i < 40; i++)
			drv_post_rx(q, 1, 2048, false);
		dvq_kick(d, q, old);
		drops0 = nic_xstat("tx_q0_drops");
		for (unsigned int i = 0; i < RTE_DIM(f); i++) {
			m[i] = nic_mbuf_bytes(frame[i], f[i].len, 2048);
			assert_int_equal(m[i]->nb_segs,
					 (f[i].len + 2047) / 2048);
		}
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, RTE_DIM(f)),
				 RTE_DIM(f));
		for (unsigned int i = 0; i < RTE_DIM(f); i++) {
			if (limited && f[i].too_long) {
				dropped++;
				continue;
			}
			assert_true(drv_recv(d, q, rxbuf));
			if (rxbuf->len != f[i].len ||
			    memcmp(rxbuf->data, frame[i], f[i].len) != 0)
				fail_msg("mtu %u variant %u frame %u: %u "
					 "bytes, expected %u",
					 mtu, v, i, rxbuf->len, f[i].len);
		}
		assert_false(drv_recv(d, q, rxbuf));
		assert_int_equal(nic_xstat("tx_q0_drops") - drops0, dropped);
		assert_true(drv_canary_ok(d));
		drv_close(d);
	}
	assert_int_equal(rte_eth_dev_set_mtu(nic.port, NIC_MTU), 0);
}

static void
test_tx_longer_than_mtu(void **state)
{
	(void)state;
	tx_longer_than_mtu(NIC_MTU);
	tx_longer_than_mtu(RTE_ETHER_MTU);
}

/*
 * Receive (the driver transmits): a frame longer than the port's MTU lets
 * in (mtu + Ethernet header + one VLAN tag) is dropped and counted in
 * rx_too_long and ierrors, as a NIC drops it; the frames around it come. In
 * one descriptor (the fast paths) and in pieces (the chain walkers), on
 * split and packed rings; and after a smaller MTU, which the driver
 * (without VIRTIO_NET_F_MTU) may be sent by rte_eth_dev_set_mtu().
 */
static void
test_rx_longer_than_mtu(void **state)
{
	const uint64_t variants[2] = {
		NIC_OFFERED & ~NIC_F(VIRTIO_NET_F_MTU),
		(NIC_OFFERED & ~NIC_F(VIRTIO_NET_F_MTU)) |
			NIC_F(VIRTIO_F_RING_PACKED),
	};
	const enum tx_shape shapes[2] = { TX_ONE, TX_SPLIT };

	(void)state;
	for (unsigned int v = 0; v < RTE_DIM(variants); v++) {
		for (unsigned int sh = 0; sh < RTE_DIM(shapes); sh++) {
			for (unsigned int small = 0; small < 2; small++) {
				uint32_t mtu = small ? 1500 : NIC_MTU;
				uint32_t max = mtu + RTE_ETHER_HDR_LEN +
					       RTE_VLAN_HLEN;
				const uint32_t lens[3] = { max, max + 1, 64 };
				struct nic_drv *d = drv_open();
				struct rte_eth_stats st0, st1;
				struct rte_mbuf *m[4];
				struct dvq *q;
				uint64_t long0;

				drv_init(d, variants[v], NIC_NVQS);
				q = &d->vq[1];
				assert_int_equal(
					rte_eth_dev_set_mtu(nic.port,
							    (uint16_t)mtu),
					0);
				long0 = nic_xstat("rx_too_long");
				assert_int_equal(rte_eth_stats_get(nic.port,
								   &st0),
						 0);
				for (unsigned int i = 0; i < 3; i++)
					drv_send(d, q, lens[i], 800 + i,
						 shapes[sh], 1024);
				assert_int_equal(nic_rx(0, m, 2, 1000), 2);
				assert_true(nic_mbuf_check(m[0], max, 800));
				assert_true(nic_mbuf_check(m[1], 64, 802));
				nic_free(m, 2);
				assert_int_equal(rte_eth_rx_burst(nic.port, 0,
								  m, 4),
						 0);
				assert_int_equal(nic_xstat("rx_too_long") -
							 long0,
						 1);
				assert_int_equal(rte_eth_stats_get(nic.port,
								   &st1),
						 0);
				assert_int_equal(st1.ierrors - st0.ierrors, 1);
				assert_int_equal(st1.imissed, st0.imissed);
				assert_int_equal(drv_tx_reclaim(q), 3);
				assert_int_equal(rte_eth_dev_set_mtu(nic.port,
								     NIC_MTU),
						 0);
				drv_close(d);
			}
		}
	}
}

/*
 * Receive with VIRTIO_NET_F_MTU negotiated: the driver may send the MTU
 * plus the Ethernet header (VIRTIO 5.1.4.1), its VLAN tags included, as
 * the device sends them to it: a double-tagged frame of mtu + 14 + 8 bytes
 * comes, one byte more does not, nor a single-tagged or untagged frame of
 * that length; also with a partial checksum to finish. In one descriptor
 * and in pieces, split and packed rings.
 */
static void
test_rx_qinq_mtu(void **state)
{
	const uint64_t variants[2] = {
		NIC_OFFERED | NIC_F(VIRTIO_NET_F_CSUM),
		NIC_OFFERED | NIC_F(VIRTIO_NET_F_CSUM) |
			NIC_F(VIRTIO_F_RING_PACKED),
	};
	const enum tx_shape shapes[2] = { TX_ONE, TX_SPLIT };
	const uint32_t max = NIC_MTU + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN;
	/* tags after the MACs: QinQ (0x88a8 outer, 0x8100 inner), one, none */
	/* and with a partial checksum to finish (the header's slow path) */
	const struct {
		uint32_t len;
		unsigned int tags;
		bool comes;
		bool csum;
	} f[] = {
		{ max, 2, true, false },     { max + 1, 2, false, false },
		{ max, 1, false, false },    { max, 0, false, false },
		{ 64, 2, true, false },	     { max, 2, true, true },
		{ max + 1, 2, false, true },
	};
	struct virtio_net_hdr_mrg_rxbuf csum = {
		.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		/* TCP's checksum after the tags and a 20-byte IPv4 header */
		.hdr.csum_start = RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + 20,
		.hdr.csum_offset = 16,
	};
	static uint8_t frame[NIC_SLOT];

	(void)state;
	for (unsigned int v = 0; v < RTE_DIM(variants); v++) {
		for (unsigned int sh = 0; sh < RTE_DIM(shapes); sh++) {
			struct nic_drv *d = drv_open();
			struct rte_mbuf *m[8];
			unsigned int want = 0, got;
			uint64_t long0;
			struct dvq *q;

			drv_init(d, variants[v], NIC_NVQS);
			assert_true(d->features & NIC_F(VIRTIO_NET_F_MTU));
			assert_true(d->features & NIC_F(VIRTIO_NET_F_CSUM));
			q = &d->vq[1];
			long0 = nic_xstat("rx_too_long");
			for (unsigned int i = 0; i < RTE_DIM(f); i++) {
				static const uint8_t tpid[2][2] = {
					{ 0x88, 0xa8 },
					{ 0x81, 0x00 }
				};
				uint32_t at = 2 * RTE_ETHER_ADDR_LEN;

				memset(frame, 0x40 + i, f[i].len);
				for (unsigned int t = 0; t < f[i].tags; t++) {
					const uint8_t *id =
						tpid[f[i].tags == 2 ? t : 1];

					frame[at] = id[0];
					frame[at + 1] = id[1];
					at += RTE_VLAN_HLEN;
				}
				frame[at] = 0x08;
				frame[at + 1] = 0x00;
				drv_send_bytes(d, q, frame, f[i].len,
					       shapes[sh], 1024,
					       f[i].csum ? &csum : NULL);
				want += f[i].comes;
			}
			got = nic_rx(0, m, want, 1000);
			assert_int_equal(got, want);
			for (unsigned int i = 0, k = 0; i < RTE_DIM(f); i++) {
				if (!f[i].comes)
					continue;
				if (m[k]->pkt_len != f[i].len)
					fail_msg(
						"variant %u shape %u: frame %u "
						"of %u bytes came as %u",
						v, sh, i, f[i].len,
						m[k]->pkt_len);
				k++;
			}
			nic_free(m, got);
			assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 8),
					 0);
			assert_int_equal(nic_xstat("rx_too_long") - long0,
					 RTE_DIM(f) - want);
			assert_int_equal(drv_tx_reclaim(q), RTE_DIM(f));
			drv_close(d);
		}
	}
}

/*
 * Receive with the port's mempool empty: nothing is lost, the frames wait
 * in the driver's ring, and the port counts an allocation failure
 * (rx_nombuf), not a miss (imissed) nor an error.
 */
static void
test_rx_out_of_mbufs(void **state)
{
	struct nic_drv *d = drv_open();
	struct rte_mbuf *held[4096], *m[4];
	struct rte_eth_stats st0, st1;
	unsigned int nheld = 0;
	uint64_t fail0;

	(void)state;
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	while (nheld < RTE_DIM(held) &&
	       rte_mempool_get(nic.rx_mp, (void **)&held[nheld]) == 0)
		nheld++;
	assert_int_equal(rte_mempool_avail_count(nic.rx_mp), 0);
	assert_int_equal(rte_eth_stats_get(nic.port, &st0), 0);
	fail0 = nic_xstat("rx_mbuf_allocation_failures");
	drv_send(d, &d->vq[1], 100, 900, TX_ONE, 0);
	assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 4), 0);
	assert_true(nic_xstat("rx_mbuf_allocation_failures") > fail0);
	assert_int_equal(rte_eth_stats_get(nic.port, &st1), 0);
	assert_true(st1.rx_nombuf > st0.rx_nombuf);
	assert_int_equal(st1.imissed, st0.imissed);
	assert_int_equal(st1.ierrors, st0.ierrors);
	rte_mempool_put_bulk(nic.rx_mp, (void **)held, nheld);
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	assert_true(nic_mbuf_check(m[0], 100, 900));
	rte_pktmbuf_free(m[0]);
	assert_int_equal(drv_tx_reclaim(&d->vq[1]), 1);
	drv_close(d);
}

/*
 * Without mergeable buffers, a frame larger than the driver's buffer is
 * dropped and the buffer left available (VIRTIO 5.1.6.4: a used buffer
 * holds a header; 2.8.4: a packed used descriptor without WRITE has no
 * length): the next frame lands in it. 1526 bytes is the buffer VIRTIO
 * 5.1.6.3.1 recommends for a 1514-byte frame.
 */
static void
test_rx_buffer_too_small(void **state)
{
	const uint64_t variants[2] = { V1, V1 | NIC_F(VIRTIO_F_RING_PACKED) };

	(void)state;
	for (unsigned int v = 0; v < RTE_DIM(variants); v++) {
		struct nic_drv *d = drv_open();
		struct rte_mbuf *m[2];
		struct dvq *q;
		uint64_t drops0;
		uint16_t old;

		drv_init(d, variants[v], 2);
		q = &d->vq[0];
		old = q->avail_idx;
		drv_post_rx(q, 1, 1526, false);
		dvq_kick(d, q, old);
		drops0 = nic_xstat("tx_q0_drops");
		m[0] = nic_mbuf(1600, 950, 2048);
		m[1] = nic_mbuf(1514, 951, 2048);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 2), 2);
		assert_int_equal(nic_xstat("tx_q0_drops") - drops0, 1);
		assert_true(drv_recv(d, q, rxbuf));
		assert_int_equal(rxbuf->nbufs, 1);
		assert_int_equal(rxbuf->len, 1514);
		assert_true(pkt_check(rxbuf->data, 1514, 951));
		assert_false(drv_recv(d, q, rxbuf));	/* nothing else used */
		assert_true(drv_canary_ok(d));
		drv_close(d);
	}
}

/*
 * Mergeable buffers, a ring of 8 too small as a whole for a packet: it is
 * dropped, not left for ever as "ring full" (which would hold the port's
 * queue), and the buffers take the packets after it.
 */
static void
test_rx_ring_too_small(void **state)
{
	const uint64_t rings[2] = { 0, NIC_F(VIRTIO_F_RING_PACKED) };
	const uint8_t up = VIRTIO_CONFIG_S_ACKNOWLEDGE |
			   VIRTIO_CONFIG_S_DRIVER |
			   VIRTIO_CONFIG_S_FEATURES_OK |
			   VIRTIO_CONFIG_S_DRIVER_OK;

	(void)state;
	for (unsigned int v = 0; v < RTE_DIM(rings); v++) {
		struct nic_drv *d = drv_open();
		struct rte_mbuf *m;
		struct dvq *q;
		uint64_t drops0;
		uint16_t old;

		assert_int_equal(
			drv_negotiate(d, V1 | rings[v] |
						 NIC_F(VIRTIO_NET_F_MRG_RXBUF)),
			up & ~VIRTIO_CONFIG_S_DRIVER_OK);
		cc_w16(d, CC(msix_config), 0);
		drv_setup_vq_at(d, 0, 8, 0, 0, 0);
		drv_setup_vq(d, 1);
		cc_w8(d, CC(device_status), up);
		assert_int_equal(drv_status(d), up);
		q = &d->vq[0];
		old = q->avail_idx;
		for (unsigned int i = 0; i < 8; i++)
			drv_post_rx(q, 1, 64, false);
		dvq_kick(d, q, old);
		drops0 = nic_xstat("tx_q0_drops");
		m = nic_mbuf(1000, 960, 2048);	/* 16 buffers of 64 */
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
		assert_int_equal(nic_xstat("tx_q0_drops") - drops0, 1);
		assert_int_equal(dvq_pending_used(q), 0);
		m = nic_mbuf(100, 961, 2048);	/* 2 buffers */
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
		assert_true(drv_recv(d, q, rxbuf));
		assert_int_equal(rxbuf->nbufs, 2);
		assert_int_equal(rxbuf->len, 100);
		assert_true(pkt_check(rxbuf->data, 100, 961));
		assert_true(drv_canary_ok(d));
		drv_close(d);
	}
}

/*
 * Bus Master Enable (PCI 6.2.2), cleared after the driver set it (as Linux
 * does when it lets go of the device, and before a kexec): the device
 * writes none of the driver's memory and sends no MSI-X message; set
 * again, it goes on where it was, the held interrupt delivered.
 */
static void
test_bus_master(void **state)
{
	const uint16_t master = RTE_VFIO_USER_PCI_CMD_MASTER;
	struct nic_drv *d = drv_open();
	struct rte_mbuf *m, *got;
	struct dvq *q;
	uint16_t cmd, old, used, head;
	uint8_t on = 1;

	(void)state;
	drv_init(d, NIC_OFFERED | NIC_F(VIRTIO_NET_F_STATUS), NIC_NVQS);
	cmd = cfg_r16(d, RTE_VFIO_USER_PCI_COMMAND);
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, cmd | master);
	q = &d->vq[0];
	old = q->avail_idx;
	for (unsigned int i = 0; i < 4; i++)
		drv_post_rx(q, 1, 2048, false);
	dvq_kick(d, q, old);
	m = nic_mbuf(100, 900, 2048);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	assert_true(drv_recv(d, q, rxbuf));

	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, cmd & ~master);
	drv_irqs_clear(d);
	used = dvq_pending_used(q);
	/* the port's frame stays with the port, the driver's with the
	 * driver */
	m = nic_mbuf(100, 901, 2048);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 0);
	drv_send(d, &d->vq[1], 100, 902, TX_ONE, 0);
	dvq_notify(d, &d->vq[1]);
	assert_int_equal(nic_rx(0, &got, 1, 100), 0);
	assert_int_equal(dvq_pending_used(q), used);
	/* a configuration change: its interrupt is held */
	nic_port_stop();
	nic_port_start();
	usleep(50 * 1000);
	assert_int_equal(drv_irqs(d, 0), 0);
	assert_int_equal(drv_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	/* a control command waits too */
	head = drv_ctrl_post(d, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC,
			     &on, 1, false);
	usleep(50 * 1000);
	assert_int_equal(dvq_pending_used(&d->vq[d->ctrl_index]), 0);

	/* back: the held interrupt, the command, then both frames */
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, cmd | master);
	assert_true(NIC_WAIT(drv_irqs(d, 0) >= 1, 2000));
	assert_int_equal(drv_ctrl_wait(d, head), VIRTIO_NET_OK);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	assert_true(drv_recv(d, q, rxbuf));
	assert_true(pkt_check(rxbuf->data, 100, 901));
	assert_int_equal(nic_rx(0, &got, 1, 2000), 1);
	assert_true(nic_mbuf_check(got, 100, 902));
	nic_free(&got, 1);
	assert_int_equal(drv_tx_reclaim(&d->vq[1]), 1);

	/* taken away, then a reset and a new bring-up: the queues wait
	 * for it to come back */
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, cmd & ~master);
	drv_init(d, NIC_OFFERED | NIC_F(VIRTIO_NET_F_STATUS), NIC_NVQS);
	q = &d->vq[0];
	old = q->avail_idx;
	drv_post_rx(q, 1, 2048, false);
	dvq_kick(d, q, old);
	m = nic_mbuf(100, 903, 2048);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 0);
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, cmd | master);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	assert_true(drv_recv(d, q, rxbuf));
	assert_true(pkt_check(rxbuf->data, 100, 903));
	assert_true(drv_canary_ok(d));
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, cmd);
	drv_close(d);
}

/* VERSION_1 + CTRL_VQ without MQ: the control queue is virtqueue 2. */
static void
test_ctrl_without_mq(void **state)
{
	struct nic_drv *d = drv_open();
	uint64_t f = V1 | NIC_F(VIRTIO_NET_F_CTRL_VQ) | NIC_F(VIRTIO_NET_F_CTRL_RX) |
		NIC_F(VIRTIO_NET_F_MRG_RXBUF);
	struct rte_mbuf *m;

	(void)state;
	rte_eth_stats_reset(nic.port);
	assert_int_equal(drv_num_vqs(f), 3);
	drv_init(d, f, 3);
	assert_int_equal(d->ctrl_index, 2);
	check_ctrl_doorbell(d);
	/* the queues of pair 2 do not exist without MQ */
	for (uint16_t i = 3; i < NIC_NVQS; i++) {
		cc_w16(d, CC(queue_select), i);
		assert_int_equal(cc_r16(d, CC(queue_size)), 0);
	}
	assert_int_equal(ctrl_u8(d, VIRTIO_NET_CTRL_RX,
			 VIRTIO_NET_CTRL_RX_PROMISC, 0, false), VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_promisc"), 0);
	assert_int_equal(ctrl_u8(d, VIRTIO_NET_CTRL_RX,
			 VIRTIO_NET_CTRL_RX_ALLMULTI, 0, false), VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_allmulti"), 0);
	assert_int_equal(nic_xstat("ctrl_packets"), 2);
	drv_to_port(d, 0, 100, false);
	port_to_drv(d, 0, 200, false);
	/* the port's second pair is not the control queue */
	m = nic_mbuf(64, 1, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 1, &m, 1), 0);
	rte_pktmbuf_free(m);
	assert_int_equal(nic_xstat("tx_q1_packets"), 0);
	assert_int_equal(ctrl_u8(d, VIRTIO_NET_CTRL_RX,
			 VIRTIO_NET_CTRL_RX_PROMISC, 1, false), VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_promisc"), 1);
	drv_close(d);
}

/* One tx_burst of n small packets on pair 0. */
static void
burst_to_drv(struct nic_drv *d, unsigned int n, uint32_t seq)
{
	struct rte_mbuf *m[32];

	for (unsigned int i = 0; i < n; i++)
		m[i] = nic_mbuf(100, seq + i, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, (uint16_t)n), n);
	for (unsigned int i = 0; i < n; i++) {
		assert_true(drv_recv(d, &d->vq[0], rxbuf));
		assert_true(pkt_check(rxbuf->data, 100, seq + i));
	}
}

/* n small packets from the driver, taken in rx bursts of up to 32. */
static unsigned int
burst_to_port(struct nic_drv *d, unsigned int n, uint32_t seq)
{
	struct rte_mbuf *m[32];
	unsigned int got = 0, bursts = 0;
	uint16_t old = d->vq[1].avail_idx;
	uint64_t end = nic_now_ms() + 2000;

	for (unsigned int i = 0; i < n; i++)
		drv_send(d, &d->vq[1], 100, seq + i, TX_ONE, 0);
	dvq_kick(d, &d->vq[1], old);
	while (got < n) {
		uint16_t k = nic_rx(0, m, 32, 0);

		if (k == 0) {
			assert_true(nic_now_ms() < end);
			continue;
		}
		bursts++;
		for (uint16_t i = 0; i < k; i++)
			assert_true(nic_mbuf_check(m[i], 100, seq + got + i));
		nic_free(m, k);
		got += k;
	}
	drv_tx_reclaim(&d->vq[1]);
	return bursts;
}

static void
test_interrupts(void **state)
{
	struct nic_drv *d = drv_open();
	struct dvq *rq, *tq;
	unsigned int bursts;

	(void)state;
	rte_eth_stats_reset(nic.port);
	drv_init(d, V1 | NIC_F(VIRTIO_NET_F_MRG_RXBUF), 2);
	rq = &d->vq[0];
	tq = &d->vq[1];
	post_rx(d, 0, 64, false);

	/* the driver polls: no interrupts */
	rq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	tq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	for (int i = 0; i < 4; i++)
		burst_to_drv(d, 3, 100 + 3 * i);
	burst_to_port(d, 40, 200);
	usleep(1000);
	assert_int_equal(drv_irqs(d, rq->vector), 0);
	assert_int_equal(drv_irqs(d, tq->vector), 0);
	assert_int_equal(nic_xstat("tx_q0_interrupts"), 0);
	assert_int_equal(nic_xstat("rx_q0_interrupts"), 0);

	/* interrupts on: one per burst that used buffers, on the queue's
	 * own vector */
	rq->avail->flags = 0;
	tq->avail->flags = 0;
	for (int i = 0; i < 4; i++)
		burst_to_drv(d, 3, 300 + 3 * i);
	assert_int_equal(drv_irqs(d, rq->vector), 4);
	assert_int_equal(nic_xstat("tx_q0_interrupts"), 4);
	bursts = burst_to_port(d, 40, 400);
	assert_true(bursts >= 2);
	assert_int_equal(drv_irqs(d, tq->vector), bursts);
	assert_int_equal(nic_xstat("rx_q0_interrupts"), bursts);
	/* an empty burst raises nothing */
	{
		struct rte_mbuf *m[4];

		assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 4), 0);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 0), 0);
	}
	for (uint16_t v = 0; v < NIC_NVEC; v++)
		assert_int_equal(drv_irqs(d, v), 0);

	/* moving the queue to another vector moves its interrupts */
	cc_w16(d, CC(queue_select), 0);
	cc_w16(d, CC(queue_msix_vector), 5);
	assert_int_equal(cc_r16(d, CC(queue_msix_vector)), 5);
	burst_to_drv(d, 2, 500);
	assert_int_equal(drv_irqs(d, 5), 1);
	assert_int_equal(drv_irqs(d, rq->vector), 0);
	/* and none without a vector */
	cc_w16(d, CC(queue_msix_vector), VIRTIO_MSI_NO_VECTOR);
	burst_to_drv(d, 2, 510);
	for (uint16_t v = 0; v < NIC_NVEC; v++)
		assert_int_equal(drv_irqs(d, v), 0);

	/* no kicks were needed: the device set NO_NOTIFY */
	assert_int_equal(nic_xstat("rx_q0_kicks"), 0);
	assert_int_equal(tq->kicks, 0);
	drv_close(d);
}

/* ---- interrupts as a PCI function raises them ---- */

static void
msix_ctl(struct nic_drv *d, uint16_t ctl)
{
	cfg_w16(d, d->msix_cap + RTE_VFIO_USER_PCI_MSIX_FLAGS, ctl);
}

static void
vec_ctrl(struct nic_drv *d, uint16_t v, uint32_t ctl)
{
	bar_write(d, NIC_MSIX_BAR, v * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE + 12,
		  &ctl, 4);
}

static void
irq_mask(struct nic_drv *d, uint32_t index, uint32_t v, bool mask)
{
	assert_int_equal(rte_vfio_user_client_set_irqs(d->c, index,
			 VFIO_USER_IRQ_SET_DATA_NONE |
			 (mask ? VFIO_USER_IRQ_SET_ACTION_MASK :
			  VFIO_USER_IRQ_SET_ACTION_UNMASK), v, 1, NULL), 0);
}

static uint64_t
efd_count(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

static bool
intx_status(struct nic_drv *d)
{
	return cfg_r16(d, RTE_VFIO_USER_PCI_STATUS) &
		RTE_VFIO_USER_PCI_STATUS_INTERRUPT;
}

/*
 * The device honours, together with the client's SET_IRQS masks: the
 * MSI-X enable and function-mask bits, the vector mask bits of the table
 * and the PBA, INTx when MSI-X is disabled (ISR and the status register's
 * interrupt bit), and INTx Disable.
 */
static void
test_interrupt_masks(void **state)
{
	const uint16_t en = RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE;
	const uint16_t fmask = RTE_VFIO_USER_PCI_MSIX_FLAGS_MASKALL;
	const uint16_t cmd = RTE_VFIO_USER_PCI_CMD_MEMORY |
		RTE_VFIO_USER_PCI_CMD_MASTER;
	struct nic_drv *d = drv_open();
	struct dvq *rq;
	uint16_t v;
	uint8_t isr;
	int intx;

	(void)state;
	drv_init(d, V1 | NIC_F(VIRTIO_NET_F_MRG_RXBUF), 2);
	rq = &d->vq[0];
	v = rq->vector;
	post_rx(d, 0, 128, false);
	rq->avail->flags = 0;		/* interrupts wanted */
	intx = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(intx >= 0);
	assert_int_equal(rte_vfio_user_client_set_irqs(d->c,
			 VFIO_USER_PCI_INTX_IRQ_INDEX,
			 VFIO_USER_IRQ_SET_DATA_EVENTFD |
			 VFIO_USER_IRQ_SET_ACTION_TRIGGER, 0, 1, &intx), 0);
	burst_to_drv(d, 2, 100);
	assert_int_equal(drv_irqs(d, v), 1);
	assert_int_equal(efd_count(intx), 0);	/* MSI-X on: never INTx */

	/* function mask: into the PBA, sent when it is cleared */
	msix_ctl(d, en | fmask);
	burst_to_drv(d, 2, 110);
	burst_to_drv(d, 2, 120);
	assert_int_equal(drv_irqs(d, v), 0);
	assert_int_equal(drv_pba(d), 1ULL << v);
	msix_ctl(d, en);
	assert_int_equal(drv_irqs(d, v), 1);
	assert_int_equal(drv_pba(d), 0);

	/* the driver drives the table: every vector but this one unmasked */
	for (uint16_t k = 0; k < NIC_NVEC; k++)
		vec_ctrl(d, k, k == v);
	burst_to_drv(d, 2, 130);
	assert_int_equal(drv_irqs(d, v), 0);
	assert_int_equal(drv_pba(d), 1ULL << v);
	vec_ctrl(d, v, 0);
	assert_int_equal(drv_irqs(d, v), 1);
	assert_int_equal(drv_pba(d), 0);

	/* SET_IRQS mask: latched by the library, shown in the PBA */
	irq_mask(d, VFIO_USER_PCI_MSIX_IRQ_INDEX, v, true);
	burst_to_drv(d, 2, 140);
	assert_int_equal(drv_irqs(d, v), 0);
	assert_int_equal(drv_pba(d), 1ULL << v);
	irq_mask(d, VFIO_USER_PCI_MSIX_IRQ_INDEX, v, false);
	assert_int_equal(drv_irqs(d, v), 1);
	assert_int_equal(drv_pba(d), 0);

	/* MSI-X disabled: INTx, with the ISR bit and the status bit */
	msix_ctl(d, 0);
	burst_to_drv(d, 2, 150);
	assert_int_equal(drv_irqs(d, v), 0);
	assert_int_equal(efd_count(intx), 1);
	assert_true(intx_status(d));
	bar_read(d, NIC_BAR, d->isr, &isr, 1);	/* reading lowers the line */
	assert_int_equal(isr, 1);
	assert_false(intx_status(d));
	irq_mask(d, VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);	/* EOI */

	/* INTx Disable: the line is up (status bit), nothing is sent until
	 * it is cleared */
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND,
		cmd | RTE_VFIO_USER_PCI_CMD_INTX_DISABLE);
	burst_to_drv(d, 2, 160);
	assert_int_equal(efd_count(intx), 0);
	assert_true(intx_status(d));
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, cmd);
	assert_int_equal(efd_count(intx), 1);
	bar_read(d, NIC_BAR, d->isr, &isr, 1);
	assert_int_equal(isr, 1);
	irq_mask(d, VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);
	assert_int_equal(efd_count(intx), 0);

	/* MSI-X again: no more INTx */
	msix_ctl(d, en);
	burst_to_drv(d, 2, 170);
	assert_int_equal(drv_irqs(d, v), 1);
	assert_int_equal(efd_count(intx), 0);
	assert_false(intx_status(d));

	/* a configuration change under MSI-X leaves its ISR bit, which the
	 * driver need not read: when MSI-X is disabled, INTx and the status
	 * bit show it (VIRTIO 4.1.4.5) */
	drv_irqs_clear(d);
	nic_port_stop();
	nic_port_start();
	assert_true(NIC_WAIT(drv_irqs(d, 0) >= 1, 2000));
	assert_int_equal(efd_count(intx), 0);
	assert_false(intx_status(d));
	msix_ctl(d, 0);
	assert_int_equal(efd_count(intx), 1);
	assert_true(intx_status(d));
	bar_read(d, NIC_BAR, d->isr, &isr, 1);
	assert_int_equal(isr, VIRTIO_PCI_ISR_CONFIG);
	assert_false(intx_status(d));
	irq_mask(d, VFIO_USER_PCI_INTX_IRQ_INDEX, 0, false);

	/* leave the function as the next driver expects it */
	assert_int_equal(rte_vfio_user_client_reset(d->c), 0);
	drv_close(d);
	close(intx);
}

static void
set_used_event(struct dvq *q, uint16_t v)
{
	__atomic_store_n(&q->avail->ring[q->size], v, __ATOMIC_RELEASE);
}

static void
test_event_idx(void **state)
{
	struct nic_drv *d = drv_open();
	struct dvq *rq, *tq;
	uint16_t ev;

	(void)state;
	rte_eth_stats_reset(nic.port);
	drv_init(d, V1 | NIC_F(VIRTIO_RING_F_EVENT_IDX) |
		 NIC_F(VIRTIO_NET_F_MRG_RXBUF), 2);
	rq = &d->vq[0];
	tq = &d->vq[1];
	post_rx(d, 0, 128, false);
	/* the flags are ignored with EVENT_IDX */
	rq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	tq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;

	/* used_event just behind: never crossed, no interrupt */
	set_used_event(rq, (uint16_t)(rq->last_used - 1));
	set_used_event(tq, (uint16_t)(tq->last_used - 1));
	for (int i = 0; i < 3; i++)
		burst_to_drv(d, 4, 100 + 4 * i);
	burst_to_port(d, 10, 200);
	assert_int_equal(drv_irqs(d, rq->vector), 0);
	assert_int_equal(drv_irqs(d, tq->vector), 0);

	/* used_event at the next entry: one interrupt, then none until the
	 * driver moves it again */
	set_used_event(rq, rq->last_used);
	burst_to_drv(d, 4, 300);
	assert_int_equal(drv_irqs(d, rq->vector), 1);
	burst_to_drv(d, 4, 310);
	assert_int_equal(drv_irqs(d, rq->vector), 0);
	/* crossed in the middle of a burst */
	set_used_event(rq, (uint16_t)(rq->last_used + 2));
	burst_to_drv(d, 4, 320);
	assert_int_equal(drv_irqs(d, rq->vector), 1);
	/* not reached by a burst, then reached by the next */
	set_used_event(rq, (uint16_t)(rq->last_used + 6));
	burst_to_drv(d, 4, 330);
	assert_int_equal(drv_irqs(d, rq->vector), 0);
	burst_to_drv(d, 4, 340);
	assert_int_equal(drv_irqs(d, rq->vector), 1);
	assert_int_equal(nic_xstat("tx_q0_interrupts"), 3);

	/* the same on the transmit queue */
	set_used_event(tq, tq->last_used);
	assert_int_equal(burst_to_port(d, 5, 400), 1);
	assert_int_equal(drv_irqs(d, tq->vector), 1);
	burst_to_port(d, 5, 410);
	assert_int_equal(drv_irqs(d, tq->vector), 0);
	assert_int_equal(nic_xstat("rx_q0_interrupts"), 1);

	/* the device polls its transmit queue: its avail_event asks for no
	 * kick, however many buffers the driver adds */
	ev = dvq_avail_event(tq);
	assert_false(vring_need_event(ev, (uint16_t)(tq->avail_idx + 1),
				      tq->avail_idx));
	for (int i = 0; i < 5; i++)
		burst_to_port(d, 7, 500 + 7 * i);
	assert_true(tq->kicks <= 1);	/* only before the first burst */
	assert_int_equal(nic_xstat("rx_q0_kicks"), tq->kicks);
	assert_int_equal(nic_xstat("tx_q0_kicks"), rq->kicks);
	drv_close(d);
}

/* Many small packets through small rings: indexes wrap, buffers recycle. */
static void
test_ring_wrap(void **state)
{
	struct nic_drv *d = drv_open();
	struct rte_mbuf *m[32];
	uint32_t seq = 0, rseq = 0;

	(void)state;
	drv_init(d, V1 | NIC_F(VIRTIO_NET_F_MRG_RXBUF) |
		 NIC_F(VIRTIO_RING_F_EVENT_IDX), 2);
	/* 300 rounds of 30 packets: idx wraps past 65535 in neither
	 * direction, but the rings wrap many times */
	for (int r = 0; r < 300; r++) {
		uint16_t old = d->vq[1].avail_idx, got = 0;

		for (int i = 0; i < 30; i++, seq++)
			drv_send(d, &d->vq[1], 64 + (seq % 64), seq, TX_ONE, 0);
		dvq_kick(d, &d->vq[1], old);
		while (got < 30) {
			uint16_t k = nic_rx(0, m, 32, 0);

			for (uint16_t i = 0; i < k; i++, rseq++)
				assert_true(nic_mbuf_check(m[i], 64 + (rseq % 64), rseq));
			nic_free(m, k);
			got = (uint16_t)(got + k);
		}
		assert_int_equal(drv_tx_reclaim(&d->vq[1]), 30);
	}
	assert_int_equal(d->vq[1].num_free, NIC_QSZ);
	drv_close(d);
}

#ifdef NIC_HUGE
/*
 * Guest memory in hugetlbfs pages swapped in pairs (nic_huge), rings
 * across pages (nic_rings_across), no ring_copy devarg: the rings of
 * queues 0, 2 and 4 straddle a 2 MiB boundary the device cannot map again
 * as one range, and run on shadow rings; queues 1 and 3 on views. Traffic
 * both ways on both pairs, and control commands, all the same.
 */
static void
test_huge_shadow(void **state)
{
	const struct vun_dev *vd = rte_vfio_user_get_priv(nic.dev_id);
	struct nic_drv *d = drv_open();
	uint16_t pairs = NIC_QUEUES;
	uint8_t promisc = 0;

	(void)state;
	rte_eth_stats_reset(nic.port);
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	for (unsigned int i = 0; i < NIC_NVQS; i++)
		if ((vd->vq[i].shadow != NULL) != (i % 2 == 0))
			fail_msg("virtqueue %u: %s", i,
				 i % 2 == 0 ? "no shadow rings" :
					      "shadow rings, not a view");
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
				  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2,
				  false),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl_u8(d, VIRTIO_NET_CTRL_RX,
				 VIRTIO_NET_CTRL_RX_PROMISC, promisc, false),
			 VIRTIO_NET_OK);
	assert_int_equal(nic_xstat("driver_promisc"), 0);
	for (unsigned int round = 0; round < 3; round++)
		for (unsigned int qp = 0; qp < NIC_QUEUES; qp++) {
			drv_to_port(d, qp, 1000 * round + 100 * qp, round > 0);
			port_to_drv(d, qp, 1000 * round + 100 * qp + 50,
				    round > 0);
		}
	for (unsigned int qp = 0; qp < NIC_QUEUES; qp++) {
		assert_int_equal(x("rx_q%u_bad_descriptors", qp), 0);
		assert_int_equal(x("tx_q%u_bad_descriptors", qp), 0);
		assert_int_equal(x("rx_q%u_drops", qp), 0);
		assert_int_equal(x("tx_q%u_drops", qp), 0);
	}
	assert_true(drv_canary_ok(d));
	drv_close(d);
}
#endif

/* ---- checksum offloads (VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM) ---- */

/* The frame pkt_fill() makes, its partial checksum finished as VIRTIO
 * 5.1.6.2 asks: the ones' complement of the sum from start to the end,
 * the field (its seed) included, stored at start + off (0 as 0xffff). */
static void
csum_expect(uint8_t *f, uint32_t len, uint32_t seq, uint32_t start,
	    uint32_t off)
{
	uint16_t sum;

	pkt_fill(f, len, seq);
	sum = (uint16_t)~rte_raw_cksum(f + start, len - start);
	if (sum == 0)
		sum = 0xffff;
	memcpy(f + start + off, &sum, 2);
}

/* Packet i's bytes in m, as the one expected in f. */
static void
assert_frame(const struct rte_mbuf *m, const uint8_t *f, uint32_t len,
	     unsigned int i)
{
	static uint8_t got[NIC_SLOT];

	if (m->pkt_len != len ||
	    memcmp(rte_pktmbuf_read(m, 0, len, got), f, len) != 0)
		fail_msg("packet %u: %u bytes, expected %u, or other bytes", i,
			 m->pkt_len, len);
}

/*
 * Driver -> port with VIRTIO_NET_F_CSUM: each partial checksum the driver
 * leaves is finished by the device, in every buffer layout (the header
 * with the frame, in a descriptor of its own, in an indirect table; the
 * field past the first mbuf; an odd start) and the packet flagged
 * RTE_MBUF_F_RX_L4_CKSUM_GOOD; a header whose field lies past the frame
 * is a bad buffer (dropped, counted). Without the feature negotiated the
 * flag is not looked at.
 */
static void
test_rx_partial_csum(void **state)
{
	static const struct {
		uint32_t len, seg;
		enum tx_shape shape;
		uint16_t start, off;
	} c[] = {
		{ 60, 0, TX_ONE, 34, 16 },		/* fast path */
		{ 1514, 0, TX_ONE, 34, 6 },
		{ 1515, 500, TX_SPLIT, 35, 6 },		/* chain walker */
		{ 5000, 700, TX_INDIRECT, 2500, 16 },	/* field in mbuf 2 */
		{ 8000, 0, TX_ONE, 54, 16 },		/* over 4 mbufs */
		{ 100, 0, TX_ONE, 90, 16 },		/* past the frame */
		{ 200, 0, TX_ONE, 0, 0 },		/* no flag */
	};
	const unsigned int n = RTE_DIM(c), good = n - 1, bad = n - 2;
	const uint64_t csum = NIC_F(VIRTIO_NET_F_CSUM);
	const uint64_t variants[3] = {
		NIC_OFFERED | csum,
		NIC_OFFERED | csum | NIC_F(VIRTIO_F_RING_PACKED),
		NIC_OFFERED,	/* flag ignored */
	};
	static uint8_t f[NIC_SLOT];

	(void)state;
	for (unsigned int v = 0; v < RTE_DIM(variants); v++) {
		bool on = variants[v] & csum;
		struct nic_drv *d = drv_open();
		struct rte_mbuf *m[RTE_DIM(c)];
		struct dvq *q;
		unsigned int k = 0;

		rte_eth_stats_reset(nic.port);
		drv_init(d, variants[v], NIC_NVQS);
		q = &d->vq[1];
		for (unsigned int i = 0; i < n; i++) {
			struct virtio_net_hdr_v1 h = {
				.flags = i == n - 1 ?
						 0 :
						 VIRTIO_NET_HDR_F_NEEDS_CSUM,
				.csum_start = c[i].start,
				.csum_offset = c[i].off,
			};

			drv_send_hdr(d, q, c[i].len, 600 + i, c[i].shape,
				     c[i].seg, &h);
		}
		assert_int_equal(nic_rx(0, m, on ? good : n, 2000),
				 on ? good : n);
		for (unsigned int i = 0; i < n; i++) {
			bool partial = on && i != n - 1;

			if (on && i == bad)
				continue;
			if (partial)
				csum_expect(f, c[i].len, 600 + i, c[i].start,
					    c[i].off);
			else
				pkt_fill(f, c[i].len, 600 + i);
			assert_frame(m[k], f, c[i].len, i);
			assert_int_equal(m[k]->ol_flags &
						 RTE_MBUF_F_RX_L4_CKSUM_MASK,
					 partial ? RTE_MBUF_F_RX_L4_CKSUM_GOOD :
						   0);
			k++;
		}
		nic_free(m, k);
		assert_int_equal(nic_xstat("rx_q0_bad_descriptors"),
				 on ? 1 : 0);
		assert_int_equal(drv_tx_reclaim(q), n);
		drv_close(d);
	}
	rte_eth_stats_reset(nic.port);
}

/*
 * Port -> driver: a packet asking for a TCP or UDP checksum goes out as a
 * partial one (NEEDS_CSUM, csum_start at l2_len + l3_len, the field's
 * offset in the L4 header, the frame as it was) to a driver with
 * VIRTIO_NET_F_GUEST_CSUM, finished in software for one without (the
 * header's flags 0); single mbufs and chains, split and packed rings.
 */
static void
test_tx_partial_csum(void **state)
{
	static const struct {
		uint32_t len, seg;
		uint64_t ol;
		uint16_t off;
	} c[] = {
		{ 60, 2048, RTE_MBUF_F_TX_TCP_CKSUM, 16 },
		{ 1514, 2048, RTE_MBUF_F_TX_UDP_CKSUM, 6 },
		{ 3000, 1000, RTE_MBUF_F_TX_TCP_CKSUM, 16 },
		{ 301, 97, RTE_MBUF_F_TX_UDP_CKSUM, 6 },
	};
	const uint64_t gcsum = NIC_F(VIRTIO_NET_F_GUEST_CSUM);
	const uint64_t variants[4] = {
		NIC_OFFERED | gcsum,
		NIC_OFFERED | gcsum | NIC_F(VIRTIO_F_RING_PACKED),
		NIC_OFFERED,
		NIC_OFFERED | NIC_F(VIRTIO_F_RING_PACKED),
	};
	static uint8_t f[NIC_SLOT];

	(void)state;
	for (unsigned int v = 0; v < RTE_DIM(variants); v++) {
		bool on = variants[v] & gcsum;
		struct nic_drv *d = drv_open();
		struct rte_mbuf *m[RTE_DIM(c)];
		struct dvq *q;

		drv_init(d, variants[v], NIC_NVQS);
		q = &d->vq[0];
		post_rx(d, 0, 16, false);
		for (unsigned int i = 0; i < RTE_DIM(c); i++) {
			m[i] = nic_mbuf(c[i].len, 700 + i, c[i].seg);
			m[i]->l2_len = RTE_ETHER_HDR_LEN;
			m[i]->l3_len = 20;
			m[i]->ol_flags |= RTE_MBUF_F_TX_IPV4 | c[i].ol;
		}
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, RTE_DIM(c)),
				 RTE_DIM(c));
		for (unsigned int i = 0; i < RTE_DIM(c); i++) {
			assert_true(drv_recv(d, q, rxbuf));
			if (on) {
				assert_int_equal(rxbuf->hdr.hdr.flags,
						 VIRTIO_NET_HDR_F_NEEDS_CSUM);
				assert_int_equal(rxbuf->hdr.hdr.csum_start, 34);
				assert_int_equal(rxbuf->hdr.hdr.csum_offset,
						 c[i].off);
				pkt_fill(f, c[i].len, 700 + i);
			} else {
				assert_int_equal(rxbuf->hdr.hdr.flags, 0);
				csum_expect(f, c[i].len, 700 + i, 34, c[i].off);
			}
			if (rxbuf->len != c[i].len ||
			    memcmp(rxbuf->data, f, c[i].len) != 0)
				fail_msg("variant %u packet %u: %u bytes, "
					 "expected %u, or other bytes",
					 v, i, rxbuf->len, c[i].len);
		}
		drv_close(d);
	}
}

/* One TCP checksum request, port -> driver: partial, or finished by the
 * port (the header's flags 0). */
static void
tx_one_csum(struct nic_drv *d, uint32_t seq, bool partial)
{
	static uint8_t f[NIC_SLOT];
	struct rte_mbuf *m = nic_mbuf(300, seq, 2048);

	post_rx(d, 0, 1, false);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = 20;
	m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	assert_true(drv_recv(d, &d->vq[0], rxbuf));
	assert_int_equal(rxbuf->hdr.hdr.flags,
			 partial ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0);
	if (partial)
		pkt_fill(f, 300, seq);
	else
		csum_expect(f, 300, seq, 34, 16);
	assert_int_equal(rxbuf->len, 300);
	assert_memory_equal(rxbuf->data, f, 300);
}

/* Whether every data receive queue of the device may send partial
 * checksums (white box: both pairs, the driver's traffic on pair 0). */
static void
assert_guest_csum(bool on)
{
	const struct vun_dev *vd = rte_vfio_user_get_priv(nic.dev_id);

	for (unsigned int q = 0; q < NIC_QUEUES; q++)
		assert_int_equal(vd->vq[2 * q].guest_csum, on);
}

/* VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET with len bytes of v: the ack. */
static uint8_t
offloads_set(struct nic_drv *d, uint64_t v, uint32_t len, bool indirect)
{
	return ctrl_cmd(d, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
			VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &v, len, indirect);
}

/* VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET (5.1.6.5.6), split and packed
 * control queues: the driver turns GUEST_CSUM off (the port then finishes
 * checksums) and on again; a bit not negotiated, a bad length, or the
 * command without its feature are refused. A Linux guest needs it to run
 * XDP with GUEST_CSUM offered. */
static void
test_guest_offloads(void **state)
{
	const uint64_t f = NIC_OFFERED | NIC_F(VIRTIO_NET_F_GUEST_CSUM) |
			   NIC_F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	const uint64_t off = 0, on = NIC_F(VIRTIO_NET_F_GUEST_CSUM);
	const uint64_t tso = NIC_F(VIRTIO_NET_F_GUEST_TSO4) | on;

	(void)state;
	for (unsigned int packed = 0; packed < 2; packed++) {
		uint64_t fv = f | (packed ? NIC_F(VIRTIO_F_RING_PACKED) : 0);
		struct nic_drv *d = drv_open();
		uint32_t seq = 10 * packed;

		drv_init(d, fv, NIC_NVQS);
		assert_guest_csum(true);	/* on after negotiation */
		tx_one_csum(d, seq + 1, true);
		assert_int_equal(offloads_set(d, off, 8, false), VIRTIO_NET_OK);
		assert_guest_csum(false);
		tx_one_csum(d, seq + 2, false);
		assert_int_equal(offloads_set(d, tso, 8, false),
				 VIRTIO_NET_ERR);
		assert_int_equal(offloads_set(d, on, 4, false), VIRTIO_NET_ERR);
		assert_guest_csum(false);	/* still off */
		tx_one_csum(d, seq + 3, false);
		assert_int_equal(offloads_set(d, on, 8, true), VIRTIO_NET_OK);
		assert_guest_csum(true);
		tx_one_csum(d, seq + 4, true);
		/* a reset and a new negotiation: on again */
		assert_int_equal(offloads_set(d, off, 8, false), VIRTIO_NET_OK);
		drv_close(d);
		d = drv_open();
		drv_init(d, fv, NIC_NVQS);
		assert_guest_csum(true);
		tx_one_csum(d, seq + 5, true);
		drv_close(d);
		/* without the feature the command is refused */
		d = drv_open();
		drv_init(d, fv & ~NIC_F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS),
			 NIC_NVQS);
		assert_int_equal(offloads_set(d, off, 8, false),
				 VIRTIO_NET_ERR);
		assert_guest_csum(true);
		tx_one_csum(d, seq + 6, true);
		drv_close(d);
	}
}

/* ---- segmentation to the driver (VIRTIO_NET_F_GUEST_TSO4/6, port TSO) ---- */

#define GTSO_F (NIC_F(VIRTIO_NET_F_GUEST_TSO4) | NIC_F(VIRTIO_NET_F_GUEST_TSO6))
#define TSO_MSS 1448

/* The port stopped, configured with LRO up to max_lro (0: off) and TSO
 * (tso), started. */
static void
port_offloads(uint32_t max_lro, bool tso)
{
	nic_port_stop();
	assert_int_equal(nic_port_configure_lro(NIC_MTU, max_lro, tso), 0);
	nic_port_start();
}

/* A TCP frame over IPv4 (or v6) of len bytes, number seq, into f: its
 * lengths right, its checksums 0; hl its headers' length. */
static uint32_t
tcp_frame(uint8_t *f, uint32_t len, bool v6, uint32_t seq)
{
	uint32_t l3 = RTE_ETHER_HDR_LEN, l4 = l3 + (v6 ? 40 : 20);
	struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(f + l4);

	memset(f, 0, l4 + sizeof(*t));
	memcpy(f, (const uint8_t[])NIC_MAC, 6);
	f[6] = 0x02;
	if (v6) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(f + l3);

		f[12] = 0x86;
		f[13] = 0xdd;
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)(len - l4));
		ip->proto = IPPROTO_TCP;
		ip->hop_limits = 64;
		ip->src_addr[0] = 0xfd;
		ip->dst_addr[0] = 0xfd;
		ip->dst_addr[15] = (uint8_t)seq;
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + l3);

		f[12] = 0x08;
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(len - l3));
		ip->packet_id = rte_cpu_to_be_16((uint16_t)(seq * 100));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		ip->src_addr = rte_cpu_to_be_32(0x0a000001);
		ip->dst_addr = rte_cpu_to_be_32(0x0a000002);
	}
	t->src_port = rte_cpu_to_be_16(4000);
	t->dst_port = rte_cpu_to_be_16((uint16_t)seq);
	t->sent_seq = rte_cpu_to_be_32(seq << 20);
	t->data_off = 5 << 4;
	t->tcp_flags = RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG;
	for (uint32_t i = l4 + sizeof(*t); i < len; i++)
		f[i] = (uint8_t)(i * 13 + seq);
	return l4 + sizeof(*t);
}

/* The MSS of the requests below, and the size of their mbufs. */
static uint16_t tso_mss = TSO_MSS;
static uint32_t tso_seg = 1000;

/* The segmentation request of the len-byte TCP frame seq, in mbufs of at
 * most tso_seg bytes. */
static struct rte_mbuf *
tso_mbuf(uint32_t len, bool v6, uint32_t seq)
{
	static uint8_t f[NIC_SLOT];
	struct rte_mbuf *m;

	tcp_frame(f, len, v6, seq);
	m = nic_mbuf_bytes(f, len, tso_seg);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = v6 ? 40 : 20;
	m->l4_len = sizeof(struct rte_tcp_hdr);
	m->tso_segsz = tso_mss;
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG |
		       (v6 ? RTE_MBUF_F_TX_IPV6 :
			     RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
	return m;
}

/* What the driver received (rxbuf) as the TCP frame f of len bytes: its
 * partial checksum finished if flagged (as the driver would), every
 * checksum right, the bytes as f's but for the checksums. */
static void
assert_tcp_rx(const uint8_t *f, uint32_t len, bool v6, const char *what)
{
	uint8_t *b = rxbuf->data;
	const void *ip = b + RTE_ETHER_HDR_LEN;
	uint32_t l4 = RTE_ETHER_HDR_LEN + (v6 ? 40 : 20);

	if (rxbuf->len != len)
		fail_msg("%s: %u bytes, expected %u", what, rxbuf->len, len);
	if (rxbuf->hdr.hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint16_t sum;

		assert_int_equal(rxbuf->hdr.hdr.csum_start, l4);
		assert_int_equal(rxbuf->hdr.hdr.csum_offset, 16);
		sum = (uint16_t)~rte_raw_cksum(b + l4, len - l4);
		memcpy(b + l4 + 16, &sum, 2);
	}
	if (v6) {
		assert_int_equal(rte_ipv6_udptcp_cksum_verify(ip, b + l4), 0);
	} else {
		assert_int_equal(rte_raw_cksum(b + 14, 20), 0xffff);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(ip, b + l4), 0);
		memcpy(b + 24, f + 24, 2); /* IPv4 header checksum */
	}
	memcpy(b + l4 + 16, f + l4 + 16, 2);	/* TCP checksum */
	if (memcmp(b, f, len) != 0)
		fail_msg("%s: other bytes", what);
}

/* The driver receives frame seq (len bytes) whole, as a GSO packet. */
static void
tx_gso_whole(struct nic_drv *d, uint32_t len, bool v6, uint32_t seq)
{
	static uint8_t f[NIC_SLOT];
	struct rte_mbuf *m = tso_mbuf(len, v6, seq);
	uint32_t hl = tcp_frame(f, len, v6, seq);

	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	assert_true(drv_recv(d, &d->vq[0], rxbuf));
	assert_int_equal(rxbuf->hdr.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(rxbuf->hdr.hdr.gso_type,
			 v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
			      VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(rxbuf->hdr.hdr.gso_size, tso_mss);
	assert_int_equal(rxbuf->hdr.hdr.hdr_len, hl);
	if (len + NIC_HDR_LEN > 2048)
		assert_true(rxbuf->nbufs > 1);	/* mergeable buffers */
	assert_tcp_rx(f, len, v6, "GSO packet");
}

/* The driver receives frame seq (len bytes) cut into segments of tso_mss,
 * their checksums partial (partial) or finished. */
static void
rx_gso_cut(struct nic_drv *d, uint32_t len, bool v6, uint32_t seq, bool partial)
{
	static uint8_t f[NIC_SLOT], e[NIC_SLOT];
	uint32_t hl = tcp_frame(f, len, v6, seq), n, l3 = RTE_ETHER_HDR_LEN;

	n = (len - hl + tso_mss - 1) / tso_mss;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t pl = RTE_MIN((uint32_t)tso_mss,
				      len - hl - k * tso_mss);
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)(e + hl - 20);
		char what[32];

		/* the segment expected: the headers, adjusted */
		memcpy(e, f, hl);
		memcpy(e + hl, f + hl + k * tso_mss, pl);
		if (v6) {
			((struct rte_ipv6_hdr *)(e + l3))->payload_len =
				rte_cpu_to_be_16((uint16_t)(20 + pl));
		} else {
			struct rte_ipv4_hdr *ip = (void *)(e + l3);

			ip->total_length = rte_cpu_to_be_16(
				(uint16_t)(40 + pl));
			ip->packet_id = rte_cpu_to_be_16(
				(uint16_t)(seq * 100 + k));
		}
		t->sent_seq = rte_cpu_to_be_32((seq << 20) + k * tso_mss);
		if (k + 1 < n)
			t->tcp_flags = RTE_TCP_ACK_FLAG;
		snprintf(what, sizeof(what), "segment %u/%u", k, n);
		assert_true(drv_recv(d, &d->vq[0], rxbuf));
		assert_int_equal(rxbuf->hdr.hdr.gso_type,
				 VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(rxbuf->hdr.hdr.flags,
				 partial ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0);
		assert_tcp_rx(e, hl + pl, v6, what);
	}
	assert_false(drv_recv(d, &d->vq[0], rxbuf));
}

/* The same for a request sent now. */
static void
tx_gso_cut(struct nic_drv *d, uint32_t len, bool v6, uint32_t seq, bool partial)
{
	struct rte_mbuf *m = tso_mbuf(len, v6, seq);

	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	rx_gso_cut(d, len, v6, seq, partial);
}

/*
 * Port -> driver, segmentation requests (RTE_MBUF_F_TX_TCP_SEG): the
 * device offers VIRTIO_NET_F_GUEST_TSO4/6 only while the port has TSO and
 * refuses them without VIRTIO_NET_F_GUEST_CSUM (5.1.3.1). To a driver that
 * negotiated them a request goes whole as a GSO packet (IPv4 and IPv6,
 * split and packed rings, mergeable buffers): gso_type, gso_size, hdr_len,
 * the partial checksum, the IP length set. With them turned off
 * (VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, as a Linux guest does for XDP) or
 * not negotiated, the device cuts it into segments: each its headers
 * (lengths, IPv4 identification, sequence number, PSH on the last) and
 * checksum, partial while GUEST_CSUM is on.
 */
static void
test_tx_gso(void **state)
{
	const uint64_t g = NIC_F(VIRTIO_NET_F_GUEST_CSUM) | GTSO_F |
			   NIC_F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	const uint64_t csum_on = NIC_F(VIRTIO_NET_F_GUEST_CSUM);
	struct nic_drv *d = drv_open();

	(void)state;
	assert_int_equal(drv_device_features(d) & GTSO_F, 0);
	port_offloads(0, true);
	assert_int_equal(drv_device_features(d) & GTSO_F, GTSO_F);
	assert_int_equal(drv_negotiate(d,
				       NIC_OFFERED |
					       NIC_F(VIRTIO_NET_F_GUEST_TSO4)) &
				 VIRTIO_CONFIG_S_FEATURES_OK,
			 0);
	drv_close(d);
	for (unsigned int packed = 0; packed < 2; packed++) {
		uint32_t seq = 40 + 10 * packed;

		d = drv_open();
		drv_init(d,
			 NIC_OFFERED | g |
				 (packed ? NIC_F(VIRTIO_F_RING_PACKED) : 0),
			 NIC_NVQS);
		post_rx(d, 0, 128, false);
		tx_gso_whole(d, 12000, false, seq);
		tx_gso_whole(d, 9001, true, seq + 1);
		/* GUEST_TSO4/6 off, GUEST_CSUM on */
		assert_int_equal(offloads_set(d, csum_on, 8, false),
				 VIRTIO_NET_OK);
		tx_gso_cut(d, 12000, false, seq + 2, true);
		tx_gso_cut(d, 9001, true, seq + 3, true);
		/* all off */
		assert_int_equal(offloads_set(d, 0, 8, false), VIRTIO_NET_OK);
		tx_gso_cut(d, 5000, false, seq + 4, false);
		/* on again */
		assert_int_equal(offloads_set(d, csum_on | GTSO_F, 8, false),
				 VIRTIO_NET_OK);
		tx_gso_whole(d, 12000, false, seq + 5);
		/* in one mbuf that fits a buffer: the fast paths' (whole, or
		 * handed to the general path to be cut) */
		tso_seg = 2048;
		tso_mss = 400;
		tx_gso_whole(d, 1400, false, seq + 6);
		assert_int_equal(offloads_set(d, csum_on, 8, false),
				 VIRTIO_NET_OK);
		tx_gso_cut(d, 1400, true, seq + 7, true);
		tso_seg = 1000;
		tso_mss = TSO_MSS;
		assert_int_equal(x("tx_q%u_drops", 0), 0);
		drv_close(d);
	}
	/* a driver without them; with buffers for only some segments, the
	 * request waits (the caller keeps it, nothing dropped) */
	for (unsigned int packed = 0; packed < 2; packed++) {
		uint32_t seq = 70 + 10 * packed;
		struct rte_mbuf *m;

		d = drv_open();
		drv_init(d,
			 NIC_OFFERED |
				 (packed ? NIC_F(VIRTIO_F_RING_PACKED) : 0),
			 NIC_NVQS);
		post_rx(d, 0, 9 + 3, false);	/* what these two take */
		tx_gso_cut(d, 12000, false, seq, false);
		tx_gso_cut(d, 3000, true, seq + 1, false);
		post_rx(d, 0, 3, false);
		m = tso_mbuf(12000, false, seq + 2);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 0);
		post_rx(d, 0, 16, false);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
		rx_gso_cut(d, 12000, false, seq + 2, false);
		assert_int_equal(x("tx_q%u_drops", 0), 0);
		drv_close(d);
	}
	port_offloads(0, false);
}

/* ---- segmentation offload (VIRTIO_NET_F_HOST_TSO4/6, the port's LRO) ---- */

#define TSO_F (NIC_F(VIRTIO_NET_F_HOST_TSO4) | NIC_F(VIRTIO_NET_F_HOST_TSO6))
#define NEEDS VIRTIO_NET_HDR_F_NEEDS_CSUM

/* One packet the driver sends, and what becomes of it. */
struct gso_case {
	uint32_t len, seg;
	enum tx_shape shape;
	bool v6;
	uint8_t flags, gso;
	uint16_t mss;
	int8_t start; /* csum_start less the TCP header's offset */
	enum {
		GSO_TAKEN,
		GSO_PLAIN,
		GSO_BAD,
		GSO_LONG
	} fate;
	bool not_ip; /* a test frame (pkt_fill()), not TCP/IP */
};

/*
 * Send the n cases of c on d's first transmitq (TCP frames, their TCP
 * checksum left partial) and check each: taken whole with
 * RTE_MBUF_F_RX_LRO, its MSS and header lengths, its checksum finished
 * (GSO_TAKEN); as a plain frame, the checksum finished (GSO_PLAIN); a bad
 * buffer (GSO_BAD) or too long (GSO_LONG), both dropped and counted.
 */
static void
gso_send(struct nic_drv *d, const struct gso_case *c, unsigned int n,
	 uint32_t seq)
{
	static uint8_t f[NIC_SLOT];
	struct rte_mbuf *m[16];
	unsigned int want = 0, k = 0, bad = 0, lng = 0, lro = 0, done;
	uint16_t got;
	uint64_t bad0 = nic_xstat("rx_q0_bad_descriptors");
	uint64_t long0 = nic_xstat("rx_too_long");
	uint64_t lro0 = nic_xstat("rx_lro_packets");

	assert_true(n <= RTE_DIM(m));
	for (unsigned int i = 0; i < n; i++) {
		uint32_t l4 = RTE_ETHER_HDR_LEN + (c[i].v6 ? 40 : 20);
		struct virtio_net_hdr_v1 h = {
			.flags = c[i].flags,
			.gso_type = c[i].gso,
			.hdr_len = (uint16_t)(l4 + 20),
			.gso_size = c[i].mss,
			.csum_start = (uint16_t)(l4 + c[i].start),
			.csum_offset = 16,
		};

		if (c[i].not_ip)
			pkt_fill(f, c[i].len, seq + i);
		else
			tcp_frame(f, c[i].len, c[i].v6, seq + i);
		drv_send_bytes(d, &d->vq[1], f, c[i].len, c[i].shape, c[i].seg,
			       &h);
		want += c[i].fate == GSO_TAKEN || c[i].fate == GSO_PLAIN;
		bad += c[i].fate == GSO_BAD;
		lng += c[i].fate == GSO_LONG;
		lro += c[i].fate == GSO_TAKEN;
	}
	/* bursts until the device used every buffer (bad ones give no
	 * packet) */
	got = nic_rx(0, m, (uint16_t)want, 2000);
	done = drv_tx_reclaim(&d->vq[1]);
	for (int t = 0; t < 2000 && done < n; t++) {
		got += rte_eth_rx_burst(nic.port, 0, m + got,
					(uint16_t)(RTE_DIM(m) - got));
		done += drv_tx_reclaim(&d->vq[1]);
		rte_delay_ms(1);
	}
	assert_int_equal(done, n);
	assert_int_equal(got, want);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t l4 = RTE_ETHER_HDR_LEN + (c[i].v6 ? 40 : 20);
		bool taken = c[i].fate == GSO_TAKEN;
		uint16_t sum;

		if (c[i].fate != GSO_TAKEN && c[i].fate != GSO_PLAIN)
			continue;
		/* the frame with its TCP checksum finished */
		tcp_frame(f, c[i].len, c[i].v6, seq + i);
		sum = (uint16_t)~rte_raw_cksum(f + l4, c[i].len - l4);
		if (sum == 0)
			sum = 0xffff;
		memcpy(f + l4 + 16, &sum, 2);
		assert_frame(m[k], f, c[i].len, i);
		assert_int_equal(m[k]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
				 RTE_MBUF_F_RX_L4_CKSUM_GOOD);
		assert_int_equal(!!(m[k]->ol_flags & RTE_MBUF_F_RX_LRO), taken);
		if (taken) {
			assert_int_equal(m[k]->tso_segsz, c[i].mss);
			assert_int_equal(m[k]->l2_len, RTE_ETHER_HDR_LEN);
			assert_int_equal(m[k]->l3_len, c[i].v6 ? 40 : 20);
			assert_int_equal(m[k]->l4_len, 20);
		}
		k++;
	}
	nic_free(m, (uint16_t)k);
	assert_int_equal(nic_xstat("rx_q0_bad_descriptors") - bad0, bad);
	assert_int_equal(nic_xstat("rx_too_long") - long0, lng);
	assert_int_equal(nic_xstat("rx_lro_packets") - lro0, lro);
}

/*
 * Driver -> port, GSO packets (VIRTIO 5.1.6.2): the device offers
 * VIRTIO_NET_F_HOST_TSO4/6 only while the port has LRO taking any GSO
 * packet (max_lro_pkt_size 65597), refuses them not offered or without
 * VIRTIO_NET_F_CSUM (5.1.3.1), and LRO cannot go off or shrink
 * under a driver that negotiated them (as the MTU). Negotiated, a GSO
 * packet is taken whole (chains, indirect tables, split and packed rings;
 * a short one by the fast path), flagged RTE_MBUF_F_RX_LRO with its MSS
 * and header lengths; a type not negotiated (UDP, ECN), no MSS, no partial
 * checksum or one not at the TCP header, not TCP over the IP version of
 * its type, or segments longer than the MTU is a bad buffer; a long frame
 * without GSO too long.
 * Without the features a GSO header on a frame the MTU lets in is not
 * looked at.
 */
static void
test_rx_gso(void **state)
{
	static const struct gso_case c[] = {
		{ 16000, 4000, TX_SPLIT, false, NEEDS, VIRTIO_NET_HDR_GSO_TCPV4,
		  1448, 0, GSO_TAKEN, false },
		{ 12001, 3000, TX_INDIRECT, true, NEEDS,
		  VIRTIO_NET_HDR_GSO_TCPV6, 1000, 0, GSO_TAKEN, false },
		{ 1000, 0, TX_ONE, false, NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, 1448,
		  0, GSO_TAKEN, false },
		{ 16000, 4000, TX_SPLIT, false, NEEDS, VIRTIO_NET_HDR_GSO_UDP,
		  1448, 0, GSO_BAD, false },
		{ 16000, 4000, TX_SPLIT, false, NEEDS,
		  VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448, 0,
		  GSO_BAD, false },
		{ 16000, 4000, TX_SPLIT, false, NEEDS, VIRTIO_NET_HDR_GSO_TCPV4,
		  0, 0, GSO_BAD, false },
		{ 16000, 4000, TX_SPLIT, false, 0, VIRTIO_NET_HDR_GSO_TCPV4,
		  1448, 0, GSO_BAD, false },
		{ 16000, 4000, TX_SPLIT, false, NEEDS, VIRTIO_NET_HDR_GSO_NONE,
		  0, 0, GSO_LONG, false },
		/* IPv4 said IPv6; segments of 9000 + 54 > the 9018 MTU frame;
		 * the checksum not the TCP one; not IP */
		{ 16000, 4000, TX_SPLIT, false, NEEDS, VIRTIO_NET_HDR_GSO_TCPV6,
		  1448, 0, GSO_BAD, false },
		{ 16000, 4000, TX_SPLIT, false, NEEDS, VIRTIO_NET_HDR_GSO_TCPV4,
		  9000, 0, GSO_BAD, false },
		{ 16000, 4000, TX_SPLIT, false, NEEDS, VIRTIO_NET_HDR_GSO_TCPV4,
		  1448, 2, GSO_BAD, false },
		{ 16000, 4000, TX_SPLIT, false, NEEDS, VIRTIO_NET_HDR_GSO_TCPV4,
		  1448, 0, GSO_BAD, true },
	};
	/* without the features: plain frames, or longer than any frame
	 * but a GSO packet (a bad chain, as the walker stops copying) */
	static const struct gso_case plain[] = {
		{ 16000, 4000, TX_SPLIT, false, NEEDS, VIRTIO_NET_HDR_GSO_TCPV4,
		  1448, 0, GSO_BAD, false },
		{ 1000, 0, TX_ONE, false, NEEDS, VIRTIO_NET_HDR_GSO_TCPV4, 1448,
		  0, GSO_PLAIN, false },
	};
	const uint64_t csum = NIC_F(VIRTIO_NET_F_CSUM);
	const uint64_t variants[2] = {
		NIC_OFFERED | csum | TSO_F,
		NIC_OFFERED | csum | TSO_F | NIC_F(VIRTIO_F_RING_PACKED),
	};
	struct nic_drv *d = drv_open();

	(void)state;
	/* offered with LRO only; not taken when not offered, nor without
	 * CSUM */
	assert_int_equal(drv_device_features(d) & TSO_F, 0);
	assert_int_equal(drv_negotiate(d, NIC_OFFERED | csum | TSO_F) &
				 VIRTIO_CONFIG_S_FEATURES_OK,
			 0);
	port_offloads(VU_PMD_MAX_GSO_FRAME, false);
	assert_int_equal(drv_device_features(d) & TSO_F, TSO_F);
	assert_int_equal(drv_negotiate(d, NIC_OFFERED | TSO_F) &
				 VIRTIO_CONFIG_S_FEATURES_OK,
			 0);
	drv_close(d);
	for (unsigned int v = 0; v < RTE_DIM(variants); v++) {
		d = drv_open();
		drv_init(d, variants[v], NIC_NVQS);
		gso_send(d, c, RTE_DIM(c), 900);
		drv_close(d);
	}
	d = drv_open();
	drv_init(d, NIC_OFFERED | csum, NIC_NVQS);
	gso_send(d, plain, RTE_DIM(plain), 920);
	drv_close(d);

	/* a max_lro_pkt_size below what a GSO packet may be: not offered (a
	 * driver cannot be told a limit) */
	port_offloads(5000 + RTE_ETHER_CRC_LEN, false);
	d = drv_open();
	assert_int_equal(drv_device_features(d) & TSO_F, 0);
	drv_close(d);
	/* nor made so, nor LRO taken away, under a driver that negotiated
	 * them (its GSO packets would be lost): refused, nothing changed */
	port_offloads(VU_PMD_MAX_GSO_FRAME, false);
	d = drv_open();
	drv_init(d, variants[0], NIC_NVQS);
	nic_port_stop();
	assert_int_equal(nic_port_configure_lro(NIC_MTU,
						5000 + RTE_ETHER_CRC_LEN,
						false),
			 -EBUSY);
	assert_int_equal(nic_port_configure_lro(NIC_MTU, 0, false), -EBUSY);
	assert_int_equal(drv_device_features(d) & TSO_F, TSO_F);
	assert_int_equal(nic_port_configure_lro(NIC_MTU, VU_PMD_MAX_GSO_FRAME,
						false),
			 0);
	nic_port_start();
	gso_send(d, c, RTE_DIM(c), 940);
	drv_close(d);
	/* an MTU change that alone would be taken (the driver has no
	 * VIRTIO_NET_F_MTU) with LRO taken away: refused whole, the MTU the
	 * driver reads unchanged; with LRO kept, taken */
	d = drv_open();
	drv_init(d, variants[0] & ~NIC_F(VIRTIO_NET_F_MTU), NIC_NVQS);
	nic_port_stop();
	assert_int_equal(nic_port_configure_lro(4000, 0, false), -EBUSY);
	{
		struct virtio_net_config cfg;

		drv_read_netcfg(d, &cfg);
		assert_int_equal(cfg.mtu, NIC_MTU);
		assert_int_equal(nic_port_configure_lro(4000,
							VU_PMD_MAX_GSO_FRAME,
							false),
				 0);
		drv_read_netcfg(d, &cfg);
		assert_int_equal(cfg.mtu, 4000);
	}
	assert_int_equal(nic_port_configure_lro(NIC_MTU, VU_PMD_MAX_GSO_FRAME,
						false),
			 0);
	nic_port_start();
	drv_close(d);
	port_offloads(0, false);
}

/* The frames of test_rx_partial_kept: IP headers of each kind. */
enum kframe {
	K4,		/* IPv4 */
	K6,		/* IPv6 */
	K4_VLAN,	/* IPv4 behind a VLAN tag */
	K6_DST,		/* IPv6 with an 8-byte destination options header */
	K6_DST_BIG,	/* ...of 528 bytes: l3_len 568, past the mbuf's 9 bits */
	K6_RH,		/* IPv6 with a routing header */
	K4_FRAG,	/* a first IPv4 fragment (more fragments) */
	K4_BAD_IHL,	/* IPv4 with a header length of 4 bytes */
	K4_V5,		/* type IPv4, version 5, 20 bytes */
	K4_V6,		/* type IPv4, an IPv6 header */
	K_NOT_IP,	/* type 0x8800 */
};

/* Frame seq of len bytes at f: Ethernet, the IP headers k says, TCP (or
 * UDP: udp) with its checksum 0, a pattern. Returns where L4 is and sets
 * *l2 and *l3 (the lengths DPDK's mbuf has for it). */
static uint32_t
kept_frame(uint8_t *f, uint32_t len, enum kframe k, bool udp, uint32_t seq,
	   uint32_t *l2, uint32_t *l3)
{
	bool v6 = k == K6 || k == K6_DST || k == K6_DST_BIG || k == K6_RH ||
		  k == K4_V6;
	uint32_t ext = k == K6_DST || k == K6_RH ? 8 :
		       k == K6_DST_BIG		 ? 528 :
						   0;
	uint8_t proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
	uint8_t *ip, *l4p;

	memset(f, 0, len);
	memcpy(f, (const uint8_t[])NIC_MAC, 6);
	f[6] = 0x02;
	*l2 = RTE_ETHER_HDR_LEN;
	if (k == K4_VLAN) {
		f[12] = 0x81;
		f[15] = 7;
		*l2 += RTE_VLAN_HLEN;
	}
	f[*l2 - 2] = k == K_NOT_IP ? 0x88 : v6 && k != K4_V6 ? 0x86 : 0x08;
	f[*l2 - 1] = v6 && k != K4_V6 ? 0xdd : 0x00;
	ip = f + *l2;
	if (v6) {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;

		*l3 = 40 + ext;
		h->vtc_flow = rte_cpu_to_be_32(6u << 28);
		h->payload_len = rte_cpu_to_be_16((uint16_t)(len - *l2 - 40));
		h->proto = ext == 0   ? proto :
			   k == K6_RH ? IPPROTO_ROUTING :
					IPPROTO_DSTOPTS;
		h->hop_limits = 64;
		h->src_addr[0] = 0xfd;
		h->dst_addr[0] = 0xfd;
		h->dst_addr[15] = (uint8_t)seq;
		if (ext != 0) {
			ip[40] = proto;			/* next header */
			ip[41] = (uint8_t)(ext / 8 - 1);	/* length */
		}
	} else {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;

		*l3 = 20;
		h->version_ihl = k == K4_BAD_IHL ? 0x41 :
				 k == K4_V5	 ? 0x55 :
						   RTE_IPV4_VHL_DEF;
		h->total_length = rte_cpu_to_be_16((uint16_t)(len - *l2));
		if (k == K4_FRAG)
			h->fragment_offset = rte_cpu_to_be_16(
				RTE_IPV4_HDR_MF_FLAG);
		h->time_to_live = 64;
		h->next_proto_id = proto;
		h->src_addr = rte_cpu_to_be_32(0x0a000001);
		h->dst_addr = rte_cpu_to_be_32(0x0a000002);
	}
	l4p = ip + *l3;
	if (udp) {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)l4p;

		u->src_port = rte_cpu_to_be_16(4000);
		u->dst_port = rte_cpu_to_be_16((uint16_t)seq);
		u->dgram_len = rte_cpu_to_be_16((uint16_t)(f + len - l4p));
	} else {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)l4p;

		t->src_port = rte_cpu_to_be_16(4000);
		t->dst_port = rte_cpu_to_be_16((uint16_t)seq);
		t->data_off = 5 << 4;
		t->tcp_flags = RTE_TCP_ACK_FLAG;
	}
	for (uint8_t *p = l4p + (udp ? 8 : 20); p < f + len; p++)
		*p = (uint8_t)((p - f) * 13 + seq);
	return (uint32_t)(l4p - f);
}

/*
 * Driver -> port, partial checksums kept (devarg rx_partial=1, the port
 * with the receive checksum offloads): a TCP or UDP checksum over IPv4
 * or IPv6 (behind a VLAN tag, past IPv6 extension headers) arrives as the
 * driver sent it, flagged RTE_MBUF_F_RX_L4_CKSUM_NONE with its header
 * lengths; any other partial checksum is finished as without the devarg:
 * not at the L4 header's field, at another start, not IP, IPv4 with a bad
 * header length or an IPv6 header, a fragment, IPv6 extension headers
 * longer than the mbuf's l3_len holds, a routing header; a GSO packet is
 * flagged RTE_MBUF_F_RX_LRO and _NONE, not summed. Without the port's
 * receive checksum offloads every one is finished (test_rx_partial_csum,
 * test_rx_gso).
 */
static void
test_rx_partial_kept(void **state)
{
	enum {
		KEPT,
		DONE
	};
	static const struct {
		uint32_t len;
		enum kframe k;
		bool udp;
		int16_t start, off;	/* from the L4 header */
		int fate;
		enum tx_shape shape;
	} c[] = {
		{ 200, K4, false, 0, 16, KEPT, TX_ONE },
		{ 1514, K6, false, 0, 16, KEPT, TX_SPLIT },
		{ 300, K4, true, 0, 6, KEPT, TX_INDIRECT },
		{ 301, K6, true, 0, 6, KEPT, TX_ONE },
		{ 400, K4_VLAN, false, 0, 16, KEPT, TX_ONE },
		{ 400, K6_DST, true, 0, 6, KEPT, TX_SPLIT },
		{ 200, K4, false, 0, 6, DONE, TX_ONE },		/* not TCP's */
		{ 200, K4, true, 0, 16, DONE, TX_ONE },		/* not UDP's */
		{ 200, K4, false, 4, 12, DONE, TX_ONE },	/* start */
		{ 200, K_NOT_IP, false, 0, 16, DONE, TX_ONE },
		{ 200, K4_BAD_IHL, false, 0, 16, DONE, TX_ONE },
		{ 200, K4_V6, false, 0, 16, DONE, TX_ONE },
		{ 200, K4_V5, false, 0, 16, DONE, TX_ONE },
		{ 200, K4_FRAG, false, 0, 16, DONE, TX_ONE },
		{ 900, K6_DST_BIG, true, 0, 6, DONE, TX_SPLIT },
		{ 300, K6_RH, true, 0, 6, DONE, TX_ONE },
	};
	const unsigned int n = RTE_DIM(c);
	uint64_t bad0 = nic_xstat("rx_q0_bad_descriptors");
	uint64_t kept_all = nic_xstat("rx_csum_kept");
	struct rte_mbuf *m[RTE_DIM(c)];
	static uint8_t f[NIC_SLOT];
	struct nic_drv *d;

	(void)state;
	for (unsigned int round = 0; round < 2; round++) {
		bool on = round == 0;
		uint64_t kept0 = nic_xstat("rx_csum_kept");
		unsigned int want = 0;

		nic_port_stop();
		assert_int_equal(nic_port_configure_ol(NIC_MTU, 0, false, on),
				 0);
		nic_port_start();
		d = drv_open();
		drv_init(d, NIC_OFFERED | NIC_F(VIRTIO_NET_F_CSUM), NIC_NVQS);
		for (unsigned int i = 0; i < n; i++) {
			uint32_t l2, l3;
			uint32_t l4 = kept_frame(f, c[i].len, c[i].k, c[i].udp,
						 700 + i, &l2, &l3);
			struct virtio_net_hdr_v1 h = {
				.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				.csum_start = (uint16_t)(l4 + c[i].start),
				.csum_offset = (uint16_t)c[i].off,
			};

			drv_send_bytes(d, &d->vq[1], f, c[i].len, c[i].shape,
				       250, &h);
			want += on && c[i].fate == KEPT;
		}
		assert_int_equal(nic_rx(0, m, n, 2000), n);
		for (unsigned int i = 0; i < n; i++) {
			uint32_t l2, l3;
			uint32_t l4 = kept_frame(f, c[i].len, c[i].k, c[i].udp,
						 700 + i, &l2, &l3);
			uint32_t start = l4 + c[i].start;
			bool kept = on && c[i].fate == KEPT;
			uint16_t sum;

			if (!kept) {
				sum = (uint16_t)~rte_raw_cksum(f + start,
							       c[i].len -
								       start);
				if (sum == 0)
					sum = 0xffff;
				memcpy(f + start + c[i].off, &sum, 2);
			}
			assert_frame(m[i], f, c[i].len, i);
			if ((m[i]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) !=
			    (kept ? RTE_MBUF_F_RX_L4_CKSUM_NONE :
				    RTE_MBUF_F_RX_L4_CKSUM_GOOD))
				fail_msg("packet %u: flags 0x%" PRIx64
					 ", expected %s",
					 i, m[i]->ol_flags,
					 kept ? "NONE" : "GOOD");
			if (kept) {
				assert_int_equal(m[i]->l2_len, l2);
				assert_int_equal(m[i]->l3_len, l3);
				assert_int_equal(m[i]->l4_len,
						 c[i].udp ? 8 : 20);
			}
		}
		nic_free(m, (uint16_t)n);
		assert_int_equal(drv_tx_reclaim(&d->vq[1]), n);
		assert_int_equal(nic_xstat("rx_q0_bad_descriptors"), bad0);
		assert_int_equal(nic_xstat("rx_csum_kept") - kept0, want);
		drv_close(d);
	}

	/* GSO packets kept: RX_LRO and RX_L4_CKSUM_NONE, the bytes as sent */
	nic_port_stop();
	assert_int_equal(nic_port_configure_ol(NIC_MTU, VU_PMD_MAX_GSO_FRAME,
					       false, true),
			 0);
	nic_port_start();
	d = drv_open();
	drv_init(d, NIC_OFFERED | NIC_F(VIRTIO_NET_F_CSUM) | TSO_F, NIC_NVQS);
	for (unsigned int i = 0; i < 2; i++) {
		bool v6 = i == 1;
		uint32_t len = 16000 + i,
			 l4 = RTE_ETHER_HDR_LEN + (v6 ? 40 : 20);
		struct virtio_net_hdr_v1 h = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 :
					 VIRTIO_NET_HDR_GSO_TCPV4,
			.hdr_len = (uint16_t)(l4 + 20),
			.gso_size = 1400,
			.csum_start = (uint16_t)l4,
			.csum_offset = 16,
		};

		tcp_frame(f, len, v6, 760 + i);
		drv_send_bytes(d, &d->vq[1], f, len, TX_SPLIT, 4000, &h);
		assert_int_equal(nic_rx(0, m, 1, 2000), 1);
		assert_frame(m[0], f, len, i);
		assert_int_equal(m[0]->ol_flags & (RTE_MBUF_F_RX_L4_CKSUM_MASK |
						   RTE_MBUF_F_RX_LRO),
				 RTE_MBUF_F_RX_L4_CKSUM_NONE |
					 RTE_MBUF_F_RX_LRO);
		assert_int_equal(m[0]->tso_segsz, 1400);
		assert_int_equal(m[0]->l3_len, v6 ? 40 : 20);
		assert_int_equal(m[0]->l4_len, 20);
		nic_free(m, 1);
	}
	assert_int_equal(drv_tx_reclaim(&d->vq[1]), 2);
	drv_close(d);
	port_offloads(0, false);
	/* 6 plain and 2 GSO packets kept, counted */
	assert_int_equal(nic_xstat("rx_csum_kept") - kept_all, 8);
}

#define T(f) cmocka_unit_test_setup_teardown(f, nic_test_setup, nic_test_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef NIC_HUGE
		T(test_huge_shadow),
#endif
		T(test_v1_only),
		T(test_all_features),
		T(test_tx_longer_than_mtu),
		T(test_rx_longer_than_mtu),
		T(test_rx_qinq_mtu),
		T(test_rx_out_of_mbufs),
		T(test_rx_buffer_too_small),
		T(test_rx_ring_too_small),
		T(test_bus_master),
		T(test_ctrl_without_mq),
		T(test_interrupts),
		T(test_interrupt_masks),
		T(test_event_idx),
		T(test_ring_wrap),
		T(test_rx_partial_csum),
		T(test_tx_partial_csum),
		T(test_guest_offloads),
		T(test_rx_gso),
		T(test_tx_gso),
		T(test_rx_partial_kept),
	};
	int ret;

	rxbuf = malloc(sizeof(*rxbuf));
#ifdef NIC_RING_COPY
	/* the same tests on shadow rings (net_vfio_user's ring_copy), every
	 * ring across pages (and in pieces where nic_frag is on) */
	nic_devargs_extra = ",ring_copy=1,rx_partial=1";
	nic_rings_across = true;
#define NIC_PROG "nic_traffic_shadow"
#elif defined(NIC_HUGE)
	/* the same tests on hugetlbfs guest memory, rings across pages: no
	 * devarg, the device finds it cannot make views (test_huge_shadow) */
	{
		const char *why = nic_huge_check();

		if (why != NULL) {
			printf("SKIP: no hugetlbfs guest memory for this test: "
			       "%s (the shadow rings are tested with ring_copy=1 "
			       "by nic_traffic_shadow and nic_packed_shadow)\n",
			       why);
			free(rxbuf);
			return 77;
		}
	}
	nic_huge = true;
	nic_rings_across = true;
	nic_devargs_extra = ",rx_partial=1";
#define NIC_PROG "nic_traffic_huge"
#else
	/* (rx_partial: partial checksums kept only while the port has the
	 * receive checksum offloads, which test_rx_partial_kept turns on) */
	nic_devargs_extra = ",rx_partial=1";
#define NIC_PROG "nic_traffic"
#endif
	if (rxbuf == NULL || nic_group_setup(NIC_PROG) < 0)
		return 1;
	ret = cmocka_run_group_tests_name("nic_traffic", tests, NULL,
					  nic_group_teardown);
	free(rxbuf);
	return ret;
}
