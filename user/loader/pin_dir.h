/* SPDX-License-Identifier: MIT */
/* The pin directory: removing what a sampler (xdp_loader.h) pinned there,
 * by name, and opening its pinned maps for the tools that do not load.
 * Making and checking it is part of xdp_sampler_open. */
#ifndef ODEFLOW_PIN_DIR_H
#define ODEFLOW_PIN_DIR_H

#include <stdbool.h>
#include <stddef.h>

#include "xdp_loader.h"

/* Removes this sampler's map pins, by name, and nothing else: all of them
 * (a run that used them ends), or only those it pinned itself rather than
 * reused (a start that failed leaves a --keep run's state alone). The pin
 * dir goes too if this sampler made it and it is now empty. Call before
 * xdp_sampler_close. */
int xdp_sampler_unpin(struct xdp_sampler *s, bool all, char *err, size_t errlen);

/* Removes odeflow's map pins under pin_dir by name, the link pinned for
 * ifname (if not NULL: a pinned link detaches when its pin goes and no
 * process holds it), and the folder if that leaves it empty. Pins of other
 * programs stay, and so does a sampler kept in libxdp's dispatcher
 * (`xdp-loader unload IF --id ID` removes it). */
int xdp_unpin(const char *pin_dir, const char *ifname, char *err, size_t errlen);

/* Opens a map pinned by a running agent, for tools that do not load. A map
 * whose type, key or value size is not what this build reads (pinned by
 * another version of odeflow) is refused with an error that says so. */
int xdp_open_pinned_map(const char *pin_dir, enum xdp_map map, char *err, size_t errlen);

#endif
