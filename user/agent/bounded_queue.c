// SPDX-License-Identifier: MIT
#include "bounded_queue.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bounded_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	size_t item_size, capacity, head, count; /* items live at head .. head+count-1 (mod capacity) */
	bool closed;
	unsigned char *items;
};

struct bounded_queue *bounded_queue_new(size_t item_size, size_t capacity)
{
	struct bounded_queue *q = calloc(1, sizeof(*q));
	pthread_condattr_t attr;

	if (!q || !item_size || !capacity || capacity > SIZE_MAX / item_size ||
	    !(q->items = malloc(item_size * capacity))) {
		free(q);
		return NULL;
	}
	q->item_size = item_size;
	q->capacity = capacity;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->nonempty, &attr);
	pthread_condattr_destroy(&attr);
	return q;
}

void bounded_queue_free(struct bounded_queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->nonempty);
	free(q->items);
	free(q);
}

size_t bounded_queue_push(struct bounded_queue *q, const void *items, size_t n)
{
	const unsigned char *in = items;
	size_t done;

	pthread_mutex_lock(&q->lock);
	for (done = 0; done < n && q->count < q->capacity; done++, q->count++)
		memcpy(q->items + ((q->head + q->count) % q->capacity) * q->item_size,
		       in + done * q->item_size, q->item_size);
	if (done)
		pthread_cond_signal(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
	return done;
}

size_t bounded_queue_pop(struct bounded_queue *q, void *out, size_t max, int timeout_ms)
{
	unsigned char *o = out;
	struct timespec until;
	size_t n;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->lock);
	while (!q->count && !q->closed &&
	       pthread_cond_timedwait(&q->nonempty, &q->lock, &until) == 0)
		;
	for (n = 0; n < max && q->count; n++, q->count--) {
		memcpy(o + n * q->item_size, q->items + q->head * q->item_size, q->item_size);
		q->head = (q->head + 1) % q->capacity;
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

void bounded_queue_close(struct bounded_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->nonempty);
	pthread_mutex_unlock(&q->lock);
}

bool bounded_queue_closed(struct bounded_queue *q)
{
	bool closed;

	pthread_mutex_lock(&q->lock);
	closed = q->closed;
	pthread_mutex_unlock(&q->lock);
	return closed;
}
