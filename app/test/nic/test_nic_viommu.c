/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Rings in message-only memory: refused (test_rings_message_only).
 *
 * A driver behind a vIOMMU maps each buffer just before it makes it
 * available (issue 16): QEMU sends the DMA_MAP and waits for our reply
 * while the guest waits for its IOTLB invalidation, then the guest writes
 * the descriptor. A burst that loaded the memory table before that map
 * finds the buffer in no region of its table. The device must not call
 * that the driver's error: a Linux guest with intel_iommu=on lost one
 * echo request in a few hundred that way (rx_q0_bad_descriptors grew, the
 * chain was dropped).
 *
 * Reproduced without a VM: this program defines rte_vfio_user_get_mem_table()
 * itself (the PMD's calls to it resolve here, as the executable's symbols
 * come first), and can hand the next burst of this thread the table as it
 * was before a map, once. The buffer is then mapped at a new IOVA (an
 * alias of its page, as an IOMMU gives one) and the descriptor pointed at
 * it: the burst must take it (split and packed rings, both directions),
 * and a buffer at an address that is in no table stays a bad descriptor.
 */

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nic_common.h"

#define PACKED NIC_F(VIRTIO_F_RING_PACKED)
/* IOVAs of the aliases: far from the guest memory at NIC_IOVA */
#define ALIAS_IOVA 0x7f0000000000ULL
#define NOWHERE_IOVA 0x7e0000000000ULL

static const struct rte_vfio_user_mem_table *stale;
static pthread_t stale_thread;
static unsigned int stale_served;

const struct rte_vfio_user_mem_table *rte_vfio_user_get_mem_table(int dev_id);

/* The library's, but once (on the armed thread) the stale table. */
const struct rte_vfio_user_mem_table *
rte_vfio_user_get_mem_table(int dev_id)
{
	static const struct rte_vfio_user_mem_table *(*real)(int);

	if (stale != NULL && pthread_equal(pthread_self(), stale_thread)) {
		const struct rte_vfio_user_mem_table *t = stale;

		stale = NULL;
		stale_served++;
		return t;
	}
	if (real == NULL)
		real = (const struct rte_vfio_user_mem_table *(*)(int))
			dlsym(RTLD_NEXT, "rte_vfio_user_get_mem_table");
	assert_non_null(real);
	return real(dev_id);
}

/* The next table this thread asks for is t. */
static void
arm_stale(const struct rte_vfio_user_mem_table *t)
{
	stale_thread = pthread_self();
	stale = t;
}

/* Map the 16 KiB slot of a buffer at iova too (its page's alias). */
static void
map_alias(struct nic_drv *d, const uint8_t *slot, uint64_t iova)
{
	uint64_t off = drv_iova(d, slot) - NIC_IOVA;

	assert_int_equal(
		rte_vfio_user_client_dma_map(d->c, iova, NIC_SLOT, d->mem + off,
					     d->memfd, off,
					     VFIO_USER_DMA_MAP_F_READ |
						     VFIO_USER_DMA_MAP_F_WRITE),
		0);
}

/* Point the buffer just made available (one descriptor) at iova. */
static void
set_last_addr(struct dvq *q, uint16_t head, uint64_t iova)
{
	if (q->packed)
		q->pdesc[(uint16_t)(q->next_avail + q->size - 1) % q->size]
			.addr = iova;
	else
		q->desc[head].addr = iova;
}

