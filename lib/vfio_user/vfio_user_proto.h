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
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Protocol version this implementation speaks. */
#define VFIO_USER_MAJOR_VER 0
#define VFIO_USER_MINOR_VER 1

/** Command identifiers. */
enum vfio_user_command {
	VFIO_USER_VERSION = 1,
	VFIO_USER_DMA_MAP = 2,
	VFIO_USER_DMA_UNMAP = 3,
	VFIO_USER_DEVICE_GET_INFO = 4,
	VFIO_USER_DEVICE_GET_REGION_INFO = 5,
	VFIO_USER_DEVICE_GET_REGION_IO_FDS = 6,
	VFIO_USER_DEVICE_GET_IRQ_INFO = 7,
	VFIO_USER_DEVICE_SET_IRQS = 8,
	VFIO_USER_REGION_READ = 9,
	VFIO_USER_REGION_WRITE = 10,
	VFIO_USER_DMA_READ = 11,
	VFIO_USER_DMA_WRITE = 12,
	VFIO_USER_DEVICE_RESET = 13,
	VFIO_USER_DIRTY_PAGES = 14,		/**< 0.9.1 only */
	VFIO_USER_REGION_WRITE_MULTI = 15,
	VFIO_USER_DEVICE_FEATURE = 16,
	VFIO_USER_MIG_DATA_READ = 17,
	VFIO_USER_MIG_DATA_WRITE = 18,
	VFIO_USER_MAX_COMMAND,
};

/* Header flags. */
#define VFIO_USER_F_TYPE_MASK		0xfu
#define VFIO_USER_F_TYPE_COMMAND	0x0u
#define VFIO_USER_F_TYPE_REPLY		0x1u
#define VFIO_USER_F_NO_REPLY		(1u << 4)
#define VFIO_USER_F_ERROR		(1u << 5)

/** Common 16-byte header of every message. */
struct vfio_user_header {
	uint16_t msg_id;
	uint16_t cmd;
	uint32_t msg_size;	/**< whole message, header included */
	uint32_t flags;
	uint32_t error_no;	/**< errno in an error reply, else 0 */
} __attribute__((packed));

/** VFIO_USER_VERSION request and reply; JSON capabilities follow. */
struct vfio_user_version {
	uint16_t major;
	uint16_t minor;
	char data[];		/**< optional NUL-terminated JSON */
} __attribute__((packed));

/* Capability names of the JSON version data. */
#define VFIO_USER_CAP_ROOT		"capabilities"
#define VFIO_USER_CAP_MAX_FDS		"max_msg_fds"
#define VFIO_USER_CAP_MAX_XFER		"max_data_xfer_size"
#define VFIO_USER_CAP_MAX_DMA_MAPS	"max_dma_maps"
#define VFIO_USER_CAP_PGSIZES		"pgsizes"
#define VFIO_USER_CAP_TWIN_SOCKET	"twin_socket"
#define VFIO_USER_CAP_TWIN_SUPPORTED	"supported"
#define VFIO_USER_CAP_TWIN_FD_INDEX	"fd_index"
#define VFIO_USER_CAP_WRITE_MULTI	"write_multiple"
#define VFIO_USER_CAP_MIGRATION		"migration"	/**< 0.9.1 */
#define VFIO_USER_CAP_MIG_PGSIZE	"pgsize"	/**< 0.9.1 */

/* Defaults the specification gives for absent capabilities. */
#define VFIO_USER_DEF_MAX_FDS		1
#define VFIO_USER_DEF_MAX_XFER		(1024 * 1024)
#define VFIO_USER_DEF_MAX_DMA_MAPS	65535
#define VFIO_USER_DEF_PGSIZES		4096

/* DMA_MAP flags. */
#define VFIO_USER_DMA_MAP_F_READ	(1u << 0)
#define VFIO_USER_DMA_MAP_F_WRITE	(1u << 1)

/** VFIO_USER_DMA_MAP request. */
struct vfio_user_dma_map {
	uint32_t argsz;
	uint32_t flags;
	uint64_t offset;
	uint64_t addr;
	uint64_t size;
} __attribute__((packed));

