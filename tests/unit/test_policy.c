/* SPDX-License-Identifier: MIT */
/* Policy files: every action, DSCP names, rate units, and errors that name the line. */
#include "harness.h"
#include "agent/policy.h"
#include "engine/model.h"

static const char *const classes[] = { "VoIP", "Video", "File_Transfer", "Chat", "Browsing" };

static int parse(const char *text, struct policy_table *t, char *err)
{
	return policy_parse(text, strlen(text), classes, 5, t, err, 200);
}

static void test_every_action(void)
{
	struct policy_table t;
	char err[200] = "";
	const char *text = "# operators' policy\n"
			   "voip   mark ef   # real-time\n"
			   "\n"
			   "Video  rate-limit 10mbit 64k\n"
			   "File_Transfer drop\n"
			   "Chat pass\n";

	CHECKF(parse(text, &t, err) == 0, "%s", err);
	CHECK(t.rules[0].action == ACTION_MARK && t.rules[0].dscp == 46);
	CHECK(t.rules[1].action == ACTION_RATE_LIMIT);
	CHECK(t.rules[1].rate_bytes == 1250000 && t.rules[1].burst_bytes == 64000);
	CHECK(t.rules[2].action == ACTION_DROP);
	CHECK(t.rules[3].action == ACTION_PASS);
	CHECK(t.rules[4].action == ACTION_PASS); /* not named: observe only */
}

static void test_dscp_names(void)
{
	struct policy p;
	char err[200];
	char *cs5[] = { "mark", "cs5" }, *af41[] = { "mark", "AF41" }, *n0[] = { "mark", "0" };
	char *bad[] = { "mark", "64" }, *bad2[] = { "mark", "af44" }, *bad3[] = { "mark", "-1" };

	CHECK(policy_parse_action(2, cs5, &p, err, sizeof(err)) == 0 && p.dscp == 40);
	CHECK(policy_parse_action(2, af41, &p, err, sizeof(err)) == 0 && p.dscp == 34);
	CHECK(policy_parse_action(2, n0, &p, err, sizeof(err)) == 0 && p.dscp == 0);
	CHECK(policy_parse_action(2, bad, &p, err, sizeof(err)) == -1);
	CHECK(policy_parse_action(2, bad2, &p, err, sizeof(err)) == -1);
	CHECK(policy_parse_action(2, bad3, &p, err, sizeof(err)) == -1);
}

static void test_rate_units(void)
{
	struct policy p;
	char err[200];
	char *bytes[] = { "rate-limit", "2m", "1500" }, *bits[] = { "rate-limit", "1.5gbit", "1m" };
	char *zero[] = { "rate-limit", "0", "1k" }, *junk[] = { "rate-limit", "10mbps", "1k" };

	CHECK(policy_parse_action(3, bytes, &p, err, sizeof(err)) == 0);
	CHECK(p.rate_bytes == 2000000 && p.burst_bytes == 1500);
	CHECK(policy_parse_action(3, bits, &p, err, sizeof(err)) == 0);
	CHECK(p.rate_bytes == 187500000 && p.burst_bytes == 1000000);
	CHECK(policy_parse_action(3, zero, &p, err, sizeof(err)) == -1);
	CHECK(policy_parse_action(3, junk, &p, err, sizeof(err)) == -1);
}

