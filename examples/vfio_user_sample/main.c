/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * dpdk-vfio-user-sample: a small vfio-user PCI device.
 *
 * The device (see doc/guides/sample_app_ug/vfio_user_sample.rst):
 *   vendor 0x1234 device 0x5655, class 0xff0000, INTA#,
 *   BAR0: 4 KiB of 32-bit registers, the MSI-X table (4 vectors) at 0x800
 *   and its PBA at 0xc00.
 *
 *   0x000 ID          RO   0x56550001
 *   0x004 SCRATCH     RW   any value
 *   0x008 DOORBELL    WO   writing N raises interrupt N (N < 4): MSI-X
 *                          vector N when the client set MSI-X up, else INTx
 *   0x00c IRQ_STATUS  RW1C bit N: doorbell N rang; INTx is deasserted when
 *                          it reads 0 again
 *   0x010 IRQ_COUNT   RO   interrupts raised
 *   0x014 IRQ_MODE    RO   how the last one went: 0 none, 1 INTx, 2 MSI-X
 *
 * It follows the vfio-user "Backend Program Conventions": --socket-path or
 * --fd, foreground, SIGTERM (and SIGINT) end it cleanly with exit status 0.
 * It needs no DPDK EAL: the library and rte_log work without rte_eal_init().
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_log.h>

#include <rte_vfio_user.h>
#include <rte_vfio_user_pci.h>
#include <vfio_user_proto.h>

#define PROG "dpdk-vfio-user-sample"

/* Identity: 0x1234 is the id QEMU's own emulated test devices (edu,
 * bochs-display) use; it is not a vendor's, so never ship it in a product. */
#define SAMPLE_VENDOR_ID	0x1234
#define SAMPLE_DEVICE_ID	0x5655	/* "VU" */
#define SAMPLE_SUBSYS_ID	0x0001
#define SAMPLE_REVISION		0x01
#define SAMPLE_CLASS		0xff0000 /* device does not fit any class */

/* BAR0 layout. */
#define BAR0_SIZE		4096
#define REG_ID			0x000
#define REG_SCRATCH		0x004
#define REG_DOORBELL		0x008
#define REG_IRQ_STATUS		0x00c
#define REG_IRQ_COUNT		0x010
#define REG_IRQ_MODE		0x014
#define NUM_REGS		6
#define SAMPLE_ID_VALUE		0x56550001u	/* device id, layout v1 */
#define MSIX_VECTORS		4
#define MSIX_TABLE_OFFSET	0x800
#define MSIX_PBA_OFFSET		0xc00

enum irq_mode { MODE_NONE = 0, MODE_INTX = 1, MODE_MSIX = 2 };

struct sample_dev {
	int id;
	struct rte_vfio_user_pci *pci;
	/* registers: touched only on the library's event thread */
	uint32_t scratch;
	uint32_t irq_status;
	uint32_t irq_count;
	uint32_t irq_mode;
	/* --fd with a connected socket: we exit when its client goes */
	bool one_client;
	int quit_efd;
};

static int logtype;

#define LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, logtype, PROG ": " fmt "\n", ##__VA_ARGS__)

static const char *const reg_names[NUM_REGS] = {
	"ID", "SCRATCH", "DOORBELL", "IRQ_STATUS", "IRQ_COUNT", "IRQ_MODE",
};

/* ---- device state ---- */

static void
regs_reset(struct sample_dev *sd)
{
	sd->scratch = 0;
	sd->irq_status = 0;
	sd->irq_count = 0;
	sd->irq_mode = MODE_NONE;
}

static uint32_t
reg_read(const struct sample_dev *sd, unsigned int reg)
{
	switch (reg) {
	case REG_ID / 4:
		return SAMPLE_ID_VALUE;
	case REG_SCRATCH / 4:
		return sd->scratch;
	case REG_IRQ_STATUS / 4:
		return sd->irq_status;
	case REG_IRQ_COUNT / 4:
		return sd->irq_count;
	case REG_IRQ_MODE / 4:
		return sd->irq_mode;
	default:		/* DOORBELL and unused space read 0 */
		return 0;
	}
}

