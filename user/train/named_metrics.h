/* SPDX-License-Identifier: MIT */
/* The outcome Unknown, measured: a model names a window (gives it a class)
 * when its Unknown score is at most the model's threshold, and says
 * Unknown otherwise. How many windows it names and how many of those are
 * right, at its threshold (the operating point) and along the curve of
 * every share it could name; and the threshold that names as many as it
 * can at a given accuracy, fitted on held-out applications. */
#ifndef ODEFLOW_NAMED_METRICS_H
#define ODEFLOW_NAMED_METRICS_H

#include <stddef.h>

/* The accuracy the Unknown threshold is fitted for: of the windows named,
 * at least this share right (issue 24's floor). */
#define NAMED_DEFAULT_ACCURACY 0.95

#define NAMED_POINTS 9
/* 1.00, 0.99, 0.98, 0.95, 0.90, 0.80, 0.70, 0.60, 0.50 of the windows named */
extern const double named_shares[NAMED_POINTS];

struct named_point {
	double share;           /* of the windows named: the least unlike their training */
	double threshold;       /* the score of the last one named */
	size_t named;
	double accuracy;        /* of those named; 0 if none */
};

struct named_metrics {
	double threshold;       /* the operating point */
	size_t n, named, right; /* windows; named at the threshold; right among them */
	double share, accuracy; /* named / n; right / named (0 when none is named) */
	struct named_point curve[NAMED_POINTS];
};

/* labels: n true classes; logprobs: n * C; unknown: n scores (NaN: always
 * Unknown). threshold: the operating point (+inf: every window named). */
void named_compute(const int *labels, const float *logprobs, const float *unknown, size_t n,
		   int C, double threshold, struct named_metrics *m);
/* The largest threshold at which the windows named are at least `accuracy`
 * right (ties of the score named together): the largest score when all of
 * them are, -inf when no threshold is. Returns -1 when out of memory. */
int named_fit_threshold(const int *labels, const float *logprobs, const float *unknown,
			size_t n, int C, double accuracy, double *threshold);
/* Cross-fitted: each fold's (fold[i] in 0..k-1) threshold fitted on the
 * other folds' windows (thresholds[k]), and the windows of all folds
 * measured each at its fold's, into m (its threshold: NaN). Returns -1
 * when out of memory. */
int named_crossfit(const int *labels, const float *logprobs, const float *unknown,
		   const int *fold, int k, size_t n, int C, double accuracy, double *thresholds,
		   struct named_metrics *m);

#endif
