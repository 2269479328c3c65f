/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <xgboost/c_api.h>

#include "common/errmsg.h"
#include "engine/trees.h"
#include "engine/window_features.h"
#include "eval_metrics.h"
#include "predict.h"
#include "train_trees.h"

#define PROGRESS_EVERY 50   /* rounds between progress lines */

float *trees_feature_matrix(const struct dataset *ds, char *err, size_t errlen)
{
	const int N = ds->window, F = FEATURES_TREES(N);
	float *x = malloc(sizeof(*x) * (ds->n ? ds->n : 1) * F);

	if (!x) {
		errmsg(err, errlen, "out of memory for the features of %zu windows", ds->n);
		return NULL;
	}
	for (size_t i = 0; i < ds->n; i++) {
		float *row = x + i * F;
		int j = 0;

		/* XGBoost would take a NaN for a missing value, the engine would not */
		if (!features_trees(N, ds->sizes + i * N, ds->times + i * N, row))
			while (j < F && isfinite(row[j]))
				j++;
		if (j < F) {
			errmsg(err, errlen, "window %zu has no finite tree features (times too far "
			       "apart?)", i);
			free(x);
			return NULL;
		}
	}
	return x;
}

/* ---- XGBoost's JSON model into the engine's arrays ---- */

struct arrays {
	int32_t *root, *feature, *left;
	float *threshold, *value;
	int trees, nodes, capacity;
};

static void arrays_free(struct arrays *a)
{
	free(a->root);
	free(a->feature);
	free(a->left);
	free(a->threshold);
	free(a->value);
}

/* XGBoost writes each float32 as its shortest decimal (at most 9 digits);
 * jansson reads it into the nearest double. Printing that double back with
 * 9 digits gives the same decimal, which strtof rounds once, exactly as
 * XGBoost read it: no double rounding on the way to float. */
static float json_float(json_t *v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.9g", json_number_value(v));
	return strtof(buf, NULL);
}

static json_t *get_path(json_t *root, const char *const *keys, int n)
{
	for (int i = 0; i < n && root; i++)
		root = json_object_get(root, keys[i]);
	return root;
}

/* A JSON array of n numbers, or NULL. */
static json_t *number_array(json_t *tree, const char *key, size_t n)
{
	json_t *a = json_object_get(tree, key), *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) != n)
		return NULL;
	json_array_foreach(a, i, v)
		if (!json_is_number(v))
			return NULL;
	return a;
}

static int node_int(json_t *a, size_t i)
{
	json_t *v = json_array_get(a, i);

	return json_is_integer(v) && json_integer_value(v) >= -1 &&
	       json_integer_value(v) < INT32_MAX ? (int)json_integer_value(v) : -2;
}

/* One XGBoost tree, breadth-first from its node 0 into the arrays: each
 * split's two children are given the next two free places. */
static int convert_tree(json_t *tree, int t, int features, struct arrays *a, char *err,
			size_t errlen)
{
	size_t n = json_array_size(json_object_get(tree, "left_children"));
	json_t *lefts = number_array(tree, "left_children", n);
	json_t *rights = number_array(tree, "right_children", n);
	json_t *splits = number_array(tree, "split_indices", n);
	json_t *conds = number_array(tree, "split_conditions", n);
	json_t *types = json_object_get(tree, "split_type");
	int first = a->nodes, *queue, head = 0, tail = 0, rc = 0;

	if (!n || !lefts || !rights || !splits || !conds)
		return errmsg(err, errlen, "XGBoost tree %d has no matching node arrays", t);
	for (size_t i = 0; i < json_array_size(types); i++)
		if (json_integer_value(json_array_get(types, i)) != 0)
			return errmsg(err, errlen, "XGBoost tree %d has a categorical split", t);
	if (n > (size_t)(a->capacity - a->nodes))
		return errmsg(err, errlen, "XGBoost trees have more nodes than they declare");
	queue = malloc(sizeof(*queue) * n);
	if (!queue)
		return errmsg(err, errlen, "out of memory");
	queue[tail++] = 0;
	a->root[t] = first;
	while (head < tail) {
		int id = queue[head], at = first + head++;
		int l = node_int(lefts, id), r = node_int(rights, id), f = node_int(splits, id);

		a->feature[at] = -1;
		a->left[at] = -1;
		a->threshold[at] = 0;
		a->value[at] = 0;
		if (l == -1) {
			a->value[at] = json_float(json_array_get(conds, id));
			continue;
		}
		/* tail + 2 > n: more nodes reached than the tree has, so one was
		 * reached twice (a cycle or a shared child) */
		if (l < 0 || r < 0 || (size_t)l >= n || (size_t)r >= n || f < 0 || f >= features ||
		    (size_t)tail + 2 > n) {
			rc = errmsg(err, errlen, "XGBoost tree %d node %d: children %d, %d or feature "
				    "%d out of range", t, id, l, r, f);
			break;
		}
		a->feature[at] = f;
		a->threshold[at] = json_float(json_array_get(conds, id));
		a->left[at] = first + tail;
		queue[tail++] = l;
		queue[tail++] = r;
	}
	free(queue);
	a->nodes += tail;
	return rc;
}

