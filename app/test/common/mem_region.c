/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <errno.h>
#include <string.h>

#include "mem_region.h"

ssize_t
tc_mem_access(uint8_t *mem, size_t size, char *buf, size_t count,
	      uint64_t offset, bool is_write)
{
	if (offset > size || count > size - offset)
		return -EINVAL;
	if (is_write)
		memcpy(mem + offset, buf, count);
	else
		memcpy(buf, mem + offset, count);
	return (ssize_t)count;
}
