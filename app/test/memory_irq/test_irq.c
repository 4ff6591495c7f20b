/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Interrupts: SET_IRQS eventfd assignment, triggers from the device and
 * from the client, masking with the pending latch, INTx automasking,
 * de-assignment and disabling, NORESIZE, and refused requests.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_rcu_qsbr.h>

#include "mi_common.h"

#define EV_TRIG (VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_TRIGGER)
#define EV_MASK (VFIO_USER_IRQ_SET_DATA_EVENTFD | VFIO_USER_IRQ_SET_ACTION_MASK)
#define EV_UNMASK (VFIO_USER_IRQ_SET_DATA_EVENTFD | \
		   VFIO_USER_IRQ_SET_ACTION_UNMASK)
#define NONE_TRIG (VFIO_USER_IRQ_SET_DATA_NONE | VFIO_USER_IRQ_SET_ACTION_TRIGGER)
#define NONE_MASK (VFIO_USER_IRQ_SET_DATA_NONE | VFIO_USER_IRQ_SET_ACTION_MASK)
#define NONE_UNMASK (VFIO_USER_IRQ_SET_DATA_NONE | \
		     VFIO_USER_IRQ_SET_ACTION_UNMASK)
#define BOOL_TRIG (VFIO_USER_IRQ_SET_DATA_BOOL | VFIO_USER_IRQ_SET_ACTION_TRIGGER)
#define BOOL_MASK (VFIO_USER_IRQ_SET_DATA_BOOL | VFIO_USER_IRQ_SET_ACTION_MASK)
#define BOOL_UNMASK (VFIO_USER_IRQ_SET_DATA_BOOL | \
		     VFIO_USER_IRQ_SET_ACTION_UNMASK)

static void
efds_new(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		fds[i] = mi_efd();
}

