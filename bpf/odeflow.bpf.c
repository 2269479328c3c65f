// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The XDP sampler and enforcer.
 *
 * For every packet: parse Ethernet, up to two VLAN tags, IPv4 or IPv6 (with
 * a bounded walk over extension headers), and the TCP/UDP ports. Then:
 *   1. the connection has a verdict -> apply its class's policy;
 *   2. otherwise (or while the verdict is provisional, or before the agent
 *      has seen this direction's first window) record the packet's IP total
 *      length and arrival time into its direction's window; the packet that
 *      fills the window emits it into the "windows" ring buffer.
 * Anything that cannot be parsed passes untouched and is counted: the
 * datapath fails open. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "odeflow.h"
#include "flow_key_canon.h"
#include "teach_sample.h"


/* Set by the loader before load (see user/loader/xdp_loader.c, configure). Read-only data is
 * frozen at load, so the verifier knows this value: it is the bound that
 * proves every slot index and slot loop below in range. */
const volatile __u32 window_n = ODEFLOW_DEFAULT_WINDOW;
/* Packets of a direction's first window that go unrecorded (--skip). */
const volatile __u32 skip_n = 0;
/* See ODEFLOW_RESAMPLE_AFTER_NS; the loader may shorten it (tests). */
const volatile __u64 resample_after_ns = ODEFLOW_RESAMPLE_AFTER_NS;
/* See ODEFLOW_VERDICT_IDLE_NS, in ticks; 0: verdicts never expire. */
const volatile __u32 verdict_idle_ticks = ODEFLOW_VERDICT_IDLE_NS >> ODEFLOW_TICK_SHIFT;
/* Seeds the hash that places first packets: flows an attacker crafts to
 * collide with a real one's slot cannot be computed without it. */
const volatile __u64 hash_seed = 0;
/* Nonzero and random: which load of the program this is, for "active". */
const volatile __u64 instance = 0;
/* --teach RATE: connections whose teach_hash under teach_seed is below
 * teach_below (RATE * 2^32) have their first packets copied into "teach".
 * 0: off, and the verifier drops every path that copies. */
const volatile __u64 teach_below = 0;
const volatile __u64 teach_seed = 0;

/* Capacities below are defaults; the loader sets them before load. The
 * loader also replaces "flows" with a map whose values hold window_n slots
 * (FLOW_STATE_BYTES, user/loader/flows_map.c): the verifier checks every slot
 * access against that size. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ODEFLOW_DEFAULT_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_state);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} windows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ODEFLOW_DEFAULT_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct verdict);
} verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ODEFLOW_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct policy);
} policy SEC(".maps");

/* A class's bucket for one interface and hook (struct rate_key), made on
 * the first packet that needs it; a class's policy write removes them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ODEFLOW_RATE_BUCKETS);
	__type(key, struct rate_key);
	__type(value, struct rate_bucket);
} rate_buckets SEC(".maps");

/* Written by the loader only (struct attached_port): where the sampler is attached. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ODEFLOW_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct attached_port);
} ports SEC(".maps");

/* Nonzero while the agent sleeps waiting for windows (see
 * wake_agent_if_asleep). The agent maps it into its memory to raise it
 * without a system call. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} wakeup SEC(".maps");

/* Written by the agent only; here so it is pinned with the rest and has BTF. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct agent_info);
} agent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} counters SEC(".maps");

/* Written by the loader only (struct active_instance). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct active_instance);
} active SEC(".maps");

/* Packets and bytes of classified connections by class and what the policy
 * did to them (enum policy_outcome), for the agent's /metrics. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ODEFLOW_CLASS_ACTIONS);
	__type(key, __u32);
	__type(value, struct class_traffic);
} class_actions SEC(".maps");

/* The first packets of taught connections, for the agent's nDPI (struct
 * teach_packet records). A ring of its own: the teacher may fall behind or
 * stop reading, and windows never wait for it. Records never wake the
 * reader, which polls. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, ODEFLOW_TEACH_RING_BYTES);
} teach SEC(".maps");

/* Where a teach record is built: off the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct teach_packet_buf);
} teach_buf SEC(".maps");

/* Written by the agent only (struct teach_info). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct teach_info);
} teach_info SEC(".maps");

/* Written by `odeflow model load` and the agent (struct model_request). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct model_request);
} model_load SEC(".maps");

/* The state a new direction is inserted with, its first two packets already
 * in their slots: built here rather than on the 512-byte stack. Only the
 * header and slots 0 and 1 are ever written, so every other slot stays zero. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_state_buf);
} new_flow SEC(".maps");

/* Held first packets, in buckets chosen by a hash of the direction (see
 * struct first_packet). One table for all CPUs, not one per CPU: a
 * direction's packets may come in on different CPUs (RPS, generic XDP on a
 * veth, a sender that moves), and its second packet must find its first.
 * Two CPUs writing one slot at once can at worst pair a tag with the
 * other's size: a direction whose first two packets race each other on two
 * CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ODEFLOW_FIRST_PACKET_BUCKETS);
	__type(key, __u32);
	__type(value, struct first_packet_bucket);
} first_packets SEC(".maps");

enum parse_result {
	PARSED,    /* TCP or UDP, first (or only) fragment */
	NON_IP,
	OTHER_L4,
	FRAGMENT,  /* non-first fragment: no ports */
	MALFORMED,
};

