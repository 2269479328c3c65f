/* SPDX-License-Identifier: MIT */
#include "decision_queue.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The consumer takes up to this many at a time, so the lock is held for
 * copies only, never while it writes. */
#define TAKE_MAX 64

struct decision_queue {
	decision_consumer consume;
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t has_items;
	struct queued_decision *ring;
	size_t depth, head, count;
	uint64_t dropped;
	bool stopping;
	pthread_t thread;
};

static void *consumer_thread(void *arg)
{
	struct decision_queue *q = arg;
	struct queued_decision *batch = malloc(TAKE_MAX * sizeof(*batch));
	size_t n;

	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (!q->count && !q->stopping)
			pthread_cond_wait(&q->has_items, &q->lock);
		for (n = 0; batch && n < TAKE_MAX && q->count; n++) {
			batch[n] = q->ring[q->head];
			q->head = (q->head + 1) % q->depth;
			q->count--;
		}
		if (!batch) { /* out of memory: count what cannot be handed over */
			__atomic_fetch_add(&q->dropped, q->count, __ATOMIC_RELAXED);
			q->count = 0;
		}
		bool done = q->stopping && !q->count;
		pthread_mutex_unlock(&q->lock);
		for (size_t i = 0; i < n; i++)
			q->consume(q->ctx, &batch[i]);
		if (done)
			break;
	}
	free(batch);
	return NULL;
}

struct decision_queue *decision_queue_new(size_t depth, decision_consumer consume, void *ctx)
{
	struct decision_queue *q = calloc(1, sizeof(*q));

	if (!q || !depth)
		goto fail;
	q->ring = calloc(depth, sizeof(*q->ring));
	if (!q->ring)
		goto fail;
	q->depth = depth;
	q->consume = consume;
	q->ctx = ctx;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->has_items, NULL);
	if (pthread_create(&q->thread, NULL, consumer_thread, q)) {
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->has_items);
		goto fail;
	}
	return q;
fail:
	if (q)
		free(q->ring);
	free(q);
	return NULL;
}

int decision_queue_push(struct decision_queue *q, const struct decision *d, int n, double wall_s,
			const double *latency_us)
{
	int taken = 0;

	pthread_mutex_lock(&q->lock);
	for (; taken < n && q->count < q->depth; taken++) {
		struct queued_decision *slot = &q->ring[(q->head + q->count) % q->depth];

		slot->d = d[taken];
		slot->wall_s = wall_s;
		slot->latency_us = latency_us ? latency_us[taken] : -1;
		q->count++;
	}
	__atomic_fetch_add(&q->dropped, (uint64_t)(n - taken), __ATOMIC_RELAXED);
	if (taken)
		pthread_cond_signal(&q->has_items);
	pthread_mutex_unlock(&q->lock);
	return n - taken;
}

uint64_t decision_queue_dropped(const struct decision_queue *q)
{
	return __atomic_load_n(&q->dropped, __ATOMIC_RELAXED);
}

void decision_queue_free(struct decision_queue *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_signal(&q->has_items);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->has_items);
	free(q->ring);
	free(q);
}
