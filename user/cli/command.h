/* SPDX-License-Identifier: MIT */
/* A subcommand of `odeflow` is a function `int cmd_NAME(int argc, char **argv)`
 * in user/cmd_NAME.c, registered by one line at the start of a line:
 *     ODEFLOW_COMMAND(NAME, "one-line summary")
 * The Makefile collects those lines into the table in main.c. argv[0] is the
 * subcommand's name. Return the process exit code. */
#ifndef ODEFLOW_COMMAND_H
#define ODEFLOW_COMMAND_H

#define ODEFLOW_COMMAND(name, summary) int cmd_##name(int argc, char **argv);

#endif
