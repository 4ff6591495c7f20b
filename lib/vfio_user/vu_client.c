/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The client endpoint. Requests are sent by the calling thread. The
 * library's event thread reads the socket, hands each reply to the waiter
 * with the same message id (waiting on a condition variable), and serves
 * the server's DMA_READ / DMA_WRITE requests. But a caller that finds no
 * other thread reading the main socket reads it itself until its reply
 * came ("direct" reading, see direct_wait()): the event thread stops
 * watching the socket for input meanwhile, so a reply wakes only the
 * caller, not the event thread that would then wake the caller. A waiter
 * gives up at its deadline; a reply arriving later finds no waiter and is
 * dropped.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_common.h>
#include <rte_errno.h>

#include "rte_vfio_user_client.h"
#include "vu_fdman.h"
#include "vu_log.h"
#include "vu_transport.h"

#define CLIENT_DEF_TIMEOUT_MS 5000
#define CLIENT_MAX_REGIONS 64
#define CLIENT_MAX_CAPS 16
#define REGION_INFO_MAX_ARGSZ 65536

struct waiter {
	struct waiter *next;
	uint16_t id;
	uint16_t cmd;
	bool done;
	int err;
	uint8_t *payload;	/* malloc'ed copy of the reply payload */
	uint32_t size;
	int fds[VU_MAX_MSG_FDS];
	unsigned int nfds;
};

struct dma_win {
	uint64_t iova;
	uint64_t size;
	uint8_t *vaddr;
	uint32_t prot;
};

/* One socket to the server (the main one, or the twin socket). */
struct client_sock {
	int fd;
	pthread_mutex_t rx_lock;	/* rx: the event thread or a direct reader */
	struct vu_rx rx;
	struct vu_out out;	/* requests and our replies, in order */
	pthread_mutex_t ev_lock;
	uint32_t events;	/* epoll events watched */
	bool reading;		/* false while too much output is queued */
	bool direct;		/* a caller reads: the event thread does not.
				 * Written with rx_lock and ev_lock held. */
	uint32_t fds_waiting;	/* senders of fds waiting for the queue to
				 * drain: posted requests refused meanwhile */
};

struct rte_vfio_user_client {
	struct client_sock main;
	struct client_sock twin;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct rte_vfio_user_client_conf conf;
	struct rte_vfio_user_client_caps caps;

	pthread_mutex_t lock;	/* waiters, state */
	pthread_cond_t cond;
	bool connected;
	bool attached;		/* attach returned it: losses are reported */
	bool gone_cb_running;	/* the event thread is reporting the loss */
	uint16_t next_id;
	struct waiter *waiters;


	pthread_mutex_t dma_lock;
	pthread_cond_t dma_idle;	/* serving dropped to 0 */
	uint64_t strays;	/* replies to no request (only approximate:
				 * main and twin sockets count under their
				 * own rx_lock) */
	uint64_t stray_log_ms;	/* when that was last logged */
	uint32_t serving;	/* server requests reading a window, unlocked */
	struct dma_win *wins;
	uint32_t nwins;

	int region_fd[CLIENT_MAX_REGIONS];
};

/* ---- sockets ---- */

static int
sock_init(struct client_sock *k)
{
	k->fd = -1;
	k->events = EPOLLIN;
	k->reading = true;
	pthread_mutex_init(&k->rx_lock, NULL);
	pthread_mutex_init(&k->ev_lock, NULL);
	vu_out_init(&k->out);
	k->out.fds_now = true;	/* see sock_send() */
	return vu_rx_init(&k->rx);
}

static void
sock_fini(struct client_sock *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	vu_rx_fini(&k->rx);
	vu_out_fini(&k->out);
	pthread_mutex_destroy(&k->ev_lock);
	pthread_mutex_destroy(&k->rx_lock);
}

/* Watch the socket for input unless our replies pile up (a server that
 * does not read them stops being read) or a caller reads it, and for
 * output while some is queued. Any thread. */
static void
sock_watch(struct client_sock *k)
{
	size_t pending = vu_out_pending(&k->out),
	       replies = vu_out_pending_replies(&k->out);
	uint32_t want;

	pthread_mutex_lock(&k->ev_lock);
	if (replies >= VU_OUT_HIGH)
		k->reading = false;
	else if (replies <= VU_OUT_LOW)
		k->reading = true;
	want = (k->reading && !k->direct ? EPOLLIN : 0) |
	       (pending > 0 ? EPOLLOUT : 0);
	if (want != k->events && vu_fdman_set_events(k->fd, want) == 0)
		k->events = want;
	pthread_mutex_unlock(&k->ev_lock);
}

/*
 * Wait, until deadline_ms, for what stopped a message with fds (why):
 * -ETOOMANYREFS, too many of the user's fds in flight (RLIMIT_NOFILE,
 * without CAP_SYS_RESOURCE): this server or another has yet to receive
 * some, nothing tells when; -EAGAIN, output queued before it (the event
 * thread sends it) or a full socket. 0, or -errno.
 */
static int
sock_send_wait(struct client_sock *k, int why, uint64_t deadline_ms)
{
	struct pollfd p = { .fd = k->fd, .events = POLLOUT };
	uint64_t now = vu_now_ms();
	int r;

	if (now >= deadline_ms)
		return -ETIMEDOUT;
	if (why == -ETOOMANYREFS) {
		usleep(1000);
		return 0;
	}
	if (vu_out_pending(&k->out) > 0)
		return vu_out_wait(&k->out, 0, deadline_ms);
	r = poll(&p, 1, (int)RTE_MIN(deadline_ms - now, 1000u));
	return r < 0 && errno != EINTR ? -errno : 0;
}

/*
 * Send a message on k, queueing what the socket does not take now; a
 * message with fds is never queued (the kernel may refuse them for a
 * while, and a queued message could not wait for that). With a deadline
 * (a caller thread), wait for a full queue to drain first, and for room
 * for a message with fds; without (the event thread, posted requests),
 * never wait: a full queue fails the send with -ENOBUFS. 0 or -errno.
 */
static int
sock_send(struct client_sock *k, struct vfio_user_header *h,
	  const struct iovec *iov, unsigned int iovcnt, const int *fds,
	  unsigned int nfds, uint64_t deadline_ms)
{
	/* a message with fds waits for the queue ahead of it to drain, which
	 * must only shrink meanwhile: other threads' posted requests (that
	 * could keep it from ever draining) are refused until it went */
	bool fds_wait = nfds > 0 && deadline_ms != 0;
	/* a reply is held to the replies queued (the socket is read until
	 * they reach VU_OUT_HIGH): our own requests filling the queue must
	 * not make us drop the answer to a server's request */
	bool reply = (h->flags & VFIO_USER_F_TYPE_MASK) ==
		     VFIO_USER_F_TYPE_REPLY;
	int ret = 0;

	if (fds_wait)
		__atomic_fetch_add(&k->fds_waiting, 1, __ATOMIC_SEQ_CST);
	if ((reply ? vu_out_pending_replies(&k->out) :
		     vu_out_pending(&k->out)) >= VU_OUT_HIGH) {
		if (deadline_ms == 0)
			return -ENOBUFS;
		ret = vu_out_wait(&k->out, VU_OUT_LOW, deadline_ms);
	}
	if (ret == 0)
		ret = vu_out_send(&k->out, k->fd, h, iov, iovcnt, fds, nfds);
	while ((ret == -ETOOMANYREFS || ret == -EAGAIN) && deadline_ms != 0) {
		int err = sock_send_wait(k, ret, deadline_ms);

		if (err < 0) {
			ret = ret == -EAGAIN ? err : ret;
			break;
		}
		ret = vu_out_send(&k->out, k->fd, h, iov, iovcnt, fds, nfds);
	}
	if (fds_wait)
		__atomic_fetch_sub(&k->fds_waiting, 1, __ATOMIC_SEQ_CST);
	if (ret == -EAGAIN)	/* no deadline to wait for room */
		ret = -ENOBUFS;
	if (ret == 1) {
		sock_watch(k);
		ret = 0;
	}
	return ret;
}

/* ---- requests ---- */

static void
waiter_free_fds(struct waiter *w)
{
	vu_close_fds(w->fds, w->nfds);
	w->nfds = 0;
}

static void
waiter_unlink(struct rte_vfio_user_client *c, struct waiter *w)
{
	struct waiter **p;

	for (p = &c->waiters; *p != NULL; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			return;
		}
	}
}

static bool direct_begin(struct client_sock *k);
static void direct_end(struct client_sock *k);
static bool waiter_done(struct rte_vfio_user_client *c, struct waiter *w);
static void direct_wait(struct rte_vfio_user_client *c, struct client_sock *k,
			struct waiter *w, uint64_t deadline_ms);

/*
 * A send found the server gone before the event thread did: wait for it
 * (until deadline_ms) to see the hang-up too, so that a caller whose
 * request failed with ENOTCONN finds the client disconnected (and
 * on_disconnect under way, on the event thread as promised). Not on the
 * event thread: it would wait for itself.
 */
