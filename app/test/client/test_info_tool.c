/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * dpdk-vfio-user-info against info_test_device: the text output and the
 * --json object describe the device as it is, and the tool fails clearly
 * for a missing socket and for bad arguments.
 *
 * Usage: test_info_tool <info_test_device> <dpdk-vfio-user-info>
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "raw_client.h"

#define RUN_TIMEOUT_MS 20000

static const char *device_bin;
static const char *tool_bin;
static char tmpdir[64];
static char sock[128];
static char device_err[128];	/* the device's stderr */
static pid_t device_pid = -1;
static bool teardown_failed;

struct run {
	int status;		/* exit code, or -1 if killed */
	char out[65536];
	size_t outlen;
	char err[16384];
	size_t errlen;
};

/* Wait for pid for at most ms; kill it if it is still there. */
static int
reap(pid_t pid, unsigned int ms)
{
	uint64_t end = rc_now_ms() + ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r < 0)
			return -1;
		if (rc_now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		rc_sleep_ms(5);
	}
}

static void
drain(int fd, char *buf, size_t *len, size_t cap, bool *open)
{
	ssize_t n = read(fd, buf + *len, cap - 1 - *len);

	if (n > 0) {
		*len += (size_t)n;
		buf[*len] = '\0';
		if (*len == cap - 1)	/* full: stop reading, keep the rest out */
			*open = false;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		*open = false;
	}
}

/* Run argv with stdout and stderr captured, for at most RUN_TIMEOUT_MS. */
static void
run(char *const argv[], struct run *r)
{
	int po[2], pe[2];
	bool oo = true, eo = true;
	uint64_t end = rc_now_ms() + RUN_TIMEOUT_MS;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	while ((oo || eo) && rc_now_ms() < end) {
		struct pollfd p[2] = {
			{ .fd = oo ? po[0] : -1, .events = POLLIN },
			{ .fd = eo ? pe[0] : -1, .events = POLLIN },
		};

		if (poll(p, 2, (int)(end - rc_now_ms())) <= 0)
			continue;
		if (p[0].revents)
			drain(po[0], r->out, &r->outlen, sizeof(r->out), &oo);
		if (p[1].revents)
			drain(pe[0], r->err, &r->errlen, sizeof(r->err), &eo);
	}
	close(po[0]);
	close(pe[0]);
	r->status = reap(pid, oo || eo ? 0 : 5000);
	if (r->status != 0)
		fprintf(stderr, "[%s exited %d]\nstdout:\n%s\nstderr:\n%s\n",
			argv[0], r->status, r->out, r->err);
}

/* The tool on the device, retried if the device was still busy with the
 * previous client (it takes one at a time). */
static void
run_tool(const char *opt, struct run *r)
{
	char *argv[4];
	int n = 0;

	argv[n++] = (char *)tool_bin;
	if (opt != NULL)
		argv[n++] = (char *)opt;
	argv[n++] = sock;
	argv[n] = NULL;
	for (int tries = 0; tries < 3; tries++) {
		run(argv, r);
		if (r->status == 0 || strstr(r->err, "cannot attach") == NULL)
			return;
		rc_sleep_ms(200);
	}
}

static void
expect(const char *text, const char *want)
{
	if (strstr(text, want) == NULL)
		fail_msg("output lacks \"%s\"; output:\n%s", want, text);
}

/* ---- the device ---- */

/* Print the device's stderr (the file goes); the first sanitizer report
 * marker in it, or NULL. */
static const char *
dump_device_stderr(void)
{
	static const char *const markers[] = {
		"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
		"runtime error:", "UndefinedBehaviorSanitizer",
		"WARNING: ThreadSanitizer",
	};
	static char buf[1 << 18];
	const char *found = NULL;
	size_t n;
	FILE *f;

	if (device_err[0] == '\0' || (f = fopen(device_err, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	unlink(device_err);
	buf[n] = '\0';
	if (n > 0)
		fprintf(stderr, "---- info_test_device stderr ----\n%s"
			"---- end of info_test_device stderr ----\n", buf);
	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]) &&
	     found == NULL; i++)
		if (strstr(buf, markers[i]) != NULL)
			found = markers[i];
	return found;
}

