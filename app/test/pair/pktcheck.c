/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * pktcheck: generator and verifier of checked packets on one ethdev port,
 * for the integration tests of the net_vfio_user / net_virtio_vfio_user
 * pair. The PMDs are loaded like any application would (-d, --vdev): this
 * program uses the ethdev API only.
 *
 * Every packet is an Ethernet frame (ethertype 0x88b5) carrying a header
 * with a per-queue sequence number, the sender's stream id and session,
 * the frame length, and a CRC (rte_hash_crc) over the rest of the header
 * and a pseudo-random payload. The receiver checks, per queue: no loss
 * (no sequence gap, nothing missing at the end), no corruption (CRC,
 * length, mbuf chain), order (sequence), and that the packet came in on
 * the queue it was sent on.
 *
 * Everything runs on the main lcore, polling every queue (or, with
 * --rx-intr, sleeping on the rx interrupts when there is nothing to do):
 * the tests pin two such processes to different CPUs with -l.
 *
 *   pktcheck <EAL args> -- --queues 2 --tx 500000 --rx 500000 \
 *       --stream 1 --peer-stream 2 --max-size 9000 --wait
 *
 * Transmission never drops: what the port does not take is retried. Lines
 * printed for the test scripts: "LINK UP", "CHECKPOINT ...", "DONE ...",
 * then one "TX" and one "RX" summary line; exit status 0 only if the
 * targets were met without any error.
 *
 * For a device that moves between backends (test_migration.sh):
 * --multi-session checks several senders' sessions independently (the
 * frontend receives from backend A's session and from B's);
 * --allow-gaps accepts forward jumps of the sequence (the frames in
 * between went to the other backend) and prints each unbroken run of
 * sequence numbers with the time of its first and last frame ("RUN"
 * lines, CLOCK_MONOTONIC microseconds), so that the runs of all receivers
 * can be checked to tile the sequence exactly; SIGUSR1 stops sending;
 * --idle-us sleeps when nothing moved (several pollers on few CPUs).
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_epoll.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_random.h>

#define PC_ETHERTYPE	0x88b5	/* local experimental */
#define PC_MAGIC	0x4b484350u	/* "PCHK" */
#define PC_MAX_QUEUES	16
#define PC_BURST	32
#define PC_MIN_SIZE	64
#define PC_MAX_SIZE	9000
#define PC_SMALL_ROOM	RTE_MBUF_DEFAULT_DATAROOM	/* 2048 */
#define PC_BIG_ROOM	10240				/* one jumbo mbuf */
#define PC_RND_SIZE	(1 << 16)
#define PC_NB_DESC	1024
#define PC_MAX_SESS	8	/* --multi-session */
#define PC_NGAPS	5	/* largest rx gaps reported */

/* After the Ethernet header. The CRC covers everything after its field. */
struct pc_hdr {
	uint32_t magic;
	uint32_t crc;
	uint32_t session;	/* random per sender run */
	uint16_t queue;
	uint8_t stream;		/* sender id */
	uint8_t flags;
	uint32_t len;		/* frame length */
	uint32_t rsvd;
	uint64_t seq;		/* per queue, from 0 */
} __rte_packed;

#define PC_HDR_OFF	((uint32_t)sizeof(struct rte_ether_hdr))
#define PC_CRC_OFF	(PC_HDR_OFF + 8)	/* first byte under the CRC */
#define PC_HEAD_LEN	(PC_HDR_OFF + (uint32_t)sizeof(struct pc_hdr))

struct txq {
	uint64_t sent, bytes, retries;
	uint64_t seq;
	uint64_t t_first, t_last;
	struct rte_mbuf *pend[PC_BURST];
	uint32_t pend_len[PC_BURST];	/* the port may change pkt_len */
	uint16_t npend, done_idx;
};

/* An unbroken run of sequence numbers (--allow-gaps). */
struct run {
	uint64_t first, last;
	uint64_t t0, t1;	/* CLOCK_MONOTONIC us of its first, last frame */
};

/* One sender's session as a queue sees it (--multi-session). */
struct sess {
	uint32_t id;
	uint64_t next_seq, pkts, bytes;
};

struct rxq {
	uint64_t pkts, bytes, next_seq;
	uint64_t lost, corrupt, order, badlen, malformed, foreign, misrouted;
	uint64_t gaps;		/* --allow-gaps: forward jumps */
	uint64_t t_first, t_last;
	uint32_t session;
	bool have_session;
	struct sess sess[PC_MAX_SESS];
	unsigned int nsess;
	struct run *runs;	/* closed runs */
	unsigned int nruns;
	struct run cur;		/* the open run (if pkts > 0) */
};

static struct {
	/* options */
	uint16_t queues;
	int64_t tx_target;	/* per queue; -1: until stopped */
	uint64_t rx_target;	/* per queue; 0: do not count */
	uint64_t checkpoint;	/* per queue */
	uint8_t stream, peer_stream;
	bool loopback;
	bool wait;		/* stay until a signal once done */
	uint32_t min_size, max_size;
	uint64_t window;	/* loopback: at most this many in flight/queue */
	double pps;		/* per queue, 0: no pacing */
	unsigned int timeout_s, link_timeout_s, progress_s;
	unsigned int start_delay_ms;	/* between probe and port start */
	bool rx_intr;		/* sleep on rx interrupts when idle */
	bool multi;		/* --multi-session */
	bool allow_gaps;	/* --allow-gaps */
	unsigned int idle_us;	/* --idle-us */
	uint64_t seed;
	const char *name;

