/* SPDX-License-Identifier: MIT */
/* Flow keys in userspace: the canonical connection key (the code the XDP
 * program runs), address parsing and formatting. */
#include <netinet/in.h>

#include "common/flow_key.h"
#include "harness.h"

static void test_both_directions_share_a_connection(void)
{
	struct flow_key a, b, ca, cb;

	CHECK(flow_key_make(&a, "10.0.0.2", 443, "10.0.0.1", 50000, IPPROTO_TCP) == 0);
	CHECK(flow_key_make(&b, "10.0.0.1", 50000, "10.0.0.2", 443, IPPROTO_TCP) == 0);
	flow_key_canonical(&a, &ca);
	flow_key_canonical(&b, &cb);
	CHECK(!memcmp(&ca, &cb, sizeof(ca)));
	CHECK(!memcmp(&cb, &b, sizeof(b))); /* 10.0.0.1 sorts first */
	flow_key_canonical(&a, &a); /* in place */
	CHECK(!memcmp(&a, &ca, sizeof(a)));
}

static void test_equal_addresses_order_by_port(void)
{
	struct flow_key k, c;

	CHECK(flow_key_make(&k, "fd00::1", 9000, "fd00::1", 80, IPPROTO_UDP) == 0);
	flow_key_canonical(&k, &c);
	CHECK(c.sport == 80 && c.dport == 9000);
}

static void test_addresses_order_like_memcmp(void)
{
	/* The second half of the address decides; a byte-order slip in the
	 * 64-bit compare would get these wrong. */
	struct flow_key k, c;

	CHECK(flow_key_make(&k, "fd00::1:0", 1, "fd00::ff", 2, IPPROTO_UDP) == 0);
	flow_key_canonical(&k, &c);
	CHECK(memcmp(c.saddr, c.daddr, 16) < 0);
	CHECK(flow_key_make(&k, "10.0.1.0", 1, "10.0.0.255", 2, IPPROTO_UDP) == 0);
	flow_key_canonical(&k, &c);
	CHECK(memcmp(c.saddr, c.daddr, 16) < 0 && c.sport == 2);
}

static void test_format_and_parse(void)
{
	struct flow_key k;
	char buf[FLOW_KEY_STRLEN];
	uint8_t addr[16];

	CHECK(flow_key_make(&k, "192.0.2.7", 53, "198.51.100.1", 40000, IPPROTO_UDP) == 0);
	CHECK(flow_addr_is_ipv4(k.saddr) && k.saddr[10] == 0xff && k.saddr[15] == 7);
	flow_key_format(&k, buf, sizeof(buf));
	CHECKF(!strcmp(buf, "192.0.2.7:53 -> 198.51.100.1:40000 udp"), "%s", buf);
	CHECK(flow_key_make(&k, "2001:db8::1", 443, "2001:db8::2", 1, IPPROTO_TCP) == 0);
	flow_key_format(&k, buf, sizeof(buf));
	CHECKF(!strcmp(buf, "[2001:db8::1]:443 -> [2001:db8::2]:1 tcp"), "%s", buf);
	k.proto = 132;
	flow_key_format(&k, buf, sizeof(buf));
	CHECKF(strstr(buf, "proto 132") != NULL, "%s", buf);
	CHECK(flow_addr_parse("10.0.0.256", addr) == -1);
	CHECK(flow_addr_parse("", addr) == -1);
	CHECK(flow_key_make(&k, "10.0.0.1", 1, "::1", 2, IPPROTO_TCP) == -1); /* mixed families */
}

int main(void)
{
	RUN(test_both_directions_share_a_connection);
	RUN(test_equal_addresses_order_by_port);
	RUN(test_addresses_order_like_memcmp);
	RUN(test_format_and_parse);
	return harness_done();
}
