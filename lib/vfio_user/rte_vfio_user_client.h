/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef RTE_VFIO_USER_CLIENT_H
#define RTE_VFIO_USER_CLIENT_H

/**
 * @file
 * RTE vfio-user client: the driver side of the vfio-user protocol.
 *
 * Attach to a device's UNIX socket, negotiate, and drive the device with
 * one call per client command. Calls are synchronous, thread-safe and
 * pipelined: several threads may have requests in flight on one
 * connection; replies are matched by message id. Every wait is bounded by
 * the configured timeout. The connection's socket is served by the
 * library's event thread, which also answers the server's DMA_READ /
 * DMA_WRITE requests from memory mapped with rte_vfio_user_client_dma_map()
 * and a non-NULL vaddr, with the same bounds checks the server applies.
 *
 * Errors are negative errno values: the server's errno for an error reply,
 * -ETIMEDOUT when no reply came in time, -ENOTCONN once the server went
 * away, -EPROTO for a malformed reply, -EMSGSIZE for a reply too large to
 * take, -ENOMEM when there is no memory for a reply, -ENOBUFS for a
 * posted write the server left unread (see
 * rte_vfio_user_client_region_write()), -EINVAL for an argument refused
 * before anything is sent, or the negative errno of sending the request
 * (e.g. -EPIPE). A function that sends several messages (chunked reads
 * and writes) fails at the first failing one: the ones before it took
 * effect.
 *
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <rte_compat.h>

#include "vfio_user_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A client connection. */
struct rte_vfio_user_client;

/**
 * Called once, on the event thread, when the server goes away.
 *
 * @param c
 *   The client (rte_vfio_user_client_connected() is false by then).
 * @param arg
 *   rte_vfio_user_client_conf::cb_arg.
 */
typedef void (*rte_vfio_user_client_disconnect_t)(
		struct rte_vfio_user_client *c, void *arg);

/** How to attach. Zeroed fields take defaults. */
struct rte_vfio_user_client_conf {
	const char *path;		/**< server socket */
	uint32_t timeout_ms;		/**< per request: at most this to
					 *   send it (room in the queue, fds
					 *   the kernel takes), then this from
					 *   the send until its reply, on
					 *   CLOCK_MONOTONIC (a step of the wall
					 *   clock does not change it); default
					 *   5000 */
	uint32_t connect_timeout_ms;	/**< retry connect() while the socket
					 *   is missing or refuses connections
					 *   (a server not listening yet);
					 *   default 0: try once. A server
					 *   that listens but accepts nothing
					 *   (backlog full) is retried for
					 *   this or @p timeout_ms, the
					 *   longer: then ETIMEDOUT */
	bool twin_socket;		/**< propose twin-socket mode */
	bool write_multi;		/**< propose REGION_WRITE_MULTI */
	uint32_t max_xfer;		/**< our max_data_xfer_size; default and
					 *   at most 1 MiB */
	rte_vfio_user_client_disconnect_t on_disconnect; /**< may be NULL */
	void *cb_arg;			/**< for @p on_disconnect */
};

/** What was negotiated. */
struct rte_vfio_user_client_caps {
	uint16_t major;		/**< VFIO_USER_MAJOR_VER */
	uint16_t minor;		/**< the server's, <= VFIO_USER_MINOR_VER */
	uint32_t max_msg_fds;	/**< fds the server takes per message */
	uint32_t max_xfer;	/**< server's max_data_xfer_size */
	uint32_t max_dma_maps;	/**< server's max_dma_maps */
	uint64_t pgsizes;	/**< server's pgsizes: DMA page sizes, or'ed */
	bool write_multi;	/**< REGION_WRITE_MULTI proposed and accepted */
	bool twin_socket;	/**< twin-socket mode: the server's DMA
				 *   requests come on a socket of their own */
};

