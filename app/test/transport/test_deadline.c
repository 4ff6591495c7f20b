/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * White-box tests of the deadlines of the library's waits
 * (lib/vfio_user/vu_transport.c). The client's requests, the device's
 * DMA_READ/DMA_WRITE requests and the output queue's drain all wait on a
 * condition variable from vu_cond_init_monotonic() until a deadline from
 * vu_now_ms() turned into a timespec by vu_deadline_ts(). Both must be
 * CLOCK_MONOTONIC: a condition variable on CLOCK_REALTIME given a
 * monotonic deadline (seconds since boot) would see it decades in the
 * past and return at once, and a wall-clock step would shorten or
 * stretch every wait. Measured here on CLOCK_MONOTONIC, independently of
 * the helpers under test.
 */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd_inflight.h"
#include "vu_transport.h"

/* A wait of W ms must end in [W - 10, W + SLACK): generous above, for a
 * loaded 2-CPU CI machine; the lower bound is what proves the clock. */
#define SLACK_MS 2000

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
test_now_is_monotonic(void **state)
{
	uint64_t a, b, c, us, d;

	(void)state;
	a = mono_ms();
	b = vu_now_ms();
	c = mono_ms();
	assert_in_range(b, a, c);
	us = vu_now_us();	/* in this order: arguments are not */
	d = mono_ms();
	assert_in_range(us / 1000, b, d);
}

static void
test_deadline_ts(void **state)
{
	struct timespec ts = vu_deadline_ts(12345678901ull);

	(void)state;
	assert_int_equal(ts.tv_sec, 12345678);
	assert_int_equal(ts.tv_nsec, 901000000L);
}

/* A timed wait on the monotonic condition variable, nobody signalling:
 * returns ETIMEDOUT after the ms given (from vu_now_ms()). */
static uint64_t
timed_wait_ms(uint64_t wait_ms, int *rc)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	struct timespec ts;
	uint64_t t0;

	vu_cond_init_monotonic(&c);
	t0 = mono_ms();
	ts = vu_deadline_ts(vu_now_ms() + wait_ms);
	pthread_mutex_lock(&m);
	do
		*rc = pthread_cond_timedwait(&c, &m, &ts);
	while (*rc == 0);	/* spurious wake-up */
	pthread_mutex_unlock(&m);
	pthread_cond_destroy(&c);
	return mono_ms() - t0;
}

static void
test_cond_waits_until_deadline(void **state)
{
	uint64_t took;
	int rc;

	(void)state;
	took = timed_wait_ms(200, &rc);
	printf("a 200 ms wait took %llu ms\n", (unsigned long long)took);
	assert_int_equal(rc, ETIMEDOUT);
	assert_in_range(took, 190, 200 + SLACK_MS);
}

static void
test_cond_past_deadline(void **state)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c;
	struct timespec ts;
	uint64_t t0;

	(void)state;
	vu_cond_init_monotonic(&c);
	ts = vu_deadline_ts(vu_now_ms() - 1);
	t0 = mono_ms();
	pthread_mutex_lock(&m);
	assert_int_equal(pthread_cond_timedwait(&c, &m, &ts), ETIMEDOUT);
	pthread_mutex_unlock(&m);
	assert_in_range(mono_ms() - t0, 0, SLACK_MS);
	pthread_cond_destroy(&c);
}

/* An output queue over a socket pair whose peer does not read: messages
 * of 64 KiB until one is queued. */
struct queue_fixture {
	int sv[2];
	struct vu_out out;
};

static void
fill_until_queued(struct queue_fixture *f)
{
	static uint8_t payload[64 * 1024];
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	unsigned int i;
	int rc = 0;

	for (i = 0; i < 1024 && rc == 0; i++) {
		struct vfio_user_header h = { .msg_id = (uint16_t)i };

		rc = vu_out_send(&f->out, f->sv[0], &h, &iov, 1, NULL, 0);
	}
	assert_int_equal(rc, 1);
	assert_true(vu_out_pending(&f->out) > 0);
}

