// SPDX-License-Identifier: MIT
/* Attaching the sampler, taking over what a --keep run left; see
 * sampler_attach.h. */
#include "sampler_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/log.h"
#include "lib_messages.h"
#include "prog_maps.h"
#include "sampler.h"
#include "verifier_log.h"
#include "xdp_dispatcher.h"

/* enum bpf_attach_type and enum bpf_link_type values of kernel 6.6, which
 * Debian 12's <linux/bpf.h> (6.1) predates. */
#define ATTACH_TCX_INGRESS 46
#define LINK_TYPE_XDP 6
#define LINK_TYPE_TCX 11
/* Samplers of one pin dir that a start may find in a dispatcher: one kept,
 * and one more if a takeover was cut short. */
#define MAX_KEPT 4

const char *xdp_attachment_name(enum xdp_attachment a)
{
	switch (a) {
	case XDP_VIA_LINK:
		return "xdp";
	case XDP_VIA_DISPATCHER:
		return "libxdp";
	case XDP_VIA_TCX:
		return "tcx";
	}
	return "?";
}

static int link_create(int prog_fd, int ifindex, enum xdp_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts,
		    .flags = mode == XDP_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);

	return bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
}

/* Appended after the programs already at the interface's tcx ingress. */
static int tcx_link_create(int prog_fd, int ifindex)
{
	return bpf_link_create(prog_fd, ifindex, ATTACH_TCX_INGRESS, NULL);
}

static __u32 link_type(int link_fd)
{
	struct bpf_link_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(link_fd, &info, &len) ? 0 : info.type;
}

/* Makes this sampler the program that works on ifindex while two are
 * attached there (struct active_instance); with me false, no one in
 * particular: every program works. */
static int set_active(struct xdp_sampler *s, int ifindex, bool me)
{
	struct active_instance a = { .instance = me ? s->rodata.instance : 0,
				     .ifindex = (__u32)ifindex };
	__u32 zero = 0;

	if (bpf_map_update_elem(xdp_sampler_map_fd(s, XDP_MAP_ACTIVE), &zero, &a, BPF_ANY))
		return -1;
	return 0;
}

static void note_not_shared(struct xdp_sampler *s, const char *ifname, const char *why)
{
	snprintf(s->note, sizeof(s->note), "the XDP hook of %s is not shared: %s; --hook tcx"
		 " shares TC ingress on kernel 6.6 and later", ifname, why);
}

/* A previous run with --keep left its link pinned as PIN_DIR/link_IFNAME:
 * swap our program into that link, so the interface is never without the
 * sampler and the kept maps (reused at open) go on being enforced. Returns
 * 1 when there is no kept link, -1 (err set) when it is at the other hook. */
static int take_over_kept_link(struct xdp_sampler *s, int ifindex, const char *ifname,
			       char *err, size_t errlen)
{
	__u32 want = s->hook == XDP_HOOK_TCX ? LINK_TYPE_TCX : LINK_TYPE_XDP;
	char path[PATH_MAX], why[256];
	int fd;

	if (!s->pin_dir[0] ||
	    snprintf(path, sizeof(path), "%s/link_%s", s->pin_dir, ifname) >= (int)sizeof(path))
		return 1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 1;
	if (link_type(fd) != want) {
		errmsg(err, errlen, "the link kept at %s is not at the %s hook asked for: run with"
		       " the --hook it was kept with, or remove it", path, xdp_hook_name(s->hook));
		close(fd);
		return -1;
	}
	/* a link holds one program at a time: no one need stand aside; its
	 * agent is gone (xdp_sampler_open holds the pin dir's lock) */
	if (set_active(s, ifindex, false) || bpf_link_update(fd, xdp_sampler_prog_fd(s), NULL)) {
		close(fd);
		return 1;
	}
	if (set_active(s, ifindex, true))
		log_line(LOG_LEVEL_WARNING, "writing map active: %s", strerror(errno));
	snprintf(s->link_pin, sizeof(s->link_pin), "%s", path);
	s->link_fd = fd;
	s->took_over = true;
	if (s->hook == XDP_HOOK_XDP) {
		if (dispatcher_supported(why, sizeof(why)))
			snprintf(why, sizeof(why), "this run took over the link a --keep run left");
		note_not_shared(s, ifname, why);
	}
	return 0;
}

/* The mode a kept link was attached in: it keeps it when it takes our
 * program, whatever mode we asked for. */
