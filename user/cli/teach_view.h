/* SPDX-License-Identifier: MIT */
/* What the teacher (odeflow run --teach) shows in the operator commands:
 * the stage of a verdict that took nDPI's class, and its lines in stats. */
#ifndef ODEFLOW_TEACH_VIEW_H
#define ODEFLOW_TEACH_VIEW_H

#include <jansson.h>
#include <stdio.h>

#include "loader/pinned.h"

/* "dpi" for a verdict that took nDPI's class, else its stage ("2"). */
const char *teach_stage_name(const struct verdict *v, char *buf, size_t len);

/* stats: the teacher's counts and the live agreement of model and nDPI
 * per class; nothing when no agent teaches. */
void teach_stats_print(FILE *out, const struct pinned *p);
/* The same as an object, or NULL. */
json_t *teach_stats_json(const struct pinned *p);

#endif
