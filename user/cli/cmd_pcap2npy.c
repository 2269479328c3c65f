// SPDX-License-Identifier: MIT
/* odeflow pcap2npy: captures -> a labelled training dataset.
 * Each one-directional session (5-tuple) of each capture is cut into windows
 * of N consecutive packets (capture/sessions.h): by default every
 * non-overlapping window from the start of the session (packets 0..N-1,
 * N..2N-1, ...), as the ODE-Flow dataset generator cut the ISCX data; at
 * most K per direction with --max-windows K (--first-only: 1, as the XDP
 * sampler takes them); --skip K starts the first after K packets. Row 0 of
 * a window is the IP total lengths, row 1 the arrival times in seconds from
 * the session's first packet, in whole microseconds (what the kernel
 * records), like iscx-reg-20's x_train.npy. Rows are grouped by capture and
 * session, windows in order, so the dataset's session splitting sees each
 * session as one run.
 * Labels come from the capture's name (--label, --label-map), from what
 * nDPI finds in each connection's payloads, through a class map
 * (--label-ndpi), or from the traffic lab's labels.csv, one row per
 * connection (--labels, capture/lab_labels.h): both directions of a
 * connection get its class; a connection nDPI did not identify by
 * inspection, or that no row names, is left out. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/class_map.h"
#include "capture/lab_labels.h"
#include "capture/label_map.h"
#include "capture/ndpi_labeler.h"
#include "capture/pcap_source.h"
#include "capture/sessions.h"
#include "cli.h"
#include "common/errmsg.h"
#include "common/log.h"
#include "engine/model.h"
#include "engine/model_path.h"
#include "capture/ndpi_report.h"
#include "capture/pcap_dataset.h"

enum {
	OPT_LABEL = 1, OPT_LABEL_MAP, OPT_LABEL_NDPI, OPT_LABELS, OPT_CLASS_MAP, OPT_WINDOW, OPT_ALL_WINDOWS,
	OPT_FIRST_ONLY, OPT_MAX_WINDOWS, OPT_SKIP, OPT_DRY_RUN, OPT_OUTPUT,
};

static const char *ndpi_help(void)
{
	static char text[160];

	snprintf(text, sizeof(text), "each connection's class from what nDPI (%s) detects in its "
		 "payloads; captures must hold whole packets", ndpi_labeler_version());
	return text;
}

static const struct cli_option options[] = {
	CLI_OPTION(OPT_LABEL, "label", 'l', "CLASS",
		   "class of every input: " ISCX_CLASS_LIST ", or a class id"),
	CLI_OPTION(OPT_LABEL_MAP, "label-map", 'm', "FILE",
		   "lines 'PATTERN CLASS': a glob on the file name picks the class"),
	CLI_OPTION(OPT_LABEL_NDPI, "label-ndpi", 0, NULL, NULL, .help_fn = ndpi_help),
	CLI_OPTION(OPT_LABELS, "labels", 0, "FILE",
		   "each connection's class, application and scenario from a labels.csv of "
		   "tools/lab (one row per connection)"),
	CLI_OPTION(OPT_CLASS_MAP, "class-map", 0, "FILE", "nDPI protocol/category -> class rules",
		   .def = CLASS_MAP_DEFAULT_FILE " of the shipped models",
		   .def_fn = class_map_default_path),
	CLI_OPTION(OPT_WINDOW, "window", 'n', "N", "packets per window",
		   .def = CLI_STR(ODEFLOW_DEFAULT_WINDOW) "; from " CLI_STR(ODEFLOW_MIN_WINDOW)
			  " to " CLI_STR(ODEFLOW_MAX_WINDOW)),
	CLI_OPTION(OPT_ALL_WINDOWS, "all-windows", 0, NULL,
		   "every non-overlapping window of each direction (the default)"),
	CLI_OPTION(OPT_FIRST_ONLY, "first-only", 'f', NULL,
		   "only each direction's first window (as the XDP sampler)"),
	CLI_OPTION(OPT_MAX_WINDOWS, "max-windows", 0, "K", "at most K windows per direction"),
	CLI_OPTION(OPT_SKIP, "skip", 0, "K", "each direction's first window starts after K packets",
		   .def = "0; at most " CLI_STR(ODEFLOW_MAX_SKIP)),
	CLI_OPTION(OPT_DRY_RUN, "dry-run", 0, NULL, "print what would be written, write nothing"),
	CLI_OPTION(OPT_OUTPUT, "output", 'o', "PREFIX",
		   "output prefix (required without --dry-run)"),
	{ 0 },
};

ODEFLOW_COMMAND(pcap2npy,
	.summary = "build a dataset (npy) from captures, labelled by name, by nDPI or by the lab",
	.description = "Cuts each one-directional session (5-tuple) of the captures into windows "
		       "of N packets (IP total length, seconds from the session's first packet) "
		       "and writes PREFIX_x.npy (rows, 2, N), PREFIX_y.npy (class ids), "
		       "PREFIX_index.csv (which capture, flow and window each row came from, its "
		       "class, what nDPI found, and with --labels its application and scenario) and "
		       "PREFIX_dataset.json (class names, where the windows start). The labels come "
		       "from exactly one of --label, --label-map, --label-ndpi and --labels; "
		       "--class-map goes with --label-ndpi; --all-windows, "
		       "--first-only and --max-windows exclude each other.\n"
		       "A capture that cannot be read is skipped with a line saying why. Exit "
		       "status 0 when a dataset was written (or, with --dry-run, would be).",
	.operands = { "IN.pcap..." },
	.groups = { { NULL, options } });

struct pcap2npy {
	const char *label, *label_map, *class_map_path, *prefix, *lab_path;
	bool ndpi, dry_run;
	struct window_cut cut;
	int *labels;                 /* per capture, without --label-ndpi */
	struct class_map *class_map; /* with --label-ndpi */
	struct ndpi_labeler *labeler;
	struct ndpi_report *report;
	struct lab_labels *lab;      /* with --labels */
	unsigned long lab_left_windows, lab_left_dirs;
	struct pcap_rows rows;
	int captures_read;
};

