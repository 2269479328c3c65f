/* SPDX-License-Identifier: MIT */
#include "classify_pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/log.h"
#include "thread_priority.h"

#define QUEUE_DEPTH 8 /* batches waiting: 8 x 256 windows of slack */

/* A seat and the lock its thread holds while it classifies a batch, so a
 * new model's seat (classify_pool_swap) takes its place between two. */
struct slot {
	struct classify_pool *pool;
	pthread_mutex_t lock;
	struct classify_seat *seat;
};

struct classify_pool {
	const struct model *model;
	struct cascade *cascade;
	struct slot *slots; /* worker i's, then run_here's */
	int nslots;
	decisions_fn on_decisions;
	void *ctx;

	pthread_mutex_t lock;
	pthread_cond_t has_work, has_room;
	struct window_batch *queue[QUEUE_DEPTH];
	int head, count, waiting_workers;
	bool stopping;
	/* Batches are copied into these, made once: a batch queued or in a
	 * worker's hands holds one, so QUEUE_DEPTH + threads never run out. */
	struct window_batch *spare[QUEUE_DEPTH + POOL_MAX_THREADS];
	int spares;

	int threads;
	pthread_t tid[];
};

static struct window_batch *take(struct classify_pool *p)
{
	struct window_batch *b = NULL;

	pthread_mutex_lock(&p->lock);
	p->waiting_workers++;
	while (!p->count && !p->stopping)
		pthread_cond_wait(&p->has_work, &p->lock);
	p->waiting_workers--;
	if (p->count) {
		b = p->queue[p->head];
		p->head = (p->head + 1) % QUEUE_DEPTH;
		p->count--;
		pthread_cond_signal(&p->has_room);
	}
	pthread_mutex_unlock(&p->lock);
	return b;
}

/* One full batch through the model before the first real one, so the
 * workspace's pages and the BLAS kernels are warm when latency counts. */
static void warm_up(const struct model *m, struct model_ws *ws)
{
	int n = model_config(m)->window, c = model_config(m)->num_classes;
	float *sizes = malloc(sizeof(float) * (size_t)(n * POOL_MAX_BATCH));
	double *times = malloc(sizeof(double) * (size_t)(n * POOL_MAX_BATCH));
	float *out = malloc(sizeof(float) * (size_t)(c * POOL_MAX_BATCH));

	if (sizes && times && out) {
		for (int i = 0; i < n * POOL_MAX_BATCH; i++) {
			sizes[i] = 100;
			times[i] = (i % n) * 1e-3;
		}
		model_classify(m, ws, POOL_MAX_BATCH, sizes, times, out);
	}
	free(sizes);
	free(times);
	free(out);
}

/* What one thread needs to classify: a warmed-up workspace of the
 * cascade's current model and room for a batch's decisions. */
struct classify_seat {
	struct cascade_ws *ws;
	struct decision *out;
};

static void classify_seat_free(struct classify_seat *seat);

static struct classify_seat *classify_seat_new(const struct model *m, const struct cascade *c)
{
	struct classify_seat *seat = calloc(1, sizeof(*seat));

	if (seat) {
		seat->ws = cascade_ws_new(c, POOL_MAX_BATCH);
		seat->out = calloc(POOL_MAX_BATCH, sizeof(*seat->out));
	}
	if (!seat || !seat->ws || !seat->out) {
		classify_seat_free(seat);
		return NULL;
	}
	warm_up(m, cascade_ws_model(seat->ws));
	return seat;
}

static void classify_seat_free(struct classify_seat *seat)
{
	if (!seat)
		return;
	cascade_ws_free(seat->ws);
	free(seat->out);
	free(seat);
}

/* A batch through the slot's seat (the callback runs with it held: the
 * decisions live in the seat). */
static void classify_in(struct classify_pool *p, struct slot *s, const struct window_record *windows,
			int n)
{
	int failed, decided;

	pthread_mutex_lock(&s->lock);
	decided = cascade_decide(p->cascade, s->seat->ws, n, windows, s->seat->out, &failed);
	if (decided < 0)
		log_line(LOG_LEVEL_ERR, "a batch of %d windows could not be classified", n);
	else
		p->on_decisions(p->ctx, decided, s->seat->out, failed);
	pthread_mutex_unlock(&s->lock);
}

void classify_pool_run_here(struct classify_pool *p, const struct window_record *windows, int n)
{
	classify_in(p, &p->slots[p->nslots - 1], windows, n);
}

