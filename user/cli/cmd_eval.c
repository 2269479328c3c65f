/* SPDX-License-Identifier: MIT */
/* odeflow eval: how well a model classifies a labelled dataset. */
#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/errmsg.h"
#include "train/dataset.h"
#include "train/eval_metrics.h"
#include "engine/model.h"
#include "train/predict.h"
#include "train/svg_plot.h"

enum { OPT_MODEL = 1, OPT_DATA, OPT_JSON, OPT_PLOT, OPT_THREADS };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_MODEL, "model", 0, "FILE", "the model", .required = true),
	CLI_OPTION(OPT_DATA, "data", 0, "PREFIX",
		   "PREFIX_x.npy and PREFIX_y.npy, or a directory with x_train.npy and y_train.npy",
		   .required = true),
	CLI_OPTION(OPT_JSON, "json", 0, NULL,
		   "print one JSON object (accuracy, n, per_class, confusion, coverage)"),
	CLI_OPTION(OPT_PLOT, "plot", 0, "DIR", "also draw DIR/confusion.svg and DIR/coverage.svg"),
	CLI_OPTION(OPT_THREADS, "threads", 0, "T", "classify on T threads", .def = "1"),
	{ 0 },
};

ODEFLOW_COMMAND(eval,
	.summary = "accuracy, per-class P/R/F1, confusion and coverage of a model on a dataset",
	.description = "Classifies every window of the dataset with the model and prints the "
		       "accuracy, the macro F1, each class's precision, recall and F1, the "
		       "confusion matrix, and the accuracy against coverage: of the windows whose "
		       "top probability reaches each threshold.",
	.groups = { { NULL, options } });

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

static json_t *to_json(const struct metrics *m, const struct model_config *cfg, const char *model,
		       const char *data)
{
	json_t *root = json_object(), *per_class = json_object(), *confusion = json_array();
	json_t *coverage = json_array(), *classes = json_array();

	json_object_set_new(root, "model", json_string(model));
	json_object_set_new(root, "data", json_string(data));
	json_object_set_new(root, "n", json_integer((json_int_t)m->n));
	json_object_set_new(root, "accuracy", json_real(m->accuracy));
	json_object_set_new(root, "macro_f1", json_real(m->macro_f1));
	for (int c = 0; c < m->num_classes; c++) {
		const struct class_metrics *k = &m->per_class[c];
		json_t *row = json_array();

		json_array_append_new(classes, json_string(cfg->class_names[c]));
		json_object_set_new(per_class, cfg->class_names[c],
				    json_pack("{s:f, s:f, s:f, s:I}", "precision", k->precision,
					      "recall", k->recall, "f1", k->f1, "support",
					      (json_int_t)k->support));
		for (int p = 0; p < m->num_classes; p++)
			json_array_append_new(row, json_integer((json_int_t)m->confusion[c][p]));
		json_array_append_new(confusion, row);
	}
	for (int i = 0; i < COVERAGE_POINTS; i++) {
		const struct coverage_point *p = &m->coverage[i];

		/* accuracy over no windows is undefined: null, not 0 */
		json_array_append_new(coverage,
				      json_pack("{s:f, s:f, s:I, s:o}", "threshold", p->threshold,
						"coverage", p->coverage, "n", (json_int_t)p->covered,
						"accuracy", p->covered ? json_real(p->accuracy) : json_null()));
	}
	json_object_set_new(root, "classes", classes);
	json_object_set_new(root, "per_class", per_class);
	json_object_set_new(root, "confusion", confusion);
	json_object_set_new(root, "coverage", coverage);
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

int cmd_eval(int argc, char **argv)
{
	const char *model_path = NULL, *data = NULL, *plot_dir = NULL;
	const struct model_config *cfg;
	struct model *model = NULL;
	struct dataset ds = { 0 };
	struct metrics metrics;
	struct cli_parse p;
	float *logprobs = NULL;
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
	openblas_set_num_threads(1); /* the dataset is split across our threads */
	if (!logprobs || predict_dataset(model, &ds, threads, logprobs, err, sizeof(err))) {
		cli_fail("%s", logprobs ? err : "out of memory");
		goto out;
	}
	metrics_compute(ds.labels, logprobs, ds.n, cfg->num_classes, &metrics);
	if (json) {
		json_t *root = to_json(&metrics, cfg, model_path, data);

		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
		putchar('\n');
		json_decref(root);
	} else {
		print_text(&metrics, cfg);
	}
	if (plot_dir && plot(plot_dir, &metrics, cfg))
		goto out;
	rc = 0;
out:
	free(logprobs);
	dataset_free(&ds);
	model_free(model);
	return rc;
}
