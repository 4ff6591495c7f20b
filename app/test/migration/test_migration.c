/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * migration: the library's migration protocol (vu_mig.c) with in-process
 * test devices, checked through the raw test client and through the
 * client API. An optional argument selects tests by name (cmocka filter).
 */

#include <stdio.h>

#include "mt_common.h"

int
main(int argc, char **argv)
{
	int failed = 0;

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	if (mt_server_setup() != 0) {
		fprintf(stderr, "migration: cannot set up the devices\n");
		return 1;
	}
	failed += _cmocka_run_group_tests("fsm", mt_fsm_tests, mt_fsm_tests_n,
					  NULL, NULL);
	failed += _cmocka_run_group_tests("data", mt_data_tests,
					  mt_data_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("client", mt_client_tests,
					  mt_client_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("logging", mt_logging_tests,
					  mt_logging_tests_n, NULL, NULL);
	mt_server_teardown();
	return failed != 0;
}
