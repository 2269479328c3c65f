/* SPDX-License-Identifier: MIT */
/* Datasets: the committed real subset loads; every kind of bad input is
 * refused with the file and the first offending window; sessions and
 * session-disjoint splits. */

#include "train/dataset.h"
#include "harness.h"
#include "scratch.h"
#include "train/npy.h"

static void test_loads_the_real_subset(void)
{
	struct dataset ds;
	char err[300] = "";
	int per_class[5] = { 0 };

	CHECKF(dataset_load("tests/data/iscx-small", 5, &ds, err, sizeof(err)) == 0, "%s", err);
	CHECK(ds.n == 543 && ds.window == 20);
	for (size_t w = 0; w < ds.n; w++)
		per_class[ds.labels[w]]++;
	CHECK(per_class[0] == 121 && per_class[3] == 63 && per_class[4] == 123);
	CHECK(ds.sizes[0] >= 0 && ds.sizes[0] <= 65535);
	dataset_free(&ds);
}

/* Writes NAME_x.npy (3 windows of 4 packets, one value changed) and NAME_y.npy. */
static void write_bad(const char *name, int window, int packet, int row, double value,
		      const double labels[3])
{
	size_t xshape[3] = { 3, 2, 4 }, yshape[1] = { 3 };
	double x[24];
	char err[300], path[400];

	for (int w = 0; w < 3; w++)
		for (int p = 0; p < 4; p++) {
			x[w * 8 + p] = 100 + p;
			x[w * 8 + 4 + p] = w * 10 + p * 0.5;
		}
	if (window >= 0)
		x[window * 8 + row * 4 + packet] = value;
	snprintf(path, sizeof(path), "%s_x.npy", tmp_path(name));
	npy_write(path, NPY_F64, 3, xshape, x, err, sizeof(err));
	snprintf(path, sizeof(path), "%s_y.npy", tmp_path(name));
	npy_write(path, NPY_F64, 1, yshape, labels, err, sizeof(err));
}

static void expect_error(const char *name, const char *says)
{
	struct dataset ds;
	char err[300] = "";

	CHECKF(dataset_load(tmp_path(name), 5, &ds, err, sizeof(err)) == -1, "%s accepted", name);
	CHECKF(strstr(err, tmp_path(name)) && strstr(err, says), "%s: error '%s' does not say '%s'",
	       name, err, says);
	CHECK(ds.sizes == NULL && ds.n == 0);
}

static void test_bad_values(void)
{
	const double ok[3] = { 0, 1, 4 }, out_of_range[3] = { 0, 5, 1 }, negative[3] = { 0, 1, -1 };
	const double fraction[3] = { 0, 1.5, 1 }, nan_label[3] = { NAN, 1, 1 };
	struct dataset ds;
	char err[300] = "";

	write_bad("nan_size", 1, 2, 0, NAN, ok);
	expect_error("nan_size", "_x.npy: window 1, packet 2: size nan is not finite");
	write_bad("inf_time", 2, 3, 1, INFINITY, ok);
	expect_error("inf_time", "_x.npy: window 2, packet 3: time inf is not finite");
	write_bad("negative_size", 2, 0, 0, -40, ok);
	expect_error("negative_size", "_x.npy: window 2, packet 0: size -40 is negative");
	write_bad("huge_size", 0, 1, 0, 65536, ok);
	expect_error("huge_size", "_x.npy: window 0, packet 1: size 65536 is above 65535");
	write_bad("decreasing", 1, 2, 1, 9.0, ok);
	expect_error("decreasing", "_x.npy: window 1, packet 2: time 9.000000 decreases (previous 10.500000)");
	write_bad("label_range", -1, 0, 0, 0, out_of_range);
	expect_error("label_range", "_y.npy: index 1: label 5 is not a class id 0 to 4");
	write_bad("label_negative", -1, 0, 0, 0, negative);
	expect_error("label_negative", "_y.npy: index 2: label -1");
	write_bad("label_fraction", -1, 0, 0, 0, fraction);
	expect_error("label_fraction", "_y.npy: index 1: label 1.5");
	write_bad("label_nan", -1, 0, 0, 0, nan_label);
	expect_error("label_nan", "_y.npy: index 0: label nan");

	/* repeated timestamps and zero sizes are real and valid */
	write_bad("repeated", 1, 2, 1, 10.5, ok);
	CHECKF(dataset_load(tmp_path("repeated"), 5, &ds, err, sizeof(err)) == 0, "%s", err);
	CHECK(ds.n == 3 && ds.times[4 + 2] == ds.times[4 + 1]);
	dataset_free(&ds);
}

