/* SPDX-License-Identifier: MIT */
/* The /metrics and /healthz endpoints of `odeflow run --metrics ADDR:PORT`:
 * an HTTP server (libmicrohttpd) on its own thread that, for each scrape,
 * asks the agent for a snapshot (metrics.h) and sends it rendered, and for
 * each health check asks whether the agent is healthy (200 "ok", else 503
 * and why). The drain never waits for it: both read atomics and pinned
 * maps. */
#ifndef ODEFLOW_METRICS_HTTP_H
#define ODEFLOW_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"

/* Fills out (zeroed by the caller) on the server's thread. */
typedef void (*metrics_fill_fn)(void *ctx, struct metrics_snapshot *out);
/* True when healthy; else false, with why (one line, no newline). */
typedef bool (*metrics_health_fn)(void *ctx, char *why, size_t len);

struct metrics_server;

/* Binds ADDR:PORT ("127.0.0.1:9464", "[::1]:9464"; port 0 is refused)
 * and starts serving. Fails with one line when the address does not parse
 * or resolve, or the port is taken. */
int metrics_server_start(const char *listen, metrics_fill_fn fill, metrics_health_fn health,
			 void *ctx, struct metrics_server **out, char *err, size_t errlen);

/* Where it listens, "127.0.0.1:9464". */
const char *metrics_server_address(const struct metrics_server *m);

/* Stops the thread and closes the socket; NULL is a no-op. */
void metrics_server_stop(struct metrics_server *m);

#endif