/* The nDPI label of every row of this capture (from `first` on); rows of
 * connections without a class are dropped. Counts everything. */
static int label_rows(struct pcap2npy *p, size_t first)
{
	const struct ndpi_result *r;
	size_t pos = 0;

	ndpi_labeler_finish(p->labeler);
	while ((r = ndpi_labeler_next(p->labeler, &pos)))
		if (ndpi_report_connection(p->report, r, ndpi_report_verdict(p->class_map, r)))
			return -1;
	for (size_t i = first; i < p->rows.count; i++) {
		struct pcap_row *row = &p->rows.rows[i];
		int verdict;

		r = ndpi_labeler_result(p->labeler, &row->key);
		if (!r)
			continue; /* cannot happen: every sampled packet went to nDPI */
		verdict = ndpi_report_verdict(p->class_map, r);
		if (ndpi_report_window(p->report, r, verdict, row->window == 0))
			return -1;
		row->label = verdict >= 0 ? verdict : -1;
		snprintf(row->ndpi_protocol, sizeof(row->ndpi_protocol), "%s", r->name);
		snprintf(row->ndpi_category, sizeof(row->ndpi_category), "%s", r->category);
	}
	pcap_rows_drop_unlabelled(&p->rows, first);
	return 0;
}

/* The lab's label of every row of this capture (from `first` on); rows of
 * connections labels.csv does not name are dropped and counted. */
static void lab_label_rows(struct pcap2npy *p, const char *path, size_t first)
{
	int capture = lab_labels_capture(p->lab, path);
	unsigned long windows = 0, dirs = 0, left = 0, left_dirs = 0;

	for (size_t i = first; i < p->rows.count; i++) {
		struct pcap_row *row = &p->rows.rows[i];
		const struct lab_label *lab = lab_labels_find(p->lab, capture, &row->key);

		if (lab) {
			row->label = lab->label;
			row->app = lab->app;
			row->scenario = lab->scenario;
			windows++;
			dirs += row->window == 0;
		} else {
			left++;
			left_dirs += row->window == 0;
		}
	}
	pcap_rows_drop_unlabelled(&p->rows, first);
	p->lab_left_windows += left;
	p->lab_left_dirs += left_dirs;
	log_line(LOG_LEVEL_INFO, "%s: %lu windows of %lu directions labelled by %s; %lu windows of "
		 "%lu directions no row names (left out)", path, windows, dirs, p->lab_path, left,
		 left_dirs);
}

