/* SPDX-License-Identifier: MIT */
/* odeflow eval: how well a model classifies a labelled dataset. */
#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/errmsg.h"
#include "metrics_json.h"
#include "train/dataset.h"
#include "train/eval_metrics.h"
#include "engine/model.h"
#include "train/npy.h"
#include "train/predict.h"
#include "train/svg_plot.h"

enum { OPT_MODEL = 1, OPT_DATA, OPT_JSON, OPT_PLOT, OPT_THREADS, OPT_STATES };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_MODEL, "model", 0, "FILE", "the model", .required = true),
	CLI_OPTION(OPT_DATA, "data", 0, "PREFIX",
		   "PREFIX_x.npy and PREFIX_y.npy, or a directory with x_train.npy and y_train.npy",
		   .required = true),
	CLI_OPTION(OPT_JSON, "json", 0, NULL,
		   "print one JSON object (accuracy, n, per_class, confusion, coverage, unknown)"),
	CLI_OPTION(OPT_PLOT, "plot", 0, "DIR", "also draw DIR/confusion.svg and DIR/coverage.svg"),
	CLI_OPTION(OPT_THREADS, "threads", 0, "T", "classify on T threads", .def = "1"),
	CLI_OPTION(OPT_STATES, "states", 0, "PREFIX",
		   "also write what an Unknown score can read, for studies of it: each member's "
		   "raw logits to PREFIX_logits.npy (members, n, classes) and hidden state to "
		   "PREFIX_states.npy (members, n, state), and the labels to PREFIX_y.npy "
		   "(networks with a hidden state: odernn, odernn-emb)"),
	{ 0 },
};

ODEFLOW_COMMAND(eval,
	.summary = "accuracy, per-class P/R/F1, confusion and coverage of a model on a dataset",
	.description = "Classifies every window of the dataset with the model and prints the "
		       "accuracy, the macro F1, each class's precision, recall and F1, the "
		       "confusion matrix, the accuracy against coverage: of the windows whose "
		       "top probability reaches each threshold, and what the outcome Unknown does: "
		       "how many windows the model names at its threshold and how many of those "
		       "are right, and the accuracy of the windows named at every share it could "
		       "name.",
	.groups = { { NULL, options } });

static void print_unknown(const struct named_metrics *n, const struct model_config *cfg)
{
	if (cfg->unknown == UNKNOWN_NONE) {
		printf("\nUnknown: the model has no Unknown score; it names every window\n");
		return;
	}
	printf("\nUnknown (%s, threshold %g): the model names %zu of %zu windows (%.2f%%), "
	       "%.2f%% of those right\n", model_unknown_name(cfg->unknown), cfg->unknown_threshold,
	       n->named, n->n, 100 * n->share, 100 * n->accuracy);
	named_print_curve(stdout, n);
}

static void print_text(const struct metrics *m, const struct model_config *cfg)
{
	const int k = m->num_classes;

	printf("%zu windows: accuracy %.2f%%, macro F1 %.4f\n\n", m->n, 100 * m->accuracy,
	       m->macro_f1);
	printf("%-16s %9s %9s %9s %9s\n", "class", "precision", "recall", "F1", "support");
	for (int c = 0; c < k; c++)
		printf("%-16s %9.4f %9.4f %9.4f %9zu\n", cfg->class_names[c], m->per_class[c].precision,
		       m->per_class[c].recall, m->per_class[c].f1, m->per_class[c].support);
	printf("\nconfusion (rows: true class, columns: predicted)\n%-16s", "");
	for (int p = 0; p < k; p++)
		printf(" %8.8s", cfg->class_names[p]);
	for (int t = 0; t < k; t++) {
		printf("\n%-16s", cfg->class_names[t]);
		for (int p = 0; p < k; p++)
			printf(" %8zu", m->confusion[t][p]);
	}
	printf("\n\naccuracy against coverage (windows whose top probability >= threshold)\n");
	printf("%9s %9s %9s\n", "threshold", "coverage", "accuracy");
	for (int i = 0; i < COVERAGE_POINTS; i++)
		printf("%9.2f %8.2f%% %8.2f%%\n", m->coverage[i].threshold, 100 * m->coverage[i].coverage,
		       100 * m->coverage[i].accuracy);
}

