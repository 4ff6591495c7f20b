/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VFIO_USER_PROTO_H
#define VFIO_USER_PROTO_H

/**
 * @file
 * vfio-user wire format.
 *
 * Message layouts of the vfio-user protocol, version 0.9.1 (commands 1-14)
 * and of the current upstream text (commands 15-18). This header only
 * describes bytes on the socket: it includes nothing of this project and
 * nothing of DPDK, so tests and other tools can use it on their own.
 *
 * All fields are in host byte order (the specification's "endianness of the
 * host system"; 0.9.1 said little-endian, which is the same on every host
 * this project builds for). Every structure is packed and its size is checked
 * against the specification's tables at compile time.
 *
 * Every message is a struct vfio_user_header and the command's payload
 * structure below. A request is the command message, a reply its answer.
 * Sizes, offsets and counts are in bytes unless said otherwise. The layouts
 * mirror the VFIO uAPI (<linux/vfio.h>) that the commands stand in for, and
 * so does the meaning of argsz: in a request, the room the sender has for
 * the reply payload (where the reply has no payload: the request payload's
 * own size); in a reply, the size the whole reply payload needs. A reply
 * whose argsz exceeds the request's came without its variable part.
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Protocol major version this implementation speaks; peers must match. */
#define VFIO_USER_MAJOR_VER 0
/** Highest protocol minor version this implementation speaks. */
#define VFIO_USER_MINOR_VER 1

/**
 * Command identifiers (vfio_user_header::cmd). The client sends every
 * command but DMA_READ and DMA_WRITE, which the server sends (on the twin
 * socket when twin-socket mode was negotiated).
 */
enum vfio_user_command {
	VFIO_USER_VERSION = 1,			/**< the handshake */
	VFIO_USER_DMA_MAP = 2,			/**< share client memory */
	VFIO_USER_DMA_UNMAP = 3,		/**< withdraw a DMA_MAP */
	VFIO_USER_DEVICE_GET_INFO = 4,		/**< device flags, counts */
	VFIO_USER_DEVICE_GET_REGION_INFO = 5,	/**< one region's layout */
	VFIO_USER_DEVICE_GET_REGION_IO_FDS = 6,	/**< a region's io fds */
	VFIO_USER_DEVICE_GET_IRQ_INFO = 7,	/**< one IRQ type's info */
	VFIO_USER_DEVICE_SET_IRQS = 8,		/**< IRQ actions, eventfds */
	VFIO_USER_REGION_READ = 9,		/**< read a device region */
	VFIO_USER_REGION_WRITE = 10,		/**< write a device region */
	VFIO_USER_DMA_READ = 11,		/**< server reads DMA memory */
	VFIO_USER_DMA_WRITE = 12,		/**< server writes DMA memory */
	VFIO_USER_DEVICE_RESET = 13,		/**< reset the device */
	VFIO_USER_DIRTY_PAGES = 14,		/**< 0.9.1 only */
	VFIO_USER_REGION_WRITE_MULTI = 15,	/**< coalesced small writes */
	VFIO_USER_DEVICE_FEATURE = 16,		/**< feature get/set/probe */
	VFIO_USER_MIG_DATA_READ = 17,		/**< read migration data */
	VFIO_USER_MIG_DATA_WRITE = 18,		/**< write migration data */
	VFIO_USER_MAX_COMMAND,			/**< highest command + 1 */
};

/* Header flags. */
/** Bits 0-3 of vfio_user_header::flags: the message type. */
#define VFIO_USER_F_TYPE_MASK		0xfu
/** Message type of a command (a request). */
#define VFIO_USER_F_TYPE_COMMAND	0x0u
/** Message type of a reply: it carries its command's msg_id and cmd. */
#define VFIO_USER_F_TYPE_REPLY		0x1u
/** In a command: the sender wants no reply (none is sent, even on error). */
#define VFIO_USER_F_NO_REPLY		(1u << 4)
/** In a reply: the command failed; the reply has no payload. */
#define VFIO_USER_F_ERROR		(1u << 5)

