// SPDX-License-Identifier: MIT
/* The Unknown score (engine/unknown.c) against a plain double-precision
 * Mahalanobis distance computed here from the same hidden states, in a
 * batch and alone, saved and loaded; the threshold's semantics; and the
 * named-windows figures and threshold fit (train/named_metrics.c). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/arch.h"
#include "engine/model.h"
#include "engine_windows.h"
#include "harness.h"
#include "train/named_metrics.h"

enum { N = 20, C = 5, B = 200 };

static struct model *unknown_model(int members, char *err, size_t errlen)
{
	struct model_config cfg;
	struct model *m = NULL;

	model_config_defaults(ARCH_ODERNN_EMB, &cfg);
	cfg.hidden = cfg.ode_hidden = 8;
	cfg.members = members;
	cfg.unknown = UNKNOWN_MAHALANOBIS;
	if (model_create(&cfg, 3, &m, err, errlen))
		return NULL;
	return m;
}

/* x solved from a x = b by Gaussian elimination with partial pivoting
 * (a, b destroyed): independent of the engine's Cholesky factor. */
static void solve(double *a, double *b, double *x, int n)
{
	for (int c = 0; c < n; c++) {
		int p = c;

		for (int r = c + 1; r < n; r++)
			if (fabs(a[r * n + c]) > fabs(a[p * n + c]))
				p = r;
		for (int k = 0; k < n; k++) {
			double t = a[c * n + k];

			a[c * n + k] = a[p * n + k];
			a[p * n + k] = t;
		}
		double t = b[c];

		b[c] = b[p];
		b[p] = t;
		for (int r = c + 1; r < n; r++) {
			double f = a[r * n + c] / a[c * n + c];

			for (int k = c; k < n; k++)
				a[r * n + k] -= f * a[c * n + k];
			b[r] -= f * b[c];
		}
	}
	for (int r = n - 1; r >= 0; r--) {
		double sum = b[r];

		for (int k = r + 1; k < n; k++)
			sum -= a[r * n + k] * x[k];
		x[r] = sum / a[r * n + r];
	}
}

/* The score of each window as the definition says it: per member, the
 * class means and the shared within-class covariance (diagonal lifted as
 * the engine does) of the training windows' states, the squared distance
 * to the named class's mean in that metric; the mean over members. */
static void expected_scores(struct model *m, const float *sizes, const double *times,
			    const int *labels, const float *logprobs, double *score)
{
	const int K = model_config(m)->members, D = 16;
	struct model_ws *ws = model_ws_new(m, B);
	float *logits = malloc(sizeof(float) * K * B * C), *h = malloc(sizeof(float) * K * B * D);
	double mu[C][16], cov[16 * 16], a[16 * 16], d[16], x[16];
	int count[C];

	CHECK(model_states(m, ws, B, sizes, times, logits, h) == 0);
	memset(score, 0, sizeof(double) * B);
	for (int k = 0; k < K; k++) {
		const float *hk = h + (size_t)k * B * D;
		double trace = 0;

		memset(mu, 0, sizeof(mu));
		memset(count, 0, sizeof(count));
		memset(cov, 0, sizeof(cov));
		for (int b = 0; b < B; b++) {
			count[labels[b]]++;
			for (int i = 0; i < D; i++)
				mu[labels[b]][i] += hk[b * D + i];
		}
		for (int c = 0; c < C; c++)
			for (int i = 0; i < D; i++)
				mu[c][i] /= count[c];
		for (int b = 0; b < B; b++)
			for (int i = 0; i < D; i++)
				for (int j = 0; j < D; j++)
					cov[i * D + j] += (hk[b * D + i] - mu[labels[b]][i]) *
							  (hk[b * D + j] - mu[labels[b]][j]) / B;
		for (int i = 0; i < D; i++)
			trace += cov[i * D + i];
		for (int i = 0; i < D; i++)
			cov[i * D + i] += UNKNOWN_SHRINK * trace / D + UNKNOWN_FLOOR;
		for (int b = 0; b < B; b++) {
			int c = 0;

			for (int j = 1; j < C; j++)
				c = logprobs[b * C + j] > logprobs[b * C + c] ? j : c;
			for (int i = 0; i < D; i++)
				d[i] = hk[b * D + i] - mu[c][i];
			memcpy(a, cov, sizeof(cov));
			memcpy(x, d, sizeof(d));
			solve(a, x, x, D);
			for (int i = 0; i < D; i++)
				score[b] += d[i] * x[i] / K;
		}
	}
	free(logits);
	free(h);
	model_ws_free(ws);
}