static void
efds_close(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* Counters of n eventfds, read (and so reset). */
static void
efds_read(const int *fds, int n, uint64_t *out)
{
	for (int i = 0; i < n; i++)
		out[i] = mi_efd_read(fds[i]);
}

static void
assert_counts(const int *fds, const uint64_t *want, int n)
{
	uint64_t got[MI_MSIX_COUNT];

	efds_read(fds, n, got);
	for (int i = 0; i < n; i++) {
		if (got[i] != want[i])
			print_error("vector %d: %" PRIu64 " signals, want %"
				    PRIu64 "\n", i, got[i], want[i]);
		assert_int_equal(got[i], want[i]);
	}
}

static int
fds_now(void)
{
	return rc_count_fds();
}

/*
 * Our fd count once the server settled: fds it replaced are closed before
 * it replies, but those of a refused message only after its reply went out.
 */
static int
fds_settle(int want)
{
	MI_WAIT(fds_now() == want, 2000);
	return fds_now();
}

static void
test_msix_trigger_mask(void **state)
{
	struct mi_dev *d = &mi_b;
	int efd[MI_MSIX_COUNT], mefd, uefd, base, changed;
	struct rc c;

	(void)state;
	efds_new(efd, MI_MSIX_COUNT);
	mefd = mi_efd();
	uefd = mi_efd();
	mi_open(&c, d, NULL);
	base = fds_now();
	changed = mi_load(&d->irq_changed);

	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 4, NULL, efd, 4), 0);
	assert_int_equal(mi_load(&d->irq_changed), changed + 1);
	assert_int_equal(fds_settle(base + 4), base + 4);
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_MSIX), 4);
	assert_true(rte_vfio_user_get_irq(d->id, MI_MSIX, 0) >= 0);
	assert_int_equal(rte_vfio_user_get_irq(d->id, MI_MSIX, 5), -1);
	assert_int_equal(rte_vfio_user_get_irq(d->id, MI_MSIX, MI_MSIX_COUNT),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_get_irq(d->id, 7, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_get_irq(RTE_VFIO_USER_MAX_DEVICES - 1,
					       MI_MSIX, 0), -ENODEV);
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, 9), -EINVAL);

	/* the device raises vectors */
	assert_int_equal(mi_trigger(d, MI_MSIX, 1), 1);
	assert_counts(efd, (uint64_t[]){ 0, 1, 0, 0, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_trigger(d, MI_MSIX, 3), 1);
	assert_int_equal(mi_trigger(d, MI_MSIX, 3), 1);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 2, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_trigger(d, MI_MSIX, MI_MSIX_COUNT), -EINVAL);
	assert_int_equal(mi_trigger(d, 5, 0), -EINVAL);
	assert_int_equal(mi_trigger(&mi_a, MI_MSI, 0), -EINVAL);
	assert_int_equal(rte_vfio_user_irq_trigger(-1, MI_MSIX, 0), -ENODEV);
	assert_int_equal(rte_vfio_user_irq_clear(-1, MI_MSIX, 0), -ENODEV);
	assert_int_equal(rte_vfio_user_irq_clear(d->id, MI_MSIX, 99), -EINVAL);

	/* the client raises them: all, or a subset */
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 2, 1, NULL, NULL, 0),
			 0);
	assert_counts(efd, (uint64_t[]){ 0, 0, 1, 0, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 0, 4, NULL, NULL, 0),
			 0);
	assert_counts(efd, (uint64_t[]){ 1, 1, 1, 1, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_set_irqs(&c, BOOL_TRIG, MI_MSIX, 0, 4,
				     (uint8_t[]){ 1, 0, 1, 0 }, NULL, 0), 0);
	assert_counts(efd, (uint64_t[]){ 1, 0, 1, 0, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_set_irqs(&c, BOOL_TRIG, MI_MSIX, 1, 3,
				     (uint8_t[]){ 0, 0, 1 }, NULL, 0), 0);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 1, 0, 0, 0, 0 }, 8);

	/* no eventfd yet: latched, delivered when one is assigned */
	assert_int_equal(mi_trigger(d, MI_MSIX, 5), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 5, 1, NULL, &efd[5], 1),
			 0);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 0, 0, 1, 0, 0 }, 8);
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_MSIX), 5);

	/* mask: latched, no signal; unmask delivers it */
	assert_int_equal(mi_set_irqs(&c, NONE_MASK, MI_MSIX, 3, 1, NULL, NULL, 0),
			 0);
	assert_int_equal(mi_trigger(d, MI_MSIX, 3), 0);
	assert_int_equal(mi_trigger(d, MI_MSIX, 3), 0);
	assert_int_equal(mi_trigger(d, MI_MSIX, 2), 1);
	assert_counts(efd, (uint64_t[]){ 0, 0, 1, 0, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_MSIX, 3, 1, NULL, NULL,
				     0), 0);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 1, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_MSIX, 3, 1, NULL, NULL,
				     0), 0);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 0, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_trigger(d, MI_MSIX, 3), 1);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 1, 0, 0, 0, 0 }, 8);
	/* a client trigger of a masked vector is latched too */
	assert_int_equal(mi_set_irqs(&c, NONE_MASK, MI_MSIX, 0, 1, NULL, NULL, 0),
			 0);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 0, 1, NULL, NULL, 0),
			 0);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 0, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_MSIX, 0, 1, NULL, NULL,
				     0), 0);
	assert_counts(efd, (uint64_t[]){ 1, 0, 0, 0, 0, 0, 0, 0 }, 8);

	/* mask a subset with bools; clear drops a latched interrupt */
	assert_int_equal(mi_set_irqs(&c, BOOL_MASK, MI_MSIX, 0, 4,
				     (uint8_t[]){ 0, 1, 0, 1 }, NULL, 0), 0);
	assert_int_equal(mi_trigger(d, MI_MSIX, 0), 1);
	assert_int_equal(mi_trigger(d, MI_MSIX, 1), 0);
	assert_int_equal(mi_trigger(d, MI_MSIX, 2), 1);
	assert_int_equal(mi_trigger(d, MI_MSIX, 3), 0);
	assert_counts(efd, (uint64_t[]){ 1, 0, 1, 0, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_set_irqs(&c, BOOL_UNMASK, MI_MSIX, 1, 3,
				     (uint8_t[]){ 1, 0, 0 }, NULL, 0), 0);
	assert_counts(efd, (uint64_t[]){ 0, 1, 0, 0, 0, 0, 0, 0 }, 8);
	assert_int_equal(rte_vfio_user_irq_clear(d->id, MI_MSIX, 3), 0);
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_MSIX, 3, 1, NULL, NULL,
				     0), 0);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 0, 0, 0, 0, 0 }, 8);
	assert_int_equal(mi_trigger(d, MI_MSIX, 3), 1);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 1, 0, 0, 0, 0 }, 8);

	/* mask / unmask eventfds are signalled when the state changes */
	assert_int_equal(mi_set_irqs(&c, EV_MASK, MI_MSIX, 0, 1, NULL, &mefd, 1),
			 0);
	assert_int_equal(mi_set_irqs(&c, EV_UNMASK, MI_MSIX, 0, 1, NULL, &uefd, 1),
			 0);
	assert_int_equal(fds_settle(base + 5 + 2), base + 5 + 2);
	assert_int_equal(mi_set_irqs(&c, NONE_MASK, MI_MSIX, 0, 1, NULL, NULL, 0),
			 0);
	assert_int_equal(mi_efd_read(mefd), 1);
	assert_int_equal(mi_efd_read(uefd), 0);
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_MSIX, 0, 1, NULL, NULL,
				     0), 0);
	assert_int_equal(mi_efd_read(mefd), 0);
	assert_int_equal(mi_efd_read(uefd), 1);

	/* de-assign one vector: DATA_EVENTFD without fds */
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 1, 1, NULL, NULL, 0),
			 0);
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_MSIX), 4);
	assert_int_equal(rte_vfio_user_get_irq(d->id, MI_MSIX, 1), -1);
	assert_int_equal(fds_settle(base + 4 + 2), base + 4 + 2);
	assert_int_equal(mi_trigger(d, MI_MSIX, 1), 0);
	assert_int_equal(mi_trigger(d, MI_MSIX, 0), 1);
	assert_counts(efd, (uint64_t[]){ 1, 0, 0, 0, 0, 0, 0, 0 }, 8);

	/* refused, and the fds that came with them closed */
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 6, 1, NULL, &efd[6], 2),
			 -EINVAL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 6, 2, NULL, &efd[5], 3),
			 -EINVAL);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 6, 1, NULL, &efd[6],
				     1), -EINVAL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 7, 2, NULL, &efd[6], 2),
			 -EINVAL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 9, 1, NULL, &efd[6], 1),
			 -EINVAL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, 7, 0, 1, NULL, &efd[6], 1),
			 -EINVAL);
	assert_int_equal(fds_settle(base + 4 + 2), base + 4 + 2);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG | VFIO_USER_IRQ_SET_DATA_BOOL,
				     MI_MSIX, 0, 1, NULL, NULL, 0), -EINVAL);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG | NONE_MASK, MI_MSIX, 0, 1,
				     NULL, NULL, 0), -EINVAL);
	assert_int_equal(mi_set_irqs(&c, VFIO_USER_IRQ_SET_DATA_NONE, MI_MSIX, 0,
				     1, NULL, NULL, 0), -EINVAL);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG | (1u << 6), MI_MSIX, 0, 1,
				     NULL, NULL, 0), -EINVAL);
	assert_int_equal(mi_set_irqs(&c, BOOL_TRIG, MI_MSIX, 0, 0, NULL, NULL, 0),
			 -EINVAL);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 1, 0, NULL, NULL, 0),
			 -EINVAL);
	{	/* bools missing */
		struct vfio_user_irq_set s = { sizeof(s), BOOL_TRIG, MI_MSIX, 0,
					       2 };

		assert_int_equal(rc_call(&c, VFIO_USER_DEVICE_SET_IRQS, &s,
					 sizeof(s), NULL, 0, NULL), -EINVAL);
	}
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_MSIX), 4);

	/* disable the index: count 0 with DATA_NONE */
	changed = mi_load(&d->irq_changed);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 0, 0, NULL, NULL, 0),
			 0);
	assert_int_equal(mi_load(&d->irq_changed), changed + 1);
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_MSIX), 0);
	assert_int_equal(fds_settle(base), base);
	assert_int_equal(mi_trigger(d, MI_MSIX, 0), 0);
	assert_int_equal(mi_set_irqs(&c, NONE_MASK, MI_MSIX, 0, 1, NULL, NULL, 0),
			 0);
	assert_int_equal(mi_efd_read(mefd), 0);
	assert_counts(efd, (uint64_t[]){ 0, 0, 0, 0, 0, 0, 0, 0 }, 8);
	/* count 0 with DATA_NONE disables the index whatever the action (the
	 * spec names none) */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 4, NULL,
					     efd, 4),
				 0);
		assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_MSIX), 4);
		assert_int_equal(mi_set_irqs(&c, i ? NONE_UNMASK : NONE_MASK,
					     MI_MSIX, 0, 0, NULL, NULL, 0),
				 0);
		assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_MSIX), 0);
		assert_int_equal(fds_settle(base), base);
	}

	mi_close(&c, d);
	efds_close(efd, MI_MSIX_COUNT);
	close(mefd);
	close(uefd);
}

