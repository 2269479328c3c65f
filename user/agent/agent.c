/* SPDX-License-Identifier: MIT */
#include "agent.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cascade.h"
#include "classify_pool.h"
#include "common/clock.h"
#include "common/errmsg.h"
#include "common/log.h"
#include "common/window_start.h"
#include "decision_queue.h"
#include "learner.h"
#include "metrics_http.h"
#include "model_reload.h"
#include "engine/model.h"
#include "events_writer.h"
#include "interfaces.h"
#include "latency.h"
#include "loader/map_ops.h"
#include "loader/pin_dir.h"
#include "loader/sampler_attach.h"
#include "loader/window_ring.h"
#include "policy.h"
#include "teach/teacher.h"
#include "thread_priority.h"

/* The drain thread classifies what it drained itself, RUN_HERE_MAX windows
 * at a time with a look at the ring between two: no hand-over (a thread's
 * wake-up) and no timer stand between a window and its verdict. When more
 * than that wait and a worker waits for work, the worker takes all of them:
 * more cores when one is not enough. */
#define RUN_HERE_MAX 8
/* After its last window the drain polls the ring this long before it
 * sleeps (as NAPI busy-polls a device): a window that follows soon after is
 * taken without a wake-up. */
#define SPIN_AFTER_WINDOW_NS (50 * NSEC_PER_USEC)
/* The agent map's heartbeat and health figures are this fresh. */
#define PUBLISH_EVERY_NS (100 * NSEC_PER_MSEC)
/* Status lines a start may say (one per option that has something to say). */
#define START_LINES 8
/* Decisions waiting for the events writer; more are dropped and counted. */
#define EVENTS_QUEUE_DEPTH 8192

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

/* The running model's file, for /metrics: a few buffers in turn, so a
 * scrape that reads one while a model is loaded is not written under. */
#define MODEL_PATHS 4

struct agent {
	const struct agent_options *opts;
	struct model *model;      /* the running one (the reloader's, once it runs) */
	/* what the consumers (policy, events, IPFIX, metrics) read of it: a model
	 * loaded later has the same classes and window; its id is stored
	 * atomically */
	struct model_config cfg;
	char model_paths[MODEL_PATHS][PATH_MAX];
	unsigned model_paths_used;
	struct model_reloader *reloader;
	const char *class_names[ODEFLOW_MAX_CLASSES]; /* of its outcomes: classes, Unknown */
	int num_outcomes;
	struct xdp_sampler *sampler;
	struct interfaces *interfaces;
	bool attached;            /* to at least one interface */
	int verdicts_fd, flows_fd, policy_fd, buckets_fd;
	struct policy_table policy;     /* the running policy, as last written or seen */
	struct cascade *cascade;
	struct classify_pool *pool;

	struct window_batch batch;  /* drained, in order; handed over up to batch_done */
	int batch_done;
	uint64_t last_window_ns;    /* when the drain last took a window */
	uint64_t bad_records;

	struct agent_info info;   /* published in the "agent" map */
	uint64_t published_ns;
	uint64_t heartbeat_ns;    /* info's, for /healthz (atomic) */
	uint64_t batches;

	struct events_writer *events;
	struct decision_queue *events_queue;
	struct latency_hist latency;
	struct latency_recent latency_recent;
	uint64_t decisions, failed, rearms_lost, verdicts_restored;

	/* Status lines of the start, said once it has succeeded: a start that
	 * fails says one line, its error, and nothing before it. */
	char start_lines[START_LINES][ERRMSG_LEN];
	enum log_level start_levels[START_LINES];
	int n_start_lines;

	struct agent_counts counts;       /* what /metrics adds to the above */
	struct metrics_source metrics_src;
	struct metrics_server *metrics;   /* --metrics */
	struct ipfix_exporter *ipfix;     /* --ipfix */
	struct teacher *teacher;          /* --teach */
	struct learner *learner;          /* --learn-every */
};

/* "Video drop (was pass), VoIP mark 46 (was pass)": the classes whose
 * action differs between two tables. */
