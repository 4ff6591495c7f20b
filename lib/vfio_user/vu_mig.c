/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Migration: the protocol side of a migratable device. The device model
 * gives state-change, save and load callbacks (rte_vfio_user_mig_ops);
 * this file drives them from both forms of the protocol:
 *
 *  - the current text: DEVICE_FEATURE MIGRATION (what the device offers)
 *    and MIG_DEVICE_STATE (the FSM of <linux/vfio.h>), the data through
 *    MIG_DATA_READ / MIG_DATA_WRITE;
 *  - 0.9.1: a migration region (VFIO_REGION_TYPE_MIGRATION) appended to
 *    the device's regions for a client that negotiated the "migration"
 *    capability, with struct vfio_device_migration_info at offset 0
 *    (device_state bits, pending_bytes / data_offset / data_size
 *    iteration) and a data area after it.
 *
 * A requested state is reached along the path <linux/vfio.h> defines
 * (vfio_mig_get_next_state()): one state_change() call per arc. The whole
 * path is checked before the first arc is taken, so a refused request
 * changes nothing; if the device model fails an arc, the library walks
 * back to the state the request started from (ERROR if that fails too).
 *
 * Everything here runs on the event thread, like the handlers; only the
 * state is read from other threads (rte_vfio_user_get_mig_state()).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "vu_internal.h"

#define S_ERROR		RTE_VFIO_USER_MIG_ERROR
#define S_STOP		RTE_VFIO_USER_MIG_STOP
#define S_RUNNING	RTE_VFIO_USER_MIG_RUNNING
#define S_STOP_COPY	RTE_VFIO_USER_MIG_STOP_COPY
#define S_RESUMING	RTE_VFIO_USER_MIG_RESUMING
#define S_RUNNING_P2P	RTE_VFIO_USER_MIG_RUNNING_P2P
#define S_PRE_COPY	RTE_VFIO_USER_MIG_PRE_COPY
#define S_PRE_COPY_P2P	RTE_VFIO_USER_MIG_PRE_COPY_P2P
#define NSTATES		8

#define F_STOP_COPY	RTE_VFIO_USER_MIG_F_STOP_COPY
#define F_P2P		RTE_VFIO_USER_MIG_F_P2P
#define F_PRE_COPY	RTE_VFIO_USER_MIG_F_PRE_COPY
#define F_ALL		(F_STOP_COPY | F_P2P | F_PRE_COPY)

/* 0.9.1 region: the info structure at 0, the data area at a page. */
#define V1_DATA_OFF	4096u
#define V1_DATA_SIZE	(64u * 1024)
#define V1_REGION_SIZE	(V1_DATA_OFF + V1_DATA_SIZE)

/* Where a 0.9.1 save iteration is: the field read last. */
enum v1_iter {
	V1_IDLE,
	V1_PENDING,	/* pending_bytes read */
	V1_OFFSET,	/* data_offset read: the chunk is in the data area */
	V1_SIZE,	/* data_size read: the client takes the chunk */
};

struct vu_mig {
	struct rte_vfio_user_mig_ops ops;
	uint32_t state;		/* enum rte_vfio_user_mig_state; atomic */
	bool v1_precopy;	/* 0.9.1 pre-copy of a device without PRE_COPY:
				 * the device runs, there is nothing to save */
	struct vu_region region;	/* the 0.9.1 migration region */
	/* saving: bytes taken from the device and not handed out yet are
	 * data[staged_off, staged); resuming (0.9.1): what the client wrote */
	uint8_t *data;
	uint32_t staged;
	uint32_t staged_off;
	enum v1_iter iter;
	uint64_t data_size;	/* 0.9.1 data_size, as last set */
};

/*
 * Next state on the way from a state (first index) to a target (second),
 * as <linux/vfio.h> defines the FSM when every optional state exists.
 * Steps through states the device does not have are skipped (see
 * path_of()). STOP_COPY -> PRE_COPY(_P2P) is blocked (ERROR).
 */