static void test_score_is_the_mahalanobis_distance(void)
{
	float *sizes = malloc(sizeof(float) * B * N), lp[B * C], one[C], un[B], un1;
	double *times = malloc(sizeof(double) * B * N), expect[B];
	int labels[B];
	char err[256];
	struct model *m = unknown_model(2, err, sizeof(err));
	struct model_ws *ws = m ? model_ws_new(m, B) : NULL;
	float worst = 0, worst1 = 0;

	CHECKF(m && ws, "%s", err);
	if (!ws)
		return;
	make_windows(B, N, 11, sizes, times);
	for (int b = 0; b < B; b++)
		labels[b] = b % C;
	CHECKF(model_fit_unknown(m, B, sizes, times, labels, err, sizeof(err)) == 0, "%s", err);
	model_ws_free(ws);
	ws = model_ws_new(m, B);
	CHECK(model_classify_scored(m, ws, B, sizes, times, lp, un, NULL) == 0);
	expected_scores(m, sizes, times, labels, lp, expect);
	for (int b = 0; b < B; b++) {
		worst = fmaxf(worst, (float)fabs(un[b] - expect[b]) / (float)(1 + expect[b]));
		CHECK(model_classify_scored(m, ws, 1, sizes + b * N, times + b * N, one, &un1,
					    NULL) == 0);
		worst1 = fmaxf(worst1, fabsf(un1 - un[b]) / (1 + un[b]));
	}
	CHECKF(worst < 1e-3f, "the engine's score and the plain distance differ by %g", worst);
	CHECKF(worst1 < 1e-5f, "a window alone and in a batch differ by %g", worst1);
	model_ws_free(ws);
	model_free(m);
	free(sizes);
	free(times);
}

/* confidence: 1 - the calibrated top probability, any architecture, no
 * tensors of its own. */
static void test_confidence(void)
{
	float sizes[B * N], lp[B * C], un[B];
	double times[B * N];
	struct model_config cfg;
	struct model *m = NULL, *plain = NULL;
	struct model_ws *ws;
	size_t n, n_plain;
	char err[256];

	make_windows(B, N, 21, sizes, times);
	model_config_defaults(ARCH_LSTM, &cfg);
	CHECK(model_create(&cfg, 4, &plain, err, sizeof(err)) == 0);
	cfg.unknown = UNKNOWN_CONFIDENCE;
	cfg.temperature = 0.5;
	CHECKF(model_create(&cfg, 4, &m, err, sizeof(err)) == 0, "%s", err);
	if (!m || !plain)
		return;
	model_params(m, &n);
	model_params(plain, &n_plain);
	CHECK(n == n_plain);
	ws = model_ws_new(m, B);
	CHECK(model_classify_scored(m, ws, B, sizes, times, lp, un, NULL) == 0);
	for (int b = 0; b < B; b++) {
		float top = lp[b * C];

		for (int k = 1; k < C; k++)
			top = fmaxf(top, lp[b * C + k]);
		CHECK_NEAR(un[b], 1 - expf(top), 1e-6);
	}
	model_ws_free(ws);
	model_free(m);
	model_free(plain);
}

/* The threshold decides; a failed window is Unknown; a model without a
 * score names everything and has no threshold to set. */
