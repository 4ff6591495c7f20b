/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef RTE_PMD_VFIO_USER_CLIENT_H
#define RTE_PMD_VFIO_USER_CLIENT_H

/**
 * @file
 * Private API of net_virtio_vfio_user (the frontend PMD, built as
 * librte_net_vfio_user_client): move the device of a port to another
 * backend process, while the port runs.
 *
 * The same is available to any application (testpmd included) through
 * the telemetry command "/vfio_user_client/move,<port>,<socket path>"
 * (and "/vfio_user_client/info,<port>"); see
 * doc/guides/howto/migration.rst.
 *
 * @warning
 * @b EXPERIMENTAL: this API may change without prior notice.
 */

#include <stdint.h>

#include <rte_compat.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What one move did. */
struct rte_pmd_vfio_user_client_move_stats {
	/** From asking the old backend to stop (STOP_COPY) to the new one
	 *  running (RUNNING): the time the device did not move packets. */
	uint64_t downtime_us;
	/** The whole move, from connecting to the new backend. */
	uint64_t total_us;
	/** Device state read while the old backend still ran (pre-copy). */
	uint64_t precopy_bytes;
	/** Device state read once it was stopped (stop-copy). */
	uint64_t stopcopy_bytes;
};

/**
 * Move the device of a net_virtio_vfio_user port from its backend (A) to
 * the backend listening on @p path (B), which must serve the same kind of
 * device (both net_vfio_user with the same queues, MTU and MAC, say) on
 * the same host (the port's memory is shared with B as it was with A).
 *
 * Steps: connect to B, map the port's memory and interrupts there, B to
 * RESUMING; A to PRE_COPY if it offers it and its state to B (B checks
 * it); A to STOP_COPY, the rest of its state to B; B to RUNNING; the
 * port's doorbells switch to B and A is let go. The port's queues stay
 * as they are all along: the application keeps calling rx/tx bursts,
 * which only find the device idle while it is stopped (the downtime).
 * If any step fails before B runs, B is let go and A runs again.
 *
 * Not from a data-path thread of the port. Takes the port's control lock.
 *
 * @param port_id
 *   A started or stopped net_virtio_vfio_user port with a device.
 * @param path
 *   B's socket.
 * @param stats
 *   What the move did (may be NULL).
 * @return
 *   0; -ENODEV (no such port), -ENOTCONN (no device now), -ENOTSUP
 *   (A or B not migratable), -EINVAL (same path, or B not the same kind
 *   of device), or the error of the step that failed.
 */
__rte_experimental int rte_pmd_vfio_user_client_move(
	uint16_t port_id, const char *path,
	struct rte_pmd_vfio_user_client_move_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* RTE_PMD_VFIO_USER_CLIENT_H */
