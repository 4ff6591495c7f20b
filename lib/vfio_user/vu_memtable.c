/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Persistent B+trees of segment records keyed by IOVA, updated by path
 * copying (see vu_memtable.h). Inner nodes hold up to 32 children with the
 * first IOVA of each; leaves hold up to 32 records. A full node splits in
 * two halves; a node that falls under a quarter full after a deletion is
 * merged with a neighbour when both fit in one node; an empty node goes;
 * a root with one child gives way to it. An update therefore copies
 * O(depth) nodes of at most 1.3 KiB, and depth is O(log n): 3 levels hold
 * the 65535 regions a client may map.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "vu_memtable.h"

#define NODE_MAX RTE_VFIO_USER_MEM_NODE_MAX
#define LEAF_MAX RTE_VFIO_USER_MEM_LEAF_MAX

typedef struct rte_vfio_user_mem_node inner_t;
typedef struct rte_vfio_user_mem_leaf leaf_t;
typedef struct rte_vfio_user_mem_segment seg_t;

static uint64_t mt_gen;

uint64_t
vu_mt_new_gen(void)
{
	return __atomic_add_fetch(&mt_gen, 1, __ATOMIC_RELAXED);
}

/* ---- pointer lists ---- */

int
vu_mt_ptrs_add(struct vu_mt_ptrs *l, void *p)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap != 0 ? 2 * l->cap : 16;
		void **np = realloc(l->p, cap * sizeof(*np));

		if (np == NULL)
			return -ENOMEM;
		l->p = np;
		l->cap = cap;
	}
	l->p[l->n++] = p;
	return 0;
}

void
vu_mt_ptrs_free(struct vu_mt_ptrs *l)
{
	for (uint32_t i = 0; i < l->n; i++)
		free(l->p[i]);
	free(l->p);
	*l = (struct vu_mt_ptrs){ 0 };
}

/* ---- nodes ---- */

static inline uint32_t
count_of(const void *p, uint32_t lvl)
{
	return lvl > 0 ? ((const inner_t *)p)->n : ((const leaf_t *)p)->n;
}

static inline uint64_t
gen_of(const void *p, uint32_t lvl)
{
	return lvl > 0 ? ((const inner_t *)p)->gen : ((const leaf_t *)p)->gen;
}

/* First IOVA of a non-empty node. */
static inline uint64_t
first_key(const void *p, uint32_t lvl)
{
	return lvl > 0 ? ((const inner_t *)p)->key[0] :
			 ((const leaf_t *)p)->seg[0].iova;
}

