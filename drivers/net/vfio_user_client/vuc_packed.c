/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include "vuc_ring.h"

uint16_t
vuc_rx_packed(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(vq);
	RTE_SET_USED(pkts);
	RTE_SET_USED(n);
	return 0;
}

uint16_t
vuc_tx_packed(struct vuc_vq *vq, struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(vq);
	RTE_SET_USED(pkts);
	RTE_SET_USED(n);
	return 0;
}

int
vuc_rxq_fill_packed(struct vuc_vq *vq)
{
	RTE_SET_USED(vq);
	return 0;
}

void
vuc_vq_init_packed(struct vuc_vq *vq)
{
	RTE_SET_USED(vq);
}

bool
vuc_txq_done_packed(const struct vuc_vq *vq)
{
	RTE_SET_USED(vq);
	return true;
}
