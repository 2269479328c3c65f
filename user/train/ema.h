/* SPDX-License-Identifier: MIT */
/* An exponential moving average of the weights over the training steps
 * (Polyak averaging): validated and kept in place of the last weights, it
 * smooths the noise of the last steps out. */
#ifndef ODEFLOW_EMA_H
#define ODEFLOW_EMA_H

#include <stdbool.h>
#include <stddef.h>

struct ema {
	double decay;
	size_t count;
	float *avg;     /* the average */
	float *live;    /* the trained weights while the average stands in */
};

/* Returns -1 when out of memory. */
int ema_init(struct ema *e, size_t count, double decay);
void ema_free(struct ema *e);
/* After step `step` (0-based): avg = d avg + (1 - d) params, with d the
 * smaller of decay and (1 + step) / (10 + step), so the first steps do not
 * linger; step 0 starts the average at params. */
void ema_update(struct ema *e, const float *params, long step);
/* Puts the average in the weights' place (in) or the trained weights back. */
void ema_swap(struct ema *e, float *params, bool in);

#endif
