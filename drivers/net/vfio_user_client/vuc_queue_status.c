/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The ethdev queue status calls: rte_eth_rx_queue_count(),
 * rte_eth_rx_descriptor_status(), rte_eth_tx_descriptor_status(), and
 * rte_eth_get_monitor_addr() (what a receive queue's next buffer changes).
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

/*
 * rte_eth_get_monitor_addr(): rte_power_monitor() sleeps until the word
 * the device writes when it returns the next receive buffer changes (split:
 * the used index; packed: the flags of the descriptor at last_used), and
 * asks monitor_clb() first whether it already did. The rings are in the
 * queue's memzone, ours: the address stays valid while the port is
 * configured (the memzone goes at close, or when a device reconnected
 * with another queue size has the rings made again).
 */
enum {
	MON_VAL,
	MON_MASK,
	MON_PACKED
};

/* 0: nothing came, the caller may sleep; -1: a buffer came. */
static int
monitor_clb(const uint64_t value,
	    const uint64_t opaque[RTE_POWER_MONITOR_OPAQUE_SZ])
{
	bool match = (value & opaque[MON_MASK]) == opaque[MON_VAL];

	/* packed: the flags say used; split: the index has not moved */
	return match == (opaque[MON_PACKED] != 0) ? -1 : 0;
}

int
vuc_get_monitor_addr(void *q, struct rte_power_monitor_cond *pmc)
{
	struct vuc_vq *vq = q;

	if (vq == NULL || vq->mz == NULL || vq->avail == NULL)
		return -EINVAL;	/* no rings */
	if (vq->packed) {
		pmc->addr = &vq->pdesc[vq->last_used].flags;
		pmc->size = sizeof(vq->pdesc[0].flags);
		pmc->opaque[MON_VAL] = vuc_used_bits(vq->used_wrap);
		pmc->opaque[MON_MASK] = VUC_F_AVAIL | VUC_F_USED;
		pmc->opaque[MON_PACKED] = 1;
	} else {
		pmc->addr = &vq->used->idx;
		pmc->size = sizeof(vq->used->idx);
		pmc->opaque[MON_VAL] = vq->last_used;
		pmc->opaque[MON_MASK] = UINT16_MAX;
		pmc->opaque[MON_PACKED] = 0;
	}
	pmc->fn = monitor_clb;
	return 0;
}
