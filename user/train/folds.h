/* SPDX-License-Identifier: MIT */
/* Cross-validation folds: which of K folds holds out each window. Blocked
 * folds follow the data's own order (the ISCX rows are stored class by
 * class in capture order): each class is cut into K contiguous blocks and
 * fold k holds out block k of every class, so whole runs of captures are
 * unseen. Sessions folds deal whole sessions of each class to the folds at
 * random; random folds deal single windows (sessions then leak). Files
 * folds hold out whole capture files (dataset_index.h: which file each
 * window came from), the truest test of a site's own captures; apps folds
 * hold out whole applications (the lab's labels), the situation of every
 * site: its applications are not the ones the model was trained on. */
#ifndef ODEFLOW_FOLDS_H
#define ODEFLOW_FOLDS_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

enum fold_split {
	FOLD_BLOCKED, FOLD_SESSIONS, FOLD_RANDOM, FOLD_FILES, FOLD_APPS, FOLD_SPLIT_COUNT
};

/* "blocked", "sessions", "random", "files", "apps", and how each deals
 * windows to folds. */
const char *fold_split_name(enum fold_split split);
const char *fold_split_about(enum fold_split split);

/* Writes fold[i] in 0..k-1 for each of the ds->n windows; seed picks the
 * sessions and random folds (blocked folds have no randomness). Each fold
 * holds out windows of every class. Returns -1 with one line in err when
 * k < 2, a class (0..num_classes-1) has no windows, or a class has fewer
 * windows (sessions folds: sessions) than there are folds. */
int folds_assign(const struct dataset *ds, int num_classes, int k, enum fold_split split,
		 uint64_t seed, int *fold, char *err, size_t errlen);

/* The column of PREFIX_index.csv whose values a split holds out whole
 * ("file" for files, "app" for apps), NULL for the others; and what the
 * values are, in words ("capture files", "applications"). */
const char *fold_split_column(enum fold_split split);
const char *fold_split_groups(enum fold_split split);

/* Files and apps folds: group[i] in 0..groups-1 is the capture file or the
 * application of window i. With k == groups each fold holds out one
 * (leave one out, fold f the group numbered f). With fewer folds the
 * groups are dealt largest first: without labels (files), each to the
 * fold with the fewest windows so far, so folds are of similar size; with
 * labels (apps, num_classes classes), each group counts as the class most
 * of its windows have, and goes to the fold holding the fewest windows of
 * that class (then the fewest windows), so a class's applications are
 * spread over the folds and each fold's model keeps some of every class
 * that has more than one. Every fold holds at least one group; a class may
 * be missing from a fold. Returns -1 with one line in err when k < 2 or
 * there are fewer groups than folds (what: "capture files"...). */
int folds_by_group(const int *group, const int *labels, int num_classes, size_t n, int groups,
		   int k, const char *what, int *fold, char *err, size_t errlen);

/* The windows of fold f into test and all others into train, both in their
 * original order. Returns -1 when out of memory. */
int folds_take(const struct dataset *ds, const int *fold, int f, struct dataset *train,
	       struct dataset *test);

#endif
