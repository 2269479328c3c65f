// SPDX-License-Identifier: MIT
/* What a refused load shows of the verifier's log: its last lines. */
#include "harness.h"
#include "loader/verifier_log.h"

static void test_keeps_the_last_lines(void)
{
	char err[256] = "loading the XDP program failed: Permission denied";

	verifier_log_tail(err, sizeof(err), "0: r1 = 1\n1: r2 = 2\n2: exit\nR0 !read_ok\n\n\n", 2);
	CHECKF(!strcmp(err, "loading the XDP program failed: Permission denied\n"
			    "verifier log (last lines):\n2: exit\nR0 !read_ok"), "%s", err);
}

static void test_short_log_whole(void)
{
	char err[256] = "failed";

	verifier_log_tail(err, sizeof(err), "only line", 12);
	CHECKF(!strcmp(err, "failed\nverifier log (last lines):\nonly line"), "%s", err);
}

static void test_empty_log_adds_nothing(void)
{
	char err[64] = "failed";

	verifier_log_tail(err, sizeof(err), "", 12);
	verifier_log_tail(err, sizeof(err), "\n\n", 12);
	CHECKF(!strcmp(err, "failed"), "%s", err);
}

static void test_stays_within_the_buffer(void)
{
	char err[24] = "failed";
	char log[4096];

	memset(log, 'x', sizeof(log) - 1);
	log[sizeof(log) - 1] = '\0';
	verifier_log_tail(err, sizeof(err), log, 12);
	CHECK(strlen(err) == sizeof(err) - 1 && !strncmp(err, "failed\nverifier", 15));
}

int main(void)
{
	RUN(test_keeps_the_last_lines);
	RUN(test_short_log_whole);
	RUN(test_empty_log_adds_nothing);
	RUN(test_stays_within_the_buffer);
	return harness_done();
}
