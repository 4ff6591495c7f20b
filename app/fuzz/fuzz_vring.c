/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * fuzz_vring: net_vfio_user's virtqueue processing, fed arbitrary
 * descriptor tables, rings and indices over fuzzed guest memory.
 *
 * vun_ring.c, vun_packed.c, vun_shadow.c and vun_queue_status.c are
 * compiled into the harness and driven through vun_rx_burst() /
 * vun_tx_burst() and vun_rx_queue_count() / vun_rx_descriptor_status(),
 * the functions the ethdev pointers call. The memory they translate against is real client memory
 * of a real librte_vfio_user device: at start-up the harness, as client,
 * negotiates and DMA-maps two memfds on a socket pair (a 64 KiB read/write
 * region and, right after it, a 4 KiB read-only one) and gives MSI-X and
 * INTx eventfds, so interrupts and dirty logging go through the library
 * too. Each input then programs one queue as the device model's vq_start()
 * does (split or packed, in-order, event index, indirect, mergeable
 * buffers and dirty logging on or off, any ring placement the device
 * model accepts, any start indices), writes guest memory and runs bursts
 * between the writes.
 *
 * Checked besides the sanitizers: bursts never return more than asked
 * (a receive burst no more than rx_queue_count said the ring held, but
 * on shadow rings, and the descriptor status says DONE up to that count,
 * AVAIL after it),
 * received mbufs are consistent (segments, lengths, frame limit), and
 * every mbuf is back in its pool at the end of each input.
 *
 * Input:
 *   u8  features  bit 0 packed, 1 in-order, 2 event index, 3 indirect,
 *                 4 mergeable rx buffers, 5 MSI-X (else INTx),
 *                 6 dirty logging, 7 no MSI-X vector for the queue
 *   u16 size      split: 1 << (size % 11); packed: 1 + size % 1024;
 *                 bit 15 set: the queue on shadow rings (vun_shadow.c,
 *                 as with ring_copy=1); bit 14 set: frames to the
 *                 driver limited as with VIRTIO_NET_F_MTU and mtu 1500;
 *                 bit 13: VIRTIO_NET_F_CSUM (the driver's partial
 *                 checksums finished), bit 12: VIRTIO_NET_F_GUEST_CSUM,
 *                 bit 11 (with 13): VIRTIO_NET_F_HOST_TSO4/6 and the
 *                 port's LRO (GSO packets taken whole); (with 12):
 *                 VIRTIO_NET_F_GUEST_TSO4/6 (segmentation requests sent
 *                 whole, else cut into segments); bit 10 (with 13): the
 *                 port keeps partial checksums (rx_partial=1 with the
 *                 receive checksum offloads)
 *   u16 desc, avail, used   ring offsets in the read/write region
 *                 (aligned down as VIRTIO requires)
 *   u16 last_avail, last_used   device positions (packed: bit 15 is
 *                 the wrap counter, the rest taken modulo the size)
 *   then operations until the input ends, each a u8 opcode % 4:
 *   0 write: u16 offset, u16 len (% 1024), the bytes (guest memory)
 *   1 rx_burst of u8 % 65 packets
 *   2 tx_burst of u8 % 33 packets, each u16 length (% 9300) and
 *     u8 segments (1 + % 4; bits 2-3: asking for no, a TCP, a UDP, or
 *     a TCP and an IPv4 header checksum; bits 4-7: l3_len 16 x that;
 *     bits 2-3 3 and bit 4 set: a segmentation request too, an IPv4
 *     version byte at l2_len, l4_len 20, tso_segsz 1 + length % 1500)
 *   3 rx_burst of 32 then tx_burst of 32 64-byte packets
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>

#include <linux/virtio_pci.h>

#include "fuzz_common.h"
#include "vun.h"
#include "vun_ring.h"
#include "vun_shadow.h"

int vun_logtype;	/* vun_ethdev.c's, not linked here */

#define MEM_IOVA	0x40000ULL
#define MEM_SIZE	(64 * 1024)
#define RO_IOVA		(MEM_IOVA + MEM_SIZE)	/* adjacent: chains may straddle */
#define RO_SIZE		4096
#define NB_MBUFS	1024
#define MBUF_ROOM	(RTE_PKTMBUF_HEADROOM + 2048)

