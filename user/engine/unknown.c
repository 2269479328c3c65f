// SPDX-License-Identifier: MIT
/* The Unknown scores; above the model's threshold, fitted on held-out
 * applications (odeflow calibrate), a window is Unknown. models/README.md
 * says which one the shipped model uses and why.
 *
 * confidence: 1 - the calibrated top probability; nothing stored.
 *
 * mahalanobis: how far a window's hidden state (the head's input: the
 * last and the mean state) lies from the states of the training windows
 * of the class the model names, in the Mahalanobis metric of their shared
 * within-class covariance (a linear discriminant's view of the state),
 * averaged over the members of an ensemble: a window unlike anything of
 * that class scores high whatever its confidence. Each member stores
 * W = L^-1, L the Cholesky factor of the covariance, and each class's
 * centre W mu_c, so a window costs one D x D product (z = W h) and one
 * distance |z - W mu_c|^2 per member. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "common/errmsg.h"

/* LAPACK, from OpenBLAS (no LAPACKE header is needed for two calls) */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *lda,
	     int *info);

/* A class without training windows: its centre this far out in every
 * dimension, so its distance overflows to the largest float. */
#define UNKNOWN_NOWHERE 1e18f
#define FIT_BATCH 256

void unknown_tensors(const struct model_config *c, int dim, struct tensor_spec *t, int *n)
{
	tensor_add(t, n, "unknown.whiten", dim, dim, 1);
	t[*n - 1].frozen = true;
	t[*n - 1].init_bound = 0;
	tensor_add(t, n, "unknown.center", c->num_classes, dim, 1);
	t[*n - 1].frozen = true;
	t[*n - 1].init_bound = 0;
}

/* The member's whitening matrix and class centres: its last two tensors. */
static const float *whiten_of(const struct model *member)
{
	return param(member, member->ntensors - 2);
}

static const float *center_of(const struct model *member)
{
	return param(member, member->ntensors - 1);
}

size_t unknown_ws_floats(const struct model *m, int B)
{
	if (m->cfg.unknown != UNKNOWN_MAHALANOBIS)
		return 0;
	return (size_t)m->cfg.members * B * m->ops->state_dim(&m->cfg);
}

void unknown_project(const struct model *member, const float *h, int B, float *z)
{
	const int D = member->ops->state_dim(&member->cfg);

	if (B == 1)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, D, D, 1.0f, whiten_of(member), D, h, 1,
			    0.0f, z, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, D, D, 1.0f, h, D,
			    whiten_of(member), D, 0.0f, z, D);
}

void unknown_score(const struct model *m, const float *z, int B, const float *logprobs,
		   float *score)
{
	const int C = m->cfg.num_classes, K = m->cfg.members;
	const int D = m->cfg.unknown == UNKNOWN_MAHALANOBIS ? m->ops->state_dim(&m->cfg) : 0;

	if (m->cfg.unknown != UNKNOWN_MAHALANOBIS) {
		for (int b = 0; b < B; b++) {
			const float *lp = logprobs + (size_t)b * C;
			float top = lp[0];

			for (int j = 1; j < C; j++)
				top = lp[j] > top ? lp[j] : top;
			score[b] = m->cfg.unknown == UNKNOWN_CONFIDENCE ? 1.0f - expf(top) : 0.0f;
		}
		return;
	}
	for (int b = 0; b < B; b++) {
		const float *lp = logprobs + (size_t)b * C;
		int c = 0;
		double sum = 0;

		for (int j = 1; j < C; j++)
			c = lp[j] > lp[c] ? j : c;
		for (int k = 0; k < K; k++) {
			struct model member;
			const float *zk = z + ((size_t)k * B + b) * D, *ck;

			model_member(m, k, &member);
			ck = center_of(&member) + (size_t)c * D;
			for (int d = 0; d < D; d++)
				sum += (double)(zk[d] - ck[d]) * (zk[d] - ck[d]);
		}
		score[b] = sum / K < FLT_MAX ? (float)(sum / K) : FLT_MAX;
	}
}

/* Running sums of one member's states: per class, their count and sum;
 * over all, the sum of their outer products. */
struct moments {
	double *sum, *outer;
	size_t *count;
};

static void moments_add(struct moments *mo, const float *h, const int *labels, int B, int D)
{
	for (int b = 0; b < B; b++) {
		const float *x = h + (size_t)b * D;
		double *s = mo->sum + (size_t)labels[b] * D;

		mo->count[labels[b]]++;
		for (int i = 0; i < D; i++) {
			s[i] += x[i];
			for (int j = 0; j <= i; j++)
				mo->outer[(size_t)i * D + j] += (double)x[i] * x[j];
		}
	}
}

