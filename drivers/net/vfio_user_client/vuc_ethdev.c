/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * ethdev glue of net_virtio_vfio_user: devargs, port operations, link
 * state, statistics, rx interrupts, memory hotplug and reconnection.
 *
 *   --vdev 'net_virtio_vfio_user0,path=/run/vnic0.sock,queues=2,reconnect=1000'
 *   packed_vq=0 / in_order=0 / mrg_rxbuf=0 / ring_reset=0: do not ask for
 *   these features (without VIRTIO_F_RING_RESET no queue start, stop or
 *   deferred start)
 *   csum=0: do not ask for checksum offloads (else asked for when the
 *   port's offloads enable them)
 *   rx_partial=1: the device's partial checksums kept, flagged
 *   RTE_MBUF_F_RX_L4_CKSUM_NONE (vu_pmd_csum_partial())
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_alarm.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>

#include "vu_pmd_args.h"
#include "vu_pmd_csum.h"
#include "vu_pmd_ethdev.h"
#include "vu_pmd_stats.h"
#include "vuc.h"

RTE_LOG_REGISTER_DEFAULT(vuc_logtype, NOTICE);

#define ARG_PATH	"path"
#define ARG_QUEUES	"queues"
#define ARG_MAC		"mac"
#define ARG_RECONNECT	"reconnect"
#define ARG_PACKED_VQ	"packed_vq"
#define ARG_IN_ORDER	"in_order"
#define ARG_MRG_RXBUF	"mrg_rxbuf"
#define ARG_TIMEOUT	"timeout"
#define ARG_CSUM	"csum"
#define ARG_RX_PARTIAL	"rx_partial"
#define ARG_RING_RESET	"ring_reset"

static const char *const valid_args[] = {
	ARG_PATH,      ARG_QUEUES,     ARG_MAC,	      ARG_RECONNECT,
	ARG_PACKED_VQ, ARG_IN_ORDER,   ARG_MRG_RXBUF, ARG_TIMEOUT,
	ARG_CSUM,      ARG_RX_PARTIAL, ARG_RING_RESET, NULL,
};

/* ---- link and reconnection ---- */

/* The port's link up or down; told (LSC) when that changed, or when the
 * speed or duplex of a link up did (SPEED_DUPLEX, vuc_read_link()). */
void
vuc_link_set(struct vuc_dev *d, bool up)
{
	struct rte_eth_dev *eth = &rte_eth_devices[d->port_id];
	struct rte_eth_link link = vu_pmd_link(up), old;
	uint32_t was;

	if (up) {	/* the device's, read with its status */
		link.link_speed = d->link_speed;
		link.link_duplex = d->link_duplex;
	}
	rte_eth_linkstatus_get(eth, &old);
	was = __atomic_exchange_n(&d->link_up, up, __ATOMIC_ACQ_REL);
	if (was == up && (!up || (old.link_speed == link.link_speed &&
				  old.link_duplex == link.link_duplex)))
		return;
	rte_eth_linkstatus_set(eth, &link);
	if (was != up)
		VUC_LOG(INFO, "%s: link %s", d->path, up ? "up" : "down");
	else
		VUC_LOG(INFO, "%s: link speed %u duplex %s", d->path,
			link.link_speed, link.link_duplex ? "full" : "half");
	vu_pmd_lsc_raise(&d->lsc);
}

/*
 * Reconnection runs on a control thread of the port's own (reconnect= only),
 * not on the EAL interrupt thread: an attempt can wait on a server for the
 * request timeout (timeout=) at each step, and that thread serves every other
 * port's interrupts and every alarm of the process.
 */
void
vuc_reset_later(struct vuc_dev *d)
{
	__atomic_store_n(&d->needs_reset, 1, __ATOMIC_RELEASE);
	vuc_schedule_reconnect(d);
}

void
vuc_schedule_reconnect(struct vuc_dev *d)
{
	if (d->reconnect_ms == 0 || __atomic_load_n(&d->closing, __ATOMIC_ACQUIRE))
		return;
	if (__atomic_exchange_n(&d->reconnecting, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&d->rc_lock);
	d->rc_wanted = true;
	pthread_cond_signal(&d->rc_cond);
	pthread_mutex_unlock(&d->rc_lock);
}

/* The link as the device says, told to the application (LSC callbacks
 * from an alarm: vu_pmd_lsc.h). False if the port was busy (being set up,
 * reconnected, ...): not read. */
static bool
link_refresh(struct vuc_dev *d)
{
	bool up;

	if (pthread_mutex_trylock(&d->lock) != 0)
		return false;
	/* read even while stopped: a device that signalled a change may
	 * wait for the read (net_vfio_user's close does, a while) */
	up = vuc_read_link(d);
	if (d->started)
		vuc_link_set(d, up);
	pthread_mutex_unlock(&d->lock);
	return true;
}

static void config_read(struct vuc_dev *d);

/* After a reconnection: read the link (again later if the port is busy). */
static void
link_alarm(void *arg)
{
	config_read(arg);
}

void
vuc_link_check_later(struct vuc_dev *d)
{
	if (!__atomic_load_n(&d->closing, __ATOMIC_ACQUIRE) &&
	    rte_eal_alarm_set(1, link_alarm, d) != 0)
		VUC_LOG(ERR, "%s: cannot schedule the link update", d->path);
}

static void
reconnect_attempt(struct vuc_dev *d)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	if (__atomic_load_n(&d->closing, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	/* connected: moved to another backend meanwhile, nothing to do;
	 * unless the device asked for a reset (vuc_read_link()) */
	if (!__atomic_exchange_n(&d->needs_reset, 0, __ATOMIC_ACQ_REL) &&
	    d->client != NULL && rte_vfio_user_client_connected(d->client)) {
		pthread_mutex_unlock(&d->lock);
		__atomic_store_n(&d->reconnecting, 0, __ATOMIC_SEQ_CST);
		return;
	}
	/* a device still there (NEEDS_RESET, memory it lacks) is reset
	 * before its memory is unmapped: its queues stop first */
	vuc_device_down(d, true);
	ret = vuc_device_up(d);
	pthread_mutex_unlock(&d->lock);
	__atomic_store_n(&d->reconnecting, 0, __ATOMIC_SEQ_CST);
	/* a device lost again before the flag was cleared had its
	 * on_disconnect() find us still reconnecting: look for it now */
	pthread_mutex_lock(&d->lock);
	if (ret == 0 && (d->client == NULL ||
			 !rte_vfio_user_client_connected(d->client)))
		ret = -ENOTCONN;
	pthread_mutex_unlock(&d->lock);
	if (ret < 0) {
		VUC_LOG(INFO, "%s: reconnect failed (%s), retrying in %u ms",
			d->path, strerror(-ret), d->reconnect_ms);
		vuc_schedule_reconnect(d);
		return;
	}
	VUC_LOG(NOTICE, "%s: reconnected", d->path);
	/* the link read, on the interrupt thread as any other (it also
	 * asks again for a setup that a hotplug map refused during this
	 * attempt wanted: vuc_read_link()) */
	vuc_link_check_later(d);
}

/* Wait, with rc_lock held, until asked or closing (or until *deadline,
 * if given); true if closing. */
static bool
reconnect_wait(struct vuc_dev *d, const struct timespec *deadline)
{
	while (!__atomic_load_n(&d->closing, __ATOMIC_ACQUIRE)) {
		if (deadline == NULL) {
			if (d->rc_wanted)
				return false;
			pthread_cond_wait(&d->rc_cond, &d->rc_lock);
		} else if (pthread_cond_timedwait(&d->rc_cond, &d->rc_lock,
						  deadline) == ETIMEDOUT) {
			return false;
		}
	}
	return true;
}

static void *
reconnect_thread(void *arg)
{
	struct vuc_dev *d = arg;
	struct timespec t;

	pthread_mutex_lock(&d->rc_lock);
	while (!reconnect_wait(d, NULL)) {
		d->rc_wanted = false;
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_sec += d->reconnect_ms / 1000;
		t.tv_nsec += (long)(d->reconnect_ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		if (reconnect_wait(d, &t))
			break;
		pthread_mutex_unlock(&d->rc_lock);
		reconnect_attempt(d);
		pthread_mutex_lock(&d->rc_lock);
	}
	pthread_mutex_unlock(&d->rc_lock);
	return NULL;
}

static int
reconnect_thread_start(struct vuc_dev *d, const char *name)
{
	pthread_condattr_t ca;
	char tname[RTE_MAX_THREAD_NAME_LEN];
	int ret;

	pthread_mutex_init(&d->rc_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->rc_cond, &ca);
	pthread_condattr_destroy(&ca);
	snprintf(tname, sizeof(tname), "vuc-rc-%u", d->port_id);
	ret = rte_ctrl_thread_create(&d->rc_thread, tname, NULL,
				     reconnect_thread, d);
	if (ret != 0) {
		VUC_LOG(ERR, "%s: cannot start the reconnect thread: %s", name,
			strerror(ret));
		return -ret;
	}
	d->rc_running = true;
	return 0;
}

/* closing is set: the thread ends once its attempt (if any) is over */
static void
reconnect_thread_stop(struct vuc_dev *d)
{
	if (!d->rc_running)
		return;
	pthread_mutex_lock(&d->rc_lock);
	pthread_cond_broadcast(&d->rc_cond);
	pthread_mutex_unlock(&d->rc_lock);
	pthread_join(d->rc_thread, NULL);
	d->rc_running = false;
}

/*
 * A device that signals its configuration vector without pause (a buggy
 * one) would have the link read at each interrupt: two region reads each,
 * thousands a second on the EAL interrupt thread. At most one read per
 * VUC_CFG_READ_GAP_MS: an interrupt sooner defers its read to then. A
 * read the busy port could not make (being set up, reconnected) is tried
 * again then too. The state is the EAL interrupt thread's (interrupt and
 * alarm callbacks run there).
 */
#define VUC_CFG_READ_GAP_MS 10

static void config_alarm(void *arg);

/* Read the link, or (busy port, or too soon after the last read) set the
 * alarm that will. */
static void
config_read(struct vuc_dev *d)
{
	uint64_t hz = rte_get_timer_hz(), now = rte_get_timer_cycles();
	uint64_t gap = hz * VUC_CFG_READ_GAP_MS / 1000, since;

	if (d->cfg_deferred)
		return;	/* read soon */
	since = now - d->cfg_read_cyc;	/* unsigned: wraps fine */
	if (d->cfg_read_cyc == 0 || since >= gap) {
		if (link_refresh(d)) {
			d->cfg_read_cyc = now;
			return;
		}
		since = 0;	/* busy: again a gap from now */
	}
	if (rte_eal_alarm_set((gap - since) * 1000000 / hz + 1, config_alarm,
			      d) == 0)
		d->cfg_deferred = true;
	else
		VUC_LOG(ERR, "%s: cannot schedule the link read", d->path);
}

static void
config_alarm(void *arg)
{
	struct vuc_dev *d = arg;

	d->cfg_deferred = false;
	config_read(d);
}

/* Config-change interrupt: the device's link may have changed. */
static void
config_intr(void *arg)
{
	struct vuc_dev *d = arg;
	eventfd_t v;

	if (d->config_efd >= 0 && eventfd_read(d->config_efd, &v) < 0)
		return;
	config_read(d);
}

/* The configuration interrupt is served from probe to close, LSC
 * configured or not: the port's link stays current (LSC callbacks only
 * with intr_conf.lsc, see vuc_link_set()), and the device is answered. */
static void
config_intr_register(struct vuc_dev *d)
{
	if (d->config_efd < 0)
		return;
	if (d->cfg_intr == NULL)
		d->cfg_intr = rte_intr_instance_alloc(
			RTE_INTR_INSTANCE_F_SHARED);
	if (d->cfg_intr == NULL)
		return;
	rte_intr_type_set(d->cfg_intr, RTE_INTR_HANDLE_EXT);
	rte_intr_fd_set(d->cfg_intr, d->config_efd);
	rte_intr_callback_register(d->cfg_intr, config_intr, d);
}

static void
config_intr_unregister(struct vuc_dev *d)
{
	if (d->cfg_intr != NULL) {
		rte_intr_callback_unregister_sync(d->cfg_intr, config_intr, d);
		rte_intr_instance_free(d->cfg_intr);
		d->cfg_intr = NULL;
	}
	/* after the interrupt, which may defer a read; and a read deferred
	 * without one (the setup's) too */
	rte_eal_alarm_cancel(config_alarm, d);
	d->cfg_deferred = false;
}

/* Under DPDK's memory hotplug lock: not d->lock (see struct vuc_dev). */
static void
mem_event_cb(enum rte_mem_event ev, const void *addr, size_t len, void *arg)
{
	vuc_mem_event(arg, ev, (uint64_t)(uintptr_t)addr, len);
}

/* ---- port operations ---- */

/* Queue pairs an application may use: the devarg's, or fewer when the
 * device there has fewer (queues past its count would drop everything). */
static uint16_t
usable_pairs(const struct vuc_dev *d)
{
	return d->client != NULL && d->pairs > 0 ? d->pairs : d->max_pairs;
}

static int
vuc_dev_configure(struct rte_eth_dev *dev)
{
	struct vuc_dev *d = dev->data->dev_private;
	const struct rte_eth_conf *c = &dev->data->dev_conf;
	uint16_t n = usable_pairs(d);
	uint64_t want = 0;

	if (dev->data->nb_rx_queues > n || dev->data->nb_tx_queues > n) {
		VUC_LOG(ERR, "%s: at most %u queues (%s)", d->path, n,
			n < d->max_pairs ? "the device's queue pairs" :
					   "devarg queues=");
		return -EINVAL;
	}
	/* the device finishes what we send with partial checksums; we
	 * finish what it sends so (else each side sums in software) */
	if (d->csum && (c->txmode.offloads & (RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
					      RTE_ETH_TX_OFFLOAD_UDP_CKSUM)))
		want |= 1ULL << VIRTIO_NET_F_CSUM;
	if (d->csum && (c->rxmode.offloads & (RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
					      RTE_ETH_RX_OFFLOAD_UDP_CKSUM)))
		want |= 1ULL << VIRTIO_NET_F_GUEST_CSUM;
	/* segmentation: the device takes whole TCP packets (which comes
	 * with partial checksums: VIRTIO 5.1.3.1) */
	if (d->csum && (c->txmode.offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO))
		want |= (1ULL << VIRTIO_NET_F_CSUM) | VU_PMD_HOST_TSO;
	/* and it sends them (with partial checksums too), into mergeable
	 * buffers; only where they are all taken (ethdev makes an unset
	 * max_lro_pkt_size the MTU's frame: GSO packets would all be lost) */
	if (d->csum && d->mrg_rxbuf &&
	    (c->rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_LRO)) {
		if (c->rxmode.max_lro_pkt_size >= VU_PMD_MAX_GSO_FRAME)
			want |= (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
				VU_PMD_GUEST_TSO;
		else
			VUC_LOG(WARNING,
				"%s: LRO with max_lro_pkt_size %u: GSO packets "
				"not asked for (%u takes any)",
				d->path, c->rxmode.max_lro_pkt_size,
				VU_PMD_MAX_GSO_FRAME);
	}
	pthread_mutex_lock(&d->lock);
	__atomic_store_n(&d->max_lro,
			 c->rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_LRO ?
				 c->rxmode.max_lro_pkt_size :
				 0,
			 __ATOMIC_RELAXED);
	d->offload_want = want;
	if (d->client != NULL && want != d->offload_asked)
		d->requeue = true;	/* negotiated again at start */
	/* partial checksums left to an application that takes them: one
	 * that enabled the receive checksum offloads */
	__atomic_store_n(&d->rx_partial,
			 vu_pmd_rx_partial(d->path, d->rx_partial_arg,
					   c->rxmode.offloads),
			 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int
rxq_intr_setup(struct rte_eth_dev *dev)
{
	struct vuc_dev *d = dev->data->dev_private;
	int efds[VUC_MAX_QUEUE_PAIRS];

	if (!dev->data->dev_conf.intr_conf.rxq) {
		/* an enable of an earlier configuration asks no more */
		for (uint16_t q = 0; q < d->max_pairs; q++) {
			if (!d->vq[2 * q].intr_on)
				continue;
			(void)vuc_rxq_intr(d, q, false); /* rings, if any */
			d->vq[2 * q].intr_on = false;
		}
		return 0;
	}
	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++)
		efds[q] = d->vq[2 * q].efd;
	return vu_pmd_rxq_intr_set(dev, efds, sizeof(eventfd_t));
}

/* ---- queue start and stop ---- */

/*
 * With VIRTIO_F_RING_RESET, a queue is stopped by resetting its virtqueue
 * and started by setting it up again (vuc_vq_stop(), vuc_vq_start()).
 * Deferred start: the device's setup enables every queue before
 * DRIVER_OK, as VIRTIO 1.2 3.1.1 has it, and resets the deferred ones
 * right after (vuc_device_up()); a device already set up has them reset
 * at the port's start. Their first start is then a re-enable after a
 * reset (2.6.1.2), never a first enable after DRIVER_OK.
 */

static bool
ring_reset(const struct vuc_dev *d)
{
	return d->features & (1ULL << VIRTIO_F_RING_RESET);
}

/* -ENOTSUP, said: what needs VIRTIO_F_RING_RESET without it. */
static int
no_ring_reset(const struct vuc_dev *d, const char *what, bool tx, uint16_t q)
{
	VUC_LOG(ERR,
		"%s: %s of %s queue %u is not supported: VIRTIO_F_RING_RESET "
		"%s",
		d->path, what, tx ? "tx" : "rx", q,
		d->ring_reset ? "is not offered by the device" :
				"is off (devarg ring_reset=0)");
	return -ENOTSUP;
}

static uint8_t
queue_state(const struct vuc_vq *vq)
{
	return vq->stopped ? RTE_ETH_QUEUE_STATE_STOPPED :
			     RTE_ETH_QUEUE_STATE_STARTED;
}

/* What a start of the port wants of the configured queues, as flags for
 * the device's setup to follow (d->lock held). */
static void
queues_want(struct rte_eth_dev *dev)
{
	struct vuc_dev *d = dev->data->dev_private;

	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++)
		d->vq[2 * q].stopped = d->vq[2 * q].deferred;
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++)
		d->vq[2 * q + 1].stopped = d->vq[2 * q + 1].deferred;
}

/*
 * At the port's start (d->lock held): every configured queue started
 * (whatever queue stops came before), but those of a deferred start,
 * stopped. A deferred start needs VIRTIO_F_RING_RESET of a device set up.
 */
static int
queues_apply(struct rte_eth_dev *dev)
{
	struct vuc_dev *d = dev->data->dev_private;
	uint16_t nq[2] = { dev->data->nb_rx_queues, dev->data->nb_tx_queues };
	int ret = 0;

	for (int tx = 0; d->client != NULL && !ring_reset(d) && tx < 2; tx++) {
		for (uint16_t q = 0; q < nq[tx]; q++) {
			if (d->vq[2 * q + tx].deferred) {
				no_ring_reset(d, "deferred start", tx, q);
				return -EINVAL;
			}
		}
	}
	for (int tx = 0; tx < 2; tx++) {
		for (uint16_t q = 0; q < nq[tx] && ret == 0; q++) {
			struct vuc_vq *vq = &d->vq[2 * q + tx];

			ret = vq->deferred ? vuc_vq_stop(d, vq) :
					     vuc_vq_start(d, vq);
			if (ret < 0)
				VUC_LOG(ERR, "%s: %s queue %u: %s: %s", d->path,
					tx ? "tx" : "rx", q,
					vq->deferred ? "deferred start" :
						       "start",
					strerror(-ret));
		}
	}
	return ret;
}

static int
queue_stop(struct rte_eth_dev *dev, uint16_t q, bool tx)
{
	struct vuc_dev *d = dev->data->dev_private;
	int ret;

	pthread_mutex_lock(&d->lock);
	if (!ring_reset(d)) {
		pthread_mutex_unlock(&d->lock);
		return no_ring_reset(d, "stop", tx, q);
	}
	ret = vuc_vq_stop(d, &d->vq[2 * q + tx]);
	pthread_mutex_unlock(&d->lock);
	/* out of the data path even when its reset failed */
	if (tx)
		dev->data->tx_queue_state[q] = RTE_ETH_QUEUE_STATE_STOPPED;
	else
		dev->data->rx_queue_state[q] = RTE_ETH_QUEUE_STATE_STOPPED;
	return ret;
}

static int
queue_start(struct rte_eth_dev *dev, uint16_t q, bool tx)
{
	struct vuc_dev *d = dev->data->dev_private;
	struct vuc_vq *vq = &d->vq[2 * q + tx];
	int ret;

	pthread_mutex_lock(&d->lock);
	/* without it, only a queue a setup left stopped (enabled, empty:
	 * vuc_device_up()) can start */
	if (!ring_reset(d) && (!vq->stopped || vq->dev_reset)) {
		pthread_mutex_unlock(&d->lock);
		return no_ring_reset(d, "start", tx, q);
	}
	ret = vuc_vq_start(d, vq);
	if (ret == 0 && tx)
		dev->data->tx_queue_state[q] = RTE_ETH_QUEUE_STATE_STARTED;
	else if (ret == 0)
		dev->data->rx_queue_state[q] = RTE_ETH_QUEUE_STATE_STARTED;
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static int
vuc_rx_queue_stop(struct rte_eth_dev *dev, uint16_t q)
{
	return queue_stop(dev, q, false);
}

static int
vuc_tx_queue_stop(struct rte_eth_dev *dev, uint16_t q)
{
	return queue_stop(dev, q, true);
}

static int
vuc_rx_queue_start(struct rte_eth_dev *dev, uint16_t q)
{
	return queue_start(dev, q, false);
}

static int
vuc_tx_queue_start(struct rte_eth_dev *dev, uint16_t q)
{
	return queue_start(dev, q, true);
}

/* A queue setup asking for a deferred start: refused (-EINVAL, said)
 * when the device set up lacks VIRTIO_F_RING_RESET (without a device yet,
 * the port's start says so). */
static int
deferred_check(struct vuc_dev *d, bool deferred, bool tx, uint16_t q)
{
	if (!deferred || d->client == NULL || ring_reset(d))
		return 0;
	no_ring_reset(d, "deferred start", tx, q);
	return -EINVAL;
}

/*
 * The receive pools against a frame of the device's MTU with two VLAN
 * tags (what the device may send). Without mergeable buffers one mbuf is
 * one buffer, and with VIRTIO_NET_F_MTU the driver MUST give room for
 * such a frame (VIRTIO 1.2 5.1.4.2): -EINVAL, said. With them a longer
 * frame is a chain: said when the application did not ask for chains.
 */
static int
rx_mbufs_check(struct rte_eth_dev *dev)
{
	struct vuc_dev *d = dev->data->dev_private;
	bool mrg = d->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);

	for (uint16_t q = 0; d->client != NULL && q < dev->data->nb_rx_queues;
	     q++) {
		const struct vuc_vq *vq = &d->vq[2 * q];
		uint32_t frame, room;
		bool unasked;

		if (vq->mp == NULL)
			continue;
		unasked = vu_pmd_rx_chains_unasked(dev, vq->rx_offloads, vq->mp,
						   d->mtu, &frame, &room);
		if (mrg) {
			if (unasked)
				VUC_LOG(WARNING, VU_PMD_RX_CHAINS_MSG, d->path,
					q, frame, d->mtu, room);
		} else if ((d->features & (1ULL << VIRTIO_NET_F_MTU)) &&
			   frame > room) {
			VUC_LOG(ERR,
				"%s: the device's MTU %u without mergeable "
				"buffers needs a frame of %u bytes in one mbuf; "
				"receive queue %u's pool holds %u: give it "
				"larger mbufs",
				d->path, d->mtu, frame, q, room);
			return -EINVAL;
		}
	}
	return 0;
}

static int
vuc_dev_start(struct rte_eth_dev *dev)
{
	struct vuc_dev *d = dev->data->dev_private;
	int ret;

	pthread_mutex_lock(&d->lock);
	/* set up again: a device gone (the connection closed), receive
	 * queues changed with buffers posted, or a device that needs a
	 * reset or lacks memory a hotplug map could not give it (what
	 * reconnect= does by itself). A device gone that the event thread
	 * has not seen go yet (its process just ended) is found by a
	 * request. */
	if (d->client != NULL && rte_vfio_user_client_connected(d->client))
		(void)vuc_read_link(d);
	if (d->client != NULL && !rte_vfio_user_client_connected(d->client)) {
		VUC_LOG(INFO, "%s: device disconnected: connecting again",
			d->path);
		vuc_device_down(d, false);
	} else if (d->client != NULL &&
		   (d->requeue ||
		    __atomic_exchange_n(&d->needs_reset, 0, __ATOMIC_ACQ_REL) ||
		    __atomic_load_n(&d->maps_lost, __ATOMIC_ACQUIRE))) {
		VUC_LOG(INFO, "%s: %s: reset", d->path,
			d->requeue ? "queues or offloads set up again" :
				     "device needs a reset");
		vuc_device_down(d, true);
	}
	d->requeue = false;
	if (d->client == NULL) {
		/* a new setup leaves the deferred queues stopped */
		queues_want(dev);
		ret = vuc_device_up(d);
		if (ret < 0 && d->reconnect_ms == 0) {
			pthread_mutex_unlock(&d->lock);
			return ret;
		}
		if (ret < 0)
			vuc_schedule_reconnect(d);
	}
	ret = rx_mbufs_check(dev);
	if (ret < 0) {
		pthread_mutex_unlock(&d->lock);
		return ret;
	}
	ret = queues_apply(dev);
	if (ret < 0) {
		pthread_mutex_unlock(&d->lock);
		return ret;
	}
	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++)
		if (d->vq[2 * q].ready)
			vuc_rxq_fill(&d->vq[2 * q]);
	ret = rxq_intr_setup(dev);
	if (ret < 0) {
		/* a failed start leaves the port stopped (ethdev marks it
		 * started only when we return 0) */
		pthread_mutex_unlock(&d->lock);
		VUC_LOG(ERR, "%s: receive interrupts: %s", d->path,
			strerror(-ret));
		return ret;
	}
	d->started = true;
	vuc_link_set(d, vuc_read_link(d));
	for (uint16_t q = 0; q < dev->data->nb_rx_queues; q++)
		dev->data->rx_queue_state[q] = queue_state(&d->vq[2 * q]);
	for (uint16_t q = 0; q < dev->data->nb_tx_queues; q++)
		dev->data->tx_queue_state[q] = queue_state(&d->vq[2 * q + 1]);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int
vuc_dev_stop(struct rte_eth_dev *dev)
{
	struct vuc_dev *d = dev->data->dev_private;

	pthread_mutex_lock(&d->lock);
	/* what was queued before stop still reaches the device */
	vuc_txq_drain_wait(d, VUC_STOP_DRAIN_MS);
	d->started = false;
	vuc_link_set(d, false);
	pthread_mutex_unlock(&d->lock);
	dev->data->dev_started = 0;
	vu_pmd_queues_state(dev, RTE_ETH_QUEUE_STATE_STOPPED);
	return 0;
}

static int
vuc_dev_close(struct rte_eth_dev *dev)
{
	struct vuc_dev *d = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	__atomic_store_n(&d->closing, 1, __ATOMIC_RELEASE);
	reconnect_thread_stop(d);
	/* the callback first: it may set the link alarm */
	if (rte_mem_event_callback_unregister(d->mem_cb_name, d) < 0 &&
	    rte_errno != ENOTSUP && rte_errno != ENOENT)
		VUC_LOG(ERR, "%s: memory event callback: %s", d->path,
			rte_strerror(rte_errno));
	rte_eal_alarm_cancel(link_alarm, d);
	config_intr_unregister(d);
	pthread_mutex_lock(&d->lock);
	vuc_device_down(d, true);
	pthread_mutex_unlock(&d->lock);
	/* the device detached: no more changes; not under the lock, which
	 * a callback running meanwhile may want */
	vu_pmd_lsc_fini(&d->lsc);
	for (uint16_t i = 0; i < VUC_MAX_VQS; i++) {
		rte_memzone_free(d->vq[i].mz);
		rte_free(d->vq[i].cookie);
		d->vq[i].mz = NULL;
		d->vq[i].cookie = NULL;
	}
	vu_pmd_rxq_intr_free(dev);
	vuc_irqs_free(d);
	rte_free(d->qsbr);
	d->qsbr = NULL;
	return 0;
}

static int
vuc_dev_info(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct vuc_dev *d = dev->data->dev_private;

	vu_pmd_dev_info(info, usable_pairs(d), d->mtu,
			(uint32_t)d->mtu + RTE_ETHER_HDR_LEN +
				RTE_ETHER_CRC_LEN);
	/* the ring we allocate: receive posts all of it unless asked
	 * otherwise; transmit has VUC_DEF_TX_DEPTH frames in flight */
	info->default_rxportconf.ring_size = VUC_DEF_QUEUE_SIZE;
	info->default_txportconf.ring_size = VUC_DEF_TX_DEPTH;
	/* a frame takes a descriptor per segment (and one for its header
	 * when the headroom cannot hold it) of a ring of at most this */
	info->tx_desc_lim.nb_seg_max = VUC_DEF_QUEUE_SIZE - 1;
	info->tx_desc_lim.nb_mtu_seg_max = VUC_DEF_QUEUE_SIZE - 1;
	/* GSO packets received whole when the device sends them (VIRTIO_NET_
	 * F_GUEST_TSO4/6), into mergeable buffers */
	if (d->csum && d->mrg_rxbuf) {
		info->rx_offload_capa |= RTE_ETH_RX_OFFLOAD_TCP_LRO;
		info->max_lro_pkt_size = VU_PMD_MAX_GSO_FRAME;
	}
	return 0;
}

static int
vuc_rx_queue_setup(struct rte_eth_dev *dev, uint16_t q, uint16_t nb_desc,
	      unsigned int socket, const struct rte_eth_rxconf *conf,
	      struct rte_mempool *mp)
{
	struct vuc_dev *d = dev->data->dev_private;
	struct vuc_vq *vq = &d->vq[2 * q];

	RTE_SET_USED(socket);
	pthread_mutex_lock(&d->lock);
	if (deferred_check(d, conf->rx_deferred_start, false, q) < 0) {
		pthread_mutex_unlock(&d->lock);
		return -EINVAL;
	}
	vq->deferred = conf->rx_deferred_start;
	/* a virtio driver cannot take back the buffers it posted (short of
	 * a reset): those of the old mempool must not outlive it. Only
	 * buffers posted count: a first setup, or one before any start,
	 * leaves the device as it is */
	if (d->client != NULL && vq->cookie != NULL &&
	    vq->num_free != vq->size && (vq->mp != mp || vq->want != nb_desc))
		d->requeue = true;
	vq->mp = mp;
	vuc_vq_set_want(vq, nb_desc);
	vq->rx_offloads = conf->offloads;
	pthread_mutex_unlock(&d->lock);
	dev->data->rx_queues[q] = vq;
	return 0;
}

static int
vuc_tx_queue_setup(struct rte_eth_dev *dev, uint16_t q, uint16_t nb_desc,
	      unsigned int socket, const struct rte_eth_txconf *conf)
{
	struct vuc_dev *d = dev->data->dev_private;

	RTE_SET_USED(socket);
	/* the reconnection alarm re-initialises rings under the lock */
	pthread_mutex_lock(&d->lock);
	if (deferred_check(d, conf->tx_deferred_start, true, q) < 0) {
		pthread_mutex_unlock(&d->lock);
		return -EINVAL;
	}
	d->vq[2 * q + 1].deferred = conf->tx_deferred_start;
	vuc_vq_set_want(&d->vq[2 * q + 1], nb_desc);
	pthread_mutex_unlock(&d->lock);
	dev->data->tx_queues[q] = &d->vq[2 * q + 1];
	return 0;
}

static int
vuc_link_update(struct rte_eth_dev *dev, int wait)
{
	struct vuc_dev *d = dev->data->dev_private;

	RTE_SET_USED(wait);
	if (pthread_mutex_trylock(&d->lock) == 0) {
		vuc_link_set(d, d->started && vuc_read_link(d));
		pthread_mutex_unlock(&d->lock);
	}
	return 0;
}

static const struct vu_pmd_xstat vuc_xs[] = {
	VU_PMD_XSTAT(struct vuc_stats, packets, "packets"),
	VU_PMD_XSTAT(struct vuc_stats, bytes, "bytes"),
	VU_PMD_XSTAT(struct vuc_stats, errors, "errors"),
	VU_PMD_XSTAT(struct vuc_stats, nombuf, "nombuf"),
	VU_PMD_XSTAT(struct vuc_stats, kicks, "kicks"),
	VU_PMD_XSTAT(struct vuc_stats, full, "ring_full"),
	VU_PMD_XSTAT(struct vuc_stats, dropped, "dropped"),
	/* last: the receive queues' only */
	VU_PMD_XSTAT(struct vuc_stats, csum_kept, "csum_kept"),
};
#define VUC_XS_RX RTE_DIM(vuc_xs)
#define VUC_XS_TX (RTE_DIM(vuc_xs) - 1)

static int
vuc_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *s)
{
	struct vuc_dev *d = dev->data->dev_private;

	for (uint16_t q = 0; q < d->max_pairs; q++) {
		const struct vuc_stats *rx = &d->vq[2 * q].st;
		const struct vuc_stats *tx = &d->vq[2 * q + 1].st;

		vu_pmd_stats_add(s, q,
				 &(struct vu_pmd_pair_stats){
					 .ipackets = rx->packets,
					 .ibytes = rx->bytes,
					 .imissed = rx->dropped,
					 .ierrors = rx->errors,
					 .rx_nombuf = rx->nombuf,
					 .opackets = tx->packets,
					 .obytes = tx->bytes,
					 .oerrors = tx->errors + tx->dropped,
				 });
	}
	return 0;
}

static int
vuc_stats_reset(struct rte_eth_dev *dev)
{
	struct vuc_dev *d = dev->data->dev_private;

	vu_pmd_stats_clear(&d->vq[0].st, sizeof(d->vq[0]), sizeof(d->vq[0].st),
			   VUC_MAX_VQS);
	return 0;
}

static int
vuc_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names,
		     unsigned int size)
{
	struct vuc_dev *d = dev->data->dev_private;
	unsigned int n = d->max_pairs * (VUC_XS_RX + VUC_XS_TX), k = 0;

	if (names == NULL || size < n)
		return (int)n;
	k += vu_pmd_xstats_names(names + k, "rx", d->max_pairs, vuc_xs,
				 VUC_XS_RX);
	k += vu_pmd_xstats_names(names + k, "tx", d->max_pairs, vuc_xs,
				 VUC_XS_TX);
	return (int)k;
}

static int
vuc_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs,
	       unsigned int size)
{
	struct vuc_dev *d = dev->data->dev_private;
	unsigned int n = d->max_pairs * (VUC_XS_RX + VUC_XS_TX), k = 0;
	const size_t stride = 2 * sizeof(d->vq[0]);

	if (xs == NULL || size < n)
		return (int)n;
	/* rx queue q is virtqueue 2q, tx queue q 2q + 1 */
	k += vu_pmd_xstats_values(xs + k, k, &d->vq[0].st, stride, d->max_pairs,
				  vuc_xs, VUC_XS_RX);
	k += vu_pmd_xstats_values(xs + k, k, &d->vq[1].st, stride, d->max_pairs,
				  vuc_xs, VUC_XS_TX);
	return (int)k;
}

static int
vuc_rx_intr_enable(struct rte_eth_dev *dev, uint16_t q)
{
	/* without intr_conf.rxq no one listens: as net_vfio_user */
	if (!dev->data->dev_conf.intr_conf.rxq)
		return -ENOTSUP;
	return vuc_rxq_intr(dev->data->dev_private, q, true);
}

static int
vuc_rx_intr_disable(struct rte_eth_dev *dev, uint16_t q)
{
	if (!dev->data->dev_conf.intr_conf.rxq)
		return -ENOTSUP;
	return vuc_rxq_intr(dev->data->dev_private, q, false);
}

static const struct eth_dev_ops vuc_ops;

bool
vuc_is_ours(uint16_t port_id)
{
	return rte_eth_dev_is_valid_port(port_id) &&
	       rte_eth_devices[port_id].dev_ops == &vuc_ops;
}

/* An MTU up to the device's (dev_info's max_mtu, which ethdev checked),
 * advisory as with DPDK's virtio PMD: a virtio driver has nothing to tell
 * the device, and the port checks no frame against it (the device drops
 * what its own MTU does not let in). */
static int
vuc_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	RTE_SET_USED(dev);
	RTE_SET_USED(mtu);
	return 0;
}

