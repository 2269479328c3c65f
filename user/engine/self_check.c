/* SPDX-License-Identifier: MIT */
/* model_self_check: the model on windows shaped like real traffic. */
#include <stdlib.h>

#include "common/errmsg.h"
#include "model.h"

#define CHECK_WINDOWS 64

/* IP sizes from a bare ACK to a full MTU, and gaps between packets from
 * none (packets of one burst at the clock's resolution) to two minutes. */
static const float check_sizes[] = { 40, 52, 60, 100, 200, 576, 1000, 1300, 1420, 1500 };
static const double check_gaps[] = { 0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 120 };
#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Window b: sizes cycle from a different start in each window, and every
 * gap is check_gaps[b % 10], alternating with the gap next to it, so the
 * batch covers each size at each gap. */
static void fill(int b, int n, float *sizes, double *times)
{
	double t = 0;

	for (int i = 0; i < n; i++) {
		sizes[i] = check_sizes[(b + i) % COUNT(check_sizes)];
		if (i)
			t += check_gaps[(b + (i & 1)) % COUNT(check_gaps)];
		times[i] = t;
	}
}

int model_self_check(const struct model *m, char *err, size_t errlen)
{
	const struct model_config *cfg = model_config(m);
	const int n = cfg->window;
	struct model_ws *ws = model_ws_new(m, CHECK_WINDOWS);
	float *sizes = malloc(sizeof(float) * CHECK_WINDOWS * n);
	double *times = malloc(sizeof(double) * CHECK_WINDOWS * n);
	float *lp = malloc(sizeof(float) * CHECK_WINDOWS * cfg->num_classes);
	bool failed[CHECK_WINDOWS];
	int rc = -1, bad;

	if (!ws || !sizes || !times || !lp) {
		errmsg(err, errlen, "out of memory checking the model");
		goto out;
	}
	for (int b = 0; b < CHECK_WINDOWS; b++)
		fill(b, n, sizes + (size_t)b * n, times + (size_t)b * n);
	bad = model_classify_rows(m, ws, CHECK_WINDOWS, sizes, times, lp, failed);
	for (int b = 0; b < CHECK_WINDOWS && bad > 0; b++)
		if (failed[b]) {
			errmsg(err, errlen,
			       "the model fails on %d of %d windows shaped like real traffic (the first: "
			       "sizes %g to %g bytes, gaps of %g s): its weights overflow",
			       bad, CHECK_WINDOWS, check_sizes[0], check_sizes[COUNT(check_sizes) - 1],
			       check_gaps[b % COUNT(check_gaps)]);
			goto out;
		}
	rc = 0;
out:
	model_ws_free(ws);
	free(sizes);
	free(times);
	free(lp);
	return rc;
}
