/* SPDX-License-Identifier: MIT */
/* Labelled windows for training and evaluation: PREFIX_x.npy, shape (n, 2, N),
 * row 0 the IP total lengths in bytes and row 1 the arrival times in seconds;
 * PREFIX_y.npy, shape (n,), the class ids. Everything is validated on load,
 * so the trainer and the evaluator never see a window the engine would refuse. */
#ifndef ODEFLOW_DATASET_H
#define ODEFLOW_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dataset {
	size_t n;       /* windows */
	int window;     /* packets per window, N */
	float *sizes;   /* n * N, bytes */
	double *times;  /* n * N, seconds (double: float32 loses the microseconds) */
	int *labels;    /* n class ids in [0, num_classes) */
};

/* Loads PREFIX_x.npy and PREFIX_y.npy, or, if PREFIX is a directory,
 * PREFIX/x_train.npy and PREFIX/y_train.npy. On bad data returns -1 with one
 * line in err naming the file and the first offending window. */
int dataset_load(const char *prefix, int num_classes, struct dataset *ds, char *err, size_t errlen);
/* A file beside a dataset: PREFIX_name, or PREFIX/name when PREFIX is a
 * directory (the layout of the published data). */
void dataset_side_path(const char *prefix, const char *name, char *buf, size_t len);
/* Writes PREFIX_x.npy (float64) and PREFIX_y.npy (int64). */
int dataset_save(const char *prefix, const struct dataset *ds, char *err, size_t errlen);
void dataset_free(struct dataset *ds);

/* Each window's weight for training every class alike: n / (classes
 * present * windows of its class), so each class present weighs n / classes
 * in all (num_classes: the label range). w: ds->n floats. */
void dataset_class_weights(const struct dataset *ds, int num_classes, float *w);

/* more's windows after ds's (the same window size). Returns -1 when out of
 * memory or the sizes differ, ds then unchanged. */
int dataset_append(struct dataset *ds, const struct dataset *more);

/* A copy of the given rows, in that order. Returns -1 when out of memory. */
int dataset_subset(const struct dataset *ds, const size_t *rows, size_t count, struct dataset *out);

/* The windows marked in is_held into held, the others into rest, both in
 * their original order (so sessions stay contiguous). Returns -1 when out
 * of memory. */
int dataset_partition(const struct dataset *ds, const bool *is_held, struct dataset *rest,
		      struct dataset *held);

/* Numbers consecutive windows of one session: a new session starts where the
 * label changes or a window's first time is not after the previous window's
 * last time (windows were cut in order from each session). Writes one
 * session number per window and returns the number of sessions. */
size_t dataset_sessions(const struct dataset *ds, size_t *session);

/* Holds out about frac of each class's windows, chosen at random for a seed:
 * whole sessions if by_session (so no session is on both sides), else single
 * windows. rest and held receive copies. Returns -1 when out of memory. */
int dataset_split(const struct dataset *ds, double frac, bool by_session, uint64_t seed,
		  struct dataset *rest, struct dataset *held);

#endif
