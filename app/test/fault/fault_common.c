/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <rte_log.h>

#include "fault.h"

/* ---- the prober: a client of mi_b reading config space all along ---- */

static struct {
	pthread_t tid;
	bool running;
	struct rc c;
	/* written by the prober, read by the tests */
	uint64_t count;		/* answers */
	uint64_t errors;	/* failed or wrong answers */
	uint64_t max_ms;	/* slowest answer since the last reset */
	int last_err;
} fp;

/* One REGION_READ of config space; 0 if it answered right. No cmocka
 * here: the prober is not the test's thread. */
static int
probe_once(void)
{
	struct vfio_user_region_access a = {
		.offset = 0,
		.region = VFIO_USER_PCI_CONFIG_REGION_INDEX,
		.count = FAULT_PROBE_LEN,
	};
	struct rc_reply r;
	int ret;

	ret = rc_call(&fp.c, VFIO_USER_REGION_READ, &a, sizeof(a), NULL, 0, &r);
	if (ret == 0 &&
	    (r.size != sizeof(a) + FAULT_PROBE_LEN ||
	     memcmp(r.payload + sizeof(a), mi_b.config, FAULT_PROBE_LEN) != 0))
		ret = -EBADMSG;
	rc_reply_free(&r);
	return ret;
}

static void *
probe_loop(void *arg)
{
	(void)arg;
	while (__atomic_load_n(&fp.running, __ATOMIC_ACQUIRE)) {
		uint64_t t0 = rc_now_ms(), dt;
		int ret = probe_once();

		dt = rc_now_ms() - t0;
		if (ret != 0) {
			__atomic_store_n(&fp.last_err, ret, __ATOMIC_RELAXED);
			__atomic_add_fetch(&fp.errors, 1, __ATOMIC_RELEASE);
		}
		if (dt > __atomic_load_n(&fp.max_ms, __ATOMIC_RELAXED))
			__atomic_store_n(&fp.max_ms, dt, __ATOMIC_RELAXED);
		__atomic_add_fetch(&fp.count, 1, __ATOMIC_RELEASE);
		rc_sleep_ms(2);
	}
	return NULL;
}

int
fault_probe_start(void)
{
	struct rc_reply r;

	if (rc_connect(&fp.c, mi_b.path, 2000) < 0)
		return -1;
	if (rc_negotiate(&fp.c, NULL, &r) < 0) {
		rc_reply_free(&r);
		return -1;
	}
	rc_reply_free(&r);
	if (probe_once() != 0)
		return -1;
	fp.running = true;
	if (pthread_create(&fp.tid, NULL, probe_loop, NULL) != 0) {
		fp.running = false;
		return -1;
	}
	return 0;
}

void
fault_probe_stop(void)
{
	if (!fp.running)
		return;
	__atomic_store_n(&fp.running, false, __ATOMIC_RELEASE);
	pthread_join(fp.tid, NULL);
	rc_close(&fp.c);
}

void
fault_probe_reset(void)
{
	__atomic_store_n(&fp.max_ms, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fp.errors, 0, __ATOMIC_RELEASE);
}

void
fault_probe_check(void)
{
	uint64_t n0 = __atomic_load_n(&fp.count, __ATOMIC_ACQUIRE);
	uint64_t max;

	assert_true(__atomic_load_n(&fp.running, __ATOMIC_ACQUIRE));
	/* still answering now, after the fault */
	assert_true(
		MI_WAIT(__atomic_load_n(&fp.count, __ATOMIC_ACQUIRE) >= n0 + 3,
			2000));
	max = __atomic_load_n(&fp.max_ms, __ATOMIC_RELAXED);
	if (__atomic_load_n(&fp.errors, __ATOMIC_ACQUIRE) != 0)
		print_error("bystander: %" PRIu64 " failed reads (last %d)\n",
			    fp.errors, fp.last_err);
	assert_int_equal(__atomic_load_n(&fp.errors, __ATOMIC_ACQUIRE), 0);
	if (max >= FAULT_PROBE_BOUND_MS)
		print_error("bystander: slowest answer %" PRIu64 " ms\n", max);
	assert_true(max < FAULT_PROBE_BOUND_MS);
}

