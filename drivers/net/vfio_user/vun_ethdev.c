/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * ethdev glue of net_vfio_user: devargs, port operations, link state,
 * statistics. The port's rx queue N receives what the driver sends on its
 * transmit queue N; tx queue N fills the driver's receive queue N.
 *
 *   --vdev 'net_vfio_user0,path=/run/vnic0.sock,queues=2,mac=02:00:00:00:00:01,mtu=1500'
 *   --vdev 'net_vfio_user0,path=/run/vnic0.sock,sock_mode=0660'
 *   packed_vq=0 / in_order=0: do not offer packed rings / in-order use
 *   csum=0: do not offer checksum offloads (VIRTIO_NET_F_CSUM, _GUEST_CSUM)
 *   tso=0: do not offer TCP segmentation, else (with csum) HOST_TSO4/6
 *   while the port has RTE_ETH_RX_OFFLOAD_TCP_LRO taking any GSO packet,
 *   GUEST_TSO4/6 while it has RTE_ETH_TX_OFFLOAD_TCP_TSO
 *   ring_copy=1: run every virtqueue on a shadow copy of its rings (the
 *   way of rings no view can be made of, vun_shadow.h), for tests
 *   timeout=<ms>: how long the device waits for its client (the rest of a
 *   message, the reading of its replies, an answer to a DMA message),
 *   rte_vfio_user_set_timeouts()
 *   rx_partial=1: the driver's partial checksums kept, flagged
 *   RTE_MBUF_F_RX_L4_CKSUM_NONE, while the port has the receive checksum
 *   offloads (vu_pmd_csum_partial())
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "vu_pmd_args.h"
#include "vu_pmd_csum.h"
#include "vu_pmd_ethdev.h"
#include "vu_pmd_stats.h"
#include "vun.h"
#include "vun_layout.h"
#include "vun_offload.h"

RTE_LOG_REGISTER_DEFAULT(vun_logtype, NOTICE);

#define ARG_PATH	"path"
#define ARG_QUEUES	"queues"
#define ARG_MAC		"mac"
#define ARG_MTU		"mtu"
#define ARG_SOCK_MODE	"sock_mode"
#define ARG_PACKED_VQ	"packed_vq"
#define ARG_IN_ORDER	"in_order"
#define ARG_OFFLOAD	"offload"
#define ARG_RING_COPY	"ring_copy"
#define ARG_CSUM	"csum"
#define ARG_TSO		"tso"
#define ARG_TIMEOUT	"timeout"
#define ARG_RX_PARTIAL	"rx_partial"

static const char *const valid_args[] = {
	ARG_PATH,	ARG_QUEUES,    ARG_MAC,	     ARG_MTU,
	ARG_SOCK_MODE,	ARG_PACKED_VQ, ARG_IN_ORDER, ARG_OFFLOAD,
	ARG_RING_COPY,	ARG_CSUM,      ARG_TSO,	     ARG_TIMEOUT,
	ARG_RX_PARTIAL, NULL,
};

/* ---- link ---- */

static bool
link_is_up(const struct vun_dev *d)
{
	return d->port_started && !d->link_down && d->connected && !d->halted &&
		(d->status & VIRTIO_CONFIG_S_DRIVER_OK);
}

static int
vun_link_update(struct rte_eth_dev *dev, int wait)
{
	struct vun_dev *d = dev->data->dev_private;
	struct rte_eth_link link = vu_pmd_link(
		__atomic_load_n(&d->link_up, __ATOMIC_ACQUIRE));

	RTE_SET_USED(wait);
	return rte_eth_linkstatus_set(dev, &link);
}

void
vun_link_update_notify(struct vun_dev *d)
{
	struct rte_eth_dev *dev = &rte_eth_devices[d->port_id];
	uint32_t up = link_is_up(d);

	if (__atomic_exchange_n(&d->link_up, up, __ATOMIC_ACQ_REL) == up)
		return;
	VUN_LOG(INFO, "%s: link %s", d->path, up ? "up" : "down");
	/* with intr_conf.lsc, rte_eth_link_get() returns the stored link
	 * without asking us: store it before telling the application */
	vun_link_update(dev, 0);
	vu_pmd_lsc_raise(&d->lsc);
}

/* ---- port operations ---- */