static void
test_not_maskable(void **state)
{
	int efd = mi_efd(), base;
	struct rc c;

	(void)state;
	mi_open(&c, &mi_a, NULL);
	base = fds_now();
	assert_int_equal(mi_set_irqs(&c, NONE_MASK, MI_ERR, 0, 1, NULL, NULL, 0),
			 -EINVAL);
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_ERR, 0, 1, NULL, NULL,
				     0), -EINVAL);
	assert_int_equal(mi_set_irqs(&c, BOOL_MASK, MI_ERR, 0, 1,
				     (uint8_t[]){ 1 }, NULL, 0), -EINVAL);
	assert_int_equal(mi_set_irqs(&c, EV_MASK, MI_ERR, 0, 1, NULL, &efd, 1),
			 -EINVAL);
	assert_int_equal(fds_settle(base), base);
	/* but it can be triggered */
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_ERR, 0, 1, NULL, &efd, 1), 0);
	assert_int_equal(mi_trigger(&mi_a, MI_ERR, 0), 1);
	assert_int_equal(mi_trigger(&mi_a, MI_ERR, 0), 1);
	assert_int_equal(mi_efd_read(efd), 2);
	/* an index without vectors */
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSI, 0, 1, NULL, &efd, 1),
			 -EINVAL);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_ERR, 0, 0, NULL, NULL, 0),
			 0);
	assert_int_equal(fds_settle(base), base);
	mi_close(&c, &mi_a);
	close(efd);
}

