/* SPDX-License-Identifier: MIT */
/* Loading, validating, saving and splitting labelled windows. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "common/errmsg.h"
#include "engine/model.h"
#include "npy.h"
#include "common/rng.h"

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

void dataset_side_path(const char *prefix, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, is_dir(prefix) ? "%s/%s" : "%s_%s", prefix, name);
}

/* PREFIX_x.npy, or PREFIX/x_train.npy for the layout of the published data. */
static void dataset_paths(const char *prefix, char *x, char *y, size_t len)
{
	if (is_dir(prefix)) {
		snprintf(x, len, "%s/x_train.npy", prefix);
		snprintf(y, len, "%s/y_train.npy", prefix);
	} else {
		snprintf(x, len, "%s_x.npy", prefix);
		snprintf(y, len, "%s_y.npy", prefix);
	}
}

static void format_shape(const struct npy_array *a, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "(");

	for (int i = 0; i < a->ndim && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%zu%s", a->shape[i],
				      a->ndim == 1 ? "," : i + 1 < a->ndim ? ", " : "");
	if (n < len)
		snprintf(buf + n, len - n, ")");
}

static int check_x(const struct npy_array *x, const char *path, char *err, size_t errlen)
{
	char shape[200];
	size_t n, N;

	format_shape(x, shape, sizeof(shape));
	if (x->ndim != 3 || x->shape[1] != 2)
		return errmsg(err, errlen, "%s: shape %s, expected (n, 2, N): sizes and times of n windows",
			    path, shape);
	n = x->shape[0];
	N = x->shape[2];
	if (N < 2 || N > ODEFLOW_MAX_WINDOW)
		return errmsg(err, errlen, "%s: shape %s: window of %zu packets, expected 2 to %d", path,
			    shape, N, ODEFLOW_MAX_WINDOW);
	if (n == 0)
		return errmsg(err, errlen, "%s: no windows", path);
	for (size_t w = 0; w < n; w++) {
		const double *size = x->data + w * 2 * N, *time = size + N;

		for (size_t p = 0; p < N; p++) {
			if (!isfinite(size[p]) || size[p] < 0 || size[p] > 65535)
				return errmsg(err, errlen, "%s: window %zu, packet %zu: size %g is %s", path,
					    w, p, size[p], !isfinite(size[p]) ? "not finite" :
					    size[p] < 0 ? "negative" : "above 65535, the largest IP total length");
			if (!isfinite(time[p]))
				return errmsg(err, errlen, "%s: window %zu, packet %zu: time %g is not finite",
					    path, w, p, time[p]);
			/* equal times are real (packets microseconds apart) and valid */
			if (p && time[p] < time[p - 1])
				return errmsg(err, errlen,
					    "%s: window %zu, packet %zu: time %.6f decreases (previous %.6f)",
					    path, w, p, time[p], time[p - 1]);
		}
	}
	return 0;
}

static int check_y(const struct npy_array *y, size_t n, int num_classes, const char *path,
		   char *err, size_t errlen)
{
	char shape[200];

	format_shape(y, shape, sizeof(shape));
	if (y->ndim != 1 || y->shape[0] != n)
		return errmsg(err, errlen, "%s: shape %s, expected (%zu,): one label per window", path,
			    shape, n);
	for (size_t i = 0; i < n; i++) {
		double v = y->data[i];

		if (!(v == floor(v) && v >= 0 && v < num_classes))
			return errmsg(err, errlen, "%s: index %zu: label %g is not a class id 0 to %d", path,
				    i, v, num_classes - 1);
	}
	return 0;
}

static int dataset_alloc(struct dataset *ds, size_t n, int window)
{
	size_t rows = n ? n : 1; /* an empty part of a split is still a dataset */

	ds->n = n;
	ds->window = window;
	ds->sizes = malloc(rows * window * sizeof(*ds->sizes));
	ds->times = malloc(rows * window * sizeof(*ds->times));
	ds->labels = malloc(rows * sizeof(*ds->labels));
	if (ds->sizes && ds->times && ds->labels)
		return 0;
	dataset_free(ds);
	return -1;
}

