/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/* Statistics and per-queue xstats tables of both PMDs. */

#include <stdio.h>
#include <string.h>

#include "vu_pmd_stats.h"

void
vu_pmd_stats_add(struct rte_eth_stats *s, uint16_t q,
		 const struct vu_pmd_pair_stats *p)
{
	s->ipackets += p->ipackets;
	s->ibytes += p->ibytes;
	s->imissed += p->imissed;
	s->ierrors += p->ierrors;
	s->rx_nombuf += p->rx_nombuf;
	s->opackets += p->opackets;
	s->obytes += p->obytes;
	s->oerrors += p->oerrors;
	if (q < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
		s->q_ipackets[q] = p->ipackets;
		s->q_ibytes[q] = p->ibytes;
		s->q_opackets[q] = p->opackets;
		s->q_obytes[q] = p->obytes;
		s->q_errors[q] = p->q_errors;
	}
}

void
vu_pmd_stats_clear(void *st, size_t stride, size_t size, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		memset((uint8_t *)st + i * stride, 0, size);
}

unsigned int
vu_pmd_xstats_names(struct rte_eth_xstat_name *names, const char *dir,
		    uint16_t nq, const struct vu_pmd_xstat *tab,
		    unsigned int ntab)
{
	unsigned int n = 0;

	if (nq == 0) {
		for (unsigned int k = 0; k < ntab; k++)
			snprintf(names[n++].name, sizeof(names[0].name),
				 "%s_%s", dir, tab[k].name);
		return n;
	}
	for (uint16_t q = 0; q < nq; q++)
		for (unsigned int k = 0; k < ntab; k++)
			snprintf(names[n++].name, sizeof(names[0].name),
				 "%s_q%u_%s", dir, q, tab[k].name);
	return n;
}

unsigned int
vu_pmd_xstats_values(struct rte_eth_xstat *xs, unsigned int id, const void *st,
		     size_t stride, uint16_t nq, const struct vu_pmd_xstat *tab,
		     unsigned int ntab)
{
	unsigned int n = 0;

	for (uint16_t q = 0; q < (nq ? nq : 1); q++) {
		const uint8_t *s = (const uint8_t *)st + q * stride;

		for (unsigned int k = 0; k < ntab; k++, n++) {
			xs[n].id = id + n;
			xs[n].value = *(const uint64_t *)(s + tab[k].off);
		}
	}
	return n;
}
