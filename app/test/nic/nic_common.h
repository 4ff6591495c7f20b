/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef NIC_COMMON_H
#define NIC_COMMON_H

/*
 * Fixture of the emulated NIC tests. One process plays both parts:
 *
 *  - the device: EAL with --vdev net_vfio_user0 (the PMD is linked in, its
 *    constructor registers the driver), its ethdev port configured with
 *    NIC_QUEUES rx/tx queues and polled by the test with rx/tx bursts;
 *  - the driver: a vfio-user client (rte_vfio_user_client.h) on the
 *    device's socket with "guest memory" of its own (a memfd, DMA-mapped at
 *    NIC_IOVA, an address unlike its virtual one), which brings the
 *    virtio-net device up as a VIRTIO 1.x driver does and runs split
 *    virtqueues built in that memory.
 *
 * The library's event thread serves both ends of the socket.
 *
 * Guest memory: NIC_MEM_MAPPED bytes are DMA-mapped; a NIC_MEM_CANARY tail
 * of the same memfd is not, and holds a pattern the device must never touch.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <rte_vfio_user.h>
#include <rte_vfio_user_client.h>
#include <rte_vfio_user_pci.h>

#define NIC_QUEUES	2	/* devarg queues= */
#define NIC_MTU		9000	/* devarg mtu= */
#define NIC_MAC		{ 0x02, 0x00, 0x00, 0xaa, 0xbb, 0x01 }
#define NIC_NVQS	(2 * NIC_QUEUES + 1)
#define NIC_NVEC	(2 * NIC_QUEUES + 2)	/* MSI-X table size */
#define NIC_CTRL_VQ	(2 * NIC_QUEUES)	/* with MQ */

#define NIC_IOVA	0x100000000ULL	/* where the guest memory is mapped */
#define NIC_QSZ		256		/* queue size the driver picks */
#define NIC_SLOT	16384		/* buffer bytes per descriptor */
#define NIC_IND_MAX	32		/* entries per head's indirect table */
#define NIC_VQ_AREA	(5u << 20)	/* guest memory per virtqueue */
#define NIC_SCRATCH_OFF	(NIC_NVQS * NIC_VQ_AREA)
#define NIC_SCRATCH_SIZE (4u << 20)
#define NIC_MEM_MAPPED	(NIC_SCRATCH_OFF + NIC_SCRATCH_SIZE)
#define NIC_MEM_CANARY	(1u << 20)
#define NIC_CANARY_BYTE	0xa5

#define NIC_HDR_LEN	12	/* struct virtio_net_hdr_v1 (VERSION_1) */
#define NIC_ETHERTYPE	0x88b5	/* local experimental */

/* BAR4 layout (also checked against the capabilities by test_nic_model). */
#define NIC_BAR		4
#define NIC_MSIX_BAR	1

/* Features the split-ring test driver negotiates (all the device offers
 * but in-order use and packed rings, which tests ask for by name). */
#define NIC_F(b)	(1ULL << (b))
#define NIC_OFFERED ( \
	NIC_F(VIRTIO_F_VERSION_1) | NIC_F(VIRTIO_F_ACCESS_PLATFORM) | \
	NIC_F(VIRTIO_RING_F_INDIRECT_DESC) | NIC_F(VIRTIO_RING_F_EVENT_IDX) | \
	NIC_F(VIRTIO_NET_F_MAC) | NIC_F(VIRTIO_NET_F_MTU) | \
	NIC_F(VIRTIO_NET_F_STATUS) | NIC_F(VIRTIO_NET_F_MRG_RXBUF) | \
	NIC_F(VIRTIO_NET_F_CTRL_VQ) | NIC_F(VIRTIO_NET_F_CTRL_RX) | \
	NIC_F(VIRTIO_NET_F_CTRL_MAC_ADDR) | NIC_F(VIRTIO_NET_F_MQ))
/* Everything the device offers by default. */
#define NIC_DEV_OFFERED                                           \
	(NIC_OFFERED | NIC_F(VIRTIO_F_IN_ORDER) |                 \
	 NIC_F(VIRTIO_F_RING_PACKED) | NIC_F(VIRTIO_NET_F_CSUM) | \
	 NIC_F(VIRTIO_NET_F_GUEST_CSUM) |                         \
	 NIC_F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) |                \
	 NIC_F(VIRTIO_F_RING_RESET) | NIC_F(VIRTIO_NET_F_SPEED_DUPLEX))

