/* SPDX-License-Identifier: MIT */
/* The teacher (odeflow run --teach RATE): nDPI over the first packets of a
 * sample of live connections, on a thread of its own.
 *
 * The sampler copies the first ODEFLOW_TEACH_PACKETS packets of each
 * direction of a sampled connection into the ring "teach" (bpf/README.md).
 * The teacher reads them every TEACH_POLL_MS, follows each connection with
 * nDPI (capture/ndpi_labeler.h) and maps what nDPI found through the class
 * map to one of the model's classes: the connection's label. Payload bytes
 * stay in memory, and only until nDPI is done with the connection.
 *
 * Classification threads show it the verdicts of taught connections before
 * they write them (teacher_begin, teacher_review, teacher_end):
 *   - a final verdict the model is unsure of (confidence below the
 *     threshold; or Unknown, once the model has it) takes the class nDPI
 *     found, with VERDICT_DPI: "the surer answer". When the label comes
 *     after the verdict, the teacher writes the dpi verdict itself;
 *   - the first final verdict of each labelled connection is counted
 *     against its label, per class: how often the fast model and nDPI
 *     agree;
 *   - the windows go to the teacher, which writes each with its
 *     connection's label into the site data set (site_dataset.h).
 *
 * Limits: the teacher spends at most TEACH_CPU_SHARE of a core (measured on
 * its own thread's clock; over it, packets are let go, counted), follows
 * at most TEACH_INSPECTING connections with nDPI at once and remembers
 * labels in bounded tables; classification threads never wait for it
 * (windows that find its queue full are dropped, counted). Everything it
 * does and costs is published in map "teach_info" every second. */
#ifndef ODEFLOW_TEACHER_H
#define ODEFLOW_TEACHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/window_record.h"
#include "engine/model.h"

#define TEACH_POLL_MS 20
/* The most of one core the teacher spends (nDPI, pairing, writing). */
#define TEACH_CPU_SHARE 0.10
/* Connections nDPI follows at once; more are let go until some finish. */
#define TEACH_INSPECTING 4096
/* A connection nDPI is not done with is concluded this long after its last
 * copied packet: its other direction is not coming. */
#define TEACH_IDLE_NS (5 * NSEC_PER_SEC)
/* Labels remembered: two generations of this many connections. */
#define TEACH_LABELS 16384
/* Windows waiting for the teacher, and waiting for their label. */
#define TEACH_QUEUE 2048
#define TEACH_PENDING 4096
#define TEACH_LABEL_WAIT_NS (30 * NSEC_PER_SEC)
/* The site data set gets what is held at least this often. */
#define TEACH_FLUSH_NS (60 * NSEC_PER_SEC)

/* Writes verdicts as the agent writes them (the agent's writer). */
typedef void (*teacher_write_fn)(void *ctx, const struct flow_key *connections,
				 const struct verdict *values, unsigned n);

struct teacher_options {
	int ring_fd;                     /* map "teach" */
	int info_fd;                     /* map "teach_info" */
	uint64_t seed, below;            /* the sampler's (xdp_sampler_teach) */
	const char *class_map;           /* the class map file */
	const struct model_config *model;/* its class names are the labels' (copied) */
	float threshold;                 /* a final verdict below it is unsure */
	const char *site_dir;            /* NULL: no site data set */
	uint64_t site_cap;
	int skip;                        /* the sampler's skip (the data set's first_packet) */
	teacher_write_fn write_verdicts;
	void *write_ctx;
};

struct teacher;

/* Checks the class map against nDPI and the model's classes, opens the
 * site data set and starts the thread. Errors: -1 and one line in err
 * (nothing started). */
int teacher_start(const struct teacher_options *o, struct teacher **out, char *err,
		  size_t errlen);
/* Stops the thread, writes what the site data set holds, frees. */
void teacher_stop(struct teacher *t);

/* Classification threads, with a batch of verdicts before writing them:
 * teacher_begin is true when one of the connections is taught; then the
 * caller passes each verdict through teacher_review (it may change it),
 * writes them, and calls teacher_end. Verdicts of taught connections are
 * written under the teacher's lock, so its own late dpi verdicts and the
 * model's never cross. */
bool teacher_begin(struct teacher *t, const struct flow_key *connections, int n);
void teacher_review(struct teacher *t, const struct flow_key *connection, struct verdict *v,
		    const struct window_record *window);
void teacher_end(struct teacher *t);

/* Writes the site data set's held windows now (the learner, before it
 * reads the data set). Waits for the teacher's thread; -1 and one line in
 * err when the write failed. */
int teacher_flush(struct teacher *t, char *err, size_t errlen);

/* What the teacher publishes in "teach_info" (for /metrics). */
void teacher_info(struct teacher *t, struct teach_info *out);
/* Counts a learning run (the learner), and whether it wrote a better model. */
void teacher_count_learn(struct teacher *t, bool learnt);

#endif
