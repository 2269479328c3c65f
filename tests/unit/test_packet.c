// SPDX-License-Identifier: MIT
/* packet_parse on frames built byte by byte: every link type, VLAN tags,
 * IPv4 options, IPv6 extension headers, fragments, and every way a header
 * can be cut short or lie about its length. */
#include <pcap/dlt.h>

#include "harness.h"
#include "capture/packet.h"

struct frame {
	uint8_t b[256];
	size_t len;
};

static void put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t p[2] = { v >> 8, v & 0xff };

	put(f, p, 2);
}

static void eth(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	put(f, macs, 12);
	put16(f, type);
}

/* A transport header of l4_len bytes in all (header and payload) from
 * port 1111 to 2222 as the stack expects it (TCP: a 20-byte header; UDP: its
 * length field says l4_len), then at most 4 bytes of payload: frames whose
 * datagram is longer are tested with a wire length beyond what is built. */
static void l4_header(struct frame *f, uint8_t proto, uint16_t l4_len)
{
	static const uint8_t tcp_rest[16] = { [8] = 5 << 4 }; /* seq, ack, data offset 5 */

	put16(f, 1111);
	put16(f, 2222);
	if (proto == 17) {
		put16(f, l4_len);
		put16(f, 0);
	} else if (proto == 6) {
		put(f, tcp_rest, sizeof(tcp_rest));
	}
	put(f, "data", 4);
}

/* 10.0.0.1:1111 -> 10.0.0.2:2222, tot_len as given, ihl words of header,
 * frag = the flags+offset field; then the transport header, padded up to
 * tot_len when that is small. */
static void ipv4(struct frame *f, uint8_t proto, uint16_t tot_len, int ihl, uint16_t frag)
{
	uint8_t h[60] = { 0x40 | ihl, 0 };
	size_t start = f->len, hlen = ihl >= 5 ? (size_t)ihl * 4 : 20;

	h[2] = tot_len >> 8;
	h[3] = tot_len & 0xff;
	h[6] = frag >> 8;
	h[7] = frag & 0xff;
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	put(f, h, hlen);
	l4_header(f, proto, tot_len > hlen ? (uint16_t)(tot_len - hlen) : 0);
	while (tot_len <= 128 && f->len < start + tot_len)
		put(f, "", 1);
}

/* 2001:db8::1 -> 2001:db8::2 with next header nh; the caller appends
 * extension headers and then calls l4_ports. */
static void ipv6(struct frame *f, uint8_t nh, uint16_t payload_len)
{
	uint8_t h[40] = { 0x60 };

	h[4] = payload_len >> 8;
	h[5] = payload_len & 0xff;
	h[6] = nh;
	h[7] = 64;
	h[8] = 0x20, h[9] = 0x01, h[10] = 0x0d, h[11] = 0xb8, h[23] = 1;
	h[24] = 0x20, h[25] = 0x01, h[26] = 0x0d, h[27] = 0xb8, h[39] = 2;
	put(f, h, 40);
}

static void ipv6_ext(struct frame *f, uint8_t nh, uint8_t len8)
{
	uint8_t h[64] = { nh, len8 };

	put(f, h, ((size_t)len8 + 1) * 8);
}

static void ipv6_frag(struct frame *f, uint8_t nh, uint16_t offset, int more)
{
	uint8_t h[8] = { nh, 0, (offset << 3) >> 8, ((offset << 3) & 0xf8) | (more ? 1 : 0) };

	put(f, h, 8);
}

static enum packet_result parse(int dlt, const struct frame *f, struct packet_info *info)
{
	return packet_parse(dlt, f->b, f->len, f->len, info);
}

static void check_v4_key(const struct packet_info *info, uint8_t proto)
{
	static const uint8_t src[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 };
	static const uint8_t dst[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 2 };

	CHECK(!memcmp(info->key.saddr, src, 16));
	CHECK(!memcmp(info->key.daddr, dst, 16));
	CHECK(info->key.sport == 1111 && info->key.dport == 2222);
	CHECK(info->key.proto == proto);
	CHECK(!info->key.pad[0] && !info->key.pad[1] && !info->key.pad[2]);
}

static void test_ethernet_ipv4_udp(void)
{
	struct frame f = { 0 };
	struct packet_info info;

	eth(&f, 0x0800);
	ipv4(&f, 17, 32, 5, 0);
	CHECK(parse(DLT_EN10MB, &f, &info) == PACKET_SAMPLED);
	check_v4_key(&info, 17);
	CHECK(info.ip_len == 32);
	CHECK(info.first_fragment == 0);
}

/* The size is the IP header's total length, not what was captured. */
static void test_size_from_header_not_caplen(void)
{
	struct frame f = { 0 };
	struct packet_info info;

	eth(&f, 0x0800);
	ipv4(&f, 6, 1500, 5, 0);
	CHECK(packet_parse(DLT_EN10MB, f.b, f.len, 1514, &info) == PACKET_SAMPLED);
	CHECK(info.ip_len == 1500);
	check_v4_key(&info, 6);
}

