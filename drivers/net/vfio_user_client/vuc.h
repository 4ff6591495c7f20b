/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUC_H
#define VUC_H

/*
 * net_virtio_vfio_user: a virtio-net driver for a device reached through
 * the vfio-user client API, e.g. net_vfio_user in another process.
 *
 * All DPDK memory of this process is DMA-mapped to the device with its fds
 * and with IOVA = VA, so descriptors carry plain virtual addresses (as
 * virtio-user does). Doorbells are posted REGION_WRITEs (or stores into an
 * mmapped notify area when the device offers one); interrupts are MSI-X
 * eventfds.
 *
 * The device may go away and come back (reconnect=): the control path
 * withdraws queues from the data path (ready flag + QSBR grace period of
 * our own), re-attaches, renegotiates and republishes them.
 */

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <pthread.h>

#include <rte_memory.h>
#include <rte_power_intrinsics.h>

#include <rte_vfio_user_client.h>
#include <rte_vfio_user_qsbr.h>

#include "vu_pmd_lsc.h"

#define VUC_MAX_QUEUE_PAIRS	16
#define VUC_MAX_VQS		(2 * VUC_MAX_QUEUE_PAIRS + 1)
#define VUC_DEF_QUEUE_SIZE	1024
#define VUC_MIN_QUEUE_SIZE	4	/* a control command takes 3 descriptors */
/*
 * Transmit frames in flight by default (the default nb_desc of a queue
 * setup; testpmd's --txd): 256, like virtio-user's ring, keep a saturated
 * sender's mbufs in a core's L2 (doc/guides/perf.rst, "The transmit
 * depth"). The limit counts frames, not descriptors: a chained frame
 * takes one descriptor per segment from the whole ring, so a forwarding
 * loop of 9000 B frames in 2 KB mbufs still has the ring's 1024.
 */
#define VUC_DEF_TX_DEPTH	256
#define VUC_BURST		32
/* a reclaim without a bound: more frames than a ring holds */
#define VUC_ALL			UINT16_MAX
/* vuc_vq.tx_part: no partly freed batch */
#define VUC_NO_PART		UINT16_MAX
#define VUC_DEF_TIMEOUT_MS	5000	/* per request to the device */
/*
 * Receive buffers posted at a time, in bytes at most: the device fills
 * them in ring order, so every buffer posted is memory it writes once per
 * lap of the ring; past what the caches near it hold, each frame is a
 * write miss (9000 B frames in 9 KB mbufs on a 1024-entry ring: 9.4 MB
 * per lap, doc/guides/perf.rst). With 2 KB mbufs a 1024-entry ring stays
 * within it.
 */
#define VUC_RX_POST_BYTES	(4u << 20)

extern int vuc_logtype;
#define VUC_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vuc_logtype, "net_virtio_vfio_user: " fmt \
		"\n", ##__VA_ARGS__)

struct vuc_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t errors;	/* bad used entries */
	uint64_t nombuf;	/* rx refill failures */
	uint64_t kicks;		/* doorbells sent */
	uint64_t full;		/* tx ring full */
	uint64_t csum_kept;	/* rx: partial checksums kept (rx_partial) */
	uint64_t dropped;	/* freed with the ring (vuc_vq_drain()): rx,
				 * delivered, never received; tx, never
				 * taken by the device (out of packets) */
};

struct vuc_dev;

/* What the driver keeps per buffer, indexed by its head descriptor (split)
 * or its buffer id (packed). */
struct vuc_cookie {
	struct rte_mbuf *m;		/* NULL: no buffer here */
	uint16_t ndesc;			/* descriptors the buffer takes */
	uint16_t last;			/* split: its last descriptor */
};

/*
 * One driver-side virtqueue, split or packed (VIRTIO_F_RING_PACKED). The
 * lcore polling it owns everything up to the statistics; the control path
 * touches it only while the queue is withdrawn (ready 0, QSBR).
 */
