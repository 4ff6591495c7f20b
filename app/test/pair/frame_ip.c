/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The dpdk-vfio-user authors
 */

#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include "frame_ip.h"

uint8_t *
frame_ip_fill(uint8_t *f, bool v6, uint8_t proto, uint16_t after, uint32_t seq)
{
	struct rte_ether_hdr *eth = (void *)f;
	uint8_t *l3 = f + sizeof(*eth);

	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr.addr_bytes[0] = 0x02;
	if (v6) {
		struct rte_ipv6_hdr *ip = (void *)l3;

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16(after);
		ip->proto = proto;
		ip->hop_limits = 64;
		for (int i = 0; i < 16; i++) {
			ip->src_addr[i] = (uint8_t)(0x20 + i);
			ip->dst_addr[i] = (uint8_t)(0x40 + i + seq);
		}
	} else {
		struct rte_ipv4_hdr *ip = (void *)l3;

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16(
			(uint16_t)(sizeof(*ip) + after));
		ip->packet_id = rte_cpu_to_be_16((uint16_t)seq);
		ip->time_to_live = 64;
		ip->next_proto_id = proto;
		ip->src_addr = rte_cpu_to_be_32(0x0a000001);
		ip->dst_addr = rte_cpu_to_be_32(0x0a000002 + seq);
	}
	return l3;
}
