/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_EAL_EXIT_H
#define VU_EAL_EXIT_H

/*
 * rte_eal_cleanup(), then the process's EAL runtime directory removed
 * (/var/run/dpdk/<file-prefix>, which EAL leaves behind: a test or tool
 * run with a --file-prefix of its own per process would leave one each
 * run). Only what EAL puts there is removed, and only in a directory of
 * our own prefix. Header-only: the tests, the ring benchmark and the fuzz
 * harnesses share it.
 */

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

/* Remove the files in dir (EAL's: config, fbarrays, sockets), then dir. */
static inline void
vu_eal_rundir_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
		    (int)sizeof(path))
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* The runtime directory of another process of this machine with EAL
 * --file-prefix prefix (a testpmd a test started): beside ours. */
static inline void
vu_eal_rundir_of(const char *prefix, char *buf, size_t size)
{
	const char *ours = rte_eal_get_runtime_dir();
	const char *slash = strrchr(ours, '/');
	int n = slash != NULL ? (int)(slash - ours) : 0;

	snprintf(buf, size, "%.*s/%s", n, ours, prefix);
}

static inline int
vu_eal_exit(void)
{
	char dir[PATH_MAX];
	int ret;

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	ret = rte_eal_cleanup();
	if (dir[0] != '\0')
		vu_eal_rundir_remove(dir);
	return ret;
}

#endif /* VU_EAL_EXIT_H */
