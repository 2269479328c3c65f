/* SPDX-License-Identifier: MIT */
/* The decision logic shared by the live agent and `odeflow classify`: turn
 * completed windows (struct window_record, decoded from the XDP ring)
 * into per-connection decisions, with the paper's cascade: a connection whose
 * top class probability is below the threshold is provisional and asks for
 * the next window of that direction; the log-probabilities of all its
 * windows (either direction) are averaged until the threshold is met or
 * max_windows windows were seen. A window the model finds unlike what it
 * learnt (model_is_unknown) adds nothing to the average and asks for the
 * next window too; a connection that reaches max_windows with at least half
 * of its windows such settles on the outcome Unknown. One verdict per
 * connection from both directions: a direction's first window is taken in
 * even when it comes after the other direction made the verdict final,
 * max_windows allowing (it stays final; its class and confidence are those
 * of both). */
#ifndef ODEFLOW_CASCADE_H
#define ODEFLOW_CASCADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flow_hash.h"
#include "common/window_record.h"
#include "engine/model.h"

/* The defaults of `odeflow run` and `odeflow classify` alike, so a bare
 * classify of a capture matches a bare run on the link. Plain numbers:
 * their help shows them as written (CLI_STR). */
#define CASCADE_DEFAULT_THRESHOLD 0.9
#define CASCADE_DEFAULT_MAX_WINDOWS 3

struct cascade_options {
	float threshold;    /* 0..1; 0 decides on the first window */
	int max_windows;    /* >= 1 */
	int max_connections;/* >= 2 connections remembered (oldest forgotten first) */
	/* the key of the connections' hash: NULL for a random one (tests plant
	 * colliding connections under theirs) */
	const struct flow_hash_key *hash_key;
	/* the memory of connections all there from the start (the agent: a
	 * verdict waits on its lookups; connection_cache_new) */
	bool resident;
};

struct decision {
	struct window_record window; /* the window this decision came from */
	struct flow_key connection;  /* canonical key of its connection */
	float window_logprobs[ODEFLOW_MAX_CLASSES]; /* this window alone */
	int class_id;                /* the connection's class so far; the model's class
				      * count when it is Unknown (model_outcome_name) */
	bool unknown;                /* it is Unknown */
	float confidence;            /* its averaged probability; Unknown: the share of
				      * its windows the model found Unknown */
	int stage;                   /* windows averaged into it */
	bool provisional;            /* below threshold and more windows allowed */
	bool rearm;                  /* ask for the next window of this direction */
	uint8_t directions_seen;     /* VERDICT_SEEN_* bits: directions whose windows came in */
	bool restored;               /* the connection was decided already and this direction's
				      * window had come before: the kernel lost its state */
	uint8_t egress;              /* VERDICT_SEEN_* bits: those last seen at an egress hook */
	uint32_t ifindex[2];         /* interface of each direction's last window (forward,
				      * reverse: struct verdict's); 0: none yet, or a capture */
	uint32_t model_id;           /* of the model that classified the window */
};

struct cascade;

/* -1 with a message in err: an option out of range, out of memory. */
int cascade_new(const struct model *m, const struct cascade_options *opts, struct cascade **out,
		char *err, size_t errlen);
void cascade_free(struct cascade *c);
/* The memory its record of connections takes. */
size_t cascade_memory_bytes(const struct cascade *c);

/* The model windows are classified with from now on, by workspaces made
 * after this (a running agent takes a new model: model_reload.h); those
 * made before keep theirs, and connections keep their state. It must have
 * the classes and window of the cascade's. -1 with a message otherwise. */
int cascade_set_model(struct cascade *c, const struct model *m, char *err, size_t errlen);

/* What one thread needs to decide batches of up to max_batch windows: the
 * model's workspace and the batch's buffers, made once, so deciding
 * allocates nothing. NULL when out of memory. */
struct cascade_ws;
struct cascade_ws *cascade_ws_new(const struct cascade *c, int max_batch);
void cascade_ws_free(struct cascade_ws *ws);
/* The model's workspace inside (to warm it up). */
struct model_ws *cascade_ws_model(struct cascade_ws *ws);

/* Classifies n windows in one batch (n <= the workspace's max batch) and
 * updates each connection's state. Writes one decision per window the model
 * classified, in order, and returns how many; a window the model fails on
 * gets none and is counted in *failed (its direction is sampled again by the
 * kernel later). -1: a window's n differs from the model's window size, or
 * n is not from 1 to the workspace's max batch. */
int cascade_decide(struct cascade *c, struct cascade_ws *ws, int n,
		   const struct window_record *windows, struct decision *out, int *failed);

#endif
