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
#include "train/dataset_index.h"
#include "train/folds.h"
#include "train/named_metrics.h"
#include "train/npy.h"

int cmd_cv(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);

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
	CHECKF(strstr(command_output, "--split 'shuffled' is not blocked, sessions, random, files "
		      "or apps"), "%s", command_output);
	CHECK(run_command(cmd_cv, "cv", "--data", tmp_path("missing"), NULL) == 1);
	CHECK(scratch_count() == 0);
}

/* The seven capture files of a dataset made from iscx-small: runs of
 * windows of different lengths, one name quoted as pcap2npy quotes it. */
static const char *const file_names[] = { "caps/voip.pcap", "caps/a,\"b\".pcap", "caps/c.pcap",
					  "caps/d.pcap", "caps/e.pcap", "caps/f.pcap", "caps/g.pcap" };
static const size_t file_ends[] = { 40, 100, 180, 300, 320, 450, 543 };
#define FILES 7

static int file_of(size_t w)
{
	int f = 0;

	while (w >= file_ends[f])
		f++;
	return f;
}

/* PREFIX_x.npy and PREFIX_y.npy from iscx-small (loaded into ds), and
 * PREFIX_index.csv opened for writing (NULL: failed, ds freed). */
static FILE *start_dataset(const char *prefix, struct dataset *ds)
{
	char err[300] = "", path[400];
	FILE *f;

	CHECK(dataset_load("tests/data/iscx-small", 5, ds, err, sizeof(err)) == 0);
	CHECKF(dataset_save(prefix, ds, err, sizeof(err)) == 0, "%s", err);
	snprintf(path, sizeof(path), "%s_index.csv", prefix);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		dataset_free(ds);
	return f;
}

/* PREFIX_x.npy, PREFIX_y.npy (iscx-small) and PREFIX_index.csv in pcap2npy's
 * form (CRLF line ends if crlf), naming file_names. */
static void write_files_dataset(const char *prefix, bool crlf)
{
	struct dataset ds;
	FILE *f = start_dataset(prefix, &ds);

	if (!f)
		return;
	fprintf(f, "row,file,src,dst,sport,dport,proto,window,first_packet,label,ndpi_protocol,"
		"ndpi_category%s\n", crlf ? "\r" : "");
	for (size_t w = 0; w < ds.n; w++)
		fprintf(f, "%zu,%s,10.0.0.1,10.0.0.2,1,2,6,0,0,%d,,%s\n", w,
			file_of(w) == 1 ? "\"caps/a,\"\"b\"\".pcap\"" : file_names[file_of(w)],
			ds.labels[w], crlf ? "\r" : "");
	fclose(f);
	dataset_free(&ds);
}

/* Files folds: leave one file out, or files dealt into fewer folds; every
 * window held out once, no file on both sides, folds of similar size. */
