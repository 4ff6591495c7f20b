/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * VFIO_USER_VERSION: version and JSON capability negotiation (jansson).
 * The reply carries the same major, min(minor), our limits, and only the
 * optional features the client proposed.
 */

#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "vu_internal.h"

/* Page sizes we accept for DMA maps: 4 KiB granularity. */
#define VU_PGSIZES 4096ULL
/* DMA windows per device. */
#define VU_MAX_DMA_MAPS 65535u

/* The numeric capabilities, in the order of struct vu_caps::proposed's
 * bits: a reply names those the client proposed (the spec: a subset). */
static const char *const num_caps[] = {
	VFIO_USER_CAP_MAX_FDS,
	VFIO_USER_CAP_MAX_XFER,
	VFIO_USER_CAP_MAX_DMA_MAPS,
	VFIO_USER_CAP_PGSIZES,
};

/* A JSON number that is a whole number >= 0 in *out: written as an
 * integer, or with a fraction or an exponent ("8.0", "1e3": JSON has one
 * number type, the spec's capabilities are "number"); false otherwise. */
static bool
json_whole(const json_t *v, uint64_t *out)
{
	double d;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return false;
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	/* (2^64 is exact in a double; the cast back checks the fraction) */
	if (!(d >= 0 && d < 18446744073709551616.0) || (double)(uint64_t)d != d)
		return false;
	*out = (uint64_t)d;
	return true;
}

/* Read an optional number in [min, max] (*out untouched if absent);
 * 0, or -EINVAL if malformed. */
