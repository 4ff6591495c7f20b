/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * vmtool: the few things the VM tests need inside the guest that busybox
 * does not do. Built with `cc -static` by the tests and put into the
 * guest's initramfs (devtools/vm.sh run --file).
 *
 *   vmtool channels IFACE [N]     show (or set, ETHTOOL_SCHANNELS) the
 *                                 combined channel count, like ethtool -L
 *   vmtool stats IFACE [NAME...]  the driver's ethtool statistics
 *                                 (ETHTOOL_GSTATS), "name value" per line
 *   vmtool echo DST COUNT SIZE [WINDOW]
 *                                 COUNT ICMP echo requests of SIZE payload
 *                                 bytes (a different pseudo-random payload
 *                                 each), up to WINDOW in flight; every
 *                                 reply's payload is compared byte for byte
 *   vmtool arp IFACE IP MAC       a permanent neighbour entry (SIOCSARP),
 *                                 for a peer that answers no ARP
 *   vmtool xdp IFACE on|off       attach a native XDP program that passes
 *                                 every packet (XDP_PASS), or detach it
 *   vmtool udpecho DST PORT COUNT SIZE
 *                                 COUNT UDP datagrams of SIZE bytes to
 *                                 DST:PORT through a UDP socket (the
 *                                 kernel's checksum offload, where the
 *                                 NIC has it), each answered by the same
 *                                 datagram (a reflector swapping addresses
 *                                 and ports): every reply compared; the
 *                                 kernel delivers none whose checksum is
 *                                 wrong
 *   vmtool cmos INDEX [VALUE]     read (or write) a CMOS NVRAM byte (ports
 *                                 0x70/0x71): it survives a guest reboot
 *
 * Exit status 0 on success, 1 on failure (with a message on stderr).
 */

#include <errno.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "vmtool: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 1;
}

static int
ethtool(const char *ifname, void *data)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ret;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	ret = ioctl(fd, SIOCETHTOOL, &ifr);
	close(fd);
	return ret;
}

static int
cmd_channels(int argc, char **argv)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };

	if (ethtool(argv[0], &ch) < 0)
		return die("ETHTOOL_GCHANNELS: %s", strerror(errno));
	if (argc < 2) {
		printf("combined %u max_combined %u\n", ch.combined_count,
		       ch.max_combined);
		return 0;
	}
	ch.cmd = ETHTOOL_SCHANNELS;
	ch.combined_count = (uint32_t)strtoul(argv[1], NULL, 0);
	if (ethtool(argv[0], &ch) < 0)
		return die("ETHTOOL_SCHANNELS: %s", strerror(errno));
	return 0;
}

static int
cmd_stats(int argc, char **argv)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ethtool_gstrings *names;
	struct ethtool_stats *vals;
	uint32_t n;

	if (ethtool(argv[0], &info) < 0)
		return die("ETHTOOL_GDRVINFO: %s", strerror(errno));
	n = info.n_stats;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	vals = calloc(1, sizeof(*vals) + (size_t)n * sizeof(uint64_t));
	if (names == NULL || vals == NULL)
		return die("%s", "out of memory");
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = n;
	vals->cmd = ETHTOOL_GSTATS;
	vals->n_stats = n;
	if (ethtool(argv[0], names) < 0 || ethtool(argv[0], vals) < 0)
		return die("ETHTOOL_GSTATS: %s", strerror(errno));
	for (uint32_t i = 0; i < n; i++) {
		const char *name = (const char *)names->data + i * ETH_GSTRING_LEN;
		int show = argc < 2;

		for (int k = 1; k < argc && !show; k++)
			show = strcmp(argv[k], name) == 0;
		if (show)
			printf("%.*s %llu\n", ETH_GSTRING_LEN, name,
			       (unsigned long long)vals->data[i]);
	}
	return 0;
}

