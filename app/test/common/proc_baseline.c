/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc_baseline.h"

/* A whole small file of /proc (its size is unknown beforehand). */
static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 16, len = 0, n;
	char *buf = malloc(cap), *nb;

	if (f == NULL || buf == NULL)
		goto fail;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			nb = realloc(buf, cap);
			if (nb == NULL)
				goto fail;
			buf = nb;
		}
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
fail:
	if (f != NULL)
		fclose(f);
	free(buf);
	return NULL;
}

/* "fd -> target\n" for each open fd but the directory's own; *n: count. */
static char *
fd_list(int *n)
{
	DIR *d = opendir("/proc/self/fd");
	size_t cap = 1 << 14, len = 0;
	char *buf = malloc(cap), *nb;
	struct dirent *e;

	*n = 0;
	if (d == NULL || buf == NULL) {
		if (d != NULL)
			closedir(d);
		free(buf);
		return NULL;
	}
	buf[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		char link[64], target[PATH_MAX] = "?";
		ssize_t tl;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		tl = readlink(link, target, sizeof(target) - 1);
		target[tl > 0 ? tl : 1] = '\0';
		if (len + strlen(target) + 32 >= cap) {
			cap = 2 * cap + strlen(target);
			nb = realloc(buf, cap);
			if (nb == NULL)
				break;
			buf = nb;
		}
		len += (size_t)snprintf(buf + len, cap - len, "%d -> %s\n", fd,
					target);
		(*n)++;
	}
	closedir(d);
	return buf;
}

/* Count the mappings of a maps text: of a file (or named), anonymous. */
static void
maps_count(const char *text, int *named, int *anon)
{
	const char *line = text;

	*named = *anon = 0;
	while (line != NULL && *line != '\0') {
		const char *p = line;

		/* address perms offset dev inode, then the name if any */
		for (int field = 0; field < 5; field++) {
			p += strcspn(p, " \n");
			p += strspn(p, " ");
		}
		if (*p == '\n' || *p == '\0')
			(*anon)++;
		else
			(*named)++;
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
}

int
pb_take(struct pb *b)
{
	memset(b, 0, sizeof(*b));
	b->fd_text = fd_list(&b->fds);
	b->maps_text = read_all("/proc/self/maps");
	if (b->fd_text == NULL || b->maps_text == NULL) {
		pb_free(b);
		return -1;
	}
	maps_count(b->maps_text, &b->named, &b->anon);
	return 0;
}

bool
pb_back(const struct pb *b)
{
	struct pb now;
	bool ok;

	if (pb_take(&now) < 0)
		return false;
	ok = now.fds == b->fds && now.named == b->named &&
	     now.anon <= b->anon + PB_ANON_SLACK &&
	     now.anon >= b->anon - PB_ANON_SLACK;
	pb_free(&now);
	return ok;
}

bool
pb_wait_back(const struct pb *b, unsigned int ms, FILE *out)
{
	struct timespec nap = { 0, 1000000 };

	for (unsigned int waited = 0; waited < ms; waited++) {
		if (pb_back(b))
			return true;
		nanosleep(&nap, NULL);
	}
	if (pb_back(b))
		return true;
	pb_report(b, out);
	return false;
}

/* Print the lines of now that are not in then. */
static void
report_new(const char *what, const char *then, const char *now, FILE *out)
{
	const char *line = now;

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) + 1 :
					   strlen(line);
		char *copy = strndup(line, len);

		if (copy != NULL && strstr(then, copy) == NULL)
			fprintf(out, "new %s: %s", what, copy);
		free(copy);
		line = end != NULL ? end + 1 : NULL;
	}
}

void
pb_report(const struct pb *b, FILE *out)
{
	struct pb now;

	if (pb_take(&now) < 0) {
		fprintf(out, "cannot read /proc/self\n");
		return;
	}
	fprintf(out,
		"fds %d (baseline %d), mappings %d + %d anonymous "
		"(baseline %d + %d)\n",
		now.fds, b->fds, now.named, now.anon, b->named, b->anon);
	report_new("fd", b->fd_text, now.fd_text, out);
	report_new("mapping", b->maps_text, now.maps_text, out);
	pb_free(&now);
}

void
pb_free(struct pb *b)
{
	free(b->fd_text);
	free(b->maps_text);
	b->fd_text = NULL;
	b->maps_text = NULL;
}

int
pb_threads(const char *comm, long *tid)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char path[300], name[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(name, sizeof(name), f) != NULL) {
			name[strcspn(name, "\n")] = '\0';
			if (strcmp(name, comm) == 0 && n++ == 0 && tid != NULL)
				*tid = strtol(e->d_name, NULL, 10);
		}
		fclose(f);
	}
	closedir(d);
	return n;
}
