/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/file_read.h"
#include "common/errmsg.h"
#include "engine/model.h"

#define POLICY_FILE_MAX (64u << 10) /* a rule per class fits many times over */

#define MAX_WORDS 8
#define MAX_LINE 512

/* "ef", "cs3", "af41" or a number 0..63. */
static int parse_dscp(const char *word, unsigned *dscp)
{
	char *end;
	unsigned long v;

	if (!strcasecmp(word, "ef")) {
		*dscp = 46;
		return 0;
	}
	if (!strncasecmp(word, "cs", 2) && word[2] >= '0' && word[2] <= '7' && !word[3]) {
		*dscp = (unsigned)(word[2] - '0') << 3;
		return 0;
	}
	if (!strncasecmp(word, "af", 2) && word[2] >= '1' && word[2] <= '4' &&
	    word[3] >= '1' && word[3] <= '3' && !word[4]) {
		*dscp = ((unsigned)(word[2] - '0') << 3) | ((unsigned)(word[3] - '0') << 1);
		return 0;
	}
	errno = 0;
	v = strtoul(word, &end, 10);
	if (errno || end == word || *end || v > 63 || !isdigit((unsigned char)word[0]))
		return -1;
	*dscp = (unsigned)v;
	return 0;
}

/* A positive quantity with an optional k/m/g multiplier and, when bits is
 * allowed, an optional "bit" suffix that divides by 8. */
static int parse_quantity(const char *word, int allow_bits, unsigned long long *out)
{
	char *end;
	double v, mult = 1;

	if (!isdigit((unsigned char)word[0]))
		return -1;
	errno = 0;
	v = strtod(word, &end);
	if (errno || end == word || !(v > 0))
		return -1;
	switch (tolower((unsigned char)*end)) {
	case 'k': mult = 1e3; end++; break;
	case 'm': mult = 1e6; end++; break;
	case 'g': mult = 1e9; end++; break;
	}
	if (allow_bits && !strcasecmp(end, "bit"))
		mult /= 8;
	else if (*end)
		return -1;
	v *= mult;
	if (v < 1 || v > 1e15)
		return -1;
	*out = (unsigned long long)v;
	return 0;
}

int policy_parse_action(int argc, char **argv, struct policy *out, char *err, size_t errlen)
{
	struct policy p = { 0 };
	unsigned long long rate, burst;
	unsigned dscp;

	if (argc < 1)
		return errmsg(err, errlen,
			      "missing action (pass, drop, mark DSCP, rate-limit RATE BURST)");
	if (!strcasecmp(argv[0], "pass") || !strcasecmp(argv[0], "drop")) {
		if (argc != 1)
			return errmsg(err, errlen, "'%s' takes no argument, got '%s'", argv[0],
				      argv[1]);
		p.action = !strcasecmp(argv[0], "pass") ? ACTION_PASS : ACTION_DROP;
	} else if (!strcasecmp(argv[0], "mark")) {
		if (argc != 2)
			return errmsg(err, errlen,
				      "'mark' takes one DSCP value (0..63, ef, csN, afXY)");
		if (parse_dscp(argv[1], &dscp))
			return errmsg(err, errlen,
				      "bad DSCP '%s' (0..63, ef, cs0..cs7, af11..af43)", argv[1]);
		p.action = ACTION_MARK;
		p.dscp = dscp;
	} else if (!strcasecmp(argv[0], "rate-limit")) {
		if (argc != 3)
			return errmsg(err, errlen, "'rate-limit' takes RATE and BURST, e.g. "
				      "'rate-limit 10mbit 64k'");
		if (parse_quantity(argv[1], 1, &rate))
			return errmsg(err, errlen, "bad rate '%s' (bytes/s, or e.g. 10mbit, 500k)",
				      argv[1]);
		if (parse_quantity(argv[2], 0, &burst))
			return errmsg(err, errlen, "bad burst '%s' (bytes, e.g. 64k)", argv[2]);
		p.action = ACTION_RATE_LIMIT;
		p.rate_bytes = rate;
		p.burst_bytes = burst;
	} else {
		return errmsg(err, errlen, "unknown action '%s' (pass, drop, mark, rate-limit)",
			      argv[0]);
	}
	*out = p;
	return 0;
}

