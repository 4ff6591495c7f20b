/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * A malicious (or broken) virtio-net driver against net_vfio_user:
 * descriptors outside its memory, wrapping lengths, loops, over-long
 * chains, bad indirect tables, wrong-direction descriptors, rings outside
 * memory, avail index jumps, oversized control commands, and its memory
 * unmapped under running traffic. The port must not crash or touch memory
 * outside what is mapped (the canary tail of the guest memory, ASan), must
 * count what it refused, and must keep working for good traffic (or ask
 * for a reset, where the device can no longer go on).
 */

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "nic_common.h"

#define V1 NIC_F(VIRTIO_F_VERSION_1)
#define UNMAPPED (NIC_IOVA + NIC_MEM_MAPPED)	/* first IOVA past the map */
#define RO_IOVA 0x200000000ULL			/* a read-only window */
#define S_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define S_UP (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
	      VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK)

static uint32_t seq;
static struct drx *rxbuf;

static struct nic_drv *
mal_open(uint64_t features)
{
	struct nic_drv *d = drv_open();

	rte_eth_stats_reset(nic.port);
	drv_init(d, features, drv_num_vqs(features));
	return d;
}

static uint64_t
xs(const char *name)
{
	return nic_xstat(name);
}

/* Good traffic both ways on pair 0. */
static void
good_traffic(struct nic_drv *d)
{
	struct rte_mbuf *m[4];
	uint16_t old = d->vq[1].avail_idx;
	uint32_t s = seq++;

	drv_send(d, &d->vq[1], 300, s, TX_SPLIT, 100);
	dvq_kick(d, &d->vq[1], old);
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	assert_true(nic_mbuf_check(m[0], 300, s));
	rte_pktmbuf_free(m[0]);
	assert_int_equal(drv_tx_reclaim(&d->vq[1]), 1);

	old = d->vq[0].avail_idx;
	drv_post_rx(&d->vq[0], 1, 2048, false);
	dvq_kick(d, &d->vq[0], old);
	s = seq++;
	m[0] = nic_mbuf(400, s, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
	assert_true(drv_recv(d, &d->vq[0], rxbuf));
	assert_int_equal(rxbuf->len, 400);
	assert_true(pkt_check(rxbuf->data, 400, s));
	assert_true(drv_canary_ok(d));
}

/* n ring descriptors chained with NEXT (also in our bookkeeping), each
 * len bytes of the head's slot, flags | NEXT but the last; idx[] gets
 * them. Not published. */
static uint16_t
raw_chain(struct dvq *q, unsigned int n, uint32_t len, uint16_t flags,
	  uint16_t *idx)
{
	uint16_t head = dvq_alloc(q), prev = head;
	uint64_t iova = q->bufs_iova + (uint64_t)head * NIC_SLOT;

	memset(q->bufs + (size_t)head * NIC_SLOT, 0, (size_t)n * len);
	idx[0] = head;
	q->desc[head] = (struct vring_desc){ iova, len, flags, 0 };
	for (unsigned int k = 1; k < n; k++) {
		uint16_t i = dvq_alloc(q);

		q->desc[prev].flags |= VRING_DESC_F_NEXT;
		q->desc[prev].next = i;
		q->hnext[prev] = i;
		q->desc[i] = (struct vring_desc){ iova + k * len, len, flags, 0 };
		idx[k] = i;
		prev = i;
	}
	q->chain_len[head] = (uint16_t)n;
	return head;
}

/*
 * Publish a malformed transmit chain, then a good packet: rx_burst must
 * deliver only the good one, count one bad descriptor (no drop: drops are
 * what imissed reports, packets the port had no room for), and
 * give both chains back. A head out of the ring is given back as is.
 */
static void
expect_bad_tx(struct nic_drv *d, uint16_t head)
{
	struct dvq *q = &d->vq[1];
	uint64_t bad = xs("rx_q0_bad_descriptors"), drops = xs("rx_q0_drops");
	uint64_t pkts = xs("rx_q0_packets");
	struct rte_mbuf *m[4];
	uint32_t s = seq++, len;
	uint16_t id;

	dvq_publish(q, head);
	drv_send(d, q, 80, s, TX_ONE, 0);
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	assert_true(nic_mbuf_check(m[0], 80, s));
	rte_pktmbuf_free(m[0]);
	assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 4), 0);
	assert_int_equal(xs("rx_q0_bad_descriptors"), bad + 1);
	assert_int_equal(xs("rx_q0_drops"), drops);	/* an error, not a miss */
	assert_int_equal(xs("rx_q0_packets"), pkts + 1);
	assert_int_equal(dvq_pending_used(q), 2);
	assert_true(dvq_get_used(q, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	if (head < q->size)
		dvq_free_chain(q, head);
	assert_int_equal(drv_tx_reclaim(q), 1);
	assert_true(drv_canary_ok(d));
}

/* A transmit chain the port must accept: one packet of len bytes. */
static void
expect_good_tx(struct nic_drv *d, uint16_t head, uint32_t len, uint32_t s)
{
	struct dvq *q = &d->vq[1];
	uint64_t bad = xs("rx_q0_bad_descriptors");
	struct rte_mbuf *m[2];

	dvq_publish(q, head);
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	if (!nic_mbuf_check(m[0], len, s))
		fail_msg("got %u bytes, expected %u", m[0]->pkt_len, len);
	rte_pktmbuf_free(m[0]);
	assert_int_equal(xs("rx_q0_bad_descriptors"), bad);
	assert_int_equal(drv_tx_reclaim(q), 1);
}

/* Header and frame of len bytes at the head's slot; returns its IOVA. */
static uint64_t
frame_at(struct dvq *q, uint16_t head, uint32_t len, uint32_t s)
{
	uint8_t *slot = q->bufs + (size_t)head * NIC_SLOT;

	memset(slot, 0, NIC_HDR_LEN);
	pkt_fill(slot + NIC_HDR_LEN, len, s);
	return q->bufs_iova + (uint64_t)head * NIC_SLOT;
}

static void
test_tx_bad_addresses(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *q = &d->vq[1];
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ UNMAPPED, 100 },			/* just past the map */
		{ UNMAPPED - 50, 100 },			/* straddles its end */
		{ NIC_IOVA - 64, 100 },			/* straddles its start */
		{ 0x1000, 100 },			/* nowhere */
		{ 0xffffffffffffff00ULL, 0x200 },	/* addr + len wraps */
		{ 0xfffffffffffffff0ULL, 0xffffffff },
		{ NIC_IOVA, 0xffffffff },		/* longer than the map */
		{ NIC_IOVA + NIC_MEM_MAPPED - 1, 2 },
	};
	uint16_t idx[4];

	(void)state;
	good_traffic(d);
	for (unsigned int i = 0; i < RTE_DIM(bad); i++) {
		/* as the only descriptor, then as the second of a chain */
		uint16_t h = raw_chain(q, 1, 100, 0, idx);

		q->desc[h].addr = bad[i].addr;
		q->desc[h].len = bad[i].len;
		expect_bad_tx(d, h);
		h = raw_chain(q, 2, 100, 0, idx);
		q->desc[idx[1]].addr = bad[i].addr;
		q->desc[idx[1]].len = bad[i].len;
		expect_bad_tx(d, h);
	}
	/* a zero-length descriptor anywhere is no access: fine */
	{
		uint32_t s = seq++;
		uint16_t h = raw_chain(q, 3, 0, 0, idx);
		uint64_t iova = frame_at(q, h, 200, s);

		q->desc[idx[0]] = (struct vring_desc){ iova, NIC_HDR_LEN,
			VRING_DESC_F_NEXT, idx[1] };
		q->desc[idx[1]] = (struct vring_desc){ 0xdead0000, 0,
			VRING_DESC_F_NEXT, idx[2] };
		q->desc[idx[2]] = (struct vring_desc){ iova + NIC_HDR_LEN, 200, 0, 0 };
		expect_good_tx(d, h, 200, s);
	}
	good_traffic(d);
	drv_close(d);
}

static void
test_tx_bad_chains(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *q = &d->vq[1];
	uint16_t idx[8], h;

	(void)state;
	/* a loop of two */
	h = raw_chain(q, 2, 64, 0, idx);
	q->desc[idx[1]].flags |= VRING_DESC_F_NEXT;
	q->desc[idx[1]].next = idx[0];
	expect_bad_tx(d, h);
	/* a descriptor that points at itself */
	h = raw_chain(q, 1, 64, VRING_DESC_F_NEXT, idx);
	q->desc[h].next = h;
	expect_bad_tx(d, h);
	/* next out of the ring */
	h = raw_chain(q, 2, 64, 0, idx);
	q->desc[idx[0]].next = NIC_QSZ + 5;
	expect_bad_tx(d, h);
	/* a head out of the ring */
	expect_bad_tx(d, 1000);
	/* shorter than its virtio-net header */
	h = raw_chain(q, 1, 6, 0, idx);
	expect_bad_tx(d, h);
	/* a writable descriptor in a transmit chain */
	h = raw_chain(q, 2, 64, 0, idx);
	q->desc[idx[1]].flags |= VRING_DESC_F_WRITE;
	expect_bad_tx(d, h);
	/* longer than any frame the device takes (no GSO was offered):
	 * a loop of large buffers must not eat the mempool either */
	h = raw_chain(q, 2, 12000, 0, idx);
	q->desc[idx[1]].flags |= VRING_DESC_F_NEXT;
	q->desc[idx[1]].next = idx[0];
	expect_bad_tx(d, h);
	h = raw_chain(q, 1, 12000, 0, idx);
	expect_bad_tx(d, h);
	assert_int_equal(rte_mempool_in_use_count(nic.rx_mp), 0);
	good_traffic(d);

	/* the avail index jumps by more than the queue size: nothing is
	 * taken; once it is sane again, traffic goes on */
	{
		struct rte_mbuf *m[4];
		uint64_t bad = xs("rx_q0_bad_descriptors");
		uint32_t s = seq++;

		drv_send(d, q, 90, s, TX_ONE, 0);
		__atomic_store_n(&q->avail->idx, (uint16_t)(q->avail_idx + NIC_QSZ + 1),
				 __ATOMIC_RELEASE);
		assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 4), 0);
		assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 4), 0);
		assert_true(xs("rx_q0_bad_descriptors") > bad);
		assert_int_equal(dvq_pending_used(q), 0);
		/* and the device asks for a reset (VIRTIO 1.x 2.1.2) */
		assert_true(NIC_WAIT(drv_status(d) & S_NEEDS_RESET, 1000));
		__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
		assert_int_equal(nic_rx(0, m, 1, 1000), 1);
		assert_true(nic_mbuf_check(m[0], 90, s));
		rte_pktmbuf_free(m[0]);
		assert_int_equal(drv_tx_reclaim(q), 1);
	}
	good_traffic(d);
	drv_close(d);
}

/* An indirect descriptor at the head, to a table of n entries at tbl. */
static uint16_t
ind_head(struct dvq *q, uint64_t tbl, uint32_t len, uint16_t extra_flags)
{
	uint16_t idx[1], h = raw_chain(q, 1, 0, 0, idx);

	q->desc[h] = (struct vring_desc){ tbl, len,
		VRING_DESC_F_INDIRECT | extra_flags, 0 };
	return h;
}

