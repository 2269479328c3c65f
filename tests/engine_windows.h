/* SPDX-License-Identifier: MIT */
/* Synthetic but plausible windows for the engine tests: sizes between 40
 * and 1500 bytes, gaps from microseconds to seconds, every fifth window
 * with two equal timestamps. Deterministic for a seed. */
#ifndef ODEFLOW_TEST_ENGINE_WINDOWS_H
#define ODEFLOW_TEST_ENGINE_WINDOWS_H

#include <math.h>

#include "common/rng.h"

static inline void make_windows(int count, int n, unsigned long long seed, float *sizes,
				double *times)
{
	struct rng r = { seed };

	for (int w = 0; w < count; w++) {
		double t = 1000.0 * (double)(rng_next(&r) >> 11) * 0x1p-53;

		for (int i = 0; i < n; i++) {
			double u = (double)(rng_next(&r) >> 11) * 0x1p-53;

			sizes[w * n + i] = (float)(40 + (int)(u * 1460));
			/* log-uniform gaps from 1 us to 2 s */
			if (i)
				t += pow(10.0, -6.0 + 6.3 * (double)(rng_next(&r) >> 11) * 0x1p-53);
			if (w % 5 == 0 && i == n / 2)
				t = times[w * n + i - 1];
			times[w * n + i] = t;
		}
	}
}

#endif
