/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * fuzz_client: the client library's reply handling, fed by a fuzzed
 * server.
 *
 * Each input is one connection: a thread drives the client API as a
 * driver does (attach with VERSION, DMA map, device, region and IRQ
 * queries, region mmap and I/O fds, SET_IRQS, region reads and writes,
 * WRITE_MULTI, dirty pages, reset, DMA unmap, detach), while the harness,
 * on the listening socket, answers every request from the input. So the
 * library's event thread (framing, fds, matching replies to waiters,
 * serving DMA_READ / DMA_WRITE) and every reply parser see what a hostile
 * or broken server can send. At the end every fd and mapping must be gone
 * and fds the API handed out must be real.
 *
 * Input: u8 config (bit 0: propose twin_socket, bit 1: write_multiple),
 * then one record per request the client sends (NO_REPLY ones get none),
 * until the input ends (then the harness hangs up):
 *   u8  ctl   bits 0-1: 0 reply, 1 error reply (u8 errno follows),
 *             2 reply with the u32 flags and u32 error_no that follow
 *             (if not a reply, a proper one follows it), 3 hang up;
 *             bit 2: first a reply with a message id nobody waits for;
 *             bit 3: first a server request (u8: bit 0 DMA_WRITE else
 *             DMA_READ, bit 1 NO_REPLY; u16 length; the payload);
 *             bit 4: the u32 that follows is the reply's msg_size (then
 *             hang up); bits 5-7: fds with the reply, kinds follow
 *   u16 len   reply payload bytes, each the request's byte at the same
 *             offset (0 past its end) XOR the next input byte
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_log.h>

#include <rte_vfio_user_client.h>

#include "fuzz_common.h"

#define MAX_MSG (sizeof(struct vfio_user_header) + 65536 + 1024)
#define MAX_PEERS 64

static char dir[64], path[128];
static int listen_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
cleanup(void)
{
	if (listen_fd >= 0)
		close(listen_fd);
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	(void)argc;
	(void)argv;
	fuzz_log_init();
	snprintf(dir, sizeof(dir), "/tmp/vu-fuzz-client-XXXXXX");
	if (mkdtemp(dir) == NULL)
		fuzz_fail("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/sock", dir);
	memcpy(un.sun_path, path, strlen(path) + 1);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&un, sizeof(un)) < 0 ||
	    listen(listen_fd, 4) < 0)
		fuzz_fail("listen on %s: %s", path, strerror(errno));
	atexit(cleanup);
	fuzz_start_event_thread();
	return 0;
}

/* ---- the driver: one pass over the client API ---- */

struct driver {
	uint8_t config;
	pthread_t tid;
};

static void
check_fd(int fd, const char *what)
{
	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		fuzz_fail("%s: fd %d returned is not open", what, fd);
}

