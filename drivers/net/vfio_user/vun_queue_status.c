/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The ethdev queue status calls: rte_eth_rx_queue_count(),
 * rte_eth_rx_descriptor_status(), rte_eth_tx_descriptor_status().
 *
 * The port's "hardware" is the driver at the other end of the socket:
 *  - a receive queue holds what the driver made available in its transmitq
 *    (the transmitqs of the queue's set, struct vun_rx_set) and no burst
 *    took yet: those descriptors are DONE, the rest of the ring AVAIL (the
 *    driver may fill them);
 *  - a transmit burst copies into the receive buffers the driver posted
 *    before it returns, so nothing ever waits in a transmit queue (no
 *    descriptor is FULL): the buffers posted are DONE (a frame can go
 *    there now), the rest of the ring UNAVAIL (the driver holds them).
 * Counted in buffers (a chain of descriptors is one), from the next one a
 * burst takes. A queue whose ring the driver has not set up (or the
 * engine serves, offload mode) counts 0, every descriptor UNAVAIL; as a
 * stopped transmit queue's (a burst sends nothing). A stopped receive
 * queue still counts what waits in its ring.
 *
 * The calls only read: the driver's rings (behind a shadow copy too: the
 * copy is the bursts'), and what the bursts keep of them. The ethdev API
 * has them not beside a burst on the same queue; one there (testpmd's
 * show commands while it forwards) gets an answer of that moment and
 * changes nothing. Each is online in the device's QSBR variable, as a
 * burst is, while it reads a ring.
 */

#include <errno.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_spinlock.h>

#include "vun.h"
#include "vun_ring.h"
#include "vun_shadow.h"

VU_PMD_BURST_DEFINE(struct vun_vq)

/* Buffers available on vq, ready and the caller online (at most limit),
 * in the driver's rings, and its ring's size in *size. */
static uint16_t
ready_bufs(struct vun_vq *vq, uint16_t limit, uint32_t *size)
{
	*size = vq->size;
	return vun_bufs_avail(vq, limit, true);
}

/* ready_bufs() online (0 and 0 when vq is not ready). */
static uint16_t
vq_bufs(struct vun_vq *vq, uint16_t limit, uint32_t *size)
{
	unsigned int lcore;
	uint16_t n;

	*size = 0;
	if (!vu_pmd_burst_enter(vq, &lcore))
		return 0;
	n = ready_bufs(vq, limit, size);
	vu_pmd_burst_leave(vq, lcore);
	return n;
}

/* What receive queue own holds, over its set: frames waiting (at most
 * limit) and the rings' sizes summed. */
static uint32_t
rxq_bufs(struct vun_vq *own, uint32_t limit, uint32_t *size)
{
	const struct vun_rx_set *s = own->rx_set;
	uint32_t n = 0, sz;

	if (s == NULL)
		return vq_bufs(own,
			       (uint16_t)RTE_MIN(limit, (uint32_t)UINT16_MAX),
			       size);
	*size = 0;
	for (uint16_t i = 0; i < s->n && n < limit; i++) {
		n += vq_bufs(s->vq[i],
			     (uint16_t)RTE_MIN(limit - n, (uint32_t)UINT16_MAX),
			     &sz);
		*size += sz;
	}
	return n;
}

uint32_t
vun_rx_queue_count(void *q)
{
	uint32_t size;

	return rxq_bufs(q, UINT32_MAX, &size);
}

int
vun_rx_descriptor_status(void *q, uint16_t offset)
{
	uint32_t size, n = rxq_bufs(q, (uint32_t)offset + 1, &size);

	if (size == 0)
		return RTE_ETH_RX_DESC_UNAVAIL;
	if (offset >= size)
		return -EINVAL;
	return offset < n ? RTE_ETH_RX_DESC_DONE : RTE_ETH_RX_DESC_AVAIL;
}

/*
 * The pair a transmit queue sends through is found as vun_tx_burst() finds
 * it (vun_tx_pair_of(), online: vun_tx_map_update() changes the pairs a
 * grace period after it sets VUN_TX_SHARED, and clears it a grace period
 * after; a map read offline could name a pair another queue's burst now
 * fills without the lock).
 */
int
vun_tx_descriptor_status(void *q, uint16_t offset)
{
	struct vun_vq *own = q, *vq;
	struct vun_dev *dev = own->dev;
	unsigned int lcore;
	uint32_t map, size = 0;
	uint16_t n = 0;

	if (!vu_pmd_online(own, &lcore))
		return RTE_ETH_TX_DESC_UNAVAIL;
	if (__atomic_load_n(&own->stopped, __ATOMIC_ACQUIRE))
		goto out;	/* its bursts send nothing */
	map = __atomic_load_n(&dev->tx_map, __ATOMIC_ACQUIRE);
	vq = vun_tx_pair_of(own, map);
	if (vq != NULL && (map & VUN_TX_SHARED)) {
		/* the pair's bursts hold it while they move its state */
		rte_spinlock_lock(&vq->tx_lock);
		n = ready_bufs(vq, (uint16_t)(offset + 1), &size);
		rte_spinlock_unlock(&vq->tx_lock);
	} else if (vq != NULL) {
		n = ready_bufs(vq, (uint16_t)(offset + 1), &size);
	}
	/* else a pair not enabled, or not ready */
out:
	vu_pmd_burst_leave(own, lcore);
	if (size == 0)
		return RTE_ETH_TX_DESC_UNAVAIL;
	if (offset >= size)
		return -EINVAL;
	return offset < n ? RTE_ETH_TX_DESC_DONE : RTE_ETH_TX_DESC_UNAVAIL;
}