static struct {
	int sock;		/* our end (the client's) */
	int dev_id;
	int msix_cap;		/* the PCI function's MSI-X capability */
	/* also held here: LeakSanitizer does not scan DPDK's heap (h.d) */
	struct rte_vfio_user_pci *pci;
	uint16_t msg_id;
	uint8_t *mem;		/* our mapping of the read/write region */
	uint8_t *ro;
	bool logging;
	struct rte_mempool *mp;
	struct vun_dev *d;
} h = { .sock = -1, .dev_id = -1 };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One request from the client end, its reply awaited; 0 or -errno. */
static int
call(uint16_t cmd, const void *payload, uint32_t len, const int *fds, int nfds)
{
	uint8_t buf[512];
	struct vfio_user_header hdr = {
		.msg_id = ++h.msg_id,
		.cmd = cmd,
		.msg_size = (uint32_t)sizeof(hdr) + len,
	};
	struct vfio_user_header rep;
	int ret;

	if (len > sizeof(buf) - sizeof(hdr))
		fuzz_fail("request too large");
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), payload, len);
	ret = fuzz_send(h.sock, buf, sizeof(hdr) + len, fds, nfds);
	if (ret < 0)
		return ret;
	ret = fuzz_recv_msg(h.sock, buf, sizeof(buf), NULL, NULL, 5000);
	if (ret <= 0)
		return ret == 0 ? -ECONNRESET : ret;
	memcpy(&rep, buf, sizeof(rep));
	if (rep.msg_id != hdr.msg_id)
		return -EPROTO;
	return (rep.flags & VFIO_USER_F_ERROR) ? -(int)rep.error_no : 0;
}

static uint8_t *
map_memory(uint64_t iova, size_t size, uint32_t prot)
{
	struct vfio_user_dma_map m = {
		.argsz = sizeof(m),
		.flags = prot,
		.offset = 0,
		.addr = iova,
		.size = size,
	};
	int fd = memfd_create("vu-fuzz-guest", MFD_CLOEXEC), ret;
	void *p;

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		fuzz_fail("memfd: %s", strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		fuzz_fail("mmap: %s", strerror(errno));
	ret = call(VFIO_USER_DMA_MAP, &m, sizeof(m), &fd, 1);
	if (ret < 0)
		fuzz_fail("DMA_MAP: %s", strerror(-ret));
	close(fd);
	return p;
}

static void
set_irq_eventfds(uint32_t index, uint32_t count)
{
	uint8_t buf[sizeof(struct vfio_user_irq_set)];
	struct vfio_user_irq_set s = {
		.argsz = sizeof(s),
		.flags = VFIO_USER_IRQ_SET_DATA_EVENTFD |
			 VFIO_USER_IRQ_SET_ACTION_TRIGGER,
		.index = index,
		.start = 0,
		.count = count,
	};
	int fds[8], ret;

	for (uint32_t i = 0; i < count; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[i] < 0)
			fuzz_fail("eventfd: %s", strerror(errno));
	}
	memcpy(buf, &s, sizeof(s));
	ret = call(VFIO_USER_DEVICE_SET_IRQS, buf, sizeof(s), fds, (int)count);
	if (ret < 0)
		fuzz_fail("SET_IRQS: %s", strerror(-ret));
	/* the library keeps its copies; interrupts pile up unread */
	for (uint32_t i = 0; i < count; i++)
		close(fds[i]);
}