static void policy_changes(const struct agent *a, const struct policy_table *from,
			   const struct policy_table *to, char *out, size_t len)
{
	char was[64], now[64];
	size_t used = 0;

	out[0] = '\0';
	for (int k = 0; k < a->num_outcomes && used < len; k++) {
		if (!memcmp(&from->rules[k], &to->rules[k], sizeof(to->rules[k])))
			continue;
		policy_format(&from->rules[k], was, sizeof(was));
		policy_format(&to->rules[k], now, sizeof(now));
		used += (size_t)snprintf(out + used, len - used, "%s%s %s (was %s)", used ? ", " : "",
					 a->class_names[k], now, was);
	}
}

__attribute__((format(printf, 3, 4)))
static void say_after_start_at(struct agent *a, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if ((a->opts->quiet && level == LOG_LEVEL_INFO) ||
	    a->n_start_lines == START_LINES)
		return;
	a->start_levels[a->n_start_lines] = level;
	va_start(ap, fmt);
	vsnprintf(a->start_lines[a->n_start_lines++], sizeof(a->start_lines[0]), fmt, ap);
	va_end(ap);
}

#define say_after_start(a, ...) say_after_start_at(a, LOG_LEVEL_INFO, __VA_ARGS__)

static int apply_policy_file(struct agent *a, char *err, size_t errlen)
{
	struct policy_table table = { 0 }; /* no file: pass everywhere */

	if (a->opts->policy_path &&
	    policy_load(a->opts->policy_path, a->class_names, a->num_outcomes, &table, err, errlen))
		return -1;
	for (unsigned k = 0; k < ODEFLOW_MAX_CLASSES; k++)
		if (xdp_set_policy(a->policy_fd, a->buckets_fd, k, &table.rules[k]))
			return errmsg(err, errlen, "writing the policy map: %s", strerror(errno));
	a->policy = table;
	return 0;
}

/* Does the policy act on this class (anything but pass)? */
static bool enforced(const struct agent *a, int class_id)
{
	return class_id >= 0 && class_id < ODEFLOW_MAX_CLASSES &&
	       a->policy.rules[class_id].action != ACTION_PASS;
}

/* `odeflow policy set` and `policy load` write the pinned policy map from
 * another shell: the agent notices at its next publication and logs what
 * changed, so the journal of the unit says what is enforced. */
static void watch_policy(struct agent *a)
{
	struct policy_table seen;
	char changes[ERRMSG_LEN];

	if (xdp_read_policy(a->policy_fd, seen.rules) || !memcmp(&seen, &a->policy, sizeof(seen)))
		return;
	policy_changes(a, &a->policy, &seen, changes, sizeof(changes));
	log_line(LOG_LEVEL_WARNING, "policy changed in the pinned map (odeflow policy): %s; "
		 "SIGHUP or a restart applies %s again", changes,
		 a->opts->policy_path ? a->opts->policy_path : "the default (every class passes)");
	a->policy = seen;
}

/* Any thread: writes verdicts (the teacher's dpi verdicts come through here too). */
static void write_verdicts(void *ctx, const struct flow_key *keys, const struct verdict *values,
			   unsigned n)
{
	struct agent *a = ctx;

	if (xdp_write_verdicts(a->verdicts_fd, keys, values, n))
		log_line(LOG_LEVEL_ERR, "writing %u verdicts: %s", n, strerror(errno));
}

/* Worker thread: verdicts for the connections, each direction's decision
 * (and re-arm) kept with it, then the events (queued: a slow reader never
 * holds this up). */