static enum xdp_mode kept_link_mode(int ifindex, enum xdp_mode asked)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return asked;
	if (q.attach_mode == XDP_ATTACHED_DRV)
		return XDP_MODE_NATIVE;
	if (q.attach_mode == XDP_ATTACHED_SKB)
		return XDP_MODE_GENERIC;
	return asked;
}

/* The program holding the interface's XDP hook: its id (0: none) and, in
 * what, "program 'NAME' (id N)" for the refusal; *flags, the mode it is
 * attached in, as bpf_xdp_detach takes it. */
static __u32 xdp_holder(int ifindex, char *what, size_t len, __u32 *flags)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_prog_info info = { 0 };
	__u32 info_len = sizeof(info), id;
	int fd;

	snprintf(what, len, "another program");
	if (bpf_xdp_query(ifindex, 0, &q) || !q.prog_id)
		return 0;
	id = q.prog_id;
	*flags = q.attach_mode == XDP_ATTACHED_DRV ? XDP_FLAGS_DRV_MODE
		 : q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE
						     : XDP_FLAGS_HW_MODE;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &info_len))
		snprintf(what, len, "program '%s' (id %u%s)", info.name, id,
			 strcmp(info.name, "xdp_dispatcher") ? "" : ", libxdp's dispatcher");
	else
		snprintf(what, len, "program id %u", id);
	if (fd >= 0)
		close(fd);
	return id;
}

/* --replace: detaches the program another tool attached through netlink
 * (ip link, xdp-loader), so our link can take the hook. A program attached
 * through a BPF link belongs to the process holding it: the kernel refuses
 * (EBUSY), and so do we. */
static int replace_xdp_holder(int ifindex, const char *ifname, char *err, size_t errlen)
{
	char what[96];
	__u32 flags = 0;

	if (!xdp_holder(ifindex, what, sizeof(what), &flags))
		return 0;
	if (bpf_xdp_detach(ifindex, flags, NULL))
		return errmsg(err, errlen, "--replace: detaching %s from %s: %s%s", what, ifname,
			      strerror(errno),
			      errno == EBUSY ? " (attached through a BPF link: stop the process that"
			      " holds it, or remove its pin)" : "");
	return 0;
}

/* Makes room at the XDP hook: a free hook, or libxdp's dispatcher when we
 * may join it, needs nothing; any other program is refused with its name,
 * or with --replace detached. */
static int clear_xdp_hook(int ifindex, const char *ifname, bool may_join, unsigned flags,
			  char *err, size_t errlen)
{
	__u32 holder_flags, mode;
	char what[96];

	if (!xdp_holder(ifindex, what, sizeof(what), &holder_flags) ||
	    (may_join && dispatcher_present(ifindex, &mode)))
		return 0;
	if (flags & XDP_ATTACH_REPLACE)
		return replace_xdp_holder(ifindex, ifname, err, errlen);
	return errmsg(err, errlen, "the XDP hook of %s holds %s: %srun beside it with --hook tcx,"
		      " or take its place with --replace", ifname, what,
		      may_join ? "load it through libxdp (xdp-loader) to share the hook, " : "");
}

bool xdp_sampler_took_over(const struct xdp_sampler *s)
{
	return s->took_over;
}

/* A second copy of the program for libxdp, which loads it itself (as an
 * extension of its dispatcher): the same read-only data, the maps of the
 * first, only the XDP entry point. */
static struct odeflow_bpf *open_extension(const struct xdp_sampler *s)
{
	struct odeflow_bpf *ext;
	struct bpf_map *m;

	lib_messages_capture();
	ext = odeflow_bpf__open();
	lib_messages_restore();
	if (!ext)
		return NULL;
	*ext->rodata = s->rodata;
	if (bpf_program__set_autoload(ext->progs.odeflow_tc, false))
		goto fail;
	bpf_object__for_each_map(m, ext->obj)
		if (!bpf_map__is_internal(m) &&
		    bpf_map__reuse_fd(m, bpf_map__fd(bpf_object__find_map_by_name(
						 s->skel->obj, bpf_map__name(m)))))
			goto fail;
	return ext;
fail:
	odeflow_bpf__destroy(ext);
	return NULL;
}

