// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "window_start.h"

int window_start_parse(const char *text, struct window_start *out, char *err, size_t errlen)
{
	const char *k;
	char *end;
	long skip;

	if (!strcmp(text, "first") || !strcmp(text, "any")) {
		*out = (struct window_start){ .kind = text[0] == 'f' ? WINDOW_START_FIRST : WINDOW_START_ANY };
		return 0;
	}
	if (strncmp(text, "skip:", 5))
		return errmsg(err, errlen, "window start '%.32s' is not first, any or skip:K", text);
	k = text + 5;
	errno = 0;
	skip = strtol(k, &end, 10);
	/* digits only: strtol would also take spaces and a sign */
	if (!isdigit((unsigned char)*k) || *end || errno || skip > WINDOW_SKIP_MAX)
		return errmsg(err, errlen, "window start '%.32s': K is not a whole number from 0 to %d",
			      text, WINDOW_SKIP_MAX);
	*out = (struct window_start){ WINDOW_START_SKIP, (int)skip };
	return 0;
}

void window_start_format(const struct window_start *ws, char *buf, size_t len)
{
	switch (ws->kind) {
	case WINDOW_START_FIRST:
		snprintf(buf, len, "first");
		break;
	case WINDOW_START_SKIP:
		snprintf(buf, len, "skip:%d", ws->skip);
		break;
	case WINDOW_START_ANY:
		snprintf(buf, len, "any");
		break;
	}
}

int window_start_skip(const struct window_start *ws)
{
	switch (ws->kind) {
	case WINDOW_START_FIRST:
		return 0;
	case WINDOW_START_SKIP:
		return ws->skip;
	case WINDOW_START_ANY:
		break;
	}
	return WINDOW_START_ANY_SKIP;
}
