/* SPDX-License-Identifier: MIT */
/* odeflow: dispatch to the subcommand named by argv[1]. */
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "commands.inc" /* declares cmd_NAME for every subcommand */

#undef ODEFLOW_COMMAND
#define ODEFLOW_COMMAND(name, summary) { #name, summary, cmd_##name },

struct command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
#include "commands.inc"
	{ NULL, NULL, NULL },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: odeflow COMMAND [OPTIONS]\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "\n'odeflow COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "odeflow: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