static const uint8_t fsm_next[NSTATES][NSTATES] = {
	[S_STOP] = {
		[S_STOP] = S_STOP,
		[S_RUNNING] = S_RUNNING_P2P,
		[S_PRE_COPY] = S_RUNNING_P2P,
		[S_PRE_COPY_P2P] = S_RUNNING_P2P,
		[S_STOP_COPY] = S_STOP_COPY,
		[S_RESUMING] = S_RESUMING,
		[S_RUNNING_P2P] = S_RUNNING_P2P,
	},
	[S_RUNNING] = {
		[S_STOP] = S_RUNNING_P2P,
		[S_RUNNING] = S_RUNNING,
		[S_PRE_COPY] = S_PRE_COPY,
		[S_PRE_COPY_P2P] = S_RUNNING_P2P,
		[S_STOP_COPY] = S_RUNNING_P2P,
		[S_RESUMING] = S_RUNNING_P2P,
		[S_RUNNING_P2P] = S_RUNNING_P2P,
	},
	[S_PRE_COPY] = {
		[S_STOP] = S_RUNNING,
		[S_RUNNING] = S_RUNNING,
		[S_PRE_COPY] = S_PRE_COPY,
		[S_PRE_COPY_P2P] = S_PRE_COPY_P2P,
		[S_STOP_COPY] = S_PRE_COPY_P2P,
		[S_RESUMING] = S_RUNNING,
		[S_RUNNING_P2P] = S_RUNNING,
	},
	[S_PRE_COPY_P2P] = {
		[S_STOP] = S_RUNNING_P2P,
		[S_RUNNING] = S_RUNNING_P2P,
		[S_PRE_COPY] = S_PRE_COPY,
		[S_PRE_COPY_P2P] = S_PRE_COPY_P2P,
		[S_STOP_COPY] = S_STOP_COPY,
		[S_RESUMING] = S_RUNNING_P2P,
		[S_RUNNING_P2P] = S_RUNNING_P2P,
	},
	[S_STOP_COPY] = {
		[S_STOP] = S_STOP,
		[S_RUNNING] = S_STOP,
		[S_PRE_COPY] = S_ERROR,
		[S_PRE_COPY_P2P] = S_ERROR,
		[S_STOP_COPY] = S_STOP_COPY,
		[S_RESUMING] = S_STOP,
		[S_RUNNING_P2P] = S_STOP,
	},
	[S_RESUMING] = {
		[S_STOP] = S_STOP,
		[S_RUNNING] = S_STOP,
		[S_PRE_COPY] = S_STOP,
		[S_PRE_COPY_P2P] = S_STOP,
		[S_STOP_COPY] = S_STOP,
		[S_RESUMING] = S_RESUMING,
		[S_RUNNING_P2P] = S_STOP,
	},
	[S_RUNNING_P2P] = {
		[S_STOP] = S_STOP,
		[S_RUNNING] = S_RUNNING,
		[S_PRE_COPY] = S_RUNNING,
		[S_PRE_COPY_P2P] = S_PRE_COPY_P2P,
		[S_STOP_COPY] = S_STOP,
		[S_RESUMING] = S_STOP,
		[S_RUNNING_P2P] = S_RUNNING_P2P,
	},
	/* [S_ERROR]: all zero, ERROR */
};

/* The flags a state needs (ERROR: never reachable on request). */
static const uint64_t state_needs[NSTATES] = {
	[S_ERROR] = ~0ULL,
	[S_STOP] = F_STOP_COPY,
	[S_RUNNING] = F_STOP_COPY,
	[S_STOP_COPY] = F_STOP_COPY,
	[S_RESUMING] = F_STOP_COPY,
	[S_RUNNING_P2P] = F_STOP_COPY | F_P2P,
	[S_PRE_COPY] = F_STOP_COPY | F_PRE_COPY,
	[S_PRE_COPY_P2P] = F_STOP_COPY | F_P2P | F_PRE_COPY,
};

static const char *const state_names[NSTATES] = {
	"ERROR",    "STOP",	   "RUNNING",  "STOP_COPY",
	"RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P",
};

static const char *
state_name(uint32_t s)
{
	return s < NSTATES ? state_names[s] : "?";
}

static bool
state_ok(uint64_t flags, uint32_t s)
{
	return s < NSTATES && (state_needs[s] & flags) == state_needs[s];
}

