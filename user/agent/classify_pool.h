/* SPDX-License-Identifier: MIT */
/* A small pool of classification threads for the agent. The ring-buffer drain
 * stays on one thread and hands over batches of windows; each worker owns a
 * model workspace (a seat), runs the cascade on a batch, and passes the
 * decisions to the caller's callback (which writes verdicts, re-arms, prints
 * events). The drain thread has a seat too, for the batches it classifies
 * itself. */
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
/* Classifies a batch on the calling thread, exactly as a worker would (the
 * callback runs here), in a seat of its own: one thread at a time. */
void classify_pool_run_here(struct classify_pool *p, const struct window_batch *b);
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
