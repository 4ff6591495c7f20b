/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Control path of net_virtio_vfio_user: attach to the device, map our
 * memory, find the virtio capabilities in its config space, negotiate,
 * set up the virtqueues and the interrupts, and tear all that down again.
 */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/eventfd.h>
#include <fcntl.h>
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

#include "vu_pmd_csum.h"
#include "vu_pmd_ethdev.h"
#include "vuc.h"

#define WANT_FEATURES                                                        \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ACCESS_PLATFORM) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_NET_F_MAC) |    \
	 (1ULL << VIRTIO_NET_F_STATUS) | (1ULL << VIRTIO_NET_F_MTU) |        \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_CTRL_VQ) | \
	 (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR) | (1ULL << VIRTIO_NET_F_MQ) |  \
	 (1ULL << VIRTIO_NET_F_SPEED_DUPLEX))

#define CFG_SIZE 256
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS 0x06
#define PCI_CAP_PTR 0x34
#define PCI_CAP_ID_MSIX 0x11
#define PCI_MSIX_FLAGS 2
#define PCI_MSIX_FLAGS_QSIZE 0x07ff
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE 4
#define PCI_MSIX_ENTRY_SIZE 16
#define PCI_MSIX_ENTRY_VECTOR_CTRL 12

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
		if (cfg[off] == PCI_CAP_ID_MSIX) {
			uint16_t ctl;
			uint32_t tbl;

			memcpy(&ctl, &cfg[off + PCI_MSIX_FLAGS], 2);
			memcpy(&tbl, &cfg[off + PCI_MSIX_TABLE], 4);
			d->msix_cap = off;
			d->msix_nvec = (uint16_t)((ctl & PCI_MSIX_FLAGS_QSIZE) + 1);
			d->msix_table_bar = tbl & 7;
			d->msix_table_off = tbl & ~7u;
			continue;
		}
		if (cfg[off] != 0x09)
			continue;
		memcpy(&cap, &cfg[off], sizeof(cap));
		if (cap.bar > 5)
			continue;
		/* the first of a type: the device's preference (VIRTIO 1.2
		 * 4.1.4.1) */
		if (cap.cfg_type >= VIRTIO_PCI_CAP_COMMON_CFG &&
		    cap.cfg_type <= VIRTIO_PCI_CAP_DEVICE_CFG &&
		    (found & (1u << (cap.cfg_type - 1))))
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
			d->notify_len = cap.length;
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
			d->devcfg_len = cap.length;
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
	if (d->msix_cap == 0 || d->msix_table_bar > 5) {
		VUC_LOG(ERR, "%s: the device has no usable MSI-X capability",
			d->path);
		return -ENODEV;
	}
	/* memory space and bus mastering on, as a PCI driver does; INTx off:
	 * we use MSI-X */
	memcpy(&cmd, &cfg[PCI_COMMAND], 2);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
	return rte_vfio_user_client_region_write(d->client,
			VFIO_USER_PCI_CONFIG_REGION_INDEX, PCI_COMMAND, &cmd, 2, false);
}

/* An access of a bulk call: len bytes at off of region, read into or
 * written from v. */
static void
acc(struct rte_vfio_user_client_access *a, uint32_t region, uint64_t off,
    void *v, uint32_t len, bool write)
{
	*a = (struct rte_vfio_user_client_access){
		.offset = off,
		.buf = v,
		.region = region,
		.len = len,
		.write = write,
	};
}

/*
 * MSI-X on (or off) as a PCI driver does it, in one bulk call: the
 * function masked, the vectors [0, nvec) unmasked in the table (masked
 * again when off; their eventfds carry the interrupts: address and data
 * mean nothing here), then the function unmasked (off). A strict device
 * latches interrupts in its PBA until then.
 */
static int
msix_switch(struct vuc_dev *d, uint16_t nvec, bool on)
{
	uint16_t ctl_masked = PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL,
		 ctl_end = on ? PCI_MSIX_FLAGS_ENABLE : 0;
	uint32_t vctl = on ? 0 : 1;
	struct rte_vfio_user_client_access a[VUC_MAX_QUEUE_PAIRS + 3];
	uint32_t k = 0;

	if (nvec > RTE_DIM(a) - 2)
		return -ENOSPC;
	acc(&a[k++], VFIO_USER_PCI_CONFIG_REGION_INDEX,
	    d->msix_cap + PCI_MSIX_FLAGS, &ctl_masked, 2, true);
	for (uint16_t v = 0; v < nvec; v++)
		acc(&a[k++], d->msix_table_bar,
		    d->msix_table_off + (uint64_t)v * PCI_MSIX_ENTRY_SIZE +
			    PCI_MSIX_ENTRY_VECTOR_CTRL,
		    &vctl, 4, true);
	acc(&a[k++], VFIO_USER_PCI_CONFIG_REGION_INDEX,
	    d->msix_cap + PCI_MSIX_FLAGS, &ctl_end, 2, true);
	return rte_vfio_user_client_region_access_bulk(d->client, a, k, NULL);
}

static int
msix_enable(struct vuc_dev *d, uint16_t nvec)
{
	/* used even if it fails: the accesses after a failed one were made
	 * (pipelined), so the vectors may be on; the teardown turns them off */
	d->msix_used = nvec;
	return msix_switch(d, nvec, true);
}

/* MSI-X off, our vectors masked again (as a PCI driver's shutdown). */
static void
msix_disable(struct vuc_dev *d)
{
	if (d->msix_used == 0)
		return;
	msix_switch(d, d->msix_used, false);
	d->msix_used = 0;
}

/*
 * The notify area's pages [start, start + len) of client c, mmapped for
 * doorbell stores, or NULL (doorbells by message): the device must let
 * them be mapped, and their file must be sealed against shrinking, or a
 * store could raise SIGBUS (region_mmap() seals what it can). Doorbells
 * are rare here: messages cost nothing worth a risk.
 */
uint8_t *
vuc_notify_mmap(struct vuc_dev *d, struct rte_vfio_user_client *c,
		uint64_t start, uint64_t len)
{
	struct rte_vfio_user_client_region reg;
	uint8_t *p;
	int seals;

	if (rte_vfio_user_client_region_info(c, d->notify_bar, &reg) < 0 ||
	    !(reg.flags & VFIO_USER_REGION_INFO_FLAG_MMAP))
		return NULL;
	p = rte_vfio_user_client_region_mmap(c, d->notify_bar, start, len,
					     PROT_WRITE);
	if (p == NULL)
		return NULL;
	seals = fcntl(reg.fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		munmap(p, len);
		VUC_LOG(INFO,
			"%s: the notify area's file can shrink: "
			"doorbells by message",
			d->path);
		return NULL;
	}
	return p;
}

/* mmap the notify area if the device lets us: doorbells become stores. */
static void
map_notify(struct vuc_dev *d)
{
	uint64_t len = (uint64_t)d->notify_mult * d->num_vqs + 2;
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = RTE_ALIGN_FLOOR(d->notify_base, pg);
	uint64_t end = RTE_ALIGN_CEIL(d->notify_base + len, pg);

	d->notify_map = vuc_notify_mmap(d, d->client, start, end - start);
	if (d->notify_map == NULL)
		return;
	d->notify_map_len = end - start;
	d->notify_room = end - d->notify_base;
	d->notify_map += d->notify_base - start;
	VUC_LOG(INFO, "%s: doorbells through the mmapped notify area", d->path);
}

/* ---- DMA mapping of our memory ---- */

/* The memseg runs to map (adjacent memsegs of one fd, in one region),
 * gathered by a walk and mapped in one pipelined call. */
struct map_run {
	struct rte_vfio_user_client_dma_region *r;
	uint32_t n, cap;
	int err;
};

