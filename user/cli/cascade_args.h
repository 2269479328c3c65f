/* SPDX-License-Identifier: MIT */
/* The cascade's options, which `odeflow run` and `odeflow classify` share:
 * one declaration, one parser. A command puts CASCADE_ARGS_GROUP among its
 * option groups and hands every option it does not know itself to
 * cascade_args_option. */
#ifndef ODEFLOW_CASCADE_ARGS_H
#define ODEFLOW_CASCADE_ARGS_H

#include "agent/cascade.h"
#include "cli.h"

/* Option ids of the shared options: above the commands' own */
enum { CASCADE_ARG_THRESHOLD = 0x200, CASCADE_ARG_MAX_WINDOWS };

#define CASCADE_ARGS_GROUP { "cascade options", cascade_args_options }
extern const struct cli_option cascade_args_options[];

/* The defaults of both commands, remembering max_connections connections. */
void cascade_args_defaults(struct cascade_options *o, int max_connections);
/* Takes the option cli_next returned (id) when it is a shared one: 1, its
 * value taken or said to be bad (cli.h); 0 when it is not one of them. */
int cascade_args_option(struct cli_parse *p, int id, struct cascade_options *o);

#endif