struct packet {
	struct flow_key key;
	void *l3;          /* the IP header, for MARK */
	void *ctx;         /* the hook's context: struct xdp_md, or __sk_buff at tc */
	__u32 frame_len;
	__u32 ifindex;     /* the interface it was seen on */
	__u16 ip_len;      /* IPv4 total length, IPv6 payload length + 40 */
	__u16 l3_off;      /* where the IP header starts in the frame */
	bool ipv6;
	bool egress;       /* seen at an egress hook */
};

/* A big-endian 16-bit length, with a bound the verifier sees. Before the
 * verifier tracked the bits of a byte swap (upstream "bpf: Add bitwise
 * tracking for BPF_END", not in Debian 12's 6.1), it knew nothing about
 * bpf_ntohs's result and refused to add it to a packet pointer ("math
 * between pkt pointer and register with unbounded min value"). The mask
 * restores the bound; barrier_var keeps clang, which knows the value already
 * fits, from dropping it. */
static __always_inline __u32 load_be16_len(const __be16 *p)
{
	__u32 v = bpf_ntohs(*p);

	barrier_var(v);
	return v & 0xffff;
}

/* The ports of a TCP or UDP header at l4, inside the datagram ending at
 * ip_end. A header the stack would discard is malformed, never sampled: a
 * TCP data offset below 5 words or past the datagram, a UDP length below 8
 * or past the datagram (a first fragment's UDP length covers the datagram
 * the later fragments complete, so it is not held to this one). */
static __always_inline enum parse_result parse_ports(void *l4, void *ip_end, void *data_end,
						     bool first_fragment, struct packet *pkt)
{
	__u8 *h = l4;

	if (pkt->key.proto != IPPROTO_TCP && pkt->key.proto != IPPROTO_UDP)
		return OTHER_L4;
	if (pkt->key.proto == IPPROTO_TCP) {
		__u32 doff;

		if ((void *)(h + 13) > data_end)
			return MALFORMED;
		doff = (h[12] >> 4) * 4;
		if (doff < 20 || l4 + doff > ip_end)
			return MALFORMED;
	} else {
		__u32 ulen;

		if ((void *)(h + 8) > data_end || (void *)(h + 8) > ip_end)
			return MALFORMED;
		ulen = load_be16_len((__be16 *)(h + 4));
		if (ulen < 8 || (!first_fragment && l4 + ulen > ip_end))
			return MALFORMED;
	}
	pkt->key.sport = bpf_ntohs(((__be16 *)h)[0]);
	pkt->key.dport = bpf_ntohs(((__be16 *)h)[1]);
	return PARSED;
}

static __always_inline void map_ipv4(__u8 *out, __be32 addr)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr, sizeof(addr));
}

/* `room` below: the bytes of the frame from the IP header on, counting the
 * fragments of a multi-buffer frame (jumbo frames on drivers that split
 * them); data_end bounds only the first buffer, which must hold the headers. */
static __always_inline enum parse_result parse_ipv4(struct iphdr *ip, void *data_end, __u32 room,
						    struct packet *pkt)
{
	__u32 hlen, tot_len;

	if ((void *)(ip + 1) > data_end || ip->version != 4)
		return MALFORMED;
	hlen = ip->ihl * 4;
	tot_len = load_be16_len(&ip->tot_len);
	if (hlen < sizeof(*ip) || tot_len < hlen || (void *)ip + hlen > data_end ||
	    tot_len > room) /* the frame may be longer (padding), never shorter */
		return MALFORMED;
	if (bpf_ntohs(ip->frag_off) & ODEFLOW_IP_OFFSET_MASK)
		return FRAGMENT;
	pkt->l3 = ip;
	pkt->ip_len = tot_len;
	pkt->key.proto = ip->protocol;
	map_ipv4(pkt->key.saddr, ip->saddr);
	map_ipv4(pkt->key.daddr, ip->daddr);
	return parse_ports((void *)ip + hlen, (void *)ip + tot_len, data_end,
			   bpf_ntohs(ip->frag_off) & ODEFLOW_IP_MF, pkt);
}

static __always_inline bool ipv6_is_ext(__u8 nh)
{
	return nh == ODEFLOW_IPPROTO_HOPOPTS || nh == ODEFLOW_IPPROTO_ROUTING ||
	       nh == ODEFLOW_IPPROTO_DSTOPTS || nh == ODEFLOW_IPPROTO_FRAGMENT;
}

static __always_inline enum parse_result parse_ipv6(struct ipv6hdr *ip, void *data_end, __u32 room,
						    struct packet *pkt)
{
	void *l4 = ip + 1, *ip_end;
	bool first_fragment = false;
	__u32 payload_len;
	__u8 nh;

