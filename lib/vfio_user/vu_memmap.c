/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Client files mapped once each (see vu_memmap.h).
 *
 * A regular file (memfd, tmpfs, hugetlbfs: guest RAM) is mapped whole at
 * its first DMA_MAP when it is at most VU_MAP_WHOLE_MAX bytes, else the
 * 1 GiB-aligned span the map needs; later maps of the same file are views
 * into that mapping, so a client mapping its memory page by page (a guest
 * behind a vIOMMU) costs one mapping, not one per page: vm.max_map_count
 * (65530) is not a limit, and neighbouring pages of the file are
 * neighbours for us too. A map beyond the mapping (the file grew, or a
 * span mapping) grows it in place with mremap() when the address space
 * after it is free and no dirty bitmap is attached, else gets a mapping of
 * its own. Other files (character devices) are mapped per DMA region, as
 * their offsets mean what the driver says.
 *
 * The mapping is read-write when the fd allows it, whatever the first
 * region asked, so that read-only and read-write regions of one file share
 * it: protection is enforced by the memory table (translations check the
 * region's access bits), not by the page tables.
 *
 * A process that locks its future mappings (mlockall(MCL_FUTURE), as
 * testpmd does) would have the kernel fault in and lock the whole file at
 * mmap() time: all of a guest's RAM, at its first 4 KiB map. So a file is
 * mapped PROT_NONE (which is not populated), unlocked, then given its
 * protection; in such a process each DMA region is prefaulted instead
 * (MADV_POPULATE_*), as its own mapping used to be, but not locked.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_common.h>

#include "vu_log.h"
#include "vu_memmap.h"

#define PAGE RTE_VFIO_USER_DIRTY_PAGE_SIZE
#define VU_MAP_WHOLE_MAX (1ULL << 40)	/* map files up to 1 TiB whole */
#define VU_MAP_SPAN_ALIGN (1ULL << 30)	/* else 1 GiB-aligned spans */
#define VU_MAP_HASH_MIN 64u
/*
 * Mappings of client files, per device and in the whole process: a file
 * is mapped once however many regions it backs, but a client passing a
 * new file with each DMA_MAP would take one kernel VMA each, and at
 * vm.max_map_count (65530) every mmap() of the process fails: DPDK's heap,
 * thread stacks, other devices. A device gets at most VU_MAPS_PER_DEV
 * mappings (a DPDK client without --single-file-segments has a file per
 * hugepage: 8192 are 16 GiB of 2 MiB pages; a character device file, a
 * mapping per region); a new one is refused while the mappings and dirty
 * bitmaps of all devices hold a quarter of vm.max_map_count (bitmaps,
 * made when logging starts, can at most triple that: three quarters).
 */
#define VU_MAPS_PER_DEV 8192u
#define VU_MAPS_DEF_MAX_MAP_COUNT 65530u

static uint32_t vmas_total;	/* mappings and bitmaps of all devices */

static uint32_t
maps_budget(void)
{
	static uint32_t budget;	/* 0: not read yet */
	uint32_t b = __atomic_load_n(&budget, __ATOMIC_RELAXED);
	unsigned long v = VU_MAPS_DEF_MAX_MAP_COUNT;
	FILE *f;

	if (b != 0)
		return b;
	f = fopen("/proc/sys/vm/max_map_count", "re");
	if (f != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = VU_MAPS_DEF_MAX_MAP_COUNT;
		fclose(f);
	}
	b = (uint32_t)RTE_MAX(RTE_MIN(v / 4, (unsigned long)UINT32_MAX), 1ul);
	__atomic_store_n(&budget, b, __ATOMIC_RELAXED);
	return b;
}

/* ---- dirty bitmaps ---- */

uint64_t
vu_bitmap_bytes(uint64_t size, uint64_t pgsize)
{
	uint64_t pages = size / pgsize + (size % pgsize != 0);

	return (pages + 63) / 64 * 8;
}

/*
 * Bitmaps come from anonymous NORESERVE mappings, so the pages of a bitmap
 * that nothing marks are never backed by memory: a client mapping
 * terabytes costs us address space, not RSS.
 */
static size_t
bitmap_alloc_size(uint64_t map_size)
{
	return RTE_ALIGN_CEIL(vu_bitmap_bytes(map_size, PAGE),
			      (size_t)sysconf(_SC_PAGESIZE));
}

static uint64_t *
bitmap_alloc(uint64_t map_size)
{
	void *p = mmap(NULL, bitmap_alloc_size(map_size),
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	__atomic_fetch_add(&vmas_total, 1, __ATOMIC_RELAXED);
	return p;
}

static void
bitmap_free(uint64_t *bm, uint64_t map_size)
{
	if (bm == NULL)
		return;
	munmap(bm, bitmap_alloc_size(map_size));
	__atomic_fetch_sub(&vmas_total, 1, __ATOMIC_RELAXED);
}

/*
 * Clear the set bits of pages [first, first + npages) of bm, calling
 * fn(arg, page) for each, in order: one plain load per 64 pages, and an
 * atomic clear only where a word has bits set (the data path sets bits
 * of the same words meanwhile).
 */
static inline void
bitmap_take(uint64_t *bm, uint64_t first, uint64_t npages,
	    void (*fn)(void *arg, uint64_t page), void *arg)
{
	uint64_t end = first + npages, w;

	if (bm == NULL || npages == 0)
		return;
	for (w = first / 64; w <= (end - 1) / 64; w++) {
		uint64_t mask = ~0ULL, bits;

		if (__atomic_load_n(&bm[w], __ATOMIC_RELAXED) == 0)
			continue;
		if (w == first / 64)
			mask &= ~0ULL << (first % 64);
		if (w == (end - 1) / 64 && end % 64 != 0)
			mask &= ~0ULL >> (64 - end % 64);
		bits = __atomic_fetch_and(&bm[w], ~mask, __ATOMIC_RELAXED) &
		       mask;
		while (bits != 0) {
			fn(arg, w * 64 + (uint64_t)__builtin_ctzll(bits));
			bits &= bits - 1;
		}
	}
}

struct collect {
	uint64_t first, q0, per;
	uint64_t *out;
};

static void
collect_page(void *arg, uint64_t q)
{
	const struct collect *c = arg;
	uint64_t p = (c->q0 + q - c->first) / c->per;

	c->out[p / 64] |= 1ULL << (p % 64);
}

void
vu_bitmap_collect(uint64_t *bm, uint64_t first, uint64_t npages, uint64_t q0,
		  uint64_t per, uint64_t *out)
{
	struct collect c = { .first = first, .q0 = q0, .per = per, .out = out };

	bitmap_take(bm, first, npages, collect_page, &c);
}

struct runs {
	uint64_t first, start, n;	/* the run being built: n pages */
	void (*fn)(void *arg, uint64_t first, uint64_t npages);
	void *arg;
};

static void
runs_page(void *arg, uint64_t q)
{
	struct runs *r = arg;

	if (r->n != 0 && q == r->start + r->n) {
		r->n++;
		return;
	}
	if (r->n != 0)
		r->fn(r->arg, r->start - r->first, r->n);
	r->start = q;
	r->n = 1;
}

void
vu_bitmap_take_runs(uint64_t *bm, uint64_t first, uint64_t npages,
		    void (*fn)(void *arg, uint64_t first, uint64_t npages),
		    void *arg)
{
	struct runs r = { .first = first, .fn = fn, .arg = arg };

	bitmap_take(bm, first, npages, runs_page, &r);
	if (r.n != 0)
		fn(arg, r.start - first, r.n);
}

/* ---- the set of mappings ---- */

void
vu_maps_init(struct vu_maps *ms, const char *name)
{
	*ms = (struct vu_maps){ .name = name };
}

static uint32_t
hash_of(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)ino;

	h *= 0xff51afd7ed558ccdULL;
	return (uint32_t)(h >> 32);
}

/* Make room in the hash for one more mapping (0, or -ENOMEM). */
static int
hash_reserve(struct vu_maps *ms)
{
	uint32_t nb = ms->nbuckets != 0 ? 2 * ms->nbuckets : VU_MAP_HASH_MIN;
	struct vu_map **h;

	if (ms->nhashed < ms->nbuckets)
		return 0;
	h = calloc(nb, sizeof(*h));
	if (h == NULL)
		return ms->nbuckets != 0 ? 0 : -ENOMEM;	/* chains grow */
	for (uint32_t i = 0; i < ms->nbuckets; i++) {
		struct vu_map *m, *next;

		for (m = ms->hash[i]; m != NULL; m = next) {
			uint32_t b = hash_of(m->dev, m->ino) & (nb - 1);

			next = m->hnext;
			m->hnext = h[b];
			h[b] = m;
		}
	}
	free(ms->hash);
	ms->hash = h;
	ms->nbuckets = nb;
	return 0;
}

static void
map_free(struct vu_maps *ms, struct vu_map *m)
{
	if (m->shared) {
		struct vu_map **pp =
			&ms->hash[hash_of(m->dev, m->ino) & (ms->nbuckets - 1)];

		while (*pp != m)
			pp = &(*pp)->hnext;
		*pp = m->hnext;
		ms->nhashed--;
	}
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		ms->all = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	ms->count--;
	__atomic_fetch_sub(&vmas_total, 1, __ATOMIC_RELAXED);
	munmap(m->pub.base, m->pub.size);
	if (m->fd >= 0)
		close(m->fd);
	bitmap_free(m->pub.dirty, m->pub.size);
	bitmap_free(m->dirty_old, m->pub.size);
	free(m);
}

void
vu_maps_clear(struct vu_maps *ms)
{
	while (ms->all != NULL)
		map_free(ms, ms->all);
	ms->locks = 0;
}

void
vu_maps_fini(struct vu_maps *ms)
{
	vu_maps_clear(ms);
	free(ms->hash);
	ms->hash = NULL;
	ms->nbuckets = 0;
}

/*
 * A client that shrinks the file behind a mapping makes every later access
 * past the new end fault (SIGBUS). Memory that is sealed against shrinking
 * (F_SEAL_SHRINK: QEMU seals its memfd backends) is safe; a memfd that can
 * still be sealed is sealed here. Returns true if the file cannot shrink.
 * Files that cannot be sealed (hugetlbfs, tmpfs files) stay a risk for
 * direct accesses; the library's own copies are guarded.
 */
static bool
fd_seal_shrink(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return false;	/* not a memfd */
	if (!(seals & (F_SEAL_SHRINK | F_SEAL_SEAL)) &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0)
		seals |= F_SEAL_SHRINK;
	return seals & F_SEAL_SHRINK;
}

/* A shared mapping of the file that holds the range, writable if asked. */
static struct vu_map *
map_find(struct vu_maps *ms, const struct stat *st, uint64_t offset,
	 uint64_t size, bool write, struct vu_map **growable)
{
	struct vu_map *m;

	*growable = NULL;
	if (ms->nbuckets == 0)
		return NULL;
	for (m = ms->hash[hash_of(st->st_dev, st->st_ino) & (ms->nbuckets - 1)];
	     m != NULL; m = m->hnext) {
		if (m->dev != st->st_dev || m->ino != st->st_ino ||
		    (write && !m->writable) || offset < m->off)
			continue;
		if (offset + size - m->off <= m->pub.size)
			return m;
		/* starts inside or right after it: may grow to hold it */
		if (offset - m->off <= m->pub.size)
			*growable = m;
	}
	return NULL;
}

/* Grow m in place to end at file offset end (0, or -errno). */
static int
map_grow(struct vu_maps *ms, struct vu_map *m, uint64_t end)
{
	uint64_t nsize = end - m->off;
	void *p;

	if (ms->logging || m->pub.dirty != NULL || m->dirty_old != NULL)
		return -EBUSY;	/* the bitmap has the old size */
	p = mremap(m->pub.base, m->pub.size, nsize, 0);
	if (p == MAP_FAILED)
		return -errno;
	m->pub.size = nsize;
	return 0;
}

/*
 * Whether the process locks its future mappings: a new anonymous page is
 * then resident at once. Asked once per client (the set's first mapping
 * after it was emptied): applications lock their memory at start-up.
 */
static bool
locks_future(struct vu_maps *ms)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char vec = 0;
	void *p;

	if (ms->locks != 0)
		return ms->locks > 0;
	ms->locks = -1;
	p = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	if (mincore(p, (size_t)pg, &vec) == 0 && (vec & 1))
		ms->locks = 1;
	munmap(p, (size_t)pg);
	return ms->locks > 0;
}

