/* SPDX-License-Identifier: MIT */
/* How full the sampler's hash maps are, and the connections in "verdicts"
 * by class: a walk of the map in batches (bpf_map_lookup_batch, a few
 * thousand entries a system call), for /metrics. The kernel keeps no count
 * of a hash map's entries that userspace can read, so this costs a walk;
 * the caller decides how often. */
#ifndef ODEFLOW_MAP_CENSUS_H
#define ODEFLOW_MAP_CENSUS_H

#include <stdint.h>

#include "odeflow.h"

enum census_state { CENSUS_FINAL, CENSUS_PROVISIONAL, CENSUS_STATES };

struct map_census {
	uint64_t entries, max_entries;
	/* "verdicts" only: its connections by class and state */
	uint64_t connections[ODEFLOW_MAX_CLASSES][CENSUS_STATES];
};

/* Counts the entries of a hash map (any key and value size); for map
 * "verdicts" (by_class true) also its connections by class and state.
 * 0, or -1 with errno. */
int map_census(int map_fd, int by_class, struct map_census *out);

#endif
