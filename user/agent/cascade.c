/* SPDX-License-Identifier: MIT */
#include "cascade.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/errmsg.h"
#include "common/flow_key.h"
#include "connection_cache.h"

/* Per-connection cascade state, an entry of the connection cache. */
struct connection {
	struct flow_key key; /* first, as the cache needs */
	float sum_logprobs[ODEFLOW_MAX_CLASSES]; /* of the windows it names */
	int stage;     /* windows taken in */
	int unknown;   /* of those, the windows found Unknown (not in the sum) */
	bool final;
	bool is_unknown; /* the outcome Unknown (so far, or for good once final) */
	uint8_t seen;  /* VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE */
	uint8_t egress;      /* the same bits: directions last seen at an egress hook */
	uint32_t ifindex[2]; /* where each direction's last window came from: forward, reverse */
};

struct cascade {
	const struct model *model; /* new workspaces' (atomic: cascade_set_model) */
	struct cascade_options opts;
	int num_classes;
	int window;
	struct connection_cache *connections;
	pthread_mutex_t lock; /* state updates only; classification runs unlocked */
};

struct cascade_ws {
	const struct model *model; /* the one it was made for */
	struct model_ws *model_ws;
	int max_batch;
	float *sizes;     /* max_batch x window */
	double *times;    /* max_batch x window, seconds */
	float *logprobs;  /* max_batch x classes */
	float *unknown;   /* max_batch Unknown scores */
	bool *row_failed; /* max_batch */
};