/* The port's max_lro_pkt_size with LRO enabled, else 0. */
static uint32_t
max_lro_of(const struct vun_dev *d, const struct rte_eth_rxmode *rxm)
{
	if (!(rxm->offloads & RTE_ETH_RX_OFFLOAD_TCP_LRO))
		return 0;
	/* ethdev made 0 the MTU's frame; a driver cannot be told a limit */
	if (rxm->max_lro_pkt_size < VU_PMD_MAX_GSO_FRAME)
		VUN_LOG(WARNING,
			"%s: LRO with max_lro_pkt_size %u: segmentation "
			"(HOST_TSO4/6) not offered (%u takes any GSO packet)",
			d->path, rxm->max_lro_pkt_size, VU_PMD_MAX_GSO_FRAME);
	return rxm->max_lro_pkt_size;
}

static int
vun_dev_configure(struct rte_eth_dev *dev)
{
	struct vun_dev *d = dev->data->dev_private;
	const struct rte_eth_rxmode *rxm = &dev->data->dev_conf.rxmode;
	uint32_t max_lro;
	int mtu, ret;

	if (dev->data->nb_rx_queues > d->max_pairs ||
	    dev->data->nb_tx_queues > d->max_pairs) {
		VUN_LOG(ERR, "%s: %u rx / %u tx queues asked, the device has %u "
			"pairs (devarg queues=)", d->path, dev->data->nb_rx_queues,
			dev->data->nb_tx_queues, d->max_pairs);
		return -EINVAL;
	}
	/* rxmode.mtu: ethdev stored it as the port's MTU; make it the
	 * device's. Left 0 it reads as 1500 (ethdev's default), which does
	 * not override the devarg mtu= (while the device has it): the port
	 * reports the device's. With it the segmentation the device offers
	 * (the driver's with LRO): what may be refused, so that a refused
	 * configure changes nothing. */
	max_lro = max_lro_of(d, rxm);
	mtu = rxm->mtu == RTE_ETHER_MTU && d->mtu == d->mtu_arg ?
		      -1 :
		      dev->data->mtu;
	ret = vun_virtio_set_port(d, mtu, max_lro);
	if (ret < 0)
		return ret;
	if (mtu < 0)
		dev->data->mtu = d->mtu;
	/* more transmit queues than the driver's pairs share them */
	__atomic_store_n(&d->app_txqs, dev->data->nb_tx_queues,
			 __ATOMIC_RELAXED);
	vun_tx_map_update(d);
	/* ours with TSO */
	vun_virtio_set_tso(d, dev->data->dev_conf.txmode.offloads &
				      RTE_ETH_TX_OFFLOAD_TCP_TSO);
	/* partial checksums left to an application that takes them: one
	 * that enabled the receive checksum offloads (as net_vhost) */
	__atomic_store_n(&d->rx_partial,
			 vu_pmd_rx_partial(d->path, d->rx_partial_arg,
					   rxm->offloads),
			 __ATOMIC_RELAXED);
	return 0;
}

/*
 * Fewer receive queues than pairs: queue q polls the driver's transmitq of
 * every pair p with p % nb_rx_queues == q (struct vun_rx_set), with q's
 * mempool. Not in offload mode: the engine has the queues.
 */
static void
rx_sets_build(struct rte_eth_dev *dev)
{
	struct vun_dev *d = dev->data->dev_private;
	uint16_t nrx = dev->data->nb_rx_queues;

	for (uint16_t p = 0; p < d->max_pairs; p++)
		d->vq[2 * p + 1].rx_set = NULL;
	d->rx_sets = 0;
	if (nrx == 0 || nrx >= d->max_pairs || d->ol != NULL)
		return;
	for (uint16_t q = 0; q < nrx; q++) {
		struct vun_rx_set *s = &d->rx_set[q];
		struct vun_vq *own = &d->vq[2 * q + 1];

		s->n = 0;
		s->next = 0;
		for (uint16_t p = q; p < d->max_pairs; p += nrx) {
			d->vq[2 * p + 1].mp = own->mp;
			s->vq[s->n++] = &d->vq[2 * p + 1];
		}
		own->rx_set = s;
	}
	d->rx_sets = nrx;
	VUN_LOG(NOTICE,
		"%s: %u receive queues for %u pairs: queue q polls the "
		"pairs p with p %% %u = q",
		d->path, nrx, d->max_pairs, nrx);
}

/* ---- queue start and stop ---- */

/*
 * An ethdev queue stopped is the port's side only: its bursts return 0
 * (the flag is read inside their QSBR section and a stop waits for a grace
 * period), and the virtqueues behind it run on for the driver as if the
 * application did not poll them: what it sent waits in its transmitq, its
 * receive buffers stay posted, nothing is reset, written or counted. The
 * flag is the ethdev queue's (in the vq its queue pointer is: 2q + 1 for
 * rx queue q, 2q for tx queue q), not the virtqueues': a receive queue
 * polling several pairs (vun_rx_set) or a transmit queue sharing one
 * (tx_map) stops alone, and a device reset, a new negotiation, a new
 * client or a migration restore (which set the virtqueues up again) leave
 * it as it is. In offload mode the engine has the data queues.
 */