static void
ring_doorbell(struct sample_dev *sd, uint32_t vector)
{
	int ret;

	if (vector >= MSIX_VECTORS) {
		LOG(WARNING, "DOORBELL %" PRIu32 ": no such interrupt (0-%d)",
		    vector, MSIX_VECTORS - 1);
		return;
	}
	sd->irq_status |= 1u << vector;
	sd->irq_count++;
	if (rte_vfio_user_pci_msix_enabled(sd->pci) == 1) {
		/* MSI-X enabled in config space: honour the masks, PBA */
		sd->irq_mode = MODE_MSIX;
		ret = rte_vfio_user_pci_msix_trigger(sd->pci, vector);
	} else if (rte_vfio_user_irq_enabled(sd->id,
			VFIO_USER_PCI_MSIX_IRQ_INDEX) > 0) {
		/* eventfds set without the capability write (raw clients) */
		sd->irq_mode = MODE_MSIX;
		ret = rte_vfio_user_irq_trigger(sd->id,
				VFIO_USER_PCI_MSIX_IRQ_INDEX, vector);
	} else {
		sd->irq_mode = MODE_INTX;
		ret = rte_vfio_user_pci_set_intx(sd->pci, true);
		if (rte_vfio_user_pci_get_command(sd->pci) &
		    RTE_VFIO_USER_PCI_CMD_INTX_DISABLE) {
			LOG(INFO, "DOORBELL %" PRIu32 ": INTx asserted but "
			    "disabled by the command register", vector);
			return;
		}
	}
	if (ret < 0)
		LOG(ERR, "DOORBELL %" PRIu32 ": raising %s failed: %s", vector,
		    sd->irq_mode == MODE_MSIX ? "MSI-X" : "INTx", strerror(-ret));
	else if (sd->irq_mode == MODE_MSIX)
		LOG(INFO, "DOORBELL %" PRIu32 ": MSI-X vector %" PRIu32 " %s",
		    vector, vector, ret > 0 ? "raised" :
		    "latched as pending (masked or no eventfd yet)");
	else
		LOG(INFO, "DOORBELL %" PRIu32 ": INTx %s", vector,
		    ret > 0 ? "raised" :
		    "latched as pending (masked or no eventfd yet)");
}

static void
reg_write(struct sample_dev *sd, unsigned int reg, uint32_t val)
{
	switch (reg) {
	case REG_SCRATCH / 4:
		sd->scratch = val;
		break;
	case REG_DOORBELL / 4:
		ring_doorbell(sd, val);
		break;
	case REG_IRQ_STATUS / 4:
		if ((sd->irq_status & val) == 0)
			break;
		sd->irq_status &= ~val;
		if (sd->irq_status == 0) {
			rte_vfio_user_pci_set_intx(sd->pci, false);
			LOG(DEBUG, "IRQ_STATUS clear: INTx deasserted");
		}
		break;
	default:		/* read-only or unused: ignored */
		break;
	}
}

/* ---- region callbacks ---- */

static void
log_access(const char *what, const char *buf, size_t count, uint64_t offset,
	   bool is_write)
{
	uint64_t v = 0;

	if (!rte_log_can_log(logtype, RTE_LOG_DEBUG))
		return;
	if (count <= sizeof(v)) {
		memcpy(&v, buf, count);
		LOG(DEBUG, "%s %s %zu byte(s) at 0x%" PRIx64 ": 0x%" PRIx64,
		    what, is_write ? "write" : "read", count, offset, v);
	} else {
		LOG(DEBUG, "%s %s %zu bytes at 0x%" PRIx64, what,
		    is_write ? "write" : "read", count, offset);
	}
}

