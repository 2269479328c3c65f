/* SPDX-License-Identifier: MIT */
/* Crafted frames for the XDP tests: Ethernet, VLAN tags, IPv4 or IPv6 with
 * extension headers, TCP or UDP. Header-only, included by the test binaries
 * that need it. */
#ifndef ODEFLOW_TEST_XDP_PACKETS_H
#define ODEFLOW_TEST_XDP_PACKETS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#define PKT_MAX 9100 /* room for a jumbo frame (9000-byte MTU) */

struct pkt_spec {
	int family;              /* 4 or 6 */
	int vlans;               /* VLAN tags in front of IP (802.1ad outer, 802.1Q inner) */
	uint8_t proto;           /* IPPROTO_TCP, IPPROTO_UDP, or anything else */
	const char *saddr, *daddr;
	uint16_t sport, dport;
	size_t payload;          /* bytes after the TCP/UDP header */
	uint16_t frag;           /* IPv4: flags and offset (host order); IPv6: a fragment header's */
	int ipv6_frag_header;    /* IPv6: add a fragment header carrying frag */
	const uint8_t *ext;      /* IPv6: other extension header types, each 8 bytes */
	int n_ext;
	uint8_t tos;             /* IPv4 TOS / IPv6 traffic class */
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline uint16_t ipv4_checksum(const uint8_t *hdr, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)hdr[i] << 8 | hdr[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Builds the frame into out (PKT_MAX bytes); returns its length. *ip_len
 * gets the IP total length the sampler should record. */
static inline size_t pkt_build(const struct pkt_spec *s, uint8_t *out, uint16_t *ip_len)
{
	static const uint16_t vlan_types[] = { 0x88a8, 0x8100, 0x8100 };
	size_t off = 12, l4_hdr = s->proto == IPPROTO_TCP ? 20 : s->proto == IPPROTO_UDP ? 8 : 0;
	uint8_t *ip;

	memset(out, 0, PKT_MAX);
	memcpy(out, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (int i = 0; i < s->vlans; i++) {
		put16(out + off, vlan_types[s->vlans == 1 ? 1 : i]);
		put16(out + off + 2, 100 + i); /* VLAN id */
		off += 4;
	}
	put16(out + off, s->family == 4 ? 0x0800 : 0x86dd);
	off += 2;
	ip = out + off;
	if (s->family == 4) {
		size_t tot = 20 + l4_hdr + s->payload;

		ip[0] = 0x45;
		ip[1] = s->tos;
		put16(ip + 2, tot);
		put16(ip + 6, s->frag);
		ip[8] = 64;
		ip[9] = s->proto;
		inet_pton(AF_INET, s->saddr, ip + 12);
		inet_pton(AF_INET, s->daddr, ip + 16);
		put16(ip + 10, ipv4_checksum(ip, 20));
		off += 20;
		*ip_len = tot;
	} else {
		size_t ext_len = 8 * (s->n_ext + !!s->ipv6_frag_header);
		uint8_t *nh = ip + 6;

		ip[0] = 0x60 | s->tos >> 4;
		ip[1] = (uint8_t)(s->tos << 4);
		put16(ip + 4, ext_len + l4_hdr + s->payload);
		ip[7] = 64;
		inet_pton(AF_INET6, s->saddr, ip + 8);
		inet_pton(AF_INET6, s->daddr, ip + 24);
		off += 40;
		for (int i = 0; i < s->n_ext; i++, off += 8) {
			*nh = s->ext[i];
			nh = out + off; /* next header is the first byte of each */
		}
		if (s->ipv6_frag_header) {
			*nh = 44;
			nh = out + off;
			put16(out + off + 2, s->frag);
			off += 8;
		}
		*nh = s->proto;
		*ip_len = 40 + ext_len + l4_hdr + s->payload;
	}
	if (l4_hdr) {
		put16(out + off, s->sport);
		put16(out + off + 2, s->dport);
		if (s->proto == IPPROTO_TCP)
			out[off + 12] = 5 << 4;
		else
			put16(out + off + 4, 8 + s->payload);
	}
	off += l4_hdr + s->payload;
	return off < 60 ? 60 : off; /* Ethernet pads short frames */
}

#endif