static void test_errors_name_the_line(void)
{
	struct policy_table t = { 0 }, before;
	char err[200];

	t.rules[1].action = ACTION_DROP;
	before = t;
	CHECK(parse("VoIP pass\nGaming drop\n", &t, err) == -1);
	CHECKF(strstr(err, "line 2") && strstr(err, "Gaming"), "%s", err);
	CHECK(parse("VoIP pass\n\nVideo mark 99\n", &t, err) == -1);
	CHECKF(strstr(err, "line 3") && strstr(err, "99"), "%s", err);
	CHECK(parse("VoIP pass\nvoip drop\n", &t, err) == -1);
	CHECKF(strstr(err, "line 2") && strstr(err, "line 1"), "%s", err);
	CHECK(parse("Chat explode\n", &t, err) == -1);
	CHECKF(strstr(err, "unknown action"), "%s", err);
	CHECK(parse("Chat drop now\n", &t, err) == -1);
	CHECK(parse("Chat\n", &t, err) == -1);
	CHECK(policy_parse("Chat drop\0x\n", 12, classes, 5, &t, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "NUL"), "%s", err);
	/* the table is untouched by a failed parse: the running policy is kept */
	CHECK(!memcmp(&t, &before, sizeof(t)));
}

static void test_format_round_trip(void)
{
	struct policy_table t;
	char err[200], text[400] = "", buf[80];
	const char *names[] = { "VoIP", "Video", "File_Transfer", "Chat", "Browsing" };
	const char *src = "VoIP mark af41\nVideo rate-limit 800kbit 20k\nChat drop\n";
	struct policy_table again;

	CHECK(parse(src, &t, err) == 0);
	for (int i = 0; i < 5; i++) {
		policy_format(&t.rules[i], buf, sizeof(buf));
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s %s\n", names[i], buf);
	}
	CHECKF(parse(text, &again, err) == 0, "%s", err);
	CHECK(!memcmp(&t, &again, sizeof(t)));
}

static void test_load_missing_file(void)
{
	struct policy_table t;
	char err[200];

	CHECK(policy_load("/nonexistent/policy", classes, 5, &t, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "/nonexistent/policy"), "%s", err);
}

/* The outcome Unknown (after the classes, as the agent lists them) may be
 * passed or marked; a drop or a rate limit of it is refused with one line
 * that names the line and says why, and nothing is applied. */
static void test_unknown_is_never_dropped(void)
{
	static const char *const outcomes[] = { "VoIP", "Video", "File_Transfer", "Chat",
						"Browsing", MODEL_UNKNOWN_NAME };
	struct policy_table t = { .rules = { [0] = { .action = ACTION_MARK, .dscp = 7 } } };
	struct policy drop = { .action = ACTION_DROP }, rate = { .action = ACTION_RATE_LIMIT };
	struct policy mark = { .action = ACTION_MARK, .dscp = 8 };
	char err[200] = "";
	const char *ok = "Video drop\nunknown mark cs1\n";
	const char *dropped = "Video drop\n\nUnknown drop\n";
	const char *limited = "UNKNOWN rate-limit 1mbit 10k\n";

	CHECKF(policy_parse(ok, strlen(ok), outcomes, 6, &t, err, sizeof(err)) == 0, "%s", err);
	CHECK(t.rules[5].action == ACTION_MARK && t.rules[5].dscp == 8);
	CHECK(policy_parse(dropped, strlen(dropped), outcomes, 6, &t, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "line 3: Unknown may be passed or marked, never dropped") != NULL, "%s",
	       err);
	CHECK(policy_parse(limited, strlen(limited), outcomes, 6, &t, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "line 1: ") && strstr(err, "rate-limited"), "%s", err);
	CHECK(t.rules[1].action == ACTION_DROP && t.rules[5].action == ACTION_MARK); /* kept */
	CHECK(policy_check_rule("Unknown", &drop, err, sizeof(err)) == -1);
	CHECK(policy_check_rule("unknown", &rate, err, sizeof(err)) == -1);
	CHECK(policy_check_rule("Unknown", &mark, err, sizeof(err)) == 0);
	CHECK(policy_check_rule("Video", &drop, err, sizeof(err)) == 0);
}

int main(void)
{
	RUN(test_every_action);
	RUN(test_dscp_names);
	RUN(test_rate_units);
	RUN(test_errors_name_the_line);
	RUN(test_format_round_trip);
	RUN(test_load_missing_file);
	RUN(test_unknown_is_never_dropped);
	return harness_done();
}
