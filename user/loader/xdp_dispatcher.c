// SPDX-License-Identifier: MIT
/* The sampler in libxdp's multi-program dispatcher; see xdp_dispatcher.h. */
#include "xdp_dispatcher.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xdp/libxdp.h>

#include "common/errmsg.h"
#include "lib_messages.h"
#include "prog_maps.h"

/* libxdp's own switch: attach programs alone, never through a dispatcher. */
#define SKIP_DISPATCHER_ENV "LIBXDP_SKIP_DISPATCHER"
/* libxdp's dispatcher object and the program in it that its own check
 * extends (libxdp_check_kern_compat, not exported). */
#define DISPATCHER_OBJECT "xdp-dispatcher.o"
#define PROBE_PROG "xdp_pass"

struct dispatched {
	struct xdp_program *prog;
	int ifindex;
};

/* libxdp hands back either NULL (errno set) or an error pointer. */
static long failed(const void *p)
{
	return p ? libxdp_get_error(p) : (errno ? -errno : -ENOENT);
}

/* The message libxdp or libbpf gave, else the error's text. */
static const char *cause(int ret)
{
	return lib_messages_first()[0] ? lib_messages_first() : strerror(ret < 0 ? -ret : ret);
}

static enum xdp_attach_mode to_libxdp(__u32 mode)
{
	return mode == XDP_FLAGS_SKB_MODE ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

static __u32 from_libxdp(enum xdp_attach_mode mode)
{
	return mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

static const char *mode_name(__u32 mode)
{
	return mode == XDP_FLAGS_SKB_MODE ? "generic" : "native";
}

/* libxdp_check_kern_compat's steps: an extension of the XDP program
 * xdp_pass, loaded and attached, then everything closed again. */
static int probe_freplace(char *why, size_t len)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, o, .find_filename = DISPATCHER_OBJECT,
			    .prog_name = PROBE_PROG);
	struct xdp_program *target = xdp_program__create(&o), *ext = xdp_program__create(&o);
	const char *step = "opening libxdp's " DISPATCHER_OBJECT;
	struct bpf_program *p = NULL, *q;
	struct bpf_link *link = NULL;
	struct bpf_object *obj;
	int target_fd, err;

	err = (int)(failed(target) ?: failed(ext));
	if (!err) {
		step = "loading libxdp's " DISPATCHER_OBJECT;
		err = bpf_object__load(xdp_program__bpf_obj(target));
	}
	if (!err) {
		target_fd = bpf_program__fd(
			bpf_object__find_program_by_name(xdp_program__bpf_obj(target), PROBE_PROG));
		obj = xdp_program__bpf_obj(ext);
		p = bpf_object__find_program_by_name(obj, PROBE_PROG);
		bpf_object__for_each_program(q, obj)
			bpf_program__set_autoload(q, q == p);
		bpf_program__set_type(p, BPF_PROG_TYPE_EXT);
		bpf_program__set_expected_attach_type(p, 0);
		step = "loading an freplace extension (BPF_PROG_TYPE_EXT) of an XDP program";
		err = bpf_program__set_attach_target(p, target_fd, PROBE_PROG) ?: bpf_object__load(obj);
	}
	if (!err) {
		step = "attaching an freplace extension to an XDP program";
		link = bpf_program__attach_freplace(p, target_fd, PROBE_PROG);
		err = link ? 0 : -errno;
	}
	if (err)
		snprintf(why, len, "%s: %s", step, strerror(-err));
	bpf_link__destroy(link);
	if (!failed(ext))
		xdp_program__close(ext);
	if (!failed(target))
		xdp_program__close(target);
	return err ? 0 : 1;
}

int dispatcher_supported(char *why, size_t len)
{
	static int supported = -1;
	static char reason[256];
	const char *skip = secure_getenv(SKIP_DISPATCHER_ENV);

	if (skip && !strcmp(skip, "1")) {
		snprintf(why, len, "%s=1 asks for none", SKIP_DISPATCHER_ENV);
		return 0;
	}
	if (supported < 0) {
		lib_messages_capture();
		supported = probe_freplace(reason, sizeof(reason));
		lib_messages_restore();
	}
	snprintf(why, len, "%s", supported ? "" : reason);
	return supported;
}

/* ifindex's XDP program as libxdp sees it; NULL when there is none or
 * libxdp cannot read it. Call with the messages captured. */
static struct xdp_multiprog *multiprog_at(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);

	return failed(mp) ? NULL : mp;
}

bool dispatcher_present(int ifindex, __u32 *mode)
{
	struct xdp_multiprog *mp;
	bool present = false;

	lib_messages_capture();
	mp = multiprog_at(ifindex);
	if (mp && !xdp_multiprog__is_legacy(mp)) {
		present = true;
		*mode = from_libxdp(xdp_multiprog__attach_mode(mp));
	}
	xdp_multiprog__close(mp);
	lib_messages_restore();
	return present;
}

/* libxdp attached the program on its own (it could not build a dispatcher
 * after all): take it off again, only if it is still the one there. */
static int undo_single_attach(struct dispatched *d, struct xdp_multiprog *mp)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = xdp_program__fd(d->prog));

	return bpf_xdp_detach(d->ifindex,
			      from_libxdp(xdp_multiprog__attach_mode(mp)) | XDP_FLAGS_REPLACE, &opts);
}

