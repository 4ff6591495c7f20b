/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * Migration of the emulated NIC, in one process: three net_vfio_user
 * devices (A and B alike, C with one queue pair), the test virtio driver
 * of nic_common on A.
 *
 *  - round trip: traffic both ways and control commands on A, then a
 *    migration A -> B through the client API (pre-copy, stop-copy, load),
 *    the driver's memory and interrupts handed to B; every guest-visible
 *    register (config space, MSI-X table, common configuration of every
 *    queue, device configuration) and every queue index of B equals A's,
 *    A's data path was stopped, and traffic goes on on B from where it
 *    was, a frame sent while the device moved included; with split
 *    rings, and with packed rings of 200 entries (not a power of two);
 *  - refused state: corrupted, truncated, of another format version, bad
 *    magic, of another device (C): refused with an error, B unchanged;
 *  - dirty logging: the pages the device writes (receive buffers, used
 *    rings, control-queue acks) are reported dirty, and no others.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>

#include "eal_exit.h"
#include "nic_common.h"
#include "vu_pmd_csum.h"

/*
 * Built with NIC_RING_COPY (nic_migration_shadow): devices 0 and 2 run
 * on shadow rings (ring_copy=1), device 1 on views, every ring across
 * pages: the state moves between the two kinds (ring positions are the
 * device's, not the copy's).
 */
#ifdef NIC_RING_COPY
#define NIC_MIG_EXTRA(i) ((i) == 1 ? "" : ",ring_copy=1")
#else
#define NIC_MIG_EXTRA(i) ""
#endif
#include "vun.h"

/* with the checksum offloads: GUEST_CSUM on (split round trip) or turned
 * off by the driver (packed): the state moves with the device */
#define FEATURES                                  \
	(NIC_OFFERED | NIC_F(VIRTIO_NET_F_CSUM) | \
	 NIC_F(VIRTIO_NET_F_GUEST_CSUM) |         \
	 NIC_F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))
#define NDEV 3

static struct {
	char sock[160];
	uint16_t port;
	int dev_id;
} devs[NDEV];

static uint8_t *stream;
static size_t stream_len;
#define STREAM_MAX (1u << 20)

/* Make device i the one nic_common's helpers use. */
static void
use_dev(int i)
{
	snprintf(nic.sock, sizeof(nic.sock), "%s", devs[i].sock);
	nic.port = devs[i].port;
	nic.dev_id = devs[i].dev_id;
}

static struct vun_dev *
vun(int i)
{
	return rte_vfio_user_get_priv(devs[i].dev_id);
}