/** Common 16-byte header of every message. */
struct vfio_user_header {
	uint16_t msg_id;	/**< chosen by the sender, echoed in the reply;
				 *   need not be unique */
	uint16_t cmd;		/**< enum vfio_user_command, in the reply too */
	uint32_t msg_size;	/**< whole message, header included */
	uint32_t flags;		/**< VFIO_USER_F_* */
	uint32_t error_no;	/**< errno in an error reply (or 0), else 0 */
} __attribute__((packed));

/** VFIO_USER_VERSION request and reply; JSON capabilities follow. */
struct vfio_user_version {
	uint16_t major;		/**< VFIO_USER_MAJOR_VER; the reply's must be
				 *   the proposed one */
	uint16_t minor;		/**< the reply's is at most the proposed one */
	char data[];		/**< optional NUL-terminated JSON */
} __attribute__((packed));

/* Capability names of the JSON version data. */
/** Object holding the capabilities below; optional. */
#define VFIO_USER_CAP_ROOT		"capabilities"
/** Number: most fds the sender can receive in one message. */
#define VFIO_USER_CAP_MAX_FDS		"max_msg_fds"
/** Number: largest count the sender accepts in a data transfer message. */
#define VFIO_USER_CAP_MAX_XFER		"max_data_xfer_size"
/** Number: most DMA mappings valid at once. */
#define VFIO_USER_CAP_MAX_DMA_MAPS	"max_dma_maps"
/** Number: DMA_MAP page sizes supported, or'ed together. */
#define VFIO_USER_CAP_PGSIZES		"pgsizes"
/** Object: twin-socket mode, server-to-client commands on their socket. */
#define VFIO_USER_CAP_TWIN_SOCKET	"twin_socket"
/** Boolean in VFIO_USER_CAP_TWIN_SOCKET: the sender supports the mode. */
#define VFIO_USER_CAP_TWIN_SUPPORTED	"supported"
/** Number in VFIO_USER_CAP_TWIN_SOCKET, reply only: the socket's fd index. */
#define VFIO_USER_CAP_TWIN_FD_INDEX	"fd_index"
/** Boolean: VFIO_USER_REGION_WRITE_MULTI is supported. */
#define VFIO_USER_CAP_WRITE_MULTI	"write_multiple"
/** Object (0.9.1): migration parameters; absent: no migration. */
#define VFIO_USER_CAP_MIGRATION		"migration"
/** Number in VFIO_USER_CAP_MIGRATION (0.9.1): dirty bitmap page size. */
#define VFIO_USER_CAP_MIG_PGSIZE	"pgsize"

/* Defaults the specification gives for absent capabilities. */
/** max_msg_fds of a peer that does not say. */
#define VFIO_USER_DEF_MAX_FDS		1
/** max_data_xfer_size of a peer that does not say: 1 MiB. */
#define VFIO_USER_DEF_MAX_XFER		(1024 * 1024)
/** max_dma_maps of a peer that does not say: 64K - 1. */
#define VFIO_USER_DEF_MAX_DMA_MAPS	65535
/** pgsizes of a peer that does not say: 4 KiB pages only. */
#define VFIO_USER_DEF_PGSIZES		4096

/* DMA_MAP flags. */
#define VFIO_USER_DMA_MAP_F_READ	(1u << 0)	/**< server may read */
#define VFIO_USER_DMA_MAP_F_WRITE	(1u << 1)	/**< server may write */

/**
 * VFIO_USER_DMA_MAP request (the reply has no payload). A region the server
 * can mmap comes with its fd; one without is reached by DMA_READ/DMA_WRITE.
 */
struct vfio_user_dma_map {
	uint32_t argsz;		/**< 32, the size of this structure */
	uint32_t flags;		/**< VFIO_USER_DMA_MAP_F_* */
	uint64_t offset;	/**< of the region in the fd; 0 without one */
	uint64_t addr;		/**< client DMA address (IOVA) of the region */
	uint64_t size;		/**< of the region */
} __attribute__((packed));

/* DMA_UNMAP flags. */
/** 0.9.1: the reply carries the mapping's dirty bitmap. */
#define VFIO_USER_DMA_UNMAP_F_GET_DIRTY_BITMAP	(1u << 0)
/**
 * Unmap every mapping; addr and size are 0 (as VFIO_DMA_UNMAP_FLAG_ALL,
 * which the vfio-user specification does not name).
 */
