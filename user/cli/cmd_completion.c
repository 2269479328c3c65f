/* SPDX-License-Identifier: MIT */
/* odeflow completion: a bash completion script, made from the commands'
 * option tables (command.h), so it knows every command, option and choice
 * of this build. make install puts it where bash-completion finds it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

ODEFLOW_COMMAND(completion,
	.summary = "print the bash completion script",
	.description = "Prints a bash completion script for odeflow, made from the option "
		       "tables of this build: commands, their options, the values of options "
		       "that take a fixed set, interface names for --iface, file names "
		       "elsewhere. make install installs it (share/bash-completion/completions/"
		       "odeflow); `source <(odeflow completion)` loads it into a shell.",
	.groups = { { NULL, NULL } });

/* The words of an option: --name and -x. */
static void option_words(const struct cli_option *o)
{
	printf(" --%s", o->name);
	if (o->short_name)
		printf(" -%c", o->short_name);
}

static void command_case(const struct cli_command *c)
{
	const char *about;

	printf("\t%s)\n\t\tcase $prev in\n", c->name);
	for (int g = 0; g < CLI_MAX_GROUPS; g++)
		for (const struct cli_option *o = c->groups[g].options; o && o->id; o++) {
			if (!o->arg)
				continue;
			printf("\t\t--%s", o->name);
			if (o->short_name)
				printf("|-%c", o->short_name);
			if (o->choice) {
				printf(") COMPREPLY=($(compgen -W '");
				for (int i = 0; o->choice(i, &about); i++)
					printf("%s%s", i ? " " : "", o->choice(i, &about));
				printf("' -- \"$cur\")); return;;\n");
			} else if (!strcmp(o->arg, "IF")) {
				printf(") COMPREPLY=($(compgen -W \"$(ls /sys/class/net 2>/dev/null)\" -- "
				       "\"$cur\")); return;;\n");
			} else {
				printf(") COMPREPLY=($(compgen -f -- \"$cur\")); return;;\n");
			}
		}
	printf("\t\tesac\n\t\topts='--help");
	for (int g = 0; g < CLI_MAX_GROUPS; g++)
		for (const struct cli_option *o = c->groups[g].options; o && o->id; o++)
			option_words(o);
	printf("';;\n");
}

int cmd_completion(int argc, char **argv)
{
	struct cli_parse p;
	int id;

	cli_parse_start(&p, &command_completion, argc, argv);
	while ((id = cli_next(&p)) > 0)
		;
	if (id < 0)
		return p.exit;
	if (p.operands != argc)
		return cli_usage_error(&p, "takes no operands");
	printf("# bash completion for odeflow (odeflow completion; made from its option tables)\n"
	       "_odeflow() {\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} opts\n"
	       "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W '--help --version");
	for (const struct cli_command *const *c = cli_commands; *c; c++)
		printf(" %s", (*c)->name);
	printf("' -- \"$cur\")); return\n\tfi\n\tcase ${COMP_WORDS[1]} in\n");
	for (const struct cli_command *const *c = cli_commands; *c; c++)
		command_case(*c);
	printf("\t*) return;;\n\tesac\n"
	       "\tif [[ $cur == -* ]]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	       "\telse\n"
	       "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	       "\tfi\n"
	       "}\n"
	       "complete -o filenames -F _odeflow odeflow\n");
	return 0;
}
