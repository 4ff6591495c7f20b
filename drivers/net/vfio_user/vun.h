/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUN_H
#define VUN_H

/*
 * net_vfio_user: a virtio-net device (VIRTIO 1.x, modern PCI transport)
 * served over vfio-user, seen by DPDK as an ethdev port.
 *
 * Threads: the device model (config space, BAR registers, control queue)
 * runs on the library's event thread; rx/tx bursts run on lcores. They
 * share the virtqueue state below. The event thread publishes a queue by
 * filling it and then setting 'ready' (release); it withdraws one by
 * clearing 'ready' and waiting for a QSBR grace period on the device's
 * variable, so bursts (online in it while they run) never see a half
 * changed queue or memory that is going away.
 */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>
#include <rte_vfio_user_qsbr.h>

#include "vu_pmd_csum.h"
#include "vu_pmd_lsc.h"

#define VUN_MAX_QUEUE_PAIRS	16
#define VUN_MAX_VQS		(2 * VUN_MAX_QUEUE_PAIRS + 1)
#define VUN_DEF_MTU		1500
#define VUN_MAX_MTU		9216
/* Shortest devarg timeout= (ms): a client on a loaded host needs some. */
#define VUN_MIN_TIMEOUT_MS	100
#define VUN_MIN_RECOMMENDED_MTU	1280	/* VIRTIO 5.1.4.1: SHOULD be at least */
#define VUN_BURST		32

/* how long a closing port waits for its driver to read a configuration
 * change (the link going down) before the connection goes */
#define VUN_SETTLE_MS		1000
/* Largest frame a driver may send but a GSO packet (VU_PMD_MAX_GSO_FRAME,
 * with VIRTIO_NET_F_HOST_TSO4/6). */
#define VUN_MAX_FRAME		(VUN_MAX_MTU + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN)

extern int vun_logtype;
#define VUN_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vun_logtype, "net_vfio_user: " fmt "\n", \
		##__VA_ARGS__)

/* The guest offloads (VIRTIO 5.1.6.5.6) we have: what the driver may
 * turn off and on again with VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET. */
#define VUN_GUEST_OFFLOADS \
	((1ULL << VIRTIO_NET_F_GUEST_CSUM) | VU_PMD_GUEST_TSO)

/* Per-queue counters (the xstats). */
struct vun_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;		/* no buffer / no mbuf / queue not ready */
	uint64_t kicks;		/* doorbells received as messages (not
				 * those written to the ioeventfds) */
	uint64_t interrupts;	/* eventfd writes */
	uint64_t bad_desc;	/* malformed descriptor chains */
	uint64_t runts;		/* frames shorter than an Ethernet header */
	uint64_t too_long;	/* frames longer than the MTU lets in */
	uint64_t nombuf;	/* bursts cut short for want of mbufs */
	uint64_t errors;	/* packets given up on */
	uint64_t lro;		/* GSO packets taken whole (RTE_MBUF_F_RX_LRO) */
	uint64_t csum_kept;	/* partial checksums kept (rx_partial) */
};

struct vun_vq;

/*
 * What one ethdev receive queue polls when the port has fewer of them
 * than the device has pairs: a driver may use every pair it is offered
 * (VIRTIO 1.x 5.1.6.5.5), and what it sends on a pair nobody polls would
 * wait in its ring for ever. Queue q takes the driver's transmitq of the
 * pairs p = q, q + nb_rx_queues, ... (built at the port's start); a burst
 * starts with the next one each time, so that none starves.
 */
struct vun_rx_set {
	uint16_t n;			/* virtqueues */
	uint16_t next;			/* the one the next burst starts with */
	struct vun_vq *vq[VUN_MAX_QUEUE_PAIRS];
} __rte_cache_aligned;

/*
 * One device-side virtqueue, split or packed (VIRTIO_F_RING_PACKED). The
 * lcore polling it owns the first cache line and a half (ring pointers,
 * positions, counters); the event thread programs the rest.
 */