static void
lost_wait(struct rte_vfio_user_client *c, uint64_t deadline_ms)
{
	struct timespec ts = vu_deadline_ts(deadline_ms);

	if (vu_fdman_is_event_thread())
		return;
	pthread_mutex_lock(&c->lock);
	while (c->connected &&
	       pthread_cond_timedwait(&c->cond, &c->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&c->lock);
}

/*
 * Send one request; its reply is awaited with request_wait(), by
 * *deadline_ms (set here: the timeout from when the request went, its
 * send may have waited for room up to a timeout too). A request with
 * VFIO_USER_F_NO_REPLY is done once sent. 0 or -errno (nothing awaited
 * then).
 */
static int
request_send(struct rte_vfio_user_client *c, struct waiter *w, uint16_t cmd,
	     uint32_t flags, const struct iovec *iov, unsigned int iovcnt,
	     const int *fds, unsigned int nfds, uint64_t *deadline_ms)
{
	struct vfio_user_header h = { .cmd = cmd, .flags = flags };
	bool posted = flags & VFIO_USER_F_NO_REPLY;
	int ret;

	memset(w, 0, sizeof(*w));
	w->cmd = cmd;
	pthread_mutex_lock(&c->lock);
	if (!c->connected) {
		pthread_mutex_unlock(&c->lock);
		return -ENOTCONN;
	}
	w->id = h.msg_id = c->next_id++;
	if (!posted) {
		w->next = c->waiters;
		c->waiters = w;
	}
	pthread_mutex_unlock(&c->lock);

	*deadline_ms = vu_now_ms() + c->conf.timeout_ms;
	if (posted && __atomic_load_n(&c->main.fds_waiting, __ATOMIC_SEQ_CST))
		ret = -ENOBUFS;	/* a message with fds waits for the queue */
	else
		ret = sock_send(&c->main, &h, iov, iovcnt, fds, nfds,
				posted ? 0 : *deadline_ms);
	if (ret == -EPIPE || ret == -ECONNRESET) {	/* the server went */
		ret = -ENOTCONN;
		/* not for a posted write: a data path's doorbell, whose
		 * result nobody reads, must not wait */
		if (!posted)
			lost_wait(c, *deadline_ms);
	} else if (ret == 0)	/* the server has the timeout from now on */
		*deadline_ms = vu_now_ms() + c->conf.timeout_ms;
	if (ret < 0 && !posted) {
		pthread_mutex_lock(&c->lock);
		if (!w->done)
			waiter_unlink(c, w);
		pthread_mutex_unlock(&c->lock);
	}
	return ret;
}

/*
 * Wait for the reply to a request sent with request_send(), until
 * deadline_ms (a timeout is logged unless quiet). On success (0) the
 * waiter holds the reply payload and fds; the caller releases them with
 * reply_done().
 */
static int
request_wait(struct rte_vfio_user_client *c, struct waiter *w,
	     uint64_t deadline_ms, bool quiet)
{
	/* one deadline, on the monotonic clock, for the direct wait and
	 * the condition variable */
	struct timespec ts = vu_deadline_ts(deadline_ms);
	int ret = 0;

	/* (a pipelined request's reply may be in already) */
	if (!waiter_done(c, w) && direct_begin(&c->main)) {
		direct_wait(c, &c->main, w, deadline_ms);
		direct_end(&c->main);
	}
	pthread_mutex_lock(&c->lock);
	while (ret == 0 && !w->done) {
		if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT &&
		    !w->done) {
			ret = -ETIMEDOUT;
			if (!quiet)
				VU_LOG(ERR,
				       "%s: no reply to command %u (id %u) in "
				       "%u ms",
				       c->path, w->cmd, w->id,
				       c->conf.timeout_ms);
		}
	}
	if (ret == 0)
		ret = w->err;
	if (!w->done)
		waiter_unlink(c, w);
	pthread_mutex_unlock(&c->lock);
	if (ret < 0) {
		free(w->payload);
		w->payload = NULL;
		waiter_free_fds(w);
	}
	return ret;
}

/*
 * Send one request and wait for its reply. On success (0) the waiter holds
 * the reply payload and fds; the caller releases them with reply_done().
 */
static int
request(struct rte_vfio_user_client *c, struct waiter *w, uint16_t cmd,
	uint32_t flags, const struct iovec *iov, unsigned int iovcnt,
	const int *fds, unsigned int nfds)
{
	uint64_t deadline_ms;
	int ret;

	ret = request_send(c, w, cmd, flags, iov, iovcnt, fds, nfds,
			   &deadline_ms);
	if (ret < 0 || (flags & VFIO_USER_F_NO_REPLY))
		return ret;
	return request_wait(c, w, deadline_ms, false);
}

static void
reply_done(struct waiter *w)
{
	free(w->payload);
	w->payload = NULL;
	waiter_free_fds(w);
}

/* Request with one payload buffer. */
static int
request1(struct rte_vfio_user_client *c, struct waiter *w, uint16_t cmd,
	 const void *p, size_t len, const int *fds, unsigned int nfds)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)p, .iov_len = len };

	return request(c, w, cmd, 0, &iov, len ? 1 : 0, fds, nfds);
}

/*
 * Request with one payload buffer whose reply is a structure of a fixed
 * size: its size bytes, no fds, copied to reply; -EPROTO for any other
 * reply. at_least: a longer reply is taken too, its tail (what a later
 * revision of the protocol may append) ignored.
 */
static int
request_fixed(struct rte_vfio_user_client *c, uint16_t cmd, const void *req,
	      size_t len, void *reply, size_t size, bool at_least)
{
	struct waiter w;
	int ret;

	ret = request1(c, &w, cmd, req, len, NULL, 0);
	if (ret < 0)
		return ret;
	if (w.nfds != 0 || w.size < size || (!at_least && w.size != size))
		ret = -EPROTO;
	else
		memcpy(reply, w.payload, size);
	reply_done(&w);
	return ret;
}

/* ---- the event thread side ---- */

