/* SPDX-License-Identifier: MIT */
/* The maps a running (or --keep'd) agent left pinned, opened by the operator
 * commands (flows, stats, policy, top) from any shell. */
#ifndef ODEFLOW_PINNED_H
#define ODEFLOW_PINNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map_ops.h"
#include "pin_dir.h"
#include "sampler_attach.h"
#include "xdp_loader.h"

struct pinned {
	int fd[XDP_MAP_COUNT];
	struct agent_info agent; /* zero if no agent has published yet */
};

/* Opens every pinned map under pin_dir (NULL: the default). The error says
 * when no agent runs there. */
int pinned_open(const char *pin_dir, struct pinned *p, char *err, size_t errlen);
void pinned_close(struct pinned *p);
/* Re-reads the agent's entry. */
int pinned_refresh_agent(struct pinned *p);
/* The class's name, or its number when no agent published names. */
const char *pinned_class_name(const struct pinned *p, unsigned id, char *buf, size_t len);
/* The id of a class name (case does not matter), or -1. */
int pinned_class_id(const struct pinned *p, const char *name);
/* Is a program that uses these maps still loaded? Only an attached sampler
 * (its link pinned by --keep, its place in libxdp's dispatcher, or held by
 * a running agent) keeps one loaded, so false means nothing enforces the
 * verdicts any more. */
bool pinned_sampler_loaded(const struct pinned *p);
/* How that sampler is attached, by xdp_attachment_name ("xdp", "libxdp",
 * "tcx"); NULL when none is loaded. */
const char *pinned_sampler_hook(const struct pinned *p);
/* Is the agent that published alive? */
bool pinned_agent_alive(const struct pinned *p);

#endif
