/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/* Dirty pages of regions unmapped while logging: see vu_dirty_kept.h. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vu_dirty_kept.h"

static inline uint64_t
run_end(const struct vu_dirty_run *r)
{
	return r->iova + r->len;
}

int
vu_dirty_kept_init(struct vu_dirty_kept *k)
{
	/* one more than kept: a run is split or added before two merge */
	k->run = malloc((VU_DIRTY_KEPT_MAX + 1) * sizeof(*k->run));
	k->n = 0;
	return k->run == NULL ? -ENOMEM : 0;
}

void
vu_dirty_kept_fini(struct vu_dirty_kept *k)
{
	free(k->run);
	k->run = NULL;
	k->n = 0;
}

static void
run_remove(struct vu_dirty_kept *k, uint32_t i, uint32_t count)
{
	memmove(&k->run[i], &k->run[i + count],
		(k->n - i - count) * sizeof(*k->run));
	k->n -= count;
}

static void
run_insert(struct vu_dirty_kept *k, uint32_t i, uint64_t iova, uint64_t len)
{
	memmove(&k->run[i + 1], &k->run[i], (k->n - i) * sizeof(*k->run));
	k->run[i] = (struct vu_dirty_run){ .iova = iova, .len = len };
	k->n++;
}

/* Back to VU_DIRTY_KEPT_MAX runs after a split of run keep into keep and
 * keep + 1: the two others with the smallest gap become one (the gap's
 * pages reported dirty too). Once a report at most: a scan. */
static void
runs_bound(struct vu_dirty_kept *k, uint32_t keep)
{
	uint32_t best = 0;
	uint64_t gap = UINT64_MAX;

	if (k->n <= VU_DIRTY_KEPT_MAX)
		return;
	for (uint32_t i = 0; i + 1 < k->n; i++) {
		uint64_t g = k->run[i + 1].iova - run_end(&k->run[i]);

		if (i != keep && g < gap) {
			gap = g;
			best = i;
		}
	}
	k->run[best].len = run_end(&k->run[best + 1]) - k->run[best].iova;
	run_remove(k, best + 1, 1);
}

/* The first run ending at or after a (touching counts), or n. */
static uint32_t
run_from(const struct vu_dirty_kept *k, uint64_t a)
{
	uint32_t lo = 0, hi = k->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (run_end(&k->run[mid]) < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
vu_dirty_kept_add(struct vu_dirty_kept *k, uint64_t iova, uint64_t len)
{
	uint64_t end = iova + len;
	uint32_t i, j;

	if (k->run == NULL)
		return;
	i = j = run_from(k, iova);
	/* the runs it overlaps or touches become one with it */
	while (j < k->n && k->run[j].iova <= end)
		j++;
	if (i == j && k->n < VU_DIRTY_KEPT_MAX) {
		run_insert(k, i, iova, len);
		return;
	}
	if (i == j) {
		/* full: the nearer neighbour grows over the gap to it (no
		 * scan, no move: an unmap adds runs by the million) */
		if (i == k->n || (i > 0 && iova - run_end(&k->run[i - 1]) <=
						   k->run[i].iova - end)) {
			k->run[i - 1].len = end - k->run[i - 1].iova;
		} else {
			k->run[i].len = run_end(&k->run[i]) - iova;
			k->run[i].iova = iova;
		}
		return;
	}
	if (k->run[i].iova < iova)
		iova = k->run[i].iova;
	if (run_end(&k->run[j - 1]) > end)
		end = run_end(&k->run[j - 1]);
	k->run[i] = (struct vu_dirty_run){ .iova = iova, .len = end - iova };
	run_remove(k, i + 1, j - i - 1);
}

/* Set bits [a, b] of out. */
static void
bits_set(uint64_t *out, uint64_t a, uint64_t b)
{
	for (uint64_t w = a / 64; w <= b / 64; w++) {
		uint64_t mask = ~0ULL;

		if (w == a / 64)
			mask &= ~0ULL << (a % 64);
		if (w == b / 64 && b % 64 != 63)
			mask &= ~0ULL >> (63 - b % 64);
		out[w] |= mask;
	}
}

void
vu_dirty_kept_take(struct vu_dirty_kept *k, uint64_t iova, uint64_t len,
		   uint64_t pgsize, uint64_t *out)
{
	uint64_t end = iova + len;
	uint32_t i;

	if (k->run == NULL)
		return;
	/* a run ending exactly at iova holds nothing of the range */
	i = run_from(k, iova);
	if (i < k->n && run_end(&k->run[i]) == iova)
		i++;
	while (i < k->n && k->run[i].iova < end) {
		struct vu_dirty_run *r = &k->run[i];
		uint64_t s = r->iova > iova ? r->iova : iova;
		uint64_t e = run_end(r) < end ? run_end(r) : end;
		uint64_t r_end = run_end(r);

		bits_set(out, (s - iova) / pgsize, (e - 1 - iova) / pgsize);
		if (r->iova < s && r_end > e) {	/* the range inside it */
			r->len = s - r->iova;
			run_insert(k, i + 1, e, r_end - e);
			runs_bound(k, i);
			return;
		}
		if (r->iova < s) {
			r->len = s - r->iova;
			i++;
		} else if (r_end > e) {
			r->iova = e;
			r->len = r_end - e;
			i++;
		} else {
			run_remove(k, i, 1);
		}
	}
}
