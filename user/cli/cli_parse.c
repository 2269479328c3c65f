/* SPDX-License-Identifier: MIT */
/* getopt_long's tables made from a command's option tables, and the values
 * of its options. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/log.h"

/* getopt's value of an option without a letter: above every char */
#define LONG_ONLY_BASE 0x100

const struct cli_option cli_help_option = {
	.id = -1, .name = "help", .short_name = 'h', .help = "print this help and exit",
};

static void add_option(struct cli_parse *p, const struct cli_option *o)
{
	int i = p->count++;
	size_t n = strlen(p->shortopts);

	if (i >= CLI_MAX_OPTIONS)
		abort(); /* a command declares more than CLI_MAX_OPTIONS options */
	p->flat[i] = o;
	p->longopts[i] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL,
					  o->short_name ? o->short_name : LONG_ONLY_BASE + i };
	if (o->short_name) {
		p->shortopts[n++] = o->short_name;
		if (o->arg)
			p->shortopts[n++] = ':';
	}
}

void cli_parse_start(struct cli_parse *p, const struct cli_command *cmd, int argc, char **argv)
{
	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	snprintf(p->prefix, sizeof(p->prefix), "odeflow %s", cmd->name);
	log_set_name(p->prefix);
	for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
		for (const struct cli_option *o = cmd->groups[g].options; o->id; o++)
			add_option(p, o);
	add_option(p, &cli_help_option);
	optind = 0; /* glibc: start afresh, whatever an earlier parse left */
}

static int stop(struct cli_parse *p, int exit_status)
{
	p->exit = exit_status;
	return -1;
}

static int option_index(const struct cli_parse *p, int val)
{
	if (val >= LONG_ONLY_BASE)
		return val - LONG_ONLY_BASE;
	for (int i = 0; i < p->count; i++)
		if (p->flat[i]->short_name == val)
			return i;
	return -1;
}

/* The end of the options: every required one given, no operand the
 * command does not take. */
static int finish(struct cli_parse *p)
{
	p->operands = optind;
	for (int i = 0; i < p->count; i++)
		if (p->flat[i]->required && !p->seen[i])
			return stop(p, cli_usage_error(p, "--%s is required", p->flat[i]->name));
	if (!p->cmd->operands[0] && optind < p->argc)
		return stop(p, cli_usage_error(p, "unexpected argument '%s'", p->argv[optind]));
	return 0;
}

int cli_next(struct cli_parse *p)
{
	char *argv0 = p->argv[0];
	int val, i;

	if (p->failed)
		return stop(p, CLI_EXIT_USAGE);
	p->argv[0] = p->prefix; /* getopt's own messages start with it */
	val = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, NULL);
	p->argv[0] = argv0;
	if (val == -1)
		return finish(p);
	i = option_index(p, val);
	if (i < 0) { /* getopt has said what is wrong */
		cli_usage(stderr, p->cmd);
		return stop(p, CLI_EXIT_USAGE);
	}
	p->opt = p->flat[i];
	p->arg = optarg;
	p->seen[i] = true;
	if (p->opt == &cli_help_option) {
		cli_help(stdout, p->cmd);
		return stop(p, 0);
	}
	return p->opt->id;
}

int cli_bad_value(struct cli_parse *p, const char *what)
{
	if (strlen(p->arg) > CLI_ARG_SHOWN) /* the line stays one line, and says what is wrong */
		log_line(LOG_LEVEL_ERR, "--%s '%.*s...' (%zu characters) is not %s", p->opt->name,
			 CLI_ARG_SHOWN, p->arg, strlen(p->arg), what);
	else
		log_line(LOG_LEVEL_ERR, "--%s '%s' is not %s", p->opt->name, p->arg, what);
	p->failed = true;
	return -1;
}

int cli_strtol(const char *arg, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_long(struct cli_parse *p, long min, long max, long *out)
{
	char what[96];

	if (!cli_strtol(p->arg, min, max, out))
		return 0;
	snprintf(what, sizeof(what), "a whole number from %ld to %ld", min, max);
	return cli_bad_value(p, what);
}

int cli_int(struct cli_parse *p, int min, int max, int *out)
{
	long v;

	if (cli_long(p, min, max, &v))
		return -1;
	*out = (int)v;
	return 0;
}

int cli_u64(struct cli_parse *p, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(p->arg, &end, 10);
	if (errno || end == p->arg || *end || p->arg[0] == '-')
		return cli_bad_value(p, "a non-negative whole number");
	*out = v;
	return 0;
}

int cli_double(struct cli_parse *p, double min, double max, bool exclusive, double *out)
{
	char *end, what[96];
	double v;

	errno = 0;
	v = strtod(p->arg, &end);
	if (errno || end == p->arg || *end || !isfinite(v) ||
	    (exclusive ? v <= min || v >= max : v < min || v > max)) {
		snprintf(what, sizeof(what), "a number %s %g %s %g",
			 exclusive ? "strictly between" : "from", min, exclusive ? "and" : "to",
			 max);
		return cli_bad_value(p, what);
	}
	*out = v;
	return 0;
}

int cli_duration(struct cli_parse *p, double min_s, double max_s, double *out)
{
	static const struct { char unit; double seconds; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char *end, what[96];
	double v, scale = 1;

	errno = 0;
	v = strtod(p->arg, &end);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && end != p->arg; i++)
		if (*end == units[i].unit && !end[1]) {
			scale = units[i].seconds;
			end++;
		}
	v *= scale;
	if (errno || end == p->arg || *end || !isfinite(v) || v < min_s || v > max_s) {
		snprintf(what, sizeof(what), "a duration from %gs to %gs (a number and s, m, h or d)",
			 min_s, max_s);
		return cli_bad_value(p, what);
	}
	*out = v;
	return 0;
}

int cli_choice(struct cli_parse *p, int *out)
{
	char what[256];
	size_t n = 0;
	const char *name, *about;
	int i;

	for (i = 0; (name = p->opt->choice(i, &about)); i++)
		if (!strcmp(p->arg, name))
			return *out = i, 0;
	for (int k = 0; k < i && n < sizeof(what); k++)
		n += (size_t)snprintf(what + n, sizeof(what) - n, "%s%s",
				      k == 0 ? "" : k == i - 1 ? " or " : ", ",
				      p->opt->choice(k, &about));
	return cli_bad_value(p, what);
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	return CLI_EXIT_FAILURE;
}

int cli_usage_error(const struct cli_parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_LEVEL_ERR, fmt, ap);
	va_end(ap);
	cli_usage(stderr, p->cmd);
	return CLI_EXIT_USAGE;
}