static void test_vlan_tags(void)
{
	struct frame one = { 0 }, two = { 0 }, three = { 0 };
	struct packet_info info;

	eth(&one, 0x8100);
	put16(&one, 5);
	put16(&one, 0x0800);
	ipv4(&one, 17, 32, 5, 0);
	CHECK(parse(DLT_EN10MB, &one, &info) == PACKET_SAMPLED);
	check_v4_key(&info, 17);

	eth(&two, 0x88a8);
	put16(&two, 5);
	put16(&two, 0x8100);
	put16(&two, 6);
	put16(&two, 0x0800);
	ipv4(&two, 17, 32, 5, 0);
	CHECK(parse(DLT_EN10MB, &two, &info) == PACKET_SAMPLED);
	check_v4_key(&info, 17);

	/* the kernel parses two tags; a third leaves a VLAN ethertype: not IP */
	eth(&three, 0x8100);
	for (int i = 0; i < 2; i++) {
		put16(&three, 5);
		put16(&three, 0x8100);
	}
	put16(&three, 5);
	put16(&three, 0x0800);
	ipv4(&three, 17, 32, 5, 0);
	CHECK(parse(DLT_EN10MB, &three, &info) == PACKET_NON_IP);
}

static void test_ipv4_options(void)
{
	struct frame f = { 0 };
	struct packet_info info;

	eth(&f, 0x0800);
	ipv4(&f, 6, 48, 6, 0); /* one word of options before the ports */
	CHECK(parse(DLT_EN10MB, &f, &info) == PACKET_SAMPLED);
	check_v4_key(&info, 6);
	CHECK(info.ip_len == 48);
}

static void test_ipv4_malformed(void)
{
	struct frame bad_ihl = { 0 }, short_total = { 0 }, no_room = { 0 }, version = { 0 };
	struct frame lying = { 0 };
	struct packet_info info;

	eth(&bad_ihl, 0x0800);
	ipv4(&bad_ihl, 17, 32, 4, 0);
	CHECK(parse(DLT_EN10MB, &bad_ihl, &info) == PACKET_MALFORMED);

	eth(&short_total, 0x0800);
	ipv4(&short_total, 17, 19, 5, 0); /* total length below the header */
	CHECK(parse(DLT_EN10MB, &short_total, &info) == PACKET_MALFORMED);

	eth(&no_room, 0x0800);
	ipv4(&no_room, 17, 22, 5, 0); /* the datagram ends inside the ports */
	CHECK(parse(DLT_EN10MB, &no_room, &info) == PACKET_MALFORMED);

	/* captured whole, yet shorter than its total length says */
	eth(&lying, 0x0800);
	ipv4(&lying, 17, 200, 5, 0);
	CHECK(parse(DLT_EN10MB, &lying, &info) == PACKET_MALFORMED);
	CHECK(packet_parse(DLT_EN10MB, lying.b, lying.len, 14 + 200, &info) == PACKET_SAMPLED);

	eth(&version, 0x0800);
	ipv4(&version, 17, 32, 5, 0);
	version.b[14] = 0x65;
	CHECK(parse(DLT_EN10MB, &version, &info) == PACKET_MALFORMED);
}

static void test_ipv4_fragments(void)
{
	struct frame first = { 0 }, later = { 0 };
	struct packet_info info;

	eth(&first, 0x0800);
	ipv4(&first, 17, 1500, 5, 0x2000); /* MF, offset 0 */
	CHECK(packet_parse(DLT_EN10MB, first.b, first.len, 1514, &info) == PACKET_SAMPLED);
	CHECK(info.first_fragment == 1);
	CHECK(info.ip_len == 1500);

	eth(&later, 0x0800);
	ipv4(&later, 17, 200, 5, 185); /* offset 1480 bytes, last fragment */
	CHECK(packet_parse(DLT_EN10MB, later.b, later.len, 214, &info) == PACKET_FRAGMENT);
}

static void test_not_sampled(void)
{
	struct frame icmp = { 0 }, arp = { 0 };
	struct packet_info info;

	eth(&icmp, 0x0800);
	ipv4(&icmp, 1, 32, 5, 0);
	CHECK(parse(DLT_EN10MB, &icmp, &info) == PACKET_OTHER_L4);

	eth(&arp, 0x0806);
	put(&arp, "\0\1\10\0\6\4\0\1", 8);
	CHECK(parse(DLT_EN10MB, &arp, &info) == PACKET_NON_IP);
}

/* Transport headers the stack would discard are malformed, as in the XDP
 * program: a TCP data offset below 5 or past the datagram, a UDP length
 * below 8 or past the datagram (not for a first fragment); a field the
 * snaplen cut off is taken on trust. */