static void
set_logging(bool on)
{
	struct vfio_user_dirty_pages dp = {
		.argsz = sizeof(dp),
		.flags = on ? VFIO_USER_DIRTY_PAGES_F_START :
			      VFIO_USER_DIRTY_PAGES_F_STOP,
	};
	int ret;

	if (on == h.logging)
		return;
	ret = call(VFIO_USER_DIRTY_PAGES, &dp, sizeof(dp), NULL, 0);
	if (ret < 0)
		fuzz_fail("DIRTY_PAGES: %s", strerror(-ret));
	h.logging = on;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct rte_vfio_user_notify_ops ops;
	const struct rte_vfio_user_dev_info info = {
		.flags = 0,
		.num_regions = 1,
		.num_irqs = 3,
	};
	const struct rte_vfio_user_irq_info intx = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD,
		.count = 1,
	};
	const struct rte_vfio_user_irq_info msix = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD,
		.count = 8,
	};
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":8}}";
	uint8_t ver[sizeof(struct vfio_user_version) + sizeof(json)];
	const struct vfio_user_version v = { .major = 0, .minor = 1 };
	int sv[2], ret;

	(void)argc;
	(void)argv;
	fuzz_eal_init("fuzz_vring");
	fuzz_log_init();
	h.mp = rte_pktmbuf_pool_create("fuzz_vring", NB_MBUFS, 32, 0, MBUF_ROOM,
				       SOCKET_ID_ANY);
	if (h.mp == NULL)
		fuzz_fail("mbuf pool: %s", rte_strerror(rte_errno));
	h.d = rte_zmalloc("fuzz_vring", sizeof(*h.d), RTE_CACHE_LINE_SIZE);
	if (h.d == NULL)
		fuzz_fail("out of memory");
	/* no event thread of the device model here: a broken ring is
	 * counted, not posted (fd 0 would be stdin) */
	h.d->error_efd = -1;
	h.d->notify_efd = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair: %s", strerror(errno));
	h.sock = sv[1];
	h.dev_id = rte_vfio_user_register_fd(sv[0], &ops, NULL);
	if (h.dev_id < 0 || rte_vfio_user_set_dev_info(h.dev_id, &info) < 0 ||
	    rte_vfio_user_set_irq_info(h.dev_id, VFIO_USER_PCI_INTX_IRQ_INDEX,
				       &intx) < 0 ||
	    rte_vfio_user_set_irq_info(h.dev_id, VFIO_USER_PCI_MSIX_IRQ_INDEX,
				       &msix) < 0 ||
	    rte_vfio_user_start(h.dev_id) < 0)
		fuzz_fail("device setup failed");

	memcpy(ver, &v, sizeof(v));
	memcpy(ver + sizeof(v), json, sizeof(json));
	ret = call(VFIO_USER_VERSION, ver, sizeof(ver), NULL, 0);
	if (ret < 0)
		fuzz_fail("VERSION: %s", strerror(-ret));
	h.mem = map_memory(MEM_IOVA, MEM_SIZE,
			   VFIO_USER_DMA_MAP_F_READ |
				   VFIO_USER_DMA_MAP_F_WRITE);
	h.ro = map_memory(RO_IOVA, RO_SIZE, VFIO_USER_DMA_MAP_F_READ);
	set_irq_eventfds(VFIO_USER_PCI_INTX_IRQ_INDEX, 1);
	set_irq_eventfds(VFIO_USER_PCI_MSIX_IRQ_INDEX, 8);

	/* interrupts go through a PCI function, as net_vfio_user's do */
	h.pci = rte_vfio_user_pci_create(RTE_VFIO_USER_PCI_CFG_SIZE);
	h.d->pci = h.pci;
	if (h.d->pci == NULL ||
	    rte_vfio_user_pci_set_bar(h.d->pci, 0, 4096, 0) < 0 ||
	    (h.msix_cap = rte_vfio_user_pci_add_msix(h.d->pci, 8, 0, 0, 0,
						     0x800)) < 0 ||
	    rte_vfio_user_pci_attach(h.d->pci, h.dev_id) < 0)
		fuzz_fail("PCI function setup failed");
	h.d->dev_id = h.dev_id;
	h.d->qsbr = rte_vfio_user_get_qsbr(h.dev_id);
	h.d->active_pairs = 1;
	if (h.d->qsbr == NULL ||
	    rte_rcu_qsbr_thread_register(h.d->qsbr, rte_lcore_id()) != 0)
		fuzz_fail("QSBR registration");
	return 0;
}

/* What vq_start() does with the driver's programming; false if the
 * device model would refuse it (rings not wholly in the read/write
 * region, or misaligned). */