static void
watchdog(int sig)
{
	static const char msg[] = "nic_migration: watchdog expired\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static int
group_setup(void **state)
{
	const char *root = getenv("VU_TEST_BUILD_ROOT");
	struct rte_eth_conf conf = {
		.rxmode = { .mtu = NIC_MTU,
			    .offloads = RTE_ETH_RX_OFFLOAD_SCATTER },
		.txmode = { .offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS },
	};
	char vdev[NDEV][640], prefix[64];
	char *argv[] = {
		"test_nic_migration",
		"--no-huge",
		"-m",
		"256",
		"--no-pci",
		"--no-telemetry",
		"--no-shconf",
		"-l",
		"0",
		"--file-prefix",
		prefix,
		"--vdev",
		vdev[0],
		"--vdev",
		vdev[1],
		"--vdev",
		vdev[2],
		"--log-level=pmd.net.vfio_user:notice",
	};
	int ret;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog);
	if (root == NULL || strlen(root) > 60)
		root = "/tmp";
	snprintf(nic.dir, sizeof(nic.dir), "%s/nicm-XXXXXX", root);
	if (mkdtemp(nic.dir) == NULL)
		return -1;
	for (int i = 0; i < NDEV; i++) {
		snprintf(devs[i].sock, sizeof(devs[i].sock), "%s/%c.sock",
			 nic.dir, 'a' + i);
		snprintf(vdev[i], sizeof(vdev[i]),
			 "net_vfio_user%d,path=%s,"
			 "queues=%u,mtu=%u,mac=02:00:00:aa:bb:01%s",
			 i, devs[i].sock, i == 2 ? 1 : NIC_QUEUES, NIC_MTU,
			 NIC_MIG_EXTRA(i));
	}
#ifdef NIC_RING_COPY
	nic_rings_across = true;
#endif
	snprintf(prefix, sizeof(prefix), "nicmig_%d", (int)getpid());
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	nic.rx_mp = rte_pktmbuf_pool_create("nicm_rx", 4095, 64, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	nic.tx_mp = rte_pktmbuf_pool_create("nicm_tx", 4095, 64, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	stream = malloc(STREAM_MAX);
	if (nic.rx_mp == NULL || nic.tx_mp == NULL || stream == NULL)
		return -1;
	for (int i = 0; i < NDEV; i++) {
		char name[32];
		uint16_t nq = i == 2 ? 1 : NIC_QUEUES;

		snprintf(name, sizeof(name), "net_vfio_user%d", i);
		if (rte_eth_dev_get_port_by_name(name, &devs[i].port) != 0)
			return -1;
		devs[i].dev_id = rte_vfio_user_get_dev_id(devs[i].sock);
		if (devs[i].dev_id < 0)
			return -1;
		ret = rte_eth_dev_configure(devs[i].port, nq, nq, &conf);
		for (uint16_t q = 0; ret == 0 && q < nq; q++) {
			ret = rte_eth_rx_queue_setup(devs[i].port, q, 512,
						     SOCKET_ID_ANY, NULL,
						     nic.rx_mp);
			if (ret == 0)
				ret = rte_eth_tx_queue_setup(devs[i].port, q,
							     512, SOCKET_ID_ANY,
							     NULL);
		}
		if (ret == 0)
			ret = rte_eth_dev_start(devs[i].port);
		if (ret != 0)
			return -1;
	}
	use_dev(0);
	return 0;
}

static int
group_teardown(void **state)
{

	(void)state;
	for (int i = 0; i < NDEV; i++) {
		rte_eth_dev_stop(devs[i].port);
		rte_eth_dev_close(devs[i].port);
		unlink(devs[i].sock);
	}
	rte_mempool_free(nic.rx_mp);
	rte_mempool_free(nic.tx_mp);
	free(stream);
	vu_eal_exit();
	rmdir(nic.dir);
	return 0;
}

static int
test_teardown(void **state)
{
	nic_test_teardown(state);
	use_dev(0);
	return 0;
}

/* ---- driver side ---- */

static uint8_t
ctrl_cmd(struct nic_drv *d, uint8_t cls, uint8_t cmd, const void *data,
	 uint32_t len)
{
	return drv_ctrl_cmd(d, cls, cmd, data, len, false);
}

/* Driver sends n frames on pair qp; the port gets them. */
static void
drv_to_port(struct nic_drv *d, unsigned int qp, uint32_t seq0, unsigned int n)
{
	struct dvq *q = &d->vq[2 * qp + 1];
	struct rte_mbuf *m[64];
	uint16_t old = q->avail_idx;

	for (unsigned int i = 0; i < n; i++)
		drv_send(d, q, 60 + 97 * i, seq0 + i, TX_ONE, 0);
	dvq_kick(d, q, old);
	assert_int_equal(nic_rx((uint16_t)qp, m, (uint16_t)n, 2000), n);
	for (unsigned int i = 0; i < n; i++)
		assert_true(nic_mbuf_check(m[i], 60 + 97 * i, seq0 + i));
	nic_free(m, (uint16_t)n);
	assert_int_equal(drv_tx_reclaim(q), n);
}

/* The port sends n frames on pair qp; the driver gets them. */
static void
port_to_drv(struct nic_drv *d, unsigned int qp, uint32_t seq0, unsigned int n)
{
	struct dvq *q = &d->vq[2 * qp];
	struct rte_mbuf *m[64];
	struct drx *rx = malloc(sizeof(*rx));
	uint16_t old = q->avail_idx;

	assert_non_null(rx);
	for (unsigned int i = 0; i < n; i++)
		drv_post_rx(q, 1, 2048, false);
	dvq_kick(d, q, old);
	for (unsigned int i = 0; i < n; i++)
		m[i] = nic_mbuf(70 + 31 * i, seq0 + i, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, (uint16_t)qp, m,
					  (uint16_t)n),
			 n);
	for (unsigned int i = 0; i < n; i++) {
		assert_true(drv_recv(d, q, rx));
		assert_int_equal(rx->len, 70 + 31 * i);
		assert_true(pkt_check(rx->data, rx->len, seq0 + i));
	}
	free(rx);
}

/* Everything of a device the driver can read, and its indices. */
struct snap {
	uint8_t cfg[256];
	uint8_t msix[NIC_NVEC * 16];
	struct virtio_pci_common_cfg cc[NIC_NVQS];
	struct virtio_net_config net;
	uint16_t last_avail[NIC_NVQS], last_used[NIC_NVQS];
	uint64_t guest_features;
	uint8_t status;
	bool promisc, allmulti;
	uint16_t active_pairs;
	struct rte_ether_addr guest_mac;
	uint64_t guest_offloads;
	bool guest_csum[NIC_QUEUES];
};

static void
take_snap(struct nic_drv *d, int dev, struct snap *s)
{
	struct vun_dev *v = vun(dev);
	uint16_t sel = cc_r16(d, CC(queue_select));

	memset(s, 0, sizeof(*s));
	cfg_read(d, 0, s->cfg, sizeof(s->cfg));
	bar_read(d, NIC_MSIX_BAR, 0, s->msix, sizeof(s->msix));
	for (uint16_t i = 0; i < NIC_NVQS; i++) {
		cc_w16(d, CC(queue_select), i);
		bar_read(d, NIC_BAR, d->common, &s->cc[i], sizeof(s->cc[i]));
	}
	cc_w16(d, CC(queue_select), sel);
	drv_read_netcfg(d, &s->net);
	for (uint16_t i = 0; i < NIC_NVQS; i++) {
		s->last_avail[i] = v->vq[i].last_avail;
		s->last_used[i] = v->vq[i].last_used;
	}
	s->guest_features = v->guest_features;
	s->status = v->status;
	s->promisc = v->promisc;
	s->allmulti = v->allmulti;
	s->active_pairs = v->active_pairs;
	s->guest_mac = v->guest_mac;
	s->guest_offloads = v->guest_offloads;
	for (uint16_t q = 0; q < NIC_QUEUES; q++)
		s->guest_csum[q] = v->vq[2 * q].guest_csum;
}

static void
snap_equal(const struct snap *a, const struct snap *b)
{
	assert_memory_equal(a->cfg, b->cfg, sizeof(a->cfg));
	assert_memory_equal(a->msix, b->msix, sizeof(a->msix));
	for (int i = 0; i < NIC_NVQS; i++)
		if (memcmp(&a->cc[i], &b->cc[i], sizeof(a->cc[i])) != 0)
			fail_msg("common configuration of queue %d differs", i);
	assert_memory_equal(&a->net, &b->net, sizeof(a->net));
	assert_memory_equal(a->last_avail, b->last_avail,
			    sizeof(a->last_avail));
	assert_memory_equal(a->last_used, b->last_used, sizeof(a->last_used));
	assert_int_equal(a->guest_features, b->guest_features);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->promisc, b->promisc);
	assert_int_equal(a->allmulti, b->allmulti);
	assert_int_equal(a->active_pairs, b->active_pairs);
	assert_memory_equal(&a->guest_mac, &b->guest_mac, 6);
	assert_int_equal(a->guest_offloads, b->guest_offloads);
	assert_memory_equal(a->guest_csum, b->guest_csum,
			    sizeof(a->guest_csum));
}

