/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>

#include <rte_rcu_qsbr.h>

#include <jansson.h>

#include "mem_region.h"
#include "mi_common.h"

struct mi_dev mi_a, mi_b;
static char mi_dir[96];

/* Sockets a test opened, closed by the teardown if the test failed. */
#define MI_MAX_OPEN 16
static struct {
	int fd;
	struct mi_dev *dev;
} mi_open_fds[MI_MAX_OPEN];

void
mi_track(int fd, struct mi_dev *d)
{
	for (int i = 0; i < MI_MAX_OPEN; i++) {
		if (mi_open_fds[i].fd <= 0) {
			mi_open_fds[i].fd = fd;
			mi_open_fds[i].dev = d;
			return;
		}
	}
}

void
mi_untrack(int fd)
{
	for (int i = 0; i < MI_MAX_OPEN; i++)
		if (mi_open_fds[i].fd == fd)
			mi_open_fds[i].fd = 0;
}

uint64_t
mi_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
mi_load(const int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* ---- the device model ---- */

static struct mi_dev *
dev_of(int dev_id)
{
	return rte_vfio_user_get_priv(dev_id);
}

static int
cb_new_device(int dev_id)
{
	__atomic_add_fetch(&dev_of(dev_id)->new_count, 1, __ATOMIC_RELEASE);
	return 0;
}

static void
cb_destroy_device(int dev_id)
{
	__atomic_add_fetch(&dev_of(dev_id)->destroy_count, 1, __ATOMIC_RELEASE);
}

static int
cb_update_status(int dev_id, enum rte_vfio_user_status st)
{
	struct mi_dev *d = dev_of(dev_id);

	switch (st) {
	case RTE_VFIO_USER_DMA_UNMAP_PRE:
		__atomic_add_fetch(&d->unmap_pre, 1, __ATOMIC_RELEASE);
		break;
	case RTE_VFIO_USER_DMA_CHANGED:
		__atomic_add_fetch(&d->dma_changed, 1, __ATOMIC_RELEASE);
		break;
	case RTE_VFIO_USER_IRQ_CHANGED:
		__atomic_add_fetch(&d->irq_changed, 1, __ATOMIC_RELEASE);
		break;
	}
	if (d->hook != NULL)
		d->hook(d, st);
	return 0;
}

/* The device marks nothing itself: a sync fails only when told to. */
static int
cb_dirty_log(int dev_id, enum rte_vfio_user_dirty_op op)
{
	struct mi_dev *d = dev_of(dev_id);

	return op == RTE_VFIO_USER_DIRTY_SYNC ?
		       __atomic_load_n(&d->dirty_sync_err, __ATOMIC_ACQUIRE) :
		       0;
}

static ssize_t
cfg_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	   bool is_write)
{
	struct mi_dev *d = priv;

	(void)dev_id;
	return tc_mem_access(d->config, sizeof(d->config), buf, count, offset,
			     is_write);
}

static ssize_t
bar0_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	    bool is_write)
{
	struct mi_dev *d = priv;

	(void)dev_id;
	return tc_mem_access(d->bar0, sizeof(d->bar0), buf, count, offset,
			     is_write);
}

static const struct rte_vfio_user_notify_ops mi_ops = {
	.new_device = cb_new_device,
	.destroy_device = cb_destroy_device,
	.update_status = cb_update_status,
	.dirty_log = cb_dirty_log,
};

