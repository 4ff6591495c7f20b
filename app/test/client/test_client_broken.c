/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The client against broken servers: a fake server thread in this program
 * answers VERSION (rightly or not) and then misbehaves as each test wants:
 * truncated, late, mismatched, oversized, undersized or malformed replies,
 * silence, closing, and DMA requests the client must refuse. Every case
 * must end in a clear error within the timeout, with no crash, no leaked
 * memory (LSan) and no leaked fd.
 */

#include <dirent.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_common.h>
#include <rte_errno.h>

#include "fd_inflight.h"
#include "raw_client.h"
#include "rte_vfio_user.h"
#include "rte_vfio_user_client.h"

#define TIMEOUT_MS	300		/* the client's, for these tests */
#define MARGIN_MS	300		/* what a timeout may take beyond it */
#define MAX_MSG		(1024 * 1024 + 4096)	/* the library's limit */

#define GOOD_JSON "{\"capabilities\":{\"max_msg_fds\":8," \
	"\"max_data_xfer_size\":1048576}}"

/* What the fake server's handler wants next. */
enum act {
	A_CONT,		/* go on */
	A_CLOSE,	/* close the connection */
	A_STALL,	/* read on, answer nothing */
};

struct fake;
typedef enum act (*fake_fn)(struct fake *f, const struct rc_reply *req);

/* One DMA request of the fake server and what came back. */
struct dma_op {
	uint16_t cmd;
	uint32_t flags;		/* extra header flags (NO_REPLY) */
	uint64_t addr;
	uint64_t count;
	const void *data;	/* DMA_WRITE data */
	uint32_t data_len;
	int32_t size_adj;	/* added to the payload length sent */
	uint32_t oversize;	/* > 0: a message of this size, zero-filled */
	bool reply_type;	/* sent as a reply nobody asked for */
	/* results */
	bool got;
	uint32_t rflags;
	uint32_t rerrno;
	uint32_t rsize;
	uint8_t rdata[64];
};

struct fake {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int lfd;
	int stop_efd;
	pthread_t thr;
	struct rc rc;		/* the connection */
	/* VERSION */
	uint16_t v_major, v_minor;
	const char *v_json;	/* NULL: no data */
	bool v_no_nul;		/* send the JSON without its NUL */
	uint32_t v_err;		/* error reply with this errno */
	bool v_silent;
	bool v_close;
	bool v_close_after;	/* close right after the reply */
	bool v_short;		/* a 2-byte payload */
	int v_fds[4];		/* fds sent with the reply */
	int v_nfds;
	bool negotiated;
	/* later requests */
	fake_fn fn;
	unsigned int n;		/* requests handled by fn so far */
	/* DMA script, run when the client sends DEVICE_RESET */
	struct dma_op *ops;
	unsigned int nops;
	int dma_fd;		/* where to send them: -1 the connection */
	bool saw_eof;
	bool thr_started;
};

static char tmpdir[64];
static unsigned int nfake;
static int fds_at_start;
/* what a failed test leaves behind, for its teardown */
static struct fake *cur_fake;
static struct rte_vfio_user_client *cur_client;

/* ---- helpers ---- */

/* Send a message with the given header fields; only the first send_len
 * bytes of it (all if 0). */
static int
send_msg(int fd, uint16_t id, uint16_t cmd, uint32_t flags, uint32_t err,
	 uint32_t msg_size, const void *p, uint32_t len, uint32_t send_len,
	 const int *fds, int nfds)
{
	struct rc rc = { .fd = fd };
	struct vfio_user_header *h;
	size_t total = sizeof(*h) + len;
	int ret;

	h = calloc(1, total);
	if (h == NULL)
		return -ENOMEM;
	h->msg_id = id;
	h->cmd = cmd;
	h->msg_size = msg_size ? msg_size : (uint32_t)total;
	h->flags = flags;
	h->error_no = err;
	if (len > 0 && p != NULL)
		memcpy(h + 1, p, len);
	ret = rc_send_raw(&rc, h, send_len ? send_len : total, fds, nfds);
	free(h);
	return ret;
}

static int
reply(struct fake *f, const struct rc_reply *req, const void *p, uint32_t len)
{
	return send_msg(f->rc.fd, req->hdr.msg_id, req->hdr.cmd,
			VFIO_USER_F_TYPE_REPLY, 0, 0, p, len, 0, NULL, 0);
}

static int
reply_fds(struct fake *f, const struct rc_reply *req, const void *p,
	  uint32_t len, const int *fds, int nfds)
{
	return send_msg(f->rc.fd, req->hdr.msg_id, req->hdr.cmd,
			VFIO_USER_F_TYPE_REPLY, 0, 0, p, len, 0, fds, nfds);
}

static int
reply_err(struct fake *f, const struct rc_reply *req, uint32_t err)
{
	return send_msg(f->rc.fd, req->hdr.msg_id, req->hdr.cmd,
			VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, err, 0,
			NULL, 0, 0, NULL, 0);
}

/* A correct answer to the usual commands. */
static enum act
answer_good(struct fake *f, const struct rc_reply *req)
{
	switch (req->hdr.cmd) {
	case VFIO_USER_DEVICE_GET_INFO: {
		struct vfio_user_device_info i = {
			.argsz = sizeof(i), .flags = VFIO_USER_DEVICE_FLAGS_PCI,
			.num_regions = 9, .num_irqs = 5,
		};

		reply(f, req, &i, sizeof(i));
		break;
	}
	case VFIO_USER_DEVICE_GET_REGION_INFO: {
		const struct vfio_user_region_info *q = (const void *)req->payload;
		struct vfio_user_region_info i = {
			.argsz = sizeof(i), .index = q->index, .size = 4096,
			.flags = VFIO_USER_REGION_INFO_FLAG_READ,
		};

		reply(f, req, &i, sizeof(i));
		break;
	}
	case VFIO_USER_DEVICE_GET_IRQ_INFO: {
		const struct vfio_user_irq_info *q = (const void *)req->payload;
		struct vfio_user_irq_info i = {
			.argsz = sizeof(i), .index = q->index, .count = 1,
			.flags = VFIO_USER_IRQ_INFO_EVENTFD,
		};

		reply(f, req, &i, sizeof(i));
		break;
	}
	case VFIO_USER_DMA_MAP:
		reply(f, req, NULL, 0);
		break;
	case VFIO_USER_DMA_UNMAP:
	case VFIO_USER_DEVICE_RESET:
		reply(f, req, req->payload, req->size);
		break;
	default:
		reply_err(f, req, ENOSYS);
		break;
	}
	return A_CONT;
}

/* Run the DMA script: each request, then its reply (unless none). */
static void
run_dma_script(struct fake *f)
{
	struct rc rc = { .fd = f->dma_fd >= 0 ? f->dma_fd : f->rc.fd };
	uint16_t id = 0x7000;

	for (unsigned int i = 0; i < f->nops; i++) {
		struct dma_op *op = &f->ops[i];
		uint32_t len = (uint32_t)(sizeof(struct vfio_user_dma_access) +
					  op->data_len);
		uint8_t *p = calloc(1, op->oversize ? op->oversize : len);
		struct vfio_user_dma_access *a = (void *)p;
		uint32_t flags = (op->reply_type ? VFIO_USER_F_TYPE_REPLY :
				  VFIO_USER_F_TYPE_COMMAND) | op->flags;
		struct rc_reply r;
		int ret;

		if (p == NULL)
			return;
		a->addr = op->addr;
		a->count = op->count;
		if (op->data_len > 0)
			memcpy(a->data, op->data, op->data_len);
		if (op->oversize)
			len = op->oversize - (uint32_t)sizeof(struct vfio_user_header);
		len = (uint32_t)((int32_t)len + op->size_adj);
		ret = send_msg(rc.fd, ++id, op->cmd, flags, 0, 0, p, len, 0,
			       NULL, 0);
		free(p);
		if (ret < 0 || (op->flags & VFIO_USER_F_NO_REPLY) || op->reply_type)
			continue;
		ret = rc_recv(&rc, &r, 3000);
		if (ret == 0 && r.hdr.msg_id == id && r.hdr.cmd == op->cmd) {
			op->got = true;
			op->rflags = r.hdr.flags;
			op->rerrno = r.hdr.error_no;
			op->rsize = r.size;
			memcpy(op->rdata, r.payload,
			       r.size < sizeof(op->rdata) ? r.size : sizeof(op->rdata));
		}
		rc_reply_free(&r);
	}
}

static enum act
answer_version(struct fake *f, const struct rc_reply *req)
{
	size_t jl = f->v_json ? strlen(f->v_json) + (f->v_no_nul ? 0 : 1) : 0;
	struct vfio_user_version *v = calloc(1, sizeof(*v) + jl + 1);
	uint32_t len = (uint32_t)(sizeof(*v) + jl);

	if (v == NULL)
		return A_CLOSE;
	if (f->v_silent) {
		free(v);
		return A_STALL;
	}
	if (f->v_close) {
		free(v);
		return A_CLOSE;
	}
	v->major = f->v_major;
	v->minor = f->v_minor;
	if (jl > 0)
		memcpy(v->data, f->v_json, jl);
	if (f->v_short)
		len = 2;
	if (f->v_err)
		reply_err(f, req, f->v_err);
	else
		reply_fds(f, req, v, len, f->v_fds, f->v_nfds);
	free(v);
	f->negotiated = true;
	return f->v_close_after ? A_CLOSE : A_CONT;
}