/* The device side: EAL, the port, what the LSC callback saw. */
struct nic_env {
	char dir[128];			/* private mkdtemp directory */
	char sock[160];			/* the device's socket */
	uint16_t port;
	int dev_id;			/* rte_vfio_user id of the device */
	struct rte_mempool *rx_mp;	/* the port's rx mbufs */
	struct rte_mempool *tx_mp;	/* the mbufs the test transmits */
	int lsc_events;			/* atomic */
	struct nic_drv *cur;		/* open driver, closed by teardown */
	bool stopped;			/* port stopped by nic_port_stop() */
};
extern struct nic_env nic;

/* One driver-side split virtqueue. */
struct dvq {
	uint16_t index;			/* virtqueue index */
	uint16_t size;
	bool enabled;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t desc_iova, avail_iova, used_iova;
	uint8_t *bufs;			/* NIC_SLOT bytes per descriptor */
	uint64_t bufs_iova;
	struct vring_desc *ind;		/* NIC_IND_MAX entries per descriptor */
	uint64_t ind_iova;
	uint16_t free_head;		/* driver's free list (host side) */
	uint16_t num_free;
	uint16_t hnext[NIC_QSZ];
	uint16_t chain_len[NIC_QSZ];	/* ring descriptors of a head's chain */
	uint32_t buf_len[NIC_QSZ];	/* receive: bytes posted at this head */
	uint16_t avail_idx;		/* our shadow of avail->idx */
	uint16_t last_used;
	uint16_t notify_off;		/* queue_notify_off */
	uint16_t vector;		/* MSI-X vector, as read back */
	uint64_t kicks;			/* doorbells we rang */

	/*
	 * Packed rings (VIRTIO_F_RING_PACKED): the descriptor ring where
	 * desc is, the driver / device event suppression structures where
	 * avail / used are. A buffer's id is its slot (bufs, ind, chain_len
	 * indexed by it); chain_len[id] is then its ring descriptors.
	 */
	bool packed;
	bool in_order;			/* VIRTIO_F_IN_ORDER negotiated */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *drv_ev, *dev_ev;
	uint16_t next_avail, next_used;	/* ring positions */
	bool avail_wrap, used_wrap;
	uint16_t ring_used;		/* descriptors in the device's hands */
	/* buffers made available, in order (heads / ids) */
	uint16_t fifo[NIC_QSZ];
	uint16_t fifo_h, fifo_n;
	uint16_t batch_end;		/* in order: a used batch up to this id */
	bool in_batch;
};

/*
 * Guest memory in pieces, as a guest behind a vIOMMU maps it (issue 16):
 * drv_open() then DMA-maps the first NIC_FRAG_BYTES of every virtqueue's
 * area (its rings, indirect tables and first buffers) as 4 KiB regions
 * whose pages sit at non-adjacent offsets of the memfd (in reverse
 * order), or alternate between two memfds (two_fds), so that no two
 * neighbouring pages are contiguous for the device; the driver's view
 * (d->mem, drv_iova()) stays linear. buf_off and ind_off move each
 * queue's buffers and indirect tables by that much (a buffer of the slot
 * then starts buf_off bytes into a page, a table of a head h with
 * h % 8 == 7 crosses a page once longer than 512 - ind_off bytes). Set
 * before drv_open(); nic_test_teardown() resets it.
 */
#define NIC_FRAG_BYTES	(1u << 20)
#define NIC_FRAG_PAGE	4096u
struct nic_frag {
	bool on;
	bool two_fds;
	uint32_t buf_off;	/* < NIC_FRAG_PAGE */
	uint32_t ind_off;	/* < 512 */
};
extern struct nic_frag nic_frag;

/* More devargs for net_vfio_user0 (",key=value..."), set before
 * nic_group_setup(); "" by default. */
extern const char *nic_devargs_extra;

/*
 * Rings across pages: drv_setup_vq_at() puts each queue's descriptor
 * ring at 0x800 into its area (across the first page boundary), the
 * driver area at 0x1f00 (split: its entries, used_event in the next page)
 * and the device area at 0x2800 (split: the last used element straddles
 * a page, avail_event after it), indirect tables from 0x4000 on. With
 * nic_frag.on, every ring is then in pieces the device cannot see as
 * contiguous. Set by the programs that test shadow rings (ring_copy).
 */
extern bool nic_rings_across;