/* One line per capture: what nDPI made of its connections, and why nothing
 * when it found nothing. */
static void report_capture(const struct pcap2npy *p, const char *path,
			   const struct pcap_counts *counts)
{
	unsigned long n[NDPI_OUTCOME_COUNT] = { 0 }, total = 0;
	const struct ndpi_result *r;
	size_t pos = 0;

	while ((r = ndpi_labeler_next(p->labeler, &pos))) {
		n[r->outcome]++;
		total++;
	}
	if (total && n[NDPI_NO_PAYLOAD] == total)
		log_line(LOG_LEVEL_WARNING, "%s: nDPI identified %lu of %lu connections by "
			 "inspection: their payloads were cut by the snaplen (%d bytes); nDPI needs "
			 "whole packets: capture with tcpdump -s 0", path, n[NDPI_DETECTED], total,
			 counts->snaplen);
	else
		log_line(LOG_LEVEL_INFO, "%s: nDPI identified %lu of %lu connections by inspection "
			 "(%lu guessed by port or address, %lu unknown, %lu cut by the snaplen: "
			 "left out)", path, n[NDPI_DETECTED], total, n[NDPI_GUESSED], n[NDPI_UNKNOWN],
			 n[NDPI_NO_PAYLOAD]);
}

/* Every window of one capture into the rows. A capture that cannot be
 * opened is skipped (0); -1 only when out of memory. */
static int read_capture(struct pcap2npy *p, const char *path, int file)
{
	struct sessions *sessions = sessions_new(&p->cut);
	size_t first = p->rows.count;
	struct pcap_source *src;
	struct session_window w;
	struct packet_info info;
	uint64_t ts_ns;
	char err[ERRMSG_LEN];
	int rc = 0;

	if (!sessions) {
		cli_fail("out of memory");
		return -1;
	}
	if (pcap_source_open(path, &src, err, sizeof(err))) {
		log_line(LOG_LEVEL_WARNING, "skipped: %s", err);
		sessions_free(sessions);
		return 0;
	}
	if (p->labeler)
		ndpi_labeler_reset(p->labeler);
	while (!rc && pcap_source_next(src, &info, &ts_ns) == 1) {
		int ev = sessions_add(sessions, &info.key, info.ip_len, ts_ns, &w);

		if (ev < 0 || (ev == SESSION_WINDOW_DONE && pcap_rows_add(&p->rows, file, &w)) ||
		    (p->labeler && ndpi_labeler_add(p->labeler, &info, ts_ns)))
			rc = -1;
		else if (ev == SESSION_WINDOW_DONE && !p->labeler && !p->lab)
			p->rows.rows[p->rows.count - 1].label = p->labels[file];
	}
	pcap_counts_print(stderr, path, pcap_source_counts(src));
	sessions_report(stderr, path, sessions);
	if (!rc && p->labeler) {
		rc = label_rows(p, first);
		report_capture(p, path, pcap_source_counts(src));
	}
	if (!rc && p->lab)
		lab_label_rows(p, path, first);
	if (rc)
		cli_fail("%s: out of memory", path);
	p->captures_read++;
	pcap_source_close(src);
	sessions_free(sessions);
	return rc;
}