static int
group_setup(void **state)
{
	char line[64] = "";
	size_t len = 0;
	uint64_t end;
	int p[2];

	(void)state;
	if (access(device_bin, X_OK) != 0 || access(tool_bin, X_OK) != 0) {
		fprintf(stderr, "need %s and %s (build everything first)\n",
			device_bin, tool_bin);
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vu-info-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sock, sizeof(sock), "%s/dev.sock", tmpdir);
	snprintf(device_err, sizeof(device_err), "%s/device.stderr", tmpdir);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	device_pid = fork();
	if (device_pid < 0)
		return -1;
	if (device_pid == 0) {
		int efd = open(device_err, O_WRONLY | O_CREAT | O_TRUNC |
			       O_CLOEXEC, 0600);

		dup2(p[1], STDOUT_FILENO);
		if (efd < 0 || dup2(efd, STDERR_FILENO) < 0)
			_exit(127);
		execl(device_bin, device_bin, sock, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	end = rc_now_ms() + 10000;
	while (strstr(line, "ready\n") == NULL && rc_now_ms() < end &&
	       len < sizeof(line) - 1) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, (int)(end - rc_now_ms())) <= 0)
			continue;
		n = read(p[0], line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
	}
	close(p[0]);
	if (strstr(line, "ready\n") == NULL) {
		fprintf(stderr, "the device did not get ready\n");
		kill(device_pid, SIGKILL);
		reap(device_pid, 1000);
		device_pid = -1;
		dump_device_stderr();
		unlink(sock);
		rmdir(tmpdir);
		return -1;
	}
	return 0;
}

/*
 * cmocka 1.1.5 does not count a failed group teardown in its exit status:
 * the device's clean exit is checked by test_device_exit(), the last test;
 * this only cleans up (main() still fails if it had to stop the device).
 */
static int
group_teardown(void **state)
{
	(void)state;
	if (device_pid > 0) {
		kill(device_pid, SIGTERM);
		fprintf(stderr, "the device was still running at the end "
			"(exit %d once stopped)\n", reap(device_pid, 5000));
		device_pid = -1;
		teardown_failed = true;
	}
	dump_device_stderr();
	unlink(sock);
	rmdir(tmpdir);
	return 0;
}

/* ---- the end: the device exits cleanly ---- */

/* SIGTERM: exit 0 within 5 s, socket removed, no sanitizer report. */
static void
test_device_exit(void **state)
{
	const char *report;
	int st;

	(void)state;
	assert_true(device_pid > 0);
	kill(device_pid, SIGTERM);
	st = reap(device_pid, 5000);
	device_pid = -1;
	report = dump_device_stderr();
	if (st != 0)
		fail_msg("the device did not exit cleanly on SIGTERM (%d)", st);
	if (access(sock, F_OK) == 0)
		fail_msg("the device left its socket file %s", sock);
	if (report != NULL)
		fail_msg("the device printed a sanitizer report (\"%s\")",
			 report);
}

/* ---- text ---- */

