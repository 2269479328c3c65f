/* SPDX-License-Identifier: MIT */
/* Attaching an opened sampler (xdp_loader.h) to an interface, taking over
 * what a --keep run left there, and detaching it. */
#ifndef ODEFLOW_SAMPLER_ATTACH_H
#define ODEFLOW_SAMPLER_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "xdp_loader.h"

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

#endif