static void
late_map(uint64_t ring)
{
	struct nic_drv *d = drv_open();
	struct dvq *tq = &d->vq[1], *rq = &d->vq[0];
	const struct rte_vfio_user_mem_table *t0;
	struct rte_mbuf *m[4];
	struct drx *rx = malloc(sizeof(*rx));
	uint16_t old, h, id;
	uint32_t len;

	assert_non_null(rx);
	stale_served = 0;
	rte_eth_stats_reset(nic.port);
	drv_init(d, NIC_OFFERED | ring, NIC_NVQS);
	assert_true(NIC_WAIT(nic_link_up(), 2000));

	/* driver -> device: the table, then the map, then the buffer */
	t0 = rte_vfio_user_get_mem_table(nic.dev_id);
	old = tq->avail_idx;
	h = drv_send(d, tq, 1000, 1, TX_ONE, 0);
	map_alias(d, tq->bufs + (size_t)h * NIC_SLOT, ALIAS_IOVA);
	set_last_addr(tq, h, ALIAS_IOVA);
	dvq_kick(d, tq, old);
	arm_stale(t0);
	assert_int_equal(nic_rx(0, m, 1, 2000), 1);
	assert_int_equal(stale_served, 1);
	assert_true(nic_mbuf_check(m[0], 1000, 1));
	nic_free(m, 1);
	assert_int_equal(drv_tx_reclaim(tq), 1);
	assert_int_equal(nic_xstat("rx_q0_bad_descriptors"), 0);

	/* device -> driver: a receive buffer mapped after the table */
	t0 = rte_vfio_user_get_mem_table(nic.dev_id);
	old = rq->avail_idx;
	h = drv_post_rx(rq, 1, NIC_SLOT, false);
	map_alias(d, rq->bufs + (size_t)h * NIC_SLOT, ALIAS_IOVA + NIC_SLOT);
	set_last_addr(rq, h, ALIAS_IOVA + NIC_SLOT);
	dvq_kick(d, rq, old);
	m[0] = nic_mbuf(1200, 2, 0);
	arm_stale(t0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
	assert_int_equal(stale_served, 2);
	assert_true(drv_recv(d, rq, rx));
	assert_int_equal(rx->len, 1200);
	assert_true(pkt_check(rx->data, 1200, 2));
	assert_int_equal(nic_xstat("tx_q0_bad_descriptors"), 0);
	assert_int_equal(nic_xstat("tx_q0_drops"), 0);

	/* an address no table maps stays the driver's error, both ways,
	 * whether or not the table changed during the burst */
	for (int late = 0; late < 2; late++) {
		uint64_t where = NOWHERE_IOVA + (uint64_t)late * NIC_SLOT;

		t0 = rte_vfio_user_get_mem_table(nic.dev_id);
		if (late) /* a map elsewhere: the burst tries the new table */
			map_alias(d, tq->bufs, ALIAS_IOVA + 4 * NIC_SLOT);
		old = tq->avail_idx;
		h = drv_send(d, tq, 1000, 3, TX_ONE, 0);
		set_last_addr(tq, h, where);
		dvq_kick(d, tq, old);
		arm_stale(t0);
		assert_int_equal(nic_rx(0, m, 1, 200), 0);
		assert_int_equal(nic_xstat("rx_q0_bad_descriptors"),
				 (uint64_t)late + 1);
		assert_int_equal(drv_tx_reclaim(tq), 1);

		old = rq->avail_idx;
		h = drv_post_rx(rq, 1, NIC_SLOT, false);
		set_last_addr(rq, h, where);
		dvq_kick(d, rq, old);
		m[0] = nic_mbuf(1200, 4, 0);
		arm_stale(rte_vfio_user_get_mem_table(nic.dev_id));
		/* taken (dropped), its buffer given back empty */
		assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 1), 1);
		assert_int_equal(nic_xstat("tx_q0_bad_descriptors"),
				 (uint64_t)late + 1);
		assert_true(dvq_get_used(rq, &id, &len));
		assert_int_equal(id, h);
		assert_int_equal(len, 0);
		dvq_free_chain(rq, id);
	}
	stale = NULL;
	assert_true(drv_canary_ok(d));
	free(rx);
}

/*
 * Rings in message-only memory (a DMA region without an fd): the data
 * path cannot read them, neither through a view nor through shadow rings
 * (a message from a burst would wait for the event thread, which may be
 * waiting for the burst): NEEDS_RESET at DRIVER_OK, as for rings outside
 * the map, split and packed.
 */
static void
test_rings_message_only(void **state)
{
	const uint8_t up = VIRTIO_CONFIG_S_ACKNOWLEDGE |
			   VIRTIO_CONFIG_S_DRIVER |
			   VIRTIO_CONFIG_S_FEATURES_OK |
			   VIRTIO_CONFIG_S_DRIVER_OK;

	(void)state;
	for (int packed = 0; packed < 2; packed++) {
		struct nic_drv *d = drv_open();
		uint8_t *mem = d->mem + NIC_SCRATCH_OFF;

		assert_int_equal(rte_vfio_user_client_dma_map(
					 d->c, ALIAS_IOVA, 0x4000, mem, -1, 0,
					 VFIO_USER_DMA_MAP_F_READ |
						 VFIO_USER_DMA_MAP_F_WRITE),
				 0);
		drv_negotiate(d, NIC_OFFERED | (packed ? PACKED : 0));
		cc_w16(d, CC(msix_config), 0);
		for (uint16_t i = 0; i < NIC_NVQS; i++)
			if (i == 0)
				drv_setup_vq_at(d, i, 0, ALIAS_IOVA,
						ALIAS_IOVA + 0x1000,
						ALIAS_IOVA + 0x2000);
			else
				drv_setup_vq(d, i);
		cc_w8(d, CC(device_status), up);
		assert_true(drv_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET);
		drv_close(d);
	}
}

static void
test_late_map_split(void **state)
{
	(void)state;
	late_map(0);
}

static void
test_late_map_packed(void **state)
{
	(void)state;
	late_map(PACKED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rings_message_only,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_late_map_split,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_late_map_packed,
						nic_test_setup,
						nic_test_teardown),
	};

	if (nic_group_setup("test_nic_viommu") < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, nic_group_teardown);
}
