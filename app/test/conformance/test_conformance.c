/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * vfio-user protocol conformance suite.
 *
 *   test_conformance PATH/TO/vu_test_device
 *
 * Starts vu_test_device with its socket in a private temporary directory
 * and checks the server through raw_client only (its own framing, no code
 * of the library), against the vfio-user specification: version and
 * capability negotiation, device/region/IRQ queries, region I/O, mmap of a
 * sparse region, io fds, interrupts, DMA map/unmap, No_reply, pipelining,
 * a catalogue of malformed messages each followed by a check that the same
 * connection still works, and connection churn without fd growth in the
 * server.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>

#include "raw_client.h"
#include "vu_test_device.h"

#define HDR_SIZE ((uint32_t)sizeof(struct vfio_user_header))
/* The server closes a connection whose message stalled for its msg_ms
 * (rte_vfio_user_set_timeouts(): 1 s here, given to the device, where the
 * default is 5 s): wait that long and a margin for a loaded machine. */
#define PARTIAL_TIMEOUT_MS 1000
#define PARTIAL_WAIT_MS (PARTIAL_TIMEOUT_MS + 1500)
#define STR_(x) #x
#define STR(x) STR_(x)
/* How long the server may take to release a connection's fds. */
#define SETTLE_MS 2000
/* Largest message the server takes (1 MiB of data + 4 KiB). */
#define SERVER_MAX_MSG (1024 * 1024 + 4096)

#define CHURN_ROUNDS 500
/* -DCLOSE_ROUNDS=N for a longer hunt of the write-then-close race */
#ifndef CLOSE_ROUNDS
#define CLOSE_ROUNDS 500
#endif

static struct {
	const char *dev_bin;
	char dir[PATH_MAX];
	char sock[PATH_MAX + 16];
	char err[PATH_MAX + 16];	/* the devices' stderr, appended */
	bool teardown_failed;
	pid_t pid;
	int out_fd;
	int base_fds;		/* server fds with no client */
	uint32_t max_xfer;	/* server's max_data_xfer_size */
} g = { .pid = -1, .out_fd = -1 };

/* Connections of the running test: closed by the teardown even when an
 * assertion failed half-way, so the next test finds the server free. */
#define MAX_CONNS 4
static struct rc conns[MAX_CONNS];

/* ---- time, processes ---- */

/* Wait until the server has 'want' fds; returns the last count. */
static int
wait_server_fds(int want, int timeout_ms)
{
	uint64_t end = rc_now_ms() + (uint64_t)timeout_ms;
	int n;

	for (;;) {
		n = rc_count_proc_fds(g.pid);
		if (n == want || rc_now_ms() >= end)
			return n;
		rc_sleep_ms(5);
	}
}

/* fork/exec the device with one argument (and the message timeout); its
 * stdout goes to *out_fd. */
static pid_t
spawn_device(const char *arg, int keep_fd, int *out_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int efd;

		/* never outlive the test */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		/* stderr into a file test_device_exit() reads: sanitizer
		 * reports of a device that exits 0 are failures too */
		efd = open(g.err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			   0600);
		if (efd < 0 || dup2(efd, STDERR_FILENO) < 0)
			_exit(127);
		if (keep_fd >= 0)
			fcntl(keep_fd, F_SETFD, 0);
		execl(g.dev_bin, g.dev_bin, arg,
		      "--msg-timeout=" STR(PARTIAL_TIMEOUT_MS), (char *)NULL);
		perror("exec vu_test_device");
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

/* Read the device's "ready ..." line; 0 or -1. */
static int
wait_ready(int fd, int timeout_ms)
{
	uint64_t end = rc_now_ms() + (uint64_t)timeout_ms;
	char line[PATH_MAX + 16];
	size_t len = 0;

	while (len < sizeof(line) - 1) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		uint64_t now = rc_now_ms();
		ssize_t n;

		if (now >= end)
			break;
		if (poll(&pf, 1, (int)(end - now)) <= 0)
			continue;
		n = read(fd, line + len, 1);
		if (n <= 0)
			break;
		if (line[len] == '\n') {
			line[len] = '\0';
			return strncmp(line, "ready ", 6) == 0 ? 0 : -1;
		}
		len++;
	}
	return -1;
}

/* SIGTERM a device and reap it within timeout_ms (then SIGKILL).
 * Returns its wait status, or -1 if it had to be killed. */
static int
stop_device(pid_t pid, int timeout_ms)
{
	uint64_t end = rc_now_ms() + (uint64_t)timeout_ms;
	int status;

	kill(pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (rc_now_ms() >= end)
			break;
		rc_sleep_ms(10);
	}
	fprintf(stderr, "vu_test_device %d did not stop: SIGKILL\n", (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* ---- messages ---- */

/* Send a message with every header field given (msg_size as is). */
static uint16_t
send_hdr(struct rc *c, uint16_t cmd, uint32_t msg_size, uint32_t flags,
	 uint32_t error_no, const void *payload, size_t len, const int *fds,
	 int nfds)
{
	struct vfio_user_header h = {
		.msg_id = c->next_id++,
		.cmd = cmd,
		.msg_size = msg_size,
		.flags = flags,
		.error_no = error_no,
	};
	uint8_t *buf = malloc(HDR_SIZE + len);
	int ret;

	assert_non_null(buf);
	memcpy(buf, &h, HDR_SIZE);
	if (len > 0)
		memcpy(buf + HDR_SIZE, payload, len);
	ret = rc_send_raw(c, buf, HDR_SIZE + len, fds, nfds);
	free(buf);
	assert_int_equal(ret, 0);
	return h.msg_id;
}

static uint16_t
send_cmd(struct rc *c, uint16_t cmd, uint32_t flags, const void *payload,
	 size_t len, const int *fds, int nfds)
{
	return send_hdr(c, cmd, HDR_SIZE + (uint32_t)len, flags, 0, payload,
			len, fds, nfds);
}

/*
 * The next message must be the reply to (id, cmd). Returns 0 for success,
 * -errno for an error reply (which must carry a non-zero errno and nothing
 * but the header). The caller frees r.
 */
static int
recv_reply(struct rc *c, uint16_t id, uint16_t cmd, struct rc_reply *r)
{
	int ret = rc_recv(c, r, RC_TIMEOUT_MS);

	if (ret < 0)
		print_error("no reply to message %u (cmd %u): %s\n", id, cmd,
			    strerror(-ret));
	assert_int_equal(ret, 0);
	assert_int_equal(r->hdr.flags & VFIO_USER_F_TYPE_MASK,
			 VFIO_USER_F_TYPE_REPLY);
	assert_int_equal(r->hdr.msg_id, id);
	assert_int_equal(r->hdr.cmd, cmd);
	/* a reply has only the type and error bits */
	assert_int_equal(r->hdr.flags & ~(VFIO_USER_F_TYPE_MASK |
					  VFIO_USER_F_ERROR), 0);
	if (r->hdr.flags & VFIO_USER_F_ERROR) {
		assert_int_not_equal(r->hdr.error_no, 0);
		/* "the reply message must only include the reply header" */
		assert_int_equal(r->hdr.msg_size, HDR_SIZE);
		return -(int)r->hdr.error_no;
	}
	assert_int_equal(r->hdr.error_no, 0);
	return 0;
}

/* The next message must be an error reply to (id, cmd); err 0: any errno. */
static void
expect_error(struct rc *c, uint16_t id, uint16_t cmd, int err)
{
	struct rc_reply r;
	int ret = recv_reply(c, id, cmd, &r);

	rc_reply_free(&r);
	if (ret == 0)
		print_error("message %u (cmd %u) succeeded, expected %s\n", id,
			    cmd, err ? strerror(err) : "an error");
	assert_int_not_equal(ret, 0);
	if (err != 0 && ret != -err)
		print_error("message %u (cmd %u): got %s, expected %s\n", id,
			    cmd, strerror(-ret), strerror(err));
	if (err != 0)
		assert_int_equal(ret, -err);
}

/* Nothing may arrive within ms. */
static void
expect_silence(struct rc *c, int ms)
{
	struct rc_reply r;
	int ret = rc_recv(c, &r, ms);

	if (ret == 0)
		print_error("unexpected message id %u cmd %u flags 0x%x\n",
			    r.hdr.msg_id, r.hdr.cmd, r.hdr.flags);
	rc_reply_free(&r);
	assert_int_equal(ret, -ETIMEDOUT);
}

static int
call(struct rc *c, uint16_t cmd, const void *payload, size_t len,
     const int *fds, int nfds, struct rc_reply *r)
{
	uint16_t id = send_cmd(c, cmd, 0, payload, len, fds, nfds);

	return recv_reply(c, id, cmd, r);
}

/* call() that must succeed; frees the reply. */
static void
call_ok(struct rc *c, uint16_t cmd, const void *payload, size_t len)
{
	struct rc_reply r;
	int ret = call(c, cmd, payload, len, NULL, 0, &r);

	rc_reply_free(&r);
	assert_int_equal(ret, 0);
}

/* GET_INFO must answer correctly: the connection is alive and in sync. */
static void
check_alive(struct rc *c)
{
	struct vfio_user_device_info in = { .argsz = sizeof(in) };
	const struct vfio_user_device_info *out;
	struct rc_reply r;

	assert_int_equal(call(c, VFIO_USER_DEVICE_GET_INFO, &in, sizeof(in),
			      NULL, 0, &r), 0);
	assert_int_equal(r.size, sizeof(*out));
	out = (const void *)r.payload;
	assert_int_equal(out->num_regions, VU_TD_NUM_REGIONS);
	assert_int_equal(out->num_irqs, VU_TD_NUM_IRQS);
	assert_int_equal(r.nfds, 0);
	rc_reply_free(&r);
}

static int
region_read(struct rc *c, uint32_t region, uint64_t offset, void *buf,
	    uint32_t count)
{
	struct vfio_user_region_access a = {
		.offset = offset, .region = region, .count = count,
	};
	const struct vfio_user_region_access *ra;
	struct rc_reply r;
	int ret = call(c, VFIO_USER_REGION_READ, &a, sizeof(a), NULL, 0, &r);

	if (ret == 0) {
		ra = (const void *)r.payload;
		assert_int_equal(r.size, sizeof(a) + count);
		assert_int_equal(ra->offset, offset);
		assert_int_equal(ra->region, region);
		assert_int_equal(ra->count, count);
		memcpy(buf, ra->data, count);
	}
	rc_reply_free(&r);
	return ret;
}

/* REGION_WRITE payload: header and data. */
static struct vfio_user_region_access *
write_msg(uint32_t region, uint64_t offset, const void *data, uint32_t count,
	  size_t *len)
{
	struct vfio_user_region_access *a = malloc(sizeof(*a) + count);

	assert_non_null(a);
	a->offset = offset;
	a->region = region;
	a->count = count;
	if (count > 0)
		memcpy(a->data, data, count);
	*len = sizeof(*a) + count;
	return a;
}

static int
region_write(struct rc *c, uint32_t region, uint64_t offset, const void *data,
	     uint32_t count)
{
	size_t len;
	struct vfio_user_region_access *a = write_msg(region, offset, data,
						      count, &len);
	const struct vfio_user_region_access *ra;
	struct rc_reply r;
	int ret = call(c, VFIO_USER_REGION_WRITE, a, len, NULL, 0, &r);

	free(a);
	if (ret == 0) {
		ra = (const void *)r.payload;
		assert_int_equal(r.size, sizeof(*ra));
		assert_int_equal(ra->offset, offset);
		assert_int_equal(ra->region, region);
		assert_int_equal(ra->count, count);
	}
	rc_reply_free(&r);
	return ret;
}

static uint32_t
read32(struct rc *c, uint32_t region, uint64_t offset)
{
	uint32_t v = 0;

	assert_int_equal(region_read(c, region, offset, &v, sizeof(v)), 0);
	return v;
}

static void
write32(struct rc *c, uint32_t region, uint64_t offset, uint32_t v)
{
	assert_int_equal(region_write(c, region, offset, &v, sizeof(v)), 0);
}

/* ---- connections ---- */

static struct rc *
conn_slot(void)
{
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd < 0)
			return &conns[i];
	fail_msg("too many connections in one test");
	return NULL;
}

static void
conn_close(struct rc *c)
{
	rc_close(c);
}

/*
 * Connect, and negotiate (with json, NULL: no version data) unless fresh.
 * Tests close their client before they connect again, at once: the server
 * must take the new client even if it has not yet seen the old one go
 * (the spec expects clients to reconnect).
 */
static struct rc *
conn_open_ex(bool negotiate, const char *json)
{
	struct rc *c = conn_slot();
	int ret = rc_connect(c, g.sock, RC_TIMEOUT_MS);

	assert_int_equal(ret, 0);
	if (!negotiate)
		return c;
	ret = rc_negotiate(c, json, NULL);
	if (ret != 0)
		print_error("VERSION failed: %s%s\n", strerror(-ret),
			    ret == -ECONNRESET ? " (connection refused)" : "");
	assert_int_equal(ret, 0);
	return c;
}

static struct rc *
conn_open(const char *json)
{
	return conn_open_ex(true, json);
}

static struct rc *
conn_open_fresh(void)
{
	return conn_open_ex(false, NULL);
}

/* Close every connection; the server must be back to its baseline fds. */
static int
teardown_conns(void **state)
{
	int n;

	(void)state;
	for (int i = 0; i < MAX_CONNS; i++)
		conn_close(&conns[i]);
	n = wait_server_fds(g.base_fds, SETTLE_MS);
	if (n != g.base_fds) {
		fprintf(stderr, "server has %d fds after the test, %d before\n",
			n, g.base_fds);
		return -1;
	}
	return 0;
}

/* ---- the devices' stderr ---- */

/* Print what the devices wrote to stderr (then the file goes); returns
 * the first sanitizer report marker found, or NULL. */
static const char *
dump_device_stderr(void)
{
	static const char *const markers[] = {
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
		"runtime error:", "UndefinedBehaviorSanitizer",
		"WARNING: ThreadSanitizer",
	};
	static char buf[1 << 20];
	const char *found = NULL;
	size_t n = 0;
	FILE *f;

	if (g.err[0] == '\0')
		return NULL;
	f = fopen(g.err, "r");
	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(g.err);
	buf[n] = '\0';
	if (n > 0)
		fprintf(stderr, "---- vu_test_device stderr ----\n%s"
			"---- end of vu_test_device stderr ----\n", buf);
	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]) &&
	     found == NULL; i++)
		if (strstr(buf, markers[i]) != NULL)
			found = markers[i];
	return found;
}

/* ---- group setup / teardown ---- */