/*
 * Guest memory in 2 MiB hugetlbfs pages (memfd MFD_HUGETLB), as a VM with
 * hugepage-backed RAM has it: drv_open() maps the pages in pairs swapped
 * (page 2k of the file where 2k + 1 would be, and back), each its own
 * DMA region, so that the device sees a page boundary every 2 MiB with
 * non-adjacent file offsets on either side; the driver's view stays
 * linear, a boundary falls 4 KiB into queues 0, 2 and 4's areas (with
 * nic_rings_across, inside their descriptor rings). The device cannot map
 * such a ring again as one range (hugetlbfs): it must use shadow rings.
 * nic_huge_check() says whether the machine has the pages (NULL) or why
 * not.
 */
extern bool nic_huge;
#define NIC_HUGE_PAGE	(2u << 20)
const char *nic_huge_check(void);

/* The driver. */
struct nic_drv {
	struct rte_vfio_user_client *c;
	int memfd;
	int memfd2;			/* nic_frag.two_fds, else -1 */
	uint32_t nregions;		/* DMA regions mapped by drv_open() */
	void *huge_res;			/* nic_huge: the reserved range */
	size_t huge_len;
	struct drx *rx;			/* for nic_frag_traffic() */
	uint8_t *mem;			/* NIC_MEM_MAPPED + NIC_MEM_CANARY */
	bool mapped;
	uint8_t cfg[256];		/* config space as last read */
	/* where the capabilities point (BAR offsets) */
	uint32_t common, isr, devcfg, notify, notify_mult;
	uint8_t msix_cap, pcicfg_cap, pm_cap;
	uint64_t features;		/* negotiated */
	uint16_t ctrl_index;		/* the control queue's: 2 x the
					 * max_virtqueue_pairs read with MQ */
	uint16_t ctrl_head;		/* of the last drv_ctrl_cmd() */
	int efd[NIC_NVEC];		/* MSI-X vector eventfds */
	struct dvq vq[NIC_NVQS];
};

/* A received packet, gathered from the driver's receive buffers. */
struct drx {
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint16_t nbufs;			/* used entries it took */
	uint32_t len;			/* packet bytes (no header) */
	uint8_t data[NIC_SLOT];
};

/* ---- fixture ---- */

/* cmocka group setup: EAL, port, sockets dir. prog names the file prefix. */
int nic_group_setup(const char *prog);
int nic_group_teardown(void **state);
/* Per test: arms a watchdog; the teardown closes a driver left open by a
 * failed test and restarts the port if it was left stopped. */
int nic_test_setup(void **state);
int nic_test_teardown(void **state);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t nic_now_ms(void);
#define NIC_WAIT(cond, ms) ({						\
	uint64_t _end = nic_now_ms() + (ms);				\
	bool _ok;							\
	while (!(_ok = (cond)) && nic_now_ms() < _end)			\
		usleep(200);						\
	_ok;								\
})

/* Start or stop the port. */
/* Configure the stopped port (rxmode.mtu mtu, 0: ethdev's default) and
 * set its queues up again (a failed configure releases them). */
int nic_port_configure(uint16_t mtu);
/* The same for another port of the test (a vdev it created). */
int nic_port_configure_at(uint16_t port, uint16_t mtu);
/* nic_port_configure() with RTE_ETH_RX_OFFLOAD_TCP_LRO and max_lro its
 * max_lro_pkt_size (0: LRO off), and RTE_ETH_TX_OFFLOAD_TCP_TSO (tso). */
int nic_port_configure_lro(uint16_t mtu, uint32_t max_lro, bool tso);
/* ...and the receive checksum offloads (TCP_CKSUM, UDP_CKSUM) if rx_csum. */
int nic_port_configure_ol(uint16_t mtu, uint32_t max_lro, bool tso,
			  bool rx_csum);
void nic_port_start(void);
void nic_port_stop(void);
/* Link status as the application sees it (rte_eth_link_get_nowait). */
bool nic_link_up(void);
int nic_lsc(void);

/* xstat by name (fails the test if unknown). */
uint64_t nic_xstat(const char *name);

/* ---- the driver ---- */

/* Attach, map the guest memory, read config space and capabilities, set
 * up MSI-X eventfds. */
struct nic_drv *drv_open(void);
/* A driver on the device at path (another port of the test). */
struct nic_drv *drv_open_at(const char *path);
/* Detach and wait until the device saw the client go. */
void drv_close(struct nic_drv *d);
/* Whether the canary tail of the guest memory is intact. */
bool drv_canary_ok(const struct nic_drv *d);

