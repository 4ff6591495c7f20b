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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
 * deliver only the good one, count one bad descriptor and one drop, and
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
	assert_int_equal(xs("rx_q0_drops"), drops + 1);
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
			assert_int_equal(rte_vfio_user_client_dma_map(d->c,
					 0x10000000, 4096, NULL, efd, 0,
					 VFIO_USER_DMA_MAP_F_READ), 0);
			assert_int_equal(rte_vfio_user_client_dma_unmap(d->c,
					 0x10000000, 4096), 0);
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

static int
mal_teardown(void **state)
{
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
	};
	int ret;

	rxbuf = malloc(sizeof(*rxbuf));
	if (rxbuf == NULL || nic_group_setup("nic_malicious") < 0)
		return 1;
	ret = cmocka_run_group_tests_name("nic_malicious", tests, NULL,
					  nic_group_teardown);
	free(rxbuf);
	return ret;
}