struct vun_vq {
	/* data path: the polling lcore writes these */
	uint32_t ready;			/* atomic: rings translated, usable */
	uint16_t size;
	uint16_t last_avail;		/* split: next avail entry we consume;
					 * packed: next descriptor we read */
	uint16_t last_used;		/* split: next used entry we fill;
					 * packed: next descriptor we write */
	uint16_t msix_vector;
	uint16_t port_id;		/* ethdev port, for mbuf->port */
	uint16_t hdr_len;		/* virtio_net_hdr length */
	uint16_t max_frame;		/* longest frame: the driver's receiveq
					 * with VIRTIO_NET_F_MTU, what we may
					 * give it (VIRTIO 5.1.4.1; UINT16_MAX:
					 * any); its transmitq, what the port's
					 * MTU lets in */
	bool event_idx;
	bool mrg_rxbuf;
	bool indirect;
	bool packed;			/* VIRTIO_F_RING_PACKED */
	bool in_order;			/* VIRTIO_F_IN_ORDER */
	bool avail_wrap;		/* packed: wrap counter at last_avail */
	bool used_wrap;			/* packed: wrap counter at last_used */
	bool csum;			/* VIRTIO_NET_F_CSUM: the driver may
					 * send partial checksums */
	bool guest_csum;		/* VIRTIO_NET_F_GUEST_CSUM, and on
					 * (VIRTIO_NET_CTRL_GUEST_OFFLOADS):
					 * we may; atomic */
	uint8_t gso_types;		/* rx: the GSO packets the driver may
					 * send (vu_pmd_gso_types()) */
	uint8_t guest_gso;		/* tx, atomic: the GSO packets we may
					 * send it (negotiated, on, with
					 * guest_csum) */
	bool cut_next;			/* tx: the burst stopped before a
					 * packet to cut into segments here */
	uint8_t stopped;		/* atomic, in the ethdev queue's vq
					 * (rx queue q: 2q + 1, tx queue q:
					 * 2q): the application stopped the
					 * queue, its bursts return 0 */
	union {
		struct vring_desc *desc;	/* split: descriptor table */
		struct vring_packed_desc *pdesc; /* packed: descriptor ring */
	};
	union {
		struct vring_avail *avail;	/* split: driver area */
		struct vring_packed_desc_event *drv_event; /* packed */
	};
	union {
		struct vring_used *used;	/* split: device area */
		struct vring_packed_desc_event *dev_event; /* packed */
	};
	struct rte_vfio_user_mem_cache mcache; /* buffers */
	struct rte_vfio_user_mem_cache
		log_cache;		/* dirty log of our ring writes */
	struct rte_mempool *mp;		/* rx (driver tx) queues: our mbufs */
	struct vun_dev *dev;
	struct vun_shadow *shadow;	/* rings through a copy (vun_shadow.h),
					 * or NULL: through views */
	struct vun_rx_set *rx_set;	/* rx: the virtqueues this ethdev queue
					 * polls, or NULL: only this one */
	uint16_t index;			/* virtqueue index */
	uint16_t qid;			/* ethdev queue id */
	struct vun_stats *tx_st;	/* receiveq: where the bursts count
					 * packets, bytes and drops: st, or
					 * the sending ethdev queue's while a
					 * shared burst holds tx_lock */
	struct vun_stats st;
	/* rx: the header of the chain the walker read last (take_bytes()) */
	uint8_t rx_hdr[sizeof(struct virtio_net_hdr_mrg_rxbuf)];
	/* rx, slow paths (chains, GSO packets): kept off the lines above */
	uint32_t max_lro;		/* atomic: the longest GSO packet taken
					 * (the port's max_lro_pkt_size); 0:
					 * none, LRO is off */
	uint32_t rx_limit;		/* the longest frame the chain walkers
					 * copy */

	/* control path: what the driver programmed */
	uint16_t cfg_size;
	uint16_t cfg_vector;
	bool cfg_enable;
	uint64_t desc_iova;
	uint64_t avail_iova;
	uint64_t used_iova;
	uint32_t avail_broken;		/* atomic: the data path saw the avail
					 * index run ahead of the ring */
	rte_spinlock_t tx_lock;		/* tx, VUN_TX_SHARED: its bursts */
	bool deferred;			/* the ethdev queue's setup asked for a
					 * deferred start */
	uint64_t rx_offloads;		/* rx: the queue setup's offloads */
	bool intr_armed;		/* transmitq, under the device's
					 * intr_lock: the application sleeps
					 * on its doorbell (vun_rx_intr.c) */
} __rte_cache_aligned;

