// SPDX-License-Identifier: MIT
/* Rendering follows https://prometheus.io/docs/instrumenting/exposition_formats/:
 * one HELP and TYPE line per family, counters end in _total, times in
 * seconds, label values escaped. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "engine/model.h"
#include "loader/map_ops.h"
#include "loader/xdp_loader.h"
#include "build_config.h"

/* Upper bounds of the latency histogram's buckets, in microseconds. */
static const uint64_t latency_bounds_us[] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000,
};

/* Upper bounds of the batch size histogram's buckets, in windows. */
static const int batch_bounds[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256 };

/* The label values of enum policy_outcome. */
static const char *const outcome_names[OUTCOME_COUNT] = {
	[OUTCOME_PASS] = "pass", [OUTCOME_DROP] = "drop", [OUTCOME_MARK] = "mark",
	[OUTCOME_RATE_PASS] = "rate_limit_pass", [OUTCOME_RATE_DROP] = "rate_limit_drop",
};

/* The sampler's counters (bpf/odeflow.h) by their names, as /metrics
 * serves them. The packets of each kind make one family, labelled by kind
 * (their sum is every packet); the action_* counters are left out (the
 * policy families count the same by class); a counter not listed here is
 * served as odeflow_xdp_NAME_total with a HELP that says so (a test fails
 * on it: list it). */
static const struct xdp_family {
	const char *counter, *family, *help, *kind;
} xdp_families[] = {
	{ "tcp", "odeflow_xdp_packets_total", NULL, "tcp" },
	{ "udp", "odeflow_xdp_packets_total", NULL, "udp" },
	{ "other_l4", "odeflow_xdp_packets_total", NULL, "other_l4" },
	{ "non_ip", "odeflow_xdp_packets_total", NULL, "non_ip" },
	{ "fragments", "odeflow_xdp_packets_total", NULL, "fragment" },
	{ "malformed", "odeflow_xdp_packets_total", NULL, "malformed" },
	{ "packets", NULL, NULL, NULL },
	{ "action_pass", NULL, NULL, NULL },
	{ "action_drop", NULL, NULL, NULL },
	{ "action_mark", NULL, NULL, NULL },
	{ "action_rate_drop", NULL, NULL, NULL },
	{ "action_rate_pass", NULL, NULL, NULL },
	{ "bytes", "odeflow_xdp_bytes_total",
	  "Bytes of the frames the sampler saw, Ethernet header included.", NULL },
	{ "first_packets", "odeflow_xdp_first_packets_total",
	  "Directions seen once and held for admission: their next packet admits them.", NULL },
	{ "admit_overwrites", "odeflow_xdp_admit_overwrites_total",
	  "Held first packets overwritten before their direction's second packet came "
	  "(a flood of one-packet directions).", NULL },
	{ "new_flows", "odeflow_xdp_new_flows_total",
	  "Directions admitted into the flows map for sampling.", NULL },
	{ "windows", "odeflow_xdp_windows_total",
	  "Windows of N packets the sampler sent to the agent.", NULL },
	{ "ring_drops", "odeflow_xdp_ring_drops_total",
	  "Windows lost because the ring to the agent was full (the agent is behind).", NULL },
	{ "verdict_hits", "odeflow_xdp_verdict_hits_total",
	  "Packets of connections that had a verdict (the policy applied to them).", NULL },
	{ "torn_windows", "odeflow_xdp_torn_windows_total",
	  "Windows restarted because two CPUs raced on one direction.", NULL },
	{ "resampled", "odeflow_xdp_resampled_total",
	  "Directions sampled again because no verdict came in time.", NULL },
	{ "agent_wakeups", "odeflow_xdp_agent_wakeups_total",
	  "Windows that woke the sleeping agent.", NULL },
	{ "egress_forwarded", "odeflow_xdp_egress_forwarded_total",
	  "Packets an egress hook passed untouched: forwarded from an interface whose ingress "
	  "sampled and enforced them already.", NULL },
	{ "teach_packets", "odeflow_xdp_teach_packets_total",
	  "Packets of taught connections (--teach) the sampler copied for the teacher's nDPI.",
	  NULL },
	{ "teach_ring_drops", "odeflow_xdp_teach_ring_drops_total",
	  "Copies for the teacher lost because its ring was full (the teacher is behind).", NULL },
	{ "enforced_evicted", "odeflow_enforced_evicted_total",
	  "Enforced connections (final verdict, an action other than pass) whose verdict the "
	  "kernel evicted for room: enforced on from their direction's state where it was "
	  "left, else passing one window of N packets until decided again.", NULL },
};