static bool
saving(uint32_t s)
{
	return s == S_PRE_COPY || s == S_PRE_COPY_P2P || s == S_STOP_COPY;
}

static uint32_t
state_get(const struct vu_mig *mg)
{
	return __atomic_load_n(&mg->state, __ATOMIC_ACQUIRE);
}

/*
 * The arcs from cur to target, into path (at most NSTATES); their number,
 * or -EINVAL if target cannot be reached (not a state, one the device does
 * not have, ERROR, or a blocked arc on the way).
 */
static int
path_of(uint64_t flags, uint32_t cur, uint32_t target, uint32_t *path)
{
	int n = 0;

	if (!state_ok(flags, cur) || !state_ok(flags, target))
		return -EINVAL;
	while (cur != target) {
		uint32_t next = fsm_next[cur][target];

		/* skip states the device does not have: the table goes on
		 * from them as it would from a device that has them */
		while (next != S_ERROR && !state_ok(flags, next))
			next = fsm_next[next][target];
		if (next == S_ERROR || n == NSTATES)
			return -EINVAL;
		path[n++] = next;
		cur = next;
	}
	return n;
}

/* Forget a save or load session. */
static void
session_drop(struct vu_mig *mg)
{
	mg->staged = 0;
	mg->staged_off = 0;
	mg->iter = V1_IDLE;
	mg->data_size = 0;
}

/* Take one arc; 0, or the device model's error (still in from). */
static int
arc(struct vu_dev *dev, uint32_t to)
{
	struct vu_mig *mg = dev->mig;
	uint32_t from = state_get(mg);
	int ret;

	ret = mg->ops.state_change(dev->id, from, to);
	if (ret < 0) {
		VU_LOG(ERR, "%s: migration arc %s -> %s failed: %s", dev->path,
		       state_name(from), state_name(to), strerror(-ret));
		return ret > -4096 ? ret : -EIO;
	}
	if (saving(from) != saving(to) || from == S_RESUMING ||
	    to == S_RESUMING)
		session_drop(mg);
	__atomic_store_n(&mg->state, to, __ATOMIC_RELEASE);
	VU_LOG(DEBUG, "%s: migration arc %s -> %s", dev->path, state_name(from),
	       state_name(to));
	return 0;
}