static ssize_t
bar0_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	    bool is_write)
{
	struct sample_dev *sd = priv;
	ssize_t ret;

	RTE_SET_USED(dev_id);
	/* the MSI-X table and PBA are the library's */
	ret = rte_vfio_user_pci_msix_access(sd->pci, 0, buf, count, offset,
					    is_write);
	if (ret != 0) {
		if (ret > 0)
			log_access("BAR0 (MSI-X)", buf, count, offset, is_write);
		return ret;
	}
	if (!is_write) {
		for (size_t i = 0; i < count; i++) {
			uint64_t o = offset + i;

			buf[i] = (char)(reg_read(sd, (unsigned int)(o / 4)) >>
					(8 * (o % 4)));
		}
		log_access("BAR0", buf, count, offset, false);
		return (ssize_t)count;
	}
	log_access("BAR0", buf, count, offset, true);
	/* each register touched: merge the bytes written, then act */
	for (uint64_t r = offset / 4; r <= (offset + count - 1) / 4; r++) {
		uint32_t val = r == REG_SCRATCH / 4 ? sd->scratch : 0;

		for (unsigned int b = 0; b < 4; b++) {
			uint64_t o = r * 4 + b;

			if (o < offset || o >= offset + count)
				continue;
			val &= ~(0xffu << (8 * b));
			val |= (uint32_t)(uint8_t)buf[o - offset] << (8 * b);
		}
		if (r < NUM_REGS)
			LOG(DEBUG, "%s <- 0x%08" PRIx32, reg_names[r], val);
		reg_write(sd, (unsigned int)r, val);
	}
	return (ssize_t)count;
}

static ssize_t
cfg_access(int dev_id, void *priv, char *buf, size_t count, uint64_t offset,
	   bool is_write)
{
	struct sample_dev *sd = priv;
	ssize_t ret;

	ret = rte_vfio_user_pci_cfg_region_access(dev_id, sd->pci, buf, count,
						  offset, is_write);
	if (ret >= 0)
		log_access("config", buf, count, offset, is_write);
	return ret;
}

/* What the PCI helpers tell us about config space changes. */
static void
pci_event(struct rte_vfio_user_pci *pci, const struct rte_vfio_user_pci_event *ev,
	  void *arg)
{
	uint64_t addr = 0;

	RTE_SET_USED(arg);
	switch (ev->type) {
	case RTE_VFIO_USER_PCI_EV_COMMAND:
		LOG(INFO, "command 0x%04" PRIx32 " -> 0x%04" PRIx32
		    " (memory %s, bus master %s, INTx %s)",
		    ev->old_val, ev->new_val,
		    ev->new_val & RTE_VFIO_USER_PCI_CMD_MEMORY ? "on" : "off",
		    ev->new_val & RTE_VFIO_USER_PCI_CMD_MASTER ? "on" : "off",
		    ev->new_val & RTE_VFIO_USER_PCI_CMD_INTX_DISABLE ?
		    "disabled" : "enabled");
		break;
	case RTE_VFIO_USER_PCI_EV_BAR:
		rte_vfio_user_pci_get_bar_addr(pci, ev->index, &addr);
		LOG(DEBUG, "BAR%" PRIu32 " written: 0x%" PRIx64, ev->index, addr);
		break;
	case RTE_VFIO_USER_PCI_EV_MSIX_CTRL:
		LOG(INFO, "MSI-X %s%s",
		    ev->new_val & RTE_VFIO_USER_PCI_MSIX_FLAGS_ENABLE ?
		    "enabled" : "disabled",
		    ev->new_val & RTE_VFIO_USER_PCI_MSIX_FLAGS_MASKALL ?
		    ", function masked" : "");
		break;
	case RTE_VFIO_USER_PCI_EV_MSIX_VECTOR:
		LOG(DEBUG, "MSI-X vector %" PRIu32 " %s", ev->index,
		    ev->new_val ? "masked" : "unmasked");
		break;
	case RTE_VFIO_USER_PCI_EV_POWER:	/* no PM capability here */
	case RTE_VFIO_USER_PCI_EV_CFG_WRITE:
		break;
	}
}

