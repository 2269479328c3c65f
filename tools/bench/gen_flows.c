/* SPDX-License-Identifier: MIT */
/* Writes a synthetic capture for the agent benchmark: FLOWS one-directional
 * UDP flows of PACKETS packets each, from 10.200.x.y to 10.200.0.2, K flows
 * interleaved at a time (as concurrent flows are on a link), with varied
 * sizes. Replayed at R packets per second it offers R / PACKETS new flows
 * per second.
 *   gen_flows OUT.pcap FLOWS PACKETS [CONCURRENT [KEYS [DIRECTIONS [SIZE]]]]
 * DIRECTIONS "both" makes each flow a conversation: PACKETS packets each
 * way, the answers (from 10.200.0.2) taking turns with the requests, so a
 * replay at R packets per second offers R / (2 PACKETS) new connections per
 * second and twice as many windows. "one" is the default.
 * KEYS is how the flows' keys are chosen: "spread" (the default: one after
 * the other), or a hostile sender's choice against the unseeded FNV-1a
 * hash userspace's tables once used: "collide-directions" (the direction's
 * key, as `odeflow classify` and pcap2npy keep it) or "collide-connections"
 * (the connection's canonical key, as the cascade keeps it), every key's
 * hash in the same COLLIDE_SLOTS slots of any table up to 2^COLLIDE_BITS.
 * SIZE fixes every packet's IP length (a flood's small packets: more of
 * them a second, and per byte of capture). */
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/flow_key.h"

#define COLLIDE_SLOTS 512
#define COLLIDE_BITS 18

enum keys { KEYS_SPREAD, KEYS_COLLIDE_DIRECTIONS, KEYS_COLLIDE_CONNECTIONS };

/* Flow number i's source: 10.200.1.0 and up, then the next source port. */
static uint32_t flow_saddr(long i)
{
	return 0x0ac80000u | (uint32_t)(256 + i % 65000);
}

static uint16_t flow_sport(long i)
{
	return (uint16_t)(1024 + i / 65000);
}

