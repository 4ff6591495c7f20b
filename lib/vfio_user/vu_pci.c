/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * PCI configuration space emulation for device models: a type 0 header,
 * BARs, the capability lists, MSI-X table and PBA, INTx status.
 *
 * Every byte of config space has a value, a write mask and a W1C mask; a
 * second copy of the values (init) is what rte_vfio_user_pci_reset()
 * restores. Setup functions write both copies, client writes only the live
 * one. One spinlock guards all of it; notifications and interrupt delivery
 * happen after it is dropped.
 *
 * Interrupts are raised from data-path threads without the lock: what a
 * trigger needs is mirrored in atomics that are written with the lock held
 * and read without it (irq_state: MSI-X enable and function mask, whether
 * the table is driven, INTx disable; the vector control bytes of the
 * table; the PBA words; the INTx level). A trigger reads irq_state and the
 * vector's control byte: two loads, then the library's lock-free
 * rte_vfio_user_irq_trigger(). A masked vector is latched in the PBA and
 * looked at again, and whoever unmasks stores the new state first and then
 * takes the latched vectors (sequentially consistent on both sides, as in
 * vu_irq.c's vec_fire()): an interrupt raised while masked is never lost,
 * and is delivered once.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_spinlock.h>

#include "rte_vfio_user_pci.h"
#include "vu_internal.h"

#define CFG_MAX		RTE_VFIO_USER_PCI_CFG_SIZE_EXT
#define STD_END		RTE_VFIO_USER_PCI_CFG_SIZE	/* std caps end here */
#define NUM_SLOTS	(RTE_VFIO_USER_PCI_NUM_BARS + 1)	/* + ROM */
#define MSIX_WORDS	(RTE_VFIO_USER_PCI_MSIX_MAX_VECTORS / 64)
/* Events of one config write: command, 7 BARs, MSI-X control, power
 * state, the write. */
#define MAX_EVENTS	(4 + NUM_SLOTS)

/* irq_state bits. */
#define IS_MSIX_EN	(1u << 0)	/* MSI-X enable */
#define IS_MSIX_FMASK	(1u << 1)	/* MSI-X function mask */
#define IS_TABLE	(1u << 2)	/* per-vector mask bits count */
#define IS_INTX_DIS	(1u << 3)	/* command register INTx disable */
#define IS_BM_OFF	(1u << 4)	/* bus mastering taken away (bm_armed) */
#define IS_LOW_POWER	(1u << 5)	/* power state not D0 */

struct vu_pci_bar {
	uint64_t size;		/* 0: not declared */
	uint32_t flags;		/* RTE_VFIO_USER_PCI_BAR_* */
	bool upper;		/* upper slot of the 64-bit BAR below */
};

struct rte_vfio_user_pci {
	rte_spinlock_t lock;
	uint32_t size;
	int dev_id;		/* attached device, -1: none; atomic */
	uint32_t irq_state;	/* IS_*: written locked, read lock-free */
	uint8_t intx_pin;	/* interrupt pin register, 0: no INTx */
	uint8_t intx_level;	/* atomic: the device model asserts INTx */
	rte_vfio_user_pci_notify_t notify;
	void *notify_arg;
	struct vu_pci_bar bars[NUM_SLOTS];
	uint16_t last_cap;	/* last standard capability, 0: none */
	uint16_t cap_end;	/* first free standard offset */
	uint16_t last_ext;	/* last extended capability, 0: none */
	uint16_t ext_end;	/* first free extended offset */
	uint16_t pm_cap;	/* power management capability, 0: none */
	/* MSI-X */
	uint16_t msix_cap;	/* offset of the capability, 0: none */
	uint16_t nvec;
	uint8_t table_bar;
	uint8_t pba_bar;
	uint32_t table_off;
	uint32_t pba_off;
	bool table_active;	/* the client wrote a vector control word */
	bool bm_armed;		/* the client set Bus Master Enable since the
				 * reset: clearing it stops MSI-X and DMA */
	uint8_t *table;		/* nvec * 16 bytes; control bytes atomic */
	uint64_t pending[MSIX_WORDS];	/* the PBA, atomic */
	/* config space */
	uint8_t cfg[CFG_MAX];
	uint8_t init[CFG_MAX];
	uint8_t wmask[CFG_MAX];
	uint8_t w1c[CFG_MAX];
};

/* ---- little helpers ---- */

static uint32_t
get_le(const uint8_t *p, unsigned int n)
{
	uint32_t v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

static void
put_le(uint8_t *p, uint32_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Setup write: value of the live and the reset image. */
static void
setup_put(struct rte_vfio_user_pci *pci, uint32_t off, uint32_t v,
	  unsigned int n)
{
	put_le(&pci->cfg[off], v, n);
	put_le(&pci->init[off], v, n);
}

static uint16_t
cfg16(const struct rte_vfio_user_pci *pci, uint32_t off)
{
	return (uint16_t)get_le(&pci->cfg[off], 2);
}

static bool
is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

static bool
range_ok(const struct rte_vfio_user_pci *pci, uint64_t offset, size_t count)
{
	return offset <= pci->size && count <= pci->size - offset;
}

static bool
overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static uint32_t
pba_size(uint32_t nvec)
{
	return (nvec + 63) / 64 * 8;
}

/* ---- MSI-X and INTx state ---- */

static bool
msix_is_enabled(const struct rte_vfio_user_pci *pci)
{
	return __atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST) & IS_MSIX_EN;
}

static uint8_t *
vec_ctrl(const struct rte_vfio_user_pci *pci, uint32_t v)
{
	return &pci->table[v * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE + 12];
}

static bool
vec_mask_bit(const struct rte_vfio_user_pci *pci, uint32_t v)
{
	return __atomic_load_n(vec_ctrl(pci, v), __ATOMIC_SEQ_CST) &
		RTE_VFIO_USER_PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

/* Masked under irq_state st: by the function mask, or by its own mask
 * bit once the client drives the table. */
static bool
vec_masked_in(const struct rte_vfio_user_pci *pci, uint32_t st, uint32_t v)
{
	/* an MSI-X message is a memory write: none without bus mastering */
	return (st & (IS_MSIX_FMASK | IS_BM_OFF | IS_LOW_POWER)) ||
		((st & IS_TABLE) && vec_mask_bit(pci, v));
}

static bool
vec_masked(const struct rte_vfio_user_pci *pci, uint32_t v)
{
	return vec_masked_in(pci,
		__atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST), v);
}

static bool
pend_get(const uint64_t *bm, uint32_t v)
{
	return (__atomic_load_n(&bm[v / 64], __ATOMIC_SEQ_CST) >> (v % 64)) & 1;
}

/* For the local bitmaps of one call (not the PBA). */
static void
pend_set(uint64_t *bm, uint32_t v, bool on)
{
	if (on)
		bm[v / 64] |= 1ULL << (v % 64);
	else
		bm[v / 64] &= ~(1ULL << (v % 64));
}

/* Take vector v's PBA bit; true if it was set (only one taker wins). */
static bool
pba_take(struct rte_vfio_user_pci *pci, uint32_t v)
{
	uint64_t bit = 1ULL << (v % 64);

	return __atomic_fetch_and(&pci->pending[v / 64], ~bit,
				  __ATOMIC_SEQ_CST) & bit;
}

/* Power state field of the PM capability: 0 (D0) without one. */
static unsigned int
pm_state(const struct rte_vfio_user_pci *pci)
{
	if (pci->pm_cap == 0)
		return 0;
	return cfg16(pci, pci->pm_cap + RTE_VFIO_USER_PCI_PM_CTRL) &
	       RTE_VFIO_USER_PCI_PM_CTRL_STATE_MASK;
}

/* The power state field set to ps (lock held; irq_state not synced). */
static void
pm_state_set(struct rte_vfio_user_pci *pci, unsigned int ps)
{
	uint8_t *csr = &pci->cfg[pci->pm_cap + RTE_VFIO_USER_PCI_PM_CTRL];

	*csr = (uint8_t)((*csr & ~RTE_VFIO_USER_PCI_PM_CTRL_STATE_MASK) | ps);
}

/* Whether going from D3hot to D0 resets the function: No_Soft_Reset
 * clear (PCI PM 1.2 5.4.1, "D0 uninitialized"). */
static bool
pm_d0_resets(const struct rte_vfio_user_pci *pci)
{
	return !(cfg16(pci, pci->pm_cap + RTE_VFIO_USER_PCI_PM_CTRL) &
		 RTE_VFIO_USER_PCI_PM_CTRL_NO_SOFT_RESET);
}

/* Whether the function may go from power state from to to (PCI PM 1.2
 * 5.4.1: only supported states, and from D1..D3hot only deeper or D0). */
static bool
pm_change_ok(const struct rte_vfio_user_pci *pci, unsigned int from,
	     unsigned int to)
{
	uint16_t pmc = cfg16(pci, pci->pm_cap + RTE_VFIO_USER_PCI_PM_PMC);

	if ((to == 1 && !(pmc & RTE_VFIO_USER_PCI_PM_PMC_D1)) ||
	    (to == 2 && !(pmc & RTE_VFIO_USER_PCI_PM_PMC_D2)))
		return false;
	return from == 0 || to == 0 || to >= from;
}

/* Recompute irq_state from config space and the table (lock held). */
static void
state_sync(struct rte_vfio_user_pci *pci)
{
	uint32_t st = 0;

	if (pci->msix_cap != 0) {
		uint16_t ctl = cfg16(pci, pci->msix_cap +
				     RTE_VFIO_USER_PCI_MSIX_FLAGS);

		if (ctl & RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE)
			st |= IS_MSIX_EN;
		if (ctl & RTE_VFIO_USER_PCI_MSIX_FLAGS_MASKALL)
			st |= IS_MSIX_FMASK;
		if (pci->table_active)
			st |= IS_TABLE;
	}
	if (cfg16(pci, RTE_VFIO_USER_PCI_COMMAND) &
	    RTE_VFIO_USER_PCI_CMD_INTX_DISABLE)
		st |= IS_INTX_DIS;
	if (cfg16(pci, RTE_VFIO_USER_PCI_COMMAND) &
	    RTE_VFIO_USER_PCI_CMD_MASTER)
		pci->bm_armed = true;
	else if (pci->bm_armed)
		st |= IS_BM_OFF;
	if (pm_state(pci) != 0)
		st |= IS_LOW_POWER;
	__atomic_store_n(&pci->irq_state, st, __ATOMIC_SEQ_CST);
}

/* Whether INTx may be signalled under irq_state st: not disabled, MSI-X
 * (which excludes INTx) not enabled, power state D0. */
static bool
intx_allowed(uint32_t st)
{
	return !(st & (IS_INTX_DIS | IS_MSIX_EN | IS_LOW_POWER));
}

/* Pending bit of the library's IRQ layer (masked with SET_IRQS, or no
 * eventfd yet). Read-only peek at the device's vector state. */
static bool
lib_pending(int dev_id, uint32_t v)
{
	const uint32_t idx = VFIO_USER_PCI_MSIX_IRQ_INDEX;
	struct vu_dev *dev;

	if (dev_id < 0)
		return false;
	dev = vu_dev_get(dev_id);
	if (dev == NULL || idx >= dev->info.num_irqs ||
	    v >= dev->irqs[idx].count || dev->irq_vec[idx] == NULL)
		return false;
	return __atomic_load_n(&dev->irq_vec[idx][v].pending, __ATOMIC_ACQUIRE);
}

/*
 * Take the latched vectors that can be delivered now out of the PBA into
 * out, or drop them if out is NULL. Called after the state that unmasked
 * them was stored (state_sync or a control byte store); only when
 * attached: otherwise nobody could deliver them, and they stay pending.
 */
static bool
msix_collect(struct rte_vfio_user_pci *pci, uint64_t *out)
{
	uint32_t st = __atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST);
	bool any = false;

	if (out != NULL)
		memset(out, 0, MSIX_WORDS * sizeof(*out));
	if (__atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE) < 0 ||
	    !(st & IS_MSIX_EN))
		return false;
	for (uint32_t w = 0; w < (pci->nvec + 63u) / 64; w++) {
		uint64_t word = __atomic_load_n(&pci->pending[w],
						__ATOMIC_SEQ_CST);

		while (word != 0) {
			uint32_t v = w * 64 + (uint32_t)__builtin_ctzll(word);

			word &= word - 1;
			if (v >= pci->nvec || vec_masked_in(pci, st, v) ||
			    !pba_take(pci, v))
				continue;
			if (out != NULL)
				pend_set(out, v, true);
			any = true;
		}
	}
	return any;
}

