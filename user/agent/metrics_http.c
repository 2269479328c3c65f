// SPDX-License-Identifier: MIT
#include "metrics_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/hostport.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* A scraper or two; anything more waits. Idle connections close after the
 * timeout, so a client that connects and says nothing holds nothing long. */
#define MAX_CONNECTIONS 8
#define CONNECTION_TIMEOUT_S 10

struct metrics_server {
	struct MHD_Daemon *daemon;
	int fd;
	metrics_fill_fn fill;
	metrics_health_fn health;
	void *ctx;
	char address[64];
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	static char not_found[] = "odeflow: the metrics are at /metrics, the health at /healthz\n";
	static char bad_method[] = "odeflow: GET /metrics or /healthz\n";
	struct metrics_server *m = cls;
	struct metrics_snapshot *snap;
	size_t len = 0;
	char *text, why[256];

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, bad_method, strlen(bad_method),
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/healthz")) {
		bool ok = m->health(m->ctx, why, sizeof(why) - 1);

		strcat(why, "\n");
		return reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why, strlen(why),
			     MHD_RESPMEM_MUST_COPY);
	}
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found),
			     MHD_RESPMEM_PERSISTENT);
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return MHD_NO;
	m->fill(m->ctx, snap);
	text = metrics_render(snap, &len);
	free(snap);
	if (!text)
		return MHD_NO;
	return reply(c, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE);
}

static int listen_on(const char *listen_text, struct metrics_server *m, char *err, size_t errlen)
{
	struct addrinfo *ai;
	int one = 1;

	if (hostport_resolve(listen_text, AI_PASSIVE, SOCK_STREAM, &ai, err, errlen))
		return -1;
	hostport_format(ai->ai_addr, m->address, sizeof(m->address));
	m->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(m->fd, ai->ai_addr, ai->ai_addrlen) || listen(m->fd, MAX_CONNECTIONS)) {
		errmsg(err, errlen, "listening on %s: %s", m->address, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return 0;
}

int metrics_server_start(const char *listen_text, metrics_fill_fn fill, metrics_health_fn health,
			 void *ctx, struct metrics_server **out, char *err, size_t errlen)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	sigset_t all, old;

	*out = NULL;
	if (!m)
		return errmsg(err, errlen, "out of memory");
	m->fd = -1;
	m->fill = fill;
	m->health = health;
	m->ctx = ctx;
	if (listen_on(listen_text, m, err, errlen)) {
		metrics_server_stop(m);
		return -1;
	}
	/* the server's thread takes no signals: they go to the agent's threads */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, m,
				     MHD_OPTION_LISTEN_SOCKET, m->fd,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
				     MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->daemon) {
		errmsg(err, errlen, "starting the metrics server on %s failed", m->address);
		metrics_server_stop(m);
		return -1;
	}
	*out = m;
	return 0;
}

const char *metrics_server_address(const struct metrics_server *m)
{
	return m->address;
}

void metrics_server_stop(struct metrics_server *m)
{
	if (!m)
		return;
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}