/* Hand a reply to its waiter; false if nobody waits for it. */
static bool
deliver_reply(struct rte_vfio_user_client *c, struct vu_rx *rx, int err)
{
	struct vfio_user_header *h = vu_rx_hdr(rx);
	uint32_t size = err ? 0 : rx->want - (uint32_t)sizeof(*h);
	struct waiter *w;
	bool found = false;

	pthread_mutex_lock(&c->lock);
	for (w = c->waiters; w != NULL; w = w->next) {
		if (w->id != h->msg_id || w->cmd != h->cmd || w->done)
			continue;
		found = true;
		waiter_unlink(c, w);
		if (err) {
			w->err = err;
		} else if (h->flags & VFIO_USER_F_ERROR) {
			w->err = vu_reply_errno(h->error_no);
		} else {
			w->payload = malloc(size ? size : 1);
			if (w->payload == NULL) {
				w->err = -ENOMEM;
			} else {
				memcpy(w->payload, rx->buf + sizeof(*h), size);
				w->size = size;
				memcpy(w->fds, rx->fds, rx->nfds * sizeof(int));
				w->nfds = rx->nfds;
				rx->nfds = 0;	/* the waiter owns them */
			}
		}
		w->done = true;
		pthread_cond_broadcast(&c->cond);
		break;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

static const struct dma_win *
win_find(const struct rte_vfio_user_client *c, uint64_t addr, uint64_t len)
{
	for (uint32_t i = 0; i < c->nwins; i++) {
		const struct dma_win *w = &c->wins[i];

		if (addr >= w->iova && addr - w->iova < w->size &&
		    len <= w->size - (addr - w->iova))
			return w;
	}
	return NULL;
}

/* Answer the server's DMA_READ / DMA_WRITE (or refuse other commands). */
static void
serve_request(struct rte_vfio_user_client *c, struct client_sock *k)
{
	struct vu_rx *rx = &k->rx;
	struct vfio_user_header *h = vu_rx_hdr(rx);
	struct vfio_user_dma_access *a = (void *)(rx->buf + sizeof(*h));
	uint32_t size = rx->want - (uint32_t)sizeof(*h);
	struct vfio_user_header rh = {
		.msg_id = h->msg_id, .cmd = h->cmd,
		.flags = VFIO_USER_F_TYPE_REPLY,
	};
	struct iovec iov[2];
	unsigned int n = 0;
	const struct dma_win *w;
	int err = 0;

	pthread_mutex_lock(&c->dma_lock);
	if (h->cmd != VFIO_USER_DMA_READ && h->cmd != VFIO_USER_DMA_WRITE) {
		err = ENOSYS;
	} else if (size < sizeof(*a) || a->count > c->conf.max_xfer ||
		   size != sizeof(*a) + (h->cmd == VFIO_USER_DMA_WRITE ?
					 a->count : 0)) {
		err = EINVAL;
	} else {
		uint32_t need = h->cmd == VFIO_USER_DMA_READ ?
			VFIO_USER_DMA_MAP_F_READ : VFIO_USER_DMA_MAP_F_WRITE;

		w = win_find(c, a->addr, a->count);
		if (w == NULL || (w->prot & need) == 0) {
			err = EFAULT;
		} else if (h->cmd == VFIO_USER_DMA_WRITE) {
			memcpy(w->vaddr + (a->addr - w->iova), a->data, a->count);
			iov[n++] = (struct iovec){ a, sizeof(*a) };
		} else {
			iov[n++] = (struct iovec){ a, sizeof(*a) };
			iov[n++] = (struct iovec){ w->vaddr + (a->addr - w->iova),
						   a->count };
			c->serving++;	/* win_remove() waits for the send */
		}
	}
	pthread_mutex_unlock(&c->dma_lock);
	if (err) {
		VU_LOG(ERR, "%s: server request %u refused: %s", c->path,
		       h->cmd, strerror(err));
		rh.flags |= VFIO_USER_F_ERROR;
		rh.error_no = (uint32_t)err;
		n = 0;
	}
	if (!(h->flags & VFIO_USER_F_NO_REPLY) &&
	    sock_send(k, &rh, iov, n, NULL, 0, 0) < 0) /* copies or sends */
		VU_LOG(ERR,
		       "%s: no room for the reply to server request %u: "
		       "dropped (the server reads none of ours)",
		       c->path, h->msg_id);
	if (n == 2) {
		pthread_mutex_lock(&c->dma_lock);
		if (--c->serving == 0)
			pthread_cond_broadcast(&c->dma_idle);
		pthread_mutex_unlock(&c->dma_lock);
	}
}

/* Answer a server request we cannot serve with an error reply. */
static void
refuse_request(struct client_sock *k, const struct vfio_user_header *h,
	       int err)
{
	struct vfio_user_header rh = {
		.msg_id = h->msg_id, .cmd = h->cmd,
		.flags = VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR,
		.error_no = (uint32_t)err,
	};

	if (h->flags & VFIO_USER_F_NO_REPLY)
		return;
	sock_send(k, &rh, NULL, 0, NULL, 0, 0);
}

static void
client_lost(struct rte_vfio_user_client *c)
{
	struct waiter *w;
	bool report;

	pthread_mutex_lock(&c->lock);
	if (!c->connected) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->connected = false;
	/* no callback for a client whose attach fails: its caller never had it */
	report = c->attached;
	c->gone_cb_running = true;
	for (w = c->waiters; w != NULL; w = w->next) {
		w->err = -ENOTCONN;
		w->done = true;
	}
	c->waiters = NULL;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);

	VU_LOG(WARNING, "%s: server disconnected", c->path);
	vu_fdman_del(c->main.fd);
	if (c->twin.fd >= 0)
		vu_fdman_del(c->twin.fd);
	if (report && c->conf.on_disconnect != NULL)
		c->conf.on_disconnect(c, c->conf.cb_arg);

	pthread_mutex_lock(&c->lock);
	c->gone_cb_running = false;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* A reply to no request of ours (a late one, or a server flooding us):
 * dropped, and said at most once a second. */
static void
stray_reply(struct rte_vfio_user_client *c, const struct vfio_user_header *h)
{
	uint64_t now = vu_now_ms();

	c->strays++;
	if (c->stray_log_ms != 0 && now - c->stray_log_ms < 1000)
		return;
	VU_LOG(WARNING,
	       "%s: reply id %u cmd %u matches no request, dropped "
	       "(%" PRIu64 " such so far)",
	       c->path, h->msg_id, h->cmd, c->strays);
	c->stray_log_ms = now;
}

/*
 * Read and handle one message of k. With k->rx_lock held. Returns 1 when
 * one was handled, 0 when nothing more can be read now, -1 when the
 * connection is gone.
 */
static int
sock_read_one(struct rte_vfio_user_client *c, struct client_sock *k)
{
	struct vu_rx *rx = &k->rx;
	enum vu_rx_status st = vu_rx_read(k->fd, rx);
	struct vfio_user_header *h = vu_rx_hdr(rx);

	if (st == VU_RX_AGAIN)
		return 0;
	if (st == VU_RX_CLOSED || st == VU_RX_ERROR)
		return -1;
	if (st == VU_RX_OVERSIZE) {
		VU_LOG(ERR, "%s: oversized message (%u bytes) dropped", c->path,
		       h->msg_size);
		/* a command still gets its (error) reply */
		if ((h->flags & VFIO_USER_F_TYPE_MASK) ==
		    VFIO_USER_F_TYPE_REPLY)
			deliver_reply(c, rx, -EMSGSIZE);
		else
			refuse_request(k, h, E2BIG);
	} else if (h->msg_size < sizeof(*h) || rx->fds_overflow) {
		VU_LOG(ERR, "%s: malformed message dropped", c->path);
		if ((h->flags & VFIO_USER_F_TYPE_MASK) ==
		    VFIO_USER_F_TYPE_REPLY)
			deliver_reply(c, rx, -EPROTO);
		else
			refuse_request(k, h, EINVAL);
	} else if ((h->flags & VFIO_USER_F_TYPE_MASK) ==
		   VFIO_USER_F_TYPE_REPLY) {
		if (!deliver_reply(c, rx, 0))
			stray_reply(c, h);
	} else {
		serve_request(c, k);
	}
	vu_rx_next(rx);
	return 1;
}

static void
sock_event(struct rte_vfio_user_client *c, struct client_sock *k,
	   uint32_t events)
{
	bool reading;
	int r = 1;

	if ((events & EPOLLOUT) && vu_out_flush(&k->out, k->fd) < 0) {
		client_lost(c);
		return;
	}
	pthread_mutex_lock(&k->rx_lock);
	if (k->direct) {
		/* a caller reads (and finds a hang-up): input is its own */
		pthread_mutex_unlock(&k->rx_lock);
		if ((events & EPOLLOUT) || vu_out_pending(&k->out) > 0)
			sock_watch(k);
		return;
	}
	pthread_mutex_lock(&k->ev_lock);
	reading = k->reading || vu_out_pending_replies(&k->out) <= VU_OUT_LOW;
	pthread_mutex_unlock(&k->ev_lock);
	if (!reading && (events & (EPOLLHUP | EPOLLERR))) {
		pthread_mutex_unlock(&k->rx_lock);
		client_lost(c);
		return;
	}
	for (int n = 0; reading && n < 64; n++) {
		r = sock_read_one(c, k);
		if (r <= 0)
			break;
		if (vu_out_pending_replies(&k->out) >= VU_OUT_HIGH)
			break;	/* read on once the server takes our replies */
	}
	pthread_mutex_unlock(&k->rx_lock);
	if (r < 0)
		client_lost(c);
	else if (r > 0 || (events & EPOLLOUT) || vu_out_pending(&k->out) > 0)
		sock_watch(k);	/* (a queue just drained: EPOLLOUT off, or
				 * level-triggered it wakes us again and again) */
}

/*
 * Become the reader of k, if no other thread is (the event thread is
 * told not to read it). With nothing queued for sending only: a caller
 * whose request is still partly queued leaves the socket to the event
 * thread, which also sends the rest.
 */
static bool
direct_begin(struct client_sock *k)
{
	bool ok;

	pthread_mutex_lock(&k->rx_lock);
	pthread_mutex_lock(&k->ev_lock);
	ok = !k->direct && k->reading && vu_out_pending(&k->out) == 0;
	if (ok)
		k->direct = true;
	pthread_mutex_unlock(&k->ev_lock);
	pthread_mutex_unlock(&k->rx_lock);
	if (ok)
		sock_watch(k);
	return ok;
}

static void
direct_end(struct client_sock *k)
{
	pthread_mutex_lock(&k->rx_lock);
	pthread_mutex_lock(&k->ev_lock);
	k->direct = false;
	pthread_mutex_unlock(&k->ev_lock);
	pthread_mutex_unlock(&k->rx_lock);
	sock_watch(k);	/* the event thread reads again */
}

static bool
waiter_done(struct rte_vfio_user_client *c, struct waiter *w)
{
	bool done;

	pthread_mutex_lock(&c->lock);
	done = w->done;
	pthread_mutex_unlock(&c->lock);
	return done;
}

/*
 * As the reader of k, read and handle messages (replies to other waiters
 * and the server's requests too) until w is answered, the deadline
 * passes, or something the event thread should handle happens (the
 * connection went, our own replies pile up). The caller then waits on the
 * condition variable as usual, which returns at once when w is done.
 */
static void
direct_wait(struct rte_vfio_user_client *c, struct client_sock *k,
	    struct waiter *w, uint64_t deadline_ms)
{
	uint64_t spin_until = vu_now_us() + vu_fdman_get_poll_us();

	for (;;) {
		struct pollfd p = { .fd = k->fd, .events = POLLIN };
		uint64_t now;
		int r;

		pthread_mutex_lock(&k->rx_lock);
		do {
			r = sock_read_one(c, k);
		} while (r > 0 && !waiter_done(c, w) &&
			 vu_out_pending_replies(&k->out) < VU_OUT_HIGH &&
			 vu_now_ms() < deadline_ms);	/* a flood of other
							 * messages too */
		pthread_mutex_unlock(&k->rx_lock);
		if (r != 0 || waiter_done(c, w))
			return;
		if (vu_now_us() < spin_until) {
			sched_yield();
			continue;
		}
		now = vu_now_ms();
		if (now >= deadline_ms)
			return;
		r = poll(&p, 1,
			 (int)RTE_MIN(deadline_ms - now, (uint64_t)INT32_MAX));
		if (r < 0 && errno != EINTR)
			return;
		if (r > 0 && (p.revents & (POLLERR | POLLNVAL)))
			return;
	}
}

static void
main_event(int fd, void *arg, uint32_t events)
{
	struct rte_vfio_user_client *c = arg;

	RTE_SET_USED(fd);
	sock_event(c, &c->main, events);
}

static void
twin_event(int fd, void *arg, uint32_t events)
{
	struct rte_vfio_user_client *c = arg;

	RTE_SET_USED(fd);
	sock_event(c, &c->twin, events);
}

/* ---- attach / detach ---- */

/*
 * Connect without blocking: a server that listens but never accepts (its
 * backlog full) would hold a blocking connect() for ever. A missing or
 * refused socket is retried for retry_ms (connect_timeout_ms), a full
 * backlog for busy_ms (the request timeout, or retry_ms if longer).
 */
static int
do_connect(const char *path, uint32_t retry_ms, uint32_t busy_ms)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	uint64_t start = vu_now_ms();

	memcpy(un.sun_path, path, strlen(path) + 1);
	for (;;) {
		int fd = socket(AF_UNIX,
				SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		uint64_t elapsed;
		int err;

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0)
			return fd;
		err = errno;
		close(fd);
		if (err == EINTR)
			continue;	/* a signal, not an answer: again */
		elapsed = vu_now_ms() - start;
		if (err == EAGAIN) {	/* UNIX sockets: backlog full */
			if (elapsed >= RTE_MAX(retry_ms, busy_ms)) {
				VU_LOG(ERR,
				       "%s: the server accepts no "
				       "connection (for %" PRIu64 " ms)",
				       path, elapsed);
				return -ETIMEDOUT;
			}
		} else if ((err != ENOENT && err != ECONNREFUSED) ||
			   elapsed >= retry_ms) {
			return -err;
		}
		usleep(20000);
	}
}

static int
json_u64(json_t *caps, const char *name, uint64_t *out)
{
	json_t *v = json_object_get(caps, name);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return -EPROTO;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Parse the server's VERSION reply into c->caps; may take the twin fd. */
static int
parse_version_reply(struct rte_vfio_user_client *c, struct waiter *w)
{
	const struct vfio_user_version *v = (const void *)w->payload;
	struct rte_vfio_user_client_caps *caps = &c->caps;
	uint64_t fds = VFIO_USER_DEF_MAX_FDS, xfer = VFIO_USER_DEF_MAX_XFER;
	uint64_t maps = VFIO_USER_DEF_MAX_DMA_MAPS, pg = VFIO_USER_DEF_PGSIZES;
	size_t jl;
	json_t *root = NULL, *obj, *t;
	int ret = -EPROTO;

	if (w->size < sizeof(*v))
		return -EPROTO;
	if (v->major != VFIO_USER_MAJOR_VER) {
		VU_LOG(ERR, "%s: server speaks major version %u, we speak %u",
		       c->path, v->major, VFIO_USER_MAJOR_VER);
		return -ENOTSUP;
	}
	if (v->minor > VFIO_USER_MINOR_VER)
		return -EPROTO;
	caps->major = v->major;
	caps->minor = v->minor;
	jl = w->size - sizeof(*v);
	if (jl > 0) {
		if (v->data[jl - 1] != '\0')
			return -EPROTO;
		root = json_loads(v->data, 0, NULL);
		if (root == NULL || !json_is_object(root))
			goto out;
		obj = json_object_get(root, VFIO_USER_CAP_ROOT);
		if (obj != NULL && !json_is_object(obj))
			goto out;
		if (obj != NULL &&
		    (json_u64(obj, VFIO_USER_CAP_MAX_FDS, &fds) < 0 ||
		     json_u64(obj, VFIO_USER_CAP_MAX_XFER, &xfer) < 0 ||
		     json_u64(obj, VFIO_USER_CAP_MAX_DMA_MAPS, &maps) < 0 ||
		     json_u64(obj, VFIO_USER_CAP_PGSIZES, &pg) < 0))
			goto out;
		t = obj ? json_object_get(obj, VFIO_USER_CAP_WRITE_MULTI) : NULL;
		caps->write_multi = c->conf.write_multi && json_is_true(t);
		t = obj ? json_object_get(obj, VFIO_USER_CAP_TWIN_SOCKET) : NULL;
		if (c->conf.twin_socket && t != NULL && json_is_object(t) &&
		    json_is_true(json_object_get(t, VFIO_USER_CAP_TWIN_SUPPORTED))) {
			json_t *idx = json_object_get(t, VFIO_USER_CAP_TWIN_FD_INDEX);

			if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
			    json_integer_value(idx) >= (json_int_t)w->nfds) {
				VU_LOG(ERR, "%s: twin_socket without a valid fd",
				       c->path);
				goto out;
			}
			c->twin.fd = w->fds[json_integer_value(idx)];
			w->fds[json_integer_value(idx)] = -1;
			caps->twin_socket = true;
		}
	}
	caps->max_msg_fds = fds > VU_MAX_MSG_FDS ? VU_MAX_MSG_FDS : (uint32_t)fds;
	caps->max_xfer = xfer > VU_MAX_XFER ? VU_MAX_XFER : (uint32_t)xfer;
	caps->max_dma_maps = maps > UINT32_MAX ? UINT32_MAX : (uint32_t)maps;
	caps->pgsizes = pg;
	ret = 0;
out:
	if (ret < 0)
		VU_LOG(ERR, "%s: malformed VERSION reply", c->path);
	json_decref(root);
	return ret;
}

static int
negotiate(struct rte_vfio_user_client *c)
{
	char buf[512];
	struct vfio_user_version v = {
		.major = VFIO_USER_MAJOR_VER, .minor = VFIO_USER_MINOR_VER,
	};
	struct iovec iov[2];
	struct waiter w;
	int len, ret;

	len = snprintf(buf, sizeof(buf),
		"{\"" VFIO_USER_CAP_ROOT "\":{\"" VFIO_USER_CAP_MAX_FDS "\":%u,"
		"\"" VFIO_USER_CAP_MAX_XFER "\":%u%s%s}}",
		VU_MAX_MSG_FDS, c->conf.max_xfer,
		c->conf.write_multi ? ",\"" VFIO_USER_CAP_WRITE_MULTI "\":true" : "",
		c->conf.twin_socket ? ",\"" VFIO_USER_CAP_TWIN_SOCKET
			"\":{\"" VFIO_USER_CAP_TWIN_SUPPORTED "\":true}" : "");
	iov[0] = (struct iovec){ &v, sizeof(v) };
	iov[1] = (struct iovec){ buf, (size_t)len + 1 };
	ret = request(c, &w, VFIO_USER_VERSION, 0, iov, 2, NULL, 0);
	if (ret == -EBUSY)
		VU_LOG(ERR,
		       "%s: the device has a client already (one client "
		       "per device)",
		       c->path);
	else if (ret == -ENOTCONN)
		VU_LOG(ERR,
		       "%s: the server closed the connection before "
		       "answering VERSION (see its log)",
		       c->path);
	else if (ret < 0)
		VU_LOG(ERR, "%s: VERSION: %s", c->path, strerror(-ret));
	if (ret < 0)
		return ret;
	ret = parse_version_reply(c, &w);
	reply_done(&w);
	return ret;
}

struct rte_vfio_user_client *
rte_vfio_user_client_attach(const struct rte_vfio_user_client_conf *conf)
{
	struct rte_vfio_user_client *c;
	int ret;

	if (conf == NULL || conf->path == NULL ||
	    strlen(conf->path) >= sizeof(c->path) ||
	    conf->max_xfer > VU_MAX_XFER) {
		rte_errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	c->conf = *conf;
	memcpy(c->path, conf->path, strlen(conf->path) + 1);
	c->conf.path = c->path;
	if (c->conf.timeout_ms == 0)
		c->conf.timeout_ms = CLIENT_DEF_TIMEOUT_MS;
	if (c->conf.max_xfer == 0)
		c->conf.max_xfer = VU_MAX_XFER;
	for (int i = 0; i < CLIENT_MAX_REGIONS; i++)
		c->region_fd[i] = -1;
	c->next_id = 1;
	pthread_mutex_init(&c->lock, NULL);
	vu_cond_init_monotonic(&c->cond);
	pthread_mutex_init(&c->dma_lock, NULL);
	pthread_cond_init(&c->dma_idle, NULL);
	if (sock_init(&c->main) < 0 || sock_init(&c->twin) < 0) {
		ret = -ENOMEM;
		goto err;
	}
	ret = do_connect(c->path, c->conf.connect_timeout_ms,
			 c->conf.timeout_ms);
	if (ret < 0) {
		/* the caller says it (rte_errno), and may retry: not an
		 * error line of ours at every attempt */
		VU_LOG(INFO, "%s: connect: %s", c->path, strerror(-ret));
		goto err;
	}
	c->main.fd = ret;
	c->connected = true;
	ret = vu_fdman_add(c->main.fd, main_event, c);
	if (ret < 0)
		goto err;
	ret = negotiate(c);
	if (ret == 0 && c->twin.fd >= 0) {
		fcntl(c->twin.fd, F_SETFL, fcntl(c->twin.fd, F_GETFL) | O_NONBLOCK);
		ret = vu_fdman_add(c->twin.fd, twin_event, c);
	}
	if (ret < 0)
		goto err;
	pthread_mutex_lock(&c->lock);
	if (c->connected)
		c->attached = true;
	else
		ret = -ENOTCONN;	/* lost during attach: fail it instead */
	pthread_mutex_unlock(&c->lock);
	if (ret < 0)
		goto err;
	VU_LOG(INFO, "%s: attached, version %u.%u, max_xfer %u%s", c->path,
	       c->caps.major, c->caps.minor, c->caps.max_xfer,
	       c->caps.twin_socket ? ", twin socket" : "");
	return c;
err:
	rte_vfio_user_client_detach(c);
	rte_errno = -ret;
	return NULL;
}

void
rte_vfio_user_client_detach(struct rte_vfio_user_client *c)
{
	struct waiter *w;

	if (c == NULL)
		return;
	if (c->main.fd >= 0)
		vu_fdman_del(c->main.fd);
	if (c->twin.fd >= 0)
		vu_fdman_del(c->twin.fd);
	pthread_mutex_lock(&c->lock);
	while (c->gone_cb_running)	/* the event thread still reports */
		pthread_cond_wait(&c->cond, &c->lock);
	c->connected = false;
	for (w = c->waiters; w != NULL; w = w->next) {
		w->err = -ENOTCONN;
		w->done = true;
	}
	c->waiters = NULL;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	/* no other call on c is in progress (the header's rule) */
	sock_fini(&c->main);
	sock_fini(&c->twin);
	vu_close_fds(c->region_fd, CLIENT_MAX_REGIONS);
	free(c->wins);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->dma_lock);
	pthread_cond_destroy(&c->dma_idle);
	free(c);
}

bool
rte_vfio_user_client_connected(struct rte_vfio_user_client *c)
{
	bool ret;

	pthread_mutex_lock(&c->lock);
	ret = c->connected;
	pthread_mutex_unlock(&c->lock);
	return ret;
}

void
rte_vfio_user_client_get_caps(struct rte_vfio_user_client *c,
			      struct rte_vfio_user_client_caps *caps)
{
	*caps = c->caps;
}

/* ---- commands ---- */

int
rte_vfio_user_client_device_info(struct rte_vfio_user_client *c,
				 struct vfio_user_device_info *info)
{
	struct vfio_user_device_info req = { .argsz = sizeof(req) };

	return request_fixed(c, VFIO_USER_DEVICE_GET_INFO, &req, sizeof(req),
			     info, sizeof(*info), true);
}

/* Walk the region capability chain of a reply. */
static int
parse_region_caps(const uint8_t *p, uint32_t size, uint32_t off,
		  struct rte_vfio_user_client_region *reg)
{
	for (int n = 0; off != 0; n++) {
		const struct vfio_user_cap_header *ch = (const void *)(p + off);

		if (n >= CLIENT_MAX_CAPS || off < sizeof(struct vfio_user_region_info) ||
		    off > size || size - off < sizeof(*ch))
			return -EPROTO;
		if (ch->id == VFIO_USER_REGION_CAP_SPARSE_MMAP) {
			const struct vfio_user_cap_sparse_mmap *s = (const void *)ch;

			if (size - off < sizeof(*s) ||
			    (size - off - sizeof(*s)) / sizeof(s->areas[0]) <
			    s->nr_areas)
				return -EPROTO;
			reg->nr_sparse = s->nr_areas;
			for (uint32_t i = 0; i < s->nr_areas &&
			     i < RTE_DIM(reg->sparse); i++) {
				reg->sparse[i] = s->areas[i];
				if (s->areas[i].offset > reg->size ||
				    s->areas[i].size > reg->size - s->areas[i].offset)
					return -EPROTO;
			}
		} else if (ch->id == VFIO_USER_REGION_CAP_TYPE) {
			const struct vfio_user_cap_type *t = (const void *)ch;

			if (size - off < sizeof(*t))
				return -EPROTO;
			reg->type = t->type;
			reg->subtype = t->subtype;
		}
		if (ch->next != 0 && ch->next <= off)
			return -EPROTO;	/* loops are refused */
		off = ch->next;
	}
	return 0;
}

int
rte_vfio_user_client_region_info(struct rte_vfio_user_client *c,
				 uint32_t index,
				 struct rte_vfio_user_client_region *reg)
{
	struct vfio_user_region_info req = { .index = index };
	const struct vfio_user_region_info *rep;
	uint32_t argsz = sizeof(req) + 256;
	struct waiter w;
	int ret;

	if (index >= CLIENT_MAX_REGIONS)
		return -EINVAL;
	for (int tries = 0; ; tries++) {
		req.argsz = argsz;
		ret = request1(c, &w, VFIO_USER_DEVICE_GET_REGION_INFO, &req,
			       sizeof(req), NULL, 0);
		if (ret < 0)
			return ret;
		rep = (const void *)w.payload;
		if (w.size < sizeof(*rep) || rep->index != index) {
			reply_done(&w);
			return -EPROTO;
		}
		if (rep->argsz <= argsz || tries == 1)
			break;
		argsz = rep->argsz;	/* the chain needs more room: retry */
		reply_done(&w);
		if (argsz > REGION_INFO_MAX_ARGSZ)
			return -EPROTO;
	}
	memset(reg, 0, sizeof(*reg));
	reg->index = index;
	reg->flags = rep->flags;
	reg->size = rep->size;
	reg->offset = rep->offset;
	reg->fd = -1;
	ret = 0;
	if ((rep->flags & VFIO_USER_REGION_INFO_FLAG_CAPS) && rep->cap_offset)
		ret = parse_region_caps(w.payload, w.size, rep->cap_offset, reg);
	if (ret == 0 && (rep->flags & VFIO_USER_REGION_INFO_FLAG_MMAP)) {
		if (w.nfds != 1) {
			ret = -EPROTO;
		} else {
			/* keep the fd handed out before (callers may still use
			 * it); the device's fd cannot change while connected */
			pthread_mutex_lock(&c->lock);
			if (c->region_fd[index] < 0) {
				c->region_fd[index] = w.fds[0];
				w.fds[0] = -1;
			}
			reg->fd = c->region_fd[index];
			pthread_mutex_unlock(&c->lock);
		}
	}
	reply_done(&w);
	return ret;
}

/*
 * Whether the server's file holds [off, off + len): a store past the end
 * of a file raises SIGBUS and kills the process. A file that may shrink
 * later is sealed against it where the server left that possible (as the
 * server side does with client memory, vu_memmap.c). 0, or -ENXIO.
 */
static int
fd_covers(const struct rte_vfio_user_client *c, int fd, uint64_t off,
	  uint64_t len)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;	/* not a file (a device): nothing to check */
	if ((uint64_t)st.st_size < off || (uint64_t)st.st_size - off < len) {
		VU_LOG(ERR,
		       "%s: region file of %jd bytes does not hold "
		       "[0x%" PRIx64 ", +0x%" PRIx64 ")",
		       c->path, (intmax_t)st.st_size, off, len);
		return -ENXIO;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals >= 0 && !(seals & (F_SEAL_SHRINK | F_SEAL_SEAL)))
		fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
	return 0;
}