/*
 * The reverse: vectors that can no longer be delivered (MSI-X disabled,
 * the function or the vector masked) but were handed to the library's IRQ
 * layer, which latched them under a SET_IRQS mask (or for want of an
 * eventfd), come back into the PBA: they must wait for every mask, not
 * just the SET_IRQS one. Lock held, after the state that masks them was
 * stored.
 */
static void
msix_reclaim(struct rte_vfio_user_pci *pci)
{
	uint32_t st = __atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST);
	int dev_id = __atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE);

	if (dev_id < 0)
		return;
	for (uint32_t v = 0; v < pci->nvec; v++) {
		if (((st & IS_MSIX_EN) && !vec_masked_in(pci, st, v)) ||
		    !lib_pending(dev_id, v))
			continue;
		rte_vfio_user_irq_clear(dev_id, VFIO_USER_PCI_MSIX_IRQ_INDEX, v);
		__atomic_fetch_or(&pci->pending[v / 64], 1ULL << (v % 64),
				  __ATOMIC_SEQ_CST);
	}
}

/* Lock not held. */
static void
msix_deliver(int dev_id, const uint64_t *bm, uint32_t nvec)
{
	for (uint32_t v = 0; v < nvec; v++) {
		int ret;

		if (!((bm[v / 64] >> (v % 64)) & 1))
			continue;
		ret = rte_vfio_user_irq_trigger(dev_id,
				VFIO_USER_PCI_MSIX_IRQ_INDEX, v);
		if (ret < 0)
			VU_LOG(ERR, "device %d: pending MSI-X vector %u: %s",
			       dev_id, v, strerror(-ret));
		else
			VU_LOG(DEBUG, "device %d: delivered pending MSI-X "
			       "vector %u", dev_id, v);
	}
}

/* Every vector masked, address and data 0, nothing pending (lock held;
 * the caller syncs irq_state). */
static void
msix_table_reset(struct rte_vfio_user_pci *pci)
{
	if (pci->table == NULL)
		return;
	for (uint32_t v = 0; v < pci->nvec; v++) {
		uint8_t *e = &pci->table[v * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE];

		memset(e, 0, 12);
		__atomic_store_n(&e[12], RTE_VFIO_USER_PCI_MSIX_ENTRY_CTRL_MASKBIT,
				 __ATOMIC_SEQ_CST);
		memset(e + 13, 0, 3);
	}
	for (uint32_t w = 0; w < MSIX_WORDS; w++)
		__atomic_store_n(&pci->pending[w], 0, __ATOMIC_SEQ_CST);
	pci->table_active = false;
}

/* Config space, table and PBA as after setup, INTx low (lock held).
 * Whether the function has INTx: the caller then drops a signalled one
 * after unlocking. */
static bool
reset_locked(struct rte_vfio_user_pci *pci)
{
	memcpy(pci->cfg, pci->init, pci->size);
	msix_table_reset(pci);
	pci->bm_armed = false;
	state_sync(pci);
	__atomic_store_n(&pci->intx_level, 0, __ATOMIC_SEQ_CST);
	return pci->intx_pin != 0;
}

static void
notify(struct rte_vfio_user_pci *pci, rte_vfio_user_pci_notify_t cb, void *arg,
       const struct rte_vfio_user_pci_event *ev, unsigned int n)
{
	if (cb == NULL)
		return;
	for (unsigned int i = 0; i < n; i++)
		cb(pci, &ev[i], arg);
}

/* ---- creation and setup ---- */

