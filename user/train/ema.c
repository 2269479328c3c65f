/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "ema.h"

int ema_init(struct ema *e, size_t count, double decay)
{
	e->decay = decay;
	e->count = count;
	e->avg = malloc((count ? count : 1) * sizeof(*e->avg));
	e->live = malloc((count ? count : 1) * sizeof(*e->live));
	if (e->avg && e->live)
		return 0;
	ema_free(e);
	return -1;
}

void ema_free(struct ema *e)
{
	free(e->avg);
	free(e->live);
	e->avg = e->live = NULL;
}

void ema_update(struct ema *e, const float *params, long step)
{
	double warm = (1.0 + (double)step) / (10.0 + (double)step);
	float d = (float)(warm < e->decay ? warm : e->decay);

	if (step == 0) {
		memcpy(e->avg, params, e->count * sizeof(*params));
		return;
	}
	for (size_t i = 0; i < e->count; i++)
		e->avg[i] = d * e->avg[i] + (1.0f - d) * params[i];
}

void ema_swap(struct ema *e, float *params, bool in)
{
	if (in) {
		memcpy(e->live, params, e->count * sizeof(*params));
		memcpy(params, e->avg, e->count * sizeof(*params));
	} else {
		memcpy(params, e->live, e->count * sizeof(*params));
	}
}
