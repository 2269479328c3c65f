/* SPDX-License-Identifier: MIT */
/* The canonical key of a connection: one implementation for the XDP program
 * and userspace (this header includes nothing kernel-only).
 *
 * Both directions of a connection map to the same key: the endpoint
 * (address, port) that compares lower goes into saddr/sport. Addresses
 * compare as memcmp compares their 16 bytes (network order); equal
 * addresses compare by port. The protocol is kept. */
#ifndef ODEFLOW_FLOW_KEY_CANON_H
#define ODEFLOW_FLOW_KEY_CANON_H

#include "odeflow.h"

#ifndef __VMLINUX_H__
#include <stdbool.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Eight address bytes as a number that orders like memcmp orders them. */
static __always_inline __u64 flow_addr_half(const __u8 *p)
{
	__u64 v;

	__builtin_memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* < 0, 0, > 0 as the endpoint (a, ap) sorts before, with, after (b, bp). */
static __always_inline int flow_endpoint_cmp(const __u8 *a, __u16 ap, const __u8 *b, __u16 bp)
{
	__u64 x = flow_addr_half(a), y = flow_addr_half(b);

	if (x != y)
		return x < y ? -1 : 1;
	x = flow_addr_half(a + 8);
	y = flow_addr_half(b + 8);
	if (x != y)
		return x < y ? -1 : 1;
	return (int)ap - (int)bp;
}

/* out = the other direction of k's connection (endpoints swapped). out may be k. */
static __always_inline void flow_key_reverse(const struct flow_key *k, struct flow_key *out)
{
	struct flow_key c = *k;

	__builtin_memcpy(c.saddr, k->daddr, sizeof(c.saddr));
	__builtin_memcpy(c.daddr, k->saddr, sizeof(c.daddr));
	c.sport = k->dport;
	c.dport = k->sport;
	*out = c;
}

/* out = the key of k's connection. out may be k. Returns true when k is the
 * connection's reverse direction (its endpoints were swapped). */
static __always_inline bool flow_key_canonical(const struct flow_key *k, struct flow_key *out)
{
	struct flow_key c = *k;
	bool reverse = flow_endpoint_cmp(k->saddr, k->sport, k->daddr, k->dport) > 0;

	if (reverse)
		flow_key_reverse(k, &c);
	c.pad[0] = c.pad[1] = c.pad[2] = 0;
	*out = c;
	return reverse;
}

#endif
