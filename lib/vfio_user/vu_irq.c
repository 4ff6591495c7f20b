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
 * fd number. A trigger that finds the vector masked latches it as pending
 * without losing it to a concurrent unmask (see vec_fire()).
 */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_rcu_qsbr.h>

#include "rte_vfio_user_qsbr.h"
#include "vu_internal.h"

/*
 * Signal an eventfd. Every fd stored in a vector went through
 * efd_accept(): it is an eventfd in non-blocking mode, so this never
 * blocks and never raises SIGPIPE. EAGAIN means the counter is at its
 * maximum: the reader has an interrupt pending already.
 */
static void
efd_signal(int fd)
{
	eventfd_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		VU_LOG(DEBUG, "eventfd %d write: %s", fd, strerror(errno));
}

/*
 * Take an fd from SET_IRQS: it must be an eventfd (a pipe, socket or file
 * could block the writer or kill the process with SIGPIPE), and it is made
 * non-blocking (the client may have created it blocking, with its counter
 * near the maximum). 0 or -EINVAL.
 */
static int
efd_accept(int fd)
{
	char link[64], target[32];
	struct stat st;
	ssize_t n;
	int fl;

	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != 0)
		return -EINVAL;	/* anonymous inodes have no file type */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n >= 0) {
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventfd]") != 0)
			return -EINVAL;
	} else if (errno != ENOENT) {
		return -EINVAL;
	}	/* no /proc: the file type check above has to do */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) &&
		       fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return -EINVAL;
	return 0;
}

/*
 * The vectors of one IRQ type as allocated by vu_irq_dev_start():
 * dev->irq_vec[i] points at v[]. The allocation keeps its own size, as the
 * description (dev->irqs[i].count) may change while the device is stopped.
 */
struct vec_set {
	uint32_t n;		/* vectors allocated */
	uint32_t enabled;	/* NORESIZE: vectors of the set enabled first,
				 * fixed until the index is disabled; 0: none */
	uint64_t open;		/* NORESIZE: the connection's message count at
				 * an enable that carried all the fds the client
				 * may send in one message: the very next one
				 * may continue it (start == enabled); 0: none */
	struct vu_irq_vec v[];
};

static struct vec_set *
set_of(struct vu_irq_vec *vec)
{
	return vec == NULL ? NULL :
		(struct vec_set *)((char *)vec - offsetof(struct vec_set, v));
}

/* Vectors of an index that exist both in the description and in memory. */
static uint32_t
nvec(const struct vu_dev *dev, uint32_t index)
{
	const struct vec_set *s = set_of(dev->irq_vec[index]);

	if (s == NULL || index >= dev->info.num_irqs)
		return 0;
	return RTE_MIN(s->n, dev->irqs[index].count);
}

int
vu_irq_dev_start(struct vu_dev *dev)
{
	vu_irq_dev_fini(dev);
	for (uint32_t i = 0; i < dev->info.num_irqs; i++) {
		uint32_t n = dev->irqs[i].count;
		struct vec_set *s;

		if (n == 0)
			continue;
		s = calloc(1, sizeof(*s) + n * sizeof(s->v[0]));
		if (s == NULL) {
			vu_irq_dev_fini(dev);
			return -ENOMEM;
		}
		s->n = n;
		for (uint32_t v = 0; v < n; v++) {
			s->v[v].efd = -1;
			s->v[v].mask_efd = -1;
			s->v[v].unmask_efd = -1;
		}
		vu_telemetry_lock();
		dev->irq_vec[i] = s->v;
		vu_telemetry_unlock();
	}
	return 0;
}

void
vu_irq_dev_fini(struct vu_dev *dev)
{
	struct vec_set *old[RTE_VFIO_USER_MAX_IRQ_TYPES];

	vu_irq_client_gone(dev);
	vu_telemetry_lock();	/* telemetry reads the sets under it */
	for (uint32_t i = 0; i < RTE_VFIO_USER_MAX_IRQ_TYPES; i++) {
		old[i] = set_of(dev->irq_vec[i]);
		dev->irq_vec[i] = NULL;
	}
	vu_telemetry_unlock();
	for (uint32_t i = 0; i < RTE_VFIO_USER_MAX_IRQ_TYPES; i++)
		free(old[i]);
}

uint32_t
vu_irq_nvec(const struct vu_dev *dev, uint32_t index)
{
	return index < RTE_VFIO_USER_MAX_IRQ_TYPES ? nvec(dev, index) : 0;
}

/* A vector's state as the data path sees it (atomic loads, no lock). */
void
vu_irq_vec_load(const struct vu_dev *dev, uint32_t index, uint32_t vector,
		struct vu_irq_vec *out)
{
	const struct vu_irq_vec *v = &dev->irq_vec[index][vector];

