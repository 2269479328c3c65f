/* SPDX-License-Identifier: MIT */
/* The interfaces one agent runs on: its --iface names and globs resolved
 * against the host's interfaces, the one sampler attached to each of them,
 * and a watch on rtnetlink (libmnl) that follows them: an interface that
 * goes away is reported and let go of, one that comes back (or a new one a
 * glob names) is attached, and going down or up is reported. The others
 * keep working throughout. */
#ifndef ODEFLOW_INTERFACES_H
#define ODEFLOW_INTERFACES_H

#include <stdbool.h>
#include <stddef.h>

#include "loader/sampler_attach.h"
#include "loader/xdp_loader.h"

struct interfaces_options {
	const char *const *patterns; /* names, or globs (fnmatch: *, ?, [...]) */
	int n_patterns;
	enum xdp_mode mode;
	unsigned attach_flags;       /* enum xdp_attach_flags */
	bool quiet;                  /* no status lines but warnings */
	bool *attached;              /* kept true while at least one is attached */
};

struct interfaces;

/* Whether every name among the patterns (a pattern without glob
 * characters) is an interface now: before anything is loaded, so a typo is
 * the start's one line. */
int interfaces_check(const char *const *patterns, int n, char *err, size_t errlen);

/* Attaches s to every interface the patterns name now, then watches. A name
 * without glob characters must exist and take the sampler; an interface a
 * glob names that refuses it is reported and left out. Globs that name no
 * interface yet are fine: what appears later is attached. Error: one line,
 * and what was attached stays attached (the caller detaches). */
int interfaces_start(struct xdp_sampler *s, const struct interfaces_options *o,
		     struct interfaces **out, char *err, size_t errlen);

/* Ends the watch (before the sampler is detached or closed): the
 * attachments stay. NULL does nothing. */
void interfaces_stop(struct interfaces *ifs);

/* The interfaces as a status line names them: "eth0", "eth0, eth1 and
 * eth2", "no interface yet". */
void interfaces_describe(const struct interfaces *ifs, char *buf, size_t len);

/* The --iface arguments as one name for the agent's entry, /metrics and
 * the events: "eth0", "ens*", "eth0,eth1". */
void interfaces_label(const char *const *patterns, int n, char *buf, size_t len);

#endif
