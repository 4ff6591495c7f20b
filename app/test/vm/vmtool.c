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
 *   vmtool rings IFACE [RX TX]    show (or set, ETHTOOL_SRINGPARAM) the
 *                                 ring sizes, like ethtool -g / -G
 *                                 ("rx N tx N rx_max N tx_max N")
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
 *   vmtool features IFACE [NAME[=on|off]...]
 *                                 the netdev's features (ETHTOOL_GFEATURES,
 *                                 the names of ethtool -k), "name on|off"
 *                                 per line, as active now; a NAME=on|off
 *                                 first requests that (ETHTOOL_SFEATURES,
 *                                 like ethtool -K; e.g. rx-gro-hw=off:
 *                                 virtio_net turns the device's GUEST_TSO
 *                                 off, VIRTIO_NET_CTRL_GUEST_OFFLOADS)
 *   vmtool gso IFACE DSTMAC SRCIP DSTIP LEN MSS
 *                                 one TCP/IPv4 (or IPv6, by the addresses)
 *                                 frame of LEN bytes (Ethernet header
 *                                 included) handed to the kernel as one GSO
 *                                 packet through an AF_PACKET socket with
 *                                 PACKET_VNET_HDR: a virtio_net_hdr with
 *                                 gso_type TCPV4/TCPV6, gso_size MSS and
 *                                 NEEDS_CSUM (the TCP checksum field holds
 *                                 the pseudo header's sum); the NIC
 *                                 segments it (TSO) or the kernel does
 *   vmtool tcprecv ADDR PORT BYTES SECONDS
 *   vmtool tcpsend ADDR PORT BYTES SECONDS
 *                                 a TCP transfer of BYTES bytes of a known
 *                                 pattern (byte i: byte i % 8 of
 *                                 splitmix64(i / 8)) over IPv4 or IPv6 (by
 *                                 ADDR): tcprecv listens on ADDR:PORT,
 *                                 takes one connection and checks every
 *                                 byte up to the sender's end (count and
 *                                 first mismatch reported); tcpsend
 *                                 connects to ADDR:PORT (retried: the
 *                                 receiver may start later), sends, shuts
 *                                 its side down and waits for the
 *                                 receiver's close. Each gives up after
 *                                 SECONDS, prints the bytes and the time
 *                                 taken, exit status 0 only if all BYTES
 *                                 went (arrived intact)
 *   vmtool cmos INDEX [VALUE]     read (or write) a CMOS NVRAM byte (ports
 *                                 0x70/0x71): it survives a guest reboot
 *
 * Exit status 0 on success, 1 on failure (with a message on stderr).
 */

