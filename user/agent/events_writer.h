/* SPDX-License-Identifier: MIT */
/* The agent's events output (--events): one JSON line per decision
 * (event_json.h), written by the consumer thread of a decision queue.
 *
 * Opened as a root process must open a path an attacker may have chosen:
 * the last component is never followed if it is a symlink; a new file is
 * created with the given mode (0600 by default); an existing one must be a
 * regular file of this user with one link (or a device such as /dev/null),
 * else it is refused; a FIFO or a Unix stream socket only when the caller
 * asked for one. "-" is standard output.
 *
 * Writing never blocks the agent for long: the output is polled before each
 * line; when the agent stops, lines still queued get a short grace and are
 * then counted as lost. Write errors (a full disk, a reader gone) lose the
 * line, are counted, and are reported on stderr at most once a minute. */
#ifndef ODEFLOW_EVENTS_WRITER_H
#define ODEFLOW_EVENTS_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decision_queue.h"

#define EVENTS_DEFAULT_MODE 0600

struct events_writer_options {
	const char *path;        /* "-": standard output */
	mode_t mode;             /* of a file it creates */
	bool allow_pipe;         /* an existing FIFO or Unix socket is accepted */
	const struct model_config *model;
	const char *iface;
};

struct events_writer;

int events_writer_open(const struct events_writer_options *o, struct events_writer **out,
		       char *err, size_t errlen);
/* A decision_consumer: formats and writes one event. */
void events_writer_consume(void *ctx, const struct queued_decision *q);
/* From now on, waits for a slow reader end within a short grace. Call before
 * freeing the queue that feeds this writer. */
void events_writer_stopping(struct events_writer *w);
/* Lines that could not be written. */
uint64_t events_writer_lost(const struct events_writer *w);
void events_writer_close(struct events_writer *w);

#endif