/*
 * The port's MAC address: its own from now on (kept across reconnections,
 * as mac= is), and the device's too where it took CTRL_MAC_ADDR (its
 * configuration space shows it; it does not filter): told now if it is
 * up, at its next setup otherwise. A device that refuses it leaves the
 * port's address as it was. The address the port has already changes
 * nothing (ethdev gives it again at every start).
 */
static int
vuc_mac_addr_set(struct rte_eth_dev *dev, struct rte_ether_addr *mac)
{
	struct vuc_dev *d = dev->data->dev_private;
	struct rte_ether_addr old;
	bool old_given;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (rte_is_same_ether_addr(mac, &d->mac)) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	old = d->mac;
	old_given = d->mac_given;
	rte_ether_addr_copy(mac, &d->mac);
	d->mac_given = true;
	/* a device about to be set up again hears of it then */
	if (d->client != NULL && rte_vfio_user_client_connected(d->client) &&
	    !__atomic_load_n(&d->needs_reset, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&d->maps_lost, __ATOMIC_ACQUIRE))
		ret = vuc_mac_tell(d);
	if (ret < 0) {
		VUC_LOG(ERR, "%s: the device refused the MAC address: %s",
			d->path, strerror(-ret));
		d->mac = old;
		d->mac_given = old_given;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* rx queue q is the device's receiveq 2q, tx queue q its transmitq;
 * nb_desc is what the queue uses of its ring (buffers posted, frames in
 * flight) */
static void
vuc_rxq_info(struct rte_eth_dev *dev, uint16_t q, struct rte_eth_rxq_info *qi)
{
	struct vuc_dev *d = dev->data->dev_private;
	const struct vuc_vq *vq = &d->vq[2 * q];

	qi->mp = vq->mp;
	qi->conf.rx_deferred_start = vq->deferred;
	qi->nb_desc = (uint16_t)(vq->size - vq->hold);
	qi->scattered_rx = vq->mrg_rxbuf;
	qi->rx_buf_size = vu_pmd_rx_buf_size(vq->mp);
}

static void
vuc_txq_info(struct rte_eth_dev *dev, uint16_t q, struct rte_eth_txq_info *qi)
{
	struct vuc_dev *d = dev->data->dev_private;

	qi->nb_desc = d->vq[2 * q + 1].tx_cap;
	qi->conf.tx_deferred_start = d->vq[2 * q + 1].deferred;
}

static int
vuc_burst_mode(struct rte_eth_dev *dev, uint16_t q,
	       struct rte_eth_burst_mode *mode)
{
	struct vuc_dev *d = dev->data->dev_private;
	const struct vuc_vq *vq = &d->vq[2 * q];

	return vu_pmd_burst_mode(mode, vq->mz != NULL, vq->packed,
				 vq->in_order);
}

static const struct eth_dev_ops vuc_ops = {
	VU_PMD_ETH_OPS(vuc),
	.rx_queue_start = vuc_rx_queue_start,
	.rx_queue_stop = vuc_rx_queue_stop,
	.tx_queue_start = vuc_tx_queue_start,
	.tx_queue_stop = vuc_tx_queue_stop,
	.rx_queue_intr_enable = vuc_rx_intr_enable,
	.rx_queue_intr_disable = vuc_rx_intr_disable,
	.mtu_set = vuc_mtu_set,
	.mac_addr_set = vuc_mac_addr_set,
	.rxq_info_get = vuc_rxq_info,
	.txq_info_get = vuc_txq_info,
	.tx_done_cleanup = vuc_tx_done_cleanup,
	.rx_burst_mode_get = vuc_burst_mode,
	.tx_burst_mode_get = vuc_burst_mode,
	.get_monitor_addr = vuc_get_monitor_addr,
};

/* A secondary process's: what reads the port's shared data only. */
static const struct eth_dev_ops vuc_secondary_ops = {
	.dev_close = vuc_dev_close,
	.dev_infos_get = vuc_dev_info,
	.link_update = vu_pmd_link_shared,
	.stats_get = vuc_stats_get,
	.stats_reset = vuc_stats_reset,
	.xstats_get = vuc_xstats_get,
	.xstats_get_names = vuc_xstats_get_names,
	.rxq_info_get = vuc_rxq_info,
	.txq_info_get = vuc_txq_info,
	.rx_burst_mode_get = vuc_burst_mode,
	.tx_burst_mode_get = vuc_burst_mode,
};

/* ---- devargs ---- */

static int
parse_args(struct rte_vdev_device *vdev, struct vuc_dev *d)
{
	const char *params = rte_vdev_device_args(vdev);
	const char *name = rte_vdev_device_name(vdev);
	struct vu_pmd_arg_str path = { d->path, sizeof(d->path) };
	struct vu_pmd_arg_uint queues = { 1, VUC_MAX_QUEUE_PAIRS, 1 };
	struct vu_pmd_arg_uint reconnect = { 0, 3600000, 0 };
	struct vu_pmd_arg_uint timeout = { 100, 60000, VUC_DEF_TIMEOUT_MS };
	const struct vu_pmd_bool_arg bools[] = {
		{ ARG_PACKED_VQ, &d->packed_vq },
		{ ARG_IN_ORDER, &d->in_order },
		{ ARG_MRG_RXBUF, &d->mrg_rxbuf },
		{ ARG_RING_RESET, &d->ring_reset },
		{ ARG_CSUM, &d->csum },
		{ ARG_RX_PARTIAL, &d->rx_partial_arg },
	};
	const char *bad_key, *bad;
	struct rte_kvargs *kv;
	int ret = -EINVAL;

	d->packed_vq = true;
	d->in_order = true;
	d->mrg_rxbuf = true;
	d->ring_reset = true;
	d->csum = true;
	kv = vu_pmd_kvargs(name, params, valid_args);
	if (kv == NULL)
		return -EINVAL;
	if (rte_kvargs_count(kv, ARG_PATH) != 1)
		VUC_LOG(ERR, "%s: path=<socket> is needed", name);
	else if (rte_kvargs_process(kv, ARG_PATH, vu_pmd_arg_str, &path) < 0)
		VUC_LOG(ERR, "%s: path=%s: empty or longer than %zu", name,
			vu_pmd_kv(kv, ARG_PATH), sizeof(d->path) - 1);
	else if (rte_kvargs_process(kv, ARG_QUEUES, vu_pmd_arg_uint, &queues) <
		 0)
		VUC_LOG(ERR, "%s: queues=%s: must be 1..%u", name,
			vu_pmd_kv(kv, ARG_QUEUES), VUC_MAX_QUEUE_PAIRS);
	else if (rte_kvargs_process(kv, ARG_RECONNECT, vu_pmd_arg_uint,
				    &reconnect) < 0)
		VUC_LOG(ERR,
			"%s: reconnect=%s: must be a retry interval in ms "
			"(0: off, at most 3600000)",
			name, vu_pmd_kv(kv, ARG_RECONNECT));
	else if (rte_kvargs_process(kv, ARG_TIMEOUT, vu_pmd_arg_uint,
				    &timeout) < 0)
		VUC_LOG(ERR,
			"%s: timeout=%s: must be a request timeout in ms, "
			"100 to 60000",
			name, vu_pmd_kv(kv, ARG_TIMEOUT));
	else if (rte_kvargs_process(kv, ARG_MAC, vu_pmd_arg_mac, &d->mac) < 0)
		VUC_LOG(ERR, "%s: mac=%s: must be a unicast xx:xx:xx:xx:xx:xx",
			name, vu_pmd_kv(kv, ARG_MAC));
	else if ((bad_key = vu_pmd_args_bools(kv, bools, RTE_DIM(bools),
					      &bad)) != NULL)
		VUC_LOG(ERR, "%s: %s=%s: must be 0 or 1", name, bad_key, bad);
	else
		ret = 0;
	d->max_pairs = (uint16_t)queues.value;
	d->reconnect_ms = (uint32_t)reconnect.value;
	d->timeout_ms = (uint32_t)timeout.value;
	d->mac_given = rte_kvargs_count(kv, ARG_MAC) > 0;
	rte_kvargs_free(kv);
	return ret;
}

/* ---- probe / remove ---- */

static int
vuc_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *eth;
	struct vuc_dev *d;
	size_t qsz;
	int ret;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return vu_pmd_probe_secondary(vdev, &vuc_secondary_ops);
	eth = rte_eth_vdev_allocate(vdev, sizeof(*d));
	if (eth == NULL)
		return -ENOMEM;
	d = eth->data->dev_private;
	d->port_id = eth->data->port_id;
	vu_pmd_lsc_init(&d->lsc, d->port_id);
	d->config_efd = -1;
	d->mtu = RTE_ETHER_MTU;
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->maps_lock, NULL);
	for (uint16_t i = 0; i < VUC_MAX_VQS; i++) {
		d->vq[i].index = i;
		d->vq[i].qid = i / 2;
		d->vq[i].efd = -1;
		d->vq[i].bell_fd = -1;
		d->vq[i].dev = d;
	}
	ret = parse_args(vdev, d);
	if (ret == 0)
		ret = vuc_irqs_alloc(d);
	if (ret < 0)
		goto err;
	qsz = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);
	d->qsbr = rte_zmalloc(name, qsz, RTE_CACHE_LINE_SIZE);
	if (d->qsbr == NULL || rte_rcu_qsbr_init(d->qsbr, RTE_MAX_LCORE) != 0) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned int i = 0; i < RTE_MAX_LCORE; i++)
		rte_rcu_qsbr_thread_register(d->qsbr, i);
	d->qsbr_light = rte_vfio_user_qsbr_light();
	eth->data->mac_addrs = rte_zmalloc(name, RTE_ETHER_ADDR_LEN, 0);
	if (eth->data->mac_addrs == NULL) {
		ret = -ENOMEM;
		goto err;
	}
	if (d->reconnect_ms > 0) {
		ret = reconnect_thread_start(d, name);
		if (ret < 0)
			goto err;
	}
	eth->dev_ops = &vuc_ops;
	eth->rx_pkt_burst = vuc_rx_burst;
	eth->tx_pkt_burst = vuc_tx_burst;
	eth->rx_queue_count = vuc_rx_queue_count;
	eth->rx_descriptor_status = vuc_rx_descriptor_status;
	eth->tx_descriptor_status = vuc_tx_descriptor_status;
	eth->tx_pkt_prepare = vu_pmd_tx_prepare;
	vu_pmd_port_init(eth);

	/* before the setup: memory its rings take (a heap that grows) is
	 * mapped by the callback once the setup mapped the rest */
	snprintf(d->mem_cb_name, sizeof(d->mem_cb_name), "%s", name);
	if (rte_mem_event_callback_register(d->mem_cb_name, mem_event_cb, d) <
		    0 &&
	    rte_errno != ENOTSUP)
		VUC_LOG(WARNING,
			"%s: no memory hotplug events: new memory will "
			"not be mapped",
			d->path);
	pthread_mutex_lock(&d->lock);
	ret = vuc_device_up(d);
	pthread_mutex_unlock(&d->lock);
	if (ret < 0 && d->reconnect_ms == 0)
		goto err;
	config_intr_register(d);
	if (ret < 0)
		VUC_LOG(WARNING, "%s: device not up yet, retrying every %u ms",
			d->path, d->reconnect_ms);
	if (!d->mac_given && ret < 0)
		rte_eth_random_addr(d->mac.addr_bytes);
	rte_ether_addr_copy(&d->mac, eth->data->mac_addrs);
	eth->data->mtu = d->mtu;
	rte_eth_dev_probing_finish(eth);
	/* the port complete first: an attempt rewrites the MAC, tells LSC */
	if (ret < 0)
		vuc_schedule_reconnect(d);
	VUC_LOG(NOTICE, "%s: port %u drives the device at %s", name, d->port_id,
		d->path);
	return 0;
