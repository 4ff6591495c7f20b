/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_TEST_MEM_REGION_H
#define VU_TEST_MEM_REGION_H

/*
 * The work of a test device's region access callback when the region is
 * plain memory: the bytes copied in or out, bounds checked.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Copy count bytes at offset of mem (size bytes) to or from buf: count,
 * or -EINVAL when the range is not inside mem. */
ssize_t tc_mem_access(uint8_t *mem, size_t size, char *buf, size_t count,
		      uint64_t offset, bool is_write);

#endif /* VU_TEST_MEM_REGION_H */
