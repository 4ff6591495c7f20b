/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Control path of net_vfio_user_client: attach to the device, map our
 * memory, find the virtio capabilities in its config space, negotiate,
 * set up the virtqueues and the interrupts, and tear all that down again.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal_memconfig.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_memzone.h>

#include "vuc.h"

#define WANT_FEATURES ( \
	(1ULL << VIRTIO_F_VERSION_1) | \
	(1ULL << VIRTIO_F_ACCESS_PLATFORM) | \
	(1ULL << VIRTIO_RING_F_EVENT_IDX) | \
	(1ULL << VIRTIO_NET_F_MAC) | \
	(1ULL << VIRTIO_NET_F_STATUS) | \
	(1ULL << VIRTIO_NET_F_MTU) | \
	(1ULL << VIRTIO_NET_F_MRG_RXBUF) | \
	(1ULL << VIRTIO_NET_F_CTRL_VQ) | \
	(1ULL << VIRTIO_NET_F_MQ))

#define CFG_SIZE 256
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_CAP_PTR 0x34

/* ---- register access through the client ---- */

static int
bar_rd(struct vuc_dev *d, uint32_t bar, uint64_t off, void *v, size_t len)
{
	return rte_vfio_user_client_region_read(d->client, bar, off, v, len);
}

static int
bar_wr(struct vuc_dev *d, uint32_t bar, uint64_t off, const void *v, size_t len)
{
	return rte_vfio_user_client_region_write(d->client, bar, off, v, len,
						 false);
}

#define CC(field) offsetof(struct virtio_pci_common_cfg, field)

static int
cc_rd(struct vuc_dev *d, size_t off, void *v, size_t len)
{
	return bar_rd(d, d->common_bar, d->common_off + off, v, len);
}

static int
cc_wr(struct vuc_dev *d, size_t off, const void *v, size_t len)
{
	return bar_wr(d, d->common_bar, d->common_off + off, v, len);
}

static int
cc_wr16(struct vuc_dev *d, size_t off, uint16_t v)
{
	return cc_wr(d, off, &v, 2);
}

static int
cc_wr32(struct vuc_dev *d, size_t off, uint32_t v)
{
	return cc_wr(d, off, &v, 4);
}

static int
status_set(struct vuc_dev *d, uint8_t st)
{
	return cc_wr(d, CC(device_status), &st, 1);
}

static int
status_get(struct vuc_dev *d, uint8_t *st)
{
	return cc_rd(d, CC(device_status), st, 1);
}

/* ---- config space: find the virtio capabilities ---- */

static int
find_caps(struct vuc_dev *d)
{
	uint8_t cfg[CFG_SIZE], seen[CFG_SIZE] = { 0 };
	unsigned int found = 0;
	uint16_t cmd;
	int ret;

	ret = rte_vfio_user_client_region_read(d->client,
			VFIO_USER_PCI_CONFIG_REGION_INDEX, 0, cfg, sizeof(cfg));
	if (ret < 0)
		return ret;
	if (cfg[0] != 0xf4 || cfg[1] != 0x1a || cfg[2] != 0x41 || cfg[3] != 0x10) {
		VUC_LOG(ERR, "%s: not a virtio-net 1.x device (%02x%02x:%02x%02x)",
			d->path, cfg[1], cfg[0], cfg[3], cfg[2]);
		return -ENODEV;
	}
	if (!(cfg[PCI_STATUS] & 0x10))
		return -ENODEV;
	for (unsigned int off = cfg[PCI_CAP_PTR] & 0xfc;
	     off >= 0x40 && off + 16 <= CFG_SIZE && !seen[off];
	     off = cfg[off + 1] & 0xfc) {
		struct virtio_pci_cap cap;

		seen[off] = 1;
		if (cfg[off] != 0x09)
			continue;
		memcpy(&cap, &cfg[off], sizeof(cap));
		if (cap.bar > 5)
			continue;
		switch (cap.cfg_type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			d->common_bar = cap.bar;
			d->common_off = cap.offset;
			found |= 1;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (off + sizeof(struct virtio_pci_notify_cap) > CFG_SIZE)
				continue;
			d->notify_bar = cap.bar;
			d->notify_base = cap.offset;
			memcpy(&d->notify_mult, &cfg[off + sizeof(cap)], 4);
			found |= 2;
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			d->isr_bar = cap.bar;
			d->isr_off = cap.offset;
			found |= 4;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			d->devcfg_bar = cap.bar;
			d->devcfg_off = cap.offset;
			found |= 8;
			break;
		default:
			break;
		}
	}
	if (found != 0xf) {
		VUC_LOG(ERR, "%s: virtio capabilities missing (found 0x%x)",
			d->path, found);
		return -ENODEV;
	}
	/* memory space and bus mastering on, as a PCI driver does */
	memcpy(&cmd, &cfg[PCI_COMMAND], 2);
	cmd |= 0x6;
	return rte_vfio_user_client_region_write(d->client,
			VFIO_USER_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd, 2, false);
}

