/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Offload mode: hand the data virtqueues to a vhost-user back end.
 *
 * What goes to the engine, and when (the order QEMU's vhost-user front
 * end uses):
 * - at connection: GET_FEATURES, protocol features (MQ, REPLY_ACK),
 *   GET_QUEUE_NUM, SET_OWNER. The features offered to the driver lose
 *   the data-path features the engine lacks;
 * - at DRIVER_OK (or when the engine connects after it): SET_FEATURES
 *   (the driver's data-path features), SET_MEM_TABLE (every segment of
 *   client memory as a region: fd, file offset, IOVA as both guest
 *   physical and front-end address), then per enabled data queue
 *   SET_VRING_NUM / BASE / ADDR (IOVAs) / KICK (the eventfd its doorbell
 *   writes) / CALL (the client's MSI-X eventfd of the queue's vector; an
 *   eventfd of ours relayed to INTx when the client uses INTx) / ENABLE;
 * - on a DMA change: SET_MEM_TABLE again; on an unmap, before the library
 *   unmaps and answers (acked by the engine), after the queues whose
 *   rings go were stopped (GET_VRING_BASE; they resume from there when
 *   their rings are mapped again);
 * - on an IRQ change: SET_VRING_CALL with the new eventfds;
 * - on reset (driver, function reset, client gone): GET_VRING_BASE of
 *   every queue.
 * An engine that takes an IOTLB (VIRTIO_F_IOMMU_PLATFORM, BACKEND_REQ,
 * REPLY_ACK) gets the queues in IOTLB mode instead (vun_iotlb.h): a table
 * by file at synthetic addresses, IOTLB updates for the client's segments
 * (at hand-over, after each map, on the engine's misses, which come on the
 * backend request channel), an acked INVALIDATE before an unmap is
 * answered.
 * The engine lost (its socket hangs up, or a request fails): if it had
 * queues, the device sets DEVICE_NEEDS_RESET and raises a config
 * interrupt; reconnection is tried every VUN_OFFLOAD_RETRY_MS, and after
 * the driver's reset the queues go to the new engine at DRIVER_OK. A
 * driver that set DRIVER_OK while no engine was there gets its queues
 * handed over when one comes (the link goes up, config interrupt).
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include <rte_common.h>

#include "vfio_user_proto.h"
#include "vun.h"
#include "vun_iotlb.h"
#include "vun_offload.h"
#include "vun_vhost_user.h"

/* Features that shape the rings and buffers: the engine must have them. */
#define DP_HANDED                                                             \
	((1ULL << VIRTIO_F_VERSION_1) |                                       \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                              \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_RING_PACKED) | \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_CSUM) |     \
	 (1ULL << VIRTIO_NET_F_GUEST_CSUM))
/* Features we cannot hand over (never offered in offload mode): in-order
 * use (an engine's in-order packed rings are not ours to vouch for), one
 * queue's reset (vhost-user resets whole devices), turning the engine's
 * GUEST_CSUM off (vhost-user has no message for it), and segmentation
 * (the port's LRO decides it, not the engine's). */
#define DP_NEVER                                                        \
	((1ULL << VIRTIO_F_IN_ORDER) | (1ULL << VIRTIO_F_RING_RESET) |  \
	 (1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) | VU_PMD_HOST_TSO | \
	 VU_PMD_GUEST_TSO)

enum q_state {
	Q_OFF,		/* not the engine's */
	Q_ON,		/* the engine runs it */
	Q_PAUSED,	/* stopped at base: its rings were unmapped */
};

struct vun_offload {
	pthread_mutex_t lock;
	char path[108];			/* the engine's socket */
	struct vhu_conn vhu;		/* fd -1: not connected */
	int timer_fd;			/* reconnection attempts */
	int relay_efd;			/* call fd relayed to INTx */
	int kick[2 * VUN_MAX_QUEUE_PAIRS];
	uint64_t base_features;		/* what we offer without an engine */
	bool handed;			/* the queues went at DRIVER_OK */
	uint8_t q[2 * VUN_MAX_QUEUE_PAIRS];
	uint16_t qbase[2 * VUN_MAX_QUEUE_PAIRS];
	struct vhu_mem_region sent[VHU_MAX_MEM_REGIONS];
	uint32_t nsent;			/* regions the engine has */
	bool table_sent;
	bool iotlb;			/* IOTLB mode (vun_iotlb.h) */
	struct vun_iotlb tlb;
	uint64_t features;		/* SET_FEATURES at hand-over, less LOG_ALL */
	/* dirty logging: the engine's log (see "dirty log" below) */
	bool logging;			/* the client logs */
	int log_fd;			/* memfd, -1: none */
	uint64_t *log;			/* its mapping */
	uint64_t log_size;		/* bytes */
	uint64_t handovers;
	uint64_t losses;
};

static uint16_t
data_vqs(const struct vun_dev *d)
{
	return (uint16_t)(2 * d->max_pairs);
}

static void
timer_arm(struct vun_offload *ol, bool on)
{
	struct itimerspec it = { 0 };

	if (on) {
		it.it_value.tv_nsec = VUN_OFFLOAD_RETRY_MS * 1000000L;
		it.it_interval = it.it_value;
	}
	timerfd_settime(ol->timer_fd, 0, &it, NULL);
}

/* ---- memory table ---- */

/*
 * The engine's memory table: every segment of client memory that has a
 * file, less [skip, skip + skip_len). IOVAs serve as the engine's guest
 * physical and front-end addresses (ring addresses are IOVAs). Memory
 * without a file (message-only: a VMM's ROMs, such as QEMU's BIOS at
 * 0xfffc0000) cannot be passed on and is left out: the engine cannot
 * reach it, rings there are refused (rings_mapped()). 0, or -E2BIG (more
 * segments than a table holds).
 */
static int
table_build(struct vun_dev *d, uint64_t skip, uint64_t skip_len,
	    struct vhu_mem_region *r, uint32_t *n)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		d->dev_id);
	const struct rte_vfio_user_mem_segment *s;
	uint64_t skip_end = skip + skip_len < skip ? UINT64_MAX :
						     skip + skip_len;

	*n = 0;
	for (s = rte_vfio_user_mem_next(t, 0); s != NULL;
	     s = rte_vfio_user_mem_next(t, s->iova + s->size)) {
		uint64_t lo = s->iova, hi = s->iova + s->size, off;
		uint64_t piece[2][2] = { { lo, RTE_MIN(hi, skip) },
					 { RTE_MAX(lo, skip_end), hi } };
		int fd = rte_vfio_user_mem_fd(d->dev_id, s, &off);

		if (fd < 0)
			VUN_LOG(DEBUG,
				"%s: offload: client memory at 0x%" PRIx64
				" (0x%" PRIx64 " bytes) has no fd: not "
				"the engine's",
				d->path, s->iova, s->size);
		for (int i = 0; i < 2 && fd >= 0; i++) {
			if (piece[i][0] >= piece[i][1])
				continue;
			if (*n == VHU_MAX_MEM_REGIONS) {
				VUN_LOG(ERR,
					"%s: offload: client memory in more "
					"than %u segments",
					d->path, VHU_MAX_MEM_REGIONS);
				return -E2BIG;
			}
			r[*n] = (struct vhu_mem_region){
				.guest_phys_addr = piece[i][0],
				.memory_size = piece[i][1] - piece[i][0],
				.userspace_addr = piece[i][0],
				.mmap_offset = off + (piece[i][0] - lo),
				.fd = fd,
			};
			(*n)++;
		}
		if (hi == 0)	/* the segment ends the IOVA space */
			break;
	}
	return 0;
}

