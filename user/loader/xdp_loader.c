// SPDX-License-Identifier: MIT
/* Loading, pinning and attaching the XDP sampler; see xdp_loader.h. */
#include "xdp_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/log.h"
#include "flows_map.h"
#include "lib_messages.h"
#include "prog_maps.h"
#include "verifier_log.h"
#include "xdp_dispatcher.h"
#include "odeflow.skel.h"

#define BPFFS_ROOT "/sys/fs/bpf"
#define VERIFIER_LOG_BYTES (1u << 20)
#define VERIFIER_LOG_TAIL_LINES 12
#define NEEDS_PRIVILEGES " (needs root with CAP_BPF and CAP_NET_ADMIN)"
/* enum bpf_attach_type and enum bpf_link_type values of kernel 6.6, which
 * Debian 12's <linux/bpf.h> (6.1) predates. */
#define ATTACH_TCX_INGRESS 46
#define LINK_TYPE_XDP 6
#define LINK_TYPE_TCX 11
/* Samplers of one pin dir that a start may find in a dispatcher: one kept,
 * and one more if a takeover was cut short. */
#define MAX_KEPT 4

struct xdp_sampler {
	struct odeflow_bpf *skel;
	enum xdp_hook hook;
	struct bpf_program *prog; /* the hook's entry point, the one loaded */
	struct odeflow_bpf__rodata rodata; /* what it was loaded with */
	char pin_dir[PATH_MAX];  /* "" when not pinning */
	bool made_pin_dir;       /* this sampler created pin_dir */
	unsigned pinned_here;    /* bit m: map m was pinned by this sampler, not reused */
	int link_fd;             /* -1 unless attached through a link */
	char link_pin[PATH_MAX]; /* "" unless the link is pinned */
	/* attached through libxdp's dispatcher: this copy of the program, an
	 * extension that runs inside it, with the maps of skel */
	struct odeflow_bpf *ext;
	struct dispatched *dispatched;
	bool keep;               /* stays attached when closed */
	bool took_over;          /* attached in the place of what a --keep run left */
	enum xdp_mode mode;      /* the XDP mode it got */
	char note[512];          /* why the XDP hook is not shared; "" */
};

/* Each map's pin name, and the layout this build reads it with. A map
 * pinned by another version of odeflow may differ (a counter more, a field
 * less): read with this build's structs it would give wrong numbers, or
 * overrun buffers sized for them, so the query tools refuse it
 * (check_map_layout). Values of "flows" hold the N slots of the N the agent
 * loaded, 2..64. */
struct map_desc {
	const char *name;
	enum bpf_map_type type;
	__u32 key_size, value_min, value_max;
};

#define FIXED_VALUE(type) sizeof(type), sizeof(type)
static const struct map_desc map_descs[XDP_MAP_COUNT] = {
	[XDP_MAP_FLOWS] = { "flows", BPF_MAP_TYPE_LRU_HASH, sizeof(struct flow_key),
			    FLOW_STATE_BYTES(ODEFLOW_MIN_WINDOW), FLOW_STATE_BYTES(ODEFLOW_MAX_WINDOW) },
	[XDP_MAP_WINDOWS] = { "windows", BPF_MAP_TYPE_RINGBUF, 0, 0, 0 },
	[XDP_MAP_VERDICTS] = { "verdicts", BPF_MAP_TYPE_LRU_HASH, sizeof(struct flow_key),
			       FIXED_VALUE(struct verdict) },
	[XDP_MAP_POLICY] = { "policy", BPF_MAP_TYPE_ARRAY, sizeof(__u32), FIXED_VALUE(struct policy) },
	[XDP_MAP_RATE_BUCKETS] = { "rate_buckets", BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				   FIXED_VALUE(struct rate_bucket) },
	[XDP_MAP_COUNTERS] = { "counters", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			       FIXED_VALUE(struct counters) },
	[XDP_MAP_AGENT] = { "agent", BPF_MAP_TYPE_ARRAY, sizeof(__u32), FIXED_VALUE(struct agent_info) },
	[XDP_MAP_WAKEUP] = { "wakeup", BPF_MAP_TYPE_ARRAY, sizeof(__u32), FIXED_VALUE(__u32) },
	[XDP_MAP_CLASS_ACTIONS] = { "class_actions", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				    FIXED_VALUE(struct class_traffic) },
	[XDP_MAP_ACTIVE] = { "active", BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			     FIXED_VALUE(struct active_instance) },
};
#undef FIXED_VALUE