static int
seg_cb(const struct rte_memseg_list *msl, const struct rte_memseg *ms,
       void *arg)
{
	struct map_run *m = arg;
	struct rte_vfio_user_client_dma_region *last = m->n > 0 ?
							       &m->r[m->n - 1] :
							       NULL;
	size_t off = 0;
	int fd;

	if (msl->external)
		return 0;
	fd = rte_memseg_get_fd_thread_unsafe(ms);
	if (fd >= 0 && rte_memseg_get_fd_offset_thread_unsafe(ms, &off) < 0)
		fd = -1;
	if (last != NULL && last->fd == fd &&
	    last->iova + last->size == ms->addr_64 &&
	    (fd < 0 || last->fd_offset + last->size == off)) {
		last->size += ms->len;
		return 0;
	}
	if (m->n == m->cap) {
		uint32_t cap = m->cap ? 2 * m->cap : 64;
		void *p = realloc(m->r, cap * sizeof(*m->r));

		if (p == NULL) {
			m->err = -ENOMEM;
			return -1;
		}
		m->r = p;
		m->cap = cap;
	}
	m->r[m->n++] = (struct rte_vfio_user_client_dma_region){
		.iova = ms->addr_64,
		.size = ms->len,
		.vaddr = ms->addr,
		.fd = fd,
		.fd_offset = fd < 0 ? 0 : off,
		.prot = VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE,
	};
	return 0;
}

/*
 * Map the runs m gathered on client c and record them in its table t
 * (d->maps for our device, whose failures are said here; d->move_maps
 * for a move's, whose failure the move reports). Frees the runs. 0 or
 * -errno.
 */
static int
map_runs(struct vuc_dev *d, struct vuc_maps *t, struct rte_vfio_user_client *c,
	 struct map_run *m)
{
	bool ours = t == &d->maps;
	int ret = m->err;

	if (ret == 0 && t->n + m->n > RTE_DIM(t->r)) {
		if (ours)
			VUC_LOG(ERR, "%s: %u DMA regions, at most %zu", d->path,
				t->n + m->n, RTE_DIM(t->r));
		ret = -ENOSPC;
	}
	if (ret == 0)
		ret = rte_vfio_user_client_dma_map_bulk(c, m->r, m->n);
	if (ret < 0 && ours && m->n == 1)
		VUC_LOG(ERR, "%s: DMA_MAP [0x%" PRIx64 ", +0x%" PRIx64 "): %s",
			d->path, m->r[0].iova, m->r[0].size, strerror(-ret));
	else if (ret < 0 && ours)	/* the library said which */
		VUC_LOG(ERR, "%s: DMA_MAP of %u regions: %s", d->path, m->n,
			strerror(-ret));
	for (uint32_t i = 0; ret == 0 && i < m->n; i++) {
		if (m->r[i].fd < 0 && ours)
			VUC_LOG(WARNING,
				"%s: memory at 0x%" PRIx64 " has no "
				"fd: the device reaches it by messages only",
				d->path, m->r[i].iova);
		t->r[t->n++] = m->r[i];
	}
	free(m->r);
	*m = (struct map_run){ 0 };
	return ret;
}

/* All our memory to the device, as it is now; from then on the hotplug
 * callback keeps the maps up to date (d->mapped). */
static int
map_memory(struct vuc_dev *d)
{
	struct map_run m = { 0 };
	int ret;

	rte_mcfg_mem_read_lock();
	pthread_mutex_lock(&d->maps_lock);
	d->maps.n = 0;
	rte_memseg_walk_thread_unsafe(seg_cb, &m);
	ret = map_runs(d, &d->maps, d->client, &m);
	d->mapped = ret == 0;
	if (ret == 0)
		__atomic_store_n(&d->maps_lost, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->maps_lock);
	rte_mcfg_mem_read_unlock();
	if (ret == 0)
		VUC_LOG(INFO, "%s: %u DMA regions mapped", d->path, d->maps.n);
	return ret;
}

/* Map the same memory to another device (a move), in d->move_maps; the
 * hotplug callback maps and unmaps on c too until the move ends
 * (vuc_move_switch() or vuc_move_forget()). */
int
vuc_map_memory_on(struct vuc_dev *d, struct rte_vfio_user_client *c)
{
	struct map_run m = { 0 };
	int ret;

	rte_mcfg_mem_read_lock();
	pthread_mutex_lock(&d->maps_lock);
	d->move_maps.n = 0;
	rte_memseg_walk_thread_unsafe(seg_cb, &m);
	ret = map_runs(d, &d->move_maps, c, &m);
	if (ret == 0) {
		d->move_to = c;
		d->move_map_err = 0;
	}
	pthread_mutex_unlock(&d->maps_lock);
	rte_mcfg_mem_read_unlock();
	return ret;
}

/* A move's switch to c: c is our device from now on, unless a hotplug
 * map it refused meanwhile left it without some of our memory (that
 * errno, and the move fails). */
int
vuc_move_switch(struct vuc_dev *d, struct rte_vfio_user_client *c)
{
	int ret;

	pthread_mutex_lock(&d->maps_lock);
	ret = d->move_map_err;
	if (ret == 0) {
		__atomic_store_n(&d->client, c, __ATOMIC_RELEASE);
		d->maps = d->move_maps;
	}
	d->move_to = NULL;
	pthread_mutex_unlock(&d->maps_lock);
	return ret;
}

/* A move that failed: its device is left, the callback forgets it. */
void
vuc_move_forget(struct vuc_dev *d)
{
	pthread_mutex_lock(&d->maps_lock);
	d->move_to = NULL;
	pthread_mutex_unlock(&d->maps_lock);
}

/* Map the memsegs in [va, va + len) but those in [skip, skip + skip_len). */
struct range_walk {
	struct map_run runs;
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
	return seg_cb(msl, ms, &w->runs);
}

/* Map on c, recorded in t, the memsegs in [lo, hi) but those in
 * [skip, skip_end). 0 or -errno. */
static int
map_range(struct vuc_dev *d, struct vuc_maps *t, struct rte_vfio_user_client *c,
	  uint64_t lo, uint64_t hi, uint64_t skip, uint64_t skip_end)
{
	struct range_walk w = {
		.lo = lo, .hi = hi, .skip = skip, .skip_end = skip_end,
	};

	rte_memseg_walk_thread_unsafe(range_cb, &w);
	return map_runs(d, t, c, &w.runs);
}

/* One memory event on device c whose maps t records: map what was added;
 * for a free, unmap every map touching the range and map back what stays
 * allocated around it. 0 or the first -errno. */
static int
maps_update(struct vuc_dev *d, struct vuc_maps *t,
	    struct rte_vfio_user_client *c, enum rte_mem_event ev, uint64_t va,
	    uint64_t len)
{
	int ret = 0;

	if (ev == RTE_MEM_EVENT_ALLOC)
		return map_range(d, t, c, va, va + len, 0, 0);
	for (uint32_t i = 0; i < t->n;) {
		uint64_t mva = t->r[i].iova, mlen = t->r[i].size;
		int r;

		if (mva + mlen <= va || mva >= va + len) {
			i++;
			continue;
		}
		rte_vfio_user_client_dma_unmap(c, mva, mlen);
		t->r[i] = t->r[--t->n];
		r = map_range(d, t, c, mva, mva + mlen, va, va + len);
		ret = ret < 0 ? ret : r;
		i = 0;	/* the table changed: look again */
	}
	return ret;
}

/*
 * Memory hotplug, from the callback (DPDK's memory hotplug lock held for
 * writing; maps_lock only, see struct vuc_dev): the maps follow the
 * memory, on our device and on a move's meanwhile (each with its own
 * runs). Nothing before the maps are made (map_memory() walks the memory
 * as it is then) or once they are undone.
 *
 * A map the device refuses leaves memory of ours it cannot reach: frames
 * there would be dropped, or the device would stop on them. The port is
 * then set up again from scratch, as for NEEDS_RESET (with reconnect=;
 * without it, at the port's next start), and the link is read soon, so that
 * LSC callbacks hear of it; a move's device that refuses one is not moved
 * to.
 */
