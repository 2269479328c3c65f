// SPDX-License-Identifier: GPL-2.0 OR MIT
/* For tools/bench/bench_xdp.c only: the kernel operations the sampler cannot do
 * without, each alone, so the benchmark shows the floor under each of its
 * rows. Each program reads the benchmark packet's flow key (Ethernet, IPv4
 * without options, TCP) where it needs one, does its one operation, and
 * returns XDP_PASS when it succeeded, XDP_DROP when not. The maps are shaped
 * like the sampler's at the default N: 40-byte keys, FLOW_STATE_BYTES(20)-
 * byte values, RING_WINDOW_BYTES(20)-byte records. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "odeflow.h"

struct flows_value {
	__u8 bytes[FLOW_STATE_BYTES(ODEFLOW_DEFAULT_WINDOW)];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ODEFLOW_DEFAULT_FLOWS); /* set from userspace */
	__type(key, struct flow_key);
	__type(value, struct flows_value);
} table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20); /* holds every record of a run: nobody reads it */
} ring SEC(".maps");

/* What a new direction's entry starts from; the sampler's comes from a
 * per-CPU scratch value, which costs as little to reach. */
static struct flows_value blank;

static __always_inline bool packet_key(struct xdp_md *ctx, struct flow_key *k)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__be16 *ports = (void *)(ip + 1);

	if ((void *)(ports + 2) > data_end)
		return false;
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr[10] = k->saddr[11] = k->daddr[10] = k->daddr[11] = 0xff;
	__builtin_memcpy(k->saddr + 12, &ip->saddr, 4);
	__builtin_memcpy(k->daddr + 12, &ip->daddr, 4);
	k->sport = bpf_ntohs(ports[0]);
	k->dport = bpf_ntohs(ports[1]);
	k->proto = ip->protocol;
	return true;
}

/* One lookup that hits: the floor under every packet of a sampled direction. */
SEC("xdp.frags") /* like the program under test: a tail call needs both alike */
int ref_lookup(struct xdp_md *ctx)
{
	struct flow_key k;

	if (!packet_key(ctx, &k))
		return XDP_ABORTED;
	return bpf_map_lookup_elem(&table, &k) ? XDP_PASS : XDP_DROP;
}

/* One insert of a new key: the floor under the first packet of a direction. */
SEC("xdp.frags")
int ref_insert(struct xdp_md *ctx)
{
	struct flow_key k;

	if (!packet_key(ctx, &k))
		return XDP_ABORTED;
	return bpf_map_update_elem(&table, &k, &blank, BPF_NOEXIST) ? XDP_DROP : XDP_PASS;
}

/* One window-sized record reserved, written whole and submitted without a
 * wakeup: the floor the packet completing a window adds. Writing it matters:
 * the ring's memory is cold, or last touched by the reader's CPU. */
SEC("xdp.frags")
int ref_ring(struct xdp_md *ctx __attribute__((unused)))
{
	void *rec = bpf_ringbuf_reserve(&ring, RING_WINDOW_BYTES(ODEFLOW_DEFAULT_WINDOW), 0);

	if (!rec)
		return XDP_DROP;
	__builtin_memset(rec, 0, RING_WINDOW_BYTES(ODEFLOW_DEFAULT_WINDOW));
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	return XDP_PASS;
}

/* One read of the clock every sampled packet takes its arrival time from. */
SEC("xdp.frags")
int ref_clock(struct xdp_md *ctx __attribute__((unused)))
{
	return bpf_ktime_get_ns() ? XDP_PASS : XDP_DROP;
}

/* One read of the coarse clock: what a packet waiting for its verdict, and
 * a classified packet checking its verdict's idle time, take instead. */
SEC("xdp.frags")
int ref_coarse_clock(struct xdp_md *ctx __attribute__((unused)))
{
	return bpf_ktime_get_coarse_ns() ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
