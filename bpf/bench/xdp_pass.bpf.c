// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The empty XDP program, and the empty TC one: the floors
 * tools/bench/bench_xdp.c measures against. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp.frags") /* like the program under test: a tail call needs both alike */
int xdp_pass(struct xdp_md *ctx __attribute__((unused)))
{
	return XDP_PASS;
}

SEC("tc")
int tc_pass(struct __sk_buff *skb __attribute__((unused)))
{
	return TCX_NEXT;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