static void test_bad_shapes_and_files(void)
{
	size_t s2[2] = { 3, 8 }, s3[3] = { 3, 3, 4 }, s1[3] = { 3, 2, 1 }, y2[1] = { 2 };
	size_t x_ok[3] = { 3, 2, 4 }, y_ok[1] = { 3 }, empty[3] = { 0, 2, 4 }, ey[1] = { 0 };
	double zeros[36] = { 0 }, labels[3] = { 0, 1, 2 };
	char err[300], path[400];
	FILE *f;

	npy_write(strcat(strcpy(path, tmp_path("flat")), "_x.npy"), NPY_F64, 2, s2, zeros, err, 300);
	expect_error("flat", "_x.npy: shape (3, 8), expected (n, 2, N)");
	npy_write(strcat(strcpy(path, tmp_path("three_rows")), "_x.npy"), NPY_F64, 3, s3, zeros, err, 300);
	expect_error("three_rows", "shape (3, 3, 4), expected (n, 2, N)");
	npy_write(strcat(strcpy(path, tmp_path("one_packet")), "_x.npy"), NPY_F64, 3, s1, zeros, err, 300);
	expect_error("one_packet", "window of 1 packets, expected 2 to 64");
	npy_write(strcat(strcpy(path, tmp_path("empty")), "_x.npy"), NPY_F64, 3, empty, zeros, err, 300);
	npy_write(strcat(strcpy(path, tmp_path("empty")), "_y.npy"), NPY_I64, 1, ey, zeros, err, 300);
	expect_error("empty", "_x.npy: no windows");

	npy_write(strcat(strcpy(path, tmp_path("short_y")), "_x.npy"), NPY_F64, 3, x_ok, zeros, err, 300);
	npy_write(strcat(strcpy(path, tmp_path("short_y")), "_y.npy"), NPY_I64, 1, y2, labels, err, 300);
	expect_error("short_y", "_y.npy: shape (2,), expected (3,)");
	npy_write(strcat(strcpy(path, tmp_path("no_y")), "_x.npy"), NPY_F64, 3, x_ok, zeros, err, 300);
	expect_error("no_y", "_y.npy: No such file");
	expect_error("nothing_at_all", "_x.npy: No such file");

	/* a truncated x and a text file posing as y */
	npy_write(strcat(strcpy(path, tmp_path("cut")), "_x.npy"), NPY_F64, 3, x_ok, zeros, err, 300);
	CHECK(truncate(path, 128 + 100) == 0);
	expect_error("cut", "_x.npy: truncated data");
	npy_write(strcat(strcpy(path, tmp_path("text_y")), "_x.npy"), NPY_F64, 3, x_ok, zeros, err, 300);
	f = fopen(strcat(strcpy(path, tmp_path("text_y")), "_y.npy"), "w");
	if (f) {
		fputs("0,1,2\n", f);
		fclose(f);
	}
	expect_error("text_y", "_y.npy: not a .npy file");
	npy_write(strcat(strcpy(path, tmp_path("dtype")), "_y.npy"), NPY_I64, 1, y_ok, labels, err, 300);
	f = fopen(strcat(strcpy(path, tmp_path("dtype")), "_x.npy"), "w");
	if (f) {
		const char *h = "{'descr': '<c8', 'fortran_order': False, 'shape': (0, 2, 4), }";

		fprintf(f, "\x93NUMPY\x01%c%c%c%s", 0, (int)strlen(h), 0, h);
		fclose(f);
	}
	expect_error("dtype", "_x.npy: unsupported dtype '<c8'");
}

static struct dataset three_sessions(void)
{
	/* windows 0-1 one VoIP session, 2 a new VoIP session (time restarts),
	 * 3-4 Chat (label changes although time continues), 5 Chat again */
	static const double starts[6] = { 0, 5, 1, 2, 7, 7 };
	static const int labels[6] = { 0, 0, 0, 3, 3, 3 };
	struct dataset ds = { 0 };

	ds.n = 6;
	ds.window = 2;
	ds.sizes = calloc(12, sizeof(float));
	ds.times = malloc(12 * sizeof(double));
	ds.labels = malloc(6 * sizeof(int));
	for (int w = 0; w < 6; w++) {
		ds.times[2 * w] = starts[w];
		ds.times[2 * w + 1] = starts[w] + 2; /* window 5 starts where 4 ended: new session */
		ds.labels[w] = labels[w];
	}
	return ds;
}

