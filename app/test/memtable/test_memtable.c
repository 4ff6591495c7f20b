/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * White-box tests of the memory table's B+tree (lib/vfio_user/vu_memtable.c)
 * against a sorted-array model: random inserts, deletes and replaces, in
 * transactions of one or several steps, committed or aborted; the versions
 * a reader may still hold stay intact while later ones are built; lookups
 * (floor, next, the public inline find) agree with the model; the nodes an
 * update copies stay bounded; trees of 65535 records (the most regions a
 * client may map) in ascending, descending and random order.
 */

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "test_rnd.h"
#include "vu_memtable.h"

typedef struct rte_vfio_user_mem_segment seg_t;

#define PG 4096ull

/* The model: records sorted by IOVA. */
struct model {
	seg_t *s;
	uint32_t n;
	uint32_t cap;
};

static uint32_t
model_pos(const struct model *m, uint64_t iova)	/* first with iova >= */
{
	uint32_t lo = 0, hi = m->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (m->s[mid].iova < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
model_free_range(const struct model *m, uint64_t iova, uint64_t size)
{
	uint32_t p = model_pos(m, iova);

	if (p < m->n && m->s[p].iova < iova + size)
		return false;
	return p == 0 || m->s[p - 1].iova + m->s[p - 1].size <= iova;
}

static void
model_insert(struct model *m, const seg_t *s)
{
	uint32_t p = model_pos(m, s->iova);

	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->s = realloc(m->s, m->cap * sizeof(*m->s));
		assert_non_null(m->s);
	}
	memmove(m->s + p + 1, m->s + p, (m->n - p) * sizeof(*m->s));
	m->s[p] = *s;
	m->n++;
}

static void
model_delete(struct model *m, uint32_t p)
{
	memmove(m->s + p, m->s + p + 1, (m->n - p - 1) * sizeof(*m->s));
	m->n--;
}

static seg_t
rec(uint64_t iova, uint64_t size)
{
	return (seg_t){ .iova = iova,
			.size = size,
			.vaddr = (uint8_t *)(uintptr_t)(iova ^ 0x5a5a000),
			.prot = (uint32_t)(iova >> 12) & 3 };
}

/* The tree holds exactly the model, and answers lookups as it does. */
static void
assert_same(const struct vu_mt *t, const struct model *m, int probes)
{
	const struct rte_vfio_user_mem_table tab = {
		.gen = 1,
		.root = t->root,
		.depth = t->depth,
	};
	const seg_t *s;
	uint32_t i = 0;

	assert_int_equal(vu_mt_check(t), 0);
	assert_int_equal(t->count, m->n);
	for (s = vu_mt_next(t, 0); s != NULL;
	     s = vu_mt_next(t, s->iova + s->size)) {
		assert_true(i < m->n);
		assert_memory_equal(s, &m->s[i], sizeof(*s));
		i++;
	}
	assert_int_equal(i, m->n);
	for (int k = 0; k < probes && m->n > 0; k++) {
		const seg_t *e = &m->s[rnd() % m->n];
		uint64_t a = e->iova + rnd() % (e->size + 2 * PG) - PG;
		uint32_t p = model_pos(m, a + 1);	/* first > a */
		const seg_t *fl = p > 0 ? &m->s[p - 1] : NULL;
		const seg_t *f = vu_mt_floor(t, a);

		assert_true((f == NULL) == (fl == NULL));
		if (f != NULL)
			assert_int_equal(f->iova, fl->iova);
		f = rte_vfio_user_mem_find(&tab, a, 1);
		if (fl != NULL && a - fl->iova < fl->size)
			assert_true(f != NULL && f->iova == fl->iova);
		else
			assert_null(f);
		f = vu_mt_next(t, a);
		if (fl != NULL && a - fl->iova < fl->size)
			assert_true(f != NULL && f->iova == fl->iova);
		else if (p < m->n)
			assert_true(f != NULL && f->iova == m->s[p].iova);
		else
			assert_null(f);
	}
}

static void
new_tree(struct vu_mt *t)
{
	struct vu_mt_txn x;

	vu_mt_txn_begin(&x, vu_mt_new_gen());
	vu_mt_init(t, &x);
	assert_int_equal(vu_mt_txn_commit(&x, NULL), 0);
}

/* One random step on t and m in x; false if none applied. */
static bool
random_step(struct vu_mt *t, struct vu_mt_txn *x, struct model *m,
	    uint64_t space, uint32_t max_n)
{
	uint32_t op = rnd() % 3;

	if (m->n >= max_n)
		op = 1;
	if (op == 0 || m->n == 0) {
		uint64_t size = (1 + rnd() % 4) * PG;
		uint64_t iova = (rnd() % (space / PG)) * PG;
		seg_t s = rec(iova, size);

		if (!model_free_range(m, iova, size))
			return false;
		vu_mt_insert(t, x, &s);
		model_insert(m, &s);
	} else if (op == 1) {
		uint32_t p = rnd() % m->n;

		vu_mt_delete(t, x, m->s[p].iova);
		model_delete(m, p);
	} else {
		uint32_t p = rnd() % m->n;
		uint64_t room = p + 1 < m->n ? m->s[p + 1].iova - m->s[p].iova :
					       4 * PG;
		seg_t s = m->s[p];

		s.size = (1 + rnd() % (room / PG < 4 ? room / PG : 4)) * PG;
		s.prot ^= 1;
		s.vaddr += 64;
		vu_mt_replace(t, x, &s);
		m->s[p] = s;
	}
	return true;
}

static void
test_random_model(void **state)
{
	struct model m = { 0 };
	struct vu_mt t;

	(void)state;
	new_tree(&t);
	for (int round = 0; round < 20000; round++) {
		struct vu_mt_txn x;
		int steps = 1 + (int)(rnd() % 3);

		vu_mt_txn_begin(&x, vu_mt_new_gen());
		for (int k = 0; k < steps; k++)
			random_step(&t, &x, &m, 1ull << 26, 3000);
		assert_int_equal(vu_mt_txn_commit(&x, NULL), 0);
		assert_same(&t, &m, round % 64 == 0 ? 64 : 2);
	}
	/* and down to nothing */
	while (m.n > 0) {
		struct vu_mt_txn x;
		uint32_t p = (uint32_t)(rnd() % m.n);

		vu_mt_txn_begin(&x, vu_mt_new_gen());
		vu_mt_delete(&t, &x, m.s[p].iova);
		assert_int_equal(vu_mt_txn_commit(&x, NULL), 0);
		model_delete(&m, p);
		if (m.n % 64 == 0)
			assert_same(&t, &m, 8);
	}
	assert_int_equal(t.depth, 0);
	vu_mt_destroy(&t);
	free(m.s);
}

/*
 * Versions: a reader holding version k sees it unchanged while versions
 * k+1, k+2... are built and published, until its nodes are freed; an
 * aborted transaction leaves the tree it started from as it was.
 */
static void
test_versions(void **state)
{
	enum {
		NV = 8
	};
	struct model m = { 0 }, mv[NV] = { 0 };
	struct vu_mt_ptrs old[NV] = { 0 };
	struct vu_mt t, tv[NV];

	(void)state;
	new_tree(&t);
	for (int i = 0; i < 2000; i++) {	/* a tree of some depth */
		struct vu_mt_txn x;

		vu_mt_txn_begin(&x, vu_mt_new_gen());
		random_step(&t, &x, &m, 1ull << 24, 1500);
		assert_int_equal(vu_mt_txn_commit(&x, NULL), 0);
	}
	for (int round = 0; round < 200; round++) {
		int v = round % NV;

		/* version v's nodes were kept by the caller until now */
		vu_mt_ptrs_free(&old[v]);
		free(mv[v].s);
		/* take a snapshot: what a reader sees */
		tv[v] = t;
		mv[v].n = mv[v].cap = m.n;
		mv[v].s = malloc((m.n + 1) * sizeof(seg_t));
		memcpy(mv[v].s, m.s, m.n * sizeof(seg_t));
		{
			struct vu_mt_txn x;
			struct vu_mt saved = t;
			struct model msaved = { .n = m.n, .cap = m.n };

			/* an aborted transaction changes nothing */
			msaved.s = malloc((m.n + 1) * sizeof(seg_t));
			memcpy(msaved.s, m.s, m.n * sizeof(seg_t));
			vu_mt_txn_begin(&x, vu_mt_new_gen());
			for (int k = 0; k < 20; k++)
				random_step(&t, &x, &m, 1ull << 24, 1500);
			vu_mt_txn_abort(&x);
			t = saved;
			free(m.s);
			m = msaved;
			assert_same(&t, &m, 16);

			/* a committed one replaces nodes; the caller keeps
			 * them for the snapshot's reader */
			vu_mt_txn_begin(&x, vu_mt_new_gen());
			for (int k = 0; k < 1 + round % 5; k++)
				random_step(&t, &x, &m, 1ull << 24, 1500);
			assert_int_equal(vu_mt_txn_commit(&x, &old[v]), 0);
		}
		/* every snapshot still alive reads as it was */
		for (int k = 0; k <= (round < NV ? round : NV - 1); k++)
			assert_same(&tv[k], &mv[k], 4);
		assert_same(&t, &m, 16);
	}
	for (int v = 0; v < NV; v++) {
		vu_mt_ptrs_free(&old[v]);
		free(mv[v].s);
	}
	vu_mt_destroy(&t);
	free(m.s);
}

/* An update copies a bounded number of nodes, whatever the tree holds. */
static uint32_t
step_cost(struct vu_mt *t, int op, uint64_t iova, uint64_t size)
{
	struct vu_mt_ptrs old = { 0 };
	struct vu_mt_txn x;
	seg_t s = rec(iova, size);
	uint32_t n;

	vu_mt_txn_begin(&x, vu_mt_new_gen());
	if (op == 0)
		vu_mt_insert(t, &x, &s);
	else if (op == 1)
		vu_mt_delete(t, &x, iova);
	else
		vu_mt_replace(t, &x, &s);
	assert_int_equal(vu_mt_txn_commit(&x, &old), 0);
	n = old.n;
	vu_mt_ptrs_free(&old);
	return n;
}

static void
bulk(const char *name, const uint32_t *order, uint32_t n)
{
	struct vu_mt t;
	uint32_t max_copied = 0, max_depth = 0;
	struct timespec a, b;
	double ms;

	new_tree(&t);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = step_cost(&t, 0, (uint64_t)order[i] * 2 * PG, PG);

		max_copied = c > max_copied ? c : max_copied;
		max_depth = t.depth > max_depth ? t.depth : max_depth;
	}
	assert_int_equal(t.count, n);
	assert_int_equal(vu_mt_check(&t), 0);
	for (uint32_t i = 0; i < n; i += 97) {
		uint32_t c = step_cost(&t, 2, (uint64_t)i * 2 * PG, PG);

		max_copied = c > max_copied ? c : max_copied;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = step_cost(&t, 1,
				       (uint64_t)order[(i * 7919u) % n] * 2 *
					       PG,
				       PG);

		max_copied = c > max_copied ? c : max_copied;
		if (i % 8192 == 0)
			assert_int_equal(vu_mt_check(&t), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	     (b.tv_nsec - a.tv_nsec) / 1e6;
	assert_int_equal(t.count, 0);
	assert_int_equal(t.depth, 0);
	assert_int_equal(vu_mt_check(&t), 0);
	print_message(
		"memtable %s: %u inserts, %u replaces, %u deletes in %.1f ms "
		"(%.2f us each); depth up to %u, at most %u nodes copied "
		"by an update\n",
		name, n, (n + 96) / 97, n, ms,
		ms * 1000 / (2 * n + (n + 96) / 97), max_depth, max_copied);
	/* 32-way nodes: 65535 records fit in 4 levels; an update copies
	 * the path (a node per level) and at most a sibling per level */
	assert_true(max_depth <= 4);
	assert_true(max_copied <= 2 * (max_depth + 1) + 1);
	vu_mt_destroy(&t);
}

static void
test_bulk(void **state)
{
	const uint32_t n = 65535;
	uint32_t *order = malloc(n * sizeof(*order));

	(void)state;
	assert_non_null(order);
	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	bulk("ascending", order, n);
	for (uint32_t i = 0; i < n; i++)
		order[i] = n - 1 - i;
	bulk("descending", order, n);
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rnd() % (i + 1)), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	bulk("random", order, n);
	free(order);
}

/* Clearing a tree replaces all its nodes; the empty tree works. */
static void
test_clear(void **state)
{
	struct model m = { 0 };
	struct vu_mt_ptrs old = { 0 };
	struct vu_mt_txn x;
	struct vu_mt t;

	(void)state;
	new_tree(&t);
	vu_mt_txn_begin(&x, vu_mt_new_gen());
	for (int i = 0; i < 3000; i++)
		random_step(&t, &x, &m, 1ull << 26, 2500);
	assert_int_equal(vu_mt_txn_commit(&x, NULL), 0);
	assert_same(&t, &m, 64);
	vu_mt_txn_begin(&x, vu_mt_new_gen());
	vu_mt_clear(&t, &x);
	assert_int_equal(vu_mt_txn_commit(&x, &old), 0);
	assert_true(old.n > m.n / 32);
	vu_mt_ptrs_free(&old);
	m.n = 0;
	assert_same(&t, &m, 0);
	assert_null(vu_mt_next(&t, 0));
	assert_null(vu_mt_floor(&t, UINT64_MAX));
	vu_mt_destroy(&t);
	free(m.s);
}

/* A transaction that ran out of memory half-way is aborted as a whole. */
static void
test_error_aborts(void **state)
{
	struct model m = { 0 };
	struct vu_mt_txn x;
	struct vu_mt t, saved;

	(void)state;
	new_tree(&t);
	vu_mt_txn_begin(&x, vu_mt_new_gen());
	for (int i = 0; i < 500; i++)
		random_step(&t, &x, &m, 1ull << 22, 400);
	assert_int_equal(vu_mt_txn_commit(&x, NULL), 0);
	saved = t;
	vu_mt_txn_begin(&x, vu_mt_new_gen());
	{
		seg_t s = rec(1ull << 40, PG);

		vu_mt_insert(&t, &x, &s);
		vu_mt_delete(&t, &x, m.s[0].iova);
		x.err = -ENOMEM;	/* as if an allocation failed here */
		vu_mt_delete(&t, &x, m.s[1].iova);
	}
	assert_int_equal(vu_mt_txn_commit(&x, NULL), -ENOMEM);
	t = saved;
	assert_same(&t, &m, 64);
	vu_mt_destroy(&t);
	free(m.s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_bulk),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_error_aborts),
	};

	return cmocka_run_group_tests_name("memtable", tests, NULL, NULL);
}
