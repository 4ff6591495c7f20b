/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/* Link state change events, from an alarm (see vu_pmd_lsc.h). */

#include <string.h>

#include <ethdev_driver.h>
#include <rte_alarm.h>

#include "vu_pmd_lsc.h"

static void lsc_alarm(void *arg);

static void
lsc_arm(struct vu_pmd_lsc *l)
{
	int ret = rte_eal_alarm_set(1, lsc_alarm, l);

	if (ret != 0) {
		RTE_LOG(ERR, PMD, "port %u: link state change events lost: "
			"no alarm (%s)\n", l->port, strerror(-ret));
		__atomic_store_n(&l->pending, 0, __ATOMIC_RELEASE);
	}
}

static void
lsc_alarm(void *arg)
{
	struct vu_pmd_lsc *l = arg;
	uint16_t port = l->port;

	/* the next one is set before the callback, which may close the
	 * port and free l (the close cancels the next one) */
	if (__atomic_sub_fetch(&l->pending, 1, __ATOMIC_ACQ_REL) > 0)
		lsc_arm(l);
	rte_eth_dev_callback_process(&rte_eth_devices[port],
				     RTE_ETH_EVENT_INTR_LSC, NULL);
}

void
vu_pmd_lsc_init(struct vu_pmd_lsc *l, uint16_t port)
{
	l->port = port;
	l->pending = 0;
}

void
vu_pmd_lsc_raise(struct vu_pmd_lsc *l)
{
	if (!rte_eth_devices[l->port].data->dev_conf.intr_conf.lsc)
		return;
	if (__atomic_fetch_add(&l->pending, 1, __ATOMIC_ACQ_REL) == 0)
		lsc_arm(l);
}

void
vu_pmd_lsc_fini(struct vu_pmd_lsc *l)
{
	rte_eal_alarm_cancel(lsc_alarm, l);
	__atomic_store_n(&l->pending, 0, __ATOMIC_RELEASE);
}
