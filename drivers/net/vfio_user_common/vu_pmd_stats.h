/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_PMD_STATS_H
#define VU_PMD_STATS_H

/*
 * Statistics of both PMDs. Each keeps its own counters per virtqueue, in
 * a structure of uint64_t; what rte_eth_stats and the xstats make of
 * them is here.
 */

#include <stddef.h>
#include <stdint.h>

#include <rte_ethdev.h>

/*
 * What one queue pair adds to rte_eth_stats: to the totals, and to the
 * per-queue counters for the first RTE_ETHDEV_QUEUE_STAT_CNTRS pairs.
 */
struct vu_pmd_pair_stats {
	uint64_t ipackets, ibytes, imissed, ierrors, rx_nombuf;
	uint64_t opackets, obytes, oerrors;
	uint64_t q_errors;
};

void vu_pmd_stats_add(struct rte_eth_stats *s, uint16_t q,
		      const struct vu_pmd_pair_stats *p);

/* Zero n counter structures of size bytes, at st, st + stride, ... */
void vu_pmd_stats_clear(void *st, size_t stride, size_t size, unsigned int n);

/*
 * Extended statistics per queue, from a table of the uint64_t counters in
 * a queue's statistics structure: names "<dir>_q<queue>_<counter>",
 * values read at the table's offsets. Each PMD keeps its own table.
 */
struct vu_pmd_xstat {
	const char *name;
	size_t off;		/* of a uint64_t in the statistics structure */
};

#define VU_PMD_XSTAT(type, field, xname)                      \
	{                                                     \
		.name = (xname), .off = offsetof(type, field) \
	}

/*
 * Write the names of nq queues' counters, "<dir>_q<q>_<name>" (nq == 0:
 * one set named "<dir>_<name>"), to names; returns how many.
 */
unsigned int vu_pmd_xstats_names(struct rte_eth_xstat_name *names,
				 const char *dir, uint16_t nq,
				 const struct vu_pmd_xstat *tab,
				 unsigned int ntab);

/*
 * Write the values of nq queues' counters, queue q's statistics
 * structure at st + q * stride, to xs with ids from id; returns how
 * many (nq == 0 is one set, as for the names).
 */
unsigned int vu_pmd_xstats_values(struct rte_eth_xstat *xs, unsigned int id,
				  const void *st, size_t stride, uint16_t nq,
				  const struct vu_pmd_xstat *tab,
				  unsigned int ntab);

#endif /* VU_PMD_STATS_H */
