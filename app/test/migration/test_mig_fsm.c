/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The migration FSM through the raw protocol, both forms:
 *  - current text: every (state, requested state) pair of every device
 *    variant, the arcs the device model is asked for checked against a
 *    reference built from the specification's text, refusals leaving the
 *    state and the device alone;
 *  - 0.9.1: every (device_state, written value) pair against the text's
 *    table of valid transitions;
 *  - failures of the device model (walk back, ERROR, DEVICE_RESET),
 *    the client leaving, the feature messages' validation, and when the
 *    0.9.1 region is (not) offered.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_common.h>

#include "mt_common.h"

#define S_ERROR RTE_VFIO_USER_MIG_ERROR
#define S_STOP RTE_VFIO_USER_MIG_STOP
#define S_RUNNING RTE_VFIO_USER_MIG_RUNNING
#define S_STOP_COPY RTE_VFIO_USER_MIG_STOP_COPY
#define S_RESUMING RTE_VFIO_USER_MIG_RESUMING
#define S_RUNNING_P2P RTE_VFIO_USER_MIG_RUNNING_P2P
#define S_PRE_COPY RTE_VFIO_USER_MIG_PRE_COPY
#define F_GET VFIO_USER_DEVICE_FEATURE_GET
#define F_SET VFIO_USER_DEVICE_FEATURE_SET
#define F_PROBE VFIO_USER_DEVICE_FEATURE_PROBE
#define F_MIG VFIO_USER_FEATURE_MIGRATION
#define F_STATE VFIO_USER_FEATURE_MIG_DEVICE_STATE

/* From RUNNING (a DEVICE_RESET) to s, then forget the arcs. */
static void
goto_state(struct rc *c, struct mt_dev *d, uint32_t s)
{
	assert_int_equal(mt_reset(c), 0);
	assert_int_equal(mt_get_state(c), S_RUNNING);
	if (s != S_RUNNING)
		assert_int_equal(mt_set_state(c, s), 0);
	assert_int_equal(mt_get_state(c), s);
	mt_arcs_clear(d);
}

/* The arcs logged are exactly the path from `from`. */
static void
check_arcs(struct mt_dev *d, uint32_t from, const uint32_t *path, int n)
{
	uint32_t prev = from;

	if (__atomic_load_n(&d->narcs, __ATOMIC_ACQUIRE) != n)
		fail_msg("%s: %d arcs logged, %d expected", d->name, d->narcs,
			 n);
	for (int i = 0; i < n; i++) {
		if (d->arcs[i].from != prev || d->arcs[i].to != path[i] ||
		    !d->arcs[i].ok)
			fail_msg(
				"%s: arc %d is %u -> %u (%s), expected %u -> %u",
				d->name, i, d->arcs[i].from, d->arcs[i].to,
				d->arcs[i].ok ? "ok" : "failed", prev, path[i]);
		prev = path[i];
	}
}

/* ---- the current text: every transition ---- */

static void
test_fsm_every_transition(void **state)
{
	static const uint32_t targets[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xffffffffu,
	};
	int done = 0, refused = 0, multi = 0;

	(void)state;
	for (int i = 0; i < MT_NDEV; i++) {
		struct mt_dev *d = mt_devs[i];
		struct rc c;

		if (d->flags == 0)
			continue;
		/* nothing to load: RESUMING -> STOP is accepted */
		d->pre_len = d->stop_len = 0;
		mt_open(&c, d, NULL);
		for (uint32_t from = 1; from < 8; from++) {
			if (!mt_has_state(d->flags, from))
				continue;
			for (size_t t = 0; t < RTE_DIM(targets); t++) {
				uint32_t to = targets[t], path[8];
				int n = mt_ref_path(d->flags, from, to, path);
				int ret;

				goto_state(&c, d, from);
				ret = mt_set_state(&c, to);
				if (n < 0) {
					if (ret != -EINVAL)
						fail_msg(
							"%s: %u -> %u: %d, refusal "
							"expected",
							d->name, from, to, ret);
					/* nothing happened */
					assert_int_equal(d->narcs, 0);
					assert_int_equal(mt_get_state(&c),
							 from);
					refused++;
				} else {
					if (ret != 0)
						fail_msg("%s: %u -> %u: %d",
							 d->name, from, to,
							 ret);
					check_arcs(d, from, path, n);
					assert_int_equal(mt_get_state(&c), to);
					assert_int_equal(
						rte_vfio_user_get_mig_state(
							d->id),
						(int)to);
					multi += n > 1;
				}
				done++;
			}
		}
		mt_close(&c, d);
	}
	print_message("%d transitions (%d refused, %d through intermediate "
		      "states) as the specification says\n",
		      done, refused, multi);
}

