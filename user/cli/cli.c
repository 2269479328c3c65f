/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_long(const char *cmd, const char *opt, const char *arg, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "%s: --%s '%s' is not a whole number from %ld to %ld\n", cmd, opt, arg,
			min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_int(const char *cmd, const char *opt, const char *arg, int min, int max, int *out)
{
	long v;

	if (cli_long(cmd, opt, arg, min, max, &v))
		return -1;
	*out = (int)v;
	return 0;
}

int cli_u64(const char *cmd, const char *opt, const char *arg, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-') {
		fprintf(stderr, "%s: --%s '%s' is not a non-negative whole number\n", cmd, opt, arg);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_double(const char *cmd, const char *opt, const char *arg, double min, double max,
	       bool exclusive, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) ||
	    (exclusive ? v <= min || v >= max : v < min || v > max)) {
		fprintf(stderr, "%s: --%s '%s' is not a number %s %g %s %g\n", cmd, opt, arg,
			exclusive ? "strictly between" : "from", min, exclusive ? "and" : "to", max);
		return -1;
	}
	*out = v;
	return 0;
}