const char *xdp_map_name(enum xdp_map map)
{
	return (unsigned)map < XDP_MAP_COUNT ? map_descs[map].name : "?";
}

const char *xdp_mode_name(enum xdp_mode mode)
{
	switch (mode) {
	case XDP_MODE_AUTO:
		return "auto";
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_GENERIC:
		return "generic";
	}
	return "?";
}

const char *xdp_hook_name(enum xdp_hook hook)
{
	return hook == XDP_HOOK_TCX ? "tcx" : "xdp";
}

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

const char *xdp_counter_name(enum counter c)
{
#define COUNTER_NAME(id, name) [CNT_##id] = #name,
	static const char *const names[CNT_MAX] = { ODEFLOW_COUNTERS(COUNTER_NAME) };
#undef COUNTER_NAME

	return (unsigned)c < CNT_MAX ? names[c] : "?";
}

/* The object's map for `map`, found by its name in map_descs (the
 * skeleton's variable names). */
static struct bpf_map *skel_map(const struct odeflow_bpf *skel, enum xdp_map map)
{
	return bpf_object__find_map_by_name(skel->obj, map_descs[map].name);
}

/* bpffs refuses names with a dot (reserved for the kernel's own files)
 * with EPERM, which alone would read as a privilege problem. */
static int pin_name_error(const char *pin_dir, int errnum, const char *what, char *err,
			  size_t errlen)
{
	const char *base = strrchr(pin_dir, '/');

	if (errnum == EPERM && strchr(base ? base + 1 : pin_dir, '.'))
		return errmsg(err, errlen, "%s pin dir %s: bpffs does not allow '.' in names", what,
			      pin_dir);
	return errmsg(err, errlen, "%s pin dir %s: %s", what, pin_dir, strerror(errnum));
}

/* An existing pin dir: a real directory on bpffs, of this user, that no one
 * else may write to (whoever can would swap the maps the XDP program and
 * the agent share). A symlink is refused rather than followed. */
static int check_pin_dir(const char *pin_dir, char *err, size_t errlen)
{
	struct statfs fs;
	struct stat st;

	if (lstat(pin_dir, &st))
		return pin_name_error(pin_dir, errno, "checking", err, errlen);
	if (S_ISLNK(st.st_mode))
		return errmsg(err, errlen, "pin dir %s is a symlink: give the directory itself",
			      pin_dir);
	if (!S_ISDIR(st.st_mode))
		return errmsg(err, errlen, "pin dir %s is not a directory", pin_dir);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return errmsg(err, errlen,
			      "pin dir %s belongs to uid %u with mode %03o: it must be this user's "
			      "(uid %u) and writable by no one else",
			      pin_dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777),
			      (unsigned)geteuid());
	if (statfs(pin_dir, &fs) || fs.f_type != BPF_FS_MAGIC)
		return errmsg(err, errlen, "pin dir %s is not on a bpffs (mount -t bpf bpf DIR)",
			      pin_dir);
	return 0;
}

/* Makes pin_dir, on a bpffs: mounts bpffs on /sys/fs/bpf when the pin dir is
 * below it and nothing is mounted there yet (some minimal systems). The
 * folder is created only inside a bpffs, so a wrong path leaves nothing
 * behind. */