/* ---- library callbacks ---- */

static struct sample_dev *
dev_of(int dev_id)
{
	return rte_vfio_user_get_priv(dev_id);
}

static void
device_reset(struct sample_dev *sd)
{
	rte_vfio_user_pci_reset(sd->pci);
	regs_reset(sd);
}

static int
new_device(int dev_id)
{
	RTE_SET_USED(dev_id);
	LOG(NOTICE, "client connected and negotiated");
	return 0;
}

static void
destroy_device(int dev_id)
{
	struct sample_dev *sd = dev_of(dev_id);
	eventfd_t one = 1;

	LOG(NOTICE, "client disconnected");
	if (sd == NULL)
		return;
	device_reset(sd);	/* the next client finds a fresh device */
	if (sd->one_client && eventfd_write(sd->quit_efd, one) < 0)
		LOG(ERR, "eventfd: %s", strerror(errno));
}

static int
update_status(int dev_id, enum rte_vfio_user_status status)
{
	switch (status) {
	case RTE_VFIO_USER_IRQ_CHANGED:
		LOG(INFO, "client set interrupts: INTx %d, MSI-X %d eventfd(s)",
		    rte_vfio_user_irq_enabled(dev_id, VFIO_USER_PCI_INTX_IRQ_INDEX),
		    rte_vfio_user_irq_enabled(dev_id, VFIO_USER_PCI_MSIX_IRQ_INDEX));
		break;
	case RTE_VFIO_USER_DMA_CHANGED:
		LOG(DEBUG, "client memory table changed");
		break;
	case RTE_VFIO_USER_DMA_UNMAP_PRE:
		break;
	}
	return 0;
}

static int
reset_device(int dev_id)
{
	struct sample_dev *sd = dev_of(dev_id);

	LOG(NOTICE, "device reset");
	if (sd != NULL)
		device_reset(sd);
	return 0;
}

static const struct rte_vfio_user_notify_ops sample_ops = {
	.new_device = new_device,
	.destroy_device = destroy_device,
	.update_status = update_status,
	.reset_device = reset_device,
};

/* ---- setup ---- */

static int
pci_setup(struct sample_dev *sd)
{
	static const struct rte_vfio_user_pci_ids ids = {
		.vendor_id = SAMPLE_VENDOR_ID,
		.device_id = SAMPLE_DEVICE_ID,
		.subsystem_vendor_id = SAMPLE_VENDOR_ID,
		.subsystem_id = SAMPLE_SUBSYS_ID,
		.revision_id = SAMPLE_REVISION,
		.class_code = SAMPLE_CLASS,
	};
	/* vendor capability body: "VUS" and the register layout version */
	static const uint8_t vndr[4] = { 'V', 'U', 'S', 1 };
	int ret;

	sd->pci = rte_vfio_user_pci_create(RTE_VFIO_USER_PCI_CFG_SIZE);
	if (sd->pci == NULL)
		return -errno;
	ret = rte_vfio_user_pci_set_ids(sd->pci, &ids);
	if (ret == 0)
		ret = rte_vfio_user_pci_set_irq_pin(sd->pci, 1);	/* INTA# */
	if (ret == 0)
		ret = rte_vfio_user_pci_set_bar(sd->pci, 0, BAR0_SIZE,
						RTE_VFIO_USER_PCI_BAR_MEM);
	if (ret == 0)
		ret = rte_vfio_user_pci_add_msix(sd->pci, MSIX_VECTORS, 0,
						 MSIX_TABLE_OFFSET, 0,
						 MSIX_PBA_OFFSET);
	if (ret >= 0)
		ret = rte_vfio_user_pci_add_vendor_cap(sd->pci, vndr,
						       sizeof(vndr), NULL);
	if (ret >= 0)
		ret = rte_vfio_user_pci_set_notify(sd->pci, pci_event, sd);
	return ret < 0 ? ret : 0;
}

