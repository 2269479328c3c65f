/* SPDX-License-Identifier: MIT */
/* A command of `odeflow`, declared once: its name, summary, description and
 * option tables, from which come its getopt tables (cli_parse.c), its
 * --help text (cli_help.c) and its manual page (cli_man.c).
 *
 * A command is a function `int cmd_NAME(int argc, char **argv)` in
 * user/cli/cmd_NAME.c (argv[0] is the command's name; it returns the exit
 * status), registered by a declaration that starts a line:
 *
 *     static const struct cli_option options[] = {
 *             CLI_OPTION(OPT_MODEL, "model", 'm', "FILE", "the model to load"),
 *             { 0 },
 *     };
 *     ODEFLOW_COMMAND(NAME, .summary = "one line", .description = "a paragraph",
 *                     .groups = { { NULL, options } });
 *
 * The Makefile collects the names of those lines into build/commands.inc,
 * from which commands.c makes the table of every command. */
#ifndef ODEFLOW_COMMAND_H
#define ODEFLOW_COMMAND_H

#include <stdbool.h>

#define CLI_MAX_GROUPS 4
#define CLI_MAX_OPERANDS 3

/* One option. id is what cli_next returns for it: a value of the
 * command's own enum, above 0 and unique among the command's options. */
struct cli_option {
	int id;
	const char *name;       /* the long name, without "--" */
	char short_name;        /* its letter, or 0 for none */
	const char *arg;        /* the argument's placeholder ("FILE"), or NULL: a flag */
	const char *help;       /* what it does, as a sentence without a final period */
	const char *(*help_fn)(void); /* or one known only at run time */
	const char *def;        /* the default, as the help shows it, or NULL */
	/* A default known only at run time (where the shipped model is), which
	 * --help shows; the manual page, which describes the installed
	 * program, shows def when there is one. */
	const char *(*def_fn)(void);
	/* The values it accepts, listed after the help: the i-th, with what it
	 * is (*about, may be NULL); NULL after the last. */
	const char *(*choice)(int i, const char **about);
	bool required;          /* the synopsis shows it; cli_next checks it is given */
};

struct cli_option_group {
	const char *title;      /* of a further group; the first holds the command's own */
	const struct cli_option *options;  /* ended by an entry with id 0 */
};

struct cli_command {
	const char *name;
	const char *summary;    /* one line: `odeflow --help` and the man page's NAME */
	const char *description; /* paragraphs (a blank line between): --help and DESCRIPTION */
	/* What follows the options in a usage line (NULL: nothing may), one
	 * per form of the command: "IN.pcap...". */
	const char *operands[CLI_MAX_OPERANDS];
	int section;            /* of the manual page: 8 for what needs root; 0: 1 */
	struct cli_option_group groups[CLI_MAX_GROUPS];
	int (*run)(int argc, char **argv);
};

/* A number's #define as text, for a help line ("at most " CLI_STR(MAX)):
 * only for a define that is a plain number. */
#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)

/* An entry of an option table: CLI_OPTION(OPT_MODEL, "model", 'm', "FILE",
 * "the model to load", .def = "x.safetensors"). */
#define CLI_OPTION(ID, NAME, SHORT, ARG, HELP, ...)                                        \
	{ .id = (ID), .name = (NAME), .short_name = (SHORT), .arg = (ARG), .help = (HELP), \
	  __VA_ARGS__ }

#define ODEFLOW_COMMAND(NAME, ...)                                                         \
	int cmd_##NAME(int argc, char **argv);                                             \
	const struct cli_command command_##NAME = { .name = #NAME, .run = cmd_##NAME,      \
						    __VA_ARGS__ }

/* Every command, in the order of the Makefile's list; NULL after the last. */
extern const struct cli_command *const cli_commands[];

#endif
