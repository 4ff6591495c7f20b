/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

/*
 * The server: device registry, listening sockets, client connections and
 * the command dispatcher. Every message is checked against the command
 * table (direction, negotiation, payload size, fd count) before a handler
 * sees it; a bad message is answered with an error and the connection goes
 * on.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <rte_common.h>

#include "vu_fdman.h"
#include "vu_internal.h"

RTE_LOG_REGISTER_DEFAULT(vfio_user_logtype, NOTICE);

/* Messages handled per wake-up of one connection, for fairness. */
#define VU_MSGS_PER_EVENT 64
/*
 * After accept() failed for a lasting reason (no fd, no memory), the
 * listening socket goes unwatched this long before accept() is tried
 * again: level-triggered, it would wake the event thread again at once.
 */
#define VU_ACCEPT_RETRY_MS 100

struct vu_cmd_desc {
	const char *name;
	vu_handler_t fn;	/* NULL: not a client->server command */
	uint32_t min_size;	/* payload bytes */
	uint32_t max_size;
	uint32_t max_fds;
};

#define CMD(id, f, mn, mx, fds) \
	[id] = { .name = #id, .fn = f, .min_size = mn, .max_size = mx, \
		 .max_fds = fds }
static const struct vu_cmd_desc vu_cmds[VFIO_USER_MAX_COMMAND] = {
	CMD(VFIO_USER_VERSION, vu_handle_version,
	    sizeof(struct vfio_user_version), VU_MAX_MSG_SIZE, 0),
	CMD(VFIO_USER_DMA_MAP, vu_handle_dma_map,
	    sizeof(struct vfio_user_dma_map),
	    sizeof(struct vfio_user_dma_map), 1),
	CMD(VFIO_USER_DMA_UNMAP, vu_handle_dma_unmap,
	    sizeof(struct vfio_user_dma_unmap),
	    sizeof(struct vfio_user_dma_unmap) +
	    sizeof(struct vfio_user_bitmap), 0),
	CMD(VFIO_USER_DEVICE_GET_INFO, vu_handle_get_info,
	    sizeof(struct vfio_user_device_info),
	    sizeof(struct vfio_user_device_info), 0),
	CMD(VFIO_USER_DEVICE_GET_REGION_INFO, vu_handle_region_info,
	    sizeof(struct vfio_user_region_info),
	    sizeof(struct vfio_user_region_info), 0),
	CMD(VFIO_USER_DEVICE_GET_REGION_IO_FDS, vu_handle_region_io_fds,
	    sizeof(struct vfio_user_region_io_fds),
	    sizeof(struct vfio_user_region_io_fds), 0),
	CMD(VFIO_USER_DEVICE_GET_IRQ_INFO, vu_handle_irq_info,
	    sizeof(struct vfio_user_irq_info),
	    sizeof(struct vfio_user_irq_info), 0),
	CMD(VFIO_USER_DEVICE_SET_IRQS, vu_handle_set_irqs,
	    sizeof(struct vfio_user_irq_set),
	    sizeof(struct vfio_user_irq_set) + RTE_VFIO_USER_MAX_IRQS,
	    VU_MAX_MSG_FDS),
	CMD(VFIO_USER_REGION_READ, vu_handle_region_read,
	    sizeof(struct vfio_user_region_access),
	    sizeof(struct vfio_user_region_access), 0),
	CMD(VFIO_USER_REGION_WRITE, vu_handle_region_write,
	    sizeof(struct vfio_user_region_access),
	    sizeof(struct vfio_user_region_access) + VU_MAX_XFER, 0),
	/* DMA_READ / DMA_WRITE go from server to client only */
	CMD(VFIO_USER_DMA_READ, NULL, 0, 0, 0),
	CMD(VFIO_USER_DMA_WRITE, NULL, 0, 0, 0),
	CMD(VFIO_USER_DEVICE_RESET, vu_handle_reset, 0, 0, 0),
	CMD(VFIO_USER_DIRTY_PAGES, vu_handle_dirty_pages,
	    sizeof(struct vfio_user_dirty_pages),
	    sizeof(struct vfio_user_dirty_pages) +
	    sizeof(struct vfio_user_bitmap_range), 0),
	CMD(VFIO_USER_REGION_WRITE_MULTI, vu_handle_write_multi,
	    sizeof(struct vfio_user_write_multi) +
	    sizeof(struct vfio_user_write_multi_entry),
	    sizeof(struct vfio_user_write_multi) + VFIO_USER_WRITE_MULTI_MAX *
	    sizeof(struct vfio_user_write_multi_entry), 0),
	CMD(VFIO_USER_DEVICE_FEATURE, vu_handle_device_feature,
	    sizeof(struct vfio_user_device_feature), VU_MAX_MSG_SIZE, 0),
	CMD(VFIO_USER_MIG_DATA_READ, vu_handle_mig_data_read,
	    sizeof(struct vfio_user_mig_data),
	    sizeof(struct vfio_user_mig_data), 0),
	CMD(VFIO_USER_MIG_DATA_WRITE, vu_handle_mig_data_write,
	    sizeof(struct vfio_user_mig_data),
	    sizeof(struct vfio_user_mig_data) + VU_MAX_XFER, 0),
};
#undef CMD

const char *
vu_cmd_name(uint16_t cmd)
{
	if (cmd < VFIO_USER_MAX_COMMAND && vu_cmds[cmd].name != NULL)
		return vu_cmds[cmd].name + strlen("VFIO_USER_");
	return "UNKNOWN";
}

static pthread_mutex_t vu_devs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vu_dev *vu_devs[RTE_VFIO_USER_MAX_DEVICES];

struct vu_dev *
vu_dev_get(int dev_id)
{
	if (dev_id < 0 || dev_id >= RTE_VFIO_USER_MAX_DEVICES)
		return NULL;
	return __atomic_load_n(&vu_devs[dev_id], __ATOMIC_ACQUIRE);
}

