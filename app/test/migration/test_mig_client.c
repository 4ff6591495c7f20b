/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The client API of migration and DMA logging (rte_vfio_user_client.h)
 * against the same in-process devices: the FSM, streams larger than one
 * message both ways, refusals, and the dirty bitmap of a device's writes.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_errno.h>

#include <rte_vfio_user_client.h>

#include "mt_common.h"

#define BIG (3u << 20)

static struct rte_vfio_user_client *
attach(struct mt_dev *d)
{
	/* replies of at most 64 KiB: the server and this client share the
	 * library's event thread, and a reply larger than the socket buffer
	 * would wait for the thread that sends it */
	struct rte_vfio_user_client_conf conf = {
		.path = d->path,
		.timeout_ms = 5000,
		.max_xfer = 65536,
	};
	struct rte_vfio_user_client *c = rte_vfio_user_client_attach(&conf);

	if (c == NULL)
		fail_msg("attach %s: %s", d->path, rte_strerror(rte_errno));
	assert_true(MT_WAIT(rte_vfio_user_is_connected(d->id) == 1, 2000));
	return c;
}

static void
detach(struct rte_vfio_user_client *c, struct mt_dev *d)
{
	rte_vfio_user_client_detach(c);
	assert_true(
		MT_WAIT(rte_vfio_user_is_connected(d->id) == 0 &&
				rte_vfio_user_get_mem_table(d->id)->nregions ==
					0,
			5000));
	if (d->flags != 0)
		assert_true(MT_WAIT(rte_vfio_user_get_mig_state(d->id) ==
					    RTE_VFIO_USER_MIG_RUNNING,
				    2000));
}

static void
test_client_save_load(void **state)
{
	uint8_t *stream = malloc(BIG + 4096);
	struct rte_vfio_user_client *c;
	uint64_t flags;
	uint32_t st;
	ssize_t n;

	(void)state;
	assert_non_null(stream);
	/* save from "all": pre-copy, then the rest, more than 1 MiB */
	mt_all.stop_len = BIG - 3000;
	c = attach(&mt_all);
	assert_int_equal(rte_vfio_user_client_mig_flags(c, &flags), 0);
	assert_int_equal(flags, mt_all.flags);
	assert_int_equal(rte_vfio_user_client_mig_get_state(c, &st), 0);
	assert_int_equal(st, RTE_VFIO_USER_MIG_RUNNING);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_PRE_COPY),
			 0);
	n = rte_vfio_user_client_mig_read(c, stream, BIG + 4096);
	assert_int_equal(n, 3000); /* the pre-copy part: no more for now */
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_STOP_COPY),
			 0);
	n = rte_vfio_user_client_mig_read(c, stream + 3000, BIG + 4096 - 3000);
	assert_int_equal(n, BIG - 3000);
	for (size_t i = 0; i < BIG; i++)
		if (stream[i] != mt_pattern(i))
			fail_msg("saved byte %zu differs", i);
	/* refused: not a state, blocked; nothing changed */
	assert_int_equal(rte_vfio_user_client_mig_set_state(c, 99), -EINVAL);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_PRE_COPY),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_mig_get_state(c, &st), 0);
	assert_int_equal(st, RTE_VFIO_USER_MIG_STOP_COPY);
	/* MIG_DATA_WRITE outside RESUMING */
	assert_int_equal(rte_vfio_user_client_mig_write(c, stream, 10),
			 -EINVAL);
	detach(c, &mt_all);

	/* load it into "pre", in messages of at most 1 MiB */
	mt_pre.stop_len = BIG - 3000;
	c = attach(&mt_pre);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_RESUMING),
			 0);
	assert_int_equal(rte_vfio_user_client_mig_write(c, stream, BIG), 0);
	assert_int_equal(mt_pre.load_pos, BIG);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_RUNNING),
			 0);
	assert_int_equal(rte_vfio_user_client_mig_read(c, stream, 10), -EINVAL);
	/* corrupt: the device's error comes back */
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_RESUMING),
			 0);
	stream[5] ^= 1;
	assert_int_equal(rte_vfio_user_client_mig_write(c, stream, 100),
			 -EBADMSG);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_RUNNING),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_reset(c), 0);
	assert_int_equal(rte_vfio_user_client_mig_get_state(c, &st), 0);
	assert_int_equal(st, RTE_VFIO_USER_MIG_RUNNING);
	detach(c, &mt_pre);

	/* not migratable */
	c = attach(&mt_none);
	assert_int_equal(rte_vfio_user_client_mig_flags(c, &flags), -ENOTSUP);
	assert_int_equal(rte_vfio_user_client_mig_get_state(c, &st), -ENOTSUP);
	detach(c, &mt_none);
	free(stream);
}