static void
test_tx_bad_indirect(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *q = &d->vq[1];
	struct vring_desc *tbl = (void *)(d->mem + NIC_SCRATCH_OFF);
	uint64_t tbl_iova = NIC_IOVA + NIC_SCRATCH_OFF;
	uint64_t data = tbl_iova + (1u << 20);
	uint8_t *dp = d->mem + NIC_SCRATCH_OFF + (1u << 20);
	uint16_t h, idx[2];
	uint32_t s;

	(void)state;
	memset(dp, 0, NIC_HDR_LEN);
	/* a good two-entry table, for reference */
	s = seq++;
	pkt_fill(dp + NIC_HDR_LEN, 100, s);
	tbl[0] = (struct vring_desc){ data, NIC_HDR_LEN, VRING_DESC_F_NEXT, 1 };
	tbl[1] = (struct vring_desc){ data + NIC_HDR_LEN, 100, 0, 0 };
	expect_good_tx(d, ind_head(q, tbl_iova, 32, 0), 100, s);
	/* the WRITE flag of the descriptor naming the table is ignored */
	expect_good_tx(d, ind_head(q, tbl_iova, 32, VRING_DESC_F_WRITE), 100, s);
	/* direct descriptors, then an indirect one: also allowed */
	h = raw_chain(q, 2, 0, 0, idx);
	q->desc[idx[0]] = (struct vring_desc){ data, NIC_HDR_LEN,
		VRING_DESC_F_NEXT, idx[1] };
	tbl[40] = (struct vring_desc){ data + NIC_HDR_LEN, 100, 0, 0 };
	q->desc[idx[1]] = (struct vring_desc){ tbl_iova + 40 * 16, 16,
		VRING_DESC_F_INDIRECT, 0 };
	expect_good_tx(d, h, 100, s);

	/* length not a multiple of 16, zero, or both flags */
	expect_bad_tx(d, ind_head(q, tbl_iova, 40, 0));
	expect_bad_tx(d, ind_head(q, tbl_iova, 0, 0));
	expect_bad_tx(d, ind_head(q, tbl_iova, 32, VRING_DESC_F_NEXT));
	/* the table outside the map, or straddling its end */
	expect_bad_tx(d, ind_head(q, UNMAPPED, 32, 0));
	expect_bad_tx(d, ind_head(q, UNMAPPED - 16, 32, 0));
	expect_bad_tx(d, ind_head(q, 0xfffffffffffffff0ULL, 32, 0));
	/* an indirect table inside an indirect table: first entry, later */
	tbl[100] = (struct vring_desc){ tbl_iova, 32, VRING_DESC_F_INDIRECT, 0 };
	expect_bad_tx(d, ind_head(q, tbl_iova + 100 * 16, 16, 0));
	tbl[100] = (struct vring_desc){ data, NIC_HDR_LEN, VRING_DESC_F_NEXT, 1 };
	tbl[101] = (struct vring_desc){ tbl_iova, 32, VRING_DESC_F_INDIRECT, 0 };
	expect_bad_tx(d, ind_head(q, tbl_iova + 100 * 16, 32, 0));
	/* a loop in the table; next beyond it */
	tbl[100] = (struct vring_desc){ data, NIC_HDR_LEN, VRING_DESC_F_NEXT, 1 };
	tbl[101] = (struct vring_desc){ data + NIC_HDR_LEN, 10, VRING_DESC_F_NEXT, 0 };
	expect_bad_tx(d, ind_head(q, tbl_iova + 100 * 16, 32, 0));
	tbl[101] = (struct vring_desc){ data + NIC_HDR_LEN, 10, VRING_DESC_F_NEXT, 2 };
	expect_bad_tx(d, ind_head(q, tbl_iova + 100 * 16, 32, 0));
	/* a writable entry in it */
	tbl[101] = (struct vring_desc){ data + NIC_HDR_LEN, 100, VRING_DESC_F_WRITE, 0 };
	expect_bad_tx(d, ind_head(q, tbl_iova + 100 * 16, 32, 0));

	/* a chain as long as the queue is fine; one longer is not
	 * (VIRTIO 1.x 2.7.5.3.1: no chain longer than the queue size) */
	for (unsigned int n = NIC_QSZ; n <= NIC_QSZ + 1; n++) {
		s = seq++;
		pkt_fill(dp + NIC_HDR_LEN, 64 + n, s);
		tbl[0] = (struct vring_desc){ data, NIC_HDR_LEN, VRING_DESC_F_NEXT, 1 };
		for (unsigned int k = 1; k < n; k++) {
			uint32_t len = k + 1 < n ? 1 : 64 + n - (n - 2);

			tbl[k] = (struct vring_desc){ data + NIC_HDR_LEN + k - 1, len,
				k + 1 < n ? VRING_DESC_F_NEXT : 0, (uint16_t)(k + 1) };
		}
		h = ind_head(q, tbl_iova, n * 16, 0);
		if (n == NIC_QSZ)
			expect_good_tx(d, h, 64 + n, s);
		else
			expect_bad_tx(d, h);
	}
	good_traffic(d);

	/* indirect descriptors without the feature */
	drv_close(d);
	d = mal_open(V1 | NIC_F(VIRTIO_NET_F_MRG_RXBUF));
	q = &d->vq[1];
	tbl = (void *)(d->mem + NIC_SCRATCH_OFF);
	dp = d->mem + NIC_SCRATCH_OFF + (1u << 20);
	memset(dp, 0, NIC_HDR_LEN);
	pkt_fill(dp + NIC_HDR_LEN, 100, 1);
	tbl[0] = (struct vring_desc){ data, NIC_HDR_LEN, VRING_DESC_F_NEXT, 1 };
	tbl[1] = (struct vring_desc){ data + NIC_HDR_LEN, 100, 0, 0 };
	expect_bad_tx(d, ind_head(q, tbl_iova, 32, 0));
	good_traffic(d);
	drv_close(d);
}

/* A misaligned indirect table (the spec asks no alignment of it). */
static void
test_tx_misaligned_indirect(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *q = &d->vq[1];
	uint8_t *raw = d->mem + NIC_SCRATCH_OFF + 3;
	uint64_t tbl_iova = NIC_IOVA + NIC_SCRATCH_OFF + 3;
	uint64_t data = NIC_IOVA + NIC_SCRATCH_OFF + (1u << 20);
	uint8_t *dp = d->mem + NIC_SCRATCH_OFF + (1u << 20);
	struct vring_desc t[2];
	uint32_t s = seq++;

	(void)state;
	memset(dp, 0, NIC_HDR_LEN);
	pkt_fill(dp + NIC_HDR_LEN, 150, s);
	t[0] = (struct vring_desc){ data, NIC_HDR_LEN, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ data + NIC_HDR_LEN, 150, 0, 0 };
	memcpy(raw, t, sizeof(t));
	expect_good_tx(d, ind_head(q, tbl_iova, 32, 0), 150, s);
	good_traffic(d);
	drv_close(d);
}

/* ---- the driver's receive queue (tx_burst) ---- */

/* With only head posted on the receive queue, tx_burst one packet of len:
 * the port must drop it (consumed), count a bad descriptor, give the
 * buffer(s) back empty. */
static void
expect_bad_rx(struct nic_drv *d, uint16_t head, unsigned int nbufs,
	      uint32_t len)
{
	struct dvq *q = &d->vq[0];
	uint64_t bad = xs("tx_q0_bad_descriptors"), drops = xs("tx_q0_drops");
	uint64_t pkts = xs("tx_q0_packets");
	struct rte_mbuf *m = nic_mbuf(len, seq++, 0);
	uint16_t id;
	uint32_t ulen;

	if (head != UINT16_MAX)
		dvq_publish(q, head);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	assert_int_equal(xs("tx_q0_bad_descriptors"), bad + 1);
	assert_int_equal(xs("tx_q0_drops"), drops + 1);
	assert_int_equal(xs("tx_q0_packets"), pkts);
	assert_int_equal(dvq_pending_used(q), nbufs);
	for (unsigned int i = 0; i < nbufs; i++) {
		assert_true(dvq_get_used(q, &id, &ulen));
		assert_int_equal(ulen, 0);
		if (id < q->size)
			dvq_free_chain(q, id);
	}
	assert_true(drv_canary_ok(d));
}

static void
test_rx_bad(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *q = &d->vq[0];
	uint8_t *ro = d->mem + NIC_SCRATCH_OFF;
	uint16_t idx[4], h;

	(void)state;
	/* a read-only window on part of the memory */
	assert_int_equal(rte_vfio_user_client_dma_map(d->c, RO_IOVA, 1u << 20,
			 ro, d->memfd, NIC_SCRATCH_OFF, VFIO_USER_DMA_MAP_F_READ), 0);
	good_traffic(d);

	/* outside the map, wrapping, straddling */
	h = raw_chain(q, 1, 2048, VRING_DESC_F_WRITE, idx);
	q->desc[h].addr = UNMAPPED;
	expect_bad_rx(d, h, 1, 100);
	h = raw_chain(q, 1, 2048, VRING_DESC_F_WRITE, idx);
	q->desc[h].addr = UNMAPPED - 1000;
	expect_bad_rx(d, h, 1, 100);
	h = raw_chain(q, 1, 2048, VRING_DESC_F_WRITE, idx);
	q->desc[h].addr = 0xfffffffffffff000ULL;
	q->desc[h].len = 0x2000;
	expect_bad_rx(d, h, 1, 100);
	/* not writable by the driver's own description */
	h = raw_chain(q, 1, 2048, 0, idx);
	expect_bad_rx(d, h, 1, 100);
	h = raw_chain(q, 2, 1024, VRING_DESC_F_WRITE, idx);
	q->desc[idx[1]].flags &= (uint16_t)~VRING_DESC_F_WRITE;
	expect_bad_rx(d, h, 1, 1500);
	/* writable descriptors into memory mapped read-only */
	memset(ro, 0x5a, 4096);
	h = raw_chain(q, 1, 2048, VRING_DESC_F_WRITE, idx);
	q->desc[h].addr = RO_IOVA;
	expect_bad_rx(d, h, 1, 100);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(ro[i], 0x5a);
	/* a loop; a head out of the ring */
	h = raw_chain(q, 2, 1024, VRING_DESC_F_WRITE, idx);
	q->desc[idx[1]].flags |= VRING_DESC_F_NEXT;
	q->desc[idx[1]].next = idx[0];
	expect_bad_rx(d, h, 1, 5000);
	q->avail->ring[q->avail_idx & (q->size - 1)] = 4000;
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
	expect_bad_rx(d, UINT16_MAX, 1, 100);
	/* mergeable: a good buffer, then a bad one: both come back empty */
	drv_post_rx(q, 1, 2048, false);
	h = raw_chain(q, 1, 2048, VRING_DESC_F_WRITE, idx);
	q->desc[h].addr = UNMAPPED;
	expect_bad_rx(d, h, 2, 3000);
	/* a bad indirect table */
	h = raw_chain(q, 1, 0, 0, idx);
	q->desc[h] = (struct vring_desc){ UNMAPPED, 32, VRING_DESC_F_INDIRECT, 0 };
	expect_bad_rx(d, h, 1, 100);
	good_traffic(d);

	/* the avail index jumps: nothing is used, the packet stays ours */
	{
		struct rte_mbuf *m = nic_mbuf(100, seq++, 0);
		uint64_t bad = xs("tx_q0_bad_descriptors");

		drv_post_rx(q, 1, 2048, false);
		__atomic_store_n(&q->avail->idx, (uint16_t)(q->avail_idx + 2 * NIC_QSZ),
				 __ATOMIC_RELEASE);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 0);
		assert_true(xs("tx_q0_bad_descriptors") > bad);
		assert_int_equal(dvq_pending_used(q), 0);
		assert_true(NIC_WAIT(drv_status(d) & S_NEEDS_RESET, 1000));
		__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
		assert_true(drv_recv(d, q, rxbuf));
		assert_int_equal(rxbuf->len, 100);
	}
	good_traffic(d);
	assert_int_equal(rte_vfio_user_client_dma_unmap(d->c, RO_IOVA, 1u << 20), 0);
	good_traffic(d);
	drv_close(d);
}

/* ---- rings ---- */

/* Bring up all queues with queue bad's rings (or size) replaced; the
 * status read back after DRIVER_OK. */
