// SPDX-License-Identifier: MIT
/* One captured frame -> flow key and IP total length, with the XDP program's
 * rules (see packet.h). Headers are read byte by byte: captured data has no
 * alignment guarantee. */
#include <pcap/dlt.h>
#include <string.h>

#include "packet.h"

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define SLL_HLEN 16
#define SLL2_HLEN 20
#define IPV4_MIN_HLEN 20
#define IPV6_HLEN 40
#define L4_PORTS_LEN 4
#define TCP_MIN_HLEN 20
#define TCP_DOFF_END 13 /* the data offset is the high nibble of byte 12 */
#define UDP_HLEN 8



/* The captured bytes of one frame and how far parsing got. */
struct cursor {
	const uint8_t *data;
	size_t caplen;
	size_t wirelen;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Are bytes [off, off+len) captured? If not, says whether the snaplen or
 * the frame itself is to blame. */
static enum packet_result need(const struct cursor *c, size_t off, size_t len)
{
	if (off + len <= c->caplen)
		return PACKET_SAMPLED;
	return c->caplen < c->wirelen ? PACKET_SNAPLEN_CUT : PACKET_MALFORMED;
}

static void map_ipv4(uint8_t out[16], const uint8_t *v4)
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

/* The datagram of ip_len bytes at off: where it is, how much was captured. */
static void set_datagram(const struct cursor *c, size_t off, struct packet_info *info)
{
	size_t captured = c->caplen - off;

	info->ip = c->data + off;
	info->ip_captured = (uint32_t)(captured < info->ip_len ? captured : info->ip_len);
}

/* The ports at l4 (within an IP datagram ending at ip_end), for TCP and
 * UDP, and the XDP program's checks of what the stack would discard: a TCP
 * data offset below 5 words or past the datagram, a UDP length below 8 or
 * past the datagram (a first fragment's UDP length covers the whole
 * datagram, so it is not held to the fragment). A field the capture's
 * snaplen cut off is taken on trust, as the kernel saw it whole. */
static enum packet_result parse_ports(const struct cursor *c, size_t l4, size_t ip_end,
				      struct packet_info *info)
{
	enum packet_result r;

	if (info->key.proto != ODEFLOW_IPPROTO_TCP && info->key.proto != ODEFLOW_IPPROTO_UDP)
		return PACKET_OTHER_L4;
	if (info->key.proto == ODEFLOW_IPPROTO_TCP) {
		if (l4 + TCP_MIN_HLEN > ip_end)
			return PACKET_MALFORMED;
		if (need(c, l4, TCP_DOFF_END) == PACKET_SAMPLED) {
			size_t doff = (size_t)(c->data[l4 + 12] >> 4) * 4;

			if (doff < TCP_MIN_HLEN || l4 + doff > ip_end)
				return PACKET_MALFORMED;
		} else if (c->caplen >= c->wirelen) {
			return PACKET_MALFORMED; /* the frame itself ends inside the header */
		}
	} else {
		if (l4 + UDP_HLEN > ip_end)
			return PACKET_MALFORMED;
		if (need(c, l4, UDP_HLEN) == PACKET_SAMPLED) {
			size_t ulen = get16(c->data + l4 + 4);

			if (ulen < UDP_HLEN || (!info->first_fragment && l4 + ulen > ip_end))
				return PACKET_MALFORMED;
		} else if (c->caplen >= c->wirelen) {
			return PACKET_MALFORMED;
		}
	}
	r = need(c, l4, L4_PORTS_LEN);
	if (r != PACKET_SAMPLED)
		return r;
	info->key.sport = get16(c->data + l4);
	info->key.dport = get16(c->data + l4 + 2);
	return PACKET_SAMPLED;
}

static enum packet_result parse_ipv4(const struct cursor *c, size_t off, struct packet_info *info)
{
	const uint8_t *ip;
	size_t hlen, tot_len;
	uint16_t frag;
	enum packet_result r;

	r = need(c, off, IPV4_MIN_HLEN);
	if (r != PACKET_SAMPLED)
		return r;
	ip = c->data + off;
	if (ip[0] >> 4 != 4)
		return PACKET_MALFORMED;
	hlen = (size_t)(ip[0] & 0x0f) * 4;
	tot_len = get16(ip + 2);
	/* the frame may be longer than the datagram (padding), never shorter */
	if (hlen < IPV4_MIN_HLEN || tot_len < hlen || off + tot_len > c->wirelen)
		return PACKET_MALFORMED;
	r = need(c, off, hlen);
	if (r != PACKET_SAMPLED)
		return r;
	frag = get16(ip + 6);
	if (frag & ODEFLOW_IP_OFFSET_MASK)
		return PACKET_FRAGMENT;
	info->first_fragment = (frag & ODEFLOW_IP_MF) != 0;
	info->ip_len = (uint16_t)tot_len;
	set_datagram(c, off, info);
	info->key.proto = ip[9];
	map_ipv4(info->key.saddr, ip + 12);
	map_ipv4(info->key.daddr, ip + 16);
	return parse_ports(c, off + hlen, off + tot_len, info);
}

static int is_ipv6_ext(uint8_t nh)
{
	return nh == ODEFLOW_IPPROTO_HOPOPTS || nh == ODEFLOW_IPPROTO_ROUTING ||
	       nh == ODEFLOW_IPPROTO_DSTOPTS || nh == ODEFLOW_IPPROTO_FRAGMENT;
}

static enum packet_result parse_ipv6(const struct cursor *c, size_t off, struct packet_info *info)
{
	const uint8_t *ip;
	size_t payload_len, l4, ip_end;
	uint8_t nh;
	enum packet_result r;

