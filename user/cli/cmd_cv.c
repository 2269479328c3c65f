/* SPDX-License-Identifier: MIT */
/* odeflow cv: how well a training recipe does on windows its model never
 * saw, by K-fold cross-validation (blocked folds by default). */
#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/errmsg.h"
#include "train/calibrate.h"
#include "train/crossval.h"
#include "train/dataset_index.h"
#include "train/folds.h"
#include "train/npy.h"
#include "train_args.h"

enum { OPT_FOLDS = 1, OPT_SPLIT, OPT_JSON, OPT_PREDICTIONS, OPT_JOBS, OPT_VERBOSE };

static const char *split_choice(int i, const char **about)
{
	if (i < 0 || i >= FOLD_SPLIT_COUNT)
		return NULL;
	*about = fold_split_about((enum fold_split)i);
	return fold_split_name((enum fold_split)i);
}

static const struct cli_option options[] = {
	CLI_OPTION(OPT_FOLDS, "folds", 0, "K", "number of folds", .def = "5"),
	CLI_OPTION(OPT_SPLIT, "split", 0, "NAME", "how windows are dealt to folds",
		   .def = "blocked", .choice = split_choice),
	CLI_OPTION(OPT_JSON, "json", 0, NULL, "print one JSON object instead of text"),
	CLI_OPTION(OPT_PREDICTIONS, "predictions", 0, "PREFIX",
		   "write every window's held-out log-probabilities to PREFIX_logprobs.npy (n, "
		   "classes), its label to PREFIX_y.npy and its fold to PREFIX_fold.npy"),
	CLI_OPTION(OPT_JOBS, "jobs", 0, "J", "train J folds at a time", .def = "1"),
	CLI_OPTION(OPT_VERBOSE, "verbose", 0, NULL,
		   "the training progress lines of every fold (stderr)"),
	{ 0 },
};

ODEFLOW_COMMAND(cv,
	.summary = "cross-validate a training recipe: per-fold and mean/min accuracy and macro F1",
	.description = "Trains K models, each on all folds but one, and tests each on the fold "
		       "it never saw; prints each fold's accuracy and macro F1, and their mean and "
		       "min, then the pooled held-out windows' calibration. The training options "
		       "are those of odeflow train; --seed also picks random folds.",
	.groups = { { NULL, options }, TRAIN_ARGS_GROUPS });

struct cv_args {
	struct train_args t;
	int folds, jobs;
	enum fold_split split;
	bool json, verbose;
	const char *predictions;
};

/* -1 when the command goes on, else its exit status. */
static int parse_args(int argc, char **argv, struct cv_args *a)
{
	struct cli_parse p;
	int id, choice;

	memset(a, 0, sizeof(*a));
	if ((id = train_args_start(&a->t, &command_cv, argc, argv)) >= 0)
		return id;
	a->folds = 5;
	a->jobs = 1;
	cli_parse_start(&p, &command_cv, argc, argv);
	while ((id = cli_next(&p)) > 0) {
		switch (id) {
		case OPT_FOLDS: cli_int(&p, -1000000, 1000000, &a->folds); break;
		case OPT_JOBS: cli_int(&p, 1, CROSSVAL_MAX_JOBS, &a->jobs); break;
		case OPT_SPLIT:
			if (!cli_choice(&p, &choice))
				a->split = (enum fold_split)choice;
			break;
		case OPT_JSON: a->json = true; break;
		case OPT_PREDICTIONS: a->predictions = p.arg; break;
		case OPT_VERBOSE: a->verbose = true; break;
		default: train_args_option(&p, id, &a->t);
		}
	}
	if (id < 0)
		return p.exit;
	return train_args_finish(&a->t) ? CLI_EXIT_USAGE : -1;
}

struct summary {
	double acc_mean, acc_min, f1_mean, f1_min;
	int acc_min_fold;
};

/* How well the held-out confidence matches accuracy, before and after
 * temperature scaling (calibrate.h). */
struct calibration {
	double temperature;     /* fitted on all held-out predictions: what a model
				 * trained by this recipe should store */
	double ece_raw, ece, nll_raw, nll;  /* ece, nll: cross-fitted */
	struct metrics m;       /* of the cross-fitted predictions */
};

