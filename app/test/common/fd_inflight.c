/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_inflight.h"
#include "raw_client.h"

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

#define MANY 64	/* fds per message when parking many */

/* Send count (<= MANY) copies of fd over s (non-blocking) in a message
 * of one byte; -errno if refused. */
static int
send_fds(int s, int fd, unsigned int count)
{
	struct rc c = { .fd = s };
	int fds[MANY];
	char byte = 0;

	for (unsigned int k = 0; k < count; k++)
		fds[k] = fd;
	return rc_send_raw(&c, &byte, 1, fds, (int)count);
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

/*
 * Park fds in flight until the kernel refuses one, then take room back:
 * most of them in messages of MANY on one pair (a socket buffer holds a
 * few hundred messages), the last ones a message each on another, to be
 * taken back one by one.
 */
static int
park(struct fi_limit *s, unsigned int room)
{
	unsigned int n = 0, singles = 0;
	int err = 0;

	/* an eventfd, not a socket: a socket sent over itself would be a
	 * cycle that only the kernel's garbage collector takes out of flight,
	 * some time after the pairs are closed */
	s->parked = eventfd(0, EFD_CLOEXEC);
	if (s->parked < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       s->many) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
		       s->sv) < 0)
		return -1;
	while (n + 2 * MANY + room < s->limit &&
	       send_fds(s->many[0], s->parked, MANY) == 0)
		n += MANY;
	while (n <= s->limit + 16) {
		err = send_fds(s->sv[0], s->parked, 1);
		if (err < 0)
			break;
		n++;
		singles++;
	}
	if (err < 0 && err != -ETOOMANYREFS) {
		errno = -err;
		return -1;
	}
	if (err == 0)
		return 0;	/* never refused: the kernel does not limit */
	if (singles < room) {
		errno = ENOSPC;	/* others hold fds in flight: no room */
		return -1;
	}
	for (unsigned int i = 0; i < room; i++)
		if (take_fd(s->sv[1]) < 0)
			return -1;
	return 1;
}

int
fi_limit_begin(struct fi_limit *s, unsigned int room)
{
	struct rlimit rl;
	int top = highest_fd(), ret;

	s->sv[0] = s->sv[1] = s->many[0] = s->many[1] = s->parked = -1;
	if (top < 0 || getrlimit(RLIMIT_NOFILE, &s->saved) < 0)
		return -1;
	s->euid = geteuid();
	/* the pairs, take_fd(), and as many more as the room: that many
	 * fds a message each are parked last, to be given back */
	s->limit = (unsigned int)top + 8 + room;
	rl = s->saved;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < s->limit) {
		errno = ERANGE;
		return -1;
	}
	rl.rlim_cur = s->limit;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	/* a user of its own (the count is per real uid: root's would include
	 * every root process's), without capabilities; the saved uid 0
	 * lets fi_limit_end() back */
	if (s->euid == 0 && setresuid(NOBODY, NOBODY, 0) < 0) {
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

int
fi_limit_give(struct fi_limit *s, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (take_fd(s->sv[1]) < 0)
			return -1;
	return 0;
}

void
fi_limit_end(struct fi_limit *s)
{
	/* closing the pairs takes what they hold out of flight */
	for (int i = 0; i < 2; i++) {
		if (s->sv[i] >= 0)
			close(s->sv[i]);
		if (s->many[i] >= 0)
			close(s->many[i]);
		s->sv[i] = s->many[i] = -1;
	}
	if (s->parked >= 0)
		close(s->parked);
	s->parked = -1;
	if (s->euid == 0) {
		if (setresuid(0, 0, 0) < 0)
			abort(); /* the rest of the tests would run unprivileged */
		/* a change of uid made the process undumpable: /proc/self/fd
		 * would be root's alone, sanitizers could not trace it */
		prctl(PR_SET_DUMPABLE, 1);
	}
	setrlimit(RLIMIT_NOFILE, &s->saved);
}
