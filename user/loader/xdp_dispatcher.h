/* SPDX-License-Identifier: MIT */
/* The sampler as one program of libxdp's multi-program dispatcher, the way
 * XDP programs share an interface's XDP hook (xdp-filter, xdp-loader and
 * anything else built on libxdp). libxdp attaches one XDP program, the
 * dispatcher, which calls each member in turn as an freplace extension
 * (BPF_PROG_TYPE_EXT), ordered by run priority, and goes on to the next one
 * after the actions each member names (both from its .xdp_run_config). It
 * pins the members' links under its bpffs folder (/sys/fs/bpf/xdp, or
 * $LIBXDP_BPFFS/xdp), so a member stays in the chain, whatever happens to
 * the process that added it, until someone removes it.
 *
 * Modes here are XDP_FLAGS_DRV_MODE (native), XDP_FLAGS_SKB_MODE (generic),
 * or 0: libxdp's own enum names clash with the loader's. Errors: -1 with one
 * line in err. Used by the loader only (sampler_attach.c, xdp_loader.c). */
#ifndef ODEFLOW_XDP_DISPATCHER_H
#define ODEFLOW_XDP_DISPATCHER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

struct bpf_object;
struct dispatched;

/* 1 when this kernel runs the dispatcher, 0 when it does not (why: the
 * reason, one line). The check libxdp itself makes first, made with
 * libxdp's own object: load an freplace extension of an XDP program and
 * attach it. Cached for the process. */
int dispatcher_supported(char *why, size_t len);

/* Is libxdp's dispatcher at ifindex's XDP hook? Then *mode is its mode. */
bool dispatcher_present(int ifindex, __u32 *mode);

/* Adds program prog_name of obj to the dispatcher at ifindex, or creates a
 * dispatcher holding it when the hook is free. obj is opened, not loaded:
 * libxdp loads it, as an extension of its dispatcher. mode 0: the
 * dispatcher's, or on a free hook native, else generic; *got: the mode.
 * Returns 0; -1 on error; 1 when libxdp attached the program on its own
 * instead, without a dispatcher: it is detached again, nothing changed,
 * err says why. */
int dispatcher_add(struct bpf_object *obj, const char *prog_name, int ifindex, __u32 mode,
		   __u32 *got, struct dispatched **out, char *err, size_t errlen);

/* The member's program (an extension: it runs only inside a dispatcher). */
int dispatched_prog_fd(const struct dispatched *d);

/* Takes the member out of the dispatcher (libxdp detaches the dispatcher
 * with its last member) and frees d, even on failure. */
int dispatcher_remove(struct dispatched *d, char *err, size_t errlen);

/* Frees d; the member stays in the dispatcher. */
void dispatched_free(struct dispatched *d);

/* The ids of the members of ifindex's dispatcher that use the map with id
 * map_id (a sampler that a --keep run, or a killed one, left there), at
 * most max of them; returns how many. */
int dispatcher_members_using(int ifindex, __u32 map_id, __u32 *ids, int max);

/* Takes member `id` out of ifindex's dispatcher. */
int dispatcher_remove_id(int ifindex, __u32 id, char *err, size_t errlen);

#endif