static void
test_client_dma_logging(void **state)
{
	const uint64_t iova = 0x100000, size = 16 * 4096;
	struct vfio_user_dma_logging_range rg = { iova, size };
	struct rte_vfio_user_client *c;
	uint64_t pgsz = 4096, bits[2];
	uint8_t *mem;
	int fd;

	(void)state;
	fd = memfd_create("mt-dma", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	c = attach(&mt_sc);
	assert_int_equal(
		rte_vfio_user_client_dma_map(c, iova, size, mem, fd, 0,
					     VFIO_USER_DMA_MAP_F_READ |
						     VFIO_USER_DMA_MAP_F_WRITE),
		0);
	/* not logging yet */
	assert_int_equal(rte_vfio_user_client_dma_logging_report(c, iova, size,
								 4096, bits,
								 sizeof(bits)),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_dma_logging_start(c, &pgsz, &rg,
								1),
			 0);
	assert_int_equal(pgsz, 4096);
	assert_int_equal(rte_vfio_user_client_dma_logging_start(c, &pgsz, &rg,
								1),
			 -EBUSY);
	/* the device writes pages 3 and 9 (as its data path would) */
	assert_int_equal(rte_vfio_user_dma_write(mt_sc.id, iova + 3 * 4096 + 10,
						 "x", 1),
			 0);
	assert_int_equal(rte_vfio_user_mark_dirty(mt_sc.id, iova + 9 * 4096, 1),
			 0);
	assert_int_equal(rte_vfio_user_client_dma_logging_report(c, iova, size,
								 4096, bits,
								 sizeof(bits)),
			 0);
	assert_int_equal(bits[0], (1u << 3) | (1u << 9));
	/* read and cleared */
	assert_int_equal(rte_vfio_user_client_dma_logging_report(c, iova, size,
								 4096, bits,
								 sizeof(bits)),
			 0);
	assert_int_equal(bits[0], 0);
	/* at 16 KiB */
	assert_int_equal(rte_vfio_user_mark_dirty(mt_sc.id, iova + 5 * 4096, 1),
			 0);
	assert_int_equal(rte_vfio_user_client_dma_logging_report(c, iova, size,
								 16384, bits,
								 sizeof(bits)),
			 0);
	assert_int_equal(bits[0], 1u << 1);
	/* bad arguments: no room, not a power of 2 */
	assert_int_equal(rte_vfio_user_client_dma_logging_report(c, iova, size,
								 4096, bits, 0),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_dma_logging_report(c, iova, size,
								 3000, bits,
								 sizeof(bits)),
			 -EINVAL);
	/* outside the mapping: clean (a device logs by IOVA) */
	bits[0] = ~0ull;
	assert_int_equal(rte_vfio_user_client_dma_logging_report(c, iova + size,
								 size, 4096,
								 bits,
								 sizeof(bits)),
			 0);
	assert_int_equal(bits[0], 0);
	assert_int_equal(rte_vfio_user_client_dma_logging_stop(c), 0);
	assert_int_equal(rte_vfio_user_client_dma_logging_report(c, iova, size,
								 4096, bits,
								 sizeof(bits)),
			 -EINVAL);
	assert_int_equal(rte_vfio_user_client_dma_unmap(c, iova, size), 0);
	detach(c, &mt_sc);
	munmap(mem, size);
	close(fd);
}

const struct CMUnitTest mt_client_tests[] = {
	cmocka_unit_test_setup_teardown(test_client_save_load, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_client_dma_logging, mt_test_setup,
					mt_test_teardown),
};
const size_t mt_client_tests_n = RTE_DIM(mt_client_tests);