static bool
table_same(const struct vun_offload *ol, const struct vhu_mem_region *r,
	   uint32_t n)
{
	if (!ol->table_sent || n != ol->nsent)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (r[i].guest_phys_addr != ol->sent[i].guest_phys_addr ||
		    r[i].memory_size != ol->sent[i].memory_size ||
		    r[i].mmap_offset != ol->sent[i].mmap_offset)
			return false;
	return true;
}

static int log_grow(struct vun_dev *d);

/* Give the engine the table (less a range being unmapped), if it changed.
 * Returns when the engine has it. */
static int
table_send(struct vun_dev *d, uint64_t skip, uint64_t skip_len)
{
	struct vun_offload *ol = d->ol;
	struct vhu_mem_region r[VHU_MAX_MEM_REGIONS];
	uint32_t n;
	int ret;

	ret = ol->iotlb ? vun_iotlb_table(d, &ol->tlb, skip, skip_len, r, &n) :
			  table_build(d, skip, skip_len, r, &n);
	/* IOTLB mode: the log covers the synthetic space before the engine
	 * may write there (a handed engine gets the bigger log now) */
	if (ret == 0 && ol->iotlb && ol->logging)
		ret = log_grow(d);
	if (ret < 0)
		return ret;
	if (table_same(ol, r, n))
		return 0;
	ret = vhu_set_mem_table(&ol->vhu, r, n);
	if (ret < 0)
		return ret;
	memcpy(ol->sent, r, sizeof(r[0]) * n);
	ol->nsent = n;
	ol->table_sent = true;
	/* a new table flushes a back end's IOTLB (DPDK's vhost library):
	 * the next sync gives every translation again */
	if (ol->iotlb)
		vun_iotlb_forget(&ol->tlb);
	return 0;
}

/* ---- queues ---- */

static bool
packed(const struct vun_dev *d)
{
	return d->guest_features & (1ULL << VIRTIO_F_RING_PACKED);
}

/* The bytes of a queue's descriptor, driver and device areas. */
static const uint64_t *
ring_sizes(const struct vun_dev *d, uint16_t n, uint64_t sz[3])
{
	if (packed(d)) {
		sz[0] = (uint64_t)n * sizeof(struct vring_packed_desc);
		sz[1] = sz[2] = sizeof(struct vring_packed_desc_event);
		return sz;
	}
	sz[0] = (uint64_t)n * sizeof(struct vring_desc);
	sz[1] = sizeof(struct vring_avail) + (uint64_t)(n + 1) * 2;
	sz[2] = sizeof(struct vring_used) +
		(uint64_t)n * sizeof(struct vring_used_elem) + 2;
	return sz;
}

/*
 * Where the engine logs its ring writes from (VHOST_USER_SET_VRING_ADDR's
 * log_guest_addr): the used ring, or a packed ring's descriptors (DPDK's
 * vhost library logs a used descriptor at that address + its offset).
 */
static uint64_t
log_addr(const struct vun_dev *d, const struct vun_vq *vq)
{
	return packed(d) ? vq->desc_iova : vq->used_iova;
}

/*
 * A queue's VHOST_USER_SET/GET_VRING_BASE: the next avail index, with a
 * packed ring's wrap counter in bit 15 (as DPDK's vhost library and
 * QEMU's vhost-user front end have it).
 */
static uint16_t
base_of(const struct vun_dev *d, const struct vun_vq *vq)
{
	return packed(d) ? (uint16_t)(vq->last_avail |
				      (vq->avail_wrap ? 0x8000 : 0)) :
			   vq->last_avail;
}

/*
 * Whether the engine can reach every ring of vq: each lies in one segment
 * of client memory that has a file (a ring in one of the engine's
 * regions); in IOTLB mode, in segments with files (a ring over several
 * pages a vIOMMU mapped one by one: the engine's IOTLB joins them). When
 * update, IOTLB mode: the engine gets those segments' translations.
 */
static int
rings_reach(struct vun_dev *d, const struct vun_vq *vq, bool update)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		d->dev_id);
	const uint64_t at[3] = { vq->desc_iova, vq->avail_iova, vq->used_iova };
	uint64_t sz[3];
	const struct rte_vfio_user_mem_segment *s;
	uint64_t off;
	int ret;

	ring_sizes(d, vq->cfg_size, sz);
	for (int i = 0; i < 3; i++) {
		uint64_t pos = at[i], end = at[i] + sz[i];

		if (!d->ol->iotlb) {
			s = rte_vfio_user_mem_find(t, at[i], sz[i]);
			if (s == NULL || s->vaddr == NULL ||
			    rte_vfio_user_mem_fd(d->dev_id, s, &off) < 0)
				return -EFAULT;
			continue;
		}
		if (end < pos)
			return -EFAULT;
		while (pos < end) {
			s = rte_vfio_user_mem_find(t, pos, 1);
			if (s == NULL ||
			    rte_vfio_user_mem_fd(d->dev_id, s, &off) < 0)
				return -EFAULT;
			if (update) {
				ret = vun_iotlb_update(d, &d->ol->tlb,
						       &d->ol->vhu, pos);
				if (ret < 0)
					return ret;
			}
			if (s->iova + s->size <= pos)	/* ends the space */
				break;
			pos = s->iova + s->size;
		}
	}
	return 0;
}

static bool
rings_mapped(struct vun_dev *d, const struct vun_vq *vq)
{
	return rings_reach(d, vq, false) == 0;
}

static bool
rings_in(const struct vun_dev *d, const struct vun_vq *vq, uint64_t iova,
	 uint64_t len)
{
	const uint64_t at[3] = { vq->desc_iova, vq->avail_iova, vq->used_iova };
	uint64_t sz[3];

	ring_sizes(d, vq->cfg_size, sz);
	for (int i = 0; i < 3; i++)
		if ((at[i] >= iova && at[i] - iova < len) ||
		    (iova >= at[i] && iova - at[i] < sz[i]))
			return true;
	return false;
}

