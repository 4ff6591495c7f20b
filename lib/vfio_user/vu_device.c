/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The device description (info, regions, IRQ types) and the commands that
 * only read it or go to the device model's region callbacks: GET_INFO,
 * GET_REGION_INFO, GET_REGION_IO_FDS, GET_IRQ_INFO, REGION_READ/WRITE,
 * REGION_WRITE_MULTI, DEVICE_RESET.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "vu_internal.h"

/* ---- description ---- */

static void
region_free(struct vu_region *r)
{
	free(r->sparse);
	free(r->io_fds);
	memset(r, 0, sizeof(*r));
	r->d.mmap_fd = -1;
}

void
vu_dev_desc_free(struct vu_dev *dev)
{
	for (unsigned int i = 0; i < RTE_VFIO_USER_MAX_REGIONS; i++)
		region_free(&dev->regions[i]);
	memset(dev->irqs, 0, sizeof(dev->irqs));
}

int
vu_dev_desc_check(const struct vu_dev *dev)
{
	if (dev->info.num_regions == 0 && dev->info.num_irqs == 0) {
		VU_LOG(ERR, "%s: no device information set", dev->path);
		return -EINVAL;
	}
	if ((dev->info.flags & RTE_VFIO_USER_DEV_F_PCI) &&
	    (dev->info.num_regions < VFIO_USER_PCI_NUM_REGIONS ||
	     dev->regions[VFIO_USER_PCI_CONFIG_REGION_INDEX].d.size == 0)) {
		VU_LOG(ERR, "%s: a PCI device needs regions 0-8 and a config space",
		       dev->path);
		return -EINVAL;
	}
	return 0;
}

int
rte_vfio_user_set_dev_info(int dev_id, const struct rte_vfio_user_dev_info *info)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (info == NULL || info->num_regions > RTE_VFIO_USER_MAX_REGIONS ||
	    info->num_irqs > RTE_VFIO_USER_MAX_IRQ_TYPES ||
	    (info->flags & ~(RTE_VFIO_USER_DEV_F_RESET | RTE_VFIO_USER_DEV_F_PCI)))
		return -EINVAL;
	if (dev->started)
		return -EBUSY;
	vu_telemetry_lock();	/* telemetry reads the description */
	vu_dev_desc_free(dev);
	dev->info = *info;
	vu_telemetry_unlock();
	return 0;
}

static int
region_check(const struct rte_vfio_user_region *reg)
{
	const uint32_t known = RTE_VFIO_USER_REG_F_READ |
		RTE_VFIO_USER_REG_F_WRITE | RTE_VFIO_USER_REG_F_MMAP;

	if (reg->flags & ~known)
		return -EINVAL;
	if (reg->size == 0)
		return reg->flags == 0 ? 0 : -EINVAL;
	if ((reg->flags & (RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE)) &&
	    reg->access == NULL)
		return -EINVAL;
	if ((reg->flags & RTE_VFIO_USER_REG_F_MMAP) && reg->mmap_fd < 0)
		return -EINVAL;
	/* sparse areas go in one reply, ioeventfds with one message */
	RTE_BUILD_BUG_ON(RTE_VFIO_USER_MAX_IO_FDS > VU_MAX_MSG_FDS);
	if (reg->nr_sparse > RTE_VFIO_USER_MAX_SPARSE)
		return -EINVAL;
	if (reg->nr_sparse > 0 && (reg->sparse == NULL ||
	    !(reg->flags & RTE_VFIO_USER_REG_F_MMAP)))
		return -EINVAL;
	for (uint32_t i = 0; i < reg->nr_sparse; i++) {
		const struct rte_vfio_user_sparse_area *a = &reg->sparse[i];

		if (a->size == 0 || a->offset > reg->size ||
		    a->size > reg->size - a->offset)
			return -EINVAL;
	}
	if (reg->nr_io_fds > 0 && reg->io_fds == NULL)
		return -EINVAL;
	if (reg->nr_io_fds > RTE_VFIO_USER_MAX_IO_FDS)
		return -EINVAL;
	for (uint32_t i = 0; i < reg->nr_io_fds; i++) {
		const struct rte_vfio_user_io_fd *f = &reg->io_fds[i];

		if (f->fd < 0 || f->offset > reg->size ||
		    f->size > reg->size - f->offset)
			return -EINVAL;
	}
	return 0;
}

