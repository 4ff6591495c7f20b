/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Link state change callbacks of both PMDs, as an application uses them:
 * they run on the EAL interrupt thread (as a hardware NIC's do), and the
 * port may be stopped or closed from them. Before, the frontend ran them
 * with its port's lock held (a stop from the callback hung the interrupt
 * thread) and on the library's event thread (a close from the callback
 * waited for that thread), and the device port on the library's event
 * thread (a close waited for it too). Both PMDs in one process.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>

#include "inproc_pair.h"

#define BE_NAME "net_vfio_user0"
#define FE_NAME "net_virtio_vfio_user0"
#define WAIT_MS 3000

enum action { NOTHING, STOP, CLOSE };

/* What the callback does at the first link-down event of its port. */
struct lsc_probe {
	uint16_t port;
	enum action action;
	int events;		/* LSC events seen */
	int acted;		/* the action is done */
	int rc;			/* what it returned */
	int off_intr;		/* events seen off the interrupt thread */
};

static struct {
	struct inproc_pair p;
	char fe_args[160];
	struct lsc_probe be, fe;	/* static: see on_lsc() */
} g;

static int
on_lsc(uint16_t port, enum rte_eth_event_type ev, void *arg, void *ret)
{
	struct lsc_probe *pr = arg;
	int rc = 0;

	(void)ret;
	if (ev != RTE_ETH_EVENT_INTR_LSC || port != pr->port)
		return 0;
	if (!rte_thread_is_intr())
		__atomic_add_fetch(&pr->off_intr, 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&pr->events, 1, __ATOMIC_RELEASE);
	if (getenv("LSC_TRACE") != NULL)
		printf("port %u: LSC, link %s\n", port,
		       inproc_link_up(port) ? "up" : "down");
	if (inproc_link_up(port) ||
	    __atomic_load_n(&pr->acted, __ATOMIC_ACQUIRE))
		return 0;
	if (pr->action == STOP)
		rc = rte_eth_dev_stop(port);
	else if (pr->action == CLOSE)	/* ethdev closes stopped ports */
		rc = rte_eth_dev_stop(port) | rte_eth_dev_close(port);
	else
		return 0;
	pr->rc = rc;
	if (pr->action == CLOSE)	/* its registration outlives the port */
		pr->port = RTE_MAX_ETHPORTS;
	__atomic_store_n(&pr->acted, 1, __ATOMIC_RELEASE);
	return 0;
}

static bool
wait_for(const int *flag)
{
	for (int i = 0; i < WAIT_MS; i++) {
		if (__atomic_load_n(flag, __ATOMIC_ACQUIRE))
			return true;
		rte_delay_ms(1);
	}
	return false;
}

/* The callback did not end: the interrupt or event thread is stuck in
 * it, and the teardown would be too. */
static void
assert_acted(const struct lsc_probe *pr)
{
	if (!wait_for(&pr->acted)) {
		fprintf(stderr, "port %u: the LSC callback's %s did not end in "
			"%d ms\n", pr->port, pr->action == STOP ? "stop" :
			"close", WAIT_MS);
		fflush(NULL);
		_exit(1);
	}
	assert_int_equal(pr->rc, 0);
	assert_int_equal(pr->off_intr, 0);
}

/* port configured with LSC interrupts, one queue pair, started */
static void
port_up_lsc(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { .intr_conf = { .lsc = 1 } };

	assert_int_equal(inproc_port_start(port, &conf, 0, 0, mp), 0);
}

static bool
links_up(void)
{
	return inproc_link_wait(g.p.be, true, WAIT_MS) &&
	       inproc_link_wait(g.p.fe, true, WAIT_MS);
}

/* A port of vdev name, whose port (if any) may be closed already, probed
 * again with args and brought up with LSC. */
static uint16_t
reprobe(const char *name, const char *args, struct rte_mempool *mp)
{
	uint16_t port;

	assert_int_equal(rte_vdev_uninit(name), 0);
	assert_int_equal(rte_vdev_init(name, args), 0);
	assert_int_equal(rte_eth_dev_get_port_by_name(name, &port), 0);
	port_up_lsc(port, mp);
	return port;
}

static void
probe_register(struct lsc_probe *pr, uint16_t port, enum action a)
{
	*pr = (struct lsc_probe){ .port = port, .action = a };
	assert_int_equal(rte_eth_dev_callback_register(
				 port, RTE_ETH_EVENT_INTR_LSC, on_lsc, pr),
			 0);
}

static void
probe_unregister(struct lsc_probe *pr)
{
	rte_eth_dev_callback_unregister(pr->port, RTE_ETH_EVENT_INTR_LSC,
					on_lsc, pr);
}

/* The device port stops: the frontend's link goes down (the device's
 * configuration interrupt) and its callback stops the frontend. */