/* mmap the notify area if the device lets us: doorbells become stores. */
static void
map_notify(struct vuc_dev *d)
{
	struct rte_vfio_user_client_region reg;
	uint64_t len = (uint64_t)d->notify_mult * d->num_vqs + 2;
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = RTE_ALIGN_FLOOR(d->notify_base, pg);
	uint64_t end = RTE_ALIGN_CEIL(d->notify_base + len, pg);

	if (rte_vfio_user_client_region_info(d->client, d->notify_bar, &reg) < 0 ||
	    !(reg.flags & VFIO_USER_REGION_INFO_FLAG_MMAP))
		return;
	d->notify_map = rte_vfio_user_client_region_mmap(d->client,
			d->notify_bar, start, end - start, PROT_WRITE);
	if (d->notify_map == NULL)
		return;
	d->notify_map_len = end - start;
	d->notify_map += d->notify_base - start;
	VUC_LOG(INFO, "%s: doorbells through the mmapped notify area", d->path);
}

/* ---- DMA mapping of our memory ---- */

struct map_run {
	struct vuc_dev *d;
	uint64_t va, len, off;
	int fd;
	int err;
};

static void
run_flush(struct map_run *r)
{
	struct vuc_dev *d = r->d;
	int ret;

	if (r->len == 0 || r->err)
		return;
	if (d->nmaps >= RTE_DIM(d->maps)) {
		r->err = -ENOSPC;
		return;
	}
	ret = rte_vfio_user_client_dma_map(d->client, r->va, r->len,
			(void *)(uintptr_t)r->va, r->fd, r->fd < 0 ? 0 : r->off,
			VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE);
	if (ret < 0) {
		VUC_LOG(ERR, "%s: DMA_MAP [0x%" PRIx64 ", +0x%" PRIx64 "): %s",
			d->path, r->va, r->len, strerror(-ret));
		r->err = ret;
		return;
	}
	if (r->fd < 0)
		VUC_LOG(WARNING, "%s: memory at 0x%" PRIx64 " has no fd: the "
			"device reaches it by messages only", d->path, r->va);
	d->maps[d->nmaps].va = r->va;
	d->maps[d->nmaps].len = r->len;
	d->nmaps++;
	r->len = 0;
}

static int
seg_cb(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
       void *arg)
{
	struct map_run *r = arg;
	size_t off = 0;
	int fd;

	if (msl->external)
		return 0;
	fd = rte_memseg_get_fd_thread_unsafe(ms);
	if (fd >= 0 && rte_memseg_get_fd_offset_thread_unsafe(ms, &off) < 0)
		fd = -1;
	if (r->len > 0 && r->fd == fd && r->va + r->len == ms->addr_64 &&
	    (fd < 0 || r->off + r->len == off)) {
		r->len += ms->len;
		return 0;
	}
	run_flush(r);
	r->va = ms->addr_64;
	r->len = ms->len;
	r->off = off;
	r->fd = fd;
	return r->err ? -1 : 0;
}

static int
map_memory(struct vuc_dev *d)
{
	struct map_run r = { .d = d, .fd = -1 };

	d->nmaps = 0;
	rte_mcfg_mem_read_lock();
	rte_memseg_walk_thread_unsafe(seg_cb, &r);
	run_flush(&r);
	rte_mcfg_mem_read_unlock();
	if (r.err == 0)
		VUC_LOG(INFO, "%s: %u DMA regions mapped", d->path, d->nmaps);
	return r.err;
}

/* Map the memsegs in [va, va + len) but those in [skip, skip + skip_len). */
struct range_walk {
	struct map_run run;
	uint64_t lo, hi, skip, skip_end;
};

static int
range_cb(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
	 void *arg)
{
	struct range_walk *w = arg;

	if (ms->addr_64 < w->lo || ms->addr_64 >= w->hi ||
	    (ms->addr_64 >= w->skip && ms->addr_64 < w->skip_end))
		return 0;
	return seg_cb(msl, ms, &w->run);
}

