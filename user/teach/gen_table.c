/* SPDX-License-Identifier: MIT */
#include "gen_table.h"

#include <stdlib.h>
#include <string.h>

#include "capture/flow_table.h"

/* An entry that moved to the current generation stays behind in the
 * previous one (flow_table removes nothing) with this protocol, which no
 * sampled connection has: lookups pass over it, and forgetting skips it. */
#define MOVED_PROTO 0

struct gen_table {
	size_t entry_size, limit;
	gen_forget_fn forget;
	void *ctx;
	struct flow_table *current, *previous;
	size_t previous_live; /* entries of previous that have not moved */
};

struct gen_table *gen_table_new(size_t entry_size, size_t limit, gen_forget_fn forget, void *ctx)
{
	struct gen_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	*t = (struct gen_table){ .entry_size = entry_size, .limit = limit ? limit : 1,
				 .forget = forget, .ctx = ctx };
	t->current = flow_table_new(entry_size, NULL);
	t->previous = flow_table_new(entry_size, NULL);
	if (!t->current || !t->previous) {
		gen_table_free(t);
		return NULL;
	}
	return t;
}

static void forget_all(struct gen_table *t, struct flow_table *ft)
{
	size_t pos = 0;
	struct flow_key *e;

	while (ft && (e = flow_table_next(ft, &pos)))
		if (e->proto != MOVED_PROTO && t->forget)
			t->forget(e, t->ctx);
}

void gen_table_free(struct gen_table *t)
{
	if (!t)
		return;
	forget_all(t, t->previous);
	forget_all(t, t->current);
	flow_table_free(t->previous);
	flow_table_free(t->current);
	free(t);
}

/* The current generation is full: the previous one goes. -1 when out of
 * memory (nothing changes). */
static int next_generation(struct gen_table *t)
{
	struct flow_table *fresh = flow_table_new(t->entry_size, NULL);

	if (!fresh)
		return -1;
	forget_all(t, t->previous);
	flow_table_free(t->previous);
	t->previous = t->current;
	t->previous_live = flow_table_count(t->current);
	t->current = fresh;
	return 0;
}

void *gen_table_find(struct gen_table *t, const struct flow_key *key)
{
	struct flow_key *old;
	void *e = flow_table_find(t->current, key);
	bool added;

	if (e || !t->previous_live || !(old = flow_table_find(t->previous, key)))
		return e;
	if (flow_table_count(t->current) >= t->limit)
		return old; /* stays where it is: moving it would forget it */
	e = flow_table_add(t->current, key, &added);
	if (!e)
		return old;
	memcpy(e, old, t->entry_size);
	old->proto = MOVED_PROTO;
	t->previous_live--;
	return e;
}

void *gen_table_add(struct gen_table *t, const struct flow_key *key, bool *added)
{
	void *e = gen_table_find(t, key);

	*added = false;
	if (e)
		return e;
	if (flow_table_count(t->current) >= t->limit && next_generation(t))
		return NULL;
	return flow_table_add(t->current, key, added);
}

void *gen_table_next(struct gen_table *t, size_t *pos)
{
	/* *pos counts the previous generation's slots first, then the current's:
	 * flow_table_next takes positions of its own, so split them by a flag bit */
	const size_t current_bit = (size_t)1 << (sizeof(size_t) * 8 - 1);
	struct flow_key *e;

	if (!(*pos & current_bit)) {
		size_t p = *pos;

		while ((e = flow_table_next(t->previous, &p)))
			if (e->proto != MOVED_PROTO) {
				*pos = p;
				return e;
			}
		*pos = current_bit;
	}
	{
		size_t p = *pos & ~current_bit;

		e = flow_table_next(t->current, &p);
		*pos = p | current_bit;
		return e;
	}
}

size_t gen_table_count(const struct gen_table *t)
{
	return t->previous_live + flow_table_count(t->current);
}

size_t gen_table_bytes(const struct gen_table *t)
{
	/* flow_table keeps its slots at most half full, plus a flag a slot */
	size_t slots = 2 * (flow_table_count(t->previous) + flow_table_count(t->current));

	return sizeof(*t) + slots * (t->entry_size + 1);
}
