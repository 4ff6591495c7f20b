/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Client disconnection: the server drops the client's memory and IRQ fds,
 * keeps the device state, and takes the next client; over many cycles no
 * fd or mapping is left behind.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mi_common.h"

#define RW (VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE)
#define EV_TRIG (VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_TRIGGER)
#define EV_MASK (VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_MASK)

static char *base_maps_text;

static void count_maps(int *named, int *anon);

/* Count mappings and remember /proc/self/maps, to show what changed if the
 * count differs later. */
static void
maps_snapshot(int *named, int *anon)
{
	FILE *f = fopen("/proc/self/maps", "r");
	size_t cap = 1 << 16, len = 0, n;

	free(base_maps_text);
	base_maps_text = malloc(cap);
	assert_non_null(f);
	assert_non_null(base_maps_text);
	while ((n = fread(base_maps_text + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			base_maps_text = realloc(base_maps_text, cap);
			assert_non_null(base_maps_text);
		}
	}
	base_maps_text[len] = '\0';
	fclose(f);
	count_maps(named, anon);
}

static void
maps_show_new(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strstr(base_maps_text, line) == NULL)
			print_error("new mapping: %s", line);
	if (f != NULL)
		fclose(f);
}

/* Mappings of this process: with a file (or [stack], [heap], ...), and
 * anonymous ones. */
static void
count_maps(int *named, int *anon)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	*named = *anon = 0;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line;

		/* address perms offset dev inode, then the name if any */
		for (int field = 0; field < 5; field++) {
			p += strcspn(p, " ");
			p += strspn(p, " ");
		}
		if (*p == '\n' || *p == '\0')
			(*anon)++;
		else
			(*named)++;
	}
	fclose(f);
}

static bool
maps_ok(int named0, int anon0)
{
	int named, anon;

	count_maps(&named, &anon);
#ifdef MI_ASAN
	/* ASan's allocator maps memory as its quarantine fills and drains:
	 * anonymous mappings may differ a little; those of files may not */
	return named == named0 && anon <= anon0 + 16;
#else
	return named == named0 && anon == anon0;
#endif
}

/* Wait for the process to be back at its fds and mappings. */
static void
assert_baseline(int fds, int named0, int anon0)
{
	bool ok = MI_WAIT(rc_count_fds() == fds && maps_ok(named0, anon0), 3000);

	if (!ok) {
		int named, anon;

		count_maps(&named, &anon);
		print_error("fds %d (baseline %d), mappings %d + %d anonymous "
			    "(baseline %d + %d)\n", rc_count_fds(), fds, named,
			    anon, named0, anon0);
		maps_show_new();
	}
	free(base_maps_text);
	base_maps_text = NULL;
	assert_true(ok);
}

#define CYCLES 1000

static void
one_cycle(struct mi_dev *d, int memfd, const int *efd)
{
	struct rc c;

	mi_open(&c, d, NULL);
	assert_int_equal(mi_map(&c, 0x100000, 16384, RW, memfd, 0), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 2, NULL, efd, 2), 0);
	mi_close(&c, d);
}