int trees_from_xgboost_json(const char *json, size_t len, const struct model_config *cfg,
			    struct model **out, char *err, size_t errlen)
{
	static const char *const booster_path[] = { "learner", "gradient_booster" };
	static const char *const classes_path[] = { "learner", "learner_model_param", "num_class" };
	const int C = cfg->num_classes;
	json_error_t jerr;
	json_t *doc = json_loadb(json, len, 0, &jerr), *booster, *trees, *info, *tree;
	const char *name, *classes;
	struct model_config c = *cfg;
	struct arrays a = { 0 };
	struct trees_arrays view;
	size_t t;
	int rc = -1;

	*out = NULL;
	booster = get_path(doc, booster_path, 2);
	name = json_string_value(json_object_get(booster, "name"));
	classes = json_string_value(get_path(doc, classes_path, 3));
	trees = json_object_get(json_object_get(booster, "model"), "trees");
	info = json_object_get(json_object_get(booster, "model"), "tree_info");
	if (!doc || !name || strcmp(name, "gbtree") || !classes || atoi(classes) != C ||
	    !json_is_array(trees) || !json_is_array(info) ||
	    json_array_size(info) != json_array_size(trees)) {
		errmsg(err, errlen, "XGBoost's JSON model is not a gbtree model of %d classes%s%s", C,
		       doc ? "" : ": ", doc ? "" : jerr.text);
		goto out;
	}
	a.trees = (int)json_array_size(trees);
	json_array_foreach(trees, t, tree)
		a.capacity += (int)json_array_size(json_object_get(tree, "left_children"));
	a.root = malloc(sizeof(*a.root) * (a.trees ? a.trees : 1));
	a.feature = malloc(sizeof(*a.feature) * (a.capacity ? a.capacity : 1));
	a.left = malloc(sizeof(*a.left) * (a.capacity ? a.capacity : 1));
	a.threshold = malloc(sizeof(*a.threshold) * (a.capacity ? a.capacity : 1));
	a.value = malloc(sizeof(*a.value) * (a.capacity ? a.capacity : 1));
	if (!a.root || !a.feature || !a.left || !a.threshold || !a.value) {
		errmsg(err, errlen, "out of memory for %d tree nodes", a.capacity);
		goto out;
	}
	json_array_foreach(trees, t, tree) {
		/* tree t of round r is for class t % C: the engine's layout */
		if (json_integer_value(json_array_get(info, t)) != (json_int_t)(t % C)) {
			errmsg(err, errlen, "XGBoost tree %zu is for class %lld, not %zu", t,
			       (long long)json_integer_value(json_array_get(info, t)), t % C);
			goto out;
		}
		if (convert_tree(tree, (int)t, FEATURES_TREES(cfg->window), &a, err, errlen))
			goto out;
	}
	c.trees = a.trees;
	c.nodes = a.nodes;
	view = (struct trees_arrays){ a.root, a.feature, a.threshold, a.left, a.value };
	rc = model_from_trees(&c, &view, out, err, errlen);
out:
	arrays_free(&a);
	json_decref(doc);
	return rc;
}

/* ---- training ---- */

#define XGB(call)                                                                          \
	do {                                                                               \
		if ((call) != 0) {                                                         \
			errmsg(err, errlen, "XGBoost: %s", XGBGetLastError());             \
			goto out;                                                          \
		}                                                                          \
	} while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A DMatrix of the windows' features and labels, and with balance their
 * weights (every class alike). */
