/* SPDX-License-Identifier: MIT */
/* The optimiser: AdamW (Adam with decoupled weight decay, Loshchilov and
 * Hutter 2019), global-norm gradient clipping, and a learning-rate schedule
 * of linear warm-up then cosine decay. */
#ifndef ODEFLOW_ADAM_H
#define ODEFLOW_ADAM_H

#include <stddef.h>

struct adam {
	float beta1, beta2, eps;
	float weight_decay;     /* decoupled: params shrink by lr * weight_decay per step */
	size_t count;
	long step;
	float *m, *v;           /* first and second moment estimates */
};

/* PyTorch's defaults: beta1 0.9, beta2 0.999, eps 1e-8. Returns -1 when out of memory. */
int adam_init(struct adam *a, size_t count, float weight_decay);
void adam_free(struct adam *a);
/* One update of params from grads at learning rate lr. */
void adam_step(struct adam *a, float *params, const float *grads, float lr);

/* Scales grads so their L2 norm is at most max_norm (no limit if max_norm <= 0);
 * returns the norm before clipping. */
double clip_grad_norm(float *grads, size_t count, double max_norm);

struct lr_schedule {
	double lr;              /* peak */
	double lr_min;          /* reached at the last step */
	long warmup_steps;      /* linear from lr/warmup_steps up to lr */
	long total_steps;
};

double lr_at(const struct lr_schedule *s, long step);

#endif