#define VFIO_USER_DMA_UNMAP_F_ALL		(1u << 1)

/**
 * VFIO_USER_DMA_UNMAP request and reply. With GET_DIRTY_BITMAP (0.9.1), a
 * struct vfio_user_bitmap follows in the request, and it and the bitmap in
 * the reply.
 */
struct vfio_user_dma_unmap {
	uint32_t argsz;		/**< room for the reply payload: 24, with a
				 *   bitmap 40 + its size */
	uint32_t flags;		/**< VFIO_USER_DMA_UNMAP_F_* */
	uint64_t addr;		/**< DMA address of a previous DMA_MAP; 0 with
				 *   F_ALL */
	uint64_t size;		/**< its size, which must match; 0 with F_ALL */
} __attribute__((packed));

/** VFIO bitmap header, after DMA_UNMAP or in DIRTY_PAGES (0.9.1). */
struct vfio_user_bitmap {
	uint64_t pgsize;	/**< bytes of memory one bit stands for */
	uint64_t size;		/**< bytes of bitmap that follow */
} __attribute__((packed));

/* DEVICE_GET_INFO flags. */
/** The device supports VFIO_USER_DEVICE_RESET. */
#define VFIO_USER_DEVICE_FLAGS_RESET	(1u << 0)
/** The device is a PCI device. */
#define VFIO_USER_DEVICE_FLAGS_PCI	(1u << 1)

/** VFIO_USER_DEVICE_GET_INFO request and reply. */
struct vfio_user_device_info {
	uint32_t argsz;		/**< request: room for the reply (>= 16);
				 *   reply: 16 */
	uint32_t flags;		/**< reply: VFIO_USER_DEVICE_FLAGS_*;
				 *   request: 0 */
	uint32_t num_regions;	/**< reply: regions; request: 0 */
	uint32_t num_irqs;	/**< reply: IRQ types (indexes); request: 0 */
} __attribute__((packed));

/* Region info flags. */
/** The client may read the region. */
#define VFIO_USER_REGION_INFO_FLAG_READ		(1u << 0)
/** The client may write the region. */
#define VFIO_USER_REGION_INFO_FLAG_WRITE	(1u << 1)
/** The client may mmap the region: the reply carries its fd. */
#define VFIO_USER_REGION_INFO_FLAG_MMAP		(1u << 2)
/** The region has capabilities (vfio_user_region_info::cap_offset). */
#define VFIO_USER_REGION_INFO_FLAG_CAPS		(1u << 3)

/** VFIO_USER_DEVICE_GET_REGION_INFO request and reply; caps follow. */
struct vfio_user_region_info {
	uint32_t argsz;		/**< request: room for the reply; reply: 32 +
				 *   the capabilities' size */
	uint32_t flags;		/**< reply: VFIO_USER_REGION_INFO_FLAG_*;
				 *   request: 0 */
	uint32_t index;		/**< region index, set in the request */
	uint32_t cap_offset;	/**< reply: first capability, from the start
				 *   of this structure; 0: none sent */
	uint64_t size;		/**< reply: of the region; request: 0 */
	uint64_t offset;	/**< reply: mmap offset of the region in its
				 *   fd (with MMAP); request: 0 */
} __attribute__((packed));

/** Header of each region capability. */
struct vfio_user_cap_header {
	uint16_t id;		/**< VFIO_USER_REGION_CAP_* */
	uint16_t version;	/**< of the capability's layout: 1 */
	uint32_t next;		/**< from the start of the region info;
				 *   0 ends the list */
} __attribute__((packed));

/** Capability id of struct vfio_user_cap_sparse_mmap. */
#define VFIO_USER_REGION_CAP_SPARSE_MMAP	1
/** Capability id of struct vfio_user_cap_type. */
#define VFIO_USER_REGION_CAP_TYPE		2

/** One mappable area of a sparse region. */
struct vfio_user_sparse_mmap_area {
	uint64_t offset;	/**< in the region (plus the region info's
				 *   offset: in the fd) */
	uint64_t size;		/**< of the area */
} __attribute__((packed));

/**
 * VFIO_REGION_INFO_CAP_SPARSE_MMAP: only these areas of an MMAP region may
 * be mmapped.
 */