	out->efd = __atomic_load_n(&v->efd, __ATOMIC_RELAXED);
	out->mask_efd = __atomic_load_n(&v->mask_efd, __ATOMIC_RELAXED);
	out->unmask_efd = __atomic_load_n(&v->unmask_efd, __ATOMIC_RELAXED);
	out->masked = __atomic_load_n(&v->masked, __ATOMIC_RELAXED);
	out->pending = __atomic_load_n(&v->pending, __ATOMIC_RELAXED);
}

/*
 * Raising an interrupt, lock-free against the event thread's mask, unmask
 * and eventfd changes:
 *  - deliver: write the eventfd if the vector has one and is unmasked; an
 *    AUTOMASKED type (INTx) masks itself in the same step (compare and
 *    swap, so one of two concurrent triggers fires and the other latches);
 *  - otherwise latch "pending", then look again: whoever unmasks or assigns
 *    an eventfd stores that first and then takes "pending"; with both sides
 *    storing before they load (sequentially consistent), at least one of
 *    them sees the other, and the exchange on "pending" lets only one of
 *    them deliver. So an interrupt latched while masked is never lost.
 */
static int
vec_deliver(struct vu_irq_vec *v, bool automask)
{
	int fd = __atomic_load_n(&v->efd, __ATOMIC_SEQ_CST);
	uint8_t unmasked = 0;

	if (fd < 0)
		return 0;
	if (automask) {
		if (!__atomic_compare_exchange_n(&v->masked, &unmasked, 1, false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			return 0;
	} else if (__atomic_load_n(&v->masked, __ATOMIC_SEQ_CST)) {
		return 0;
	}
	efd_signal(fd);
	return 1;
}

/* Deliver a latched interrupt if the vector can take it now. */
static int
vec_flush(struct vu_irq_vec *v, bool automask)
{
	for (;;) {
		if (__atomic_load_n(&v->masked, __ATOMIC_SEQ_CST) ||
		    __atomic_load_n(&v->efd, __ATOMIC_SEQ_CST) < 0)
			return 0;	/* the next unmask or eventfd will */
		if (!__atomic_exchange_n(&v->pending, 0, __ATOMIC_SEQ_CST))
			return 0;	/* none, or another thread took it */
		if (vec_deliver(v, automask))
			return 1;
		/* masked (or its eventfd gone) meanwhile: latch it again */
		__atomic_store_n(&v->pending, 1, __ATOMIC_SEQ_CST);
	}
}

/* Deliver if possible, else latch. Returns 1 if an eventfd was written. */
static int
vec_fire(struct vu_irq_vec *v, bool automask)
{
	if (vec_deliver(v, automask))
		return 1;
	__atomic_store_n(&v->pending, 1, __ATOMIC_SEQ_CST);
	return vec_flush(v, automask);
}

static struct vu_irq_vec *
vec_get(int dev_id, uint32_t index, uint32_t vector, struct vu_dev **devp)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	*devp = dev;
	if (dev == NULL || index >= RTE_VFIO_USER_MAX_IRQ_TYPES ||
	    vector >= nvec(dev, index))
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
	__atomic_store_n(&v->pending, 0, __ATOMIC_SEQ_CST);
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
	uint32_t n;
	int on = 0;

	if (dev == NULL)
		return -ENODEV;
	if (index >= dev->info.num_irqs || index >= RTE_VFIO_USER_MAX_IRQ_TYPES)
		return -EINVAL;
	n = nvec(dev, index);
	for (uint32_t v = 0; v < n; v++)
		if (__atomic_load_n(&dev->irq_vec[index][v].efd,
				    __ATOMIC_ACQUIRE) >= 0)
			on++;
	return on;
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
					       __ATOMIC_SEQ_CST);

		if (prev < 0)
			continue;
		if (old != NULL) {
			old[nold++] = prev;
		} else {	/* out of memory: one grace period per fd */
			rte_vfio_user_qsbr_barrier();
			rte_rcu_qsbr_synchronize(dev->dma.qsbr,
						 RTE_QSBR_THRID_INVALID);
			close(prev);
		}
	}
	if (nold > 0) {
		rte_vfio_user_qsbr_barrier();
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
	struct vec_set *s = set_of(vec);
	uint32_t n;
	int **slots;

	if (s == NULL)
		return;
	n = s->n;	/* every fd, whatever the description says now */
	s->enabled = 0;
	s->open = 0;
	slots = malloc(3 * n * sizeof(*slots));
	for (uint32_t v = 0; v < n; v++) {
		__atomic_store_n(&vec[v].masked, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&vec[v].pending, 0, __ATOMIC_SEQ_CST);
		if (slots != NULL) {
			slots[v] = &vec[v].efd;
			slots[n + v] = &vec[v].mask_efd;
			slots[2 * n + v] = &vec[v].unmask_efd;
		} else {	/* out of memory: a vector at a time */
			int *one[3] = { &vec[v].efd, &vec[v].mask_efd,
					&vec[v].unmask_efd };

			fds_replace(dev, one, NULL, 3);
		}
	}
	if (slots != NULL)
		fds_replace(dev, slots, NULL, 3 * n);
	free(slots);
}