static struct vun_vq *
eth_vq(struct vun_dev *d, uint16_t q, bool tx)
{
	return &d->vq[2 * q + !tx];
}

/* The queue stopped or started for the bursts, and its ethdev state. */
static void
queue_mark(struct rte_eth_dev *dev, uint16_t q, bool tx, bool stop)
{
	uint8_t *state = tx ? dev->data->tx_queue_state :
			      dev->data->rx_queue_state;

	__atomic_store_n(&eth_vq(dev->data->dev_private, q, tx)->stopped, stop,
			 __ATOMIC_RELEASE);
	state[q] = stop ? RTE_ETH_QUEUE_STATE_STOPPED :
			  RTE_ETH_QUEUE_STATE_STARTED;
	if (!tx)
		vun_rx_intr_requeue(dev, q);
}

/* In offload mode: what the engine's queues cannot do, said; err. */
static int
offload_refuses(const struct vun_dev *d, const char *what, bool tx, uint16_t q,
		int err)
{
	VUN_LOG(ERR,
		"%s: %s of %s queue %u is not supported in offload mode: the "
		"engine runs the data queues",
		d->path, what, tx ? "tx" : "rx", q);
	return err;
}

static int
queue_stop(struct rte_eth_dev *dev, uint16_t q, bool tx)
{
	struct vun_dev *d = dev->data->dev_private;

	if (d->ol != NULL)
		return offload_refuses(d, "stop", tx, q, -ENOTSUP);
	queue_mark(dev, q, tx, true);
	vun_grace_period(d);
	return 0;
}

static int
queue_start(struct rte_eth_dev *dev, uint16_t q, bool tx)
{
	struct vun_dev *d = dev->data->dev_private;

	if (d->ol != NULL)
		return offload_refuses(d, "start", tx, q, -ENOTSUP);
	queue_mark(dev, q, tx, false);
	return 0;
}

static int
vun_rx_queue_stop(struct rte_eth_dev *dev, uint16_t q)
{
	return queue_stop(dev, q, false);
}

static int
vun_tx_queue_stop(struct rte_eth_dev *dev, uint16_t q)
{
	return queue_stop(dev, q, true);
}

static int
vun_rx_queue_start(struct rte_eth_dev *dev, uint16_t q)
{
	return queue_start(dev, q, false);
}

static int
vun_tx_queue_start(struct rte_eth_dev *dev, uint16_t q)
{
	return queue_start(dev, q, true);
}

/* Every configured queue started but the deferred ones (whatever queue
 * stops came before), or every one stopped. */
static void
queues_mark(struct rte_eth_dev *dev, bool stop)
{
	struct vun_dev *d = dev->data->dev_private;

	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++)
		queue_mark(dev, q, false,
			   stop || eth_vq(d, q, false)->deferred);
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++)
		queue_mark(dev, q, true, stop || eth_vq(d, q, true)->deferred);
}

/* Receive queues whose frames arrive chained unasked: said. */
static void
rx_chains_note(struct rte_eth_dev *dev)
{
	struct vun_dev *d = dev->data->dev_private;
	uint32_t frame, room;

	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++) {
		const struct vun_vq *vq = &d->vq[2 * q + 1];

		if (vq->mp != NULL &&
		    vu_pmd_rx_chains_unasked(dev, vq->rx_offloads, vq->mp,
					     d->mtu, &frame, &room))
			VUN_LOG(WARNING, VU_PMD_RX_CHAINS_MSG, d->path, q,
				frame, d->mtu, room);
	}
}

static int
vun_dev_start(struct rte_eth_dev *dev)
{
	struct vun_dev *d = dev->data->dev_private;
	int ret;

	rx_chains_note(dev);
	rx_sets_build(dev);
	ret = vun_rx_intr_setup(dev);
	if (ret < 0) {
		VUN_LOG(ERR, "%s: receive interrupts: %s", d->path,
			strerror(-ret));
		return ret;
	}
	queues_mark(dev, false);
	dev->data->dev_started = 1;
	d->link_down = false;	/* a start brings the link up, as a NIC's */
	vun_virtio_set_port_started(d, true);
	vun_link_update(dev, 0);
	return 0;
}

static int
vun_dev_stop(struct rte_eth_dev *dev)
{
	struct vun_dev *d = dev->data->dev_private;

	dev->data->dev_started = 0;
	vun_virtio_set_port_started(d, false);
	vun_link_update(dev, 0);
	/* ethdev's dummy bursts front the port now; one another lcore was
	 * in has finished when the stop returns. What the driver sent
	 * waits for the next start. */
	queues_mark(dev, true);
	vun_grace_period(d);
	return 0;
}

