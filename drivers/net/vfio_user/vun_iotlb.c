/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * IOTLB mode of the offload: the engine's memory table by file, at
 * synthetic addresses, and its IOTLB filled from the DMA table (see
 * vun_iotlb.h and doc/guides/howto/offload.rst).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_common.h>

#include "vun.h"
#include "vun_iotlb.h"

void
vun_iotlb_reset(struct vun_iotlb *t)
{
	free(t->known);
	memset(t, 0, sizeof(*t));
}

void
vun_iotlb_forget(struct vun_iotlb *t)
{
	free(t->known);
	t->known = NULL;
	t->nknown = 0;
}

/* Where the next file goes: after every file in use. */
static uint64_t
next_base(const struct vun_iotlb_file *f)
{
	uint64_t b = VUN_IOTLB_ALIGN;	/* never 0: nothing maps there */

	for (unsigned int i = 0; i < VHU_MAX_MEM_REGIONS; i++)
		if (f[i].used)
			b = RTE_MAX(b, f[i].base + f[i].span);
	return RTE_ALIGN_CEIL(b, VUN_IOTLB_ALIGN);
}

static int
file_find(const struct vun_iotlb_file *f, const struct stat *st)
{
	for (int i = 0; i < VHU_MAX_MEM_REGIONS; i++)
		if (f[i].used && f[i].dev == st->st_dev &&
		    f[i].ino == st->st_ino)
			return i;
	return -1;
}

/*
 * The file of a piece of client memory ([lo, hi) of the file): its slot in
 * f (a new one for a file not seen yet), or -E2BIG.
 */
static int
file_slot(struct vun_dev *d, struct vun_iotlb_file *f, const struct stat *st,
	  uint64_t hi)
{
	int i = file_find(f, st);

	if (i < 0) {
		for (i = 0; i < VHU_MAX_MEM_REGIONS && f[i].used; i++)
			;
		if (i == VHU_MAX_MEM_REGIONS) {
			VUN_LOG(ERR,
				"%s: offload: client memory in more than %u "
				"files",
				d->path, VHU_MAX_MEM_REGIONS);
			return -E2BIG;
		}
		f[i] = (struct vun_iotlb_file){
			.dev = st->st_dev,
			.ino = st->st_ino,
			.base = next_base(f),
			.span = RTE_ALIGN_CEIL(RTE_MAX((uint64_t)st->st_size,
						       hi),
					       VUN_IOTLB_ALIGN),
			.lo = UINT64_MAX,
			.hi = 0,
			.used = true,
		};
		return i;
	}
	if (hi > f[i].span) {
		/* the file grew: room only if nothing lies after it */
		if (f[i].base + f[i].span != next_base(f)) {
			VUN_LOG(ERR,
				"%s: offload: client memory file grew past "
				"its place in the engine's address space",
				d->path);
			return -E2BIG;
		}
		f[i].span = RTE_ALIGN_CEIL(hi, VUN_IOTLB_ALIGN);
	}
	return i;
}

