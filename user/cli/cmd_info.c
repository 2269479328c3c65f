/* SPDX-License-Identifier: MIT */
/* odeflow info: what a model file is (the default model without one), so an
 * operator, and a script, need not read safetensors headers. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/errmsg.h"
#include "common/window_start.h"
#include "engine/model.h"
#include "engine/model_path.h"
#include "train/recipe.h"

enum { OPT_PATH = 1, OPT_RECIPES };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_PATH, "path", 'p', NULL, "print only the model's path"),
	CLI_OPTION(OPT_RECIPES, "recipes", 0, NULL,
		   "print the training recipe of each shipped model instead, one line each: its "
		   "name, its file in models/ and the odeflow train options that say all of it"),
	{ 0 },
};

ODEFLOW_COMMAND(info,
	.summary = "describe a model file (the default model without one)",
	.description = "Prints a model's architecture, window, classes, where its training "
		       "windows started, calibration, id and Unknown score (its name and "
		       "threshold), one `key value` line each. Without "
		       "MODEL: the default model, " MODEL_DEFAULT_FILE " of the shipped models. "
		       "With --recipes: how each shipped model is trained (odeflow train and cv "
		       "start from the first line's recipe).",
	.operands = { "[MODEL]" },
	.groups = { { NULL, options } });

static int print_recipes(void)
{
	const struct recipe *r;
	char opts[1024];

	for (int i = 0; (r = recipe_at(i)); i++) {
		if (recipe_options(r, opts, sizeof(opts)))
			return cli_fail("recipe %s: its options do not fit %zu bytes", r->name,
					sizeof(opts));
		printf("%s %s %s\n", r->name, r->model, opts);
	}
	return 0;
}

int cmd_info(int argc, char **argv)
{
	const struct model_config *c;
	char err[ERRMSG_LEN], start[WINDOW_START_STRLEN];
	const char *path;
	struct cli_parse p;
	struct model *m;
	bool path_only = false, recipes = false;
	int id;

	cli_parse_start(&p, &command_info, argc, argv);
	while ((id = cli_next(&p)) > 0)
		if (id == OPT_PATH)
			path_only = true;
		else if (id == OPT_RECIPES)
			recipes = true;
	if (id < 0)
		return p.exit;
	if (argc - p.operands > 1)
		return cli_usage_error(&p, "one model at most");
	if (recipes)
		return p.operands < argc || path_only ?
		       cli_usage_error(&p, "--recipes takes no model and no --path") :
		       print_recipes();
	path = p.operands < argc ? argv[p.operands] : model_default_path();
	if (path_only) {
		puts(path);
		return 0;
	}
	if (model_load(path, &m, err, sizeof(err)))
		return cli_fail("%s", err);
	c = model_config(m);
	window_start_format(&c->window_start, start, sizeof(start));
	printf("path %s\narch %s\nwindow %d\nwindow_start %s\ntransform %s\nmembers %d\n"
	       "temperature %g\nmodel_id %u\nclasses", path, model_arch_name(c->arch), c->window,
	       start, c->transform, c->members, c->temperature, c->model_id);
	for (int k = 0; k < c->num_classes; k++)
		printf(" %s", c->class_names[k]);
	printf("\nunknown %s", model_unknown_name(c->unknown));
	if (c->unknown != UNKNOWN_NONE)
		printf(" %g", c->unknown_threshold);
	putchar('\n');
	model_free(m);
	return 0;
}