/* The call fd of a queue: the client's MSI-X eventfd of its vector, our
 * INTx relay, or none (the driver polls). */
static int
call_fd(struct vun_dev *d, const struct vun_vq *vq)
{
	if (rte_vfio_user_pci_msix_enabled(d->pci) == 1) {
		if (vq->cfg_vector == VIRTIO_MSI_NO_VECTOR)
			return -1;
		return rte_vfio_user_get_irq(d->dev_id,
					     VFIO_USER_PCI_MSIX_IRQ_INDEX,
					     vq->cfg_vector);
	}
	if (rte_vfio_user_irq_enabled(d->dev_id, VFIO_USER_PCI_INTX_IRQ_INDEX) >
	    0)
		return d->ol->relay_efd;
	return -1;
}

/* Whether the engine may use data queue i: a queue of the pairs the
 * driver uses (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1 after a reset). A
 * vhost-user back end uses what is enabled: the device must not queue
 * packets on receive queues past those pairs (VIRTIO 5.1.6.5.5). */
static bool
pair_active(const struct vun_dev *d, uint16_t i)
{
	return i / 2 < __atomic_load_n(&d->active_pairs, __ATOMIC_ACQUIRE);
}

/* Hand one queue over from index base. */
static int
queue_start(struct vun_dev *d, struct vun_vq *vq, uint16_t base)
{
	struct vun_offload *ol = d->ol;
	struct vhu_conn *c = &ol->vhu;
	uint32_t i = vq->index;
	int ret;

	if ((ret = vhu_set_vring_num(c, i, vq->cfg_size)) < 0 ||
	    (ret = vhu_set_vring_base(c, i, base)) < 0 ||
	    (ret = vhu_set_vring_addr(c, i, vq->desc_iova, vq->used_iova,
				      vq->avail_iova, log_addr(d, vq),
				      ol->logging ? VHU_VRING_F_LOG : 0)) < 0 ||
	    (ret = vhu_set_vring_kick(c, i, ol->kick[i])) < 0 ||
	    (ret = vhu_set_vring_call(c, i, call_fd(d, vq))) < 0)
		return ret;
	if ((c->features & (1ULL << VHU_F_PROTOCOL_FEATURES)) &&
	    (ret = vhu_set_vring_enable(c, i, pair_active(d, i))) < 0)
		return ret;
	/* IOTLB mode: the rings' translations now (as QEMU gives the used
	 * ring's), not at the engine's first misses */
	if (ol->iotlb && (ret = rings_reach(d, vq, true)) < 0)
		return ret;
	ol->q[i] = Q_ON;
	return 0;
}

/* Take a queue back: the engine stops it and says where. */
static int
queue_stop(struct vun_dev *d, uint16_t i, enum q_state to)
{
	struct vun_offload *ol = d->ol;
	uint32_t base = 0;
	int ret;

	if (ol->q[i] != Q_ON) {
		if (to == Q_OFF)
			ol->q[i] = Q_OFF;
		return 0;
	}
	ret = vhu_get_vring_base(&ol->vhu, i, &base);
	ol->q[i] = (uint8_t)to;
	ol->qbase[i] = (uint16_t)base;
	return ret;
}

static bool
engine_up(const struct vun_offload *ol)
{
	return ol->vhu.fd >= 0;
}

/* ---- dirty log ----
 *
 * While the client logs dirty pages, the engine logs its writes the way
 * vhost-user back ends do (VHOST_F_LOG_ALL, VHOST_USER_SET_LOG_BASE): one
 * bit per 4 KiB page of guest physical address (our IOVA, as in
 * SET_MEM_TABLE), set with an atomic or, in a shared memfd of ours that
 * covers every segment of client memory. Before each report the library
 * makes, log_fold() moves the bits (an atomic exchange per 64-bit word)
 * into the library's bitmaps with rte_vfio_user_mark_dirty().
 *
 * In IOTLB mode the engine's guest-physical addresses are the synthetic
 * ones of vun_iotlb.h: DPDK's vhost library (22.11 vhost.h
 * vhost_log_write_iova()) translates the IOVA it wrote to its own virtual
 * address, then that to the guest-physical address of the region holding
 * it (hva_to_gpa()), and logs that; the used ring too (vq->log_guest_addr,
 * our used ring IOVA translated once the same way, log_translate()). So
 * the log covers the synthetic space (grown with it, table_send()), and
 * the fold takes the words of the files' spans first, then marks, for
 * each segment of client memory, the IOVAs of its file range's dirty
 * synthetic pages (a file page two segments map is dirty in both). The
 * log is folded before the mode may change (a hand-over, the engine lost).
 */

/* 64-bit words of log for the addresses below end. */
static uint64_t
log_words(uint64_t end)
{
	return (end / VUN_LOG_PAGE + 63) / 64;
}

/* Log bytes for the IOVA space of client memory (a page at least). */
static uint64_t
log_bytes(struct vun_dev *d)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		d->dev_id);
	const struct rte_vfio_user_mem_segment *s;
	uint64_t end = 0;

	if (d->ol->iotlb) /* the synthetic space of the files */
		return RTE_ALIGN_CEIL(log_words(vun_iotlb_end(&d->ol->tlb)) * 8,
				      (uint64_t)VUN_LOG_PAGE);
	for (s = rte_vfio_user_mem_next(t, 0); s != NULL;
	     s = rte_vfio_user_mem_next(t, s->iova + s->size)) {
		if (s->iova + s->size < s->iova)
			return UINT64_MAX;	/* to the end of the space */
		end = RTE_MAX(end, s->iova + s->size);
	}
	/* a bit per page, 64-bit words, whole pages of log */
	return RTE_ALIGN_CEIL((end / VUN_LOG_PAGE + 1 + 63) / 64 * 8,
			      (uint64_t)VUN_LOG_PAGE);
}

static void
log_free(int fd, uint64_t *log, uint64_t size)
{
	if (log != NULL)
		munmap(log, size);
	if (fd >= 0)
		close(fd);
}