/* A few arcs spelled out, as <linux/vfio.h> lists them. */
static void
test_fsm_known_paths(void **state)
{
	uint32_t p[8];

	(void)state;
	/* without P2P */
	assert_int_equal(mt_ref_path(mt_sc.flags, S_RUNNING, S_STOP_COPY, p),
			 2);
	assert_int_equal(p[0], S_STOP);
	/* with P2P: RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY */
	assert_int_equal(mt_ref_path(mt_p2p.flags, S_RUNNING, S_STOP_COPY, p),
			 3);
	assert_int_equal(p[0], S_RUNNING_P2P);
	assert_int_equal(p[1], S_STOP);
	/* PRE_COPY -> PRE_COPY_P2P -> STOP_COPY */
	assert_int_equal(mt_ref_path(mt_all.flags, S_PRE_COPY, S_STOP_COPY, p),
			 2);
	assert_int_equal(p[0], RTE_VFIO_USER_MIG_PRE_COPY_P2P);
	/* RESUMING -> STOP -> RUNNING_P2P -> RUNNING -> PRE_COPY */
	assert_int_equal(mt_ref_path(mt_all.flags, S_RESUMING, S_PRE_COPY, p),
			 4);
	/* STOP_COPY -> PRE_COPY is blocked */
	assert_int_equal(mt_ref_path(mt_all.flags, S_STOP_COPY, S_PRE_COPY, p),
			 -1);
	assert_int_equal(mt_ref_path(mt_all.flags, S_STOP_COPY,
				     RTE_VFIO_USER_MIG_PRE_COPY_P2P, p),
			 -1);
	/* no pre-copy states without PRE_COPY */
	assert_int_equal(mt_ref_path(mt_sc.flags, S_RUNNING, S_PRE_COPY, p),
			 -1);
}

/* ---- 0.9.1: every transition ---- */

/* Its table of valid transitions, a bit per target. */
static const uint8_t v1_table[5] = {
	[0] = 1u << 1,				/* stopped -> running */
	[1] = 1u << 0 | 1u << 2 | 1u << 3 | 1u << 4,
	[2] = 1u << 0 | 1u << 1,		/* stop-and-copy */
	[3] = 1u << 2,				/* pre-copy */
	[4] = 1u << 1,				/* resuming */
};

/* The device state a 0.9.1 state stands for. */
static uint32_t
v1_dev_state(const struct mt_dev *d, uint32_t v)
{
	static const uint32_t map[5] = {
		S_STOP, S_RUNNING, S_STOP_COPY, S_PRE_COPY, S_RESUMING,
	};

	if (v == 3 && !(d->flags & RTE_VFIO_USER_MIG_F_PRE_COPY))
		return S_RUNNING;	/* pre-copy with nothing to copy */
	return map[v];
}

static void
v1_goto(struct rc *c, struct mt_dev *d, uint32_t v)
{
	assert_int_equal(mt_reset(c), 0);
	assert_int_equal(mt_v1_get(c), 1);
	if (v != 1)
		assert_int_equal(mt_v1_set(c, v), 0);
	assert_int_equal(mt_v1_get(c), v);
	mt_arcs_clear(d);
}

