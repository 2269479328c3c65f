/* SPDX-License-Identifier: MIT */
/* Per-class policy files. One rule per line, '#' starts a comment:
 *
 *     CLASS pass
 *     CLASS drop
 *     CLASS mark DSCP            DSCP: 0..63, or ef, csN (N 0..7), afXY (X 1..4, Y 1..3)
 *     CLASS rate-limit RATE BURST
 *
 * CLASS is a class name of the model (case does not matter). RATE is bytes
 * per second, or bits per second with a "bit" suffix; both take k, m, g
 * (powers of 1000): "10mbit" = 1,250,000 bytes/s, "2m" = 2,000,000 bytes/s.
 * BURST is bytes with the same k, m, g multipliers. Classes a file does not
 * name get "pass": the default is to observe only. CLASS may be "Unknown",
 * the outcome of traffic unlike what the model learnt: pass or mark only
 * (a rule that drops or rate-limits it is refused; the XDP program would
 * not apply it either). */
#ifndef ODEFLOW_POLICY_H
#define ODEFLOW_POLICY_H

#include <stddef.h>

#include "odeflow.h"

struct policy_table {
	struct policy rules[ODEFLOW_MAX_CLASSES];
};

/* Parses a whole policy file held in memory. On error returns -1 and writes
 * "line N: what is wrong" into err; out is then left untouched. */
int policy_parse(const char *text, size_t len, const char *const *class_names, int num_classes,
		 struct policy_table *out, char *err, size_t errlen);

/* Reads and parses a file; errors name the file and the line. */
int policy_load(const char *path, const char *const *class_names, int num_classes,
		struct policy_table *out, char *err, size_t errlen);

/* Parses one action given as words ("mark", "ef") for `odeflow policy set`. */
int policy_parse_action(int argc, char **argv, struct policy *out, char *err, size_t errlen);

/* Whether a class may have this rule: -1 with one line in err for a drop
 * or a rate limit of the outcome Unknown. */
int policy_check_rule(const char *class_name, const struct policy *p, char *err, size_t errlen);

/* Writes an action in the file syntax ("rate-limit 1250000 64000"). */
void policy_format(const struct policy *p, char *buf, size_t len);

#endif
