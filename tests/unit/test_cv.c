/* SPDX-License-Identifier: MIT */
/* Cross-validation: folds are disjoint, cover every window once and hold
 * out windows of every class; blocked folds are contiguous runs of each
 * class, sessions folds never cut a session; odeflow cv reports each fold
 * and their mean and minimum, writes the held-out predictions, and refuses
 * bad input with one line, exit 1 and nothing written. */
#include <jansson.h>

#include "harness.h"
#include "scratch.h"
#include "subprocess.h"
#include "train/dataset.h"
#include "train/folds.h"
#include "train/npy.h"

int cmd_cv(int argc, char **argv);

#define K 5

/* Every window in exactly one test part, the train part its complement. */
static void check_partition(const struct dataset *ds, const int *fold, int k)
{
	size_t seen = 0;

	for (int f = 0; f < k; f++) {
		struct dataset train, test;
		int classes[5] = { 0 };

		CHECK(folds_take(ds, fold, f, &train, &test) == 0);
		CHECK(train.n + test.n == ds->n);
		seen += test.n;
		for (size_t i = 0; i < test.n; i++)
			classes[test.labels[i]]++;
		for (int c = 0; c < 5; c++)
			CHECKF(classes[c] > 0, "fold %d holds out no window of class %d", f, c);
		dataset_free(&train);
		dataset_free(&test);
	}
	CHECK(seen == ds->n);
	for (size_t w = 0; w < ds->n; w++)
		CHECKF(fold[w] >= 0 && fold[w] < k, "window %zu in fold %d", w, fold[w]);
}

static void test_blocked_folds(void)
{
	struct dataset ds;
	char err[300] = "";
	int fold[600], count[K][5] = { { 0 } }, total[5] = { 0 };

	CHECKF(dataset_load("tests/data/iscx-small", 5, &ds, err, sizeof(err)) == 0, "%s", err);
	CHECKF(folds_assign(&ds, 5, K, FOLD_BLOCKED, 1, fold, err, sizeof(err)) == 0, "%s", err);
	check_partition(&ds, fold, K);
	for (size_t w = 0; w < ds.n; w++) {
		count[fold[w]][ds.labels[w]]++;
		total[ds.labels[w]]++;
	}
	/* each class in K blocks of equal size (within one), in data order:
	 * within a class the fold number never goes down */
	for (int c = 0; c < 5; c++) {
		int last = 0;

		for (int f = 0; f < K; f++)
			CHECKF(abs(count[f][c] * K - total[c]) < K, "class %d fold %d: %d of %d", c, f,
			       count[f][c], total[c]);
		for (size_t w = 0; w < ds.n; w++) {
			if (ds.labels[w] != c)
				continue;
			CHECKF(fold[w] == last || fold[w] == last + 1, "class %d: window %zu in fold %d after %d",
			       c, w, fold[w], last);
			last = fold[w];
		}
	}
	dataset_free(&ds);
}

static void test_sessions_and_random_folds(void)
{
	struct dataset ds;
	size_t session[600];
	char err[300] = "";
	int fold[600], again[600];

	CHECKF(dataset_load("tests/data/iscx-small", 5, &ds, err, sizeof(err)) == 0, "%s", err);
	/* File_Transfer is 3 sessions in this subset: too few for 4 sessions folds */
	CHECK(folds_assign(&ds, 5, 4, FOLD_SESSIONS, 1, fold, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "class 2 has 3 sessions, fewer than 4 folds"), "%s", err);
	CHECKF(folds_assign(&ds, 5, 3, FOLD_SESSIONS, 1, fold, err, sizeof(err)) == 0, "%s", err);
	check_partition(&ds, fold, 3);
	dataset_sessions(&ds, session);
	for (size_t w = 1; w < ds.n; w++)
		if (session[w] == session[w - 1])
			CHECKF(fold[w] == fold[w - 1], "session %zu cut between folds", session[w]);
	dataset_free(&ds);

	CHECK(dataset_load("tests/data/iscx-small", 5, &ds, err, sizeof(err)) == 0);
	CHECK(folds_assign(&ds, 5, K, FOLD_RANDOM, 1, fold, err, sizeof(err)) == 0);
	check_partition(&ds, fold, K);
	CHECK(folds_assign(&ds, 5, K, FOLD_RANDOM, 1, again, err, sizeof(err)) == 0);
	CHECK(!memcmp(fold, again, ds.n * sizeof(int)));
	CHECK(folds_assign(&ds, 5, K, FOLD_RANDOM, 2, again, err, sizeof(err)) == 0);
	CHECK(memcmp(fold, again, ds.n * sizeof(int)));
	dataset_free(&ds);
}

static void test_bad_fold_counts(void)
{
	struct dataset ds;
	char err[300] = "";
	int fold[600];

	CHECK(dataset_load("tests/data/iscx-small", 5, &ds, err, sizeof(err)) == 0);
	CHECK(folds_assign(&ds, 5, 1, FOLD_BLOCKED, 1, fold, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "--folds 1: cross-validation needs at least 2 folds"), "%s", err);
	/* Chat has 63 windows */
	CHECK(folds_assign(&ds, 5, 63, FOLD_BLOCKED, 1, fold, err, sizeof(err)) == 0);
	CHECK(folds_assign(&ds, 5, 64, FOLD_BLOCKED, 1, fold, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "class 3 has 63 windows, fewer than 64 folds"), "%s", err);
	CHECK(folds_assign(&ds, 6, 2, FOLD_BLOCKED, 1, fold, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "class 5 has no windows"), "%s", err);
	dataset_free(&ds);
}

