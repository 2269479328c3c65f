/* SPDX-License-Identifier: MIT */
/* The trees architecture against XGBoost itself: a booster trained here
 * with XGBoost's C API, converted into the engine's arrays, gives the same
 * probabilities from the engine (no XGBoost) as from XGBoost's own
 * prediction, on real windows it was and was not trained on, also after a
 * save and a load; windows whose features sit exactly on a threshold are
 * among them (XGBoost goes left only below it). Then the product's path,
 * trees_train: it learns, it is deterministic, and trees refuse every
 * gradient path. */
#include <xgboost/c_api.h>

#include "engine/arch.h"
#include "engine/window_features.h"
#include "harness.h"
#include "scratch.h"
#include "train/dataset.h"
#include "train/eval_metrics.h"
#include "train/predict.h"
#include "train/train.h"
#include "train/train_trees.h"

#define CLASSES 5

/* iscx-small split into whole sessions: the booster's windows and others. */
static struct dataset seen, unseen;

static int load_data(void)
{
	struct dataset all;
	char err[256];

	if (dataset_load("tests/data/iscx-small", CLASSES, &all, err, sizeof(err))) {
		printf("  %s\n", err);
		return -1;
	}
	if (dataset_split(&all, 0.3, true, 3, &seen, &unseen)) {
		dataset_free(&all);
		return -1;
	}
	dataset_free(&all);
	return 0;
}

static DMatrixHandle dmatrix(const struct dataset *ds)
{
	char err[256];
	float *x = trees_feature_matrix(ds, err, sizeof(err)), *y = malloc(sizeof(*y) * ds->n);
	DMatrixHandle h = NULL;

	for (size_t i = 0; x && i < ds->n; i++)
		y[i] = (float)ds->labels[i];
	if (!x || XGDMatrixCreateFromMat(x, ds->n, FEATURES_TREES(ds->window), NAN, &h) ||
	    XGDMatrixSetFloatInfo(h, "label", y, ds->n))
		printf("  dmatrix: %s\n", x ? XGBGetLastError() : err);
	free(x);
	free(y);
	return h;
}

/* Deep enough that many windows reach leaves through thresholds drawn from
 * their own features. */
static BoosterHandle train_booster(DMatrixHandle d)
{
	const char *params[][2] = { { "objective", "multi:softprob" }, { "num_class", "5" },
				    { "tree_method", "hist" }, { "max_depth", "6" },
				    { "eta", "0.3" }, { "nthread", "1" }, { "verbosity", "1" } };
	BoosterHandle b = NULL;

	XGBoosterCreate(&d, 1, &b);
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		XGBoosterSetParam(b, params[i][0], params[i][1]);
	for (int r = 0; r < 40; r++)
		XGBoosterUpdateOneIter(b, r, d);
	return b;
}

/* max |engine - XGBoost| over ds's probabilities. */
static double max_difference(const struct model *m, BoosterHandle b, const struct dataset *ds)
{
	const char *cfg = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
			  "\"iteration_end\": 0, \"strict_shape\": true}";
	DMatrixHandle d = dmatrix(ds);
	float *lp = malloc(sizeof(*lp) * ds->n * CLASSES);
	const bst_ulong *shape;
	bst_ulong dims;
	const float *prob;
	double worst = INFINITY;
	char err[256];

	if (d && !XGBoosterPredictFromDMatrix(b, d, cfg, &shape, &dims, &prob) && dims == 2 &&
	    shape[0] == ds->n && shape[1] == CLASSES &&
	    !predict_dataset(m, ds, 1, lp, NULL, err, sizeof(err))) {
		worst = 0;
		for (size_t i = 0; i < ds->n * CLASSES; i++)
			worst = fmax(worst, fabs(exp((double)lp[i]) - (double)prob[i]));
	}
	XGDMatrixFree(d);
	free(lp);
	return worst;
}

static int tensor_index(const struct model *m, const char *name)
{
	for (int i = 0; i < m->ntensors; i++)
		if (!strcmp(m->tensors[i].name, name))
			return i;
	return 0;
}

/* Windows of ds with a feature exactly equal to a threshold of the split
 * that tests it. */
static size_t windows_on_a_threshold(const struct model *m, const struct dataset *ds)
{
	const int F = FEATURES_TREES(ds->window);
	const int32_t *feature = param_i32(m, tensor_index(m, "trees.feature"));
	const float *threshold = param(m, tensor_index(m, "trees.threshold"));
	float x[FEATURES_TREES(ODEFLOW_MAX_WINDOW)];
	size_t count = 0;

	for (size_t w = 0; w < ds->n; w++) {
		bool on = false;

		features_trees(ds->window, ds->sizes + w * ds->window, ds->times + w * ds->window, x);
		for (int i = 0; i < m->cfg.nodes && !on; i++)
			on = feature[i] >= 0 && feature[i] < F && x[feature[i]] == threshold[i];
		count += on;
	}
	return count;
}

