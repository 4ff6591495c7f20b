/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The socket path of a device (rte_vfio_user_start / _stop):
 *  - a live server on the path (another program, or another device of this
 *    process on the same file) makes the start fail with EADDRINUSE and a
 *    message naming the path, and keeps serving;
 *  - a stale socket (nobody answers) is replaced;
 *  - a file, a directory or a symbolic link (to anything, even a socket) is
 *    never followed, replaced or removed;
 *  - the socket file has mode 0600 by default, or exactly the mode set with
 *    rte_vfio_user_set_sock_mode(), whatever the umask;
 *  - stop removes the socket file only if the path still names it.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <rte_log.h>

#include "mi_common.h"

static uint8_t sk_bar[MI_PAGE];

static ssize_t
sk_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	  bool is_write)
{
	(void)dev_id;
	(void)priv;
	if (offset > sizeof(sk_bar) || count > sizeof(sk_bar) - offset)
		return -EINVAL;
	if (is_write)
		memcpy(sk_bar + offset, buf, count);
	else
		memcpy(buf, sk_bar + offset, count);
	return (ssize_t)count;
}

/* Register (not start) a one-region device on path. */
static int
sk_describe(int id)
{
	const struct rte_vfio_user_dev_info info = { .num_regions = 1 };
	const struct rte_vfio_user_region bar = {
		.size = sizeof(sk_bar),
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = sk_access,
		.mmap_fd = -1,
	};

	assert_true(id >= 0);
	assert_int_equal(rte_vfio_user_set_dev_info(id, &info), 0);
	assert_int_equal(rte_vfio_user_set_reg_info(id, 0, &bar), 0);
	return id;
}

static int
sk_register(const char *path)
{
	return sk_describe(rte_vfio_user_register(path, NULL, NULL));
}

static void
sk_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", mi_dir_path(), name);
	assert_true(strlen(buf) < sizeof(((struct sockaddr_un *)0)->sun_path));
}

/* A socket bound at path; listening if listen_too. Returns the fd. */
static int
sk_bind(const char *path, bool listen_too)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(un.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	if (listen_too)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Whether a server answers on path (connect() succeeds). */
static bool
sk_answers(const char *path)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	assert_true(fd >= 0);
	strcpy(un.sun_path, path);
	ok = connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0;
	close(fd);
	return ok;
}

static ino_t
sk_ino(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_ino;
}

static mode_t
sk_mode(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	return st.st_mode & 07777;
}

/* The library's log lines while capturing (rte_openlog_stream). */
static char *log_buf;
static size_t log_len;
static FILE *log_f;

static void
log_capture(void)
{
	log_f = open_memstream(&log_buf, &log_len);
	assert_non_null(log_f);
	assert_int_equal(rte_openlog_stream(log_f), 0);
}

/* Stop capturing; fails unless the log has every one of the words. */
static void
log_expect(const char *a, const char *b)
{
	rte_openlog_stream(NULL);
	fclose(log_f);
	if (strstr(log_buf, a) == NULL || (b != NULL && strstr(log_buf, b) == NULL))
		fail_msg("the log lacks \"%s\"%s%s%s; it was:\n%s", a,
			 b ? " and \"" : "", b ? b : "", b ? "\"" : "", log_buf);
	free(log_buf);
	log_buf = NULL;
}

/* ---- mode ---- */

static void
test_sock_mode(void **state)
{
	char path[108];
	mode_t old = umask(022);
	int id, fd, fid;

	(void)state;
	sk_path(path, sizeof(path), "mode.sock");
	/* default: 0600 */
	id = sk_register(path);
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_int_equal(sk_mode(path), RTE_VFIO_USER_SOCK_MODE_DEFAULT);
	assert_int_equal(RTE_VFIO_USER_SOCK_MODE_DEFAULT, 0600);
	/* not while started */
	assert_int_equal(rte_vfio_user_set_sock_mode(id, 0660), -EBUSY);
	assert_int_equal(rte_vfio_user_stop(id), 0);
	assert_int_equal(access(path, F_OK), -1);

	/* exactly the mode set, even with bits the umask takes away */
	umask(077);
	assert_int_equal(rte_vfio_user_set_sock_mode(id, 0660), 0);
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_int_equal(sk_mode(path), 0660);
	assert_int_equal(rte_vfio_user_stop(id), 0);
	umask(0);
	assert_int_equal(rte_vfio_user_set_sock_mode(id, 0600), 0);
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_int_equal(sk_mode(path), 0600);
	assert_true(sk_answers(path));
	assert_int_equal(rte_vfio_user_unregister(id), 0);
	umask(old);
	assert_int_equal(access(path, F_OK), -1);

	/* bad arguments */
	id = sk_register(path);
	assert_int_equal(rte_vfio_user_set_sock_mode(id, 01000), -EINVAL);
	assert_int_equal(rte_vfio_user_set_sock_mode(id, 04600), -EINVAL);
	assert_int_equal(rte_vfio_user_set_sock_mode(id, 0777), 0);
	assert_int_equal(rte_vfio_user_set_sock_mode(id, 0), 0);
	assert_int_equal(rte_vfio_user_unregister(id), 0);
	assert_int_equal(rte_vfio_user_set_sock_mode(id, 0600), -ENODEV);
	assert_int_equal(rte_vfio_user_set_sock_mode(-1, 0600), -ENODEV);
	/* a socket given by fd is the caller's */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	fid = rte_vfio_user_register_fd(fd, NULL, NULL);
	assert_true(fid >= 0);
	assert_int_equal(rte_vfio_user_set_sock_mode(fid, 0600), -ENOTSUP);
	assert_int_equal(rte_vfio_user_unregister(fid), 0);	/* closes fd */
}