static void
test_intx_automask(void **state)
{
	struct mi_dev *d = &mi_a;
	int efd = mi_efd(), mefd = mi_efd();
	struct rc c;

	(void)state;
	mi_open(&c, d, NULL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_INTX, 0, 1, NULL, &efd, 1), 0);
	assert_int_equal(mi_set_irqs(&c, EV_MASK, MI_INTX, 0, 1, NULL, &mefd, 1),
			 0);
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_INTX), 1);

	/* fires once, then latches until unmasked */
	assert_int_equal(mi_trigger(d, MI_INTX, 0), 1);
	assert_int_equal(mi_trigger(d, MI_INTX, 0), 0);
	assert_int_equal(mi_trigger(d, MI_INTX, 0), 0);
	assert_int_equal(mi_efd_read(efd), 1);
	/* unmask re-raises the pending one, which masks again */
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_INTX, 0, 1, NULL, NULL,
				     0), 0);
	assert_int_equal(mi_efd_read(efd), 1);
	assert_int_equal(mi_trigger(d, MI_INTX, 0), 0);
	assert_int_equal(mi_efd_read(efd), 0);
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_INTX, 0, 1, NULL, NULL,
				     0), 0);
	assert_int_equal(mi_efd_read(efd), 1);
	/* nothing pending: unmask delivers nothing, the next trigger fires */
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_INTX, 0, 1, NULL, NULL,
				     0), 0);
	assert_int_equal(mi_efd_read(efd), 0);
	assert_int_equal(mi_trigger(d, MI_INTX, 0), 1);
	assert_int_equal(mi_efd_read(efd), 1);
	/* the device deasserts while masked: nothing on unmask */
	assert_int_equal(mi_trigger(d, MI_INTX, 0), 0);
	assert_int_equal(rte_vfio_user_irq_clear(d->id, MI_INTX, 0), 0);
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_INTX, 0, 1, NULL, NULL,
				     0), 0);
	assert_int_equal(mi_efd_read(efd), 0);
	/* a client trigger automasks too */
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_INTX, 0, 1, NULL, NULL, 0),
			 0);
	assert_int_equal(mi_efd_read(efd), 1);
	assert_int_equal(mi_trigger(d, MI_INTX, 0), 0);
	assert_int_equal(mi_efd_read(efd), 0);
	assert_int_equal(mi_set_irqs(&c, BOOL_UNMASK, MI_INTX, 0, 1,
				     (uint8_t[]){ 1 }, NULL, 0), 0);
	assert_int_equal(mi_efd_read(efd), 1);
	/* an explicit mask holds it as well */
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_INTX, 0, 1, NULL, NULL,
				     0), 0);
	mi_efd_read(mefd);
	assert_int_equal(mi_set_irqs(&c, NONE_MASK, MI_INTX, 0, 1, NULL, NULL, 0),
			 0);
	assert_int_equal(mi_efd_read(mefd), 1);
	assert_int_equal(mi_trigger(d, MI_INTX, 0), 0);
	assert_int_equal(mi_efd_read(efd), 0);
	assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_INTX, 0, 1, NULL, NULL,
				     0), 0);
	assert_int_equal(mi_efd_read(efd), 1);
	/* INTx has one vector */
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_INTX, 0, 2, NULL, NULL, 0),
			 -EINVAL);
	assert_int_equal(mi_trigger(d, MI_INTX, 1), -EINVAL);
	mi_close(&c, d);
	close(efd);
	close(mefd);
}