static int
group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct rc c;
	int ret;

	(void)state;
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(g.dir, sizeof(g.dir), "%s/vu-conformance-XXXXXX", tmp);
	if (mkdtemp(g.dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(g.sock, sizeof(g.sock), "%s/dev.sock", g.dir);
	snprintf(g.err, sizeof(g.err), "%s/device.stderr", g.dir);
	if (strlen(g.sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "socket path %s too long (TMPDIR)\n", g.sock);
		rmdir(g.dir);
		return -1;
	}

	{
		char arg[PATH_MAX + 32];

		snprintf(arg, sizeof(arg), "--socket-path=%s", g.sock);
		g.pid = spawn_device(arg, -1, &g.out_fd);
	}
	if (g.pid < 0) {
		perror("spawn vu_test_device");
		rmdir(g.dir);
		return -1;
	}
	if (wait_ready(g.out_fd, 30000) < 0) {
		fprintf(stderr, "vu_test_device did not get ready\n");
		stop_device(g.pid, 5000);
		g.pid = -1;
		close(g.out_fd);
		g.out_fd = -1;
		unlink(g.sock);
		dump_device_stderr();
		rmdir(g.dir);
		return -1;
	}

	/* baseline: the server's fds with no client */
	g.base_fds = rc_count_proc_fds(g.pid);

	/* learn the server's max_data_xfer_size */
	ret = rc_connect(&c, g.sock, RC_TIMEOUT_MS);
	if (ret == 0) {
		struct rc_reply r;

		ret = rc_negotiate(&c, NULL, &r);
		if (ret == 0 && r.size > sizeof(struct vfio_user_version)) {
			const char *data = (const char *)r.payload + 4;
			json_t *root = json_loadb(data, strnlen(data,
						  r.size - 4), 0, NULL);
			json_t *v = json_object_get(json_object_get(root,
					"capabilities"), "max_data_xfer_size");

			if (json_is_integer(v))
				g.max_xfer = (uint32_t)json_integer_value(v);
			json_decref(root);
		}
		rc_reply_free(&r);
		rc_close(&c);
	}
	if (g.max_xfer == 0)
		g.max_xfer = VFIO_USER_DEF_MAX_XFER;
	if (wait_server_fds(g.base_fds, SETTLE_MS) != g.base_fds) {
		fprintf(stderr, "server fds did not return to %d after the "
			"first client\n", g.base_fds);
		ret = -1;
	}
	print_message("vu_test_device pid %d, socket %s, %d fds, "
		      "max_data_xfer_size %u\n", (int)g.pid, g.sock, g.base_fds,
		      g.max_xfer);
	if (ret != 0 || g.base_fds <= 0) {
		/* no group teardown after a failed setup: clean up here */
		stop_device(g.pid, 5000);
		g.pid = -1;
		close(g.out_fd);
		g.out_fd = -1;
		unlink(g.sock);
		dump_device_stderr();
		rmdir(g.dir);
		return -1;
	}
	return 0;
}

/*
 * cmocka 1.1.5 does not count a failed group teardown in its exit status:
 * what must fail the run (the device's exit status, its socket file, its
 * sanitizer reports) is checked by test_device_exit(), the last test. The
 * teardown only cleans up (and main() still fails if it had to stop a
 * device that test did not).
 */
static int
group_teardown(void **state)
{
	int status;

	(void)state;
	for (int i = 0; i < MAX_CONNS; i++)
		conn_close(&conns[i]);
	if (g.pid > 0) {
		status = stop_device(g.pid, 10000);
		fprintf(stderr, "vu_test_device still running at the end "
			"(status 0x%x once stopped)\n", status);
		g.teardown_failed = true;
		g.pid = -1;
	}
	if (g.out_fd >= 0)
		close(g.out_fd);
	g.out_fd = -1;
	unlink(g.sock);
	dump_device_stderr();
	rmdir(g.dir);
	return 0;
}

/* ---- VERSION ---- */

/*
 * Check a VERSION reply: same major, minor <= proposed, and if there is
 * version data, one NUL-terminated JSON object. Returns the JSON (or NULL).
 */
static json_t *
check_version_reply(const struct rc_reply *r, uint16_t minor)
{
	const struct vfio_user_version *v = (const void *)r->payload;
	const char *data;
	size_t len;
	json_error_t jerr;
	json_t *root;

	assert_true(r->size >= sizeof(*v));
	assert_int_equal(v->major, VFIO_USER_MAJOR_VER);
	assert_true(v->minor <= minor);
	assert_int_equal(r->nfds, 0);
	len = r->size - sizeof(*v);
	if (len == 0)
		return NULL;
	data = v->data;
	assert_int_equal(data[len - 1], '\0');
	assert_int_equal(strlen(data), len - 1);
	root = json_loads(data, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		print_error("bad JSON in VERSION reply: %s: %s\n", jerr.text,
			    data);
	assert_non_null(root);
	assert_true(json_is_object(root));
	return root;
}

/* A capability that must be a positive integer. */
static json_int_t
cap_int(json_t *caps, const char *name)
{
	json_t *v = json_object_get(caps, name);

	if (v == NULL)
		print_error("capability %s missing\n", name);
	assert_non_null(v);
	assert_true(json_is_integer(v));
	assert_true(json_integer_value(v) > 0);
	return json_integer_value(v);
}

static json_t *
negotiate_json(struct rc *c, uint16_t minor, const char *json)
{
	size_t jl = json != NULL ? strlen(json) + 1 : 0;
	struct vfio_user_version *v = malloc(sizeof(*v) + jl);
	struct rc_reply r;
	json_t *root;
	int ret;

	assert_non_null(v);
	v->major = VFIO_USER_MAJOR_VER;
	v->minor = minor;
	if (jl > 0)
		memcpy(v->data, json, jl);
	ret = call(c, VFIO_USER_VERSION, v, sizeof(*v) + jl, NULL, 0, &r);
	free(v);
	assert_int_equal(ret, 0);
	root = check_version_reply(&r, minor);
	rc_reply_free(&r);
	return root;
}

static void
test_version(void **state)
{
	static const struct {
		uint16_t minor;
		const char *json;
		bool write_multi;
	} cases[] = {
		{ VFIO_USER_MINOR_VER,
		  "{\"capabilities\":{\"max_msg_fds\":8,"
		  "\"max_data_xfer_size\":65536,\"write_multiple\":true}}",
		  true },
		{ VFIO_USER_MINOR_VER,
		  "{\"capabilities\":{\"max_msg_fds\":4}}", false },
		{ VFIO_USER_MINOR_VER,
		  "{\"capabilities\":{\"write_multiple\":false,"
		  "\"pgsizes\":4096,\"max_dma_maps\":16}}", false },
		{ VFIO_USER_MINOR_VER, "{}", false },
		/* 2 MiB and 1 GiB pages only: 4 KiB aligned too */
		{ VFIO_USER_MINOR_VER,
		  "{\"capabilities\":{\"pgsizes\":1075838976}}", false },
		/* maxima past what the server can use: taken as its own */
		{ VFIO_USER_MINOR_VER,
		  "{\"capabilities\":{\"max_msg_fds\":4294967296,"
		  "\"max_data_xfer_size\":1099511627776,"
		  "\"max_dma_maps\":8589934592}}",
		  false },
		/* a client that takes no fds */
		{ VFIO_USER_MINOR_VER, "{\"capabilities\":{\"max_msg_fds\":0}}",
		  false },
		/* whole numbers written with a fraction or an exponent (JSON
		 * has one number type) */
		{ VFIO_USER_MINOR_VER,
		  "{\"capabilities\":{\"max_msg_fds\":8.0,"
		  "\"max_data_xfer_size\":1.048576e6,\"pgsizes\":4096.0}}",
		  false },
		/* what the server does not know it ignores */
		{ VFIO_USER_MINOR_VER,
		  "{\"capabilities\":{\"max_msg_fds\":2,"
		  "\"future_cap\":{\"x\":[1,2]}},\"future_root\":7}",
		  false },
		{ VFIO_USER_MINOR_VER, NULL, false },	/* no JSON at all */
		{ 0, NULL, false },			/* older minor */
		{ 0xffff, "{\"capabilities\":{}}", false }, /* newer minor */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rc *c = conn_open_fresh();
		json_t *root, *caps, *wm;

		root = negotiate_json(c, cases[i].minor, cases[i].json);
		if (root != NULL) {
			static const char *const nums[] = {
				"max_msg_fds",
				"max_data_xfer_size",
				"max_dma_maps",
				"pgsizes",
			};
			json_t *prop = cases[i].json != NULL ?
					       json_loads(cases[i].json, 0,
							  NULL) :
					       NULL;
			json_t *pcaps = json_object_get(prop, "capabilities");

			caps = json_object_get(root, "capabilities");
			assert_non_null(caps);
			assert_true(json_is_object(caps));
			/* a subset of those proposed (the spec's rule), each
			 * a positive number; 4 KiB pages among ours */
			for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]);
			     k++) {
				if (json_object_get(pcaps, nums[k]) == NULL) {
					assert_null(
						json_object_get(caps, nums[k]));
					continue;
				}
				assert_true(cap_int(caps, nums[k]) >= 1);
			}
			if (json_object_get(pcaps, "pgsizes") != NULL)
				assert_true(cap_int(caps, "pgsizes") & 4096);
			json_decref(prop);
			/* only what the client proposed */
			wm = json_object_get(caps, "write_multiple");
			if (cases[i].write_multi)
				assert_true(json_is_true(wm));
			else
				assert_true(wm == NULL || json_is_false(wm));
			assert_null(json_object_get(caps, "twin_socket"));
			json_decref(root);
		}
		check_alive(c);
		conn_close(c);
	}
}

/*
 * twin_socket proposed: the server may decline (absent or false, no fd) or
 * accept (true, fd_index naming a socket passed with the reply).
 */
static void
test_version_twin_socket(void **state)
{
	static const char j[] =
		"{\"capabilities\":{\"twin_socket\":{\"supported\":true}}}";
	uint8_t buf[sizeof(struct vfio_user_version) + sizeof(j)];
	struct vfio_user_version *v = (void *)buf;
	struct rc *c = conn_open_fresh();
	const struct vfio_user_version *out;
	json_t *root, *twin, *sup, *idx;
	struct rc_reply r;

	(void)state;
	v->major = VFIO_USER_MAJOR_VER;
	v->minor = VFIO_USER_MINOR_VER;
	memcpy(v->data, j, sizeof(j));
	assert_int_equal(call(c, VFIO_USER_VERSION, buf, sizeof(buf), NULL, 0,
			      &r), 0);
	out = (const void *)r.payload;
	assert_true(r.size > sizeof(*out));
	assert_int_equal(out->major, VFIO_USER_MAJOR_VER);
	assert_int_equal(out->data[r.size - sizeof(*out) - 1], '\0');
	root = json_loads(out->data, 0, NULL);
	assert_non_null(root);
	twin = json_object_get(json_object_get(root, "capabilities"),
			       "twin_socket");
	sup = twin != NULL ? json_object_get(twin, "supported") : NULL;
	if (sup == NULL || json_is_false(sup)) {
		assert_int_equal(r.nfds, 0);
		print_message("twin_socket declined\n");
	} else {
		int type = 0;
		socklen_t len = sizeof(type);

		assert_true(json_is_true(sup));
		idx = json_object_get(twin, "fd_index");
		assert_true(json_is_integer(idx));
		assert_true(json_integer_value(idx) >= 0 &&
			    json_integer_value(idx) < r.nfds);
		assert_int_equal(getsockopt(r.fds[json_integer_value(idx)],
					    SOL_SOCKET, SO_TYPE, &type, &len), 0);
		assert_int_equal(type, SOCK_STREAM);
	}
	json_decref(root);
	rc_reply_free(&r);
	check_alive(c);
}

/*
 * VERSION with No_reply gets no reply (no command that sets it does): the
 * version is negotiated all the same (the next command is served and its
 * reply is the next message), without the twin socket the client asked
 * for (it would have come in the reply).
 */
static void
test_version_no_reply(void **state)
{
	static const char json[] =
		"{\"capabilities\":{\"twin_socket\":{\"supported\":true}}}";
	struct vfio_user_version *v = calloc(1, sizeof(*v) + sizeof(json));
	struct rc *c = conn_open_fresh();

	(void)state;
	assert_non_null(v);
	v->major = VFIO_USER_MAJOR_VER;
	v->minor = VFIO_USER_MINOR_VER;
	memcpy(v->data, json, sizeof(json));
	send_cmd(c, VFIO_USER_VERSION, VFIO_USER_F_NO_REPLY, v,
		 sizeof(*v) + sizeof(json), NULL, 0);
	free(v);
	check_alive(c);
}

/* ---- device, region and IRQ queries ---- */

static void
test_get_info(void **state)
{
	static const uint32_t argszs[] = { 16, 17, 64, 4096 };
	struct rc *c = conn_open(NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(argszs) / sizeof(argszs[0]); i++) {
		struct vfio_user_device_info in = { .argsz = argszs[i] };
		const struct vfio_user_device_info *out;
		struct rc_reply r;

		assert_int_equal(call(c, VFIO_USER_DEVICE_GET_INFO, &in,
				      sizeof(in), NULL, 0, &r), 0);
		assert_int_equal(r.size, sizeof(*out));
		out = (const void *)r.payload;
		assert_int_equal(out->argsz, sizeof(*out));
		assert_int_equal(out->flags, VFIO_USER_DEVICE_FLAGS_PCI |
				 VFIO_USER_DEVICE_FLAGS_RESET);
		assert_int_equal(out->num_regions, VU_TD_NUM_REGIONS);
		assert_int_equal(out->num_irqs, VU_TD_NUM_IRQS);
		assert_int_equal(r.nfds, 0);
		rc_reply_free(&r);
	}
}

struct exp_region {
	uint32_t flags;		/* READ/WRITE/MMAP */
	uint64_t size;
	uint32_t caps_size;	/* bytes of the capability chain */
};

static const struct exp_region exp_regions[VU_TD_NUM_REGIONS] = {
	[VU_TD_R_BAR0] = { VFIO_USER_REGION_INFO_FLAG_READ |
			   VFIO_USER_REGION_INFO_FLAG_WRITE, VU_TD_BAR0_SIZE, 0 },
	[VU_TD_R_BAR2] = { VFIO_USER_REGION_INFO_FLAG_READ |
			   VFIO_USER_REGION_INFO_FLAG_WRITE |
			   VFIO_USER_REGION_INFO_FLAG_MMAP, VU_TD_BAR2_SIZE,
			   sizeof(struct vfio_user_cap_sparse_mmap) +
			   2 * sizeof(struct vfio_user_sparse_mmap_area) +
			   sizeof(struct vfio_user_cap_type) },
	[VU_TD_R_BAR4] = { VFIO_USER_REGION_INFO_FLAG_READ |
			   VFIO_USER_REGION_INFO_FLAG_WRITE, VU_TD_BAR4_SIZE, 0 },
	[VU_TD_R_CFG] = { VFIO_USER_REGION_INFO_FLAG_READ |
			  VFIO_USER_REGION_INFO_FLAG_WRITE, VU_TD_CFG_SIZE, 0 },
	[VU_TD_R_DEVSPEC] = { VFIO_USER_REGION_INFO_FLAG_READ, VU_TD_R9_SIZE,
			      sizeof(struct vfio_user_cap_type) },
};

