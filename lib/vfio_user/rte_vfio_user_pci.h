/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef RTE_VFIO_USER_PCI_H
#define RTE_VFIO_USER_PCI_H

/**
 * @file
 * RTE vfio-user PCI helpers: an emulated PCI configuration space for device
 * models.
 *
 * A device model creates one struct rte_vfio_user_pci per PCI function,
 * describes it (ids, BARs, interrupt pin, capabilities, MSI-X) before it
 * starts the device, and then plugs
 * rte_vfio_user_pci_cfg_region_access() in as the access callback of the
 * config region (VFIO_USER_PCI_CONFIG_REGION_INDEX, see
 * rte_vfio_user_pci_fill_cfg_region()). Client reads and writes then behave
 * as on a real function: read-only bits keep their value, write-1-to-clear
 * bits clear, BAR sizing works (write all-ones, read the size mask back).
 *
 * The config space holds, per byte, a value, a write mask (bits the client
 * may change) and a write-1-to-clear mask. A client write of value v to a
 * byte b does
 * @code
 *   b = (b & ~wmask) | (v & wmask);  b &= ~(v & w1cmask);
 * @endcode
 *
 * The library knows nothing of any device class beyond the PCI header, the
 * capability list and MSI-X. Device-class capabilities (virtio's vendor
 * capabilities, a PCI Express capability, ...) are added as generic
 * capabilities with their own write masks; the device model hears of client
 * writes to them through the notification callback
 * (rte_vfio_user_pci_set_notify()) and reads them with
 * rte_vfio_user_pci_raw_read().
 *
 * Interrupts, as a PCI function raises them (the device model calls
 * rte_vfio_user_pci_msix_trigger() and rte_vfio_user_pci_set_intx(); all
 * of these hold together with the client's DEVICE_SET_IRQS masks, which
 * the library's IRQ layer applies on top):
 *  - MSI-X: the table and PBA live in the library; the device model routes
 *    its BAR accesses through rte_vfio_user_pci_msix_access(). A vector is
 *    sent only while MSI-X is enabled (capability message control bit 15),
 *    the function is not masked (bit 14) and its own mask bit in the table
 *    is clear; one raised while masked sets its PBA bit and is sent when the
 *    last mask goes (a config write clearing the function mask, a table write
 *    clearing the vector's bit, a SET_IRQS unmask), once. One the library
 *    latched under a SET_IRQS mask moves back into the PBA when the function
 *    or the vector gets masked, or MSI-X disabled, meanwhile. The PBA reads
 *    as the union of both latches.
 *  - A client that emulates the MSI-X table itself (QEMU's vfio-user-pci
 *    does: it masks a vector in its own emulation, by pointing the vector's
 *    eventfd at its own handler, and reads the PBA from the server; it does
 *    write the capability's enable and mask bits through to the server)
 *    never writes the table, whose vectors are all masked after reset;
 *    per-vector mask bits are therefore honoured only once the client wrote
 *    a vector-control word since the last rte_vfio_user_pci_reset().
 *  - Bus mastering: with Bus Master Enable cleared after the client had set
 *    it, vectors are held as if masked (rte_vfio_user_pci_bus_master()).
 *  - Power states (rte_vfio_user_pci_add_pm()): outside D0, vectors are
 *    held as if masked and INTx is not signalled.
 *  - INTx: the device model sets the level (rte_vfio_user_pci_set_intx()),
 *    shown in the status register's interrupt bit; INTx is signalled while
 *    the level is high, INTx Disable (command bit 10) is clear and MSI-X is
 *    disabled (a function with MSI-X enabled never uses INTx). Setting INTx
 *    Disable or enabling MSI-X drops a signalled INTx; clearing them while
 *    the level is high signals it again.
 *
 * Thread safety: rte_vfio_user_pci_msix_trigger(), rte_vfio_user_pci_set_intx(),
 * rte_vfio_user_pci_msix_enabled(), rte_vfio_user_pci_msix_masked() and
 * rte_vfio_user_pci_msix_pending() take no lock: they read an atomic copy
 * of the enable and mask state (a couple of loads) and use the library's
 * lock-free rte_vfio_user_irq_trigger(), so a data path may call them per
 * burst; like it, call them from a thread online in the device's QSBR
 * variable or from a library callback. Every other function takes the
 * structure's lock, so the event thread's config and BAR accesses may run
 * concurrently with them. An interrupt raised while a mask is being cleared
 * is never lost (whoever unmasks takes the PBA bit after storing the new
 * state; the trigger looks again after setting it). The setup functions
 * (set_ids, set_irq_pin, set_bar, add_*cap, add_msix) are meant to be called
 * before the device is started. The notification callback runs without the
 * lock held and may call any function of this file.
 *
 * All multi-byte fields are little-endian, as on the PCI bus.
 *
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <rte_compat.h>

#include "rte_vfio_user.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a conventional PCI configuration space. */
#define RTE_VFIO_USER_PCI_CFG_SIZE		256
/** Size of a PCI Express (extended) configuration space. */
#define RTE_VFIO_USER_PCI_CFG_SIZE_EXT		4096

