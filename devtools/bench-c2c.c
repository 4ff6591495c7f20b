/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Cache-line round trip between two CPUs, for devtools/bench.sh.
 *
 *   bench-c2c CPU_A CPU_B [ROUND_TRIPS]
 *
 * One thread on each CPU passes a counter back and forth through one cache
 * line; prints the median round trip in nanoseconds (timed in batches of
 * BATCH round trips, so the clock's own cost hardly counts). This is what every
 * packet between two forwarding lcores pays a few times over (ring indexes,
 * descriptors, packet data), so a machine whose two CPUs are "far apart"
 * at the moment (a virtual machine whose vCPUs the host moved to other
 * cores) gives lower rates to every transport. The median is robust to the
 * few round trips that a preemption stretches.
 */

#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct {
	volatile uint64_t v;
} __attribute__((aligned(64))) line;

#define BATCH 8

static long n_trips = 20000;
static int cpu_b;

static int
pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

static void *
pong(void *arg)
{
	(void)arg;
	if (pin(cpu_b) != 0)
		return (void *)1;
	for (long i = 0; i < n_trips; i++) {
		while (line.v != (uint64_t)(2 * i + 1))
			;
		line.v = 2 * i + 2;
	}
	return NULL;
}

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int
cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	uint64_t *d;
	pthread_t t;
	long nb, i = 0;
	void *ret;

	if (argc < 3) {
		fprintf(stderr, "usage: %s CPU_A CPU_B [ROUND_TRIPS]\n",
			argv[0]);
		return 2;
	}
	cpu_b = atoi(argv[2]);
	if (argc > 3)
		n_trips = atol(argv[3]);
	nb = n_trips / BATCH;
	if (nb < 1)
		return 2;
	n_trips = nb * BATCH;
	d = malloc(sizeof(*d) * (size_t)nb);
	if (d == NULL || pin(atoi(argv[1])) != 0 ||
	    pthread_create(&t, NULL, pong, NULL) != 0) {
		perror("bench-c2c");
		return 1;
	}
	for (long b = 0; b < nb; b++) {
		uint64_t s = now_ns();

		for (long k = 0; k < BATCH; k++, i++) {
			line.v = 2 * i + 1;
			while (line.v != (uint64_t)(2 * i + 2))
				;
		}
		d[b] = (now_ns() - s) / BATCH;
	}
	pthread_join(t, &ret);
	if (ret != NULL) {
		fprintf(stderr, "bench-c2c: cannot run on CPU %d\n", cpu_b);
		return 1;
	}
	qsort(d, (size_t)nb, sizeof(*d), cmp);
	printf("%lu\n", (unsigned long)d[nb / 2]);
	free(d);
	return 0;
}
