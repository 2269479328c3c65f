/* SPDX-License-Identifier: MIT */
#include "model_choices.h"

#include <stddef.h>

#include "engine/model.h"

const char *model_arch_choice(int i, const char **about)
{
	if (i < 0 || i >= MODEL_ARCH_COUNT)
		return NULL;
	*about = model_arch_about((enum model_arch)i);
	return model_arch_name((enum model_arch)i);
}

const char *model_solver_choice(int i, const char **about)
{
	if (i < 0 || i >= MODEL_SOLVER_COUNT)
		return NULL;
	*about = NULL;
	return model_solver_name((enum model_solver)i);
}