static uint8_t
init_bad_ring(struct nic_drv *d, uint16_t bad, uint16_t size, uint64_t desc,
	      uint64_t avail, uint64_t used)
{
	uint8_t s = drv_negotiate(d, NIC_OFFERED);

	assert_int_equal(s, S_UP & ~VIRTIO_CONFIG_S_DRIVER_OK);
	cc_w16(d, CC(msix_config), 0);
	for (uint16_t i = 0; i < NIC_NVQS; i++) {
		if (i == bad)
			drv_setup_vq_at(d, i, size, desc, avail, used);
		else
			drv_setup_vq(d, i);
	}
	drv_irqs_clear(d);
	cc_w8(d, CC(device_status), S_UP);
	return drv_status(d);
}

static void
expect_needs_reset_irq(struct nic_drv *d, uint8_t status, bool irq)
{
	struct rte_mbuf *m[2];

	assert_true(status & S_NEEDS_RESET);
	/* told with a configuration change interrupt if DRIVER_OK was set
	 * then (VIRTIO 1.x 2.1.2) */
	if (irq)
		assert_true(NIC_WAIT(drv_irqs(d, 0) >= 1, 1000));
	/* the driver cannot clear it; only a reset does */
	cc_w8(d, CC(device_status), S_UP);
	assert_true(drv_status(d) & S_NEEDS_RESET);
	/* the broken queue is not used */
	drv_send(d, &d->vq[1], 64, seq++, TX_ONE, 0);
	(void)rte_eth_rx_burst(nic.port, 0, m, 2);
	assert_true(drv_canary_ok(d));
	cc_w8(d, CC(device_status), 0);
	assert_int_equal(drv_status(d), 0);
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	good_traffic(d);
}

static void
expect_needs_reset(struct nic_drv *d, uint8_t status)
{
	expect_needs_reset_irq(d, status, true);
}

static void
test_bad_rings(void **state)
{
	struct nic_drv *d = drv_open();
	struct rte_mbuf *m[2];
	uint8_t s;

	(void)state;
	/* used ring, avail ring, descriptor table outside the map */
	s = init_bad_ring(d, 1, 0, 0, 0, UNMAPPED);
	assert_int_equal(rte_eth_rx_burst(nic.port, 0, m, 2), 0);
	expect_needs_reset(d, s);
	s = init_bad_ring(d, 0, 0, 0, UNMAPPED + 0x1000, 0);
	expect_needs_reset(d, s);
	s = init_bad_ring(d, 1, 0, UNMAPPED, 0, 0);
	expect_needs_reset(d, s);
	/* ... straddling its end (256 * 8 + 6 bytes of used ring) */
	s = init_bad_ring(d, 0, 0, 0, 0, UNMAPPED - 1024);
	expect_needs_reset(d, s);
	/* ... the control queue's, and at a wrapping address */
	s = init_bad_ring(d, NIC_CTRL_VQ, 0, 0, 0xfffffffffffffff0ULL, 0);
	expect_needs_reset(d, s);
	/* a queue enabled after DRIVER_OK with bad rings */
	drv_negotiate(d, NIC_OFFERED);
	cc_w16(d, CC(msix_config), 0);
	drv_setup_vq(d, 0);
	cc_w8(d, CC(device_status), S_UP);
	assert_int_equal(drv_status(d), S_UP);
	drv_irqs_clear(d);
	drv_setup_vq_at(d, 1, 0, 0, UNMAPPED, 0);
	expect_needs_reset(d, drv_status(d));
	/* queue sizes that are not powers of 2, too big (before DRIVER_OK:
	 * no interrupt for it) */
	s = init_bad_ring(d, 1, 100, 0, 0, 0);
	expect_needs_reset_irq(d, s, false);
	s = init_bad_ring(d, 1, 2048, 0, 0, 0);
	expect_needs_reset_irq(d, s, false);
	drv_close(d);
}

/* Misaligned rings (VIRTIO 1.x 2.7: 16, 2, 4 bytes): the device refuses
 * them rather than access misaligned structures. */
static void
test_misaligned_rings(void **state)
{
	struct nic_drv *d = drv_open();
	uint64_t base = NIC_IOVA + NIC_SCRATCH_OFF;

	(void)state;
	expect_needs_reset(d, init_bad_ring(d, 1, 0, base + 8, 0, 0));
	expect_needs_reset(d, init_bad_ring(d, 1, 0, 0, base + 0x10001, 0));
	expect_needs_reset(d, init_bad_ring(d, 0, 0, 0, 0, base + 0x20002));
	drv_close(d);
}

/* ---- control queue ---- */

/* Publish a control chain of n descriptors (dd[], nexts filled in here) on
 * the control queue and kick; returns the used length, and whether the
 * ack byte (at *ack) changed. */
static uint32_t
ctrl_raw(struct nic_drv *d, struct vring_desc *dd, unsigned int n, bool indirect)
{
	struct dvq *q = &d->vq[NIC_CTRL_VQ];
	uint16_t head, old = q->avail_idx, id, idx[8];
	uint32_t len;

	if (indirect) {
		struct vring_desc *t;

		head = raw_chain(q, 1, 0, 0, idx);
		t = q->ind + (size_t)head * NIC_IND_MAX;
		for (unsigned int k = 0; k < n; k++) {
			t[k] = dd[k];
			if (k + 1 < n) {
				t[k].flags |= VRING_DESC_F_NEXT;
				t[k].next = (uint16_t)(k + 1);
			}
		}
		q->desc[head] = (struct vring_desc){
			q->ind_iova + (uint64_t)head * NIC_IND_MAX * 16, n * 16,
			VRING_DESC_F_INDIRECT, 0 };
	} else {
		head = raw_chain(q, n, 0, 0, idx);
		for (unsigned int k = 0; k < n; k++) {
			uint16_t next = q->desc[idx[k]].next;
			uint16_t f = q->desc[idx[k]].flags & VRING_DESC_F_NEXT;

			q->desc[idx[k]] = dd[k];
			q->desc[idx[k]].flags |= f;
			q->desc[idx[k]].next = next;
		}
	}
	dvq_publish(q, head);
	dvq_kick(d, q, old);
	assert_true(NIC_WAIT(dvq_pending_used(q) > 0, 1000));
	assert_true(dvq_get_used(q, &id, &len));
	assert_int_equal(id, head);
	dvq_free_chain(q, head);
	return len;
}

static void
test_ctrl_bad(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *q = &d->vq[NIC_CTRL_VQ];
	uint8_t *buf = d->mem + NIC_SCRATCH_OFF;
	uint64_t b = NIC_IOVA + NIC_SCRATCH_OFF;
	uint8_t *ack = buf + 0x10000;
	uint64_t a = b + 0x10000;
	uint64_t bad = 0;
	struct vring_desc dd[4];

	(void)state;
	/* a good one: promiscuous off */
	buf[0] = VIRTIO_NET_CTRL_RX;
	buf[1] = VIRTIO_NET_CTRL_RX_PROMISC;
	buf[2] = 0;
	*ack = 0xee;
	dd[0] = (struct vring_desc){ b, 3, 0, 0 };
	dd[1] = (struct vring_desc){ a, 1, VRING_DESC_F_WRITE, 0 };
	assert_int_equal(ctrl_raw(d, dd, 2, false), 1);
	assert_int_equal(*ack, VIRTIO_NET_OK);
	assert_int_equal(xs("driver_promisc"), 0);

	/* exactly the largest command: taken (and refused: wrong length) */
	*ack = 0xee;
	dd[0] = (struct vring_desc){ b, 4096, 0, 0 };
	assert_int_equal(ctrl_raw(d, dd, 2, true), 1);
	assert_int_equal(*ack, VIRTIO_NET_ERR);
	/* too large, in one or in two pieces: refused unread */
	*ack = 0xee;
	dd[0] = (struct vring_desc){ b, 4097, 0, 0 };
	assert_int_equal(ctrl_raw(d, dd, 2, false), 0);
	assert_int_equal(*ack, 0xee);
	assert_int_equal(xs("ctrl_bad_descriptors"), ++bad);
	dd[0] = (struct vring_desc){ b, 4000, 0, 0 };
	dd[1] = (struct vring_desc){ b, 4000, 0, 0 };
	dd[2] = (struct vring_desc){ a, 1, VRING_DESC_F_WRITE, 0 };
	assert_int_equal(ctrl_raw(d, dd, 3, true), 0);
	assert_int_equal(*ack, 0xee);
	assert_int_equal(xs("ctrl_bad_descriptors"), ++bad);
	/* huge length, wrapping address, outside the map */
	dd[0] = (struct vring_desc){ b, 0xffffffff, 0, 0 };
	dd[1] = (struct vring_desc){ a, 1, VRING_DESC_F_WRITE, 0 };
	assert_int_equal(ctrl_raw(d, dd, 2, false), 0);
	dd[0] = (struct vring_desc){ 0xffffffffffffffffULL, 3, 0, 0 };
	assert_int_equal(ctrl_raw(d, dd, 2, false), 0);
	dd[0] = (struct vring_desc){ b, 3, 0, 0 };
	dd[1] = (struct vring_desc){ UNMAPPED, 1, VRING_DESC_F_WRITE, 0 };
	assert_int_equal(ctrl_raw(d, dd, 2, false), 0);
	bad += 3;
	/* no ack buffer; data after the ack */
	dd[0] = (struct vring_desc){ b, 3, 0, 0 };
	assert_int_equal(ctrl_raw(d, dd, 1, false), 0);
	dd[1] = (struct vring_desc){ a, 1, VRING_DESC_F_WRITE, 0 };
	dd[2] = (struct vring_desc){ b, 3, 0, 0 };
	assert_int_equal(ctrl_raw(d, dd, 3, false), 0);
	bad += 2;
	assert_int_equal(*ack, 0xee);
	assert_int_equal(xs("ctrl_bad_descriptors"), bad);
	/* indirect inside indirect */
	dd[0] = (struct vring_desc){ q->ind_iova, 32, VRING_DESC_F_INDIRECT, 0 };
	assert_int_equal(ctrl_raw(d, dd, 1, true), 0);
	assert_int_equal(xs("ctrl_bad_descriptors"), ++bad);
	/* a loop */
	{
		uint16_t old = q->avail_idx, idx[2], id;
		uint16_t h = raw_chain(q, 2, 0, 0, idx);
		uint32_t len;

		q->desc[idx[0]] = (struct vring_desc){ b, 3, VRING_DESC_F_NEXT, idx[1] };
		q->desc[idx[1]] = (struct vring_desc){ b, 3, VRING_DESC_F_NEXT, idx[0] };
		dvq_publish(q, h);
		dvq_kick(d, q, old);
		assert_true(dvq_get_used(q, &id, &len));
		assert_int_equal(len, 0);
		dvq_free_chain(q, h);
		assert_int_equal(xs("ctrl_bad_descriptors"), ++bad);
	}
	/* still working */
	buf[2] = 1;
	dd[0] = (struct vring_desc){ b, 3, 0, 0 };
	dd[1] = (struct vring_desc){ a, 1, VRING_DESC_F_WRITE, 0 };
	assert_int_equal(ctrl_raw(d, dd, 2, true), 1);
	assert_int_equal(*ack, VIRTIO_NET_OK);
	assert_int_equal(xs("driver_promisc"), 1);
	good_traffic(d);

	/* the control queue's avail index jumps: the device needs a reset */
	drv_irqs_clear(d);
	__atomic_store_n(&q->avail->idx, (uint16_t)(q->avail_idx + NIC_QSZ + 5),
			 __ATOMIC_RELEASE);
	dvq_notify(d, q);
	expect_needs_reset(d, drv_status(d));
	drv_close(d);
}

/* ---- memory unmapped under traffic ---- */

struct traffic {
	bool stop;
	bool registered;
	uint64_t rx, tx;
	uint64_t loops;		/* iterations done, counters updated */
};

/* Helper threads live outside the tests' frames: a failed assertion
 * leaves the test early, and the teardown stops them. */
