/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Refused clients (lib/vfio_user/vu_refuse.c): a connection to a device
 * that has a client is answered (EBUSY) and read until it goes, for at
 * most 2 s. At the last unregister, refusals still pending end with it:
 * their sockets close and the event thread goes, as it does without them.
 * The process is the library's only user here (no other device).
 */

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_vfio_user.h>

#include "proc_baseline.h"

static int
event_threads(void)
{
	return pb_threads("vfio-user-evt", NULL);
}

static int
connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
test_refusal_ends_at_last_unregister(void **state)
{
	const struct rte_vfio_user_dev_info info = { .num_irqs = 1 };
	const struct rte_vfio_user_irq_info irq = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD,
		.count = 1,
	};
	char dir[] = "/tmp/vu-refuse.XXXXXX", path[64];
	struct pollfd pf;
	int id, c1, c2, i;
	char b;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dev.sock", dir);
	id = rte_vfio_user_register(path, NULL, NULL);
	assert_true(id >= 0);
	assert_int_equal(rte_vfio_user_set_dev_info(id, &info), 0);
	assert_int_equal(rte_vfio_user_set_irq_info(id, 0, &irq), 0);
	assert_int_equal(rte_vfio_user_start(id), 0);
	assert_int_equal(event_threads(), 1);

	c1 = connect_to(path);
	for (i = 0; i < 200 && rte_vfio_user_is_idle(id) == 1; i++)
		sleep_ms(10);
	c2 = connect_to(path);	/* refused; it sends nothing */
	sleep_ms(200);
	assert_int_equal(rte_vfio_user_unregister(id), 0);

	/* the event thread goes at once, the refused socket closes */
	for (i = 0; i < 100 && event_threads() > 0; i++)
		sleep_ms(10);
	assert_int_equal(event_threads(), 0);
	pf = (struct pollfd){ .fd = c2, .events = POLLIN };
	assert_int_equal(poll(&pf, 1, 1000), 1);
	assert_int_equal(recv(c2, &b, 1, MSG_DONTWAIT), 0);
	close(c2);
	close(c1);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusal_ends_at_last_unregister),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
