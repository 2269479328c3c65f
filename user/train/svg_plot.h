/* SPDX-License-Identifier: MIT */
/* Evaluation plots as standalone SVG files (no plotting library needed to
 * view them: any browser will do). */
#ifndef ODEFLOW_SVG_PLOT_H
#define ODEFLOW_SVG_PLOT_H

#include <stddef.h>

#include "eval_metrics.h"

/* The confusion matrix as a heat map, cells shaded by the share of their
 * row (recall), annotated with counts. */
int svg_confusion(const char *path, const struct metrics *m,
		  const char (*class_names)[ODEFLOW_CLASS_NAME_LEN], char *err, size_t errlen);
/* Accuracy and coverage against the confidence threshold. */
int svg_coverage(const char *path, const struct metrics *m, char *err, size_t errlen);

#endif
