/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The client API against a real server of this library, in the same
 * process: every client call on its happy path and on the server's error
 * replies, DMA both ways, interrupts, pipelining from several threads and
 * the loss of the server.
 *
 * In one process the server and the client share the library's event
 * thread: transfers of several MiB work in-process too (the server queues
 * what the socket does not take and sends it when the client has read),
 * and against a server in a child process (this program run with
 * --serve-big).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_common.h>
#include <rte_errno.h>

#include "fd_inflight.h"
#include "raw_client.h"
#include "rte_vfio_user.h"
#include "rte_vfio_user_client.h"

extern char **environ;

#define KiB 1024u
#define MiB (1024u * 1024u)

/* The device: a PCI function with ten regions and five IRQ types. */
#define NREGIONS	10
#define NIRQS		5
#define BAR0_SIZE	(4 * KiB)
#define BAR0_ERR_OFF	0xff0		/* reads fail with -ENXIO */
#define POSTED_OFF	0x200		/* 4-byte writes here are logged */
#define POSTED_N	100
#define BAR2_IDX	2
#define BAR2_SIZE	(64 * KiB)
#define BAR2_FD_SIZE	(128 * KiB)
#define BAR2_MMAP_OFF	(64 * KiB)	/* the region's offset in its memfd */
#define BIG_IDX		4
#define BIG_SIZE	(4 * MiB + 4 * KiB)
#define CFG_IDX		7
#define CFG_SIZE	256
#define R9_IDX		9
#define R9_SIZE		(4 * KiB)
#define R9_TYPE		((1u << 31) | 0x1af4) /* PCI vendor type */
#define R9_SUBTYPE	7
#define MSIX_COUNT	8

static const struct rte_vfio_user_sparse_area bar2_sparse[] = {
	{ .offset = 0, .size = 16 * KiB },
	{ .offset = 32 * KiB, .size = 16 * KiB },
};

struct srv;

/* What an access callback works on. */
struct srv_mem {
	struct srv *s;
	uint8_t *p;
	uint32_t idx;
};

struct srv {
	int id;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_mutex_t lock;
	struct srv_mem mem[NREGIONS];
	uint8_t bar0[BAR0_SIZE];
	int bar2_fd;
	uint8_t *bar2_map;	/* all of the memfd */
	uint8_t *big;
	uint8_t cfg[CFG_SIZE];
	uint8_t r9[R9_SIZE];
	int iofd[2];
	/* under lock */
	unsigned int resets, news, destroys;
	pthread_t new_tid, destroy_tid;	/* threads of the last ones */
	unsigned int big_calls;
	size_t big_max;
	uint32_t posted_log[POSTED_N];
	unsigned int nposted;
	int reset_ret;
	unsigned int reset_sleep_ms;
	/* DMA right after DMA_MAP, from a device thread */
	bool probe_armed;
	bool probe_go;
	bool probe_sending;
	bool probe_done;
	uint64_t probe_iova;
	int probe_ret;
	uint8_t probe_data[16];
	pthread_cond_t probe_cond;
};

static char tmpdir[64];
static struct srv srv_a;	/* the device most tests use */
static int fds_at_start;

/* ---- helpers ---- */

static uint8_t
pat(uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 10) * 7 + 1);
}

/* Whether an eventfd has a count (and consume it). */
static bool
efd_fired(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v) && v > 0;
}

/* ---- the in-process server ---- */

static struct srv *
srv_of(int dev_id)
{
	return rte_vfio_user_get_priv(dev_id);
}

static ssize_t
mem_access(int dev_id, void *priv, char *buf, size_t count, uint64_t off,
	   bool wr)
{
	struct srv_mem *m = priv;
	struct srv *s = m->s;

	(void)dev_id;
	if (m->idx == 0 && !wr && off <= BAR0_ERR_OFF && off + count > BAR0_ERR_OFF)
		return -ENXIO;
	pthread_mutex_lock(&s->lock);
	if (m->idx == BIG_IDX) {
		s->big_calls++;
		if (count > s->big_max)
			s->big_max = count;
	}
	if (m->idx == 0 && wr && off == POSTED_OFF && count == 4 &&
	    s->nposted < POSTED_N)
		memcpy(&s->posted_log[s->nposted++], buf, 4);
	if (wr)
		memcpy(m->p + off, buf, count);
	else
		memcpy(buf, m->p + off, count);
	pthread_mutex_unlock(&s->lock);
	return (ssize_t)count;
}

static int
srv_new_device(int dev_id)
{
	struct srv *s = srv_of(dev_id);

	pthread_mutex_lock(&s->lock);
	s->news++;
	s->new_tid = pthread_self();
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void
srv_destroy_device(int dev_id)
{
	struct srv *s = srv_of(dev_id);

	pthread_mutex_lock(&s->lock);
	s->destroys++;
	s->destroy_tid = pthread_self();
	pthread_mutex_unlock(&s->lock);
}

static int
srv_reset(int dev_id)
{
	struct srv *s = srv_of(dev_id);
	unsigned int ms;
	int ret;

	pthread_mutex_lock(&s->lock);
	s->resets++;
	ret = s->reset_ret;
	ms = s->reset_sleep_ms;
	pthread_mutex_unlock(&s->lock);
	if (ms > 0)	/* holds the event thread on purpose */
		rc_sleep_ms(ms);
	return ret;
}

static int
srv_update_status(int dev_id, enum rte_vfio_user_status st)
{
	struct srv *s = srv_of(dev_id);

	if (st != RTE_VFIO_USER_DMA_CHANGED)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (s->probe_armed) {
		struct timespec ts;

		s->probe_armed = false;
		s->probe_go = true;
		pthread_cond_broadcast(&s->probe_cond);
		/* hold the DMA_MAP reply back until the device thread's DMA
		 * request is on the socket: the client sees it first */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 2;
		while (!s->probe_sending &&
		       pthread_cond_timedwait(&s->probe_cond, &s->lock, &ts) == 0)
			;
		pthread_mutex_unlock(&s->lock);
		rc_sleep_ms(50);
		return 0;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static const struct rte_vfio_user_notify_ops srv_ops = {
	.new_device = srv_new_device,
	.destroy_device = srv_destroy_device,
	.update_status = srv_update_status,
	.reset_device = srv_reset,
};

static int
srv_describe(struct srv *s)
{
	struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = NREGIONS,
		.num_irqs = NIRQS,
	};
	const uint32_t rw = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE;
	struct rte_vfio_user_io_fd iofds[2] = {
		{ .offset = 0x0, .size = 4, .fd = s->iofd[0] },
		{ .offset = 0x100, .size = 2, .fd = s->iofd[1],
		  .datamatch = true, .data = 0x1234 },
	};
	struct rte_vfio_user_region reg;
	struct rte_vfio_user_irq_info irq;
	int ret;

	ret = rte_vfio_user_set_dev_info(s->id, &info);
	if (ret < 0)
		return ret;
	reg = (struct rte_vfio_user_region){
		.size = BAR0_SIZE, .flags = rw, .access = mem_access,
		.priv = &s->mem[0], .mmap_fd = -1,
	};
	ret = rte_vfio_user_set_reg_info(s->id, 0, &reg);
	reg = (struct rte_vfio_user_region){
		.size = BAR2_SIZE, .flags = rw | RTE_VFIO_USER_REG_F_MMAP,
		.access = mem_access, .priv = &s->mem[BAR2_IDX],
		.mmap_fd = s->bar2_fd, .mmap_offset = BAR2_MMAP_OFF,
		.nr_sparse = RTE_DIM(bar2_sparse), .sparse = bar2_sparse,
	};
	ret |= rte_vfio_user_set_reg_info(s->id, BAR2_IDX, &reg);
	reg = (struct rte_vfio_user_region){
		.size = BIG_SIZE, .flags = rw, .access = mem_access,
		.priv = &s->mem[BIG_IDX], .mmap_fd = -1,
		.nr_io_fds = 2, .io_fds = iofds,
	};
	ret |= rte_vfio_user_set_reg_info(s->id, BIG_IDX, &reg);
	reg = (struct rte_vfio_user_region){
		.size = CFG_SIZE, .flags = rw, .access = mem_access,
		.priv = &s->mem[CFG_IDX], .mmap_fd = -1,
	};
	ret |= rte_vfio_user_set_reg_info(s->id, CFG_IDX, &reg);
	reg = (struct rte_vfio_user_region){
		.size = R9_SIZE, .flags = RTE_VFIO_USER_REG_F_READ,
		.access = mem_access, .priv = &s->mem[R9_IDX], .mmap_fd = -1,
		.type = R9_TYPE, .subtype = R9_SUBTYPE,
	};
	ret |= rte_vfio_user_set_reg_info(s->id, R9_IDX, &reg);
	if (ret != 0)
		return -EINVAL;
	irq = (struct rte_vfio_user_irq_info){
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE |
			RTE_VFIO_USER_IRQ_F_AUTOMASKED,
		.count = 1,
	};
	ret = rte_vfio_user_set_irq_info(s->id, 0, &irq);
	irq = (struct rte_vfio_user_irq_info){
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD, .count = MSIX_COUNT,
	};
	ret |= rte_vfio_user_set_irq_info(s->id, 2, &irq);
	return ret != 0 ? -EINVAL : 0;
}

/* Create, describe and start a device on tmpdir/name. */
static int
srv_start(struct srv *s, const char *name)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->id = -1;
	s->bar2_fd = s->iofd[0] = s->iofd[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->probe_cond, NULL);
	snprintf(s->path, sizeof(s->path), "%s/%s", tmpdir, name);
	/* sealable: the client seals it against shrinking when it maps */
	s->bar2_fd = memfd_create("bar2", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->bar2_fd < 0 || ftruncate(s->bar2_fd, BAR2_FD_SIZE) < 0)
		return -errno;
	s->bar2_map = mmap(NULL, BAR2_FD_SIZE, PROT_READ | PROT_WRITE,
			   MAP_SHARED, s->bar2_fd, 0);
	if (s->bar2_map == MAP_FAILED) {
		s->bar2_map = NULL;
		return -errno;
	}
	s->big = malloc(BIG_SIZE);
	if (s->big == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < BIG_SIZE; i++)
		s->big[i] = pat(i);
	for (unsigned int i = 0; i < CFG_SIZE; i++)
		s->cfg[i] = (uint8_t)(0xc0 ^ i);
	s->cfg[0] = 0xf4;
	s->cfg[1] = 0x1a;
	for (unsigned int i = 0; i < R9_SIZE; i++)
		s->r9[i] = (uint8_t)(i * 3);
	for (unsigned int i = 0; i < NREGIONS; i++) {
		s->mem[i].s = s;
		s->mem[i].idx = i;
	}
	s->mem[0].p = s->bar0;
	s->mem[BAR2_IDX].p = s->bar2_map + BAR2_MMAP_OFF;
	s->mem[BIG_IDX].p = s->big;
	s->mem[CFG_IDX].p = s->cfg;
	s->mem[R9_IDX].p = s->r9;
	s->iofd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->iofd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->iofd[0] < 0 || s->iofd[1] < 0)
		return -errno;

	ret = rte_vfio_user_register(s->path, &srv_ops, s);
	if (ret < 0)
		return ret;
	s->id = ret;
	ret = srv_describe(s);
	if (ret < 0)
		return ret;
	return rte_vfio_user_start(s->id);
}