struct rte_vfio_user_pci *
rte_vfio_user_pci_create(size_t cfg_size)
{
	struct rte_vfio_user_pci *pci;

	if (cfg_size != RTE_VFIO_USER_PCI_CFG_SIZE &&
	    cfg_size != RTE_VFIO_USER_PCI_CFG_SIZE_EXT) {
		errno = EINVAL;
		return NULL;
	}
	pci = calloc(1, sizeof(*pci));
	if (pci == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	rte_spinlock_init(&pci->lock);
	pci->size = (uint32_t)cfg_size;
	pci->dev_id = -1;
	pci->cap_end = RTE_VFIO_USER_PCI_STD_HEADER_SIZE;
	pci->ext_end = RTE_VFIO_USER_PCI_EXT_CAP_START;
	/* header type 0, single function: all zero already */
	put_le(&pci->wmask[RTE_VFIO_USER_PCI_COMMAND],
	       RTE_VFIO_USER_PCI_CMD_MASTER | RTE_VFIO_USER_PCI_CMD_PARITY |
	       RTE_VFIO_USER_PCI_CMD_SERR | RTE_VFIO_USER_PCI_CMD_INTX_DISABLE, 2);
	put_le(&pci->w1c[RTE_VFIO_USER_PCI_STATUS],
	       RTE_VFIO_USER_PCI_STATUS_W1C_MASK, 2);
	pci->wmask[RTE_VFIO_USER_PCI_CACHE_LINE_SIZE] = 0xff;
	pci->wmask[RTE_VFIO_USER_PCI_INTERRUPT_LINE] = 0xff;
	return pci;
}

/* The device the function is attached to no longer points back at it
 * (only if it still does: the slot may have a new device). */
static void
detach_dev(struct rte_vfio_user_pci *pci)
{
	struct vu_dev *old = vu_dev_get(
		__atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE));
	struct rte_vfio_user_pci *mine = pci;

	if (old != NULL)
		__atomic_compare_exchange_n(&old->pci, &mine, NULL, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void
rte_vfio_user_pci_free(struct rte_vfio_user_pci *pci)
{
	if (pci == NULL)
		return;
	detach_dev(pci);	/* freed while attached: no pointer left */
	free(pci->table);
	free(pci);
}

size_t
rte_vfio_user_pci_cfg_size(const struct rte_vfio_user_pci *pci)
{
	return pci == NULL ? 0 : pci->size;
}

int
rte_vfio_user_pci_attach(struct rte_vfio_user_pci *pci, int dev_id)
{
	struct vu_dev *dev = NULL;

	if (pci == NULL || dev_id < -1 || dev_id >= RTE_VFIO_USER_MAX_DEVICES)
		return -EINVAL;
	if (dev_id >= 0 && (dev = vu_dev_get(dev_id)) == NULL)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	if (vu_dev_get(__atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE)) != dev)
		detach_dev(pci);
	__atomic_store_n(&pci->dev_id, dev_id, __ATOMIC_RELEASE);
	if (dev != NULL)
		__atomic_store_n(&dev->pci, pci, __ATOMIC_RELEASE);
	rte_spinlock_unlock(&pci->lock);
	return 0;
}

/*
 * The client left (event thread, before destroy_device): config space and
 * table stay (the spec's reconnecting client finds them), but that this
 * client had set Bus Master Enable is its own: the next one, which may
 * never touch the command register, gets a function that masters the bus.
 * So is a power state other than D0: the next client, which may know
 * nothing of power management, finds the function in D0, and reset, as
 * the change from D3hot to D0 resets it, unless No_Soft_Reset says
 * otherwise (the device model resets its own state when a client leaves).
 */
void
vu_pci_client_gone(struct vu_dev *dev)
{
	struct rte_vfio_user_pci *pci = __atomic_load_n(&dev->pci,
							__ATOMIC_ACQUIRE);
	bool intx_down = false;

	if (pci == NULL)
		return;
	rte_spinlock_lock(&pci->lock);
	pci->bm_armed = false;
	if (pm_state(pci) == RTE_VFIO_USER_PCI_PM_D3HOT && pm_d0_resets(pci))
		intx_down = reset_locked(pci);
	else if (pm_state(pci) != 0)
		pm_state_set(pci, 0);
	state_sync(pci);
	/* vectors held only for want of bus mastering were that client's:
	 * not for the next one (those still masked otherwise stay) */
	msix_collect(pci, NULL);
	rte_spinlock_unlock(&pci->lock);
	if (intx_down)
		rte_vfio_user_irq_clear(dev->id, VFIO_USER_PCI_INTX_IRQ_INDEX,
					0);
}

/*
 * Whether the function attached to dev asserts INTx and may signal it
 * (event thread: an unmask of the INTx vector re-raises the level).
 */
bool
vu_pci_intx_asserted(struct vu_dev *dev)
{
	struct rte_vfio_user_pci *pci = __atomic_load_n(&dev->pci,
							__ATOMIC_ACQUIRE);

	return pci != NULL && pci->intx_pin != 0 &&
	       __atomic_load_n(&pci->intx_level, __ATOMIC_SEQ_CST) &&
	       intx_allowed(__atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST));
}

int
rte_vfio_user_pci_set_notify(struct rte_vfio_user_pci *pci,
			     rte_vfio_user_pci_notify_t cb, void *arg)
{
	if (pci == NULL)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	pci->notify = cb;
	pci->notify_arg = arg;
	rte_spinlock_unlock(&pci->lock);
	return 0;
}

int
rte_vfio_user_pci_set_ids(struct rte_vfio_user_pci *pci,
			  const struct rte_vfio_user_pci_ids *ids)
{
	if (pci == NULL || ids == NULL || ids->class_code > 0xffffff)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	setup_put(pci, RTE_VFIO_USER_PCI_VENDOR_ID, ids->vendor_id, 2);
	setup_put(pci, RTE_VFIO_USER_PCI_DEVICE_ID, ids->device_id, 2);
	setup_put(pci, RTE_VFIO_USER_PCI_REVISION_ID, ids->revision_id, 1);
	setup_put(pci, RTE_VFIO_USER_PCI_CLASS_PROG, ids->class_code, 3);
	setup_put(pci, RTE_VFIO_USER_PCI_SUBSYSTEM_VENDOR_ID,
		  ids->subsystem_vendor_id, 2);
	setup_put(pci, RTE_VFIO_USER_PCI_SUBSYSTEM_ID, ids->subsystem_id, 2);
	rte_spinlock_unlock(&pci->lock);
	return 0;
}

int
rte_vfio_user_pci_set_irq_pin(struct rte_vfio_user_pci *pci, uint8_t pin)
{
	if (pci == NULL || pin > 4)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	setup_put(pci, RTE_VFIO_USER_PCI_INTERRUPT_PIN, pin, 1);
	pci->intx_pin = pin;
	rte_spinlock_unlock(&pci->lock);
	return 0;
}

static uint32_t
bar_reg(unsigned int bar)
{
	return bar == RTE_VFIO_USER_PCI_ROM_BAR ? RTE_VFIO_USER_PCI_ROM_ADDRESS :
		RTE_VFIO_USER_PCI_BASE_ADDRESS_0 + 4 * bar;
}

static int
bar_check(const struct rte_vfio_user_pci *pci, unsigned int bar, uint64_t size,
	  uint32_t flags)
{
	const uint32_t known = RTE_VFIO_USER_PCI_BAR_IO |
		RTE_VFIO_USER_PCI_BAR_64 | RTE_VFIO_USER_PCI_BAR_PREFETCH;

	if (bar > RTE_VFIO_USER_PCI_ROM_BAR || !is_pow2(size) || (flags & ~known))
		return -EINVAL;
	if (bar == RTE_VFIO_USER_PCI_ROM_BAR) {
		if (flags != 0 || size < 2048 || size > (1ULL << 31))
			return -EINVAL;
	} else if (flags & RTE_VFIO_USER_PCI_BAR_IO) {
		if (flags != RTE_VFIO_USER_PCI_BAR_IO || size < 4 || size > 256)
			return -EINVAL;
	} else {
		if (size < 16)
			return -EINVAL;
		if (!(flags & RTE_VFIO_USER_PCI_BAR_64) && size > (1ULL << 31))
			return -EINVAL;
		if ((flags & RTE_VFIO_USER_PCI_BAR_64) &&
		    (bar + 1 >= RTE_VFIO_USER_PCI_NUM_BARS || size > (1ULL << 63)))
			return -EINVAL;
	}
	if (pci->bars[bar].size != 0 || pci->bars[bar].upper)
		return -EEXIST;
	if ((flags & RTE_VFIO_USER_PCI_BAR_64) &&
	    (pci->bars[bar + 1].size != 0 || pci->bars[bar + 1].upper))
		return -EEXIST;
	return 0;
}

