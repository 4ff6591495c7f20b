/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The dirty pages kept of regions unmapped while logging: runs merge,
 * a report hands out and forgets exactly its part, and past
 * VU_DIRTY_KEPT_MAX runs pages may be reported that were not dirty but
 * none that was is lost.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_rnd.h"
#include "vu_dirty_kept.h"

#define P 4096ull

static struct vu_dirty_kept k;

static int
setup(void **state)
{
	(void)state;
	return vu_dirty_kept_init(&k);
}

static int
teardown(void **state)
{
	(void)state;
	vu_dirty_kept_fini(&k);
	return 0;
}

/* The report of [iova, iova + len) at pgsize, one word of bits. */
static uint64_t
take(uint64_t iova, uint64_t len, uint64_t pgsize)
{
	uint64_t bits = 0;

	assert_true(len / pgsize <= 64);
	vu_dirty_kept_take(&k, iova, len, pgsize, &bits);
	return bits;
}

static void
test_merge(void **state)
{
	(void)state;
	vu_dirty_kept_add(&k, 0x1000, P);
	vu_dirty_kept_add(&k, 0x3000, P);
	assert_int_equal(k.n, 2);
	vu_dirty_kept_add(&k, 0x2000, P);	/* touches both */
	assert_int_equal(k.n, 1);
	assert_int_equal(k.run[0].iova, 0x1000);
	assert_int_equal(k.run[0].len, 3 * P);
	vu_dirty_kept_add(&k, 0x2000, 8 * P);	/* overlaps, goes past */
	assert_int_equal(k.n, 1);
	assert_int_equal(k.run[0].len, 9 * P);
	vu_dirty_kept_add(&k, 0, P);		/* touches from below */
	assert_int_equal(k.n, 1);
	assert_int_equal(k.run[0].iova, 0);
	assert_int_equal(k.run[0].len, 10 * P);
	vu_dirty_kept_add(&k, 0x20000, P);
	vu_dirty_kept_add(&k, 0x10000, P);
	assert_int_equal(k.n, 3);
	assert_true(k.run[0].iova < k.run[1].iova &&
		    k.run[1].iova < k.run[2].iova);
	vu_dirty_kept_add(&k, 0, 0x30000);	/* swallows all */
	assert_int_equal(k.n, 1);
	assert_int_equal(k.run[0].len, 0x30000);
}

static void
test_take(void **state)
{
	(void)state;
	vu_dirty_kept_add(&k, 0x1000, 3 * P);	/* pages 1, 2, 3 */
	vu_dirty_kept_add(&k, 0x9000, P);	/* page 9 */
	/* nothing outside the runs; a run ending at the range is outside */
	assert_int_equal(take(0x4000, 5 * P, P), 0);
	assert_int_equal(take(0xa000, 4 * P, P), 0);
	assert_int_equal(k.n, 2);
	/* the middle page: the run splits around it */
	assert_int_equal(take(0x2000, P, P), 1);
	assert_int_equal(k.n, 3);
	assert_int_equal(take(0x2000, P, P), 0);
	/* the head of a run, then a range over its tail and the next */
	assert_int_equal(take(0, 2 * P, P), 0x2);
	assert_int_equal(take(0x2000, 8 * P, P), 0x82);
	assert_int_equal(k.n, 0);
	/* coarser units: any kept page sets its unit's bit */
	vu_dirty_kept_add(&k, 0x3000, P);
	vu_dirty_kept_add(&k, 0x7000, 2 * P);	/* pages 7, 8 */
	assert_int_equal(take(0, 0x10000, 0x4000), 0x7);
	assert_int_equal(k.n, 0);
	/* a range wider than 64 units, bits past the first word */
	{
		uint64_t bits[4] = { 0 };

		vu_dirty_kept_add(&k, 70 * P, 60 * P);	/* pages 70..129 */
		vu_dirty_kept_take(&k, 0, 256 * P, P, bits);
		assert_int_equal(bits[0], 0);
		assert_int_equal(bits[1], ~0ULL << 6);
		assert_int_equal(bits[2], 0x3);
		assert_int_equal(bits[3], 0);
		assert_int_equal(k.n, 0);
	}
}