/* GET_REGION_INFO with argsz; checks the fixed part; caller frees r. */
static const struct vfio_user_region_info *
region_info(struct rc *c, uint32_t index, uint32_t argsz, struct rc_reply *r)
{
	struct vfio_user_region_info in = { .argsz = argsz, .index = index };
	const struct exp_region *e = &exp_regions[index];
	const struct vfio_user_region_info *out;
	uint32_t full = sizeof(*out) + e->caps_size;

	assert_int_equal(call(c, VFIO_USER_DEVICE_GET_REGION_INFO, &in,
			      sizeof(in), NULL, 0, r), 0);
	assert_true(r->size >= sizeof(*out));
	out = (const void *)r->payload;
	assert_int_equal(out->index, index);
	assert_int_equal(out->size, e->size);
	assert_int_equal(out->flags & ~VFIO_USER_REGION_INFO_FLAG_CAPS,
			 e->flags);
	assert_int_equal(out->argsz, full);
	if (e->caps_size == 0) {
		assert_int_equal(out->flags & VFIO_USER_REGION_INFO_FLAG_CAPS, 0);
		assert_int_equal(out->cap_offset, 0);
		assert_int_equal(r->size, sizeof(*out));
	} else if (argsz < full) {
		/* the size needed, and no chain (nor its flag) */
		assert_int_equal(out->flags & VFIO_USER_REGION_INFO_FLAG_CAPS,
				 0);
		assert_int_equal(out->cap_offset, 0);
		assert_int_equal(r->size, sizeof(*out));
	} else {
		assert_true(out->flags & VFIO_USER_REGION_INFO_FLAG_CAPS);
		assert_int_equal(r->size, full);
	}
	if (e->flags & VFIO_USER_REGION_INFO_FLAG_MMAP) {
		assert_int_equal(r->nfds, 1);
		assert_true(r->fds[0] >= 0);
	} else {
		assert_int_equal(r->nfds, 0);
	}
	return out;
}

struct walked_caps {
	const struct vfio_user_cap_sparse_mmap *sparse;
	const struct vfio_user_cap_type *type;
	unsigned int n;
};

/* Walk a region info's chain by cap_offset/next, checking every link. */
static void
walk_caps(const struct rc_reply *r, struct walked_caps *w)
{
	const struct vfio_user_region_info *ri = (const void *)r->payload;
	uint32_t off = ri->cap_offset, prev = 0;

	memset(w, 0, sizeof(*w));
	while (off != 0) {
		const struct vfio_user_cap_header *h;

		/* forward only, inside the payload, after the fixed part */
		assert_true(off >= sizeof(*ri));
		assert_true(off > prev);
		assert_true(off + sizeof(*h) <= r->size);
		h = (const void *)(r->payload + off);
		assert_int_equal(h->version, 1);
		switch (h->id) {
		case VFIO_USER_REGION_CAP_SPARSE_MMAP: {
			const struct vfio_user_cap_sparse_mmap *s = (const void *)h;

			assert_null(w->sparse);
			assert_true(off + sizeof(*s) <= r->size);
			assert_true(off + sizeof(*s) + (uint64_t)s->nr_areas *
				    sizeof(s->areas[0]) <= r->size);
			w->sparse = s;
			break;
		}
		case VFIO_USER_REGION_CAP_TYPE:
			assert_null(w->type);
			assert_true(off + sizeof(*w->type) <= r->size);
			w->type = (const void *)h;
			break;
		default:
			fail_msg("unknown region cap id %u", h->id);
		}
		w->n++;
		prev = off;
		off = h->next;
	}
}

static void
test_region_info(void **state)
{
	struct rc *c = conn_open(NULL);

	(void)state;
	for (uint32_t i = 0; i < VU_TD_NUM_REGIONS; i++) {
		const struct exp_region *e = &exp_regions[i];
		uint32_t full = sizeof(struct vfio_user_region_info) +
			e->caps_size;
		const struct vfio_user_region_info *ri;
		struct walked_caps w;
		struct rc_reply r;

		/* fixed part only: no chain, the needed argsz, and no CAPS
		 * flag (it says the chain is in the reply: QEMU refuses it
		 * with none) */
		ri = region_info(c, i, sizeof(*ri), &r);
		assert_int_equal(ri->flags & VFIO_USER_REGION_INFO_FLAG_CAPS,
				 0);
		assert_int_equal(ri->cap_offset, 0);
		if (e->flags & VFIO_USER_REGION_INFO_FLAG_MMAP)
			assert_int_equal(ri->offset, VU_TD_BAR2_FD_OFFSET);
		rc_reply_free(&r);
		if (e->caps_size == 0)
			continue;

		/* one byte short: still no chain */
		ri = region_info(c, i, full - 1, &r);
		rc_reply_free(&r);

		/* exactly enough, and more than enough */
		for (int k = 0; k < 2; k++) {
			ri = region_info(c, i, k == 0 ? full : full + 4096, &r);
			assert_true(ri->cap_offset >= sizeof(*ri));
			walk_caps(&r, &w);
			if (i == VU_TD_R_BAR2) {
				assert_int_equal(w.n, 2);
				assert_non_null(w.sparse);
				assert_int_equal(w.sparse->nr_areas, 2);
				assert_int_equal(w.sparse->areas[0].offset,
						 VU_TD_BAR2_SPARSE0_OFF);
				assert_int_equal(w.sparse->areas[0].size,
						 VU_TD_BAR2_SPARSE0_SIZE);
				assert_int_equal(w.sparse->areas[1].offset,
						 VU_TD_BAR2_SPARSE1_OFF);
				assert_int_equal(w.sparse->areas[1].size,
						 VU_TD_BAR2_SPARSE1_SIZE);
				assert_non_null(w.type);
				assert_int_equal(w.type->type, VU_TD_BAR2_TYPE);
				assert_int_equal(w.type->subtype,
						 VU_TD_BAR2_SUBTYPE);
			} else {
				assert_int_equal(w.n, 1);
				assert_null(w.sparse);
				assert_non_null(w.type);
				assert_int_equal(w.type->type, VU_TD_R9_TYPE);
				assert_int_equal(w.type->subtype,
						 VU_TD_R9_SUBTYPE);
			}
			rc_reply_free(&r);
		}
	}
}

static void
test_region_mmap(void **state)
{
	static const uint64_t area_off[2] = {
		VU_TD_BAR2_SPARSE0_OFF, VU_TD_BAR2_SPARSE1_OFF,
	};
	static const uint64_t area_size[2] = {
		VU_TD_BAR2_SPARSE0_SIZE, VU_TD_BAR2_SPARSE1_SIZE,
	};
	struct rc *c = conn_open(NULL);
	const struct vfio_user_region_info *ri;
	uint8_t pat[64], back[64];
	uint8_t *map[2];
	struct rc_reply r;
	int fd;

	(void)state;
	ri = region_info(c, VU_TD_R_BAR2, 4096, &r);
	fd = r.fds[0];
	/* each sparse area at the region's offset plus its own */
	for (int k = 0; k < 2; k++) {
		map[k] = mmap(NULL, area_size[k], PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, (off_t)(ri->offset + area_off[k]));
		assert_true(map[k] != MAP_FAILED);
	}
	rc_reply_free(&r);	/* closes fd: the mappings stay */

	/* REGION_WRITE shows in the mapping */
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(0xa0 ^ i);
	assert_int_equal(region_write(c, VU_TD_R_BAR2, 0x100, pat,
				      sizeof(pat)), 0);
	assert_memory_equal(map[0] + 0x100, pat, sizeof(pat));
	assert_int_equal(region_write(c, VU_TD_R_BAR2,
				      VU_TD_BAR2_SPARSE1_OFF + 0x10, pat,
				      sizeof(pat)), 0);
	assert_memory_equal(map[1] + 0x10, pat, sizeof(pat));

	/* writes through the mapping show in REGION_READ */
	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(0x5c + 3 * i);
	memcpy(map[1] + 0x80, pat, sizeof(pat));
	memcpy(map[0] + VU_TD_BAR2_SPARSE0_SIZE - sizeof(pat), pat,
	       sizeof(pat));
	assert_int_equal(region_read(c, VU_TD_R_BAR2,
				     VU_TD_BAR2_SPARSE1_OFF + 0x80, back,
				     sizeof(back)), 0);
	assert_memory_equal(back, pat, sizeof(pat));
	assert_int_equal(region_read(c, VU_TD_R_BAR2,
				     VU_TD_BAR2_SPARSE0_SIZE - sizeof(pat), back,
				     sizeof(back)), 0);
	assert_memory_equal(back, pat, sizeof(pat));

	/* the part between the areas is reachable by messages */
	assert_int_equal(region_write(c, VU_TD_R_BAR2, 20 * 1024, pat,
				      sizeof(pat)), 0);
	memset(back, 0, sizeof(back));
	assert_int_equal(region_read(c, VU_TD_R_BAR2, 20 * 1024, back,
				     sizeof(back)), 0);
	assert_memory_equal(back, pat, sizeof(pat));

	for (int k = 0; k < 2; k++)
		munmap(map[k], area_size[k]);
}

