/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Migration data through the raw protocol: MIG_DATA_READ / WRITE (the
 * current text) with their size rules, and the 0.9.1 region's
 * pending_bytes / data_offset / data_size iteration, in pre-copy,
 * stop-and-copy and resuming, with the device model's stream checked byte
 * by byte; bad data refused with the state kept.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "mt_common.h"

#define S_STOP RTE_VFIO_USER_MIG_STOP
#define S_RUNNING RTE_VFIO_USER_MIG_RUNNING
#define S_STOP_COPY RTE_VFIO_USER_MIG_STOP_COPY
#define S_RESUMING RTE_VFIO_USER_MIG_RESUMING
#define S_RUNNING_P2P RTE_VFIO_USER_MIG_RUNNING_P2P
#define S_PRE_COPY RTE_VFIO_USER_MIG_PRE_COPY
#define S_PRE_COPY_P2P RTE_VFIO_USER_MIG_PRE_COPY_P2P
#define MAX_XFER (1024u * 1024u)
#define V1_DATA_SIZE 65536u

#define OFF_PENDING offsetof(struct vfio_user_migration_info, pending_bytes)
#define OFF_DATA_OFF offsetof(struct vfio_user_migration_info, data_offset)
#define OFF_DATA_SIZE offsetof(struct vfio_user_migration_info, data_size)

static uint8_t buf[MAX_XFER];

static void
check_pattern(const uint8_t *p, uint64_t pos, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != mt_pattern(pos + i))
			fail_msg("stream byte %zu (at %zu of a chunk) differs",
				 (size_t)(pos + i), i);
}

static void
fill_pattern(uint8_t *p, uint64_t pos, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = mt_pattern(pos + i);
}

/* Read the stream with MIG_DATA_READ until a short reply; its length. */
static uint64_t
v2_read_all(struct rc *c, uint64_t pos, uint32_t chunk)
{
	uint64_t start = pos;
	int n;

	do {
		n = mt_data_read(c, 8 + chunk, chunk, buf);
		assert_true(n >= 0);
		check_pattern(buf, pos, (size_t)n);
		pos += (uint64_t)n;
	} while ((uint32_t)n == chunk);
	return pos - start;
}

/* ---- the current text ---- */

static void
test_v2_stop_copy(void **state)
{
	struct mt_dev *d = &mt_sc;
	uint64_t total = 3000 + 200000;
	struct rc c;

	(void)state;
	d->save_max = 10000;	/* a device that gives its data in pieces */
	mt_open(&c, d, NULL);
	assert_int_equal(mt_set_state(&c, S_STOP_COPY), 0);
	assert_int_equal(v2_read_all(&c, 0, 65536), total);
	/* the end stays the end */
	assert_int_equal(mt_data_read(&c, 8 + 4096, 4096, buf), 0);
	/* a new session starts the stream again */
	assert_int_equal(mt_set_state(&c, S_STOP), 0);
	assert_int_equal(mt_set_state(&c, S_STOP_COPY), 0);
	assert_int_equal(mt_data_read(&c, 8 + 100, 100, buf), 100);
	check_pattern(buf, 0, 100);
	/* odd sizes, a byte at a time too */
	assert_int_equal(mt_data_read(&c, 9, 1, buf), 1);
	check_pattern(buf, 100, 1);
	assert_int_equal(v2_read_all(&c, 101, 77777), total - 101);
	mt_close(&c, d);
}