static int
queue_setup(void **state)
{
	static struct queue_fixture f;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, f.sv) != 0)
		return -1;
	if (vu_out_init(&f.out) != 0)
		return -1;
	*state = &f;
	return 0;
}

static int
queue_teardown(void **state)
{
	struct queue_fixture *f = *state;

	vu_out_fini(&f->out);
	close(f->sv[0]);
	close(f->sv[1]);
	return 0;
}

static void
test_out_wait_times_out(void **state)
{
	struct queue_fixture *f = *state;
	uint64_t t0, took;
	int rc;

	fill_until_queued(f);
	t0 = mono_ms();
	rc = vu_out_wait(&f->out, 0, vu_now_ms() + 200);
	took = mono_ms() - t0;
	printf("a 200 ms drain wait took %llu ms\n", (unsigned long long)took);
	assert_int_equal(rc, -ETIMEDOUT);
	assert_in_range(took, 190, 200 + SLACK_MS);
	assert_true(vu_out_pending(&f->out) > 0);
}

/* The peer reads everything and the owner flushes, as the event thread
 * does on EPOLLOUT, 100 ms into a 5 s wait. */
static void *
drain_later(void *arg)
{
	struct queue_fixture *f = arg;
	static uint8_t sink[256 * 1024];
	ssize_t left;

	usleep(100 * 1000);
	do {
		while (read(f->sv[1], sink, sizeof(sink)) > 0)
			;
		left = vu_out_flush(&f->out, f->sv[0]);
	} while (left > 0);
	while (read(f->sv[1], sink, sizeof(sink)) > 0)
		;
	return (void *)(intptr_t)left;
}

static void
test_out_wait_ends_when_drained(void **state)
{
	struct queue_fixture *f = *state;
	pthread_t t;
	uint64_t t0, took;
	void *left;
	int rc;

	fill_until_queued(f);
	t0 = mono_ms();
	assert_int_equal(pthread_create(&t, NULL, drain_later, f), 0);
	rc = vu_out_wait(&f->out, 0, vu_now_ms() + 5000);
	took = mono_ms() - t0;
	pthread_join(t, &left);
	printf("a 5 s drain wait drained after %llu ms\n",
	       (unsigned long long)took);
	assert_int_equal((intptr_t)left, 0);
	assert_int_equal(rc, 0);
	assert_in_range(took, 90, 100 + SLACK_MS);
	assert_int_equal(vu_out_pending(&f->out), 0);
}

/* Read what the peer got until the queue is empty or fails: the bytes in
 * *buf (malloc'ed), the fds that came counted (and closed). The last
 * flush's result. */