static void
test_text(void **state)
{
	static const char *const want[] = {
		"Protocol 0.1: max_msg_fds 16, max_data_xfer_size 1048576, ",
		"\nDevice flags: RESET PCI\n",
		"\nRegions: 9, IRQ types: 5\n",
		"\nRegion 1 (BAR1): size 0x1000, READ WRITE\n",
		"\nRegion 4 (BAR4): size 0x4000, READ WRITE MMAP CAPS, "
			"mmap offset 0x0\n\tsparse mmap area [0x1000, 0x4000)\n",
		"\nRegion 7 (CONFIG): size 0x100, READ WRITE\n",
		"\nIRQ 0 (INTx): count 1, EVENTFD MASKABLE AUTOMASKED\n",
		"\nIRQ 1 (MSI): count 0\n",
		"\nIRQ 2 (MSI-X): count 3, EVENTFD NORESIZE\n",
		"\nIRQ 3 (ERR): count 0\n",
		"\nIRQ 4 (REQ): count 0\n",
		"\nPCI configuration space:\n"
			"\tClass 020000: Vendor 1af4 Device 1041 (rev 01)\n"
			"\tSubsystem: Vendor 1af4 Device 1100\n",
		"\tStatus: Cap+ INTx-\n",
		"\tInterrupt: pin A\n",
		"\tRegion 1: Memory at 00000000 (32-bit, non-prefetchable) "
			"[size=0x1000]\n",
		"\tRegion 4: Memory at 00000000 (64-bit, prefetchable) "
			"[size=0x4000]\n",
		"\tCapabilities: [40] MSI-X: Enable- Count=3 Masked-\n"
			"\t\tVector table: BAR=1 offset=00000000\n"
			"\t\tPBA: BAR=1 offset=00000800\n",
		"\tCapabilities: [4c] Vendor Specific Information: VirtIO: "
			"common cfg\n\t\tBAR=4 offset=00000000 size=00000038\n",
		"\tCapabilities: [5c] Power Management version 3\n"
		"\t\tFlags: PMEClk- DSI- D1+ D2+ AuxCurrent=0mA "
		"PME(D0-,D1-,D2-,D3hot+,D3cold-)\n"
		"\t\tStatus: D3 NoSoftRst+ PME-Enable+ DSel=0 DScale=0 "
		"PME-\n",
	};
	char head[200];
	struct run *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	run_tool(NULL, r);
	assert_int_equal(r->status, 0);
	snprintf(head, sizeof(head), "vfio-user device at %s\n", sock);
	assert_true(strncmp(r->out, head, strlen(head)) == 0);
	for (unsigned int i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		expect(r->out, want[i]);
	/* regions of size 0 are not listed; nor is BAR5, half of BAR4 */
	assert_null(strstr(r->out, "(BAR0)"));
	assert_null(strstr(r->out, "(VGA)"));
	assert_null(strstr(r->out, "\tRegion 5:"));
	/* the MSI-X capability comes before the virtio one */
	assert_true(strstr(r->out, "[40] MSI-X") < strstr(r->out, "[4c] Vendor"));
	assert_int_equal(r->errlen, 0);
	free(r);
}

/* ---- JSON ---- */

static json_t *
get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		fail_msg("no \"%s\" in %s", key, json_dumps(o, JSON_COMPACT));
	return v;
}

