/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_PMD_ARGS_H
#define VU_PMD_ARGS_H

/*
 * Devargs of both PMDs: rte_kvargs_process() handlers for the kinds of
 * value they take. Each returns 0, or -1 for a value it refuses (the
 * caller says which key, and what it wants). A key given more than once
 * is checked each time; the last one stands.
 */

#include <stdbool.h>
#include <stddef.h>

/* A string (a socket path): not empty, shorter than size. */
struct vu_pmd_arg_str {
	char *buf;
	size_t size;
};

/* A whole number in [min, max]; value is left alone if the key is absent. */
struct vu_pmd_arg_uint {
	unsigned long min;
	unsigned long max;
	unsigned long value;
};

/* Parse all of val as a number of that base (0: C's 0x / 0 prefixes). */
int vu_pmd_parse_ulong(const char *val, int base, unsigned long min,
		       unsigned long max, unsigned long *v);

/* opaque: struct vu_pmd_arg_str * */
int vu_pmd_arg_str(const char *key, const char *val, void *opaque);
/* opaque: struct vu_pmd_arg_uint * */
int vu_pmd_arg_uint(const char *key, const char *val, void *opaque);
/* opaque: bool *; "0" or "1" */
int vu_pmd_arg_bool(const char *key, const char *val, void *opaque);
/* opaque: struct rte_ether_addr *; a unicast xx:xx:xx:xx:xx:xx */
int vu_pmd_arg_mac(const char *key, const char *val, void *opaque);

#endif /* VU_PMD_ARGS_H */
