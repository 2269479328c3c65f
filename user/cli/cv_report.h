/* SPDX-License-Identifier: MIT */
/* What odeflow cv says about a cross-validation: each fold's accuracy and
 * macro F1 with their mean and worst, the pooled held-out windows'
 * confusion and calibration (temperature scaling, cross-fitted), the
 * outcome Unknown (how many windows the fold models name and how many of
 * those are right), and with capture-file or application folds, each
 * file's or application's own figures. As text or as one JSON object. */
#ifndef ODEFLOW_CV_REPORT_H
#define ODEFLOW_CV_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "train/crossval.h"
#include "train/dataset.h"
#include "train/dataset_index.h"
#include "train/folds.h"
#include "train/named_metrics.h"

/* What ran, and the windows' held-out predictions. */
struct cv_run {
	const char *data, *recipe, *init;  /* init: NULL unless fine-tuning */
	const struct model_config *cfg;
	enum fold_split split;
	int k;
	const struct crossval_fold *folds;
	const struct dataset *ds;
	const int *fold;
	const float *logprobs, *unknown;   /* ds->n * C, ds->n */
	const struct dataset_groups *groups; /* files and apps folds; else count 0 */
	const struct dataset_groups *positions; /* each window's position in its
						 * direction (the index's "window");
						 * count 0 when unknown */
	double named_accuracy;              /* what the Unknown threshold is fitted for */
};

struct cv_report;

/* Everything the report says, computed from the run (which it keeps a
 * pointer to); NULL when out of memory. */
struct cv_report *cv_report_new(const struct cv_run *run);
void cv_report_free(struct cv_report *r);
/* The fold lines' header: which windows each fold holds out. */
void cv_report_folds(const struct cv_run *run, FILE *out);
void cv_report_text(const struct cv_report *r, FILE *out);
void cv_report_json(const struct cv_report *r, FILE *out);

#endif
