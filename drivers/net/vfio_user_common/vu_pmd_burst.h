/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_PMD_BURST_H
#define VU_PMD_BURST_H

/*
 * Entering and leaving a burst, for both PMDs: the data path is online in
 * the device's QSBR variable while it touches a queue, so the control path
 * (a queue withdrawn, a memory table replaced) can wait for it to pass a
 * quiescent state before freeing what it used.
 *
 * VU_PMD_BURST_DEFINE(T) defines, for a queue type T with a 'ready' word
 * (atomic: the queue is usable) and a 'dev' pointer to a device whose
 * 'qsbr' is its QSBR variable and 'qsbr_light' says whether the bursts
 * may go online without a fence (rte_vfio_user_qsbr.h: every writer of
 * that variable calls rte_vfio_user_qsbr_barrier() before it checks):
 *
 *   static bool vu_pmd_online(T *vq, unsigned int *lcore);
 *	online for a burst on vq's device; false if the caller is no EAL
 *	thread (it cannot be protected): the burst does nothing then;
 *   static bool vu_pmd_burst_enter(T *vq, unsigned int *lcore);
 *	vu_pmd_online(), then false (and offline) if the queue is not ready;
 *   static void vu_pmd_burst_leave(T *vq, unsigned int lcore);
 *	offline again, after a burst vu_pmd_burst_enter() let in.
 *
 * Typed functions (not one taking the QSBR pointer): they are in the fast
 * path, inlined, and read vq->dev->qsbr only where it is used, as a
 * hand-written burst would. A QSBR pointer passed as an argument is read
 * before the lcore check, and held across the whole burst: about 3 more
 * instructions a burst in devtools/ring-bench.sh.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>
#include <rte_vfio_user_qsbr.h>

#define VU_PMD_BURST_DEFINE(T)                                                 \
	static __rte_always_inline bool vu_pmd_online(T *vq,                   \
						      unsigned int *lcore)     \
	{                                                                      \
		*lcore = rte_lcore_id();                                       \
		if (unlikely(*lcore >= RTE_MAX_LCORE))                         \
			return false;                                          \
		if (likely(vq->dev->qsbr_light))                               \
			rte_vfio_user_qsbr_online_light(vq->dev->qsbr,         \
							*lcore);               \
		else                                                           \
			rte_rcu_qsbr_thread_online(vq->dev->qsbr, *lcore);     \
		return true;                                                   \
	}                                                                      \
	static __rte_always_inline bool                                        \
	vu_pmd_burst_enter(T *vq, unsigned int *lcore)                         \
	{                                                                      \
		if (unlikely(!vu_pmd_online(vq, lcore)))                       \
			return false;                                          \
		if (unlikely(                                                  \
			    !__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))) { \
			rte_rcu_qsbr_thread_offline(vq->dev->qsbr, *lcore);    \
			return false;                                          \
		}                                                              \
		return true;                                                   \
	}                                                                      \
	static __rte_always_inline void vu_pmd_burst_leave(T *vq,              \
							   unsigned int lcore) \
	{                                                                      \
		rte_rcu_qsbr_thread_offline(vq->dev->qsbr, lcore);             \
	}

#endif /* VU_PMD_BURST_H */
