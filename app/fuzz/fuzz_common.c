/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <rte_vfio_user.h>

#include "eal_exit.h"
#include "fuzz_common.h"

uint8_t
fz_u8(struct fz *f)
{
	uint8_t v = 0;

	fz_bytes(f, &v, sizeof(v));
	return v;
}

uint16_t
fz_u16(struct fz *f)
{
	uint16_t v = 0;

	fz_bytes(f, &v, sizeof(v));
	return v;
}

uint32_t
fz_u32(struct fz *f)
{
	uint32_t v = 0;

	fz_bytes(f, &v, sizeof(v));
	return v;
}

uint64_t
fz_u64(struct fz *f)
{
	uint64_t v = 0;

	fz_bytes(f, &v, sizeof(v));
	return v;
}

size_t
fz_bytes(struct fz *f, void *dst, size_t len)
{
	size_t k = len < f->n ? len : f->n;

	if (k > 0)
		memcpy(dst, f->p, k);
	if (k < len)
		memset((uint8_t *)dst + k, 0, len - k);
	f->p += k;
	f->n -= k;
	return k;
}

int
fuzz_poll(struct pollfd *p, nfds_t n, int timeout_ms)
{
	struct timespec t0, t;
	int r, left = timeout_ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		r = poll(p, n, left);
		if (r >= 0 || errno != EINTR)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = timeout_ms - (int)((t.tv_sec - t0.tv_sec) * 1000 +
					  (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return 0;
	}
}

static int
make_memfd(off_t size)
{
	int fd = memfd_create(FUZZ_MEMFD_NAME, MFD_CLOEXEC);

	if (fd >= 0 && size > 0 && ftruncate(fd, size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
fuzz_make_fd(uint8_t k, int *peer)
{
	int p[2];

	*peer = -1;
	switch (k % FUZZ_FD_KINDS) {
	case 0:
		return make_memfd(64 * 1024);
	case 1:
		return make_memfd(4096);
	case 2:
		return make_memfd(0);
	case 3:
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	case 4:
	case 5:
		if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
			return -1;
		*peer = p[k % FUZZ_FD_KINDS == 4 ? 1 : 0];
		return p[k % FUZZ_FD_KINDS == 4 ? 0 : 1];
	case 6:
		if (socketpair(AF_UNIX,
			       SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
			       p) < 0)
			return -1;
		*peer = p[1];
		return p[0];
	default:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	}
}

int
fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		fuzz_fail("opendir /proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

void
fuzz_list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char link[300], target[256];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
	}
	closedir(d);
}

void
fuzz_check_fds(int baseline)
{
	int n = fuzz_count_fds();

	if (n != baseline) {
		fuzz_list_fds();
		fuzz_fail("%d fds open after the input, %d before", n,
			  baseline);
	}
}

int
fuzz_count_memfd_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (f == NULL)
		fuzz_fail("fopen /proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "memfd:" FUZZ_MEMFD_NAME) != NULL)
			n++;
	fclose(f);
	return n;
}

static void
close_cmsg_fds(struct msghdr *mh, int *keep, int *nkeep)
{
	int cap = nkeep != NULL ? *nkeep : 0, got = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
	     cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;
		int *fds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, &fds[i], sizeof(fd));
			if (keep != NULL && got < cap)
				keep[got++] = fd;
			else
				close(fd);
		}
	}
	if (nkeep != NULL)
		*nkeep = got;
}

static int
send_msg(int fd, const void *buf, size_t len, const int *fds, int nfds,
	 bool drain)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 253)];
		struct cmsghdr align;
	} u;
	const uint8_t *p = buf;
	bool first = true;

	if (nfds > 253)
		nfds = 253;
	while (len > 0) {
		struct iovec iov = { .iov_base = (void *)(uintptr_t)p,
				     .iov_len = len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (first && nfds > 0) {
			struct cmsghdr *cm;

			mh.msg_control = u.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
		}
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			/* read what the peer sends meanwhile: a peer that
			 * blocks on its replies to us could not take more */
			pf.events = POLLOUT | (drain ? POLLIN : 0);
			if (fuzz_poll(&pf, 1, 5000) <= 0)
				return -ETIMEDOUT;
			if ((pf.revents & POLLIN) && fuzz_drain(fd) < 0)
				return -ECONNRESET;
			continue;
		}
		first = false;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fuzz_send(int fd, const void *buf, size_t len, const int *fds, int nfds)
{
	return send_msg(fd, buf, len, fds, nfds, false);
}

int
fuzz_send_draining(int fd, const void *buf, size_t len, const int *fds,
		   int nfds)
{
	return send_msg(fd, buf, len, fds, nfds, true);
}

int
fuzz_drain(int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 253)];
	static uint8_t buf[65536];

	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		close_cmsg_fds(&mh, NULL, NULL);
		if (n == 0)
			return -1;
	}
}