static int prepare_pin_dir(const char *pin_dir, bool *made, char *err, size_t errlen)
{
	char parent[PATH_MAX];
	struct statfs fs;
	char *slash;

	*made = false;
	if (!strncmp(pin_dir, BPFFS_ROOT "/", strlen(BPFFS_ROOT) + 1) &&
	    statfs(BPFFS_ROOT, &fs) == 0 && fs.f_type != BPF_FS_MAGIC &&
	    mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700"))
		return errmsg(err, errlen, "mounting bpffs on %s: %s", BPFFS_ROOT, strerror(errno));
	if (access(pin_dir, F_OK) == 0 || errno != ENOENT)
		return check_pin_dir(pin_dir, err, errlen);
	snprintf(parent, sizeof(parent), "%s", pin_dir);
	slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = '\0';
	else
		snprintf(parent, sizeof(parent), ".");
	if (statfs(parent, &fs) || fs.f_type != BPF_FS_MAGIC)
		return errmsg(err, errlen, "pin dir %s is not on a bpffs (mount -t bpf bpf DIR)",
			      pin_dir);
	if (mkdir(pin_dir, 0700))
		return pin_name_error(pin_dir, errno, "creating", err, errlen);
	*made = true;
	return 0;
}

/* The kernel's cost of one element of a preallocated hash map: its header
 * (struct htab_elem with the LRU node: 56 bytes on 64-bit kernels), key and
 * value each rounded up to 8, and a bucket head per element (the buckets
 * are the element count rounded up to a power of two). */
static uint64_t hash_elem_bytes(uint32_t key, uint32_t value, uint64_t entries)
{
	uint64_t buckets = 1;

	while (buckets < entries)
		buckets <<= 1;
	return entries * (56 + ((key + 7) & ~7u) + ((value + 7) & ~7u)) + buckets * 8;
}

uint64_t xdp_maps_bytes(const struct xdp_options *o)
{
	return hash_elem_bytes(sizeof(struct flow_key), FLOW_STATE_BYTES(o->window_n),
			       o->flow_capacity) +
	       hash_elem_bytes(sizeof(struct flow_key), sizeof(struct verdict), o->flow_capacity) +
	       o->ring_bytes;
}

/* MemAvailable from /proc/meminfo, in bytes; 0 when it cannot be read. */
static uint64_t memory_available(void)
{
	char line[128];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kb * 1024;
}

static int check_options(const struct xdp_options *o, char *err, size_t errlen)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t need, avail;

	if (o->window_n < ODEFLOW_MIN_WINDOW || o->window_n > ODEFLOW_MAX_WINDOW)
		return errmsg(err, errlen, "window size %u is out of range %d..%d", o->window_n,
			      ODEFLOW_MIN_WINDOW, ODEFLOW_MAX_WINDOW);
	if (o->skip > ODEFLOW_MAX_SKIP)
		return errmsg(err, errlen, "skip %u is out of range 0..%d", o->skip, ODEFLOW_MAX_SKIP);
	if (o->resample_after_ns < NSEC_PER_MSEC)
		return errmsg(err, errlen, "resampling after less than a millisecond would sample "
			      "every direction before the agent could answer");
	if (o->flow_capacity < 1)
		return errmsg(err, errlen, "flow capacity must be at least 1");
	if (o->ring_bytes < (unsigned)page || (o->ring_bytes & (o->ring_bytes - 1)))
		return errmsg(err, errlen,
			      "ring size %u is not a power of two of at least %ld bytes",
			      o->ring_bytes, page);
	if (o->hook != XDP_HOOK_XDP && o->hook != XDP_HOOK_TCX)
		return errmsg(err, errlen, "no such hook");
	/* The maps are preallocated, and the kernel creates them in one system
	 * call nothing interrupts: a capacity past what the host has would
	 * lock up its memory for many seconds before failing. */
	need = xdp_maps_bytes(o);
	avail = memory_available();
	if (avail && need > avail / 2)
		return errmsg(err, errlen,
			      "%u flows need about %llu MiB of kernel memory for the maps; this host "
			      "has %llu MiB available, and at most half of it may go to them",
			      o->flow_capacity, (unsigned long long)(need >> 20),
			      (unsigned long long)(avail >> 20));
	if (o->pin_dir && strlen(o->pin_dir) + 32 >= PATH_MAX)
		return errmsg(err, errlen, "pin dir path is too long");
	return 0;
}

