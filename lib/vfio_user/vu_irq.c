/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Interrupts: DEVICE_SET_IRQS and the per-vector state (trigger eventfd,
 * mask, pending latch, mask/unmask notification eventfds).
 *
 * The data path raises interrupts without locks: it reads a vector's
 * eventfd and mask with atomic loads. The event thread replaces an eventfd
 * by storing the new one, waiting for a QSBR grace period, and only then
 * closing the old one, so a trigger never writes to a closed (or reused)
 * fd number.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_rcu_qsbr.h>

#include "vu_internal.h"

static void
efd_signal(int fd)
{
	eventfd_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		VU_LOG(DEBUG, "eventfd %d write: %s", fd, strerror(errno));
}

int
vu_irq_dev_start(struct vu_dev *dev)
{
	vu_irq_dev_fini(dev);
	for (uint32_t i = 0; i < dev->info.num_irqs; i++) {
		uint32_t n = dev->irqs[i].count;

		if (n == 0)
			continue;
		dev->irq_vec[i] = calloc(n, sizeof(struct vu_irq_vec));
		if (dev->irq_vec[i] == NULL) {
			vu_irq_dev_fini(dev);
			return -ENOMEM;
		}
		for (uint32_t v = 0; v < n; v++) {
			dev->irq_vec[i][v].efd = -1;
			dev->irq_vec[i][v].mask_efd = -1;
			dev->irq_vec[i][v].unmask_efd = -1;
		}
	}
	return 0;
}

void
vu_irq_dev_fini(struct vu_dev *dev)
{
	vu_irq_client_gone(dev);
	for (uint32_t i = 0; i < RTE_VFIO_USER_MAX_IRQ_TYPES; i++) {
		free(dev->irq_vec[i]);
		dev->irq_vec[i] = NULL;
	}
}

/* Deliver if possible, else latch. Returns 1 if an eventfd was written. */
static int
vec_fire(struct vu_irq_vec *v, bool automask)
{
	int fd = __atomic_load_n(&v->efd, __ATOMIC_ACQUIRE);

	if (__atomic_load_n(&v->masked, __ATOMIC_ACQUIRE) || fd < 0) {
		__atomic_store_n(&v->pending, 1, __ATOMIC_RELEASE);
		return 0;
	}
	if (automask)
		__atomic_store_n(&v->masked, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&v->pending, 0, __ATOMIC_RELAXED);
	efd_signal(fd);
	return 1;
}

static struct vu_irq_vec *
vec_get(int dev_id, uint32_t index, uint32_t vector, struct vu_dev **devp)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	*devp = dev;
	if (dev == NULL || index >= dev->info.num_irqs ||
	    vector >= dev->irqs[index].count || dev->irq_vec[index] == NULL)
		return NULL;
	return &dev->irq_vec[index][vector];
}

int
rte_vfio_user_irq_trigger(int dev_id, uint32_t index, uint32_t vector)
{
	struct vu_dev *dev;
	struct vu_irq_vec *v = vec_get(dev_id, index, vector, &dev);

	if (v == NULL)
		return dev == NULL ? -ENODEV : -EINVAL;
	return vec_fire(v, dev->irqs[index].flags & RTE_VFIO_USER_IRQ_F_AUTOMASKED);
}

int
rte_vfio_user_irq_clear(int dev_id, uint32_t index, uint32_t vector)
{
	struct vu_dev *dev;
	struct vu_irq_vec *v = vec_get(dev_id, index, vector, &dev);

	if (v == NULL)
		return dev == NULL ? -ENODEV : -EINVAL;
	__atomic_store_n(&v->pending, 0, __ATOMIC_RELEASE);
	return 0;
}

int
rte_vfio_user_get_irq(int dev_id, uint32_t index, uint32_t vector)
{
	struct vu_dev *dev;
	struct vu_irq_vec *v = vec_get(dev_id, index, vector, &dev);

	if (v == NULL)
		return dev == NULL ? -ENODEV : -EINVAL;
	return __atomic_load_n(&v->efd, __ATOMIC_ACQUIRE);
}

