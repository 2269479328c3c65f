/* SPDX-License-Identifier: MIT */
#include "model_reload.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errmsg.h"
#include "common/log.h"
#include "loader/map_ops.h"

struct model_reloader {
	struct classify_pool *pool;
	int request_fd;
	model_loaded_fn on_loaded;
	void *ctx;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake, done;
	bool stopping;
	const struct model *running;     /* the reloader's thread's */
	uint32_t running_id;
	char path[PATH_MAX];             /* the running model's file (lock) */
	/* a request of this process (lock) */
	char want[PATH_MAX];
	const char *want_why;
	bool reread, asked;
	unsigned ticket, answered;
	int result;
	char why[ERRMSG_LEN];
};

/* Loads path into the pool in place of the running model. */
static int take(struct model_reloader *r, const char *path, char *err, size_t errlen)
{
	struct model *m;
	const struct model *before = r->running;
	char why[ERRMSG_LEN];

	if (model_load(path, &m, err, errlen))
		return -1;
	if (model_self_check(m, why, sizeof(why))) {
		model_free(m);
		return errmsg(err, errlen, "%s fails its self-check: %s", path, why);
	}
	if (classify_pool_swap(r->pool, m, why, sizeof(why))) {
		model_free(m);
		return errmsg(err, errlen, "%s: %s", path, why);
	}
	r->running = m;
	r->running_id = model_config(m)->model_id;
	pthread_mutex_lock(&r->lock);
	snprintf(r->path, sizeof(r->path), "%s", path);
	pthread_mutex_unlock(&r->lock);
	r->on_loaded(r->ctx, m, (struct model *)before, path);
	return 0;
}

/* One request, said in one line either way. */
static int serve(struct model_reloader *r, const char *path, const char *why_asked, char *err,
		 size_t errlen)
{
	uint32_t was = r->running_id;

	if (take(r, path, err, errlen)) {
		log_line(LOG_LEVEL_ERR, "model not loaded (%s): %s; model %08x keeps running",
			 why_asked, err, was);
		return -1;
	}
	log_line(LOG_LEVEL_INFO, "model %s loaded (%s): model %08x in place of %08x, verdicts and "
		 "connections kept", path, why_asked, r->running_id, was);
	return 0;
}

/* `odeflow model load`: a request in the map not answered yet. */
static void serve_map(struct model_reloader *r)
{
	struct model_request q;
	char err[ERRMSG_LEN];

	if (r->request_fd < 0 || xdp_read_model_request(r->request_fd, &q) || q.asked == q.answered)
		return;
	q.path[sizeof(q.path) - 1] = '\0';
	q.status = serve(r, q.path, "odeflow model load", err, sizeof(err));
	q.answered = q.asked;
	q.model_id = r->running_id;
	pthread_mutex_lock(&r->lock);
	snprintf(q.running, sizeof(q.running), "%.*s", (int)sizeof(q.running) - 1, r->path);
	pthread_mutex_unlock(&r->lock);
	snprintf(q.message, sizeof(q.message), "%.*s", (int)sizeof(q.message) - 1, q.status ? err : "loaded");
	xdp_write_model_request(r->request_fd, &q);
}

/* What runs, for `odeflow model` (which reads it rather than the agent
 * map's copy, up to a publishing period old). */
static void publish(struct model_reloader *r)
{
	struct model_request q;

	if (r->request_fd < 0 || xdp_read_model_request(r->request_fd, &q))
		return;
	q.model_id = r->running_id;
	pthread_mutex_lock(&r->lock);
	snprintf(q.running, sizeof(q.running), "%.*s", (int)sizeof(q.running) - 1, r->path);
	pthread_mutex_unlock(&r->lock);
	xdp_write_model_request(r->request_fd, &q);
}

static void *reloader_main(void *arg)
{
	struct model_reloader *r = arg;
	char path[PATH_MAX], err[ERRMSG_LEN];

	publish(r);
	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		struct timespec until;

		if (!r->reread && !r->asked) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += MODEL_RELOAD_POLL_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&r->wake, &r->lock, &until);
		}
		if (r->stopping)
			break;
		if (r->asked) {
			unsigned ticket = r->ticket;
			const char *why = r->want_why;
			int rc;

			r->asked = false;
			snprintf(path, sizeof(path), "%s", r->want);
			pthread_mutex_unlock(&r->lock);
			rc = serve(r, path, why, err, sizeof(err));
			publish(r);
			pthread_mutex_lock(&r->lock);
			r->result = rc;
			snprintf(r->why, sizeof(r->why), "%s", rc ? err : "");
			r->answered = ticket;
			pthread_cond_broadcast(&r->done);
		} else if (r->reread) {
			r->reread = false;
			snprintf(path, sizeof(path), "%s", r->path);
			pthread_mutex_unlock(&r->lock);
			serve(r, path, "SIGHUP", err, sizeof(err));
			publish(r);
			pthread_mutex_lock(&r->lock);
		} else {
			pthread_mutex_unlock(&r->lock);
			serve_map(r);
			pthread_mutex_lock(&r->lock);
		}
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int model_reloader_start(struct classify_pool *pool, const struct model *running,
			 const char *path, int request_fd, model_loaded_fn on_loaded, void *ctx,
			 struct model_reloader **out, char *err, size_t errlen)
{
	struct model_reloader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return errmsg(err, errlen, "out of memory");
	*r = (struct model_reloader){ .pool = pool, .request_fd = request_fd,
				      .on_loaded = on_loaded, .ctx = ctx, .running = running,
				      .running_id = model_config(running)->model_id };
	snprintf(r->path, sizeof(r->path), "%s", path);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	pthread_cond_init(&r->done, NULL);
	if (pthread_create(&r->thread, NULL, reloader_main, r)) {
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->wake);
		pthread_cond_destroy(&r->done);
		free(r);
		return errmsg(err, errlen, "cannot start the model reloader's thread");
	}
	*out = r;
	return 0;
}

void model_reloader_stop(struct model_reloader *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_broadcast(&r->wake);
	pthread_cond_broadcast(&r->done);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	pthread_cond_destroy(&r->done);
	free(r);
}

void model_reloader_reread(struct model_reloader *r)
{
	pthread_mutex_lock(&r->lock);
	r->reread = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

int model_reloader_load(struct model_reloader *r, const char *path, const char *why, char *err,
			size_t errlen)
{
	unsigned ticket;
	int rc = -1;

	pthread_mutex_lock(&r->lock);
	ticket = ++r->ticket;
	snprintf(r->want, sizeof(r->want), "%s", path);
	r->want_why = why;
	r->asked = true;
	pthread_cond_signal(&r->wake);
	while (r->answered != ticket && !r->stopping)
		pthread_cond_wait(&r->done, &r->lock);
	if (r->answered == ticket) {
		rc = r->result;
		if (rc)
			errmsg(err, errlen, "%s", r->why);
	} else {
		errmsg(err, errlen, "the agent is stopping");
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void model_reloader_path(struct model_reloader *r, char *buf, size_t len)
{
	pthread_mutex_lock(&r->lock);
	snprintf(buf, len, "%s", r->path);
	pthread_mutex_unlock(&r->lock);
}