static int calibrate(const struct dataset *ds, const int *fold, int k, const float *logprobs,
		     int C, struct calibration *c)
{
	float *cal = malloc(ds->n * C * sizeof(*cal));

	if (!cal || calib_crossfit(logprobs, ds->labels, fold, k, ds->n, C, cal)) {
		free(cal);
		cli_fail("out of memory");
		return -1;
	}
	c->temperature = calib_fit_temperature(logprobs, ds->labels, ds->n, C);
	c->ece_raw = calib_ece(logprobs, ds->labels, ds->n, C);
	c->nll_raw = calib_nll(logprobs, ds->labels, ds->n, C);
	c->ece = calib_ece(cal, ds->labels, ds->n, C);
	c->nll = calib_nll(cal, ds->labels, ds->n, C);
	metrics_compute(ds->labels, cal, ds->n, C, &c->m);
	free(cal);
	return 0;
}

static void summarise(const struct crossval_fold *f, int k, struct summary *s)
{
	*s = (struct summary){ .acc_min = 2, .f1_min = 2 };
	for (int i = 0; i < k; i++) {
		s->acc_mean += f[i].m.accuracy / k;
		s->f1_mean += f[i].m.macro_f1 / k;
		if (f[i].m.accuracy < s->acc_min) {
			s->acc_min = f[i].m.accuracy;
			s->acc_min_fold = i;
		}
		if (f[i].m.macro_f1 < s->f1_min)
			s->f1_min = f[i].m.macro_f1;
	}
}

static json_t *coverage_json(const struct metrics *m)
{
	json_t *a = json_array();

	for (int i = 0; i < COVERAGE_POINTS; i++) {
		const struct coverage_point *p = &m->coverage[i];

		json_array_append_new(a, json_pack("{s:f, s:f, s:I, s:o}", "threshold", p->threshold,
						   "coverage", p->coverage, "n", (json_int_t)p->covered,
						   "accuracy", p->covered ? json_real(p->accuracy) :
									    json_null()));
	}
	return a;
}

static json_t *confusion_json(const struct metrics *m)
{
	json_t *rows = json_array();

	for (int t = 0; t < m->num_classes; t++) {
		json_t *row = json_array();

		for (int p = 0; p < m->num_classes; p++)
			json_array_append_new(row, json_integer((json_int_t)m->confusion[t][p]));
		json_array_append_new(rows, row);
	}
	return rows;
}

/* The capture files or applications fold f holds out (--split files,
 * apps), as JSON. */
static json_t *fold_groups_json(const struct dataset_groups *groups, const int *fold, int f)
{
	json_t *names = json_array();
	bool *named = calloc((size_t)groups->count, sizeof(*named));

	for (size_t w = 0; named && w < groups->n; w++)
		if (fold[w] == f && !named[groups->group[w]]) {
			named[groups->group[w]] = true;
			json_array_append_new(names, json_string(groups->names[groups->group[w]]));
		}
	free(named);
	return names;
}

