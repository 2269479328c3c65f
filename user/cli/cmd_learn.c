/* SPDX-License-Identifier: MIT */
/* odeflow learn: fine-tune the model on the site data set; keep the result
 * only when it is better on the newest windows. */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/errmsg.h"
#include "engine/model_path.h"
#include "teach/learn.h"

enum {
	OPT_DATA = 1, OPT_MODEL, OPT_OUT, OPT_REFERENCE, OPT_NO_REHEARSAL, OPT_EPOCHS, OPT_SEED,
	OPT_THREADS, OPT_QUIET
};

/* The exit status when NEW is no better: nothing written, not a failure. */
#define LEARN_EXIT_NOT_BETTER 3

static const struct cli_option options[] = {
	CLI_OPTION(OPT_DATA, "data", 0, "SITE",
		   "the site data set: the directory odeflow run --teach writes (--site)",
		   .required = true),
	CLI_OPTION(OPT_MODEL, "model", 'm', "CURRENT", "the model to start from and to beat",
		   .def = MODEL_DEFAULT_FILE " of the shipped models", .def_fn = model_default_path),
	CLI_OPTION(OPT_OUT, "out", 'o', "NEW",
		   "where the fine-tuned model goes, only if it is better (odeflow model load NEW "
		   "takes it into the running agent)", .required = true),
	CLI_OPTION(OPT_REFERENCE, "reference", 0, "DIR",
		   "windows of the model's own training data, of its classes: half are rehearsed "
		   "while fine-tuning, half judge that no class is forgotten; none: neither",
		   .def = REFERENCE_DEFAULT_DIR " of the shipped models, when it is of the model's "
			  "classes", .def_fn = reference_default_path),
	CLI_OPTION(OPT_NO_REHEARSAL, "no-rehearsal", 0, NULL,
		   "fine-tune on the site's windows alone (the reference still judges)"),
	CLI_OPTION(OPT_EPOCHS, "epochs", 0, "E", "passes over the windows",
		   .def = "the fine-tuning recipe's (user/teach/learn.c)"),
	CLI_OPTION(OPT_SEED, "seed", 0, "S", "shuffling and new rows of the last layer",
		   .def = "1"),
	CLI_OPTION(OPT_THREADS, "threads", 'j', "T", "training threads", .def = "1"),
	CLI_OPTION(OPT_QUIET, "quiet", 'q', NULL, "no progress lines, only the verdict"),
	{ 0 },
};

ODEFLOW_COMMAND(learn,
	.summary = "fine-tune the model on the site data set, keep it if it is better",
	.description = "Fine-tunes CURRENT (as odeflow train --init does: its architecture, shape "
		       "and classes) on the labelled windows of the site data set that odeflow "
		       "run --teach wrote, except the newest " CLI_STR(LEARN_HOLDOUT_PERCENT)
		       "% and every window of their connections, which are held out by time. "
		       "Half of the reference windows (whole sessions) are rehearsed with them, "
		       "so a class the site's teacher cannot label is not forgotten. Both models "
		       "then classify the held-out windows and the other half of the reference; "
		       "NEW is written, its temperature fitted on the held-out windows, only when "
		       "it names more of them right and forgets no class: a class with fewer than "
		       CLI_STR(LEARN_MIN_CLASS_HELD) " held-out windows may lose at most "
		       CLI_STR(LEARN_MAX_FORGET_POINTS) " points of its recall on the reference. "
		       "The table says by how much, per class. Exit status: 0 when NEW was "
		       "written, " CLI_STR(LEARN_EXIT_NOT_BETTER) " when it was no better or "
		       "forgot a class (nothing written), 1 "
		       "when learning failed (too few labelled windows, a data set of another "
		       "model's classes, an unreadable file).",
	.groups = { { NULL, options } });

int cmd_learn(int argc, char **argv)
{
	struct learn_options o = { .model = model_default_path(), .seed = 1, .threads = 1,
				   .progress = stdout, .reference = reference_default_path(),
				   .reference_optional = true, .rehearse = true };
	struct learn_result r;
	struct cli_parse p;
	char err[ERRMSG_LEN];
	int id;

	cli_parse_start(&p, &command_learn, argc, argv);
	while ((id = cli_next(&p)) > 0)
		switch (id) {
		case OPT_DATA: o.data = p.arg; break;
		case OPT_MODEL: o.model = p.arg; break;
		case OPT_OUT: o.out = p.arg; break;
		case OPT_REFERENCE:
			o.reference = strcmp(p.arg, "none") ? p.arg : NULL;
			o.reference_optional = false;
			break;
		case OPT_NO_REHEARSAL: o.rehearse = false; break;
		case OPT_EPOCHS: cli_int(&p, 1, 10000, &o.epochs); break;
		case OPT_SEED: cli_u64(&p, &o.seed); break;
		case OPT_THREADS: cli_int(&p, 1, 16, &o.threads); break;
		case OPT_QUIET: o.progress = NULL; break;
		}
	if (id < 0)
		return p.exit;
	/* the minibatch is split across our threads: OpenBLAS must not add its own */
	openblas_set_num_threads(1);
	if (site_learn(&o, &r, err, sizeof(err)))
		return cli_fail("%s", err);
	learn_report(stdout, &r, o.out);
	return r.written ? 0 : LEARN_EXIT_NOT_BETTER;
}
