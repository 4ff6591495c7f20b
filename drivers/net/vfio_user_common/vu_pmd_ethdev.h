/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_PMD_ETHDEV_H
#define VU_PMD_ETHDEV_H

/*
 * ethdev scaffolding both PMDs have alike: a virtual 10G full-duplex link,
 * the device information of a port of queue pairs, the queue states of
 * start and stop, the operations that do nothing, vdev removal.
 */

#include <stdbool.h>
#include <stdint.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <rte_mbuf.h>

/*
 * The eth_dev_ops both PMDs have, in an initializer: the PMD's own
 * p##_dev_configure() ... p##_xstats_get_names(), and the shared ones
 * (the devices do not filter: the rx mode is reported only).
 */
#define VU_PMD_ETH_OPS(p)                                                      \
	.dev_configure = p##_dev_configure, .dev_start = p##_dev_start,        \
	.dev_stop = p##_dev_stop, .dev_close = p##_dev_close,                  \
	.dev_infos_get = p##_dev_info, .rx_queue_setup = p##_rx_queue_setup,   \
	.tx_queue_setup = p##_tx_queue_setup,                                  \
	.rx_queue_release = vu_pmd_queue_release,                              \
	.tx_queue_release = vu_pmd_queue_release,                              \
	.link_update = p##_link_update, .stats_get = p##_stats_get,            \
	.stats_reset = p##_stats_reset, .xstats_get = p##_xstats_get,          \
	.xstats_get_names = p##_xstats_get_names,                              \
	.promiscuous_enable = vu_pmd_noop, .allmulticast_enable = vu_pmd_noop

/* The link both PMDs report, up or down. */
static inline struct rte_eth_link
vu_pmd_link(int up)
{
	return (struct rte_eth_link){
		.link_speed = RTE_ETH_SPEED_NUM_10G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = up ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN,
	};
}

/* dev_infos_get of a port of max_pairs queue pairs, MTU up to max_mtu. */
void vu_pmd_dev_info(struct rte_eth_dev_info *info, uint16_t max_pairs,
		     uint16_t max_mtu, uint32_t max_rx_pktlen);

/* The warning of vu_pmd_rx_chains_unasked(): path, queue, frame, MTU,
 * room. */
#define VU_PMD_RX_CHAINS_MSG                                                \
	"%s: rx queue %u: frames of up to %u bytes (MTU %u) arrive as "     \
	"chains of mbufs of %u bytes: enable RTE_ETH_RX_OFFLOAD_SCATTER "   \
	"(testpmd --enable-scatter) to say the application takes them, or " \
	"give the queue larger mbufs"

/*
 * Whether frames of up to mtu (plus an Ethernet header and two VLAN tags:
 * *frame bytes) may arrive as chains of mbufs of mp (*room bytes of data
 * each) that the application did not ask for: neither the port nor the
 * queue (offloads) enabled scatter or LRO. Both PMDs chain such frames,
 * as net_vhost does, and say so at the port's start.
 */
bool vu_pmd_rx_chains_unasked(const struct rte_eth_dev *dev, uint64_t offloads,
			      const struct rte_mempool *mp, uint16_t mtu,
			      uint32_t *frame, uint32_t *room);

/* Every configured rx and tx queue to state (RTE_ETH_QUEUE_STATE_*). */
void vu_pmd_queues_state(struct rte_eth_dev *dev, uint8_t state);

/*
 * Receive interrupts (intr_conf.rxq): the port's interrupt handle, a
 * vdev's (RTE_INTR_HANDLE_VDEV), made at the first call (shared memory)
 * and kept to vu_pmd_rxq_intr_free() (port close); rx queue q's vector on
 * efds[q] for each configured queue, EAL reading counter_size bytes from
 * one that fires (0: none, the PMD empties it). 0, -ENOMEM or -EINVAL.
 */
int vu_pmd_rxq_intr_set(struct rte_eth_dev *dev, const int *efds,
			uint8_t counter_size);
void vu_pmd_rxq_intr_free(struct rte_eth_dev *dev);

/* rx/tx_queue_release: the queues live in the device structure. */
void vu_pmd_queue_release(struct rte_eth_dev *dev, uint16_t q);

/*
 * promiscuous / allmulticast enable: the device does not filter, so both
 * are on from the probe (vu_pmd_port_init()) and cannot be turned off
 * (no disable op: ethdev answers -ENOTSUP).
 */
int vu_pmd_noop(struct rte_eth_dev *dev);

/* rxq_info_get's rx_buf_size: the data room of mp's mbufs past their
 * headroom, 0 without a pool. */
static inline uint16_t
vu_pmd_rx_buf_size(struct rte_mempool *mp)
{
	if (mp == NULL)
		return 0;
	return (uint16_t)(rte_pktmbuf_data_room_size(mp) -
			  RTE_PKTMBUF_HEADROOM);
}

/* burst_mode_get's text: the ring layout a queue runs (or will). */
int vu_pmd_burst_mode(struct rte_eth_burst_mode *mode, bool ready, bool packed,
		      bool in_order);

/* What the probe of both PMDs sets in the port's data. */
void vu_pmd_port_init(struct rte_eth_dev *eth);

/*
 * RTE_PMD_REGISTER_PARAM_STRING(name, str), and the PMD_INFO_STRING that
 * DPDK's build generates for each of its own drivers (pmdinfogen) and
 * dpdk-pmdinfo.py reads from .rodata: Debian ships no pmdinfogen for
 * out-of-tree drivers. str must not hold a double quote or backslash.
 */
#define VU_PMD_INFO_JSON(name, str)                                   \
	"{\"name\": \"" RTE_STR(name) "\", \"params\": \"" str "\", " \
				      "\"pci_ids\": []}"
#define VU_PMD_REGISTER_PARAM_STRING(name, str)             \
	RTE_PMD_REGISTER_PARAM_STRING(name, str);           \
	static const char vu_pmd_info_##name[] __rte_used = \
		"PMD_INFO_STRING= " VU_PMD_INFO_JSON(name, str)

/* The frontend PMD's old vdev name, refused by both PMDs: the backend's
 * name is a prefix of it, so whichever plugin the vdev bus tries first
 * says the same. */
#define VU_PMD_FRONTEND_NAME "net_virtio_vfio_user"
#define VU_PMD_OLD_FRONTEND_NAME "net_vfio_user_client"

/* -EINVAL, said in the log, when name is the frontend's old name; else 0. */
int vu_pmd_old_frontend_name(const char *name);

/* rte_vdev_driver.remove: close and release the port, if any. */
int vu_pmd_remove(struct rte_vdev_device *vdev);

/*
 * Probe in a secondary process (dpdk-proc-info, dpdk-pdump, ...): the
 * primary's port, to look at through ops, which may only read the port's
 * shared data (dev_private: no pointer the primary allocated with malloc()
 * or mapped for itself). No data path: the queues map memory of the
 * primary's peers, so bursts here return 0. -ENODEV if the primary has no
 * such port.
 */
int vu_pmd_probe_secondary(struct rte_vdev_device *vdev,
			   const struct eth_dev_ops *ops);

/* link_update in a secondary process: the port's link as the primary
 * keeps it. */
int vu_pmd_link_shared(struct rte_eth_dev *dev, int wait);

#endif /* VU_PMD_ETHDEV_H */