static struct traffic traffic;
static pthread_t traffic_thread;
static bool traffic_running;

static void *
traffic_main(void *arg)
{
	struct traffic *t = arg;

	/* an lcore id: bursts go online in the device's QSBR variable */
	if (rte_thread_register() != 0)
		return NULL;
	__atomic_store_n(&t->registered, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		struct rte_mbuf *m[32], *o;
		uint16_t n = rte_eth_rx_burst(nic.port, 0, m, 32);

		for (uint16_t i = 0; i < n; i++)
			rte_pktmbuf_free(m[i]);
		__atomic_add_fetch(&t->rx, n, __ATOMIC_RELEASE);
		o = rte_pktmbuf_alloc(nic.tx_mp);
		if (o == NULL)
			continue;
		memset(rte_pktmbuf_append(o, 100), 0x42, 100);
		if (rte_eth_tx_burst(nic.port, 0, &o, 1) == 1)
			__atomic_add_fetch(&t->tx, 1, __ATOMIC_RELEASE);
		else
			rte_pktmbuf_free(o);
		__atomic_add_fetch(&t->loops, 1, __ATOMIC_RELEASE);
	}
	rte_thread_unregister();
	return NULL;
}

/* Play the driver for ms: keep the transmit queue and receive buffers
 * topped up, take back what the device used. */
static void
drive(struct nic_drv *d, unsigned int ms)
{
	uint64_t end = nic_now_ms() + ms;
	struct dvq *tq = &d->vq[1], *rq = &d->vq[0];

	do {
		uint16_t old = tq->avail_idx;

		drv_tx_reclaim(tq);
		while (tq->num_free > NIC_QSZ / 2)
			drv_send(d, tq, 100, seq++, TX_ONE, 0);
		dvq_kick(d, tq, old);
		while (drv_recv(d, rq, rxbuf))
			;
		old = rq->avail_idx;
		while (rq->num_free > NIC_QSZ / 2)
			drv_post_rx(rq, 1, 2048, false);
		dvq_kick(d, rq, old);
		usleep(100);
	} while (nic_now_ms() < end);
}

/* Drive until the port moved packets both ways past rx0/tx0 (or 5 s). */
static bool
drive_until_traffic(struct nic_drv *d, struct traffic *t, uint64_t rx0,
		    uint64_t tx0)
{
	uint64_t end = nic_now_ms() + 5000;

	do {
		drive(d, 20);
		if (__atomic_load_n(&t->rx, __ATOMIC_ACQUIRE) > rx0 &&
		    __atomic_load_n(&t->tx, __ATOMIC_ACQUIRE) > tx0)
			return true;
	} while (nic_now_ms() < end);
	return false;
}

/* Let the traffic thread finish the loop it is in (its counters are
 * updated after the burst). */
static void
traffic_settle(struct traffic *t)
{
	uint64_t l = __atomic_load_n(&t->loops, __ATOMIC_ACQUIRE);

	assert_true(NIC_WAIT(__atomic_load_n(&t->loops, __ATOMIC_ACQUIRE) >= l + 2,
			     2000));
}

static void
test_unmap_under_traffic(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct traffic *t = &traffic;
	uint64_t rx, tx;

	(void)state;
	memset(t, 0, sizeof(*t));
	assert_int_equal(pthread_create(&traffic_thread, NULL, traffic_main, t), 0);
	traffic_running = true;
	assert_true(NIC_WAIT(__atomic_load_n(&t->registered, __ATOMIC_ACQUIRE), 1000));
	assert_true(drive_until_traffic(d, t, 0, 0));
	drive(d, 50);

	/* memory elsewhere comes and goes (a guest behind a vIOMMU mapping
	 * buffers): the queues, whose rings stay, run on */
	{
		int efd = memfd_create("nic-extra", MFD_CLOEXEC);

		assert_true(efd >= 0);
		assert_int_equal(ftruncate(efd, 4096), 0);
		for (int i = 0; i < 20; i++) {
			rx = __atomic_load_n(&t->rx, __ATOMIC_ACQUIRE);
			tx = __atomic_load_n(&t->tx, __ATOMIC_ACQUIRE);
			assert_int_equal(rte_vfio_user_client_dma_map(
						 d->c, 0x10000000, 4096, NULL,
						 efd, 0,
						 VFIO_USER_DMA_MAP_F_READ),
					 0);
			assert_int_equal(rte_vfio_user_client_dma_unmap(
						 d->c, 0x10000000, 4096),
					 0);
			assert_true(drive_until_traffic(d, t, rx, tx));
		}
		close(efd);
		assert_int_equal(drv_status(d), S_UP);
	}

	/* the memory goes while the port polls: answered only once the
	 * bursts let go of it */
	assert_int_equal(rte_vfio_user_client_dma_unmap(d->c, NIC_IOVA,
			 NIC_MEM_MAPPED), 0);
	d->mapped = false;
	assert_int_equal(rte_vfio_user_get_mem_table(nic.dev_id)->nregions, 0);
	traffic_settle(t);
	rx = __atomic_load_n(&t->rx, __ATOMIC_ACQUIRE);
	tx = __atomic_load_n(&t->tx, __ATOMIC_ACQUIRE);
	drive(d, 100);		/* the device must not see any of it */
	traffic_settle(t);
	assert_int_equal(__atomic_load_n(&t->rx, __ATOMIC_ACQUIRE), rx);
	assert_int_equal(__atomic_load_n(&t->tx, __ATOMIC_ACQUIRE), tx);
	/* not the driver's fault: no reset needed */
	assert_false(drv_status(d) & S_NEEDS_RESET);

	/* the memory comes back: the queues go on where they were */
	assert_int_equal(rte_vfio_user_client_dma_map(d->c, NIC_IOVA,
			 NIC_MEM_MAPPED, d->mem, d->memfd, 0,
			 VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE), 0);
	d->mapped = true;
	assert_true(drive_until_traffic(d, t, rx, tx));
	assert_int_equal(drv_status(d), S_UP);

	/* again, and this time the driver resets and starts over */
	assert_int_equal(rte_vfio_user_client_dma_unmap(d->c, NIC_IOVA,
			 NIC_MEM_MAPPED), 0);
	drive(d, 20);
	assert_int_equal(rte_vfio_user_client_dma_map(d->c, NIC_IOVA,
			 NIC_MEM_MAPPED, d->mem, d->memfd, 0,
			 VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE), 0);
	__atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
	pthread_join(traffic_thread, NULL);
	traffic_running = false;
	cc_w8(d, CC(device_status), 0);
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	good_traffic(d);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

/* ---- a driver changing descriptors while the device reads them ---- */

struct flipper {
	bool stop;
	unsigned int n;
	uint32_t *len[3];
	uint32_t good[3], bad[3];
};

static struct flipper flip;
static pthread_t flip_thread;
static bool flip_running;

static void *
flip_main(void *arg)
{
	struct flipper *f = arg;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE))
		for (unsigned int i = 0; i < f->n; i++) {
			__atomic_store_n(f->len[i], f->bad[i], __ATOMIC_RELAXED);
			__atomic_store_n(f->len[i], f->good[i], __ATOMIC_RELAXED);
		}
	return NULL;
}

/*
 * Each descriptor below sits at the very end of the mapped memory with a
 * length that flips between fitting and reaching far past it: a device
 * that checked one length and used another would read or write outside
 * the mapping (or overflow its control command buffer).
 */
static void
test_racing_driver(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *rq = &d->vq[0], *tq = &d->vq[1], *cq = &d->vq[NIC_CTRL_VQ];
	uint8_t *end = d->mem + NIC_MEM_MAPPED;
	struct flipper *f = &flip;
	uint16_t rh, th, ch, idx[2], id;
	struct vring_desc *tbl = (void *)(end - 32);
	uint64_t data = NIC_IOVA + NIC_SCRATCH_OFF;
	uint64_t stop, rounds = 0;
	uint32_t len;

	(void)state;
	memset(f, 0, sizeof(*f));
	f->n = 3;
	/* receive buffer: 2 KiB at the end, or 1 MiB */
	rh = raw_chain(rq, 1, 2048, VRING_DESC_F_WRITE, idx);
	rq->desc[rh].addr = UNMAPPED - 2048;
	f->len[0] = &rq->desc[rh].len;
	f->good[0] = 2048;
	f->bad[0] = 1u << 20;
	/* transmit: an indirect table of 2 entries at the end, or 4096 */
	memset(d->mem + NIC_SCRATCH_OFF, 0, NIC_HDR_LEN);
	pkt_fill(d->mem + NIC_SCRATCH_OFF + NIC_HDR_LEN, 100, 77);
	tbl[0] = (struct vring_desc){ data, NIC_HDR_LEN, VRING_DESC_F_NEXT, 1 };
	tbl[1] = (struct vring_desc){ data + NIC_HDR_LEN, 100, 0, 0 };
	th = ind_head(tq, UNMAPPED - 32, 32, 0);
	f->len[1] = &tq->desc[th].len;
	f->good[1] = 32;
	f->bad[1] = 4096 * 16;
	/* control: a 3-byte command at the end, or 1 MiB; then the ack */
	end[-3] = VIRTIO_NET_CTRL_RX;
	end[-2] = VIRTIO_NET_CTRL_RX_PROMISC;
	end[-1] = 1;
	ch = raw_chain(cq, 2, 0, 0, idx);
	cq->desc[idx[0]] = (struct vring_desc){ UNMAPPED - 3, 3,
		VRING_DESC_F_NEXT, idx[1] };
	cq->desc[idx[1]] = (struct vring_desc){ data + 4096, 1,
		VRING_DESC_F_WRITE, 0 };
	f->len[2] = &cq->desc[idx[0]].len;
	f->good[2] = 3;
	f->bad[2] = 1u << 20;

	assert_int_equal(pthread_create(&flip_thread, NULL, flip_main, f), 0);
	flip_running = true;
	stop = nic_now_ms() + 300;
	while (nic_now_ms() < stop) {
		struct rte_mbuf *m[4];
		uint16_t n;

		dvq_publish(rq, rh);
		m[0] = nic_mbuf(1500, (uint32_t)rounds, 0);
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
		assert_true(dvq_get_used(rq, &id, &len));
		assert_int_equal(id, rh);
		assert_true(len == 0 || len == NIC_HDR_LEN + 1500);

		dvq_publish(tq, th);
		n = rte_eth_rx_burst(nic.port, 0, m, 4);
		assert_true(n <= 1);
		if (n == 1) {
			assert_true(nic_mbuf_check(m[0], 100, 77));
			rte_pktmbuf_free(m[0]);
		}
		assert_true(dvq_get_used(tq, &id, &len));
		assert_int_equal(id, th);

		dvq_publish(cq, ch);
		dvq_notify(d, cq);
		assert_true(dvq_get_used(cq, &id, &len));
		assert_int_equal(id, ch);
		assert_true(len <= 1);
		rounds++;
	}
	__atomic_store_n(&f->stop, true, __ATOMIC_RELEASE);
	pthread_join(flip_thread, NULL);
	flip_running = false;
	assert_true(rounds > 10);
	if (getenv("NIC_VERBOSE") != NULL)
		printf("racing: %" PRIu64 " rounds; bad rx %" PRIu64 " tx %" PRIu64
		       " ctrl %" PRIu64 "\n", rounds, xs("rx_q0_bad_descriptors"),
		       xs("tx_q0_bad_descriptors"), xs("ctrl_bad_descriptors"));
	assert_true(drv_canary_ok(d));
	/* every outcome was either a good packet or a refused chain */
	assert_int_equal(xs("rx_q0_packets") + xs("rx_q0_bad_descriptors"), rounds);
	assert_int_equal(xs("tx_q0_packets") + xs("tx_q0_bad_descriptors"), rounds);
	assert_int_equal(xs("ctrl_packets") + xs("ctrl_bad_descriptors"), rounds);
	assert_false(drv_status(d) & S_NEEDS_RESET);
	/* the queues are sane again once the driver is */
	*f->len[0] = 2048;
	dvq_free_chain(rq, rh);
	*f->len[1] = 32;
	dvq_free_chain(tq, th);
	dvq_free_chain(cq, ch);
	good_traffic(d);
	drv_close(d);
}