/* A client of device i on the driver's memory and eventfds. */
static struct rte_vfio_user_client *
attach_to(struct nic_drv *d, int i)
{
	struct rte_vfio_user_client_conf conf = {
		.path = devs[i].sock,
		.timeout_ms = 5000,
		.max_xfer = 65536,
	};
	struct rte_vfio_user_client *c = rte_vfio_user_client_attach(&conf);

	assert_non_null(c);
	assert_int_equal(
		rte_vfio_user_client_dma_map(c, NIC_IOVA, NIC_MEM_MAPPED,
					     d->mem, d->memfd, 0,
					     VFIO_USER_DMA_MAP_F_READ |
						     VFIO_USER_DMA_MAP_F_WRITE),
		0);
	assert_int_equal(rte_vfio_user_client_set_irqs(
				 c, VFIO_USER_PCI_MSIX_IRQ_INDEX,
				 VFIO_USER_IRQ_SET_DATA_EVENTFD |
					 VFIO_USER_IRQ_SET_ACTION_TRIGGER,
				 0, i == 2 ? 4 : NIC_NVEC, d->efd),
			 0); /* C: 1 pair */
	return c;
}

/* The device on d brought up, with traffic and control commands. */
static struct nic_drv *
busy_driver_of(uint64_t features, uint16_t qsize)
{
	struct nic_drv *d = drv_open();
	uint16_t pairs = NIC_QUEUES;
	uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	uint8_t st;

	/* drv_init(), with the data queues of qsize entries (0: NIC_QSZ) */
	st = drv_negotiate(d, features);
	assert_int_equal(st, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				     VIRTIO_CONFIG_S_DRIVER |
				     VIRTIO_CONFIG_S_FEATURES_OK);
	cc_w16(d, CC(msix_config), 0);
	for (uint16_t i = 0; i < drv_num_vqs(features); i++)
		drv_setup_vq_at(d, i, i < 2 * NIC_QUEUES ? qsize : 0, 0, 0, 0);
	st |= VIRTIO_CONFIG_S_DRIVER_OK;
	cc_w8(d, CC(device_status), st);
	assert_int_equal(drv_status(d), st);
	drv_irqs_clear(d);
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
				  VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_PROMISC, &(uint8_t){ 0 },
				  1),
			 VIRTIO_NET_OK);
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_MAC,
				  VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6),
			 VIRTIO_NET_OK);
	if ((features & NIC_F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)) &&
	    (features & NIC_F(VIRTIO_F_RING_PACKED)))
		assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
					  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET,
					  &(uint64_t){ 0 }, 8),
				 VIRTIO_NET_OK);
	/* indices of every queue somewhere else */
	drv_to_port(d, 0, 100, 7);
	drv_to_port(d, 1, 200, 3);
	port_to_drv(d, 0, 300, 5);
	port_to_drv(d, 1, 400, 9);
	return d;
}