static void on_decisions(void *ctx, int n, const struct decision *d, int failed)
{
	struct agent *a = ctx;
	struct flow_key keys[POOL_MAX_BATCH];
	struct verdict values[POOL_MAX_BATCH];
	struct direction_decision settled[POOL_MAX_BATCH];
	double latency_us[POOL_MAX_BATCH];
	uint64_t written_ns, decided_ns = monotonic_ns(); /* one clock read per batch */
	bool taught;

	__atomic_fetch_add(&a->failed, (uint64_t)failed, __ATOMIC_RELAXED);
	if (!n)
		return;
	for (int i = 0; i < n; i++) {
		keys[i] = d[i].connection;
		values[i] = (struct verdict){
			.class_id = (__u8)d[i].class_id,
			.stage = (__u8)(d[i].stage > 255 ? 255 : d[i].stage),
			.flags = (__u8)((d[i].provisional ? VERDICT_PROVISIONAL : 0) |
					(d[i].unknown ? VERDICT_UNKNOWN : 0) | d[i].directions_seen),
			.confidence_ppm = (__u32)(d[i].confidence * 1e6f + 0.5f),
			.decided_ns = decided_ns,
			.model_id = d[i].model_id,
			.egress = d[i].egress,
			.ifindex = { d[i].ifindex[0], d[i].ifindex[1] },
		};
		if (d[i].restored && enforced(a, d[i].class_id))
			__atomic_fetch_add(&a->verdicts_restored, 1, __ATOMIC_RELAXED);
	}
	/* the teacher sees taught connections' verdicts first (the surer answer) */
	taught = a->teacher && teacher_begin(a->teacher, keys, n);
	for (int i = 0; taught && i < n; i++)
		teacher_review(a->teacher, &keys[i], &values[i], &d[i].window);
	write_verdicts(a, keys, values, (unsigned)n);
	if (taught)
		teacher_end(a->teacher);
	/* each direction keeps the verdict as written (the teacher's, if it
	 * gave one) */
	for (int i = 0; i < n; i++)
		settled[i] = (struct direction_decision){
			.direction = d[i].window.key, .emitted_ns = d[i].window.last_ns,
			.window = d[i].window.window, .class_id = values[i].class_id,
			.provisional = values[i].flags & VERDICT_PROVISIONAL,
			.unknown = values[i].flags & VERDICT_UNKNOWN, .rearm = d[i].rearm,
		};
	written_ns = monotonic_ns();
	/* the decision kept with each direction too (after the verdicts, which
	 * enforce at once: the latency is theirs) */
	if (xdp_settle_directions(a->flows_fd, (unsigned)model_config(a->model)->window, settled,
				  (unsigned)n)) {
		log_line(LOG_LEVEL_ERR, "writing %d directions' decisions: %s", n, strerror(errno));
		for (int i = 0; i < n; i++)
			__atomic_fetch_add(&a->rearms_lost, d[i].rearm, __ATOMIC_RELAXED);
	}
	for (int i = 0; i < n; i++) {
		uint64_t last = d[i].window.last_ns;

		latency_us[i] = written_ns > last ? (double)(written_ns - last) / 1000.0 : 0.0;
		latency_add(&a->latency, (uint64_t)latency_us[i]);
	}
	__atomic_fetch_add(&a->decisions, (uint64_t)n, __ATOMIC_RELAXED);
	agent_counts_decisions(&a->counts, d, n);
	double wall = a->ipfix || a->events_queue ? wall_seconds() : 0;

	if (a->ipfix)
		ipfix_exporter_add(a->ipfix, d, n, wall);
	if (a->events_queue)
		decision_queue_push(a->events_queue, d, n, wall, latency_us);
}

/* Drain thread: hands over the windows drained and not handed over yet:
 * all of them to a worker that waits for work when more than RUN_HERE_MAX
 * wait, else RUN_HERE_MAX of them classified here. */
static void dispatch(struct agent *a)
{
	const struct window_record *first = a->batch.windows + a->batch_done;
	int n = a->batch.n - a->batch_done;

	if (!n)
		return;
	if (n > RUN_HERE_MAX && classify_pool_idle(a->pool)) {
		classify_pool_submit(a->pool, first, n);
	} else {
		n = n < RUN_HERE_MAX ? n : RUN_HERE_MAX;
		classify_pool_run_here(a->pool, first, n);
	}
	agent_counts_batch(&a->counts, n);
	a->batches++;
	a->batch_done += n;
	if (a->batch_done == a->batch.n)
		a->batch.n = a->batch_done = 0;
}

/* Room in the batch for the next drain: what was handed over moves out
 * when the batch is full. */
