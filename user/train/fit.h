/* SPDX-License-Identifier: MIT */
/* Fitting a model to labelled windows: the validation part (if any), the
 * initialisation and the training loop. `odeflow train` and `odeflow cv`
 * both train through here, whatever the architecture. */
#ifndef ODEFLOW_FIT_H
#define ODEFLOW_FIT_H

#include <stdbool.h>
#include <stddef.h>

#include "dataset.h"
#include "train.h"
#include "train_trees.h"
#include "engine/model.h"

struct fit_options {
	struct train_options train;
	double val_frac;        /* share of the windows held out for validation (0: none) */
	bool val_by_session;    /* hold out whole sessions, not single windows */
	/* trees (XGBoost) take rounds, depth and eta from here, and threads,
	 * seed and progress from train */
	struct trees_options trees;
	/* fine-tuning: start from this trained network (model_transfer: its
	 * body, and its head's rows of the classes it knows) instead of fresh
	 * parameters; NULL: train from scratch */
	const struct model *init;
};

/* A new model of configuration cfg trained on data; *out is NULL on error
 * (one line in err). An ensemble's members are trained one after the
 * other, member k as a model of its own with seed + k (fine-tuning: from
 * member k of the start); r then describes the last member, but for
 * seconds: all of them. Trees fill r as if each round were an epoch. */
int fit_model(const struct model_config *cfg, const struct dataset *data,
	      const struct fit_options *o, struct model **out, struct train_result *r,
	      char *err, size_t errlen);

#endif