static void *
fake_thread(void *arg)
{
	struct fake *f = arg;
	struct pollfd p[2] = {
		{ .fd = f->lfd, .events = POLLIN },
		{ .fd = f->stop_efd, .events = POLLIN },
	};
	bool stalled = false;

	if (poll(p, 2, 10000) <= 0 || p[1].revents)
		return NULL;
	f->rc.fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (f->rc.fd < 0)
		return NULL;
	for (;;) {
		struct pollfd q[2] = {
			{ .fd = f->rc.fd, .events = POLLIN },
			{ .fd = f->stop_efd, .events = POLLIN },
		};
		struct rc_reply req;
		enum act a;

		if (poll(q, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (q[1].revents)
			break;
		if (rc_recv(&f->rc, &req, 3000) < 0) {
			rc_reply_free(&req);
			f->saw_eof = true;
			break;
		}
		if (stalled) {
			a = A_STALL;
		} else if ((req.hdr.flags & VFIO_USER_F_TYPE_MASK) ==
			   VFIO_USER_F_TYPE_REPLY) {
			a = A_CONT;	/* the client's answer to a stray command */
		} else if (!f->negotiated) {
			a = answer_version(f, &req);
		} else if (req.hdr.cmd == VFIO_USER_DEVICE_RESET && f->nops > 0) {
			run_dma_script(f);
			reply(f, &req, NULL, 0);
			a = A_CONT;
		} else {
			a = f->fn != NULL ? f->fn(f, &req) : answer_good(f, &req);
			f->n++;
		}
		rc_reply_free(&req);
		if (a == A_CLOSE)
			break;
		if (a == A_STALL)
			stalled = true;
	}
	close(f->rc.fd);
	f->rc.fd = -1;
	return NULL;
}

static void
fake_start(struct fake *f, fake_fn fn)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->v_minor = VFIO_USER_MINOR_VER;
	f->v_json = GOOD_JSON;
	f->fn = fn;
	f->dma_fd = -1;
	f->rc.fd = -1;
	snprintf(f->path, sizeof(f->path), "%s/fake%u.sock", tmpdir, nfake++);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	strcpy(un.sun_path, f->path);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&un, sizeof(un)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	f->stop_efd = eventfd(0, EFD_CLOEXEC);
	assert_true(f->stop_efd >= 0);
	f->thr_started = false;
}

static void
fake_run(struct fake *f)
{
	assert_int_equal(pthread_create(&f->thr, NULL, fake_thread, f), 0);
	f->thr_started = true;
	cur_fake = f;
}

static void
fake_stop(struct fake *f)
{
	uint64_t one = 1;

	cur_fake = NULL;
	if (write(f->stop_efd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "fake_stop: %s\n", strerror(errno));
	if (f->thr_started)
		pthread_join(f->thr, NULL);
	close(f->stop_efd);
	close(f->lfd);
	for (int i = 0; i < f->v_nfds; i++)
		close(f->v_fds[i]);
	unlink(f->path);
}

static struct rte_vfio_user_client *
attach(struct fake *f, struct rte_vfio_user_client_conf *conf)
{
	struct rte_vfio_user_client_conf def = { 0 };
	struct rte_vfio_user_client *c;

	if (conf == NULL)
		conf = &def;
	conf->path = f->path;
	if (conf->timeout_ms == 0)
		conf->timeout_ms = TIMEOUT_MS;
	c = rte_vfio_user_client_attach(conf);
	if (c == NULL)
		fail_msg("attach: %s", strerror(rte_errno));
	cur_client = c;
	return c;
}

static void
detach(struct rte_vfio_user_client *c)
{
	if (cur_client == c)
		cur_client = NULL;
	rte_vfio_user_client_detach(c);
}

/* Attach must fail with err, within the timeout. */
static void
attach_fails(struct fake *f, struct rte_vfio_user_client_conf *conf, int err)
{
	struct rte_vfio_user_client_conf def = { 0 };
	struct rte_vfio_user_client *c;
	uint64_t t0 = rc_now_ms();

	if (conf == NULL)
		conf = &def;
	conf->path = f->path;
	conf->timeout_ms = TIMEOUT_MS;
	c = rte_vfio_user_client_attach(conf);
	if (c != NULL) {
		rte_vfio_user_client_detach(c);
		fail_msg("attach succeeded, %s expected", strerror(err));
	}
	assert_int_equal(rte_errno, err);
	assert_true(rc_now_ms() - t0 < TIMEOUT_MS + MARGIN_MS);
}

/* The fd count once transient fds (the fake's, the event thread's) are
 * closed again: wait a little for it to come back to n. */
static int
fds_settle(int n)
{
	uint64_t end = rc_now_ms() + 1000;
	int cur;

	while ((cur = rc_count_fds()) != n && rc_now_ms() < end)
		rc_sleep_ms(2);
	return cur;
}

struct gone {
	pthread_mutex_t lock;
	int calls;
};

static void
on_gone(struct rte_vfio_user_client *c, void *arg)
{
	struct gone *g = arg;

	(void)c;
	pthread_mutex_lock(&g->lock);
	g->calls++;
	pthread_mutex_unlock(&g->lock);
}

static int
gone_calls(struct gone *g)
{
	int n;

	pthread_mutex_lock(&g->lock);
	n = g->calls;
	pthread_mutex_unlock(&g->lock);
	return n;
}

/* ---- group ---- */

static int
group_setup(void **state)
{
	(void)state;
	fds_at_start = rc_count_fds();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vu-broken-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* After a test that failed half-way: its client and fake server go. */
static struct fi_limit *cur_limit;	/* a test under the fd limit */

static int
test_teardown(void **state)
{
	(void)state;
	if (cur_limit != NULL) {
		fi_limit_end(cur_limit);
		cur_limit = NULL;
	}
	if (cur_client != NULL)
		detach(cur_client);
	if (cur_fake != NULL)
		fake_stop(cur_fake);
	return 0;
}

/* Remove what a failed test may have left in tmpdir, then tmpdir. */
static void
rm_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[sizeof(tmpdir) + sizeof(e->d_name) + 1];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(tmpdir);
}

static int
group_teardown(void **state)
{
	(void)state;
	rm_tmpdir();
	return 0;
}

/* ---- VERSION ---- */

static void
test_version_good(void **state)
{
	struct rte_vfio_user_client_caps caps;
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */

	(void)state;
	fake_start(&f, NULL);
	fake_run(&f);
	c = attach(&f, NULL);
	rte_vfio_user_client_get_caps(c, &caps);
	assert_int_equal(caps.max_msg_fds, 8);
	assert_int_equal(caps.max_xfer, 1024 * 1024);
	assert_int_equal(caps.max_dma_maps, VFIO_USER_DEF_MAX_DMA_MAPS);
	assert_int_equal(caps.pgsizes, VFIO_USER_DEF_PGSIZES);
	assert_false(caps.twin_socket);
	detach(c);
	fake_stop(&f);

	/* no JSON at all: the defaults */
	fake_start(&f, NULL);
	f.v_json = NULL;
	fake_run(&f);
	c = attach(&f, NULL);
	rte_vfio_user_client_get_caps(c, &caps);
	assert_int_equal(caps.max_msg_fds, VFIO_USER_DEF_MAX_FDS);
	assert_int_equal(caps.max_xfer, VFIO_USER_DEF_MAX_XFER);
	detach(c);
	fake_stop(&f);
}

static void
test_version_bad(void **state)
{
	static const char *const bad_json[] = {
		"{\"capabilities\":{",				/* truncated */
		"[1, 2]",					/* no object */
		"{\"capabilities\":5}",
		"{\"capabilities\":{\"max_msg_fds\":-1}}",
		"{\"capabilities\":{\"max_data_xfer_size\":\"big\"}}",
		"{\"capabilities\":{\"pgsizes\":0}}",
	};
	struct rte_vfio_user_client_conf conf = { 0 };
	static struct fake f;	/* outlives a failed test: see test_teardown */

	(void)state;
	/* another major version */
	fake_start(&f, NULL);
	f.v_major = 1;
	fake_run(&f);
	attach_fails(&f, NULL, ENOTSUP);
	fake_stop(&f);

	/* a minor above the one we proposed */
	fake_start(&f, NULL);
	f.v_minor = VFIO_USER_MINOR_VER + 1;
	fake_run(&f);
	attach_fails(&f, NULL, EPROTO);
	fake_stop(&f);

	for (unsigned int i = 0; i < RTE_DIM(bad_json); i++) {
		fake_start(&f, NULL);
		f.v_json = bad_json[i];
		fake_run(&f);
		attach_fails(&f, NULL, EPROTO);
		fake_stop(&f);
	}

	/* JSON without its NUL */
	fake_start(&f, NULL);
	f.v_no_nul = true;
	fake_run(&f);
	attach_fails(&f, NULL, EPROTO);
	fake_stop(&f);

	/* a payload shorter than the version fields */
	fake_start(&f, NULL);
	f.v_short = true;
	fake_run(&f);
	attach_fails(&f, NULL, EPROTO);
	fake_stop(&f);

	/* an error reply: its errno */
	fake_start(&f, NULL);
	f.v_err = EPERM;
	fake_run(&f);
	attach_fails(&f, NULL, EPERM);
	fake_stop(&f);

	/* twin_socket supported, but no fd (or a bad index) */
	fake_start(&f, NULL);
	f.v_json = "{\"capabilities\":{\"twin_socket\":"
		"{\"supported\":true,\"fd_index\":0}}}";
	fake_run(&f);
	conf.twin_socket = true;
	attach_fails(&f, &conf, EPROTO);
	fake_stop(&f);

	fake_start(&f, NULL);
	f.v_json = "{\"capabilities\":{\"twin_socket\":"
		"{\"supported\":true,\"fd_index\":3}}}";
	f.v_fds[0] = eventfd(0, EFD_CLOEXEC);
	f.v_nfds = 1;
	fake_run(&f);
	attach_fails(&f, &conf, EPROTO);
	fake_stop(&f);

	/* a twin socket we did not ask for is ignored (and its fd closed) */
	fake_start(&f, NULL);
	f.v_json = "{\"capabilities\":{\"twin_socket\":"
		"{\"supported\":true,\"fd_index\":0}}}";
	f.v_fds[0] = eventfd(0, EFD_CLOEXEC);
	f.v_nfds = 1;
	fake_run(&f);
	{
		struct rte_vfio_user_client_caps caps;
		struct rte_vfio_user_client *c = attach(&f, NULL);

		rte_vfio_user_client_get_caps(c, &caps);
		assert_false(caps.twin_socket);
		detach(c);
	}
	fake_stop(&f);
}

static void
test_version_silent_or_closed(void **state)
{
	static struct gone g = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct rte_vfio_user_client_conf conf = {
		.on_disconnect = on_gone, .cb_arg = &g,
	};
	struct rte_vfio_user_client *c;
	uint64_t t0;
	static struct fake f;	/* outlives a failed test: see test_teardown */

	(void)state;
	g.calls = 0;
	fake_start(&f, NULL);
	f.v_silent = true;
	fake_run(&f);
	t0 = rc_now_ms();
	attach_fails(&f, &conf, ETIMEDOUT);
	assert_true(rc_now_ms() - t0 >= TIMEOUT_MS);
	fake_stop(&f);

	/* closed instead of answering: no callback for a client that never
	 * was attached */
	fake_start(&f, NULL);
	f.v_close = true;
	fake_run(&f);
	attach_fails(&f, &conf, ENOTCONN);
	fake_stop(&f);
	rc_sleep_ms(20);
	assert_int_equal(gone_calls(&g), 0);

	/* closed right after the reply (a device model refusing the client):
	 * either attach fails, or it succeeds and the callback comes */
	for (int i = 0; i < 10; i++) {
		fake_start(&f, NULL);
		f.v_close_after = true;
		fake_run(&f);
		g.calls = 0;
		conf.path = f.path;
		c = rte_vfio_user_client_attach(&conf);
		cur_client = c;
		if (c == NULL) {
			assert_int_equal(rte_errno, ENOTCONN);
			rc_sleep_ms(20);
			assert_int_equal(gone_calls(&g), 0);
		} else {
			uint64_t end = rc_now_ms() + 2000;

			while (gone_calls(&g) == 0 && rc_now_ms() < end)
				rc_sleep_ms(1);
			assert_int_equal(gone_calls(&g), 1);
			assert_false(rte_vfio_user_client_connected(c));
			detach(c);
		}
		fake_stop(&f);
	}
}

/* ---- truncated, closed, silent ---- */

/* GET_INFO answered by a header saying 32 bytes and 4 bytes of payload. */
static enum act
fn_truncated_stall(struct fake *f, const struct rc_reply *req)
{
	struct vfio_user_device_info i = { .argsz = 16 };

	if (req->hdr.cmd != VFIO_USER_DEVICE_GET_INFO)
		return answer_good(f, req);
	send_msg(f->rc.fd, req->hdr.msg_id, req->hdr.cmd, VFIO_USER_F_TYPE_REPLY,
		 0, 32, &i, sizeof(i), 20, NULL, 0);
	return A_STALL;
}

static enum act
fn_truncated_close(struct fake *f, const struct rc_reply *req)
{
	fn_truncated_stall(f, req);
	return A_CLOSE;
}

static enum act
fn_half_header_close(struct fake *f, const struct rc_reply *req)
{
	send_msg(f->rc.fd, req->hdr.msg_id, req->hdr.cmd, VFIO_USER_F_TYPE_REPLY,
		 0, 32, NULL, 16, 8, NULL, 0);
	return A_CLOSE;
}

static enum act
fn_close(struct fake *f, const struct rc_reply *req)
{
	(void)f;
	(void)req;
	return A_CLOSE;
}

static enum act
fn_silent(struct fake *f, const struct rc_reply *req)
{
	(void)f;
	(void)req;
	return A_CONT;
}

static void
test_truncated_stall(void **state)
{
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	uint64_t t0, dt;

	(void)state;
	fake_start(&f, fn_truncated_stall);
	fake_run(&f);
	c = attach(&f, NULL);
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -ETIMEDOUT);
	dt = rc_now_ms() - t0;
	assert_true(dt >= TIMEOUT_MS && dt < TIMEOUT_MS + MARGIN_MS);
	/* the rest never comes: later requests time out too, cleanly */
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -ETIMEDOUT);
	assert_true(rte_vfio_user_client_connected(c));
	detach(c);
	fake_stop(&f);
}

