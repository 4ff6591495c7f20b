/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mem_region.h"
#include "mt_common.h"

#define F_SC RTE_VFIO_USER_MIG_F_STOP_COPY
#define F_P2P RTE_VFIO_USER_MIG_F_P2P
#define F_PRE RTE_VFIO_USER_MIG_F_PRE_COPY

struct mt_dev mt_sc = { .name = "sc", .flags = F_SC };
struct mt_dev mt_p2p = { .name = "p2p", .flags = F_SC | F_P2P };
struct mt_dev mt_pre = { .name = "pre", .flags = F_SC | F_PRE };
struct mt_dev mt_all = { .name = "all", .flags = F_SC | F_P2P | F_PRE };
struct mt_dev mt_none = { .name = "none", .flags = 0 };
struct mt_dev *const mt_devs[MT_NDEV] = {
	&mt_sc, &mt_p2p, &mt_pre, &mt_all, &mt_none,
};

static char mt_dir[96];

uint64_t
mt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the device model ---- */

static struct mt_dev *
dev_of(int dev_id)
{
	return rte_vfio_user_get_priv(dev_id);
}

static void
cb_destroy(int dev_id)
{
	__atomic_add_fetch(&dev_of(dev_id)->destroy_count, 1, __ATOMIC_RELEASE);
}

static ssize_t
cfg_access(int dev_id, void *priv, char *buf, size_t count, uint64_t off,
	   bool is_write)
{
	struct mt_dev *d = priv;

	(void)dev_id;
	return tc_mem_access(d->config, sizeof(d->config), buf, count, off,
			  is_write);
}

static ssize_t
bar0_access(int dev_id, void *priv, char *buf, size_t count, uint64_t off,
	    bool is_write)
{
	struct mt_dev *d = priv;

	(void)dev_id;
	return tc_mem_access(d->bar0, sizeof(d->bar0), buf, count, off,
			     is_write);
}

static void
log_arc(struct mt_dev *d, uint32_t from, uint32_t to, bool ok)
{
	int n = __atomic_load_n(&d->narcs, __ATOMIC_ACQUIRE);

	if (n < MT_MAX_ARCS) {
		d->arcs[n] = (struct mt_arc){
			(uint8_t)from, (uint8_t)to, ok,
			__atomic_load_n(&d->destroy_count, __ATOMIC_ACQUIRE)
		};
		__atomic_store_n(&d->narcs, n + 1, __ATOMIC_RELEASE);
	}
}

static int
mig_state_change(int dev_id, enum rte_vfio_user_mig_state from,
		 enum rte_vfio_user_mig_state to)
{
	struct mt_dev *d = dev_of(dev_id);

	if (from != d->cur && from != RTE_VFIO_USER_MIG_ERROR) {
		/* the library lost track: fails the test's arc checks */
		log_arc(d, 0xff, 0xff, false);
	}
	if (((int)to == d->fail_to || (int)to == d->fail_to2) &&
	    d->fail_times > 0) {
		d->fail_times--;
		log_arc(d, from, to, false);
		return -EIO;
	}
	if (from == RTE_VFIO_USER_MIG_RESUMING &&
	    to == RTE_VFIO_USER_MIG_STOP &&
	    (d->load_bad ||
	     d->load_pos != (uint64_t)d->pre_len + d->stop_len)) {
		/* what was loaded is incomplete or wrong: refused */
		log_arc(d, from, to, false);
		return -EINVAL;
	}
	if (!mt_saving(from) && mt_saving(to))
		d->save_pos = 0;
	if (to == RTE_VFIO_USER_MIG_RESUMING) {
		d->load_pos = 0;
		d->load_bad = false;
	}
	log_arc(d, from, to, true);
	d->cur = to;
	return 0;
}

