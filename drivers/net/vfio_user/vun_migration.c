/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Migration of the emulated virtio-net device: its migration callbacks
 * (rte_vfio_user_mig_ops) and its device state, in a versioned, checked
 * format.
 *
 * The device offers STOP_COPY and PRE_COPY. Its migration stream is a
 * sequence of records, each a complete snapshot of the device:
 *
 *   record  = header, then sections
 *   header  = magic "VUNM", format version, header length, record length,
 *             flags (PRECOPY or FINAL), CRC32C of the record (computed
 *             with this field 0), section count
 *   section = type, section version, payload length, payload:
 *     DEVICE  identity of the device (offered features, queue pairs, MTU,
 *             MAC, MSI-X vectors: must match the destination's) and the
 *             driver-visible state (negotiated features, status, feature
 *             selects, config vector, queue select, config generation, ISR)
 *     PCI     the library's PCI function state (rte_vfio_user_pci_save():
 *             config space, MSI-X table and mask mode, pending bits)
 *     QUEUE   one per virtqueue: index, ring format (0 split, 1 packed,
 *             as negotiated), enable, size, vector, ring addresses, last
 *             avail / used indices (packed: positions in the descriptor
 *             ring) and, packed, the two wrap counters
 *     CTRL    control-queue settings: promiscuous, all-multicast, the
 *             MAC the driver set, active queue pairs
 *
 * Entering PRE_COPY emits a PRECOPY record (the device is running: its
 * indices move on), entering STOP_COPY a FINAL one after it. The
 * destination checks every record as soon as it is complete (so an
 * incompatible destination is found during pre-copy, before the source
 * stops) and applies the last FINAL record when RESUMING ends; anything
 * malformed, of another version, for another device, truncated or missing
 * is refused with a message saying what, and nothing is changed.
 *
 * In STOP, STOP_COPY and RESUMING the data path is stopped (queues
 * withdrawn, a QSBR grace period waited for) and control-queue kicks are
 * ignored; when the device runs again it republishes its queues, serves
 * the control queue once (a command may have come meanwhile) and raises
 * every enabled queue's interrupt once (one may have been lost).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include <rte_common.h>
#include <rte_hash_crc.h>

#include "vfio_user_proto.h"
#include "vu_pmd_csum.h"
#include "vun.h"
#include "vun_layout.h"
#include "vun_offload.h"

#define MIG_MAGIC	0x4d4e5556u	/* "VUNM" */
#define MIG_VERSION	1
#define MIG_F_PRECOPY	(1u << 0)
#define MIG_F_FINAL	(1u << 1)
#define MIG_MAX_STREAM	(1u << 20)	/* what a destination takes in */

enum sec_type {
	SEC_DEVICE = 1,
	SEC_PCI = 2,
	SEC_QUEUE = 3,
	SEC_CTRL = 4,
};
#define SEC_VERSION 1

#define RING_SPLIT	0
#define RING_PACKED	1	/* VIRTIO_F_RING_PACKED negotiated */

struct mig_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_len;
	uint32_t len;		/* the whole record */
	uint32_t flags;		/* MIG_F_* */
	uint32_t crc;		/* CRC32C of the record, this field 0 */
	uint32_t nsections;
} __rte_packed;

struct mig_sec {
	uint16_t type;		/* enum sec_type */
	uint16_t version;
	uint32_t len;		/* payload bytes after this header */
} __rte_packed;

struct mig_device {
	/* identity: must be the destination's */
	uint64_t host_features;
	uint16_t max_pairs;
	uint16_t mtu;
	uint16_t msix_vectors;
	uint16_t reserved0;
	uint8_t mac[RTE_ETHER_ADDR_LEN];
	uint16_t reserved1;
	/* the driver's view */
	uint64_t guest_features;
	uint32_t dfselect;
	uint32_t gfselect;
	uint16_t msix_config;
	uint16_t queue_select;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	uint8_t reserved2;
} __rte_packed;