	/* state */
	uint16_t port;
	uint32_t session;
	uint64_t rng;
	struct rte_mempool *rx_mp, *tx_mp, *big_mp;
	uint8_t *rnd;
	struct rte_ether_addr mac;
	struct txq tx[PC_MAX_QUEUES];
	struct rxq rx[PC_MAX_QUEUES];
	uint64_t alloc_fail;
	uint64_t intr_wakeups, intr_timeouts;
	uint64_t rx_us;			/* CLOCK_MONOTONIC of this rx burst */
	uint64_t last_rx;		/* TSC of the last frame received */
	uint64_t gap[PC_NGAPS];		/* largest gaps between frames */
} pc = {
	.queues = 1,
	.tx_target = 0,
	.stream = 1,
	.peer_stream = 2,
	.min_size = PC_MIN_SIZE,
	.max_size = 1514,
	.timeout_s = 120,
	.link_timeout_s = 30,
	.seed = 1,
	.name = "pktcheck",
};

static volatile sig_atomic_t quit;
static volatile sig_atomic_t tx_stop;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		tx_stop = 1;	/* stop sending, go on receiving */
	else
		quit = 1;
}


/* xorshift64*: reproducible sizes and splits from --seed */
static inline uint64_t
rnd64(void)
{
	pc.rng ^= pc.rng >> 12;
	pc.rng ^= pc.rng << 25;
	pc.rng ^= pc.rng >> 27;
	return pc.rng * 0x2545f4914f6cdd1dULL;
}

static inline uint32_t
rnd_range(uint32_t lo, uint32_t hi)
{
	return lo + (uint32_t)(rnd64() % ((uint64_t)hi - lo + 1));
}

/* Mostly small frames, some up to the maximum, the two bounds often. */
static uint32_t
pick_size(void)
{
	uint32_t lo = pc.min_size, hi = pc.max_size, mid;
	uint32_t r = (uint32_t)(rnd64() % 100);

	mid = RTE_MIN(hi, RTE_MAX(lo, 1514u));
	if (r < 5)
		return lo;
	if (r < 10)
		return hi;
	if (r < 45)
		return rnd_range(lo, RTE_MIN(hi, lo + 64));
	if (r < 80)
		return rnd_range(lo, mid);
	return rnd_range(mid, hi);
}

/*
 * rte_hash_crc() over any bytes: it loads 8 bytes at a time, so the start
 * is aligned byte by byte first (CRC32C is the same whatever the chunks).
 */
static uint32_t
crc_bytes(const uint8_t *p, uint32_t len, uint32_t crc)
{
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = rte_hash_crc_1byte(*p++, crc);
		len--;
	}
	return len > 0 ? rte_hash_crc(p, len, crc) : crc;
}

static double
secs(uint64_t cycles)
{
	return (double)cycles / (double)rte_get_tsc_hz();
}

/* ---- transmit ---- */

/* Copy len bytes of src into the chain starting at byte off of it. */
static void
chain_write(struct rte_mbuf *m, uint32_t off, const uint8_t *src, uint32_t len)
{
	for (; m != NULL && len > 0; m = m->next) {
		uint32_t k;

		if (off >= m->data_len) {
			off -= m->data_len;
			continue;
		}
		k = RTE_MIN(len, (uint32_t)m->data_len - off);
		memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, off), src, k);
		src += k;
		len -= k;
		off = 0;
	}
}

