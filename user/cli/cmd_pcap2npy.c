// SPDX-License-Identifier: MIT
/* odeflow pcap2npy: labelled captures -> a training dataset.
 * Each one-directional session (5-tuple) of each capture is cut into windows
 * of N consecutive packets: by default non-overlapping windows from anywhere
 * in the session (packets 0..N-1, N..2N-1, ...), as the ODE-Flow dataset
 * generator does; with --first-only the first N only, as the XDP sampler
 * does. Row 0 of a window is the IP total lengths, row 1 the arrival times
 * in seconds from the session's first packet, in whole microseconds (what
 * the kernel records), like iscx-reg-20's x_train.npy. Rows are grouped by
 * capture and session, windows in order, so the dataset's session splitting
 * sees each session as one run. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "command.h"
#include "train/dataset.h"
#include "common/flow_key.h"
#include "capture/label_map.h"
#include "capture/pcap_source.h"
#include "capture/sessions.h"

ODEFLOW_COMMAND(pcap2npy, "build a dataset (npy) from labelled captures")

/* Where one row came from. */
struct row {
	int file;
	int label;
	uint64_t session;
	uint16_t window;
	uint64_t first_packet;
	struct flow_key key;
	double *x; /* 2 * N: sizes, then times */
};

struct dataset_rows {
	int window;
	size_t count, capacity;
	struct row *rows;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: odeflow pcap2npy (--label CLASS | --label-map FILE) [--window N] [--first-only]\n"
		"                        IN.pcap... -o PREFIX\n"
		"Cuts each one-directional session (5-tuple) of the captures into windows of\n"
		"N packets (IP total length, seconds from the session's first packet) and\n"
		"writes PREFIX_x.npy (rows, 2, N), PREFIX_y.npy (rows) and PREFIX_index.csv\n"
		"(which capture, flow and window each row came from).\n"
		"  --label CLASS      class of every input: VoIP, Video, File_Transfer, Chat,\n"
		"                     Browsing, or a class id\n"
		"  --label-map FILE   lines 'PATTERN CLASS': a glob on the file name picks the class\n"
		"  --window N         packets per window (%d..%d, default %d)\n"
		"  --first-only       only the first N packets of each direction (as the kernel)\n"
		"                     instead of every non-overlapping window\n"
		"  -o PREFIX          output prefix\n",
		ODEFLOW_MIN_WINDOW, ODEFLOW_MAX_WINDOW, ODEFLOW_DEFAULT_WINDOW);
}

static int add_row(struct dataset_rows *d, int file, int label, const struct session_window *w)
{
	struct row *r;
	int n = d->window;

	if (d->count == d->capacity) {
		size_t cap = d->capacity ? 2 * d->capacity : 1024;
		struct row *rows = realloc(d->rows, cap * sizeof(*rows));

		if (!rows)
			return -1;
		d->rows = rows;
		d->capacity = cap;
	}
	r = &d->rows[d->count];
	*r = (struct row){ .file = file, .label = label, .session = w->session,
			   .window = w->rec.window, .first_packet = w->first_packet,
			   .key = w->rec.key, .x = malloc(2 * n * sizeof(double)) };
	if (!r->x)
		return -1;
	for (int i = 0; i < n; i++) {
		r->x[i] = w->rec.sizes[i];
		r->x[n + i] = (double)((w->ts_ns[i] - w->session_first_ns) / 1000) * 1e-6;
	}
	d->count++;
	return 0;
}

static void free_rows(struct dataset_rows *d)
{
	for (size_t i = 0; i < d->count; i++)
		free(d->rows[i].x);
	free(d->rows);
}

/* Every window of one capture into d; the skip summary onto stderr. */
static int read_capture(const char *path, int file, int label, enum window_mode mode,
			struct dataset_rows *d)
{
	struct sessions *sessions = sessions_new(d->window, mode);
	struct pcap_source *src;
	struct session_window w;
	struct packet_info info;
	uint64_t ts_ns;
	char err[512];
	int rc = 0;

	if (!sessions) {
		fprintf(stderr, "pcap2npy: out of memory\n");
		return -1;
	}
	if (pcap_source_open(path, &src, err, sizeof(err))) {
		fprintf(stderr, "pcap2npy: %s\n", err);
		sessions_free(sessions);
		return -1;
	}
	while (!rc && pcap_source_next(src, &info, &ts_ns) == 1) {
		int ev = sessions_add(sessions, &info.key, info.ip_len, ts_ns, &w);

		if (ev < 0 || (ev == SESSION_WINDOW_DONE && add_row(d, file, label, &w))) {
			fprintf(stderr, "pcap2npy: %s: out of memory\n", path);
			rc = -1;
		}
	}
	pcap_counts_print(stderr, path, pcap_source_counts(src));
	sessions_report(stderr, path, sessions);
	pcap_source_close(src);
	sessions_free(sessions);
	return rc;
}

