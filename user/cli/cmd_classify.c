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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cascade.h"
#include "cascade_args.h"
#include "common/flow_key.h"
#include "cli.h"
#include "agent/event_json.h"
#include "engine/model.h"
#include "engine/model_path.h"
#include "capture/pcap_source.h"
#include "capture/sessions.h"
#include "common/errmsg.h"
#include "common/log.h"

#define CLASSIFY_BATCH 256

struct classify_run {
	const struct model *model;
	struct cascade *cascade;
	struct cascade_ws *ws;
	struct sessions *sessions;
	int skip;
	const char *capture;
	int pending;
	struct window_record windows[CLASSIFY_BATCH];
	struct decision decisions[CLASSIFY_BATCH];
};

enum { OPT_MODEL = 1, OPT_SKIP };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_MODEL, "model", 'm', "FILE", "a model saved by odeflow train",
		   .def = MODEL_DEFAULT_FILE " of the shipped models",
		   .def_fn = model_default_path),
	CLI_OPTION(OPT_SKIP, "skip", 's', "K", "packets of each direction before its first window",
		   .def = "where the model's training windows started; at most "
			  CLI_STR(ODEFLOW_MAX_SKIP)),
	{ 0 },
};

ODEFLOW_COMMAND(classify,
	.summary = "classify the flows of captures as the kernel would window them",
	.description = "Prints one JSON event per window of every flow direction with at least "
		       "K + N packets (N: the model's window), windowed as the XDP sampler does: "
		       "the N packets after the first K, then, while the cascade is unsure, the "
		       "next N. The events are those odeflow run writes, the capture file in "
		       "place of the interface.",
	.operands = { "IN.pcap..." },
	.groups = { { NULL, options }, CASCADE_ARGS_GROUP });

/* Decides the pending windows, prints their events, re-arms or closes. */
static int flush(struct classify_run *r)
{
	const struct model_config *cfg = model_config(r->model);

	if (!r->pending)
		return 0;
	int failed, decided = cascade_decide(r->cascade, r->ws, r->pending, r->windows,
					     r->decisions, &failed);

	if (decided < 0 || failed) {
		cli_fail("%s: the model failed on %d window(s)", r->capture,
			 decided < 0 ? r->pending : failed);
		return -1;
	}
	for (int i = 0; i < decided; i++) {
		const struct decision *d = &r->decisions[i];
		char *line = event_json(d, cfg, r->capture, d->window.last_ns * 1e-9, -1);

		if (!line) {
			cli_fail("%s: cannot format an event", r->capture);
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
		cli_fail("%s: out of memory", r->capture);
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
	char err[ERRMSG_LEN];
	int rc = 0;

	if (pcap_source_open(path, &src, err, sizeof(err))) {
		cli_fail("%s", err);
		return -1;
	}
	r->capture = path;
	r->pending = 0;
	r->ws = NULL;
	r->sessions = sessions_new(&(struct window_cut){ .window = model_config(r->model)->window,
							  .mode = WINDOWS_KERNEL, .skip = r->skip });
	if (cascade_new(r->model, opts, &r->cascade, err, sizeof(err))) {
		cli_fail("%s", err);
		rc = -1;
	} else if (!r->sessions || !(r->ws = cascade_ws_new(r->cascade, CLASSIFY_BATCH))) {
		cli_fail("out of memory");
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
	cascade_ws_free(r->ws);
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
	log_line(LOG_LEVEL_INFO, "%s", said);
}

int cmd_classify(int argc, char **argv)
{
	struct cascade_options copts;
	struct classify_run run = { .skip = -1 };
	const char *model_path = model_default_path();
	struct model *model;
	struct cli_parse p;
	char err[ERRMSG_LEN];
	int id, rc = 0;

	cascade_args_defaults(&copts, ODEFLOW_DEFAULT_FLOWS); /* as many as the agent remembers */
	cli_parse_start(&p, &command_classify, argc, argv);
	while ((id = cli_next(&p)) > 0) {
		if (cascade_args_option(&p, id, &copts))
			continue;
		switch (id) {
		case OPT_MODEL: model_path = p.arg; break;
		case OPT_SKIP: cli_int(&p, 0, ODEFLOW_MAX_SKIP, &run.skip); break;
		}
	}
	if (id < 0)
		return p.exit;
	if (p.operands == argc)
		return cli_usage_error(&p, "no input captures");
	if (model_load(model_path, &model, err, sizeof(err)))
		return cli_fail("%s", err);
	run.model = model;
	report_skip(&run);
	for (int i = p.operands; i < argc && !rc; i++)
		rc = classify_capture(&run, argv[i], &copts);
	model_free(model);
	return rc ? 1 : 0;
}