static bool
queue_setup(struct vun_vq *vq, struct fz *f)
{
	uint8_t feat = fz_u8(f);
	uint16_t sz = fz_u16(f);
	uint64_t desc = fz_u16(f), avail = fz_u16(f), used = fz_u16(f);
	uint16_t la = fz_u16(f), lu = fz_u16(f);
	uint64_t dlen, alen, ulen;
	uint16_t msix_ctl;

	bool shadow = sz & 0x8000;

	memset(vq, 0, sizeof(*vq));
	vq->tx_st = &vq->st;
	vq->dev = h.d;
	vq->mp = h.mp;
	vq->packed = feat & 0x01;
	vq->in_order = feat & 0x02;
	vq->event_idx = feat & 0x04;
	vq->indirect = feat & 0x08;
	vq->mrg_rxbuf = feat & 0x10;
	vq->csum = sz & 0x2000;
	vq->guest_csum = sz & 0x1000;
	h.d->rx_partial = (sz & 0x2400) == 0x2400;
	/* as vq_take_features(): segmentation only with CSUM (FEATURES_OK
	 * refuses it without) */
	if ((sz & 0x2800) == 0x2800) {
		vq->gso_types = (uint8_t)vu_pmd_gso_types(UINT64_MAX, false);
		vq->max_lro = VU_PMD_MAX_GSO_FRAME;
		vq->rx_limit = VU_PMD_MAX_GSO_FRAME;
	} else {
		vq->rx_limit = VUN_MAX_FRAME;
	}
	if ((sz & 0x1800) == 0x1800)
		vq->guest_gso = (uint8_t)vu_pmd_gso_types(UINT64_MAX, true);
	msix_ctl = (feat & 0x20) ? RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE : 0;
	if (rte_vfio_user_pci_cfg_write(h.d->pci,
					(uint64_t)h.msix_cap +
						RTE_VFIO_USER_PCI_MSIX_FLAGS,
					&msix_ctl, 2) != 2)
		fuzz_fail("MSI-X enable");
	vq->msix_vector = (feat & 0x80) ? VIRTIO_MSI_NO_VECTOR : 0;
	vq->hdr_len = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	/* VIRTIO_NET_F_MTU negotiated with mtu 1500, or not */
	vq->max_frame = (sz & 0x4000) ? 1500 + 14 + 4 : UINT16_MAX;
	/* with the driver's segmentation, the receive side's limit as the
	 * device has it (the MTU's frame: what is longer must be a GSO
	 * packet), not "any" */
	if ((sz & 0x2800) == 0x2800 && vq->max_frame == UINT16_MAX)
		vq->max_frame = VUN_MAX_FRAME;
	vq->size = vq->packed ? 1 + sz % 1024 : 1 << (sz % 11);
	if (vq->packed) {
		desc &= ~15ULL;
		avail &= ~3ULL;
		used &= ~3ULL;
		dlen = (uint64_t)vq->size * sizeof(struct vring_packed_desc);
		alen = ulen = sizeof(struct vring_packed_desc_event);
		vq->last_avail = (la & 0x7fff) % vq->size;
		vq->avail_wrap = la >> 15;
		vq->last_used = (lu & 0x7fff) % vq->size;
		vq->used_wrap = lu >> 15;
	} else {
		desc &= ~15ULL;
		avail &= ~1ULL;
		used &= ~3ULL;
		dlen = (uint64_t)vq->size * sizeof(struct vring_desc);
		alen = sizeof(struct vring_avail) +
		       (uint64_t)(vq->size + 1) * 2;
		ulen = sizeof(struct vring_used) +
		       (uint64_t)vq->size * sizeof(struct vring_used_elem) + 2;
		vq->last_avail = la;
		vq->last_used = lu;
	}
	if (desc + dlen > MEM_SIZE || avail + alen > MEM_SIZE ||
	    used + ulen > MEM_SIZE)
		return false;
	vq->desc_iova = MEM_IOVA + desc;
	vq->avail_iova = MEM_IOVA + avail;
	vq->used_iova = MEM_IOVA + used;
	vq->desc = (void *)(h.mem + desc);
	vq->avail = (void *)(h.mem + avail);
	vq->used = (void *)(h.mem + used);
	/* the shadow of those rings, which it reaches through a page list */
	if (shadow && vun_shadow_make(h.d, vq) < 0)
		fuzz_fail("shadow rings refused for rings vq_start() takes");
	set_logging(feat & 0x40);
	__atomic_store_n(&vq->ready, 1, __ATOMIC_RELEASE);
	return true;
}

static void
check_rx(struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i], *s;
		uint32_t len = 0, segs = 0;

		for (s = m; s != NULL; s = s->next) {
			if (s->data_off + s->data_len > s->buf_len)
				fuzz_fail("rx segment past its buffer");
			len += s->data_len;
			segs++;
		}
		if (len != m->pkt_len || segs != m->nb_segs ||
		    m->pkt_len > (m->ol_flags & RTE_MBUF_F_RX_LRO ?
					  VU_PMD_MAX_GSO_FRAME :
					  VUN_MAX_FRAME))
			fuzz_fail("rx mbuf: pkt_len %u (segments say %u), "
				  "nb_segs %u (%u)",
				  m->pkt_len, len, m->nb_segs, segs);
	}
	rte_pktmbuf_free_bulk(pkts, n);
}

