// SPDX-License-Identifier: MIT
/* trees: gradient-boosted decision trees (trained by XGBoost in
 * user/train/train_trees.c, served here in plain C). Tree t adds its leaf's
 * value to the logit of class t % C; model_classify's softmax turns the
 * logits into probabilities, as XGBoost's multi:softprob does (with the
 * model's temperature, 1 unless calibrated).
 *
 * Each tree is stored breadth-first, its nodes contiguous from root[t] up
 * to root[t + 1] (the last up to the node count), and the children of a
 * split are adjacent: left[i] and left[i] + 1. A window goes left when its
 * feature is below the threshold (XGBoost's "<"). Validation insists on that
 * exact layout, so a loaded model has no index out of range, no cycle and
 * no node that two parents share or none reaches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "common/errmsg.h"
#include "trees.h"
#include "window_features.h"

enum { T_ROOT, T_FEATURE, T_THRESHOLD, T_LEFT, T_VALUE };

#define TREES_MAX (1 << 20)
#define NODES_MAX (1 << 26)

static int trees_check(const struct model_config *c, char *err, size_t errlen)
{
	if (c->members != 1)
		return errmsg(err, errlen, "trees are one model, not an ensemble of %d",
			      c->members);
	if (c->trees < c->num_classes || c->trees > TREES_MAX || c->trees % c->num_classes)
		return errmsg(err, errlen,
			      "%d trees: need a positive multiple of the %d classes, at most %d",
			      c->trees, c->num_classes, TREES_MAX);
	if (c->nodes < c->trees || c->nodes > NODES_MAX)
		return errmsg(err, errlen, "%d nodes is outside %d (one per tree)..%d", c->nodes,
			      c->trees,
			      NODES_MAX);
	return 0;
}

static void add(struct tensor_spec *t, int *n, const char *name, enum tensor_dtype dtype,
		int count)
{
	tensor_add(t, n, name, count, 0, 1);
	t[*n - 1].dtype = dtype;
}

static int trees_tensors(const struct model_config *c, struct tensor_spec *t)
{
	int n = 0;

	add(t, &n, "trees.root", TENSOR_I32, c->trees);
	add(t, &n, "trees.feature", TENSOR_I32, c->nodes);
	add(t, &n, "trees.threshold", TENSOR_F32, c->nodes);
	add(t, &n, "trees.left", TENSOR_I32, c->nodes);
	add(t, &n, "trees.value", TENSOR_F32, c->nodes);
	return n;
}

static size_t trees_ws_floats(const struct model *m, int B, bool train)
{
	(void)train;
	return (size_t)B * FEATURES_TREES(m->cfg.window);
}

/* Tree-major: each tree's few hundred bytes stay in L1 while the whole
 * batch walks through it. */
static int trees_forward(const struct model *m, float *ws, int B, bool train,
			 const struct loss_options *lo, const float *sizes, const double *times,
			 float *logits)
{
	const int N = m->cfg.window, F = FEATURES_TREES(N), C = m->cfg.num_classes;
	const int32_t *root = param_i32(m, T_ROOT), *feature = param_i32(m, T_FEATURE);
	const int32_t *left = param_i32(m, T_LEFT);
	const float *threshold = param(m, T_THRESHOLD), *value = param(m, T_VALUE);

	(void)lo;
	if (train)
		return -1; /* no gradient: model_loss_grad refuses trees before this */
	for (int b = 0; b < B; b++)
		if (features_trees(N, sizes + (size_t)b * N, times + (size_t)b * N, ws + (size_t)b * F))
			return -1;
	memset(logits, 0, sizeof(*logits) * B * C);
	for (int t = 0; t < m->cfg.trees; t++) {
		float *out = logits + t % C;
		const float *x = ws;

		for (int b = 0; b < B; b++, x += F, out += C) {
			int32_t i = root[t];

			while (feature[i] >= 0)
				i = left[i] + !(x[feature[i]] < threshold[i]);
			*out += value[i];
		}
	}
	return 0;
}

/* The layout the top comment describes, tree by tree: the k-th split of a
 * tree (in node order) has its children at root + 2k + 1 and root + 2k + 2. */
static int trees_check_params(const struct model *m, char *err, size_t errlen)
{
	const int F = FEATURES_TREES(m->cfg.window), T = m->cfg.trees, nodes = m->cfg.nodes;
	const int32_t *root = param_i32(m, T_ROOT), *feature = param_i32(m, T_FEATURE);
	const int32_t *left = param_i32(m, T_LEFT);

	for (int t = 0; t < T; t++) {
		int32_t first = root[t], end = t + 1 < T ? root[t + 1] : nodes, next;

		if (t == 0 && first != 0)
			return errmsg(err, errlen, "tree 0 starts at node %d, not 0", first);
		if (end <= first || end > nodes)
			return errmsg(err, errlen, "tree %d spans nodes %d..%d: roots must increase "
				      "within the %d nodes", t, first, end - 1, nodes);
		next = first + 1;
		for (int32_t i = first; i < end; i++) {
			if (feature[i] == -1) {
				if (left[i] != -1)
					return errmsg(err, errlen, "tree %d leaf %d has a child (%d)", t,
						      i, left[i]);
				continue;
			}
			if (feature[i] < 0 || feature[i] >= F)
				return errmsg(err, errlen, "tree %d node %d splits on feature %d, "
					      "outside 0..%d", t, i, feature[i], F - 1);
			if (left[i] <= i)
				return errmsg(err, errlen, "tree %d node %d has child %d at or before "
					      "itself (a cycle)", t, i, left[i]);
			if (left[i] > end - 2)
				return errmsg(err, errlen, "tree %d node %d has children %d and %ld "
					      "outside the tree's nodes %d..%d", t, i, left[i],
					      (long)left[i] + 1, first, end - 1);
			if (left[i] != next)
				return errmsg(err, errlen, "tree %d node %d has children at %d, not "
					      "%d: nodes out of breadth-first order", t, i, left[i],
					      next);
			next += 2;
		}
		if (next != end)
			return errmsg(err, errlen, "tree %d: nodes %d..%d have no parent", t, next,
				      end - 1);
	}
	return 0;
}

int model_from_trees(const struct model_config *cfg, const struct trees_arrays *a,
		     struct model **out, char *err, size_t errlen)
{
	struct model *m;

	*out = NULL;
	if (cfg->arch != ARCH_TREES)
		return errmsg(err, errlen, "architecture %s is not trees", model_arch_name(cfg->arch));
	if (model_alloc(cfg, &m, err, errlen))
		return -1;
	memcpy(param_i32(m, T_ROOT), a->root, sizeof(int32_t) * cfg->trees);
	memcpy(param_i32(m, T_FEATURE), a->feature, sizeof(int32_t) * cfg->nodes);
	memcpy(param(m, T_THRESHOLD), a->threshold, sizeof(float) * cfg->nodes);
	memcpy(param_i32(m, T_LEFT), a->left, sizeof(int32_t) * cfg->nodes);
	memcpy(param(m, T_VALUE), a->value, sizeof(float) * cfg->nodes);
	if (model_check_params(m, err, errlen)) {
		model_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

const struct arch_ops arch_trees = {
	.name = "trees",
	.about = "gradient-boosted trees, trained by XGBoost",
	.transform = FEATURES_TREES_TRANSFORM,
	.check = trees_check,
	.tensors = trees_tensors,
	.ws_floats = trees_ws_floats,
	.forward = trees_forward,
	.check_params = trees_check_params,
};
