/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The process runs out of file descriptors (RLIMIT_NOFILE lowered to the
 * fds it holds) while a client waits to be accepted, while a connected
 * client sends fds, and with a single fd left when a client arrives.
 * The server survives, logs, does not spin on the listening socket (the
 * event thread's CPU time and the log lines stay bounded), and serves the
 * waiting client once fds are available again; the other device answers
 * throughout.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fault.h"

#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)
#define EV_TRIG \
	(VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_TRIGGER)
/* How long the tests hold the process without fds. */
#define EMFILE_HOLD_MS 600

static struct rlimit saved_nofile;
static int fillers[8192];
static unsigned int nfillers;
static bool exhausted;

/* Highest fd open in this process. */
static int
highest_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int hi = -1;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && atoi(e->d_name) > hi)
			hi = atoi(e->d_name);
	closedir(d);
	return hi;
}

/* Use up every fd below a new RLIMIT_NOFILE but 'spare' of them. */
static void
fds_exhaust(unsigned int spare)
{
	struct rlimit rl;
	int hi = highest_fd(), f;

	assert_false(exhausted);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
	nfillers = 0;
	/* fill every hole up to the highest fd, and 'spare' more */
	do {
		assert_true(nfillers < sizeof(fillers) / sizeof(fillers[0]));
		f = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(f >= 0);
		fillers[nfillers++] = f;
	} while (f < hi + (int)spare);
	rl = saved_nofile;
	rl.rlim_cur = (rlim_t)f + 1;
	exhausted = true;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	/* the spare slots are the highest ones */
	for (unsigned int i = 0; i < spare; i++)
		close(fillers[--nfillers]);
}

static void
fds_restore(void)
{
	if (!exhausted)
		return;
	while (nfillers > 0)
		close(fillers[--nfillers]);
	setrlimit(RLIMIT_NOFILE, &saved_nofile);
	exhausted = false;
}

static int
emfile_teardown(void **state)
{
	fds_restore();
	return fault_test_teardown(state);
}

/* An open /proc/self/task/TID/stat of the library's event thread. */
static int
event_thread_stat(void)
{
	char path[64];
	long tid = -1;
	int fd;

	assert_true(pb_threads("vfio-user-evt", &tid) >= 1);
	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* CPU time (user + system) of the thread, in ms, read through its open
 * stat file (no new fd needed). */
static uint64_t
thread_cpu_ms(int stat_fd)
{
	char buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	ssize_t n = pread(stat_fd, buf, sizeof(buf) - 1, 0);

	assert_true(n > 0);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* the name may hold spaces */
	assert_non_null(p);
	/* after ")": state and 10 more fields, then utime and stime */
	assert_int_equal(sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u "
				"%*u %*u %llu %llu",
				&ut, &st),
			 2);
	return (ut + st) * 1000 / (uint64_t)sysconf(_SC_CLK_TCK);
}

static int
unix_socket(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	return s;
}

static void
unix_connect(int s, const char *path)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	assert_true(strlen(path) < sizeof(un.sun_path));
	memcpy(un.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(s, (struct sockaddr *)&un, sizeof(un)), 0);
}