/* The class of each input, from --label or the label map; -1 if one has none. */
static int resolve_labels(struct pcap2npy *p, int nfiles, char **files)
{
	struct label_map *map = NULL;
	char err[ERRMSG_LEN];
	int rc = 0;

	if (p->label_map && label_map_load(p->label_map, &map, err, sizeof(err))) {
		cli_fail("%s", err);
		return -1;
	}
	for (int i = 0; i < nfiles && !rc; i++) {
		p->labels[i] = map ? label_map_lookup(map, files[i]) : label_parse(p->label);
		if (p->labels[i] >= 0)
			continue;
		if (map)
			cli_fail("%s: no rule of %s matches it", files[i], p->label_map);
		else
			cli_fail("unknown class '%s' (" ISCX_CLASS_LIST " or a class id)", p->label);
		rc = -1;
	}
	label_map_free(map);
	return rc;
}

/* nDPI, the class map, and a check of every name the map gives nDPI. */
static int start_ndpi(struct pcap2npy *p)
{
	char err[ERRMSG_LEN];

	if (!p->class_map_path)
		p->class_map_path = strdup(class_map_default_path());
	p->labeler = ndpi_labeler_new(err, sizeof(err));
	if (!p->labeler) {
		cli_fail("%s", err);
		return -1;
	}
	if (class_map_load(p->class_map_path, &p->class_map, err, sizeof(err)) ||
	    class_map_check_names(p->class_map, ndpi_labeler_knows, p->labeler, err, sizeof(err))) {
		cli_fail("%s", err);
		return -1;
	}
	p->report = ndpi_report_new(p->class_map);
	if (!p->report) {
		cli_fail("out of memory");
		return -1;
	}
	return 0;
}

/* What the dataset says about itself: its classes and where its windows start. */
static void describe(const struct pcap2npy *p, struct dataset_info *info)
{
	struct model_config iscx;
	int max_label = -1;

	memset(info, 0, sizeof(*info));
	info->window = p->cut.window;
	if (p->cut.max_windows != 1)
		info->window_start = (struct window_start){ .kind = WINDOW_START_ANY };
	else if (p->cut.skip)
		info->window_start = (struct window_start){ WINDOW_START_SKIP, p->cut.skip };
	else
		info->window_start = (struct window_start){ .kind = WINDOW_START_FIRST };
	if (p->class_map) {
		info->num_classes = class_map_classes(p->class_map);
		for (int c = 0; c < info->num_classes; c++)
			snprintf(info->class_names[c], sizeof(info->class_names[c]), "%s",
				 class_map_class_name(p->class_map, c));
		snprintf(info->labelled_by, sizeof(info->labelled_by), "nDPI %s, class map %s",
			 ndpi_labeler_version(), p->class_map_path);
		return;
	}
	if (p->lab)
		snprintf(info->labelled_by, sizeof(info->labelled_by), "lab labels %s", p->lab_path);
	else
		snprintf(info->labelled_by, sizeof(info->labelled_by), "%s",
			 p->label ? "--label" : "--label-map");
	for (size_t i = 0; i < p->rows.count; i++)
		if (p->rows.rows[i].label > max_label)
			max_label = p->rows.rows[i].label;
	/* the ISCX names when every id is one of theirs; numeric ids name nothing */
	model_config_defaults(ARCH_ODERNN, &iscx);
	if (max_label < iscx.num_classes) {
		info->num_classes = iscx.num_classes;
		memcpy(info->class_names, iscx.class_names, sizeof(iscx.class_names));
	}
}

