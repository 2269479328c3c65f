// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_metrics.h"
#include "named_metrics.h"

const double named_shares[NAMED_POINTS] = { 1.00, 0.99, 0.98, 0.95, 0.90, 0.80, 0.70, 0.60, 0.50 };

struct scored {
	float score;
	int right;
};

/* Least unlike first; NaN (failed windows) last. */
static int by_score(const void *a, const void *b)
{
	float x = ((const struct scored *)a)->score, y = ((const struct scored *)b)->score;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x < y ? -1 : x > y;
}

/* The windows sorted by score, each with whether the model is right on it. */
static struct scored *sorted(const int *labels, const float *logprobs, const float *unknown,
			     size_t n, int C)
{
	struct scored *s = malloc((n ? n : 1) * sizeof(*s));

	for (size_t i = 0; s && i < n; i++)
		s[i] = (struct scored){ unknown[i],
					metrics_argmax(logprobs + i * (size_t)C, C) == labels[i] };
	if (s)
		qsort(s, n, sizeof(*s), by_score);
	return s;
}

static void operating_point(const struct scored *s, size_t n, double threshold,
			    struct named_metrics *m)
{
	m->threshold = threshold;
	m->n = n;
	m->named = m->right = 0;
	for (size_t i = 0; i < n && s[i].score <= threshold; i++) {
		m->named++;
		m->right += (size_t)s[i].right;
	}
	m->share = n ? (double)m->named / n : 0;
	m->accuracy = m->named ? (double)m->right / m->named : 0;
}

static void curve(const struct scored *s, size_t n, struct named_metrics *m)
{
	size_t right = 0, named = 0;

	for (int p = 0; p < NAMED_POINTS; p++) {
		size_t want = (size_t)llround(named_shares[p] * (double)n);

		/* the curve's shares fall: recount from the start */
		right = named = 0;
		while (named < want && !isnan(s[named].score))
			right += (size_t)s[named++].right;
		m->curve[p] = (struct named_point){
			.share = named_shares[p], .named = named,
			.threshold = named ? s[named - 1].score : -INFINITY,
			.accuracy = named ? (double)right / named : 0,
		};
	}
}

void named_compute(const int *labels, const float *logprobs, const float *unknown, size_t n,
		   int C, double threshold, struct named_metrics *m)
{
	struct scored *s = sorted(labels, logprobs, unknown, n, C);

	memset(m, 0, sizeof(*m));
	if (!s)
		return;
	operating_point(s, n, threshold, m);
	curve(s, n, m);
	free(s);
}

static double fit(const struct scored *s, size_t n, double accuracy)
{
	double best = -INFINITY;
	size_t right = 0;

	for (size_t k = 1; k <= n && !isnan(s[k - 1].score); k++) {
		right += (size_t)s[k - 1].right;
		/* a threshold names every window of its score */
		if (k < n && s[k].score == s[k - 1].score)
			continue;
		if ((double)right >= accuracy * (double)k)
			best = s[k - 1].score;
	}
	return best;
}

int named_fit_threshold(const int *labels, const float *logprobs, const float *unknown,
			size_t n, int C, double accuracy, double *threshold)
{
	struct scored *s = sorted(labels, logprobs, unknown, n, C);

	if (!s)
		return -1;
	*threshold = fit(s, n, accuracy);
	free(s);
	return 0;
}

int named_crossfit(const int *labels, const float *logprobs, const float *unknown,
		   const int *fold, int k, size_t n, int C, double accuracy, double *thresholds,
		   struct named_metrics *m)
{
	struct scored *all = NULL, *rest = malloc((n ? n : 1) * sizeof(*rest));
	float *at = malloc((n ? n : 1) * sizeof(*at));
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (!rest || !at)
		goto out;
	for (int f = 0; f < k; f++) {
		size_t r = 0;

		for (size_t i = 0; i < n; i++)
			if (fold[i] != f)
				rest[r++] = (struct scored){ unknown[i],
					metrics_argmax(logprobs + i * (size_t)C, C) == labels[i] };
		qsort(rest, r, sizeof(*rest), by_score);
		thresholds[f] = fit(rest, r, accuracy);
	}
	/* each window against its own fold's threshold: named when at or below */
	for (size_t i = 0; i < n; i++)
		at[i] = unknown[i] <= thresholds[fold[i]] ? 0.0f : 1.0f;
	all = sorted(labels, logprobs, at, n, C);
	if (!all)
		goto out;
	operating_point(all, n, 0.0, m);
	m->threshold = NAN;
	free(all);
	all = sorted(labels, logprobs, unknown, n, C);
	if (!all)
		goto out;
	curve(all, n, m);
	rc = 0;
out:
	free(all);
	free(rest);
	free(at);
	return rc;
}