void
vuc_mem_event(struct vuc_dev *d, enum rte_mem_event ev, uint64_t va,
	      uint64_t len)
{
	int ret = 0;

	pthread_mutex_lock(&d->maps_lock);
	if (!d->mapped)
		goto out;
	/* a move's device too when ours is gone meanwhile: the move may
	 * still switch to it */
	if (rte_vfio_user_client_connected(d->client))
		ret = maps_update(d, &d->maps, d->client, ev, va, len);
	if (d->move_to != NULL) {
		int rb = maps_update(d, &d->move_maps, d->move_to, ev, va, len);

		if (rb < 0 && d->move_map_err == 0)
			d->move_map_err = rb;
	}
	/* (a device gone meanwhile is the disconnection's business) */
	if (ret < 0 && ret != -ENOTCONN &&
	    rte_vfio_user_client_connected(d->client) &&
	    !__atomic_exchange_n(&d->maps_lost, 1, __ATOMIC_ACQ_REL)) {
		VUC_LOG(ERR,
			"%s: memory %s at 0x%" PRIx64 " (+0x%" PRIx64
			"): the device cannot reach all of ours (%s); %s",
			d->path, ev == RTE_MEM_EVENT_ALLOC ? "added" : "freed",
			va, len, strerror(-ret),
			d->reconnect_ms ? "setting it up again" :
					  "link down until the port starts "
					  "again (or give reconnect=MS)");
		vuc_reset_later(d);
		vuc_link_check_later(d);
	}
out:
	pthread_mutex_unlock(&d->maps_lock);
}

/* Undo the maps (with maps_lock held), if the device is still there: 0,
 * or the error of the DMA_UNMAPs. */
static int
unmap_memory(struct vuc_dev *d)
{
	int ret = 0;

	if (d->mapped && rte_vfio_user_client_connected(d->client))
		ret = rte_vfio_user_client_dma_unmap_bulk(d->client, d->maps.r,
							  d->maps.n);
	d->mapped = false;
	d->maps.n = 0;
	return ret;
}

/* ---- virtqueues ---- */

/* A control command and its ack, at the end of the control queue's zone. */
struct ctrl_buf {
	struct virtio_net_ctrl_hdr h;
	uint8_t data[64];
	uint8_t ack;
};

static size_t
ring_bytes(uint16_t n)
{
	size_t s = RTE_ALIGN_CEIL((size_t)n * 16 + 6 + 2 * (size_t)n, 4096);

	s += RTE_ALIGN_CEIL(6 + 8 * (size_t)n, 4096);
	/* then the headers of the slots; the control queue's command
	 * (struct ctrl_buf) at the zone's end, whatever the queue's size */
	return s + RTE_MAX((size_t)n * sizeof(struct virtio_net_hdr_mrg_rxbuf),
			   sizeof(struct ctrl_buf));
}

static int
vq_alloc(struct vuc_dev *d, struct vuc_vq *vq, uint16_t n)
{
	char name[RTE_MEMZONE_NAMESIZE];

	if (vq->mz != NULL && vq->size == n)
		return 0;
	rte_memzone_free(vq->mz);
	rte_free(vq->cookie);
	/* a name of its own: rings left to a device that did not let them
	 * go keep theirs (vuc_device_down()) */
	snprintf(name, sizeof(name), "vuc%u_vq%u_%u", d->port_id, vq->index,
		 d->mz_gen++);
	vq->mz = rte_memzone_reserve_aligned(name, ring_bytes(n), SOCKET_ID_ANY,
					     0, 4096);
	vq->cookie = rte_zmalloc(name, n * sizeof(*vq->cookie), 0);
	if (vq->mz == NULL || vq->cookie == NULL)
		return -ENOMEM;
	vq->size = n;
	return 0;
}

/*
 * Where the rings are in the queue's memzone. Split: descriptor table,
 * avail ring, then the used ring on a page of its own. Packed: the
 * descriptor ring, then the driver and the device event suppression
 * structures, each in a cache line of its own (one side writes each). The
 * zone (ring_bytes()) holds either.
 */
static void
vq_layout(struct vuc_vq *vq)
{
	uint8_t *base = vq->mz->addr;
	size_t n = vq->size;

	if (vq->packed) {
		vq->pdesc = (void *)base;
		vq->drv_event = (void *)(base +
					 RTE_ALIGN_CEIL(n * 16,
							RTE_CACHE_LINE_SIZE));
		vq->dev_event = (void *)(base +
					 RTE_ALIGN_CEIL(n * 16,
							RTE_CACHE_LINE_SIZE) +
					 RTE_CACHE_LINE_SIZE);
		return;
	}
	vq->desc = (void *)base;
	vq->avail = (void *)(base + n * 16);
	vq->used = (void *)(base + RTE_ALIGN_CEIL(n * 16 + 6 + 2 * n, 4096));
}

/*
 * Route an event (the selected queue's, or the configuration's) to an
 * MSI-X vector and read it back: a device that cannot answers NO_VECTOR
 * (VIRTIO 1.2 4.1.5.1.2, MSI-X Vector Configuration). The vector in
 * force, or -errno.
 */
/* The vector in force after the device read back got for vector: that
 * one, or (refused, said) NO_VECTOR. */
static uint16_t
vector_taken(struct vuc_dev *d, const char *what, uint16_t index,
	     uint16_t vector, uint16_t got)
{
	if (got == vector)
		return vector;
	VUC_LOG(WARNING,
		"%s: %s %u: the device refused MSI-X vector %u (it says %u): "
		"no interrupts from it",
		d->path, what, index, vector, got);
	return VIRTIO_MSI_NO_VECTOR;
}

static int
vector_set(struct vuc_dev *d, size_t off, uint16_t vector, const char *what,
	   uint16_t index)
{
	uint16_t got = vector;
	int ret = cc_wr16(d, off, vector);

	if (ret == 0 && vector != VIRTIO_MSI_NO_VECTOR)
		ret = cc_rd(d, off, &got, 2);
	if (ret < 0)
		return ret;
	return vector_taken(d, what, index, vector, got);
}

/* An access to a register of the common configuration, for a bulk call. */
static void
cc_acc(struct vuc_dev *d, struct rte_vfio_user_client_access *a, size_t off,
       void *v, uint32_t len, bool write)
{
	acc(a, d->common_bar, d->common_off + off, v, len, write);
}

/* What the setup of one queue reads from and writes to the device. */
struct vq_regs {
	uint16_t index;		/* queue_select */
	uint16_t max;		/* queue_size as the device offers it */
	uint16_t notify_off;
	uint16_t size;		/* queue_size we take */
	uint16_t vector, vector_got;
	uint16_t enable;
	uint32_t addr[6];	/* desc, driver, device: lo, hi */
};

/* Size the queue from what the device allows, make its rings and find its
 * doorbell. */
static int
vq_prepare(struct vuc_dev *d, struct vuc_vq *vq, struct vq_regs *r)
{
	bool packed = d->features & (1ULL << VIRTIO_F_RING_PACKED);
	uint64_t a[3], bell;
	uint16_t n;
	int ret;

	if (r->max == 0)
		return -ENODEV;
	/* a split ring's size is a power of 2 (VIRTIO 2.7); a control
	 * command takes three descriptors */
	n = RTE_MIN(r->max, VUC_DEF_QUEUE_SIZE);
	if (!packed)
		n = (uint16_t)rte_align32prevpow2(n);
	if (n < VUC_MIN_QUEUE_SIZE) {
		VUC_LOG(ERR,
			"%s: queue %u: the device allows %u entries, we "
			"need %u",
			d->path, vq->index, r->max, VUC_MIN_QUEUE_SIZE);
		return -ENODEV;
	}
	ret = vq_alloc(d, vq, n);
	if (ret < 0)
		return ret;
	vq->dev = d;
	vq->port_id = d->port_id;
	vq->event_idx = d->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->mrg_rxbuf = d->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	vq->csum = d->features & (1ULL << VIRTIO_NET_F_CSUM);
	vq->guest_csum = d->features & (1ULL << VIRTIO_NET_F_GUEST_CSUM);
	vq->gso_types = (uint8_t)vu_pmd_gso_types(d->features, false);
	vq->cut_next = false;
	vq->lro_types = (uint8_t)vu_pmd_gso_types(d->features, true);
	vq->in_order = d->features & (1ULL << VIRTIO_F_IN_ORDER);
	vq->packed = packed;
	vq_layout(vq);
	vq->hdr_len = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	vq->vector = r->vector;
	vuc_vq_init_ring(vq);
	/* the doorbell must lie in the notify capability (VIRTIO 4.1.4.4):
	 * stored through the mapping, an offset past it would hit any of
	 * our memory */
	bell = (uint64_t)r->notify_off * d->notify_mult;
	if (bell + 2 > d->notify_len) {
		VUC_LOG(ERR,
			"%s: queue %u doorbell at +0x%" PRIx64 " is outside "
			"the notify capability (%u bytes)",
			d->path, vq->index, bell, d->notify_len);
		return -ENODEV;
	}
	vq->notify_off = d->notify_base + bell;
	vq->notify_mmap = d->notify_map != NULL && bell + 2 <= d->notify_room ?
				  (volatile uint16_t *)(d->notify_map + bell) :
				  NULL;
	vq->bell_fd = vq->notify_mmap == NULL ?
			      vuc_bells_fd(&d->bells, vq->notify_off,
					   vq->index) :
			      -1;
	r->size = vq->size;
	a[0] = (uint64_t)(uintptr_t)vq->desc;
	a[1] = (uint64_t)(uintptr_t)vq->avail;
	a[2] = (uint64_t)(uintptr_t)vq->used;
	for (int k = 0; k < 3; k++) {
		r->addr[2 * k] = (uint32_t)a[k];
		r->addr[2 * k + 1] = (uint32_t)(a[k] >> 32);
	}
	r->enable = 1;
	return 0;
}

