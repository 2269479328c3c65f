/* SPDX-License-Identifier: MIT */
/* A small pool of classification threads for the agent. The ring-buffer drain
 * stays on one thread and hands over batches of windows; each worker owns a
 * model workspace, runs the cascade on a batch, and passes the decisions to
 * the caller's callback (which writes verdicts, re-arms, prints events). */
#ifndef ODEFLOW_CLASSIFY_POOL_H
#define ODEFLOW_CLASSIFY_POOL_H

#include <stdbool.h>

#include "cascade.h"

#define POOL_MAX_BATCH 256

struct window_batch {
	int n;
	struct window_record windows[POOL_MAX_BATCH];
};

/* Called on a worker thread, possibly concurrently with other workers, with
 * the decisions of a batch and the number of its windows the model failed on. */
typedef void (*decisions_fn)(void *ctx, int n, const struct decision *decisions, int failed);

struct classify_pool;

/* idle_fd, if not -1, is an eventfd the pool writes to whenever a worker
 * runs out of work, so a drain loop waiting in epoll can hand over its
 * batch at once instead of at its next timeout. */
struct classify_pool *classify_pool_new(int threads, const struct model *m, struct cascade *c,
					decisions_fn on_decisions, void *ctx, int idle_fd);
/* Takes a batch to classify (copied); blocks while every worker is busy and
 * the queue is full, which pushes back onto the ring buffer. */
void classify_pool_submit(struct classify_pool *p, const struct window_batch *b);
/* True when some worker waits for work: then there is no point in holding a
 * batch back to let it grow. */
bool classify_pool_idle(struct classify_pool *p);
/* What one thread needs to classify: a warmed-up model workspace and room
 * for a batch's decisions. Each worker has one; so may the drain thread. */
struct classify_seat;
struct classify_seat *classify_seat_new(const struct model *m, const struct cascade *c);
void classify_seat_free(struct classify_seat *seat);

/* Classifies a batch on the calling thread, exactly as a worker would (the
 * callback runs here). */
void classify_pool_run_here(struct classify_pool *p, struct classify_seat *seat,
			    const struct window_batch *b);
/* Finishes the queued batches and joins the workers. */
void classify_pool_free(struct classify_pool *p);

#endif