static ssize_t
drain(struct queue_fixture *f, uint8_t **buf, size_t *len, int *nfds)
{
	size_t cap = 8 << 20;
	ssize_t left = 1;

	*buf = malloc(cap);
	*len = 0;
	*nfds = 0;
	assert_non_null(*buf);
	for (int spins = 0; spins < 100000 && left > 0; spins++) {
		union {
			char b[CMSG_SPACE(8 * sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec v = { *buf + *len, cap - *len };
		struct msghdr mh = {
			.msg_iov = &v,
			.msg_iovlen = 1,
			.msg_control = ctl.b,
			.msg_controllen = sizeof(ctl.b),
		};
		ssize_t r = recvmsg(f->sv[1], &mh, MSG_DONTWAIT);

		if (r > 0) {
			struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

			*len += (size_t)r;
			if (c != NULL && c->cmsg_type == SCM_RIGHTS) {
				int n = (int)((c->cmsg_len - CMSG_LEN(0)) /
					      sizeof(int));

				for (int k = 0; k < n; k++) {
					int fd;

					memcpy(&fd,
					       CMSG_DATA(c) + k * sizeof(int),
					       sizeof(fd));
					close(fd);
				}
				*nfds += n;
			}
		}
		left = vu_out_flush(&f->out, f->sv[0]);
	}
	for (;;) {	/* what the last flush sent */
		ssize_t r = recv(f->sv[1], *buf + *len, cap - *len,
				 MSG_DONTWAIT);

		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	return left;
}

/*
 * Queued messages whose fds the kernel refuses when their turn comes
 * (fds in flight at RLIMIT_NOFILE): a reply goes as an ETOOMANYREFS error
 * reply without fds, the queue goes on; a request fails the socket (a
 * client never queues one: fds_now). Before, the reply failed it too.
 */
static void
test_out_queued_fds_refused(void **state)
{
	struct queue_fixture *f = *state;
	struct vfio_user_header rep = {
		.msg_id = 0x4242,
		.cmd = VFIO_USER_DEVICE_GET_REGION_INFO,
		.flags = VFIO_USER_F_TYPE_REPLY,
	}, req = {
		.msg_id = 0x4343,
		.cmd = VFIO_USER_DMA_MAP,
		.flags = VFIO_USER_F_TYPE_COMMAND,
	};
	uint8_t payload[32] = { 0 }, *buf;
	struct iovec iov = { payload, sizeof(payload) };
	struct fi_limit lim;
	int efd = eventfd(0, EFD_CLOEXEC), nfds, got;
	size_t len, at = 0;
	const struct vfio_user_header *h = NULL;
	ssize_t left;

	assert_true(efd >= 0);
	fill_until_queued(f);
	assert_int_equal(vu_out_send(&f->out, f->sv[0], &rep, &iov, 1, &efd, 1),
			 1);
	assert_int_equal(vu_out_send(&f->out, f->sv[0], &req, &iov, 1, &efd, 1),
			 1);
	got = fi_limit_begin(&lim, 0);
	assert_true(got >= 0);
	if (got == 0) {
		print_message("kernel does not limit fds in flight here: "
			      "nothing to test\n");
		close(efd);
		return;
	}
	left = drain(f, &buf, &len, &nfds);
	fi_limit_end(&lim);
	/* the request failed the socket, once the reply went */
	assert_int_equal(left, -ETOOMANYREFS);
	assert_int_equal(nfds, 0);
	while (at + sizeof(*h) <= len) {
		h = (const void *)(buf + at);
		assert_true(h->msg_size >= sizeof(*h));
		at += h->msg_size;
		if (h->msg_id == 0x4242)
			break;
	}
	assert_non_null(h);
	assert_int_equal(h->msg_id, 0x4242);
	assert_int_equal(h->msg_size, sizeof(*h));
	assert_int_equal(h->flags, VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR);
	assert_int_equal(h->error_no, ETOOMANYREFS);
	assert_int_equal(at, len);	/* nothing of the request */
	free(buf);
	close(efd);
}

/* A client's queue (fds_now) does not queue a message with fds: -EAGAIN,
 * nothing sent, the caller waits for room. */
static void
test_out_fds_now(void **state)
{
	struct queue_fixture *f = *state;
	struct vfio_user_header req = { .msg_id = 1, .cmd = VFIO_USER_DMA_MAP };
	uint8_t payload[32] = { 0 };
	struct iovec iov = { payload, sizeof(payload) };
	int efd = eventfd(0, EFD_CLOEXEC);
	size_t before;

	assert_true(efd >= 0);
	f->out.fds_now = true;
	fill_until_queued(f);
	before = vu_out_pending(&f->out);
	assert_int_equal(vu_out_send(&f->out, f->sv[0], &req, &iov, 1, &efd, 1),
			 -EAGAIN);
	assert_int_equal(vu_out_pending(&f->out), before);
	/* without fds it is queued as ever */
	assert_int_equal(vu_out_send(&f->out, f->sv[0], &req, &iov, 1, NULL, 0),
			 1);
	close(efd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_now_is_monotonic),
		cmocka_unit_test(test_deadline_ts),
		cmocka_unit_test(test_cond_waits_until_deadline),
		cmocka_unit_test(test_cond_past_deadline),
		cmocka_unit_test_setup_teardown(test_out_wait_times_out,
						queue_setup, queue_teardown),
		cmocka_unit_test_setup_teardown(test_out_wait_ends_when_drained,
						queue_setup, queue_teardown),
		cmocka_unit_test_setup_teardown(test_out_queued_fds_refused,
						queue_setup, queue_teardown),
		cmocka_unit_test_setup_teardown(test_out_fds_now, queue_setup,
						queue_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
