// SPDX-License-Identifier: GPL-2.0 OR MIT
/* For tools/bench/bench_xdp.c only: spreads a repeated test packet over many
 * flows. bpf_prog_test_run runs one packet `repeat` times on the same
 * buffer, so this program rewrites the IPv4 source address to the next of
 * flow_mask + 1 addresses (10.0.0.0 + i), or gives each address
 * 1 << flow_shift packets in a row, and tail-calls the program under
 * test (an XDP program, or with bench_rotate_tc a TC one). The benchmark
 * measures it in front of the empty program too, and subtracts that. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

__u32 flow_mask; /* flows - 1, a power of two minus one; set from userspace */
__u32 next_flow;
__u32 flow_shift; /* each flow gets 1 << flow_shift packets in a row */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} target SEC(".maps");

SEC("xdp.frags") /* like the program under test: a tail call needs both alike */
int bench_rotate(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);

	if ((void *)(ip + 1) > data_end)
		return XDP_ABORTED;
	ip->saddr = bpf_htonl(0x0a000000 | ((next_flow++ >> flow_shift) & flow_mask));
	bpf_tail_call(ctx, &target, 0);
	return XDP_ABORTED;
}

/* The same in front of a TC program (the egress entry point): a tail call
 * stays within one program type, so a map and an entry of its own. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tc_target SEC(".maps");

SEC("tc")
int bench_rotate_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);

	if ((void *)(ip + 1) > data_end)
		return TCX_DROP;
	ip->saddr = bpf_htonl(0x0a000000 | ((next_flow++ >> flow_shift) & flow_mask));
	bpf_tail_call(skb, &tc_target, 0);
	return TCX_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