static void test_engine_matches_xgboost(void)
{
	DMatrixHandle d = dmatrix(&seen);
	BoosterHandle b = train_booster(d);
	struct model_config cfg;
	struct model *m = NULL, *back = NULL;
	bst_ulong len;
	const char *json;
	char err[512] = "";
	double on_seen, on_unseen, after_load;

	model_config_defaults(ARCH_TREES, &cfg);
	CHECK(!XGBoosterSaveModelToBuffer(b, "{\"format\": \"json\"}", &len, &json));
	CHECKF(trees_from_xgboost_json(json, len, &cfg, &m, err, sizeof(err)) == 0, "%s", err);
	if (!m)
		goto out;
	CHECK(model_config(m)->trees == 40 * CLASSES);
	on_seen = max_difference(m, b, &seen);
	on_unseen = max_difference(m, b, &unseen);
	CHECKF(model_save(m, tmp_path("trees.safetensors"), err, sizeof(err)) == 0, "%s", err);
	CHECKF(model_load(tmp_path("trees.safetensors"), &back, err, sizeof(err)) == 0, "%s", err);
	after_load = back ? max_difference(back, b, &unseen) : INFINITY;
	printf("  %d trees, %d nodes; max |engine - XGBoost| %.2g on %zu trained-on windows, "
	       "%.2g on %zu others, %.2g after a save and a load; %zu windows sit on a threshold\n",
	       m->cfg.trees, m->cfg.nodes, on_seen, seen.n, on_unseen, unseen.n, after_load,
	       windows_on_a_threshold(m, &seen));
	CHECK(on_seen <= TREES_MAX_PROB_DIFF);
	CHECK(on_unseen <= TREES_MAX_PROB_DIFF);
	CHECK(after_load <= TREES_MAX_PROB_DIFF);
	CHECK(windows_on_a_threshold(m, &seen) > 0);
out:
	model_free(m);
	model_free(back);
	XGBoosterFree(b);
	XGDMatrixFree(d);
}

/* One window at a time or 256 at once: the same floats. */
static void test_batches_agree(void)
{
	struct trees_options o = TREES_DEFAULT_OPTIONS;
	struct model_config cfg;
	struct trees_result r;
	struct model *m = NULL;
	struct model_ws *ws1, *ws256;
	float one[CLASSES], *all = malloc(sizeof(*all) * 256 * CLASSES);
	const int N = seen.window;
	char err[512] = "";
	bool same = true;

	o.rounds = 20;
	model_config_defaults(ARCH_TREES, &cfg);
	CHECKF(trees_train(&cfg, &seen, &o, &m, &r, err, sizeof(err)) == 0, "%s", err);
	if (!m) {
		free(all);
		return;
	}
	ws1 = model_ws_new(m, 1);
	ws256 = model_ws_new(m, 256);
	CHECK(model_classify(m, ws256, 256, seen.sizes, seen.times, all) == 0);
	for (int w = 0; w < 256; w++) {
		CHECK(model_classify(m, ws1, 1, seen.sizes + w * N, seen.times + w * N, one) == 0);
		same &= !memcmp(one, all + w * CLASSES, sizeof(one));
	}
	CHECK(same);
	model_ws_free(ws1);
	model_ws_free(ws256);
	model_free(m);
	free(all);
}

/* Accuracy of m on ds. */
static double accuracy(const struct model *m, const struct dataset *ds)
{
	float *lp = malloc(sizeof(*lp) * ds->n * CLASSES);
	size_t correct = 0;
	char err[256];

	if (predict_dataset(m, ds, 1, lp, NULL, err, sizeof(err))) {
		free(lp);
		return -1;
	}
	for (size_t i = 0; i < ds->n; i++)
		correct += metrics_argmax(lp + i * CLASSES, CLASSES) == ds->labels[i];
	free(lp);
	return (double)correct / (double)ds->n;
}

/* The product's trainer: it learns, checks itself against XGBoost, and the
 * same options give the same trees. */
