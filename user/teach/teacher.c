/* SPDX-License-Identifier: MIT */
#include "teacher.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/class_map.h"
#include "capture/ndpi_labeler.h"
#include "capture/ndpi_report.h"
#include "common/clock.h"
#include "common/errmsg.h"
#include "common/flow_key.h"
#include "common/log.h"
#include "gen_table.h"
#include "loader/map_ops.h"
#include "loader/teach_ring.h"
#include "capture/pcap_dataset.h"
#include "site_dataset.h"
#include "teach_record.h"
#include "teach_sample.h"

/* The teacher's CPU clock is read once per this many records. */
#define BUDGET_CHECK_EVERY 32
/* Up to this much CPU time may be spent at once after a quiet spell. */
#define BUDGET_BURST_NS (100 * NSEC_PER_MSEC)
#define PUBLISH_EVERY_NS NSEC_PER_SEC
#define ERROR_REPORT_NS (60 * NSEC_PER_SEC)

enum { LABEL_PENDING = -2, LABEL_NONE = -1 };

/* A connection nDPI follows (the teacher's thread only). */
struct inspecting {
	struct flow_key key;     /* canonical, first as the table needs */
	struct flow_key first;   /* the direction of its first copied packet */
	uint8_t copies[2];       /* copied packets seen, that direction and the other */
	bool active;             /* nDPI's flow is allocated (counted in inspecting_now) */
	bool done;
	uint64_t last_ns;
	struct ndpi_inspection in;
};

/* What the teacher knows of a taught connection (under the lock). */
struct label {
	struct flow_key key;     /* canonical */
	int8_t class_id;         /* a model class, LABEL_NONE or LABEL_PENDING */
	bool counted;            /* its agreement is counted */
	bool dpi;                /* its verdicts take nDPI's class */
	bool waiting;            /* the model's final verdict waits for the label */
	struct verdict verdict;  /* that verdict */
	char ndpi_name[64], ndpi_category[32];
};

struct queued_window {
	struct flow_key connection;
	struct window_record window;
	uint64_t queued_ns;
};

struct teacher {
	struct teacher_options o;
	struct model_config model;  /* o.model's classes and window: a model loaded
				     * later has the same (model_reload.c) */
	int class_of[ODEFLOW_MAX_CLASSES]; /* class map id -> model class */
	struct class_map *map;
	struct ndpi_labeler *ndpi;
	struct teach_ring *ring;
	struct site_dataset *site;
	char labelled_by[160];

	pthread_t thread;
	pthread_mutex_t lock;      /* labels, queue, counts, flush requests */
	pthread_cond_t wake, flushed;
	bool stopping;

	/* the teacher's thread only; counts it alone writes, others read (atomics) */
	struct gen_table *inspecting;
	size_t inspecting_now;
	uint64_t packets, packets_dropped, connections, windows_lost, cpu_us, inspecting_bytes;
	struct queued_window *pending; /* waiting for their label: a FIFO */
	size_t pending_head, pending_count;
	struct queued_window *taken;   /* the queue, swapped out */
	uint64_t budget_ns, budget_wall_ns, budget_cpu_ns;
	unsigned since_check;
	bool over_budget;
	uint64_t last_publish_ns, last_flush_ns, last_error_ns;
	uint64_t errors_unreported;

	/* under lock */
	struct gen_table *labels;
	struct queued_window *queue;
	size_t queued;
	uint64_t site_lost, site_held;
	unsigned flush_asked, flush_done;
	int flush_rc;
	char flush_err[ERRMSG_LEN];
	struct teach_info info;
};