int dispatcher_add(struct bpf_object *obj, const char *prog_name, int ifindex, __u32 mode,
		   __u32 *got, struct dispatched **out, char *err, size_t errlen)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, o, .obj = obj, .prog_name = prog_name);
	enum xdp_attach_mode modes[2] = { XDP_MODE_NATIVE, XDP_MODE_SKB };
	struct dispatched *d = calloc(1, sizeof(*d));
	struct xdp_multiprog *mp = NULL;
	int n = 2, ret = -1;
	__u32 there;

	*out = NULL;
	if (!d)
		return errmsg(err, errlen, "out of memory");
	if (dispatcher_present(ifindex, &there)) {
		if (mode && mode != there) {
			free(d);
			return errmsg(err, errlen, "libxdp's dispatcher there runs in %s mode, not %s:"
				      " ask for %s (or auto)", mode_name(there), mode_name(mode),
				      mode_name(there));
		}
		mode = there;
	}
	if (mode) {
		modes[0] = to_libxdp(mode);
		n = 1;
	}
	d->ifindex = ifindex;
	lib_messages_capture();
	d->prog = xdp_program__create(&o);
	if (failed(d->prog)) {
		ret = (int)failed(d->prog);
		d->prog = NULL;
		errmsg(err, errlen, "libxdp: %s", cause(ret));
		goto fail;
	}
	/* libxdp reads frags support from the program's flags, which libbpf
	 * sets from an xdp.frags section only as it loads */
	if (strstr(bpf_program__section_name(bpf_object__find_program_by_name(obj, prog_name)),
		   ".frags"))
		xdp_program__set_xdp_frags_support(d->prog, true);
	/* the first attach loads the program; a retry in generic mode reuses it */
	for (int i = 0; i < n; i++) {
		lib_messages_clear();
		ret = xdp_program__attach(d->prog, ifindex, modes[i], 0);
		if (!ret)
			break;
	}
	if (ret) {
		errmsg(err, errlen, "libxdp: %s", cause(ret));
		goto fail;
	}
	mp = multiprog_at(ifindex);
	if (!mp) {
		errmsg(err, errlen, "libxdp cannot read the XDP program it attached: %s", cause(-ENOENT));
		xdp_program__detach(d->prog, ifindex, XDP_MODE_UNSPEC, 0);
		ret = -1;
		goto fail;
	}
	if (xdp_multiprog__is_legacy(mp)) {
		ret = 1;
		errmsg(err, errlen, "libxdp attached it alone (%s)",
		       lib_messages_first()[0] ? lib_messages_first() : "no reason given");
		if (undo_single_attach(d, mp)) {
			ret = -1;
			errmsg(err, errlen, "libxdp attached the program alone, without its dispatcher,"
			       " and detaching it failed: %s", strerror(errno));
		}
		goto fail;
	}
	*got = from_libxdp(xdp_multiprog__attach_mode(mp));
	xdp_multiprog__close(mp);
	lib_messages_restore();
	*out = d;
	return 0;
fail:
	xdp_multiprog__close(mp);
	lib_messages_restore();
	dispatched_free(d);
	return ret;
}

int dispatched_prog_fd(const struct dispatched *d)
{
	return xdp_program__fd(d->prog);
}

void dispatched_free(struct dispatched *d)
{
	if (!d)
		return;
	xdp_program__close(d->prog); /* not the object: the loader owns it */
	free(d);
}

/* The mode to detach a member in: libxdp 1.3.1 rebuilds the dispatcher
 * without it in the mode it is given, and XDP_MODE_UNSPEC there means
 * native, which a generic dispatcher refuses. */
static enum xdp_attach_mode detach_mode(int ifindex)
{
	__u32 mode;

	return dispatcher_present(ifindex, &mode) ? to_libxdp(mode) : XDP_MODE_UNSPEC;
}

int dispatcher_remove(struct dispatched *d, char *err, size_t errlen)
{
	enum xdp_attach_mode mode = detach_mode(d->ifindex);
	int ret;

	lib_messages_capture();
	ret = xdp_program__detach(d->prog, d->ifindex, mode, 0);
	if (ret)
		errmsg(err, errlen, "taking the sampler out of libxdp's dispatcher: %s", cause(ret));
	lib_messages_restore();
	dispatched_free(d);
	return ret ? -1 : 0;
}

int dispatcher_members_using(int ifindex, __u32 map_id, __u32 *ids, int max)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p = NULL;
	int n = 0;

	lib_messages_capture();
	mp = multiprog_at(ifindex);
	if (mp && !xdp_multiprog__is_legacy(mp))
		while ((p = xdp_multiprog__next_prog(p, mp)) && n < max)
			if (prog_uses_map(xdp_program__fd(p), map_id))
				ids[n++] = xdp_program__id(p);
	xdp_multiprog__close(mp);
	lib_messages_restore();
	return n;
}

int dispatcher_remove_id(int ifindex, __u32 id, char *err, size_t errlen)
{
	enum xdp_attach_mode mode = detach_mode(ifindex);
	struct xdp_program *p;
	int ret;

	lib_messages_capture();
	p = xdp_program__from_id(id);
	ret = failed(p) ? (int)failed(p) : xdp_program__detach(p, ifindex, mode, 0);
	if (ret)
		errmsg(err, errlen, "taking program %u out of libxdp's dispatcher: %s", id, cause(ret));
	if (!failed(p))
		xdp_program__close(p);
	lib_messages_restore();
	return ret ? -1 : 0;
}