int
rte_vfio_user_set_reg_info(int dev_id, uint32_t index,
			   const struct rte_vfio_user_region *reg)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	struct vu_region *r;
	size_t ssz, fsz;

	if (dev == NULL)
		return -ENODEV;
	if (reg == NULL || index >= dev->info.num_regions ||
	    region_check(reg) < 0)
		return -EINVAL;
	if (dev->started)
		return -EBUSY;
	r = &dev->regions[index];
	vu_telemetry_lock();	/* telemetry reads the description */
	region_free(r);
	ssz = reg->nr_sparse * sizeof(*reg->sparse);
	fsz = reg->nr_io_fds * sizeof(*reg->io_fds);
	if (ssz > 0) {
		r->sparse = malloc(ssz);
		if (r->sparse == NULL)
			goto nomem;
		memcpy(r->sparse, reg->sparse, ssz);
	}
	if (fsz > 0) {
		r->io_fds = malloc(fsz);
		if (r->io_fds == NULL)
			goto nomem;
		memcpy(r->io_fds, reg->io_fds, fsz);
	}
	r->d = *reg;
	r->d.sparse = r->sparse;
	r->d.io_fds = r->io_fds;
	if (!(reg->flags & RTE_VFIO_USER_REG_F_MMAP))
		r->d.mmap_fd = -1;
	vu_telemetry_unlock();
	return 0;

nomem:
	region_free(r);
	vu_telemetry_unlock();
	return -ENOMEM;
}

int
rte_vfio_user_set_irq_info(int dev_id, uint32_t index,
			   const struct rte_vfio_user_irq_info *irq)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	const uint32_t known = RTE_VFIO_USER_IRQ_F_EVENTFD |
		RTE_VFIO_USER_IRQ_F_MASKABLE | RTE_VFIO_USER_IRQ_F_AUTOMASKED |
		RTE_VFIO_USER_IRQ_F_NORESIZE;

	if (dev == NULL)
		return -ENODEV;
	if (irq == NULL || index >= dev->info.num_irqs ||
	    irq->count > RTE_VFIO_USER_MAX_IRQS || (irq->flags & ~known))
		return -EINVAL;
	if (dev->started)
		return -EBUSY;
	vu_telemetry_lock();	/* telemetry reads the description */
	dev->irqs[index] = *irq;
	vu_telemetry_unlock();
	return 0;
}

/* ---- queries ---- */

/* The region an index names for this client: one of the device's, or the
 * 0.9.1 migration region after them (vu_mig.c); NULL for none. */
static const struct vu_region *
conn_region(const struct vu_conn *c, uint32_t index)
{
	if (index < c->dev->info.num_regions)
		return &c->dev->regions[index];
	return vu_mig_region(c, index);
}

int
vu_handle_get_info(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_device_info *req = (const void *)m->payload;
	struct vfio_user_device_info *rep = (void *)c->reply;

	/* "all other fields must be zero" */
	if (req->argsz < sizeof(*rep) || req->flags != 0 ||
	    req->num_regions != 0 || req->num_irqs != 0)
		return -EINVAL;
	rep->argsz = sizeof(*rep);
	rep->flags = c->dev->info.flags;
	rep->num_regions = vu_mig_num_regions(c);
	rep->num_irqs = c->dev->info.num_irqs;
	r->size = sizeof(*rep);
	return 0;
}

/* Append the region's capability chain after the info; returns its size.
 * The sparse areas only go with an mmappable region. */
static uint32_t
region_caps(const struct vu_region *reg, bool mmap, uint8_t *out,
	    uint32_t base)
{
	struct vfio_user_cap_header *prev = NULL;
	uint32_t off = 0;

	if (mmap && reg->d.nr_sparse > 0) {
		struct vfio_user_cap_sparse_mmap *s = (void *)out;

		s->header.id = VFIO_USER_REGION_CAP_SPARSE_MMAP;
		s->header.version = 1;
		s->header.next = 0;
		s->nr_areas = reg->d.nr_sparse;
		s->reserved = 0;
		for (uint32_t i = 0; i < reg->d.nr_sparse; i++) {
			s->areas[i].offset = reg->sparse[i].offset;
			s->areas[i].size = reg->sparse[i].size;
		}
		prev = &s->header;
		off = sizeof(*s) + reg->d.nr_sparse * sizeof(s->areas[0]);
	}
	if (reg->d.type != 0) {
		struct vfio_user_cap_type *t = (void *)(out + off);

		t->header.id = VFIO_USER_REGION_CAP_TYPE;
		t->header.version = 1;
		t->header.next = 0;
		t->type = reg->d.type;
		t->subtype = reg->d.subtype;
		if (prev != NULL)
			prev->next = base + off;
		off += sizeof(*t);
	}
	return off;
}

