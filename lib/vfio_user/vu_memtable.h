/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_MEMTABLE_H
#define VU_MEMTABLE_H

/*
 * Persistent B+trees of segment records keyed by IOVA (the layout of
 * struct rte_vfio_user_mem_table, rte_vfio_user.h), updated by path
 * copying: an update never changes a node a reader may see; it copies the
 * nodes on the path it changes (a few KiB, whatever the tree holds) and
 * shares the rest with the previous version. Readers need no lock: they
 * use a version until their next quiescent state.
 *
 * An update is a transaction (struct vu_mt_txn): nodes it allocated carry
 * its number (gen) and are changed in place by its later steps; nodes of
 * earlier versions are copied once and listed as replaced. A transaction
 * that ran out of memory is aborted as a whole (vu_mt_txn_abort()): the
 * trees it started from are untouched. A committed transaction hands its
 * replaced nodes to the caller, to be freed when no reader can see them
 * any more (at once for a tree only the control path reads).
 */

#include <stdbool.h>
#include <stdint.h>

#include "rte_vfio_user.h"

/* A version of a tree. */
struct vu_mt {
	const void *root;	/* inner node, or leaf when depth is 0 */
	uint32_t depth;
	uint32_t count;		/* records */
};

/* Pointers collected by a transaction. */
struct vu_mt_ptrs {
	void **p;
	uint32_t n;
	uint32_t cap;
};

struct vu_mt_txn {
	uint64_t gen;		/* nodes with this gen are ours to change */
	int err;		/* sticky: -ENOMEM */
	struct vu_mt_ptrs fresh;	/* allocated by this transaction */
	struct vu_mt_ptrs dead;		/* of those, dropped again */
	struct vu_mt_ptrs old;		/* of earlier versions, replaced */
};

/* A new, unique, non-zero version number (tables and transactions). */
uint64_t vu_mt_new_gen(void);

/* An empty tree (one empty leaf) built in x. */
void vu_mt_init(struct vu_mt *t, struct vu_mt_txn *x);

void vu_mt_txn_begin(struct vu_mt_txn *x, uint64_t gen);
/* Free every node x allocated, keep the old ones: the trees are as before
 * x began (the caller restores its struct vu_mt copies). */
void vu_mt_txn_abort(struct vu_mt_txn *x);
/*
 * Commit: free the nodes x allocated and dropped again; the list of the
 * replaced old nodes (and whatever else the caller added to x->old) moves
 * to *old, empty before, to be freed with vu_mt_ptrs_free() when readers
 * let go; with old NULL they are freed at once. Returns 0, or x->err (then
 * x was aborted). Cannot fail otherwise.
 */
int vu_mt_txn_commit(struct vu_mt_txn *x, struct vu_mt_ptrs *old);

/* Add a pointer to a list (0, or -ENOMEM). */
int vu_mt_ptrs_add(struct vu_mt_ptrs *l, void *p);
/* free() every pointer of a list and the list. */
void vu_mt_ptrs_free(struct vu_mt_ptrs *l);

/* The record with the largest IOVA <= iova, or NULL. */
const struct rte_vfio_user_mem_segment *vu_mt_floor(const struct vu_mt *t,
						    uint64_t iova);
/* The record holding iova, or else the first above it, or NULL. */
const struct rte_vfio_user_mem_segment *vu_mt_next(const struct vu_mt *t,
						   uint64_t iova);

/*
 * Changes; each in x, a no-op once x->err is set. The caller guarantees
 * the preconditions (the record is there, or is not).
 */
void vu_mt_insert(struct vu_mt *t, struct vu_mt_txn *x,
		  const struct rte_vfio_user_mem_segment *s);
void vu_mt_delete(struct vu_mt *t, struct vu_mt_txn *x, uint64_t iova);
/* Replace the record at s->iova. */
void vu_mt_replace(struct vu_mt *t, struct vu_mt_txn *x,
		   const struct rte_vfio_user_mem_segment *s);
/* Drop every record: the tree becomes empty, its nodes replaced. */
void vu_mt_clear(struct vu_mt *t, struct vu_mt_txn *x);

/* Free every node of a tree nobody reads any more (no transaction). */
void vu_mt_destroy(struct vu_mt *t);

/* Check the tree's invariants (tests): 0, or -EINVAL. */
int vu_mt_check(const struct vu_mt *t);

#endif /* VU_MEMTABLE_H */