static void test_trees_train(void)
{
	struct trees_options o = TREES_DEFAULT_OPTIONS;
	struct model_config cfg;
	struct trees_result r, r2;
	struct model *m = NULL, *m2 = NULL;
	char err[512] = "";
	size_t n1, n2;
	double unseen_acc;

	o.rounds = 50;
	model_config_defaults(ARCH_TREES, &cfg);
	CHECKF(trees_train(&cfg, &seen, &o, &m, &r, err, sizeof(err)) == 0, "%s", err);
	CHECKF(trees_train(&cfg, &seen, &o, &m2, &r2, err, sizeof(err)) == 0, "%s", err);
	if (!m || !m2)
		goto out;
	unseen_acc = accuracy(m, &unseen);
	printf("  %d trees, %d nodes: train %.1f%%, unseen sessions %.1f%%, max |engine - "
	       "XGBoost| %.2g, %.2f s\n", m->cfg.trees, m->cfg.nodes, 100 * r.train_acc,
	       100 * unseen_acc, r.max_diff, r.seconds);
	CHECK(r.train_acc > 0.95);
	/* chance is 23% (the largest class); the held-out sessions are few */
	CHECK(unseen_acc > 0.5);
	CHECK(r.max_diff <= TREES_MAX_PROB_DIFF);
	model_params(m, &n1);
	model_params(m2, &n2);
	CHECK(n1 == n2 && !memcmp(model_params(m, NULL), model_params(m2, NULL), n1 * sizeof(float)));
out:
	model_free(m);
	model_free(m2);
}

static void test_trees_have_no_gradient(void)
{
	struct trees_options o = TREES_DEFAULT_OPTIONS;
	struct train_options to = { .epochs = 1, .batch = 8, .lr = 1e-3, .threads = 1 };
	struct model_config cfg;
	struct trees_result r;
	struct train_result tr;
	struct model *m = NULL, *fresh = NULL;
	struct model_ws *ws;
	float grads[64] = { 0 }, logits[8 * CLASSES];
	char err[512] = "";

	o.rounds = 2;
	model_config_defaults(ARCH_TREES, &cfg);
	CHECK(model_create(&cfg, 1, &fresh, err, sizeof(err)) == -1 && !fresh);
	CHECKF(strstr(err, "trained, not initialised"), "%s", err);
	CHECKF(trees_train(&cfg, &seen, &o, &m, &r, err, sizeof(err)) == 0, "%s", err);
	if (!m)
		return;
	CHECK(!model_has_gradient(m));
	ws = model_ws_new(m, 8);
	CHECK(isnan(model_loss_grad(m, ws, 8, seen.sizes, seen.times, seen.labels, NULL, grads,
				    logits)));
	CHECK(train_model(m, &seen, &unseen, &to, &tr, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "no gradient"), "%s", err);
	model_ws_free(ws);
	model_free(m);
}

static void test_trainer_refuses_bad_options(void)
{
	struct trees_options o = TREES_DEFAULT_OPTIONS;
	struct model_config cfg;
	struct trees_result r;
	struct dataset empty = { .window = seen.window };
	struct model *m = NULL;
	char err[512] = "";

	model_config_defaults(ARCH_TREES, &cfg);
	CHECK(trees_train(&cfg, &empty, &o, &m, &r, err, sizeof(err)) == -1 && !m);
	CHECKF(strstr(err, "no windows"), "%s", err);
	o.depth = 0;
	CHECK(trees_train(&cfg, &seen, &o, &m, &r, err, sizeof(err)) == -1 && !m);
	CHECKF(strstr(err, "depth"), "%s", err);
	CHECK(trees_from_xgboost_json("{}", 2, &cfg, &m, err, sizeof(err)) == -1 && !m);
	CHECKF(strstr(err, "not a gbtree model"), "%s", err);
}

/* Times valid one by one whose gaps overflow: the features are not finite,
 * and XGBoost would take a NaN for a missing value. */
static void test_features_must_be_finite(void)
{
	float sizes[20];
	double times[20];
	int labels[1] = { 0 };
	struct dataset ds = { .n = 1, .window = 20, .sizes = sizes, .times = times,
			      .labels = labels };
	char err[256] = "";
	float *x;

	for (int i = 0; i < 20; i++) {
		sizes[i] = 100;
		times[i] = i < 10 ? -1e308 : 1e308;
	}
	x = trees_feature_matrix(&ds, err, sizeof(err));
	CHECK(!x);
	CHECKF(strstr(err, "window 0 has no finite tree features"), "%s", err);
	free(x);
}

int main(void)
{
	if (scratch_create("trees") || load_data())
		return 1;
	RUN(test_engine_matches_xgboost);
	RUN(test_batches_agree);
	RUN(test_trees_train);
	RUN(test_trees_have_no_gradient);
	RUN(test_trainer_refuses_bad_options);
	RUN(test_features_must_be_finite);
	dataset_free(&seen);
	dataset_free(&unseen);
	scratch_remove();
	return harness_done();
}
