/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "fit.h"
#include "common/errmsg.h"

int fit_model(const struct model_config *cfg, const struct dataset *data,
	      const struct fit_options *o, struct model **out, struct train_result *r,
	      char *err, size_t errlen)
{
	struct dataset train, val;
	struct model *m = NULL;
	size_t nparams;
	int rc = -1;

	*out = NULL;
	if (dataset_split(data, o->val_frac, o->val_by_session, o->train.seed, &train, &val))
		return errmsg(err, errlen, "out of memory");
	if (model_create(cfg, o->train.seed, &m, err, errlen))
		goto out;
	model_init_inputs(m, train.sizes, train.n * (size_t)train.window);
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
