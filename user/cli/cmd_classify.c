// SPDX-License-Identifier: MIT
/* odeflow classify: a model on captures, with the kernel's semantics.
 * Each direction's first N packets after its first K (--skip K, by default
 * what the model's window_start says) form window 0; the cascade (the agent's
 * code) decides it; when it asks for a re-arm, the direction's next N
 * packets, starting with the packet after the request, form the next window.
 * Offline the decision is instantaneous. The live agent needs a little time
 * to decide (latency_us in its events), and the packets that pass during it
 * are in no window, so a re-armed live window may start a few packets later.
 * Events are the agent's JSON objects, one per window: iface is the capture
 * file, time is the arrival of the window's last packet (capture clock),
 * latency_us is null. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cascade.h"
#include "common/flow_key.h"
#include "cli.h"
#include "command.h"
#include "agent/event_json.h"
#include "engine/model.h"
#include "engine/model_path.h"
#include "capture/pcap_source.h"
#include "capture/sessions.h"

ODEFLOW_COMMAND(classify, "classify the flows of captures as the kernel would window them")

#define CLASSIFY_BATCH 256

struct classify_run {
	const struct model *model;
	struct model_ws *ws;
	struct cascade *cascade;
	struct sessions *sessions;
	int skip;
	const char *capture;
	int pending;
	struct window_record windows[CLASSIFY_BATCH];
	struct decision decisions[CLASSIFY_BATCH];
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: odeflow classify [--model FILE] [--threshold T] [--max-windows K]\n"
		"                        [--skip K] IN.pcap...\n"
		"Prints one JSON event per window of every flow direction with at least K + N\n"
		"packets (N: the model's window), windowed as the XDP sampler does: the N\n"
		"packets after the first K, then, while the cascade is unsure, the next N.\n"
		"  --model FILE       a model saved by odeflow train (default %s)\n"
		"  --threshold T      confidence (0..1) that makes a decision final (default %.2f)\n"
		"  --max-windows K    windows averaged at most per connection (default %d)\n"
		"  --skip K           packets of each direction before its first window (0..%d;\n"
		"                     default: where the model's training windows started)\n",
		model_default_path(), CASCADE_DEFAULT_THRESHOLD, CASCADE_DEFAULT_MAX_WINDOWS, ODEFLOW_MAX_SKIP);
}

/* Decides the pending windows, prints their events, re-arms or closes. */
static int flush(struct classify_run *r)
{
	const struct model_config *cfg = model_config(r->model);

	if (!r->pending)
		return 0;
	int failed, decided = cascade_decide(r->cascade, r->ws, r->pending, r->windows,
					     r->decisions, &failed);

	if (decided < 0 || failed) {
		fprintf(stderr, "classify: %s: the model failed on %d window(s)\n", r->capture,
			decided < 0 ? r->pending : failed);
		return -1;
	}
	for (int i = 0; i < decided; i++) {
		const struct decision *d = &r->decisions[i];
		char *line = event_json(d, cfg, r->capture, d->window.last_ns * 1e-9, -1);

		if (!line) {
			fprintf(stderr, "classify: %s: cannot format an event\n", r->capture);
			return -1;
		}
		puts(line);
		free(line);
		if (d->rearm)
			sessions_rearm(r->sessions, &d->window.key);
		else
			sessions_close(r->sessions, &d->window.key);
		/* A final verdict ends the sampling of every direction the agent
		 * has seen, the other one too, even in the middle of a re-armed
		 * window: the kernel stops sampling on the verdict's SEEN bits. */
		if (!d->provisional && d->directions_seen == (VERDICT_SEEN_FORWARD |
							      VERDICT_SEEN_REVERSE)) {
			struct flow_key back;

			flow_key_reverse(&d->window.key, &back);
			sessions_close(r->sessions, &back);
		}
	}
	r->pending = 0;
	return 0;
}

/* Windows wait in a batch for the engine. A decision can stop either
 * direction of its connection, so a packet of a connection with an
 * undecided window decides the batch first: every decision comes before
 * the connection's next packet, as if instantaneous. */