static json_int_t
get_int(json_t *o, const char *key)
{
	json_t *v = get(o, key);

	if (!json_is_integer(v))
		fail_msg("\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static const char *
get_str(json_t *o, const char *key)
{
	json_t *v = get(o, key);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	return json_string_value(v);
}

static bool
get_bool(json_t *o, const char *key)
{
	json_t *v = get(o, key);

	if (!json_is_boolean(v))
		fail_msg("\"%s\" is not a boolean", key);
	return json_is_true(v);
}

/* An array of strings, as "A B C". */
static void
expect_strings(json_t *o, const char *key, const char *want)
{
	json_t *a = get(o, key), *v;
	char buf[256] = "";
	size_t i;

	assert_true(json_is_array(a));
	json_array_foreach(a, i, v) {
		assert_true(json_is_string(v));
		if (i > 0)
			strcat(buf, " ");
		strcat(buf, json_string_value(v));
	}
	if (strcmp(buf, want) != 0)
		fail_msg("\"%s\" is [%s], [%s] expected", key, buf, want);
}

static void
test_json(void **state)
{
	struct run *r = malloc(sizeof(*r));
	json_t *root, *p, *regs, *reg, *irqs, *irq, *pci, *bars, *caps, *c, *sp;
	json_error_t err;

	(void)state;
	assert_non_null(r);
	run_tool("--json", r);
	assert_int_equal(r->status, 0);
	root = json_loads(r->out, 0, &err);
	if (root == NULL)
		fail_msg("not one JSON object (%s at %d:%d):\n%s", err.text,
			 err.line, err.column, r->out);
	assert_true(json_is_object(root));
	assert_string_equal(get_str(root, "socket"), sock);

	p = get(root, "protocol");
	assert_int_equal(get_int(p, "major"), 0);
	assert_int_equal(get_int(p, "minor"), 1);
	assert_int_equal(get_int(p, "max_msg_fds"), 16);
	assert_int_equal(get_int(p, "max_data_xfer_size"), 1048576);
	assert_int_equal(get_int(p, "pgsizes"), 4096);
	assert_false(get_bool(p, "write_multiple"));
	assert_false(get_bool(p, "twin_socket"));
	expect_strings(root, "flags", "RESET PCI");
	assert_int_equal(get_int(root, "num_regions"), 9);
	assert_int_equal(get_int(root, "num_irqs"), 5);

	regs = get(root, "regions");
	assert_int_equal(json_array_size(regs), 9);
	for (size_t i = 0; i < 9; i++) {
		static const json_int_t sizes[9] = {
			0, 0x1000, 0, 0, 0x4000, 0, 0, 0x100, 0,
		};

		reg = json_array_get(regs, i);
		assert_int_equal(get_int(reg, "index"), i);
		assert_int_equal(get_int(reg, "size"), sizes[i]);
	}
	reg = json_array_get(regs, 1);
	assert_string_equal(get_str(reg, "name"), "BAR1");
	expect_strings(reg, "flags", "READ WRITE");
	assert_int_equal(json_array_size(get(reg, "sparse_mmap")), 0);
	reg = json_array_get(regs, 4);
	assert_string_equal(get_str(reg, "name"), "BAR4");
	expect_strings(reg, "flags", "READ WRITE MMAP CAPS");
	assert_int_equal(get_int(reg, "mmap_offset"), 0);
	sp = get(reg, "sparse_mmap");
	assert_int_equal(json_array_size(sp), 1);
	assert_int_equal(get_int(json_array_get(sp, 0), "offset"), 0x1000);
	assert_int_equal(get_int(json_array_get(sp, 0), "size"), 0x3000);
	assert_null(json_object_get(reg, "type"));
	reg = json_array_get(regs, 7);
	assert_string_equal(get_str(reg, "name"), "CONFIG");
	expect_strings(reg, "flags", "READ WRITE");
	expect_strings(json_array_get(regs, 0), "flags", "");

	irqs = get(root, "irqs");
	assert_int_equal(json_array_size(irqs), 5);
	irq = json_array_get(irqs, 0);
	assert_string_equal(get_str(irq, "name"), "INTx");
	assert_int_equal(get_int(irq, "count"), 1);
	expect_strings(irq, "flags", "EVENTFD MASKABLE AUTOMASKED");
	irq = json_array_get(irqs, 2);
	assert_string_equal(get_str(irq, "name"), "MSI-X");
	assert_int_equal(get_int(irq, "index"), 2);
	assert_int_equal(get_int(irq, "count"), 3);
	expect_strings(irq, "flags", "EVENTFD NORESIZE");
	assert_int_equal(get_int(json_array_get(irqs, 1), "count"), 0);

	pci = get(root, "pci");
	assert_int_equal(get_int(pci, "vendor_id"), 0x1af4);
	assert_int_equal(get_int(pci, "device_id"), 0x1041);
	assert_int_equal(get_int(pci, "class_code"), 0x020000);
	assert_int_equal(get_int(pci, "revision"), 1);
	assert_int_equal(get_int(pci, "header_type"), 0);
	assert_int_equal(get_int(pci, "status"), 0x10);
	assert_int_equal(get_int(pci, "subsystem_vendor_id"), 0x1af4);
	assert_int_equal(get_int(pci, "subsystem_id"), 0x1100);
	assert_int_equal(get_int(pci, "interrupt_pin"), 1);

	bars = get(pci, "bars");
	assert_int_equal(json_array_size(bars), 2);
	c = json_array_get(bars, 0);
	assert_int_equal(get_int(c, "index"), 1);
	assert_string_equal(get_str(c, "type"), "memory");
	assert_false(get_bool(c, "64bit"));
	assert_false(get_bool(c, "prefetchable"));
	assert_int_equal(get_int(c, "size"), 0x1000);
	c = json_array_get(bars, 1);
	assert_int_equal(get_int(c, "index"), 4);
	assert_string_equal(get_str(c, "type"), "memory");
	assert_true(get_bool(c, "64bit"));
	assert_true(get_bool(c, "prefetchable"));
	assert_int_equal(get_int(c, "size"), 0x4000);
	assert_int_equal(get_int(c, "address"), 0);

	caps = get(pci, "capabilities");
	assert_int_equal(json_array_size(caps), 3);
	c = json_array_get(caps, 0);
	assert_int_equal(get_int(c, "offset"), 0x40);
	assert_int_equal(get_int(c, "id"), 0x11);
	assert_string_equal(get_str(c, "name"), "MSI-X");
	assert_int_equal(get_int(c, "table_size"), 3);
	assert_int_equal(get_int(c, "table_bar"), 1);
	assert_int_equal(get_int(c, "table_offset"), 0);
	assert_int_equal(get_int(c, "pba_bar"), 1);
	assert_int_equal(get_int(c, "pba_offset"), 0x800);
	assert_false(get_bool(c, "enabled"));
	assert_false(get_bool(c, "function_mask"));
	c = json_array_get(caps, 1);
	assert_int_equal(get_int(c, "offset"), 0x4c);
	assert_int_equal(get_int(c, "id"), 0x09);
	assert_string_equal(get_str(c, "name"), "Vendor Specific");
	assert_int_equal(get_int(c, "virtio_cfg_type"), 1);
	assert_string_equal(get_str(c, "virtio_cfg"), "common cfg");
	assert_int_equal(get_int(c, "bar"), 4);
	assert_int_equal(get_int(c, "bar_offset"), 0);
	assert_int_equal(get_int(c, "length"), 0x38);
	c = json_array_get(caps, 2);
	assert_int_equal(get_int(c, "offset"), 0x5c);
	assert_int_equal(get_int(c, "id"), 0x01);
	assert_string_equal(get_str(c, "name"), "Power Management");
	assert_int_equal(get_int(c, "version"), 3);
	assert_true(get_bool(c, "d1"));
	assert_true(get_bool(c, "d2"));
	assert_int_equal(get_int(c, "pme_support"), 0x8);
	assert_int_equal(get_int(c, "power_state"), 3);
	assert_true(get_bool(c, "no_soft_reset"));
	assert_true(get_bool(c, "pme_enable"));
	assert_false(get_bool(c, "pme_status"));

	json_decref(root);
	free(r);
}

/* ---- failures ---- */

static void
test_missing_socket(void **state)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char path[160], msg[256];
	char *argv[3] = { (char *)tool_bin, path, NULL };
	struct run *r = malloc(sizeof(*r));
	int fd;

	(void)state;
	assert_non_null(r);
	snprintf(path, sizeof(path), "%s/nothing.sock", tmpdir);
	run(argv, r);
	assert_int_equal(r->status, 1);
	snprintf(msg, sizeof(msg), "%s: cannot attach: %s", path, strerror(ENOENT));
	expect(r->err, msg);
	assert_int_equal(r->outlen, 0);

	/* a socket file nobody listens on */
	snprintf(path, sizeof(path), "%s/stale.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	strcpy(un.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	run(argv, r);
	assert_int_equal(r->status, 1);
	snprintf(msg, sizeof(msg), "%s: cannot attach: %s", path,
		 strerror(ECONNREFUSED));
	expect(r->err, msg);
	close(fd);
	unlink(path);
	free(r);
}

static void
test_bad_arguments(void **state)
{
	char *const none[] = { (char *)tool_bin, NULL };
	char *const two[] = { (char *)tool_bin, sock, sock, NULL };
	char *const bogus[] = { (char *)tool_bin, (char *)"--bogus", sock, NULL };
	char *const json_only[] = { (char *)tool_bin, (char *)"--json", NULL };
	char *const no_val[] = { (char *)tool_bin, sock, (char *)"--timeout", NULL };
	char *const bad_val[] = {
		(char *)tool_bin, (char *)"--timeout", (char *)"soon", sock, NULL,
	};
	char *const neg_val[] = {
		(char *)tool_bin, (char *)"--timeout", (char *)"-5", sock, NULL,
	};
	char *const *const bad[] = { none, two, bogus, json_only, no_val, bad_val,
				     neg_val };
	char *const help[] = { (char *)tool_bin, (char *)"--help", NULL };
	char *const timeout[] = {
		(char *)tool_bin, (char *)"--timeout", (char *)"2000", sock, NULL,
	};
	struct run *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run(bad[i], r);
		if (r->status != 2)
			fail_msg("bad arguments #%u: exit %d, 2 expected", i,
				 r->status);
		expect(r->err, "Usage: ");
		assert_int_equal(r->outlen, 0);
	}
	run(help, r);
	assert_int_equal(r->status, 0);
	expect(r->err, "Usage: ");
	expect(r->err, "--json");
	/* a good --timeout is taken */
	for (int tries = 0; tries < 3; tries++) {
		run(timeout, r);
		if (r->status == 0)
			break;
		rc_sleep_ms(200);
	}
	assert_int_equal(r->status, 0);
	expect(r->out, "Device flags: RESET PCI\n");
	free(r);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_missing_socket),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_device_exit),	/* the last one */
	};
	int ret;

	if (argc != 3) {
		fprintf(stderr, "Usage: %s <info_test_device> <dpdk-vfio-user-info>\n",
			argv[0]);
		return 2;
	}
	device_bin = argv[1];
	tool_bin = argv[2];
	ret = cmocka_run_group_tests(tests, group_setup, group_teardown);
	return ret != 0 || teardown_failed;
}