int
vun_iotlb_table(struct vun_dev *d, struct vun_iotlb *t, uint64_t skip,
		uint64_t skip_len, struct vhu_mem_region *r, uint32_t *n)
{
	const struct rte_vfio_user_mem_table *mt = rte_vfio_user_get_mem_table(
		d->dev_id);
	const struct rte_vfio_user_mem_segment *s;
	uint64_t skip_end = skip + skip_len < skip ? UINT64_MAX :
						     skip + skip_len;
	struct vun_iotlb_file f[VHU_MAX_MEM_REGIONS];
	struct {
		uint64_t lo, hi, size;
		int fd;
	} cur[VHU_MAX_MEM_REGIONS];

	memcpy(f, t->f, sizeof(f));
	for (unsigned int i = 0; i < VHU_MAX_MEM_REGIONS; i++)
		cur[i].fd = -1;
	for (s = rte_vfio_user_mem_next(mt, 0); s != NULL;
	     s = rte_vfio_user_mem_next(mt, s->iova + s->size)) {
		uint64_t lo = s->iova, hi = s->iova + s->size, off;
		uint64_t piece[2][2] = { { lo, RTE_MIN(hi, skip) },
					 { RTE_MAX(lo, skip_end), hi } };
		int fd = rte_vfio_user_mem_fd(d->dev_id, s, &off);
		struct stat st;

		if (fd >= 0 && fstat(fd, &st) < 0)
			fd = -1;
		for (int p = 0; p < 2 && fd >= 0; p++) {
			uint64_t flo, fhi;
			int i;

			if (piece[p][0] >= piece[p][1])
				continue;
			flo = off + (piece[p][0] - lo);
			fhi = flo + (piece[p][1] - piece[p][0]);
			i = file_slot(d, f, &st, fhi);
			if (i < 0)
				return i;
			if (cur[i].fd < 0) {
				cur[i].fd = fd;
				cur[i].lo = flo;
				cur[i].hi = fhi;
			}
			cur[i].size = (uint64_t)st.st_size;
			cur[i].lo = RTE_MIN(cur[i].lo, flo);
			cur[i].hi = RTE_MAX(cur[i].hi, fhi);
		}
		if (hi == 0)	/* the segment ends the IOVA space */
			break;
	}
	*n = 0;
	for (unsigned int i = 0; i < VHU_MAX_MEM_REGIONS; i++) {
		if (!f[i].used)
			continue;
		if (cur[i].fd < 0) {	/* no segment left: the file goes */
			f[i].used = false;
			continue;
		}
		/* the whole file where its size covers what is mapped (a
		 * vIOMMU maps page by page: a region following the maps
		 * would change, and flush the engine's IOTLB, at each one),
		 * else what was mapped */
		if (cur[i].size >= cur[i].hi) {
			f[i].lo = 0;
			cur[i].hi = cur[i].size;
		}
		f[i].lo = RTE_MIN(f[i].lo, cur[i].lo);
		f[i].hi = RTE_MAX(f[i].hi, cur[i].hi);
		r[*n] = (struct vhu_mem_region){
			.guest_phys_addr = f[i].base + f[i].lo,
			.memory_size = f[i].hi - f[i].lo,
			.userspace_addr = f[i].base + f[i].lo,
			.mmap_offset = f[i].lo,
			.fd = cur[i].fd,
		};
		(*n)++;
	}
	memcpy(t->f, f, sizeof(f));
	return 0;
}

/*
 * The engine's access to a segment: read-write where the client allows
 * writes. DPDK's vhost library (22.11 virtio_net.c) asks read-write access
 * for the receive buffers it only writes, which a vIOMMU maps write-only
 * (DMA_FROM_DEVICE), and keeps the first translation of an IOVA until it
 * is invalidated (a second UPDATE is dropped): so a segment the engine may
 * write it may also read (its mapping of the file is read-write anyway);
 * never the other way round.
 */
static uint8_t
perm_of(uint32_t prot)
{
	if (prot & RTE_VFIO_USER_MEM_F_WRITE)
		return VHU_ACCESS_RW;
	return (prot & RTE_VFIO_USER_MEM_F_READ) ? VHU_ACCESS_RO : 0;
}

static void
miss_log(struct vun_dev *d, struct vun_iotlb *t, uint64_t iova, uint8_t perm)
{
	if (!t->miss_logged)
		VUN_LOG(WARNING,
			"%s: offload: the engine missed IOVA 0x%" PRIx64
			" (access 0x%x), which no segment of client memory "
			"with a file gives with that access: no IOTLB update "
			"possible (logged once; a later map of it is sent "
			"as it comes)",
			d->path, iova, perm);
	t->miss_logged = true;
}

/* The synthetic address of s (its fd at offset off), or 0: its file is
 * not in the engine's table. */