/* Standard header offsets (type 0). */
#define RTE_VFIO_USER_PCI_VENDOR_ID		0x00 /**< 16 bits */
#define RTE_VFIO_USER_PCI_DEVICE_ID		0x02 /**< 16 bits */
#define RTE_VFIO_USER_PCI_COMMAND		0x04 /**< 16 bits */
#define RTE_VFIO_USER_PCI_STATUS		0x06 /**< 16 bits */
#define RTE_VFIO_USER_PCI_REVISION_ID		0x08 /**< 8 bits */
#define RTE_VFIO_USER_PCI_CLASS_PROG		0x09 /**< 24 bits: prog-if, sub, base */
#define RTE_VFIO_USER_PCI_CACHE_LINE_SIZE	0x0c /**< 8 bits */
#define RTE_VFIO_USER_PCI_LATENCY_TIMER		0x0d /**< 8 bits */
#define RTE_VFIO_USER_PCI_HEADER_TYPE		0x0e /**< 8 bits */
#define RTE_VFIO_USER_PCI_BIST			0x0f /**< 8 bits */
#define RTE_VFIO_USER_PCI_BASE_ADDRESS_0	0x10 /**< 6 x 32 bits */
#define RTE_VFIO_USER_PCI_SUBSYSTEM_VENDOR_ID	0x2c /**< 16 bits */
#define RTE_VFIO_USER_PCI_SUBSYSTEM_ID		0x2e /**< 16 bits */
#define RTE_VFIO_USER_PCI_ROM_ADDRESS		0x30 /**< 32 bits */
#define RTE_VFIO_USER_PCI_CAPABILITY_LIST	0x34 /**< 8 bits */
#define RTE_VFIO_USER_PCI_INTERRUPT_LINE	0x3c /**< 8 bits */
#define RTE_VFIO_USER_PCI_INTERRUPT_PIN		0x3d /**< 8 bits */
/** First byte after the type 0 header: where capabilities go. */
#define RTE_VFIO_USER_PCI_STD_HEADER_SIZE	0x40
/** First extended capability of a 4 KiB config space. */
#define RTE_VFIO_USER_PCI_EXT_CAP_START		0x100

/* Command register bits. */
#define RTE_VFIO_USER_PCI_CMD_IO		(1u << 0) /**< I/O space enable */
#define RTE_VFIO_USER_PCI_CMD_MEMORY		(1u << 1) /**< memory space enable */
#define RTE_VFIO_USER_PCI_CMD_MASTER		(1u << 2) /**< bus master enable */
#define RTE_VFIO_USER_PCI_CMD_PARITY		(1u << 6) /**< parity error response */
#define RTE_VFIO_USER_PCI_CMD_SERR		(1u << 8) /**< SERR# enable */
#define RTE_VFIO_USER_PCI_CMD_INTX_DISABLE	(1u << 10) /**< INTx emulation disable */

/* Status register bits. */
#define RTE_VFIO_USER_PCI_STATUS_INTERRUPT	(1u << 3)  /**< INTx asserted (read-only) */
#define RTE_VFIO_USER_PCI_STATUS_CAP_LIST	(1u << 4)  /**< capabilities exist (read-only) */
#define RTE_VFIO_USER_PCI_STATUS_PARITY		(1u << 8)  /**< master data parity error (W1C) */
#define RTE_VFIO_USER_PCI_STATUS_SIG_TARGET_ABORT (1u << 11) /**< W1C */
#define RTE_VFIO_USER_PCI_STATUS_REC_TARGET_ABORT (1u << 12) /**< W1C */
#define RTE_VFIO_USER_PCI_STATUS_REC_MASTER_ABORT (1u << 13) /**< W1C */
#define RTE_VFIO_USER_PCI_STATUS_SIG_SYSTEM_ERROR (1u << 14) /**< W1C */
#define RTE_VFIO_USER_PCI_STATUS_DETECTED_PARITY (1u << 15) /**< W1C */
/** All write-1-to-clear bits of the status register. */
#define RTE_VFIO_USER_PCI_STATUS_W1C_MASK \
	(RTE_VFIO_USER_PCI_STATUS_PARITY | \
	 RTE_VFIO_USER_PCI_STATUS_SIG_TARGET_ABORT | \
	 RTE_VFIO_USER_PCI_STATUS_REC_TARGET_ABORT | \
	 RTE_VFIO_USER_PCI_STATUS_REC_MASTER_ABORT | \
	 RTE_VFIO_USER_PCI_STATUS_SIG_SYSTEM_ERROR | \
	 RTE_VFIO_USER_PCI_STATUS_DETECTED_PARITY)

/* Capability ids. */
#define RTE_VFIO_USER_PCI_CAP_ID_PM		0x01 /**< power management */
#define RTE_VFIO_USER_PCI_CAP_ID_MSI		0x05 /**< MSI (not emulated) */
#define RTE_VFIO_USER_PCI_CAP_ID_VNDR		0x09 /**< vendor-specific */
#define RTE_VFIO_USER_PCI_CAP_ID_EXP		0x10 /**< PCI Express */
#define RTE_VFIO_USER_PCI_CAP_ID_MSIX		0x11 /**< MSI-X */

/* Power management capability (PCI Bus Power Management Interface 1.2):
 * offsets from the capability, and bits. */
#define RTE_VFIO_USER_PCI_PM_PMC	 2 /**< capabilities (PMC), 16 bits */
#define RTE_VFIO_USER_PCI_PM_CTRL	 4 /**< control/status (PMCSR), 16 bits */
#define RTE_VFIO_USER_PCI_PM_CAP_SIZE	 8	 /**< bytes of the capability */
#define RTE_VFIO_USER_PCI_PM_PMC_VERSION_MASK 0x0007u /**< version; 3: PM 1.2 */
#define RTE_VFIO_USER_PCI_PM_PMC_D1	 (1u << 9)  /**< D1 supported */
#define RTE_VFIO_USER_PCI_PM_PMC_D2	 (1u << 10) /**< D2 supported */
#define RTE_VFIO_USER_PCI_PM_CTRL_STATE_MASK \
	0x0003u /**< power state, D0 to D3hot */
