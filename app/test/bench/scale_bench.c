/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * vu-scale-bench: many devices on the library's one event thread.
 *
 * Server side (-S): serve N small PCI devices (config space, and a 4 KiB
 * BAR0 of registers) from this process, on sockets PREFIX0.sock ..
 * PREFIX<N-1>.sock, until SIGTERM or SIGINT; prints "ready: N devices in
 * T ms" once all listen.
 *
 *   vu-scale-bench -S -s PREFIX [-N DEVICES] [-P USEC]
 *
 * Client side: one raw test client per device (one process, one request
 * at a time per connection), then:
 *   1. connect and negotiate VERSION with every device (timed);
 *   2. map 64 KiB of client memory on each (one memfd, a region of its own
 *      per device) and, with -v (virtio-net devices: net_vfio_user), drive
 *      each to DRIVER_OK with two queues (timed);
 *   3. with -p PID, the server process's VmRSS, fds and threads;
 *   4. 4-byte REGION_READs of config space on device 0, the others
 *      connected and idle: median and p99 of COUNT reads;
 *   5. the same while a thread keeps the other devices busy: it sends a
 *      read to each of them, then takes the N-1 replies, over and over (the
 *      event thread always has up to N-1 requests waiting); prints the
 *      reads per second it got too;
 *   6. with -c (a check, for tests), every device's vendor id and, with
 *      -v, its status (DRIVER_OK, not NEEDS_RESET) are read back: the exit
 *      status is 1 if any is wrong.
 *
 *   vu-scale-bench -s PREFIX [-N DEVICES] [-n COUNT] [-v] [-c] [-p PID]
 *
 * A benchmark: without -c it fails only when a request fails.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_vfio_user.h>

#include "bench_stats.h"
#include "bench_virtio.h"
#include "mem_region.h"
#include "raw_client.h"

#define MAX_DEVS RTE_VFIO_USER_MAX_DEVICES
#define RING_IOVA 0x200000000ull
#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)
#define SCALE_VENDOR 0x1234
#define SCALE_DEVICE 0x5656

static void
sock_path(char *buf, size_t len, const char *prefix, unsigned int i)
{
	snprintf(buf, len, "%s%u.sock", prefix, i);
}

/* ---- server ---- */

struct sdev {
	uint8_t config[256];
	uint32_t regs[1024];
};

static ssize_t
cfg_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	   bool is_write)
{
	struct sdev *d = priv;

	RTE_SET_USED(dev_id);
	if (is_write)
		return (ssize_t)count;	/* read-only */
	return tc_mem_access(d->config, sizeof(d->config), buf, count, offset,
			     false);
}

static ssize_t
bar0_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	    bool is_write)
{
	struct sdev *d = priv;

	RTE_SET_USED(dev_id);
	return tc_mem_access((uint8_t *)d->regs, sizeof(d->regs), buf, count,
			     offset, is_write);
}

static int
sdev_create(struct sdev *d, const char *path)
{
	struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = VFIO_USER_PCI_NUM_REGIONS,
		.num_irqs = VFIO_USER_PCI_NUM_IRQS,
	};
	struct rte_vfio_user_region cfg = {
		.size = sizeof(d->config),
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = cfg_access,
		.priv = d,
		.mmap_fd = -1,
	};
	struct rte_vfio_user_region bar = {
		.size = sizeof(d->regs),
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = bar0_access,
		.priv = d,
		.mmap_fd = -1,
	};
	struct rte_vfio_user_irq_info intx = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD |
			 RTE_VFIO_USER_IRQ_F_MASKABLE |
			 RTE_VFIO_USER_IRQ_F_AUTOMASKED,
		.count = 1,
	};
	int id, ret;

	d->config[0] = SCALE_VENDOR & 0xff;
	d->config[1] = SCALE_VENDOR >> 8;
	d->config[2] = SCALE_DEVICE & 0xff;
	d->config[3] = SCALE_DEVICE >> 8;
	d->config[0x0b] = 0xff;		/* class: unassigned */
	id = rte_vfio_user_register(path, NULL, d);
	if (id < 0)
		return id;
	ret = rte_vfio_user_set_dev_info(id, &info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(id, 0, &bar);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(
			id, VFIO_USER_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret == 0)
		ret = rte_vfio_user_set_irq_info(id, 0, &intx);
	if (ret == 0)
		ret = rte_vfio_user_start(id);
	return ret < 0 ? ret : id;
}

