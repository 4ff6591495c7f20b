/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * vhost-user front end (see vun_vhost_user.h). Wire format from the
 * vhost-user specification (QEMU docs/interop/vhost-user.rst): a 12-byte
 * header (request, flags, size), a payload, fds as SCM_RIGHTS ancillary
 * data with the message.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>

#include "vun.h"
#include "vun_vhost_user.h"

enum {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_LOG_BASE = 6,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_SET_BACKEND_REQ_FD = 21,
	VHU_IOTLB_MSG = 22,
};

#define VHU_FLAG_VERSION	0x1u
#define VHU_FLAG_REPLY		0x4u
#define VHU_FLAG_NEED_REPLY	0x8u
#define VHU_VRING_NOFD		(1u << 8)

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __rte_packed;

struct vhu_state {
	uint32_t index;
	uint32_t num;
} __rte_packed;

struct vhu_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
} __rte_packed;

struct vhu_mem {
	uint32_t nregions;
	uint32_t padding;
	struct {
		uint64_t gpa;
		uint64_t size;
		uint64_t uaddr;
		uint64_t offset;
	} r[VHU_MAX_MEM_REGIONS];
} __rte_packed;

struct vhu_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
} __rte_packed;

struct vhu_msg {
	struct vhu_hdr h;
	union {
		uint64_t u64;
		struct vhu_log log;
		struct vhu_state state;
		struct vhu_addr addr;
		struct vhu_mem mem;
		struct vhu_iotlb_msg iotlb;
	} p;
} __rte_packed;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for events on the socket until the deadline: 0, -ETIMEDOUT, or
 * -ECONNRESET when the back end hung up. */
static int
wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		uint64_t t = now_ms();
		int n;

		if (t >= deadline)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(deadline - t));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (p.revents & events)
			return 0;
		if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
			return -ECONNRESET;
	}
}