static void
test_v2_read_rules(void **state)
{
	struct mt_dev *d = &mt_sc;
	struct vfio_user_mig_data q = { .argsz = 16, .size = 8 };
	uint8_t longer[16] = { 16, 0, 0, 0, 8 };
	struct rc c;

	(void)state;
	mt_open(&c, d, NULL);
	/* outside the saving states */
	assert_int_equal(mt_data_read(&c, 16, 8, buf), -EINVAL);
	assert_int_equal(mt_set_state(&c, S_RESUMING), 0);
	assert_int_equal(mt_data_read(&c, 16, 8, buf), -EINVAL);
	assert_int_equal(mt_set_state(&c, S_STOP_COPY), -EINVAL);
	assert_int_equal(mt_reset(&c), 0);
	assert_int_equal(mt_set_state(&c, S_STOP_COPY), 0);
	/* more than max_data_xfer_size, argsz without room, a payload
	 * that is not 8 bytes */
	assert_int_equal(mt_data_read(&c, 8 + MAX_XFER + 1, MAX_XFER + 1, buf),
			 -EINVAL);
	assert_int_equal(mt_data_read(&c, 8 + 99, 100, buf), -EINVAL);
	assert_int_equal(mt_data_read(&c, 0, 100, buf), -EINVAL);
	assert_int_equal(rc_call(&c, VFIO_USER_MIG_DATA_READ, longer,
				 sizeof(longer), NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(rc_call(&c, VFIO_USER_MIG_DATA_READ, &q, 4, NULL, 0,
				 NULL),
			 -EINVAL);
	/* none of it consumed the stream, nor left STOP_COPY */
	assert_int_equal(mt_get_state(&c), S_STOP_COPY);
	assert_int_equal(mt_data_read(&c, 8 + 50, 50, buf), 50);
	check_pattern(buf, 0, 50);
	/* the largest read allowed */
	assert_int_equal(mt_data_read(&c, 8 + MAX_XFER, MAX_XFER, buf),
			 3000 + 200000 - 50);
	check_pattern(buf, 50, 3000 + 200000 - 50);
	/* size 0 reads nothing */
	assert_int_equal(mt_data_read(&c, 8, 0, buf), 0);
	mt_close(&c, d);
}

static void
test_v2_resume(void **state)
{
	struct mt_dev *d = &mt_p2p;
	uint64_t total = 3000 + 200000, pos = 0;
	uint32_t chunk = 7777;
	struct rc c;

	(void)state;
	mt_open(&c, d, NULL);
	/* outside RESUMING */
	fill_pattern(buf, 0, 100);
	assert_int_equal(mt_data_write(&c, 108, 100, buf, 100), -EINVAL);
	assert_int_equal(mt_set_state(&c, S_RESUMING), 0);
	/* size and payload disagree */
	assert_int_equal(mt_data_write(&c, 108, 99, buf, 100), -EINVAL);
	assert_int_equal(mt_data_write(&c, 108, 101, buf, 100), -EINVAL);
	assert_int_equal(d->load_pos, 0);
	/* the stream in odd pieces; argsz as libvfio-user's client sends it
	 * (8 + size) and as the spec reads (the largest reply payload: 0
	 * or 8, there is none), both taken */
	for (int k = 0; pos < total; k++) {
		uint32_t n = (uint32_t)RTE_MIN((uint64_t)chunk, total - pos);
		const uint32_t argsz[] = { 8 + n, 8, 0 };

		fill_pattern(buf, pos, n);
		assert_int_equal(mt_data_write(&c, argsz[k % 3], n, buf, n), 0);
		pos += n;
		chunk = chunk * 3 % 65521 + 1;
	}
	assert_int_equal(d->load_pos, total);
	mt_arcs_clear(d);
	assert_int_equal(mt_set_state(&c, S_RUNNING), 0);
	/* RESUMING -> STOP -> RUNNING_P2P -> RUNNING */
	assert_int_equal(d->narcs, 3);
	assert_true(d->arcs[0].to == S_STOP && d->arcs[0].ok);
	assert_true(d->arcs[2].to == S_RUNNING && d->arcs[2].ok);
	mt_close(&c, d);
}

static void
test_v2_resume_bad(void **state)
{
	struct mt_dev *d = &mt_sc;
	struct rc c;

	(void)state;
	mt_open(&c, d, NULL);
	/* corrupt data: the device's error; it stays RESUMING, and will not
	 * leave it with what it has */
	assert_int_equal(mt_set_state(&c, S_RESUMING), 0);
	fill_pattern(buf, 0, 1000);
	buf[500] ^= 1;
	assert_int_equal(mt_data_write(&c, 1008, 1000, buf, 1000), -EBADMSG);
	assert_int_equal(mt_set_state(&c, S_STOP), -EINVAL);
	assert_int_equal(mt_set_state(&c, S_RUNNING), -EINVAL);
	assert_int_equal(mt_get_state(&c), S_RESUMING);
	/* incomplete data: the same */
	assert_int_equal(mt_reset(&c), 0);
	assert_int_equal(mt_set_state(&c, S_RESUMING), 0);
	fill_pattern(buf, 0, 1000);
	assert_int_equal(mt_data_write(&c, 1008, 1000, buf, 1000), 0);
	assert_int_equal(mt_set_state(&c, S_RUNNING), -EINVAL);
	assert_int_equal(mt_get_state(&c), S_RESUMING);
	/* a reset recovers */
	assert_int_equal(mt_reset(&c), 0);
	assert_int_equal(mt_get_state(&c), S_RUNNING);
	mt_close(&c, d);
}

static void
test_v2_pre_copy(void **state)
{
	struct rc c;

	(void)state;
	for (int i = 0; i < 2; i++) {
		struct mt_dev *d = i == 0 ? &mt_pre : &mt_all;

		mt_open(&c, d, NULL);
		assert_int_equal(mt_set_state(&c, S_PRE_COPY), 0);
		/* the initial data, then none for now */
		assert_int_equal(v2_read_all(&c, 0, 1024), 3000);
		assert_int_equal(mt_data_read(&c, 8 + 1024, 1024, buf), 0);
		/* the rest after the stop, the stream going on */
		assert_int_equal(mt_set_state(&c, S_STOP_COPY), 0);
		assert_int_equal(v2_read_all(&c, 3000, 65536), 200000);
		assert_int_equal(mt_set_state(&c, S_STOP), 0);
		if (d == &mt_all) {
			/* and through RUNNING_P2P -> PRE_COPY_P2P */
			assert_int_equal(mt_set_state(&c, S_RUNNING_P2P), 0);
			assert_int_equal(mt_set_state(&c, S_PRE_COPY_P2P), 0);
			assert_int_equal(v2_read_all(&c, 0, 512), 3000);
			assert_int_equal(mt_set_state(&c, S_STOP_COPY), 0);
			assert_int_equal(v2_read_all(&c, 3000, 65536), 200000);
		}
		mt_close(&c, d);
	}
}

/* ---- 0.9.1 ---- */

/* One save iteration: its data_size (0: pending_bytes was 0). */
static uint64_t
v1_iteration(struct rc *c, uint64_t pos, bool twice)
{
	uint64_t pending, off, size;

	pending = mt_v1_field(c, OFF_PENDING);
	if (twice)	/* reading it again changes nothing */
		assert_int_equal(mt_v1_field(c, OFF_PENDING), pending);
	if (pending == 0)
		return 0;
	off = mt_v1_field(c, OFF_DATA_OFF);
	assert_int_equal(off, MT_V1_DATA_OFF);
	size = mt_v1_field(c, OFF_DATA_SIZE);
	assert_true(size > 0 && size <= pending && size <= V1_DATA_SIZE);
	for (uint64_t done = 0; done < size;) {
		uint32_t n = (uint32_t)RTE_MIN(size - done, (uint64_t)20000);

		assert_int_equal(mt_region_rw(c, MT_MIG_REGION, off + done, buf,
					      n, false),
				 0);
		check_pattern(buf, pos + done, n);
		done += n;
	}
	return size;
}

static uint64_t
v1_save_all(struct rc *c, uint64_t pos)
{
	uint64_t start = pos, n;
	int it = 0;

	while ((n = v1_iteration(c, pos, it++ == 0)) > 0)
		pos += n;
	return pos - start;
}

static void
test_v1_stop_copy(void **state)
{
	struct mt_dev *d = &mt_sc;
	struct rc c;

	(void)state;
	mt_open(&c, d, MT_JSON_V1);
	/* running: nothing pending */
	assert_int_equal(mt_v1_field(&c, OFF_PENDING), 0);
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_SAVING), 0);
	assert_int_equal(v1_save_all(&c, 0), 203000);
	assert_int_equal(mt_v1_field(&c, OFF_PENDING), 0);
	/* stopped; a new session from the start */
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_STOP), 0);
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_RUNNING), 0);
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_SAVING), 0);
	/* a chunk staged by pending_bytes, taken by MIG_DATA_READ: the
	 * two forms read one stream */
	assert_true(mt_v1_field(&c, OFF_PENDING) > 0);
	assert_int_equal(v2_read_all(&c, 0, 65536), 203000);
	mt_close(&c, d);
}

