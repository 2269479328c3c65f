/* SPDX-License-Identifier: MIT */
/* What the commands that read a running agent's pinned maps share (flows,
 * stats, top, policy): the options that say which instance (--iface,
 * --pin-dir), and for flows and stats --json and the whole start. */
#ifndef ODEFLOW_PINNED_COMMAND_H
#define ODEFLOW_PINNED_COMMAND_H

#include <stdbool.h>

#include "command.h"
#include "loader/pinned.h"

/* Option ids of pinned_where_options, above any command's own. */
enum { PINNED_OPT_PIN_DIR = 100, PINNED_OPT_IFACE };

/* --iface IF and --pin-dir DIR: a command's group "Which instance". */
extern const struct cli_option pinned_where_options[];
#define PINNED_WHERE_GROUP { "Which instance (one runs: that one)", pinned_where_options }

struct pinned_where {
	const char *pin_dir, *iface;
};

/* An option cli_next returned: true when it was one of pinned_where_options
 * (then taken into w). */
bool pinned_where_take(struct pinned_where *w, int id, const char *arg);

/* Opens the maps of the instance w names, or of the only one running: 0;
 * else says why in one line (several instances: which there are) and
 * returns the exit status. */
int pinned_where_open(const struct pinned_where *w, struct pinned *p);

/* --json, for flows and stats. */
extern const struct cli_option pinned_command_options[];

/* Reads the command line and opens the pinned maps. True when the command
 * goes on; false with *exit_code set when it is done (help printed: 0; a
 * wrong option or no agent: said, nonzero). */
bool pinned_command_start(const struct cli_command *cmd, int argc, char **argv, bool *json,
			  struct pinned *p, int *exit_code);

#endif
