/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folds.h"
#include "common/errmsg.h"
#include "common/rng.h"
#include "engine/model.h"

static const struct {
	const char *name, *about, *column, *groups;
} splits[] = {
	[FOLD_BLOCKED] = { "blocked", "each class cut into K contiguous blocks in data order, "
				      "fold k holds out block k of every class", NULL, NULL },
	[FOLD_SESSIONS] = { "sessions", "whole sessions dealt at random", NULL, NULL },
	[FOLD_RANDOM] = { "random", "single windows dealt at random", NULL, NULL },
	[FOLD_FILES] = { "files", "whole capture files, as odeflow pcap2npy's PREFIX_index.csv "
				  "names them: one a fold when K is their number, else dealt "
				  "largest first to the emptiest fold", "file", "capture files" },
	[FOLD_APPS] = { "apps", "whole applications, the \"app\" column of PREFIX_index.csv "
				"(pcap2npy --labels): one a fold when K is their number, else each "
				"class's dealt largest first to the fold with the fewest windows of "
				"that class", "app", "applications" },
};
_Static_assert(sizeof(splits) / sizeof(splits[0]) == FOLD_SPLIT_COUNT, "every split is named");

const char *fold_split_name(enum fold_split split)
{
	return (int)split >= 0 && split < FOLD_SPLIT_COUNT ? splits[split].name : "?";
}

const char *fold_split_about(enum fold_split split)
{
	return (int)split >= 0 && split < FOLD_SPLIT_COUNT ? splits[split].about : NULL;
}

const char *fold_split_column(enum fold_split split)
{
	return (int)split >= 0 && split < FOLD_SPLIT_COUNT ? splits[split].column : NULL;
}

const char *fold_split_groups(enum fold_split split)
{
	return (int)split >= 0 && split < FOLD_SPLIT_COUNT ? splits[split].groups : NULL;
}

int folds_assign(const struct dataset *ds, int num_classes, int k, enum fold_split split,
		 uint64_t seed, int *fold, char *err, size_t errlen)
{
	size_t *unit = malloc((ds->n ? ds->n : 1) * sizeof(*unit));
	size_t *members = malloc((ds->n ? ds->n : 1) * sizeof(*members));
	int *fold_of = malloc((ds->n ? ds->n : 1) * sizeof(*fold_of));
	struct rng rng = { seed ^ 0xf01d5ULL };
	int rc = -1;

	if (!unit || !members || !fold_of) {
		errmsg(err, errlen, "out of memory");
		goto out;
	}
	if (k < 2) {
		errmsg(err, errlen, "--folds %d: cross-validation needs at least 2 folds", k);
		goto out;
	}
	if (fold_split_column(split)) {
		errmsg(err, errlen, "%s folds come from the dataset's index: folds_by_group",
		       fold_split_name(split));
		goto out;
	}
	/* a unit is what a fold takes whole: a session, or a single window */
	if (split == FOLD_SESSIONS) {
		dataset_sessions(ds, unit);
	} else {
		for (size_t w = 0; w < ds->n; w++)
			unit[w] = w;
	}
	for (int c = 0; c < num_classes; c++) {
		size_t units = 0, windows = 0;

		/* the class's units in data order (a session never spans two classes) */
		for (size_t w = 0; w < ds->n; w++) {
			if (ds->labels[w] != c)
				continue;
			windows++;
			if (!units || members[units - 1] != unit[w])
				members[units++] = unit[w];
		}
		if (!windows) {
			errmsg(err, errlen, "class %d has no windows: every fold must hold some of each class",
			       c);
			goto out;
		}
		if (units < (size_t)k) {
			errmsg(err, errlen, "class %d has %zu %s, fewer than %d folds", c, units,
			       split == FOLD_SESSIONS ? "sessions" : "windows", k);
			goto out;
		}
		if (split != FOLD_BLOCKED)
			rng_shuffle(&rng, members, units);
		for (size_t j = 0; j < units; j++)
			fold_of[members[j]] = (int)(j * (size_t)k / units);
	}
	for (size_t w = 0; w < ds->n; w++)
		fold[w] = fold_of[unit[w]];
	rc = 0;
out:
	free(unit);
	free(members);
	free(fold_of);
	return rc;
}

