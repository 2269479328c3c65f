// SPDX-License-Identifier: MIT
/* The site data set (user/teach/site_dataset.h): labelled windows written
 * as segments in pcap2npy's format (the same index columns), mode 0600, in
 * a directory of its own opened as root opens a path an attacker may have
 * planted, bounded by a cap with the oldest segments rotated out, read back
 * in the order written; segments cut short are removed, corrupt ones
 * skipped with one line, and a full disk loses the windows it could not
 * take, counted, with one line. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/errmsg.h"
#include "common/flow_key.h"
#include "harness.h"
#include "scratch.h"
#include "teach/site_dataset.h"

#define N 20

/* Options for a data set in dir (kept: tmp_path's buffers rotate). */
static struct site_dataset_options options(const char *dir, uint64_t cap)
{
	static char dirs[8][256];
	static int next;
	char *copy = dirs[next++ % 8];
	struct site_dataset_options o = { .dir = copy, .cap_bytes = cap, .skip = 0 };

	snprintf(copy, sizeof(dirs[0]), "%s", dir);
	const char *names[] = { "VoIP", "Video", "File_Transfer", "Chat", "Browsing" };

	o.info.num_classes = 5;
	for (int k = 0; k < 5; k++)
		snprintf(o.info.class_names[k], sizeof(o.info.class_names[k]), "%s", names[k]);
	o.info.window = N;
	snprintf(o.info.labelled_by, sizeof(o.info.labelled_by), "test");
	return o;
}

/* Window number i of a made-up direction: sizes and gaps from i. */
static struct window_record window(int i)
{
	struct window_record w = { .n = N, .window = (uint16_t)(i % 3), .first_ns = 1000000ull * i };

	flow_key_make(&w.key, "10.200.0.1", (uint16_t)(10000 + i / 3), "10.200.0.2", 443, 6);
	for (int p = 0; p < N; p++) {
		w.sizes[p] = (uint16_t)(60 + (i * 7 + p * 13) % 1400);
		w.offset_us[p] = (uint32_t)(p * (100 + i % 50));
	}
	return w;
}