/* The link the driver sees (VIRTIO_NET_S_LINK_UP, with a configuration
 * interrupt), as a NIC's cable: the queues keep running. */
static int
vun_dev_set_link_down(struct rte_eth_dev *dev)
{
	vun_virtio_set_link_down(dev->data->dev_private, true);
	return 0;
}

static int
vun_dev_set_link_up(struct rte_eth_dev *dev)
{
	vun_virtio_set_link_down(dev->data->dev_private, false);
	return 0;
}

static int
vun_dev_close(struct rte_eth_dev *dev)
{
	struct vun_dev *d = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	vun_virtio_fini(d);
	vun_offload_fini(d);
	vu_pmd_rxq_intr_free(dev);
	/* the device is gone from the event thread: no more changes */
	vu_pmd_lsc_fini(&d->lsc);
	/* mac_addrs is freed by the ethdev layer */
	return 0;
}

static int
vun_dev_info(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct vun_dev *d = dev->data->dev_private;

	vu_pmd_dev_info(info, d->max_pairs, VUN_MAX_MTU,
			VUN_MAX_MTU + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN);
	info->min_rx_bufsize = 0;
	/* a driver's GSO packets taken whole (VIRTIO_NET_F_HOST_TSO4/6),
	 * as a NIC's aggregated ones */
	if (d->host_features & (1ULL << VIRTIO_NET_F_HOST_TSO4)) {
		info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
		info->max_lro_pkt_size = VU_PMD_MAX_GSO_FRAME;
	}
	return 0;
}

static int
vun_rx_queue_setup(struct rte_eth_dev *dev, uint16_t q, uint16_t nb_desc,
		   unsigned int socket, const struct rte_eth_rxconf *conf,
		   struct rte_mempool *mp)
{
	struct vun_dev *d = dev->data->dev_private;
	struct vun_vq *vq = &d->vq[2 * q + 1];

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(socket);
	if (conf->rx_deferred_start && d->ol != NULL)
		return offload_refuses(d, "deferred start", false, q, -EINVAL);
	vq->deferred = conf->rx_deferred_start;
	vq->mp = mp;
	vq->rx_offloads = conf->offloads;
	dev->data->rx_queues[q] = vq;
	return 0;
}

static int
vun_tx_queue_setup(struct rte_eth_dev *dev, uint16_t q, uint16_t nb_desc,
		   unsigned int socket, const struct rte_eth_txconf *conf)
{
	struct vun_dev *d = dev->data->dev_private;

	RTE_SET_USED(nb_desc);
	RTE_SET_USED(socket);
	if (conf->tx_deferred_start && d->ol != NULL)
		return offload_refuses(d, "deferred start", true, q, -EINVAL);
	d->vq[2 * q].deferred = conf->tx_deferred_start;
	dev->data->tx_queues[q] = &d->vq[2 * q];
	return 0;
}

/* xstats: per queue, then the device. */
static const struct vu_pmd_xstat vun_q_xstats[] = {
	VU_PMD_XSTAT(struct vun_stats, packets, "packets"),
	VU_PMD_XSTAT(struct vun_stats, bytes, "bytes"),
	VU_PMD_XSTAT(struct vun_stats, drops, "drops"),
	VU_PMD_XSTAT(struct vun_stats, kicks, "kicks"),
	VU_PMD_XSTAT(struct vun_stats, interrupts, "interrupts"),
	VU_PMD_XSTAT(struct vun_stats, bad_desc, "bad_descriptors"),
	VU_PMD_XSTAT(struct vun_stats, runts, "runts"),
};
#define N_QX RTE_DIM(vun_q_xstats)
/* then the port's: the driver's state, and receive counters of every
 * queue summed (per queue they would take telemetry's /ethdev/xstats of
 * 16 pairs past its 256 entries) */
#define N_DEVX 10

static uint64_t
rx_sum(const struct vun_dev *d, size_t off)
{
	uint64_t sum = 0;

	for (uint16_t q = 0; q < d->max_pairs; q++)
		sum += *(const uint64_t *)((const uint8_t *)&d->vq[2 * q + 1]
						   .st +
					   off);
	return sum;
}

/* Per queue: a pair's transmit counters, its receive counters at the
 * receive queue that polls it (struct vun_rx_set). */