static void
test_v1_pre_copy(void **state)
{
	struct rc c;

	(void)state;
	/* a device with PRE_COPY: its initial data, then "try again" */
	mt_open(&c, &mt_pre, MT_JSON_V1);
	assert_int_equal(mt_v1_set(&c, 3), 0);
	assert_int_equal(mt_get_state(&c), S_PRE_COPY);
	assert_int_equal(v1_save_all(&c, 0), 3000);
	assert_int_equal(mt_v1_field(&c, OFF_PENDING), 0);
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_SAVING), 0);
	assert_int_equal(v1_save_all(&c, 3000), 200000);
	mt_close(&c, &mt_pre);

	/* without PRE_COPY: the device runs on, nothing pending, and the
	 * stop-and-copy has it all */
	mt_open(&c, &mt_sc, MT_JSON_V1);
	mt_arcs_clear(&mt_sc);
	assert_int_equal(mt_v1_set(&c, 3), 0);
	assert_int_equal(mt_v1_get(&c), 3);
	assert_int_equal(mt_get_state(&c), S_RUNNING);
	assert_int_equal(mt_sc.narcs, 0);
	assert_int_equal(mt_v1_field(&c, OFF_PENDING), 0);
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_SAVING), 0);
	assert_int_equal(mt_sc.narcs, 2);	/* RUNNING -> STOP -> STOP_COPY */
	assert_int_equal(v1_save_all(&c, 0), 203000);
	mt_close(&c, &mt_sc);
}

