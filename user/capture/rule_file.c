// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "common/errmsg.h"
#include "rule_file.h"

int rule_file_lines(const char *text, size_t len, const char *name,
		    int (*line_fn)(char *line, int lineno, void *ctx), void *ctx,
		    char *err, size_t errlen)
{
	char *copy, *line, *next;
	int lineno = 1, rc = 0;

	if (memchr(text, 0, len))
		return errmsg(err, errlen, "%s: contains a NUL byte: not a text file", name);
	copy = malloc(len + 1);
	if (!copy)
		return errmsg(err, errlen, "%s: out of memory", name);
	memcpy(copy, text, len);
	copy[len] = 0;
	for (line = copy; !rc && line; line = next, lineno++) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		rc = line_fn(line, lineno, ctx);
	}
	free(copy);
	return rc;
}