static int
vun_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *s)
{
	struct vun_dev *d = dev->data->dev_private;
	struct vu_pmd_pair_stats ps[VUN_MAX_QUEUE_PAIRS] = { 0 };

	for (uint16_t p = 0; p < d->max_pairs; p++) {
		const struct vun_stats *rx = &d->vq[2 * p + 1].st;
		const struct vun_stats *tx = &d->vq[2 * p].st;
		struct vu_pmd_pair_stats *r =
			&ps[d->rx_sets != 0 ? p % d->rx_sets : p];
		uint64_t errs = rx->bad_desc + rx->runts + rx->too_long;

		ps[p].opackets = tx->packets;
		ps[p].obytes = tx->bytes;
		ps[p].oerrors = tx->drops;
		r->ipackets += rx->packets;
		r->ibytes += rx->bytes;
		r->imissed += rx->drops;
		r->ierrors += errs;
		r->rx_nombuf += rx->nombuf;
		r->q_errors += errs;
	}
	for (uint16_t q = 0; q < d->max_pairs; q++)
		vu_pmd_stats_add(s, q, &ps[q]);
	return 0;
}

static int
vun_stats_reset(struct rte_eth_dev *dev)
{
	struct vun_dev *d = dev->data->dev_private;

	vu_pmd_stats_clear(&d->vq[0].st, sizeof(d->vq[0]), sizeof(d->vq[0].st),
			   VUN_MAX_VQS);
	return 0;
}

static unsigned int
xstats_count(const struct vun_dev *d)
{
	return 2u * d->max_pairs * N_QX + N_QX + N_DEVX;
}

static int
vun_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
		     unsigned int size)
{
	struct vun_dev *d = dev->data->dev_private;
	unsigned int n = 0;

	if (names == NULL || size < xstats_count(d))
		return (int)xstats_count(d);
	n += vu_pmd_xstats_names(names + n, "rx", d->max_pairs, vun_q_xstats,
				 N_QX);
	n += vu_pmd_xstats_names(names + n, "tx", d->max_pairs, vun_q_xstats,
				 N_QX);
	n += vu_pmd_xstats_names(names + n, "ctrl", 0, vun_q_xstats, N_QX);
	snprintf(names[n++].name, sizeof(names[0].name), "driver_queue_pairs");
	snprintf(names[n++].name, sizeof(names[0].name), "driver_features");
	snprintf(names[n++].name, sizeof(names[0].name), "driver_promisc");
	snprintf(names[n++].name, sizeof(names[0].name), "driver_allmulti");
	snprintf(names[n++].name, sizeof(names[0].name), "rx_too_long");
	snprintf(names[n++].name, sizeof(names[0].name),
		 "rx_mbuf_allocation_failures");
	snprintf(names[n++].name, sizeof(names[0].name), "rx_lro_packets");
	snprintf(names[n++].name, sizeof(names[0].name), "rx_csum_kept");
	snprintf(names[n++].name, sizeof(names[0].name), "pci_power_state");
	snprintf(names[n++].name, sizeof(names[0].name), "pci_bus_master");
	return (int)n;
}

static int
vun_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs,
	       unsigned int size)
{
	struct vun_dev *d = dev->data->dev_private;
	const size_t stride = 2 * sizeof(d->vq[0]);
	unsigned int n = 0;

	if (xs == NULL || size < xstats_count(d))
		return (int)xstats_count(d);
	/* rx queue q is virtqueue 2q + 1, tx queue q 2q, control 2 * pairs */
	n += vu_pmd_xstats_values(xs + n, n, &d->vq[1].st, stride, d->max_pairs,
				  vun_q_xstats, N_QX);
	n += vu_pmd_xstats_values(xs + n, n, &d->vq[0].st, stride, d->max_pairs,
				  vun_q_xstats, N_QX);
	n += vu_pmd_xstats_values(xs + n, n, &d->vq[2 * d->max_pairs].st, 0, 0,
				  vun_q_xstats, N_QX);
	xs[n] = (struct rte_eth_xstat){ n, d->active_pairs };
	n++;
	xs[n] = (struct rte_eth_xstat){ n, d->guest_features };
	n++;
	xs[n] = (struct rte_eth_xstat){ n, d->promisc };
	n++;
	xs[n] = (struct rte_eth_xstat){ n, d->allmulti };
	n++;
	xs[n] = (struct rte_eth_xstat){ n, rx_sum(d, offsetof(struct vun_stats,
							      too_long)) };
	n++;
	xs[n] = (struct rte_eth_xstat){ n, rx_sum(d, offsetof(struct vun_stats,
							      nombuf)) };
	n++;
	xs[n] = (struct rte_eth_xstat){ n, rx_sum(d, offsetof(struct vun_stats,
							      lro)) };
	n++;
	xs[n] = (struct rte_eth_xstat){ n, rx_sum(d, offsetof(struct vun_stats,
							      csum_kept)) };
	n++;
	/* the PCI function as the driver left it: D0 (0) or D3hot (3), and
	 * whether it may master the bus (a guest that suspended or let go
	 * of the device: its queues are stopped); from the port's own
	 * fields, which a secondary process can read */
	xs[n] = (struct rte_eth_xstat){ n, __atomic_load_n(&d->pm_state,
							   __ATOMIC_RELAXED) };
	n++;
	xs[n] = (struct rte_eth_xstat){ n, !__atomic_load_n(&d->bm_off,
							    __ATOMIC_RELAXED) };
	n++;
	return (int)n;
}