static void
test_fe_stop_from_callback(void **state)
{
	(void)state;
	probe_register(&g.fe, g.p.fe, STOP);
	assert_int_equal(rte_eth_dev_stop(g.p.be), 0);
	assert_acted(&g.fe);
	probe_unregister(&g.fe);
	assert_int_equal(rte_eth_dev_start(g.p.be), 0);
	assert_int_equal(rte_eth_dev_start(g.p.fe), 0);
	assert_true(links_up());
}

/* The device goes away: the frontend's link goes down (the socket
 * closed) and its callback closes the frontend. */
static void
test_fe_close_from_callback(void **state)
{
	char be_args[128];

	(void)state;
	probe_register(&g.fe, g.p.fe, CLOSE);
	assert_int_equal(rte_vdev_uninit(BE_NAME), 0);
	assert_acted(&g.fe);
	snprintf(be_args, sizeof(be_args), "path=%s", g.p.sock);
	assert_int_equal(rte_vdev_init(BE_NAME, be_args), 0);
	assert_int_equal(rte_eth_dev_get_port_by_name(BE_NAME, &g.p.be), 0);
	port_up_lsc(g.p.be, g.p.be_mp);
	g.p.fe = reprobe(FE_NAME, g.fe_args, g.p.fe_mp);
	assert_true(links_up());
}

/* The frontend stops (its driver resets the device): the device port's
 * link goes down and its callback does a. */
static void
be_action_on_fe_stop(enum action a)
{
	char be_args[128];

	probe_register(&g.be, g.p.be, a);
	assert_int_equal(rte_eth_dev_stop(g.p.fe), 0);
	assert_int_equal(rte_eth_dev_close(g.p.fe), 0);
	assert_acted(&g.be);
	if (a == STOP)
		probe_unregister(&g.be);
	if (a == STOP) {
		assert_int_equal(rte_eth_dev_start(g.p.be), 0);
	} else {
		snprintf(be_args, sizeof(be_args), "path=%s", g.p.sock);
		g.p.be = reprobe(BE_NAME, be_args, g.p.be_mp);
	}
	g.p.fe = reprobe(FE_NAME, g.fe_args, g.p.fe_mp);
	assert_true(links_up());
}

static void
test_be_stop_from_callback(void **state)
{
	(void)state;
	be_action_on_fe_stop(STOP);
}

static void
test_be_close_from_callback(void **state)
{
	(void)state;
	be_action_on_fe_stop(CLOSE);
}

/* Each change is told, on the interrupt thread, after the call that made
 * it has returned; none without a change. */
static void
test_events_counted(void **state)
{
	struct lsc_probe *be = &g.be, *fe = &g.fe;

	(void)state;
	probe_register(be, g.p.be, NOTHING);
	probe_register(fe, g.p.fe, NOTHING);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(rte_eth_dev_stop(g.p.fe), 0);
		assert_int_equal(rte_eth_dev_start(g.p.fe), 0);
		assert_true(links_up());
	}
	/* the frontend's link went down and up 3 times; the device's
	 * stayed up (a stop does not reset the device) */
	for (int i = 0; i < WAIT_MS && fe->events < 6; i++)
		rte_delay_ms(1);
	rte_delay_ms(100);
	assert_int_equal(fe->events, 6);
	assert_int_equal(fe->off_intr, 0);
	assert_int_equal(be->events, 0);
	probe_unregister(be);
	probe_unregister(fe);
}

static int
group_setup(void **state)
{
	(void)state;
	if (inproc_pair_up(&g.p, "lsc", "--no-huge -m 256", "") != 0)
		return -1;
	snprintf(g.fe_args, sizeof(g.fe_args), "path=%s", g.p.sock);
	assert_int_equal(rte_eth_dev_stop(g.p.fe), 0);
	assert_int_equal(rte_eth_dev_stop(g.p.be), 0);
	/* the events of these starts (one per port) told before the
	 * tests count theirs, however late the interrupt thread runs */
	probe_register(&g.be, g.p.be, NOTHING);
	probe_register(&g.fe, g.p.fe, NOTHING);
	port_up_lsc(g.p.be, g.p.be_mp);
	port_up_lsc(g.p.fe, g.p.fe_mp);
	if (!links_up() || !wait_for(&g.be.events) || !wait_for(&g.fe.events))
		return -1;
	probe_unregister(&g.be);
	probe_unregister(&g.fe);
	return 0;
}

/* argv[1], if any: the tests to run (cmocka's filter, e.g. "test_fe_*") */
int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_counted),
		cmocka_unit_test(test_fe_stop_from_callback),
		cmocka_unit_test(test_fe_close_from_callback),
		cmocka_unit_test(test_be_stop_from_callback),
		cmocka_unit_test(test_be_close_from_callback),
	};

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	return cmocka_run_group_tests_name("lsc", tests, group_setup,
					   inproc_group_teardown);
}