static struct nic_drv *
busy_driver(void)
{
	return busy_driver_of(FEATURES, 0);
}

/* Save A's state (pre-copy, then stop-copy) into stream. */
static void
save_from(struct rte_vfio_user_client *c, bool precopy)
{
	ssize_t n;

	stream_len = 0;
	if (precopy) {
		assert_int_equal(rte_vfio_user_client_mig_set_state(
					 c, RTE_VFIO_USER_MIG_PRE_COPY),
				 0);
		n = rte_vfio_user_client_mig_read(c, stream, STREAM_MAX);
		assert_true(n > 0);
		stream_len = (size_t)n;
	}
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_STOP_COPY),
			 0);
	n = rte_vfio_user_client_mig_read(c, stream + stream_len,
					  STREAM_MAX - stream_len);
	assert_true(n > 0);
	stream_len += (size_t)n;
}

/*
 * The driver goes over to device i: stream (what is left of the state)
 * loaded into cb, its client there (RESUMING), and the device run; the
 * driver's client on the device of nic_common's helpers detached, that
 * device seeing it go; then i is theirs.
 */
static void
move_to(struct nic_drv *d, struct rte_vfio_user_client *cb, int i)
{
	int from = nic.dev_id;

	assert_int_equal(rte_vfio_user_client_mig_write(cb, stream, stream_len),
			 0);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 cb, RTE_VFIO_USER_MIG_RUNNING),
			 0);
	rte_vfio_user_client_detach(d->c);
	assert_true(NIC_WAIT(rte_vfio_user_is_connected(from) == 0, 2000));
	d->c = cb;
	use_dev(i);
}

/* ---- tests ---- */

static void
round_trip(uint64_t features, uint16_t qsize)
{
	struct rte_vfio_user_client *cb;
	struct nic_drv *d;
	struct snap sa, sb;
	struct rte_mbuf *m[8];
	uint64_t flags;

	use_dev(0);
	d = busy_driver_of(features, qsize);
	assert_int_equal(rte_vfio_user_client_mig_flags(d->c, &flags), 0);
	assert_int_equal(flags, VFIO_USER_MIGRATION_STOP_COPY |
					VFIO_USER_MIGRATION_PRE_COPY);
	/* B is reached and given the memory while A still runs */
	cb = attach_to(d, 1);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 cb, RTE_VFIO_USER_MIG_RESUMING),
			 0);
	/* pre-copy: A runs on, B checks what it got */
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 d->c, RTE_VFIO_USER_MIG_PRE_COPY),
			 0);
	stream_len = (size_t)rte_vfio_user_client_mig_read(d->c, stream,
							   STREAM_MAX);
	assert_true(stream_len > 0 && stream_len < STREAM_MAX);
	assert_int_equal(rte_vfio_user_client_mig_write(cb, stream, stream_len),
			 0);
	port_to_drv(d, 1, 500, 2);	/* still running */
	/* stop-copy: A stops; what the driver sends now waits in its ring */
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 d->c, RTE_VFIO_USER_MIG_STOP_COPY),
			 0);
	take_snap(d, 0, &sa);
	{
		struct dvq *q = &d->vq[1];
		uint16_t old = q->avail_idx;

		drv_send(d, q, 333, 600, TX_ONE, 0);
		dvq_kick(d, q, old);
		/* A is stopped: it takes nothing, it gives nothing */
		assert_int_equal(nic_rx(0, m, 1, 200), 0);
		m[0] = nic_mbuf(100, 1, 0);
		assert_int_equal(rte_eth_tx_burst(devs[0].port, 0, m, 1), 0);
		rte_pktmbuf_free(m[0]);
	}
	stream_len = (size_t)rte_vfio_user_client_mig_read(d->c, stream,
							   STREAM_MAX);
	assert_true(stream_len > 0);
	move_to(d, cb, 1);	/* the driver goes over to B */
	/* the frame that waited comes out of B's indices */
	sa.last_avail[1]++;
	sa.last_used[1]++;
	assert_int_equal(nic_rx(0, m, 1, 2000), 1);
	assert_true(nic_mbuf_check(m[0], 333, 600));
	nic_free(m, 1);
	assert_int_equal(drv_tx_reclaim(&d->vq[1]), 1);
	take_snap(d, 1, &sb);
	snap_equal(&sa, &sb);
	print_message("B: features 0x%" PRIx64 ", status 0x%x, indices equal "
		      "to A's on %d queues\n",
		      sb.guest_features, sb.status, NIC_NVQS);
	/* and goes on, both ways, control queue too */
	drv_to_port(d, 0, 700, 5);
	drv_to_port(d, 1, 800, 4);
	port_to_drv(d, 0, 900, 6);
	port_to_drv(d, 1, 1000, 3);
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_ALLMULTI, &(uint8_t){ 0 },
				  1),
			 VIRTIO_NET_OK);
	assert_false(vun(1)->allmulti);
	/* A forgot it all when the driver left */
	assert_int_equal(vun(0)->status, 0);
	assert_int_equal(rte_vfio_user_get_mig_state(devs[0].dev_id),
			 RTE_VFIO_USER_MIG_RUNNING);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