/* The command: K fold lines, a summary that agrees with them, JSON with
 * the same numbers, and predictions whose accuracy is the pooled one. */
static void test_command(void)
{
	const char *epochs = getenv("ODEFLOW_SANITIZED") ? "2" : "6";
	json_t *root, *folds, *v;
	struct npy_array lp = { 0 }, y = { 0 }, f = { 0 };
	char err[300], path[400];
	double mean = 0, min = 2;
	size_t i, correct = 0;
	int rc;

	rc = run_command(cmd_cv, "cv", "--data", "tests/data/iscx-small", "--folds", "3",
			 "--hidden", "8", "--epochs", epochs, "--jobs", "2", NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	CHECKF(strstr(command_output, "3 blocked folds") && strstr(command_output, "fold 3: trained on") &&
	       strstr(command_output, "accuracy: mean "), "%s", command_output);

	rc = run_command(cmd_cv, "cv", "--data", "tests/data/iscx-small", "--folds", "3",
			 "--hidden", "8", "--epochs", epochs, "--json", "--predictions",
			 tmp_path("pred"), NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	root = json_loads(command_output, 0, NULL);
	CHECKF(root, "not JSON:\n%s", command_output);
	if (!root)
		return;
	folds = json_object_get(root, "folds");
	CHECK(json_array_size(folds) == 3);
	json_array_foreach(folds, i, v) {
		double acc = json_real_value(json_object_get(v, "accuracy"));

		mean += acc / 3;
		min = acc < min ? acc : min;
		CHECK(json_integer_value(json_object_get(v, "train")) +
		      json_integer_value(json_object_get(v, "test")) == 543);
	}
	CHECK_NEAR(json_real_value(json_object_get(json_object_get(root, "accuracy"), "mean")), mean, 1e-9);
	CHECK_NEAR(json_real_value(json_object_get(json_object_get(root, "accuracy"), "min")), min, 1e-9);
	CHECK(!strcmp(json_string_value(json_object_get(root, "split")), "blocked"));

	snprintf(path, sizeof(path), "%s_logprobs.npy", tmp_path("pred"));
	CHECKF(npy_read(path, &lp, err, sizeof(err)) == 0, "%s", err);
	snprintf(path, sizeof(path), "%s_y.npy", tmp_path("pred"));
	CHECKF(npy_read(path, &y, err, sizeof(err)) == 0, "%s", err);
	snprintf(path, sizeof(path), "%s_fold.npy", tmp_path("pred"));
	CHECKF(npy_read(path, &f, err, sizeof(err)) == 0, "%s", err);
	CHECK(lp.ndim == 2 && lp.shape[0] == 543 && lp.shape[1] == 5 && y.count == 543 &&
	      f.count == 543);
	for (i = 0; !harness_current_failed && i < 543; i++) {
		const double *row = lp.data + i * 5;
		int best = 0;
		double sum = 0;

		for (int c = 0; c < 5; c++) {
			best = row[c] > row[best] ? c : best;
			sum += exp(row[c]);
		}
		CHECK_NEAR(sum, 1, 1e-4);
		correct += best == (int)y.data[i];
	}
	CHECK_NEAR(json_real_value(json_object_get(json_object_get(root, "pooled"), "accuracy")),
		   correct / 543.0, 1e-9);
	json_decref(root);
	npy_free(&lp);
	npy_free(&y);
	npy_free(&f);
}

static void test_command_bad_input(void)
{
	static const char *const folds[] = { "1", "64", "0", "-3" };
	static const char *const says[] = {
		"--folds 1: cross-validation needs at least 2 folds",
		"class 3 has 63 windows, fewer than 64 folds",
		"--folds 0: cross-validation needs at least 2 folds",
		"--folds -3: cross-validation needs at least 2 folds",
	};

	scratch_empty();
	for (int i = 0; i < 4; i++) {
		int rc = run_command(cmd_cv, "cv", "--data", "tests/data/iscx-small", "--folds",
				     folds[i], "--predictions", tmp_path("never"), NULL);

		CHECKF(rc == 1, "--folds %s: exit %d", folds[i], rc);
		CHECKF(strstr(command_output, says[i]) && !strchr(command_output, '\n')[1],
		       "--folds %s: not one line saying '%s':\n%s", folds[i], says[i], command_output);
	}
	CHECK(run_command(cmd_cv, "cv", "--data", "tests/data/iscx-small", "--split", "shuffled",
			  NULL) == 2);
	CHECKF(strstr(command_output, "--split 'shuffled' is not blocked, sessions or random"), "%s",
	       command_output);
	CHECK(run_command(cmd_cv, "cv", "--data", tmp_path("missing"), NULL) == 1);
	CHECK(scratch_count() == 0);
}

int main(void)
{
	if (scratch_create("cv"))
		return 1;
	RUN(test_blocked_folds);
	RUN(test_sessions_and_random_folds);
	RUN(test_bad_fold_counts);
	RUN(test_command);
	RUN(test_command_bad_input);
	scratch_remove();
	return harness_done();
}
