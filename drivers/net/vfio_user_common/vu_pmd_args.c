/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/* Devargs value parsers both PMDs hand to rte_kvargs_process(). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_log.h>

#include "vu_pmd_args.h"

static bool
key_valid(const char *key, const char *const valid[])
{
	for (unsigned int i = 0; valid[i] != NULL; i++)
		if (strcmp(key, valid[i]) == 0)
			return true;
	return false;
}

/* "a, b, c" of the valid keys, for messages. */
static void
keys_list(const char *const valid[], char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; valid[i] != NULL && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
				      valid[i]);
}

struct rte_kvargs *
vu_pmd_kvargs(const char *name, const char *params, const char *const valid[])
{
	struct rte_kvargs *kv = rte_kvargs_parse(params ? params : "", NULL);
	char keys[256];

	keys_list(valid, keys, sizeof(keys));
	if (kv == NULL) {
		RTE_LOG(ERR, PMD,
			"%s: devargs '%s' do not parse as "
			"key=value,... (keys: %s)\n",
			name, params ? params : "", keys);
		return NULL;
	}
	for (unsigned int i = 0; i < kv->count; i++) {
		const char *key = kv->pairs[i].key;

		if (!key_valid(key, valid)) {
			RTE_LOG(ERR, PMD,
				"%s: unknown devarg '%s' (keys: %s)\n", name,
				key, keys);
			goto bad;
		}
		if (kv->pairs[i].value == NULL) {	/* "key" alone */
			RTE_LOG(ERR, PMD, "%s: devarg '%s' needs a value\n",
				name, key);
			goto bad;
		}
		if (rte_kvargs_count(kv, key) > 1) {
			RTE_LOG(ERR, PMD,
				"%s: devarg '%s' given more than "
				"once\n",
				name, key);
			goto bad;
		}
	}
	return kv;
bad:
	rte_kvargs_free(kv);
	return NULL;
}

const char *
vu_pmd_kv(const struct rte_kvargs *kv, const char *key)
{
	const char *v = rte_kvargs_get(kv, key);

	return v != NULL ? v : "";
}

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
	/* decimal: 08 is eight, not a bad octal number */
	if (val[0] == '-' ||
	    vu_pmd_parse_ulong(val, 10, u->min, u->max, &v) < 0)
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

struct bool_ctx {
	bool *v;
	const char *bad;
};

static int
arg_bool_kept(const char *key, const char *val, void *opaque)
{
	struct bool_ctx *c = opaque;

	if (vu_pmd_arg_bool(key, val, c->v) < 0) {
		c->bad = val;
		return -1;
	}
	return 0;
}

const char *
vu_pmd_args_bools(struct rte_kvargs *kv, const struct vu_pmd_bool_arg *tab,
		  unsigned int n, const char **bad)
{
	for (unsigned int i = 0; i < n; i++) {
		struct bool_ctx c = { tab[i].v, NULL };

		if (rte_kvargs_process(kv, tab[i].key, arg_bool_kept, &c) < 0) {
			*bad = c.bad != NULL ? c.bad : "";
			return tab[i].key;
		}
	}
	return NULL;
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