#define RTE_VFIO_USER_PCI_PM_CTRL_NO_SOFT_RESET \
	(1u << 3) /**< D3hot to D0 keeps state */
/** Power state D3hot, in the PMCSR power state field. */
#define RTE_VFIO_USER_PCI_PM_D3HOT		3

/* Flags of rte_vfio_user_pci_add_pm(). */
#define RTE_VFIO_USER_PCI_PM_F_D1		(1u << 0) /**< D1 supported */
#define RTE_VFIO_USER_PCI_PM_F_D2		(1u << 1) /**< D2 supported */
/** Going from D3hot to D0 does not reset the function (No_Soft_Reset). */
#define RTE_VFIO_USER_PCI_PM_F_NO_SOFT_RESET	(1u << 2)

/* MSI-X capability: offsets from the capability, and bits. */
#define RTE_VFIO_USER_PCI_MSIX_FLAGS		2 /**< message control, 16 bits */
#define RTE_VFIO_USER_PCI_MSIX_TABLE		4 /**< table offset | BIR, 32 bits */
#define RTE_VFIO_USER_PCI_MSIX_PBA		8 /**< PBA offset | BIR, 32 bits */
#define RTE_VFIO_USER_PCI_MSIX_CAP_SIZE		12 /**< bytes of the capability */
#define RTE_VFIO_USER_PCI_MSIX_FLAGS_QSIZE	0x07ffu /**< table size - 1 */
#define RTE_VFIO_USER_PCI_MSIX_FLAGS_MASKALL	(1u << 14) /**< function mask */
#define RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE	(1u << 15) /**< MSI-X enable */
#define RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE	16 /**< bytes of a table entry */
#define RTE_VFIO_USER_PCI_MSIX_ENTRY_CTRL_MASKBIT 1u /**< vector control: masked */
/** Most MSI-X vectors of one function. */
#define RTE_VFIO_USER_PCI_MSIX_MAX_VECTORS	2048

/* BAR flags for rte_vfio_user_pci_set_bar(). */
#define RTE_VFIO_USER_PCI_BAR_MEM		0u	  /**< memory BAR (default) */
#define RTE_VFIO_USER_PCI_BAR_IO		(1u << 0) /**< I/O space BAR */
#define RTE_VFIO_USER_PCI_BAR_64		(1u << 1) /**< 64-bit memory BAR: takes two slots */
#define RTE_VFIO_USER_PCI_BAR_PREFETCH		(1u << 2) /**< prefetchable memory */

/** Number of BARs of a type 0 function. */
#define RTE_VFIO_USER_PCI_NUM_BARS		6
/** BAR index of the expansion ROM, for rte_vfio_user_pci_set_bar(). */
#define RTE_VFIO_USER_PCI_ROM_BAR		6

/**
 * An emulated PCI function: config space, masks, MSI-X table and PBA.
 * Opaque; see the functions of this file.
 */
struct rte_vfio_user_pci;

/** Identification fields of the standard header. */
struct rte_vfio_user_pci_ids {
	uint16_t vendor_id;		/**< offset 0x00 */
	uint16_t device_id;		/**< offset 0x02 */
	uint16_t subsystem_vendor_id;	/**< offset 0x2c */
	uint16_t subsystem_id;		/**< offset 0x2e */
	uint8_t revision_id;		/**< offset 0x08 */
	/** Offset 0x09: base class << 16 | subclass << 8 | prog-if. */
	uint32_t class_code;
};

/** What a notification (rte_vfio_user_pci_notify_t) is about. */
enum rte_vfio_user_pci_event_type {
	/**
	 * The client wrote config space: @p offset and @p len give the bytes
	 * it wrote (whether or not any bit changed). Sent after the more
	 * specific events of the same write.
	 */
	RTE_VFIO_USER_PCI_EV_CFG_WRITE,
	/** The command register changed: @p old_val, @p new_val. */
	RTE_VFIO_USER_PCI_EV_COMMAND,
	/**
	 * The client wrote a BAR (@p index, for a 64-bit BAR its lower slot);
	 * rte_vfio_user_pci_get_bar_addr() gives the new address. Also sent
	 * for sizing writes.
	 */
	RTE_VFIO_USER_PCI_EV_BAR,
	/**
	 * The MSI-X enable or function-mask bit changed: @p old_val and
	 * @p new_val are the message control word.
	 */
	RTE_VFIO_USER_PCI_EV_MSIX_CTRL,
	/**
	 * The mask bit of MSI-X vector @p index changed (a table write):
	 * @p old_val, @p new_val are 1 for masked.
	 */
	RTE_VFIO_USER_PCI_EV_MSIX_VECTOR,
	/**
	 * The power state of the power management capability
	 * (rte_vfio_user_pci_add_pm()) changed: @p old_val, @p new_val, 0
	 * (D0) to 3 (D3hot). Outside D0 the function may not master the
	 * bus (rte_vfio_user_pci_bus_master() is 0) and raises no
	 * interrupt. When @p reset is 1 (D3hot to D0 without No_Soft_Reset)
	 * the library has reset the function as rte_vfio_user_pci_reset()
	 * does, before this event, and sends no other event of the write
	 * but RTE_VFIO_USER_PCI_EV_CFG_WRITE: the device model resets its
	 * own state, as for a DEVICE_RESET (and, as after
	 * rte_vfio_user_pci_reset(), clears the vectors it may have raised
	 * meanwhile: rte_vfio_user_pci_msix_clear()).
	 */
	RTE_VFIO_USER_PCI_EV_POWER,
};