static const struct xdp_family *xdp_family_of(const char *counter)
{
	for (size_t i = 0; i < sizeof(xdp_families) / sizeof(xdp_families[0]); i++)
		if (!strcmp(xdp_families[i].counter, counter))
			return &xdp_families[i];
	return NULL;
}

const char *metrics_build_version(void)
{
	return ODEFLOW_VERSION;
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void agent_counts_decisions(struct agent_counts *c, const struct decision *d, int n)
{
	for (int i = 0; i < n; i++) {
		int stage = d[i].stage < 1 ? 1 : d[i].stage > METRICS_STAGES ? METRICS_STAGES
									  : d[i].stage;

		if (d[i].class_id >= 0 && d[i].class_id < ODEFLOW_MAX_CLASSES)
			__atomic_fetch_add(&c->verdicts[d[i].class_id][stage - 1], 1,
					   __ATOMIC_RELAXED);
	}
}

void agent_counts_batch(struct agent_counts *c, int n)
{
	if (n > 0 && n <= POOL_MAX_BATCH)
		__atomic_fetch_add(&c->batch_sizes[n], 1, __ATOMIC_RELAXED);
}

static uint64_t load_or_zero(const uint64_t *p)
{
	return p ? load(p) : 0;
}

/* Seconds since the drain last published; whether it did within
 * METRICS_HEALTHY_WITHIN_NS. */
static bool drain_alive(const struct metrics_source *src, double *age_s)
{
	uint64_t beat = src->heartbeat_ns ? load(src->heartbeat_ns) : 0, now = monotonic_ns();

	*age_s = beat && now > beat ? (double)(now - beat) / 1e9 : 0;
	return beat && now - beat < METRICS_HEALTHY_WITHIN_NS;
}

bool metrics_health(void *source, char *why, size_t len)
{
	const struct metrics_source *src = source;
	bool attached = src->attached && __atomic_load_n(src->attached, __ATOMIC_RELAXED);
	double age;

	if (!drain_alive(src, &age)) {
		if (age > 0)
			snprintf(why, len, "the agent's drain loop has not run for %.1f s", age);
		else
			snprintf(why, len, "the agent is starting");
		return false;
	}
	if (!attached) {
		snprintf(why, len, "the sampler is not attached to %s", src->iface);
		return false;
	}
	snprintf(why, len, "ok");
	return true;
}

/* Walks "flows" and "verdicts" when the last walk is older than
 * METRICS_CENSUS_EVERY_NS (on the server's thread, which has them alone). */
static void refresh_census(struct metrics_source *src)
{
	uint64_t now = monotonic_ns();

	if (src->have_census && now - src->census_ns < METRICS_CENSUS_EVERY_NS)
		return;
	src->census_ns = now;
	src->have_census = src->flows_fd >= 0 && src->verdicts_fd >= 0 &&
			   !map_census(src->flows_fd, 0, &src->flows) &&
			   !map_census(src->verdicts_fd, 1, &src->verdicts);
}

void metrics_fill(void *source, struct metrics_snapshot *s)
{
	struct metrics_source *src = source;
	const struct model_config *cfg = src->model;

	s->iface = src->iface;
	s->hook = __atomic_load_n(&src->hook, __ATOMIC_ACQUIRE); /* set again once attached */
	/* both change when the agent takes another model (model_reload.h) */
	s->model_path = __atomic_load_n(&src->model_path, __ATOMIC_ACQUIRE);
	s->arch = model_arch_name(cfg->arch);
	s->model_id = __atomic_load_n(&cfg->model_id, __ATOMIC_RELAXED);
	s->window_n = cfg->window;
	s->model_classes = cfg->num_classes;
	s->num_classes = model_outcomes(cfg);
	s->max_windows = src->max_windows;
	for (int k = 0; k < s->num_classes; k++)
		s->class_names[k] = model_outcome_name(cfg, k);
	s->start_time = src->start_time;
	s->windows_classified = load_or_zero(src->windows_classified);
	s->bad_records = load_or_zero(src->bad_records);
	s->rearms_lost = load_or_zero(src->rearms_lost);
	s->windows_failed = load_or_zero(src->windows_failed);
	const struct decision_queue *events = __atomic_load_n(&src->events_queue, __ATOMIC_ACQUIRE);

	s->events_dropped = events ? decision_queue_dropped(events) : 0;
	s->have_ipfix = src->ipfix != NULL;
	s->ipfix_exported = src->ipfix ? ipfix_exporter_exported(src->ipfix) : 0;
	s->ipfix_dropped = src->ipfix ? ipfix_exporter_dropped(src->ipfix) : 0;
	s->ipfix_send_failures = src->ipfix ? ipfix_exporter_send_failures(src->ipfix) : 0;
	for (int k = 0; k < ODEFLOW_MAX_CLASSES; k++)
		for (int st = 0; st < METRICS_STAGES; st++)
			s->counts.verdicts[k][st] = load(&src->counts->verdicts[k][st]);
	for (int n = 0; n <= POOL_MAX_BATCH; n++)
		s->counts.batch_sizes[n] = load(&src->counts->batch_sizes[n]);
	for (int b = 0; b < LATENCY_BUCKETS; b++)
		s->latency.count[b] = load(&src->latency->count[b]);
	s->latency.sum_us = load(&src->latency->sum_us);
	s->have_xdp = src->counters_fd >= 0 && !xdp_read_counters(src->counters_fd, s->xdp);
	/* one family for both ways an enforced connection's state is lost: the
	 * kernel's count (its direction still held the decision) and the
	 * agent's (nothing did: decided again from its memory) */
	if (s->have_xdp)
		s->xdp[CNT_ENFORCED_EVICTED] += load_or_zero(src->verdicts_restored);
	s->have_class_actions = src->class_actions_fd >= 0 &&
				!xdp_read_class_actions(src->class_actions_fd, s->class_actions);
	drain_alive(src, &s->heartbeat_age);
	s->attached = src->attached && __atomic_load_n(src->attached, __ATOMIC_RELAXED);
	refresh_census(src);
	s->have_census = src->have_census;
	s->have_teach = src->teach_info_fd >= 0 && !xdp_read_teach(src->teach_info_fd, &s->teach) &&
			s->teach.pid;
	s->flows = src->flows;
	s->verdicts = src->verdicts;
}

/* A label value with \, " and newlines escaped. */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* One sample with one label: name{label="value"} v. */
static void sample_by(FILE *f, const char *name, const char *label, const char *value, uint64_t v)
{
	fprintf(f, "%s{%s=\"", name, label);
	put_label(f, value);
	fprintf(f, "\"} %llu\n", (unsigned long long)v);
}

/* One sample per class of a per-class counter. */
static void sample_by_class(FILE *f, const struct metrics_snapshot *s, const char *name,
			    const __u64 *v)
{
	for (int k = 0; k < s->num_classes && k < ODEFLOW_MAX_CLASSES; k++)
		sample_by(f, name, "class", s->class_names[k], v[k]);
}

static void render_info(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "odeflow_build_info", "gauge", "The odeflow build this agent runs.");
	sample_by(f, "odeflow_build_info", "version", metrics_build_version(), 1);
	family(f, "odeflow_model_info", "gauge",
	       "The model the agent classifies with: its id, architecture, window size N and file.");
	fprintf(f, "odeflow_model_info{model_id=\"%u\",arch=\"", s->model_id);
	put_label(f, s->arch);
	fprintf(f, "\",window=\"%d\",classes=\"%d\",path=\"", s->window_n, s->model_classes);
	put_label(f, s->model_path);
	fputs("\",iface=\"", f);
	put_label(f, s->iface);
	fputs("\",hook=\"", f);
	put_label(f, s->hook);
	fputs("\"} 1\n", f);
	family(f, "odeflow_start_time_seconds", "gauge", "When the agent started, seconds since the epoch.");
	fprintf(f, "odeflow_start_time_seconds %.3f\n", s->start_time);
}

