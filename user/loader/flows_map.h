/* SPDX-License-Identifier: MIT */
/* The "flows" map sized by the window length N. Its values are a
 * struct flow_state head followed by N slots (FLOW_STATE_BYTES(N)), a size
 * C cannot declare, so the map is created here, with BTF built at run time
 * that names the head's fields and the two slot arrays (bpftool prints
 * them), and handed to the object before it loads. */
#ifndef ODEFLOW_FLOWS_MAP_H
#define ODEFLOW_FLOWS_MAP_H

#include <bpf/libbpf.h>

/* Replaces obj's map "flows" (declared with the head as its value) by one
 * whose values hold window_n slots. A map pinned at the map's pin path is
 * still reused at load if it has the same sizes. Returns 0 or -errno. */
int flows_map_replace(struct bpf_object *obj, struct bpf_map *flows, unsigned window_n,
		      unsigned capacity);

#endif
