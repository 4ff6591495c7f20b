/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef RTE_VFIO_USER_H
#define RTE_VFIO_USER_H

/**
 * @file
 * RTE vfio-user: the server (device) side of the vfio-user protocol.
 *
 * A device model registers a UNIX socket, describes its device (flags,
 * regions, interrupt types) and starts it. One event thread of the library
 * serves every registered socket: it accepts the client (a VMM such as QEMU's
 * vfio-user-pci, or another process), negotiates the protocol, validates
 * every message and answers them, calling the device model back only for
 * region accesses, reset and lifecycle events.
 *
 * Devices are named by an integer id returned by rte_vfio_user_register().
 * An id stays valid, with its device state, across client connections until
 * rte_vfio_user_unregister().
 *
 * Callbacks run on the library's event thread, one at a time per device.
 *
 * The control-path functions (register, start, stop, unregister, the
 * set_* description functions, ...) take no per-device lock: calls on one
 * device must be serialised by the caller (two threads starting or
 * stopping one device race). Calls on different devices may run
 * concurrently. See rte_vfio_user_unregister() for the end of a device's
 * life.
 *
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <rte_compat.h>

struct rte_rcu_qsbr;

#ifdef __cplusplus
extern "C" {
#endif

/** Most devices registered at once in one process. */
#define RTE_VFIO_USER_MAX_DEVICES 256
/** Most regions of one device. */
#define RTE_VFIO_USER_MAX_REGIONS 64
/** Most IRQ types (indexes) of one device. */
#define RTE_VFIO_USER_MAX_IRQ_TYPES 16
/** Most interrupts (vectors) of one IRQ type. */
#define RTE_VFIO_USER_MAX_IRQS 2048
/** Most sparse areas of one region (rte_vfio_user_region::nr_sparse). */
#define RTE_VFIO_USER_MAX_SPARSE 64
/** Most ioeventfds of one region (rte_vfio_user_region::nr_io_fds). */
#define RTE_VFIO_USER_MAX_IO_FDS 64

/* Device flags (rte_vfio_user_dev_info::flags), as VFIO_DEVICE_FLAGS_*. */
#define RTE_VFIO_USER_DEV_F_RESET	(1u << 0) /**< supports DEVICE_RESET */
/**
 * Is a PCI device. Such a device needs at least VFIO_USER_PCI_NUM_REGIONS
 * (9) regions and a config space region
 * (VFIO_USER_PCI_CONFIG_REGION_INDEX, size > 0), or rte_vfio_user_start()
 * fails with -EINVAL.
 */
#define RTE_VFIO_USER_DEV_F_PCI		(1u << 1)

/** What a client's DEVICE_GET_INFO returns. */
struct rte_vfio_user_dev_info {
	uint32_t flags;		/**< RTE_VFIO_USER_DEV_F_* */
	uint32_t num_regions;	/**< <= RTE_VFIO_USER_MAX_REGIONS */
	uint32_t num_irqs;	/**< IRQ types, <= RTE_VFIO_USER_MAX_IRQ_TYPES */
};

/* Region flags (rte_vfio_user_region::flags), as VFIO_REGION_INFO_FLAG_*. */
#define RTE_VFIO_USER_REG_F_READ	(1u << 0) /**< client may read */
#define RTE_VFIO_USER_REG_F_WRITE	(1u << 1) /**< client may write */
#define RTE_VFIO_USER_REG_F_MMAP	(1u << 2) /**< client may mmap */

/**
 * Region access callback, for REGION_READ / REGION_WRITE.
 *
 * The library has already checked that the access is inside the region and
 * allowed by its flags.
 *
 * @param dev_id
 *   Device id.
 * @param priv
 *   rte_vfio_user_region::priv.
 * @param buf
 *   Data to write, or buffer to read into.
 * @param count
 *   Bytes to access (1 to the negotiated max_data_xfer_size).
 * @param offset
 *   Offset in the region.
 * @param is_write
 *   True for a write.
 * @return
 *   Number of bytes accessed (count), or a negative errno that the library
 *   sends back to the client.
 */
typedef ssize_t (*rte_vfio_user_region_access_t)(int dev_id, void *priv,
		char *buf, size_t count, uint64_t offset, bool is_write);

/** One mappable part of a region (VFIO_REGION_INFO_CAP_SPARSE_MMAP). */
struct rte_vfio_user_sparse_area {
	uint64_t offset;	/**< from the start of the region */
	uint64_t size;		/**< bytes mappable from @p offset */
};

/** An ioeventfd the client may wire to a part of a region (GET_REGION_IO_FDS). */
struct rte_vfio_user_io_fd {
	uint64_t offset;	/**< from the start of the region */
	uint64_t size;		/**< access size, 0 for any */
	int fd;			/**< eventfd, owned by the device model */
	bool datamatch;		/**< signal only for writes of @p data */
	uint64_t data;		/**< value to match, with @p datamatch */
};

/** Description of one device region. */
struct rte_vfio_user_region {
	uint64_t size;		/**< 0: the region does not exist */
	uint32_t flags;		/**< RTE_VFIO_USER_REG_F_* */
	rte_vfio_user_region_access_t access; /**< needed if READ or WRITE */
	void *priv;		/**< passed to @p access */
	int mmap_fd;		/**< with RTE_VFIO_USER_REG_F_MMAP; not closed by the library */
	uint64_t mmap_offset;	/**< offset of the region in @p mmap_fd */
	/** 0: the whole region is mappable; at most RTE_VFIO_USER_MAX_SPARSE */
	uint32_t nr_sparse;
	const struct rte_vfio_user_sparse_area *sparse; /**< copied */
	uint32_t type;		/**< device-specific region type cap; 0: none */
	uint32_t subtype;	/**< with @p type */
	/** Entries in @p io_fds, <= RTE_VFIO_USER_MAX_IO_FDS. */
	uint32_t nr_io_fds;
	const struct rte_vfio_user_io_fd *io_fds; /**< copied */
};

/* IRQ type flags (rte_vfio_user_irq_info::flags), as VFIO_IRQ_INFO_*. */
/** Interrupts are signalled on eventfds the client passes (SET_IRQS). */
#define RTE_VFIO_USER_IRQ_F_EVENTFD	(1u << 0)
/** The client may mask and unmask vectors (refused without this flag). */
#define RTE_VFIO_USER_IRQ_F_MASKABLE	(1u << 1)
/** A vector masks itself when it fires; the client unmasks it. */
#define RTE_VFIO_USER_IRQ_F_AUTOMASKED	(1u << 2)
/**
 * Enabled vectors form one set: growing it needs disabling the type (as
 * VFIO). The set is sized by the first SET_IRQS that passes eventfds, so a
 * client must pass the whole set in one message: at most max_msg_fds (16)
 * vectors and no gap. QEMU splits a larger set, or one with unassigned
 * vectors, over several messages and cannot enable it: declare NORESIZE
 * only for small, gapless sets (net_vfio_user does not declare it).
 */
#define RTE_VFIO_USER_IRQ_F_NORESIZE	(1u << 3)

/** Description of one IRQ type (index). */
struct rte_vfio_user_irq_info {
	uint32_t flags;		/**< RTE_VFIO_USER_IRQ_F_* */
	uint32_t count;		/**< vectors, <= RTE_VFIO_USER_MAX_IRQS */
};

/** Events passed to rte_vfio_user_notify_ops::update_status. */
enum rte_vfio_user_status {
	/** A DMA region is about to be unmapped: drop pointers into it. */
	RTE_VFIO_USER_DMA_UNMAP_PRE,
	/** The DMA table changed (a map or an unmap completed). */
	RTE_VFIO_USER_DMA_CHANGED,
	/** The client changed an IRQ type's eventfds or masks. */
	RTE_VFIO_USER_IRQ_CHANGED,
};

/**
 * What rte_vfio_user_notify_ops::dirty_log is told: dirty page logging of
 * client memory (0.9.1 DIRTY_PAGES, or DEVICE_FEATURE DMA_LOGGING_*) as
 * seen by a device whose writes to client memory do not all go through
 * the library's translation helpers (an offload engine in another
 * process writes it directly).
 */
