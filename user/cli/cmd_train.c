/* SPDX-License-Identifier: MIT */
/* odeflow train: fit a model to a labelled dataset and save it. */
#include <cblas.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "train/dataset.h"
#include "engine/model.h"
#include "train/fit.h"
#include "train_args.h"

enum { OPT_OUT = 1 };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_OUT, "out", 0, "FILE.safetensors", "where to save the model",
		   .required = true),
	{ 0 },
};

ODEFLOW_COMMAND(train,
	.summary = "train a classifier on labelled windows (PREFIX_x.npy, PREFIX_y.npy)",
	.description = "Fits a model of the architecture to the windows of the dataset (as "
		       "odeflow pcap2npy writes them) and saves it, with its configuration, its "
		       "classes, where its windows start and its model id, for odeflow run and "
		       "classify.",
	.groups = { { NULL, options }, TRAIN_ARGS_GROUPS });

/* Fail before hours of training, not after, when the output cannot be written. */
static int check_writable(const char *out)
{
	char *copy = strdup(out);
	const char *dir = dirname(copy);
	int ok = !access(dir, W_OK);

	if (!ok)
		cli_fail("cannot write into '%s' for --out %s", dir, out);
	free(copy);
	return ok ? 0 : -1;
}

/* -1 when the command goes on, else its exit status. */
static int parse_args(int argc, char **argv, struct train_args *a, const char **out)
{
	struct cli_parse p;
	int id = train_args_start(a, &command_train, argc, argv);

	if (id >= 0)
		return id;
	*out = NULL;
	cli_parse_start(&p, &command_train, argc, argv);
	while ((id = cli_next(&p)) > 0)
		if (id == OPT_OUT)
			*out = p.arg;
		else
			train_args_option(&p, id, a);
	if (id < 0)
		return p.exit;
	return train_args_finish(a) || check_writable(*out) ? CLI_EXIT_USAGE : -1;
}

/* Saved to FILE.tmp and renamed: an interrupted save never leaves half a model. */
static int save(const struct model *m, const char *out)
{
	char tmp[4096], err[ERRMSG_LEN];

	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if (model_save(m, tmp, err, sizeof(err))) {
		cli_fail("cannot save %s: %s", out, err);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, out)) {
		cli_fail("cannot move %s into place: %s", out, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cmd_train(int argc, char **argv)
{
	struct train_args a;
	struct dataset all = { 0 }, also = { 0 };
	struct train_result r;
	struct model *m = NULL;
	const char *out;
	char err[ERRMSG_LEN], start[WINDOW_START_STRLEN];
	int rc = parse_args(argc, argv, &a, &out);

	if (rc >= 0)
		return rc;
	rc = 1;
	if (train_args_init(&a))
		return 1;
	if (train_args_dataset_info(&a))
		goto out;
	if (dataset_load(a.data, a.cfg.num_classes, &all, err, sizeof(err))) {
		cli_fail("%s", err);
		goto out;
	}
	if (train_args_window(&a, &all) || train_args_also(&a, &all, &also))
		goto out;
	if (also.n && dataset_append(&all, &also)) {
		cli_fail("out of memory");
		goto out;
	}
	window_start_format(&a.cfg.window_start, start, sizeof(start));
	if (a.fit.train.progress)
		printf("train: recipe %s (odeflow info --recipes) and the options given; "
		       "window_start %s (%s)\n", a.recipe->name, start, a.start_from);
	if (a.fit.init && a.fit.train.progress) {
		char said[2048];

		train_args_init_say(&a, said, sizeof(said));
		printf("train: %s\n", said);
	}
	a.cfg.model_id = train_args_model_id(&a, &all);
	/* the minibatch is split across our threads: OpenBLAS must not add its own */
	openblas_set_num_threads(1);
	if (fit_model(&a.cfg, &all, &a.fit, &m, &r, err, sizeof(err))) {
		cli_fail("%s", err);
		goto out;
	}
	if (save(m, out))
		goto out;
	if (a.arch == ARCH_TREES)  /* no early stopping: every round is kept */
		printf("trained %d rounds, training accuracy %.2f%%; saved %s, model id %u "
		       "(%.1f s)\n", r.epochs_run, 100 * r.last_train_acc, out, a.cfg.model_id,
		       r.seconds);
	else if (r.best_val_acc >= 0)
		printf("best validation accuracy %.2f%% at epoch %d of %d; saved %s, model id %u "
		       "(%.1f s)\n", 100 * r.best_val_acc, r.best_epoch, r.epochs_run, out,
		       a.cfg.model_id, r.seconds);
	else
		printf("trained %d epochs, final training accuracy %.2f%%; saved %s, model id %u "
		       "(%.1f s)\n", r.epochs_run, 100 * r.last_train_acc, out, a.cfg.model_id,
		       r.seconds);
	rc = 0;
out:
	model_free(m);
	dataset_free(&all);
	dataset_free(&also);
	train_args_free(&a);
	return rc;
}