/* The hash the attack aims at: FNV-1a over the key's bytes, no seed. */
static uint64_t fnv1a(const struct flow_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static bool collides(long i, enum keys keys)
{
	struct flow_key k = { .sport = flow_sport(i), .dport = 9, .proto = IPPROTO_UDP };
	uint32_t s = htonl(flow_saddr(i)), d = htonl(0x0ac80002u);

	k.saddr[10] = k.saddr[11] = k.daddr[10] = k.daddr[11] = 0xff; /* IPv4-mapped */
	memcpy(k.saddr + 12, &s, 4);
	memcpy(k.daddr + 12, &d, 4);
	if (keys == KEYS_COLLIDE_CONNECTIONS)
		flow_key_canonical(&k, &k);
	return (fnv1a(&k) & ((1u << COLLIDE_BITS) - 1)) < COLLIDE_SLOTS;
}

static uint16_t ip_checksum(const void *hdr, size_t len)
{
	const uint16_t *p = hdr;
	uint32_t sum = 0;

	for (size_t i = 0; i < len / 2; i++)
		sum += p[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* flow: the flow's number among the possible keys (flow_saddr, flow_sport);
 * reverse: its answer, from 10.200.0.2 back to the flow's source */
static void write_packet(pcap_dumper_t *out, long flow, bool reverse, int size, long seq)
{
	uint8_t frame[14 + 1500] = { 0 };
	struct iphdr *ip = (struct iphdr *)(frame + 14);
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	struct pcap_pkthdr h = { .ts = { .tv_sec = seq / 1000000, .tv_usec = seq % 1000000 } };

	frame[0] = 0x02; /* locally administered MACs */
	frame[6] = 0x02;
	frame[12] = 0x08; /* IPv4 */
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)size);
	ip->saddr = reverse ? htonl(0x0ac80002u) : htonl(flow_saddr(flow)); /* 10.200.0.2 */
	ip->daddr = reverse ? htonl(flow_saddr(flow)) : htonl(0x0ac80002u);
	ip->check = ip_checksum(ip, sizeof(*ip));
	udp->source = htons(reverse ? 9 : flow_sport(flow));
	udp->dest = htons(reverse ? flow_sport(flow) : 9);
	udp->len = htons((uint16_t)(size - 20));
	h.caplen = h.len = (bpf_u_int32)(14 + size);
	pcap_dump((u_char *)out, &h, frame);
}

int main(int argc, char **argv)
{
	static const char *const key_choices[] = { "spread", "collide-directions",
						   "collide-connections" };
	long flows, packets, concurrent = 64, size = 0, *keys_of, per_flow;
	enum keys keys = KEYS_SPREAD;
	bool both = false;
	pcap_t *dead;
	pcap_dumper_t *out;
	long seq = 0;

	if (argc < 4 || argc > 8) {
		fprintf(stderr, "usage: gen_flows OUT.pcap FLOWS PACKETS [CONCURRENT [KEYS "
			"[DIRECTIONS [SIZE]]]]\n");
		return 2;
	}
	if (cli_strtol(argv[2], 1, 4000000, &flows) || cli_strtol(argv[3], 1, 1000, &packets) ||
	    (argc >= 5 && cli_strtol(argv[4], 1, 100000, &concurrent))) {
		fprintf(stderr, "gen_flows: FLOWS (1 to 4000000), PACKETS (1 to 1000) and "
			"CONCURRENT (1 to 100000) are whole numbers\n");
		return 2;
	}
	if (argc >= 7) {
		both = !strcmp(argv[6], "both");
		if (!both && strcmp(argv[6], "one")) {
			fprintf(stderr, "gen_flows: DIRECTIONS is one or both\n");
			return 2;
		}
	}
	per_flow = both ? 2 * packets : packets;
	if (argc == 8 && cli_strtol(argv[7], 28, 1460, &size)) {
		fprintf(stderr, "gen_flows: SIZE is a whole number from 28 to 1460\n");
		return 2;
	}
	if (argc >= 6) {
		while (keys < 3 && strcmp(argv[5], key_choices[keys]))
			keys++;
		if (keys == 3) {
			fprintf(stderr, "gen_flows: KEYS is spread, collide-directions or "
				"collide-connections\n");
			return 2;
		}
	}
	/* flow number -> its key's number: every candidate, or those that collide */
	keys_of = malloc(sizeof(long) * (size_t)flows);
	if (!keys_of)
		return 1;
	for (long f = 0, i = 0; f < flows; i++)
		if (keys == KEYS_SPREAD || collides(i, keys))
			keys_of[f++] = i;
	dead = pcap_open_dead(DLT_EN10MB, 2048);
	out = pcap_dump_open(dead, argv[1]);
	if (!out) {
		fprintf(stderr, "gen_flows: %s: %s\n", argv[1], pcap_geterr(dead));
		return 1;
	}
	/* CONCURRENT slots take turns, one packet each; a slot whose flow has
	 * sent all its packets starts the next flow. Slot j waits j * PACKETS /
	 * CONCURRENT turns before its first flow, so flows end evenly spread
	 * rather than all at once. */
	long *sent = calloc((size_t)concurrent, sizeof(long)), *flow = calloc((size_t)concurrent, sizeof(long));
	long next_flow = 0, done = 0;

	if (!sent || !flow)
		return 1;
	for (long j = 0; j < concurrent; j++) {
		sent[j] = -(j * per_flow / concurrent);
		flow[j] = -1;
	}
	while (done < flows) {
		for (long j = 0; j < concurrent && done < flows; j++) {
			if (sent[j] < 0) {
				sent[j]++;
				continue;
			}
			if (flow[j] < 0) {
				if (next_flow == flows)
					continue;
				flow[j] = next_flow++;
			}
			write_packet(out, keys_of[flow[j]], both && sent[j] % 2,
				     size ? (int)size
					  : 60 + (int)((flow[j] * 7919 + sent[j] * 104729) % 1400),
				     seq++);
			if (++sent[j] == per_flow) {
				sent[j] = 0;
				flow[j] = -1;
				done++;
			}
		}
	}
	free(sent);
	free(flow);
	free(keys_of);
	pcap_dump_close(out);
	pcap_close(dead);
	return 0;
}