/** A notification to the device model. */
struct rte_vfio_user_pci_event {
	enum rte_vfio_user_pci_event_type type; /**< what happened */
	uint32_t offset;	/**< CFG_WRITE: first config byte written */
	uint32_t len;		/**< CFG_WRITE: bytes written */
	uint32_t index;		/**< BAR: BAR index; MSIX_VECTOR: vector */
	uint32_t old_val;	/**< COMMAND, MSIX_CTRL, MSIX_VECTOR, POWER: before */
	uint32_t new_val;	/**< COMMAND, MSIX_CTRL, MSIX_VECTOR, POWER: after */
	uint32_t reset;		/**< POWER: 1 if the transition reset the function */
};

/**
 * Notification callback. Runs on the thread that made the access (the
 * library's event thread for client accesses), after the change is
 * visible, without the structure's lock held.
 *
 * @param pci
 *   The function.
 * @param ev
 *   What happened.
 * @param arg
 *   As given to rte_vfio_user_pci_set_notify().
 */
typedef void (*rte_vfio_user_pci_notify_t)(struct rte_vfio_user_pci *pci,
		const struct rte_vfio_user_pci_event *ev, void *arg);

/** One MSI-X table entry, as rte_vfio_user_pci_msix_get_entry() reads it. */
struct rte_vfio_user_pci_msix_entry {
	uint64_t addr;		/**< message address */
	uint32_t data;		/**< message data */
	uint32_t ctrl;		/**< vector control (bit 0: masked) */
};

/**
 * Create an emulated PCI function: a type 0 header with every field zero
 * and read-only but the cache line size and interrupt line (writable), the
 * command bits that need no BAR (bus master, parity error response, SERR#,
 * INTx disable: writable) and the status error bits (write-1-to-clear).
 *
 * @param cfg_size
 *   RTE_VFIO_USER_PCI_CFG_SIZE or RTE_VFIO_USER_PCI_CFG_SIZE_EXT.
 * @return
 *   The function, or NULL with errno set (EINVAL: bad size, ENOMEM).
 */
__rte_experimental
struct rte_vfio_user_pci *rte_vfio_user_pci_create(size_t cfg_size);

/**
 * Free a function created by rte_vfio_user_pci_create(). NULL is ignored.
 * The device must not access it any more (unregister or stop the device
 * first).
 *
 * @param pci
 *   The function, or NULL.
 */
__rte_experimental
void rte_vfio_user_pci_free(struct rte_vfio_user_pci *pci);

/**
 * Size of the config space.
 *
 * @param pci
 *   The function.
 * @return
 *   256 or 4096; 0 if @p pci is NULL.
 */
__rte_experimental
size_t rte_vfio_user_pci_cfg_size(const struct rte_vfio_user_pci *pci);

/**
 * Tie the function to a registered vfio-user device. Needed by
 * rte_vfio_user_pci_msix_trigger() and rte_vfio_user_pci_set_intx() to
 * raise interrupts, to deliver MSI-X vectors that were pending when the
 * client unmasks them, and to show the library's pending interrupts in
 * the PBA; when the device's client leaves, the library forgets that it
 * had set Bus Master Enable (rte_vfio_user_pci_bus_master()). Detach (or
 * stop using the function from other threads) before
 * rte_vfio_user_unregister().
 *
 * @param pci
 *   The function.
 * @param dev_id
 *   Device id from rte_vfio_user_register(), or -1 to detach.
 * @return
 *   0, or -EINVAL (NULL, or no such device).
 */
__rte_experimental
int rte_vfio_user_pci_attach(struct rte_vfio_user_pci *pci, int dev_id);

/**
 * Set the notification callback (NULL: none).
 *
 * @param pci
 *   The function.
 * @param cb
 *   Callback, or NULL.
 * @param arg
 *   Passed to @p cb.
 * @return
 *   0, or -EINVAL.
 */
__rte_experimental
int rte_vfio_user_pci_set_notify(struct rte_vfio_user_pci *pci,
		rte_vfio_user_pci_notify_t cb, void *arg);

/**
 * Set vendor, device, subsystem ids, revision and class code (all
 * read-only to the client).
 *
 * @param pci
 *   The function.
 * @param ids
 *   The values.
 * @return
 *   0, or -EINVAL (NULL argument, class code above 24 bits).
 */
__rte_experimental
int rte_vfio_user_pci_set_ids(struct rte_vfio_user_pci *pci,
		const struct rte_vfio_user_pci_ids *ids);

/**
 * Set the interrupt pin register (read-only to the client).
 *
 * @param pci
 *   The function.
 * @param pin
 *   0 (no INTx), 1 to 4 (INTA# to INTD#).
 * @return
 *   0, or -EINVAL.
 */
__rte_experimental
int rte_vfio_user_pci_set_irq_pin(struct rte_vfio_user_pci *pci, uint8_t pin);

/**
 * Declare a BAR so that the client can size and place it.
 *
 * The flag bits of the BAR (I/O space, 64-bit type, prefetchable) and the
 * address bits below @p size are read-only; the rest is writable. Declaring
 * a memory (or ROM) BAR makes the memory space enable bit of the command
 * register writable, an I/O BAR the I/O space enable bit.
 *
 * @param pci
 *   The function.
 * @param bar
 *   0 to 5, or RTE_VFIO_USER_PCI_ROM_BAR for the expansion ROM.
 *   A 64-bit BAR also takes slot @p bar + 1 (so @p bar <= 4).
 * @param size
 *   Power of two: memory >= 16 (<= 2 GiB unless 64-bit), I/O 4 to 256,
 *   ROM 2 KiB to 2 GiB.
 * @param flags
 *   RTE_VFIO_USER_PCI_BAR_MEM or _IO, optionally | _64 and | _PREFETCH
 *   (memory only); 0 for the ROM.
 * @return
 *   0, -EINVAL (bad argument), -EEXIST (slot already declared).
 */
