/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_LOG_H
#define VU_LOG_H

#include <rte_log.h>

extern int vfio_user_logtype;

#define VU_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, vfio_user_logtype, \
		"VFIO_USER: " fmt "\n", ##__VA_ARGS__)

#endif /* VU_LOG_H */