static void
test_v1_every_transition(void **state)
{
	static const uint32_t targets[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0xffffffffu,
	};
	int done = 0, refused = 0;

	(void)state;
	for (int i = 0; i < MT_NDEV; i++) {
		struct mt_dev *d = mt_devs[i];
		struct rc c;

		if (d->flags == 0)
			continue;
		d->pre_len = d->stop_len = 0;
		mt_open(&c, d, MT_JSON_V1);
		for (uint32_t from = 0; from < 5; from++) {
			for (size_t t = 0; t < RTE_DIM(targets); t++) {
				uint32_t to = targets[t], path[8];
				bool ok = to < 5 &&
					  (to == from ||
					   (v1_table[from] & (1u << to)));
				int ret, n;

				v1_goto(&c, d, from);
				ret = mt_v1_set(&c, to);
				if (!ok) {
					if (ret != -EINVAL)
						fail_msg(
							"%s: 0.9.1 %u -> %u: %d, "
							"refusal expected",
							d->name, from, to, ret);
					assert_int_equal(d->narcs, 0);
					assert_int_equal(mt_v1_get(&c), from);
					refused++;
				} else {
					if (ret != 0)
						fail_msg(
							"%s: 0.9.1 %u -> %u: %d",
							d->name, from, to, ret);
					n = mt_ref_path(d->flags,
							v1_dev_state(d, from),
							v1_dev_state(d, to),
							path);
					assert_true(n >= 0);
					check_arcs(d, v1_dev_state(d, from),
						   path, n);
					assert_int_equal(mt_v1_get(&c), to);
					/* the current text's view of the same state */
					assert_int_equal(mt_get_state(&c),
							 v1_dev_state(d, to));
				}
				done++;
			}
		}
		mt_close(&c, d);
	}
	print_message("%d 0.9.1 transitions (%d refused) as its table says\n",
		      done, refused);
}

/* ---- the device model fails ---- */

static void
test_fsm_arc_fails(void **state)
{
	struct mt_dev *d = &mt_sc;
	struct rc c;

	(void)state;
	d->pre_len = d->stop_len = 0;
	mt_open(&c, d, NULL);

	/* one arc, refused by the device: nothing changed */
	d->fail_to = S_STOP;
	d->fail_times = 1;
	assert_int_equal(mt_set_state(&c, S_STOP), -EIO);
	assert_int_equal(d->narcs, 1);
	assert_false(d->arcs[0].ok);
	assert_int_equal(mt_get_state(&c), S_RUNNING);

	/* the second arc of two fails: back to where the request started */
	mt_arcs_clear(d);
	d->fail_to = S_STOP_COPY;
	d->fail_times = 1;
	assert_int_equal(mt_set_state(&c, S_STOP_COPY), -EIO);
	assert_int_equal(d->narcs, 3);
	assert_true(d->arcs[0].ok && d->arcs[0].to == S_STOP);
	assert_true(!d->arcs[1].ok && d->arcs[1].to == S_STOP_COPY);
	assert_true(d->arcs[2].ok && d->arcs[2].from == S_STOP &&
		    d->arcs[2].to == S_RUNNING);
	assert_int_equal(mt_get_state(&c), S_RUNNING);

	/* and going back fails too: ERROR, which only a reset leaves */
	mt_arcs_clear(d);
	d->fail_to = S_STOP_COPY;
	d->fail_to2 = S_RUNNING;
	d->fail_times = 2;
	assert_int_equal(mt_set_state(&c, S_STOP_COPY), -EIO);
	assert_int_equal(mt_get_state(&c), S_ERROR);
	assert_int_equal(rte_vfio_user_get_mig_state(d->id), S_ERROR);
	mt_arcs_clear(d);
	for (uint32_t s = 0; s < 8; s++)
		assert_int_equal(mt_set_state(&c, s), -EINVAL);
	assert_int_equal(d->narcs, 0);
	assert_int_equal(mt_get_state(&c), S_ERROR);
	assert_int_equal(mt_reset(&c), 0);
	assert_int_equal(mt_get_state(&c), S_RUNNING);
	assert_int_equal(d->narcs, 1);	/* ERROR -> RUNNING, after the reset */
	assert_true(d->arcs[0].from == S_ERROR && d->arcs[0].to == S_RUNNING);
	d->cur = S_RUNNING;
	mt_close(&c, d);
}