static uint64_t
synthetic(const struct vun_iotlb *t, int fd, uint64_t off, uint64_t size)
{
	struct stat st;
	int i;

	if (fstat(fd, &st) < 0)
		return 0;
	i = file_find(t->f, &st);
	if (i < 0 || off < t->f[i].lo || off + size > t->f[i].hi)
		return 0;
	return t->f[i].base + off;
}

uint64_t
vun_iotlb_addr(struct vun_dev *d, const struct vun_iotlb *t,
	       const struct rte_vfio_user_mem_segment *s)
{
	uint64_t off;
	int fd = rte_vfio_user_mem_fd(d->dev_id, s, &off);

	return fd < 0 ? 0 : synthetic(t, fd, off, s->size);
}

uint64_t
vun_iotlb_end(const struct vun_iotlb *t)
{
	return next_base(t->f);
}

/* UPDATE for [p, q) of segment s (from the page of p on): 1 sent, 0
 * nothing to send (no file, not in the engine's table, not the access
 * asked), or -errno of the engine. */
static int
give(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c,
     const struct rte_vfio_user_mem_segment *s, uint64_t p, uint64_t q,
     uint8_t perm)
{
	uint64_t off, uaddr, skip;
	uint8_t have = perm_of(s->prot);
	int fd, ret;

	fd = rte_vfio_user_mem_fd(d->dev_id, s, &off);
	if (fd < 0 || (perm & ~have) != 0 || have == 0)
		return 0;
	uaddr = synthetic(t, fd, off, s->size);
	if (uaddr == 0)
		return 0;
	/* a back end keys its translations by their start and keeps the
	 * first one (DPDK's vhost library): a piece of a segment whose head
	 * it has (the library coalesced maps since) gets an entry of its
	 * own, from its page on */
	skip = RTE_ALIGN_FLOOR(p - s->iova, (uint64_t)VUN_IOTLB_PAGE);
	ret = vhu_iotlb_msg(c, VHU_IOTLB_UPDATE, s->iova + skip,
			    q - (s->iova + skip), uaddr + skip, have);
	if (ret < 0)
		return ret;
	t->updates++;
	return 1;
}

/* UPDATE for the segment holding iova, from its page on. */
static int
update(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c,
       uint64_t iova, uint8_t perm)
{
	const struct rte_vfio_user_mem_segment *s =
		rte_vfio_user_mem_find(rte_vfio_user_get_mem_table(d->dev_id),
				       iova, 1);

	if (s == NULL)
		return 0;
	return give(d, t, c, s, iova, s->iova + s->size, perm);
}

int
vun_iotlb_update(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c,
		 uint64_t iova)
{
	int ret = update(d, t, c, iova, 0);

	return ret < 0 ? ret : 0;
}

/* The first of the sorted, disjoint ranges k (n of them) that ends after
 * iova. */
static size_t
known_from(const struct vun_iotlb_range *k, size_t n, uint64_t iova)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k[mid].iova + k[mid].size <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The engine drops every translation that touches [iova, iova + len):
 * whole ones, also what of them is still mapped; and DPDK's vhost library
 * (22.11 iotlb.c vhost_user_iotlb_cache_remove()) the one that starts
 * right at the end of the range too. What was given there is forgotten
 * (the next sync gives what is still mapped again), and the translation
 * after the range, still mapped, is given again now (a back end that
 * kept it ignores the repeat), else the engine would miss it with a
 * packet in hand (and drop the packet).
 */
int
vun_iotlb_invalidate(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c,
		     uint64_t iova, uint64_t len)
{
	uint64_t end = iova + len < iova ? UINT64_MAX : iova + len;
	size_t i, j;
	int ret = vhu_iotlb_msg(c, VHU_IOTLB_INVALIDATE, iova, len, 0, 0);

	if (ret < 0)
		return ret;
	t->invalidates++;
	i = known_from(t->known, t->nknown, iova);
	for (j = i; j < t->nknown && t->known[j].iova <= end; j++)
		;
	if (j > i) {
		memmove(&t->known[i], &t->known[j],
			(t->nknown - j) * sizeof(t->known[0]));
		t->nknown -= j - i;
	}
	if (end != UINT64_MAX)
		ret = update(d, t, c, end, 0);
	return ret < 0 ? ret : 0;
}