/* Past VU_DIRTY_KEPT_MAX runs: bounded, every kept page still reported. */
static void
test_bound(void **state)
{
	const uint32_t n = VU_DIRTY_KEPT_MAX + 100;
	uint64_t words = (uint64_t)n * 3 / 64 + 1, extra = 0;
	uint64_t *bits = calloc(words, 8);

	(void)state;
	assert_non_null(bits);
	/* a page every 3 (every 50th one page later); past the bound each
	 * joins the run before it */
	for (uint32_t i = 0; i < n; i++)
		vu_dirty_kept_add(&k, ((uint64_t)i * 3 + (i % 50 == 1)) * P, P);
	assert_int_equal(k.n, VU_DIRTY_KEPT_MAX);
	for (uint32_t i = 0; i + 1 < k.n; i++)
		assert_true(k.run[i].iova + k.run[i].len < k.run[i + 1].iova);
	/* a split at the bound merges again, losing nothing */
	vu_dirty_kept_add(&k, (uint64_t)n * 3 * P, 3 * P);
	assert_int_equal(k.n, VU_DIRTY_KEPT_MAX);
	{
		uint64_t mid = 0;

		vu_dirty_kept_take(&k, ((uint64_t)n * 3 + 1) * P, P, P, &mid);
		assert_int_equal(mid, 1);
		assert_int_equal(k.n, VU_DIRTY_KEPT_MAX);
		/* handed out: not kept again by the merge the split made */
		mid = 0;
		vu_dirty_kept_take(&k, ((uint64_t)n * 3 + 1) * P, P, P, &mid);
		assert_int_equal(mid, 0);
	}
	vu_dirty_kept_take(&k, 0, words * 64 * P, P, bits);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t p = (uint64_t)i * 3 + (i % 50 == 1);

		assert_true(bits[p / 64] & (1ULL << (p % 64)));
	}
	for (uint64_t p = (uint64_t)n * 3; p < (uint64_t)n * 3 + 3; p++)
		if (p != (uint64_t)n * 3 + 1)
			assert_true(bits[p / 64] & (1ULL << (p % 64)));
	/* the merges reported the pages between the runs they joined: two
	 * a run past the bound, two at the split */
	for (uint64_t w = 0; w < words; w++)
		extra += (uint64_t)__builtin_popcountll(bits[w]);
	extra -= n + 2;
	assert_true(extra > 0 && extra <= 2 * (n - VU_DIRTY_KEPT_MAX + 1) + 4);
	assert_int_equal(k.n, 0);
	free(bits);
}

/* Full, a new run joins its nearer neighbour, below or above it, or the
 * last or first run past either end: no run is added. */
static void
test_full_joins_nearer(void **state)
{
	const uint32_t last = VU_DIRTY_KEPT_MAX - 1;

	(void)state;
	for (uint32_t i = 0; i < VU_DIRTY_KEPT_MAX; i++)	/* pages 10, 20, .. */
		vu_dirty_kept_add(&k, (uint64_t)(i + 1) * 10 * P, P);
	assert_int_equal(k.n, VU_DIRTY_KEPT_MAX);
	vu_dirty_kept_add(&k, 52 * P, P);	/* 1 page from 50, 7 from 60 */
	assert_int_equal(k.run[4].iova, 50 * P);
	assert_int_equal(k.run[4].len, 3 * P);
	vu_dirty_kept_add(&k, 78 * P, P);	/* 7 pages from 70, 1 from 80 */
	assert_int_equal(k.run[7].iova, 78 * P);
	assert_int_equal(k.run[7].len, 3 * P);
	vu_dirty_kept_add(&k, 2 * P, P);	/* below the first */
	assert_int_equal(k.run[0].iova, 2 * P);
	assert_int_equal(k.run[0].len, 9 * P);
	vu_dirty_kept_add(&k, (uint64_t)(last + 3) * 10 * P,
			  P); /* past the last */
	assert_int_equal(k.run[last].iova, (uint64_t)(last + 1) * 10 * P);
	assert_int_equal(k.run[last].len, 21 * P);
	assert_int_equal(k.n, VU_DIRTY_KEPT_MAX);
}

/* Full, a report out of the middle of a run splits it: two other runs
 * merge, not the halves (which would keep what was handed out). */