static void *
drive(void *arg)
{
	const struct driver *dr = arg;
	struct rte_vfio_user_client_conf conf = {
		.path = path,
		.timeout_ms = 3000,
		.twin_socket = dr->config & 1,
		.write_multi = dr->config & 2,
	};
	static uint8_t dma_mem[8192];
	struct rte_vfio_user_client_region reg;
	struct rte_vfio_user_client_io_fd io[8];
	struct rte_vfio_user_client_write wr[3];
	struct rte_vfio_user_client_access acc[6];
	struct vfio_user_device_info info;
	struct vfio_user_irq_info irq;
	struct rte_vfio_user_client *c;
	uint64_t bitmap[4];
	uint8_t buf[256], bools[4] = { 1, 0, 1, 0 };
	uint32_t count = 0;
	int efd[4], memfd, ret;
	void *p;

	c = rte_vfio_user_client_attach(&conf);
	if (c == NULL)
		return NULL;
	memfd = memfd_create(FUZZ_MEMFD_NAME, MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 4096) < 0)
		fuzz_fail("memfd: %s", strerror(errno));
	/* served to the server's DMA_READ/WRITE from now until the unmap */
	rte_vfio_user_client_dma_map(c, 0x10000, sizeof(dma_mem), dma_mem, -1,
				     0,
				     VFIO_USER_DMA_MAP_F_READ |
					     VFIO_USER_DMA_MAP_F_WRITE);
	rte_vfio_user_client_dma_map(c, 0x100000, 4096, NULL, memfd, 0,
				     VFIO_USER_DMA_MAP_F_READ);
	close(memfd);
	rte_vfio_user_client_device_info(c, &info);
	for (uint32_t i = 0; i < 10; i++)
		rte_vfio_user_client_region_info(c, i, &reg);
	p = rte_vfio_user_client_region_mmap(c, 2, 0, 4096, PROT_READ);
	if (p != NULL)
		munmap(p, 4096);
	for (uint32_t i = 0; i < RTE_DIM(io); i++)
		io[i].fd = -1;
	ret = rte_vfio_user_client_region_io_fds(c, 4, io, RTE_DIM(io), &count);
	if (ret == 0 && count <= RTE_DIM(io)) {
		/* as documented: count entries filled, fds the caller's */
		for (uint32_t i = 0; i < count; i++) {
			check_fd(io[i].fd, "region_io_fds");
			close(io[i].fd);
		}
	}
	for (uint32_t i = 0; i < 5; i++)
		rte_vfio_user_client_irq_info(c, i, &irq);
	for (int i = 0; i < 4; i++) {
		efd[i] = i == 2 ? -1 : eventfd(0, EFD_CLOEXEC);
		if (i != 2 && efd[i] < 0)
			fuzz_fail("eventfd: %s", strerror(errno));
	}
	rte_vfio_user_client_set_irqs(c, VFIO_USER_PCI_MSIX_IRQ_INDEX,
				      VFIO_USER_IRQ_SET_DATA_EVENTFD |
					      VFIO_USER_IRQ_SET_ACTION_TRIGGER,
				      0, 4, efd);
	for (int i = 0; i < 4; i++)
		if (efd[i] >= 0)
			close(efd[i]);
	rte_vfio_user_client_set_irqs(c, VFIO_USER_PCI_MSIX_IRQ_INDEX,
				      VFIO_USER_IRQ_SET_DATA_BOOL |
					      VFIO_USER_IRQ_SET_ACTION_MASK,
				      0, 4, bools);
	rte_vfio_user_client_set_irqs(c, VFIO_USER_PCI_INTX_IRQ_INDEX,
				      VFIO_USER_IRQ_SET_DATA_NONE |
					      VFIO_USER_IRQ_SET_ACTION_UNMASK,
				      0, 1, NULL);
	rte_vfio_user_client_region_read(c, 0, 16, buf, sizeof(buf));
	memset(buf, 0x5a, sizeof(buf));
	rte_vfio_user_client_region_write(c, 0, 16, buf, 64, false);
	rte_vfio_user_client_region_write(c, 0, 16, buf, 8, true);
	for (uint32_t i = 0; i < RTE_DIM(wr); i++)
		wr[i] = (struct rte_vfio_user_client_write){
			.region = 7,
			.count = 2 + i,
			.offset = 4 * i,
		};
	rte_vfio_user_client_region_write_multi(c, wr, RTE_DIM(wr));
	for (uint32_t i = 0; i < RTE_DIM(acc); i++)
		acc[i] = (struct rte_vfio_user_client_access){
			.offset = 8 * i,
			.buf = buf + 8 * i,
			.region = 2,
			.len = 1 + i % 8,
			.write = i % 3 == 0,
		};
	rte_vfio_user_client_region_access_bulk(c, acc, RTE_DIM(acc), NULL);
	rte_vfio_user_client_dirty_pages(c, VFIO_USER_DIRTY_PAGES_F_START, 0, 0,
					 0, NULL, 0);
	rte_vfio_user_client_dirty_pages(c, VFIO_USER_DIRTY_PAGES_F_GET_BITMAP,
					 0x10000, sizeof(dma_mem), 4096, bitmap,
					 sizeof(bitmap));
	rte_vfio_user_client_dirty_pages(c, VFIO_USER_DIRTY_PAGES_F_STOP, 0, 0,
					 0, NULL, 0);
	rte_vfio_user_client_reset(c);
	rte_vfio_user_client_dma_unmap(c, 0x100000, 4096);
	rte_vfio_user_client_dma_unmap(c, 0x10000, sizeof(dma_mem));
	rte_vfio_user_client_detach(c);
	return NULL;
}

/* ---- the fuzzed server ---- */

struct server {
	int fd;
	int peers[MAX_PEERS];
	int npeers;
};

static int
send_fds(struct server *s, const void *msg, size_t len, struct fz *f, int nfds)
{
	int fds[7], ret;

	for (int i = 0; i < nfds; i++) {
		int peer;

		fds[i] = fuzz_make_fd(fz_u8(f), &peer);
		if (fds[i] < 0)
			fuzz_fail("fd: %s", strerror(errno));
		if (peer >= 0 && s->npeers < MAX_PEERS)
			s->peers[s->npeers++] = peer;
		else if (peer >= 0)
			close(peer);
	}
	ret = fuzz_send(s->fd, msg, len, fds, nfds);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return ret;
}