static void
do_rx(struct vun_vq *vq, uint16_t n)
{
	struct rte_mbuf *pkts[64];
	uint16_t got;

	uint32_t count = vun_rx_queue_count(vq);
	int st;

	/* what the ring holds: DONE up to count, AVAIL after it */
	if (count > vq->size)
		fuzz_fail("rx_queue_count %u, ring of %u", count, vq->size);
	if (count > 0 &&
	    (st = vun_rx_descriptor_status(vq, (uint16_t)(count - 1))) !=
		    RTE_ETH_RX_DESC_DONE)
		fuzz_fail("rx descriptor %u of %u: %d", count - 1, count, st);
	st = vun_rx_descriptor_status(vq, (uint16_t)count);
	if (st != (count < vq->size ? RTE_ETH_RX_DESC_AVAIL : -EINVAL))
		fuzz_fail("rx descriptor %u of %u: %d", count, count, st);
	got = vun_rx_burst(vq, pkts, n);
	/* on shadow rings the burst takes what the copy holds, which the
	 * driver may since have taken back in its ring (the count's) */
	if (got > n || (vq->shadow == NULL && got > count))
		fuzz_fail("rx_burst returned %u of %u (%u counted)", got, n,
			  count);
	check_rx(pkts, got);
}

static void
do_tx(struct vun_vq *vq, struct fz *f, uint16_t n, bool fixed)
{
	struct rte_mbuf *pkts[32];
	uint16_t k = 0, sent;

	for (uint16_t i = 0; i < n; i++) {
		static const uint64_t ol[4] = {
			0,
			RTE_MBUF_F_TX_TCP_CKSUM,
			RTE_MBUF_F_TX_UDP_CKSUM,
			RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IP_CKSUM,
		};
		uint16_t len = fixed ? 64 : fz_u16(f) % 9300;
		uint8_t b = fixed ? 0 : fz_u8(f), segs = 1 + b % 4;
		struct rte_mbuf *m = fuzz_make_pkt(h.mp, len, segs);

		if (m == NULL)
			continue;
		m->ol_flags |= ol[(b >> 2) & 3];
		m->l2_len = RTE_ETHER_HDR_LEN;
		m->l3_len = (uint16_t)(16 * (b >> 4));
		if ((b & 0x1c) == 0x1c) {
			m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG |
				       RTE_MBUF_F_TX_IPV4;
			m->l4_len = 20;
			m->tso_segsz = (uint16_t)(1 + len % 1500);
			if (m->data_len > RTE_ETHER_HDR_LEN)
				*rte_pktmbuf_mtod_offset(m, uint8_t *,
							 RTE_ETHER_HDR_LEN) =
					0x45;
		}
		pkts[k++] = m;
	}
	sent = vun_tx_burst(vq, pkts, k);
	if (sent > k)
		fuzz_fail("tx_burst took %u of %u", sent, k);
	/* what it did not take stays the caller's */
	rte_pktmbuf_free_bulk(pkts + sent, k - sent);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct vun_vq *vq = &h.d->vq[0];
	unsigned int avail;

	memset(h.mem, 0, MEM_SIZE);
	memset(h.ro, 0, RO_SIZE);
	if (!queue_setup(vq, &f))
		return -1;	/* not a queue the device would start */
	while (!fz_empty(&f)) {
		uint16_t off, len;

		switch (fz_u8(&f) % 4) {
		case 0:
			off = fz_u16(&f);	/* MEM_SIZE is 64 KiB */
			len = fz_u16(&f) % 1024;
			if (len > MEM_SIZE - off)
				len = MEM_SIZE - off;
			fz_bytes(&f, h.mem + off, len);
			break;
		case 1:
			do_rx(vq, fz_u8(&f) % 65);
			break;
		case 2:
			do_tx(vq, &f, fz_u8(&f) % 33, false);
			break;
		default:
			do_rx(vq, 32);
			do_tx(vq, &f, 32, true);
			break;
		}
	}
	__atomic_store_n(&vq->ready, 0, __ATOMIC_RELEASE);
	vun_shadow_free(vq);
	avail = rte_mempool_avail_count(h.mp);
	if (avail != NB_MBUFS)
		fuzz_fail("%u mbufs of %u back in the pool", avail, NB_MBUFS);
	return 0;
}
