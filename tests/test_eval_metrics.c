/* SPDX-License-Identifier: MIT */
/* Metrics on a hand-worked example: confusion, per-class P/R/F1, coverage. */
#include "harness.h"
#include "metrics.h"

static void fill(float *row, int k, int pred, double p)
{
	for (int c = 0; c < k; c++)
		row[c] = (float)log(c == pred ? p : (1 - p) / (k - 1));
}

static void test_hand_worked_example(void)
{
	static const int labels[6] = { 0, 0, 1, 1, 2, 2 }, pred[6] = { 0, 1, 1, 1, 0, 2 };
	static const double conf[6] = { 0.9, 0.6, 0.97, 0.52, 0.71, 0.995 };
	float lp[6 * 4];
	struct metrics m;

	for (int i = 0; i < 6; i++)
		fill(lp + i * 4, 4, pred[i], conf[i]);
	metrics_compute(labels, lp, 6, 4, &m);
	CHECK(m.n == 6 && m.correct == 4);
	CHECK_NEAR(m.accuracy, 4.0 / 6, 1e-12);
	CHECK(m.confusion[0][0] == 1 && m.confusion[0][1] == 1 && m.confusion[1][1] == 2);
	CHECK(m.confusion[2][0] == 1 && m.confusion[2][2] == 1 && m.confusion[1][0] == 0);
	CHECK_NEAR(m.per_class[0].precision, 0.5, 1e-12);
	CHECK_NEAR(m.per_class[0].recall, 0.5, 1e-12);
	CHECK_NEAR(m.per_class[1].precision, 2.0 / 3, 1e-12);
	CHECK_NEAR(m.per_class[1].recall, 1.0, 1e-12);
	CHECK_NEAR(m.per_class[1].f1, 0.8, 1e-12);
	CHECK_NEAR(m.per_class[2].precision, 1.0, 1e-12);
	CHECK_NEAR(m.per_class[2].f1, 2.0 / 3, 1e-12);
	CHECK(m.per_class[2].support == 2);
	/* class 3 never occurs and is never predicted: zeros, not NaN */
	CHECK(m.per_class[3].support == 0 && m.per_class[3].precision == 0 && m.per_class[3].f1 == 0);
	CHECK_NEAR(m.macro_f1, (0.5 + 0.8 + 2.0 / 3 + 0) / 4, 1e-12);

	CHECK(m.coverage[0].threshold == 0.5 && m.coverage[0].covered == 6);
	CHECK_NEAR(m.coverage[0].accuracy, 4.0 / 6, 1e-12);
	CHECK(m.coverage[1].covered == 5); /* 0.55: the 0.52 window is left to the slower stage */
	CHECK_NEAR(m.coverage[1].accuracy, 3.0 / 5, 1e-12);
	CHECK(m.coverage[4].threshold == 0.70 && m.coverage[4].covered == 4);
	CHECK_NEAR(m.coverage[4].coverage, 4.0 / 6, 1e-12);
	CHECK(m.coverage[5].covered == 3 && m.coverage[5].accuracy == 1.0);
	CHECK(m.coverage[9].threshold == 0.95 && m.coverage[9].covered == 2);
	CHECK(m.coverage[10].threshold == 0.99 && m.coverage[10].covered == 1);
}

static void test_nothing_covered(void)
{
	static const int labels[2] = { 0, 1 };
	float lp[4];
	struct metrics m;

	fill(lp, 2, 0, 0.6);
	fill(lp + 2, 2, 0, 0.55);
	metrics_compute(labels, lp, 2, 2, &m);
	CHECK(m.coverage[10].covered == 0 && m.coverage[10].accuracy == 0);
	CHECK(m.coverage[0].covered == 2 && m.coverage[0].accuracy == 0.5);
	CHECK(metrics_argmax(lp, 2) == 0);
}

int main(void)
{
	RUN(test_hand_worked_example);
	RUN(test_nothing_covered);
	return harness_done();
}