/* UPDATE for what of s the engine was not given: its gaps between the
 * ranges of k (n of them). */
static int
give_gaps(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c,
	  const struct rte_vfio_user_mem_segment *s,
	  const struct vun_iotlb_range *k, size_t n)
{
	uint64_t p = s->iova, end = s->iova + s->size;
	size_t i = known_from(k, n, p);
	int ret;

	if (end < p)	/* ends the IOVA space */
		end = UINT64_MAX;
	for (; p < end; i++) {
		uint64_t q = i < n && k[i].iova < end ? k[i].iova : end;

		if (p < q) {
			ret = give(d, t, c, s, p, q, 0);
			if (ret < 0)
				return ret;
		}
		if (i >= n || k[i].iova >= end)
			break;
		p = k[i].iova + k[i].size;
	}
	return 0;
}

int
vun_iotlb_sync(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c)
{
	const struct rte_vfio_user_mem_table *mt = rte_vfio_user_get_mem_table(
		d->dev_id);
	const struct rte_vfio_user_mem_segment *s;
	struct vun_iotlb_range *k = NULL, *nk;
	uint64_t off;
	size_t n = 0, cap = 0;
	int ret = 0;

	for (s = rte_vfio_user_mem_next(mt, 0); s != NULL && ret >= 0;
	     s = rte_vfio_user_mem_next(mt, s->iova + s->size)) {
		if (rte_vfio_user_mem_fd(d->dev_id, s, &off) < 0)
			goto next;	/* the engine cannot reach it */
		if (n == cap) {
			cap = cap * 2 + 256;
			nk = realloc(k, sizeof(*k) * cap);
			if (nk == NULL) {
				free(k);
				return -ENOMEM;
			}
			k = nk;
		}
		k[n].iova = s->iova;
		k[n].size = s->size;
		n++;
		ret = give_gaps(d, t, c, s, t->known, t->nknown);
next:
		if (s->iova + s->size == 0)	/* ends the IOVA space */
			break;
	}
	free(t->known);
	t->known = k;
	t->nknown = n;
	return ret < 0 ? ret : 0;
}

/* At most this many messages per call: the event thread serves the rest
 * at its next turn (the channel stays readable). */
#define SERVE_BURST 64

int
vun_iotlb_serve(struct vun_dev *d, struct vun_iotlb *t, struct vhu_conn *c)
{
	for (unsigned int k = 0; k < SERVE_BURST; k++) {
		struct vhu_backend_req r;
		uint64_t result = 1;	/* not done */
		int ret = vhu_backend_recv(c, &r);

		if (ret == -EAGAIN)
			return 0;
		if (ret < 0)
			return ret;
		if (r.request == VHU_BACKEND_IOTLB_MSG &&
		    r.iotlb.type == VHU_IOTLB_MISS) {
			t->misses++;
			ret = update(d, t, c, r.iotlb.iova, r.iotlb.perm);
			VUN_LOG(DEBUG,
				"%s: offload: engine IOTLB miss 0x%" PRIx64
				" access 0x%x: %s",
				d->path, r.iotlb.iova, r.iotlb.perm,
				ret > 0 ? "updated" : "not updatable");
			if (ret < 0)
				return ret;
			if (ret == 0)
				miss_log(d, t, r.iotlb.iova, r.iotlb.perm);
			else
				result = 0;
		} else {
			VUN_LOG(DEBUG,
				"%s: offload: engine request %u (IOTLB type "
				"%u) not served",
				d->path, r.request, r.iotlb.type);
		}
		ret = vhu_backend_reply(c, &r, result);
		if (ret < 0)
			return ret;
	}
	return 0;
}
