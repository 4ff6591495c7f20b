/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "eal_exit.h"
#include "nic_common.h"

struct nic_env nic;
struct nic_frag nic_frag;
const char *nic_devargs_extra = "";
bool nic_rings_across;
bool nic_huge;

static const uint8_t nic_mac[6] = NIC_MAC;
static const uint8_t peer_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

uint64_t
nic_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- fixture ---- */

static int
lsc_cb(uint16_t port, enum rte_eth_event_type ev, void *arg, void *ret)
{
	(void)port;
	(void)arg;
	(void)ret;
	if (ev == RTE_ETH_EVENT_INTR_LSC)
		__atomic_add_fetch(&nic.lsc_events, 1, __ATOMIC_ACQ_REL);
	return 0;
}

static void
watchdog(int sig)
{
	static const char msg[] = "nic: watchdog expired, test hung\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

int
nic_port_configure(uint16_t mtu)
{
	return nic_port_configure_at(nic.port, mtu);
}

static int
port_configure(uint16_t port, uint16_t mtu, uint32_t max_lro, bool tso,
	       bool rx_csum)
{
	struct rte_eth_conf conf = {
		.rxmode = { .mtu = mtu,
			    .offloads =
				    RTE_ETH_RX_OFFLOAD_SCATTER |
				    (max_lro ? RTE_ETH_RX_OFFLOAD_TCP_LRO : 0) |
				    (rx_csum ?
					     RTE_ETH_RX_OFFLOAD_TCP_CKSUM |
						     RTE_ETH_RX_OFFLOAD_UDP_CKSUM :
					     0),
			    .max_lro_pkt_size = max_lro },
		.txmode = { .offloads = RTE_ETH_TX_OFFLOAD_MULTI_SEGS |
					(tso ? RTE_ETH_TX_OFFLOAD_TCP_TSO :
					       0) },
		.intr_conf = { .lsc = 1 },
	};
	int ret = rte_eth_dev_configure(port, NIC_QUEUES, NIC_QUEUES, &conf);

	for (uint16_t q = 0; ret == 0 && q < NIC_QUEUES; q++) {
		ret = rte_eth_rx_queue_setup(port, q, 512, SOCKET_ID_ANY, NULL,
					     nic.rx_mp);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(port, q, 512,
						     SOCKET_ID_ANY, NULL);
	}
	return ret;
}

int
nic_port_configure_at(uint16_t port, uint16_t mtu)
{
	return port_configure(port, mtu, 0, false, false);
}

int
nic_port_configure_lro(uint16_t mtu, uint32_t max_lro, bool tso)
{
	return port_configure(nic.port, mtu, max_lro, tso, false);
}

int
nic_port_configure_ol(uint16_t mtu, uint32_t max_lro, bool tso, bool rx_csum)
{
	return port_configure(nic.port, mtu, max_lro, tso, rx_csum);
}

int
nic_group_setup(const char *prog)
{
	const char *root = getenv("VU_TEST_BUILD_ROOT");
	const char *loglvl = getenv("NIC_LOG_LEVEL");
	char vdev[320], prefix[64], log[96];
	char *argv[] = {
		(char *)(uintptr_t)prog, "--no-huge", "-m", "256", "--no-pci",
		"--no-telemetry", "--no-shconf", "-l", "0", "--file-prefix", prefix,
		"--vdev", vdev, log,
	};
	int ret;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, watchdog);
	if (root == NULL || strlen(root) > 60)
		root = "/tmp";
	snprintf(nic.dir, sizeof(nic.dir), "%s/nic-XXXXXX", root);
	if (mkdtemp(nic.dir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", nic.dir, strerror(errno));
		return -1;
	}
	snprintf(nic.sock, sizeof(nic.sock), "%s/vnic.sock", nic.dir);
	snprintf(vdev, sizeof(vdev),
		 "net_vfio_user0,path=%s,queues=%u,mtu=%u,"
		 "mac=02:00:00:aa:bb:01%s",
		 nic.sock, NIC_QUEUES, NIC_MTU, nic_devargs_extra);
	snprintf(prefix, sizeof(prefix), "%s_%d", prog, (int)getpid());
	snprintf(log, sizeof(log), "--log-level=%s",
		 loglvl != NULL ? loglvl : "pmd.net.vfio_user:notice");
	ret = rte_eal_init((int)RTE_DIM(argv), argv);
	if (ret < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		rmdir(nic.dir);
		return -1;
	}
	if (rte_eth_dev_get_port_by_name("net_vfio_user0", &nic.port) != 0) {
		fprintf(stderr, "no net_vfio_user0 port\n");
		return -1;
	}
	nic.dev_id = rte_vfio_user_get_dev_id(nic.sock);
	if (nic.dev_id < 0) {
		fprintf(stderr, "no vfio-user device on %s\n", nic.sock);
		return -1;
	}
	nic.rx_mp = rte_pktmbuf_pool_create("nic_rx", 4095, 64, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	nic.tx_mp = rte_pktmbuf_pool_create("nic_tx", 4095, 64, 0,
					    RTE_MBUF_DEFAULT_BUF_SIZE,
					    SOCKET_ID_ANY);
	if (nic.rx_mp == NULL || nic.tx_mp == NULL) {
		fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	ret = nic_port_configure(NIC_MTU);
	if (ret == 0)
		ret = rte_eth_dev_callback_register(nic.port,
				RTE_ETH_EVENT_INTR_LSC, lsc_cb, NULL);
	if (ret == 0)
		ret = rte_eth_dev_start(nic.port);
	if (ret != 0) {
		fprintf(stderr, "port setup: %s\n", strerror(-ret));
		return -1;
	}
	return 0;
}

int
nic_group_teardown(void **state)
{
	(void)state;
	rte_eth_dev_stop(nic.port);
	rte_eth_dev_close(nic.port);
	rte_mempool_free(nic.rx_mp);
	rte_mempool_free(nic.tx_mp);
	vu_eal_exit();
	unlink(nic.sock);
	rmdir(nic.dir);
	return 0;
}

int
nic_test_setup(void **state)
{
	(void)state;
	alarm(60);
	return 0;
}

int
nic_test_teardown(void **state)
{
	(void)state;
	if (nic.cur != NULL)
		drv_close(nic.cur);
	memset(&nic_frag, 0, sizeof(nic_frag));
	if (nic.stopped && rte_eth_dev_start(nic.port) == 0)
		nic.stopped = false;
	alarm(0);
	return 0;
}

void
nic_port_start(void)
{
	assert_int_equal(rte_eth_dev_start(nic.port), 0);
	nic.stopped = false;
}

void
nic_port_stop(void)
{
	assert_int_equal(rte_eth_dev_stop(nic.port), 0);
	nic.stopped = true;
}

bool
nic_link_up(void)
{
	struct rte_eth_link l;

	assert_int_equal(rte_eth_link_get_nowait(nic.port, &l), 0);
	return l.link_status == RTE_ETH_LINK_UP;
}

int
nic_lsc(void)
{
	return __atomic_load_n(&nic.lsc_events, __ATOMIC_ACQUIRE);
}

uint64_t
nic_xstat(const char *name)
{
	uint64_t id, v;

	if (rte_eth_xstats_get_id_by_name(nic.port, name, &id) != 0)
		fail_msg("no xstat %s", name);
	assert_int_equal(rte_eth_xstats_get_by_id(nic.port, &id, &v, 1), 1);
	return v;
}

/* ---- config space, BARs ---- */

void
cfg_read(struct nic_drv *d, uint32_t off, void *buf, size_t len)
{
	assert_int_equal(rte_vfio_user_client_region_read(d->c,
			 VFIO_USER_PCI_CONFIG_REGION_INDEX, off, buf, len), 0);
}

void
cfg_write(struct nic_drv *d, uint32_t off, const void *buf, size_t len)
{
	assert_int_equal(rte_vfio_user_client_region_write(d->c,
			 VFIO_USER_PCI_CONFIG_REGION_INDEX, off, buf, len,
			 false), 0);
}

uint8_t
cfg_r8(struct nic_drv *d, uint32_t off)
{
	uint8_t v;

	cfg_read(d, off, &v, 1);
	return v;
}

uint16_t
cfg_r16(struct nic_drv *d, uint32_t off)
{
	uint16_t v;

	cfg_read(d, off, &v, 2);
	return v;
}

uint32_t
cfg_r32(struct nic_drv *d, uint32_t off)
{
	uint32_t v;

	cfg_read(d, off, &v, 4);
	return v;
}

void
cfg_w8(struct nic_drv *d, uint32_t off, uint8_t v)
{
	cfg_write(d, off, &v, 1);
}

void
cfg_w16(struct nic_drv *d, uint32_t off, uint16_t v)
{
	cfg_write(d, off, &v, 2);
}

void
cfg_w32(struct nic_drv *d, uint32_t off, uint32_t v)
{
	cfg_write(d, off, &v, 4);
}

void
bar_read(struct nic_drv *d, uint32_t bar, uint64_t off, void *buf, size_t len)
{
	assert_int_equal(rte_vfio_user_client_region_read(d->c, bar, off, buf,
							  len), 0);
}

void
bar_write(struct nic_drv *d, uint32_t bar, uint64_t off, const void *buf,
	  size_t len)
{
	assert_int_equal(rte_vfio_user_client_region_write(d->c, bar, off, buf,
							   len, false), 0);
}

uint8_t
cc_r8(struct nic_drv *d, size_t off)
{
	uint8_t v;

	bar_read(d, NIC_BAR, d->common + off, &v, 1);
	return v;
}

uint16_t
cc_r16(struct nic_drv *d, size_t off)
{
	uint16_t v;

	bar_read(d, NIC_BAR, d->common + off, &v, 2);
	return v;
}

uint32_t
cc_r32(struct nic_drv *d, size_t off)
{
	uint32_t v;

	bar_read(d, NIC_BAR, d->common + off, &v, 4);
	return v;
}

void
cc_w8(struct nic_drv *d, size_t off, uint8_t v)
{
	bar_write(d, NIC_BAR, d->common + off, &v, 1);
}

void
cc_w16(struct nic_drv *d, size_t off, uint16_t v)
{
	bar_write(d, NIC_BAR, d->common + off, &v, 2);
}

void
cc_w32(struct nic_drv *d, size_t off, uint32_t v)
{
	bar_write(d, NIC_BAR, d->common + off, &v, 4);
}

uint8_t
drv_status(struct nic_drv *d)
{
	return cc_r8(d, CC(device_status));
}

uint64_t
drv_device_features(struct nic_drv *d)
{
	uint64_t f;

	cc_w32(d, CC(device_feature_select), 0);
	f = cc_r32(d, CC(device_feature));
	cc_w32(d, CC(device_feature_select), 1);
	f |= (uint64_t)cc_r32(d, CC(device_feature)) << 32;
	return f;
}

void
drv_read_netcfg(struct nic_drv *d, struct virtio_net_config *c)
{
	bar_read(d, NIC_BAR, d->devcfg, c, sizeof(*c));
}

/* Walk the capability list of the cached config space. */
static void
parse_caps(struct nic_drv *d)
{
	uint8_t p = d->cfg[RTE_VFIO_USER_PCI_CAPABILITY_LIST] & ~3u;

	for (int n = 0; p != 0 && n < 48; n++) {
		const uint8_t *c = &d->cfg[p];
		uint32_t off;

		if (c[0] == RTE_VFIO_USER_PCI_CAP_ID_MSIX) {
			d->msix_cap = p;
		} else if (c[0] == RTE_VFIO_USER_PCI_CAP_ID_PM) {
			d->pm_cap = p;
		} else if (c[0] == RTE_VFIO_USER_PCI_CAP_ID_VNDR) {
			memcpy(&off, c + offsetof(struct virtio_pci_cap, offset), 4);
			switch (c[offsetof(struct virtio_pci_cap, cfg_type)]) {
			case VIRTIO_PCI_CAP_COMMON_CFG:
				d->common = off;
				break;
			case VIRTIO_PCI_CAP_NOTIFY_CFG:
				d->notify = off;
				memcpy(&d->notify_mult, c +
				       offsetof(struct virtio_pci_notify_cap,
						notify_off_multiplier), 4);
				break;
			case VIRTIO_PCI_CAP_ISR_CFG:
				d->isr = off;
				break;
			case VIRTIO_PCI_CAP_DEVICE_CFG:
				d->devcfg = off;
				break;
			case VIRTIO_PCI_CAP_PCI_CFG:
				d->pcicfg_cap = p;
				break;
			}
		}
		p = c[1] & ~3u;
	}
}

static void
dma_map(struct nic_drv *d, uint64_t off, uint64_t len, int fd, uint64_t fd_off)
{
	int ret =
		rte_vfio_user_client_dma_map(d->c, NIC_IOVA + off, len,
					     d->mem + off, fd, fd_off,
					     VFIO_USER_DMA_MAP_F_READ |
						     VFIO_USER_DMA_MAP_F_WRITE);

	if (ret != 0)
		fail_msg("DMA_MAP [0x%" PRIx64 ", +0x%" PRIx64 "): %d",
			 NIC_IOVA + off, len, ret);
	d->nregions++;
}

/* nic_frag.on: the fragmented layout (see nic_common.h). */
static void
frag_map(struct nic_drv *d)
{
	const uint32_t per = NIC_FRAG_BYTES / NIC_FRAG_PAGE;
	const uint32_t npages = NIC_NVQS * per;
	const uint64_t extra = NIC_MEM_MAPPED + NIC_MEM_CANARY;

	if (nic_frag.two_fds) {
		d->memfd2 = memfd_create("nic-guest2", MFD_CLOEXEC);
		assert_true(d->memfd2 >= 0);
		assert_int_equal(ftruncate(d->memfd2,
					   (off_t)NIC_NVQS * NIC_FRAG_BYTES),
				 0);
	}
	for (uint32_t v = 0; v < NIC_NVQS; v++) {
		uint64_t area = (uint64_t)v * NIC_VQ_AREA;
		uint64_t end = v + 1 < NIC_NVQS ? area + NIC_VQ_AREA :
						  NIC_MEM_MAPPED;

		for (uint32_t p = 0; p < per; p++) {
			uint32_t g = v * per + p;
			uint64_t off = area + (uint64_t)p * NIC_FRAG_PAGE, fo;
			int fd = d->memfd;
			void *va;

			if (nic_frag.two_fds) {
				/* ascending offsets, every other page in the
				 * other file */
				fo = (uint64_t)(g / 2) * NIC_FRAG_PAGE;
				if (g % 2)
					fd = d->memfd2;
				else
					fo += extra;
			} else {
				/* after the canary, in reverse order */
				fo = extra +
				     (uint64_t)(npages - 1 - g) * NIC_FRAG_PAGE;
			}
			va = mmap(d->mem + off, NIC_FRAG_PAGE,
				  PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_FIXED, fd, (off_t)fo);
			assert_true(va == d->mem + off);
			dma_map(d, off, NIC_FRAG_PAGE, fd, fo);
		}
		/* the rest of the area, as usual */
		dma_map(d, area + NIC_FRAG_BYTES, end - area - NIC_FRAG_BYTES,
			d->memfd, area + NIC_FRAG_BYTES);
	}
}

/* nic_huge: file pages (and reserved range) of the layout */
static uint32_t
huge_pages(void)
{
	size_t total = NIC_MEM_MAPPED + NIC_MEM_CANARY;
	uint32_t n = 1 + (uint32_t)((total - 0x1000 + NIC_HUGE_PAGE - 1) /
				    NIC_HUGE_PAGE);

	return (n + 1) & ~1u;	/* pairs */
}

const char *
nic_huge_check(void)
{
	static char why[160];
	size_t len = (size_t)huge_pages() * NIC_HUGE_PAGE;
	int fd = memfd_create("nic-huge-check", MFD_CLOEXEC | MFD_HUGETLB);
	void *p;

	if (fd < 0) {
		snprintf(why, sizeof(why), "memfd_create(MFD_HUGETLB): %s",
			 strerror(errno));
		return why;
	}
	if (ftruncate(fd, (off_t)len) < 0 ||
	    (p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_POPULATE, fd, 0)) == MAP_FAILED) {
		snprintf(why, sizeof(why),
			 "%u free 2 MiB hugepages needed: %s "
			 "(echo N > /proc/sys/vm/nr_hugepages)",
			 huge_pages(), strerror(errno));
		close(fd);
		return why;
	}
	munmap(p, len);
	close(fd);
	return NULL;
}

/* nic_huge: the layout (see nic_common.h), mapped and DMA-mapped. */
static void
huge_map(struct nic_drv *d)
{
	const uint32_t n = huge_pages();
	uint8_t *base;

	d->memfd = memfd_create("nic-guest-huge", MFD_CLOEXEC | MFD_HUGETLB);
	assert_true(d->memfd >= 0);
	assert_int_equal(ftruncate(d->memfd, (off_t)n * NIC_HUGE_PAGE), 0);
	d->huge_len = (size_t)(n + 1) * NIC_HUGE_PAGE;
	d->huge_res = mmap(NULL, d->huge_len, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(d->huge_res != MAP_FAILED);
	base = (uint8_t *)RTE_ALIGN_CEIL((uintptr_t)d->huge_res, NIC_HUGE_PAGE);
	d->mem = base + NIC_HUGE_PAGE - 0x1000;
	for (uint32_t j = 0; j < n; j++) {
		uint8_t *va = base + (size_t)j * NIC_HUGE_PAGE;
		uint64_t fo = (uint64_t)(j ^ 1) * NIC_HUGE_PAGE;
		uint8_t *from = RTE_MAX(va, d->mem),
			*to = RTE_MIN(va + NIC_HUGE_PAGE,
				      d->mem + NIC_MEM_MAPPED);

		assert_true(mmap(va, NIC_HUGE_PAGE, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED, d->memfd,
				 (off_t)fo) == va);
		if (from < to)
			dma_map(d, (uint64_t)(from - d->mem),
				(uint64_t)(to - from), d->memfd,
				fo + (uint64_t)(from - va));
	}
}

struct nic_drv *
drv_open(void)
{
	return drv_open_at(nic.sock);
}

struct nic_drv *
drv_open_at(const char *path)
{
	struct rte_vfio_user_client_conf conf = {
		.path = path,
		.timeout_ms = 5000,
	};
	struct nic_drv *d = calloc(1, sizeof(*d));
	size_t total = NIC_MEM_MAPPED + NIC_MEM_CANARY;
	uint16_t ctl;

	assert_non_null(d);
	d->rx = malloc(sizeof(*d->rx));
	assert_non_null(d->rx);
	d->c = rte_vfio_user_client_attach(&conf);
	if (d->c == NULL)
		fail_msg("attach %s: %s", path, rte_strerror(rte_errno));
	assert_true(NIC_WAIT(rte_vfio_user_is_connected(
				     rte_vfio_user_get_dev_id(path)) == 1,
			     2000));

	d->memfd2 = -1;
	if (nic_huge) {
		huge_map(d);
		memset(d->mem + NIC_MEM_MAPPED, NIC_CANARY_BYTE,
		       NIC_MEM_CANARY);
		goto mapped;
	}
	d->memfd = memfd_create("nic-guest", MFD_CLOEXEC);
	assert_true(d->memfd >= 0);
	assert_int_equal(ftruncate(d->memfd,
				   (off_t)(total +
					   (nic_frag.on ?
						    NIC_NVQS * NIC_FRAG_BYTES :
						    0))),
			 0);
	d->mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED,
		      d->memfd, 0);
	assert_true(d->mem != MAP_FAILED);
	memset(d->mem + NIC_MEM_MAPPED, NIC_CANARY_BYTE, NIC_MEM_CANARY);
	if (nic_frag.on)
		frag_map(d);
	else
		assert_int_equal(rte_vfio_user_client_dma_map(
					 d->c, NIC_IOVA, NIC_MEM_MAPPED, d->mem,
					 d->memfd, 0,
					 VFIO_USER_DMA_MAP_F_READ |
						 VFIO_USER_DMA_MAP_F_WRITE),
				 0);
mapped:
	d->mapped = true;

	cfg_read(d, 0, d->cfg, sizeof(d->cfg));
	parse_caps(d);
	assert_true(d->msix_cap != 0 && d->pcicfg_cap != 0 && d->notify != 0);

	for (int i = 0; i < NIC_NVEC; i++) {
		d->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		assert_true(d->efd[i] >= 0);
	}
	assert_int_equal(rte_vfio_user_client_set_irqs(d->c,
			 VFIO_USER_PCI_MSIX_IRQ_INDEX,
			 VFIO_USER_IRQ_SET_DATA_EVENTFD |
			 VFIO_USER_IRQ_SET_ACTION_TRIGGER, 0, NIC_NVEC, d->efd), 0);
	/* as a driver does: memory decoding, bus mastering, MSI-X on */
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, RTE_VFIO_USER_PCI_CMD_MEMORY |
		RTE_VFIO_USER_PCI_CMD_MASTER);
	ctl = cfg_r16(d, d->msix_cap + RTE_VFIO_USER_PCI_MSIX_FLAGS);
	cfg_w16(d, d->msix_cap + RTE_VFIO_USER_PCI_MSIX_FLAGS,
		ctl | RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE);
	nic.cur = d;
	return d;
}

static bool
server_idle(void)
{
	/* the teardown over: destroy_device ran, memory and IRQs gone */
	return rte_vfio_user_is_idle(nic.dev_id) == 1;
}

void
drv_close(struct nic_drv *d)
{
	if (d == NULL)
		return;
	nic.cur = NULL;
	rte_vfio_user_client_detach(d->c);
	assert_true(NIC_WAIT(server_idle(), 5000));
	for (int i = 0; i < NIC_NVEC; i++)
		close(d->efd[i]);
	if (d->huge_res != NULL)
		munmap(d->huge_res, d->huge_len);
	else
		munmap(d->mem, NIC_MEM_MAPPED + NIC_MEM_CANARY);
	close(d->memfd);
	if (d->memfd2 >= 0)
		close(d->memfd2);
	free(d->rx);
	free(d);
}

bool
drv_canary_ok(const struct nic_drv *d)
{
	for (size_t i = 0; i < NIC_MEM_CANARY; i++)
		if (d->mem[NIC_MEM_MAPPED + i] != NIC_CANARY_BYTE)
			return false;
	return true;
}

/* ---- bring-up ---- */

uint8_t
drv_negotiate(struct nic_drv *d, uint64_t features)
{
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE;

	cc_w8(d, CC(device_status), 0);
	assert_int_equal(drv_status(d), 0);
	cc_w8(d, CC(device_status), s);
	s |= VIRTIO_CONFIG_S_DRIVER;
	cc_w8(d, CC(device_status), s);
	cc_w32(d, CC(guest_feature_select), 0);
	cc_w32(d, CC(guest_feature), (uint32_t)features);
	cc_w32(d, CC(guest_feature_select), 1);
	cc_w32(d, CC(guest_feature), (uint32_t)(features >> 32));
	cc_w8(d, CC(device_status), s | VIRTIO_CONFIG_S_FEATURES_OK);
	d->features = features;
	memset(d->vq, 0, sizeof(d->vq));
	s = drv_status(d);
	/* the control queue follows the pairs the device says it has
	 * (VIRTIO 5.1.2), not the devarg the tests gave it: a device whose
	 * offer and queue layout disagree fails here, not in a hang */
	d->ctrl_index = 2;
	if ((s & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    (features & NIC_F(VIRTIO_NET_F_MQ))) {
		struct virtio_net_config c;

		drv_read_netcfg(d, &c);
		d->ctrl_index = (uint16_t)(2 * c.max_virtqueue_pairs);
		if (c.max_virtqueue_pairs != NIC_QUEUES)
			fail_msg("max_virtqueue_pairs %u: the device was given "
				 "queues=%u",
				 c.max_virtqueue_pairs, NIC_QUEUES);
	}
	return s;
}

void
drv_setup_vq(struct nic_drv *d, uint16_t index)
{
	drv_setup_vq_at(d, index, 0, 0, 0, 0);
}

void
drv_setup_vq_at(struct nic_drv *d, uint16_t index, uint16_t size,
		uint64_t desc, uint64_t avail, uint64_t used)
{
	struct dvq *q = &d->vq[index];
	uint8_t *base = d->mem + (size_t)index * NIC_VQ_AREA;
	const size_t ring_off[4] = {
		nic_rings_across ? 0x800 : 0,
		nic_rings_across ? 0x1f00 : 0x1000,
		nic_rings_across ? 0x2800 : 0x2000,
		nic_rings_across ? 0x4000 : 0x3000,
	};

	memset(q, 0, sizeof(*q));
	memset(base, 0, 256u << 10);
	q->index = index;
	q->size = NIC_QSZ;
	q->packed = d->features & NIC_F(VIRTIO_F_RING_PACKED);
	q->in_order = d->features & NIC_F(VIRTIO_F_IN_ORDER);
	if (q->packed) {
		/* any size will do; the ring, the two event areas */
		q->size = size != 0 && size <= NIC_QSZ ? size : NIC_QSZ;
		q->pdesc = (void *)(base + ring_off[0]);
		q->drv_ev = (void *)(base + ring_off[1]);
		q->dev_ev = (void *)(base + ring_off[2]);
		q->avail_wrap = q->used_wrap = true;
	}
	q->desc = (void *)(base + ring_off[0]);
	q->avail = (void *)(base + ring_off[1]);
	q->used = (void *)(base + ring_off[2]);
	q->ind = (void *)(base + ring_off[3] + nic_frag.ind_off);
	q->bufs = base + (256u << 10) + nic_frag.buf_off;
	q->desc_iova = drv_iova(d, q->desc);
	q->avail_iova = drv_iova(d, q->avail);
	q->used_iova = drv_iova(d, q->used);
	q->ind_iova = drv_iova(d, q->ind);
	q->bufs_iova = drv_iova(d, q->bufs);
	for (uint16_t i = 0; i < NIC_QSZ; i++)
		q->hnext[i] = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = NIC_QSZ;

	if (desc == 0)
		desc = q->desc_iova;
	if (avail == 0)
		avail = q->avail_iova;
	if (used == 0)
		used = q->used_iova;
	cc_w16(d, CC(queue_select), index);
	assert_true(cc_r16(d, CC(queue_size)) >= NIC_QSZ);
	cc_w16(d, CC(queue_size), size ? size : NIC_QSZ);
	cc_w32(d, CC(queue_desc_lo), (uint32_t)desc);
	cc_w32(d, CC(queue_desc_hi), (uint32_t)(desc >> 32));
	cc_w32(d, CC(queue_avail_lo), (uint32_t)avail);
	cc_w32(d, CC(queue_avail_hi), (uint32_t)(avail >> 32));
	cc_w32(d, CC(queue_used_lo), (uint32_t)used);
	cc_w32(d, CC(queue_used_hi), (uint32_t)(used >> 32));
	cc_w16(d, CC(queue_msix_vector), (uint16_t)(index + 1));
	q->vector = cc_r16(d, CC(queue_msix_vector));
	assert_int_equal(q->vector, index + 1);
	q->notify_off = cc_r16(d, CC(queue_notify_off));
	cc_w16(d, CC(queue_enable), 1);
	q->enabled = true;
}

uint16_t
drv_num_vqs(uint64_t features)
{
	uint16_t pairs = (features & NIC_F(VIRTIO_NET_F_MQ)) ? NIC_QUEUES : 1;

	return (uint16_t)(2 * pairs +
		((features & NIC_F(VIRTIO_NET_F_CTRL_VQ)) ? 1 : 0));
}

uint16_t
drv_ctrl_post(struct nic_drv *d, uint8_t cls, uint8_t cmd, const void *data,
	      uint32_t len, bool indirect)
{
	struct dvq *q = &d->vq[d->ctrl_index];
	uint16_t head = dvq_alloc(q), old = q->avail_idx;
	uint8_t *slot = q->bufs + (size_t)head * NIC_SLOT;
	uint64_t iova = q->bufs_iova + (uint64_t)head * NIC_SLOT;
	struct vring_desc dd[3];
	unsigned int n = 0;

	slot[0] = cls;
	slot[1] = cmd;
	memcpy(slot + 2, data, len);
	slot[4096] = 0xee;
	d->ctrl_head = head;
	dd[n++] = (struct vring_desc){ iova, 2, VRING_DESC_F_NEXT, 0 };
	if (len > 0)
		dd[n++] = (struct vring_desc){ iova + 2, len, VRING_DESC_F_NEXT,
					       0 };
	dd[n++] = (struct vring_desc){ iova + 4096, 1, VRING_DESC_F_WRITE, 0 };
	if (q->packed) {
		struct vring_packed_desc pd[3];

		for (unsigned int k = 0; k < n; k++)
			pd[k] = (struct vring_packed_desc){
				dd[k].addr, dd[k].len, 0,
				indirect ? (dd[k].flags & VRING_DESC_F_WRITE) :
					   dd[k].flags
			};
		if (indirect) {
			memcpy(q->ind + (size_t)head * NIC_IND_MAX, pd,
			       n * sizeof(pd[0]));
			pd[0] = (struct vring_packed_desc){
				q->ind_iova + (uint64_t)head * NIC_IND_MAX * 16,
				n * 16, 0, VRING_DESC_F_INDIRECT
			};
			n = 1;
		}
		pdvq_publish(q, pd, n, head);
	} else {
		struct vring_desc *t = q->ind + (size_t)head * NIC_IND_MAX;
		uint16_t prev = head;

		if (indirect) {
			for (unsigned int k = 0; k < n; k++) {
				t[k] = dd[k];
				t[k].next = (uint16_t)(k + 1);
			}
			q->desc[head] = (struct vring_desc){
				q->ind_iova + (uint64_t)head * NIC_IND_MAX * 16,
				n * 16, VRING_DESC_F_INDIRECT, 0
			};
		} else {
			q->desc[head] = dd[0];
			for (unsigned int k = 1; k < n; k++) {
				uint16_t i = dvq_alloc(q);

				q->desc[prev].next = i;
				q->hnext[prev] = i;
				q->desc[i] = dd[k];
				prev = i;
			}
			q->chain_len[head] = (uint16_t)n;
		}
		dvq_publish(q, head);
	}
	dvq_kick(d, q, old);
	return head;
}

uint8_t
drv_ctrl_wait(struct nic_drv *d, uint16_t head)
{
	struct dvq *q = &d->vq[d->ctrl_index];
	uint8_t *slot = q->bufs + (size_t)head * NIC_SLOT;
	uint32_t ulen;
	uint16_t id;

	if (!NIC_WAIT(dvq_pending_used(q) > 0, 2000))
		fail_msg("control command %u/%u not completed (%s kick)",
			 slot[0], slot[1], q->kicks ? "after a" : "no");
	assert_true(dvq_get_used(q, &id, &ulen));
	assert_int_equal(id, head);
	assert_int_equal(ulen, slot[4096] == 0xee ? 0 : 1);
	dvq_free_chain(q, head);
	return slot[4096];
}

uint8_t
drv_ctrl_cmd(struct nic_drv *d, uint8_t cls, uint8_t cmd, const void *data,
	     uint32_t len, bool indirect)
{
	return drv_ctrl_wait(d,
			     drv_ctrl_post(d, cls, cmd, data, len, indirect));
}

void
drv_init(struct nic_drv *d, uint64_t features, uint16_t nvqs)
{
	uint8_t s = drv_negotiate(d, features);

	assert_int_equal(s, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK);
	cc_w16(d, CC(msix_config), 0);
	assert_int_equal(cc_r16(d, CC(msix_config)), 0);
	for (uint16_t i = 0; i < nvqs; i++)
		drv_setup_vq(d, i);
	s |= VIRTIO_CONFIG_S_DRIVER_OK;
	cc_w8(d, CC(device_status), s);
	assert_int_equal(drv_status(d), s);
	drv_irqs_clear(d);
}

uint64_t
drv_pba(struct nic_drv *d)
{
	uint64_t pba = 0;

	bar_read(d, NIC_MSIX_BAR, 0x800, &pba, 8);
	return pba;
}

uint64_t
drv_irqs(struct nic_drv *d, uint16_t vector)
{
	uint64_t v = 0;

	if (vector >= NIC_NVEC)
		return 0;
	if (read(d->efd[vector], &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

void
drv_irqs_clear(struct nic_drv *d)
{
	for (uint16_t i = 0; i < NIC_NVEC; i++)
		drv_irqs(d, i);
}

/* ---- virtqueues ---- */

uint64_t
drv_iova(const struct nic_drv *d, const void *p)
{
	return NIC_IOVA + (uint64_t)((const uint8_t *)p - d->mem);
}

void *
drv_va(struct nic_drv *d, uint64_t iova)
{
	return d->mem + (iova - NIC_IOVA);
}

/* Buffers in the device's hands, in the order they were made available. */
static void
fifo_push(struct dvq *q, uint16_t id)
{
	assert_true(q->fifo_n < NIC_QSZ);
	q->fifo[(q->fifo_h + q->fifo_n) % NIC_QSZ] = id;
	q->fifo_n++;
}

static uint16_t
fifo_at(const struct dvq *q, uint16_t i)
{
	return q->fifo[(q->fifo_h + i) % NIC_QSZ];
}

/* Remove id from the fifo (in order: it must be the first one). */
static void
fifo_remove(struct dvq *q, uint16_t id)
{
	uint16_t i;

	for (i = 0; i < q->fifo_n && fifo_at(q, i) != id; i++)
		;
	if (i == q->fifo_n)
		fail_msg("vq %u: the device used id %u, not in the device's "
			 "hands",
			 q->index, id);
	if (q->in_order && i != 0)
		fail_msg("vq %u: in order, id %u used before id %u", q->index,
			 id, fifo_at(q, 0));
	for (; i + 1 < q->fifo_n; i++)
		q->fifo[(q->fifo_h + i) % NIC_QSZ] = fifo_at(q, i + 1);
	q->fifo_n--;
}

uint16_t
pdvq_avail_bits(const struct dvq *q)
{
	return q->avail_wrap ? 1u << VRING_PACKED_DESC_F_AVAIL :
			       1u << VRING_PACKED_DESC_F_USED;
}

static bool
pdesc_used(const struct dvq *q, uint16_t pos, bool wrap)
{
	uint16_t f = __atomic_load_n(&q->pdesc[pos].flags, __ATOMIC_ACQUIRE);
	uint16_t both = (1u << VRING_PACKED_DESC_F_AVAIL) |
			(1u << VRING_PACKED_DESC_F_USED);

	(void)q;
	return (f & both) == (wrap ? both : 0);
}

static void
ppos_add(const struct dvq *q, uint16_t *pos, bool *wrap, uint16_t n)
{
	*pos = (uint16_t)(*pos + n);
	if (*pos >= q->size) {
		*pos = (uint16_t)(*pos - q->size);
		*wrap = !*wrap;
	}
}

void
pdvq_publish_raw(struct dvq *q, const struct vring_packed_desc *d,
		 unsigned int n, uint16_t id)
{
	uint16_t first = q->next_avail;

	assert_true(n >= 1 && q->ring_used + n <= q->size);
	for (unsigned int k = 0; k < n; k++) {
		struct vring_packed_desc *r = &q->pdesc[q->next_avail];

		r->addr = d[k].addr;
		r->len = d[k].len;
		r->id = d[k].id;
		if (k > 0)
			__atomic_store_n(&r->flags, d[k].flags,
					 __ATOMIC_RELEASE);
		ppos_add(q, &q->next_avail, &q->avail_wrap, 1);
	}
	__atomic_store_n(&q->pdesc[first].flags, d[0].flags, __ATOMIC_RELEASE);
	q->ring_used = (uint16_t)(q->ring_used + n);
	q->chain_len[id] = (uint16_t)n;
	fifo_push(q, id);
}

void
pdvq_publish(struct dvq *q, const struct vring_packed_desc *d, unsigned int n,
	     uint16_t id)
{
	struct vring_packed_desc c[NIC_QSZ];
	uint16_t pos = q->next_avail;
	bool wrap = q->avail_wrap;

	assert_true(n <= RTE_DIM(c));
	for (unsigned int k = 0; k < n; k++) {
		c[k] = d[k];
		c[k].id = id;
		c[k].flags =
			(uint16_t)((d[k].flags &
				    ~((1u << VRING_PACKED_DESC_F_AVAIL) |
				      (1u << VRING_PACKED_DESC_F_USED))) |
				   (wrap ? 1u << VRING_PACKED_DESC_F_AVAIL :
					   1u << VRING_PACKED_DESC_F_USED));
		ppos_add(q, &pos, &wrap, 1);
	}
	pdvq_publish_raw(q, c, n, id);
}

uint16_t
dvq_alloc(struct dvq *q)
{
	uint16_t i;

	assert_true(q->num_free > 0);
	i = q->free_head;
	q->free_head = q->hnext[i];
	q->num_free--;
	q->chain_len[i] = 1;
	return i;
}

void
dvq_free_chain(struct dvq *q, uint16_t head)
{
	uint16_t i = head, n = q->chain_len[head];

	if (q->packed) {
		/* one slot, whatever the descriptors it took */
		assert_true(head < NIC_QSZ && n > 0);
		q->hnext[head] = q->free_head;
		q->free_head = head;
		q->num_free++;
		q->chain_len[head] = 0;
		return;
	}
	assert_true(head < q->size && n > 0);
	for (uint16_t k = 0; k < n; k++) {
		uint16_t next = q->hnext[i];

		q->hnext[i] = q->free_head;
		q->free_head = i;
		q->num_free++;
		i = next;
	}
	q->chain_len[head] = 0;
}

void
dvq_publish(struct dvq *q, uint16_t head)
{
	if (head < q->size)
		fifo_push(q, head);
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

void
dvq_notify(struct nic_drv *d, struct dvq *q)
{
	uint16_t v = q->index;

	bar_write(d, NIC_BAR, d->notify + (uint64_t)q->notify_off * d->notify_mult,
		  &v, sizeof(v));
	q->kicks++;
}

uint16_t
dvq_avail_event(const struct dvq *q)
{
	const uint16_t *ev = (const uint16_t *)(const void *)((const uint8_t *)q->used +
		offsetof(struct vring_used, ring) +
		(size_t)q->size * sizeof(struct vring_used_elem));

	return __atomic_load_n(ev, __ATOMIC_ACQUIRE);
}

bool
dvq_kick(struct nic_drv *d, struct dvq *q, uint16_t old)
{
	bool need;

	/* the new avail idx before the device's suppression state */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->packed) {
		uint16_t f = __atomic_load_n(&q->dev_ev->flags,
					     __ATOMIC_ACQUIRE) &
			     3;

		(void)old;
		need = f != VRING_PACKED_EVENT_FLAG_DISABLE;
	} else if (d->features & NIC_F(VIRTIO_RING_F_EVENT_IDX)) {
		need = vring_need_event(dvq_avail_event(q), q->avail_idx, old);
	} else {
		need = !(__atomic_load_n(&q->used->flags, __ATOMIC_ACQUIRE) &
			 VRING_USED_F_NO_NOTIFY);
	}
	if (need)
		dvq_notify(d, q);
	return need;
}

/* Packed: the buffers the used descriptors from next_used cover. */
static uint16_t
ppending(const struct dvq *q)
{
	uint16_t pos = q->next_used, n = 0, i = 0;
	bool wrap = q->used_wrap;

	if (q->in_batch) {	/* the rest of a batch being taken */
		while (i < q->fifo_n && fifo_at(q, i) != q->batch_end)
			i++;
		n = i = (uint16_t)(i + 1);
		for (uint16_t k = 0; k < n; k++)
			ppos_add(q, &pos, &wrap, q->chain_len[fifo_at(q, k)]);
	}
	while (i < q->fifo_n && pdesc_used(q, pos, wrap)) {
		uint16_t id = q->pdesc[pos].id;

		if (!q->in_order) {
			if (id >= NIC_QSZ || q->chain_len[id] == 0)
				break;
			ppos_add(q, &pos, &wrap, q->chain_len[id]);
			n++;
			i++;
			continue;
		}
		/* in order: this one and all before the one with that id */
		do {
			uint16_t f = fifo_at(q, i++);

			ppos_add(q, &pos, &wrap, q->chain_len[f]);
			n++;
			if (f == id)
				break;
		} while (i < q->fifo_n);
	}
	return n;
}

uint16_t
dvq_pending_used(const struct dvq *q)
{
	if (q->packed)
		return ppending(q);
	return (uint16_t)(__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) -
			  q->last_used);
}

bool
dvq_peek_used(const struct dvq *q, uint16_t *id)
{
	if (dvq_pending_used(q) == 0)
		return false;
	if (q->in_order)
		*id = fifo_at(q, 0);
	else if (q->packed)
		*id = q->pdesc[q->next_used].id;
	else
		*id = (uint16_t)q->used->ring[q->last_used & (q->size - 1)].id;
	return true;
}

static bool
pget_used(struct dvq *q, uint16_t *id, uint32_t *len)
{
	uint16_t x = 0;	/* gcc -O2 with sanitizers cannot tell it is set */

	if (!q->in_batch) {
		if (!pdesc_used(q, q->next_used, q->used_wrap))
			return false;
		x = q->pdesc[q->next_used].id;
		*len = q->pdesc[q->next_used].len;
		if (q->in_order && q->fifo_n > 0 && fifo_at(q, 0) != x) {
			/* one used descriptor for a batch up to x */
			uint16_t i;

			for (i = 0; i < q->fifo_n && fifo_at(q, i) != x; i++)
				;
			if (i == q->fifo_n)
				fail_msg(
					"vq %u: in-order batch up to id %u, not in "
					"the device's hands",
					q->index, x);
			q->in_batch = true;
			q->batch_end = x;
		}
	}
	if (q->in_batch) {
		/* buffers of a batch before its last: used, nothing written */
		x = fifo_at(q, 0);
		if (x == q->batch_end)
			q->in_batch = false;
		else
			*len = 0;
	}
	if (x >= NIC_QSZ || q->chain_len[x] == 0)
		fail_msg("vq %u: used id %u is not a buffer of ours", q->index,
			 x);
	fifo_remove(q, x);
	ppos_add(q, &q->next_used, &q->used_wrap, q->chain_len[x]);
	q->ring_used = (uint16_t)(q->ring_used - q->chain_len[x]);
	*id = x;
	return true;
}

bool
dvq_get_used(struct dvq *q, uint16_t *id, uint32_t *len)
{
	const struct vring_used_elem *e;

	if (q->packed)
		return pget_used(q, id, len);
	if (dvq_pending_used(q) == 0)
		return false;
	e = &q->used->ring[q->last_used & (q->size - 1)];
	*id = (uint16_t)e->id;
	*len = e->len;
	if (q->in_order) {
		/* one entry may stand for a batch: the ones before its last
		 * buffer are used with nothing written */
		uint16_t f = fifo_at(q, 0);

		if (*id != f)
			*len = 0;
		*id = f;
	}
	if (*id < q->size && q->fifo_n > 0)
		fifo_remove(q, *id);
	q->last_used++;
	return true;
}

/* ---- packets ---- */

static uint8_t
pat(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 7u + i * 13u + (i >> 8));
}

void
pkt_fill(uint8_t *p, uint32_t len, uint32_t seq)
{
	assert_true(len >= 22);
	memcpy(p, nic_mac, 6);
	memcpy(p + 6, peer_mac, 6);
	p[12] = NIC_ETHERTYPE >> 8;
	p[13] = NIC_ETHERTYPE & 0xff;
	memcpy(p + 14, &seq, 4);
	memcpy(p + 18, &len, 4);
	for (uint32_t i = 22; i < len; i++)
		p[i] = pat(seq, i);
}

bool
pkt_check(const uint8_t *p, uint32_t len, uint32_t seq)
{
	uint32_t s, l;

	if (len < 22 || memcmp(p, nic_mac, 6) != 0 ||
	    memcmp(p + 6, peer_mac, 6) != 0)
		return false;
	memcpy(&s, p + 14, 4);
	memcpy(&l, p + 18, 4);
	if (s != seq || l != len)
		return false;
	for (uint32_t i = 22; i < len; i++)
		if (p[i] != pat(seq, i))
			return false;
	return true;
}

uint32_t
pkt_seq(const uint8_t *p, uint32_t len)
{
	uint32_t s = UINT32_MAX;

	if (len >= 22)
		memcpy(&s, p + 14, 4);
	return s;
}

uint16_t
drv_send(struct nic_drv *d, struct dvq *q, uint32_t len, uint32_t seq,
	 enum tx_shape shape, uint32_t seg)
{
	return drv_send_hdr(d, q, len, seq, shape, seg, NULL);
}

uint16_t
drv_send_hdr(struct nic_drv *d, struct dvq *q, uint32_t len, uint32_t seq,
	     enum tx_shape shape, uint32_t seg, const void *hdr)
{
	static uint8_t f[NIC_SLOT];

	assert_true(len <= sizeof(f));
	pkt_fill(f, len, seq);
	return drv_send_bytes(d, q, f, len, shape, seg, hdr);
}

uint16_t
drv_send_bytes(struct nic_drv *d, struct dvq *q, const uint8_t *frame,
	       uint32_t len, enum tx_shape shape, uint32_t seg, const void *hdr)
{
	uint16_t head = dvq_alloc(q), prev = head;
	uint8_t *slot = q->bufs + (size_t)head * NIC_SLOT;
	uint64_t iova = q->bufs_iova + (uint64_t)head * NIC_SLOT;
	struct vring_desc *tbl = q->ind + (size_t)head * NIC_IND_MAX;
	uint32_t off = NIC_HDR_LEN, n = 1;

	(void)d;
	assert_true(NIC_HDR_LEN + len <= NIC_SLOT);
	memset(slot, 0, NIC_HDR_LEN);
	if (hdr != NULL)
		memcpy(slot, hdr, NIC_HDR_LEN);
	memcpy(slot + NIC_HDR_LEN, frame, len);
	if (seg == 0)
		seg = len;
	if (q->packed) {
		struct vring_packed_desc pd[NIC_IND_MAX + 1];
		struct vring_packed_desc *pt = (void *)tbl;

		switch (shape) {
		case TX_ONE:
			pd[0] = (struct vring_packed_desc){ iova,
							    NIC_HDR_LEN + len,
							    0, 0 };
			break;
		case TX_SPLIT:
		case TX_INDIRECT:
			pd[0] = (struct vring_packed_desc){ iova, NIC_HDR_LEN,
							    0, 0 };
			while (off < NIC_HDR_LEN + len) {
				uint32_t k = RTE_MIN(seg,
						     NIC_HDR_LEN + len - off);

				assert_true(n < NIC_IND_MAX);
				pd[n - 1].flags |= VRING_DESC_F_NEXT;
				pd[n] = (struct vring_packed_desc){ iova + off,
								    k, 0, 0 };
				off += k;
				n++;
			}
			break;
		}
		if (shape == TX_INDIRECT) {
			/* the table: no NEXT flags, its length says */
			for (uint32_t k = 0; k < n; k++) {
				pt[k] = pd[k];
				pt[k].flags = 0;
			}
			pd[0] = (struct vring_packed_desc){
				q->ind_iova + (uint64_t)head * NIC_IND_MAX * 16,
				n * 16, 0, VRING_DESC_F_INDIRECT
			};
			n = 1;
		}
		pdvq_publish(q, pd, n, head);
		return head;
	}
	switch (shape) {
	case TX_ONE:
		q->desc[head] = (struct vring_desc){ iova, NIC_HDR_LEN + len, 0, 0 };
		break;
	case TX_SPLIT:
		q->desc[head] = (struct vring_desc){ iova, NIC_HDR_LEN,
						     VRING_DESC_F_NEXT, 0 };
		while (off < NIC_HDR_LEN + len) {
			uint32_t k = RTE_MIN(seg, NIC_HDR_LEN + len - off);
			uint16_t i = dvq_alloc(q);

			q->desc[prev].next = i;
			q->desc[prev].flags |= VRING_DESC_F_NEXT;
			q->hnext[prev] = i;
			q->desc[i] = (struct vring_desc){ iova + off, k, 0, 0 };
			prev = i;
			off += k;
			n++;
		}
		q->chain_len[head] = (uint16_t)n;
		break;
	case TX_INDIRECT:
		tbl[0] = (struct vring_desc){ iova, NIC_HDR_LEN, 0, 0 };
		while (off < NIC_HDR_LEN + len) {
			uint32_t k = RTE_MIN(seg, NIC_HDR_LEN + len - off);

			assert_true(n < NIC_IND_MAX);
			tbl[n - 1].flags |= VRING_DESC_F_NEXT;
			tbl[n - 1].next = (uint16_t)n;
			tbl[n] = (struct vring_desc){ iova + off, k, 0, 0 };
			off += k;
			n++;
		}
		q->desc[head] = (struct vring_desc){
			q->ind_iova + (uint64_t)head * NIC_IND_MAX * 16,
			n * 16, VRING_DESC_F_INDIRECT, 0 };
		break;
	}
	dvq_publish(q, head);
	return head;
}

unsigned int
drv_tx_reclaim(struct dvq *q)
{
	unsigned int n = 0;
	uint16_t id;
	uint32_t len;

	while (dvq_get_used(q, &id, &len)) {
		dvq_free_chain(q, id);
		n++;
	}
	return n;
}

uint16_t
drv_post_rx(struct dvq *q, unsigned int ndesc, uint32_t seg, bool indirect)
{
	uint16_t head = dvq_alloc(q), prev = head;
	uint64_t iova = q->bufs_iova + (uint64_t)head * NIC_SLOT;
	struct vring_desc *tbl = q->ind + (size_t)head * NIC_IND_MAX;

	assert_true(ndesc >= 1 && ndesc * seg <= NIC_SLOT);
	memset(q->bufs + (size_t)head * NIC_SLOT, 0xee, ndesc * seg);
	if (q->packed) {
		struct vring_packed_desc pd[NIC_IND_MAX];
		struct vring_packed_desc *pt = (void *)tbl;
		unsigned int n = ndesc;

		assert_true(ndesc <= NIC_IND_MAX);
		for (unsigned int k = 0; k < ndesc; k++)
			pd[k] = (struct vring_packed_desc){
				iova + k * seg, seg, 0,
				VRING_DESC_F_WRITE |
					(k + 1 < ndesc ? VRING_DESC_F_NEXT : 0)
			};
		if (indirect) {
			for (unsigned int k = 0; k < ndesc; k++) {
				pt[k] = pd[k];
				pt[k].flags = VRING_DESC_F_WRITE;
			}
			pd[0] = (struct vring_packed_desc){
				q->ind_iova + (uint64_t)head * NIC_IND_MAX * 16,
				ndesc * 16, 0, VRING_DESC_F_INDIRECT
			};
			n = 1;
		}
		q->buf_len[head] = ndesc * seg;
		pdvq_publish(q, pd, n, head);
		return head;
	}
	if (indirect) {
		assert_true(ndesc <= NIC_IND_MAX);
		for (unsigned int k = 0; k < ndesc; k++)
			tbl[k] = (struct vring_desc){ iova + k * seg, seg,
				VRING_DESC_F_WRITE |
				(k + 1 < ndesc ? VRING_DESC_F_NEXT : 0),
				(uint16_t)(k + 1) };
		q->desc[head] = (struct vring_desc){
			q->ind_iova + (uint64_t)head * NIC_IND_MAX * 16,
			ndesc * 16, VRING_DESC_F_INDIRECT, 0 };
	} else {
		q->desc[head] = (struct vring_desc){ iova, seg,
						     VRING_DESC_F_WRITE, 0 };
		for (unsigned int k = 1; k < ndesc; k++) {
			uint16_t i = dvq_alloc(q);

			q->desc[prev].flags |= VRING_DESC_F_NEXT;
			q->desc[prev].next = i;
			q->hnext[prev] = i;
			q->desc[i] = (struct vring_desc){ iova + k * seg, seg,
							  VRING_DESC_F_WRITE, 0 };
			prev = i;
		}
		q->chain_len[head] = (uint16_t)ndesc;
	}
	q->buf_len[head] = ndesc * seg;
	dvq_publish(q, head);
	return head;
}

bool
drv_recv(struct nic_drv *d, struct dvq *q, struct drx *out)
{
	uint16_t nb = 1, pending = dvq_pending_used(q), first;

	if (pending == 0)
		return false;
	assert_true(dvq_peek_used(q, &first));
	assert_true(first < NIC_QSZ);
	memcpy(&out->hdr, q->bufs + (size_t)first * NIC_SLOT, sizeof(out->hdr));
	if (d->features & NIC_F(VIRTIO_NET_F_MRG_RXBUF))
		nb = out->hdr.num_buffers;
	if (nb == 0)
		fail_msg("num_buffers 0");
	if (pending < nb)
		return false;
	out->len = 0;
	out->nbufs = nb;
	for (uint16_t k = 0; k < nb; k++) {
		const uint8_t *p;
		uint16_t id;
		uint32_t len, skip = k == 0 ? NIC_HDR_LEN : 0;

		assert_true(dvq_get_used(q, &id, &len));
		assert_true(id < q->size);
		assert_true(len <= q->buf_len[id]);
		assert_true(len >= skip);
		p = q->bufs + (size_t)id * NIC_SLOT;
		assert_true(out->len + len - skip <= sizeof(out->data));
		memcpy(out->data + out->len, p + skip, len - skip);
		out->len += len - skip;
		dvq_free_chain(q, id);
	}
	return true;
}

/* ---- PMD side ---- */

struct rte_mbuf *
nic_mbuf(uint32_t len, uint32_t seq, uint32_t seg)
{
	static uint8_t buf[NIC_SLOT];

	pkt_fill(buf, len, seq);
	return nic_mbuf_bytes(buf, len, seg);
}

struct rte_mbuf *
nic_mbuf_bytes(const uint8_t *buf, uint32_t len, uint32_t seg)
{
	struct rte_mbuf *head = NULL;
	uint32_t off = 0;

	if (seg == 0 || seg > 2048)
		seg = 2048;
	while (off < len) {
		uint32_t k = RTE_MIN(seg, len - off);
		struct rte_mbuf *m = rte_pktmbuf_alloc(nic.tx_mp);
		char *p;

		assert_non_null(m);
		p = rte_pktmbuf_append(m, (uint16_t)k);
		assert_non_null(p);
		memcpy(p, buf + off, k);
		if (head == NULL)
			head = m;
		else
			assert_int_equal(rte_pktmbuf_chain(head, m), 0);
		off += k;
	}
	return head;
}

uint16_t
nic_rx(uint16_t qid, struct rte_mbuf **pkts, uint16_t n, unsigned int ms)
{
	uint64_t end = nic_now_ms() + ms;
	uint16_t got = 0;

	do {
		got += rte_eth_rx_burst(nic.port, qid, pkts + got,
					(uint16_t)(n - got));
	} while (got < n && nic_now_ms() < end);
	return got;
}

bool
nic_mbuf_check(struct rte_mbuf *m, uint32_t len, uint32_t seq)
{
	static uint8_t buf[NIC_SLOT];
	const uint8_t *p;

	if (m->pkt_len != len || len > sizeof(buf))
		return false;
	p = rte_pktmbuf_read(m, 0, len, buf);
	return p != NULL && pkt_check(p, len, seq);
}

void
nic_free(struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
}

/* ---- guest memory in pieces (nic_frag) ---- */

/* Whether [p, p + len) of the driver's memory crosses a page. */
static bool
crosses(const struct nic_drv *d, const void *p, uint32_t len)
{
	return (drv_iova(d, p) % NIC_FRAG_PAGE) + len > NIC_FRAG_PAGE;
}

/* No bad descriptor or drop on pair 0, the canary intact. */
static void
frag_clean(const struct nic_drv *d)
{
	assert_int_equal(nic_xstat("rx_q0_bad_descriptors"), 0);
	assert_int_equal(nic_xstat("tx_q0_bad_descriptors"), 0);
	assert_int_equal(nic_xstat("rx_q0_drops"), 0);
	assert_int_equal(nic_xstat("tx_q0_drops"), 0);
	assert_true(drv_canary_ok(d));
}

void
nic_frag_to_port(struct nic_drv *d, uint32_t seq, bool indirect)
{
	struct dvq *q = &d->vq[1];
	struct rte_mbuf *m[32];
	uint32_t len[32];
	unsigned int cross = 0, n = 0;
	uint16_t old = q->avail_idx, h;

	assert_true(rte_vfio_user_get_mem_table(nic.dev_id)->nsegments >=
		    NIC_NVQS * (NIC_FRAG_BYTES / NIC_FRAG_PAGE));
	if (indirect) {
		/* tables of 16 entries: heads 7 and 15 (at 480 + 7 * 512
		 * into a page, with ind_off 480) cross a page */
		for (; n < 16; n++) {
			len[n] = 600;
			h = drv_send(d, q, len[n], seq + n, TX_INDIRECT, 40);
			cross += crosses(d, q->ind + (size_t)h * NIC_IND_MAX,
					 16 * 16);
		}
	} else {
		/* frames in one descriptor (the fast paths' shape) and in
		 * chains, from buf_off into a page on */
		for (; n < 8; n++) {
			len[n] = 3000 + n;
			h = drv_send(d, q, len[n], seq + n,
				     n % 2 ? TX_ONE : TX_SPLIT, 1000);
			cross += crosses(d, q->bufs + (size_t)h * NIC_SLOT,
					 NIC_HDR_LEN + len[n]);
		}
	}
	assert_true(cross >= 1);
	dvq_kick(d, q, old);
	assert_int_equal(nic_rx(0, m, (uint16_t)n, 2000), n);
	for (unsigned int i = 0; i < n; i++)
		if (!nic_mbuf_check(m[i], len[i], seq + i))
			fail_msg("driver -> device packet %u: %u bytes, "
				 "expected %u",
				 i, m[i]->pkt_len, len[i]);
	nic_free(m, (uint16_t)n);
	assert_int_equal(drv_tx_reclaim(q), n);
	frag_clean(d);
}

void
nic_frag_to_drv(struct nic_drv *d, uint32_t seq, bool indirect)
{
	struct dvq *q = &d->vq[0];
	bool mrg = d->features & NIC_F(VIRTIO_NET_F_MRG_RXBUF);
	struct rte_mbuf *m[32];
	uint32_t len[32];
	unsigned int cross = 0, n = 0;
	uint16_t old = q->avail_idx, h;

	assert_true(rte_vfio_user_get_mem_table(nic.dev_id)->nsegments >=
		    NIC_NVQS * (NIC_FRAG_BYTES / NIC_FRAG_PAGE));
	if (indirect) {
		/* tables of 3 entries: heads 7 and 15 cross a page */
		for (; n < 16; n++) {
			len[n] = 700 + n;
			h = drv_post_rx(q, 3, 256, true);
			cross += crosses(d, q->ind + (size_t)h * NIC_IND_MAX,
					 3 * 16);
		}
	} else {
		/* lone buffers (the fast paths' shape) and chains, from
		 * buf_off into a page on */
		for (; n < 8; n++) {
			len[n] = 3000 + n;
			h = n % 2 ? drv_post_rx(q, 1, 4000, false) :
				    drv_post_rx(q, 3, 1024, false);
			cross += crosses(d, q->bufs + (size_t)h * NIC_SLOT,
					 NIC_HDR_LEN + len[n]);
		}
	}
	assert_true(cross >= 1);
	dvq_kick(d, q, old);
	for (unsigned int i = 0; i < n; i++)
		m[i] = nic_mbuf(len[i], seq + i, i % 2 ? 0 : 700);
	assert_int_equal(rte_eth_tx_burst(nic.port, 0, m, (uint16_t)n), n);
	for (unsigned int i = 0; i < n; i++) {
		if (!NIC_WAIT(drv_recv(d, q, d->rx), 2000))
			fail_msg("device -> driver packet %u not received", i);
		if (mrg)
			assert_int_equal(d->rx->hdr.num_buffers, 1);
		if (d->rx->len != len[i] ||
		    !pkt_check(d->rx->data, len[i], seq + i))
			fail_msg("device -> driver packet %u: %u bytes, "
				 "expected %u",
				 i, d->rx->len, len[i]);
	}
	assert_int_equal(q->num_free, q->size);
	frag_clean(d);
}