static void
test_split_at_bound(void **state)
{
	uint64_t bits = 0;

	(void)state;
	for (uint32_t i = 0; i < VU_DIRTY_KEPT_MAX; i++)	/* 3 pages, 7 apart */
		vu_dirty_kept_add(&k, (uint64_t)i * 10 * P, 3 * P);
	assert_int_equal(k.n, VU_DIRTY_KEPT_MAX);
	vu_dirty_kept_take(&k, 11 * P, P, P, &bits);
	assert_int_equal(bits, 1);
	assert_int_equal(k.n, VU_DIRTY_KEPT_MAX);
	bits = 0;
	vu_dirty_kept_take(&k, 11 * P, P, P, &bits);
	assert_int_equal(bits, 0);
	bits = 0;
	vu_dirty_kept_take(&k, 10 * P, 3 * P, P, &bits);
	assert_int_equal(bits, 0x5);
}

/* Without room (init failed, or logging off) nothing is kept, nothing
 * breaks. */
static void
test_no_room(void **state)
{
	struct vu_dirty_kept none = { 0 };
	uint64_t bits = 0;

	(void)state;
	vu_dirty_kept_add(&none, 0, P);
	vu_dirty_kept_take(&none, 0, 64 * P, P, &bits);
	assert_int_equal(bits, 0);
	vu_dirty_kept_fini(&none);
}

/* Randomized: against a plain bitmap of pages. Below the bound, every
 * report is exact; past it, a superset. The runs stay sorted, disjoint,
 * not touching, at most VU_DIRTY_KEPT_MAX. */
static void
check_runs(void)
{
	assert_true(k.n <= VU_DIRTY_KEPT_MAX);
	for (uint32_t i = 0; i < k.n; i++) {
		assert_true(k.run[i].len > 0);
		if (i + 1 < k.n)
			assert_true(k.run[i].iova + k.run[i].len <
				    k.run[i + 1].iova);
	}
}

static void
random_run(uint64_t npages, uint32_t rounds, uint32_t maxrun, bool exact)
{
	uint8_t *model = calloc(npages, 1);
	uint64_t *out = calloc(npages / 64 + 2, 8);

	assert_non_null(model);
	assert_non_null(out);
	for (uint32_t r = 0; r < rounds; r++) {
		if (rnd() % 4 != 0) {
			uint64_t len = 1 + rnd() % maxrun;
			uint64_t a = rnd() % npages;

			if (a + len > npages)
				len = npages - a;
			vu_dirty_kept_add(&k, a * P, len * P);
			memset(model + a, 1, len);
		} else {
			uint64_t per = 1ull << (rnd() % 5);	/* pages/unit */
			uint64_t units = npages / per;
			uint64_t u0 = rnd() % units;
			uint64_t un = 1 + rnd() % (units - u0);

			memset(out, 0, (un / 64 + 1) * 8);
			vu_dirty_kept_take(&k, u0 * per * P, un * per * P,
					   per * P, out);
			for (uint64_t u = 0; u < un; u++) {
				bool m = false, got;

				for (uint64_t q = 0; q < per; q++)
					m |= model[(u0 + u) * per + q];
				got = out[u / 64] >> (u % 64) & 1;
				if (exact)
					assert_int_equal(got, m);
				else if (m)
					assert_true(got);
			}
			/* nothing past the range */
			for (uint64_t u = un; u < (un / 64 + 1) * 64; u++)
				assert_false(out[u / 64] >> (u % 64) & 1);
			memset(model + u0 * per, 0, un * per);
		}
		check_runs();
		if (exact) {	/* the runs are the model exactly */
			uint64_t p = 0;

			for (uint32_t i = 0; i < k.n; i++) {
				for (; p < k.run[i].iova / P; p++)
					assert_int_equal(model[p], 0);
				for (; p < (k.run[i].iova + k.run[i].len) / P;
				     p++)
					assert_int_equal(model[p], 1);
			}
			for (; p < npages; p++)
				assert_int_equal(model[p], 0);
		}
	}
	free(model);
	free(out);
}

static void
test_random_exact(void **state)
{
	(void)state;
	random_run(4096, 200000, 8, true);	/* < VU_DIRTY_KEPT_MAX runs */
}

static void
test_random_bound(void **state)
{
	(void)state;
	random_run(65536, 100000, 3, false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_joins_nearer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_split_at_bound, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_exact, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_random_bound, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