int
rte_vfio_user_irq_enabled(int dev_id, uint32_t index)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	int n = 0;

	if (dev == NULL)
		return -ENODEV;
	if (index >= dev->info.num_irqs)
		return -EINVAL;
	for (uint32_t v = 0; dev->irq_vec[index] != NULL &&
	     v < dev->irqs[index].count; v++)
		if (__atomic_load_n(&dev->irq_vec[index][v].efd,
				    __ATOMIC_ACQUIRE) >= 0)
			n++;
	return n;
}

/* Store new fds (or -1) in slots; the old ones are closed after a QSBR
 * grace period, when no data-path trigger can still be using them. */
static void
fds_replace(struct vu_dev *dev, int **slots, const int *fds, uint32_t n)
{
	int *old = malloc(n * sizeof(int));
	uint32_t i, nold = 0;

	for (i = 0; i < n; i++) {
		int prev = __atomic_exchange_n(slots[i], fds ? fds[i] : -1,
					       __ATOMIC_ACQ_REL);

		if (prev < 0)
			continue;
		if (old != NULL) {
			old[nold++] = prev;
		} else {	/* out of memory: one grace period per fd */
			rte_rcu_qsbr_synchronize(dev->dma.qsbr,
						 RTE_QSBR_THRID_INVALID);
			close(prev);
		}
	}
	if (nold > 0) {
		rte_rcu_qsbr_synchronize(dev->dma.qsbr, RTE_QSBR_THRID_INVALID);
		for (i = 0; i < nold; i++)
			close(old[i]);
	}
	free(old);
}

/* Disable all of an index: no eventfds, unmasked, nothing pending. */
static void
irq_disable(struct vu_dev *dev, uint32_t index)
{
	struct vu_irq_vec *vec = dev->irq_vec[index];
	uint32_t n = dev->irqs[index].count;
	int **slots;

	if (vec == NULL)
		return;
	slots = malloc(3 * n * sizeof(*slots));
	if (slots == NULL)
		return;
	for (uint32_t v = 0; v < n; v++) {
		slots[v] = &vec[v].efd;
		slots[n + v] = &vec[v].mask_efd;
		slots[2 * n + v] = &vec[v].unmask_efd;
		__atomic_store_n(&vec[v].masked, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&vec[v].pending, 0, __ATOMIC_RELEASE);
	}
	fds_replace(dev, slots, NULL, 3 * n);
	free(slots);
}

void
vu_irq_client_gone(struct vu_dev *dev)
{
	for (uint32_t i = 0; i < dev->info.num_irqs; i++)
		irq_disable(dev, i);
}

