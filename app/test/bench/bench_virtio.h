/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef BENCH_VIRTIO_H
#define BENCH_VIRTIO_H

/*
 * The benchmarks' minimal VIRTIO 1.x driver over the raw test client:
 * enough to bring a virtio-net device (net_vfio_user) to DRIVER_OK with
 * two queues of BV_QSZ entries, whose rings (16 KiB of descriptors, 2 KiB
 * avail, 8 KiB used per queue) lie in a BV_RING_AREA of client memory the
 * caller mapped.
 */

#include <stdbool.h>
#include <stdint.h>

#include "raw_client.h"

#define BV_RING_AREA (64u * 1024)
#define BV_QSZ 1024u
#define BV_CFG_REGION 7u	/* VFIO_PCI_CONFIG_REGION_INDEX */

/* REGION_READ / REGION_WRITE of at most 8 bytes. 0 or -errno. */
int bv_region_rw(struct rc *c, uint32_t region, uint64_t off, void *buf,
		 uint32_t count, bool write);

/* Reset, negotiate VERSION_1 + ACCESS_PLATFORM, set up queues 0 and 1 in
 * [ring_iova, ring_iova + BV_RING_AREA), DRIVER_OK. Returns the device
 * status read back, or -errno. */
int bv_virtio_up(struct rc *c, uint64_t ring_iova);

/* The device status, or -errno. */
int bv_virtio_status(struct rc *c);

#endif /* BENCH_VIRTIO_H */
