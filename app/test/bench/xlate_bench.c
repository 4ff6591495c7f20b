/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * vu-xlate-bench: the cost of IOVA -> VA translation on the data path,
 * rte_vfio_user_iova_to_va() and rte_vfio_user_iova_to_va_cached(), with R
 * DMA regions in the table.
 *
 *   vu-xlate-bench [-r "1 64 512"] [-n LOOKUPS]
 *
 * A device served in this process gets R regions of 4 KiB from the raw
 * test client (every other page of a memfd at IOVAs 8 KiB apart, so that
 * none coalesce: R segments), then this thread, online in the device's
 * QSBR variable as a data-path thread is, translates LOOKUPS 64-byte
 * buffers: at random places in random regions (uncached, and cached: the
 * cache mostly misses), and 32 buffers per region before the next one (a
 * burst whose descriptors share a region: the cache mostly hits). Each
 * line gives nanoseconds per translation and the tree's depth.
 *
 * A benchmark: it fails only when a request or a translation fails.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_rcu_qsbr.h>
#include <rte_vfio_user.h>

#include "bench_stats.h"
#include "raw_client.h"

#define PAGE 4096u
#define IOVA_BASE 0x100000000ull
#define MAX_REGIONS 60000u
#define BURST 32u
#define BUF 64u
#define QS_ID 0u

static uint8_t config[256];

static ssize_t
cfg_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	   bool is_write)
{
	RTE_SET_USED(dev_id);
	RTE_SET_USED(priv);
	if (offset > sizeof(config) || count > sizeof(config) - offset)
		return -EINVAL;
	if (!is_write)
		memcpy(buf, config + offset, count);
	return (ssize_t)count;
}

static int
dev_create(const char *path)
{
	struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI,
		.num_regions = VFIO_USER_PCI_NUM_REGIONS,
		.num_irqs = 0,
	};
	struct rte_vfio_user_region cfg = {
		.size = sizeof(config),
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = cfg_access,
		.mmap_fd = -1,
	};
	int id = rte_vfio_user_register(path, NULL, NULL);
	int ret;

	if (id < 0)
		return id;
	ret = rte_vfio_user_set_dev_info(id, &info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(
			id, VFIO_USER_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret == 0)
		ret = rte_vfio_user_start(id);
	return ret < 0 ? ret : id;
}

static inline uint64_t
region_iova(uint32_t i)
{
	return IOVA_BASE + (uint64_t)i * 2 * PAGE;
}

/* xorshift: a cheap, reproducible random sequence */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Nanoseconds per translation of the n IOVAs in v (cached or not). */
static double
time_lookups(const struct rte_vfio_user_mem_table *t, const uint64_t *v,
	     uint32_t n, bool cached, uint64_t *sum)
{
	struct rte_vfio_user_mem_cache c = { 0 };
	uint64_t a = bench_now_ns();

	for (uint32_t i = 0; i < n; i++) {
		void *p = cached ? rte_vfio_user_iova_to_va_cached(
					   t, &c, v[i], BUF,
					   RTE_VFIO_USER_MEM_F_READ) :
				   rte_vfio_user_iova_to_va(
					   t, v[i], BUF,
					   RTE_VFIO_USER_MEM_F_READ);

		*sum += (uintptr_t)p;
		if (unlikely(p == NULL))
			return -1;
	}
	return (double)(bench_now_ns() - a) / n;
}