static void
srv_free(struct srv *s)
{
	if (s->id >= 0)
		rte_vfio_user_unregister(s->id);
	s->id = -1;
	if (s->bar2_map != NULL)
		munmap(s->bar2_map, BAR2_FD_SIZE);
	s->bar2_map = NULL;
	for (int i = 0; i < 2; i++)
		if (s->iofd[i] >= 0)
			close(s->iofd[i]);
	if (s->bar2_fd >= 0)
		close(s->bar2_fd);
	s->bar2_fd = s->iofd[0] = s->iofd[1] = -1;
	free(s->big);
	s->big = NULL;
}

static unsigned int
srv_get(struct srv *s, const unsigned int *field)
{
	unsigned int v;

	pthread_mutex_lock(&s->lock);
	v = *field;
	pthread_mutex_unlock(&s->lock);
	return v;
}

/* Wait until a counter of the server reaches n. */
static void
srv_wait_count(struct srv *s, const unsigned int *field, unsigned int n)
{
	uint64_t end = rc_now_ms() + 3000;

	while (srv_get(s, field) < n && rc_now_ms() < end)
		rc_sleep_ms(2);
	assert_int_equal(srv_get(s, field), n);
}

/* Wait until the server saw its client go (so the next one is accepted). */
static void
srv_wait_idle(struct srv *s)
{
	uint64_t end = rc_now_ms() + 3000;

	while (rte_vfio_user_is_connected(s->id) > 0 && rc_now_ms() < end)
		rc_sleep_ms(2);
	assert_int_equal(rte_vfio_user_is_connected(s->id), 0);
}

/* ---- the client ---- */

/* Clients of the running test, detached by its teardown if it failed. */
#define MAX_LIVE 4
static struct {
	struct rte_vfio_user_client *c;
	struct srv *s;
} live[MAX_LIVE];

static void
live_add(struct rte_vfio_user_client *c, const char *path)
{
	for (int i = 0; i < MAX_LIVE; i++) {
		if (live[i].c == NULL) {
			live[i].c = c;
			live[i].s = strcmp(path, srv_a.path) == 0 ? &srv_a : NULL;
			return;
		}
	}
}

static void
live_del(struct rte_vfio_user_client *c)
{
	for (int i = 0; i < MAX_LIVE; i++)
		if (live[i].c == c)
			live[i].c = NULL;
}

static struct rte_vfio_user_client *
cli_attach_conf(struct rte_vfio_user_client_conf *conf)
{
	struct rte_vfio_user_client *c = rte_vfio_user_client_attach(conf);

	if (c == NULL)
		fail_msg("attach to %s: %s", conf->path, strerror(rte_errno));
	live_add(c, conf->path);
	return c;
}

static struct rte_vfio_user_client *
cli_attach(struct srv *s)
{
	struct rte_vfio_user_client_conf conf = { .path = s->path };

	return cli_attach_conf(&conf);
}

static void
cli_detach(struct srv *s, struct rte_vfio_user_client *c)
{
	live_del(c);
	rte_vfio_user_client_detach(c);
	srv_wait_idle(s);
}

static pid_t big_pid = -1;	/* the child server, while it runs */
static struct fi_limit *cur_limit;	/* a test under the fd limit */
static struct rc *cur_rc;		/* its raw connection */

/* After each test: what a failed test left attached goes. */
static int
test_teardown(void **state)
{
	(void)state;
	if (cur_limit != NULL) {
		fi_limit_end(cur_limit);
		cur_limit = NULL;
	}
	if (cur_rc != NULL) {
		rc_close(cur_rc);
		cur_rc = NULL;
	}
	if (big_pid > 0) {
		kill(big_pid, SIGKILL);
		waitpid(big_pid, NULL, 0);
		big_pid = -1;
	}
	for (int i = 0; i < MAX_LIVE; i++) {
		if (live[i].c == NULL)
			continue;
		rte_vfio_user_client_detach(live[i].c);
		live[i].c = NULL;
		if (live[i].s != NULL && live[i].s->id >= 0) {
			uint64_t end = rc_now_ms() + 3000;

			while (rte_vfio_user_is_connected(live[i].s->id) > 0 &&
			       rc_now_ms() < end)
				rc_sleep_ms(2);
		}
	}
	return 0;
}

/* ---- group ---- */

static int
group_setup(void **state)
{
	int ret;

	(void)state;
	fds_at_start = rc_count_fds();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vu-client-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	ret = srv_start(&srv_a, "a.sock");
	if (ret < 0) {
		fprintf(stderr, "server start: %s\n", strerror(-ret));
		return -1;
	}
	return 0;
}

/* Remove what a failed test may have left in tmpdir, then tmpdir. */
static void
rm_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[sizeof(tmpdir) + sizeof(e->d_name) + 1];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(tmpdir);
}

static int
group_teardown(void **state)
{
	(void)state;
	srv_free(&srv_a);
	rm_tmpdir();
	return 0;
}

/* ---- attach ---- */

static void
test_attach_errors(void **state)
{
	struct rte_vfio_user_client_conf conf = { 0 };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char path[128];
	uint64_t t0;
	int fd, fd2;

	(void)state;
	assert_null(rte_vfio_user_client_attach(NULL));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(rte_vfio_user_client_attach(&conf));
	assert_int_equal(rte_errno, EINVAL);

	/* nothing there */
	snprintf(path, sizeof(path), "%s/missing.sock", tmpdir);
	conf.path = path;
	assert_null(rte_vfio_user_client_attach(&conf));
	assert_int_equal(rte_errno, ENOENT);

	/* still nothing after retrying for a while (over a second, so the
	 * nanoseconds of the clock wrap meanwhile) */
	conf.connect_timeout_ms = 1100;
	t0 = rc_now_ms();
	assert_null(rte_vfio_user_client_attach(&conf));
	assert_int_equal(rte_errno, ENOENT);
	/* both millisecond reads truncate: 1100 ms may read as 1099 */
	assert_true(rc_now_ms() - t0 >= 1099);
	assert_true(rc_now_ms() - t0 < 3000);

	/* a socket nobody listens on */
	snprintf(path, sizeof(path), "%s/deaf.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	strcpy(un.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	conf.connect_timeout_ms = 0;
	assert_null(rte_vfio_user_client_attach(&conf));
	assert_int_equal(rte_errno, ECONNREFUSED);

	/* one that listens and never accepts, its backlog full: the
	 * attach gives up after the request timeout (a blocking connect()
	 * would wait for ever) */
	assert_int_equal(listen(fd, 0), 0);
	fd2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd2 >= 0);
	assert_int_equal(connect(fd2, (struct sockaddr *)&un, sizeof(un)), 0);
	conf.timeout_ms = 300;
	t0 = rc_now_ms();
	assert_null(rte_vfio_user_client_attach(&conf));
	assert_int_equal(rte_errno, ETIMEDOUT);
	assert_true(rc_now_ms() - t0 >= 299);
	assert_true(rc_now_ms() - t0 < 2000);
	conf.timeout_ms = 0;
	close(fd2);
	close(fd);
	unlink(path);

	/* a path too long for sun_path */
	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_null(rte_vfio_user_client_attach(&conf));
	assert_int_equal(rte_errno, EINVAL);
}

static void *
late_start_thread(void *arg)
{
	struct srv *s = arg;

	rc_sleep_ms(300);
	if (srv_start(s, "late.sock") < 0)
		fprintf(stderr, "late server failed to start\n");
	return NULL;
}

static void
test_attach_late_server(void **state)
{
	struct rte_vfio_user_client_conf conf = { .connect_timeout_ms = 5000 };
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c;
	char path[128];
	struct srv *s;
	pthread_t t;

	(void)state;
	s = calloc(1, sizeof(*s));
	assert_non_null(s);
	snprintf(path, sizeof(path), "%s/late.sock", tmpdir);
	conf.path = path;
	assert_int_equal(pthread_create(&t, NULL, late_start_thread, s), 0);
	c = rte_vfio_user_client_attach(&conf);
	pthread_join(t, NULL);
	assert_non_null(c);
	assert_true(rte_vfio_user_client_connected(c));
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	assert_int_equal(info.num_regions, NREGIONS);
	cli_detach(s, c);
	assert_int_equal(srv_get(s, &s->news), 1);
	srv_wait_count(s, &s->destroys, 1);
	srv_free(s);
	free(s);
}

/* ---- negotiation and queries ---- */

static void
test_caps(void **state)
{
	struct rte_vfio_user_client_conf conf = { .path = srv_a.path };
	struct rte_vfio_user_client_caps caps;
	struct rte_vfio_user_client *c;

	(void)state;
	c = cli_attach_conf(&conf);
	rte_vfio_user_client_get_caps(c, &caps);
	assert_int_equal(caps.major, VFIO_USER_MAJOR_VER);
	assert_int_equal(caps.minor, VFIO_USER_MINOR_VER);
	assert_int_equal(caps.max_xfer, 1 * MiB);
	assert_int_equal(caps.max_msg_fds, 16);	/* what the server advertises */
	assert_int_equal(caps.pgsizes, 4096);
	assert_true(caps.max_dma_maps > 0 && caps.max_dma_maps <= 65535);
	assert_false(caps.write_multi);		/* not proposed */
	assert_false(caps.twin_socket);
	assert_int_equal(rte_vfio_user_is_connected(srv_a.id), 1);
	cli_detach(&srv_a, c);

	conf.write_multi = true;
	conf.max_xfer = 64 * KiB;
	c = cli_attach_conf(&conf);
	rte_vfio_user_client_get_caps(c, &caps);
	assert_true(caps.write_multi);
	assert_int_equal(caps.max_xfer, 1 * MiB);	/* the server's */
	cli_detach(&srv_a, c);

	conf.max_xfer = 2 * MiB;	/* more than the library can take */
	assert_null(rte_vfio_user_client_attach(&conf));
	assert_int_equal(rte_errno, EINVAL);
}

static void
test_device_info(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	struct vfio_user_device_info info;

	(void)state;
	memset(&info, 0xff, sizeof(info));
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	assert_int_equal(info.argsz, sizeof(info));
	assert_int_equal(info.flags, VFIO_USER_DEVICE_FLAGS_PCI |
			 VFIO_USER_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, NREGIONS);
	assert_int_equal(info.num_irqs, NIRQS);
	cli_detach(&srv_a, c);
}