static int make_dmatrix(const struct dataset *ds, int num_classes, bool balance, int threads,
			DMatrixHandle *out, char *err, size_t errlen)
{
	float *x = trees_feature_matrix(ds, err, errlen), *y = malloc(sizeof(*y) * (ds->n + 1));
	int rc = -1;

	*out = NULL;
	if (!x || !y) {
		if (x)
			errmsg(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < ds->n; i++)
		y[i] = (float)ds->labels[i];
	XGB(XGDMatrixCreateFromMat_omp(x, ds->n, FEATURES_TREES(ds->window), NAN, out, threads));
	XGB(XGDMatrixSetFloatInfo(*out, "label", y, ds->n));
	if (balance) {
		dataset_class_weights(ds, num_classes, y);
		XGB(XGDMatrixSetFloatInfo(*out, "weight", y, ds->n));
	}
	rc = 0;
out:
	free(x);
	free(y);
	return rc;
}

static int set_params(BoosterHandle b, const struct model_config *cfg,
		      const struct trees_options *o, char *err, size_t errlen)
{
	char classes[16], depth[16], eta[32], threads[16], seed[32];
	const char *params[][2] = {
		{ "booster", "gbtree" },       { "objective", "multi:softprob" },
		{ "num_class", classes },      { "tree_method", "hist" },
		{ "max_depth", depth },        { "eta", eta },
		{ "nthread", threads },        { "seed", seed },
		{ "eval_metric", "merror" },   /* progress lines: the error rate */
		{ "verbosity", "1" },          /* warnings only */
	};

	snprintf(classes, sizeof(classes), "%d", cfg->num_classes);
	snprintf(depth, sizeof(depth), "%d", o->depth);
	snprintf(eta, sizeof(eta), "%.17g", o->eta);
	snprintf(threads, sizeof(threads), "%d", o->threads);
	/* XGBoost's seed is a 32-bit integer */
	snprintf(seed, sizeof(seed), "%u", (unsigned)(o->seed & 0x7fffffff));
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		XGB(XGBoosterSetParam(b, params[i][0], params[i][1]));
	return 0;
out:
	return -1;
}

/* The engine's accuracy on ds and its largest probability difference from
 * XGBoost's prob (n x C). */
static int engine_check(const struct model *m, const struct dataset *ds, int threads,
			const float *prob, double *acc, double *max_diff, char *err, size_t errlen)
{
	const int C = model_config(m)->num_classes;
	float *lp = malloc(sizeof(*lp) * (ds->n ? ds->n : 1) * C);
	size_t correct = 0;

	if (!lp)
		return errmsg(err, errlen, "out of memory");
	if (predict_dataset(m, ds, threads, lp, NULL, err, errlen)) {
		free(lp);
		return -1;
	}
	for (size_t i = 0; i < ds->n; i++) {
		correct += metrics_argmax(lp + i * C, C) == ds->labels[i];
		for (int k = 0; k < C; k++) {
			double d = fabs(exp((double)lp[i * C + k]) - (double)prob[i * C + k]);

			if (d > *max_diff)
				*max_diff = d;
		}
	}
	*acc = (double)correct / (double)ds->n;
	free(lp);
	return 0;
}

int trees_train(const struct model_config *cfg, const struct dataset *train,
		const struct trees_options *o, struct model **out, struct trees_result *r,
		char *err, size_t errlen)
{
	const char *save_json = "{\"format\": \"json\"}";
	const char *predict_prob = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
				   "\"iteration_end\": 0, \"strict_shape\": false}";
	DMatrixHandle dtrain = NULL;
	const char *eval_name = "train";
	BoosterHandle b = NULL;
	double start = now();
	const bst_ulong *shape;
	bst_ulong dims, len;
	const float *prob;
	const char *json, *eval;
	int rc = -1;

	*out = NULL;
	memset(r, 0, sizeof(*r));
	if (!train->n)
		return errmsg(err, errlen, "no windows left to train on");
	if (o->rounds < 1 || o->depth < 1 || !(o->eta > 0 && o->eta <= 1) || o->threads < 1)
		return errmsg(err, errlen, "need at least one round, a depth of at least 1, "
			      "eta in (0, 1] and a thread");
	if (make_dmatrix(train, cfg->num_classes, o->balance, o->threads, &dtrain, err, errlen))
		goto out;
	XGB(XGBoosterCreate(&dtrain, 1, &b));
	if (set_params(b, cfg, o, err, errlen))
		goto out;
	for (int round = 0; round < o->rounds; round++) {
		XGB(XGBoosterUpdateOneIter(b, round, dtrain));
		if (o->progress && ((round + 1) % PROGRESS_EVERY == 0 || round + 1 == o->rounds)) {
			XGB(XGBoosterEvalOneIter(b, round, &dtrain, &eval_name, 1, &eval));
			/* eval reads "[round]\ttrain-merror:x" */
			fprintf(o->progress, "round %4d/%d  training error %.4f  %6.1f s\n", round + 1,
				o->rounds, strchr(eval, ':') ? strtod(strchr(eval, ':') + 1, NULL) : NAN,
				now() - start);
			fflush(o->progress);
		}
	}
	XGB(XGBoosterSaveModelToBuffer(b, save_json, &len, &json));
	if (trees_from_xgboost_json(json, len, cfg, out, err, errlen))
		goto out;
	XGB(XGBoosterPredictFromDMatrix(b, dtrain, predict_prob, &shape, &dims, &prob));
	if (dims != 2 || shape[0] != train->n || shape[1] != (bst_ulong)cfg->num_classes) {
		errmsg(err, errlen, "XGBoost's predictions have an unexpected shape");
		goto out;
	}
	if (engine_check(*out, train, o->threads, prob, &r->train_acc, &r->max_diff, err, errlen))
		goto out;
	if (r->max_diff > TREES_MAX_PROB_DIFF) {
		errmsg(err, errlen, "the engine's trees disagree with XGBoost's by %.3g in a "
		       "probability (at most %g): not saved", r->max_diff, TREES_MAX_PROB_DIFF);
		goto out;
	}
	rc = 0;
out:
	if (rc) {
		model_free(*out);
		*out = NULL;
	}
	r->seconds = now() - start;
	if (b)
		XGBoosterFree(b);
	if (dtrain)
		XGDMatrixFree(dtrain);
	return rc;
}