static int
map_range(struct vuc_dev *d, uint64_t lo, uint64_t hi, uint64_t skip,
	  uint64_t skip_end)
{
	struct range_walk w = {
		.run = { .d = d, .fd = -1 },
		.lo = lo, .hi = hi, .skip = skip, .skip_end = skip_end,
	};

	rte_memseg_walk_thread_unsafe(range_cb, &w);
	run_flush(&w.run);
	return w.run.err;
}

/*
 * Memory hotplug (called with the memory lock held): map what was added,
 * and for a free, unmap every map touching the range and map back what
 * stays allocated around it.
 */
void
vuc_mem_event(struct vuc_dev *d, enum rte_mem_event ev, uint64_t va,
	      uint64_t len)
{
	if (d->client == NULL || !rte_vfio_user_client_connected(d->client))
		return;
	if (ev == RTE_MEM_EVENT_ALLOC) {
		map_range(d, va, va + len, 0, 0);
		return;
	}
	for (uint32_t i = 0; i < d->nmaps; ) {
		uint64_t mva = d->maps[i].va, mlen = d->maps[i].len;

		if (mva + mlen <= va || mva >= va + len) {
			i++;
			continue;
		}
		rte_vfio_user_client_dma_unmap(d->client, mva, mlen);
		d->maps[i] = d->maps[--d->nmaps];
		map_range(d, mva, mva + mlen, va, va + len);
		i = 0;	/* the table changed: look again */
	}
}

static void
unmap_memory(struct vuc_dev *d)
{
	for (uint32_t i = 0; i < d->nmaps; i++)
		rte_vfio_user_client_dma_unmap(d->client, d->maps[i].va,
					       d->maps[i].len);
	d->nmaps = 0;
}

/* ---- virtqueues ---- */

static size_t
ring_bytes(uint16_t n)
{
	size_t s = RTE_ALIGN_CEIL((size_t)n * 16 + 6 + 2 * (size_t)n, 4096);

	s += RTE_ALIGN_CEIL(6 + 8 * (size_t)n, 4096);
	return s + (size_t)n * sizeof(struct virtio_net_hdr_mrg_rxbuf);
}

static int
vq_alloc(struct vuc_dev *d, struct vuc_vq *vq, uint16_t n)
{
	char name[RTE_MEMZONE_NAMESIZE];

	if (vq->mz != NULL && vq->size == n)
		return 0;
	rte_memzone_free(vq->mz);
	rte_free(vq->cookie);
	snprintf(name, sizeof(name), "vuc%u_vq%u", d->port_id, vq->index);
	vq->mz = rte_memzone_reserve_aligned(name, ring_bytes(n), SOCKET_ID_ANY,
					     0, 4096);
	vq->cookie = rte_zmalloc(name, n * sizeof(*vq->cookie), 0);
	if (vq->mz == NULL || vq->cookie == NULL)
		return -ENOMEM;
	vq->size = n;
	vq->desc = vq->mz->addr;
	vq->avail = (void *)((uint8_t *)vq->mz->addr + (size_t)n * 16);
	vq->used = (void *)((uint8_t *)vq->mz->addr +
		RTE_ALIGN_CEIL((size_t)n * 16 + 6 + 2 * (size_t)n, 4096));
	return 0;
}

static int
vq_setup(struct vuc_dev *d, struct vuc_vq *vq, uint16_t vector)
{
	uint16_t max, off;
	uint64_t a;
	int ret;

	if ((ret = cc_wr16(d, CC(queue_select), vq->index)) < 0 ||
	    (ret = cc_rd(d, CC(queue_size), &max, 2)) < 0)
		return ret;
	if (max == 0)
		return -ENODEV;
	ret = vq_alloc(d, vq, RTE_MIN(max, VUC_DEF_QUEUE_SIZE));
	if (ret < 0)
		return ret;
	vq->dev = d;
	vq->event_idx = d->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->mrg_rxbuf = d->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	vq->hdr_len = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	vq->vector = vector;
	vuc_vq_init_ring(vq);
	if ((ret = cc_wr16(d, CC(queue_size), vq->size)) < 0)
		return ret;
	a = (uint64_t)(uintptr_t)vq->desc;
	if ((ret = cc_wr32(d, CC(queue_desc_lo), (uint32_t)a)) < 0 ||
	    (ret = cc_wr32(d, CC(queue_desc_hi), (uint32_t)(a >> 32))) < 0)
		return ret;
	a = (uint64_t)(uintptr_t)vq->avail;
	if ((ret = cc_wr32(d, CC(queue_avail_lo), (uint32_t)a)) < 0 ||
	    (ret = cc_wr32(d, CC(queue_avail_hi), (uint32_t)(a >> 32))) < 0)
		return ret;
	a = (uint64_t)(uintptr_t)vq->used;
	if ((ret = cc_wr32(d, CC(queue_used_lo), (uint32_t)a)) < 0 ||
	    (ret = cc_wr32(d, CC(queue_used_hi), (uint32_t)(a >> 32))) < 0 ||
	    (ret = cc_wr16(d, CC(queue_msix_vector), vector)) < 0 ||
	    (ret = cc_rd(d, CC(queue_notify_off), &off, 2)) < 0)
		return ret;
	vq->notify_off = d->notify_base + (uint64_t)off * d->notify_mult;
	vq->notify_mmap = d->notify_map ?
		(volatile uint16_t *)(d->notify_map + (uint64_t)off * d->notify_mult) :
		NULL;
	return cc_wr16(d, CC(queue_enable), 1);
}

