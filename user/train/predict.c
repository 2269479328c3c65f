/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdio.h>

#include "predict.h"
#include "common/errmsg.h"

struct predict_job {
	const struct model *m;
	const struct dataset *ds;
	size_t begin, end;      /* this thread's windows */
	float *logprobs, *unknown;
	int rc;
};

static void *predict_range(void *arg)
{
	struct predict_job *j = arg;
	const int k = model_config(j->m)->num_classes, N = j->ds->window;
	struct model_ws *ws = model_ws_new(j->m, PREDICT_BATCH);

	j->rc = ws ? 0 : -1;
	for (size_t i = j->begin; ws && !j->rc && i < j->end; i += PREDICT_BATCH) {
		int b = (int)(j->end - i < PREDICT_BATCH ? j->end - i : PREDICT_BATCH);

		j->rc = model_classify_scored(j->m, ws, b, j->ds->sizes + i * N,
					      j->ds->times + i * N, j->logprobs + i * k,
					      j->unknown ? j->unknown + i : NULL, NULL) ? -1 : 0;
	}
	model_ws_free(ws);
	return NULL;
}

int predict_dataset(const struct model *m, const struct dataset *ds, int threads, float *logprobs,
		    float *unknown, char *err, size_t errlen)
{
	struct predict_job jobs[64];
	pthread_t tid[64];
	bool started[64] = { false };
	int rc = 0;

	if (threads > 64)
		threads = 64;
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct predict_job){ m, ds, ds->n * t / threads, ds->n * (t + 1) / threads,
						logprobs, unknown, 0 };
		/* the calling thread takes the first share itself */
		if (t)
			started[t] = !pthread_create(&tid[t], NULL, predict_range, &jobs[t]);
		if (t && !started[t])
			predict_range(&jobs[t]);
	}
	predict_range(&jobs[0]);
	for (int t = 0; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		rc |= jobs[t].rc;
	}
	if (rc)
		errmsg(err, errlen, "the engine refused a window or ran out of memory");
	return rc ? -1 : 0;
}