/*
 * Set up the queues vqs[0, n), each routed to its MSI-X vector (read
 * back: a device that cannot answers NO_VECTOR, VIRTIO 1.2 4.1.5.1.2,
 * and the queue goes on without). Two bulk calls, each a round trip
 * whatever n (one access at a time, it was 12 round trips a queue): the
 * sizes and doorbells of all queues, then their rings, vectors and
 * enables; the device serves them in order, each queue_select before the
 * registers it selects. When an access fails, the rest of its call was
 * sent and made anyway: the caller's failure path resets the device
 * (status 0, before DRIVER_OK was ever set), which forgets them.
 */
static int
vqs_setup(struct vuc_dev *d, struct vuc_vq *const *vqs, const uint16_t *vectors,
	  uint16_t n)
{
	enum {
		/* the most accesses of a queue in one call: select, size,
		 * 6 addresses, vector and its read back, enable */
		PER_QUEUE = 11,
	};
	struct rte_vfio_user_client_access *a;
	struct vq_regs *r;
	uint32_t k = 0;
	int ret;

	a = calloc((size_t)n * PER_QUEUE, sizeof(*a));
	r = calloc(n, sizeof(*r));
	if (a == NULL || r == NULL) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint16_t i = 0; i < n; i++) {
		r[i].index = vqs[i]->index;
		r[i].vector = vectors[i];
		cc_acc(d, &a[k++], CC(queue_select), &r[i].index, 2, true);
		cc_acc(d, &a[k++], CC(queue_size), &r[i].max, 2, false);
		cc_acc(d, &a[k++], CC(queue_notify_off), &r[i].notify_off, 2,
		       false);
	}
	ret = rte_vfio_user_client_region_access_bulk(d->client, a, k, NULL);
	for (uint16_t i = 0; i < n && ret == 0; i++)
		ret = vq_prepare(d, vqs[i], &r[i]);
	if (ret < 0)
		goto out;
	k = 0;
	for (uint16_t i = 0; i < n; i++) {
		static const size_t addr_off[6] = {
			CC(queue_desc_lo),  CC(queue_desc_hi),
			CC(queue_avail_lo), CC(queue_avail_hi),
			CC(queue_used_lo),  CC(queue_used_hi),
		};

		cc_acc(d, &a[k++], CC(queue_select), &r[i].index, 2, true);
		cc_acc(d, &a[k++], CC(queue_size), &r[i].size, 2, true);
		for (int j = 0; j < 6; j++)
			cc_acc(d, &a[k++], addr_off[j], &r[i].addr[j], 4, true);
		cc_acc(d, &a[k++], CC(queue_msix_vector), &r[i].vector, 2,
		       true);
		r[i].vector_got = r[i].vector;
		if (r[i].vector != VIRTIO_MSI_NO_VECTOR)
			cc_acc(d, &a[k++], CC(queue_msix_vector),
			       &r[i].vector_got, 2, false);
		cc_acc(d, &a[k++], CC(queue_enable), &r[i].enable, 2, true);
	}
	ret = rte_vfio_user_client_region_access_bulk(d->client, a, k, NULL);
	for (uint16_t i = 0; i < n && ret == 0; i++)
		vqs[i]->vector = vector_taken(d, "queue", r[i].index,
					      r[i].vector, r[i].vector_got);
out:
	free(a);
	free(r);
	return ret;
}

/* "rx" or "tx": a data queue's direction (receiveq 2q, transmitq 2q + 1) */
#define VUC_VQ_DIR(vq) ((vq)->index & 1 ? "tx" : "rx")

/* The MSI-X vector of a data queue: receive queue q on vector q + 1
 * while the device has it, transmit queues on none. */
static uint16_t
vq_vector(const struct vuc_dev *d, const struct vuc_vq *vq)
{
	if (vq->index & 1)
		return VIRTIO_MSI_NO_VECTOR;
	return vq->qid + 1 < d->msix_nvec ? (uint16_t)(vq->qid + 1) :
					    VIRTIO_MSI_NO_VECTOR;
}

/*
 * Whether the reset of a virtqueue is done (ask: asked first, queue_select
 * and 1 to queue_reset): queue_reset and queue_enable both read 0
 * (VIRTIO 1.2 4.1.4.3.2). Then the buffers of its ring are ours again and
 * the ring as new: 1; 0 while not; a negative errno if the device could
 * not be asked.
 */
static int
vq_reset_step(struct vuc_dev *d, struct vuc_vq *vq, bool ask)
{
	uint16_t sel = vq->index, one = 1, rst = 1, en = 1;
	struct rte_vfio_user_client_access a[4];
	unsigned int k = 0;
	int ret;

	cc_acc(d, &a[k++], CC(queue_select), &sel, 2, true);
	if (ask)
		cc_acc(d, &a[k++], VIRTIO_PCI_COMMON_Q_RESET, &one, 2, true);
	cc_acc(d, &a[k++], VIRTIO_PCI_COMMON_Q_RESET, &rst, 2, false);
	cc_acc(d, &a[k++], CC(queue_enable), &en, 2, false);
	ret = rte_vfio_user_client_region_access_bulk(d->client, a, k, NULL);
	if (ret < 0 || rst != 0 || en != 0)
		return ret < 0 ? ret : 0;
	vq->reset_pending = false;
	vq->dev_reset = true;
	vuc_vq_drain(vq);
	vuc_vq_init_ring(vq);
	return 1;
}

/*
 * Reset one virtqueue (VIRTIO_F_RING_RESET, VIRTIO 1.2 2.6.1, 4.1.4.3),
 * waiting at most the request timeout for the device to say it is done
 * (vq_reset_step()). 0: done; a negative errno: the reset stays pending
 * (reset_pending), the buffers of the ring the device's until it says
 * done.
 */
static int
vq_reset(struct vuc_dev *d, struct vuc_vq *vq)
{
	uint64_t t0 = rte_get_timer_cycles(), hz = rte_get_timer_hz();
	int ret;

	vq->reset_pending = true;
	ret = vq_reset_step(d, vq, true);
	while (ret == 0) {
		if (rte_get_timer_cycles() - t0 > hz * d->timeout_ms / 1000) {
			VUC_LOG(ERR,
				"%s: %s queue %u (virtqueue %u): the device did "
				"not complete its reset in %u ms",
				d->path, VUC_VQ_DIR(vq), vq->qid, vq->index,
				d->timeout_ms);
			return -ETIMEDOUT;
		}
		rte_delay_us_sleep(1000);
		ret = vq_reset_step(d, vq, false);
	}
	if (ret < 0)
		VUC_LOG(ERR, "%s: %s queue %u (virtqueue %u): reset: %s",
			d->path, VUC_VQ_DIR(vq), vq->qid, vq->index,
			strerror(-ret));
	return ret < 0 ? ret : 0;
}