static ssize_t
mig_save(int dev_id, void *buf, size_t len)
{
	struct mt_dev *d = dev_of(dev_id);
	uint64_t limit, n;

	if (!mt_saving(d->cur))
		return -EPROTO;	/* the library must not ask */
	limit = d->cur == RTE_VFIO_USER_MIG_STOP_COPY ?
			(uint64_t)d->pre_len + d->stop_len :
			d->pre_len;
	n = limit > d->save_pos ? limit - d->save_pos : 0;
	if (n > len)
		n = len;
	if (d->save_max != 0 && n > d->save_max)
		n = d->save_max;
	for (uint64_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = mt_pattern(d->save_pos + i);
	d->save_pos += n;
	return (ssize_t)n;
}

static int
mig_load(int dev_id, const void *buf, size_t len)
{
	struct mt_dev *d = dev_of(dev_id);
	const uint8_t *p = buf;

	if (d->cur != RTE_VFIO_USER_MIG_RESUMING) {
		d->load_bad = true;
		return -EPROTO;
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] != mt_pattern(d->load_pos + i)) {
			d->load_bad = true;
			return -EBADMSG;
		}
	}
	d->load_pos += len;
	if (d->load_pos > (uint64_t)d->pre_len + d->stop_len) {
		d->load_bad = true;
		return -EFBIG;
	}
	return 0;
}

static const struct rte_vfio_user_notify_ops mt_ops = {
	.destroy_device = cb_destroy,
};

void
mt_arcs_clear(struct mt_dev *d)
{
	__atomic_store_n(&d->narcs, 0, __ATOMIC_RELEASE);
}

void
mt_dev_reset_knobs(struct mt_dev *d)
{
	d->fail_to = -1;
	d->fail_to2 = -1;
	d->fail_times = 0;
	d->pre_len = 3000;
	d->stop_len = 200000;
	d->save_max = 0;
	mt_arcs_clear(d);
}

static int
dev_create(struct mt_dev *d)
{
	struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = VFIO_USER_PCI_NUM_REGIONS,
		.num_irqs = 0,
	};
	struct rte_vfio_user_region cfg = {
		.size = sizeof(d->config),
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = cfg_access,
		.priv = d,
		.mmap_fd = -1,
	};
	struct rte_vfio_user_region bar = {
		.size = sizeof(d->bar0),
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = bar0_access,
		.priv = d,
		.mmap_fd = -1,
	};
	struct rte_vfio_user_mig_ops mops = {
		.flags = d->flags,
		.state_change = mig_state_change,
		.save = mig_save,
		.load = mig_load,
	};
	int ret;

	d->cur = RTE_VFIO_USER_MIG_RUNNING;
	mt_dev_reset_knobs(d);
	snprintf(d->path, sizeof(d->path), "%s/%s.sock", mt_dir, d->name);
	d->id = rte_vfio_user_register(d->path, &mt_ops, d);
	if (d->id < 0)
		return d->id;
	ret = rte_vfio_user_set_dev_info(d->id, &info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(d->id, 0, &bar);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(
			d->id, VFIO_USER_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret == 0 && d->flags != 0)
		ret = rte_vfio_user_set_mig_ops(d->id, &mops);
	if (ret == 0)
		ret = rte_vfio_user_start(d->id);
	return ret;
}

static void
watchdog(int sig)
{
	static const char msg[] = "migration: watchdog expired, test hung\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

int
mt_server_setup(void)
{
	const char *root = getenv("VU_TEST_BUILD_ROOT");

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog);
	if (root == NULL || strlen(root) > 60)
		root = "/tmp";
	snprintf(mt_dir, sizeof(mt_dir), "%s/mt-XXXXXX", root);
	if (mkdtemp(mt_dir) == NULL)
		return -1;
	for (int i = 0; i < MT_NDEV; i++)
		if (dev_create(mt_devs[i]) != 0)
			return -1;
	return 0;
}

void
mt_server_teardown(void)
{
	for (int i = 0; i < MT_NDEV; i++)
		if (mt_devs[i]->id >= 0)
			rte_vfio_user_unregister(mt_devs[i]->id);
	rmdir(mt_dir);
}

int
mt_test_setup(void **state)
{
	(void)state;
	for (int i = 0; i < MT_NDEV; i++)
		mt_dev_reset_knobs(mt_devs[i]);
	alarm(120);
	return 0;
}

/* The connections mt_open() made and mt_close() did not close: a test
 * that failed half-way leaves them, which the teardown closes, so that
 * the next test finds every device free (not a cascade of failures). */
static int mt_open_fds[8];
static int mt_nopen;