int
rte_vfio_user_pci_set_bar(struct rte_vfio_user_pci *pci, unsigned int bar,
			  uint64_t size, uint32_t flags)
{
	uint32_t reg = bar_reg(bar), low, mask;
	uint16_t cmd;
	int ret;

	if (pci == NULL)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	ret = bar_check(pci, bar, size, flags);
	if (ret < 0)
		goto out;
	if (bar == RTE_VFIO_USER_PCI_ROM_BAR) {
		low = 0;
		mask = ((uint32_t)~(size - 1) & 0xfffff800u) | 1u; /* + enable */
		cmd = RTE_VFIO_USER_PCI_CMD_MEMORY;
	} else if (flags & RTE_VFIO_USER_PCI_BAR_IO) {
		low = 0x1;
		mask = (uint32_t)~(size - 1) & ~0x3u;
		cmd = RTE_VFIO_USER_PCI_CMD_IO;
	} else {
		low = ((flags & RTE_VFIO_USER_PCI_BAR_64) ? 0x4 : 0) |
			((flags & RTE_VFIO_USER_PCI_BAR_PREFETCH) ? 0x8 : 0);
		mask = (uint32_t)~(size - 1) & ~0xfu;
		cmd = RTE_VFIO_USER_PCI_CMD_MEMORY;
	}
	setup_put(pci, reg, low, 4);
	put_le(&pci->wmask[reg], mask, 4);
	if (flags & RTE_VFIO_USER_PCI_BAR_64) {
		setup_put(pci, reg + 4, 0, 4);
		put_le(&pci->wmask[reg + 4], (uint32_t)(~(size - 1) >> 32), 4);
		pci->bars[bar + 1].upper = true;
	}
	pci->wmask[RTE_VFIO_USER_PCI_COMMAND] |= (uint8_t)cmd;
	pci->bars[bar].size = size;
	pci->bars[bar].flags = flags;
out:
	rte_spinlock_unlock(&pci->lock);
	return ret;
}

uint64_t
rte_vfio_user_pci_get_bar_size(const struct rte_vfio_user_pci *pci,
			       unsigned int bar)
{
	if (pci == NULL || bar >= NUM_SLOTS)
		return 0;
	return pci->bars[bar].size;
}

int
rte_vfio_user_pci_get_bar_addr(struct rte_vfio_user_pci *pci, unsigned int bar,
			       uint64_t *addr)
{
	const struct vu_pci_bar *b;
	uint32_t reg;
	uint64_t a;

	if (pci == NULL || addr == NULL || bar >= NUM_SLOTS ||
	    pci->bars[bar].size == 0)
		return -EINVAL;
	b = &pci->bars[bar];
	reg = bar_reg(bar);
	rte_spinlock_lock(&pci->lock);
	a = get_le(&pci->cfg[reg], 4);
	if (bar == RTE_VFIO_USER_PCI_ROM_BAR)
		a &= 0xfffff800u;
	else if (b->flags & RTE_VFIO_USER_PCI_BAR_IO)
		a &= ~0x3ull;
	else
		a &= ~0xfull;
	if (b->flags & RTE_VFIO_USER_PCI_BAR_64)
		a |= (uint64_t)get_le(&pci->cfg[reg + 4], 4) << 32;
	rte_spinlock_unlock(&pci->lock);
	*addr = a;
	return 0;
}

/* ---- capabilities ---- */

static int
masks_check(const uint8_t *wmask, const uint8_t *w1cmask, size_t len)
{
	if (wmask == NULL || w1cmask == NULL)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (wmask[i] & w1cmask[i])
			return -EINVAL;	/* a bit is either kind, not both */
	return 0;
}

static void
body_put(struct rte_vfio_user_pci *pci, uint32_t off, const void *body,
	 size_t len, const uint8_t *wmask, const uint8_t *w1cmask)
{
	if (len == 0)
		return;
	if (body != NULL) {
		memcpy(&pci->cfg[off], body, len);
		memcpy(&pci->init[off], body, len);
	}
	if (wmask != NULL)
		memcpy(&pci->wmask[off], wmask, len);
	if (w1cmask != NULL)
		memcpy(&pci->w1c[off], w1cmask, len);
}

/* Lock held. hdr: the bytes after id and next (vendor length byte), part
 * of the read-only header. */
static int
std_cap_add(struct rte_vfio_user_pci *pci, uint8_t id, const uint8_t *hdr,
	    size_t hlen, const void *body, size_t len, const uint8_t *wmask,
	    const uint8_t *w1cmask)
{
	uint32_t off = pci->cap_end;
	size_t need = 2 + hlen + len;

	if (len > STD_END || need > STD_END - off)
		return -ENOSPC;
	setup_put(pci, off, id, 1);
	setup_put(pci, off + 1, 0, 1);
	for (size_t i = 0; i < hlen; i++)
		setup_put(pci, off + 2 + i, hdr[i], 1);
	body_put(pci, off + 2 + hlen, body, len, wmask, w1cmask);
	if (pci->last_cap == 0)
		setup_put(pci, RTE_VFIO_USER_PCI_CAPABILITY_LIST, off, 1);
	else
		setup_put(pci, pci->last_cap + 1, off, 1);
	pci->last_cap = off;
	pci->cap_end = (uint16_t)RTE_ALIGN_CEIL(off + need, 4);
	setup_put(pci, RTE_VFIO_USER_PCI_STATUS,
		  cfg16(pci, RTE_VFIO_USER_PCI_STATUS) |
		  RTE_VFIO_USER_PCI_STATUS_CAP_LIST, 2);
	return (int)off;
}

/* Whether the standard capability list has one of id (lock held). */
static bool
std_cap_has(const struct rte_vfio_user_pci *pci, uint8_t id)
{
	uint32_t off = pci->cfg[RTE_VFIO_USER_PCI_CAPABILITY_LIST] & ~3u;

	for (int n = 0; off != 0 && n < 64; off = pci->cfg[off + 1] & ~3u, n++)
		if (pci->cfg[off] == id)
			return true;
	return false;
}

int
rte_vfio_user_pci_add_cap(struct rte_vfio_user_pci *pci, uint8_t id,
			  const void *body, size_t len, const uint8_t *wmask,
			  const uint8_t *w1cmask)
{
	int ret;

	if (pci == NULL || id == 0 || id == RTE_VFIO_USER_PCI_CAP_ID_MSIX ||
	    (len > 0 && body == NULL) || masks_check(wmask, w1cmask, len) < 0)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	if (id == RTE_VFIO_USER_PCI_CAP_ID_PM && std_cap_has(pci, id))
		ret = -EEXIST;	/* a function has one */
	else
		ret = std_cap_add(pci, id, NULL, 0, body, len, wmask, w1cmask);
	rte_spinlock_unlock(&pci->lock);
	return ret;
}

int
rte_vfio_user_pci_add_vendor_cap(struct rte_vfio_user_pci *pci,
				 const void *body, size_t len,
				 const uint8_t *wmask)
{
	uint8_t caplen;
	int ret;

	if (pci == NULL || len > 252 || (len > 0 && body == NULL))
		return -EINVAL;
	caplen = (uint8_t)(3 + len);
	rte_spinlock_lock(&pci->lock);
	ret = std_cap_add(pci, RTE_VFIO_USER_PCI_CAP_ID_VNDR, &caplen, 1,
			  body, len, wmask, NULL);
	rte_spinlock_unlock(&pci->lock);
	return ret;
}

int
rte_vfio_user_pci_add_pm(struct rte_vfio_user_pci *pci, unsigned int flags)
{
	/* PMC, PMCSR, bridge support extensions and data: no PME, no data
	 * register; only the power state is writable */
	uint8_t body[RTE_VFIO_USER_PCI_PM_CAP_SIZE - 2] = { 0 };
	uint8_t wmask[sizeof(body)] = { 0 };
	uint16_t pmc = 3, pmcsr = 0;	/* version 1.2 */
	int ret;

	if (pci == NULL ||
	    (flags & ~(RTE_VFIO_USER_PCI_PM_F_D1 | RTE_VFIO_USER_PCI_PM_F_D2 |
		       RTE_VFIO_USER_PCI_PM_F_NO_SOFT_RESET)))
		return -EINVAL;
	if (flags & RTE_VFIO_USER_PCI_PM_F_D1)
		pmc |= RTE_VFIO_USER_PCI_PM_PMC_D1;
	if (flags & RTE_VFIO_USER_PCI_PM_F_D2)
		pmc |= RTE_VFIO_USER_PCI_PM_PMC_D2;
	if (flags & RTE_VFIO_USER_PCI_PM_F_NO_SOFT_RESET)
		pmcsr |= RTE_VFIO_USER_PCI_PM_CTRL_NO_SOFT_RESET;
	put_le(&body[RTE_VFIO_USER_PCI_PM_PMC - 2], pmc, 2);
	put_le(&body[RTE_VFIO_USER_PCI_PM_CTRL - 2], pmcsr, 2);
	wmask[RTE_VFIO_USER_PCI_PM_CTRL - 2] =
		RTE_VFIO_USER_PCI_PM_CTRL_STATE_MASK;
	rte_spinlock_lock(&pci->lock);
	if (std_cap_has(pci, RTE_VFIO_USER_PCI_CAP_ID_PM)) {
		rte_spinlock_unlock(&pci->lock);
		return -EEXIST;
	}
	ret = std_cap_add(pci, RTE_VFIO_USER_PCI_CAP_ID_PM, NULL, 0, body,
			  sizeof(body), wmask, NULL);
	if (ret > 0)
		pci->pm_cap = (uint16_t)ret;
	rte_spinlock_unlock(&pci->lock);
	return ret;
}