static void *worker(void *arg)
{
	struct slot *s = arg;
	struct classify_pool *p = s->pool;
	struct window_batch *b;

	thread_priority_latency();
	while ((b = take(p))) {
		classify_in(p, s, b->windows, b->n);
		pthread_mutex_lock(&p->lock);
		p->spare[p->spares++] = b;
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

/* Seats of the cascade's current model for every slot; -1 when out of memory. */
static int new_seats(struct classify_pool *p, const struct model *m, struct classify_seat **out)
{
	for (int i = 0; i < p->nslots; i++) {
		out[i] = classify_seat_new(m, p->cascade);
		if (!out[i]) {
			while (i-- > 0)
				classify_seat_free(out[i]);
			return -1;
		}
	}
	return 0;
}

int classify_pool_swap(struct classify_pool *p, const struct model *m, char *err, size_t errlen)
{
	struct classify_seat **seats = calloc((size_t)p->nslots, sizeof(*seats));
	const struct model *was = p->model;

	if (!seats)
		return errmsg(err, errlen, "out of memory");
	if (cascade_set_model(p->cascade, m, err, errlen)) {
		free(seats);
		return -1;
	}
	if (new_seats(p, m, seats)) { /* built beside the running ones: nothing waits */
		cascade_set_model(p->cascade, was, err, errlen);
		free(seats);
		return errmsg(err, errlen, "out of memory for the model's workspaces");
	}
	for (int i = 0; i < p->nslots; i++) {
		struct classify_seat *old;

		pthread_mutex_lock(&p->slots[i].lock); /* between two batches */
		old = p->slots[i].seat;
		p->slots[i].seat = seats[i];
		pthread_mutex_unlock(&p->slots[i].lock);
		classify_seat_free(old);
	}
	p->model = m;
	free(seats);
	return 0;
}

struct classify_pool *classify_pool_new(int threads, const struct model *m, struct cascade *c,
					decisions_fn on_decisions, void *ctx)
{
	struct classify_seat **seats;
	struct classify_pool *p;

	if (threads < 1 || threads > POOL_MAX_THREADS)
		return NULL;
	p = calloc(1, sizeof(*p) + sizeof(pthread_t) * (size_t)threads);
	seats = calloc((size_t)threads + 1, sizeof(*seats));
	if (!p || !seats) {
		free(p);
		free(seats);
		return NULL;
	}
	p->model = m;
	p->cascade = c;
	p->on_decisions = on_decisions;
	p->ctx = ctx;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->has_work, NULL);
	pthread_cond_init(&p->has_room, NULL);
	for (; p->spares < QUEUE_DEPTH + threads; p->spares++)
		if (!(p->spare[p->spares] = malloc(sizeof(struct window_batch)))) {
			free(seats);
			classify_pool_free(p);
			return NULL;
		}
	p->slots = calloc((size_t)threads + 1, sizeof(*p->slots));
	p->nslots = threads + 1;
	if (!p->slots || new_seats(p, m, seats)) {
		p->nslots = 0; /* no seat to free */
		free(seats);
		classify_pool_free(p);
		return NULL;
	}
	for (int i = 0; i < p->nslots; i++) {
		p->slots[i] = (struct slot){ .pool = p, .seat = seats[i] };
		pthread_mutex_init(&p->slots[i].lock, NULL);
	}
	free(seats);
	for (p->threads = 0; p->threads < threads; p->threads++)
		if (pthread_create(&p->tid[p->threads], NULL, worker, &p->slots[p->threads])) {
			classify_pool_free(p);
			return NULL;
		}
	return p;
}

void classify_pool_submit(struct classify_pool *p, const struct window_record *windows, int n)
{
	struct window_batch *copy;

	pthread_mutex_lock(&p->lock);
	while (p->count == QUEUE_DEPTH)
		pthread_cond_wait(&p->has_room, &p->lock);
	copy = p->spare[--p->spares];
	copy->n = n;
	memcpy(copy->windows, windows, sizeof(*windows) * (size_t)n);
	p->queue[(p->head + p->count) % QUEUE_DEPTH] = copy;
	p->count++;
	pthread_cond_signal(&p->has_work);
	pthread_mutex_unlock(&p->lock);
}

bool classify_pool_idle(struct classify_pool *p)
{
	bool idle;

	pthread_mutex_lock(&p->lock);
	idle = p->waiting_workers > p->count;
	pthread_mutex_unlock(&p->lock);
	return idle;
}

void classify_pool_free(struct classify_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->has_work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->threads; i++)
		pthread_join(p->tid[i], NULL);
	for (int i = 0; i < p->nslots; i++) {
		classify_seat_free(p->slots[i].seat);
		pthread_mutex_destroy(&p->slots[i].lock);
	}
	free(p->slots);
	while (p->spares)
		free(p->spare[--p->spares]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->has_work);
	pthread_cond_destroy(&p->has_room);
	free(p);
}
