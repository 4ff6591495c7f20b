/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/* Devargs value parsers both PMDs hand to rte_kvargs_process(). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ether.h>

#include "vu_pmd_args.h"

int
vu_pmd_parse_ulong(const char *val, int base, unsigned long min,
		   unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(val, &end, base);
	return (errno || end == val || *end != '\0' || *v < min || *v > max) ?
		       -1 :
		       0;
}

int
vu_pmd_arg_str(const char *key, const char *val, void *opaque)
{
	const struct vu_pmd_arg_str *s = opaque;

	RTE_SET_USED(key);
	if (val[0] == '\0' || strlen(val) >= s->size)
		return -1;
	strcpy(s->buf, val);
	return 0;
}

int
vu_pmd_arg_uint(const char *key, const char *val, void *opaque)
{
	struct vu_pmd_arg_uint *u = opaque;
	unsigned long v;

	RTE_SET_USED(key);
	if (vu_pmd_parse_ulong(val, 0, u->min, u->max, &v) < 0)
		return -1;
	u->value = v;
	return 0;
}

int
vu_pmd_arg_bool(const char *key, const char *val, void *opaque)
{
	RTE_SET_USED(key);
	if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
		return -1;
	*(bool *)opaque = val[0] == '1';
	return 0;
}

int
vu_pmd_arg_mac(const char *key, const char *val, void *opaque)
{
	struct rte_ether_addr *mac = opaque;

	RTE_SET_USED(key);
	if (rte_ether_unformat_addr(val, mac) < 0 ||
	    !rte_is_valid_assigned_ether_addr(mac))
		return -1;
	return 0;
}