static void
test_region_info(void **state)
{
	const uint32_t rw = VFIO_USER_REGION_INFO_FLAG_READ |
		VFIO_USER_REGION_INFO_FLAG_WRITE;
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	struct rte_vfio_user_client_region r;
	struct stat st;
	int fd;

	(void)state;
	for (uint32_t i = 0; i < NREGIONS; i++) {
		memset(&r, 0xa5, sizeof(r));
		assert_int_equal(rte_vfio_user_client_region_info(c, i, &r), 0);
		assert_int_equal(r.index, i);
		switch (i) {
		case 0:
			assert_int_equal(r.size, BAR0_SIZE);
			assert_int_equal(r.flags, rw);
			break;
		case BAR2_IDX:
			assert_int_equal(r.size, BAR2_SIZE);
			assert_int_equal(r.flags, rw | VFIO_USER_REGION_INFO_FLAG_MMAP |
					 VFIO_USER_REGION_INFO_FLAG_CAPS);
			assert_int_equal(r.offset, BAR2_MMAP_OFF);
			assert_int_equal(r.nr_sparse, 2);
			assert_int_equal(r.sparse[0].offset, 0);
			assert_int_equal(r.sparse[0].size, 16 * KiB);
			assert_int_equal(r.sparse[1].offset, 32 * KiB);
			assert_int_equal(r.sparse[1].size, 16 * KiB);
			assert_int_equal(r.type, 0);
			break;
		case BIG_IDX:
			assert_int_equal(r.size, BIG_SIZE);
			assert_int_equal(r.flags, rw);
			break;
		case CFG_IDX:
			assert_int_equal(r.size, CFG_SIZE);
			assert_int_equal(r.flags, rw);
			break;
		case R9_IDX:
			assert_int_equal(r.size, R9_SIZE);
			assert_int_equal(r.flags, VFIO_USER_REGION_INFO_FLAG_READ |
					 VFIO_USER_REGION_INFO_FLAG_CAPS);
			assert_int_equal(r.type, R9_TYPE);
			assert_int_equal(r.subtype, R9_SUBTYPE);
			assert_int_equal(r.nr_sparse, 0);
			break;
		default:	/* not described: absent */
			assert_int_equal(r.size, 0);
			assert_int_equal(r.flags, 0);
			break;
		}
		if (i == BAR2_IDX) {
			assert_true(r.fd >= 0);
			assert_int_equal(fstat(r.fd, &st), 0);
			assert_int_equal(st.st_size, BAR2_FD_SIZE);
		} else {
			assert_int_equal(r.fd, -1);
			if (i != R9_IDX)
				assert_int_equal(r.type, 0);
		}
	}

	/* asking again hands out the same fd: the earlier one stays valid */
	assert_int_equal(rte_vfio_user_client_region_info(c, BAR2_IDX, &r), 0);
	fd = r.fd;
	assert_int_equal(rte_vfio_user_client_region_info(c, BAR2_IDX, &r), 0);
	assert_int_equal(r.fd, fd);
	assert_true(fcntl(fd, F_GETFD) >= 0);

	/* bad indexes: the server's answer, then the client's own check */
	assert_int_equal(rte_vfio_user_client_region_info(c, NREGIONS, &r), -EINVAL);
	assert_int_equal(rte_vfio_user_client_region_info(c, 63, &r), -EINVAL);
	assert_int_equal(rte_vfio_user_client_region_info(c, 1000, &r), -EINVAL);
	assert_true(rte_vfio_user_client_connected(c));
	cli_detach(&srv_a, c);
}

static void
test_region_mmap(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	const int rw = PROT_READ | PROT_WRITE;
	struct rte_vfio_user_client_region r;
	uint8_t buf[64];
	uint8_t *p, *q;

	(void)state;
	/* the whole region is refused: parts of it are not mappable */
	assert_null(rte_vfio_user_client_region_mmap(c, BAR2_IDX, 0, BAR2_SIZE, rw));
	assert_int_equal(rte_errno, EACCES);
	/* between the areas, or straddling one's end */
	assert_null(rte_vfio_user_client_region_mmap(c, BAR2_IDX, 16 * KiB,
						     4 * KiB, rw));
	assert_int_equal(rte_errno, EACCES);
	assert_null(rte_vfio_user_client_region_mmap(c, BAR2_IDX, 12 * KiB,
						     8 * KiB, rw));
	assert_int_equal(rte_errno, EACCES);
	/* outside the region, empty, or not mappable at all */
	assert_null(rte_vfio_user_client_region_mmap(c, BAR2_IDX, 60 * KiB,
						     8 * KiB, rw));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(rte_vfio_user_client_region_mmap(c, BAR2_IDX, 0, 0, rw));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(rte_vfio_user_client_region_mmap(c, 0, 0, 4 * KiB, rw));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(rte_vfio_user_client_region_mmap(c, NREGIONS, 0, 4 * KiB, rw));
	assert_int_equal(rte_errno, EINVAL);

	/* a server file shorter than the region says: refused (a store
	 * past its end would raise SIGBUS) */
	assert_int_equal(ftruncate(srv_a.bar2_fd, BAR2_MMAP_OFF + 40 * KiB), 0);
	assert_null(rte_vfio_user_client_region_mmap(c, BAR2_IDX, 32 * KiB,
						     16 * KiB, rw));
	assert_int_equal(rte_errno, ENXIO);
	assert_int_equal(ftruncate(srv_a.bar2_fd, BAR2_FD_SIZE), 0);

	/* inside the second area: what region_write wrote shows */
	p = rte_vfio_user_client_region_mmap(c, BAR2_IDX, 32 * KiB, 16 * KiB, rw);
	assert_non_null(p);
	/* and the file cannot shrink under the mapping any more */
	assert_int_equal(ftruncate(srv_a.bar2_fd, BAR2_MMAP_OFF), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(rte_vfio_user_client_region_write(c, BAR2_IDX,
			 32 * KiB + 100, "hello, region", 13, false), 0);
	assert_memory_equal(p + 100, "hello, region", 13);
	assert_memory_equal(srv_a.bar2_map + BAR2_MMAP_OFF + 32 * KiB + 100,
			    "hello, region", 13);
	/* and what we store through the mapping, region_read returns */
	memcpy(p + 16 * KiB - 8, "mmapped!", 8);
	assert_int_equal(rte_vfio_user_client_region_read(c, BAR2_IDX,
			 48 * KiB - 8, buf, 8), 0);
	assert_memory_equal(buf, "mmapped!", 8);

	/* a page inside the first area, mapped after asking region_info */
	assert_int_equal(rte_vfio_user_client_region_info(c, BAR2_IDX, &r), 0);
	q = rte_vfio_user_client_region_mmap(c, BAR2_IDX, 4 * KiB, 4 * KiB,
					     PROT_READ);
	assert_non_null(q);
	assert_int_equal(rte_vfio_user_client_region_write(c, BAR2_IDX,
			 4 * KiB, "first", 5, false), 0);
	assert_memory_equal(q, "first", 5);
	assert_true(fcntl(r.fd, F_GETFD) >= 0);
	munmap(q, 4 * KiB);
	munmap(p, 16 * KiB);
	cli_detach(&srv_a, c);
}

static void
test_region_io_fds(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	struct rte_vfio_user_client_io_fd io[4];
	uint64_t one = 1, v;
	uint32_t count;

	(void)state;
	count = 99;
	assert_int_equal(rte_vfio_user_client_region_io_fds(c, BIG_IDX, io, 4,
							    &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(io[0].offset, 0);
	assert_int_equal(io[0].size, 4);
	assert_int_equal(io[0].type, VFIO_USER_IO_FD_TYPE_IOEVENTFD);
	assert_int_equal(io[0].flags, 0);
	assert_int_equal(io[1].offset, 0x100);
	assert_int_equal(io[1].size, 2);
	assert_int_equal(io[1].flags, VFIO_USER_IOEVENTFD_F_DATAMATCH);
	assert_int_equal(io[1].datamatch, 0x1234);
	/* the fds are the device's eventfds: a kick shows on the server's */
	for (int i = 0; i < 2; i++) {
		assert_true(io[i].fd >= 0);
		assert_int_equal(write(io[i].fd, &one, sizeof(one)), sizeof(one));
		assert_int_equal(read(srv_a.iofd[i], &v, sizeof(v)), sizeof(v));
		assert_int_equal(v, 1);
		close(io[i].fd);
	}

	/* no room: only the count, no fds */
	count = 0;
	assert_int_equal(rte_vfio_user_client_region_io_fds(c, BIG_IDX, NULL, 0,
							    &count), 0);
	assert_int_equal(count, 2);
	io[0].fd = -7;
	assert_int_equal(rte_vfio_user_client_region_io_fds(c, BIG_IDX, io, 1,
							    &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(io[0].fd, -7);	/* untouched */

	/* a region without any, and a bad index */
	assert_int_equal(rte_vfio_user_client_region_io_fds(c, 0, io, 4, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(rte_vfio_user_client_region_io_fds(c, 50, io, 4, &count),
			 -EINVAL);
	cli_detach(&srv_a, c);
}

static void
test_irq_info(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	struct vfio_user_irq_info irq;

	(void)state;
	assert_int_equal(rte_vfio_user_client_irq_info(c, 0, &irq), 0);
	assert_int_equal(irq.index, 0);
	assert_int_equal(irq.count, 1);
	assert_int_equal(irq.flags, VFIO_USER_IRQ_INFO_EVENTFD |
			 VFIO_USER_IRQ_INFO_MASKABLE | VFIO_USER_IRQ_INFO_AUTOMASKED);
	assert_int_equal(rte_vfio_user_client_irq_info(c, 1, &irq), 0);
	assert_int_equal(irq.count, 0);
	assert_int_equal(rte_vfio_user_client_irq_info(c, 2, &irq), 0);
	assert_int_equal(irq.index, 2);
	assert_int_equal(irq.count, MSIX_COUNT);
	assert_int_equal(irq.flags, VFIO_USER_IRQ_INFO_EVENTFD);
	assert_int_equal(rte_vfio_user_client_irq_info(c, NIRQS, &irq), -EINVAL);
	assert_int_equal(rte_vfio_user_client_irq_info(c, 1000, &irq), -EINVAL);
	cli_detach(&srv_a, c);
}

/* ---- interrupts ---- */

static void
test_set_irqs_msix(void **state)
{
	const uint32_t evt = VFIO_USER_IRQ_SET_DATA_EVENTFD |
		VFIO_USER_IRQ_SET_ACTION_TRIGGER;
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	int efd[MSIX_COUNT], fds[MSIX_COUNT];
	const int id = srv_a.id;

	(void)state;
	for (int i = 0; i < MSIX_COUNT; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(efd[i] >= 0);
	}
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 2, evt, 0, MSIX_COUNT,
						       efd), 0);
	assert_int_equal(rte_vfio_user_irq_enabled(id, 2), MSIX_COUNT);
	for (int v = 0; v < MSIX_COUNT; v++) {
		assert_int_equal(rte_vfio_user_irq_trigger(id, 2, (uint32_t)v), 1);
		for (int k = 0; k < MSIX_COUNT; k++)
			assert_int_equal(efd_fired(efd[k], k == v ? 1000 : 0), k == v);
	}

	/* -1 entries de-assign: vectors 1, 2 and 6 */
	for (int i = 0; i < MSIX_COUNT; i++)
		fds[i] = efd[i];
	fds[1] = fds[2] = fds[6] = -1;
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 2, evt, 0, MSIX_COUNT,
						       fds), 0);
	assert_int_equal(rte_vfio_user_irq_enabled(id, 2), MSIX_COUNT - 3);
	assert_int_equal(rte_vfio_user_get_irq(id, 2, 1), -1);
	assert_int_equal(rte_vfio_user_get_irq(id, 2, 6), -1);
	assert_true(rte_vfio_user_get_irq(id, 2, 7) >= 0);
	/* a vector without an eventfd latches; assigning one delivers it */
	assert_int_equal(rte_vfio_user_irq_trigger(id, 2, 6), 0);
	assert_false(efd_fired(efd[6], 50));
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 2, evt, 6, 1, &efd[6]), 0);
	assert_true(efd_fired(efd[6], 1000));
	assert_int_equal(rte_vfio_user_irq_trigger(id, 2, 7), 1);
	assert_true(efd_fired(efd[7], 1000));

	/* DATA_NONE, count 0: everything off */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 2,
			 VFIO_USER_IRQ_SET_DATA_NONE | VFIO_USER_IRQ_SET_ACTION_TRIGGER,
			 0, 0, NULL), 0);
	assert_int_equal(rte_vfio_user_irq_enabled(id, 2), 0);

	/* the server's refusals */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 2, evt, 4, MSIX_COUNT,
						       efd), -EINVAL);
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 2,
			 VFIO_USER_IRQ_SET_DATA_NONE | VFIO_USER_IRQ_SET_ACTION_MASK,
			 0, 1, NULL), -EINVAL);	/* MSI-X is not maskable here */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, NIRQS, evt, 0, 1, efd),
			 -EINVAL);
	/* and the client's */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 2, evt, 0, 2, NULL),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 2,
			 VFIO_USER_IRQ_SET_ACTION_TRIGGER, 0, 2, efd), -EINVAL);
	for (int i = 0; i < MSIX_COUNT; i++)
		close(efd[i]);
	cli_detach(&srv_a, c);
}

