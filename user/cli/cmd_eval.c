/* SPDX-License-Identifier: MIT */
/* odeflow eval: how well a model classifies a labelled dataset. */
#include <cblas.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "command.h"
#include "train/dataset.h"
#include "train/eval_metrics.h"
#include "engine/model.h"
#include "train/predict.h"
#include "train/svg_plot.h"

ODEFLOW_COMMAND(eval, "accuracy, per-class P/R/F1, confusion and coverage of a model on a dataset")

static void usage(FILE *out)
{
	fprintf(out,
		"usage: odeflow eval --model FILE --data PREFIX [--json] [--plot DIR] [--threads T]\n"
		"  --json       print one JSON object (accuracy, n, per_class, confusion, coverage)\n"
		"  --plot DIR   also draw DIR/confusion.svg and DIR/coverage.svg\n"
		"  --threads T  classify on T threads (default 1)\n");
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
	char path[4096], err[512];

	snprintf(path, sizeof(path), "%s/confusion.svg", dir);
	if (svg_confusion(path, m, cfg->class_names, err, sizeof(err)))
		goto fail;
	snprintf(path, sizeof(path), "%s/coverage.svg", dir);
	if (svg_coverage(path, m, err, sizeof(err)))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "eval: %s\n", err);
	return -1;
}

int cmd_eval(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' }, { "data", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },        { "plot", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *model_path = NULL, *data = NULL, *plot_dir = NULL;
	const struct model_config *cfg;
	struct model *model = NULL;
	struct dataset ds = { 0 };
	struct metrics metrics;
	float *logprobs = NULL;
	bool json = false;
	/* one thread: all 12,922 ISCX windows take 0.22 s (median of 5) with one
	 * thread or two on the shared 2-core machine */
	int opt, threads = 1, rc = 1;
	char err[512];

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm': model_path = optarg; break;
		case 'd': data = optarg; break;
		case 'j': json = true; break;
		case 'p': plot_dir = optarg; break;
		case 't':
			if (cli_int("eval", "threads", optarg, 1, 64, &threads))
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!model_path || !data || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (model_load(model_path, &model, err, sizeof(err))) {
		fprintf(stderr, "eval: %s\n", err);
		return 1;
	}
	cfg = model_config(model);
	if (dataset_load(data, cfg->num_classes, &ds, err, sizeof(err))) {
		fprintf(stderr, "eval: %s\n", err);
		goto out;
	}
	if (ds.window != cfg->window) {
		fprintf(stderr, "eval: %s: windows of %d packets, but %s takes %d\n", data, ds.window,
			model_path, cfg->window);
		goto out;
	}
	logprobs = malloc(ds.n * cfg->num_classes * sizeof(*logprobs));
	openblas_set_num_threads(1); /* the dataset is split across our threads */
	if (!logprobs || predict_dataset(model, &ds, threads, logprobs, err, sizeof(err))) {
		fprintf(stderr, "eval: %s\n", logprobs ? err : "out of memory");
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
