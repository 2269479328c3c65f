/* SPDX-License-Identifier: MIT */
/* Classification metrics: accuracy, the confusion matrix, per-class
 * precision/recall/F1, and accuracy against coverage: how accurate the model
 * is on the windows it is at least t confident about, and what share of the
 * windows that is (the paper's way of pairing a fast classifier with a
 * slower, surer one for the rest). */
#ifndef ODEFLOW_EVAL_METRICS_H
#define ODEFLOW_EVAL_METRICS_H

#include <stddef.h>

#include "engine/model.h"

#define COVERAGE_POINTS 11
/* 0.50, 0.55, ..., 0.95, 0.99 */
extern const double coverage_thresholds[COVERAGE_POINTS];
#define COVERAGE_AT_90 8    /* the index of 0.90, the cascade's default threshold */

struct class_metrics {
	double precision;       /* 0 when the class was never predicted */
	double recall;          /* 0 when the class never occurs */
	double f1;
	size_t support;         /* windows of this class */
};

struct coverage_point {
	double threshold;
	size_t covered;         /* windows whose top probability is >= threshold */
	double coverage;        /* covered / n */
	double accuracy;        /* among the covered; 0 if none */
};

struct metrics {
	int num_classes;
	size_t n, correct;
	double accuracy;
	double macro_f1;
	size_t confusion[ODEFLOW_MAX_CLASSES][ODEFLOW_MAX_CLASSES]; /* [true][predicted] */
	struct class_metrics per_class[ODEFLOW_MAX_CLASSES];
	struct coverage_point coverage[COVERAGE_POINTS];
};

/* The most likely class of one row of scores (first on ties). */
int metrics_argmax(const float *scores, int num_classes);

/* labels: n true classes; logprobs: n * num_classes natural-log probabilities. */
void metrics_compute(const int *labels, const float *logprobs, size_t n, int num_classes,
		     struct metrics *m);

#endif