err:
	__atomic_store_n(&d->closing, 1, __ATOMIC_RELEASE);
	reconnect_thread_stop(d);
	if (d->mem_cb_name[0] != '\0')
		rte_mem_event_callback_unregister(d->mem_cb_name, d);
	/* the callback, or the setup, may have asked for a link read */
	rte_eal_alarm_cancel(link_alarm, d);
	config_intr_unregister(d);
	vuc_irqs_free(d);
	rte_free(d->qsbr);
	rte_eth_dev_release_port(eth);
	return ret;
}

static struct rte_vdev_driver vuc_driver = {
	.probe = vuc_probe,
	.remove = vu_pmd_remove,
};

/* The old name, refused with the new one's name, even where the backend
 * plugin (which refuses it too) is not loaded. */
static int
vuc_old_name_probe(struct rte_vdev_device *vdev)
{
	return vu_pmd_old_frontend_name(rte_vdev_device_name(vdev));
}

static struct rte_vdev_driver vuc_old_name_driver = {
	.probe = vuc_old_name_probe,
};

RTE_PMD_REGISTER_VDEV(net_vfio_user_client, vuc_old_name_driver);

RTE_PMD_REGISTER_VDEV(net_virtio_vfio_user, vuc_driver);
VU_PMD_REGISTER_PARAM_STRING(
	net_virtio_vfio_user,
	"path=<socket> queues=<1-16> mac=<xx:xx:xx:xx:xx:xx> "
	"reconnect=<ms, 0-3600000> packed_vq=<0|1> in_order=<0|1> "
	"mrg_rxbuf=<0|1> csum=<0|1> timeout=<ms, 100-60000> "
	"rx_partial=<0|1> ring_reset=<0|1>");
