/* SPDX-License-Identifier: MIT */
/* Training recipes: the architecture, shape and training options of each
 * shipped model, written once. `odeflow train` and `odeflow cv` start from
 * one (the default model's unless --recipe or --arch says otherwise) and
 * their options change what they name; tools/train_models.sh and the model
 * card read them from `odeflow info --recipes`. */
#ifndef ODEFLOW_RECIPE_H
#define ODEFLOW_RECIPE_H

#include <stddef.h>

#include "fit.h"
#include "engine/model.h"

#define RECIPE_DEFAULT "default"

struct recipe {
	const char *name;       /* "default", "odernn", ... */
	const char *model;      /* the shipped file it makes, in models/ */
	enum model_arch arch;
	struct model_shape shape;       /* over the architecture's defaults */
	struct fit_options fit;         /* progress, threads and init are the caller's */
};

/* The i-th recipe (0, 1, ...), NULL past the last; the default is the first. */
const struct recipe *recipe_at(int i);
/* By name, NULL for an unknown one. */
const struct recipe *recipe_find(const char *name);
/* The first recipe of this architecture (every architecture has one). */
const struct recipe *recipe_of_arch(enum model_arch arch);
/* The recipe as the options of `odeflow train` that say all of it
 * ("--arch odernn-emb --hidden 24 ..."): -1 when len is too short. */
int recipe_options(const struct recipe *r, char *buf, size_t len);

#endif