void *
rte_vfio_user_client_region_mmap(struct rte_vfio_user_client *c,
				 uint32_t index, uint64_t offset, uint64_t len,
				 int prot)
{
	struct rte_vfio_user_client_region reg;
	bool inside = false;
	void *p;
	int ret;

	ret = rte_vfio_user_client_region_info(c, index, &reg);
	if (ret < 0) {
		rte_errno = -ret;
		return NULL;
	}
	if (!(reg.flags & VFIO_USER_REGION_INFO_FLAG_MMAP) || reg.fd < 0 ||
	    len == 0 || offset > reg.size || len > reg.size - offset) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (reg.nr_sparse == 0)
		inside = true;
	for (uint32_t i = 0; i < reg.nr_sparse && i < RTE_DIM(reg.sparse); i++)
		if (offset >= reg.sparse[i].offset &&
		    offset - reg.sparse[i].offset < reg.sparse[i].size &&
		    len <= reg.sparse[i].size - (offset - reg.sparse[i].offset))
			inside = true;
	if (!inside) {
		rte_errno = EACCES;
		return NULL;
	}
	ret = fd_covers(c, reg.fd, reg.offset + offset, len);
	if (ret < 0) {
		rte_errno = -ret;
		return NULL;
	}
	p = mmap(NULL, len, prot, MAP_SHARED, reg.fd, (off_t)(reg.offset + offset));
	if (p == MAP_FAILED) {
		rte_errno = errno;
		return NULL;
	}
	return p;
}