struct vun_dev {
	int dev_id;			/* rte_vfio_user device id */
	uint16_t port_id;
	char path[108];
	struct rte_vfio_user_pci *pci;	/* config space */
	struct rte_rcu_qsbr *qsbr;
	int qsbr_light;			/* bursts go online without a fence */

	/* devargs */
	uint16_t max_pairs;
	/* atomic: transmit queues the application configured (0: not yet):
	 * more than the driver's pairs share them (tx_map) */
	uint16_t app_txqs;
	struct rte_ether_addr mac;
	uint16_t mtu;
	uint16_t mtu_arg;		/* the devarg's, what configure keeps */
	mode_t sock_mode;
	bool packed_vq;			/* offer VIRTIO_F_RING_PACKED */
	bool in_order;			/* offer VIRTIO_F_IN_ORDER */
	bool csum;			/* offer VIRTIO_NET_F_CSUM, _GUEST_CSUM */
	bool tso;			/* offer VIRTIO_NET_F_HOST_TSO4/6 and
					 * _GUEST_TSO4/6 (as offered() says) */
	uint32_t tx_tso;		/* atomic: the port has TSO enabled */
	uint32_t max_lro;		/* the port's max_lro_pkt_size with LRO
					 * enabled, else 0 */
	bool ring_copy;			/* rings always through a shadow copy */
	uint32_t timeout_ms;		/* devarg timeout: the client's pace */
	bool rx_partial_arg;		/* devarg rx_partial */
	bool rx_partial;		/* atomic: received partial checksums
					 * kept (the devarg, and the port's
					 * receive checksum offloads) */

	/* virtio state (event thread) */
	uint64_t host_features;
	uint64_t guest_features;
	uint32_t dfselect;
	uint32_t gfselect;
	uint16_t msix_config;
	uint8_t status;			/* written by vun_status_store() */
	rte_spinlock_t status_lock;	/* status against vun_virtio_set_port() */
	bool halted;			/* driver error: no queue runs until reset */
	bool bm_off;			/* Bus Master Enable taken away: no
					 * queue runs until it is back */
	uint8_t pm_state;		/* PMCSR power state (0: D0, 3: D3hot),
					 * kept for xstats (shared data: a
					 * secondary process reads it too) */
	uint8_t config_generation;
	uint32_t gen_unseen;		/* atomic: a generation the driver has
					 * not read (nor the configuration) */
	uint16_t queue_select;
	uint16_t active_pairs;		/* VIRTIO_NET_CTRL_MQ */
	/* atomic: the pairs the transmit queues use (vun_tx_map_update()):
	 * the driver's active_pairs, | VUN_TX_SHARED when the port has more
	 * transmit queues than that: queue q then sends through pair
	 * q % active_pairs, under its tx_lock */
	uint32_t tx_map;
	rte_spinlock_t tx_map_lock;	/* its updates */
	uint64_t guest_offloads;	/* VIRTIO_NET_CTRL_GUEST_OFFLOADS: the
					 * negotiated ones the driver has on */
	uint8_t isr;			/* atomic: ISR status bits */
	bool promisc;
	bool allmulti;
	bool port_started;		/* ethdev side */
	bool link_down;			/* rte_eth_dev_set_link_down() */
	uint32_t link_up;		/* atomic: ethdev link status */
	struct vu_pmd_lsc lsc;		/* its changes, told */
	bool connected;
	uint16_t msix_vectors;		/* table size */
	/* the MAC config space shows: the device's (mac= devarg) until the
	 * driver sets another with VIRTIO_NET_CTRL_MAC_ADDR_SET (VIRTIO
	 * 5.1.6.5.2), back to the device's at reset */
	struct rte_ether_addr guest_mac;
	int notify_efd;			/* ioeventfd offered for the driver's
					 * receiveqs' kicks */
	/* receive interrupts (vun_rx_intr.c) */
	rte_spinlock_t intr_lock;	/* the transmitqs' arming */
	int kick_efd[VUN_MAX_QUEUE_PAIRS]; /* pair p's transmitq doorbell */
	int rxq_epfd[VUN_MAX_QUEUE_PAIRS]; /* rx queue q's interrupt fd */
	uint16_t kick_in[VUN_MAX_QUEUE_PAIRS]; /* the rx queue whose epoll fd
						* holds kick_efd[p] */
	int error_efd;			/* the data path's driver errors, to
					 * the event thread (vun_vq_broken) */
	uint32_t cfg_unread;		/* atomic: a configuration interrupt
					 * went out, and the driver has not
					 * read the device config since */
	int pci_cfg_cap;		/* offset of VIRTIO_PCI_CAP_PCI_CFG */
	uint32_t mig_stopped;		/* atomic: stopped by migration */
	struct vun_mig *mig;		/* vun_migration.c */
	struct vun_offload *ol;		/* offload mode (vun_offload.c), or NULL */