/* Walk a path; 0 or the first error (the device in the state before). */
static int
walk(struct vu_dev *dev, const uint32_t *path, int n)
{
	for (int i = 0; i < n; i++) {
		int ret = arc(dev, path[i]);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Go to target, all or nothing as far as the device model lets us. */
static int
fsm_set(struct vu_dev *dev, uint32_t target)
{
	struct vu_mig *mg = dev->mig;
	uint32_t orig = state_get(mg), path[NSTATES], back[NSTATES];
	int n, ret;

	n = path_of(mg->ops.flags, orig, target, path);
	if (n < 0) {
		VU_LOG(ERR, "%s: migration state %s -> %s refused", dev->path,
		       state_name(orig), state_name(target));
		return n;
	}
	ret = walk(dev, path, n);
	if (ret == 0) {
		if (n > 0)
			VU_LOG(INFO, "%s: migration state %s -> %s", dev->path,
			       state_name(orig), state_name(target));
		return 0;
	}
	if (state_get(mg) != orig) {
		n = path_of(mg->ops.flags, state_get(mg), orig, back);
		if (n >= 0 && walk(dev, back, n) < 0) {
			VU_LOG(ERR, "%s: migration state lost: ERROR",
			       dev->path);
			session_drop(mg);
			__atomic_store_n(&mg->state, S_ERROR, __ATOMIC_RELEASE);
		}
	}
	return ret;
}

/* Back to RUNNING whatever the state (reset, client gone). */
static void
back_to_running(struct vu_dev *dev, const char *why)
{
	struct vu_mig *mg = dev->mig;
	uint32_t from;

	if (mg == NULL)
		return;
	from = state_get(mg);
	mg->v1_precopy = false;
	session_drop(mg);
	if (from == S_RUNNING)
		return;
	__atomic_store_n(&mg->state, S_RUNNING, __ATOMIC_RELEASE);
	mg->ops.state_change(dev->id, from, S_RUNNING);
	VU_LOG(INFO, "%s: migration state %s -> RUNNING (%s)", dev->path,
	       state_name(from), why);
}

void
vu_mig_reset(struct vu_dev *dev)
{
	back_to_running(dev, "device reset");
}

void
vu_mig_client_gone(struct vu_dev *dev)
{
	back_to_running(dev, "client gone");
}

/* ---- the data stream ---- */

/*
 * Read up to len bytes of the save stream: what is staged first, then
 * from the device model. Fewer than len: no more for now (pre-copy) or
 * the end (STOP_COPY).
 */
static ssize_t
stream_read(struct vu_dev *dev, uint8_t *buf, size_t len)
{
	struct vu_mig *mg = dev->mig;
	size_t got = 0;

	if (mg->staged > mg->staged_off) {
		got = RTE_MIN(len, (size_t)(mg->staged - mg->staged_off));
		memcpy(buf, mg->data + mg->staged_off, got);
		mg->staged_off += (uint32_t)got;
		if (mg->staged_off == mg->staged)
			mg->staged = mg->staged_off = 0;
	}
	while (got < len) {
		ssize_t n = mg->ops.save(dev->id, buf + got, len - got);

		if (n < 0) {
			VU_LOG(ERR, "%s: device state save failed: %s",
			       dev->path, strerror((int)-n));
			return n;
		}
		if (n == 0)
			break;
		if ((size_t)n > len - got) {
			VU_LOG(ERR, "%s: save callback overran its buffer",
			       dev->path);
			return -EIO;
		}
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* ---- the current text: DEVICE_FEATURE, MIG_DATA_READ / WRITE ---- */

int
vu_mig_handle_feature(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_device_feature *req = (const void *)m->payload;
	struct vfio_user_device_feature *rep = (void *)c->reply;
	struct vu_dev *dev = c->dev;
	struct vu_mig *mg = dev->mig;
	uint32_t feat = req->flags & VFIO_USER_DEVICE_FEATURE_MASK;
	uint32_t op = req->flags & (VFIO_USER_DEVICE_FEATURE_GET |
				    VFIO_USER_DEVICE_FEATURE_SET);
	uint32_t data = m->size - (uint32_t)sizeof(*req);
	uint32_t need = sizeof(*req) + 8;
	uint32_t want;
	int ret;

	/* not migratable, or an operation the feature does not have:
	 * EINVAL, as libvfio-user */
	if (mg == NULL) {
		VU_LOG(ERR,
		       "%s: migration feature %u: the device is not "
		       "migratable",
		       dev->path, feat);
		return -EINVAL;
	}
	want = feat == VFIO_USER_FEATURE_MIGRATION ?
		       VFIO_USER_DEVICE_FEATURE_GET :
		       VFIO_USER_DEVICE_FEATURE_GET |
			       VFIO_USER_DEVICE_FEATURE_SET;
	if ((op & ~want) != 0)
		return -EINVAL;
	if (req->flags & VFIO_USER_DEVICE_FEATURE_PROBE) {
		memcpy(rep, req, m->size);
		r->size = m->size;
		return 0;
	}
	/* a GET whose argsz leaves no room for the data: the size it needs,
	 * without the data (the spec's "Message sizes") */
	if (op == VFIO_USER_DEVICE_FEATURE_GET && (data == 0 || data == 8) &&
	    req->argsz >= sizeof(*req) && req->argsz < need) {
		rep->argsz = need;
		rep->flags = req->flags;
		r->size = sizeof(*rep);
		return 0;
	}
	/* a GET may come with room for the data or without it; a SET has
	 * the state; the reply must fit argsz */
	if ((op == VFIO_USER_DEVICE_FEATURE_GET && data != 0 && data != 8) ||
	    (op == VFIO_USER_DEVICE_FEATURE_SET && data != 8) ||
	    req->argsz < need) {
		VU_LOG(ERR,
		       "%s: migration feature %u with %u data bytes, "
		       "argsz %u",
		       dev->path, feat, data, req->argsz);
		return -EINVAL;
	}
	if (feat == VFIO_USER_FEATURE_MIGRATION) {
		struct vfio_user_device_feature_migration *mi =
			(void *)rep->data;

		rep->argsz = need;
		rep->flags = req->flags;
		mi->flags = mg->ops.flags;
		r->size = need;
		return 0;
	}
	if (op == VFIO_USER_DEVICE_FEATURE_GET) {
		struct vfio_user_device_feature_mig_state *st =
			(void *)rep->data;

		rep->argsz = need;
		rep->flags = req->flags;
		st->device_state = state_get(mg);
		st->data_fd = UINT32_MAX;
		r->size = need;
		return 0;
	}
	{
		const struct vfio_user_device_feature_mig_state *st =
			(const void *)req->data;

		ret = fsm_set(dev, st->device_state);
		if (ret < 0)
			return ret;
		mg->v1_precopy = false;
		memcpy(rep, req, m->size);	/* the reply is the request */
		r->size = m->size;
		return 0;
	}
}

/* The largest read reply to this client (its max_data_xfer_size, ours). */
static uint32_t
max_xfer(const struct vu_conn *c)
{
	return RTE_MIN(c->caps.max_xfer, (uint32_t)VU_MAX_XFER);
}

int
vu_handle_mig_data_read(struct vu_conn *c, struct vu_msg *m, struct vu_reply *r)
{
	const struct vfio_user_mig_data *req = (const void *)m->payload;
	struct vfio_user_mig_data *rep = (void *)c->reply;
	struct vu_dev *dev = c->dev;
	struct vu_mig *mg = dev->mig;
	ssize_t n;

	if (mg == NULL)
		return -EINVAL;	/* not migratable: as DEVICE_FEATURE */
	if (!saving(state_get(mg))) {
		VU_LOG(ERR, "%s: MIG_DATA_READ in state %s", dev->path,
		       state_name(state_get(mg)));
		return -EINVAL;
	}
	if (req->size > max_xfer(c) ||
	    req->argsz < sizeof(*req) + (uint64_t)req->size) {
		VU_LOG(ERR,
		       "%s: MIG_DATA_READ of %u bytes, argsz %u (at most "
		       "%u)",
		       dev->path, req->size, req->argsz, max_xfer(c));
		return -EINVAL;
	}
	mg->iter = V1_IDLE;
	n = stream_read(dev, rep->data, req->size);
	if (n < 0)
		return (int)n;
	rep->argsz = (uint32_t)(sizeof(*rep) + (size_t)n);
	rep->size = (uint32_t)n;
	r->size = rep->argsz;
	return 0;
}

int
vu_handle_mig_data_write(struct vu_conn *c, struct vu_msg *m,
			 struct vu_reply *r)
{
	const struct vfio_user_mig_data *req = (const void *)m->payload;
	struct vu_dev *dev = c->dev;
	struct vu_mig *mg = dev->mig;
	int ret;

	RTE_SET_USED(r);
	if (mg == NULL)
		return -EINVAL;	/* not migratable: as DEVICE_FEATURE */
	if (state_get(mg) != S_RESUMING) {
		VU_LOG(ERR, "%s: MIG_DATA_WRITE in state %s", dev->path,
		       state_name(state_get(mg)));
		return -EINVAL;
	}
	/* the data comes to us: our max_data_xfer_size (the table's bound).
	 * argsz is not checked: the spec calls it the largest reply payload
	 * (there is none), libvfio-user's client sends 8 + size; both go */
	if (req->size != m->size - sizeof(*req) || req->size > VU_MAX_XFER) {
		VU_LOG(ERR,
		       "%s: MIG_DATA_WRITE size %u with %zu data bytes (at "
		       "most %u)",
		       dev->path, req->size, m->size - sizeof(*req),
		       VU_MAX_XFER);
		return -EINVAL;
	}
	if (req->size == 0)
		return 0;
	ret = mg->ops.load(dev->id, req->data, req->size);
	if (ret < 0) {
		VU_LOG(ERR, "%s: device state load failed: %s", dev->path,
		       strerror(-ret));
		return ret > -4096 ? ret : -EIO;
	}
	return 0;
}

/* ---- 0.9.1: the migration region ---- */

static uint32_t
v1_state(const struct vu_mig *mg)
{
	switch (state_get(mg)) {
	case S_STOP:
		return VFIO_USER_DEVICE_STATE_V1_STOP;
	case S_RUNNING:
	case S_RUNNING_P2P:
		return mg->v1_precopy ?
			       VFIO_USER_DEVICE_STATE_V1_RUNNING |
				       VFIO_USER_DEVICE_STATE_V1_SAVING :
			       VFIO_USER_DEVICE_STATE_V1_RUNNING;
	case S_STOP_COPY:
		return VFIO_USER_DEVICE_STATE_V1_SAVING;
	case S_PRE_COPY:
	case S_PRE_COPY_P2P:
		return VFIO_USER_DEVICE_STATE_V1_RUNNING |
		       VFIO_USER_DEVICE_STATE_V1_SAVING;
	case S_RESUMING:
		return VFIO_USER_DEVICE_STATE_V1_RESUMING;
	default:
		return VFIO_USER_DEVICE_STATE_V1_ERROR;
	}
}

/* Valid 0.9.1 transitions (its table), a bit per target state. */
static const uint8_t v1_allowed[8] = {
	[VFIO_USER_DEVICE_STATE_V1_STOP] = 1u << 1,
	[VFIO_USER_DEVICE_STATE_V1_RUNNING] = 1u << 0 | 1u << 2 | 1u << 3 |
					      1u << 4,
	[VFIO_USER_DEVICE_STATE_V1_SAVING] = 1u << 0 | 1u << 1,
	[VFIO_USER_DEVICE_STATE_V1_RUNNING |
		VFIO_USER_DEVICE_STATE_V1_SAVING] = 1u << 2,
	[VFIO_USER_DEVICE_STATE_V1_RESUMING] = 1u << 1,
};

static int
v1_set_state(struct vu_dev *dev, uint32_t v)
{
	struct vu_mig *mg = dev->mig;
	uint32_t cur = v1_state(mg), target;
	bool precopy = false;
	int ret;

	if (v & ~VFIO_USER_DEVICE_STATE_V1_MASK)
		return -EINVAL;
	if (v == cur)
		return 0;
	if (!(v1_allowed[cur] & (1u << v))) {
		VU_LOG(ERR, "%s: 0.9.1 migration state 0x%x -> 0x%x refused",
		       dev->path, cur, v);
		return -EINVAL;
	}
	switch (v) {
	case VFIO_USER_DEVICE_STATE_V1_STOP:
		target = S_STOP;
		break;
	case VFIO_USER_DEVICE_STATE_V1_RUNNING:
		target = S_RUNNING;
		break;
	case VFIO_USER_DEVICE_STATE_V1_SAVING:
		target = S_STOP_COPY;
		break;
	case VFIO_USER_DEVICE_STATE_V1_RESUMING:
		target = S_RESUMING;
		break;
	default:	/* pre-copy, which 0.9.1 servers must have */
		if (mg->ops.flags & F_PRE_COPY) {
			target = S_PRE_COPY;
		} else {
			target = S_RUNNING;
			precopy = true;
		}
		break;
	}
	ret = fsm_set(dev, target);
	if (ret < 0)
		return ret;
	if (precopy)
		session_drop(mg);
	mg->v1_precopy = precopy;
	return 0;
}

/* Saving: make the next chunk of the stream the data area's. */
static int
v1_stage(struct vu_dev *dev)
{
	struct vu_mig *mg = dev->mig;
	ssize_t n;

	if (mg->iter == V1_SIZE) {	/* the chunk before was taken */
		mg->staged = mg->staged_off = 0;
		mg->iter = V1_IDLE;
	}
	if (mg->staged_off > 0) {	/* partly read by MIG_DATA_READ */
		memmove(mg->data, mg->data + mg->staged_off,
			mg->staged - mg->staged_off);
		mg->staged -= mg->staged_off;
		mg->staged_off = 0;
	}
	if (mg->staged > 0)
		return 0;
	n = stream_read(dev, mg->data, V1_DATA_SIZE);
	if (n < 0)
		return (int)n;
	mg->staged = (uint32_t)n;
	return 0;
}

/* The info structure as a read of it finds it; fields wholly inside
 * [off, off + count) are read, with their side effects, in order. */
static int
v1_info_read(struct vu_dev *dev, uint64_t off, uint32_t count,
	     struct vfio_user_migration_info *mi)
{
	struct vu_mig *mg = dev->mig;
	bool sav = saving(state_get(mg));
	int ret;

#define COVERS(f)                                               \
	(off <= offsetof(struct vfio_user_migration_info, f) && \
	 off + count >=                                         \
		 offsetof(struct vfio_user_migration_info, f) + sizeof(mi->f))
	memset(mi, 0, sizeof(*mi));
	mi->device_state = v1_state(mg);
	mi->data_offset = V1_DATA_OFF;
	if (COVERS(pending_bytes) && sav) {
		ret = v1_stage(dev);
		if (ret < 0)
			return ret;
		mg->iter = V1_PENDING;
	}
	if (COVERS(data_offset) && sav) {
		ret = v1_stage(dev);
		if (ret < 0)
			return ret;
		mg->iter = V1_OFFSET;
	}
	if (sav) {
		mi->pending_bytes = mg->staged - mg->staged_off;
		mi->data_size = mg->staged - mg->staged_off;
	} else if (state_get(mg) == S_RESUMING) {
		mi->data_size = mg->data_size;
	}
	if (COVERS(data_size) && sav)
		mg->iter = V1_SIZE;
#undef COVERS
	return 0;
}

static int
v1_info_write(struct vu_dev *dev, uint64_t off, const char *buf, uint32_t count)
{
	struct vu_mig *mg = dev->mig;
	uint64_t v64;
	uint32_t v32;
	int ret;

	if (off == offsetof(struct vfio_user_migration_info, device_state) &&
	    count == sizeof(v32)) {
		memcpy(&v32, buf, sizeof(v32));
		return v1_set_state(dev, v32);
	}
	if (off == offsetof(struct vfio_user_migration_info, reserved) &&
	    count == sizeof(v32))
		return 0;	/* ignored, as the specification says */
	if (off != offsetof(struct vfio_user_migration_info, data_size) ||
	    count != sizeof(v64)) {
		VU_LOG(ERR,
		       "%s: migration region write [%" PRIu64 ", +%u): "
		       "not a writable field",
		       dev->path, off, count);
		return -EINVAL;
	}
	memcpy(&v64, buf, sizeof(v64));
	if (state_get(mg) != S_RESUMING || v64 > V1_DATA_SIZE) {
		VU_LOG(ERR, "%s: migration data_size %" PRIu64 " in state %s",
		       dev->path, v64, state_name(state_get(mg)));
		return -EINVAL;
	}
	/* the data is consumed before the write completes */
	if (v64 > 0) {
		ret = mg->ops.load(dev->id, mg->data, (size_t)v64);
		if (ret < 0) {
			VU_LOG(ERR, "%s: device state load failed: %s",
			       dev->path, strerror(-ret));
			return ret > -4096 ? ret : -EIO;
		}
	}
	mg->data_size = v64;
	return 0;
}

/* Access callback of the migration region (bounds checked by the caller). */
static ssize_t
v1_region_access(int dev_id, void *priv, char *buf, size_t count, uint64_t off,
		 bool is_write)
{
	struct vu_dev *dev = priv;
	struct vu_mig *mg = dev->mig;
	struct vfio_user_migration_info mi;
	int ret;

	RTE_SET_USED(dev_id);
	if (off + count <= sizeof(mi)) {
		if (is_write) {
			ret = v1_info_write(dev, off, buf, (uint32_t)count);
		} else {
			ret = v1_info_read(dev, off, (uint32_t)count, &mi);
			if (ret == 0)
				memcpy(buf, (uint8_t *)&mi + off, count);
		}
		return ret < 0 ? ret : (ssize_t)count;
	}
	if (off < V1_DATA_OFF && off + count > V1_DATA_OFF) {
		VU_LOG(ERR,
		       "%s: migration region access [%" PRIu64 ", +%zu) "
		       "across the start of the data",
		       dev->path, off, count);
		return -EINVAL;
	}
	if (off >= V1_DATA_OFF) {
		uint64_t at = off - V1_DATA_OFF;

		if (!is_write) {
			/* what is not staged reads as zeros */
			memset(buf, 0, count);
			if (saving(state_get(mg)) && at < mg->staged)
				memcpy(buf, mg->data + at,
				       RTE_MIN(count,
					       (size_t)(mg->staged - at)));
			else if (state_get(mg) == S_RESUMING)
				memcpy(buf, mg->data + at, count);
			return (ssize_t)count;
		}
		if (state_get(mg) != S_RESUMING) {
			VU_LOG(ERR, "%s: migration data written in state %s",
			       dev->path, state_name(state_get(mg)));
			return -EINVAL;
		}
		memcpy(mg->data + at, buf, count);
		return (ssize_t)count;
	}
	if (is_write) {
		VU_LOG(ERR,
		       "%s: migration region write [%" PRIu64 ", +%zu) "
		       "outside its fields and data",
		       dev->path, off, count);
		return -EINVAL;
	}
	/* reserved space between the structure and the data: zeros */
	memset(buf, 0, count);
	if (off < sizeof(mi)) {
		ret = v1_info_read(dev, off, (uint32_t)(sizeof(mi) - off), &mi);
		if (ret < 0)
			return ret;
		memcpy(buf, (uint8_t *)&mi + off, sizeof(mi) - off);
	}
	return (ssize_t)count;
}

bool
vu_mig_supported(const struct vu_dev *dev)
{
	return dev->mig != NULL;
}

const struct vu_region *
vu_mig_region(const struct vu_conn *c, uint32_t index)
{
	if (c->caps.migration && c->dev->mig != NULL &&
	    index == c->dev->info.num_regions)
		return &c->dev->mig->region;
	return NULL;
}

uint32_t
vu_mig_num_regions(const struct vu_conn *c)
{
	return c->dev->info.num_regions +
	       (c->caps.migration && c->dev->mig != NULL ? 1 : 0);
}

/* ---- public API ---- */

void
vu_mig_dev_fini(struct vu_dev *dev)
{
	if (dev->mig == NULL)
		return;
	free(dev->mig->data);
	free(dev->mig);
	dev->mig = NULL;
}

int
rte_vfio_user_set_mig_ops(int dev_id, const struct rte_vfio_user_mig_ops *ops)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	struct vu_mig *mg;

	if (dev == NULL)
		return -ENODEV;
	if (ops != NULL && (ops->state_change == NULL || ops->save == NULL ||
			    ops->load == NULL || !(ops->flags & F_STOP_COPY) ||
			    (ops->flags & ~F_ALL)))
		return -EINVAL;
	if (dev->started)
		return -EBUSY;
	if (ops == NULL) {
		vu_mig_dev_fini(dev);
		return 0;
	}
	mg = dev->mig;
	if (mg == NULL) {
		mg = calloc(1, sizeof(*mg));
		if (mg == NULL)
			return -ENOMEM;
		mg->data = calloc(1, V1_DATA_SIZE);
		if (mg->data == NULL) {
			free(mg);
			return -ENOMEM;
		}
	}
	mg->ops = *ops;
	mg->state = S_RUNNING;
	mg->v1_precopy = false;
	session_drop(mg);
	memset(&mg->region, 0, sizeof(mg->region));
	mg->region.d.size = V1_REGION_SIZE;
	mg->region.d.flags = RTE_VFIO_USER_REG_F_READ |
			     RTE_VFIO_USER_REG_F_WRITE;
	mg->region.d.access = v1_region_access;
	mg->region.d.priv = dev;
	mg->region.d.mmap_fd = -1;
	mg->region.d.type = VFIO_USER_REGION_TYPE_MIGRATION;
	mg->region.d.subtype = VFIO_USER_REGION_SUBTYPE_MIGRATION;
	dev->mig = mg;
	return 0;
}

int
rte_vfio_user_get_mig_state(int dev_id)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (dev->mig == NULL)
		return -ENOTSUP;
	return (int)state_get(dev->mig);
}