int
rte_vfio_user_pci_add_ext_cap(struct rte_vfio_user_pci *pci, uint16_t id,
			      uint8_t version, const void *body, size_t len,
			      const uint8_t *wmask, const uint8_t *w1cmask)
{
	uint32_t off, prev;
	int ret;

	if (pci == NULL || pci->size != RTE_VFIO_USER_PCI_CFG_SIZE_EXT ||
	    id == 0 || version > 15 || (len > 0 && body == NULL) ||
	    masks_check(wmask, w1cmask, len) < 0)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	off = pci->ext_end;
	if (len > pci->size || 4 + len > pci->size - off) {
		ret = -ENOSPC;
		goto out;
	}
	setup_put(pci, off, (uint32_t)id | (uint32_t)version << 16, 4);
	body_put(pci, off + 4, body, len, wmask, w1cmask);
	if (pci->last_ext != 0) {
		prev = get_le(&pci->cfg[pci->last_ext], 4);
		setup_put(pci, pci->last_ext, (prev & 0x000fffffu) | off << 20, 4);
	}
	pci->last_ext = (uint16_t)off;
	pci->ext_end = (uint16_t)RTE_ALIGN_CEIL(off + 4 + len, 4);
	ret = (int)off;
out:
	rte_spinlock_unlock(&pci->lock);
	return ret;
}

/* A memory BAR with room for [off, off + len). Lock held. */
static bool
msix_place_ok(const struct rte_vfio_user_pci *pci, uint8_t bar, uint32_t off,
	      uint32_t len)
{
	const struct vu_pci_bar *b;

	if (bar >= RTE_VFIO_USER_PCI_NUM_BARS || (off & 7) != 0)
		return false;
	b = &pci->bars[bar];
	return b->size != 0 && !(b->flags & RTE_VFIO_USER_PCI_BAR_IO) &&
		off < b->size && len <= b->size - off;
}

int
rte_vfio_user_pci_add_msix(struct rte_vfio_user_pci *pci, uint16_t nvec,
			   uint8_t table_bar, uint32_t table_offset,
			   uint8_t pba_bar, uint32_t pba_offset)
{
	uint32_t tlen = (uint32_t)nvec * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE;
	uint8_t body[RTE_VFIO_USER_PCI_MSIX_CAP_SIZE - 2] = { 0 };
	uint8_t wmask[RTE_VFIO_USER_PCI_MSIX_CAP_SIZE - 2] = { 0 };
	uint8_t *table;
	int ret;

	if (pci == NULL || nvec == 0 || nvec > RTE_VFIO_USER_PCI_MSIX_MAX_VECTORS)
		return -EINVAL;
	table = malloc(tlen);
	if (table == NULL)
		return -ENOMEM;
	put_le(&body[0], nvec - 1u, 2);
	put_le(&body[2], table_offset | table_bar, 4);
	put_le(&body[6], pba_offset | pba_bar, 4);
	/* enable and function mask: bits 15 and 14 of message control */
	wmask[1] = (RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE |
		    RTE_VFIO_USER_PCI_MSIX_FLAGS_MASKALL) >> 8;

	rte_spinlock_lock(&pci->lock);
	if (pci->msix_cap != 0) {
		ret = -EEXIST;
		goto fail;
	}
	if (!msix_place_ok(pci, table_bar, table_offset, tlen) ||
	    !msix_place_ok(pci, pba_bar, pba_offset, pba_size(nvec)) ||
	    (table_bar == pba_bar && overlaps(table_offset, tlen, pba_offset,
					       pba_size(nvec)))) {
		ret = -EINVAL;
		goto fail;
	}
	ret = std_cap_add(pci, RTE_VFIO_USER_PCI_CAP_ID_MSIX, NULL, 0, body,
			  sizeof(body), wmask, NULL);
	if (ret < 0)
		goto fail;
	pci->msix_cap = (uint16_t)ret;
	pci->nvec = nvec;
	pci->table_bar = table_bar;
	pci->table_off = table_offset;
	pci->pba_bar = pba_bar;
	pci->pba_off = pba_offset;
	pci->table = table;
	msix_table_reset(pci);
	state_sync(pci);
	rte_spinlock_unlock(&pci->lock);
	return ret;
fail:
	rte_spinlock_unlock(&pci->lock);
	free(table);
	return ret;
}

/* ---- config space access ---- */

ssize_t
rte_vfio_user_pci_cfg_read(struct rte_vfio_user_pci *pci, uint64_t offset,
			   void *buf, size_t count)
{
	if (pci == NULL || (buf == NULL && count > 0) ||
	    !range_ok(pci, offset, count)) {
		VU_LOG(DEBUG, "config read [0x%" PRIx64 ", +%zu) refused",
		       offset, count);
		return -EINVAL;
	}
	rte_spinlock_lock(&pci->lock);
	if (count > 0)
		memcpy(buf, &pci->cfg[offset], count);
	rte_spinlock_unlock(&pci->lock);
	/* the interrupt status bit is the INTx level, kept apart (set and
	 * cleared lock-free by rte_vfio_user_pci_set_intx()) */
	if (offset <= RTE_VFIO_USER_PCI_STATUS &&
	    offset + count > RTE_VFIO_USER_PCI_STATUS &&
	    __atomic_load_n(&pci->intx_level, __ATOMIC_ACQUIRE))
		((uint8_t *)buf)[RTE_VFIO_USER_PCI_STATUS - offset] |=
			RTE_VFIO_USER_PCI_STATUS_INTERRUPT;
	return (ssize_t)count;
}

ssize_t
rte_vfio_user_pci_cfg_write(struct rte_vfio_user_pci *pci, uint64_t offset,
			    const void *buf, size_t count)
{
	struct rte_vfio_user_pci_event ev[MAX_EVENTS];
	uint64_t deliver[MSIX_WORDS];
	const uint8_t *src = buf;
	rte_vfio_user_pci_notify_t cb;
	uint16_t old_cmd, new_cmd, old_ctl = 0, new_ctl = 0;
	bool intx_up = false, intx_down = false, any_deliver = false;
	bool pm_reset = false;
	uint32_t nvec, old_st, new_st, old_ps, new_ps;
	unsigned int nev = 0;
	void *cb_arg;
	int dev_id;

	if (pci == NULL || (buf == NULL && count > 0) ||
	    !range_ok(pci, offset, count)) {
		VU_LOG(DEBUG, "config write [0x%" PRIx64 ", +%zu) refused",
		       offset, count);
		return -EINVAL;
	}
	if (count == 0)
		return 0;

	rte_spinlock_lock(&pci->lock);
	old_cmd = cfg16(pci, RTE_VFIO_USER_PCI_COMMAND);
	if (pci->msix_cap != 0)
		old_ctl = cfg16(pci, pci->msix_cap + RTE_VFIO_USER_PCI_MSIX_FLAGS);
	old_st = __atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST);
	old_ps = pm_state(pci);
	for (size_t i = 0; i < count; i++) {
		uint64_t o = offset + i;
		uint8_t v = src[i];

		pci->cfg[o] = (pci->cfg[o] & ~pci->wmask[o]) | (v & pci->wmask[o]);
		pci->cfg[o] &= ~(v & pci->w1c[o]);
	}
	new_ps = pm_state(pci);
	if (new_ps != old_ps && !pm_change_ok(pci, old_ps, new_ps)) {
		/* the write completes, the state does not change (PM 5.4.1) */
		pm_state_set(pci, old_ps);
		new_ps = old_ps;
	}
	if (old_ps == RTE_VFIO_USER_PCI_PM_D3HOT && new_ps == 0 &&
	    pm_d0_resets(pci)) {
		/* the rest of the write is undone with the reset */
		intx_down = reset_locked(pci);
		pm_reset = true;
		goto events;
	}
	/* the new state first, then what it releases (see the top) */
	state_sync(pci);
	new_st = __atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST);
	new_cmd = cfg16(pci, RTE_VFIO_USER_PCI_COMMAND);
	if (old_cmd != new_cmd)
		ev[nev++] = (struct rte_vfio_user_pci_event){
			.type = RTE_VFIO_USER_PCI_EV_COMMAND,
			.old_val = old_cmd, .new_val = new_cmd };
	for (unsigned int b = 0; b < NUM_SLOTS; b++) {
		const struct vu_pci_bar *bar = &pci->bars[b];
		uint32_t len = (bar->flags & RTE_VFIO_USER_PCI_BAR_64) ? 8 : 4;

		if (bar->size != 0 && overlaps(offset, count, bar_reg(b), len))
			ev[nev++] = (struct rte_vfio_user_pci_event){
				.type = RTE_VFIO_USER_PCI_EV_BAR, .index = b };
	}
	if (pci->msix_cap != 0) {
		new_ctl = cfg16(pci, pci->msix_cap + RTE_VFIO_USER_PCI_MSIX_FLAGS);
		if (old_ctl != new_ctl)
			ev[nev++] = (struct rte_vfio_user_pci_event){
				.type = RTE_VFIO_USER_PCI_EV_MSIX_CTRL,
				.old_val = old_ctl, .new_val = new_ctl };
	}
	/* MSI-X enabled, function unmasked, bus mastering or D0 back:
	 * pending vectors go out; disabled or masked: the library's latched
	 * ones come back */
	if (old_ctl != new_ctl ||
	    ((old_st ^ new_st) & (IS_BM_OFF | IS_LOW_POWER))) {
		msix_reclaim(pci);
		any_deliver = msix_collect(pci, deliver);
	}
	/* INTx disable, or MSI-X enable, changed while the line is asserted:
	 * INTx is signalled again, or dropped */
	if (intx_allowed(old_st) != intx_allowed(new_st) &&
	    __atomic_load_n(&pci->intx_level, __ATOMIC_SEQ_CST)) {
		intx_up = intx_allowed(new_st);
		intx_down = !intx_up;
	}