static int
vun_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	struct vun_dev *d = dev->data->dev_private;

	if (mtu < RTE_ETHER_MIN_MTU || mtu > VUN_MAX_MTU)
		return -EINVAL;
	return vun_virtio_set_mtu(d, mtu);
}

/* rx queue q is the driver's transmitq 2q + 1, tx queue q its receiveq;
 * their size is the driver's (0 until it sets them up) */
static void
vun_rxq_info(struct rte_eth_dev *dev, uint16_t q, struct rte_eth_rxq_info *qi)
{
	struct vun_dev *d = dev->data->dev_private;
	const struct vun_vq *vq = &d->vq[2 * q + 1];

	qi->mp = vq->mp;
	qi->nb_desc = vq->size;
	qi->scattered_rx = 1; /* a frame larger than an mbuf: a chain */
	qi->rx_buf_size = vu_pmd_rx_buf_size(vq->mp);
	qi->conf.rx_deferred_start = vq->deferred;
}

static void
vun_txq_info(struct rte_eth_dev *dev, uint16_t q, struct rte_eth_txq_info *qi)
{
	struct vun_dev *d = dev->data->dev_private;

	qi->nb_desc = d->vq[2 * q].size;
	qi->conf.tx_deferred_start = d->vq[2 * q].deferred;
}

static int
vun_burst_mode(struct rte_eth_dev *dev, uint16_t q,
	       struct rte_eth_burst_mode *mode)
{
	struct vun_dev *d = dev->data->dev_private;
	const struct vun_vq *vq = &d->vq[2 * q];

	return vu_pmd_burst_mode(mode, vq->size != 0, vq->packed, vq->in_order);
}

static const struct eth_dev_ops vun_ops = {
	VU_PMD_ETH_OPS(vun),
	.dev_set_link_down = vun_dev_set_link_down,
	.dev_set_link_up = vun_dev_set_link_up,
	.mtu_set = vun_mtu_set,
	.rxq_info_get = vun_rxq_info,
	.txq_info_get = vun_txq_info,
	.rx_burst_mode_get = vun_burst_mode,
	.tx_burst_mode_get = vun_burst_mode,
	.rx_queue_start = vun_rx_queue_start,
	.rx_queue_stop = vun_rx_queue_stop,
	.tx_queue_start = vun_tx_queue_start,
	.tx_queue_stop = vun_tx_queue_stop,
	.rx_queue_intr_enable = vun_rx_intr_enable,
	.rx_queue_intr_disable = vun_rx_intr_disable,
};

/* A secondary process's: what reads the port's shared data only. */
static const struct eth_dev_ops vun_secondary_ops = {
	.dev_close = vun_dev_close,
	.dev_infos_get = vun_dev_info,
	.link_update = vu_pmd_link_shared,
	.stats_get = vun_stats_get,
	.stats_reset = vun_stats_reset,
	.xstats_get = vun_xstats_get,
	.xstats_get_names = vun_xstats_get_names,
	.rxq_info_get = vun_rxq_info,
	.txq_info_get = vun_txq_info,
	.rx_burst_mode_get = vun_burst_mode,
	.tx_burst_mode_get = vun_burst_mode,
};

/* ---- devargs ---- */

/* octal permission bits, no sign (strtoul() takes "-0") */
static int
arg_sock_mode(const char *key, const char *val, void *out)
{
	unsigned long v;

	RTE_SET_USED(key);
	if (val[0] == '-' || vu_pmd_parse_ulong(val, 8, 0, 0777, &v) < 0)
		return -1;
	((struct vun_dev *)out)->sock_mode = (mode_t)v;
	return 0;
}