/* ---- client processes ---- */

static FILE *log_f;
static char *log_buf;
static size_t log_len;

/* The live child of the running test, killed by the teardown if the test
 * failed before it did. */
static pid_t fault_pid;

int
fault_test_teardown(void **state)
{
	if (fault_pid > 0) {
		kill(fault_pid, SIGKILL);
		waitpid(fault_pid, NULL, 0);
		fault_pid = 0;
	}
	free(fault_log_release());	/* if a failed test left it on */
	return mi_test_teardown(state);
}

pid_t
fault_child(struct mi_dev *d, fault_step_fn step, void *arg)
{
	struct pollfd p;
	int sync[2];
	char ok = 0;
	pid_t pid;

	assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rc c;
		char st = 'F';

		close(sync[0]);
		alarm(60);	/* never outlive a broken test */
		if (rc_connect(&c, d->path, 2000) == 0 && step(&c, arg) == 0)
			st = 'R';
		if (write(sync[1], &st, 1) != 1 || st != 'R')
			_exit(1);
		for (;;)
			pause();	/* until SIGKILL */
	}
	fault_pid = pid;
	close(sync[1]);
	p.fd = sync[0];
	p.events = POLLIN;
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(read(sync[0], &ok, 1), 1);
	close(sync[0]);
	if (ok != 'R') {
		fault_kill(pid);
		fail_msg("the client process failed before its fault point");
	}
	return pid;
}

void
fault_kill(pid_t pid)
{
	int status = 0;

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	fault_pid = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
}

void
fault_wait_clean(struct mi_dev *d)
{
	assert_true(
		MI_WAIT(mi_client_gone(d) &&
				rte_vfio_user_get_irq(d->id, MI_MSIX, 0) == -1,
			5000));
}

void
fault_assert_usable(struct mi_dev *d)
{
	uint8_t v[FAULT_PROBE_LEN];
	struct rc c;

	mi_open(&c, d, NULL);
	assert_int_equal(mi_region_rw(&c, VFIO_USER_PCI_CONFIG_REGION_INDEX, 0,
				      v, sizeof(v), false),
			 0);
	assert_memory_equal(v, d->config, sizeof(v));
	mi_close(&c, d);
}

void
fault_assert_back(const struct pb *b)
{
	assert_true(pb_wait_back(b, 3000, stderr));
}

void
fault_warm_up(struct mi_dev *d)
{
	const uint32_t ev = VFIO_USER_IRQ_SET_DATA_EVENTFD |
			    VFIO_USER_IRQ_SET_ACTION_TRIGGER;
	int efd = mi_efd(), mfd;
	uint8_t *mem;
	struct rc c;

	mfd = mi_memfd(MI_PAGE, &mem);
	mi_open(&c, d, NULL);
	assert_int_equal(mi_map(&c, 0x100000, MI_PAGE, VFIO_USER_DMA_MAP_F_READ,
				mfd, 0),
			 0);
	assert_int_equal(mi_set_irqs(&c, ev, MI_MSIX, 0, 1, NULL, &efd, 1), 0);
	mi_close(&c, d);
	close(efd);
	close(mfd);
	munmap(mem, MI_PAGE);
}

/* ---- log capture ---- */

void
fault_log_capture(void)
{
	log_f = open_memstream(&log_buf, &log_len);
	assert_non_null(log_f);
	assert_int_equal(rte_openlog_stream(log_f), 0);
}

char *
fault_log_release(void)
{
	char *s;

	if (log_f == NULL)
		return NULL;
	rte_openlog_stream(NULL);
	fclose(log_f);
	log_f = NULL;
	s = log_buf;
	log_buf = NULL;
	return s;
}

unsigned int
fault_count(const char *text, const char *s)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, s)) != NULL; p += strlen(s))
		n++;
	return n;
}
