/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>

#include "rte_vfio_user.h"
#include "vu_fdman.h"
#include "vu_log.h"

#define FDMAN_MAX_FDS 1024
#define FDMAN_BATCH 32
#define WAKE_SLOT UINT32_MAX

struct fdman_entry {
	int fd;			/* -1: free slot */
	uint32_t gen;		/* bumped on every reuse: stale events miss */
	bool busy;		/* callback running */
	vu_fd_cb cb;
	void *arg;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t idle;	/* a callback finished */
	int epfd;
	int wake_fd;		/* tells the thread to look at 'quit' */
	bool running;
	bool quit;
	bool dead;		/* the thread left on an epoll error */
	pid_t pid;		/* of the process that started the thread */
	pthread_t tid;
	uint32_t poll_us;	/* busy-poll this long after an event */
	unsigned int used;
	struct fdman_entry ent[FDMAN_MAX_FDS];
} fdm = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.epfd = -1,
	.wake_fd = -1,
	.poll_us = RTE_VFIO_USER_EVENT_POLL_US_DEFAULT,
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
vu_fdman_set_poll_us(uint32_t us)
{
	__atomic_store_n(&fdm.poll_us, us, __ATOMIC_RELAXED);
}

uint32_t
vu_fdman_get_poll_us(void)
{
	return __atomic_load_n(&fdm.poll_us, __ATOMIC_RELAXED);
}

int
rte_vfio_user_set_event_poll(uint32_t usec)
{
	if (usec > 1000000)
		return -EINVAL;
	vu_fdman_set_poll_us(usec);
	return 0;
}

uint32_t
rte_vfio_user_get_event_poll(void)
{
	return vu_fdman_get_poll_us();
}

static inline uint64_t
ev_key(uint32_t slot, uint32_t gen)
{
	return ((uint64_t)gen << 32) | slot;
}

bool
vu_fdman_is_event_thread(void)
{
	return fdm.running && pthread_equal(pthread_self(), fdm.tid);
}

bool
vu_fdman_serving(void)
{
	bool ret;

	pthread_mutex_lock(&fdm.lock);
	ret = fdm.running && !fdm.dead && fdm.pid == getpid();
	pthread_mutex_unlock(&fdm.lock);
	return ret;
}

static void
dispatch(uint64_t key, uint32_t events)
{
	uint32_t slot = (uint32_t)key, gen = key >> 32;
	struct fdman_entry *e;
	vu_fd_cb cb;
	void *arg;
	int fd;

	pthread_mutex_lock(&fdm.lock);
	e = &fdm.ent[slot];
	if (e->fd < 0 || e->gen != gen) {
		/* removed (and maybe reused) after epoll_wait returned */
		pthread_mutex_unlock(&fdm.lock);
		return;
	}
	e->busy = true;
	cb = e->cb;
	arg = e->arg;
	fd = e->fd;
	pthread_mutex_unlock(&fdm.lock);

	cb(fd, arg, events);

	pthread_mutex_lock(&fdm.lock);
	e->busy = false;
	pthread_cond_broadcast(&fdm.idle);
	pthread_mutex_unlock(&fdm.lock);
}

/*
 * After handling events the loop polls (epoll_wait without sleeping,
 * yielding the CPU between polls) for poll_us before it sleeps: a peer
 * that answers a reply with its next request within that time (a client
 * mapping memory page after page, a driver setting up its queues) finds
 * the thread awake, and neither side pays for waking it up. Waking a
 * sleeping thread on another CPU is most of a request's cost (an
 * inter-processor interrupt, and in a virtual machine an idle virtual CPU
 * that the host must schedule again). Yielding keeps a peer on the same
 * CPU running.
 */
