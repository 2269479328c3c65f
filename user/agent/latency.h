/* SPDX-License-Identifier: MIT */
/* A lock-free histogram of latencies in microseconds (log-linear buckets, 32
 * per power of two, so percentiles are within 1/32 of the true value),
 * filled by the classification threads and read by whoever reports. */
#ifndef ODEFLOW_LATENCY_H
#define ODEFLOW_LATENCY_H

#include <stdint.h>

#define LATENCY_SUB_BITS 5
#define LATENCY_BUCKETS ((1 << LATENCY_SUB_BITS) * 40)

struct latency_hist {
	uint64_t count[LATENCY_BUCKETS];
};

void latency_add(struct latency_hist *h, uint64_t us);
uint64_t latency_total(const struct latency_hist *h);
/* The latency at quantile q (0..1): the upper bound of its bucket. */
uint64_t latency_quantile(const struct latency_hist *h, double q);

/* The last LATENCY_RECENT_SECONDS of a lifetime histogram: snapshots of it,
 * one a second, so a flood long past no longer weighs on the figures. Used
 * by one thread (the one that reports). */
#define LATENCY_RECENT_SECONDS 10
struct latency_recent {
	struct latency_hist snap[LATENCY_RECENT_SECONDS + 1];
	uint64_t snap_ns[LATENCY_RECENT_SECONDS + 1]; /* 0: not taken yet */
	int next;
};

/* Takes a snapshot of h if the last one is a second old (call often). */
void latency_recent_tick(struct latency_recent *r, const struct latency_hist *h, uint64_t now_ns);
/* The histogram of the latencies h gained over the last
 * LATENCY_RECENT_SECONDS (since the start if that is more recent). */
void latency_recent(const struct latency_recent *r, const struct latency_hist *h, uint64_t now_ns,
		    struct latency_hist *out);

#endif
