/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crossval.h"
#include "common/errmsg.h"
#include "folds.h"
#include "predict.h"

struct crossval_job {
	const struct model_config *cfg;
	const struct dataset *ds, *also;
	const int *fold;
	const struct fit_options *o;
	float *logprobs, *unknown;
	struct crossval_fold *folds;
	FILE *progress;
	int k, next;            /* folds are taken in order under lock */
	pthread_mutex_t lock;
	int rc;
	char err[ERRMSG_LEN];
};

/* One fold: train on the others, classify it, scatter its rows back. */
static int run_fold(struct crossval_job *j, int f, char *err, size_t errlen)
{
	const int C = j->cfg->num_classes;
	struct crossval_fold *out = &j->folds[f];
	struct dataset train, test;
	struct train_result r;
	struct model *m = NULL;
	float *lp = NULL, *un = NULL;
	int rc = -1;

	if (folds_take(j->ds, j->fold, f, &train, &test) ||
	    (j->also->n && dataset_append(&train, j->also))) {
		dataset_free(&train);
		dataset_free(&test);
		return errmsg(err, errlen, "out of memory");
	}
	if (fit_model(j->cfg, &train, j->o, &m, &r, err, errlen))
		goto out;
	lp = malloc(test.n * C * sizeof(*lp));
	un = malloc((test.n + 1) * sizeof(*un));
	if (!lp || !un) {
		errmsg(err, errlen, "out of memory");
		goto out;
	}
	if (predict_dataset(m, &test, 1, lp, un, err, errlen))
		goto out;
	metrics_compute(test.labels, lp, test.n, C, &out->m);
	out->train_n = train.n;
	out->test_n = test.n;
	out->seconds = r.seconds;
	for (size_t w = 0, i = 0; w < j->ds->n; w++)
		if (j->fold[w] == f) {
			if (j->unknown)
				j->unknown[w] = un[i];
			memcpy(j->logprobs + w * C, lp + i++ * C, C * sizeof(*lp));
		}
	rc = 0;
out:
	free(lp);
	free(un);
	model_free(m);
	dataset_free(&train);
	dataset_free(&test);
	return rc;
}

static void *worker(void *arg)
{
	struct crossval_job *j = arg;
	char err[ERRMSG_LEN];

	for (;;) {
		int f, rc;

		pthread_mutex_lock(&j->lock);
		f = j->rc ? j->k : j->next++;
		pthread_mutex_unlock(&j->lock);
		if (f >= j->k)
			return NULL;
		rc = run_fold(j, f, err, sizeof(err));
		pthread_mutex_lock(&j->lock);
		if (rc && !j->rc) {
			j->rc = -1;
			errmsg(j->err, sizeof(j->err), "fold %d: %s", f + 1, err);
		}
		if (!rc && j->progress) {
			const struct crossval_fold *d = &j->folds[f];

			fprintf(j->progress, "fold %d: trained on %zu, tested on %zu: accuracy %.2f%%, "
				"macro F1 %.4f (%.1f s)\n", f + 1, d->train_n, d->test_n,
				100 * d->m.accuracy, d->m.macro_f1, d->seconds);
			fflush(j->progress);
		}
		pthread_mutex_unlock(&j->lock);
	}
}

int crossval_run(const struct model_config *cfg, const struct dataset *ds,
		 const struct dataset *also, const int *fold,
		 int k, const struct fit_options *o, int jobs, float *logprobs, float *unknown,
		 struct crossval_fold *folds, FILE *progress, char *err, size_t errlen)
{
	struct crossval_job j = { .cfg = cfg, .ds = ds, .also = also, .fold = fold, .o = o,
				  .logprobs = logprobs, .unknown = unknown, .folds = folds,
				  .progress = progress,
				  .k = k };
	pthread_t tid[CROSSVAL_MAX_JOBS];
	int started = 0;

	if (k < 2 || k > CROSSVAL_MAX_FOLDS || jobs < 1 || jobs > CROSSVAL_MAX_JOBS)
		return errmsg(err, errlen, "need 2 to %d folds and 1 to %d jobs", CROSSVAL_MAX_FOLDS,
			      CROSSVAL_MAX_JOBS);
	pthread_mutex_init(&j.lock, NULL);
	/* the calling thread works too; a thread that cannot start leaves it more */
	for (int t = 1; t < jobs && t < k; t++)
		if (!pthread_create(&tid[started], NULL, worker, &j))
			started++;
	worker(&j);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	pthread_mutex_destroy(&j.lock);
	if (j.rc)
		return errmsg(err, errlen, "%s", j.err);
	return 0;
}
