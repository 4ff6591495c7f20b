/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

int
vu_rx_init(struct vu_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->buf = malloc(VU_MAX_MSG_SIZE);
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
	free(rx->buf);
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
	union {
		char buf[CMSG_SPACE(VU_MAX_MSG_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec v[8];
	struct msghdr mh = { 0 };
	size_t total = sizeof(*hdr);
	unsigned int i, cnt;
	bool fds_sent = false;

	if (iovcnt > (sizeof(v) / sizeof(v[0])) - 1 || nfds > VU_MAX_MSG_FDS)
		return -EINVAL;
	v[0].iov_base = hdr;
	v[0].iov_len = sizeof(*hdr);
	for (i = 0; i < iovcnt; i++) {
		v[i + 1] = iov[i];
		total += iov[i].iov_len;
	}
	if (total > UINT32_MAX)
		return -E2BIG;
	hdr->msg_size = (uint32_t)total;
	cnt = iovcnt + 1;

	i = 0;
	while (i < cnt) {
		ssize_t r;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &v[i];
		mh.msg_iovlen = cnt - i;
		if (nfds > 0 && !fds_sent) {
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
		r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r < 0) {
			int ret;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			ret = wait_writable(fd);
			if (ret < 0)
				return ret;
			continue;
		}
		fds_sent = true;
		/* skip what went out, split a partially sent iovec */
		while (i < cnt && (size_t)r >= v[i].iov_len) {
			r -= (ssize_t)v[i].iov_len;
			i++;
		}
		if (i < cnt) {
			v[i].iov_base = (uint8_t *)v[i].iov_base + r;
			v[i].iov_len -= (size_t)r;
		}
	}
	return 0;
}