enum rte_vfio_user_dirty_op {
	/**
	 * The client started logging; the library's bitmaps exist. The
	 * device starts logging the writes it does not mark itself. A
	 * negative errno fails the client's request: logging stays off.
	 */
	RTE_VFIO_USER_DIRTY_START,
	/**
	 * The library is about to report dirty pages (a DIRTY_PAGES
	 * GET_BITMAP, a DMA_LOGGING_REPORT, or a DMA_UNMAP with
	 * GET_DIRTY_BITMAP, after the device let go of the range it takes)
	 * or to keep those of a range unmapped while logging (any other
	 * DMA_UNMAP, also after the device let go): the device marks, with
	 * rte_vfio_user_mark_dirty(), what was written since the last time
	 * and is not marked yet. A negative errno fails the report; for an
	 * unmap, the whole range is kept dirty.
	 */
	RTE_VFIO_USER_DIRTY_SYNC,
	/** Logging stops (the client stopped it, or went away). */
	RTE_VFIO_USER_DIRTY_STOP,
};

/**
 * Callbacks from the library to the device model; each may be NULL.
 *
 * Context of every callback (these, rte_vfio_user_region_access_t and
 * rte_vfio_user_mig_ops): the library's event thread, one at a time, for
 * every device of the process and every client of the process's
 * rte_vfio_user_client connections. So a callback must not block: while
 * it runs no other socket of the process is served. From a callback,
 * rte_vfio_user_stop() and rte_vfio_user_unregister() must not be called;
 * rte_vfio_user_dma_read()/write() of message-only memory return
 * -EDEADLK unless the client negotiated twin_socket; a request of
 * rte_vfio_user_client to a server of the same process cannot be served
 * before the callback returns (it times out). The other functions of the
 * library may be called.
 */
struct rte_vfio_user_notify_ops {
	/**
	 * A client connected and negotiated. A negative return refuses it:
	 * the connection is closed.
	 */
	int (*new_device)(int dev_id);
	/** The client went away (or the device was stopped). */
	void (*destroy_device)(int dev_id);
	/**
	 * Something the data path depends on changed; see the enum. A
	 * notification, not a request: the return value is ignored (an
	 * unmap cannot be refused at RTE_VFIO_USER_DMA_UNMAP_PRE); return 0.
	 */
	int (*update_status)(int dev_id, enum rte_vfio_user_status status);
	/** DEVICE_RESET from the client; negative errno fails it. */
	int (*reset_device)(int dev_id);
	/**
	 * Dirty page logging of writes the library does not see (see the
	 * enum); NULL for a device whose writes all go through
	 * rte_vfio_user_iova_to_va() and friends, or are marked with
	 * rte_vfio_user_mark_dirty() as they happen. Called on the event
	 * thread, never with the library's memory table lock held.
	 */
	int (*dirty_log)(int dev_id, enum rte_vfio_user_dirty_op op);
};

/** Default mode of the socket file of a device: its owner only. */
#define RTE_VFIO_USER_SOCK_MODE_DEFAULT 0600

/**
 * Register a vfio-user device on a UNIX socket path.
 *
 * The socket is created by rte_vfio_user_start(), with mode
 * RTE_VFIO_USER_SOCK_MODE_DEFAULT unless rte_vfio_user_set_sock_mode()
 * says otherwise. What may already be at @p path is described there.
 *
 * @param path
 *   Socket path (shorter than sizeof(sun_path)).
 * @param ops
 *   Callbacks; copied.
 * @param priv
 *   Device model context, see rte_vfio_user_get_priv().
 * @return
 *   Device id (>= 0), or -EINVAL (bad argument), -EEXIST (path already
 *   registered), -ENOSPC (too many devices), -ENOMEM.
 */
__rte_experimental
int rte_vfio_user_register(const char *path,
		const struct rte_vfio_user_notify_ops *ops, void *priv);

/**
 * Register a vfio-user device on a socket the caller already has (the
 * backend program convention `--fd=FDNUM`).
 *
 * @p fd may be a listening socket (clients are accepted from it) or a
 * connected one (the one client; the device stops when it goes). The library
 * owns @p fd from now on: rte_vfio_user_start() hands it to the event
 * thread, and the stop (or a start failing after that) closes it, so such a
 * device starts once (a second start returns -EBADF). On failure @p fd
 * stays the caller's (it is not closed).
 *
 * The device is named "fd:N" (N the fd number, see
 * rte_vfio_user_get_sock_addr()). An fd number can name one device at a
 * time: registering it again before the device that has it is
 * unregistered fails with -EEXIST, even once that device closed it.
 *
 * @param fd
 *   A UNIX stream socket, listening or connected.
 * @param ops
 *   Callbacks; copied. NULL: none.
 * @param priv
 *   Device model context, see rte_vfio_user_get_priv().
 * @return
 *   Device id (>= 0), or -EINVAL (@p fd negative, or getsockname() fails
 *   on it, e.g. not an open fd), -ENOTSOCK (@p fd is not a UNIX socket),
 *   -EEXIST (@p fd's number is registered by another device),
 *   -ENOSPC (too many devices), -ENOMEM.
 */
__rte_experimental
int rte_vfio_user_register_fd(int fd,
		const struct rte_vfio_user_notify_ops *ops, void *priv);

/**
 * Unregister a device: stop it if started (see rte_vfio_user_stop()), free
 * its description. Must not be called from a library callback.
 *
 * Everything of the device is freed at once, with no grace period: its
 * memory table, its QSBR variable and its IRQ vectors. So before the
 * call, every data-path thread must have stopped using the device: no
 * pointer into its memory table (rte_vfio_user_get_mem_table()) or client
 * memory kept, offline in and unregistered from its QSBR variable
 * (rte_vfio_user_get_qsbr()), no rte_vfio_user_irq_trigger() in progress.
 * And no other call of this API on @p dev_id may be in progress, or be
 * made after it: the id is free for the next rte_vfio_user_register().
 *
 * @param dev_id
 *   Device id.
 * @return
 *   0, or -ENODEV.
 */
__rte_experimental
int rte_vfio_user_unregister(int dev_id);

/**
 * Set the mode of the socket file rte_vfio_user_start() creates (default
 * RTE_VFIO_USER_SOCK_MODE_DEFAULT, 0600: only the owner may connect).
 *
 * The file gets exactly this mode, whatever the process umask: it is
 * created with the mode less the umask (so it is never more open than
 * asked) and the bits the umask removed are added back. Write permission
 * is what connect() needs: 0660 lets the file's group connect too, which
 * also needs a group (and a directory) set up by the administrator.
 *
 * @param dev_id
 *   Device id from rte_vfio_user_register().
 * @param mode
 *   Permission bits, at most 0777.
 * @return
 *   0, or -ENODEV, -EINVAL (bits outside 0777), -EBUSY (started),
 *   -ENOTSUP (a device of rte_vfio_user_register_fd(): its socket is the
 *   caller's).
 */
__rte_experimental
int rte_vfio_user_set_sock_mode(int dev_id, mode_t mode);

/** Default of each rte_vfio_user_timeouts field, in milliseconds. */
#define RTE_VFIO_USER_TIMEOUT_MS_DEFAULT 5000
/** Longest timeout rte_vfio_user_set_timeouts() takes: one hour. */
#define RTE_VFIO_USER_TIMEOUT_MS_MAX 3600000

/**
 * How long a device waits for its client, in milliseconds. A client that
 * takes longer is taken as stuck (or hostile): disconnected, or its DMA
 * request failed. Each is RTE_VFIO_USER_TIMEOUT_MS_DEFAULT unless
 * rte_vfio_user_set_timeouts() says otherwise.
 */
struct rte_vfio_user_timeouts {
	/**
	 * The rest of a message whose first bytes came: no byte of it for
	 * this long and the client is disconnected (a byte stream cannot be
	 * put back in step: what follows would be read as headers; and a
	 * client paused that long inside a message is gone: QEMU gives up on
	 * a reply after 5 s). Shorter pauses are waited out: the spec sets
	 * no timeout.
	 */
	uint32_t msg_ms;
	/**
	 * Replies the client does not read: queued replies of which no byte
	 * left for this long disconnect the client.
	 */
	uint32_t reply_ms;
	/**
	 * The client's reply to a DMA_READ / DMA_WRITE message
	 * (rte_vfio_user_dma_read(), rte_vfio_user_dma_write()): the call
	 * fails with -ETIMEDOUT after this long; the connection goes on.
	 */
	uint32_t dma_ms;
};