static void test_file_folds(void)
{
	struct dataset_groups files;
	char err[300] = "";
	int fold[543];

	scratch_empty();
	write_files_dataset(tmp_path("caps"), false);
	CHECKF(dataset_index_load(tmp_path("caps"), 543, "file", &files, err, sizeof(err)) == 0,
	       "%s", err);
	CHECK(files.count == FILES && files.n == 543);
	for (int i = 0; i < files.count && i < FILES; i++)
		CHECKF(!strcmp(files.names[i], file_names[i]), "file %d is '%s'", i, files.names[i]);
	for (size_t w = 0; w < files.n; w++)
		CHECK(files.group[w] == file_of(w));

	CHECKF(folds_by_group(files.group, NULL, 5, 543, FILES, FILES, "capture files", fold, err,
			      sizeof(err)) == 0, "%s", err);
	for (size_t w = 0; w < 543; w++)
		CHECKF(fold[w] == file_of(w), "leave one out: window %zu in fold %d", w, fold[w]);
	for (int k = 2; k < FILES; k++) {
		size_t seen = 0, most = 0, least = 543;
		int fold_of_file[FILES];

		CHECKF(folds_by_group(files.group, NULL, 5, 543, FILES, k, "capture files", fold,
				      err, sizeof(err)) == 0, "%s", err);
		for (int f = 0; f < FILES; f++)
			fold_of_file[f] = -1;
		for (size_t w = 0; w < 543; w++) {
			int f = file_of(w);

			CHECKF(fold[w] >= 0 && fold[w] < k, "window %zu in fold %d", w, fold[w]);
			CHECKF(fold_of_file[f] < 0 || fold_of_file[f] == fold[w],
			       "%d folds: file %d on both sides", k, f);
			fold_of_file[f] = fold[w];
		}
		for (int f = 0; f < k; f++) {
			struct dataset all, train, test;

			CHECK(dataset_load("tests/data/iscx-small", 5, &all, err, sizeof(err)) == 0);
			CHECK(folds_take(&all, fold, f, &train, &test) == 0);
			CHECK(train.n + test.n == 543 && test.n > 0);
			seen += test.n;
			most = test.n > most ? test.n : most;
			least = test.n < least ? test.n : least;
			dataset_free(&all);
			dataset_free(&train);
			dataset_free(&test);
		}
		CHECK(seen == 543);
		/* dealt largest first to the emptiest: within the largest file (130) */
		CHECKF(most - least <= 130, "%d folds: %zu to %zu windows", k, least, most);
	}
	CHECK(folds_by_group(files.group, NULL, 5, 543, FILES, 8, "capture files", fold, err,
			     sizeof(err)) == -1);
	CHECKF(strstr(err, "the index names 7 capture files, fewer than 8 folds"), "%s", err);
	CHECK(folds_by_group(files.group, NULL, 5, 543, FILES, 1, "capture files", fold, err,
			     sizeof(err)) == -1);
	CHECKF(strstr(err, "--folds 1: cross-validation needs at least 2 folds"), "%s", err);
	dataset_groups_free(&files);
	CHECK(dataset_index_load(tmp_path("caps"), 542, "file", &files, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "caps_index.csv has 543 records, the dataset 542 windows"), "%s", err);

	write_files_dataset(tmp_path("crlf"), true);
	CHECKF(dataset_index_load(tmp_path("crlf"), 543, "file", &files, err, sizeof(err)) == 0,
	       "%s", err);
	CHECK(files.count == FILES && !strcmp(files.names[1], file_names[1]));
	dataset_groups_free(&files);
}

/* A bad index: one line naming what and where. */
static void test_bad_index(void)
{
	static const char *const text[] = {
		"row,name\n0,a.pcap\n",
		"row,file\n0,a.pcap\n2,a.pcap\n",
		"row,file\n0,\"a.pcap\n",
		"row,file\n0,a\"b.pcap\n",
		"row,file\n0,\"a\"x,\n",
		"row,file\n0,a.pcap,extra\n",
		"row,file,label\n0,a.pcap\n",
		"row,file\n-0,a.pcap\n",
	};
	static const char *const says[] = {
		"line 1: no \"file\" column",
		"line 3: row '2' is not 1",
		"line 2: a quoted field does not end",
		"line 2: a quote inside an unquoted field",
		"line 2: text after a closing quote",
		"line 2: more than the header's 2 fields",
		"line 2: 2 fields, the header has 3",
		"line 2: row '-0' is not 0",
	};
	struct dataset_groups files;
	char err[300];

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		CHECK(dataset_index_parse(text[i], strlen(text[i]), "file", &files, err,
					  sizeof(err)) == -1);
		CHECKF(strstr(err, says[i]), "case %zu: '%s', not '%s'", i, err, says[i]);
		CHECK(files.count == 0 && files.group == NULL);
	}
	CHECK(dataset_index_parse("row,file\n0,a\0.pcap\n", 19, "file", &files, err,
				  sizeof(err)) == -1);
	CHECKF(strstr(err, "line 2: a NUL byte"), "%s", err);
	CHECK(dataset_index_parse("row,file\n", 9, "file", &files, err, sizeof(err)) == 0 &&
	      files.n == 0);
	dataset_groups_free(&files);
}

/* cv --split files: the folds JSON names the files each holds out, every
 * file once; without an index or with too few files: one line, exit 1. */