int
mt_test_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < mt_nopen; i++)
		close(mt_open_fds[i]);
	if (mt_nopen > 0)
		for (int i = 0; i < MT_NDEV; i++)
			(void)MT_WAIT(rte_vfio_user_is_connected(
					      mt_devs[i]->id) != 1,
				      5000);
	mt_nopen = 0;
	alarm(0);
	return 0;
}

static void
open_fd_forget(int fd)
{
	for (int i = 0; i < mt_nopen; i++)
		if (mt_open_fds[i] == fd) {
			mt_open_fds[i] = mt_open_fds[--mt_nopen];
			return;
		}
}

/* ---- protocol helpers ---- */

void
mt_open(struct rc *c, struct mt_dev *d, const char *json)
{
	assert_int_equal(rc_connect(c, d->path, 2000), 0);
	if (mt_nopen < (int)(sizeof(mt_open_fds) / sizeof(mt_open_fds[0])))
		mt_open_fds[mt_nopen++] = c->fd;
	assert_int_equal(rc_negotiate(c, json, NULL), 0);
	assert_true(MT_WAIT(rte_vfio_user_is_connected(d->id) == 1, 2000));
}

void
mt_close(struct rc *c, struct mt_dev *d)
{
	int before = __atomic_load_n(&d->destroy_count, __ATOMIC_ACQUIRE);

	open_fd_forget(c->fd);
	rc_close(c);
	assert_true(MT_WAIT(__atomic_load_n(&d->destroy_count,
					    __ATOMIC_ACQUIRE) > before &&
				    rte_vfio_user_is_connected(d->id) == 0,
			    5000));
	/* the state goes back to RUNNING once the client is gone */
	if (d->flags != 0)
		assert_true(MT_WAIT(rte_vfio_user_get_mig_state(d->id) ==
					    RTE_VFIO_USER_MIG_RUNNING,
				    2000));
}

int
mt_feature(struct rc *c, uint32_t argsz, uint32_t flags, const void *data,
	   uint32_t len, struct rc_reply *r)
{
	uint8_t *buf = calloc(1, sizeof(struct vfio_user_device_feature) + len);
	struct vfio_user_device_feature *f = (void *)buf;
	struct rc_reply local;
	int ret;

	assert_non_null(buf);
	f->argsz = argsz ? argsz : (uint32_t)(sizeof(*f) + len);
	f->flags = flags;
	if (len > 0)
		memcpy(f->data, data, len);
	ret = rc_call(c, VFIO_USER_DEVICE_FEATURE, buf,
		      (uint32_t)(sizeof(*f) + len), NULL, 0, r ? r : &local);
	if (r == NULL)
		rc_reply_free(&local);
	free(buf);
	return ret;
}

int
mt_set_state(struct rc *c, uint32_t state)
{
	struct vfio_user_device_feature_mig_state st = { state, UINT32_MAX };
	struct rc_reply r;
	int ret;

	ret = mt_feature(c, 0,
			 VFIO_USER_DEVICE_FEATURE_SET |
				 VFIO_USER_FEATURE_MIG_DEVICE_STATE,
			 &st, sizeof(st), &r);
	if (ret == 0) {
		/* the reply is the request */
		assert_int_equal(r.size,
				 sizeof(struct vfio_user_device_feature) +
					 sizeof(st));
		assert_memory_equal(r.payload + 8, &st, sizeof(st));
	}
	rc_reply_free(&r);
	return ret;
}

uint32_t
mt_get_state(struct rc *c)
{
	struct vfio_user_device_feature_mig_state st;
	struct rc_reply r;

	assert_int_equal(mt_feature(c,
				    sizeof(struct vfio_user_device_feature) +
					    sizeof(st),
				    VFIO_USER_DEVICE_FEATURE_GET |
					    VFIO_USER_FEATURE_MIG_DEVICE_STATE,
				    NULL, 0, &r),
			 0);
	assert_int_equal(r.size,
			 sizeof(struct vfio_user_device_feature) + sizeof(st));
	memcpy(&st, r.payload + 8, sizeof(st));
	rc_reply_free(&r);
	return st.device_state;
}