/* The last child whose first IOVA is <= iova, or the first child. */
static uint32_t
child_idx(const inner_t *n, uint64_t iova)
{
	uint32_t lo = 1, hi = n->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (n->key[mid] <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* The first record with an IOVA > iova (n if none). */
static uint32_t
leaf_upper(const leaf_t *l, uint64_t iova)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (l->seg[mid].iova <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void *
node_alloc(struct vu_mt_txn *x, uint32_t lvl)
{
	size_t sz = lvl > 0 ? sizeof(inner_t) : sizeof(leaf_t);
	void *p;

	if (x->err != 0)
		return NULL;
	p = aligned_alloc(RTE_CACHE_LINE_SIZE,
			  RTE_ALIGN_CEIL(sz, RTE_CACHE_LINE_SIZE));
	if (p == NULL || vu_mt_ptrs_add(&x->fresh, p) < 0) {
		free(p);
		x->err = -ENOMEM;
		return NULL;
	}
	if (lvl > 0) {
		inner_t *n = p;

		n->n = 0;
		n->reserved = 0;
		n->gen = x->gen;
	} else {
		leaf_t *l = p;

		l->n = 0;
		l->reserved = 0;
		l->gen = x->gen;
	}
	return p;
}

/* p, made changeable in x: itself if x built it, else a copy (p is then
 * replaced: listed in x->old). */
static void *
node_own(struct vu_mt_txn *x, const void *p, uint32_t lvl)
{
	void *q;

	if (x->err != 0)
		return NULL;
	if (gen_of(p, lvl) == x->gen)
		return (void *)(uintptr_t)p;
	q = node_alloc(x, lvl);
	if (q == NULL)
		return NULL;
	if (vu_mt_ptrs_add(&x->old, (void *)(uintptr_t)p) < 0) {
		x->err = -ENOMEM;
		return NULL;
	}
	if (lvl > 0) {
		const inner_t *o = p;
		inner_t *n = q;

		n->n = o->n;
		memcpy(n->key, o->key, o->n * sizeof(o->key[0]));
		memcpy(n->child, o->child, o->n * sizeof(o->child[0]));
	} else {
		const leaf_t *o = p;
		leaf_t *l = q;

		l->n = o->n;
		memcpy(l->seg, o->seg, o->n * sizeof(o->seg[0]));
	}
	return q;
}

/* p is no longer part of the tree being built. */
static void
node_drop(struct vu_mt_txn *x, const void *p, uint32_t lvl)
{
	struct vu_mt_ptrs *l = gen_of(p, lvl) == x->gen ? &x->dead : &x->old;

	if (x->err == 0 && vu_mt_ptrs_add(l, (void *)(uintptr_t)p) < 0)
		x->err = -ENOMEM;
}

/* ---- transactions ---- */

void
vu_mt_txn_begin(struct vu_mt_txn *x, uint64_t gen)
{
	*x = (struct vu_mt_txn){ .gen = gen };
}

void
vu_mt_txn_abort(struct vu_mt_txn *x)
{
	vu_mt_ptrs_free(&x->fresh);
	free(x->old.p);
	free(x->dead.p);
	x->old = x->dead = (struct vu_mt_ptrs){ 0 };
}

int
vu_mt_txn_commit(struct vu_mt_txn *x, struct vu_mt_ptrs *old)
{
	int err = x->err;

	if (err != 0) {
		vu_mt_txn_abort(x);
		return err;
	}
	/* the new version owns its nodes; those it dropped again go now */
	free(x->fresh.p);
	x->fresh = (struct vu_mt_ptrs){ 0 };
	vu_mt_ptrs_free(&x->dead);
	if (old == NULL)
		vu_mt_ptrs_free(&x->old);
	else
		*old = x->old;
	x->old = (struct vu_mt_ptrs){ 0 };
	return 0;
}

void
vu_mt_init(struct vu_mt *t, struct vu_mt_txn *x)
{
	t->root = node_alloc(x, 0);
	t->depth = 0;
	t->count = 0;
}

/* ---- lookups ---- */

const struct rte_vfio_user_mem_segment *
vu_mt_floor(const struct vu_mt *t, uint64_t iova)
{
	const struct rte_vfio_user_mem_table tab = {
		.root = t->root,
		.depth = t->depth,
	};

	return __rte_vfio_user_mem_floor(&tab, iova);
}

const struct rte_vfio_user_mem_segment *
vu_mt_next(const struct vu_mt *t, uint64_t iova)
{
	const void *p = t->root, *right = NULL;
	uint32_t lvl, right_lvl = 0, pos;
	const leaf_t *l;

	for (lvl = t->depth; lvl > 0; lvl--) {
		const inner_t *n = p;
		uint32_t i = child_idx(n, iova);

		/* the nearest subtree on the right, should this one end */
		if (i + 1 < n->n) {
			right = n->child[i + 1];
			right_lvl = lvl - 1;
		}
		p = n->child[i];
	}
	l = p;
	pos = leaf_upper(l, iova);
	if (pos > 0 && iova - l->seg[pos - 1].iova < l->seg[pos - 1].size)
		return &l->seg[pos - 1];
	if (pos < l->n)
		return &l->seg[pos];
	if (right == NULL)
		return NULL;
	for (p = right, lvl = right_lvl; lvl > 0; lvl--)
		p = ((const inner_t *)p)->child[0];
	return &((const leaf_t *)p)->seg[0];
}

const struct rte_vfio_user_mem_segment *
rte_vfio_user_mem_next(const struct rte_vfio_user_mem_table *t, uint64_t iova)
{
	const struct vu_mt mt = { .root = t->root, .depth = t->depth };

	return vu_mt_next(&mt, iova);
}

/* ---- insertion ---- */

/* Insert (key, child) at pos of owned inner node n, splitting it when
 * full: *split gets the right half. */
static void
inner_insert(struct vu_mt_txn *x, inner_t *n, uint32_t lvl, uint32_t pos,
	     uint64_t key, const void *child, void **split)
{
	inner_t *t = n;

	*split = NULL;
	if (n->n == NODE_MAX) {
		inner_t *r = node_alloc(x, lvl);

		if (r == NULL)
			return;
		r->n = NODE_MAX - NODE_MAX / 2;
		memcpy(r->key, n->key + NODE_MAX / 2, r->n * sizeof(r->key[0]));
		memcpy(r->child, n->child + NODE_MAX / 2,
		       r->n * sizeof(r->child[0]));
		n->n = NODE_MAX / 2;
		*split = r;
		if (pos > n->n) {
			t = r;
			pos -= n->n;
		}
	}
	memmove(t->key + pos + 1, t->key + pos,
		(t->n - pos) * sizeof(t->key[0]));
	memmove(t->child + pos + 1, t->child + pos,
		(t->n - pos) * sizeof(t->child[0]));
	t->key[pos] = key;
	t->child[pos] = child;
	t->n++;
}

/* Insert s under p (level lvl); returns the owned new p, and in *split
 * its new right sibling when it had to split. NULL on error. */
static void *
mt_insert(struct vu_mt_txn *x, const void *p, uint32_t lvl, const seg_t *s,
	  void **split)
{
	void *c, *cs;
	uint32_t i;
	inner_t *n;

	*split = NULL;
	if (lvl == 0) {
		leaf_t *l = node_own(x, p, 0), *t;
		uint32_t pos;

		if (l == NULL)
			return NULL;
		t = l;
		pos = leaf_upper(l, s->iova);
		if (l->n == LEAF_MAX) {
			leaf_t *r = node_alloc(x, 0);

			if (r == NULL)
				return NULL;
			r->n = LEAF_MAX - LEAF_MAX / 2;
			memcpy(r->seg, l->seg + LEAF_MAX / 2,
			       r->n * sizeof(r->seg[0]));
			l->n = LEAF_MAX / 2;
			*split = r;
			if (pos > l->n) {
				t = r;
				pos -= l->n;
			}
		}
		memmove(t->seg + pos + 1, t->seg + pos,
			(t->n - pos) * sizeof(t->seg[0]));
		t->seg[pos] = *s;
		t->n++;
		return l;
	}
	n = node_own(x, p, lvl);
	if (n == NULL)
		return NULL;
	i = child_idx(n, s->iova);
	c = mt_insert(x, n->child[i], lvl - 1, s, &cs);
	if (c == NULL)
		return NULL;
	n->child[i] = c;
	n->key[i] = first_key(c, lvl - 1);
	if (cs != NULL)
		inner_insert(x, n, lvl, i + 1, first_key(cs, lvl - 1), cs,
			     split);
	return x->err == 0 ? n : NULL;
}

void
vu_mt_insert(struct vu_mt *t, struct vu_mt_txn *x, const seg_t *s)
{
	void *r, *split;

	if (x->err != 0)
		return;
	r = mt_insert(x, t->root, t->depth, s, &split);
	if (r == NULL)
		return;
	if (split != NULL) {
		inner_t *nr = node_alloc(x, t->depth + 1);

		if (nr == NULL)
			return;
		nr->n = 2;
		nr->key[0] = first_key(r, t->depth);
		nr->child[0] = r;
		nr->key[1] = first_key(split, t->depth);
		nr->child[1] = split;
		r = nr;
		t->depth++;
	}
	t->root = r;
	t->count++;
}

/* ---- deletion ---- */

static void
inner_remove(inner_t *n, uint32_t i)
{
	memmove(n->key + i, n->key + i + 1, (n->n - i - 1) * sizeof(n->key[0]));
	memmove(n->child + i, n->child + i + 1,
		(n->n - i - 1) * sizeof(n->child[0]));
	n->n--;
}

/* Child i of owned n (level lvl + 1) is owned and may be under a quarter
 * full: merge it with a neighbour if both fit in one node. */
static void
merge_maybe(struct vu_mt_txn *x, inner_t *n, uint32_t i, uint32_t lvl)
{
	uint32_t max = lvl > 0 ? NODE_MAX : LEAF_MAX;
	uint32_t cnt = count_of(n->child[i], lvl), a, b, k;
	void *dst;

	if (cnt >= max / 4 || n->n < 2)
		return;
	for (k = 0; k < 2; k++) {	/* the left neighbour first */
		uint32_t j;

		if (k == 0 && i == 0)
			continue;
		j = k == 0 ? i - 1 : i + 1;
		if (j >= n->n || cnt + count_of(n->child[j], lvl) > max)
			continue;
		a = RTE_MIN(i, j);
		b = RTE_MAX(i, j);
		dst = node_own(x, n->child[a], lvl);
		if (dst == NULL)
			return;
		if (lvl > 0) {
			inner_t *d = dst;
			const inner_t *s = n->child[b];

			memcpy(d->key + d->n, s->key, s->n * sizeof(s->key[0]));
			memcpy(d->child + d->n, s->child,
			       s->n * sizeof(s->child[0]));
			d->n += s->n;
		} else {
			leaf_t *d = dst;
			const leaf_t *s = n->child[b];

			memcpy(d->seg + d->n, s->seg, s->n * sizeof(s->seg[0]));
			d->n += s->n;
		}
		node_drop(x, n->child[b], lvl);
		n->child[a] = dst;
		inner_remove(n, b);
		return;
	}
}

/* Remove the record at iova under p (level lvl); returns the owned new p,
 * or NULL when it became empty (p dropped) or on error (x->err). */
static void *
mt_delete(struct vu_mt_txn *x, const void *p, uint32_t lvl, uint64_t iova)
{
	void *c;
	uint32_t i;
	inner_t *n;

	if (lvl == 0) {
		const leaf_t *o = p;
		uint32_t pos = leaf_upper(o, iova) - 1;
		leaf_t *l;

		if (o->n == 1) {
			node_drop(x, p, 0);
			return NULL;
		}
		l = node_own(x, p, 0);
		if (l == NULL)
			return NULL;
		memmove(l->seg + pos, l->seg + pos + 1,
			(l->n - pos - 1) * sizeof(l->seg[0]));
		l->n--;
		return l;
	}
	n = node_own(x, p, lvl);
	if (n == NULL)
		return NULL;
	i = child_idx(n, iova);
	c = mt_delete(x, n->child[i], lvl - 1, iova);
	if (x->err != 0)
		return NULL;
	if (c == NULL) {
		inner_remove(n, i);
		if (n->n == 0) {
			node_drop(x, n, lvl);
			return NULL;
		}
		return n;
	}
	n->child[i] = c;
	n->key[i] = first_key(c, lvl - 1);
	merge_maybe(x, n, i, lvl - 1);
	return x->err == 0 ? n : NULL;
}

void
vu_mt_delete(struct vu_mt *t, struct vu_mt_txn *x, uint64_t iova)
{
	void *r;

	if (x->err != 0)
		return;
	r = mt_delete(x, t->root, t->depth, iova);
	if (x->err != 0)
		return;
	if (r == NULL) {	/* the last record went */
		r = node_alloc(x, 0);
		if (r == NULL)
			return;
		t->depth = 0;
	}
	while (t->depth > 0 && ((inner_t *)r)->n == 1) {
		void *c = (void *)(uintptr_t)((inner_t *)r)->child[0];

		node_drop(x, r, t->depth);
		r = c;
		t->depth--;
	}
	t->root = r;
	t->count--;
}

/* ---- replacement ---- */

void
vu_mt_replace(struct vu_mt *t, struct vu_mt_txn *x, const seg_t *s)
{
	void *root = node_own(x, t->root, t->depth), *p = root;
	uint32_t lvl;
	leaf_t *l;

	if (root == NULL)
		return;
	for (lvl = t->depth; lvl > 0; lvl--) {
		inner_t *n = p;
		uint32_t i = child_idx(n, s->iova);
		void *c = node_own(x, n->child[i], lvl - 1);

		if (c == NULL)
			return;
		n->child[i] = c;
		p = c;
	}
	l = p;
	l->seg[leaf_upper(l, s->iova) - 1] = *s;
	t->root = root;
}

/* ---- whole trees ---- */

static void
mt_drop_all(struct vu_mt_txn *x, const void *p, uint32_t lvl)
{
	if (lvl > 0) {
		const inner_t *n = p;

		for (uint32_t i = 0; i < n->n; i++)
			mt_drop_all(x, n->child[i], lvl - 1);
	}
	node_drop(x, p, lvl);
}

void
vu_mt_clear(struct vu_mt *t, struct vu_mt_txn *x)
{
	void *r;

	if (x->err != 0)
		return;
	mt_drop_all(x, t->root, t->depth);
	r = node_alloc(x, 0);
	if (r == NULL)
		return;
	t->root = r;
	t->depth = 0;
	t->count = 0;
}

static void
mt_free_all(const void *p, uint32_t lvl)
{
	if (lvl > 0) {
		const inner_t *n = p;

		for (uint32_t i = 0; i < n->n; i++)
			mt_free_all(n->child[i], lvl - 1);
	}
	free((void *)(uintptr_t)p);
}

void
vu_mt_destroy(struct vu_mt *t)
{
	if (t->root != NULL)
		mt_free_all(t->root, t->depth);
	*t = (struct vu_mt){ 0 };
}

/* ---- checks (tests) ---- */

/* Check the subtree p; its records in [lo, ...), counted into *count;
 * *last gets the end of its last record. */
static int
mt_check(const void *p, uint32_t lvl, bool root, uint64_t lo, uint64_t *last,
	 uint32_t *count)
{
	if (lvl > 0) {
		const inner_t *n = p;

		if (n->n == 0 || n->n > NODE_MAX || (root && n->n < 2))
			return -EINVAL;
		for (uint32_t i = 0; i < n->n; i++) {
			if ((i > 0 && n->key[i] <= n->key[i - 1]) ||
			    n->key[i] < lo ||
			    n->key[i] != first_key(n->child[i], lvl - 1) ||
			    mt_check(n->child[i], lvl - 1, false, lo, last,
				     count) < 0)
				return -EINVAL;
			lo = *last;
		}
		return 0;
	}
	{
		const leaf_t *l = p;

		if (l->n > LEAF_MAX || (!root && l->n == 0))
			return -EINVAL;
		for (uint32_t i = 0; i < l->n; i++) {
			const seg_t *s = &l->seg[i];

			if (s->size == 0 || s->iova < lo ||
			    s->iova + s->size < s->iova)
				return -EINVAL;
			lo = s->iova + s->size;
			*last = lo;
			(*count)++;
		}
		return 0;
	}
}

int
vu_mt_check(const struct vu_mt *t)
{
	uint64_t last = 0;
	uint32_t count = 0;

	if (t->root == NULL ||
	    mt_check(t->root, t->depth, true, 0, &last, &count) < 0 ||
	    count != t->count)
		return -EINVAL;
	return 0;
}