static int
send_msg(struct vhu_conn *c, const struct vhu_msg *m, const int *fds,
	 unsigned int nfds)
{
	char ctrl[CMSG_SPACE(sizeof(int) * VHU_MAX_MEM_REGIONS)];
	size_t len = sizeof(m->h) + m->h.size, done = 0;
	uint64_t deadline = now_ms() + VHU_TIMEOUT_MS;

	if (c->fd < 0)
		return -ENOTCONN;
	while (done < len) {
		struct iovec iov = {
			.iov_base = (uint8_t *)(uintptr_t)m + done,
			.iov_len = len - done,
		};
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;
		int ret;

		if (done == 0 && nfds > 0) {	/* with the first byte */
			struct cmsghdr *cm;

			memset(ctrl, 0, sizeof(ctrl));
			mh.msg_control = ctrl;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		ret = wait_fd(c->fd, POLLOUT, deadline);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int
recv_all(int fd, void *buf, size_t len, uint64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = recv(fd, (uint8_t *)buf + done, len - done, 0);
		int ret;

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The reply to request req, its payload (at most cap bytes) in *m. */
static int
recv_reply(struct vhu_conn *c, uint32_t req, struct vhu_msg *m, size_t cap)
{
	uint64_t deadline = now_ms() + VHU_TIMEOUT_MS;
	int ret;

	ret = recv_all(c->fd, &m->h, sizeof(m->h), deadline);
	if (ret < 0)
		return ret;
	if (m->h.request != req || !(m->h.flags & VHU_FLAG_REPLY) ||
	    m->h.size > cap) {
		VUN_LOG(ERR,
			"%s: vhost-user reply %u (flags 0x%x, %u bytes) to "
			"request %u",
			c->path, m->h.request, m->h.flags, m->h.size, req);
		return -EPROTO;
	}
	return recv_all(c->fd, &m->p, m->h.size, deadline);
}

/* A request without a reply of its own: acked when REPLY_ACK was
 * negotiated (a non-zero ack is the back end's refusal). */
static int
request(struct vhu_conn *c, uint32_t req, const void *payload, uint32_t size,
	const int *fds, unsigned int nfds)
{
	struct vhu_msg m = { .h = { req, VHU_FLAG_VERSION, size } };
	bool ack = c->protocol_features & (1ULL << VHU_PROTOCOL_F_REPLY_ACK);
	int ret;

	if (size > sizeof(m.p))
		return -EINVAL;
	if (size > 0)
		memcpy(&m.p, payload, size);
	if (ack)
		m.h.flags |= VHU_FLAG_NEED_REPLY;
	ret = send_msg(c, &m, fds, nfds);
	if (ret < 0 || !ack)
		return ret;
	ret = recv_reply(c, req, &m, sizeof(m.p.u64));
	if (ret < 0)
		return ret;
	if (m.h.size != sizeof(uint64_t) || m.p.u64 != 0) {
		VUN_LOG(ERR, "%s: vhost-user back end refused request %u",
			c->path, req);
		return -EIO;
	}
	return 0;
}

static int
get_u64(struct vhu_conn *c, uint32_t req, uint64_t *v)
{
	struct vhu_msg m = { .h = { req, VHU_FLAG_VERSION, 0 } };
	int ret = send_msg(c, &m, NULL, 0);

	if (ret == 0)
		ret = recv_reply(c, req, &m, sizeof(m.p.u64));
	if (ret == 0 && m.h.size != sizeof(uint64_t))
		ret = -EPROTO;
	if (ret == 0)
		*v = m.p.u64;
	return ret;
}

/* Without REPLY_ACK: a round trip, after which the back end has handled
 * every message sent before (it serves them in order). */
static int
barrier(struct vhu_conn *c)
{
	uint64_t f;

	if (c->protocol_features & (1ULL << VHU_PROTOCOL_F_REPLY_ACK))
		return 0;
	return get_u64(c, VHU_GET_FEATURES, &f);
}

int
vhu_sync(struct vhu_conn *c)
{
	return barrier(c);
}

/*
 * The backend request channel (vhost-user's "back-end communication"):
 * one end of a socketpair goes to the back end (SET_BACKEND_REQ_FD), on
 * which it sends its requests; ours is watched by the caller.
 */
static int
backend_channel(struct vhu_conn *c)
{
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ret = request(c, VHU_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
	close(sv[1]);	/* the back end has its own copy */
	if (ret < 0 || fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		close(sv[0]);
		return ret < 0 ? ret : -errno;
	}
	c->backend_fd = sv[0];
	return 0;
}

/* What an IOTLB needs of the back end (the vhost-user specification:
 * IOMMU_PLATFORM, BACKEND_REQ for its misses, REPLY_ACK for ours). */
static bool
iotlb_offered(uint64_t features, uint64_t protocol_features)
{
	const uint64_t pf = (1ULL << VHU_PROTOCOL_F_BACKEND_REQ) |
			    (1ULL << VHU_PROTOCOL_F_REPLY_ACK);

	return (features & (1ULL << VHU_F_IOMMU_PLATFORM)) &&
	       (protocol_features & pf) == pf;
}

int
vhu_connect(struct vhu_conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t pf, want, qn;
	int ret;

	c->fd = -1;
	c->backend_fd = -1;
	c->features = c->protocol_features = 0;
	c->queue_num = 1;
	if (strlen(path) >= sizeof(sa.sun_path) ||
	    strlen(path) >= sizeof(c->path))
		return -ENAMETOOLONG;
	strcpy(c->path, path);
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		vhu_close(c);
		return ret;
	}
	ret = get_u64(c, VHU_GET_FEATURES, &c->features);
	if (ret == 0 && (c->features & (1ULL << VHU_F_PROTOCOL_FEATURES))) {
		ret = get_u64(c, VHU_GET_PROTOCOL_FEATURES, &pf);
		if (ret == 0) {
			want = pf & ((1ULL << VHU_PROTOCOL_F_MQ) |
				     (1ULL << VHU_PROTOCOL_F_LOG_SHMFD) |
				     (1ULL << VHU_PROTOCOL_F_REPLY_ACK));
			if (iotlb_offered(c->features, pf))
				want |= 1ULL << VHU_PROTOCOL_F_BACKEND_REQ;
			ret = request(c, VHU_SET_PROTOCOL_FEATURES, &want,
				      sizeof(want), NULL, 0);
		}
		if (ret == 0)
			c->protocol_features = want;
	}
	if (ret == 0 && (c->protocol_features & (1ULL << VHU_PROTOCOL_F_MQ))) {
		ret = get_u64(c, VHU_GET_QUEUE_NUM, &qn);
		if (ret == 0)
			c->queue_num = (uint32_t)RTE_MIN(qn,
							 (uint64_t)UINT32_MAX);
	}
	if (ret == 0)
		ret = request(c, VHU_SET_OWNER, NULL, 0, NULL, 0);
	if (ret == 0 &&
	    (c->protocol_features & (1ULL << VHU_PROTOCOL_F_BACKEND_REQ)))
		ret = backend_channel(c);
	if (ret < 0) {
		VUN_LOG(ERR, "%s: vhost-user negotiation failed: %s", path,
			strerror(-ret));
		vhu_close(c);
	}
	return ret;
}

void
vhu_close(struct vhu_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->backend_fd >= 0)
		close(c->backend_fd);
	c->fd = -1;
	c->backend_fd = -1;
}

int
vhu_set_features(struct vhu_conn *c, uint64_t features)
{
	return request(c, VHU_SET_FEATURES, &features, sizeof(features), NULL,
		       0);
}

int
vhu_set_mem_table(struct vhu_conn *c, const struct vhu_mem_region *r,
		  uint32_t n)
{
	struct vhu_mem mem = { .nregions = n };
	int fds[VHU_MAX_MEM_REGIONS];
	int ret;

	if (n > VHU_MAX_MEM_REGIONS)
		return -E2BIG;
	for (uint32_t i = 0; i < n; i++) {
		mem.r[i].gpa = r[i].guest_phys_addr;
		mem.r[i].size = r[i].memory_size;
		mem.r[i].uaddr = r[i].userspace_addr;
		mem.r[i].offset = r[i].mmap_offset;
		fds[i] = r[i].fd;
	}
	/* the payload is the regions given, not the whole array */
	ret = request(c, VHU_SET_MEM_TABLE, &mem,
		      (uint32_t)(offsetof(struct vhu_mem, r) +
				 n * sizeof(mem.r[0])),
		      fds, n);
	return ret < 0 ? ret : barrier(c);
}

static int
set_state(struct vhu_conn *c, uint32_t req, uint32_t index, uint32_t num)
{
	struct vhu_state s = { index, num };

	return request(c, req, &s, sizeof(s), NULL, 0);
}

int
vhu_set_vring_num(struct vhu_conn *c, uint32_t index, uint32_t num)
{
	return set_state(c, VHU_SET_VRING_NUM, index, num);
}

int
vhu_set_vring_base(struct vhu_conn *c, uint32_t index, uint32_t base)
{
	return set_state(c, VHU_SET_VRING_BASE, index, base);
}

int
vhu_set_vring_enable(struct vhu_conn *c, uint32_t index, bool on)
{
	return set_state(c, VHU_SET_VRING_ENABLE, index, on);
}

int
vhu_get_vring_base(struct vhu_conn *c, uint32_t index, uint32_t *base)
{
	struct vhu_msg m = {
		.h = { VHU_GET_VRING_BASE, VHU_FLAG_VERSION,
		       sizeof(m.p.state) },
		.p.state = { index, 0 },
	};
	int ret = send_msg(c, &m, NULL, 0);

	if (ret == 0)
		ret = recv_reply(c, VHU_GET_VRING_BASE, &m, sizeof(m.p.state));
	if (ret == 0 &&
	    (m.h.size != sizeof(m.p.state) || m.p.state.index != index))
		ret = -EPROTO;
	if (ret == 0)
		*base = m.p.state.num;
	return ret;
}

int
vhu_set_vring_addr(struct vhu_conn *c, uint32_t index, uint64_t desc,
		   uint64_t used, uint64_t avail, uint64_t log, uint32_t flags)
{
	struct vhu_addr a = { index, flags, desc, used, avail, log };

	return request(c, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

static int
set_vring_fd(struct vhu_conn *c, uint32_t req, uint32_t index, int fd)
{
	uint64_t v = index & 0xff;

	if (fd < 0)
		v |= VHU_VRING_NOFD;
	return request(c, req, &v, sizeof(v), &fd, fd < 0 ? 0 : 1);
}

int
vhu_set_vring_kick(struct vhu_conn *c, uint32_t index, int fd)
{
	return set_vring_fd(c, VHU_SET_VRING_KICK, index, fd);
}

int
vhu_set_vring_call(struct vhu_conn *c, uint32_t index, int fd)
{
	return set_vring_fd(c, VHU_SET_VRING_CALL, index, fd);
}

/*
 * The dirty log: the back end maps size bytes of fd from offset 0 and
 * answers with an empty reply once it has (the vhost-user specification;
 * DPDK's vhost library and QEMU do so whether or not REPLY_ACK was
 * negotiated, so no NEED_REPLY is asked: it would be that same reply).
 */
int
vhu_set_log_base(struct vhu_conn *c, int fd, uint64_t size)
{
	struct vhu_msg m = {
		.h = { VHU_SET_LOG_BASE, VHU_FLAG_VERSION, sizeof(m.p.log) },
		.p.log = { size, 0 },
	};
	int ret;

	if (!(c->protocol_features & (1ULL << VHU_PROTOCOL_F_LOG_SHMFD)))
		return -ENOTSUP;
	ret = send_msg(c, &m, &fd, 1);
	if (ret == 0)
		ret = recv_reply(c, VHU_SET_LOG_BASE, &m, sizeof(m.p.u64));
	if (ret == 0 && m.h.size == sizeof(uint64_t) && m.p.u64 != 0) {
		VUN_LOG(ERR, "%s: vhost-user back end refused the dirty log",
			c->path);
		ret = -EIO;
	}
	return ret;
}

bool
vhu_iotlb_capable(const struct vhu_conn *c)
{
	return c->backend_fd >= 0 &&
	       iotlb_offered(c->features, c->protocol_features);
}

int
vhu_iotlb_msg(struct vhu_conn *c, uint8_t type, uint64_t iova, uint64_t size,
	      uint64_t uaddr, uint8_t perm)
{
	struct vhu_iotlb_msg m = {
		.iova = iova,
		.size = size,
		.uaddr = uaddr,
		.perm = perm,
		.type = type,
	};

	/* REPLY_ACK is part of IOTLB mode: the ack says it took effect */
	return request(c, VHU_IOTLB_MSG, &m, sizeof(m), NULL, 0);
}

int
vhu_backend_recv(struct vhu_conn *c, struct vhu_backend_req *r)
{
	struct vhu_hdr h;
	uint8_t p[256];
	uint64_t deadline;
	ssize_t n;
	int ret;

	if (c->backend_fd < 0)
		return -ENOTCONN;
	n = recv(c->backend_fd, &h, sizeof(h), MSG_PEEK);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? -EAGAIN : -errno;
	/* a message is sent whole: the rest follows promptly */
	deadline = now_ms() + VHU_TIMEOUT_MS;
	ret = recv_all(c->backend_fd, &h, sizeof(h), deadline);
	if (ret == 0 && h.size > sizeof(p))
		ret = -EPROTO;
	if (ret == 0)
		ret = recv_all(c->backend_fd, p, h.size, deadline);
	if (ret < 0) {
		VUN_LOG(ERR, "%s: vhost-user backend request channel: %s",
			c->path, strerror(-ret));
		return ret;
	}
	memset(r, 0, sizeof(*r));
	r->request = h.request;
	r->need_reply = (h.flags & VHU_FLAG_NEED_REPLY) != 0;
	if (h.request == VHU_BACKEND_IOTLB_MSG) {
		/* perm and type at least (some send 26 bytes, not 32) */
		if (h.size < offsetof(struct vhu_iotlb_msg, pad))
			return -EPROTO;
		memcpy(&r->iotlb, p, RTE_MIN((size_t)h.size, sizeof(r->iotlb)));
	}
	return 0;
}

int
vhu_backend_reply(struct vhu_conn *c, const struct vhu_backend_req *r,
		  uint64_t result)
{
	struct vhu_msg m = {
		.h = { r->request, VHU_FLAG_VERSION | VHU_FLAG_REPLY,
		       sizeof(m.p.u64) },
		.p.u64 = result,
	};
	struct vhu_conn bc = *c;

	if (!r->need_reply)
		return 0;
	bc.fd = c->backend_fd;	/* send_msg() writes to the channel */
	return send_msg(&bc, &m, NULL, 0);
}