/* ---- connections ---- */

static void conn_event(int fd, void *arg, uint32_t events);
static void conn_timer_event(int fd, void *arg, uint32_t events);

static void
conn_free(struct vu_conn *c)
{
	if (c->timer_fd >= 0)
		close(c->timer_fd);
	if (c->fd >= 0)
		close(c->fd);
	vu_dma_twin_close(c);
	vu_rx_fini(&c->rx);
	vu_out_fini(&c->out);
	pthread_mutex_destroy(&c->ev_lock);
	vu_buf_free(c->reply, VU_MAX_MSG_SIZE);
	free(c);
}

static struct vu_conn *
conn_new(struct vu_dev *dev, int fd, int *err)
{
	struct vu_conn *c = calloc(1, sizeof(*c));

	*err = ENOMEM;
	if (c == NULL)
		return NULL;
	c->dev = dev;
	c->fd = fd;
	c->twin_fd = -1;
	c->events = EPOLLIN;
	c->reading = true;
	pthread_mutex_init(&c->ev_lock, NULL);
	vu_out_init(&c->out);
	c->out.name = dev->path;
	c->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->timer_fd < 0)
		*err = errno;	/* EMFILE: out of fds */
	c->reply = vu_buf_alloc(VU_MAX_MSG_SIZE);
	if (c->timer_fd < 0 || c->reply == NULL || vu_rx_init(&c->rx) < 0) {
		c->fd = -1;	/* the caller still owns fd */
		conn_free(c);
		return NULL;
	}
	return c;
}

/*
 * Tear a connection down: unwatch its fds (waiting for a running callback
 * when called from another thread), close them and free its buffers, then
 * tell the device model and drop the client's memory and IRQ fds. The
 * connection goes first (as lib/vhost closes the socket before
 * destroy_device) so that once destroy_device ran and the regions and IRQs
 * read as gone, nothing of the connection is left either: whoever waits
 * for those can count the process's fds and mappings. The caller has
 * detached c from dev->conn, so no other thread reaches it.
 */
static void
conn_teardown(struct vu_conn *c)
{
	struct vu_dev *dev = c->dev;
	bool negotiated = c->negotiated;

	vu_fdman_del(c->fd);
	vu_fdman_del(c->timer_fd);
	conn_free(c);
	vu_pci_client_gone(dev);
	if (negotiated && dev->ops.destroy_device != NULL)
		dev->ops.destroy_device(dev->id);
	vu_mig_client_gone(dev);
	vu_dma_client_gone(dev);
	vu_irq_client_gone(dev);
	VU_LOG(INFO, "%s: client disconnected", dev->path);
}

/* A teardown counted in dev->teardowns (under dev->lock) is over: wake
 * rte_vfio_user_stop() and whoever waits for the device to be idle. */
static void
teardown_done(struct vu_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	dev->teardowns--;
	pthread_cond_broadcast(&dev->idle);
	pthread_mutex_unlock(&dev->lock);
}

/* Close c if it is still the device's connection (either thread). */
static void
conn_close(struct vu_conn *c)
{
	struct vu_dev *dev = c->dev;
	bool mine;

	pthread_mutex_lock(&dev->lock);
	mine = dev->conn == c;
	if (mine) {
		dev->conn = NULL;
		dev->teardowns++;	/* stop() waits for it */
	}
	pthread_mutex_unlock(&dev->lock);
	if (!mine)
		return;
	conn_teardown(c);
	teardown_done(dev);
}

/* Say why a client is refused, before its socket closes: whoever sees
 * the close (a test, an operator) finds the reason already logged. */
static void
conn_refused(const struct vu_dev *dev, int err)
{
	VU_LOG(WARNING, "%s: client refused: %s", dev->path,
	       err == EBUSY ? "device already has a client" : strerror(err));
}

/*
 * Serve a connected socket. Takes @p fd: on failure it is closed before
 * the device reads as idle again (rte_vfio_user_is_idle() promises the
 * client's fds are gone), after the refusal is logged.
 */
static int
conn_attach(struct vu_dev *dev, int fd)
{
	struct vu_conn *c;
	int ret;

	c = conn_new(dev, fd, &ret);
	if (c == NULL) {
		conn_refused(dev, ret);
		close(fd);
		return -ret;
	}
	pthread_mutex_lock(&dev->lock);
	if (dev->conn != NULL) {
		pthread_mutex_unlock(&dev->lock);
		conn_refused(dev, EBUSY);
		c->fd = -1;
		conn_free(c);
		vu_refuse(fd, dev->path, EBUSY);	/* takes fd */
		return -EBUSY;
	}
	dev->conn = c;
	pthread_mutex_unlock(&dev->lock);

	ret = vu_fdman_add(c->timer_fd, conn_timer_event, c);
	if (ret == 0)
		ret = vu_fdman_add(fd, conn_event, c);
	if (ret < 0) {
		pthread_mutex_lock(&dev->lock);
		dev->conn = NULL;
		dev->teardowns++;	/* not idle until it is freed */
		pthread_mutex_unlock(&dev->lock);
		conn_refused(dev, -ret);
		vu_fdman_del(c->timer_fd);
		conn_free(c);
		teardown_done(dev);
		return ret;
	}
	VU_LOG(INFO, "%s: client connected", dev->path);
	return 0;
}

/*
 * Bytes of the client wait in the socket, unread: if the partial-message
 * timer fired meanwhile, the event thread was late (another device's
 * callback held it, or reading was paused for unread replies), not the
 * client. Dropping the message then would read its tail as new messages.
 */
static bool
rx_waiting(struct vu_conn *c)
{
	int n = 0;

	if (ioctl(c->fd, FIONREAD, &n) < 0 || n <= 0)
		return false;
	c->rx_activity_ms = vu_now_ms();
	return true;
}