struct vfio_user_cap_sparse_mmap {
	struct vfio_user_cap_header header; /**< id SPARSE_MMAP */
	uint32_t nr_areas;	/**< entries in @p areas */
	uint32_t reserved;	/**< 0 */
	struct vfio_user_sparse_mmap_area areas[]; /**< mappable parts */
} __attribute__((packed));

/** VFIO_REGION_INFO_CAP_TYPE. */
struct vfio_user_cap_type {
	struct vfio_user_cap_header header; /**< id TYPE */
	uint32_t type;		/**< VFIO_REGION_TYPE_*, as
				 *   VFIO_USER_REGION_TYPE_MIGRATION */
	uint32_t subtype;	/**< meaning depends on @p type */
} __attribute__((packed));

/* PCI region indexes (as VFIO_PCI_*_REGION_INDEX). */
#define VFIO_USER_PCI_BAR0_REGION_INDEX		0	/**< BAR n: region n */
#define VFIO_USER_PCI_BAR5_REGION_INDEX		5	/**< last BAR */
#define VFIO_USER_PCI_ROM_REGION_INDEX		6	/**< expansion ROM */
#define VFIO_USER_PCI_CONFIG_REGION_INDEX	7	/**< config space */
#define VFIO_USER_PCI_VGA_REGION_INDEX		8	/**< legacy VGA */
/** Standard PCI regions; device-specific ones (0.9.1 migration) follow. */
#define VFIO_USER_PCI_NUM_REGIONS		9

/* PCI IRQ indexes (as VFIO_PCI_*_IRQ_INDEX). */
#define VFIO_USER_PCI_INTX_IRQ_INDEX	0	/**< legacy INTx */
#define VFIO_USER_PCI_MSI_IRQ_INDEX	1	/**< MSI */
#define VFIO_USER_PCI_MSIX_IRQ_INDEX	2	/**< MSI-X */
#define VFIO_USER_PCI_ERR_IRQ_INDEX	3	/**< error (AER) */
#define VFIO_USER_PCI_REQ_IRQ_INDEX	4	/**< device release request */
#define VFIO_USER_PCI_NUM_IRQS		5	/**< PCI IRQ types */

/**
 * VFIO_USER_DEVICE_GET_REGION_IO_FDS request and reply; the reply's
 * struct vfio_user_sub_region_io_fd entries follow, their fds with it.
 */
struct vfio_user_region_io_fds {
	uint32_t argsz;		/**< request: room for the reply; reply: 16 +
				 *   the entries' size */
	uint32_t flags;		/**< 0 */
	uint32_t index;		/**< region index, set in the request */
	uint32_t count;		/**< reply: sub-regions; request: 0 */
} __attribute__((packed));

#define VFIO_USER_IO_FD_TYPE_IOEVENTFD	0	/**< KVM ioeventfd */
#define VFIO_USER_IO_FD_TYPE_IOREGIONFD	1	/**< ioregionfd (KVM RFC) */
#define VFIO_USER_IOEVENTFD_F_DATAMATCH	(1u << 0)	/**< KVM_IOEVENTFD_FLAG_DATAMATCH */

/** One sub-region of a DEVICE_GET_REGION_IO_FDS reply. */
struct vfio_user_sub_region_io_fd {
	uint64_t offset;	/**< start in the region */
	uint64_t size;		/**< length; 0: any access size */
	uint32_t fd_index;	/**< in the reply's fds; may be shared */
	uint32_t type;		/**< VFIO_USER_IO_FD_TYPE_* */
	uint32_t flags;		/**< ioeventfd: VFIO_USER_IOEVENTFD_F_*;
				 *   ioregionfd: KVM_IOREGION_* */
	uint32_t padding;	/**< 0 */
	uint64_t datamatch;	/**< value to match (with DATAMATCH);
				 *   user_data for an ioregionfd */
} __attribute__((packed));

