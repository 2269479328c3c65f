/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "eval_metrics.h"

const double coverage_thresholds[COVERAGE_POINTS] = {
	0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.99,
};

int metrics_argmax(const float *scores, int num_classes)
{
	int best = 0;

	for (int c = 1; c < num_classes; c++)
		if (scores[c] > scores[best])
			best = c;
	return best;
}

static double ratio(size_t a, size_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void per_class(struct metrics *m)
{
	m->macro_f1 = 0;
	for (int c = 0; c < m->num_classes; c++) {
		struct class_metrics *k = &m->per_class[c];
		size_t predicted = 0, tp = m->confusion[c][c];

		k->support = 0;
		for (int o = 0; o < m->num_classes; o++) {
			predicted += m->confusion[o][c];
			k->support += m->confusion[c][o];
		}
		k->precision = ratio(tp, predicted);
		k->recall = ratio(tp, k->support);
		k->f1 = k->precision + k->recall > 0 ?
				2 * k->precision * k->recall / (k->precision + k->recall) : 0;
		m->macro_f1 += k->f1 / m->num_classes;
	}
}

void metrics_compute(const int *labels, const float *logprobs, size_t n, int num_classes,
		     struct metrics *m)
{
	size_t right[COVERAGE_POINTS] = { 0 };

	memset(m, 0, sizeof(*m));
	m->num_classes = num_classes;
	m->n = n;
	for (size_t i = 0; i < n; i++) {
		const float *row = logprobs + i * (size_t)num_classes;
		int pred = metrics_argmax(row, num_classes);
		double confidence = exp(row[pred]);
		int ok = pred == labels[i];

		m->confusion[labels[i]][pred]++;
		m->correct += (size_t)ok;
		for (int t = 0; t < COVERAGE_POINTS; t++) {
			if (confidence >= coverage_thresholds[t]) {
				m->coverage[t].covered++;
				right[t] += (size_t)ok;
			}
		}
	}
	m->accuracy = ratio(m->correct, n);
	per_class(m);
	for (int t = 0; t < COVERAGE_POINTS; t++) {
		m->coverage[t].threshold = coverage_thresholds[t];
		m->coverage[t].coverage = ratio(m->coverage[t].covered, n);
		m->coverage[t].accuracy = ratio(right[t], m->coverage[t].covered);
	}
}