int
rte_vfio_user_client_region_io_fds(struct rte_vfio_user_client *c,
				   uint32_t index,
				   struct rte_vfio_user_client_io_fd *out,
				   uint32_t max, uint32_t *count)
{
	struct vfio_user_region_io_fds req = { .index = index };
	const struct vfio_user_region_io_fds *rep;
	const struct vfio_user_sub_region_io_fd *sub;
	struct waiter w;
	uint32_t i, stride;
	int ret;

	if (max > 1024)
		max = 1024;
	req.argsz = sizeof(req) + max * sizeof(*sub);
	ret = request1(c, &w, VFIO_USER_DEVICE_GET_REGION_IO_FDS, &req,
		       sizeof(req), NULL, 0);
	if (ret < 0)
		return ret;
	rep = (const void *)w.payload;
	if (w.size < sizeof(*rep) || rep->index != index) {
		ret = -EPROTO;
		goto out;
	}
	*count = rep->count;
	/* more than out holds (whatever argsz says): none, as documented */
	if (rep->count == 0 || rep->count > max)
		goto out;	/* nothing, or no room for them */
	/* they fit: then they must all be there, or the caller would take
	 * entries of out[] that were never filled for its fds */
	if (rep->argsz > req.argsz ||
	    w.size < sizeof(*rep) + (uint64_t)rep->count * sizeof(*sub)) {
		ret = -EPROTO;
		goto out;
	}
	stride = (w.size - (uint32_t)sizeof(*rep)) / rep->count;
	if (stride < sizeof(*sub)) {
		ret = -EPROTO;
		goto out;
	}
	for (i = 0; i < rep->count; i++) {
		sub = (const void *)(w.payload + sizeof(*rep) + i * stride);
		if (sub->fd_index >= w.nfds) {
			ret = -EPROTO;
			break;
		}
	}
	for (i = 0; ret == 0 && i < rep->count; i++) {
		sub = (const void *)(w.payload + sizeof(*rep) + i * stride);
		out[i].offset = sub->offset;
		out[i].size = sub->size;
		out[i].type = sub->type;
		out[i].flags = sub->flags;
		out[i].datamatch = sub->datamatch;
		/* entries may share an fd: each caller entry gets its own */
		out[i].fd = fcntl(w.fds[sub->fd_index], F_DUPFD_CLOEXEC, 0);
		if (out[i].fd < 0) {
			ret = -errno;
			while (i-- > 0)
				close(out[i].fd);
		}
	}
out:
	reply_done(&w);
	return ret;
}

int
rte_vfio_user_client_irq_info(struct rte_vfio_user_client *c, uint32_t index,
			      struct vfio_user_irq_info *info)
{
	struct vfio_user_irq_info req = { .argsz = sizeof(req), .index = index };
	struct vfio_user_irq_info rep;
	int ret;

	ret = request_fixed(c, VFIO_USER_DEVICE_GET_IRQ_INFO, &req, sizeof(req),
			    &rep, sizeof(rep), true);
	if (ret == 0 && rep.index != index)
		ret = -EPROTO;
	if (ret == 0)
		*info = rep;
	return ret;
}

static int
set_irqs_one(struct rte_vfio_user_client *c, uint32_t index, uint32_t flags,
	     uint32_t start, uint32_t count, const uint8_t *bools,
	     const int *fds, unsigned int nfds)
{
	struct vfio_user_irq_set req = {
		.argsz = sizeof(req) + (bools ? count : 0), .flags = flags,
		.index = index, .start = start, .count = count,
	};
	struct iovec iov[2] = {
		{ &req, sizeof(req) }, { (void *)(uintptr_t)bools, count },
	};
	struct waiter w;
	int ret;

	ret = request(c, &w, VFIO_USER_DEVICE_SET_IRQS, 0, iov, bools ? 2 : 1,
		      fds, nfds);
	if (ret == 0)
		reply_done(&w);
	return ret;
}

int
rte_vfio_user_client_set_irqs(struct rte_vfio_user_client *c, uint32_t index,
			      uint32_t flags, uint32_t start, uint32_t count,
			      const void *data)
{
	uint32_t type = flags & VFIO_USER_IRQ_SET_DATA_TYPE_MASK;
	const int *fds = data;
	uint32_t done = 0;
	int ret = 0;

	if (type == VFIO_USER_IRQ_SET_DATA_NONE)
		return set_irqs_one(c, index, flags, start, count, NULL, NULL, 0);
	if (data == NULL && count > 0)
		return -EINVAL;
	if (type == VFIO_USER_IRQ_SET_DATA_BOOL)
		return set_irqs_one(c, index, flags, start, count, data, NULL, 0);
	if (type != VFIO_USER_IRQ_SET_DATA_EVENTFD)
		return -EINVAL;
	if (count == 0)
		return set_irqs_one(c, index, flags, start, 0, NULL, NULL, 0);
	/* runs of valid fds (sent) and of -1 (de-assigned: no fds) */
	while (done < count && ret == 0) {
		bool valid = fds[done] >= 0;
		uint32_t n = 1;

		while (done + n < count && (fds[done + n] >= 0) == valid &&
		       (!valid || n < c->caps.max_msg_fds))
			n++;
		ret = set_irqs_one(c, index, flags, start + done, n, NULL,
				   valid ? &fds[done] : NULL, valid ? n : 0);
		done += n;
	}
	return ret;
}

/*
 * The reply to a REGION_READ or REGION_WRITE of len bytes must echo it: a
 * write's its count, a read's also its region and offset, with the data.
 * 0 or -EPROTO.
 */
static int
region_reply_check(const struct waiter *w, uint32_t region, uint64_t offset,
		   uint32_t len, bool write)
{
	const struct vfio_user_region_access *rep = (const void *)w->payload;

	if (w->size < sizeof(*rep) || rep->count != len)
		return -EPROTO;
	if (!write && (w->size != sizeof(*rep) + len || rep->offset != offset ||
		       rep->region != region))
		return -EPROTO;
	return 0;
}

