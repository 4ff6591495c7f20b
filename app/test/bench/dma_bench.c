/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * vu-dma-bench: the control-path cost of client memory on a vfio-user
 * device: DMA_MAP + DMA_UNMAP pairs of one 4 KiB page, as a guest behind a
 * strict vIOMMU makes QEMU send them for every buffer it hands the device.
 *
 *   vu-dma-bench -s SOCKET [-n PAIRS] [-t SECONDS] [-b BACKGROUND]
 *                [-z SIZE] [-v [-p]] [-l LABEL]
 *
 * It connects to SOCKET as a vfio-user client (the raw test client: one
 * synchronous request at a time, no library on this side), negotiates,
 * optionally maps BACKGROUND other 4 KiB pages first (descending IOVAs,
 * every other page of the memfd, so they do not coalesce: a realistic
 * vIOMMU table), then times PAIRS map/unmap pairs of one more page (or
 * until SECONDS passed), and prints one line. With -z the timed region is
 * the whole of a memfd of its own of SIZE bytes (a multiple of 4 KiB, e.g.
 * 2097152: a 2 MiB memfd region) instead of the first page of the shared
 * one:
 *
 *   LABEL: N pairs in S s: P pairs/s, pair A us; map median M us p99 M99;
 *          unmap median U us p99 U99 (B background regions, SIZE bytes)
 *
 * With -v the device is a virtio-net device (net_vfio_user) and the bench
 * first drives it as a VIRTIO 1.x driver does, to DRIVER_OK with two
 * queues of 1024 entries whose rings (16 KiB of descriptors, 2 KiB avail,
 * 8 KiB used per queue) lie in a 64 KiB ring area of the memfd. That area
 * is mapped as one region, or with -p page by page (4 KiB regions at
 * descending IOVAs, backed by adjacent offsets: what QEMU sends for a
 * guest behind a vIOMMU), so rings span several regions. The device status
 * read back after the run is printed.
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

#include "bench_stats.h"
#include "bench_virtio.h"
#include "raw_client.h"

#define PAGE 4096u
#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)
#define BG_TOP 0xfff00000ull	/* background pages below this, descending */
#define PAIR_IOVA 0x100000000ull
#define RING_IOVA 0x200000000ull	/* the ring area, -v */
#define RING_AREA BV_RING_AREA

static int
dma_map(struct rc *c, uint64_t iova, uint64_t size, int fd, uint64_t off)
{
	struct vfio_user_dma_map m = {
		.argsz = sizeof(m),
		.flags = RW,
		.offset = off,
		.addr = iova,
		.size = size,
	};

	return rc_call(c, VFIO_USER_DMA_MAP, &m, sizeof(m), &fd, 1, NULL);
}

static int
dma_unmap(struct rc *c, uint64_t iova, uint64_t size)
{
	struct vfio_user_dma_unmap u = {
		.argsz = sizeof(u),
		.addr = iova,
		.size = size,
	};

	return rc_call(c, VFIO_USER_DMA_UNMAP, &u, sizeof(u), NULL, 0, NULL);
}

static void
usage(FILE *f)
{
	fprintf(f, "Usage: vu-dma-bench -s SOCKET [-n PAIRS] [-t SECONDS] "
		   "[-b BACKGROUND] [-z SIZE] [-v [-p]] [-l LABEL]\n");
}