static uint16_t
csum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t s = 0;

	for (; len > 1; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

/* Payload of request seq: xorshift bytes seeded by seq. */
static void
payload(uint8_t *p, size_t len, uint32_t seq)
{
	uint32_t x = seq * 2654435761u + 0x9e3779b9u;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmd_echo(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	uint32_t count = (uint32_t)strtoul(argv[1], NULL, 0);
	size_t size = strtoul(argv[2], NULL, 0);
	uint32_t window = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 8;
	uint16_t ident = (uint16_t)getpid();
	uint8_t *sbuf, *rbuf, *want;
	uint32_t sent = 0, ok = 0, bad = 0, retries = 0;
	uint64_t bytes = 0;
	double t0 = now(), last = t0;
	int fd, rcvbuf = 4 << 20;

	if (inet_pton(AF_INET, argv[0], &dst.sin_addr) != 1)
		return die("bad address %s", argv[0]);
	if (size < 8 || size > 65000 || window == 0)
		return die("%s", "SIZE must be 8..65000, WINDOW >= 1");
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0)
		return die("raw socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	sbuf = malloc(sizeof(struct icmphdr) + size);
	rbuf = malloc(65536 + 128);
	want = malloc(size);
	if (sbuf == NULL || rbuf == NULL || want == NULL)
		return die("%s", "out of memory");

	while (ok + bad < count) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		/* keep WINDOW requests in flight; resend the oldest missing
		 * one after a second without progress (a lost packet) */
		while (sent < count && sent - (ok + bad) < window) {
			struct icmphdr *h = (struct icmphdr *)sbuf;

			memset(h, 0, sizeof(*h));
			h->type = ICMP_ECHO;
			h->un.echo.id = htons(ident);
			h->un.echo.sequence = htons((uint16_t)sent);
			payload(sbuf + sizeof(*h), size, sent);
			h->checksum = csum(sbuf, sizeof(*h) + size);
			if (sendto(fd, sbuf, sizeof(*h) + size, 0,
				   (struct sockaddr *)&dst, sizeof(dst)) < 0) {
				if (errno == ENOBUFS || errno == EAGAIN) {
					usleep(1000);
					break;
				}
				return die("sendto: %s", strerror(errno));
			}
			sent++;
		}
		if (poll(&pfd, 1, 200) <= 0) {
			if (now() - last > 2.0) {
				/* nothing for 2 s: count the oldest as lost
				 * and move on, at most a few times */
				if (++retries > 5) {
					fprintf(stderr, "vmtool: echo: no reply for "
						"10 s, %u/%u replies\n", ok, count);
					return 1;
				}
				bad++;
				last = now();
			}
			continue;
		}
		ssize_t n = recv(fd, rbuf, 65536 + 128, 0);
		if (n < (ssize_t)sizeof(struct iphdr))
			continue;
		const struct iphdr *ip = (const void *)rbuf;
		size_t ihl = ip->ihl * 4u;
		const struct icmphdr *h = (const void *)(rbuf + ihl);

		if ((size_t)n < ihl + sizeof(*h) || h->type != ICMP_ECHOREPLY ||
		    ntohs(h->un.echo.id) != ident)
			continue;
		uint16_t seq = ntohs(h->un.echo.sequence);
		size_t plen = (size_t)n - ihl - sizeof(*h);

		payload(want, size, seq);
		if (plen != size || memcmp(rbuf + ihl + sizeof(*h), want, size)) {
			fprintf(stderr, "vmtool: echo: reply %u: payload "
				"differs (%zu bytes, want %zu)\n", seq, plen, size);
			bad++;
		} else {
			ok++;
			bytes += size;
		}
		last = now();
	}
	double dt = now() - t0;

	printf("echo: %u sent, %u replies ok, %u bad or lost, %llu payload "
	       "bytes checked, %.2f s, %.1f Mbit/s\n", sent, ok, bad,
	       (unsigned long long)bytes, dt, dt > 0 ? bytes * 8 / dt / 1e6 : 0);
	return bad == 0 && ok == count ? 0 : 1;
}

static int
cmd_arp(int argc, char **argv)
{
	struct arpreq r = { .arp_flags = ATF_PERM | ATF_COM };
	struct sockaddr_in *ip = (struct sockaddr_in *)&r.arp_pa;
	unsigned int b[6];
	int fd, ret;

	(void)argc;
	ip->sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[1], &ip->sin_addr) != 1)
		return die("bad address %s", argv[1]);
	if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5]) != 6)
		return die("bad MAC %s", argv[2]);
	r.arp_ha.sa_family = ARPHRD_ETHER;
	for (int i = 0; i < 6; i++)
		r.arp_ha.sa_data[i] = (char)b[i];
	snprintf(r.arp_dev, sizeof(r.arp_dev), "%s", argv[0]);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return die("socket: %s", strerror(errno));
	ret = ioctl(fd, SIOCSARP, &r);
	close(fd);
	if (ret < 0)
		return die("SIOCSARP: %s", strerror(errno));
	return 0;
}