/* ---- a live server on the path ---- */

static void
test_sock_live_server(void **state)
{
	char path[108], alias[140];
	struct rc c;
	ino_t ino;
	int lfd, id, peer;

	(void)state;
	/* another program's listening socket */
	sk_path(path, sizeof(path), "live.sock");
	lfd = sk_bind(path, true);
	ino = sk_ino(path);
	id = sk_register(path);
	log_capture();
	assert_int_equal(rte_vfio_user_start(id), -EADDRINUSE);
	log_expect(path, "a server is answering");
	/* its socket is untouched and still serves */
	assert_int_equal(sk_ino(path), ino);
	peer = accept(lfd, NULL, NULL);	/* the probe */
	assert_true(peer >= 0);
	close(peer);
	assert_true(sk_answers(path));
	assert_int_equal(rte_vfio_user_unregister(id), 0);
	assert_int_equal(sk_ino(path), ino);	/* not removed either */
	close(lfd);
	unlink(path);

	/* a device of this process serving the same file under another
	 * name (a second backend started by mistake) */
	snprintf(alias, sizeof(alias), "%s/./%s", mi_dir_path(),
		 strrchr(mi_a.path, '/') + 1);
	ino = sk_ino(mi_a.path);
	id = sk_register(alias);
	log_capture();
	assert_int_equal(rte_vfio_user_start(id), -EADDRINUSE);
	log_expect(alias, "a server is answering");
	assert_int_equal(rte_vfio_user_unregister(id), 0);
	assert_int_equal(sk_ino(mi_a.path), ino);
	/* device A still takes clients */
	mi_open(&c, &mi_a, NULL);
	mi_close(&c, &mi_a);
}

/* ---- a stale socket ---- */

static void
test_sock_stale(void **state)
{
	char path[108];
	int fd, id;

	(void)state;
	sk_path(path, sizeof(path), "stale.sock");
	/* bound, then closed: the file stays, nobody answers */
	fd = sk_bind(path, false);
	close(fd);
	assert_false(sk_answers(path));
	id = sk_register(path);
	log_capture();
	assert_int_equal(rte_vfio_user_start(id), 0);
	log_expect(path, "removed a stale socket file");
	assert_true(sk_answers(path));	/* ours now (the inode may be reused) */
	assert_int_equal(rte_vfio_user_stop(id), 0);
	assert_int_equal(access(path, F_OK), -1);

	/* bound but not listening (a server still starting, or one that
	 * will never listen): refused connections, also replaced */
	fd = sk_bind(path, false);
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_true(sk_answers(path));
	assert_int_equal(rte_vfio_user_unregister(id), 0);
	close(fd);
}

/* ---- things that are not sockets ---- */

/* Start a device on path: it must fail with -EEXIST. */
static void
start_refused(const char *path)
{
	int id = sk_register(path);

	log_capture();
	assert_int_equal(rte_vfio_user_start(id), -EEXIST);
	log_expect(path, "is not a socket");
	assert_int_equal(rte_vfio_user_unregister(id), 0);
}

static void
test_sock_not_socket(void **state)
{
	char path[108], target[108], live[108], stale[108], buf[16] = "";
	struct stat st;
	int fd, lfd;
	ino_t ino;

	(void)state;
	sk_path(path, sizeof(path), "thing");
	sk_path(target, sizeof(target), "target");
	sk_path(live, sizeof(live), "live2.sock");
	sk_path(stale, sizeof(stale), "stale2.sock");

	/* a regular file */
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "precious", 8), 8);
	close(fd);
	start_refused(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "precious", 8);
	close(fd);
	assert_int_equal(unlink(path), 0);

	/* a directory */
	assert_int_equal(mkdir(path, 0700), 0);
	start_refused(path);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(rmdir(path), 0);

	/* a dangling symlink: not followed (nothing created at its target) */
	assert_int_equal(symlink(target, path), 0);
	start_refused(path);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(access(target, F_OK), -1);

	/* a symlink to a file: the file is not touched */
	fd = open(target, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	ino = sk_ino(target);
	start_refused(path);
	assert_int_equal(sk_ino(target), ino);
	assert_int_equal(lstat(target, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(target), 0);

	/* a symlink to a live socket, and one to a stale socket: neither
	 * followed, the stale one is not removed through the link */
	lfd = sk_bind(live, true);
	assert_int_equal(symlink(live, path), 0);
	start_refused(path);
	assert_true(sk_answers(live));
	assert_int_equal(unlink(path), 0);
	fd = sk_bind(stale, false);
	close(fd);
	ino = sk_ino(stale);
	assert_int_equal(symlink(stale, path), 0);
	start_refused(path);
	assert_int_equal(sk_ino(stale), ino);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(stale), 0);
	close(lfd);
	assert_int_equal(unlink(live), 0);
}