static int
parse_args(struct rte_vdev_device *vdev, struct vun_dev *d, char *offload)
{
	const char *params = rte_vdev_device_args(vdev);
	const char *name = rte_vdev_device_name(vdev);
	struct vu_pmd_arg_str path = { d->path, sizeof(d->path) };
	struct vu_pmd_arg_str off = { offload, sizeof(d->path) };
	struct vu_pmd_arg_uint queues = { 1, VUN_MAX_QUEUE_PAIRS, 1 };
	struct vu_pmd_arg_uint mtu = { RTE_ETHER_MIN_MTU, VUN_MAX_MTU,
				       VUN_DEF_MTU };
	struct vu_pmd_arg_uint timeout = { VUN_MIN_TIMEOUT_MS,
					   RTE_VFIO_USER_TIMEOUT_MS_MAX,
					   RTE_VFIO_USER_TIMEOUT_MS_DEFAULT };
	const struct vu_pmd_bool_arg bools[] = {
		{ ARG_PACKED_VQ, &d->packed_vq },
		{ ARG_IN_ORDER, &d->in_order },
		{ ARG_CSUM, &d->csum },
		{ ARG_TSO, &d->tso },
		{ ARG_RX_PARTIAL, &d->rx_partial_arg },
		{ ARG_RING_COPY, &d->ring_copy },
	};
	const char *bad_key, *bad;
	struct rte_kvargs *kv;
	int ret = -EINVAL;

	d->sock_mode = RTE_VFIO_USER_SOCK_MODE_DEFAULT;
	d->packed_vq = true;
	d->in_order = true;
	d->csum = true;
	d->tso = true;
	rte_eth_random_addr(d->mac.addr_bytes);
	kv = vu_pmd_kvargs(name, params, valid_args);
	if (kv == NULL)
		return -EINVAL;
	if (rte_kvargs_count(kv, ARG_PATH) != 1) {
		VUN_LOG(ERR, "%s: path=<socket> is needed", name);
		goto out;
	}
	if (rte_kvargs_process(kv, ARG_PATH, vu_pmd_arg_str, &path) < 0) {
		VUN_LOG(ERR, "%s: path=%s: empty or longer than %zu", name,
			vu_pmd_kv(kv, ARG_PATH), sizeof(d->path) - 1);
		goto out;
	}
	if (rte_kvargs_process(kv, ARG_QUEUES, vu_pmd_arg_uint, &queues) < 0) {
		VUN_LOG(ERR, "%s: queues=%s: must be 1..%u", name,
			vu_pmd_kv(kv, ARG_QUEUES), VUN_MAX_QUEUE_PAIRS);
		goto out;
	}
	if (rte_kvargs_process(kv, ARG_MTU, vu_pmd_arg_uint, &mtu) < 0) {
		VUN_LOG(ERR, "%s: mtu=%s: must be %u..%u", name,
			vu_pmd_kv(kv, ARG_MTU), RTE_ETHER_MIN_MTU, VUN_MAX_MTU);
		goto out;
	}
	if (rte_kvargs_process(kv, ARG_MAC, vu_pmd_arg_mac, &d->mac) < 0) {
		VUN_LOG(ERR, "%s: mac=%s: must be a unicast xx:xx:xx:xx:xx:xx",
			name, vu_pmd_kv(kv, ARG_MAC));
		goto out;
	}
	if (rte_kvargs_process(kv, ARG_SOCK_MODE, arg_sock_mode, d) < 0) {
		VUN_LOG(ERR,
			"%s: sock_mode=%s: must be octal permission bits, "
			"0 to 0777 (e.g. 0660)",
			name, vu_pmd_kv(kv, ARG_SOCK_MODE));
		goto out;
	}
	bad_key = vu_pmd_args_bools(kv, bools, RTE_DIM(bools), &bad);
	if (bad_key != NULL) {
		VUN_LOG(ERR, "%s: %s=%s: must be 0 or 1", name, bad_key, bad);
		goto out;
	}
	if (rte_kvargs_process(kv, ARG_TIMEOUT, vu_pmd_arg_uint, &timeout) <
	    0) {
		VUN_LOG(ERR, "%s: timeout=%s: must be %u..%u (ms)", name,
			vu_pmd_kv(kv, ARG_TIMEOUT), VUN_MIN_TIMEOUT_MS,
			RTE_VFIO_USER_TIMEOUT_MS_MAX);
		goto out;
	}
	if (rte_kvargs_process(kv, ARG_OFFLOAD, vu_pmd_arg_str, &off) < 0) {
		VUN_LOG(ERR,
			"%s: offload=%s: must be one vhost-user socket path "
			"(at most %zu characters)",
			name, vu_pmd_kv(kv, ARG_OFFLOAD), sizeof(d->path) - 1);
		goto out;
	}
	d->max_pairs = (uint16_t)queues.value;
	d->timeout_ms = timeout.value;
	d->mtu = (uint16_t)mtu.value;
	d->mtu_arg = d->mtu;
	if (d->mtu < VUN_MIN_RECOMMENDED_MTU)
		VUN_LOG(WARNING,
			"%s: mtu %u is below the %u VIRTIO 5.1.4.1 "
			"recommends (IPv6 needs it)",
			name, d->mtu, VUN_MIN_RECOMMENDED_MTU);
	ret = 0;
out:
	rte_kvargs_free(kv);
	return ret;
}