static void render_health(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "odeflow_heartbeat_age_seconds", "gauge",
	       "Seconds since the agent's drain loop last ran (it runs several times a second; "
	       "/healthz fails when this passes a second).");
	fprintf(f, "odeflow_heartbeat_age_seconds %.3f\n", s->heartbeat_age);
	family(f, "odeflow_sampler_attached", "gauge",
	       "1 while the agent's sampler is attached to its interface.");
	fprintf(f, "odeflow_sampler_attached %d\n", s->attached ? 1 : 0);
}

static void render_xdp(FILE *f, const struct metrics_snapshot *s)
{
	char name[96], help[160];
	bool kinds_said = false;

	if (!s->have_xdp)
		return;
	for (int c = 0; c < CNT_MAX; c++) {
		const struct xdp_family *x = xdp_family_of(xdp_counter_name(c));

		if (x && x->kind) {
			if (!kinds_said)
				family(f, "odeflow_xdp_packets_total", "counter",
				       "Packets the sampler saw, by kind (tcp, udp, other_l4: other IP "
				       "protocols, non_ip, fragment: a non-first IP fragment, malformed: "
				       "headers the stack would discard); only tcp and udp are sampled.");
			kinds_said = true;
			sample_by(f, "odeflow_xdp_packets_total", "kind", x->kind, s->xdp[c]);
			continue;
		}
		if (x && !x->family)
			continue;
		if (x) {
			family(f, x->family, "counter", x->help);
			sample(f, x->family, s->xdp[c]);
			continue;
		}
		snprintf(name, sizeof(name), "odeflow_xdp_%s_total", xdp_counter_name(c));
		snprintf(help, sizeof(help), "The sampler's counter %s (odeflow stats).",
			 xdp_counter_name(c));
		family(f, name, "counter", help);
		sample(f, name, s->xdp[c]);
	}
}

