/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * tel_client SOCKET: a raw vfio-user client doing a known list of commands
 * on a PCI device (net_vfio_user in the telemetry test), some meant to
 * succeed and some meant to fail. It checks each reply against that, then
 * prints on one line the JSON of what the device's /vfio_user/info must
 * show (messages and errors per command, DMA maps, IRQ eventfds and masks,
 * dirty logging, negotiated capabilities), then "READY", and keeps the
 * connection until its standard input ends or gives a line. Exit status 0,
 * or 1 with a message when a reply was not the expected one.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "raw_client.h"

#define MAX_FDS 8
#define MAX_XFER 65536
#define MAX_MAPS 100

static struct rc cl;
static unsigned int msgs[VFIO_USER_MAX_COMMAND], errs[VFIO_USER_MAX_COMMAND];

static const char *const names[VFIO_USER_MAX_COMMAND] = {
	[0] = "UNKNOWN",
	[VFIO_USER_VERSION] = "VERSION",
	[VFIO_USER_DMA_MAP] = "DMA_MAP",
	[VFIO_USER_DMA_UNMAP] = "DMA_UNMAP",
	[VFIO_USER_DEVICE_GET_INFO] = "DEVICE_GET_INFO",
	[VFIO_USER_DEVICE_GET_REGION_INFO] = "DEVICE_GET_REGION_INFO",
	[VFIO_USER_DEVICE_GET_REGION_IO_FDS] = "DEVICE_GET_REGION_IO_FDS",
	[VFIO_USER_DEVICE_GET_IRQ_INFO] = "DEVICE_GET_IRQ_INFO",
	[VFIO_USER_DEVICE_SET_IRQS] = "DEVICE_SET_IRQS",
	[VFIO_USER_REGION_READ] = "REGION_READ",
	[VFIO_USER_REGION_WRITE] = "REGION_WRITE",
	[VFIO_USER_DMA_READ] = "DMA_READ",
	[VFIO_USER_DMA_WRITE] = "DMA_WRITE",
	[VFIO_USER_DEVICE_RESET] = "DEVICE_RESET",
	[VFIO_USER_DIRTY_PAGES] = "DIRTY_PAGES",
	[VFIO_USER_REGION_WRITE_MULTI] = "REGION_WRITE_MULTI",
	[VFIO_USER_DEVICE_FEATURE] = "DEVICE_FEATURE",
	[VFIO_USER_MIG_DATA_READ] = "MIG_DATA_READ",
	[VFIO_USER_MIG_DATA_WRITE] = "MIG_DATA_WRITE",
};

static void
die(const char *what, int ret)
{
	fprintf(stderr, "tel_client: %s: %s\n", what, strerror(-ret));
	exit(1);
}

/* One command; want_ok says whether it must succeed. Counts it. */
static void
call(const char *what, uint16_t cmd, const void *p, uint32_t len,
     const int *fds, int nfds, bool want_ok)
{
	int ret = rc_call(&cl, cmd, p, len, fds, nfds, NULL);

	if (ret == -ETIMEDOUT || ret == -ECONNRESET || ret == -EPROTO)
		die(what, ret);
	if ((ret == 0) != want_ok) {
		fprintf(stderr, "tel_client: %s: %s, expected %s\n", what,
			ret == 0 ? "succeeded" : strerror(-ret),
			want_ok ? "success" : "an error");
		exit(1);
	}
	msgs[cmd < VFIO_USER_MAX_COMMAND ? cmd : 0]++;
	errs[cmd < VFIO_USER_MAX_COMMAND ? cmd : 0] += ret != 0;
}

static void
dma_map(uint64_t iova, uint64_t size, bool want_ok)
{
	struct vfio_user_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_USER_DMA_MAP_F_READ | VFIO_USER_DMA_MAP_F_WRITE,
		.addr = iova,
		.size = size,
	};
	int fd = memfd_create("tel-client", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		die("memfd", -errno);
	call("DMA_MAP", VFIO_USER_DMA_MAP, &m, sizeof(m), &fd, 1, want_ok);
	close(fd);	/* the server keeps its own mapping */
}

static void
set_irqs(const char *what, uint32_t flags, uint32_t index, uint32_t start,
	 uint32_t count, int nfds, bool want_ok)
{
	struct vfio_user_irq_set s = {
		.argsz = sizeof(s),
		.flags = flags,
		.index = index,
		.start = start,
		.count = count,
	};
	int fds[MAX_FDS] = { -1 };

	for (int i = 0; i < nfds; i++) {
		fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fds[i] < 0)
			die("eventfd", -errno);
	}
	call(what, VFIO_USER_DEVICE_SET_IRQS, &s, sizeof(s), nfds ? fds : NULL,
	     nfds, want_ok);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);	/* the server keeps its own */
}