/* IRQ info flags. */
/** The IRQ type can signal an eventfd (DATA_EVENTFD, ACTION_TRIGGER). */
#define VFIO_USER_IRQ_INFO_EVENTFD	(1u << 0)
/** The IRQ type takes ACTION_MASK and ACTION_UNMASK. */
#define VFIO_USER_IRQ_INFO_MASKABLE	(1u << 1)
/** An interrupt masks itself when it fires; the client unmasks it. */
#define VFIO_USER_IRQ_INFO_AUTOMASKED	(1u << 2)
/** Vectors are enabled as one set: adding one needs disabling them all. */
#define VFIO_USER_IRQ_INFO_NORESIZE	(1u << 3)

/** VFIO_USER_DEVICE_GET_IRQ_INFO request and reply. */
struct vfio_user_irq_info {
	uint32_t argsz;		/**< request: room for the reply (>= 16);
				 *   reply: 16 */
	uint32_t flags;		/**< reply: VFIO_USER_IRQ_INFO_*; request: 0 */
	uint32_t index;		/**< IRQ type: VFIO_USER_PCI_*_IRQ_INDEX */
	uint32_t count;		/**< reply: its interrupts (vectors);
				 *   request: 0 */
} __attribute__((packed));

/* SET_IRQS flags: one DATA_* and one ACTION_*. */
/** No data: act on every vector of the range. */
#define VFIO_USER_IRQ_SET_DATA_NONE	(1u << 0)
/** A byte per vector follows: act on those that are non-zero. */
#define VFIO_USER_IRQ_SET_DATA_BOOL	(1u << 1)
/** An eventfd per vector comes with the message (none: de-assign them). */
#define VFIO_USER_IRQ_SET_DATA_EVENTFD	(1u << 2)
/** Mask; with DATA_EVENTFD: the fds to signal when masked. */
#define VFIO_USER_IRQ_SET_ACTION_MASK	(1u << 3)
/** Unmask; with DATA_EVENTFD: the fds to signal when unmasked. */
#define VFIO_USER_IRQ_SET_ACTION_UNMASK	(1u << 4)
/** Trigger; with DATA_EVENTFD: the fds the server signals to interrupt. */
#define VFIO_USER_IRQ_SET_ACTION_TRIGGER	(1u << 5)
#define VFIO_USER_IRQ_SET_DATA_TYPE_MASK	0x7u	/**< DATA_* bits */
#define VFIO_USER_IRQ_SET_ACTION_TYPE_MASK	0x38u	/**< ACTION_* bits */

/** VFIO_USER_DEVICE_SET_IRQS request; bool data follows for DATA_BOOL. */
struct vfio_user_irq_set {
	uint32_t argsz;		/**< 20 + data bytes (no reply payload) */
	uint32_t flags;		/**< VFIO_USER_IRQ_SET_DATA_* |
				 *   VFIO_USER_IRQ_SET_ACTION_* */
	uint32_t index;		/**< IRQ type */
	uint32_t start;		/**< first vector */
	uint32_t count;		/**< vectors; 0 (start 0, DATA_NONE,
				 *   ACTION_TRIGGER) disables the type */
	uint8_t data[];		/**< DATA_BOOL: @p count bytes, act on the
				 *   vectors whose byte is non-zero */
} __attribute__((packed));

/** VFIO_USER_REGION_READ/WRITE request and reply; data follows. */
struct vfio_user_region_access {
	uint64_t offset;	/**< in the region */
	uint32_t region;	/**< region index */
	uint32_t count;		/**< bytes, at most the server's
				 *   max_data_xfer_size */
	uint8_t data[];		/**< @p count bytes in a WRITE request and a
				 *   READ reply; none otherwise */
} __attribute__((packed));

/** VFIO_USER_DMA_READ/WRITE request and reply; data follows. */
struct vfio_user_dma_access {
	uint64_t addr;		/**< client DMA address (IOVA), in a DMA_MAP
				 *   region */
	uint64_t count;		/**< bytes, at most the client's
				 *   max_data_xfer_size */
	uint8_t data[];		/**< @p count bytes in a WRITE request and a
				 *   READ reply */
} __attribute__((packed));

/**
 * VFIO_USER_DMA_WRITE reply. The current text gives its count 4 bytes
 * (0.9.1: 8); a receiver accepts both and a sender sends 16 bytes.
 */
struct vfio_user_dma_write_reply {
	uint64_t addr;		/**< as in the request */
	uint64_t count;		/**< bytes written */
} __attribute__((packed));