/* An empty chain of mbufs holding len bytes; NULL if out of mbufs. */
static struct rte_mbuf *
chain_alloc(uint32_t len, uint64_t seq)
{
	struct rte_mbuf *head, *m, *prev = NULL;

	if (len <= PC_SMALL_ROOM || ((seq & 1) && pc.big_mp != NULL)) {
		head = rte_pktmbuf_alloc(len <= PC_SMALL_ROOM ? pc.tx_mp :
					 pc.big_mp);
		if (head == NULL)
			return NULL;
		rte_pktmbuf_append(head, (uint16_t)len);
		return head;
	}
	/* segments of random sizes: the PMDs must cope with any split */
	head = NULL;
	while (len > 0) {
		uint32_t k = RTE_MIN(len, rnd_range(256, PC_SMALL_ROOM));

		if (head == NULL)
			k = RTE_MAX(k, RTE_MIN(len, PC_HEAD_LEN));
		m = rte_pktmbuf_alloc(pc.tx_mp);
		if (m == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		m->data_len = (uint16_t)k;
		if (head == NULL) {
			head = m;
		} else {
			prev->next = m;
			head->nb_segs++;
		}
		head->pkt_len += k;
		prev = m;
		len -= k;
	}
	return head;
}

static struct rte_mbuf *
make_pkt(uint16_t q, uint64_t seq)
{
	uint8_t head[PC_HEAD_LEN];
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)head;
	struct pc_hdr *h = (struct pc_hdr *)(head + PC_HDR_OFF);
	uint32_t len = pick_size(), plen = len - PC_HEAD_LEN;
	uint32_t roff = (uint32_t)((seq * 2654435761u + q * 7919u) &
				   (PC_RND_SIZE - 1));
	struct rte_mbuf *m;

	m = chain_alloc(len, seq);
	if (m == NULL)
		return NULL;
	memset(&eh->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	rte_ether_addr_copy(&pc.mac, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(PC_ETHERTYPE);
	h->magic = PC_MAGIC;
	h->session = pc.session;
	h->queue = q;
	h->stream = pc.stream;
	h->flags = 0;
	h->len = len;
	h->rsvd = 0;
	h->seq = seq;
	h->crc = crc_bytes(head + PC_CRC_OFF, PC_HEAD_LEN - PC_CRC_OFF,
			   0xffffffff);
	h->crc = crc_bytes(pc.rnd + roff, plen, h->crc);
	chain_write(m, 0, head, PC_HEAD_LEN);
	chain_write(m, PC_HEAD_LEN, pc.rnd + roff, plen);
	return m;
}

/* Send what is pending on queue q, then prepare more if allowed; returns
 * how many the port took. */
static uint16_t
do_tx(uint16_t q, uint64_t now, uint64_t start)
{
	struct txq *t = &pc.tx[q];
	uint16_t n, want;

	if (t->npend == 0) {
		uint64_t limit = pc.tx_target < 0 ? UINT64_MAX :
			(uint64_t)pc.tx_target;

		want = (uint16_t)RTE_MIN((uint64_t)PC_BURST, limit - t->seq);
		if (pc.loopback && pc.window > 0) {
			uint64_t inflight = t->seq > pc.rx[q].next_seq ?
				t->seq - pc.rx[q].next_seq : 0;

			want = inflight >= pc.window ? 0 :
				(uint16_t)RTE_MIN((uint64_t)want,
						  pc.window - inflight);
		}
		if (pc.pps > 0) {
			/* pace: no more than pps * elapsed sent so far */
			double allowed = pc.pps * secs(now - start) + PC_BURST;

			if ((double)t->seq >= allowed)
				want = 0;
			else
				want = (uint16_t)RTE_MIN((double)want,
						allowed - (double)t->seq);
		}
		for (n = 0; n < want; n++) {
			struct rte_mbuf *m = make_pkt(q, t->seq);

			if (m == NULL) {
				pc.alloc_fail++;
				break;
			}
			t->pend[n] = m;
			t->pend_len[n] = m->pkt_len;
			t->seq++;
		}
		t->npend = n;
		t->done_idx = 0;
	}
	if (t->npend == t->done_idx)
		return 0;
	n = rte_eth_tx_burst(pc.port, q, &t->pend[t->done_idx],
			     (uint16_t)(t->npend - t->done_idx));
	if (n > 0) {
		/* the mbufs are the port's now: lengths from before */
		for (uint16_t i = 0; i < n; i++)
			t->bytes += t->pend_len[t->done_idx + i];
		if (t->sent == 0)
			t->t_first = now;
		t->t_last = now;
		t->sent += n;
		t->done_idx = (uint16_t)(t->done_idx + n);
	}
	if (t->done_idx < t->npend)
		t->retries++;	/* ring full: kept, sent again next time */
	else
		t->npend = t->done_idx = 0;
	return n;
}

/* ---- receive ---- */

/* CRC of the bytes of the chain from off to its end. */
static uint32_t
chain_crc(const struct rte_mbuf *m, uint32_t off)
{
	uint32_t crc = 0xffffffff;

	for (; m != NULL; m = m->next) {
		if (off >= m->data_len) {
			off -= m->data_len;
			continue;
		}
		crc = crc_bytes(rte_pktmbuf_mtod_offset(m, const uint8_t *, off),
				m->data_len - off, crc);
		off = 0;
	}
	return crc;
}

static bool
chain_ok(const struct rte_mbuf *m)
{
	const struct rte_mbuf *s;
	uint32_t len = 0;
	uint16_t n = 0;

	for (s = m; s != NULL; s = s->next) {
		len += s->data_len;
		n++;
	}
	return len == m->pkt_len && n == m->nb_segs;
}

static void
report(const char *what, uint16_t q, uint64_t seq, const char *detail)
{
	static unsigned int reported;

	if (reported++ < 20)
		printf("%s: ERROR rx queue %u seq %" PRIu64 ": %s%s\n", pc.name,
		       q, seq, what, detail);
}

/* Keep the current run (--allow-gaps) among the closed ones. */
static void
run_close(struct rxq *r)
{
	struct run *n = realloc(r->runs, (r->nruns + 1) * sizeof(*n));

	if (n == NULL) {
		r->malformed++;	/* counted as an error: runs are the proof */
		return;
	}
	r->runs = n;
	r->runs[r->nruns++] = r->cur;
}

static void
check_pkt(uint16_t q, struct rte_mbuf *m, uint64_t now)
{
	struct rxq *r = &pc.rx[q];
	uint64_t *next = &r->next_seq;
	struct sess *ss = NULL;
	bool new_run = false;
	struct pc_hdr hb;
	const struct pc_hdr *h;
	const struct rte_ether_hdr *eh;
	struct rte_ether_hdr eb;
	char d[96];

	if (!chain_ok(m)) {
		r->malformed++;
		report("bad mbuf chain", q, r->next_seq, "");
		return;
	}
	eh = rte_pktmbuf_read(m, 0, sizeof(eb), &eb);
	h = rte_pktmbuf_read(m, PC_HDR_OFF, sizeof(hb), &hb);
	if (m->pkt_len < PC_HEAD_LEN || eh == NULL || h == NULL ||
	    eh->ether_type != rte_cpu_to_be_16(PC_ETHERTYPE) ||
	    h->magic != PC_MAGIC) {
		r->malformed++;
		snprintf(d, sizeof(d), " (len %u)", m->pkt_len);
		report("not a pktcheck frame", q, r->next_seq, d);
		return;
	}
	if (h->len != m->pkt_len) {
		r->badlen++;
		snprintf(d, sizeof(d), " (%u bytes, %u sent)", m->pkt_len, h->len);
		report("length", q, h->seq, d);
		return;
	}
	if (chain_crc(m, PC_CRC_OFF) != h->crc) {
		r->corrupt++;
		snprintf(d, sizeof(d), " (%u bytes, %u segments)", m->pkt_len,
			 m->nb_segs);
		report("CRC mismatch", q, h->seq, d);
		return;
	}
	if (h->stream != pc.peer_stream) {
		r->foreign++;	/* another sender */
		return;
	}
	if (pc.multi) {
		unsigned int i;

		for (i = 0; i < r->nsess && r->sess[i].id != h->session; i++)
			;
		if (i == r->nsess) {
			if (r->nsess == PC_MAX_SESS) {
				r->foreign++;
				return;
			}
			r->sess[r->nsess++].id = h->session;
		}
		ss = &r->sess[i];
		next = &ss->next_seq;
	} else if (r->have_session && h->session != r->session) {
		r->foreign++;	/* an earlier run */
		return;
	}
	if (!r->have_session) {
		r->session = h->session;
		r->have_session = true;
	}
	if (h->queue != q) {
		r->misrouted++;
		snprintf(d, sizeof(d), " (sent on queue %u)", h->queue);
		report("wrong queue", q, h->seq, d);
		return;
	}
	if (h->seq != *next) {
		snprintf(d, sizeof(d), " (expected %" PRIu64 ")", *next);
		if (h->seq > *next && pc.allow_gaps) {
			/* the frames between went elsewhere: a new run */
			if (r->pkts > 0) {
				run_close(r);
				r->gaps++;
			}
			new_run = true;
		} else if (h->seq > *next) {
			r->lost += h->seq - *next;
			report("sequence gap", q, h->seq, d);
		} else {
			r->order++;
			report("out of order or duplicate", q, h->seq, d);
			return;
		}
	}
	*next = h->seq + 1;
	if (r->pkts == 0 || new_run) {
		r->cur.first = h->seq;
		r->cur.t0 = pc.rx_us;
	}
	r->cur.last = h->seq;
	r->cur.t1 = pc.rx_us;
	if (r->pkts == 0)
		r->t_first = now;
	r->t_last = now;
	r->pkts++;
	r->bytes += m->pkt_len;
	if (ss != NULL) {
		ss->pkts++;
		ss->bytes += m->pkt_len;
	}
}

static uint16_t
do_rx(uint16_t q, uint64_t now)
{
	struct rte_mbuf *pkts[PC_BURST];
	uint16_t n = rte_eth_rx_burst(pc.port, q, pkts, PC_BURST);

	if (n > 0 && (pc.multi || pc.allow_gaps)) {
		/* timestamps of runs (compared across processes: the clock,
		 * not this process's TSC frequency estimate) and gaps */
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		pc.rx_us = (uint64_t)ts.tv_sec * 1000000 +
			   (uint64_t)ts.tv_nsec / 1000;
		now = rte_rdtsc();
	}
	if (n > 0) {
		/* the largest silences between frames: a moving device's
		 * downtime shows there */
		uint64_t gap = pc.last_rx ? now - pc.last_rx : 0;

		for (int i = 0; i < PC_NGAPS; i++) {
			if (gap > pc.gap[i]) {
				uint64_t t = pc.gap[i];

				pc.gap[i] = gap;
				gap = t;
			}
		}
		pc.last_rx = now;
	}
	for (uint16_t i = 0; i < n; i++) {
		check_pkt(q, pkts[i], now);
		rte_pktmbuf_free(pkts[i]);
	}
	return n;
}

/*
 * Nothing to send and nothing came for a while: sleep until a queue's
 * interrupt (or 100 ms). Interrupts on first, then one more poll for what
 * came before they were on.
 */
static void
rx_sleep(uint64_t now)
{
	struct rte_epoll_event ev[PC_MAX_QUEUES];
	uint16_t got = 0;
	int n = 0;

	for (uint16_t q = 0; q < pc.queues; q++)
		rte_eth_dev_rx_intr_enable(pc.port, q);
	for (uint16_t q = 0; q < pc.queues; q++)
		got = (uint16_t)(got + do_rx(q, now));
	if (got == 0)
		n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, PC_MAX_QUEUES, 100);
	for (uint16_t q = 0; q < pc.queues; q++)
		rte_eth_dev_rx_intr_disable(pc.port, q);
	if (n > 0)
		pc.intr_wakeups++;
	else if (got == 0)
		pc.intr_timeouts++;
}

/* ---- totals ---- */

struct totals {
	uint64_t tx_pkts, tx_bytes, tx_retries, tx_t0, tx_t1;
	uint64_t rx_pkts, rx_bytes, rx_t0, rx_t1, missing;
	uint64_t lost, corrupt, order, badlen, malformed, foreign, misrouted;
	uint64_t errors;
};

static void
totals(struct totals *t)
{
	memset(t, 0, sizeof(*t));
	t->tx_t0 = t->rx_t0 = UINT64_MAX;
	for (uint16_t q = 0; q < pc.queues; q++) {
		const struct txq *x = &pc.tx[q];
		const struct rxq *r = &pc.rx[q];

		t->tx_pkts += x->sent;
		t->tx_bytes += x->bytes;
		t->tx_retries += x->retries;
		if (x->sent) {
			t->tx_t0 = RTE_MIN(t->tx_t0, x->t_first);
			t->tx_t1 = RTE_MAX(t->tx_t1, x->t_last);
		}
		t->rx_pkts += r->pkts;
		t->rx_bytes += r->bytes;
		if (r->pkts) {
			t->rx_t0 = RTE_MIN(t->rx_t0, r->t_first);
			t->rx_t1 = RTE_MAX(t->rx_t1, r->t_last);
		}
		if (pc.rx_target > r->next_seq && !pc.multi)
			t->missing += pc.rx_target - r->next_seq;
		t->lost += r->lost;
		t->corrupt += r->corrupt;
		t->order += r->order;
		t->badlen += r->badlen;
		t->malformed += r->malformed;
		t->foreign += r->foreign;
		t->misrouted += r->misrouted;
	}
	t->lost += t->missing;
	t->errors = t->lost + t->corrupt + t->order + t->badlen + t->malformed +
		t->misrouted + (pc.loopback ? 0 : t->foreign);
}

static bool
rx_complete(void)
{
	for (uint16_t q = 0; q < pc.queues; q++)
		if (pc.rx[q].next_seq < pc.rx_target)
			return false;
	return true;
}

/* All sent (nothing to send counts); never when sending until stopped. */
static bool
tx_complete(void)
{
	if (tx_stop)
		return true;	/* SIGUSR1: what was sent is all */
	if (pc.tx_target < 0)
		return false;
	for (uint16_t q = 0; q < pc.queues; q++)
		if (pc.tx[q].sent < (uint64_t)pc.tx_target)
			return false;
	return true;
}

static bool
checkpoint_reached(void)
{
	for (uint16_t q = 0; q < pc.queues; q++)
		if (pc.rx[q].pkts < pc.checkpoint)
			return false;
	return true;
}

static void
rate(char *buf, size_t len, uint64_t pkts, uint64_t bytes, uint64_t t0,
     uint64_t t1)
{
	double s = t1 > t0 ? secs(t1 - t0) : 0;

	if (s <= 0 || pkts < 2)
		snprintf(buf, len, "- Mpps");
	else
		snprintf(buf, len, "%.3f Mpps %.2f Gbit/s in %.2f s",
			 (double)pkts / s / 1e6, (double)bytes * 8 / s / 1e9, s);
}

/* The sum of the port's data queues' xstats rx_q*_kicks and tx_q*_kicks
 * (net_vfio_user: doorbells that came as messages; its frontend:
 * doorbells rung), 0 without. */
static uint64_t
xstats_kicks(void)
{
	struct rte_eth_xstat_name *names = NULL;
	struct rte_eth_xstat *xs = NULL;
	uint64_t sum = 0;
	int n = rte_eth_xstats_get_names(pc.port, NULL, 0);

	if (n > 0) {
		names = calloc((size_t)n, sizeof(*names));
		xs = calloc((size_t)n, sizeof(*xs));
	}
	if (names != NULL && xs != NULL &&
	    rte_eth_xstats_get_names(pc.port, names, (unsigned int)n) == n &&
	    rte_eth_xstats_get(pc.port, xs, (unsigned int)n) == n) {
		for (int i = 0; i < n; i++) {
			const char *nm = names[xs[i].id].name;
			size_t len = strlen(nm);

			if ((strncmp(nm, "rx_q", 4) == 0 ||
			     strncmp(nm, "tx_q", 4) == 0) &&
			    len >= 6 && strcmp(nm + len - 6, "_kicks") == 0)
				sum += xs[i].value;
		}
	}
	free(names);
	free(xs);
	return sum;
}

static void
summary(bool timed_out)
{
	struct rte_eth_stats st;
	struct totals t;
	char r[96];

	totals(&t);
	if (pc.tx_target != 0) {
		rate(r, sizeof(r), t.tx_pkts, t.tx_bytes, t.tx_t0, t.tx_t1);
		printf("%s: TX stream %u: packets %" PRIu64 " bytes %" PRIu64
		       " retries %" PRIu64 " nombuf %" PRIu64 " %s\n", pc.name,
		       pc.stream, t.tx_pkts, t.tx_bytes, t.tx_retries,
		       pc.alloc_fail, r);
	}
	if (pc.rx_target > 0 || pc.loopback || pc.multi || pc.allow_gaps) {
		rate(r, sizeof(r), t.rx_pkts, t.rx_bytes, t.rx_t0, t.rx_t1);
		printf("%s: RX stream %u: packets %" PRIu64 " bytes %" PRIu64
		       " errors %" PRIu64 " (lost %" PRIu64 " corrupt %" PRIu64
		       " order %" PRIu64 " length %" PRIu64 " malformed %" PRIu64
		       " misrouted %" PRIu64 " foreign %" PRIu64 ") %s\n",
		       pc.name, pc.peer_stream, t.rx_pkts, t.rx_bytes, t.errors,
		       t.lost, t.corrupt, t.order, t.badlen, t.malformed,
		       t.misrouted, t.foreign, r);
		for (uint16_t q = 0; q < pc.queues; q++)
			printf("%s:   rx queue %u: packets %" PRIu64 " next seq %"
			       PRIu64 "%s\n", pc.name, q, pc.rx[q].pkts,
			       pc.rx[q].next_seq,
			       pc.rx[q].next_seq < pc.rx_target ? " (incomplete)" :
			       "");
	}
	if (pc.tx_target != 0) {
		printf("%s: TX session %08x\n", pc.name, pc.session);
		for (uint16_t q = 0; q < pc.queues; q++)
			printf("%s:   tx queue %u: packets %" PRIu64 "\n",
			       pc.name, q, pc.tx[q].sent);
	}
	for (uint16_t q = 0; pc.multi && q < pc.queues; q++)
		for (unsigned int i = 0; i < pc.rx[q].nsess; i++)
			printf("%s:   rx queue %u session %08x: packets %" PRIu64
			       " bytes %" PRIu64 " next seq %" PRIu64 "\n",
			       pc.name, q, pc.rx[q].sess[i].id,
			       pc.rx[q].sess[i].pkts, pc.rx[q].sess[i].bytes,
			       pc.rx[q].sess[i].next_seq);
	for (uint16_t q = 0; pc.allow_gaps && q < pc.queues; q++) {
		struct rxq *r = &pc.rx[q];

		if (r->pkts > 0)
			run_close(r);	/* the open one (summary runs once) */
		for (unsigned int i = 0; i < r->nruns; i++)
			printf("%s: RUN queue %u seq %" PRIu64 " %" PRIu64
			       " time %" PRIu64 " %" PRIu64 "\n",
			       pc.name, q, r->runs[i].first, r->runs[i].last,
			       r->runs[i].t0, r->runs[i].t1);
	}
	if (pc.multi || pc.allow_gaps) {
		printf("%s: rx gaps (largest, us):", pc.name);
		for (int i = 0; i < PC_NGAPS; i++)
			printf(" %.0f", secs(pc.gap[i]) * 1e6);
		printf("\n");
	}
	if (rte_eth_stats_get(pc.port, &st) == 0)
		printf("%s: port stats: ipackets %" PRIu64 " opackets %" PRIu64
		       " imissed %" PRIu64 " ierrors %" PRIu64 " oerrors %" PRIu64
		       " rx_nombuf %" PRIu64 "\n", pc.name, st.ipackets,
		       st.opackets, st.imissed, st.ierrors, st.oerrors,
		       st.rx_nombuf);
	if (pc.rx_intr)
		printf("%s: rx interrupts: %" PRIu64 " wakeups, %" PRIu64
		       " timeouts, %" PRIu64 " kicks\n",
		       pc.name, pc.intr_wakeups, pc.intr_timeouts,
		       xstats_kicks());
	if (timed_out)
		printf("%s: TIMEOUT after %u s\n", pc.name, pc.timeout_s);
	fflush(stdout);
}

static void
print_state(const char *tag)
{
	struct totals t;

	totals(&t);
	printf("%s: %s tx %" PRIu64 " rx %" PRIu64 " errors %" PRIu64
	       " foreign %" PRIu64, pc.name, tag, t.tx_pkts, t.rx_pkts,
	       t.errors, t.foreign);
	for (uint16_t q = 0; q < pc.queues; q++)
		printf(" q%u=%" PRIu64 "/%" PRIu64, q, pc.tx[q].sent,
		       pc.rx[q].pkts);
	printf("\n");
	fflush(stdout);
}

/* ---- setup ---- */

static void
usage(const char *prog)
{
	printf("usage: %s <EAL args> -- [options]\n"
	       "  --queues N          queue pairs to use (1-%u)\n"
	       "  --tx N              packets to send per queue (-1: until "
	       "stopped)\n"
	       "  --rx N              packets expected per queue\n"
	       "  --stream ID         our stream id (1-255)\n"
	       "  --peer-stream ID    the stream id we expect to receive\n"
	       "  --loopback          receive our own packets back (peer "
	       "stream = ours, foreign ones tolerated)\n"
	       "  --window N          loopback: at most N in flight per queue\n"
	       "  --checkpoint N      print CHECKPOINT when N per queue received\n"
	       "  --min-size B        smallest frame (default 64)\n"
	       "  --max-size B        largest frame (default 1514, at most %u)\n"
	       "  --pps R             pace each queue to R packets/s\n"
	       "  --wait              once done, stay until SIGINT/SIGTERM\n"
	       "  --timeout S         give up after S seconds (default 120)\n"
	       "  --link-timeout S    wait S seconds for link up (default 30)\n"
	       "  --progress S        print counters every S seconds\n"
	       "  --start-delay MS    wait MS ms before starting the port\n"
	       "  --rx-intr           when idle, sleep on rx interrupts\n"
	       "  --multi-session     check each sender session on its own\n"
	       "  --allow-gaps        sequence jumps are runs, not losses\n"
	       "  --idle-us N         sleep N us when nothing moved\n"
	       "  --seed N            size/split sequence seed\n"
	       "  --name STR          label of the output lines\n",
	       prog, PC_MAX_QUEUES, PC_MAX_SIZE);
}

static int
parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || end == s || *end || *v < lo || *v > hi) ? -1 : 0;
}

