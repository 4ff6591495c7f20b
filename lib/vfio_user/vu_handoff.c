/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * What a device model needs to hand its device's work to another process
 * (an offload engine): the files behind client memory, and a place on the
 * event thread for its own fds (see rte_vfio_user.h).
 */

#include <errno.h>
#include <pthread.h>

#include "vu_fdman.h"
#include "vu_internal.h"

int
rte_vfio_user_mem_keep_fds(int dev_id, bool keep)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	if (dev == NULL)
		return -ENODEV;
	pthread_mutex_lock(&dev->dma.lock);
	dev->dma.maps.keep_fds = keep;
	pthread_mutex_unlock(&dev->dma.lock);
	return 0;
}

int
rte_vfio_user_mem_fd(int dev_id, const struct rte_vfio_user_mem_segment *s,
		     uint64_t *offset)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	const struct vu_map *m;

	if (dev == NULL)
		return -ENODEV;
	if (s == NULL || s->map == NULL || s->vaddr == NULL)
		return -ENOENT;
	m = (const struct vu_map *)s->map;	/* pub is its first member */
	if (m->fd < 0)
		return -ENOENT;
	*offset = m->off + (uint64_t)(s->vaddr - m->pub.base);
	return m->fd;
}

int
rte_vfio_user_watch_fd(int fd, rte_vfio_user_fd_cb_t cb, void *arg)
{
	if (fd < 0 || cb == NULL)
		return -EINVAL;
	return vu_fdman_add(fd, cb, arg);
}

int
rte_vfio_user_unwatch_fd(int fd)
{
	return vu_fdman_del(fd);
}
