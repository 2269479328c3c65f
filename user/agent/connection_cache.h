/* SPDX-License-Identifier: MIT */
/* The cascade's memory of connections: a bounded cache from flow keys to
 * fixed-size entries (each begins with its struct flow_key), whose oldest
 * entries are forgotten first, and which no choice of keys makes slow.
 *
 * Two generations of open-addressing tables, probed linearly under a keyed
 * hash (common/flow_hash.h): an entry found in the previous generation
 * moves to the current one; when the current one holds `limit` entries, the
 * previous one is forgotten and the two swap. Forgetting takes no time: a
 * slot is live only while it carries its table's epoch, and a table is
 * emptied by giving it a new epoch (no clear, so no stall when a
 * generation ends). At most FLOW_HASH_MAX_PROBE slots are probed per
 * table; a new entry whose probe run is full takes the run's last slot,
 * whose entry is forgotten (as it would be at the generation's end). */
#ifndef ODEFLOW_CONNECTION_CACHE_H
#define ODEFLOW_CONNECTION_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/flow_hash.h"

struct connection_cache;

/* limit >= 1 entries per generation (at most 2 * limit remembered);
 * entry_size >= sizeof(struct flow_key); hash_key NULL for a random one
 * (tests plant collisions under theirs); resident: every page of the tables
 * there from the start (memory_table), for the agent, whose verdicts wait
 * on each lookup. -1 with a message in err: out of memory (resident: more
 * than half of what the host has available), or no random key. */
int connection_cache_new(size_t entry_size, size_t limit, const struct flow_hash_key *hash_key,
			 bool resident, struct connection_cache **out, char *err, size_t errlen);
void connection_cache_free(struct connection_cache *c);
/* The memory its tables take. */
size_t connection_cache_bytes(const struct connection_cache *c);

/* The entry of key, from either generation, else a new one, zero but for
 * its key. Good until the next call. Never fails. */
void *connection_cache_get(struct connection_cache *c, const struct flow_key *key);

#endif