static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "queues", required_argument, NULL, 'q' },
		{ "tx", required_argument, NULL, 't' },
		{ "rx", required_argument, NULL, 'r' },
		{ "stream", required_argument, NULL, 's' },
		{ "peer-stream", required_argument, NULL, 'S' },
		{ "loopback", no_argument, NULL, 'l' },
		{ "window", required_argument, NULL, 'w' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "min-size", required_argument, NULL, 'm' },
		{ "max-size", required_argument, NULL, 'M' },
		{ "pps", required_argument, NULL, 'p' },
		{ "wait", no_argument, NULL, 'W' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "link-timeout", required_argument, NULL, 'L' },
		{ "progress", required_argument, NULL, 'P' },
		{ "start-delay", required_argument, NULL, 'D' },
		{ "rx-intr", no_argument, NULL, 'I' },
		{ "multi-session", no_argument, NULL, 'U' },
		{ "allow-gaps", no_argument, NULL, 'G' },
		{ "idle-us", required_argument, NULL, 'Z' },
		{ "seed", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			if (parse_u64(optarg, 1, PC_MAX_QUEUES, &v) < 0)
				return -1;
			pc.queues = (uint16_t)v;
			break;
		case 't':
			if (strcmp(optarg, "-1") == 0)
				pc.tx_target = -1;
			else if (parse_u64(optarg, 0, INT64_MAX, &v) == 0)
				pc.tx_target = (int64_t)v;
			else
				return -1;
			break;
		case 'r':
			if (parse_u64(optarg, 0, UINT64_MAX, &pc.rx_target) < 0)
				return -1;
			break;
		case 's':
		case 'S':
			if (parse_u64(optarg, 1, 255, &v) < 0)
				return -1;
			if (c == 's')
				pc.stream = (uint8_t)v;
			else
				pc.peer_stream = (uint8_t)v;
			break;
		case 'l':
			pc.loopback = true;
			break;
		case 'w':
			if (parse_u64(optarg, 1, PC_NB_DESC, &pc.window) < 0)
				return -1;
			break;
		case 'c':
			if (parse_u64(optarg, 1, UINT64_MAX, &pc.checkpoint) < 0)
				return -1;
			break;
		case 'm':
		case 'M':
			if (parse_u64(optarg, PC_HEAD_LEN, PC_MAX_SIZE, &v) < 0)
				return -1;
			if (c == 'm')
				pc.min_size = (uint32_t)v;
			else
				pc.max_size = (uint32_t)v;
			break;
		case 'p':
			pc.pps = atof(optarg);
			if (pc.pps < 0)
				return -1;
			break;
		case 'W':
			pc.wait = true;
			break;
		case 'I':
			pc.rx_intr = true;
			break;
		case 'U':
			pc.multi = true;
			break;
		case 'G':
			pc.allow_gaps = true;
			break;
		case 'Z':
			if (parse_u64(optarg, 0, 100000, &v) < 0)
				return -1;
			pc.idle_us = (unsigned int)v;
			break;
		case 'T':
		case 'L':
		case 'P':
			if (parse_u64(optarg, 0, 86400, &v) < 0)
				return -1;
			if (c == 'T')
				pc.timeout_s = (unsigned int)v;
			else if (c == 'L')
				pc.link_timeout_s = (unsigned int)v;
			else
				pc.progress_s = (unsigned int)v;
			break;
		case 'D':
			if (parse_u64(optarg, 0, 60000, &v) < 0)
				return -1;
			pc.start_delay_ms = (unsigned int)v;
			break;
		case 'e':
			if (parse_u64(optarg, 0, UINT64_MAX, &pc.seed) < 0)
				return -1;
			break;
		case 'n':
			pc.name = optarg;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || pc.min_size > pc.max_size)
		return -1;
	if (pc.loopback)
		pc.peer_stream = pc.stream;
	return 0;
}