static void
check_lost(fake_fn fn)
{
	static struct gone g = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct rte_vfio_user_client_conf conf = {
		.on_disconnect = on_gone, .cb_arg = &g,
	};
	struct vfio_user_device_info info;
	struct vfio_user_irq_info irq;
	struct rte_vfio_user_client *c;
	uint64_t t0, end;
	static struct fake f;	/* outlives a failed test: see test_teardown */

	g.calls = 0;
	fake_start(&f, fn);
	fake_run(&f);
	c = attach(&f, &conf);
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -ENOTCONN);
	assert_true(rc_now_ms() - t0 < TIMEOUT_MS);
	end = rc_now_ms() + 2000;
	while (gone_calls(&g) == 0 && rc_now_ms() < end)
		rc_sleep_ms(1);
	assert_int_equal(gone_calls(&g), 1);
	assert_false(rte_vfio_user_client_connected(c));
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_irq_info(c, 0, &irq), -ENOTCONN);
	assert_int_equal(rte_vfio_user_client_region_write(c, 0, 0, "x", 1, true),
			 -ENOTCONN);
	assert_true(rc_now_ms() - t0 < 50);
	detach(c);
	assert_int_equal(gone_calls(&g), 1);
	fake_stop(&f);
}

static void
test_closed_mid_reply(void **state)
{
	(void)state;
	check_lost(fn_truncated_close);		/* in the payload */
	check_lost(fn_half_header_close);	/* in the header */
	check_lost(fn_close);			/* before any reply */
}

/* Holds the event thread up for HOLD_MS once its eventfd is written. */
#define HOLD_MS 300

static int hold_state;	/* 1: holding, 2: done */

static void
hold_cb(int fd, void *arg, uint32_t events)
{
	eventfd_t v;

	(void)arg;
	(void)events;
	if (eventfd_read(fd, &v) < 0)
		return;
	__atomic_store_n(&hold_state, 1, __ATOMIC_RELEASE);
	rc_sleep_ms(HOLD_MS);
	__atomic_store_n(&hold_state, 2, __ATOMIC_RELEASE);
}

/*
 * The server closes while the event thread is held up (by another
 * device's callback): the next request finds it gone at its send, before
 * the event thread does. It fails with ENOTCONN, and then the client is
 * disconnected, told once, on the event thread (the request waited for
 * it). Before, the request failed at once and the client said it was
 * connected until the event thread got to the hang-up: a port started
 * then stayed on a dead connection. A posted write (a doorbell, whose
 * result nobody reads) fails at once, waiting for nothing.
 */
static void
test_lost_seen_by_send(void **state)
{
	static struct gone g = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct rte_vfio_user_client_conf conf = {
		.on_disconnect = on_gone,
		.cb_arg = &g,
		.timeout_ms = 2000,
	};
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	uint64_t end, t0;
	int efd;

	(void)state;
	g.calls = 0;
	hold_state = 0;
	fake_start(&f, NULL);
	fake_run(&f);
	c = attach(&f, &conf);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(efd >= 0);
	assert_int_equal(rte_vfio_user_watch_fd(efd, hold_cb, NULL), 0);
	assert_int_equal(eventfd_write(efd, 1), 0);
	end = rc_now_ms() + 2000;
	while (__atomic_load_n(&hold_state, __ATOMIC_ACQUIRE) == 0 &&
	       rc_now_ms() < end)
		rc_sleep_ms(1);
	assert_int_equal(hold_state, 1);
	fake_stop(&f);		/* the connection closed */
	/* a posted write (a doorbell) fails at once: it waits for nothing */
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_region_write(c, 0, 0, "x", 1,
							   true),
			 -ENOTCONN);
	assert_true(rc_now_ms() - t0 < HOLD_MS / 3);
	assert_int_equal(__atomic_load_n(&hold_state, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -ENOTCONN);
	assert_false(rte_vfio_user_client_connected(c));
	assert_int_equal(__atomic_load_n(&hold_state, __ATOMIC_ACQUIRE), 2);
	end = rc_now_ms() + 2000;
	while (gone_calls(&g) == 0 && rc_now_ms() < end)
		rc_sleep_ms(1);
	assert_int_equal(gone_calls(&g), 1);
	assert_int_equal(rte_vfio_user_unwatch_fd(efd), 0);
	close(efd);
	detach(c);
	assert_int_equal(gone_calls(&g), 1);
}

struct par {
	struct rte_vfio_user_client *c;
	int ret;
	uint64_t ms;
};

static void *
par_info(void *arg)
{
	struct par *p = arg;
	struct vfio_user_irq_info irq;
	uint64_t t0 = rc_now_ms();

	p->ret = rte_vfio_user_client_irq_info(p->c, 0, &irq);
	p->ms = rc_now_ms() - t0;
	return NULL;
}

static void
test_never_replies(void **state)
{
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c;
	struct par p[4];
	pthread_t t[4];
	uint64_t t0, dt;
	static struct fake f;	/* outlives a failed test: see test_teardown */

	(void)state;
	fake_start(&f, fn_silent);
	fake_run(&f);
	c = attach(&f, NULL);
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -ETIMEDOUT);
	dt = rc_now_ms() - t0;
	assert_in_range(dt, TIMEOUT_MS, TIMEOUT_MS + MARGIN_MS - 1);
	/* several at once: each gives up at its own deadline */
	for (int i = 0; i < 4; i++) {
		p[i] = (struct par){ .c = c };
		assert_int_equal(pthread_create(&t[i], NULL, par_info, &p[i]), 0);
	}
	/* all joined before any check: a failed one must not leave threads
	 * in a client that the teardown detaches */
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(p[i].ret, -ETIMEDOUT);
		assert_in_range(p[i].ms, TIMEOUT_MS,
				TIMEOUT_MS + MARGIN_MS - 1);
	}
	assert_true(rte_vfio_user_client_connected(c));
	detach(c);
	fake_stop(&f);
}

/* Never answers; floods the client with replies to nothing for 2 s. */
static enum act
fn_flood(struct fake *f, const struct rc_reply *req)
{
	struct vfio_user_header h[256];
	uint64_t end = rc_now_ms() + 2000;

	for (unsigned int i = 0; i < RTE_DIM(h); i++)
		h[i] = (struct vfio_user_header){
			.msg_id = (uint16_t)(req->hdr.msg_id + 1 + i),
			.cmd = req->hdr.cmd,
			.msg_size = sizeof(h[i]),
			.flags = VFIO_USER_F_TYPE_REPLY,
		};
	while (rc_now_ms() < end)
		if (rc_send_raw(&f->rc, h, sizeof(h), NULL, 0) < 0)
			break;
	return A_STALL;
}

static void
test_flood_of_stray_replies(void **state)
{
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c;
	uint64_t t0, dt;
	static struct fake f;	/* outlives a failed test: see test_teardown */

	(void)state;
	fake_start(&f, fn_flood);
	fake_run(&f);
	c = attach(&f, NULL);
	/* the caller reading the flood itself still gives up in time */
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_device_info(c, &info),
			 -ETIMEDOUT);
	dt = rc_now_ms() - t0;
	assert_in_range(dt, TIMEOUT_MS, TIMEOUT_MS + MARGIN_MS - 1);
	rc_sleep_ms(2000);	/* the flood ends (the event thread reads it) */
	assert_true(rte_vfio_user_client_connected(c));
	detach(c);
	fake_stop(&f);
}

/* ---- wrong, late, error, oversized, undersized replies ---- */