static int batch_room(struct agent *a)
{
	if (a->batch.n == POOL_MAX_BATCH && a->batch_done) {
		a->batch.n -= a->batch_done;
		memmove(a->batch.windows, a->batch.windows + a->batch_done,
			sizeof(a->batch.windows[0]) * (size_t)a->batch.n);
		a->batch_done = 0;
	}
	return POOL_MAX_BATCH - a->batch.n;
}

/* Refreshes the agent map: who runs, which model and classes, and health. */
static void publish(struct agent *a)
{
	static struct latency_hist recent; /* drain thread only */

	a->info.heartbeat_ns = monotonic_ns();
	a->info.windows_classified = __atomic_load_n(&a->decisions, __ATOMIC_RELAXED);
	a->info.windows_failed = __atomic_load_n(&a->failed, __ATOMIC_RELAXED);
	a->info.batches = a->batches;
	a->info.model_id = __atomic_load_n(&a->cfg.model_id, __ATOMIC_RELAXED);
	a->info.latency_p50_us = latency_quantile(&a->latency, 0.5);
	a->info.latency_p90_us = latency_quantile(&a->latency, 0.9);
	a->info.latency_p99_us = latency_quantile(&a->latency, 0.99);
	a->info.latency_p999_us = latency_quantile(&a->latency, 0.999);
	latency_recent_tick(&a->latency_recent, &a->latency, a->info.heartbeat_ns);
	latency_recent(&a->latency_recent, &a->latency, a->info.heartbeat_ns, &recent);
	a->info.latency_recent_p50_us = latency_quantile(&recent, 0.5);
	a->info.latency_recent_p99_us = latency_quantile(&recent, 0.99);
	a->info.rearms_lost = __atomic_load_n(&a->rearms_lost, __ATOMIC_RELAXED);
	a->info.verdicts_restored = __atomic_load_n(&a->verdicts_restored, __ATOMIC_RELAXED);
	a->info.events_dropped = (a->events_queue ? decision_queue_dropped(a->events_queue) : 0) +
				 events_writer_lost(a->events);
	xdp_publish_agent(xdp_sampler_map_fd(a->sampler, XDP_MAP_AGENT), &a->info);
	a->published_ns = a->info.heartbeat_ns;
	__atomic_store_n(&a->heartbeat_ns, a->info.heartbeat_ns, __ATOMIC_RELAXED);
	watch_policy(a);
}

static void publish_start(struct agent *a)
{
	const struct model_config *cfg = &a->cfg;

	a->info.pid = (__u32)getpid();
	a->info.model_id = cfg->model_id;
	a->info.window_n = (__u32)cfg->window;
	a->info.num_classes = (__u32)a->num_outcomes;
	a->info.started_ns = monotonic_ns();
	snprintf(a->info.iface, sizeof(a->info.iface), "%s", a->opts->iface);
	for (int k = 0; k < a->num_outcomes; k++)
		snprintf(a->info.class_names[k], sizeof(a->info.class_names[k]), "%s", a->class_names[k]);
	publish(a);
}

/* Drain thread: one ring-buffer record is one completed window (a poll
 * takes no more than the batch has room for). */
static int on_window(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;

	if (window_record_decode(data, size, &a->batch.windows[a->batch.n]))
		a->bad_records++;
	else
		a->batch.n++;
	return 0;
}

/* --metrics: serves /metrics from its own thread, reading what the agent
 * counts with atomics and the XDP maps; started before the attach, so a
 * bad address or a taken port leaves nothing attached. */
