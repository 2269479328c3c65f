/* SPDX-License-Identifier: MIT */
/* K-fold cross-validation: one model per fold, trained through fit_model
 * on the other folds, then classifying the fold it never saw. */
#ifndef ODEFLOW_CROSSVAL_H
#define ODEFLOW_CROSSVAL_H

#include <stdio.h>

#include "dataset.h"
#include "eval_metrics.h"
#include "fit.h"

#define CROSSVAL_MAX_FOLDS 64
#define CROSSVAL_MAX_JOBS 16

struct crossval_fold {
	size_t train_n, test_n;
	struct metrics m;       /* on the held-out windows */
	double seconds;         /* training time */
};

/* Trains a model of cfg for each of the k folds (fold[i] of each window,
 * see folds.h) on the other folds' windows and also's (never held out;
 * also->n may be 0), jobs of them at a time, and writes every window's held-out
 * log-probabilities into logprobs (ds->n * num_classes, in ds's order)
 * and, unless unknown is NULL, their Unknown scores (ds->n).
 * progress: a line per finished fold, or NULL. Returns -1 with one line in
 * err if a fold fails. */
int crossval_run(const struct model_config *cfg, const struct dataset *ds,
		 const struct dataset *also, const int *fold,
		 int k, const struct fit_options *o, int jobs, float *logprobs, float *unknown,
		 struct crossval_fold *folds, FILE *progress, char *err, size_t errlen);

#endif
