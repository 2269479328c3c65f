/* SPDX-License-Identifier: MIT */
/* Which connections `odeflow run --teach RATE` copies the first packets of:
 * those whose canonical key hashes, under a seed drawn at random when the
 * sampler loads, below RATE * 2^32. One implementation for the XDP program
 * and userspace, so the agent knows a taught connection without asking the
 * kernel. The seed is secret, so a sender can neither choose to be taught
 * (to flood the teacher, or to feed it lies) nor to be left alone. */
#ifndef ODEFLOW_TEACH_SAMPLE_H
#define ODEFLOW_TEACH_SAMPLE_H

#include "flow_key_canon.h"

/* The bound of RATE 1: every connection. */
#define TEACH_ALL (1ULL << 32)

static __always_inline __u64 teach_hash(const struct flow_key *connection, __u64 seed)
{
	const __u8 *p = (const __u8 *)connection;
	__u64 h = seed;

	for (int i = 0; i < (int)(sizeof(*connection) / sizeof(__u64)); i++) {
		__u64 w;

		__builtin_memcpy(&w, p + i * sizeof(w), sizeof(w));
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 32;
	}
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 29);
}

/* below: RATE * 2^32 (0: none, TEACH_ALL: all). */
static __always_inline bool teach_sampled(const struct flow_key *connection, __u64 seed,
					  __u64 below)
{
	return (teach_hash(connection, seed) & 0xffffffffULL) < below;
}

#endif
