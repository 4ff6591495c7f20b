/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The writer's side of the fence-less QSBR entry (rte_vfio_user_qsbr.h):
 * private expedited membarrier, registered once per process.
 */

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_log.h>

#include "rte_vfio_user_qsbr.h"
#include "vu_log.h"

static pthread_once_t qsbr_once = PTHREAD_ONCE_INIT;
static int qsbr_light;

static long
membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static void
qsbr_init(void)
{
	long cmds = membarrier(MEMBARRIER_CMD_QUERY);

	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) {
		VU_LOG(INFO,
		       "no private expedited membarrier: data paths go online in QSBR with a fence");
		return;
	}
	__atomic_store_n(&qsbr_light, 1, __ATOMIC_RELEASE);
}

int
rte_vfio_user_qsbr_light(void)
{
	pthread_once(&qsbr_once, qsbr_init);
	return __atomic_load_n(&qsbr_light, __ATOMIC_ACQUIRE);
}

void
rte_vfio_user_qsbr_barrier(void)
{
	if (rte_vfio_user_qsbr_light())
		membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}