/* ---- robustness against a misbehaving driver (issue 15, items 7-13) ---- */

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Item 7, exactly: a driver that adds a control command each time the
 * device serves one. The test sees that moment through the device's log
 * line for VQ_PAIRS_SET (its log stream is the test's while it runs), so
 * a new command is always there when the device looks again. A doorbell
 * must serve at most a queue's worth and return; the driver's next
 * doorbells serve the rest.
 */
#define CHAIN_START	8	/* commands made available before the kick */
#define CHAIN_TOTAL	4096

struct ctrl_chain {
	struct dvq *q;
	bool armed;
	uint32_t left;		/* commands still to add */
	uint32_t published;
	FILE *log;		/* the device's log stream meanwhile */
};

static struct ctrl_chain chain;

/* Make the next command (a VQ_PAIRS_SET) available: head avail % size. */
static void
chain_publish(struct ctrl_chain *c)
{
	struct dvq *q = c->q;
	uint16_t h = q->avail_idx % NIC_QSZ;

	q->avail->ring[h] = h;
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
	c->published++;
}

static ssize_t
chain_log_write(void *cookie, const char *buf, size_t size)
{
	struct ctrl_chain *c = cookie;

	if (__atomic_load_n(&c->armed, __ATOMIC_ACQUIRE) && c->left > 0 &&
	    memmem(buf, size, "queue pairs", 11) != NULL) {
		c->left--;
		chain_publish(c);
	}
	return (ssize_t)size;
}

static void
test_ctrl_doorbell_budget(void **state)
{
	cookie_io_functions_t io = { .write = chain_log_write };
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *q = &d->vq[NIC_CTRL_VQ];
	uint8_t *cmd = d->mem + NIC_SCRATCH_OFF;
	uint64_t cmd_iova = NIC_IOVA + NIC_SCRATCH_OFF;
	struct ctrl_chain *c = &chain;
	uint64_t served0 = xs("ctrl_packets"), max_served = 0;
	unsigned int doorbells = 0;

	(void)state;
	/* every head: an indirect VQ_PAIRS_SET 2 (no change) and its ack */
	cmd[0] = VIRTIO_NET_CTRL_MQ;
	cmd[1] = VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET;
	cmd[2] = NIC_QUEUES;
	cmd[3] = 0;
	for (uint16_t h = 0; h < NIC_QSZ; h++) {
		struct vring_desc *t = q->ind + (size_t)h * NIC_IND_MAX;

		t[0] = (struct vring_desc){ cmd_iova, 4, VRING_DESC_F_NEXT, 1 };
		t[1] = (struct vring_desc){ cmd_iova + 4096 + h, 1,
					    VRING_DESC_F_WRITE, 0 };
		q->desc[h] = (struct vring_desc){
			q->ind_iova + (uint64_t)h * NIC_IND_MAX * 16, 32,
			VRING_DESC_F_INDIRECT, 0 };
	}
	q->num_free = 0;	/* every head is the chain's */
	memset(c, 0, sizeof(*c));
	c->q = q;
	c->left = CHAIN_TOTAL - CHAIN_START;
	c->log = fopencookie(c, "w", io);
	assert_non_null(c->log);
	assert_int_equal(rte_openlog_stream(c->log), 0);
	assert_int_equal(rte_log_set_level_pattern("pmd.net.vfio_user",
						   RTE_LOG_INFO), 0);
	__atomic_store_n(&c->armed, true, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < CHAIN_START; i++)
		chain_publish(c);
	while (__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->avail_idx &&
	       doorbells < 2 * CHAIN_TOTAL) {
		uint64_t before = xs("ctrl_packets");

		dvq_notify(d, q);
		max_served = RTE_MAX(max_served, xs("ctrl_packets") - before);
		doorbells++;
	}
	__atomic_store_n(&c->armed, false, __ATOMIC_RELEASE);
	rte_log_set_level_pattern("pmd.net.vfio_user", RTE_LOG_NOTICE);
	rte_openlog_stream(NULL);
	fclose(c->log);
	c->log = NULL;
	if (getenv("NIC_VERBOSE") != NULL)
		printf("ctrl chain: %u commands, %u doorbells, at most %" PRIu64
		       " commands each\n", c->published, doorbells, max_served);
	if (max_served > NIC_QSZ)
		fail_msg("one doorbell served %" PRIu64 " commands (queue size %u)",
			 max_served, NIC_QSZ);
	assert_int_equal(c->published, CHAIN_TOTAL);
	assert_int_equal(xs("ctrl_packets") - served0, CHAIN_TOTAL);
	assert_int_equal(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE),
			 q->avail_idx);
	assert_true(doorbells >= CHAIN_TOTAL / NIC_QSZ);
	assert_int_equal(xs("ctrl_bad_descriptors"), 0);
	assert_int_equal(xs("driver_queue_pairs"), NIC_QUEUES);
	assert_false(drv_status(d) & S_NEEDS_RESET);
	good_traffic(d);
	drv_close(d);
}

/*
 * Item 7, as a guest vCPU would do it: a driver thread keeps up to 255
 * control commands outstanding, reusing a head as soon as the device wrote
 * its ack; the test kicks whenever commands wait and times each doorbell
 * (the REGION_WRITE to the notify register). A doorbell must serve at most
 * a queue's worth of commands and return; every command is served in the
 * end. (Whether the old device looped depends on the two threads running
 * at once, so the commands are large ones that take the device a while:
 * test_ctrl_doorbell_budget is the exact case.)
 */
#define FLOOD_OUTSTANDING	255
#define FLOOD_MS		2000
#define FLOOD_MACS		600
#define FLOOD_CMD_LEN		(2 + 4 + FLOOD_MACS * RTE_ETHER_ADDR_LEN + 4)
#define DOORBELL_MAX_US		1000000

struct ctrl_flood {
	bool stop;		/* atomic: the test gives up */
	bool done;		/* atomic: the flood is over */
	struct dvq *q;
	uint8_t *ack;		/* ack byte of head h: ack[h] */
	uint16_t avail_idx;	/* final avail index, valid once done */
	uint64_t published;
};

static struct ctrl_flood flood;
static pthread_t flood_thread;
static bool flood_running;

static void *
flood_main(void *arg)
{
	struct ctrl_flood *f = arg;
	struct dvq *q = f->q;
	uint64_t end = nic_now_ms() + FLOOD_MS;
	uint16_t avail = q->avail_idx, acked = avail;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE) &&
	       nic_now_ms() < end) {
		/* the device is done with a command once it wrote the ack */
		while (acked != avail &&
		       __atomic_load_n(&f->ack[acked % NIC_QSZ],
				       __ATOMIC_ACQUIRE) != 0xee)
			acked++;
		if ((uint16_t)(avail - acked) >= FLOOD_OUTSTANDING) {
			sched_yield();
			continue;
		}
		__atomic_store_n(&f->ack[avail % NIC_QSZ], 0xee, __ATOMIC_RELAXED);
		q->avail->ring[avail % NIC_QSZ] = avail % NIC_QSZ;
		avail++;
		__atomic_store_n(&q->avail->idx, avail, __ATOMIC_RELEASE);
		f->published++;
	}
	f->avail_idx = avail;
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void
test_ctrl_flood(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *q = &d->vq[NIC_CTRL_VQ];
	uint8_t *cmd = d->mem + NIC_SCRATCH_OFF;
	uint64_t cmd_iova = NIC_IOVA + NIC_SCRATCH_OFF;
	struct ctrl_flood *f = &flood;
	uint64_t served0, max_us = 0, max_served = 0, doorbells = 0;

	(void)state;
	/* every head: an indirect MAC table set (FLOOD_MACS addresses, which
	 * the device checks: a command that takes some time) with an ack of
	 * its own */
	cmd[0] = VIRTIO_NET_CTRL_MAC;
	cmd[1] = VIRTIO_NET_CTRL_MAC_TABLE_SET;
	memcpy(cmd + 2, &(uint32_t){ FLOOD_MACS }, 4);
	memset(cmd + 6, 0x02, FLOOD_MACS * RTE_ETHER_ADDR_LEN);
	memcpy(cmd + FLOOD_CMD_LEN - 4, &(uint32_t){ 0 }, 4);
	for (uint16_t h = 0; h < NIC_QSZ; h++) {
		struct vring_desc *t = q->ind + (size_t)h * NIC_IND_MAX;

		t[0] = (struct vring_desc){ cmd_iova, FLOOD_CMD_LEN,
					    VRING_DESC_F_NEXT, 1 };
		t[1] = (struct vring_desc){ cmd_iova + 4096 + h, 1,
					    VRING_DESC_F_WRITE, 0 };
		q->desc[h] = (struct vring_desc){
			q->ind_iova + (uint64_t)h * NIC_IND_MAX * 16, 32,
			VRING_DESC_F_INDIRECT, 0 };
	}
	q->num_free = 0;	/* every head is the flood's */
	memset(f, 0, sizeof(*f));
	f->q = q;
	f->ack = cmd + 4096;
	served0 = xs("ctrl_packets");
	assert_int_equal(pthread_create(&flood_thread, NULL, flood_main, f), 0);
	flood_running = true;
	while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE)) {
		uint64_t before, t0, us, n;

		/* kick when there is something to serve, as a driver does,
		 * and leave the CPU to the flood meanwhile */
		while (__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) ==
		       __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) &&
		       !__atomic_load_n(&f->done, __ATOMIC_ACQUIRE))
			sched_yield();
		before = xs("ctrl_packets");
		t0 = now_us();
		dvq_notify(d, q);
		us = now_us() - t0;
		n = xs("ctrl_packets") - before;
		max_us = RTE_MAX(max_us, us);
		max_served = RTE_MAX(max_served, n);
		doorbells++;
	}
	pthread_join(flood_thread, NULL);
	flood_running = false;
	/* what is left (less than a queue's worth) goes at the next one */
	dvq_notify(d, q);
	if (getenv("NIC_VERBOSE") != NULL)
		printf("ctrl flood: %" PRIu64 " commands, %" PRIu64 " doorbells, "
		       "at most %" PRIu64 " commands and %" PRIu64 " us each\n",
		       f->published, doorbells, max_served, max_us);
	if (max_served > NIC_QSZ || max_us >= DOORBELL_MAX_US)
		fail_msg("one doorbell served %" PRIu64 " commands (queue size "
			 "%u) and one took %" PRIu64 " us (%" PRIu64 " commands, "
			 "%" PRIu64 " doorbells)", max_served, NIC_QSZ, max_us,
			 f->published, doorbells);
	assert_int_equal(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE),
			 f->avail_idx);
	assert_int_equal(xs("ctrl_packets") - served0, f->published);
	assert_int_equal(xs("ctrl_bad_descriptors"), 0);
	assert_false(drv_status(d) & S_NEEDS_RESET);
	good_traffic(d);
	drv_close(d);
}

/*
 * Item 8: empty mbuf segments. The packet must arrive whole whatever the
 * segments and the driver's descriptors (Linux's big-packets mode puts the
 * 12-byte header in a descriptor of its own).
 */

/* An mbuf holding test frame seq in segments of the given lengths. */
static struct rte_mbuf *
seg_mbuf(const uint16_t *segs, unsigned int n, uint32_t s, uint32_t *len)
{
	static uint8_t buf[NIC_SLOT];
	struct rte_mbuf *head = NULL;
	uint32_t off = 0;

	*len = 0;
	for (unsigned int i = 0; i < n; i++)
		*len += segs[i];
	pkt_fill(buf, *len, s);
	for (unsigned int i = 0; i < n; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(nic.tx_mp);
		char *p;

		assert_non_null(m);
		p = rte_pktmbuf_append(m, segs[i]);
		assert_non_null(p);
		memcpy(p, buf + off, segs[i]);
		off += segs[i];
		if (head == NULL)
			head = m;
		else
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
	}
	assert_int_equal(head->pkt_len, *len);
	return head;
}