static void
test_round_trip(void **state)
{
	(void)state;
	round_trip(FEATURES, 0);
}

/* A packed ring may have any size (VIRTIO 1.2 2.8.10.1): data queues of
 * 200 entries move too (they were refused as not a power of two). */
static void
test_round_trip_packed(void **state)
{
	(void)state;
	round_trip(FEATURES | NIC_F(VIRTIO_F_RING_PACKED), 200);
}

/* Load bad into device i (RESUMING): refused, the device untouched. */
static void
refused(struct nic_drv *d, int i, const uint8_t *bad, size_t len, int write_err,
	int run_err)
{
	struct rte_vfio_user_client *c = attach_to(d, i);
	struct vun_dev *v = vun(i);
	struct vun_dev before;
	uint16_t cmd = rte_vfio_user_pci_get_command(v->pci);
	int msix = rte_vfio_user_pci_msix_enabled(v->pci);
	uint32_t st;
	int ret;

	memcpy(&before, v, sizeof(before));
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_RESUMING),
			 0);
	ret = rte_vfio_user_client_mig_write(c, bad, len);
	if (ret != write_err)
		fail_msg("write of bad state: %d, expected %d", ret, write_err);
	ret = rte_vfio_user_client_mig_set_state(c, RTE_VFIO_USER_MIG_RUNNING);
	if (ret != run_err)
		fail_msg("RUNNING after bad state: %d, expected %d", ret,
			 run_err);
	assert_int_equal(rte_vfio_user_client_mig_get_state(c, &st), 0);
	assert_int_equal(st, RTE_VFIO_USER_MIG_RESUMING);
	/* nothing of the device changed */
	assert_int_equal(v->status, before.status);
	assert_int_equal(v->guest_features, before.guest_features);
	assert_int_equal(v->active_pairs, before.active_pairs);
	for (int q = 0; q < VUN_MAX_VQS; q++) {
		assert_int_equal(v->vq[q].cfg_enable, before.vq[q].cfg_enable);
		assert_int_equal(v->vq[q].last_avail, before.vq[q].last_avail);
		assert_int_equal(v->vq[q].desc_iova, before.vq[q].desc_iova);
	}
	assert_int_equal(rte_vfio_user_pci_get_command(v->pci), cmd);
	assert_int_equal(rte_vfio_user_pci_msix_enabled(v->pci), msix);
	rte_vfio_user_client_detach(c);
	assert_true(
		NIC_WAIT(rte_vfio_user_is_connected(devs[i].dev_id) == 0 &&
				 rte_vfio_user_get_mig_state(devs[i].dev_id) ==
					 RTE_VFIO_USER_MIG_RUNNING,
			 2000));
}

static void
test_refused(void **state)
{
	static uint8_t bad[STREAM_MAX];
	struct nic_drv *d;
	size_t rec;

	(void)state;
	use_dev(0);
	d = busy_driver();
	save_from(d->c, false);
	rec = stream_len;
	/* corrupted: a byte of a queue's index */
	memcpy(bad, stream, rec);
	bad[rec / 2] ^= 0x10;
	refused(d, 1, bad, rec, -EBADMSG, -EBADMSG);
	/* truncated: no error until the end of RESUMING */
	refused(d, 1, stream, rec - 10, 0, -ENODATA);
	refused(d, 1, stream, 7, 0, -ENODATA);
	refused(d, 1, stream, 0, 0, -ENODATA);
	/* another format version (a future one) */
	memcpy(bad, stream, rec);
	bad[4] = 2;
	refused(d, 1, bad, rec, -EPROTONOSUPPORT, -EBADMSG);
	/* not our state at all */
	memcpy(bad, stream, rec);
	bad[0] ^= 0xff;
	refused(d, 1, bad, rec, -EBADMSG, -EBADMSG);
	/* garbage after a good record */
	memcpy(bad, stream, rec);
	memset(bad + rec, 0, 64);
	refused(d, 1, bad, rec + 64, -EBADMSG, -EBADMSG);
	/* another device: C has one queue pair */
	refused(d, 2, stream, rec, -EINVAL, -EBADMSG);
	/* and the good one still loads; ended too early first (ENODATA),
	 * which spoils nothing: the rest written, it runs (before, every
	 * later try got EBADMSG, the device stuck in RESUMING until a
	 * reset) */
	{
		struct rte_vfio_user_client *c = attach_to(d, 1);

		assert_int_equal(rte_vfio_user_client_mig_set_state(
					 c, RTE_VFIO_USER_MIG_RESUMING),
				 0);
		assert_int_equal(rte_vfio_user_client_mig_write(c, stream,
								rec - 10),
				 0);
		assert_int_equal(rte_vfio_user_client_mig_set_state(
					 c, RTE_VFIO_USER_MIG_RUNNING),
				 -ENODATA);
		assert_int_equal(rte_vfio_user_client_mig_write(c,
								stream + rec -
									10,
								10),
				 0);
		assert_int_equal(rte_vfio_user_client_mig_set_state(
					 c, RTE_VFIO_USER_MIG_RUNNING),
				 0);
		assert_int_equal(vun(1)->status, vun(0)->status);
		rte_vfio_user_client_detach(c);
		assert_true(NIC_WAIT(rte_vfio_user_is_connected(
					     devs[1].dev_id) == 0,
				     2000));
	}
	drv_close(d);
}

