/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Receive interrupts (intr_conf.rxq): an application that sleeps while its
 * receive queues are idle (rte_eth_dev_rx_intr_enable(), then
 * rte_epoll_wait() on what rte_eth_dev_rx_intr_ctl_q() added), as
 * l3fwd-power does.
 *
 * A receive queue polls the driver's transmitq of one pair, or of a set of
 * pairs (struct vun_rx_set). The data path asks the driver for no
 * doorbells there (split: VRING_USED_F_NO_NOTIFY, or with EVENT_IDX an
 * avail_event just behind; packed: DISABLE). Armed, a transmitq asks for
 * one at the driver's next buffer (flags 0, avail_event at the next entry,
 * ENABLE), and that doorbell wakes the application:
 *  - each pair's transmitq has an eventfd, given to the client as the
 *    ioeventfd of its doorbell (GET_REGION_IO_FDS) and written by the
 *    event thread for a doorbell that comes as a region write;
 *  - a receive queue's interrupt fd (the port's interrupt handle,
 *    RTE_INTR_HANDLE_VDEV, with no counter for EAL to read: arming and
 *    disarming empty the eventfds) is its pair's eventfd, or, polling a
 *    set, an epoll fd holding the set's eventfds (kept from the first
 *    start with sets to the port's close, filled anew at each start).
 * Arming looks at the ring once more after the fields are out: a buffer
 * made available before the driver could see them got no doorbell, and
 * gets the eventfd written instead, so that the application does not sleep
 * on a frame that is there.
 *
 * A transmitq's fields are written by whoever arms or disarms it (the
 * application, online in the QSBR variable as a burst is) and by its start
 * (the event thread, which also publishes it ready then), under the
 * device's intr_lock: an arming while the queue is not ready takes effect
 * at its start. In offload mode the engine has the queues: no receive
 * interrupts.
 */

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ethdev_driver.h>
#include <rte_interrupts.h>

#include "vu_pmd_ethdev.h"
#include "vun.h"
#include "vun_ring.h"
#include "vun_shadow.h"

VU_PMD_BURST_DEFINE(struct vun_vq)

/* no receive queue's epoll fd holds the pair's eventfd */
#define NO_QUEUE UINT16_MAX

int
vun_rx_intr_init(struct vun_dev *d)
{
	rte_spinlock_init(&d->intr_lock);
	for (uint16_t i = 0; i < VUN_MAX_QUEUE_PAIRS; i++) {
		d->kick_efd[i] = -1;
		d->rxq_epfd[i] = -1;
		d->kick_in[i] = NO_QUEUE;
	}
	for (uint16_t p = 0; p < d->max_pairs; p++) {
		d->kick_efd[p] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->kick_efd[p] < 0)
			return -errno;
	}
	return 0;
}

void
vun_rx_intr_fini(struct vun_dev *d)
{
	for (uint16_t i = 0; i < VUN_MAX_QUEUE_PAIRS; i++) {
		if (d->kick_efd[i] >= 0)
			close(d->kick_efd[i]);
		if (d->rxq_epfd[i] >= 0)
			close(d->rxq_epfd[i]);
		d->kick_efd[i] = d->rxq_epfd[i] = -1;
		d->kick_in[i] = NO_QUEUE;
	}
}

/* A transmitq's pair, or -1 for any other virtqueue. */
static int
txq_pair(const struct vun_dev *d, uint16_t index)
{
	return (index & 1) && index < 2 * d->max_pairs ? index / 2 : -1;
}

int
vun_rx_intr_kick_fd(const struct vun_dev *d, uint16_t index, int dflt)
{
	int p = txq_pair(d, index);

	return p >= 0 && d->kick_efd[p] >= 0 ? d->kick_efd[p] : dflt;
}

void
vun_rx_intr_kick(struct vun_dev *d, uint16_t index)
{
	int p = txq_pair(d, index);

	if (p >= 0 && d->kick_efd[p] >= 0)
		eventfd_write(d->kick_efd[p], 1);
}

/* Dirty logging of the device event suppression area (packed). */
static void
log_dev_event(struct vun_vq *vq)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		vq->dev->dev_id);

	if (vun_logging(vq, t, vq->used_iova))
		rte_vfio_user_mark_dirty(
			vq->dev->dev_id, vq->used_iova,
			sizeof(struct vring_packed_desc_event));
}

