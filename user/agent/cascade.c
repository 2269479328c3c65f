/* SPDX-License-Identifier: MIT */
#include "cascade.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/flow_key.h"

/* Per-connection cascade state. */
struct connection {
	struct flow_key key;
	float sum_logprobs[ODEFLOW_MAX_CLASSES];
	int stage;     /* 0: slot empty */
	bool final;
	uint8_t seen;  /* VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE */
};

/* Connections live in two open-addressing tables, the current generation and
 * the previous one. A connection found in the previous table moves to the
 * current one; when the current table reaches max_connections/2 the previous
 * table is forgotten and the tables swap. That is an LRU approximation with
 * O(1) work, no per-entry deletion, and at most max_connections remembered. */
struct generation {
	struct connection *slots;
	size_t used;
};

struct cascade {
	const struct model *model;
	struct cascade_options opts;
	int num_classes;
	int window;
	size_t capacity;  /* slots per table, a power of two >= 2 * limit */
	size_t limit;     /* connections per generation */
	struct generation gen[2];
	int current;
	pthread_mutex_t lock; /* state updates only; classification runs unlocked */
};

static uint64_t key_hash(const struct flow_key *k)
{
	/* FNV-1a over the key bytes: keys are attacker-chosen, but the table
	 * only degrades (linear probing), never fails, and is bounded. */
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static struct connection *probe(struct cascade *c, struct generation *g, const struct flow_key *k)
{
	size_t mask = c->capacity - 1, i = key_hash(k) & mask;

	while (g->slots[i].stage && memcmp(&g->slots[i].key, k, sizeof(*k)))
		i = (i + 1) & mask;
	return &g->slots[i];
}

static struct connection *find_or_add(struct cascade *c, const struct flow_key *k)
{
	struct generation *cur = &c->gen[c->current], *prev = &c->gen[!c->current];
	struct connection *slot = probe(c, cur, k), *old;

	if (slot->stage)
		return slot;
	if (cur->used >= c->limit) {
		memset(prev->slots, 0, c->capacity * sizeof(*prev->slots));
		prev->used = 0;
		c->current = !c->current;
		return find_or_add(c, k);
	}
	old = probe(c, prev, k);
	if (old->stage)
		*slot = *old; /* the stale copy in prev is harmless: cur is searched first */
	else
		slot->key = *k;
	cur->used++;
	return slot;
}

struct cascade *cascade_new(const struct model *m, const struct cascade_options *opts)
{
	const struct model_config *cfg = model_config(m);
	struct cascade *c;

	if (opts->max_windows < 1 || opts->max_connections < 2 || !(opts->threshold >= 0) ||
	    opts->threshold > 1)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->model = m;
	c->opts = *opts;
	c->num_classes = cfg->num_classes;
	c->window = cfg->window;
	c->limit = (size_t)opts->max_connections / 2;
	for (c->capacity = 16; c->capacity < 2 * c->limit; c->capacity *= 2)
		;
	c->gen[0].slots = calloc(c->capacity, sizeof(struct connection));
	c->gen[1].slots = calloc(c->capacity, sizeof(struct connection));
	if (!c->gen[0].slots || !c->gen[1].slots) {
		cascade_free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void cascade_free(struct cascade *c)
{
	if (!c)
		return;
	free(c->gen[0].slots);
	free(c->gen[1].slots);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The class with the highest averaged log-probability, and its probability
 * after renormalising the average (a product of the windows' experts). */
static void summarise(const float *sum, int stage, int num_classes, int *cls, float *confidence)
{
	float best = -INFINITY, norm = 0;

	for (int k = 0; k < num_classes; k++)
		if (sum[k] > best) {
			best = sum[k];
			*cls = k;
		}
	for (int k = 0; k < num_classes; k++)
		norm += expf((sum[k] - best) / (float)stage);
	*confidence = 1.0f / norm;
}

static void update(struct cascade *c, const struct window_record *w, const float *logprobs,
		   struct decision *d)
{
	struct connection *conn;

	memset(d, 0, sizeof(*d));
	d->window = *w;
	bool reverse = flow_key_canonical(&w->key, &d->connection);

	memcpy(d->window_logprobs, logprobs, sizeof(float) * (size_t)c->num_classes);

	conn = find_or_add(c, &d->connection);
	d->restored = conn->final && (conn->seen & (reverse ? VERDICT_SEEN_REVERSE
							    : VERDICT_SEEN_FORWARD));
	conn->seen |= reverse ? VERDICT_SEEN_REVERSE : VERDICT_SEEN_FORWARD;
	d->directions_seen = conn->seen;
	if (!conn->final) {
		for (int k = 0; k < c->num_classes; k++)
			conn->sum_logprobs[k] += logprobs[k];
		conn->stage++;
	}
	summarise(conn->sum_logprobs, conn->stage, c->num_classes, &d->class_id, &d->confidence);
	if (!conn->final)
		conn->final = d->confidence >= c->opts.threshold || conn->stage >= c->opts.max_windows;
	d->stage = conn->stage;
	d->provisional = !conn->final;
	d->rearm = !conn->final;
}

int cascade_decide(struct cascade *c, struct model_ws *ws, int n,
		   const struct window_record *windows, struct decision *out, int *failed)
{
	size_t per = (size_t)c->window;
	float *sizes = NULL, *logprobs = NULL;
	double *times = NULL;
	bool *row_failed = NULL;
	int decided = -1;

	*failed = 0;
	for (int i = 0; i < n; i++)
		if (windows[i].n != c->window)
			return -1;
	sizes = calloc(per * (size_t)n, sizeof(float)); /* calloc: gcc cannot see every slot is written */
	times = calloc(per * (size_t)n, sizeof(double));
	logprobs = malloc(sizeof(float) * (size_t)c->num_classes * (size_t)n);
	row_failed = calloc((size_t)n, sizeof(bool));
	if (!sizes || !times || !logprobs || !row_failed)
		goto out;
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < per; j++) {
			sizes[i * per + j] = windows[i].sizes[j];
			times[i * per + j] = windows[i].offset_us[j] * 1e-6;
		}
	*failed = model_classify_rows(c->model, ws, n, sizes, times, logprobs, row_failed);
	if (*failed < 0)
		goto out;
	decided = 0;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < n; i++)
		if (!row_failed[i])
			update(c, &windows[i], logprobs + (size_t)i * c->num_classes, &out[decided++]);
	pthread_mutex_unlock(&c->lock);
out:
	free(sizes);
	free(times);
	free(logprobs);
	free(row_failed);
	return decided;
}
