/* SPDX-License-Identifier: MIT */
/* The loader's own view of a sampler, shared by its files and used nowhere
 * else: xdp_loader.c configures and loads it, pin_dir.c keeps its pin
 * directory, sampler_attach.c attaches it, map_ops.c reads and writes its
 * maps at run time. */
#ifndef ODEFLOW_SAMPLER_H
#define ODEFLOW_SAMPLER_H

#include <bpf/libbpf.h>
#include <limits.h>
#include <net/if.h>
#include <stdbool.h>

#include "xdp_loader.h"
#include "odeflow.skel.h"

#define BPFFS_ROOT "/sys/fs/bpf"
#define VERIFIER_LOG_BYTES (1u << 20)
#define VERIFIER_LOG_TAIL_LINES 12
#define NEEDS_PRIVILEGES " (needs root with CAP_BPF and CAP_NET_ADMIN)"

/* One interface the sampler is attached to. */
struct sampler_port {
	int ifindex;
	char ifname[IF_NAMESIZE];
	unsigned hooks;          /* enum port_hooks: where it is attached here */
	int link_fd[2];          /* [0] ingress, [1] egress: -1 unless attached through a link */
	char link_pin[2][PATH_MAX]; /* "" unless the link is pinned */
	/* attached through libxdp's dispatcher: this copy of the program, an
	 * extension that runs inside it, with the maps of skel */
	struct odeflow_bpf *ext;
	struct dispatched *dispatched;
	enum xdp_mode mode;      /* the XDP mode it got */
	bool took_over;          /* attached in the place of what a --keep run left */
};

struct xdp_sampler {
	struct odeflow_bpf *skel;
	enum xdp_hook hook;
	unsigned directions;     /* enum port_hooks asked for */
	struct bpf_program *prog; /* the ingress hook's entry point; NULL when not loaded */
	struct bpf_program *egress_prog; /* TC egress's; NULL when not loaded */
	struct odeflow_bpf__rodata rodata; /* what it was loaded with */
	char pin_dir[PATH_MAX];  /* "" when not pinning */
	bool made_pin_dir;       /* this sampler created pin_dir */
	int pin_lock_fd;         /* pin_dir, flock'd while the sampler lives; -1 */
	unsigned pinned_here;    /* bit m: map m was pinned by this sampler, not reused */
	/* the "instance" of a sampler a --keep run left working (map
	 * "active" when this one was opened): its copies in libxdp's
	 * dispatchers are told to work while this one's join them */
	__u64 kept_instance;
	struct sampler_port *ports;
	int nports, ports_cap;
	bool keep;               /* stays attached when closed */
	bool no_tcx_egress;      /* this kernel has no tcx: egress is not seen */
	char note[512];          /* why the last attach did not share the XDP hook; "" */
	char egress_note[256];   /* why egress is not seen; "" */
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

extern const struct map_desc map_descs[XDP_MAP_COUNT];

/* The object's map for `map`, found by its name in map_descs (the
 * skeleton's variable names). */
struct bpf_map *skel_map(const struct odeflow_bpf *skel, enum xdp_map map);

/* Whether this kernel attaches at tc through tcx links (6.6 and later). */
bool kernel_has_tcx(void);

/* Egress is not seen here (no tcx): said once, by xdp_sampler_egress_note. */
void sampler_without_egress(struct xdp_sampler *s);

/* Makes pin_dir, on a bpffs (see pin_dir.c); *made: this call created it. */
int prepare_pin_dir(const char *pin_dir, bool *made, char *err, size_t errlen);

/* One live sampler per pin dir: takes an exclusive flock on the pin dir,
 * held (*lock_fd) for as long as the sampler lives; the kernel releases it
 * when the process ends, however it ends. A pin dir held by another
 * process is refused with one line naming the agent that holds it, before
 * any map is loaded, written or pinned. */
int lock_pin_dir(const char *pin_dir, int *lock_fd, char *err, size_t errlen);

/* Where a --keep run pins the link of an interface's hook:
 * PIN_DIR/link_IF (ingress) or PIN_DIR/link_IF:egress (interface names
 * never hold a ':', bpffs names never a '.'). -1 when it does not fit. */
int xdp_link_pin_path(const char *pin_dir, const char *ifname, bool egress, char *out, size_t len);

/* Takes the sampler off the port (with detach; else only lets go of it:
 * what is pinned stays) and removes the port from s->ports. */
int sampler_port_release(struct xdp_sampler *s, struct sampler_port *p, bool detach, char *err,
			 size_t errlen);

/* Bit m set: map m's pin exists in the sampler's pin dir. */
unsigned pins_present(const struct xdp_sampler *s);

#endif