/*
 * Write vq's suppression fields, armed or not (vq ready, the caller online
 * or the event thread starting it, under intr_lock). Disarmed they are
 * what vq_start() writes.
 */
static void
fields_write(struct vun_vq *vq, bool armed)
{
	if (vq->packed) {
		__atomic_store_n(&vq->dev_event->flags,
				 armed ? VRING_PACKED_EVENT_FLAG_ENABLE :
					 VRING_PACKED_EVENT_FLAG_DISABLE,
				 __ATOMIC_RELAXED);
		log_dev_event(vq);
		return;
	}
	/* with EVENT_IDX the driver reads avail_event only (VIRTIO 1.x
	 * 2.7.10): at our next entry, or just behind it */
	if (vq->event_idx)
		__atomic_store_n((uint16_t *)&vq->used->ring[vq->size],
				 (uint16_t)(vq->last_avail - (armed ? 0 : 1)),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vq->used->flags,
				 armed ? 0 : VRING_USED_F_NO_NOTIFY,
				 __ATOMIC_RELAXED);
	if (vq->shadow != NULL)
		vun_shadow_split_event(vq);	/* to the driver's ring */
	else
		vun_log_used(vq, vq->last_used);
}

/* Whether the ethdev receive queue that polls transmitq vq is stopped:
 * its arming waits for the queue's start then (a stopped queue's frames
 * wait in the driver's ring, which would wake its poller for nothing). */
static bool
rxq_stopped(const struct vun_dev *d, const struct vun_vq *vq)
{
	uint16_t p = vq->index / 2;
	uint16_t q = d->rx_sets != 0 ? p % d->rx_sets : p;

	return __atomic_load_n(&d->vq[2 * q + 1].stopped, __ATOMIC_ACQUIRE);
}

/* Armed: the fields out, then the ring once more (see the top). */
static void
arm(struct vun_vq *vq)
{
	fields_write(vq, true);
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vun_bufs_avail(vq, 1, true) > 0)
		vun_rx_intr_kick(vq->dev, vq->index);
}

void
vun_rx_intr_publish(struct vun_dev *d, struct vun_vq *vq)
{
	rte_spinlock_lock(&d->intr_lock);
	if (vq->intr_armed && !rxq_stopped(d, vq)) {
		fields_write(vq, true);
		/* what the driver made available before: look */
		vun_rx_intr_kick(d, vq->index);
	}
	/* stopped by migration: published when the device runs again */
	if (!__atomic_load_n(&d->mig_stopped, __ATOMIC_ACQUIRE))
		__atomic_store_n(&vq->ready, 1, __ATOMIC_RELEASE);
	rte_spinlock_unlock(&d->intr_lock);
}

/* Empty an eventfd. */
static void
efd_drain(int fd)
{
	eventfd_t v;

	(void)eventfd_read(fd, &v);
}

/* How txq_arm() leaves a transmitq's request: off, on, or as it was. */
enum arm_how {
	DISARM,
	ARM,
	KEEP
};

/*
 * Arm or disarm one transmitq (online while it writes): as the
 * application asked, unless its receive queue is stopped. From an EAL
 * thread; elsewhere (a queue start from a control thread) the rings
 * cannot be written: a queue that should be armed wakes its application
 * instead, whose next enable, from its lcore, arms it.
 */
static void
txq_arm(struct vun_vq *vq, enum arm_how how)
{
	struct vun_dev *d = vq->dev;
	unsigned int lcore;
	bool armed;

	rte_spinlock_lock(&d->intr_lock);
	if (how != KEEP)
		vq->intr_armed = how == ARM;
	armed = vq->intr_armed && !rxq_stopped(d, vq);
	/* doorbells from before wake no one (the eventfd readable would
	 * also wake whoever adds the queue to an epoll set next) */
	efd_drain(d->kick_efd[vq->index / 2]);
	if (vu_pmd_burst_enter(vq, &lcore)) {
		if (armed)
			arm(vq);
		else
			fields_write(vq, false);
		vu_pmd_burst_leave(vq, lcore);
	} else if (armed && rte_lcore_id() >= RTE_MAX_LCORE) {
		vun_rx_intr_kick(d, vq->index);
	}
	rte_spinlock_unlock(&d->intr_lock);
}

