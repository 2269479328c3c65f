// SPDX-License-Identifier: MIT
/* Configuring and loading the XDP sampler; see xdp_loader.h. */
#include "xdp_loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/memory.h"
#include "common/log.h"
#include "teach_sample.h"
#include "flows_map.h"
#include "lib_messages.h"
#include "sampler.h"
#include "verifier_log.h"
#include "xdp_dispatcher.h"

#define FIXED_VALUE(type) sizeof(type), sizeof(type)
const struct map_desc map_descs[XDP_MAP_COUNT] = {
	[XDP_MAP_FLOWS] = { "flows", BPF_MAP_TYPE_LRU_HASH, sizeof(struct flow_key),
			    FLOW_STATE_BYTES(ODEFLOW_MIN_WINDOW), FLOW_STATE_BYTES(ODEFLOW_MAX_WINDOW) },
	[XDP_MAP_WINDOWS] = { "windows", BPF_MAP_TYPE_RINGBUF, 0, 0, 0 },
	[XDP_MAP_VERDICTS] = { "verdicts", BPF_MAP_TYPE_LRU_HASH, sizeof(struct flow_key),
			       FIXED_VALUE(struct verdict) },
	[XDP_MAP_POLICY] = { "policy", BPF_MAP_TYPE_ARRAY, sizeof(__u32), FIXED_VALUE(struct policy) },
	[XDP_MAP_RATE_BUCKETS] = { "rate_buckets", BPF_MAP_TYPE_HASH, sizeof(struct rate_key),
				   FIXED_VALUE(struct rate_bucket) },
	[XDP_MAP_COUNTERS] = { "counters", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			       FIXED_VALUE(struct counters) },
	[XDP_MAP_AGENT] = { "agent", BPF_MAP_TYPE_ARRAY, sizeof(__u32), FIXED_VALUE(struct agent_info) },
	[XDP_MAP_WAKEUP] = { "wakeup", BPF_MAP_TYPE_ARRAY, sizeof(__u32), FIXED_VALUE(__u32) },
	[XDP_MAP_CLASS_ACTIONS] = { "class_actions", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				    FIXED_VALUE(struct class_traffic) },
	[XDP_MAP_ACTIVE] = { "active", BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			     FIXED_VALUE(struct active_instance) },
	[XDP_MAP_PORTS] = { "ports", BPF_MAP_TYPE_HASH, sizeof(__u32), FIXED_VALUE(struct attached_port) },
	[XDP_MAP_TEACH] = { "teach", BPF_MAP_TYPE_RINGBUF, 0, 0, 0 },
	[XDP_MAP_TEACH_INFO] = { "teach_info", BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				 FIXED_VALUE(struct teach_info) },
	[XDP_MAP_MODEL_LOAD] = { "model_load", BPF_MAP_TYPE_ARRAY, sizeof(__u32),
				 FIXED_VALUE(struct model_request) },
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

const char *xdp_counter_name(enum counter c)
{
#define COUNTER_NAME(id, name) [CNT_##id] = #name,
	static const char *const names[CNT_MAX] = { ODEFLOW_COUNTERS(COUNTER_NAME) };
#undef COUNTER_NAME

	return (unsigned)c < CNT_MAX ? names[c] : "?";
}

struct bpf_map *skel_map(const struct odeflow_bpf *skel, enum xdp_map map)
{
	return bpf_object__find_map_by_name(skel->obj, map_descs[map].name);
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

unsigned xdp_verdict_capacity(const struct xdp_options *o)
{
	return o->flow_capacity * ODEFLOW_VERDICTS_PER_FLOW;
}

uint64_t xdp_maps_bytes(const struct xdp_options *o)
{
	return hash_elem_bytes(sizeof(struct flow_key), FLOW_STATE_BYTES(o->window_n),
			       o->flow_capacity) +
	       hash_elem_bytes(sizeof(struct flow_key), sizeof(struct verdict),
			       xdp_verdict_capacity(o)) +
	       (uint64_t)ODEFLOW_FIRST_PACKET_BUCKETS * sizeof(struct first_packet_bucket) +
	       o->ring_bytes + ODEFLOW_TEACH_RING_BYTES;
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
	if (o->verdict_idle_ns && (o->verdict_idle_ns < NSEC_PER_SEC ||
				   o->verdict_idle_ns > XDP_MAX_VERDICT_IDLE_NS))
		return errmsg(err, errlen, "a verdict's idle time must be 0 (never) or 1 s to %llu s",
			      (unsigned long long)(XDP_MAX_VERDICT_IDLE_NS / NSEC_PER_SEC));
	if (o->flow_capacity < 1 || o->flow_capacity > UINT32_MAX / ODEFLOW_VERDICTS_PER_FLOW)
		return errmsg(err, errlen, "flow capacity must be 1 to %u",
			      UINT32_MAX / ODEFLOW_VERDICTS_PER_FLOW);
	if (o->ring_bytes < (unsigned)page || (o->ring_bytes & (o->ring_bytes - 1)))
		return errmsg(err, errlen,
			      "ring size %u is not a power of two of at least %ld bytes",
			      o->ring_bytes, page);
	if (!(o->teach_rate >= 0 && o->teach_rate <= 1))
		return errmsg(err, errlen, "teach rate %g is not from 0 to 1", o->teach_rate);
	if (o->hook != XDP_HOOK_XDP && o->hook != XDP_HOOK_TCX)
		return errmsg(err, errlen, "no such hook");
	if (!o->directions || (o->directions & ~(unsigned)(PORT_INGRESS | PORT_EGRESS)))
		return errmsg(err, errlen, "no such direction: in, out or both");
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
	_Static_assert(XDP_PIN_DIR_MAX + 32 <= PATH_MAX, "room for a pin's name");
	if (o->pin_dir && strlen(o->pin_dir) >= XDP_PIN_DIR_MAX)
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
	s->directions = o->directions;
	/* only the entry points of the hooks asked for */
	if (o->directions & PORT_INGRESS)
		s->prog = o->hook == XDP_HOOK_TCX ? skel->progs.odeflow_tc : skel->progs.odeflow_xdp;
	/* egress needs tcx: a kernel without it is not given the program (a
	 * verifier run of seconds on a slow CPU), and attach_egress says so */
	if ((o->directions & PORT_EGRESS) && (!(o->directions & PORT_INGRESS) || kernel_has_tcx()))
		s->egress_prog = skel->progs.odeflow_tc_egress;
	else if (o->directions & PORT_EGRESS)
		sampler_without_egress(s);
	if ((s->prog != skel->progs.odeflow_xdp &&
	     bpf_program__set_autoload(skel->progs.odeflow_xdp, false)) ||
	    (s->prog != skel->progs.odeflow_tc &&
	     bpf_program__set_autoload(skel->progs.odeflow_tc, false)) ||
	    (!s->egress_prog && bpf_program__set_autoload(skel->progs.odeflow_tc_egress, false)))
		return -1;
	skel->rodata->skip_n = o->skip;
	skel->rodata->resample_after_ns = o->resample_after_ns;
	/* rounded up to whole ticks; a verdict expires after more than that */
	skel->rodata->verdict_idle_ticks =
		(__u32)((o->verdict_idle_ns + (1ull << ODEFLOW_TICK_SHIFT) - 1) >> ODEFLOW_TICK_SHIFT);
	if (getrandom((void *)&skel->rodata->hash_seed, sizeof(skel->rodata->hash_seed), 0) !=
		    sizeof(skel->rodata->hash_seed) ||
	    getrandom((void *)&skel->rodata->instance, sizeof(skel->rodata->instance), 0) !=
		    sizeof(skel->rodata->instance))
		return -1;
	skel->rodata->instance |= 1; /* 0 means "no one" in "active" */
	skel->rodata->teach_below = (__u64)(o->teach_rate * (double)TEACH_ALL);
	if (skel->rodata->teach_below &&
	    getrandom((void *)&skel->rodata->teach_seed, sizeof(skel->rodata->teach_seed), 0) !=
		    sizeof(skel->rodata->teach_seed))
		return -1;
	s->rodata = *skel->rodata;
	if (bpf_map__set_max_entries(skel->maps.verdicts, xdp_verdict_capacity(o)) ||
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
	s->pin_lock_fd = -1;
	if (opts->pin_dir) {
		if (prepare_pin_dir(opts->pin_dir, &s->made_pin_dir, err, errlen))
			goto out;
		snprintf(s->pin_dir, sizeof(s->pin_dir), "%s", opts->pin_dir);
		if (lock_pin_dir(s->pin_dir, &s->pin_lock_fd, err, errlen))
			goto out;
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
		if (s->prog)
			bpf_program__set_log_buf(s->prog, log, VERIFIER_LOG_BYTES);
		if (s->egress_prog)
			bpf_program__set_log_buf(s->egress_prog, log, VERIFIER_LOG_BYTES);
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
			struct active_instance a = { 0 };
			__u32 zero = 0;

			s->pinned_here = pins_present(s) & ~found;
			if (!bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.active), &zero, &a))
				s->kept_instance = a.instance;
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
	while (s->nports)
		if (sampler_port_release(s, &s->ports[s->nports - 1], !s->keep, err, sizeof(err)))
			log_line(LOG_LEVEL_WARNING, "%s", err);
	free(s->ports);
	odeflow_bpf__destroy(s->skel);
	if (s->pin_lock_fd >= 0)
		close(s->pin_lock_fd); /* the next agent may start */
	free(s);
}

int xdp_sampler_prog_fd(const struct xdp_sampler *s)
{
	if (s->nports && s->ports[0].dispatched)
		return dispatched_prog_fd(s->ports[0].dispatched);
	return s->prog ? bpf_program__fd(s->prog) : -1;
}

int xdp_sampler_egress_prog_fd(const struct xdp_sampler *s)
{
	return s->egress_prog ? bpf_program__fd(s->egress_prog) : -1;
}

int xdp_sampler_map_fd(const struct xdp_sampler *s, enum xdp_map map)
{
	return (unsigned)map < XDP_MAP_COUNT ? bpf_map__fd(skel_map(s->skel, map)) : -1;
}

void xdp_sampler_teach(const struct xdp_sampler *s, uint64_t *seed, uint64_t *below)
{
	*seed = s->rodata.teach_seed;
	*below = s->rodata.teach_below;
}
