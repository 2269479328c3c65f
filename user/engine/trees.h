/* SPDX-License-Identifier: MIT */
/* Building a trees model (architecture "trees", arch_trees.c) from its
 * arrays, for the trainer that converts XGBoost's trees. */
#ifndef ODEFLOW_TREES_H
#define ODEFLOW_TREES_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* cfg->trees trees of cfg->nodes nodes in all, laid out as arch_trees.c
 * describes: tree t's nodes from root[t] on, breadth-first, a split's
 * children adjacent. For node i: feature[i] is the feature it splits on
 * (features_trees' order) or -1 for a leaf; a window goes to left[i] when
 * its feature is below threshold[i], else to left[i] + 1; a leaf has
 * left[i] = -1 and adds value[i] to the logit of class t % num_classes. */
struct trees_arrays {
	const int32_t *root;      /* [trees] */
	const int32_t *feature;   /* [nodes] */
	const float *threshold;   /* [nodes], 0 for a leaf */
	const int32_t *left;      /* [nodes] */
	const float *value;       /* [nodes], 0 for a split */
};

/* A model of those arrays, validated as a loaded file is. */
int model_from_trees(const struct model_config *cfg, const struct trees_arrays *a,
		     struct model **out, char *err, size_t errlen);

#endif
