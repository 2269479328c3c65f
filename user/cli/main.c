/* SPDX-License-Identifier: MIT */
/* odeflow: dispatch to the command named by argv[1]. */
#include <stdio.h>
#include <string.h>

#include "build_config.h"
#include "command.h"
#include "common/log.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: odeflow COMMAND [OPTIONS]\n\ncommands:\n");
	for (const struct cli_command *const *c = cli_commands; *c; c++)
		fprintf(out, "  %-12s %s\n", (*c)->name, (*c)->summary);
	fprintf(out, "\n'odeflow COMMAND --help' describes a command's options, "
		     "'odeflow man COMMAND' prints its manual page, 'odeflow --version' the "
		     "build.\n");
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
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("odeflow %s\n", ODEFLOW_VERSION);
		return 0;
	}
	for (const struct cli_command *const *c = cli_commands; *c; c++)
		if (!strcmp(argv[1], (*c)->name))
			return (*c)->run(argc - 1, argv + 1);
	log_line(LOG_LEVEL_ERR, "unknown command '%s'", argv[1]);
	usage(stderr);
	return 2;
}
