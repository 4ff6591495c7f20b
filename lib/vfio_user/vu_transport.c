/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>

#include "vu_log.h"
#include "vu_transport.h"

/* The kernel's limit (SCM_MAX_FD): room to see, and refuse, every fd. */
#define RX_CMSG_FDS 253

void
vu_close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/*
 * A message buffer: an anonymous mapping whose pages are backed only once
 * touched, also in a process that locks its future mappings
 * (mlockall(MCL_FUTURE), as testpmd does): malloc() of a buffer this size
 * gets an mmap() that such a process populates and locks at once, a MiB
 * per buffer and two buffers per connection, most of which only a rare
 * large message would ever use (and faulting them in made each
 * connection's first message wait milliseconds). An access past the end
 * hits a guard page.
 */
static size_t
buf_span(size_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return RTE_ALIGN_CEIL(size, pg) + pg;	/* and a guard page */
}

void *
vu_buf_alloc(size_t size)
{
	size_t span = buf_span(size);
	void *p = mmap(NULL, span, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	munlock(p, span);	/* fails harmlessly when nothing is locked */
	if (mprotect(p, size, PROT_READ | PROT_WRITE) < 0) {
		munmap(p, span);
		return NULL;
	}
	return p;
}

void
vu_buf_free(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, buf_span(size));
}

int
vu_rx_init(struct vu_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->buf = vu_buf_alloc(VU_MAX_MSG_SIZE);
	if (rx->buf == NULL)
		return -ENOMEM;
	rx->want = sizeof(struct vfio_user_header);
	return 0;
}

void
vu_rx_next(struct vu_rx *rx)
{
	vu_close_fds(rx->fds, rx->nfds);
	rx->nfds = 0;
	rx->fds_overflow = false;
	rx->have = 0;
	rx->want = sizeof(struct vfio_user_header);
}

void
vu_rx_abort(struct vu_rx *rx)
{
	rx->discard = 0;
	vu_rx_next(rx);
}

void
vu_rx_fini(struct vu_rx *rx)
{
	if (rx->buf == NULL)
		return;
	vu_rx_next(rx);
	vu_buf_free(rx->buf, VU_MAX_MSG_SIZE);
	rx->buf = NULL;
}

bool
vu_rx_partial(const struct vu_rx *rx)
{
	return rx->have > 0 || rx->discard > 0;
}

static void
rx_take_fds(struct vu_rx *rx, struct msghdr *mh)
{
	struct cmsghdr *c;

	if (mh->msg_flags & MSG_CTRUNC)
		rx->fds_overflow = true;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;
		int *in;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		in = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int f;

			memcpy(&f, &in[i], sizeof(f));
			if (rx->nfds < VU_MAX_MSG_FDS) {
				rx->fds[rx->nfds++] = f;
			} else {
				close(f);
				rx->fds_overflow = true;
			}
		}
	}
}

/*
 * Reads on until a message is whole or the socket is empty: VU_RX_AGAIN
 * must mean "nothing more to read now", as the caller takes AGAIN with a
 * hang-up for the end of the stream (returning it after the header or a
 * discarded chunk lost messages sent just before a close).
 */