static void
test_emfile_accept(void **state)
{
	struct mi_dev *d = &mi_a;
	int stat_fd, efd = mi_efd(), mfd;
	uint64_t cpu0, cpu, t0;
	uint8_t *mem, v = 0;
	struct rc c = { .next_id = 1 };
	struct rc_reply r;
	struct pb base;
	char *log;

	(void)state;
	mfd = mi_memfd(MI_PAGE, &mem);
	stat_fd = event_thread_stat();
	fault_probe_reset();
	assert_int_equal(pb_take(&base), 0);
	c.fd = unix_socket();

	fault_log_capture();
	fds_exhaust(0);
	assert_int_equal(open("/dev/null", O_RDONLY | O_CLOEXEC), -1);
	assert_int_equal(errno, EMFILE);
	/* the client waits in the backlog: accept() fails with EMFILE */
	unix_connect(c.fd, d->path);
	cpu0 = thread_cpu_ms(stat_fd);
	rc_sleep_ms(EMFILE_HOLD_MS);
	cpu = thread_cpu_ms(stat_fd) - cpu0;
	assert_int_equal(rte_vfio_user_is_connected(d->id), 0);
	fds_restore();
	t0 = rc_now_ms();
	log = fault_log_release();
	print_message("event thread: %" PRIu64 " ms of CPU in %d ms without "
		      "fds; %u log lines about accept\n",
		      cpu, EMFILE_HOLD_MS, fault_count(log, "accept"));
	/* no spinning on the listening socket: a few retries, one log line */
	assert_true(cpu < EMFILE_HOLD_MS / 10);
	assert_true(fault_count(log, "accept") >= 1);
	assert_true(fault_count(log, "accept") <= 3);
	free(log);

	/* fds are back: the waiting client is served */
	assert_int_equal(rc_negotiate(&c, NULL, &r), 0);
	rc_reply_free(&r);
	print_message("client accepted %" PRIu64 " ms after fds came back\n",
		      rc_now_ms() - t0);
	assert_true(rc_now_ms() - t0 < 1000);
	mi_track(c.fd, d);

	/* fds a connected client sends cannot be received: an error reply,
	 * the connection goes on */
	fds_exhaust(0);
	assert_int_equal(mi_map(&c, 0x100000, MI_PAGE, RW, mfd, 0), -EINVAL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 1, NULL, &efd, 1),
			 -EINVAL);
	assert_int_equal(mi_region_rw(&c, VFIO_USER_PCI_CONFIG_REGION_INDEX, 1,
				      &v, 1, false),
			 0);
	assert_int_equal(v, d->config[1]);
	fds_restore();
	assert_int_equal(rte_vfio_user_get_mem_table(d->id)->nregions, 0);
	assert_int_equal(mi_map(&c, 0x100000, MI_PAGE, RW, mfd, 0), 0);
	mem[3] = 0x5a;
	assert_int_equal(rte_vfio_user_dma_read(d->id, 0x100003, &v, 1), 0);
	assert_int_equal(v, 0x5a);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 1, NULL, &efd, 1),
			 0);
	mi_close(&c, d);
	fault_wait_clean(d);
	fault_assert_back(&base);
	fault_probe_check();
	pb_free(&base);
	close(stat_fd);
	close(efd);
	close(mfd);
	munmap(mem, MI_PAGE);
}

/* One fd left: accept() takes it, the connection's own timer cannot be
 * made. The client is refused (closed), and the next one is served. */
static void
test_emfile_one_fd_left(void **state)
{
	struct mi_dev *d = &mi_a;
	struct rc c = { .next_id = 1 };
	struct rc_reply r;
	struct pb base;
	char *log;

	(void)state;
	fault_probe_reset();
	assert_int_equal(pb_take(&base), 0);
	c.fd = unix_socket();
	fault_log_capture();
	fds_exhaust(1);
	unix_connect(c.fd, d->path);
	/* refused: the server closes it, before or after reading VERSION */
	assert_true(rc_negotiate(&c, NULL, &r) < 0);
	rc_reply_free(&r);
	fds_restore();
	log = fault_log_release();
	assert_true(fault_count(log, "client refused") == 1);
	free(log);
	rc_close(&c);
	assert_int_equal(rte_vfio_user_is_connected(d->id), 0);
	fault_assert_back(&base);
	fault_assert_usable(d);
	fault_assert_back(&base);
	fault_probe_check();
	pb_free(&base);
}

#define T(f) cmocka_unit_test_setup_teardown(f, mi_test_setup, emfile_teardown)
const struct CMUnitTest fault_emfile_tests[] = {
	T(test_emfile_accept),
	T(test_emfile_one_fd_left),
};
const size_t fault_emfile_tests_n = sizeof(fault_emfile_tests) /
				    sizeof(fault_emfile_tests[0]);
