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
#include "cv_report.h"
#include "train/crossval.h"
#include "train/dataset_index.h"
#include "train/folds.h"
#include "train/npy.h"
#include "train_args.h"

enum {
	OPT_FOLDS = 1, OPT_SPLIT, OPT_JSON, OPT_PREDICTIONS, OPT_JOBS, OPT_VERBOSE,
	OPT_NAMED_ACCURACY,
};

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
		   "classes), its label to PREFIX_y.npy and its fold to PREFIX_fold.npy; with "
		   "--split apps and an Unknown score, the score to PREFIX_unknown.npy (what "
		   "odeflow calibrate fits the Unknown threshold on)"),
	CLI_OPTION(OPT_NAMED_ACCURACY, "named-accuracy", 0, "A",
		   "with --split apps: fit each fold's Unknown threshold on the other folds' "
		   "held-out applications so that A of the windows named are right",
		   .def = CLI_STR(NAMED_DEFAULT_ACCURACY)),
	CLI_OPTION(OPT_JOBS, "jobs", 0, "J", "train J folds at a time", .def = "1"),
	CLI_OPTION(OPT_VERBOSE, "verbose", 0, NULL,
		   "the training progress lines of every fold (stderr)"),
	{ 0 },
};

ODEFLOW_COMMAND(cv,
	.summary = "cross-validate a training recipe: per-fold and mean/min accuracy and macro F1",
	.description = "Trains K models, each on all folds but one, and tests each on the fold "
		       "it never saw; prints each fold's accuracy and macro F1, and their mean and "
		       "min, then the pooled held-out windows' calibration, what the outcome "
		       "Unknown does (how many windows the models name, and how many of those are "
		       "right) and, with --split files or apps, each capture file's or "
		       "application's figures. Without training options it measures the default "
		       "model's recipe. The training options are those of odeflow train; --seed "
		       "also picks random folds.",
	.groups = { { NULL, options }, TRAIN_ARGS_GROUPS });

struct cv_args {
	struct train_args t;
	int folds, jobs;
	enum fold_split split;
	bool json, verbose;
	const char *predictions;
	double named_accuracy;
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
	a->named_accuracy = NAMED_DEFAULT_ACCURACY;
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
		case OPT_NAMED_ACCURACY: cli_double(&p, 0, 1, true, &a->named_accuracy); break;
		default: train_args_option(&p, id, &a->t);
		}
	}
	if (id < 0)
		return p.exit;
	return train_args_finish(&a->t) ? CLI_EXIT_USAGE : -1;
}

/* PREFIX_logprobs.npy, PREFIX_y.npy, PREFIX_fold.npy, and PREFIX_unknown.npy
 * when unknown is not NULL */
static int write_predictions(const char *prefix, const struct dataset *ds, const int *fold,
			     const float *logprobs, const float *unknown, int C)
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
	for (size_t i = 0; unknown && i < ds->n; i++)
		buf[i] = unknown[i];
	snprintf(path, sizeof(path), "%s_unknown.npy", prefix);
	if (unknown && npy_write(path, NPY_F64, 1, shape, buf, err, sizeof(err)))
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
	struct dataset ds, also = { 0 };
	struct dataset_groups groups = { 0 }, positions = { 0 };
	struct cv_report *report = NULL;
	struct cv_run run;
	FILE *fold_lines;
	float *logprobs = NULL, *unknown = NULL;
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
	if (train_args_window(&a.t, &ds) || train_args_also(&a.t, &ds, &also))
		goto out;
	fold = malloc(ds.n * sizeof(*fold));
	logprobs = malloc(ds.n * C * sizeof(*logprobs));
	unknown = malloc(ds.n * sizeof(*unknown));
	if (!fold || !logprobs || !unknown) {
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
	/* where each window sits in its direction, when the index says: a
	 * dataset without an index (the ISCX data) has no first windows to tell */
	if (dataset_index_load(a.t.data, ds.n, "window", &positions, err, sizeof(err)))
		memset(&positions, 0, sizeof(positions));
	run = (struct cv_run){ .data = a.t.data, .recipe = a.t.recipe->name, .init = a.t.init,
			       .cfg = &a.t.cfg, .split = a.split, .k = a.folds, .folds = folds,
			       .ds = &ds, .fold = fold, .logprobs = logprobs, .unknown = unknown,
			       .groups = &groups, .positions = &positions,
			       .named_accuracy = a.named_accuracy };
	fold_lines = a.t.fit.train.progress && !a.json ? stdout : NULL;
	a.t.fit.train.progress = a.verbose ? stderr : NULL;
	if (fold_lines) {
		printf("cv: %zu windows, %d %s folds, recipe %s, %s, %d fold%s at a time\n", ds.n,
		       a.folds, a.split == FOLD_FILES ? "capture-file" :
		       a.split == FOLD_APPS ? "application" : fold_split_name(a.split),
		       a.t.recipe->name, model_arch_name(a.t.cfg.arch), a.jobs,
		       a.jobs > 1 ? "s" : "");
		if (also.n)
			printf("cv: and %zu windows of %s in every fold's training windows\n",
			       also.n, a.t.also);
		cv_report_folds(&run, stdout);
		if (a.t.fit.init) {
			char said[2048];

			train_args_init_say(&a.t, said, sizeof(said));
			printf("cv: %s\n", said);
		}
	}
	openblas_set_num_threads(1);
	if (crossval_run(&a.t.cfg, &ds, &also, fold, a.folds, &a.t.fit, a.jobs, logprobs, unknown,
			 folds, fold_lines, err, sizeof(err))) {
		cli_fail("%s", err);
		goto out;
	}
	if (!(report = cv_report_new(&run))) {
		cli_fail("out of memory");
		goto out;
	}
	if (a.predictions &&
	    write_predictions(a.predictions, &ds, fold, logprobs,
			      a.split == FOLD_APPS && a.t.cfg.unknown != UNKNOWN_NONE ? unknown :
										       NULL, C))
		goto out;
	if (a.json)
		cv_report_json(report, stdout);
	else
		cv_report_text(report, stdout);
	rc = 0;
out:
	cv_report_free(report);
	free(fold);
	free(logprobs);
	free(unknown);
	dataset_free(&ds);
	dataset_free(&also);
	dataset_groups_free(&groups);
	dataset_groups_free(&positions);
	train_args_free(&a.t);
	return rc;
}