static int start_metrics(struct agent *a, char *err, size_t errlen)
{
	const struct agent_options *o = a->opts;
	struct timespec wall;

	clock_gettime(CLOCK_REALTIME, &wall);
	a->metrics_src = (struct metrics_source){
		.iface = o->iface, .hook = xdp_hook_name(o->hook), .model_path = o->model_path,
		.model = &a->cfg, .max_windows = o->cascade.max_windows,
		.start_time = wall.tv_sec + wall.tv_nsec / 1e9,
		.windows_classified = &a->decisions, .bad_records = &a->bad_records,
		.rearms_lost = &a->rearms_lost, .verdicts_restored = &a->verdicts_restored,
		.counts = &a->counts, .latency = &a->latency,
		.counters_fd = xdp_sampler_map_fd(a->sampler, XDP_MAP_COUNTERS),
		.class_actions_fd = xdp_sampler_map_fd(a->sampler, XDP_MAP_CLASS_ACTIONS),
		.flows_fd = a->flows_fd, .verdicts_fd = a->verdicts_fd,
		.teach_info_fd = xdp_sampler_map_fd(a->sampler, XDP_MAP_TEACH_INFO),
		.ipfix = a->ipfix, .windows_failed = &a->failed,
		.heartbeat_ns = &a->heartbeat_ns, .attached = &a->attached,
	};
	if (metrics_server_start(o->metrics_listen, metrics_fill, metrics_health, &a->metrics_src,
				 &a->metrics, err, errlen))
		return -1;
	say_after_start(a, "metrics at http://%s/metrics, health at http://%s/healthz",
			metrics_server_address(a->metrics), metrics_server_address(a->metrics));
	return 0;
}

static int start_ipfix(struct agent *a, uint32_t ifindex, char *err, size_t errlen)
{
	const struct agent_options *o = a->opts;
	struct ipfix_options io = { .collector = o->ipfix_collector, .transport = o->ipfix_transport,
				    .ifindex = ifindex, .domain_given = o->ipfix_domain_given,
				    .domain = o->ipfix_domain };

	if (ipfix_exporter_start(&io, &a->cfg, &a->ipfix, err, errlen))
		return -1;
	say_after_start(a, "IPFIX to %s over %s, observation domain %u", o->ipfix_collector,
			o->ipfix_transport == IPFIX_TCP ? "tcp" : "udp", ipfix_exporter_domain(a->ipfix));
	return 0;
}

static int open_events(struct agent *a, char *err, size_t errlen)
{
	const struct agent_options *o = a->opts;
	struct events_writer_options eo = { .path = o->events_path, .mode = o->events_mode,
					    .allow_pipe = o->events_pipe,
					    .model = &a->cfg, .iface = o->iface };

	if (events_writer_open(&eo, &a->events, err, errlen))
		return -1;
	a->events_queue = decision_queue_new(EVENTS_QUEUE_DEPTH, events_writer_consume, a->events);
	if (!a->events_queue)
		return errmsg(err, errlen, "out of memory for the events queue");
	return 0;
}

/* --teach: nDPI on the sampled connections. Whatever stops it (a bad class
 * map, a site data set it cannot use) is said in one line, and
 * classification goes on without it. */
static void start_teacher(struct agent *a, unsigned skip)
{
	const struct agent_options *o = a->opts;
	struct teacher_options to = {
		.ring_fd = xdp_sampler_map_fd(a->sampler, XDP_MAP_TEACH),
		.info_fd = xdp_sampler_map_fd(a->sampler, XDP_MAP_TEACH_INFO),
		.class_map = o->class_map, .model = &a->cfg,
		.threshold = o->cascade.threshold, .site_dir = o->site_dir, .site_cap = o->site_cap,
		.skip = (int)skip, .write_verdicts = write_verdicts, .write_ctx = a,
	};
	char err[ERRMSG_LEN];

	xdp_sampler_teach(a->sampler, &to.seed, &to.below);
	if (teacher_start(&to, &a->teacher, err, sizeof(err))) {
		say_after_start_at(a, LOG_LEVEL_ERR, "teach: %s; teaching is off, classification "
				   "goes on", err);
		return;
	}
	say_after_start(a, "teaching: nDPI labels %g%% of new connections (class map %s)%s%s",
			100 * o->teach_rate, o->class_map,
			o->site_dir ? "; labelled windows go to " : "", o->site_dir ? o->site_dir : "");
}

