/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef MT_COMMON_H
#define MT_COMMON_H

/*
 * Fixture of the migration suite: small PCI devices served in-process by
 * librte_vfio_user, each with a test device model that logs every
 * migration arc the library asks for and saves / loads a known byte
 * stream, on sockets in a private mkdtemp directory. The tests talk to
 * them with the raw test client (the protocol, byte by byte) and with the
 * library's client API.
 *
 * Devices (migration flags): sc (STOP_COPY), p2p (STOP_COPY | P2P), pre
 * (STOP_COPY | PRE_COPY), all (all three), none (not migratable).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_vfio_user.h>

#include "raw_client.h"
#include "vfio_user_proto.h"

#define MT_MAX_ARCS	64
#define MT_NDEV		5

/* The 0.9.1 region is appended after the PCI regions. */
#define MT_MIG_REGION	VFIO_USER_PCI_NUM_REGIONS
#define MT_V1_DATA_OFF	4096u

struct mt_arc {
	uint8_t from, to;
	bool ok;
	int destroys;			/* destroy_device calls before it */
};

struct mt_dev {
	const char *name;
	int id;
	char path[128];
	uint64_t flags;			/* migration flags, 0: none */
	uint8_t config[256];
	uint8_t bar0[4096];
	int destroy_count;		/* atomic */
	/* arcs, as the device model was asked for them */
	int narcs;			/* atomic */
	struct mt_arc arcs[MT_MAX_ARCS];
	/* knobs */
	int fail_to;			/* state_change(..., fail_to) fails */
	int fail_to2;			/* ... and state_change(..., fail_to2) */
	int fail_times;			/* that many times (then works) */
	uint32_t pre_len;		/* bytes saved in a pre-copy state */
	uint32_t stop_len;		/* bytes added in STOP_COPY */
	uint32_t save_max;		/* largest save() chunk (0: any) */
	/* save / load sessions */
	uint64_t save_pos;
	uint64_t load_pos;
	bool load_bad;			/* a load saw a wrong byte */
	uint32_t cur;			/* state as the model sees it */
};

extern struct mt_dev mt_sc, mt_p2p, mt_pre, mt_all, mt_none;
extern struct mt_dev *const mt_devs[MT_NDEV];

/* Byte p of the test stream. */
static inline uint8_t
mt_pattern(uint64_t p)
{
	return (uint8_t)(p * 131 + (p >> 8) + 7);
}

int mt_server_setup(void);
void mt_server_teardown(void);
int mt_test_setup(void **state);
int mt_test_teardown(void **state);
uint64_t mt_now_ms(void);

#define MT_WAIT(cond, ms)                                     \
	({                                                    \
		uint64_t _end = mt_now_ms() + (ms);           \
		bool _ok;                                     \
		while (!(_ok = (cond)) && mt_now_ms() < _end) \
			usleep(200);                          \
		_ok;                                          \
	})

/* Reset the model's knobs and arc log. */
void mt_dev_reset_knobs(struct mt_dev *d);
/* Forget the arcs logged so far. */
void mt_arcs_clear(struct mt_dev *d);

/* Connect and negotiate (json NULL: none); mt_close waits for teardown. */
void mt_open(struct rc *c, struct mt_dev *d, const char *json);
void mt_close(struct rc *c, struct mt_dev *d);
/* Negotiate 0.9.1's migration capability. */
#define MT_JSON_V1 "{\"capabilities\":{\"migration\":{\"pgsize\":4096}}}"

/* DEVICE_FEATURE with data (argsz 0: header + data); reply in r. */
int mt_feature(struct rc *c, uint32_t argsz, uint32_t flags, const void *data,
	       uint32_t len, struct rc_reply *r);
/* SET / GET MIG_DEVICE_STATE through the protocol. */
int mt_set_state(struct rc *c, uint32_t state);
uint32_t mt_get_state(struct rc *c);
int mt_reset(struct rc *c);

/* The 0.9.1 migration region. */
int mt_region_rw(struct rc *c, uint32_t region, uint64_t off, void *buf,
		 uint32_t count, bool write);
int mt_v1_set(struct rc *c, uint32_t v);
uint32_t mt_v1_get(struct rc *c);
uint64_t mt_v1_field(struct rc *c, size_t off);

/* MIG_DATA_READ / WRITE: returns the reply's size or -errno. */
int mt_data_read(struct rc *c, uint32_t argsz, uint32_t size, uint8_t *out);
int mt_data_write(struct rc *c, uint32_t argsz, uint32_t size,
		  const uint8_t *data, uint32_t len);

/* Reference of the FSM, from the specification's text: the arcs from one
 * state to another (-1: refused). */
int mt_ref_path(uint64_t flags, uint32_t from, uint32_t to, uint32_t *path);
bool mt_has_state(uint64_t flags, uint32_t s);
bool mt_saving(uint32_t s);

/* Test groups. */
extern const struct CMUnitTest mt_fsm_tests[];
extern const size_t mt_fsm_tests_n;
extern const struct CMUnitTest mt_data_tests[];
extern const size_t mt_data_tests_n;
extern const struct CMUnitTest mt_client_tests[];
extern const size_t mt_client_tests_n;
extern const struct CMUnitTest mt_logging_tests[];
extern const size_t mt_logging_tests_n;

#endif /* MT_COMMON_H */