__rte_experimental
int rte_vfio_user_pci_set_bar(struct rte_vfio_user_pci *pci, unsigned int bar,
		uint64_t size, uint32_t flags);

/**
 * Size of a declared BAR.
 *
 * @param pci
 *   The function.
 * @param bar
 *   0 to 5, or RTE_VFIO_USER_PCI_ROM_BAR.
 * @return
 *   The size, or 0 if @p bar was not declared (or is the upper slot of a
 *   64-bit BAR).
 */
__rte_experimental
uint64_t rte_vfio_user_pci_get_bar_size(const struct rte_vfio_user_pci *pci,
		unsigned int bar);

/**
 * Address the client programmed in a BAR, without the flag bits (for the
 * ROM: without the enable bit). Meaningless while the client sizes it.
 *
 * @param pci
 *   The function.
 * @param bar
 *   A declared BAR (the lower slot of a 64-bit BAR), or
 *   RTE_VFIO_USER_PCI_ROM_BAR.
 * @param addr
 *   Where to store the address.
 * @return
 *   0, or -EINVAL (not declared).
 */
__rte_experimental
int rte_vfio_user_pci_get_bar_addr(struct rte_vfio_user_pci *pci,
		unsigned int bar, uint64_t *addr);

/**
 * Add a capability to the list that starts at offset 0x34.
 *
 * It is placed at the first free 4-byte aligned offset from 0x40, linked
 * at the end of the list (bytes 0 and 1 of the capability, id and next
 * pointer, are the library's and read-only), and the capabilities-list bit
 * of the status register is set.
 *
 * @param pci
 *   The function.
 * @param id
 *   Capability id, 1 to 0xff but RTE_VFIO_USER_PCI_CAP_ID_MSIX (use
 *   rte_vfio_user_pci_add_msix()); RTE_VFIO_USER_PCI_CAP_ID_PM only if
 *   the function has none (rte_vfio_user_pci_add_pm()).
 * @param body
 *   Initial contents of the capability after its 2-byte header, @p len
 *   bytes.
 * @param len
 *   Bytes of @p body; the capability takes 2 + @p len bytes.
 * @param wmask
 *   Per-byte write mask of @p body (@p len bytes), or NULL: read-only.
 * @param w1cmask
 *   Per-byte write-1-to-clear mask of @p body, or NULL: none.
 * @return
 *   Offset of the capability in config space, or -EINVAL (bad argument),
 *   -EEXIST (a second PM capability), -ENOSPC (does not fit below offset
 *   0x100).
 */
__rte_experimental
int rte_vfio_user_pci_add_cap(struct rte_vfio_user_pci *pci, uint8_t id,
		const void *body, size_t len, const uint8_t *wmask,
		const uint8_t *w1cmask);

/**
 * Add a vendor-specific capability (id 0x09): the library writes its
 * header, id, next pointer and length byte (3 + @p len), all read-only.
 *
 * @param pci
 *   The function.
 * @param body
 *   Vendor-defined bytes after the length byte, @p len bytes.
 * @param len
 *   Bytes of @p body, at most 252.
 * @param wmask
 *   Per-byte write mask of @p body, or NULL: read-only.
 * @return
 *   As rte_vfio_user_pci_add_cap().
 */
__rte_experimental
int rte_vfio_user_pci_add_vendor_cap(struct rte_vfio_user_pci *pci,
		const void *body, size_t len, const uint8_t *wmask);

/**
 * Add the power management capability (once): PCI Bus Power Management
 * Interface 1.2, without PME.
 *
 * The library keeps its power state field (PMCSR bits 1:0, the only
 * writable bits): a write asking for an unsupported state (D1, D2 without
 * their flag) or for a deeper-to-lighter change other than to D0 (D3hot
 * to D1, for instance) is discarded, as the specification wants. Outside
 * D0 the function raises no interrupt (MSI-X vectors are held in the PBA,
 * INTx is not signalled) and may not master the bus; going from D3hot to
 * D0 resets the function unless @p flags has
 * RTE_VFIO_USER_PCI_PM_F_NO_SOFT_RESET. The device model hears of every
 * change (RTE_VFIO_USER_PCI_EV_POWER). With No_Soft_Reset clear, a guest
 * has a reset method for the function: Linux's "pm" reset (D3hot, then
 * D0); QEMU writes D0 before its DEVICE_RESET at a system reset. A
 * client that leaves the function outside D0 leaves it in D0 for the next
 * one, reset as a D3hot to D0 change resets it (no event: the device
 * model resets its own state when a client goes). A function has one PM
 * capability: this one, or one added with rte_vfio_user_pci_add_cap(),
 * which is plain bytes to the library.
 *
 * @param pci
 *   The function.
 * @param flags
 *   RTE_VFIO_USER_PCI_PM_F_* bits.
 * @return
 *   Offset of the capability, or -EINVAL (bad argument), -EEXIST (the
 *   function has a PM capability), -ENOSPC (does not fit below offset
 *   0x100).
 */
__rte_experimental int rte_vfio_user_pci_add_pm(struct rte_vfio_user_pci *pci,
						unsigned int flags);

/**
 * The function's power state: the power state field of the PM capability
 * (rte_vfio_user_pci_add_pm()) as the client set it, or as a restored
 * state (rte_vfio_user_pci_restore()) has it.
 *
 * @param pci
 *   The function.
 * @return
 *   0 (D0) to 3 (RTE_VFIO_USER_PCI_PM_D3HOT); 0 for a function without
 *   the capability; -EINVAL if @p pci is NULL.
 */