static enum act
fn_wrong_id(struct fake *f, const struct rc_reply *req)
{
	struct vfio_user_device_info i = {
		.argsz = sizeof(i), .num_regions = 9, .num_irqs = 5,
	};

	switch (f->n) {
	case 0:	/* another id */
		send_msg(f->rc.fd, (uint16_t)(req->hdr.msg_id + 1), req->hdr.cmd,
			 VFIO_USER_F_TYPE_REPLY, 0, 0, &i, sizeof(i), 0, NULL, 0);
		return A_CONT;
	case 1:	/* the id, another command */
		send_msg(f->rc.fd, req->hdr.msg_id, VFIO_USER_DEVICE_GET_IRQ_INFO,
			 VFIO_USER_F_TYPE_REPLY, 0, 0, &i, sizeof(i), 0, NULL, 0);
		return A_CONT;
	case 2:	/* the id, not a reply */
		send_msg(f->rc.fd, req->hdr.msg_id, req->hdr.cmd, 0, 0, 0,
			 &i, sizeof(i), 0, NULL, 0);
		return A_CONT;
	case 3:	/* late: after the client gave up */
		rc_sleep_ms(TIMEOUT_MS + 200);
		return answer_good(f, req);
	default:
		return answer_good(f, req);
	}
}

static void
test_wrong_or_late_reply(void **state)
{
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c;
	uint64_t t0, dt;
	static struct fake f;	/* outlives a failed test: see test_teardown */

	(void)state;
	fake_start(&f, fn_wrong_id);
	fake_run(&f);
	c = attach(&f, NULL);
	for (int i = 0; i < 4; i++) {
		t0 = rc_now_ms();
		assert_int_equal(rte_vfio_user_client_device_info(c, &info),
				 -ETIMEDOUT);
		dt = rc_now_ms() - t0;
		assert_true(dt >= TIMEOUT_MS && dt < TIMEOUT_MS + MARGIN_MS);
	}
	/* the late reply comes now and must not be taken for this one */
	memset(&info, 0, sizeof(info));
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	assert_int_equal(info.num_regions, 9);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	assert_true(rte_vfio_user_client_connected(c));
	detach(c);
	fake_stop(&f);
}

static enum act
fn_errors(struct fake *f, const struct rc_reply *req)
{
	uint8_t junk[16] = { 0 };

	switch (f->n) {
	case 0:
		reply_err(f, req, EBUSY);
		return A_CONT;
	case 1:	/* error bit, no errno */
		reply_err(f, req, 0);
		return A_CONT;
	case 2:	/* error with a payload it should not have */
		send_msg(f->rc.fd, req->hdr.msg_id, req->hdr.cmd,
			 VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, EROFS, 0,
			 junk, sizeof(junk), 0, NULL, 0);
		return A_CONT;
	default:
		return answer_good(f, req);
	}
}

static void
test_error_reply(void **state)
{
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */

	(void)state;
	fake_start(&f, fn_errors);
	fake_run(&f);
	c = attach(&f, NULL);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -EBUSY);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -EIO);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -EROFS);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	detach(c);
	fake_stop(&f);
}

static enum act
fn_sizes(struct fake *f, const struct rc_reply *req)
{
	switch (f->n) {
	case 0: {	/* larger than any message may be; all of it sent */
		uint32_t size = MAX_MSG + 16 + 1;
		void *p = calloc(1, size);

		send_msg(f->rc.fd, req->hdr.msg_id, req->hdr.cmd,
			 VFIO_USER_F_TYPE_REPLY, 0, 0, p,
			 size - (uint32_t)sizeof(struct vfio_user_header), 0,
			 NULL, 0);
		free(p);
		return A_CONT;
	}
	case 1:	/* smaller than a header */
		send_msg(f->rc.fd, req->hdr.msg_id, req->hdr.cmd,
			 VFIO_USER_F_TYPE_REPLY, 0, 8, NULL, 0, 0, NULL, 0);
		return A_CONT;
	default:
		return answer_good(f, req);
	}
}

static void
test_oversized_and_undersized(void **state)
{
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c;
	struct rte_vfio_user_client_conf conf = { .timeout_ms = 5000 };
	static struct fake f;	/* outlives a failed test: see test_teardown */
	int ret;

	(void)state;
	fake_start(&f, fn_sizes);
	fake_run(&f);
	c = attach(&f, &conf);
	ret = rte_vfio_user_client_device_info(c, &info);
	assert_int_equal(ret, -EMSGSIZE);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -EPROTO);
	/* the oversized payload was skipped: in step again */
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	assert_int_equal(info.num_irqs, 5);
	assert_true(rte_vfio_user_client_connected(c));
	detach(c);
	fake_stop(&f);
}

/* Replies too short or inconsistent for their command, one per request. */
static enum act
fn_malformed(struct fake *f, const struct rc_reply *req)
{
	const uint16_t cmd = req->hdr.cmd;
	uint8_t buf[256] = { 0 };

	switch (cmd) {
	case VFIO_USER_DEVICE_GET_INFO: {
		int fds[70], n = 0;

		if (f->n == 0) {	/* 4 bytes */
			reply(f, req, buf, 4);
			return A_CONT;
		}
		if (f->n == 1)
			n = 3;		/* fds it should not have */
		else if (f->n == 2)
			n = 70;		/* more than the client takes */
		else
			return answer_good(f, req);
		for (int i = 0; i < n; i++)
			fds[i] = eventfd(0, EFD_CLOEXEC);
		((struct vfio_user_device_info *)buf)->argsz = 16;
		reply_fds(f, req, buf, 16, fds, n);
		for (int i = 0; i < n; i++)
			close(fds[i]);
		return A_CONT;
	}
	case VFIO_USER_DEVICE_GET_IRQ_INFO: {
		struct vfio_user_irq_info *i = (void *)buf;
		const struct vfio_user_irq_info *q = (const void *)req->payload;

		i->argsz = 16;
		i->index = q->index + 1;	/* another index */
		reply(f, req, buf, q->index == 0 ? 16 : 8);
		return A_CONT;
	}
	case VFIO_USER_REGION_READ: {
		const struct vfio_user_region_access *q = (const void *)req->payload;
		struct vfio_user_region_access *a = (void *)buf;

		*a = *q;
		if (q->offset == 0)	/* a byte short */
			reply(f, req, buf, (uint32_t)(sizeof(*a) + q->count - 1));
		else if (q->offset == 1) {	/* another offset */
			a->offset = 2;
			reply(f, req, buf, (uint32_t)(sizeof(*a) + q->count));
		} else {		/* count says less */
			a->count = q->count - 1;
			reply(f, req, buf, (uint32_t)(sizeof(*a) + q->count));
		}
		return A_CONT;
	}
	case VFIO_USER_REGION_WRITE:
		reply(f, req, req->payload, 8);
		return A_CONT;
	case VFIO_USER_REGION_WRITE_MULTI: {
		uint64_t n = 2;	/* not what was sent (1) */

		reply(f, req, &n, sizeof(n));
		return A_CONT;
	}
	case VFIO_USER_DEVICE_GET_REGION_INFO: {
		const struct vfio_user_region_info *q = (const void *)req->payload;
		struct vfio_user_region_info *i = (void *)buf;

		i->argsz = 32;
		i->index = q->index;
		i->size = 4096;
		if (q->index == 0) {
			reply(f, req, buf, 16);
		} else if (q->index == 1) {
			i->index = 5;
			reply(f, req, buf, 32);
		} else {	/* MMAP without its fd */
			i->flags = VFIO_USER_REGION_INFO_FLAG_MMAP;
			reply(f, req, buf, 32);
		}
		return A_CONT;
	}
	case VFIO_USER_DEVICE_GET_REGION_IO_FDS: {
		const struct vfio_user_region_io_fds *q = (const void *)req->payload;
		struct vfio_user_region_io_fds *r = (void *)buf;
		struct vfio_user_sub_region_io_fd *s = (void *)(r + 1);
		int fds[5];

		for (int k = 0; k < 5; k++)
			fds[k] = eventfd(0, EFD_CLOEXEC);
		r->index = q->index;
		if (q->index == 0) {
			r->argsz = sizeof(*r) + sizeof(*s);
			r->count = 1;
			s->fd_index = 1;	/* only fd 0 is there */
			reply_fds(f, req, buf, sizeof(*r) + sizeof(*s), fds, 1);
		} else {
			/* 5 entries and their fds, though the client had room
			 * for 2, and argsz claiming they fit */
			r->argsz = q->argsz;
			r->count = 5;
			for (uint32_t k = 0; k < 5; k++) {
				s[k].offset = 8 * k;
				s[k].size = 4;
				s[k].fd_index = k;
			}
			reply_fds(f, req, buf, sizeof(*r) + 5 * sizeof(*s), fds, 5);
		}
		for (int k = 0; k < 5; k++)
			close(fds[k]);
		return A_CONT;
	}
	case VFIO_USER_DIRTY_PAGES: {
		/* the bitmap longer than the room the client gave */
		reply(f, req, buf, 8 + 32 + 64);
		return A_CONT;
	}
	default:
		return answer_good(f, req);
	}
}

static void
test_malformed_replies(void **state)
{
	struct rte_vfio_user_client_conf conf = { .write_multi = true };
	struct rte_vfio_user_client_write w = { .region = 0, .count = 4 };
	struct rte_vfio_user_client_region reg;
	struct {
		struct rte_vfio_user_client_io_fd io[2];
		uint8_t guard[256];
	} g;
	struct rte_vfio_user_client_caps caps;
	struct vfio_user_device_info info;
	struct vfio_user_irq_info irq;
	struct rte_vfio_user_client *c;
	uint8_t buf[64];
	uint64_t bitmap[1];
	uint32_t count;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	int fds_before;

	(void)state;
	fake_start(&f, fn_malformed);
	f.v_json = "{\"capabilities\":{\"max_msg_fds\":8,"
		"\"write_multiple\":true}}";
	fake_run(&f);
	c = attach(&f, &conf);
	rte_vfio_user_client_get_caps(c, &caps);
	assert_true(caps.write_multi);
	fds_before = rc_count_fds();

	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -EPROTO);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -EPROTO);
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), -EPROTO);
	assert_int_equal(fds_settle(fds_before), fds_before);	/* all closed */
	assert_int_equal(rte_vfio_user_client_irq_info(c, 0, &irq), -EPROTO);
	assert_int_equal(rte_vfio_user_client_irq_info(c, 1, &irq), -EPROTO);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 0, buf, 8), -EPROTO);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 1, buf, 8), -EPROTO);
	assert_int_equal(rte_vfio_user_client_region_read(c, 0, 5, buf, 8), -EPROTO);
	assert_int_equal(rte_vfio_user_client_region_write(c, 0, 0, buf, 8, false),
			 -EPROTO);
	assert_int_equal(rte_vfio_user_client_region_write_multi(c, &w, 1),
			 -EPROTO);
	assert_int_equal(rte_vfio_user_client_region_info(c, 0, &reg), -EPROTO);
	assert_int_equal(rte_vfio_user_client_region_info(c, 1, &reg), -EPROTO);
	assert_int_equal(rte_vfio_user_client_region_info(c, 2, &reg), -EPROTO);
	assert_int_equal(rte_vfio_user_client_region_io_fds(c, 0, g.io, 2, &count),
			 -EPROTO);
	/* more entries than room: none returned, nothing written past it */
	memset(&g, 0xab, sizeof(g));
	g.io[0].fd = g.io[1].fd = -7;
	assert_int_equal(rte_vfio_user_client_region_io_fds(c, 1, g.io, 2, &count),
			 0);
	assert_int_equal(count, 5);
	assert_int_equal(g.io[0].fd, -7);
	assert_int_equal(g.io[1].fd, -7);
	for (size_t k = 0; k < sizeof(g.guard); k++)
		assert_int_equal(g.guard[k], 0xab);
	assert_int_equal(rte_vfio_user_client_dirty_pages(c,
			 VFIO_USER_DIRTY_PAGES_F_GET_BITMAP, 0, 4096 * 64, 4096,
			 bitmap, sizeof(bitmap)), -EPROTO);
	assert_int_equal(fds_settle(fds_before), fds_before);
	/* and after all that, a good reply is still understood */
	assert_int_equal(rte_vfio_user_client_device_info(c, &info), 0);
	assert_int_equal(info.num_regions, 9);
	detach(c);
	fake_stop(&f);
}

