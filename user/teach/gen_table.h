/* SPDX-License-Identifier: MIT */
/* A bounded table of connections for the teacher: two generations of
 * capture/flow_table.h, `limit` entries each. New entries go into the
 * current generation; an entry found in the previous one moves to the
 * current one; when the current one holds `limit`, the previous one is
 * forgotten, each of its entries handed to `forget` first (to free what it
 * points to), and the current one becomes the previous. So at most
 * 2 * limit entries live, the oldest go first, and nothing an entry holds
 * leaks. Entries begin with their struct flow_key, as flow_table's do. */
#ifndef ODEFLOW_GEN_TABLE_H
#define ODEFLOW_GEN_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "odeflow.h"

typedef void (*gen_forget_fn)(void *entry, void *ctx);

struct gen_table;

/* NULL when out of memory. */
struct gen_table *gen_table_new(size_t entry_size, size_t limit, gen_forget_fn forget, void *ctx);
/* Forgets every entry (through forget) and frees the table. */
void gen_table_free(struct gen_table *t);

/* The entry of key, or NULL. Good until the next find, add or next. */
void *gen_table_find(struct gen_table *t, const struct flow_key *key);
/* The entry of key; a new one is zero but for its key (*added says so).
 * NULL when out of memory. Good until the next find, add or next. */
void *gen_table_add(struct gen_table *t, const struct flow_key *key, bool *added);
/* Every live entry, the previous generation's first: *pos = 0 to start;
 * NULL at the end. No find or add in between. */
void *gen_table_next(struct gen_table *t, size_t *pos);
/* Live entries, and the bytes the table holds. */
size_t gen_table_count(const struct gen_table *t);
size_t gen_table_bytes(const struct gen_table *t);

#endif
