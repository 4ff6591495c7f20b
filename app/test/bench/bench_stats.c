/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <time.h>

#include "bench_stats.h"

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double
bench_pct_us(const uint64_t *v, uint32_t n, unsigned int p)
{
	uint32_t i = (uint32_t)(((uint64_t)n * p) / 100);

	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}