int dataset_load(const char *prefix, int num_classes, struct dataset *ds, char *err, size_t errlen)
{
	char xpath[4096], ypath[4096];
	struct npy_array x, y = { 0 };
	size_t N;
	int rc = -1;

	memset(ds, 0, sizeof(*ds));
	dataset_paths(prefix, xpath, ypath, sizeof(xpath));
	if (npy_read(xpath, &x, err, errlen))
		return -1;
	if (check_x(&x, xpath, err, errlen) || npy_read(ypath, &y, err, errlen) ||
	    check_y(&y, x.shape[0], num_classes, ypath, err, errlen))
		goto out;
	N = x.shape[2];
	if (dataset_alloc(ds, x.shape[0], (int)N)) {
		errmsg(err, errlen, "%s: out of memory for %zu windows", xpath, x.shape[0]);
		goto out;
	}
	for (size_t w = 0; w < ds->n; w++) {
		for (size_t p = 0; p < N; p++) {
			ds->sizes[w * N + p] = (float)x.data[(w * 2) * N + p];
			ds->times[w * N + p] = x.data[(w * 2 + 1) * N + p];
		}
		ds->labels[w] = (int)y.data[w];
	}
	rc = 0;
out:
	npy_free(&x);
	npy_free(&y);
	return rc;
}

int dataset_save(const char *prefix, const struct dataset *ds, char *err, size_t errlen)
{
	char xpath[4096], ypath[4096];
	size_t N = (size_t)ds->window, xshape[3] = { ds->n, 2, N }, yshape[1] = { ds->n };
	double *x = malloc(ds->n * 2 * N * sizeof(*x)), *y = malloc(ds->n * sizeof(*y));
	int rc = -1;

	snprintf(xpath, sizeof(xpath), "%s_x.npy", prefix);
	snprintf(ypath, sizeof(ypath), "%s_y.npy", prefix);
	if (!x || !y) {
		errmsg(err, errlen, "%s: out of memory", xpath);
		goto out;
	}
	for (size_t w = 0; w < ds->n; w++) {
		for (size_t p = 0; p < N; p++) {
			x[(w * 2) * N + p] = ds->sizes[w * N + p];
			x[(w * 2 + 1) * N + p] = ds->times[w * N + p];
		}
		y[w] = ds->labels[w];
	}
	if (npy_write(xpath, NPY_F64, 3, xshape, x, err, errlen))
		goto out;
	if (npy_write(ypath, NPY_I64, 1, yshape, y, err, errlen)) {
		unlink(xpath); /* half a dataset is worse than none */
		goto out;
	}
	rc = 0;
out:
	free(x);
	free(y);
	return rc;
}

void dataset_free(struct dataset *ds)
{
	free(ds->sizes);
	free(ds->times);
	free(ds->labels);
	memset(ds, 0, sizeof(*ds));
}

int dataset_subset(const struct dataset *ds, const size_t *rows, size_t count, struct dataset *out)
{
	size_t N = (size_t)ds->window;

	if (dataset_alloc(out, count, ds->window))
		return -1;
	for (size_t i = 0; i < count; i++) {
		memcpy(out->sizes + i * N, ds->sizes + rows[i] * N, N * sizeof(*out->sizes));
		memcpy(out->times + i * N, ds->times + rows[i] * N, N * sizeof(*out->times));
		out->labels[i] = ds->labels[rows[i]];
	}
	return 0;
}

void dataset_class_weights(const struct dataset *ds, int num_classes, float *w)
{
	size_t count[ODEFLOW_MAX_CLASSES] = { 0 };
	int present = 0;

	for (size_t i = 0; i < ds->n; i++)
		count[ds->labels[i]]++;
	for (int c = 0; c < num_classes; c++)
		present += count[c] > 0;
	for (size_t i = 0; i < ds->n; i++)
		w[i] = (float)((double)ds->n / ((double)present * (double)count[ds->labels[i]]));
}