/** A region, as DEVICE_GET_REGION_INFO described it. */
struct rte_vfio_user_client_region {
	uint32_t index;		/**< region index */
	uint32_t flags;		/**< VFIO_USER_REGION_INFO_FLAG_* */
	uint64_t size;		/**< of the region, in bytes */
	uint64_t offset;	/**< mmap offset in @p fd */
	int fd;			/**< mmap fd (owned by the client), or -1 */
	uint32_t nr_sparse;	/**< 0: whole region mappable if MMAP */
	struct vfio_user_sparse_mmap_area sparse[16]; /**< first 16 areas */
	uint32_t type;		/**< region type cap, 0 if none */
	uint32_t subtype;	/**< region subtype, with @p type */
};

/** One GET_REGION_IO_FDS sub-region. */
struct rte_vfio_user_client_io_fd {
	uint64_t offset;	/**< start in the region */
	uint64_t size;		/**< access size; 0: any */
	uint32_t type;		/**< VFIO_USER_IO_FD_TYPE_* */
	uint32_t flags;		/**< VFIO_USER_IOEVENTFD_F_* for an ioeventfd */
	uint64_t datamatch;	/**< value to match, with DATAMATCH */
	int fd;			/**< owned by the caller */
};

/** One access of rte_vfio_user_client_region_access_bulk(). */
struct rte_vfio_user_client_access {
	uint64_t offset;	/**< in the region */
	void *buf;		/**< read into, or written from */
	uint32_t region;	/**< region index */
	uint32_t len;		/**< bytes: 1 to the server's max_data_xfer_size */
	bool write;		/**< a write (else a read) */
};

/** One write of rte_vfio_user_client_region_write_multi(). */
struct rte_vfio_user_client_write {
	uint32_t region;	/**< region index */
	uint32_t count;		/**< 1 to 8 */
	uint64_t offset;	/**< in the region */
	uint8_t data[8];	/**< the first @p count bytes are written */
};

/**
 * Connect and negotiate VERSION. The connect never blocks: every wait of
 * the attach is bounded by @p conf's timeouts.
 *
 * @param conf
 *   Where and how; copied (the path too).
 * @return
 *   The client, or NULL with rte_errno set: ENOENT, ECONNREFUSED (after
 *   connect_timeout_ms), ETIMEDOUT (a server accepting no connection, or
 *   not answering VERSION), ENOTSUP (a major version mismatch), EPROTO
 *   (a bad reply), ENOTCONN (the server left during the attach), the
 *   server's errno for an error reply to VERSION (EBUSY: the device has a
 *   client already, with this library's server), ENOMEM, EINVAL (no
 *   conf or path, a path too long, max_xfer over 1 MiB), or another
 *   errno of connect().
 */
__rte_experimental
struct rte_vfio_user_client *
rte_vfio_user_client_attach(const struct rte_vfio_user_client_conf *conf);

/**
 * Disconnect and free: unmaps nothing the caller mapped, closes every fd
 * the client owns.
 *
 * Like any free, it must be the last call on @p c: no other thread may be
 * inside a call on @p c (a request waiting for its reply included: it
 * would wake on freed memory), nor call later. A caller whose threads
 * may be waiting lets them return first (each wait ends by the
 * configured timeout at the latest, and at once with -ENOTCONN when the
 * server goes away). Not from the disconnect callback.
 *
 * @param c
 *   The client, or NULL (nothing done).
 */
__rte_experimental
void rte_vfio_user_client_detach(struct rte_vfio_user_client *c);

/**
 * Whether the server is still there.
 *
 * @param c
 *   The client.
 * @return
 *   True until the server goes away (the connection closes). Once a
 *   request of this thread that expects a reply failed with -ENOTCONN,
 *   false (unless called on the event thread, where the hang-up may not
 *   have been seen yet).
 */
__rte_experimental
bool rte_vfio_user_client_connected(struct rte_vfio_user_client *c);

/**
 * Negotiated parameters.
 *
 * @param c
 *   The client.
 * @param caps
 *   Out: what VERSION negotiated.
 */
__rte_experimental
void rte_vfio_user_client_get_caps(struct rte_vfio_user_client *c,
		struct rte_vfio_user_client_caps *caps);

/**
 * DEVICE_GET_INFO.
 *
 * @param c
 *   The client.
 * @param info
 *   Out: the server's reply.
 * @return
 *   0, or a negative errno (-EPROTO: a reply of another size).
 */