struct mig_queue {
	uint16_t index;		/* virtqueue slot, d->vq[] */
	uint8_t ring_format;	/* RING_SPLIT */
	uint8_t enabled;
	uint16_t size;
	uint16_t vector;
	uint64_t desc;		/* packed: descriptor ring */
	uint64_t avail;		/* packed: driver event suppression */
	uint64_t used;		/* packed: device event suppression */
	uint16_t last_avail;
	uint16_t last_used;
	uint8_t avail_wrap;	/* packed only; 0 for split */
	uint8_t used_wrap;	/* packed only; 0 for split */
	uint16_t reserved;
} __rte_packed;

struct mig_ctrl {
	uint8_t promisc;
	uint8_t allmulti;
	uint8_t mac[RTE_ETHER_ADDR_LEN];
	uint16_t active_pairs;
	uint16_t offloads_off;	/* negotiated guest offloads (bits < 16)
				 * the driver turned off (0: none) */
} __rte_packed;

/* Migration state of a device. */
struct vun_mig {
	enum rte_vfio_user_mig_state state;
	/* save: records not read yet are out[out_off, out_len) */
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	/* load: what came in, checked up to in_done; the last FINAL record */
	uint8_t *in;
	size_t in_len, in_done;
	size_t final_off;
	bool have_final;
	bool in_bad;
};

/* A parsed, checked record: pointers into it. */
struct parsed {
	const struct mig_device *dev;
	const uint8_t *pci;
	size_t pci_len;
	const struct mig_queue *q[VUN_MAX_VQS];
	const struct mig_ctrl *ctrl;
};

static struct vun_dev *
dev_of(int dev_id)
{
	return rte_vfio_user_get_priv(dev_id);
}

/* CRC32C of any bytes (rte_hash_crc loads 8 at a time: align first). */
static uint32_t
crc_bytes(const uint8_t *p, size_t len, uint32_t crc)
{
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = rte_hash_crc_1byte(*p++, crc);
		len--;
	}
	return len > 0 ? rte_hash_crc(p, (uint32_t)len, crc) : crc;
}

static uint32_t
record_crc(const uint8_t *rec, size_t len)
{
	uint32_t crc, zero = 0;

	crc = crc_bytes(rec, offsetof(struct mig_hdr, crc), 0xffffffff);
	crc = crc_bytes((const uint8_t *)&zero, sizeof(zero), crc);
	return crc_bytes(rec + offsetof(struct mig_hdr, nsections),
			 len - offsetof(struct mig_hdr, nsections), crc);
}

/* ---- save ---- */

static bool
out_room(struct vun_mig *m, size_t n)
{
	uint8_t *p;
	size_t cap;

	if (m->out_len + n <= m->out_cap)
		return true;
	cap = RTE_MAX(m->out_cap * 2, m->out_len + n + 4096);
	p = realloc(m->out, cap);
	if (p == NULL)
		return false;
	m->out = p;
	m->out_cap = cap;
	return true;
}

static void
put_sec(uint8_t *rec, size_t *off, uint16_t type, const void *data,
	uint32_t len)
{
	struct mig_sec s = { .type = type, .version = SEC_VERSION, .len = len };

	memcpy(rec + *off, &s, sizeof(s));
	*off += sizeof(s);
	memcpy(rec + *off, data, len);
	*off += len;
}

