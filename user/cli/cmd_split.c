/* SPDX-License-Identifier: MIT */
/* odeflow split: cut a dataset into two session-disjoint parts, e.g. a
 * held-out test part that no training run ever sees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/errmsg.h"
#include "train/dataset.h"
#include "engine/model.h"

enum { OPT_DATA = 1, OPT_FRAC, OPT_REST, OPT_HELD, OPT_SEED, OPT_BY_WINDOW };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_DATA, "data", 0, "PREFIX", "the dataset to split", .required = true),
	CLI_OPTION(OPT_FRAC, "frac", 0, "F", "share of each class's windows held out (0 < F < 1)",
		   .required = true),
	CLI_OPTION(OPT_REST, "rest", 0, "PREFIX", "where the rest goes", .required = true),
	CLI_OPTION(OPT_HELD, "held", 0, "PREFIX", "where the held-out part goes", .required = true),
	CLI_OPTION(OPT_SEED, "seed", 0, "S", "what is held out, at random", .def = "1"),
	CLI_OPTION(OPT_BY_WINDOW, "by-window", 0, NULL,
		   "hold out single windows, not whole sessions (sessions then leak across the "
		   "parts)"),
	{ 0 },
};

ODEFLOW_COMMAND(split,
	.summary = "split a dataset into two session-disjoint parts (train/test)",
	.description = "Holds out about F of each class's windows, chosen at random for seed S: "
		       "whole sessions, or single windows with --by-window. Writes PREFIX_x.npy "
		       "and PREFIX_y.npy for each part, rows in their original order.",
	.groups = { { NULL, options } });

int cmd_split(int argc, char **argv)
{
	const char *data = NULL, *rest_prefix = NULL, *held_prefix = NULL;
	double frac = -1;
	uint64_t seed = 1;
	bool by_session = true;
	struct dataset ds, rest, held;
	struct cli_parse p;
	char err[ERRMSG_LEN];
	int id, rc = 0;

	cli_parse_start(&p, &command_split, argc, argv);
	while ((id = cli_next(&p)) > 0) {
		switch (id) {
		case OPT_DATA: data = p.arg; break;
		case OPT_REST: rest_prefix = p.arg; break;
		case OPT_HELD: held_prefix = p.arg; break;
		case OPT_BY_WINDOW: by_session = false; break;
		case OPT_FRAC: cli_double(&p, 0, 1, true, &frac); break;
		case OPT_SEED: cli_u64(&p, &seed); break;
		}
	}
	if (id < 0)
		return p.exit;
	if (dataset_load(data, ODEFLOW_MAX_CLASSES, &ds, err, sizeof(err)))
		return cli_fail("%s", err);
	if (dataset_split(&ds, frac, by_session, seed, &rest, &held)) {
		dataset_free(&ds);
		return cli_fail("out of memory");
	}
	if (dataset_save(rest_prefix, &rest, err, sizeof(err)) ||
	    dataset_save(held_prefix, &held, err, sizeof(err))) {
		rc = cli_fail("%s", err);
	} else {
		printf("split: %zu windows: %zu in %s, %zu held out in %s\n", ds.n, rest.n, rest_prefix,
		       held.n, held_prefix);
	}
	dataset_free(&ds);
	dataset_free(&rest);
	dataset_free(&held);
	return rc;
}