int cascade_new(const struct model *m, const struct cascade_options *opts, struct cascade **out,
		char *err, size_t errlen)
{
	const struct model_config *cfg = model_config(m);
	struct cascade *c;

	*out = NULL;
	if (!(opts->threshold >= 0) || opts->threshold > 1)
		return errmsg(err, errlen, "the cascade's threshold %g is not from 0 to 1",
			      (double)opts->threshold);
	if (opts->max_windows < 1)
		return errmsg(err, errlen, "the cascade's max-windows %d is below 1",
			      opts->max_windows);
	if (opts->max_connections < 2)
		return errmsg(err, errlen, "the cascade must remember 2 connections or more, not %d",
			      opts->max_connections);
	c = calloc(1, sizeof(*c));
	if (!c)
		return errmsg(err, errlen, "out of memory for the cascade");
	c->model = m;
	c->opts = *opts;
	c->opts.hash_key = NULL; /* the caller's; the cache has its copy */
	c->num_classes = cfg->num_classes;
	c->window = cfg->window;
	if (connection_cache_new(sizeof(struct connection), (size_t)opts->max_connections / 2,
				 opts->hash_key, opts->resident, &c->connections, err, errlen)) {
		free(c);
		return -1;
	}
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

size_t cascade_memory_bytes(const struct cascade *c)
{
	return connection_cache_bytes(c->connections);
}

void cascade_free(struct cascade *c)
{
	if (!c)
		return;
	connection_cache_free(c->connections);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct cascade_ws *cascade_ws_new(const struct cascade *c, int max_batch)
{
	struct cascade_ws *ws = calloc(1, sizeof(*ws));
	size_t rows = (size_t)(max_batch > 0 ? max_batch : 1);

	if (!ws)
		return NULL;
	ws->max_batch = max_batch;
	ws->model = __atomic_load_n(&c->model, __ATOMIC_ACQUIRE);
	ws->model_ws = model_ws_new(ws->model, max_batch);
	/* calloc: gcc cannot see that deciding writes every slot it reads */
	ws->sizes = calloc(rows * (size_t)c->window, sizeof(float));
	ws->times = calloc(rows * (size_t)c->window, sizeof(double));
	ws->logprobs = calloc(rows * (size_t)c->num_classes, sizeof(float));
	ws->unknown = calloc(rows, sizeof(float));
	ws->row_failed = calloc(rows, sizeof(bool));
	if (!ws->model_ws || !ws->sizes || !ws->times || !ws->logprobs || !ws->unknown ||
	    !ws->row_failed) {
		cascade_ws_free(ws);
		return NULL;
	}
	return ws;
}

void cascade_ws_free(struct cascade_ws *ws)
{
	if (!ws)
		return;
	model_ws_free(ws->model_ws);
	free(ws->sizes);
	free(ws->times);
	free(ws->logprobs);
	free(ws->unknown);
	free(ws->row_failed);
	free(ws);
}

int cascade_set_model(struct cascade *c, const struct model *m, char *err, size_t errlen)
{
	const struct model_config *cfg = model_config(m), *was = model_config(c->model);

	if (cfg->window != c->window || cfg->num_classes != c->num_classes)
		return errmsg(err, errlen, "windows of %d packets and %d classes, where the running "
			      "model takes %d and has %d", cfg->window, cfg->num_classes, c->window,
			      c->num_classes);
	for (int k = 0; k < cfg->num_classes; k++)
		if (strcmp(cfg->class_names[k], was->class_names[k]))
			return errmsg(err, errlen, "class %d is %s, where the running model's is %s "
				      "(verdicts and policies name classes by number)", k,
				      cfg->class_names[k], was->class_names[k]);
	__atomic_store_n(&c->model, m, __ATOMIC_RELEASE);
	return 0;
}

struct model_ws *cascade_ws_model(struct cascade_ws *ws)
{
	return ws->model_ws;
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
		   bool window_unknown, struct decision *d)
{
	struct connection *conn;
	int named;

	memset(d, 0, sizeof(*d));
	d->window = *w;
	bool reverse = flow_key_canonical(&w->key, &d->connection);
	uint8_t bit = reverse ? VERDICT_SEEN_REVERSE : VERDICT_SEEN_FORWARD;
	bool first_of_direction;

	memcpy(d->window_logprobs, logprobs, sizeof(float) * (size_t)c->num_classes);

	conn = connection_cache_get(c->connections, &d->connection);
	/* a direction's first window counts even after the other one's final
	 * verdict (within max_windows): one verdict for the connection, from
	 * both directions */
	first_of_direction = !(conn->seen & bit);
	d->restored = conn->final && !first_of_direction;
	conn->seen |= bit;
	conn->egress = (uint8_t)(w->egress ? conn->egress | bit : conn->egress & ~bit);
	conn->ifindex[reverse] = w->ifindex;
	d->directions_seen = conn->seen;
	d->egress = conn->egress;
	memcpy(d->ifindex, conn->ifindex, sizeof(d->ifindex));
	if (!conn->final || (first_of_direction && conn->stage < c->opts.max_windows)) {
		if (window_unknown)
			conn->unknown++;
		else
			for (int k = 0; k < c->num_classes; k++)
				conn->sum_logprobs[k] += logprobs[k];
		conn->stage++;
	}
	named = conn->stage - conn->unknown;
	if (named)
		summarise(conn->sum_logprobs, named, c->num_classes, &d->class_id, &d->confidence);
	if (!conn->final) {
		bool sure = named && d->confidence >= c->opts.threshold;

		conn->final = sure || conn->stage >= c->opts.max_windows;
		conn->is_unknown = !sure && 2 * conn->unknown >= conn->stage;
	}
	if (conn->is_unknown) {
		d->unknown = true;
		d->class_id = c->num_classes;
		d->confidence = (float)conn->unknown / (float)conn->stage;
	}
	d->stage = conn->stage;
	d->provisional = !conn->final;
	d->rearm = !conn->final;
}

int cascade_decide(struct cascade *c, struct cascade_ws *ws, int n,
		   const struct window_record *windows, struct decision *out, int *failed)
{
	size_t per = (size_t)c->window;
	int decided = 0;

	*failed = 0;
	if (n < 1 || n > ws->max_batch)
		return -1;
	for (int i = 0; i < n; i++)
		if (windows[i].n != c->window)
			return -1;
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < per; j++) {
			ws->sizes[i * per + j] = windows[i].sizes[j];
			ws->times[i * per + j] = windows[i].offset_us[j] * 1e-6;
		}
	*failed = model_classify_scored(ws->model, ws->model_ws, n, ws->sizes, ws->times,
					ws->logprobs, ws->unknown, ws->row_failed);
	if (*failed < 0)
		return -1;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < n; i++)
		if (!ws->row_failed[i]) {
			update(c, &windows[i], ws->logprobs + (size_t)i * c->num_classes,
			       model_is_unknown(ws->model, ws->unknown[i]), &out[decided]);
			out[decided++].model_id = model_config(ws->model)->model_id;
		}
	pthread_mutex_unlock(&c->lock);
	return decided;
}