/* Sets the load-time options. On failure *what names the step, for the error. */
static int configure(struct xdp_sampler *s, const struct xdp_options *o, const char **what)
{
	struct odeflow_bpf *skel = s->skel;
	char path[PATH_MAX];
	int err;

	*what = "opening the XDP program";
	skel->rodata->window_n = o->window_n;
	s->hook = o->hook;
	s->prog = o->hook == XDP_HOOK_TCX ? skel->progs.odeflow_tc : skel->progs.odeflow_xdp;
	if (bpf_program__set_autoload(o->hook == XDP_HOOK_TCX ? skel->progs.odeflow_xdp
							      : skel->progs.odeflow_tc,
				      false))
		return -1;
	skel->rodata->skip_n = o->skip;
	skel->rodata->resample_after_ns = o->resample_after_ns;
	if (getrandom((void *)&skel->rodata->hash_seed, sizeof(skel->rodata->hash_seed), 0) !=
		    sizeof(skel->rodata->hash_seed) ||
	    getrandom((void *)&skel->rodata->instance, sizeof(skel->rodata->instance), 0) !=
		    sizeof(skel->rodata->instance))
		return -1;
	skel->rodata->instance |= 1; /* 0 means "no one" in "active" */
	s->rodata = *skel->rodata;
	if (bpf_map__set_max_entries(skel->maps.verdicts, o->flow_capacity) ||
	    bpf_map__set_max_entries(skel->maps.windows, o->ring_bytes))
		return -1;
	*what = "creating map flows";
	err = flows_map_replace(skel->obj, skel->maps.flows, o->window_n, o->flow_capacity);
	if (err) {
		lib_messages_clear(); /* "BTF loading error: -1" says less than errno */
		errno = -err;
		return -1;
	}
	*what = "setting the pin paths";
	if (!s->pin_dir[0])
		return 0;
	for (int m = 0; m < XDP_MAP_COUNT; m++) {
		struct bpf_map *map = skel_map(skel, m);

		if (!map ||
		    snprintf(path, sizeof(path), "%s/%s", s->pin_dir, map_descs[m].name) >=
			    (int)sizeof(path) ||
		    bpf_map__set_pin_path(map, path))
			return -1;
	}
	return 0;
}

/* Bit m set: map m's pin exists. */
static unsigned pins_present(const struct xdp_sampler *s)
{
	char path[PATH_MAX];
	unsigned bits = 0;

	for (int m = 0; m < XDP_MAP_COUNT && s->pin_dir[0]; m++)
		if (snprintf(path, sizeof(path), "%s/%s", s->pin_dir, map_descs[m].name) <
			    (int)sizeof(path) &&
		    access(path, F_OK) == 0)
			bits |= 1u << m;
	return bits;
}