struct vuc_vq {
	uint32_t ready;			/* atomic: usable by the data path */
	uint16_t size;
	uint16_t index;
	uint16_t qid;
	uint16_t port_id;
	uint16_t free_head;		/* split: free list; in order: next
					 * descriptor to fill */
	uint16_t num_free;		/* descriptors free */
	uint16_t avail_idx;		/* split: our shadow of avail->idx;
					 * packed: next descriptor to fill */
	uint16_t last_used;		/* split: next used entry to reclaim;
					 * packed: next descriptor to read */
	uint16_t used_head;		/* in order: first descriptor in use */
	uint16_t tx_part;		/* packed in order: the id the device
					 * used for a batch a bounded reclaim
					 * freed only the first buffers of,
					 * or VUC_NO_PART */
	uint16_t hdr_len;
	uint32_t rx_buf_len;		/* rx: bytes each buffer offers */
	uint16_t want;			/* the queue setup's nb_desc, 0: all */
	uint16_t hold;			/* rx: descriptors never posted */
	uint16_t tx_cap;		/* tx: frames in flight at most */
	uint16_t inflight;		/* tx: frames in flight */
	uint64_t rx_seen;		/* tx: its pair's rx packets at the
					 * last reclaim (tx_free_warm()) */
	bool event_idx;
	bool mrg_rxbuf;
	bool csum;			/* VIRTIO_NET_F_CSUM: the device takes
					 * partial checksums */
	bool guest_csum;		/* VIRTIO_NET_F_GUEST_CSUM: it may send
					 * them */
	uint8_t gso_types;		/* tx: the GSO packets it takes
					 * (vu_pmd_gso_types()) */
	uint8_t lro_types;		/* rx: the GSO packets it may send
					 * (vu_pmd_gso_types(f, true)) */
	bool cut_next;			/* tx: the burst stopped before a
					 * packet to cut into segments here */
	bool intr_on;			/* rx: interrupts asked for */
	bool packed;			/* VIRTIO_F_RING_PACKED */
	bool in_order;			/* VIRTIO_F_IN_ORDER */
	bool avail_wrap;		/* packed: wrap counter at avail_idx */
	bool used_wrap;			/* packed: wrap counter at last_used */
	union {
		struct vring_desc *desc;
		struct vring_packed_desc *pdesc;
	};
	union {
		struct vring_avail *avail;
		struct vring_packed_desc_event *drv_event;
	};
	union {
		struct vring_used *used;
		struct vring_packed_desc_event *dev_event;
	};
	struct vuc_cookie *cookie;	/* per head / buffer id */
	const struct rte_memzone *mz;
	struct rte_mempool *mp;		/* rx: refill pool */
	struct vuc_dev *dev;
	uint64_t notify_off;		/* in the notify BAR */
	volatile uint16_t *notify_mmap;	/* mmapped doorbell, or NULL */
	int bell_fd;			/* the device's ioeventfd of the
					 * doorbell (vuc_bells.c), or -1 */
	uint16_t vector;		/* MSI-X vector, or NO_VECTOR */
	int efd;			/* its eventfd, or -1 */
	/* control path (d->lock): the ethdev queue start and stop */
	bool deferred;			/* the queue setup's deferred start */
	uint64_t rx_offloads;		/* rx: the queue setup's offloads */
	bool stopped;			/* stopped by the application (queue
					 * stop, or a deferred start): not
					 * ready, no buffers; kept across a
					 * new setup of the device */
	bool dev_reset;			/* its virtqueue reset on the device
					 * (VIRTIO_F_RING_RESET): set up
					 * again to start */
	bool reset_pending;		/* a reset asked that the device did
					 * not say done (queue_reset still
					 * 1): its buffers are the device's */
	struct vuc_stats st;
} __rte_cache_aligned;

/* The device's ioeventfds of the notify area (vuc_bells.c): one
 * connection's, ours to close. */
struct vuc_bells {
	struct rte_vfio_user_client_io_fd io[VUC_MAX_VQS];
	uint32_t n;
};

/* DMA maps made on one device: one per memseg run (their iova and size
 * are what is used later: the unmaps). */
struct vuc_maps {
	uint32_t n;
	struct rte_vfio_user_client_dma_region r[1024];
};

struct vuc_dev {
	char path[108];
	uint16_t port_id;
	uint16_t max_pairs;		/* devarg queues */
	uint16_t pairs;			/* in use */
	uint32_t reconnect_ms;		/* 0: no reconnect */
	uint32_t timeout_ms;		/* per request to the device */
	int attach_err;			/* the last attach's errno, 0 */
	struct rte_ether_addr mac;
	bool mac_given;
	uint16_t mtu;
	uint32_t link_speed;		/* the device's (SPEED_DUPLEX), or 10G */
	uint16_t link_duplex;		/* RTE_ETH_LINK_*_DUPLEX */
	bool packed_vq;			/* devargs: features we ask for */
	bool in_order;
	bool mrg_rxbuf;
	bool ring_reset;		/* VIRTIO_F_RING_RESET: queue stop,
					 * start and deferred start */
	bool csum;			/* checksum offloads, when enabled */
	bool rx_partial_arg;		/* devarg rx_partial */
	bool rx_partial;		/* atomic: received partial checksums
					 * kept (the devarg, and the port's
					 * receive checksum offloads) */
	uint64_t offload_want;		/* VIRTIO_NET_F_CSUM / _GUEST_CSUM /
					 * _HOST_TSO4/6 the port's offloads ask
					 * for (configure) */
	uint64_t offload_asked;		/* the ones the last negotiation did */
	uint32_t max_lro;		/* the port's max_lro_pkt_size, 0: LRO
					 * off (configure) */

