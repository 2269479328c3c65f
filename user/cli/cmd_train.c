/* SPDX-License-Identifier: MIT */
/* odeflow train: fit a model to a labelled dataset and save it. */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "train/dataset.h"
#include "engine/model.h"
#include "train/fit.h"
#include "train_args.h"

ODEFLOW_COMMAND(train, "train a classifier on labelled windows (PREFIX_x.npy, PREFIX_y.npy)")

static void usage(FILE *out)
{
	fprintf(out, "usage: odeflow train --data PREFIX --out FILE.safetensors [options]\n");
	train_args_usage(out);
}

/* Fail before hours of training, not after, when the output cannot be written. */
static int check_writable(const char *out)
{
	char *copy = strdup(out);
	const char *dir = dirname(copy);
	int ok = !access(dir, W_OK);

	if (!ok)
		fprintf(stderr, "train: cannot write into '%s' for --out %s\n", dir, out);
	free(copy);
	return ok ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct train_args *a, const char **out)
{
	static const struct option opts[] = {
		TRAIN_ARGS_OPTIONS,
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, bad = 0;

	train_args_defaults(a);
	*out = NULL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': *out = optarg; break;
		case 'h': usage(stdout); exit(0);
		default:
			switch (train_args_option("train", opt, optarg, a)) {
			case 0: return -1;  /* getopt has said what is wrong */
			case -1: bad = 1; break;
			}
		}
	}
	if (bad)
		return -1;
	if (!a->data || !*out || optind != argc) {
		usage(stderr);
		return -1;
	}
	return train_args_finish("train", a) || check_writable(*out);
}

/* Saved to FILE.tmp and renamed: an interrupted save never leaves half a model. */
static int save(const struct model *m, const char *out)
{
	char tmp[4096], err[512];

	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if (model_save(m, tmp, err, sizeof(err))) {
		fprintf(stderr, "train: cannot save %s: %s\n", out, err);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, out)) {
		fprintf(stderr, "train: cannot move %s into place: %s\n", out, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int cmd_train(int argc, char **argv)
{
	struct train_args a;
	struct dataset all = { 0 };
	struct train_result r;
	struct model *m = NULL;
	const char *out;
	char err[512], start[WINDOW_START_STRLEN];
	int rc = 1;

	if (parse_args(argc, argv, &a, &out))
		return 2;
	if (train_args_init("train", &a))
		return 1;
	if (train_args_dataset_info("train", &a))
		goto out;
	if (dataset_load(a.data, a.cfg.num_classes, &all, err, sizeof(err))) {
		fprintf(stderr, "train: %s\n", err);
		goto out;
	}
	if (train_args_window("train", &a, &all))
		goto out;
	window_start_format(&a.cfg.window_start, start, sizeof(start));
	if (a.fit.train.progress)
		printf("train: window_start %s (%s)\n", start, a.start_from);
	if (a.fit.init && a.fit.train.progress) {
		char said[2048];

		train_args_init_say(&a, said, sizeof(said));
		printf("train: %s\n", said);
	}
	a.cfg.model_id = train_args_model_id(&a, &all);
	/* the minibatch is split across our threads: OpenBLAS must not add its own */
	openblas_set_num_threads(1);
	if (fit_model(&a.cfg, &all, &a.fit, &m, &r, err, sizeof(err))) {
		fprintf(stderr, "train: %s\n", err);
		goto out;
	}
	if (save(m, out))
		goto out;
	if (a.arch == ARCH_TREES)  /* no early stopping: every round is kept */
		printf("trained %d rounds, training accuracy %.2f%%; saved %s, model id %08x "
		       "(%.1f s)\n", r.epochs_run, 100 * r.last_train_acc, out, a.cfg.model_id,
		       r.seconds);
	else if (r.best_val_acc >= 0)
		printf("best validation accuracy %.2f%% at epoch %d of %d; saved %s, model id %08x "
		       "(%.1f s)\n", 100 * r.best_val_acc, r.best_epoch, r.epochs_run, out,
		       a.cfg.model_id, r.seconds);
	else
		printf("trained %d epochs, final training accuracy %.2f%%; saved %s, model id %08x "
		       "(%.1f s)\n", r.epochs_run, 100 * r.last_train_acc, out, a.cfg.model_id,
		       r.seconds);
	rc = 0;
out:
	model_free(m);
	dataset_free(&all);
	train_args_free(&a);
	return rc;
}