static void
test_disconnect_cleanup(void **state)
{
	struct mi_dev *d = &mi_b;
	const size_t size = 64 * 1024;
	int efd[6], memfd, base_fds, named0, anon0, new0, destroy0, during;
	int named, anon;
	uint8_t *mem, v = 0xab, rd = 0;
	uint32_t bar = 0x12345678, rbar = 0;
	struct rc c;

	(void)state;
	memfd = mi_memfd(size, &mem);
	for (int i = 0; i < 6; i++)
		efd[i] = mi_efd();
	base_fds = rc_count_fds();
	/* the first client in this process makes the allocators map arenas */
	one_cycle(d, memfd, efd);
	assert_true(MI_WAIT(rc_count_fds() == base_fds, 3000));
	maps_snapshot(&named0, &anon0);
	new0 = mi_load(&d->new_count);
	destroy0 = mi_load(&d->destroy_count);

	mi_open(&c, d, NULL);
	/* new_device runs right after the VERSION reply went out */
	assert_true(MI_WAIT(mi_load(&d->new_count) == new0 + 1, 2000));
	assert_int_equal(mi_map(&c, 0x100000, size, RW, memfd, 0), 0);
	assert_int_equal(mi_map(&c, 0x200000, 4096, RW, -1, 0), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 4, NULL, efd, 4), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_INTX, 0, 1, NULL, &efd[4], 1),
			 0);
	assert_int_equal(mi_set_irqs(&c, EV_MASK, MI_MSIX, 0, 1, NULL, &efd[5], 1),
			 0);
	assert_int_equal(mi_region_rw(&c, VFIO_USER_PCI_CONFIG_REGION_INDEX, 0x40,
				      &v, 1, true), 0);
	assert_int_equal(mi_region_rw(&c, 0, 0x10, &bar, 4, true), 0);
	/* masked, latched: the client's interrupt state */
	assert_int_equal(mi_set_irqs(&c, VFIO_USER_IRQ_SET_DATA_NONE |
				     VFIO_USER_IRQ_SET_ACTION_MASK, MI_MSIX, 0, 1,
				     NULL, NULL, 0), 0);
	assert_int_equal(mi_trigger(d, MI_MSIX, 0), 0);
	during = rc_count_fds();
	/* our socket, the server's end and timer, six eventfds */
	assert_true(during >= base_fds + 9);
	count_maps(&named, &anon);
	assert_true(named > named0);	/* the server's map of the memfd */
	assert_int_equal(rte_vfio_user_get_mem_table(d->id)->nregions, 2);
	assert_int_equal(mi_load(&d->destroy_count), destroy0);
	assert_int_equal(rte_vfio_user_is_idle(d->id), 0);
	assert_int_equal(rte_vfio_user_is_idle(-1), -ENODEV);

	mi_untrack(c.fd);
	rc_close(&c);
	/* idle: the teardown is over, the client's fds are closed by then
	 * (not merely "not connected": the IRQ fds close last, after a QSBR
	 * grace period) */
	assert_true(MI_WAIT(rte_vfio_user_is_idle(d->id) == 1, 5000));
	assert_int_equal(rc_count_fds(), base_fds);
	mi_wait_teardown(d, destroy0);
	assert_int_equal(mi_load(&d->destroy_count), destroy0 + 1);
	/* new_device runs right after the VERSION reply went out */
	assert_true(MI_WAIT(mi_load(&d->new_count) == new0 + 1, 2000));
	assert_int_equal(rte_vfio_user_get_mem_table(d->id)->nregions, 0);
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_MSIX), 0);
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_INTX), 0);
	assert_int_equal(rte_vfio_user_get_irq(d->id, MI_MSIX, 0), -1);
	/* the server holds none of the client's fds, and no mapping */
	assert_baseline(base_fds, named0, anon0);
	assert_int_equal(rte_vfio_user_dma_read(d->id, 0x100000, &v, 1), -EFAULT);
	/* the device state stays */
	assert_int_equal(d->config[0x40], 0xab);
	assert_memory_equal(&d->bar0[0x10], &bar, 4);

	/* a new client starts over */
	mi_open(&c, d, NULL);
	assert_true(MI_WAIT(mi_load(&d->new_count) == new0 + 2, 2000));
	assert_int_equal(mi_region_rw(&c, VFIO_USER_PCI_CONFIG_REGION_INDEX, 0x40,
				      &rd, 1, false), 0);
	assert_int_equal(rd, 0xab);
	assert_int_equal(mi_region_rw(&c, 0, 0x10, &rbar, 4, false), 0);
	assert_int_equal(rbar, bar);
	assert_int_equal(mi_map(&c, 0x100000, size, RW, memfd, 0), 0);
	mem[5] = 0x42;
	assert_int_equal(rte_vfio_user_dma_read(d->id, 0x100005, &rd, 1), 0);
	assert_int_equal(rd, 0x42);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 2, NULL, efd, 2), 0);
	/* the old client's mask and latch went with it */
	assert_int_equal(mi_efd_read(efd[0]), 0);
	assert_int_equal(mi_trigger(d, MI_MSIX, 0), 1);
	assert_int_equal(mi_efd_read(efd[0]), 1);
	assert_int_equal(mi_trigger(d, MI_MSIX, 1), 1);
	assert_int_equal(mi_efd_read(efd[1]), 1);
	mi_close(&c, d);
	assert_int_equal(mi_load(&d->destroy_count), destroy0 + 2);
	assert_baseline(base_fds, named0, anon0);

	for (int i = 0; i < 6; i++)
		close(efd[i]);
	munmap(mem, size);
	close(memfd);
}

static void
test_reconnect_cycles(void **state)
{
	struct mi_dev *d = &mi_b;
	int efd[2] = { mi_efd(), mi_efd() }, memfd, base_fds, named0, anon0, new0;
	uint64_t t0;
	uint8_t *mem;

	(void)state;
	memfd = mi_memfd(16384, &mem);
	base_fds = rc_count_fds();
	one_cycle(d, memfd, efd);	/* warm up allocators */
	assert_true(MI_WAIT(rc_count_fds() == base_fds, 3000));
	maps_snapshot(&named0, &anon0);
	new0 = mi_load(&d->new_count);
	t0 = mi_now_ms();
	for (int i = 0; i < CYCLES; i++)
		one_cycle(d, memfd, efd);
	print_message("%d connect/map/set_irqs/disconnect cycles in %" PRIu64
		      " ms\n", CYCLES, mi_now_ms() - t0);
	assert_int_equal(mi_load(&d->new_count), new0 + CYCLES);
	assert_baseline(base_fds, named0, anon0);
	close(efd[0]);
	close(efd[1]);
	munmap(mem, 16384);
	close(memfd);
}

#define T(f) cmocka_unit_test_setup_teardown(f, mi_test_setup, mi_test_teardown)
const struct CMUnitTest mi_conn_tests[] = {
	T(test_disconnect_cleanup),
	T(test_reconnect_cycles),
};
const size_t mi_conn_tests_n = sizeof(mi_conn_tests) / sizeof(mi_conn_tests[0]);
