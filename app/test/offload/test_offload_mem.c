/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * offload_mem: client memory seen from an offload engine.
 *
 * The NIC test fixture (app/test/nic: net_vfio_user0 and a test virtio
 * driver on the vfio-user client, in this process) with the devarg
 * offload=<socket> of an engine: Debian's dpdk-testpmd with net_vhost0,
 * forwarding in io mode with port topology "loop" (what comes from the
 * driver's transmitq N goes back to its receiveq N). The driver never
 * kicks: the engine polls. Our PMD is in this process, not loaded into
 * testpmd, so this runs in the sanitizer build too.
 *
 *  - dirty_log: the client logs dirty pages (DEVICE_FEATURE
 *    DMA_LOGGING_START): the pages the engine wrote (the receive buffers
 *    its frames went to, both used rings) are in the next report and only
 *    there; the report after one without traffic is clean (the engine's
 *    log was folded and cleared); the same through the 0.9.1 DIRTY_PAGES
 *    GET_BITMAP; 9000-byte frames dirty their 3 pages each (runs of
 *    bits); after DMA_LOGGING_STOP traffic flows and nothing is logged;
 *    logging again works again;
 *  - migration_stop: pre-copy with logging on: what the engine writes is
 *    reported; at stop-and-copy the engine gives the queues back (frames
 *    sent then stay in the ring, nothing is written); back to running,
 *    the engine resumes from the indices it gave back: the waiting frames
 *    come through, in order;
 *  - bus_master: Bus Master Enable cleared: the engine gives the queues
 *    back (frames sent then stay in the ring, nothing is written); set
 *    again, the engine resumes from the indices it gave back, the waiting
 *    frames come through in order; D3hot stops it the same way;
 *  - vq_pairs: VQ_PAIRS_SET 1: the engine leaves pair 1 alone (frames
 *    sent on it stay in its transmitq 300 ms, pair 0 goes on); 2 again:
 *    they come through in order;
 *  - unmap_under_traffic: both queue pairs forwarding, each virtqueue's
 *    memory a DMA region of its own; the client unmaps receiveq 1's
 *    region from another thread while frames stream into it. When the
 *    reply comes its rings are copied and the rest (the receive buffers,
 *    some still posted) is filled with a canary, and traffic goes on:
 *    rings and canary stay intact (neither the device nor the engine
 *    writes the unmapped memory after the reply), pair 0 keeps forwarding, intact
 *    frames, and the engine keeps serving transmitq 1, whose memory is
 *    still mapped.
 *
 * With the argument "iotlb" (the test offload_iotlb), the engine takes an
 * IOTLB (net_vhost's iommu-support=1): the device hands the queues over
 * in IOTLB mode (drivers/net/vfio_user/vun_iotlb.h):
 *  - iotlb_frag: guest memory as a guest behind a vIOMMU maps it (the NIC
 *    fixture's nic_frag: the first MiB of each virtqueue's area, its rings
 *    and first buffers, in 1280 pages of 4 KiB at non-adjacent offsets of
 *    two memfds, none next to its IOVA neighbour; more segments than a
 *    vhost-user memory table holds; buffers 100 bytes into their page):
 *    both pairs forward checked frames of 1000 bytes through the engine,
 *    which was sent IOTLB updates (its log) and had two memory regions;
 *  - unmap_under_traffic, as above;
 *  - unmap_buffer_page: the same layout, receiveq 0 full of posted
 *    buffers; the client unmaps the 4 KiB page of one posted buffer (not
 *    its rings: the queue stays the engine's) from another thread while
 *    pair 1 forwards; at the reply the page is filled with a canary and
 *    300 frames are sent on pair 0, enough for the engine to fill every
 *    posted buffer: the canary stays intact. The engine maps the whole file, so only the
 *    INVALIDATE, acked before the reply, keeps it out (without it the
 *    test fails);
 *  - iotlb_dirty_log: dirty_log in that layout (iotlb_frag's scattered
 *    pages over two memfds), logging started before the hand-over: the
 *    engine logs synthetic addresses (vun_iotlb.h), the device folds
 *    them back: exactly the receive buffers' pages and the used rings
 *    are reported, at their IOVAs; a report without traffic is clean;
 *    9000-byte frames (in the slots past the scattered pages) dirty 3
 *    pages each; logging stops, and starts again with the engine running
 *    the queues, and works again;
 *  - iotlb_log_new_file: the same layout and logging; the page of a
 *    posted receive buffer moves to a third memfd (unmapped, mapped
 *    again at its IOVA from near the end of the new, sparse 128 MiB
 *    file): the synthetic space grows while the engine logs, past what
 *    its log covered; all receive buffers filled: each
 *    reported at its IOVA, the one in the new file too, and frames read
 *    back intact through it; then, all filled again, that page and a
 *    transmit buffer's are unmapped with their dirty bitmaps (DMA_UNMAP
 *    GET_DIRTY_BITMAP): the first set, the second (only read) clear;
 *  - iotlb_log_engine_loss: the same layout and logging; the engine
 *    writes 32 buffers and is killed (SIGKILL) before any report: the
 *    device folds its log at the loss, so the next report has exactly
 *    those pages and the used rings at their IOVAs, and NEEDS_RESET is
 *    set; a new engine on the same socket, the driver resets, the queues
 *    are handed over again with logging on, and the next frames are
 *    reported exactly too.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eal_exit.h"
#include "nic_common.h"

#define PAGE		4096u
#define NPAGES		(NIC_MEM_MAPPED / PAGE)
#define FRAME_LEN	1000u
#define OL_CANARY	0x5a
/* A virtqueue's rings and indirect tables: the start of its area, before
 * its buffers (nic_common.c) */
#define RINGS		(256u << 10)
/* What DPDK's vhost library logs when SET_VRING_BASE disagrees with the
 * used ring (it then starts from the used index) */
#define VHOST_FIXUP	"mismatches"

static struct {
	char dir[128];
	char sock[192];
	char log[192];
	pid_t pid;
	int in;		/* its stdin: testpmd runs until we close it */
} eng = { .pid = -1, .in = -1 };

static struct drx *rxb;
static bool iotlb;	/* the engine takes an IOTLB */

/* ---- the engine ---- */

/* Start the engine on eng.sock (again, after engine_kill(): the device
 * looks for it there); its output appended to eng.log. */
static int
engine_spawn(void)
{
	const char *testpmd = getenv("VU_TESTPMD");
	char vdev[256], pfx[64];
	int p[2], out;

	if (testpmd == NULL)
		testpmd = "dpdk-testpmd";
	snprintf(vdev, sizeof(vdev), "net_vhost0,iface=%s,queues=%u%s",
		 eng.sock, NIC_QUEUES, iotlb ? ",iommu-support=1" : "");
	snprintf(pfx, sizeof(pfx), "ol_eng_%d", (int)getpid());
	out = open(eng.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (out < 0 || pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	eng.pid = fork();
	if (eng.pid < 0)
		return -errno;
	if (eng.pid == 0) {
		char q[16];

		snprintf(q, sizeof(q), "%u", NIC_QUEUES);
		dup2(p[0], 0);
		dup2(out, 1);
		dup2(out, 2);
		/* its forwarding lcore on CPU 1, ours on CPU 0 */
		execlp(testpmd, testpmd, "-l", "0,1", "--main-lcore", "0",
		       "--no-huge", "-m", "256", "--no-pci", "--file-prefix",
		       pfx, "--vdev", vdev,
		       /* debug: its IOTLB messages are logged */
		       iotlb ? "--log-level=lib.vhost.config:debug" :
			       "--log-level=lib.vhost.config:info",
		       "--", "--total-num-mbufs=16384", "--rxq", q, "--txq", q,
		       "--forward-mode=io", "--port-topology=loop",
		       (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	close(out);
	eng.in = p[1];
	/* its socket */
	for (int i = 0; i < 400; i++) {
		struct stat st;
		int status;

		if (stat(eng.sock, &st) == 0)
			return 0;
		if (waitpid(eng.pid, &status, WNOHANG) == eng.pid) {
			eng.pid = -1;
			return -ECHILD;
		}
		usleep(50000);
	}
	return -ETIMEDOUT;
}

static int
engine_start(void)
{
	const char *root = getenv("VU_TEST_BUILD_ROOT");

	if (root == NULL || strlen(root) > 60)
		root = "/tmp";
	snprintf(eng.dir, sizeof(eng.dir), "%s/ol-XXXXXX", root);
	if (mkdtemp(eng.dir) == NULL)
		return -errno;
	snprintf(eng.sock, sizeof(eng.sock), "%s/eng.sock", eng.dir);
	snprintf(eng.log, sizeof(eng.log), "%s/eng.log", eng.dir);
	return engine_spawn();
}

/* The engine's EAL runtime directory, once it is gone. */
static void
engine_rundir_remove(void)
{
	char pfx[64], dir[PATH_MAX];

	snprintf(pfx, sizeof(pfx), "ol_eng_%d", (int)getpid());
	vu_eal_rundir_of(pfx, dir, sizeof(dir));
	vu_eal_rundir_remove(dir);
}

/* The engine dies (SIGKILL): no goodbye on its socket. */
static void
engine_kill(void)
{
	int status;

	assert_true(eng.pid > 0);
	kill(eng.pid, SIGKILL);
	assert_int_equal(waitpid(eng.pid, &status, 0), eng.pid);
	eng.pid = -1;
	close(eng.in);
	eng.in = -1;
	unlink(eng.sock);
	engine_rundir_remove();
}

static void
engine_stop(void)
{
	int status;

	if (eng.pid > 0) {
		close(eng.in);	/* "Press enter to exit": EOF */
		kill(eng.pid, SIGINT);
		for (int i = 0; i < 200; i++) {
			if (waitpid(eng.pid, &status, WNOHANG) == eng.pid) {
				eng.pid = -1;
				break;
			}
			usleep(50000);
		}
		if (eng.pid > 0) {
			kill(eng.pid, SIGKILL);
			waitpid(eng.pid, &status, 0);
			eng.pid = -1;
		}
	}
	if (getenv("OL_KEEP_LOG") == NULL)
		unlink(eng.log);
	unlink(eng.sock);
	rmdir(eng.dir);
	engine_rundir_remove();
}

static int
group_setup(void **state)
{
	static char extra[256];
	int ret;

	(void)state;
	rxb = malloc(sizeof(*rxb));
	ret = engine_start();
	if (ret < 0 || rxb == NULL) {
		fprintf(stderr, "offload engine (%s): %s (its log: %s)\n",
			getenv("VU_TESTPMD") ? getenv("VU_TESTPMD") :
					       "dpdk-testpmd",
			strerror(-ret), eng.log);
		engine_stop();
		return -1;
	}
	snprintf(extra, sizeof(extra), ",offload=%s", eng.sock);
	nic_devargs_extra = extra;
	if (nic_group_setup(iotlb ? "offload_iotlb" : "offload_mem") < 0) {
		engine_stop();
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	nic_group_teardown(state);
	engine_stop();
	free(rxb);
	return 0;
}

/* ---- the driver ---- */

/* The driver uses n queue pairs (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, acked):
 * before it only the first (VIRTIO 5.1.6.5.5). */
static void
pairs_set(struct nic_drv *d, uint16_t n)
{
	assert_int_equal(drv_ctrl_cmd(d, VIRTIO_NET_CTRL_MQ,
				      VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &n,
				      sizeof(n), false),
			 VIRTIO_NET_OK);
}

/* Bring the device up with both pairs and the control queue, and wait
 * until the engine has the queues (the link goes up then). */
static void
up(struct nic_drv *d)
{
	uint64_t f = drv_device_features(d) & NIC_OFFERED;

	assert_true(f & NIC_F(VIRTIO_NET_F_MQ));
	assert_true(f & NIC_F(VIRTIO_NET_F_MRG_RXBUF));
	drv_init(d, f, drv_num_vqs(f));
	if (!NIC_WAIT(nic_link_up(), 10000))
		fail_msg("the engine did not take the queues (engine log %s)",
			 eng.log);
	pairs_set(d, NIC_QUEUES);
}

/* Traffic on one pair, driven by polling: receive buffers kept posted,
 * frames sent while fewer than max are in flight, what comes back
 * checked. */
struct flow {
	unsigned int pair;
	uint32_t next_seq;	/* next frame sent */
	uint32_t last_rx;	/* last sequence received + 1 */
	uint64_t sent, received, bad, reclaimed;
	uint32_t len;		/* frame bytes; 0: FRAME_LEN */
};

static uint32_t
flow_len(const struct flow *f)
{
	return f->len != 0 ? f->len : FRAME_LEN;
}

static void
flow_rx_fill(struct nic_drv *d, struct flow *f, unsigned int want)
{
	struct dvq *rq = &d->vq[2 * f->pair];

	while (rq->num_free > 0 && want-- > 0)
		/* one buffer a frame: 2 KiB, or a whole slot */
		drv_post_rx(rq, 1, flow_len(f) <= 2000 ? 2048 : NIC_SLOT,
			    false);
}

/* One round: reclaim, receive, refill, send up to burst frames (tx too if
 * send). Returns frames received. */
static unsigned int
flow_step(struct nic_drv *d, struct flow *f, bool rx, bool send,
	  unsigned int burst)
{
	struct dvq *tq = &d->vq[2 * f->pair + 1];
	struct dvq *rq = &d->vq[2 * f->pair];
	unsigned int got = 0;

	f->reclaimed += drv_tx_reclaim(tq);
	if (rx) {
		while (drv_recv(d, rq, rxb)) {
			uint32_t s = pkt_seq(rxb->data, rxb->len);

			if (rxb->len != flow_len(f) ||
			    !pkt_check(rxb->data, rxb->len, s) ||
			    s < f->last_rx || s >= f->next_seq)
				f->bad++;
			else
				f->last_rx = s + 1;
			f->received++;
			got++;
		}
		flow_rx_fill(d, f, NIC_QSZ);
	}
	while (send && burst-- > 0 && tq->num_free > 0) {
		drv_send(d, tq, flow_len(f), f->next_seq++, TX_ONE, 0);
		f->sent++;
	}
	return got;
}

/* ---- dirty_log ---- */

static uint64_t bm[(NPAGES + 63) / 64];

static bool
page_dirty(const uint64_t *b, uint64_t page)
{
	return (b[page / 64] >> (page % 64)) & 1;
}

/* Dirty pages in [off, off + len) of guest memory. */
static unsigned int
dirty_in(const uint64_t *b, uint64_t off, uint64_t len)
{
	unsigned int n = 0;

	for (uint64_t p = off / PAGE; p < (off + len + PAGE - 1) / PAGE; p++)
		n += page_dirty(b, p);
	return n;
}

static void
report(struct nic_drv *d)
{
	/* the engine logs a burst's last write (the used index) just after
	 * making it: let it */
	usleep(20000);
	memset(bm, 0, sizeof(bm));
	assert_int_equal(rte_vfio_user_client_dma_logging_report(d->c, NIC_IOVA,
								 NIC_MEM_MAPPED,
								 PAGE, bm,
								 sizeof(bm)),
			 0);
}

static uint64_t
off_of(struct nic_drv *d, const void *p)
{
	return (uint64_t)((const uint8_t *)p - d->mem);
}

/* n frames on pair 0 through the engine, all back (receive buffers
 * posted first: the engine drops what finds none). */
static void
loop_frames(struct nic_drv *d, struct flow *f, unsigned int n)
{
	uint64_t want = f->received + n, end = nic_now_ms() + 5000;

	flow_rx_fill(d, f, n);
	flow_step(d, f, false, true, n);
	while (f->received < want && nic_now_ms() < end)
		flow_step(d, f, true, false, 0);
	if (f->received != want || f->bad != 0)
		fail_msg("pair %u: %" PRIu64 " frames back of %" PRIu64
			 ", %" PRIu64 " bad",
			 f->pair, f->received, want, f->bad);
	/* the transmit buffers come back too */
	end = nic_now_ms() + 2000;
	while (d->vq[2 * f->pair + 1].num_free < NIC_QSZ && nic_now_ms() < end)
		flow_step(d, f, false, false, 0);
}

/* Logging stopped: n frames on f go on through the engine and there is
 * no log to report. Started again, a new log: n more frames leave exactly
 * want pages of f's receive buffers dirty. Logging stopped at the end. */
static void
log_restart(struct nic_drv *d, struct flow *f, unsigned int n,
	    unsigned int want)
{
	struct vfio_user_dma_logging_range range = { NIC_IOVA, NIC_MEM_MAPPED };
	uint64_t pgsize = PAGE;
	uint64_t rx_bufs = off_of(d, d->vq[2 * f->pair].bufs);

	assert_int_equal(rte_vfio_user_client_dma_logging_stop(d->c), 0);
	loop_frames(d, f, n);
	assert_int_not_equal(rte_vfio_user_client_dma_logging_report(
				     d->c, NIC_IOVA, NIC_MEM_MAPPED, PAGE, bm,
				     sizeof(bm)),
			     0);

	assert_int_equal(rte_vfio_user_client_dma_logging_start(d->c, &pgsize,
								&range, 1),
			 0);
	report(d);
	loop_frames(d, f, n);
	report(d);
	assert_int_equal(dirty_in(bm, rx_bufs, (uint64_t)NIC_QSZ * NIC_SLOT),
			 want);
	assert_int_equal(rte_vfio_user_client_dma_logging_stop(d->c), 0);
}

static void
test_dirty_log(void **state)
{
	struct nic_drv *d = drv_open();
	struct vfio_user_dma_logging_range range = { NIC_IOVA, NIC_MEM_MAPPED };
	struct flow f = { .pair = 0 }, big = { .pair = 1, .len = 9000 };
	struct dvq *rq, *tq;
	uint64_t pgsize = PAGE, rx_bufs, tx_bufs, scratch;
	unsigned int n = 32;

	(void)state;
	up(d);
	rq = &d->vq[0];
	tq = &d->vq[1];
	rx_bufs = off_of(d, rq->bufs);
	tx_bufs = off_of(d, tq->bufs);
	scratch = NIC_SCRATCH_OFF;

	/* the receive buffers are posted before logging starts: what the
	 * driver wrote then is not in the report, only what the engine
	 * writes */
	flow_rx_fill(d, &f, n);
	assert_int_equal(rte_vfio_user_client_dma_logging_start(d->c, &pgsize,
								&range, 1),
			 0);
	report(d);
	loop_frames(d, &f, n);
	report(d);
	/* one 2 KiB buffer per frame, one per NIC_SLOT: a page each */
	assert_int_equal(dirty_in(bm, rx_bufs, (uint64_t)NIC_QSZ * NIC_SLOT),
			 n);
	assert_true(page_dirty(bm, off_of(d, rq->used) / PAGE));
	assert_true(page_dirty(bm, off_of(d, tq->used) / PAGE));
	/* what only the driver wrote, or nobody */
	assert_int_equal(dirty_in(bm, tx_bufs, (uint64_t)NIC_QSZ * NIC_SLOT),
			 0);
	assert_int_equal(dirty_in(bm, scratch, NIC_SCRATCH_SIZE), 0);
	print_message("engine wrote %u pages, all reported\n",
		      dirty_in(bm, 0, NIC_MEM_MAPPED));

	/* read, the bits went: nothing new without traffic */
	report(d);
	assert_int_equal(dirty_in(bm, 0, NIC_MEM_MAPPED), 0);

	/* the 0.9.1 report folds the engine's log too */
	loop_frames(d, &f, n);
	memset(bm, 0, sizeof(bm));
	assert_int_equal(rte_vfio_user_client_dirty_pages(
				 d->c, VFIO_USER_DIRTY_PAGES_F_GET_BITMAP,
				 NIC_IOVA, NIC_MEM_MAPPED, PAGE, bm,
				 sizeof(bm)),
			 0);
	assert_int_equal(dirty_in(bm, rx_bufs, (uint64_t)NIC_QSZ * NIC_SLOT),
			 n);

	/* frames over 3 pages each (header and 9000 bytes in a 16 KiB
	 * buffer), on pair 1: runs of set bits in the log's words */
	loop_frames(d, &big, 8);
	report(d);
	assert_int_equal(dirty_in(bm, off_of(d, d->vq[2].bufs),
				  (uint64_t)NIC_QSZ * NIC_SLOT),
			 8 * 3);

	log_restart(d, &f, n, n);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

/* ---- migration_stop ---- */

/* n frames sent on f's pair while the engine may not run them: for
 * 300 ms nothing comes back and the transmitq's used index stays. */
static void
frames_stay(struct nic_drv *d, struct flow *f, unsigned int n)
{
	const struct dvq *tq = &d->vq[2 * f->pair + 1];
	uint16_t tx_used = __atomic_load_n(&tq->used->idx, __ATOMIC_ACQUIRE);
	uint64_t got, end;

	flow_rx_fill(d, f, n);
	flow_step(d, f, false, true, n);
	got = f->received;
	end = nic_now_ms() + 300;
	while (nic_now_ms() < end)
		flow_step(d, f, true, false, 0);
	assert_int_equal(f->received, got);
	assert_int_equal(__atomic_load_n(&tq->used->idx, __ATOMIC_ACQUIRE),
			 tx_used);
}

/* The n frames frames_stay() left come back (within 5 s), intact. */
static void
frames_back(struct nic_drv *d, struct flow *f, unsigned int n, const char *when)
{
	uint64_t want = f->received + n, end = nic_now_ms() + 5000;

	while (f->received < want && nic_now_ms() < end)
		flow_step(d, f, true, false, 0);
	if (f->received != want || f->bad != 0)
		fail_msg("%s: %" PRIu64 " frames back of %" PRIu64 ", %" PRIu64
			 " bad",
			 when, f->received, want, f->bad);
}

/* Lines of the engine's log holding needle. */
static unsigned int
eng_log_count(const char *needle)
{
	char line[512];
	unsigned int n = 0;
	FILE *f = fopen(eng.log, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void
mig_state(struct nic_drv *d, uint32_t st)
{
	assert_int_equal(rte_vfio_user_client_mig_set_state(d->c, st), 0);
}

static void
test_migration_stop(void **state)
{
	struct nic_drv *d = drv_open();
	struct vfio_user_dma_logging_range range = { NIC_IOVA, NIC_MEM_MAPPED };
	struct flow f = { .pair = 0 };
	uint64_t pgsize = PAGE, flags = 0, rx_bufs;
	unsigned int n = 32, fixups;
	uint8_t buf[4096];

	(void)state;
	assert_int_equal(rte_vfio_user_client_mig_flags(d->c, &flags), 0);
	assert_true(flags & RTE_VFIO_USER_MIG_F_PRE_COPY);
	up(d);
	rx_bufs = off_of(d, d->vq[0].bufs);
	assert_int_equal(rte_vfio_user_client_dma_logging_start(d->c, &pgsize,
								&range, 1),
			 0);
	report(d);

	/* pre-copy: the device runs, what the engine writes is reported */
	mig_state(d, RTE_VFIO_USER_MIG_PRE_COPY);
	loop_frames(d, &f, n);
	report(d);
	assert_int_equal(dirty_in(bm, rx_bufs, (uint64_t)NIC_QSZ * NIC_SLOT),
			 n);
	while (rte_vfio_user_client_mig_read(d->c, buf, sizeof(buf)) > 0)
		;

	/* stop-and-copy: the engine gave the queues back; frames sent now
	 * stay in the driver's ring, nothing is written */
	mig_state(d, RTE_VFIO_USER_MIG_STOP_COPY);
	while (rte_vfio_user_client_mig_read(d->c, buf, sizeof(buf)) > 0)
		;
	report(d);		/* the last of the engine's writes */
	frames_stay(d, &f, n);
	report(d);
	assert_int_equal(dirty_in(bm, 0, NIC_MEM_MAPPED), 0);

	/* back to running (a migration given up): the engine gets the
	 * queues from the indices it gave back, and the frames waiting go
	 * through, in order */
	fixups = eng_log_count(VHOST_FIXUP);
	mig_state(d, RTE_VFIO_USER_MIG_STOP);
	mig_state(d, RTE_VFIO_USER_MIG_RUNNING);
	frames_back(d, &f, n, "after the stop");
	/* DPDK's vhost library would mend a wrong index from the used ring
	 * (and say so): it had nothing to mend */
	assert_int_equal(eng_log_count(VHOST_FIXUP), fixups);
	loop_frames(d, &f, n);
	assert_int_equal(rte_vfio_user_client_dma_logging_stop(d->c), 0);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

/* ---- bus_master ---- */

/*
 * Bus Master Enable cleared (a driver letting go of the device, or
 * before a kexec: the memory is the next kernel's): the engine masters
 * for the device, so it gives the queues back and writes nothing more;
 * the bit set again, the engine resumes from the index it gave back, the
 * frames waiting come through in order. D3hot stops it too.
 */
static void
test_bus_master(void **state)
{
	struct nic_drv *d = drv_open();
	struct flow f = { .pair = 0 };
	unsigned int n = 32, fixups;
	uint16_t cmd;

	(void)state;
	up(d);
	loop_frames(d, &f, n);
	cmd = cfg_r16(d, RTE_VFIO_USER_PCI_COMMAND);
	assert_true(cmd & RTE_VFIO_USER_PCI_CMD_MASTER);	/* drv_open() */
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND,
		cmd & ~RTE_VFIO_USER_PCI_CMD_MASTER);
	frames_stay(d, &f, n);
	fixups = eng_log_count(VHOST_FIXUP);
	cfg_w16(d, RTE_VFIO_USER_PCI_COMMAND, cmd);
	assert_true(NIC_WAIT(nic_link_up(), 5000));
	frames_back(d, &f, n, "bus mastering back");
	assert_int_equal(eng_log_count(VHOST_FIXUP), fixups);
	loop_frames(d, &f, n);

	/* D3hot: no bus mastering either (back to D0 resets the function:
	 * the driver sets the device up again, not tried here) */
	cfg_w16(d, d->pm_cap + RTE_VFIO_USER_PCI_PM_CTRL,
		RTE_VFIO_USER_PCI_PM_D3HOT);
	frames_stay(d, &f, n);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

/* ---- vq_pairs ---- */

/* DPDK 22.11's vhost library's log of SET_VRING_ENABLE (config, info) */
#define VQ_OFF(q) "set queue enable: 0 to qp idx: " #q "\n"
#define VQ_ON(q) "set queue enable: 1 to qp idx: " #q "\n"

/*
 * The driver uses fewer pairs (VQ_PAIRS_SET 1): the engine must not queue
 * packets on receive queues past them (VIRTIO 5.1.6.5.5), so the device
 * disables the others' queues in it before the ack: frames sent on pair 1
 * stay in its transmitq, nothing reaches its receiveq, while pair 0 goes
 * on. Back to 2 pairs, the waiting frames come through, in order.
 */
static void
test_vq_pairs(void **state)
{
	struct nic_drv *d = drv_open();
	struct flow f0 = { .pair = 0 }, f1 = { .pair = 1 };
	unsigned int n = 32, off2, off3, on2;

	(void)state;
	up(d);
	loop_frames(d, &f0, n);
	loop_frames(d, &f1, n);
	off2 = eng_log_count(VQ_OFF(2));
	off3 = eng_log_count(VQ_OFF(3));
	pairs_set(d, 1);
	/* pair 1's receiveq and transmitq disabled in the engine (acked:
	 * its log has it when the driver has the ack) */
	assert_true(eng_log_count(VQ_OFF(2)) > off2);
	assert_true(eng_log_count(VQ_OFF(3)) > off3);
	frames_stay(d, &f1, n);
	loop_frames(d, &f0, n);
	on2 = eng_log_count(VQ_ON(2));
	pairs_set(d, 2);
	assert_true(eng_log_count(VQ_ON(2)) > on2);
	frames_back(d, &f1, n, "2 pairs again");
	loop_frames(d, &f1, n);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

/* ---- unmap_under_traffic ---- */

struct unmapper {
	struct nic_drv *d;
	uint64_t iova, len;
	int ret;
	uint32_t done;		/* atomic */
	uint64_t took_us;
};

static void *
unmap_thread(void *arg)
{
	struct unmapper *u = arg;
	uint64_t t0 = nic_now_ms();

	u->ret = rte_vfio_user_client_dma_unmap(u->d->c, u->iova, u->len);
	u->took_us = (nic_now_ms() - t0) * 1000;
	__atomic_store_n(&u->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
test_unmap_under_traffic(void **state)
{
	struct nic_drv *d = drv_open();
	struct flow f0 = { .pair = 0 }, f1 = { .pair = 1 };
	struct unmapper u = { .d = d };
	uint64_t area = NIC_VQ_AREA, rx1 = 2 * (uint64_t)NIC_VQ_AREA;
	uint64_t rx0_before, rx1_before, t_end, f0_at, f1_tx_at;
	pthread_t th;
	uint8_t *gone = d->mem + rx1;
	static uint8_t rings[RINGS];

	(void)state;
	/* each virtqueue's memory a DMA region of its own, and the rest */
	assert_int_equal(rte_vfio_user_client_dma_unmap(d->c, NIC_IOVA,
							NIC_MEM_MAPPED),
			 0);
	for (uint64_t off = 0; off < NIC_MEM_MAPPED; off += area) {
		uint64_t len = RTE_MIN(area, NIC_MEM_MAPPED - off);

		assert_int_equal(rte_vfio_user_client_dma_map(
					 d->c, NIC_IOVA + off, len,
					 d->mem + off, d->memfd, off,
					 VFIO_USER_DMA_MAP_F_READ |
						 VFIO_USER_DMA_MAP_F_WRITE),
				 0);
	}
	up(d);

	/* both pairs forwarding */
	t_end = nic_now_ms() + 300;
	while (nic_now_ms() < t_end) {
		flow_step(d, &f0, true, true, 16);
		flow_step(d, &f1, true, true, 16);
	}
	if (f0.received == 0 || f1.received == 0)
		fail_msg("no traffic before the unmap (pair 0 %" PRIu64
			 ", pair 1 %" PRIu64 " frames)",
			 f0.received, f1.received);
	rx0_before = f0.received;
	rx1_before = f1.received;

	/* receiveq 1's region goes while frames stream into it: the driver
	 * keeps its buffers posted until the reply */
	u.iova = NIC_IOVA + rx1;
	u.len = area;
	flow_step(d, &f1, true, true, NIC_QSZ);
	assert_int_equal(pthread_create(&th, NULL, unmap_thread, &u), 0);
	while (!__atomic_load_n(&u.done, __ATOMIC_ACQUIRE)) {
		flow_step(d, &f0, true, true, 16);
		flow_step(d, &f1, true, true, 16);
	}
	/* the reply came: the memory is the client's again. Its rings as
	 * they are (buffers posted: an engine still running the queue would
	 * fill them), the rest a canary. */
	memcpy(rings, gone, RINGS);
	memset(gone + RINGS, OL_CANARY, area - RINGS);
	pthread_join(th, NULL);
	assert_int_equal(u.ret, 0);
	print_message("unmap answered in %" PRIu64 " us; pair 1 had %" PRIu64
		      " frames back before, %" PRIu64 " at the reply\n",
		      u.took_us, rx1_before, f1.received);

	/* traffic goes on where memory is mapped: pair 0 both ways,
	 * transmitq 1 (its frames have no receive buffer to go to now) */
	f0_at = f0.received;
	f1_tx_at = f1.reclaimed;
	t_end = nic_now_ms() + 500;
	while (nic_now_ms() < t_end) {
		flow_step(d, &f0, true, true, 16);
		flow_step(d, &f1, false, true, 16);
	}
	for (uint64_t i = 0; i < area; i++)
		if (i < RINGS ? gone[i] != rings[i] : gone[i] != OL_CANARY)
			fail_msg("unmapped memory written after the reply: "
				 "byte 0x%" PRIx64 " of receiveq 1's region",
				 i);
	print_message("after the unmap: pair 0 %" PRIu64 " frames back, "
		      "transmitq 1 %" PRIu64 " frames taken\n",
		      f0.received - f0_at, f1.reclaimed - f1_tx_at);
	if (f0.received - f0_at == 0)
		fail_msg("pair 0 stopped forwarding after the unmap");
	if (f1.reclaimed - f1_tx_at == 0)
		fail_msg("the engine stopped serving transmitq 1");
	assert_int_equal(f0.bad, 0);
	assert_int_equal(f1.bad, 0);
	assert_true(rx0_before > 0);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

/* ---- IOTLB mode ---- */

static void
test_iotlb_frag(void **state)
{
	struct nic_drv *d;
	/* frames within a page: DPDK 22.11's vhost library joins
	 * IOVA-adjacent translations without checking that their addresses
	 * follow (vhost_user_iotlb_cache_find()), so a buffer across two of
	 * these pages, which are not contiguous in their files, would be
	 * read and written at the wrong place (doc/guides/howto/offload.rst,
	 * limits) */
	struct flow f0 = { .pair = 0 }, f1 = { .pair = 1 };
	unsigned int updates, regions;

	(void)state;
	nic_frag = (struct nic_frag){ .on = true,
				      .two_fds = true,
				      .buf_off = 100 };
	d = drv_open();
	assert_true(d->nregions > 1000);
	up(d);
	for (int round = 0; round < 4; round++) {
		loop_frames(d, &f0, 64);
		loop_frames(d, &f1, 64);
	}
	print_message("%" PRIu64 " + %" PRIu64 " frames back intact over %u "
		      "DMA regions\n",
		      f0.received, f1.received, d->nregions);
	updates = eng_log_count("read message VHOST_USER_IOTLB_MSG");
	regions = eng_log_count("guest memory region size");
	print_message("the engine read %u IOTLB messages, mapped %u memory "
		      "regions\n",
		      updates, regions);
	if (updates < d->nregions)
		fail_msg("the engine was sent %u IOTLB messages for %u DMA "
			 "regions (engine log %s)",
			 updates, d->nregions, eng.log);
	/* one region per file: the two memfds */
	assert_int_equal(regions, 2);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

static void
test_unmap_buffer_page(void **state)
{
	struct nic_drv *d;
	struct flow f = { .pair = 0 }, f1 = { .pair = 1 };
	struct unmapper u;
	struct dvq *rq;
	uint8_t *page;
	uint64_t t_end, took = 0;
	pthread_t th;

	(void)state;
	nic_frag = (struct nic_frag){ .on = true, .buf_off = 100 };
	d = drv_open();
	u = (struct unmapper){ .d = d };
	up(d);
	rq = &d->vq[0];
	loop_frames(d, &f, 64);
	/* every buffer posted, head 0's (in the first page of its slot, in
	 * the area mapped page by page) among them */
	flow_rx_fill(d, &f, NIC_QSZ);
	assert_int_equal(rq->num_free, 0);
	u.iova = RTE_ALIGN_FLOOR(rq->bufs_iova, (uint64_t)PAGE);
	u.len = PAGE;
	page = d->mem + (u.iova - NIC_IOVA);
	assert_true(rq->bufs_iova + 2048 <= u.iova + PAGE);
	/* the engine forwards pair 1 while the page goes; receiveq 0 keeps
	 * its buffers, not one filled yet (the driver does not touch them
	 * any more) */
	t_end = nic_now_ms() + 200;
	while (nic_now_ms() < t_end)
		flow_step(d, &f1, true, true, 16);
	if (f1.received == 0)
		fail_msg("no traffic on pair 1");
	assert_int_equal(pthread_create(&th, NULL, unmap_thread, &u), 0);
	while (!__atomic_load_n(&u.done, __ATOMIC_ACQUIRE))
		flow_step(d, &f1, true, true, 16);
	memset(page, OL_CANARY, PAGE);
	pthread_join(th, NULL);
	assert_int_equal(u.ret, 0);
	took = u.took_us;
	assert_int_equal(f1.bad, 0);
	/* enough frames for the engine to reach every posted buffer of
	 * receiveq 0, the one in the page among them */
	t_end = nic_now_ms() + 5000;
	for (unsigned int n = 0; n < 300;) {
		if (nic_now_ms() > t_end)
			fail_msg("the engine took only %u frames", n);
		f.reclaimed += drv_tx_reclaim(&d->vq[1]);
		if (d->vq[1].num_free > 0) {
			drv_send(d, &d->vq[1], FRAME_LEN, f.next_seq++, TX_ONE,
				 0);
			n++;
		}
	}
	t_end = nic_now_ms() + 300;
	while (nic_now_ms() < t_end)
		f.reclaimed += drv_tx_reclaim(&d->vq[1]);
	for (unsigned int i = 0; i < PAGE; i++)
		if (page[i] != OL_CANARY)
			fail_msg("unmapped buffer page written after the reply "
				 "(byte %u)",
				 i);
	print_message("unmap of a posted buffer's page answered in %" PRIu64
		      " us; %" PRIu64 " frames taken by the engine, the page "
		      "untouched\n",
		      took, f.reclaimed);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

/* The used ring of q: dirty pages of it in b, and pages it spans. */
static unsigned int
used_dirty(struct nic_drv *d, const struct dvq *q, unsigned int *pages)
{
	uint64_t off = off_of(d, q->used);
	uint64_t len = 4 + 8 * (uint64_t)NIC_QSZ + 2;

	*pages = (unsigned int)((off + len - 1) / PAGE - off / PAGE + 1);
	return dirty_in(bm, off, len);
}

/* The last report holds exactly n pages of pair 0's receive buffers and
 * the used rings of pair 0 (at least a page each), nothing else. Returns
 * the pages reported; *ru, *tu: those of the receive and transmit used
 * rings. */
static uint64_t
assert_rx_and_used(struct nic_drv *d, unsigned int n, unsigned int *ru,
		   unsigned int *tu)
{
	unsigned int rp, tp;
	uint64_t all;

	assert_int_equal(dirty_in(bm, off_of(d, d->vq[0].bufs),
				  (uint64_t)NIC_QSZ * NIC_SLOT),
			 n);
	*ru = used_dirty(d, &d->vq[0], &rp);
	*tu = used_dirty(d, &d->vq[1], &tp);
	assert_true(*ru >= 1 && *ru <= rp);
	assert_true(*tu >= 1 && *tu <= tp);
	all = dirty_in(bm, 0, NIC_MEM_MAPPED);
	assert_int_equal(all, n + *ru + *tu);
	return all;
}

/* n frames through the engine on f (pair 0) after a report that leaves
 * the log clean: what the driver wrote before (the receive buffers it
 * posts) is not in the next report, only what the engine writes. */
static void
frames_after_report(struct nic_drv *d, struct flow *f, unsigned int n)
{
	loop_frames(d, f, 8);
	flow_rx_fill(d, f, n);
	report(d);
	loop_frames(d, f, n);
}

/*
 * As iotlb_frag lays memory out (each queue's rings and first buffers in
 * 4 KiB pages scattered over two memfds, one region per memfd), logging
 * started before the hand-over (the engine gets the queues in IOTLB mode
 * and a log sized for its synthetic space), the device up.
 */
static struct nic_drv *
open_frag_logged(void)
{
	struct vfio_user_dma_logging_range range = { NIC_IOVA, NIC_MEM_MAPPED };
	uint64_t pgsize = PAGE;
	struct nic_drv *d;

	nic_frag = (struct nic_frag){ .on = true,
				      .two_fds = true,
				      .buf_off = 100 };
	d = drv_open();
	assert_true(d->nregions > 1000);
	assert_int_equal(rte_vfio_user_client_dma_logging_start(d->c, &pgsize,
								&range, 1),
			 0);
	up(d);
	return d;
}

static void
test_iotlb_dirty_log(void **state)
{
	struct nic_drv *d = open_frag_logged();
	struct flow f = { .pair = 0 }, big = { .pair = 1, .len = 9000 };
	uint64_t tx_bufs = off_of(d, d->vq[1].bufs), all;
	unsigned int n = 32, ru, tu;

	(void)state;
	/* pair 1's 9000-byte frames cross pages: DPDK 22.11's vhost
	 * library reads and writes those right only where the pages follow
	 * in the file (see test_iotlb_frag), so its buffers are the slots
	 * after the scattered first MiB: the heads of the others stay taken
	 * (loop_frames() then waits its 2 s for the transmit heads) */
	for (unsigned int i = 0; i < (NIC_FRAG_BYTES - RINGS) / NIC_SLOT; i++) {
		dvq_alloc(&d->vq[2]);
		dvq_alloc(&d->vq[3]);
	}

	frames_after_report(d, &f, n);
	report(d);
	/* one 2 KiB buffer per frame, each in a page of its own, which the
	 * engine logged at its synthetic address: the fold found the IOVA;
	 * and nothing else (not the transmit buffers, only read) */
	all = assert_rx_and_used(d, n, &ru, &tu);
	assert_int_equal(dirty_in(bm, tx_bufs, (uint64_t)NIC_QSZ * NIC_SLOT),
			 0);
	print_message("IOTLB mode: engine wrote %" PRIu64 " pages (%u buffers, "
		      "used rings %u + %u), all reported at their IOVAs\n",
		      all, n, ru, tu);

	/* read, the bits went: nothing new without traffic */
	report(d);
	assert_int_equal(dirty_in(bm, 0, NIC_MEM_MAPPED), 0);

	/* frames over 3 pages each: runs of synthetic pages */
	loop_frames(d, &big, 8);
	report(d);
	assert_int_equal(dirty_in(bm, off_of(d, d->vq[2].bufs),
				  (uint64_t)NIC_QSZ * NIC_SLOT),
			 8 * 3);
	assert_int_equal(big.bad, 0);

	/* stopped, started again after the hand-over (the engine keeps the
	 * queues, gets a new log) */
	log_restart(d, &f, n, n);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

static void
test_iotlb_log_new_file(void **state)
{
	struct nic_drv *d = open_frag_logged();
	struct flow f = { .pair = 0 };
	static uint8_t keep[PAGE];
	/* a sparse 128 MiB file, the page near its end: the synthetic
	 * space (the whole file) grows past what one 4 KiB page of log
	 * covers (128 MiB), and the page's synthetic address with it */
	const uint64_t file_size = 128u << 20, file_off = file_size - 2 * PAGE;
	struct dvq *rq = &d->vq[0];
	uint64_t iova, tx_page, one;
	unsigned int ru, tu;
	uint8_t *va;
	int fd;

	(void)state;
	loop_frames(d, &f, 64);
	report(d);
	/* the page of head 0's receive buffer (a DMA region of its own)
	 * moves to a third file, at an offset into it: unmapped, copied,
	 * the file mapped over the driver's view of it, mapped again at
	 * the same IOVA. The synthetic space grows by a file while the
	 * engine logs: its log must grow before it gets the new table. */
	iova = RTE_ALIGN_FLOOR(rq->bufs_iova, (uint64_t)PAGE);
	va = d->mem + (iova - NIC_IOVA);
	assert_true(rq->bufs_iova + 2048 <= iova + PAGE);
	assert_int_equal(rte_vfio_user_client_dma_unmap(d->c, iova, PAGE), 0);
	fd = memfd_create("offload-third", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)file_size), 0);
	memcpy(keep, va, PAGE);
	assert_true(mmap(va, PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, fd, (off_t)file_off) == va);
	memcpy(va, keep, PAGE);
	assert_int_equal(
		rte_vfio_user_client_dma_map(d->c, iova, PAGE, va, fd, file_off,
					     VFIO_USER_DMA_MAP_F_READ |
						     VFIO_USER_DMA_MAP_F_WRITE),
		0);
	/* every buffer posted, head 0's among them, then as many frames:
	 * the engine fills them all (the driver checks each frame, read
	 * through the new file for head 0's) */
	flow_rx_fill(d, &f, NIC_QSZ);
	assert_int_equal(rq->num_free, 0);
	report(d);
	assert_int_equal(dirty_in(bm, 0, NIC_MEM_MAPPED), 0);
	loop_frames(d, &f, NIC_QSZ);
	report(d);
	if (!page_dirty(bm, (iova - NIC_IOVA) / PAGE))
		fail_msg("the page in the new file, written by the engine, "
			 "is not in the report");
	assert_rx_and_used(d, NIC_QSZ, &ru, &tu);
	print_message("a third file mapped while logging: %u buffers, the one "
		      "in it too, reported at their IOVAs\n",
		      NIC_QSZ);

	/* the fold at an unmap: every buffer filled again, then pages go
	 * with their dirty bitmaps (DMA_UNMAP GET_DIRTY_BITMAP); the device
	 * folds the engine's log, after the engine dropped the range, into
	 * the bits of the range */
	flow_rx_fill(d, &f, NIC_QSZ);
	loop_frames(d, &f, NIC_QSZ);
	usleep(20000);
	one = ~0ULL;	/* the driver wrote it, the engine only read it */
	tx_page = RTE_ALIGN_FLOOR(d->vq[1].bufs_iova, (uint64_t)PAGE);
	assert_int_equal(rte_vfio_user_client_dma_unmap_dirty(d->c, tx_page,
							      PAGE, PAGE, &one,
							      sizeof(one)),
			 0);
	assert_int_equal(one, 0);
	assert_int_equal(rte_vfio_user_client_dma_unmap_dirty(d->c, iova, PAGE,
							      PAGE, &one,
							      sizeof(one)),
			 0);
	if (one != 1)
		fail_msg("the page in the new file, written by the engine, "
			 "is not in its unmap's bitmap");
	assert_int_equal(rte_vfio_user_client_dma_logging_stop(d->c), 0);
	assert_true(drv_canary_ok(d));
	drv_close(d);
	close(fd);
}

static void
test_iotlb_log_engine_loss(void **state)
{
	struct nic_drv *d = open_frag_logged();
	struct flow f = { .pair = 0 }, g = { .pair = 0 };
	unsigned int n = 32, ru, tu;
	uint64_t all;

	(void)state;
	/* the engine writes n receive buffers and the used rings, logs
	 * them at synthetic addresses, and dies before any report */
	frames_after_report(d, &f, n);
	usleep(20000);
	engine_kill();
	/* the device sees it go with the queues: it folds the engine's
	 * log (in the mode it was written in) and asks for a reset */
	if (!NIC_WAIT(drv_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET, 5000))
		fail_msg("no NEEDS_RESET after the engine died");
	report(d);
	all = assert_rx_and_used(d, n, &ru, &tu);
	print_message("engine killed: its last %" PRIu64 " pages (%u buffers, "
		      "used rings %u + %u) reported at their IOVAs\n",
		      all, n, ru, tu);
	report(d);
	assert_int_equal(dirty_in(bm, 0, NIC_MEM_MAPPED), 0);

	/* a new engine, the driver resets: the queues are handed over
	 * again, in IOTLB mode, with logging still on */
	assert_int_equal(engine_spawn(), 0);
	up(d);
	frames_after_report(d, &g, n);
	report(d);
	assert_rx_and_used(d, n, &ru, &tu);
	assert_int_equal(rte_vfio_user_client_dma_logging_stop(d->c), 0);
	assert_true(drv_canary_ok(d));
	drv_close(d);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest iotlb_tests[] = {
		cmocka_unit_test_setup_teardown(test_iotlb_frag, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_unmap_under_traffic,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_unmap_buffer_page,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_dirty_log,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_iotlb_log_new_file,
						nic_test_setup,
						nic_test_teardown),
		/* last: it kills the engine (and starts another) */
		cmocka_unit_test_setup_teardown(test_iotlb_log_engine_loss,
						nic_test_setup,
						nic_test_teardown),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dirty_log, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_migration_stop,
						nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_bus_master, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_vq_pairs, nic_test_setup,
						nic_test_teardown),
		cmocka_unit_test_setup_teardown(test_unmap_under_traffic,
						nic_test_setup,
						nic_test_teardown),
	};

	iotlb = argc > 1 && strcmp(argv[1], "iotlb") == 0;
	if (iotlb)
		return cmocka_run_group_tests_name("offload_iotlb", iotlb_tests,
						   group_setup, group_teardown);
	return cmocka_run_group_tests_name("offload_mem", tests, group_setup,
					   group_teardown);
}