static int
port_setup(void)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint32_t mtu = RTE_MAX(pc.max_size - RTE_ETHER_HDR_LEN,
			       (uint32_t)RTE_ETHER_MTU);
	uint16_t port, n = 0, cur_mtu;
	int ret;

	RTE_ETH_FOREACH_DEV(port) {
		pc.port = port;
		n++;
	}
	if (n != 1) {
		printf("%s: %u ports, want exactly one (--vdev)\n", pc.name, n);
		return -ENODEV;
	}
	ret = rte_eth_dev_info_get(pc.port, &info);
	if (ret < 0)
		return ret;
	if (pc.queues > info.max_rx_queues || pc.queues > info.max_tx_queues) {
		printf("%s: the port has %u/%u queues, %u wanted (devarg "
		       "queues=)\n", pc.name, info.max_rx_queues,
		       info.max_tx_queues, pc.queues);
		return -EINVAL;
	}
	if (mtu > info.max_mtu) {
		printf("%s: frames of %u bytes need mtu %u, the port allows %u "
		       "(devarg mtu=)\n", pc.name, pc.max_size, mtu, info.max_mtu);
		return -EINVAL;
	}
	/* an MTU the port has that fits the frames stays: a driver that
	 * negotiated VIRTIO_NET_F_MTU before this configure (it may connect
	 * as soon as the socket is there) keeps net_vfio_user from changing
	 * it, and the configure would fail */
	if (rte_eth_dev_get_mtu(pc.port, &cur_mtu) == 0 && cur_mtu >= mtu)
		mtu = cur_mtu;
	conf.rxmode.mtu = mtu;
	conf.intr_conf.rxq = pc.rx_intr;
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	ret = rte_eth_dev_configure(pc.port, pc.queues, pc.queues, &conf);
	if (ret < 0)
		return ret;
	for (uint16_t q = 0; q < pc.queues; q++) {
		ret = rte_eth_rx_queue_setup(pc.port, q, PC_NB_DESC,
				rte_eth_dev_socket_id(pc.port), NULL, pc.rx_mp);
		if (ret == 0)
			ret = rte_eth_tx_queue_setup(pc.port, q, PC_NB_DESC,
				rte_eth_dev_socket_id(pc.port), NULL);
		if (ret < 0)
			return ret;
	}
	ret = rte_eth_macaddr_get(pc.port, &pc.mac);
	if (ret < 0)
		return ret;
	/* a device whose link comes up well after its driver attached */
	if (pc.start_delay_ms > 0)
		rte_delay_us_sleep(pc.start_delay_ms * 1000u);
	ret = rte_eth_dev_start(pc.port);
	for (uint16_t q = 0; ret == 0 && pc.rx_intr && q < pc.queues; q++) {
		ret = rte_eth_dev_rx_intr_ctl_q(pc.port, q, RTE_EPOLL_PER_THREAD,
				RTE_INTR_EVENT_ADD, (void *)(uintptr_t)q);
		if (ret < 0)
			printf("%s: rx queue %u: no interrupt: %s\n", pc.name, q,
			       strerror(-ret));
	}
	return ret;
}