static uint32_t
xfer_chunk(struct rte_vfio_user_client *c)
{
	return c->caps.max_xfer < VU_MAX_XFER ? c->caps.max_xfer : VU_MAX_XFER;
}

int
rte_vfio_user_client_region_read(struct rte_vfio_user_client *c,
				 uint32_t index, uint64_t offset, void *buf,
				 size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		uint32_t n = len < xfer_chunk(c) ? (uint32_t)len : xfer_chunk(c);
		struct vfio_user_region_access req = {
			.offset = offset, .region = index, .count = n,
		};
		const struct vfio_user_region_access *rep;
		struct waiter w;
		int ret;

		ret = request1(c, &w, VFIO_USER_REGION_READ, &req, sizeof(req),
			       NULL, 0);
		if (ret < 0)
			return ret;
		ret = region_reply_check(&w, index, offset, n, false);
		if (ret < 0) {
			reply_done(&w);
			return ret;
		}
		rep = (const void *)w.payload;
		memcpy(p, rep->data, n);
		reply_done(&w);
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}

int
rte_vfio_user_client_region_write(struct rte_vfio_user_client *c,
				  uint32_t index, uint64_t offset,
				  const void *buf, size_t len, bool posted)
{
	const uint8_t *p = buf;

	while (len > 0) {
		uint32_t n = len < xfer_chunk(c) ? (uint32_t)len : xfer_chunk(c);
		struct vfio_user_region_access req = {
			.offset = offset, .region = index, .count = n,
		};
		struct iovec iov[2] = {
			{ &req, sizeof(req) }, { (void *)(uintptr_t)p, n },
		};
		struct waiter w;
		int ret;

		ret = request(c, &w, VFIO_USER_REGION_WRITE,
			      posted ? VFIO_USER_F_NO_REPLY : 0, iov, 2, NULL, 0);
		if (ret < 0)
			return ret;
		if (!posted) {
			ret = region_reply_check(&w, index, offset, n, true);
			reply_done(&w);
			if (ret < 0)
				return ret;
		}
		p += n;
		offset += n;
		len -= n;
	}
	return 0;
}

int
rte_vfio_user_client_region_write_multi(struct rte_vfio_user_client *c,
					const struct rte_vfio_user_client_write *wr,
					uint32_t n)
{
	struct vfio_user_write_multi_entry e[VFIO_USER_WRITE_MULTI_MAX];
	struct vfio_user_write_multi hdr;
	struct iovec iov[2];
	struct waiter w;
	int ret;

	for (uint32_t i = 0; i < n; i++)
		if (wr[i].count == 0 || wr[i].count > VFIO_USER_WRITE_MULTI_DATA)
			return -EINVAL;
	if (!c->caps.write_multi) {
		for (uint32_t i = 0; i < n; i++) {
			ret = rte_vfio_user_client_region_write(c, wr[i].region,
				wr[i].offset, wr[i].data, wr[i].count, false);
			if (ret < 0)
				return ret;
		}
		return 0;
	}
	while (n > 0) {
		uint32_t k = n < VFIO_USER_WRITE_MULTI_MAX ? n :
			VFIO_USER_WRITE_MULTI_MAX;

		for (uint32_t i = 0; i < k; i++) {
			memset(&e[i], 0, sizeof(e[i]));
			e[i].offset = wr[i].offset;
			e[i].region = wr[i].region;
			e[i].count = wr[i].count;
			memcpy(e[i].data, wr[i].data, wr[i].count);
		}
		hdr.wr_cnt = k;
		iov[0] = (struct iovec){ &hdr, sizeof(hdr) };
		iov[1] = (struct iovec){ e, k * sizeof(e[0]) };
		ret = request(c, &w, VFIO_USER_REGION_WRITE_MULTI, 0, iov, 2,
			      NULL, 0);
		if (ret < 0)
			return ret;
		if (w.size < sizeof(hdr) ||
		    ((const struct vfio_user_write_multi *)w.payload)->wr_cnt != k)
			ret = -EPROTO;
		reply_done(&w);
		if (ret < 0)
			return ret;
		wr += k;
		n -= k;
	}
	return 0;
}

/* Forget the newest window [iova, +size) (of vaddr, unless NULL); once
 * it returns, no server request reads or writes it any more. */
static void
win_remove(struct rte_vfio_user_client *c, uint64_t iova, uint64_t size,
	   const void *vaddr)
{
	pthread_mutex_lock(&c->dma_lock);
	for (uint32_t i = c->nwins; i-- > 0; ) {
		struct dma_win *w = &c->wins[i];

		if (w->iova == iova && w->size == size &&
		    (vaddr == NULL || w->vaddr == vaddr)) {
			memmove(w, w + 1, (c->nwins - i - 1) * sizeof(*w));
			c->nwins--;
			break;
		}
	}
	while (c->serving > 0)	/* a DMA_READ reply still being sent */
		pthread_cond_wait(&c->dma_idle, &c->dma_lock);
	pthread_mutex_unlock(&c->dma_lock);
}

/* Serve the server's DMA_READ / DMA_WRITE of [iova, +size) from vaddr:
 * from before the DMA_MAP is sent, as the server may use the memory as
 * soon as it has mapped it, before we see its reply. */
static int
win_add(struct rte_vfio_user_client *c, uint64_t iova, uint64_t size,
	void *vaddr, uint32_t prot)
{
	struct dma_win *nw;

	pthread_mutex_lock(&c->dma_lock);
	nw = realloc(c->wins, (c->nwins + 1) * sizeof(*nw));
	if (nw == NULL) {
		pthread_mutex_unlock(&c->dma_lock);
		return -ENOMEM;
	}
	c->wins = nw;
	c->wins[c->nwins++] = (struct dma_win){ iova, size, vaddr, prot };
	pthread_mutex_unlock(&c->dma_lock);
	return 0;
}

/* Requests of a bulk call in flight at once: message ids are 16 bits, and
 * the replies of a batch wait in the server's output queue. */
#define BATCH 256u
/* Bytes of a batch's requests and replies together, at most (one request
 * may be more): under VU_OUT_HIGH, so that neither side's output queue of
 * them makes it stop reading the other, which would wait on it in turn. */
#define BATCH_BYTES ((size_t)VU_MAX_MSG_SIZE)

/*
 * n requests, pipelined: a batch's requests all go before its first reply
 * is awaited, so a round trip per batch, not per request. send(i) sends
 * the i-th; done(i, err, w) takes the outcome of each one sent (with
 * err 0, w holds the reply: done may check it and return another error).
 * A failed send stops it; so does an error (once its batch is answered)
 * unless keep_going. Returns 0, or the first failure's -errno with its
 * index in failed; the requests from sent on were not sent.
 *
 * The server serves a batch in order: a request times out when the
 * server answered nothing for the timeout (since its send, or since the
 * reply before it), not when the whole batch took longer than that.
 */
struct batch {
	struct rte_vfio_user_client *c;
	const char *what;	/* the command, for the log */
	const struct rte_vfio_user_client_dma_region *r;	/* DMA */
	const struct rte_vfio_user_client_access *a;	/* region access */
	int (*send)(struct batch *b, uint32_t i, struct waiter *w,
		    uint64_t *deadline_ms);
	int (*done)(struct batch *b, uint32_t i, int err,
		    const struct waiter *w);
	size_t (*bytes)(struct batch *b, uint32_t i); /* of request and
						       * reply (NULL: few) */
	bool keep_going;
	struct rte_vfio_user_client_dma_region *made; /* bulk map: maps the
						       * server made, or may
						       * have (no reply) */
	uint32_t nmade;
	uint32_t nok;		/* requests the server did */
	uint32_t unanswered;	/* requests that timed out */
	uint32_t failed, sent;
};

static int
batch_run(struct batch *b, uint32_t n)
{
	const uint32_t k_max = RTE_MIN(n, BATCH);
	struct waiter w1, *w = k_max == 1 ? &w1 : calloc(k_max, sizeof(*w));
	uint64_t d1,
		*deadline = k_max == 1 ? &d1 : calloc(k_max, sizeof(*deadline));
	bool stop = false;
	int ret = 0;

	b->failed = n;
	b->sent = 0;
	if (w == NULL || deadline == NULL) {
		ret = -ENOMEM;
		b->failed = 0;
		goto out;
	}
	for (uint32_t base = 0, sent = 0; base < n && !stop; base += sent) {
		uint32_t k = RTE_MIN(n - base, BATCH);
		uint64_t progress = 0;	/* last reply's time + timeout */
		size_t bytes = 0;

		for (sent = 0; sent < k; sent++) {
			size_t more = b->bytes ? b->bytes(b, base + sent) : 0;
			int err;

			if (sent > 0 && bytes + more > BATCH_BYTES)
				break;	/* the rest in the next batch */
			bytes += more;
			err = b->send(b, base + sent, &w[sent],
				      &deadline[sent]);

			if (err < 0) {
				if (b->failed > base + sent) {
					b->failed = base + sent;
					ret = err;
				}
				stop = true;
				break;
			}
		}
		b->sent = base + sent;
		for (uint32_t i = 0; i < sent; i++) {
			uint64_t dl = RTE_MAX(deadline[i], progress);
			int err = request_wait(b->c, &w[i], dl, true);

			if (err == 0)
				b->nok++;
			if (err != -ETIMEDOUT)	/* an answer */
				progress = vu_now_ms() + b->c->conf.timeout_ms;
			else
				b->unanswered++;
			err = b->done(b, base + i, err, &w[i]);
			reply_done(&w[i]);	/* (nothing left after an error) */
			if (err < 0 && b->failed > base + i) {
				b->failed = base + i;
				ret = err;
			}
			if (err < 0 && !b->keep_going)
				stop = true;
		}
	}
	if (b->unanswered > 0)	/* once, not per request */
		VU_LOG(ERR, "%s: %u of %u %s requests unanswered in %u ms",
		       b->c->path, b->unanswered, b->sent, b->what,
		       b->c->conf.timeout_ms);
out:
	if (w != &w1)
		free(w);
	if (deadline != &d1)
		free(deadline);
	return ret;
}