__rte_experimental
int rte_vfio_user_client_device_info(struct rte_vfio_user_client *c,
		struct vfio_user_device_info *info);

/**
 * DEVICE_GET_REGION_INFO, retrying with the size the server asks for and
 * parsing the capability chain. The fd stays owned by the client.
 *
 * @param c
 *   The client.
 * @param index
 *   Region index, < 64.
 * @param reg
 *   Out: the region (only its first 16 sparse areas; nr_sparse counts
 *   them all). Left alone on failure.
 * @return
 *   0, -EINVAL (@p index 64 or more), -EPROTO (a malformed reply or
 *   capability chain, one asking for more than 64 KiB, a mappable region
 *   without its fd), or another negative errno.
 */
__rte_experimental
int rte_vfio_user_client_region_info(struct rte_vfio_user_client *c,
		uint32_t index, struct rte_vfio_user_client_region *reg);

/**
 * DEVICE_GET_REGION_IO_FDS.
 *
 * @param c
 *   The client.
 * @param index
 *   Region index.
 * @param out
 *   Array of @p max entries; fds in it belong to the caller.
 * @param max
 *   Entries of @p out (at most 1024 are used).
 * @param count
 *   Sub-regions the server has (may exceed @p max: then none are returned).
 * @return
 *   0, or a negative errno.
 */
__rte_experimental
int rte_vfio_user_client_region_io_fds(struct rte_vfio_user_client *c,
		uint32_t index, struct rte_vfio_user_client_io_fd *out,
		uint32_t max, uint32_t *count);

/**
 * DEVICE_GET_IRQ_INFO.
 *
 * @param c
 *   The client.
 * @param index
 *   IRQ type.
 * @param info
 *   Out: the server's reply; left alone on failure.
 * @return
 *   0, or a negative errno (-EPROTO: a reply of another size or for
 *   another index).
 */
__rte_experimental
int rte_vfio_user_client_irq_info(struct rte_vfio_user_client *c,
		uint32_t index, struct vfio_user_irq_info *info);

/**
 * DEVICE_SET_IRQS.
 *
 * @param c
 *   The client.
 * @param index
 *   IRQ type (VFIO_USER_PCI_*_IRQ_INDEX).
 * @param flags
 *   One VFIO_USER_IRQ_SET_DATA_* and one VFIO_USER_IRQ_SET_ACTION_*.
 * @param start
 *   First vector.
 * @param count
 *   Vectors; 0 (with @p start 0, DATA_NONE and ACTION_TRIGGER) disables
 *   every vector of the type.
 * @param data
 *   DATA_BOOL: @p count bytes; DATA_EVENTFD: @p count ints, where -1
 *   de-assigns (runs of valid and of -1 fds go in separate messages, split
 *   by the server's max_msg_fds); DATA_NONE: NULL.
 * @return
 *   0, or a negative errno.
 */
__rte_experimental
int rte_vfio_user_client_set_irqs(struct rte_vfio_user_client *c,
		uint32_t index, uint32_t flags, uint32_t start, uint32_t count,
		const void *data);

/**
 * REGION_READ, chunked by the server's max_data_xfer_size.
 *
 * @param c
 *   The client.
 * @param index
 *   Region index.
 * @param offset
 *   Offset in the region.
 * @param buf
 *   Where the bytes go.
 * @param len
 *   Bytes; 0: nothing sent.
 * @return
 *   0, or a negative errno (-EPROTO: a reply that does not match the
 *   request).
 */
__rte_experimental
int rte_vfio_user_client_region_read(struct rte_vfio_user_client *c,
		uint32_t index, uint64_t offset, void *buf, size_t len);

/**
 * REGION_WRITE, chunked. With @p posted, sent with no_reply: returns once
 * sent (or queued for the event thread to send); a later non-posted
 * request's reply proves it was applied. A posted write never waits: if the
 * server has left 2 MiB of our messages unread, it fails with -ENOBUFS.
 * A non-posted request in that case waits up to the client's timeout for
 * room first.
 *
 * @param c
 *   The client.
 * @param index
 *   Region index.
 * @param offset
 *   Offset in the region.
 * @param buf
 *   The bytes.
 * @param len
 *   How many; 0: nothing sent.
 * @param posted
 *   Send without asking for replies.
 * @return
 *   0, -ENOBUFS (posted, see above), or a negative errno (-EPROTO: a
 *   reply that does not match the request). A posted write's failure on
 *   the server side is not reported.
 */