/* DMA_UNMAP flags. */
#define VFIO_USER_DMA_UNMAP_F_GET_DIRTY_BITMAP	(1u << 0)	/**< 0.9.1 */
#define VFIO_USER_DMA_UNMAP_F_ALL		(1u << 1)	/**< as VFIO */

/** VFIO_USER_DMA_UNMAP request and reply. */
struct vfio_user_dma_unmap {
	uint32_t argsz;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
} __attribute__((packed));

/** VFIO bitmap header, after DMA_UNMAP or in DIRTY_PAGES (0.9.1). */
struct vfio_user_bitmap {
	uint64_t pgsize;
	uint64_t size;		/**< bytes of bitmap that follow */
} __attribute__((packed));

/* DEVICE_GET_INFO flags. */
#define VFIO_USER_DEVICE_FLAGS_RESET	(1u << 0)
#define VFIO_USER_DEVICE_FLAGS_PCI	(1u << 1)

/** VFIO_USER_DEVICE_GET_INFO request and reply. */
struct vfio_user_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
} __attribute__((packed));

/* Region info flags. */
#define VFIO_USER_REGION_INFO_FLAG_READ		(1u << 0)
#define VFIO_USER_REGION_INFO_FLAG_WRITE	(1u << 1)
#define VFIO_USER_REGION_INFO_FLAG_MMAP		(1u << 2)
#define VFIO_USER_REGION_INFO_FLAG_CAPS		(1u << 3)

/** VFIO_USER_DEVICE_GET_REGION_INFO request and reply; caps follow. */
struct vfio_user_region_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t cap_offset;
	uint64_t size;
	uint64_t offset;
} __attribute__((packed));

/** Header of each region capability. */
struct vfio_user_cap_header {
	uint16_t id;
	uint16_t version;
	uint32_t next;		/**< from the start of the region info */
} __attribute__((packed));

#define VFIO_USER_REGION_CAP_SPARSE_MMAP	1
#define VFIO_USER_REGION_CAP_TYPE		2

/** One mappable area of a sparse region. */
struct vfio_user_sparse_mmap_area {
	uint64_t offset;
	uint64_t size;
} __attribute__((packed));

/** VFIO_REGION_INFO_CAP_SPARSE_MMAP. */
struct vfio_user_cap_sparse_mmap {
	struct vfio_user_cap_header header;
	uint32_t nr_areas;
	uint32_t reserved;
	struct vfio_user_sparse_mmap_area areas[];
} __attribute__((packed));

/** VFIO_REGION_INFO_CAP_TYPE. */
struct vfio_user_cap_type {
	struct vfio_user_cap_header header;
	uint32_t type;
	uint32_t subtype;
} __attribute__((packed));

/* PCI region indexes (as VFIO_PCI_*_REGION_INDEX). */
#define VFIO_USER_PCI_BAR0_REGION_INDEX		0
#define VFIO_USER_PCI_BAR5_REGION_INDEX		5
#define VFIO_USER_PCI_ROM_REGION_INDEX		6
#define VFIO_USER_PCI_CONFIG_REGION_INDEX	7
#define VFIO_USER_PCI_VGA_REGION_INDEX		8
#define VFIO_USER_PCI_NUM_REGIONS		9

/* PCI IRQ indexes (as VFIO_PCI_*_IRQ_INDEX). */
#define VFIO_USER_PCI_INTX_IRQ_INDEX	0
#define VFIO_USER_PCI_MSI_IRQ_INDEX	1
#define VFIO_USER_PCI_MSIX_IRQ_INDEX	2
#define VFIO_USER_PCI_ERR_IRQ_INDEX	3
#define VFIO_USER_PCI_REQ_IRQ_INDEX	4
#define VFIO_USER_PCI_NUM_IRQS		5

/** VFIO_USER_DEVICE_GET_REGION_IO_FDS request and reply. */
struct vfio_user_region_io_fds {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} __attribute__((packed));

#define VFIO_USER_IO_FD_TYPE_IOEVENTFD	0
#define VFIO_USER_IO_FD_TYPE_IOREGIONFD	1
#define VFIO_USER_IOEVENTFD_F_DATAMATCH	(1u << 0)	/**< KVM_IOEVENTFD_FLAG_DATAMATCH */