	if ((void *)(ip + 1) > data_end || ip->version != 6)
		return MALFORMED;
	payload_len = load_be16_len(&ip->payload_len);
	ip_end = l4 + payload_len;
	/* 0: a jumbogram, never seen by XDP */
	if (payload_len == 0 || payload_len + sizeof(*ip) > room)
		return MALFORMED;
	nh = ip->nexthdr;
	for (int i = 0; i < ODEFLOW_MAX_IPV6_EXT && ipv6_is_ext(nh); i++) {
		struct ipv6_opt_hdr *ext = l4;

		if (l4 + 8 > data_end) /* every extension header is at least 8 bytes */
			return MALFORMED;
		if (nh == ODEFLOW_IPPROTO_FRAGMENT) {
			struct frag_hdr *frag = l4;

			if (bpf_ntohs(frag->frag_off) & ODEFLOW_IP6_OFFSET_MASK)
				return FRAGMENT;
			first_fragment = bpf_ntohs(frag->frag_off) & ODEFLOW_IP6_MF;
			l4 += sizeof(*frag);
		} else {
			l4 += (ext->hdrlen + 1) * 8;
		}
		nh = ext->nexthdr;
		if (l4 > ip_end)
			return MALFORMED;
	}
	if (ipv6_is_ext(nh))
		return MALFORMED; /* more extension headers than the bound */
	pkt->l3 = ip;
	/* as user/capture/packet.c: a jumbo length (never in one XDP buffer) saturates */
	pkt->ip_len = payload_len + sizeof(*ip) > 0xffff ? 0xffff : payload_len + sizeof(*ip);
	pkt->ipv6 = true;
	pkt->key.proto = nh;
	__builtin_memcpy(pkt->key.saddr, &ip->saddr, 16);
	__builtin_memcpy(pkt->key.daddr, &ip->daddr, 16);
	return parse_ports(l4, ip_end, data_end, first_fragment, pkt);
}

static __always_inline enum parse_result parse(void *data, void *data_end, __u32 frame_len,
					       struct packet *pkt)
{
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	/* kept as a number: the verifier refuses 32-bit math on pointers */
	__u32 l3_offset = sizeof(*eth);
	__u16 type;

	if (l3 > data_end)
		return MALFORMED;
	type = bpf_ntohs(eth->h_proto);
	for (int i = 0; i < ODEFLOW_MAX_VLAN_TAGS &&
			(type == ODEFLOW_ETH_P_8021Q || type == ODEFLOW_ETH_P_8021AD); i++) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			return MALFORMED;
		type = bpf_ntohs(vlan->h_vlan_encapsulated_proto);
		l3 = vlan + 1;
		l3_offset += sizeof(*vlan);
	}
	pkt->l3_off = l3_offset;
	if (type == ODEFLOW_ETH_P_IPV4)
		return parse_ipv4(l3, data_end, frame_len - l3_offset, pkt);
	if (type == ODEFLOW_ETH_P_IPV6)
		return parse_ipv6(l3, data_end, frame_len - l3_offset, pkt);
	return NON_IP;
}

/* RFC 1624 incremental update of a one's complement checksum for one
 * changed 16-bit word (all in host order). */
static __always_inline __u16 csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Rewrites the DSCP (upper six bits of the IPv4 TOS / IPv6 traffic class),
 * keeping the two ECN bits. */
static __always_inline void mark_dscp(struct packet *pkt, __u32 dscp, void *data_end)
{
	if (pkt->ipv6) {
		__be32 *word = pkt->l3; /* version:4, traffic class:8, flow label:20 */
		__u32 w;

		if ((void *)(word + 1) > data_end)
			return;
		w = bpf_ntohl(*word);
		w = (w & ~(0x3fU << 22)) | (dscp & 0x3f) << 22;
		*word = bpf_htonl(w);
	} else {
		struct iphdr *ip = pkt->l3;
		__u8 *word = pkt->l3; /* version/IHL and TOS: the 16 bits the checksum sees */
		__u8 tos;

		if ((void *)(ip + 1) > data_end)
			return;
		tos = (dscp & 0x3f) << 2 | (word[1] & 3);
		ip->check = bpf_htons(csum_replace16(bpf_ntohs(ip->check), word[0] << 8 | word[1],
						     word[0] << 8 | tos));
		word[1] = tos;
	}
}

/* Token bucket as GCRA (see struct rate_bucket): the packet passes if the
 * bucket of its class, interface and hook still holds its bytes (a new
 * bucket is full). A zero rate passes nothing; no bucket to be had (never:
 * the map holds one for every class, port and hook) passes everything. */
