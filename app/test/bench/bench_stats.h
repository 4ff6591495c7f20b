/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_BENCH_STATS_H
#define VU_BENCH_STATS_H

/* Timing and percentiles shared by the control-path benchmarks. */

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* qsort() comparison of uint64_t samples. */
int bench_cmp_u64(const void *a, const void *b);

/* Percentile p (0-100) of n sorted nanosecond samples, in microseconds. */
double bench_pct_us(const uint64_t *v, uint32_t n, unsigned int p);

#endif /* VU_BENCH_STATS_H */