/* ---- region capability chains ---- */

static enum act
fn_caps(struct fake *f, const struct rc_reply *req)
{
	const struct vfio_user_region_info *q = (const void *)req->payload;
	uint8_t buf[512] = { 0 };
	struct vfio_user_region_info *i = (void *)buf;
	struct vfio_user_cap_header *h1 = (void *)(buf + 32);
	struct vfio_user_cap_header *h2 = (void *)(buf + 48);
	struct vfio_user_cap_sparse_mmap *s = (void *)(buf + 32);
	uint32_t len = 48;
	int fd = -1;

	if (req->hdr.cmd != VFIO_USER_DEVICE_GET_REGION_INFO)
		return answer_good(f, req);
	i->index = q->index;
	i->size = 0x10000;
	i->flags = VFIO_USER_REGION_INFO_FLAG_READ | VFIO_USER_REGION_INFO_FLAG_CAPS;
	i->cap_offset = 32;
	h1->id = VFIO_USER_REGION_CAP_TYPE;
	h1->version = 1;
	h2->id = VFIO_USER_REGION_CAP_TYPE;
	h2->version = 1;
	switch (q->index) {
	case 0:		/* a cap pointing at itself */
		h1->next = 32;
		break;
	case 1:		/* two caps pointing at each other */
		h1->next = 48;
		h2->next = 32;
		len = 64;
		break;
	case 2:		/* the chain starts outside the payload */
		i->cap_offset = 1000;
		break;
	case 3:		/* a next outside the payload */
		h1->next = 4000;
		break;
	case 4:		/* the chain starts inside the region info */
		i->cap_offset = 20;
		break;
	case 5:		/* a cap header cut short */
		i->cap_offset = 44;
		break;
	case 6:		/* more sparse areas than there are bytes for */
		s->header.id = VFIO_USER_REGION_CAP_SPARSE_MMAP;
		s->nr_areas = 100;
		len = 32 + 16 + 2 * 16;
		break;
	case 7:		/* a sparse area outside the region */
		s->header.id = VFIO_USER_REGION_CAP_SPARSE_MMAP;
		s->nr_areas = 1;
		s->areas[0].offset = 0x8000;
		s->areas[0].size = 0x9000;
		len = 32 + 16 + 16;
		break;
	case 8:		/* asks for an absurd amount of room */
		i->argsz = 100000;
		i->cap_offset = 0;
		len = 32;
		break;
	case 9:		/* a cap nobody knows, skipped */
		h1->id = 99;
		h1->next = 48;
		h2->next = 0;
		((struct vfio_user_cap_type *)h2)->type = 3;
		((struct vfio_user_cap_type *)h2)->subtype = 4;
		len = 64;
		break;
	default:	/* all good: sparse areas, then a type, and the fd */
		s->header.id = VFIO_USER_REGION_CAP_SPARSE_MMAP;
		s->header.next = 32 + 16 + 2 * 16;
		s->nr_areas = 2;
		s->areas[0].offset = 0;
		s->areas[0].size = 0x1000;
		s->areas[1].offset = 0x4000;
		s->areas[1].size = 0x2000;
		{
			struct vfio_user_cap_type *t = (void *)(buf + 80);

			t->header.id = VFIO_USER_REGION_CAP_TYPE;
			t->type = 0x80001234;
			t->subtype = 2;
		}
		len = 96;
		i->flags |= VFIO_USER_REGION_INFO_FLAG_MMAP;
		i->offset = 0x2000;
		fd = memfd_create("fake-region", MFD_CLOEXEC);
		break;
	}
	if (i->argsz == 0)
		i->argsz = len;
	reply_fds(f, req, buf, len, &fd, fd >= 0 ? 1 : 0);
	if (fd >= 0)
		close(fd);
	return A_CONT;
}

static void
test_region_caps(void **state)
{
	struct rte_vfio_user_client_region reg;
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */

	(void)state;
	fake_start(&f, fn_caps);
	fake_run(&f);
	c = attach(&f, NULL);
	for (uint32_t i = 0; i <= 8; i++) {
		int ret = rte_vfio_user_client_region_info(c, i, &reg);

		if (ret != -EPROTO)
			fail_msg("region info case %u: %d, -EPROTO expected", i, ret);
	}
	assert_int_equal(rte_vfio_user_client_region_info(c, 9, &reg), 0);
	assert_int_equal(reg.type, 3);
	assert_int_equal(reg.subtype, 4);
	assert_int_equal(reg.nr_sparse, 0);
	assert_int_equal(rte_vfio_user_client_region_info(c, 10, &reg), 0);
	assert_int_equal(reg.nr_sparse, 2);
	assert_int_equal(reg.sparse[1].offset, 0x4000);
	assert_int_equal(reg.sparse[1].size, 0x2000);
	assert_int_equal(reg.type, 0x80001234);
	assert_int_equal(reg.subtype, 2);
	assert_int_equal(reg.offset, 0x2000);
	assert_true(reg.fd >= 0);
	assert_true(rte_vfio_user_client_connected(c));
	detach(c);
	fake_stop(&f);
}

/* ---- the server's DMA requests ---- */

static void
check_dma_requests(bool twin)
{
	static const char quiet[] = "quiet";
	struct rte_vfio_user_client_conf conf = {
		.timeout_ms = 10000, .max_xfer = 16384, .twin_socket = twin,
	};
	static const struct dma_op none_tpl[] = {
		{ .cmd = VFIO_USER_DMA_READ, .addr = 0x1000, .count = 16 },
	};
	static const struct dma_op ops_tpl[] = {
		/* 0: in the window */
		{ .cmd = VFIO_USER_DMA_READ, .addr = 0x10000 + 100, .count = 32 },
		/* 1: straddling its end */
		{ .cmd = VFIO_USER_DMA_READ, .addr = 0x10000 + 8192 - 16, .count = 32 },
		/* 2: a write in it */
		{ .cmd = VFIO_USER_DMA_WRITE, .addr = 0x10000 + 200, .count = 8,
		  .data = "written!", .data_len = 8 },
		/* 3: a write to the read-only window */
		{ .cmd = VFIO_USER_DMA_WRITE, .addr = 0x20000, .count = 4,
		  .data = "nope", .data_len = 4 },
		/* 4: more than our max_data_xfer_size */
		{ .cmd = VFIO_USER_DMA_READ, .addr = 0x10000, .count = 20000 },
		/* 5: count says 8, 4 bytes of data come */
		{ .cmd = VFIO_USER_DMA_WRITE, .addr = 0x10000, .count = 8,
		  .data = "abcd", .data_len = 4 },
		/* 6: a payload too short for the request */
		{ .cmd = VFIO_USER_DMA_READ, .addr = 0x10000, .count = 8,
		  .size_adj = -8 },
		/* 7: wrapping around the address space */
		{ .cmd = VFIO_USER_DMA_READ, .addr = UINT64_MAX - 7, .count = 16 },
		/* 8: a command the client does not serve */
		{ .cmd = VFIO_USER_DEVICE_GET_INFO, .addr = 0, .count = 0 },
		/* 9: a write wanting no reply, then 10: read back */
		{ .cmd = VFIO_USER_DMA_WRITE, .flags = VFIO_USER_F_NO_REPLY,
		  .addr = 0x10000 + 300, .count = 5, .data = quiet, .data_len = 5 },
		{ .cmd = VFIO_USER_DMA_READ, .addr = 0x10000 + 300, .count = 5 },
		/* 11: a reply nobody asked for, ignored */
		{ .cmd = VFIO_USER_DMA_READ, .reply_type = true, .addr = 0x10000,
		  .count = 4 },
		/* 12: larger than any message may be */
		{ .cmd = VFIO_USER_DMA_WRITE, .addr = 0x10000, .count = 4,
		  .oversize = MAX_MSG + 64 },
		/* 13: nothing at all, in the window */
		{ .cmd = VFIO_USER_DMA_READ, .addr = 0x10000 + 10, .count = 0 },
		/* 14: the last byte of the read-only window */
		{ .cmd = VFIO_USER_DMA_READ, .addr = 0x20000 + 4095, .count = 1 },
	};
	/* static: the fake server thread may outlive a failed test */
	static struct dma_op none[RTE_DIM(none_tpl)], ops[RTE_DIM(ops_tpl)];
	const struct vfio_user_dma_access *a;
	struct rte_vfio_user_client *c;
	uint8_t *rw, *ro;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	int sv[2] = { -1, -1 };

	memcpy(none, none_tpl, sizeof(none));
	memcpy(ops, ops_tpl, sizeof(ops));
	rw = aligned_alloc(4096, 8192);
	ro = aligned_alloc(4096, 4096);
	assert_true(rw != NULL && ro != NULL);
	for (int i = 0; i < 8192; i++)
		rw[i] = (uint8_t)(i * 7);
	memset(ro, 0x5e, 4096);

	fake_start(&f, NULL);
	if (twin) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
					    sv), 0);
		f.v_json = "{\"capabilities\":{\"twin_socket\":"
			"{\"supported\":true,\"fd_index\":0}}}";
		f.v_fds[0] = sv[1];	/* closed by fake_stop */
		f.v_nfds = 1;
		f.dma_fd = sv[0];
	}
	fake_run(&f);
	c = attach(&f, &conf);

	/* nothing mapped: refused */
	f.ops = none;
	f.nops = RTE_DIM(none);
	assert_int_equal(rte_vfio_user_client_reset(c), 0);
	assert_true(none[0].got);
	assert_int_equal(none[0].rflags, VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR);
	assert_int_equal(none[0].rerrno, EFAULT);
	assert_int_equal(none[0].rsize, 0);

	assert_int_equal(rte_vfio_user_client_dma_map(c, 0x10000, 8192, rw, -1, 0,
			 VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE), 0);
	assert_int_equal(rte_vfio_user_client_dma_map(c, 0x20000, 4096, ro, -1, 0,
			 VFIO_USER_DMA_MAP_F_READ), 0);
	f.ops = ops;
	f.nops = RTE_DIM(ops);
	assert_int_equal(rte_vfio_user_client_reset(c), 0);

	assert_true(ops[0].got);
	assert_int_equal(ops[0].rflags, VFIO_USER_F_TYPE_REPLY);
	assert_int_equal(ops[0].rsize, 16 + 32);
	a = (const void *)ops[0].rdata;
	assert_int_equal(a->addr, 0x10000 + 100);
	assert_int_equal(a->count, 32);
	assert_memory_equal(a->data, rw + 100, 32);
	for (unsigned int i = 1; i < RTE_DIM(ops); i++) {
		uint32_t want = 0;

		switch (i) {
		case 1: case 3: case 7:
			want = EFAULT;
			break;
		case 4: case 5: case 6:
			want = EINVAL;
			break;
		case 8:
			want = ENOSYS;
			break;
		case 12:
			want = E2BIG;
			break;
		default:
			break;
		}
		if (i == 9 || i == 11) {
			assert_false(ops[i].got);	/* no reply, as asked */
			continue;
		}
		if (!ops[i].got)
			fail_msg("DMA request %u: no reply", i);
		if (want == 0) {
			assert_int_equal(ops[i].rflags, VFIO_USER_F_TYPE_REPLY);
			continue;
		}
		if (ops[i].rflags != (VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR) ||
		    ops[i].rerrno != want)
			fail_msg("DMA request %u: flags 0x%x errno %u, %u expected",
				 i, ops[i].rflags, ops[i].rerrno, want);
		assert_int_equal(ops[i].rsize, 0);
	}
	assert_memory_equal(rw + 200, "written!", 8);
	assert_int_equal(ro[0], 0x5e);
	a = (const void *)ops[2].rdata;
	assert_int_equal(a->addr, 0x10000 + 200);
	assert_int_equal(a->count, 8);
	a = (const void *)ops[10].rdata;
	assert_memory_equal(a->data, "quiet", 5);
	assert_int_equal(ops[13].rsize, 16);
	a = (const void *)ops[14].rdata;
	assert_int_equal(a->data[0], 0x5e);

	/* unmapped: refused again */
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, 0x10000, 8192), 0);
	none[0].addr = 0x10000;
	none[0].got = false;
	f.ops = none;
	f.nops = RTE_DIM(none);
	assert_int_equal(rte_vfio_user_client_reset(c), 0);
	assert_true(none[0].got);
	assert_int_equal(none[0].rerrno, EFAULT);
	assert_true(rte_vfio_user_client_connected(c));
	detach(c);
	fake_stop(&f);
	if (twin)
		close(sv[0]);
	free(rw);
	free(ro);
}

