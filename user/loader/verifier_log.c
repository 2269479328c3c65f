// SPDX-License-Identifier: MIT
/* The tail of a verifier log; see verifier_log.h. */
#include "verifier_log.h"

#include <stdio.h>
#include <string.h>

void verifier_log_tail(char *err, size_t errlen, const char *log, int lines)
{
	const char *end = log + strlen(log), *tail;
	size_t used = strlen(err);
	int seen = 0;

	while (end > log && end[-1] == '\n')
		end--;
	tail = end;
	while (tail > log && seen < lines)
		if (*--tail == '\n')
			seen++;
	if (seen == lines)
		tail++; /* past the newline that ends the line before the tail */
	if (end > tail && used + 1 < errlen)
		snprintf(err + used, errlen - used, "\nverifier log (last lines):\n%.*s",
			 (int)(end - tail), tail);
}
