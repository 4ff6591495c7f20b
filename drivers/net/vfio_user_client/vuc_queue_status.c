/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The ethdev queue status calls: rte_eth_rx_queue_count(),
 * rte_eth_rx_descriptor_status(), rte_eth_tx_descriptor_status().
 *
 *  - Receive: the buffers the device returned (used) and no burst took
 *    are DONE, the rest of those posted AVAIL (the device may fill them),
 *    the ring's others UNAVAIL (not posted: the queue's nb_desc is below
 *    the ring's size, or the pool ran short). One buffer is one descriptor
 *    (a mergeable frame counts each of its buffers).
 *  - Transmit, in frames (a queue's nb_desc is frames in flight,
 *    vuc_vq_set_want()): from where the next frame goes, the last ones
 *    the device has not used yet are FULL, the others DONE (used, freed
 *    or not).
 * A queue not running (stopped, or its device away) counts 0, every
 * descriptor UNAVAIL.
 *
 * The calls only read (nothing is freed, no counter moves). The ethdev
 * API has them not beside a burst on the same queue; one there (testpmd's
 * show commands while it forwards) gets an answer of that moment and
 * changes nothing. Each is online in the device's QSBR variable, as a
 * burst is, while it reads a ring.
 */

#include <errno.h>

#include <rte_common.h>
#include <rte_ethdev.h>

#include "vu_pmd_burst.h"
#include "vuc.h"
#include "vuc_ring.h"

VU_PMD_BURST_DEFINE(struct vuc_vq)

/* Buffers the device returned on receive queue vq, at most limit. */
static uint16_t
rx_used(const struct vuc_vq *vq, uint16_t limit)
{
	uint16_t posted = (uint16_t)(vq->size - vq->num_free), n;

	limit = RTE_MIN(limit, posted);	/* what a bad index could say more */
	if (vq->packed)
		return vuc_rx_used_packed(vq, limit);
	n = (uint16_t)(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) -
		       vq->last_used);
	return RTE_MIN(n, limit);
}

/* Frames in flight on transmit queue vq the device used (at most all). */
static uint16_t
tx_used(const struct vuc_vq *vq)
{
	uint16_t n;

	if (vq->packed)
		n = vuc_tx_used_packed(vq);
	else	/* a used entry a buffer, in order too (the device skips
		 * entries, not the index, VIRTIO 1.2 2.7.9) */
		n = (uint16_t)(__atomic_load_n(&vq->used->idx,
					       __ATOMIC_ACQUIRE) -
			       vq->last_used);
	return RTE_MIN(n, vq->inflight);
}

uint32_t
vuc_rx_queue_count(void *q)
{
	struct vuc_vq *vq = q;
	unsigned int lcore;
	uint16_t n;

	if (!vu_pmd_burst_enter(vq, &lcore))
		return 0;
	n = rx_used(vq, UINT16_MAX);
	vu_pmd_burst_leave(vq, lcore);
	return n;
}

int
vuc_rx_descriptor_status(void *q, uint16_t offset)
{
	struct vuc_vq *vq = q;
	unsigned int lcore;
	int ret;

	if (!vu_pmd_burst_enter(vq, &lcore))
		return RTE_ETH_RX_DESC_UNAVAIL;
	if (offset >= vq->size)
		ret = -EINVAL;
	else if (offset < rx_used(vq, (uint16_t)(offset + 1)))
		ret = RTE_ETH_RX_DESC_DONE;
	else if (offset < (uint16_t)(vq->size - vq->num_free))
		ret = RTE_ETH_RX_DESC_AVAIL;
	else
		ret = RTE_ETH_RX_DESC_UNAVAIL;
	vu_pmd_burst_leave(vq, lcore);
	return ret;
}

int
vuc_tx_descriptor_status(void *q, uint16_t offset)
{
	struct vuc_vq *vq = q;
	unsigned int lcore;
	uint16_t held;
	int ret;

	if (!vu_pmd_burst_enter(vq, &lcore))
		return RTE_ETH_TX_DESC_UNAVAIL;
	held = (uint16_t)(vq->inflight - tx_used(vq));
	/* the frames in flight are the ones just behind where the next one
	 * goes: offsets tx_cap - held ... tx_cap - 1, round the queue */
	held = RTE_MIN(held, vq->tx_cap);
	if (offset >= vq->tx_cap)
		ret = -EINVAL;
	else if (offset >= vq->tx_cap - held)
		ret = RTE_ETH_TX_DESC_FULL;
	else
		ret = RTE_ETH_TX_DESC_DONE;
	vu_pmd_burst_leave(vq, lcore);
	return ret;
}
