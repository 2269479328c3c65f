/* SPDX-License-Identifier: MIT */
/* A bounded queue of decisions between the classification threads and one
 * slow consumer (the events file, an exporter), which runs on a thread of
 * its own. Pushing never blocks: when the queue is full the decisions that
 * do not fit are dropped and counted, so a consumer that stalls (a FIFO
 * nobody reads, a collector that is down) never holds up classification. */
#ifndef ODEFLOW_DECISION_QUEUE_H
#define ODEFLOW_DECISION_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade.h"

struct queued_decision {
	struct decision d;
	double wall_s;      /* CLOCK_REALTIME when the verdict was written */
	double latency_us;  /* from the window's last packet to its verdict; < 0: none */
};

/* Called on the consumer thread, one decision at a time, in push order. */
typedef void (*decision_consumer)(void *ctx, const struct queued_decision *q);

struct decision_queue;

/* depth: decisions the queue holds. NULL when out of memory or the thread
 * cannot start. */
struct decision_queue *decision_queue_new(size_t depth, decision_consumer consume, void *ctx);
/* Queues n decisions of one batch; returns how many were dropped. */
int decision_queue_push(struct decision_queue *q, const struct decision *d, int n, double wall_s,
			const double *latency_us);
uint64_t decision_queue_dropped(const struct decision_queue *q);
/* Hands the consumer what is queued, then joins it. A consumer that must
 * not outlast the agent bounds its own waits (see events_writer.c). */
void decision_queue_free(struct decision_queue *q);

#endif
