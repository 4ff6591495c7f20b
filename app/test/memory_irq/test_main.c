/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * memory_irq: client memory and interrupts of librte_vfio_user, with the
 * server in this process and the raw test client on the other end.
 * An optional argument selects tests by name (cmocka filter, '*' allowed).
 */

#include <stdio.h>

#include "mi_common.h"

int
main(int argc, char **argv)
{
	int failed = 0;

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (mi_server_setup(NULL) != 0) {
		fprintf(stderr, "memory_irq: cannot set up the devices\n");
		return 1;
	}
	failed += _cmocka_run_group_tests("dma", mi_dma_tests, mi_dma_tests_n,
					  NULL, NULL);
	failed += _cmocka_run_group_tests("dirty", mi_dirty_tests,
					  mi_dirty_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("irq", mi_irq_tests, mi_irq_tests_n,
					  NULL, NULL);
	failed += _cmocka_run_group_tests("conn", mi_conn_tests,
					  mi_conn_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("hostile", mi_hostile_tests,
					  mi_hostile_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("sock", mi_sock_tests,
					  mi_sock_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("segments", mi_segments_tests,
					  mi_segments_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("handoff", mi_handoff_tests,
					  mi_handoff_tests_n, NULL, NULL);
	mi_server_teardown(NULL);
	return failed != 0;
}