	struct vun_vq vq[VUN_MAX_VQS];
	/* the port's receive queues when each polls several pairs (then
	 * rx_set[] says which), else 0; set at its start */
	uint16_t rx_sets;
	struct vun_rx_set rx_set[VUN_MAX_QUEUE_PAIRS];
};

/* vun_virtio.c: the virtio device model */
uint16_t vun_num_vqs(const struct vun_dev *d);
int vun_virtio_init(struct vun_dev *d);
void vun_virtio_fini(struct vun_dev *d);
int vun_virtio_register(struct vun_dev *d);
void vun_virtio_set_port_started(struct vun_dev *d, bool started);
/* rte_eth_dev_set_link_down() / _up(): the link the driver sees. */
void vun_virtio_set_link_down(struct vun_dev *d, bool down);
/* rte_eth_dev_set_mtu(): vun_virtio_set_port() with the LRO it has. */
int vun_virtio_set_mtu(struct vun_dev *d, uint16_t mtu);
/* Why a driver may not have the features f (those offered, VIRTIO_F_
 * VERSION_1, the dependencies of VIRTIO 1.x 5.1.3.1 we have), or NULL. */
const char *vun_features_why(uint64_t f, uint64_t offered);
/*
 * rte_eth_dev_configure(): the MTU (mtu, or -1 to keep the device's, as
 * vun_virtio_set_mtu()) and the port's LRO (max_lro its max_lro_pkt_size,
 * 0 when off). Segmentation (VIRTIO_NET_F_HOST_TSO4/6) is offered while
 * LRO takes any GSO packet (VU_PMD_MAX_GSO_FRAME; the next driver to read
 * the features sees it); queues running with it negotiated take GSO
 * packets up to max_lro. -EBUSY (said), nothing changed, for an MTU the
 * driver's VIRTIO_NET_F_MTU forbids or less LRO while the driver has
 * negotiated segmentation: both checked, then both applied, with the
 * driver's FEATURES_OK held off.
 */
int vun_virtio_set_port(struct vun_dev *d, int mtu, uint32_t max_lro);
/* The port's TSO (rte_eth_dev_configure()): VIRTIO_NET_F_GUEST_TSO4/6
 * offered while it is on (the next driver to read the features sees it). */
void vun_virtio_set_tso(struct vun_dev *d, bool on);
void vun_status_store(struct vun_dev *d, uint8_t status);
void vun_queues_stop(struct vun_dev *d);
/* Wait until no burst that started before the call is still running. */
void vun_grace_period(struct vun_dev *d);
void vun_signal_config(struct vun_dev *d);
void vun_queues_start(struct vun_dev *d);
void vun_ctrl_process(struct vun_dev *d);
void vun_vq_broken(struct vun_vq *vq);

/*
 * vun_rx_intr.c: receive interrupts (intr_conf.rxq). init at device
 * creation (the transmitqs' eventfds, before the ioeventfds are offered),
 * fini at its end; kick_fd: the ioeventfd of virtqueue index's doorbell
 * (a transmitq's eventfd, else dflt); kick: a doorbell that came as a
 * region write; publish: vq_start()'s end, the queue ready (unless
 * stopped by migration) with the fields its arming asks; setup at the
 * port's start (the interrupt handle, vu_pmd_rxq_intr_free() at close).
 */
