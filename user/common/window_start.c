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
	if (!isdigit((unsigned char)*k) || *end || errno || skip > ODEFLOW_MAX_SKIP)
		return errmsg(err, errlen, "window start '%.32s': K is not a whole number from 0 to %d",
			      text, ODEFLOW_MAX_SKIP);
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

int window_start_choose(const struct window_start *ws, int asked, char *said, size_t len)
{
	char start[WINDOW_START_STRLEN];
	int skip = asked >= 0 ? asked : window_start_skip(ws);

	window_start_format(ws, start, sizeof(start));
	snprintf(said, len, "first windows start after %d packets of each direction (%sthe model's "
		 "window_start is %s)", skip, asked >= 0 ? "--skip; " : "", start);
	return skip;
}
