/* SPDX-License-Identifier: MIT */
/* odeflow calibrate: store in a model the temperature that makes the
 * held-out predictions of its recipe (odeflow cv --predictions) best
 * calibrated, so a confidence threshold means what it says; and, from
 * held-out applications, the threshold of its Unknown score. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "common/errmsg.h"
#include "engine/model.h"
#include "train/calibrate.h"
#include "train/named_metrics.h"
#include "train/npy.h"

enum { OPT_MODEL = 1, OPT_PREDICTIONS, OPT_OUT, OPT_NAMED_ACCURACY };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_MODEL, "model", 0, "FILE", "the model to calibrate", .required = true),
	CLI_OPTION(OPT_PREDICTIONS, "predictions", 0, "PREFIX",
		   "PREFIX_logprobs.npy and PREFIX_y.npy, from odeflow cv --predictions",
		   .required = true),
	CLI_OPTION(OPT_OUT, "out", 0, "FILE", "where to write the calibrated model",
		   .def = "the --model FILE"),
	CLI_OPTION(OPT_NAMED_ACCURACY, "named-accuracy", 0, "A",
		   "the Unknown threshold names as many held-out windows as it can with A of "
		   "them right", .def = CLI_STR(NAMED_DEFAULT_ACCURACY)),
	{ 0 },
};

ODEFLOW_COMMAND(calibrate,
	.summary = "fit a model's temperature on cross-validated predictions "
		   "(odeflow cv --predictions)",
	.description = "Fits the temperature T that minimises the negative log-likelihood of "
		       "PREFIX_logprobs.npy against PREFIX_y.npy (the held-out predictions odeflow "
		       "cv writes for the recipe FILE was trained with) and stores it in the model, "
		       "which then divides its logits by T. A model with an Unknown score also gets "
		       "its threshold, fitted on PREFIX_unknown.npy, which odeflow cv --split apps "
		       "writes: held-out applications, never held-out windows of applications the "
		       "models trained on. Writes FILE, or --out.",
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

/* PREFIX_unknown.npy: n scores (NaN for a window the model failed on).
 * 1 when there is none; -1 with one line in err when it is wrong. */
static int load_unknown(const char *prefix, size_t n, float **unknown, char *err, size_t errlen)
{
	char path[4096];
	struct npy_array a = { 0 };

	*unknown = NULL;
	snprintf(path, sizeof(path), "%s_unknown.npy", prefix);
	if (access(path, F_OK) && errno == ENOENT)
		return 1;
	if (npy_read(path, &a, err, errlen))
		return -1;
	if (a.ndim != 1 || a.shape[0] != n) {
		npy_free(&a);
		return errmsg(err, errlen, "%s: expected (%zu,): one score per prediction", path, n);
	}
	*unknown = malloc((n ? n : 1) * sizeof(**unknown));
	for (size_t i = 0; *unknown && i < n; i++)
		(*unknown)[i] = (float)a.data[i];
	npy_free(&a);
	return *unknown ? 0 : errmsg(err, errlen, "out of memory");
}

/* The Unknown threshold from held-out applications' scores, into m; what
 * it does, into said. 1: nothing to fit (no score in the model, or none
 * in the predictions); -1 with one line in err. */
static int fit_unknown(struct model *m, const char *prefix, const float *lp, const int *labels,
		       size_t n, double accuracy, char *said, size_t len, char *err,
		       size_t errlen)
{
	const struct model_config *c = model_config(m);
	struct named_metrics at;
	float *unknown;
	double t;
	int rc;

	if (c->unknown == UNKNOWN_NONE)
		return 1;
	if ((rc = load_unknown(prefix, n, &unknown, err, errlen))) {
		if (rc > 0)
			snprintf(said, len, "; no %s_unknown.npy (odeflow cv --split apps "
				 "--predictions writes it): the Unknown threshold left at %g",
				 prefix, c->unknown_threshold);
		return rc;
	}
	rc = named_fit_threshold(labels, lp, unknown, n, c->num_classes, accuracy, &t);
	if (!rc)
		named_compute(labels, lp, unknown, n, c->num_classes, t, &at);
	free(unknown);
	if (rc)
		return errmsg(err, errlen, "out of memory");
	if (model_set_unknown_threshold(m, t, err, errlen))
		return -1;
	snprintf(said, len, "; Unknown threshold %g: of the held-out applications' windows it "
		 "names %.2f%%, %.2f%% of those right", t, 100 * at.share, 100 * at.accuracy);
	return 0;
}

int cmd_calibrate(int argc, char **argv)
{
	const char *path = NULL, *prefix = NULL, *out = NULL;
	struct model *m = NULL;
	struct cli_parse p;
	float *lp = NULL;
	int *labels = NULL, id, C, rc = 1;
	double T, before, after, accuracy = NAMED_DEFAULT_ACCURACY;
	char err[ERRMSG_LEN], said[512] = "";
	size_t n;

	cli_parse_start(&p, &command_calibrate, argc, argv);
	while ((id = cli_next(&p)) > 0) {
		switch (id) {
		case OPT_MODEL: path = p.arg; break;
		case OPT_PREDICTIONS: prefix = p.arg; break;
		case OPT_OUT: out = p.arg; break;
		case OPT_NAMED_ACCURACY: cli_double(&p, 0, 1, true, &accuracy); break;
		}
	}
	if (id < 0)
		return p.exit;
	if (model_load(path, &m, err, sizeof(err)))
		return cli_fail("%s", err);
	C = model_config(m)->num_classes;
	if (load_predictions(prefix, C, &lp, &labels, &n))
		goto done;
	/* the score does not depend on the temperature: the class it measures
	 * from is the most likely one either way */
	if (fit_unknown(m, prefix, lp, labels, n, accuracy, said, sizeof(said), err,
			sizeof(err)) < 0) {
		cli_fail("%s", err);
		goto done;
	}
	T = calib_fit_temperature(lp, labels, n, C);
	before = calib_ece(lp, labels, n, C);
	calib_apply(lp, n, C, T);
	after = calib_ece(lp, labels, n, C);
	if (model_set_temperature(m, T, err, sizeof(err)) ||
	    model_save(m, out ? out : path, err, sizeof(err))) {
		cli_fail("%s", err);
		goto done;
	}
	printf("calibrate: temperature %.4f fitted on %zu predictions (ECE %.4f, %.4f after)%s; "
	       "saved %s\n", T, n, before, after, said, out ? out : path);
	rc = 0;
done:
	free(lp);
	free(labels);
	model_free(m);
	return rc;
}