static int
run(int id, struct rc *c, int fd, uint32_t regions, uint32_t lookups)
{
	struct rte_rcu_qsbr *q = rte_vfio_user_get_qsbr(id);
	const struct rte_vfio_user_mem_table *t;
	uint64_t *rand_v = calloc(lookups, sizeof(uint64_t));
	uint64_t *burst_v = calloc(lookups, sizeof(uint64_t));
	uint64_t seed = 0x9e3779b97f4a7c15ull, sum = 0;
	double ns[3];
	int ret = 0;

	if (rand_v == NULL || burst_v == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < regions && ret == 0; i++) {
		struct vfio_user_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_USER_DMA_MAP_F_READ |
				 VFIO_USER_DMA_MAP_F_WRITE,
			.offset = (uint64_t)i * 2 * PAGE,
			.addr = region_iova(i),
			.size = PAGE,
		};

		ret = rc_call(c, VFIO_USER_DMA_MAP, &m, sizeof(m), &fd, 1,
			      NULL);
	}
	for (uint32_t i = 0; i < lookups; i++) {
		uint64_t r = rnd(&seed);

		rand_v[i] = region_iova((uint32_t)(r % regions)) +
			    (r >> 32) % (PAGE - BUF);
		burst_v[i] = region_iova((uint32_t)((i / BURST) % regions)) +
			     (i % BURST) * BUF;
	}
	if (ret == 0) {
		rte_rcu_qsbr_thread_online(q, QS_ID);
		t = rte_vfio_user_get_mem_table(id);
		if (t == NULL || t->nsegments != regions) {
			fprintf(stderr,
				"%u regions: the table has %u segments\n",
				regions, t != NULL ? t->nsegments : 0);
			ret = -EPROTO;
		} else {
			/* a warm-up pass, then the timed ones */
			time_lookups(t, rand_v, lookups, false, &sum);
			ns[0] = time_lookups(t, rand_v, lookups, false, &sum);
			ns[1] = time_lookups(t, rand_v, lookups, true, &sum);
			ns[2] = time_lookups(t, burst_v, lookups, true, &sum);
			if (ns[0] < 0 || ns[1] < 0 || ns[2] < 0) {
				fprintf(stderr,
					"%u regions: a translation "
					"failed\n",
					regions);
				ret = -EFAULT;
			} else {
				printf("%u regions (tree depth %u): random "
				       "%.1f ns, random cached %.1f ns, bursts "
				       "of %u cached %.1f ns per translation "
				       "(%u each; %" PRIx64 ")\n",
				       regions, t->depth, ns[0], ns[1], BURST,
				       ns[2], lookups, sum & 0xf);
			}
		}
		rte_rcu_qsbr_thread_offline(q, QS_ID);
	}
	for (uint32_t i = 0; i < regions; i++) {
		struct vfio_user_dma_unmap u = {
			.argsz = sizeof(u),
			.addr = region_iova(i),
			.size = PAGE,
		};

		if (rc_call(c, VFIO_USER_DMA_UNMAP, &u, sizeof(u), NULL, 0,
			    NULL) < 0 &&
		    ret == 0)
			ret = -EIO;
	}
	free(rand_v);
	free(burst_v);
	return ret;
}

int
main(int argc, char **argv)
{
	char list[256] = "1 64 512", dir[] = "/tmp/vu-xlate-XXXXXX";
	char path[64], *tok, *save = NULL;
	uint32_t lookups = 1u << 20, max = 0;
	int id, fd, o, ret = 0;
	struct rc c;

	while ((o = getopt(argc, argv, "r:n:h")) != -1) {
		switch (o) {
		case 'r':
			snprintf(list, sizeof(list), "%s", optarg);
			break;
		case 'n':
			lookups = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(o == 'h' ? stdout : stderr,
				"Usage: "
				"vu-xlate-bench [-r \"1 64 512\"] [-n LOOKUPS]\n");
			return o == 'h' ? 0 : 2;
		}
	}
	for (char *p = list; *p != '\0'; p++) {
		uint32_t r = (uint32_t)strtoul(p, &p, 10);

		if (r == 0 || r > MAX_REGIONS || lookups == 0) {
			fprintf(stderr, "regions: 1 to %u\n", MAX_REGIONS);
			return 2;
		}
		max = RTE_MAX(max, r);
		if (*p == '\0')
			break;
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/x.sock", dir);
	id = dev_create(path);
	if (id < 0 || rte_rcu_qsbr_thread_register(rte_vfio_user_get_qsbr(id),
						   QS_ID) != 0) {
		fprintf(stderr, "device: %s\n",
			strerror(id < 0 ? -id : EINVAL));
		rmdir(dir);
		return 1;
	}
	fd = memfd_create("vu-xlate-bench", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)max * 2 * PAGE) < 0 ||
	    rc_connect(&c, path, 5000) < 0 ||
	    rc_negotiate(&c, NULL, NULL) < 0) {
		fprintf(stderr, "set-up failed\n");
		ret = 1;
	}
	for (tok = strtok_r(list, " ,", &save); ret == 0 && tok != NULL;
	     tok = strtok_r(NULL, " ,", &save)) {
		int r = run(id, &c, fd, (uint32_t)strtoul(tok, NULL, 10),
			    lookups);

		if (r < 0) {
			fprintf(stderr, "%s regions: %s\n", tok, strerror(-r));
			ret = 1;
		}
	}
	rc_close(&c);
	if (fd >= 0)
		close(fd);
	rte_vfio_user_unregister(id);
	rmdir(dir);
	return ret;
}