/* A control command: header + data in, one ack byte out. Polls. */
static int
ctrl_cmd(struct vuc_dev *d, uint8_t cls, uint8_t cmd, const void *data,
	 uint16_t len)
{
	struct vuc_vq *vq = &d->vq[2 * d->max_pairs];
	struct {
		struct virtio_net_ctrl_hdr h;
		uint8_t data[64];
		uint8_t ack;
	} *buf = (void *)((uint8_t *)vq->mz->addr + vq->mz->len -
			  (size_t)vq->size * sizeof(struct virtio_net_hdr_mrg_rxbuf));
	uint64_t deadline;

	/* one command at a time: descriptors 0-2 and the area after the
	 * used ring are the control queue's own */
	if (len > sizeof(buf->data))
		return -EINVAL;
	buf->h.class = cls;
	buf->h.cmd = cmd;
	memcpy(buf->data, data, len);
	buf->ack = 0xff;
	vq->desc[0] = (struct vring_desc){ (uintptr_t)&buf->h, sizeof(buf->h),
					   VRING_DESC_F_NEXT, 1 };
	vq->desc[1] = (struct vring_desc){ (uintptr_t)buf->data, len,
					   VRING_DESC_F_NEXT, 2 };
	vq->desc[2] = (struct vring_desc){ (uintptr_t)&buf->ack, 1,
					   VRING_DESC_F_WRITE, 0 };
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = 0;
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	vuc_kick(vq);
	deadline = rte_get_timer_cycles() + rte_get_timer_hz() * 5;
	while (__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) == vq->last_used) {
		if (rte_get_timer_cycles() > deadline ||
		    !rte_vfio_user_client_connected(d->client))
			return -ETIMEDOUT;
		rte_delay_us_sleep(100);
	}
	vq->last_used++;
	return buf->ack == VIRTIO_NET_OK ? 0 : -EIO;
}

/* ---- interrupts ---- */

/*
 * The eventfds live as long as the port, not as one connection: the LSC
 * and rx interrupt handles registered with EAL at start keep them, so a
 * reconnected device must signal the same ones.
 */
int
vuc_irqs_alloc(struct vuc_dev *d)
{
	d->config_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->config_efd < 0)
		return -errno;
	for (uint16_t q = 0; q < d->max_pairs; q++) {
		struct vuc_vq *vq = &d->vq[2 * q];	/* receiveq */

		vq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vq->efd < 0)
			return -errno;
	}
	return 0;
}

void
vuc_irqs_free(struct vuc_dev *d)
{
	if (d->config_efd >= 0)
		close(d->config_efd);
	d->config_efd = -1;
	for (uint16_t i = 0; i < VUC_MAX_VQS; i++) {
		if (d->vq[i].efd >= 0)
			close(d->vq[i].efd);
		d->vq[i].efd = -1;
	}
}

static int
irqs_setup(struct vuc_dev *d)
{
	int fds[VUC_MAX_QUEUE_PAIRS + 1];
	uint16_t n = (uint16_t)(d->pairs + 1);

	fds[0] = d->config_efd;
	for (uint16_t q = 0; q < d->pairs; q++)
		fds[q + 1] = d->vq[2 * q].efd;
	for (uint16_t i = 0; i < n; i++)
		if (fds[i] < 0)
			return -EBADF;
	return rte_vfio_user_client_set_irqs(d->client,
			VFIO_USER_PCI_MSIX_IRQ_INDEX,
			VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_TRIGGER,
			0, n, fds);
}

