/* SPDX-License-Identifier: MIT */
/* log_line: plain lines on a terminal or file, journald's level prefixes
 * when stderr is the stream JOURNAL_STREAM names. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "harness.h"

/* What log_line wrote with stderr on a file; journal: JOURNAL_STREAM names
 * that file. */
static void logged(bool journal, char *out, size_t len)
{
	char path[] = "/tmp/odeflow-test-log-XXXXXX", env[64];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;
	ssize_t n;

	fstat(fd, &st);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	if (journal)
		setenv("JOURNAL_STREAM", env, 1);
	else
		setenv("JOURNAL_STREAM", "1:2", 1); /* another stream: a redirected service */
	dup2(fd, STDERR_FILENO);
	log_line(LOG_LEVEL_ERR, "attaching failed: %s", "busy");
	log_line(LOG_LEVEL_INFO, "verifier log:\nline 1\nline 2");
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	unsetenv("JOURNAL_STREAM");
}

static void test_plain_on_a_file(void)
{
	char out[512];

	logged(false, out, sizeof(out));
	CHECKF(!strcmp(out, "odeflow: attaching failed: busy\nodeflow: verifier log:\nline 1\nline 2\n"),
	       "%s", out);
}

static void test_levels_in_the_journal(void)
{
	char out[512];

	logged(true, out, sizeof(out));
	CHECKF(!strcmp(out, "<3>odeflow: attaching failed: busy\n<6>odeflow: verifier log:\n"
			    "<6>line 1\n<6>line 2\n"), "%s", out);
}

int main(void)
{
	RUN(test_plain_on_a_file);
	RUN(test_levels_in_the_journal);
	return harness_done();
}