static int add_packet(struct classify_run *r, const struct packet_info *info, uint64_t ts_ns)
{
	struct session_window w;
	struct flow_key back;
	int ev;

	flow_key_reverse(&info->key, &back);
	if (sessions_awaiting(r->sessions, &back) && flush(r))
		return -1;
	ev = sessions_add(r->sessions, &info->key, info->ip_len, ts_ns, &w);
	if (ev == SESSION_AWAITING_DECISION) {
		if (flush(r))
			return -1;
		ev = sessions_add(r->sessions, &info->key, info->ip_len, ts_ns, &w);
	}
	if (ev < 0) {
		fprintf(stderr, "classify: %s: out of memory\n", r->capture);
		return -1;
	}
	if (ev == SESSION_WINDOW_DONE) {
		r->windows[r->pending++] = w.rec;
		if (r->pending == CLASSIFY_BATCH)
			return flush(r);
	}
	return 0;
}

static int classify_capture(struct classify_run *r, const char *path,
			    const struct cascade_options *opts)
{
	struct pcap_source *src;
	struct packet_info info;
	uint64_t ts_ns;
	char err[512];
	int rc = 0;

	if (pcap_source_open(path, &src, err, sizeof(err))) {
		fprintf(stderr, "classify: %s\n", err);
		return -1;
	}
	r->capture = path;
	r->pending = 0;
	r->cascade = cascade_new(r->model, opts);
	r->sessions = sessions_new(&(struct window_cut){ .window = model_config(r->model)->window,
							  .mode = WINDOWS_KERNEL, .skip = r->skip });
	if (!r->cascade || !r->sessions) {
		fprintf(stderr, "classify: out of memory\n");
		rc = -1;
	}
	while (!rc && pcap_source_next(src, &info, &ts_ns) == 1)
		rc = add_packet(r, &info, ts_ns);
	if (!rc)
		rc = flush(r);
	fflush(stdout);
	pcap_counts_print(stderr, path, pcap_source_counts(src));
	if (r->sessions)
		sessions_report(stderr, path, r->sessions);
	cascade_free(r->cascade);
	sessions_free(r->sessions);
	pcap_source_close(src);
	return rc;
}

/* Which windows the run takes, said once at the start. */
static void report_skip(struct classify_run *r)
{
	char said[160];

	r->skip = window_start_choose(&model_config(r->model)->window_start, r->skip, said,
				      sizeof(said));
	fprintf(stderr, "classify: %s\n", said);
}

int cmd_classify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "threshold", required_argument, NULL, 't' },
		{ "max-windows", required_argument, NULL, 'k' },
		{ "skip", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cascade_options copts = {
		.threshold = CASCADE_DEFAULT_THRESHOLD,
		.max_windows = CASCADE_DEFAULT_MAX_WINDOWS,
		.max_connections = ODEFLOW_DEFAULT_FLOWS, /* as many as the agent remembers */
	};
	struct classify_run run = { .skip = -1 };
	const char *model_path = model_default_path();
	struct model *model;
	char err[512];
	double threshold;
	int opt, rc = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "m:t:k:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			model_path = optarg;
			break;
		case 't':
			if (cli_double("classify", "threshold", optarg, 0, 1, false, &threshold))
				return 2;
			copts.threshold = (float)threshold;
			break;
		case 'k':
			if (cli_int("classify", "max-windows", optarg, 1, 64, &copts.max_windows))
				return 2;
			break;
		case 's':
			if (cli_int("classify", "skip", optarg, 0, ODEFLOW_MAX_SKIP, &run.skip))
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "classify: no input captures\n");
		usage(stderr);
		return 2;
	}
	if (model_load(model_path, &model, err, sizeof(err))) {
		fprintf(stderr, "classify: %s\n", err);
		return 1;
	}
	run.model = model;
	report_skip(&run);
	run.ws = model_ws_new(model, CLASSIFY_BATCH);
	if (!run.ws) {
		fprintf(stderr, "classify: out of memory\n");
		rc = -1;
	}
	for (int i = optind; i < argc && !rc; i++)
		rc = classify_capture(&run, argv[i], &copts);
	model_ws_free(run.ws);
	model_free(model);
	return rc ? 1 : 0;
}
