/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>

#include "mt_common.h"

#define F_SET VFIO_USER_DEVICE_FEATURE_SET
#define HDR ((uint32_t)sizeof(struct vfio_user_device_feature))

static int
log_start(struct rc *c, uint64_t pgsz, uint32_t n,
	  const struct vfio_user_dma_logging_range *rg, uint64_t *outpg)
{
	uint8_t buf[sizeof(struct vfio_user_dma_logging_control) + 16 * 8];
	struct vfio_user_dma_logging_control *ctl = (void *)buf;
	struct rc_reply r;
	int ret;

	memset(buf, 0, sizeof(buf));
	ctl->page_size = pgsz;
	ctl->num_ranges = n;
	memcpy(ctl + 1, rg, n * sizeof(*rg));
	ret = mt_feature(c, 0, F_SET | VFIO_USER_FEATURE_DMA_LOGGING_START, buf,
			 (uint32_t)(sizeof(*ctl) + n * sizeof(*rg)), &r);
	if (ret == 0 && outpg != NULL)
		memcpy(outpg, r.payload + HDR, 8);
	rc_reply_free(&r);
	return ret;
}

static int
log_stop(struct rc *c)
{
	return mt_feature(c, 0, F_SET | VFIO_USER_FEATURE_DMA_LOGGING_STOP,
			  NULL, 0, NULL);
}

/*
 * DMA_LOGGING_START's ranges, as <linux/vfio.h>'s core checks them
 * (vfio_ioctl_device_feature_logging_start): aligned to the page size,
 * not wrapping (EOVERFLOW), not overlapping; nothing started when refused.
 * The page size is a hint: ranges aligned to a smaller one are taken.
 */
static void
test_logging_ranges(void **state)
{
	const uint64_t iova = 0x100000;
	struct vfio_user_dma_logging_range rg[2];
	uint64_t pg = 0;
	struct rc c;

	(void)state;
	mt_open(&c, &mt_sc, NULL);
	rg[0] = (struct vfio_user_dma_logging_range){ iova, 8 * 4096 };
	rg[1] = (struct vfio_user_dma_logging_range){ iova + 4096, 8 * 4096 };
	assert_int_equal(log_start(&c, 4096, 2, rg, &pg), -EINVAL);
	rg[1] = (struct vfio_user_dma_logging_range){ iova - 4096, 4096 };
	assert_int_equal(log_start(&c, 4096, 2, rg, &pg), 0);	/* adjacent */
	assert_int_equal(log_stop(&c), 0);
	rg[0] = (struct vfio_user_dma_logging_range){ iova + 1, 4096 };
	assert_int_equal(log_start(&c, 4096, 1, rg, &pg), -EINVAL);
	rg[0] = (struct vfio_user_dma_logging_range){ iova, 4095 };
	assert_int_equal(log_start(&c, 4096, 1, rg, &pg), -EINVAL);
	rg[0] = (struct vfio_user_dma_logging_range){ iova, 4096 };
	assert_int_equal(log_start(&c, 8192, 1, rg, &pg), -EINVAL);
	rg[0] = (struct vfio_user_dma_logging_range){ UINT64_MAX - 4095, 8192 };
	assert_int_equal(log_start(&c, 4096, 1, rg, &pg), -EOVERFLOW);
	rg[0] = (struct vfio_user_dma_logging_range){ iova, 0 };
	assert_int_equal(log_start(&c, 4096, 1, rg, &pg), -EINVAL);
	/* the page size is a hint: ranges aligned to a smaller one are
	 * logged at ours */
	rg[0] = (struct vfio_user_dma_logging_range){ iova + 512, 1024 };
	assert_int_equal(log_start(&c, 512, 1, rg, &pg), 0);
	assert_int_equal(pg, 4096);
	assert_int_equal(log_stop(&c), 0);
	assert_int_equal(log_start(&c, 1024, 1, rg, &pg), -EINVAL);
	/* none of those started it */
	rg[0] = (struct vfio_user_dma_logging_range){ iova, 8 * 4096 };
	assert_int_equal(log_start(&c, 4096, 1, rg, &pg), 0);
	assert_int_equal(pg, 4096);
	assert_int_equal(log_stop(&c), 0);
	mt_close(&c, &mt_sc);
}

/*
 * Review: the logging features' refusals. An operation a feature does not
 * have, or a feature there is not: EINVAL, as libvfio-user's (ENOTSUP
 * before); an argsz below the reply's fixed header: EINVAL whatever the
 * feature (a REPORT was answered before).
 */
static void
test_logging_refusals(void **state)
{
	const uint32_t get = VFIO_USER_DEVICE_FEATURE_GET;
	const uint32_t probe = VFIO_USER_DEVICE_FEATURE_PROBE;
	struct vfio_user_dma_logging_report rq = { 0x100000, 4096, 4096 };
	const struct vfio_user_dma_logging_range rg = { 0x100000, 4096 };
	struct rc c;

	(void)state;
	mt_open(&c, &mt_sc, NULL);
	assert_int_equal(mt_feature(&c, 0,
				    get | VFIO_USER_FEATURE_DMA_LOGGING_START,
				    NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(mt_feature(&c, 0,
				    probe | get |
					    VFIO_USER_FEATURE_DMA_LOGGING_STOP,
				    NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(
		mt_feature(&c, 0, F_SET | VFIO_USER_FEATURE_DMA_LOGGING_REPORT,
			   &rq, sizeof(rq), NULL),
		-EINVAL);
	assert_int_equal(mt_feature(&c, 0, probe | get | 3, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(mt_feature(&c, 0, get | 12, NULL, 0, NULL), -EINVAL);
	/* argsz below the header: refused, logging on or not */
	assert_int_equal(log_start(&c, 4096, 1, &rg, NULL), 0);
	assert_int_equal(mt_feature(&c, 4,
				    get | VFIO_USER_FEATURE_DMA_LOGGING_REPORT,
				    &rq, sizeof(rq), NULL),
			 -EINVAL);
	assert_int_equal(
		mt_feature(&c, HDR - 1,
			   probe | get | VFIO_USER_FEATURE_DMA_LOGGING_REPORT,
			   NULL, 0, NULL),
		-EINVAL);
	assert_int_equal(mt_feature(&c, 4, get | VFIO_USER_FEATURE_MIGRATION,
				    NULL, 0, NULL),
			 -EINVAL);
	/* and with room for the header, the size it needs */
	assert_int_equal(mt_feature(&c, HDR,
				    get | VFIO_USER_FEATURE_DMA_LOGGING_REPORT,
				    &rq, sizeof(rq), NULL),
			 0);
	assert_int_equal(log_stop(&c), 0);
	mt_close(&c, &mt_sc);
}

const struct CMUnitTest mt_logging_tests[] = {
	cmocka_unit_test_setup_teardown(test_logging_ranges, mt_test_setup,
					mt_test_teardown),
	cmocka_unit_test_setup_teardown(test_logging_refusals, mt_test_setup,
					mt_test_teardown),
};
const size_t mt_logging_tests_n = RTE_DIM(mt_logging_tests);