/* Stages 1..max_windows (a verdict never has more); past METRICS_STAGES
 * the last one counts every later stage, labelled "8+". */
static void render_verdicts(FILE *f, const struct metrics_snapshot *s)
{
	int stages = s->max_windows < 1 ? 1 : s->max_windows > METRICS_STAGES ? METRICS_STAGES
									      : s->max_windows;
	bool open_ended = s->max_windows > METRICS_STAGES;

	family(f, "odeflow_verdicts_total", "counter",
	       "Verdicts the agent wrote, by class and stage (the windows of the connection "
	       "averaged into it; final or provisional).");
	for (int k = 0; k < s->num_classes && k < ODEFLOW_MAX_CLASSES; k++)
		for (int st = 0; st < stages; st++) {
			uint64_t n = load(&s->counts.verdicts[k][st]);

			for (int later = st + 1; st == stages - 1 && later < METRICS_STAGES; later++)
				n += load(&s->counts.verdicts[k][later]);
			fputs("odeflow_verdicts_total{class=\"", f);
			put_label(f, s->class_names[k]);
			fprintf(f, "\",stage=\"%d%s\"} %llu\n", st + 1,
				open_ended && st == stages - 1 ? "+" : "", (unsigned long long)n);
		}
}

static void render_class_traffic(FILE *f, const struct metrics_snapshot *s, const char *name,
				 const char *help, bool bytes)
{
	family(f, name, "counter", help);
	for (int k = 0; k < s->num_classes && k < ODEFLOW_MAX_CLASSES; k++)
		for (int o = 0; o < OUTCOME_COUNT; o++) {
			const struct class_traffic *t = &s->class_actions[k * OUTCOME_COUNT + o];

			fprintf(f, "%s{class=\"", name);
			put_label(f, s->class_names[k]);
			fprintf(f, "\",action=\"%s\"} %llu\n", outcome_names[o],
				(unsigned long long)(bytes ? t->bytes : t->packets));
		}
}

static void render_classes(FILE *f, const struct metrics_snapshot *s)
{
	render_verdicts(f, s);
	if (!s->have_class_actions)
		return;
	render_class_traffic(f, s, "odeflow_policy_packets_total",
			     "Packets of classified connections, by class and what the policy did "
			     "(a provisional or Unknown verdict's drop or rate limit counts as pass).", false);
	render_class_traffic(f, s, "odeflow_policy_bytes_total",
			     "IP bytes of those packets, by class and what the policy did.", true);
}