static int
serve(const char *prefix, unsigned int n)
{
	struct sdev *devs = calloc(n, sizeof(*devs));
	int *ids = calloc(n, sizeof(*ids));
	char path[108];
	sigset_t set;
	uint64_t t0 = bench_now_ns();
	unsigned int i;
	int sig, ret = 0;

	if (devs == NULL || ids == NULL)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* before the event thread starts: it inherits the mask */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < n; i++) {
		sock_path(path, sizeof(path), prefix, i);
		ids[i] = sdev_create(&devs[i], path);
		if (ids[i] < 0) {
			fprintf(stderr, "device %u (%s): %s\n", i, path,
				strerror(-ids[i]));
			ret = 1;
			break;
		}
	}
	if (ret == 0) {
		printf("ready: %u devices in %.1f ms\n", n,
		       (bench_now_ns() - t0) / 1e6);
		fflush(stdout);
		sigwait(&set, &sig);
	}
	while (i-- > 0)
		rte_vfio_user_unregister(ids[i]);
	free(ids);
	free(devs);
	return ret;
}

/* ---- client ---- */

struct load {
	struct rc *c;		/* the busy devices */
	unsigned int n;
	volatile bool stop;
	uint64_t reads;
	int err;
};

/* One read sent to every busy device, then their replies; again. */
static void *
load_loop(void *arg)
{
	struct load *l = arg;
	uint8_t req[sizeof(struct vfio_user_region_access)];
	struct vfio_user_region_access *a = (void *)req;

	a->offset = 0;
	a->region = BV_CFG_REGION;
	a->count = 4;
	while (!l->stop && l->err == 0) {
		for (unsigned int i = 0; i < l->n && l->err == 0; i++)
			l->err = rc_send(&l->c[i], VFIO_USER_REGION_READ, 0,
					 req, sizeof(req), NULL, 0, NULL);
		for (unsigned int i = 0; i < l->n && l->err == 0; i++) {
			struct rc_reply r;

			l->err = rc_recv(&l->c[i], &r, RC_TIMEOUT_MS);
			if (l->err == 0 && (r.hdr.flags & VFIO_USER_F_ERROR))
				l->err = -EIO;
			rc_reply_free(&r);
		}
		if (l->err == 0)
			l->reads += l->n;
	}
	return NULL;
}

static int
read_latency(struct rc *c, uint32_t count, uint64_t *t, const char *what)
{
	uint32_t val;

	for (uint32_t i = 0; i < count; i++) {
		uint64_t a = bench_now_ns();
		int ret = bv_region_rw(c, BV_CFG_REGION, 0, &val, 4, false);

		if (ret < 0) {
			fprintf(stderr, "read on device 0 (%s): %s\n", what,
				strerror(-ret));
			return ret;
		}
		t[i] = bench_now_ns() - a;
	}
	qsort(t, count, sizeof(*t), bench_cmp_u64);
	return 0;
}

static void
proc_figures(int pid, const char *when)
{
	char path[64], line[256];
	long rss = -1, threads = -1, fds;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "VmRSS: %ld", &rss);
		sscanf(line, "Threads: %ld", &threads);
	}
	fclose(f);
	fds = rc_count_proc_fds(pid);
	printf("server %s: VmRSS %ld kB, %ld fds, %ld threads\n", when, rss,
	       fds, threads);
}

