/* SPDX-License-Identifier: MIT */
#include "cascade_args.h"

#define MAX_WINDOWS_LIMIT 64

const struct cli_option cascade_args_options[] = {
	CLI_OPTION(CASCADE_ARG_THRESHOLD, "threshold", 't', "T",
		   "confidence (0 to 1) that makes a connection's verdict final",
		   .def = CLI_STR(CASCADE_DEFAULT_THRESHOLD)),
	CLI_OPTION(CASCADE_ARG_MAX_WINDOWS, "max-windows", 'w', "K",
		   "windows of a connection averaged at most, until its verdict is final (1 to "
		   CLI_STR(MAX_WINDOWS_LIMIT) ")",
		   .def = CLI_STR(CASCADE_DEFAULT_MAX_WINDOWS)),
	{ 0 },
};

void cascade_args_defaults(struct cascade_options *o, int max_connections)
{
	*o = (struct cascade_options){ .threshold = CASCADE_DEFAULT_THRESHOLD,
				       .max_windows = CASCADE_DEFAULT_MAX_WINDOWS,
				       .max_connections = max_connections };
}

int cascade_args_option(struct cli_parse *p, int id, struct cascade_options *o)
{
	double threshold;

	switch (id) {
	case CASCADE_ARG_THRESHOLD:
		if (!cli_double(p, 0, 1, false, &threshold))
			o->threshold = (float)threshold;
		return 1;
	case CASCADE_ARG_MAX_WINDOWS:
		cli_int(p, 1, MAX_WINDOWS_LIMIT, &o->max_windows);
		return 1;
	}
	return 0;
}