int
vu_handle_set_irqs(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_irq_set *req = (const void *)m->payload;
	struct vu_dev *dev = c->dev;
	uint32_t data_type = req->flags & VFIO_USER_IRQ_SET_DATA_TYPE_MASK;
	uint32_t action = req->flags & VFIO_USER_IRQ_SET_ACTION_TYPE_MASK;
	const struct rte_vfio_user_irq_info *info;
	struct vu_irq_vec *vec;
	bool automask;
	uint32_t v, end;

	RTE_SET_USED(r);
	if (req->flags & ~(VFIO_USER_IRQ_SET_DATA_TYPE_MASK |
			   VFIO_USER_IRQ_SET_ACTION_TYPE_MASK) ||
	    __builtin_popcount(data_type) != 1 ||
	    __builtin_popcount(action) != 1) {
		VU_LOG(ERR, "%s: SET_IRQS flags 0x%x", dev->path, req->flags);
		return -EINVAL;
	}
	if (req->index >= dev->info.num_irqs) {
		VU_LOG(ERR, "%s: SET_IRQS index %u of %u", dev->path,
		       req->index, dev->info.num_irqs);
		return -EINVAL;
	}
	info = &dev->irqs[req->index];
	vec = dev->irq_vec[req->index];
	automask = info->flags & RTE_VFIO_USER_IRQ_F_AUTOMASKED;
	if (req->argsz < sizeof(*req) || req->start > info->count ||
	    req->count > info->count - req->start) {
		VU_LOG(ERR, "%s: SET_IRQS [%u, +%u) of %u vectors", dev->path,
		       req->start, req->count, info->count);
		return -EINVAL;
	}
	/* payload: bool data only with DATA_BOOL, fds only with DATA_EVENTFD */
	if (data_type == VFIO_USER_IRQ_SET_DATA_BOOL) {
		if (m->size != sizeof(*req) + req->count || req->count == 0)
			return -EINVAL;
	} else if (m->size != sizeof(*req)) {
		return -EINVAL;
	}
	if (data_type != VFIO_USER_IRQ_SET_DATA_EVENTFD && m->nfds != 0)
		return -EINVAL;

	/* count 0 with DATA_NONE + TRIGGER: disable the whole index */
	if (req->count == 0) {
		if (data_type != VFIO_USER_IRQ_SET_DATA_NONE ||
		    action != VFIO_USER_IRQ_SET_ACTION_TRIGGER || req->start != 0)
			return -EINVAL;
		irq_disable(dev, req->index);
		goto changed;
	}
	if (vec == NULL)
		return -EINVAL;
	end = req->start + req->count;

	if ((action == VFIO_USER_IRQ_SET_ACTION_MASK ||
	     action == VFIO_USER_IRQ_SET_ACTION_UNMASK) &&
	    !(info->flags & RTE_VFIO_USER_IRQ_F_MASKABLE)) {
		VU_LOG(ERR, "%s: IRQ index %u is not maskable", dev->path,
		       req->index);
		return -EINVAL;
	}

	if (data_type == VFIO_USER_IRQ_SET_DATA_EVENTFD) {
		int *slots[VU_MAX_MSG_FDS];

		if (m->nfds != 0 && m->nfds != req->count) {
			VU_LOG(ERR, "%s: SET_IRQS %u fds for %u vectors",
			       dev->path, m->nfds, req->count);
			return -EINVAL;
		}
		if (req->count > VU_MAX_MSG_FDS)
			return -EINVAL;
		if (action == VFIO_USER_IRQ_SET_ACTION_TRIGGER &&
		    (info->flags & RTE_VFIO_USER_IRQ_F_NORESIZE) && m->nfds > 0) {
			/* a NORESIZE set is enabled as a whole: a vector
			 * outside it cannot be added while others are on */
			for (v = 0; v < info->count; v++)
				if ((v < req->start || v >= end) && vec[v].efd >= 0) {
					VU_LOG(ERR, "%s: IRQ index %u is NORESIZE: "
					       "disable it before resizing",
					       dev->path, req->index);
					return -EINVAL;
				}
		}
		for (v = req->start; v < end; v++) {
			struct vu_irq_vec *x = &vec[v];

			slots[v - req->start] =
				action == VFIO_USER_IRQ_SET_ACTION_TRIGGER ? &x->efd :
				action == VFIO_USER_IRQ_SET_ACTION_MASK ?
				&x->mask_efd : &x->unmask_efd;
		}
		fds_replace(dev, slots, m->nfds ? m->fds : NULL, req->count);
		if (m->nfds)	/* the vectors own them now */
			for (v = 0; v < m->nfds; v++)
				m->fds[v] = -1;
		/* an interrupt latched while there was no eventfd goes out */
		if (action == VFIO_USER_IRQ_SET_ACTION_TRIGGER)
			for (v = req->start; v < end; v++)
				if (__atomic_load_n(&vec[v].pending, __ATOMIC_ACQUIRE))
					vec_fire(&vec[v], automask);
		goto changed;
	}

	for (v = req->start; v < end; v++) {
		struct vu_irq_vec *x = &vec[v];

		if (data_type == VFIO_USER_IRQ_SET_DATA_BOOL &&
		    !req->data[v - req->start])
			continue;
		switch (action) {
		case VFIO_USER_IRQ_SET_ACTION_MASK:
			__atomic_store_n(&x->masked, 1, __ATOMIC_RELEASE);
			efd_signal(x->mask_efd);
			break;
		case VFIO_USER_IRQ_SET_ACTION_UNMASK:
			__atomic_store_n(&x->masked, 0, __ATOMIC_RELEASE);
			efd_signal(x->unmask_efd);
			if (__atomic_load_n(&x->pending, __ATOMIC_ACQUIRE))
				vec_fire(x, automask);
			break;
		default:	/* TRIGGER: the client raises it */
			vec_fire(x, automask);
			break;
		}
	}
changed:
	if (dev->ops.update_status != NULL)
		dev->ops.update_status(dev->id, RTE_VFIO_USER_IRQ_CHANGED);
	return 0;
}
