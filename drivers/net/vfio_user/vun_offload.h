/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUN_OFFLOAD_H
#define VUN_OFFLOAD_H

/*
 * Offload mode of net_vfio_user (devarg offload=<vhost-user socket>): the
 * data virtqueues are handed to an external vhost-user back end (the
 * engine), net_vfio_user acting as its vhost-user front end; the PCI
 * device, the virtio control plane, the control queue and the DMA table
 * stay here. See doc/guides/howto/offload.rst.
 *
 * Every function below is a no-op (or returns the in-process answer) when
 * the device is not in offload mode (d->ol == NULL), so the device model
 * calls them unconditionally. They run on the library's event thread (the
 * device model's callbacks, and the offload's own fds watched there) or,
 * at teardown, on the thread that stops the device; a mutex orders them.
 */

#include <stdbool.h>
#include <stdint.h>

#include "vun.h"

struct vun_offload;

/* After vun_virtio_init(): connect to the engine (retried every
 * VUN_OFFLOAD_RETRY_MS while absent), create the kick eventfds. */
int vun_offload_init(struct vun_dev *d, const char *engine_path);
/* After vun_virtio_fini(): disconnect, close everything. */
void vun_offload_fini(struct vun_dev *d);
/* The device is registered (d->dev_id set), not started yet. */
int vun_offload_registered(struct vun_dev *d);

/* The eventfd a data queue's doorbell goes to (ioeventfd), or dflt. */
int vun_offload_kick_fd(const struct vun_dev *d, uint16_t vq, int dflt);
/* A doorbell written as a message (REGION_WRITE) for data queue vq. */
void vun_offload_kick(struct vun_dev *d, uint16_t vq);
/* Whether the engine, not our data path, serves virtqueue vq. */
bool vun_offload_owns(const struct vun_dev *d, uint16_t vq);
/* The link the driver sees: up while the engine has the queues. */
bool vun_offload_link(const struct vun_dev *d, bool in_process_link);

/* Status hooks of the device model. */
void vun_offload_driver_ok(struct vun_dev *d);
void vun_offload_reset(struct vun_dev *d);
/* The driver changed the pairs it uses (VQ_PAIRS_SET, before its ack):
 * the engine's queues of the others are disabled, of those enabled. */
void vun_offload_pairs(struct vun_dev *d);
void vun_offload_update(struct vun_dev *d, enum rte_vfio_user_status st);
/* Migration stops the device: the queues back from the engine, their
 * indices in d->vq[] (the device state). The hand-over (DRIVER_OK,
 * vun_offload_driver_ok() when the device runs again) starts each queue
 * from vq->last_avail. */
void vun_offload_mig_stop(struct vun_dev *d);
/* Dirty logging (rte_vfio_user_notify_ops::dirty_log): the engine logs
 * its writes to a shared log while the client logs, folded into the
 * library's bitmaps before each report. */
int vun_offload_dirty_log(struct vun_dev *d, enum rte_vfio_user_dirty_op op);

/* Counters for xstats: hand-overs and engine losses. */
uint64_t vun_offload_handovers(const struct vun_dev *d);
uint64_t vun_offload_losses(const struct vun_dev *d);

#define VUN_OFFLOAD_RETRY_MS 200
/* Page of the engine's dirty log (vhost-user's VHOST_LOG_PAGE). */
#define VUN_LOG_PAGE 4096u
/* Largest dirty log: 64 GiB (sparse) covers 2^51 bytes of IOVA space. */
#define VUN_LOG_MAX (1ULL << 36)

#endif /* VUN_OFFLOAD_H */
