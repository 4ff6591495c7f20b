/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * A client process killed (SIGKILL) at each step of its life with the
 * device: before and in the middle of VERSION, between DMA maps, in the
 * middle of a message (header only, payload cut short, with fds riding on
 * it, inside an oversized message being discarded), with interrupt
 * eventfds set, after DEVICE_RESET, with dirty logging on, with a twin
 * socket, with replies it never read, and while the device waits for its
 * answer to a DMA_READ. Each time: the server drops everything of that
 * client (fds and mappings back to the baseline), the other device keeps
 * answering, and the device takes the next client.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "fault.h"

#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)
#define EV_TRIG \
	(VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_TRIGGER)
#define EV_MASK (VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_MASK)

/* ---- steps, run in the child (no cmocka there) ---- */

static int
c_version(struct rc *c, const char *json)
{
	struct rc_reply r;
	int ret = rc_negotiate(c, json, &r);

	rc_reply_free(&r);
	return ret;
}

/* A memfd of size bytes (the child's; the server gets a copy). */
static int
c_memfd(size_t size)
{
	int fd = memfd_create("fault-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return -1;
	return fd;
}

static int
c_map(struct rc *c, uint64_t iova, uint64_t size, int fd)
{
	struct vfio_user_dma_map m = {
		.argsz = sizeof(m),
		.flags = RW,
		.addr = iova,
		.size = size,
	};

	return rc_call(c, VFIO_USER_DMA_MAP, &m, sizeof(m),
		       fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0, NULL);
}

static int
c_set_irqs(struct rc *c, uint32_t flags, uint32_t index, uint32_t start,
	   uint32_t count, const int *fds, int nfds)
{
	struct vfio_user_irq_set s = {
		.argsz = sizeof(s),
		.flags = flags,
		.index = index,
		.start = start,
		.count = count,
	};

	return rc_call(c, VFIO_USER_DEVICE_SET_IRQS, &s, sizeof(s), fds, nfds,
		       NULL);
}

/* Maps two regions with fds and one message-only, sets MSI-X 0..3, INTx
 * and an MSI-X mask notification: a client in the middle of its life. */
static int
c_full_setup(struct rc *c)
{
	int m1 = c_memfd(64 * 1024), m2 = c_memfd(16 * 1024), efd[6];

	for (int i = 0; i < 6; i++)
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m1 < 0 || m2 < 0 || efd[5] < 0 || c_version(c, NULL) != 0 ||
	    c_map(c, 0x100000, 64 * 1024, m1) != 0 ||
	    c_map(c, 0x200000, 16 * 1024, m2) != 0 ||
	    c_map(c, 0x300000, 4096, -1) != 0 ||
	    c_set_irqs(c, EV_TRIG, MI_MSIX, 0, 4, efd, 4) != 0 ||
	    c_set_irqs(c, EV_TRIG, MI_INTX, 0, 1, &efd[4], 1) != 0 ||
	    c_set_irqs(c, EV_MASK, MI_MSIX, 0, 1, &efd[5], 1) != 0)
		return -1;
	return 0;
}

static int
step_connected(struct rc *c, void *arg)
{
	(void)c;
	(void)arg;
	return 0;
}

static int
step_version(struct rc *c, void *arg)
{
	(void)arg;
	return c_version(c, NULL);
}

/* Send hdr (msg_size as given), then only 'len' bytes of the message in
 * all, with fds on the first byte. */
static int
c_cut(struct rc *c, uint16_t cmd, uint32_t msg_size, const void *payload,
      uint32_t len, const int *fds, int nfds)
{
	struct vfio_user_header h = {
		.msg_id = c->next_id++,
		.cmd = cmd,
		.msg_size = msg_size,
		.flags = VFIO_USER_F_TYPE_COMMAND,
	};
	uint8_t *buf = calloc(1, sizeof(h) + msg_size);
	int ret;

	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, &h, sizeof(h));
	if (payload != NULL)
		memcpy(buf + sizeof(h), payload, msg_size - sizeof(h));
	ret = rc_send_raw(c, buf, len, fds, nfds);
	free(buf);
	return ret;
}

