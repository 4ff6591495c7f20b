/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The virtio-net device model: VIRTIO 1.x modern PCI transport registers
 * (common, ISR, device and notify configuration in BAR4), feature
 * negotiation, the device status state machine, virtqueue setup and the
 * control queue. Runs on the vfio-user event thread.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "vfio_user_proto.h"
#include "vu_pmd_csum.h"
#include "vun.h"
#include "vun_layout.h"
#include "vun_offload.h"
#include "vun_shadow.h"

#define VUN_HOST_FEATURES                                                    \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ACCESS_PLATFORM) | \
	 (1ULL << VIRTIO_F_RING_RESET) |                                     \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                             \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_NET_F_MAC) |    \
	 (1ULL << VIRTIO_NET_F_MTU) | (1ULL << VIRTIO_NET_F_STATUS) |        \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_CTRL_VQ) | \
	 (1ULL << VIRTIO_NET_F_CTRL_RX) |                                    \
	 (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR) | (1ULL << VIRTIO_NET_F_MQ) |  \
	 (1ULL << VIRTIO_NET_F_SPEED_DUPLEX))

static inline bool
has(const struct vun_dev *d, unsigned int bit)
{
	return d->guest_features & (1ULL << bit);
}

static void tx_map_say(struct vun_dev *d);

/* What the device offers now: the driver's segmentation only while the
 * port takes any GSO packet whole (LRO with max_lro_pkt_size
 * VU_PMD_MAX_GSO_FRAME: an application that did not ask for them gets no
 * frame longer than its MTU, and a driver cannot be told a smaller limit;
 * vun_virtio_set_port() keeps it so under a driver that has them); ours
 * while the port has TSO (a driver without mergeable buffers posts 64 KiB
 * ones for it; one that keeps them after the port's TSO went off gets no
 * GSO packet asked for). */
static uint64_t
offered(const struct vun_dev *d)
{
	uint64_t f = d->host_features;

	if (__atomic_load_n(&d->max_lro, __ATOMIC_RELAXED) <
	    VU_PMD_MAX_GSO_FRAME)
		f &= ~VU_PMD_HOST_TSO;
	if (!__atomic_load_n(&d->tx_tso, __ATOMIC_RELAXED))
		f &= ~VU_PMD_GUEST_TSO;
	return f;
}