	pthread_mutex_t lock;		/* control path: attach/init/teardown */
	struct rte_vfio_user_client *client;	/* atomic for the data path */
	struct rte_rcu_qsbr *qsbr;	/* our data path vs. control path */
	int qsbr_light;			/* bursts go online without a fence */
	bool started;
	bool requeue;			/* a receive queue setup changed its
					 * mempool or nb_desc while buffers of
					 * the old one are posted, or the
					 * offloads changed: the next start
					 * resets the device */
	uint32_t link_up;		/* atomic */
	struct vu_pmd_lsc lsc;		/* its changes, told */
	uint32_t closing;
	uint32_t reconnecting;
	/* the reconnect thread (reconnect= only): rc_wanted under rc_lock */
	pthread_t rc_thread;
	bool rc_running;
	bool rc_wanted;
	pthread_mutex_t rc_lock;
	pthread_cond_t rc_cond;
	uint32_t needs_reset;		/* atomic: the device set NEEDS_RESET */

	/* what the device offers, from its config space */
	uint32_t notify_bar, common_bar, isr_bar, devcfg_bar;
	uint64_t notify_base, common_off, isr_off, devcfg_off;
	uint32_t devcfg_len;		/* the device configuration's bytes */
	uint32_t mz_gen;		/* rings allocated: their names */
	uint32_t notify_mult;
	uint32_t notify_len;		/* of the notify capability */
	uint64_t notify_room;		/* bytes of notify_map from notify_base */
	uint8_t *notify_map;		/* mmapped notify area, or NULL */
	uint64_t notify_map_len;
	struct vuc_bells bells;		/* the device's doorbell ioeventfds */
	uint64_t features;
	uint16_t num_vqs;		/* of the device */
	uint8_t msix_cap;		/* MSI-X capability offset */
	uint8_t msix_table_bar;
	uint32_t msix_table_off;
	uint16_t msix_nvec;		/* table size */
	uint16_t msix_used;		/* vectors we unmasked, 0: MSI-X off */

	/*
	 * DMA maps. Under maps_lock, the one lock the memory
	 * hotplug callback takes: it runs with DPDK's memory hotplug lock
	 * held for writing, and our setup takes that lock (to walk the
	 * memory) while holding lock. Order: lock, the hotplug lock,
	 * maps_lock, rc_lock.
	 */
	pthread_mutex_t maps_lock;
	bool mapped;			/* the maps are made: the callback
					 * keeps them up to date on client */
	struct rte_vfio_user_client *move_to;	/* a move's device, mapped
						 * too until the switch */
	int move_map_err;		/* a hotplug map it refused */
	uint32_t maps_lost;		/* atomic: a hotplug map failed, the
					 * device cannot reach all our memory:
					 * set up again (as NEEDS_RESET) */
	struct vuc_maps maps;		/* client's */
	struct vuc_maps move_maps;	/* move_to's: its own runs (a fresh
					 * walk may cut them otherwise), ours
					 * at the switch */
	/* the name of our rte_mem_event callback (the vdev's: d->path
	 * changes with a move) */
	char mem_cb_name[RTE_MEM_EVENT_CALLBACK_NAME_LEN];

	int config_efd;			/* MSI-X config vector eventfd */
	struct vuc_move_stats {		/* vuc_migrate.c */
		uint64_t moves;
		uint64_t failed;
		uint64_t last_downtime_us;
		uint64_t max_downtime_us;
	} move;
	struct rte_intr_handle *cfg_intr;
	/* on the EAL interrupt thread only: when (timer cycles) the link
	 * was last read for a configuration interrupt, and a read is
	 * deferred */
	uint64_t cfg_read_cyc;
	bool cfg_deferred;

	struct vuc_vq vq[VUC_MAX_VQS];
};

/* vuc_ethdev.c: read the link soon, on the EAL interrupt thread (it
 * takes the port's lock: from a thread that may not, or holds it). */
void vuc_link_check_later(struct vuc_dev *d);

/* vuc_virtio.c */
int vuc_irqs_alloc(struct vuc_dev *d);
int vuc_irqs_setup(struct vuc_dev *d, struct rte_vfio_user_client *c);
int vuc_map_memory_on(struct vuc_dev *d, struct rte_vfio_user_client *c);
int vuc_move_switch(struct vuc_dev *d, struct rte_vfio_user_client *c);
void vuc_move_forget(struct vuc_dev *d);
uint8_t *vuc_notify_mmap(struct vuc_dev *d, struct rte_vfio_user_client *c,
			 uint64_t start, uint64_t len);