/* Append a snapshot of the device to the save stream. */
static int
save_record(struct vun_dev *d, uint32_t flags)
{
	struct vun_mig *m = d->mig;
	size_t pci_len = rte_vfio_user_pci_state_size(d->pci);
	uint16_t nvqs = vun_num_vqs(d);
	/* DEVICE, PCI, a QUEUE per virtqueue, CTRL */
	size_t len = sizeof(struct mig_hdr) + sizeof(struct mig_sec) +
		     sizeof(struct mig_device) + sizeof(struct mig_sec) +
		     pci_len +
		     (size_t)nvqs * (sizeof(struct mig_sec) +
				     sizeof(struct mig_queue)) +
		     sizeof(struct mig_sec) + sizeof(struct mig_ctrl);
	struct mig_device dv = {
		.host_features = d->host_features,
		.max_pairs = d->max_pairs,
		.mtu = d->mtu,
		.msix_vectors = d->msix_vectors,
		.guest_features = d->guest_features,
		.dfselect = d->dfselect,
		.gfselect = d->gfselect,
		.msix_config = d->msix_config,
		.queue_select = d->queue_select,
		.status = d->status,
		.config_generation = d->config_generation,
		.isr = __atomic_load_n(&d->isr, __ATOMIC_ACQUIRE),
	};
	struct mig_ctrl ct = {
		.promisc = d->promisc,
		.allmulti = d->allmulti,
		.active_pairs = __atomic_load_n(&d->active_pairs,
						__ATOMIC_ACQUIRE),
		/* none before FEATURES_OK (where they all go on) */
		.offloads_off = (d->status & VIRTIO_CONFIG_S_FEATURES_OK) ?
					(uint16_t)(d->guest_features &
						   VUN_GUEST_OFFLOADS &
						   ~d->guest_offloads) :
					0,
	};
	struct mig_hdr h = {
		.magic = MIG_MAGIC,
		.version = MIG_VERSION,
		.hdr_len = sizeof(struct mig_hdr),
		.flags = flags,
		.nsections = 3u + nvqs,
	};
	uint8_t *rec;
	size_t off = sizeof(h);
	ssize_t n;

	if (!out_room(m, len))
		return -ENOMEM;
	rec = m->out + m->out_len;
	memcpy(dv.mac, &d->mac, RTE_ETHER_ADDR_LEN);
	memcpy(ct.mac, &d->guest_mac, RTE_ETHER_ADDR_LEN);
	put_sec(rec, &off, SEC_DEVICE, &dv, sizeof(dv));
	{
		struct mig_sec s = {
			.type = SEC_PCI,
			.version = SEC_VERSION,
			.len = (uint32_t)pci_len,
		};

		memcpy(rec + off, &s, sizeof(s));
		off += sizeof(s);
		n = rte_vfio_user_pci_save(d->pci, rec + off, pci_len);
		if (n < 0 || (size_t)n != pci_len)
			return n < 0 ? (int)n : -EIO;
		off += pci_len;
	}
	for (uint16_t i = 0; i < nvqs; i++) {
		const struct vun_vq *vq = &d->vq[i];
		bool packed = d->guest_features &
			      (1ULL << VIRTIO_F_RING_PACKED);
		struct mig_queue q = {
			.index = i,
			.ring_format = packed ? RING_PACKED : RING_SPLIT,
			.enabled = vq->cfg_enable,
			.size = vq->cfg_size,
			.vector = vq->cfg_vector,
			.desc = vq->desc_iova,
			.avail = vq->avail_iova,
			.used = vq->used_iova,
			.last_avail = vq->last_avail,
			.last_used = vq->last_used,
			.avail_wrap = packed && vq->avail_wrap,
			.used_wrap = packed && vq->used_wrap,
		};

		put_sec(rec, &off, SEC_QUEUE, &q, sizeof(q));
	}
	put_sec(rec, &off, SEC_CTRL, &ct, sizeof(ct));
	RTE_VERIFY(off == len);
	h.len = (uint32_t)len;
	memcpy(rec, &h, sizeof(h));
	h.crc = record_crc(rec, len);
	memcpy(rec, &h, sizeof(h));
	m->out_len += len;
	VUN_LOG(INFO, "%s: device state saved (%s, %zu bytes)", d->path,
		flags & MIG_F_FINAL ? "final" : "pre-copy", len);
	return 0;
}

/* ---- check ---- */

