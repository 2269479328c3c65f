/* SPDX-License-Identifier: MIT */
/* The clocks the project reads. */
#ifndef ODEFLOW_CLOCK_H
#define ODEFLOW_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "odeflow.h" /* NSEC_PER_*, shared with the XDP program */

/* CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns(), so times
 * the XDP program writes into maps compare with it directly. */
static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* CLOCK_REALTIME in seconds since the epoch (events, exports). */
static inline double wall_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
