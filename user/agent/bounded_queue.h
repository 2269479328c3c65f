/* SPDX-License-Identifier: MIT */
/* A bounded FIFO of fixed-size items between threads: producers never
 * wait for room (a full queue refuses the item, and the caller counts the
 * drop), one consumer takes items in batches. Producers and the consumer
 * share one mutex, held only to copy items in or out. */
#ifndef ODEFLOW_BOUNDED_QUEUE_H
#define ODEFLOW_BOUNDED_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct bounded_queue;

/* capacity items of item_size bytes; NULL when out of memory. */
struct bounded_queue *bounded_queue_new(size_t item_size, size_t capacity);
void bounded_queue_free(struct bounded_queue *q);

/* Copies n items in while there is room; returns how many went in. */
size_t bounded_queue_push(struct bounded_queue *q, const void *items, size_t n);

/* Moves up to max items out, waiting up to timeout_ms for the first one;
 * returns how many (0 on timeout, or once closed and empty). */
size_t bounded_queue_pop(struct bounded_queue *q, void *out, size_t max, int timeout_ms);

/* Wakes the consumer; pushes still succeed and pops still drain. */
void bounded_queue_close(struct bounded_queue *q);
bool bounded_queue_closed(struct bounded_queue *q);

#endif
