/* SPDX-License-Identifier: MIT */
/* Training the trees architecture with XGBoost's C API (gradient boosting,
 * tree_method hist, multi:softprob) on the engine's own tree features
 * (features_trees), then converting XGBoost's trees into the engine's
 * arrays (engine/trees.h). The engine serves them without XGBoost; before a
 * model is returned, the engine's probabilities on the training windows
 * are checked against XGBoost's own. */
#ifndef ODEFLOW_TRAIN_TREES_H
#define ODEFLOW_TRAIN_TREES_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dataset.h"
#include "engine/model.h"

/* Largest difference between a probability of the engine and XGBoost's the
 * trainer accepts (float sums in another order differ in the last bits). */
#define TREES_MAX_PROB_DIFF 1e-5

struct trees_options {
	int rounds;          /* boosting rounds; each adds one tree per class */
	int depth;           /* XGBoost's max_depth */
	double eta;          /* learning rate (shrinkage of each tree) */
	int threads;         /* XGBoost's nthread */
	bool balance;        /* each window weighted so every class weighs alike */
	uint64_t seed;
	FILE *progress;      /* a line every 50 rounds, or NULL */
};

/* Defaults measured on blocked 5-fold cross-validation (user/train/README.md). */
#define TREES_DEFAULT_OPTIONS { .rounds = 300, .depth = 4, .eta = 0.1, .threads = 1, .seed = 1 }

struct trees_result {
	double train_acc;            /* the engine's */
	double max_diff;             /* largest |engine - XGBoost| probability on train */
	double seconds;
};

/* A trees model of configuration cfg (arch trees; its trees and nodes come
 * from training) fitted to every window of train. */
int trees_train(const struct model_config *cfg, const struct dataset *train,
		const struct trees_options *o, struct model **out, struct trees_result *r,
		char *err, size_t errlen);

/* The features of every window of ds, row-major [n, FEATURES_TREES(N)]
 * (malloc'd), as XGBoost is given them. */
float *trees_feature_matrix(const struct dataset *ds, char *err, size_t errlen);

/* An XGBoost model saved as JSON (XGBoosterSaveModelToBuffer, format json;
 * gbtree, multi:softprob over cfg->num_classes) converted into an engine
 * model; cfg's trees and nodes are set from it. */
int trees_from_xgboost_json(const char *json, size_t len, const struct model_config *cfg,
			    struct model **out, char *err, size_t errlen);

#endif