/* mmap() of a file that neither populates nor locks it (see above):
 * one mmap() in a process that does not lock its future mappings. */
static void *
map_file(int fd, uint64_t len, int prot, uint64_t off, bool unlock)
{
	void *p;
	int err;

	if (!unlock)
		return mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)off);
	p = mmap(NULL, len, PROT_NONE, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED)
		return p;
	munlock(p, len);
	if (mprotect(p, len, prot) == 0)
		return p;
	err = errno;
	munmap(p, len);
	errno = err;
	return MAP_FAILED;
}

void
vu_map_prefault(const struct vu_map *m, uint8_t *va, uint64_t len, bool write)
{
	if (m->prefault) /* errors (a file shorter now) are the data path's */
		madvise(va, len,
			write && m->writable ? MADV_POPULATE_WRITE :
					       MADV_POPULATE_READ);
}

/* [*start, *end): what to map of a file of fsize bytes for a range. */
static void
map_span(bool regular, uint64_t fsize, uint64_t offset, uint64_t size,
	 uint64_t *start, uint64_t *end)
{
	uint64_t fend = RTE_ALIGN_CEIL(fsize, PAGE);

	if (!regular) {
		*start = offset;
		*end = offset + size;
	} else if (fend <= VU_MAP_WHOLE_MAX) {
		*start = 0;
		*end = fend;
	} else {
		*start = RTE_ALIGN_FLOOR(offset, VU_MAP_SPAN_ALIGN);
		*end = RTE_MIN(RTE_ALIGN_CEIL(offset + size, VU_MAP_SPAN_ALIGN),
			       fend);
	}
}