/*
 * The connection's timer fires at the earliest of: a partial message that
 * made no progress for the device's msg_ms, and queued output that made
 * no progress for its reply_ms. With ev_lock held.
 */
static void
conn_arm_timer_locked(struct vu_conn *c)
{
	struct itimerspec its = { 0 };
	const struct rte_vfio_user_timeouts *tmo = &c->dev->tmo;
	uint64_t now = vu_now_ms(), due = UINT64_MAX, stalled;

	if (vu_rx_partial(&c->rx))
		due = c->rx_activity_ms + tmo->msg_ms;
	stalled = vu_out_stalled_since(&c->out);
	if (stalled != 0 && stalled + tmo->reply_ms < due)
		due = stalled + tmo->reply_ms;
	if (due == UINT64_MAX)
		due = 0;
	/* as armed already (mostly: disarmed, and nothing to arm) */
	if (due == c->timer_due)
		return;
	if (due != 0) {
		uint64_t in = due > now ? due - now : 1;

		its.it_value.tv_sec = (time_t)(in / 1000);
		its.it_value.tv_nsec = (long)(in % 1000) * 1000000L;
	}
	if (timerfd_settime(c->timer_fd, 0, &its, NULL) == 0)
		c->timer_due = due;
}

/*
 * Watch the socket for what the connection needs now: input unless too
 * much output is queued (a peer that does not read stops being read), and
 * output while some is queued. Any thread.
 */
static void
conn_watch(struct vu_conn *c)
{
	size_t pending = vu_out_pending(&c->out);
	uint32_t want;

	pthread_mutex_lock(&c->ev_lock);
	if (pending >= VU_OUT_HIGH)
		c->reading = false;
	else if (pending <= VU_OUT_LOW)
		c->reading = true;
	want = (c->reading ? EPOLLIN : 0) | (pending > 0 ? EPOLLOUT : 0);
	if (want != c->events && vu_fdman_set_events(c->fd, want) == 0)
		c->events = want;
	conn_arm_timer_locked(c);
	pthread_mutex_unlock(&c->ev_lock);
}

int
vu_conn_send(struct vu_conn *c, struct vfio_user_header *hdr,
	     const struct iovec *iov, unsigned int iovcnt, const int *fds,
	     unsigned int nfds)
{
	int ret = vu_out_send(&c->out, c->fd, hdr, iov, iovcnt, fds, nfds);

	if (ret == 1) {		/* queued: the event thread sends it */
		conn_watch(c);
		ret = 0;
	}
	return ret;
}

