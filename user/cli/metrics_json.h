/* SPDX-License-Identifier: MIT */
/* Evaluation figures as odeflow eval and cv print them: the confusion
 * matrix, accuracy against confidence, and what the outcome Unknown does
 * (how many windows the model names, how many of those are right), as
 * JSON values and as text. */
#ifndef ODEFLOW_METRICS_JSON_H
#define ODEFLOW_METRICS_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "engine/model.h"
#include "train/eval_metrics.h"
#include "train/named_metrics.h"

/* [[true class 0's row], ...] */
json_t *confusion_json(const struct metrics *m);
/* [{threshold, coverage, n, accuracy (null when none)}, ...] */
json_t *coverage_json(const struct metrics *m);
/* {score, threshold (null: none, or per fold), n, named, share, accuracy,
 * curve: [{share, threshold, named, accuracy}, ...]} */
json_t *named_json(const struct named_metrics *m, enum model_unknown score);
/* The curve as two lines: the shares named and the accuracy of each. */
void named_print_curve(FILE *out, const struct named_metrics *m);

#endif