static int
wait_link(void)
{
	uint64_t end = rte_get_timer_cycles() +
		(uint64_t)pc.link_timeout_s * rte_get_timer_hz();
	struct rte_eth_link link;

	while (!quit && rte_get_timer_cycles() < end) {
		if (rte_eth_link_get_nowait(pc.port, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP) {
			printf("%s: LINK UP\n", pc.name);
			fflush(stdout);
			return 0;
		}
		rte_delay_us_sleep(10000);
	}
	printf("%s: link still down after %u s\n", pc.name, pc.link_timeout_s);
	return -ETIMEDOUT;
}

static int
pools_create(void)
{
	/* rx rings stay full (one mbuf per descriptor) and jumbo frames come
	 * as chains: room for the rings plus a good margin */
	unsigned int nrx = RTE_MAX(8192u, 4u * PC_NB_DESC * pc.queues) - 1;
	unsigned int ntx = RTE_MAX(8192u, 4u * PC_NB_DESC * pc.queues) - 1;
	int sock = (int)rte_socket_id();

	pc.rx_mp = rte_pktmbuf_pool_create("pc_rx", nrx, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE, sock);
	pc.tx_mp = rte_pktmbuf_pool_create("pc_tx", ntx, 256, 0,
					   RTE_MBUF_DEFAULT_BUF_SIZE, sock);
	if (pc.max_size > PC_SMALL_ROOM)
		pc.big_mp = rte_pktmbuf_pool_create("pc_big", 2047, 64, 0,
				PC_BIG_ROOM + RTE_PKTMBUF_HEADROOM, sock);
	if (pc.rx_mp == NULL || pc.tx_mp == NULL ||
	    (pc.max_size > PC_SMALL_ROOM && pc.big_mp == NULL)) {
		printf("%s: cannot create mbuf pools: %s\n", pc.name,
		       rte_strerror(rte_errno));
		return -ENOMEM;
	}
	pc.rnd = rte_malloc("pc_rnd", PC_RND_SIZE + PC_MAX_SIZE, 0);
	if (pc.rnd == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < PC_RND_SIZE + PC_MAX_SIZE; i += 8) {
		uint64_t v = rnd64();

		memcpy(pc.rnd + i, &v, 8);
	}
	return 0;
}

static int
run(void)
{
	uint64_t hz = rte_get_tsc_hz(), start = rte_rdtsc(), now = start;
	uint64_t deadline = start + (uint64_t)pc.timeout_s * hz;
	uint64_t next_progress = start + (uint64_t)pc.progress_s * hz;
	bool done = false, checkpoint = false, timed_out = false;
	uint64_t last_moved = start;
	struct totals t;

	while (!quit) {
		unsigned int moved = 0;

		for (uint16_t q = 0; q < pc.queues; q++) {
			if (!done && pc.tx_target != 0 && !tx_stop)
				moved += do_tx(q, now, start);
			moved += do_rx(q, now);
		}
		now = rte_rdtsc();
		if (moved)
			last_moved = now;
		else if (pc.idle_us)
			rte_delay_us_sleep(pc.idle_us);
		/* nothing to send, nothing came for 20 us: sleep */
		if (pc.rx_intr && now - last_moved > hz / 50000 &&
		    tx_complete()) {
			rx_sleep(now);
			now = rte_rdtsc();
			last_moved = now;
		}
		if (pc.checkpoint && !checkpoint && checkpoint_reached()) {
			checkpoint = true;
			print_state("CHECKPOINT");
		}
		/* sending until stopped (--tx -1) is never done */
		if (!done && tx_complete() && rx_complete()) {
			done = true;
			print_state("DONE");
			if (!pc.wait)
				break;
		}
		if (pc.progress_s && now >= next_progress) {
			print_state("progress");
			next_progress = now + (uint64_t)pc.progress_s * hz;
		}
		if (now >= deadline) {
			timed_out = !done;
			break;
		}
	}
	/* what is still pending was never handed to the port */
	for (uint16_t q = 0; q < pc.queues; q++) {
		struct txq *x = &pc.tx[q];

		for (uint16_t i = x->done_idx; i < x->npend; i++)
			rte_pktmbuf_free(x->pend[i]);
		x->npend = x->done_idx = 0;
	}
	summary(timed_out);
	totals(&t);
	for (uint16_t q = 0; q < pc.queues; q++) {
		free(pc.rx[q].runs);
		pc.rx[q].runs = NULL;
	}
	if (t.errors || timed_out || !done)
		return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	int ret, status;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "pktcheck: EAL init failed: %s\n",
			rte_strerror(rte_errno));
		return 2;
	}
	argc -= ret;
	argv += ret;
	if (parse_args(argc, argv) < 0) {
		usage("pktcheck");
		rte_eal_cleanup();
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pc.rng = pc.seed * 0x9e3779b97f4a7c15ULL + pc.stream;
	if (pc.rng == 0)
		pc.rng = 1;
	pc.session = (uint32_t)rte_rand();
	for (uint16_t q = 0; pc.loopback && q < pc.queues; q++) {
		/* our own packets only: not those of an earlier run */
		pc.rx[q].session = pc.session;
		pc.rx[q].have_session = true;
	}

	ret = pools_create();
	if (ret == 0)
		ret = port_setup();
	if (ret < 0) {
		printf("%s: port setup failed: %s\n", pc.name, strerror(-ret));
		status = 2;
	} else if (wait_link() < 0) {
		status = 2;
	} else {
		status = run();
	}
	if (ret == 0) {
		rte_eth_dev_stop(pc.port);
		rte_eth_dev_close(pc.port);
	}
	rte_eal_cleanup();
	printf("%s: exit %d\n", pc.name, status);
	return status;
}