/* Post a receive buffer of descriptors of the given lengths, laid out one
 * after the other in the head's slot. */
static uint16_t
post_rx_descs(struct dvq *q, const uint32_t *lens, unsigned int n)
{
	uint16_t idx[8], h;
	uint64_t iova;
	uint32_t off = 0;

	assert_true(n <= RTE_DIM(idx));
	h = raw_chain(q, n, 0, VRING_DESC_F_WRITE, idx);
	iova = q->bufs_iova + (uint64_t)h * NIC_SLOT;
	for (unsigned int k = 0; k < n; k++) {
		q->desc[idx[k]].addr = iova + off;
		q->desc[idx[k]].len = lens[k];
		off += lens[k];
	}
	assert_true(off <= NIC_SLOT);
	memset(q->bufs + (size_t)h * NIC_SLOT, 0xee, off);
	q->buf_len[h] = off;
	dvq_publish(q, h);
	return h;
}

static void
expect_rx_whole(struct nic_drv *d, const uint16_t *segs, unsigned int n,
		uint16_t nbufs)
{
	uint32_t s = seq++, len;
	struct rte_mbuf *m = seg_mbuf(segs, n, s, &len);

	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	assert_true(drv_recv(d, &d->vq[0], rxbuf));
	if (rxbuf->len != len || !pkt_check(rxbuf->data, len, s))
		fail_msg("a %u-byte packet in %u segments arrived as %u bytes",
			 len, n, rxbuf->len);
	assert_int_equal(rxbuf->nbufs, nbufs);
	assert_int_equal(dvq_pending_used(&d->vq[0]), 0);
	assert_true(drv_canary_ok(d));
}

static void
test_rx_empty_segments(void **state)
{
	static const uint32_t hdr_then_data[] = { NIC_HDR_LEN, 2048 };
	static const uint32_t hdr_some_then_data[] = { NIC_HDR_LEN + 88, 2048 };
	static const uint32_t three[] = { NIC_HDR_LEN, 50, 2048 };
	static const uint32_t hdr_only[] = { NIC_HDR_LEN };
	static const uint32_t data_only[] = { 2048 };
	static const uint16_t empty_first[] = { 0, 100 };
	static const uint16_t empties[] = { 0, 0, 60, 40 };
	static const uint16_t empty_on_boundary[] = { 88, 0, 100 };
	static const uint16_t mixed[] = { 0, 50, 0, 0, 30 };
	static const uint16_t empty_last[] = { 100, 0 };
	struct nic_drv *d = mal_open(V1);
	struct dvq *q = &d->vq[0];

	(void)state;
	/* one buffer (no MRG_RXBUF), the header alone in its first descriptor */
	post_rx_descs(q, hdr_then_data, 2);
	expect_rx_whole(d, empty_first, RTE_DIM(empty_first), 1);
	post_rx_descs(q, hdr_then_data, 2);
	expect_rx_whole(d, empties, RTE_DIM(empties), 1);
	post_rx_descs(q, three, 3);
	expect_rx_whole(d, mixed, RTE_DIM(mixed), 1);
	post_rx_descs(q, hdr_then_data, 2);
	expect_rx_whole(d, empty_last, RTE_DIM(empty_last), 1);
	/* an empty segment just where a descriptor ends */
	post_rx_descs(q, hdr_some_then_data, 2);
	expect_rx_whole(d, empty_on_boundary, RTE_DIM(empty_on_boundary), 1);
	good_traffic(d);
	drv_close(d);

	/* mergeable buffers: a first buffer that holds the header only */
	d = mal_open(NIC_OFFERED);
	q = &d->vq[0];
	post_rx_descs(q, hdr_only, 1);
	post_rx_descs(q, data_only, 1);
	expect_rx_whole(d, empty_first, RTE_DIM(empty_first), 2);
	post_rx_descs(q, hdr_only, 1);
	post_rx_descs(q, data_only, 1);
	expect_rx_whole(d, empties, RTE_DIM(empties), 2);
	good_traffic(d);
	drv_close(d);
}

/*
 * Item 9: a driver clearing status bits without a reset (VIRTIO 1.x 2.1.2:
 * it must not). The device treats it as a driver error: the bits stay,
 * DEVICE_NEEDS_RESET is set with a configuration interrupt, the queues
 * stop, the application sees the link go down, features stay frozen;
 * only a reset brings the device back.
 */
static void
expect_halted(struct nic_drv *d, uint8_t status)
{
	struct dvq *rq = &d->vq[0];
	struct rte_mbuf *m;
	uint8_t st = drv_status(d);
	uint16_t old;

	if (st != status)
		fail_msg("device status 0x%02x, expected 0x%02x", st, status);
	/* features are frozen */
	cc_w32(d, CC(guest_feature_select), 0);
	cc_w32(d, CC(guest_feature), 0);
	assert_int_equal(cc_r32(d, CC(guest_feature)), (uint32_t)d->features);
	assert_int_equal(xs("driver_features"), d->features);
	if (!(status & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	/* the queues do not run */
	old = rq->avail_idx;
	drv_post_rx(rq, 1, 2048, false);
	dvq_kick(d, rq, old);
	m = nic_mbuf(100, seq++, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 0);
	rte_pktmbuf_free(m);
	assert_int_equal(dvq_pending_used(rq), 0);
	drv_send(d, &d->vq[1], 100, seq++, TX_ONE, 0);
	assert_int_equal(rte_eth_rx_burst(nic.port, 0, &m, 1), 0);
	assert_int_equal(dvq_pending_used(&d->vq[1]), 0);
	assert_false(nic_link_up());
}

static void
test_status_bits_cleared(void **state)
{
	static const uint8_t cleared[] = {
		VIRTIO_CONFIG_S_DRIVER_OK,
		VIRTIO_CONFIG_S_FEATURES_OK,
		VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FEATURES_OK,
		VIRTIO_CONFIG_S_ACKNOWLEDGE,
	};
	const uint8_t neg = S_UP & ~VIRTIO_CONFIG_S_DRIVER_OK;
	struct nic_drv *d = mal_open(NIC_OFFERED);

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(cleared); i++) {
		int lsc;

		good_traffic(d);
		assert_true(nic_link_up());
		lsc = nic_lsc();
		drv_irqs_clear(d);
		cc_w8(d, CC(device_status), S_UP & ~cleared[i]);
		expect_halted(d, S_UP | S_NEEDS_RESET);
		/* told with a configuration change interrupt; link down */
		assert_true(NIC_WAIT(drv_irqs(d, 0) >= 1, 1000));
		assert_true(NIC_WAIT(nic_lsc() > lsc, 1000));
		/* setting the bits again restarts nothing */
		cc_w8(d, CC(device_status), S_UP);
		expect_halted(d, S_UP | S_NEEDS_RESET);
		/* a reset does */
		cc_w8(d, CC(device_status), 0);
		drv_init(d, NIC_OFFERED, NIC_NVQS);
		assert_true(NIC_WAIT(nic_link_up(), 1000));
	}
	/* FEATURES_OK cleared before DRIVER_OK: features stay frozen, and
	 * DRIVER_OK after that starts nothing */
	assert_int_equal(drv_negotiate(d, NIC_OFFERED), neg);
	cc_w8(d, CC(device_status), neg & ~VIRTIO_CONFIG_S_FEATURES_OK);
	expect_halted(d, neg | S_NEEDS_RESET);
	cc_w16(d, CC(msix_config), 0);
	for (uint16_t i = 0; i < NIC_NVQS; i++)
		drv_setup_vq(d, i);
	cc_w8(d, CC(device_status), S_UP);
	expect_halted(d, S_UP | S_NEEDS_RESET);
	cc_w8(d, CC(device_status), 0);
	drv_init(d, NIC_OFFERED, NIC_NVQS);
	good_traffic(d);
	drv_close(d);
}

/*
 * Item 10: a transmit chain shorter than an Ethernet header (the virtio
 * header alone, or with a few bytes) is dropped and counted as a runt.
 */
static void
expect_runt(struct nic_drv *d, uint16_t head)
{
	struct dvq *q = &d->vq[1];
	uint64_t drops = xs("rx_q0_drops"), pkts = xs("rx_q0_packets");
	uint64_t bad = xs("rx_q0_bad_descriptors");
	struct rte_mbuf *m[4];
	uint32_t s = seq++;
	uint16_t n;

	dvq_publish(q, head);
	drv_send(d, q, 80, s, TX_ONE, 0);
	n = nic_rx(0, m, 2, 200);
	if (n != 1 || !nic_mbuf_check(m[0], 80, s)) {
		uint32_t first = n > 0 ? m[0]->pkt_len : 0;

		nic_free(m, n);
		fail_msg("%u packets came, the first of %u bytes", n, first);
	}
	rte_pktmbuf_free(m[0]);
	assert_int_equal(xs("rx_q0_drops"), drops);	/* an error, not a miss */
	assert_int_equal(xs("rx_q0_packets"), pkts + 1);
	assert_int_equal(xs("rx_q0_bad_descriptors"), bad);
	assert_int_equal(drv_tx_reclaim(q), 2);
}

static void
test_tx_runts(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *q = &d->vq[1];
	uint64_t runts = 0;
	struct rte_mbuf *m[2];
	uint16_t idx[2], h;

	(void)state;
	/* the header alone */
	expect_runt(d, raw_chain(q, 1, NIC_HDR_LEN, 0, idx));
	assert_int_equal(xs("rx_q0_runts"), ++runts);
	/* the header, then an empty descriptor */
	h = raw_chain(q, 2, NIC_HDR_LEN, 0, idx);
	q->desc[idx[1]].len = 0;
	expect_runt(d, h);
	assert_int_equal(xs("rx_q0_runts"), ++runts);
	/* 13 bytes of frame */
	expect_runt(d, raw_chain(q, 1, NIC_HDR_LEN + RTE_ETHER_HDR_LEN - 1, 0, idx));
	assert_int_equal(xs("rx_q0_runts"), ++runts);
	/* an Ethernet header and nothing else is a frame */
	dvq_publish(q, raw_chain(q, 1, NIC_HDR_LEN + RTE_ETHER_HDR_LEN, 0, idx));
	assert_int_equal(nic_rx(0, m, 1, 1000), 1);
	assert_int_equal(m[0]->pkt_len, RTE_ETHER_HDR_LEN);
	rte_pktmbuf_free(m[0]);
	assert_int_equal(drv_tx_reclaim(q), 1);
	assert_int_equal(xs("rx_q0_runts"), runts);
	/* runts are input errors of the port */
	{
		struct rte_eth_stats st;

		assert_int_equal(rte_eth_stats_get(nic.port, &st), 0);
		assert_true(st.ierrors >= runts);
	}
	good_traffic(d);
	drv_close(d);
}

/*
 * A moment inside a burst, for the test to act in: the packet's data sits
 * in pages the test protects, so the device's copy from it faults on the
 * thread that runs the burst; the fault handler runs the test's action,
 * gives the pages back and the copy goes on.
 */
struct fault_hook {
	uint8_t *page;
	size_t len;
	void (*action)(struct fault_hook *h);
	bool fired;		/* atomic */
	bool release;		/* atomic: stall_action may return */
	uint16_t *slot;		/* swap_action: avail ring entry to change */
	uint16_t to;		/* ... and the head it gets */
};

static struct fault_hook hook;
static struct sigaction hook_old_segv;
static struct rte_mbuf_ext_shared_info hook_shinfo;

static void
hook_on_fault(int sig, siginfo_t *si, void *ctx)
{
	struct fault_hook *h = &hook;
	uint8_t *a = si->si_addr;

	(void)ctx;
	if (h->page == NULL || a < h->page || a >= h->page + h->len) {
		sigaction(sig, &hook_old_segv, NULL);	/* a real fault */
		return;
	}
	h->action(h);
	__atomic_store_n(&h->fired, true, __ATOMIC_RELEASE);
	mprotect(h->page, h->len, PROT_READ | PROT_WRITE);
}

static void
hook_ext_free(void *addr, void *opaque)
{
	(void)addr;
	(void)opaque;
}

/* A packet of len bytes whose data faults on first access; then
 * action runs. */
static struct rte_mbuf *
hook_arm(uint32_t len, void (*action)(struct fault_hook *h))
{
	struct sigaction sa = { .sa_sigaction = hook_on_fault,
				.sa_flags = SA_SIGINFO };
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t sz = RTE_ALIGN_CEIL(RTE_PKTMBUF_HEADROOM + len, pg);
	struct rte_mbuf *m;
	uint8_t *p;

	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	assert_true(p != MAP_FAILED);
	m = rte_pktmbuf_alloc(nic.tx_mp);
	assert_non_null(m);
	hook_shinfo.free_cb = hook_ext_free;
	rte_mbuf_ext_refcnt_set(&hook_shinfo, 1);
	rte_pktmbuf_attach_extbuf(m, p, (rte_iova_t)(uintptr_t)p, (uint16_t)sz,
				  &hook_shinfo);
	assert_non_null(rte_pktmbuf_append(m, (uint16_t)len));
	pkt_fill(rte_pktmbuf_mtod(m, uint8_t *), len, seq++);
	memset(&hook, 0, sizeof(hook));
	hook.page = p;
	hook.len = sz;
	hook.action = action;
	assert_int_equal(sigaction(SIGSEGV, &sa, &hook_old_segv), 0);
	assert_int_equal(mprotect(p, sz, PROT_NONE), 0);
	return m;
}

/* After the packet is gone (sent or dropped). */
static void
hook_disarm(void)
{
	if (hook.page == NULL)
		return;
	sigaction(SIGSEGV, &hook_old_segv, NULL);
	munmap(hook.page, hook.len);
	hook.page = NULL;
}

/* Hold the burst until the test releases it, or 300 ms passed (when the
 * device waits for this burst before it answers the test). */
static void
stall_action(struct fault_hook *h)
{
	uint64_t end = nic_now_ms() + 300;

	__atomic_store_n(&h->fired, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&h->release, __ATOMIC_ACQUIRE) &&
	       nic_now_ms() < end)
		;
}