void
vu_irq_client_gone(struct vu_dev *dev)
{
	for (uint32_t i = 0; i < RTE_VFIO_USER_MAX_IRQ_TYPES; i++)
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
	struct vec_set *set;
	bool automask;
	uint32_t v, end, n;

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
	set = set_of(vec);
	n = nvec(dev, req->index);
	automask = info->flags & RTE_VFIO_USER_IRQ_F_AUTOMASKED;
	if (req->argsz < sizeof(*req) || req->start > n ||
	    req->count > n - req->start) {
		VU_LOG(ERR, "%s: SET_IRQS [%u, +%u) of %u vectors", dev->path,
		       req->start, req->count, n);
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

	/* start and count 0 with DATA_NONE, whatever the action: disable
	 * the whole index (the spec names no action) */
	if (req->count == 0) {
		if (data_type != VFIO_USER_IRQ_SET_DATA_NONE || req->start != 0)
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
		bool noresize = action == VFIO_USER_IRQ_SET_ACTION_TRIGGER &&
			(info->flags & RTE_VFIO_USER_IRQ_F_NORESIZE);
		int **slots;

		/* fds for every vector, or none to de-assign them */
		if (m->nfds != 0 && m->nfds != req->count) {
			VU_LOG(ERR, "%s: SET_IRQS %u fds for %u vectors",
			       dev->path, m->nfds, req->count);
			return -EINVAL;
		}
		for (v = 0; v < m->nfds; v++) {
			if (efd_accept(m->fds[v]) < 0) {
				VU_LOG(ERR, "%s: SET_IRQS fd %u of %u is not an "
				       "eventfd", dev->path, v + 1, m->nfds);
				return -EINVAL;
			}
		}
		/*
		 * NORESIZE (as VFIO): the set is sized when it is enabled, to
		 * start + count vectors; vectors inside it may be changed one
		 * by one, one outside it needs the index disabled first. But
		 * a client sends at most send_fds fds a message (1 unless our
		 * VERSION reply said more): a set larger than that is enabled
		 * in pieces, each starting where the last, a full one, ended
		 * (as QEMU sends them); such a piece is the same enable.
		 */
		bool more = noresize && m->nfds > 0 && set->enabled != 0 &&
			    set->open != 0 && set->open + 1 == c->nmsgs &&
			    req->start == set->enabled;

		if (noresize && m->nfds > 0 && set->enabled != 0 &&
		    end > set->enabled && !more) {
			VU_LOG(ERR, "%s: IRQ index %u is NORESIZE with %u vectors "
			       "enabled: disable it before resizing", dev->path,
			       req->index, set->enabled);
			return -EINVAL;
		}
		slots = malloc(req->count * sizeof(*slots));
		if (slots == NULL)
			return -ENOMEM;
		for (v = req->start; v < end; v++) {
			struct vu_irq_vec *x = &vec[v];

			slots[v - req->start] =
				action == VFIO_USER_IRQ_SET_ACTION_TRIGGER ? &x->efd :
				action == VFIO_USER_IRQ_SET_ACTION_MASK ?
				&x->mask_efd : &x->unmask_efd;
		}
		fds_replace(dev, slots, m->nfds ? m->fds : NULL, req->count);
		free(slots);
		if (m->nfds)	/* the vectors own them now */
			for (v = 0; v < m->nfds; v++)
				m->fds[v] = -1;
		if (noresize && m->nfds > 0 && (set->enabled == 0 || more)) {
			set->enabled = end;
			set->open = m->nfds >= c->caps.send_fds ? c->nmsgs : 0;
		} else if (noresize) {
			set->open = 0;
		}
		/* an interrupt latched while there was no eventfd goes out */
		if (action == VFIO_USER_IRQ_SET_ACTION_TRIGGER)
			for (v = req->start; v < end; v++)
				vec_flush(&vec[v], automask);
		goto changed;
	}

	for (v = req->start; v < end; v++) {
		struct vu_irq_vec *x = &vec[v];

		if (data_type == VFIO_USER_IRQ_SET_DATA_BOOL &&
		    !req->data[v - req->start])
			continue;
		switch (action) {
		case VFIO_USER_IRQ_SET_ACTION_MASK:
			__atomic_store_n(&x->masked, 1, __ATOMIC_SEQ_CST);
			efd_signal(x->mask_efd);
			break;
		case VFIO_USER_IRQ_SET_ACTION_UNMASK:
			/* store, then take what was latched (see vec_fire) */
			__atomic_store_n(&x->masked, 0, __ATOMIC_SEQ_CST);
			efd_signal(x->unmask_efd);
			/* INTx is a level: unmasked while the function still
			 * asserts it, it interrupts again (as VFIO's does; the
			 * client's EOI may come before the driver serviced
			 * the device) */
			if (automask &&
			    req->index == VFIO_USER_PCI_INTX_IRQ_INDEX &&
			    vu_pci_intx_asserted(dev))
				__atomic_store_n(&x->pending, 1,
						 __ATOMIC_SEQ_CST);
			vec_flush(x, automask);
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
