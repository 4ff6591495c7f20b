/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Cache-line round trip between two CPUs, for devtools/bench.sh.
 *
 *   bench-c2c CPU_A CPU_B [ROUND_TRIPS]
 *   bench-c2c --every MS CPU_A CPU_B [ROUND_TRIPS]
 *
 * One thread on each CPU passes a counter back and forth through one cache
 * line; prints the median round trip in nanoseconds (timed in batches of
 * BATCH round trips, so the clock's own cost hardly counts). This is what every
 * packet between two forwarding lcores pays a few times over (ring indexes,
 * descriptors, packet data), so a machine whose two CPUs are "far apart"
 * at the moment (a virtual machine whose vCPUs the host moved to other
 * cores) gives lower rates to every transport. The median is robust to the
 * few round trips that a preemption stretches.
 *
 * With --every, it probes while the CPUs are busy: every MS milliseconds
 * both threads wake at the same time, at SCHED_FIFO priority (root), so
 * they take their CPUs from the forwarding lcores for the ROUND_TRIPS
 * (default 500: well under a millisecond) and give them back; one median
 * per line, until SIGTERM or SIGINT (or its parent's end). The state of
 * the two vCPUs can change while a pair forwards (every few seconds on
 * the project's machines), which a probe before and after, with both
 * idle, does not see. A probe that the other thread does not answer
 * within BURST_TIMEOUT_NS is given up (a line "timeout"), so a FIFO
 * thread never spins for longer than that.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

static struct {
	volatile uint64_t v;
} __attribute__((aligned(64))) line;

#define BATCH 8
#define BURST_TIMEOUT_NS 5000000ull	/* --every: 5 ms per probe at most */
#define ONCE_TIMEOUT_NS 10000000000ull	/* one probe: 10 s */

static long n_trips = 20000;
static long every_ms;			/* 0: one probe */
static int cpu_b;
static volatile int fifo_err;		/* pthread_setschedparam()'s */
static volatile sig_atomic_t stop;

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int
pin(int cpu)
{
	cpu_set_t s;
	int rc;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
	if (rc == 0 && every_ms > 0) {
		struct sched_param p = { .sched_priority = 1 };
		int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);

		if (e != 0)
			fifo_err = e;
	}
	return rc;
}

/* Wait until line.v is want; false once deadline (ns) has passed. */
static bool
wait_for(uint64_t want, uint64_t deadline)
{
	unsigned int spins = 0;

	while (line.v != want)
		if ((++spins & 1023) == 0 && now_ns() > deadline)
			return false;
	return true;
}

/* Probe k's counter values: base + 1 .. base + 2 * n_trips, apart from
 * every other probe's, so a given-up probe leaves the next one in step. */
static uint64_t
base_of(long k)
{
	return (uint64_t)k * (2 * (uint64_t)n_trips + 2);
}

/* Sleep until probe k's start (CLOCK_MONOTONIC ns); false to stop. */
static bool
sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000u),
			       .tv_nsec = (long)(t % 1000000000u) };

	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
					NULL) == EINTR)
		;
	return !stop;
}

static uint64_t t_start;

static uint64_t
start_of(long k)
{
	return t_start + (uint64_t)k * (uint64_t)every_ms * 1000000u;
}

static void *
pong(void *arg)
{
	(void)arg;
	if (pin(cpu_b) != 0)
		return (void *)1;
	for (long k = 0;; k++) {
		uint64_t base = base_of(k), deadline = ONCE_TIMEOUT_NS;

		if (every_ms > 0) {
			if (!sleep_until(start_of(k)))
				break;
			deadline = start_of(k) + BURST_TIMEOUT_NS;
		} else {
			deadline += now_ns();
		}
		for (long i = 0; i < n_trips; i++) {
			if (!wait_for(base + 2 * i + 1, deadline))
				break;
			line.v = base + 2 * i + 2;
		}
		if (every_ms == 0)
			break;
	}
	return NULL;
}