static void
test_set_irqs_intx_masks(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	const uint32_t mask_none = VFIO_USER_IRQ_SET_DATA_NONE |
		VFIO_USER_IRQ_SET_ACTION_MASK;
	const uint32_t unmask_none = VFIO_USER_IRQ_SET_DATA_NONE |
		VFIO_USER_IRQ_SET_ACTION_UNMASK;
	const uint32_t mask_bool = VFIO_USER_IRQ_SET_DATA_BOOL |
		VFIO_USER_IRQ_SET_ACTION_MASK;
	const uint32_t unmask_bool = VFIO_USER_IRQ_SET_DATA_BOOL |
		VFIO_USER_IRQ_SET_ACTION_UNMASK;
	const uint8_t yes = 1, no = 0;
	const int id = srv_a.id;
	uint64_t end;
	int efd, mefd;

	(void)state;
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	mefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0 && mefd >= 0);
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0,
			 VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_TRIGGER,
			 0, 1, &efd), 0);
	/* an unmask eventfd tells us when the device is unmasked */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0,
			 VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_UNMASK,
			 0, 1, &mefd), 0);

	/* INTx masks itself when it fires */
	assert_int_equal(rte_vfio_user_irq_trigger(id, 0, 0), 1);
	assert_true(efd_fired(efd, 1000));
	assert_int_equal(rte_vfio_user_irq_trigger(id, 0, 0), 0);	/* latched */
	assert_false(efd_fired(efd, 50));
	/* DATA_NONE unmask delivers the latched one (and masks again) */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, unmask_none, 0, 1,
						       NULL), 0);
	assert_true(efd_fired(efd, 1000));
	assert_true(efd_fired(mefd, 1000));
	/* DATA_BOOL unmask with false does nothing */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, unmask_bool, 0, 1,
						       &no), 0);
	assert_int_equal(rte_vfio_user_irq_trigger(id, 0, 0), 0);
	assert_false(efd_fired(mefd, 0));
	/* with true it unmasks and delivers */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, unmask_bool, 0, 1,
						       &yes), 0);
	assert_true(efd_fired(efd, 1000));
	/* unmask, then DATA_BOOL mask: triggers latch */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, unmask_none, 0, 1,
						       NULL), 0);
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, mask_bool, 0, 1,
						       &yes), 0);
	assert_int_equal(rte_vfio_user_irq_trigger(id, 0, 0), 0);
	assert_int_equal(rte_vfio_user_irq_clear(id, 0, 0), 0);
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, unmask_none, 0, 1,
						       NULL), 0);
	assert_false(efd_fired(efd, 50));	/* cleared: nothing pending */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, mask_none, 0, 1,
						       NULL), 0);
	assert_int_equal(rte_vfio_user_irq_trigger(id, 0, 0), 0);
	/* a DATA_BOOL trigger from the client raises it */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, unmask_none, 0, 1,
						       NULL), 0);
	assert_true(efd_fired(efd, 1000));
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, unmask_none, 0, 1,
						       NULL), 0);
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0,
			 VFIO_USER_IRQ_SET_DATA_BOOL | VFIO_USER_IRQ_SET_ACTION_TRIGGER,
			 0, 1, &yes), 0);
	assert_true(efd_fired(efd, 1000));
	/* DATA_BOOL with no data at all is the client's error */
	assert_int_equal(rte_vfio_user_client_set_irqs(c, 0, mask_bool, 0, 1,
						       NULL), -EINVAL);
	close(efd);
	close(mefd);
	cli_detach(&srv_a, c);
	/* the client went: its eventfds are gone from the device */
	end = rc_now_ms() + 3000;
	while (rte_vfio_user_get_irq(id, 0, 0) != -1 && rc_now_ms() < end)
		rc_sleep_ms(2);
	assert_int_equal(rte_vfio_user_get_irq(id, 0, 0), -1);
}

/* ---- region access ---- */

static void
test_region_rw(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	uint8_t buf[BAR0_SIZE], rd[BAR0_SIZE];

	(void)state;
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(rte_vfio_user_client_region_write(c, 0, 0, buf,
			 BAR0_ERR_OFF, false), 0);
	assert_memory_equal(srv_a.bar0, buf, BAR0_ERR_OFF);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 0, rd,
			 BAR0_ERR_OFF), 0);
	assert_memory_equal(rd, buf, BAR0_ERR_OFF);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 17, rd, 3), 0);
	assert_memory_equal(rd, buf + 17, 3);

	/* config space and the device-specific region */
	assert_int_equal(rte_vfio_user_client_region_read(c, CFG_IDX, 0, rd,
			 CFG_SIZE), 0);
	assert_memory_equal(rd, srv_a.cfg, CFG_SIZE);
	assert_int_equal(rd[0], 0xf4);
	assert_int_equal(rd[1], 0x1a);
	assert_int_equal(rte_vfio_user_client_region_read(c, R9_IDX, 100, rd, 50), 0);
	assert_memory_equal(rd, srv_a.r9 + 100, 50);
	/* zero bytes: nothing to do */
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 0, rd, 0), 0);

	/* the server's refusals, and the device's own error */
	assert_int_equal(rte_vfio_user_client_region_write(c, R9_IDX, 0, buf, 4,
							   false), -EACCES);
	assert_int_equal(rte_vfio_user_client_region_read(c, 1, 0, rd, 4), -EACCES);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, BAR0_SIZE - 2, rd,
							  4), -EINVAL);
	assert_int_equal(rte_vfio_user_client_region_write(c, CFG_IDX, CFG_SIZE,
							   buf, 1, false), -EINVAL);
	assert_int_equal(rte_vfio_user_client_region_read(c, NREGIONS, 0, rd, 4),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, BAR0_ERR_OFF, rd,
							  4), -ENXIO);
	assert_true(rte_vfio_user_client_connected(c));
	cli_detach(&srv_a, c);
}

/* Replies far larger than a socket buffer, with client and server on the
 * same event thread (the server never blocks sending them). */
/*
 * Bulk accesses are made in order (a write, then the read of what it
 * wrote, in one call), reads filled; a failed access stops it with its
 * index, the reads before it filled; bad entries send nothing.
 */
static void
test_region_access_bulk(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	struct rte_vfio_user_client_access a[300];
	uint32_t w[150], r[150], failed;
	uint8_t big[64];

	(void)state;
	for (uint32_t i = 0; i < 150; i++) {
		w[i] = 0xc0de0000 + i;
		r[i] = 0;
		/* the same register written then read, 150 times over:
		 * each read must see the write just before it */
		a[2 * i] = (struct rte_vfio_user_client_access){
			.offset = 0x100,
			.buf = &w[i],
			.region = 0,
			.len = 4,
			.write = true,
		};
		a[2 * i + 1] = (struct rte_vfio_user_client_access){
			.offset = 0x100,
			.buf = &r[i],
			.region = 0,
			.len = 4,
		};
	}
	assert_int_equal(rte_vfio_user_client_region_access_bulk(c, a, 300,
								 &failed),
			 0);
	assert_int_equal(failed, 300);
	for (uint32_t i = 0; i < 150; i++)
		assert_int_equal(r[i], 0xc0de0000 + i);
	assert_memory_equal(srv_a.bar0 + 0x100, &w[149], 4);

	/* the 4th access fails (the device's own error): its index, the
	 * reads before it filled */
	memset(r, 0, sizeof(r));
	a[0] = (struct rte_vfio_user_client_access){ 0x100, &r[0], 0, 4,
						     false };
	a[1] = (struct rte_vfio_user_client_access){ 0x104, &w[1], 0, 4, true };
	a[2] = (struct rte_vfio_user_client_access){ 0x104, &r[2], 0, 4,
						     false };
	a[3] = (struct rte_vfio_user_client_access){ BAR0_ERR_OFF, &r[3], 0, 4,
						     false };
	a[4] = (struct rte_vfio_user_client_access){ 0x100, &r[4], 0, 4,
						     false };
	assert_int_equal(rte_vfio_user_client_region_access_bulk(c, a, 5,
								 &failed),
			 -ENXIO);
	assert_int_equal(failed, 3);
	assert_int_equal(r[0], 0xc0de0000 + 149);
	assert_int_equal(r[2], 0xc0de0000 + 1);

	/* entries that cannot be sent: nothing is */
	a[1].len = 0;
	assert_int_equal(rte_vfio_user_client_region_access_bulk(c, a, 5,
								 &failed),
			 -EINVAL);
	a[1].len = 4;
	a[1].buf = NULL;
	assert_int_equal(rte_vfio_user_client_region_access_bulk(c, a, 5, NULL),
			 -EINVAL);
	a[1] = (struct rte_vfio_user_client_access){ 0, big, BIG_IDX,
						     2 * 1024 * 1024, false };
	assert_int_equal(rte_vfio_user_client_region_access_bulk(c, a, 2, NULL),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_region_access_bulk(c, a, 0, NULL),
			 0);
	assert_true(rte_vfio_user_client_connected(c));

	/* 1 MiB reads and writes mixed: all in flight at once, the reads'
	 * replies and the writes would fill both sides' output queues, each
	 * side would stop reading the other and both would wait: a batch
	 * holds about 1 MiB of them (it timed out with the connection lost) */
	{
		enum {
			N = 16
		};
		struct rte_vfio_user_client_access m[N];
		uint8_t *rd = malloc((size_t)N * MiB), *wr = malloc(4 * MiB);
		uint64_t t0 = rc_now_ms();

		assert_non_null(rd);
		assert_non_null(wr);
		for (size_t i = 0; i < 4 * MiB; i++)
			wr[i] = pat(i);	/* what the region holds */
		for (uint32_t i = 0; i < N; i++)
			m[i] = (struct rte_vfio_user_client_access){
				.offset = (i / 2 % 4) * (uint64_t)MiB,
				.buf = i % 2 ? wr + (i / 2 % 4) * MiB :
					       rd + (size_t)i * MiB,
				.region = BIG_IDX,
				.len = MiB,
				.write = i % 2 == 1,
			};
		assert_int_equal(rte_vfio_user_client_region_access_bulk(
					 c, m, N, &failed),
				 0);
		for (uint32_t i = 0; i < N; i += 2)
			assert_memory_equal(rd + (size_t)i * MiB,
					    wr + (i / 2 % 4) * MiB, MiB);
		print_message("%u MiB read and written in one bulk call: "
			      "%" PRIu64 " ms\n",
			      N, rc_now_ms() - t0);
		assert_int_equal(rte_vfio_user_client_region_read(c, 0, 0x100,
								  &r[0], 4),
				 0);
		free(rd);
		free(wr);
	}
	cli_detach(&srv_a, c);
}

