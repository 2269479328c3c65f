/* SPDX-License-Identifier: MIT */
/* A small pool of classification threads for the agent. The ring-buffer drain
 * stays on one thread and classifies small batches itself; it hands a larger
 * batch to a worker that waits for work. Each worker owns a cascade
 * workspace (a seat), runs the cascade on a batch, and passes the decisions
 * to the caller's callback (which writes verdicts, re-arms, queues events).
 * The drain thread has a seat in the pool too, so a new model replaces
 * every seat (classify_pool_swap). */
#ifndef ODEFLOW_CLASSIFY_POOL_H
#define ODEFLOW_CLASSIFY_POOL_H

#include <stdbool.h>

#include "cascade.h"

#define POOL_MAX_BATCH 256
#define POOL_MAX_THREADS 64 /* odeflow run --threads */

struct window_batch {
	int n;
	struct window_record windows[POOL_MAX_BATCH];
};

/* Called on a worker thread, possibly concurrently with other workers, with
 * the decisions of a batch and the number of its windows the model failed on. */
typedef void (*decisions_fn)(void *ctx, int n, const struct decision *decisions, int failed);

struct classify_pool;

/* threads: 1 to POOL_MAX_THREADS. NULL when out of memory or a thread
 * cannot start. */
struct classify_pool *classify_pool_new(int threads, const struct model *m, struct cascade *c,
					decisions_fn on_decisions, void *ctx);
/* Takes n (1 to POOL_MAX_BATCH) windows to classify, copied (nothing is
 * allocated); blocks while every worker is busy and the queue is full. */
void classify_pool_submit(struct classify_pool *p, const struct window_record *windows, int n);
/* True when some worker waits for work that is not queued yet. */
bool classify_pool_idle(struct classify_pool *p);
/* Classifies n (1 to POOL_MAX_BATCH) windows on the calling thread, exactly
 * as a worker would (the callback runs here), in a seat of its own: one
 * thread at a time. */
void classify_pool_run_here(struct classify_pool *p, const struct window_record *windows, int n);
/* From the next batch on, every thread classifies with m (the cascade's
 * cascade_set_model: same classes, same window): the new workspaces are
 * made and warmed beside the running ones, then each replaces its thread's
 * between two batches, so nothing waits and no batch is lost. When it
 * returns 0, nothing uses the previous model any more: the caller frees
 * it. -1 with a message (m does not fit, out of memory): the previous
 * model goes on. */
int classify_pool_swap(struct classify_pool *p, const struct model *m, char *err, size_t errlen);
/* Finishes the queued batches and joins the workers. */
void classify_pool_free(struct classify_pool *p);

#endif