/* Send the DMA_MAP of r[i] (its window first); -errno: nothing in flight. */
static int
dma_map_send(struct batch *b, uint32_t i, struct waiter *w,
	     uint64_t *deadline_ms)
{
	const struct rte_vfio_user_client_dma_region *r = &b->r[i];
	struct vfio_user_dma_map req = {
		.argsz = sizeof(req),
		.flags = r->prot,
		.offset = r->fd < 0 ? 0 : r->fd_offset,
		.addr = r->iova,
		.size = r->size,
	};
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };
	int ret;

	if (r->vaddr != NULL) {
		ret = win_add(b->c, r->iova, r->size, r->vaddr, r->prot);
		if (ret < 0)
			return ret;
	}
	ret = request_send(b->c, w, VFIO_USER_DMA_MAP, 0, &iov, 1,
			   r->fd >= 0 ? &r->fd : NULL, r->fd >= 0 ? 1 : 0,
			   deadline_ms);
	if (ret < 0 && r->vaddr != NULL)
		win_remove(b->c, r->iova, r->size, r->vaddr);
	return ret;
}

/* A map made, or perhaps made (no reply: the server may still do it), is
 * one a rollback unmaps; its window stays until then. */
static int
dma_map_done(struct batch *b, uint32_t i, int err, const struct waiter *w)
{
	const struct rte_vfio_user_client_dma_region *r = &b->r[i];

	RTE_SET_USED(w);
	if (err == 0 || err == -ETIMEDOUT)
		b->made[b->nmade++] = *r;
	else if (r->vaddr != NULL)
		win_remove(b->c, r->iova, r->size, r->vaddr);
	return err;
}

static int
dma_unmap_send(struct batch *b, uint32_t i, struct waiter *w,
	       uint64_t *deadline_ms)
{
	struct vfio_user_dma_unmap req = {
		.argsz = sizeof(req),
		.addr = b->r[i].iova,
		.size = b->r[i].size,
	};
	struct iovec iov = { .iov_base = &req, .iov_len = sizeof(req) };

	return request_send(b->c, w, VFIO_USER_DMA_UNMAP, 0, &iov, 1, NULL, 0,
			    deadline_ms);
}

/* Whatever the server answered (or did not): the caller takes the memory
 * back, the server's requests for it are refused from now. */
static int
dma_unmap_done(struct batch *b, uint32_t i, int err, const struct waiter *w)
{
	RTE_SET_USED(w);
	win_remove(b->c, b->r[i].iova, b->r[i].size, NULL);
	return err;
}

/* Unmap r[0, n) (the windows are dropped whatever happens); the number
 * the server did in *nok. */
static int
dma_unmap_run(struct rte_vfio_user_client *c,
	      const struct rte_vfio_user_client_dma_region *r, uint32_t n,
	      uint32_t *nok)
{
	struct batch b = {
		.c = c,
		.what = "DMA_UNMAP",
		.r = r,
		.send = dma_unmap_send,
		.done = dma_unmap_done,
		.keep_going = true, /* one refused stops nothing */
	};
	int ret = n > 0 ? batch_run(&b, n) : 0;

	for (uint32_t i = b.sent; i < n; i++) /* not sent: taken back too */
		dma_unmap_done(&b, i, ret, NULL);
	*nok = b.nok;
	return ret;
}

int
rte_vfio_user_client_dma_map_bulk(
	struct rte_vfio_user_client *c,
	const struct rte_vfio_user_client_dma_region *r, uint32_t n)
{
	struct rte_vfio_user_client_dma_region made1;
	struct batch b = {
		.c = c,
		.what = "DMA_MAP",
		.r = r,
		.send = dma_map_send,
		.done = dma_map_done,
	};
	uint32_t undone = 0;
	int ret, err;

	for (uint32_t i = 0; i < n; i++)
		if (r[i].fd < 0 && r[i].vaddr == NULL)
			return -EINVAL;
	if (n == 0)
		return 0;
	b.made = n == 1 ? &made1 : calloc(n, sizeof(*b.made));
	if (b.made == NULL)
		return -ENOMEM;
	ret = batch_run(&b, n);
	if (ret < 0) {
		/* all or nothing: take back what the server made, or may
		 * have made (a map that got no reply) */
		err = dma_unmap_run(c, b.made, b.nmade, &undone);
		if (n > 1 || err < 0 || ret == -ETIMEDOUT)
			VU_LOG(ERR,
			       "%s: DMA_MAP [0x%" PRIx64 ", +0x%" PRIx64
			       "), %u of %u: %s; %u of the %u maps made undone%s",
			       c->path, r[b.failed].iova, r[b.failed].size,
			       b.failed + 1, n, strerror(-ret), undone, b.nmade,
			       err < 0 ? " (the others: unmap failed)" : "");
	}
	if (b.made != &made1)
		free(b.made);
	return ret;
}

/* ---- region accesses, pipelined ---- */

static int
access_send(struct batch *b, uint32_t i, struct waiter *w,
	    uint64_t *deadline_ms)
{
	const struct rte_vfio_user_client_access *a = &b->a[i];
	struct vfio_user_region_access req = {
		.offset = a->offset,
		.region = a->region,
		.count = a->len,
	};
	struct iovec iov[2] = {
		{ &req, sizeof(req) },
		{ a->buf, a->len },
	};

	return request_send(b->c, w,
			    a->write ? VFIO_USER_REGION_WRITE :
				       VFIO_USER_REGION_READ,
			    0, iov, a->write ? 2 : 1, NULL, 0, deadline_ms);
}

static size_t
access_bytes(struct batch *b, uint32_t i)
{
	return 2 * sizeof(struct vfio_user_header) +
	       2 * sizeof(struct vfio_user_region_access) + b->a[i].len;
}

/* The reply must echo the access (a read's with its data, copied out). */
static int
access_done(struct batch *b, uint32_t i, int err, const struct waiter *w)
{
	const struct rte_vfio_user_client_access *a = &b->a[i];
	const struct vfio_user_region_access *rep = (const void *)w->payload;

	if (err == 0)
		err = region_reply_check(w, a->region, a->offset, a->len,
					 a->write);
	if (err == 0 && !a->write)
		memcpy(a->buf, rep->data, a->len);
	return err;
}

int
rte_vfio_user_client_region_access_bulk(
	struct rte_vfio_user_client *c,
	const struct rte_vfio_user_client_access *a, uint32_t n,
	uint32_t *failed)
{
	struct batch b = {
		.c = c,
		.what = "REGION_READ/WRITE",
		.a = a,
		.send = access_send,
		.done = access_done,
		.bytes = access_bytes,
	};
	int ret;

	if (failed != NULL)
		*failed = n;
	for (uint32_t i = 0; i < n; i++)
		if (a[i].len == 0 || a[i].len > xfer_chunk(c) ||
		    a[i].buf == NULL)
			return -EINVAL;
	if (n == 0)
		return 0;
	ret = batch_run(&b, n);
	if (ret < 0 && failed != NULL)
		*failed = b.failed;
	return ret;
}

int
rte_vfio_user_client_dma_map(struct rte_vfio_user_client *c, uint64_t iova,
			     uint64_t size, void *vaddr, int fd,
			     uint64_t fd_offset, uint32_t prot)
{
	const struct rte_vfio_user_client_dma_region r = {
		.iova = iova,
		.size = size,
		.vaddr = vaddr,
		.fd_offset = fd_offset,
		.fd = fd,
		.prot = prot,
	};

	return rte_vfio_user_client_dma_map_bulk(c, &r, 1);
}

int
rte_vfio_user_client_dma_unmap_bulk(
	struct rte_vfio_user_client *c,
	const struct rte_vfio_user_client_dma_region *r, uint32_t n)
{
	uint32_t nok;

	return dma_unmap_run(c, r, n, &nok);
}

int
rte_vfio_user_client_dma_unmap(struct rte_vfio_user_client *c, uint64_t iova,
			       uint64_t size)
{
	const struct rte_vfio_user_client_dma_region r = {
		.iova = iova,
		.size = size,
	};

	return rte_vfio_user_client_dma_unmap_bulk(c, &r, 1);
}

/* A reply of head bytes, then a bitmap of at most bitmap_size bytes:
 * the bitmap into bitmap. */
static int
reply_bitmap(const struct waiter *w, size_t head, uint64_t *bitmap,
	     uint64_t bitmap_size)
{
	if (w->size < head || w->size - head > bitmap_size)
		return -EPROTO;
	memcpy(bitmap, w->payload + head, w->size - head);
	return 0;
}

int
rte_vfio_user_client_dma_unmap_dirty(struct rte_vfio_user_client *c,
				     uint64_t iova, uint64_t size,
				     uint64_t pgsize, uint64_t *bitmap,
				     uint64_t bitmap_size)
{
	struct vfio_user_dma_unmap req = {
		.flags = VFIO_USER_DMA_UNMAP_F_GET_DIRTY_BITMAP,
		.addr = iova,
		.size = size,
	};
	struct vfio_user_bitmap bm = { .pgsize = pgsize, .size = bitmap_size };
	struct iovec iov[2] = { { &req, sizeof(req) }, { &bm, sizeof(bm) } };
	const size_t head = sizeof(req) + sizeof(bm);
	struct waiter w;
	int ret;

	if (bitmap == NULL || bitmap_size > VU_MAX_XFER)
		return -EINVAL;
	/* the reply: both structs again, then the bitmap */
	req.argsz = (uint32_t)(head + bitmap_size);
	ret = request(c, &w, VFIO_USER_DMA_UNMAP, 0, iov, 2, NULL, 0);
	if (ret == 0) {
		ret = reply_bitmap(&w, head, bitmap, bitmap_size);
		reply_done(&w);
	}
	/* as rte_vfio_user_client_dma_unmap(): whatever the outcome */
	win_remove(c, iova, size, NULL);
	return ret;
}

int
rte_vfio_user_client_reset(struct rte_vfio_user_client *c)
{
	struct waiter w;
	int ret;

	ret = request(c, &w, VFIO_USER_DEVICE_RESET, 0, NULL, 0, NULL, 0);
	if (ret == 0)
		reply_done(&w);
	return ret;
}

