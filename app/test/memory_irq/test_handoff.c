/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * handoff: what a device model needs to hand its work to another process
 * (net_vfio_user's offload mode): the fds behind client memory
 * (rte_vfio_user_mem_keep_fds / rte_vfio_user_mem_fd) and its own fds
 * served on the event thread (rte_vfio_user_watch_fd / _unwatch_fd).
 */

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "mi_common.h"

#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)

static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static const struct rte_vfio_user_mem_segment *
seg_at(uint64_t iova)
{
	return rte_vfio_user_mem_next(rte_vfio_user_get_mem_table(mi_a.id),
				      iova);
}

static void
test_mem_fd(void **state)
{
	const uint64_t iova = 0x10000000, iova2 = 0x20000000,
		       iova3 = 0x30000000;
	const struct rte_vfio_user_mem_segment *s;
	struct stat ours, theirs;
	uint64_t off = 1;
	int fd, sfd, before;
	uint8_t *mem;
	struct rc c;

	(void)state;
	fd = mi_memfd(64 * 1024, &mem);
	assert_int_equal(fstat(fd, &ours), 0);
	mi_open(&c, &mi_a, NULL);

	/* off (the default): the fd was closed after mmap */
	assert_int_equal(mi_map(&c, iova, 32 * 1024, RW, fd, 0), 0);
	s = seg_at(0);
	assert_true(s != NULL && s->iova == iova);
	assert_int_equal(rte_vfio_user_mem_fd(mi_a.id, s, &off), -ENOENT);
	assert_int_equal(mi_unmap(&c, iova, 32 * 1024, 0), 0);

	/* on: one fd per file, kept with the mapping */
	assert_int_equal(rte_vfio_user_mem_keep_fds(-1, true), -ENODEV);
	assert_int_equal(rte_vfio_user_mem_keep_fds(mi_a.id, true), 0);
	before = open_fds();
	assert_int_equal(mi_map(&c, iova, 16 * 1024, RW, fd, 0), 0);
	assert_int_equal(mi_map(&c, iova2, 16 * 1024, RW, fd, 40 * 1024), 0);
	assert_int_equal(mi_map(&c, iova3, MI_PAGE, RW, -1, 0), 0);
	/* the server closes a message's received fds after it answered:
	 * wait for that */
	assert_true(MI_WAIT(open_fds() == before + 1, 2000));	/* the kept one */
	s = seg_at(0);
	sfd = rte_vfio_user_mem_fd(mi_a.id, s, &off);
	assert_true(sfd >= 0 && sfd != fd);
	assert_int_equal(off, 0);
	assert_int_equal(fstat(sfd, &theirs), 0);
	assert_true(theirs.st_ino == ours.st_ino &&
		    theirs.st_dev == ours.st_dev);
	s = seg_at(iova2);
	assert_true(s != NULL && s->iova == iova2);
	assert_int_equal(rte_vfio_user_mem_fd(mi_a.id, s, &off), sfd);
	assert_int_equal(off, 40 * 1024);
	/* the fd maps what the segment translates to */
	mem[40 * 1024 + 5] = 0xa5;
	assert_int_equal(((uint8_t *)s->vaddr)[5], 0xa5);
	/* message-only memory has no fd */
	s = seg_at(iova3);
	assert_true(s != NULL && s->iova == iova3 && s->vaddr == NULL);
	assert_int_equal(rte_vfio_user_mem_fd(mi_a.id, s, &off), -ENOENT);
	assert_int_equal(rte_vfio_user_mem_fd(-1, s, &off), -ENODEV);
	assert_int_equal(rte_vfio_user_mem_fd(mi_a.id, NULL, &off), -ENOENT);

	/* the file's last region goes: its fd with it */
	assert_int_equal(mi_unmap(&c, iova, 16 * 1024, 0), 0);
	assert_true(MI_WAIT(open_fds() == before + 1, 2000));
	assert_int_equal(mi_unmap(&c, iova2, 16 * 1024, 0), 0);
	assert_int_equal(mi_unmap(&c, iova3, MI_PAGE, 0), 0);
	assert_true(MI_WAIT(open_fds() == before, 2000));

	/* and when the client leaves */
	assert_int_equal(mi_map(&c, iova, 16 * 1024, RW, fd, 0), 0);
	assert_true(MI_WAIT(open_fds() == before + 1, 2000));
	mi_close(&c, &mi_a);
	assert_true(MI_WAIT(open_fds() <= before - 1, 2000));	/* and c's */
	assert_int_equal(rte_vfio_user_mem_keep_fds(mi_a.id, false), 0);
	munmap(mem, 64 * 1024);
	close(fd);
}

struct watch {
	int calls;
	int reads;
	uint32_t events;
	pthread_t tid;
};

static void
on_watch(int fd, void *arg, uint32_t events)
{
	struct watch *w = arg;
	eventfd_t v;

	w->tid = pthread_self();
	w->events = events;
	if (eventfd_read(fd, &v) == 0)
		__atomic_fetch_add(&w->reads, (int)v, __ATOMIC_RELEASE);
	__atomic_fetch_add(&w->calls, 1, __ATOMIC_RELEASE);
}

static void
test_watch_fd(void **state)
{
	struct watch w = { 0 };
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	(void)state;
	assert_true(efd >= 0);
	assert_int_equal(rte_vfio_user_watch_fd(-1, on_watch, &w), -EINVAL);
	assert_int_equal(rte_vfio_user_watch_fd(efd, NULL, &w), -EINVAL);
	assert_int_equal(rte_vfio_user_unwatch_fd(efd), -ENOENT);
	assert_int_equal(rte_vfio_user_watch_fd(efd, on_watch, &w), 0);
	assert_int_equal(rte_vfio_user_watch_fd(efd, on_watch, &w), -EEXIST);
	assert_int_equal(eventfd_write(efd, 3), 0);
	assert_true(MI_WAIT(__atomic_load_n(&w.reads, __ATOMIC_ACQUIRE) == 3,
			    2000));
	/* on the event thread, not ours */
	assert_false(pthread_equal(w.tid, pthread_self()));
	assert_true(w.events & EPOLLIN);
	assert_int_equal(rte_vfio_user_unwatch_fd(efd), 0);
	/* unwatched: nothing reads it any more */
	assert_int_equal(eventfd_write(efd, 1), 0);
	usleep(50 * 1000);
	assert_int_equal(__atomic_load_n(&w.reads, __ATOMIC_ACQUIRE), 3);
	close(efd);
}

#define T(f) cmocka_unit_test_setup_teardown(f, mi_test_setup, mi_test_teardown)

const struct CMUnitTest mi_handoff_tests[] = {
	T(test_mem_fd),
	T(test_watch_fd),
};
const size_t mi_handoff_tests_n = sizeof(mi_handoff_tests) /
				  sizeof(mi_handoff_tests[0]);