/* W = L^-1 and the centres W mu_c from one member's moments. */
static int moments_finish(const struct moments *mo, size_t n, int C, int D, float *w,
			  float *center, char *err, size_t errlen)
{
	double *cov = mo->outer, trace = 0;
	int info = 0;

	/* within-class covariance: (sum x x^T - sum_c n_c mu_c mu_c^T) / n */
	for (int c = 0; c < C; c++) {
		const double *s = mo->sum + (size_t)c * D;

		for (int i = 0; mo->count[c] && i < D; i++)
			for (int j = 0; j <= i; j++)
				cov[(size_t)i * D + j] -= s[i] * s[j] / (double)mo->count[c];
	}
	for (int i = 0; i < D; i++)
		for (int j = 0; j <= i; j++)
			cov[(size_t)j * D + i] = cov[(size_t)i * D + j] /= (double)n;
	for (int i = 0; i < D; i++)
		trace += cov[(size_t)i * D + i];
	for (int i = 0; i < D; i++)
		cov[(size_t)i * D + i] += UNKNOWN_SHRINK * trace / D + UNKNOWN_FLOOR;
	/* column-major to LAPACK: the lower factor of a symmetric matrix is
	 * read back transposed, L(r, c) = cov[c * D + r] */
	dpotrf_("L", &D, cov, &D, &info);
	if (!info)
		dtrtri_("L", "N", &D, cov, &D, &info);
	if (info)
		return errmsg(err, errlen, "the hidden states' covariance is not positive definite "
			      "(LAPACK info %d)", info);
	for (int r = 0; r < D; r++)
		for (int c = 0; c < D; c++)
			w[(size_t)r * D + c] = c <= r ? (float)cov[(size_t)c * D + r] : 0.0f;
	for (int c = 0; c < C; c++)
		for (int r = 0; r < D; r++) {
			double sum = 0;

			for (int j = 0; j <= r && mo->count[c]; j++)
				sum += w[(size_t)r * D + j] * mo->sum[(size_t)c * D + j] /
				       (double)mo->count[c];
			center[(size_t)c * D + r] = mo->count[c] ? (float)sum : UNKNOWN_NOWHERE;
		}
	return 0;
}

int model_fit_unknown(struct model *m, size_t n, const float *sizes, const double *times,
		      const int *labels, char *err, size_t errlen)
{
	const int K = m->cfg.members, C = m->cfg.num_classes, N = m->cfg.window;
	struct moments *mo;
	struct model_ws *ws = NULL;
	float *logits = NULL, *h = NULL;
	int rc = -1, D;

	if (m->cfg.unknown != UNKNOWN_MAHALANOBIS)
		return 0;
	D = m->ops->state_dim(&m->cfg);
	mo = calloc((size_t)K, sizeof(*mo));
	if (!n) {
		free(mo);
		return errmsg(err, errlen, "no windows to fit the Unknown score on");
	}
	ws = model_ws_new(m, FIT_BATCH);
	logits = malloc(sizeof(float) * K * FIT_BATCH * C);
	h = malloc(sizeof(float) * K * FIT_BATCH * D);
	for (int k = 0; mo && k < K; k++) {
		mo[k].sum = calloc((size_t)C * D, sizeof(double));
		mo[k].outer = calloc((size_t)D * D, sizeof(double));
		mo[k].count = calloc((size_t)C, sizeof(size_t));
		if (!mo[k].sum || !mo[k].outer || !mo[k].count)
			goto oom;
	}
	if (!mo || !ws || !logits || !h)
		goto oom;
	for (size_t at = 0; at < n; at += FIT_BATCH) {
		int B = n - at < FIT_BATCH ? (int)(n - at) : FIT_BATCH;

		if (model_states(m, ws, B, sizes + at * N, times + at * N, logits, h)) {
			errmsg(err, errlen, "window %zu: the model fails on it", at);
			goto out;
		}
		for (int k = 0; k < K; k++)
			moments_add(&mo[k], h + (size_t)k * B * D, labels + at, B, D);
	}
	for (int k = 0; k < K; k++) {
		struct model member;

		model_member(m, k, &member);
		if (moments_finish(&mo[k], n, C, D, param(&member, member.ntensors - 2),
				   param(&member, member.ntensors - 1), err, errlen))
			goto out;
	}
	rc = 0;
	goto out;
oom:
	errmsg(err, errlen, "out of memory");
out:
	for (int k = 0; mo && k < K; k++) {
		free(mo[k].sum);
		free(mo[k].outer);
		free(mo[k].count);
	}
	free(mo);
	free(logits);
	free(h);
	model_ws_free(ws);
	return rc;
}