static void
test_region_rw_big_inprocess(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	uint8_t *buf = malloc(BIG_SIZE);
	uint64_t t0;

	(void)state;
	assert_non_null(buf);
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_region_read(c, BIG_IDX, 0, buf,
							  BIG_SIZE), 0);
	for (size_t i = 0; i < BIG_SIZE; i++)
		if (buf[i] != pat(i))
			fail_msg("byte %zu of the in-process read is wrong", i);
	for (size_t i = 0; i < BIG_SIZE; i++)
		buf[i] = (uint8_t)~pat(i);
	assert_int_equal(rte_vfio_user_client_region_write(c, BIG_IDX, 0, buf,
							   BIG_SIZE, false), 0);
	assert_memory_equal(srv_a.big, buf, BIG_SIZE);
	print_message("in-process: %u KiB read and written in %" PRIu64 " ms\n",
		      (unsigned int)(BIG_SIZE / KiB), rc_now_ms() - t0);
	for (size_t i = 0; i < BIG_SIZE; i++)
		srv_a.big[i] = pat(i);
	free(buf);
	cli_detach(&srv_a, c);
}

static void
test_region_write_chunked(void **state)
{
	const size_t len = 3 * MiB + 5;
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	uint8_t *buf = malloc(len);

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)~pat(i);
	pthread_mutex_lock(&srv_a.lock);
	srv_a.big_calls = 0;
	srv_a.big_max = 0;
	pthread_mutex_unlock(&srv_a.lock);
	assert_int_equal(rte_vfio_user_client_region_write(c, BIG_IDX, 9, buf,
							   len, false), 0);
	pthread_mutex_lock(&srv_a.lock);
	/* the server's max_data_xfer_size (1 MiB) at most per message */
	assert_int_equal(srv_a.big_calls, 4);
	assert_int_equal(srv_a.big_max, 1 * MiB);
	assert_memory_equal(srv_a.big + 9, buf, len);
	assert_int_equal(srv_a.big[8], pat(8));
	assert_int_equal(srv_a.big[9 + len], pat(9 + len));
	for (size_t i = 0; i < len; i++)	/* as it was, for later tests */
		srv_a.big[9 + i] = pat(9 + i);
	pthread_mutex_unlock(&srv_a.lock);
	/* the whole write must fit the region, or it fails (chunk by chunk) */
	assert_int_equal(rte_vfio_user_client_region_write(c, BIG_IDX,
			 BIG_SIZE - 10, buf, 11, false), -EINVAL);
	free(buf);
	cli_detach(&srv_a, c);
}

static void
test_posted_writes(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	uint32_t v;

	(void)state;
	pthread_mutex_lock(&srv_a.lock);
	srv_a.nposted = 0;
	pthread_mutex_unlock(&srv_a.lock);
	for (uint32_t i = 0; i < POSTED_N; i++)
		assert_int_equal(rte_vfio_user_client_region_write(c, 0,
				 POSTED_OFF, &i, sizeof(i), true), 0);
	/* a posted write to elsewhere, then a non-posted read flushes all */
	assert_int_equal(rte_vfio_user_client_region_write(c, 0, POSTED_OFF + 4,
			 "post", 4, true), 0);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, POSTED_OFF, &v,
							  sizeof(v)), 0);
	assert_int_equal(v, POSTED_N - 1);
	pthread_mutex_lock(&srv_a.lock);
	assert_int_equal(srv_a.nposted, POSTED_N);
	for (uint32_t i = 0; i < POSTED_N; i++)	/* applied in order */
		assert_int_equal(srv_a.posted_log[i], i);
	assert_memory_equal(srv_a.bar0 + POSTED_OFF + 4, "post", 4);
	pthread_mutex_unlock(&srv_a.lock);
	/* a failing posted write gets no answer, the connection goes on */
	assert_int_equal(rte_vfio_user_client_region_write(c, R9_IDX, 0, &v, 4,
							   true), 0);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, POSTED_OFF, &v,
							  sizeof(v)), 0);
	assert_true(rte_vfio_user_client_connected(c));
	cli_detach(&srv_a, c);
}

static void
check_write_multi(bool negotiate)
{
	struct rte_vfio_user_client_conf conf = {
		.path = srv_a.path, .write_multi = negotiate,
	};
	struct rte_vfio_user_client_write w[250];
	struct rte_vfio_user_client_caps caps;
	struct rte_vfio_user_client *c;
	uint8_t before[8];

	c = cli_attach_conf(&conf);
	rte_vfio_user_client_get_caps(c, &caps);
	assert_int_equal(caps.write_multi, negotiate);
	/* 250 writes: more than one message holds (200) */
	for (uint32_t i = 0; i < RTE_DIM(w); i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].region = 0;
		w[i].offset = 8 * i;
		w[i].count = 1 + i % 8;
		memset(w[i].data, (int)(i + negotiate), w[i].count);
	}
	w[249].region = BIG_IDX;
	w[249].offset = 4 * MiB;
	memcpy(w[249].data, "multi-wr", 8);
	w[249].count = 8;
	assert_int_equal(rte_vfio_user_client_region_write_multi(c, w,
			 RTE_DIM(w)), 0);
	pthread_mutex_lock(&srv_a.lock);
	for (uint32_t i = 0; i < 249; i++)
		for (uint32_t k = 0; k < w[i].count; k++)
			assert_int_equal(srv_a.bar0[8 * i + k], (uint8_t)(i + negotiate));
	assert_memory_equal(srv_a.big + 4 * MiB, "multi-wr", 8);
	memcpy(before, srv_a.bar0, 8);
	pthread_mutex_unlock(&srv_a.lock);

	/* a bad entry: with WRITE_MULTI nothing of the message is applied,
	 * one by one the writes before it are */
	w[0].count = 8;
	memcpy(w[0].data, "applied?", 8);
	w[1].region = R9_IDX;	/* read-only */
	w[1].offset = 0;
	assert_int_equal(rte_vfio_user_client_region_write_multi(c, w, 2),
			 -EACCES);
	pthread_mutex_lock(&srv_a.lock);
	if (negotiate)
		assert_memory_equal(srv_a.bar0, before, 8);
	else
		assert_memory_equal(srv_a.bar0, "applied?", 8);
	pthread_mutex_unlock(&srv_a.lock);

	/* entry sizes are checked before anything is sent */
	w[1] = w[0];
	w[1].count = 9;
	assert_int_equal(rte_vfio_user_client_region_write_multi(c, w, 2), -EINVAL);
	w[1].count = 0;
	assert_int_equal(rte_vfio_user_client_region_write_multi(c, w, 2), -EINVAL);
	assert_int_equal(rte_vfio_user_client_region_write_multi(c, w, 0), 0);
	cli_detach(&srv_a, c);
}

static void
test_write_multi(void **state)
{
	(void)state;
	check_write_multi(true);
	check_write_multi(false);
}

/* ---- DMA ---- */

static void
test_dma_map_fd(void **state)
{
	const uint64_t iova = 0x100000, size = 64 * KiB;
	const uint32_t rw = VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE;
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	const struct rte_vfio_user_mem_table *t;
	uint8_t *mem, *va, buf[32];
	int fd;

	(void)state;
	fd = memfd_create("guest", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2 * size), 0);
	mem = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	for (uint64_t i = 0; i < 2 * size; i++)
		mem[i] = pat(i);

	/* all of the first half, and at iova + 1 MiB the second half */
	assert_int_equal(rte_vfio_user_client_dma_map(c, iova, size, NULL, fd, 0,
						      rw), 0);
	assert_int_equal(rte_vfio_user_client_dma_map(c, iova + MiB, size, NULL,
						      fd, size,
						      VFIO_USER_DMA_MAP_F_READ), 0);
	t = rte_vfio_user_get_mem_table(srv_a.id);
	assert_non_null(t);
	assert_int_equal(t->nregions, 2);
	assert_int_equal(rte_vfio_user_mem_find(t, iova, 1)->iova, iova);
	assert_int_equal(rte_vfio_user_mem_find(t, iova, 1)->size, size);
	assert_non_null(rte_vfio_user_mem_find(t, iova, 1)->vaddr);
	va = rte_vfio_user_iova_to_va(t, iova + 100, 16, RTE_VFIO_USER_MEM_F_READ);
	assert_non_null(va);
	assert_memory_equal(va, mem + 100, 16);
	va = rte_vfio_user_iova_to_va(t, iova + MiB + 5, 16, RTE_VFIO_USER_MEM_F_READ);
	assert_non_null(va);
	assert_memory_equal(va, mem + size + 5, 16);
	/* read-only: no write access */
	assert_null(rte_vfio_user_iova_to_va(t, iova + MiB, 16,
					     RTE_VFIO_USER_MEM_F_WRITE));
	/* the device writes, we see it */
	va = rte_vfio_user_iova_to_va(t, iova + 4000, 8, RTE_VFIO_USER_MEM_F_WRITE);
	assert_non_null(va);
	memcpy(va, "devwrite", 8);
	assert_memory_equal(mem + 4000, "devwrite", 8);
	assert_int_equal(rte_vfio_user_dma_read(srv_a.id, iova + size - 16, buf,
						16), 0);
	assert_memory_equal(buf, mem + size - 16, 16);

	/* the server's refusals */
	assert_int_equal(rte_vfio_user_client_dma_map(c, iova + 8 * KiB, size,
						      NULL, fd, 0, rw), -EEXIST);
	assert_int_equal(rte_vfio_user_client_dma_map(c, iova + 3 * MiB + 1, size,
						      NULL, fd, 0, rw), -EINVAL);
	assert_int_equal(rte_vfio_user_client_dma_map(c, iova + 3 * MiB, size,
						      NULL, fd, 0, 0), -EINVAL);
	/* half a region: never (VFIO type1 refuses to split one too) */
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, iova, size / 2),
			 -EINVAL);
	/* the client's: neither fd nor address */
	assert_int_equal(rte_vfio_user_client_dma_map(c, iova + 3 * MiB, size,
						      NULL, -1, 0, rw), -EINVAL);

	assert_int_equal(rte_vfio_user_client_dma_unmap(c, iova, size), 0);
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, iova + MiB, size), 0);
	t = rte_vfio_user_get_mem_table(srv_a.id);
	assert_int_equal(t->nregions, 0);
	assert_int_equal(rte_vfio_user_dma_read(srv_a.id, iova, buf, 16), -EFAULT);
	/* nothing mapped there: nothing to do (as VFIO type1) */
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, iova, size), 0);
	munmap(mem, 2 * size);
	close(fd);
	cli_detach(&srv_a, c);
}

/*
 * Many regions in one pipelined call, as the frontend maps a process
 * with a file per hugepage: every region reaches the server, fd-backed
 * and message-only alike; a call with one bad region leaves nothing of
 * its own behind.
 */