__rte_experimental
int rte_vfio_user_client_region_write(struct rte_vfio_user_client *c,
		uint32_t index, uint64_t offset, const void *buf, size_t len,
		bool posted);

/**
 * REGION_WRITE_MULTI (when negotiated; else the writes go one by one).
 *
 * @param c
 *   The client.
 * @param w
 *   The writes, applied in order.
 * @param n
 *   Entries in @p w; sent in messages of up to VFIO_USER_WRITE_MULTI_MAX.
 * @return
 *   0, -EINVAL (an entry's count is not 1 to 8; nothing is sent), or a
 *   negative errno (-EPROTO: a reply that does not match the request).
 */
__rte_experimental
int rte_vfio_user_client_region_write_multi(struct rte_vfio_user_client *c,
		const struct rte_vfio_user_client_write *w, uint32_t n);

/**
 * Region reads and writes, pipelined: the accesses are made in order, as
 * rte_vfio_user_client_region_read() and rte_vfio_user_client_region_write()
 * (not posted) one after the other would make them, each answered, but up
 * to 256 requests (with at most about 1 MiB of data to write and to read
 * back, one access excepted) are sent before the first reply is awaited:
 * n small accesses cost about one round trip per 256 rather than n. A device set up by a
 * sequence of register writes and reads (selecting a queue, then writing
 * its addresses, then reading back what it took) is set up in one round
 * trip; the server serves the requests of a connection in order. A request
 * times out only when the server answered nothing for the configured
 * timeout.
 *
 * @param c
 *   The client.
 * @param a
 *   The accesses; the reads' buffers are filled when it returns 0, and
 *   on failure those before the failed access (the others' are
 *   undefined).
 * @param n
 *   Entries in @p a.
 * @param failed
 *   If not NULL: on failure, the index of the first failed access; @p n
 *   otherwise.
 * @return
 *   0; -EINVAL (an entry's len is 0 or over the server's
 *   max_data_xfer_size, or its buf NULL: nothing sent); or the first
 *   failed access's -errno (-EPROTO: a reply that does not match the
 *   request). The accesses after a failed one that were sent in its batch
 *   of 256 were made by the server too (their outcome is not reported);
 *   none after that batch is sent. A request that could not be sent (the
 *   connection went) fails with -ENOTCONN.
 */
__rte_experimental int rte_vfio_user_client_region_access_bulk(
	struct rte_vfio_user_client *c,
	const struct rte_vfio_user_client_access *a, uint32_t n,
	uint32_t *failed);

/**
 * mmap a mappable region, or part of it (must lie inside one sparse area
 * when the region has them).
 *
 * The server's file is checked first: an access past the end of a file
 * raises SIGBUS, so a file that does not hold the range is refused. A
 * file that could shrink later is sealed against it (F_SEAL_SHRINK)
 * where the server left that possible (a memfd made with
 * MFD_ALLOW_SEALING and not sealed against new seals); a server that
 * shrinks an unsealable file under the mapping still makes accesses to
 * it fault.
 *
 * @param c
 *   The client.
 * @param index
 *   Region index.
 * @param offset
 *   Offset in the region.
 * @param len
 *   Bytes to map.
 * @param prot
 *   PROT_READ and/or PROT_WRITE.
 * @return
 *   The mapping (munmap() it when done), or NULL with rte_errno set:
 *   EINVAL (not mappable, or the range is outside the region), EACCES
 *   (outside the sparse areas; only the first 16 are known), ENXIO (the
 *   file does not hold the range), the errno of REGION_INFO or of mmap().
 */
__rte_experimental
void *rte_vfio_user_client_region_mmap(struct rte_vfio_user_client *c,
		uint32_t index, uint64_t offset, uint64_t len, int prot);