/* Config space and BAR access. */
void cfg_read(struct nic_drv *d, uint32_t off, void *buf, size_t len);
void cfg_write(struct nic_drv *d, uint32_t off, const void *buf, size_t len);
uint8_t cfg_r8(struct nic_drv *d, uint32_t off);
uint16_t cfg_r16(struct nic_drv *d, uint32_t off);
uint32_t cfg_r32(struct nic_drv *d, uint32_t off);
void cfg_w8(struct nic_drv *d, uint32_t off, uint8_t v);
void cfg_w16(struct nic_drv *d, uint32_t off, uint16_t v);
void cfg_w32(struct nic_drv *d, uint32_t off, uint32_t v);
void bar_read(struct nic_drv *d, uint32_t bar, uint64_t off, void *buf, size_t len);
void bar_write(struct nic_drv *d, uint32_t bar, uint64_t off, const void *buf, size_t len);

/* Common configuration fields, by offsetof(struct virtio_pci_common_cfg). */
#define CC(f) offsetof(struct virtio_pci_common_cfg, f)
uint8_t cc_r8(struct nic_drv *d, size_t off);
uint16_t cc_r16(struct nic_drv *d, size_t off);
uint32_t cc_r32(struct nic_drv *d, size_t off);
void cc_w8(struct nic_drv *d, size_t off, uint8_t v);
void cc_w16(struct nic_drv *d, size_t off, uint16_t v);
void cc_w32(struct nic_drv *d, size_t off, uint32_t v);
uint8_t drv_status(struct nic_drv *d);
uint64_t drv_device_features(struct nic_drv *d);
void drv_read_netcfg(struct nic_drv *d, struct virtio_net_config *c);

/* Reset (status 0), ACKNOWLEDGE, DRIVER, write features, FEATURES_OK.
 * Returns the status read back. */
uint8_t drv_negotiate(struct nic_drv *d, uint64_t features);
/* Program virtqueue index (size NIC_QSZ, MSI-X vector index + 1) and
 * enable it. */
void drv_setup_vq(struct nic_drv *d, uint16_t index);
/* The same with the rings the device is told about at other IOVAs (0: the
 * queue's own), and another size (0: NIC_QSZ). */
void drv_setup_vq_at(struct nic_drv *d, uint16_t index, uint16_t size,
		     uint64_t desc, uint64_t avail, uint64_t used);
/* negotiate + config vector + queues [0, nvqs) + DRIVER_OK. Fails the
 * test unless the status reads back with DRIVER_OK and no NEEDS_RESET. */
void drv_init(struct nic_drv *d, uint64_t features, uint16_t nvqs);
/* Queue count the driver uses for the negotiated features. */
uint16_t drv_num_vqs(uint64_t features);
/* Post a control command (class, command, data) on the control queue,
 * split or packed, its descriptors direct or in one indirect table, and
 * kick; its head. The command sits in the head's slot, the ack (0xee
 * until the device writes it) 4 KiB after it. */
uint16_t drv_ctrl_post(struct nic_drv *d, uint8_t cls, uint8_t cmd,
		       const void *data, uint32_t len, bool indirect);
/* Wait for the command posted at head to be used; the device's ack. */
uint8_t drv_ctrl_wait(struct nic_drv *d, uint16_t head);
/* drv_ctrl_post() then drv_ctrl_wait(). */
uint8_t drv_ctrl_cmd(struct nic_drv *d, uint8_t cls, uint8_t cmd,
		     const void *data, uint32_t len, bool indirect);

/* Eventfd count of an MSI-X vector since the last call (0 if none). */
uint64_t drv_irqs(struct nic_drv *d, uint16_t vector);
/* The MSI-X pending bits of vectors 0-63 (the PBA, BAR1 + 0x800). */
uint64_t drv_pba(struct nic_drv *d);
void drv_irqs_clear(struct nic_drv *d);

/* ---- virtqueue primitives ---- */

uint64_t drv_iova(const struct nic_drv *d, const void *p);
void *drv_va(struct nic_drv *d, uint64_t iova);

uint16_t dvq_alloc(struct dvq *q);
void dvq_free_chain(struct dvq *q, uint16_t head);
/* Make head available (avail ring + release store of idx). */
void dvq_publish(struct dvq *q, uint16_t head);
/* Notify if the device wants it (NO_NOTIFY flag or avail_event).
 * old is avail idx before the batch. Returns true if kicked. */
bool dvq_kick(struct nic_drv *d, struct dvq *q, uint16_t old);
/* Ring the doorbell unconditionally. */
void dvq_notify(struct nic_drv *d, struct dvq *q);
/* Next used element; false if none. */
bool dvq_get_used(struct dvq *q, uint16_t *id, uint32_t *len);
/* The device's avail_event (EVENT_IDX), after the used ring. */
uint16_t dvq_avail_event(const struct dvq *q);
/* Used entries (buffers) not consumed yet. */
uint16_t dvq_pending_used(const struct dvq *q);
/* The id of the next used buffer, not consumed; false if none. */
bool dvq_peek_used(const struct dvq *q, uint16_t *id);