/* -1 when the command goes on, else its exit status. */
static int parse_args(int argc, char **argv, struct pcap2npy *p, int *first_capture)
{
	struct cli_parse cp;
	int id, modes = 0;

	cli_parse_start(&cp, &command_pcap2npy, argc, argv);
	while ((id = cli_next(&cp)) > 0) {
		switch (id) {
		case OPT_LABEL: p->label = cp.arg; break;
		case OPT_LABEL_MAP: p->label_map = cp.arg; break;
		case OPT_LABEL_NDPI: p->ndpi = true; break;
		case OPT_LABELS: p->lab_path = cp.arg; break;
		case OPT_CLASS_MAP: p->class_map_path = cp.arg; break;
		case OPT_WINDOW:
			cli_int(&cp, ODEFLOW_MIN_WINDOW, ODEFLOW_MAX_WINDOW, &p->cut.window);
			break;
		case OPT_ALL_WINDOWS: p->cut.max_windows = 0; modes++; break;
		case OPT_FIRST_ONLY: p->cut.max_windows = 1; modes++; break;
		case OPT_MAX_WINDOWS: cli_int(&cp, 1, 65535, &p->cut.max_windows); modes++; break;
		case OPT_SKIP: cli_int(&cp, 0, ODEFLOW_MAX_SKIP, &p->cut.skip); break;
		case OPT_DRY_RUN: p->dry_run = true; break;
		case OPT_OUTPUT: p->prefix = cp.arg; break;
		}
	}
	if (id < 0)
		return cp.exit;
	*first_capture = cp.operands;
	if (cp.operands == argc)
		return cli_usage_error(&cp, "no input captures");
	if (!!p->label + !!p->label_map + p->ndpi + !!p->lab_path != 1)
		return cli_usage_error(&cp, "give exactly one of --label, --label-map, --label-ndpi "
					    "and --labels");
	if (modes > 1)
		return cli_usage_error(&cp, "give at most one of --all-windows, --first-only and "
					    "--max-windows");
	if (p->class_map_path && !p->ndpi)
		return cli_usage_error(&cp, "--class-map goes with --label-ndpi");
	if (!p->prefix && !p->dry_run)
		return cli_usage_error(&cp, "-o PREFIX is required");
	return -1;
}

int cmd_pcap2npy(int argc, char **argv)
{
	struct pcap2npy p = { .cut = { .window = ODEFLOW_DEFAULT_WINDOW, .mode = WINDOWS_ALL },
			      .rows = { .window = ODEFLOW_DEFAULT_WINDOW } };
	struct dataset_info info;
	int first = argc, rc = parse_args(argc, argv, &p, &first), nfiles = argc - first;
	bool default_map = !p.class_map_path;
	char **files = argv + first, err[ERRMSG_LEN];

	if (rc >= 0)
		return rc;
	rc = 0;
	p.rows.window = p.cut.window;
	p.labels = calloc((size_t)nfiles, sizeof(*p.labels));
	if (!p.labels)
		rc = -1;
	else if (p.lab_path && lab_labels_load(p.lab_path, &p.lab, err, sizeof(err))) {
		cli_fail("%s", err);
		rc = -1;
	} else if (!p.lab_path && (p.ndpi ? start_ndpi(&p) : resolve_labels(&p, nfiles, files)))
		rc = -1;
	for (int i = 0; i < nfiles && !rc; i++)
		rc = read_capture(&p, files[i], i);
	if (!rc && p.report)
		ndpi_report_print(stdout, p.report);
	if (!rc && p.lab)
		log_line(LOG_LEVEL_INFO, "%s: %zu connections, %zu of them with no direction of %d "
			 "packets; left out: %lu windows of %lu directions no row names", p.lab_path,
			 lab_labels_count(p.lab), lab_labels_unmatched(p.lab), p.cut.window,
			 p.lab_left_windows, p.lab_left_dirs);
	describe(&p, &info);
	if (!rc && !p.rows.count) {
		cli_fail("no labelled windows in %d of %d captures read: nothing %s",
			 p.captures_read,
			 nfiles, p.dry_run ? "to write" : "written");
		rc = -1;
	} else if (!rc && !p.dry_run) {
		rc = pcap_rows_write(p.prefix, &p.rows, files, &info, err, sizeof(err));
		if (rc)
			cli_fail("%s", err);
		else
			log_line(LOG_LEVEL_INFO,
				 "%zu windows of %d packets from %d of %d captures -> "
				 "%s_x.npy, %s_y.npy, %s_index.csv, %s_dataset.json", p.rows.count,
				 p.cut.window, p.captures_read, nfiles, p.prefix, p.prefix, p.prefix,
				 p.prefix);
	}
	pcap_rows_free(&p.rows);
	ndpi_report_free(p.report);
	ndpi_labeler_free(p.labeler);
	class_map_free(p.class_map);
	lab_labels_free(p.lab);
	if (p.ndpi && default_map)
		free((char *)p.class_map_path);
	free(p.labels);
	return rc ? 1 : 0;
}
