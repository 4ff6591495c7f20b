/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef PROC_BASELINE_H
#define PROC_BASELINE_H

/*
 * What this process holds (/proc/self/fd and /proc/self/maps), taken as a
 * baseline before a test and compared after it: a test shows that a
 * connection, a dead client or a failed request left no fd and no mapping
 * behind. No test framework: callers assert on pb_back().
 */

#include <stdbool.h>
#include <stdio.h>

struct pb {
	int fds;		/* open fds */
	int named;		/* mappings of a file (or [heap], [stack], ...) */
	int anon;		/* anonymous mappings */
	char *fd_text;		/* "fd -> target" lines, to report new ones */
	char *maps_text;	/* /proc/self/maps, to report new mappings */
};

/*
 * Anonymous mappings a sanitizer build may add or drop between two
 * snapshots (ASan's allocator maps memory as its quarantine fills):
 * mappings of files, and fds, must match exactly.
 */
#if defined(__SANITIZE_ADDRESS__)
#define PB_ANON_SLACK 16
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PB_ANON_SLACK 16
#endif
#endif
#ifndef PB_ANON_SLACK
#define PB_ANON_SLACK 0
#endif

/* Take a snapshot. 0, or -1 if /proc cannot be read. */
int pb_take(struct pb *b);

/* True if the process holds exactly the fds and file mappings of b, and
 * no more than PB_ANON_SLACK anonymous mappings more. */
bool pb_back(const struct pb *b);

/* Wait up to ms milliseconds for pb_back(); on failure, print to out what
 * is new since b. */
bool pb_wait_back(const struct pb *b, unsigned int ms, FILE *out);

/* Print what is new since b (fds, mappings) to out. */
void pb_report(const struct pb *b, FILE *out);

void pb_free(struct pb *b);

/* Threads of this process named comm (the library's event thread is
 * "vfio-user-evt"): how many; the first one's id in *tid if not NULL. */
int pb_threads(const char *comm, long *tid);

#endif /* PROC_BASELINE_H */
