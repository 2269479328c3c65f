// SPDX-License-Identifier: MIT
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether stderr is the stream JOURNAL_STREAM names ("DEV:INODE"): a
 * redirected stderr of a service is not, and gets no prefixes. */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 && !fstat(STDERR_FILENO, &st) &&
	       st.st_dev == dev && st.st_ino == ino;
}

void log_line(enum log_level level, const char *fmt, ...)
{
	char msg[2048], out[4096];
	size_t n = 0;
	bool journal = stderr_is_journal();
	const char *line = msg;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	while (n < sizeof(out) - 1) {
		const char *end = strchr(line, '\n');
		int len = end ? (int)(end - line) : (int)strlen(line);
		const char *name = line == msg ? "odeflow: " : "";
		int w = journal ? snprintf(out + n, sizeof(out) - n, "<%d>%s%.*s\n", (int)level, name,
					   len, line)
				: snprintf(out + n, sizeof(out) - n, "%s%.*s\n", name, len, line);

		if (w < 0)
			return;
		n += (size_t)w < sizeof(out) - n ? (size_t)w : sizeof(out) - n - 1;
		if (!end || !end[1])
			break;
		line = end + 1;
	}
	if (write(STDERR_FILENO, out, n) < 0)
		return; /* nowhere left to say it */
}