/* ---- stop removes only its own socket ---- */

static void
test_sock_stop_replaced(void **state)
{
	char path[108];
	struct stat st;
	ino_t other;
	int id, fd;

	(void)state;
	sk_path(path, sizeof(path), "replaced.sock");
	id = sk_register(path);

	/* replaced by a regular file while serving */
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_int_equal(unlink(path), 0);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rte_vfio_user_stop(id), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(unlink(path), 0);

	/* replaced by another server's socket */
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_int_equal(unlink(path), 0);
	fd = sk_bind(path, true);
	other = sk_ino(path);
	assert_int_equal(rte_vfio_user_stop(id), 0);
	assert_int_equal(sk_ino(path), other);
	assert_true(sk_answers(path));
	close(fd);
	assert_int_equal(unlink(path), 0);

	/* removed while serving: stop is fine with it */
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rte_vfio_user_stop(id), 0);
	/* and the untouched case removes it */
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_int_equal(rte_vfio_user_unregister(id), 0);
	assert_int_equal(access(path, F_OK), -1);
}

/* ---- a socket given by fd ---- */

/* Started on a socket it was given, stopped: that socket is closed, and a
 * second start says so rather than listening on a path made of its
 * name ("fd:N", in the working directory). */
static void
test_sock_given_fd_restart(void **state)
{
	char path[108], name[108];
	int lfd, sv[2], id, cfd;

	(void)state;
	sk_path(path, sizeof(path), "given.sock");
	lfd = sk_bind(path, true);
	id = sk_describe(rte_vfio_user_register_fd(lfd, NULL, NULL));
	assert_int_equal(rte_vfio_user_get_sock_addr(id, name, sizeof(name)),
			 0);
	assert_int_equal(rte_vfio_user_get_sock_addr(id, NULL, sizeof(name)),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_get_sock_addr(id, name, 2), -ENOSPC);
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_true(sk_answers(path));
	assert_int_equal(rte_vfio_user_stop(id), 0);
	assert_int_equal(fcntl(lfd, F_GETFD), -1);	/* closed */
	log_capture();
	assert_int_equal(rte_vfio_user_start(id), -EBADF);
	log_expect(name, "socket");
	assert_int_equal(access(name, F_OK), -1);
	assert_int_equal(rte_vfio_user_unregister(id), 0);
	unlink(path);

	/* a connected one: its client leaves, the device cannot restart */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	id = sk_describe(rte_vfio_user_register_fd(sv[0], NULL, NULL));
	assert_int_equal(rte_vfio_user_start(id), 0);
	close(sv[1]);
	assert_true(MI_WAIT(rte_vfio_user_is_idle(id) == 1, 5000));
	assert_int_equal(rte_vfio_user_get_sock_addr(id, name, sizeof(name)),
			 0);
	assert_int_equal(rte_vfio_user_stop(id), 0);
	assert_int_equal(rte_vfio_user_start(id), -EBADF);
	assert_int_equal(access(name, F_OK), -1);
	assert_int_equal(rte_vfio_user_unregister(id), 0);
	cfd = dup(0);	/* the fd numbers are free again: nothing left open */
	assert_true(cfd >= 0 && cfd <= sv[1]);
	close(cfd);
}

/* One fd number registered twice: refused, and the fd stays the
 * caller's (two devices would both close it). */
static void
test_sock_given_fd_twice(void **state)
{
	int sv[2], id, id2;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	id = rte_vfio_user_register_fd(sv[0], NULL, NULL);
	assert_true(id >= 0);
	assert_int_equal(rte_vfio_user_register_fd(sv[0], NULL, NULL), -EEXIST);
	assert_true(fcntl(sv[0], F_GETFD) >= 0);	/* not closed */
	/* another fd is another device */
	id2 = rte_vfio_user_register_fd(sv[1], NULL, NULL);
	assert_true(id2 >= 0 && id2 != id);
	assert_int_equal(rte_vfio_user_unregister(id2), 0);	/* closes sv[1] */
	assert_int_equal(rte_vfio_user_unregister(id), 0);	/* closes sv[0] */
}

#define T(f) cmocka_unit_test_setup_teardown(f, mi_test_setup, mi_test_teardown)
const struct CMUnitTest mi_sock_tests[] = {
	T(test_sock_mode),	    T(test_sock_live_server),
	T(test_sock_stale),	    T(test_sock_not_socket),
	T(test_sock_stop_replaced), T(test_sock_given_fd_restart),
	T(test_sock_given_fd_twice),
};
const size_t mi_sock_tests_n = sizeof(mi_sock_tests) / sizeof(mi_sock_tests[0]);