/* DIRTY_PAGES flags (0.9.1), one per request. */
#define VFIO_USER_DIRTY_PAGES_F_START		(1u << 0) /**< start logging */
#define VFIO_USER_DIRTY_PAGES_F_STOP		(1u << 1) /**< stop logging */
/** Report the pages dirtied in a range (struct vfio_user_bitmap_range). */
#define VFIO_USER_DIRTY_PAGES_F_GET_BITMAP	(1u << 2)

/**
 * VFIO_USER_DIRTY_PAGES request and reply (0.9.1). With GET_BITMAP a
 * struct vfio_user_bitmap_range follows, in the reply with the bitmap.
 */
struct vfio_user_dirty_pages {
	uint32_t argsz;		/**< START/STOP: 8; GET_BITMAP: room for the
				 *   reply, 40 + the bitmap's size */
	uint32_t flags;		/**< one VFIO_USER_DIRTY_PAGES_F_* */
} __attribute__((packed));

/** Range of a DIRTY_PAGES GET_BITMAP request (0.9.1). */
struct vfio_user_bitmap_range {
	uint64_t iova;		/**< start of the range (DMA address) */
	uint64_t size;		/**< of the range */
	struct vfio_user_bitmap bitmap; /**< its page size and bitmap size */
} __attribute__((packed));

/**
 * Maximum writes in one REGION_WRITE_MULTI message (QEMU's
 * VFIO_USER_MULTI_MAX; the specification gives no limit).
 */
#define VFIO_USER_WRITE_MULTI_MAX	200
/** Data bytes of a REGION_WRITE_MULTI entry: writes of 1 to 8 bytes. */
#define VFIO_USER_WRITE_MULTI_DATA	8

/** One write of a REGION_WRITE_MULTI message. */
struct vfio_user_write_multi_entry {
	uint64_t offset;	/**< in the region */
	uint32_t region;	/**< region index */
	uint32_t count;		/**< bytes, 1 to VFIO_USER_WRITE_MULTI_DATA */
	uint8_t data[VFIO_USER_WRITE_MULTI_DATA]; /**< @p count bytes used */
} __attribute__((packed));

/** VFIO_USER_REGION_WRITE_MULTI request (and reply without entries). */
struct vfio_user_write_multi {
	uint64_t wr_cnt;	/**< request: entries; reply: writes done */
	struct vfio_user_write_multi_entry wrs[]; /**< in the request */
} __attribute__((packed));

/* DEVICE_FEATURE flags (as VFIO_DEVICE_FEATURE_*). */
#define VFIO_USER_DEVICE_FEATURE_MASK		0xffffu	/**< feature index */
#define VFIO_USER_DEVICE_FEATURE_GET		(1u << 16) /**< get its data */
#define VFIO_USER_DEVICE_FEATURE_SET		(1u << 17) /**< set its data */
/** Only ask whether the feature (and GET or SET, if given) is supported. */
#define VFIO_USER_DEVICE_FEATURE_PROBE		(1u << 18)

/* Feature indexes (as VFIO_DEVICE_FEATURE_*). */
/** GET: struct vfio_user_device_feature_migration. */
#define VFIO_USER_FEATURE_MIGRATION		1
/** GET, SET: struct vfio_user_device_feature_mig_state. */
#define VFIO_USER_FEATURE_MIG_DEVICE_STATE	2
/** SET: struct vfio_user_dma_logging_control, then the ranges. */
#define VFIO_USER_FEATURE_DMA_LOGGING_START	6
/** SET, no data: stop DMA logging. */
#define VFIO_USER_FEATURE_DMA_LOGGING_STOP	7
/** GET: struct vfio_user_dma_logging_report. */
#define VFIO_USER_FEATURE_DMA_LOGGING_REPORT	8

/** VFIO_USER_DEVICE_FEATURE request and reply; feature data follows. */
struct vfio_user_device_feature {
	uint32_t argsz;		/**< request: room for the reply; reply: its
				 *   size */
	uint32_t flags;		/**< feature index | VFIO_USER_DEVICE_FEATURE_*
				 *   (GET, SET or PROBE) */
	uint8_t data[];		/**< the feature's data (SET request, GET
				 *   reply); none when probing */
} __attribute__((packed));