int
mt_reset(struct rc *c)
{
	return rc_call(c, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0, NULL);
}

int
mt_region_rw(struct rc *c, uint32_t region, uint64_t off, void *buf,
	     uint32_t count, bool write)
{
	uint8_t msg[sizeof(struct vfio_user_region_access) + 65536];
	struct vfio_user_region_access *a = (void *)msg;
	struct rc_reply r;
	int ret;

	assert_true(count <= 65536);
	a->offset = off;
	a->region = region;
	a->count = count;
	if (write)
		memcpy(a->data, buf, count);
	ret = rc_call(c, write ? VFIO_USER_REGION_WRITE : VFIO_USER_REGION_READ,
		      msg, (uint32_t)sizeof(*a) + (write ? count : 0), NULL, 0,
		      &r);
	if (ret == 0 && !write) {
		assert_int_equal(r.size, sizeof(*a) + count);
		memcpy(buf, r.payload + sizeof(*a), count);
	}
	rc_reply_free(&r);
	return ret;
}

int
mt_v1_set(struct rc *c, uint32_t v)
{
	return mt_region_rw(c, MT_MIG_REGION, 0, &v, 4, true);
}

uint32_t
mt_v1_get(struct rc *c)
{
	uint32_t v;

	assert_int_equal(mt_region_rw(c, MT_MIG_REGION, 0, &v, 4, false), 0);
	return v;
}

uint64_t
mt_v1_field(struct rc *c, size_t off)
{
	uint64_t v;

	assert_int_equal(mt_region_rw(c, MT_MIG_REGION, off, &v, 8, false), 0);
	return v;
}

int
mt_data_read(struct rc *c, uint32_t argsz, uint32_t size, uint8_t *out)
{
	struct vfio_user_mig_data q = { .argsz = argsz, .size = size };
	struct rc_reply r;
	int ret;

	ret = rc_call(c, VFIO_USER_MIG_DATA_READ, &q, sizeof(q), NULL, 0, &r);
	if (ret == 0) {
		const struct vfio_user_mig_data *a = (const void *)r.payload;

		assert_true(r.size >= sizeof(*a));
		assert_int_equal(a->argsz, r.size);
		assert_int_equal(a->size, r.size - sizeof(*a));
		assert_true(a->size <= size);
		memcpy(out, a->data, a->size);
		ret = (int)a->size;
	}
	rc_reply_free(&r);
	return ret;
}

int
mt_data_write(struct rc *c, uint32_t argsz, uint32_t size, const uint8_t *data,
	      uint32_t len)
{
	uint8_t *msg = malloc(sizeof(struct vfio_user_mig_data) + len);
	struct vfio_user_mig_data *q = (void *)msg;
	struct rc_reply r;
	int ret;

	assert_non_null(msg);
	q->argsz = argsz;
	q->size = size;
	memcpy(q->data, data, len);
	ret = rc_call(c, VFIO_USER_MIG_DATA_WRITE, msg,
		      (uint32_t)(sizeof(*q) + len), NULL, 0, &r);
	if (ret == 0)
		assert_int_equal(r.size, 0);	/* no reply payload */
	rc_reply_free(&r);
	free(msg);
	return ret;
}

/* ---- the reference FSM ---- */

/*
 * Written from the specification's text, not from the library's table:
 * the direct arcs a device must implement (the current text, and
 * <linux/vfio.h> for the P2P states), and a longer transition as the
 * shortest path over them with no saving state inside it (the text's
 * rules), except between two saving states (PRE_COPY -> PRE_COPY_P2P ->
 * STOP_COPY), and STOP_COPY -> PRE_COPY(_P2P) refused. The shortest path
 * must be unique, or the reference itself is wrong.
 */

bool
mt_saving(uint32_t s)
{
	return s == RTE_VFIO_USER_MIG_STOP_COPY ||
	       s == RTE_VFIO_USER_MIG_PRE_COPY ||
	       s == RTE_VFIO_USER_MIG_PRE_COPY_P2P;
}