static void test_transport_headers_checked(void)
{
	struct frame tcp = { 0 }, udp = { 0 }, bad;
	struct packet_info info;
	const size_t l4 = 14 + 20;

	eth(&tcp, 0x0800);
	ipv4(&tcp, 6, 60, 5, 0);
	bad = tcp;
	bad.b[l4 + 12] = 4 << 4;
	CHECK(parse(DLT_EN10MB, &bad, &info) == PACKET_MALFORMED);
	bad.b[l4 + 12] = 11 << 4; /* 44 bytes of header in a 40-byte segment */
	CHECK(parse(DLT_EN10MB, &bad, &info) == PACKET_MALFORMED);
	bad.b[l4 + 12] = 10 << 4; /* 40: fits */
	CHECK(parse(DLT_EN10MB, &bad, &info) == PACKET_SAMPLED);
	/* the data offset cut off by the snaplen: trusted */
	CHECK(packet_parse(DLT_EN10MB, tcp.b, l4 + 8, tcp.len, &info) == PACKET_SAMPLED);
	CHECK(packet_parse(DLT_EN10MB, tcp.b, l4 + 8, l4 + 8, &info) == PACKET_MALFORMED);

	eth(&udp, 0x0800);
	ipv4(&udp, 17, 40, 5, 0);
	bad = udp;
	bad.b[l4 + 4] = 0, bad.b[l4 + 5] = 7;
	CHECK(parse(DLT_EN10MB, &bad, &info) == PACKET_MALFORMED);
	bad.b[l4 + 5] = 21; /* one past the 20-byte datagram */
	CHECK(parse(DLT_EN10MB, &bad, &info) == PACKET_MALFORMED);
	bad.b[l4 + 5] = 20;
	CHECK(parse(DLT_EN10MB, &bad, &info) == PACKET_SAMPLED);
	bad = (struct frame){ 0 };
	eth(&bad, 0x0800);
	ipv4(&bad, 17, 40, 5, 0x2000); /* a first fragment of a longer datagram */
	bad.b[l4 + 4] = 0x0b, bad.b[l4 + 5] = 0xb8;
	CHECK(parse(DLT_EN10MB, &bad, &info) == PACKET_SAMPLED);
}

static void check_v6_key(const struct packet_info *info, uint8_t proto)
{
	CHECK(info->key.saddr[0] == 0x20 && info->key.saddr[3] == 0xb8 && info->key.saddr[15] == 1);
	CHECK(info->key.daddr[0] == 0x20 && info->key.daddr[15] == 2);
	CHECK(info->key.sport == 1111 && info->key.dport == 2222);
	CHECK(info->key.proto == proto);
}

static void test_ipv6_plain(void)
{
	struct frame f = { 0 };
	struct packet_info info;

	eth(&f, 0x86dd);
	ipv6(&f, 6, 1200);
	l4_header(&f, 6, 1200);
	CHECK(packet_parse(DLT_EN10MB, f.b, f.len, 14 + 40 + 1200, &info) == PACKET_SAMPLED);
	check_v6_key(&info, 6);
	CHECK(info.ip_len == 1240);
}

/* hop-by-hop, routing, destination options and a first fragment are walked */
static void test_ipv6_extension_headers(void)
{
	struct frame f = { 0 };
	struct packet_info info;

	eth(&f, 0x86dd);
	ipv6(&f, 0, 100);
	ipv6_ext(&f, 43, 0);
	ipv6_ext(&f, 60, 1);
	ipv6_ext(&f, 44, 0);
	ipv6_frag(&f, 17, 0, 1);
	l4_header(&f, 17, 100 - 32);
	CHECK(packet_parse(DLT_EN10MB, f.b, f.len, 14 + 140, &info) == PACKET_SAMPLED);
	check_v6_key(&info, 17);
	CHECK(info.ip_len == 140);
	CHECK(info.first_fragment == 1);
}

static void test_ipv6_bad_walks(void)
{
	struct frame later = { 0 }, too_many = { 0 }, beyond = { 0 }, jumbo = { 0 };
	struct packet_info info;

	eth(&later, 0x86dd);
	ipv6(&later, 44, 100);
	ipv6_frag(&later, 17, 181, 0);
	l4_header(&later, 17, 92);
	CHECK(packet_parse(DLT_EN10MB, later.b, later.len, 154, &info) == PACKET_FRAGMENT);

	eth(&too_many, 0x86dd);
	ipv6(&too_many, 60, 100);
	for (int i = 0; i < ODEFLOW_MAX_IPV6_EXT; i++)
		ipv6_ext(&too_many, 60, 0);
	l4_header(&too_many, 17, 100 - 8 * ODEFLOW_MAX_IPV6_EXT);
	CHECK(packet_parse(DLT_EN10MB, too_many.b, too_many.len, 154, &info) == PACKET_MALFORMED);

	eth(&beyond, 0x86dd);
	ipv6(&beyond, 60, 8); /* the payload ends with the options: no ports */
	ipv6_ext(&beyond, 17, 0);
	l4_header(&beyond, 17, 8);
	CHECK(parse(DLT_EN10MB, &beyond, &info) == PACKET_MALFORMED);

	eth(&jumbo, 0x86dd);
	ipv6(&jumbo, 17, 0);
	l4_header(&jumbo, 17, 8);
	CHECK(parse(DLT_EN10MB, &jumbo, &info) == PACKET_MALFORMED);
}