/* Packed rings: make the buffer id available as the n descriptors d
 * (their AVAIL/USED bits are set here, the first one's last; the wrap
 * bits are ours unless raw). Not kicked. */
void pdvq_publish(struct dvq *q, const struct vring_packed_desc *d,
		  unsigned int n, uint16_t id);
/* The same with the descriptors' flags exactly as given (no wrap bits
 * added; the first one's written last). */
void pdvq_publish_raw(struct dvq *q, const struct vring_packed_desc *d,
		      unsigned int n, uint16_t id);
/* AVAIL/USED bits of an available descriptor at the next position. */
uint16_t pdvq_avail_bits(const struct dvq *q);

/* ---- packets ---- */

/* Build a test frame: our MAC, ethertype NIC_ETHERTYPE, seq-seeded payload. */
void pkt_fill(uint8_t *p, uint32_t len, uint32_t seq);
bool pkt_check(const uint8_t *p, uint32_t len, uint32_t seq);
/* seq stored in a frame by pkt_fill. */
uint32_t pkt_seq(const uint8_t *p, uint32_t len);

/* How drv_send lays a packet out. */
enum tx_shape {
	TX_ONE,		/* header and data in one descriptor */
	TX_SPLIT,	/* header descriptor, then data in pieces of seg bytes */
	TX_INDIRECT,	/* like TX_SPLIT, in an indirect table */
};
/* Put a frame of len bytes (header zeroed) on transmitq q and make it
 * available; no kick. Returns the head. */
uint16_t drv_send(struct nic_drv *d, struct dvq *q, uint32_t len, uint32_t seq,
		  enum tx_shape shape, uint32_t seg);
/* drv_send() with the virtio_net_hdr hdr (NIC_HDR_LEN bytes; NULL: 0). */
uint16_t drv_send_hdr(struct nic_drv *d, struct dvq *q, uint32_t len,
		      uint32_t seq, enum tx_shape shape, uint32_t seg,
		      const void *hdr);
/* drv_send_hdr() of the len bytes at frame. */
uint16_t drv_send_bytes(struct nic_drv *d, struct dvq *q, const uint8_t *frame,
			uint32_t len, enum tx_shape shape, uint32_t seg,
			const void *hdr);
/* Reclaim the transmit heads the device used; returns how many. */
unsigned int drv_tx_reclaim(struct dvq *q);

/* Post a receive buffer (made available, no kick): a chain of ndesc
 * writable descriptors of seg bytes each, optionally through an indirect
 * table. */
uint16_t drv_post_rx(struct dvq *q, unsigned int ndesc, uint32_t seg,
		     bool indirect);
/* Take one received packet (merging num_buffers buffers when MRG_RXBUF).
 * Returns false if none is complete. Frees the buffers. */
bool drv_recv(struct nic_drv *d, struct dvq *q, struct drx *out);

/* ---- the PMD side ---- */

/* An mbuf (chain of segments of at most seg bytes) holding test frame seq. */
struct rte_mbuf *nic_mbuf(uint32_t len, uint32_t seq, uint32_t seg);
/* An mbuf (chain of segments of at most seg bytes) holding len bytes of buf. */
struct rte_mbuf *nic_mbuf_bytes(const uint8_t *buf, uint32_t len, uint32_t seg);
/* rx_burst until n packets came (or ms passed); returns how many. */
uint16_t nic_rx(uint16_t qid, struct rte_mbuf **pkts, uint16_t n, unsigned int ms);
/* Check an mbuf holds frame seq of len bytes. */
bool nic_mbuf_check(struct rte_mbuf *m, uint32_t len, uint32_t seq);
void nic_free(struct rte_mbuf **pkts, uint16_t n);

/*
 * With nic_frag.on and pair 0 up, packets across pages, each page its own
 * segment: driver -> device (nic_frag_to_port) or device -> driver
 * (nic_frag_to_drv), buffers from buf_off into a page on, or (indirect)
 * small buffers in indirect tables that cross a page (ind_off 480).
 * Checked intact, with no bad descriptor or drop on pair 0.
 */
void nic_frag_to_port(struct nic_drv *d, uint32_t seq, bool indirect);
void nic_frag_to_drv(struct nic_drv *d, uint32_t seq, bool indirect);

#endif /* NIC_COMMON_H */