int
vuc_rxq_intr(struct vuc_dev *d, uint16_t q, bool enable)
{
	struct vuc_vq *vq = &d->vq[2 * q];

	if (q >= d->pairs || vq->avail == NULL)
		return -EINVAL;
	vq->intr_on = enable;
	/* with EVENT_IDX only used_event counts: the next entry, or one the
	 * device has just passed (it comes round again after 64K entries) */
	if (vq->event_idx)
		vq->avail->ring[vq->size] = (uint16_t)(vq->last_used -
						       (enable ? 0 : 1));
	__atomic_store_n(&vq->avail->flags,
			 enable ? 0 : VRING_AVAIL_F_NO_INTERRUPT, __ATOMIC_RELEASE);
	return 0;
}

int
vuc_read_link(struct vuc_dev *d)
{
	uint16_t st = VIRTIO_NET_S_LINK_UP;
	uint8_t dst;

	if (d->client == NULL || !rte_vfio_user_client_connected(d->client))
		return 0;
	/* the device gave up on our setup (e.g. its offload engine went):
	 * set it up again, as after a reconnection (reconnect=MS) */
	if (status_get(d, &dst) == 0 && (dst & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		VUC_LOG(WARNING, "%s: device needs reset", d->path);
		vuc_schedule_reconnect(d);
		return 0;
	}
	if ((d->features & (1ULL << VIRTIO_NET_F_STATUS)) &&
	    bar_rd(d, d->devcfg_bar, d->devcfg_off +
		   offsetof(struct virtio_net_config, status), &st, 2) < 0)
		return 0;
	return !!(st & VIRTIO_NET_S_LINK_UP);
}

/* ---- up / down ---- */

static void
on_disconnect(struct rte_vfio_user_client *c, void *arg)
{
	struct vuc_dev *d = arg;

	RTE_SET_USED(c);
	VUC_LOG(WARNING, "%s: device disconnected", d->path);
	vuc_link_set(d, false);
	vuc_schedule_reconnect(d);
}

static int
negotiate(struct vuc_dev *d)
{
	uint32_t lo, hi;
	uint8_t st;
	int ret;

	if ((ret = status_set(d, 0)) < 0 ||
	    (ret = status_set(d, VIRTIO_CONFIG_S_ACKNOWLEDGE)) < 0 ||
	    (ret = status_set(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			      VIRTIO_CONFIG_S_DRIVER)) < 0)
		return ret;
	if ((ret = cc_wr32(d, CC(device_feature_select), 0)) < 0 ||
	    (ret = cc_rd(d, CC(device_feature), &lo, 4)) < 0 ||
	    (ret = cc_wr32(d, CC(device_feature_select), 1)) < 0 ||
	    (ret = cc_rd(d, CC(device_feature), &hi, 4)) < 0)
		return ret;
	d->features = ((uint64_t)hi << 32 | lo) & WANT_FEATURES;
	if (!(d->features & (1ULL << VIRTIO_F_VERSION_1))) {
		VUC_LOG(ERR, "%s: device does not offer VIRTIO_F_VERSION_1", d->path);
		return -ENOTSUP;
	}
	if ((ret = cc_wr32(d, CC(guest_feature_select), 0)) < 0 ||
	    (ret = cc_wr32(d, CC(guest_feature), (uint32_t)d->features)) < 0 ||
	    (ret = cc_wr32(d, CC(guest_feature_select), 1)) < 0 ||
	    (ret = cc_wr32(d, CC(guest_feature), (uint32_t)(d->features >> 32))) < 0 ||
	    (ret = status_set(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			      VIRTIO_CONFIG_S_DRIVER |
			      VIRTIO_CONFIG_S_FEATURES_OK)) < 0 ||
	    (ret = status_get(d, &st)) < 0)
		return ret;
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK)) {
		VUC_LOG(ERR, "%s: device refused features 0x%" PRIx64, d->path,
			d->features);
		return -ENOTSUP;
	}
	return 0;
}