/** Data of DMA_LOGGING_START; ranges follow. */
struct vfio_user_dma_logging_control {
	uint64_t page_size;	/**< request: granularity wanted; reply: the
				 *   one the device took */
	uint32_t num_ranges;	/**< ranges that follow; 0: log all writes */
	uint32_t reserved;	/**< 0 */
} __attribute__((packed));

/** One range of DMA_LOGGING_START. */
struct vfio_user_dma_logging_range {
	uint64_t iova;		/**< start (DMA address) */
	uint64_t length;	/**< of the range */
} __attribute__((packed));

/** Data of DMA_LOGGING_REPORT; the reply appends the u64 bitmap. */
struct vfio_user_dma_logging_report {
	uint64_t iova;		/**< start of the range (DMA address) */
	uint64_t length;	/**< of the range */
	uint64_t page_size;	/**< bytes per bitmap bit, a power of 2 */
} __attribute__((packed));

/* DEVICE_FEATURE MIGRATION flags (as VFIO_MIGRATION_*). */
#define VFIO_USER_MIGRATION_STOP_COPY	(1ULL << 0) /**< required */
#define VFIO_USER_MIGRATION_P2P		(1ULL << 1) /**< P2P states */
#define VFIO_USER_MIGRATION_PRE_COPY	(1ULL << 2) /**< PRE_COPY states */

/** Data of the DEVICE_FEATURE MIGRATION reply (GET). */
struct vfio_user_device_feature_migration {
	uint64_t flags;		/**< VFIO_USER_MIGRATION_* */
} __attribute__((packed));

/** Migration states (as enum vfio_device_mig_state). */
enum vfio_user_device_mig_state {
	VFIO_USER_DEVICE_STATE_ERROR = 0,	/**< failed: needs a reset */
	VFIO_USER_DEVICE_STATE_STOP = 1,	/**< stopped, state frozen */
	VFIO_USER_DEVICE_STATE_RUNNING = 2,	/**< running normally */
	VFIO_USER_DEVICE_STATE_STOP_COPY = 3,	/**< stopped, state read out */
	VFIO_USER_DEVICE_STATE_RESUMING = 4,	/**< stopped, loading state */
	VFIO_USER_DEVICE_STATE_RUNNING_P2P = 5,	/**< RUNNING, no P2P DMA */
	VFIO_USER_DEVICE_STATE_PRE_COPY = 6,	/**< running, state read out */
	VFIO_USER_DEVICE_STATE_PRE_COPY_P2P = 7, /**< PRE_COPY, no P2P DMA */
	VFIO_USER_DEVICE_NUM_STATES,		/**< number of states */
};

/** Data of DEVICE_FEATURE MIG_DEVICE_STATE (GET reply, SET request). */
struct vfio_user_device_feature_mig_state {
	uint32_t device_state;	/**< enum vfio_user_device_mig_state */
	uint32_t data_fd;	/**< unused in vfio-user */
} __attribute__((packed));

/* 0.9.1 migration region: region info type cap values. */
/** vfio_user_cap_type::type of the migration region. */
#define VFIO_USER_REGION_TYPE_MIGRATION		3
/** vfio_user_cap_type::subtype of the migration region. */
#define VFIO_USER_REGION_SUBTYPE_MIGRATION	1

/* 0.9.1 device_state bits of the migration region. */
#define VFIO_USER_DEVICE_STATE_V1_STOP		0u	/**< no bit: stopped */
#define VFIO_USER_DEVICE_STATE_V1_RUNNING	(1u << 0) /**< running */
/** Saving: alone stop-and-copy, with RUNNING pre-copy. */
#define VFIO_USER_DEVICE_STATE_V1_SAVING	(1u << 1)
#define VFIO_USER_DEVICE_STATE_V1_RESUMING	(1u << 2) /**< resuming */
#define VFIO_USER_DEVICE_STATE_V1_MASK		0x7u	/**< the bits above */
/** The error state: RESUMING | SAVING. */
#define VFIO_USER_DEVICE_STATE_V1_ERROR \
	(VFIO_USER_DEVICE_STATE_V1_RESUMING | VFIO_USER_DEVICE_STATE_V1_SAVING)