static void test_other_link_types(void)
{
	static const uint8_t sll[14] = { 0, 0, 0, 1, 0, 6 };
	static const uint8_t sll2_rest[18] = { 0 };
	struct frame s1 = { 0 }, s2 = { 0 }, raw4 = { 0 }, raw6 = { 0 }, v4 = { 0 }, v6 = { 0 };
	struct packet_info info;

	put(&s1, sll, 14);
	put16(&s1, 0x0800);
	ipv4(&s1, 17, 32, 5, 0);
	CHECK(parse(DLT_LINUX_SLL, &s1, &info) == PACKET_SAMPLED);
	check_v4_key(&info, 17);

	put16(&s2, 0x86dd);
	put(&s2, sll2_rest, 18);
	ipv6(&s2, 6, 24);
	l4_header(&s2, 6, 24);
	CHECK(parse(DLT_LINUX_SLL2, &s2, &info) == PACKET_SAMPLED);
	check_v6_key(&info, 6);

	ipv4(&raw4, 6, 44, 5, 0);
	CHECK(parse(DLT_RAW, &raw4, &info) == PACKET_SAMPLED);
	check_v4_key(&info, 6);
	ipv6(&raw6, 17, 12);
	l4_header(&raw6, 17, 12);
	CHECK(parse(DLT_RAW, &raw6, &info) == PACKET_SAMPLED);
	check_v6_key(&info, 17);
	raw6.b[0] = 0x50;
	CHECK(parse(DLT_RAW, &raw6, &info) == PACKET_MALFORMED);

	ipv4(&v4, 17, 32, 5, 0);
	CHECK(parse(DLT_IPV4, &v4, &info) == PACKET_SAMPLED);
	ipv6(&v6, 17, 12);
	l4_header(&v6, 17, 12);
	CHECK(parse(DLT_IPV6, &v6, &info) == PACKET_SAMPLED);
	CHECK(parse(DLT_IPV4, &v6, &info) == PACKET_MALFORMED);

	CHECK(parse(DLT_IEEE802_11, &v4, &info) == PACKET_UNKNOWN_LINK);
}

/* Every prefix of a valid frame, copied to a buffer of exactly that size
 * (so ASan sees any read past it): sampled or cut by the snaplen when the
 * frame was longer on the wire, malformed when it was captured whole. */
static void test_every_prefix(void)
{
	struct frame f = { 0 };
	struct packet_info info;
	size_t ports_end;

	eth(&f, 0x86dd);
	ipv6(&f, 0, 28);
	ipv6_ext(&f, 17, 1);
	l4_header(&f, 17, 12);
	ports_end = 14 + 40 + 16 + 4;
	CHECK(f.len == 14 + 40 + 28);
	for (size_t len = 0; len <= f.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		enum packet_result cut, whole;

		memcpy(copy, f.b, len);
		cut = packet_parse(DLT_EN10MB, copy, len, f.len, &info);
		whole = packet_parse(DLT_EN10MB, copy, len, len, &info);
		if (len < ports_end) {
			CHECKF(len == f.len || cut == PACKET_SNAPLEN_CUT, "len %zu: %d", len, cut);
			CHECKF(whole == PACKET_MALFORMED, "len %zu: %d", len, whole);
		} else {
			/* a frame captured whole must hold its whole datagram */
			CHECKF(cut == PACKET_SAMPLED, "len %zu: %d", len, cut);
			CHECKF(whole == (len == f.len ? PACKET_SAMPLED : PACKET_MALFORMED),
			       "len %zu: %d", len, whole);
		}
		free(copy);
	}
}

int main(void)
{
	RUN(test_ethernet_ipv4_udp);
	RUN(test_size_from_header_not_caplen);
	RUN(test_vlan_tags);
	RUN(test_ipv4_options);
	RUN(test_ipv4_malformed);
	RUN(test_ipv4_fragments);
	RUN(test_transport_headers_checked);
	RUN(test_not_sampled);
	RUN(test_ipv6_plain);
	RUN(test_ipv6_extension_headers);
	RUN(test_ipv6_bad_walks);
	RUN(test_other_link_types);
	RUN(test_every_prefix);
	return harness_done();
}