static int
conn_reply_error(struct vu_conn *c, const struct vfio_user_header *req,
		 int err)
{
	struct vfio_user_header h = {
		.msg_id = req->msg_id,
		.cmd = req->cmd,
		.flags = VFIO_USER_F_TYPE_REPLY | VFIO_USER_F_ERROR,
		.error_no = (uint32_t)err,
	};

	/* replies answer commands only: a reply (or a message of a reserved
	 * type) that is wrong is logged, never answered */
	if ((req->flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_COMMAND ||
	    (req->flags & VFIO_USER_F_NO_REPLY))
		return 0;
	return vu_conn_send(c, &h, NULL, 0, NULL, 0);
}

/* Check a request against the command table; 0 or a positive errno. */
static int
msg_check(struct vu_conn *c, const struct vu_msg *m, uint32_t received)
{
	const struct vfio_user_header *h = m->hdr;
	const struct vu_cmd_desc *d;

	if (h->msg_size < sizeof(*h) || h->msg_size != received) {
		VU_LOG(ERR, "%s: bad message size %u", c->dev->path,
		       h->msg_size);
		return EINVAL;
	}
	if ((h->flags & VFIO_USER_F_TYPE_MASK) != VFIO_USER_F_TYPE_COMMAND) {
		VU_LOG(ERR,
		       "%s: message id %u (flags 0x%x) is not a command: "
		       "dropped",
		       c->dev->path, h->msg_id, h->flags);
		return EINVAL;
	}
	if (h->flags & ~(VFIO_USER_F_TYPE_MASK | VFIO_USER_F_NO_REPLY)) {
		VU_LOG(ERR, "%s: bad flags 0x%x on a command", c->dev->path,
		       h->flags);
		return EINVAL;
	}
	if (h->cmd >= VFIO_USER_MAX_COMMAND || vu_cmds[h->cmd].fn == NULL) {
		VU_LOG(ERR, "%s: unsupported command %u", c->dev->path, h->cmd);
		return ENOSYS;
	}
	d = &vu_cmds[h->cmd];
	if (!c->negotiated && h->cmd != VFIO_USER_VERSION) {
		VU_LOG(ERR, "%s: %s before VERSION", c->dev->path, d->name);
		return EINVAL;
	}
	if (c->negotiated && h->cmd == VFIO_USER_VERSION) {
		VU_LOG(ERR, "%s: VERSION already negotiated", c->dev->path);
		return EINVAL;
	}
	if (m->size < d->min_size || m->size > d->max_size) {
		VU_LOG(ERR, "%s: %s payload %u outside [%u, %u]", c->dev->path,
		       d->name, m->size, d->min_size, d->max_size);
		return EINVAL;
	}
	if (m->nfds > d->max_fds) {
		VU_LOG(ERR, "%s: %s with %u fds (at most %u)", c->dev->path,
		       d->name, m->nfds, d->max_fds);
		return EINVAL;
	}
	return 0;
}

/* Handle one whole message in c->rx. Returns -1 if c must close. */
static int
conn_handle_msg(struct vu_conn *c)
{
	struct vfio_user_header *h = vu_rx_hdr(&c->rx);
	struct vu_msg m = {
		.hdr = h,
		.payload = c->rx.buf + sizeof(*h),
		.size = c->rx.want - (uint32_t)sizeof(*h),
		.fds = c->rx.fds,
		.nfds = c->rx.nfds,
	};
	struct vu_reply r = { .size = 0 };
	struct vfio_user_header rh;
	struct iovec iov;
	bool was_negotiated = c->negotiated;
	int err, ret;

	if ((h->flags & VFIO_USER_F_TYPE_MASK) == VFIO_USER_F_TYPE_REPLY &&
	    c->rx.want >= sizeof(*h) && c->negotiated) {
		/* a client's answer to our DMA_READ/WRITE (no twin socket) */
		vu_dma_rw_reply(c->dev, &m);
		return 0;
	}

	c->nmsgs++;
	err = c->rx.fds_overflow ? EINVAL : msg_check(c, &m, c->rx.want);
	if (c->rx.fds_overflow)
		VU_LOG(ERR,
		       "%s: fds of a message lost (more than %u, or "
		       "this process is out of fds)",
		       c->dev->path, VU_MAX_MSG_FDS);
	if (err == 0) {
		ret = vu_cmds[h->cmd].fn(c, &m, &r);
		if (ret < 0)
			err = -ret;
		VU_LOG(DEBUG, "%s: %s id %u -> %d", c->dev->path,
		       vu_cmd_name(h->cmd), h->msg_id, -err);
	}
	vu_stats_count(c->dev, h->cmd, err);
	if (err != 0) {
		if (h->flags & VFIO_USER_F_NO_REPLY)
			VU_LOG(WARNING, "%s: %s (no reply wanted) failed: %s",
			       c->dev->path, vu_cmd_name(h->cmd),
			       strerror(err));
		ret = conn_reply_error(c, h, err);
	} else if (!(h->flags & VFIO_USER_F_NO_REPLY)) {
		rh = (struct vfio_user_header){
			.msg_id = h->msg_id,
			.cmd = h->cmd,
			.flags = VFIO_USER_F_TYPE_REPLY,
		};
		iov.iov_base = c->reply;
		iov.iov_len = r.size;
		/* fds the kernel refuses for now make an ETOOMANYREFS
		 * error reply (vu_out_send()), VERSION's a failure */
		ret = vu_conn_send(c, &rh, &iov, r.size ? 1 : 0, r.fds, r.nfds);
	} else {
		ret = 0;
	}
	/* ours to close whether a reply went out or not (NO_REPLY, error) */
	vu_close_fds(r.owned_fds, r.nowned);
	if (ret < 0) {
		VU_LOG(ERR, "%s: reply failed: %s", c->dev->path,
		       strerror(-ret));
		if (!was_negotiated)	/* (VERSION's) new_device never ran:
					 * no destroy_device for it */
			c->negotiated = false;
		return -1;
	}

	if (!was_negotiated && c->negotiated &&
	    c->dev->ops.new_device != NULL &&
	    c->dev->ops.new_device(c->dev->id) < 0) {
		VU_LOG(ERR, "%s: device model refused the client",
		       c->dev->path);
		c->negotiated = false;	/* no destroy_device for it */
		return -1;
	}
	return 0;
}

static bool
stop_asked(const struct vu_conn *c)
{
	return __atomic_load_n(&c->stop_asked, __ATOMIC_ACQUIRE);
}

static void
conn_event(int fd, void *arg, uint32_t events)
{
	struct vu_conn *c = arg;
	bool reading;
	int n;

	RTE_SET_USED(fd);
	if (stop_asked(c) ||
	    (vu_out_pending(&c->out) > 0 && vu_out_flush(&c->out, c->fd) < 0)) {
		conn_close(c);	/* stopped, or the peer is gone */
		return;
	}
	pthread_mutex_lock(&c->ev_lock);
	reading = c->reading || vu_out_pending(&c->out) <= VU_OUT_LOW;
	pthread_mutex_unlock(&c->ev_lock);
	if (!reading && (events & (EPOLLHUP | EPOLLERR))) {
		conn_close(c);	/* gone without reading its replies */
		return;
	}
	for (n = 0; reading && n < VU_MSGS_PER_EVENT; n++) {
		uint32_t had = c->rx.have;
		enum vu_rx_status st;
		int ret = 0;

		if (stop_asked(c)) {	/* not one more message */
			conn_close(c);
			return;
		}
		st = vu_rx_read(c->fd, &c->rx);
		if (c->rx.have != had || st != VU_RX_AGAIN)
			c->rx_activity_ms = vu_now_ms();
		if (st == VU_RX_AGAIN) {
			if (!(events & (EPOLLHUP | EPOLLERR)) || n > 0)
				break;
			st = VU_RX_CLOSED;
		}
		if (st == VU_RX_CLOSED || st == VU_RX_ERROR) {
			conn_close(c);
			return;
		}
		if (st == VU_RX_OVERSIZE) {
			VU_LOG(ERR, "%s: message of %u bytes exceeds %u",
			       c->dev->path, vu_rx_hdr(&c->rx)->msg_size,
			       VU_MAX_MSG_SIZE);
			ret = conn_reply_error(c, vu_rx_hdr(&c->rx), E2BIG);
		} else if (st == VU_RX_MSG) {
			ret = conn_handle_msg(c);
		}
		if (st == VU_RX_OVERSIZE || st == VU_RX_MSG)
			vu_rx_next(&c->rx);
		if (ret < 0) {
			conn_close(c);
			return;
		}
		/* replies pile up: read no more until the peer takes them */
		if (vu_out_pending(&c->out) >= VU_OUT_HIGH)
			break;
	}
	conn_watch(c);
}

static void
conn_timer_event(int fd, void *arg, uint32_t events)
{
	struct vu_conn *c = arg;
	const struct rte_vfio_user_timeouts *tmo = &c->dev->tmo;
	uint64_t now = vu_now_ms(), stalled, ticks;

	RTE_SET_USED(events);
	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	pthread_mutex_lock(&c->ev_lock);
	c->timer_due = 0;	/* it fired: disarmed */
	pthread_mutex_unlock(&c->ev_lock);
	stalled = vu_out_stalled_since(&c->out);
	if (stalled != 0 && now - stalled >= tmo->reply_ms) {
		VU_LOG(ERR,
		       "%s: client read none of %zu bytes of replies for "
		       "%u ms: disconnected",
		       c->dev->path, vu_out_pending(&c->out), tmo->reply_ms);
		conn_close(c);
		return;
	}
	if (vu_rx_partial(&c->rx) && now - c->rx_activity_ms >= tmo->msg_ms &&
	    !rx_waiting(c)) {
		VU_LOG(ERR,
		       "%s: incomplete message stalled for %u ms: the "
		       "stream cannot be put back in step, disconnected",
		       c->dev->path, tmo->msg_ms);
		conn_close(c);
		return;
	}
	conn_watch(c);
}

/* ---- listening sockets ---- */

/*
 * The client may have hung up with its event still queued behind the
 * listening socket's (a client that connects and closes before we accept,
 * then reconnects): finish it now, its last messages included, so the new
 * client is not refused for a connection that is already gone. Event
 * thread only.
 */
static void
listen_reap_hung_up(struct vu_dev *dev)
{
	for (int i = 0; i < 16; i++) {
		struct pollfd p = { .events = POLLIN | POLLRDHUP };
		struct vu_conn *c;

		pthread_mutex_lock(&dev->lock);
		c = dev->conn;
		pthread_mutex_unlock(&dev->lock);
		if (c == NULL)
			return;
		p.fd = c->fd;
		if (poll(&p, 1, 0) != 1 ||
		    !(p.revents & (POLLHUP | POLLRDHUP | POLLERR)))
			return;
		/* handles what is left (a batch at a time), then closes */
		conn_event(c->fd, c, EPOLLIN | EPOLLHUP);
	}
}

/*
 * accept() failed for a reason that lasts (EMFILE, ENFILE, ENOMEM, ...):
 * the client stays in the backlog. Stop watching the listening socket and
 * try again after VU_ACCEPT_RETRY_MS, logging once until accept() works.
 * Event thread only.
 */
static void
listen_pause(struct vu_dev *dev, int err)
{
	struct itimerspec its = {
		.it_value.tv_nsec = VU_ACCEPT_RETRY_MS * 1000000L,
	};

	if (!dev->accept_paused)
		VU_LOG(ERR,
		       "%s: accept: %s: the client waits, retrying every "
		       "%d ms",
		       dev->path, strerror(err), VU_ACCEPT_RETRY_MS);
	dev->accept_paused = true;
	vu_fdman_set_events(dev->listen_fd, 0);
	timerfd_settime(dev->accept_timer_fd, 0, &its, NULL);
}

static void
listen_retry_event(int fd, void *arg, uint32_t events)
{
	struct vu_dev *dev = arg;
	uint64_t ticks;

	RTE_SET_USED(events);
	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	vu_fdman_set_events(dev->listen_fd, EPOLLIN);
}

/* The retry timer of a listening device, watched. 0 or -errno. */
static int
listen_timer_open(struct vu_dev *dev)
{
	int ret;

	dev->accept_paused = false;
	dev->accept_timer_fd = timerfd_create(CLOCK_MONOTONIC,
					      TFD_NONBLOCK | TFD_CLOEXEC);
	if (dev->accept_timer_fd < 0)
		return -errno;
	ret = vu_fdman_add(dev->accept_timer_fd, listen_retry_event, dev);
	if (ret < 0) {
		close(dev->accept_timer_fd);
		dev->accept_timer_fd = -1;
	}
	return ret;
}

static void
listen_timer_close(struct vu_dev *dev)
{
	if (dev->accept_timer_fd < 0)
		return;
	vu_fdman_del(dev->accept_timer_fd);
	close(dev->accept_timer_fd);
	dev->accept_timer_fd = -1;
}

static void
listen_event(int fd, void *arg, uint32_t events)
{
	struct vu_dev *dev = arg;
	int cfd;

	RTE_SET_USED(events);
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		/* gone before we took it, or nothing after all */
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			listen_pause(dev, errno);
		return;
	}
	if (dev->accept_paused) {
		dev->accept_paused = false;
		VU_LOG(NOTICE, "%s: accepting again", dev->path);
	}
	listen_reap_hung_up(dev);
	conn_attach(dev, cfd);	/* a refused client is logged and closed */
}