static bool
is_eventfd(int fd)
{
	char path[64], link[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strstr(link, "eventfd") != NULL;
}

/* GET_REGION_IO_FDS; caller frees r. */
static int
io_fds(struct rc *c, uint32_t index, uint32_t argsz, struct rc_reply *r)
{
	struct vfio_user_region_io_fds in = { .argsz = argsz, .index = index };

	return call(c, VFIO_USER_DEVICE_GET_REGION_IO_FDS, &in, sizeof(in),
		    NULL, 0, r);
}

static void
test_region_io_fds(void **state)
{
	const uint32_t full = sizeof(struct vfio_user_region_io_fds) +
		2 * sizeof(struct vfio_user_sub_region_io_fd);
	const struct vfio_user_region_io_fds *out;
	const struct vfio_user_sub_region_io_fd *sub;
	struct rc_reply r;
	struct rc *c;
	int ret;

	(void)state;
	c = conn_open("{\"capabilities\":{\"max_msg_fds\":8}}");

	/* too small: the size needed, no entries, no fds */
	assert_int_equal(io_fds(c, VU_TD_R_BAR4, sizeof(*out), &r), 0);
	out = (const void *)r.payload;
	assert_int_equal(r.size, sizeof(*out));
	assert_int_equal(out->argsz, full);
	assert_int_equal(out->flags, 0);
	assert_int_equal(out->index, VU_TD_R_BAR4);
	assert_int_equal(out->count, 2);
	assert_int_equal(r.nfds, 0);
	rc_reply_free(&r);

	for (int k = 0; k < 2; k++) {
		assert_int_equal(io_fds(c, VU_TD_R_BAR4, full + k * 100, &r), 0);
		out = (const void *)r.payload;
		assert_int_equal(out->argsz, full);
		assert_int_equal(r.size, full);
		assert_int_equal(out->flags, 0);
		assert_int_equal(out->index, VU_TD_R_BAR4);
		assert_int_equal(out->count, 2);
		assert_int_equal(r.nfds, 2);
		sub = (const void *)(out + 1);
		assert_int_equal(sub[0].offset, VU_TD_BAR4_IO0_OFF);
		assert_int_equal(sub[0].size, 4);
		assert_int_equal(sub[0].type, VFIO_USER_IO_FD_TYPE_IOEVENTFD);
		assert_int_equal(sub[0].flags, 0);
		assert_int_equal(sub[1].offset, VU_TD_BAR4_IO1_OFF);
		assert_int_equal(sub[1].size, 4);
		assert_int_equal(sub[1].type, VFIO_USER_IO_FD_TYPE_IOEVENTFD);
		assert_int_equal(sub[1].flags, VFIO_USER_IOEVENTFD_F_DATAMATCH);
		assert_int_equal(sub[1].datamatch, VU_TD_BAR4_IO1_DATA);
		for (int i = 0; i < 2; i++) {
			assert_true(sub[i].fd_index < (uint32_t)r.nfds);
			assert_true(is_eventfd(r.fds[sub[i].fd_index]));
		}
		rc_reply_free(&r);
	}

	/* regions without io fds: count 0 */
	for (uint32_t i = 0; i < VU_TD_NUM_REGIONS; i++) {
		if (i == VU_TD_R_BAR4)
			continue;
		assert_int_equal(io_fds(c, i, full, &r), 0);
		out = (const void *)r.payload;
		assert_int_equal(out->count, 0);
		assert_int_equal(out->argsz, sizeof(*out));
		assert_int_equal(out->index, i);
		assert_int_equal(r.size, sizeof(*out));
		assert_int_equal(r.nfds, 0);
		rc_reply_free(&r);
	}
	conn_close(c);

	/*
	 * No max_msg_fds: the client takes 1 fd a message. The server must
	 * not send 2: it fails the request or sends at most one.
	 */
	c = conn_open(NULL);
	ret = io_fds(c, VU_TD_R_BAR4, full, &r);
	assert_true(r.nfds <= 1);
	rc_reply_free(&r);
	if (ret == 0)
		print_message("io fds with max_msg_fds 1: answered with <= 1 fd\n");
	check_alive(c);
}

/*
 * A client that takes no fds (max_msg_fds 0; fd passing is optional in the
 * spec) gets none: no MMAP region (MMAP promises an fd), no sparse areas
 * or io fds, no twin socket; the region still works in-band.
 */
static void
test_no_fd_client(void **state)
{
	static const char caps0[] = "{\"capabilities\":{\"max_msg_fds\":0}}";
	static const char twin0[] = "{\"capabilities\":{\"max_msg_fds\":0,"
		"\"twin_socket\":{\"supported\":true}}}";
	const struct vfio_user_region_info *ri;
	struct vfio_user_region_info in = {
		.argsz = 4096, .index = VU_TD_R_BAR2,
	};
	struct walked_caps w;
	struct rc_reply r;
	uint8_t pat[32], back[32];
	struct rc *c;
	json_t *root, *twin;

	(void)state;
	c = conn_open_fresh();
	root = negotiate_json(c, VFIO_USER_MINOR_VER, twin0);	/* no fd */
	assert_non_null(root);
	twin = json_object_get(json_object_get(root, "capabilities"),
			       "twin_socket");
	assert_false(json_is_true(json_object_get(twin, "supported")));
	json_decref(root);
	conn_close(c);

	c = conn_open(caps0);
	assert_int_equal(call(c, VFIO_USER_DEVICE_GET_REGION_INFO, &in,
			      sizeof(in), NULL, 0, &r), 0);
	ri = (const void *)r.payload;
	assert_int_equal(r.nfds, 0);
	assert_int_equal(ri->flags & VFIO_USER_REGION_INFO_FLAG_MMAP, 0);
	assert_true(ri->flags & VFIO_USER_REGION_INFO_FLAG_READ);
	assert_true(ri->flags & VFIO_USER_REGION_INFO_FLAG_WRITE);
	assert_int_equal(ri->size, VU_TD_BAR2_SIZE);
	assert_int_equal(r.size, ri->argsz);
	walk_caps(&r, &w);
	assert_null(w.sparse);
	rc_reply_free(&r);

	assert_true(io_fds(c, VU_TD_R_BAR4, 4096, &r) < 0 || r.nfds == 0);
	assert_int_equal(r.nfds, 0);
	rc_reply_free(&r);

	for (size_t i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i ^ 0x3c);
	assert_int_equal(region_write(c, VU_TD_R_BAR2, 0x40, pat, sizeof(pat)),
			 0);
	assert_int_equal(region_read(c, VU_TD_R_BAR2, 0x40, back, sizeof(back)),
			 0);
	assert_memory_equal(pat, back, sizeof(pat));
	check_alive(c);
}

static void
test_irq_info(void **state)
{
	static const struct {
		uint32_t flags, count;
	} exp[VU_TD_NUM_IRQS] = {
		{ VFIO_USER_IRQ_INFO_EVENTFD | VFIO_USER_IRQ_INFO_MASKABLE |
		  VFIO_USER_IRQ_INFO_AUTOMASKED, 1 },
		{ VFIO_USER_IRQ_INFO_EVENTFD | VFIO_USER_IRQ_INFO_NORESIZE, 1 },
		{ VFIO_USER_IRQ_INFO_EVENTFD | VFIO_USER_IRQ_INFO_NORESIZE,
		  VU_TD_MSIX_COUNT },
		{ VFIO_USER_IRQ_INFO_EVENTFD, 1 },
		{ VFIO_USER_IRQ_INFO_EVENTFD, 1 },
	};
	struct rc *c = conn_open(NULL);

	(void)state;
	for (uint32_t i = 0; i < VU_TD_NUM_IRQS; i++) {
		struct vfio_user_irq_info in = { .argsz = sizeof(in), .index = i };
		const struct vfio_user_irq_info *out;
		struct rc_reply r;

		assert_int_equal(call(c, VFIO_USER_DEVICE_GET_IRQ_INFO, &in,
				      sizeof(in), NULL, 0, &r), 0);
		assert_int_equal(r.size, sizeof(*out));
		out = (const void *)r.payload;
		assert_int_equal(out->argsz, sizeof(*out));
		assert_int_equal(out->index, i);
		assert_int_equal(out->flags, exp[i].flags);
		assert_int_equal(out->count, exp[i].count);
		rc_reply_free(&r);
	}
}

/* ---- region I/O ---- */

static void
test_region_rw(void **state)
{
	struct rc *c = conn_open(NULL);
	uint8_t big[VU_TD_BAR0_SIZE], back[VU_TD_BAR0_SIZE];
	uint8_t cfg[64];
	uint16_t w;
	uint32_t d;

	(void)state;
	/* BAR0: sizes 1, 2, 4, 8 and the whole region */
	for (uint32_t n = 1; n <= 8; n *= 2) {
		uint8_t v[8], b[8];

		for (uint32_t i = 0; i < n; i++)
			v[i] = (uint8_t)(0x11 * (i + 1) + n);
		assert_int_equal(region_write(c, VU_TD_R_BAR0, 0x10 * n, v, n), 0);
		assert_int_equal(region_read(c, VU_TD_R_BAR0, 0x10 * n, b, n), 0);
		assert_memory_equal(v, b, n);
	}
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(region_write(c, VU_TD_R_BAR0, 0, big, sizeof(big)), 0);
	assert_int_equal(region_read(c, VU_TD_R_BAR0, 0, back, sizeof(back)), 0);
	assert_memory_equal(big, back, sizeof(big));
	/* the last byte, and count 0 at the end */
	assert_int_equal(region_read(c, VU_TD_R_BAR0, VU_TD_BAR0_SIZE - 1, back,
				     1), 0);
	assert_int_equal(back[0], big[VU_TD_BAR0_SIZE - 1]);

	/* config space: the header, then a round trip */
	assert_int_equal(region_read(c, VU_TD_R_CFG, 0, cfg, sizeof(cfg)), 0);
	memcpy(&w, &cfg[0], 2);
	assert_int_equal(w, VU_TD_VENDOR_ID);
	memcpy(&w, &cfg[2], 2);
	assert_int_equal(w, VU_TD_DEVICE_ID);
	memcpy(&d, &cfg[8], 4);
	assert_int_equal(d >> 8, VU_TD_CLASS);
	write32(c, VU_TD_R_CFG, 0x40, 0xdeadbeef);
	assert_int_equal(read32(c, VU_TD_R_CFG, 0x40), 0xdeadbeef);
	write32(c, VU_TD_R_CFG, VU_TD_CFG_SIZE - 4, 0x01020304);
	assert_int_equal(read32(c, VU_TD_R_CFG, VU_TD_CFG_SIZE - 4), 0x01020304);

	/* BAR4 and the read-only device-specific region */
	write32(c, VU_TD_R_BAR4, 0x20, 0xcafef00d);
	assert_int_equal(read32(c, VU_TD_R_BAR4, 0x20), 0xcafef00d);
	assert_int_equal(region_read(c, VU_TD_R_DEVSPEC, 0, back,
				     VU_TD_R9_SIZE), 0);
	for (uint32_t i = 0; i < VU_TD_R9_SIZE; i++)
		assert_int_equal(back[i], (uint8_t)(i * 7 + 3));
}

static int
write_multi(struct rc *c, const struct vfio_user_write_multi_entry *e,
	    uint64_t n)
{
	size_t len = sizeof(struct vfio_user_write_multi) + n * sizeof(*e);
	struct vfio_user_write_multi *m = malloc(len);
	struct rc_reply r;
	int ret;

	assert_non_null(m);
	m->wr_cnt = n;
	memcpy(m->wrs, e, n * sizeof(*e));
	ret = call(c, VFIO_USER_REGION_WRITE_MULTI, m, len, NULL, 0, &r);
	free(m);
	if (ret == 0) {
		const struct vfio_user_write_multi *out = (const void *)r.payload;

		assert_int_equal(r.size, sizeof(*out));
		assert_int_equal(out->wr_cnt, n);
	}
	rc_reply_free(&r);
	return ret;
}

static void
test_write_multi(void **state)
{
	struct vfio_user_write_multi_entry e[3] = {
		{ .offset = 0x200, .region = VU_TD_R_BAR0, .count = 8,
		  .data = { 1, 2, 3, 4, 5, 6, 7, 8 } },
		{ .offset = 0x300, .region = VU_TD_R_BAR0, .count = 4,
		  .data = { 0xaa, 0xbb, 0xcc, 0xdd } },
		{ .offset = 0x44, .region = VU_TD_R_CFG, .count = 2,
		  .data = { 0x5a, 0xa5 } },
	};
	uint8_t b[8];
	struct rc *c;
	int ret;

	(void)state;
	c = conn_open("{\"capabilities\":{\"write_multiple\":true}}");
	write32(c, VU_TD_R_BAR0, 0x304, 0x77777777);
	assert_int_equal(write_multi(c, e, 3), 0);
	assert_int_equal(region_read(c, VU_TD_R_BAR0, 0x200, b, 8), 0);
	assert_memory_equal(b, e[0].data, 8);
	assert_int_equal(region_read(c, VU_TD_R_BAR0, 0x300, b, 8), 0);
	assert_memory_equal(b, e[1].data, 4);
	assert_int_equal(read32(c, VU_TD_R_BAR0, 0x304), 0x77777777);
	assert_int_equal(region_read(c, VU_TD_R_CFG, 0x44, b, 2), 0);
	assert_memory_equal(b, e[2].data, 2);
	conn_close(c);

	/* not negotiated: refused, and nothing written */
	c = conn_open("{\"capabilities\":{\"write_multiple\":false}}");
	write32(c, VU_TD_R_BAR0, 0x200, 0);
	ret = write_multi(c, e, 1);
	assert_true(ret < 0);
	assert_int_equal(read32(c, VU_TD_R_BAR0, 0x200), 0);
	conn_close(c);
	c = conn_open(NULL);
	ret = write_multi(c, e, 1);
	assert_true(ret < 0);
	assert_int_equal(read32(c, VU_TD_R_BAR0, 0x200), 0);
	check_alive(c);
}

static void
test_reset(void **state)
{
	struct rc *c = conn_open(NULL);
	struct rc_reply r;

	(void)state;
	write32(c, VU_TD_R_BAR0, 0x40, 0x12345678);
	write32(c, VU_TD_R_CFG, 0x48, 0x87654321);
	assert_int_equal(call(c, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0, &r),
			 0);
	assert_int_equal(r.size, 0);
	rc_reply_free(&r);
	/* the test device clears its register file on reset */
	assert_int_equal(read32(c, VU_TD_R_BAR0, 0x40), 0);
	assert_int_equal(read32(c, VU_TD_R_CFG, 0x48), 0x87654321);
	check_alive(c);
}

static void
test_no_reply(void **state)
{
	struct rc *c = conn_open(NULL);
	struct vfio_user_region_access rd = {
		.offset = 0x600, .region = VU_TD_R_BAR0, .count = 4,
	};
	struct vfio_user_region_access *wr;
	struct rc_reply r;
	uint32_t v = 0x600d600d;
	uint16_t id;
	size_t len;

	(void)state;
	write32(c, VU_TD_R_BAR0, 0x600, 0);
	wr = write_msg(VU_TD_R_BAR0, 0x600, &v, 4, &len);
	send_cmd(c, VFIO_USER_REGION_WRITE, VFIO_USER_F_NO_REPLY, wr, len,
		 NULL, 0);
	free(wr);
	/* the next message is the read's reply, and it sees the write */
	id = send_cmd(c, VFIO_USER_REGION_READ, 0, &rd, sizeof(rd), NULL, 0);
	assert_int_equal(recv_reply(c, id, VFIO_USER_REGION_READ, &r), 0);
	assert_int_equal(r.size, sizeof(rd) + 4);
	assert_memory_equal(r.payload + sizeof(rd), &v, 4);
	rc_reply_free(&r);

	/* several no-reply writes, then one GET_INFO answered alone */
	for (uint32_t i = 0; i < 8; i++) {
		v = 0x1000 + i;
		wr = write_msg(VU_TD_R_BAR0, 0x700 + 4 * i, &v, 4, &len);
		send_cmd(c, VFIO_USER_REGION_WRITE, VFIO_USER_F_NO_REPLY, wr,
			 len, NULL, 0);
		free(wr);
	}
	check_alive(c);
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(read32(c, VU_TD_R_BAR0, 0x700 + 4 * i),
				 0x1000 + i);
	/* a no-reply GET_INFO gets nothing back */
	{
		struct vfio_user_device_info in = { .argsz = sizeof(in) };

		send_cmd(c, VFIO_USER_DEVICE_GET_INFO, VFIO_USER_F_NO_REPLY,
			 &in, sizeof(in), NULL, 0);
		expect_silence(c, 200);
	}
	check_alive(c);
}

static void
test_pipelining(void **state)
{
	enum { N = 48 };
	struct rc *c = conn_open(NULL);
	uint8_t *buf = malloc(N * 64), *p = buf;
	uint16_t ids[N], cmds[N];
	struct rc_reply r;

	(void)state;
	assert_non_null(buf);
	/* one write, no reading in between */
	for (int i = 0; i < N; i++) {
		struct vfio_user_header h = { .msg_id = c->next_id++ };
		uint8_t pl[32];
		uint32_t len;

		switch (i % 4) {
		case 0: {
			struct vfio_user_device_info in = { .argsz = 16 };

			h.cmd = VFIO_USER_DEVICE_GET_INFO;
			memcpy(pl, &in, sizeof(in));
			len = sizeof(in);
			break;
		}
		case 1: {	/* write i at 0x900 + 4 * (i / 4) */
			struct vfio_user_region_access a = {
				.offset = 0x900 + 4 * (uint64_t)(i / 4),
				.region = VU_TD_R_BAR0, .count = 4,
			};
			uint32_t v = 0xab000000u | (uint32_t)i;

			h.cmd = VFIO_USER_REGION_WRITE;
			memcpy(pl, &a, sizeof(a));
			memcpy(pl + sizeof(a), &v, 4);
			len = sizeof(a) + 4;
			break;
		}
		case 2: {	/* read it back right away */
			struct vfio_user_region_access a = {
				.offset = 0x900 + 4 * (uint64_t)(i / 4),
				.region = VU_TD_R_BAR0, .count = 4,
			};

			h.cmd = VFIO_USER_REGION_READ;
			memcpy(pl, &a, sizeof(a));
			len = sizeof(a);
			break;
		}
		default: {
			struct vfio_user_irq_info in = {
				.argsz = 16, .index = (uint32_t)(i / 4) % 5,
			};

			h.cmd = VFIO_USER_DEVICE_GET_IRQ_INFO;
			memcpy(pl, &in, sizeof(in));
			len = sizeof(in);
			break;
		}
		}
		h.msg_size = HDR_SIZE + len;
		memcpy(p, &h, HDR_SIZE);
		memcpy(p + HDR_SIZE, pl, len);
		p += h.msg_size;
		ids[i] = h.msg_id;
		cmds[i] = h.cmd;
	}
	assert_int_equal(rc_send_raw(c, buf, (size_t)(p - buf), NULL, 0), 0);
	free(buf);
	/* answered in order */
	for (int i = 0; i < N; i++) {
		assert_int_equal(recv_reply(c, ids[i], cmds[i], &r), 0);
		if (cmds[i] == VFIO_USER_REGION_READ) {
			uint32_t v;

			assert_int_equal(r.size, 16 + 4);
			memcpy(&v, r.payload + 16, 4);
			assert_int_equal(v, 0xab000000u | (uint32_t)(i - 1));
		} else if (cmds[i] == VFIO_USER_DEVICE_GET_IRQ_INFO) {
			const struct vfio_user_irq_info *ii = (const void *)r.payload;

			assert_int_equal(ii->index, (uint32_t)(i / 4) % 5);
		}
		rc_reply_free(&r);
	}
	check_alive(c);

	/* message ids belong to the sender: the same id four times */
	{
		struct vfio_user_device_info in = { .argsz = 16 };
		uint8_t b[4][HDR_SIZE + sizeof(in)];
		struct vfio_user_header h = {
			.msg_id = 0x5555, .cmd = VFIO_USER_DEVICE_GET_INFO,
			.msg_size = sizeof(b[0]),
		};

		for (int i = 0; i < 4; i++) {
			memcpy(b[i], &h, HDR_SIZE);
			memcpy(b[i] + HDR_SIZE, &in, sizeof(in));
		}
		assert_int_equal(rc_send_raw(c, b, sizeof(b), NULL, 0), 0);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(recv_reply(c, 0x5555,
				VFIO_USER_DEVICE_GET_INFO, &r), 0);
			assert_int_equal(r.size, sizeof(in));
			rc_reply_free(&r);
		}
	}
	check_alive(c);
}