/* Publish a control command (class, cmd, data) and kick; the ack. */
static uint8_t
ctrl_cmd(struct nic_drv *d, uint8_t class, uint8_t cmd, const void *data,
	 uint32_t len)
{
	uint8_t *buf = d->mem + NIC_SCRATCH_OFF + 0x30000;
	uint64_t b = NIC_IOVA + NIC_SCRATCH_OFF + 0x30000;
	struct vring_desc dd[2] = {
		{ b, 2 + len, 0, 0 },
		{ b + 0x1000, 1, VRING_DESC_F_WRITE, 0 },
	};

	buf[0] = class;
	buf[1] = cmd;
	memcpy(buf + 2, data, len);
	buf[0x1000] = 0xee;
	assert_int_equal(ctrl_raw(d, dd, 2, false), 1);
	return buf[0x1000];
}

/*
 * Item 11: once the driver sees the ack of a VQ_PAIRS_SET that disables a
 * receive queue, the device must not put packets there any more (VIRTIO
 * 1.x 5.1.6.5.5). Exactly: a burst to port queue 1 that began before the
 * command is held in its copy (fault hook) while the driver sends
 * VQ_PAIRS_SET 1; what it writes must be visible before the ack, not
 * after.
 */
struct stalled_burst {
	struct rte_mbuf *m;
	uint16_t sent;
};

static struct stalled_burst stalled;
static pthread_t stalled_thread;
static bool stalled_running;

static void *
stalled_main(void *arg)
{
	struct stalled_burst *b = arg;

	if (rte_thread_register() != 0)
		return NULL;
	b->sent = rte_eth_tx_burst(nic.port, 1, &b->m, 1);
	rte_thread_unregister();
	return NULL;
}

static void
test_mq_shrink_stops_rx(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *rq = &d->vq[2];
	struct stalled_burst *b = &stalled;
	uint16_t pairs = NIC_QUEUES, at_ack, old = rq->avail_idx;

	(void)state;
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
		VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2), VIRTIO_NET_OK);
	drv_post_rx(rq, 1, 2048, false);
	dvq_kick(d, rq, old);
	memset(b, 0, sizeof(*b));
	b->m = hook_arm(1000, stall_action);
	assert_int_equal(pthread_create(&stalled_thread, NULL, stalled_main, b), 0);
	stalled_running = true;
	/* the burst is in, copying into receiveq 1 */
	assert_true(NIC_WAIT(__atomic_load_n(&hook.fired, __ATOMIC_ACQUIRE), 2000));
	pairs = 1;
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
		VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2), VIRTIO_NET_OK);
	at_ack = __atomic_load_n(&rq->used->idx, __ATOMIC_ACQUIRE);
	__atomic_store_n(&hook.release, true, __ATOMIC_RELEASE);
	pthread_join(stalled_thread, NULL);
	stalled_running = false;
	hook_disarm();
	if (__atomic_load_n(&rq->used->idx, __ATOMIC_ACQUIRE) != at_ack)
		fail_msg("receiveq 1 got a packet after the ack of VQ_PAIRS_SET 1");
	/* the burst went in before the ack: its packet was delivered */
	assert_int_equal(b->sent, 1);
	assert_true(drv_recv(d, rq, rxbuf));
	assert_int_equal(rxbuf->len, 1000);
	/* from now on, port queue 1 keeps its packets */
	old = rq->avail_idx;
	drv_post_rx(rq, 1, 2048, false);
	dvq_kick(d, rq, old);
	b->m = nic_mbuf(100, seq++, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 1, &b->m, 1), 0);
	rte_pktmbuf_free(b->m);
	assert_int_equal(dvq_pending_used(rq), 0);
	assert_int_equal(xs("driver_queue_pairs"), 1);
	good_traffic(d);
	drv_close(d);
}

/*
 * Item 11 under real concurrency: a thread transmits on port queue 1 all
 * the time; an observer thread notes the used index of receiveq 1 the
 * moment the ack is published; it must not move after that.
 */
#define MQ_BURST	32
#define MQ_FRAME	9000
#define MQ_ROUNDS	200

struct mq_traffic {
	bool stop;
	bool registered;
	uint64_t loops;
	struct rte_mbuf *pk[MQ_BURST];
};

struct mq_observer {
	bool stop;
	int armed;		/* 1: watching, 2: saw the ack */
	const uint16_t *ctrl_used;
	const uint16_t *rx_used;
	uint16_t from;		/* control used index before the command */
	uint16_t rx_at_ack;	/* receiveq 1 used index when the ack came */
};

static struct mq_traffic mqt;
static struct mq_observer mqo;
static pthread_t mqt_thread, mqo_thread;
static bool mqt_running, mqo_running;

static void *
mq_traffic_main(void *arg)
{
	struct mq_traffic *t = arg;

	if (rte_thread_register() != 0)
		return NULL;
	__atomic_store_n(&t->registered, true, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
		struct rte_mbuf *b[MQ_BURST];
		uint16_t n;

		for (unsigned int i = 0; i < MQ_BURST; i++) {
			rte_mbuf_refcnt_update(t->pk[i], 1);
			b[i] = t->pk[i];
		}
		n = rte_eth_tx_burst(nic.port, 1, b, MQ_BURST);
		for (unsigned int i = n; i < MQ_BURST; i++)
			rte_pktmbuf_free(b[i]);
		__atomic_add_fetch(&t->loops, 1, __ATOMIC_RELEASE);
	}
	rte_thread_unregister();
	return NULL;
}

static void *
mq_observer_main(void *arg)
{
	struct mq_observer *o = arg;

	while (!__atomic_load_n(&o->stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&o->armed, __ATOMIC_ACQUIRE) != 1) {
			usleep(50);
			continue;
		}
		if (__atomic_load_n(o->ctrl_used, __ATOMIC_ACQUIRE) == o->from)
			continue;
		o->rx_at_ack = __atomic_load_n(o->rx_used, __ATOMIC_ACQUIRE);
		__atomic_store_n(&o->armed, 2, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void
mq_settle(struct mq_traffic *t)
{
	uint64_t l = __atomic_load_n(&t->loops, __ATOMIC_ACQUIRE);

	assert_true(NIC_WAIT(__atomic_load_n(&t->loops, __ATOMIC_ACQUIRE) >= l + 2,
			     2000));
}

static void
test_mq_shrink_under_traffic(void **state)
{
	struct nic_drv *d = mal_open(NIC_OFFERED);
	struct dvq *rq = &d->vq[2], *cq = &d->vq[NIC_CTRL_VQ];
	struct rte_mempool *mp;
	struct mq_traffic *t = &mqt;
	struct mq_observer *o = &mqo;
	unsigned int late = 0, filling = 0;
	uint16_t pairs;

	(void)state;
	mp = rte_pktmbuf_pool_create("nic_mq", 2 * MQ_BURST - 1, 0, 0,
				     RTE_PKTMBUF_HEADROOM + MQ_FRAME, SOCKET_ID_ANY);
	assert_non_null(mp);
	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < MQ_BURST; i++) {
		t->pk[i] = rte_pktmbuf_alloc(mp);
		assert_non_null(t->pk[i]);
		pkt_fill(rte_pktmbuf_mtod(t->pk[i], uint8_t *), MQ_FRAME, i);
		assert_non_null(rte_pktmbuf_append(t->pk[i], MQ_FRAME));
	}
	memset(o, 0, sizeof(*o));
	o->ctrl_used = &cq->used->idx;
	o->rx_used = &rq->used->idx;
	assert_int_equal(pthread_create(&mqo_thread, NULL, mq_observer_main, o), 0);
	mqo_running = true;
	assert_int_equal(pthread_create(&mqt_thread, NULL, mq_traffic_main, t), 0);
	mqt_running = true;
	assert_true(NIC_WAIT(__atomic_load_n(&t->registered, __ATOMIC_ACQUIRE), 1000));

	for (unsigned int r = 0; r < MQ_ROUNDS; r++) {
		uint16_t u, old;
		uint64_t end;

		pairs = 2;
		assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
			VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2), VIRTIO_NET_OK);
		while (drv_recv(d, rq, rxbuf))
			;
		/* the used index before the buffers go: the device may fill
		 * them all before we look again */
		u = __atomic_load_n(&rq->used->idx, __ATOMIC_ACQUIRE);
		old = rq->avail_idx;
		while (rq->num_free > 0)
			drv_post_rx(rq, 1, MQ_FRAME + 64, false);
		dvq_kick(d, rq, old);
		/* the device is filling receiveq 1 */
		end = now_us() + 1000000;
		while (__atomic_load_n(&rq->used->idx, __ATOMIC_ACQUIRE) == u &&
		       now_us() < end)
			;
		if (__atomic_load_n(&rq->used->idx, __ATOMIC_ACQUIRE) != u)
			filling++;
		/* one pair only: from the ack on, receiveq 1 stays as it is */
		o->from = __atomic_load_n(&cq->used->idx, __ATOMIC_ACQUIRE);
		__atomic_store_n(&o->armed, 1, __ATOMIC_RELEASE);
		pairs = 1;
		assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
			VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2), VIRTIO_NET_OK);
		assert_true(NIC_WAIT(__atomic_load_n(&o->armed, __ATOMIC_ACQUIRE) == 2,
				     1000));
		__atomic_store_n(&o->armed, 0, __ATOMIC_RELEASE);
		mq_settle(t);
		if (__atomic_load_n(&rq->used->idx, __ATOMIC_ACQUIRE) != o->rx_at_ack)
			late++;
	}
	__atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
	pthread_join(mqt_thread, NULL);
	mqt_running = false;
	__atomic_store_n(&o->stop, true, __ATOMIC_RELEASE);
	pthread_join(mqo_thread, NULL);
	mqo_running = false;
	for (unsigned int i = 0; i < MQ_BURST; i++)
		rte_pktmbuf_free(t->pk[i]);
	rte_mempool_free(mp);
	if (getenv("NIC_VERBOSE") != NULL)
		printf("mq shrink: %u rounds, %u with receiveq 1 filling, %u "
		       "filled after the ack\n", MQ_ROUNDS, filling, late);
	if (late > 0)
		fail_msg("receiveq 1 got packets after the ack of VQ_PAIRS_SET 1 "
			 "in %u of %u rounds", late, MQ_ROUNDS);
	assert_true(filling > MQ_ROUNDS / 2);
	assert_int_equal(xs("driver_queue_pairs"), 1);
	good_traffic(d);
	drv_close(d);
}

