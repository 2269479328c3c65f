// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errmsg.h"
#include "rule_file.h"

int rule_file_read(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb"), *mem;
	char buf[4096];
	size_t n;
	int rc = 0;

	if (!f)
		return errmsg(err, errlen, "%s: %s", path, strerror(errno));
	*text = NULL;
	mem = open_memstream(text, len);
	if (!mem) {
		fclose(f);
		return errmsg(err, errlen, "%s: out of memory", path);
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	if (ferror(f))
		rc = errmsg(err, errlen, "%s: cannot read it", path);
	if (fclose(mem) && !rc)
		rc = errmsg(err, errlen, "%s: out of memory", path);
	fclose(f);
	if (rc) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

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