/* A count only the teacher's thread writes. */
static void count(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

static uint64_t counted(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

/* nDPI lets go of a connection (done or given up). */
static void deactivate(struct teacher *t, struct inspecting *c)
{
	if (!c->active)
		return;
	c->active = false;
	__atomic_store_n(&t->inspecting_now, t->inspecting_now - 1, __ATOMIC_RELAXED);
}

static void forget_inspecting(void *entry, void *ctx)
{
	struct inspecting *c = entry;
	struct teacher *t = ctx;

	if (c->active) {
		ndpi_inspection_free(&c->in);
		deactivate(t, c);
		count(&t->packets_dropped, 1); /* work given up */
	}
}

/* Said at most once a minute, with the count since. */
static void report_error(struct teacher *t, const char *what)
{
	uint64_t now = monotonic_ns();

	t->errors_unreported++;
	if (t->last_error_ns && now - t->last_error_ns < ERROR_REPORT_NS)
		return;
	log_line(LOG_LEVEL_ERR, "teach: %s%s (classification goes on)", what,
		 t->errors_unreported > 1 ? " (and more since the last report)" : "");
	t->errors_unreported = 0;
	t->last_error_ns = now;
}

/* nDPI's verdict on a connection, as one of the model's classes. */
static int label_of(const struct teacher *t, const struct ndpi_result *r)
{
	int k = ndpi_report_verdict(t->map, r);

	return k >= 0 ? t->class_of[k] : LABEL_NONE;
}

/* Unknown is unsure whatever its confidence (the share of its windows
 * found Unknown). */
static bool unsure(const struct teacher *t, const struct verdict *v)
{
	return (v->flags & VERDICT_UNKNOWN) || v->confidence_ppm < (uint32_t)(t->o.threshold * 1e6f);
}

/* A final verdict of a labelled connection: counted once against its
 * label; an unsure one takes it. Under the lock. */
static void judge(struct teacher *t, struct label *l, struct verdict *v)
{
	if (!l->counted) {
		l->counted = true;
		t->info.checked[l->class_id]++;
		t->info.agreed[l->class_id] += v->class_id == l->class_id;
	}
	if (!l->dpi && !unsure(t, v))
		return;
	if (!l->dpi)
		t->info.dpi_verdicts++;
	l->dpi = true;
	v->class_id = (__u8)l->class_id;
	v->flags = (__u8)((v->flags & ~VERDICT_UNKNOWN) | VERDICT_DPI);
}

/* nDPI is done with a connection: its label, and the verdict that waited
 * for it. Teacher's thread. */
static void conclude(struct teacher *t, struct inspecting *c)
{
	const struct ndpi_result *r = &c->in.result;
	int class_id;
	struct label *l;
	bool added;

	deactivate(t, c);
	ndpi_labeler_conclude(t->ndpi, &c->in);
	c->done = true;
	class_id = label_of(t, r);
	pthread_mutex_lock(&t->lock);
	if (class_id >= 0)
		t->info.labelled++;
	else
		t->info.unlabelled++;
	l = gen_table_add(t->labels, &c->key, &added);
	if (l) {
		if (added)
			l->class_id = LABEL_PENDING;
		if (l->class_id == LABEL_PENDING) {
			l->class_id = (int8_t)class_id;
			snprintf(l->ndpi_name, sizeof(l->ndpi_name), "%s", r->name);
			snprintf(l->ndpi_category, sizeof(l->ndpi_category), "%s", r->category);
		}
		if (l->waiting && l->class_id >= 0) {
			struct verdict v = l->verdict;

			l->waiting = false;
			judge(t, l, &v);
			if (v.flags & VERDICT_DPI)
				t->o.write_verdicts(t->o.write_ctx, &l->key, &v, 1);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

/* Over TEACH_CPU_SHARE of a core? A token bucket of CPU time, filled by
 * the wall clock at the share's rate, drained by this thread's CPU clock. */
static bool over_budget(struct teacher *t)
{
	struct timespec ts;
	uint64_t wall = monotonic_ns(), cpu, fill;

	if (++t->since_check < BUDGET_CHECK_EVERY && t->budget_wall_ns)
		return t->over_budget;
	t->since_check = 0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	cpu = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
	fill = t->budget_wall_ns ? (uint64_t)((double)(wall - t->budget_wall_ns) * TEACH_CPU_SHARE)
				 : BUDGET_BURST_NS;
	t->budget_ns += fill;
	if (t->budget_ns > BUDGET_BURST_NS)
		t->budget_ns = BUDGET_BURST_NS;
	t->budget_ns = t->budget_ns > cpu - t->budget_cpu_ns ? t->budget_ns - (cpu - t->budget_cpu_ns)
							      : 0;
	t->budget_wall_ns = wall;
	t->budget_cpu_ns = cpu;
	__atomic_store_n(&t->cpu_us, cpu / NSEC_PER_USEC, __ATOMIC_RELAXED);
	t->over_budget = t->budget_ns == 0;
	return t->over_budget;
}

/* One copied packet (teach ring callback). */
static int on_record(void *ctx, void *data, size_t size)
{
	struct teacher *t = ctx;
	struct teach_record rec;
	struct flow_key key;
	struct inspecting *c;
	bool added;
	int dir, rc;

	if (over_budget(t) || teach_record_decode(data, size, &rec)) {
		count(&t->packets_dropped, 1);
		return 0;
	}
	flow_key_canonical(&rec.info.key, &key);
	c = gen_table_find(t->inspecting, &key);
	if (!c) {
		if (t->inspecting_now >= TEACH_INSPECTING ||
		    !(c = gen_table_add(t->inspecting, &key, &added))) {
			count(&t->packets_dropped, 1);
			return 0;
		}
		c->first = rec.info.key;
		count(&t->connections, 1);
	}
	if (c->done)
		return 0; /* nDPI has its answer */
	dir = memcmp(&rec.info.key, &c->first, sizeof(key)) != 0;
	if (c->copies[dir] < 255)
		c->copies[dir]++;
	c->last_ns = rec.ts_ns;
	if (!c->active && !c->in.inspected && !c->in.cut) { /* its nDPI flow starts now */
		c->active = true;
		__atomic_store_n(&t->inspecting_now, t->inspecting_now + 1, __ATOMIC_RELAXED);
	}
	rc = ndpi_labeler_inspect(t->ndpi, &c->in, &rec.info, rec.ts_ns);
	count(&t->packets, 1);
	if (rc < 0) {
		report_error(t, "out of memory inspecting a connection");
		ndpi_inspection_free(&c->in);
		deactivate(t, c);
		c->done = true;
		return 0;
	}
	/* done: nDPI needs no more, or no more copies are coming */
	if (rc || (c->copies[0] >= ODEFLOW_TEACH_PACKETS && c->copies[1] >= ODEFLOW_TEACH_PACKETS))
		conclude(t, c);
	return 0;
}

/* Connections with no copy for TEACH_IDLE_NS: what nDPI has seen is all. */
static void conclude_idle(struct teacher *t, uint64_t now)
{
	struct inspecting *c;
	size_t pos = 0;

	while ((c = gen_table_next(t->inspecting, &pos)))
		if (!c->done && now > c->last_ns + TEACH_IDLE_NS)
			conclude(t, c);
}

/* A window with its label into the site data set. 1: it waits for its
 * label; 0: placed or let go. */
static int place(struct teacher *t, const struct queued_window *q, uint64_t now)
{
	char why[ERRMSG_LEN];
	struct label l = { .class_id = LABEL_NONE }, *found;

	pthread_mutex_lock(&t->lock);
	found = gen_table_find(t->labels, &q->connection);
	if (found)
		l = *found;
	pthread_mutex_unlock(&t->lock);
	if (l.class_id == LABEL_PENDING && now < q->queued_ns + TEACH_LABEL_WAIT_NS)
		return 1;
	if (l.class_id < 0 || !t->site) {
		if (l.class_id == LABEL_PENDING || (l.class_id == LABEL_NONE && !found))
			count(&t->windows_lost, 1); /* no label in time, or forgotten */
		return 0;
	}
	if (site_dataset_add(t->site, &q->window, l.class_id, l.ndpi_name, l.ndpi_category, why,
			     sizeof(why)))
		report_error(t, why);
	return 0;
}

static void queue_pending(struct teacher *t, const struct queued_window *q)
{
	if (t->pending_count == TEACH_PENDING) { /* the oldest goes */
		t->pending_head = (t->pending_head + 1) % TEACH_PENDING;
		t->pending_count--;
		count(&t->windows_lost, 1);
	}
	t->pending[(t->pending_head + t->pending_count) % TEACH_PENDING] = *q;
	t->pending_count++;
}

/* The windows classification threads queued, then those still waiting. */
static void place_windows(struct teacher *t, uint64_t now)
{
	size_t n, waiting = t->pending_count;

	pthread_mutex_lock(&t->lock);
	n = t->queued;
	memcpy(t->taken, t->queue, n * sizeof(*t->queue));
	t->queued = 0;
	pthread_mutex_unlock(&t->lock);
	for (size_t i = 0; i < waiting; i++) {
		struct queued_window q = t->pending[t->pending_head];

		t->pending_head = (t->pending_head + 1) % TEACH_PENDING;
		t->pending_count--;
		if (place(t, &q, now))
			queue_pending(t, &q);
	}
	for (size_t i = 0; i < n; i++)
		if (place(t, &t->taken[i], now))
			queue_pending(t, &t->taken[i]);
}

/* What the site data set says of itself, for other threads. */
static void sync_site(struct teacher *t)
{
	if (!t->site)
		return;
	pthread_mutex_lock(&t->lock);
	t->info.windows_saved = site_dataset_saved(t->site);
	t->info.site_bytes = site_dataset_bytes(t->site);
	t->site_lost = site_dataset_lost(t->site);
	t->site_held = site_dataset_held(t->site);
	pthread_mutex_unlock(&t->lock);
}

static int flush_site(struct teacher *t, char *err, size_t errlen)
{
	int rc = t->site ? site_dataset_flush(t->site, err, errlen) : 0;

	t->last_flush_ns = monotonic_ns();
	sync_site(t);
	return rc;
}

static void publish(struct teacher *t)
{
	struct teach_info info;

	__atomic_store_n(&t->inspecting_bytes, gen_table_bytes(t->inspecting), __ATOMIC_RELAXED);
	teacher_info(t, &info);
	xdp_publish_teach(t->o.info_fd, &info);
}

static void *teacher_main(void *arg)
{
	struct teacher *t = arg;
	char why[ERRMSG_LEN];

	for (;;) {
		struct timespec until;
		uint64_t now;
		unsigned asked;
		bool stop;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += TEACH_POLL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&t->lock);
		if (!t->stopping && t->flush_asked == t->flush_done)
			pthread_cond_timedwait(&t->wake, &t->lock, &until);
		stop = t->stopping;
		asked = t->flush_asked;
		pthread_mutex_unlock(&t->lock);

		if (teach_ring_consume(t->ring) < 0)
			report_error(t, "reading the teach ring failed");
		now = monotonic_ns();
		place_windows(t, now);
		sync_site(t);
		if (now - t->last_publish_ns >= PUBLISH_EVERY_NS || stop) {
			conclude_idle(t, now);
			publish(t);
			t->last_publish_ns = now;
		}
		if (asked != t->flush_done || stop || now - t->last_flush_ns >= TEACH_FLUSH_NS) {
			int rc = flush_site(t, why, sizeof(why));

			if (rc && asked == t->flush_done)
				report_error(t, why);
			pthread_mutex_lock(&t->lock);
			if (asked != t->flush_done) {
				t->flush_rc = rc;
				snprintf(t->flush_err, sizeof(t->flush_err), "%s", rc ? why : "");
				t->flush_done = asked;
				pthread_cond_broadcast(&t->flushed);
			}
			pthread_mutex_unlock(&t->lock);
		}
		if (stop)
			return NULL;
	}
}

/* Every class of the class map must be one of the model's: a label names
 * the class a verdict takes and a policy acts on. */
static int match_classes(struct teacher *t, char *err, size_t errlen)
{
	const struct model_config *m = t->o.model;

	for (int k = 0; k < class_map_classes(t->map); k++) {
		const char *name = class_map_class_name(t->map, k);
		int found = -1;

		for (int c = 0; c < m->num_classes; c++)
			if (!strcmp(m->class_names[c], name))
				found = c;
		if (found < 0)
			return errmsg(err, errlen, "%s: class %s is not one of the model's classes",
				      t->o.class_map, name);
		t->class_of[k] = found;
	}
	return 0;
}

static int open_site(struct teacher *t, char *err, size_t errlen)
{
	struct site_dataset_options so = { .dir = t->o.site_dir, .cap_bytes = t->o.site_cap,
					   .skip = t->o.skip };
	const struct model_config *m = t->o.model;

	so.info.num_classes = m->num_classes;
	memcpy(so.info.class_names, m->class_names, sizeof(so.info.class_names));
	so.info.window = m->window;
	so.info.window_start.kind = WINDOW_START_ANY; /* first windows and re-armed ones */
	snprintf(so.info.labelled_by, sizeof(so.info.labelled_by), "%s", t->labelled_by);
	return site_dataset_open(&so, &t->site, err, errlen);
}

int teacher_start(const struct teacher_options *o, struct teacher **out, char *err,
		  size_t errlen)
{
	struct teacher *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return errmsg(err, errlen, "out of memory");
	t->o = *o;
	t->model = *o->model;
	t->o.model = &t->model;
	pthread_mutex_init(&t->lock, NULL);
	{
		pthread_condattr_t monotonic; /* the thread's deadlines are CLOCK_MONOTONIC's */

		pthread_condattr_init(&monotonic);
		pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
		pthread_cond_init(&t->wake, &monotonic);
		pthread_condattr_destroy(&monotonic);
	}
	pthread_cond_init(&t->flushed, NULL);
	t->inspecting = gen_table_new(sizeof(struct inspecting), TEACH_INSPECTING, forget_inspecting,
				      t);
	t->labels = gen_table_new(sizeof(struct label), TEACH_LABELS, NULL, NULL);
	t->queue = calloc(TEACH_QUEUE, sizeof(*t->queue));
	t->taken = calloc(TEACH_QUEUE, sizeof(*t->taken));
	t->pending = calloc(TEACH_PENDING, sizeof(*t->pending));
	if (!t->inspecting || !t->labels || !t->queue || !t->taken || !t->pending) {
		errmsg(err, errlen, "out of memory");
		goto fail;
	}
	if (class_map_load(o->class_map, &t->map, err, errlen))
		goto fail;
	t->ndpi = ndpi_labeler_new(err, errlen);
	if (!t->ndpi || class_map_check_names(t->map, ndpi_labeler_knows, t->ndpi, err, errlen) ||
	    match_classes(t, err, errlen))
		goto fail;
	snprintf(t->labelled_by, sizeof(t->labelled_by), "nDPI %s, live, class map %s",
		 ndpi_labeler_version(), o->class_map);
	if (o->site_dir && open_site(t, err, errlen))
		goto fail;
	t->ring = teach_ring_new(o->ring_fd, on_record, t, err, errlen);
	if (!t->ring)
		goto fail;
	t->info.pid = (__u32)getpid();
	t->info.rate_ppm = (__u32)((double)o->below * 1e6 / (double)TEACH_ALL + 0.5);
	t->last_flush_ns = monotonic_ns();
	if (pthread_create(&t->thread, NULL, teacher_main, t)) {
		errmsg(err, errlen, "cannot start the teacher's thread");
		goto fail;
	}
	*out = t;
	return 0;
fail:
	teach_ring_free(t->ring);
	t->ring = NULL;
	teacher_stop(t);
	return -1;
}

void teacher_stop(struct teacher *t)
{
	if (!t)
		return;
	if (t->ring) { /* the thread runs */
		pthread_mutex_lock(&t->lock);
		t->stopping = true;
		pthread_cond_signal(&t->wake);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->thread, NULL);
		t->info.pid = 0; /* no teacher: `odeflow stats` says so */
		xdp_publish_teach(t->o.info_fd, &t->info);
	}
	teach_ring_free(t->ring);
	site_dataset_close(t->site);
	gen_table_free(t->inspecting);
	gen_table_free(t->labels);
	ndpi_labeler_free(t->ndpi);
	class_map_free(t->map);
	free(t->queue);
	free(t->taken);
	free(t->pending);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->wake);
	pthread_cond_destroy(&t->flushed);
	free(t);
}

bool teacher_begin(struct teacher *t, const struct flow_key *connections, int n)
{
	for (int i = 0; i < n; i++)
		if (teach_sampled(&connections[i], t->o.seed, t->o.below)) {
			pthread_mutex_lock(&t->lock);
			return true;
		}
	return false;
}

void teacher_review(struct teacher *t, const struct flow_key *connection, struct verdict *v,
		    const struct window_record *window)
{
	struct label *l;
	bool added;

	if (!teach_sampled(connection, t->o.seed, t->o.below))
		return;
	l = gen_table_add(t->labels, connection, &added);
	if (l && added)
		l->class_id = LABEL_PENDING;
	if (l && !(v->flags & VERDICT_PROVISIONAL)) {
		if (l->class_id >= 0) {
			judge(t, l, v);
		} else if (l->class_id == LABEL_PENDING) {
			l->waiting = true;
			l->verdict = *v;
		}
	}
	if (t->queued == TEACH_QUEUE) {
		t->info.windows_dropped++;
		return;
	}
	t->queue[t->queued++] = (struct queued_window){ .connection = *connection,
							 .window = *window,
							 .queued_ns = monotonic_ns() };
}

void teacher_end(struct teacher *t)
{
	pthread_mutex_unlock(&t->lock);
}

int teacher_flush(struct teacher *t, char *err, size_t errlen)
{
	unsigned ticket;
	int rc;

	pthread_mutex_lock(&t->lock);
	ticket = ++t->flush_asked;
	pthread_cond_signal(&t->wake);
	while ((int)(t->flush_done - ticket) < 0 && !t->stopping)
		pthread_cond_wait(&t->flushed, &t->lock);
	rc = t->flush_rc;
	if (rc)
		errmsg(err, errlen, "%s", t->flush_err);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void teacher_info(struct teacher *t, struct teach_info *out)
{
	pthread_mutex_lock(&t->lock);
	*out = t->info;
	out->connections_now = counted(&t->inspecting_now);
	/* nDPI's own count, and what the teacher's tables and queues hold */
	out->memory_bytes = ndpi_labeler_memory() + gen_table_bytes(t->labels) +
			    counted(&t->inspecting_bytes) +
			    (2 * TEACH_QUEUE + TEACH_PENDING) * sizeof(struct queued_window) +
			    t->site_held * (2 * (size_t)t->o.model->window * sizeof(double) +
					    sizeof(struct pcap_row));
	out->windows_dropped += t->site_lost + counted(&t->windows_lost);
	out->packets = counted(&t->packets);
	out->packets_dropped = counted(&t->packets_dropped);
	out->connections = counted(&t->connections);
	out->cpu_us = counted(&t->cpu_us);
	pthread_mutex_unlock(&t->lock);
}

void teacher_count_learn(struct teacher *t, bool learnt)
{
	pthread_mutex_lock(&t->lock);
	t->info.learn_runs++;
	t->info.models_learnt += learnt;
	pthread_mutex_unlock(&t->lock);
}