/** One sub-region of a DEVICE_GET_REGION_IO_FDS reply. */
struct vfio_user_sub_region_io_fd {
	uint64_t offset;
	uint64_t size;
	uint32_t fd_index;
	uint32_t type;
	uint32_t flags;
	uint32_t padding;
	uint64_t datamatch;	/**< user_data for an ioregionfd */
} __attribute__((packed));

/* IRQ info flags. */
#define VFIO_USER_IRQ_INFO_EVENTFD	(1u << 0)
#define VFIO_USER_IRQ_INFO_MASKABLE	(1u << 1)
#define VFIO_USER_IRQ_INFO_AUTOMASKED	(1u << 2)
#define VFIO_USER_IRQ_INFO_NORESIZE	(1u << 3)

/** VFIO_USER_DEVICE_GET_IRQ_INFO request and reply. */
struct vfio_user_irq_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} __attribute__((packed));

/* SET_IRQS flags. */
#define VFIO_USER_IRQ_SET_DATA_NONE	(1u << 0)
#define VFIO_USER_IRQ_SET_DATA_BOOL	(1u << 1)
#define VFIO_USER_IRQ_SET_DATA_EVENTFD	(1u << 2)
#define VFIO_USER_IRQ_SET_ACTION_MASK	(1u << 3)
#define VFIO_USER_IRQ_SET_ACTION_UNMASK	(1u << 4)
#define VFIO_USER_IRQ_SET_ACTION_TRIGGER	(1u << 5)
#define VFIO_USER_IRQ_SET_DATA_TYPE_MASK	0x7u
#define VFIO_USER_IRQ_SET_ACTION_TYPE_MASK	0x38u

/** VFIO_USER_DEVICE_SET_IRQS request; bool data follows for DATA_BOOL. */
struct vfio_user_irq_set {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t start;
	uint32_t count;
	uint8_t data[];
} __attribute__((packed));

/** VFIO_USER_REGION_READ/WRITE request and reply; data follows. */
struct vfio_user_region_access {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	uint8_t data[];
} __attribute__((packed));

/** VFIO_USER_DMA_READ/WRITE request and reply; data follows. */
struct vfio_user_dma_access {
	uint64_t addr;
	uint64_t count;
	uint8_t data[];
} __attribute__((packed));

/**
 * VFIO_USER_DMA_WRITE reply. The current text gives its count 4 bytes
 * (0.9.1: 8); a receiver accepts both and a sender sends 16 bytes.
 */
struct vfio_user_dma_write_reply {
	uint64_t addr;
	uint64_t count;
} __attribute__((packed));

/* DIRTY_PAGES flags (0.9.1). */
#define VFIO_USER_DIRTY_PAGES_F_START		(1u << 0)
#define VFIO_USER_DIRTY_PAGES_F_STOP		(1u << 1)
#define VFIO_USER_DIRTY_PAGES_F_GET_BITMAP	(1u << 2)

/** VFIO_USER_DIRTY_PAGES request and reply (0.9.1). */
struct vfio_user_dirty_pages {
	uint32_t argsz;
	uint32_t flags;
} __attribute__((packed));

/** Range of a DIRTY_PAGES GET_BITMAP request (0.9.1). */
struct vfio_user_bitmap_range {
	uint64_t iova;
	uint64_t size;
	struct vfio_user_bitmap bitmap;
} __attribute__((packed));

/** Maximum writes in one REGION_WRITE_MULTI message. */
#define VFIO_USER_WRITE_MULTI_MAX	200
#define VFIO_USER_WRITE_MULTI_DATA	8

/** One write of a REGION_WRITE_MULTI message. */
struct vfio_user_write_multi_entry {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	uint8_t data[VFIO_USER_WRITE_MULTI_DATA];
} __attribute__((packed));

/** VFIO_USER_REGION_WRITE_MULTI request (and reply without entries). */
struct vfio_user_write_multi {
	uint64_t wr_cnt;
	struct vfio_user_write_multi_entry wrs[];
} __attribute__((packed));