static int
dev_setup(struct sample_dev *sd)
{
	const struct rte_vfio_user_dev_info info = {
		.flags = RTE_VFIO_USER_DEV_F_PCI | RTE_VFIO_USER_DEV_F_RESET,
		.num_regions = VFIO_USER_PCI_NUM_REGIONS,
		.num_irqs = VFIO_USER_PCI_NUM_IRQS,
	};
	const struct rte_vfio_user_region bar0 = {
		.size = BAR0_SIZE,
		.flags = RTE_VFIO_USER_REG_F_READ | RTE_VFIO_USER_REG_F_WRITE,
		.access = bar0_access,
		.priv = sd,
		.mmap_fd = -1,
	};
	const struct rte_vfio_user_irq_info intx = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE |
			RTE_VFIO_USER_IRQ_F_AUTOMASKED,
		.count = 1,
	};
	const struct rte_vfio_user_irq_info msix = {
		.flags = RTE_VFIO_USER_IRQ_F_EVENTFD | RTE_VFIO_USER_IRQ_F_MASKABLE,
		.count = MSIX_VECTORS,
	};
	struct rte_vfio_user_region cfg;
	int ret;

	rte_vfio_user_pci_fill_cfg_region(sd->pci, &cfg);
	cfg.access = cfg_access;	/* the helpers' callback, with logging */
	cfg.priv = sd;
	ret = rte_vfio_user_set_dev_info(sd->id, &info);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(sd->id,
				VFIO_USER_PCI_BAR0_REGION_INDEX, &bar0);
	if (ret == 0)
		ret = rte_vfio_user_set_reg_info(sd->id,
				VFIO_USER_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret == 0)
		ret = rte_vfio_user_set_irq_info(sd->id,
				VFIO_USER_PCI_INTX_IRQ_INDEX, &intx);
	if (ret == 0)
		ret = rte_vfio_user_set_irq_info(sd->id,
				VFIO_USER_PCI_MSIX_IRQ_INDEX, &msix);
	if (ret == 0)
		ret = rte_vfio_user_pci_attach(sd->pci, sd->id);
	return ret;
}

/* ---- command line ---- */

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " (--socket-path=PATH [--socket-mode=MODE] | --fd=FDNUM)\n"
		"       [--event-poll-us=N] [-v] [-h]\n"
		"\n"
		"A sample vfio-user PCI device (vendor 0x%04x, device 0x%04x):\n"
		"a register file in BAR0 whose DOORBELL raises MSI-X or INTx.\n"
		"\n"
		"  --socket-path=PATH  listen on the UNIX socket PATH (created;\n"
		"                      a stale socket file is replaced; fails if\n"
		"                      a server answers there, or if PATH is not\n"
		"                      a socket)\n"
		"  --socket-mode=MODE  octal mode of that socket file (default\n"
		"                      0600: only its owner may connect)\n"
		"  --fd=FDNUM          serve the UNIX socket FDNUM (>= 3) that the\n"
		"                      parent passed: a listening socket, or a\n"
		"                      connected one (then exit when its client\n"
		"                      disconnects); not with --socket-path\n"
		"  --event-poll-us=N   poll N microseconds for the client's next\n"
		"                      message before sleeping (default %u;\n"
		"                      0: sleep at once)\n"
		"  -v, --verbose       log at debug level (every region access)\n"
		"  -h, --help          show this help and exit\n"
		"\n"
		"Runs in the foreground; SIGTERM or SIGINT stop it (exit status 0).\n"
		"Exit status 1 on errors, 2 on bad usage.\n",
		SAMPLE_VENDOR_ID, SAMPLE_DEVICE_ID,
		RTE_VFIO_USER_EVENT_POLL_US_DEFAULT);
}

