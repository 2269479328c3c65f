/* SPDX-License-Identifier: MIT */
/* Configuring and loading the XDP sampler (bpf/odeflow.bpf.c) with its
 * maps, pinned and reused. The rest of the loader's API, by job:
 * sampler_attach.h attaches it to an interface (at XDP: in libxdp's
 * multi-program dispatcher where the kernel runs one, else through a BPF
 * link; or at TC ingress through a tcx link), pin_dir.h keeps and removes
 * its pins and opens them for the operator tools, map_ops.h reads and
 * writes the maps at run time.
 *
 *     struct xdp_options o = XDP_OPTIONS_DEFAULT;
 *     struct xdp_sampler *s;
 *     if (xdp_sampler_open(&o, &s, err, sizeof(err)))   // loads, pins maps
 *             die(err);
 *     xdp_sampler_attach(s, ifindex, XDP_MODE_AUTO, 0, &got, err, sizeof(err));
 *     ... read s's "windows" ring, write "verdicts" (map_ops.h) ...
 *     xdp_sampler_close(s);                             // detaches unless pinned
 *
 * Errors: functions return -1 (or NULL) and write one line naming what is
 * wrong into err; a load refused by the verifier adds the tail of its log on
 * the following lines. Nothing stays attached after a failure. */
#ifndef ODEFLOW_XDP_LOADER_H
#define ODEFLOW_XDP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "odeflow.h"

#define XDP_DEFAULT_PIN_DIR "/sys/fs/bpf/odeflow"
/* A pin dir's path is shorter than this, leaving room for a pin's name
 * within PATH_MAX (a plain number: option help quotes it). */
#define XDP_PIN_DIR_MAX 4000
#define XDP_DEFAULT_RING_BYTES (8u << 20)
/* The longest --verdict-idle: a week. */
#define XDP_MAX_VERDICT_IDLE_NS (7ull * 24 * 3600 * NSEC_PER_SEC)

/* Where the sampler sees what arrives. XDP sees frames before the kernel
 * builds an skb and owns the interface's XDP hook; TC ingress through a tcx
 * link (kernel 6.6 and later) runs after the skb is built, beside any other
 * tcx or tc program on that interface: the kernel chains them. What leaves
 * an interface is seen at TC egress through a tcx link, whichever the
 * ingress hook. */
enum xdp_hook {
	XDP_HOOK_XDP,
	XDP_HOOK_TCX,
};

struct xdp_options {
	enum xdp_hook hook;     /* which entry point loads for ingress */
	unsigned directions;    /* enum port_hooks: PORT_INGRESS, PORT_EGRESS or both */
	unsigned window_n;      /* N, packets per window: 2..64 */
	unsigned skip;          /* packets of a direction before its first window: 0..ODEFLOW_MAX_SKIP */
	uint64_t resample_after_ns; /* see ODEFLOW_RESAMPLE_AFTER_NS */
	uint64_t verdict_idle_ns; /* see ODEFLOW_VERDICT_IDLE_NS; 0: verdicts never expire */
	unsigned flow_capacity; /* entries of "flows" (directions being sampled); "verdicts"
				 * holds ODEFLOW_VERDICTS_PER_FLOW times as many connections */
	unsigned ring_bytes;    /* size of "windows": a power of two, at least one page */
	const char *pin_dir;    /* where maps are pinned and reused; NULL: do not pin */
	double teach_rate;      /* --teach: share of connections (0..1) whose first packets
				 * are copied into "teach"; 0: none, and no cost */
};

#define XDP_OPTIONS_DEFAULT                                                       \
	((struct xdp_options){ .hook = XDP_HOOK_XDP,                              \
			       .directions = PORT_INGRESS | PORT_EGRESS,          \
			       .window_n = ODEFLOW_DEFAULT_WINDOW,                \
			       .resample_after_ns = ODEFLOW_RESAMPLE_AFTER_NS,    \
			       .verdict_idle_ns = ODEFLOW_VERDICT_IDLE_NS,        \
			       .flow_capacity = ODEFLOW_DEFAULT_FLOWS,            \
			       .ring_bytes = XDP_DEFAULT_RING_BYTES,              \
			       .pin_dir = XDP_DEFAULT_PIN_DIR })

enum xdp_mode {
	XDP_MODE_AUTO,    /* native if the driver has it, else generic */
	XDP_MODE_NATIVE,  /* in the driver, before the kernel allocates an skb */
	XDP_MODE_GENERIC, /* after the skb is built: works everywhere, slower */
};

/* The maps, by the names they are pinned under. */
enum xdp_map {
	XDP_MAP_FLOWS,
	XDP_MAP_WINDOWS,
	XDP_MAP_VERDICTS,
	XDP_MAP_POLICY,
	XDP_MAP_RATE_BUCKETS,
	XDP_MAP_COUNTERS,
	XDP_MAP_AGENT,
	XDP_MAP_WAKEUP,
	XDP_MAP_CLASS_ACTIONS,
	XDP_MAP_ACTIVE,
	XDP_MAP_PORTS,
	XDP_MAP_TEACH,
	XDP_MAP_TEACH_INFO,
	XDP_MAP_MODEL_LOAD,
	XDP_MAP_COUNT
};

struct xdp_sampler;

/* Connections "verdicts" holds with these options. */
unsigned xdp_verdict_capacity(const struct xdp_options *o);

/* About how much kernel memory the maps of these options take (flows and
 * verdicts are preallocated, the ring is fixed). xdp_sampler_open refuses
 * options that need more than half of the memory available. */
uint64_t xdp_maps_bytes(const struct xdp_options *o);

/* Opens and loads the program with these options. With a pin dir, maps
 * already pinned there are reused (a restarted agent keeps its verdicts and
 * policy) and new ones are pinned; bpffs is mounted on /sys/fs/bpf if it is
 * not there yet. */
int xdp_sampler_open(const struct xdp_options *opts, struct xdp_sampler **out,
		     char *err, size_t errlen);

/* Detaches (unless attached with XDP_ATTACH_KEEP) and frees. Pinned maps
 * stay. */
void xdp_sampler_close(struct xdp_sampler *s);

/* The loaded ingress program; once attached through libxdp's dispatcher,
 * the copy that runs at the first interface (an extension, which
 * bpf_prog_test_run does not take). -1 when not loaded. */
int xdp_sampler_prog_fd(const struct xdp_sampler *s);
/* The loaded TC egress program; -1 when not loaded. */
int xdp_sampler_egress_prog_fd(const struct xdp_sampler *s);
int xdp_sampler_map_fd(const struct xdp_sampler *s, enum xdp_map map);

/* --teach: the seed and bound the program samples connections with
 * (bpf/teach_sample.h), so userspace knows which ones it sends. */
void xdp_sampler_teach(const struct xdp_sampler *s, uint64_t *seed, uint64_t *below);

const char *xdp_map_name(enum xdp_map map);
const char *xdp_mode_name(enum xdp_mode mode);
const char *xdp_hook_name(enum xdp_hook hook);
/* "packets", "ring_drops", ...: the names `odeflow stats` prints. */
const char *xdp_counter_name(enum counter c);

#endif
