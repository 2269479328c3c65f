/* SPDX-License-Identifier: MIT */
/* Flow keys in userspace: building them, canonicalising a connection (the
 * same inline code the XDP program runs, bpf/flow_key_canon.h), and
 * formatting and parsing addresses for people. */
#ifndef ODEFLOW_FLOW_KEY_H
#define ODEFLOW_FLOW_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "odeflow.h"
#include "flow_key_canon.h"

/* Long enough for "[ffff:...:ffff]:65535 -> [ffff:...:ffff]:65535 udp". */
#define FLOW_KEY_STRLEN 112
#define FLOW_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

/* Parses "192.0.2.1" (stored IPv4-mapped) or "2001:db8::1". Returns -1 on
 * anything else. */
int flow_addr_parse(const char *text, uint8_t addr[16]);

/* IPv4-mapped addresses print as dotted quads, the rest as IPv6. */
void flow_addr_format(const uint8_t addr[16], char *buf, size_t len);

/* True for an IPv4-mapped address (::ffff:a.b.c.d). */
int flow_addr_is_ipv4(const uint8_t addr[16]);

/* "10.0.0.1:443 -> 10.0.0.2:51000 tcp"; IPv6 addresses in brackets. */
void flow_key_format(const struct flow_key *k, char *buf, size_t len);

/* A key from its parts: addresses as flow_addr_parse reads them, ports in
 * host order, proto an IP protocol number. Returns -1 for a bad address or
 * a family mismatch. */
int flow_key_make(struct flow_key *k, const char *saddr, uint16_t sport,
		  const char *daddr, uint16_t dport, uint8_t proto);

#endif
