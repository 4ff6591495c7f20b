/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

/*
 * What the libFuzzer harnesses of app/fuzz share: a reader over the fuzz
 * input, file descriptors of the kinds a peer may pass, message I/O on a
 * socket, and the leak checks each input ends with.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>

#include "vfio_user_proto.h"

/* Consumes the fuzz input front to back; reads past the end give zeros. */
struct fz {
	const uint8_t *p;
	size_t n;
};

uint8_t fz_u8(struct fz *f);
uint16_t fz_u16(struct fz *f);
uint32_t fz_u32(struct fz *f);
uint64_t fz_u64(struct fz *f);
/* Copy up to len bytes into dst, zero-fill the rest; returns bytes taken. */
size_t fz_bytes(struct fz *f, void *dst, size_t len);
static inline bool
fz_empty(const struct fz *f)
{
	return f->n == 0;
}

/*
 * Kinds of fds a fuzzed peer passes (SCM_RIGHTS), picked by a fuzz byte:
 * memfds of a few sizes (what DMA_MAP and region mmap take), an eventfd,
 * both ends of a pipe, a socket, /dev/null. The memfds are named
 * FUZZ_MEMFD_NAME so that mappings of them left behind can be counted.
 */
#define FUZZ_MEMFD_NAME "vu-fuzz-mem"
#define FUZZ_FD_KINDS 8

/* A new fd of kind k % FUZZ_FD_KINDS, or -1. *peer gets the other end of
 * a pipe or socket pair (the caller closes it), else -1. */
int fuzz_make_fd(uint8_t k, int *peer);

/*
 * poll() that goes on after a signal (libFuzzer's -timeout arms a
 * periodic SIGALRM, which any thread may take) until timeout_ms in all.
 */
int fuzz_poll(struct pollfd *p, nfds_t n, int timeout_ms);

/* Open fds of this process (/proc/self/fd). */
int fuzz_count_fds(void);

/* List the open fds on stderr; fail (listing them) unless there are
 * baseline of them. */
void fuzz_list_fds(void);
void fuzz_check_fds(int baseline);

/* Mappings of FUZZ_MEMFD_NAME memfds in this process (/proc/self/maps). */
int fuzz_count_memfd_maps(void);

/*
 * Send bytes with fds on the first byte; the socket may be non-blocking
 * (waits for room with poll()). 0 or -errno.
 */
int fuzz_send(int fd, const void *buf, size_t len, const int *fds, int nfds);

/*
 * fuzz_send(), but while it waits for room, what the peer sends is read
 * and dropped (fuzz_drain()), as a client that reads its replies does: a
 * server blocked on its replies to us could not take more.
 */
int fuzz_send_draining(int fd, const void *buf, size_t len, const int *fds,
		       int nfds);

/*
 * Read and drop whatever the socket has (closing fds that came with it),
 * without waiting. Returns 0 while open, -1 once the peer closed.
 */
int fuzz_drain(int fd);

/*
 * Read one whole message (header and payload into buf, at most cap bytes
 * kept, the rest dropped); fds are closed unless fds != NULL (then up to
 * *nfds are returned there). Waits up to timeout_ms. Returns the message
 * size, 0 when the peer closed, -ETIMEDOUT or another -errno.
 */
int fuzz_recv_msg(int fd, void *buf, size_t cap, int *fds, int *nfds,
		  int timeout_ms);

/* Abort with a message: a finding for libFuzzer. */
void fuzz_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/*
 * Start the library's event thread for good: a device connected to a
 * socket pair whose other end stays open. The fds the thread holds are
 * then there before the first input and after the last.
 */
void fuzz_start_event_thread(void);

/* Logs: none, unless FUZZ_LOG is set in the environment (then all of
 * them, at debug level: to see what an input does). */
void fuzz_log_init(void);

/* A frame of len bytes (each segment filled with 0xa5 ^ its index) in
 * nsegs segments of mp's mbufs, the last taking the remainder, each at
 * most its tailroom; NULL when mp runs out. */
struct rte_mbuf;
struct rte_mempool;
struct rte_mbuf *fuzz_make_pkt(struct rte_mempool *mp, uint16_t len,
			       uint8_t nsegs);

/* rte_eal_init() for a harness that needs EAL (mbufs, lcore id, rte_log):
 * no hugepages, no PCI, its own file prefix, logs at error level. */
void fuzz_eal_init(const char *name);

#endif /* FUZZ_COMMON_H */
