/* SPDX-License-Identifier: MIT */
/* `odeflow run --ipfix HOST:PORT`: one IPFIX record (RFC 7011) per
 * decision to a collector over UDP or TCP, written with libfixbuf by the
 * consumer thread of a decision queue (decision_queue.h): a collector that
 * is slow or down never holds up classification. Decisions that find the
 * queue full, or the collector down, are dropped and counted; a lost
 * collector is tried again after a backoff (1 s doubling to 30 s). The
 * template and its elements are listed in user/agent/README.md. */
#ifndef ODEFLOW_IPFIX_EXPORT_H
#define ODEFLOW_IPFIX_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cascade.h"
#include "engine/model.h"

/* The IANA private enterprise number of the odeflow elements: 32473, the
 * number RFC 5612 reserves for documentation and examples, until odeflow
 * registers its own (then only this changes). */
#define IPFIX_ODEFLOW_PEN 32473u
#define IPFIX_QUEUE_DEPTH 8192 /* decisions waiting for the exporter */

enum ipfix_transport { IPFIX_UDP, IPFIX_TCP };

/* flowDirection (IE 61): where the window was seen (an ingress or an egress hook). */
#define IPFIX_FLOW_DIRECTION_INGRESS 0
#define IPFIX_FLOW_DIRECTION_EGRESS 1

struct ipfix_options {
	const char *collector;           /* HOST:PORT */
	enum ipfix_transport transport;
	uint32_t ifindex;                /* ingressInterface of a window that names none */
	bool domain_given;
	uint32_t domain;                 /* observation domain; not given: the ifindex */
};

struct ipfix_exporter;

/* Resolves the collector (one line in err for a HOST:PORT that does not
 * parse or a name that does not resolve) and starts the queue's thread;
 * connecting happens there, with the first decision, so a collector that
 * is down is not an error here. From here on GLib's log lines (libfixbuf's)
 * go through the agent's log. The model must outlive the exporter. */
int ipfix_exporter_start(const struct ipfix_options *o, const struct model_config *model,
			 struct ipfix_exporter **out, char *err, size_t errlen);

/* The observation domain the records carry. */
uint32_t ipfix_exporter_domain(const struct ipfix_exporter *x);

/* GLib's log (g_warning, g_critical, ...: libfixbuf's) through log_line,
 * with the journal's levels; debug lines dropped. Idempotent. */
void glib_log_to_agent_log(void);

/* Queues one record per decision (decided at wall_s, CLOCK_REALTIME
 * seconds); never waits for the collector. */
void ipfix_exporter_add(struct ipfix_exporter *x, const struct decision *d, int n, double wall_s);

/* For /metrics and the exit line: records written to the collector, and
 * records dropped (the queue full, the collector down, or lost with a
 * connection that failed). */
uint64_t ipfix_exporter_exported(const struct ipfix_exporter *x);
uint64_t ipfix_exporter_dropped(const struct ipfix_exporter *x);
/* Connections and sends to the collector that failed (each drops what it
 * carried, or the decision that tried). */
uint64_t ipfix_exporter_send_failures(const struct ipfix_exporter *x);

/* Sends what is queued and stops the thread; the counters stay readable.
 * A collector that is down costs one connection attempt at most (TCP: a
 * refused or unreachable one fails at once). NULL: no-op. */
void ipfix_exporter_finish(struct ipfix_exporter *x);

/* Finishes, then frees. NULL: no-op. */
void ipfix_exporter_stop(struct ipfix_exporter *x);

#endif