/* A new, clean log of size bytes: 0 or -errno. */
static int
log_alloc(struct vun_dev *d, uint64_t size, int *fd, uint64_t **log)
{
	int ret;

	if (size > VUN_LOG_MAX) {
		VUN_LOG(ERR,
			"%s: offload: client memory reaches past what a dirty "
			"log of %" PRIu64 " bytes covers",
			d->path, (uint64_t)VUN_LOG_MAX);
		return -E2BIG;
	}
	*fd = memfd_create("vun-dirty-log", MFD_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (ftruncate(*fd, (off_t)size) < 0) {
		ret = -errno;
		close(*fd);
		return ret;
	}
	*log = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (*log == MAP_FAILED) {
		ret = -errno;
		close(*fd);
		*log = NULL;
		return ret;
	}
	return 0;
}

/* Mark the pages of a run of set bits [page, page + n) dirty: where a
 * page is no longer in client memory, its bit goes. */
static void
log_mark(struct vun_dev *d, uint64_t page, uint64_t n)
{
	if (rte_vfio_user_mark_dirty(d->dev_id, page * VUN_LOG_PAGE,
				     n * VUN_LOG_PAGE) == 0)
		return;
	for (uint64_t p = page; p < page + n; p++)
		rte_vfio_user_mark_dirty(d->dev_id, p * VUN_LOG_PAGE,
					 VUN_LOG_PAGE);
}

/* Mark the pages of the set bits of word w of the log (value v), run by
 * run. */
static void
log_word(struct vun_dev *d, uint64_t w, uint64_t v)
{
	while (v != 0) {
		unsigned int b = (unsigned int)__builtin_ctzll(v);
		uint64_t rest = ~(v >> b); /* 0 at the run */
		unsigned int run = 64;

		if (rest != 0)
			run = (unsigned int)__builtin_ctzll(rest);
		log_mark(d, w * 64 + b, run);
		if (b + run >= 64)
			return;
		v &= ~0ULL << (b + run);
	}
}

static bool
bit_set(const uint64_t *bits, uint64_t p)
{
	return (bits[p / 64] >> (p % 64)) & 1;
}

/* IOTLB mode: mark the IOVAs of segment s (at synthetic address a) whose
 * synthetic pages have their bit set in bits (nbits of them), run by run. */
static void
log_mark_segment(struct vun_dev *d, const struct rte_vfio_user_mem_segment *s,
		 uint64_t a, const uint64_t *bits, uint64_t nbits)
{
	uint64_t first = a / VUN_LOG_PAGE;
	uint64_t last = (a + s->size - 1) / VUN_LOG_PAGE;
	uint64_t p = first, run, lo, hi;

	last = RTE_MIN(last, nbits - 1);
	while (p <= last) {
		if (bits[p / 64] == 0) {	/* 64 clean pages */
			p = RTE_ALIGN_FLOOR(p, 64) + 64;
			continue;
		}
		if (!bit_set(bits, p)) {
			p++;
			continue;
		}
		for (run = p; run + 1 <= last && bit_set(bits, run + 1); run++)
			;
		/* synthetic pages [p, run], clipped to the segment */
		lo = RTE_MAX(p * VUN_LOG_PAGE, a);
		hi = RTE_MIN((run + 1) * VUN_LOG_PAGE, a + s->size);
		rte_vfio_user_mark_dirty(d->dev_id, s->iova + (lo - a),
					 hi - lo);
		p = run + 1;
	}
}

/* IOTLB mode: the log's bits are synthetic pages (see above). */
static void
log_fold_iotlb(struct vun_dev *d, uint64_t *log, uint64_t size)
{
	const struct vun_iotlb *tlb = &d->ol->tlb;
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		d->dev_id);
	const struct rte_vfio_user_mem_segment *s;
	uint64_t nwords = RTE_MIN(size / 8, log_words(vun_iotlb_end(tlb)));
	uint64_t *bits = calloc(nwords ? nwords : 1, sizeof(*bits));
	bool any = false;

	/* the words first: the engine sets bits meanwhile, in the log */
	for (unsigned int i = 0; i < VHU_MAX_MEM_REGIONS; i++) {
		const struct vun_iotlb_file *f = &tlb->f[i];
		uint64_t w = f->base / VUN_LOG_PAGE / 64;
		uint64_t end = (f->base + f->span) / VUN_LOG_PAGE / 64;

		if (!f->used)
			continue;
		for (; w < end && w < nwords; w++) {
			uint64_t v;

			if (__atomic_load_n(&log[w], __ATOMIC_RELAXED) == 0)
				continue;
			v = __atomic_exchange_n(&log[w], 0, __ATOMIC_ACQ_REL);
			if (bits != NULL)
				bits[w] = v;
			any |= v != 0;
		}
	}
	if (!any) {
		free(bits);
		return;
	}
	for (s = rte_vfio_user_mem_next(t, 0); s != NULL;
	     s = rte_vfio_user_mem_next(t, s->iova + s->size)) {
		uint64_t a = vun_iotlb_addr(d, tlb, s);

		if (a != 0 && bits != NULL)
			log_mark_segment(d, s, a, bits, nwords * 64);
		else if (a != 0)	/* no room for the words: all dirty */
			rte_vfio_user_mark_dirty(d->dev_id, s->iova, s->size);
		if (s->iova + s->size < s->iova)
			break;	/* the segment ends the IOVA space */
	}
	free(bits);
}

/* Move the bits of log (size bytes) that cover client memory into the
 * library's bitmaps, clearing them. */
static void
log_fold(struct vun_dev *d, uint64_t *log, uint64_t size)
{
	const struct rte_vfio_user_mem_table *t = rte_vfio_user_get_mem_table(
		d->dev_id);
	const struct rte_vfio_user_mem_segment *s;
	uint64_t nwords = size / 8, w, next = 0;

	if (log == NULL)
		return;
	if (d->ol->iotlb) {
		log_fold_iotlb(d, log, size);
		return;
	}
	for (s = rte_vfio_user_mem_next(t, 0); s != NULL;
	     s = rte_vfio_user_mem_next(t, s->iova + s->size)) {
		uint64_t first = s->iova / VUN_LOG_PAGE / 64;
		uint64_t last = (s->iova + s->size - 1) / VUN_LOG_PAGE / 64;

		/* a word two segments share was taken by the first */
		for (w = RTE_MAX(first, next); w <= last && w < nwords; w++) {
			if (__atomic_load_n(&log[w], __ATOMIC_RELAXED) == 0)
				continue;
			log_word(d, w,
				 __atomic_exchange_n(&log[w], 0,
						     __ATOMIC_ACQ_REL));
		}
		next = last + 1;
		if (s->iova + s->size < s->iova)
			break;	/* the segment ends the IOVA space */
	}
}

/*
 * Make the engine log (on) or stop (off), for the queues it has: the log,
 * SET_VRING_ADDR with VHOST_VRING_F_LOG, then VHOST_F_LOG_ALL, from which
 * on every write it makes is in the log; returns when the engine took it.
 */
