// SPDX-License-Identifier: MIT
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"

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

static char log_name[48] = "odeflow";

void log_set_name(const char *name)
{
	snprintf(log_name, sizeof(log_name), "%s", name);
}

void log_line(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(level, fmt, ap);
	va_end(ap);
}

void log_vline(enum log_level level, const char *fmt, va_list ap)
{
	char msg[ERRMSG_LEN], out[2 * ERRMSG_LEN];
	size_t n = 0;
	bool journal = stderr_is_journal();
	const char *line = msg;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	while (n < sizeof(out) - 1) {
		const char *end = strchr(line, '\n');
		int len = end ? (int)(end - line) : (int)strlen(line);
		const char *name = line == msg ? log_name : "", *colon = line == msg ? ": " : "";
		int w = journal ? snprintf(out + n, sizeof(out) - n, "<%d>%s%s%.*s\n", (int)level,
					   name, colon, len, line)
				: snprintf(out + n, sizeof(out) - n, "%s%s%.*s\n", name, colon, len,
					   line);

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