static void
die_usage(const char *msg, const char *arg)
{
	if (arg != NULL)
		fprintf(stderr, PROG ": %s: '%s'\n", msg, arg);
	else
		fprintf(stderr, PROG ": %s\n", msg);
	fprintf(stderr, "Try '" PROG " --help' for more information.\n");
	exit(2);
}

struct opts {
	const char *socket_path;
	long socket_mode;	/* -1: the library's default */
	int fd;
	long poll_us;	/* -1: the library's default */
	bool verbose;
};

static void
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "socket-path", required_argument, NULL, 's' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "fd", required_argument, NULL, 'f' },
		{ "event-poll-us", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_fd = false;
	char *end;
	long v;
	int c;

	o->socket_path = NULL;
	o->socket_mode = -1;
	o->fd = -1;
	o->poll_us = -1;
	o->verbose = false;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (o->socket_path != NULL)
				die_usage("--socket-path given twice", NULL);
			if (optarg[0] == '\0')
				die_usage("empty --socket-path", NULL);
			if (strlen(optarg) >= sizeof(((struct sockaddr_un *)0)->sun_path))
				die_usage("socket path too long", optarg);
			o->socket_path = optarg;
			break;
		case 'm':
			errno = 0;
			v = strtol(optarg, &end, 8);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 0 || v > 0777)
				die_usage("--socket-mode needs octal permission "
					  "bits, 0 to 0777", optarg);
			o->socket_mode = v;
			break;
		case 'f':
			if (have_fd)
				die_usage("--fd given twice", NULL);
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 0 || v > INT_MAX)
				die_usage("--fd needs a file descriptor number",
					  optarg);
			if (v <= 2)
				die_usage("--fd cannot be stdin, stdout or stderr",
					  optarg);
			o->fd = (int)v;
			have_fd = true;
			break;
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < 0 || v > 1000000)
				die_usage("--event-poll-us needs 0 to 1000000",
					  optarg);
			o->poll_us = v;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			die_usage("option needs an argument", argv[optind - 1]);
			break;
		default:
			die_usage("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die_usage("unexpected argument", argv[optind]);
	if (o->socket_path != NULL && have_fd)
		die_usage("--socket-path and --fd are mutually exclusive", NULL);
	if (o->socket_path == NULL && !have_fd)
		die_usage("one of --socket-path=PATH or --fd=FDNUM is needed",
			  NULL);
	if (o->socket_mode >= 0 && o->socket_path == NULL)
		die_usage("--socket-mode goes with --socket-path", NULL);
}

/* ---- main ---- */

/* The connected socket of --fd is gone (the library closed it). */
static bool
fd_gone(int fd, const struct stat *was)
{
	struct stat st;

	return fstat(fd, &st) < 0 || st.st_ino != was->st_ino ||
		st.st_dev != was->st_dev;
}

