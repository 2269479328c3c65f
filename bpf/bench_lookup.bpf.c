// SPDX-License-Identifier: GPL-2.0 OR MIT
/* For tools/bench_xdp.c only: the floor under the sampler's cost over many
 * flows. It reads the benchmark packet's flow key (Ethernet, IPv4 without
 * options, TCP) and looks it up in an LRU hash shaped like "flows" at the
 * default N (40-byte keys, FLOW_STATE_BYTES(20)-byte values), nothing else:
 * XDP_PASS on a hit, XDP_DROP on a miss. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "odeflow.h"

struct flows_value {
	__u8 bytes[FLOW_STATE_BYTES(ODEFLOW_DEFAULT_WINDOW)];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ODEFLOW_DEFAULT_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flows_value);
} table SEC(".maps");

SEC("xdp.frags") /* like the program under test: a tail call needs both alike */
int bench_lookup(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__be16 *ports = (void *)(ip + 1);
	struct flow_key k = {};

	if ((void *)(ports + 2) > data_end)
		return XDP_ABORTED;
	k.saddr[10] = k.saddr[11] = k.daddr[10] = k.daddr[11] = 0xff;
	__builtin_memcpy(k.saddr + 12, &ip->saddr, 4);
	__builtin_memcpy(k.daddr + 12, &ip->daddr, 4);
	k.sport = bpf_ntohs(ports[0]);
	k.dport = bpf_ntohs(ports[1]);
	k.proto = ip->protocol;
	return bpf_map_lookup_elem(&table, &k) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