int
vu_handle_region_info(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_region_info *req = (const void *)m->payload;
	struct vfio_user_region_info *rep = (void *)c->reply;
	const struct vu_region *reg;
	uint32_t caps;
	bool mmap;

	reg = conn_region(c, req->index);
	/* the index "is the only field that is required to be set";
	 * "all other fields must be zero" */
	if (req->argsz < sizeof(*rep) || reg == NULL || req->flags != 0 ||
	    req->cap_offset != 0 || req->size != 0 || req->offset != 0)
		return -EINVAL;
	/* MMAP promises an fd with the reply: not to a client that takes
	 * none (max_msg_fds 0); it uses REGION_READ/WRITE instead */
	mmap = (reg->d.flags & RTE_VFIO_USER_REG_F_MMAP) &&
		c->caps.max_msg_fds > 0;
	memset(rep, 0, sizeof(*rep));
	rep->index = req->index;
	rep->size = reg->d.size;
	rep->flags = reg->d.flags & ~RTE_VFIO_USER_REG_F_MMAP;
	if (mmap) {
		rep->flags |= VFIO_USER_REGION_INFO_FLAG_MMAP;
		rep->offset = reg->d.mmap_offset;
		r->fds[r->nfds++] = reg->d.mmap_fd;
	}
	caps = region_caps(reg, mmap, c->reply + sizeof(*rep), sizeof(*rep));
	rep->argsz = sizeof(*rep) + caps;
	/* the flag says the chain is in the reply (the spec; QEMU refuses
	 * the flag with no chain): without room for it, the needed size
	 * only, as libvfio-user answers */
	if (caps > 0 && req->argsz >= rep->argsz) {
		rep->flags |= VFIO_USER_REGION_INFO_FLAG_CAPS;
		rep->cap_offset = sizeof(*rep);
	}
	r->size = rep->cap_offset ? rep->argsz : sizeof(*rep);
	return 0;
}

int
vu_handle_region_io_fds(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_region_io_fds *req = (const void *)m->payload;
	struct vfio_user_region_io_fds *rep = (void *)c->reply;
	struct vfio_user_sub_region_io_fd *sub = (void *)(rep + 1);
	const struct vu_region *reg;

	if (req->argsz < sizeof(*rep) || req->flags != 0 || req->count != 0 ||
	    req->index >= c->dev->info.num_regions)
		return -EINVAL;
	reg = &c->dev->regions[req->index];
	memset(rep, 0, sizeof(*rep));
	rep->index = req->index;
	rep->count = reg->d.nr_io_fds;
	rep->argsz = sizeof(*rep) + rep->count * sizeof(*sub);
	r->size = sizeof(*rep);
	if (req->argsz < rep->argsz)
		return 0;	/* the size needed, no entries, no fds */
	if (rep->count > c->caps.max_msg_fds) {
		VU_LOG(ERR, "%s: region %u has %u io fds, client takes %u",
		       c->dev->path, req->index, rep->count,
		       c->caps.max_msg_fds);
		return -ENOSPC;
	}
	for (uint32_t i = 0; i < rep->count; i++) {
		const struct rte_vfio_user_io_fd *f = &reg->io_fds[i];

		memset(&sub[i], 0, sizeof(sub[i]));
		sub[i].offset = f->offset;
		sub[i].size = f->size;
		sub[i].fd_index = i;
		sub[i].type = VFIO_USER_IO_FD_TYPE_IOEVENTFD;
		sub[i].flags = f->datamatch ? VFIO_USER_IOEVENTFD_F_DATAMATCH : 0;
		sub[i].datamatch = f->data;
		r->fds[r->nfds++] = f->fd;
	}
	r->size = rep->argsz;
	return 0;
}

int
vu_handle_irq_info(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_irq_info *req = (const void *)m->payload;
	struct vfio_user_irq_info *rep = (void *)c->reply;

	/* "all other fields must be zero" */
	if (req->argsz < sizeof(*rep) || req->index >= c->dev->info.num_irqs ||
	    req->flags != 0 || req->count != 0)
		return -EINVAL;
	rep->argsz = sizeof(*rep);
	rep->index = req->index;
	rep->flags = c->dev->irqs[req->index].flags;
	rep->count = c->dev->irqs[req->index].count;
	r->size = sizeof(*rep);
	return 0;
}

/* ---- region access ---- */

