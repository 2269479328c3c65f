/* SPDX-License-Identifier: MIT */
#include "reference.h"

#include <string.h>

#include "common/errmsg.h"
#include "train/dataset_info.h"

int reference_load(const char *dir, const struct model_config *cfg, uint64_t seed,
		   struct reference *out, char *err, size_t errlen)
{
	struct dataset_info info = { 0 };
	struct dataset all = { 0 };
	char why[ERRMSG_LEN];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dataset_info_load(dir, &info, why, sizeof(why));
	if (rc < 0)
		return errmsg(err, errlen, "reference windows: %s", why);
	if (rc > 0 || !dataset_info_same_classes(&info, cfg))
		return errmsg(err, errlen, "reference windows %s: not of the model's classes (its "
			      "dataset.json names other classes, or none)", dir);
	if (dataset_load(dir, cfg->num_classes, &all, why, sizeof(why)))
		return errmsg(err, errlen, "reference windows: %s", why);
	if (all.window != cfg->window) {
		rc = errmsg(err, errlen, "reference windows %s: of %d packets, the model's of %d",
			    dir, all.window, cfg->window);
	} else if (dataset_split(&all, REFERENCE_JUDGE_SHARE, true, seed, &out->rehearse,
				 &out->judge)) {
		rc = errmsg(err, errlen, "out of memory");
	}
	dataset_free(&all);
	if (rc)
		reference_free(out);
	return rc;
}

void reference_free(struct reference *r)
{
	dataset_free(&r->rehearse);
	dataset_free(&r->judge);
}