int
vuc_device_up(struct vuc_dev *d)
{
	struct rte_vfio_user_client_conf conf = {
		.path = d->path,
		.timeout_ms = 5000,
		.on_disconnect = on_disconnect,
		.cb_arg = d,
	};
	struct vfio_user_device_info info;
	struct virtio_net_config nc;
	uint16_t nq, dev_pairs = 1;
	int ret;

	d->client = rte_vfio_user_client_attach(&conf);
	if (d->client == NULL)
		return -rte_errno;
	ret = rte_vfio_user_client_device_info(d->client, &info);
	if (ret == 0 && (!(info.flags & VFIO_USER_DEVICE_FLAGS_PCI) ||
			 info.num_regions < VFIO_USER_PCI_NUM_REGIONS))
		ret = -ENODEV;
	if (ret == 0)
		ret = find_caps(d);
	if (ret == 0)
		ret = cc_rd(d, CC(num_queues), &nq, 2);
	if (ret < 0)
		goto err;
	d->num_vqs = nq;
	map_notify(d);
	ret = map_memory(d);
	if (ret == 0)
		ret = negotiate(d);
	if (ret == 0)
		ret = bar_rd(d, d->devcfg_bar, d->devcfg_off, &nc, sizeof(nc));
	if (ret < 0)
		goto err;
	if (d->features & (1ULL << VIRTIO_NET_F_MAC)) {
		if (!d->mac_given)
			memcpy(&d->mac, nc.mac, RTE_ETHER_ADDR_LEN);
	}
	if (d->features & (1ULL << VIRTIO_NET_F_MTU))
		d->mtu = nc.mtu;
	if (d->features & (1ULL << VIRTIO_NET_F_MQ))
		dev_pairs = nc.max_virtqueue_pairs;
	if (!(d->features & (1ULL << VIRTIO_NET_F_CTRL_VQ)))
		dev_pairs = 1;
	d->pairs = RTE_MIN(d->max_pairs, dev_pairs);
	if (d->pairs < d->max_pairs)
		VUC_LOG(WARNING, "%s: device has %u queue pairs, %u asked",
			d->path, dev_pairs, d->max_pairs);

	ret = irqs_setup(d);
	if (ret < 0)
		goto err;
	for (uint16_t q = 0; q < d->pairs && ret == 0; q++) {
		ret = vq_setup(d, &d->vq[2 * q], (uint16_t)(q + 1));
		if (ret == 0)
			ret = vq_setup(d, &d->vq[2 * q + 1], VIRTIO_MSI_NO_VECTOR);
	}
	if (ret == 0 && (d->features & (1ULL << VIRTIO_NET_F_CTRL_VQ))) {
		struct vuc_vq *cq = &d->vq[2 * d->max_pairs];

		cq->index = (uint16_t)(2 * dev_pairs);
		ret = vq_setup(d, cq, VIRTIO_MSI_NO_VECTOR);
	}
	if (ret == 0)
		ret = cc_wr16(d, CC(msix_config), 0);
	if (ret == 0)
		ret = status_set(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				 VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
				 VIRTIO_CONFIG_S_DRIVER_OK);
	if (ret == 0 && d->pairs > 1) {
		uint16_t p = d->pairs;

		ret = ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
			       VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &p, sizeof(p));
	}
	if (ret < 0)
		goto err;
	for (uint16_t q = 0; q < d->pairs; q++) {
		if (d->vq[2 * q].mp != NULL)
			vuc_rxq_fill(&d->vq[2 * q]);
		__atomic_store_n(&d->vq[2 * q].ready, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&d->vq[2 * q + 1].ready, 1, __ATOMIC_RELEASE);
	}
	VUC_LOG(INFO, "%s: up, features 0x%" PRIx64 ", %u queue pairs, mtu %u",
		d->path, d->features, d->pairs, d->mtu);
	return 0;
err:
	VUC_LOG(ERR, "%s: device setup failed: %s", d->path, strerror(-ret));
	vuc_device_down(d, true);
	return ret;
}

void
vuc_device_down(struct vuc_dev *d, bool reset)
{
	for (uint16_t i = 0; i < VUC_MAX_VQS; i++)
		__atomic_store_n(&d->vq[i].ready, 0, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(d->qsbr, RTE_QSBR_THRID_INVALID);
	for (uint16_t i = 0; i < VUC_MAX_VQS; i++)
		vuc_vq_drain(&d->vq[i]);
	if (d->client != NULL) {
		if (reset && rte_vfio_user_client_connected(d->client) &&
		    d->common_bar < 6)
			status_set(d, 0);
		if (rte_vfio_user_client_connected(d->client))
			unmap_memory(d);
		rte_vfio_user_client_detach(d->client);
		d->client = NULL;
	}
	d->nmaps = 0;
	if (d->notify_map != NULL) {
		uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
		uint8_t *base = (uint8_t *)RTE_ALIGN_FLOOR((uintptr_t)d->notify_map, pg);

		munmap(base, d->notify_map_len);
		d->notify_map = NULL;
	}
}