enum vu_rx_status
vu_rx_read(int fd, struct vu_rx *rx)
{
	union {
		char buf[CMSG_SPACE(RX_CMSG_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { 0 };
	struct iovec iov;
	uint8_t scratch[4096];
	ssize_t r;

again:
	if (rx->discard > 0) {
		iov.iov_base = scratch;
		iov.iov_len = rx->discard < sizeof(scratch) ?
			rx->discard : sizeof(scratch);
	} else {
		iov.iov_base = rx->buf + rx->have;
		iov.iov_len = rx->want - rx->have;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);

	do {
		r = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return VU_RX_AGAIN;
		rx->err = -errno;
		return VU_RX_ERROR;
	}
	if (r == 0)
		return VU_RX_CLOSED;

	if (rx->discard > 0) {
		/* fds riding on a dropped message are dropped with it */
		struct vu_rx tmp = { .nfds = 0 };

		rx_take_fds(&tmp, &mh);
		vu_close_fds(tmp.fds, tmp.nfds);
		rx->discard -= (uint64_t)r;
		goto again;
	}

	rx_take_fds(rx, &mh);
	rx->have += (uint32_t)r;
	if (rx->have < rx->want)
		goto again;

	if (rx->want == sizeof(struct vfio_user_header)) {
		uint32_t size = vu_rx_hdr(rx)->msg_size;

		if (size > VU_MAX_MSG_SIZE) {
			rx->discard = size - sizeof(struct vfio_user_header);
			return VU_RX_OVERSIZE;
		}
		if (size > rx->want) {
			rx->want = size;
			goto again;
		}
		/* size <= 16: the header is the whole message; a size below
		 * 16 is refused by the dispatcher */
	}
	return VU_RX_MSG;
}

uint64_t
vu_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
vu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
vu_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

struct timespec
vu_deadline_ts(uint64_t deadline_ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ms / 1000),
		.tv_nsec = (long)(deadline_ms % 1000) * 1000000L,
	};

	return ts;
}

/* One non-blocking sendmsg of iovecs v[0..cnt) with fds (NULL: none).
 * Bytes sent, or -errno (-EAGAIN: the socket is full). */
static ssize_t
send_some(int fd, const struct iovec *v, unsigned int cnt, const int *fds,
	  unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(VU_MAX_MSG_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {
		.msg_iov = (struct iovec *)(uintptr_t)v,
		.msg_iovlen = cnt,
	};
	ssize_t r;

	if (fds != NULL && nfds > 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		memset(ctl.buf, 0, mh.msg_controllen);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do {
		r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

/* Drop the first r bytes of v[*i..cnt), splitting a partly sent iovec. */
static void
iov_advance(struct iovec *v, unsigned int cnt, unsigned int *i, size_t r)
{
	while (*i < cnt && r >= v[*i].iov_len) {
		r -= v[*i].iov_len;
		(*i)++;
	}
	if (*i < cnt) {
		v[*i].iov_base = (uint8_t *)v[*i].iov_base + r;
		v[*i].iov_len -= r;
	}
}

/* hdr + iov into v[]: returns the count, sets msg_size; -errno. */
static int
msg_iov(struct iovec *v, unsigned int max, struct vfio_user_header *hdr,
	const struct iovec *iov, unsigned int iovcnt)
{
	size_t total = sizeof(*hdr);

	if (iovcnt > max - 1)
		return -EINVAL;
	v[0].iov_base = hdr;
	v[0].iov_len = sizeof(*hdr);
	for (unsigned int i = 0; i < iovcnt; i++) {
		v[i + 1] = iov[i];
		total += iov[i].iov_len;
	}
	if (total > UINT32_MAX)
		return -E2BIG;
	hdr->msg_size = (uint32_t)total;
	return (int)iovcnt + 1;
}

/* ---- output queue ---- */

struct vu_out_chunk {
	struct vu_out_chunk *next;
	size_t len;
	size_t off;			/* sent so far */
	int fds[VU_MAX_MSG_FDS];	/* ours (duplicates): go with byte 0 */
	unsigned int nfds;
	bool reply;			/* (the rest of) a reply */
	uint8_t data[];
};

int
vu_out_init(struct vu_out *o)
{
	memset(o, 0, sizeof(*o));
	o->tail = &o->head;
	pthread_mutex_init(&o->lock, NULL);
	vu_cond_init_monotonic(&o->drained);
	return 0;
}

static void
chunk_free(struct vu_out_chunk *k)
{
	vu_close_fds(k->fds, k->nfds);
	free(k);
}

void
vu_out_fini(struct vu_out *o)
{
	if (o->tail == NULL)
		return;		/* never initialised */
	while (o->head != NULL) {
		struct vu_out_chunk *k = o->head;

		o->head = k->next;
		chunk_free(k);
	}
	o->tail = NULL;
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->drained);
}

/*
 * The kernel refuses the fds of the message whose header is h, for now
 * (ETOOMANYREFS: this user's fds in flight exceed RLIMIT_NOFILE, the
 * socket is fine). Nothing would say when to try again, so a reply cannot
 * wait: h becomes an error reply (ETOOMANYREFS, no payload, no fds) and
 * true is returned. false for a request (its sender waits and tries
 * again) and the answer to VERSION (whose side effects are done: that
 * peer goes).
 */
static bool
refused_reply_to_error(const struct vu_out *o, struct vfio_user_header *h)
{
	if ((h->flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_REPLY ||
	    h->cmd == VFIO_USER_VERSION)
		return false;
	VU_LOG(ERR,
	       "%s: reply to command %u (id %u): its fds refused: %s (this "
	       "user's fds in flight exceed RLIMIT_NOFILE); sent as an error",
	       o->name != NULL ? o->name : "socket", h->cmd, h->msg_id,
	       strerror(ETOOMANYREFS));
	h->flags |= VFIO_USER_F_ERROR;
	h->error_no = ETOOMANYREFS;
	h->msg_size = sizeof(*h);
	return true;
}

int
vu_out_send(struct vu_out *o, int fd, struct vfio_user_header *hdr,
	    const struct iovec *iov, unsigned int iovcnt, const int *fds,
	    unsigned int nfds)
{
	struct vfio_user_header eh;
	struct iovec v[8];
	struct vu_out_chunk *k;
	unsigned int i = 0, cnt;
	size_t left = 0;
	bool fds_sent = nfds == 0;
	int ret;

	if (nfds > VU_MAX_MSG_FDS)
		return -EINVAL;
	ret = msg_iov(v, RTE_DIM(v), hdr, iov, iovcnt);
	if (ret < 0)
		return ret;
	cnt = (unsigned int)ret;
	pthread_mutex_lock(&o->lock);
	if (o->err != 0) {
		ret = o->err;
		goto out;
	}
	if (!fds_sent && o->fds_now && o->head != NULL) {
		ret = -EAGAIN;
		goto out;
	}
	while (o->head == NULL && i < cnt) {
		ssize_t r = send_some(fd, &v[i], cnt - i,
				      fds_sent ? NULL : fds, nfds);

		if (r == -EAGAIN && !fds_sent && o->fds_now) {
			ret = -EAGAIN;
			goto out;
		}
		if (r == -EAGAIN)
			break;
		if (r == -ETOOMANYREFS && !fds_sent) {
			/* nothing of it went out: the stream is whole. A
			 * reply goes as an error; anything else is the
			 * caller's to try again once the peer took some */
			eh = *hdr;
			if (!refused_reply_to_error(o, &eh)) {
				ret = (int)r;
				goto out;
			}
			v[0] = (struct iovec){ &eh, sizeof(eh) };
			cnt = 1;
			fds_sent = true;
			continue;
		}
		if (r < 0) {
			o->err = (int)r;
			ret = (int)r;
			goto out;
		}
		fds_sent = true;	/* they ride on the first byte */
		iov_advance(v, cnt, &i, (size_t)r);
	}
	if (i == cnt) {
		ret = 0;
		goto out;
	}
	for (unsigned int j = i; j < cnt; j++)
		left += v[j].iov_len;
	k = malloc(sizeof(*k) + left);
	if (k == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	k->next = NULL;
	k->len = left;
	k->off = 0;
	k->nfds = 0;
	for (size_t at = 0; i < cnt; i++) {
		memcpy(k->data + at, v[i].iov_base, v[i].iov_len);
		at += v[i].iov_len;
	}
	for (; !fds_sent && k->nfds < nfds; k->nfds++) {
		/* the caller keeps (and may close) its fds */
		k->fds[k->nfds] = fcntl(fds[k->nfds], F_DUPFD_CLOEXEC, 0);
		if (k->fds[k->nfds] < 0) {
			ret = -errno;	/* nothing of it went out: no harm */
			chunk_free(k);
			goto out;
		}
	}
	if (o->head == NULL)
		o->progress_ms = vu_now_ms();
	*o->tail = k;
	o->tail = &k->next;
	o->bytes += left;
	k->reply = (hdr->flags & VFIO_USER_F_TYPE_MASK) ==
		   VFIO_USER_F_TYPE_REPLY;
	if (k->reply)
		o->reply_bytes += left;
	ret = 1;
out:
	pthread_mutex_unlock(&o->lock);
	return ret;
}

/*
 * The kernel refuses the fds of k, the head chunk, for now: a reply is
 * turned into an error reply (refused_reply_to_error()), which goes at
 * once; 0, or -1 if k cannot be.
 */
static int
chunk_refused_fds(struct vu_out *o, struct vu_out_chunk *k)
{
	struct vfio_user_header h;

	if (k->off != 0 || k->len < sizeof(h))
		return -1;
	memcpy(&h, k->data, sizeof(h));
	if (!refused_reply_to_error(o, &h))
		return -1;
	memcpy(k->data, &h, sizeof(h));
	o->bytes -= k->len - sizeof(h);
	o->reply_bytes -= k->len - sizeof(h);
	k->len = sizeof(h);
	vu_close_fds(k->fds, k->nfds);
	k->nfds = 0;
	return 0;
}

ssize_t
vu_out_flush(struct vu_out *o, int fd)
{
	ssize_t ret;

	pthread_mutex_lock(&o->lock);
	while (o->head != NULL && o->err == 0) {
		struct vu_out_chunk *k = o->head;
		struct iovec v = { k->data + k->off, k->len - k->off };
		ssize_t r = send_some(fd, &v, 1, k->off == 0 ? k->fds : NULL,
				      k->off == 0 ? k->nfds : 0);

		if (r == -EAGAIN)
			break;
		if (r == -ETOOMANYREFS && chunk_refused_fds(o, k) == 0)
			continue;
		if (r < 0) {
			o->err = (int)r;
			break;
		}
		if (k->off == 0)	/* the kernel holds them now */
			vu_close_fds(k->fds, k->nfds);
		k->nfds = 0;
		k->off += (size_t)r;
		o->bytes -= (size_t)r;
		if (k->reply)
			o->reply_bytes -= (size_t)r;
		o->progress_ms = vu_now_ms();
		if (k->off == k->len) {
			o->head = k->next;
			if (o->head == NULL)
				o->tail = &o->head;
			chunk_free(k);
		}
	}
	ret = o->err != 0 ? o->err : (ssize_t)o->bytes;
	pthread_cond_broadcast(&o->drained);
	pthread_mutex_unlock(&o->lock);
	return ret;
}

size_t
vu_out_pending_replies(struct vu_out *o)
{
	size_t n;

	pthread_mutex_lock(&o->lock);
	n = o->reply_bytes;
	pthread_mutex_unlock(&o->lock);
	return n;
}

size_t
vu_out_pending(struct vu_out *o)
{
	size_t n;

	pthread_mutex_lock(&o->lock);
	n = o->bytes;
	pthread_mutex_unlock(&o->lock);
	return n;
}

uint64_t
vu_out_stalled_since(struct vu_out *o)
{
	uint64_t t;

	pthread_mutex_lock(&o->lock);
	t = o->bytes > 0 ? o->progress_ms : 0;
	pthread_mutex_unlock(&o->lock);
	return t;
}

int
vu_out_wait(struct vu_out *o, size_t limit, uint64_t deadline_ms)
{
	struct timespec ts = vu_deadline_ts(deadline_ms);
	int ret = 0;

	pthread_mutex_lock(&o->lock);
	while (o->bytes > limit && o->err == 0 && ret == 0)
		if (pthread_cond_timedwait(&o->drained, &o->lock, &ts) ==
		    ETIMEDOUT)
			ret = -ETIMEDOUT;
	if (o->err != 0)
		ret = o->err;
	else if (o->bytes <= limit)
		ret = 0;
	pthread_mutex_unlock(&o->lock);
	return ret;
}

/* ---- blocking send (a thread that waits for the peer's answer anyway) ---- */

static int
wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int r;

	do {
		r = poll(&p, 1, VU_SEND_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
		return -EPIPE;
	return 0;
}

int
vu_send(int fd, struct vfio_user_header *hdr, const struct iovec *iov,
	unsigned int iovcnt, const int *fds, unsigned int nfds)
{
	struct iovec v[8];
	unsigned int i = 0, cnt;
	bool fds_sent = nfds == 0;
	int ret;

	if (nfds > VU_MAX_MSG_FDS)
		return -EINVAL;
	ret = msg_iov(v, RTE_DIM(v), hdr, iov, iovcnt);
	if (ret < 0)
		return ret;
	cnt = (unsigned int)ret;
	while (i < cnt) {
		ssize_t r = send_some(fd, &v[i], cnt - i,
				      fds_sent ? NULL : fds, nfds);

		if (r == -EAGAIN) {
			ret = wait_writable(fd);
			if (ret < 0)
				return ret;
			continue;
		}
		if (r < 0)
			return (int)r;
		fds_sent = true;
		iov_advance(v, cnt, &i, (size_t)r);
	}
	return 0;
}