static __always_inline bool rate_allows(__u32 class_id, const struct policy *p,
					const struct packet *pkt)
{
	struct rate_key rk = { .class_id = class_id, .ifindex = pkt->ifindex, .egress = pkt->egress };
	struct rate_bucket *b = bpf_map_lookup_elem(&rate_buckets, &rk);
	__u64 now, cost, burst_ns, tat;
	bool pass;

	if (!p->rate_bytes)
		return false;
	if (!b) {
		struct rate_bucket full = {};

		bpf_map_update_elem(&rate_buckets, &rk, &full, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&rate_buckets, &rk);
		if (!b)
			return true;
	}
	cost = pkt->ip_len * NSEC_PER_SEC / p->rate_bytes;
	/* burst * 1e9 overflows beyond ~18 GB of burst: clamp, it means "huge" */
	burst_ns = p->burst_bytes > (~0ULL / NSEC_PER_SEC) ? ~0ULL / 2
							   : p->burst_bytes * NSEC_PER_SEC / p->rate_bytes;
	now = bpf_ktime_get_ns();
	bpf_spin_lock(&b->lock);
	tat = b->tat_ns > now ? b->tat_ns : now;
	pass = tat - now + cost <= burst_ns;
	if (pass)
		b->tat_ns = tat + cost;
	bpf_spin_unlock(&b->lock);
	return pass;
}

static __always_inline void count_class_action(__u32 class_id, __u32 outcome, __u32 ip_len)
{
	__u32 key = class_id * OUTCOME_COUNT + outcome;
	struct class_traffic *t = bpf_map_lookup_elem(&class_actions, &key);

	if (t) { /* per-CPU */
		t->packets++;
		t->bytes += ip_len;
	}
}

/* Now, in ticks of the coarse clock: a read of the time the kernel last
 * kept, much cheaper than bpf_ktime_get_ns() (bench_xdp's reference rows). */
static __always_inline __u32 coarse_tick(void)
{
	return bpf_ktime_get_coarse_ns() >> ODEFLOW_TICK_SHIFT;
}

/* Whether a verdict (or a direction's decision) last used at *seen_tick
 * has been idle past --verdict-idle; if not, marks it used now (a write at
 * most once a tick). */
static __always_inline bool idle_expired(__u32 *seen_tick, __u32 now)
{
	__u32 seen = *seen_tick;

	if (seen == now)
		return false;
	if (seen && verdict_idle_ticks && now - seen > verdict_idle_ticks)
		return true;
	*seen_tick = now;
	return false;
}

/* Does the class's policy do anything but pass? */
static __always_inline bool policy_acts(__u32 class_id)
{
	struct policy *p = bpf_map_lookup_elem(&policy, &class_id);

	return p && p->action != ACTION_PASS;
}

/* The XDP action for a packet of a classified connection. A provisional
 * verdict (the cascade is still collecting windows) is a guess, and an
 * Unknown one names nothing the model knows: either may mark (a QoS hint,
 * harmless if wrong) but never drops or rate-limits, whatever the policy
 * map says. */
static __always_inline int enforce(struct packet *pkt, __u32 class_id, bool guess,
				   void *data_end, struct counters *cnt)
{
	struct policy *p = bpf_map_lookup_elem(&policy, &class_id);
	__u32 action = p ? p->action : ACTION_PASS;

	if (p && action == ACTION_MARK) {
		mark_dscp(pkt, p->dscp, data_end);
		cnt->action_mark++;
		count_class_action(class_id, OUTCOME_MARK, pkt->ip_len);
		return XDP_PASS;
	}
	if (p && action == ACTION_DROP && !guess) {
		cnt->action_drop++;
		count_class_action(class_id, OUTCOME_DROP, pkt->ip_len);
		return XDP_DROP;
	}
	if (p && action == ACTION_RATE_LIMIT && !guess) {
		if (rate_allows(class_id, p, pkt)) {
			cnt->action_rate_pass++;
			count_class_action(class_id, OUTCOME_RATE_PASS, pkt->ip_len);
			return XDP_PASS;
		}
		cnt->action_rate_drop++;
		count_class_action(class_id, OUTCOME_RATE_DROP, pkt->ip_len);
		return XDP_DROP;
	}
	cnt->action_pass++;
	count_class_action(class_id, OUTCOME_PASS, pkt->ip_len);
	return XDP_PASS;
}

/* --teach: is this connection (canonical key) one whose first packets the
 * teacher gets? Off, the whole path is gone (teach_below is read-only data). */
static __always_inline bool taught(const struct flow_key *connection)
{
	return teach_below && teach_sampled(connection, teach_seed, teach_below);
}

/* Copies the packet, its first ODEFLOW_TEACH_BYTES from the IP header on,
 * into the ring "teach" (the bytes through the hook's helper: they may lie
 * past the first buffer of a multi-buffer frame, or the linear part of an
 * skb). A full ring loses the copy, counted, and nothing else. `tc` is a
 * constant each entry point passes down, as an argument (not a field of
 * pkt): the compiler must drop the other hook's helper, which the
 * verifier refuses in this program's type. */