/* The reloader's thread: a new model runs; the one before is unused. */
static void on_model_loaded(void *ctx, struct model *now, struct model *before, const char *path)
{
	struct agent *a = ctx;
	char *slot = a->model_paths[a->model_paths_used++ % MODEL_PATHS];

	a->model = now;
	model_free(before);
	snprintf(slot, PATH_MAX, "%s", path);
	__atomic_store_n(&a->metrics_src.model_path, slot, __ATOMIC_RELEASE);
	__atomic_store_n(&a->cfg.model_id, model_config(now)->model_id, __ATOMIC_RELAXED);
}

static int setup(struct agent *a, char *err, size_t errlen)
{
	const struct agent_options *o = a->opts;
	struct xdp_options xo = XDP_OPTIONS_DEFAULT;
	struct cascade_options co = o->cascade;
	const struct model_config *cfg;
	char why[ERRMSG_LEN], where[128], names[256];

	if (model_load(o->model_path, &a->model, err, errlen))
		return -1;
	if (model_self_check(a->model, why, sizeof(why)))
		return errmsg(err, errlen, "%s: %s", o->model_path, why);
	a->cfg = *model_config(a->model);
	cfg = &a->cfg;
	a->num_outcomes = model_outcomes(cfg);
	for (int k = 0; k < a->num_outcomes; k++)
		a->class_names[k] = model_outcome_name(cfg, k);
	if (interfaces_check(o->ifaces, o->n_ifaces, err, errlen))
		return -1;
	if (o->policy_path) { /* check the file before touching the interface */
		struct policy_table t;

		if (policy_load(o->policy_path, a->class_names, a->num_outcomes, &t, err, errlen))
			return -1;
	}
	xo.hook = o->hook;
	xo.directions = o->directions;
	xo.window_n = (unsigned)cfg->window;
	xo.skip = (unsigned)window_start_choose(&cfg->window_start, o->skip, why, sizeof(why));
	say_after_start(a, "%s", why);
	xo.flow_capacity = o->flow_capacity;
	xo.verdict_idle_ns = o->verdict_idle_ns;
	xo.pin_dir = o->pin_dir;
	xo.teach_rate = o->teach_rate;
	say_after_start(a, "maps for %u flows take about %llu MiB of kernel memory",
			xo.flow_capacity, (unsigned long long)(xdp_maps_bytes(&xo) >> 20));
	if (xdp_sampler_open(&xo, &a->sampler, err, errlen))
		return -1;
	a->verdicts_fd = xdp_sampler_map_fd(a->sampler, XDP_MAP_VERDICTS);
	a->flows_fd = xdp_sampler_map_fd(a->sampler, XDP_MAP_FLOWS);
	a->policy_fd = xdp_sampler_map_fd(a->sampler, XDP_MAP_POLICY);
	a->buckets_fd = xdp_sampler_map_fd(a->sampler, XDP_MAP_RATE_BUCKETS);
	if (apply_policy_file(a, err, errlen))
		return -1;
	co.max_connections = (int)o->flow_capacity;
	co.resident = true;
	if (cascade_new(a->model, &co, &a->cascade, err, errlen))
		return -1;
	say_after_start(a, "the cascade remembers %d connections in %zu MiB, resident",
			co.max_connections, cascade_memory_bytes(a->cascade) >> 20);
	a->pool = classify_pool_new(o->threads, a->model, a->cascade, on_decisions, a);
	if (!a->pool)
		return errmsg(err, errlen, "cannot start %d classification threads", o->threads);
	if (model_reloader_start(a->pool, a->model, o->model_path,
				 xdp_sampler_map_fd(a->sampler, XDP_MAP_MODEL_LOAD), on_model_loaded, a,
				 &a->reloader, err, errlen))
		return -1;
	/* the records' interface: the first one named (see ipfix_export.h) */
	if (o->ipfix_collector && start_ipfix(a, if_nametoindex(o->ifaces[0]), err, errlen))
		return -1;
	if (o->teach_rate > 0)
		start_teacher(a, xo.skip);
	if (a->teacher && o->learn_every_ns &&
	    learner_start(o->learn_every_ns, o->site_dir, a->teacher, a->reloader, &a->learner,
			  err, errlen))
		return -1;
	if (o->metrics_listen && start_metrics(a, err, errlen))
		return -1;
	/* The events output last, once everything else is known to work: a
	 * start that fails leaves no file behind. */
	if (o->events_path && open_events(a, err, errlen))
		return -1;
	/* the metrics server runs already */
	__atomic_store_n(&a->metrics_src.events_queue, a->events_queue, __ATOMIC_RELEASE);
	if (interfaces_start(a->sampler,
			     &(struct interfaces_options){
				     .patterns = o->ifaces, .n_patterns = o->n_ifaces, .mode = o->mode,
				     .attach_flags = (o->keep ? XDP_ATTACH_KEEP : 0) |
						     (o->replace ? XDP_ATTACH_REPLACE : 0),
				     .quiet = o->quiet, .attached = &a->attached, /* /healthz reads it */
			     },
			     &a->interfaces, err, errlen))
		return -1;
	/* the metrics server runs already */
	__atomic_store_n(&a->metrics_src.hook,
			 xdp_attachment_name(xdp_sampler_attachment(a->sampler)), __ATOMIC_RELEASE);
	publish_start(a);
	for (int i = 0; i < a->n_start_lines; i++)
		log_line(a->start_levels[i], "%s", a->start_lines[i]);
	xdp_sampler_describe(a->sampler, where, sizeof(where));
	interfaces_describe(a->interfaces, names, sizeof(names));
	if (!o->quiet)
		log_line(LOG_LEVEL_INFO, "attached to %s %s; model %s (%s, N=%d), %d worker(s)%s",
			 names, where, o->model_path, model_arch_name(cfg->arch), cfg->window,
			 o->threads, o->busy_poll ? ", busy-polling the ring" : "");
	return 0;
}

