/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * dpdk-vfio-user-info: connect to a vfio-user device and print it the way
 * lspci -vvv and the VFIO tools would: device flags, regions with their
 * mmap areas and capabilities, IRQ types, and the PCI configuration space
 * decoded (ids, class, BARs, capability list with MSI-X and virtio vendor
 * capabilities). --json prints the same as one JSON object.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rte_common.h>
#include <rte_errno.h>

#include <rte_vfio_user_client.h>

#define PCI_CFG_SIZE 256

static const char *const region_names[] = {
	"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA",
};
static const char *const irq_names[] = { "INTx", "MSI", "MSI-X", "ERR", "REQ" };

static const char *
cap_name(uint8_t id)
{
	switch (id) {
	case 0x01: return "Power Management";
	case 0x05: return "MSI";
	case 0x09: return "Vendor Specific";
	case 0x10: return "PCI Express";
	case 0x11: return "MSI-X";
	default: return "Unknown";
	}
}

static const char *
virtio_cfg_name(uint8_t t)
{
	switch (t) {
	case 1: return "common cfg";
	case 2: return "notify";
	case 3: return "ISR";
	case 4: return "device cfg";
	case 5: return "PCI cfg access";
	case 8: return "shared memory";
	default: return "unknown";
	}
}

static uint16_t
rd16(const uint8_t *p, unsigned int o)
{
	return (uint16_t)(p[o] | p[o + 1] << 8);
}

static uint32_t
rd32(const uint8_t *p, unsigned int o)
{
	return (uint32_t)rd16(p, o) | (uint32_t)rd16(p, o + 2) << 16;
}