/**
 * Set how long a device waits for its client (struct
 * rte_vfio_user_timeouts). Before rte_vfio_user_start(). Shorter limits
 * free the device sooner from a client that stopped; longer ones spare a
 * slow client on a loaded host (QEMU's own limit for the device's answers
 * is its x-msg-timeout property).
 *
 * @param dev_id
 *   Device id from rte_vfio_user_register().
 * @param t
 *   The limits; a field of 0 keeps its value (the default unless set
 *   before).
 * @return
 *   0, or -ENODEV, -EINVAL (t NULL, or a field above
 *   RTE_VFIO_USER_TIMEOUT_MS_MAX), -EBUSY (started).
 */
__rte_experimental int
rte_vfio_user_set_timeouts(int dev_id, const struct rte_vfio_user_timeouts *t);

/**
 * How long a device waits for its client: the limits in force.
 *
 * @param dev_id
 *   Device id from rte_vfio_user_register().
 * @param t
 *   Filled in (no field 0).
 * @return
 *   0, or -ENODEV, -EINVAL (t NULL).
 */
__rte_experimental int
rte_vfio_user_get_timeouts(int dev_id, struct rte_vfio_user_timeouts *t);

/**
 * Start serving clients: create and listen on the socket, hand it to the
 * event thread. The device description is checked first (see
 * rte_vfio_user_set_dev_info()). One client at a time: a connection while
 * the device has a client is refused, its first command answered with an
 * error reply (EBUSY).
 *
 * What may be at the socket path already, checked with lstat() (a symbolic
 * link is never followed):
 *  - nothing: the socket is created;
 *  - a socket a server answers on (a connect() to it succeeds): -EADDRINUSE,
 *    with a log message naming the path; the socket is left alone (another
 *    process, or another device of this one, serves it);
 *  - a stale socket (connect() is refused: nobody listens): it is removed
 *    and replaced, if it is still the same file when it is removed;
 *  - anything else (a file, a directory, a symbolic link, even one to a
 *    socket): -EEXIST, left alone;
 *  - a socket whose state cannot be told (connect() fails otherwise, e.g.
 *    EACCES): that error, left alone.
 * bind() itself never follows a symbolic link at the path, so a link
 * planted after the check makes the start fail rather than create a socket
 * elsewhere. rte_vfio_user_stop() removes the socket file only if the path
 * still names the socket it created.
 *
 * @param dev_id
 *   Device id.
 * @return
 *   0, or -ENODEV, -EALREADY (started), -EINVAL (incomplete description:
 *   no regions nor IRQ types, or a PCI device without its 9 regions and
 *   config space), -ENOMEM, -EADDRINUSE (a server answers on the path, or
 *   the file changed while it was checked), -EEXIST (something else is at
 *   the path, or what bind() created there is not the socket made),
 *   -EBADF (a device of rte_vfio_user_register_fd() whose socket a stop
 *   closed), -ENOSPC (the event thread already watches its most fds,
 *   1024), or another negative errno of a failed system call: notably
 *   that of socket(), connect() (e.g. -EACCES), lstat(), unlink(),
 *   fchmod(), bind(), open(), chmod(), listen(), timerfd_create(),
 *   epoll_ctl() or of starting the event thread; for a device of
 *   rte_vfio_user_register_fd(), that of getsockopt() on the socket, and
 *   for a connected one -EMFILE (no fd left for the connection's timer).
 */
__rte_experimental
int rte_vfio_user_start(int dev_id);

/**
 * Stop serving: disconnect the client (destroy_device is called), close the
 * listening socket and remove the socket file (if the path still names the
 * socket rte_vfio_user_start() created). Must not be called from a library
 * callback.
 *
 * The client is disconnected on the event thread, as when it leaves: the
 * message being handled finishes, no further one is read, and the
 * teardown callbacks (destroy_device, update_status with
 * RTE_VFIO_USER_DMA_UNMAP_PRE, dirty_log stop, a migration state change
 * back to running) run there, one at a time with every other callback.
 * rte_vfio_user_stop() returns once they have, so it waits for the
 * callback the event thread is running, of any device: do not call it
 * while holding a lock that a callback takes (after 5 s of waiting it
 * logs a warning, and waits on). A thread online in a device's QSBR
 * variable under its lcore id (which the event thread may be waiting
 * for), or a process whose event thread is gone, tears the connection
 * down itself, as before 2026-12.
 *
 * @param dev_id
 *   Device id.
 * @return
 *   0, or -ENODEV, -EALREADY (not started).
 */
__rte_experimental
int rte_vfio_user_stop(int dev_id);

/**
 * Find a device by socket path.
 *
 * @param path
 *   The path given to rte_vfio_user_register() (compared as a string),
 *   or "fd:N" for a device of rte_vfio_user_register_fd().
 * @return
 *   Device id, or -ENODEV (none, or @p path NULL).
 */
__rte_experimental
int rte_vfio_user_get_dev_id(const char *path);

/**
 * Get the socket path of a device ("fd:N" for rte_vfio_user_register_fd()).
 *
 * @param dev_id
 *   Device id.
 * @param buf
 *   Where the NUL-terminated path goes.
 * @param len
 *   Bytes at @p buf.
 * @return
 *   0, -ENODEV, -EINVAL (@p buf NULL), or -ENOSPC if @p len is too small
 *   (@p buf is then left alone).
 */
__rte_experimental
int rte_vfio_user_get_sock_addr(int dev_id, char *buf, size_t len);

/**
 * Get the device model context given at registration.
 *
 * @param dev_id
 *   Device id.
 * @return
 *   The context, or NULL for an unknown device.
 */
__rte_experimental
void *rte_vfio_user_get_priv(int dev_id);

/**
 * Whether a client is connected and has negotiated.
 *
 * @param dev_id
 *   Device id.
 * @return
 *   1 if so, 0 if not, -ENODEV.
 */
__rte_experimental
int rte_vfio_user_is_connected(int dev_id);

/**
 * Whether the device has no client and nothing of the last one is left:
 * once a client goes, its teardown (destroy_device, then the client's DMA
 * regions unmapped and its IRQ eventfds closed, these after a QSBR grace
 * period) runs on the event thread, and rte_vfio_user_is_connected()
 * already says 0 while it does. Wait for this one before counting the
 * process's fds or mappings, or before reusing what the client had. (One
 * exception: with no memory left to withdraw the client's memory table,
 * its mappings stay, in use, and an error is logged.)
 *
 * @param dev_id
 *   Device id.
 * @return
 *   1 if idle, 0 while a client is connected or being torn down, -ENODEV.
 */
__rte_experimental int rte_vfio_user_is_idle(int dev_id);

/**
 * Set the device information. Resets the region and IRQ descriptions.
 *
 * rte_vfio_user_start() checks the whole description: it fails with
 * -EINVAL for a device with neither regions nor IRQ types, and for an
 * RTE_VFIO_USER_DEV_F_PCI device with fewer than 9 regions or no config
 * space region.
 *
 * @param dev_id
 *   Device id.
 * @param info
 *   The information; copied.
 * @return
 *   0, -ENODEV, -EINVAL (@p info NULL, more than RTE_VFIO_USER_MAX_REGIONS
 *   regions or RTE_VFIO_USER_MAX_IRQ_TYPES IRQ types, or a flag bit other
 *   than RTE_VFIO_USER_DEV_F_*), -EBUSY (started).
 */
__rte_experimental
int rte_vfio_user_set_dev_info(int dev_id,
		const struct rte_vfio_user_dev_info *info);