static int
step_mid_header(struct rc *c, void *arg)
{
	(void)arg;
	/* 8 of the 16 header bytes of VERSION */
	return c_cut(c, VFIO_USER_VERSION, 64, NULL, 8, NULL, 0);
}

static int
step_mid_version(struct rc *c, void *arg)
{
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":8}}";
	uint8_t p[sizeof(struct vfio_user_version) + sizeof(json)];
	struct vfio_user_version *v = (void *)p;

	(void)arg;
	v->major = 0;
	v->minor = 1;
	memcpy(v->data, json, sizeof(json));
	/* the header and half the JSON */
	return c_cut(c, VFIO_USER_VERSION, 16 + sizeof(p), p,
		     16 + sizeof(*v) + 10, NULL, 0);
}

static int
step_between_maps(struct rc *c, void *arg)
{
	int m1 = c_memfd(64 * 1024), m2 = c_memfd(64 * 1024);

	(void)arg;
	if (m1 < 0 || m2 < 0 || c_version(c, NULL) != 0 ||
	    c_map(c, 0x100000, 64 * 1024, m1) != 0 ||
	    c_map(c, 0x200000, 4096, -1) != 0 ||
	    c_map(c, 0x400000, 32 * 1024, m2) != 0)
		return -1;
	/* a fourth map was to come */
	return 0;
}

static int
step_mid_map_with_fd(struct rc *c, void *arg)
{
	struct vfio_user_dma_map m = {
		.argsz = sizeof(m),
		.flags = RW,
		.addr = 0x100000,
		.size = 64 * 1024,
	};
	int fd = c_memfd(64 * 1024);

	(void)arg;
	if (fd < 0 || c_version(c, NULL) != 0)
		return -1;
	/* the memfd rides on the header; 8 of the 32 payload bytes follow */
	return c_cut(c, VFIO_USER_DMA_MAP, 16 + sizeof(m), &m, 16 + 8, &fd, 1);
}

static int
step_mid_set_irqs_with_fds(struct rc *c, void *arg)
{
	struct vfio_user_irq_set s = {
		.argsz = sizeof(s),
		.flags = EV_TRIG,
		.index = MI_MSIX,
		.start = 0,
		.count = 8,
	};
	int efd[8];

	(void)arg;
	for (int i = 0; i < 8; i++)
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd[7] < 0 || c_version(c, NULL) != 0)
		return -1;
	return c_cut(c, VFIO_USER_DEVICE_SET_IRQS, 16 + sizeof(s), &s, 16 + 4,
		     efd, 8);
}

static int
step_mid_write(struct rc *c, void *arg)
{
	uint8_t p[sizeof(struct vfio_user_region_access) + 2048] = { 0 };
	struct vfio_user_region_access *a = (void *)p;

	(void)arg;
	a->region = 0;
	a->count = 2048;
	if (c_version(c, NULL) != 0)
		return -1;
	/* a write to BAR0 cut after 1000 of its 2048 data bytes */
	return c_cut(c, VFIO_USER_REGION_WRITE, 16 + sizeof(p), p,
		     16 + sizeof(*a) + 1000, NULL, 0);
}

static int
step_mid_oversize(struct rc *c, void *arg)
{
	struct vfio_user_header h = {
		.msg_id = 7,
		.cmd = VFIO_USER_REGION_WRITE,
		.msg_size = 64u << 20,
		.flags = VFIO_USER_F_TYPE_COMMAND,
	};
	static uint8_t chunk[64 * 1024];

	(void)arg;
	if (c_version(c, NULL) != 0 ||
	    rc_send_raw(c, &h, sizeof(h), NULL, 0) != 0)
		return -1;
	/* the server discards it: 64 KiB of 64 MiB, then the client dies */
	return rc_send_raw(c, chunk, sizeof(chunk), NULL, 0);
}

static int
step_irqs_set(struct rc *c, void *arg)
{
	(void)arg;
	return c_full_setup(c);
}

