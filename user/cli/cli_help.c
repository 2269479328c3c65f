/* SPDX-License-Identifier: MIT */
/* A command's usage lines and --help text, from its tables. */
#include <string.h>

#include "cli.h"

#define HELP_WIDTH 79        /* columns of a help line */
#define HELP_MAX_INDENT 26   /* where option help starts, at most */

void cli_option_text(const struct cli_option *o, bool man, char *buf, size_t len)
{
	const char *name, *about, *def = o->def_fn && !(man && o->def) ? o->def_fn() : o->def;
	size_t n = (size_t)snprintf(buf, len, "%s", o->help_fn ? o->help_fn() : o->help);

	for (int i = 0; o->choice && (name = o->choice(i, &about)) && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s%s%s%s",
				      i == 0 ? ": " : o->choice(i + 1, &(const char *){ NULL }) ?
				      ", " : " or ", name, about ? " (" : "", about ? about : "",
				      about ? ")" : "");
	if (def && n < len)
		n += (size_t)snprintf(buf + n, len - n, " (default: %s)", def);
	if (o->required && n < len)
		snprintf(buf + n, len - n, " (required)");
}

/* Prints text from column `at`, broken between words before HELP_WIDTH,
 * each further line indented to `indent`. */
static void wrap(FILE *out, const char *text, int at, int indent)
{
	while (*text) {
		int room = HELP_WIDTH - at, len = (int)strlen(text), cut = len;

		if (len > room) {
			for (cut = room; cut > 0 && text[cut] != ' '; cut--)
				;
			if (cut == 0) /* a word longer than the line */
				cut = (int)strcspn(text, " ");
		}
		fprintf(out, "%.*s\n", cut, text);
		text += cut;
		while (*text == ' ')
			text++;
		if (*text)
			fprintf(out, "%*s", indent, "");
		at = indent;
	}
}

/* "  -m, --model FILE" */
static int option_left(const struct cli_option *o, char *buf, size_t len)
{
	char letter[8] = "    ";

	if (o->short_name)
		snprintf(letter, sizeof(letter), "-%c, ", o->short_name);
	return snprintf(buf, len, "  %s--%s%s%s", letter, o->name, o->arg ? " " : "",
			o->arg ? o->arg : "");
}

static void print_option(FILE *out, const struct cli_option *o, int indent)
{
	char left[128], text[1024];
	int n = option_left(o, left, sizeof(left));

	cli_option_text(o, false, text, sizeof(text));
	if (n + 2 > indent)
		fprintf(out, "%s\n%*s", left, indent, "");
	else
		fprintf(out, "%-*s", indent, left);
	wrap(out, text, indent, indent);
}

void cli_usage(FILE *out, const struct cli_command *cmd)
{
	for (int form = 0; form == 0 || (form < CLI_MAX_OPERANDS && cmd->operands[form]); form++) {
		fprintf(out, "%s odeflow %s", form ? "      " : "usage:", cmd->name);
		for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
			for (const struct cli_option *o = cmd->groups[g].options; o->id; o++)
				if (o->required)
					fprintf(out, " --%s %s", o->name, o->arg);
		fprintf(out, " [options]%s%s\n", cmd->operands[form] ? " " : "",
			cmd->operands[form] ? cmd->operands[form] : "");
	}
}

void cli_help(FILE *out, const struct cli_command *cmd)
{
	const char *para = cmd->description;
	int indent = 0;
	char left[128];

	for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
		for (const struct cli_option *o = cmd->groups[g].options; o->id; o++) {
			int n = option_left(o, left, sizeof(left)) + 2;

			if (n > indent && n <= HELP_MAX_INDENT)
				indent = n;
		}
	cli_usage(out, cmd);
	while (para && *para) { /* paragraphs: lines of the description */
		size_t len = strcspn(para, "\n");
		char line[2048];

		snprintf(line, sizeof(line), "%.*s", (int)len, para);
		wrap(out, line, 0, 0);
		para += len + (para[len] == '\n');
	}
	if (!indent)
		indent = HELP_MAX_INDENT;
	fprintf(out, "\noptions:\n");
	for (const struct cli_option *o = cmd->groups[0].options; o && o->id; o++)
		print_option(out, o, indent);
	print_option(out, &cli_help_option, indent);
	for (int g = 1; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++) {
		fprintf(out, "\n%s:\n", cmd->groups[g].title);
		for (const struct cli_option *o = cmd->groups[g].options; o->id; o++)
			print_option(out, o, indent);
	}
}