/* The 0.9.1 view of ERROR, and its refusal of every write. */
static void
test_v1_error_state(void **state)
{
	struct mt_dev *d = &mt_sc;
	struct rc c;

	(void)state;
	d->pre_len = d->stop_len = 0;
	mt_open(&c, d, MT_JSON_V1);
	d->fail_to = S_STOP_COPY;
	d->fail_to2 = S_RUNNING;
	d->fail_times = 2;
	assert_int_equal(mt_v1_set(&c, 2), -EIO);
	assert_int_equal(mt_v1_get(&c), VFIO_USER_DEVICE_STATE_V1_ERROR);
	for (uint32_t v = 0; v < 8; v++)
		if (v != VFIO_USER_DEVICE_STATE_V1_ERROR)
			assert_int_equal(mt_v1_set(&c, v), -EINVAL);
	/* writing the state it is in is no transition */
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_ERROR), 0);
	assert_int_equal(mt_reset(&c), 0);
	assert_int_equal(mt_v1_get(&c), 1);
	d->cur = S_RUNNING;
	mt_close(&c, d);
}

/* ---- the client goes, a reset ---- */

static void
test_fsm_client_gone(void **state)
{
	struct mt_dev *d = &mt_all;
	int destroys;
	struct rc c;

	(void)state;
	d->pre_len = d->stop_len = 0;
	mt_open(&c, d, NULL);
	assert_int_equal(mt_set_state(&c, S_STOP_COPY), 0);
	mt_arcs_clear(d);
	destroys = d->destroy_count;
	mt_close(&c, d);
	/* after destroy_device, the device is told it runs again */
	assert_true(MT_WAIT(__atomic_load_n(&d->narcs, __ATOMIC_ACQUIRE) == 1,
			    2000));
	assert_true(d->arcs[0].from == S_STOP_COPY &&
		    d->arcs[0].to == S_RUNNING);
	assert_int_equal(d->arcs[0].destroys, destroys + 1);
	/* the next client finds it RUNNING */
	mt_open(&c, d, NULL);
	assert_int_equal(mt_get_state(&c), S_RUNNING);
	mt_close(&c, d);
}

/* ---- the feature messages ---- */

