/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Telemetry (DPDK's rte_telemetry, e.g. dpdk-telemetry.py):
 *
 *   /vfio_user/list        ids of the registered devices
 *   /vfio_user/info,<id>   one device: socket, client, negotiated version
 *                          and capabilities, regions, DMA maps, IRQ types,
 *                          per-command message and error counters, dirty
 *                          logging
 *
 * The callbacks run on DPDK's telemetry thread, concurrently with the
 * event thread, the data path and the application. They never block on
 * the data path and take each lock alone (never one inside another, so
 * they cannot join a lock-order cycle):
 *  - vu_tel_lock keeps the device and what telemetry reads of it that is
 *    freed or replaced (its description, its IRQ vector sets) from going
 *    away during a callback: see vu_telemetry_sync() and its callers;
 *  - dev->lock for the connection (it is freed only once detached under
 *    it), whose capabilities are stable once negotiated is seen;
 *  - dev->dma.lock for the DMA table (replaced only under it);
 *  - atomic loads for counters, IRQ vector states and the started flag.
 * Figures are each consistent; a reply is not a snapshot of one instant.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "vu_internal.h"
#include "vu_memtable.h"

static pthread_mutex_t vu_tel_lock = PTHREAD_MUTEX_INITIALIZER;

void
vu_telemetry_lock(void)
{
	pthread_mutex_lock(&vu_tel_lock);
}

void
vu_telemetry_unlock(void)
{
	pthread_mutex_unlock(&vu_tel_lock);
}

/* Wait for a callback that may still use what was just unpublished. */
void
vu_telemetry_sync(void)
{
	pthread_mutex_lock(&vu_tel_lock);
	pthread_mutex_unlock(&vu_tel_lock);
}

static int
tel_list(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (int i = 0; i < RTE_VFIO_USER_MAX_DEVICES; i++)
		if (vu_dev_get(i) != NULL)
			rte_tel_data_add_array_int(d, i);
	return 0;
}

/* "a|b|c" of the bits of v named in names (bit i: names[i]). */
static void
flags_str(char *buf, size_t len, uint32_t v, const char *const *names,
	  unsigned int n)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < n && pos < len; i++)
		if (v & (1u << i))
			pos += snprintf(buf + pos, len - pos, "%s%s",
					pos ? "|" : "", names[i]);
	if (pos < len && (v >> n) != 0)
		snprintf(buf + pos, len - pos, "%s0x%x", pos ? "|" : "",
			 v >> n << n);
}

/* Ranges of set bits, "0-3,7", in a bounded string ("..." if cut). */
struct ranges {
	char buf[RTE_TEL_MAX_STRING_LEN];
	size_t pos;		/* invariant: pos + 4 <= sizeof(buf) */
	bool full;
	int64_t start, last;	/* open range; start -1: none */
};

static void
ranges_flush(struct ranges *r)
{
	char item[48];
	size_t len;

	if (r->start < 0 || r->full) {
		r->start = -1;
		return;
	}
	if (r->start == r->last)
		snprintf(item, sizeof(item), "%s%" PRId64, r->pos ? "," : "",
			 r->start);
	else
		snprintf(item, sizeof(item), "%s%" PRId64 "-%" PRId64,
			 r->pos ? "," : "", r->start, r->last);
	len = strlen(item);
	if (r->pos + len + 4 > sizeof(r->buf)) {
		memcpy(r->buf + r->pos, "...", 4);
		r->full = true;
	} else {
		memcpy(r->buf + r->pos, item, len + 1);
		r->pos += len;
	}
	r->start = -1;
}

static void
ranges_add(struct ranges *r, int64_t v)
{
	if (r->start >= 0 && v == r->last + 1) {
		r->last = v;
		return;
	}
	ranges_flush(r);
	r->start = r->last = v;
}

