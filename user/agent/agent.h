/* SPDX-License-Identifier: MIT */
/* The live agent behind `odeflow run`: loads the sampler onto interfaces,
 * drains its ring buffer, classifies the windows in batches on a worker
 * pool, writes the verdicts and the re-arms back into the maps, enforces the
 * policy file, and prints one event per decision. */
#ifndef ODEFLOW_AGENT_H
#define ODEFLOW_AGENT_H

#include <stdbool.h>

#include "cascade.h"
#include "ipfix_export.h"
#include "loader/xdp_loader.h"

struct agent_options {
	const char *const *ifaces; /* --iface: interface names or globs */
	int n_ifaces;
	const char *iface;        /* how status lines, /metrics and events name them all */
	enum xdp_hook hook;       /* XDP (default) or TC ingress through tcx */
	unsigned directions;      /* enum port_hooks: ingress, egress (tc, through tcx) or both */
	enum xdp_mode mode;       /* XDP only */
	bool replace;             /* XDP only: detach a program another tool attached */
	const char *model_path;
	const char *policy_path;  /* NULL: every class passes (observe only) */
	const char *pin_dir;
	const char *events_path;  /* NULL: none; "-": standard output */
	unsigned events_mode;     /* of an events file the agent creates */
	bool events_pipe;         /* the events path may be a FIFO or a Unix socket */
	int skip;                 /* packets before a direction's first window; -1: the model's */
	struct cascade_options cascade; /* its max_connections: flow_capacity */
	int threads;              /* classification workers */
	unsigned flow_capacity;
	uint64_t verdict_idle_ns; /* a verdict idle this long expires in the kernel; 0: never */
	bool keep;                /* leave the program attached and the maps pinned */
	bool busy_poll;           /* the drain never sleeps: no window pays for a wakeup */
	bool quiet;
	const char *metrics_listen; /* NULL: no /metrics; else "ADDR:PORT" to serve it on */
	const char *ipfix_collector; /* NULL: no IPFIX; else "HOST:PORT" of the collector */
	enum ipfix_transport ipfix_transport;
	bool ipfix_domain_given;
	uint32_t ipfix_domain;    /* observation domain; not given: the interface's index */
	/* --teach (user/teach/): the share of connections nDPI labels (0: off),
	 * the class map, the site data set and its cap */
	double teach_rate;
	const char *class_map;
	const char *site_dir;
	uint64_t site_cap;
	uint64_t learn_every_ns;  /* --learn-every (with --teach): 0, never */
};

/* Runs until SIGINT or SIGTERM; returns the process exit code. */
int agent_run(const struct agent_options *o);

#endif
