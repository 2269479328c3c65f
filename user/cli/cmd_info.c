/* SPDX-License-Identifier: MIT */
/* odeflow info: what a model file is (the default model without one), so an
 * operator, and a script, need not read safetensors headers. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "common/errmsg.h"
#include "common/window_start.h"
#include "engine/model.h"
#include "engine/model_path.h"

ODEFLOW_COMMAND(info, "describe a model file (the default model without one)")

static void usage(FILE *out)
{
	fprintf(out,
		"usage: odeflow info [--path] [MODEL]\n"
		"Prints a model's architecture, window, classes, where its training windows\n"
		"started, calibration and id, one `key value` line each.\n"
		"  --path    print only the model's path (the default model: %s)\n",
		model_default_path());
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "path", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct model_config *c;
	char err[ERRMSG_LEN], start[WINDOW_START_STRLEN];
	const char *path;
	struct model *m;
	bool path_only = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "ph", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': path_only = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	path = optind < argc ? argv[optind] : model_default_path();
	if (path_only) {
		puts(path);
		return 0;
	}
	if (model_load(path, &m, err, sizeof(err))) {
		fprintf(stderr, "odeflow info: %s\n", err);
		return 1;
	}
	c = model_config(m);
	window_start_format(&c->window_start, start, sizeof(start));
	printf("path %s\narch %s\nwindow %d\nwindow_start %s\ntransform %s\nmembers %d\n"
	       "temperature %g\nmodel_id %08x\nclasses", path, model_arch_name(c->arch), c->window,
	       start, c->transform, c->members, c->temperature, c->model_id);
	for (int k = 0; k < c->num_classes; k++)
		printf(" %s", c->class_names[k]);
	putchar('\n');
	model_free(m);
	return 0;
}