/**
 * DMA_MAP.
 *
 * @param c
 *   The client.
 * @param iova
 *   DMA address of the memory for the server.
 * @param size
 *   Bytes.
 * @param vaddr
 *   Our address of the memory, or NULL. Where given, the client answers
 *   the server's DMA_READ / DMA_WRITE for the range from it.
 * @param fd
 *   fd to pass (the server mmaps it at @p fd_offset), or -1 for a
 *   message-only region (then @p vaddr is required).
 * @param fd_offset
 *   Offset of the memory in @p fd (ignored without an fd).
 * @param prot
 *   VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE.
 * @return
 *   0, or a negative errno.
 */
__rte_experimental
int rte_vfio_user_client_dma_map(struct rte_vfio_user_client *c,
		uint64_t iova, uint64_t size, void *vaddr, int fd,
		uint64_t fd_offset, uint32_t prot);

/** One region of rte_vfio_user_client_dma_map_bulk(): the arguments of
 * rte_vfio_user_client_dma_map(). */
struct rte_vfio_user_client_dma_region {
	uint64_t iova;		/**< DMA address of the memory for the server */
	uint64_t size;		/**< bytes */
	void *vaddr;		/**< our address of the memory, or NULL */
	uint64_t fd_offset;	/**< offset of the memory in @p fd */
	int fd;			/**< fd to pass, or -1 (message-only region) */
	uint32_t prot;		/**< VFIO_USER_DMA_MAP_F_READ | _F_WRITE */
};

/**
 * DMA_MAP of several regions, pipelined: up to 256 requests are sent
 * before the first reply is awaited, so n maps cost about one round trip
 * per 256 rather than n (a process backed by one file per hugepage has a
 * region per page). The server serves them in order: a request times out
 * only when the server answered nothing for the configured timeout (since
 * the request was sent, or since the reply before it).
 *
 * All or nothing: when a map fails, the maps of the call that the server
 * made, or may have made (no reply in time), are unmapped again before
 * this returns. The failure is logged with its region (for a call of
 * one region, only a timeout is: the caller reports the rest).
 *
 * @param c
 *   The client.
 * @param r
 *   The regions, each as rte_vfio_user_client_dma_map() takes it; the
 *   server maps them in this order.
 * @param n
 *   Number of regions; 0 does nothing.
 * @return
 *   0, or the negative errno of the first map that failed: -EINVAL (a
 *   region with neither fd nor vaddr; nothing sent), -ENOMEM, the
 *   server's errno, -ETIMEDOUT, -ENOTCONN.
 */
__rte_experimental int rte_vfio_user_client_dma_map_bulk(
	struct rte_vfio_user_client *c,
	const struct rte_vfio_user_client_dma_region *r, uint32_t n);

/**
 * DMA_UNMAP of an exact previous map.
 *
 * Whatever the outcome (success, an error reply, a timeout), the client
 * stops answering the server's DMA_READ / DMA_WRITE for the range before
 * this returns, so the caller may free the memory then: a server that
 * refused the unmap gets its later requests refused (EFAULT).
 *
 * @param c
 *   The client.
 * @param iova
 *   DMA address of the map.
 * @param size
 *   Bytes of the map.
 * @return
 *   0, or a negative errno (the server's, -ETIMEDOUT, -ENOTCONN).
 */
__rte_experimental
int rte_vfio_user_client_dma_unmap(struct rte_vfio_user_client *c,
		uint64_t iova, uint64_t size);

/**
 * DMA_UNMAP of several exact previous maps, pipelined as
 * rte_vfio_user_client_dma_map_bulk() (a round trip per 256 regions,
 * the same timeout rule). Every region is tried, whatever the server
 * answers for another, unless a request cannot be sent (the connection
 * failed: the rest is not sent). Each region is, as with
 * rte_vfio_user_client_dma_unmap(), no longer served to the server when
 * this returns, whatever the outcome.
 *
 * @param c
 *   The client.
 * @param r
 *   The maps (iova and size are used).
 * @param n
 *   Number of maps; 0 does nothing.
 * @return
 *   0, or the negative errno of the first unmap that failed (the
 *   server's, -ENOMEM, -ETIMEDOUT, -ENOTCONN).
 */
__rte_experimental int rte_vfio_user_client_dma_unmap_bulk(
	struct rte_vfio_user_client *c,
	const struct rte_vfio_user_client_dma_region *r, uint32_t n);