struct group_size {
	int group, class_id;
	size_t windows;
};

static int larger_first(const void *a, const void *b)
{
	const struct group_size *x = a, *y = b;

	if (x->windows != y->windows)
		return x->windows > y->windows ? -1 : 1;
	return x->group - y->group;
}

/* Each group's size and, with labels, the class most of its windows have. */
static int measure(const int *group, const int *labels, int num_classes, size_t n, int groups,
		   struct group_size *size)
{
	size_t *per_class = labels ? calloc((size_t)groups * num_classes, sizeof(*per_class)) : NULL;

	if (labels && !per_class)
		return -1;
	for (int g = 0; g < groups; g++)
		size[g] = (struct group_size){ .group = g };
	for (size_t w = 0; w < n; w++) {
		size[group[w]].windows++;
		if (labels)
			per_class[(size_t)group[w] * num_classes + labels[w]]++;
	}
	for (int g = 0; labels && g < groups; g++)
		for (int c = 1; c < num_classes; c++)
			if (per_class[(size_t)g * num_classes + c] >
			    per_class[(size_t)g * num_classes + size[g].class_id])
				size[g].class_id = c;
	free(per_class);
	return 0;
}

int folds_by_group(const int *group, const int *labels, int num_classes, size_t n, int groups,
		   int k, const char *what, int *fold, char *err, size_t errlen)
{
	struct group_size *size;
	size_t *held, *held_class;
	int *fold_of, rc = -1, C = labels ? num_classes : 1;

	if (k < 2)
		return errmsg(err, errlen, "--folds %d: cross-validation needs at least 2 folds", k);
	if (groups < k)
		return errmsg(err, errlen, "the index names %d %s, fewer than %d folds", groups, what,
			      k);
	size = calloc((size_t)groups, sizeof(*size));
	held = calloc((size_t)k, sizeof(*held));
	held_class = calloc((size_t)k * C, sizeof(*held_class));
	fold_of = calloc((size_t)groups, sizeof(*fold_of));
	if (!size || !held || !held_class || !fold_of ||
	    measure(group, labels, num_classes, n, groups, size)) {
		errmsg(err, errlen, "out of memory");
		goto out;
	}
	if (k == groups) {
		for (int g = 0; g < groups; g++)
			fold_of[g] = g;
	} else {
		qsort(size, (size_t)groups, sizeof(*size), larger_first);
		for (int i = 0; i < groups; i++) {
			const size_t *of_class = held_class + size[i].class_id;
			int best = 0;

			for (int f = 1; f < k; f++)
				if (of_class[(size_t)f * C] < of_class[(size_t)best * C] ||
				    (of_class[(size_t)f * C] == of_class[(size_t)best * C] &&
				     held[f] < held[best]))
					best = f;
			fold_of[size[i].group] = best;
			held[best] += size[i].windows;
			held_class[(size_t)best * C + size[i].class_id] += size[i].windows;
		}
	}
	for (size_t w = 0; w < n; w++)
		fold[w] = fold_of[group[w]];
	rc = 0;
out:
	free(size);
	free(held);
	free(held_class);
	free(fold_of);
	return rc;
}

int folds_take(const struct dataset *ds, const int *fold, int f, struct dataset *train,
	       struct dataset *test)
{
	bool *is_test = malloc((ds->n ? ds->n : 1) * sizeof(*is_test));
	int rc;

	memset(train, 0, sizeof(*train));
	memset(test, 0, sizeof(*test));
	if (!is_test)
		return -1;
	for (size_t w = 0; w < ds->n; w++)
		is_test[w] = fold[w] == f;
	rc = dataset_partition(ds, is_test, train, test);
	free(is_test);
	return rc;
}