static void
test_dma_map_bulk(void **state)
{
	enum {
		N = 600,
		NMSG = 4
	};
	const uint64_t base = 0x200000000ull, stride = 64 * KiB;
	const uint32_t rw = VFIO_USER_DMA_MAP_F_READ |
			    VFIO_USER_DMA_MAP_F_WRITE;
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	struct rte_vfio_user_client_dma_region *r = calloc(N, sizeof(*r));
	const struct rte_vfio_user_mem_table *t;
	uint8_t *mem, *msg, buf[16];
	int fd;

	(void)state;
	assert_non_null(r);
	fd = memfd_create("bulk", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, N * 4096), 0);
	mem = mmap(NULL, N * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	msg = aligned_alloc(4096, NMSG * 4096);
	assert_non_null(msg);
	for (uint64_t i = 0; i < N * 4096; i++)
		mem[i] = pat(i);
	memset(msg, 0x5a, NMSG * 4096);
	for (unsigned int i = 0; i < N; i++)
		r[i] = (struct rte_vfio_user_client_dma_region){
			.iova = base + i * stride,
			.size = 4096,
			.fd = fd,
			.fd_offset = (uint64_t)i * 4096,
			.prot = rw,
		};
	for (unsigned int i = 0; i < NMSG; i++)	/* a few message-only */
		r[N - NMSG + i] = (struct rte_vfio_user_client_dma_region){
			.iova = base + (N - NMSG + i) * stride,
			.size = 4096,
			.vaddr = msg + i * 4096,
			.fd = -1,
			.prot = rw,
		};

	assert_int_equal(rte_vfio_user_client_dma_map_bulk(c, r, N), 0);
	t = rte_vfio_user_get_mem_table(srv_a.id);
	assert_int_equal(t->nregions, N);
	for (unsigned int i = 0; i < N - NMSG; i += 37) {
		const uint8_t *va =
			rte_vfio_user_iova_to_va(t, r[i].iova + 8, 8,
						 RTE_VFIO_USER_MEM_F_READ);

		assert_non_null(va);
		assert_memory_equal(va, mem + i * 4096 + 8, 8);
	}
	assert_int_equal(rte_vfio_user_dma_read(srv_a.id, r[N - 1].iova + 100,
						buf, sizeof(buf)),
			 0);
	assert_int_equal(buf[0], 0x5a);

	/* again, with one region overlapping a map of the first call: the
	 * server refuses that one, the call undoes the rest */
	for (unsigned int i = 0; i < N; i++)
		r[i].iova += 8192;
	r[450].iova = r[450].iova - 8192;
	assert_int_equal(rte_vfio_user_client_dma_map_bulk(c, r, N), -EEXIST);
	t = rte_vfio_user_get_mem_table(srv_a.id);
	assert_int_equal(t->nregions, N);
	assert_null(rte_vfio_user_iova_to_va(t, r[0].iova, 8,
					     RTE_VFIO_USER_MEM_F_READ));
	/* nor its message-only regions */
	assert_int_equal(rte_vfio_user_dma_read(srv_a.id, r[N - 1].iova, buf,
						sizeof(buf)),
			 -EFAULT);

	/* unmapped in one call, one of them wrongly (half a region: the
	 * server refuses it): all the others go */
	for (unsigned int i = 0; i < N; i++)
		r[i].iova = base + i * stride;
	r[300].size = 2048;
	assert_int_equal(rte_vfio_user_client_dma_unmap_bulk(c, r, N), -EINVAL);
	t = rte_vfio_user_get_mem_table(srv_a.id);
	assert_int_equal(t->nregions, 1);
	assert_non_null(rte_vfio_user_mem_find(t, r[300].iova, 1));
	r[300].size = 4096;
	assert_int_equal(rte_vfio_user_client_dma_unmap_bulk(c, &r[300], 1), 0);
	assert_int_equal(rte_vfio_user_get_mem_table(srv_a.id)->nregions, 0);
	cli_detach(&srv_a, c);
	munmap(mem, N * 4096);
	close(fd);
	free(msg);
	free(r);
}

/* vaddr-only windows: the client answers DMA_READ/WRITE from its memory. */
static void
check_dma_vaddr(struct rte_vfio_user_client_conf *conf)
{
	const uint64_t iova = 0x40000000, size = 64 * KiB;
	const uint64_t ro_iova = 0x50000000;
	struct rte_vfio_user_client *c = cli_attach_conf(conf);
	const struct rte_vfio_user_mem_table *t;
	uint8_t *mem, *ro, *buf;
	const int id = srv_a.id;

	mem = aligned_alloc(4096, size);
	ro = aligned_alloc(4096, 2 * 4096);
	buf = malloc(size);
	assert_true(mem != NULL && ro != NULL && buf != NULL);
	for (uint64_t i = 0; i < size; i++)
		mem[i] = pat(i + 3);
	memset(ro, 0x77, 2 * 4096);
	assert_int_equal(rte_vfio_user_client_dma_map(c, iova, size, mem, -1, 0,
			 VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE), 0);
	assert_int_equal(rte_vfio_user_client_dma_map(c, ro_iova, 2 * 4096, ro, -1,
			 0, VFIO_USER_DMA_MAP_F_READ), 0);
	t = rte_vfio_user_get_mem_table(id);
	assert_int_equal(t->nregions, 2);
	assert_null(
		rte_vfio_user_mem_find(t, iova, 1)->vaddr); /* message-only */
	assert_null(rte_vfio_user_iova_to_va(t, iova, 16, RTE_VFIO_USER_MEM_F_READ));

	/* this thread is not the event thread: it may wait for the client */
	assert_int_equal(rte_vfio_user_dma_read(id, iova + 10, buf, 1000), 0);
	assert_memory_equal(buf, mem + 10, 1000);
	assert_int_equal(rte_vfio_user_dma_read(id, iova, buf, size), 0);
	assert_memory_equal(buf, mem, size);
	memset(buf, 0xd1, 3000);
	assert_int_equal(rte_vfio_user_dma_write(id, iova + 5000, buf, 3000), 0);
	for (int i = 0; i < 3000; i++)
		assert_int_equal(mem[5000 + i], 0xd1);
	assert_int_equal(mem[4999], pat(4999 + 3));
	assert_int_equal(mem[8000], pat(8000 + 3));
	assert_int_equal(rte_vfio_user_dma_read(id, ro_iova + 4090, buf, 10), 0);
	assert_memory_equal(buf, ro + 4090, 10);

	/* bounds and protection */
	assert_int_equal(rte_vfio_user_dma_read(id, iova + size - 10, buf, 100),
			 -EFAULT);
	assert_int_equal(rte_vfio_user_dma_read(id, iova - 4096, buf, 16), -EFAULT);
	assert_int_equal(rte_vfio_user_dma_write(id, ro_iova, buf, 16), -EFAULT);
	assert_int_equal(ro[0], 0x77);

	/* unmapped: gone for the server too */
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, iova, size), 0);
	assert_int_equal(rte_vfio_user_dma_read(id, iova, buf, 16), -EFAULT);

	/* an unmap the server refuses (a dirty bitmap without logging): the
	 * caller takes the memory back all the same, so the client serves
	 * it no more (the server still has the region: -EIO, the client's
	 * refusal) */
	uint64_t bm[1];

	assert_true(rte_vfio_user_client_dma_unmap_dirty(c, ro_iova, 2 * 4096,
							 4096, bm,
							 sizeof(bm)) < 0);
	assert_int_equal(rte_vfio_user_get_mem_table(id)->nregions, 1);
	assert_int_equal(rte_vfio_user_dma_read(id, ro_iova, buf, 10), -EIO);
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, ro_iova, 2 * 4096), 0);
	assert_true(rte_vfio_user_client_connected(c));
	cli_detach(&srv_a, c);
	free(mem);
	free(ro);
	free(buf);
}

static void
test_dma_vaddr(void **state)
{
	struct rte_vfio_user_client_conf conf = { .path = srv_a.path };

	(void)state;
	check_dma_vaddr(&conf);
	/* a small max_data_xfer_size of ours: the server chunks by it */
	conf.max_xfer = 4096;
	check_dma_vaddr(&conf);
}

static void *
probe_thread(void *arg)
{
	struct srv *s = arg;
	uint64_t iova;
	int ret;

	pthread_mutex_lock(&s->lock);
	while (!s->probe_go)
		pthread_cond_wait(&s->probe_cond, &s->lock);
	iova = s->probe_iova;
	s->probe_sending = true;
	pthread_cond_broadcast(&s->probe_cond);
	pthread_mutex_unlock(&s->lock);
	/* as a device would: DMA as soon as the memory is there */
	ret = rte_vfio_user_dma_read(s->id, iova, s->probe_data,
				     sizeof(s->probe_data));
	pthread_mutex_lock(&s->lock);
	s->probe_ret = ret;
	s->probe_done = true;
	pthread_cond_broadcast(&s->probe_cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void
test_dma_right_after_map(void **state)
{
	const uint64_t iova = 0x70000000;
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	uint8_t *mem = aligned_alloc(4096, 4096);
	pthread_t t;

	(void)state;
	assert_non_null(mem);
	memcpy(mem, "mapped just now!", 16);
	pthread_mutex_lock(&srv_a.lock);
	srv_a.probe_armed = true;
	srv_a.probe_go = false;
	srv_a.probe_sending = false;
	srv_a.probe_done = false;
	srv_a.probe_iova = iova;
	pthread_mutex_unlock(&srv_a.lock);
	assert_int_equal(pthread_create(&t, NULL, probe_thread, &srv_a), 0);
	assert_int_equal(rte_vfio_user_client_dma_map(c, iova, 4096, mem, -1, 0,
			 VFIO_USER_DMA_MAP_F_READ), 0);
	pthread_join(t, NULL);
	assert_true(srv_a.probe_done);
	assert_int_equal(srv_a.probe_ret, 0);
	assert_memory_equal(srv_a.probe_data, "mapped just now!", 16);
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, iova, 4096), 0);
	cli_detach(&srv_a, c);
	free(mem);
}

static void
test_reset(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	unsigned int n = srv_get(&srv_a, &srv_a.resets);

	(void)state;
	assert_int_equal(rte_vfio_user_client_reset(c), 0);
	assert_int_equal(srv_get(&srv_a, &srv_a.resets), n + 1);
	assert_int_equal(rte_vfio_user_client_reset(c), 0);
	assert_int_equal(srv_get(&srv_a, &srv_a.resets), n + 2);
	pthread_mutex_lock(&srv_a.lock);
	srv_a.reset_ret = -EIO;
	pthread_mutex_unlock(&srv_a.lock);
	assert_int_equal(rte_vfio_user_client_reset(c), -EIO);
	pthread_mutex_lock(&srv_a.lock);
	srv_a.reset_ret = 0;
	pthread_mutex_unlock(&srv_a.lock);
	assert_int_equal(srv_get(&srv_a, &srv_a.resets), n + 3);
	cli_detach(&srv_a, c);
}