static void
test_dma_requests(void **state)
{
	(void)state;
	check_dma_requests(false);
	check_dma_requests(true);
}

/* ---- pipelined DMA_MAP (rte_vfio_user_client_dma_map_bulk) ---- */

#define BULK_N		300	/* more than one batch of 256 */
#define BULK_BATCH	256

/* The fake's view of a bulk map or unmap: it answers none of these until
 * it holds a whole batch (or all it expects), then answers them last
 * first. */
static struct {
	unsigned int expect_maps, expect_unmaps;
	uint64_t fail_addr;	/* the map of this iova gets EEXIST */
	uint64_t fail_unmap_addr;	/* the unmap of this one EINVAL */
	struct rc_held {
		uint16_t id, cmd;
		struct vfio_user_dma_unmap u;	/* addr: the map's too */
	} held[BULK_BATCH];
	unsigned int nheld, max_held;
	unsigned int maps, maps_with_fd;
	uint64_t unmapped[BULK_N];
	unsigned int unmaps;
} bulk;

static void
bulk_answer(struct fake *f, const struct rc_held *h)
{
	bool map = h->cmd == VFIO_USER_DMA_MAP;
	uint32_t err = map ? (h->u.addr == bulk.fail_addr ? EEXIST : 0) :
			     (h->u.addr == bulk.fail_unmap_addr ? EINVAL : 0);

	if (err)
		send_msg(f->rc.fd, h->id, h->cmd,
			 VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR, err, 0,
			 NULL, 0, 0, NULL, 0);
	else
		send_msg(f->rc.fd, h->id, h->cmd, VFIO_USER_F_TYPE_REPLY, 0, 0,
			 map ? NULL : &h->u, map ? 0 : sizeof(h->u), 0, NULL,
			 0);
}

static enum act
fn_bulk(struct fake *f, const struct rc_reply *req)
{
	struct rc_held *h = &bulk.held[bulk.nheld];
	bool full;

	if (bulk.nheld == BULK_BATCH ||
	    !((req->hdr.cmd == VFIO_USER_DMA_MAP &&
	       req->size >= sizeof(struct vfio_user_dma_map)) ||
	      (req->hdr.cmd == VFIO_USER_DMA_UNMAP &&
	       req->size >= sizeof(struct vfio_user_dma_unmap))))
		return answer_good(f, req);
	h->id = req->hdr.msg_id;
	h->cmd = req->hdr.cmd;
	if (h->cmd == VFIO_USER_DMA_MAP) {
		const struct vfio_user_dma_map *m = (const void *)req->payload;

		h->u = (struct vfio_user_dma_unmap){
			.argsz = sizeof(h->u),
			.addr = m->addr,
			.size = m->size,
		};
		bulk.maps++;
		bulk.maps_with_fd += req->nfds == 1;
		full = bulk.maps == bulk.expect_maps;
	} else {
		memcpy(&h->u, req->payload, sizeof(h->u));
		if (bulk.unmaps < BULK_N)
			bulk.unmapped[bulk.unmaps] = h->u.addr;
		bulk.unmaps++;
		full = bulk.unmaps == bulk.expect_unmaps;
	}
	bulk.nheld++;
	bulk.max_held = RTE_MAX(bulk.max_held, bulk.nheld);
	if (bulk.nheld < BULK_BATCH && !full)
		return A_CONT;
	while (bulk.nheld > 0)
		bulk_answer(f, &bulk.held[--bulk.nheld]);
	return A_CONT;
}

/* BULK_N regions of one memfd, a page each, 1 MiB apart. */
static struct rte_vfio_user_client_dma_region *
bulk_regions(int fd)
{
	struct rte_vfio_user_client_dma_region *r = calloc(BULK_N, sizeof(*r));

	assert_non_null(r);
	for (unsigned int i = 0; i < BULK_N; i++)
		r[i] = (struct rte_vfio_user_client_dma_region){
			.iova = 0x10000000 + (uint64_t)i * 0x100000,
			.size = 4096,
			.fd = fd,
			.fd_offset = (uint64_t)i * 4096,
			.prot = VFIO_USER_DMA_MAP_F_READ,
		};
	return r;
}

/*
 * A bulk map (and unmap) sends a whole batch before it waits: a server
 * that answers nothing until it holds 256 requests (a client waiting for
 * each reply would time out), then answers them last first (replies are
 * matched by id). A map the server refuses undoes the others of the call;
 * an unmap it refuses stops none of the others.
 */
static void
test_dma_map_bulk_pipelined(void **state)
{
	struct rte_vfio_user_client_dma_region *r;
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	int fd = memfd_create("bulk", MFD_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, BULK_N * 4096), 0);
	r = bulk_regions(fd);

	memset(&bulk, 0, sizeof(bulk));
	bulk.expect_maps = BULK_N;
	bulk.expect_unmaps = BULK_N;
	bulk.fail_unmap_addr = r[5].iova;
	fake_start(&f, fn_bulk);
	fake_run(&f);
	c = attach(&f, NULL);
	assert_int_equal(rte_vfio_user_client_dma_map_bulk(c, r, BULK_N), 0);
	assert_int_equal(bulk.maps, BULK_N);
	assert_int_equal(bulk.maps_with_fd, BULK_N);
	assert_int_equal(bulk.max_held, BULK_BATCH);
	assert_int_equal(bulk.unmaps, 0);
	/* nothing to map; an entry with neither fd nor address: nothing sent */
	assert_int_equal(rte_vfio_user_client_dma_map_bulk(c, r, 0), 0);
	r[7].fd = -1;
	assert_int_equal(rte_vfio_user_client_dma_map_bulk(c, r, BULK_N),
			 -EINVAL);
	r[7].fd = fd;
	assert_int_equal(bulk.maps, BULK_N);
	/* the unmaps, pipelined too; the refused 6th stops none of the rest */
	bulk.max_held = 0;
	assert_int_equal(rte_vfio_user_client_dma_unmap_bulk(c, r, BULK_N),
			 -EINVAL);
	assert_int_equal(bulk.unmaps, BULK_N);
	assert_int_equal(bulk.max_held, BULK_BATCH);
	for (unsigned int i = 0; i < BULK_N; i++)
		assert_int_equal(bulk.unmapped[i], r[i].iova);
	detach(c);
	fake_stop(&f);

	/* the 101st map of the first batch refused: the other 255 undone
	 * (pipelined), the second batch never sent */
	memset(&bulk, 0, sizeof(bulk));
	bulk.expect_maps = BULK_N;
	bulk.expect_unmaps = BULK_BATCH - 1;
	bulk.fail_addr = r[100].iova;
	fake_start(&f, fn_bulk);
	fake_run(&f);
	c = attach(&f, NULL);
	assert_int_equal(rte_vfio_user_client_dma_map_bulk(c, r, BULK_N),
			 -EEXIST);
	assert_int_equal(bulk.maps, BULK_BATCH);
	assert_int_equal(bulk.unmaps, BULK_BATCH - 1);
	for (unsigned int i = 0, j = 0; i < BULK_BATCH; i++) {
		if (i == 100)
			continue;
		assert_int_equal(bulk.unmapped[j++], r[i].iova);
	}
	detach(c);
	fake_stop(&f);
	free(r);
	close(fd);
}