int xdp_sampler_open(const struct xdp_options *opts, struct xdp_sampler **out,
		     char *err, size_t errlen)
{
	struct xdp_sampler *s;
	const char *what = "";
	char *log = NULL;
	int ret = -1;

	*out = NULL;
	if (check_options(opts, err, errlen))
		return -1;
	s = calloc(1, sizeof(*s));
	log = calloc(1, VERIFIER_LOG_BYTES);
	if (!s || !log) {
		errmsg(err, errlen, "out of memory");
		goto out;
	}
	s->link_fd = -1;
	if (opts->pin_dir) {
		if (prepare_pin_dir(opts->pin_dir, &s->made_pin_dir, err, errlen))
			goto out;
		snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", opts->pin_dir);
	}

	lib_messages_capture();
	s->skel = odeflow_bpf__open();
	if (!s->skel || configure(s, opts, &what)) {
		errmsg(err, errlen, "%s: %s%s", s->skel ? what : "opening the XDP program",
		       lib_messages_first()[0] ? lib_messages_first() : strerror(errno),
		       errno == EPERM ? NEEDS_PRIVILEGES : "");
	} else {
		const char *flows_pin = bpf_map__pin_path(s->skel->maps.flows);
		bool flows_was_pinned = flows_pin && access(flows_pin, F_OK) == 0;
		unsigned found = pins_present(s);

		/* libbpf loads without a log first and, if that fails, again
		 * with log level 1 into this buffer. */
		bpf_program__set_log_buf(s->prog, log, VERIFIER_LOG_BYTES);
		ret = odeflow_bpf__load(s->skel);
		/* A failed load unpins what it pinned, except maps libbpf counts
		 * as reused, as it does "flows" (flows_map_replace made it). */
		if (ret && flows_pin && !flows_was_pinned)
			unlink(flows_pin);
		if (ret) {
			char hint[PATH_MAX + 96] = "";

			if (strstr(lib_messages_first(), "couldn't reuse pinned map"))
				snprintf(hint, sizeof(hint),
					 " (made with another window size or --flows: stop the agent"
					 " that uses them, or remove %s)", s->pin_dir);
			errmsg(err, errlen, "loading the XDP program failed: %s%s%s%s%s",
			       strerror(-ret),
			       ret == -EPERM ? NEEDS_PRIVILEGES : "",
			       log[0] ? "" : "; ", log[0] ? "" : lib_messages_first(), hint);
			verifier_log_tail(err, errlen, log, VERIFIER_LOG_TAIL_LINES);
			ret = -1;
		} else {
			s->pinned_here = pins_present(s) & ~found;
		}
	}
	lib_messages_restore();
out:
	free(log);
	if (ret) {
		if (s && s->made_pin_dir)
			rmdir(s->pin_dir);
		xdp_sampler_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void xdp_sampler_close(struct xdp_sampler *s)
{
	char err[ERRMSG_LEN];

	if (!s)
		return;
	if (s->dispatched && s->keep)
		dispatched_free(s->dispatched);
	else if (s->dispatched && dispatcher_remove(s->dispatched, err, sizeof(err)))
		log_line(LOG_LEVEL_WARNING, "%s", err);
	if (s->link_fd >= 0)
		close(s->link_fd); /* detaches unless the link is pinned */
	odeflow_bpf__destroy(s->ext);
	odeflow_bpf__destroy(s->skel);
	free(s);
}

int xdp_sampler_prog_fd(const struct xdp_sampler *s)
{
	return s->dispatched ? dispatched_prog_fd(s->dispatched) : bpf_program__fd(s->prog);
}

int xdp_sampler_map_fd(const struct xdp_sampler *s, enum xdp_map map)
{
	return (unsigned)map < XDP_MAP_COUNT ? bpf_map__fd(skel_map(s->skel, map)) : -1;
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

bool xdp_agent_alive(const struct agent_info *a)
{
	return a->pid && (kill((pid_t)a->pid, 0) == 0 || errno == EPERM);
}

/* What a --keep run left is taken over only once its agent is gone: two
 * agents on one set of maps would split its windows between them. */
static int refuse_if_agent_runs(struct xdp_sampler *s, char *err, size_t errlen)
{
	struct agent_info a = { 0 };
	__u32 zero = 0;

	if (bpf_map_lookup_elem(xdp_sampler_map_fd(s, XDP_MAP_AGENT), &zero, &a) ||
	    !xdp_agent_alive(&a))
		return 0;
	return errmsg(err, errlen, "odeflow (pid %u) runs on %.16s with the maps in %s: stop it, or"
		      " give this one another --pin-dir", a.pid, a.iface, s->pin_dir);
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
	/* a link holds one program at a time: no one need stand aside */
	if (refuse_if_agent_runs(s, err, errlen) || set_active(s, ifindex, false) ||
	    bpf_link_update(fd, xdp_sampler_prog_fd(s), NULL)) {
		close(fd);
		return err[0] ? -1 : 1;
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
	if (nkept && refuse_if_agent_runs(s, err, errlen))
		return -1;
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

/* Unlinks the pins of the maps in `which` (bit m: map m), by their names:
 * nothing else a pin dir may hold is touched. */
static int unpin_maps(const char *pin_dir, unsigned which, char *err, size_t errlen)
{
	char path[PATH_MAX];

	for (int m = 0; m < XDP_MAP_COUNT; m++) {
		if (!(which & (1u << m)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, map_descs[m].name);
		if (unlink(path) && errno != ENOENT)
			return errmsg(err, errlen, "removing %s: %s", path, strerror(errno));
	}
	return 0;
}

/* The pin dir goes only when empty: another tool's pins keep it, and a
 * bpffs mount point cannot go (EBUSY). */
static void remove_dir_if_empty(const char *pin_dir)
{
	if (rmdir(pin_dir) && errno != ENOTEMPTY && errno != EEXIST && errno != EBUSY &&
	    errno != ENOENT)
		log_line(LOG_LEVEL_WARNING, "removing %s: %s", pin_dir, strerror(errno));
}

int xdp_sampler_unpin(struct xdp_sampler *s, bool all, char *err, size_t errlen)
{
	if (!s->pin_dir[0])
		return 0;
	if (unpin_maps(s->pin_dir, all ? (1u << XDP_MAP_COUNT) - 1 : s->pinned_here, err, errlen))
		return -1;
	if (s->made_pin_dir)
		remove_dir_if_empty(s->pin_dir);
	return 0;
}

int xdp_unpin(const char *pin_dir, const char *ifname, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (unpin_maps(pin_dir, (1u << XDP_MAP_COUNT) - 1, err, errlen))
		return -1;
	if (ifname) {
		snprintf(path, sizeof(path), "%s/link_%s", pin_dir, ifname);
		if (unlink(path) && errno != ENOENT)
			return errmsg(err, errlen, "removing %s: %s", path, strerror(errno));
	}
	remove_dir_if_empty(pin_dir);
	return 0;
}

static int check_map_layout(int fd, enum xdp_map map, const char *path, char *err, size_t errlen)
{
	const struct map_desc *want = &map_descs[map];
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return errmsg(err, errlen, "reading what map %s is: %s", path, strerror(errno));
	if (info.type != want->type || info.key_size != want->key_size ||
	    info.value_size < want->value_min || info.value_size > want->value_max)
		return errmsg(err, errlen,
			      "map %s has map type %u, %u-byte keys and %u-byte values, where this "
			      "odeflow expects type %u, %u-byte keys and %u to %u-byte values: "
			      "another version of odeflow made it (query it with that version, or "
			      "restart the agent with this one)",
			      path, info.type, info.key_size, info.value_size, want->type,
			      want->key_size, want->value_min, want->value_max);
	return 0;
}

int xdp_open_pinned_map(const char *pin_dir, enum xdp_map map, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	if ((unsigned)map >= XDP_MAP_COUNT)
		return errmsg(err, errlen, "no such map");
	snprintf(path, sizeof(path), "%s/%s", pin_dir, xdp_map_name(map));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errmsg(err, errlen, "opening map %s: %s (is the agent running?)", path,
			      strerror(errno));
	if (check_map_layout(fd, map, path, err, errlen)) {
		close(fd);
		return -1;
	}
	return fd;
}

_Static_assert(sizeof(struct counters) == CNT_MAX * sizeof(__u64),
	       "struct counters must read as __u64[CNT_MAX]");

/* Adds up, over the CPUs, the per-CPU value at key of a map whose values
 * are `words` __u64s, into out[0..words). */
static int sum_percpu(int fd, __u32 key, int words, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *percpu;

	if (ncpu < 1)
		return -1;
	percpu = calloc((size_t)ncpu * words, sizeof(*percpu));
	if (!percpu)
		return -1;
	if (bpf_map_lookup_elem(fd, &key, percpu)) {
		free(percpu);
		return -1;
	}
	for (int cpu = 0; cpu < ncpu; cpu++)
		for (int i = 0; i < words; i++)
			out[i] += percpu[(size_t)cpu * words + i];
	free(percpu);
	return 0;
}

int xdp_read_counters(int counters_fd, uint64_t out[CNT_MAX])
{
	memset(out, 0, CNT_MAX * sizeof(out[0]));
	return sum_percpu(counters_fd, 0, CNT_MAX, out);
}

_Static_assert(sizeof(struct class_traffic) == 2 * sizeof(__u64),
	       "struct class_traffic must read as __u64[2]");

int xdp_read_class_actions(int class_actions_fd, struct class_traffic out[ODEFLOW_CLASS_ACTIONS])
{
	memset(out, 0, ODEFLOW_CLASS_ACTIONS * sizeof(out[0]));
	for (__u32 k = 0; k < ODEFLOW_CLASS_ACTIONS; k++)
		if (sum_percpu(class_actions_fd, k, 2, (uint64_t *)&out[k]))
			return -1;
	return 0;
}

int xdp_set_policy(int policy_fd, int rate_buckets_fd, unsigned class_id, const struct policy *p)
{
	struct rate_bucket full = { 0 };

	if (class_id >= ODEFLOW_MAX_CLASSES || p->action >= ACTION_COUNT || p->dscp > 63) {
		errno = EINVAL;
		return -1;
	}
	if (bpf_map_update_elem(policy_fd, &class_id, p, BPF_ANY))
		return -1;
	return bpf_map_update_elem(rate_buckets_fd, &class_id, &full, BPF_ANY);
}

int xdp_rearm(int flows_fd, const struct flow_key *direction)
{
	struct flow_state_buf st; /* room for any N */

	if (bpf_map_lookup_elem(flows_fd, direction, &st))
		return -1;
	if (st.head.phase == FLOW_SAMPLING)
		return 0; /* already filling a window */
	/* The XDP program no longer writes an emitted direction, so this
	 * whole-value update cannot lose one of its writes. The emitter left
	 * the sizes zeroed, as the next window needs them. */
	st.head.count = 0;
	st.head.window++;
	st.head.phase = FLOW_SAMPLING;
	return bpf_map_update_elem(flows_fd, direction, &st, BPF_EXIST);
}
