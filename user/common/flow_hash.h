/* SPDX-License-Identifier: MIT */
/* The hash of userspace's flow tables (offline sessions, the cascade's
 * connections), whose keys a sender chooses: SipHash-2-4 (libsodium's
 * crypto_shorthash) under a random key each table draws when it is made, so
 * nobody can choose keys that collide. The XDP program seeds its own. */
#ifndef ODEFLOW_FLOW_HASH_H
#define ODEFLOW_FLOW_HASH_H

#include <stdint.h>

#include "odeflow.h"

/* How far a table probes from a key's home slot, at most: a lookup never
 * walks further, and an insert that would is the table's defined case of
 * too many collisions (each table says what it does then). Tables are at
 * most half full, where a run this long is vanishingly rare for a random
 * key (the odds fall geometrically with the run's length). */
#define FLOW_HASH_MAX_PROBE 128

struct flow_hash_key {
	uint8_t bytes[16];
};

/* A fresh random key from the kernel's random source: 0, else -1 with
 * errno (only before the kernel's pool is ready, when a signal cuts in). */
int flow_hash_key_random(struct flow_hash_key *key);
uint64_t flow_hash(const struct flow_hash_key *key, const struct flow_key *k);

#endif