static void render_census(FILE *f, const struct metrics_snapshot *s)
{
	static const char *const states[CENSUS_STATES] = { [CENSUS_FINAL] = "final",
							     [CENSUS_PROVISIONAL] = "provisional" };

	if (!s->have_census)
		return;
	family(f, "odeflow_connections", "gauge",
	       "Connections in the verdicts map, by class and whether the verdict is final "
	       "(a walk of the map, refreshed every few seconds).");
	for (int k = 0; k < s->num_classes && k < ODEFLOW_MAX_CLASSES; k++)
		for (int st = 0; st < CENSUS_STATES; st++) {
			fputs("odeflow_connections{class=\"", f);
			put_label(f, s->class_names[k]);
			fprintf(f, "\",state=\"%s\"} %llu\n", states[st],
				(unsigned long long)s->verdicts.connections[k][st]);
		}
	family(f, "odeflow_map_entries", "gauge",
	       "Entries in the sampler's maps: flows (directions being sampled) and verdicts "
	       "(connections), from the same walk.");
	sample(f, "odeflow_map_entries{map=\"flows\"}", s->flows.entries);
	sample(f, "odeflow_map_entries{map=\"verdicts\"}", s->verdicts.entries);
	family(f, "odeflow_map_max_entries", "gauge",
	       "Capacity of those maps (odeflow run --flows); the kernel evicts the least "
	       "recently used entry of a full one.");
	sample(f, "odeflow_map_max_entries{map=\"flows\"}", s->flows.max_entries);
	sample(f, "odeflow_map_max_entries{map=\"verdicts\"}", s->verdicts.max_entries);
}

static void render_agent(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "odeflow_windows_classified_total", "counter", "Windows the agent classified.");
	sample(f, "odeflow_windows_classified_total", s->windows_classified);
	family(f, "odeflow_windows_failed_total", "counter",
	       "Windows the model could not classify (non-finite output).");
	sample(f, "odeflow_windows_failed_total", s->windows_failed);
	family(f, "odeflow_bad_records_total", "counter", "Ring records that were not a window.");
	sample(f, "odeflow_bad_records_total", s->bad_records);
	family(f, "odeflow_rearms_lost_total", "counter",
	       "Directions that left the flows map before the cascade re-armed them.");
	sample(f, "odeflow_rearms_lost_total", s->rearms_lost);
	family(f, "odeflow_events_dropped_total", "counter",
	       "Events not written: the writer's queue was full.");
	sample(f, "odeflow_events_dropped_total", s->events_dropped);
	if (!s->have_ipfix)
		return;
	family(f, "odeflow_ipfix_records_exported_total", "counter",
	       "IPFIX records sent to the collector.");
	sample(f, "odeflow_ipfix_records_exported_total", s->ipfix_exported);
	family(f, "odeflow_ipfix_records_dropped_total", "counter",
	       "IPFIX records dropped: the queue was full, or the collector was down or went away.");
	sample(f, "odeflow_ipfix_records_dropped_total", s->ipfix_dropped);
	family(f, "odeflow_ipfix_send_failures_total", "counter",
	       "Connections to the IPFIX collector and sends to it that failed.");
	sample(f, "odeflow_ipfix_send_failures_total", s->ipfix_send_failures);
}

