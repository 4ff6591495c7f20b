/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * fuzz_version: the VERSION handler and its JSON capabilities parser.
 *
 * The input is the payload of a VERSION command (major, minor, then the
 * JSON bytes, NUL or not), handed to vu_handle_version() as the dispatcher
 * does once the payload size passed its check. A successful reply must be
 * well-formed: the same major, a minor not above ours, NUL-terminated JSON
 * that jansson reads back, limits within what the library enforces; a
 * failed one must leave nothing behind (twin socket, fds).
 */

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_log.h>

#include "vu_internal.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vu_dev fdev = { .path = "fuzz" };
static uint8_t *reply;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_log_init();
	reply = malloc(VU_MAX_MSG_SIZE);
	if (reply == NULL)
		fuzz_fail("out of memory");
	return 0;
}

static void
check_reply(const struct vu_conn *c, const struct vu_reply *r)
{
	const struct vfio_user_version *v = (const void *)reply;
	size_t jl;
	json_t *root, *caps;

	if (r->size < sizeof(*v) || r->size > VU_MAX_MSG_SIZE)
		fuzz_fail("reply of %u bytes", r->size);
	if (v->major != VFIO_USER_MAJOR_VER || v->minor > VFIO_USER_MINOR_VER)
		fuzz_fail("reply version %u.%u", v->major, v->minor);
	jl = r->size - sizeof(*v);
	if (jl == 0 || v->data[jl - 1] != '\0' || strlen(v->data) != jl - 1)
		fuzz_fail("reply JSON is not one NUL-terminated string");
	root = json_loads(v->data, JSON_REJECT_DUPLICATES, NULL);
	caps = json_object_get(root, VFIO_USER_CAP_ROOT);
	if (!json_is_object(caps))
		fuzz_fail("reply JSON without capabilities: %s", v->data);
	json_decref(root);
	if (c->caps.max_msg_fds > VU_MAX_MSG_FDS || c->caps.max_xfer == 0 ||
	    c->caps.max_dma_maps == 0 || c->caps.pgsizes != 4096)
		fuzz_fail("negotiated fds %u xfer %u maps %u pgsizes %#llx",
			  c->caps.max_msg_fds, c->caps.max_xfer,
			  c->caps.max_dma_maps,
			  (unsigned long long)c->caps.pgsizes);
	if (c->caps.twin_socket != (c->twin_fd >= 0) ||
	    r->nfds != (c->caps.twin_socket ? 1u : 0u))
		fuzz_fail("twin socket %d with fd %d and %u reply fds",
			  c->caps.twin_socket, c->twin_fd, r->nfds);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfio_user_header h = {
		.cmd = VFIO_USER_VERSION,
		.msg_size = (uint32_t)(sizeof(h) + size),
	};
	struct vu_conn c = { .dev = &fdev,
			     .fd = -1,
			     .timer_fd = -1,
			     .twin_fd = -1,
			     .reply = reply };
	struct vu_reply r = { .size = 0 };
	struct vu_msg m = { .hdr = &h };
	uint8_t *payload;
	int ret, baseline_fds;

	/* what the dispatcher lets through to the handler */
	if (size < sizeof(struct vfio_user_version) || size > VU_MAX_MSG_SIZE)
		return -1;
	baseline_fds = fuzz_count_fds();
	/* a copy of its own size: ASan sees any read past the payload */
	payload = malloc(size);
	if (payload == NULL)
		fuzz_fail("out of memory");
	memcpy(payload, data, size);
	m.payload = payload;
	m.size = (uint32_t)size;

	ret = vu_handle_version(&c, &m, &r);
	if (ret == 0) {
		if (!c.negotiated)
			fuzz_fail("VERSION succeeded, not negotiated");
		check_reply(&c, &r);
	} else if (c.negotiated || c.twin_fd >= 0) {
		fuzz_fail("VERSION failed (%d) but left state behind", ret);
	}
	vu_close_fds(r.owned_fds, r.nowned);
	vu_dma_twin_close(&c);
	free(payload);
	fuzz_check_fds(baseline_fds);
	return 0;
}