static void
test_msix_noresize(void **state)
{
	int efd[MI_MSIX_COUNT], efd2[MI_MSIX_COUNT], base;
	struct rc c;

	(void)state;
	efds_new(efd, MI_MSIX_COUNT);
	efds_new(efd2, MI_MSIX_COUNT);

	/* device A: NORESIZE. The set enabled first keeps its size until the
	 * index is disabled; vectors inside it can be changed one by one. */
	mi_open(&c, &mi_a, NULL);
	base = fds_now();
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 4, NULL, efd, 4), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 2, 1, NULL, &efd2[2],
				     1), 0);
	assert_int_equal(fds_settle(base + 4), base + 4);
	assert_int_equal(mi_trigger(&mi_a, MI_MSIX, 2), 1);
	assert_int_equal(mi_efd_read(efd2[2]), 1);
	assert_int_equal(mi_efd_read(efd[2]), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 5, 1, NULL, &efd[5], 1),
			 -EINVAL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 3, 2, NULL, &efd[3], 2),
			 -EINVAL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 8, NULL, efd, 8),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_a.id, MI_MSIX), 4);
	assert_int_equal(fds_settle(base + 4), base + 4);
	/* a vector de-assigned inside the set can come back */
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 3, 1, NULL, NULL, 0), 0);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_a.id, MI_MSIX), 3);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 3, 1, NULL, &efd[3], 1),
			 0);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_a.id, MI_MSIX), 4);
	/* resizing takes a disable first */
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 0, 0, NULL, NULL, 0),
			 0);
	assert_int_equal(fds_settle(base), base);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 8, NULL, efd, 8), 0);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_a.id, MI_MSIX), 8);
	assert_int_equal(mi_trigger(&mi_a, MI_MSIX, 7), 1);
	assert_int_equal(mi_efd_read(efd[7]), 1);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 0, 0, NULL, NULL, 0),
			 0);
	/* enabling [2, 4) sizes the set to 4 vectors: 0 may join, 4 not */
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 2, 2, NULL, &efd[2], 2),
			 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 1, NULL, efd, 1), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 4, 1, NULL, &efd[4], 1),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_a.id, MI_MSIX), 3);
	/* a client that proposed no max_msg_fds sends one fd a message (the
	 * spec's default): it enables a set of 8 in pieces, each starting
	 * where the last ended, and the set is 8; a piece that does not
	 * continue is still refused */
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 0, 0, NULL, NULL,
				     0),
			 0);
	for (int v = 0; v < 8; v++)
		assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, v, 1, NULL,
					     &efd[v], 1),
				 0);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_a.id, MI_MSIX), 8);
	assert_int_equal(mi_trigger(&mi_a, MI_MSIX, 7), 1);
	assert_int_equal(mi_efd_read(efd[7]), 1);
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 0, 0, NULL, NULL,
				     0),
			 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 1, NULL, efd, 1),
			 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 2, 1, NULL, &efd[2],
				     1),
			 -EINVAL);
	/* a piece continues the message just before it, no later one */
	assert_int_equal(mi_set_irqs(&c, NONE_TRIG, MI_MSIX, 0, 0, NULL, NULL,
				     0),
			 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 1, NULL, efd, 1),
			 0);
	{
		struct vfio_user_device_info in = { .argsz = sizeof(in) };

		assert_int_equal(rc_call(&c, VFIO_USER_DEVICE_GET_INFO, &in,
					 sizeof(in), NULL, 0, NULL),
				 0);
	}
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 1, 1, NULL, &efd[1],
				     1),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_a.id, MI_MSIX), 1);
	mi_close(&c, &mi_a);
	/* one that did (the reply says 16): a piece of fewer is the whole */
	mi_open(&c, &mi_a, "{\"capabilities\":{\"max_msg_fds\":16}}");
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 4, NULL, efd, 4),
			 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 4, 1, NULL, &efd[4],
				     1),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_a.id, MI_MSIX), 4);
	mi_close(&c, &mi_a);

	/* device B: vectors come and go freely */
	mi_open(&c, &mi_b, NULL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 0, 4, NULL, efd, 4), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 5, 1, NULL, &efd[5], 1),
			 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 6, 2, NULL, &efd[6], 2),
			 0);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_b.id, MI_MSIX), 7);
	assert_int_equal(mi_trigger(&mi_b, MI_MSIX, 6), 1);
	assert_int_equal(mi_efd_read(efd[6]), 1);
	mi_close(&c, &mi_b);
	efds_close(efd, MI_MSIX_COUNT);
	efds_close(efd2, MI_MSIX_COUNT);
}