int
main(int argc, char **argv)
{
	const char *path = NULL, *label = "dma";
	uint32_t pairs = 20000, bg = 0, done = 0, i;
	double secs = 10;
	uint64_t *tmap, *tunmap, t0, end, total, psize = PAGE;
	size_t memsize;
	bool virtio = false, per_page = false;
	int fd, pfd, o, ret, status = -1;
	struct rc c;

	while ((o = getopt(argc, argv, "s:n:t:b:z:l:vph")) != -1) {
		switch (o) {
		case 's':
			path = optarg;
			break;
		case 'n':
			pairs = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		case 'b':
			bg = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'z':
			psize = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			label = optarg;
			break;
		case 'v':
			virtio = true;
			break;
		case 'p':
			per_page = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || pairs == 0 || bg > 60000 || psize == 0 ||
	    psize % PAGE != 0 || psize > (1ull << 30)) {
		usage(stderr);
		return 2;
	}
	memsize = (size_t)(2 * bg + 2) * PAGE + RING_AREA;
	fd = memfd_create("vu-dma-bench", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)memsize) < 0) {
		perror("memfd");
		return 1;
	}
	pfd = fd;
	if (psize != PAGE) {	/* the timed region: a file of its own */
		pfd = memfd_create("vu-dma-bench-pair", MFD_CLOEXEC);
		if (pfd < 0 || ftruncate(pfd, (off_t)psize) < 0) {
			perror("memfd");
			return 1;
		}
	}
	tmap = calloc(pairs, sizeof(*tmap));
	tunmap = calloc(pairs, sizeof(*tunmap));
	if (tmap == NULL || tunmap == NULL)
		return 1;
	ret = rc_connect(&c, path, 10000);
	if (ret == 0)
		ret = rc_negotiate(&c, NULL, NULL);
	if (ret < 0) {
		fprintf(stderr, "%s: %s: %s\n", label, path, strerror(-ret));
		return 1;
	}
	if (virtio) {
		/* the ring area: at the end of the memfd */
		uint64_t roff = memsize - RING_AREA;

		if (!per_page) {
			ret = dma_map(&c, RING_IOVA, RING_AREA, fd, roff);
		} else {
			for (i = RING_AREA / PAGE; i-- > 0;) {
				ret = dma_map(&c,
					      RING_IOVA + (uint64_t)i * PAGE,
					      PAGE, fd,
					      roff + (uint64_t)i * PAGE);
				if (ret < 0)
					break;
			}
		}
		if (ret == 0)
			ret = bv_virtio_up(&c, RING_IOVA);
		if (ret < 0) {
			fprintf(stderr, "%s: virtio set-up: %s\n", label,
				strerror(-ret));
			return 1;
		}
	}
	for (i = 0; i < bg; i++) {
		ret = dma_map(&c, BG_TOP - (uint64_t)(i + 1) * PAGE, PAGE, fd,
			      (uint64_t)(2 * i + 2) * PAGE);
		if (ret < 0) {
			fprintf(stderr, "%s: background map %u: %s\n", label, i,
				strerror(-ret));
			return 1;
		}
	}

	t0 = bench_now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	for (done = 0; done < pairs; done++) {
		uint64_t a = bench_now_ns(), b, e;

		if (a >= end)
			break;
		ret = dma_map(&c, PAIR_IOVA, psize, pfd, 0);
		b = bench_now_ns();
		if (ret == 0)
			ret = dma_unmap(&c, PAIR_IOVA, psize);
		e = bench_now_ns();
		if (ret < 0) {
			fprintf(stderr, "%s: pair %u: %s\n", label, done,
				strerror(-ret));
			return 1;
		}
		tmap[done] = b - a;
		tunmap[done] = e - b;
	}
	total = bench_now_ns() - t0;

	if (virtio)
		status = bv_virtio_status(&c);
	for (i = 0; i < bg; i++)
		dma_unmap(&c, BG_TOP - (uint64_t)(i + 1) * PAGE, PAGE);
	rc_close(&c);
	if (pfd != fd)
		close(pfd);
	close(fd);

	qsort(tmap, done, sizeof(*tmap), bench_cmp_u64);
	qsort(tunmap, done, sizeof(*tunmap), bench_cmp_u64);
	printf("%s: %u pairs in %.2f s: %.0f pairs/s, pair %.1f us; map median "
	       "%.1f us p99 %.1f; unmap median %.1f us p99 %.1f (%u background "
	       "regions, %" PRIu64 " bytes)\n",
	       label, done, total / 1e9, done / (total / 1e9),
	       total / 1000.0 / done, bench_pct_us(tmap, done, 50),
	       bench_pct_us(tmap, done, 99), bench_pct_us(tunmap, done, 50),
	       bench_pct_us(tunmap, done, 99), bg, psize);
	if (virtio)
		printf("%s: device status 0x%x after the run%s\n", label,
		       status,
		       status >= 0 && (status & 0x40) ? " (NEEDS_RESET)" : "");
	free(tmap);
	free(tunmap);
	return 0;
}
