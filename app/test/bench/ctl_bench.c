/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * vu-ctl-bench: the control path as the library's own client sees it
 * (rte_vfio_user_client: the API net_vfio_user_client and any DPDK
 * application use), one request at a time:
 *
 *   vu-ctl-bench -s SOCKET [-m dma|read|maps|bulk] [-n COUNT] [-t SECONDS]
 *                [-z SIZE] [-k REGIONS] [-r REGION] [-o OFFSET] [-P USEC]
 *                [-l LABEL]
 *
 *   -m dma   DMA_MAP + DMA_UNMAP pairs of the whole of a memfd of SIZE
 *            bytes (default 2 MiB), one pair after the other;
 *   -m read  4-byte REGION_READs of REGION (default 7: PCI config space)
 *            at OFFSET (default 0).
 *   -m maps  REGIONS (default 128) regions of SIZE bytes (default here
 *            4096) of one memfd mapped one DMA_MAP after the other, then
 *            unmapped: what a client that maps a process's memory file
 *            per hugepage costs;
 *   -m bulk  the same regions mapped with one
 *            rte_vfio_user_client_dma_map_bulk() and unmapped with one
 *            rte_vfio_user_client_dma_unmap_bulk() (pipelined).
 *   -P USEC  rte_vfio_user_set_event_poll(USEC) first: how long a call
 *            polls for its reply before it sleeps.
 *
 * It prints one line:
 *
 *   LABEL: N ops in S s: P ops/s, op A us; median M us p99 M99 [map
 *          median ... unmap median ...]
 *
 * (for maps / bulk: the median and p99 time to map the REGIONS, and to
 * unmap them.)
 *
 * A benchmark, not a test: it fails only when a request fails.
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

#include <rte_errno.h>

#include <rte_vfio_user.h>
#include <rte_vfio_user_client.h>
#include <vfio_user_proto.h>

#include "bench_stats.h"

#define PAIR_IOVA 0x100000000ull

static void
usage(FILE *f)
{
	fprintf(f, "Usage: vu-ctl-bench -s SOCKET [-m dma|read|maps|bulk] "
		   "[-n COUNT] [-t SECONDS] [-z SIZE] [-k REGIONS] [-r REGION] "
		   "[-o OFFSET] [-P USEC] [-l LABEL]\n");
}

/* Map the k regions r, one request after the other or in one bulk call. */
static int
map_all(struct rte_vfio_user_client *c,
	const struct rte_vfio_user_client_dma_region *r, uint32_t k, bool bulk)
{
	int ret = 0;

	if (bulk)
		return rte_vfio_user_client_dma_map_bulk(c, r, k);
	for (uint32_t i = 0; i < k && ret == 0; i++)
		ret = rte_vfio_user_client_dma_map(c, r[i].iova, r[i].size,
						   NULL, r[i].fd,
						   r[i].fd_offset, r[i].prot);
	return ret;
}

static int
unmap_all(struct rte_vfio_user_client *c,
	  const struct rte_vfio_user_client_dma_region *r, uint32_t k,
	  bool bulk)
{
	int ret = 0;

	if (bulk)
		return rte_vfio_user_client_dma_unmap_bulk(c, r, k);
	for (uint32_t i = 0; i < k && ret == 0; i++)
		ret = rte_vfio_user_client_dma_unmap(c, r[i].iova, r[i].size);
	return ret;
}