/**
 * Describe one region (index < num_regions of the device information).
 * Regions not described have size 0.
 *
 * @param dev_id
 *   Device id.
 * @param index
 *   Region index, < rte_vfio_user_dev_info::num_regions.
 * @param reg
 *   The description; copied, with its sparse areas and ioeventfds.
 * @return
 *   0, -ENODEV, -EINVAL (@p reg NULL, @p index out of range, or an
 *   inconsistent description: a flag bit other than
 *   RTE_VFIO_USER_REG_F_*, flags on a region of size 0, no access
 *   callback for a readable or writable region, MMAP without an fd, more
 *   than RTE_VFIO_USER_MAX_SPARSE sparse areas or sparse areas without
 *   MMAP, an empty sparse area or one outside the region, more than
 *   RTE_VFIO_USER_MAX_IO_FDS ioeventfds, one with a negative fd or outside
 *   the region, a NULL array with a non-zero count), -EBUSY (started),
 *   -ENOMEM.
 */
__rte_experimental
int rte_vfio_user_set_reg_info(int dev_id, uint32_t index,
		const struct rte_vfio_user_region *reg);

/**
 * Describe one IRQ type (index < num_irqs of the device information).
 *
 * @param dev_id
 *   Device id.
 * @param index
 *   IRQ type, < rte_vfio_user_dev_info::num_irqs.
 * @param irq
 *   The description; copied.
 * @return
 *   0, -ENODEV, -EINVAL (@p irq NULL, @p index out of range, more than
 *   RTE_VFIO_USER_MAX_IRQS vectors, or a flag bit other than
 *   RTE_VFIO_USER_IRQ_F_*), -EBUSY (started).
 */
__rte_experimental
int rte_vfio_user_set_irq_info(int dev_id, uint32_t index,
		const struct rte_vfio_user_irq_info *irq);


/* ---- client memory (DMA) ---- */

/* Access and protection bits of a DMA region. */
#define RTE_VFIO_USER_MEM_F_READ	(1u << 0) /**< device may read */
#define RTE_VFIO_USER_MEM_F_WRITE	(1u << 1) /**< device may write */
/**
 * The file behind the region is sealed against shrinking (F_SEAL_SHRINK):
 * the client cannot make accesses to it fault. Without it (hugetlbfs and
 * tmpfs files, unsealable memfds) a client that truncates its file makes
 * direct accesses raise SIGBUS; rte_vfio_user_dma_read() and
 * rte_vfio_user_dma_write() are guarded against that, direct accesses
 * through rte_vfio_user_iova_to_va() are not (see the security guide).
 */
#define RTE_VFIO_USER_MEM_F_NO_SHRINK	(1u << 2)

/** Dirty-log granularity of the library, in bytes. */
#define RTE_VFIO_USER_DIRTY_PAGE_SIZE 4096

/**
 * One mapping of a client file in our address space. The library maps each
 * file the client passes once (the whole file, or the part its DMA maps
 * need), however many DMA regions it backs: every region backed by that
 * file is a view into this mapping.
 */
struct rte_vfio_user_mem_map {
	uint8_t *base;		/**< start of the mapping */
	uint64_t size;		/**< bytes mapped */
	/**
	 * While dirty logging is on and the mapping is writable: one bit per
	 * RTE_VFIO_USER_DIRTY_PAGE_SIZE page of the mapping, bit 0 for the
	 * page at @p base; else NULL. Changes at run time: load it atomically.
	 */
	uint64_t *dirty;
};

/**
 * A segment of client memory: a maximal run of IOVA-adjacent DMA regions
 * the device can treat as one, because they are backed by adjacent offsets
 * of the same mapping with the same protection (or are all message-only
 * with the same protection). A ring or a buffer that the client mapped
 * page by page (a guest behind a vIOMMU) but that is contiguous in its
 * memory is thus contiguous for the device too.
 */
struct rte_vfio_user_mem_segment {
	uint64_t iova;		/**< client DMA address */
	uint64_t size;		/**< bytes */
	uint8_t *vaddr;		/**< our address of @p iova; NULL: message-only */
	uint32_t prot;		/**< RTE_VFIO_USER_MEM_F_* */
	uint32_t reserved;	/**< zero */
	/** The mapping behind @p vaddr; NULL for message-only memory. */
	const struct rte_vfio_user_mem_map *map;
};

/** @cond INTERNAL */
/* Entries of an inner node of a memory table. */
#define RTE_VFIO_USER_MEM_NODE_MAX 32
/* Segments of a leaf of a memory table. */
#define RTE_VFIO_USER_MEM_LEAF_MAX 32

/*
 * An inner node of a memory table (a B+tree): child i holds the segments
 * from key[i] (its first IOVA) up to key[i + 1]. For the inline functions
 * below only.
 */
struct rte_vfio_user_mem_node {
	uint32_t n;		/* children */
	uint32_t reserved;
	uint64_t gen;		/* version of the table that built it */
	uint64_t key[RTE_VFIO_USER_MEM_NODE_MAX];
	const void *child[RTE_VFIO_USER_MEM_NODE_MAX];
};

/* A leaf of a memory table: segments sorted by IOVA. */
struct rte_vfio_user_mem_leaf {
	uint32_t n;		/* segments */
	uint32_t reserved;
	uint64_t gen;		/* version of the table that built it */
	struct rte_vfio_user_mem_segment seg[RTE_VFIO_USER_MEM_LEAF_MAX];
};
/** @endcond */

/**
 * The DMA memory table of a device: its segments, sorted by IOVA, never
 * overlapping, in a B+tree (lookups in O(log n), walk it with the functions
 * below, not by hand). A table is immutable once published: a DMA_MAP or
 * DMA_UNMAP publishes a new one, which shares the unchanged parts of the
 * tree with the old. See rte_vfio_user_get_qsbr() for how long a reader may
 * use it.
 */
struct rte_vfio_user_mem_table {
	/** Unique to this table in the process, never 0 (a new table never
	 *  has the number of an old one, even at the same address). */
	uint64_t gen;
	uint32_t nregions;	/**< DMA regions the client mapped */
	uint32_t nsegments;	/**< segments they make */
	uint32_t depth;		/**< inner levels above the leaves (private) */
	uint32_t reserved;	/**< zero */
	const void *root;	/**< inner node, or leaf when depth is 0 (private) */
};

/**
 * Current DMA memory table of a device.
 *
 * Data-path threads call this while online in the device's QSBR variable
 * (rte_vfio_user_get_qsbr()) and may use the table, and any pointer
 * translated from it, until their next rte_rcu_qsbr_quiescent(). Other
 * threads must use rte_vfio_user_dma_read() / rte_vfio_user_dma_write().
 *
 * @param dev_id
 *   Device id.
 * @return
 *   The table (never NULL for a registered device: an empty table when no
 *   client memory is mapped), or NULL for an unknown device.
 */
__rte_experimental
const struct rte_vfio_user_mem_table *rte_vfio_user_get_mem_table(int dev_id);

/**
 * QSBR variable guarding a device's memory table and IRQ eventfds.
 *
 * The contract for device models (see doc/guides/prog_guide/vfio_user_lib.rst):
 * each data-path thread registers its id (< RTE_MAX_LCORE) with
 * rte_rcu_qsbr_thread_register() and rte_rcu_qsbr_thread_online(), calls
 * rte_rcu_qsbr_quiescent() after every burst (when it holds no pointer into
 * client memory), and goes offline when it stops polling. Before a region is
 * unmapped or an eventfd closed, the library waits until every online
 * thread has passed a quiescent state; DMA_UNMAP is answered only then.
 *
 * @param dev_id
 *   Device id.
 * @return
 *   The QSBR variable, or NULL for an unknown device.
 */
__rte_experimental
struct rte_rcu_qsbr *rte_vfio_user_get_qsbr(int dev_id);

/**
 * The range a DMA_UNMAP takes away, for a device model in its
 * update_status(RTE_VFIO_USER_DMA_UNMAP_PRE) callback: it needs to drop
 * only the pointers it keeps into that range (e.g. stop only the queues
 * whose rings lie there).
 *
 * @param dev_id
 *   Device id.
 * @param iova
 *   Start of the range.
 * @param len
 *   Its length. When everything goes (VFIO_USER_DMA_UNMAP_F_ALL, or the
 *   client left): @p iova 0 and @p len UINT64_MAX (no DMA map can reach
 *   the last byte of the IOVA space).
 * @return
 *   0, -ENODEV, or -ENOENT when called outside that callback.
 */