__rte_experimental int
rte_vfio_user_pci_pm_state(struct rte_vfio_user_pci *pci);

/**
 * Add a PCI Express extended capability (4 KiB config space only).
 *
 * The first one is placed at 0x100, the next ones at the first free 4-byte
 * aligned offset after the previous one; each is linked from the previous
 * one's 12-bit next pointer. The 4-byte header is read-only.
 *
 * @param pci
 *   The function.
 * @param id
 *   Extended capability id, nonzero.
 * @param version
 *   Capability version, 0 to 15.
 * @param body
 *   Contents after the header, @p len bytes.
 * @param len
 *   Bytes of @p body.
 * @param wmask
 *   Per-byte write mask of @p body, or NULL.
 * @param w1cmask
 *   Per-byte write-1-to-clear mask of @p body, or NULL.
 * @return
 *   Offset of the capability, -EINVAL, -ENOSPC.
 */
__rte_experimental
int rte_vfio_user_pci_add_ext_cap(struct rte_vfio_user_pci *pci, uint16_t id,
		uint8_t version, const void *body, size_t len,
		const uint8_t *wmask, const uint8_t *w1cmask);

/**
 * Add the MSI-X capability (once) and create its table and PBA.
 *
 * The capability's enable and function-mask bits are writable; every
 * vector starts masked and not pending. Table and PBA must be inside
 * memory BARs declared before, 8-byte aligned, and must not overlap. The
 * device model describes the MSI-X IRQ type (VFIO_USER_PCI_MSIX_IRQ_INDEX)
 * with @p nvec vectors itself.
 *
 * @param pci
 *   The function.
 * @param nvec
 *   Table size, 1 to RTE_VFIO_USER_PCI_MSIX_MAX_VECTORS.
 * @param table_bar
 *   BAR of the table (0 to 5).
 * @param table_offset
 *   Offset of the table in its BAR; nvec * 16 bytes.
 * @param pba_bar
 *   BAR of the pending bit array.
 * @param pba_offset
 *   Offset of the PBA in its BAR; (nvec + 63) / 64 * 8 bytes.
 * @return
 *   Offset of the capability, -EINVAL, -EEXIST (MSI-X already added),
 *   -ENOSPC, -ENOMEM.
 */
__rte_experimental
int rte_vfio_user_pci_add_msix(struct rte_vfio_user_pci *pci, uint16_t nvec,
		uint8_t table_bar, uint32_t table_offset, uint8_t pba_bar,
		uint32_t pba_offset);

/**
 * Read config space as the client does (the masks play no part in reads).
 *
 * @param pci
 *   The function.
 * @param offset
 *   First byte; any alignment.
 * @param buf
 *   Where the bytes go.
 * @param count
 *   Bytes; @p offset + @p count must not exceed the config space size.
 * @return
 *   @p count, or -EINVAL (out of range, NULL argument).
 */
__rte_experimental
ssize_t rte_vfio_user_pci_cfg_read(struct rte_vfio_user_pci *pci,
		uint64_t offset, void *buf, size_t count);

/**
 * Write config space as the client does: through the write and
 * write-1-to-clear masks, then notify the device model.
 *
 * Bytes the masks keep read-only are silently left alone, as on real
 * hardware: the write still succeeds.
 *
 * @param pci
 *   The function.
 * @param offset
 *   First byte; any alignment.
 * @param buf
 *   The bytes to write.
 * @param count
 *   Bytes; @p offset + @p count must not exceed the config space size.
 * @return
 *   @p count, or -EINVAL (out of range, NULL argument).
 */
__rte_experimental
ssize_t rte_vfio_user_pci_cfg_write(struct rte_vfio_user_pci *pci,
		uint64_t offset, const void *buf, size_t count);

/**
 * Config region access callback, an rte_vfio_user_region_access_t: set it
 * (with @p priv the struct rte_vfio_user_pci) as the access callback of
 * region VFIO_USER_PCI_CONFIG_REGION_INDEX.
 *
 * @param dev_id
 *   Device id (unused).
 * @param priv
 *   The struct rte_vfio_user_pci.
 * @param buf
 *   Data to write, or buffer to read into.
 * @param count
 *   Bytes.
 * @param offset
 *   Offset in config space.
 * @param is_write
 *   True for a write.
 * @return
 *   As rte_vfio_user_pci_cfg_read() / rte_vfio_user_pci_cfg_write().
 */
__rte_experimental
ssize_t rte_vfio_user_pci_cfg_region_access(int dev_id, void *priv, char *buf,
		size_t count, uint64_t offset, bool is_write);

/**
 * Fill the description of the config region: its size, read and write
 * flags, rte_vfio_user_pci_cfg_region_access() with @p pci as priv; the
 * rest zero.
 *
 * @param pci
 *   The function.
 * @param reg
 *   Description to fill, for rte_vfio_user_set_reg_info().
 * @return
 *   0, or -EINVAL.
 */
__rte_experimental
int rte_vfio_user_pci_fill_cfg_region(struct rte_vfio_user_pci *pci,
		struct rte_vfio_user_region *reg);

/**
 * Read config space bytes for the device model (same as
 * rte_vfio_user_pci_cfg_read()).
 *
 * @param pci
 *   The function.
 * @param offset
 *   First byte.
 * @param buf
 *   Where the bytes go.
 * @param len
 *   Bytes.
 * @return
 *   0, or -EINVAL (out of range).
 */
__rte_experimental
int rte_vfio_user_pci_raw_read(struct rte_vfio_user_pci *pci, uint32_t offset,
		void *buf, size_t len);

