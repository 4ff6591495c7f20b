/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * A client the device cannot take (it has one already) is told so, not
 * just dropped. Closing its socket with its first message unread would
 * reset the connection (the kernel's answer to unread data), which QEMU
 * 10.2 aborts on, and the client would not learn why. So its first
 * command gets an error reply (EBUSY), and whatever it sends is read and
 * dropped until it closes, for at most VU_REFUSE_MS. The refusal keeps
 * nothing of the device (which may go meanwhile) but its path, for the log.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vu_fdman.h"
#include "vu_internal.h"
#include "vu_log.h"

#define VU_REFUSE_MS 2000
#define VU_REFUSALS_MAX 16	/* pending at once; more are just closed */

struct vu_refusal {
	LIST_ENTRY(vu_refusal) link;	/* refusals, under refusals_lock */
	bool listed;
	int fd;
	int timer_fd;
	int err;
	bool answered;
	uint32_t have;		/* bytes of the first header */
	struct vfio_user_header h;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* The pending refusals: the last unregister ends them (their fds would
 * keep the event thread). */
static pthread_mutex_t refusals_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, vu_refusal) refusals = LIST_HEAD_INITIALIZER(refusals);
static uint32_t nb_refusals;

/* Take r off the list; false if someone else did (it is theirs). */
static bool
refusal_unlist(struct vu_refusal *r)
{
	bool was;

	pthread_mutex_lock(&refusals_lock);
	was = r->listed;
	if (was) {
		LIST_REMOVE(r, link);
		r->listed = false;
		nb_refusals--;
	}
	pthread_mutex_unlock(&refusals_lock);
	return was;
}

/* Unlisted r: its fds unwatched (waiting for a running callback when not
 * on the event thread), closed, r freed. */
static void
refusal_free(struct vu_refusal *r)
{
	vu_fdman_del(r->fd);
	vu_fdman_del(r->timer_fd);
	close(r->fd);
	close(r->timer_fd);
	free(r);
}

/* Event thread: the refusal is over. */
static void
refusal_end(struct vu_refusal *r)
{
	if (refusal_unlist(r))
		refusal_free(r);
}

void
vu_refuse_flush(void)
{
	struct vu_refusal *r;

	for (;;) {
		pthread_mutex_lock(&refusals_lock);
		r = LIST_FIRST(&refusals);
		pthread_mutex_unlock(&refusals_lock);
		if (r == NULL || !refusal_unlist(r))
			break;
		refusal_free(r);
	}
}

/* The first header is in: an error reply to it, if it is a command. */
static void
refusal_answer(struct vu_refusal *r)
{
	struct vfio_user_header rh = {
		.msg_id = r->h.msg_id,
		.cmd = r->h.cmd,
		.msg_size = sizeof(rh),
		.flags = VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR,
		.error_no = (uint32_t)r->err,
	};

	r->answered = true;
	if ((r->h.flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_COMMAND)
		return;
	if (send(r->fd, &rh, sizeof(rh), MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)sizeof(rh))
		VU_LOG(DEBUG, "%s: refused client: no room for the reply",
		       r->path);
}

static void
refusal_event(int fd, void *arg, uint32_t events)
{
	struct vu_refusal *r = arg;
	uint8_t buf[4096];
	ssize_t n;

	RTE_SET_USED(fd);
	RTE_SET_USED(events);
	/* a bounded amount per event (the thread serves every device); the
	 * rest wakes us again (level-triggered) */
	for (int round = 0; round < 16; round++) {
		/* no control buffer: fds sent with the data are closed by
		 * the kernel */
		n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			refusal_end(r);	/* the client went: done */
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (!r->answered) {
			uint32_t take = RTE_MIN((uint32_t)n,
						(uint32_t)sizeof(r->h) -
							r->have);

			memcpy((uint8_t *)&r->h + r->have, buf, take);
			r->have += take;
			if (r->have == sizeof(r->h))
				refusal_answer(r);
		}
	}
}

static void
refusal_timeout(int fd, void *arg, uint32_t events)
{
	struct vu_refusal *r = arg;

	RTE_SET_USED(fd);
	RTE_SET_USED(events);
	VU_LOG(DEBUG, "%s: refused client still there after %d ms: closed",
	       r->path, VU_REFUSE_MS);
	refusal_end(r);
}

void
vu_refuse(int fd, const char *path, int err)
{
	struct itimerspec its = {
		.it_value = {
			.tv_sec = VU_REFUSE_MS / 1000,
			.tv_nsec = (VU_REFUSE_MS % 1000) * 1000000L,
		},
	};
	struct vu_refusal *r = calloc(1, sizeof(*r));

	if (r == NULL)
		goto just_close;
	r->fd = fd;
	r->err = err;
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->timer_fd < 0 || timerfd_settime(r->timer_fd, 0, &its, NULL) < 0)
		goto fail;
	/* listed before its fds are watched: their callbacks find it so */
	pthread_mutex_lock(&refusals_lock);
	if (nb_refusals >= VU_REFUSALS_MAX) {
		pthread_mutex_unlock(&refusals_lock);
		goto fail;
	}
	LIST_INSERT_HEAD(&refusals, r, link);
	r->listed = true;
	nb_refusals++;
	pthread_mutex_unlock(&refusals_lock);
	if (vu_fdman_add(r->timer_fd, refusal_timeout, r) == 0 &&
	    vu_fdman_add(fd, refusal_event, r) == 0)
		return;
	if (!refusal_unlist(r))
		return;	/* the last unregister's flush took it: it closes */
	vu_fdman_del(r->timer_fd);	/* whichever was watched */
	vu_fdman_del(fd);
fail:
	if (r->timer_fd >= 0)
		close(r->timer_fd);
	free(r);
just_close:
	close(fd);
}