static void
test_deassign_many(void **state)
{
	int efd[MI_MSI_COUNT_B + 1], base;
	struct rc c;

	(void)state;
	efds_new(efd, MI_MSI_COUNT_B + 1);
	mi_open(&c, &mi_b, NULL);
	base = fds_now();
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSI, 0, 64, NULL, efd, 64), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSI, 64, MI_MSI_COUNT_B - 64,
				     NULL, efd + 64, MI_MSI_COUNT_B - 64), 0);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_b.id, MI_MSI),
			 MI_MSI_COUNT_B);
	assert_int_equal(fds_settle(base + MI_MSI_COUNT_B), base + MI_MSI_COUNT_B);
	assert_int_equal(mi_trigger(&mi_b, MI_MSI, 99), 1);
	assert_int_equal(mi_efd_read(efd[99]), 1);
	/* more fds than one message may carry: refused, all closed */
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSI, 0, 65, NULL, efd, 65),
			 -EINVAL);
	assert_int_equal(fds_settle(base + MI_MSI_COUNT_B), base + MI_MSI_COUNT_B);
	/* de-assign them all at once, without fds */
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSI, 0, MI_MSI_COUNT_B, NULL,
				     NULL, 0), 0);
	assert_int_equal(rte_vfio_user_irq_enabled(mi_b.id, MI_MSI), 0);
	assert_int_equal(fds_settle(base), base);
	assert_int_equal(mi_trigger(&mi_b, MI_MSI, 99), 0);
	mi_close(&c, &mi_b);
	efds_close(efd, MI_MSI_COUNT_B + 1);
}

/* ---- a trigger racing an unmask must not be lost ---- */

#define RACE_ROUNDS 3000
#define RACE_QS 2u

struct racer {
	int round;	/* the main thread's go */
	int done;	/* the round this thread finished */
	int stop;
	int ret[RACE_ROUNDS];
	pthread_t th;
};

static void *
racer_run(void *arg)
{
	struct racer *r = arg;
	struct rte_rcu_qsbr *q = rte_vfio_user_get_qsbr(mi_b.id);
	int seen = 0;

	rte_rcu_qsbr_thread_register(q, RACE_QS);
	for (;;) {
		int go;

		while ((go = __atomic_load_n(&r->round, __ATOMIC_ACQUIRE)) == seen &&
		       !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
			;
		if (go == seen)
			break;
		seen = go;
		rte_rcu_qsbr_thread_online(q, RACE_QS);
		r->ret[go - 1] = rte_vfio_user_irq_trigger(mi_b.id, MI_MSIX, 7);
		rte_rcu_qsbr_thread_offline(q, RACE_QS);
		__atomic_store_n(&r->done, go, __ATOMIC_RELEASE);
	}
	rte_rcu_qsbr_thread_unregister(q, RACE_QS);
	return NULL;
}

static void
test_trigger_unmask_race(void **state)
{
	struct racer *r = calloc(1, sizeof(*r));
	int efd = mi_efd(), lost = 0, latched = 0;
	struct rc c;

	(void)state;
	mi_open(&c, &mi_b, NULL);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 7, 1, NULL, &efd, 1), 0);
	assert_int_equal(pthread_create(&r->th, NULL, racer_run, r), 0);
	for (int i = 1; i <= RACE_ROUNDS; i++) {
		assert_int_equal(mi_set_irqs(&c, NONE_MASK, MI_MSIX, 7, 1, NULL,
					     NULL, 0), 0);
		mi_efd_read(efd);
		__atomic_store_n(&r->round, i, __ATOMIC_RELEASE);
		assert_int_equal(mi_set_irqs(&c, NONE_UNMASK, MI_MSIX, 7, 1, NULL,
					     NULL, 0), 0);
		while (__atomic_load_n(&r->done, __ATOMIC_ACQUIRE) != i)
			sched_yield();
		/* latched or delivered, the interrupt must be out now */
		if (mi_efd_read(efd) == 0)
			lost++;
		if (r->ret[i - 1] == 0)
			latched++;
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	pthread_join(r->th, NULL);
	print_message("trigger/unmask race: %d of %d triggers hit the mask\n",
		      latched, RACE_ROUNDS);
	assert_int_equal(lost, 0);
	mi_close(&c, &mi_b);
	close(efd);
	free(r);
}

