/* SPDX-License-Identifier: MIT */
/* Classifying a whole dataset with the engine, in batches, on several
 * threads: validation during training and `odeflow eval` share it. */
#ifndef ODEFLOW_PREDICT_H
#define ODEFLOW_PREDICT_H

#include "dataset.h"
#include "engine/model.h"

#define PREDICT_BATCH 256

/* Writes ds->n * num_classes log-probabilities and, unless unknown is
 * NULL, ds->n Unknown scores (model_classify_scored). threads >= 1.
 * Returns 0, or -1 with err set if the engine refused a window or memory
 * ran out. */
int predict_dataset(const struct model *m, const struct dataset *ds, int threads, float *logprobs,
		    float *unknown, char *err, size_t errlen);

#endif