/* SIGHUP: the file wins over what `odeflow policy` changed since, and
 * the log says what that undoes. */
static void reload_policy(struct agent *a)
{
	struct policy_table before;
	char err[ERRMSG_LEN], changes[ERRMSG_LEN];

	watch_policy(a); /* a change made just before the signal is logged as such */
	before = a->policy;
	if (apply_policy_file(a, err, sizeof(err))) {
		log_line(LOG_LEVEL_ERR, "policy not reloaded, the running policy is kept: %s", err);
		return;
	}
	policy_changes(a, &before, &a->policy, changes, sizeof(changes));
	if (!a->opts->quiet)
		log_line(LOG_LEVEL_INFO, "policy reloaded from %s: %s",
		 a->opts->policy_path ? a->opts->policy_path : "(none: every class passes)",
		 changes[0] ? changes : "no change");
}

/* Milliseconds the drain loop may sleep: none while windows wait to be
 * classified or it spins after a window (always, with --busy-poll), else
 * until the agent map is due to be refreshed (a window or a signal cuts the
 * sleep short). A sleeping agent is woken by the packet that completes the
 * next window, which costs that packet an interrupt and the window the time
 * the agent takes to wake. */
static int sleep_ms(const struct agent *a, uint64_t now)
{
	uint64_t until = a->published_ns + PUBLISH_EVERY_NS;

	if (a->batch.n > a->batch_done || a->opts->busy_poll ||
	    now - a->last_window_ns < SPIN_AFTER_WINDOW_NS)
		return 0;
	return until <= now ? 0 : (int)((until - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
}

static int drain(struct agent *a)
{
	struct window_ring *ring;
	char err[ERRMSG_LEN];
	int rc = 0;

	ring = window_ring_new(xdp_sampler_map_fd(a->sampler, XDP_MAP_WINDOWS),
			       xdp_sampler_map_fd(a->sampler, XDP_MAP_WAKEUP), on_window, a, err,
			       sizeof(err));
	if (!ring) {
		log_line(LOG_LEVEL_ERR, "%s", err);
		return -1;
	}
	if (thread_priority_latency() && !a->opts->quiet)
		log_line(LOG_LEVEL_WARNING, "no short scheduler slice for the drain thread: %s",
			 strerror(errno));
	while (!stop_requested) {
		int room = batch_room(a), timeout = sleep_ms(a, monotonic_ns());
		int consumed = room ? window_ring_poll(ring, window_ring_epoll_fd(ring), timeout, room)
				    : 0;
		uint64_t now = monotonic_ns();

		if (consumed < 0 && consumed != -EINTR) {
			log_line(LOG_LEVEL_ERR, "reading the ring buffer: %s", strerror(-consumed));
			rc = -1;
			break;
		}
		if (consumed > 0)
			a->last_window_ns = now;
		else if (!timeout && a->batch.n == a->batch_done)
			sched_yield(); /* polling: the CPU to whoever wants it (the traffic) */
		dispatch(a);
		if (now - a->published_ns >= PUBLISH_EVERY_NS)
			publish(a);
		if (reload_requested) {
			reload_requested = 0;
			reload_policy(a);
			model_reloader_reread(a->reloader);
		}
	}
	while (a->batch.n)
		dispatch(a);
	a->info.pid = 0; /* no agent: `odeflow stats` says so */
	publish(a);
	window_ring_free(ring);
	return rc;
}

/* After a run, or a failed start: without --keep, detach and remove this
 * agent's pins, by name. A failed start removes only what it pinned itself,
 * leaving a --keep agent's state alone. */
static void teardown(struct agent *a, bool started)
{
	char err[ERRMSG_LEN];

	interfaces_stop(a->interfaces); /* no attach or detach behind the teardown's back */
	metrics_server_stop(a->metrics); /* it reads the maps and counters freed below */
	learner_stop(a->learner); /* kills a learning process that runs */
	model_reloader_stop(a->reloader); /* it swaps the pool's model */
	classify_pool_free(a->pool); /* finishes what was queued */
	teacher_stop(a->teacher); /* after the pool: its last batches reviewed */
	ipfix_exporter_finish(a->ipfix); /* sends what the pool's last batches queued */
	if (a->ipfix && !a->opts->quiet)
		log_line(LOG_LEVEL_INFO, "IPFIX: %llu records exported, %llu dropped, %llu failed sends",
			 (unsigned long long)ipfix_exporter_exported(a->ipfix),
			 (unsigned long long)ipfix_exporter_dropped(a->ipfix),
			 (unsigned long long)ipfix_exporter_send_failures(a->ipfix));
	ipfix_exporter_stop(a->ipfix);
	events_writer_stopping(a->events); /* a reader that never reads gets a short grace */
	decision_queue_free(a->events_queue);
	events_writer_close(a->events);
	if (a->sampler) {
		if (!a->opts->keep && xdp_sampler_detach(a->sampler, err, sizeof(err)))
			log_line(LOG_LEVEL_ERR, "%s", err);
		if (!a->opts->keep && xdp_sampler_unpin(a->sampler, started, err, sizeof(err)))
			log_line(LOG_LEVEL_ERR, "%s", err);
		xdp_sampler_close(a->sampler);
	}
	cascade_free(a->cascade);
	model_free(a->model);
}

int agent_run(const struct agent_options *o)
{
	struct agent a = { .opts = o };
	struct sigaction sa = { .sa_handler = on_signal };
	char err[ERRMSG_LEN];
	int rc = 1;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (setup(&a, err, sizeof(err))) {
		log_line(LOG_LEVEL_ERR, "%s", err);
		teardown(&a, false);
		goto out;
	}
	rc = drain(&a) ? 1 : 0;
	teardown(&a, true);
out:
	if (!o->quiet && a.decisions)
		log_line(LOG_LEVEL_INFO,
			 "%lu windows classified, %lu failed; latency p50 %lu us, p99 %lu us; "
			 "%lu re-arms lost, %lu bad records, %lu events dropped",
			 (unsigned long)a.decisions, (unsigned long)a.failed,
			 (unsigned long)latency_quantile(&a.latency, 0.5),
			 (unsigned long)latency_quantile(&a.latency,
							 0.99), (unsigned long)a.rearms_lost,
			 (unsigned long)a.bad_records, (unsigned long)a.info.events_dropped);
	return rc;
}