static void
test_dirty_pages(void **state)
{
	const uint64_t iova = 0x200000, size = 64 * KiB, pg = 4096;
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	uint64_t bitmap[2];
	uint8_t *mem, x = 0xee;
	int fd;

	(void)state;
	fd = memfd_create("dirty", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(rte_vfio_user_client_dma_map(c, iova, size, NULL, fd, 0,
			 VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE), 0);

	/* not logging: no bitmap */
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP, iova, size, pg,
			 bitmap, 8), -EINVAL);
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_START, 0, 0, 0, NULL, 0), 0);
	assert_int_equal(rte_vfio_user_dma_write(srv_a.id, iova + 2 * pg + 5, &x,
						 1), 0);
	assert_int_equal(rte_vfio_user_dma_write(srv_a.id, iova + 5 * pg, &x, 1), 0);
	assert_int_equal(rte_vfio_user_mark_dirty(srv_a.id, iova + 15 * pg, 1), 0);
	bitmap[0] = bitmap[1] = ~0ULL;
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP, iova, size, pg,
			 bitmap, 8), 0);
	assert_int_equal(bitmap[0], (1ULL << 2) | (1ULL << 5) | (1ULL << 15));
	assert_int_equal(bitmap[1], ~0ULL);	/* not written past the bitmap */
	assert_int_equal(mem[2 * pg + 5], 0xee);
	/* reading clears */
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP, iova, size, pg,
			 bitmap, 8), 0);
	assert_int_equal(bitmap[0], 0);
	/* at 8 KiB pages */
	assert_int_equal(rte_vfio_user_dma_write(srv_a.id, iova + 3 * pg, &x, 1), 0);
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP, iova, size, 2 * pg,
			 bitmap, 8), 0);
	assert_int_equal(bitmap[0], 1ULL << 1);
	/* the client's checks, then the server's */
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP, iova, size, pg,
			 NULL, 8), -EINVAL);
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP, iova, size, pg,
			 bitmap, 4), -EINVAL);
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP, iova + MiB, size, pg,
			 bitmap, 8), -EINVAL);

	/* DMA_UNMAP with the range's dirty bitmap: what the server wrote
	 * since the last report; refused (the map stays) without room */
	assert_int_equal(rte_vfio_user_dma_write(srv_a.id, iova + pg, &x, 1),
			 0);
	assert_int_equal(rte_vfio_user_dma_write(srv_a.id, iova + 7 * pg, &x,
						 1),
			 0);
	assert_int_equal(rte_vfio_user_client_dma_unmap_dirty(c, iova, size, pg,
							      NULL, 8),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_dma_unmap_dirty(c, iova, size, pg,
							      bitmap, 1),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_dma_unmap_dirty(c, iova, size,
							      3 * pg, bitmap,
							      8),
			 -EINVAL);
	/* not a map */
	assert_int_equal(rte_vfio_user_client_dma_unmap_dirty(c, iova, size / 2,
							      pg, bitmap, 8),
			 -ENOENT);
	bitmap[0] = bitmap[1] = ~0ULL;
	assert_int_equal(rte_vfio_user_client_dma_unmap_dirty(c, iova, size, pg,
							      bitmap, 8),
			 0);
	assert_int_equal(bitmap[0], (1ULL << 1) | (1ULL << 7));
	assert_int_equal(bitmap[1], ~0ULL); /* not written past the bitmap */
	assert_int_equal(rte_vfio_user_dma_write(srv_a.id, iova, &x, 1),
			 -EFAULT);
	assert_int_equal(
		rte_vfio_user_client_dma_map(c, iova, size, NULL, fd, 0,
					     VFIO_USER_DMA_MAP_F_READ |
						     VFIO_USER_DMA_MAP_F_WRITE),
		0);

	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_STOP, 0, 0, 0, NULL, 0), 0);
	/* not logging: the map stays */
	assert_int_equal(rte_vfio_user_client_dma_unmap_dirty(c, iova, size, pg,
							      bitmap, 8),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP, iova, size, pg,
			 bitmap, 8), -EINVAL);
	assert_int_equal(rte_vfio_user_client_dirty_pages(c, 0x80, 0, 0, 0, NULL,
							  0), -EINVAL);
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, iova, size), 0);
	munmap(mem, size);
	close(fd);
	cli_detach(&srv_a, c);
}

static void
test_twin_socket(void **state)
{
	struct rte_vfio_user_client_conf conf = {
		.path = srv_a.path, .twin_socket = true,
	};
	struct rte_vfio_user_client_caps caps;
	struct rte_vfio_user_client *c;

	(void)state;
	c = cli_attach_conf(&conf);
	rte_vfio_user_client_get_caps(c, &caps);
	assert_true(caps.twin_socket);
	cli_detach(&srv_a, c);
	/* the DMA requests now come on the twin socket; all else as before */
	check_dma_vaddr(&conf);
}

/* ---- pipelining ---- */

#define PIPE_THREADS 8
#define PIPE_ITERS 300

struct pipe_arg {
	struct rte_vfio_user_client *c;
	int t;
	int errors;
	int fails[4];
};

static void *
pipe_thread(void *arg)
{
	struct pipe_arg *a = arg;
	uint8_t buf[2048];

	for (int i = 0; i < PIPE_ITERS; i++) {
		uint64_t slot = (uint64_t)a->t * 256 + (uint64_t)(i % 32) * 8;
		uint64_t v = ((uint64_t)a->t << 48) | (uint64_t)i, r = 0;
		uint64_t off = (uint64_t)a->t * 256 * KiB + (uint64_t)i * 777;
		size_t len = 1 + (size_t)(i * 37) % sizeof(buf);
		int ret;

		ret = rte_vfio_user_client_region_write(a->c, 0, slot, &v,
							sizeof(v), i % 3 == 0);
		if (ret != 0) {
			a->fails[0]++;
			continue;
		}
		ret = rte_vfio_user_client_region_read(a->c, 0, slot, &r, sizeof(r));
		if (ret != 0 || r != v)
			a->fails[1]++;
		ret = rte_vfio_user_client_region_read(a->c, BIG_IDX, off, buf, len);
		if (ret != 0) {
			a->fails[2]++;
			continue;
		}
		for (size_t k = 0; k < len; k++) {
			if (buf[k] != pat(off + k)) {
				a->fails[3]++;
				break;
			}
		}
	}
	a->errors = a->fails[0] + a->fails[1] + a->fails[2] + a->fails[3];
	return NULL;
}

#define PIPE_DMA_IOVA 0x80000000ULL
#define PIPE_DMA_SIZE (64 * KiB)

/* The device's side meanwhile: DMA to and from a message-only window. */
static void *
pipe_dma_thread(void *arg)
{
	struct pipe_arg *a = arg;
	uint8_t out[1024], in[1024];

	for (int i = 0; i < PIPE_ITERS; i++) {
		uint64_t off = (uint64_t)(i * 1024) % PIPE_DMA_SIZE;

		for (size_t k = 0; k < sizeof(out); k++)
			out[k] = (uint8_t)(i + k);
		if (rte_vfio_user_dma_write(srv_a.id, PIPE_DMA_IOVA + off, out,
					    sizeof(out)) != 0) {
			a->fails[0]++;
			continue;
		}
		if (rte_vfio_user_dma_read(srv_a.id, PIPE_DMA_IOVA + off, in,
					   sizeof(in)) != 0 ||
		    memcmp(in, out, sizeof(in)) != 0)
			a->fails[1]++;
	}
	a->errors = a->fails[0] + a->fails[1];
	return NULL;
}

static void
test_pipelining(void **state)
{
	struct rte_vfio_user_client *c = cli_attach(&srv_a);
	struct pipe_arg args[PIPE_THREADS], dma = { .c = c };
	pthread_t t[PIPE_THREADS], td;
	uint8_t *mem = aligned_alloc(4096, PIPE_DMA_SIZE);

	(void)state;
	assert_non_null(mem);
	assert_int_equal(rte_vfio_user_client_dma_map(c, PIPE_DMA_IOVA,
			 PIPE_DMA_SIZE, mem, -1, 0,
			 VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE), 0);
	for (int i = 0; i < PIPE_THREADS; i++) {
		args[i] = (struct pipe_arg){ .c = c, .t = i };
		assert_int_equal(pthread_create(&t[i], NULL, pipe_thread, &args[i]),
				 0);
	}
	assert_int_equal(pthread_create(&td, NULL, pipe_dma_thread, &dma), 0);
	for (int i = 0; i < PIPE_THREADS; i++) {
		pthread_join(t[i], NULL);
		if (args[i].errors != 0)
			fail_msg("thread %d: %d write failures, %d wrong or failed "
				 "reads back, %d failed and %d wrong big reads", i,
				 args[i].fails[0], args[i].fails[1],
				 args[i].fails[2], args[i].fails[3]);
	}
	pthread_join(td, NULL);
	if (dma.errors != 0)
		fail_msg("device DMA: %d failed writes, %d failed or wrong reads",
			 dma.fails[0], dma.fails[1]);
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, PIPE_DMA_IOVA,
							PIPE_DMA_SIZE), 0);
	assert_true(rte_vfio_user_client_connected(c));
	cli_detach(&srv_a, c);
	free(mem);
}

/* Bytes the peer sent that c has yet to read. */
static int
queued_bytes(struct rc *c)
{
	int n = 0;

	assert_int_equal(ioctl(c->fd, FIONREAD, &n), 0);
	return n;
}

/*
 * An unprivileged server whose fds in flight reach RLIMIT_NOFILE (a client
 * that does not read the region fds it asked for, here): the kernel
 * refuses the fd of a REGION_INFO reply. The client gets an ETOOMANYREFS
 * error reply and keeps its connection (it used to be dropped).
 */
static void
test_reply_fd_limit(void **state)
{
	enum {
		N = 24
	};
	struct vfio_user_region_info in = {
		.argsz = sizeof(in),
		.index = BAR2_IDX,
	};
	static struct fi_limit lim;
	unsigned int ok = 0, refused = 0;
	uint16_t ids[N];
	static struct rc rc;
	int got;

	(void)state;
	assert_int_equal(rc_connect(&rc, srv_a.path, RC_TIMEOUT_MS), 0);
	cur_rc = &rc;
	assert_int_equal(rc_negotiate(&rc, NULL, NULL), 0);
	got = fi_limit_begin(&lim, 4);
	assert_true(got >= 0);
	if (got == 0) {
		print_message("kernel does not limit fds in flight here: "
			      "nothing to test\n");
		return;
	}
	cur_limit = &lim;
	/* one at a time, each answered (and not read) before the next */
	for (int i = 0; i < N; i++) {
		int before = queued_bytes(&rc);
		uint64_t end = rc_now_ms() + 3000;

		if (rc_send(&rc, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &in,
			    sizeof(in), NULL, 0, &ids[i]) < 0)
			break;
		while (queued_bytes(&rc) == before && rc_now_ms() < end)
			rc_sleep_ms(1);
	}
	fi_limit_end(&lim);
	cur_limit = NULL;
	for (int i = 0; i < N; i++) {
		struct rc_reply r;

		assert_int_equal(rc_recv(&rc, &r, RC_TIMEOUT_MS), 0);
		assert_int_equal(r.hdr.msg_id, ids[i]);
		if (r.hdr.flags & VFIO_USER_F_ERROR) {
			assert_int_equal(r.hdr.error_no, ETOOMANYREFS);
			assert_int_equal(r.nfds, 0);
			refused++;
		} else {
			assert_int_equal(r.nfds, 1);
			ok++;
		}
		rc_reply_free(&r);
	}
	print_message("%u region fds sent, %u refused by the kernel\n", ok,
		      refused);
	assert_true(ok > 0 && refused > 0);
	/* the connection serves on */
	assert_int_equal(rc_call(&rc, VFIO_USER_DEVICE_GET_REGION_INFO, &in,
				 sizeof(in), NULL, 0, NULL),
			 0);
	rc_close(&rc);
	cur_rc = NULL;
	srv_wait_idle(&srv_a);
}

/* ---- transfers of MiBs, against a server in a child process ---- */

#define BIGSRV_STATS_IDX 1

struct big_stats {
	uint32_t reads;
	uint32_t writes;
	uint32_t max_count;
	uint32_t pad;
};

static uint8_t *bigsrv_mem;
static struct big_stats bigsrv_stats;

static ssize_t
bigsrv_access(int dev_id, void *priv, char *buf, size_t count, uint64_t off,
	      bool wr)
{
	(void)dev_id;
	if (priv != NULL) {	/* the statistics */
		memcpy(buf, (uint8_t *)&bigsrv_stats + off, count);
		return (ssize_t)count;
	}
	if (wr) {
		bigsrv_stats.writes++;
		memcpy(bigsrv_mem + off, buf, count);
	} else {
		bigsrv_stats.reads++;
		memcpy(buf, bigsrv_mem + off, count);
	}
	if (count > bigsrv_stats.max_count)
		bigsrv_stats.max_count = (uint32_t)count;
	return (ssize_t)count;
}