/* Write the stream through the data area, data_size after each chunk. */
static int
v1_load(struct rc *c, uint64_t total, uint32_t chunk, uint64_t corrupt_at)
{
	uint64_t pos = 0;

	assert_int_equal(mt_v1_field(c, OFF_DATA_OFF), MT_V1_DATA_OFF);
	while (pos < total) {
		uint32_t n = (uint32_t)RTE_MIN((uint64_t)chunk, total - pos);
		uint64_t size = n;
		int ret;

		fill_pattern(buf, pos, n);
		if (corrupt_at >= pos && corrupt_at < pos + n)
			buf[corrupt_at - pos] ^= 0x80;
		for (uint32_t k = 0; k < n; k += 16384)
			assert_int_equal(mt_region_rw(c, MT_MIG_REGION,
						      MT_V1_DATA_OFF + k,
						      buf + k,
						      RTE_MIN(16384u, n - k),
						      true),
					 0);
		ret = mt_region_rw(c, MT_MIG_REGION, OFF_DATA_SIZE, &size, 8,
				   true);
		if (ret < 0)
			return ret;
		assert_int_equal(mt_v1_field(c, OFF_DATA_SIZE), n);
		pos += n;
	}
	return 0;
}

static void
test_v1_resume(void **state)
{
	struct mt_dev *d = &mt_sc;
	uint64_t big = V1_DATA_SIZE + 1;
	struct rc c;

	(void)state;
	mt_open(&c, d, MT_JSON_V1);
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_RESUMING), 0);
	assert_int_equal(mt_get_state(&c), S_RESUMING);
	/* more than the data area holds */
	assert_int_equal(mt_region_rw(&c, MT_MIG_REGION, OFF_DATA_SIZE, &big, 8,
				      true),
			 -EINVAL);
	assert_int_equal(v1_load(&c, 203000, V1_DATA_SIZE, UINT64_MAX), 0);
	assert_int_equal(d->load_pos, 203000);
	mt_arcs_clear(d);
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_RUNNING), 0);
	assert_int_equal(d->narcs, 2);	/* RESUMING -> STOP -> RUNNING */
	assert_int_equal(mt_get_state(&c), S_RUNNING);

	/* a corrupt chunk: its data_size write fails, the device keeps
	 * RESUMING and refuses to run with what it got */
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_RESUMING), 0);
	assert_int_equal(v1_load(&c, 203000, 30000, 100000), -EBADMSG);
	assert_int_equal(mt_v1_set(&c, VFIO_USER_DEVICE_STATE_V1_RUNNING),
			 -EINVAL);
	assert_int_equal(mt_v1_get(&c), VFIO_USER_DEVICE_STATE_V1_RESUMING);
	assert_int_equal(mt_reset(&c), 0);
	assert_int_equal(mt_v1_get(&c), VFIO_USER_DEVICE_STATE_V1_RUNNING);
	mt_close(&c, d);
}

const struct CMUnitTest mt_data_tests[] = {
	cmocka_unit_test_setup_teardown(test_v2_stop_copy, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v2_read_rules, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v2_resume, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v2_resume_bad, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v2_pre_copy, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v1_stop_copy, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v1_pre_copy, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_v1_resume, mt_test_setup,
					mt_test_teardown),
};
const size_t mt_data_tests_n = RTE_DIM(mt_data_tests);