static const char *const dev_flag_names[] = { "reset", "pci" };
static const char *const reg_flag_names[] = { "read", "write", "mmap" };
static const char *const irq_flag_names[] = {
	"eventfd",
	"maskable",
	"automasked",
	"noresize",
};
static const char *const pci_region_names[VFIO_USER_PCI_NUM_REGIONS] = {
	"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA",
};
static const char *const pci_irq_names[VFIO_USER_PCI_NUM_IRQS] = {
	"INTX", "MSI", "MSIX", "ERR", "REQ",
};

static struct rte_tel_data *
tel_dict(void)
{
	struct rte_tel_data *t = rte_tel_data_alloc();

	if (t != NULL)
		rte_tel_data_start_dict(t);
	return t;
}

/* Add a container to a dict, or free it; the first error sticks. */
static void
tel_add(struct rte_tel_data *d, const char *name, struct rte_tel_data *t,
	int *err)
{
	if (t == NULL) {
		*err = -ENOMEM;
		return;
	}
	if (rte_tel_data_add_dict_container(d, name, t, 0) < 0) {
		rte_tel_data_free(t);
		*err = -ENOSPC;
	}
}

/* Client: under dev->lock (the connection is freed only once detached). */
static struct rte_tel_data *
tel_client(struct vu_dev *dev, int *connected, int *negotiated)
{
	struct rte_tel_data *t = tel_dict();
	struct vu_caps caps = { 0 };
	struct vu_conn *c;
	char ver[16];

	pthread_mutex_lock(&dev->lock);
	c = dev->conn;
	*connected = c != NULL;
	*negotiated = c != NULL &&
		      __atomic_load_n(&c->negotiated, __ATOMIC_ACQUIRE);
	if (*negotiated)
		caps = c->caps;	/* not written after VERSION succeeded */
	pthread_mutex_unlock(&dev->lock);
	if (t == NULL || !*negotiated)
		return t;
	snprintf(ver, sizeof(ver), "%u.%u", VFIO_USER_MAJOR_VER, caps.minor);
	rte_tel_data_add_dict_string(t, "version", ver);
	rte_tel_data_add_dict_u64(t, "max_msg_fds", caps.max_msg_fds);
	rte_tel_data_add_dict_u64(t, "max_data_xfer_size", caps.max_xfer);
	rte_tel_data_add_dict_u64(t, "max_dma_maps", caps.max_dma_maps);
	rte_tel_data_add_dict_u64(t, "pgsizes", caps.pgsizes);
	rte_tel_data_add_dict_int(t, "write_multiple", caps.write_multi);
	rte_tel_data_add_dict_int(t, "twin_socket", caps.twin_socket);
	return t;
}

/* Regions that exist: under vu_tel_lock (description). */
static struct rte_tel_data *
tel_regions(struct vu_dev *dev, int *err)
{
	struct rte_tel_data *t = tel_dict();
	bool pci = dev->info.flags & RTE_VFIO_USER_DEV_F_PCI;
	char key[16], fl[64];

	if (t == NULL)
		return NULL;
	for (uint32_t i = 0; i < dev->info.num_regions; i++) {
		const struct rte_vfio_user_region *r = &dev->regions[i].d;
		struct rte_tel_data *e;

		if (r->size == 0)
			continue;
		e = tel_dict();
		if (e == NULL) {
			*err = -ENOMEM;
			break;
		}
		if (pci && i < VFIO_USER_PCI_NUM_REGIONS)
			rte_tel_data_add_dict_string(e, "name",
						     pci_region_names[i]);
		rte_tel_data_add_dict_u64(e, "size", r->size);
		flags_str(fl, sizeof(fl), r->flags, reg_flag_names,
			  RTE_DIM(reg_flag_names));
		rte_tel_data_add_dict_string(e, "flags", fl);
		rte_tel_data_add_dict_u64(e, "sparse_areas", r->nr_sparse);
		rte_tel_data_add_dict_u64(e, "io_fds", r->nr_io_fds);
		if (r->type != 0) {
			rte_tel_data_add_dict_u64(e, "type", r->type);
			rte_tel_data_add_dict_u64(e, "subtype", r->subtype);
		}
		snprintf(key, sizeof(key), "%u", i);
		tel_add(t, key, e, err);
	}
	return t;
}