static void print_json(const struct cv_args *a, const struct crossval_fold *f,
		       const struct summary *s, const struct metrics *pooled,
		       const struct calibration *c, const struct dataset_groups *groups,
		       const int *fold)
{
	json_t *root = json_object(), *folds = json_array(), *classes = json_array();

	for (int i = 0; i < a->folds; i++) {
		json_t *one = json_pack("{s:i, s:I, s:I, s:f, s:f, s:f}", "fold", i + 1, "train",
					(json_int_t)f[i].train_n, "test", (json_int_t)f[i].test_n,
					"accuracy", f[i].m.accuracy, "macro_f1", f[i].m.macro_f1,
					"seconds", f[i].seconds);

		if (groups->count)
			json_object_set_new(one, fold_split_name(a->split),
					    fold_groups_json(groups, fold, i));
		json_array_append_new(folds, one);
	}
	for (int k = 0; k < a->t.cfg.num_classes; k++)
		json_array_append_new(classes, json_string(a->t.cfg.class_names[k]));
	json_object_set_new(root, "data", json_string(a->t.data));
	json_object_set_new(root, "recipe", json_string(a->t.recipe->name));
	json_object_set_new(root, "arch", json_string(model_arch_name(a->t.cfg.arch)));
	json_object_set_new(root, "split", json_string(fold_split_name(a->split)));
	if (a->t.init)
		json_object_set_new(root, "init", json_string(a->t.init));
	json_object_set_new(root, "k", json_integer(a->folds));
	json_object_set_new(root, "n", json_integer((json_int_t)pooled->n));
	json_object_set_new(root, "folds", folds);
	json_object_set_new(root, "accuracy",
			    json_pack("{s:f, s:f}", "mean", s->acc_mean, "min", s->acc_min));
	json_object_set_new(root, "macro_f1",
			    json_pack("{s:f, s:f}", "mean", s->f1_mean, "min", s->f1_min));
	json_object_set_new(root, "classes", classes);
	json_object_set_new(root, "pooled",
			    json_pack("{s:f, s:f, s:f, s:f, s:o, s:o}", "accuracy", pooled->accuracy,
				      "macro_f1", pooled->macro_f1, "ece", c->ece_raw, "nll",
				      c->nll_raw, "confusion", confusion_json(pooled), "coverage",
				      coverage_json(pooled)));
	json_object_set_new(root, "calibrated",
			    json_pack("{s:f, s:f, s:f, s:o}", "temperature", c->temperature, "ece",
				      c->ece, "nll", c->nll, "coverage", coverage_json(&c->m)));
	json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
	putchar('\n');
	json_decref(root);
}

/* Which capture files or applications each fold holds out. */
static void print_group_folds(const struct dataset_groups *groups, const int *fold, int k)
{
	for (int f = 0; f < k; f++) {
		json_t *names = fold_groups_json(groups, fold, f), *v;
		size_t i, windows = 0;

		for (size_t w = 0; w < groups->n; w++)
			windows += fold[w] == f;
		printf("fold %d holds out %zu window%s of", f + 1, windows, windows == 1 ? "" : "s");
		json_array_foreach(names, i, v)
			printf("%s %s", i ? "," : "", json_string_value(v));
		putchar('\n');
		json_decref(names);
	}
}

static void print_text(const struct summary *s, const struct metrics *pooled,
		       const struct calibration *c)
{
	const struct coverage_point *raw = &pooled->coverage[COVERAGE_AT_90];
	const struct coverage_point *cal = &c->m.coverage[COVERAGE_AT_90];

	printf("accuracy: mean %.2f%%, min %.2f%% (fold %d); macro F1: mean %.4f, min %.4f\n",
	       100 * s->acc_mean, 100 * s->acc_min, s->acc_min_fold + 1, s->f1_mean, s->f1_min);
	printf("all %zu held-out windows: accuracy %.2f%%, ECE %.4f; at confidence >= 0.90: "
	       "%.2f%% of windows, accuracy %.2f%%\n", pooled->n, 100 * pooled->accuracy,
	       c->ece_raw, 100 * raw->coverage, 100 * raw->accuracy);
	printf("calibrated (temperature %.3f; each fold scaled by the others' fit): ECE %.4f; at "
	       "confidence >= 0.90: %.2f%% of windows, accuracy %.2f%%\n", c->temperature, c->ece,
	       100 * cal->coverage, 100 * cal->accuracy);
}

/* PREFIX_logprobs.npy, PREFIX_y.npy, PREFIX_fold.npy */
static int write_predictions(const char *prefix, const struct dataset *ds, const int *fold,
			     const float *logprobs, int C)
{
	char path[4096], err[ERRMSG_LEN];
	size_t lshape[2] = { ds->n, (size_t)C }, shape[1] = { ds->n };
	double *buf = malloc(ds->n * C * sizeof(*buf));
	int rc = -1;

	if (!buf) {
		cli_fail("out of memory");
		return -1;
	}
	for (size_t i = 0; i < ds->n * C; i++)
		buf[i] = logprobs[i];
	snprintf(path, sizeof(path), "%s_logprobs.npy", prefix);
	if (npy_write(path, NPY_F64, 2, lshape, buf, err, sizeof(err)))
		goto out;
	for (size_t i = 0; i < ds->n; i++)
		buf[i] = ds->labels[i];
	snprintf(path, sizeof(path), "%s_y.npy", prefix);
	if (npy_write(path, NPY_I64, 1, shape, buf, err, sizeof(err)))
		goto out;
	for (size_t i = 0; i < ds->n; i++)
		buf[i] = fold[i];
	snprintf(path, sizeof(path), "%s_fold.npy", prefix);
	if (npy_write(path, NPY_I64, 1, shape, buf, err, sizeof(err)))
		goto out;
	rc = 0;
out:
	if (rc)
		cli_fail("%s", err);
	free(buf);
	return rc;
}

