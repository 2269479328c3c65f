/* SPDX-License-Identifier: MIT */
/* Training-time augmentation of a window, mimicking what differs from one
 * capture to the next: the path's speed (time stretch) and header lengths
 * (a constant shift of every size). */
#ifndef ODEFLOW_AUGMENT_H
#define ODEFLOW_AUGMENT_H

#include "common/rng.h"

/* out_sizes/out_times: the window of n packets, its time axis stretched by
 * e^u about its first packet, u uniform in [-time_jitter, time_jitter]
 * (times stay non-decreasing), and every size shifted by one whole number
 * of bytes, uniform in [-size_jitter, size_jitter], kept within 0..65535.
 * 0 turns either off (and draws nothing from rng). */
void augment_window(int n, const float *sizes, const double *times, double time_jitter,
		    int size_jitter, struct rng *rng, float *out_sizes, double *out_times);

#endif