/*
 * Make the socket path free for bind(), never following a symlink and
 * never removing anything but a stale socket:
 *  - nothing there: free;
 *  - not a socket (a file, a directory, a symbolic link, ...): -EEXIST,
 *    left alone;
 *  - a socket a server answers on (connect() succeeds, or its backlog is
 *    full): -EADDRINUSE, left alone;
 *  - a socket nobody answers on (ECONNREFUSED): stale, removed, if it is
 *    still the very file that was checked (same device and inode);
 *  - a socket we cannot tell about (connect() fails otherwise, e.g.
 *    EACCES): that error, left alone.
 * Returns 0 when the path is free.
 */
static int
listen_path_clear(const struct vu_dev *dev, const struct sockaddr_un *un)
{
	struct stat st, now;
	int c, err;

	if (lstat(dev->path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		VU_LOG(ERR, "%s exists and is not a socket (%s): left alone",
		       dev->path, S_ISLNK(st.st_mode) ? "a symbolic link" :
		       S_ISDIR(st.st_mode) ? "a directory" : "a file");
		return -EEXIST;
	}
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -errno;
	err = connect(c, (const struct sockaddr *)un, sizeof(*un)) == 0 ?
		0 : errno;
	close(c);
	switch (err) {
	case ECONNREFUSED:
		break;
	case ENOENT:
		return 0;	/* removed meanwhile */
	case 0:
	case EAGAIN:		/* a listener with a full backlog */
	case EPROTOTYPE:	/* a live socket of another type */
		VU_LOG(ERR, "%s: a server is answering on this socket: not "
		       "replacing it (stop that server, or use another path)",
		       dev->path);
		return -EADDRINUSE;
	default:
		VU_LOG(ERR, "%s: cannot tell whether the socket is in use "
		       "(connect: %s): left alone", dev->path, strerror(err));
		return -err;
	}
	/* stale: remove it, unless it changed since it was checked */
	if (lstat(dev->path, &now) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (now.st_dev != st.st_dev || now.st_ino != st.st_ino ||
	    !S_ISSOCK(now.st_mode)) {
		VU_LOG(ERR, "%s changed while it was checked: left alone",
		       dev->path);
		return -EADDRINUSE;
	}
	if (unlink(dev->path) < 0 && errno != ENOENT)
		return -errno;
	VU_LOG(NOTICE, "%s: removed a stale socket file (nobody answered)",
	       dev->path);
	return 0;
}

/*
 * Give the bound socket file exactly dev->sock_mode. The socket was
 * created with that mode less the umask (fchmod() before bind()), so it was
 * never more open than asked; bits the umask took are added back here,
 * through an O_PATH|O_NOFOLLOW descriptor of the file: a symlink planted
 * at the path meanwhile is not followed.
 */
static int
listen_path_mode(struct vu_dev *dev)
{
	char proc[32];
	struct stat st;
	int pfd, ret = 0;

	dev->sock_ino = 0;
	pfd = open(dev->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		ret = -EEXIST;	/* not the socket we just made */
		goto out;
	}
	dev->sock_dev = st.st_dev;
	dev->sock_ino = st.st_ino;
	if ((st.st_mode & 07777) == dev->sock_mode)
		goto out;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	if (chmod(proc, dev->sock_mode) < 0) {
		ret = -errno;
		goto out;
	}
out:
	if (pfd >= 0)
		close(pfd);
	if (ret < 0)
		VU_LOG(ERR, "%s: cannot give the socket mode 0%o: %s", dev->path,
		       (unsigned int)dev->sock_mode, strerror(-ret));
	return ret;
}

/*
 * Remove our socket file: only if the path still names the socket we
 * bound (the file may have been removed, or replaced by another server's
 * socket or by anything else, since: the library does not watch the path
 * while serving, it says so here).
 */
static void
listen_path_remove(struct vu_dev *dev)
{
	ino_t ino = dev->sock_ino;
	struct stat st;

	dev->sock_ino = 0;
	if (ino == 0)
		return;
	if (lstat(dev->path, &st) < 0) {
		if (errno == ENOENT) /* nobody could reach the device */
			VU_LOG(WARNING,
			       "%s: the socket file was removed while "
			       "serving",
			       dev->path);
		return;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_dev != dev->sock_dev ||
	    st.st_ino != ino) {
		VU_LOG(WARNING,
		       "%s is no longer our socket: left alone "
		       "(replaced while serving)",
		       dev->path);
		return;
	}
	unlink(dev->path);
}

static int
listen_on_path(struct vu_dev *dev)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd, ret = 0;

	memcpy(un.sun_path, dev->path, strlen(dev->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* the file bind() creates gets the socket inode's mode less the
	 * umask: never more open than asked, even for an instant */
	if (fchmod(fd, dev->sock_mode) < 0) {
		ret = -errno;
		goto fail;
	}
	/*
	 * bind() never follows a symlink at the path (it fails, EADDRINUSE
	 * or ENOENT for a dangling one): a file planted between the check
	 * and the bind makes the bind fail, and the next round sees it.
	 */
	for (int round = 0; round < 3; round++) {
		ret = listen_path_clear(dev, &un);
		if (ret < 0)
			goto fail;
		if (bind(fd, (struct sockaddr *)&un, sizeof(un)) == 0)
			break;
		ret = -errno;
		if (ret != -EADDRINUSE && ret != -ENOENT)
			break;
	}
	if (ret == -ENOENT || ret == -ENOTDIR)
		VU_LOG(ERR, "%s: bind: %s (its directory must exist)",
		       dev->path, strerror(-ret));
	else if (ret == -EACCES)
		VU_LOG(ERR,
		       "%s: bind: %s (no write permission on its "
		       "directory)",
		       dev->path, strerror(-ret));
	else if (ret < 0)
		VU_LOG(ERR, "%s: bind: %s", dev->path, strerror(-ret));
	if (ret < 0)
		goto fail;
	ret = listen_path_mode(dev);
	if (ret < 0) {
		listen_path_remove(dev);
		goto fail;
	}
	if (listen(fd, 8) < 0) {
		ret = -errno;
		VU_LOG(ERR, "%s: listen: %s", dev->path, strerror(errno));
		listen_path_remove(dev);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return ret;
}

/* ---- public API ---- */

static int
dev_register(const char *path, int given_fd,
	     const struct rte_vfio_user_notify_ops *ops, void *priv)
{
	struct vu_dev *dev;
	int id = -1, i;

	dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return -ENOMEM;
	pthread_mutex_init(&dev->lock, NULL);
	vu_cond_init_monotonic(&dev->idle);	/* stop()'s timed wait */
	snprintf(dev->path, sizeof(dev->path), "%s", path);
	dev->listen_fd = -1;
	dev->accept_timer_fd = -1;
	dev->given_fd = given_fd;
	dev->from_fd = given_fd >= 0;
	dev->sock_mode = RTE_VFIO_USER_SOCK_MODE_DEFAULT;
	dev->tmo = (struct rte_vfio_user_timeouts){
		.msg_ms = RTE_VFIO_USER_TIMEOUT_MS_DEFAULT,
		.reply_ms = RTE_VFIO_USER_TIMEOUT_MS_DEFAULT,
		.dma_ms = RTE_VFIO_USER_TIMEOUT_MS_DEFAULT,
	};
	if (ops != NULL)
		dev->ops = *ops;
	dev->priv = priv;
	if (vu_dma_dev_init(dev) < 0) {
		vu_dma_dev_fini(dev);
		free(dev);
		return -ENOMEM;
	}

	pthread_mutex_lock(&vu_devs_lock);
	for (i = 0; i < RTE_VFIO_USER_MAX_DEVICES; i++) {
		if (vu_devs[i] == NULL) {
			if (id < 0)
				id = i;
		} else if ((given_fd < 0 || vu_devs[i]->from_fd) &&
			   strcmp(vu_devs[i]->path, path) == 0) {
			/* the same path, or the same fd number ("fd:N"):
			 * two devices would own (and close) one fd */
			pthread_mutex_unlock(&vu_devs_lock);
			VU_LOG(ERR,
			       "%s: device %d of this process has this "
			       "path already",
			       path, i);
			vu_dma_dev_fini(dev);
			free(dev);
			return -EEXIST;
		}
	}
	if (id < 0) {
		pthread_mutex_unlock(&vu_devs_lock);
		vu_dma_dev_fini(dev);
		free(dev);
		return -ENOSPC;
	}
	dev->id = id;
	__atomic_store_n(&vu_devs[id], dev, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vu_devs_lock);
	VU_LOG(INFO, "%s: registered as device %d", dev->path, id);
	return id;
}

int
rte_vfio_user_register(const char *path,
		       const struct rte_vfio_user_notify_ops *ops, void *priv)
{
	if (path == NULL || path[0] == '\0' ||
	    strlen(path) >= sizeof(((struct vu_dev *)0)->path))
		return -EINVAL;
	return dev_register(path, -1, ops, priv);
}

int
rte_vfio_user_register_fd(int fd, const struct rte_vfio_user_notify_ops *ops,
			  void *priv)
{
	struct sockaddr_un un;
	socklen_t len = sizeof(un);
	char name[32];

	if (fd < 0)
		return -EINVAL;
	if (getsockname(fd, (struct sockaddr *)&un, &len) < 0)
		return errno == ENOTSOCK ? -ENOTSOCK : -EINVAL;
	if (un.sun_family != AF_UNIX)
		return -ENOTSOCK;
	snprintf(name, sizeof(name), "fd:%d", fd);
	return dev_register(name, fd, ops, priv);
}

int
rte_vfio_user_set_sock_mode(int dev_id, mode_t mode)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (mode & ~(mode_t)0777)
		return -EINVAL;
	if (dev->from_fd)
		return -ENOTSUP;	/* the caller made that socket */
	if (dev->started)
		return -EBUSY;
	dev->sock_mode = mode;
	return 0;
}

/* A timeout asked for: 0 keeps the current one. */
static uint32_t
tmo_pick(uint32_t asked, uint32_t cur)
{
	return asked != 0 ? asked : cur;
}

int
rte_vfio_user_set_timeouts(int dev_id, const struct rte_vfio_user_timeouts *t)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (t == NULL || t->msg_ms > RTE_VFIO_USER_TIMEOUT_MS_MAX ||
	    t->reply_ms > RTE_VFIO_USER_TIMEOUT_MS_MAX ||
	    t->dma_ms > RTE_VFIO_USER_TIMEOUT_MS_MAX)
		return -EINVAL;
	if (dev->started)
		return -EBUSY;
	dev->tmo.msg_ms = tmo_pick(t->msg_ms, dev->tmo.msg_ms);
	dev->tmo.reply_ms = tmo_pick(t->reply_ms, dev->tmo.reply_ms);
	dev->tmo.dma_ms = tmo_pick(t->dma_ms, dev->tmo.dma_ms);
	return 0;
}

int
rte_vfio_user_get_timeouts(int dev_id, struct rte_vfio_user_timeouts *t)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (t == NULL)
		return -EINVAL;
	*t = dev->tmo;
	return 0;
}

int
rte_vfio_user_start(int dev_id)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	int fd, ret, acc = 0;
	socklen_t len = sizeof(acc);

	if (dev == NULL)
		return -ENODEV;
	if (dev->started)
		return -EALREADY;
	if (dev->from_fd && dev->given_fd < 0) {
		/* its "path" is a name ("fd:N"), never a place to listen */
		VU_LOG(ERR,
		       "%s: its socket was closed (by a stop or a "
		       "failed start); register a new one to serve again",
		       dev->path);
		return -EBADF;
	}
	ret = vu_dev_desc_check(dev);
	if (ret < 0)
		return ret;
	ret = vu_irq_dev_start(dev);
	if (ret < 0)
		return ret;

	if (dev->given_fd >= 0) {
		if (getsockopt(dev->given_fd, SOL_SOCKET, SO_ACCEPTCONN,
			       &acc, &len) < 0)
			return -errno;
		fcntl(dev->given_fd, F_SETFL,
		      fcntl(dev->given_fd, F_GETFL) | O_NONBLOCK);
		if (!acc) {
			/* a connected socket: its one client, which owns it
			 * from now on (closed if refused, as a listening
			 * socket is below) */
			fd = dev->given_fd;
			dev->given_fd = -1;
			ret = conn_attach(dev, fd);
			if (ret < 0)
				return ret;
			__atomic_store_n(&dev->started, true, __ATOMIC_RELEASE);
			return 0;
		}
	}
	ret = listen_timer_open(dev);
	if (ret < 0)
		return ret;
	if (dev->given_fd >= 0) {
		fd = dev->given_fd;
		dev->given_fd = -1;
	} else {
		fd = listen_on_path(dev);
		if (fd < 0) {
			listen_timer_close(dev);
			return fd;
		}
	}
	ret = vu_fdman_add(fd, listen_event, dev);
	if (ret < 0) {
		listen_timer_close(dev);
		close(fd);
		return ret;
	}
	dev->listen_fd = fd;
	__atomic_store_n(&dev->started, true, __ATOMIC_RELEASE);
	if (dev->sock_ino != 0)
		VU_LOG(INFO, "%s: listening (mode 0%o)", dev->path,
		       (unsigned int)dev->sock_mode);
	else
		VU_LOG(INFO, "%s: listening", dev->path);
	return 0;
}