int
main(int argc, char **argv)
{
	struct sample_dev sd = { .id = -1, .quit_efd = -1 };
	struct pollfd pfd[2];
	struct signalfd_siginfo si;
	struct stat fd_st;
	struct opts o;
	sigset_t sigs;
	int sfd, ret, status = EXIT_FAILURE;

	parse_args(argc, argv, &o);
	if (o.poll_us >= 0)
		rte_vfio_user_set_event_poll((uint32_t)o.poll_us);

	logtype = rte_log_register_type_and_pick_level("app.vfio_user_sample",
						       RTE_LOG_INFO);
	if (logtype < 0)
		logtype = RTE_LOGTYPE_USER1;
	rte_log_set_level(logtype, o.verbose ? RTE_LOG_DEBUG : RTE_LOG_INFO);
	rte_log_set_level_pattern("lib.vfio_user",
				  o.verbose ? RTE_LOG_DEBUG : RTE_LOG_INFO);

	/* Signals are taken synchronously; blocked before the library
	 * starts its thread, so it inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0) {
		LOG(ERR, "sigprocmask: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	sd.quit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || sd.quit_efd < 0) {
		LOG(ERR, "signalfd/eventfd: %s", strerror(errno));
		return EXIT_FAILURE;
	}

	ret = pci_setup(&sd);
	if (ret < 0) {
		LOG(ERR, "PCI config space setup: %s", strerror(-ret));
		goto out;
	}
	if (o.socket_path != NULL) {
		sd.id = rte_vfio_user_register(o.socket_path, &sample_ops, &sd);
	} else {
		int acc = 0;
		socklen_t len = sizeof(acc);

		if (fstat(o.fd, &fd_st) < 0) {
			LOG(ERR, "--fd=%d: %s", o.fd, strerror(errno));
			goto out;
		}
		if (!S_ISSOCK(fd_st.st_mode)) {
			LOG(ERR, "--fd=%d is not a socket", o.fd);
			goto out;
		}
		if (getsockopt(o.fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0)
			sd.one_client = !acc;
		sd.id = rte_vfio_user_register_fd(o.fd, &sample_ops, &sd);
	}
	if (sd.id < 0) {
		LOG(ERR, "cannot register the device on %s: %s",
		    o.socket_path != NULL ? o.socket_path : "--fd",
		    strerror(-sd.id));
		goto out;
	}
	ret = dev_setup(&sd);
	if (ret == 0 && o.socket_mode >= 0)
		ret = rte_vfio_user_set_sock_mode(sd.id, (mode_t)o.socket_mode);
	if (ret == 0)
		ret = rte_vfio_user_start(sd.id);
	if (ret < 0) {
		LOG(ERR, "cannot start the device: %s", strerror(-ret));
		goto out;
	}
	if (o.socket_path != NULL)
		LOG(NOTICE, "PCI device %04x:%04x listening on %s",
		    SAMPLE_VENDOR_ID, SAMPLE_DEVICE_ID, o.socket_path);
	else
		LOG(NOTICE, "PCI device %04x:%04x serving fd %d (%s)",
		    SAMPLE_VENDOR_ID, SAMPLE_DEVICE_ID, o.fd,
		    sd.one_client ? "connected" : "listening");

	pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sd.quit_efd, .events = POLLIN };
	for (;;) {
		ret = poll(pfd, 2, sd.one_client ? 1000 : -1);
		if (ret < 0 && errno != EINTR) {
			LOG(ERR, "poll: %s", strerror(errno));
			goto out;
		}
		if (ret > 0 && (pfd[0].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == sizeof(si)) {
			LOG(NOTICE, "%s received, shutting down",
			    si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
		if (ret > 0 && (pfd[1].revents & POLLIN)) {
			LOG(NOTICE, "the client of fd %d left, exiting", o.fd);
			/* destroy_device runs in the middle of the library's
			 * connection teardown: let that finish (it ends by
			 * closing the fd) before the device is unregistered */
			for (int i = 0; i < 500 && !fd_gone(o.fd, &fd_st); i++)
				usleep(10 * 1000);
			break;
		}
		/* a connected --fd whose client left before negotiating */
		if (sd.one_client && fd_gone(o.fd, &fd_st)) {
			LOG(NOTICE, "fd %d was closed, exiting", o.fd);
			break;
		}
	}
	status = EXIT_SUCCESS;
out:
	if (sd.id >= 0) {
		rte_vfio_user_pci_attach(sd.pci, -1);
		ret = rte_vfio_user_unregister(sd.id);
		if (ret < 0) {
			LOG(ERR, "unregister: %s", strerror(-ret));
			status = EXIT_FAILURE;
		}
	}
	rte_vfio_user_pci_free(sd.pci);
	close(sd.quit_efd);
	close(sfd);
	return status;
}
