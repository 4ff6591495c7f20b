/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The socket file of a serving device removed, or replaced by another
 * server's socket or by a regular file. What the library does (see the
 * security guide):
 *  - it does not watch the path: the connected client keeps working, and
 *    the device keeps listening on its (now unreachable) socket; new
 *    clients fail to connect (removed) or reach whatever is there now;
 *  - rte_vfio_user_stop() removes only its own socket, and says when the
 *    file was removed or replaced while serving;
 *  - rte_vfio_user_start() again re-creates the socket if the path is free
 *    or holds a stale socket, fails with EADDRINUSE while another server
 *    answers there, and with EEXIST on anything that is not a socket.
 * Throughout: the other device answers, and the process ends with the
 * fds and mappings it started with.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "fault.h"

#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)

static int
sock_teardown(void **state)
{
	int ret = fault_test_teardown(state);

	/* a failed test may have left the device stopped */
	rte_vfio_user_start(mi_a.id);
	return ret;
}

/* connect() to path: 0 or errno. If ok, *fd is the connected socket. */
static int
try_connect(const char *path, int *fd)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;

	assert_true(s >= 0);
	assert_true(strlen(path) < sizeof(un.sun_path));
	memcpy(un.sun_path, path, strlen(path) + 1);
	if (connect(s, (struct sockaddr *)&un, sizeof(un)) < 0)
		err = errno;
	if (err != 0 || fd == NULL)
		close(s);
	else
		*fd = s;
	return err;
}

/* A listening socket bound at path (another server). */
static int
other_server(const char *path)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	memcpy(un.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(s, (struct sockaddr *)&un, sizeof(un)), 0);
	assert_int_equal(listen(s, 4), 0);
	return s;
}

/* The connected client c of mi_a still works: config space, BAR0, its
 * memory (mapped at 0x100000 from mem). */
static void
client_works(struct rc *c, uint8_t *mem)
{
	uint8_t v = 0;
	uint32_t w = 0x5aa5c33c, rw = 0;

	assert_int_equal(mi_region_rw(c, VFIO_USER_PCI_CONFIG_REGION_INDEX, 2,
				      &v, 1, false),
			 0);
	assert_int_equal(v, mi_a.config[2]);
	assert_int_equal(mi_region_rw(c, 0, 0x20, &w, 4, true), 0);
	assert_int_equal(mi_region_rw(c, 0, 0x20, &rw, 4, false), 0);
	assert_int_equal(rw, w);
	mem[9] ^= 0xff;
	assert_int_equal(rte_vfio_user_dma_read(mi_a.id, 0x100009, &v, 1), 0);
	assert_int_equal(v, mem[9]);
}

/* mi_a serves on its path again, a socket of mode 0600. */
static void
serving_again(void)
{
	struct stat st;

	assert_int_equal(lstat(mi_a.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	fault_assert_usable(&mi_a);
}

struct sock_fixture {
	struct pb base;
	struct rc c;
	int memfd;
	uint8_t *mem;
};

static void
fixture_open(struct sock_fixture *f)
{
	f->memfd = mi_memfd(MI_PAGE, &f->mem);
	fault_probe_reset();
	assert_int_equal(pb_take(&f->base), 0);
	mi_open(&f->c, &mi_a, NULL);
	assert_int_equal(mi_map(&f->c, 0x100000, MI_PAGE, RW, f->memfd, 0), 0);
	client_works(&f->c, f->mem);
}

static void
fixture_close(struct sock_fixture *f)
{
	fault_assert_back(&f->base);
	fault_probe_check();
	pb_free(&f->base);
	close(f->memfd);
	munmap(f->mem, MI_PAGE);
}

static void
test_sock_removed(void **state)
{
	struct sock_fixture f;
	char *log;

	(void)state;
	fixture_open(&f);
	assert_int_equal(unlink(mi_a.path), 0);
	/* the connection does not depend on the file */
	client_works(&f.c, f.mem);
	/* nobody new gets in */
	assert_int_equal(try_connect(mi_a.path, NULL), ENOENT);
	client_works(&f.c, f.mem);
	mi_close(&f.c, &mi_a);

	fault_log_capture();
	assert_int_equal(rte_vfio_user_stop(mi_a.id), 0);
	log = fault_log_release();
	assert_true(fault_count(log, "removed while serving") == 1);
	free(log);
	assert_int_equal(access(mi_a.path, F_OK), -1);
	/* a new start re-creates it */
	assert_int_equal(rte_vfio_user_start(mi_a.id), 0);
	serving_again();
	fixture_close(&f);
}

static void
test_sock_replaced_by_server(void **state)
{
	struct sock_fixture f;
	struct stat st;
	int lfd, nfd = -1, afd;
	char *log;

	(void)state;
	fixture_open(&f);
	assert_int_equal(unlink(mi_a.path), 0);
	lfd = other_server(mi_a.path);
	client_works(&f.c, f.mem);
	/* a new client reaches the other server, not the device */
	assert_int_equal(try_connect(mi_a.path, &nfd), 0);
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(afd >= 0);
	close(afd);
	close(nfd);
	client_works(&f.c, f.mem);
	mi_close(&f.c, &mi_a);

	fault_log_capture();
	assert_int_equal(rte_vfio_user_stop(mi_a.id), 0);
	log = fault_log_release();
	assert_true(fault_count(log, "no longer our socket") == 1);
	free(log);
	/* the other server's socket is left alone, and not taken over */
	assert_int_equal(try_connect(mi_a.path, NULL), 0);
	assert_int_equal(rte_vfio_user_start(mi_a.id), -EADDRINUSE);
	assert_int_equal(try_connect(mi_a.path, NULL), 0);
	/* once it is gone, its stale socket is replaced */
	close(lfd);
	assert_int_equal(lstat(mi_a.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(rte_vfio_user_start(mi_a.id), 0);
	serving_again();
	fixture_close(&f);
}

static void
test_sock_replaced_by_file(void **state)
{
	struct sock_fixture f;
	struct stat st;
	int fd;

	(void)state;
	fixture_open(&f);
	assert_int_equal(unlink(mi_a.path), 0);
	fd = open(mi_a.path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	client_works(&f.c, f.mem);
	assert_int_equal(try_connect(mi_a.path, NULL), ECONNREFUSED);
	mi_close(&f.c, &mi_a);

	assert_int_equal(rte_vfio_user_stop(mi_a.id), 0);
	assert_int_equal(lstat(mi_a.path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* never removed by the library */
	assert_int_equal(rte_vfio_user_start(mi_a.id), -EEXIST);
	assert_int_equal(lstat(mi_a.path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(unlink(mi_a.path), 0);
	assert_int_equal(rte_vfio_user_start(mi_a.id), 0);
	serving_again();
	fixture_close(&f);
}

#define T(f) cmocka_unit_test_setup_teardown(f, mi_test_setup, sock_teardown)
const struct CMUnitTest fault_sock_tests[] = {
	T(test_sock_removed),
	T(test_sock_replaced_by_server),
	T(test_sock_replaced_by_file),
};
const size_t fault_sock_tests_n = sizeof(fault_sock_tests) /
				  sizeof(fault_sock_tests[0]);