static void test_threshold(void)
{
	struct model_config cfg;
	struct model *m, *plain = NULL;
	char err[256];

	m = unknown_model(1, err, sizeof(err));
	CHECKF(m, "%s", err);
	if (!m)
		return;
	CHECK(!model_is_unknown(m, 1e30f)); /* no threshold yet: +inf */
	CHECK(model_set_unknown_threshold(m, 10, err, sizeof(err)) == 0);
	CHECK(!model_is_unknown(m, 10) && model_is_unknown(m, 10.5f) && model_is_unknown(m, NAN));
	CHECK(model_set_unknown_threshold(m, NAN, err, sizeof(err)) == -1);
	model_config_defaults(ARCH_ODERNN_EMB, &cfg);
	cfg.hidden = cfg.ode_hidden = 8;
	CHECK(model_create(&cfg, 1, &plain, err, sizeof(err)) == 0);
	if (plain) {
		CHECK(!model_is_unknown(plain, NAN));
		CHECK(model_set_unknown_threshold(plain, 1, err, sizeof(err)) == -1);
		CHECKF(strstr(err, "no Unknown score"), "%s", err);
	}
	/* trees and lstm have no hidden state to measure */
	model_config_defaults(ARCH_LSTM, &cfg);
	cfg.unknown = UNKNOWN_MAHALANOBIS;
	CHECK(model_config_check(&cfg, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "lstm has no hidden state for the Unknown score mahalanobis"), "%s", err);
	model_free(plain);
	model_free(m);
}

/* Saved and loaded: the same scores, the same threshold; a threshold
 * without a score is refused. */
static void test_save_load(void)
{
	char path[] = "/tmp/odeflow-test-unknown-XXXXXX", err[256];
	float sizes[B * N], lp[B * C], un[B], un2[B];
	double times[B * N];
	int labels[B], fd = mkstemp(path);
	struct model *m = unknown_model(2, err, sizeof(err)), *back = NULL;
	struct model_ws *ws, *ws2;

	close(fd);
	make_windows(B, N, 5, sizes, times);
	for (int b = 0; b < B; b++)
		labels[b] = (b / 7) % C;
	if (!m)
		return;
	CHECK(model_fit_unknown(m, B, sizes, times, labels, err, sizeof(err)) == 0);
	CHECK(model_set_unknown_threshold(m, 21.5, err, sizeof(err)) == 0);
	CHECKF(model_save(m, path, err, sizeof(err)) == 0, "%s", err);
	CHECKF(model_load(path, &back, err, sizeof(err)) == 0, "%s", err);
	if (back) {
		ws = model_ws_new(m, B);
		ws2 = model_ws_new(back, B);
		CHECK(model_config(back)->unknown == UNKNOWN_MAHALANOBIS &&
		      model_config(back)->unknown_threshold == 21.5);
		CHECK(model_classify_scored(m, ws, B, sizes, times, lp, un, NULL) == 0);
		CHECK(model_classify_scored(back, ws2, B, sizes, times, lp, un2, NULL) == 0);
		CHECK(!memcmp(un, un2, sizeof(un)));
		model_ws_free(ws);
		model_ws_free(ws2);
		model_free(back);
	}
	model_free(m);
	unlink(path);
}

/* A class without training windows: whatever is named so is Unknown. */
static void test_class_without_windows(void)
{
	float sizes[B * N], lp[B * C], un[B];
	double times[B * N];
	int labels[B], far = 0;
	char err[256];
	struct model *m = unknown_model(1, err, sizeof(err));
	struct model_ws *ws;

	if (!m)
		return;
	make_windows(B, N, 8, sizes, times);
	for (int b = 0; b < B; b++)
		labels[b] = b % (C - 1); /* nothing of class 4 */
	CHECK(model_fit_unknown(m, B, sizes, times, labels, err, sizeof(err)) == 0);
	CHECK(model_set_unknown_threshold(m, 1e6, err, sizeof(err)) == 0);
	ws = model_ws_new(m, B);
	CHECK(model_classify_scored(m, ws, B, sizes, times, lp, un, NULL) == 0);
	for (int b = 0; b < B; b++) {
		int c = 0;

		for (int j = 1; j < C; j++)
			c = lp[b * C + j] > lp[b * C + c] ? j : c;
		CHECK((c == C - 1) == model_is_unknown(m, un[b]));
		far += c == C - 1;
	}
	printf("  %d of %d windows named the class without training windows\n", far, B);
	model_ws_free(ws);
	model_free(m);
}

/* Named windows: the operating point, the curve, the fitted threshold and
 * its cross-fit, on hand-made scores. */