/* DEVICE_FEATURE flags (as VFIO_DEVICE_FEATURE_*). */
#define VFIO_USER_DEVICE_FEATURE_MASK		0xffffu
#define VFIO_USER_DEVICE_FEATURE_GET		(1u << 16)
#define VFIO_USER_DEVICE_FEATURE_SET		(1u << 17)
#define VFIO_USER_DEVICE_FEATURE_PROBE		(1u << 18)

#define VFIO_USER_FEATURE_MIGRATION		1
#define VFIO_USER_FEATURE_MIG_DEVICE_STATE	2
#define VFIO_USER_FEATURE_DMA_LOGGING_START	6
#define VFIO_USER_FEATURE_DMA_LOGGING_STOP	7
#define VFIO_USER_FEATURE_DMA_LOGGING_REPORT	8

/** VFIO_USER_DEVICE_FEATURE request and reply; feature data follows. */
struct vfio_user_device_feature {
	uint32_t argsz;
	uint32_t flags;
	uint8_t data[];
} __attribute__((packed));

/** Data of DMA_LOGGING_START; ranges follow. */
struct vfio_user_dma_logging_control {
	uint64_t page_size;
	uint32_t num_ranges;
	uint32_t reserved;
} __attribute__((packed));

/** One range of DMA_LOGGING_START. */
struct vfio_user_dma_logging_range {
	uint64_t iova;
	uint64_t length;
} __attribute__((packed));

/** Data of DMA_LOGGING_REPORT; the reply appends the u64 bitmap. */
struct vfio_user_dma_logging_report {
	uint64_t iova;
	uint64_t length;
	uint64_t page_size;
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
	VFIO_USER_DEVICE_STATE_ERROR = 0,
	VFIO_USER_DEVICE_STATE_STOP = 1,
	VFIO_USER_DEVICE_STATE_RUNNING = 2,
	VFIO_USER_DEVICE_STATE_STOP_COPY = 3,
	VFIO_USER_DEVICE_STATE_RESUMING = 4,
	VFIO_USER_DEVICE_STATE_RUNNING_P2P = 5,
	VFIO_USER_DEVICE_STATE_PRE_COPY = 6,
	VFIO_USER_DEVICE_STATE_PRE_COPY_P2P = 7,
	VFIO_USER_DEVICE_NUM_STATES,
};

/** Data of DEVICE_FEATURE MIG_DEVICE_STATE (GET reply, SET request). */
struct vfio_user_device_feature_mig_state {
	uint32_t device_state;	/**< enum vfio_user_device_mig_state */
	uint32_t data_fd;	/**< unused in vfio-user */
} __attribute__((packed));

/* 0.9.1 migration region: region info type cap values. */
#define VFIO_USER_REGION_TYPE_MIGRATION		3
#define VFIO_USER_REGION_SUBTYPE_MIGRATION	1

/* 0.9.1 device_state bits of the migration region. */
#define VFIO_USER_DEVICE_STATE_V1_STOP		0u
#define VFIO_USER_DEVICE_STATE_V1_RUNNING	(1u << 0)
#define VFIO_USER_DEVICE_STATE_V1_SAVING	(1u << 1)
#define VFIO_USER_DEVICE_STATE_V1_RESUMING	(1u << 2)
#define VFIO_USER_DEVICE_STATE_V1_MASK		0x7u
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
	uint64_t pending_bytes;	/**< read only */
	uint64_t data_offset;	/**< read only */
	uint64_t data_size;	/**< bytes at data_offset (read; written
				 *   when resuming) */
} __attribute__((packed));

/** VFIO_USER_MIG_DATA_READ/WRITE request and reply; data follows. */
struct vfio_user_mig_data {
	uint32_t argsz;
	uint32_t size;
	uint8_t data[];
} __attribute__((packed));

/* Sizes from the specification's tables. */
#define VFIO_USER_STATIC_SIZE(t, n) \
	_Static_assert(sizeof(struct t) == (n), #t " does not match the spec")
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

#ifdef __cplusplus
}
#endif

#endif /* VFIO_USER_PROTO_H */