/* Whether the calling thread is online in the QSBR variable of any
 * device: the event thread may be waiting for it (a DMA_UNMAP). */
static bool
caller_online_any(void)
{
	bool online = false;

	pthread_mutex_lock(&vu_devs_lock);
	for (int i = 0; i < RTE_VFIO_USER_MAX_DEVICES && !online; i++)
		online = vu_devs[i] != NULL && vu_dma_caller_online(vu_devs[i]);
	pthread_mutex_unlock(&vu_devs_lock);
	return online;
}

int
rte_vfio_user_stop(int dev_id)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	bool hand_off, waited_long = false;
	struct vu_conn *c;

	if (dev == NULL)
		return -ENODEV;
	if (!dev->started)
		return -EALREADY;
	listen_timer_close(dev);	/* before the socket its callback uses */
	if (dev->listen_fd >= 0) {
		vu_fdman_del(dev->listen_fd);
		/* while our socket is still bound: its inode number cannot
		 * have been given to a file that replaced it */
		listen_path_remove(dev);	/* sockets on a path only */
		close(dev->listen_fd);
		dev->listen_fd = -1;
	}
	hand_off = !vu_fdman_is_event_thread() && vu_fdman_serving() &&
		   !caller_online_any();
	pthread_mutex_lock(&dev->lock);
	c = dev->conn;
	if (c != NULL && hand_off) {
		/*
		 * The event thread tears the connection down, as when the
		 * client leaves: the device model's callbacks stay on that
		 * thread, one at a time (the header's promise), and the
		 * message being handled finishes first. Shutting the socket
		 * down wakes the thread; c and its fd live until it tears
		 * them down, which needs dev->lock.
		 */
		__atomic_store_n(&c->stop_asked, true, __ATOMIC_RELEASE);
		shutdown(c->fd, SHUT_RDWR);
		c = NULL;
	} else if (c != NULL) {
		/* no thread to hand it to, or one that could wait for us (a
		 * grace period of a QSBR variable we are online in): here */
		dev->conn = NULL;
		dev->teardowns++;	/* not idle until it is over */
	}
	pthread_mutex_unlock(&dev->lock);
	if (c != NULL) {
		conn_teardown(c);
		teardown_done(dev);
	}
	/* the device must outlive every teardown: the one asked for above,
	 * and one of a client that left just now */
	pthread_mutex_lock(&dev->lock);
	while (dev->conn != NULL || dev->teardowns > 0) {
		struct timespec ts = vu_deadline_ts(vu_now_ms() + 5000);

		if (pthread_cond_timedwait(&dev->idle, &dev->lock, &ts) ==
			    ETIMEDOUT &&
		    !waited_long) {
			VU_LOG(WARNING,
			       "%s: the stop waits for the event "
			       "thread (a callback of some device still "
			       "running?)",
			       dev->path);
			waited_long = true;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	__atomic_store_n(&dev->started, false, __ATOMIC_RELEASE);
	return 0;
}

int
rte_vfio_user_unregister(int dev_id)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	bool last = true;

	if (dev == NULL)
		return -ENODEV;
	if (dev->started)
		rte_vfio_user_stop(dev_id);
	pthread_mutex_lock(&vu_devs_lock);
	__atomic_store_n(&vu_devs[dev_id], NULL, __ATOMIC_RELEASE);
	for (int i = 0; i < RTE_VFIO_USER_MAX_DEVICES; i++)
		if (vu_devs[i] != NULL)
			last = false;
	pthread_mutex_unlock(&vu_devs_lock);
	vu_telemetry_sync();	/* a telemetry reader may still have dev */
	if (dev->given_fd >= 0)
		close(dev->given_fd);
	vu_irq_dev_fini(dev);
	vu_dev_desc_free(dev);
	vu_mig_dev_fini(dev);
	vu_dma_dev_fini(dev);
	pthread_mutex_destroy(&dev->lock);
	pthread_cond_destroy(&dev->idle);
	VU_LOG(INFO, "%s: unregistered", dev->path);
	free(dev);
	if (last) {
		vu_refuse_flush();
		vu_fdman_shutdown();
	}
	return 0;
}

