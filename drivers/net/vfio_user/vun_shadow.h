/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUN_SHADOW_H
#define VUN_SHADOW_H

/*
 * Shadow rings (vun_shadow.c): a virtqueue whose rings cannot be given a
 * contiguous view in our address space (pages of hugetlbfs-backed guest
 * memory scattered by a vIOMMU, or the ring_copy devarg) runs on a private
 * copy of its rings. The fast paths (vun_ring.c, vun_packed.c) use the
 * copy through vq->desc / avail / used (pdesc / drv_event / dev_event) as
 * they use a view; around each burst (and each control queue pass) the
 * copy is synchronised with the driver's rings, reached through a page
 * list made at queue start:
 *
 *  - in, at the start: what the driver made available (split: avail
 *    entries and the chains they name; packed: available descriptors, in
 *    ring order, each one's flags checked before the rest is read);
 *  - out, at the end: what the device wrote (split: used elements, then
 *    the used index with release; packed: used descriptors, flags last
 *    with release, the burst's first one last of all), then the interrupt
 *    decision on the driver's own suppression fields.
 *
 * The copy always tells the fast path not to interrupt (split: used_event
 * just behind, NO_INTERRUPT; packed: DISABLE): its own decision would read
 * stale fields. The page list lives as long as the queue is ready: an
 * unmap of a ring page withdraws the queue (on_update_status()) as it does
 * a queue with views.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vun.h"

/*
 * Make vq's shadow (event thread, queue not ready, size and ring IOVAs
 * set) and point vq's ring pointers at it. 0, or -EFAULT if a ring is not
 * wholly in mapped client memory (message-only regions included: the data
 * path cannot reach them) or misaligned, -ENOMEM.
 */
int vun_shadow_make(struct vun_dev *d, struct vun_vq *vq);

/* Free vq's shadow, if any: the queue is not ready, and the data path let
 * go of it (a grace period since it was withdrawn). */
void vun_shadow_free(struct vun_vq *vq);

/* After vq_start() set the fields the device keeps in the device area of
 * the copy (split: used flags, avail_event; packed: nothing): publish them. */
void vun_shadow_started(struct vun_vq *vq);

/* Sync in (burst start, or control queue pass). */
void vun_shadow_in(struct vun_vq *vq);

/*
 * Sync out what the device used since (old, old_wrap) and decide on the
 * interrupt with the driver's fields: whether it wants one.
 */
bool vun_shadow_out(struct vun_vq *vq, const struct rte_vfio_user_mem_table *t,
		    uint16_t old, bool old_wrap);

/* Split control queue: the driver's avail index now; and publish the
 * avail_event the device set in the copy. */
uint16_t vun_shadow_avail_idx(struct vun_vq *vq);
/* Packed: the driver's descriptor pos (not the copy's), to read. */
const struct vring_packed_desc *vun_shadow_driver_pdesc(const struct vun_vq *vq,
							uint16_t pos);
void vun_shadow_split_event(struct vun_vq *vq);

#endif /* VUN_SHADOW_H */
