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
	const char *name, *about;
} splits[] = {
	[FOLD_BLOCKED] = { "blocked", "each class cut into K contiguous blocks in data order, "
				      "fold k holds out block k of every class" },
	[FOLD_SESSIONS] = { "sessions", "whole sessions dealt at random" },
	[FOLD_RANDOM] = { "random", "single windows dealt at random" },
	[FOLD_FILES] = { "files", "whole capture files, as odeflow pcap2npy's PREFIX_index.csv "
				  "names them: one a fold when K is their number, else dealt "
				  "largest first to the emptiest fold" },
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
	if (split == FOLD_FILES) {
		errmsg(err, errlen, "files folds come from the dataset's index: folds_by_file");
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

struct file_size {
	int file;
	size_t windows;
};

static int larger_first(const void *a, const void *b)
{
	const struct file_size *x = a, *y = b;

	if (x->windows != y->windows)
		return x->windows > y->windows ? -1 : 1;
	return x->file - y->file;
}

int folds_by_file(const int *file, size_t n, int files, int k, int *fold, char *err,
		  size_t errlen)
{
	struct file_size *size;
	size_t *held;
	int *fold_of;

	if (k < 2)
		return errmsg(err, errlen, "--folds %d: cross-validation needs at least 2 folds", k);
	if (files < k)
		return errmsg(err, errlen, "the index names %d capture file%s, fewer than %d folds",
			      files, files == 1 ? "" : "s", k);
	size = calloc((size_t)files, sizeof(*size));
	held = calloc((size_t)k, sizeof(*held));
	fold_of = calloc((size_t)files, sizeof(*fold_of));
	if (!size || !held || !fold_of) {
		free(size);
		free(held);
		free(fold_of);
		return errmsg(err, errlen, "out of memory");
	}
	for (int f = 0; f < files; f++)
		size[f].file = f;
	for (size_t w = 0; w < n; w++)
		size[file[w]].windows++;
	if (k == files) {
		for (int f = 0; f < files; f++)
			fold_of[f] = f;
	} else {
		qsort(size, (size_t)files, sizeof(*size), larger_first);
		for (int i = 0; i < files; i++) {
			int lightest = 0;

			for (int f = 1; f < k; f++)
				if (held[f] < held[lightest])
					lightest = f;
			fold_of[size[i].file] = lightest;
			held[lightest] += size[i].windows;
		}
	}
	for (size_t w = 0; w < n; w++)
		fold[w] = fold_of[file[w]];
	free(size);
	free(held);
	free(fold_of);
	return 0;
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