/*
 * Item 12: a packet larger than a (non-mergeable) buffer is dropped and the
 * buffer left available (a used buffer holds a header, VIRTIO 5.1.6.4), so
 * the device reads the avail ring entry again for the next packet. The
 * fault hook makes the driver change that entry (its error) while the
 * device copies the packet into the buffer: the device never writes a
 * buffer that was not available when it read the entry, and the next
 * packet goes where the entry points then.
 */
static void
swap_action(struct fault_hook *h)
{
	__atomic_store_n(h->slot, h->to, __ATOMIC_RELAXED);
}

static void
test_rx_drop_returns_read_head(void **state)
{
	struct nic_drv *d = mal_open(V1);
	struct dvq *q = &d->vq[0];
	uint64_t drops = xs("tx_q0_drops");
	uint16_t a, b, idx[1], id;
	struct rte_mbuf *m;
	uint32_t len;

	(void)state;
	/* two 100-byte buffers; only a is made available */
	a = raw_chain(q, 1, 100, VRING_DESC_F_WRITE, idx);
	b = raw_chain(q, 1, 100, VRING_DESC_F_WRITE, idx);
	memset(q->bufs + (size_t)a * NIC_SLOT, 0xee, 100);
	memset(q->bufs + (size_t)b * NIC_SLOT, 0xee, 100);
	dvq_publish(q, a);
	m = hook_arm(1500, swap_action);
	hook.slot = &q->avail->ring[(uint16_t)(q->avail_idx - 1) & (q->size - 1)];
	hook.to = b;
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	hook_disarm();
	assert_true(hook.fired);
	assert_int_equal(xs("tx_q0_drops"), drops + 1);

	/* nothing used; b was not available while the device copied, and
	 * is untouched */
	assert_int_equal(dvq_pending_used(q), 0);
	for (unsigned int i = 0; i < 100; i++)
		assert_int_equal(q->bufs[(size_t)b * NIC_SLOT + i], 0xee);
	/* the entry names b now: the next packet that fits lands there
	 * (the driver's books follow its own change of the entry) */
	for (uint16_t i = 0; i < q->fifo_n; i++)
		if (q->fifo[(q->fifo_h + i) % NIC_QSZ] == a)
			q->fifo[(q->fifo_h + i) % NIC_QSZ] = b;
	m = nic_mbuf(100 - NIC_HDR_LEN, 77, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, &m, 1), 1);
	assert_true(dvq_get_used(q, &id, &len));
	if (id != b)
		fail_msg("the entry names buffer %u, the device used %u", b,
			 id);
	assert_int_equal(len, 100);
	assert_true(pkt_check(q->bufs + (size_t)b * NIC_SLOT + NIC_HDR_LEN,
			      100 - NIC_HDR_LEN, 77));
	assert_int_equal(dvq_pending_used(q), 0);
	dvq_free_chain(q, a);
	dvq_free_chain(q, b);
	good_traffic(d);
	drv_close(d);
}

/*
 * Item 13: a VIRTIO_PCI_CAP_PCI_CFG window whose offset + length wraps at
 * 32 bits is not valid (nothing is accessed, the data register keeps what
 * was written), like any other window outside the BAR.
 */
static void
test_pci_cfg_window_wrap(void **state)
{
	static const struct {
		uint32_t off, len;
	} w[] = {
		{ 0x4000, 4 },		/* just past the BAR */
		{ 0xfffffffc, 4 },	/* wraps to 0 */
		{ 0xfffffffe, 2 },
		{ 0xffffffff, 1 },
	};
	struct nic_drv *d = drv_open();
	uint32_t cap = d->pcicfg_cap;
	uint32_t data = cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);

	(void)state;
	for (unsigned int i = 0; i < RTE_DIM(w); i++) {
		uint32_t v;

		cfg_w8(d, cap + offsetof(struct virtio_pci_cap, bar), NIC_BAR);
		cfg_w32(d, cap + offsetof(struct virtio_pci_cap, offset), w[i].off);
		cfg_w32(d, cap + offsetof(struct virtio_pci_cap, length), w[i].len);
		cfg_w32(d, data, 0x5a5a5a5a);
		v = cfg_r32(d, data);
		if (v != 0x5a5a5a5a)
			fail_msg("window at 0x%x, %u bytes: data reads 0x%08x",
				 w[i].off, w[i].len, v);
	}
	/* a valid window still works */
	cfg_w32(d, cap + offsetof(struct virtio_pci_cap, offset),
		CC(num_queues));
	cfg_w32(d, cap + offsetof(struct virtio_pci_cap, length), 2);
	assert_int_equal(cfg_r16(d, data), NIC_NVQS);
	drv_close(d);
}

/*
 * Item 13: without VIRTIO_NET_F_CTRL_VQ there is no control queue. Its
 * index reads as a queue that does not exist, and a driver that set it up
 * before FEATURES_OK (when every queue shows) gets no command served.
 */
static void
test_ctrl_vq_not_negotiated(void **state)
{
	struct nic_drv *d = drv_open();
	struct dvq *q = &d->vq[NIC_CTRL_VQ];
	uint8_t *buf = d->mem + NIC_SCRATCH_OFF;
	uint64_t b = NIC_IOVA + NIC_SCRATCH_OFF;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	uint16_t h, idx[2];

	(void)state;
	cc_w8(d, CC(device_status), 0);
	cc_w8(d, CC(device_status), s);
	cc_w32(d, CC(guest_feature_select), 0);
	cc_w32(d, CC(guest_feature), 0);
	cc_w32(d, CC(guest_feature_select), 1);
	cc_w32(d, CC(guest_feature), (uint32_t)(V1 >> 32));
	memset(d->vq, 0, sizeof(d->vq));
	d->features = V1;
	/* the control queue's slot set up while the layout is open */
	drv_setup_vq(d, NIC_CTRL_VQ);
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	cc_w8(d, CC(device_status), s);
	assert_int_equal(drv_status(d), s);
	cc_w16(d, CC(msix_config), 0);
	drv_setup_vq(d, 0);
	drv_setup_vq(d, 1);
	s |= VIRTIO_CONFIG_S_DRIVER_OK;
	cc_w8(d, CC(device_status), s);
	assert_int_equal(drv_status(d), s);
	rte_eth_stats_reset(nic.port);

	/* promiscuous off, on the queue that is not there */
	buf[0] = VIRTIO_NET_CTRL_RX;
	buf[1] = VIRTIO_NET_CTRL_RX_PROMISC;
	buf[2] = 0;
	buf[0x1000] = 0xee;
	h = raw_chain(q, 2, 0, 0, idx);
	q->desc[idx[0]] = (struct vring_desc){ b, 3, VRING_DESC_F_NEXT, idx[1] };
	q->desc[idx[1]] = (struct vring_desc){ b + 0x1000, 1, VRING_DESC_F_WRITE, 0 };
	dvq_publish(q, h);
	dvq_notify(d, q);
	usleep(20000);
	if (dvq_pending_used(q) != 0 || buf[0x1000] != 0xee)
		fail_msg("a control command was served without CTRL_VQ (ack %u)",
			 buf[0x1000]);
	assert_int_equal(xs("ctrl_packets"), 0);
	assert_int_equal(xs("driver_promisc"), 1);
	/* its index (2 without MQ) and beyond: no queue */
	for (uint16_t i = 2; i <= NIC_CTRL_VQ; i++) {
		cc_w16(d, CC(queue_select), i);
		assert_int_equal(cc_r16(d, CC(queue_size)), 0);
		cc_w16(d, CC(queue_enable), 1);
		assert_int_equal(cc_r16(d, CC(queue_enable)), 0);
	}
	assert_false(drv_status(d) & S_NEEDS_RESET);
	good_traffic(d);
	drv_close(d);
}

static int
mal_teardown(void **state)
{
	if (chain.log != NULL) {
		__atomic_store_n(&chain.armed, false, __ATOMIC_RELEASE);
		rte_log_set_level_pattern("pmd.net.vfio_user", RTE_LOG_NOTICE);
		rte_openlog_stream(NULL);
		fclose(chain.log);
		chain.log = NULL;
	}
	if (flood_running) {
		__atomic_store_n(&flood.stop, true, __ATOMIC_RELEASE);
		pthread_join(flood_thread, NULL);
		flood_running = false;
	}
	if (mqt_running) {
		__atomic_store_n(&mqt.stop, true, __ATOMIC_RELEASE);
		pthread_join(mqt_thread, NULL);
		mqt_running = false;
	}
	if (stalled_running) {
		__atomic_store_n(&hook.release, true, __ATOMIC_RELEASE);
		pthread_join(stalled_thread, NULL);
		stalled_running = false;
	}
	hook_disarm();
	if (mqo_running) {
		__atomic_store_n(&mqo.stop, true, __ATOMIC_RELEASE);
		pthread_join(mqo_thread, NULL);
		mqo_running = false;
	}
	if (flip_running) {
		__atomic_store_n(&flip.stop, true, __ATOMIC_RELEASE);
		pthread_join(flip_thread, NULL);
		flip_running = false;
	}
	if (traffic_running) {
		__atomic_store_n(&traffic.stop, true, __ATOMIC_RELEASE);
		pthread_join(traffic_thread, NULL);
		traffic_running = false;
	}
	return nic_test_teardown(state);
}

#define T(f) cmocka_unit_test_setup_teardown(f, nic_test_setup, mal_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tx_bad_addresses),
		T(test_tx_bad_chains),
		T(test_tx_bad_indirect),
		T(test_tx_misaligned_indirect),
		T(test_rx_bad),
		T(test_bad_rings),
		T(test_misaligned_rings),
		T(test_ctrl_bad),
		T(test_unmap_under_traffic),
		T(test_racing_driver),
		T(test_ctrl_doorbell_budget),
		T(test_ctrl_flood),
		T(test_rx_empty_segments),
		T(test_status_bits_cleared),
		T(test_tx_runts),
		T(test_mq_shrink_stops_rx),
		T(test_mq_shrink_under_traffic),
		T(test_rx_drop_returns_read_head),
		T(test_pci_cfg_window_wrap),
		T(test_ctrl_vq_not_negotiated),
	};
	int ret;

	/* NIC_TEST=<pattern>: run only the matching tests */
	if (getenv("NIC_TEST") != NULL)
		cmocka_set_test_filter(getenv("NIC_TEST"));
	rxbuf = malloc(sizeof(*rxbuf));
	if (rxbuf == NULL || nic_group_setup("nic_malicious") < 0)
		return 1;
	ret = cmocka_run_group_tests_name("nic_malicious", tests, NULL,
					  nic_group_teardown);
	free(rxbuf);
	return ret;
}