int dataset_append(struct dataset *ds, const struct dataset *more)
{
	const size_t N = (size_t)ds->window, n = ds->n + more->n;
	struct dataset all;

	if (more->window != ds->window || dataset_alloc(&all, n, ds->window))
		return -1;
	memcpy(all.sizes, ds->sizes, ds->n * N * sizeof(*all.sizes));
	memcpy(all.sizes + ds->n * N, more->sizes, more->n * N * sizeof(*all.sizes));
	memcpy(all.times, ds->times, ds->n * N * sizeof(*all.times));
	memcpy(all.times + ds->n * N, more->times, more->n * N * sizeof(*all.times));
	memcpy(all.labels, ds->labels, ds->n * sizeof(*all.labels));
	memcpy(all.labels + ds->n, more->labels, more->n * sizeof(*all.labels));
	dataset_free(ds);
	*ds = all;
	return 0;
}

int dataset_partition(const struct dataset *ds, const bool *is_held, struct dataset *rest,
		      struct dataset *held)
{
	size_t *rows = malloc((ds->n ? ds->n : 1) * sizeof(*rows)), nheld = 0, nrest = 0;
	int rc = -1;

	memset(rest, 0, sizeof(*rest));
	memset(held, 0, sizeof(*held));
	if (!rows)
		return -1;
	for (size_t w = 0; w < ds->n; w++)
		if (is_held[w])
			rows[nheld++] = w;
	if (dataset_subset(ds, rows, nheld, held))
		goto out;
	for (size_t w = 0; w < ds->n; w++)
		if (!is_held[w])
			rows[nrest++] = w;
	if (dataset_subset(ds, rows, nrest, rest)) {
		dataset_free(held);
		goto out;
	}
	rc = 0;
out:
	free(rows);
	return rc;
}

size_t dataset_sessions(const struct dataset *ds, size_t *session)
{
	size_t N = (size_t)ds->window, count = 0;

	for (size_t w = 0; w < ds->n; w++) {
		if (!w || ds->labels[w] != ds->labels[w - 1] ||
		    ds->times[w * N] <= ds->times[w * N - 1])
			count++;
		session[w] = count - 1;
	}
	return count;
}

int dataset_split(const struct dataset *ds, double frac, bool by_session, uint64_t seed,
		  struct dataset *rest, struct dataset *held)
{
	size_t *unit = malloc(ds->n * sizeof(*unit)), *order = malloc(ds->n * sizeof(*order));
	size_t *first = malloc(ds->n * sizeof(*first));
	bool *is_held = calloc(ds->n, sizeof(*is_held)), *unit_held = calloc(ds->n, sizeof(*unit_held));
	size_t units = 0, target[ODEFLOW_MAX_CLASSES] = { 0 };
	size_t taken[ODEFLOW_MAX_CLASSES] = { 0 }, unit_size;
	struct rng rng = { seed };
	int rc = -1;

	memset(rest, 0, sizeof(*rest));
	memset(held, 0, sizeof(*held));
	if (!unit || !order || !first || !is_held || !unit_held)
		goto out;
	if (by_session) {
		units = dataset_sessions(ds, unit);
	} else {
		for (size_t w = 0; w < ds->n; w++)
			unit[w] = w;
		units = ds->n;
	}
	/* first window of each unit, and how many windows of each class to hold out */
	for (size_t w = ds->n; w-- > 0;)
		first[unit[w]] = w;
	for (size_t w = 0; w < ds->n; w++)
		target[ds->labels[w]]++;
	for (int c = 0; c < ODEFLOW_MAX_CLASSES; c++)
		target[c] = (size_t)llround(frac * (double)target[c]);

	/* take whole units in random order while taking one brings its class
	 * closer to its target (a long session may overshoot by less than half) */
	for (size_t u = 0; u < units; u++)
		order[u] = u;
	rng_shuffle(&rng, order, units);
	for (size_t i = 0; i < units; i++) {
		size_t u = order[i];
		int c = ds->labels[first[u]];

		for (unit_size = 0; first[u] + unit_size < ds->n && unit[first[u] + unit_size] == u;)
			unit_size++;
		if (2 * taken[c] + unit_size >= 2 * target[c])
			continue;
		taken[c] += unit_size;
		unit_held[u] = true;
	}
	for (size_t w = 0; w < ds->n; w++)
		is_held[w] = unit_held[unit[w]];

	if (dataset_partition(ds, is_held, rest, held))
		goto out;
	rc = 0;
out:
	free(unit);
	free(order);
	free(first);
	free(is_held);
	free(unit_held);
	return rc;
}