int cmd_cv(int argc, char **argv)
{
	struct crossval_fold folds[CROSSVAL_MAX_FOLDS];
	struct cv_args a;
	struct dataset ds;
	struct summary s;
	struct metrics pooled;
	struct calibration cal;
	struct dataset_groups groups = { 0 };
	FILE *fold_lines;
	float *logprobs = NULL;
	int *fold = NULL, C, rc = parse_args(argc, argv, &a);
	char err[ERRMSG_LEN];

	memset(&ds, 0, sizeof(ds));
	if (rc >= 0)
		return rc;
	rc = 1;
	if (train_args_init(&a.t) || train_args_dataset_info(&a.t))
		goto out;
	C = a.t.cfg.num_classes;
	if (dataset_load(a.t.data, C, &ds, err, sizeof(err))) {
		cli_fail("%s", err);
		goto out;
	}
	if (train_args_window(&a.t, &ds))
		goto out;
	fold = malloc(ds.n * sizeof(*fold));
	logprobs = malloc(ds.n * C * sizeof(*logprobs));
	if (!fold || !logprobs) {
		cli_fail("out of memory");
		goto out;
	}
	if (a.folds > CROSSVAL_MAX_FOLDS) {
		cli_fail("--folds %d: at most %d folds", a.folds, CROSSVAL_MAX_FOLDS);
		goto out;
	}
	if (fold_split_column(a.split)) {
		if (dataset_index_load(a.t.data, ds.n, fold_split_column(a.split), &groups, err,
				       sizeof(err)) ||
		    folds_by_group(groups.group, a.split == FOLD_APPS ? ds.labels : NULL, C, ds.n,
				   groups.count, a.folds, fold_split_groups(a.split), fold, err,
				   sizeof(err))) {
			cli_fail("--split %s: %s", fold_split_name(a.split), err);
			goto out;
		}
	} else if (folds_assign(&ds, C, a.folds, a.split, a.t.fit.train.seed, fold, err,
				sizeof(err))) {
		cli_fail("%s: %s", a.t.data, err);
		goto out;
	}
	fold_lines = a.t.fit.train.progress && !a.json ? stdout : NULL;
	a.t.fit.train.progress = a.verbose ? stderr : NULL;
	if (fold_lines) {
		printf("cv: %zu windows, %d %s folds, recipe %s, %s, %d fold%s at a time\n", ds.n,
		       a.folds, a.split == FOLD_FILES ? "capture-file" :
		       a.split == FOLD_APPS ? "application" : fold_split_name(a.split),
		       a.t.recipe->name, model_arch_name(a.t.cfg.arch), a.jobs,
		       a.jobs > 1 ? "s" : "");
		if (groups.count)
			print_group_folds(&groups, fold, a.folds);
		if (a.t.fit.init) {
			char said[2048];

			train_args_init_say(&a.t, said, sizeof(said));
			printf("cv: %s\n", said);
		}
	}
	openblas_set_num_threads(1);
	if (crossval_run(&a.t.cfg, &ds, fold, a.folds, &a.t.fit, a.jobs, logprobs, folds,
			 fold_lines, err, sizeof(err))) {
		cli_fail("%s", err);
		goto out;
	}
	summarise(folds, a.folds, &s);
	metrics_compute(ds.labels, logprobs, ds.n, C, &pooled);
	if (calibrate(&ds, fold, a.folds, logprobs, C, &cal))
		goto out;
	if (a.predictions && write_predictions(a.predictions, &ds, fold, logprobs, C))
		goto out;
	if (a.json)
		print_json(&a, folds, &s, &pooled, &cal, &groups, fold);
	else
		print_text(&s, &pooled, &cal);
	rc = 0;
out:
	free(fold);
	free(logprobs);
	dataset_free(&ds);
	dataset_groups_free(&groups);
	train_args_free(&a.t);
	return rc;
}
