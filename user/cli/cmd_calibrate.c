/* SPDX-License-Identifier: MIT */
/* odeflow calibrate: store in a model the temperature that makes the
 * held-out predictions of its recipe (odeflow cv --predictions) best
 * calibrated, so a confidence threshold means what it says. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "command.h"
#include "engine/model.h"
#include "train/calibrate.h"
#include "train/npy.h"

ODEFLOW_COMMAND(calibrate, "fit a model's temperature on cross-validated predictions (odeflow cv --predictions)")

static void usage(FILE *out)
{
	fprintf(out,
		"usage: odeflow calibrate --model FILE --predictions PREFIX [--out FILE]\n"
		"Fits the temperature T that minimises the negative log-likelihood of\n"
		"PREFIX_logprobs.npy against PREFIX_y.npy (the held-out predictions odeflow cv\n"
		"writes for the recipe FILE was trained with) and stores it in the model, which\n"
		"then divides its logits by T. Writes FILE, or --out.\n");
}

/* PREFIX_logprobs.npy (n, C) and PREFIX_y.npy (n,) as floats and labels. */
static int load_predictions(const char *prefix, int C, float **lp, int **labels, size_t *n)
{
	char path[4096], err[4096 + 256];
	struct npy_array a = { 0 }, y = { 0 };
	int rc = -1;

	*lp = NULL;
	*labels = NULL;
	snprintf(path, sizeof(path), "%s_logprobs.npy", prefix);
	if (npy_read(path, &a, err, sizeof(err)))
		goto fail;
	if (a.ndim != 2 || a.shape[1] != (size_t)C || !a.shape[0]) {
		snprintf(err, sizeof(err), "%s: expected (n, %d): log-probabilities of the model's %d "
			 "classes", path, C, C);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s_y.npy", prefix);
	if (npy_read(path, &y, err, sizeof(err)))
		goto fail;
	if (y.ndim != 1 || y.shape[0] != a.shape[0]) {
		snprintf(err, sizeof(err), "%s: expected (%zu,): one label per prediction", path,
			 a.shape[0]);
		goto fail;
	}
	*n = a.shape[0];
	*lp = malloc(a.count * sizeof(**lp));
	*labels = malloc(*n * sizeof(**labels));
	if (!*lp || !*labels) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < a.count; i++) {
		if (!(a.data[i] <= 0)) {
			snprintf(err, sizeof(err), "%s_logprobs.npy: element %zu (%g) is not a "
				 "log-probability", prefix, i, a.data[i]);
			goto fail;
		}
		(*lp)[i] = (float)a.data[i];
	}
	for (size_t i = 0; i < *n; i++) {
		if (!(y.data[i] >= 0 && y.data[i] < C && y.data[i] == (int)y.data[i])) {
			snprintf(err, sizeof(err), "%s: index %zu: label %g is not a class id 0 to %d",
				 path, i, y.data[i], C - 1);
			goto fail;
		}
		(*labels)[i] = (int)y.data[i];
	}
	rc = 0;
fail:
	if (rc) {
		fprintf(stderr, "calibrate: %s\n", err);
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
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' }, { "predictions", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },   { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *prefix = NULL, *out = NULL;
	struct model *m = NULL;
	float *lp = NULL;
	int *labels = NULL, opt, C, rc = 1;
	double T, before, after;
	char err[512];
	size_t n;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm': path = optarg; break;
		case 'p': prefix = optarg; break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || !prefix || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (model_load(path, &m, err, sizeof(err))) {
		fprintf(stderr, "calibrate: %s\n", err);
		return 1;
	}
	C = model_config(m)->num_classes;
	if (load_predictions(prefix, C, &lp, &labels, &n))
		goto done;
	T = calib_fit_temperature(lp, labels, n, C);
	before = calib_ece(lp, labels, n, C);
	calib_apply(lp, n, C, T);
	after = calib_ece(lp, labels, n, C);
	if (model_set_temperature(m, T, err, sizeof(err)) ||
	    model_save(m, out ? out : path, err, sizeof(err))) {
		fprintf(stderr, "calibrate: %s\n", err);
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
