/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_PMD_LSC_H
#define VU_PMD_LSC_H

#include <stdint.h>

/*
 * Link state change events, told to the application from an alarm on the
 * EAL interrupt thread, as a hardware NIC's are, one per change, in
 * order: never from the thread that saw the change. That thread may hold
 * the port's lock, or be the library's event thread, or the application's
 * own in rte_eth_dev_start(); a callback that stops or closes the port
 * there would wait for itself.
 */
struct vu_pmd_lsc {
	uint16_t port;
	uint32_t pending;	/* changes not told yet */
};

/* Ready to tell port's changes. */
void vu_pmd_lsc_init(struct vu_pmd_lsc *l, uint16_t port);

/* One change of the port's link (already stored with
 * rte_eth_linkstatus_set()), to tell if the application configured
 * intr_conf.lsc. Any thread, any lock held. */
void vu_pmd_lsc_raise(struct vu_pmd_lsc *l);

/* No more events: at close, once nothing raises one any more, with no
 * lock held that an LSC callback may want (the port's): waits for a
 * callback running on another thread; from a callback (a close there),
 * that one goes on. */
void vu_pmd_lsc_fini(struct vu_pmd_lsc *l);

#endif /* VU_PMD_LSC_H */