/* A slow server: 20 ms per map, in order, each answered at once. */
static enum act
fn_slow_maps(struct fake *f, const struct rc_reply *req)
{
	if (req->hdr.cmd == VFIO_USER_DMA_MAP) {
		rc_sleep_ms(20);
		bulk.maps++;
	}
	return answer_good(f, req);
}

/*
 * A bulk call against a server that works through it slowly but steadily:
 * 40 maps of 20 ms each are 800 ms, more than the 300 ms timeout, yet no
 * request waits 300 ms without a reply coming: none times out (each used
 * to count its timeout from its own send).
 */
static void
test_dma_map_bulk_slow_server(void **state)
{
	enum {
		N = 40
	};
	struct rte_vfio_user_client_dma_region *r;
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	int fd = memfd_create("bulk", MFD_CLOEXEC);
	uint64_t t0;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, BULK_N * 4096), 0);
	r = bulk_regions(fd);
	memset(&bulk, 0, sizeof(bulk));
	fake_start(&f, fn_slow_maps);
	fake_run(&f);
	c = attach(&f, NULL);
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_dma_map_bulk(c, r, N), 0);
	assert_true(rc_now_ms() - t0 >= N * 20);
	assert_int_equal(bulk.maps, N);
	detach(c);
	fake_stop(&f);
	free(r);
	close(fd);
}

/* ---- pipelined REGION_READ/WRITE (region_access_bulk) ---- */

#define ACC_N 40

/* The fake holds region accesses until it has acc.expect of them, then
 * answers them all in order: a read with bytes that say where they are,
 * a write with its echo; one read (bad_id) with a wrong count. */
static struct {
	unsigned int expect, nheld, max_held, writes;
	struct {
		uint16_t id, cmd;
		struct vfio_user_region_access a;
	} held[ACC_N];
	int bad_at;		/* the access answered wrongly, or -1 */
} acc;

static enum act
fn_access_held(struct fake *f, const struct rc_reply *req)
{
	if ((req->hdr.cmd != VFIO_USER_REGION_READ &&
	     req->hdr.cmd != VFIO_USER_REGION_WRITE) ||
	    req->size < sizeof(struct vfio_user_region_access) ||
	    acc.nheld == ACC_N)
		return answer_good(f, req);
	acc.held[acc.nheld].id = req->hdr.msg_id;
	acc.held[acc.nheld].cmd = req->hdr.cmd;
	memcpy(&acc.held[acc.nheld].a, req->payload,
	       sizeof(struct vfio_user_region_access));
	acc.writes += req->hdr.cmd == VFIO_USER_REGION_WRITE;
	acc.max_held = RTE_MAX(acc.max_held, ++acc.nheld);
	if (acc.nheld < acc.expect)
		return A_CONT;
	for (unsigned int i = 0; i < acc.nheld; i++) {
		struct vfio_user_region_access *a = &acc.held[i].a;
		uint8_t buf[sizeof(*a) + 8];

		if (acc.held[i].cmd == VFIO_USER_REGION_WRITE) {
			send_msg(f->rc.fd, acc.held[i].id, acc.held[i].cmd,
				 VFIO_USER_F_TYPE_REPLY, 0, 0, a, sizeof(*a), 0,
				 NULL, 0);
			continue;
		}
		for (uint32_t k = 0; k < a->count && k < 8; k++)
			buf[sizeof(*a) + k] = (uint8_t)(a->offset + k);
		if ((int)i == acc.bad_at)
			a->count--;
		memcpy(buf, a, sizeof(*a));
		send_msg(f->rc.fd, acc.held[i].id, acc.held[i].cmd,
			 VFIO_USER_F_TYPE_REPLY, 0, 0, buf,
			 (uint32_t)sizeof(*a) + a->count, 0, NULL, 0);
	}
	acc.nheld = 0;
	return A_CONT;
}

/*
 * A bulk access sends all before it waits: a server that answers nothing
 * until it holds all 40 (a client waiting for each reply would hang
 * there and time out) gets them all; the reads get their bytes. A reply
 * that does not match its read is -EPROTO, with the index.
 */
static void
test_region_access_bulk_pipelined(void **state)
{
	struct rte_vfio_user_client_access a[ACC_N];
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	uint64_t v[ACC_N];
	uint32_t failed;

	(void)state;
	for (unsigned int i = 0; i < ACC_N; i++) {
		v[i] = i % 2 ? 0 : 0x1122334455667788ull;
		a[i] = (struct rte_vfio_user_client_access){
			.offset = 0x10 * i,
			.buf = &v[i],
			.region = 0,
			.len = 8,
			.write = i % 2 == 0,
		};
	}
	memset(&acc, 0, sizeof(acc));
	acc.expect = ACC_N;
	acc.bad_at = -1;
	fake_start(&f, fn_access_held);
	fake_run(&f);
	c = attach(&f, NULL);
	assert_int_equal(rte_vfio_user_client_region_access_bulk(c, a, ACC_N,
								 &failed),
			 0);
	assert_int_equal(acc.max_held, ACC_N);
	assert_int_equal(acc.writes, ACC_N / 2);
	for (unsigned int i = 1; i < ACC_N; i += 2)
		for (unsigned int k = 0; k < 8; k++)
			assert_int_equal(((uint8_t *)&v[i])[k],
					 (uint8_t)(0x10 * i + k));
	/* the 6th access (a read) answered with a short count */
	memset(&acc, 0, sizeof(acc));
	acc.expect = 10;
	acc.bad_at = 5;
	assert_int_equal(rte_vfio_user_client_region_access_bulk(c, a, 10,
								 &failed),
			 -EPROTO);
	assert_int_equal(failed, 5);
	assert_int_equal(acc.max_held, 10);
	assert_true(rte_vfio_user_client_connected(c));
	detach(c);
	fake_stop(&f);
}

/* The first map held 100 ms before the server reads on: the client's
 * fds pile up in flight meanwhile. */
static enum act
fn_first_map_late(struct fake *f, const struct rc_reply *req)
{
	if (req->hdr.cmd == VFIO_USER_DMA_MAP) {
		if (bulk.maps++ == 0)
			rc_sleep_ms(100);
		bulk.maps_with_fd += req->nfds == 1;
	}
	return answer_good(f, req);
}

/*
 * An unprivileged client whose fds in flight reach its RLIMIT_NOFILE (a
 * server slow to read a pipelined bulk map, or other servers slow to
 * read theirs): the kernel refuses the next fd for a while (ETOOMANYREFS).
 * The map waits for the server to take some and goes on; it used to fail
 * and leave the connection dead.
 */
static void
test_dma_map_bulk_fd_limit(void **state)
{
	struct rte_vfio_user_client_dma_region *r;
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	static struct fi_limit lim;
	int fd = memfd_create("bulk", MFD_CLOEXEC), got;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, BULK_N * 4096), 0);
	r = bulk_regions(fd);
	memset(&bulk, 0, sizeof(bulk));
	fake_start(&f, fn_first_map_late);
	fake_run(&f);
	c = attach(&f, NULL);

	got = fi_limit_begin(&lim, 32);
	assert_true(got >= 0);
	if (got == 0) {
		print_message("kernel does not limit fds in flight here: "
			      "nothing to test\n");
	} else {
		cur_limit = &lim;
		print_message("RLIMIT_NOFILE %u, room for 32 fds in flight, "
			      "%u maps pipelined\n",
			      lim.limit, BULK_N);
		assert_int_equal(rte_vfio_user_client_dma_map_bulk(c, r,
								   BULK_N),
				 0);
		fi_limit_end(&lim);
		cur_limit = NULL;
		assert_int_equal(bulk.maps, BULK_N);
		assert_int_equal(bulk.maps_with_fd, BULK_N);
		/* the connection still serves */
		assert_int_equal(rte_vfio_user_client_dma_unmap_bulk(c, r,
								     BULK_N),
				 0);
	}
	detach(c);
	fake_stop(&f);
	free(r);
	close(fd);
}

/* The first REGION_WRITE held 300 ms before the server reads on. */
static enum act
fn_first_write_late(struct fake *f, const struct rc_reply *req)
{
	if (req->hdr.cmd == VFIO_USER_REGION_WRITE) {
		if (bulk.unmaps++ == 0)	/* (here: writes seen) */
			rc_sleep_ms(300);
		return A_CONT;		/* posted: no reply */
	}
	if (req->hdr.cmd == VFIO_USER_DMA_MAP) {
		bulk.maps++;
		bulk.maps_with_fd += req->nfds == 1;
	}
	return answer_good(f, req);
}

static void *
give_room_later(void *arg)
{
	/* well after the server read the writes (from 300 ms): the old code
	 * had flushed the queued map into the refusal by then */
	rc_sleep_ms(1500);
	fi_limit_give(arg, 4);
	return NULL;
}

/*
 * A DMA_MAP with its fd behind queued output (posted writes the server
 * is slow to read), while the kernel refuses the user's fds (in flight
 * at RLIMIT_NOFILE) until 1.5 s later. The map waits for the queue to
 * drain, then for room, and goes. It used to be queued behind the writes,
 * and the queue's flush, refused, failed the connection for good.
 */
static void
test_dma_map_queued_fd_limit(void **state)
{
	struct rte_vfio_user_client_conf conf = { .timeout_ms = 5000 };
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	static struct fi_limit lim;
	uint8_t *big = calloc(1, 1 << 20);
	int fd = memfd_create("queued", MFD_CLOEXEC), got;
	pthread_t t;

	(void)state;
	assert_non_null(big);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	memset(&bulk, 0, sizeof(bulk));
	fake_start(&f, fn_first_write_late);
	fake_run(&f);
	c = attach(&f, &conf);
	got = fi_limit_begin(&lim, 0);
	assert_true(got >= 0);
	if (got == 0) {
		print_message("kernel does not limit fds in flight here: "
			      "nothing to test\n");
	} else {
		cur_limit = &lim;
		/* 2 MiB posted: the socket takes some, the rest is queued */
		assert_int_equal(rte_vfio_user_client_region_write(c, 0, 0, big,
								   1 << 20,
								   true),
				 0);
		assert_int_equal(rte_vfio_user_client_region_write(c, 0, 0, big,
								   1 << 20,
								   true),
				 0);
		assert_int_equal(pthread_create(&t, NULL, give_room_later,
						&lim),
				 0);
		assert_int_equal(rte_vfio_user_client_dma_map(
					 c, 0x100000, 4096, NULL, fd, 0,
					 VFIO_USER_DMA_MAP_F_READ),
				 0);
		pthread_join(t, NULL);
		fi_limit_end(&lim);
		cur_limit = NULL;
		assert_int_equal(bulk.maps, 1);
		assert_int_equal(bulk.maps_with_fd, 1);
		assert_true(rte_vfio_user_client_connected(c));
		assert_int_equal(rte_vfio_user_client_dma_unmap(c, 0x100000,
								4096),
				 0);
	}
	detach(c);
	fake_stop(&f);
	free(big);
	close(fd);
}