static void test_sessions(void)
{
	struct dataset ds = three_sessions();
	size_t session[6];

	CHECK(dataset_sessions(&ds, session) == 4);
	CHECK(session[0] == 0 && session[1] == 0 && session[2] == 1);
	CHECK(session[3] == 2 && session[4] == 2 && session[5] == 3);
	dataset_free(&ds);
}

/* On the real subset: no session on both sides, each class near its share, same seed same split. */
static void test_session_split(void)
{
	struct dataset ds, rest, held, rest2, held2;
	size_t *session, *held_sessions, nsessions;
	int per_class[5] = { 0 }, held_class[5] = { 0 };
	char err[300] = "";

	CHECKF(dataset_load("tests/data/iscx-small", 5, &ds, err, sizeof(err)) == 0, "%s", err);
	session = malloc(ds.n * sizeof(*session));
	nsessions = dataset_sessions(&ds, session);
	CHECKF(nsessions > 20 && nsessions < ds.n, "%zu sessions", nsessions);
	CHECK(dataset_split(&ds, 0.25, true, 3, &rest, &held) == 0);
	CHECK(rest.n + held.n == ds.n);

	/* every held window must come from a session none of whose windows is in rest:
	 * find each held window in ds by content (windows are distinct here) */
	held_sessions = calloc(nsessions, sizeof(*held_sessions));
	for (size_t h = 0; h < held.n; h++)
		for (size_t w = 0; w < ds.n; w++)
			if (!memcmp(held.times + h * 20, ds.times + w * 20, 20 * sizeof(double)) &&
			    !memcmp(held.sizes + h * 20, ds.sizes + w * 20, 20 * sizeof(float)))
				held_sessions[session[w]]++;
	for (size_t r = 0; r < rest.n; r++)
		for (size_t w = 0; w < ds.n; w++)
			if (!memcmp(rest.times + r * 20, ds.times + w * 20, 20 * sizeof(double)) &&
			    !memcmp(rest.sizes + r * 20, ds.sizes + w * 20, 20 * sizeof(float)))
				CHECKF(!held_sessions[session[w]], "session %zu on both sides", session[w]);

	for (size_t w = 0; w < ds.n; w++)
		per_class[ds.labels[w]]++;
	for (size_t h = 0; h < held.n; h++)
		held_class[held.labels[h]]++;
	for (int c = 0; c < 5; c++)
		CHECKF(held_class[c] > 0 && held_class[c] < per_class[c],
		       "class %d: %d of %d held out", c, held_class[c], per_class[c]);

	CHECK(dataset_split(&ds, 0.25, true, 3, &rest2, &held2) == 0);
	CHECK(held2.n == held.n && !memcmp(held2.times, held.times, held.n * 20 * sizeof(double)));
	dataset_free(&rest2);
	dataset_free(&held2);
	CHECK(dataset_split(&ds, 0.25, true, 4, &rest2, &held2) == 0);
	CHECK(held2.n != held.n || memcmp(held2.times, held.times, held.n * 20 * sizeof(double)));
	dataset_free(&rest2);
	dataset_free(&held2);

	free(held_sessions);
	free(session);
	dataset_free(&rest);
	dataset_free(&held);
	dataset_free(&ds);
}

static void test_window_split_and_save(void)
{
	struct dataset ds = three_sessions(), rest, held, back;
	char err[300] = "";

	CHECK(dataset_split(&ds, 0.5, false, 1, &rest, &held) == 0);
	CHECK(held.n == 4 && rest.n == 2); /* per class: round(0.5 * 3) = 2 of 3 windows */
	CHECKF(dataset_save(tmp_path("saved"), &rest, err, sizeof(err)) == 0, "%s", err);
	CHECKF(dataset_load(tmp_path("saved"), 5, &back, err, sizeof(err)) == 0, "%s", err);
	CHECK(back.n == rest.n && back.window == 2);
	CHECK(!memcmp(back.times, rest.times, rest.n * 2 * sizeof(double)));
	CHECK(!memcmp(back.labels, rest.labels, rest.n * sizeof(int)));
	dataset_free(&back);
	dataset_free(&rest);
	dataset_free(&held);
	dataset_free(&ds);
}

int main(void)
{
	if (scratch_create("dataset"))
		return 1;
	RUN(test_loads_the_real_subset);
	RUN(test_bad_values);
	RUN(test_bad_shapes_and_files);
	RUN(test_sessions);
	RUN(test_session_split);
	RUN(test_window_split_and_save);
	scratch_remove();
	return harness_done();
}