static int
engine_log(struct vun_dev *d, bool on)
{
	struct vun_offload *ol = d->ol;
	struct vhu_conn *c = &ol->vhu;
	int ret = 0;

	if (!engine_up(ol) || !ol->handed)
		return 0;	/* at the hand-over */
	if (on)
		ret = vhu_set_log_base(c, ol->log_fd, ol->log_size);
	for (uint16_t i = 0; i < data_vqs(d) && ret == 0; i++) {
		const struct vun_vq *vq = &d->vq[i];

		if (ol->q[i] == Q_ON)
			ret = vhu_set_vring_addr(c, i, vq->desc_iova,
						 vq->used_iova, vq->avail_iova,
						 log_addr(d, vq),
						 on ? VHU_VRING_F_LOG : 0);
	}
	if (ret == 0 && on)
		ret = vhu_set_features(c,
				       ol->features | (1ULL << VHU_F_LOG_ALL));
	else if (ret == 0)
		ret = vhu_set_features(c, ol->features);
	if (ret == 0)
		ret = vhu_sync(c);
	return ret;
}

/* Whether the engine can log its writes. */
static bool
engine_logs(const struct vun_offload *ol)
{
	return (ol->vhu.features & (1ULL << VHU_F_LOG_ALL)) &&
	       (ol->vhu.protocol_features & (1ULL << VHU_PROTOCOL_F_LOG_SHMFD));
}

/* A log big enough for client memory as it is now (DMA_CHANGED while
 * logging): the engine gets a bigger one, the old one's bits are kept. */
static int
log_grow(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;
	uint64_t size = log_bytes(d), *log, *old = ol->log;
	uint64_t old_size = ol->log_size;
	int fd, old_fd = ol->log_fd, ret;

	if (size <= ol->log_size)
		return 0;
	ret = log_alloc(d, size, &fd, &log);
	if (ret < 0)
		return ret;
	ol->log_fd = fd;
	ol->log = log;
	ol->log_size = size;
	ret = engine_up(ol) && ol->handed ?
		      vhu_set_log_base(&ol->vhu, fd, size) :
		      0;
	/* from the engine's reply on, it writes only the new log */
	log_fold(d, old, old_size);
	log_free(old_fd, old, old_size);
	return ret;
}

/*
 * After some queues stopped (GET_VRING_BASE) while others go on: a back
 * end may stop the whole device at a GET_VRING_BASE (DPDK's vhost library
 * does: destroy_device, and net_vhost then forgets which queues were
 * enabled), so the queues it keeps are disabled and enabled again, which
 * makes such a back end start them again and changes nothing for others.
 */
static int
queues_rearm(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;
	int ret = 0;

	if (!(ol->vhu.features & (1ULL << VHU_F_PROTOCOL_FEATURES)))
		return 0;
	for (uint16_t i = 0; i < data_vqs(d) && ret == 0; i++)
		if (ol->q[i] == Q_ON &&
		    (ret = vhu_set_vring_enable(&ol->vhu, i, false)) == 0 &&
		    pair_active(d, i))
			ret = vhu_set_vring_enable(&ol->vhu, i, true);
	return ret;
}

/* ---- the engine ---- */

static void on_engine(int fd, void *arg, uint32_t events);
static void on_backend(int fd, void *arg, uint32_t events);

/* The engine is gone (or failed a request): let it go, tell the driver
 * if it had the queues, and look for the next one. */
static void
engine_lost(struct vun_dev *d, const char *why)
{
	struct vun_offload *ol = d->ol;
	bool had = ol->handed;

	if (engine_up(ol)) {
		if (ol->vhu.backend_fd >= 0)
			rte_vfio_user_unwatch_fd(ol->vhu.backend_fd);
		rte_vfio_user_unwatch_fd(ol->vhu.fd);
		vhu_close(&ol->vhu);
	}
	if (ol->logging)	/* its last writes, in the mode they were in */
		log_fold(d, ol->log, ol->log_size);
	ol->iotlb = false;
	for (uint16_t i = 0; i < data_vqs(d); i++)
		had |= ol->q[i] != Q_OFF;
	memset(ol->q, Q_OFF, sizeof(ol->q));
	ol->handed = false;
	ol->table_sent = false;
	ol->nsent = 0;
	timer_arm(ol, true);
	if (!had) {
		VUN_LOG(WARNING, "%s: offload engine %s: %s", d->path, ol->path,
			why);
		return;
	}
	ol->losses++;
	VUN_LOG(ERR, "%s: offload engine %s lost with the queues (%s)", d->path,
		ol->path, why);
	vun_needs_reset(d, "offload engine lost");
}

/*
 * The data-path features the driver may not have with this engine: those
 * it lacks, and packed rings in IOTLB mode. (DPDK's vhost library, 22.11
 * to today, drops a packed-ring frame whose translation misses:
 * virtio_dev_tx_single_packed() marks used the descriptors
 * fill_vec_buf_packed() counted before its map_one_desc() failed; its
 * split dequeue retries. A Linux guest behind a strict vIOMMU lost one
 * echo request in 200 so. See "Limits" in doc/guides/howto/offload.rst.)
 */
static uint64_t
engine_lacks(const struct vun_offload *ol)
{
	uint64_t lack = DP_HANDED & ~ol->vhu.features;

	if (vhu_iotlb_capable(&ol->vhu))
		lack |= 1ULL << VIRTIO_F_RING_PACKED;
	return lack;
}

/*
 * Hand every enabled data queue over (DRIVER_OK, or an engine that came
 * after it). What the engine cannot take (features, queues, memory
 * layout) is logged and leaves the link down; an engine that fails a
 * request is lost.
 */