static void
test_feature_messages(void **state)
{
	const uint32_t hdr = sizeof(struct vfio_user_device_feature);
	struct vfio_user_device_feature_mig_state st = { S_STOP, 0 };
	uint64_t zero = 0;
	struct rc_reply r;
	struct rc c;

	(void)state;
	for (int i = 0; i < MT_NDEV; i++) {
		struct mt_dev *d = mt_devs[i];
		uint64_t flags;

		mt_open(&c, d, NULL);
		if (d->flags == 0) {
			assert_int_equal(mt_feature(&c, hdr + 8, F_GET | F_MIG,
						    NULL, 0, NULL),
					 -EINVAL);
			assert_int_equal(mt_feature(&c, hdr + 8,
						    F_GET | F_STATE, NULL, 0,
						    NULL),
					 -EINVAL);
			assert_int_equal(mt_feature(&c, 0,
						    F_PROBE | F_GET | F_MIG,
						    NULL, 0, NULL),
					 -EINVAL);
			assert_int_equal(mt_feature(&c, 0, F_SET | F_STATE, &st,
						    sizeof(st), NULL),
					 -EINVAL);
			assert_int_equal(mt_data_read(&c, 16, 8,
						      (uint8_t *)&flags),
					 -EINVAL);
			mt_close(&c, d);
			continue;
		}
		/* what the device offers, with or without room in the request */
		assert_int_equal(mt_feature(&c, hdr + 8, F_GET | F_MIG, NULL, 0,
					    &r),
				 0);
		assert_int_equal(r.size, hdr + 8);
		memcpy(&flags, r.payload + hdr, 8);
		assert_int_equal(flags, d->flags);
		assert_int_equal(((struct vfio_user_device_feature *)r.payload)
					 ->argsz,
				 hdr + 8);
		rc_reply_free(&r);
		assert_int_equal(mt_feature(&c, hdr + 8, F_GET | F_MIG, &zero,
					    8, NULL),
				 0);
		/* argsz without room for the data: the size needed, no data
		 * (the spec's "Message sizes"; EINVAL before) */
		for (uint32_t a = hdr; a < hdr + 8; a += 7) {
			assert_int_equal(mt_feature(&c, a, F_GET | F_MIG, NULL,
						    0, &r),
					 0);
			assert_int_equal(r.size, hdr);
			assert_int_equal(((struct vfio_user_device_feature *)
						  r.payload)
						 ->argsz,
					 hdr + 8);
			rc_reply_free(&r);
		}
		/* malformed: argsz below the header, odd data, SET */
		assert_int_equal(mt_feature(&c, hdr - 1, F_GET | F_MIG, NULL, 0,
					    NULL),
				 -EINVAL);
		assert_int_equal(mt_feature(&c, hdr + 8, F_GET | F_MIG, &zero,
					    4, NULL),
				 -EINVAL);
		assert_int_equal(mt_feature(&c, 0, F_SET | F_MIG, &zero, 8,
					    NULL),
				 -EINVAL);
		assert_int_equal(mt_feature(&c, 0, F_GET | F_SET | F_MIG, NULL,
					    0, NULL),
				 -EINVAL);
		/* probing: echoed, changes nothing */
		assert_int_equal(mt_feature(&c, 0, F_PROBE | F_GET | F_MIG,
					    NULL, 0, &r),
				 0);
		assert_int_equal(r.size, hdr);
		rc_reply_free(&r);
		assert_int_equal(mt_feature(&c, 0, F_PROBE | F_SET | F_MIG,
					    NULL, 0, NULL),
				 -EINVAL);
		assert_int_equal(mt_feature(&c, 0,
					    F_PROBE | F_GET | F_SET | F_STATE,
					    NULL, 0, NULL),
				 0);
		assert_int_equal(mt_feature(&c, 0, F_PROBE | F_SET | F_STATE,
					    &st, sizeof(st), NULL),
				 0);
		/* MIG_DEVICE_STATE: a SET needs its 8 bytes and room for them */
		mt_arcs_clear(d);
		assert_int_equal(mt_feature(&c, 0, F_SET | F_STATE, NULL, 0,
					    NULL),
				 -EINVAL);
		assert_int_equal(mt_feature(&c, 0, F_SET | F_STATE, &st, 4,
					    NULL),
				 -EINVAL);
		assert_int_equal(mt_feature(&c, hdr + 7, F_SET | F_STATE, &st,
					    sizeof(st), NULL),
				 -EINVAL);
		{
			uint8_t big[12] = { S_STOP };

			assert_int_equal(mt_feature(&c, 0, F_SET | F_STATE, big,
						    sizeof(big), NULL),
					 -EINVAL);
		}
		/* a GET without room: the size needed, no state */
		assert_int_equal(mt_feature(&c, hdr + 4, F_GET | F_STATE, NULL,
					    0, &r),
				 0);
		assert_int_equal(r.size, hdr);
		assert_int_equal(((struct vfio_user_device_feature *)r.payload)
					 ->argsz,
				 hdr + 8);
		rc_reply_free(&r);
		assert_int_equal(d->narcs, 0);
		assert_int_equal(mt_get_state(&c), S_RUNNING);
		/* GET answers data_fd -1 */
		assert_int_equal(mt_feature(&c, hdr + 8, F_GET | F_STATE, NULL,
					    0, &r),
				 0);
		memcpy(&st, r.payload + hdr, sizeof(st));
		assert_int_equal(st.device_state, S_RUNNING);
		assert_int_equal(st.data_fd, UINT32_MAX);
		rc_reply_free(&r);
		st.device_state = S_STOP;
		/* the connection survived all of it */
		assert_int_equal(rc_call(&c, VFIO_USER_DEVICE_GET_INFO,
					 &(struct vfio_user_device_info){
						 .argsz = 16 },
					 16, NULL, 0, NULL),
				 0);
		mt_close(&c, d);
	}
}