events:
	if (new_ps != old_ps)
		ev[nev++] = (struct rte_vfio_user_pci_event){
			.type = RTE_VFIO_USER_PCI_EV_POWER,
			.old_val = old_ps,
			.new_val = new_ps,
			.reset = pm_reset
		};
	ev[nev++] = (struct rte_vfio_user_pci_event){
		.type = RTE_VFIO_USER_PCI_EV_CFG_WRITE,
		.offset = (uint32_t)offset,
		.len = (uint32_t)count
	};
	dev_id = __atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE);
	nvec = pci->nvec;
	cb = pci->notify;
	cb_arg = pci->notify_arg;
	rte_spinlock_unlock(&pci->lock);

	if (any_deliver)
		msix_deliver(dev_id, deliver, nvec);
	if (dev_id >= 0 && intx_up)
		rte_vfio_user_irq_trigger(dev_id, VFIO_USER_PCI_INTX_IRQ_INDEX, 0);
	if (dev_id >= 0 && intx_down)
		rte_vfio_user_irq_clear(dev_id, VFIO_USER_PCI_INTX_IRQ_INDEX, 0);
	notify(pci, cb, cb_arg, ev, nev);
	return (ssize_t)count;
}

ssize_t
rte_vfio_user_pci_cfg_region_access(int dev_id, void *priv, char *buf,
				    size_t count, uint64_t offset, bool is_write)
{
	RTE_SET_USED(dev_id);
	if (is_write)
		return rte_vfio_user_pci_cfg_write(priv, offset, buf, count);
	return rte_vfio_user_pci_cfg_read(priv, offset, buf, count);
}

int
rte_vfio_user_pci_fill_cfg_region(struct rte_vfio_user_pci *pci,
				  struct rte_vfio_user_region *reg)
{
	if (pci == NULL || reg == NULL)
		return -EINVAL;
	memset(reg, 0, sizeof(*reg));
	reg->size = pci->size;
	reg->flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE;
	reg->access = rte_vfio_user_pci_cfg_region_access;
	reg->priv = pci;
	reg->mmap_fd = -1;
	return 0;
}

int
rte_vfio_user_pci_raw_read(struct rte_vfio_user_pci *pci, uint32_t offset,
			   void *buf, size_t len)
{
	ssize_t ret = rte_vfio_user_pci_cfg_read(pci, offset, buf, len);

	return ret < 0 ? (int)ret : 0;
}

int
rte_vfio_user_pci_raw_write(struct rte_vfio_user_pci *pci, uint32_t offset,
			    const void *buf, size_t len)
{
	if (pci == NULL || (buf == NULL && len > 0) ||
	    !range_ok(pci, offset, len))
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	if (len > 0)
		memcpy(&pci->cfg[offset], buf, len);
	state_sync(pci);	/* the command or MSI-X control may have changed */
	rte_spinlock_unlock(&pci->lock);
	return 0;
}

int
rte_vfio_user_pci_reset(struct rte_vfio_user_pci *pci)
{
	int dev_id;
	bool pin;

	if (pci == NULL)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	pin = reset_locked(pci);
	dev_id = __atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE);
	rte_spinlock_unlock(&pci->lock);
	if (dev_id >= 0 && pin)
		rte_vfio_user_irq_clear(dev_id, VFIO_USER_PCI_INTX_IRQ_INDEX, 0);
	return 0;
}

uint16_t
rte_vfio_user_pci_get_command(struct rte_vfio_user_pci *pci)
{
	uint16_t cmd;

	if (pci == NULL)
		return 0;
	rte_spinlock_lock(&pci->lock);
	cmd = cfg16(pci, RTE_VFIO_USER_PCI_COMMAND);
	rte_spinlock_unlock(&pci->lock);
	return cmd;
}

int
rte_vfio_user_pci_bus_master(struct rte_vfio_user_pci *pci)
{
	if (pci == NULL)
		return -EINVAL;
	return !(__atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST) &
		 (IS_BM_OFF | IS_LOW_POWER));
}

int
rte_vfio_user_pci_pm_state(struct rte_vfio_user_pci *pci)
{
	unsigned int ps;

	if (pci == NULL)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	ps = pm_state(pci);
	rte_spinlock_unlock(&pci->lock);
	return (int)ps;
}

int
rte_vfio_user_pci_set_status_bits(struct rte_vfio_user_pci *pci, uint16_t bits)
{
	if (pci == NULL || (bits & ~RTE_VFIO_USER_PCI_STATUS_W1C_MASK))
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	put_le(&pci->cfg[RTE_VFIO_USER_PCI_STATUS],
	       cfg16(pci, RTE_VFIO_USER_PCI_STATUS) | bits, 2);
	rte_spinlock_unlock(&pci->lock);
	return 0;
}

int
rte_vfio_user_pci_set_intx(struct rte_vfio_user_pci *pci, bool asserted)
{
	int dev_id;

	if (pci == NULL || pci->intx_pin == 0)
		return -EINVAL;
	/* the level first, then the state that may forbid signalling it (a
	 * config write does the reverse, see rte_vfio_user_pci_cfg_write) */
	__atomic_store_n(&pci->intx_level, asserted, __ATOMIC_SEQ_CST);
	dev_id = __atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE);
	if (dev_id < 0)
		return 0;
	if (!asserted) {
		rte_vfio_user_irq_clear(dev_id, VFIO_USER_PCI_INTX_IRQ_INDEX, 0);
		return 0;
	}
	if (!intx_allowed(__atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST)))
		return 0;
	return rte_vfio_user_irq_trigger(dev_id, VFIO_USER_PCI_INTX_IRQ_INDEX, 0);
}

/* ---- MSI-X ---- */

int
rte_vfio_user_pci_msix_enabled(struct rte_vfio_user_pci *pci)
{
	if (pci == NULL)
		return -EINVAL;
	return msix_is_enabled(pci);
}

int
rte_vfio_user_pci_msix_masked(struct rte_vfio_user_pci *pci, uint32_t vector)
{
	if (pci == NULL || pci->msix_cap == 0 || vector >= pci->nvec)
		return -EINVAL;
	return vec_masked(pci, vector);
}

int
rte_vfio_user_pci_msix_pending(struct rte_vfio_user_pci *pci, uint32_t vector)
{
	if (pci == NULL || pci->msix_cap == 0 || vector >= pci->nvec)
		return -EINVAL;
	if (pend_get(pci->pending, vector))
		return 1;
	return lib_pending(__atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE),
			   vector);
}

int
rte_vfio_user_pci_msix_clear(struct rte_vfio_user_pci *pci, uint32_t vector)
{
	int dev_id;

	if (pci == NULL || pci->msix_cap == 0 || vector >= pci->nvec)
		return -EINVAL;
	(void)pba_take(pci, vector);
	dev_id = __atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE);
	if (dev_id >= 0)
		rte_vfio_user_irq_clear(dev_id, VFIO_USER_PCI_MSIX_IRQ_INDEX,
					vector);
	return 0;
}