static void test_command_files(void)
{
	json_t *root, *folds, *v, *name;
	bool named[FILES] = { false };
	size_t i, j, tested = 0;
	int rc;

	scratch_empty();
	write_files_dataset(tmp_path("caps"), false);
	rc = run_command(cmd_cv, "cv", "--data", tmp_path("caps"), "--split", "files", "--folds", "3",
			 "--hidden", "8", "--epochs", "1", "--json", NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	root = json_loads(command_output, 0, NULL);
	CHECKF(root, "not JSON:\n%s", command_output);
	if (!root)
		return;
	CHECK(!strcmp(json_string_value(json_object_get(root, "split")), "files"));
	folds = json_object_get(root, "folds");
	CHECK(json_array_size(folds) == 3);
	json_array_foreach(folds, i, v) {
		tested += json_integer_value(json_object_get(v, "test"));
		json_array_foreach(json_object_get(v, "files"), j, name) {
			for (int f = 0; f < FILES; f++)
				if (!strcmp(json_string_value(name), file_names[f])) {
					CHECKF(!named[f], "%s held out twice", file_names[f]);
					named[f] = true;
				}
		}
	}
	CHECK(tested == 543);
	for (int f = 0; f < FILES; f++)
		CHECKF(named[f], "%s held out by no fold", file_names[f]);
	json_decref(root);

	/* fine-tuning the shipped default, said once before the folds */
	rc = run_command(cmd_cv, "cv", "--data", tmp_path("caps"), "--split", "files", "--folds",
			 "7", "--init", "models/iscx-reg-20.safetensors", "--epochs", "1", NULL);
	CHECKF(rc == 0 && strstr(command_output, "cv: 543 windows, 7 capture-file folds, recipe "
				 "default, odernn-emb") &&
	       strstr(command_output, "fold 2 holds out 60 windows of caps/a,\"b\".pcap\n") &&
	       strstr(command_output, "cv: fine-tuning models/iscx-reg-20.safetensors (odernn-emb, 2 "
		      "members): its classes, every tensor kept") &&
	       strstr(command_output, "fold 7: trained on 450, tested on 93"), "exit %d: %s", rc,
	       command_output);
	rc = run_command(cmd_cv, "cv", "--data", tmp_path("caps"), "--split", "files", "--folds",
			 "8", NULL);
	CHECKF(rc == 1 && !strcmp(command_output, "odeflow cv: --split files: the index names 7 "
				  "capture files, fewer than 8 folds\n"), "exit %d: %s", rc,
	       command_output);
	rc = run_command(cmd_cv, "cv", "--data", "tests/data/iscx-small", "--split", "files", NULL);
	CHECKF(rc == 1 && strstr(command_output, "cv: --split files: tests/data/iscx-small/index.csv: "
				 "cannot open: No such file or directory (odeflow pcap2npy writes it") &&
	       !strchr(command_output, '\n')[1], "exit %d: %s", rc, command_output);
}

/* Applications of the iscx-small windows, as the lab's labels name them:
 * the first and second half of each class's windows are two
 * applications, Chat's are one. */
static int app_of(int label, size_t nth_of_class, size_t of_class)
{
	int second = 2 * nth_of_class >= of_class;

	return label == 3 ? 6 : label == 4 ? 7 + second : 2 * label + second;
}
#define APPS 9
static const char *const app_names[APPS] = { "baresip", "aiortc", "mpv", "chromium-hls", "scp",
					     "lftp", "prosody", "firefox", "chromium" };

/* PREFIX_x.npy, PREFIX_y.npy (iscx-small) and PREFIX_index.csv with the
 * "app" and "scenario" columns pcap2npy --labels writes. */
static void write_apps_dataset(const char *prefix)
{
	size_t of_class[5] = { 0 }, seen[5] = { 0 };
	struct dataset ds;
	FILE *f = start_dataset(prefix, &ds);

	if (!f)
		return;
	for (size_t w = 0; w < ds.n; w++)
		of_class[ds.labels[w]]++;
	fprintf(f, "row,file,src,dst,sport,dport,proto,window,first_packet,label,ndpi_protocol,"
		"ndpi_category,app,scenario\n");
	for (size_t w = 0; w < ds.n; w++) {
		int c = ds.labels[w], app = app_of(c, seen[c]++, of_class[c]);

		fprintf(f, "%zu,lab.pcap,10.0.0.1,10.0.0.2,1,2,6,0,0,%d,,,%s,%s-call\n", w, c,
			app_names[app], app_names[app]);
	}
	fclose(f);
	dataset_free(&ds);
}

static int group_named(const struct dataset_groups *g, const char *name)
{
	for (int i = 0; i < g->count; i++)
		if (!strcmp(g->names[i], name))
			return i;
	return -1;
}

/* Apps folds: each application held out whole, once; with fewer folds a
 * class's two applications land in different folds. */
static void test_app_folds(void)
{
	struct dataset_groups apps;
	struct dataset ds;
	char err[300] = "";
	int fold[543];

	scratch_empty();
	write_apps_dataset(tmp_path("lab"));
	CHECK(dataset_load(tmp_path("lab"), 5, &ds, err, sizeof(err)) == 0);
	CHECKF(dataset_index_load(tmp_path("lab"), 543, "app", &apps, err, sizeof(err)) == 0, "%s",
	       err);
	CHECK(apps.count == APPS && apps.n == 543);
	for (int k = 2; k <= APPS && apps.count == APPS; k++) {
		int fold_of_app[APPS];

		CHECKF(folds_by_group(apps.group, ds.labels, 5, 543, APPS, k, "applications", fold,
				      err, sizeof(err)) == 0, "%s", err);
		for (int a = 0; a < APPS; a++)
			fold_of_app[a] = -1;
		for (size_t w = 0; w < 543; w++) {
			int a = apps.group[w];

			CHECKF(fold[w] >= 0 && fold[w] < k, "window %zu in fold %d", w, fold[w]);
			CHECKF(fold_of_app[a] < 0 || fold_of_app[a] == fold[w],
			       "%d folds: %s on both sides", k, apps.names[a]);
			fold_of_app[a] = fold[w];
		}
		if (k == APPS) { /* leave one out: the app numbered f in fold f */
			for (int a = 0; a < APPS; a++)
				CHECK(fold_of_app[a] == a);
			continue;
		}
		/* each class's two applications apart: pairs of app_names */
		for (int a = 0; a < APPS - 1; a += a == 4 ? 3 : 2) {
			int x = group_named(&apps, app_names[a]), y = group_named(&apps, app_names[a + 1]);

			CHECKF(x >= 0 && y >= 0 && fold_of_app[x] != fold_of_app[y],
			       "%d folds: %s and %s in one fold", k, app_names[a], app_names[a + 1]);
		}
	}
	dataset_groups_free(&apps);
	/* the file folds' index has no app column */
	write_files_dataset(tmp_path("caps"), false);
	CHECK(dataset_index_load(tmp_path("caps"), 543, "app", &apps, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "caps_index.csv: line 1: no \"app\" column (pcap2npy --labels writes "
		      "it"), "%s", err);
	dataset_free(&ds);
}

/* cv --split apps: the folds JSON names the applications each holds out,
 * reports each application and the Unknown outcome fitted on held-out
 * applications, and its predictions carry the Unknown scores calibrate
 * fits the threshold on; other splits' do not. */
static void test_command_apps(void)
{
	json_t *root, *folds, *v, *name, *unknown;
	size_t i, j, tested = 0, named = 0;
	char path[400];
	int rc;

	scratch_empty();
	write_apps_dataset(tmp_path("lab"));
	rc = run_command(cmd_cv, "cv", "--data", tmp_path("lab"), "--split", "apps", "--folds", "2",
			 "--hidden", "8", "--epochs", "2", "--json", "--predictions",
			 tmp_path("apps"), NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	root = json_loads(command_output, 0, NULL);
	CHECKF(root, "not JSON:\n%s", command_output);
	if (!root)
		return;
	CHECK(!strcmp(json_string_value(json_object_get(root, "split")), "apps"));
	folds = json_object_get(root, "folds");
	json_array_foreach(folds, i, v) {
		tested += json_integer_value(json_object_get(v, "test"));
		json_array_foreach(json_object_get(v, "apps"), j, name)
			named += name != NULL;
	}
	CHECK(tested == 543 && named == APPS);
	CHECK(json_array_size(json_object_get(json_object_get(root, "apps"), "each")) == APPS);
	/* every window of this index is its direction's first */
	CHECK(json_integer_value(json_object_get(json_object_get(root, "first_windows"), "n")) ==
	      543);
	unknown = json_object_get(root, "unknown");
	CHECK(json_is_true(json_object_get(unknown, "fitted")) &&
	      !strcmp(json_string_value(json_object_get(unknown, "score")), "confidence") &&
	      json_array_size(json_object_get(unknown, "fold_thresholds")) == 2 &&
	      json_array_size(json_object_get(unknown, "curve")) == NAMED_POINTS);
	json_decref(root);

	rc = run_command(cmd_train, "train", "--data", tmp_path("lab"), "--hidden", "8",
			 "--epochs", "2", "--quiet", "--out", tmp_path("lab.safetensors"), NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	rc = run_command(cmd_calibrate, "calibrate", "--model", tmp_path("lab.safetensors"),
			 "--predictions", tmp_path("apps"), NULL);
	CHECKF(rc == 0 && strstr(command_output, "; Unknown threshold "), "exit %d: %s", rc,
	       command_output);

	/* held-out windows of applications trained on: no scores to fit on */
	rc = run_command(cmd_cv, "cv", "--data", tmp_path("lab"), "--folds", "2", "--hidden", "8",
			 "--epochs", "1", "--predictions", tmp_path("blocked"), NULL);
	CHECKF(rc == 0 && strstr(command_output, "Unknown (confidence): no threshold from these "
				 "folds"), "exit %d: %s", rc, command_output);
	snprintf(path, sizeof(path), "%s_unknown.npy", tmp_path("blocked"));
	CHECK(access(path, F_OK) != 0);
	rc = run_command(cmd_calibrate, "calibrate", "--model", tmp_path("lab.safetensors"),
			 "--predictions", tmp_path("blocked"), NULL);
	CHECKF(rc == 0 && strstr(command_output, "_unknown.npy (odeflow cv --split apps "
				 "--predictions writes it): the Unknown threshold left at "),
	       "exit %d: %s", rc, command_output);
}

/* cv --also: its windows in every fold's training set, never tested;
 * windows of other classes refused in one line. */
static void test_command_also(void)
{
	json_t *root, *v;
	size_t i;
	char path[400];
	FILE *f;
	int rc;

	scratch_empty();
	write_apps_dataset(tmp_path("lab"));
	rc = run_command(cmd_cv, "cv", "--data", tmp_path("lab"), "--split", "apps", "--folds", "2",
			 "--also", "tests/data/iscx-small", "--hidden", "8", "--members", "1",
			 "--epochs", "1", "--json", NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	root = json_loads(command_output, 0, NULL);
	CHECKF(root, "not JSON:\n%s", command_output);
	json_array_foreach(json_object_get(root, "folds"), i, v)
		CHECK(json_integer_value(json_object_get(v, "train")) +
		      json_integer_value(json_object_get(v, "test")) == 543 + 543);
	CHECK(json_integer_value(json_object_get(root, "n")) == 543);
	json_decref(root);

	snprintf(path, sizeof(path), "%s_dataset.json", tmp_path("lab"));
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("{\"classes\": [\"a\", \"b\", \"c\", \"d\", \"e\"], \"window_start\": \"any\"}\n", f);
	fclose(f);
	rc = run_command(cmd_cv, "cv", "--data", "tests/data/iscx-small", "--also", tmp_path("lab"),
			 NULL);
	CHECKF(rc == 1 && strstr(command_output, "its classes are not those of") &&
	       !strchr(command_output, '\n')[1], "exit %d: %s", rc, command_output);
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
	RUN(test_file_folds);
	RUN(test_bad_index);
	RUN(test_command_files);
	RUN(test_app_folds);
	RUN(test_command_apps);
	RUN(test_command_also);
	scratch_remove();
	return harness_done();
}
