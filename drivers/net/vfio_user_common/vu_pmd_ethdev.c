/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/* ethdev scaffolding both PMDs share (see vu_pmd_ethdev.h). */

#include <errno.h>
#include <string.h>

#include <ethdev_vdev.h>
#include <rte_mbuf.h>

#include "vu_pmd_csum.h"
#include "vu_pmd_ethdev.h"

void
vu_pmd_dev_info(struct rte_eth_dev_info *info, uint16_t max_pairs,
		uint16_t max_mtu, uint32_t max_rx_pktlen)
{
	info->max_mac_addrs = 1;
	info->max_rx_pktlen = max_rx_pktlen;
	info->max_rx_queues = max_pairs;
	info->max_tx_queues = max_pairs;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = max_mtu;
	/* segmentation: GSO packets where the peer takes them, else cut
	 * into segments here (vu_pmd_tx_cut()) */
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
				VU_PMD_TX_CSUM_CAPA |
				RTE_ETH_TX_OFFLOAD_TCP_TSO;
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER |
				VU_PMD_RX_CSUM_CAPA;
	info->speed_capa = RTE_ETH_LINK_SPEED_10G;
}

bool
vu_pmd_rx_chains_unasked(const struct rte_eth_dev *dev, uint64_t offloads,
			 const struct rte_mempool *mp, uint16_t mtu,
			 uint32_t *frame, uint32_t *room)
{
	uint32_t dr = rte_pktmbuf_data_room_size((struct rte_mempool *)mp);

	offloads |= dev->data->dev_conf.rxmode.offloads;
	*frame = (uint32_t)mtu + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN;
	*room = dr > RTE_PKTMBUF_HEADROOM ? dr - RTE_PKTMBUF_HEADROOM : 0;
	return (offloads & (RTE_ETH_RX_OFFLOAD_SCATTER |
			    RTE_ETH_RX_OFFLOAD_TCP_LRO)) == 0 &&
	       *frame > *room;
}

void
vu_pmd_queues_state(struct rte_eth_dev *dev, uint8_t state)
{
	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++)
		dev->data->rx_queue_state[q] = state;
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++)
		dev->data->tx_queue_state[q] = state;
}

int
vu_pmd_rxq_intr_set(struct rte_eth_dev *dev, const int *efds,
		    uint8_t counter_size)
{
	uint16_t nrx = dev->data->nb_rx_queues;
	struct rte_intr_handle *ih = dev->intr_handle;

	if (ih == NULL) {
		ih = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_SHARED);
		if (ih == NULL)
			return -ENOMEM;
		dev->intr_handle = ih;
	}
	if (rte_intr_type_set(ih, RTE_INTR_HANDLE_VDEV) ||
	    rte_intr_nb_efd_set(ih, nrx) ||
	    rte_intr_max_intr_set(ih, nrx + 1) ||
	    rte_intr_efd_counter_size_set(ih, counter_size))
		return -EINVAL;
	/* the queue -> vector map rte_eth_dev_rx_intr_ctl_q() looks up (a
	 * restart may have more queues: made again) */
	rte_intr_vec_list_free(ih);
	if (rte_intr_vec_list_alloc(ih, "vu_pmd_intr_vec", nrx))
		return -ENOMEM;
	for (uint16_t q = 0; q < nrx; q++)
		if (rte_intr_efds_index_set(ih, q, efds[q]) ||
		    rte_intr_vec_list_index_set(ih, q,
						RTE_INTR_VEC_RXTX_OFFSET + q))
			return -EINVAL;
	return 0;
}

void
vu_pmd_rxq_intr_free(struct rte_eth_dev *dev)
{
	if (dev->intr_handle != NULL) {
		rte_intr_vec_list_free(dev->intr_handle);
		rte_intr_instance_free(dev->intr_handle);
		dev->intr_handle = NULL;
	}
}

void
vu_pmd_queue_release(struct rte_eth_dev *dev, uint16_t q)
{
	RTE_SET_USED(dev);
	RTE_SET_USED(q);
}

int
vu_pmd_noop(struct rte_eth_dev *dev)
{
	RTE_SET_USED(dev);
	return 0;
}

void
vu_pmd_port_init(struct rte_eth_dev *eth)
{
	eth->data->promiscuous = 1;
	eth->data->all_multicast = 1;
	eth->data->dev_flags |= RTE_ETH_DEV_INTR_LSC;
	eth->data->dev_link = vu_pmd_link(0);
}

int
vu_pmd_burst_mode(struct rte_eth_burst_mode *mode, bool ready, bool packed,
		  bool in_order)
{
	mode->flags = 0;
	if (!ready)
		snprintf(mode->info, sizeof(mode->info),
			 "no driver yet: the ring layout is negotiated");
	else
		snprintf(mode->info, sizeof(mode->info), "%s rings%s",
			 packed ? "packed" : "split",
			 in_order ? ", in order" : "");
	return 0;
}

int
vu_pmd_old_frontend_name(const char *name)
{
	if (strncmp(name, VU_PMD_OLD_FRONTEND_NAME,
		    strlen(VU_PMD_OLD_FRONTEND_NAME)) != 0)
		return 0;
	RTE_LOG(ERR, PMD,
		"%s: " VU_PMD_OLD_FRONTEND_NAME
		" was renamed " VU_PMD_FRONTEND_NAME
		" (the frontend PMD): use --vdev " VU_PMD_FRONTEND_NAME
		"N,path=...\n",
		name);
	return -EINVAL;
}

static uint16_t
no_burst(void *q, struct rte_mbuf **pkts, uint16_t n)
{
	RTE_SET_USED(q);
	RTE_SET_USED(pkts);
	RTE_SET_USED(n);
	return 0;
}

int
vu_pmd_link_shared(struct rte_eth_dev *dev, int wait)
{
	RTE_SET_USED(dev);
	RTE_SET_USED(wait);
	return 0;	/* the primary keeps the port's data current */
}

int
vu_pmd_probe_secondary(struct rte_vdev_device *vdev,
		       const struct eth_dev_ops *ops)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *eth = rte_eth_dev_attach_secondary(name);

	if (eth == NULL) {
		RTE_LOG(ERR, PMD, "%s: no such port in the primary process\n",
			name);
		return -ENODEV;
	}
	eth->dev_ops = ops;
	eth->device = &vdev->device;
	eth->rx_pkt_burst = no_burst;
	eth->tx_pkt_burst = no_burst;
	rte_eth_dev_probing_finish(eth);
	return 0;
}

/*
 * The vdev is going (rte_dev_remove(), and rte_eal_cleanup() for every
 * vdev, started or not): stop the port if it runs, then close it, which
 * releases it. A close refused for a started port used to be ignored and
 * the port released all the same: the device went on serving its client
 * with its private data freed. In a secondary process the port is the
 * primary's: only let go of it (the close op does nothing there).
 */
int
vu_pmd_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *eth = rte_eth_dev_allocated(
		rte_vdev_device_name(vdev));
	uint16_t port;
	int ret;

	/* closed already, and released with it (a secondary process's
	 * release leaves the shared data, and so the name, found) */
	if (eth == NULL || eth->state == RTE_ETH_DEV_UNUSED)
		return 0;
	port = eth->data->port_id;
	if (rte_eal_process_type() == RTE_PROC_PRIMARY &&
	    eth->data->dev_started) {
		ret = rte_eth_dev_stop(port);
		if (ret < 0)
			return ret;
	}
	return rte_eth_dev_close(port);
}