static void *
fdman_loop(void *unused)
{
	struct epoll_event evs[FDMAN_BATCH];
	uint64_t poll_until = 0;
	int n, i;

	(void)unused;
	for (;;) {
		n = epoll_wait(fdm.epfd, evs, FDMAN_BATCH,
			       poll_until != 0 ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			VU_LOG(ERR, "epoll_wait: %s: the event thread stops",
			       strerror(errno));
			pthread_mutex_lock(&fdm.lock);
			fdm.dead = true;
			pthread_mutex_unlock(&fdm.lock);
			break;
		}
		if (n == 0) {
			if (poll_until != 0 && mono_ns() < poll_until)
				sched_yield();
			else
				poll_until = 0;
			continue;
		}
		for (i = 0; i < n; i++) {
			if ((uint32_t)evs[i].data.u64 == WAKE_SLOT) {
				uint64_t v;

				if (read(fdm.wake_fd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					VU_LOG(ERR, "wake read: %s", strerror(errno));
				continue;
			}
			dispatch(evs[i].data.u64, evs[i].events);
		}
		if (vu_fdman_get_poll_us() != 0)
			poll_until = mono_ns() +
				     (uint64_t)vu_fdman_get_poll_us() * 1000;
		pthread_mutex_lock(&fdm.lock);
		if (fdm.quit) {
			pthread_mutex_unlock(&fdm.lock);
			break;
		}
		pthread_mutex_unlock(&fdm.lock);
	}
	return NULL;
}

/* With fdm.lock held. */
static int
fdman_start_locked(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ret;

	if (fdm.running)
		return 0;
	fdm.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (fdm.epfd < 0)
		return -errno;
	fdm.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fdm.wake_fd < 0) {
		ret = -errno;
		goto err_ep;
	}
	ev.data.u64 = WAKE_SLOT;
	if (epoll_ctl(fdm.epfd, EPOLL_CTL_ADD, fdm.wake_fd, &ev) < 0) {
		ret = -errno;
		goto err_wake;
	}
	for (unsigned int i = 0; i < FDMAN_MAX_FDS; i++)
		fdm.ent[i].fd = -1;
	fdm.quit = false;
	ret = pthread_create(&fdm.tid, NULL, fdman_loop, NULL);
	if (ret != 0) {
		ret = -ret;
		goto err_wake;
	}
	pthread_setname_np(fdm.tid, "vfio-user-evt");
	fdm.running = true;
	fdm.dead = false;
	fdm.pid = getpid();
	return 0;

err_wake:
	close(fdm.wake_fd);
	fdm.wake_fd = -1;
err_ep:
	close(fdm.epfd);
	fdm.epfd = -1;
	return ret;
}

int
vu_fdman_add(int fd, vu_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct fdman_entry *e = NULL;
	uint32_t i;
	int ret;

	if (fd < 0 || cb == NULL)
		return -EINVAL;
	pthread_mutex_lock(&fdm.lock);
	ret = fdman_start_locked();
	if (ret < 0)
		goto out;
	for (i = 0; i < FDMAN_MAX_FDS; i++) {
		if (fdm.ent[i].fd == fd) {
			ret = -EEXIST;
			goto out;
		}
		if (e == NULL && fdm.ent[i].fd < 0 && !fdm.ent[i].busy)
			e = &fdm.ent[i];
	}
	if (e == NULL) {
		ret = -ENOSPC;
		goto out;
	}
	e->gen++;
	ev.data.u64 = ev_key(e - fdm.ent, e->gen);
	if (epoll_ctl(fdm.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		goto out;
	}
	e->fd = fd;
	e->cb = cb;
	e->arg = arg;
	fdm.used++;
out:
	pthread_mutex_unlock(&fdm.lock);
	return ret;
}

int
vu_fdman_set_events(int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	int ret = -ENOENT;

	pthread_mutex_lock(&fdm.lock);
	for (uint32_t i = 0; fdm.running && i < FDMAN_MAX_FDS; i++) {
		if (fdm.ent[i].fd != fd)
			continue;
		ev.data.u64 = ev_key(i, fdm.ent[i].gen);
		ret = epoll_ctl(fdm.epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
		break;
	}
	pthread_mutex_unlock(&fdm.lock);
	return ret;
}

int
vu_fdman_del(int fd)
{
	bool self = vu_fdman_is_event_thread();
	struct fdman_entry *e = NULL;
	uint32_t i;

	pthread_mutex_lock(&fdm.lock);
	for (i = 0; fdm.running && i < FDMAN_MAX_FDS; i++) {
		if (fdm.ent[i].fd == fd) {
			e = &fdm.ent[i];
			break;
		}
	}
	if (e == NULL) {
		pthread_mutex_unlock(&fdm.lock);
		return -ENOENT;
	}
	epoll_ctl(fdm.epfd, EPOLL_CTL_DEL, fd, NULL);
	e->fd = -1;
	e->gen++;
	fdm.used--;
	/* The callback may still be running with the old fd: wait for it. */
	while (e->busy && !self)
		pthread_cond_wait(&fdm.idle, &fdm.lock);
	pthread_mutex_unlock(&fdm.lock);
	return 0;
}

void
vu_fdman_shutdown(void)
{
	uint64_t one = 1;
	pthread_t tid;

	pthread_mutex_lock(&fdm.lock);
	if (!fdm.running || fdm.used > 0 || vu_fdman_is_event_thread()) {
		pthread_mutex_unlock(&fdm.lock);
		return;
	}
	fdm.quit = true;
	tid = fdm.tid;
	if (write(fdm.wake_fd, &one, sizeof(one)) < 0)
		VU_LOG(ERR, "wake write: %s", strerror(errno));
	pthread_mutex_unlock(&fdm.lock);

	pthread_join(tid, NULL);

	pthread_mutex_lock(&fdm.lock);
	close(fdm.wake_fd);
	close(fdm.epfd);
	fdm.wake_fd = -1;
	fdm.epfd = -1;
	fdm.running = false;
	pthread_mutex_unlock(&fdm.lock);
}
