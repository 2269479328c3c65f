// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Another program at TC ingress, as a firewall beside odeflow would be:
 * drops IPv4 UDP datagrams to one port and hands everything else to the
 * next program (TCX_NEXT). tests/live/test_ops_live.c chains it with
 * `odeflow run --hook tcx` on one interface. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800

const volatile __u16 drop_port; /* host order; set before load */

SEC("tc")
int drop_udp_port(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return TCX_NEXT;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return TCX_NEXT;
	return udp->dest == bpf_htons(drop_port) ? TCX_DROP : TCX_NEXT;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