/* Run as a child process: serve one big region until SIGTERM. */
static int
serve_big(const char *path)
{
	struct rte_vfio_user_dev_info info = { .num_regions = 2 };
	struct rte_vfio_user_region reg = {
		.size = BIG_SIZE,
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = bigsrv_access, .mmap_fd = -1,
	};
	sigset_t set;
	int id, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* before any thread */
	bigsrv_mem = malloc(BIG_SIZE);
	if (bigsrv_mem == NULL)
		return 1;
	for (uint64_t i = 0; i < BIG_SIZE; i++)
		bigsrv_mem[i] = pat(i);
	id = rte_vfio_user_register(path, NULL, NULL);
	if (id < 0 || rte_vfio_user_set_dev_info(id, &info) < 0 ||
	    rte_vfio_user_set_reg_info(id, 0, &reg) < 0)
		return 1;
	reg.size = sizeof(bigsrv_stats);
	reg.flags = RTE_VFIO_USER_REG_F_READ;
	reg.priv = &bigsrv_stats;
	if (rte_vfio_user_set_reg_info(id, BIGSRV_STATS_IDX, &reg) < 0 ||
	    rte_vfio_user_start(id) < 0)
		return 1;
	sigwait(&set, &sig);
	rte_vfio_user_unregister(id);
	free(bigsrv_mem);
	return 0;
}

static int self_argc;
static char **self_argv;

static void
test_region_rw_big_child(void **state)
{
	const size_t len = 3 * MiB + 5;
	struct rte_vfio_user_client_conf conf = { .connect_timeout_ms = 10000 };
	struct rte_vfio_user_client *c;
	struct big_stats st;
	char path[128];
	char *argv[4];
	uint8_t *buf;
	uint64_t end;
	pid_t pid;
	int status = -1;

	(void)state;
	(void)self_argc;
	snprintf(path, sizeof(path), "%s/big.sock", tmpdir);
	argv[0] = self_argv[0];
	argv[1] = (char *)"--serve-big";
	argv[2] = path;
	argv[3] = NULL;
	assert_int_equal(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv,
				     environ), 0);
	conf.path = path;
	/* the child creates the socket when it is ready: retry until then */
	c = rte_vfio_user_client_attach(&conf);
	if (c == NULL) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("attach to the child server: %s", strerror(rte_errno));
	}
	big_pid = pid;
	live_add(c, path);
	buf = malloc(len);
	assert_non_null(buf);

	/* 3 MiB + 5 bytes: four REGION_READs of at most 1 MiB */
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 3, buf, len), 0);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(3 + i))
			fail_msg("byte %zu of the big read is wrong", i);
	assert_int_equal(rte_vfio_user_client_region_read(c, BIGSRV_STATS_IDX, 0,
			 &st, sizeof(st)), 0);
	assert_int_equal(st.reads, 4);
	assert_int_equal(st.max_count, 1 * MiB);

	/* and back: written in four chunks, read again */
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(pat(i) ^ 0x3c);
	assert_int_equal(rte_vfio_user_client_region_write(c, 0, 1 * MiB - 1, buf,
							   len, false), 0);
	memset(buf, 0, len);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 1 * MiB - 1, buf,
							  len), 0);
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (uint8_t)(pat(i) ^ 0x3c))
			fail_msg("byte %zu of the big write is wrong", i);
	assert_int_equal(rte_vfio_user_client_region_read(c, BIGSRV_STATS_IDX, 0,
			 &st, sizeof(st)), 0);
	assert_int_equal(st.writes, 4);
	assert_int_equal(st.reads, 8);
	/* all of it, to the last byte; then one byte too far */
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 0, buf, 2 * MiB),
			 0);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, BIG_SIZE - 2 * MiB,
							  buf, 2 * MiB), 0);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, BIG_SIZE - 2 * MiB,
							  buf, 2 * MiB + 1),
			 -EINVAL);
	free(buf);
	live_del(c);
	rte_vfio_user_client_detach(c);

	big_pid = -1;
	kill(pid, SIGTERM);
	end = rc_now_ms() + 10000;
	while (waitpid(pid, &status, WNOHANG) == 0 && rc_now_ms() < end)
		rc_sleep_ms(10);
	if (rc_now_ms() >= end) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the child server did not stop on SIGTERM");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(path);
}

/* ---- disconnect ---- */

struct gone {
	pthread_mutex_t lock;
	int calls;
	struct rte_vfio_user_client *c;
	bool connected_in_cb;
};

static void
on_gone(struct rte_vfio_user_client *c, void *arg)
{
	struct gone *g = arg;

	pthread_mutex_lock(&g->lock);
	g->calls++;
	g->c = c;
	g->connected_in_cb = rte_vfio_user_client_connected(c);
	pthread_mutex_unlock(&g->lock);
}

static int
gone_calls(struct gone *g)
{
	int n;

	pthread_mutex_lock(&g->lock);
	n = g->calls;
	pthread_mutex_unlock(&g->lock);
	return n;
}

struct pending {
	struct rte_vfio_user_client *c;
	int ret;
	uint64_t ms;
};

static void *
pending_read(void *arg)
{
	struct pending *p = arg;
	uint64_t t0 = rc_now_ms();
	uint32_t v;

	p->ret = rte_vfio_user_client_region_read(p->c, 0, 0, &v, sizeof(v));
	p->ms = rc_now_ms() - t0;
	return NULL;
}

static void *
slow_reset(void *arg)
{
	struct pending *p = arg;

	p->ret = rte_vfio_user_client_reset(p->c);
	return NULL;
}

static void
test_disconnect(void **state)
{
	/* static: a client of a failed test may report to it until detached */
	static struct gone g = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct rte_vfio_user_client_conf conf = {
		.path = srv_a.path, .on_disconnect = on_gone, .cb_arg = &g,
	};
	struct pending pr = { 0 }, rs = { 0 };
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c, *cb;
	pthread_t tr, ts;
	unsigned int destroys;
	struct srv *b;
	uint64_t t0, end;
	uint32_t v;

	(void)state;
	/* a second device whose reset holds the event thread for a while, so
	 * a request to the first stays unanswered when the first stops */
	b = calloc(1, sizeof(*b));
	assert_non_null(b);
	assert_int_equal(srv_start(b, "b.sock"), 0);
	pthread_mutex_lock(&b->lock);
	b->reset_sleep_ms = 1000;
	pthread_mutex_unlock(&b->lock);
	cb = cli_attach(b);
	c = cli_attach_conf(&conf);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);

	rs.c = cb;
	assert_int_equal(pthread_create(&ts, NULL, slow_reset, &rs), 0);
	rc_sleep_ms(150);		/* the event thread is in b's reset now */
	pr.c = c;
	assert_int_equal(pthread_create(&tr, NULL, pending_read, &pr), 0);
	rc_sleep_ms(150);		/* the read is sent, nobody reads it */
	destroys = srv_a.destroys;
	assert_int_equal(rte_vfio_user_stop(srv_a.id), 0);
	/* destroy_device ran before stop() returned, on the event thread
	 * like every callback (after b's reset), not on this one */
	assert_int_equal(srv_a.destroys, destroys + 1);
	assert_true(pthread_equal(srv_a.destroy_tid, srv_a.new_tid));
	assert_false(pthread_equal(srv_a.destroy_tid, pthread_self()));
	pthread_join(tr, NULL);
	pthread_join(ts, NULL);
	assert_int_equal(rs.ret, 0);
	/* the pending request failed with ENOTCONN, not a timeout */
	assert_int_equal(pr.ret, -ENOTCONN);
	assert_true(pr.ms < 3000);

	end = rc_now_ms() + 3000;
	while (gone_calls(&g) == 0 && rc_now_ms() < end)
		rc_sleep_ms(2);
	assert_int_equal(gone_calls(&g), 1);
	assert_ptr_equal(g.c, c);
	assert_false(g.connected_in_cb);
	assert_false(rte_vfio_user_client_connected(c));
	/* later calls fail at once */
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 0, &v, 4),
			 -ENOTCONN);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -ENOTCONN);
	assert_int_equal(rte_vfio_user_client_region_write(c, 0, 0, &v, 4, true),
			 -ENOTCONN);
	assert_int_equal(rte_vfio_user_client_reset(c), -ENOTCONN);
	assert_true(rc_now_ms() - t0 < 100);
	rc_sleep_ms(50);
	assert_int_equal(gone_calls(&g), 1);	/* once */
	live_del(c);
	rte_vfio_user_client_detach(c);
	assert_int_equal(gone_calls(&g), 1);

	/* started again, the device takes a new client */
	assert_int_equal(rte_vfio_user_start(srv_a.id), 0);
	c = cli_attach(&srv_a);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	/* stopped with nothing pending: the callback, then -ENOTCONN */
	g.calls = 0;
	conf.path = b->path;
	cli_detach(b, cb);
	cb = cli_attach_conf(&conf);
	assert_int_equal(rte_vfio_user_stop(b->id), 0);
	end = rc_now_ms() + 3000;
	while (gone_calls(&g) == 0 && rc_now_ms() < end)
		rc_sleep_ms(2);
	assert_int_equal(gone_calls(&g), 1);
	assert_int_equal(rte_vfio_user_client_device_info(cb, &info), -ENOTCONN);
	live_del(cb);
	rte_vfio_user_client_detach(cb);
	/* the other client did not notice */
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	cli_detach(&srv_a, c);
	srv_free(b);
	free(b);
}

/* Last: every device gone, every client detached, no fd left behind. */
static void
test_no_fd_leak(void **state)
{
	(void)state;
	srv_free(&srv_a);
	assert_int_equal(rc_count_fds(), fds_at_start);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_attach_errors, test_teardown),
		cmocka_unit_test_teardown(test_attach_late_server, test_teardown),
		cmocka_unit_test_teardown(test_caps, test_teardown),
		cmocka_unit_test_teardown(test_device_info, test_teardown),
		cmocka_unit_test_teardown(test_region_info, test_teardown),
		cmocka_unit_test_teardown(test_region_mmap, test_teardown),
		cmocka_unit_test_teardown(test_region_io_fds, test_teardown),
		cmocka_unit_test_teardown(test_irq_info, test_teardown),
		cmocka_unit_test_teardown(test_set_irqs_msix, test_teardown),
		cmocka_unit_test_teardown(test_set_irqs_intx_masks, test_teardown),
		cmocka_unit_test_teardown(test_region_rw, test_teardown),
		cmocka_unit_test_teardown(test_region_write_chunked, test_teardown),
		cmocka_unit_test_teardown(test_region_access_bulk,
					  test_teardown),
		cmocka_unit_test_teardown(test_region_rw_big_inprocess,
					  test_teardown),
		cmocka_unit_test_teardown(test_region_rw_big_child, test_teardown),
		cmocka_unit_test_teardown(test_posted_writes, test_teardown),
		cmocka_unit_test_teardown(test_write_multi, test_teardown),
		cmocka_unit_test_teardown(test_dma_map_fd, test_teardown),
		cmocka_unit_test_teardown(test_dma_map_bulk, test_teardown),
		cmocka_unit_test_teardown(test_dma_vaddr, test_teardown),
		cmocka_unit_test_teardown(test_dma_right_after_map, test_teardown),
		cmocka_unit_test_teardown(test_reset, test_teardown),
		cmocka_unit_test_teardown(test_dirty_pages, test_teardown),
		cmocka_unit_test_teardown(test_twin_socket, test_teardown),
		cmocka_unit_test_teardown(test_pipelining, test_teardown),
		cmocka_unit_test_teardown(test_reply_fd_limit, test_teardown),
		cmocka_unit_test_teardown(test_disconnect, test_teardown),
		cmocka_unit_test_teardown(test_no_fd_leak, test_teardown),
	};

	if (argc == 3 && strcmp(argv[1], "--serve-big") == 0)
		return serve_big(argv[2]);
	self_argc = argc;
	self_argv = argv;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
