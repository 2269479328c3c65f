/* SPDX-License-Identifier: MIT */
/* `odeflow detach`: removing what an agent run with --keep (or killed)
 * left on an interface, so that nothing of odeflow's enforces there any
 * more: the sampler's link pinned as PIN_DIR/link_IF (at the XDP hook or
 * at tcx), its place in libxdp's dispatcher, and the pinned maps. */
#ifndef ODEFLOW_DETACH_H
#define ODEFLOW_DETACH_H

#include <stddef.h>

/* Detaches the sampler that uses the maps of pin_dir from ifname (NULL:
 * the interface its agent published) and removes the pins; refused while
 * that agent runs (stopping it is how a running agent detaches). What was
 * removed, in one line, in said. 0, or -1 with one line in err. */
int xdp_detach_kept(const char *pin_dir, const char *ifname, char *said, size_t saidlen, char *err,
		    size_t errlen);

#endif