/* Into libxdp's dispatcher at ifindex (a new one when the hook is free).
 * What a --keep run of this pin dir left there is replaced: the new copy
 * joins standing aside (the kept one is "active"), becomes active, then
 * the kept one is taken out. Returns 1 when libxdp attached the program
 * alone after all (err says why; nothing changed). */
static int attach_to_dispatcher(struct xdp_sampler *s, int ifindex, enum xdp_mode mode,
				char *err, size_t errlen)
{
	__u32 kept[MAX_KEPT], got, want = mode == XDP_MODE_NATIVE    ? XDP_FLAGS_DRV_MODE
					 : mode == XDP_MODE_GENERIC ? XDP_FLAGS_SKB_MODE
								    : 0;
	int nkept = 0, ret = -1;
	char *log = NULL, why[ERRMSG_LEN];

	if (s->pin_dir[0])
		nkept = dispatcher_members_using(
			ifindex, map_id_of(xdp_sampler_map_fd(s, XDP_MAP_VERDICTS)), kept, MAX_KEPT);
	s->ext = open_extension(s);
	log = calloc(1, VERIFIER_LOG_BYTES);
	if (!s->ext || !log) {
		errmsg(err, errlen, "preparing the program for libxdp: %s", strerror(errno));
		goto out;
	}
	bpf_program__set_log_buf(s->ext->progs.odeflow_xdp, log, VERIFIER_LOG_BYTES);
	if (!nkept && set_active(s, ifindex, true)) {
		errmsg(err, errlen, "writing map active: %s", strerror(errno));
		goto out;
	}
	ret = dispatcher_add(s->ext->obj, bpf_program__name(s->ext->progs.odeflow_xdp), ifindex,
			     want, &got, &s->dispatched, err, errlen);
	if (ret < 0)
		verifier_log_tail(err, errlen, log, VERIFIER_LOG_TAIL_LINES);
	if (ret)
		goto out;
	s->mode = got == XDP_FLAGS_SKB_MODE ? XDP_MODE_GENERIC : XDP_MODE_NATIVE;
	if (nkept) {
		s->took_over = true;
		if (set_active(s, ifindex, true))
			log_line(LOG_LEVEL_WARNING, "writing map active: %s", strerror(errno));
		for (int i = 0; i < nkept; i++)
			if (dispatcher_remove_id(ifindex, kept[i], why, sizeof(why)))
				log_line(LOG_LEVEL_WARNING, "%s (it stands aside: harmless)", why);
	}
out:
	free(log);
	if (ret) {
		odeflow_bpf__destroy(s->ext);
		s->ext = NULL;
	}
	return ret;
}

/* At the XDP hook, through libxdp's dispatcher where the kernel runs it.
 * Returns 0 when in the dispatcher, 1 when the hook is free (or cleared)
 * for a link of our own (s->note says why), -1 on error. */
static int share_xdp_hook(struct xdp_sampler *s, int ifindex, const char *ifname,
			  enum xdp_mode mode, unsigned flags, char *err, size_t errlen)
{
	char why[ERRMSG_LEN], reason[384];
	int ret = dispatcher_supported(reason, sizeof(reason));

	if (clear_xdp_hook(ifindex, ifname, ret, flags, err, errlen))
		return -1;
	if (ret) {
		ret = attach_to_dispatcher(s, ifindex, mode, why, sizeof(why));
		if (ret < 0)
			return errmsg(err, errlen, "joining libxdp's dispatcher on %s: %s", ifname, why);
		if (ret == 0)
			return 0;
		snprintf(reason, sizeof(reason), "%.300s", why); /* libxdp attached it alone */
	} else {
		snprintf(why, sizeof(why), "%s", reason);
		snprintf(reason, sizeof(reason), "no libxdp dispatcher (%.300s)", why);
	}
	note_not_shared(s, ifname, reason);
	return 1;
}

/* A new link at the sampler's hook; XDP in mode (auto: native, else generic). */
static int attach_new_link(struct xdp_sampler *s, int ifindex, const char *ifname,
			   enum xdp_mode mode, enum xdp_mode *got, char *err, size_t errlen)
{
	int fd, prog_fd = xdp_sampler_prog_fd(s);

