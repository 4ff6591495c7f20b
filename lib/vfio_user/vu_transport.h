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
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
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
/* Largest payload of a message (a reply's too): the above less the
 * header. */
#define VU_MAX_PAYLOAD (VU_MAX_MSG_SIZE - sizeof(struct vfio_user_header))
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
 * Waits up to VU_SEND_TIMEOUT_MS for a full socket buffer to drain: only
 * for a thread that waits for the peer's answer anyway (our twin-socket
 * DMA requests); everything else goes through a struct vu_out.
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

/*
 * Output queue of one socket, so that no thread ever blocks on a peer that
 * does not read: a message goes straight to the socket while the queue is
 * empty and the socket takes it; whatever the socket does not take is
 * copied (fds duplicated) to the queue, and the owner of the socket sends
 * it when the socket is writable again (EPOLLOUT). Messages keep their
 * order. Thread-safe.
 */
struct vu_out_chunk;

struct vu_out {
	pthread_mutex_t lock;
	pthread_cond_t drained;		/* the queue shrank */
	struct vu_out_chunk *head;
	struct vu_out_chunk **tail;
	size_t bytes;			/* queued */
	size_t reply_bytes;		/* of them, of replies */
	uint64_t progress_ms;		/* last time bytes left the queue (or
					 * it went from empty to not empty) */
	int err;			/* sticky: the socket failed */
	bool fds_now;			/* a message with fds goes now or not
					 * at all (-EAGAIN): never queued */
	const char *name;		/* for logs (the socket's path), or
					 * NULL */
};

/*
 * Per-socket limit of queued bytes: above it, the owner stops reading
 * requests from the peer (which produce replies), so a peer that does not
 * read costs at most this plus one message.
 */
#define VU_OUT_HIGH (2 * (size_t)VU_MAX_MSG_SIZE)
/* Reading resumes once the queue is below this. */
#define VU_OUT_LOW ((size_t)VU_MAX_MSG_SIZE)

int vu_out_init(struct vu_out *o);
/* Drop everything queued (closing queued fds) and free the queue. */
void vu_out_fini(struct vu_out *o);
/*
 * Send one message: hdr (msg_size is set here) then the iovecs, with fds.
 * Returns 0 (sent), 1 (all or part of it queued: the caller makes sure the
 * socket is watched for EPOLLOUT), -ETOOMANYREFS (a request, or the answer
 * to VERSION, whose fds the kernel refuses: nothing sent, the user's fds
 * in flight exceed RLIMIT_NOFILE; the socket is fine), -EAGAIN (with
 * fds_now, a message with fds that would be queued: nothing sent) or
 * -errno (the socket failed).
 *
 * A reply whose fds the kernel refuses, now or when it is flushed from
 * the queue, cannot wait: the socket stays writable and nothing would say
 * when to try again. It goes as an ETOOMANYREFS error reply instead
 * (unless it answers VERSION, whose side effects are done). A queued
 * request whose fds are refused fails the socket: a client, whose
 * requests carry the fds, sets fds_now.
 */
int vu_out_send(struct vu_out *o, int fd, struct vfio_user_header *hdr,
		const struct iovec *iov, unsigned int iovcnt, const int *fds,
		unsigned int nfds);
/* Send what is queued while the socket takes it. Returns the bytes still
 * queued (0: empty) or -errno. */
ssize_t vu_out_flush(struct vu_out *o, int fd);
/* Bytes queued. */
size_t vu_out_pending(struct vu_out *o);
/* Queued bytes of replies (of vu_out_pending()): what a peer that does not
 * read makes pile up, where a peer that reads slowly only holds up our
 * requests. */
size_t vu_out_pending_replies(struct vu_out *o);
/* When the queue last made progress, if it holds anything; else 0. */
uint64_t vu_out_stalled_since(struct vu_out *o);
/* Wait until at most 'limit' bytes are queued or deadline_ms (CLOCK_MONOTONIC
 * milliseconds) passes. 0 or -ETIMEDOUT, or the socket's error. */
int vu_out_wait(struct vu_out *o, size_t limit, uint64_t deadline_ms);

/* A buffer of size bytes whose pages are backed only once touched, even
 * under mlockall(MCL_FUTURE); NULL if out of memory. */
void *vu_buf_alloc(size_t size);
void vu_buf_free(void *p, size_t size);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t vu_now_ms(void);
/* CLOCK_MONOTONIC in microseconds. */
uint64_t vu_now_us(void);

/* A condition variable whose timed waits take CLOCK_MONOTONIC deadlines
 * (a wall-clock step neither shortens nor stretches them), and the
 * timespec of a deadline in vu_now_ms() milliseconds for those waits. */
void vu_cond_init_monotonic(pthread_cond_t *cond);
struct timespec vu_deadline_ts(uint64_t deadline_ms);

#endif /* VU_TRANSPORT_H */