/**
 * Write config space bytes for the device model, bypassing the masks and
 * without notification (e.g. to update a read-only field of a device
 * capability). rte_vfio_user_pci_reset() does not keep such changes.
 *
 * @param pci
 *   The function.
 * @param offset
 *   First byte.
 * @param buf
 *   The bytes to write.
 * @param len
 *   Bytes.
 * @return
 *   0, or -EINVAL (out of range).
 */
__rte_experimental
int rte_vfio_user_pci_raw_write(struct rte_vfio_user_pci *pci, uint32_t offset,
		const void *buf, size_t len);

/**
 * Reset the function (for a DEVICE_RESET or function level reset): every
 * config byte goes back to the value the setup functions gave it (command
 * 0, BAR addresses 0, MSI-X disabled, ...), every MSI-X vector to masked
 * with address and data 0, the PBA is cleared, INTx is deasserted (and
 * its pending interrupt dropped when attached). No notification is sent.
 *
 * @param pci
 *   The function.
 * @return
 *   0, or -EINVAL.
 */
__rte_experimental
int rte_vfio_user_pci_reset(struct rte_vfio_user_pci *pci);

/**
 * Command register.
 *
 * @param pci
 *   The function.
 * @return
 *   Its value (0 if @p pci is NULL).
 */
__rte_experimental
uint16_t rte_vfio_user_pci_get_command(struct rte_vfio_user_pci *pci);

/**
 * Whether the function may master the bus: access client memory (DMA) and
 * send MSI-X messages, which are memory writes (PCI Local Bus 6.2.2,
 * command bit 2).
 *
 * A driver sets Bus Master Enable when it takes the function (Linux's
 * pci_set_master()) and clears it when it lets go (pci_disable_device(),
 * and at shutdown before kexec, where the next kernel owns the memory).
 * Once the client has set the bit (since it connected and since the last
 * rte_vfio_user_pci_reset(), or a restored state says so), clearing it
 * takes bus mastering away:
 * MSI-X vectors raised meanwhile are held in the PBA, as if masked, and
 * sent when the bit is set again; the device model must stop touching
 * client memory (it hears of the change through the notification callback,
 * RTE_VFIO_USER_PCI_EV_COMMAND). A client that never sets the bit (some
 * user-space drivers leave the command register alone) keeps a working
 * function. INTx, not a memory write, is not affected. Outside power
 * state D0 (rte_vfio_user_pci_add_pm()) the function may not master the
 * bus either, whatever the command register says. Lock-free, like
 * rte_vfio_user_pci_msix_trigger().
 *
 * @param pci
 *   The function.
 * @return
 *   1 if it may, 0 if bus mastering was taken away, -EINVAL if @p pci is
 *   NULL.
 */
__rte_experimental int
rte_vfio_user_pci_bus_master(struct rte_vfio_user_pci *pci);

/**
 * Set write-1-to-clear error bits of the status register (the device
 * detected an error); the client clears them by writing ones.
 *
 * @param pci
 *   The function.
 * @param bits
 *   Subset of RTE_VFIO_USER_PCI_STATUS_W1C_MASK.
 * @return
 *   0, or -EINVAL.
 */
__rte_experimental
int rte_vfio_user_pci_set_status_bits(struct rte_vfio_user_pci *pci,
		uint16_t bits);

/**
 * Assert or deassert INTx: set or clear the interrupt status bit (bit 3)
 * of the status register (the level). When the function is attached
 * (rte_vfio_user_pci_attach()), also raise INTx
 * (rte_vfio_user_irq_trigger(), VFIO_USER_PCI_INTX_IRQ_INDEX, vector 0)
 * on assertion unless the command register's INTx disable bit is set or
 * MSI-X is enabled, and drop a latched INTx (rte_vfio_user_irq_clear()) on
 * deassertion. Clearing INTx disable, or disabling MSI-X, while asserted
 * raises INTx then; setting it, or enabling MSI-X, drops it. Lock-free.
 *
 * @param pci
 *   The function.
 * @param asserted
 *   New level of the line.
 * @return
 *   As rte_vfio_user_irq_trigger() for an assertion that raised INTx, else
 *   0; -EINVAL if @p pci is NULL or there is no interrupt pin.
 */
__rte_experimental
int rte_vfio_user_pci_set_intx(struct rte_vfio_user_pci *pci, bool asserted);

/**
 * Whether the MSI-X enable bit is set.
 *
 * @param pci
 *   The function.
 * @return
 *   1 if enabled, 0 if not (or no MSI-X capability), -EINVAL.
 */
__rte_experimental
int rte_vfio_user_pci_msix_enabled(struct rte_vfio_user_pci *pci);

/**
 * Whether a vector is masked: by the function mask, or by its own mask bit
 * (once the client drives the table, see the file description).
 *
 * @param pci
 *   The function.
 * @param vector
 *   Vector number.
 * @return
 *   1 if masked, 0 if not, -EINVAL (no MSI-X, vector out of range).
 */
__rte_experimental
int rte_vfio_user_pci_msix_masked(struct rte_vfio_user_pci *pci,
		uint32_t vector);

/**
 * Whether a vector's pending bit is set in the PBA (latched by
 * rte_vfio_user_pci_msix_trigger() while masked, or, when attached,
 * latched by the library's IRQ layer).
 *
 * @param pci
 *   The function.
 * @param vector
 *   Vector number.
 * @return
 *   1 if pending, 0 if not, -EINVAL.
 */
__rte_experimental
int rte_vfio_user_pci_msix_pending(struct rte_vfio_user_pci *pci,
		uint32_t vector);