/* ---- dirty logging ---- */

#define PG 4096u

static uint64_t dbits[(NIC_MEM_MAPPED / PG + 63) / 64];

static void
report(struct nic_drv *d)
{
	memset(dbits, 0, sizeof(dbits));
	assert_int_equal(rte_vfio_user_client_dma_logging_report(d->c, NIC_IOVA,
								 NIC_MEM_MAPPED,
								 PG, dbits,
								 sizeof(dbits)),
			 0);
}

static bool
bit(uint64_t page)
{
	return (dbits[page / 64] >> (page % 64)) & 1;
}

static uint64_t
page_of(struct nic_drv *d, const void *p)
{
	return (drv_iova(d, p) - NIC_IOVA) / PG;
}

/* What publishing used entries writes besides them: the used ring's
 * header, and with EVENT_IDX avail_event (in another page when the ring
 * crosses one, nic_rings_across). Returns how many pages it added. */
static unsigned int
used_pages(struct nic_drv *d, const struct dvq *q, uint64_t *want)
{
	unsigned int n = 0;

	want[n++] = page_of(d, q->used);
	if (d->features & NIC_F(VIRTIO_RING_F_EVENT_IDX))
		want[n++] = page_of(d, &q->used->ring[q->size]);
	return n;
}

/* Exactly the pages of want[] are dirty. */
static void
expect_dirty(const uint64_t *want, unsigned int n, const char *what)
{
	unsigned int count = 0;

	for (unsigned int i = 0; i < n; i++)
		if (!bit(want[i]))
			fail_msg("%s: page %" PRIu64 " written, not reported",
				 what, want[i]);
	for (uint64_t p = 0; p < NIC_MEM_MAPPED / PG; p++)
		count += bit(p);
	for (uint64_t p = 0; p < NIC_MEM_MAPPED / PG; p++) {
		bool wanted = false;

		for (unsigned int i = 0; i < n; i++)
			wanted |= want[i] == p;
		if (bit(p) && !wanted)
			fail_msg("%s: page %" PRIu64 " reported, not written",
				 what, p);
	}
	print_message("%s: %u pages dirty, as expected\n", what, count);
}

static void
test_dirty_logging(void **state)
{
	struct vfio_user_dma_logging_range rg = { NIC_IOVA, NIC_MEM_MAPPED };
	uint64_t pgsz = PG, want[64];
	struct rte_mbuf *m[4];
	struct nic_drv *d;
	struct dvq *rq, *tq, *cq;
	unsigned int n = 0;

	(void)state;
	use_dev(0);
	d = busy_driver();
	rq = &d->vq[0];
	tq = &d->vq[3];
	cq = &d->vq[d->ctrl_index];
	assert_int_equal(rte_vfio_user_client_dma_logging_start(d->c, &pgsz,
								&rg, 1),
			 0);
	report(d);
	expect_dirty(NULL, 0, "idle device");

	/* the driver posts buffers and sends: its writes are its own */
	for (int i = 0; i < 3; i++)
		drv_post_rx(rq, 1, 2048, false);
	report(d);
	expect_dirty(NULL, 0, "driver writes only");

	/* the device receives 3 frames into them: buffers and used ring */
	for (int i = 0; i < 3; i++)
		m[i] = nic_mbuf(i == 2 ? 2036 : 100 + 900 * (uint32_t)i,
				(uint32_t)i, 0);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, 3), 3);
	for (uint16_t k = 0; k < 3; k++) {
		const struct vring_used_elem *e =
			&rq->used->ring[(rq->last_used + k) & (rq->size - 1)];
		const uint8_t *b = rq->bufs + (size_t)e->id * NIC_SLOT;

		want[n++] = page_of(d, b);
		want[n++] = page_of(d, b + e->len - 1);
	}
	n += used_pages(d, rq, &want[n]);
	report(d);
	expect_dirty(want, n, "device received 3 frames");
	{
		struct drx *rx = malloc(sizeof(*rx));

		assert_non_null(rx);
		for (int i = 0; i < 3; i++)
			assert_true(drv_recv(d, rq, rx));
		free(rx);
	}

	/* the device takes 4 frames the driver sent: it writes only the
	 * transmit queue's used ring */
	{
		uint16_t old = tq->avail_idx;

		for (uint32_t i = 0; i < 4; i++)
			drv_send(d, tq, 1500, 50 + i, TX_ONE, 0);
		dvq_kick(d, tq, old);
	}
	assert_int_equal(nic_rx(1, m, 4, 2000), 4);
	nic_free(m, 4);
	report(d);
	n = used_pages(d, tq, want);
	expect_dirty(want, n, "device sent 4 frames");
	drv_tx_reclaim(tq);

	/* a control command: the ack and the control queue's used ring */
	assert_int_equal(ctrl_cmd(d, VIRTIO_NET_CTRL_RX,
				  VIRTIO_NET_CTRL_RX_ALLMULTI, &(uint8_t){ 1 },
				  1),
			 VIRTIO_NET_OK);
	report(d);
	n = used_pages(d, cq, want);
	/* the ack: 4096 bytes into the command's slot */
	want[n++] = page_of(d,
			    cq->bufs + (size_t)d->ctrl_head * NIC_SLOT + 4096);
	expect_dirty(want, n, "control command");

	assert_int_equal(rte_vfio_user_client_dma_logging_stop(d->c), 0);
	assert_int_equal(rte_vfio_user_client_dma_logging_report(d->c, NIC_IOVA,
								 NIC_MEM_MAPPED,
								 PG, dbits,
								 sizeof(dbits)),
			 -EINVAL);
	drv_close(d);
}

