/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_TEST_RND_H
#define VU_TEST_RND_H

/*
 * The pseudo-random sequence of the randomized white-box tests
 * (xorshift64, Marsaglia): the same every run, so that a failure comes
 * back. Header-only, a sequence per file.
 */

#include <stdint.h>

static uint64_t rnd_state = 88172645463325252ull;

static inline uint64_t
rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

#endif /* VU_TEST_RND_H */