static __always_inline void teach_copy(const struct packet *pkt, bool tc, struct counters *cnt)
{
	__u32 zero = 0, len = pkt->ip_len, room = pkt->frame_len - pkt->l3_off;
	struct teach_packet_buf *b = bpf_map_lookup_elem(&teach_buf, &zero);
	long err;

	if (!b)
		return;
	if (len > room) /* never: the parser held the IP length to the frame */
		len = room;
	if (len > ODEFLOW_TEACH_BYTES)
		len = ODEFLOW_TEACH_BYTES;
	if (len < 1)
		return;
	if (tc)
		err = bpf_skb_load_bytes(pkt->ctx, pkt->l3_off, b->bytes, len);
	else
		err = bpf_xdp_load_bytes(pkt->ctx, pkt->l3_off, b->bytes, len);
	if (err)
		return;
	b->head.key = pkt->key;
	b->head.ts_ns = bpf_ktime_get_ns();
	b->head.ip_len = pkt->ip_len;
	b->head.captured = len;
	b->head.pad = 0;
	if (bpf_ringbuf_output(&teach, b, sizeof(b->head) + len, BPF_RB_NO_WAKEUP))
		cnt->teach_ring_drops++;
	else
		cnt->teach_packets++;
}

/* Copies the completed window into the record's slots and clears the
 * direction's sizes (a zero size marks a slot not yet written, see sample()).
 * Returns false if a slot was claimed but not yet written. */
static __always_inline bool collect(struct flow_state *st, struct ring_window *rec, __u32 n)
{
	__u32 *st_offsets = slot_offsets_us(st + 1), *rec_offsets = slot_offsets_us(rec + 1);
	__u16 *st_sizes = slot_sizes(st + 1, n), *rec_sizes = slot_sizes(rec + 1, n);
	bool complete = true;

	for (__u32 i = 0; i < n; i++) {
		__u16 size = st_sizes[i];

		if (size == 0)
			complete = false;
		st_sizes[i] = 0;
		rec_sizes[i] = size;
		rec_offsets[i] = st_offsets[i];
	}
	return complete;
}

static __always_inline void clear_sizes(struct flow_state *st, __u32 n)
{
	__u16 *sizes = slot_sizes(st + 1, n);

	for (__u32 i = 0; i < n; i++) {
		barrier_var(i); /* else clang calls memset, which BPF does not have */
		sizes[i] = 0;
	}
}

/* Submitting a record wakes a reader sleeping on the ring whenever it has
 * read everything before it, which a prompt agent always has. A wakeup is an
 * interrupt this CPU sends itself, many times the rest of the packet's cost
 * (bench_xdp's waking row). So windows go into the ring with BPF_RB_NO_WAKEUP, and the
 * agent is woken only when it has said it is going to sleep, as with AF_XDP's
 * need_wakeup flag. The agent raises the flag and then looks at the ring once
 * more (window_ring_poll in user/loader/window_ring.c); this side commits its record
 * (the kernel's commit is an xchg, a full barrier) and then reads the flag:
 * one of the two always sees the other, so no window waits unseen. The
 * wakeup rides on an empty record, reserved and discarded, which readers
 * skip. */
static __always_inline void wake_agent_if_asleep(struct counters *cnt)
{
	__u32 zero = 0, *asleep = bpf_map_lookup_elem(&wakeup, &zero);
	void *nudge;

	if (!asleep || !*asleep)
		return;
	nudge = bpf_ringbuf_reserve(&windows, sizeof(__u64), 0);
	if (!nudge)
		return; /* full: the agent is not asleep for long; the next window tries again */
	*asleep = 0; /* two CPUs may both wake it: harmless */
	bpf_ringbuf_discard(nudge, BPF_RB_FORCE_WAKEUP);
	cnt->agent_wakeups++;
}

/* Packets of this window to let pass unrecorded before its first slot:
 * --skip applies to a direction's first window only; re-armed and
 * resampled windows follow on consecutively. */
static __always_inline __u32 skipped(const struct flow_state *st)
{
	return st->window ? 0 : skip_n;
}

/* Called by the packet that claimed the last slot. One record per window,
 * not per packet: the ring carries N times less, and userspace needs whole
 * windows anyway. A full ring never holds a packet back: the record is lost
 * and counted, and the direction samples its next N packets instead (the
 * agent, which never saw the lost window, would never re-arm it). */
static __always_inline void emit(const struct packet *pkt, struct flow_state *st, __u32 n,
				 __u64 now, struct counters *cnt)
{
	struct ring_window *rec = bpf_ringbuf_reserve(&windows, RING_WINDOW_BYTES(n), 0);

	if (!rec) {
		clear_sizes(st, n);
		st->count = skipped(st);
		cnt->ring_drops++;
		return;
	}
	if (!collect(st, rec, n)) {
		/* Another CPU claimed a slot and has not written it yet: start
		 * the window over rather than send a torn one. */
		bpf_ringbuf_discard(rec, 0);
		st->count = skipped(st);
		cnt->torn_windows++;
		return;
	}
	rec->key = pkt->key;
	rec->first_ns = st->first_ns;
	rec->last_ns = now;
	rec->window = st->window;
	rec->n = n;
	rec->egress = pkt->egress;
	rec->ifindex = pkt->ifindex;
	st->first_ns = now; /* from now on, the emission's time (see resample) */
	st->phase = FLOW_EMITTED;
	bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
	cnt->windows++;
	wake_agent_if_asleep(cnt);
}

/* A hash of the direction's key, seeded at load. The key is the first
 * member of struct packet, which is 8-byte aligned: five 64-bit words. */