static int row_order(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->session != y->session)
		return x->session < y->session ? -1 : 1;
	return (int)x->window - (int)y->window;
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int write_index(const char *path, const struct dataset_rows *d, char **files)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "row,file,src,dst,sport,dport,proto,window,first_packet,label\n");
	for (size_t i = 0; i < d->count; i++) {
		const struct row *r = &d->rows[i];
		char src[FLOW_ADDR_STRLEN], dst[FLOW_ADDR_STRLEN];

		flow_addr_format(r->key.saddr, src, sizeof(src));
		flow_addr_format(r->key.daddr, dst, sizeof(dst));
		fprintf(f, "%zu,", i);
		csv_field(f, files[r->file]);
		fprintf(f, ",%s,%s,%u,%u,%u,%u,%" PRIu64 ",%d\n", src, dst, r->key.sport,
			r->key.dport, r->key.proto, r->window, r->first_packet, r->label);
	}
	return fclose(f) ? -1 : 0;
}

static int write_dataset(const char *prefix, struct dataset_rows *d, char **files)
{
	size_t n = (size_t)d->window;
	struct dataset ds = {
		.n = d->count, .window = d->window,
		.sizes = malloc((d->count * n + 1) * sizeof(*ds.sizes)),
		.times = malloc((d->count * n + 1) * sizeof(*ds.times)),
		.labels = malloc((d->count + 1) * sizeof(*ds.labels)),
	};
	char path[4096], err[512];
	int rc = -1;

	if (!ds.sizes || !ds.times || !ds.labels) {
		fprintf(stderr, "pcap2npy: out of memory\n");
		goto out;
	}
	if (d->count) /* rows is NULL when no window was cut */
		qsort(d->rows, d->count, sizeof(*d->rows), row_order);
	for (size_t i = 0; i < d->count; i++) {
		for (size_t p = 0; p < n; p++) {
			ds.sizes[i * n + p] = (float)d->rows[i].x[p];
			ds.times[i * n + p] = d->rows[i].x[n + p];
		}
		ds.labels[i] = d->rows[i].label;
	}
	if (dataset_save(prefix, &ds, err, sizeof(err))) {
		fprintf(stderr, "pcap2npy: %s\n", err);
		goto out;
	}
	snprintf(path, sizeof(path), "%s_index.csv", prefix);
	if (write_index(path, d, files)) {
		fprintf(stderr, "pcap2npy: %s: cannot write it\n", path);
		goto out;
	}
	rc = 0;
out:
	dataset_free(&ds);
	return rc;
}

/* The class of each input, from --label or the label map; -1 if one has none. */
static int resolve_labels(int nfiles, char **files, const char *label, const char *map_path,
			  int *labels)
{
	struct label_map *map = NULL;
	char err[512];
	int rc = 0;

	if (map_path && label_map_load(map_path, &map, err, sizeof(err))) {
		fprintf(stderr, "pcap2npy: %s\n", err);
		return -1;
	}
	for (int i = 0; i < nfiles && !rc; i++) {
		labels[i] = map ? label_map_lookup(map, files[i]) : label_parse(label);
		if (labels[i] >= 0)
			continue;
		if (map)
			fprintf(stderr, "pcap2npy: %s: no rule of %s matches it\n", files[i], map_path);
		else
			fprintf(stderr, "pcap2npy: unknown class '%s' (VoIP, Video, File_Transfer, "
				"Chat, Browsing or a class id)\n", label);
		rc = -1;
	}
	label_map_free(map);
	return rc;
}

int cmd_pcap2npy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "label-map", required_argument, NULL, 'm' },
		{ "window", required_argument, NULL, 'n' },
		{ "first-only", no_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *label = NULL, *map = NULL, *prefix = NULL;
	enum window_mode mode = WINDOWS_ALL;
	struct dataset_rows d = { .window = ODEFLOW_DEFAULT_WINDOW };
	int opt, nfiles, *labels, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "l:m:n:fo:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			label = optarg;
			break;
		case 'm':
			map = optarg;
			break;
		case 'n':
			if (cli_int("pcap2npy", "window", optarg, ODEFLOW_MIN_WINDOW,
				    ODEFLOW_MAX_WINDOW, &d.window))
				return 2;
			break;
		case 'f':
			mode = WINDOWS_FIRST;
			break;
		case 'o':
			prefix = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	nfiles = argc - optind;
	if (!prefix || !nfiles || !label == !map) {
		fprintf(stderr, "pcap2npy: %s\n", !prefix ? "-o PREFIX is required" :
			!nfiles ? "no input captures" : "give exactly one of --label and --label-map");
		usage(stderr);
		return 2;
	}
	labels = calloc((size_t)nfiles, sizeof(*labels));
	if (!labels || resolve_labels(nfiles, argv + optind, label, map, labels)) {
		free(labels);
		return 1;
	}
	for (int i = 0; i < nfiles && !rc; i++)
		rc = read_capture(argv[optind + i], i, labels[i], mode, &d);
	if (!rc)
		rc = write_dataset(prefix, &d, argv + optind);
	if (!rc)
		fprintf(stderr, "pcap2npy: %zu windows of %d packets from %d captures -> %s_x.npy, "
			"%s_y.npy, %s_index.csv\n", d.count, d.window, nfiles, prefix, prefix, prefix);
	free_rows(&d);
	free(labels);
	return rc ? 1 : 0;
}
