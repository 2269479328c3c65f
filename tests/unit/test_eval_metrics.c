/* SPDX-License-Identifier: MIT */
/* Metrics on a hand-worked example: confusion, per-class P/R/F1, coverage. */
#include "harness.h"
#include "train/eval_metrics.h"
#include "train/svg_plot.h"

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

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	if (f) {
		CHECK(fread(buf, 1, (1 << 16) - 1, f) > 0);
		fclose(f);
	}
	return buf;
}

static int occurrences(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s++;
	}
	return n;
}

/* Both plots are complete SVG documents with one cell per matrix entry, the
 * counts, one point per threshold, and class names escaped. */
static void test_plots(void)
{
	static const int labels[4] = { 0, 1, 1, 2 };
	static const char names[3][32] = { "VoIP", "A&B", "<Chat>" };
	char dir[] = "/tmp/odeflow-test-svg-XXXXXX", path[64], err[200] = "", *svg;
	float lp[12];
	struct metrics m;

	for (int i = 0; i < 4; i++)
		fill(lp + i * 3, 3, i == 3 ? 1 : labels[i], 0.8);
	metrics_compute(labels, lp, 4, 3, &m);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/confusion.svg", dir);
	CHECKF(svg_confusion(path, &m, names, err, sizeof(err)) == 0, "%s", err);
	svg = slurp(path);
	CHECK(!strncmp(svg, "<svg ", 5) && strstr(svg, "</svg>\n"));
	CHECK(occurrences(svg, "<rect ") == 1 + 9);
	CHECK(strstr(svg, "accuracy 75.00%") && strstr(svg, "A&amp;B") && strstr(svg, "&lt;Chat&gt;"));
	CHECK(!strstr(svg, "<Chat>"));
	free(svg);
	unlink(path);
	snprintf(path, sizeof(path), "%s/coverage.svg", dir);
	CHECKF(svg_coverage(path, &m, err, sizeof(err)) == 0, "%s", err);
	svg = slurp(path);
	CHECK(!strncmp(svg, "<svg ", 5) && strstr(svg, "</svg>\n"));
	CHECK(occurrences(svg, "<polyline ") == 2);
	CHECK(strstr(svg, "points=\"60.0,115.0 ")); /* accuracy 0.75 at threshold 0.5 */
	free(svg);
	unlink(path);
	rmdir(dir);
	CHECK(svg_coverage("/nonexistent-dir/c.svg", &m, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "/nonexistent-dir/c.svg.tmp: No such file"), "%s", err);
}

int main(void)
{
	RUN(test_hand_worked_example);
	RUN(test_nothing_covered);
	RUN(test_plots);
	return harness_done();
}
