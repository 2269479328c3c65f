/* SPDX-License-Identifier: MIT */
/* The model's memory of what it was trained on, for learning the site: a
 * few hundred windows of each class of its training data (shipped:
 * models/reference, whole ISCX sessions). A site's teacher labels only
 * what nDPI names, and the newest site windows may hold none of a class (a
 * WebRTC call, an SSH copy); fine-tuning on them alone forgets that class
 * and the judge cannot see it. So learning rehearses half of the reference
 * (whole sessions) with the site's windows, and judges CURRENT and NEW on
 * the other half: a class the site cannot judge must not be forgotten. */
#ifndef ODEFLOW_REFERENCE_H
#define ODEFLOW_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/model.h"
#include "train/dataset.h"

/* The share of the reference, in whole sessions, judged on (the rest is
 * rehearsed). */
#define REFERENCE_JUDGE_SHARE 0.5

struct reference {
	struct dataset rehearse, judge;
};

/* Loads the reference windows of dir (dataset layout, its dataset.json
 * naming cfg's classes in cfg's order, windows of cfg's size) and splits
 * them by session for seed. -1 with one line in err when it cannot be read
 * or was made for another model. */
int reference_load(const char *dir, const struct model_config *cfg, uint64_t seed,
		   struct reference *out, char *err, size_t errlen);
void reference_free(struct reference *r);

#endif