static __always_inline __u64 direction_hash(const struct packet *pkt)
{
	const __u64 *w = (const __u64 *)&pkt->key;
	__u64 h = hash_seed;

	for (int i = 0; i < (int)(sizeof(pkt->key) / sizeof(__u64)); i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 29);
}

/* Records packet i (0 or 1) of a direction into the state it is inserted
 * with, at its slot after the skipped packets. */
static __always_inline void put_first(struct flow_state *st, __u32 n, __u32 i, __u16 ip_len,
				      __u64 ts_ns)
{
	__u32 slot = i - skip_n;

	if (i < skip_n)
		return;
	/* slot is 0 or 1 here; the mask states its bound for verifiers (6.1)
	 * that lose it in the subtraction */
	slot &= ODEFLOW_MAX_WINDOW - 1;
	barrier_var(slot);
	if (slot >= n)
		return;
	if (slot == 0)
		st->first_ns = ts_ns;
	slot_offsets_us(st + 1)[slot] = ts_ns > st->first_ns ? (ts_ns - st->first_ns) / NSEC_PER_USEC : 0;
	slot_sizes(st + 1, n)[slot] = ip_len;
}

enum admission {
	HELD,      /* the direction's first packet: held, nothing inserted */
	ADMITTED,  /* its second: inserted with both packets */
	JOIN,      /* another CPU inserted it first: sample this packet there */
};

/* A direction not in "flows": its first packet waits in a slot of its
 * bucket of "first_packets" (a free one, else the one held longest);
 * its second, finding it there, inserts the direction with both. A first
 * packet pushed out of its bucket by newer ones before its second came
 * only delays admission by a packet (counted). */
static __always_inline enum admission admit(const struct packet *pkt,
					    const struct flow_key *connection, bool tc, __u32 n,
					    struct counters *cnt)
{
	__u64 h = direction_hash(pkt), now = bpf_ktime_get_ns();
	__u32 idx = h & (ODEFLOW_FIRST_PACKET_BUCKETS - 1), tag = (__u32)(h >> 32) | 1, zero = 0;
	struct first_packet_bucket *b = bpf_map_lookup_elem(&first_packets, &idx);
	struct first_packet *held = NULL, *oldest;
	struct flow_state *st;

	if (!b)
		return HELD;
	oldest = &b->slot[0];
	for (int i = 0; i < ODEFLOW_FIRST_PACKET_WAYS; i++) {
		struct first_packet *slot = &b->slot[i];

		if (slot->tag == tag) {
			held = slot;
			break;
		}
		/* an empty slot first, else the one held longest */
		if (oldest->tag && (!slot->tag || slot->ts_ns < oldest->ts_ns))
			oldest = slot;
	}
	if (!held) {
		if (oldest->tag)
			cnt->admit_overwrites++;
		oldest->tag = tag;
		oldest->ip_len = pkt->ip_len;
		oldest->ts_ns = now;
		cnt->first_packets++;
		/* the first packet of a UDP connection (a QUIC Initial, a STUN
		 * request) is often what nDPI needs most */
		if (taught(connection))
			teach_copy(pkt, tc, cnt);
		return HELD;
	}
	held->tag = 0;
	if (taught(connection))
		teach_copy(pkt, tc, cnt);
	/* built here rather than on the 512-byte stack */
	st = bpf_map_lookup_elem(&new_flow, &zero);
	if (!st)
		return HELD;
	st->first_ns = now;
	st->count = 2;
	st->window = 0;
	st->phase = FLOW_SAMPLING;
	st->class_id = 0;
	st->decision = 0;
	slot_sizes(st + 1, n)[0] = 0; /* a stale slot would hide an unwritten one */
	slot_sizes(st + 1, n)[1] = 0;
	put_first(st, n, 0, held->ip_len, held->ts_ns);
	put_first(st, n, 1, pkt->ip_len, now);
	if (bpf_map_update_elem(&flows, &pkt->key, st, BPF_NOEXIST))
		return JOIN;
	cnt->new_flows++;
	if (skip_n == 0 && n == 2) { /* the second packet filled the window */
		struct flow_state *in = bpf_map_lookup_elem(&flows, &pkt->key);

		if (in)
			emit(pkt, in, n, now, cnt);
	}
	return ADMITTED;
}

/* Records one packet of a direction being sampled.
 *
 * Two CPUs and one direction: RSS hashes a direction's 5-tuple to one RX
 * queue, so one CPU normally sees all its packets in order. When two CPUs do
 * race (RPS, an IRQ moved, generic XDP), the atomic add on count still gives
 * every slot to exactly one packet and the last slot to exactly one emitter,
 * so a window is emitted once. What the atomic cannot order is the slot
 * write: the emitter may read a slot whose owner has claimed it but not yet
 * stored it. Real sizes are never 0 (an IP header alone is 20 bytes), so a
 * zero size betrays such a slot and the window is restarted (counted as
 * torn) instead of being sent with a hole. Likewise a racing slot may read
 * first_ns before slot 0's owner has set it; its offset is clamped to 0.
 *
 * A direction whose window got no verdict for resample_after_ns (the record
 * or the verdict was lost: the agent was killed or behind, the model failed
 * on it, the verdicts LRU evicted the connection) is sampled again here, so
 * no direction passes unclassified for longer than that while it sends. */