/* IRQ types: under vu_tel_lock (description, vector sets). */
static struct rte_tel_data *
tel_irqs(struct vu_dev *dev, int *err)
{
	struct rte_tel_data *t = tel_dict();
	bool pci = dev->info.flags & RTE_VFIO_USER_DEV_F_PCI;
	char key[16], fl[64];

	if (t == NULL)
		return NULL;
	for (uint32_t i = 0; i < dev->info.num_irqs; i++) {
		uint32_t n = vu_irq_nvec(dev, i), efds = 0, masked = 0;
		uint32_t pending = 0, mask_efds = 0, unmask_efds = 0;
		struct ranges efd_r = { .start = -1 }, mask_r = { .start = -1 };
		struct rte_tel_data *e = tel_dict();

		if (e == NULL) {
			*err = -ENOMEM;
			break;
		}
		for (uint32_t v = 0; v < n; v++) {
			struct vu_irq_vec s;

			vu_irq_vec_load(dev, i, v, &s);
			if (s.efd >= 0) {
				efds++;
				ranges_add(&efd_r, v);
			}
			if (s.masked) {
				masked++;
				ranges_add(&mask_r, v);
			}
			pending += s.pending != 0;
			mask_efds += s.mask_efd >= 0;
			unmask_efds += s.unmask_efd >= 0;
		}
		ranges_flush(&efd_r);
		ranges_flush(&mask_r);
		if (pci && i < VFIO_USER_PCI_NUM_IRQS)
			rte_tel_data_add_dict_string(e, "name",
						     pci_irq_names[i]);
		rte_tel_data_add_dict_u64(e, "count", dev->irqs[i].count);
		flags_str(fl, sizeof(fl), dev->irqs[i].flags, irq_flag_names,
			  RTE_DIM(irq_flag_names));
		rte_tel_data_add_dict_string(e, "flags", fl);
		rte_tel_data_add_dict_u64(e, "eventfds", efds);
		rte_tel_data_add_dict_string(e, "eventfd_vectors", efd_r.buf);
		rte_tel_data_add_dict_u64(e, "masked", masked);
		rte_tel_data_add_dict_string(e, "masked_vectors", mask_r.buf);
		rte_tel_data_add_dict_u64(e, "pending", pending);
		rte_tel_data_add_dict_u64(e, "mask_eventfds", mask_efds);
		rte_tel_data_add_dict_u64(e, "unmask_eventfds", unmask_efds);
		snprintf(key, sizeof(key), "%u", i);
		tel_add(t, key, e, err);
	}
	return t;
}

/* Client memory: under dev->dma.lock (the table is replaced only under it). */
static struct rte_tel_data *
tel_dma(struct vu_dev *dev)
{
	struct rte_tel_data *t = tel_dict();
	const struct rte_vfio_user_mem_segment *r;
	uint64_t bytes = 0, msg_only = 0, nmaps, next;
	bool logging;

	if (t == NULL)
		return NULL;
	pthread_mutex_lock(&dev->dma.lock);
	nmaps = dev->dma.regions.count;
	/* the DMA regions as the client mapped them, in IOVA order */
	for (r = vu_mt_next(&dev->dma.regions, 0); r != NULL;
	     r = next == 0 ? NULL : vu_mt_next(&dev->dma.regions, next)) {
		bytes += r->size;
		msg_only += r->vaddr == NULL;
		next = r->iova + r->size;	/* 0: the top of the space */
	}
	logging = dev->dma.logging;
	pthread_mutex_unlock(&dev->dma.lock);
	rte_tel_data_add_dict_u64(t, "maps", nmaps);
	rte_tel_data_add_dict_u64(t, "bytes", bytes);
	rte_tel_data_add_dict_u64(t, "message_only_maps", msg_only);
	rte_tel_data_add_dict_int(t, "dirty_logging", logging);
	return t;
}