const char *
vun_features_why(uint64_t f, uint64_t offered)
{
	if (f & ~offered)
		return "features not offered";
	if (!(f & (1ULL << VIRTIO_F_VERSION_1)))
		return "VIRTIO_F_VERSION_1 required";
	/* segmentation comes with partial checksums (5.1.3.1) */
	if ((f & VU_PMD_HOST_TSO) && !(f & (1ULL << VIRTIO_NET_F_CSUM)))
		return "HOST_TSO4/6 without CSUM";
	if ((f & VU_PMD_GUEST_TSO) && !(f & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		return "GUEST_TSO4/6 without GUEST_CSUM";
	/* commands need their queue (5.1.3.1) */
	if ((f & ((1ULL << VIRTIO_NET_F_MQ) | (1ULL << VIRTIO_NET_F_CTRL_RX) |
		  (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR))) &&
	    !(f & (1ULL << VIRTIO_NET_F_CTRL_VQ)))
		return "MQ, CTRL_RX or CTRL_MAC_ADDR without CTRL_VQ";
	return NULL;
}

/* Whether a queue may send the driver partial checksums: negotiated, and
 * not turned off. */
static bool
guest_csum_on(const struct vun_dev *d)
{
	return has(d, VIRTIO_NET_F_GUEST_CSUM) &&
	       (d->guest_offloads & (1ULL << VIRTIO_NET_F_GUEST_CSUM));
}

/* The GSO packets a queue may send the driver: negotiated and on, with
 * partial checksums (vu_pmd_gso_types(f, true)). */
static uint8_t
guest_gso_on(const struct vun_dev *d)
{
	if (!guest_csum_on(d))
		return 0;
	return (uint8_t)vu_pmd_gso_types(d->guest_features & d->guest_offloads,
					 true);
}

uint16_t
vun_num_vqs(const struct vun_dev *d)
{
	return (uint16_t)(2 * d->max_pairs + 1);
}

/* Where the control queue lives in d->vq[], whatever its index. */
static uint16_t
ctrl_vq(const struct vun_dev *d)
{
	return (uint16_t)(2 * d->max_pairs);
}

/* The control queue's virtqueue index: 2N with MQ, else 2, as without MQ
 * the driver has one queue pair (VIRTIO 1.x 5.1.2). */
static uint16_t
ctrl_index(const struct vun_dev *d)
{
	return has(d, VIRTIO_NET_F_MQ) ? ctrl_vq(d) : 2;
}

/* The queue a virtqueue index names under the negotiated features, NULL
 * for none (it reads as unavailable: size 0). Until FEATURES_OK the layout
 * is not settled, and every queue shows; after it, there is a control
 * queue only with VIRTIO_NET_F_CTRL_VQ. */
static struct vun_vq *
vq_by_index(struct vun_dev *d, uint16_t index)
{
	if (!(d->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return index < vun_num_vqs(d) ? &d->vq[index] : NULL;
	if (index == ctrl_index(d))
		return has(d, VIRTIO_NET_F_CTRL_VQ) ? &d->vq[ctrl_vq(d)] : NULL;
	if (index >= ctrl_index(d))
		return NULL;
	return &d->vq[index];
}

void
vun_grace_period(struct vun_dev *d)
{
	/* the data path may go online without a fence */
	rte_vfio_user_qsbr_barrier();
	rte_rcu_qsbr_synchronize(d->qsbr, RTE_QSBR_THRID_INVALID);
}

/* ---- interrupts ---- */

/* Returns false when no interrupt reached the driver (MSI-X on, and no
 * vector for this, or the vector masked). */
static bool
notify_vector(struct vun_dev *d, uint16_t vector)
{
	/* from the event thread (a library callback) this is safe as is;
	 * an application thread (port start/stop, MTU) must be online in the
	 * QSBR variable, or the eventfd may be closed under it */
	unsigned int lcore = rte_lcore_id();
	bool online = lcore < RTE_MAX_LCORE, sent = true;

	if (online)
		rte_rcu_qsbr_thread_online(d->qsbr, lcore);
	if (rte_vfio_user_pci_msix_enabled(d->pci) != 1 ||
	    (vector != VIRTIO_MSI_NO_VECTOR &&
	     rte_vfio_user_pci_msix_trigger(d->pci, vector) == -ENOTSUP))
		rte_vfio_user_pci_set_intx(d->pci, true);	/* ISR is set */
	else	/* a masked vector's message waits in the PBA */
		sent = vector != VIRTIO_MSI_NO_VECTOR &&
		       rte_vfio_user_pci_msix_masked(d->pci, vector) == 0;
	if (online)
		rte_rcu_qsbr_thread_offline(d->qsbr, lcore);
	return sent;
}

/* Device configuration changed: a new generation (VIRTIO 4.1.4.3.1). The
 * application thread (link, MTU) and the event thread both change it. One
 * step for all the changes between two reads of the driver (the
 * configuration's or the generation's): 256 steps would wrap the 8-bit
 * counter back to what it saw (the spec's note there). */
static void
config_changed(struct vun_dev *d)
{
	if (__atomic_exchange_n(&d->gen_unseen, 1, __ATOMIC_ACQ_REL) == 0)
		__atomic_fetch_add(&d->config_generation, 1, __ATOMIC_RELEASE);
}

void
vun_signal_config(struct vun_dev *d)
{
	config_changed(d);
	if (!(d->status & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	__atomic_fetch_or(&d->isr, VIRTIO_PCI_ISR_CONFIG, __ATOMIC_RELEASE);
	/* before the interrupt: a driver's read may come before we return */
	__atomic_store_n(&d->cfg_unread, 1, __ATOMIC_RELEASE);
	if (!notify_vector(d, d->msix_config))
		__atomic_store_n(&d->cfg_unread, 0, __ATOMIC_RELEASE);
}

static void
set_needs_reset(struct vun_dev *d, const char *why)
{
	if (d->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	VUN_LOG(ERR, "%s: driver error (%s): device needs reset", d->path, why);
	vun_status_store(d, d->status | VIRTIO_CONFIG_S_NEEDS_RESET);
	vun_signal_config(d);
}

/*
 * The driver did what only a reset undoes (VIRTIO 1.x 2.1.2): ask for the
 * reset and serve it nothing until then. The queues stop, the application
 * sees the link go down; the status bits (FEATURES_OK with them, so the
 * features stay frozen) stay as they were.
 */
static void
driver_error_halt(struct vun_dev *d, const char *why)
{
	d->halted = true;
	vun_queues_stop(d);
	set_needs_reset(d, why);
	vun_link_update_notify(d);
}

void
vun_needs_reset(struct vun_dev *d, const char *why)
{
	set_needs_reset(d, why);
}

/* Event thread: the errors vun_vq_broken() posted. */
static void
on_vq_broken(int fd, void *arg, uint32_t events)
{
	struct vun_dev *d = arg;
	uint64_t n;
	char why[64];

	RTE_SET_USED(events);
	if (read(fd, &n, sizeof(n)) < 0)
		return;
	for (uint16_t i = 0; i < VUN_MAX_VQS; i++) {
		if (__atomic_load_n(&d->vq[i].avail_broken, __ATOMIC_ACQUIRE) !=
		    1)
			continue;
		/* 2: reported; the next reset clears it */
		__atomic_store_n(&d->vq[i].avail_broken, 2, __ATOMIC_RELAXED);
		snprintf(why, sizeof(why),
			 "virtqueue %u avail index ahead of the ring", i);
		set_needs_reset(d, why);
	}
}

/* ---- virtqueues ---- */

/* The ring state every queue starts from (device reset). */
static void
vq_positions_reset(struct vun_vq *vq)
{
	__atomic_store_n(&vq->avail_broken, 0, __ATOMIC_RELAXED);
	vq->last_avail = vq->last_used = 0;
	vq->avail_wrap = vq->used_wrap = true;	/* VIRTIO 1.x 2.8.1 */
}

/*
 * The longest frame a queue passes. To the driver (its receiveq): with
 * VIRTIO_NET_F_MTU only, which forbids frames longer than the MTU plus
 * their Ethernet header (VIRTIO 5.1.4.1): the MTU + 14 here, what VLAN
 * tags add allowed on top (vun_tx_too_long()). From it (its transmitq,
 * our receive): always, the MTU + 14 + one tag, as a NIC drops what its
 * MTU does not let in.
 */
static uint16_t
vq_max_frame(const struct vun_dev *d, const struct vun_vq *vq)
{
	if (!(vq->index & 1))
		return has(d, VIRTIO_NET_F_MTU) ?
			       (uint16_t)(d->mtu + RTE_ETHER_HDR_LEN) :
			       UINT16_MAX;
	return (uint16_t)(d->mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN);
}

/* A view of a ring (rte_vfio_user_mem_view()), or NULL with ring_copy:
 * shadow rings for every queue. */
static void *
ring_view(struct vun_dev *d, uint64_t iova, uint64_t len, uint32_t access)
{
	return d->ring_copy ?
		       NULL :
		       rte_vfio_user_mem_view(d->dev_id, iova, len, access);
}

/* What the driver chose for a queue being started (its vector, the
 * negotiated features), either ring layout; its caches start empty. */
static void
vq_take_features(struct vun_dev *d, struct vun_vq *vq)
{
	vq->msix_vector = vq->cfg_vector;
	vq->port_id = d->port_id;
	vq->in_order = has(d, VIRTIO_F_IN_ORDER);
	vq->event_idx = has(d, VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = has(d, VIRTIO_RING_F_INDIRECT_DESC);
	vq->mrg_rxbuf = has(d, VIRTIO_NET_F_MRG_RXBUF);
	vq->csum = has(d, VIRTIO_NET_F_CSUM);
	vq->guest_csum = guest_csum_on(d);
	vq->guest_gso = guest_gso_on(d);
	vq->cut_next = false;
	vq->hdr_len = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	vq->max_frame = vq_max_frame(d, vq);
	/* against vun_virtio_set_port() */
	rte_spinlock_lock(&d->status_lock);
	vq->gso_types = (uint8_t)vu_pmd_gso_types(d->guest_features, false);
	vq->max_lro = vq->gso_types != 0 ? d->max_lro : 0;
	rte_spinlock_unlock(&d->status_lock);
	/* the longest frame the chain walkers copy: bounds what a lying
	 * chain costs in mbufs (a GSO packet longer than the port's
	 * max_lro_pkt_size is copied, then counted too long) */
	vq->rx_limit = vq->gso_types != 0 ? VU_PMD_MAX_GSO_FRAME :
					    VUN_MAX_FRAME;
	memset(&vq->mcache, 0, sizeof(vq->mcache));
	memset(&vq->log_cache, 0, sizeof(vq->log_cache));
}

/* vq_start() of a packed queue: descriptor ring, driver and device event
 * suppression areas (VIRTIO 1.x 2.8.10: 16, 4 and 4 byte aligned), through
 * views as the split rings are. */
static int
vq_start_packed(struct vun_dev *d, struct vun_vq *vq)
{
	uint32_t rw = RTE_VFIO_USER_MEM_F_READ | RTE_VFIO_USER_MEM_F_WRITE;

	vq->pdesc = ring_view(d, vq->desc_iova,
			      (uint64_t)vq->size *
				      sizeof(struct vring_packed_desc),
			      rw);
	vq->drv_event = ring_view(d, vq->avail_iova,
				  sizeof(struct vring_packed_desc_event),
				  RTE_VFIO_USER_MEM_F_READ);
	vq->dev_event = ring_view(d, vq->used_iova,
				  sizeof(struct vring_packed_desc_event), rw);
	if (vq->pdesc == NULL || vq->drv_event == NULL ||
	    vq->dev_event == NULL) {
		/* no view (hugetlbfs pages cannot be mapped again piecemeal):
		 * a shadow copy (vun_shadow.h) */
		if (vun_shadow_make(d, vq) < 0)
			return -EFAULT;
	} else if (((uintptr_t)vq->pdesc & 15) ||
		   ((uintptr_t)vq->drv_event & 3) ||
		   ((uintptr_t)vq->dev_event & 3)) {
		return -EFAULT;
	}
	vq_take_features(d, vq);
	/* data queues are polled: no kicks; the control queue is served on
	 * kicks */
	__atomic_store_n(&vq->dev_event->flags,
			 vq->index != ctrl_vq(d) ?
				 VRING_PACKED_EVENT_FLAG_DISABLE :
				 VRING_PACKED_EVENT_FLAG_ENABLE,
			 __ATOMIC_RELAXED);
	if (vq->shadow != NULL)
		vun_shadow_started(vq);
	vun_rx_intr_publish(d, vq);
	return 0;
}

/* Translate and publish one queue. 0, or -EFAULT if its rings are not
 * wholly in client memory. A ring whose pages are scattered in the
 * client's memory (a guest behind a vIOMMU) gets a contiguous view; the
 * pointers stay valid until an unmap takes their pages (on_update_status()
 * withdraws the queue then). */
static int
vq_start(struct vun_dev *d, struct vun_vq *vq)
{
	uint16_t n = vq->cfg_size;
	uint32_t rw = RTE_VFIO_USER_MEM_F_READ | RTE_VFIO_USER_MEM_F_WRITE;

	/* a shadow of an earlier start: the queue is not ready, and was
	 * withdrawn a grace period ago */
	vun_shadow_free(vq);
	if (vun_offload_owns(d, vq->index))
		return 0;	/* the engine's, never our data path's */
	vq->size = n;
	vq->packed = has(d, VIRTIO_F_RING_PACKED);
	if (vq->packed)
		return vq_start_packed(d, vq);
	vq->desc = ring_view(d, vq->desc_iova,
			(uint64_t)n * sizeof(struct vring_desc),
			RTE_VFIO_USER_MEM_F_READ);
	vq->avail = ring_view(d, vq->avail_iova,
			      sizeof(struct vring_avail) +
				      (uint64_t)(n + 1) * 2,
			      RTE_VFIO_USER_MEM_F_READ);
	vq->used = ring_view(d, vq->used_iova,
			     sizeof(struct vring_used) +
				     (uint64_t)n *
					     sizeof(struct vring_used_elem) +
				     2,
			     rw);
	if (vq->desc == NULL || vq->avail == NULL || vq->used == NULL) {
		/* no view (hugetlbfs pages cannot be mapped again piecemeal):
		 * a shadow copy (vun_shadow.h) */
		if (vun_shadow_make(d, vq) < 0)
			return -EFAULT;
	} else if (((uintptr_t)vq->desc & 15) || ((uintptr_t)vq->avail & 1) ||
		   ((uintptr_t)vq->used & 3)) {
		/* VIRTIO 1.x 2.7: 16, 2 and 4 byte aligned; we access them
		 * as such */
		return -EFAULT;
	}
	vq_take_features(d, vq);
	/* a polling device wants no kicks on data queues; the control queue
	 * is served on kicks, so with EVENT_IDX ask for the next one. The
	 * flags written whatever the ring held: with EVENT_IDX they are 0
	 * (VIRTIO 2.7.10), avail_event says it instead */
	__atomic_store_n(&vq->used->flags,
			 vq->index != ctrl_vq(d) && !vq->event_idx ?
				 VRING_USED_F_NO_NOTIFY :
				 0,
			 __ATOMIC_RELAXED);
	if (vq->index != ctrl_vq(d) && vq->event_idx)	/* just behind */
		__atomic_store_n((uint16_t *)&vq->used->ring[n],
				 (uint16_t)(vq->last_avail - 1),
				 __ATOMIC_RELAXED);
	else if (vq->event_idx)
		__atomic_store_n((uint16_t *)&vq->used->ring[n], vq->last_avail,
				 __ATOMIC_RELAXED);
	if (vq->shadow != NULL)
		vun_shadow_started(vq);
	vun_rx_intr_publish(d, vq);
	return 0;
}

/*
 * Publish every enabled queue. At DRIVER_OK, rings we cannot use are the
 * driver's error. After a DMA change they are not: the client (a VMM
 * rebuilding its memory map) may unmap memory and map it again, so such a
 * queue just waits for the next change.
 */
static void
queues_start(struct vun_dev *d, bool driver_ok)
{
	if (d->halted || d->bm_off)
		return;
	for (uint16_t i = 0; i < vun_num_vqs(d); i++) {
		struct vun_vq *vq = &d->vq[i];

		if (!vq->cfg_enable || vq->ready || vq_start(d, vq) == 0)
			continue;
		if (driver_ok) {
			set_needs_reset(d, "virtqueue rings outside client "
					"memory or misaligned");
			return;
		}
		VUN_LOG(WARNING, "%s: virtqueue %u stopped: its rings are not "
			"in client memory", d->path, i);
	}
}

/* Whether the rings of a running queue touch [iova, iova + len). */
static bool
vq_rings_in(const struct vun_vq *vq, uint64_t iova, uint64_t len)
{
	const uint64_t n = vq->size;
	const uint64_t start[3] = { vq->desc_iova, vq->avail_iova,
				    vq->used_iova };
	const uint64_t split[3] = {
		n * sizeof(struct vring_desc),
		sizeof(struct vring_avail) + (n + 1) * 2,
		sizeof(struct vring_used) + n * sizeof(struct vring_used_elem) +
			2,
	};
	const uint64_t packed[3] = {
		n * sizeof(struct vring_packed_desc),
		sizeof(struct vring_packed_desc_event),
		sizeof(struct vring_packed_desc_event),
	};
	const uint64_t *size = vq->packed ? packed : split;

	for (int i = 0; i < 3; i++)
		if ((start[i] >= iova && start[i] - iova < len) ||
		    (iova >= start[i] && iova - start[i] < size[i]))
			return true;
	return false;
}

/* Withdraw every queue from the data path and wait until it let go. */
void
vun_queues_stop(struct vun_dev *d)
{
	for (uint16_t i = 0; i < VUN_MAX_VQS; i++)
		__atomic_store_n(&d->vq[i].ready, 0, __ATOMIC_RELEASE);
	vun_grace_period(d);
}

static void
vq_reset(struct vun_dev *d, struct vun_vq *vq)
{
	vq->cfg_size = VUN_QUEUE_SIZE_MAX;
	vq->cfg_vector = VIRTIO_MSI_NO_VECTOR;
	vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
	vq->cfg_enable = false;
	vq->desc_iova = vq->avail_iova = vq->used_iova = 0;
	vq->size = 0;
	vq_positions_reset(vq);
	vq->packed = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vun_shadow_free(vq);
	vq->dev = d;
}

/*
 * VIRTIO_F_RING_RESET (VIRTIO 1.2 2.6.1, 4.1.4.3.1): the driver resets one
 * queue. It leaves the data path first (after the grace period no burst
 * uses it and nothing is notified for it), then every field of it is back
 * at its reset value, its positions included. Done before the write is
 * answered: the driver reads 0 in queue_reset and queue_enable at once,
 * and may set the queue up again and enable it while DRIVER_OK stays.
 */
static void
vq_ring_reset(struct vun_dev *d, struct vun_vq *vq)
{
	__atomic_store_n(&vq->ready, 0, __ATOMIC_RELEASE);
	vun_grace_period(d);
	vq_reset(d, vq);
	VUN_LOG(INFO, "%s: virtqueue %u reset by the driver", d->path,
		vq->index);
}

/*
 * Every change of the device status is made with status_lock held (here,
 * or in status_write() with the features checked), so that
 * vun_virtio_set_port() (application thread) sees FEATURES_OK and the
 * features under it as the driver does.
 */
void
vun_status_store(struct vun_dev *d, uint8_t status)
{
	rte_spinlock_lock(&d->status_lock);
	d->status = status;
	rte_spinlock_unlock(&d->status_lock);
}

/* Virtio device reset (status 0, DEVICE_RESET, client gone). */
static void
virtio_reset(struct vun_dev *d)
{
	bool was_ok = d->status & VIRTIO_CONFIG_S_DRIVER_OK;

	vun_offload_reset(d);
	vun_queues_stop(d);
	for (uint16_t i = 0; i < VUN_MAX_VQS; i++)
		vq_reset(d, &d->vq[i]);
	d->guest_features = 0;
	d->guest_offloads = 0;
	d->dfselect = d->gfselect = 0;
	d->msix_config = VIRTIO_MSI_NO_VECTOR;
	vun_status_store(d, 0);
	d->halted = false;
	d->queue_select = 0;
	__atomic_store_n(&d->active_pairs, 1, __ATOMIC_RELEASE);
	vun_tx_map_update(d);
	d->promisc = true;	/* virtio-net default: no filtering */
	d->allmulti = true;
	if (!rte_is_same_ether_addr(&d->mac, &d->guest_mac)) {
		rte_ether_addr_copy(&d->mac, &d->guest_mac);
		config_changed(d);
	}
	__atomic_store_n(&d->isr, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&d->cfg_unread, 0, __ATOMIC_RELEASE);
	rte_vfio_user_pci_set_intx(d->pci, false);
	/* nothing from before the reset reaches the driver after it (VIRTIO
	 * 2.4.1): interrupts latched under a mask go with their events */
	for (uint16_t v = 0; v < d->msix_vectors; v++)
		rte_vfio_user_pci_msix_clear(d->pci, v);
	if (was_ok)
		vun_link_update_notify(d);
}

/* The device as after a reset of the PCI function (DEVICE_RESET, D3hot
 * to D0, client gone): a virtio reset, and Bus Master Enable forgotten
 * (the library's function forgot it too). */
static void
function_reset(struct vun_dev *d)
{
	virtio_reset(d);
	d->bm_off = false;
	__atomic_store_n(&d->pm_state, 0, __ATOMIC_RELAXED);
}

static void
status_write(struct vun_dev *d, uint8_t val)
{
	uint8_t old = d->status;
	const char *why = NULL;
	bool no_features_ok;
	uint64_t off = 0;

	if (val == 0) {
		VUN_LOG(INFO, "%s: driver reset the device", d->path);
		virtio_reset(d);
		return;
	}
	/* VIRTIO 1.x 2.1.2: the driver clears no bit but by a reset. Taking
	 * DRIVER_OK or FEATURES_OK back under running queues would leave them
	 * on features the driver could then rewrite: a driver error. */
	if (old & ~val & (uint8_t)~VIRTIO_CONFIG_S_NEEDS_RESET) {
		driver_error_halt(d, "device status bits cleared without a reset");
		return;
	}
	/* the features checked against the offer and the status stored with
	 * status_lock held: vun_virtio_set_port() changes the offer (LRO,
	 * the MTU) before, or sees FEATURES_OK with what it allowed */
	rte_spinlock_lock(&d->status_lock);
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		off = offered(d);
		why = vun_features_why(d->guest_features, off);
		if (why != NULL) {
			val &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
		} else {
			/* every offload on at negotiation (5.1.6.5.6.2) */
			d->guest_offloads = d->guest_features &
					    VUN_GUEST_OFFLOADS;
		}
	}
	/* NEEDS_RESET is the device's; the driver cannot clear or set it */
	val = (uint8_t)((val & ~VIRTIO_CONFIG_S_NEEDS_RESET) |
			(old & VIRTIO_CONFIG_S_NEEDS_RESET));
	no_features_ok = (val & VIRTIO_CONFIG_S_DRIVER_OK) &&
			 !(val & VIRTIO_CONFIG_S_FEATURES_OK);
	if (no_features_ok)
		val &= (uint8_t)~VIRTIO_CONFIG_S_DRIVER_OK;
	d->status = val;
	rte_spinlock_unlock(&d->status_lock);
	if (why != NULL)
		VUN_LOG(ERR,
			"%s: driver features 0x%" PRIx64 " refused (offered "
			"0x%" PRIx64 "): %s",
			d->path, d->guest_features, off, why);
	if (no_features_ok)
		VUN_LOG(ERR, "%s: DRIVER_OK without FEATURES_OK", d->path);
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		VUN_LOG(INFO, "%s: driver ready, features 0x%" PRIx64,
			d->path, d->guest_features);
		queues_start(d, true);
		vun_offload_driver_ok(d);
		tx_map_say(d);
		vun_link_update_notify(d);
	}
}

/* ---- control queue ---- */


/* Execute one command; *shrunk is set when it took something from the
 * data path (queue pairs, an offload): its ack waits for the bursts. */
static uint8_t
ctrl_exec(struct vun_dev *d, const uint8_t *cmd, uint32_t len, bool *shrunk)
{
	const struct virtio_net_ctrl_hdr *h = (const void *)cmd;
	const uint8_t *data = cmd + sizeof(*h);
	uint32_t dlen = len - (uint32_t)sizeof(*h);

	if (len < sizeof(*h))
		return VIRTIO_NET_ERR;
	switch (h->class) {
	case VIRTIO_NET_CTRL_RX:
		if (!has(d, VIRTIO_NET_F_CTRL_RX) || dlen != 1)
			return VIRTIO_NET_ERR;
		if (h->cmd == VIRTIO_NET_CTRL_RX_PROMISC)
			d->promisc = data[0] != 0;
		else if (h->cmd == VIRTIO_NET_CTRL_RX_ALLMULTI)
			d->allmulti = data[0] != 0;
		else
			return VIRTIO_NET_ERR;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC:
		if (h->cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
			if (!has(d, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
			    dlen != RTE_ETHER_ADDR_LEN)
				return VIRTIO_NET_ERR;
			/* config space's mac shows it: a driver-made change,
			 * a new generation but no interrupt */
			if (memcmp(&d->guest_mac, data, RTE_ETHER_ADDR_LEN)) {
				memcpy(&d->guest_mac, data, RTE_ETHER_ADDR_LEN);
				config_changed(d);
			}
			return VIRTIO_NET_OK;
		}
		if (h->cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET && has(d, VIRTIO_NET_F_CTRL_RX)) {
			/* two tables: u32 count + macs; validate, no filtering */
			uint32_t off = 0;

			for (int t = 0; t < 2; t++) {
				uint32_t n;

				if (dlen - off < 4)
					return VIRTIO_NET_ERR;
				memcpy(&n, data + off, 4);
				off += 4;
				if (n > (dlen - off) / RTE_ETHER_ADDR_LEN)
					return VIRTIO_NET_ERR;
				off += n * RTE_ETHER_ADDR_LEN;
			}
			return off == dlen ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
		}
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MQ:
		if (h->cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET &&
		    has(d, VIRTIO_NET_F_MQ) && dlen == 2) {
			uint16_t pairs;

			memcpy(&pairs, data, 2);
			if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN ||
			    pairs > d->max_pairs)
				return VIRTIO_NET_ERR;
			if (pairs < d->active_pairs)
				*shrunk = true;
			__atomic_store_n(&d->active_pairs, pairs, __ATOMIC_RELEASE);
			VUN_LOG(INFO, "%s: driver uses %u queue pairs", d->path,
				pairs);
			vun_tx_map_update(d);
			vun_offload_pairs(d);
			return VIRTIO_NET_OK;
		}
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
		if (h->cmd == VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET &&
		    has(d, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) && dlen == 8) {
			uint64_t on;

			memcpy(&on, data, 8);
			on = rte_le_to_cpu_64(on);
			/* only negotiated ones (5.1.6.5.6.1) */
			if (on & ~(d->guest_features & VUN_GUEST_OFFLOADS))
				return VIRTIO_NET_ERR;
			if (d->guest_offloads & ~on)
				*shrunk = true;
			d->guest_offloads = on;
			for (uint16_t q = 0; q < d->max_pairs; q++) {
				__atomic_store_n(&d->vq[2 * q].guest_csum,
						 guest_csum_on(d),
						 __ATOMIC_RELEASE);
				__atomic_store_n(&d->vq[2 * q].guest_gso,
						 guest_gso_on(d),
						 __ATOMIC_RELEASE);
			}
			VUN_LOG(INFO, "%s: driver's offloads now 0x%" PRIx64,
				d->path, on);
			return VIRTIO_NET_OK;
		}
		return VIRTIO_NET_ERR;
	default:
		return VIRTIO_NET_ERR;
	}
}

/*
 * Gather one command: the readable descriptors into cmd, the first byte of
 * the first writable one as the ack. The chain may go through one indirect
 * table (VIRTIO 1.x 2.7.5.3: any queue, when negotiated) and is at most a
 * queue long. Returns the ack, or NULL for a malformed chain.
 */
static uint8_t *
ctrl_gather(struct vun_dev *d, struct vun_vq *vq,
	    const struct rte_vfio_user_mem_table *t,
	    struct rte_vfio_user_mem_cache *mc, uint16_t head, uint8_t *cmd,
	    uint32_t *len)
{
	struct vun_tbl tbl = { (const uint8_t *)vq->desc, vq->desc_iova };
	uint32_t tbl_size = vq->size, seen = 0;
	uint16_t idx = head;
	bool indirect = false;
	uint8_t *ack = NULL;

	*len = 0;
	for (;;) {
		struct vring_desc desc;

		if (idx >= tbl_size || ++seen > vq->size)
			return NULL;	/* out of the table, or a loop */
		/* read once: the driver may change it while we use it */
		if (vun_tbl_read(t, mc, &tbl, idx, &desc) < 0)
			return NULL;
		if (desc.flags & VRING_DESC_F_INDIRECT) {
			/* once, alone, a whole number of entries */
			if (indirect || !has(d, VIRTIO_RING_F_INDIRECT_DESC) ||
			    (desc.flags & VRING_DESC_F_NEXT) || desc.len == 0 ||
			    desc.len % sizeof(desc) != 0)
				return NULL;
			if (vun_tbl_open(t, mc, &tbl, desc.addr, desc.len) < 0)
				return NULL;
			tbl_size = desc.len / sizeof(desc);
			indirect = true;
			idx = 0;
			seen = 0;
			continue;
		}
		if (!vun_ctrl_desc(t, mc, desc.addr, desc.len,
				   desc.flags & VRING_DESC_F_WRITE, cmd, len,
				   &ack))
			return NULL;
		if (!(desc.flags & VRING_DESC_F_NEXT))
			return ack;
		idx = desc.next;
	}
}

/*
 * Serve the pending control commands (event thread, on a kick), at most a
 * queue's worth per doorbell: a driver that keeps adding commands must
 * not hold the event thread, and every other device with it. A driver
 * that follows the spec never has more than that available at once here,
 * since no buffer goes back to it before the end; more only comes from
 * one that reuses descriptors it has in flight, and waits for its next
 * doorbell (with EVENT_IDX, the event index asks for one as soon as it
 * adds a command).
 */
static void
ctrl_process(struct vun_dev *d)
{
	struct vun_vq *vq = &d->vq[ctrl_vq(d)];
	const struct rte_vfio_user_mem_table *t =
		rte_vfio_user_get_mem_table(d->dev_id);
	uint16_t avail, budget, old_used = vq->last_used;
	struct rte_vfio_user_mem_cache mc = { 0, NULL };
	uint8_t cmd[VUN_CTRL_MAX_CMD];
	bool shrunk = false;

	if (!has(d, VIRTIO_NET_F_CTRL_VQ) || !vq->ready)
		return;
	if (vq->packed) {
		if (!vun_ctrl_packed(d, vq, ctrl_exec))
			return;
		/* the ISR bit before the INTx it explains */
		if (rte_vfio_user_pci_msix_enabled(d->pci) != 1)
			__atomic_fetch_or(&d->isr, 1, __ATOMIC_RELEASE);
		notify_vector(d, vq->msix_vector);
		return;
	}
	budget = vq->size;
	for (;;) {
		if (unlikely(vq->shadow != NULL))
			vun_shadow_in(vq);
		avail = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
		if ((uint16_t)(avail - vq->last_avail) > vq->size) {
			set_needs_reset(d, "control queue avail index");
			break;
		}
		while (vq->last_avail != avail && budget > 0) {
			uint16_t head = vq->avail->ring[vq->last_avail &
							(vq->size - 1)];
			uint8_t *ack;
			uint32_t len;

			budget--;
			vq->last_avail++;
			ack = ctrl_gather(d, vq, t, &mc, head, cmd, &len);
			if (ack == NULL) {
				vq->st.bad_desc++;
				vq_used_put(vq, head, 0);
				continue;
			}
			*ack = ctrl_exec(d, cmd, len, &shrunk);
			vq->st.packets++;
			vq_used_put(vq, head, 1);
		}
		if (!vq->event_idx)
			break;
		/* kick us for the next command after those we saw; then
		 * look again, as one added before the driver could see this
		 * gets no kick (unless the budget is spent) */
		__atomic_store_n((uint16_t *)&vq->used->ring[vq->size], avail,
				 __ATOMIC_RELAXED);
		if (unlikely(vq->shadow != NULL))
			vun_shadow_split_event(vq);
		rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (budget == 0 ||
		    (vq->shadow != NULL ?
			     vun_shadow_avail_idx(vq) :
			     __atomic_load_n(&vq->avail->idx,
					     __ATOMIC_ACQUIRE)) == avail)
			break;
	}
	if (vq->last_used != old_used) {
		/* VIRTIO 1.x 5.1.6.5.5: once the driver sees the ack of a
		 * smaller VQ_PAIRS_SET, no packet goes to the queues it
		 * disabled: wait for the bursts that may have seen the old
		 * count (they check it inside the QSBR section) */
		if (shrunk)
			vun_grace_period(d);
		__atomic_store_n(&vq->used->idx, vq->last_used, __ATOMIC_RELEASE);
		if (vq->shadow != NULL) {	/* to the driver's ring */
			if (!vun_shadow_out(vq, t, old_used, true))
				return;
		} else {
			vun_log_used(vq, old_used);
			rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (!vq_need_interrupt(vq, old_used, vq->last_used))
				return;
		}
		/* the ISR bit before the INTx it explains */
		if (rte_vfio_user_pci_msix_enabled(d->pci) != 1)
			__atomic_fetch_or(&d->isr, 1, __ATOMIC_RELEASE);
		notify_vector(d, vq->msix_vector);
	}
}

/* ---- BAR4 registers ---- */

/* Linux's uapi structure is the start of ours */
_Static_assert(offsetof(struct vun_common_cfg, queue_used_hi) ==
			       offsetof(struct virtio_pci_common_cfg,
					queue_used_hi) &&
		       offsetof(struct vun_common_cfg, queue_notify_data) ==
			       sizeof(struct virtio_pci_common_cfg),
	       "struct vun_common_cfg");

static void
common_image(struct vun_dev *d, struct vun_common_cfg *c)
{
	const struct vun_vq *vq = vq_by_index(d, d->queue_select);

	memset(c, 0, sizeof(*c));
	c->device_feature_select = d->dfselect;
	c->device_feature = d->dfselect < 2 ? (uint32_t)(offered(d) >>
							 (32 * d->dfselect)) :
					      0;
	c->guest_feature_select = d->gfselect;
	c->guest_feature = d->gfselect < 2 ?
		(uint32_t)(d->guest_features >> (32 * d->gfselect)) : 0;
	c->msix_config = d->msix_config;
	c->num_queues = vun_num_vqs(d);
	c->device_status = d->status;
	c->config_generation = __atomic_load_n(&d->config_generation,
					       __ATOMIC_ACQUIRE);
	c->queue_select = d->queue_select;
	if (vq != NULL) {
		c->queue_size = vq->cfg_size;
		c->queue_msix_vector = vq->cfg_vector;
		c->queue_enable = vq->cfg_enable;
		/* the slot of where the queue lives: the control queue's is
		 * past the data queues' ioeventfds, whatever its index */
		c->queue_notify_off = vq->index;
		c->queue_desc_lo = (uint32_t)vq->desc_iova;
		c->queue_desc_hi = (uint32_t)(vq->desc_iova >> 32);
		c->queue_avail_lo = (uint32_t)vq->avail_iova;
		c->queue_avail_hi = (uint32_t)(vq->avail_iova >> 32);
		c->queue_used_lo = (uint32_t)vq->used_iova;
		c->queue_used_hi = (uint32_t)(vq->used_iova >> 32);
	}
}

static uint16_t
vector_ok(const struct vun_dev *d, uint16_t v)
{
	return v < d->msix_vectors ? v : VIRTIO_MSI_NO_VECTOR;
}

static void
common_write(struct vun_dev *d, uint64_t off, const void *buf, size_t len)
{
	struct vun_common_cfg old, c;
	struct vun_vq *vq;

	common_image(d, &old);
	c = old;
	memcpy((uint8_t *)&c + off, buf, len);

#define CHANGED(f)                                                     \
	(c.f != old.f || (off <= offsetof(struct vun_common_cfg, f) && \
			  off + len > offsetof(struct vun_common_cfg, f)))
	if (CHANGED(device_feature_select))
		d->dfselect = c.device_feature_select;
	if (CHANGED(guest_feature_select))
		d->gfselect = c.guest_feature_select;
	if (CHANGED(guest_feature) && d->gfselect < 2 &&
	    !(d->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		uint64_t mask = 0xffffffffULL << (32 * d->gfselect);

		d->guest_features = (d->guest_features & ~mask) |
			((uint64_t)c.guest_feature << (32 * d->gfselect));
	}
	if (CHANGED(msix_config))
		d->msix_config = vector_ok(d, c.msix_config);
	if (CHANGED(queue_select))
		d->queue_select = c.queue_select;
	vq = vq_by_index(d, d->queue_select);
	/* 1 resets the queue (0 and other values do nothing); it reads 0 */
	if (vq != NULL && CHANGED(queue_reset) && c.queue_reset == 1 &&
	    has(d, VIRTIO_F_RING_RESET) &&
	    (d->status & VIRTIO_CONFIG_S_FEATURES_OK))
		vq_ring_reset(d, vq);
	if (vq != NULL && !vq->cfg_enable) {
		/* queue fields are frozen once the queue is enabled */
		if (CHANGED(queue_size)) {
			uint16_t s = c.queue_size;

			/* packed rings may have any size (VIRTIO 1.x 2.8.10) */
			if (s != 0 && s <= VUN_QUEUE_SIZE_MAX &&
			    (!(s & (s - 1)) || has(d, VIRTIO_F_RING_PACKED)))
				vq->cfg_size = s;
			else if (s == 0 || s > VUN_QUEUE_SIZE_MAX)
				set_needs_reset(d, "queue size 0 or above the "
						   "queue's maximum");
			else
				set_needs_reset(d, "queue size not a power of "
						   "2 (split ring)");
		}
		if (CHANGED(queue_desc_lo) || CHANGED(queue_desc_hi))
			vq->desc_iova = (uint64_t)c.queue_desc_hi << 32 | c.queue_desc_lo;
		if (CHANGED(queue_avail_lo) || CHANGED(queue_avail_hi))
			vq->avail_iova = (uint64_t)c.queue_avail_hi << 32 | c.queue_avail_lo;
		if (CHANGED(queue_used_lo) || CHANGED(queue_used_hi))
			vq->used_iova = (uint64_t)c.queue_used_hi << 32 | c.queue_used_lo;
	}
	if (vq != NULL && CHANGED(queue_msix_vector)) {
		vq->cfg_vector = vector_ok(d, c.queue_msix_vector);
		vq->msix_vector = vq->cfg_vector;
	}
	if (vq != NULL && CHANGED(queue_enable) && c.queue_enable == 1 &&
	    !vq->cfg_enable) {
		vq->cfg_enable = true;
		if ((d->status & VIRTIO_CONFIG_S_DRIVER_OK) && !d->halted &&
		    !d->bm_off && vq_start(d, vq) < 0)
			set_needs_reset(d, "virtqueue rings outside client "
					"memory or misaligned");
	}
	if (CHANGED(device_status))
		status_write(d, c.device_status);
#undef CHANGED
}

/* Said when transmit queues share pairs: as the driver goes live (a
 * driver of one pair never sends VQ_PAIRS_SET) and as the map changes
 * under a live driver. */
static void
tx_map_say(struct vun_dev *d)
{
	uint32_t map = __atomic_load_n(&d->tx_map, __ATOMIC_ACQUIRE);
	uint16_t pairs = (uint16_t)(map & ~VUN_TX_SHARED);

	if (map & VUN_TX_SHARED)
		VUN_LOG(NOTICE,
			"%s: the driver uses %u queue pairs, the port has %u "
			"transmit queues: queue q sends through pair q %% %u, "
			"under a lock",
			d->path, pairs,
			__atomic_load_n(&d->app_txqs, __ATOMIC_RELAXED), pairs);
}

/*
 * The transmit queues' pairs (d->tx_map). With no more transmit queues
 * than the driver enabled pairs, queue q is pair q's, as the ethdev model
 * has it (one lcore per queue, no lock). With more, queue q sends through
 * pair q % pairs, and every burst takes that pair's tx_lock
 * (VUN_TX_SHARED). A burst reads the map once, inside its QSBR section:
 * the flag goes on a grace period before the pairs change under it, and
 * off a grace period after, so two bursts on one pair always both hold
 * its lock (vun_tx_burst()). From the event thread (the driver's pairs,
 * a reset, a migration) and the application's configure.
 */
void
vun_tx_map_update(struct vun_dev *d)
{
	uint16_t pairs, txqs;
	uint32_t old;
	bool shared;

	rte_spinlock_lock(&d->tx_map_lock);
	pairs = __atomic_load_n(&d->active_pairs, __ATOMIC_ACQUIRE);
	txqs = __atomic_load_n(&d->app_txqs, __ATOMIC_RELAXED);
	shared = d->ol == NULL && txqs > pairs;
	old = __atomic_load_n(&d->tx_map, __ATOMIC_RELAXED);
	if (old == (pairs | (shared ? VUN_TX_SHARED : 0))) {
		rte_spinlock_unlock(&d->tx_map_lock);
		return;
	}
	if (!(old & VUN_TX_SHARED) && shared) {
		__atomic_store_n(&d->tx_map, old | VUN_TX_SHARED,
				 __ATOMIC_RELEASE);
		vun_grace_period(d);
	}
	__atomic_store_n(&d->tx_map,
			 pairs | ((old & VUN_TX_SHARED) || shared ?
					  VUN_TX_SHARED :
					  0),
			 __ATOMIC_RELEASE);
	if ((old & VUN_TX_SHARED) && !shared) {
		vun_grace_period(d);
		__atomic_store_n(&d->tx_map, pairs, __ATOMIC_RELEASE);
	}
	rte_spinlock_unlock(&d->tx_map_lock);
	if (__atomic_load_n(&d->status, __ATOMIC_RELAXED) &
	    VIRTIO_CONFIG_S_DRIVER_OK)
		tx_map_say(d);
}

static void
net_config_image(const struct vun_dev *d, struct virtio_net_config *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->mac, &d->guest_mac, RTE_ETHER_ADDR_LEN);
	/* the device's side of the link: our ethdev port is started */
	c->status = !d->link_down && vun_offload_link(d, d->port_started) ?
			    VIRTIO_NET_S_LINK_UP :
			    0;
	c->max_virtqueue_pairs = d->max_pairs;
	c->mtu = d->mtu;
	/* VIRTIO_NET_F_SPEED_DUPLEX: the port's link (vu_pmd_link()) */
	c->speed = RTE_ETH_SPEED_NUM_10G;	/* Mbit/s */
	c->duplex = 1;				/* full */
}

/* Where the piece of [a, end) starting at a ends: the first of the n
 * edges inside it, or end (the split of a BAR access across areas). */
static uint64_t
next_edge(const uint64_t *edges, unsigned int n, uint64_t a, uint64_t end)
{
	for (unsigned int i = 0; i < n; i++)
		if (edges[i] > a && edges[i] < end)
			end = edges[i];
	return end;
}

/* The edges of BAR4's areas (common configuration from 0, ISR, device
 * configuration, notifications), but 0. */
#define BAR4_EDGES 7

static void
bar4_edges(const struct vun_dev *d, uint64_t edges[BAR4_EDGES])
{
	edges[0] = sizeof(struct vun_common_cfg);
	edges[1] = VUN_ISR_OFF;
	edges[2] = VUN_ISR_OFF + VUN_ISR_LEN;
	edges[3] = VUN_DEVCFG_OFF;
	edges[4] = VUN_DEVCFG_OFF + sizeof(struct virtio_net_config);
	edges[5] = VUN_NOTIFY_OFF;
	edges[6] = VUN_NOTIFY_OFF + (uint64_t)VUN_NOTIFY_MULT * vun_num_vqs(d);
}

/* BAR4 access callback. */
static ssize_t
bar4_access(int dev_id, void *priv, char *buf, size_t count, uint64_t off,
	    bool is_write)
{
	struct vun_dev *d = priv;
	uint64_t edges[BAR4_EDGES];

	RTE_SET_USED(dev_id);
	bar4_edges(d, edges);
	if (next_edge(edges, BAR4_EDGES, off, off + count) < off + count) {
		/* across an area's edge (a client reading the whole BAR, as
		 * the kernel's vfio-pci lets it): each area's part as an
		 * access of its own, holes reading as zero */
		for (uint64_t a = off, b; a < off + count; a = b) {
			b = next_edge(edges, BAR4_EDGES, a, off + count);
			bar4_access(-1, d, buf + (a - off), b - a, a, is_write);
		}
		return (ssize_t)count;
	}
	/* VUN_COMMON_OFF is 0 */
	if (off + count <= sizeof(struct vun_common_cfg)) {
		struct vun_common_cfg c;

		if (is_write) {
			common_write(d, off, buf, count);
		} else {
			const size_t g = offsetof(struct vun_common_cfg,
						  config_generation);

			if (off <= g && g < off + count)
				__atomic_store_n(&d->gen_unseen, 0,
						 __ATOMIC_RELEASE);
			common_image(d, &c);
			memcpy(buf, (uint8_t *)&c + off, count);
		}
	} else if (off >= VUN_ISR_OFF && off + count <= VUN_ISR_OFF + VUN_ISR_LEN) {
		/* reading the ISR byte clears it and lowers INTx; the bytes
		 * after it read 0 and clear nothing. A bit the data path sets
		 * between the exchange and the lowering raised INTx before we
		 * lower it: looked at again, so the line stays up for it
		 * (4.1.4.5: the status bit is the OR of the ISR) */
		if (!is_write) {
			memset(buf, 0, count);
			if (off == VUN_ISR_OFF) {
				buf[0] = (char)
					__atomic_exchange_n(&d->isr, 0,
							    __ATOMIC_ACQ_REL);
				rte_vfio_user_pci_set_intx(d->pci, false);
				if (__atomic_load_n(&d->isr, __ATOMIC_ACQUIRE))
					rte_vfio_user_pci_set_intx(d->pci,
								   true);
			}
		}
	} else if (off >= VUN_DEVCFG_OFF &&
		   off + count <= VUN_DEVCFG_OFF + sizeof(struct virtio_net_config)) {
		struct virtio_net_config c;

		if (!is_write) {	/* read-only in VIRTIO 1.x */
			__atomic_store_n(&d->cfg_unread, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&d->gen_unseen, 0, __ATOMIC_RELEASE);
			net_config_image(d, &c);
			memcpy(buf, (uint8_t *)&c + off - VUN_DEVCFG_OFF, count);
		}
	} else if (off >= VUN_NOTIFY_OFF &&
		   off + count <= VUN_NOTIFY_OFF +
		   (uint64_t)VUN_NOTIFY_MULT * vun_num_vqs(d)) {
		uint16_t q = (uint16_t)((off - VUN_NOTIFY_OFF) / VUN_NOTIFY_MULT);
		uint16_t last = (uint16_t)((off + count - 1 - VUN_NOTIFY_OFF) /
					   VUN_NOTIFY_MULT);

		/* a write over several queues' slots notifies each of them,
		 * as it writes each register */
		for (; is_write && q <= last; q++) {
			d->vq[q].st.kicks++;
			if (q == ctrl_vq(d))
				ctrl_process(d);
			else if (vun_offload_owns(d, q))
				vun_offload_kick(d, q);
			else
				vun_rx_intr_kick(d, q);
		}
		if (!is_write)
			memset(buf, 0, count);
	} else {
		/* holes of the BAR: reads as zero, writes ignored */
		if (!is_write)
			memset(buf, 0, count);
	}
	return (ssize_t)count;
}

/* ---- BAR1: MSI-X table and PBA ---- */

static ssize_t
bar1_access(int dev_id, void *priv, char *buf, size_t count, uint64_t off,
	    bool is_write)
{
	struct vun_dev *d = priv;
	/* the edges of the table (at 0) and the PBA: an access across them
	 * (a client reading the whole BAR, as the kernel's vfio-pci lets it)
	 * is done piece by piece */
	const uint64_t edges[3] = {
		(uint64_t)d->msix_vectors * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE,
		VUN_MSIX_PBA_OFF,
		VUN_MSIX_PBA_OFF + RTE_ALIGN_CEIL(d->msix_vectors, 64) / 8,
	};
	const uint64_t end = off + count;

	RTE_SET_USED(dev_id);
	for (uint64_t a = off, b; a < end; a = b) {
		ssize_t ret;

		b = next_edge(edges, RTE_DIM(edges), a, end);
		ret = rte_vfio_user_pci_msix_access(d->pci, VUN_MSIX_BAR,
						    buf + (a - off), b - a, a,
						    is_write);
		if (ret < 0)
			return ret;
		if (ret == 0 && !is_write)	/* outside both: zeros */
			memset(buf + (a - off), 0, b - a);
	}
	return (ssize_t)count;
}

/* ---- config space ---- */

/*
 * VIRTIO_PCI_CAP_PCI_CFG: a window into the BARs through config space. A
 * write of pci_cfg_data writes the BAR at (bar, offset, length); a read
 * reads it first.
 */
static int
pci_cfg_window(struct vun_dev *d, bool is_write)
{
	struct virtio_pci_cfg_cap cap;
	uint32_t len;

	if (rte_vfio_user_pci_raw_read(d->pci, (uint32_t)d->pci_cfg_cap, &cap,
				       sizeof(cap)) < 0)
		return -EINVAL;
	len = cap.cap.length;
	if (cap.cap.bar != VUN_VIRTIO_BAR || (len != 1 && len != 2 && len != 4) ||
	    cap.cap.offset % len != 0 ||
	    (uint64_t)cap.cap.offset + len > VUN_VIRTIO_BAR_SIZE)
		return 0;	/* not a valid window: nothing happens */
	if (is_write)
		return (int)bar4_access(d->dev_id, d, (char *)cap.pci_cfg_data, len,
					cap.cap.offset, true);
	memset(cap.pci_cfg_data, 0, sizeof(cap.pci_cfg_data));
	bar4_access(d->dev_id, d, (char *)cap.pci_cfg_data, len, cap.cap.offset,
		    false);
	return rte_vfio_user_pci_raw_write(d->pci, (uint32_t)d->pci_cfg_cap +
		offsetof(struct virtio_pci_cfg_cap, pci_cfg_data),
		cap.pci_cfg_data, sizeof(cap.pci_cfg_data));
}

static ssize_t
cfg_access(int dev_id, void *priv, char *buf, size_t count, uint64_t off,
	   bool is_write)
{
	struct vun_dev *d = priv;
	uint64_t data = (uint64_t)d->pci_cfg_cap +
		offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	bool window = off < data + 4 && off + count > data;
	ssize_t ret;

	if (window && !is_write)
		pci_cfg_window(d, false);
	ret = rte_vfio_user_pci_cfg_region_access(dev_id, d->pci, buf, count,
						  off, is_write);
	if (ret > 0 && window && is_write)
		pci_cfg_window(d, true);
	return ret;
}

/*
 * Bus Master Enable (PCI command bit 2) went or came back. Without it the
 * function must not touch client memory (PCI Local Bus 6.2.2; VIRTIO
 * 4.1.1 makes the PCI rules the device's): a driver clears it when it lets
 * go of the device (Linux's pci_disable_device(), and before a kexec, when
 * the memory is the next kernel's). The queues stop as on a driver error,
 * but the status stays (no NEEDS_RESET): setting the bit again restarts
 * them where they were. The library holds MSI-X vectors meanwhile. A
 * client that never set the bit keeps a working device
 * (rte_vfio_user_pci_bus_master()). In offload mode the engine, which
 * masters for the device, gives its queues back meanwhile.
 */
static void
bus_master_changed(struct vun_dev *d, const char *why)
{
	bool off = rte_vfio_user_pci_bus_master(d->pci) == 0;

	if (off == d->bm_off)
		return;
	d->bm_off = off;
	if (off) {
		VUN_LOG(INFO, "%s: %s off: queues stopped", d->path, why);
		/* in offload mode the engine's too: it gives them back and
		 * says where (as for a migration's stop) */
		vun_offload_mig_stop(d);
		vun_queues_stop(d);
		return;
	}
	VUN_LOG(INFO, "%s: %s back", d->path, why);
	if (!(d->status & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	queues_start(d, false);
	vun_offload_driver_ok(d);	/* to the engine, from there */
	ctrl_process(d);	/* commands that came meanwhile, unkicked */
	if (d->ol != NULL)	/* the link is up again with the engine */
		vun_link_update_notify(d);
}

/*
 * MSI-X disabled: from now on INTx is the interrupt, and the PCI status
 * register's interrupt bit must be the OR of the ISR bits (VIRTIO
 * 4.1.4.5). A configuration change signalled by MSI-X left its ISR bit
 * set (the driver need not read the ISR with MSI-X): it raises INTx now,
 * or the driver falling back to INTx never hears of it.
 */
static void
msix_disabled(struct vun_dev *d)
{
	if (__atomic_load_n(&d->isr, __ATOMIC_ACQUIRE) != 0)
		rte_vfio_user_pci_set_intx(d->pci, true);
}

/*
 * The driver changed the power state (the PM capability). Outside D0 the
 * function may not master the bus: the queues stop, as when Bus Master
 * Enable goes. D3hot to D0 resets the function (No_Soft_Reset is 0): the
 * library has reset config space, the device follows as for a
 * DEVICE_RESET. This is the guest's reset method for the function
 * (Linux's "pm" reset, and its suspend to RAM).
 */
static void
power_changed(struct vun_dev *d, const struct rte_vfio_user_pci_event *ev)
{
	VUN_LOG(INFO, "%s: power state D%u -> D%u%s", d->path, ev->old_val,
		ev->new_val, ev->reset ? ": function reset" : "");
	__atomic_store_n(&d->pm_state, (uint8_t)ev->new_val, __ATOMIC_RELAXED);
	if (ev->reset) {
		function_reset(d);
		return;
	}
	bus_master_changed(d, "D0");
}

/* Config space changes the device model acts on (event thread). */
static void
on_pci_event(struct rte_vfio_user_pci *pci,
	     const struct rte_vfio_user_pci_event *ev, void *arg)
{
	RTE_SET_USED(pci);
	if (ev->type == RTE_VFIO_USER_PCI_EV_COMMAND)
		bus_master_changed(arg, "bus mastering");
	else if (ev->type == RTE_VFIO_USER_PCI_EV_POWER)
		power_changed(arg, ev);
	else if (ev->type == RTE_VFIO_USER_PCI_EV_MSIX_CTRL &&
		 (ev->old_val & RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE) &&
		 !(ev->new_val & RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE))
		msix_disabled(arg);
}

static int
add_virtio_cap(struct vun_dev *d, uint8_t type, uint32_t off, uint32_t len,
	       bool notify)
{
	/* struct virtio_pci_cap after its vndr/next/len bytes */
	uint8_t body[sizeof(struct virtio_pci_notify_cap) - 3] = { 0 };
	uint32_t mult = VUN_NOTIFY_MULT;
	size_t blen = sizeof(struct virtio_pci_cap) - 3;

	body[0] = type;
	body[1] = VUN_VIRTIO_BAR;
	memcpy(&body[5], &off, 4);
	memcpy(&body[9], &len, 4);
	if (notify) {
		memcpy(&body[13], &mult, 4);
		blen += 4;
	}
	return rte_vfio_user_pci_add_vendor_cap(d->pci, body, blen, NULL);
}

static int
pci_setup(struct vun_dev *d)
{
	const struct rte_vfio_user_pci_ids ids = {
		.vendor_id = VUN_PCI_VENDOR, .device_id = VUN_PCI_DEVICE,
		.subsystem_vendor_id = VUN_PCI_VENDOR,
		.subsystem_id = VUN_PCI_SUBSYS_ID,
		.revision_id = VUN_PCI_REVISION, .class_code = VUN_PCI_CLASS,
	};
	/* cfg access cap: bar, offset, length and data are the driver's */
	uint8_t body[sizeof(struct virtio_pci_cfg_cap) - 3] = {
		VIRTIO_PCI_CAP_PCI_CFG,
	};
	uint8_t wmask[sizeof(body)];
	int ret;

	d->pci = rte_vfio_user_pci_create(RTE_VFIO_USER_PCI_CFG_SIZE);
	if (d->pci == NULL)
		return -ENOMEM;
	memset(wmask, 0xff, sizeof(wmask));
	wmask[0] = 0;			/* cfg_type */
	wmask[2] = wmask[3] = wmask[4] = 0;	/* id, padding */
	if (rte_vfio_user_pci_set_ids(d->pci, &ids) < 0 ||
	    rte_vfio_user_pci_set_irq_pin(d->pci, 1) < 0 ||
	    rte_vfio_user_pci_set_bar(d->pci, VUN_MSIX_BAR, VUN_MSIX_BAR_SIZE,
				      RTE_VFIO_USER_PCI_BAR_MEM) < 0 ||
	    rte_vfio_user_pci_set_bar(d->pci, VUN_VIRTIO_BAR, VUN_VIRTIO_BAR_SIZE,
				      RTE_VFIO_USER_PCI_BAR_MEM |
				      RTE_VFIO_USER_PCI_BAR_64 |
				      RTE_VFIO_USER_PCI_BAR_PREFETCH) < 0)
		return -EINVAL;
	ret = rte_vfio_user_pci_add_msix(d->pci, d->msix_vectors, VUN_MSIX_BAR,
					 VUN_MSIX_TABLE_OFF, VUN_MSIX_BAR,
					 VUN_MSIX_PBA_OFF);
	if (ret < 0)
		return ret;
	if ((ret = add_virtio_cap(d, VIRTIO_PCI_CAP_COMMON_CFG, VUN_COMMON_OFF,
				  sizeof(struct vun_common_cfg), false)) < 0 ||
	    (ret = add_virtio_cap(d, VIRTIO_PCI_CAP_ISR_CFG, VUN_ISR_OFF,
				  VUN_ISR_LEN, false)) < 0 ||
	    (ret = add_virtio_cap(d, VIRTIO_PCI_CAP_DEVICE_CFG, VUN_DEVCFG_OFF,
				  sizeof(struct virtio_net_config), false)) < 0 ||
	    (ret = add_virtio_cap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, VUN_NOTIFY_OFF,
				  VUN_NOTIFY_MULT * vun_num_vqs(d), true)) < 0)
		return ret;
	ret = rte_vfio_user_pci_add_vendor_cap(d->pci, body, sizeof(body), wmask);
	if (ret < 0)
		return ret;
	d->pci_cfg_cap = ret;
	ret = rte_vfio_user_pci_add_pm(d->pci, 0);	/* D0, D3hot; resets */
	if (ret < 0)
		return ret;
	d->pm_state = 0;
	return rte_vfio_user_pci_set_notify(d->pci, on_pci_event, d);
}

/* ---- library callbacks ---- */

static struct vun_dev *
dev_of(int dev_id)
{
	return rte_vfio_user_get_priv(dev_id);
}

static int
on_new_device(int dev_id)
{
	struct vun_dev *d = dev_of(dev_id);

	VUN_LOG(INFO, "%s: driver connected", d->path);
	__atomic_store_n(&d->connected, true, __ATOMIC_RELEASE);
	return 0;
}

static void
on_destroy_device(int dev_id)
{
	struct vun_dev *d = dev_of(dev_id);

	VUN_LOG(INFO, "%s: driver disconnected", d->path);
	__atomic_store_n(&d->connected, false, __ATOMIC_RELEASE);
	function_reset(d);	/* the library forgot the client's BME */
}

static int
on_update_status(int dev_id, enum rte_vfio_user_status st)
{
	struct vun_dev *d = dev_of(dev_id);

	switch (st) {
	case RTE_VFIO_USER_DMA_UNMAP_PRE: {
		/* the queues whose rings go; the library waits for a grace
		 * period after this (buffers are translated per burst) */
		uint64_t iova = 0, len = UINT64_MAX;

		rte_vfio_user_get_unmap_range(dev_id, &iova, &len);
		for (uint16_t i = 0; i < VUN_MAX_VQS; i++)
			if (d->vq[i].ready && vq_rings_in(&d->vq[i], iova, len))
				__atomic_store_n(&d->vq[i].ready, 0,
						 __ATOMIC_RELEASE);
		break;
	}
	case RTE_VFIO_USER_DMA_CHANGED:
		if (d->status & VIRTIO_CONFIG_S_DRIVER_OK)
			queues_start(d, false);
		break;
	case RTE_VFIO_USER_IRQ_CHANGED:
		/* eventfds and SET_IRQS masks are the library's: it honours
		 * them when the PCI helper raises a vector or INTx */
		break;
	}
	vun_offload_update(d, st);
	return 0;
}

static int
on_reset_device(int dev_id)
{
	struct vun_dev *d = dev_of(dev_id);

	VUN_LOG(INFO, "%s: function reset", d->path);
	function_reset(d);
	return rte_vfio_user_pci_reset(d->pci);
}

/* Our own writes are logged as we make them; an offload engine's are
 * folded in before each report (vun_offload.c). */
static int
on_dirty_log(int dev_id, enum rte_vfio_user_dirty_op op)
{
	return vun_offload_dirty_log(dev_of(dev_id), op);
}

static const struct rte_vfio_user_notify_ops vun_ops = {
	.new_device = on_new_device,
	.destroy_device = on_destroy_device,
	.update_status = on_update_status,
	.reset_device = on_reset_device,
	.dirty_log = on_dirty_log,
};

/* ---- setup ---- */

int
vun_virtio_init(struct vun_dev *d)
{
	int ret;

	d->host_features = VUN_HOST_FEATURES;
	if (d->max_pairs == 1)
		d->host_features &= ~(1ULL << VIRTIO_NET_F_MQ);
	if (d->in_order)
		d->host_features |= 1ULL << VIRTIO_F_IN_ORDER;
	if (d->packed_vq)
		d->host_features |= 1ULL << VIRTIO_F_RING_PACKED;
	/* with the control command that turns GUEST_CSUM off: a Linux
	 * guest refuses XDP while the device may send partial checksums
	 * it cannot turn off */
	if (d->csum)
		d->host_features |= (1ULL << VIRTIO_NET_F_CSUM) |
				    (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
				    (1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	/* offered() shows them while the port has LRO, TSO */
	if (d->csum && d->tso)
		d->host_features |= VU_PMD_HOST_TSO | VU_PMD_GUEST_TSO;
	d->msix_vectors = (uint16_t)(vun_num_vqs(d) + 1);
	d->dev_id = -1;
	d->notify_efd = -1;
	d->error_efd = -1;
	for (uint16_t i = 0; i < VUN_MAX_VQS; i++) {
		d->vq[i].index = i;
		d->vq[i].qid = i / 2;
		d->vq[i].tx_st = &d->vq[i].st;
		rte_spinlock_init(&d->vq[i].tx_lock);
		vq_reset(d, &d->vq[i]);
	}
	rte_spinlock_init(&d->status_lock);
	rte_spinlock_init(&d->tx_map_lock);
	d->status = 0;
	d->active_pairs = 1;
	d->tx_map = 1;
	d->msix_config = VIRTIO_MSI_NO_VECTOR;
	d->promisc = d->allmulti = true;
	rte_ether_addr_copy(&d->mac, &d->guest_mac);
	ret = vun_rx_intr_init(d);
	if (ret == 0)
		ret = pci_setup(d);
	if (ret < 0)
		vun_rx_intr_fini(d);
	return ret;
}

int
vun_virtio_register(struct vun_dev *d)
{
	struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = VFIO_USER_PCI_NUM_REGIONS,
		.num_irqs = VFIO_USER_PCI_NUM_IRQS,
	};
	struct rte_vfio_user_io_fd kicks[2 * VUN_MAX_QUEUE_PAIRS];
	struct rte_vfio_user_region reg;
	struct rte_vfio_user_irq_info intx = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE |
			RTE_VFIO_USER_IRQ_F_AUTOMASKED,
		.count = 1,
	};
	/*
	 * Not NORESIZE: vectors come and go one by one (QEMU sends one
	 * SET_IRQS per vector the guest unmasks). With NORESIZE, QEMU
	 * disables the whole index and re-enables all vectors at every new
	 * one, in chunks of max_msg_fds fds: the library refuses a chunk
	 * beyond the set the first one enabled, so with more than 16 vectors
	 * (queues > 7) the last queues got no interrupts.
	 */
	struct rte_vfio_user_irq_info msix = {
		/* MASKABLE: clients may mask vectors with SET_IRQS too (QEMU
		 * masks in its own emulation of the table, and ignores it) */
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE,
		.count = d->msix_vectors,
	};
	/* ERR and REQ: count 1. The function is conventional PCI (no AER)
	 * and never signals ERR, but QEMU warns "Could not enable error
	 * recovery" at every start when ERR answers count 0 (kernel vfio-pci
	 * fails the query instead, which QEMU takes silently) */
	struct rte_vfio_user_irq_info one = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD, .count = 1,
	};
	struct rte_rcu_qsbr *qsbr;
	int id, ret;

	id = rte_vfio_user_register(d->path, &vun_ops, d);
	if (id < 0) {
		VUN_LOG(ERR, "%s: cannot register the vfio-user device: %s",
			d->path, strerror(-id));
		return id;
	}
	d->dev_id = id;
	ret = vun_offload_registered(d);
	if (ret < 0)
		goto err;
	qsbr = rte_vfio_user_get_qsbr(id);
	d->qsbr = qsbr;
	d->qsbr_light = rte_vfio_user_qsbr_light();
	/* every lcore may poll: registered, and online only inside bursts */
	for (unsigned int i = 0; i < RTE_MAX_LCORE; i++)
		rte_rcu_qsbr_thread_register(qsbr, i);

	ret = rte_vfio_user_set_sock_mode(id, d->sock_mode);
	if (ret < 0)
		goto err;
	ret = rte_vfio_user_set_timeouts(id,
					 &(struct rte_vfio_user_timeouts){
						 d->timeout_ms, d->timeout_ms,
						 d->timeout_ms });
	if (ret < 0)
		goto err;
	ret = rte_vfio_user_set_dev_info(id, &info);
	if (ret < 0)
		goto err;
	ret = rte_vfio_user_pci_fill_cfg_region(d->pci, &reg);
	if (ret < 0)
		goto err;
	reg.access = cfg_access;
	reg.priv = d;
	ret = rte_vfio_user_set_reg_info(id, VFIO_USER_PCI_CONFIG_REGION_INDEX, &reg);
	if (ret < 0)
		goto err;

	memset(&reg, 0, sizeof(reg));
	reg.size = VUN_MSIX_BAR_SIZE;
	reg.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE;
	reg.access = bar1_access;
	reg.priv = d;
	reg.mmap_fd = -1;
	ret = rte_vfio_user_set_reg_info(id, VUN_MSIX_BAR, &reg);
	if (ret < 0)
		goto err;

	/* data-queue doorbells may go to an ioeventfd nobody needs to read:
	 * the device polls; the control queue's doorbell stays a message */
	d->notify_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->notify_efd < 0) {
		ret = -errno;
		goto err;
	}
	for (uint16_t q = 0; q < 2 * d->max_pairs; q++)
		kicks[q] = (struct rte_vfio_user_io_fd){
			.offset = VUN_NOTIFY_OFF +
				  (uint64_t)q * VUN_NOTIFY_MULT,
			.size = 2,
			.fd = vun_offload_kick_fd(
				d, q, vun_rx_intr_kick_fd(d, q, d->notify_efd)),
		};
	reg.size = VUN_VIRTIO_BAR_SIZE;
	reg.access = bar4_access;
	reg.nr_io_fds = 2u * d->max_pairs;
	reg.io_fds = kicks;
	ret = rte_vfio_user_set_reg_info(id, VUN_VIRTIO_BAR, &reg);
	if (ret < 0)
		goto err;

	if ((ret = rte_vfio_user_set_irq_info(id, VFIO_USER_PCI_INTX_IRQ_INDEX, &intx)) < 0 ||
	    (ret = rte_vfio_user_set_irq_info(id, VFIO_USER_PCI_MSIX_IRQ_INDEX, &msix)) < 0 ||
	    (ret = rte_vfio_user_set_irq_info(id, VFIO_USER_PCI_ERR_IRQ_INDEX, &one)) < 0 ||
	    (ret = rte_vfio_user_set_irq_info(id, VFIO_USER_PCI_REQ_IRQ_INDEX, &one)) < 0)
		goto err;
	ret = rte_vfio_user_pci_attach(d->pci, id);
	if (ret < 0)
		goto err;
	d->error_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->error_efd < 0) {
		ret = -errno;
		goto err;
	}
	ret = rte_vfio_user_watch_fd(d->error_efd, on_vq_broken, d);
	if (ret < 0) {
		close(d->error_efd);
		d->error_efd = -1;
		goto err;
	}
	ret = vun_mig_register(d);
	if (ret < 0)
		goto err;
	ret = rte_vfio_user_start(id);
	if (ret < 0)
		goto err;
	return 0;
err:
	VUN_LOG(ERR, "%s: cannot set up the vfio-user device: %s", d->path,
		strerror(-ret));
	vun_virtio_fini(d);
	return ret;
}

/*
 * Before the device goes: a driver just told of a change (the link going
 * down at port stop) reads the configuration next. Were the connection
 * gone by then, QEMU would answer that read with all ones after its 5 s
 * timeout, which a Linux guest's virtio_net takes for
 * VIRTIO_NET_S_ANNOUNCE: it then waits for ever on its control queue. So
 * the device stays served until the driver has read it, for a while.
 */
static void
settle(struct vun_dev *d)
{
	uint64_t hz = rte_get_timer_hz();
	uint64_t end = rte_get_timer_cycles() + hz * VUN_SETTLE_MS / 1000;

	while (__atomic_load_n(&d->cfg_unread, __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&d->connected, __ATOMIC_ACQUIRE)) {
		if (rte_get_timer_cycles() >= end) {
			VUN_LOG(WARNING,
				"%s: the driver did not read the "
				"configuration change in %d ms: going anyway",
				d->path, VUN_SETTLE_MS);
			return;
		}
		rte_delay_us_sleep(1000);
	}
}

void
vun_virtio_fini(struct vun_dev *d)
{
	if (d->dev_id >= 0)
		settle(d);
	if (d->error_efd >= 0) {
		/* first: its callback touches the device (waits for it) */
		rte_vfio_user_unwatch_fd(d->error_efd);
		close(d->error_efd);
		d->error_efd = -1;
	}
	if (d->dev_id >= 0) {
		rte_vfio_user_pci_attach(d->pci, -1);
		rte_vfio_user_unregister(d->dev_id);
		d->dev_id = -1;
	}
	if (d->notify_efd >= 0)
		close(d->notify_efd);
	d->notify_efd = -1;
	vun_rx_intr_fini(d);
	for (uint16_t i = 0; i < VUN_MAX_VQS; i++)
		vun_shadow_free(&d->vq[i]);
	vun_mig_fini(d);
	rte_vfio_user_pci_free(d->pci);
	d->pci = NULL;
}

/* The ethdev port started or stopped, its link set down or up: that is
 * the link the driver sees (told with a configuration interrupt). */
static void
port_link_change(struct vun_dev *d, bool *field, bool val)
{
	if (*field == val)
		return;
	*field = val;
	vun_signal_config(d);
	vun_link_update_notify(d);
}

void
vun_virtio_set_port_started(struct vun_dev *d, bool started)
{
	port_link_change(d, &d->port_started, started);
}

void
vun_virtio_set_link_down(struct vun_dev *d, bool down)
{
	port_link_change(d, &d->link_down, down);
}

/*
 * Why the MTU cannot become mtu now (with status_lock), or NULL. VIRTIO
 * 5.1.4.1: the device MUST NOT modify mtu once set; a driver that
 * negotiated VIRTIO_NET_F_MTU has read it (after FEATURES_OK, VIRTIO
 * 3.1.1) and sized its buffers and its own MTU by it, and Linux's
 * virtio_net reads it only at probe. So it changes only while no driver
 * holds that feature: before FEATURES_OK, or after a reset; a driver that
 * negotiates it next reads the new value.
 */
static const char *
mtu_refused(const struct vun_dev *d, uint16_t mtu)
{
	if (mtu != d->mtu && (d->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    has(d, VIRTIO_NET_F_MTU))
		return "the driver has negotiated VIRTIO_NET_F_MTU (VIRTIO "
		       "5.1.4.1)";
	return NULL;
}

/* Why LRO cannot take at most max_lro now (with status_lock), or NULL. */
static const char *
lro_refused(const struct vun_dev *d, uint32_t max_lro)
{
	if (max_lro < VU_PMD_MAX_GSO_FRAME &&
	    (d->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    (d->guest_features & VU_PMD_HOST_TSO))
		return "the driver has negotiated segmentation (HOST_TSO4/6): "
		       "its GSO packets would be dropped";
	return NULL;
}

/* With status_lock. */
static void
mtu_apply(struct vun_dev *d, uint16_t mtu)
{
	if (mtu == d->mtu)
		return;
	d->mtu = mtu;
	/* the receive queues running (a driver without VIRTIO_NET_F_MTU)
	 * let in what the new MTU does */
	for (uint16_t i = 1; i < VUN_MAX_VQS; i += 2)
		__atomic_store_n(&d->vq[i].max_frame,
				 vq_max_frame(d, &d->vq[i]), __ATOMIC_RELAXED);
	vun_signal_config(d);
}

/* With status_lock. */
static void
lro_apply(struct vun_dev *d, uint32_t max_lro)
{
	__atomic_store_n(&d->max_lro, max_lro, __ATOMIC_RELAXED);
	/* the receive queues running with segmentation negotiated take GSO
	 * packets from now on, or no more */
	for (uint16_t i = 1; i < VUN_MAX_VQS; i += 2)
		__atomic_store_n(&d->vq[i].max_lro,
				 d->vq[i].gso_types != 0 ? max_lro : 0,
				 __ATOMIC_RELAXED);
}

int
vun_virtio_set_port(struct vun_dev *d, int mtu, uint32_t max_lro)
{
	const char *mtu_why = NULL, *lro_why;
	uint16_t cur;

	/* both checked, then both applied, under the lock the driver's
	 * FEATURES_OK takes: a refused configure changes nothing */
	rte_spinlock_lock(&d->status_lock);
	cur = d->mtu;
	if (mtu >= 0)
		mtu_why = mtu_refused(d, (uint16_t)mtu);
	lro_why = lro_refused(d, max_lro);
	if (mtu_why == NULL && lro_why == NULL) {
		if (mtu >= 0)
			mtu_apply(d, (uint16_t)mtu);
		lro_apply(d, max_lro);
	}
	rte_spinlock_unlock(&d->status_lock);
	if (mtu_why != NULL)
		VUN_LOG(ERR,
			"%s: mtu stays %u: %s; set it before the driver starts "
			"or after its reset",
			d->path, cur, mtu_why);
	else if (lro_why != NULL)
		VUN_LOG(ERR,
			"%s: LRO stays on (max_lro_pkt_size %u): %s; change it "
			"before the driver starts or after its reset",
			d->path, VU_PMD_MAX_GSO_FRAME, lro_why);
	else
		return 0;
	return -EBUSY;
}

int
vun_virtio_set_mtu(struct vun_dev *d, uint16_t mtu)
{
	/* the port's LRO as it is (configure, on this same application
	 * thread, is what changes it) */
	return vun_virtio_set_port(d, mtu,
				   __atomic_load_n(&d->max_lro,
						   __ATOMIC_RELAXED));
}

void
vun_virtio_set_tso(struct vun_dev *d, bool on)
{
	__atomic_store_n(&d->tx_tso, on, __ATOMIC_RELAXED);
}

/* For vun_migration.c: the queues and the control queue, once running. */
void
vun_queues_start(struct vun_dev *d)
{
	queues_start(d, false);
}

void
vun_ctrl_process(struct vun_dev *d)
{
	ctrl_process(d);
}
