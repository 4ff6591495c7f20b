/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Doorbells through the device's ioeventfds (DEVICE_GET_REGION_IO_FDS):
 * an eventfd the device gave for a queue's notify register is written
 * instead of sending the device a REGION_WRITE message. The device's
 * event thread then neither reads nor dispatches a message for it, and an
 * application the device's port wakes on its receive interrupt (the very
 * eventfd: net_vfio_user's rx interrupts) wakes one hop sooner.
 *
 * The fds belong to one connection: taken at its setup (or a move's),
 * closed once no burst can write them any more (vuc_device_down(), a
 * move's switch: after the QSBR grace period).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>

#include "vfio_user_proto.h"
#include "vuc.h"

/* KVM_IOEVENTFD_FLAG_PIO and _VIRTIO_CCW_NOTIFY: not a memory BAR's */
#define NOT_MEMORY ((1u << 1) | (1u << 3))

/*
 * Whether fd is an eventfd: a burst writes it, and a device could have
 * given anything (a pipe that nobody reads fills and then blocks the
 * lcore). A write to an eventfd blocks only at a counter of 2^64 - 2,
 * which no device reaches by accident (see "Limitations" in the guide);
 * its flags are left as the device made them (they are its open file's).
 */
static bool
is_eventfd(int fd)
{
	char path[32], what[32];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, what, sizeof(what) - 1);
	if (n < 0)
		return false;
	what[n] = '\0';
	return strcmp(what, "anon_inode:[eventfd]") == 0;
}

void
vuc_bells_close(struct vuc_bells *b)
{
	for (uint32_t i = 0; i < b->n; i++)
		close(b->io[i].fd);
	b->n = 0;
}

int
vuc_bells_get(struct vuc_dev *d, struct rte_vfio_user_client *c,
	      struct vuc_bells *b)
{
	uint32_t count = 0, keep = 0;
	int ret;

	b->n = 0;
	ret = rte_vfio_user_client_region_io_fds(c, d->notify_bar, b->io,
						 RTE_DIM(b->io), &count);
	if (ret < 0 || count > RTE_DIM(b->io)) {
		/* (more than we take: none were returned) */
		VUC_LOG(DEBUG, "%s: no ioeventfds for doorbells (%s)", d->path,
			ret < 0 ? strerror(-ret) : "too many");
		return ret < 0 ? ret : -E2BIG;
	}
	/* keep the ones a 2-byte store of the queue index may use */
	for (uint32_t i = 0; i < count; i++) {
		const struct rte_vfio_user_client_io_fd *f = &b->io[i];

		if (f->type == VFIO_USER_IO_FD_TYPE_IOEVENTFD &&
		    !(f->flags & NOT_MEMORY) &&
		    (f->size == 0 || f->size == 2) && is_eventfd(f->fd))
			b->io[keep++] = *f;
		else
			close(f->fd);
	}
	b->n = keep;
	return 0;
}

int
vuc_bells_fd(const struct vuc_bells *b, uint64_t off, uint16_t value)
{
	for (uint32_t i = 0; i < b->n; i++) {
		const struct rte_vfio_user_client_io_fd *f = &b->io[i];

		if (f->offset == off &&
		    (!(f->flags & VFIO_USER_IOEVENTFD_F_DATAMATCH) ||
		     f->datamatch == value))
			return f->fd;
	}
	return -1;
}
