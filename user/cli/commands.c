/* SPDX-License-Identifier: MIT */
/* The table of every command: build/commands.inc names each command that
 * registered itself with ODEFLOW_COMMAND (command.h). */
#include <stddef.h>

#include "command.h"

#define ODEFLOW_COMMAND_NAME(name) extern const struct cli_command command_##name;
#include "commands.inc"
#undef ODEFLOW_COMMAND_NAME

#define ODEFLOW_COMMAND_NAME(name) &command_##name,
const struct cli_command *const cli_commands[] = {
#include "commands.inc"
	NULL,
};
