/* SPDX-License-Identifier: MIT */
/* The optimiser: AdamW (Adam with decoupled weight decay, Loshchilov and
 * Hutter 2019), global-norm gradient clipping, and two learning-rate
 * schedules: linear warm-up then cosine decay, or one-cycle (Smith 2018, as
 * PyTorch's OneCycleLR: cosine up from lr/25, cosine down, with Adam's
 * beta1 cycled the other way between 0.95 and 0.85). */
#ifndef ODEFLOW_ADAM_H
#define ODEFLOW_ADAM_H

#include <stdbool.h>
#include <stddef.h>

struct adam {
	float beta1, beta2, eps;        /* beta1 may change between steps (one-cycle) */
	float weight_decay;     /* decoupled: params shrink by lr * weight_decay per step */
	size_t count;
	long step;
	float *m, *v;           /* first and second moment estimates */
	const unsigned char *frozen;    /* NULL, or per parameter: 1 = never changed */
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
	long warmup_steps;      /* cosine: linear from lr/warmup_steps up to lr;
				 * one-cycle: the steps of the rising phase */
	long total_steps;
	bool one_cycle;
};

double lr_at(const struct lr_schedule *s, long step);
/* Adam's beta1 at a step: 0.9, or one-cycle's. */
double beta1_at(const struct lr_schedule *s, long step);

#endif