bool
mt_has_state(uint64_t flags, uint32_t s)
{
	switch (s) {
	case RTE_VFIO_USER_MIG_STOP:
	case RTE_VFIO_USER_MIG_RUNNING:
	case RTE_VFIO_USER_MIG_STOP_COPY:
	case RTE_VFIO_USER_MIG_RESUMING:
		return true;
	case RTE_VFIO_USER_MIG_RUNNING_P2P:
		return flags & F_P2P;
	case RTE_VFIO_USER_MIG_PRE_COPY:
		return flags & F_PRE;
	case RTE_VFIO_USER_MIG_PRE_COPY_P2P:
		return (flags & F_PRE) && (flags & F_P2P);
	default:
		return false;	/* ERROR and beyond */
	}
}

static bool
direct_arc(uint64_t flags, uint32_t a, uint32_t b)
{
	enum {
		STOP = RTE_VFIO_USER_MIG_STOP,
		RUN = RTE_VFIO_USER_MIG_RUNNING,
		SC = RTE_VFIO_USER_MIG_STOP_COPY,
		RES = RTE_VFIO_USER_MIG_RESUMING,
		RP2P = RTE_VFIO_USER_MIG_RUNNING_P2P,
		PRE = RTE_VFIO_USER_MIG_PRE_COPY,
		PP2P = RTE_VFIO_USER_MIG_PRE_COPY_P2P,
	};
	bool p2p = flags & F_P2P, pre = flags & F_PRE;
#define ARC(x, y) (a == (x) && b == (y))
	if (ARC(STOP, SC) || ARC(SC, STOP) || ARC(STOP, RES) || ARC(RES, STOP))
		return true;
	if (!p2p && (ARC(RUN, STOP) || ARC(STOP, RUN)))
		return true;
	if (p2p && (ARC(RUN, RP2P) || ARC(RP2P, RUN) || ARC(RP2P, STOP) ||
		    ARC(STOP, RP2P)))
		return true;
	if (pre && (ARC(RUN, PRE) || ARC(PRE, RUN)))
		return true;
	if (pre && !p2p && ARC(PRE, SC))
		return true;
	if (pre && p2p &&
	    (ARC(PRE, PP2P) || ARC(PP2P, PRE) || ARC(PP2P, RP2P) ||
	     ARC(RP2P, PP2P) || ARC(PP2P, SC)))
		return true;
#undef ARC
	return false;
}

int
mt_ref_path(uint64_t flags, uint32_t from, uint32_t to, uint32_t *path)
{
	int dist[8], prev[8], ways[8], queue[8], qh = 0, qt = 0;
	bool through_saving = mt_saving(from) && mt_saving(to);
	int n;

	if (!mt_has_state(flags, from) || !mt_has_state(flags, to))
		return -1;
	if (from == to)
		return 0;
	if (from == RTE_VFIO_USER_MIG_STOP_COPY &&
	    (to == RTE_VFIO_USER_MIG_PRE_COPY ||
	     to == RTE_VFIO_USER_MIG_PRE_COPY_P2P))
		return -1;
	for (int i = 0; i < 8; i++) {
		dist[i] = -1;
		ways[i] = 0;
	}
	dist[from] = 0;
	ways[from] = 1;
	queue[qt++] = (int)from;
	while (qh < qt) {
		int u = queue[qh++];

		/* nothing goes on from a saving state inside a path */
		if ((uint32_t)u != from && mt_saving((uint32_t)u) &&
		    !through_saving)
			continue;
		for (int v = 1; v < 8; v++) {
			if (!mt_has_state(flags, (uint32_t)v) ||
			    !direct_arc(flags, (uint32_t)u, (uint32_t)v))
				continue;
			if (mt_saving((uint32_t)v) && (uint32_t)v != to &&
			    !through_saving)
				continue;
			if (dist[v] < 0) {
				dist[v] = dist[u] + 1;
				prev[v] = u;
				ways[v] = ways[u];
				queue[qt++] = v;
			} else if (dist[v] == dist[u] + 1) {
				ways[v] += ways[u];
			}
		}
	}
	if (dist[to] < 0)
		return -1;
	assert_int_equal(ways[to], 1);	/* the reference is well defined */
	n = dist[to];
	for (int v = (int)to, i = n - 1; i >= 0; v = prev[v], i--)
		path[i] = (uint32_t)v;
	return n;
}
