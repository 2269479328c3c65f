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
#define ATTACH_TCX_EGRESS 47
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

/* Appended after the programs already at the interface's tcx hook. */
static int tcx_link_create(int prog_fd, int ifindex, bool egress)
{
	return bpf_link_create(prog_fd, ifindex, egress ? ATTACH_TCX_EGRESS : ATTACH_TCX_INGRESS,
			       NULL);
}

bool kernel_has_tcx(void)
{
	static const struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int prog_fd, link_fd, err;

	prog_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, NULL, "GPL", ret0, 2, NULL);
	if (prog_fd < 0)
		return true; /* cannot tell: the attach will say */
	/* interface 0 exists nowhere: a kernel with tcx looks for it (ENODEV),
	 * one without refuses the attach type itself (EINVAL) */
	link_fd = bpf_link_create(prog_fd, 0, ATTACH_TCX_EGRESS, NULL);
	err = link_fd < 0 ? errno : 0;
	if (link_fd >= 0)
		close(link_fd);
	close(prog_fd);
	return err != EINVAL;
}

static __u32 link_type(int link_fd)
{
	struct bpf_link_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(link_fd, &info, &len) ? 0 : info.type;
}

/* Makes the load of the program with this instance the one that works on
 * ifindex while two are attached there (struct active_instance); 0: no one
 * in particular, every program works. */