static bool
device_there(const struct vuc_dev *d)
{
	return d->client != NULL && rte_vfio_user_client_connected(d->client);
}

/* Whether the device set up has vq: it is there, the queue's rings are,
 * and its pair is one the device has (a device with fewer pairs than the
 * port came in: another queue has that index, the control queue say). */
static bool
device_has(const struct vuc_dev *d, const struct vuc_vq *vq)
{
	return device_there(d) && vq->mz != NULL && vq->qid < d->pairs;
}

int
vuc_vq_stop(struct vuc_dev *d, struct vuc_vq *vq)
{
	uint64_t drain = rte_get_timer_hz() * VUC_STOP_DRAIN_MS / 1000;
	int ret;

	if (vq->stopped)
		return 0;
	vq->stopped = true;
	/* out of the data path: no burst uses it after the grace period */
	__atomic_store_n(&vq->ready, 0, __ATOMIC_RELEASE);
	rte_vfio_user_qsbr_barrier();
	rte_rcu_qsbr_synchronize(d->qsbr, RTE_QSBR_THRID_INVALID);
	/* a device down was drained, one gone will be (vuc_device_down()):
	 * the next setup leaves the queue stopped */
	if (!device_has(d, vq))
		return 0;
	/* what was queued still reaches the device, as at a port stop */
	if (vq->index & 1)
		vuc_txq_drain_wait_one(d, vq, rte_get_timer_cycles() + drain);
	ret = vq_reset(d, vq);
	if (ret < 0) {
		/* its buffers stay the device's until it says the reset is
		 * done (a start asks again) or is reset as a whole, which
		 * the port does next */
		VUC_LOG(ERR,
			"%s: %s queue %u stopped, its buffers left to the "
			"device until its reset is done",
			d->path, VUC_VQ_DIR(vq), vq->qid);
		vuc_reset_later(d);
	}
	return ret;
}

int
vuc_vq_start(struct vuc_dev *d, struct vuc_vq *vq)
{
	int ret;

	if (!vq->stopped)
		return 0;
	/* no device now (or not with this queue): the next setup starts it */
	if (!device_has(d, vq)) {
		vq->stopped = false;
		return 0;
	}
	/* a reset the device had not done: done now, or the queue is the
	 * device's still (VIRTIO 1.2 4.1.4.3.2) */
	if (vq->reset_pending) {
		ret = vq_reset_step(d, vq, false);
		if (ret <= 0) {
			VUC_LOG(ERR,
				"%s: %s queue %u: the device has not done its "
				"reset: not started",
				d->path, VUC_VQ_DIR(vq), vq->qid);
			return ret < 0 ? ret : -EBUSY;
		}
	}
	if (vq->dev_reset) {
		/* as at the device's setup (VIRTIO 1.2 2.6.1.2): size, rings
		 * and vector (read back), then queue_enable */
		struct vuc_vq *one = vq;
		uint16_t vector = vq_vector(d, vq);

		ret = vqs_setup(d, &one, &vector, 1);
		if (ret < 0) {
			/* the accesses after a failed one were made: the
			 * device may have the queue half set up, or enabled;
			 * set up again as a whole (the queue stays stopped) */
			VUC_LOG(ERR, "%s: %s queue %u: set up again: %s",
				d->path, VUC_VQ_DIR(vq), vq->qid,
				strerror(-ret));
			vuc_reset_later(d);
			return ret;
		}
		vq->dev_reset = false;
	}
	if (!(vq->index & 1) && vq->mp != NULL)
		vuc_rxq_fill(vq);
	vq->stopped = false;
	__atomic_store_n(&vq->ready, 1, __ATOMIC_RELEASE);
	return 0;
}

/* ctrl_cmd() on a packed queue: three descriptors at the next positions,
 * one buffer (id 0: there is only ever one); wait for it to be used. */
static int
ctrl_cmd_packed(struct vuc_dev *d, struct vuc_vq *vq, void *h, uint32_t hlen,
		void *data, uint32_t len, uint8_t *ack)
{
	const uint16_t fa = 1u << VRING_PACKED_DESC_F_AVAIL;
	const uint16_t fu = 1u << VRING_PACKED_DESC_F_USED;
	struct {
		void *p;
		uint32_t len;
		uint16_t f;
	} e[3] = {
		{ h, hlen, VRING_DESC_F_NEXT },
		{ data, len, VRING_DESC_F_NEXT },
		{ ack, 1, VRING_DESC_F_WRITE },
	};
	uint16_t pos = vq->avail_idx, first = pos, first_flags = 0;
	bool wrap = vq->avail_wrap, uwrap;
	uint64_t deadline;

	for (int i = 0; i < 3; i++) {
		struct vring_packed_desc *dd = &vq->pdesc[pos];
		uint16_t f = e[i].f | (wrap ? fa : fu);

		dd->addr = (uint64_t)(uintptr_t)e[i].p;
		dd->len = e[i].len;
		dd->id = 0;
		if (i == 0)
			first_flags = f;
		else
			__atomic_store_n(&dd->flags, f, __ATOMIC_RELEASE);
		if (++pos == vq->size) {
			pos = 0;
			wrap = !wrap;
		}
	}
	__atomic_store_n(&vq->pdesc[first].flags, first_flags,
			 __ATOMIC_RELEASE);
	vq->avail_idx = pos;
	vq->avail_wrap = wrap;
	vuc_kick(vq);
	/* used: AVAIL and USED both equal to the device's wrap counter, which
	 * is ours at that position */
	uwrap = vq->used_wrap;
	deadline = rte_get_timer_cycles() + rte_get_timer_hz() * 5;
	for (;;) {
		uint16_t f = __atomic_load_n(&vq->pdesc[first].flags,
					     __ATOMIC_ACQUIRE) &
			     (fa | fu);

		if (f == (uwrap ? (fa | fu) : 0))
			break;
		if (rte_get_timer_cycles() > deadline ||
		    !rte_vfio_user_client_connected(d->client))
			return -ETIMEDOUT;
		rte_delay_us_sleep(100);
	}
	vq->last_used = pos;
	vq->used_wrap = wrap;
	return *ack == VIRTIO_NET_OK ? 0 : -EIO;
}