/* Per-command counters: relaxed atomic loads. */
static struct rte_tel_data *
tel_commands(struct vu_dev *dev, uint64_t *msgs, uint64_t *errors, int *err)
{
	struct rte_tel_data *t = tel_dict();

	*msgs = *errors = 0;
	if (t == NULL)
		return NULL;
	for (uint16_t cmd = 0; cmd < VFIO_USER_MAX_COMMAND; cmd++) {
		uint64_t m = __atomic_load_n(&dev->stats.msgs[cmd],
					     __ATOMIC_RELAXED);
		uint64_t e = __atomic_load_n(&dev->stats.errors[cmd],
					     __ATOMIC_RELAXED);
		struct rte_tel_data *c = tel_dict();

		*msgs += m;
		*errors += e;
		if (c == NULL) {
			*err = -ENOMEM;
			break;
		}
		rte_tel_data_add_dict_u64(c, "messages", m);
		rte_tel_data_add_dict_u64(c, "errors", e);
		/* slot 0 is "UNKNOWN": command ids we do not know */
		tel_add(t, vu_cmd_name(cmd), c, err);
	}
	return t;
}

/* The device's limits on its client (rte_vfio_user_set_timeouts()). */
static struct rte_tel_data *
tel_timeouts(const struct vu_dev *dev)
{
	struct rte_tel_data *t = tel_dict();

	if (t == NULL)
		return NULL;
	rte_tel_data_add_dict_u64(t, "msg_ms", dev->tmo.msg_ms);
	rte_tel_data_add_dict_u64(t, "reply_ms", dev->tmo.reply_ms);
	rte_tel_data_add_dict_u64(t, "dma_ms", dev->tmo.dma_ms);
	return t;
}

static int
tel_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct vu_dev *dev;
	char *end, fl[64];
	long id;
	int connected, negotiated, err = 0;
	uint64_t msgs, errors;
	struct rte_tel_data *client;

	RTE_SET_USED(cmd);
	if (params == NULL || params[0] == '\0')
		return -EINVAL;
	errno = 0;
	id = strtol(params, &end, 10);
	if (errno != 0 || *end != '\0' || id < 0 ||
	    id >= RTE_VFIO_USER_MAX_DEVICES)
		return -EINVAL;

	vu_telemetry_lock();
	dev = vu_dev_get((int)id);
	if (dev == NULL) {
		vu_telemetry_unlock();
		return -ENODEV;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "id", dev->id);
	rte_tel_data_add_dict_string(d, "path", dev->path);
	rte_tel_data_add_dict_int(d, "started",
				  __atomic_load_n(&dev->started,
						  __ATOMIC_ACQUIRE));
	client = tel_client(dev, &connected, &negotiated);
	rte_tel_data_add_dict_int(d, "connected", connected);
	rte_tel_data_add_dict_int(d, "negotiated", negotiated);
	tel_add(d, "client", client, &err);
	flags_str(fl, sizeof(fl), dev->info.flags, dev_flag_names,
		  RTE_DIM(dev_flag_names));
	rte_tel_data_add_dict_string(d, "device_flags", fl);
	rte_tel_data_add_dict_u64(d, "num_regions", dev->info.num_regions);
	rte_tel_data_add_dict_u64(d, "num_irqs", dev->info.num_irqs);
	tel_add(d, "timeouts", tel_timeouts(dev), &err);
	tel_add(d, "regions", tel_regions(dev, &err), &err);
	tel_add(d, "dma", tel_dma(dev), &err);
	tel_add(d, "irqs", tel_irqs(dev, &err), &err);
	tel_add(d, "commands", tel_commands(dev, &msgs, &errors, &err), &err);
	rte_tel_data_add_dict_u64(d, "messages", msgs);
	rte_tel_data_add_dict_u64(d, "errors", errors);
	vu_telemetry_unlock();
	return err;
}

RTE_INIT(vu_telemetry_init)
{
	rte_telemetry_register_cmd(
		"/vfio_user/list", tel_list,
		"Returns the ids of the registered vfio-user devices.");
	rte_telemetry_register_cmd(
		"/vfio_user/info", tel_info,
		"Returns the state of a vfio-user device. Parameters: int device id");
}