int
main(int argc, char **argv)
{
	struct rte_vfio_user_client_conf conf = { .timeout_ms = 5000 };
	const char *label = "ctl", *mode = "dma";
	uint64_t size = 0, off = 0, *ta, *tb, t0, end, total;
	uint32_t count = 20000, region = 7, done, k = 128;
	struct rte_vfio_user_client_dma_region *r = NULL;
	struct rte_vfio_user_client *c;
	double secs = 10;
	bool dma, maps, bulk;
	int fd = -1, o, ret = 0;

	while ((o = getopt(argc, argv, "s:m:n:t:z:k:r:o:l:P:h")) != -1) {
		switch (o) {
		case 's':
			conf.path = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			count = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'z':
			size = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			k = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			region = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'o':
			off = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			label = optarg;
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
	dma = strcmp(mode, "dma") == 0;
	bulk = strcmp(mode, "bulk") == 0;
	maps = bulk || strcmp(mode, "maps") == 0;
	if (size == 0)
		size = maps ? 4096 : 2u << 20;
	if (conf.path == NULL || count == 0 ||
	    (!dma && !maps && strcmp(mode, "read")) || size % 4096 != 0 ||
	    k == 0 || k > 65535) {
		usage(stderr);
		return 2;
	}
	ta = calloc(count, sizeof(*ta));
	tb = calloc(count, sizeof(*tb));
	if (ta == NULL || tb == NULL)
		return 1;
	if (dma || maps) {
		fd = memfd_create("vu-ctl-bench", MFD_CLOEXEC);
		if (fd < 0 ||
		    ftruncate(fd, (off_t)(size * (maps ? k : 1))) < 0) {
			perror("memfd");
			return 1;
		}
	}
	if (maps) {	/* apart: the server keeps them separate regions */
		r = calloc(k, sizeof(*r));
		if (r == NULL)
			return 1;
		for (uint32_t i = 0; i < k; i++)
			r[i] = (struct rte_vfio_user_client_dma_region){
				.iova = PAIR_IOVA + i * (size + 4096),
				.size = size,
				.fd = fd,
				.fd_offset = i * size,
				.prot = VFIO_USER_DMA_MAP_F_READ |
					VFIO_USER_DMA_MAP_F_WRITE,
			};
	}
	c = rte_vfio_user_client_attach(&conf);
	if (c == NULL) {
		fprintf(stderr, "%s: %s: %s\n", label, conf.path,
			strerror(rte_errno));
		return 1;
	}

	t0 = bench_now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	for (done = 0; done < count && ret == 0; done++) {
		uint64_t a = bench_now_ns(), b, e;
		uint32_t val;

		if (a >= end)
			break;
		if (maps) {
			ret = map_all(c, r, k, bulk);
			b = bench_now_ns();
			if (ret == 0)
				ret = unmap_all(c, r, k, bulk);
		} else if (dma) {
			ret = rte_vfio_user_client_dma_map(
				c, PAIR_IOVA, size, NULL, fd, 0,
				VFIO_USER_DMA_MAP_F_READ |
					VFIO_USER_DMA_MAP_F_WRITE);
			b = bench_now_ns();
			if (ret == 0)
				ret = rte_vfio_user_client_dma_unmap(c,
								     PAIR_IOVA,
								     size);
		} else {
			ret = rte_vfio_user_client_region_read(c, region, off,
							       &val, 4);
			b = bench_now_ns();
		}
		e = bench_now_ns();
		ta[done] = dma || maps ? b - a : e - a;
		tb[done] = e - b;
	}
	total = bench_now_ns() - t0;
	rte_vfio_user_client_detach(c);
	if (fd >= 0)
		close(fd);
	if (ret < 0) {
		fprintf(stderr, "%s: request %u: %s\n", label, done,
			strerror(-ret));
		return 1;
	}

	qsort(ta, done, sizeof(*ta), bench_cmp_u64);
	qsort(tb, done, sizeof(*tb), bench_cmp_u64);
	if (maps)
		printf("%s: %u x %u regions of %" PRIu64
		       " bytes: %s map median "
		       "%.1f us p99 %.1f (%.1f us a region); unmap median %.1f "
		       "us p99 %.1f\n",
		       label, done, k, size, bulk ? "bulk" : "one by one",
		       bench_pct_us(ta, done, 50), bench_pct_us(ta, done, 99),
		       bench_pct_us(ta, done, 50) / k,
		       bench_pct_us(tb, done, 50), bench_pct_us(tb, done, 99));
	else if (dma)
		printf("%s: %u pairs in %.2f s: %.0f pairs/s, pair %.1f us; map "
		       "median %.1f us p99 %.1f; unmap median %.1f us p99 %.1f "
		       "(%" PRIu64 " bytes)\n",
		       label, done, total / 1e9, done / (total / 1e9),
		       total / 1000.0 / done, bench_pct_us(ta, done, 50),
		       bench_pct_us(ta, done, 99), bench_pct_us(tb, done, 50),
		       bench_pct_us(tb, done, 99), size);
	else
		printf("%s: %u reads in %.2f s: %.0f reads/s, read %.1f us; "
		       "median %.1f us p99 %.1f (region %u)\n",
		       label, done, total / 1e9, done / (total / 1e9),
		       total / 1000.0 / done, bench_pct_us(ta, done, 50),
		       bench_pct_us(ta, done, 99), region);
	free(r);
	free(ta);
	free(tb);
	return 0;
}