/* Device i's port configured again (two queue pairs) with LRO or not. */
static void
port_lro(int i, bool lro)
{
	use_dev(i);
	nic_port_stop();
	assert_int_equal(nic_port_configure_lro(NIC_MTU,
						lro ? VU_PMD_MAX_GSO_FRAME : 0,
						false),
			 0);
	nic_port_start();
}

/*
 * A driver that sends GSO packets (VIRTIO_NET_F_HOST_TSO4/6, offered by
 * A's port with LRO) moves only to a port that takes them: B without LRO
 * refuses the state (its packets would all be too long there), B with
 * LRO loads it, and the driver's GSO packets arrive there whole.
 */
static void
test_tso(void **state)
{
	const uint64_t f = FEATURES | NIC_F(VIRTIO_NET_F_HOST_TSO4) |
			   NIC_F(VIRTIO_NET_F_HOST_TSO6);
	struct rte_vfio_user_client *c;
	struct nic_drv *d;

	(void)state;
	port_lro(1, false);
	port_lro(0, true);
	d = busy_driver_of(f, 0);
	save_from(d->c, false);
	refused(d, 1, stream, stream_len, -EINVAL, -EBADMSG);
	port_lro(1, true);
	c = attach_to(d, 1);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_RESUMING),
			 0);
	assert_int_equal(rte_vfio_user_client_mig_write(c, stream, stream_len),
			 0);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 c, RTE_VFIO_USER_MIG_RUNNING),
			 0);
	assert_int_equal(vun(1)->guest_features, f);
	assert_int_equal(vun(1)->vq[1].max_lro, VU_PMD_MAX_GSO_FRAME);
	rte_vfio_user_client_detach(c);
	assert_true(NIC_WAIT(rte_vfio_user_is_connected(devs[1].dev_id) == 0,
			     2000));
	drv_close(d);
	/* both as the other tests have them (no driver: LRO may go) */
	assert_true(NIC_WAIT(rte_vfio_user_is_connected(devs[0].dev_id) == 0 &&
				     vun(0)->status == 0,
			     2000));
	port_lro(1, false);
	port_lro(0, false);
	use_dev(0);
}

/*
 * A function the driver left in D3hot moves in D3hot: B's device model
 * knows it (no power event says so at a restore; its xstat reads it),
 * and the driver's D0 there resets the function as on A.
 */
static void
test_d3hot_moves(void **state)
{
	struct rte_vfio_user_client *cb;
	struct nic_drv *d;
	uint32_t csr;

	(void)state;
	use_dev(0);
	d = busy_driver();
	csr = d->pm_cap + RTE_VFIO_USER_PCI_PM_CTRL;
	cfg_w16(d, csr, RTE_VFIO_USER_PCI_PM_D3HOT);
	assert_int_equal(nic_xstat("pci_power_state"), 3);
	cb = attach_to(d, 1);
	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 cb, RTE_VFIO_USER_MIG_RESUMING),
			 0);
	save_from(d->c, false);
	move_to(d, cb, 1);
	assert_int_equal(rte_vfio_user_pci_pm_state(vun(1)->pci),
			 RTE_VFIO_USER_PCI_PM_D3HOT);
	assert_int_equal(nic_xstat("pci_power_state"), 3);
	assert_int_equal(nic_xstat("pci_bus_master"), 0);
	assert_true(drv_status(d) & VIRTIO_CONFIG_S_DRIVER_OK);
	/* D0: function and device reset */
	cfg_w16(d, csr, 0);
	assert_int_equal(nic_xstat("pci_power_state"), 0);
	assert_int_equal(nic_xstat("pci_bus_master"), 1);
	assert_int_equal(drv_status(d), 0);
	drv_close(d);
}