/* ---- the 0.9.1 region: offered or not, its accesses ---- */

static uint32_t
num_regions(struct rc *c)
{
	struct vfio_user_device_info in = { .argsz = sizeof(in) }, out;
	struct rc_reply r;

	assert_int_equal(rc_call(c, VFIO_USER_DEVICE_GET_INFO, &in, sizeof(in),
				 NULL, 0, &r),
			 0);
	memcpy(&out, r.payload, sizeof(out));
	rc_reply_free(&r);
	return out.num_regions;
}

/* VERSION with json: whether the reply grants "migration". */
static bool
version_grants(struct mt_dev *d, const char *json, struct rc *c)
{
	struct rc_reply r;
	json_t *root, *mig;
	bool granted;

	assert_int_equal(rc_connect(c, d->path, 2000), 0);
	assert_int_equal(rc_negotiate(c, json, &r), 0);
	root = json_loads((const char *)r.payload + 4, 0, NULL);
	assert_non_null(root);
	mig = json_object_get(json_object_get(root, "capabilities"),
			      "migration");
	granted = mig != NULL;
	if (granted)
		assert_int_equal(json_integer_value(
					 json_object_get(mig, "pgsize")),
				 4096);
	json_decref(root);
	rc_reply_free(&r);
	assert_true(MT_WAIT(rte_vfio_user_is_connected(d->id) == 1, 2000));
	return granted;
}

static void
test_v1_region_offered(void **state)
{
	struct vfio_user_region_info ri = {
		.argsz = sizeof(ri) + 64,
		.index = MT_MIG_REGION,
	};
	const struct vfio_user_region_info *rep;
	const struct vfio_user_cap_type *cap;
	struct rc_reply r;
	uint32_t v;
	struct rc c;

	(void)state;
	/* negotiated: a tenth region, of the migration type */
	assert_true(version_grants(&mt_sc, MT_JSON_V1, &c));
	assert_int_equal(num_regions(&c), VFIO_USER_PCI_NUM_REGIONS + 1);
	assert_int_equal(rc_call(&c, VFIO_USER_DEVICE_GET_REGION_INFO, &ri,
				 sizeof(ri), NULL, 0, &r),
			 0);
	rep = (const void *)r.payload;
	assert_int_equal(rep->index, MT_MIG_REGION);
	assert_true(rep->size > MT_V1_DATA_OFF);
	assert_int_equal(rep->flags & 7,
			 VFIO_USER_REGION_INFO_FLAG_READ |
				 VFIO_USER_REGION_INFO_FLAG_WRITE);
	assert_true(rep->flags & VFIO_USER_REGION_INFO_FLAG_CAPS);
	assert_int_equal(r.nfds, 0);
	cap = (const void *)(r.payload + rep->cap_offset);
	assert_int_equal(cap->header.id, VFIO_USER_REGION_CAP_TYPE);
	assert_int_equal(cap->type, VFIO_USER_REGION_TYPE_MIGRATION);
	assert_int_equal(cap->subtype, VFIO_USER_REGION_SUBTYPE_MIGRATION);
	rc_reply_free(&r);
	mt_close(&c, &mt_sc);

	/* QEMU's proposal (pgsize and max_bitmap_size) is granted too */
	assert_true(version_grants(
		&mt_sc,
		"{\"capabilities\":{\"migration\":"
		"{\"pgsize\":4096,\"max_bitmap_size\":268435456}}}",
		&c));
	mt_close(&c, &mt_sc);

	/* not asked for, pages too small, or a device without migration:
	 * nine regions, and the tenth is no region */
	assert_false(version_grants(&mt_sc, NULL, &c));
	assert_int_equal(num_regions(&c), VFIO_USER_PCI_NUM_REGIONS);
	assert_int_equal(rc_call(&c, VFIO_USER_DEVICE_GET_REGION_INFO, &ri,
				 sizeof(ri), NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 0, &v, 4, false),
			 -EINVAL);
	mt_close(&c, &mt_sc);
	assert_false(version_grants(&mt_sc,
				    "{\"capabilities\":{\"migration\":"
				    "{\"pgsize\":2048}}}",
				    &c));
	mt_close(&c, &mt_sc);
	assert_false(version_grants(&mt_none, MT_JSON_V1, &c));
	assert_int_equal(num_regions(&c), VFIO_USER_PCI_NUM_REGIONS);
	mt_close(&c, &mt_none);

	/* a malformed capability fails VERSION */
	assert_int_equal(rc_connect(&c, mt_sc.path, 2000), 0);
	assert_int_equal(rc_negotiate(&c,
				      "{\"capabilities\":{\"migration\":4}}",
				      NULL),
			 -EINVAL);
	assert_int_equal(rc_negotiate(&c,
				      "{\"capabilities\":{\"migration\":"
				      "{\"pgsize\":\"x\"}}}",
				      NULL),
			 -EINVAL);
	assert_int_equal(rc_negotiate(&c, MT_JSON_V1, NULL), 0);
	assert_int_equal(num_regions(&c), VFIO_USER_PCI_NUM_REGIONS + 1);
	assert_true(MT_WAIT(rte_vfio_user_is_connected(mt_sc.id) == 1, 2000));
	mt_close(&c, &mt_sc);
}