/* ---- reconfiguring a stopped device ---- */

static void
test_reconfigure_irqs(void **state)
{
	struct rte_vfio_user_dev_info info = { .num_irqs = 3 };
	struct rte_vfio_user_irq_info small = { RTE_VFIO_USER_IRQ_F_EVENTFD, 8 };
	struct rte_vfio_user_irq_info big = { RTE_VFIO_USER_IRQ_F_EVENTFD, 100 };
	struct mi_dev *d = calloc(1, sizeof(*d));
	int efd = mi_efd();
	struct rc c;

	(void)state;
	snprintf(d->path, sizeof(d->path), "%s/c.sock", mi_dir_path());
	d->id = rte_vfio_user_register(d->path, NULL, d);
	assert_true(d->id >= 0);
	assert_int_equal(rte_vfio_user_set_dev_info(d->id, &info), 0);
	assert_int_equal(rte_vfio_user_set_irq_info(d->id, MI_MSIX, &small), 0);
	assert_int_equal(rte_vfio_user_start(d->id), 0);
	assert_int_equal(rte_vfio_user_irq_trigger(d->id, MI_MSIX, 7), 0);
	assert_int_equal(rte_vfio_user_irq_trigger(d->id, MI_MSIX, 8), -EINVAL);
	assert_int_equal(rte_vfio_user_stop(d->id), 0);

	/* stopped: the description may change under the old vectors */
	assert_int_equal(rte_vfio_user_set_dev_info(d->id, &info), 0);
	assert_int_equal(rte_vfio_user_set_irq_info(d->id, MI_MSIX, &big), 0);
	assert_true(rte_vfio_user_irq_trigger(d->id, MI_MSIX, 50) <= 0);
	assert_true(rte_vfio_user_irq_enabled(d->id, MI_MSIX) <= 0);
	assert_int_equal(rte_vfio_user_start(d->id), 0);
	assert_int_equal(rte_vfio_user_irq_enabled(d->id, MI_MSIX), 0);
	assert_int_equal(rte_vfio_user_irq_trigger(d->id, MI_MSIX, 99), 0);

	assert_int_equal(rc_connect(&c, d->path, 2000), 0);
	mi_track(c.fd, NULL);
	assert_int_equal(rc_negotiate(&c, NULL, NULL), 0);
	assert_int_equal(mi_set_irqs(&c, EV_TRIG, MI_MSIX, 99, 1, NULL, &efd, 1),
			 0);
	/* latched before: delivered on assignment */
	assert_int_equal(mi_efd_read(efd), 1);
	assert_int_equal(rte_vfio_user_irq_trigger(d->id, MI_MSIX, 99), 1);
	assert_int_equal(mi_efd_read(efd), 1);
	mi_untrack(c.fd);
	rc_close(&c);
	assert_int_equal(rte_vfio_user_unregister(d->id), 0);
	close(efd);
	free(d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, mi_test_setup, mi_test_teardown)
const struct CMUnitTest mi_irq_tests[] = {
	T(test_msix_trigger_mask),
	T(test_not_maskable),
	T(test_intx_automask),
	T(test_msix_noresize),
	T(test_deassign_many),
	T(test_trigger_unmask_race),
	T(test_reconfigure_irqs),
};
const size_t mi_irq_tests_n = sizeof(mi_irq_tests) / sizeof(mi_irq_tests[0]);