int vun_rx_intr_init(struct vun_dev *d);
void vun_rx_intr_fini(struct vun_dev *d);
int vun_rx_intr_kick_fd(const struct vun_dev *d, uint16_t index, int dflt);
void vun_rx_intr_kick(struct vun_dev *d, uint16_t index);
void vun_rx_intr_publish(struct vun_dev *d, struct vun_vq *vq);
int vun_rx_intr_setup(struct rte_eth_dev *dev);
/* Receive queue q stopped or started (its vq's stopped flag set): its
 * transmitqs disarmed while it is stopped, armed again at its start if
 * the application asked (from an EAL thread: else left as they are) */
void vun_rx_intr_requeue(struct rte_eth_dev *dev, uint16_t q);
int vun_rx_intr_enable(struct rte_eth_dev *dev, uint16_t q);
int vun_rx_intr_disable(struct rte_eth_dev *dev, uint16_t q);

/* vun_migration.c: device state, migration callbacks */
int vun_mig_register(struct vun_dev *d);
void vun_mig_fini(struct vun_dev *d);
void vun_needs_reset(struct vun_dev *d, const char *why);

/* Append a used element (data path and control queue). */
static inline void
vq_used_put(struct vun_vq *vq, uint16_t id, uint32_t len)
{
	struct vring_used_elem *e = &vq->used->ring[vq->last_used & (vq->size - 1)];

	e->id = id;
	e->len = len;
	vq->last_used++;
}

/*
 * Whether the client logs dirty pages, seen from the mapping behind iova:
 * one cached lookup (of the segment holding iova, whatever the rings span)
 * when it does not.
 */
static inline bool
vun_logging(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
	    uint64_t iova)
{
	const struct rte_vfio_user_mem_segment *s;

	if (rte_vfio_user_iova_to_va_cached(t, &vq->log_cache, iova, 1, 0) ==
	    NULL)
		return false;
	s = vq->log_cache.seg;
	return s->map != NULL &&
	       __atomic_load_n(&s->map->dirty, __ATOMIC_RELAXED) != NULL;
}

/*
 * Dirty logging: mark what publishing used entries [old, last_used) wrote
 * to client memory (the index, the entries, avail_event). While logging,
 * through the library's locked marker, as the ring may span segments (a
 * guest behind a vIOMMU).
 */
static inline void
vun_log_used(struct vun_vq *vq, uint16_t old)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		vq->dev->dev_id);
	int id = vq->dev->dev_id;
	uint64_t ring = vq->used_iova + offsetof(struct vring_used, ring);
	uint16_t first = old & (vq->size - 1),
		 n = (uint16_t)(vq->last_used - old);

	if (likely(!vun_logging(vq, t, vq->used_iova)))
		return;
	rte_vfio_user_mark_dirty(id, vq->used_iova, sizeof(struct vring_used));
	if (n > vq->size - first) {
		rte_vfio_user_mark_dirty(
			id, ring,
			(uint64_t)(n - (vq->size - first)) *
				sizeof(struct vring_used_elem));
		n = (uint16_t)(vq->size - first);
	}
	rte_vfio_user_mark_dirty(id,
				 ring + (uint64_t)first *
						 sizeof(struct vring_used_elem),
				 (uint64_t)n * sizeof(struct vring_used_elem));
	if (vq->event_idx) /* avail_event */
		rte_vfio_user_mark_dirty(
			id,
			ring + (uint64_t)vq->size *
					sizeof(struct vring_used_elem),
			2);
}

/* Whether the driver wants an interrupt for used entries [old, new):
 * its used_event with EVENT_IDX, else the avail ring's flag. */