static void
test_v1_region_accesses(void **state)
{
	struct mt_dev *d = &mt_sc;
	uint8_t buf[64];
	uint64_t v64 = 0;
	uint32_t v = 0;
	struct rc c;

	(void)state;
	mt_open(&c, d, MT_JSON_V1);
	/* read-only fields, partial fields, the data area outside RESUMING,
	 * data_size outside RESUMING, across the start of the data */
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 8, &v64, 8, true),
			 -EINVAL);
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 16, &v64, 8, true),
			 -EINVAL);
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 0, &v, 2, true),
			 -EINVAL);
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 2, &v, 4, true),
			 -EINVAL);
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, MT_V1_DATA_OFF, buf,
				      16, true),
			 -EINVAL);
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 24, &v64, 8, true),
			 -EINVAL);
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, MT_V1_DATA_OFF - 8,
				      buf, 16, false),
			 -EINVAL);
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 64, buf, 16, true),
			 -EINVAL);
	/* reserved: writes ignored; the space after the fields reads 0 */
	v = 0xdead;
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 4, &v, 4, true), 0);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 64, buf, 64, false),
			 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	/* the whole structure at once */
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 0, buf, 32, false), 0);
	memcpy(&v, buf, 4);
	assert_int_equal(v, VFIO_USER_DEVICE_STATE_V1_RUNNING);
	memcpy(&v64, buf + 16, 8);
	assert_int_equal(v64, MT_V1_DATA_OFF);
	/* beyond the region */
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, 1ULL << 40, buf, 4,
				      false),
			 -EINVAL);
	assert_int_equal(mt_v1_get(&c), VFIO_USER_DEVICE_STATE_V1_RUNNING);
	assert_int_equal(d->narcs, 0);
	mt_close(&c, d);
}

const struct CMUnitTest mt_fsm_tests[] = {
	cmocka_unit_test_setup_teardown(test_fsm_known_paths, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_fsm_every_transition,
					mt_test_setup, mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v1_every_transition, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_fsm_arc_fails, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v1_error_state, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_fsm_client_gone, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_feature_messages, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v1_region_offered, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v1_region_accesses, mt_test_setup,
					mt_test_teardown),
};
const size_t mt_fsm_tests_n = RTE_DIM(mt_fsm_tests);