/* Check an access; 0 or -errno. */
static int
access_check(const struct vu_conn *c, uint32_t index, uint64_t offset,
	     uint32_t count, bool is_write)
{
	const struct vu_region *reg;
	uint32_t need = is_write ? RTE_VFIO_USER_REG_F_WRITE :
		RTE_VFIO_USER_REG_F_READ;

	reg = conn_region(c, index);
	if (reg == NULL) {
		VU_LOG(ERR, "%s: access to region %u of %u", c->dev->path,
		       index, vu_mig_num_regions(c));
		return -EINVAL;
	}
	if (!(reg->d.flags & need)) {
		VU_LOG(ERR, "%s: region %u is not %s", c->dev->path, index,
		       is_write ? "writable" : "readable");
		return -EACCES;
	}
	if (count > VU_MAX_XFER || offset > reg->d.size ||
	    count > reg->d.size - offset) {
		VU_LOG(ERR, "%s: access [0x%" PRIx64 ", +%u) outside region %u "
		       "(size 0x%" PRIx64 ")", c->dev->path, offset, count,
		       index, reg->d.size);
		return -EINVAL;
	}
	return 0;
}

static int
region_access(struct vu_conn *c, uint32_t index, uint64_t offset,
	      uint8_t *buf, uint32_t count, bool is_write)
{
	const struct vu_region *reg = conn_region(c, index);
	ssize_t ret;

	if (count == 0)
		return 0;
	ret = reg->d.access(c->dev->id, reg->d.priv, (char *)buf, count,
			    offset, is_write);
	if (ret < 0)
		return (int)ret;
	if ((size_t)ret != count) {
		VU_LOG(ERR, "%s: region %u callback did %zd of %u bytes",
		       c->dev->path, index, ret, count);
		return -EIO;
	}
	return 0;
}

int
vu_handle_region_read(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_region_access *req = (const void *)m->payload;
	struct vfio_user_region_access *rep = (void *)c->reply;
	int ret;

	ret = access_check(c, req->region, req->offset, req->count, false);
	if (ret < 0)
		return ret;
	ret = region_access(c, req->region, req->offset, rep->data,
			    req->count, false);
	if (ret < 0)
		return ret;
	rep->offset = req->offset;
	rep->region = req->region;
	rep->count = req->count;
	r->size = sizeof(*rep) + req->count;
	return 0;
}

int
vu_handle_region_write(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_region_access *req = (const void *)m->payload;
	struct vfio_user_region_access *rep = (void *)c->reply;
	int ret;

	if (m->size - sizeof(*req) != req->count) {
		VU_LOG(ERR, "%s: REGION_WRITE count %u with %zu data bytes",
		       c->dev->path, req->count, m->size - sizeof(*req));
		return -EINVAL;
	}
	ret = access_check(c, req->region, req->offset, req->count, true);
	if (ret < 0)
		return ret;
	ret = region_access(c, req->region, req->offset,
			    (uint8_t *)req->data, req->count, true);
	if (ret < 0)
		return ret;
	rep->offset = req->offset;
	rep->region = req->region;
	rep->count = req->count;
	r->size = sizeof(*rep);
	return 0;
}

int
vu_handle_write_multi(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_write_multi *req = (const void *)m->payload;
	struct vfio_user_write_multi *rep = (void *)c->reply;
	uint64_t i;
	int ret;

	if (!c->caps.write_multi) {
		VU_LOG(ERR, "%s: REGION_WRITE_MULTI not negotiated",
		       c->dev->path);
		return -ENOTSUP;
	}
	if (req->wr_cnt == 0 || req->wr_cnt > VFIO_USER_WRITE_MULTI_MAX ||
	    m->size != sizeof(*req) + req->wr_cnt * sizeof(req->wrs[0]))
		return -EINVAL;
	/* check all before doing any, so a bad entry has no side effect */
	for (i = 0; i < req->wr_cnt; i++) {
		const struct vfio_user_write_multi_entry *w = &req->wrs[i];

		if (w->count == 0 || w->count > VFIO_USER_WRITE_MULTI_DATA)
			return -EINVAL;
		ret = access_check(c, w->region, w->offset, w->count, true);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < req->wr_cnt; i++) {
		const struct vfio_user_write_multi_entry *w = &req->wrs[i];

		ret = region_access(c, w->region, w->offset,
				    (uint8_t *)w->data, w->count, true);
		if (ret < 0)
			return ret;
	}
	rep->wr_cnt = req->wr_cnt;
	r->size = sizeof(*rep);
	return 0;
}

int
vu_handle_reset(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	RTE_SET_USED(m);
	RTE_SET_USED(r);
	if (!(c->dev->info.flags & RTE_VFIO_USER_DEV_F_RESET))
		return -ENOTSUP;
	if (c->dev->ops.reset_device != NULL) {
		int ret = c->dev->ops.reset_device(c->dev->id);

		if (ret < 0)
			return ret;
	}
	vu_mig_reset(c->dev);	/* a reset device runs (migration FSM) */
	return 0;
}