int
rte_vfio_user_client_dirty_pages(struct rte_vfio_user_client *c,
				 uint32_t flags, uint64_t iova, uint64_t size,
				 uint64_t pgsize, uint64_t *bitmap,
				 uint64_t bitmap_size)
{
	struct vfio_user_dirty_pages dp = { .argsz = sizeof(dp), .flags = flags };
	struct vfio_user_bitmap_range rg = {
		.iova = iova, .size = size,
		.bitmap = { .pgsize = pgsize, .size = bitmap_size },
	};
	struct iovec iov[2] = { { &dp, sizeof(dp) }, { &rg, sizeof(rg) } };
	bool get = flags == VFIO_USER_DIRTY_PAGES_F_GET_BITMAP;
	struct waiter w;
	int ret;

	if (get) {
		if (bitmap == NULL ||
		    bitmap_size > VU_MAX_XFER)
			return -EINVAL;
		dp.argsz = (uint32_t)(sizeof(dp) + sizeof(rg) + bitmap_size);
	}
	ret = request(c, &w, VFIO_USER_DIRTY_PAGES, 0, iov, get ? 2 : 1, NULL, 0);
	if (ret < 0)
		return ret;
	if (get)
		ret = reply_bitmap(&w, sizeof(dp) + sizeof(rg), bitmap,
				   bitmap_size);
	reply_done(&w);
	return ret;
}

/* ---- migration and DMA logging (DEVICE_FEATURE, MIG_DATA_*) ---- */

/*
 * One DEVICE_FEATURE: data of len bytes out, the reply's data (after the
 * 8-byte header, reply_len bytes at most, the exact size in *got) back.
 */
static int
feature(struct rte_vfio_user_client *c, uint32_t flags, uint32_t argsz,
	const void *data, uint32_t len, void *reply, uint32_t reply_len,
	uint32_t *got)
{
	struct vfio_user_device_feature f = { .argsz = argsz, .flags = flags };
	struct iovec iov[2] = {
		{ &f, sizeof(f) },
		{ (void *)(uintptr_t)data, len },
	};
	const struct vfio_user_device_feature *rep;
	struct waiter w;
	int ret;

	ret = request(c, &w, VFIO_USER_DEVICE_FEATURE, 0, iov, len ? 2 : 1,
		      NULL, 0);
	if (ret < 0)
		return ret;
	rep = (const void *)w.payload;
	if (w.size < sizeof(*rep) || w.nfds != 0 || rep->flags != flags ||
	    w.size - sizeof(*rep) > reply_len) {
		ret = -EPROTO;
	} else {
		memcpy(reply, rep->data, w.size - sizeof(*rep));
		if (got != NULL)
			*got = w.size - (uint32_t)sizeof(*rep);
	}
	reply_done(&w);
	return ret;
}

/*
 * A DEVICE_FEATURE whose reply data is exactly reply_len bytes (argsz:
 * room for them after the header).
 */
static int
feature_fixed(struct rte_vfio_user_client *c, uint32_t flags, const void *data,
	      uint32_t len, void *reply, uint32_t reply_len)
{
	uint32_t got = 0;
	int ret;

	ret = feature(c, flags,
		      (uint32_t)sizeof(struct vfio_user_device_feature) +
			      reply_len,
		      data, len, reply, reply_len, &got);
	if (ret == 0 && got != reply_len)
		ret = -EPROTO;
	return ret;
}

/* A well-formed GET of a migration feature refused: the device is not
 * migratable (EINVAL from libvfio-user's servers and ours, ENOTTY as
 * Linux's vfio, ENOTSUP from servers of before). */
static int
mig_refused(int ret)
{
	return ret == -EINVAL || ret == -ENOTTY ? -ENOTSUP : ret;
}

int
rte_vfio_user_client_mig_flags(struct rte_vfio_user_client *c, uint64_t *flags)
{
	struct vfio_user_device_feature_migration m;
	int ret;

	ret = feature_fixed(c,
			    VFIO_USER_DEVICE_FEATURE_GET |
				    VFIO_USER_FEATURE_MIGRATION,
			    NULL, 0, &m, sizeof(m));
	if (ret == 0)
		*flags = m.flags;
	return mig_refused(ret);
}

int
rte_vfio_user_client_mig_get_state(struct rte_vfio_user_client *c,
				   uint32_t *state)
{
	struct vfio_user_device_feature_mig_state st;
	int ret;

	ret = feature_fixed(c,
			    VFIO_USER_DEVICE_FEATURE_GET |
				    VFIO_USER_FEATURE_MIG_DEVICE_STATE,
			    NULL, 0, &st, sizeof(st));
	if (ret == 0)
		*state = st.device_state;
	return mig_refused(ret);
}

int
rte_vfio_user_client_mig_set_state(struct rte_vfio_user_client *c,
				   uint32_t state)
{
	struct vfio_user_device_feature_mig_state st = {
		.device_state = state, .data_fd = UINT32_MAX,
	}, rep;
	int ret;

	ret = feature_fixed(c,
			    VFIO_USER_DEVICE_FEATURE_SET |
				    VFIO_USER_FEATURE_MIG_DEVICE_STATE,
			    &st, sizeof(st), &rep, sizeof(rep));
	if (ret == 0 && rep.device_state != state)
		ret = -EPROTO;
	return ret;
}

ssize_t
rte_vfio_user_client_mig_read(struct rte_vfio_user_client *c, void *buf,
			      size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		/* the data comes to us: within our max_data_xfer_size too */
		uint32_t n = (uint32_t)
			RTE_MIN(len - done, (size_t)RTE_MIN(xfer_chunk(c),
							    c->conf.max_xfer));
		struct vfio_user_mig_data req = {
			.argsz = (uint32_t)sizeof(req) + n,
			.size = n,
		};
		const struct vfio_user_mig_data *rep;
		struct waiter w;
		uint32_t got;
		int ret;

		ret = request1(c, &w, VFIO_USER_MIG_DATA_READ, &req,
			       sizeof(req), NULL, 0);
		if (ret < 0)
			return ret;
		rep = (const void *)w.payload;
		if (w.size < sizeof(*rep) || rep->size > n ||
		    w.size != sizeof(*rep) + rep->size) {
			reply_done(&w);
			return -EPROTO;
		}
		got = rep->size;
		memcpy(p + done, rep->data, got);
		done += got;
		reply_done(&w);
		if (got < n)
			break;	/* no more data */
	}
	return (ssize_t)done;
}

int
rte_vfio_user_client_mig_write(struct rte_vfio_user_client *c, const void *buf,
			       size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		uint32_t n = (uint32_t)RTE_MIN(len, (size_t)xfer_chunk(c));
		struct vfio_user_mig_data req = {
			.argsz = (uint32_t)sizeof(req) + n,
			.size = n,
		};
		struct iovec iov[2] = {
			{ &req, sizeof(req) },
			{ (void *)(uintptr_t)p, n },
		};
		struct waiter w;
		int ret;

		ret = request(c, &w, VFIO_USER_MIG_DATA_WRITE, 0, iov, 2, NULL,
			      0);
		if (ret < 0)
			return ret;
		reply_done(&w);
		p += n;
		len -= n;
	}
	return 0;
}

int
rte_vfio_user_client_dma_logging_start(
	struct rte_vfio_user_client *c, uint64_t *page_size,
	const struct vfio_user_dma_logging_range *ranges, uint32_t nranges)
{
	struct vfio_user_dma_logging_control *ctl;
	size_t len = sizeof(*ctl) + (size_t)nranges * sizeof(*ranges);
	uint32_t got = 0;
	int ret;

	if (page_size == NULL || (nranges > 0 && ranges == NULL) ||
	    len > VU_MAX_XFER)
		return -EINVAL;
	ctl = calloc(1, len);
	if (ctl == NULL)
		return -ENOMEM;
	ctl->page_size = *page_size;
	ctl->num_ranges = nranges;
	if (nranges > 0)
		memcpy(ctl + 1, ranges, (size_t)nranges * sizeof(*ranges));
	ret = feature(c,
		      VFIO_USER_DEVICE_FEATURE_SET |
			      VFIO_USER_FEATURE_DMA_LOGGING_START,
		      (uint32_t)(sizeof(struct vfio_user_device_feature) + len),
		      ctl, (uint32_t)len, ctl, (uint32_t)len, &got);
	if (ret == 0 && got < sizeof(*ctl))
		ret = -EPROTO;
	if (ret == 0)
		*page_size = ctl->page_size;
	free(ctl);
	return ret;
}

int
rte_vfio_user_client_dma_logging_stop(struct rte_vfio_user_client *c)
{
	uint8_t none;

	return feature_fixed(c,
			     VFIO_USER_DEVICE_FEATURE_SET |
				     VFIO_USER_FEATURE_DMA_LOGGING_STOP,
			     NULL, 0, &none, 0);
}

int
rte_vfio_user_client_dma_logging_report(struct rte_vfio_user_client *c,
					uint64_t iova, uint64_t length,
					uint64_t page_size, uint64_t *bitmap,
					uint64_t bitmap_size)
{
	struct vfio_user_dma_logging_report rq = {
		.iova = iova,
		.length = length,
		.page_size = page_size,
	};
	uint64_t pages, need;
	uint8_t *rep;
	int ret;

	if (page_size == 0 || (page_size & (page_size - 1)) || length == 0 ||
	    bitmap == NULL)
		return -EINVAL;
	pages = length / page_size + (length % page_size != 0);
	need = (pages + 63) / 64 * 8;
	if (bitmap_size < need || need > VU_MAX_XFER)
		return -EINVAL;
	rep = malloc(sizeof(rq) + need);
	if (rep == NULL)
		return -ENOMEM;
	ret = feature_fixed(c,
			    VFIO_USER_DEVICE_FEATURE_GET |
				    VFIO_USER_FEATURE_DMA_LOGGING_REPORT,
			    &rq, sizeof(rq), rep,
			    (uint32_t)(sizeof(rq) + need));
	if (ret == 0 && memcmp(rep, &rq, sizeof(rq)) != 0)
		ret = -EPROTO;
	if (ret == 0)
		memcpy(bitmap, rep + sizeof(rq), need);
	free(rep);
	return ret;
}
