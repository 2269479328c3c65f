/* SPDX-License-Identifier: MIT */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adam.h"

int adam_init(struct adam *a, size_t count, float weight_decay)
{
	memset(a, 0, sizeof(*a));
	a->beta1 = 0.9f;
	a->beta2 = 0.999f;
	a->eps = 1e-8f;
	a->weight_decay = weight_decay;
	a->count = count;
	a->m = calloc(count ? count : 1, sizeof(*a->m));
	a->v = calloc(count ? count : 1, sizeof(*a->v));
	if (a->m && a->v)
		return 0;
	adam_free(a);
	return -1;
}

void adam_free(struct adam *a)
{
	free(a->m);
	free(a->v);
	a->m = a->v = NULL;
}

void adam_step(struct adam *a, float *params, const float *grads, float lr)
{
	double bias1, bias2;
	float step_size, denom_scale, decay = 1.0f - lr * a->weight_decay;

	a->step++;
	bias1 = 1.0 - pow(a->beta1, (double)a->step);
	bias2 = 1.0 - pow(a->beta2, (double)a->step);
	/* PyTorch's formulation: p -= lr/bias1 * m / (sqrt(v)/sqrt(bias2) + eps) */
	step_size = (float)(lr / bias1);
	denom_scale = (float)(1.0 / sqrt(bias2));
	for (size_t i = 0; i < a->count; i++) {
		float g = grads[i];

		a->m[i] = a->beta1 * a->m[i] + (1.0f - a->beta1) * g;
		a->v[i] = a->beta2 * a->v[i] + (1.0f - a->beta2) * g * g;
		params[i] = params[i] * decay -
			    step_size * a->m[i] / (sqrtf(a->v[i]) * denom_scale + a->eps);
	}
}

double clip_grad_norm(float *grads, size_t count, double max_norm)
{
	double norm = cblas_snrm2((int)count, grads, 1);

	if (max_norm > 0 && norm > max_norm)
		cblas_sscal((int)count, (float)(max_norm / norm), grads, 1);
	return norm;
}

double lr_at(const struct lr_schedule *s, long step)
{
	double progress;

	if (step < s->warmup_steps)
		return s->lr * (double)(step + 1) / (double)s->warmup_steps;
	if (s->total_steps <= s->warmup_steps + 1)
		return s->lr;
	progress = (double)(step - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps - 1);
	if (progress > 1)
		progress = 1;
	return s->lr_min + 0.5 * (s->lr - s->lr_min) * (1 + cos(M_PI * progress));
}