/*
 * Packed ring positions (VIRTIO 1.x 2.8): both inside the ring, and the
 * next descriptor to read (last_avail) at most one lap ahead of the next
 * to write (last_used): on the same lap and not behind it, or on the next
 * lap and not past it.
 */
static bool
packed_positions_ok(const struct mig_queue *q)
{
	if (q->last_avail >= q->size || q->last_used >= q->size)
		return false;
	if (q->avail_wrap == q->used_wrap)
		return q->last_avail >= q->last_used;
	return q->last_avail <= q->last_used;
}

/*
 * Check one whole record against this device; fill p. 0, or a negative
 * errno with *why saying what is wrong. Changes nothing.
 */
static int
check_record(struct vun_dev *d, const uint8_t *rec, size_t len,
	     struct parsed *p, const char **why)
{
	struct mig_hdr h;
	size_t off;
	uint16_t nvqs = vun_num_vqs(d), nq = 0;
	bool packed = false;
	int ret;

	memset(p, 0, sizeof(*p));
	memcpy(&h, rec, sizeof(h));
	if (record_crc(rec, len) != h.crc) {
		*why = "checksum mismatch (corrupted)";
		return -EBADMSG;
	}
	if (h.flags & ~(MIG_F_PRECOPY | MIG_F_FINAL) ||
	    !(h.flags & (MIG_F_PRECOPY | MIG_F_FINAL)) ||
	    (h.flags & MIG_F_PRECOPY && h.flags & MIG_F_FINAL)) {
		*why = "unknown record flags";
		return -EBADMSG;
	}
	off = sizeof(h);
	for (uint32_t i = 0; i < h.nsections; i++) {
		struct mig_sec s;
		const uint8_t *data;

		if (len - off < sizeof(s)) {
			*why = "section header past the end of the record";
			return -EBADMSG;
		}
		memcpy(&s, rec + off, sizeof(s));
		off += sizeof(s);
		if (s.len > len - off) {
			*why = "section past the end of the record";
			return -EBADMSG;
		}
		data = rec + off;
		off += s.len;
		if (s.version != SEC_VERSION) {
			*why = "unsupported section version";
			return -EPROTONOSUPPORT;
		}
		switch (s.type) {
		case SEC_DEVICE:
			if (p->dev != NULL || s.len != sizeof(*p->dev)) {
				*why = "bad DEVICE section";
				return -EBADMSG;
			}
			p->dev = (const void *)data;
			break;
		case SEC_PCI:
			if (p->pci != NULL) {
				*why = "two PCI sections";
				return -EBADMSG;
			}
			p->pci = data;
			p->pci_len = s.len;
			break;
		case SEC_QUEUE: {
			struct mig_queue q;

			if (s.len != sizeof(q)) {
				*why = "bad QUEUE section";
				return -EBADMSG;
			}
			memcpy(&q, data, sizeof(q));
			if (q.index >= nvqs || p->q[q.index] != NULL) {
				*why = "queue index out of range or repeated";
				return -EINVAL;
			}
			p->q[q.index] = (const void *)data;
			nq++;
			break;
		}
		case SEC_CTRL:
			if (p->ctrl != NULL || s.len != sizeof(*p->ctrl)) {
				*why = "bad CTRL section";
				return -EBADMSG;
			}
			p->ctrl = (const void *)data;
			break;
		default:
			*why = "unknown section type";
			return -EBADMSG;
		}
	}
	if (off != len) {
		*why = "bytes after the last section";
		return -EBADMSG;
	}
	if (p->dev == NULL || p->pci == NULL || p->ctrl == NULL) {
		*why = "a section is missing";
		return -EBADMSG;
	}
	/* the device it came from is this kind of device */
	{
		struct mig_device dv;
		struct mig_ctrl ct;

		memcpy(&dv, p->dev, sizeof(dv));
		packed = dv.guest_features & (1ULL << VIRTIO_F_RING_PACKED);
		memcpy(&ct, p->ctrl, sizeof(ct));
		if (dv.max_pairs != d->max_pairs || nq != nvqs) {
			*why = "another number of queue pairs (devarg queues=)";
			return -EINVAL;
		}
		if (dv.msix_vectors != d->msix_vectors || dv.mtu != d->mtu ||
		    memcmp(dv.mac, &d->mac, RTE_ETHER_ADDR_LEN) != 0) {
			*why = "another device (MTU, MAC or MSI-X vectors differ)";
			return -EINVAL;
		}
		if (dv.guest_features & ~d->host_features) {
			*why = "features negotiated that this device does not offer";
			return -EINVAL;
		}
		if ((dv.status & VIRTIO_CONFIG_S_FEATURES_OK) &&
		    vun_features_why(dv.guest_features, d->host_features) !=
			    NULL) {
			*why = "features a driver may not have (VIRTIO 5.1.3.1)";
			return -EINVAL;
		}
		/* its GSO packets would be too long here (an application
		 * that did not enable LRO gets none) */
		if ((dv.status & VIRTIO_CONFIG_S_FEATURES_OK) &&
		    (dv.guest_features & VU_PMD_HOST_TSO) &&
		    __atomic_load_n(&d->max_lro, __ATOMIC_RELAXED) <
			    VU_PMD_MAX_GSO_FRAME) {
			*why = "the driver sends GSO packets (HOST_TSO4/6), "
			       "this port does not take them all "
			       "(RTE_ETH_RX_OFFLOAD_TCP_LRO, max_lro_pkt_size)";
			return -EINVAL;
		}
		/* the device never holds DRIVER_OK without FEATURES_OK
		 * (status_write()): the feature checks above depend on it */
		if ((dv.status & VIRTIO_CONFIG_S_DRIVER_OK) &&
		    !(dv.status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			*why = "DRIVER_OK without FEATURES_OK";
			return -EINVAL;
		}
		if ((dv.status &
		     ~(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		       VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FEATURES_OK |
		       VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) ||
		    ((dv.status & VIRTIO_CONFIG_S_FEATURES_OK) &&
		     !(dv.guest_features & (1ULL << VIRTIO_F_VERSION_1))) ||
		    (dv.msix_config != VIRTIO_MSI_NO_VECTOR &&
		     dv.msix_config >= d->msix_vectors) ||
		    ct.active_pairs < 1 || ct.active_pairs > d->max_pairs ||
		    ct.promisc > 1 || ct.allmulti > 1 ||
		    (ct.offloads_off &&
		     (!(dv.status & VIRTIO_CONFIG_S_FEATURES_OK) ||
		      !(dv.guest_features &
			(1ULL << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)) ||
		      (ct.offloads_off &
		       ~(dv.guest_features & VUN_GUEST_OFFLOADS))))) {
			*why = "device register values out of range";
			return -EINVAL;
		}
	}
	for (uint16_t i = 0; i < nvqs; i++) {
		struct mig_queue q;

		memcpy(&q, p->q[i], sizeof(q));
		if (q.ring_format != (packed ? RING_PACKED : RING_SPLIT) ||
		    q.avail_wrap > packed || q.used_wrap > packed) {
			*why = "virtqueue ring format not the negotiated one";
			return -EINVAL;
		}
		/* a disabled queue was reset and never used since: its
		 * positions are the initial ones (the data path indexes the
		 * ring with them once the driver enables it) */
		if (!q.enabled &&
		    (q.last_avail != 0 || q.last_used != 0 ||
		     q.avail_wrap != packed || q.used_wrap != packed)) {
			*why = "a disabled virtqueue with ring positions";
			return -EINVAL;
		}
		/* a pre-copy record's indices were read while the data
		 * path ran (mid-burst, last_used may be ahead): only the
		 * final record's must be consistent */
		if (packed && (h.flags & MIG_F_FINAL) && q.enabled &&
		    !packed_positions_ok(&q)) {
			*why = "packed virtqueue positions out of range";
			return -EINVAL;
		}
		if (q.enabled > 1 || q.reserved != 0 || q.size == 0 ||
		    q.size > VUN_QUEUE_SIZE_MAX ||
		    /* packed rings may have any size (VIRTIO 1.2 2.8.10.1) */
		    (!packed && (q.size & (q.size - 1))) ||
		    (q.vector != VIRTIO_MSI_NO_VECTOR &&
		     q.vector >= d->msix_vectors) ||
		    (!packed && (h.flags & MIG_F_FINAL) &&
		     (uint16_t)(q.last_avail - q.last_used) > q.size)) {
			*why = "virtqueue values out of range";
			return -EINVAL;
		}
	}
	ret = rte_vfio_user_pci_check_state(d->pci, p->pci, p->pci_len);
	if (ret < 0) {
		*why = "PCI function state does not fit this device";
		return ret;
	}
	return 0;
}

/* ---- load ---- */

static int
refuse(struct vun_dev *d, int err, const char *why)
{
	VUN_LOG(ERR, "%s: migration state refused: %s", d->path, why);
	d->mig->in_bad = true;
	return err;
}

static int
mig_load(int dev_id, const void *buf, size_t len)
{
	struct vun_dev *d = dev_of(dev_id);
	struct vun_mig *m = d->mig;
	struct parsed p;
	const char *why;
	uint8_t *in;
	int ret;

	if (m->in_bad)
		return -EBADMSG;	/* the stream is broken already */
	if (len > MIG_MAX_STREAM - m->in_len)
		return refuse(d, -EFBIG, "more than 1 MiB of device state");
	in = realloc(m->in, m->in_len + len);
	if (in == NULL)
		return -ENOMEM;
	m->in = in;
	memcpy(m->in + m->in_len, buf, len);
	m->in_len += len;
	/* check what became whole */
	while (m->in_len - m->in_done >= sizeof(struct mig_hdr)) {
		const uint8_t *rec = m->in + m->in_done;
		struct mig_hdr h;

		memcpy(&h, rec, sizeof(h));
		if (h.magic != MIG_MAGIC)
			return refuse(d, -EBADMSG,
				      "not virtio-net device state "
				      "(bad magic)");
		if (h.version != MIG_VERSION) {
			VUN_LOG(ERR,
				"%s: migration state of format version %u, "
				"this device reads version %u",
				d->path, h.version, MIG_VERSION);
			return refuse(d, -EPROTONOSUPPORT,
				      "incompatible format version");
		}
		if (h.hdr_len != sizeof(h) || h.len < sizeof(h) ||
		    h.len > MIG_MAX_STREAM)
			return refuse(d, -EBADMSG, "bad record length");
		if (m->in_len - m->in_done < h.len)
			break;	/* the rest later */
		ret = check_record(d, rec, h.len, &p, &why);
		if (ret < 0)
			return refuse(d, ret, why);
		if (h.flags & MIG_F_FINAL) {
			m->final_off = m->in_done;
			m->have_final = true;
		}
		m->in_done += h.len;
	}
	return 0;
}

/* Apply a checked record (cannot fail). The data path is stopped. */
static void
apply_record(struct vun_dev *d, const uint8_t *rec, size_t len)
{
	struct parsed p;
	struct mig_device dv;
	struct mig_ctrl ct;
	const char *why;

	RTE_VERIFY(check_record(d, rec, len, &p, &why) == 0);
	memcpy(&dv, p.dev, sizeof(dv));
	memcpy(&ct, p.ctrl, sizeof(ct));
	RTE_VERIFY(rte_vfio_user_pci_restore(d->pci, p.pci, p.pci_len) == 0);
	d->bm_off = rte_vfio_user_pci_bus_master(d->pci) == 0;
	d->pm_state = (uint8_t)rte_vfio_user_pci_pm_state(d->pci);
	d->guest_features = dv.guest_features;
	d->guest_offloads = dv.guest_features & VUN_GUEST_OFFLOADS &
			    ~(uint64_t)ct.offloads_off;
	d->dfselect = dv.dfselect;
	d->gfselect = dv.gfselect;
	d->msix_config = dv.msix_config;
	d->queue_select = dv.queue_select;
	vun_status_store(d, dv.status);
	d->config_generation = dv.config_generation;
	__atomic_store_n(&d->isr, dv.isr, __ATOMIC_RELEASE);
	for (uint16_t i = 0; i < vun_num_vqs(d); i++) {
		struct vun_vq *vq = &d->vq[i];
		struct mig_queue q;

		memcpy(&q, p.q[i], sizeof(q));
		vq->cfg_enable = q.enabled;
		vq->cfg_size = q.size;
		vq->cfg_vector = q.vector;
		vq->msix_vector = q.vector;
		vq->desc_iova = q.desc;
		vq->avail_iova = q.avail;
		vq->used_iova = q.used;
		vq->last_avail = q.last_avail;
		vq->last_used = q.last_used;
		if (q.ring_format == RING_PACKED) {
			vq->avail_wrap = q.avail_wrap;
			vq->used_wrap = q.used_wrap;
		} else {
			vq->avail_wrap = vq->used_wrap = true;
		}
		vq->size = 0;
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		memset(&vq->mcache, 0, sizeof(vq->mcache));
		memset(&vq->log_cache, 0, sizeof(vq->log_cache));
	}
	d->promisc = ct.promisc;
	d->allmulti = ct.allmulti;
	memcpy(&d->guest_mac, ct.mac, RTE_ETHER_ADDR_LEN);
	/* a source of before 0.3 sent zeros when the driver had set none */
	if (rte_is_zero_ether_addr(&d->guest_mac))
		rte_ether_addr_copy(&d->mac, &d->guest_mac);
	__atomic_store_n(&d->active_pairs, ct.active_pairs, __ATOMIC_RELEASE);
	vun_tx_map_update(d);
	VUN_LOG(INFO,
		"%s: device state loaded: features 0x%" PRIx64 ", status "
		"0x%x, %u queue pairs active",
		d->path, d->guest_features, d->status, ct.active_pairs);
}

/* ---- running and stopped ---- */

static bool
runs(enum rte_vfio_user_mig_state s)
{
	return s == RTE_VFIO_USER_MIG_RUNNING ||
	       s == RTE_VFIO_USER_MIG_RUNNING_P2P ||
	       s == RTE_VFIO_USER_MIG_PRE_COPY ||
	       s == RTE_VFIO_USER_MIG_PRE_COPY_P2P;
}

static bool
saves(enum rte_vfio_user_mig_state s)
{
	return s == RTE_VFIO_USER_MIG_PRE_COPY ||
	       s == RTE_VFIO_USER_MIG_PRE_COPY_P2P ||
	       s == RTE_VFIO_USER_MIG_STOP_COPY;
}

static void
device_stop(struct vun_dev *d)
{
	__atomic_store_n(&d->mig_stopped, 1, __ATOMIC_RELEASE);
	vun_offload_mig_stop(d);	/* the engine's queues, their indices */
	vun_queues_stop(d);	/* waits until the data path let go */
	VUN_LOG(INFO, "%s: stopped for migration", d->path);
}

static void
device_run(struct vun_dev *d)
{
	__atomic_store_n(&d->mig_stopped, 0, __ATOMIC_RELEASE);
	if (!(d->status & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	vun_queues_start(d);
	vun_offload_driver_ok(d);	/* to the engine, from the indices */
	vun_ctrl_process(d);
	/* an interrupt may have been lost on the way: one for every queue
	 * (a driver takes a spurious one in its stride) */
	for (uint16_t i = 0; i < vun_num_vqs(d); i++) {
		struct vun_vq *vq = &d->vq[i];

		if (vq->cfg_enable && vq->msix_vector != VIRTIO_MSI_NO_VECTOR &&
		    rte_vfio_user_pci_msix_enabled(d->pci) == 1)
			rte_vfio_user_pci_msix_trigger(d->pci, vq->msix_vector);
	}
	vun_link_update_notify(d);
	VUN_LOG(INFO, "%s: running", d->path);
}

static void
sessions_drop(struct vun_mig *m)
{
	m->out_len = m->out_off = 0;
	free(m->in);
	m->in = NULL;
	m->in_len = m->in_done = m->final_off = 0;
	m->have_final = false;
	m->in_bad = false;
}

static int
mig_state_change(int dev_id, enum rte_vfio_user_mig_state from,
		 enum rte_vfio_user_mig_state to)
{
	struct vun_dev *d = dev_of(dev_id);
	struct vun_mig *m = d->mig;
	int ret = 0;

	if (from == RTE_VFIO_USER_MIG_RESUMING &&
	    to == RTE_VFIO_USER_MIG_STOP) {
		/* the end of the load: all of it, and a final record */
		if (m->in_bad)
			return refuse(d, -EBADMSG,
				      "the stream was refused before");
		/* too early, not wrong: the rest may still come (the
		 * stream stays as it is, RESUMING goes on) */
		if (m->in_done != m->in_len || !m->have_final) {
			VUN_LOG(ERR, "%s: migration state incomplete: %s",
				d->path,
				m->in_done != m->in_len ?
					"a partial record at the end" :
					"no final (stop-copy) record yet");
			return -ENODATA;
		}
		apply_record(d, m->in + m->final_off,
			     ((const struct mig_hdr *)(m->in + m->final_off))
				     ->len);
	}
	if (runs(from) && !runs(to))
		device_stop(d);
	if (!saves(from) && saves(to))
		m->out_len = m->out_off = 0;	/* a new save session */
	if (!saves(from) && (to == RTE_VFIO_USER_MIG_PRE_COPY ||
			     to == RTE_VFIO_USER_MIG_PRE_COPY_P2P))
		ret = save_record(d, MIG_F_PRECOPY);
	if (to == RTE_VFIO_USER_MIG_STOP_COPY && from != to)
		ret = save_record(d, MIG_F_FINAL);
	if (ret < 0) {
		/* still in from: run again if we stopped */
		if (runs(from) && !runs(to))
			device_run(d);
		return ret;
	}
	if (to == RTE_VFIO_USER_MIG_RESUMING ||
	    from == RTE_VFIO_USER_MIG_RESUMING || (saves(from) && !saves(to)))
		sessions_drop(m);
	if (!runs(from) && runs(to))
		device_run(d);
	m->state = to;
	return 0;
}

static ssize_t
mig_save(int dev_id, void *buf, size_t len)
{
	struct vun_mig *m = dev_of(dev_id)->mig;
	size_t n = RTE_MIN(len, m->out_len - m->out_off);

	memcpy(buf, m->out + m->out_off, n);
	m->out_off += n;
	return (ssize_t)n;
}

int
vun_mig_register(struct vun_dev *d)
{
	const struct rte_vfio_user_mig_ops ops = {
		.flags = RTE_VFIO_USER_MIG_F_STOP_COPY |
			 RTE_VFIO_USER_MIG_F_PRE_COPY,
		.state_change = mig_state_change,
		.save = mig_save,
		.load = mig_load,
	};

	d->mig = calloc(1, sizeof(*d->mig));
	if (d->mig == NULL)
		return -ENOMEM;
	d->mig->state = RTE_VFIO_USER_MIG_RUNNING;
	return rte_vfio_user_set_mig_ops(d->dev_id, &ops);
}

void
vun_mig_fini(struct vun_dev *d)
{
	if (d->mig == NULL)
		return;
	sessions_drop(d->mig);
	free(d->mig->out);
	free(d->mig);
	d->mig = NULL;
}