static int
dev_create(struct mi_dev *d, const char *name, bool noresize)
{
	struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = VFIO_USER_PCI_NUM_REGIONS,
		.num_irqs = VFIO_USER_PCI_NUM_IRQS,
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
	const uint32_t ev = RTE_VFIO_USER_IRQ_F_EVENTFD;
	struct rte_vfio_user_irq_info irqs[VFIO_USER_PCI_NUM_IRQS] = {
		[MI_INTX] = { ev | RTE_VFIO_USER_IRQ_F_MASKABLE |
			      RTE_VFIO_USER_IRQ_F_AUTOMASKED, 1 },
		[MI_MSI] = { noresize ? 0 : ev | RTE_VFIO_USER_IRQ_F_MASKABLE,
			     noresize ? 0 : MI_MSI_COUNT_B },
		[MI_MSIX] = { ev | RTE_VFIO_USER_IRQ_F_MASKABLE |
			      (noresize ? RTE_VFIO_USER_IRQ_F_NORESIZE : 0),
			      MI_MSIX_COUNT },
		[MI_ERR] = { ev, 1 },
		[4] = { ev, 1 },
	};
	const struct rte_vfio_user_timeouts tmo = { MI_TIMEOUT_MS,
						    MI_TIMEOUT_MS,
						    MI_TIMEOUT_MS };
	int ret;

	memset(d, 0, sizeof(*d));
	for (unsigned int i = 0; i < sizeof(d->config); i++)
		d->config[i] = (uint8_t)i;
	snprintf(d->path, sizeof(d->path), "%s/%s", mi_dir, name);
	d->id = rte_vfio_user_register(d->path, &mi_ops, d);
	if (d->id < 0)
		return d->id;
	ret = rte_vfio_user_set_dev_info(d->id, &info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(d->id, 0, &bar);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(d->id,
				VFIO_USER_PCI_CONFIG_REGION_INDEX, &cfg);
	for (unsigned int i = 0; ret == 0 && i < VFIO_USER_PCI_NUM_IRQS; i++)
		ret = rte_vfio_user_set_irq_info(d->id, i, &irqs[i]);
	if (ret == 0)
		ret = rte_vfio_user_set_timeouts(d->id, &tmo);
	if (ret == 0)
		ret = rte_vfio_user_start(d->id);
	if (ret == 0)
		ret = rte_rcu_qsbr_thread_register(rte_vfio_user_get_qsbr(d->id),
						   MI_QS_MAIN);
	return ret;
}

static void
watchdog(int sig)
{
	static const char msg[] = "memory_irq: watchdog expired, test hung\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

int
mi_server_setup(void **state)
{
	const char *root = getenv("VU_TEST_BUILD_ROOT");

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog);
	if (root == NULL || strlen(root) > 60)
		root = "/tmp";
	snprintf(mi_dir, sizeof(mi_dir), "%s/mi-XXXXXX", root);
	if (mkdtemp(mi_dir) == NULL) {
		snprintf(mi_dir, sizeof(mi_dir), "/tmp/mi-XXXXXX");
		if (mkdtemp(mi_dir) == NULL)
			return -1;
	}
	if (dev_create(&mi_a, "a.sock", true) != 0 ||
	    dev_create(&mi_b, "b.sock", false) != 0)
		return -1;
	return 0;
}

int
mi_server_teardown(void **state)
{
	(void)state;
	rte_vfio_user_unregister(mi_a.id);
	rte_vfio_user_unregister(mi_b.id);
	rmdir(mi_dir);
	return 0;
}

const char *
mi_dir_path(void)
{
	return mi_dir;
}

int
mi_test_setup(void **state)
{
	(void)state;
	alarm(100);
	return 0;
}

int
mi_test_teardown(void **state)
{
	(void)state;
	mi_a.hook = NULL;
	mi_b.hook = NULL;
	/* a failed test left these open: close them so the next test starts
	 * from a device without a client */
	for (int i = 0; i < MI_MAX_OPEN; i++) {
		struct mi_dev *d = mi_open_fds[i].dev;

		if (mi_open_fds[i].fd <= 0)
			continue;
		close(mi_open_fds[i].fd);
		mi_open_fds[i].fd = 0;
		if (d != NULL)
			MI_WAIT(rte_vfio_user_is_connected(d->id) == 0 &&
				rte_vfio_user_get_mem_table(d->id)->nregions == 0,
				10000);
	}
	alarm(0);
	return 0;
}

/* ---- client helpers ---- */

void
mi_open_reply(struct rc *c, struct mi_dev *d, const char *json,
	      struct rc_reply *r)
{
	assert_int_equal(rc_connect(c, d->path, 2000), 0);
	mi_track(c->fd, d);
	assert_int_equal(rc_negotiate(c, json, r), 0);
	assert_true(MI_WAIT(rte_vfio_user_is_connected(d->id) == 1, 2000));
}

void
mi_open(struct rc *c, struct mi_dev *d, const char *json)
{
	struct rc_reply r;

	mi_open_reply(c, d, json, &r);
	rc_reply_free(&r);
}

bool
mi_client_gone(struct mi_dev *d)
{
	return rte_vfio_user_is_connected(d->id) == 0 &&
	       rte_vfio_user_get_mem_table(d->id)->nregions == 0 &&
	       rte_vfio_user_irq_enabled(d->id, MI_INTX) == 0 &&
	       rte_vfio_user_irq_enabled(d->id, MI_MSIX) == 0 &&
	       rte_vfio_user_is_idle(d->id) == 1;
}

void
mi_wait_teardown(struct mi_dev *d, int destroy_before)
{
	assert_true(MI_WAIT(mi_load(&d->destroy_count) > destroy_before &&
				    mi_client_gone(d),
			    5000));
}

void
mi_close(struct rc *c, struct mi_dev *d)
{
	int before = mi_load(&d->destroy_count);

	mi_untrack(c->fd);
	rc_close(c);
	mi_wait_teardown(d, before);
}

int
mi_memfd(size_t size, uint8_t **map)
{
	int fd = memfd_create("mi-guest", MFD_CLOEXEC);
	void *p;

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	*map = p;
	return fd;
}

int
mi_map(struct rc *c, uint64_t iova, uint64_t size, uint32_t flags, int fd,
       uint64_t offset)
{
	struct vfio_user_dma_map m = {
		.argsz = sizeof(m), .flags = flags, .offset = offset,
		.addr = iova, .size = size,
	};

	return rc_call(c, VFIO_USER_DMA_MAP, &m, sizeof(m),
		       fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0, NULL);
}

int
mi_unmap(struct rc *c, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_user_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .addr = iova, .size = size,
	};
	struct rc_reply r;
	int ret;

	ret = rc_call(c, VFIO_USER_DMA_UNMAP, &u, sizeof(u), NULL, 0, &r);
	if (ret == 0) {
		/* the reply is the original entry */
		assert_int_equal(r.size, sizeof(u));
		assert_memory_equal(r.payload, &u, sizeof(u));
	}
	rc_reply_free(&r);
	return ret;
}