static json_t *to_json(const struct metrics *m, const struct named_metrics *n,
		       const struct model_config *cfg, const char *model, const char *data)
{
	json_t *root = json_object(), *per_class = json_object(), *classes = json_array();

	json_object_set_new(root, "model", json_string(model));
	json_object_set_new(root, "data", json_string(data));
	json_object_set_new(root, "n", json_integer((json_int_t)m->n));
	json_object_set_new(root, "accuracy", json_real(m->accuracy));
	json_object_set_new(root, "macro_f1", json_real(m->macro_f1));
	for (int c = 0; c < m->num_classes; c++) {
		const struct class_metrics *k = &m->per_class[c];

		json_array_append_new(classes, json_string(cfg->class_names[c]));
		json_object_set_new(per_class, cfg->class_names[c],
				    json_pack("{s:f, s:f, s:f, s:I}", "precision", k->precision,
					      "recall", k->recall, "f1", k->f1, "support",
					      (json_int_t)k->support));
	}
	json_object_set_new(root, "classes", classes);
	json_object_set_new(root, "per_class", per_class);
	json_object_set_new(root, "confusion", confusion_json(m));
	json_object_set_new(root, "coverage", coverage_json(m));
	json_object_set_new(root, "unknown", cfg->unknown == UNKNOWN_NONE ? json_null() :
					     named_json(n, cfg->unknown));
	return root;
}

static int plot(const char *dir, const struct metrics *m, const struct model_config *cfg)
{
	char path[4096], err[ERRMSG_LEN];

	snprintf(path, sizeof(path), "%s/confusion.svg", dir);
	if (svg_confusion(path, m, cfg->class_names, err, sizeof(err)))
		goto fail;
	snprintf(path, sizeof(path), "%s/coverage.svg", dir);
	if (svg_coverage(path, m, err, sizeof(err)))
		goto fail;
	return 0;
fail:
	cli_fail("%s", err);
	return -1;
}

