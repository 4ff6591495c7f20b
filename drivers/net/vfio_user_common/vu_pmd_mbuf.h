/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_PMD_MBUF_H
#define VU_PMD_MBUF_H

/*
 * mbuf and cache-line helpers both PMDs' bursts use (fast path: inline).
 */

#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

/*
 * Prefetch a cache line we are about to write, in exclusive state (x86
 * PREFETCHW: a NOP on CPUs without it): a line the other side last had
 * comes over once, not shared first and then again for ownership.
 */
static __rte_always_inline void
vu_pmd_prefetch_w(const void *p)
{
#ifdef RTE_ARCH_X86
	asm volatile("prefetchw %0" : : "m"(*(const volatile char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

/*
 * Free transmitted (or received and dropped) mbufs. The usual ones
 * (direct, not shared, one segment, one pool) go back with one mempool
 * put; anything else through rte_pktmbuf_free_bulk().
 */
static __rte_always_inline void
vu_pmd_free_pkts(struct rte_mbuf **pkts, unsigned int n)
{
	struct rte_mempool *mp;
	unsigned int i;

	if (n == 0)
		return;
	mp = pkts[0]->pool;
	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];

		if (unlikely(m->pool != mp || m->nb_segs != 1 ||
			     rte_mbuf_refcnt_read(m) != 1 ||
			     !RTE_MBUF_DIRECT(m)))
			break;
	}
	if (likely(i == n))
		rte_mempool_put_bulk(mp, (void **)pkts, n);
	else
		rte_pktmbuf_free_bulk(pkts, n);
}

/*
 * Fresh receive mbufs without rte_pktmbuf_alloc_bulk()'s full reset: a
 * raw mbuf from its pool already has refcnt 1, one segment and no next
 * (the pool's invariant); what a received packet needs is rewritten with
 * a few wide stores, as NIC PMDs do on rearm.
 */
static __rte_always_inline uint64_t
vu_pmd_mbuf_rearm_word(const struct rte_mbuf *like, uint16_t port)
{
	struct {
		uint16_t data_off, refcnt, nb_segs, port;
	} w = { RTE_MIN((uint16_t)RTE_PKTMBUF_HEADROOM, like->buf_len), 1, 1,
		port };
	uint64_t v;

	RTE_BUILD_BUG_ON(offsetof(struct rte_mbuf, refcnt) -
					 offsetof(struct rte_mbuf, data_off) !=
				 2 ||
			 offsetof(struct rte_mbuf, port) -
					 offsetof(struct rte_mbuf, data_off) !=
				 6);
	memcpy(&v, &w, sizeof(v));
	return v;
}

static __rte_always_inline void
vu_pmd_mbuf_rx_init(struct rte_mbuf *m, uint64_t rearm, uint32_t len)
{
	memcpy(&m->rearm_data, &rearm, sizeof(rearm));
	m->ol_flags &= RTE_MBUF_F_EXTERNAL;
	m->packet_type = 0;
	m->pkt_len = len;
	m->data_len = (uint16_t)len;
	m->vlan_tci = 0;
	m->vlan_tci_outer = 0;
}

#endif /* VU_PMD_MBUF_H */
