/* SPDX-License-Identifier: MIT */
/* odeflow calibrate: store in a model the temperature that makes the
 * held-out predictions of its recipe (odeflow cv --predictions) best
 * calibrated, so a confidence threshold means what it says. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "common/errmsg.h"
#include "engine/model.h"
#include "train/calibrate.h"
#include "train/npy.h"

enum { OPT_MODEL = 1, OPT_PREDICTIONS, OPT_OUT };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_MODEL, "model", 0, "FILE", "the model to calibrate", .required = true),
	CLI_OPTION(OPT_PREDICTIONS, "predictions", 0, "PREFIX",
		   "PREFIX_logprobs.npy and PREFIX_y.npy, from odeflow cv --predictions",
		   .required = true),
	CLI_OPTION(OPT_OUT, "out", 0, "FILE", "where to write the calibrated model",
		   .def = "the --model FILE"),
	{ 0 },
};

ODEFLOW_COMMAND(calibrate,
	.summary = "fit a model's temperature on cross-validated predictions "
		   "(odeflow cv --predictions)",
	.description = "Fits the temperature T that minimises the negative log-likelihood of "
		       "PREFIX_logprobs.npy against PREFIX_y.npy (the held-out predictions odeflow "
		       "cv writes for the recipe FILE was trained with) and stores it in the model, "
		       "which then divides its logits by T. Writes FILE, or --out.",
	.groups = { { NULL, options } });

/* PREFIX_logprobs.npy (n, C) and PREFIX_y.npy (n,) as floats and labels. */
static int load_predictions(const char *prefix, int C, float **lp, int **labels, size_t *n)
{
	char path[4096], err[ERRMSG_LEN];
	struct npy_array a = { 0 }, y = { 0 };
	int rc = -1;

	*lp = NULL;
	*labels = NULL;
	snprintf(path, sizeof(path), "%s_logprobs.npy", prefix);
	if (npy_read(path, &a, err, sizeof(err)))
		goto fail;
	if (a.ndim != 2 || a.shape[1] != (size_t)C || !a.shape[0]) {
		errmsg(err, sizeof(err),
		       "%s: expected (n, %d): log-probabilities of the model's %d "
		       "classes", path, C, C);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s_y.npy", prefix);
	if (npy_read(path, &y, err, sizeof(err)))
		goto fail;
	if (y.ndim != 1 || y.shape[0] != a.shape[0]) {
		errmsg(err, sizeof(err), "%s: expected (%zu,): one label per prediction", path,
		       a.shape[0]);
		goto fail;
	}
	*n = a.shape[0];
	*lp = malloc(a.count * sizeof(**lp));
	*labels = malloc(*n * sizeof(**labels));
	if (!*lp || !*labels) {
		errmsg(err, sizeof(err), "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < a.count; i++) {
		if (!(a.data[i] <= 0)) {
			errmsg(err, sizeof(err), "%s_logprobs.npy: element %zu (%g) is not a "
			       "log-probability", prefix, i, a.data[i]);
			goto fail;
		}
		(*lp)[i] = (float)a.data[i];
	}
	for (size_t i = 0; i < *n; i++) {
		if (!(y.data[i] >= 0 && y.data[i] < C && y.data[i] == (int)y.data[i])) {
			errmsg(err, sizeof(err),
			       "%s: index %zu: label %g is not a class id 0 to %d",
			       path, i, y.data[i], C - 1);
			goto fail;
		}
		(*labels)[i] = (int)y.data[i];
	}
	rc = 0;
fail:
	if (rc) {
		cli_fail("%s", err);
		free(*lp);
		free(*labels);
		*lp = NULL;
		*labels = NULL;
	}
	npy_free(&a);
	npy_free(&y);
	return rc;
}

int cmd_calibrate(int argc, char **argv)
{
	const char *path = NULL, *prefix = NULL, *out = NULL;
	struct model *m = NULL;
	struct cli_parse p;
	float *lp = NULL;
	int *labels = NULL, id, C, rc = 1;
	double T, before, after;
	char err[ERRMSG_LEN];
	size_t n;

	cli_parse_start(&p, &command_calibrate, argc, argv);
	while ((id = cli_next(&p)) > 0) {
		switch (id) {
		case OPT_MODEL: path = p.arg; break;
		case OPT_PREDICTIONS: prefix = p.arg; break;
		case OPT_OUT: out = p.arg; break;
		}
	}
	if (id < 0)
		return p.exit;
	if (model_load(path, &m, err, sizeof(err)))
		return cli_fail("%s", err);
	C = model_config(m)->num_classes;
	if (load_predictions(prefix, C, &lp, &labels, &n))
		goto done;
	T = calib_fit_temperature(lp, labels, n, C);
	before = calib_ece(lp, labels, n, C);
	calib_apply(lp, n, C, T);
	after = calib_ece(lp, labels, n, C);
	if (model_set_temperature(m, T, err, sizeof(err)) ||
	    model_save(m, out ? out : path, err, sizeof(err))) {
		cli_fail("%s", err);
		goto done;
	}
	printf("calibrate: temperature %.4f fitted on %zu predictions (ECE %.4f, %.4f after); "
	       "saved %s\n", T, n, before, after, out ? out : path);
	rc = 0;
done:
	free(lp);
	free(labels);
	model_free(m);
	return rc;
}