/**
 * Drop a vector's pending interrupt: its PBA bit, and the library's latch
 * (rte_vfio_user_irq_clear()) when attached. For a device whose event
 * behind the interrupt is gone, as at its reset: a vector unmasked later
 * then delivers nothing from before (PCI 3.0 6.8.2: the function clears
 * the pending bit when the event is no longer there).
 *
 * @param pci
 *   The function.
 * @param vector
 *   Vector number.
 * @return
 *   0, or -EINVAL (no MSI-X, vector out of range).
 */
__rte_experimental int
rte_vfio_user_pci_msix_clear(struct rte_vfio_user_pci *pci, uint32_t vector);

/**
 * Read one MSI-X table entry.
 *
 * @param pci
 *   The function.
 * @param vector
 *   Vector number.
 * @param entry
 *   Where the entry goes.
 * @return
 *   0, or -EINVAL.
 */
__rte_experimental
int rte_vfio_user_pci_msix_get_entry(struct rte_vfio_user_pci *pci,
		uint32_t vector, struct rte_vfio_user_pci_msix_entry *entry);

/**
 * Raise MSI-X vector @p vector: if it is masked (see
 * rte_vfio_user_pci_msix_masked()), set its pending bit; it is delivered
 * when the client unmasks it. Otherwise raise it with
 * rte_vfio_user_irq_trigger() on the attached device (which latches it in
 * turn under a SET_IRQS mask). Lock-free: two atomic loads (the enable and
 * mask state, the vector's control byte) before the library's trigger.
 *
 * @param pci
 *   The function.
 * @param vector
 *   Vector number.
 * @return
 *   1 if an eventfd was written, 0 if latched as pending (here or in the
 *   library), -ENOTSUP (MSI-X is disabled: use INTx), -EINVAL (no MSI-X,
 *   vector out of range), -ENODEV (not attached), or another error of
 *   rte_vfio_user_irq_trigger().
 */
__rte_experimental
int rte_vfio_user_pci_msix_trigger(struct rte_vfio_user_pci *pci,
		uint32_t vector);

/**
 * Access the MSI-X table or PBA from a BAR access callback.
 *
 * Any size and alignment are accepted. Writes to the table go through its
 * masks (the message address's two low bits and the vector control's bits
 * 31:1 are read-only); writes to the PBA are ignored. A change of a
 * vector's mask bit is notified (RTE_VFIO_USER_PCI_EV_MSIX_VECTOR), and
 * unmasking a pending vector delivers it.
 *
 * @param pci
 *   The function.
 * @param bar
 *   BAR (region) index of the access.
 * @param buf
 *   Data to write, or buffer to read into.
 * @param count
 *   Bytes.
 * @param offset
 *   Offset in the BAR.
 * @param is_write
 *   True for a write.
 * @return
 *   @p count if the access was wholly inside the table or the PBA and has
 *   been done; 0 if it touches neither (the caller handles it);
 *   -EINVAL if it straddles their boundary (a caller whose client may
 *   read across it, e.g. a whole BAR, splits the access at their edges:
 *   net_vfio_user's BAR1 callback does) or on a bad argument (an access
 *   wrapping past 2^64 included).
 */
__rte_experimental
ssize_t rte_vfio_user_pci_msix_access(struct rte_vfio_user_pci *pci,
		unsigned int bar, char *buf, size_t count, uint64_t offset,
		bool is_write);

/**
 * Bytes of the state rte_vfio_user_pci_save() writes for this function.
 *
 * @param pci
 *   The function.
 * @return
 *   The size (0 if @p pci is NULL).
 */
__rte_experimental size_t
rte_vfio_user_pci_state_size(const struct rte_vfio_user_pci *pci);

/**
 * Save the client-visible state of the function, for migration: its
 * config space, MSI-X table, pending bits and whether the client drives
 * the table's mask bits, in a versioned format of this library.
 *
 * @param pci
 *   The function.
 * @param buf
 *   Where the state goes.
 * @param len
 *   Room in @p buf: at least rte_vfio_user_pci_state_size().
 * @return
 *   Bytes written, -ENOSPC or -EINVAL.
 */
__rte_experimental ssize_t rte_vfio_user_pci_save(struct rte_vfio_user_pci *pci,
						  void *buf, size_t len);

/**
 * Check that a saved state fits this function (same version, size,
 * identity, capability layout and MSI-X table); nothing is changed.
 *
 * @param pci
 *   The function.
 * @param buf
 *   A state from rte_vfio_user_pci_save().
 * @param len
 *   Bytes at @p buf.
 * @return
 *   0, -EPROTONOSUPPORT (another version of the format) or -EINVAL (@p pci
 *   or @p buf NULL, not a state, truncated, or of another kind of
 *   function; the reason is logged).
 */
__rte_experimental int
rte_vfio_user_pci_check_state(struct rte_vfio_user_pci *pci, const void *buf,
			      size_t len);

/**
 * Restore a state saved by rte_vfio_user_pci_save() of a function with
 * the same layout (checked first, as rte_vfio_user_pci_check_state(); on
 * error nothing changed). No notification is sent and no interrupt
 * raised: vectors pending and still masked stay pending; the device
 * model raises the others when it runs again.
 *
 * @param pci
 *   The function.
 * @param buf
 *   A state from rte_vfio_user_pci_save().
 * @param len
 *   Bytes at @p buf.
 * @return
 *   0, or as rte_vfio_user_pci_check_state().
 */
__rte_experimental int rte_vfio_user_pci_restore(struct rte_vfio_user_pci *pci,
						 const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* RTE_VFIO_USER_PCI_H */
