// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/flow_hash.h"
#include "flow_table.h"

#define INITIAL_CAPACITY 1024
#define NO_SLOT SIZE_MAX

struct flow_table {
	struct flow_hash_key hash_key;
	size_t entry_size;
	size_t used, capacity; /* capacity: a power of two */
	uint8_t *taken;        /* one flag per slot */
	uint8_t *slots;        /* capacity * entry_size bytes */
};

/* The slot holding key, or the free slot where it belongs; NO_SLOT when
 * FLOW_HASH_MAX_PROBE slots from its home hold other keys. Every entry is
 * within that many slots of its home, so a lookup goes no further. */
static size_t find_slot(const struct flow_table *t, const struct flow_key *key)
{
	size_t mask = t->capacity - 1, i = flow_hash(&t->hash_key, key) & mask;

	for (int probes = 0; probes < FLOW_HASH_MAX_PROBE; probes++, i = (i + 1) & mask)
		if (!t->taken[i] || !memcmp(t->slots + i * t->entry_size, key, sizeof(*key)))
			return i;
	return NO_SLOT;
}

/* The entries, rehashed into capacity slots: under the same key when
 * growing, else (a probe run too long) under a fresh one, and fresh keys and
 * twice the slots while a run would still be too long. -1: out of memory,
 * or no random key; the table is as it was. */
static int rehash(struct flow_table *t, size_t capacity, bool fresh_key)
{
	struct flow_table old = *t;

	for (;; capacity *= 2, fresh_key = true) {
		size_t i = 0, j = 0;

		t->capacity = capacity;
		t->taken = calloc(capacity, 1);
		t->slots = calloc(capacity, t->entry_size);
		if (!t->taken || !t->slots || (fresh_key && flow_hash_key_random(&t->hash_key)))
			break;
		for (; i < old.capacity; i++) {
			const uint8_t *e = old.slots + i * t->entry_size;

			if (!old.taken[i])
				continue;
			j = find_slot(t, (const struct flow_key *)e);
			if (j == NO_SLOT)
				break;
			t->taken[j] = 1;
			memcpy(t->slots + j * t->entry_size, e, t->entry_size);
		}
		if (i == old.capacity) {
			free(old.taken);
			free(old.slots);
			return 0;
		}
		free(t->taken);
		free(t->slots);
	}
	free(t->taken);
	free(t->slots);
	*t = old;
	return -1;
}

struct flow_table *flow_table_new(size_t entry_size, const struct flow_hash_key *hash_key)
{
	struct flow_table *t;

	if (entry_size < sizeof(struct flow_key))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->entry_size = entry_size;
	t->capacity = INITIAL_CAPACITY;
	t->taken = calloc(t->capacity, 1);
	t->slots = calloc(t->capacity, entry_size);
	if (hash_key)
		t->hash_key = *hash_key;
	if (!t->taken || !t->slots || (!hash_key && flow_hash_key_random(&t->hash_key))) {
		flow_table_free(t);
		return NULL;
	}
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	free(t->taken);
	free(t->slots);
	free(t);
}

void *flow_table_find(const struct flow_table *t, const struct flow_key *key)
{
	size_t i = find_slot(t, key);

	return i != NO_SLOT && t->taken[i] ? t->slots + i * t->entry_size : NULL;
}

void *flow_table_add(struct flow_table *t, const struct flow_key *key, bool *added)
{
	size_t i = find_slot(t, key);

	*added = false;
	if (i != NO_SLOT && t->taken[i])
		return t->slots + i * t->entry_size;
	/* at half full it grows; a probe run too long (a key's bad luck, or keys
	 * chosen under a key that leaked) rehashes it under a fresh key */
	while (i == NO_SLOT || 2 * (t->used + 1) > t->capacity) {
		bool grow = 2 * (t->used + 1) > t->capacity;

		if (rehash(t, grow ? 2 * t->capacity : t->capacity, i == NO_SLOT))
			return NULL;
		i = find_slot(t, key);
	}
	t->taken[i] = 1;
	t->used++;
	memcpy(t->slots + i * t->entry_size, key, sizeof(*key));
	*added = true;
	return t->slots + i * t->entry_size;
}

size_t flow_table_count(const struct flow_table *t)
{
	return t->used;
}

void *flow_table_next(const struct flow_table *t, size_t *pos)
{
	for (; *pos < t->capacity; (*pos)++)
		if (t->taken[*pos])
			return t->slots + (*pos)++ * t->entry_size;
	return NULL;
}