/**
 * DMA_UNMAP of an exact previous map, with its dirty bitmap
 * (VFIO_USER_DMA_UNMAP_F_GET_DIRTY_BITMAP): the pages of the range the
 * server wrote since the last report, while dirty page logging is on
 * (rte_vfio_user_client_dirty_pages() with VFIO_USER_DIRTY_PAGES_F_START,
 * or rte_vfio_user_client_dma_logging_start()). The server lets go of
 * the range (its device stops writing there) before it collects the
 * bits, so they are final.
 *
 * @param c
 *   The client.
 * @param iova
 *   DMA address of the map.
 * @param size
 *   Bytes of the map.
 * @param pgsize
 *   Bytes of memory per bit (a power of 2 the server accepts).
 * @param bitmap
 *   Room for the bitmap of [iova, iova + size) at @p pgsize, bit i of
 *   64-bit word w for page 64 * w + i.
 * @param bitmap_size
 *   Bytes at @p bitmap: at least ((size / pgsize + 63) / 64) * 8, at
 *   most 1 MiB.
 * @return
 *   0 (the range is unmapped), or a negative errno (-EINVAL when the
 *   server is not logging or refuses the bitmap; the map stays then).
 */
/* clang-format off */
__rte_experimental
int rte_vfio_user_client_dma_unmap_dirty(struct rte_vfio_user_client *c,
		uint64_t iova, uint64_t size, uint64_t pgsize,
		uint64_t *bitmap, uint64_t bitmap_size);
/* clang-format on */

/**
 * DEVICE_RESET.
 *
 * @param c
 *   The client.
 * @return
 *   0, or a negative errno (the server's: this library's server
 *   answers -ENOTSUP for a device without VFIO_DEVICE_FLAGS_RESET, and
 *   the error of the device's reset callback).
 */
__rte_experimental
int rte_vfio_user_client_reset(struct rte_vfio_user_client *c);

/**
 * Dirty page logging (0.9.1 DIRTY_PAGES).
 *
 * @param c
 *   The client.
 * @param flags
 *   VFIO_USER_DIRTY_PAGES_F_START, _STOP or _GET_BITMAP.
 * @param iova
 *   With _GET_BITMAP: start of the range (DMA address).
 * @param size
 *   With _GET_BITMAP: bytes of the range.
 * @param pgsize
 *   With _GET_BITMAP: bytes of memory per bit (a power of 2).
 * @param bitmap
 *   With _GET_BITMAP: room for the bitmap of [iova, iova + size) at
 *   @p pgsize, @p bitmap_size bytes.
 * @param bitmap_size
 *   With _GET_BITMAP: bytes at @p bitmap: at least
 *   ((size / pgsize + 63) / 64) * 8, at most 1 MiB.
 * @return
 *   0, or a negative errno.
 */
__rte_experimental
int rte_vfio_user_client_dirty_pages(struct rte_vfio_user_client *c,
		uint32_t flags, uint64_t iova, uint64_t size, uint64_t pgsize,
		uint64_t *bitmap, uint64_t bitmap_size);

/* ---- migration (the current text: DEVICE_FEATURE, MIG_DATA_*) ---- */

/**
 * DEVICE_FEATURE GET MIGRATION: what the device's migration offers.
 *
 * @param c
 *   The client.
 * @param flags
 *   VFIO_USER_MIGRATION_* (STOP_COPY always, P2P, PRE_COPY).
 * @return
 *   0, -ENOTSUP (the device is not migratable: the server refused the
 *   GET, with EINVAL, ENOTTY or ENOTSUP), or another error.
 */
__rte_experimental int
rte_vfio_user_client_mig_flags(struct rte_vfio_user_client *c, uint64_t *flags);

/**
 * DEVICE_FEATURE GET MIG_DEVICE_STATE.
 *
 * @param c
 *   The client.
 * @param state
 *   The device's state (enum vfio_user_device_mig_state).
 * @return
 *   0, -ENOTSUP (not migratable: as rte_vfio_user_client_mig_flags()),
 *   or another error.
 */
