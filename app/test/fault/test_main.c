/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * fault: fault injection against librte_vfio_user with the server in this
 * process (the memory_irq fixture): clients killed at each step, fds
 * exhausted at accept, DMA_MAP mmap failures, the socket file removed or
 * replaced while serving. An optional argument selects tests by name
 * (cmocka filter, '*' allowed).
 */

#include <malloc.h>
#include <stdio.h>

#include "fault.h"

int
main(int argc, char **argv)
{
	int failed = 0;

	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	/*
	 * The baselines count anonymous mappings: one malloc arena, so that
	 * threads that contend do not map new arenas in the middle of a test,
	 * and no malloc through mmap(), so that a connection's 1 MiB buffers,
	 * freed on the event thread a little after the teardown the tests can
	 * see, come and go from the heap rather than as mappings.
	 */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	if (mi_server_setup(NULL) != 0) {
		fprintf(stderr, "fault: cannot set up the devices\n");
		return 1;
	}
	/* the bystander's client, for every test; then one client cycle on
	 * the victim so that baselines are taken with warm allocators */
	if (fault_probe_start() != 0) {
		fprintf(stderr, "fault: cannot start the prober\n");
		mi_server_teardown(NULL);
		return 1;
	}
	alarm(100);
	fault_warm_up(&mi_a);
	alarm(0);
	failed += _cmocka_run_group_tests("die", fault_die_tests,
					  fault_die_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("emfile", fault_emfile_tests,
					  fault_emfile_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("mmap", fault_mmap_tests,
					  fault_mmap_tests_n, NULL, NULL);
	failed += _cmocka_run_group_tests("sock", fault_sock_tests,
					  fault_sock_tests_n, NULL, NULL);
	fault_probe_stop();
	mi_server_teardown(NULL);
	return failed != 0;
}