/* ---- interrupts ---- */

static int
set_irqs(struct rc *c, uint32_t flags, uint32_t index, uint32_t start,
	 uint32_t count, const uint8_t *bools, const int *fds, int nfds)
{
	uint8_t buf[sizeof(struct vfio_user_irq_set) + 64];
	struct vfio_user_irq_set *s = (void *)buf;
	uint32_t len = sizeof(*s);
	struct rc_reply r;
	int ret;

	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	if (bools != NULL) {
		memcpy(s->data, bools, count);
		len += count;
	}
	s->argsz = len;
	ret = call(c, VFIO_USER_DEVICE_SET_IRQS, s, len, fds, nfds, &r);
	if (ret == 0)
		assert_int_equal(r.size, 0);
	rc_reply_free(&r);
	return ret;
}

/* Wait up to ms for the eventfd; returns its counter (0: nothing). */
static uint64_t
efd_wait(int fd, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	uint64_t v = 0;

	if (poll(&pf, 1, ms) == 1 && read(fd, &v, sizeof(v)) != sizeof(v))
		v = 0;
	return v;
}

static void
test_set_irqs(void **state)
{
	const uint32_t none_trig = VFIO_USER_IRQ_SET_DATA_NONE |
		VFIO_USER_IRQ_SET_ACTION_TRIGGER;
	const uint32_t efd_trig = VFIO_USER_IRQ_SET_DATA_EVENTFD |
		VFIO_USER_IRQ_SET_ACTION_TRIGGER;
	const uint8_t yes = 1, no = 0;
	struct rc *c = conn_open(NULL);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int ifd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	(void)state;
	assert_true(efd >= 0 && ifd >= 0);
	/* MSI-X vector 3 signals efd; the client triggers it */
	assert_int_equal(set_irqs(c, efd_trig, VFIO_USER_PCI_MSIX_IRQ_INDEX, 3,
				  1, NULL, &efd, 1), 0);
	assert_int_equal(set_irqs(c, none_trig, VFIO_USER_PCI_MSIX_IRQ_INDEX, 3,
				  1, NULL, NULL, 0), 0);
	assert_true(efd_wait(efd, 2000) >= 1);
	assert_int_equal(set_irqs(c, VFIO_USER_IRQ_SET_DATA_BOOL |
				  VFIO_USER_IRQ_SET_ACTION_TRIGGER,
				  VFIO_USER_PCI_MSIX_IRQ_INDEX, 3, 1, &yes,
				  NULL, 0), 0);
	assert_true(efd_wait(efd, 2000) >= 1);
	assert_int_equal(set_irqs(c, VFIO_USER_IRQ_SET_DATA_BOOL |
				  VFIO_USER_IRQ_SET_ACTION_TRIGGER,
				  VFIO_USER_PCI_MSIX_IRQ_INDEX, 3, 1, &no,
				  NULL, 0), 0);
	assert_int_equal(efd_wait(efd, 100), 0);
	/* DATA_EVENTFD without fds de-assigns */
	assert_int_equal(set_irqs(c, efd_trig, VFIO_USER_PCI_MSIX_IRQ_INDEX, 3,
				  1, NULL, NULL, 0), 0);
	assert_int_equal(set_irqs(c, none_trig, VFIO_USER_PCI_MSIX_IRQ_INDEX, 3,
				  1, NULL, NULL, 0), 0);
	assert_int_equal(efd_wait(efd, 100), 0);
	assert_int_equal(set_irqs(c, efd_trig, VFIO_USER_PCI_MSIX_IRQ_INDEX, 3,
				  1, NULL, &efd, 1), 0);
	efd_wait(efd, 100);	/* what was latched meanwhile may come now */
	/* MSI-X is not maskable */
	assert_true(set_irqs(c, VFIO_USER_IRQ_SET_DATA_NONE |
			     VFIO_USER_IRQ_SET_ACTION_MASK,
			     VFIO_USER_PCI_MSIX_IRQ_INDEX, 3, 1, NULL,
			     NULL, 0) < 0);
	/* count 0 with DATA_NONE: disable the whole index */
	assert_int_equal(set_irqs(c, none_trig, VFIO_USER_PCI_MSIX_IRQ_INDEX, 0,
				  0, NULL, NULL, 0), 0);
	assert_int_equal(set_irqs(c, none_trig, VFIO_USER_PCI_MSIX_IRQ_INDEX, 3,
				  1, NULL, NULL, 0), 0);
	assert_int_equal(efd_wait(efd, 100), 0);

	/* INTx masks itself when it fires: UNMASK to get the next one */
	assert_int_equal(set_irqs(c, efd_trig, VFIO_USER_PCI_INTX_IRQ_INDEX, 0,
				  1, NULL, &ifd, 1), 0);
	assert_int_equal(set_irqs(c, none_trig, VFIO_USER_PCI_INTX_IRQ_INDEX, 0,
				  1, NULL, NULL, 0), 0);
	assert_true(efd_wait(ifd, 2000) >= 1);
	assert_int_equal(set_irqs(c, none_trig, VFIO_USER_PCI_INTX_IRQ_INDEX, 0,
				  1, NULL, NULL, 0), 0);
	assert_int_equal(efd_wait(ifd, 100), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(set_irqs(c, VFIO_USER_IRQ_SET_DATA_NONE |
					  VFIO_USER_IRQ_SET_ACTION_UNMASK,
					  VFIO_USER_PCI_INTX_IRQ_INDEX, 0, 1,
					  NULL, NULL, 0), 0);
		/* a latched interrupt may be delivered on unmask (and mask
		 * it again): then unmask once more */
		if (efd_wait(ifd, 100) == 0)
			break;
	}
	assert_int_equal(set_irqs(c, none_trig, VFIO_USER_PCI_INTX_IRQ_INDEX, 0,
				  1, NULL, NULL, 0), 0);
	assert_true(efd_wait(ifd, 2000) >= 1);
	close(efd);
	close(ifd);
	check_alive(c);
}

/* ---- DMA ---- */

static int
dma_map(struct rc *c, uint32_t flags, uint64_t offset, uint64_t addr,
	uint64_t size, const int *fds, int nfds)
{
	struct vfio_user_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .offset = offset,
		.addr = addr, .size = size,
	};
	struct rc_reply r;
	int ret = call(c, VFIO_USER_DMA_MAP, &m, sizeof(m), fds, nfds, &r);

	if (ret == 0)
		assert_int_equal(r.size, 0);
	rc_reply_free(&r);
	return ret;
}

static int
dma_unmap(struct rc *c, uint64_t addr, uint64_t size)
{
	struct vfio_user_dma_unmap u = {
		.argsz = sizeof(u), .addr = addr, .size = size,
	};
	struct rc_reply r;
	int ret = call(c, VFIO_USER_DMA_UNMAP, &u, sizeof(u), NULL, 0, &r);

	if (ret == 0) {
		/* "The server responds with the original DMA entry" */
		assert_int_equal(r.size, sizeof(u));
		assert_memory_equal(r.payload, &u, sizeof(u));
	}
	rc_reply_free(&r);
	return ret;
}

static void
test_dma_map(void **state)
{
	const uint32_t rw = VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE;
	struct rc *c = conn_open(NULL);
	int mfd = memfd_create("vu-conformance-dma", MFD_CLOEXEC);

	(void)state;
	assert_true(mfd >= 0);
	assert_int_equal(ftruncate(mfd, 0x4000), 0);
	/* mappable (fd at an offset) and message-only regions */
	assert_int_equal(dma_map(c, rw, 0x2000, 0x100000, 0x2000, &mfd, 1), 0);
	assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0, 0x200000,
				 0x1000, NULL, 0), 0);
	/* adjacent is fine */
	assert_int_equal(dma_map(c, rw, 0, 0x102000, 0x1000, &mfd, 1), 0);
	/* over an existing one: EEXIST */
	assert_int_equal(dma_map(c, rw, 0, 0x101000, 0x1000, NULL, 0), -EEXIST);
	assert_int_equal(dma_map(c, rw, 0, 0xff000, 0x2000, &mfd, 1), -EEXIST);
	assert_int_equal(dma_unmap(c, 0x100000, 0x2000), 0);
	assert_int_equal(dma_unmap(c, 0x200000, 0x1000), 0);
	/* gone now: nothing to unmap, answered as VFIO type1 answers it */
	assert_int_equal(dma_unmap(c, 0x100000, 0x2000), 0);
	/* never a part of a mapping */
	assert_int_equal(dma_unmap(c, 0x102000, 0x800), -EINVAL);
	assert_int_equal(dma_unmap(c, 0x102000, 0x1000), 0);
	/* and may be mapped again */
	assert_int_equal(dma_map(c, rw, 0, 0x100000, 0x4000, &mfd, 1), 0);
	close(mfd);
	/* left mapped: the server drops it when the client goes */
	check_alive(c);
}

/* ---- malformed messages ---- */

struct bad_case {
	const char *name;
	void (*run)(struct rc *c);
	bool fresh;		/* on a connection without VERSION */
	const char *json;	/* capabilities to negotiate */
	bool closes;		/* the server closes the connection */
};

/* The message stalled: nothing comes back, and the server closes the
 * connection once 5 s passed (not sooner: pauses are waited out). */
static void
wait_partial_closed(struct rc *c)
{
	uint64_t t0 = rc_now_ms();
	struct rc_reply r;
	int ret = rc_recv(c, &r, PARTIAL_WAIT_MS);

	rc_reply_free(&r);
	assert_int_equal(ret, -ECONNRESET);
	assert_true(rc_now_ms() - t0 >= PARTIAL_TIMEOUT_MS - 200);
}

static void
bad_truncated_header(struct rc *c)
{
	struct vfio_user_header h = {
		.msg_id = 0x4242, .cmd = VFIO_USER_DEVICE_GET_INFO,
		.msg_size = 32,
	};

	assert_int_equal(rc_send_raw(c, &h, 10, NULL, 0), 0);
	wait_partial_closed(c);
}

static void
bad_msg_size_below_header(struct rc *c)
{
	uint16_t id = send_hdr(c, VFIO_USER_DEVICE_GET_INFO, 8, 0, 0, NULL, 0,
			       NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_INFO, EINVAL);
}

static void
bad_msg_size_zero(struct rc *c)
{
	uint16_t id = send_hdr(c, VFIO_USER_DEVICE_GET_INFO, 0, 0, 0, NULL, 0,
			       NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_INFO, EINVAL);
}

static void
bad_msg_size_beyond_data(struct rc *c)
{
	struct vfio_user_device_info in = { .argsz = 16 };
	/* 32 bytes announced, 24 sent */
	(void)send_hdr(c, VFIO_USER_DEVICE_GET_INFO, 32, 0, 0, &in, 8, NULL, 0);
	wait_partial_closed(c);
}

static void
bad_msg_size_short_of_payload(struct rc *c)
{
	/* GET_REGION_INFO of 32 bytes announced as 16; its second half
	 * reads as a header: a GET_INFO without payload */
	uint8_t pl[32] = { 0 };
	struct vfio_user_region_info *ri = (void *)pl;
	struct vfio_user_header inner = {
		.msg_id = 0x7777, .cmd = VFIO_USER_DEVICE_GET_INFO,
		.msg_size = HDR_SIZE,
	};
	uint16_t id;

	ri->argsz = 32;
	ri->index = 0;
	memcpy(pl + 16, &inner, sizeof(inner));
	id = send_hdr(c, VFIO_USER_DEVICE_GET_REGION_INFO, HDR_SIZE + 16, 0, 0,
		      pl, sizeof(pl), NULL, 0);
	expect_error(c, id, VFIO_USER_DEVICE_GET_REGION_INFO, EINVAL);
	expect_error(c, 0x7777, VFIO_USER_DEVICE_GET_INFO, EINVAL);
}

static void
bad_trailing_garbage(struct rc *c)
{
	uint8_t buf[HDR_SIZE + 16 + 7];
	struct vfio_user_header h = {
		.msg_id = c->next_id++, .cmd = VFIO_USER_DEVICE_GET_INFO,
		.msg_size = HDR_SIZE + 16,
	};
	struct vfio_user_device_info in = { .argsz = 16 };
	struct rc_reply r;

	memcpy(buf, &h, HDR_SIZE);
	memcpy(buf + HDR_SIZE, &in, sizeof(in));
	memset(buf + HDR_SIZE + 16, 0xee, 7);
	assert_int_equal(rc_send_raw(c, buf, sizeof(buf), NULL, 0), 0);
	assert_int_equal(recv_reply(c, h.msg_id, h.cmd, &r), 0);
	rc_reply_free(&r);
	wait_partial_closed(c);
}

static void
bad_oversize(struct rc *c)
{
	/* a REGION_WRITE past the server's limit, sent in full */
	uint32_t count = SERVER_MAX_MSG + 4096 - HDR_SIZE -
		(uint32_t)sizeof(struct vfio_user_region_access);
	uint8_t *data = calloc(1, count);
	struct vfio_user_region_access *a;
	uint16_t id;
	size_t len;

	assert_non_null(data);
	a = write_msg(VU_TD_R_BAR0, 0, data, count, &len);
	free(data);
	assert_true(HDR_SIZE + len > SERVER_MAX_MSG);
	id = send_cmd(c, VFIO_USER_REGION_WRITE, 0, a, len, NULL, 0);
	free(a);
	expect_error(c, id, VFIO_USER_REGION_WRITE, E2BIG);
}

static void
bad_oversize_no_payload(struct rc *c)
{
	/* 4 GiB announced, nothing follows: E2BIG, then the server gives up
	 * discarding when the payload stalls */
	uint16_t id = send_hdr(c, VFIO_USER_REGION_WRITE, UINT32_MAX, 0, 0,
			       NULL, 0, NULL, 0);

	expect_error(c, id, VFIO_USER_REGION_WRITE, E2BIG);
	wait_partial_closed(c);
}

static void
bad_cmd(struct rc *c, uint16_t cmd)
{
	uint8_t pl[16] = { 16 };
	uint16_t id = send_cmd(c, cmd, 0, pl, sizeof(pl), NULL, 0);

	expect_error(c, id, cmd, ENOSYS);
}

static void
bad_cmd_0(struct rc *c)
{
	bad_cmd(c, 0);
}

/* 14 is DIRTY_PAGES (0.9.1); 15-18 exist in the current text */
static void
bad_cmd_19(struct rc *c)
{
	bad_cmd(c, 19);
}

static void
bad_cmd_200(struct rc *c)
{
	bad_cmd(c, 200);
}

static void
bad_cmd_ffff(struct rc *c)
{
	bad_cmd(c, 0xffff);
}

