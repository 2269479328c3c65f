/* SPDX-License-Identifier: MIT */
/* The /metrics endpoint of `odeflow run --metrics ADDR:PORT`: an HTTP
 * server (libmicrohttpd) on its own thread that, for each scrape, asks the
 * agent for a snapshot (metrics.h) and sends it rendered. The drain never
 * waits for it: the snapshot is read from atomics and pinned maps. */
#ifndef ODEFLOW_METRICS_HTTP_H
#define ODEFLOW_METRICS_HTTP_H

#include <stddef.h>

#include "metrics.h"

/* Fills out (zeroed by the caller) on the server's thread. */
typedef void (*metrics_fill_fn)(void *ctx, struct metrics_snapshot *out);

struct metrics_server;

/* Binds ADDR:PORT ("127.0.0.1:9464", "[::1]:9464"; port 0 is refused)
 * and starts serving. Fails with one line when the address does not parse
 * or resolve, or the port is taken. */
int metrics_server_start(const char *listen, metrics_fill_fn fill, void *ctx,
			 struct metrics_server **out, char *err, size_t errlen);

/* Where it listens, "127.0.0.1:9464". */
const char *metrics_server_address(const struct metrics_server *m);

/* Stops the thread and closes the socket; NULL is a no-op. */
void metrics_server_stop(struct metrics_server *m);

#endif