static inline bool
vq_need_interrupt(const struct vun_vq *vq, uint16_t old, uint16_t new)
{
	if (vq->event_idx) {
		uint16_t ev = __atomic_load_n(&vq->avail->ring[vq->size],
					      __ATOMIC_ACQUIRE);

		return (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	}
	return !(__atomic_load_n(&vq->avail->flags, __ATOMIC_ACQUIRE) &
		 VRING_AVAIL_F_NO_INTERRUPT);
}

/*
 * Client memory that spans segments: a client that maps its memory in
 * pieces (a guest behind a vIOMMU maps page by page) may give a buffer or
 * a descriptor table whose bytes are contiguous in IOVA but not for us
 * (pages of different files, or of non-adjacent offsets). The general
 * walkers (chains, indirect tables, the control queues) take such ranges
 * one segment at a time, at the cost of a lookup per segment crossed; the
 * fast paths take only what one segment holds, and leave the rest to them.
 * These helpers are for those slow paths only.
 */

/*
 * Whether all of [iova, iova + len) is mapped (not message-only) with
 * access, whatever segments it spans; with RTE_VFIO_USER_MEM_F_WRITE it is
 * marked dirty while logging (vun_ring.c).
 */
bool vun_span_ok(const struct rte_vfio_user_mem_table *t,
		 struct rte_vfio_user_mem_cache *c, uint64_t iova, uint64_t len,
		 uint32_t access);

/*
 * A descriptor table in client memory (split or packed entries: 16 bytes):
 * at va when one segment holds it, else read entry by entry from iova.
 */
struct vun_tbl {
	const uint8_t *va;	/* NULL: spans segments, read at iova */
	uint64_t iova;
};

/* Open the table [iova, iova + len): 0, or -1 if it is not all readable. */
static inline int
vun_tbl_open(const struct rte_vfio_user_mem_table *t,
	     struct rte_vfio_user_mem_cache *c, struct vun_tbl *tb,
	     uint64_t iova, uint32_t len)
{
	tb->va = rte_vfio_user_iova_to_va_cached(t, c, iova, len,
						 RTE_VFIO_USER_MEM_F_READ);
	tb->iova = iova;
	if (tb->va == NULL &&
	    !vun_span_ok(t, c, iova, len, RTE_VFIO_USER_MEM_F_READ))
		return -1;
	return 0;
}

/* Copy entry idx (within the length it was opened with) to d: 0 or -1. */
static inline int
vun_tbl_read(const struct rte_vfio_user_mem_table *t,
	     struct rte_vfio_user_mem_cache *c, const struct vun_tbl *tb,
	     uint32_t idx, void *d)
{
	if (tb->va != NULL) {
		memcpy(d, tb->va + (size_t)idx * 16, 16);
		return 0;
	}
	/* out of line: entries that lie in one segment too (the table was
	 * checked when opened) */
	return rte_vfio_user_mem_copy(t, c, tb->iova + (uint64_t)idx * 16, d,
				      16, false) == 0 ?
		       0 :
		       -1;
}

/* Longest control command (class, command, data) we take. */
#define VUN_CTRL_MAX_CMD 4096

/*
 * One descriptor of a control command (vun_ring.c), which may span
 * segments: a device-readable one appends its bytes to cmd (*cmd_len of
 * them so far); the first byte of the first writable one is the ack (in
 * *ack). False for a bad descriptor (not mapped with the access it needs,
 * readable after the ack, or the command too long).
 */
bool vun_ctrl_desc(const struct rte_vfio_user_mem_table *t,
		   struct rte_vfio_user_mem_cache *c, uint64_t addr,
		   uint32_t len, bool write, uint8_t *cmd, uint32_t *cmd_len,
		   uint8_t **ack);

/* vun_packed.c: serve a packed control queue (event thread); whether to
 * interrupt the driver */
bool vun_ctrl_packed(struct vun_dev *d, struct vun_vq *vq,
		     uint8_t (*exec)(struct vun_dev *d, const uint8_t *cmd,
				     uint32_t len, bool *shrunk));

/* vun_ring.c: bursts */
uint16_t vun_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vun_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);

/* vun_queue_status.c: rte_eth_rx_queue_count(), rte_eth_rx_descriptor_status(),
 * rte_eth_tx_descriptor_status() */
uint32_t vun_rx_queue_count(void *q);
int vun_rx_descriptor_status(void *q, uint16_t offset);
int vun_tx_descriptor_status(void *q, uint16_t offset);

/* vun_ethdev.c */
void vun_link_update_notify(struct vun_dev *d);

/* vun_virtio.c: the transmit queues' pairs (tx_map) after a change of the
 * driver's pairs or the port's transmit queues. */
#define VUN_TX_SHARED	(1u << 16)
void vun_tx_map_update(struct vun_dev *d);

#endif /* VUN_H */