	if (set_active(s, ifindex, true))
		return errmsg(err, errlen, "writing map active: %s", strerror(errno));
	if (s->hook == XDP_HOOK_TCX) {
		fd = tcx_link_create(prog_fd, ifindex);
		if (fd < 0)
			errmsg(err, errlen, "attaching at tc ingress (tcx) of %s: %s%s", ifname,
			       strerror(errno),
			       errno == EINVAL ? " (tcx needs kernel 6.6 or later)" : "");
		return fd;
	}
	*got = mode == XDP_MODE_AUTO ? XDP_MODE_NATIVE : mode;
	fd = link_create(prog_fd, ifindex, *got);
	if (fd < 0 && mode == XDP_MODE_AUTO) {
		*got = XDP_MODE_GENERIC; /* the driver has no native XDP */
		fd = link_create(prog_fd, ifindex, *got);
	}
	if (fd < 0)
		errmsg(err, errlen, "attaching XDP (%s) to %s: %s%s", xdp_mode_name(*got), ifname,
		       strerror(errno), errno == EBUSY || errno == EEXIST ?
		       " (another XDP program is attached)" : "");
	return fd;
}

int xdp_sampler_attach(struct xdp_sampler *s, int ifindex, enum xdp_mode mode, unsigned flags,
		       enum xdp_mode *got, char *err, size_t errlen)
{
	char ifname[IF_NAMESIZE] = "?";
	int fd, ret;

	err[0] = '\0';
	if (!if_indextoname(ifindex, ifname))
		return errmsg(err, errlen, "no interface with index %d", ifindex);
	if (s->link_fd >= 0 || s->dispatched)
		return errmsg(err, errlen, "the sampler is already attached");
	if ((flags & XDP_ATTACH_KEEP) && !s->pin_dir[0])
		return errmsg(err, errlen, "keeping the sampler attached to %s needs a pin dir",
			      ifname);
	s->keep = flags & XDP_ATTACH_KEEP;
	s->note[0] = '\0';
	*got = mode;
	ret = take_over_kept_link(s, ifindex, ifname, err, errlen);
	if (ret == 0 && s->hook == XDP_HOOK_XDP)
		*got = s->mode = kept_link_mode(ifindex, mode);
	if (ret <= 0)
		return ret;
	if (s->hook == XDP_HOOK_XDP) {
		ret = share_xdp_hook(s, ifindex, ifname, mode, flags, err, errlen);
		if (ret == 0)
			*got = s->mode;
		if (ret <= 0)
			return ret;
	}
	fd = attach_new_link(s, ifindex, ifname, mode, got, err, errlen);
	if (fd < 0)
		return -1;
	s->mode = *got;
	if (s->keep) {
		if (snprintf(s->link_pin, sizeof(s->link_pin), "%s/link_%s", s->pin_dir, ifname) >=
			    (int)sizeof(s->link_pin) ||
		    bpf_obj_pin(fd, s->link_pin)) {
			errmsg(err, errlen, "pinning the link as %s: %s", s->link_pin,
			       strerror(errno));
			s->link_pin[0] = '\0';
			close(fd);
			return -1;
		}
	}
	s->link_fd = fd;
	return 0;
}

enum xdp_attachment xdp_sampler_attachment(const struct xdp_sampler *s)
{
	return s->dispatched ? XDP_VIA_DISPATCHER : s->hook == XDP_HOOK_TCX ? XDP_VIA_TCX
									     : XDP_VIA_LINK;
}

void xdp_sampler_describe(const struct xdp_sampler *s, char *buf, size_t len)
{
	if (s->hook == XDP_HOOK_TCX)
		snprintf(buf, len, "at tc ingress (tcx)");
	else
		snprintf(buf, len, "in %s XDP mode%s", xdp_mode_name(s->mode),
			 s->dispatched ? ", in libxdp's dispatcher" : "");
}

const char *xdp_sampler_note(const struct xdp_sampler *s)
{
	return s->note;
}

int xdp_sampler_detach(struct xdp_sampler *s, char *err, size_t errlen)
{
	if (s->dispatched) {
		int ret = dispatcher_remove(s->dispatched, err, errlen);

		s->dispatched = NULL;
		odeflow_bpf__destroy(s->ext);
		s->ext = NULL;
		return ret;
	}
	if (s->link_fd < 0)
		return errmsg(err, errlen, "the sampler is not attached");
	if (s->link_pin[0] && unlink(s->link_pin) && errno != ENOENT)
		return errmsg(err, errlen, "removing %s: %s", s->link_pin, strerror(errno));
	s->link_pin[0] = '\0';
	close(s->link_fd);
	s->link_fd = -1;
	return 0;
}