static int
client(const char *prefix, unsigned int n, uint32_t count, bool virtio,
       bool check, int pid)
{
	struct rc *c = calloc(n, sizeof(*c));
	uint64_t *t = calloc(count, sizeof(*t)), t0;
	struct load l = { .c = c + 1, .n = n - 1 };
	char path[108];
	pthread_t tid;
	unsigned int i, bad = 0;
	int fd, ret = 0;

	if (c == NULL || t == NULL)
		return 1;
	for (i = 0; i < n; i++)
		c[i].fd = -1;
	if (pid > 0)
		proc_figures(pid, "before clients");
	t0 = bench_now_ns();
	for (i = 0; i < n && ret == 0; i++) {
		sock_path(path, sizeof(path), prefix, i);
		ret = rc_connect(&c[i], path, 10000);
		if (ret == 0)
			ret = rc_negotiate(&c[i], NULL, NULL);
		if (ret < 0)
			fprintf(stderr, "%s: %s\n", path, strerror(-ret));
	}
	if (ret < 0)
		return 1;
	printf("attach: %u devices connected and negotiated in %.1f ms "
	       "(%.0f us each)\n",
	       n, (bench_now_ns() - t0) / 1e6, (bench_now_ns() - t0) / 1e3 / n);

	fd = memfd_create("vu-scale-bench", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)n * BV_RING_AREA) < 0) {
		perror("memfd");
		return 1;
	}
	t0 = bench_now_ns();
	for (i = 0; i < n; i++) {
		struct vfio_user_dma_map m = {
			.argsz = sizeof(m),
			.flags = RW,
			.offset = (uint64_t)i * BV_RING_AREA,
			.addr = RING_IOVA,
			.size = BV_RING_AREA,
		};

		ret = rc_call(&c[i], VFIO_USER_DMA_MAP, &m, sizeof(m), &fd, 1,
			      NULL);
		if (ret == 0 && virtio)
			ret = bv_virtio_up(&c[i], RING_IOVA);
		if (ret < 0) {
			fprintf(stderr, "device %u: set-up: %s\n", i,
				strerror(-ret));
			return 1;
		}
	}
	printf("bring-up: %u devices %s in %.1f ms (%.0f us each)\n", n,
	       virtio ? "mapped 64 KiB and drove to DRIVER_OK" :
			"mapped 64 KiB",
	       (bench_now_ns() - t0) / 1e6, (bench_now_ns() - t0) / 1e3 / n);
	if (pid > 0)
		proc_figures(pid, "with the clients up");

	if (read_latency(&c[0], count, t, "others idle") < 0)
		return 1;
	printf("read latency, device 0, %u others idle: median %.1f us, "
	       "p99 %.1f us (%u reads)\n",
	       n - 1, bench_pct_us(t, count, 50), bench_pct_us(t, count, 99),
	       count);
	if (n > 1) {
		uint64_t l0;

		if (pthread_create(&tid, NULL, load_loop, &l) != 0)
			return 1;
		usleep(100 * 1000);
		l0 = bench_now_ns();
		l.reads = 0;
		ret = read_latency(&c[0], count, t, "others busy");
		l.stop = true;
		pthread_join(tid, NULL);
		if (ret < 0 || l.err != 0) {
			if (l.err != 0)
				fprintf(stderr, "load: %s\n", strerror(-l.err));
			return 1;
		}
		printf("read latency, device 0, %u others busy: median %.1f us, "
		       "p99 %.1f us (%u reads; the others got %.0f reads/s)\n",
		       n - 1, bench_pct_us(t, count, 50),
		       bench_pct_us(t, count, 99), count,
		       l.reads / ((bench_now_ns() - l0) / 1e9));
	}

	for (i = 0; check && i < n; i++) {
		uint32_t id = 0;
		int st = 0;

		ret = bv_region_rw(&c[i], BV_CFG_REGION, 0, &id, 4, false);
		if (ret == 0 && virtio)
			st = bv_virtio_status(&c[i]);
		if (ret < 0 || st < 0 ||
		    (virtio && ((st & 0x44) != 0x04 || id != 0x10411af4)) ||
		    (!virtio &&
		     id != ((uint32_t)SCALE_DEVICE << 16 | SCALE_VENDOR))) {
			fprintf(stderr,
				"device %u: id 0x%08x status 0x%x: %s\n", i, id,
				st, ret < 0 ? strerror(-ret) : "wrong");
			bad++;
		}
	}
	if (check)
		printf("check: %u of %u devices answered as expected\n",
		       n - bad, n);
	for (i = 0; i < n; i++)
		rc_close(&c[i]);
	close(fd);
	free(t);
	free(c);
	return bad != 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: vu-scale-bench -S -s PREFIX [-N DEVICES] [-P USEC]\n"
		"       vu-scale-bench -s PREFIX [-N DEVICES] [-n COUNT] [-v] "
		"[-c] [-p PID]\n");
}

int
main(int argc, char **argv)
{
	const char *prefix = NULL;
	unsigned int n = 64;
	uint32_t count = 5000;
	bool server = false, virtio = false, check = false;
	int o, pid = 0;

	while ((o = getopt(argc, argv, "Ss:N:n:vcp:P:h")) != -1) {
		switch (o) {
		case 'S':
			server = true;
			break;
		case 's':
			prefix = optarg;
			break;
		case 'N':
			n = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			count = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'v':
			virtio = true;
			break;
		case 'c':
			check = true;
			break;
		case 'p':
			pid = atoi(optarg);
			break;
		case 'P':
			if (rte_vfio_user_set_event_poll(
				    (uint32_t)strtoul(optarg, NULL, 0)) < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (prefix == NULL || n == 0 || n > MAX_DEVS || count == 0 ||
	    strlen(prefix) > 80) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	return server ? serve(prefix, n) :
			client(prefix, n, count, virtio, check, pid);
}