int
rte_vfio_user_pci_msix_get_entry(struct rte_vfio_user_pci *pci,
				 uint32_t vector,
				 struct rte_vfio_user_pci_msix_entry *entry)
{
	const uint8_t *e;

	if (pci == NULL || entry == NULL)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	if (pci->msix_cap == 0 || vector >= pci->nvec) {
		rte_spinlock_unlock(&pci->lock);
		return -EINVAL;
	}
	e = &pci->table[vector * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE];
	entry->addr = get_le(e, 4) | (uint64_t)get_le(e + 4, 4) << 32;
	entry->data = get_le(e + 8, 4);
	entry->ctrl = get_le(e + 12, 4);
	rte_spinlock_unlock(&pci->lock);
	return 0;
}

int
rte_vfio_user_pci_msix_trigger(struct rte_vfio_user_pci *pci, uint32_t vector)
{
	uint64_t bit;
	uint32_t st;
	int dev_id;

	/* msix_cap, nvec and table are set up before the device starts */
	if (pci == NULL || pci->msix_cap == 0 || vector >= pci->nvec)
		return -EINVAL;
	st = __atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST);
	if (!(st & IS_MSIX_EN))
		return -ENOTSUP;
	dev_id = __atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE);
	if (!vec_masked_in(pci, st, vector))
		return dev_id < 0 ? -ENODEV :
			rte_vfio_user_irq_trigger(dev_id,
				VFIO_USER_PCI_MSIX_IRQ_INDEX, vector);
	/* masked: latch it in the PBA, then look again, as the client may
	 * have unmasked it meanwhile without seeing the bit */
	bit = 1ULL << (vector % 64);
	__atomic_fetch_or(&pci->pending[vector / 64], bit, __ATOMIC_SEQ_CST);
	st = __atomic_load_n(&pci->irq_state, __ATOMIC_SEQ_CST);
	if (!(st & IS_MSIX_EN) || vec_masked_in(pci, st, vector) ||
	    dev_id < 0 || !pba_take(pci, vector))
		return 0;	/* stays latched, or the unmasker took it */
	return rte_vfio_user_irq_trigger(dev_id, VFIO_USER_PCI_MSIX_IRQ_INDEX,
					 vector);
}

/* Write bytes of the table (lock held), through its per-field masks. */
static void
table_write(struct rte_vfio_user_pci *pci, uint64_t off, const uint8_t *src,
	    size_t count)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t o = off + i;
		uint32_t field = o % RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE;
		uint8_t wm = 0xff;

		if (field == 0)
			wm = 0xfc;	/* address bits 1:0 are zero */
		else if (field == 12)
			wm = RTE_VFIO_USER_PCI_MSIX_ENTRY_CTRL_MASKBIT;
		else if (field > 12)
			wm = 0;		/* vector control 31:8 reserved */
		if (field >= 12)
			pci->table_active = true;
		if (field == 12)	/* read lock-free by triggers */
			__atomic_store_n(&pci->table[o],
				(uint8_t)((pci->table[o] & ~wm) | (src[i] & wm)),
				__ATOMIC_SEQ_CST);
		else
			pci->table[o] = (pci->table[o] & ~wm) | (src[i] & wm);
	}
}

/* Read the PBA: our latches, and the library's when attached. */
static void
pba_read(struct rte_vfio_user_pci *pci, uint64_t off, char *buf, size_t count)
{
	uint8_t pba[MSIX_WORDS * 8];
	uint32_t nvec = pci->nvec;
	int dev_id = __atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE);

	memset(pba, 0, sizeof(pba));
	for (uint32_t v = 0; v < nvec; v++)
		if (pend_get(pci->pending, v))
			pba[v / 8] |= 1u << (v % 8);
	rte_spinlock_unlock(&pci->lock);
	for (uint32_t v = 0; v < nvec; v++)
		if (lib_pending(dev_id, v))
			pba[v / 8] |= 1u << (v % 8);
	memcpy(buf, &pba[off], count);
}

ssize_t
rte_vfio_user_pci_msix_access(struct rte_vfio_user_pci *pci, unsigned int bar,
			      char *buf, size_t count, uint64_t offset,
			      bool is_write)
{
	uint64_t old_mask[MSIX_WORDS], new_mask[MSIX_WORDS], deliver[MSIX_WORDS];
	uint64_t tstart, tlen, pstart, plen;
	rte_vfio_user_pci_notify_t cb;
	bool in_table, in_pba, any_deliver;
	uint32_t first, last, nvec;
	void *cb_arg;
	int dev_id;

	if (pci == NULL || (buf == NULL && count > 0) ||
	    count > UINT64_MAX - offset)
		return -EINVAL;
	if (count == 0)
		return 0;
	rte_spinlock_lock(&pci->lock);
	if (pci->msix_cap == 0) {
		rte_spinlock_unlock(&pci->lock);
		return 0;
	}
	tstart = pci->table_off;
	tlen = (uint64_t)pci->nvec * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE;
	pstart = pci->pba_off;
	plen = pba_size(pci->nvec);
	in_table = bar == pci->table_bar && overlaps(offset, count, tstart, tlen);
	in_pba = bar == pci->pba_bar && overlaps(offset, count, pstart, plen);
	if (!in_table && !in_pba) {
		rte_spinlock_unlock(&pci->lock);
		return 0;
	}
	if ((in_table && (offset < tstart || count > tlen - (offset - tstart))) ||
	    (in_pba && (offset < pstart || count > plen - (offset - pstart)))) {
		rte_spinlock_unlock(&pci->lock);
		VU_LOG(DEBUG,
		       "BAR%u access [0x%" PRIx64 ", +%zu) straddles "
		       "the MSI-X table or PBA",
		       bar, offset, count);
		return -EINVAL;
	}
	if (in_pba) {
		if (is_write)	/* read-only: ignored */
			rte_spinlock_unlock(&pci->lock);
		else
			pba_read(pci, offset - pstart, buf, count); /* unlocks */
		return (ssize_t)count;
	}
	offset -= tstart;
	if (!is_write) {
		memcpy(buf, &pci->table[offset], count);
		rte_spinlock_unlock(&pci->lock);
		return (ssize_t)count;
	}
	first = (uint32_t)(offset / RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE);
	last = (uint32_t)((offset + count - 1) / RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE);
	memset(old_mask, 0, sizeof(old_mask));
	memset(new_mask, 0, sizeof(new_mask));
	for (uint32_t v = first; v <= last; v++)
		pend_set(old_mask, v, vec_mask_bit(pci, v));
	table_write(pci, offset, (const uint8_t *)buf, count);
	state_sync(pci);	/* the table is driven now */
	for (uint32_t v = first; v <= last; v++)
		pend_set(new_mask, v, vec_mask_bit(pci, v));
	msix_reclaim(pci);
	any_deliver = msix_collect(pci, deliver);
	dev_id = __atomic_load_n(&pci->dev_id, __ATOMIC_ACQUIRE);
	nvec = pci->nvec;
	cb = pci->notify;
	cb_arg = pci->notify_arg;
	rte_spinlock_unlock(&pci->lock);

	if (any_deliver)
		msix_deliver(dev_id, deliver, nvec);
	for (uint32_t v = first; v <= last && cb != NULL; v++) {
		struct rte_vfio_user_pci_event ev = {
			.type = RTE_VFIO_USER_PCI_EV_MSIX_VECTOR,
			.index = v,
			.old_val = pend_get(old_mask, v),
			.new_val = pend_get(new_mask, v),
		};

		if (ev.old_val != ev.new_val)
			cb(pci, &ev, cb_arg);
	}
	return (ssize_t)count;
}

/* ---- state save / restore (migration) ---- */

#define PCI_STATE_MAGIC		0x53505556u	/* "VUPS" */
#define PCI_STATE_VERSION	1
#define PCI_STATE_F_TABLE_ACTIVE 1u
#define PCI_STATE_F_BM_OFF	2u	/* bus mastering taken away */

/* Header of a saved state; config space, MSI-X table, PBA latches follow. */
struct pci_state_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;		/* PCI_STATE_F_* */
	uint32_t cfg_size;
	uint16_t nvec;		/* MSI-X table entries */
	uint16_t msix_cap;
	uint32_t len;		/* all of it, this header included */
	uint32_t reserved;
};

static size_t
state_size(const struct rte_vfio_user_pci *pci)
{
	return sizeof(struct pci_state_hdr) + pci->size +
	       (size_t)pci->nvec * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE +
	       pba_size(pci->nvec);
}