/* ---- probe / remove ---- */

static int
vun_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	char offload[sizeof(((struct vun_dev *)0)->path)] = "";
	struct rte_eth_dev *eth;
	struct vun_dev *d;
	int ret;

	/* ours is a prefix of the frontend's old name: such a device was
	 * meant for the frontend, never serve it */
	ret = vu_pmd_old_frontend_name(name);
	if (ret < 0)
		return ret;
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return vu_pmd_probe_secondary(vdev, &vun_secondary_ops);
	eth = rte_eth_vdev_allocate(vdev, sizeof(*d));
	if (eth == NULL)
		return -ENOMEM;
	d = eth->data->dev_private;
	d->port_id = eth->data->port_id;
	vu_pmd_lsc_init(&d->lsc, d->port_id);
	ret = parse_args(vdev, d, offload);
	if (ret < 0)
		goto err;
	eth->data->mac_addrs = rte_zmalloc(name, RTE_ETHER_ADDR_LEN, 0);
	if (eth->data->mac_addrs == NULL) {
		ret = -ENOMEM;
		goto err;
	}
	rte_ether_addr_copy(&d->mac, eth->data->mac_addrs);
	eth->data->mtu = d->mtu;
	/* our xstats already name every queue: no autofill */
	vu_pmd_port_init(eth);
	eth->dev_ops = &vun_ops;
	eth->rx_pkt_burst = vun_rx_burst;
	eth->tx_pkt_burst = vun_tx_burst;
	eth->rx_queue_count = vun_rx_queue_count;
	eth->rx_descriptor_status = vun_rx_descriptor_status;
	eth->tx_descriptor_status = vun_tx_descriptor_status;
	ret = vun_virtio_init(d);
	if (ret == 0 && offload[0] != '\0')
		ret = vun_offload_init(d, offload);
	eth->tx_pkt_prepare = vu_pmd_tx_prepare;
	if (ret == 0)
		ret = vun_virtio_register(d);
	/* the vdev bus takes -EEXIST for "probed already" and says nothing:
	 * a path in use (by another port, or not a socket) is EADDRINUSE */
	if (ret == -EEXIST)
		ret = -EADDRINUSE;
	if (ret < 0)
		goto err;
	rte_eth_dev_probing_finish(eth);
	VUN_LOG(NOTICE,
		"%s: port %u serves a virtio-net device on %s (%u queue "
		"pairs, mtu %u, packed_vq %u, in_order %u, csum %u, tso %u, "
		"timeout %u ms%s%s%s)",
		name, d->port_id, d->path, d->max_pairs, d->mtu,
		!!(d->host_features & (1ULL << VIRTIO_F_RING_PACKED)),
		!!(d->host_features & (1ULL << VIRTIO_F_IN_ORDER)),
		!!(d->host_features & (1ULL << VIRTIO_NET_F_CSUM)),
		!!(d->host_features & (1ULL << VIRTIO_NET_F_HOST_TSO4)),
		d->timeout_ms,
		d->ring_copy ? ", rings through shadow copies" : "",
		offload[0] ? ", queues offloaded to " : "", offload);
	return 0;
err:
	vun_offload_fini(d);
	if (d->pci != NULL)	/* vun_virtio_init() done */
		vun_rx_intr_fini(d);
	rte_vfio_user_pci_free(d->pci);
	d->pci = NULL;
	rte_eth_dev_release_port(eth);
	return ret;
}

static struct rte_vdev_driver vun_driver = {
	.probe = vun_probe,
	.remove = vu_pmd_remove,
};

RTE_PMD_REGISTER_VDEV(net_vfio_user, vun_driver);
VU_PMD_REGISTER_PARAM_STRING(
	net_vfio_user,
	"path=<socket> queues=<1-16> mac=<xx:xx:xx:xx:xx:xx> mtu=<68-9216> "
	"sock_mode=<octal, default 0600> "
	"packed_vq=<0|1> in_order=<0|1> csum=<0|1> tso=<0|1> "
	"offload=<vhost-user socket> ring_copy=<0|1> "
	"timeout=<ms, 100-3600000, default 5000> rx_partial=<0|1>");
