/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef RAW_CLIENT_H
#define RAW_CLIENT_H

/*
 * A deliberately small vfio-user client for tests: it writes and reads raw
 * bytes on the socket with its own framing, sharing no code with the
 * library (only the wire-format header), so tests check the server against
 * the specification rather than against itself.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vfio_user_proto.h"

#define RC_MAX_FDS 253
#define RC_TIMEOUT_MS 5000

struct rc {
	int fd;
	uint16_t next_id;
};

struct rc_reply {
	struct vfio_user_header hdr;
	uint8_t *payload;	/* hdr.msg_size - 16 bytes, malloc'ed */
	uint32_t size;
	int fds[RC_MAX_FDS];
	int nfds;
};

/* Connect to path, retrying up to timeout_ms while it does not exist yet. */
int rc_connect(struct rc *c, const char *path, int timeout_ms);
void rc_close(struct rc *c);

/* Send bytes as they are, with fds on the first byte. 0 or -errno. */
int rc_send_raw(struct rc *c, const void *buf, size_t len, const int *fds,
		int nfds);

/* Send a command; *id gets its message id. 0 or -errno. */
int rc_send(struct rc *c, uint16_t cmd, uint32_t flags, const void *payload,
	    uint32_t len, const int *fds, int nfds, uint16_t *id);

/* Receive one whole message within timeout_ms: 0, -ETIMEDOUT, -ECONNRESET
 * (peer closed), -EPROTO (header size < 16). */
int rc_recv(struct rc *c, struct rc_reply *r, int timeout_ms);

/* Close received fds and free the payload. */
void rc_reply_free(struct rc_reply *r);

/*
 * Send a command and wait for its reply (skipping other messages).
 * Returns 0 for a successful reply, -errno from an error reply (-EIO if the
 * error field is 0), or a transport error. r may be NULL; otherwise the
 * caller frees it with rc_reply_free() whatever the result.
 */
int rc_call(struct rc *c, uint16_t cmd, const void *payload, uint32_t len,
	    const int *fds, int nfds, struct rc_reply *r);

/* VERSION with the given JSON (NULL: none). 0 or -errno. */
int rc_negotiate(struct rc *c, const char *json, struct rc_reply *r);

/* Number of open fds of this process (/proc/self/fd). */
int rc_count_fds(void);

/* Number of open fds of a process (/proc/PID/fd), or -1. */
int rc_count_proc_fds(pid_t pid);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t rc_now_ms(void);

/* Sleep ms milliseconds (resumed after signals). */
void rc_sleep_ms(unsigned int ms);

/* Number of mappings of this process (/proc/self/maps lines). */
int rc_count_maps(void);

#endif /* RAW_CLIENT_H */
