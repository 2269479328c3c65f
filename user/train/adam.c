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

		if (a->frozen && a->frozen[i])
			continue;
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

/* One-cycle's phases, as PyTorch's OneCycleLR (three_phase off): the
 * rising phase ends at step warmup - 1, the falling one at total - 1; pct
 * is the progress through the phase the step is in. */
static int one_cycle_phase(const struct lr_schedule *s, long step, double *pct)
{
	double up_end = (double)s->warmup_steps - 1, end = (double)s->total_steps - 1;
	double x = (double)(step < s->total_steps ? step : s->total_steps - 1);

	if (x <= up_end) {
		*pct = up_end > 0 ? x / up_end : 1;
		return 0;
	}
	*pct = end > up_end ? (x - up_end) / (end - up_end) : 1;
	return 1;
}

static double cos_anneal(double from, double to, double pct)
{
	return to + (from - to) / 2 * (cos(M_PI * pct) + 1);
}

#define ONE_CYCLE_DIV 25.0      /* the first step's learning rate is lr / 25 */
#define BETA1_HIGH 0.95
#define BETA1_LOW 0.85

double beta1_at(const struct lr_schedule *s, long step)
{
	double pct;

	if (!s->one_cycle)
		return 0.9;
	return one_cycle_phase(s, step, &pct) ? cos_anneal(BETA1_LOW, BETA1_HIGH, pct)
					      : cos_anneal(BETA1_HIGH, BETA1_LOW, pct);
}

double lr_at(const struct lr_schedule *s, long step)
{
	double progress;

	if (s->one_cycle)
		return one_cycle_phase(s, step, &progress) ? cos_anneal(s->lr, s->lr_min, progress)
							   : cos_anneal(s->lr / ONE_CYCLE_DIV, s->lr,
									progress);
	if (step < s->warmup_steps)
		return s->lr * (double)(step + 1) / (double)s->warmup_steps;
	if (s->total_steps <= s->warmup_steps + 1)
		return s->lr;
	progress = (double)(step - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps - 1);
	if (progress > 1)
		progress = 1;
	return s->lr_min + 0.5 * (s->lr - s->lr_min) * (1 + cos(M_PI * progress));
}