static void test_named_metrics(void)
{
	/* ten windows, window 9 - i of score i + 1; right on the five lowest
	 * scores but 2 */
	float lp[10 * 2], un[10];
	int labels[10], fold[10];
	struct named_metrics m;
	double t, th[2];

	for (int i = 0; i < 10; i++) {
		bool right = i < 5 && i != 1;

		un[i] = (float)(10 - i); /* stored in reverse */
		labels[9 - i] = 0;
		lp[(9 - i) * 2] = right ? -0.1f : -2.0f;
		lp[(9 - i) * 2 + 1] = right ? -2.0f : -0.1f;
		fold[i] = i % 2;
	}
	named_compute(labels, lp, un, 10, 2, 5, &m);
	CHECK(m.named == 5 && m.right == 4 && fabs(m.share - 0.5) < 1e-12 &&
	      fabs(m.accuracy - 0.8) < 1e-12);
	CHECK(m.curve[0].named == 10 && fabs(m.curve[0].accuracy - 0.4) < 1e-12);
	CHECK(m.curve[NAMED_POINTS - 1].named == 5 && m.curve[NAMED_POINTS - 1].threshold == 5);
	CHECK(named_fit_threshold(labels, lp, un, 10, 2, 0.75, &t) == 0 && t == 5);
	CHECK(named_fit_threshold(labels, lp, un, 10, 2, 1.0, &t) == 0 && t == 1);
	CHECK(named_fit_threshold(labels, lp, un, 10, 2, 0.3, &t) == 0 && t == 10);
	/* nothing is right: no threshold names anything at 50% */
	for (int i = 0; i < 10; i++)
		labels[i] = 1 - (lp[i * 2] > lp[i * 2 + 1] ? 0 : 1);
	CHECK(named_fit_threshold(labels, lp, un, 10, 2, 0.5, &t) == 0 && t == -INFINITY);
	for (int i = 0; i < 10; i++)
		labels[i] = 0;
	CHECK(named_crossfit(labels, lp, un, fold, 2, 10, 2, 0.75, th, &m) == 0);
	CHECK(isnan(m.threshold) && m.n == 10 && m.named <= 10);
	printf("  cross-fitted thresholds %g, %g: %zu named, %zu right\n", th[0], th[1], m.named,
	       m.right);
}

/* The outcomes a connection may get: the classes, then Unknown, for any
 * model with room for it; no class may take its name, and a model with an
 * Unknown score keeps room for it. */
static void test_outcomes(void)
{
	struct model_config cfg;
	char err[256];

	model_config_defaults(ARCH_ODERNN, &cfg);
	CHECK(model_outcomes(&cfg) == C + 1);
	CHECK(!strcmp(model_outcome_name(&cfg, 0), "VoIP"));
	CHECK(!strcmp(model_outcome_name(&cfg, C), MODEL_UNKNOWN_NAME));
	CHECK(!strcmp(model_outcome_name(&cfg, C + 1), "?") && !strcmp(model_outcome_name(&cfg, -1), "?"));
	snprintf(cfg.class_names[2], sizeof(cfg.class_names[2]), "unknown");
	CHECK(model_config_check(&cfg, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "'unknown'") != NULL, "%s", err);
	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.num_classes = ODEFLOW_MAX_CLASSES;
	for (int k = 0; k < cfg.num_classes; k++)
		snprintf(cfg.class_names[k], sizeof(cfg.class_names[k]), "c%d", k);
	CHECK(model_config_check(&cfg, err, sizeof(err)) == 0);
	CHECK(model_outcomes(&cfg) == ODEFLOW_MAX_CLASSES);
	cfg.unknown = UNKNOWN_CONFIDENCE;
	CHECK(model_config_check(&cfg, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "at most 15 classes") != NULL, "%s", err);
}

int main(void)
{
	RUN(test_score_is_the_mahalanobis_distance);
	RUN(test_confidence);
	RUN(test_threshold);
	RUN(test_save_load);
	RUN(test_class_without_windows);
	RUN(test_named_metrics);
	RUN(test_outcomes);
	return harness_done();
}