/* Each REGION_WRITE read 2 ms late: a slow reader. */
static enum act
fn_slow_writes(struct fake *f, const struct rc_reply *req)
{
	if (req->hdr.cmd == VFIO_USER_REGION_WRITE) {
		rc_sleep_ms(2);
		return A_CONT;		/* posted */
	}
	if (req->hdr.cmd == VFIO_USER_DMA_MAP)
		bulk.maps++;
	return answer_good(f, req);
}

static struct {
	struct rte_vfio_user_client *c;
	bool stop;
	unsigned int posted, refused;
} poster;

static void *
post_writes(void *arg)
{
	static uint8_t buf[64 * 1024];

	(void)arg;
	while (!__atomic_load_n(&poster.stop, __ATOMIC_ACQUIRE)) {
		int r = rte_vfio_user_client_region_write(poster.c, 0, 0, buf,
							  sizeof(buf), true);

		if (r == 0)
			poster.posted++;
		else if (r == -ENOBUFS)
			poster.refused++;
		else
			break;
	}
	return NULL;
}

/*
 * A request with an fd waits for the output queue to drain before it
 * goes; another thread posting writes all the while, to a server that
 * reads them slowly, kept the queue from ever draining: the map timed out
 * (after 1 s, the server and socket fine). Posted requests are refused
 * (-ENOBUFS) while it waits now.
 */
static void
test_fd_request_not_starved(void **state)
{
	struct rte_vfio_user_client_conf conf = { .timeout_ms = 1000 };
	static struct fake f;	/* outlives a failed test: see test_teardown */
	int fd = memfd_create("starved", MFD_CLOEXEC);
	uint64_t t0;
	pthread_t t;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	memset(&bulk, 0, sizeof(bulk));
	memset(&poster, 0, sizeof(poster));
	fake_start(&f, fn_slow_writes);
	fake_run(&f);
	poster.c = attach(&f, &conf);
	assert_int_equal(pthread_create(&t, NULL, post_writes, NULL), 0);
	rc_sleep_ms(200);	/* the queue full of writes */
	t0 = rc_now_ms();
	assert_int_equal(rte_vfio_user_client_dma_map(poster.c, 0x100000, 4096,
						      NULL, fd, 0,
						      VFIO_USER_DMA_MAP_F_READ),
			 0);
	print_message("map behind a busy queue: %" PRIu64 " ms, %u writes "
		      "posted, %u refused\n",
		      rc_now_ms() - t0, poster.posted, poster.refused);
	__atomic_store_n(&poster.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	assert_int_equal(bulk.maps, 1);
	detach(poster.c);
	fake_stop(&f);
	close(fd);
}

/* The fake: at the first REGION_WRITE, it reads nothing for 500 ms (the
 * client's queue fills with posted writes), sends a DMA_READ, reads
 * nothing for 300 ms more, then everything until its reply came (3 s at
 * most). */
static struct {
	uint16_t id;
	bool got;
} dma_behind;

static enum act
fn_dma_behind_full_queue(struct fake *f, const struct rc_reply *req)
{
	struct vfio_user_dma_access a = { .addr = 0x1000, .count = 16 };
	uint64_t end;

	if (req->hdr.cmd != VFIO_USER_REGION_WRITE)
		return answer_good(f, req);
	if (dma_behind.id != 0)
		return A_CONT;
	rc_sleep_ms(500);
	dma_behind.id = 0x6000;
	send_msg(f->rc.fd, dma_behind.id, VFIO_USER_DMA_READ,
		 VFIO_USER_F_TYPE_COMMAND, 0, 0, &a, sizeof(a), 0, NULL, 0);
	rc_sleep_ms(300);	/* the client answers while its queue is full */
	end = rc_now_ms() + 3000;
	while (rc_now_ms() < end && !dma_behind.got) {
		struct rc_reply r;

		if (rc_recv(&f->rc, &r, 500) == 0 &&
		    (r.hdr.flags & VFIO_USER_F_TYPE_MASK) ==
			    VFIO_USER_F_TYPE_REPLY &&
		    r.hdr.msg_id == dma_behind.id)
			__atomic_store_n(&dma_behind.got, true,
					 __ATOMIC_RELEASE);
		rc_reply_free(&r);
	}
	return A_CONT;
}

/*
 * The server's DMA_READ comes while the client's queue is full of its own
 * posted writes: its reply (an error here: nothing is mapped) must go,
 * however full the queue. It was dropped (-ENOBUFS, unlogged) once the
 * client read on while its own requests filled the queue (1559b48).
 */
static void
test_dma_reply_behind_full_queue(void **state)
{
	static uint8_t buf[64 * 1024];
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	unsigned int posted = 0;
	uint64_t end;
	int r;

	(void)state;
	memset(&dma_behind, 0, sizeof(dma_behind));
	fake_start(&f, fn_dma_behind_full_queue);
	fake_run(&f);
	c = attach(&f, NULL);
	while ((r = rte_vfio_user_client_region_write(c, 0, 0, buf, sizeof(buf),
						      true)) == 0)
		posted++;
	assert_int_equal(r, -ENOBUFS);
	end = rc_now_ms() + 5000;
	while (!__atomic_load_n(&dma_behind.got, __ATOMIC_ACQUIRE) &&
	       rc_now_ms() < end)
		rc_sleep_ms(10);
	print_message("%u x 64 KiB posted; the reply to the server's "
		      "DMA_READ: %s\n",
		      posted, dma_behind.got ? "sent" : "dropped");
	assert_true(dma_behind.got);
	detach(c);
	fake_stop(&f);
}

/* The process's CPU time over ms milliseconds of sleep. */
static uint64_t
cpu_ms_while_sleeping(unsigned int ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	rc_sleep_ms(ms);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	return (uint64_t)(b.tv_sec - a.tv_sec) * 1000 +
	       (uint64_t)((b.tv_nsec - a.tv_nsec) / 1000000);
}

/*
 * Once queued output drained, the event thread no longer watches for
 * EPOLLOUT: the socket stays writable and, level-triggered, woke it
 * without pause (a CPU burnt until the next request).
 */
static void
test_no_spin_after_drain(void **state)
{
	struct rte_vfio_user_client *c;
	static struct fake f;	/* outlives a failed test: see test_teardown */
	uint8_t *big = calloc(1, 1 << 20);
	uint64_t busy;

	(void)state;
	assert_non_null(big);
	memset(&bulk, 0, sizeof(bulk));
	fake_start(&f, fn_first_write_late);
	fake_run(&f);
	c = attach(&f, NULL);
	/* 1 MiB posted: partly queued until the server reads, 300 ms on */
	assert_int_equal(rte_vfio_user_client_region_write(c, 0, 0, big,
							   1 << 20, true),
			 0);
	rc_sleep_ms(1000);	/* drained */
	busy = cpu_ms_while_sleeping(500);
	print_message("CPU time over 500 ms idle after the drain: %" PRIu64
		      " ms\n",
		      busy);
	assert_true(busy < 150);
	detach(c);
	fake_stop(&f);
	free(big);
}

/* Last: no fd left behind by all of the above. */
static void
test_no_fd_leak(void **state)
{
	char path[128];
	int id;

	(void)state;
	/* the event thread's epoll and wake fds live until the last device
	 * of the process is unregistered: register one and drop it */
	snprintf(path, sizeof(path), "%s/dummy.sock", tmpdir);
	id = rte_vfio_user_register(path, NULL, NULL);
	assert_true(id >= 0);
	assert_int_equal(rte_vfio_user_unregister(id), 0);
	assert_int_equal(fds_settle(fds_at_start), fds_at_start);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* first: a test before it may leave the event thread busy
		 * enough to hide the spin it looks for */
		cmocka_unit_test_teardown(test_no_spin_after_drain,
					  test_teardown),
		cmocka_unit_test_teardown(test_version_good, test_teardown),
		cmocka_unit_test_teardown(test_version_bad, test_teardown),
		cmocka_unit_test_teardown(test_version_silent_or_closed, test_teardown),
		cmocka_unit_test_teardown(test_truncated_stall, test_teardown),
		cmocka_unit_test_teardown(test_closed_mid_reply, test_teardown),
		cmocka_unit_test_teardown(test_lost_seen_by_send,
					  test_teardown),
		cmocka_unit_test_teardown(test_never_replies, test_teardown),
		cmocka_unit_test_teardown(test_flood_of_stray_replies,
					  test_teardown),
		cmocka_unit_test_teardown(test_wrong_or_late_reply, test_teardown),
		cmocka_unit_test_teardown(test_error_reply, test_teardown),
		cmocka_unit_test_teardown(test_oversized_and_undersized, test_teardown),
		cmocka_unit_test_teardown(test_malformed_replies, test_teardown),
		cmocka_unit_test_teardown(test_region_caps, test_teardown),
		cmocka_unit_test_teardown(test_dma_requests, test_teardown),
		cmocka_unit_test_teardown(test_dma_map_bulk_pipelined,
					  test_teardown),
		cmocka_unit_test_teardown(test_dma_map_bulk_slow_server,
					  test_teardown),
		cmocka_unit_test_teardown(test_region_access_bulk_pipelined,
					  test_teardown),
		cmocka_unit_test_teardown(test_dma_map_bulk_fd_limit,
					  test_teardown),
		cmocka_unit_test_teardown(test_dma_map_queued_fd_limit,
					  test_teardown),
		cmocka_unit_test_teardown(test_fd_request_not_starved,
					  test_teardown),
		cmocka_unit_test_teardown(test_dma_reply_behind_full_queue,
					  test_teardown),
		cmocka_unit_test_teardown(test_no_fd_leak, test_teardown),
	};

	/* VU_TEST_FILTER=NAME (a cmocka pattern) runs some tests only */
	if (getenv("VU_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("VU_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
