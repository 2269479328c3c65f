/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/errmsg.h"
#include "common/file_read.h"
#include "run_config.h"

static const struct cli_option *option_named(const struct cli_command *cmd, const char *name)
{
	for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
		for (const struct cli_option *o = cmd->groups[g].options; o->id; o++)
			if (!strcmp(o->name, name))
				return o;
	return NULL;
}

/* Appends the options of one file to the list (grown as needed). */
static int read_file(const struct cli_command *cmd, const char *config_option, const char *path,
		     char ***list, int *n, int *cap, char *err, size_t errlen)
{
	bool optional = path[0] == '-' && path[1] == '/';
	uint8_t *buf;
	size_t len;
	char why[ERRMSG_LEN];
	int line_no = 0;

	if (optional)
		path++;
	if (file_read_regular(path, RUN_CONFIG_MAX_BYTES, &buf, &len, why, sizeof(why))) {
		if (optional && access(path, F_OK) != 0)
			return 0;
		return errmsg(err, errlen, "%s", why);
	}
	for (char *line = (char *)buf, *next; line && *line; line = next) {
		char *name, *value, *end;
		const struct cli_option *o;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line_no++;
		if (strchr(line, '#'))
			*strchr(line, '#') = '\0';
		end = line + strlen(line);
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		for (name = line; isspace((unsigned char)*name); name++)
			;
		if (!*name)
			continue;
		for (value = name; *value && !isspace((unsigned char)*value); value++)
			;
		if (*value)
			*value++ = '\0';
		while (isspace((unsigned char)*value))
			value++;
		o = option_named(cmd, name);
		if (!o || !strcmp(name, config_option)) {
			free(buf);
			return errmsg(err, errlen, "%s:%d: no option '%s' here (odeflow %s --help lists "
				      "them)", path, line_no, name, cmd->name);
		}
		if (!o->arg != !*value) {
			free(buf);
			return errmsg(err, errlen, "%s:%d: %s %s", path, line_no, name,
				      o->arg ? "needs a value" : "takes no value");
		}
		if (*n + 2 >= *cap) {
			*cap = *cap * 2 + 16;
			*list = realloc(*list, (size_t)*cap * sizeof(**list));
			if (!*list) {
				free(buf);
				return errmsg(err, errlen, "out of memory");
			}
		}
		if (asprintf(&(*list)[(*n)++], "--%s", name) < 0 ||
		    (o->arg && !((*list)[(*n)++] = strdup(value)))) {
			free(buf);
			return errmsg(err, errlen, "out of memory");
		}
	}
	free(buf); /* the strings were copied */
	return 0;
}

/* The expanded argv, kept reachable: the options parsed from it point into
 * it for as long as the process runs (a leak checker sees it in use). */
static char **expanded;

int run_config_expand(const struct cli_command *cmd, const char *config_option, int argc,
		      char **argv, int *out_argc, char ***out, char *err, size_t errlen)
{
	char flag[64];
	char **list = NULL;
	int n = 0, cap = 0;

	snprintf(flag, sizeof(flag), "--%s", config_option);
	for (int i = 0; i < argc; i++) {
		const char *path = NULL;

		if (!strcmp(argv[i], flag) && i + 1 < argc)
			path = argv[++i];
		else if (!strncmp(argv[i], flag, strlen(flag)) && argv[i][strlen(flag)] == '=')
			path = argv[i] + strlen(flag) + 1;
		if (!strcmp(argv[i], "--"))
			path = NULL; /* operands follow: left as they are */
		if (path) {
			if (read_file(cmd, config_option, path, &list, &n, &cap, err, errlen))
				return -1;
			continue;
		}
		if (n + 2 >= cap) {
			cap = cap * 2 + 16;
			list = realloc(list, (size_t)cap * sizeof(*list));
			if (!list)
				return errmsg(err, errlen, "out of memory");
		}
		list[n++] = argv[i];
	}
	list[n] = NULL;
	expanded = list;
	*out = list;
	*out_argc = n;
	return 0;
}

/* text as comment lines of at most 78 columns */
static void comment(FILE *out, const char *text)
{
	while (*text) {
		int len = (int)strlen(text), cut = len;

		if (len > 76) {
			for (cut = 76; cut > 0 && text[cut] != ' '; cut--)
				;
			if (cut == 0)
				cut = (int)strcspn(text, " ");
		}
		fprintf(out, "# %.*s\n", cut, text);
		text += cut;
		while (*text == ' ')
			text++;
	}
}

void run_config_template(FILE *out, const struct cli_command *cmd, const char *skip_a,
			 const char *skip_b)
{
	char text[1024];

	fprintf(out, "# odeflow %s options, one a line: NAME VALUE (or NAME alone for a switch),\n"
		     "# as `odeflow %s --NAME VALUE` takes them; '#' starts a comment.\n"
		     "# odeflow@IF.service reads this file, then odeflow-IF.conf beside it;\n"
		     "# what comes later wins. `odeflow man %s` says more.\n",
		cmd->name, cmd->name, cmd->name);
	for (int g = 0; g < CLI_MAX_GROUPS && cmd->groups[g].options; g++)
		for (const struct cli_option *o = cmd->groups[g].options; o->id; o++) {
			if ((skip_a && !strcmp(o->name, skip_a)) || (skip_b && !strcmp(o->name, skip_b)))
				continue;
			cli_option_text(o, true, text, sizeof(text));
			fputc('\n', out);
			comment(out, text);
			fprintf(out, "#%s%s%s\n", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		}
}