/* A control command: header + data in, one ack byte out. Polls. */
static int
ctrl_cmd(struct vuc_dev *d, uint8_t cls, uint8_t cmd, const void *data,
	 uint16_t len)
{
	struct vuc_vq *vq = &d->vq[2 * d->max_pairs];
	struct ctrl_buf *buf = (void *)((uint8_t *)vq->mz->addr + vq->mz->len -
					sizeof(struct ctrl_buf));
	uint64_t deadline;

	/* one command at a time: the area after the used ring is the control
	 * queue's own; descriptors 0-2, or the next three in ring order */
	if (len > sizeof(buf->data))
		return -EINVAL;
	buf->h.class = cls;
	buf->h.cmd = cmd;
	memcpy(buf->data, data, len);
	buf->ack = 0xff;
	if (vq->packed)
		return ctrl_cmd_packed(d, vq, &buf->h, sizeof(buf->h),
				       buf->data, len, &buf->ack);
	{
		uint16_t m = vq->size - 1;
		uint16_t h = vq->in_order ? vq->free_head : 0;
		uint16_t h1 = (uint16_t)((h + 1) & m),
			 h2 = (uint16_t)((h + 2) & m);

		vq->desc[h] = (struct vring_desc){ (uintptr_t)&buf->h,
						   sizeof(buf->h),
						   VRING_DESC_F_NEXT, h1 };
		vq->desc[h1] = (struct vring_desc){ (uintptr_t)buf->data, len,
						    VRING_DESC_F_NEXT, h2 };
		vq->desc[h2] = (struct vring_desc){ (uintptr_t)&buf->ack, 1,
						    VRING_DESC_F_WRITE,
						    (uint16_t)((h2 + 1) & m) };
		if (vq->in_order)
			vq->free_head = (uint16_t)((h2 + 1) & m);
		vq->avail->ring[vq->avail_idx & m] = h;
	}
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

/*
 * Tell the device the port's MAC address (VIRTIO_NET_CTRL_MAC_ADDR_SET,
 * VIRTIO 1.2 5.1.6.5.2), if the port has one of its own (mac=, set by the
 * application, or the random one of a device without VIRTIO_NET_F_MAC)
 * and the device took CTRL_MAC_ADDR; 0 otherwise. With d->lock held, the
 * device up.
 */
int
vuc_mac_tell(struct vuc_dev *d)
{
	if ((!d->mac_given && (d->features & (1ULL << VIRTIO_NET_F_MAC))) ||
	    !(d->features & (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR)))
		return 0;
	return ctrl_cmd(d, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
			d->mac.addr_bytes, RTE_ETHER_ADDR_LEN);
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

int
vuc_irqs_setup(struct vuc_dev *d, struct rte_vfio_user_client *c)
{
	int fds[VUC_MAX_QUEUE_PAIRS + 1];
	/* the configuration's vector, then a receive queue's each while the
	 * device has them */
	uint16_t n = RTE_MIN((uint16_t)(d->pairs + 1), d->msix_nvec);
	int ret;

	if (n < d->pairs + 1 && c == d->client)
		VUC_LOG(NOTICE,
			"%s: %u MSI-X vectors for %u queue pairs: receive "
			"queues %u and up have no interrupt",
			d->path, d->msix_nvec, d->pairs, n - 1);
	fds[0] = d->config_efd;
	for (uint16_t q = 0; q < d->pairs; q++)
		fds[q + 1] = d->vq[2 * q].efd;
	for (uint16_t i = 0; i < n; i++)
		if (fds[i] < 0)
			return -EBADF;
	ret = rte_vfio_user_client_set_irqs(
		c, VFIO_USER_PCI_MSIX_IRQ_INDEX,
		VFIO_USER_IRQ_SET_DATA_EVENTFD |
			VFIO_USER_IRQ_SET_ACTION_TRIGGER,
		0, n, fds);
	/* a device moved to another backend has its MSI-X state from the
	 * migration data: only the device's own client enables it here */
	if (ret == 0 && c == d->client)
		ret = msix_enable(d, n);
	return ret;
}

int
vuc_rxq_intr(struct vuc_dev *d, uint16_t q, bool enable)
{
	struct vuc_vq *vq = &d->vq[2 * q];

	if (q >= d->pairs || vq->avail == NULL)
		return -EINVAL;
	if (enable && vq->vector == VIRTIO_MSI_NO_VECTOR)
		return -ENOTSUP;	/* the device refused it */
	vq->intr_on = enable;
	if (vq->packed) {
		__atomic_store_n(&vq->drv_event->flags,
				 enable ? VRING_PACKED_EVENT_FLAG_ENABLE :
					  VRING_PACKED_EVENT_FLAG_DISABLE,
				 __ATOMIC_RELEASE);
		return 0;
	}
	/* with EVENT_IDX only used_event counts: the next entry, or one the
	 * device has just passed (it comes round again after 64K entries) */
	if (vq->event_idx)
		vq->avail->ring[vq->size] = (uint16_t)(vq->last_used -
						       (enable ? 0 : 1));
	/* and the flags 0 (VIRTIO 1.2 2.7.10.1: a driver MUST with it) */
	__atomic_store_n(&vq->avail->flags,
			 enable || vq->event_idx ? 0 :
						   VRING_AVAIL_F_NO_INTERRUPT,
			 __ATOMIC_RELEASE);
	return 0;
}

static void link_speed_read(struct vuc_dev *d,
			    const struct virtio_net_config *nc);
static int netcfg_read(struct vuc_dev *d, struct virtio_net_config *nc);

int
vuc_read_link(struct vuc_dev *d)
{
	struct virtio_net_config nc;
	uint8_t dst;
	bool reset;

	if (d->client == NULL || !rte_vfio_user_client_connected(d->client))
		return 0;
	/* memory the device cannot reach (vuc_mem_event()), or it gave up
	 * on our setup (e.g. its offload engine went): down until it is set
	 * up again, as after a reconnection (reconnect=MS; asked at every
	 * read: a request made while an attempt ran went unheard) */
	reset = __atomic_load_n(&d->maps_lost, __ATOMIC_ACQUIRE);
	if (!reset && status_get(d, &dst) == 0 &&
	    (dst & VIRTIO_CONFIG_S_NEEDS_RESET)) {
		VUC_LOG(WARNING, "%s: device needs reset", d->path);
		reset = true;
	}
	if (reset) {
		vuc_reset_later(d);
		return 0;
	}
	/* the status and, with SPEED_DUPLEX, the speed and duplex, which a
	 * driver should read again at a configuration change (VIRTIO 1.2
	 * 5.1.4.2): one bulk call, config_generation around it */
	if (netcfg_read(d, &nc) < 0)
		return 0;
	link_speed_read(d, &nc);
	return !(d->features & (1ULL << VIRTIO_NET_F_STATUS)) ||
	       (nc.status & VIRTIO_NET_S_LINK_UP);
}

/* ---- up / down ---- */

void
vuc_on_disconnect(struct rte_vfio_user_client *c, void *arg)
{
	struct vuc_dev *d = arg;

	/* the backend a move left behind: not ours any more */
	if (c != __atomic_load_n(&d->client, __ATOMIC_ACQUIRE))
		return;
	VUC_LOG(WARNING, "%s: device disconnected", d->path);
	vuc_link_set(d, false);
	vuc_schedule_reconnect(d);
}

/*
 * Reset the device and wait until it says it is done: device_status reads
 * 0 (VIRTIO 1.2 4.1.4.3.2, a driver MUST, before it initializes the
 * device again); a device may complete a reset later. At most the request
 * timeout.
 */
static int
device_reset(struct vuc_dev *d)
{
	uint8_t zero = 0, st = 0xff;
	struct rte_vfio_user_client_access a[2];
	uint64_t t0 = rte_get_timer_cycles(), hz = rte_get_timer_hz();
	int ret;

	cc_acc(d, &a[0], CC(device_status), &zero, 1, true);
	cc_acc(d, &a[1], CC(device_status), &st, 1, false);
	ret = rte_vfio_user_client_region_access_bulk(d->client, a, 2, NULL);
	while (ret == 0 && st != 0) {
		if (rte_get_timer_cycles() - t0 > hz * d->timeout_ms / 1000) {
			VUC_LOG(ERR,
				"%s: the device did not complete its reset in "
				"%u ms (device_status 0x%x)",
				d->path, d->timeout_ms, st);
			return -ETIMEDOUT;
		}
		rte_delay_us_sleep(1000);
		ret = status_get(d, &st);
	}
	return ret;
}

/*
 * The link's speed and duplex with SPEED_DUPLEX (VIRTIO 1.2 5.1.4: speed
 * in Mbit/s up to 0x7fffffff, -1 for unknown; duplex 1 full, 0 half, 0xff
 * unknown): an unknown speed is RTE_ETH_SPEED_NUM_UNKNOWN, an unknown
 * duplex full; without the feature the ports' default (10G, full). Read
 * at each setup and each read of the link (vuc_read_link()).
 */
static void
link_speed_read(struct vuc_dev *d, const struct virtio_net_config *nc)
{
	const struct rte_eth_link def = vu_pmd_link(1);

	d->link_speed = def.link_speed;
	d->link_duplex = def.link_duplex;
	if (!(d->features & (1ULL << VIRTIO_NET_F_SPEED_DUPLEX)))
		return;
	if (nc->speed <= INT32_MAX)	/* 5.1.4: else -1, unknown */
		d->link_speed = nc->speed;
	else
		d->link_speed = RTE_ETH_SPEED_NUM_UNKNOWN;
	if (nc->duplex == 0)
		d->link_duplex = RTE_ETH_LINK_HALF_DUPLEX;
}

/*
 * The device configuration's fields of the negotiated features (VIRTIO
 * 1.2 5.1.4: mac, status, max_virtqueue_pairs, mtu, in that order), no
 * more (a device sizes the structure to what it has), read between two
 * equal reads of config_generation (2.5.1): one bulk call a try.
 */
static int
netcfg_read(struct vuc_dev *d, struct virtio_net_config *nc)
{
	static const struct {
		unsigned int bit;
		uint32_t end;
	} fields[] = {
		{ VIRTIO_NET_F_MAC,
		  offsetof(struct virtio_net_config, status) },
		{ VIRTIO_NET_F_STATUS,
		  offsetof(struct virtio_net_config, max_virtqueue_pairs) },
		{ VIRTIO_NET_F_MQ, offsetof(struct virtio_net_config, mtu) },
		{ VIRTIO_NET_F_MTU,
		  offsetof(struct virtio_net_config, mtu) + 2 },
		{ VIRTIO_NET_F_SPEED_DUPLEX,
		  offsetof(struct virtio_net_config, duplex) + 1 },
	};
	struct rte_vfio_user_client_access a[3];
	uint32_t len = 0;
	uint8_t g0, g1;
	int ret;

	memset(nc, 0, sizeof(*nc));
	for (unsigned int i = 0; i < RTE_DIM(fields); i++)
		if (d->features & (1ULL << fields[i].bit))
			len = RTE_MAX(len, fields[i].end);
	if (len > d->devcfg_len) {
		VUC_LOG(ERR,
			"%s: device configuration of %u bytes, the "
			"features need %u",
			d->path, d->devcfg_len, len);
		return -ENODEV;
	}
	if (len == 0)
		return 0;
	for (unsigned int t = 0; t < 100; t++) {
		cc_acc(d, &a[0], CC(config_generation), &g0, 1, false);
		acc(&a[1], d->devcfg_bar, d->devcfg_off, nc, len, false);
		cc_acc(d, &a[2], CC(config_generation), &g1, 1, false);
		ret = rte_vfio_user_client_region_access_bulk(d->client, a, 3,
							      NULL);
		if (ret < 0 || g0 == g1)
			return ret;
	}
	VUC_LOG(ERR,
		"%s: the device configuration changed at each of 100 "
		"reads",
		d->path);
	return -EAGAIN;
}

/* Reset, then feature negotiation (VIRTIO 1.2 3.1.1): three bulk calls, a
 * round trip each (13 one access at a time). */
static int
negotiate(struct vuc_dev *d)
{
	uint8_t st_ack = VIRTIO_CONFIG_S_ACKNOWLEDGE,
		st_drv = st_ack | VIRTIO_CONFIG_S_DRIVER,
		st_fok = st_drv | VIRTIO_CONFIG_S_FEATURES_OK, st;
	uint32_t sel[2] = { 0, 1 }, lo, hi, g[2];
	struct rte_vfio_user_client_access a[6];
	uint64_t want;
	int ret;

	ret = device_reset(d);
	if (ret < 0)
		return ret;
	cc_acc(d, &a[0], CC(device_status), &st_ack, 1, true);
	cc_acc(d, &a[1], CC(device_status), &st_drv, 1, true);
	cc_acc(d, &a[2], CC(device_feature_select), &sel[0], 4, true);
	cc_acc(d, &a[3], CC(device_feature), &lo, 4, false);
	cc_acc(d, &a[4], CC(device_feature_select), &sel[1], 4, true);
	cc_acc(d, &a[5], CC(device_feature), &hi, 4, false);
	ret = rte_vfio_user_client_region_access_bulk(d->client, a, 6, NULL);
	if (ret < 0)
		return ret;
	want = WANT_FEATURES;
	if (d->packed_vq)
		want |= 1ULL << VIRTIO_F_RING_PACKED;
	if (d->in_order)
		want |= 1ULL << VIRTIO_F_IN_ORDER;
	if (!d->mrg_rxbuf)
		want &= ~(1ULL << VIRTIO_NET_F_MRG_RXBUF);
	if (d->ring_reset)
		want |= 1ULL << VIRTIO_F_RING_RESET;
	/* checksum offloads only when the port's were enabled: a device
	 * that may send partial checksums has every received header read */
	d->offload_asked = d->offload_want;
	want |= d->offload_asked;
	d->features = ((uint64_t)hi << 32 | lo) & want;
	/* segmentation only with its checksums (VIRTIO 5.1.3.1), whatever
	 * the device offers */
	if (!(d->features & (1ULL << VIRTIO_NET_F_CSUM)))
		d->features &= ~VU_PMD_HOST_TSO;
	/* (and its GSO packets into mergeable buffers: ours are mbufs, not
	 * the 64 KiB ones VIRTIO 5.1.6.3.1 asks for without) */
	if (!(d->features & (1ULL << VIRTIO_NET_F_GUEST_CSUM)) ||
	    !(d->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF)))
		d->features &= ~VU_PMD_GUEST_TSO;
	/* the control queue's commands only with it (VIRTIO 5.1.3.1) */
	if (!(d->features & (1ULL << VIRTIO_NET_F_CTRL_VQ)))
		d->features &= ~((1ULL << VIRTIO_NET_F_MQ) |
				 (1ULL << VIRTIO_NET_F_CTRL_MAC_ADDR));
	if (!(d->features & (1ULL << VIRTIO_F_VERSION_1))) {
		VUC_LOG(ERR, "%s: device does not offer VIRTIO_F_VERSION_1", d->path);
		return -ENOTSUP;
	}
	g[0] = (uint32_t)d->features;
	g[1] = (uint32_t)(d->features >> 32);
	cc_acc(d, &a[0], CC(guest_feature_select), &sel[0], 4, true);
	cc_acc(d, &a[1], CC(guest_feature), &g[0], 4, true);
	cc_acc(d, &a[2], CC(guest_feature_select), &sel[1], 4, true);
	cc_acc(d, &a[3], CC(guest_feature), &g[1], 4, true);
	cc_acc(d, &a[4], CC(device_status), &st_fok, 1, true);
	cc_acc(d, &a[5], CC(device_status), &st, 1, false);
	ret = rte_vfio_user_client_region_access_bulk(d->client, a, 6, NULL);
	if (ret < 0)
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
		.timeout_ms = d->timeout_ms,
		.on_disconnect = vuc_on_disconnect,
		.cb_arg = d,
	};
	struct vfio_user_device_info info;
	struct virtio_net_config nc;
	uint16_t nq, dev_pairs = 1;
	unsigned int has_cvq;
	int ret;

	d->msix_cap = 0;
	d->msix_used = 0;
	d->client = rte_vfio_user_client_attach(&conf);
	if (d->client == NULL) {
		/* said once per cause: a retrying port (reconnect=) would
		 * say it at every attempt */
		if (d->attach_err != rte_errno)
			VUC_LOG(ERR, "%s: no device there: %s%s", d->path,
				rte_strerror(rte_errno),
				d->reconnect_ms ?
					"" :
					" (start its backend first, or give "
					"reconnect=MS to wait for it)");
		d->attach_err = rte_errno;
		return -rte_errno;
	}
	d->attach_err = 0;
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
	if (d->notify_map == NULL &&
	    vuc_bells_get(d, d->client, &d->bells) == 0 && d->bells.n > 0)
		VUC_LOG(INFO, "%s: doorbells through the device's ioeventfds",
			d->path);
	ret = map_memory(d);
	if (ret == 0)
		ret = negotiate(d);
	if (ret == 0)
		ret = netcfg_read(d, &nc);
	if (ret < 0)
		goto err;
	if (d->features & (1ULL << VIRTIO_NET_F_MAC)) {
		struct rte_ether_addr *port_mac =
			rte_eth_devices[d->port_id].data->mac_addrs;

		if (!d->mac_given)
			memcpy(&d->mac, nc.mac, RTE_ETHER_ADDR_LEN);
		/* the port's too (a probe that came before the device took
		 * a random one): ethdev gives it back at every start */
		if (!d->mac_given && port_mac != NULL)
			rte_ether_addr_copy(&d->mac, port_mac);
	} else if (rte_is_zero_ether_addr(&d->mac)) {
		/* a locally administered one (VIRTIO 1.2 5.1.4.2), kept
		 * across reconnections */
		rte_eth_random_addr(d->mac.addr_bytes);
	}
	if (d->features & (1ULL << VIRTIO_NET_F_MTU))
		d->mtu = nc.mtu;
	link_speed_read(d, &nc);
	if (d->features & (1ULL << VIRTIO_NET_F_MQ))
		dev_pairs = nc.max_virtqueue_pairs;
	if (!(d->features & (1ULL << VIRTIO_NET_F_CTRL_VQ)))
		dev_pairs = 1;
	/* the queues it names must exist: 2 per pair, then the control
	 * queue (whose index must fit queue_select) */
	has_cvq = !!(d->features & (1ULL << VIRTIO_NET_F_CTRL_VQ));
	if (dev_pairs == 0 || 2u * dev_pairs + has_cvq > nq) {
		VUC_LOG(ERR, "%s: device has %u queue pairs in %u queues",
			d->path, dev_pairs, nq);
		ret = -ENODEV;
		goto err;
	}
	d->pairs = RTE_MIN(d->max_pairs, dev_pairs);
	if (d->pairs < d->max_pairs)
		VUC_LOG(WARNING, "%s: device has %u queue pairs, %u asked",
			d->path, dev_pairs, d->max_pairs);

	ret = vuc_irqs_setup(d, d->client);
	if (ret < 0)
		goto err;
	if (ret == 0) {
		struct vuc_vq *vqs[VUC_MAX_VQS];
		uint16_t vectors[VUC_MAX_VQS], n = 0;

		/* receive queues on vectors 1.. (while the device has
		 * them), transmit queues on none */
		for (uint16_t q = 0; q < d->pairs; q++) {
			vqs[n] = &d->vq[2 * q];
			vectors[n] = vq_vector(d, vqs[n]);
			n++;
			vqs[n] = &d->vq[2 * q + 1];
			vectors[n] = vq_vector(d, vqs[n]);
			n++;
		}
		if (d->features & (1ULL << VIRTIO_NET_F_CTRL_VQ)) {
			vqs[n] = &d->vq[2 * d->max_pairs];
			vqs[n]->index = (uint16_t)(2 * dev_pairs);
			vectors[n++] = VIRTIO_MSI_NO_VECTOR;
		}
		ret = vqs_setup(d, vqs, vectors, n);
	}
	if (ret == 0)
		ret = vector_set(d, CC(msix_config), 0, "configuration", 0);
	if (ret == VIRTIO_MSI_NO_VECTOR) {
		/* no other interrupt to fall back on (the port uses MSI-X
		 * only): link changes and NEEDS_RESET would go unseen */
		VUC_LOG(ERR,
			"%s: a device without a configuration "
			"interrupt is not driven",
			d->path);
		ret = -ENODEV;
	}
	if (ret >= 0)
		ret = status_set(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				 VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
				 VIRTIO_CONFIG_S_DRIVER_OK);
	if (ret == 0 && d->pairs > 1) {
		uint16_t p = d->pairs;

		ret = ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
			       VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &p, sizeof(p));
	}
	if (ret == 0 && (ret = vuc_mac_tell(d)) == -EIO) {
		/* refused: the port keeps its address, the device its own */
		VUC_LOG(WARNING,
			"%s: the device refused the port's MAC address",
			d->path);
		ret = 0;
	}
	if (ret < 0)
		goto err;
	/*
	 * Every queue was enabled before DRIVER_OK (VIRTIO 1.2 3.1.1); the
	 * ones the application stopped (or whose start is deferred) are
	 * reset now, as a queue stop does, and wait for a queue start. A
	 * device without RING_RESET keeps them enabled: empty, out of the
	 * data path until a queue start, which then needs no reset.
	 */
	for (uint16_t i = 0; i < 2 * d->pairs; i++) {
		struct vuc_vq *vq = &d->vq[i];

		vq->dev_reset = false;
		vq->reset_pending = false;
		if (vq->stopped) {
			/* a reset the device does not complete (said) leaves
			 * the queue out all the same, not the whole setup:
			 * nothing is posted to it, and its start asks again
			 * whether the reset is done before setting it up */
			if (d->features & (1ULL << VIRTIO_F_RING_RESET))
				vq_reset(d, vq);
			continue;
		}
		if (!(i & 1) && vq->mp != NULL)
			vuc_rxq_fill(vq);
		__atomic_store_n(&vq->ready, 1, __ATOMIC_RELEASE);
	}
	VUC_LOG(INFO, "%s: up, features 0x%" PRIx64 ", %u queue pairs, mtu %u",
		d->path, d->features, d->pairs, d->mtu);
	return 0;
