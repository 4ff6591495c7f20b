/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The frontend port's MAC address (rte_eth_dev_default_mac_addr_set(),
 * testpmd's "mac_addr set"): the port takes it, and the device hears of
 * it through VIRTIO_NET_CTRL_MAC_ADDR_SET (its configuration space shows
 * it), at once and again after the frontend set the device up anew. Both
 * PMDs in one process; the device's view read from its private data.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_ethdev.h>
#include <rte_vfio_user.h>

#include "inproc_pair.h"
#include "vun.h"

static struct inproc_pair g;

/* The MAC address the configuration space of the device on sock shows
 * its driver. */
static struct rte_ether_addr
device_mac_of(const char *sock)
{
	int id = rte_vfio_user_get_dev_id(sock);
	const struct vun_dev *v;

	assert_true(id >= 0);
	v = rte_vfio_user_get_priv(id);
	assert_non_null(v);
	return v->guest_mac;
}

static struct rte_ether_addr
device_mac(void)
{
	return device_mac_of(g.sock);
}

static void
assert_mac(const struct rte_ether_addr *a, const struct rte_ether_addr *b)
{
	char x[RTE_ETHER_ADDR_FMT_SIZE], y[RTE_ETHER_ADDR_FMT_SIZE];

	rte_ether_format_addr(x, sizeof(x), a);
	rte_ether_format_addr(y, sizeof(y), b);
	if (!rte_is_same_ether_addr(a, b))
		fail_msg("MAC %s, %s expected", x, y);
}

static void
test_mac_set(void **state)
{
	const struct rte_ether_addr set = {
		.addr_bytes = { 0x02, 0x42, 0x11, 0x22, 0x33, 0x44 } };
	struct rte_ether_addr be_mac, fe_mac, dev;
	struct rte_eth_conf conf = { 0 };

	(void)state;
	/* at first the port has the device's address, and the device was
	 * not told any */
	assert_int_equal(rte_eth_macaddr_get(g.be, &be_mac), 0);
	assert_int_equal(rte_eth_macaddr_get(g.fe, &fe_mac), 0);
	assert_mac(&fe_mac, &be_mac);
	dev = device_mac();
	assert_mac(&dev, &be_mac);

	/* set: the port's, and the device's at once */
	assert_int_equal(rte_eth_dev_default_mac_addr_set(g.fe,
			 (struct rte_ether_addr *)(uintptr_t)&set), 0);
	assert_int_equal(rte_eth_macaddr_get(g.fe, &fe_mac), 0);
	assert_mac(&fe_mac, &set);
	dev = device_mac();
	assert_mac(&dev, &set);

	/* the frontend sets the device up again (its receive checksum
	 * offloads enabled: a reset, which gives the device its own
	 * address back): told again */
	conf.rxmode.offloads = RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
			       RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
	assert_int_equal(inproc_fe_restart(&g, &conf), 0);
	dev = device_mac();
	assert_mac(&dev, &set);
	assert_int_equal(rte_eth_macaddr_get(g.fe, &fe_mac), 0);
	assert_mac(&fe_mac, &set);

	/* a stopped port takes one too; the device, still set up, hears
	 * of it at once */
	assert_int_equal(rte_eth_dev_stop(g.fe), 0);
	assert_int_equal(rte_eth_dev_default_mac_addr_set(g.fe, &be_mac), 0);
	dev = device_mac();
	assert_mac(&dev, &be_mac);
	assert_int_equal(rte_eth_dev_start(g.fe), 0);
	assert_true(inproc_link_wait(g.fe, true, 3000));
}

/*
 * A frontend probed before its device exists (reconnect=) takes a random
 * address; once the device comes, the port has the device's, and a start
 * (where ethdev gives the port's address to the PMD again) leaves the
 * device its own.
 */
static void
test_mac_of_late_device(void **state)
{
	const struct rte_ether_addr want = {
		.addr_bytes = { 0x02, 0x76, 0x6d, 0x00, 0x00, 0x07 }
	};
	struct rte_ether_addr mac, dev;
	char sock[128];
	uint16_t fe, be;

	(void)state;
	snprintf(sock, sizeof(sock), "%s/late.sock", g.dir);
	assert_int_equal(inproc_frontend_add(&g, "net_virtio_vfio_user1", sock,
					     "reconnect=20", 1, &fe),
			 0);
	assert_int_equal(inproc_device_add(&g, "net_vfio_user1", sock,
					   "mac=02:76:6d:00:00:07", &be),
			 0);
	assert_true(inproc_link_wait(fe, true, 5000));
	assert_int_equal(rte_eth_macaddr_get(fe, &mac), 0);
	assert_mac(&mac, &want);
	assert_int_equal(rte_eth_dev_stop(fe), 0);
	assert_int_equal(rte_eth_dev_start(fe), 0);
	assert_true(inproc_link_wait(fe, true, 3000));
	dev = device_mac_of(sock);
	assert_mac(&dev, &want);
	assert_int_equal(rte_eth_dev_stop(fe), 0);
	assert_int_equal(rte_eth_dev_close(fe), 0);
	assert_int_equal(rte_eth_dev_stop(be), 0);
	assert_int_equal(rte_eth_dev_close(be), 0);
}

static int
group_setup(void **state)
{
	(void)state;
	return inproc_pair_up(&g, "fe_mac", "--no-huge -m 256", "") == 0 ? 0 :
									   -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_set),
		cmocka_unit_test(test_mac_of_late_device),
	};

	return cmocka_run_group_tests_name("fe_mac", tests, group_setup,
					   inproc_group_teardown);
}