size_t
rte_vfio_user_pci_state_size(const struct rte_vfio_user_pci *pci)
{
	return pci == NULL ? 0 : state_size(pci);
}

ssize_t
rte_vfio_user_pci_save(struct rte_vfio_user_pci *pci, void *buf, size_t len)
{
	struct pci_state_hdr h;
	uint8_t *p = buf;
	size_t tsz;

	if (pci == NULL || buf == NULL)
		return -EINVAL;
	if (len < state_size(pci))
		return -ENOSPC;
	tsz = (size_t)pci->nvec * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE;
	rte_spinlock_lock(&pci->lock);
	h = (struct pci_state_hdr){
		.magic = PCI_STATE_MAGIC,
		.version = PCI_STATE_VERSION,
		.flags = (pci->table_active ? PCI_STATE_F_TABLE_ACTIVE : 0) |
			 ((pci->irq_state & IS_BM_OFF) ? PCI_STATE_F_BM_OFF :
							 0),
		.cfg_size = pci->size,
		.nvec = pci->nvec,
		.msix_cap = pci->msix_cap,
		.len = (uint32_t)state_size(pci),
	};
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, pci->cfg, pci->size);
	p += pci->size;
	if (tsz > 0)
		memcpy(p, pci->table, tsz);
	p += tsz;
	/* the PBA as the client reads it: our latches and the library's */
	memset(p, 0, pba_size(pci->nvec));
	for (uint32_t v = 0; v < pci->nvec; v++)
		if (pend_get(pci->pending, v) || lib_pending(pci->dev_id, v))
			p[v / 8] |= (uint8_t)(1u << (v % 8));
	rte_spinlock_unlock(&pci->lock);
	return (ssize_t)state_size(pci);
}

/* Whether a saved config space has our layout: identity, capability
 * chains, MSI-X placement. Lock held. */
static bool
state_layout_ok(const struct rte_vfio_user_pci *pci, const uint8_t *cfg)
{
	static const uint8_t ident[] = {
		0x00,
		0x01,
		0x02,
		0x03, /* vendor, device */
		0x08,
		0x09,
		0x0a,
		0x0b, /* revision, class */
		0x0e, /* header type */
		0x2c,
		0x2d,
		0x2e,
		0x2f, /* subsystem */
		RTE_VFIO_USER_PCI_CAPABILITY_LIST,
	};
	unsigned int off, n;

	for (size_t i = 0; i < sizeof(ident); i++)
		if (cfg[ident[i]] != pci->cfg[ident[i]])
			return false;
	for (off = pci->cfg[RTE_VFIO_USER_PCI_CAPABILITY_LIST] & ~3u, n = 0;
	     off != 0 && off + 2 <= STD_END && n < 64;
	     off = pci->cfg[off + 1] & ~3u, n++)
		if (cfg[off] != pci->cfg[off] ||
		    cfg[off + 1] != pci->cfg[off + 1])
			return false;
	if (pci->size > STD_END && pci->last_ext != 0) {
		for (off = RTE_VFIO_USER_PCI_EXT_CAP_START, n = 0;
		     off != 0 && off + 4 <= pci->size && n < 512;
		     off = (get_le(&pci->cfg[off], 4) >> 20) & ~3u, n++)
			if (memcmp(&cfg[off], &pci->cfg[off], 4) != 0)
				return false;
	}
	if (pci->msix_cap != 0 &&
	    (memcmp(&cfg[pci->msix_cap + RTE_VFIO_USER_PCI_MSIX_TABLE],
		    &pci->cfg[pci->msix_cap + RTE_VFIO_USER_PCI_MSIX_TABLE],
		    8) ||
	     ((get_le(&cfg[pci->msix_cap + RTE_VFIO_USER_PCI_MSIX_FLAGS], 2) ^
	       cfg16(pci, pci->msix_cap + RTE_VFIO_USER_PCI_MSIX_FLAGS)) &
	      RTE_VFIO_USER_PCI_MSIX_FLAGS_QSIZE)))
		return false;
	return true;
}

/* Whether a saved config space has our PM capability registers and a
 * power state we support. Lock held. */
static bool
state_pm_ok(const struct rte_vfio_user_pci *pci, const uint8_t *cfg)
{
	const uint32_t ctl = pci->pm_cap + RTE_VFIO_USER_PCI_PM_CTRL;
	unsigned int ps;

	if (pci->pm_cap == 0)
		return true;
	ps = get_le(&cfg[ctl], 2) & RTE_VFIO_USER_PCI_PM_CTRL_STATE_MASK;
	return get_le(&cfg[pci->pm_cap + RTE_VFIO_USER_PCI_PM_PMC], 2) ==
		       cfg16(pci, pci->pm_cap + RTE_VFIO_USER_PCI_PM_PMC) &&
	       ((get_le(&cfg[ctl], 2) ^ cfg16(pci, ctl)) &
		~RTE_VFIO_USER_PCI_PM_CTRL_STATE_MASK) == 0 &&
	       pm_change_ok(pci, 0, ps);
}

static int
state_check(const struct rte_vfio_user_pci *pci, const void *buf, size_t len,
	    const char **why)
{
	struct pci_state_hdr h;

	if (len < sizeof(h)) {
		*why = "shorter than its header";
		return -EINVAL;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.magic != PCI_STATE_MAGIC) {
		*why = "not a PCI function state";
		return -EINVAL;
	}
	if (h.version != PCI_STATE_VERSION) {
		*why = "unsupported version";
		return -EPROTONOSUPPORT;
	}
	if (h.flags & ~(PCI_STATE_F_TABLE_ACTIVE | PCI_STATE_F_BM_OFF)) {
		*why = "flags this build does not know (a newer build's)";
		return -EINVAL;
	}
	if (h.len != len || len != state_size(pci) || h.cfg_size != pci->size ||
	    h.nvec != pci->nvec || h.msix_cap != pci->msix_cap ||
	    h.reserved != 0) {
		*why = "another function's layout (size, MSI-X)";
		return -EINVAL;
	}
	if (!state_layout_ok(pci, (const uint8_t *)buf + sizeof(h))) {
		*why = "another function (identity or capabilities differ)";
		return -EINVAL;
	}
	if (!state_pm_ok(pci, (const uint8_t *)buf + sizeof(h))) {
		*why = "a power state or capability this function does not have";
		return -EINVAL;
	}
	return 0;
}

int
rte_vfio_user_pci_check_state(struct rte_vfio_user_pci *pci, const void *buf,
			      size_t len)
{
	const char *why = NULL;
	int ret;

	if (pci == NULL || buf == NULL)
		return -EINVAL;
	rte_spinlock_lock(&pci->lock);
	ret = state_check(pci, buf, len, &why);
	rte_spinlock_unlock(&pci->lock);
	if (ret < 0)
		VU_LOG(ERR, "PCI function state refused: %s", why);
	return ret;
}

int
rte_vfio_user_pci_restore(struct rte_vfio_user_pci *pci, const void *buf,
			  size_t len)
{
	const uint8_t *p;
	struct pci_state_hdr h;
	const char *why = NULL;
	size_t tsz;
	int ret;

	if (pci == NULL || buf == NULL)
		return -EINVAL;
	p = (const uint8_t *)buf + sizeof(struct pci_state_hdr);
	rte_spinlock_lock(&pci->lock);
	ret = state_check(pci, buf, len, &why);
	if (ret < 0) {
		rte_spinlock_unlock(&pci->lock);
		VU_LOG(ERR, "PCI function state refused: %s", why);
		return ret;
	}
	memcpy(&h, buf, sizeof(h));
	tsz = (size_t)pci->nvec * RTE_VFIO_USER_PCI_MSIX_ENTRY_SIZE;
	memcpy(pci->cfg, p, pci->size);
	p += pci->size;
	if (tsz > 0)
		memcpy(pci->table, p, tsz);
	p += tsz;
	pci->table_active = h.flags & PCI_STATE_F_TABLE_ACTIVE;
	pci->bm_armed = h.flags & PCI_STATE_F_BM_OFF;	/* or BME set */
	state_sync(pci);	/* the triggers' mirror of enable and masks */
	/* latched again where still masked; the device model raises what it
	 * must once it runs (an unmasked vector is not left pending) */
	memset(pci->pending, 0, sizeof(pci->pending));
	for (uint32_t v = 0; v < pci->nvec; v++)
		if ((p[v / 8] >> (v % 8)) & 1 && vec_masked(pci, v))
			pend_set(pci->pending, v, true);
	rte_spinlock_unlock(&pci->lock);
	return 0;
}