static struct vu_map *
map_new(struct vu_maps *ms, int fd, const struct stat *st, uint64_t offset,
	uint64_t size, bool write, bool no_shrink, int *err)
{
	bool regular = S_ISREG(st->st_mode);
	int acc = fcntl(fd, F_GETFL);
	uint64_t start, end;
	struct vu_map *m;
	void *va = MAP_FAILED;

	if (ms->count >= VU_MAPS_PER_DEV ||
	    __atomic_load_n(&vmas_total, __ATOMIC_RELAXED) >= maps_budget()) {
		VU_LOG(ERR,
		       "%s: DMA_MAP needs a mapping of its own: %s (%u here, "
		       "%u mappings and bitmaps in the process)",
		       ms->name,
		       ms->count >= VU_MAPS_PER_DEV ?
			       "past the device's limit" :
			       "past the process's (a quarter of "
			       "vm.max_map_count)",
		       ms->count,
		       __atomic_load_n(&vmas_total, __ATOMIC_RELAXED));
		*err = -ENOSPC;
		return NULL;
	}
	if (regular && hash_reserve(ms) < 0) {
		*err = -ENOMEM;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	map_span(regular, (uint64_t)st->st_size, offset, size, &start, &end);
	m->prefault = locks_future(ms);
	/* read-write if the fd allows it: later regions may need it */
	if (write || (acc >= 0 && (acc & O_ACCMODE) == O_RDWR)) {
		va = map_file(fd, end - start, PROT_READ | PROT_WRITE, start,
			      m->prefault);
		m->writable = va != MAP_FAILED;
	}
	if (va == MAP_FAILED && !write)	/* e.g. a write-sealed memfd */
		va = map_file(fd, end - start, PROT_READ, start, m->prefault);
	if (va == MAP_FAILED) {
		*err = -errno;
		VU_LOG(ERR,
		       "%s: DMA_MAP mmap of 0x%" PRIx64 " bytes at 0x%" PRIx64
		       ": %s",
		       ms->name, end - start, start, strerror(errno));
		free(m);
		return NULL;
	}
	m->fd = -1;
	if (ms->keep_fds) {	/* for a device model passing it on */
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (m->fd < 0) {
			*err = -errno;
			munmap(va, end - start);
			free(m);
			return NULL;
		}
	}
	m->pub.base = va;
	m->pub.size = end - start;
	m->off = start;
	m->dev = st->st_dev;
	m->ino = st->st_ino;
	m->no_shrink = no_shrink;
	if (ms->logging && m->writable) {
		m->pub.dirty = bitmap_alloc(m->pub.size);
		if (m->pub.dirty == NULL) {
			munmap(va, m->pub.size);
			if (m->fd >= 0)
				close(m->fd);
			free(m);
			*err = -ENOMEM;
			return NULL;
		}
	}
	if (regular) {
		uint32_t b = hash_of(m->dev, m->ino) & (ms->nbuckets - 1);

		m->shared = true;
		m->hnext = ms->hash[b];
		ms->hash[b] = m;
		ms->nhashed++;
	}
	m->next = ms->all;
	if (ms->all != NULL)
		ms->all->prev = m;
	ms->all = m;
	ms->count++;
	__atomic_fetch_add(&vmas_total, 1, __ATOMIC_RELAXED);
	VU_LOG(DEBUG,
	       "%s: mapped [0x%" PRIx64 ", 0x%" PRIx64 ") of file %" PRIu64
	       ":%" PRIu64 " %s at %p",
	       ms->name, start, end, (uint64_t)m->dev, (uint64_t)m->ino,
	       m->writable ? "rw" : "ro", va);
	return m;
}

int
vu_map_get(struct vu_maps *ms, int fd, uint64_t offset, uint64_t size,
	   bool write, struct vu_map **out)
{
	struct vu_map *m = NULL, *grow = NULL;
	bool no_shrink = false;
	struct stat st;
	int ret = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		m = map_find(ms, &st, offset, size, write, &grow);
	if (m == NULL) {
		/* sealed first, so the size checked next is the size for
		 * good (a mapping found is sealed already, or cannot be) */
		no_shrink = fd_seal_shrink(fd);
		if (no_shrink && fstat(fd, &st) < 0)
			return -errno;
	}
	/* a file that does not hold the range would SIGBUS the data path on
	 * its first access past the end */
	if (S_ISREG(st.st_mode) && (offset > (uint64_t)st.st_size ||
				    size > (uint64_t)st.st_size - offset)) {
		VU_LOG(ERR,
		       "%s: DMA_MAP of 0x%" PRIx64 " bytes at offset 0x%" PRIx64
		       " of a file of 0x%" PRIx64 " bytes",
		       ms->name, size, offset, (uint64_t)st.st_size);
		return -EINVAL;
	}
	if (m == NULL && grow != NULL) {
		uint64_t start, end;

		map_span(true, (uint64_t)st.st_size, offset, size, &start,
			 &end);
		if (map_grow(ms, grow, RTE_MAX(end, offset + size)) == 0)
			m = grow;
	}
	if (m == NULL)
		m = map_new(ms, fd, &st, offset, size, write, no_shrink, &ret);
	if (m == NULL)
		return ret;
	m->refs++;
	*out = m;
	return 0;
}

void
vu_map_put(struct vu_maps *ms, struct vu_map *m)
{
	if (m != NULL && --m->refs == 0)
		map_free(ms, m);
}

/* ---- dirty logging ---- */

int
vu_maps_log_start(struct vu_maps *ms)
{
	struct vu_map *m;

	for (m = ms->all; m != NULL; m = m->next) {
		uint64_t *bm;

		if (!m->writable || m->pub.dirty != NULL)
			continue;
		bm = bitmap_alloc(m->pub.size);
		if (bm == NULL) {
			vu_maps_log_stop(ms);
			return -ENOMEM;
		}
		__atomic_store_n(&m->pub.dirty, bm, __ATOMIC_RELEASE);
	}
	ms->logging = true;
	return 0;
}

void
vu_maps_log_stop(struct vu_maps *ms)
{
	for (struct vu_map *m = ms->all; m != NULL; m = m->next) {
		if (m->pub.dirty == NULL)
			continue;
		bitmap_free(m->dirty_old, m->pub.size);
		m->dirty_old = m->pub.dirty;
		__atomic_store_n(&m->pub.dirty, NULL, __ATOMIC_RELEASE);
	}
	ms->logging = false;
}

void
vu_maps_log_reap(struct vu_maps *ms)
{
	for (struct vu_map *m = ms->all; m != NULL; m = m->next) {
		bitmap_free(m->dirty_old, m->pub.size);
		m->dirty_old = NULL;
	}
}
