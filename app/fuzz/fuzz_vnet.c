/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * fuzz_vnet: the whole emulated NIC, net_vfio_user, driven as a hostile
 * virtio driver would drive it: PCI configuration space, the MSI-X BAR
 * and the virtio BAR (common configuration, ISR, device configuration,
 * doorbells), DMA maps coming and going, interrupts, device resets, the
 * migration state machine and its data, dirty logging, the ethdev port
 * stopped and started under the driver, and bursts in both directions
 * over rings in fuzzed guest memory.
 *
 * The PMD's sources are compiled into the harness; at start-up it creates
 * two ports the way an application does (rte_vdev_init(), configure,
 * queue setup, start): net_vfio_user0 with the defaults (packed and
 * in-order offered) and net_vfio_user1 with ring_copy=1 (shadow rings)
 * and LRO (so that it offers VIRTIO_NET_F_HOST_TSO4/6), both with two
 * queue pairs and a 9000-byte MTU. Each input attaches the
 * vfio-user client library to one of them, as a driver, resets the device
 * (so that inputs do not depend on those before them), and ends by
 * detaching; the device must then be idle again within 5 s.
 *
 * Checked besides the sanitizers: no request the device answers takes
 * its client's 3 s timeout (the event thread never stalls); bursts return
 * at most what was asked (on port 0: a receive burst no more than
 * rx_queue_count said, whose last is DONE in the descriptor status; a
 * transmit burst of k delivers fewer when the status of descriptor k - 1
 * was UNAVAIL), received mbufs pass rte_mbuf_check(); after
 * each input every mbuf is back in its pool, and every fd and every
 * mapping of the guest memory is gone.
 *
 * Input:
 *   u8  setup     bit 0: port 1 (else 0); bit 1: map the guest memory
 *                 (64 KiB read/write at MEM_IOVA) at once; bit 2: give
 *                 MSI-X eventfds at once; bit 3: bring the device up at
 *                 once (op 5 with the features of all ones, 5 queues:
 *                 2 pairs and the control queue, size 64)
 *   then operations until the input ends, each a u8 opcode % 13:
 *   0  region write: u8 region (% 3: config, BAR1, BAR4), u16 offset
 *      (% the region's size), u8 length (% 9), the bytes
 *   1  region read: u8 region, u16 offset, u8 length (% 9)
 *   2  guest memory write: u16 offset, u16 length (% 1024), the bytes
 *   3  rx_burst: u8 queue (% 2), u8 count (% 65)
 *   4  tx_burst: u8 queue, u8 count (% 33), each packet u16 length
 *      (% 9300) and u8 segments (1 + % 4)
 *   5  bring-up as a driver does: u64 features (and'ed with the
 *      device's), u8 queues (% 6), u16 queue size; queue q's rings at
 *      q * 8 KiB (descriptors), + 4 KiB (driver area), + 6 KiB (device
 *      area) in the guest memory
 *   6  DMA: u8 % 4: unmap the read/write memory, map it, map the
 *      read-only page after it, unmap that
 *   7  device reset (VFIO_USER_DEVICE_RESET)
 *   8  interrupts: u8 % 4: MSI-X eventfds for u8 % 9 vectors, MSI-X
 *      off, INTx eventfd, INTx unmask
 *   9  migration: u8 % 3: go to state u8 % 8, read up to u16 bytes of
 *      the stream (kept), write back what was kept (u8 flips: bits 0-6
 *      how many bytes, each u16 offset (% what is kept) and u8 xor, none
 *      read when nothing is kept; bit 7: the records' CRCs made right
 *      again after)
 *   10 dirty logging: u8 % 3: start (page size 4 KiB), stop, report
 *   11 the ethdev port: stop, then start
 *   12 doorbell: u8 queue (% 5), a write of its index (answered: the
 *      control queue is served before the next operation)
 */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <rte_vfio_user.h>
#include <rte_vfio_user_client.h>
#include <rte_vfio_user_pci.h>

#include "fuzz_common.h"
#include "vu_pmd_csum.h"
#include "vun_layout.h"

#define MEM_IOVA	0x40000ULL
#define MEM_SIZE	(64 * 1024)
#define RO_IOVA		(MEM_IOVA + MEM_SIZE)	/* adjacent: chains may straddle */
#define RO_SIZE		4096
#define NPORTS		2
#define NQ		2	/* queue pairs of each port */
#define NVEC		8	/* eventfds at hand for MSI-X */
#define DEV_VECS	(2 * NQ + 2)	/* the device's: queues, config */
#define NB_MBUFS	2047
#define TIMEOUT_MS	3000
#define MIG_KEEP	(64 * 1024)

#define CC(field) offsetof(struct virtio_pci_common_cfg, field)

static const char *const port_args[NPORTS] = {
	"queues=2,mtu=9000",
	"queues=2,mtu=9000,ring_copy=1",
};

static struct {
	char dir[64];
	char sock[NPORTS][96];
	uint16_t port[NPORTS];
	int dev_id[NPORTS];
	struct rte_mempool *rx_mp, *tx_mp;
} g;

/* One input's driver. */
static struct {
	struct rte_vfio_user_client *c;
	int p;			/* port index */
	int memfd;
	uint8_t *mem;		/* MEM_SIZE + RO_SIZE, our mapping */
	int efd[NVEC + 1];	/* MSI-X vectors, then INTx */
	uint8_t *mig;		/* migration stream read so far */
	size_t mig_len;
} d;

/* FUZZ_LOG set: what each burst did, on stderr, besides the logs. */
static bool verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
port_up(int i)
{
	const struct rte_eth_conf conf = {
		.rxmode = { .mtu = 9000,
			    .offloads = RTE_ETH_RX_OFFLOAD_SCATTER |
					(i == 1 ? RTE_ETH_RX_OFFLOAD_TCP_LRO :
						  0),
			    .max_lro_pkt_size = i == 1 ? VU_PMD_MAX_GSO_FRAME :
							 0 },
		.txmode = { .offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS },
	};
	char name[32], args[256];
	int ret;

	snprintf(name, sizeof(name), "net_vfio_user%d", i);
	snprintf(g.sock[i], sizeof(g.sock[i]), "%s/vnic%d.sock", g.dir, i);
	snprintf(args, sizeof(args), "path=%s,%s", g.sock[i], port_args[i]);
	ret = rte_vdev_init(name, args);
	if (ret < 0)
		fuzz_fail("rte_vdev_init %s: %s", name, strerror(-ret));
	if (rte_eth_dev_get_port_by_name(name, &g.port[i]) != 0)
		fuzz_fail("no port %s", name);
	g.dev_id[i] = rte_vfio_user_get_dev_id(g.sock[i]);
	if (g.dev_id[i] < 0)
		fuzz_fail("no vfio-user device on %s", g.sock[i]);
	ret = rte_eth_dev_configure(g.port[i], NQ, NQ, &conf);
	for (uint16_t q = 0; ret == 0 && q < NQ; q++) {
		ret = rte_eth_rx_queue_setup(g.port[i], q, 256, SOCKET_ID_ANY,
					     NULL, g.rx_mp);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(g.port[i], q, 256,
						     SOCKET_ID_ANY, NULL);
	}
	if (ret == 0)
		ret = rte_eth_dev_start(g.port[i]);
	if (ret != 0)
		fuzz_fail("port %s setup: %s", name, strerror(-ret));
}

/* When the harness exits: the ports closed as an application closes them
 * (their state lives in DPDK's heap, which LeakSanitizer does not scan:
 * left open, it reads as leaked), then the sockets and the directory. */
static void
ports_down(void)
{
	for (int i = 0; i < NPORTS; i++) {
		rte_eth_dev_stop(g.port[i]);
		rte_eth_dev_close(g.port[i]);
		unlink(g.sock[i]);
	}
	rmdir(g.dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	fuzz_log_init();
	verbose = getenv("FUZZ_LOG") != NULL;
	fuzz_eal_init("fuzz_vnet");
	snprintf(g.dir, sizeof(g.dir), "%s/vu-fuzz-vnet-XXXXXX",
		 tmp != NULL && strlen(tmp) < 30 ? tmp : "/tmp");
	if (mkdtemp(g.dir) == NULL)
		fuzz_fail("mkdtemp: %s", strerror(errno));
	g.rx_mp = rte_pktmbuf_pool_create("fz_rx", NB_MBUFS, 64, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	g.tx_mp = rte_pktmbuf_pool_create("fz_tx", NB_MBUFS, 64, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE,
					  SOCKET_ID_ANY);
	if (g.rx_mp == NULL || g.tx_mp == NULL)
		fuzz_fail("mempools: %s", rte_strerror(rte_errno));
	for (int i = 0; i < NPORTS; i++)
		port_up(i);
	atexit(ports_down);
	for (unsigned int i = 0; i < RTE_DIM(d.efd); i++)
		d.efd[i] = -1;
	d.memfd = -1;
	return 0;
}

/* A client call's result: errors are the device's to give, but a request
 * it does not answer in time means its event thread stalled. */
static int
ok(int ret, const char *what)
{
	if (ret == -ETIMEDOUT)
		fuzz_fail("%s: no answer in %d ms", what, TIMEOUT_MS);
	if (verbose && ret < 0)
		fprintf(stderr, "fuzz_vnet: %s: %s\n", what, strerror(-ret));
	return ret;
}

static uint64_t
region_size(uint32_t index)
{
	switch (index) {
	case VFIO_USER_PCI_CONFIG_REGION_INDEX:
		return 4096;
	case VUN_MSIX_BAR:
		return VUN_MSIX_BAR_SIZE;
	default:
		return VUN_VIRTIO_BAR_SIZE;
	}
}

static uint32_t
pick_region(uint8_t b)
{
	static const uint32_t r[] = { VFIO_USER_PCI_CONFIG_REGION_INDEX,
				      VUN_MSIX_BAR, VUN_VIRTIO_BAR };

	return r[b % RTE_DIM(r)];
}

static void
bar4_write(uint64_t off, const void *v, size_t len)
{
	ok(rte_vfio_user_client_region_write(d.c, VUN_VIRTIO_BAR, off, v, len,
					     false),
	   "BAR4 write");
}

static void
bar4_w8(uint64_t off, uint8_t v)
{
	bar4_write(off, &v, 1);
}

static void
bar4_w16(uint64_t off, uint16_t v)
{
	bar4_write(off, &v, 2);
}

static void
bar4_w32(uint64_t off, uint32_t v)
{
	bar4_write(off, &v, 4);
}

static void
bar4_w64(uint64_t off, uint64_t v)	/* as two 32-bit writes, low first */
{
	bar4_w32(off, (uint32_t)v);
	bar4_w32(off + 4, (uint32_t)(v >> 32));
}

static uint32_t
bar4_r32(uint64_t off)
{
	uint32_t v = 0;

	ok(rte_vfio_user_client_region_read(d.c, VUN_VIRTIO_BAR, off, &v,
					    sizeof(v)),
	   "BAR4 read");
	return v;
}

static void
op_dma(uint8_t what)
{
	switch (what % 4) {
	case 0:
		ok(rte_vfio_user_client_dma_unmap(d.c, MEM_IOVA, MEM_SIZE),
		   "DMA_UNMAP");
		break;
	case 1:
		ok(rte_vfio_user_client_dma_map(
			   d.c, MEM_IOVA, MEM_SIZE, d.mem, d.memfd, 0,
			   VFIO_USER_DMA_MAP_F_READ |
				   VFIO_USER_DMA_MAP_F_WRITE),
		   "DMA_MAP");
		break;
	case 2:
		ok(rte_vfio_user_client_dma_map(d.c, RO_IOVA, RO_SIZE,
						d.mem + MEM_SIZE, d.memfd,
						MEM_SIZE,
						VFIO_USER_DMA_MAP_F_READ),
		   "DMA_MAP read-only");
		break;
	default:
		ok(rte_vfio_user_client_dma_unmap(d.c, RO_IOVA, RO_SIZE),
		   "DMA_UNMAP read-only");
		break;
	}
}

static void
op_irqs(struct fz *f)
{
	uint32_t trig = VFIO_USER_IRQ_SET_DATA_EVENTFD |
			VFIO_USER_IRQ_SET_ACTION_TRIGGER;
	uint8_t what = fz_u8(f);

	switch (what % 4) {
	case 0: {
		uint32_t n = fz_u8(f) % (NVEC + 1);

		ok(rte_vfio_user_client_set_irqs(d.c,
						 VFIO_USER_PCI_MSIX_IRQ_INDEX,
						 trig, 0, n, d.efd),
		   "SET_IRQS MSI-X");
		break;
	}
	case 1:
		ok(rte_vfio_user_client_set_irqs(
			   d.c, VFIO_USER_PCI_MSIX_IRQ_INDEX,
			   VFIO_USER_IRQ_SET_DATA_NONE |
				   VFIO_USER_IRQ_SET_ACTION_TRIGGER,
			   0, 0, NULL),
		   "SET_IRQS MSI-X off");
		break;
	case 2:
		ok(rte_vfio_user_client_set_irqs(d.c,
						 VFIO_USER_PCI_INTX_IRQ_INDEX,
						 trig, 0, 1, &d.efd[NVEC]),
		   "SET_IRQS INTx");
		break;
	default:
		ok(rte_vfio_user_client_set_irqs(
			   d.c, VFIO_USER_PCI_INTX_IRQ_INDEX,
			   VFIO_USER_IRQ_SET_DATA_NONE |
				   VFIO_USER_IRQ_SET_ACTION_UNMASK,
			   0, 1, NULL),
		   "SET_IRQS INTx unmask");
		break;
	}
}

/* What a driver does (VIRTIO 3.1.1), with fuzzed features and queues. */
static void
op_bring_up(uint64_t want, uint8_t nq, uint16_t qsize)
{
	uint64_t have;
	uint16_t nqs;

	bar4_w8(VUN_COMMON_OFF + CC(device_status), 0);
	bar4_w8(VUN_COMMON_OFF + CC(device_status),
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	bar4_w32(VUN_COMMON_OFF + CC(device_feature_select), 0);
	have = bar4_r32(VUN_COMMON_OFF + CC(device_feature));
	bar4_w32(VUN_COMMON_OFF + CC(device_feature_select), 1);
	have |= (uint64_t)bar4_r32(VUN_COMMON_OFF + CC(device_feature)) << 32;
	want &= have;
	bar4_w32(VUN_COMMON_OFF + CC(guest_feature_select), 0);
	bar4_w32(VUN_COMMON_OFF + CC(guest_feature), (uint32_t)want);
	bar4_w32(VUN_COMMON_OFF + CC(guest_feature_select), 1);
	bar4_w32(VUN_COMMON_OFF + CC(guest_feature), (uint32_t)(want >> 32));
	bar4_w8(VUN_COMMON_OFF + CC(device_status),
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			VIRTIO_CONFIG_S_FEATURES_OK);
	nqs = (uint16_t)(nq % 6);
	for (uint16_t q = 0; q < nqs; q++) {
		uint64_t base = MEM_IOVA + (uint64_t)q * 8192;

		bar4_w16(VUN_COMMON_OFF + CC(queue_select), q);
		bar4_w16(VUN_COMMON_OFF + CC(queue_size), qsize);
		bar4_w64(VUN_COMMON_OFF + CC(queue_desc_lo), base);
		bar4_w64(VUN_COMMON_OFF + CC(queue_avail_lo), base + 4096);
		bar4_w64(VUN_COMMON_OFF + CC(queue_used_lo), base + 6144);
		bar4_w16(VUN_COMMON_OFF + CC(queue_msix_vector), q % DEV_VECS);
		bar4_w16(VUN_COMMON_OFF + CC(queue_enable), 1);
	}
	bar4_w8(VUN_COMMON_OFF + CC(device_status),
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			VIRTIO_CONFIG_S_FEATURES_OK |
			VIRTIO_CONFIG_S_DRIVER_OK);
}

/*
 * Whether the port's rings are views (port 0), where the status calls and
 * the bursts read the same: on shadow rings (port 1) a burst takes what
 * its copy holds, which a driver may since have taken back in its own
 * ring, which the status calls read.
 */
static bool
views(void)
{
	return d.p == 0;
}

static void
op_rx(uint16_t q, uint16_t n)
{
	/* negative when the port is stopped (ethdev's dummy ops) */
	int count = rte_eth_rx_queue_count(g.port[d.p], q), st;
	struct rte_mbuf *m[64];
	uint16_t got;
	const char *why;

	if (count > 0 &&
	    (st = rte_eth_rx_descriptor_status(g.port[d.p], q,
					       (uint16_t)(count - 1))) !=
		    RTE_ETH_RX_DESC_DONE)
		fuzz_fail("rx queue %u: %d counted, descriptor %d is %d", q,
			  count, count - 1, st);
	got = rte_eth_rx_burst(g.port[d.p], q, m, n);
	if (got > n || (views() && count >= 0 && got > count))
		fuzz_fail("rx_burst gave %u of %u (%d counted)", got, n, count);
	if (verbose)
		fprintf(stderr, "fuzz_vnet: rx_burst queue %u: %u of %u\n", q,
			got, n);
	for (uint16_t i = 0; i < got; i++) {
		if (rte_mbuf_check(m[i], 1, &why) != 0)
			fuzz_fail("received mbuf %u: %s", i, why);
		rte_pktmbuf_free(m[i]);
	}
}

static void
op_tx(struct fz *f)
{
	struct rte_mbuf *m[32];
	uint16_t q = fz_u8(f) % NQ, n = fz_u8(f) % 33, k = 0, sent;
	struct rte_eth_stats before, after;
	int st;

	for (uint16_t i = 0; i < n; i++) {
		uint16_t len = fz_u16(f) % 9300;
		uint8_t segs = (uint8_t)(1 + fz_u8(f) % 4);
		struct rte_mbuf *p = fuzz_make_pkt(g.tx_mp, len, segs);

		if (p != NULL)
			m[k++] = p;
	}
	/* -ENOTSUP when the port is stopped (ethdev's dummy ops) */
	st = k > 0 ? rte_eth_tx_descriptor_status(g.port[d.p], q,
						  (uint16_t)(k - 1)) :
		     -ENOTSUP;
	if (rte_eth_stats_get(g.port[d.p], &before) != 0)
		fuzz_fail("no statistics");
	sent = rte_eth_tx_burst(g.port[d.p], q, m, k);
	if (sent > k)
		fuzz_fail("tx_burst took %u of %u", sent, k);
	if (rte_eth_stats_get(g.port[d.p], &after) != 0)
		fuzz_fail("no statistics");
	/* nothing is ever FULL; UNAVAIL at k - 1: fewer than k buffers
	 * posted (or the queue not running), and a frame delivered takes
	 * one at least (a frame dropped, none: the burst takes it too) */
	if ((st != RTE_ETH_TX_DESC_DONE && st != RTE_ETH_TX_DESC_UNAVAIL &&
	     st != -EINVAL && st != -ENOTSUP) ||
	    (views() && st == RTE_ETH_TX_DESC_UNAVAIL &&
	     after.opackets - before.opackets >= k))
		fuzz_fail("tx queue %u: descriptor %u is %d, the burst "
			  "delivered %" PRIu64 " of %u",
			  q, k - 1, st, after.opackets - before.opackets, k);
	if (verbose)
		fprintf(stderr, "fuzz_vnet: tx_burst queue %u: %u of %u\n", q,
			sent, k);
	rte_pktmbuf_free_bulk(m + sent, k - sent);
}

/*
 * Give every record of a migration stream its right CRC again, so that
 * flipped bytes reach the checks behind the CRC's, as a peer that means
 * harm would make them. The record header of vun_migration.c: magic u32,
 * version u16, header length u16, record length u32, flags u32, CRC32C
 * u32 (of the record with this field 0), section count u32.
 */
#define MIG_HDR_LEN	24
#define MIG_LEN_OFF	8
#define MIG_CRC_OFF	16

static void
mig_reseal(uint8_t *p, size_t len)
{
	size_t off = 0;

	while (len - off >= MIG_HDR_LEN) {
		uint8_t *rec = p + off;
		uint32_t rlen, crc;

		memcpy(&rlen, rec + MIG_LEN_OFF, sizeof(rlen));
		if (rlen < MIG_HDR_LEN || rlen > len - off)
			break;
		memset(rec + MIG_CRC_OFF, 0, sizeof(crc));
		crc = 0xffffffff;
		for (uint32_t i = 0; i < rlen; i++)
			crc = rte_hash_crc_1byte(rec[i], crc);
		memcpy(rec + MIG_CRC_OFF, &crc, sizeof(crc));
		off += rlen;
	}
}

static void
op_migration(struct fz *f)
{
	uint8_t what = fz_u8(f);

	switch (what % 3) {
	case 0:
		ok(rte_vfio_user_client_mig_set_state(d.c, fz_u8(f) % 8),
		   "migration state");
		break;
	case 1: {
		size_t want = RTE_MIN((size_t)fz_u16(f), MIG_KEEP - d.mig_len);
		ssize_t r =
			ok((int)rte_vfio_user_client_mig_read(d.c,
							      d.mig + d.mig_len,
							      want),
			   "MIG_DATA_READ");

		if (r > 0)
			d.mig_len += (size_t)r;
		break;
	}
	default: {
		uint8_t flips = fz_u8(f);

		for (uint8_t i = 0; i < (flips & 0x7f) && d.mig_len > 0; i++) {
			uint16_t at = fz_u16(f);	/* offset, then xor */
			uint8_t x = fz_u8(f);

			d.mig[at % d.mig_len] ^= x;
		}
		if (flips & 0x80)
			mig_reseal(d.mig, d.mig_len);
		ok(rte_vfio_user_client_mig_write(d.c, d.mig, d.mig_len),
		   "MIG_DATA_WRITE");
		d.mig_len = 0;
		break;
	}
	}
}

static void
op_logging(uint8_t what)
{
	static uint64_t bitmap[MEM_SIZE / 4096 / 64 + 1];

	switch (what % 3) {
	case 0: {
		uint64_t pg = 4096;

		ok(rte_vfio_user_client_dma_logging_start(d.c, &pg, NULL, 0),
		   "DMA_LOGGING_START");
		break;
	}
	case 1:
		ok(rte_vfio_user_client_dma_logging_stop(d.c),
		   "DMA_LOGGING_STOP");
		break;
	default:
		ok(rte_vfio_user_client_dma_logging_report(d.c, MEM_IOVA,
							   MEM_SIZE, 4096,
							   bitmap,
							   sizeof(bitmap)),
		   "DMA_LOGGING_REPORT");
		break;
	}
}

/* One operation; false at the end of the input or once the device let
 * go of us (which it may, e.g. after a fatal driver error). */
static bool
op(struct fz *f)
{
	uint8_t code, buf[1024];

	if (fz_empty(f) || !rte_vfio_user_client_connected(d.c))
		return false;
	code = fz_u8(f) % 13;
	switch (code) {
	case 0: {
		uint32_t r = pick_region(fz_u8(f));
		uint64_t off = fz_u16(f) % region_size(r);
		size_t len = fz_u8(f) % 9;

		fz_bytes(f, buf, len);
		ok(rte_vfio_user_client_region_write(d.c, r, off, buf, len,
						     false),
		   "region write");
		break;
	}
	case 1: {
		uint32_t r = pick_region(fz_u8(f));
		uint64_t off = fz_u16(f) % region_size(r);

		ok(rte_vfio_user_client_region_read(d.c, r, off, buf,
						    fz_u8(f) % 9),
		   "region read");
		break;
	}
	case 2: {
		uint16_t off = fz_u16(f);
		size_t len = RTE_MIN((size_t)(fz_u16(f) % 1024),
				     (size_t)(MEM_SIZE + RO_SIZE - off));

		fz_bytes(f, d.mem + off, len);
		break;
	}
	case 3: {
		uint16_t q = fz_u8(f) % NQ;

		op_rx(q, fz_u8(f) % 65);
		break;
	}
	case 4:
		op_tx(f);
		break;
	case 5: {
		uint64_t feat = fz_u64(f);
		uint8_t nq = fz_u8(f);

		op_bring_up(feat, nq, fz_u16(f));
		break;
	}
	case 6:
		op_dma(fz_u8(f));
		break;
	case 7:
		ok(rte_vfio_user_client_reset(d.c), "DEVICE_RESET");
		break;
	case 8:
		op_irqs(f);
		break;
	case 9:
		op_migration(f);
		break;
	case 10:
		op_logging(fz_u8(f));
		break;
	case 11:
		if (rte_eth_dev_stop(g.port[d.p]) != 0 ||
		    rte_eth_dev_start(g.port[d.p]) != 0)
			fuzz_fail("port %d did not stop and start", d.p);
		break;
	default: {
		uint16_t q = fz_u8(f) % (2 * NQ + 1);

		ok(rte_vfio_user_client_region_write(
			   d.c, VUN_VIRTIO_BAR,
			   VUN_NOTIFY_OFF + (uint64_t)q * VUN_NOTIFY_MULT, &q,
			   2, false),
		   "doorbell");
		break;
	}
	}
	return true;
}

static void
driver_open(uint8_t setup)
{
	struct rte_vfio_user_client_conf conf = {
		.timeout_ms = TIMEOUT_MS,
	};

	d.p = setup & 1;
	conf.path = g.sock[d.p];
	d.c = rte_vfio_user_client_attach(&conf);
	if (d.c == NULL)
		fuzz_fail("attach %s: %s", conf.path, rte_strerror(rte_errno));
	d.memfd = memfd_create(FUZZ_MEMFD_NAME, MFD_CLOEXEC);
	if (d.memfd < 0 || ftruncate(d.memfd, MEM_SIZE + RO_SIZE) < 0)
		fuzz_fail("memfd: %s", strerror(errno));
	d.mem = mmap(NULL, MEM_SIZE + RO_SIZE, PROT_READ | PROT_WRITE,
		     MAP_SHARED, d.memfd, 0);
	if (d.mem == MAP_FAILED)
		fuzz_fail("mmap: %s", strerror(errno));
	for (unsigned int i = 0; i < RTE_DIM(d.efd); i++) {
		d.efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d.efd[i] < 0)
			fuzz_fail("eventfd: %s", strerror(errno));
	}
	d.mig_len = 0;
	/* what a client leaves in the PCI function (command register,
	 * MSI-X table) stays for the next one: reset it, so that each input
	 * starts alike and a finding reproduces on its own */
	ok(rte_vfio_user_client_reset(d.c), "DEVICE_RESET");
	if (setup & 2)
		op_dma(1);
	if (setup & 4)
		ok(rte_vfio_user_client_set_irqs(
			   d.c, VFIO_USER_PCI_MSIX_IRQ_INDEX,
			   VFIO_USER_IRQ_SET_DATA_EVENTFD |
				   VFIO_USER_IRQ_SET_ACTION_TRIGGER,
			   0, DEV_VECS, d.efd),
		   "SET_IRQS MSI-X");
	if (setup & 8)
		op_bring_up(~0ULL, 2 * NQ + 1, 64);
}

static void
driver_close(void)
{
	uint64_t until;

	rte_vfio_user_client_detach(d.c);
	d.c = NULL;
	until = rte_get_timer_cycles() + 5 * rte_get_timer_hz();
	/* the teardown over: the client's fds are closed by then */
	while (rte_vfio_user_is_idle(g.dev_id[d.p]) != 1) {
		if (rte_get_timer_cycles() > until)
			fuzz_fail(
				"device %d not idle 5 s after the driver left",
				d.p);
		usleep(1000);
	}
	munmap(d.mem, MEM_SIZE + RO_SIZE);
	close(d.memfd);
	d.memfd = -1;
	for (unsigned int i = 0; i < RTE_DIM(d.efd); i++) {
		close(d.efd[i]);
		d.efd[i] = -1;
	}
}

static void
check_pool(struct rte_mempool *mp)
{
	unsigned int n = rte_mempool_avail_count(mp);

	if (n != mp->size)
		fuzz_fail("%s: %u of %u mbufs back after the input", mp->name,
			  n, mp->size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t mig[MIG_KEEP];
	struct fz f = { data, size };
	int baseline_fds = fuzz_count_fds(), maps;

	d.mig = mig;
	driver_open(fz_u8(&f));
	while (op(&f))
		;
	driver_close();
	check_pool(g.rx_mp);
	check_pool(g.tx_mp);
	fuzz_check_fds(baseline_fds);
	maps = fuzz_count_memfd_maps();
	if (maps != 0)
		fuzz_fail("%d mappings of the guest memory left", maps);
	return 0;
}
