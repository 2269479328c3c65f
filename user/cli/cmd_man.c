/* SPDX-License-Identifier: MIT */
/* odeflow man: the manual pages, in roff, from the commands' tables. */
#include <string.h>

#include "cli.h"

enum { OPT_LIST = 1 };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_LIST, "list", 0, NULL,
		   "print the name and section of every page, one a line"),
	{ 0 },
};

ODEFLOW_COMMAND(man,
	.summary = "print the manual page of odeflow or of a command (roff, for man -l -)",
	.description = "Prints the manual page of COMMAND, or without one that of odeflow "
		       "itself, in roff: `odeflow man run | man -l -` shows it. make install "
		       "installs every page, so that `man odeflow-run` works.",
	.operands = { "[COMMAND]" },
	.groups = { { NULL, options } });

static void list(void)
{
	printf("odeflow 1\n");
	for (const struct cli_command *const *c = cli_commands; *c; c++)
		printf("odeflow-%s %d\n", (*c)->name, (*c)->section ? (*c)->section : 1);
}

int cmd_man(int argc, char **argv)
{
	struct cli_parse p;
	bool list_pages = false;
	int id;

	cli_parse_start(&p, &command_man, argc, argv);
	while ((id = cli_next(&p)) > 0)
		if (id == OPT_LIST)
			list_pages = true;
	if (id < 0)
		return p.exit;
	if (argc - p.operands > 1)
		return cli_usage_error(&p, "one command at most");
	if (list_pages) {
		list();
		return 0;
	}
	if (p.operands == argc) {
		cli_man_page(stdout, NULL);
		return 0;
	}
	for (const struct cli_command *const *c = cli_commands; *c; c++)
		if (!strcmp((*c)->name, argv[p.operands])) {
			cli_man_page(stdout, *c);
			return 0;
		}
	return cli_usage_error(&p, "no command '%s'", argv[p.operands]);
}
