/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#ifndef VU_FRAME_IP_H
#define VU_FRAME_IP_H

/* The Ethernet and IP headers of the pair tests' TCP and UDP frames. */

#include <stdbool.h>
#include <stdint.h>

/*
 * At f (zeroed): an Ethernet header (broadcast, from a local address) and
 * an IPv4 or IPv6 header carrying proto with after bytes behind its fixed
 * header (IPv6: the payload length, extension headers included; IPv4: the
 * total length less its 20 bytes), TTL / hop limit 64, addresses of seq,
 * the IPv4 checksum 0. Returns where the IP header is.
 */
uint8_t *frame_ip_fill(uint8_t *f, bool v6, uint8_t proto, uint16_t after,
		       uint32_t seq);

#endif /* VU_FRAME_IP_H */
