/* SPDX-License-Identifier: MIT */
/* Configuration files of `odeflow run` (/etc/odeflow/odeflow.conf and
 * odeflow-IF.conf): every option of run, one a line, by its long name
 * without the dashes, then its value, as on the command line:
 *
 *     # comments and blank lines are ignored
 *     metrics 127.0.0.1:9464
 *     ipfix collector.example:4739
 *     busy-poll
 *
 * `--config FILE` stands for the file's options at that place of the
 * command line, so what comes later wins: the unit gives the interface's
 * defaults first, then odeflow.conf, then odeflow-IF.conf. A FILE written
 * "-/path" may be missing (as systemd's EnvironmentFile=-). */
#ifndef ODEFLOW_RUN_CONFIG_H
#define ODEFLOW_RUN_CONFIG_H

#include <stddef.h>

#include "command.h"

#define RUN_CONFIG_MAX_BYTES (64 * 1024)

/* argv with every "--config FILE" replaced by the options in FILE, checked
 * against cmd's table (an unknown name, a flag given a value or an option
 * without one: "FILE:LINE: ..." in err). *out and the strings it points
 * to live until the process ends. 0, or -1. */
int run_config_expand(const struct cli_command *cmd, const char *config_option, int argc,
		      char **argv, int *out_argc, char ***out, char *err, size_t errlen);

/* Every option of cmd as a configuration file, commented out, with its
 * help and default: what make install puts in /etc/odeflow/odeflow.conf. */
void run_config_template(FILE *out, const struct cli_command *cmd, const char *skip_a,
			 const char *skip_b);

#endif
