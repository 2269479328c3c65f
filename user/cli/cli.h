/* SPDX-License-Identifier: MIT */
/* A command's command line, read from its option tables (command.h):
 *
 *     struct cli_parse p;
 *     int id;
 *
 *     cli_parse_start(&p, &command_NAME, argc, argv);
 *     while ((id = cli_next(&p)) > 0)
 *             switch (id) {
 *             case OPT_MODEL: path = p.arg; break;
 *             case OPT_SKIP: cli_int(&p, 0, 10, &skip); break;
 *             }
 *     if (id < 0)
 *             return p.exit;
 *     ... operands are argv[p.operands] to argv[argc - 1] ...
 *
 * Every message reads "odeflow NAME: what failed: why": cli_parse_start
 * names the command to log_line (common/log.h), through which cli_fail
 * and cli_usage_error write. */
#ifndef ODEFLOW_CLI_H
#define ODEFLOW_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "command.h"

#define CLI_MAX_OPTIONS 64
#define CLI_EXIT_FAILURE 1      /* the command failed */
#define CLI_EXIT_USAGE 2        /* its command line is wrong */
#define CLI_ARG_SHOWN 64        /* characters of a bad value an error quotes */

struct cli_parse {
	const struct cli_command *cmd;
	int argc;
	char **argv;
	const struct cli_option *opt;   /* the option cli_next returned last */
	const char *arg;                /* its argument (NULL for a flag) */
	int exit;                       /* when cli_next returned -1: 0 or CLI_EXIT_USAGE */
	int operands;                   /* when it returned 0: argv index of the first operand */
	bool failed;                    /* a value did not parse: said, stop */
	char prefix[48];                /* "odeflow NAME" */
	int count;
	const struct cli_option *flat[CLI_MAX_OPTIONS];
	bool seen[CLI_MAX_OPTIONS];
	struct option longopts[CLI_MAX_OPTIONS + 2];
	char shortopts[2 * CLI_MAX_OPTIONS + 4];
};

void cli_parse_start(struct cli_parse *p, const struct cli_command *cmd, int argc, char **argv);
/* The id of the next option, its argument in p->arg; 0 at the end of the
 * options, every required one given; -1 when the command is done, p->exit
 * its exit status: --help printed the help (0), or a wrong option, a
 * missing one or a value that did not parse was said (CLI_EXIT_USAGE). */
int cli_next(struct cli_parse *p);

/* A whole number from min to max, all of arg: 0, else -1 (nothing said). */
int cli_strtol(const char *arg, long min, long max, long *out);
/* The argument of the option cli_next returned, as a number in range or
 * one of the option's choices: 0; otherwise -1, after saying
 * "odeflow NAME: --OPT 'ARG' is not ..." (the next cli_next returns -1). */
int cli_long(struct cli_parse *p, long min, long max, long *out);
int cli_int(struct cli_parse *p, int min, int max, int *out);
int cli_u64(struct cli_parse *p, uint64_t *out);
/* min < value < max when exclusive, else min <= value <= max. */
int cli_double(struct cli_parse *p, double min, double max, bool exclusive, double *out);
/* A duration, "90", "90s", "5m", "2h" or "1d", in seconds from min_s to max_s. */
int cli_duration(struct cli_parse *p, double min_s, double max_s, double *out);
/* The index of the argument among the option's choices. */
int cli_choice(struct cli_parse *p, int *out);
/* Any other value it refuses: "--OPT 'ARG' is not WHAT". Returns -1. */
int cli_bad_value(struct cli_parse *p, const char *what);

/* One line, "odeflow NAME: " and the message, on standard error (an error
 * in the journal). Returns CLI_EXIT_FAILURE, the command's exit status. */
__attribute__((format(printf, 1, 2)))
int cli_fail(const char *fmt, ...);
/* The same for a command line that is wrong, followed by the usage lines.
 * Returns CLI_EXIT_USAGE. */
__attribute__((format(printf, 2, 3)))
int cli_usage_error(const struct cli_parse *p, const char *fmt, ...);

/* The command's usage lines, and its whole help (usage, description,
 * options), as --help prints it. */
void cli_usage(FILE *out, const struct cli_command *cmd);
void cli_help(FILE *out, const struct cli_command *cmd);
/* An option's help as --help (man false) or the manual page says it: the
 * sentence, its choices and its default. */
void cli_option_text(const struct cli_option *o, bool man, char *buf, size_t len);
/* The manual page of a command, or (cmd NULL) of odeflow, in roff. */
void cli_man_page(FILE *out, const struct cli_command *cmd);

/* Defines `static const char *FN(int i, const char **about)`, an option's
 * choice function (command.h), over a list of { "name", "about" or NULL }. */
#define CLI_CHOICES(FN, ...)                                                               \
	static const char *FN(int i, const char **about)                                   \
	{                                                                                  \
		static const char *const list[][2] = { __VA_ARGS__ };                      \
                                                                                           \
		if (i < 0 || i >= (int)(sizeof(list) / sizeof(list[0])))                  \
			return NULL;                                                       \
		*about = list[i][1];                                                       \
		return list[i][0];                                                         \
	}

/* --help itself, which every command takes. */
extern const struct cli_option cli_help_option;

#endif