/* rx queue q's transmitqs: the set's, or one */
static void
rxq_arm(struct vun_dev *d, uint16_t q, enum arm_how how)
{
	struct vun_vq *own = &d->vq[2 * q + 1];
	const struct vun_rx_set *s = own->rx_set;

	if (s == NULL) {
		txq_arm(own, how);
		return;
	}
	for (uint16_t i = 0; i < s->n; i++)
		txq_arm(s->vq[i], how);
}

void
vun_rx_intr_requeue(struct rte_eth_dev *dev, uint16_t q)
{
	struct vun_dev *d = dev->data->dev_private;

	if (!dev->data->dev_conf.intr_conf.rxq || d->ol != NULL ||
	    dev->intr_handle == NULL)
		return;
	rxq_arm(d, q, KEEP);
}

static int
rxq_ctl(struct rte_eth_dev *dev, uint16_t q, bool enable)
{
	struct vun_dev *d = dev->data->dev_private;

	if (!dev->data->dev_conf.intr_conf.rxq || d->ol != NULL ||
	    q >= dev->data->nb_rx_queues || dev->intr_handle == NULL)
		return -ENOTSUP;
	if (rte_lcore_id() >= RTE_MAX_LCORE)
		return -EPERM;	/* as the bursts: from EAL threads only */
	rxq_arm(d, q, enable ? ARM : DISARM);
	return 0;
}

int
vun_rx_intr_enable(struct rte_eth_dev *dev, uint16_t q)
{
	return rxq_ctl(dev, q, true);
}

int
vun_rx_intr_disable(struct rte_eth_dev *dev, uint16_t q)
{
	return rxq_ctl(dev, q, false);
}

/* Pair p's eventfd into rx queue q's epoll fd (NO_QUEUE: into none). */
static int
kick_move(struct vun_dev *d, uint16_t p, uint16_t q)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (d->kick_in[p] == q)
		return 0;
	if (d->kick_in[p] != NO_QUEUE)
		epoll_ctl(d->rxq_epfd[d->kick_in[p]], EPOLL_CTL_DEL,
			  d->kick_efd[p], NULL);
	d->kick_in[p] = NO_QUEUE;
	if (q == NO_QUEUE)
		return 0;
	if (epoll_ctl(d->rxq_epfd[q], EPOLL_CTL_ADD, d->kick_efd[p], &ev) < 0)
		return -errno;
	d->kick_in[p] = q;
	return 0;
}

int
vun_rx_intr_setup(struct rte_eth_dev *dev)
{
	struct vun_dev *d = dev->data->dev_private;
	uint16_t nrx = dev->data->nb_rx_queues;
	int efds[VUN_MAX_QUEUE_PAIRS];
	int ret;

	if (!dev->data->dev_conf.intr_conf.rxq || d->ol != NULL)
		vu_pmd_rxq_intr_free(dev);	/* from an earlier start */
	if (!dev->data->dev_conf.intr_conf.rxq) {
		/* an enable of an earlier configuration asks no more (in
		 * offload mode the rings are the engine's to write) */
		for (uint16_t p = 0; d->ol == NULL && p < d->max_pairs; p++)
			txq_arm(&d->vq[2 * p + 1], DISARM);
		return 0;
	}
	if (d->ol != NULL) {
		VUN_LOG(WARNING,
			"%s: no receive interrupts in offload mode: the engine "
			"runs the data queues",
			d->path);
		return 0;
	}
	for (uint16_t q = 0; d->rx_sets != 0 && q < nrx; q++) {
		if (d->rxq_epfd[q] >= 0)
			continue;
		d->rxq_epfd[q] = epoll_create1(EPOLL_CLOEXEC);
		if (d->rxq_epfd[q] < 0)
			return -errno;
	}
	/* with sets, pair p into the epoll fd of the queue that polls it
	 * (rx_sets_build()); without, in none */
	for (uint16_t p = 0; p < d->max_pairs; p++) {
		ret = kick_move(d, p,
				d->rx_sets != 0 ? p % d->rx_sets : NO_QUEUE);
		if (ret < 0)
			return ret;
	}
	/* rx queue q's fd: its pair's eventfd, or the epoll fd of its set */
	for (uint16_t q = 0; q < nrx; q++)
		efds[q] = d->rx_sets != 0 ? d->rxq_epfd[q] : d->kick_efd[q];
	return vu_pmd_rxq_intr_set(dev, efds, 0);
}