int policy_check_rule(const char *class_name, const struct policy *p, char *err, size_t errlen)
{
	if (strcasecmp(class_name, MODEL_UNKNOWN_NAME) ||
	    (p->action != ACTION_DROP && p->action != ACTION_RATE_LIMIT))
		return 0;
	return errmsg(err, errlen, "%s may be passed or marked, never dropped or rate-limited: "
		      "the model does not know what that traffic is", MODEL_UNKNOWN_NAME);
}

static int find_class(const char *name, const char *const *class_names, int num_classes)
{
	for (int i = 0; i < num_classes; i++)
		if (!strcasecmp(name, class_names[i]))
			return i;
	return -1;
}

/* Splits line in place into at most MAX_WORDS words; a '#' ends the line.
 * Returns the word count, or -1 if there are too many. */
static int split_words(char *line, char **words)
{
	int n = 0;
	char *save, *w;

	line[strcspn(line, "#")] = '\0';
	for (w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
		if (n == MAX_WORDS)
			return -1;
		words[n++] = w;
	}
	return n;
}

int policy_parse(const char *text, size_t len, const char *const *class_names, int num_classes,
		 struct policy_table *out, char *err, size_t errlen)
{
	struct policy_table table = { 0 }; /* all zero: ACTION_PASS everywhere */
	int seen[ODEFLOW_MAX_CLASSES] = { 0 };
	char line[MAX_LINE], why[160];
	char *words[MAX_WORDS];
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		size_t end = pos;
		int nwords, cls;

		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		if (end - pos >= sizeof(line))
			return errmsg(err, errlen, "line %d: longer than %d characters", lineno,
				      MAX_LINE - 1);
		if (memchr(text + pos, '\0', end - pos))
			return errmsg(err, errlen,
				      "line %d: contains a NUL byte (not a text file?)", lineno);
		memcpy(line, text + pos, end - pos);
		line[end - pos] = '\0';
		pos = end + 1;
		nwords = split_words(line, words);
		if (nwords < 0)
			return errmsg(err, errlen, "line %d: too many words", lineno);
		if (nwords == 0)
			continue;
		cls = find_class(words[0], class_names, num_classes);
		if (cls < 0)
			return errmsg(err, errlen, "line %d: unknown class '%s'", lineno, words[0]);
		if (seen[cls])
			return errmsg(err, errlen,
				      "line %d: class '%s' already has a rule on line %d",
				      lineno, class_names[cls], seen[cls]);
		if (policy_parse_action(nwords - 1, words + 1, &table.rules[cls], why, sizeof(why)) ||
		    policy_check_rule(class_names[cls], &table.rules[cls], why, sizeof(why)))
			return errmsg(err, errlen, "line %d: %s", lineno, why);
		seen[cls] = lineno;
	}
	*out = table;
	return 0;
}

int policy_load(const char *path, const char *const *class_names, int num_classes,
		struct policy_table *out, char *err, size_t errlen)
{
	char why[ERRMSG_LEN];
	uint8_t *buf;
	size_t len;
	int rc;

	if (file_read_regular(path, POLICY_FILE_MAX, &buf, &len, err, errlen))
		return -1;
	rc = policy_parse((const char *)buf, len, class_names, num_classes, out, why, sizeof(why));
	free(buf);
	if (rc)
		errmsg(err, errlen, "%s: %s", path, why);
	return rc;
}

void policy_format(const struct policy *p, char *buf, size_t len)
{
	switch (p->action) {
	case ACTION_PASS:
		snprintf(buf, len, "pass");
		break;
	case ACTION_DROP:
		snprintf(buf, len, "drop");
		break;
	case ACTION_MARK:
		snprintf(buf, len, "mark %u", p->dscp);
		break;
	case ACTION_RATE_LIMIT:
		snprintf(buf, len, "rate-limit %llu %llu", (unsigned long long)p->rate_bytes,
			 (unsigned long long)p->burst_bytes);
		break;
	default:
		snprintf(buf, len, "unknown(%u)", p->action);
	}
}
