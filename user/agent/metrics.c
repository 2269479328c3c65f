// SPDX-License-Identifier: MIT
/* Rendering follows https://prometheus.io/docs/instrumenting/exposition_formats/:
 * one HELP and TYPE line per family, counters end in _total, times in
 * seconds, label values escaped. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const char *const action_names[ACTION_COUNT] = {
	[ACTION_PASS] = "pass", [ACTION_DROP] = "drop", [ACTION_MARK] = "mark",
	[ACTION_RATE_LIMIT] = "rate_limit",
};

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

void metrics_fill(void *source, struct metrics_snapshot *s)
{
	const struct metrics_source *src = source;
	const struct model_config *cfg = src->model;

	s->iface = src->iface;
	s->hook = __atomic_load_n(&src->hook, __ATOMIC_ACQUIRE); /* set again once attached */
	s->model_path = src->model_path;
	s->arch = model_arch_name(cfg->arch);
	s->model_id = cfg->model_id;
	s->window_n = cfg->window;
	s->num_classes = cfg->num_classes < ODEFLOW_MAX_CLASSES ? cfg->num_classes
								: ODEFLOW_MAX_CLASSES;
	for (int k = 0; k < s->num_classes; k++)
		s->class_names[k] = cfg->class_names[k];
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
	for (int k = 0; k < ODEFLOW_MAX_CLASSES; k++)
		for (int st = 0; st < METRICS_STAGES; st++)
			s->counts.verdicts[k][st] = load(&src->counts->verdicts[k][st]);
	for (int n = 0; n <= POOL_MAX_BATCH; n++)
		s->counts.batch_sizes[n] = load(&src->counts->batch_sizes[n]);
	for (int b = 0; b < LATENCY_BUCKETS; b++)
		s->latency.count[b] = load(&src->latency->count[b]);
	s->latency.sum_us = load(&src->latency->sum_us);
	s->have_xdp = src->counters_fd >= 0 && !xdp_read_counters(src->counters_fd, s->xdp);
	s->have_class_actions = src->class_actions_fd >= 0 &&
				!xdp_read_class_actions(src->class_actions_fd, s->class_actions);
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

static void render_info(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "odeflow_build_info", "gauge", "The odeflow build this agent runs.");
	fputs("odeflow_build_info{version=\"", f);
	put_label(f, metrics_build_version());
	fputs("\"} 1\n", f);
	family(f, "odeflow_model_info", "gauge",
	       "The model the agent classifies with: its id, architecture, window size N and file.");
	fprintf(f, "odeflow_model_info{model_id=\"%u\",arch=\"", s->model_id);
	put_label(f, s->arch);
	fprintf(f, "\",window=\"%d\",classes=\"%d\",path=\"", s->window_n, s->num_classes);
	put_label(f, s->model_path);
	fputs("\",iface=\"", f);
	put_label(f, s->iface);
	fputs("\",hook=\"", f);
	put_label(f, s->hook);
	fputs("\"} 1\n", f);
	family(f, "odeflow_start_time_seconds", "gauge", "When the agent started, seconds since the epoch.");
	fprintf(f, "odeflow_start_time_seconds %.3f\n", s->start_time);
}

static void render_xdp(FILE *f, const struct metrics_snapshot *s)
{
	char name[96], help[160];

	if (!s->have_xdp)
		return;
	for (int c = 0; c < CNT_MAX; c++) {
		snprintf(name, sizeof(name), "odeflow_xdp_%s_total", xdp_counter_name(c));
		snprintf(help, sizeof(help), "The sampler's counter %s (odeflow stats), summed over CPUs.",
			 xdp_counter_name(c));
		family(f, name, "counter", help);
		sample(f, name, s->xdp[c]);
	}
}

static void render_classes(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "odeflow_verdicts_total", "counter",
	       "Decisions written to the verdicts map, by class and stage (windows averaged into them).");
	for (int k = 0; k < s->num_classes && k < ODEFLOW_MAX_CLASSES; k++)
		for (int st = 0; st < METRICS_STAGES; st++) {
			fputs("odeflow_verdicts_total{class=\"", f);
			put_label(f, s->class_names[k]);
			fprintf(f, "\",stage=\"%d%s\"} %llu\n", st + 1, st + 1 == METRICS_STAGES ? "+" : "",
				(unsigned long long)load(&s->counts.verdicts[k][st]));
		}
	if (!s->have_class_actions)
		return;
	family(f, "odeflow_policy_packets_total", "counter",
	       "Packets of classified connections, by class and the policy action applied.");
	for (int k = 0; k < s->num_classes && k < ODEFLOW_MAX_CLASSES; k++)
		for (int a = 0; a < ACTION_COUNT; a++) {
			fputs("odeflow_policy_packets_total{class=\"", f);
			put_label(f, s->class_names[k]);
			fprintf(f, "\",action=\"%s\"} %llu\n", action_names[a],
				(unsigned long long)s->class_actions[k * ACTION_COUNT + a]);
		}
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
	       "IPFIX records written to the collector.");
	sample(f, "odeflow_ipfix_records_exported_total", s->ipfix_exported);
	family(f, "odeflow_ipfix_records_dropped_total", "counter",
	       "IPFIX records dropped: the queue was full, or the collector went away.");
	sample(f, "odeflow_ipfix_records_dropped_total", s->ipfix_dropped);
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

char *metrics_render(const struct metrics_snapshot *s, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	render_info(f, s);
	render_agent(f, s);
	render_classes(f, s);
	render_batch_sizes(f, s);
	render_latency(f, s);
	render_xdp(f, s);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}
