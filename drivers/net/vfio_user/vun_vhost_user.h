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
#define VHU_PROTOCOL_F_BACKEND_REQ	5	/* SLAVE_REQ in DPDK 22.11 */

/* VIRTIO_F_ACCESS_PLATFORM (VIRTIO_F_IOMMU_PLATFORM of vhost-user): with
 * it, ring and buffer addresses are IOVAs the back end translates through
 * its IOTLB, filled by VHOST_USER_IOTLB_MSG. */
#define VHU_F_IOMMU_PLATFORM	33

/* struct vhost_iotlb_msg (linux/vhost_types.h) */
#define VHU_IOTLB_MISS		1
#define VHU_IOTLB_UPDATE	2
#define VHU_IOTLB_INVALIDATE	3
#define VHU_ACCESS_RO		0x1
#define VHU_ACCESS_WO		0x2
#define VHU_ACCESS_RW		0x3

struct vhu_iotlb_msg {
	uint64_t iova;
	uint64_t size;
	uint64_t uaddr;
	uint8_t perm;
	uint8_t type;
	uint8_t pad[6];	/* the C struct's padding: 32 bytes on the wire */
};

/* A message of the back end on the backend request channel. */
struct vhu_backend_req {
	uint32_t request;	/* VHU_BACKEND_* */
	bool need_reply;
	struct vhu_iotlb_msg iotlb;	/* VHU_BACKEND_IOTLB_MSG's payload */
};

#define VHU_BACKEND_IOTLB_MSG	1	/* VHOST_USER_SLAVE_IOTLB_MSG */

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
	int backend_fd;		/* our end of the backend request channel,
				 * -1: none (no IOTLB) */
	char path[108];
};

/* Connect to the back end's socket (non-blocking attempt) and negotiate:
 * GET_FEATURES, SET_OWNER, protocol features, queue number; when the back
 * end can use an IOTLB (VIRTIO_F_IOMMU_PLATFORM, BACKEND_REQ, REPLY_ACK),
 * BACKEND_REQ and the backend request channel (SET_BACKEND_REQ_FD, one
 * end of a socketpair; ours in backend_fd). 0 or -errno. */
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

/* Whether the back end takes IOTLB messages (and sends misses). */
bool vhu_iotlb_capable(const struct vhu_conn *c);
/* VHOST_USER_IOTLB_MSG (UPDATE or INVALIDATE), acked by the back end. */
int vhu_iotlb_msg(struct vhu_conn *c, uint8_t type, uint64_t iova,
		  uint64_t size, uint64_t uaddr, uint8_t perm);
/* The next message of the backend request channel: 0, -EAGAIN (none
 * waiting), or -errno (the channel broke: the back end is gone). */
int vhu_backend_recv(struct vhu_conn *c, struct vhu_backend_req *r);
/* The reply a message with need_reply wants (0: done, else failed). */
int vhu_backend_reply(struct vhu_conn *c, const struct vhu_backend_req *r,
		      uint64_t result);

#endif /* VUN_VHOST_USER_H */