void vuc_on_disconnect(struct rte_vfio_user_client *c, void *arg);
/* vuc_bells.c: b gets client c's ioeventfds of the notify area that a
 * 2-byte store may use (0; b->n may be 0), or a negative errno (none) */
int vuc_bells_get(struct vuc_dev *d, struct rte_vfio_user_client *c,
		  struct vuc_bells *b);
/* the fd of b a store of value at offset off rings, or -1 */
int vuc_bells_fd(const struct vuc_bells *b, uint64_t off, uint16_t value);
/* close b's fds (no burst may use them any more) */
void vuc_bells_close(struct vuc_bells *b);
void vuc_irqs_free(struct vuc_dev *d);
int vuc_device_up(struct vuc_dev *d);
/* The port's own MAC address to the device (CTRL_MAC_ADDR), d->lock held:
 * 0, or the command's error. */
int vuc_mac_tell(struct vuc_dev *d);
void vuc_device_down(struct vuc_dev *d, bool reset);
int vuc_read_link(struct vuc_dev *d);
int vuc_rxq_intr(struct vuc_dev *d, uint16_t q, bool enable);
/*
 * Queue stop and start (d->lock held), with VIRTIO_F_RING_RESET: a stop
 * takes the queue out of the data path, resets its virtqueue on the
 * device (VIRTIO 1.2 2.6.1) and frees the mbufs of its ring; a start sets
 * the virtqueue up again, enables it and posts receive buffers. A device
 * down or gone: the flag only, which the next setup follows (a queue
 * stopped stays so). 0 or -errno (a stop that failed leaves the queue
 * stopped, its buffers to the device until the device is set up again,
 * which is scheduled).
 */
int vuc_vq_stop(struct vuc_dev *d, struct vuc_vq *vq);
int vuc_vq_start(struct vuc_dev *d, struct vuc_vq *vq);
void vuc_mem_event(struct vuc_dev *d, enum rte_mem_event ev, uint64_t va,
		   uint64_t len);

/* vuc_ring.c */
uint16_t vuc_rx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
uint16_t vuc_tx_burst(void *q, struct rte_mbuf **pkts, uint16_t n);
/* vuc_queue_status.c: rte_eth_rx_queue_count(), rte_eth_rx_descriptor_status(),
 * rte_eth_tx_descriptor_status() */
uint32_t vuc_rx_queue_count(void *q);
int vuc_rx_descriptor_status(void *q, uint16_t offset);
int vuc_tx_descriptor_status(void *q, uint16_t offset);
/* rte_eth_get_monitor_addr() of receive queue q: 0, -EINVAL without rings */
int vuc_get_monitor_addr(void *q, struct rte_power_monitor_cond *pmc);
/* tx_done_cleanup: frees the sent mbufs the device is done with, free_cnt
 * frames at most (0: all); returns how many, -EPERM off EAL threads */
int vuc_tx_done_cleanup(void *q, uint32_t free_cnt);
void vuc_vq_init_ring(struct vuc_vq *vq);
int vuc_rxq_fill(struct vuc_vq *vq);
/*
 * Apply the nb_desc of the queue setup (want; 0 or more than the ring:
 * all of it): a receive queue keeps that many buffers posted, and no more
 * than VUC_RX_POST_BYTES of its mempool's buffers; a transmit queue has at
 * most that many frames in flight (and never more descriptors than the
 * ring: a chained frame takes one per segment). Queue not running.
 */
void vuc_vq_set_want(struct vuc_vq *vq, uint16_t want);
void vuc_vq_drain(struct vuc_vq *vq);
void vuc_kick(struct vuc_vq *vq);
/* Bounded wait for the device to consume every queued transmit buffer. */
#define VUC_STOP_DRAIN_MS 1000
void vuc_txq_drain_wait(struct vuc_dev *d, unsigned int ms);
/* The same for one transmit queue, until the timer reaches end; whether
 * the device took all. */
bool vuc_txq_drain_wait_one(struct vuc_dev *d, struct vuc_vq *vq, uint64_t end);

/* vuc_ethdev.c */
bool vuc_is_ours(uint16_t port_id);
void vuc_link_set(struct vuc_dev *d, bool up);
void vuc_schedule_reconnect(struct vuc_dev *d);
/* Set the device up again from scratch (needs_reset): by the reconnect
 * thread with reconnect=, else at the port's next start. */
void vuc_reset_later(struct vuc_dev *d);

#endif /* VUC_H */