/* GET_INFO with odd header flags/error fields. */
static uint16_t
get_info_hdr(struct rc *c, uint32_t flags, uint32_t error_no)
{
	struct vfio_user_device_info in = { .argsz = 16 };

	return send_hdr(c, VFIO_USER_DEVICE_GET_INFO, HDR_SIZE + sizeof(in),
			flags, error_no, &in, sizeof(in), NULL, 0);
}

/* A message that is not a command: the server must not answer it as one;
 * an error reply, or nothing. */
static void
not_a_command(struct rc *c, uint32_t flags)
{
	uint16_t id = get_info_hdr(c, flags, 0);
	struct vfio_user_device_info in = { .argsz = 16 };
	uint16_t id2 = send_cmd(c, VFIO_USER_DEVICE_GET_INFO, 0, &in,
				sizeof(in), NULL, 0);
	struct rc_reply r;

	assert_int_equal(rc_recv(c, &r, RC_TIMEOUT_MS), 0);
	if (r.hdr.msg_id == id && r.hdr.msg_id != id2) {
		assert_true(r.hdr.flags & VFIO_USER_F_ERROR);
		assert_int_not_equal(r.hdr.error_no, 0);
		rc_reply_free(&r);
		assert_int_equal(recv_reply(c, id2, VFIO_USER_DEVICE_GET_INFO,
					    &r), 0);
	} else {
		assert_int_equal(r.hdr.msg_id, id2);
		assert_int_equal(r.hdr.flags, VFIO_USER_F_TYPE_REPLY);
	}
	rc_reply_free(&r);
}

static void
bad_reply_flag(struct rc *c)
{
	not_a_command(c, VFIO_USER_F_TYPE_REPLY);
}

static void
bad_reserved_type(struct rc *c)
{
	not_a_command(c, 0x7);
}

static void
bad_reserved_flag_bit6(struct rc *c)
{
	uint16_t id = get_info_hdr(c, 1u << 6, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_INFO, EINVAL);
}

static void
bad_reserved_flag_bit31(struct rc *c)
{
	uint16_t id = get_info_hdr(c, 1u << 31, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_INFO, EINVAL);
}

static void
bad_error_flag(struct rc *c)
{
	uint16_t id = get_info_hdr(c, VFIO_USER_F_ERROR, EIO);

	expect_error(c, id, VFIO_USER_DEVICE_GET_INFO, EINVAL);
}

/* Open fds of the server now, and after it settles back to that. */
static void
expect_server_fds_back(int before)
{
	int n = wait_server_fds(before, SETTLE_MS);

	if (n != before)
		print_error("server had %d fds, now %d\n", before, n);
	assert_int_equal(n, before);
}

static void
bad_fd_on_get_info(struct rc *c)
{
	struct vfio_user_device_info in = { .argsz = 16 };
	int before = rc_count_proc_fds(g.pid);
	int efd = eventfd(0, EFD_CLOEXEC);
	uint16_t id;

	assert_true(efd >= 0);
	id = send_cmd(c, VFIO_USER_DEVICE_GET_INFO, 0, &in, sizeof(in), &efd, 1);
	close(efd);
	expect_error(c, id, VFIO_USER_DEVICE_GET_INFO, EINVAL);
	expect_server_fds_back(before);
}

static void
bad_too_many_fds(struct rc *c)
{
	enum { NFDS = 100 };
	struct vfio_user_irq_set s = {
		.argsz = sizeof(s),
		.flags = VFIO_USER_IRQ_SET_DATA_EVENTFD |
			 VFIO_USER_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_USER_PCI_MSIX_IRQ_INDEX,
		.start = 0, .count = VU_TD_MSIX_COUNT,
	};
	int before = rc_count_proc_fds(g.pid);
	int fds[NFDS];
	uint16_t id;

	for (int i = 0; i < NFDS; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	id = send_cmd(c, VFIO_USER_DEVICE_SET_IRQS, 0, &s, sizeof(s), fds, NFDS);
	for (int i = 0; i < NFDS; i++)
		close(fds[i]);
	expect_error(c, id, VFIO_USER_DEVICE_SET_IRQS, EINVAL);
	/* none of the 100 stays open in the server */
	expect_server_fds_back(before);
}

static void
bad_two_fds_dma_map(struct rc *c)
{
	struct vfio_user_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_USER_DMA_MAP_F_READ,
		.addr = 0x100000, .size = 0x1000,
	};
	int before = rc_count_proc_fds(g.pid);
	int fds[2];
	uint16_t id;

	for (int i = 0; i < 2; i++) {
		fds[i] = memfd_create("vu-conformance", MFD_CLOEXEC);
		assert_true(fds[i] >= 0);
		assert_int_equal(ftruncate(fds[i], 0x1000), 0);
	}
	id = send_cmd(c, VFIO_USER_DMA_MAP, 0, &m, sizeof(m), fds, 2);
	close(fds[0]);
	close(fds[1]);
	expect_error(c, id, VFIO_USER_DMA_MAP, EINVAL);
	expect_server_fds_back(before);
	/* and nothing was mapped: the range is free */
	assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0, 0x100000,
				 0x1000, NULL, 0),
			 0);
	assert_int_equal(dma_unmap(c, 0x100000, 0x1000), 0);
}

static void
bad_region_info_index(struct rc *c, uint32_t index)
{
	struct vfio_user_region_info in = { .argsz = 32, .index = index };
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &in,
			       sizeof(in), NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_REGION_INFO, EINVAL);
}

static void
bad_region_info_index_10(struct rc *c)
{
	bad_region_info_index(c, VU_TD_NUM_REGIONS);
}

static void
bad_region_info_index_max(struct rc *c)
{
	bad_region_info_index(c, UINT32_MAX);
}

static void
bad_region_info_argsz(struct rc *c)
{
	struct vfio_user_region_info in = { .argsz = 16, .index = 0 };
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_GET_REGION_INFO, 0, &in,
			       sizeof(in), NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_REGION_INFO, EINVAL);
}

static void
expect_read_error(struct rc *c, uint32_t region, uint64_t offset,
		  uint32_t count, int err)
{
	struct vfio_user_region_access a = {
		.offset = offset, .region = region, .count = count,
	};
	uint16_t id = send_cmd(c, VFIO_USER_REGION_READ, 0, &a, sizeof(a),
			       NULL, 0);

	expect_error(c, id, VFIO_USER_REGION_READ, err);
}

/* A REGION_WRITE whose count field and data length are given apart. */
static void
expect_write_error(struct rc *c, uint32_t region, uint64_t offset,
		   uint32_t count, uint32_t data_len, int err)
{
	size_t len;
	uint8_t *data = calloc(1, data_len + 1);
	struct vfio_user_region_access *a;
	uint16_t id;

	assert_non_null(data);
	memset(data, 0x99, data_len);
	a = write_msg(region, offset, data, data_len, &len);
	a->count = count;
	free(data);
	id = send_cmd(c, VFIO_USER_REGION_WRITE, 0, a, len, NULL, 0);
	free(a);
	expect_error(c, id, VFIO_USER_REGION_WRITE, err);
}

static void
bad_read_region_index(struct rc *c)
{
	expect_read_error(c, VU_TD_NUM_REGIONS, 0, 4, EINVAL);
}

static void
bad_write_region_index(struct rc *c)
{
	expect_write_error(c, 64, 0, 4, 4, EINVAL);
}

static void
bad_read_offset_overflow(struct rc *c)
{
	expect_read_error(c, VU_TD_R_BAR0, 0xffffffffffffff00ULL, 0x200, EINVAL);
}

static void
bad_write_offset_overflow(struct rc *c)
{
	expect_write_error(c, VU_TD_R_BAR0, 0xffffffffffffff00ULL, 0x200,
			   0x200, EINVAL);
}

static void
bad_read_past_end(struct rc *c)
{
	expect_read_error(c, VU_TD_R_BAR0, VU_TD_BAR0_SIZE - 4, 8, EINVAL);
}

static void
bad_read_at_end(struct rc *c)
{
	expect_read_error(c, VU_TD_R_CFG, VU_TD_CFG_SIZE, 1, EINVAL);
}

static void
bad_write_past_end(struct rc *c)
{
	uint32_t v = read32(c, VU_TD_R_CFG, VU_TD_CFG_SIZE - 4);

	expect_write_error(c, VU_TD_R_CFG, VU_TD_CFG_SIZE - 4, 8, 8, EINVAL);
	/* no partial write either */
	assert_int_equal(read32(c, VU_TD_R_CFG, VU_TD_CFG_SIZE - 4), v);
}

static void
bad_write_read_only(struct rc *c)
{
	expect_write_error(c, VU_TD_R_DEVSPEC, 0, 4, 4, EACCES);
	assert_int_equal(read32(c, VU_TD_R_DEVSPEC, 0),
			 3u | 10u << 8 | 17u << 16 | 24u << 24);
}

static void
bad_read_empty_region(struct rc *c)
{
	expect_read_error(c, 1, 0, 4, 0);
}

static void
bad_read_count_over_max(struct rc *c)
{
	expect_read_error(c, VU_TD_R_BAR2, 0, g.max_xfer + 1, 0);
}

static void
bad_write_count_over_max(struct rc *c)
{
	expect_write_error(c, VU_TD_R_BAR2, 0, g.max_xfer + 1, g.max_xfer + 1,
			   0);
}

static void
bad_write_count_gt_data(struct rc *c)
{
	expect_write_error(c, VU_TD_R_BAR0, 0, 8, 4, EINVAL);
}

static void
bad_write_count_lt_data(struct rc *c)
{
	expect_write_error(c, VU_TD_R_BAR0, 0, 4, 8, EINVAL);
}

static void
bad_read_with_data(struct rc *c)
{
	uint8_t pl[sizeof(struct vfio_user_region_access) + 8] = { 0 };
	struct vfio_user_region_access *a = (void *)pl;
	uint16_t id;

	a->region = VU_TD_R_BAR0;
	a->count = 8;
	id = send_cmd(c, VFIO_USER_REGION_READ, 0, pl, sizeof(pl), NULL, 0);
	expect_error(c, id, VFIO_USER_REGION_READ, EINVAL);
}

static void
bad_get_info_argsz(struct rc *c)
{
	struct vfio_user_device_info in = { .argsz = 8 };
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_GET_INFO, 0, &in, sizeof(in),
			       NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_INFO, EINVAL);
}

static void
bad_get_info_short(struct rc *c)
{
	struct vfio_user_device_info in = { .argsz = 16 };
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_GET_INFO, 0, &in, 8, NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_INFO, EINVAL);
}

static void
bad_irq_info_index(struct rc *c)
{
	struct vfio_user_irq_info in = { .argsz = 16, .index = VU_TD_NUM_IRQS };
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_GET_IRQ_INFO, 0, &in,
			       sizeof(in), NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_IRQ_INFO, EINVAL);
}

static void
bad_io_fds_flags(struct rc *c)
{
	struct vfio_user_region_io_fds in = {
		.argsz = 256, .flags = 1, .index = VU_TD_R_BAR4,
	};
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_GET_REGION_IO_FDS, 0, &in,
			       sizeof(in), NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_REGION_IO_FDS, EINVAL);
}

static void
bad_io_fds_index(struct rc *c)
{
	struct vfio_user_region_io_fds in = {
		.argsz = 256, .index = VU_TD_NUM_REGIONS,
	};
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_GET_REGION_IO_FDS, 0, &in,
			       sizeof(in), NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_REGION_IO_FDS, EINVAL);
}

/* "all other fields must be zero": a query with one of them set. */
static void
bad_io_fds_count(struct rc *c)
{
	struct vfio_user_region_io_fds in = {
		.argsz = 256,
		.index = VU_TD_R_BAR4,
		.count = 5,
	};
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_GET_REGION_IO_FDS, 0, &in,
			       sizeof(in), NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_REGION_IO_FDS, EINVAL);
}

/* Each of the n requests of size bytes at reqs, as cmd: EINVAL. */
static void
each_einval(struct rc *c, uint16_t cmd, const void *reqs, size_t n, size_t size)
{
	for (size_t i = 0; i < n; i++)
		expect_error(c,
			     send_cmd(c, cmd, 0,
				      (const uint8_t *)reqs + i * size, size,
				      NULL, 0),
			     cmd, EINVAL);
}

static void
bad_get_info_fields(struct rc *c)
{
	const struct vfio_user_device_info set[] = {
		{ .argsz = 16, .flags = VFIO_USER_DEVICE_FLAGS_PCI },
		{ .argsz = 16, .num_regions = 9 },
		{ .argsz = 16, .num_irqs = 1 },
	};

	each_einval(c, VFIO_USER_DEVICE_GET_INFO, set,
		    sizeof(set) / sizeof(set[0]), sizeof(set[0]));
}

static void
bad_region_info_fields(struct rc *c)
{
	const struct vfio_user_region_info set[] = {
		{ .argsz = 32, .index = VU_TD_R_BAR0, .flags = 1 },
		{ .argsz = 32, .index = VU_TD_R_BAR0, .cap_offset = 32 },
		{ .argsz = 32, .index = VU_TD_R_BAR0, .size = 4096 },
		{ .argsz = 32, .index = VU_TD_R_BAR0, .offset = 4096 },
	};

	each_einval(c, VFIO_USER_DEVICE_GET_REGION_INFO, set,
		    sizeof(set) / sizeof(set[0]), sizeof(set[0]));
}

static void
bad_irq_info_fields(struct rc *c)
{
	const struct vfio_user_irq_info set[] = {
		{ .argsz = 16,
		  .index = 0,
		  .flags = VFIO_USER_IRQ_INFO_EVENTFD },
		{ .argsz = 16, .index = 0, .count = 1 },
	};

	each_einval(c, VFIO_USER_DEVICE_GET_IRQ_INFO, set,
		    sizeof(set) / sizeof(set[0]), sizeof(set[0]));
}

/* VERSION with raw version data (len bytes, as is). */
static void
version_raw(struct rc *c, uint16_t major, const void *data, size_t len,
	    int err)
{
	uint8_t buf[256];
	struct vfio_user_version *v = (void *)buf;
	uint16_t id;

	assert_true(sizeof(*v) + len <= sizeof(buf));
	v->major = major;
	v->minor = VFIO_USER_MINOR_VER;
	if (len > 0)
		memcpy(v->data, data, len);
	id = send_cmd(c, VFIO_USER_VERSION, 0, buf, sizeof(*v) + len, NULL, 0);
	expect_error(c, id, VFIO_USER_VERSION, err);
}

static void
bad_version_json(struct rc *c)
{
	static const char j[] = "{\"capabilities\":{\"max_msg_fds\":";

	version_raw(c, VFIO_USER_MAJOR_VER, j, sizeof(j), EINVAL);
}

static void
bad_version_json_unterminated(struct rc *c)
{
	static const char j[] = "{\"capabilities\":{}}";

	version_raw(c, VFIO_USER_MAJOR_VER, j, sizeof(j) - 1, EINVAL);
}

static void
bad_version_json_not_object(struct rc *c)
{
	static const char j[] = "[1,2,3]";

	version_raw(c, VFIO_USER_MAJOR_VER, j, sizeof(j), EINVAL);
}