err:
	VUC_LOG(ERR, "%s: device setup failed: %s", d->path, strerror(-ret));
	/* given up on it (VIRTIO 1.2 3.1.1), before the reset; not to a
	 * device that did not answer in time (a reset it never completed:
	 * nothing is written to it before status reads 0) */
	if (ret != -ETIMEDOUT && d->client != NULL &&
	    rte_vfio_user_client_connected(d->client) && d->common_bar < 6) {
		uint8_t st = 0;

		if (status_get(d, &st) == 0)
			status_set(d, st | VIRTIO_CONFIG_S_FAILED);
	}
	vuc_device_down(d, true);
	return ret;
}

/*
 * The buffers made available belong to the device until it used them or
 * its reset is complete (VIRTIO 1.2 2.4, 4.1.4.3.2: device_status reads
 * 0): reset first and wait, then take our memory back (the DMA_UNMAP
 * replies: nothing reaches it after them), and only then free the mbufs
 * the rings still hold. A device connected that neither completed its
 * reset nor gave the memory back may still write into them: they are
 * left, not freed (said in the log).
 */
void
vuc_device_down(struct vuc_dev *d, bool reset)
{
	bool quiet = true;

	for (uint16_t i = 0; i < VUC_MAX_VQS; i++)
		__atomic_store_n(&d->vq[i].ready, 0, __ATOMIC_RELEASE);
	/* the data path may go online without a fence */
	rte_vfio_user_qsbr_barrier();
	rte_rcu_qsbr_synchronize(d->qsbr, RTE_QSBR_THRID_INVALID);
	if (d->client != NULL) {
		bool was_reset = false;

		if (reset && rte_vfio_user_client_connected(d->client) &&
		    d->common_bar < 6) {
			was_reset = device_reset(d) == 0;
			msix_disable(d);
		}
		pthread_mutex_lock(&d->maps_lock);
		if (unmap_memory(d) < 0 && !was_reset)
			quiet = false;
		pthread_mutex_unlock(&d->maps_lock);
		rte_vfio_user_client_detach(d->client);
		d->client = NULL;
	}
	if (quiet) {
		for (uint16_t i = 0; i < VUC_MAX_VQS; i++)
			vuc_vq_drain(&d->vq[i]);
	} else {
		/* its rings (memzones) and the mbufs in them are left to it
		 * for good: never freed, not used again */
		for (uint16_t i = 0; i < VUC_MAX_VQS; i++) {
			struct vuc_vq *vq = &d->vq[i];

			for (uint16_t k = 0; vq->cookie != NULL && k < vq->size;
			     k++)
				vq->cookie[k].m = NULL;
			vq->inflight = 0;
			vq->mz = NULL;
		}
		VUC_LOG(ERR,
			"%s: the device neither completed its reset nor "
			"gave our memory back: its rings and the mbufs in them "
			"are left to it (not freed)",
			d->path);
	}
	for (uint16_t i = 0; i < VUC_MAX_VQS; i++)
		d->vq[i].bell_fd = -1;
	vuc_bells_close(&d->bells);
	if (d->notify_map != NULL) {
		uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
		uint8_t *base = (uint8_t *)RTE_ALIGN_FLOOR((uintptr_t)d->notify_map, pg);

		munmap(base, d->notify_map_len);
		d->notify_map = NULL;
	}
}