static int
cmd_xdp(int argc, char **argv)
{
	/* r0 = XDP_PASS; exit */
	struct bpf_insn prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = 0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static char log[4096];
	union bpf_attr a;
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[64];
	} req;
	struct nlattr *xdp, *fd_at, *fl_at;
	int ifindex = (int)if_nametoindex(argv[0]), pfd = -1, nl, n;
	bool on = strcmp(argv[1], "on") == 0;
	char buf[1024];

	(void)argc;
	if (ifindex == 0)
		return die("no interface %s", argv[0]);
	if (on) {
		memset(&a, 0, sizeof(a));
		a.prog_type = BPF_PROG_TYPE_XDP;
		a.insns = (uintptr_t)prog;
		a.insn_cnt = 2;
		a.license = (uintptr_t) "GPL";
		a.log_buf = (uintptr_t)log;
		a.log_size = sizeof(log);
		a.log_level = 1;
		pfd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
		if (pfd < 0)
			return die("BPF_PROG_LOAD: %s", strerror(errno));
	}
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = RTM_SETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = ifindex;
	xdp = (struct nlattr *)req.attrs;
	xdp->nla_type = IFLA_XDP | NLA_F_NESTED;
	fd_at = (struct nlattr *)((char *)xdp + NLA_HDRLEN);
	fd_at->nla_type = IFLA_XDP_FD;
	fd_at->nla_len = NLA_HDRLEN + sizeof(int);
	memcpy((char *)fd_at + NLA_HDRLEN, &pfd, sizeof(int));
	fl_at = (struct nlattr *)((char *)fd_at + NLA_ALIGN(fd_at->nla_len));
	fl_at->nla_type = IFLA_XDP_FLAGS;
	fl_at->nla_len = NLA_HDRLEN + sizeof(uint32_t);
	memcpy((char *)fl_at + NLA_HDRLEN, &(uint32_t){ XDP_FLAGS_DRV_MODE },
	       sizeof(uint32_t));
	xdp->nla_len = (uint16_t)(NLA_HDRLEN + NLA_ALIGN(fd_at->nla_len) +
				  NLA_ALIGN(fl_at->nla_len));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi)) + xdp->nla_len;
	nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (nl < 0 || send(nl, &req, req.nh.nlmsg_len, 0) < 0)
		return die("netlink: %s", strerror(errno));
	n = (int)recv(nl, buf, sizeof(buf), 0);
	if (n >= (int)NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		struct nlmsgerr *e = NLMSG_DATA(h);

		if (h->nlmsg_type == NLMSG_ERROR && e->error != 0)
			return die("attaching XDP: %s", strerror(-e->error));
	}
	printf("xdp %s on %s\n", on ? "attached" : "detached", argv[0]);
	return 0;
}

static int
cmd_udpecho(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	unsigned long port = strtoul(argv[1], NULL, 0);
	uint32_t count = (uint32_t)strtoul(argv[2], NULL, 0);
	size_t size = strtoul(argv[3], NULL, 0);
	uint32_t ok = 0, lost = 0;
	uint8_t *sbuf, *rbuf;
	int fd;

	(void)argc;
	if (inet_pton(AF_INET, argv[0], &dst.sin_addr) != 1)
		return die("bad address %s", argv[0]);
	if (port == 0 || port > 65535 || size < 4 || size > 65000)
		return die("%s", "PORT must be 1..65535, SIZE 4..65000");
	dst.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		return die("UDP socket: %s", strerror(errno));
	sbuf = malloc(size);
	rbuf = malloc(size + 1);
	if (sbuf == NULL || rbuf == NULL)
		return die("%s", "out of memory");
	for (uint32_t i = 0; i < count; i++) {
		bool got = false;

		payload(sbuf, size, i);
		/* up to 3 tries a datagram, a second each */
		for (int t = 0; t < 3 && !got; t++) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			if (send(fd, sbuf, size, 0) < 0)
				return die("send: %s", strerror(errno));
			while (!got && poll(&pfd, 1, 1000) > 0) {
				ssize_t n = recv(fd, rbuf, size + 1, 0);

				got = n == (ssize_t)size &&
				      memcmp(rbuf, sbuf, size) == 0;
			}
		}
		if (got) {
			ok++;
		} else if (++lost >= 5 && ok == 0) {
			fprintf(stderr,
				"vmtool: udpecho: no echo of the first "
				"%u datagrams\n",
				lost);
			break;
		}
	}
	printf("udpecho: %u datagrams of %zu bytes, %u echoed intact, %u "
	       "lost\n",
	       count, size, ok, lost);
	return ok == count ? 0 : 1;
}

static int
cmd_cmos(int argc, char **argv)
{
	unsigned long idx = strtoul(argv[0], NULL, 0);

	if (idx < 0x0e || idx > 0x7f)
		return die("%s", "CMOS index must be 0x0e..0x7f");
	if (ioperm(0x70, 2, 1) < 0)
		return die("ioperm: %s", strerror(errno));
	outb((uint8_t)idx, 0x70);
	if (argc > 1) {
		outb((uint8_t)strtoul(argv[1], NULL, 0), 0x71);
		return 0;
	}
	printf("%u\n", inb(0x71));
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "channels") == 0)
		return cmd_channels(argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "stats") == 0)
		return cmd_stats(argc - 2, argv + 2);
	if (argc >= 5 && strcmp(argv[1], "echo") == 0)
		return cmd_echo(argc - 2, argv + 2);
	if (argc >= 5 && strcmp(argv[1], "arp") == 0)
		return cmd_arp(argc - 2, argv + 2);
	if (argc >= 4 && strcmp(argv[1], "xdp") == 0)
		return cmd_xdp(argc - 2, argv + 2);
	if (argc >= 6 && strcmp(argv[1], "udpecho") == 0)
		return cmd_udpecho(argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "cmos") == 0)
		return cmd_cmos(argc - 2, argv + 2);
	fprintf(stderr, "usage: vmtool channels IFACE [N] | stats IFACE [NAME...] |"
		" echo DST COUNT SIZE [WINDOW] | arp IFACE IP MAC | xdp IFACE on|off |"
		" udpecho DST PORT COUNT SIZE |"
		" cmos INDEX [VALUE]\n");
	return 2;
}