	r = need(c, off, IPV6_HLEN);
	if (r != PACKET_SAMPLED)
		return r;
	ip = c->data + off;
	if (ip[0] >> 4 != 6)
		return PACKET_MALFORMED;
	payload_len = get16(ip + 4);
	if (payload_len == 0 || off + IPV6_HLEN + payload_len > c->wirelen)
		return PACKET_MALFORMED; /* 0: a jumbogram, not sampled by the kernel either */
	/* as the kernel's __u16 holds it: 65535 + 40 wraps there too */
	info->ip_len = (uint16_t)(payload_len + IPV6_HLEN);
	set_datagram(c, off, info);
	memcpy(info->key.saddr, ip + 8, 16);
	memcpy(info->key.daddr, ip + 24, 16);
	nh = ip[6];
	l4 = off + IPV6_HLEN;
	ip_end = l4 + payload_len;
	for (int i = 0; i < ODEFLOW_MAX_IPV6_EXT && is_ipv6_ext(nh); i++) {
		const uint8_t *ext;

		r = need(c, l4, 8); /* every extension header is at least 8 bytes */
		if (r != PACKET_SAMPLED)
			return r;
		ext = c->data + l4;
		if (nh == ODEFLOW_IPPROTO_FRAGMENT) {
			uint16_t frag = get16(ext + 2);

			if (frag & ODEFLOW_IP6_OFFSET_MASK)
				return PACKET_FRAGMENT;
			info->first_fragment = frag & ODEFLOW_IP6_MF;
			l4 += 8;
		} else {
			l4 += ((size_t)ext[1] + 1) * 8;
		}
		nh = ext[0];
		if (l4 > ip_end)
			return PACKET_MALFORMED;
	}
	if (is_ipv6_ext(nh))
		return PACKET_MALFORMED; /* more extension headers than the bound */
	info->key.proto = nh;
	return parse_ports(c, l4, ip_end, info);
}

/* The network layer at off, announced by an ethertype; VLAN tags in front of
 * it (at most two, as the kernel parses) are skipped. */
static enum packet_result parse_ethertype(const struct cursor *c, size_t off, uint16_t type,
					  struct packet_info *info)
{
	for (int tags = 0; tags < ODEFLOW_MAX_VLAN_TAGS &&
	     (type == ODEFLOW_ETH_P_8021Q || type == ODEFLOW_ETH_P_8021AD); tags++) {
		enum packet_result r = need(c, off, VLAN_HLEN);

		if (r != PACKET_SAMPLED)
			return r;
		type = get16(c->data + off + 2);
		off += VLAN_HLEN;
	}
	if (type == ODEFLOW_ETH_P_IPV4)
		return parse_ipv4(c, off, info);
	if (type == ODEFLOW_ETH_P_IPV6)
		return parse_ipv6(c, off, info);
	return PACKET_NON_IP;
}

/* Raw IP: the version nibble says which. */
static enum packet_result parse_raw(const struct cursor *c, struct packet_info *info)
{
	enum packet_result r = need(c, 0, 1);

	if (r != PACKET_SAMPLED)
		return r;
	switch (c->data[0] >> 4) {
	case 4:
		return parse_ipv4(c, 0, info);
	case 6:
		return parse_ipv6(c, 0, info);
	default:
		return PACKET_MALFORMED;
	}
}

/* A link header of hlen bytes with the ethertype at type_off. */
static enum packet_result parse_link(const struct cursor *c, size_t hlen, size_t type_off,
				     struct packet_info *info)
{
	enum packet_result r = need(c, 0, hlen);

	if (r != PACKET_SAMPLED)
		return r;
	return parse_ethertype(c, hlen, get16(c->data + type_off), info);
}

enum packet_result packet_parse(int linktype, const uint8_t *data, size_t caplen,
				size_t wirelen, struct packet_info *info)
{
	struct cursor c = { .data = data, .caplen = caplen, .wirelen = wirelen };
	struct packet_info tmp = { 0 };
	enum packet_result r;

	switch (linktype) {
	case DLT_EN10MB:
		r = parse_link(&c, ETH_HLEN, 12, &tmp);
		break;
	case DLT_LINUX_SLL:
		r = parse_link(&c, SLL_HLEN, 14, &tmp);
		break;
	case DLT_LINUX_SLL2:
		r = parse_link(&c, SLL2_HLEN, 0, &tmp);
		break;
	case DLT_RAW:
		r = parse_raw(&c, &tmp);
		break;
	case DLT_IPV4:
		r = parse_ipv4(&c, 0, &tmp);
		break;
	case DLT_IPV6:
		r = parse_ipv6(&c, 0, &tmp);
		break;
	default:
		return PACKET_UNKNOWN_LINK;
	}
	if (r == PACKET_SAMPLED)
		*info = tmp;
	return r;
}

const char *packet_result_name(enum packet_result r)
{
	static const char *const names[PACKET_RESULT_COUNT] = {
		[PACKET_SAMPLED] = "sampled",
		[PACKET_NON_IP] = "non-IP",
		[PACKET_OTHER_L4] = "not TCP/UDP",
		[PACKET_FRAGMENT] = "non-first fragment",
		[PACKET_MALFORMED] = "malformed",
		[PACKET_SNAPLEN_CUT] = "cut by snaplen before the ports",
		[PACKET_UNKNOWN_LINK] = "unknown link type",
	};

	return (unsigned)r < PACKET_RESULT_COUNT ? names[r] : "?";
}