static void render_batch_sizes(FILE *f, const struct metrics_snapshot *s)
{
	uint64_t cum = 0, sum = 0;
	int size = 1;

	family(f, "odeflow_batch_windows", "histogram", "Windows per batch handed to classification.");
	for (size_t b = 0; b < sizeof(batch_bounds) / sizeof(batch_bounds[0]); b++) {
		for (; size <= batch_bounds[b]; size++) {
			uint64_t n = load(&s->counts.batch_sizes[size]);

			cum += n;
			sum += n * (uint64_t)size;
		}
		fprintf(f, "odeflow_batch_windows_bucket{le=\"%d\"} %llu\n", batch_bounds[b],
			(unsigned long long)cum);
	}
	fprintf(f, "odeflow_batch_windows_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	sample(f, "odeflow_batch_windows_sum", sum);
	sample(f, "odeflow_batch_windows_count", cum);
}

static void render_latency(FILE *f, const struct metrics_snapshot *s)
{
	size_t nb = sizeof(latency_bounds_us) / sizeof(latency_bounds_us[0]), next = 0;
	uint64_t cum = 0;

	family(f, "odeflow_verdict_latency_seconds", "histogram",
	       "From a window's Nth packet in the kernel to its verdict in the map.");
	/* each fine bucket goes into the first bound at or above its upper end */
	for (int b = 0; b < LATENCY_BUCKETS; b++) {
		uint64_t upper = latency_bucket_upper(b);

		for (; next < nb && latency_bounds_us[next] < upper; next++)
			fprintf(f, "odeflow_verdict_latency_seconds_bucket{le=\"%g\"} %llu\n",
				latency_bounds_us[next] / 1e6, (unsigned long long)cum);
		cum += load(&s->latency.count[b]);
	}
	for (; next < nb; next++)
		fprintf(f, "odeflow_verdict_latency_seconds_bucket{le=\"%g\"} %llu\n",
			latency_bounds_us[next] / 1e6, (unsigned long long)cum);
	fprintf(f, "odeflow_verdict_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)cum);
	fprintf(f, "odeflow_verdict_latency_seconds_sum %.6f\n", load(&s->latency.sum_us) / 1e6);
	sample(f, "odeflow_verdict_latency_seconds_count", cum);
}

/* --teach: what the teacher did and costs, and the agreement of the fast
 * model with nDPI per class (agreed / checked: a live accuracy). */
static void render_teach(FILE *f, const struct metrics_snapshot *s)
{
	const struct teach_info *t = &s->teach;

	if (!s->have_teach)
		return;
	family(f, "odeflow_teach_packets_total", "counter",
	       "Copied packets of taught connections, by what the teacher did: inspected by nDPI, "
	       "or let go (over its CPU budget, its table of connections full).");
	sample_by(f, "odeflow_teach_packets_total", "outcome", "inspected", t->packets);
	sample_by(f, "odeflow_teach_packets_total", "outcome", "dropped", t->packets_dropped);
	family(f, "odeflow_teach_connections_total", "counter",
	       "Taught connections nDPI concluded, by whether the class map gave them a class.");
	sample_by(f, "odeflow_teach_connections_total", "outcome", "labelled", t->labelled);
	sample_by(f, "odeflow_teach_connections_total", "outcome", "unlabelled", t->unlabelled);
	family(f, "odeflow_teach_inspecting", "gauge", "Connections nDPI follows now.");
	sample(f, "odeflow_teach_inspecting", t->connections_now);
	family(f, "odeflow_teach_cpu_seconds_total", "counter", "CPU time of the teacher's thread.");
	fprintf(f, "odeflow_teach_cpu_seconds_total %.6f\n", t->cpu_us / 1e6);
	family(f, "odeflow_teach_memory_bytes", "gauge",
	       "Memory the teacher holds: nDPI's, its tables' and its queues'.");
	sample(f, "odeflow_teach_memory_bytes", t->memory_bytes);
	family(f, "odeflow_dpi_verdicts_total", "counter",
	       "Connections whose final verdict the model was unsure of and that took the class "
	       "nDPI found (stage dpi).");
	sample(f, "odeflow_dpi_verdicts_total", t->dpi_verdicts);
	family(f, "odeflow_dpi_checked_total", "counter",
	       "Connections nDPI labelled with this class that the fast model decided (its first "
	       "final verdict, before any dpi verdict).");
	sample_by_class(f, s, "odeflow_dpi_checked_total", t->checked);
	family(f, "odeflow_dpi_agreed_total", "counter",
	       "Of those, the connections the fast model named this class too: agreed / checked "
	       "is a live accuracy estimate of the model, per class.");
	sample_by_class(f, s, "odeflow_dpi_agreed_total", t->agreed);
	family(f, "odeflow_site_windows_total", "counter",
	       "Labelled windows for the site data set: saved on disk, or dropped (no label in "
	       "time, a queue full, a write failed).");
	sample_by(f, "odeflow_site_windows_total", "outcome", "saved", t->windows_saved);
	sample_by(f, "odeflow_site_windows_total", "outcome", "dropped", t->windows_dropped);
	family(f, "odeflow_site_bytes", "gauge", "The site data set's size on disk.");
	sample(f, "odeflow_site_bytes", t->site_bytes);
	family(f, "odeflow_learn_runs_total", "counter",
	       "Fine-tunings the agent ran on the site data set (--learn-every), by whether "
	       "they made a better model (loaded then).");
	sample_by(f, "odeflow_learn_runs_total", "outcome", "better", t->models_learnt);
	sample_by(f, "odeflow_learn_runs_total", "outcome", "kept", t->learn_runs - t->models_learnt);
}

char *metrics_render(const struct metrics_snapshot *s, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	render_info(f, s);
	render_health(f, s);
	render_agent(f, s);
	render_classes(f, s);
	render_census(f, s);
	render_batch_sizes(f, s);
	render_latency(f, s);
	render_xdp(f, s);
	render_teach(f, s);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}
