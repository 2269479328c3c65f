/* SPDX-License-Identifier: MIT */
/* The odeflow instances pinned on this host, for the operator commands
 * (stats, flows, top, policy): every folder of bpffs named "odeflow" or
 * "odeflow-*" (odeflow run's default pin dir, and the systemd unit's
 * odeflow-IF) that holds an agent map, with the interface and pid its
 * agent published. */
#ifndef ODEFLOW_INSTANCES_H
#define ODEFLOW_INSTANCES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "odeflow.h"

#define INSTANCES_MAX 64

struct instance {
	char pin_dir[PATH_MAX];
	char iface[sizeof(((struct agent_info *)0)->iface) + 1];
	unsigned pid;
	bool running;
};

/* The instances under the bpffs root of the default pin dir, at most max.
 * Returns how many, or -1 with one line in err (the caller needs root or
 * CAP_BPF to read them: err says so). */
int instances_list(struct instance *out, int max, char *err, size_t errlen);

/* The pin dir to read: pin_dir when given; else the instance on iface when
 * given; else the only instance, or the only running one. None, or several
 * and no iface: an error that says so (listing them, asking for --iface). */
int instances_choose(const char *pin_dir, const char *iface, char *out, size_t outlen, char *err,
		     size_t errlen);

/* Whether this process may read BPF objects (root, CAP_BPF or
 * CAP_SYS_ADMIN); when not, one line in err that says so. */
bool instances_may_read(char *err, size_t errlen);

#endif
