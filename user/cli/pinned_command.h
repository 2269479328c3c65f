/* SPDX-License-Identifier: MIT */
/* The start `odeflow flows` and `odeflow stats` share: their options
 * (--json, --pin-dir) and the pinned maps of a running agent. */
#ifndef ODEFLOW_PINNED_COMMAND_H
#define ODEFLOW_PINNED_COMMAND_H

#include <stdbool.h>

#include "command.h"
#include "loader/pinned.h"

extern const struct cli_option pinned_command_options[];

/* Reads the command line and opens the pinned maps. True when the command
 * goes on; false with *exit_code set when it is done (help printed: 0; a
 * wrong option or no agent: said, nonzero). */
bool pinned_command_start(const struct cli_command *cmd, int argc, char **argv, bool *json,
			  struct pinned *p, int *exit_code);

#endif