/**
 * 0.9.1 struct vfio_device_migration_info, at offset 0 of the migration
 * region, accessed with REGION_READ / REGION_WRITE.
 */
struct vfio_user_migration_info {
	uint32_t device_state;	/**< VFIO_USER_DEVICE_STATE_V1_* bits */
	uint32_t reserved;	/**< ignored */
	uint64_t pending_bytes;	/**< bytes left to save (read only) */
	uint64_t data_offset;	/**< of the data in the region (read only) */
	uint64_t data_size;	/**< bytes at data_offset (read; written
				 *   when resuming) */
} __attribute__((packed));

/** VFIO_USER_MIG_DATA_READ/WRITE request and reply; data follows. */
struct vfio_user_mig_data {
	uint32_t argsz;		/**< READ request: room for the reply (8 +
				 *   size); READ reply, WRITE: 8 + size */
	uint32_t size;		/**< READ: bytes wanted, in the reply bytes
				 *   sent (fewer: no more for now);
				 *   WRITE: bytes sent */
	uint8_t data[];		/**< @p size bytes (WRITE request, READ
				 *   reply) */
} __attribute__((packed));

/** @cond PRIVATE */
/* Sizes from the specification's tables (compile-time checks, no API). */
#ifdef __cplusplus
#define VFIO_USER_STATIC_SIZE(t, n) \
	static_assert(sizeof(struct t) == (n), #t " does not match the spec")
#else
#define VFIO_USER_STATIC_SIZE(t, n) \
	_Static_assert(sizeof(struct t) == (n), #t " does not match the spec")
#endif
VFIO_USER_STATIC_SIZE(vfio_user_header, 16);
VFIO_USER_STATIC_SIZE(vfio_user_version, 4);
VFIO_USER_STATIC_SIZE(vfio_user_dma_map, 32);
VFIO_USER_STATIC_SIZE(vfio_user_dma_unmap, 24);
VFIO_USER_STATIC_SIZE(vfio_user_bitmap, 16);
VFIO_USER_STATIC_SIZE(vfio_user_device_info, 16);
VFIO_USER_STATIC_SIZE(vfio_user_region_info, 32);
VFIO_USER_STATIC_SIZE(vfio_user_cap_header, 8);
VFIO_USER_STATIC_SIZE(vfio_user_sparse_mmap_area, 16);
VFIO_USER_STATIC_SIZE(vfio_user_cap_sparse_mmap, 16);
VFIO_USER_STATIC_SIZE(vfio_user_cap_type, 16);
VFIO_USER_STATIC_SIZE(vfio_user_region_io_fds, 16);
VFIO_USER_STATIC_SIZE(vfio_user_sub_region_io_fd, 40);
VFIO_USER_STATIC_SIZE(vfio_user_irq_info, 16);
VFIO_USER_STATIC_SIZE(vfio_user_irq_set, 20);
VFIO_USER_STATIC_SIZE(vfio_user_region_access, 16);
VFIO_USER_STATIC_SIZE(vfio_user_dma_access, 16);
VFIO_USER_STATIC_SIZE(vfio_user_dirty_pages, 8);
VFIO_USER_STATIC_SIZE(vfio_user_bitmap_range, 32);
VFIO_USER_STATIC_SIZE(vfio_user_write_multi_entry, 24);
VFIO_USER_STATIC_SIZE(vfio_user_write_multi, 8);
VFIO_USER_STATIC_SIZE(vfio_user_device_feature, 8);
VFIO_USER_STATIC_SIZE(vfio_user_dma_logging_control, 16);
VFIO_USER_STATIC_SIZE(vfio_user_dma_logging_range, 16);
VFIO_USER_STATIC_SIZE(vfio_user_dma_logging_report, 24);
VFIO_USER_STATIC_SIZE(vfio_user_mig_data, 8);
VFIO_USER_STATIC_SIZE(vfio_user_device_feature_migration, 8);
VFIO_USER_STATIC_SIZE(vfio_user_device_feature_mig_state, 8);
VFIO_USER_STATIC_SIZE(vfio_user_migration_info, 32);
#undef VFIO_USER_STATIC_SIZE
/** @endcond */

#ifdef __cplusplus
}
#endif

#endif /* VFIO_USER_PROTO_H */
