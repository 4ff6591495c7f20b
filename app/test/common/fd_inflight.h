/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef FD_INFLIGHT_H
#define FD_INFLIGHT_H

/*
 * The kernel's limit on fds in flight over UNIX sockets (sent with
 * SCM_RIGHTS, not yet received): past RLIMIT_NOFILE of them for the
 * sending user, sendmsg() fails with ETOOMANYREFS, unless the sender has
 * CAP_SYS_RESOURCE or CAP_SYS_ADMIN; the count is per real uid. A test
 * puts this process under that limit for a while: a low RLIMIT_NOFILE,
 * and, as root, user nobody (real and effective uid; the saved uid stays
 * 0, so it is undone).
 */

#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

struct fi_limit {
	struct rlimit saved;
	uid_t euid;
	unsigned int limit;	/* the soft RLIMIT_NOFILE set */
	int many[2];		/* hold the fds parked in flight: most */
	int sv[2];		/* the last ones, a message each */
	int parked;		/* the fd they are copies of */
};

/*
 * Lower RLIMIT_NOFILE to just above the fds open now and become nobody
 * if root; then park fds in flight over a socket pair of
 * its own until the kernel refuses one, and take room of them back: the
 * process may have about room more fds in flight. Returns 1 when done, 0
 * if the kernel refused none (the caller skips: the limit does not apply
 * here; fi_limit_end() done already), -1 on error (errno; ENOSPC: other
 * processes of the user hold fds in flight, no room could be made).
 */
int fi_limit_begin(struct fi_limit *s, unsigned int room);

/* Take n more of the parked fds out of flight (any thread): room for n
 * more. 0, or -1 if there were not so many. */
int fi_limit_give(struct fi_limit *s, unsigned int n);

/* Take the parked fds out of flight, restore the uid and RLIMIT_NOFILE. */
void fi_limit_end(struct fi_limit *s);

#endif /* FD_INFLIGHT_H */
