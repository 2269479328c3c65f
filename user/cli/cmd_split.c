/* SPDX-License-Identifier: MIT */
/* odeflow split: cut a dataset into two session-disjoint parts, e.g. a
 * held-out test part that no training run ever sees. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "command.h"
#include "train/dataset.h"
#include "engine/model.h"

ODEFLOW_COMMAND(split, "split a dataset into two session-disjoint parts (train/test)")

static void usage(FILE *out)
{
	fprintf(out,
		"usage: odeflow split --data PREFIX --frac F --rest PREFIX --held PREFIX\n"
		"                     [--seed S] [--by-window]\n"
		"  Holds out about F (0 < F < 1) of each class's windows, chosen at random\n"
		"  for seed S (default 1): whole sessions, or single windows with --by-window\n"
		"  (sessions then leak across the parts). Writes PREFIX_x.npy and\n"
		"  PREFIX_y.npy for each part, rows in their original order.\n");
}

int cmd_split(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' }, { "frac", required_argument, NULL, 'f' },
		{ "rest", required_argument, NULL, 'r' }, { "held", required_argument, NULL, 'H' },
		{ "seed", required_argument, NULL, 's' }, { "by-window", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *rest_prefix = NULL, *held_prefix = NULL;
	double frac = -1;
	uint64_t seed = 1;
	bool by_session = true;
	struct dataset ds, rest, held;
	char err[512];
	int opt, rc = 0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': data = optarg; break;
		case 'r': rest_prefix = optarg; break;
		case 'H': held_prefix = optarg; break;
		case 'w': by_session = false; break;
		case 'f':
			if (cli_double("split", "frac", optarg, 0, 1, true, &frac))
				return 2;
			break;
		case 's':
			if (cli_u64("split", "seed", optarg, &seed))
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!data || frac < 0 || !rest_prefix || !held_prefix || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (dataset_load(data, ODEFLOW_MAX_CLASSES, &ds, err, sizeof(err))) {
		fprintf(stderr, "split: %s\n", err);
		return 1;
	}
	if (dataset_split(&ds, frac, by_session, seed, &rest, &held)) {
		fprintf(stderr, "split: out of memory\n");
		dataset_free(&ds);
		return 1;
	}
	if (dataset_save(rest_prefix, &rest, err, sizeof(err)) ||
	    dataset_save(held_prefix, &held, err, sizeof(err))) {
		fprintf(stderr, "split: %s\n", err);
		rc = 1;
	} else {
		printf("split: %zu windows: %zu in %s, %zu held out in %s\n", ds.n, rest.n, rest_prefix,
		       held.n, held_prefix);
	}
	dataset_free(&ds);
	dataset_free(&rest);
	dataset_free(&held);
	return rc;
}