static int
step_after_reset(struct rc *c, void *arg)
{
	(void)arg;
	if (c_full_setup(c) != 0)
		return -1;
	return rc_call(c, VFIO_USER_DEVICE_RESET, NULL, 0, NULL, 0, NULL);
}

static int
step_dirty_logging(struct rc *c, void *arg)
{
	struct vfio_user_dirty_pages dp = {
		.argsz = sizeof(dp),
		.flags = VFIO_USER_DIRTY_PAGES_F_START,
	};

	(void)arg;
	if (c_full_setup(c) != 0)
		return -1;
	return rc_call(c, VFIO_USER_DIRTY_PAGES, &dp, sizeof(dp), NULL, 0,
		       NULL);
}

static int
step_twin(struct rc *c, void *arg)
{
	struct rc_reply r;
	int ret;

	(void)arg;
	ret = rc_negotiate(c,
			   "{\"capabilities\":{\"twin_socket\":"
			   "{\"supported\":true}}}",
			   &r);
	if (ret == 0 && r.nfds != 1)
		ret = -EPROTO;
	/* keep the twin socket end open: r.fds stays with the child */
	free(r.payload);
	if (ret != 0)
		return ret;
	return c_map(c, 0x300000, 4096, -1);
}

static int
step_unread_replies(struct rc *c, void *arg)
{
	struct vfio_user_region_access a = {
		.region = 0,
		.count = MI_PAGE,
	};

	(void)arg;
	if (c_version(c, NULL) != 0)
		return -1;
	/* 400 reads of 4 KiB, no reply read: more than the socket takes,
	 * the rest waits in the server's output queue */
	for (int i = 0; i < 400; i++)
		if (rc_send(c, VFIO_USER_REGION_READ, 0, &a, sizeof(a), NULL, 0,
			    NULL) != 0)
			return -1;
	return 0;
}

/* ---- the tests ---- */

struct die_case {
	fault_step_fn step;
	bool negotiated;	/* the device model saw the client */
	uint32_t nregions;	/* DMA regions mapped at the fault */
	bool irqs;		/* MSI-X and INTx set at the fault */
};

static void
run_die(const struct die_case *dc)
{
	struct mi_dev *d = &mi_a;
	int destroy0 = mi_load(&d->destroy_count);
	struct pb base;
	pid_t pid;

	fault_probe_reset();
	assert_int_equal(pb_take(&base), 0);
	pid = fault_child(d, dc->step, NULL);
	/* the server took the client this far */
	if (dc->negotiated)
		assert_true(
			MI_WAIT(rte_vfio_user_is_connected(d->id) == 1, 2000));
	assert_true(MI_WAIT(rte_vfio_user_get_mem_table(d->id)->nregions ==
				    dc->nregions,
			    2000));
	if (dc->irqs) {
		assert_true(rte_vfio_user_irq_enabled(d->id, MI_MSIX) > 0);
		assert_true(rte_vfio_user_irq_enabled(d->id, MI_INTX) > 0);
	}
	/* the server holds what the client gave it */
	if (dc->nregions > 0 || dc->irqs)
		assert_false(pb_back(&base));

	fault_kill(pid);
	fault_wait_clean(d);
	if (dc->negotiated)
		assert_true(MI_WAIT(mi_load(&d->destroy_count) == destroy0 + 1,
				    2000));
	else
		assert_int_equal(mi_load(&d->destroy_count), destroy0);
	/* an interrupt now reaches no stale eventfd */
	assert_true(mi_trigger(d, MI_MSIX, 0) <= 0);
	fault_assert_back(&base);
	fault_probe_check();
	fault_assert_usable(d);
	fault_assert_back(&base);
	pb_free(&base);
}

#define DIE_TEST(name, ...)                                        \
	static void test_die_##name(void **state)                  \
	{                                                          \
		static const struct die_case dc = { __VA_ARGS__ }; \
		(void)state;                                       \
		run_die(&dc);                                      \
	}

DIE_TEST(connected, .step = step_connected)
DIE_TEST(mid_header, .step = step_mid_header)
DIE_TEST(mid_version, .step = step_mid_version)
DIE_TEST(after_version, .step = step_version, .negotiated = true)
DIE_TEST(between_maps, .step = step_between_maps, .negotiated = true,
	 .nregions = 3)