int
rte_vfio_user_get_dev_id(const char *path)
{
	int id = -ENODEV;

	if (path == NULL)
		return -ENODEV;
	pthread_mutex_lock(&vu_devs_lock);
	for (int i = 0; i < RTE_VFIO_USER_MAX_DEVICES; i++) {
		if (vu_devs[i] != NULL && strcmp(vu_devs[i]->path, path) == 0) {
			id = i;
			break;
		}
	}
	pthread_mutex_unlock(&vu_devs_lock);
	return id;
}

int
rte_vfio_user_get_sock_addr(int dev_id, char *buf, size_t len)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	if (dev == NULL)
		return -ENODEV;
	if (buf == NULL)
		return -EINVAL;
	if (strlen(dev->path) >= len)
		return -ENOSPC;
	memcpy(buf, dev->path, strlen(dev->path) + 1);
	return 0;
}

void *
rte_vfio_user_get_priv(int dev_id)
{
	struct vu_dev *dev = vu_dev_get(dev_id);

	return dev == NULL ? NULL : dev->priv;
}

int
rte_vfio_user_is_connected(int dev_id)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	int ret;

	if (dev == NULL)
		return -ENODEV;
	pthread_mutex_lock(&dev->lock);
	ret = dev->conn != NULL && dev->conn->negotiated;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}

int
rte_vfio_user_is_idle(int dev_id)
{
	struct vu_dev *dev = vu_dev_get(dev_id);
	int ret;

	if (dev == NULL)
		return -ENODEV;
	pthread_mutex_lock(&dev->lock);
	ret = dev->conn == NULL && dev->teardowns == 0;
	pthread_mutex_unlock(&dev->lock);
	return ret;
}