static json_t *
flags_json(uint32_t flags, const char *const *names, unsigned int n)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < n; i++)
		if (flags & (1u << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

static void
flags_print(uint32_t flags, const char *const *names, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (flags & (1u << i))
			printf(" %s", names[i]);
}

static const char *const dev_flag_names[] = { "RESET", "PCI" };
static const char *const reg_flag_names[] = { "READ", "WRITE", "MMAP", "CAPS" };
static const char *const irq_flag_names[] = {
	"EVENTFD", "MASKABLE", "AUTOMASKED", "NORESIZE",
};

/* Decode config space capabilities into j (and print unless json). */
static json_t *
decode_caps(const uint8_t *cfg, bool print)
{
	json_t *caps = json_array();
	uint8_t seen[PCI_CFG_SIZE] = { 0 };
	unsigned int off;

	if (!(rd16(cfg, 0x06) & 0x10))
		return caps;
	for (off = cfg[0x34] & 0xfc; off >= 0x40 && off < PCI_CFG_SIZE - 1;
	     off = cfg[off + 1] & 0xfc) {
		uint8_t id = cfg[off];
		json_t *c;

		if (seen[off]++) {
			if (print)
				printf("\tCapabilities: [%02x] <loop in chain>\n", off);
			break;
		}
		c = json_pack("{s:i, s:i, s:s}", "offset", off, "id", id,
			      "name", cap_name(id));
		if (id == 0x11 && off + 12 <= PCI_CFG_SIZE) {
			uint16_t ctl = rd16(cfg, off + 2);
			uint32_t tbl = rd32(cfg, off + 4), pba = rd32(cfg, off + 8);

			json_object_set_new(c, "enabled", json_boolean(ctl & 0x8000));
			json_object_set_new(c, "function_mask", json_boolean(ctl & 0x4000));
			json_object_set_new(c, "table_size", json_integer((ctl & 0x7ff) + 1));
			json_object_set_new(c, "table_bar", json_integer(tbl & 7));
			json_object_set_new(c, "table_offset", json_integer(tbl & ~7u));
			json_object_set_new(c, "pba_bar", json_integer(pba & 7));
			json_object_set_new(c, "pba_offset", json_integer(pba & ~7u));
			if (print)
				printf("\tCapabilities: [%02x] MSI-X: Enable%c Count=%u Masked%c\n"
				       "\t\tVector table: BAR=%u offset=%08x\n"
				       "\t\tPBA: BAR=%u offset=%08x\n", off,
				       ctl & 0x8000 ? '+' : '-', (ctl & 0x7ff) + 1,
				       ctl & 0x4000 ? '+' : '-', tbl & 7, tbl & ~7u,
				       pba & 7, pba & ~7u);
		} else if (id == 0x09 && off + 16 <= PCI_CFG_SIZE &&
			   rd16(cfg, 0) == 0x1af4) {
			uint8_t type = cfg[off + 3], bar = cfg[off + 4];
			uint32_t o = rd32(cfg, off + 8), len = rd32(cfg, off + 12);

			json_object_set_new(c, "virtio_cfg_type", json_integer(type));
			json_object_set_new(c, "virtio_cfg", json_string(virtio_cfg_name(type)));
			json_object_set_new(c, "bar", json_integer(bar));
			json_object_set_new(c, "bar_offset", json_integer(o));
			json_object_set_new(c, "length", json_integer(len));
			if (type == 2 && off + 20 <= PCI_CFG_SIZE)
				json_object_set_new(c, "notify_off_multiplier",
						    json_integer(rd32(cfg, off + 16)));
			if (print) {
				printf("\tCapabilities: [%02x] Vendor Specific Information: "
				       "VirtIO: %s\n\t\tBAR=%u offset=%08x size=%08x",
				       off, virtio_cfg_name(type), bar, o, len);
				if (type == 2 && off + 20 <= PCI_CFG_SIZE)
					printf(" multiplier=%08x", rd32(cfg, off + 16));
				printf("\n");
			}
		} else if (id == 0x01 && off + 8 <= PCI_CFG_SIZE) {
			/* PCI PM 1.2: PMC, PMCSR, as lspci shows them */
			static const unsigned int aux_ma[8] = {
				0, 55, 100, 160, 220, 270, 320, 375,
			};
			uint16_t pmc = rd16(cfg, off + 2),
				 csr = rd16(cfg, off + 4);

			json_object_set_new(c, "version",
					    json_integer(pmc & 7));
			json_object_set_new(c, "d1", json_boolean(pmc & 0x200));
			json_object_set_new(c, "d2", json_boolean(pmc & 0x400));
			json_object_set_new(c, "pme_support",
					    json_integer(pmc >> 11));
			json_object_set_new(c, "power_state",
					    json_integer(csr & 3));
			json_object_set_new(c, "no_soft_reset",
					    json_boolean(csr & 0x8));
			json_object_set_new(c, "pme_enable",
					    json_boolean(csr & 0x100));
			json_object_set_new(c, "pme_status",
					    json_boolean(csr & 0x8000));
			if (print)
				printf("\tCapabilities: [%02x] Power Management version %u\n"
				       "\t\tFlags: PMEClk%c DSI%c D1%c D2%c AuxCurrent=%umA "
				       "PME(D0%c,D1%c,D2%c,D3hot%c,D3cold%c)\n"
				       "\t\tStatus: D%u NoSoftRst%c PME-Enable%c DSel=%u "
				       "DScale=%u PME%c\n",
				       off, pmc & 7, pmc & 0x8 ? '+' : '-',
				       pmc & 0x20 ? '+' : '-',
				       pmc & 0x200 ? '+' : '-',
				       pmc & 0x400 ? '+' : '-',
				       aux_ma[(pmc >> 6) & 7],
				       pmc & 0x0800 ? '+' : '-',
				       pmc & 0x1000 ? '+' : '-',
				       pmc & 0x2000 ? '+' : '-',
				       pmc & 0x4000 ? '+' : '-',
				       pmc & 0x8000 ? '+' : '-', csr & 3,
				       csr & 0x8 ? '+' : '-',
				       csr & 0x100 ? '+' : '-',
				       (csr >> 9) & 0xf, (csr >> 13) & 3,
				       csr & 0x8000 ? '+' : '-');
		} else if (id == 0x05 && print) {
			uint16_t ctl = rd16(cfg, off + 2);

			printf("\tCapabilities: [%02x] MSI: Enable%c Count=%u/%u 64bit%c\n",
			       off, ctl & 1 ? '+' : '-', 1u << ((ctl >> 4) & 7),
			       1u << ((ctl >> 1) & 7), ctl & 0x80 ? '+' : '-');
		} else if (print) {
			printf("\tCapabilities: [%02x] %s (id %02x)\n", off,
			       cap_name(id), id);
		}
		json_array_append_new(caps, c);
		if ((cfg[off + 1] & 0xfc) == 0)
			break;
	}
	return caps;
}

static json_t *
decode_config(const uint8_t *cfg, const struct rte_vfio_user_client_region *regs,
	      uint32_t nregs, bool print)
{
	json_t *j = json_object(), *bars = json_array();
	uint16_t cmd = rd16(cfg, 0x04), sts = rd16(cfg, 0x06);
	uint32_t class = rd32(cfg, 0x08) >> 8;

	json_object_set_new(j, "vendor_id", json_integer(rd16(cfg, 0x00)));
	json_object_set_new(j, "device_id", json_integer(rd16(cfg, 0x02)));
	json_object_set_new(j, "command", json_integer(cmd));
	json_object_set_new(j, "status", json_integer(sts));
	json_object_set_new(j, "revision", json_integer(cfg[0x08]));
	json_object_set_new(j, "class_code", json_integer(class));
	json_object_set_new(j, "header_type", json_integer(cfg[0x0e]));
	json_object_set_new(j, "subsystem_vendor_id", json_integer(rd16(cfg, 0x2c)));
	json_object_set_new(j, "subsystem_id", json_integer(rd16(cfg, 0x2e)));
	json_object_set_new(j, "interrupt_pin", json_integer(cfg[0x3d]));
	if (print) {
		printf("PCI configuration space:\n");
		printf("\tClass %06x: Vendor %04x Device %04x (rev %02x)\n", class,
		       rd16(cfg, 0), rd16(cfg, 2), cfg[0x08]);
		printf("\tSubsystem: Vendor %04x Device %04x\n", rd16(cfg, 0x2c),
		       rd16(cfg, 0x2e));
		printf("\tControl: I/O%c Mem%c BusMaster%c DisINTx%c\n",
		       cmd & 1 ? '+' : '-', cmd & 2 ? '+' : '-',
		       cmd & 4 ? '+' : '-', cmd & 0x400 ? '+' : '-');
		printf("\tStatus: Cap%c INTx%c\n", sts & 0x10 ? '+' : '-',
		       sts & 0x8 ? '+' : '-');
		if (cfg[0x3d])
			printf("\tInterrupt: pin %c\n", 'A' + cfg[0x3d] - 1);
	}
	for (unsigned int b = 0; b < 6; b++) {
		uint32_t v = rd32(cfg, 0x10 + 4 * b);
		bool io = v & 1, is64 = !io && ((v >> 1) & 3) == 2;
		uint64_t size = b < nregs ? regs[b].size : 0;
		json_t *jb;

		if (size == 0)
			continue;
		jb = json_pack("{s:i, s:s, s:b, s:b, s:I, s:I}", "index", b,
			       "type", io ? "io" : "memory", "64bit", is64,
			       "prefetchable", !io && (v & 8), "size", (json_int_t)size,
			       "address", (json_int_t)(io ? v & ~3u : v & ~15u));
		json_array_append_new(bars, jb);
		if (print)
			printf("\tRegion %u: %s at %08x (%s%s) [size=0x%" PRIx64 "]\n",
			       b, io ? "I/O ports" : "Memory",
			       io ? v & ~3u : v & ~15u,
			       io ? "" : is64 ? "64-bit" : "32-bit",
			       !io && (v & 8) ? ", prefetchable" : io ? "" :
			       ", non-prefetchable", size);
		if (is64)
			b++;
	}
	json_object_set_new(j, "bars", bars);
	json_object_set_new(j, "capabilities", decode_caps(cfg, print));
	return j;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"Usage: %s [--json] [--timeout MS] <socket-path>\n"
		"Connect to a vfio-user device and describe it.\n"
		"  --json        print one JSON object instead of text\n"
		"  --timeout MS  per-request timeout (default 5000)\n", prog);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rte_vfio_user_client_conf conf = { 0 };
	struct rte_vfio_user_client_region regs[RTE_DIM(region_names) + 8];
	struct rte_vfio_user_client_caps caps;
	struct vfio_user_device_info info;
	struct rte_vfio_user_client *c;
	json_t *root, *jregs, *jirqs;
	bool json = false;
	uint8_t cfg[PCI_CFG_SIZE];
	uint32_t nregs;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "jt:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 't': {
			char *end;
			unsigned long ms;

			/* strtoul takes "-5" and "" silently: refuse them */
			errno = 0;
			ms = strtoul(optarg, &end, 0);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' ||
			    errno != 0 || ms > UINT32_MAX) {
				fprintf(stderr, "%s: bad --timeout value '%s'\n",
					argv[0], optarg);
				usage(argv[0]);
				return 2;
			}
			conf.timeout_ms = (uint32_t)ms;
			break;
		}
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(argv[0]);
		return 2;
	}
	conf.path = argv[optind];
	c = rte_vfio_user_client_attach(&conf);
	if (c == NULL) {
		fprintf(stderr, "%s: cannot attach: %s\n", conf.path,
			strerror(rte_errno));
		return 1;
	}
	rte_vfio_user_client_get_caps(c, &caps);
	ret = rte_vfio_user_client_device_info(c, &info);
	if (ret < 0) {
		fprintf(stderr, "%s: DEVICE_GET_INFO: %s\n", conf.path, strerror(-ret));
		rte_vfio_user_client_detach(c);
		return 1;
	}
	root = json_object();
	json_object_set_new(root, "socket", json_string(conf.path));
	json_object_set_new(root, "protocol", json_pack("{s:i, s:i, s:i, s:i, s:i, s:I, s:b, s:b}",
		"major", caps.major, "minor", caps.minor,
		"max_msg_fds", caps.max_msg_fds, "max_data_xfer_size", caps.max_xfer,
		"max_dma_maps", caps.max_dma_maps, "pgsizes", (json_int_t)caps.pgsizes,
		"write_multiple", caps.write_multi, "twin_socket", caps.twin_socket));
	json_object_set_new(root, "flags", flags_json(info.flags, dev_flag_names, 2));
	json_object_set_new(root, "num_regions", json_integer(info.num_regions));
	json_object_set_new(root, "num_irqs", json_integer(info.num_irqs));
	if (!json) {
		printf("vfio-user device at %s\n", conf.path);
		printf("Protocol %u.%u: max_msg_fds %u, max_data_xfer_size %u, "
		       "max_dma_maps %u, pgsizes 0x%" PRIx64 "%s%s\n",
		       caps.major, caps.minor, caps.max_msg_fds, caps.max_xfer,
		       caps.max_dma_maps, caps.pgsizes,
		       caps.write_multi ? ", write_multiple" : "",
		       caps.twin_socket ? ", twin_socket" : "");
		printf("Device flags:");
		flags_print(info.flags, dev_flag_names, 2);
		printf("\nRegions: %u, IRQ types: %u\n", info.num_regions,
		       info.num_irqs);
	}

	nregs = info.num_regions < RTE_DIM(regs) ? info.num_regions : RTE_DIM(regs);
	jregs = json_array();
	for (uint32_t i = 0; i < nregs; i++) {
		struct rte_vfio_user_client_region *r = &regs[i];
		const char *name = i < RTE_DIM(region_names) && (info.flags & 2) ?
			region_names[i] : "device-specific";
		json_t *jr, *sp;

		ret = rte_vfio_user_client_region_info(c, i, r);
		if (ret < 0) {
			fprintf(stderr, "region %u: %s\n", i, strerror(-ret));
			memset(r, 0, sizeof(*r));
			continue;
		}
		sp = json_array();
		for (uint32_t k = 0; k < r->nr_sparse && k < RTE_DIM(r->sparse); k++)
			json_array_append_new(sp, json_pack("{s:I, s:I}",
				"offset", (json_int_t)r->sparse[k].offset,
				"size", (json_int_t)r->sparse[k].size));
		jr = json_pack("{s:i, s:s, s:I, s:o, s:I, s:o}", "index", i,
			       "name", name, "size", (json_int_t)r->size,
			       "flags", flags_json(r->flags, reg_flag_names, 4),
			       "mmap_offset", (json_int_t)r->offset,
			       "sparse_mmap", sp);
		if (r->type != 0) {
			json_object_set_new(jr, "type", json_integer(r->type));
			json_object_set_new(jr, "subtype", json_integer(r->subtype));
		}
		json_array_append_new(jregs, jr);
		if (json || r->size == 0)
			continue;
		/* no dangling comma when there are no flags */
		printf("Region %u (%s): size 0x%" PRIx64 "%s", i, name, r->size,
		       r->flags ? "," : "");
		flags_print(r->flags, reg_flag_names, 4);
		if (r->flags & VFIO_USER_REGION_INFO_FLAG_MMAP)
			printf(", mmap offset 0x%" PRIx64, r->offset);
		printf("\n");
		for (uint32_t k = 0; k < r->nr_sparse && k < RTE_DIM(r->sparse); k++)
			printf("\tsparse mmap area [0x%" PRIx64 ", 0x%" PRIx64 ")\n",
			       r->sparse[k].offset,
			       r->sparse[k].offset + r->sparse[k].size);
		if (r->type != 0)
			printf("\ttype 0x%x subtype 0x%x\n", r->type, r->subtype);
	}
	json_object_set_new(root, "regions", jregs);

	jirqs = json_array();
	for (uint32_t i = 0; i < info.num_irqs; i++) {
		struct vfio_user_irq_info irq;
		const char *name = i < RTE_DIM(irq_names) && (info.flags & 2) ?
			irq_names[i] : "device-specific";

		ret = rte_vfio_user_client_irq_info(c, i, &irq);
		if (ret < 0) {
			fprintf(stderr, "IRQ %u: %s\n", i, strerror(-ret));
			continue;
		}
		json_array_append_new(jirqs, json_pack("{s:i, s:s, s:i, s:o}",
			"index", i, "name", name, "count", irq.count,
			"flags", flags_json(irq.flags, irq_flag_names, 4)));
		if (!json) {
			printf("IRQ %u (%s): count %u%s", i, name, irq.count,
			       irq.flags ? "," : "");
			flags_print(irq.flags, irq_flag_names, 4);
			printf("\n");
		}
	}
	json_object_set_new(root, "irqs", jirqs);

	if ((info.flags & VFIO_USER_DEVICE_FLAGS_PCI) &&
	    nregs > VFIO_USER_PCI_CONFIG_REGION_INDEX &&
	    regs[VFIO_USER_PCI_CONFIG_REGION_INDEX].size >= PCI_CFG_SIZE) {
		ret = rte_vfio_user_client_region_read(c,
			VFIO_USER_PCI_CONFIG_REGION_INDEX, 0, cfg, sizeof(cfg));
		if (ret < 0)
			fprintf(stderr, "config space: %s\n", strerror(-ret));
		else
			json_object_set_new(root, "pci",
					    decode_config(cfg, regs, nregs, !json));
	}
	if (json) {
		char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		puts(s);
		free(s);
	}
	json_decref(root);
	rte_vfio_user_client_detach(c);
	return 0;
}