__rte_experimental int rte_vfio_user_get_unmap_range(int dev_id, uint64_t *iova,
						     uint64_t *len);

/** @cond INTERNAL */
/*
 * The segment with the largest IOVA <= iova (which may end before iova),
 * or NULL.
 */
static inline const struct rte_vfio_user_mem_segment *
__rte_vfio_user_mem_floor(const struct rte_vfio_user_mem_table *t,
			  uint64_t iova)
{
	const struct rte_vfio_user_mem_leaf *leaf;
	const void *p = t->root;
	uint32_t d, lo, hi, mid;

	for (d = t->depth; d > 0; d--) {
		const struct rte_vfio_user_mem_node *n =
			(const struct rte_vfio_user_mem_node *)p;

		/* the last child whose first IOVA is <= iova (or the first) */
		lo = 1;
		hi = n->n;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (n->key[mid] <= iova)
				lo = mid + 1;
			else
				hi = mid;
		}
		p = n->child[lo - 1];
	}
	leaf = (const struct rte_vfio_user_mem_leaf *)p;
	lo = 0;
	hi = leaf->n;
	while (lo < hi) {	/* first segment with seg->iova > iova */
		mid = (lo + hi) / 2;
		if (leaf->seg[mid].iova <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? NULL : &leaf->seg[lo - 1];
}
/** @endcond */

/**
 * Mark [iova, iova + len) of a segment dirty (no-op unless logging, and
 * for read-only and message-only segments).
 *
 * @param s
 *   The segment, from the current table.
 * @param iova
 *   Client DMA address, inside @p s.
 * @param len
 *   Bytes, all inside @p s; 0: nothing marked.
 */
static inline void
rte_vfio_user_mem_mark_dirty(const struct rte_vfio_user_mem_segment *s,
		uint64_t iova, uint64_t len)
{
	const struct rte_vfio_user_mem_map *m = s->map;
	uint64_t *bm, first, last, w;

	if (m == NULL || len == 0 || !(s->prot & RTE_VFIO_USER_MEM_F_WRITE))
		return;
	bm = __atomic_load_n(&m->dirty, __ATOMIC_RELAXED);
	if (bm == NULL)
		return;
	first = ((uint64_t)(s->vaddr - m->base) + (iova - s->iova)) /
		RTE_VFIO_USER_DIRTY_PAGE_SIZE;
	last = ((uint64_t)(s->vaddr - m->base) + (iova - s->iova) + len - 1) /
	       RTE_VFIO_USER_DIRTY_PAGE_SIZE;
	for (w = first / 64; w <= last / 64; w++) {
		uint64_t mask = ~0ULL;

		if (w == first / 64)
			mask &= ~0ULL << (first % 64);
		if (w == last / 64)
			mask &= ~0ULL >> (63 - last % 64);
		/* a page already marked costs a load, not a locked write */
		if ((__atomic_load_n(&bm[w], __ATOMIC_RELAXED) & mask) != mask)
			__atomic_fetch_or(&bm[w], mask, __ATOMIC_RELAXED);
	}
}

/**
 * Find the segment holding all of [iova, iova + len), in O(log n).
 *
 * @param t
 *   Table from rte_vfio_user_get_mem_table().
 * @param iova
 *   Client DMA address.
 * @param len
 *   Bytes.
 * @return
 *   The segment, or NULL if the range is not wholly inside one segment
 *   (or wraps around).
 */
static inline const struct rte_vfio_user_mem_segment *
rte_vfio_user_mem_find(const struct rte_vfio_user_mem_table *t,
		uint64_t iova, uint64_t len)
{
	const struct rte_vfio_user_mem_segment *s;

	if (iova + len < iova)
		return NULL;
	s = __rte_vfio_user_mem_floor(t, iova);
	if (s == NULL || iova - s->iova >= s->size ||
	    len > s->size - (iova - s->iova))
		return NULL;
	return s;
}

/**
 * The segment holding @p iova, or else the first one above it: walk a
 * table in IOVA order with
 * `for (s = rte_vfio_user_mem_next(t, 0); s != NULL;
 *      s = rte_vfio_user_mem_next(t, s->iova + s->size))`.
 *
 * @param t
 *   Table from rte_vfio_user_get_mem_table().
 * @param iova
 *   Client DMA address.
 * @return
 *   The segment, or NULL if none ends above @p iova.
 */
__rte_experimental const struct rte_vfio_user_mem_segment *
rte_vfio_user_mem_next(const struct rte_vfio_user_mem_table *t, uint64_t iova);

/**
 * A contiguous view of client memory [iova, iova + len), for what a device
 * keeps and uses through plain pointers across quiescent states (a
 * virtqueue's rings): when one segment holds the range, its address in
 * that segment; else (a guest behind a vIOMMU may give contiguous IOVAs to
 * scattered pages of its memory) the pages mapped again, in IOVA order,
 * into one range of our address space.
 *
 * Not for the data path: it takes the table's lock and may map memory.
 * The address stays valid until a DMA_UNMAP takes a page of the range
 * (update_status(RTE_VFIO_USER_DMA_UNMAP_PRE) with an intersecting range:
 * drop the pointer then; the library unmaps a view after that unmap's
 * grace period) or the client leaves. Asking again for the same range and
 * access returns the same view. Writes through it are not dirty-logged
 * (the pages are marked when the view is made with
 * RTE_VFIO_USER_MEM_F_WRITE).
 *
 * @param dev_id
 *   Device id.
 * @param iova
 *   Client DMA address.
 * @param len
 *   Bytes (> 0), all mapped (not message-only).
 * @param access
 *   RTE_VFIO_USER_MEM_F_READ and/or _WRITE: every segment must allow them.
 * The library logs why a view cannot be made at DEBUG level only: a
 * caller that can do without (net_vfio_user falls back to shadow rings)
 * stays quiet, one that cannot logs the error itself.
 *
 * @return
 *   The address, or NULL with errno set: EINVAL (no such device, len 0
 *   or a range that wraps), EFAULT (not mapped throughout, or a segment
 *   without that access), ENOSPC (too many views), ENOMEM, or the error
 *   of mapping the memory again (e.g. hugetlbfs memory cannot be).
 */
__rte_experimental void *rte_vfio_user_mem_view(int dev_id, uint64_t iova,
						uint64_t len, uint32_t access);

/**
 * Translate a client DMA address to our virtual address.
 *
 * @param t
 *   Table from rte_vfio_user_get_mem_table().
 * @param iova
 *   Client DMA address.
 * @param len
 *   Bytes that will be accessed; all of them must be inside one segment
 *   (see rte_vfio_user_iova_to_va_partial() and rte_vfio_user_mem_read()
 *   for ranges that are not).
 * @param access
 *   RTE_VFIO_USER_MEM_F_READ and/or _WRITE: the segment must allow them.
 *   With _WRITE the pages are marked dirty while dirty logging is on.
 * @return
 *   The address, or NULL (not mapped, straddles segments, message-only
 *   memory, or protection).
 */
static inline void *
rte_vfio_user_iova_to_va(const struct rte_vfio_user_mem_table *t,
		uint64_t iova, uint64_t len, uint32_t access)
{
	const struct rte_vfio_user_mem_segment *s = rte_vfio_user_mem_find(t,
									   iova,
									   len);

	if (s == NULL || s->vaddr == NULL || (s->prot & access) != access)
		return NULL;
	if (access & RTE_VFIO_USER_MEM_F_WRITE)
		rte_vfio_user_mem_mark_dirty(s, iova, len);
	return s->vaddr + (iova - s->iova);
}

/**
 * Last segment hit, for rte_vfio_user_iova_to_va_cached() and the
 * functions below. Zero it before first use. It stays valid across
 * quiescent states and table changes: it is used only with the table it
 * was filled from (rte_vfio_user_mem_table::gen).
 */
struct rte_vfio_user_mem_cache {
	uint64_t gen;		/**< table of @p seg; 0: empty */
	const struct rte_vfio_user_mem_segment *seg; /**< the last hit */
};

/** @cond INTERNAL */
/* The cached segment if it holds [iova, iova + len) in table t. */
static inline const struct rte_vfio_user_mem_segment *
__rte_vfio_user_mem_cached(const struct rte_vfio_user_mem_table *t,
			   struct rte_vfio_user_mem_cache *c, uint64_t iova,
			   uint64_t len)
{
	const struct rte_vfio_user_mem_segment *s = c->seg;

	/* a segment inside the space cannot wrap: no overflow check here */
	if (c->gen == t->gen && iova >= s->iova && iova - s->iova < s->size &&
	    len <= s->size - (iova - s->iova))
		return s;
	s = rte_vfio_user_mem_find(t, iova, len);
	if (s != NULL) {
		c->gen = t->gen;
		c->seg = s;
	}
	return s;
}
/** @endcond */

/**
 * rte_vfio_user_iova_to_va() that first tries the segment of the previous
 * hit (one cache per queue is typical): most descriptors of a burst land in
 * the same segment.
 *
 * @param t
 *   Table from rte_vfio_user_get_mem_table().
 * @param c
 *   Translation cache, updated on a hit in another segment.
 * @param iova
 *   Client DMA address.
 * @param len
 *   Bytes that will be accessed, all inside one segment.
 * @param access
 *   As for rte_vfio_user_iova_to_va().
 * @return
 *   As rte_vfio_user_iova_to_va().
 */
static inline void *
rte_vfio_user_iova_to_va_cached(const struct rte_vfio_user_mem_table *t,
		struct rte_vfio_user_mem_cache *c, uint64_t iova, uint64_t len,
		uint32_t access)
{
	const struct rte_vfio_user_mem_segment *s =
		__rte_vfio_user_mem_cached(t, c, iova, len);

	if (s == NULL || s->vaddr == NULL || (s->prot & access) != access)
		return NULL;
	if (access & RTE_VFIO_USER_MEM_F_WRITE)
		rte_vfio_user_mem_mark_dirty(s, iova, len);
	return s->vaddr + (iova - s->iova);
}

/**
 * Translate as much of [iova, iova + *len) as one segment holds: the
 * building block for data paths that gather or scatter a range of client
 * memory that is not contiguous for us (different files, non-adjacent
 * offsets): translate, use *len bytes, advance, repeat.
 *
 * @param t
 *   Table from rte_vfio_user_get_mem_table().
 * @param c
 *   Translation cache (see rte_vfio_user_iova_to_va_cached()).
 * @param iova
 *   Client DMA address.
 * @param len
 *   In: bytes wanted (> 0). Out: bytes usable at the returned address,
 *   1 to the value in; unchanged on failure.
 * @param access
 *   As for rte_vfio_user_iova_to_va(); pages are marked dirty for the
 *   bytes returned.
 * @return
 *   The address of @p iova, or NULL (@p iova not mapped, message-only
 *   memory, protection).
 */
static inline void *
rte_vfio_user_iova_to_va_partial(const struct rte_vfio_user_mem_table *t,
				 struct rte_vfio_user_mem_cache *c,
				 uint64_t iova, uint64_t *len, uint32_t access)
{
	const struct rte_vfio_user_mem_segment *s =
		__rte_vfio_user_mem_cached(t, c, iova, 1);
	uint64_t n;

	if (s == NULL || s->vaddr == NULL || (s->prot & access) != access ||
	    *len == 0)
		return NULL;
	n = s->size - (iova - s->iova);
	if (n > *len)
		n = *len;
	if (access & RTE_VFIO_USER_MEM_F_WRITE)
		rte_vfio_user_mem_mark_dirty(s, iova, n);
	*len = n;
	return s->vaddr + (iova - s->iova);
}

/**
 * The slow path of rte_vfio_user_mem_read() and rte_vfio_user_mem_write():
 * copy between @p buf and client memory chunk by chunk, one segment at a
 * time. The whole range is checked first (mapped, not message-only,
 * protection), so on failure nothing was copied.
 *
 * @param t
 *   Table from rte_vfio_user_get_mem_table().
 * @param c
 *   Translation cache (see rte_vfio_user_iova_to_va_cached()).
 * @param iova
 *   Client DMA address.
 * @param buf
 *   Our buffer of @p len bytes: the source with @p write, else the
 *   destination.
 * @param len
 *   Bytes; 0: nothing done, 0 returned.
 * @param write
 *   True to copy @p buf to client memory (the pages are marked dirty
 *   while logging), false to copy client memory to @p buf.
 * @return
 *   0, or -EFAULT (a byte of the range not mapped, message-only, or not
 *   accessible as asked), -EINVAL (the range wraps).
 */
__rte_experimental int
rte_vfio_user_mem_copy(const struct rte_vfio_user_mem_table *t,
		       struct rte_vfio_user_mem_cache *c, uint64_t iova,
		       void *buf, uint64_t len, bool write);

/**
 * Copy client memory [iova, iova + len) to @p buf from a data-path thread
 * (online in the device's QSBR variable, @p t from
 * rte_vfio_user_get_mem_table()), whatever the segments the range spans:
 * inline when one segment holds it, else through rte_vfio_user_mem_copy().
 * Message-only memory cannot be read this way (-EFAULT): use
 * rte_vfio_user_dma_read() from a thread that is offline.
 *
 * @param t
 *   Table from rte_vfio_user_get_mem_table().
 * @param c
 *   Translation cache (see rte_vfio_user_iova_to_va_cached()).
 * @param iova
 *   Client DMA address.
 * @param buf
 *   Where the bytes go.
 * @param len
 *   Bytes.
 * @return
 *   0, -EFAULT, -EINVAL (see rte_vfio_user_mem_copy()).
 */
static inline int
rte_vfio_user_mem_read(const struct rte_vfio_user_mem_table *t,
		       struct rte_vfio_user_mem_cache *c, uint64_t iova,
		       void *buf, uint64_t len)
{
	const void *va =
		rte_vfio_user_iova_to_va_cached(t, c, iova, len,
						RTE_VFIO_USER_MEM_F_READ);

	if (va == NULL)
		return rte_vfio_user_mem_copy(t, c, iova, buf, len, false);
	memcpy(buf, va, len);
	return 0;
}

/**
 * Copy @p buf to client memory [iova, iova + len), as
 * rte_vfio_user_mem_read(); the pages written are marked dirty while
 * logging.
 *
 * @param t
 *   Table from rte_vfio_user_get_mem_table().
 * @param c
 *   Translation cache (see rte_vfio_user_iova_to_va_cached()).
 * @param iova
 *   Client DMA address.
 * @param buf
 *   The bytes.
 * @param len
 *   How many.
 * @return
 *   0, -EFAULT, -EINVAL (see rte_vfio_user_mem_copy()).
 */
static inline int
rte_vfio_user_mem_write(const struct rte_vfio_user_mem_table *t,
			struct rte_vfio_user_mem_cache *c, uint64_t iova,
			const void *buf, uint64_t len)
{
	void *va = rte_vfio_user_iova_to_va_cached(t, c, iova, len,
						   RTE_VFIO_USER_MEM_F_WRITE);

	if (va == NULL)
		return rte_vfio_user_mem_copy(t, c, iova,
					      (void *)(uintptr_t)buf, len,
					      true);
	memcpy(va, buf, len);
	return 0;
}

/**
 * Mark client memory dirty (for a device that wrote it without
 * rte_vfio_user_iova_to_va(..., RTE_VFIO_USER_MEM_F_WRITE)). The range may
 * span segments. Message-only memory is never logged (the client performs
 * every write to it itself, and knows), nor is read-only memory: marking
 * them is accepted and does nothing.
 *
 * @param dev_id
 *   Device id.
 * @param iova
 *   Client DMA address.
 * @param len
 *   Bytes (0: only @p iova is checked).
 * @return
 *   0, -ENODEV, or -EFAULT if a part of the range is not mapped (or the
 *   range wraps).
 */
__rte_experimental
int rte_vfio_user_mark_dirty(int dev_id, uint64_t iova, uint64_t len);

/**
 * Read client memory from any thread but the library's event thread (where
 * -EDEADLK is returned unless the client negotiated twin_socket). The
 * range may span segments and DMA regions.
 * Mapped memory is copied directly; message-only memory is read with
 * VFIO_USER_DMA_READ messages, chunked by the client's max_data_xfer_size
 * and by its DMA regions (one message never spans two DMA_MAPs, even
 * where they make one segment).
 * A copy from a region whose file may shrink (no
 * RTE_VFIO_USER_MEM_F_NO_SHRINK) is guarded: if the client truncated the
 * file, the call fails with -EFAULT instead of raising SIGBUS.
 *
 * Message-only memory must not be read from a thread that is online in
 * the device's QSBR variable (rte_vfio_user_get_qsbr()): the client may
 * send a DMA_MAP or DMA_UNMAP before its reply, and that waits for the
 * thread to go quiescent. The library detects it for threads registered
 * under their lcore id (as the PMDs do) and returns -EDEADLK.
 *
 * @param dev_id
 *   Device id.
 * @param iova
 *   Client DMA address.
 * @param buf
 *   Where the bytes go.
 * @param len
 *   Bytes; 0: nothing done, 0 returned.
 * @return
 *   0, -ENODEV, -ENOTCONN (no client, or it left meanwhile), -EFAULT (not
 *   mapped, not readable, or the memory behind it is gone), -ETIMEDOUT
 *   (the client did not answer within the device's dma_ms, 5 s unless
 *   rte_vfio_user_set_timeouts() said otherwise), -EDEADLK, -EIO (the client
 *   answered with an error, whose errno is logged, or with a malformed
 *   reply), or the negative errno of sending the request (-EPIPE: the
 *   client is going).
 */
__rte_experimental
int rte_vfio_user_dma_read(int dev_id, uint64_t iova, void *buf, size_t len);

/**
 * Write client memory; as rte_vfio_user_dma_read() (VFIO_USER_DMA_WRITE
 * for message-only memory). Mapped pages are marked dirty while logging.
 *
 * @param dev_id
 *   Device id.
 * @param iova
 *   Client DMA address.
 * @param buf
 *   The bytes.
 * @param len
 *   How many; 0: nothing done, 0 returned.
 * @return
 *   As rte_vfio_user_dma_read() (-EFAULT also for memory the client did
 *   not map writable).
 */
__rte_experimental
int rte_vfio_user_dma_write(int dev_id, uint64_t iova, const void *buf,
		size_t len);

/**
 * Keep the file descriptors of client memory, for a device model that hands
 * that memory on to another process (e.g. as vhost-user memory regions to
 * an offload engine): the library then keeps a duplicate of the fd of
 * every client file it maps (one per file, however many DMA regions it
 * backs), closed when the mapping goes (the last DMA_UNMAP of the file,
 * the client leaving). Off by default: it costs an fd per client file.
 * Affects the mappings made after the call: call it before
 * rte_vfio_user_start().
 *
 * @param dev_id
 *   Device id.
 * @param keep
 *   True to keep the fds, false (the default) not to.
 * @return
 *   0, or -ENODEV.
 */
__rte_experimental int rte_vfio_user_mem_keep_fds(int dev_id, bool keep);

/**
 * The file behind a segment of client memory, for passing it on.
 *
 * From the control path only (a library callback, or a function the
 * device model runs on the event thread through rte_vfio_user_watch_fd()),
 * with @p s taken from the current table: the fd stays valid until the
 * next RTE_VFIO_USER_DMA_CHANGED. Pass it on (SCM_RIGHTS duplicates it),
 * do not close it.
 *
 * @param dev_id
 *   Device id.
 * @param s
 *   A segment of rte_vfio_user_get_mem_table(dev_id).
 * @param offset
 *   Out: the offset in the file of the segment's first byte.
 * @return
 *   The fd (owned by the library), -ENODEV, -ENOENT (message-only
 *   memory, or rte_vfio_user_mem_keep_fds() was off when it was mapped).
 */
__rte_experimental int
rte_vfio_user_mem_fd(int dev_id, const struct rte_vfio_user_mem_segment *s,
		     uint64_t *offset);

/* ---- the event thread ---- */

/**
 * Callback for rte_vfio_user_watch_fd().
 *
 * @param fd
 *   The fd.
 * @param arg
 *   As given.
 * @param events
 *   epoll events: EPOLLIN, and EPOLLHUP / EPOLLERR whether asked or not.
 */
typedef void (*rte_vfio_user_fd_cb_t)(int fd, void *arg, uint32_t events);

/**
 * Watch an fd of the device model on the library's event thread: @p cb runs
 * there, level-triggered, while @p fd is readable or has hung up. As every
 * library callback of every device runs on that thread, one at a time,
 * @p cb never runs concurrently with them: a device model's own sockets
 * and timers (e.g. the connection to an offload engine) are served
 * without locks against its region accesses and status changes. @p cb
 * must not block for long: it holds up every device.
 *
 * @param fd
 *   The fd, watched for EPOLLIN; it stays the caller's (not closed by
 *   the library).
 * @param cb
 *   Called on the event thread when @p fd is readable or hung up.
 * @param arg
 *   Passed to @p cb.
 * @return
 *   0, -EINVAL (@p fd negative or @p cb NULL), -EEXIST (already watched),
 *   -ENOSPC (the event thread already watches its most fds, 1024), or the
 *   negative errno of epoll_ctl() or of starting the event thread.
 */
__rte_experimental int rte_vfio_user_watch_fd(int fd, rte_vfio_user_fd_cb_t cb,
					      void *arg);

/**
 * Stop watching an fd. When called from another thread, waits until its
 * callback is not running; from the callback itself (or any other
 * callback on the event thread), returns at once.
 *
 * @param fd
 *   An fd given to rte_vfio_user_watch_fd(); not closed.
 * @return
 *   0, or -ENOENT (not watched).
 */
__rte_experimental int rte_vfio_user_unwatch_fd(int fd);

/* ---- interrupts ---- */

/**
 * Raise interrupt @p vector of IRQ type @p index: write its eventfd.
 *
 * Lock-free. If the vector is masked (SET_IRQS ACTION_MASK), or has no
 * eventfd yet, the interrupt is latched as pending and delivered when the
 * client unmasks it (or assigns an eventfd). Types flagged AUTOMASKED
 * (INTx) mask themselves when they fire; the client's UNMASK re-raises a
 * still-pending interrupt. Call it from a thread online in the device's
 * QSBR variable or from a library callback.
 *
 * The vectors exist from the device's first rte_vfio_user_start() (with
 * the counts of the description then) until it is unregistered: before
 * that first start, this function, rte_vfio_user_irq_clear() and
 * rte_vfio_user_get_irq() return -EINVAL for every vector.
 *
 * @param dev_id
 *   Device id.
 * @param index
 *   IRQ type.
 * @param vector
 *   Vector of that type.
 * @return
 *   1 if an eventfd was written, 0 if latched as pending, -ENODEV, -EINVAL
 *   (index or vector out of range, or the device was never started).
 */
__rte_experimental
int rte_vfio_user_irq_trigger(int dev_id, uint32_t index, uint32_t vector);

/**
 * Drop a latched interrupt (the device deasserted a level interrupt).
 *
 * @param dev_id
 *   Device id.
 * @param index
 *   IRQ type.
 * @param vector
 *   Vector of that type.
 * @return
 *   0, -ENODEV, -EINVAL (as rte_vfio_user_irq_trigger()).
 */
__rte_experimental
int rte_vfio_user_irq_clear(int dev_id, uint32_t index, uint32_t vector);

/**
 * The eventfd the client assigned to a vector (for a device model that
 * wants to hand it on, e.g. to a vDPA driver).
 *
 * @param dev_id
 *   Device id.
 * @param index
 *   IRQ type.
 * @param vector
 *   Vector of that type.
 * @return
 *   The eventfd (owned by the library; valid until the next
 *   RTE_VFIO_USER_IRQ_CHANGED), -1 if none, -ENODEV, -EINVAL (as
 *   rte_vfio_user_irq_trigger()).
 */
__rte_experimental
int rte_vfio_user_get_irq(int dev_id, uint32_t index, uint32_t vector);

/**
 * Whether the client enabled any vector of an IRQ type (assigned an
 * eventfd), e.g. to tell MSI-X from INTx operation.
 *
 * @param dev_id
 *   Device id.
 * @param index
 *   IRQ type.
 * @return
 *   Number of vectors with an eventfd (0 before the first start), -ENODEV,
 *   -EINVAL (@p index >= rte_vfio_user_dev_info::num_irqs).
 */
__rte_experimental
int rte_vfio_user_irq_enabled(int dev_id, uint32_t index);

/* ---- migration ---- */

/**
 * Migration states of a device, the states of the migration FSM of the
 * vfio-user specification (as enum vfio_device_mig_state of
 * <linux/vfio.h>, same values).
 */
enum rte_vfio_user_mig_state {
	/** Failed: only DEVICE_RESET leaves it (back to RUNNING). */
	RTE_VFIO_USER_MIG_ERROR = 0,
	/** Stopped: neither internal nor external state changes. */
	RTE_VFIO_USER_MIG_STOP = 1,
	/** Running normally (the state of a device that never migrated). */
	RTE_VFIO_USER_MIG_RUNNING = 2,
	/** Stopped, its state being read out (save). */
	RTE_VFIO_USER_MIG_STOP_COPY = 3,
	/** Stopped, a new state being loaded (load). */
	RTE_VFIO_USER_MIG_RESUMING = 4,
	/** Running, but initiating no peer-to-peer DMA (with _F_P2P). */
	RTE_VFIO_USER_MIG_RUNNING_P2P = 5,
	/** Running, an initial state being read out (with _F_PRE_COPY). */
	RTE_VFIO_USER_MIG_PRE_COPY = 6,
	/** PRE_COPY without peer-to-peer DMA (with _F_P2P and _F_PRE_COPY). */
	RTE_VFIO_USER_MIG_PRE_COPY_P2P = 7,
};

/* What a device supports (rte_vfio_user_mig_ops::flags), as VFIO_MIGRATION_*. */
/** STOP_COPY and RESUMING: required. */
#define RTE_VFIO_USER_MIG_F_STOP_COPY	(1ULL << 0)
/**
 * RUNNING_P2P (and PRE_COPY_P2P with _F_PRE_COPY). The spec lists both
 * states as "not used in vfio-user" (no peer-to-peer DMA between devices
 * of different servers): a device model offers them for a client that
 * asks anyway; net_vfio_user does not.
 */
#define RTE_VFIO_USER_MIG_F_P2P		(1ULL << 1)
/** PRE_COPY (and PRE_COPY_P2P with _F_P2P). */
#define RTE_VFIO_USER_MIG_F_PRE_COPY	(1ULL << 2)

/**
 * Migration callbacks of a device model. The library does the protocol:
 * the current text's VFIO_USER_DEVICE_FEATURE (MIGRATION,
 * MIG_DEVICE_STATE) with VFIO_USER_MIG_DATA_READ / WRITE, and 0.9.1's
 * migration region (offered to clients that negotiate its "migration"
 * capability). Both drive these callbacks, on the library's event thread,
 * one at a time per device and never during another callback of it.
 *
 * The migration data is one byte stream per saving or resuming session;
 * its format is the device model's. See doc/guides/prog_guide/migration.rst.
 */
struct rte_vfio_user_mig_ops {
	/** RTE_VFIO_USER_MIG_F_*; RTE_VFIO_USER_MIG_F_STOP_COPY is required. */
	uint64_t flags;
	/**
	 * Take one arc of the FSM, from @p from to @p to. A request between
	 * states with no direct arc is split into several calls along the
	 * path <linux/vfio.h> defines (e.g. RUNNING -> STOP -> STOP_COPY).
	 * Only arcs between states the flags allow are taken:
	 *  - RUNNING <-> STOP (without P2P), STOP <-> STOP_COPY,
	 *    STOP <-> RESUMING;
	 *  - with P2P: RUNNING <-> RUNNING_P2P <-> STOP instead of
	 *    RUNNING <-> STOP;
	 *  - with PRE_COPY: RUNNING <-> PRE_COPY, PRE_COPY -> STOP_COPY
	 *    (PRE_COPY -> PRE_COPY_P2P -> STOP_COPY with P2P too, and
	 *    RUNNING_P2P <-> PRE_COPY_P2P).
	 * Leaving a saving state (PRE_COPY*, STOP_COPY) for a non-saving one
	 * ends the save session; leaving RESUMING ends the load session: the
	 * device checks and applies what it loaded, and fails the arc if that
	 * is incomplete or invalid.
	 *
	 * The library also calls it with @p to RUNNING from any state, ERROR
	 * included, after a DEVICE_RESET and when the client goes away
	 * (after rte_vfio_user_notify_ops::destroy_device): the device drops
	 * any session and runs again; the return value is then ignored.
	 *
	 * @return
	 *   0, or a negative errno, which the client gets; the device must
	 *   then still be in state @p from (the library then walks back to
	 *   the state the request started from, or goes to ERROR if that
	 *   fails too).
	 */
	int (*state_change)(int dev_id, enum rte_vfio_user_mig_state from,
			    enum rte_vfio_user_mig_state to);
	/**
	 * Save: the next bytes of the stream, in PRE_COPY, PRE_COPY_P2P or
	 * STOP_COPY. In a pre-copy state 0 means "nothing more for now"; in
	 * STOP_COPY it ends the stream.
	 *
	 * @return
	 *   Bytes written to @p buf (at most @p len), or a negative errno.
	 */
	ssize_t (*save)(int dev_id, void *buf, size_t len);
	/**
	 * Load: the next @p len bytes of the stream, in RESUMING, in the
	 * order save() gave them (in pieces of any size).
	 *
	 * @return
	 *   0, or a negative errno (malformed data, incompatible version):
	 *   the client gets it.
	 */
	int (*load)(int dev_id, const void *buf, size_t len);
};

/**
 * Make a device migratable: give its migration callbacks. Before
 * rte_vfio_user_start(). The device starts in RUNNING.
 *
 * @param dev_id
 *   Device id.
 * @param ops
 *   Callbacks (copied); all three are required. NULL: not migratable.
 * @return
 *   0, -ENODEV, -EINVAL (missing callback, no _F_STOP_COPY, unknown
 *   flag), -EBUSY (started), -ENOMEM.
 */
__rte_experimental int
rte_vfio_user_set_mig_ops(int dev_id, const struct rte_vfio_user_mig_ops *ops);

/**
 * Current migration state of a device.
 *
 * @param dev_id
 *   Device id.
 * @return
 *   An enum rte_vfio_user_mig_state value, -ENODEV, or -ENOTSUP (no
 *   migration callbacks).
 */
__rte_experimental int rte_vfio_user_get_mig_state(int dev_id);

/**
 * Default of rte_vfio_user_set_event_poll(), in microseconds.
 */
#define RTE_VFIO_USER_EVENT_POLL_US_DEFAULT 50

/**
 * How long the library's threads poll for the peer's next message before
 * they sleep, process-wide, for servers and clients alike: the event
 * thread after it handled events (yielding the CPU between polls), and a
 * client API call for its reply. A peer that sends its next message in
 * that time finds the thread awake, and neither side pays for a wake-up,
 * which between two CPUs is most of a request's cost (see
 * doc/guides/perf_control_path.rst). The price is up to that much CPU time
 * after each burst of messages, given up to any other runnable thread.
 *
 * @param usec
 *   Microseconds, at most 1000000; 0: sleep at once.
 * @return
 *   0, or -EINVAL.
 */
__rte_experimental int rte_vfio_user_set_event_poll(uint32_t usec);

/**
 * The current rte_vfio_user_set_event_poll() value.
 *
 * @return
 *   Microseconds (RTE_VFIO_USER_EVENT_POLL_US_DEFAULT unless set).
 */
__rte_experimental uint32_t rte_vfio_user_get_event_poll(void);

#ifdef __cplusplus
}
#endif

#endif /* RTE_VFIO_USER_H */
