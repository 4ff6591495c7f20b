/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include "vun_ring.h"

uint16_t
vun_rx_packed(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	      struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(vq);
	RTE_SET_USED(t);
	RTE_SET_USED(pkts);
	RTE_SET_USED(n);
	return 0;
}

uint16_t
vun_tx_packed(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	      struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(vq);
	RTE_SET_USED(t);
	RTE_SET_USED(pkts);
	RTE_SET_USED(n);
	return 0;
}
