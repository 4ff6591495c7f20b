/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_FDMAN_H
#define VU_FDMAN_H

/*
 * The library's one event thread: an epoll loop over every socket of every
 * device (cf. DPDK vhost fd_man.c). Any thread may add or remove fds; a
 * removal waits until the fd's callback is no longer running, so the caller
 * may free what the callback uses as soon as vu_fdman_del() returns.
 */

#include <stdbool.h>
#include <stdint.h>

/* Called on the event thread with the epoll events of fd. */
typedef void (*vu_fd_cb)(int fd, void *arg, uint32_t events);

/* Watch fd for EPOLLIN (starts the thread on first use). 0 or -errno. */
int vu_fdman_add(int fd, vu_fd_cb cb, void *arg);

/* Watch fd for these epoll events instead (EPOLLIN, EPOLLOUT; error and
 * hang-up are always reported). 0 or -errno. */
int vu_fdman_set_events(int fd, uint32_t events);

/* Stop watching fd. Waits for a running callback of fd unless called from
 * the event thread itself. 0 or -ENOENT. */
int vu_fdman_del(int fd);

/* True on the event thread. */
bool vu_fdman_is_event_thread(void);

/* Whether the event thread serves the fds: started, not gone on an
 * epoll error, and in this process (not a fork's child). */
bool vu_fdman_serving(void);

/* How long the thread polls for more events after handling some before
 * it sleeps (microseconds; 0: it sleeps at once); client calls poll for
 * their replies as long (rte_vfio_user_set_event_poll()). */
void vu_fdman_set_poll_us(uint32_t us);
uint32_t vu_fdman_get_poll_us(void);

/* Stop the thread once no fd is watched (library unload, last unregister). */
void vu_fdman_shutdown(void);

#endif /* VU_FDMAN_H */