static void
handover(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;
	uint64_t want = d->guest_features & DP_HANDED;
	uint16_t n = 0;
	int ret;

	/* (nor while Bus Master Enable is off, or the function is not in
	 * D0: the engine masters for it) */
	if (!engine_up(ol) || ol->handed || d->bm_off ||
	    !(d->status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    (d->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		return;
	if (want & engine_lacks(ol)) {
		VUN_LOG(ERR,
			"%s: offload: the driver's features 0x%" PRIx64
			" are not all the engine's (0x%" PRIx64
			"%s): queues kept until the driver resets",
			d->path, want, ol->vhu.features,
			vhu_iotlb_capable(&ol->vhu) ?
				", IOTLB mode: split rings only" :
				"");
		vun_needs_reset(d, "offload engine lacks negotiated features");
		return;
	}
	/* IOTLB mode when the engine has it (the client's IOVAs need not be
	 * any address space of the engine's); the log, in the mode of the
	 * last hand-over, is folded before the mode may change */
	if (ol->logging)
		log_fold(d, ol->log, ol->log_size);
	ol->iotlb = vhu_iotlb_capable(&ol->vhu);
	vun_iotlb_reset(&ol->tlb);
	for (uint16_t i = 0; i < data_vqs(d); i++) {
		if (!d->vq[i].cfg_enable)
			continue;
		if (i >= 2 * ol->vhu.queue_num) {
			VUN_LOG(ERR,
				"%s: offload: queue %u enabled, the engine "
				"takes %u pairs",
				d->path, i, ol->vhu.queue_num);
			return;
		}
		if (!rings_mapped(d, &d->vq[i])) {
			vun_needs_reset(
				d, "virtqueue rings outside client memory");
			return;
		}
		n++;
	}
	if (n == 0)
		return;
	/* without MQ a vhost-user back end keeps only the first pair */
	if (n > 2 && (ol->vhu.features & (1ULL << VIRTIO_NET_F_MQ)))
		want |= 1ULL << VIRTIO_NET_F_MQ;
	if (ol->vhu.features & (1ULL << VHU_F_PROTOCOL_FEATURES))
		want |= 1ULL << VHU_F_PROTOCOL_FEATURES;
	if (ol->logging && !engine_logs(ol)) {
		VUN_LOG(ERR,
			"%s: offload: the client logs dirty pages, the engine "
			"cannot (no VHOST_F_LOG_ALL or LOG_SHMFD)",
			d->path);
		vun_needs_reset(d, "offload engine cannot log dirty pages");
		return;
	}
	if (ol->iotlb)
		want |= 1ULL << VHU_F_IOMMU_PLATFORM;
	ol->features = want;
	ret = ol->logging ? log_grow(d) : 0;
	if (ret == -E2BIG || ret == -ENOMEM)
		return;	/* ours, logged */
	if (ret == 0)
		ret = vhu_set_features(&ol->vhu,
				       want | (ol->logging ?
						       1ULL << VHU_F_LOG_ALL :
						       0));
	if (ret == 0) {
		ol->table_sent = false;
		ret = table_send(d, 0, 0);
		if (ret == -E2BIG || ret == -ENOMEM)
			return;	/* ours to fix, not the engine's: logged */
	}
	/* after the table: in IOTLB mode it sized the log */
	if (ret == 0 && ol->logging)
		ret = vhu_set_log_base(&ol->vhu, ol->log_fd, ol->log_size);
	for (uint16_t i = 0; i < data_vqs(d) && ret == 0; i++)
		if (d->vq[i].cfg_enable)	/* 0, or a migrated index */
			ret = queue_start(d, &d->vq[i], base_of(d, &d->vq[i]));
	/* IOTLB mode: every segment's translation (the queues exist now:
	 * a back end keeps translations per queue) */
	if (ret == 0 && ol->iotlb)
		ret = vun_iotlb_sync(d, &ol->tlb, &ol->vhu);
	if (ret < 0) {
		engine_lost(d, strerror(-ret));
		return;
	}
	ol->handed = true;
	ol->handovers++;
	VUN_LOG(INFO,
		"%s: offload: %u queues handed to %s, features 0x%" PRIx64
		", %u memory regions%s",
		d->path, n, ol->path, want, ol->nsent,
		ol->iotlb ? " (IOTLB mode)" : "");
}

static void
engine_connect(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;
	uint64_t lack;

	if (vhu_connect(&ol->vhu, ol->path) < 0)
		return;	/* retried by the timer */
	if (rte_vfio_user_watch_fd(ol->vhu.fd, on_engine, d) < 0) {
		vhu_close(&ol->vhu);
		return;
	}
	if (ol->vhu.backend_fd >= 0 &&
	    rte_vfio_user_watch_fd(ol->vhu.backend_fd, on_backend, d) < 0) {
		rte_vfio_user_unwatch_fd(ol->vhu.fd);
		vhu_close(&ol->vhu);
		return;
	}
	timer_arm(ol, false);
	/* offer only the data-path features the engine has */
	lack = engine_lacks(ol);
	d->host_features = ol->base_features & ~lack;
	VUN_LOG(INFO,
		"%s: offload engine %s connected: features 0x%" PRIx64
		", protocol features 0x%" PRIx64 ", %u queue pairs",
		d->path, ol->path, ol->vhu.features, ol->vhu.protocol_features,
		ol->vhu.queue_num);
	if (ol->vhu.queue_num < d->max_pairs)
		VUN_LOG(WARNING,
			"%s: offload engine takes %u queue pairs, the "
			"device has %u",
			d->path, ol->vhu.queue_num, d->max_pairs);
	if (d->status & VIRTIO_CONFIG_S_DRIVER_OK) {
		handover(d);
		if (ol->handed)
			vun_signal_config(d);	/* the link went up */
	}
}

/* The lock, for the handler of an engine fd (the event thread), without
 * waiting: the thread holding it may be waiting to unwatch that fd, so
 * that thread runs first (level-triggered: the event comes back). True
 * when taken. */
static bool
handler_lock(struct vun_offload *ol)
{
	if (pthread_mutex_trylock(&ol->lock) == 0)
		return true;
	sched_yield();
	return false;
}

/* The engine's socket: nothing comes unasked; readable means it hung up
 * (or broke the protocol). */
static void
on_engine(int fd, void *arg, uint32_t events)
{
	struct vun_dev *d = arg;
	struct vun_offload *ol = d->ol;
	char b;

	RTE_SET_USED(events);
	if (!handler_lock(ol))
		return;
	if (ol->vhu.fd == fd)
		engine_lost(d, recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ?
				       "connection closed" :
				       "unexpected message");
	pthread_mutex_unlock(&ol->lock);
}

/* The engine's backend request channel: IOTLB misses (IOTLB mode). */
static void
on_backend(int fd, void *arg, uint32_t events)
{
	struct vun_dev *d = arg;
	struct vun_offload *ol = d->ol;
	int ret;

	RTE_SET_USED(events);
	if (!handler_lock(ol))
		return;
	if (engine_up(ol) && ol->vhu.backend_fd == fd) {
		ret = vun_iotlb_serve(d, &ol->tlb, &ol->vhu);
		if (ret < 0)
			engine_lost(d,
				    ret == -ECONNRESET ?
					    "backend request channel closed" :
					    strerror(-ret));
	}
	pthread_mutex_unlock(&ol->lock);
}

static void
on_timer(int fd, void *arg, uint32_t events)
{
	struct vun_dev *d = arg;
	struct vun_offload *ol = d->ol;
	uint64_t v;

	RTE_SET_USED(events);
	if (read(fd, &v, sizeof(v)) < 0 ||
	    pthread_mutex_trylock(&ol->lock) != 0)
		return; /* busy: the next tick */
	if (!engine_up(ol))
		engine_connect(d);
	pthread_mutex_unlock(&ol->lock);
}

/* An engine signalled a queue of a client that uses INTx. */
static void
on_relay(int fd, void *arg, uint32_t events)
{
	struct vun_dev *d = arg;
	uint64_t v;

	RTE_SET_USED(events);
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	if (rte_vfio_user_pci_msix_enabled(d->pci) != 1) {
		/* the ISR bit before the INTx it explains; the PCI helper
		 * honours INTx Disable */
		__atomic_fetch_or(&d->isr, 1 /* queue interrupt */,
				  __ATOMIC_RELEASE);
		rte_vfio_user_pci_set_intx(d->pci, true);
	}
}

/*
 * Take every data queue back from the engine (GET_VRING_BASE where it
 * runs one) and mark the device not handed over; a failure means the
 * engine is lost. With record (migration stop), each queue that was
 * handed keeps in the device's vq where it stood: last_avail is the
 * index the engine gave back, last_used the used index it left in the
 * driver's ring. With ol->lock held.
 */
static void
queues_take_back(struct vun_dev *d, bool record)
{
	struct vun_offload *ol = d->ol;
	int ret = 0;

	for (uint16_t i = 0; i < data_vqs(d); i++) {
		struct vun_vq *vq = &d->vq[i];
		uint8_t was = ol->q[i];
		uint16_t used;
		int r = engine_up(ol) ? queue_stop(d, i, Q_OFF) : 0;

		ol->q[i] = Q_OFF;
		if (r < 0) {
			if (ret == 0)
				ret = r;
			continue;
		}
		if (!record || was == Q_OFF)
			continue;
		if (packed(d)) {
			/* nothing in flight at a stop: where the engine
			 * takes next, it also writes next */
			vq->last_avail = ol->qbase[i] & 0x7fff;
			vq->avail_wrap = ol->qbase[i] >> 15;
			vq->last_used = vq->last_avail;
			vq->used_wrap = vq->avail_wrap;
			continue;
		}
		vq->last_avail = ol->qbase[i];
		if (rte_vfio_user_dma_read(d->dev_id,
					   vq->used_iova +
						   offsetof(struct vring_used,
							    idx),
					   &used, sizeof(used)) == 0)
			vq->last_used = used;
		else
			vq->last_used = vq->last_avail;
		VUN_LOG(DEBUG, "%s: offload: queue %u back at avail %u used %u",
			d->path, i, vq->last_avail, vq->last_used);
	}
	ol->handed = false;
	if (ret < 0)
		engine_lost(d, strerror(-ret));
}

/* ---- hooks ---- */

void
vun_offload_driver_ok(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;

	if (ol == NULL)
		return;
	pthread_mutex_lock(&ol->lock);
	if (!engine_up(ol))
		VUN_LOG(WARNING,
			"%s: driver ready, no offload engine yet (%s): "
			"link down until it comes",
			d->path, ol->path);
	handover(d);
	pthread_mutex_unlock(&ol->lock);
}

void
vun_offload_pairs(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;
	int ret = 0;

	if (ol == NULL)
		return;
	pthread_mutex_lock(&ol->lock);
	if (!ol->handed ||
	    !(ol->vhu.features & (1ULL << VHU_F_PROTOCOL_FEATURES)))
		goto out;	/* (without, every queue is on: no messages) */
	for (uint16_t i = 0; i < data_vqs(d) && ret == 0; i++)
		if (ol->q[i] == Q_ON)
			ret = vhu_set_vring_enable(&ol->vhu, i,
						   pair_active(d, i));
	/* acked (REPLY_ACK, else this round trip): the engine no longer
	 * queues on a disabled receive queue when the driver has the ack */
	if (ret == 0)
		ret = vhu_sync(&ol->vhu);
	if (ret < 0)
		engine_lost(d, strerror(-ret));
out:
	pthread_mutex_unlock(&ol->lock);
}

void
vun_offload_reset(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;

	if (ol == NULL)
		return;
	pthread_mutex_lock(&ol->lock);
	queues_take_back(d, false);
	pthread_mutex_unlock(&ol->lock);
}

void
vun_offload_update(struct vun_dev *d, enum rte_vfio_user_status st)
{
	struct vun_offload *ol = d->ol;
	uint64_t iova = 0, len = UINT64_MAX;
	bool stopped = false;
	int ret = 0;

	if (ol == NULL)
		return;
	pthread_mutex_lock(&ol->lock);
	/* the log covers client memory before the engine may write it */
	if (st == RTE_VFIO_USER_DMA_CHANGED && ol->logging) {
		ret = log_grow(d);
		if (ret == -E2BIG || ret == -ENOMEM)
			ret = 0;	/* logged */
		if (ret < 0) {
			engine_lost(d, strerror(-ret));
			goto out;
		}
	}
	if (!engine_up(ol) || (!ol->handed && !ol->table_sent))
		goto out;
	switch (st) {
	case RTE_VFIO_USER_DMA_UNMAP_PRE:
		/* the queues whose rings go stop first, then the engine
		 * drops the range; the library answers the unmap after */
		rte_vfio_user_get_unmap_range(d->dev_id, &iova, &len);
		for (uint16_t i = 0; i < data_vqs(d) && ret == 0; i++)
			if (ol->q[i] == Q_ON &&
			    rings_in(d, &d->vq[i], iova, len)) {
				ret = queue_stop(d, i, Q_PAUSED);
				stopped = true;
			}
		/* IOTLB mode: the engine drops its translations of the
		 * range (acked: none is in use any more) */
		if (ret == 0 && ol->iotlb)
			ret = vun_iotlb_invalidate(d, &ol->tlb, &ol->vhu, iova,
						   len);
		/* its writes there, while the range's file is still in the
		 * table (the one without the range may drop it) */
		if (ret == 0 && ol->iotlb && ol->logging)
			log_fold(d, ol->log, ol->log_size);
		if (ret == 0)
			ret = table_send(d, iova, len);
		if (ret == 0 && stopped)
			ret = queues_rearm(d);
		break;
	case RTE_VFIO_USER_DMA_CHANGED:
		ret = table_send(d, 0, 0);
		if (ret == 0 && ol->iotlb)
			ret = vun_iotlb_sync(d, &ol->tlb, &ol->vhu);
		for (uint16_t i = 0; i < data_vqs(d) && ret == 0; i++)
			if (ol->q[i] == Q_PAUSED && rings_mapped(d, &d->vq[i]))
				ret = queue_start(d, &d->vq[i], ol->qbase[i]);
		break;
	case RTE_VFIO_USER_IRQ_CHANGED:
		for (uint16_t i = 0; i < data_vqs(d) && ret == 0; i++)
			if (ol->q[i] == Q_ON)
				ret = vhu_set_vring_call(&ol->vhu, i,
							 call_fd(d, &d->vq[i]));
		break;
	}
	if (ret == -E2BIG)
		ret = 0;	/* logged; the engine keeps the last table */
	if (ret < 0)
		engine_lost(d, strerror(-ret));
out:
	pthread_mutex_unlock(&ol->lock);
}

/*
 * Migration stops the device (STOP, STOP_COPY, RESUMING): the engine
 * stops every queue and says where (GET_VRING_BASE); the device state
 * carries that (last_avail) and the used index the engine left in the
 * driver's ring (last_used). When the device runs again, here or on the
 * destination, the hand-over starts the queues from there.
 */
void
vun_offload_mig_stop(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;

	if (ol == NULL)
		return;
	pthread_mutex_lock(&ol->lock);
	queues_take_back(d, true);
	pthread_mutex_unlock(&ol->lock);
}

int
vun_offload_dirty_log(struct vun_dev *d, enum rte_vfio_user_dirty_op op)
{
	struct vun_offload *ol = d->ol;
	uint64_t size;
	int ret = 0;

	if (ol == NULL)
		return 0;
	pthread_mutex_lock(&ol->lock);
	switch (op) {
	case RTE_VFIO_USER_DIRTY_START:
		if (ol->logging)
			break;
		if (engine_up(ol) && !engine_logs(ol)) {
			VUN_LOG(ERR,
				"%s: offload engine %s cannot log dirty pages "
				"(no VHOST_F_LOG_ALL or LOG_SHMFD)",
				d->path, ol->path);
			ret = -ENOTSUP;
			break;
		}
		size = log_bytes(d);
		ret = log_alloc(d, size, &ol->log_fd, &ol->log);
		if (ret < 0)
			break;
		ol->log_size = size;
		ol->logging = true;
		ret = engine_log(d, true);
		if (ret < 0)	/* logging goes on, without that engine */
			engine_lost(d, strerror(-ret));
		ret = 0;
		VUN_LOG(INFO,
			"%s: offload: dirty log of %" PRIu64 " bytes given to "
			"the engine",
			d->path, size);
		break;
	case RTE_VFIO_USER_DIRTY_SYNC:
		log_fold(d, ol->log, ol->log_size);
		break;
	case RTE_VFIO_USER_DIRTY_STOP:
		if (!ol->logging)
			break;
		ret = engine_log(d, false);
		if (ret < 0)
			engine_lost(d, strerror(-ret));
		ret = 0;
		ol->logging = false;
		log_free(ol->log_fd, ol->log, ol->log_size);
		ol->log_fd = -1;
		ol->log = NULL;
		ol->log_size = 0;
		VUN_LOG(INFO, "%s: offload: dirty logging stopped", d->path);
		break;
	}
	pthread_mutex_unlock(&ol->lock);
	return ret;
}

int
vun_offload_kick_fd(const struct vun_dev *d, uint16_t vq, int dflt)
{
	return d->ol != NULL && vq < data_vqs(d) ? d->ol->kick[vq] : dflt;
}

void
vun_offload_kick(struct vun_dev *d, uint16_t vq)
{
	if (d->ol != NULL && vq < data_vqs(d))
		eventfd_write(d->ol->kick[vq], 1);
}

bool
vun_offload_owns(const struct vun_dev *d, uint16_t vq)
{
	return d->ol != NULL && vq < data_vqs(d);
}

bool
vun_offload_link(const struct vun_dev *d, bool in_process_link)
{
	if (d->ol == NULL)
		return in_process_link;
	return __atomic_load_n(&d->ol->handed, __ATOMIC_RELAXED);
}

uint64_t
vun_offload_handovers(const struct vun_dev *d)
{
	return d->ol != NULL ? d->ol->handovers : 0;
}

uint64_t
vun_offload_losses(const struct vun_dev *d)
{
	return d->ol != NULL ? d->ol->losses : 0;
}

/* ---- setup ---- */

static void
ol_free(struct vun_offload *ol)
{
	for (unsigned int i = 0; i < RTE_DIM(ol->kick); i++)
		if (ol->kick[i] >= 0)
			close(ol->kick[i]);
	if (ol->relay_efd >= 0)
		close(ol->relay_efd);
	if (ol->timer_fd >= 0)
		close(ol->timer_fd);
	log_free(ol->log_fd, ol->log, ol->log_size);
	vun_iotlb_reset(&ol->tlb);
	vhu_close(&ol->vhu);
	pthread_mutex_destroy(&ol->lock);
	free(ol);
}

int
vun_offload_init(struct vun_dev *d, const char *engine_path)
{
	struct vun_offload *ol = calloc(1, sizeof(*ol));

	if (ol == NULL)
		return -ENOMEM;
	pthread_mutex_init(&ol->lock, NULL);
	ol->vhu.fd = -1;
	ol->vhu.backend_fd = -1;
	ol->relay_efd = ol->timer_fd = ol->log_fd = -1;
	for (unsigned int i = 0; i < RTE_DIM(ol->kick); i++)
		ol->kick[i] = -1;
	if (strlen(engine_path) >= sizeof(ol->path)) {
		ol_free(ol);
		return -ENAMETOOLONG;
	}
	strcpy(ol->path, engine_path);
	for (uint16_t i = 0; i < data_vqs(d); i++) {
		ol->kick[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (ol->kick[i] < 0)
			goto err;
	}
	ol->relay_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ol->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				      TFD_NONBLOCK | TFD_CLOEXEC);
	if (ol->relay_efd < 0 || ol->timer_fd < 0)
		goto err;
	/* never offered here: what cannot be handed over */
	d->host_features &= ~DP_NEVER;
	ol->base_features = d->host_features;
	d->ol = ol;
	return 0;
err:
	ol_free(ol);
	return -errno;
}

int
vun_offload_registered(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;
	int ret;

	if (ol == NULL)
		return 0;
	ret = rte_vfio_user_mem_keep_fds(d->dev_id, true);
	if (ret == 0)
		ret = rte_vfio_user_watch_fd(ol->timer_fd, on_timer, d);
	if (ret == 0)
		ret = rte_vfio_user_watch_fd(ol->relay_efd, on_relay, d);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&ol->lock);
	engine_connect(d);
	if (!engine_up(ol)) {
		VUN_LOG(WARNING,
			"%s: offload engine %s not there yet: trying "
			"every %u ms",
			d->path, ol->path, VUN_OFFLOAD_RETRY_MS);
		timer_arm(ol, true);
	}
	pthread_mutex_unlock(&ol->lock);
	return 0;
}

void
vun_offload_fini(struct vun_dev *d)
{
	struct vun_offload *ol = d->ol;

	if (ol == NULL)
		return;
	/* without the lock: a running callback may be waiting for it */
	rte_vfio_user_unwatch_fd(ol->timer_fd);
	rte_vfio_user_unwatch_fd(ol->relay_efd);
	if (engine_up(ol)) {	/* nothing reconnects any more */
		if (ol->vhu.backend_fd >= 0)
			rte_vfio_user_unwatch_fd(ol->vhu.backend_fd);
		rte_vfio_user_unwatch_fd(ol->vhu.fd);
	}
	d->ol = NULL;
	ol_free(ol);
}
