/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "fit.h"
#include "common/errmsg.h"

/* Trees: XGBoost fits them on every window (they have no early stopping,
 * so nothing is held out), the engine serves them. */
static int fit_trees(const struct model_config *cfg, const struct dataset *data,
		     const struct fit_options *o, struct model **out, struct train_result *r,
		     char *err, size_t errlen)
{
	struct trees_options t = o->trees;
	struct trees_result tr;
	FILE *progress = o->train.progress;

	t.threads = o->train.threads;
	t.seed = o->train.seed;
	t.balance = o->train.balance;
	t.progress = progress;
	if (progress)
		fprintf(progress, "train: %zu windows, XGBoost: %d rounds of trees of depth %d, eta "
			"%g, %d thread%s\n", data->n, t.rounds, t.depth, t.eta, t.threads,
			t.threads > 1 ? "s" : "");
	if (trees_train(cfg, data, &t, out, &tr, err, errlen))
		return -1;
	if (progress)
		fprintf(progress, "train: %d trees, %d nodes; the engine's probabilities differ from "
			"XGBoost's by %.1e at most\n", model_config(*out)->trees,
			model_config(*out)->nodes, tr.max_diff);
	*r = (struct train_result){ .epochs_run = t.rounds, .best_epoch = t.rounds,
				    .best_val_acc = -1, .first_train_acc = tr.train_acc,
				    .last_train_acc = tr.train_acc, .seconds = tr.seconds };
	return 0;
}

/* One network: start (owned; NULL: fresh parameters, the inputs' edges
 * from the data) trained on data. */
static int fit_one(const struct model_config *cfg, const struct dataset *data,
		   const struct fit_options *o, struct model *start, struct model **out,
		   struct train_result *r, char *err, size_t errlen)
{
	struct dataset train, val;
	struct model *m = start;
	size_t nparams;
	int rc = -1;

	*out = NULL;
	if (dataset_split(data, o->val_frac, o->val_by_session, o->train.seed, &train, &val)) {
		model_free(m);
		return errmsg(err, errlen, "out of memory");
	}
	if (!m) {
		if (model_create(cfg, o->train.seed, &m, err, errlen))
			goto out;
		model_init_inputs(m, train.sizes, train.n * (size_t)train.window);
	}
	model_params(m, &nparams);
	if (o->train.progress)
		fprintf(o->train.progress, "train: %zu windows, %zu held out for validation (%s), "
			"%zu parameters, %d thread%s\n", train.n, val.n,
			o->val_by_session ? "whole sessions" : "windows", nparams, o->train.threads,
			o->train.threads > 1 ? "s" : "");
	if (train_model(m, &train, &val, &o->train, r, err, errlen))
		goto out;
	*out = m;
	m = NULL;
	rc = 0;
out:
	model_free(m);
	dataset_free(&train);
	dataset_free(&val);
	return rc;
}

/* After training: what the Unknown score compares windows with, from
 * every training window (none held out, none augmented). On failure m is
 * freed and *out NULL. */
static int fit_unknown(struct model *m, const struct dataset *data, struct model **out,
		       char *err, size_t errlen)
{
	if (!model_fit_unknown(m, data->n, data->sizes, data->times, data->labels, err, errlen))
		return 0;
	model_free(m);
	*out = NULL;
	return -1;
}

/* An ensemble: each member trained alone as a one-member model, member k
 * with seed + k (its own initialisation, validation part and shuffles). */
int fit_model(const struct model_config *cfg, const struct dataset *data,
	      const struct fit_options *o, struct model **out, struct train_result *r,
	      char *err, size_t errlen)
{
	struct model_config one = *cfg;
	struct model *m = NULL, *start = NULL;
	double seconds = 0;
	int rc = -1;

	*out = NULL;
	if (cfg->arch == ARCH_TREES && !o->init)
		return fit_trees(cfg, data, o, out, r, err, errlen);
	if (o->init && model_transfer(o->init, cfg, o->train.seed, &start, err, errlen))
		return -1;
	if (cfg->members == 1) {
		if (fit_one(cfg, data, o, start, out, r, err, errlen))
			return -1;
		return fit_unknown(*out, data, out, err, errlen);
	}
	one.members = 1;
	if (model_create(cfg, o->train.seed, &m, err, errlen))
		goto out;
	for (int k = 0; k < cfg->members; k++) {
		struct fit_options ok = *o;
		struct model *member, *member_start = NULL;

		ok.train.seed = o->train.seed + (uint64_t)k;
		if (o->train.progress)
			fprintf(o->train.progress, "member %d of %d (seed %llu)\n", k + 1, cfg->members,
				(unsigned long long)ok.train.seed);
		if (start && model_get_member(start, k, &member_start, err, errlen))
			goto out;
		if (fit_one(&one, data, &ok, member_start, &member, r, err, errlen))
			goto out;
		seconds += r->seconds;
		if (model_set_member(m, k, member, err, errlen)) {
			model_free(member);
			goto out;
		}
		model_free(member);
	}
	r->seconds = seconds;
	*out = m;
	m = NULL;
	rc = fit_unknown(*out, data, out, err, errlen);
out:
	model_free(m);
	model_free(start);
	return rc;
}
