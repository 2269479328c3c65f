/* SPDX-License-Identifier: MIT */
/* Option values for subcommands: a number that does not parse or is out of
 * range gets one message naming the command and the option. */
#ifndef ODEFLOW_CLI_H
#define ODEFLOW_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Return 0, or print "CMD: --OPT 'ARG' is not ..." to stderr and return -1. */
int cli_long(const char *cmd, const char *opt, const char *arg, long min, long max, long *out);
int cli_int(const char *cmd, const char *opt, const char *arg, int min, int max, int *out);
int cli_u64(const char *cmd, const char *opt, const char *arg, uint64_t *out);
/* min < value < max when exclusive, else min <= value <= max. */
int cli_double(const char *cmd, const char *opt, const char *arg, double min, double max,
	       bool exclusive, double *out);

#endif
