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
	 * process exits: its links pinned as PIN_DIR/link_IFNAME (ingress) and
	 * PIN_DIR/link_IFNAME:egress, or its place
	 * in libxdp's dispatcher left (libxdp pins it). The next attach with
	 * the same pin dir takes its place; xdp_sampler_detach removes it. */
	XDP_ATTACH_KEEP = 1,
	/* XDP hook: detach another program attached there through netlink
	 * (ip link, xdp-loader) instead of refusing. */
	XDP_ATTACH_REPLACE = 2,
};

/* How the sampler is attached at ingress. */
enum xdp_attachment {
	XDP_VIA_LINK,       /* its own BPF link at the XDP hook, which it holds alone */
	XDP_VIA_DISPATCHER, /* a program of libxdp's dispatcher at the XDP hook */
	XDP_VIA_TCX,        /* a tcx link at TC ingress */
};

/* Attaches to one more interface, ifindex, at the hooks the sampler was
 * opened for (its directions: the ingress hook, tc egress, or both); *got
 * says which XDP mode it runs in (mode is ignored at tcx). Every interface
 * shares the sampler's maps: the program learns where it is attached from
 * map "ports".
 *
 * At XDP: where the kernel runs libxdp's dispatcher, the sampler joins the
 * one at the hook or creates one (it shares the hook with xdp-filter and
 * other libxdp programs; in the mode of a dispatcher already there, an
 * explicit other mode is refused); elsewhere (no freplace programs, or
 * LIBXDP_SKIP_DISPATCHER=1) it attaches through its own BPF link, and
 * xdp_sampler_note says why the hook is not shared. A hook held by a
 * program that is not a dispatcher is refused with its name and id,
 * unless flags ask to replace it. At tc egress, a kernel without tcx
 * (before 6.6) leaves egress unseen when ingress is asked for too:
 * xdp_sampler_egress_note says so, once.
 *
 * What a --keep run left for this pin dir (a pinned link, or its program
 * in the dispatcher) is taken over, without a packet going through both
 * programs or through neither. On failure nothing stays attached to
 * ifindex; the other interfaces keep their attachments. */
int xdp_sampler_attach(struct xdp_sampler *s, int ifindex, enum xdp_mode mode, unsigned flags,
		       enum xdp_mode *got, char *err, size_t errlen);

/* An interface the sampler is attached to. */
struct xdp_port_info {
	int ifindex;
	char name[16];           /* IF_NAMESIZE, as it was named when attached */
	unsigned hooks;          /* enum port_hooks */
};

/* The interfaces it is attached to, at most max, in the order attached;
 * returns how many. */
int xdp_sampler_ports(const struct xdp_sampler *s, struct xdp_port_info *out, int max);

/* How the first interface's ingress is attached. */
enum xdp_attachment xdp_sampler_attachment(const struct xdp_sampler *s);
/* "xdp", "libxdp" or "tcx": the attachment's name in status lines,
 * `odeflow stats` and /metrics. */
const char *xdp_attachment_name(enum xdp_attachment a);
/* Where the sampler runs on the interface attached last, for a status line
 * ("in native XDP mode, in libxdp's dispatcher, and at tc egress (tcx)"). */
void xdp_sampler_describe(const struct xdp_sampler *s, char *buf, size_t len);
/* One line saying why the XDP hook is not shared, when the last attach
 * took it alone; "" otherwise. */
const char *xdp_sampler_note(const struct xdp_sampler *s);
/* One line saying that egress is not seen (no tcx); "" otherwise. */
const char *xdp_sampler_egress_note(const struct xdp_sampler *s);

/* True when an attach took the place of what a --keep run left (then *got
 * is the mode that was attached in, not necessarily the one asked for). */
bool xdp_sampler_took_over(const struct xdp_sampler *s);

/* Detaches the sampler from one interface (kept or not), or from all it is
 * on (none: nothing to do). An interface that went away has lost its
 * attachments already: this lets go of what is left of them. */
int xdp_sampler_detach_port(struct xdp_sampler *s, int ifindex, char *err, size_t errlen);
int xdp_sampler_detach(struct xdp_sampler *s, char *err, size_t errlen);

#endif
