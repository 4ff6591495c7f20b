/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_TRANSPORT_H
#define VU_TRANSPORT_H

/*
 * Message framing on a SOCK_STREAM UNIX socket: a 16-byte header, a payload
 * of msg_size - 16 bytes, and file descriptors (SCM_RIGHTS) riding on the
 * message's bytes. The receiver is a small state machine fed from a
 * non-blocking socket, so a slow or malicious peer can never stall the
 * event thread in the middle of a message.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vfio_user_proto.h"

/* Most fds accepted with one message. */
#define VU_MAX_MSG_FDS 64
/*
 * What VERSION advertises as max_msg_fds: QEMU's client refuses a server
 * value above 16 ("malformed max_msg_fds"), so we say 16 and still take
 * up to VU_MAX_MSG_FDS from clients that send more.
 */
#define VU_ADVERTISED_MAX_FDS 16
/* Largest data transfer in one message (advertised as max_data_xfer_size). */
#define VU_MAX_XFER (1024 * 1024)
/* Largest message accepted: a full data transfer plus its headers. */
#define VU_MAX_MSG_SIZE (VU_MAX_XFER + 4096)
/* How long a send may wait for a peer that does not read. */
#define VU_SEND_TIMEOUT_MS 5000

enum vu_rx_status {
	VU_RX_AGAIN,	/* need more bytes */
	VU_RX_MSG,	/* rx->buf holds a whole message (rx->want bytes) */
	VU_RX_OVERSIZE,	/* header only: message larger than the limit, its
			 * payload is being discarded; answer with an error */
	VU_RX_CLOSED,	/* peer closed */
	VU_RX_ERROR,	/* socket error (-errno in rx->err) */
};

struct vu_rx {
	uint8_t *buf;		/* VU_MAX_MSG_SIZE bytes */
	uint32_t have;		/* bytes of the current message in buf */
	uint32_t want;		/* bytes the current message has in all */
	uint64_t discard;	/* bytes of an oversized message to drop */
	int fds[VU_MAX_MSG_FDS];
	unsigned int nfds;
	bool fds_overflow;	/* more fds came than we accept: refuse */
	int err;
};

int vu_rx_init(struct vu_rx *rx);
void vu_rx_fini(struct vu_rx *rx);
/* Read what is available, at most up to the end of one message. */
enum vu_rx_status vu_rx_read(int fd, struct vu_rx *rx);
/* True while a message is partially received. */
bool vu_rx_partial(const struct vu_rx *rx);
/* Forget the current message; closes every fd not taken (set to -1). */
void vu_rx_next(struct vu_rx *rx);
/* Drop a partial message (after a timeout). */
void vu_rx_abort(struct vu_rx *rx);
/* Header of the current message (valid once 16 bytes are in). */
static inline struct vfio_user_header *
vu_rx_hdr(struct vu_rx *rx)
{
	return (struct vfio_user_header *)rx->buf;
}

/*
 * Send one message: hdr (msg_size is set here) then the iovecs, with fds.
 * Waits up to VU_SEND_TIMEOUT_MS for a full socket buffer to drain.
 * 0 or -errno.
 */
int vu_send(int fd, struct vfio_user_header *hdr, const struct iovec *iov,
	    unsigned int iovcnt, const int *fds, unsigned int nfds);

/*
 * The -errno of an error reply's error_no: a peer may send any 32-bit
 * value, and only 1..4095 are errnos (0, or one that does not fit a
 * negative int, would read as success or overflow): -EIO for the rest.
 */
static inline int
vu_reply_errno(uint32_t error_no)
{
	return error_no > 0 && error_no < 4096 ? -(int)error_no : -EIO;
}

/* Close every fd of an array and set it to -1. */
void vu_close_fds(int *fds, unsigned int n);

#endif /* VU_TRANSPORT_H */