DIE_TEST(mid_map_with_fd, .step = step_mid_map_with_fd, .negotiated = true)
DIE_TEST(mid_set_irqs_with_fds, .step = step_mid_set_irqs_with_fds,
	 .negotiated = true)
DIE_TEST(mid_region_write, .step = step_mid_write, .negotiated = true)
DIE_TEST(mid_oversize_discard, .step = step_mid_oversize, .negotiated = true)
DIE_TEST(irqs_set, .step = step_irqs_set, .negotiated = true, .nregions = 3,
	 .irqs = true)
DIE_TEST(after_reset, .step = step_after_reset, .negotiated = true,
	 .nregions = 3)
DIE_TEST(dirty_logging, .step = step_dirty_logging, .negotiated = true,
	 .nregions = 3, .irqs = true)
DIE_TEST(twin_socket, .step = step_twin, .negotiated = true, .nregions = 1)
DIE_TEST(unread_replies, .step = step_unread_replies, .negotiated = true)

/* The device waits for the client's answer to a DMA_READ when it dies. */
struct dma_wait {
	int ret;
	uint64_t done_ms;
};

static void *
dma_read_thread(void *arg)
{
	struct dma_wait *w = arg;
	uint8_t buf[64];

	w->ret = rte_vfio_user_dma_read(mi_a.id, 0x300000, buf, sizeof(buf));
	__atomic_store_n(&w->done_ms, rc_now_ms(), __ATOMIC_RELEASE);
	return NULL;
}

static int
step_message_only(struct rc *c, void *arg)
{
	(void)arg;
	if (c_version(c, NULL) != 0)
		return -1;
	return c_map(c, 0x300000, 4096, -1);
}

static void
test_die_during_dma_read(void **state)
{
	struct dma_wait w = { .ret = 1 };
	struct pb base;
	pthread_t t;
	uint64_t killed;
	pid_t pid;

	(void)state;
	fault_probe_reset();
	/* glibc keeps the stack of a joined thread for the next one: make
	 * it part of the baseline */
	assert_int_equal(pthread_create(&t, NULL, dma_read_thread, &w), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.ret, -EFAULT);	/* nothing mapped yet */
	w.done_ms = 0;
	assert_int_equal(pb_take(&base), 0);
	pid = fault_child(&mi_a, step_message_only, NULL);
	assert_true(MI_WAIT(rte_vfio_user_get_mem_table(mi_a.id)->nregions == 1,
			    2000));
	assert_int_equal(pthread_create(&t, NULL, dma_read_thread, &w), 0);
	/* the DMA_READ went out; the child never answers it */
	rc_sleep_ms(100);
	assert_int_equal(__atomic_load_n(&w.done_ms, __ATOMIC_ACQUIRE), 0);
	killed = rc_now_ms();
	fault_kill(pid);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* it fails when the client goes, not after the request timeout */
	assert_int_equal(w.ret, -ENOTCONN);
	assert_true(w.done_ms - killed < 1000);
	fault_wait_clean(&mi_a);
	fault_assert_back(&base);
	fault_probe_check();
	fault_assert_usable(&mi_a);
	pb_free(&base);
}

#define T(f) \
	cmocka_unit_test_setup_teardown(f, mi_test_setup, fault_test_teardown)
const struct CMUnitTest fault_die_tests[] = {
	T(test_die_connected),
	T(test_die_mid_header),
	T(test_die_mid_version),
	T(test_die_after_version),
	T(test_die_between_maps),
	T(test_die_mid_map_with_fd),
	T(test_die_mid_set_irqs_with_fds),
	T(test_die_mid_region_write),
	T(test_die_mid_oversize_discard),
	T(test_die_irqs_set),
	T(test_die_after_reset),
	T(test_die_dirty_logging),
	T(test_die_twin_socket),
	T(test_die_unread_replies),
	T(test_die_during_dma_read),
};
const size_t fault_die_tests_n = sizeof(fault_die_tests) /
				 sizeof(fault_die_tests[0]);
