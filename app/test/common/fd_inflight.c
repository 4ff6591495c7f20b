/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_inflight.h"

#define NOBODY 65534

static int
highest_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int max = -1;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);

		if (fd > max)
			max = fd;
	}
	closedir(d);
	return max;
}

/* Send one fd over s; -errno if refused. */
static int
send_fd(int s, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char byte = 0;
	struct iovec v = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &v,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;

	memset(ctl.buf, 0, sizeof(ctl.buf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(s, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receive one fd from s and close it: one fewer in flight. */
static int
take_fd(int s)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char byte;
	struct iovec v = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &v,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	close(fd);
	return 0;
}

/* Park fds in flight until the kernel refuses one; then take room back. */
static int
park(struct fi_limit *s, unsigned int room)
{
	unsigned int n = 0;
	int err = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->sv) < 0)
		return -1;
	while (n <= s->limit + 16) {
		err = send_fd(s->sv[0], s->sv[1]);
		if (err < 0)
			break;
		n++;
	}
	if (err != -ETOOMANYREFS)
		return err < 0 ? -1 : 0;
	for (unsigned int i = 0; i < room && i < n; i++)
		if (take_fd(s->sv[1]) < 0)
			return -1;
	return 1;
}

int
fi_limit_begin(struct fi_limit *s, unsigned int room)
{
	struct rlimit rl;
	int top = highest_fd(), ret;

	s->sv[0] = s->sv[1] = -1;
	if (top < 0 || getrlimit(RLIMIT_NOFILE, &s->saved) < 0)
		return -1;
	s->euid = geteuid();
	s->limit = (unsigned int)top + 8;	/* the pair, take_fd() */
	rl = s->saved;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < s->limit) {
		errno = ERANGE;
		return -1;
	}
	rl.rlim_cur = s->limit;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (s->euid == 0 && seteuid(NOBODY) < 0) {
		int err = errno;

		setrlimit(RLIMIT_NOFILE, &s->saved);
		errno = err;
		return -1;
	}
	ret = park(s, room);
	if (ret <= 0) {
		int err = errno;

		fi_limit_end(s);
		errno = err;
	}
	return ret;
}

void
fi_limit_end(struct fi_limit *s)
{
	/* closing the pair takes what it holds out of flight */
	if (s->sv[0] >= 0)
		close(s->sv[0]);
	if (s->sv[1] >= 0)
		close(s->sv[1]);
	s->sv[0] = s->sv[1] = -1;
	if (s->euid == 0 && seteuid(0) < 0)
		abort();	/* the rest of the tests would run unprivileged */
	setrlimit(RLIMIT_NOFILE, &s->saved);
}
