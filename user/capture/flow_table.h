/* SPDX-License-Identifier: MIT */
/* A hash table from flow keys to fixed-size entries, each of which begins
 * with its struct flow_key: open addressing, linear probing under a keyed
 * hash (common/flow_hash.h), grown at half full, and rehashed under a fresh
 * key when a probe run would pass FLOW_HASH_MAX_PROBE, so no choice of keys
 * makes an add or a lookup slow. Sessions (one entry per direction) and the
 * nDPI labeller (one per connection) keep their state in one. */
#ifndef ODEFLOW_FLOW_TABLE_H
#define ODEFLOW_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/flow_hash.h"
#include "odeflow.h"

struct flow_table;

/* entry_size: at least sizeof(struct flow_key). hash_key: NULL for a
 * random one (a test plants colliding keys under its own). NULL if out of
 * memory or the kernel gives no random key. */
struct flow_table *flow_table_new(size_t entry_size, const struct flow_hash_key *hash_key);
/* Frees the table, not what its entries point to. */
void flow_table_free(struct flow_table *t);

/* The entry of key, or NULL. */
void *flow_table_find(const struct flow_table *t, const struct flow_key *key);
/* The entry of key; a new one is zero-filled but for its key, and *added
 * says so. NULL when out of memory. An add may move every entry: pointers
 * into the table are good until the next add. */
void *flow_table_add(struct flow_table *t, const struct flow_key *key, bool *added);
size_t flow_table_count(const struct flow_table *t);
/* Entries in no particular order: start with *pos = 0; NULL at the end. */
void *flow_table_next(const struct flow_table *t, size_t *pos);

#endif
