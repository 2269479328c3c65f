// SPDX-License-Identifier: MIT
/* Flow keys for people: addresses in and out, one-line keys. */
#include "flow_key.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t ipv4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int flow_addr_is_ipv4(const uint8_t addr[16])
{
	return !memcmp(addr, ipv4_mapped_prefix, sizeof(ipv4_mapped_prefix));
}

int flow_addr_parse(const char *text, uint8_t addr[16])
{
	struct in_addr v4;

	if (inet_pton(AF_INET, text, &v4) == 1) {
		memcpy(addr, ipv4_mapped_prefix, sizeof(ipv4_mapped_prefix));
		memcpy(addr + 12, &v4, sizeof(v4));
		return 0;
	}
	return inet_pton(AF_INET6, text, addr) == 1 ? 0 : -1;
}

void flow_addr_format(const uint8_t addr[16], char *buf, size_t len)
{
	char tmp[FLOW_ADDR_STRLEN];

	if (flow_addr_is_ipv4(addr))
		inet_ntop(AF_INET, addr + 12, tmp, sizeof(tmp));
	else
		inet_ntop(AF_INET6, addr, tmp, sizeof(tmp));
	snprintf(buf, len, "%s", tmp);
}

static const char *proto_name(uint8_t proto, char *buf, size_t len)
{
	if (proto == IPPROTO_TCP)
		return "tcp";
	if (proto == IPPROTO_UDP)
		return "udp";
	snprintf(buf, len, "proto %u", proto);
	return buf;
}

void flow_key_format(const struct flow_key *k, char *buf, size_t len)
{
	char s[FLOW_ADDR_STRLEN], d[FLOW_ADDR_STRLEN], p[16];
	int v4 = flow_addr_is_ipv4(k->saddr);

	flow_addr_format(k->saddr, s, sizeof(s));
	flow_addr_format(k->daddr, d, sizeof(d));
	snprintf(buf, len, "%s%s%s:%u -> %s%s%s:%u %s", v4 ? "" : "[", s, v4 ? "" : "]", k->sport,
		 v4 ? "" : "[", d, v4 ? "" : "]", k->dport, proto_name(k->proto, p, sizeof(p)));
}

int flow_key_make(struct flow_key *k, const char *saddr, uint16_t sport,
		  const char *daddr, uint16_t dport, uint8_t proto)
{
	memset(k, 0, sizeof(*k));
	if (flow_addr_parse(saddr, k->saddr) || flow_addr_parse(daddr, k->daddr) ||
	    flow_addr_is_ipv4(k->saddr) != flow_addr_is_ipv4(k->daddr))
		return -1;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	return 0;
}