int
mi_set_irqs(struct rc *c, uint32_t flags, uint32_t index, uint32_t start,
	    uint32_t count, const uint8_t *bools, const int *fds, int nfds)
{
	size_t len = sizeof(struct vfio_user_irq_set) + (bools ? count : 0);
	struct vfio_user_irq_set *s = calloc(1, len);
	int ret;

	assert_non_null(s);
	s->argsz = (uint32_t)len;
	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	if (bools != NULL)
		memcpy(s->data, bools, count);
	ret = rc_call(c, VFIO_USER_DEVICE_SET_IRQS, s, (uint32_t)len, fds,
		      nfds, NULL);
	free(s);
	return ret;
}

int
mi_region_rw(struct rc *c, uint32_t region, uint64_t offset, void *buf,
	     uint32_t count, bool write)
{
	size_t len = sizeof(struct vfio_user_region_access) + (write ? count : 0);
	struct vfio_user_region_access *a = calloc(1, len);
	struct rc_reply r;
	int ret;

	assert_non_null(a);
	a->offset = offset;
	a->region = region;
	a->count = count;
	if (write)
		memcpy(a->data, buf, count);
	ret = rc_call(c, write ? VFIO_USER_REGION_WRITE : VFIO_USER_REGION_READ,
		      a, (uint32_t)len, NULL, 0, &r);
	if (ret == 0 && !write) {
		assert_int_equal(r.size, sizeof(*a) + count);
		memcpy(buf, r.payload + sizeof(*a), count);
	}
	rc_reply_free(&r);
	free(a);
	return ret;
}

int
mi_efd(void)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

uint64_t
mi_efd_read(int fd)
{
	eventfd_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		assert_int_equal(errno, EAGAIN);
		return 0;
	}
	return v;
}

int
mi_trigger(struct mi_dev *d, uint32_t index, uint32_t vector)
{
	struct rte_rcu_qsbr *q = rte_vfio_user_get_qsbr(d->id);
	int ret;

	rte_rcu_qsbr_thread_online(q, MI_QS_MAIN);
	ret = rte_vfio_user_irq_trigger(d->id, index, vector);
	rte_rcu_qsbr_thread_offline(q, MI_QS_MAIN);
	return ret;
}

json_t *
mi_version_caps(const struct rc_reply *r, json_t **root)
{
	const struct vfio_user_version *v = (const void *)r->payload;

	assert_true(r->size > sizeof(*v));
	assert_int_equal(r->payload[r->size - 1], '\0');
	*root = json_loads(v->data, 0, NULL);
	assert_non_null(*root);
	return json_object_get(*root, "capabilities");
}

/* Negotiate twin_socket; returns the client end of the twin socket. */
int
mi_open_twin(struct rc *c, struct mi_dev *d, const char *extra)
{
	char json[256];
	struct rc_reply r;
	json_t *root, *caps, *tw;
	int idx, fd;

	snprintf(json, sizeof(json), "{\"capabilities\":{\"twin_socket\":"
		 "{\"supported\":true}%s}}", extra);
	mi_open_reply(c, d, json, &r);
	caps = mi_version_caps(&r, &root);
	tw = json_object_get(caps, "twin_socket");
	assert_non_null(tw);
	assert_true(json_is_true(json_object_get(tw, "supported")));
	assert_true(json_is_integer(json_object_get(tw, "fd_index")));
	idx = (int)json_integer_value(json_object_get(tw, "fd_index"));
	assert_true(idx >= 0 && idx < r.nfds);
	fd = r.fds[idx];
	r.fds[idx] = -1;
	mi_track(fd, NULL);
	json_decref(root);
	rc_reply_free(&r);
	return fd;
}