/* PREFIX_NAME.npy of a float array, as float64 (the npy files' dtype here). */
static int write_floats(const char *prefix, const char *name, int ndim, const size_t *shape,
			const float *v, size_t count)
{
	double *d = malloc((count ? count : 1) * sizeof(*d));
	char path[4096], err[ERRMSG_LEN];
	int rc;

	if (!d) {
		cli_fail("out of memory");
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		d[i] = v[i];
	snprintf(path, sizeof(path), "%s_%s.npy", prefix, name);
	rc = npy_write(path, NPY_F64, ndim, shape, d, err, sizeof(err));
	if (rc)
		cli_fail("%s", err);
	free(d);
	return rc;
}

/* --states: every window's members' raw logits and hidden states. */
static int write_states(const char *prefix, const struct model *m, const struct dataset *ds)
{
	const int K = model_config(m)->members, C = model_config(m)->num_classes;
	const int D = model_state_dim(m), N = ds->window;
	struct model_ws *ws = model_ws_new(m, PREDICT_BATCH);
	float *lg = malloc(sizeof(float) * K * PREDICT_BATCH * C);
	float *st = malloc(sizeof(float) * K * PREDICT_BATCH * (D ? D : 1));
	float *all_lg = malloc(sizeof(float) * K * (ds->n + 1) * C);
	float *all_st = malloc(sizeof(float) * K * (ds->n + 1) * (D ? D : 1));
	float *y = malloc(sizeof(float) * (ds->n + 1));
	size_t lshape[3] = { (size_t)K, ds->n, (size_t)C }, sshape[3] = { (size_t)K, ds->n, (size_t)D };
	int rc = -1;

	if (!D) {
		cli_fail("--states: %s has no hidden state", model_arch_name(model_config(m)->arch));
		goto out;
	}
	if (!ws || !lg || !st || !all_lg || !all_st || !y) {
		cli_fail("out of memory");
		goto out;
	}
	for (size_t at = 0; at < ds->n; at += PREDICT_BATCH) {
		int b = ds->n - at < PREDICT_BATCH ? (int)(ds->n - at) : PREDICT_BATCH;

		if (model_states(m, ws, b, ds->sizes + at * N, ds->times + at * N, lg, st)) {
			cli_fail("--states: the model fails on window %zu", at);
			goto out;
		}
		for (int k = 0; k < K; k++) {
			memcpy(all_lg + ((size_t)k * ds->n + at) * C, lg + (size_t)k * b * C,
			       sizeof(float) * b * C);
			memcpy(all_st + ((size_t)k * ds->n + at) * D, st + (size_t)k * b * D,
			       sizeof(float) * b * D);
		}
	}
	for (size_t i = 0; i < ds->n; i++)
		y[i] = (float)ds->labels[i];
	rc = write_floats(prefix, "logits", 3, lshape, all_lg, (size_t)K * ds->n * C) ||
	     write_floats(prefix, "states", 3, sshape, all_st, (size_t)K * ds->n * D) ||
	     write_floats(prefix, "y", 1, &ds->n, y, ds->n) ? -1 : 0;
out:
	model_ws_free(ws);
	free(lg);
	free(st);
	free(all_lg);
	free(all_st);
	free(y);
	return rc;
}

int cmd_eval(int argc, char **argv)
{
	const char *model_path = NULL, *data = NULL, *plot_dir = NULL, *states = NULL;
	const struct model_config *cfg;
	struct model *model = NULL;
	struct dataset ds = { 0 };
	struct metrics metrics;
	struct named_metrics named;
	struct cli_parse p;
	float *logprobs = NULL, *unknown = NULL;
	bool json = false;
	/* one thread: all 12,922 ISCX windows take 0.22 s (median of 5) with one
	 * thread or two on the shared 2-core machine */
	int id, threads = 1, rc = 1;
	char err[ERRMSG_LEN];

	cli_parse_start(&p, &command_eval, argc, argv);
	while ((id = cli_next(&p)) > 0) {
		switch (id) {
		case OPT_MODEL: model_path = p.arg; break;
		case OPT_DATA: data = p.arg; break;
		case OPT_JSON: json = true; break;
		case OPT_PLOT: plot_dir = p.arg; break;
		case OPT_THREADS: cli_int(&p, 1, 64, &threads); break;
		case OPT_STATES: states = p.arg; break;
		}
	}
	if (id < 0)
		return p.exit;
	if (model_load(model_path, &model, err, sizeof(err)))
		return cli_fail("%s", err);
	cfg = model_config(model);
	if (dataset_load(data, cfg->num_classes, &ds, err, sizeof(err))) {
		cli_fail("%s", err);
		goto out;
	}
	if (ds.window != cfg->window) {
		cli_fail("%s: windows of %d packets, but %s takes %d", data, ds.window, model_path,
			 cfg->window);
		goto out;
	}
	logprobs = malloc(ds.n * cfg->num_classes * sizeof(*logprobs));
	unknown = malloc((ds.n + 1) * sizeof(*unknown));
	openblas_set_num_threads(1); /* the dataset is split across our threads */
	if (!logprobs || !unknown ||
	    predict_dataset(model, &ds, threads, logprobs, unknown, err, sizeof(err))) {
		cli_fail("%s", logprobs && unknown ? err : "out of memory");
		goto out;
	}
	metrics_compute(ds.labels, logprobs, ds.n, cfg->num_classes, &metrics);
	named_compute(ds.labels, logprobs, unknown, ds.n, cfg->num_classes,
		      cfg->unknown == UNKNOWN_NONE ? INFINITY : cfg->unknown_threshold, &named);
	if (json) {
		json_t *root = to_json(&metrics, &named, cfg, model_path, data);

		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
		putchar('\n');
		json_decref(root);
	} else {
		print_text(&metrics, cfg);
		print_unknown(&named, cfg);
	}
	if (plot_dir && plot(plot_dir, &metrics, cfg))
		goto out;
	if (states && write_states(states, model, &ds))
		goto out;
	rc = 0;
out:
	free(logprobs);
	free(unknown);
	dataset_free(&ds);
	model_free(model);
	return rc;
}
