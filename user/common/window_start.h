/* SPDX-License-Identifier: MIT */
/* Where in a flow direction a model's windows start, as a model file
 * records it (metadata window_start) and a dataset says it holds:
 *   "first"   the direction's first N packets (the XDP sampler's default);
 *   "skip:K"  the N packets after its first K;
 *   "any"     anywhere: every non-overlapping window of the direction, as
 *             the ISCX datasets were cut. A model file without the key is
 *             "any": the shipped ISCX models were trained so.
 * The sampler and `odeflow classify` turn it into a skip count with
 * window_start_skip, one rule for both. */
#ifndef ODEFLOW_WINDOW_START_H
#define ODEFLOW_WINDOW_START_H

#include <stddef.h>

#include "odeflow.h" /* ODEFLOW_MAX_SKIP: the most packets a first window may start after */

/* The skip used for "any" models: the position that served the shipped ISCX
 * models best on real captures (models/README.md, "Real captures labelled
 * by nDPI"; tools/ndpi_measure.sh). */
#define WINDOW_START_ANY_SKIP 0

enum window_start_kind {
	WINDOW_START_ANY,   /* 0: what a zeroed configuration and an old file say */
	WINDOW_START_FIRST,
	WINDOW_START_SKIP,
};

struct window_start {
	enum window_start_kind kind;
	int skip; /* WINDOW_START_SKIP: 0..ODEFLOW_MAX_SKIP */
};

/* "first", "any" or "skip:K". Errors: -1 and one line in err. */
int window_start_parse(const char *text, struct window_start *out, char *err, size_t errlen);
/* The text form window_start_parse reads; buf of at least
 * WINDOW_START_STRLEN bytes. */
#define WINDOW_START_STRLEN 16
void window_start_format(const struct window_start *ws, char *buf, size_t len);
/* Packets of a direction to pass over before its first window, for a model
 * whose windows started as ws says. */
int window_start_skip(const struct window_start *ws);
/* The skip a run uses: `asked` (--skip) if >= 0, else the model's; and in
 * `said` the sentence that tells the operator which, since a model fed
 * windows from another position than it learned is quietly wrong. */
int window_start_choose(const struct window_start *ws, int asked, char *said, size_t len);

#endif
