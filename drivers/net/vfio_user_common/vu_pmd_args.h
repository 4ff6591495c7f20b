/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_PMD_ARGS_H
#define VU_PMD_ARGS_H

/*
 * Devargs of both PMDs: the parse (unknown and repeated keys refused,
 * said by name), then rte_kvargs_process() handlers for the kinds of
 * value they take. Each handler returns 0, or -1 for a value it refuses
 * (the caller says which key, the value and what it wants).
 */

#include <stdbool.h>
#include <stddef.h>

#include <rte_kvargs.h>

/*
 * Parse devargs params of device name: NULL (and said in the log) for
 * text that does not parse, a key not in valid (NULL-terminated), or a
 * key given twice. Free with rte_kvargs_free().
 */
struct rte_kvargs *vu_pmd_kvargs(const char *name, const char *params,
				 const char *const valid[]);

/* The value of key in kv as given (for messages), or "". */
const char *vu_pmd_kv(const struct rte_kvargs *kv, const char *key);

/* A string (a socket path): not empty, shorter than size. */
struct vu_pmd_arg_str {
	char *buf;
	size_t size;
};

/* A decimal number in [min, max]; value is left alone if the key is
 * absent. */
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

/* A 0/1 devarg and where its value goes. */
struct vu_pmd_bool_arg {
	const char *key;
	bool *v;
};

/* Parse the 0/1 devargs of tab (n of them) that kv has. NULL, or the
 * first key given a bad value, that value in *bad (for the message). */
const char *vu_pmd_args_bools(struct rte_kvargs *kv,
			      const struct vu_pmd_bool_arg *tab, unsigned int n,
			      const char **bad);

#endif /* VU_PMD_ARGS_H */
