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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