int
main(int argc, char **argv)
{
	const char *caps =
		"{\"capabilities\":{\"max_msg_fds\":8,"
		"\"max_data_xfer_size\":65536,\"max_dma_maps\":100}}";
	struct vfio_user_device_info di = { .argsz = sizeof(di) };
	struct vfio_user_region_info ri = { .argsz = sizeof(ri) };
	struct vfio_user_region_access ra = {
		.region = VFIO_USER_PCI_CONFIG_REGION_INDEX,
		.count = 4,
	};
	struct vfio_user_dirty_pages dp = {
		.argsz = sizeof(dp),
		.flags = VFIO_USER_DIRTY_PAGES_F_START,
	};
	const char *sep = "";
	char line[16];
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
		return 2;
	}
	ret = rc_connect(&cl, argv[1], 10000);
	if (ret < 0)
		die("connect", ret);
	ret = rc_negotiate(&cl, caps, NULL);
	if (ret < 0)
		die("VERSION", ret);
	msgs[VFIO_USER_VERSION]++;

	call("GET_INFO", VFIO_USER_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0,
	     true);
	ri.index = VFIO_USER_PCI_CONFIG_REGION_INDEX;
	for (int i = 0; i < 3; i++)
		call("GET_REGION_INFO config", VFIO_USER_DEVICE_GET_REGION_INFO,
		     &ri, sizeof(ri), NULL, 0, true);
	ri.index = 200;
	call("GET_REGION_INFO 200", VFIO_USER_DEVICE_GET_REGION_INFO, &ri,
	     sizeof(ri), NULL, 0, false);
	for (int i = 0; i < 5; i++) {
		ra.offset = 4u * (uint32_t)i;
		call("REGION_READ config", VFIO_USER_REGION_READ, &ra,
		     sizeof(ra), NULL, 0, true);
	}
	call("command 99", 99, NULL, 0, NULL, 0, false);

	/* 1 MiB at 1 MiB and 2 MiB at 4 MiB; a third overlapping the first */
	dma_map(1u << 20, 1u << 20, true);
	dma_map(4u << 20, 2u << 20, true);
	dma_map((1u << 20) + 4096, 4096, false);

	/* MSI-X (index 2): eventfds on vectors 0 and 1, vector 1 masked */
	set_irqs("SET_IRQS MSI-X eventfds",
		 VFIO_USER_IRQ_SET_DATA_EVENTFD |
			 VFIO_USER_IRQ_SET_ACTION_TRIGGER,
		 VFIO_USER_PCI_MSIX_IRQ_INDEX, 0, 2, 2, true);
	set_irqs("SET_IRQS MSI-X mask",
		 VFIO_USER_IRQ_SET_DATA_NONE | VFIO_USER_IRQ_SET_ACTION_MASK,
		 VFIO_USER_PCI_MSIX_IRQ_INDEX, 1, 1, 0, true);
	/* INTx (index 0): an eventfd, then masked */
	set_irqs("SET_IRQS INTx eventfd",
		 VFIO_USER_IRQ_SET_DATA_EVENTFD |
			 VFIO_USER_IRQ_SET_ACTION_TRIGGER,
		 VFIO_USER_PCI_INTX_IRQ_INDEX, 0, 1, 1, true);
	set_irqs("SET_IRQS INTx mask",
		 VFIO_USER_IRQ_SET_DATA_NONE | VFIO_USER_IRQ_SET_ACTION_MASK,
		 VFIO_USER_PCI_INTX_IRQ_INDEX, 0, 1, 0, true);

	call("DIRTY_PAGES start", VFIO_USER_DIRTY_PAGES, &dp, sizeof(dp), NULL,
	     0, true);

	/* what /vfio_user/info must say now */
	printf("{\"commands\": {");
	for (unsigned int i = 0; i < VFIO_USER_MAX_COMMAND; i++) {
		printf("%s\"%s\": {\"messages\": %u, \"errors\": %u}", sep,
		       names[i], msgs[i], errs[i]);
		sep = ", ";
	}
	printf("}, \"dma\": {\"maps\": 2, \"bytes\": %u, "
	       "\"message_only_maps\": 0, \"dirty_logging\": 1}, ",
	       3u << 20);
	printf("\"irqs\": {\"%u\": {\"eventfds\": 2, \"eventfd_vectors\": \"0-1\", "
	       "\"masked\": 1, \"masked_vectors\": \"1\"}, "
	       "\"%u\": {\"eventfds\": 1, \"eventfd_vectors\": \"0\", "
	       "\"masked\": 1, \"masked_vectors\": \"0\"}}, ",
	       VFIO_USER_PCI_MSIX_IRQ_INDEX, VFIO_USER_PCI_INTX_IRQ_INDEX);
	printf("\"client\": {\"version\": \"%u.%u\", \"max_msg_fds\": %u, "
	       "\"max_data_xfer_size\": %u, \"max_dma_maps\": %u, "
	       "\"write_multiple\": 0, \"twin_socket\": 0}}\n",
	       VFIO_USER_MAJOR_VER, VFIO_USER_MINOR_VER, MAX_FDS, MAX_XFER,
	       MAX_MAPS);
	printf("READY\n");
	fflush(stdout);

	if (fgets(line, sizeof(line), stdin) == NULL && ferror(stdin))
		die("stdin", -errno);
	rc_close(&cl);
	return 0;
}
