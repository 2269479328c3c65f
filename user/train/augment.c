/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "augment.h"

static double uniform(struct rng *rng)
{
	return (double)(rng_next(rng) >> 11) * 0x1p-53;
}

void augment_window(int n, const float *sizes, const double *times, double time_jitter,
		    int size_jitter, struct rng *rng, float *out_sizes, double *out_times)
{
	if (time_jitter > 0) {
		double stretch = exp(time_jitter * (2 * uniform(rng) - 1));

		for (int p = 0; p < n; p++)
			out_times[p] = times[0] + (times[p] - times[0]) * stretch;
	} else {
		memcpy(out_times, times, n * sizeof(*out_times));
	}
	if (size_jitter > 0) {
		float shift = (float)floor((2 * size_jitter + 1) * uniform(rng)) - (float)size_jitter;

		for (int p = 0; p < n; p++)
			out_sizes[p] = fminf(fmaxf(sizes[p] + shift, 0.0f), 65535.0f);
	} else {
		memcpy(out_sizes, sizes, n * sizeof(*out_sizes));
	}
}