__rte_experimental int
rte_vfio_user_client_mig_get_state(struct rte_vfio_user_client *c,
				   uint32_t *state);

/**
 * DEVICE_FEATURE SET MIG_DEVICE_STATE: move the device to @p state. The
 * server takes the path of the migration FSM to it (e.g. RUNNING -> STOP
 * -> STOP_COPY) and answers once the device is there.
 *
 * @param c
 *   The client.
 * @param state
 *   enum vfio_user_device_mig_state.
 * @return
 *   0; -EINVAL if the server refused (no such state, one the device does
 *   not offer, a blocked transition: the device stays where it was), or
 *   the error of the arc that failed (the server then tried to go back;
 *   read the state again).
 */
__rte_experimental int
rte_vfio_user_client_mig_set_state(struct rte_vfio_user_client *c,
				   uint32_t state);

/**
 * MIG_DATA_READ (PRE_COPY, PRE_COPY_P2P or STOP_COPY): read the device's
 * migration stream, in messages of at most the server's
 * max_data_xfer_size.
 *
 * @param c
 *   The client.
 * @param buf
 *   Where the bytes go.
 * @param len
 *   Bytes wanted.
 * @return
 *   Bytes read; fewer than @p len means the device had no more (in
 *   STOP_COPY: the end of the stream; in a pre-copy state: none for now).
 *   Or a negative errno.
 */
__rte_experimental ssize_t rte_vfio_user_client_mig_read(
	struct rte_vfio_user_client *c, void *buf, size_t len);

/**
 * MIG_DATA_WRITE (RESUMING): the next @p len bytes of the stream, in
 * messages of at most the server's max_data_xfer_size.
 *
 * @param c
 *   The client.
 * @param buf
 *   The bytes.
 * @param len
 *   How many.
 * @return
 *   0, or a negative errno (e.g. the device refused the data: the error
 *   of its load callback).
 */
__rte_experimental int
rte_vfio_user_client_mig_write(struct rte_vfio_user_client *c, const void *buf,
			       size_t len);

/* ---- DMA logging (DEVICE_FEATURE DMA_LOGGING_*) ---- */

/**
 * DEVICE_FEATURE SET DMA_LOGGING_START: the device logs its writes to
 * client memory.
 *
 * @param c
 *   The client.
 * @param page_size
 *   In: the granularity asked for; out: the one the device picked.
 * @param ranges
 *   IOVA ranges to log.
 * @param nranges
 *   Entries in @p ranges; 0: all memory.
 * @return
 *   0, -EBUSY (logging already), -EINVAL, or another error.
 */
__rte_experimental int rte_vfio_user_client_dma_logging_start(
	struct rte_vfio_user_client *c, uint64_t *page_size,
	const struct vfio_user_dma_logging_range *ranges, uint32_t nranges);

/**
 * DEVICE_FEATURE SET DMA_LOGGING_STOP.
 *
 * @param c
 *   The client.
 * @return
 *   0, or a negative errno.
 */
__rte_experimental int
rte_vfio_user_client_dma_logging_stop(struct rte_vfio_user_client *c);

/**
 * DEVICE_FEATURE GET DMA_LOGGING_REPORT: the pages of
 * [iova, iova + length) written since the last report (reading clears
 * them). The range must lie in one DMA mapping.
 *
 * @param c
 *   The client.
 * @param iova
 *   Start of the range (a multiple of @p page_size).
 * @param length
 *   Its length (a multiple of @p page_size).
 * @param page_size
 *   Granularity of the bitmap (a power of 2, at least 4096).
 * @param bitmap
 *   One bit per page, in u64 words.
 * @param bitmap_size
 *   Bytes at @p bitmap: at least ((length / page_size + 63) / 64) * 8.
 * @return
 *   0, -EINVAL (not logging, bad range), or another error.
 */
__rte_experimental int rte_vfio_user_client_dma_logging_report(
	struct rte_vfio_user_client *c, uint64_t iova, uint64_t length,
	uint64_t page_size, uint64_t *bitmap, uint64_t bitmap_size);

#ifdef __cplusplus
}
#endif

#endif /* RTE_VFIO_USER_CLIENT_H */