static void test_written_as_pcap2npy_writes(void)
{
	struct site_dataset_options o = options(tmp_path("site"), SITE_MIN_CAP_BYTES);
	struct site_dataset *d;
	struct site_rows rows;
	char err[ERRMSG_LEN], line[512];
	struct stat st;
	FILE *f;

	CHECKF(site_dataset_open(&o, &d, err, sizeof(err)) == 0, "%s", err);
	CHECK(stat(o.dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	for (int i = 0; i < 30; i++) {
		struct window_record w = window(i);

		CHECK(site_dataset_add(d, &w, i % 5, "TLS.YouTube", "Media", err, sizeof(err)) == 0);
	}
	CHECK(site_dataset_held(d) == 30 && site_dataset_saved(d) == 0);
	CHECKF(site_dataset_flush(d, err, sizeof(err)) == 0, "%s", err);
	CHECK(site_dataset_held(d) == 0 && site_dataset_saved(d) == 30 && site_dataset_bytes(d) > 0);
	site_dataset_close(d);
	/* every file 0600, and the index has pcap2npy --label-ndpi's columns */
	{
		const char *files[] = { "seg-000001_x.npy", "seg-000001_y.npy", "seg-000001_index.csv",
					"seg-000001_dataset.json" };

		for (int i = 0; i < 4; i++) {
			char name[128];

			snprintf(name, sizeof(name), "site/%s", files[i]);
			CHECKF(stat(tmp_path(name), &st) == 0 && (st.st_mode & 0777) == 0600,
			       "%s: mode %o", files[i], st.st_mode & 0777);
		}
	}
	f = fopen(tmp_path("site/seg-000001_index.csv"), "r");
	CHECK(f && fgets(line, sizeof(line), f));
	CHECKF(f && !strncmp(line, "row,file,src,dst,sport,dport,proto,window,first_packet,label,"
			     "ndpi_protocol,ndpi_category", 80), "header %s", line);
	CHECK(f && fgets(line, sizeof(line), f) && strstr(line, ",seg-000001,10.200.0.1,10.200.0.2,"));
	if (f)
		fclose(f);
	/* read back: rows, labels, directions */
	CHECKF(site_dataset_load(o.dir, 5, &rows, err, sizeof(err)) == 0, "%s", err);
	CHECK(rows.data.n == 30 && rows.data.window == N && rows.segments == 1 && rows.skipped == 0);
	CHECK(rows.info.num_classes == 5 && !strcmp(rows.info.class_names[1], "Video"));
	for (size_t i = 0; i < rows.data.n; i++) {
		CHECK(rows.segment[i] == 1);
		CHECK(rows.direction[i].dport == 443 && rows.direction[i].proto == 6);
	}
	/* the first window of sport 10000 (rows sorted by direction, then window) */
	CHECKF(rows.data.n && rows.data.labels[0] == 0 && rows.data.sizes[0] == 60 && rows.data.times[1] > 0, "n %zu", rows.data.n);
	site_rows_free(&rows);
}

static void test_rotated_under_its_cap(void)
{
	struct site_dataset_options o = options(tmp_path("rotate"), SITE_MIN_CAP_BYTES);
	struct site_dataset *d;
	struct site_rows rows;
	char err[ERRMSG_LEN];

	CHECKF(site_dataset_open(&o, &d, err, sizeof(err)) == 0, "%s", err);
	/* 12 segments of SITE_SEGMENT_WINDOWS windows (about 1 MB each) */
	for (int i = 0; i < 12 * SITE_SEGMENT_WINDOWS; i++) {
		struct window_record w = window(i);

		CHECK(site_dataset_add(d, &w, i % 5, "STUN", "Network", err, sizeof(err)) == 0);
		CHECKF(site_dataset_bytes(d) <= o.cap_bytes, "%llu bytes over a cap of %llu",
		       (unsigned long long)site_dataset_bytes(d), (unsigned long long)o.cap_bytes);
	}
	CHECK(site_dataset_saved(d) == 12 * SITE_SEGMENT_WINDOWS);
	site_dataset_close(d);
	CHECK(access(tmp_path("rotate/seg-000001_x.npy"), F_OK) != 0); /* the oldest went */
	CHECK(access(tmp_path("rotate/seg-000012_dataset.json"), F_OK) == 0);
	CHECKF(site_dataset_load(o.dir, 5, &rows, err, sizeof(err)) == 0, "%s", err);
	CHECK(rows.segments >= 2 && rows.segments < 12);
	for (size_t i = 1; i < rows.data.n; i++)
		CHECK(rows.segment[i] >= rows.segment[i - 1]); /* in the order written */
	CHECK(rows.segment[rows.data.n - 1] == 12);
	site_rows_free(&rows);
	/* a new run goes on with the next number */
	CHECK(site_dataset_open(&o, &d, err, sizeof(err)) == 0);
	for (int i = 0; i < 5; i++) {
		struct window_record w = window(i);

		CHECK(site_dataset_add(d, &w, 1, "STUN", "Network", err, sizeof(err)) == 0);
	}
	site_dataset_close(d);
	CHECK(access(tmp_path("rotate/seg-000013_dataset.json"), F_OK) == 0);
}

static void test_refuses_planted_directories(void)
{
	struct site_dataset_options o;
	struct site_dataset *d;
	char err[ERRMSG_LEN];

	CHECK(mkdir(tmp_path("elsewhere"), 0700) == 0);
	CHECK(symlink(tmp_path("elsewhere"), tmp_path("link")) == 0);
	o = options(tmp_path("link"), SITE_MIN_CAP_BYTES);
	CHECK(site_dataset_open(&o, &d, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "symlink is not followed") != NULL, "%s", err);
	CHECK(mkdir(tmp_path("open"), 0777) == 0 && chmod(tmp_path("open"), 0777) == 0);
	o = options(tmp_path("open"), SITE_MIN_CAP_BYTES);
	CHECK(site_dataset_open(&o, &d, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "others may write into it") != NULL, "%s", err);
	if (harness_is_root()) {
		CHECK(mkdir(tmp_path("theirs"), 0700) == 0 && chown(tmp_path("theirs"), 65534, 65534) == 0);
		o = options(tmp_path("theirs"), SITE_MIN_CAP_BYTES);
		CHECK(site_dataset_open(&o, &d, err, sizeof(err)) == -1);
		CHECKF(strstr(err, "belongs to another user") != NULL, "%s", err);
	}
	o = options(tmp_path("small"), SITE_MIN_CAP_BYTES - 1);
	CHECK(site_dataset_open(&o, &d, err, sizeof(err)) == -1 && strstr(err, "at least"));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_cut_and_corrupt_segments(void)
{
	struct site_dataset_options o = options(tmp_path("hurt"), SITE_MIN_CAP_BYTES);
	struct site_dataset *d;
	struct site_rows rows;
	char err[ERRMSG_LEN];

	CHECK(site_dataset_open(&o, &d, err, sizeof(err)) == 0);
	for (int seg = 0; seg < 3; seg++) {
		for (int i = 0; i < 10; i++) {
			struct window_record w = window(seg * 10 + i);

			CHECK(site_dataset_add(d, &w, 2, "FTP_DATA", "Download", err, sizeof(err)) == 0);
		}
		CHECK(site_dataset_flush(d, err, sizeof(err)) == 0);
	}
	site_dataset_close(d);
	/* segment 2 corrupt; segment 3 cut short (no json); a write interrupted */
	write_file(tmp_path("hurt/seg-000002_x.npy"), "not an npy file");
	CHECK(unlink(tmp_path("hurt/seg-000003_dataset.json")) == 0);
	write_file(tmp_path("hurt/.new-000004_x.npy"), "half");
	write_file(tmp_path("hurt/notes.txt"), "the operator's");
	CHECKF(site_dataset_load(o.dir, 5, &rows, err, sizeof(err)) == 0, "%s", err);
	CHECK(rows.segments == 1 && rows.skipped == 1 && rows.data.n == 10);
	site_rows_free(&rows);
	/* the writer tidies what was cut short, leaves what is not its own */
	CHECK(site_dataset_open(&o, &d, err, sizeof(err)) == 0);
	site_dataset_close(d);
	CHECK(access(tmp_path("hurt/seg-000003_x.npy"), F_OK) != 0);
	CHECK(access(tmp_path("hurt/.new-000004_x.npy"), F_OK) != 0);
	CHECK(access(tmp_path("hurt/notes.txt"), F_OK) == 0);
	CHECK(access(tmp_path("hurt/seg-000002_x.npy"), F_OK) == 0); /* corrupt: the reader's call */
	/* nothing readable: one line */
	write_file(tmp_path("hurt/seg-000001_y.npy"), "garbage");
	CHECK(site_dataset_load(o.dir, 5, &rows, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "every one is corrupt") != NULL, "%s", err);
	CHECK(site_dataset_load(tmp_path("missing"), 5, &rows, err, sizeof(err)) == -1);
}

static void test_full_disk_loses_and_counts(void)
{
	struct site_dataset_options o = options(tmp_path("full/site"), SITE_MIN_CAP_BYTES);
	struct site_dataset *d;
	char err[ERRMSG_LEN];
	int i;

	if (!harness_is_root()) {
		SKIP("needs root to mount a small tmpfs");
		return;
	}
	CHECK(mkdir(tmp_path("full"), 0700) == 0);
	CHECK(mount("tmpfs", tmp_path("full"), "tmpfs", 0, "size=64k") == 0);
	CHECK(site_dataset_open(&o, &d, err, sizeof(err)) == 0);
	for (i = 0; i < SITE_SEGMENT_WINDOWS - 1; i++) {
		struct window_record w = window(i);

		CHECK(site_dataset_add(d, &w, 1, "HTTP", "Web", err, sizeof(err)) == 0);
	}
	CHECK(site_dataset_flush(d, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "No space left on device") != NULL && strstr(err, "windows not written"),
	       "%s", err);
	CHECKF(strstr(err, "/proc/self") == NULL, "%s: names a path of our own", err);
	CHECK(site_dataset_lost(d) == (uint64_t)i && site_dataset_held(d) == 0);
	CHECK(site_dataset_bytes(d) == 0);
	/* what fits still goes */
	for (i = 0; i < 10; i++) {
		struct window_record w = window(i);

		CHECK(site_dataset_add(d, &w, 1, "HTTP", "Web", err, sizeof(err)) == 0);
	}
	CHECKF(site_dataset_flush(d, err, sizeof(err)) == 0, "%s", err);
	CHECK(site_dataset_saved(d) == 10);
	site_dataset_close(d);
	umount(tmp_path("full"));
}

int main(void)
{
	if (scratch_create("site"))
		return 1;
	RUN(test_written_as_pcap2npy_writes);
	RUN(test_rotated_under_its_cap);
	RUN(test_refuses_planted_directories);
	RUN(test_cut_and_corrupt_segments);
	RUN(test_full_disk_loses_and_counts);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch_dir);
		if (system(cmd))
			return 1;
	}
	return harness_done();
}
