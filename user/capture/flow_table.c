// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow_table.h"

#define INITIAL_CAPACITY 1024

struct flow_table {
	size_t entry_size;
	size_t used, capacity; /* capacity: a power of two */
	uint8_t *taken;        /* one flag per slot */
	uint8_t *slots;        /* capacity * entry_size bytes */
};

static uint64_t key_hash(const struct flow_key *key)
{
	const uint8_t *p = (const uint8_t *)key;
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < sizeof(*key); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* The slot holding key, or the free slot where it belongs. */
static size_t find_slot(const uint8_t *taken, const uint8_t *slots, size_t entry_size,
			size_t capacity, const struct flow_key *key)
{
	size_t i = key_hash(key) & (capacity - 1);

	while (taken[i] && memcmp(slots + i * entry_size, key, sizeof(*key)))
		i = (i + 1) & (capacity - 1);
	return i;
}

static int alloc_slots(struct flow_table *t, size_t capacity)
{
	t->taken = calloc(capacity, 1);
	t->slots = calloc(capacity, t->entry_size);
	if (!t->taken || !t->slots) {
		free(t->taken);
		free(t->slots);
		return -1;
	}
	t->capacity = capacity;
	return 0;
}

static int grow(struct flow_table *t)
{
	uint8_t *taken = t->taken, *slots = t->slots;
	size_t capacity = t->capacity;

	if (alloc_slots(t, 2 * capacity)) {
		t->taken = taken;
		t->slots = slots;
		return -1;
	}
	for (size_t i = 0; i < capacity; i++) {
		const uint8_t *e = slots + i * t->entry_size;
		size_t j;

		if (!taken[i])
			continue;
		j = find_slot(t->taken, t->slots, t->entry_size, t->capacity,
			      (const struct flow_key *)e);
		t->taken[j] = 1;
		memcpy(t->slots + j * t->entry_size, e, t->entry_size);
	}
	free(taken);
	free(slots);
	return 0;
}

struct flow_table *flow_table_new(size_t entry_size)
{
	struct flow_table *t;

	if (entry_size < sizeof(struct flow_key))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->entry_size = entry_size;
	if (alloc_slots(t, INITIAL_CAPACITY)) {
		free(t);
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
	size_t i = find_slot(t->taken, t->slots, t->entry_size, t->capacity, key);

	return t->taken[i] ? t->slots + i * t->entry_size : NULL;
}

void *flow_table_add(struct flow_table *t, const struct flow_key *key, bool *added)
{
	size_t i;

	*added = false;
	i = find_slot(t->taken, t->slots, t->entry_size, t->capacity, key);
	if (t->taken[i])
		return t->slots + i * t->entry_size;
	if (2 * (t->used + 1) > t->capacity) {
		if (grow(t))
			return NULL;
		i = find_slot(t->taken, t->slots, t->entry_size, t->capacity, key);
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
