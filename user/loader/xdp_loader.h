/* SPDX-License-Identifier: MIT */
/* Loading the XDP sampler (bpf/odeflow.bpf.c), pinning its maps, attaching
 * it to an interface (at XDP: in libxdp's multi-program dispatcher where the
 * kernel runs one, else through a BPF link; or at TC ingress through a tcx
 * link), and the small map helpers the agent and the operator tools share.
 *
 *     struct xdp_options o = XDP_OPTIONS_DEFAULT;
 *     struct xdp_sampler *s;
 *     if (xdp_sampler_open(&o, &s, err, sizeof(err)))   // loads, pins maps
 *             die(err);
 *     xdp_sampler_attach(s, ifindex, XDP_MODE_AUTO, 0, &got, err, sizeof(err));
 *     ... read s's "windows" ring, write "verdicts" ...
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
#define XDP_DEFAULT_RING_BYTES (8u << 20)

/* Where the sampler runs. XDP sees frames before the kernel builds an skb
 * and owns the interface's XDP hook; TC ingress through a tcx link (kernel
 * 6.6 and later) runs after the skb is built, beside any other tcx or tc
 * program on that interface: the kernel chains them. */
enum xdp_hook {
	XDP_HOOK_XDP,
	XDP_HOOK_TCX,
};

struct xdp_options {
	enum xdp_hook hook;     /* which entry point loads */
	unsigned window_n;      /* N, packets per window: 2..64 */
	unsigned skip;          /* packets of a direction before its first window: 0..ODEFLOW_MAX_SKIP */
	uint64_t resample_after_ns; /* see ODEFLOW_RESAMPLE_AFTER_NS */
	unsigned flow_capacity; /* entries of "flows" (directions) and "verdicts" (connections) */
	unsigned ring_bytes;    /* size of "windows": a power of two, at least one page */
	const char *pin_dir;    /* where maps are pinned and reused; NULL: do not pin */
};

#define XDP_OPTIONS_DEFAULT                                                       \
	((struct xdp_options){ .hook = XDP_HOOK_XDP,                              \
			       .window_n = ODEFLOW_DEFAULT_WINDOW,                \
			       .resample_after_ns = ODEFLOW_RESAMPLE_AFTER_NS,    \
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
	XDP_MAP_COUNT
};

struct xdp_sampler;

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

/* The loaded program; once attached through libxdp's dispatcher, the copy
 * that runs there (an extension, which bpf_prog_test_run does not take). */
int xdp_sampler_prog_fd(const struct xdp_sampler *s);
int xdp_sampler_map_fd(const struct xdp_sampler *s, enum xdp_map map);

enum xdp_attach_flags {
	/* The program stays attached after the sampler is closed or its
	 * process exits: its link pinned as PIN_DIR/link_IFNAME, or its place
	 * in libxdp's dispatcher left (libxdp pins it). The next attach with
	 * the same pin dir takes its place; xdp_sampler_detach removes it. */
	XDP_ATTACH_KEEP = 1,
	/* XDP hook: detach another program attached there through netlink
	 * (ip link, xdp-loader) instead of refusing. */
	XDP_ATTACH_REPLACE = 2,
};

/* How the sampler is attached. */
enum xdp_attachment {
	XDP_VIA_LINK,       /* its own BPF link at the XDP hook, which it holds alone */
	XDP_VIA_DISPATCHER, /* a program of libxdp's dispatcher at the XDP hook */
	XDP_VIA_TCX,        /* a tcx link at TC ingress */
};

/* Attaches to ifindex at the hook the sampler was opened for; *got says
 * which XDP mode it runs in (mode is ignored at tcx).
 *
 * At XDP: where the kernel runs libxdp's dispatcher, the sampler joins the
 * one at the hook or creates one (it shares the hook with xdp-filter and
 * other libxdp programs; in the mode of a dispatcher already there, an
 * explicit other mode is refused); elsewhere (no freplace programs, or
 * LIBXDP_SKIP_DISPATCHER=1) it attaches through its own BPF link, and
 * xdp_sampler_note says why the hook is not shared. A hook held by a
 * program that is not a dispatcher is refused with its name and id,
 * unless flags ask to replace it.
 *
 * What a --keep run left for this pin dir (a pinned link, or its program
 * in the dispatcher) is taken over, without a packet going through both
 * programs or through neither, unless the agent that published in these
 * maps still runs: then this is refused. */
int xdp_sampler_attach(struct xdp_sampler *s, int ifindex, enum xdp_mode mode, unsigned flags,
		       enum xdp_mode *got, char *err, size_t errlen);

enum xdp_attachment xdp_sampler_attachment(const struct xdp_sampler *s);
/* "xdp", "libxdp" or "tcx": the attachment's name in status lines,
 * `odeflow stats` and /metrics. */
const char *xdp_attachment_name(enum xdp_attachment a);
/* Where the attached sampler runs, for a status line ("in native XDP mode,
 * in libxdp's dispatcher"). */
void xdp_sampler_describe(const struct xdp_sampler *s, char *buf, size_t len);
/* One line saying why the XDP hook is not shared, when attach took it
 * alone; "" otherwise. */
const char *xdp_sampler_note(const struct xdp_sampler *s);

/* True when attach took the place of what a --keep run left (then *got is
 * the mode that was attached in, not necessarily the one asked for). */
bool xdp_sampler_took_over(const struct xdp_sampler *s);

/* Detaches what this sampler attached (kept or not). */
int xdp_sampler_detach(struct xdp_sampler *s, char *err, size_t errlen);

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

/* Is the agent that published this agent_info (its pid) still running? */
bool xdp_agent_alive(const struct agent_info *a);

/* Opens a map pinned by a running agent, for tools that do not load. A map
 * whose type, key or value size is not what this build reads (pinned by
 * another version of odeflow) is refused with an error that says so. */
int xdp_open_pinned_map(const char *pin_dir, enum xdp_map map, char *err, size_t errlen);

const char *xdp_map_name(enum xdp_map map);
const char *xdp_mode_name(enum xdp_mode mode);
const char *xdp_hook_name(enum xdp_hook hook);
/* "packets", "ring_drops", ...: the names `odeflow stats` prints. */
const char *xdp_counter_name(enum counter c);

/* Sums each per-CPU counter over the CPUs. */
int xdp_read_counters(int counters_fd, uint64_t out[CNT_MAX]);

/* Packets and bytes of classified connections by class and what the policy
 * did (map "class_actions"), summed over the CPUs:
 * out[class * OUTCOME_COUNT + outcome]. */
int xdp_read_class_actions(int class_actions_fd, struct class_traffic out[ODEFLOW_CLASS_ACTIONS]);

/* Writes one class's policy and resets its rate-limit bucket to full. */
int xdp_set_policy(int policy_fd, int rate_buckets_fd, unsigned class_id, const struct policy *p);

/* Asks for the next window of a direction (the cascade's "not sure yet"):
 * count 0, window + 1, sampling again. -1 with errno ENOENT if the direction
 * is no longer in "flows" (evicted). */
int xdp_rearm(int flows_fd, const struct flow_key *direction);

#endif
