// SPDX-License-Identifier: MIT
/* A model that starts from another's parameters: fine-tuning on new
 * windows, with the same classes or a new head for other ones. */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "common/errmsg.h"

int model_class_rows(const struct model_config *from, const struct model_config *to,
		     int row_of[ODEFLOW_MAX_CLASSES])
{
	int known = 0;

	for (int c = 0; c < to->num_classes; c++) {
		row_of[c] = -1;
		for (int o = 0; o < from->num_classes && row_of[c] < 0; o++)
			if (!strcmp(to->class_names[c], from->class_names[o]))
				row_of[c] = o;
		known += row_of[c] >= 0;
	}
	return known;
}

/* Everything but the classes, temperature, model id and window_start. */
static int same_shape(const struct model_config *a, const struct model_config *b, char *err,
		      size_t errlen)
{
	if (a->arch != b->arch)
		return errmsg(err, errlen, "the model is %s, not %s", model_arch_name(a->arch),
			      model_arch_name(b->arch));
	if (a->window != b->window)
		return errmsg(err, errlen, "the model takes windows of %d packets, not %d",
			      a->window, b->window);
	if (a->hidden != b->hidden || a->ode_hidden != b->ode_hidden || a->solver != b->solver ||
	    a->rk4_steps != b->rk4_steps || a->rtol != b->rtol || a->atol != b->atol ||
	    a->members != b->members || strcmp(a->transform, b->transform))
		return errmsg(err, errlen, "the model's shape (hidden %d, ode_hidden %d, %s x%d, "
			      "%d members) is not the one asked for", a->hidden, a->ode_hidden,
			      model_solver_name(a->solver), a->rk4_steps, a->members);
	return 0;
}

int model_transfer(const struct model *src, const struct model_config *cfg, uint64_t seed,
		   struct model **out, char *err, size_t errlen)
{
	struct tensor_spec other[MODEL_MAX_TENSORS];
	struct model_config more = *cfg;
	int row_of[ODEFLOW_MAX_CLASSES];
	struct model *m;

	*out = NULL;
	if (!model_has_gradient(src))
		return errmsg(err, errlen, "%s models cannot be fine-tuned: XGBoost trains them "
			      "whole (train --arch %s without --init)", model_arch_name(src->cfg.arch),
			      model_arch_name(src->cfg.arch));
	if (same_shape(&src->cfg, cfg, err, errlen))
		return -1;
	/* fresh parameters for the class rows no trained one fills */
	if (model_create(cfg, seed, &m, err, errlen))
		return -1;
	/* the tensors whose rows are the classes: those whose first dimension
	 * follows the class count */
	more.num_classes = cfg->num_classes + 1;
	model_tensor_specs(&more, other);
	model_class_rows(&src->cfg, cfg, row_of);
	for (int k = 0; k < cfg->members; k++) {
		const float *from = src->params + (size_t)k * src->member_params;
		float *to = m->params + (size_t)k * m->member_params;

		/* the Unknown score's tensors, when src has none, stay zero: fitting
		 * follows training (model_fit_unknown) */
		for (int t = 0; t < m->ntensors && t < src->ntensors; t++) {
			const struct tensor_spec *s = &src->tensors[t], *d = &m->tensors[t];
			size_t row = d->ndim == 2 ? (size_t)d->shape[1] : 1;

			if (other[t].shape[0] == d->shape[0]) {
				memcpy(to + d->offset, from + s->offset, d->count * sizeof(float));
				continue;
			}
			for (int c = 0; c < cfg->num_classes; c++)
				if (row_of[c] >= 0)
					memcpy(to + d->offset + c * row, from + s->offset + row_of[c] * row,
					       row * sizeof(float));
		}
	}
	*out = m;
	return 0;
}