/* Read exactly len bytes (into buf unless NULL), fds on the way. */
static int
recv_exact(int fd, uint8_t *buf, size_t len, int *fds, int *nfds,
	   int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 253)];
	uint8_t sink[4096];

	while (len > 0) {
		struct iovec iov = {
			.iov_base = buf != NULL ? (void *)buf : (void *)sink,
			.iov_len = buf != NULL ?
					   len :
					   (len < sizeof(sink) ? len :
								 sizeof(sink)),
		};
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r;

		r = fuzz_poll(&pf, 1, timeout_ms);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return -errno;
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if (fds != NULL && nfds != NULL) {
			int room = *nfds, got = room;

			close_cmsg_fds(&mh, fds, &got);
			fds += got;
			*nfds = room - got;
		} else {
			close_cmsg_fds(&mh, NULL, NULL);
		}
		if (n == 0)
			return 0;
		if (buf != NULL)
			buf += n;
		len -= (size_t)n;
	}
	return 1;
}

int
fuzz_recv_msg(int fd, void *buf, size_t cap, int *fds, int *nfds,
	      int timeout_ms)
{
	struct vfio_user_header h;
	int room = nfds != NULL ? *nfds : 0, left = room, r;
	size_t keep;

	if (cap < sizeof(h))
		return -EINVAL;
	r = recv_exact(fd, (uint8_t *)&h, sizeof(h), fds, fds ? &left : NULL,
		       timeout_ms);
	if (r <= 0)
		goto out;
	memcpy(buf, &h, sizeof(h));
	if (h.msg_size < sizeof(h)) {
		r = -EPROTO;
		goto out;
	}
	keep = h.msg_size - sizeof(h);
	if (keep > cap - sizeof(h))
		keep = cap - sizeof(h);
	r = recv_exact(fd, (uint8_t *)buf + sizeof(h), keep,
		       fds ? fds + (room - left) : NULL, fds ? &left : NULL,
		       timeout_ms);
	if (r > 0 && h.msg_size - sizeof(h) > keep)
		r = recv_exact(fd, NULL, h.msg_size - sizeof(h) - keep, NULL,
			       NULL, timeout_ms);
	if (r > 0)
		r = (int)(sizeof(h) + keep);
out:
	if (nfds != NULL)
		*nfds = room - left;
	return r;
}

void
fuzz_fail(const char *fmt, ...)
{
	const char *gdb = getenv("FUZZ_GDB");
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "FUZZ FINDING: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (gdb != NULL) {
		/* FUZZ_GDB=1: every thread's stack first (a hang's culprit) */
		char cmd[160];

		snprintf(cmd, sizeof(cmd),
			 "gdb -p %d -batch -ex 'thread apply all bt' "
			 ">&2 2>/dev/null",
			 (int)getpid());
		if (system(cmd) != 0)
			fprintf(stderr, "gdb failed\n");
	}
	abort();
}

void
fuzz_eal_init(const char *name)
{
	char prefix[64];
	char *argv[] = {
		(char *)(uintptr_t)name,
		"-l",
		"0",
		"--no-huge",
		"-m",
		"128",
		"--no-pci",
		"--no-shconf",
		"--no-telemetry",
		"--log-level=*:error",
		prefix,
		NULL,
	};

	snprintf(prefix, sizeof(prefix), "--file-prefix=%s-%d", name,
		 (int)getpid());
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0)
		fuzz_fail("rte_eal_init failed");
	/* Nothing in the runtime directory is used after the start with
	 * --no-shconf and --no-telemetry (no config file, IPC socket or
	 * telemetry socket): it goes now, not at exit, which libFuzzer skips
	 * when interrupted or timed out (_Exit()). EAL itself is left as it
	 * is, its threads running. */
	vu_eal_rundir_remove(rte_eal_get_runtime_dir());
}

void
fuzz_start_event_thread(void)
{
	const struct rte_vfio_user_dev_info info = { .num_irqs = 1 };
	const struct rte_vfio_user_irq_info irq = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD,
		.count = 1,
	};
	int sv[2], id;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair: %s", strerror(errno));
	id = rte_vfio_user_register_fd(sv[0], NULL, NULL);
	if (id < 0 || rte_vfio_user_set_dev_info(id, &info) < 0 ||
	    rte_vfio_user_set_irq_info(id, 0, &irq) < 0 ||
	    rte_vfio_user_start(id) < 0)
		fuzz_fail("keeper device: %d", id);
	/* sv[1] stays open: the keeper's client, silent until exit */
}

void
fuzz_log_init(void)
{
	if (getenv("FUZZ_LOG") != NULL) {
		rte_log_set_global_level(RTE_LOG_DEBUG);
		rte_log_set_level_pattern("*", RTE_LOG_DEBUG);
	} else {
		rte_log_set_global_level(RTE_LOG_EMERG);
	}
}

struct rte_mbuf *
fuzz_make_pkt(struct rte_mempool *mp, uint16_t len, uint8_t nsegs)
{
	struct rte_mbuf *head = NULL, *last = NULL;
	uint16_t per = len / nsegs;

	for (uint8_t s = 0; s < nsegs; s++) {
		uint16_t k = s + 1 == nsegs ? len - per * (nsegs - 1) : per;
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
		char *p;

		if (m == NULL)
			goto fail;
		if (k > rte_pktmbuf_tailroom(m))
			k = rte_pktmbuf_tailroom(m);
		p = rte_pktmbuf_append(m, k);
		if (p == NULL && k > 0)
			fuzz_fail("append %u", k);
		if (k > 0)
			memset(p, 0xa5 ^ s, k);
		if (head == NULL) {
			head = m;
		} else {
			last->next = m;
			head->nb_segs++;
			head->pkt_len += m->data_len;
		}
		last = m;
	}
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}