static __always_inline void sample(const struct packet *pkt, const struct flow_key *connection,
				   bool tc, struct flow_state *st, struct counters *cnt)
{
	__u32 n = window_n, claimed, slot;
	__u64 now, offset;

	if (!st) {
		if (admit(pkt, connection, tc, n, cnt) != JOIN)
			return;
		st = bpf_map_lookup_elem(&flows, &pkt->key);
		if (!st)
			return;
	}
	if (st->phase != FLOW_SAMPLING) {
		/* waiting for the agent: the coarse clock is enough to tell 2 s */
		if (bpf_ktime_get_coarse_ns() < st->first_ns + resample_after_ns)
			return; /* the agent has not answered yet */
		st->count = 0;
		st->window++;
		st->phase = FLOW_SAMPLING;
		cnt->resampled++;
	}
	claimed = __sync_fetch_and_add(&st->count, 1);
	/* in the first window, count is the direction's packet number (the
	 * two admitted with it counted) */
	if (st->window == 0 && claimed < ODEFLOW_TEACH_PACKETS && taught(connection))
		teach_copy(pkt, tc, cnt);
	if (claimed < skipped(st))
		return;
	slot = claimed - skipped(st);
	if (slot >= n)
		return; /* the window is full; its last packet is emitting it */
	now = bpf_ktime_get_ns();
	if (slot == 0)
		st->first_ns = now;
	offset = now > st->first_ns ? (now - st->first_ns) / NSEC_PER_USEC : 0;
	slot_offsets_us(st + 1)[slot] = offset > 0xffffffffULL ? 0xffffffffU : offset; /* > 71 min */
	slot_sizes(st + 1, n)[slot] = pkt->ip_len;
	if (slot == n - 1)
		emit(pkt, st, n, now, cnt);
}

/* A direction's decision forgotten (idle past --verdict-idle): it is
 * sampled again from its next packet. */
static __always_inline void forget_decision(struct flow_state *st)
{
	st->decision = 0;
	if (st->phase != FLOW_SAMPLING) {
		st->count = 0;
		st->window++;
		st->phase = FLOW_SAMPLING;
	}
}

/* The first packet of a tick to find a verdict: the verdict expires if it
 * was idle past --verdict-idle (NULL: none), else it and this direction's
 * decision are marked used now, so neither expires while the connection
 * sends. A write per connection and tick, not per packet. */
static __always_inline struct verdict *verdict_touched(struct verdict *v,
						       const struct flow_key *connection,
						       const struct flow_key *direction, __u32 now)
{
	struct flow_state *st;

	if (idle_expired(&v->seen_tick, now)) {
		bpf_map_delete_elem(&verdicts, connection);
		return NULL;
	}
	st = bpf_map_lookup_elem(&flows, direction);
	if (st && (st->decision & FLOW_DECIDED))
		st->seen_tick = now;
	return v;
}

/* Whether another load of this program works on this interface for now
 * (see struct active_instance): then this one passes every packet on,
 * untouched and uncounted. */
static __always_inline bool standing_aside(__u32 ifindex)
{
	__u32 zero = 0;
	struct active_instance *a = bpf_map_lookup_elem(&active, &zero);

	return a && a->instance && a->ifindex == ifindex && a->instance != instance;
}

/* One packet, whichever hook runs the program: XDP_PASS or XDP_DROP.
 * frame_len counts the whole frame from its Ethernet header; data..data_end
 * is the part that holds the headers; ifindex is the interface it was seen
 * on, egress whether it leaves there rather than arrives; ctx is the hook's
 * context, tc whether it is an __sk_buff. */
