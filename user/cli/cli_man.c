/* SPDX-License-Identifier: MIT */
/* Manual pages in roff (man(7)), from the same tables as --help. */
#include <string.h>

#include "build_config.h"
#include "cli.h"

#define PROGRAM_SUMMARY "classify encrypted traffic on a Linux interface with XDP and a Neural ODE"
#define PROGRAM_DESCRIPTION                                                                    \
	"odeflow samples the first packets of every flow on an interface with an XDP program, "  \
	"classifies their sizes and arrival times with a small neural network in user space, " \
	"and enforces a policy per class (pass, drop, mark, rate-limit) in the kernel. Its "    \
	"commands also train and evaluate models on captures, and watch a running agent."

static int section(const struct cli_command *cmd)
{
	return cmd->section ? cmd->section : 1;
}

/* Text as roff prints it: no request at the start of a line, no escape
 * taken for one, minus signs for dashes (options stay searchable). */
static void roff(FILE *out, const char *text)
{
	if (*text == '.' || *text == '\'')
		fputs("\\&", out);
	for (; *text; text++)
		if (*text == '\\')
			fputs("\\e", out);
		else if (*text == '-')
			fputs("\\-", out);
		else
			fputc(*text, out);
}

static void header(FILE *out, const char *page, int sec, const char *summary)
{
	char upper[64];
	size_t i;

	for (i = 0; page[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)(page[i] >= 'a' && page[i] <= 'z' ? page[i] - 'a' + 'A' : page[i]);
	upper[i] = '\0';
	fprintf(out, ".TH ");
	roff(out, upper);
	/* .nh: option names and paths are not hyphenated */
	fprintf(out, " %d \"\" \"odeflow %s\" \"odeflow manual\"\n.nh\n.SH NAME\n", sec,
		ODEFLOW_VERSION);
	roff(out, page);
	fprintf(out, " \\- ");
	roff(out, summary);
	fputc('\n', out);
}

static void paragraphs(FILE *out, const char *text)
{
	while (*text) {
		size_t len = strcspn(text, "\n");
		char line[2048];

		snprintf(line, sizeof(line), "%.*s", (int)len, text);
		roff(out, line);
		fputc('\n', out);
		text += len;
		if (*text && *++text)
			fprintf(out, ".PP\n");
	}
}

static void synopsis(FILE *out, const struct cli_command *cmd)
{
	fprintf(out, ".SH SYNOPSIS\n");
	for (int form = 0; form == 0 || (form < CLI_MAX_OPERANDS && cmd->operands[form]); form++) {
		fprintf(out, "%s.B odeflow %s\n", form ? ".br\n" : "", cmd->name);
		for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
			for (const struct cli_option *o = cmd->groups[g].options; o->id; o++)
				if (o->required) {
					fprintf(out, ".BI \"\\-\\-");
					roff(out, o->name);
					fprintf(out, " \" %s\n", o->arg);
				}
		fprintf(out, "[options]");
		if (cmd->operands[form]) {
			fputc(' ', out);
			roff(out, cmd->operands[form]);
		}
		fputc('\n', out);
	}
}

static void option(FILE *out, const struct cli_option *o)
{
	char text[1024];

	fprintf(out, ".TP\n");
	if (o->short_name)
		fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
	fprintf(out, "\\fB\\-\\-");
	roff(out, o->name);
	fprintf(out, "\\fR");
	if (o->arg) {
		fprintf(out, " \\fI");
		roff(out, o->arg);
		fprintf(out, "\\fR");
	}
	fputc('\n', out);
	cli_option_text(o, true, text, sizeof(text));
	roff(out, text);
	fputc('\n', out);
}

static void command_page(FILE *out, const struct cli_command *cmd)
{
	char page[64];

	snprintf(page, sizeof(page), "odeflow-%s", cmd->name);
	header(out, page, section(cmd), cmd->summary);
	synopsis(out, cmd);
	fprintf(out, ".SH DESCRIPTION\n");
	paragraphs(out, cmd->description ? cmd->description : cmd->summary);
	fprintf(out, ".SH OPTIONS\n");
	for (const struct cli_option *o = cmd->groups[0].options; o && o->id; o++)
		option(out, o);
	option(out, &cli_help_option);
	for (int g = 1; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++) {
		fprintf(out, ".SS \"");
		roff(out, cmd->groups[g].title);
		fprintf(out, "\"\n");
		for (const struct cli_option *o = cmd->groups[g].options; o->id; o++)
			option(out, o);
	}
	fprintf(out, ".SH EXIT STATUS\n"
		     "0 when the command did its work, 1 when it failed (a line on standard error "
		     "says why), 2 when its command line is wrong.\n"
		     ".SH SEE ALSO\n.BR odeflow (1)\n");
}

static void program_page(FILE *out)
{
	header(out, "odeflow", 1, PROGRAM_SUMMARY);
	fprintf(out, ".SH SYNOPSIS\n.B odeflow\n.I COMMAND\n[options]\n.SH DESCRIPTION\n");
	paragraphs(out, PROGRAM_DESCRIPTION);
	fprintf(out, ".SH COMMANDS\n");
	for (const struct cli_command *const *c = cli_commands; *c; c++) {
		fprintf(out, ".TP\n.B %s\n", (*c)->name);
		roff(out, (*c)->summary);
		fputc('\n', out);
	}
	fprintf(out, ".PP\n\\fBodeflow \\fICOMMAND\\fB \\-\\-help\\fR lists a command's options.\n"
		     ".SH FILES\n.TP\n.I ");
	roff(out, ODEFLOW_SHARE_DIR "/models");
	fprintf(out, "\nThe shipped models and class maps, where the commands find them when no "
		     "models folder is beside the binary or in the working directory.\n"
		     ".SH SEE ALSO\n");
	for (const struct cli_command *const *c = cli_commands; *c; c++)
		fprintf(out, ".BR odeflow\\-%s (%d)%s\n", (*c)->name, section(*c), c[1] ? "," : "");
}

void cli_man_page(FILE *out, const struct cli_command *cmd)
{
	if (cmd)
		command_page(out, cmd);
	else
		program_page(out);
}
