/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VUN_VHOST_USER_H
#define VUN_VHOST_USER_H

/*
 * A small vhost-user front end (the role QEMU plays toward a vhost-user
 * back end), enough to hand virtqueues to an offload engine: the messages
 * of the vhost-user specification that a virtio-net front end needs, sent
 * synchronously (each waits for its reply, or for the back end's ack when
 * REPLY_ACK is negotiated; else a GET_FEATURES round trip orders the
 * messages that must have taken effect). Every wait is bounded.
 */

#include <stdbool.h>
#include <stdint.h>

#define VHU_MAX_MEM_REGIONS	8	/* SET_MEM_TABLE's array */
#define VHU_TIMEOUT_MS		3000	/* for one reply */

/* Feature bits of the vhost-user layer (not virtio's). */
#define VHU_F_PROTOCOL_FEATURES	30
#define VHU_F_LOG_ALL		26	/* log every write to the dirty log */

/* SET_VRING_ADDR flag: log the used ring's writes at its log address. */
#define VHU_VRING_F_LOG		(1u << 0)

/* Protocol feature bits. */
#define VHU_PROTOCOL_F_MQ		0
#define VHU_PROTOCOL_F_LOG_SHMFD	1
#define VHU_PROTOCOL_F_REPLY_ACK	3

struct vhu_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
	int fd;
};

struct vhu_conn {
	int fd;			/* connected socket, -1: none */
	uint64_t features;	/* the back end's */
	uint64_t protocol_features;	/* negotiated */
	uint32_t queue_num;	/* queue pairs the back end takes (MQ), or 1 */
	char path[108];
};

/* Connect to the back end's socket (non-blocking attempt) and negotiate:
 * GET_FEATURES, SET_OWNER, protocol features, queue number. 0 or -errno. */
int vhu_connect(struct vhu_conn *c, const char *path);
void vhu_close(struct vhu_conn *c);

int vhu_set_features(struct vhu_conn *c, uint64_t features);
/* Returns when the back end has handled every message sent before. */
int vhu_sync(struct vhu_conn *c);
/* n regions (<= VHU_MAX_MEM_REGIONS; 0 drops the back end's mappings). */
int vhu_set_mem_table(struct vhu_conn *c, const struct vhu_mem_region *r,
		      uint32_t n);
int vhu_set_vring_num(struct vhu_conn *c, uint32_t index, uint32_t num);
int vhu_set_vring_base(struct vhu_conn *c, uint32_t index, uint32_t base);
/* The back end stops the ring and returns where it stopped. */
int vhu_get_vring_base(struct vhu_conn *c, uint32_t index, uint32_t *base);
int vhu_set_vring_addr(struct vhu_conn *c, uint32_t index, uint64_t desc,
		       uint64_t used, uint64_t avail, uint64_t log,
		       uint32_t flags);
/* fd < 0: no fd (VHOST_USER_VRING_NOFD_MASK: the ring is polled / does
 * not interrupt). */
int vhu_set_vring_kick(struct vhu_conn *c, uint32_t index, int fd);
int vhu_set_vring_call(struct vhu_conn *c, uint32_t index, int fd);
int vhu_set_vring_enable(struct vhu_conn *c, uint32_t index, bool on);
/* The dirty log (needs the LOG_SHMFD protocol feature, else -ENOTSUP):
 * size bytes of fd from offset 0, one bit per 4 KiB page of guest
 * physical address; returns when the back end has mapped it. */
int vhu_set_log_base(struct vhu_conn *c, int fd, uint64_t size);

#endif /* VUN_VHOST_USER_H */