static int
cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One probe: nb batches, each batch's mean round trip in d[]; the median,
 * or 0 if the other thread did not answer by the deadline. */
static uint64_t
probe(long k, uint64_t *d, long nb, uint64_t deadline)
{
	uint64_t base = base_of(k);
	long i = 0;

	for (long b = 0; b < nb; b++) {
		uint64_t s = now_ns();

		for (long j = 0; j < BATCH; j++, i++) {
			line.v = base + 2 * i + 1;
			if (!wait_for(base + 2 * i + 2, deadline))
				return 0;
		}
		d[b] = (now_ns() - s) / BATCH;
	}
	qsort(d, (size_t)nb, sizeof(*d), cmp);
	return d[nb / 2];
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--every MS] CPU_A CPU_B [ROUND_TRIPS]\n",
		argv0);
	return 2;
}

int
main(int argc, char **argv)
{
	const char *argv0 = argv[0];
	uint64_t *d, m;
	pthread_t t;
	long nb;
	sigset_t stop_sigs;
	void *ret;
	int rc = 0;

	if (argc > 2 && strcmp(argv[1], "--every") == 0) {
		every_ms = atol(argv[2]);
		if (every_ms < 10) {
			fprintf(stderr,
				"bench-c2c: --every takes 10 ms or more\n");
			return 2;
		}
		n_trips = 500;
		argc -= 2;
		argv += 2;
	}
	if (argc < 3)
		return usage(argv0);
	cpu_b = atoi(argv[2]);
	if (argc > 3)
		n_trips = atol(argv[3]);
	nb = n_trips / BATCH;
	if (nb < 1)
		return usage(argv0);
	n_trips = nb * BATCH;
	d = malloc(sizeof(*d) * (size_t)nb);
	if (every_ms > 0) {
		struct sigaction sa = { .sa_handler = on_signal };

		/* SIGTERM and SIGINT go to this thread (the other has them
		 * blocked), which wakes the other with SIGUSR1 */
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		/* and it stops with the script that started it */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigemptyset(&stop_sigs);
		sigaddset(&stop_sigs, SIGTERM);
		sigaddset(&stop_sigs, SIGINT);
		pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
		t_start = now_ns() + 20000000u;	/* both threads up by then */
	}
	if (d == NULL || pin(atoi(argv[1])) != 0 ||
	    pthread_create(&t, NULL, pong, NULL) != 0) {
		perror("bench-c2c");
		return 1;
	}
	if (every_ms > 0)
		pthread_sigmask(SIG_UNBLOCK, &stop_sigs, NULL);
	if (every_ms == 0) {
		m = probe(0, d, nb, now_ns() + ONCE_TIMEOUT_NS);
		if (m > 0)
			printf("%lu\n", (unsigned long)m);
		else
			rc = 1;
	}
	for (long k = 0; every_ms > 0; k++) {
		if (!sleep_until(start_of(k)))
			break;
		if (fifo_err != 0) {
			/* under the forwarding lcores' load, a probe
			 * without priority times their time slices */
			fprintf(stderr,
				"bench-c2c: --every needs SCHED_FIFO"
				" (root): %s\n",
				strerror(fifo_err));
			stop = 1;
			rc = 3;
			break;
		}
		m = probe(k, d, nb, start_of(k) + BURST_TIMEOUT_NS);
		if (m > 0)
			printf("%lu\n", (unsigned long)m);
		else
			printf("timeout\n");
		fflush(stdout);
	}
	if (every_ms > 0)
		pthread_kill(t, SIGUSR1);
	pthread_join(t, &ret);
	if (ret != NULL) {
		fprintf(stderr, "bench-c2c: cannot run on CPU %d\n", cpu_b);
		return 1;
	}
	if (rc == 1)
		fprintf(stderr, "bench-c2c: CPU %d did not answer\n", cpu_b);
	free(d);
	return rc;
}