static int set_active(struct xdp_sampler *s, int ifindex, __u64 instance)
{
	struct active_instance a = { .instance = instance, .ifindex = (__u32)ifindex };
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

static const char *hook_where(const struct xdp_sampler *s, bool egress)
{
	return egress ? "tc egress" : s->hook == XDP_HOOK_TCX ? "tc ingress" : "XDP";
}

static int hook_prog_fd(const struct xdp_sampler *s, bool egress)
{
	return egress ? xdp_sampler_egress_prog_fd(s) : bpf_program__fd(s->prog);
}

/* A previous run with --keep left the link of this hook pinned
 * (xdp_link_pin_path): swap our program into that link, so the interface is
 * never without the sampler and the kept maps (reused at open) go on being
 * enforced. Returns 1 when there is no kept link, -1 (err set) when it is
 * at another hook. */
static int take_over_kept_link(struct xdp_sampler *s, struct sampler_port *p, bool egress,
			       char *err, size_t errlen)
{
	__u32 want = egress || s->hook == XDP_HOOK_TCX ? LINK_TYPE_TCX : LINK_TYPE_XDP;
	char path[PATH_MAX], why[256];
	int fd;

	if (!s->pin_dir[0] || xdp_link_pin_path(s->pin_dir, p->ifname, egress, path, sizeof(path)))
		return 1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 1;
	if (link_type(fd) != want) {
		errmsg(err, errlen, "the link kept at %s is not at the %s hook asked for: run with"
		       " the --hook it was kept with, or remove it", path,
		       egress ? "tc egress" : xdp_hook_name(s->hook));
		close(fd);
		return -1;
	}
	/* a link holds one program at a time: no one need stand aside; its
	 * agent is gone (xdp_sampler_open holds the pin dir's lock) */
	if (set_active(s, p->ifindex, 0) || bpf_link_update(fd, hook_prog_fd(s, egress), NULL)) {
		close(fd);
		return 1;
	}
	if (set_active(s, p->ifindex, s->rodata.instance))
		log_line(LOG_LEVEL_WARNING, "writing map active: %s", strerror(errno));
	snprintf(p->link_pin[egress], sizeof(p->link_pin[egress]), "%s", path);
	p->link_fd[egress] = fd;
	p->took_over = true;
	if (!egress && s->hook == XDP_HOOK_XDP) {
		if (dispatcher_supported(why, sizeof(why)))
			snprintf(why, sizeof(why), "this run took over the link a --keep run left");
		note_not_shared(s, p->ifname, why);
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
	for (int i = 0; i < s->nports; i++)
		if (s->ports[i].took_over)
			return true;
	return false;
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
	if (bpf_program__set_autoload(ext->progs.odeflow_tc, false) ||
	    bpf_program__set_autoload(ext->progs.odeflow_tc_egress, false))
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

/* Into libxdp's dispatcher at the port (a new one when the hook is free).
 * What a --keep run of this pin dir left there is replaced: the new copy
 * joins standing aside (the kept one is "active" there), becomes active,
 * then the kept one is taken out. Returns 1 when libxdp attached the
 * program alone after all (err says why; nothing changed). */
static int attach_to_dispatcher(struct xdp_sampler *s, struct sampler_port *p, enum xdp_mode mode,
				char *err, size_t errlen)
{
	__u32 kept[MAX_KEPT], got, want = mode == XDP_MODE_NATIVE    ? XDP_FLAGS_DRV_MODE
					 : mode == XDP_MODE_GENERIC ? XDP_FLAGS_SKB_MODE
								    : 0;
	__u64 me = s->rodata.instance;
	int nkept = 0, ret = -1;
	char *log = NULL, why[ERRMSG_LEN];

	if (s->pin_dir[0])
		nkept = dispatcher_members_using(
			p->ifindex, map_id_of(xdp_sampler_map_fd(s, XDP_MAP_VERDICTS)), kept, MAX_KEPT);
	p->ext = open_extension(s);
	log = calloc(1, VERIFIER_LOG_BYTES);
	if (!p->ext || !log) {
		errmsg(err, errlen, "preparing the program for libxdp: %s", strerror(errno));
		goto out;
	}
	bpf_program__set_log_buf(p->ext->progs.odeflow_xdp, log, VERIFIER_LOG_BYTES);
	/* ours works at once, or, beside a kept one, once it is in */
	if (set_active(s, p->ifindex, !nkept ? me : s->kept_instance != me ? s->kept_instance : 0)) {
		errmsg(err, errlen, "writing map active: %s", strerror(errno));
		goto out;
	}
	ret = dispatcher_add(p->ext->obj, bpf_program__name(p->ext->progs.odeflow_xdp), p->ifindex,
			     want, &got, &p->dispatched, err, errlen);
	if (ret < 0)
		verifier_log_tail(err, errlen, log, VERIFIER_LOG_TAIL_LINES);
	if (ret)
		goto out;
	p->mode = got == XDP_FLAGS_SKB_MODE ? XDP_MODE_GENERIC : XDP_MODE_NATIVE;
	if (nkept) {
		p->took_over = true;
		if (set_active(s, p->ifindex, me))
			log_line(LOG_LEVEL_WARNING, "writing map active: %s", strerror(errno));
		for (int i = 0; i < nkept; i++)
			if (dispatcher_remove_id(p->ifindex, kept[i], why, sizeof(why)))
				log_line(LOG_LEVEL_WARNING, "%s (it stands aside: harmless)", why);
	}
out:
	free(log);
	if (ret) {
		odeflow_bpf__destroy(p->ext);
		p->ext = NULL;
	}
	return ret;
}

/* At the XDP hook, through libxdp's dispatcher where the kernel runs it.
 * Returns 0 when in the dispatcher, 1 when the hook is free (or cleared)
 * for a link of our own (s->note says why), -1 on error. */
static int share_xdp_hook(struct xdp_sampler *s, struct sampler_port *p, enum xdp_mode mode,
			  unsigned flags, char *err, size_t errlen)
{
	char why[ERRMSG_LEN], reason[384];
	int ret = dispatcher_supported(reason, sizeof(reason));

	if (clear_xdp_hook(p->ifindex, p->ifname, ret, flags, err, errlen))
		return -1;
	if (ret) {
		ret = attach_to_dispatcher(s, p, mode, why, sizeof(why));
		if (ret < 0)
			return errmsg(err, errlen, "joining libxdp's dispatcher on %s: %s", p->ifname,
				      why);
		if (ret == 0)
			return 0;
		snprintf(reason, sizeof(reason), "%.300s", why); /* libxdp attached it alone */
	} else {
		snprintf(why, sizeof(why), "%s", reason);
		snprintf(reason, sizeof(reason), "no libxdp dispatcher (%.300s)", why);
	}
	note_not_shared(s, p->ifname, reason);
	return 1;
}

/* A new link at the port's hook, pinned with --keep; XDP in mode (auto:
 * native, else generic). */
static int attach_new_link(struct xdp_sampler *s, struct sampler_port *p, bool egress,
			   enum xdp_mode mode, char *err, size_t errlen)
{
	int fd, prog_fd = hook_prog_fd(s, egress);
	char *pin = p->link_pin[egress];

	if (set_active(s, p->ifindex, s->rodata.instance))
		return errmsg(err, errlen, "writing map active: %s", strerror(errno));
	if (egress || s->hook == XDP_HOOK_TCX) {
		fd = tcx_link_create(prog_fd, p->ifindex, egress);
		if (fd < 0) {
			int cause = errno; /* attach_egress reads it */

			errmsg(err, errlen, "attaching at %s (tcx) of %s: %s%s", hook_where(s, egress),
			       p->ifname, strerror(cause),
			       cause == EINVAL ? " (tcx needs kernel 6.6 or later)" : "");
			errno = cause;
			return -1;
		}
	} else {
		p->mode = mode == XDP_MODE_AUTO ? XDP_MODE_NATIVE : mode;
		fd = link_create(prog_fd, p->ifindex, p->mode);
		if (fd < 0 && mode == XDP_MODE_AUTO) {
			p->mode = XDP_MODE_GENERIC; /* the driver has no native XDP */
			fd = link_create(prog_fd, p->ifindex, p->mode);
		}
		if (fd < 0)
			return errmsg(err, errlen, "attaching XDP (%s) to %s: %s%s",
				      xdp_mode_name(p->mode), p->ifname, strerror(errno),
				      errno == EBUSY || errno == EEXIST ?
				      " (another XDP program is attached)" : "");
	}
	if (s->keep && (xdp_link_pin_path(s->pin_dir, p->ifname, egress, pin, PATH_MAX) ||
			bpf_obj_pin(fd, pin))) {
		errmsg(err, errlen, "pinning the link as %s: %s", pin, strerror(errno));
		pin[0] = '\0';
		close(fd);
		return -1;
	}
	p->link_fd[egress] = fd;
	return 0;
}

/* What arrives: at XDP (through the dispatcher, or a link of our own) or at
 * tc ingress, in the place of what a --keep run left when it left one. */
static int attach_ingress(struct xdp_sampler *s, struct sampler_port *p, enum xdp_mode mode,
			  unsigned flags, char *err, size_t errlen)
{
	int ret = take_over_kept_link(s, p, false, err, errlen);

	if (ret == 0 && s->hook == XDP_HOOK_XDP)
		p->mode = kept_link_mode(p->ifindex, mode);
	if (ret <= 0)
		return ret;
	if (s->hook == XDP_HOOK_XDP) {
		ret = share_xdp_hook(s, p, mode, flags, err, errlen);
		if (ret <= 0)
			return ret;
	}
	return attach_new_link(s, p, false, mode, err, errlen);
}

/* What leaves: at tc egress. A kernel without tcx (before 6.6) sees no
 * egress: 1, and s->egress_note says so once. */
static int attach_egress(struct xdp_sampler *s, struct sampler_port *p, char *err, size_t errlen)
{
	int ret = take_over_kept_link(s, p, true, err, errlen);

	if (ret <= 0)
		return ret;
	if (!attach_new_link(s, p, true, XDP_MODE_AUTO, err, errlen))
		return 0;
	if (errno != EINVAL || !(s->directions & PORT_INGRESS))
		return -1;
	sampler_without_egress(s);
	return 1;
}

void sampler_without_egress(struct xdp_sampler *s)
{
	s->no_tcx_egress = true;
	snprintf(s->egress_note, sizeof(s->egress_note), "egress is not seen: attaching at tc egress"
		 " needs tcx, in kernel 6.6 and later; only what arrives is sampled and enforced");
}

static struct sampler_port *find_port(struct xdp_sampler *s, int ifindex)
{
	for (int i = 0; i < s->nports; i++)
		if (s->ports[i].ifindex == ifindex)
			return &s->ports[i];
	return NULL;
}

static struct sampler_port *add_port(struct xdp_sampler *s, int ifindex, const char *ifname)
{
	struct sampler_port *p;

	if (s->nports == s->ports_cap) {
		int cap = s->ports_cap ? 2 * s->ports_cap : 4;
		void *grown = realloc(s->ports, sizeof(*s->ports) * (size_t)cap);

		if (!grown)
			return NULL;
		s->ports = grown;
		s->ports_cap = cap;
	}
	p = &s->ports[s->nports++];
	memset(p, 0, sizeof(*p));
	p->ifindex = ifindex;
	snprintf(p->ifname, sizeof(p->ifname), "%s", ifname);
	p->link_fd[0] = p->link_fd[1] = -1;
	return p;
}

/* Tells the program where it is attached (map "ports"). */
static int publish_port(struct xdp_sampler *s, const struct sampler_port *p)
{
	struct attached_port v = { .hooks = p->hooks };
	__u32 key = (__u32)p->ifindex;

	snprintf(v.name, sizeof(v.name), "%s", p->ifname);
	return bpf_map_update_elem(xdp_sampler_map_fd(s, XDP_MAP_PORTS), &key, &v, BPF_ANY);
}

int sampler_port_release(struct xdp_sampler *s, struct sampler_port *p, bool detach, char *err,
			 size_t errlen)
{
	__u32 key = (__u32)p->ifindex;
	int ret = 0;

	err[0] = '\0';
	if (p->dispatched && detach)
		ret = dispatcher_remove(p->dispatched, err, errlen);
	else
		dispatched_free(p->dispatched);
	for (int e = 0; e < 2; e++) {
		if (detach && p->link_pin[e][0] && unlink(p->link_pin[e]) && errno != ENOENT)
			ret = errmsg(err, errlen, "removing %s: %s", p->link_pin[e], strerror(errno));
		if (p->link_fd[e] >= 0)
			close(p->link_fd[e]); /* detaches unless the link is pinned */
	}
	odeflow_bpf__destroy(p->ext);
	if (detach)
		bpf_map_delete_elem(xdp_sampler_map_fd(s, XDP_MAP_PORTS), &key);
	s->nports--;
	memmove(p, p + 1, (size_t)(s->ports + s->nports - p) * sizeof(*p)); /* keeps the order */
	return ret;
}

int xdp_sampler_attach(struct xdp_sampler *s, int ifindex, enum xdp_mode mode, unsigned flags,
		       enum xdp_mode *got, char *err, size_t errlen)
{
	char ifname[IF_NAMESIZE] = "?", why[ERRMSG_LEN];
	struct sampler_port *p;
	int ret;

	err[0] = '\0';
	if (!if_indextoname(ifindex, ifname))
		return errmsg(err, errlen, "no interface with index %d", ifindex);
	if (find_port(s, ifindex))
		return errmsg(err, errlen, "the sampler is already attached to %s", ifname);
	if (s->nports >= ODEFLOW_MAX_PORTS)
		return errmsg(err, errlen, "%s: one sampler takes at most %d interfaces", ifname,
			      ODEFLOW_MAX_PORTS);
	if ((flags & XDP_ATTACH_KEEP) && !s->pin_dir[0])
		return errmsg(err, errlen, "keeping the sampler attached to %s needs a pin dir",
			      ifname);
	s->keep = flags & XDP_ATTACH_KEEP;
	s->note[0] = '\0';
	p = add_port(s, ifindex, ifname);
	if (!p)
		return errmsg(err, errlen, "out of memory");
	p->mode = mode;
	ret = 0;
	if (s->directions & PORT_INGRESS) {
		ret = attach_ingress(s, p, mode, flags, err, errlen);
		if (ret == 0)
			p->hooks |= PORT_INGRESS;
	}
	if (ret == 0 && (s->directions & PORT_EGRESS) && !s->no_tcx_egress) {
		ret = attach_egress(s, p, err, errlen);
		if (ret == 0)
			p->hooks |= PORT_EGRESS;
		ret = ret < 0 ? -1 : 0;
	}
	if (ret == 0 && publish_port(s, p))
		ret = errmsg(err, errlen, "writing map ports: %s", strerror(errno));
	if (ret) {
		sampler_port_release(s, p, true, why, sizeof(why));
		return -1;
	}
	*got = p->mode;
	return 0;
}

int xdp_sampler_ports(const struct xdp_sampler *s, struct xdp_port_info *out, int max)
{
	int n = 0;

	for (; n < s->nports && n < max; n++) {
		out[n].ifindex = s->ports[n].ifindex;
		out[n].hooks = s->ports[n].hooks;
		snprintf(out[n].name, sizeof(out[n].name), "%s", s->ports[n].ifname);
	}
	return n;
}

enum xdp_attachment xdp_sampler_attachment(const struct xdp_sampler *s)
{
	return s->nports && s->ports[0].dispatched ? XDP_VIA_DISPATCHER
	       : s->hook == XDP_HOOK_TCX	     ? XDP_VIA_TCX
						     : XDP_VIA_LINK;
}

void xdp_sampler_describe(const struct xdp_sampler *s, char *buf, size_t len)
{
	const struct sampler_port *p = s->nports ? &s->ports[s->nports - 1] : NULL;
	unsigned hooks = p ? p->hooks : 0;

	if (!(hooks & PORT_INGRESS))
		snprintf(buf, len, "at tc egress (tcx)");
	else if (s->hook == XDP_HOOK_TCX)
		snprintf(buf, len, "at tc ingress%s (tcx)", hooks & PORT_EGRESS ? " and egress" : "");
	else
		snprintf(buf, len, "in %s XDP mode%s%s", xdp_mode_name(p->mode),
			 p->dispatched ? ", in libxdp's dispatcher" : "",
			 hooks & PORT_EGRESS ? ", and at tc egress (tcx)" : "");
}

const char *xdp_sampler_note(const struct xdp_sampler *s)
{
	return s->note;
}

const char *xdp_sampler_egress_note(const struct xdp_sampler *s)
{
	return s->egress_note;
}

int xdp_sampler_detach_port(struct xdp_sampler *s, int ifindex, char *err, size_t errlen)
{
	struct sampler_port *p = find_port(s, ifindex);

	if (!p)
		return errmsg(err, errlen, "the sampler is not attached to interface %d", ifindex);
	return sampler_port_release(s, p, true, err, errlen);
}

int xdp_sampler_detach(struct xdp_sampler *s, char *err, size_t errlen)
{
	char why[ERRMSG_LEN];
	int ret = 0;

	while (s->nports)
		if (sampler_port_release(s, &s->ports[s->nports - 1], true, why, sizeof(why)) && !ret)
			ret = errmsg(err, errlen, "%s", why);
	return ret;
}