static int
cap_number(json_t *caps, const char *name, uint64_t min, uint64_t max,
	   uint64_t *out)
{
	json_t *v = json_object_get(caps, name);
	uint64_t n;

	if (v == NULL)
		return 0;
	if (!json_whole(v, &n) || n < min || n > max) {
		VU_LOG(ERR, "VERSION: capability %s is not a number in range",
		       name);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

/* Parse the client's capabilities into c->caps; -EINVAL on bad JSON. */
static int
parse_caps(struct vu_conn *c, const char *data, size_t len)
{
	struct vu_caps *caps = &c->caps;
	json_error_t jerr;
	json_t *root, *obj, *v;
	uint64_t n;
	int ret = -EINVAL;

	caps->max_msg_fds = VFIO_USER_DEF_MAX_FDS;
	caps->max_xfer = VFIO_USER_DEF_MAX_XFER;
	caps->max_dma_maps = VFIO_USER_DEF_MAX_DMA_MAPS;
	caps->pgsizes = VFIO_USER_DEF_PGSIZES;
	caps->write_multi = false;
	caps->twin_socket = false;
	caps->migration = false;
	caps->proposed = 0;
	caps->send_fds = 1;
	if (len == 0)
		return 0;
	if (data[len - 1] != '\0' || strlen(data) != len - 1) {
		VU_LOG(ERR, "VERSION: data is not one NUL-terminated string");
		return -EINVAL;
	}
	root = json_loads(data, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		VU_LOG(ERR, "VERSION: bad JSON at %d:%d: %s", jerr.line,
		       jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root))
		goto out;
	obj = json_object_get(root, VFIO_USER_CAP_ROOT);
	if (obj == NULL) {
		ret = 0;
		goto out;
	}
	if (!json_is_object(obj))
		goto out;

	for (unsigned int i = 0; i < RTE_DIM(num_caps); i++)
		if (json_object_get(obj, num_caps[i]) != NULL)
			caps->proposed |= 1u << i;
	if (caps->proposed & 1u)	/* num_caps[0]: named in the reply */
		caps->send_fds = VU_ADVERTISED_MAX_FDS;
	/* maxima larger than we can use are taken as ours: what a client
	 * can do beyond them never comes up. 0 is a valid max_msg_fds: a
	 * client that takes no fds at all (fd passing is optional in the
	 * spec) gets everything in-band */
	n = caps->max_msg_fds;
	if (cap_number(obj, VFIO_USER_CAP_MAX_FDS, 0, INT64_MAX, &n) < 0)
		goto out;
	caps->max_msg_fds = n > VU_MAX_MSG_FDS ? VU_MAX_MSG_FDS : (uint32_t)n;
	n = 0;
	if (cap_number(obj, VFIO_USER_CAP_MAX_XFER, 1, INT64_MAX, &n) < 0)
		goto out;
	if (n)
		caps->max_xfer = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	n = 0;
	if (cap_number(obj, VFIO_USER_CAP_MAX_DMA_MAPS, 1, INT64_MAX, &n) < 0)
		goto out;
	if (n)
		caps->max_dma_maps = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	n = 0;
	if (cap_number(obj, VFIO_USER_CAP_PGSIZES, 1, UINT64_MAX >> 1, &n) < 0)
		goto out;
	if (n)
		caps->pgsizes = n;
	/* a client's pages of 4 KiB or larger are all 4 KiB aligned, which is
	 * what our maps need; only smaller pages alone cannot do */
	if ((caps->pgsizes & ~(VU_PGSIZES - 1)) == 0) {
		VU_LOG(ERR,
		       "VERSION: no DMA page size of 4 KiB or more "
		       "(client 0x%llx)",
		       (unsigned long long)caps->pgsizes);
		goto out;
	}

	v = json_object_get(obj, VFIO_USER_CAP_WRITE_MULTI);
	if (v != NULL) {
		if (!json_is_boolean(v))
			goto out;
		caps->write_multi = json_is_true(v);
	}
	v = json_object_get(obj, VFIO_USER_CAP_TWIN_SOCKET);
	if (v != NULL) {
		json_t *s;

		if (!json_is_object(v))
			goto out;
		s = json_object_get(v, VFIO_USER_CAP_TWIN_SUPPORTED);
		if (s != NULL && !json_is_boolean(s))
			goto out;
		caps->twin_socket = s != NULL && json_is_true(s);
	}
	v = json_object_get(obj, VFIO_USER_CAP_MIGRATION);
	if (v != NULL) {
		/* 0.9.1: the migration region, with dirty bitmaps at our
		 * 4 KiB or at a larger page size of the client's */
		n = VU_PGSIZES;
		if (!json_is_object(v) ||
		    cap_number(v, VFIO_USER_CAP_MIG_PGSIZE, 1, UINT64_MAX >> 1,
			       &n) < 0)
			goto out;
		caps->migration = vu_mig_supported(c->dev) && n >= VU_PGSIZES &&
				  (n & (n - 1)) == 0;
	}
	ret = 0;
out:
	if (ret < 0)
		VU_LOG(ERR, "VERSION: malformed capabilities");
	json_decref(root);
	return ret;
}

/* Build the reply's JSON into buf; returns its length with NUL or -errno. */
static int
build_caps(const struct vu_conn *c, char *buf, size_t size)
{
	/* ours, in num_caps[]'s order */
	const json_int_t ours[RTE_DIM(num_caps)] = {
		VU_ADVERTISED_MAX_FDS,
		VU_MAX_XFER,
		c->caps.max_dma_maps,
		VU_PGSIZES,
	};
	json_t *root, *caps;
	size_t len;
	int ret = -ENOMEM;

	root = json_object();
	caps = json_object();
	if (root == NULL || caps == NULL) {
		json_decref(caps);
		goto out;
	}
	if (json_object_set_new(root, VFIO_USER_CAP_ROOT, caps) < 0)
		goto out;
	/* only what the client proposed; for the others both sides take
	 * the spec's defaults, which are ours but for max_msg_fds (1: the
	 * client then sends fewer fds at a time) */
	for (unsigned int i = 0; i < RTE_DIM(num_caps); i++)
		if ((c->caps.proposed & (1u << i)) &&
		    json_object_set_new(caps, num_caps[i],
					json_integer(ours[i])) < 0)
			goto out;
	if (c->caps.write_multi &&
	    json_object_set_new(caps, VFIO_USER_CAP_WRITE_MULTI,
				json_true()) < 0)
		goto out;
	if (c->caps.migration) {
		json_t *mig = json_pack("{s:I}", VFIO_USER_CAP_MIG_PGSIZE,
					(json_int_t)VU_PGSIZES);

		if (mig == NULL ||
		    json_object_set_new(caps, VFIO_USER_CAP_MIGRATION, mig) < 0)
			goto out;
	}
	if (c->caps.twin_socket) {
		json_t *twin = json_pack("{s:b, s:i}",
					 VFIO_USER_CAP_TWIN_SUPPORTED, 1,
					 VFIO_USER_CAP_TWIN_FD_INDEX, 0);

		if (twin == NULL || json_object_set_new(caps,
				VFIO_USER_CAP_TWIN_SOCKET, twin) < 0)
			goto out;
	}
	len = json_dumpb(root, buf, size - 1, JSON_COMPACT);
	if (len == 0 || len >= size)
		goto out;
	buf[len] = '\0';
	ret = (int)len + 1;
out:
	json_decref(root);
	return ret;
}

int
vu_handle_version(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_version *req = (const void *)m->payload;
	struct vfio_user_version *rep = (void *)c->reply;
	int ret;

	if (req->major != VFIO_USER_MAJOR_VER) {
		VU_LOG(ERR, "%s: client speaks major version %u, we speak %u",
		       c->dev->path, req->major, VFIO_USER_MAJOR_VER);
		return -ENOTSUP;
	}
	ret = parse_caps(c, (const char *)req->data, m->size - sizeof(*req));
	if (ret < 0)
		return ret;
	if (c->caps.max_dma_maps > VU_MAX_DMA_MAPS)
		c->caps.max_dma_maps = VU_MAX_DMA_MAPS;
	c->caps.pgsizes = VU_PGSIZES;
	c->caps.minor = req->minor < VFIO_USER_MINOR_VER ?
		req->minor : VFIO_USER_MINOR_VER;
	/* the twin socket would go to the client as an fd, in a reply: none
	 * without fds, or when the client wants no reply (No_reply: it goes
	 * by the spec's defaults and ours, the capabilities it proposed; it
	 * never saw our max_msg_fds, so it sends one fd a message) */
	if (c->caps.max_msg_fds == 0 || (m->hdr->flags & VFIO_USER_F_NO_REPLY))
		c->caps.twin_socket = false;
	if (m->hdr->flags & VFIO_USER_F_NO_REPLY)
		c->caps.send_fds = 1;
	/* twin socket: our DMA_READ/WRITE and their replies get a socket of
	 * their own, so they work from any thread, the event thread too */
	if (c->caps.twin_socket) {
		int client_end;

		ret = vu_dma_twin_setup(c, &client_end);
		if (ret < 0)
			return ret;
		r->fds[r->nfds++] = client_end;
		r->owned_fds[r->nowned++] = client_end;
	}

	rep->major = VFIO_USER_MAJOR_VER;
	rep->minor = c->caps.minor;
	ret = build_caps(c, rep->data, VU_MAX_PAYLOAD - sizeof(*rep));
	if (ret < 0) {
		vu_dma_twin_close(c);	/* its client end goes with the reply */
		return ret;
	}
	r->size = sizeof(*rep) + (uint32_t)ret;
	/* release: telemetry reads caps once it sees negotiated */
	__atomic_store_n(&c->negotiated, true, __ATOMIC_RELEASE);
	VU_LOG(INFO, "%s: negotiated version %u.%u, client max_xfer %u, fds %u",
	       c->dev->path, rep->major, rep->minor, c->caps.max_xfer,
	       c->caps.max_msg_fds);
	return 0;
}