static void
bad_version_cap_type(struct rc *c)
{
	static const char j[] = "{\"capabilities\":{\"max_msg_fds\":\"many\"}}";

	version_raw(c, VFIO_USER_MAJOR_VER, j, sizeof(j), EINVAL);
}

static void
bad_version_cap_fraction(struct rc *c)
{
	static const char j[] = "{\"capabilities\":{\"max_msg_fds\":8.5}}";

	version_raw(c, VFIO_USER_MAJOR_VER, j, sizeof(j), EINVAL);
}

static void
bad_version_cap_negative(struct rc *c)
{
	static const char j[] = "{\"capabilities\":{\"max_dma_maps\":-1.0}}";

	version_raw(c, VFIO_USER_MAJOR_VER, j, sizeof(j), EINVAL);
}

static void
bad_version_pgsizes_small(struct rc *c)
{
	/* 512 B and 2 KiB pages: none a 4 KiB map granularity can serve */
	static const char j[] = "{\"capabilities\":{\"pgsizes\":2560}}";

	version_raw(c, VFIO_USER_MAJOR_VER, j, sizeof(j), EINVAL);
}

static void
bad_version_major(struct rc *c)
{
	version_raw(c, VFIO_USER_MAJOR_VER + 1, NULL, 0, ENOTSUP);
}

static void
bad_version_short(struct rc *c)
{
	uint16_t major = VFIO_USER_MAJOR_VER;
	uint16_t id = send_cmd(c, VFIO_USER_VERSION, 0, &major, sizeof(major),
			       NULL, 0);

	expect_error(c, id, VFIO_USER_VERSION, EINVAL);
}

static void
bad_version_twice(struct rc *c)
{
	struct vfio_user_version v = {
		.major = VFIO_USER_MAJOR_VER, .minor = VFIO_USER_MINOR_VER,
	};
	uint16_t id = send_cmd(c, VFIO_USER_VERSION, 0, &v, sizeof(v), NULL, 0);

	expect_error(c, id, VFIO_USER_VERSION, EINVAL);
}

static void
bad_before_version(struct rc *c)
{
	struct vfio_user_device_info in = { .argsz = 16 };
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_GET_INFO, 0, &in, sizeof(in),
			       NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_GET_INFO, EINVAL);
}

/* Before VERSION, messages that are not commands are dropped unanswered
 * (and the connection can still negotiate). */
static void
bad_reply_before_version(struct rc *c)
{
	get_info_hdr(c, VFIO_USER_F_TYPE_REPLY, 0);
	get_info_hdr(c, VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, EIO);
	expect_silence(c, 200);
}

static void
bad_reserved_type_before_version(struct rc *c)
{
	get_info_hdr(c, 0x7, 0);
	expect_silence(c, 200);
}

static void
bad_set_irqs_flags(struct rc *c, uint32_t flags)
{
	assert_int_equal(set_irqs(c, flags, VFIO_USER_PCI_MSIX_IRQ_INDEX, 0, 1,
				  NULL, NULL, 0), -EINVAL);
}

static void
bad_set_irqs_two_data(struct rc *c)
{
	bad_set_irqs_flags(c, VFIO_USER_IRQ_SET_DATA_NONE |
			   VFIO_USER_IRQ_SET_DATA_EVENTFD |
			   VFIO_USER_IRQ_SET_ACTION_TRIGGER);
}

static void
bad_set_irqs_two_actions(struct rc *c)
{
	bad_set_irqs_flags(c, VFIO_USER_IRQ_SET_DATA_NONE |
			   VFIO_USER_IRQ_SET_ACTION_MASK |
			   VFIO_USER_IRQ_SET_ACTION_TRIGGER);
}

static void
bad_set_irqs_no_flags(struct rc *c)
{
	bad_set_irqs_flags(c, 0);
}

static void
bad_set_irqs_unknown_flag(struct rc *c)
{
	bad_set_irqs_flags(c, VFIO_USER_IRQ_SET_DATA_NONE |
			   VFIO_USER_IRQ_SET_ACTION_TRIGGER | (1u << 6));
}

static void
bad_set_irqs_past_count(struct rc *c)
{
	assert_int_equal(set_irqs(c, VFIO_USER_IRQ_SET_DATA_NONE |
				  VFIO_USER_IRQ_SET_ACTION_TRIGGER,
				  VFIO_USER_PCI_MSIX_IRQ_INDEX,
				  VU_TD_MSIX_COUNT - 2, 4, NULL, NULL, 0),
			 -EINVAL);
}

static void
bad_set_irqs_start_overflow(struct rc *c)
{
	assert_int_equal(set_irqs(c, VFIO_USER_IRQ_SET_DATA_NONE |
				  VFIO_USER_IRQ_SET_ACTION_TRIGGER,
				  VFIO_USER_PCI_MSIX_IRQ_INDEX, UINT32_MAX, 2,
				  NULL, NULL, 0), -EINVAL);
}

static void
bad_set_irqs_index(struct rc *c)
{
	assert_int_equal(set_irqs(c, VFIO_USER_IRQ_SET_DATA_NONE |
				  VFIO_USER_IRQ_SET_ACTION_TRIGGER,
				  VU_TD_NUM_IRQS, 0, 1, NULL, NULL, 0), -EINVAL);
}

static void
bad_set_irqs_fds_count(struct rc *c)
{
	/* 3 vectors, 2 eventfds */
	int fds[2] = {
		eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC),
	};
	int before = rc_count_proc_fds(g.pid);
	int ret;

	assert_true(fds[0] >= 0 && fds[1] >= 0);
	ret = set_irqs(c, VFIO_USER_IRQ_SET_DATA_EVENTFD |
		       VFIO_USER_IRQ_SET_ACTION_TRIGGER,
		       VFIO_USER_PCI_MSIX_IRQ_INDEX, 0, 3, NULL, fds, 2);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(ret, -EINVAL);
	expect_server_fds_back(before);
}

static void
bad_dma_map_size_zero(struct rc *c)
{
	assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0, 0x100000, 0,
				 NULL, 0), -EINVAL);
}

static void
bad_dma_map_unaligned(struct rc *c)
{
	assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0, 0x100800,
				 0x1000, NULL, 0), -EINVAL);
	assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0, 0x100000,
				 0x1800, NULL, 0), -EINVAL);
}

static void
bad_dma_map_wrap(struct rc *c)
{
	assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0,
				 0xfffffffffffff000ULL, 0x2000, NULL, 0),
			 -EINVAL);
}

static void
bad_dma_map_overlap(struct rc *c)
{
	assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0, 0x300000,
				 0x2000, NULL, 0), 0);
	assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0, 0x301000,
				 0x2000, NULL, 0), -EEXIST);
	assert_int_equal(dma_unmap(c, 0x300000, 0x2000), 0);
}

/* An unmap that would split a mapping (VFIO type1 refuses it too; one
 * with no mapping in it succeeds: memory_irq's test_unmap_range). */
static void
bad_dma_unmap_split(struct rc *c)
{
	assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0, 0x500000,
				 0x2000, NULL, 0),
			 0);
	assert_int_equal(dma_unmap(c, 0x500000, 0x1000), -EINVAL);
	assert_int_equal(dma_unmap(c, 0x501000, 0x2000), -EINVAL);
	assert_int_equal(dma_unmap(c, 0x500000, 0x2000), 0);
}

static void
bad_dma_from_client(struct rc *c, uint16_t cmd)
{
	uint8_t pl[sizeof(struct vfio_user_dma_access) + 8] = { 0 };
	struct vfio_user_dma_access *a = (void *)pl;
	uint16_t id;
	int err;
	struct rc_reply r;

	a->addr = 0x100000;
	a->count = 8;
	id = send_cmd(c, cmd, 0, pl, cmd == VFIO_USER_DMA_READ ?
		      sizeof(*a) : sizeof(pl), NULL, 0);
	err = recv_reply(c, id, cmd, &r);
	rc_reply_free(&r);
	/* a server->client command: not something the server executes */
	assert_true(err == -ENOSYS || err == -EINVAL || err == -ENOTSUP);
}

static void
bad_dma_read_from_client(struct rc *c)
{
	bad_dma_from_client(c, VFIO_USER_DMA_READ);
}

static void
bad_dma_write_from_client(struct rc *c)
{
	bad_dma_from_client(c, VFIO_USER_DMA_WRITE);
}

static void
bad_reset_with_payload(struct rc *c)
{
	uint32_t junk = 0;
	uint16_t id = send_cmd(c, VFIO_USER_DEVICE_RESET, 0, &junk, sizeof(junk),
			       NULL, 0);

	expect_error(c, id, VFIO_USER_DEVICE_RESET, EINVAL);
}

static void
bad_no_reply_error(struct rc *c)
{
	/* a failing command with No_reply: no reply, not even an error */
	struct vfio_user_region_access a = {
		.region = VU_TD_NUM_REGIONS, .count = 4,
	};

	send_cmd(c, VFIO_USER_REGION_READ, VFIO_USER_F_NO_REPLY, &a, sizeof(a),
		 NULL, 0);
	expect_silence(c, 200);
}

static void
bad_write_multi_entry(struct rc *c)
{
	struct vfio_user_write_multi_entry e[2] = {
		{ .offset = 0xa00, .region = VU_TD_R_BAR0, .count = 4 },
		{ .offset = 0xa00, .region = VU_TD_R_BAR0, .count = 9 },
	};

	assert_int_equal(write_multi(c, e, 2), -EINVAL);
	e[1].count = 4;
	e[1].region = VU_TD_NUM_REGIONS;
	assert_int_equal(write_multi(c, e, 2), -EINVAL);
}

static void
bad_write_multi_not_negotiated(struct rc *c)
{
	struct vfio_user_write_multi_entry e = {
		.offset = 0xa00, .region = VU_TD_R_BAR0, .count = 4,
	};

	assert_int_equal(write_multi(c, &e, 1), -ENOTSUP);
}

#define BAD(fn, ...) { #fn, fn, __VA_ARGS__ }
static const struct bad_case bad_cases[] = {
	BAD(bad_truncated_header, false, NULL, true),
	BAD(bad_msg_size_below_header, false, NULL),
	BAD(bad_msg_size_zero, false, NULL),
	BAD(bad_msg_size_beyond_data, false, NULL, true),
	BAD(bad_msg_size_short_of_payload, false, NULL),
	BAD(bad_trailing_garbage, false, NULL, true),
	BAD(bad_oversize, false, NULL),
	BAD(bad_oversize_no_payload, false, NULL, true),
	BAD(bad_cmd_0, false, NULL),
	BAD(bad_cmd_19, false, NULL),
	BAD(bad_cmd_200, false, NULL),
	BAD(bad_cmd_ffff, false, NULL),
	BAD(bad_reply_flag, false, NULL),
	BAD(bad_reserved_type, false, NULL),
	BAD(bad_reserved_flag_bit6, false, NULL),
	BAD(bad_reserved_flag_bit31, false, NULL),
	BAD(bad_error_flag, false, NULL),
	BAD(bad_fd_on_get_info, false, NULL),
	BAD(bad_too_many_fds, false, "{\"capabilities\":{\"max_msg_fds\":8}}"),
	BAD(bad_two_fds_dma_map, false, NULL),
	BAD(bad_region_info_index_10, false, NULL),
	BAD(bad_region_info_index_max, false, NULL),
	BAD(bad_region_info_argsz, false, NULL),
	BAD(bad_read_region_index, false, NULL),
	BAD(bad_write_region_index, false, NULL),
	BAD(bad_read_offset_overflow, false, NULL),
	BAD(bad_write_offset_overflow, false, NULL),
	BAD(bad_read_past_end, false, NULL),
	BAD(bad_read_at_end, false, NULL),
	BAD(bad_write_past_end, false, NULL),
	BAD(bad_write_read_only, false, NULL),
	BAD(bad_read_empty_region, false, NULL),
	BAD(bad_read_count_over_max, false, NULL),
	BAD(bad_write_count_over_max, false, NULL),
	BAD(bad_write_count_gt_data, false, NULL),
	BAD(bad_write_count_lt_data, false, NULL),
	BAD(bad_read_with_data, false, NULL),
	BAD(bad_get_info_argsz, false, NULL),
	BAD(bad_get_info_short, false, NULL),
	BAD(bad_irq_info_index, false, NULL),
	BAD(bad_io_fds_flags, false, NULL),
	BAD(bad_io_fds_index, false, NULL),
	BAD(bad_io_fds_count, false, NULL),
	BAD(bad_get_info_fields, false, NULL),
	BAD(bad_region_info_fields, false, NULL),
	BAD(bad_irq_info_fields, false, NULL),
	BAD(bad_version_json, true, NULL),
	BAD(bad_version_json_unterminated, true, NULL),
	BAD(bad_version_json_not_object, true, NULL),
	BAD(bad_version_cap_type, true, NULL),
	BAD(bad_version_cap_fraction, true, NULL),
	BAD(bad_version_cap_negative, true, NULL),
	BAD(bad_version_pgsizes_small, true, NULL),
	BAD(bad_version_major, true, NULL),
	BAD(bad_version_short, true, NULL),
	BAD(bad_version_twice, false, NULL),
	BAD(bad_before_version, true, NULL),
	BAD(bad_reply_before_version, true, NULL),
	BAD(bad_reserved_type_before_version, true, NULL),
	BAD(bad_set_irqs_two_data, false, NULL),
	BAD(bad_set_irqs_two_actions, false, NULL),
	BAD(bad_set_irqs_no_flags, false, NULL),
	BAD(bad_set_irqs_unknown_flag, false, NULL),
	BAD(bad_set_irqs_past_count, false, NULL),
	BAD(bad_set_irqs_start_overflow, false, NULL),
	BAD(bad_set_irqs_index, false, NULL),
	BAD(bad_set_irqs_fds_count, false, "{\"capabilities\":{\"max_msg_fds\":8}}"),
	BAD(bad_dma_map_size_zero, false, NULL),
	BAD(bad_dma_map_unaligned, false, NULL),
	BAD(bad_dma_map_wrap, false, NULL),
	BAD(bad_dma_map_overlap, false, NULL),
	BAD(bad_dma_unmap_split, false, NULL),
	BAD(bad_dma_read_from_client, false, NULL),
	BAD(bad_dma_write_from_client, false, NULL),
	BAD(bad_reset_with_payload, false, NULL),
	BAD(bad_no_reply_error, false, NULL),
	BAD(bad_write_multi_entry, false,
	    "{\"capabilities\":{\"write_multiple\":true}}"),
	BAD(bad_write_multi_not_negotiated, false, NULL),
};
#undef BAD
#define NUM_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

/*
 * One malformed message (or a few): the expected answer, then the SAME
 * connection must still serve a valid request (a new one where the
 * message stalled and the server closed the connection).
 */
