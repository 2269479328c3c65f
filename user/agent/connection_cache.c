// SPDX-License-Identifier: MIT
#include "connection_cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/errmsg.h"
#include "common/memory.h"

struct generation {
	uint64_t epoch;   /* a slot is live when its epoch is this */
	uint64_t *epochs; /* one per slot: probing reads these, not the entries */
	uint8_t *entries;
	size_t used;
};

struct connection_cache {
	struct flow_hash_key hash_key;
	size_t entry_size;
	size_t capacity; /* slots per table: a power of two >= 2 * limit */
	size_t limit;
	uint64_t next_epoch;
	struct generation gen[2];
	int current;
};

static void *entry(const struct connection_cache *c, const struct generation *g, size_t i)
{
	return g->entries + i * c->entry_size;
}

/* Where key is in g (*live) or where it would go: the first free slot of
 * its run, or, when FLOW_HASH_MAX_PROBE slots hold other keys, the last. */
static size_t probe(const struct connection_cache *c, const struct generation *g,
		    const struct flow_key *key, bool *live)
{
	size_t mask = c->capacity - 1, i = flow_hash(&c->hash_key, key) & mask;

	for (int probes = 1;; probes++, i = (i + 1) & mask) {
		*live = g->epochs[i] == g->epoch;
		if (!*live)
			return i;
		if (!memcmp(entry(c, g, i), key, sizeof(*key)))
			return i;
		if (probes == FLOW_HASH_MAX_PROBE) {
			*live = false;
			return i;
		}
	}
}

void *connection_cache_get(struct connection_cache *c, const struct flow_key *key)
{
	struct generation *cur = &c->gen[c->current], *prev = &c->gen[!c->current];
	bool live, was_free;
	size_t i = probe(c, cur, key, &live), j;

	if (live)
		return entry(c, cur, i);
	if (cur->used >= c->limit) {
		/* the previous generation is forgotten: it becomes the current one */
		prev->epoch = c->next_epoch++;
		prev->used = 0;
		c->current = !c->current;
		return connection_cache_get(c, key);
	}
	was_free = cur->epochs[i] != cur->epoch; /* else the full run's last slot, reused */
	j = probe(c, prev, key, &live);
	if (live)
		memcpy(entry(c, cur, i), entry(c, prev, j), c->entry_size); /* prev's copy is stale
									     * now: cur is searched first */
	else {
		memset(entry(c, cur, i), 0, c->entry_size);
		memcpy(entry(c, cur, i), key, sizeof(*key));
	}
	cur->epochs[i] = cur->epoch;
	cur->used += was_free;
	return entry(c, cur, i);
}

int connection_cache_new(size_t entry_size, size_t limit, const struct flow_hash_key *hash_key,
			 bool resident, struct connection_cache **out, char *err, size_t errlen)
{
	struct connection_cache *c = calloc(1, sizeof(*c));
	uint64_t avail;
	size_t bytes;

	*out = NULL;
	if (!c)
		return errmsg(err, errlen, "out of memory for the connections' cache");
	c->entry_size = entry_size;
	c->limit = limit;
	for (c->capacity = 16; c->capacity < 2 * limit; c->capacity *= 2)
		;
	/* resident: all of it faulted in now, so no new connection waits for a
	 * page (the hash spreads them over every page of the tables soon
	 * anyway), and at most half of what the host has, as for the sampler's
	 * maps */
	bytes = connection_cache_bytes(c);
	avail = resident ? memory_available() : 0;
	if (avail && bytes > avail / 2) {
		connection_cache_free(c);
		return errmsg(err, errlen,
			      "the cascade's %zu connections need %zu MiB; this host has %llu MiB "
			      "available, and at most half of it may go to them",
			      2 * limit, bytes >> 20, (unsigned long long)(avail >> 20));
	}
	for (int g = 0; g < 2; g++) {
		c->gen[g].epoch = (uint64_t)g + 1; /* the zero pages' epoch 0: every slot free */
		/* the entries first: the larger, so a size that cannot be had fails at once */
		c->gen[g].entries = memory_table(c->capacity * entry_size, resident);
		c->gen[g].epochs = c->gen[g].entries ? memory_table(c->capacity * sizeof(uint64_t), resident)
						     : NULL;
		if (!c->gen[g].epochs || !c->gen[g].entries) {
			connection_cache_free(c);
			return errmsg(err, errlen,
				      "out of memory for the cascade's %zu connections (%zu MiB)",
				      2 * limit, bytes >> 20);
		}
	}
	c->next_epoch = 3;
	if (hash_key)
		c->hash_key = *hash_key;
	else if (flow_hash_key_random(&c->hash_key)) {
		connection_cache_free(c);
		return errmsg(err, errlen, "no random key for the connections' hash: %s",
			      strerror(errno));
	}
	*out = c;
	return 0;
}

size_t connection_cache_bytes(const struct connection_cache *c)
{
	return 2 * c->capacity * (c->entry_size + sizeof(uint64_t));
}

void connection_cache_free(struct connection_cache *c)
{
	if (!c)
		return;
	for (int g = 0; g < 2; g++) {
		memory_release(c->gen[g].epochs, c->capacity * sizeof(uint64_t));
		memory_release(c->gen[g].entries, c->capacity * c->entry_size);
	}
	free(c);
}