#include <errno.h>
#include <linux/bpf.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/if_arp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
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
cmd_rings(int argc, char **argv)
{
	struct ethtool_ringparam r = { .cmd = ETHTOOL_GRINGPARAM };

	if (ethtool(argv[0], &r) < 0)
		return die("ETHTOOL_GRINGPARAM: %s", strerror(errno));
	if (argc < 3) {
		printf("rx %u tx %u rx_max %u tx_max %u\n", r.rx_pending,
		       r.tx_pending, r.rx_max_pending, r.tx_max_pending);
		return 0;
	}
	r.cmd = ETHTOOL_SRINGPARAM;
	r.rx_pending = (uint32_t)strtoul(argv[1], NULL, 0);
	r.tx_pending = (uint32_t)strtoul(argv[2], NULL, 0);
	if (ethtool(argv[0], &r) < 0)
		return die("ETHTOOL_SRINGPARAM: %s", strerror(errno));
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

/* The ones' complement sum of buf added to s, folded to 16 bits. */
static uint32_t
sum16(const void *buf, size_t len, uint32_t s)
{
	const uint8_t *p = buf;

	for (; len > 1; p += 2, len -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static uint16_t
csum(const void *buf, size_t len)
{
	return htons((uint16_t)~sum16(buf, len, 0));
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
cmd_features(int argc, char **argv)
{
	/* the header and the one count it returns */
	uint64_t raw[4] = { 0 };
	struct ethtool_sset_info *ss = (struct ethtool_sset_info *)raw;
	struct ethtool_gstrings *names;
	struct ethtool_gfeatures *feat;
	uint32_t n, blocks;

	_Static_assert(sizeof(raw) >= sizeof(*ss) + sizeof(ss->data[0]),
		       "ETHTOOL_GSSET_INFO buffer");
	ss->cmd = ETHTOOL_GSSET_INFO;
	ss->sset_mask = 1ULL << ETH_SS_FEATURES;
	if (ethtool(argv[0], ss) < 0 || ss->sset_mask == 0)
		return die("ETHTOOL_GSSET_INFO: %s", strerror(errno));
	n = ss->data[0];
	blocks = (n + 31) / 32;
	names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
	feat = calloc(1, sizeof(*feat) + blocks * sizeof(feat->features[0]));
	if (names == NULL || feat == NULL)
		return die("%s", "out of memory");
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_FEATURES;
	names->len = n;
	if (ethtool(argv[0], names) < 0)
		return die("ETHTOOL_GSTRINGS: %s", strerror(errno));
	/* NAME=on|off: requested first */
	for (int k = 1; k < argc; k++) {
		const char *eq = strchr(argv[k], '=');
		struct ethtool_sfeatures *sf;
		size_t len;
		uint32_t i;

		if (eq == NULL)
			continue;
		len = (size_t)(eq - argv[k]);
		if (strcmp(eq + 1, "on") != 0 && strcmp(eq + 1, "off") != 0)
			return die("%s: on or off", argv[k]);
		for (i = 0; i < n; i++) {
			const char *name = (const char *)names->data +
					   i * ETH_GSTRING_LEN;

			if (len < ETH_GSTRING_LEN &&
			    strncmp(argv[k], name, len) == 0 && name[len] == 0)
				break;
		}
		if (i == n)
			return die("no feature %s", argv[k]);
		sf = calloc(1, sizeof(*sf) + blocks * sizeof(sf->features[0]));
		if (sf == NULL)
			return die("%s", "out of memory");
		sf->cmd = ETHTOOL_SFEATURES;
		sf->size = blocks;
		sf->features[i / 32].valid = 1u << (i % 32);
		if (strcmp(eq + 1, "on") == 0)
			sf->features[i / 32].requested = 1u << (i % 32);
		/* > 0: done, but not as asked (ETHTOOL_F_WISH) */
		if (ethtool(argv[0], sf) != 0)
			return die("ETHTOOL_SFEATURES %s failed", argv[k]);
		free(sf);
	}
	feat->cmd = ETHTOOL_GFEATURES;
	feat->size = blocks;
	if (ethtool(argv[0], feat) < 0)
		return die("ETHTOOL_GFEATURES: %s", strerror(errno));
	for (uint32_t i = 0; i < n; i++) {
		const char *name = (const char *)names->data +
				   i * ETH_GSTRING_LEN;
		bool on = feat->features[i / 32].active >> (i % 32) & 1;
		int show = argc < 2;

		for (int k = 1; k < argc && !show; k++) {
			size_t len = strcspn(argv[k], "=");

			show = len < ETH_GSTRING_LEN &&
			       strncmp(argv[k], name, len) == 0 &&
			       name[len] == 0;
		}
		if (show)
			printf("%.*s %s\n", ETH_GSTRING_LEN, name,
			       on ? "on" : "off");
	}
	return 0;
}

static int
cmd_gso(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_halen = 6 };
	struct ifreq ifr;
	struct in_addr s4, d4;
	struct in6_addr s6, d6;
	bool v6 = strchr(argv[2], ':') != NULL;
	int af = v6 ? AF_INET6 : AF_INET;
	size_t l3 = v6 ? sizeof(struct ip6_hdr) : sizeof(struct iphdr);
	size_t hl = ETH_HLEN + l3 + sizeof(struct tcphdr);
	size_t len = strtoul(argv[4], NULL, 0);
	unsigned long mss = strtoul(argv[5], NULL, 0);
	struct virtio_net_hdr *vh;
	struct tcphdr *th;
	uint8_t *buf, *eth;
	uint32_t ps;
	unsigned int b[6];
	int fd, one = 1;
	ssize_t n;

	(void)argc;
	if (inet_pton(af, argv[2], v6 ? (void *)&s6 : (void *)&s4) != 1 ||
	    inet_pton(af, argv[3], v6 ? (void *)&d6 : (void *)&d4) != 1)
		return die("bad address %s or its peer", argv[2]);
	if (sscanf(argv[1], "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5]) != 6)
		return die("bad MAC %s", argv[1]);
	/* a GSO packet: more than one segment, the IP packet (IPv6: its
	 * payload) within 64 KiB */
	if (mss == 0 || mss > 65535 || len <= hl + mss ||
	    len - ETH_HLEN - (v6 ? l3 : 0) > 65535)
		return die("%s", "LEN must be more than the headers and MSS, "
				 "the IP packet within 64 KiB");
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		return die("AF_PACKET socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
		return die("PACKET_VNET_HDR: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[0]);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return die("SIOCGIFHWADDR: %s", strerror(errno));
	buf = calloc(1, sizeof(*vh) + len);
	if (buf == NULL)
		return die("%s", "out of memory");

	vh = (struct virtio_net_hdr *)buf;
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	vh->hdr_len = (uint16_t)hl;
	vh->gso_size = (uint16_t)mss;
	vh->csum_start = (uint16_t)(ETH_HLEN + l3);
	vh->csum_offset = offsetof(struct tcphdr, check);

	eth = buf + sizeof(*vh);
	for (int i = 0; i < 6; i++)
		eth[i] = (uint8_t)b[i];
	memcpy(eth + 6, ifr.ifr_hwaddr.sa_data, 6);
	eth[12] = v6 ? 0x86 : 0x08;
	eth[13] = v6 ? 0xdd : 0x00;
	/* the pseudo header's sum, with the whole packet's TCP length: what
	 * the NIC (or the kernel's GSO, per segment) completes */
	ps = (uint32_t)(len - ETH_HLEN - l3) + IPPROTO_TCP;
	if (v6) {
		struct ip6_hdr *ip = (struct ip6_hdr *)(eth + ETH_HLEN);

		ip->ip6_flow = htonl(6u << 28);
		ip->ip6_plen = htons((uint16_t)(len - ETH_HLEN - l3));
		ip->ip6_nxt = IPPROTO_TCP;
		ip->ip6_hlim = 64;
		ip->ip6_src = s6;
		ip->ip6_dst = d6;
		ps = sum16(&ip->ip6_src, 32, ps);
	} else {
		struct iphdr *ip = (struct iphdr *)(eth + ETH_HLEN);

		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)(len - ETH_HLEN));
		ip->id = htons(1);
		ip->frag_off = htons(0x4000);	/* DF */
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		ip->saddr = s4.s_addr;
		ip->daddr = d4.s_addr;
		ip->check = csum(ip, sizeof(*ip));
		ps = sum16(&ip->saddr, 8, ps);
	}
	th = (struct tcphdr *)(eth + ETH_HLEN + l3);
	th->source = htons(40000);
	th->dest = htons(5001);
	th->seq = htonl(1);
	th->ack_seq = htonl(1);
	th->doff = sizeof(*th) / 4;
	th->ack = 1;
	th->psh = 1;
	th->window = htons(65535);
	th->check = htons((uint16_t)ps);
	payload(eth + hl, len - hl, 0);

	sll.sll_ifindex = (int)if_nametoindex(argv[0]);
	sll.sll_protocol = htons(v6 ? ETH_P_IPV6 : ETH_P_IP);
	memcpy(sll.sll_addr, eth, 6);
	n = sendto(fd, buf, sizeof(*vh) + len, 0, (struct sockaddr *)&sll,
		   sizeof(sll));
	if (n < 0)
		return die("sendto: %s", strerror(errno));
	if ((size_t)n != sizeof(*vh) + len)
		return die("%s", "sendto: short write");
	close(fd);
	printf("gso: one TCP/IPv%d frame of %zu bytes (%zu of headers, %zu of "
	       "payload, MSS %lu: %zu segments) sent on %s\n",
	       v6 ? 6 : 4, len, hl, len - hl, mss, (len - hl + mss - 1) / mss,
	       argv[0]);
	return 0;
}

/* the transfers' pattern: byte i is byte i % 8 of splitmix64(i / 8) */
static uint8_t
pattern_byte(uint64_t i)
{
	uint64_t z = (i >> 3) * 0x9e3779b97f4a7c15ULL + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (uint8_t)(z >> ((i & 7) * 8));
}

static void
pattern(uint8_t *p, size_t len, uint64_t off)
{
	for (size_t k = 0; k < len; k++)
		p[k] = pattern_byte(off + k);
}

/* ADDR PORT as a socket address (IPv4 or IPv6); its length, 0 if bad */
static socklen_t
tcp_addr(const char *addr, const char *port, struct sockaddr_in6 *sa)
{
	unsigned long p = strtoul(port, NULL, 0);
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;

	memset(sa, 0, sizeof(*sa));
	if (p == 0 || p > 65535)
		return 0;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, addr, &sa->sin6_addr) == 1) {
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons((uint16_t)p);
		return sizeof(*sa);
	}
	return 0;
}

/* wait for fd to be ready for events until the deadline: 1 ready, 0 not */
static int
wait_fd(int fd, short events, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	double left = deadline - now();

	if (left <= 0)
		return 0;
	return poll(&pfd, 1, (int)(left * 1000) + 1) > 0;
}

#define TCP_CHUNK (256 * 1024)

static int
cmd_tcprecv(int argc, char **argv)
{
	struct sockaddr_in6 sa;
	socklen_t sl = tcp_addr(argv[0], argv[1], &sa);
	uint64_t want = strtoull(argv[2], NULL, 0), got = 0, bad = 0;
	uint64_t first_bad = 0;
	double deadline = now() + strtod(argv[3], NULL), t0 = 0, t;
	uint8_t *buf = malloc(TCP_CHUNK);
	int one = 1, lfd, fd;
	bool eof = false;

	(void)argc;
	if (sl == 0)
		return die("bad address or port %s", argv[0]);
	if (buf == NULL)
		return die("%s", "out of memory");
	lfd = socket(sa.sin6_family, SOCK_STREAM, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sl) < 0 || listen(lfd, 1) < 0)
		return die("listen: %s", strerror(errno));
	printf("tcprecv: listening on %s port %s\n", argv[0], argv[1]);
	fflush(stdout);
	if (!wait_fd(lfd, POLLIN, deadline))
		return die("%s", "tcprecv: no connection in time");
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return die("accept: %s", strerror(errno));
	t0 = now();
	while (!eof && wait_fd(fd, POLLIN, deadline)) {
		ssize_t n = recv(fd, buf, TCP_CHUNK, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "vmtool: recv: %s\n", strerror(errno));
			break;
		}
		eof = n == 0;
		for (ssize_t k = 0; k < n; k++) {
			if (buf[k] == pattern_byte(got + (uint64_t)k))
				continue;
			if (bad++ == 0) {
				first_bad = got + (uint64_t)k;
				fprintf(stderr,
					"vmtool: tcprecv: byte %llu is 0x%02x,"
					" expected 0x%02x\n",
					(unsigned long long)first_bad, buf[k],
					pattern_byte(first_bad));
			}
		}
		got += (uint64_t)n;
	}
	t = now() - t0;
	close(fd);
	close(lfd);
	printf("tcprecv: %llu bytes in %.2f s (%.2f MB/s)%s, %llu wrong",
	       (unsigned long long)got, t, t > 0 ? got / t / 1e6 : 0.0,
	       eof ? "" : ", no end (timed out)", (unsigned long long)bad);
	if (bad)
		printf(" (first at byte %llu)", (unsigned long long)first_bad);
	printf("\n");
	return eof && got == want && bad == 0 ? 0 : 1;
}

static int
cmd_tcpsend(int argc, char **argv)
{
	struct sockaddr_in6 sa;
	socklen_t sl = tcp_addr(argv[0], argv[1], &sa);
	uint64_t want = strtoull(argv[2], NULL, 0), sent = 0;
	double deadline = now() + strtod(argv[3], NULL), t0, t;
	uint8_t *buf = malloc(TCP_CHUNK);
	bool closed = false;
	int fd = -1;

	(void)argc;
	if (sl == 0)
		return die("bad address or port %s", argv[0]);
	if (buf == NULL)
		return die("%s", "out of memory");
	/* the receiver may not listen yet: retried */
	for (;;) {
		fd = socket(sa.sin6_family, SOCK_STREAM, 0);
		if (fd < 0)
			return die("socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&sa, sl) == 0)
			break;
		close(fd);
		if (now() > deadline)
			return die("connect: %s", strerror(errno));
		usleep(100000);
	}
	t0 = now();
	while (sent < want && wait_fd(fd, POLLOUT, deadline)) {
		size_t len = want - sent < TCP_CHUNK ? (size_t)(want - sent) :
						       TCP_CHUNK;
		ssize_t n;

		pattern(buf, len, sent);
		n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "vmtool: send: %s\n", strerror(errno));
			break;
		}
		sent += (uint64_t)n;
	}
	/* our end, then the receiver's close: all of it taken */
	shutdown(fd, SHUT_WR);
	while (sent == want && wait_fd(fd, POLLIN, deadline)) {
		ssize_t n = recv(fd, buf, TCP_CHUNK, 0);

		if (n <= 0) {
			closed = n == 0;
			break;
		}
	}
	t = now() - t0;
	close(fd);
	printf("tcpsend: %llu bytes in %.2f s (%.2f MB/s)%s\n",
	       (unsigned long long)sent, t, t > 0 ? sent / t / 1e6 : 0.0,
	       closed ? ", closed by the receiver" :
			", not closed (timed out)");
	return sent == want && closed ? 0 : 1;
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
	if (argc >= 3 && strcmp(argv[1], "rings") == 0)
		return cmd_rings(argc - 2, argv + 2);
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
	if (argc >= 3 && strcmp(argv[1], "features") == 0)
		return cmd_features(argc - 2, argv + 2);
	if (argc >= 8 && strcmp(argv[1], "gso") == 0)
		return cmd_gso(argc - 2, argv + 2);
	if (argc >= 6 && strcmp(argv[1], "tcprecv") == 0)
		return cmd_tcprecv(argc - 2, argv + 2);
	if (argc >= 6 && strcmp(argv[1], "tcpsend") == 0)
		return cmd_tcpsend(argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "cmos") == 0)
		return cmd_cmos(argc - 2, argv + 2);
	fprintf(stderr,
		"usage: vmtool channels IFACE [N] | rings IFACE [RX TX] |"
		" stats IFACE [NAME...] |"
		" echo DST COUNT SIZE [WINDOW] | arp IFACE IP MAC | xdp IFACE on|off |"
		" udpecho DST PORT COUNT SIZE | features IFACE [NAME[=on|off]...] |"
		" gso IFACE DSTMAC SRCIP DSTIP LEN MSS |"
		" tcprecv ADDR PORT BYTES SECONDS |"
		" tcpsend ADDR PORT BYTES SECONDS | cmos INDEX [VALUE]\n");
	return 2;
}
