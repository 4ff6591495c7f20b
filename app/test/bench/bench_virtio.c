/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/* The benchmarks' minimal VIRTIO 1.x driver (see bench_virtio.h). */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bench_virtio.h"

int
bv_region_rw(struct rc *c, uint32_t region, uint64_t off, void *buf,
	     uint32_t count, bool write)
{
	uint8_t req[sizeof(struct vfio_user_region_access) + 8];
	struct vfio_user_region_access *a = (void *)req;
	struct rc_reply r;
	int ret;

	if (count > 8)
		return -EINVAL;
	a->offset = off;
	a->region = region;
	a->count = count;
	if (write)
		memcpy(a->data, buf, count);
	ret = rc_call(c, write ? VFIO_USER_REGION_WRITE : VFIO_USER_REGION_READ,
		      req, (uint32_t)(sizeof(*a) + (write ? count : 0)), NULL,
		      0, &r);
	if (ret == 0 && !write) {
		if (r.size != sizeof(*a) + count)
			ret = -EPROTO;
		else
			memcpy(buf, r.payload + sizeof(*a), count);
	}
	rc_reply_free(&r);
	return ret;
}

/* The virtio common configuration: BAR and offset from the vendor
 * capability of type VIRTIO_PCI_CAP_COMMON_CFG (1). */
struct virtio {
	struct rc *c;
	uint32_t bar;
	uint64_t common;
	int err;
};

static void
cc_w(struct virtio *v, uint32_t off, uint32_t val, uint32_t len)
{
	int ret = bv_region_rw(v->c, v->bar, v->common + off, &val, len, true);

	if (ret < 0 && v->err == 0)
		v->err = ret;
}

static uint32_t
cc_r(struct virtio *v, uint32_t off, uint32_t len)
{
	uint32_t val = 0;
	int ret = bv_region_rw(v->c, v->bar, v->common + off, &val, len, false);

	if (ret < 0 && v->err == 0)
		v->err = ret;
	return val;
}

/* Offsets in struct virtio_pci_common_cfg. */
#define CC_DFSELECT 0
#define CC_DF 4
#define CC_GFSELECT 8
#define CC_GF 12
#define CC_STATUS 20
#define CC_QSELECT 22
#define CC_QSIZE 24
#define CC_QENABLE 28
#define CC_QDESC 32
#define CC_QAVAIL 40
#define CC_QUSED 48

static int
virtio_find_common(struct virtio *v)
{
	uint8_t cfg[256];
	unsigned int hops = 0;
	uint8_t p;
	int ret = bv_region_rw(v->c, BV_CFG_REGION, 0, cfg, 8, false);

	for (uint32_t off = 8; ret == 0 && off < sizeof(cfg); off += 8)
		ret = bv_region_rw(v->c, BV_CFG_REGION, off, cfg + off, 8,
				   false);
	if (ret < 0)
		return ret;
	for (p = cfg[0x34]; p != 0 && p < 0xfc && hops++ < 48; p = cfg[p + 1]) {
		if (cfg[p] == 0x09 && cfg[p + 3] == 1) {
			uint32_t o;

			memcpy(&o, cfg + p + 8, 4);
			v->bar = cfg[p + 4];
			v->common = o;
			return 0;
		}
	}
	return -ENOENT;
}

int
bv_virtio_up(struct rc *c, uint64_t ring_iova)
{
	struct virtio v = { .c = c };
	uint32_t hi;
	int ret = virtio_find_common(&v);

	if (ret < 0)
		return ret;
	cc_w(&v, CC_STATUS, 0, 1);
	cc_w(&v, CC_STATUS, 1, 1);		/* ACKNOWLEDGE */
	cc_w(&v, CC_STATUS, 3, 1);		/* DRIVER */
	cc_w(&v, CC_DFSELECT, 1, 4);
	hi = cc_r(&v, CC_DF, 4) & 0x3;		/* VERSION_1, ACCESS_PLATFORM */
	cc_w(&v, CC_GFSELECT, 0, 4);
	cc_w(&v, CC_GF, 0, 4);
	cc_w(&v, CC_GFSELECT, 1, 4);
	cc_w(&v, CC_GF, hi, 4);
	cc_w(&v, CC_STATUS, 11, 1);		/* FEATURES_OK */
	for (uint32_t q = 0; q < 2; q++) {
		uint64_t base = ring_iova + (uint64_t)q * BV_RING_AREA / 2;

		cc_w(&v, CC_QSELECT, q, 2);
		cc_w(&v, CC_QSIZE, BV_QSZ, 2);
		cc_w(&v, CC_QDESC, (uint32_t)base, 4);
		cc_w(&v, CC_QDESC + 4, (uint32_t)(base >> 32), 4);
		cc_w(&v, CC_QAVAIL, (uint32_t)(base + 16384), 4);
		cc_w(&v, CC_QAVAIL + 4, (uint32_t)((base + 16384) >> 32), 4);
		cc_w(&v, CC_QUSED, (uint32_t)(base + 20480), 4);
		cc_w(&v, CC_QUSED + 4, (uint32_t)((base + 20480) >> 32), 4);
		cc_w(&v, CC_QENABLE, 1, 2);
	}
	cc_w(&v, CC_STATUS, 15, 1);		/* DRIVER_OK */
	ret = (int)cc_r(&v, CC_STATUS, 1);
	return v.err < 0 ? v.err : ret;
}

int
bv_virtio_status(struct rc *c)
{
	struct virtio v = { .c = c };
	int ret = virtio_find_common(&v);

	if (ret < 0)
		return ret;
	ret = (int)cc_r(&v, CC_STATUS, 1);
	return v.err < 0 ? v.err : ret;
}
