/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "raw_client.h"

uint64_t
rc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
rc_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
rc_connect(struct rc *c, const char *path, int timeout_ms)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	uint64_t end = rc_now_ms() + (uint64_t)timeout_ms;

	c->fd = -1;
	c->next_id = 1;
	if (strlen(path) >= sizeof(un.sun_path))
		return -ENAMETOOLONG;
	strcpy(un.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0) {
			c->fd = fd;
			return 0;
		}
		close(fd);
		if (rc_now_ms() >= end)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

void
rc_close(struct rc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int
rc_send_raw(struct rc *c, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char b[CMSG_SPACE(RC_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	const uint8_t *p = buf;
	bool first = true;

	if (nfds > RC_MAX_FDS)
		return -EINVAL;
	while (len > 0) {
		struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (first && nfds > 0) {
			struct cmsghdr *cm;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.b;
			mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
			memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		first = false;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
rc_send(struct rc *c, uint16_t cmd, uint32_t flags, const void *payload,
	uint32_t len, const int *fds, int nfds, uint16_t *id)
{
	size_t total = sizeof(struct vfio_user_header) + len;
	struct vfio_user_header *h;
	int ret;

	h = malloc(total);
	if (h == NULL)
		return -ENOMEM;
	h->msg_id = c->next_id++;
	h->cmd = cmd;
	h->msg_size = (uint32_t)total;
	h->flags = flags;
	h->error_no = 0;
	if (len > 0)
		memcpy(h + 1, payload, len);
	if (id != NULL)
		*id = h->msg_id;
	ret = rc_send_raw(c, h, total, fds, nfds);
	free(h);
	return ret;
}

/* Read exactly len bytes before the deadline, collecting fds. */
static int
read_full(struct rc *c, void *buf, size_t len, struct rc_reply *r,
	  uint64_t deadline)
{
	uint8_t *p = buf;

	while (len > 0) {
		union {
			char b[CMSG_SPACE(RC_MAX_FDS * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = p, .iov_len = len };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
		};
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		uint64_t now = rc_now_ms();
		struct cmsghdr *cm;
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&pf, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ETIMEDOUT : -errno;
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			if (cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (int i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm) + i * sizeof(int),
				       sizeof(f));
				if (r->nfds < RC_MAX_FDS)
					r->fds[r->nfds++] = f;
				else
					close(f);
			}
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
rc_recv(struct rc *c, struct rc_reply *r, int timeout_ms)
{
	uint64_t deadline = rc_now_ms() + (uint64_t)timeout_ms;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = read_full(c, &r->hdr, sizeof(r->hdr), r, deadline);
	if (ret < 0)
		return ret;
	if (r->hdr.msg_size < sizeof(r->hdr))
		return -EPROTO;
	r->size = r->hdr.msg_size - (uint32_t)sizeof(r->hdr);
	r->payload = malloc(r->size ? r->size : 1);
	if (r->payload == NULL)
		return -ENOMEM;
	return read_full(c, r->payload, r->size, r, deadline);
}

void
rc_reply_free(struct rc_reply *r)
{
	for (int i = 0; i < r->nfds; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	r->nfds = 0;
	free(r->payload);
	r->payload = NULL;
}

int
rc_call(struct rc *c, uint16_t cmd, const void *payload, uint32_t len,
	const int *fds, int nfds, struct rc_reply *r)
{
	struct rc_reply local;
	uint16_t id;
	int ret;

	if (r == NULL)
		r = &local;
	memset(r, 0, sizeof(*r));
	ret = rc_send(c, cmd, 0, payload, len, fds, nfds, &id);
	if (ret < 0)
		return ret;
	for (;;) {
		ret = rc_recv(c, r, RC_TIMEOUT_MS);
		if (ret < 0)
			break;
		if ((r->hdr.flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_REPLY &&
		    r->hdr.msg_id == id) {
			if (r->hdr.flags & VFIO_USER_F_ERROR)
				ret = r->hdr.error_no ? -(int)r->hdr.error_no : -EIO;
			break;
		}
		rc_reply_free(r);	/* not ours: skip */
	}
	if (r == &local)
		rc_reply_free(r);
	return ret;
}

int
rc_negotiate(struct rc *c, const char *json, struct rc_reply *r)
{
	size_t jl = json != NULL ? strlen(json) + 1 : 0;
	struct vfio_user_version *v = malloc(sizeof(*v) + jl);
	int ret;

	if (v == NULL)
		return -ENOMEM;
	v->major = VFIO_USER_MAJOR_VER;
	v->minor = VFIO_USER_MINOR_VER;
	if (jl > 0)
		memcpy(v->data, json, jl);
	ret = rc_call(c, VFIO_USER_VERSION, v, (uint32_t)(sizeof(*v) + jl),
		      NULL, 0, r);
	free(v);
	return ret;
}

int
rc_count_proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int
rc_count_fds(void)
{
	int n = rc_count_proc_fds(getpid());

	return n < 0 ? -1 : n - 1;	/* the directory's own fd */
}

int
rc_count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, ch;

	if (f == NULL)
		return -1;
	while ((ch = fgetc(f)) != EOF)
		if (ch == '\n')
			n++;
	fclose(f);
	return n;
}
