/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef RTE_VFIO_USER_QSBR_H
#define RTE_VFIO_USER_QSBR_H

/**
 * @file
 * RTE vfio-user QSBR entry without a fence on the data path.
 *
 * rte_rcu_qsbr_thread_online() ends with a full fence: a reader's later
 * loads of shared state must not pass its store of the counter, or a
 * writer could see it offline while it reads what the writer is about to
 * free. On x86 that fence waits for every store the thread still has in
 * flight, and a data path's stores (descriptors, packet headers) are
 * often waiting for cache lines another CPU holds: the fence then costs
 * a cross-CPU transfer at every burst.
 *
 * The same ordering can be had the other way round, as liburcu's "memb"
 * flavour does: readers go online with a plain store
 * (rte_vfio_user_qsbr_online_light()), and every writer of a QSBR
 * variable that such readers use calls rte_vfio_user_qsbr_barrier()
 * after it published its change (a pointer replaced, a queue marked not
 * ready) and before it checks the readers' counters
 * (rte_rcu_qsbr_check(), rte_rcu_qsbr_synchronize()). That barrier is
 * Linux's membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED): every thread of
 * the process that is running executes a full fence before it returns,
 * so a reader's counter store is visible by then, or the reader loads
 * only after the change was published.
 *
 * The library calls the barrier before all of its own waits (DMA unmap,
 * IRQ eventfd replacement, freeing replaced memory-table nodes), so a
 * device model's data path may use rte_vfio_user_qsbr_online_light() on
 * the device's QSBR variable (rte_vfio_user_get_qsbr()) whenever
 * rte_vfio_user_qsbr_light() says so. Readers that use
 * rte_rcu_qsbr_thread_online() stay correct as well. Without membarrier
 * (an old kernel, a seccomp filter) the barrier does nothing and
 * rte_vfio_user_qsbr_light() returns 0: readers must then use the fenced
 * rte_rcu_qsbr_thread_online().
 */

#include <stdint.h>

#include <rte_atomic.h>
#include <rte_compat.h>
#include <rte_rcu_qsbr.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Whether readers may go online with rte_vfio_user_qsbr_online_light().
 *
 * The first call (of this or of rte_vfio_user_qsbr_barrier()) registers
 * the process for private expedited membarrier; later calls return the
 * same answer.
 *
 * @return
 *   1 when rte_vfio_user_qsbr_barrier() is an asymmetric full fence, 0
 *   when it is not available (use rte_rcu_qsbr_thread_online()).
 */
__rte_experimental int rte_vfio_user_qsbr_light(void);

/**
 * Writer side of the light QSBR entry: a full fence on every running
 * thread of the process. Call it after publishing a change and before
 * checking the counters of a QSBR variable whose readers may use
 * rte_vfio_user_qsbr_online_light(). It costs a system call and an
 * inter-processor interrupt per CPU running a thread of the process
 * (about 2 us measured on a 2-CPU virtual machine); it does nothing when
 * rte_vfio_user_qsbr_light() returns 0.
 */
__rte_experimental void rte_vfio_user_qsbr_barrier(void);

/**
 * rte_rcu_qsbr_thread_online() without its fence, for a thread whose
 * writers call rte_vfio_user_qsbr_barrier() before checking (see the
 * file's description). Only when rte_vfio_user_qsbr_light() returned 1.
 * Go offline with rte_rcu_qsbr_thread_offline(), as usual.
 *
 * @param v
 *   QSBR variable.
 * @param thread_id
 *   Reader thread id, registered with rte_rcu_qsbr_thread_register().
 */
static inline void
rte_vfio_user_qsbr_online_light(struct rte_rcu_qsbr *v, unsigned int thread_id)
{
	uint64_t t = __atomic_load_n(&v->token, __ATOMIC_RELAXED);

	__atomic_store_n(&v->qsbr_cnt[thread_id].cnt, t, __ATOMIC_RELAXED);
	/* the compiler must not move the reader's loads above the store;
	 * the CPU may, which the writer's barrier makes up for */
	rte_compiler_barrier();
}

#ifdef __cplusplus
}
#endif

#endif /* RTE_VFIO_USER_QSBR_H */
