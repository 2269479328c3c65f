/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "eval_metrics.h"

/* NLL of softmax(beta * logprobs), beta = 1 / T, in double. */
static double nll_at(const float *lp, const int *labels, size_t n, int C, double beta)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++) {
		const float *row = lp + i * (size_t)C;
		double max = row[0], lse = 0;

		for (int k = 1; k < C; k++)
			max = row[k] > max ? row[k] : max;
		for (int k = 0; k < C; k++)
			lse += exp(beta * (row[k] - max));
		sum -= beta * (row[labels[i]] - max) - log(lse);
	}
	return n ? sum / (double)n : 0;
}

double calib_fit_temperature(const float *logprobs, const int *labels, size_t n, int C)
{
	/* the NLL is convex in beta = 1/T (log-sum-exp is convex, the rest linear):
	 * golden-section search on [1/20, 1/0.05] finds its minimum */
	const double phi = (sqrt(5.0) - 1) / 2;
	double lo = 1.0 / 20, hi = 1.0 / 0.05;
	double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
	double fa = nll_at(logprobs, labels, n, C, a), fb = nll_at(logprobs, labels, n, C, b);

	for (int it = 0; it < 80; it++) {
		if (fa < fb) {
			hi = b;
			b = a;
			fb = fa;
			a = hi - phi * (hi - lo);
			fa = nll_at(logprobs, labels, n, C, a);
		} else {
			lo = a;
			a = b;
			fa = fb;
			b = lo + phi * (hi - lo);
			fb = nll_at(logprobs, labels, n, C, b);
		}
	}
	return 2 / (lo + hi);
}

void calib_apply(float *logprobs, size_t n, int C, double T)
{
	for (size_t i = 0; i < n; i++) {
		float *row = logprobs + i * (size_t)C;
		double max, lse = 0;

		for (int k = 0; k < C; k++)
			row[k] = (float)(row[k] / T);
		max = row[metrics_argmax(row, C)];
		for (int k = 0; k < C; k++)
			lse += exp(row[k] - max);
		lse = max + log(lse);
		for (int k = 0; k < C; k++)
			row[k] = (float)(row[k] - lse);
	}
}

int calib_crossfit(const float *logprobs, const int *labels, const int *fold, int k, size_t n,
		   int C, float *out)
{
	float *rest = calloc((n ? n : 1) * (size_t)C, sizeof(*rest));
	int *rest_labels = calloc(n ? n : 1, sizeof(*rest_labels));

	if (!rest || !rest_labels) {
		free(rest);
		free(rest_labels);
		return -1;
	}
	memcpy(out, logprobs, n * (size_t)C * sizeof(*out));
	for (int f = 0; f < k; f++) {
		size_t m = 0;
		double T;

		for (size_t i = 0; i < n; i++) {
			if (fold[i] == f)
				continue;
			memcpy(rest + m * C, logprobs + i * C, (size_t)C * sizeof(*rest));
			rest_labels[m++] = labels[i];
		}
		T = calib_fit_temperature(rest, rest_labels, m, C);
		for (size_t i = 0; i < n; i++)
			if (fold[i] == f)
				calib_apply(out + i * C, 1, C, T);
	}
	free(rest);
	free(rest_labels);
	return 0;
}

double calib_ece(const float *logprobs, const int *labels, size_t n, int C)
{
	double conf[CALIB_BINS] = { 0 }, right[CALIB_BINS] = { 0 }, ece = 0;
	size_t count[CALIB_BINS] = { 0 };

	for (size_t i = 0; i < n; i++) {
		const float *row = logprobs + i * (size_t)C;
		int pred = metrics_argmax(row, C);
		double p = exp(row[pred]);
		int bin = (int)(p * CALIB_BINS);

		bin = bin < CALIB_BINS ? bin : CALIB_BINS - 1;
		count[bin]++;
		conf[bin] += p;
		right[bin] += pred == labels[i];
	}
	for (int b = 0; b < CALIB_BINS; b++)
		if (count[b])
			ece += fabs(right[b] - conf[b]) / (double)n;
	return ece;
}

double calib_nll(const float *logprobs, const int *labels, size_t n, int C)
{
	return nll_at(logprobs, labels, n, C, 1.0);
}