static void
test_malformed(void **state)
{
	const struct bad_case *bc = *state;
	struct rc *c;

	if (bc->fresh) {
		c = conn_open_fresh();
		bc->run(c);
		/* still usable: negotiate now */
		{
			json_t *root = negotiate_json(c, VFIO_USER_MINOR_VER,
						      bc->json);

			json_decref(root);
		}
	} else {
		c = conn_open(bc->json);
		bc->run(c);
	}
	if (bc->closes)	/* (run() saw it closed) the next client is served */
		c = conn_open(bc->json);
	check_alive(c);
	/* and once more, in case a reply was left behind */
	check_alive(c);
}

/* ---- connections ---- */

/*
 * A client pausing inside a message (in its header, in its payload) for
 * most of the server's message timeout: the spec sets no timeout, the
 * server waits and answers it, and the connection stays in step. (The
 * server gave up at once before: EBADMSG, then the rest of the message
 * read as a new header.)
 */
static void
test_split_pause(void **state)
{
	const size_t cuts[] = { 10, HDR_SIZE + 4 };
	struct rc *c = conn_open(NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct {
			struct vfio_user_header h;
			struct vfio_user_device_info in;
		} __attribute__((packed)) m = {
			.h = { .msg_id = (uint16_t)(0x5150 + i),
			       .cmd = VFIO_USER_DEVICE_GET_INFO,
			       .msg_size = sizeof(m) },
			.in = { .argsz = sizeof(m.in) },
		};
		const struct vfio_user_device_info *out;
		struct rc_reply r;

		assert_int_equal(rc_send_raw(c, &m, cuts[i], NULL, 0), 0);
		rc_sleep_ms(PARTIAL_TIMEOUT_MS * 7 / 10);
		assert_int_equal(rc_send_raw(c, (uint8_t *)&m + cuts[i],
					     sizeof(m) - cuts[i], NULL, 0),
				 0);
		assert_int_equal(rc_recv(c, &r, 2000), 0);
		assert_int_equal(r.hdr.msg_id, m.h.msg_id);
		assert_false(r.hdr.flags & VFIO_USER_F_ERROR);
		assert_int_equal(r.size, sizeof(*out));
		out = (const void *)r.payload;
		assert_int_equal(out->num_regions, VU_TD_NUM_REGIONS);
		rc_reply_free(&r);
	}
	check_alive(c);
}

/*
 * Messages that arrived before the client closed must still be carried out
 * ("The server will process commands in the order they are received").
 * A No_reply write then close at once, CLOSE_ROUNDS times (a race: the
 * hang-up may be seen with the write). Then the write comes behind k
 * No_reply DEVICE_RESETs, k = 1..BURST_MAX: a server that handles messages
 * in batches of k leaves the write for a later wake-up, one that surely
 * sees the hang-up too, whatever the timing.
 */
static void
test_write_then_close(void **state)
{
	enum { BURST_MAX = 130 };
	const size_t wr_len = HDR_SIZE + sizeof(struct vfio_user_region_access) + 4;
	uint8_t *buf = malloc(BURST_MAX * HDR_SIZE + wr_len);
	struct rc *c;

	(void)state;
	assert_non_null(buf);
	for (uint32_t i = 0; i < CLOSE_ROUNDS + BURST_MAX; i++) {
		struct vfio_user_header h = { .flags = VFIO_USER_F_NO_REPLY };
		struct vfio_user_region_access a = {
			.offset = 0xb00, .region = VU_TD_R_BAR0, .count = 4,
		};
		uint32_t v = 0xc1000000u | i;
		uint32_t burst = i >= CLOSE_ROUNDS ? i - CLOSE_ROUNDS + 1 : 0;
		size_t len = 0;

		c = conn_open(NULL);
		h.cmd = VFIO_USER_DEVICE_RESET;
		h.msg_size = HDR_SIZE;
		for (uint32_t k = 0; k < burst; k++) {
			h.msg_id = c->next_id++;
			memcpy(buf + len, &h, HDR_SIZE);
			len += HDR_SIZE;
		}
		h.msg_id = c->next_id++;
		h.cmd = VFIO_USER_REGION_WRITE;
		h.msg_size = (uint32_t)wr_len;
		memcpy(buf + len, &h, HDR_SIZE);
		memcpy(buf + len + HDR_SIZE, &a, sizeof(a));
		memcpy(buf + len + HDR_SIZE + sizeof(a), &v, 4);
		len += wr_len;
		assert_int_equal(rc_send_raw(c, buf, len, NULL, 0), 0);
		conn_close(c);

		c = conn_open(NULL);
		v = read32(c, VU_TD_R_BAR0, 0xb00);
		if (v != (0xc1000000u | i)) {
			print_error("round %u (after %u resets): write before "
				    "close lost\n", i, burst);
			free(buf);
		}
		assert_int_equal(v, 0xc1000000u | i);
		conn_close(c);
	}
	free(buf);
}

/*
 * A second client while the device has one: its VERSION gets an EBUSY
 * error reply (not a reset connection), the server closes it in time
 * (an orderly end: recv() 0, not ECONNRESET) while it sends nothing
 * more, and the first client goes on.
 */
static void
test_second_client_refused(void **state)
{
	struct vfio_user_version v = {
		.major = VFIO_USER_MAJOR_VER,
		.minor = VFIO_USER_MINOR_VER,
	};
	struct rc *c1 = conn_open(NULL), *c2;
	int with_c1, more[17], closed_at_once = 0;
	struct pollfd pf;
	uint64_t t0;
	uint16_t id;
	char b;

	(void)state;
	with_c1 = rc_count_proc_fds(g.pid);
	c2 = conn_open_fresh();
	id = send_cmd(c2, VFIO_USER_VERSION, 0, &v, sizeof(v), NULL, 0);
	expect_error(c2, id, VFIO_USER_VERSION, EBUSY);
	t0 = rc_now_ms();
	pf = (struct pollfd){ .fd = c2->fd, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 5000), 1);
	assert_int_equal(recv(c2->fd, &b, 1, MSG_DONTWAIT), 0);
	print_message("refused client closed after %" PRIu64 " ms\n",
		      rc_now_ms() - t0);
	assert_true(rc_now_ms() - t0 < 4000);
	conn_close(c2);
	check_alive(c1);
	/* one that closes first is let go at once, its fd with it */
	c2 = conn_open_fresh();
	send_cmd(c2, VFIO_USER_VERSION, 0, &v, sizeof(v), NULL, 0);
	conn_close(c2);
	check_alive(c1);
	assert_int_equal(wait_server_fds(with_c1, SETTLE_MS), with_c1);

	/* more refused clients at once than the library keeps (16): those
	 * past that are closed at once, the first stays until it goes */
	for (int i = 0; i < 17; i++) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		more[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(more[i] >= 0);
		memcpy(a.sun_path, g.sock, strlen(g.sock) + 1); /* fits */
		assert_int_equal(connect(more[i], (struct sockaddr *)&a,
					 sizeof(a)),
				 0);
	}
	for (int i = 0; i < 17; i++) {
		pf = (struct pollfd){ .fd = more[i], .events = POLLIN };
		if (poll(&pf, 1, i == 16 ? 1000 : 0) == 1 &&
		    recv(more[i], &b, 1, MSG_DONTWAIT) == 0)
			closed_at_once++;
	}
	pf = (struct pollfd){ .fd = more[0], .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 0), 0);
	assert_true(closed_at_once >= 1);
	for (int i = 0; i < 17; i++)
		close(more[i]);
	check_alive(c1);
	assert_int_equal(wait_server_fds(with_c1, SETTLE_MS), with_c1);
}

static void
test_connection_churn(void **state)
{
	int before, after, efd;
	uint64_t t0 = rc_now_ms();

	(void)state;
	before = wait_server_fds(g.base_fds, SETTLE_MS);
	assert_int_equal(before, g.base_fds);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	for (int i = 0; i < CHURN_ROUNDS; i++) {
		struct vfio_user_device_info in = { .argsz = 16 };
		struct rc *c;

		switch (i % 10) {
		case 3:		/* connect, close */
			c = conn_open_fresh();
			break;
		case 5: {	/* close within a header */
			struct vfio_user_header h = {
				.cmd = VFIO_USER_DEVICE_GET_INFO, .msg_size = 32,
			};

			c = conn_open(NULL);
			assert_int_equal(rc_send_raw(c, &h, 7, NULL, 0), 0);
			break;
		}
		case 7: {	/* close within a payload that carried an fd */
			struct vfio_user_header h = {
				.cmd = VFIO_USER_DEVICE_SET_IRQS, .msg_size = 36,
			};

			c = conn_open(NULL);
			assert_int_equal(rc_send_raw(c, &h, sizeof(h), &efd, 1),
					 0);
			break;
		}
		case 9: {	/* an IRQ eventfd and a DMA map left behind */
			int mfd = memfd_create("vu-churn", MFD_CLOEXEC);

			c = conn_open(NULL);
			assert_true(mfd >= 0);
			assert_int_equal(ftruncate(mfd, 4096), 0);
			assert_int_equal(set_irqs(c,
					 VFIO_USER_IRQ_SET_DATA_EVENTFD |
					 VFIO_USER_IRQ_SET_ACTION_TRIGGER,
					 VFIO_USER_PCI_ERR_IRQ_INDEX, 0, 1,
					 NULL, &efd, 1), 0);
			assert_int_equal(dma_map(c, VFIO_USER_DMA_MAP_F_READ, 0,
						 0x100000, 4096, &mfd, 1), 0);
			close(mfd);
			break;
		}
		default:
			c = conn_open(NULL);
			call_ok(c, VFIO_USER_DEVICE_GET_INFO, &in, sizeof(in));
			break;
		}
		conn_close(c);
	}
	close(efd);
	after = wait_server_fds(before, SETTLE_MS);
	print_message("%d connections in %llu ms; server fds %d before, %d "
		      "after\n", CHURN_ROUNDS,
		      (unsigned long long)(rc_now_ms() - t0), before, after);
	assert_int_equal(after, before);
}

/* The --fd=N form: a connected socket handed to the device. */
static void
test_fd_mode(void **state)
{
	char arg[32];
	int sv[2], out_fd = -1, status;
	struct rc c = { .fd = -1, .next_id = 1 };
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
	snprintf(arg, sizeof(arg), "--fd=%d", sv[1]);
	pid = spawn_device(arg, sv[1], &out_fd);
	close(sv[1]);
	assert_true(pid > 0);
	c.fd = sv[0];
	if (wait_ready(out_fd, 30000) < 0) {
		stop_device(pid, 5000);
		close(out_fd);
		rc_close(&c);
		fail_msg("vu_test_device --fd did not get ready");
	}
	close(out_fd);
	{
		json_t *root = negotiate_json(&c, VFIO_USER_MINOR_VER, NULL);

		json_decref(root);
	}
	check_alive(&c);
	write32(&c, VU_TD_R_BAR0, 0x10, 0xfdfdfdfd);
	assert_int_equal(read32(&c, VU_TD_R_BAR0, 0x10), 0xfdfdfdfd);
	rc_close(&c);
	status = stop_device(pid, 10000);
	assert_true(status >= 0 && WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the end: the device exits cleanly ---- */

/*
 * The last test: SIGTERM the device of the whole run; it must exit 0
 * within 10 s, remove its socket file, and have printed no sanitizer
 * report (an ASan/UBSan build of the device may report and still exit 0,
 * e.g. UBSan without halt_on_error, or leaks with a custom exit code).
 */
static void
test_device_exit(void **state)
{
	const char *report;
	int status;

	(void)state;
	for (int i = 0; i < MAX_CONNS; i++)
		conn_close(&conns[i]);
	assert_true(g.pid > 0);
	status = stop_device(g.pid, 10000);
	g.pid = -1;
	report = dump_device_stderr();
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("vu_test_device: bad exit (status 0x%x)", status);
	if (access(g.sock, F_OK) == 0)
		fail_msg("vu_test_device left its socket file %s", g.sock);
	if (report != NULL)
		fail_msg("vu_test_device printed a sanitizer report (\"%s\")",
			 report);
}

/* ---- main ---- */

int
main(int argc, char **argv)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test_teardown(test_version, teardown_conns),
		cmocka_unit_test_teardown(test_version_twin_socket,
					  teardown_conns),
		cmocka_unit_test_teardown(test_version_no_reply,
					  teardown_conns),
		cmocka_unit_test_teardown(test_get_info, teardown_conns),
		cmocka_unit_test_teardown(test_region_info, teardown_conns),
		cmocka_unit_test_teardown(test_region_mmap, teardown_conns),
		cmocka_unit_test_teardown(test_region_io_fds, teardown_conns),
		cmocka_unit_test_teardown(test_no_fd_client, teardown_conns),
		cmocka_unit_test_teardown(test_irq_info, teardown_conns),
		cmocka_unit_test_teardown(test_region_rw, teardown_conns),
		cmocka_unit_test_teardown(test_write_multi, teardown_conns),
		cmocka_unit_test_teardown(test_reset, teardown_conns),
		cmocka_unit_test_teardown(test_no_reply, teardown_conns),
		cmocka_unit_test_teardown(test_pipelining, teardown_conns),
		cmocka_unit_test_teardown(test_set_irqs, teardown_conns),
		cmocka_unit_test_teardown(test_dma_map, teardown_conns),
	};
	static const struct CMUnitTest last[] = {
		cmocka_unit_test_teardown(test_split_pause, teardown_conns),
		cmocka_unit_test_teardown(test_write_then_close, teardown_conns),
		cmocka_unit_test_teardown(test_second_client_refused,
					  teardown_conns),
		cmocka_unit_test_teardown(test_connection_churn, teardown_conns),
		cmocka_unit_test(test_fd_mode),
		cmocka_unit_test(test_device_exit),	/* the last one */
	};
	const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	const size_t nlast = sizeof(last) / sizeof(last[0]);
	size_t n = 0;
	struct CMUnitTest *tests;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/vu_test_device\n", argv[0]);
		return 2;
	}
	g.dev_bin = argv[1];
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	/* a peer that goes away must not kill us */
	signal(SIGPIPE, SIG_IGN);

	tests = calloc(nfixed + NUM_BAD + nlast, sizeof(*tests));
	if (tests == NULL)
		return 1;
	for (size_t i = 0; i < nfixed; i++)
		tests[n++] = fixed[i];
	for (size_t i = 0; i < NUM_BAD; i++) {
		tests[n].name = bad_cases[i].name;
		tests[n].test_func = test_malformed;
		tests[n].teardown_func = teardown_conns;
		tests[n].initial_state = (void *)(uintptr_t)&bad_cases[i];
		n++;
	}
	for (size_t i = 0; i < nlast; i++)
		tests[n++] = last[i];
	print_message("%zu malformed-message cases\n", NUM_BAD);
	ret = _cmocka_run_group_tests("conformance", tests, n, group_setup,
				      group_teardown);
	free(tests);
	return ret != 0 || g.teardown_failed;
}
