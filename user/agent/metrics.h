/* SPDX-License-Identifier: MIT */
/* What `odeflow run --metrics` reports, in the Prometheus text format
 * (version 0.0.4): the agent fills a snapshot (from counters it keeps with
 * atomics and from the pinned XDP maps; nothing the drain locks) and
 * metrics_render writes it out. metrics_http.h serves it. */
#ifndef ODEFLOW_METRICS_H
#define ODEFLOW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade.h"
#include "classify_pool.h"
#include "decision_queue.h"
#include "ipfix_export.h"
#include "latency.h"
#include "loader/map_census.h"
#include "odeflow.h"

/* Verdicts are counted by stage 1..METRICS_STAGES; later stages count in
 * the last (--max-windows rarely goes past 3). */
#define METRICS_STAGES 8
/* /healthz answers 200 while the drain has published within this long. */
#define METRICS_HEALTHY_WITHIN_NS NSEC_PER_SEC
/* A scrape walks "flows" and "verdicts" for their occupancy at most this
 * often; scrapes in between serve the last walk's figures. */
#define METRICS_CENSUS_EVERY_NS (15 * NSEC_PER_SEC)

/* Counters the agent keeps for /metrics, updated with relaxed atomics by
 * the drain and the workers, read by the server's thread. */
struct agent_counts {
	uint64_t verdicts[ODEFLOW_MAX_CLASSES][METRICS_STAGES]; /* by class and stage */
	uint64_t batch_sizes[POOL_MAX_BATCH + 1];                /* batches by size */
};

/* A batch of decisions (one worker's on_decisions). */
void agent_counts_decisions(struct agent_counts *c, const struct decision *d, int n);
/* A batch of n windows handed to classification. */
void agent_counts_batch(struct agent_counts *c, int n);

struct metrics_snapshot {
	/* who */
	const char *iface, *hook, *model_path, *arch;
	uint32_t model_id;
	int window_n, model_classes;
	int num_classes;              /* the outcomes: the model's classes, then Unknown */
	const char *class_names[ODEFLOW_MAX_CLASSES];
	int max_windows;              /* verdicts have stages 1..max_windows */
	double start_time;            /* seconds since the epoch */
	/* health: what /healthz answers */
	bool attached;
	double heartbeat_age;         /* seconds since the drain last published */
	/* the agent (batches: the sum of counts.batch_sizes) */
	uint64_t windows_classified, windows_failed, bad_records, rearms_lost, events_dropped;
	bool have_ipfix;
	uint64_t ipfix_exported, ipfix_dropped, ipfix_send_failures;
	struct agent_counts counts;
	struct latency_hist latency;  /* Nth packet to verdict, microseconds */
	/* the XDP program, summed over CPUs (false: the map could not be read) */
	bool have_xdp, have_class_actions;
	uint64_t xdp[CNT_MAX];
	struct class_traffic class_actions[ODEFLOW_CLASS_ACTIONS];
	/* occupancy of the maps (false: not walked) */
	bool have_census;
	struct map_census flows, verdicts;
	/* --teach: what the teacher published (false: it does not run) */
	bool have_teach;
	struct teach_info teach;
};

/* Where a running agent's numbers live, for metrics_fill: set once at
 * start (but hook: the hook asked for, then the attachment's name once
 * attached, stored atomically; and model_path and model->model_id,
 * stored atomically when the agent takes another model); the pointed-to counters are read with
 * atomic loads. A NULL counter
 * reads as 0; a map fd below 0 leaves its part out. */
struct metrics_source {
	const char *iface, *hook, *model_path;
	const struct model_config *model;
	int max_windows;
	double start_time;
	const uint64_t *windows_classified, *bad_records, *rearms_lost;
	const uint64_t *verdicts_restored; /* added to the kernel's enforced_evicted */
	const struct agent_counts *counts;
	const struct latency_hist *latency;
	int counters_fd, class_actions_fd, flows_fd, verdicts_fd, teach_info_fd;
	const struct ipfix_exporter *ipfix;          /* NULL: no --ipfix */
	const struct decision_queue *events_queue;   /* NULL: no --events (atomic: set late) */
	const uint64_t *windows_failed;
	/* health: the drain's last publication (CLOCK_MONOTONIC ns), and
	 * whether the sampler is attached (both atomic) */
	const uint64_t *heartbeat_ns;
	const bool *attached;
	/* the server's thread's own: the last walk of the maps */
	uint64_t census_ns;
	bool have_census;
	struct map_census flows, verdicts;
};

/* A snapshot of source (a struct metrics_source *) into out, zeroed by the
 * caller: the fill function of metrics_http.h. */
void metrics_fill(void *source, struct metrics_snapshot *out);

/* Whether the agent is healthy: the sampler attached and the drain alive
 * within METRICS_HEALTHY_WITHIN_NS; why not in why. The health function of
 * metrics_http.h. */
bool metrics_health(void *source, char *why, size_t len);

/* The snapshot as exposition text, malloc'd (free it); NULL when out of
 * memory. *len is its length. */
char *metrics_render(const struct metrics_snapshot *s, size_t *len);

/* The build this binary came from (git describe, "unknown" outside git). */
const char *metrics_build_version(void);

#endif