/* ---- hostile streams with a valid CRC ---- */

static uint32_t
rv_crc_bytes(const uint8_t *p, size_t len, uint32_t crc)
{
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = rte_hash_crc_1byte(*p++, crc);
		len--;
	}
	return len > 0 ? rte_hash_crc(p, (uint32_t)len, crc) : crc;
}

static void
rv_fix_crc(uint8_t *rec, size_t len)
{
	uint32_t crc, zero = 0;

	crc = rv_crc_bytes(rec, 16, 0xffffffff);
	crc = rv_crc_bytes((const uint8_t *)&zero, 4, crc);
	crc = rv_crc_bytes(rec + 20, len - 20, crc);
	memcpy(rec + 16, &crc, 4);
}

/* QUEUE section payload of virtqueue qi in the record, or NULL. */
static uint8_t *
rv_queue(uint8_t *rec, size_t len, uint16_t qi)
{
	uint32_t nsec;
	size_t off = 24;

	memcpy(&nsec, rec + 20, 4);
	for (uint32_t i = 0; i < nsec && off + 8 <= len; i++) {
		uint16_t type, idx;
		uint32_t sl;

		memcpy(&type, rec + off, 2);
		memcpy(&sl, rec + off + 4, 4);
		if (type == 3) {
			memcpy(&idx, rec + off + 8, 2);
			if (idx == qi)
				return rec + off + 8;
		}
		off += 8 + sl;
	}
	return NULL;
}

/* Load bad into B: refused (at the write or at the end of RESUMING). */
static void
hostile_refused(struct nic_drv *d, const uint8_t *bad, size_t len)
{
	struct rte_vfio_user_client *cb = attach_to(d, 1);
	int w, e;

	assert_int_equal(rte_vfio_user_client_mig_set_state(
				 cb, RTE_VFIO_USER_MIG_RESUMING),
			 0);
	w = rte_vfio_user_client_mig_write(cb, bad, len);
	e = rte_vfio_user_client_mig_set_state(cb, RTE_VFIO_USER_MIG_RUNNING);
	if (w == 0 && e == 0)
		fail_msg("hostile stream accepted");
	rte_vfio_user_client_detach(cb);
	assert_true(NIC_WAIT(rte_vfio_user_is_connected(devs[1].dev_id) == 0,
			     2000));
}

/*
 * A stream with a valid CRC but a disabled packed queue carrying ring
 * positions far outside the ring: once the driver enabled that queue the
 * data path indexed the descriptor ring with them (a shadow ring: a
 * segfault). Refused now.
 */
static void
test_hostile_disabled_queue(void **state)
{
	static uint8_t bad[STREAM_MAX];
	struct nic_drv *d;
	uint16_t la = 0xfff0;
	uint8_t *q;

	(void)state;
	use_dev(0);
	d = busy_driver_of(FEATURES | NIC_F(VIRTIO_F_RING_PACKED), 0);
	save_from(d->c, false);
	memcpy(bad, stream, stream_len);
	q = rv_queue(bad, stream_len, 2);	/* receiveq2 */
	assert_non_null(q);
	q[3] = 0;				/* enabled = 0 */
	memcpy(q + 32, &la, 2);			/* last_avail */
	memcpy(q + 34, &la, 2);			/* last_used */
	rv_fix_crc(bad, stream_len);
	hostile_refused(d, bad, stream_len);
	drv_close(d);
}

/* DRIVER_OK without FEATURES_OK, which the device never holds (the
 * feature checks are made under FEATURES_OK): refused. */
static void
test_hostile_status(void **state)
{
	static uint8_t bad[STREAM_MAX];
	struct nic_drv *d;
	uint16_t type;

	(void)state;
	use_dev(0);
	d = busy_driver();
	save_from(d->c, false);
	memcpy(bad, stream, stream_len);
	memcpy(&type, bad + 24, 2);
	assert_int_equal(type, 1);	/* DEVICE first */
	bad[32 + 44] &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	rv_fix_crc(bad, stream_len);
	hostile_refused(d, bad, stream_len);
	drv_close(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, nic_test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_packed,
						nic_test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_refused, nic_test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_tso, nic_test_setup,
						test_teardown),
		cmocka_unit_test_setup_teardown(test_dirty_logging,
						nic_test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_d3hot_moves,
						nic_test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_status,
						nic_test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_hostile_disabled_queue,
						nic_test_setup, test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
