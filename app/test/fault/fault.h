/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef FAULT_H
#define FAULT_H

/*
 * Fault injection against librte_vfio_user: the memory_irq fixture (two
 * devices served in this process, mi_a and mi_b) with mi_a the victim of
 * each fault and mi_b the bystander. A prober thread keeps a client of
 * mi_b reading its config space for the whole run; every test checks that
 * it kept answering within FAULT_PROBE_BOUND_MS, and that the process is
 * back at its fds and mappings (/proc/self/fd, /proc/self/maps) once the
 * fault is over.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mi_common.h"
#include "proc_baseline.h"

/* Slowest answer of the bystander device the tests accept. */
#define FAULT_PROBE_BOUND_MS 200
/* Bytes each probe reads (config space of mi_b, offset 0). */
#define FAULT_PROBE_LEN 16

/* Start / stop the prober (group setup and teardown). */
int fault_probe_start(void);
void fault_probe_stop(void);
/* Forget the worst latency seen so far (start of a test). */
void fault_probe_reset(void);
/*
 * Assert: the prober answered within the bound since the last reset, made
 * no error, and answered at least 3 more times after this call (so it was
 * probing after the fault, too).
 */
void fault_probe_check(void);

/*
 * A client process: fork() a child that connects to d, runs step(fd, arg)
 * and, when it returns 0, tells the parent and waits to be killed. Returns
 * the child's pid once it is ready (asserting it got there).
 * step runs in the child: no cmocka assertion there, return non-zero on
 * failure; it may use raw_client calls on the connected struct rc.
 */
typedef int (*fault_step_fn)(struct rc *c, void *arg);
pid_t fault_child(struct mi_dev *d, fault_step_fn step, void *arg);
/* Per-test teardown: kills a child the test left alive, then
 * mi_test_teardown(). */
int fault_test_teardown(void **state);
/* SIGKILL the child and reap it (asserting it died of the signal). */
void fault_kill(pid_t pid);

/* Wait until d has no client and no client state left. */
void fault_wait_clean(struct mi_dev *d);
/* A new client of d negotiates, reads config space and leaves. */
void fault_assert_usable(struct mi_dev *d);
/* Assert the process is back at b within 3 s (printing what is new). */
void fault_assert_back(const struct pb *b);

/* The library's log lines while capturing (rte_openlog_stream). */
void fault_log_capture(void);
/* Stop capturing; returns the text (caller frees), NULL if not capturing. */
char *fault_log_release(void);
/* Number of times s occurs in text. */
unsigned int fault_count(const char *text, const char *s);

/* A first client cycle on d (map, interrupts, disconnect), so that the
 * allocators have their arenas before any baseline is taken. */
void fault_warm_up(struct mi_dev *d);

extern const struct CMUnitTest fault_die_tests[];
extern const size_t fault_die_tests_n;
extern const struct CMUnitTest fault_emfile_tests[];
extern const size_t fault_emfile_tests_n;
extern const struct CMUnitTest fault_mmap_tests[];
extern const size_t fault_mmap_tests_n;
extern const struct CMUnitTest fault_sock_tests[];
extern const size_t fault_sock_tests_n;

#endif /* FAULT_H */