/* Answer one request (req: header and payload, n bytes). false: hang up. */
static bool
answer(struct server *s, struct fz *f, const uint8_t *req, size_t n)
{
	static uint8_t out[MAX_MSG];
	struct vfio_user_header rq, h;
	uint8_t ctl = fz_u8(f), mode = ctl & 3;
	uint32_t flags = VFIO_USER_F_TYPE_REPLY, err = 0, size_lie = 0;
	uint16_t len;
	size_t rl = n - sizeof(rq);
	bool follow = false;

	memcpy(&rq, req, sizeof(rq));
	if (mode == 3)
		return false;
	if (ctl & 0x08) {
		uint8_t sel = fz_u8(f);
		uint16_t dl = fz_u16(f);
		struct vfio_user_header d = {
			.msg_id = 0x4000,
			.cmd = (sel & 1) ? VFIO_USER_DMA_WRITE :
					   VFIO_USER_DMA_READ,
			.msg_size = (uint32_t)sizeof(d) + dl,
			.flags = VFIO_USER_F_TYPE_COMMAND |
				 ((sel & 2) ? VFIO_USER_F_NO_REPLY : 0),
		};

		memcpy(out, &d, sizeof(d));
		fz_bytes(f, out + sizeof(d), dl);
		if (fuzz_send(s->fd, out, sizeof(d) + dl, NULL, 0) < 0)
			return false;
	}
	if (mode == 1) {
		flags |= VFIO_USER_F_ERROR;
		err = fz_u8(f);
	} else if (mode == 2) {
		flags = fz_u32(f);
		err = fz_u32(f);
		follow = (flags & VFIO_USER_F_TYPE_MASK) !=
			 VFIO_USER_F_TYPE_REPLY;
	}
	if (ctl & 0x10)
		size_lie = fz_u32(f);
	len = fz_u16(f);
	for (uint32_t i = 0; i < len; i++)
		out[sizeof(h) + i] = (i < rl ? req[sizeof(rq) + i] : 0) ^
				     fz_u8(f);
	if (ctl & 0x04) {
		h = (struct vfio_user_header){
			.msg_id = (uint16_t)(rq.msg_id + 0x8000),
			.cmd = rq.cmd,
			.msg_size = (uint32_t)sizeof(h) + len,
			.flags = VFIO_USER_F_TYPE_REPLY,
		};
		memcpy(out, &h, sizeof(h));
		if (fuzz_send(s->fd, out, sizeof(h) + len, NULL, 0) < 0)
			return false;
	}
	h = (struct vfio_user_header){
		.msg_id = rq.msg_id,
		.cmd = rq.cmd,
		.msg_size = size_lie ? size_lie : (uint32_t)sizeof(h) + len,
		.flags = flags,
		.error_no = err,
	};
	memcpy(out, &h, sizeof(h));
	if (send_fds(s, out, sizeof(h) + len, f, ctl >> 5) < 0 || size_lie)
		return false;
	if (follow) {
		h.flags = VFIO_USER_F_TYPE_REPLY;
		h.error_no = 0;
		memcpy(out, &h, sizeof(h));
		if (fuzz_send(s->fd, out, sizeof(h) + len, NULL, 0) < 0)
			return false;
	}
	return true;
}

static void
serve(struct server *s, struct fz *f)
{
	static uint8_t req[MAX_MSG];

	for (;;) {
		struct vfio_user_header h;
		int n = fuzz_recv_msg(s->fd, req, sizeof(req), NULL, NULL,
				      30000);

		if (n == -ETIMEDOUT)
			fuzz_fail("client silent for 30 s");
		if (n <= 0)
			return;	/* detached, or gone after a hang-up */
		memcpy(&h, req, sizeof(h));
		/* answers to our DMA requests, and posted writes: no reply */
		if ((h.flags & VFIO_USER_F_TYPE_MASK) ==
			    VFIO_USER_F_TYPE_REPLY ||
		    (h.flags & VFIO_USER_F_NO_REPLY))
			continue;
		if (fz_empty(f) || !answer(s, f, req, (size_t)n)) {
			shutdown(s->fd, SHUT_RDWR);
			/* keep reading: the client may still send until it
			 * sees the hang-up */
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct driver dr = { .config = fz_u8(&f) };
	struct server s = { .fd = -1 };
	struct pollfd p = { .fd = listen_fd, .events = POLLIN };
	int maps, baseline_fds = fuzz_count_fds();

	if (pthread_create(&dr.tid, NULL, drive, &dr) != 0)
		fuzz_fail("pthread_create");
	if (fuzz_poll(&p, 1, 30000) != 1)
		fuzz_fail("client did not connect in 30 s");
	do {
		s.fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	} while (s.fd < 0 && errno == EINTR);
	if (s.fd < 0)
		fuzz_fail("accept: %s", strerror(errno));
	serve(&s, &f);
	pthread_join(dr.tid, NULL);
	close(s.fd);
	for (int i = 0; i < s.npeers; i++)
		close(s.peers[i]);

	fuzz_check_fds(baseline_fds);
	maps = fuzz_count_memfd_maps();
	if (maps != 0)
		fuzz_fail("%d mappings of memfds left", maps);
	return 0;
}