static __always_inline int handle_packet(void *ctx, bool tc, void *data, void *data_end,
					 __u32 frame_len, __u32 ifindex, bool egress)
{
	struct packet pkt = { .ctx = ctx, .frame_len = frame_len, .ifindex = ifindex,
			      .egress = egress };
	struct flow_key connection;
	struct flow_state *st;
	struct verdict *v;
	__u32 now_tick = 0;
	__u8 seen_bit;
	int action = XDP_PASS;
	__u32 zero = 0;
	struct counters *cnt;

	if (standing_aside(ifindex))
		return XDP_PASS;
	cnt = bpf_map_lookup_elem(&counters, &zero);
	if (!cnt)
		return XDP_PASS; /* never: the array has its one entry */
	cnt->packets++; /* per-CPU: no atomics needed */
	cnt->bytes += frame_len;
	switch (parse(data, data_end, frame_len, &pkt)) {
	case PARSED:
		break;
	case NON_IP:
		cnt->non_ip++;
		return XDP_PASS;
	case OTHER_L4:
		cnt->other_l4++;
		return XDP_PASS;
	case FRAGMENT:
		cnt->fragments++;
		return XDP_PASS;
	default:
		cnt->malformed++;
		return XDP_PASS;
	}
	if (pkt.key.proto == IPPROTO_TCP)
		cnt->tcp++;
	else
		cnt->udp++;

	seen_bit = flow_key_canonical(&pkt.key, &connection) ? VERDICT_SEEN_REVERSE
								 : VERDICT_SEEN_FORWARD;
	v = bpf_map_lookup_elem(&verdicts, &connection);
	if (v && verdict_idle_ticks) {
		now_tick = coarse_tick();
		if (v->seen_tick != now_tick)
			v = verdict_touched(v, &connection, &pkt.key, now_tick);
	}
	if (v) {
		cnt->verdict_hits++;
		action = enforce(&pkt, v->class_id, v->flags & (VERDICT_PROVISIONAL | VERDICT_UNKNOWN),
				 data_end, cnt);
		/* A final verdict ends sampling of a direction whose first window
		 * the agent has seen; a provisional one keeps the cascade's
		 * re-armed windows filling. */
		if ((v->flags & (VERDICT_PROVISIONAL | seen_bit)) == seen_bit)
			return action;
	}
	st = bpf_map_lookup_elem(&flows, &pkt.key);
	if (!v && st && (st->decision & FLOW_DECIDED) && verdict_idle_ticks &&
	    idle_expired(&st->seen_tick, now_tick ? now_tick : coarse_tick()))
		forget_decision(st); /* idle as long as its verdict: gone with it */
	if (!v && st && (st->decision & FLOW_DECIDED)) {
		/* "verdicts" lost the connection (its LRU evicted it): the
		 * direction's own entry still says what to do, so not a packet
		 * of it passes unenforced for that */
		if (!(st->decision & FLOW_VERDICT_LOST)) {
			st->decision |= FLOW_VERDICT_LOST;
			if (!(st->decision & FLOW_PROVISIONAL) && policy_acts(st->class_id))
				cnt->enforced_evicted++;
		}
		action = enforce(&pkt, st->class_id,
				 st->decision & (FLOW_PROVISIONAL | FLOW_UNKNOWN), data_end, cnt);
		if (!(st->decision & FLOW_PROVISIONAL))
			return action;
	}
	sample(&pkt, &connection, tc, st, cnt);
	return action;
}

/* xdp.frags: the program takes multi-buffer frames too, so it attaches where
 * jumbo frames need them (a native veth or NIC with a large MTU refuses a
 * program without it). In libxdp's dispatcher the dispatcher carries that
 * flag, and only while every program in it has it. */
SEC("xdp.frags")
int odeflow_xdp(struct xdp_md *ctx)
{
	return handle_packet(ctx, false, (void *)(long)ctx->data, (void *)(long)ctx->data_end,
			     bpf_xdp_get_buff_len(ctx), ctx->ingress_ifindex, false);
}

/* How libxdp's dispatcher runs odeflow_xdp beside other programs: at this
 * priority, and the next program gets every packet it passes (a DROP ends
 * the chain). */
struct {
	__uint(priority, ODEFLOW_XDP_RUN_PRIO);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(odeflow_xdp);

/* The same at TC ingress, attached through a tcx link (`--hook tcx`), where
 * the kernel chains any number of programs: TCX_NEXT hands the packet to
 * the next one (or to the classic tc filters). At ingress skb->data is the
 * Ethernet header and skb->len the whole frame; headers past the linear
 * part count as malformed and pass, as past XDP's first buffer. The loader
 * loads only the entry points of the hooks it attaches to. */
SEC("tc")
int odeflow_tc(struct __sk_buff *skb)
{
	int action = handle_packet(skb, true, (void *)(long)skb->data, (void *)(long)skb->data_end,
				   skb->len, skb->ifindex, false);

	return action == XDP_DROP ? TCX_DROP : TCX_NEXT;
}

/* A packet forwarded here from an interface whose ingress the sampler is
 * attached to (skb->ingress_ifindex: where it arrived; 0 for the host's own
 * packets): sampled and enforced there already, so left alone here, or
 * its direction would count every packet twice. */
static __always_inline bool seen_at_ingress(__u32 arrived_on)
{
	struct attached_port *p;

	if (!arrived_on)
		return false;
	p = bpf_map_lookup_elem(&ports, &arrived_on);
	return p && (p->hooks & PORT_INGRESS);
}

/* TC egress, through a tcx link (`--direction out` or `both`): what leaves
 * the interface, the host's own packets and those it forwards. skb->data is
 * the Ethernet header here too. */
SEC("tc")
int odeflow_tc_egress(struct __sk_buff *skb)
{
	int action;

	if (seen_at_ingress(skb->ingress_ifindex)) {
		__u32 zero = 0;
		struct counters *cnt = bpf_map_lookup_elem(&counters, &zero);

		if (cnt)
			cnt->egress_forwarded++;
		return TCX_NEXT;
	}
	action = handle_packet(skb, true, (void *)(long)skb->data, (void *)(long)skb->data_end,
			       skb->len, skb->ifindex, true);
	return action == XDP_DROP ? TCX_DROP : TCX_NEXT;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
