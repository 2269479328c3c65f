/* SPDX-License-Identifier: MIT */
/* Types shared by the XDP program (bpf/odeflow.bpf.c) and userspace.
 * Every map value here is read by operators through bpftool, so fields are
 * plain integers with names that explain themselves. */
#ifndef ODEFLOW_H
#define ODEFLOW_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ODEFLOW_MAX_WINDOW   64   /* largest N a window may have */
#define ODEFLOW_MIN_WINDOW   2
#define ODEFLOW_DEFAULT_WINDOW 20
#define ODEFLOW_MAX_CLASSES  16
#define ODEFLOW_CLASS_NAME_LEN 32 /* bytes of a class name, its NUL included */
#define ODEFLOW_DEFAULT_FLOWS 262144
/* "verdicts" holds this many connections for each entry of "flows": a
 * connection needs its direction's entry only while a window fills, and its
 * verdict for as long as it lives, so live connections outnumber directions
 * being sampled. With fewer verdicts than live decided connections, each
 * verdict the LRU evicts costs its connection a window of N packets. */
#define ODEFLOW_VERDICTS_PER_FLOW 4
/* A direction is skipped for its first K packets at most (odeflow run --skip). */
#define ODEFLOW_MAX_SKIP 1000
/* A direction whose window got no verdict within this long (the window was
 * lost, the agent died, its verdict was evicted, the model failed on it) is
 * sampled again by the XDP program itself. */
#define ODEFLOW_RESAMPLE_AFTER_NS (2 * NSEC_PER_SEC)
/* A verdict no packet of its connection has found for this long expires
 * in the kernel (odeflow run --verdict-idle), lazily: the connection's next
 * packet finds it gone, and the connection is sampled again. Time is kept
 * in ticks of bpf_ktime_get_coarse_ns() >> ODEFLOW_TICK_SHIFT (about a
 * second), so expiry comes within a tick of the idle time. */
#define ODEFLOW_VERDICT_IDLE_S 300
#define ODEFLOW_VERDICT_IDLE_NS (ODEFLOW_VERDICT_IDLE_S * NSEC_PER_SEC)
#define ODEFLOW_TICK_SHIFT 30
/* "first_packets": directions seen once, not yet admitted into "flows",
 * in buckets of ODEFLOW_FIRST_PACKET_WAYS slots (a cache line: 16 bytes a
 * slot) where the newest first packet takes the place of the oldest. Sized
 * so that a held first packet outlives a flood: at 300,000 one-packet
 * directions a second, a bucket sees about one newcomer a second, so a
 * direction's first packet waits several seconds for its second. */
#define ODEFLOW_FIRST_PACKET_WAYS 4
#define ODEFLOW_FIRST_PACKET_BUCKETS 262144 /* a power of two */
#define ODEFLOW_FIRST_PACKET_SLOTS (ODEFLOW_FIRST_PACKET_WAYS * ODEFLOW_FIRST_PACKET_BUCKETS)
/* odeflow run --teach: the first packets of each direction of a sampled
 * connection, each up to this many bytes from its IP header on, are copied
 * into the ring "teach" for nDPI. Measured with tools/bench/ndpi_needs on the
 * lab's captures and ../shared/pcaps (user/teach/README.md): whole packets
 * of an Ethernet MTU are needed (Chromium's TLS client hello, with its
 * post-quantum key share, fills two segments), and 4, 5 and 6 packets of
 * each direction give 99.1%, 99.9% and all of the labels the whole capture
 * gives. A larger packet (jumbo frames) is cut, and the teacher does not
 * inspect a cut packet. */
#define ODEFLOW_TEACH_PACKETS 6
#define ODEFLOW_TEACH_BYTES 1500
/* Size of the ring "teach": fixed, so a restarted agent reuses the pinned
 * ring with or without --teach. */
#define ODEFLOW_TEACH_RING_BYTES (4u << 20)
/* The sampler's run priority in libxdp's multi-program dispatcher (lower
 * runs first; libxdp's default is 50, xdp-filter's 10): after the
 * firewalls, so what they drop is never sampled, and before the programs
 * that take packets away (XDP_TX, XDP_REDIRECT), so what they take is. */
#define ODEFLOW_XDP_RUN_PRIO 20
/* Interfaces one sampler may be attached to (map "ports"). */
#define ODEFLOW_MAX_PORTS 256

/* What both packet parsers read, the XDP program's and the offline tools'
 * (user/capture/packet.c), which tests/fuzz/fuzz_xdp.c holds to the same
 * answers: the ethertypes, how many VLAN tags and IPv6 extension headers
 * are walked, and the fields of the fragment headers (host order). */
#define ODEFLOW_ETH_P_IPV4 0x0800
#define ODEFLOW_ETH_P_IPV6 0x86DD
#define ODEFLOW_ETH_P_8021Q 0x8100
#define ODEFLOW_ETH_P_8021AD 0x88A8
#define ODEFLOW_MAX_VLAN_TAGS 2       /* 802.1ad outer, 802.1Q inner */
#define ODEFLOW_MAX_IPV6_EXT 6        /* more is malformed */
#define ODEFLOW_IPPROTO_HOPOPTS 0
#define ODEFLOW_IPPROTO_TCP 6
#define ODEFLOW_IPPROTO_UDP 17
#define ODEFLOW_IPPROTO_ROUTING 43
#define ODEFLOW_IPPROTO_FRAGMENT 44
#define ODEFLOW_IPPROTO_DSTOPTS 60
#define ODEFLOW_IP_OFFSET_MASK 0x1fff  /* IPv4 fragment offset */
#define ODEFLOW_IP_MF 0x2000           /* IPv4: more fragments follow */
#define ODEFLOW_IP6_OFFSET_MASK 0xfff8 /* IPv6 fragment offset */
#define ODEFLOW_IP6_MF 0x0001          /* IPv6: more fragments follow */

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_USEC 1000ULL

/* One direction of a connection. IPv4 addresses are stored IPv4-mapped
 * (::ffff:a.b.c.d) so both families share one key layout. Ports are in host
 * byte order so bpftool prints them readably. */
struct flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* The state of one direction while the XDP program samples it. */
enum flow_phase {
	FLOW_SAMPLING = 0, /* recording packets into the current window */
	FLOW_EMITTED = 1,  /* window sent; waits until userspace re-arms it, or
			    * ODEFLOW_RESAMPLE_AFTER_NS passes without a verdict */
};

/* The state of one direction while the XDP program samples it. A value of
 * map "flows" is this head followed by the window's N slots,
 * FLOW_STATE_BYTES(N) bytes in all: N arrival times (__u32, microseconds
 * after first_ns), then N IP sizes (__u16). The loader sizes the values by
 * the N it loads (user/loader/flows_map.c): at N = 20 an entry takes 136 bytes
 * instead of the 400 the largest N needs, so the map and the memory a packet
 * touches shrink by two thirds. */
struct flow_state {
	__u64 first_ns;                     /* bpf_ktime_get_ns() of the window's first packet;
					     * once emitted, of the emission */
	__u32 count;                        /* packets claimed in the current window (window 0:
					     * the skipped ones too) */
	__u16 window;                       /* 0 for the first window of this direction */
	__u16 phase;                        /* enum flow_phase */
	/* The connection's verdict as the agent decided it on this direction's
	 * window (written with the verdict): what enforcement needs, so the
	 * direction stays enforced when "verdicts" has lost the connection. */
	__u8 class_id;
	__u8 decision;                      /* enum flow_decision bits; 0: none yet */
	__u16 pad;
	__u32 seen_tick;                    /* the decision's last use (see struct verdict);
					     * 0: written, not used yet */
};

enum flow_decision {
	FLOW_DECIDED = 1,      /* class_id holds the connection's verdict */
	FLOW_PROVISIONAL = 2,  /* ... a provisional one (enforce() says what that may do) */
	FLOW_VERDICT_LOST = 4, /* "verdicts" lost it while this entry enforced it (counted) */
	FLOW_UNKNOWN = 8,      /* ... the outcome Unknown (enforced as a guess, as a verdict) */
};

/* The slots of a window of n packets that follow a head (struct flow_state
 * or struct ring_window): arrival times first, sizes after them. */
#define WINDOW_SLOT_BYTES 6
#define FLOW_STATE_BYTES(n) (sizeof(struct flow_state) + WINDOW_SLOT_BYTES * (n))

static inline __u32 *slot_offsets_us(void *head_end)
{
	return (__u32 *)head_end;
}

static inline __u16 *slot_sizes(void *head_end, __u32 n)
{
	return (__u16 *)((__u32 *)head_end + n);
}

/* A direction's first packet, held in "first_packets" until its second
 * arrives: only then does the direction take an entry of "flows", so a flood
 * of one-packet flows (scans, SYN floods, spoofed sources) costs no LRU
 * insert and evicts no real flow's state. */
struct first_packet {
	__u32 tag;                          /* a hash of the direction's key; 0: empty */
	__u16 ip_len;
	__u16 pad;
	__u64 ts_ns;
};

/* A value of "first_packets": the held first packets of the directions
 * that hash to it. */
struct first_packet_bucket {
	struct first_packet slot[ODEFLOW_FIRST_PACKET_WAYS];
};

/* Room for any value of "flows" (userspace reads and writes them whole). */
struct flow_state_buf {
	struct flow_state head;
	__u8 slots[WINDOW_SLOT_BYTES * ODEFLOW_MAX_WINDOW];
};

/* One completed window as the XDP program emits it into the "windows" ring
 * buffer: this head followed by its n slots, RING_WINDOW_BYTES(n) bytes in
 * all. Userspace decodes it with window_record_decode (user/common/window_record.h). */
struct ring_window {
	struct flow_key key;
	__u64 first_ns;                     /* arrival of packet 0 (bpf_ktime_get_ns) */
	__u64 last_ns;                      /* arrival of packet n-1: start of the latency clock */
	__u16 window;
	__u8 n;
	__u8 egress;                        /* 1: seen at an egress hook, 0: at an ingress one */
	__u32 ifindex;                      /* the interface of its last packet */
};

#define RING_WINDOW_BYTES(n) (sizeof(struct ring_window) + WINDOW_SLOT_BYTES * (n))

/* One packet of a taught connection as the program copies it into the
 * "teach" ring: this head, then `captured` bytes of the datagram from its
 * IP header on. Decoded by user/teach/teach_record.c. */
struct teach_packet {
	struct flow_key key;                /* the packet's direction */
	__u64 ts_ns;                        /* arrival (bpf_ktime_get_ns) */
	__u16 ip_len;                       /* the datagram's length: more than captured when cut */
	__u16 captured;                     /* bytes that follow, at most ODEFLOW_TEACH_BYTES */
	__u32 pad;
};

/* Room for the largest record (the program builds it here, off its stack). */
struct teach_packet_buf {
	struct teach_packet head;
	__u8 bytes[ODEFLOW_TEACH_BYTES];
};

enum verdict_flags {
	VERDICT_PROVISIONAL = 1, /* below the threshold: the cascade is still collecting windows */
	/* The agent has seen the first window of the connection's forward
	 * (canonical) or reverse direction. A final verdict stops sampling only
	 * for a direction already seen, so each direction with N packets still
	 * yields its first window (and event) even when the other direction
	 * decided the connection; after both, a classified packet costs one
	 * lookup. */
	VERDICT_SEEN_FORWARD = 2,
	VERDICT_SEEN_REVERSE = 4,
	/* The fast model ended unsure (or with Unknown), and the class is the
	 * one nDPI found in the connection's payload (--teach): stage "dpi". */
	VERDICT_DPI = 8,
	/* The connection's windows are unlike what the model learnt: its
	 * class_id is the outcome Unknown (the model's class count), which a
	 * policy may mark but never drops or rate-limits. */
	VERDICT_UNKNOWN = 16,
};

/* Map "active" (one entry): the program that works on an interface while
 * two are attached there. A restart that takes over the program a --keep
 * run left in libxdp's dispatcher adds its own first (it stands aside, as
 * this says the old one's instance), switches this entry to itself, then
 * removes the old one: no packet goes through both, none through neither.
 * instance 0: every program works. */
struct active_instance {
	__u64 instance; /* the rodata "instance" of the program that works */
	__u32 ifindex;  /* on this interface; programs elsewhere ignore it */
	__u32 pad;
};

/* Keyed by the canonical flow key (flow_key_canonical): one entry per connection. */
struct verdict {
	__u8 class_id;
	__u8 stage;          /* number of windows that went into this verdict (1 = first window) */
	__u8 flags;          /* enum verdict_flags */
	__u8 egress;         /* VERDICT_SEEN_* bits: directions whose windows came from an egress hook */
	__u32 confidence_ppm;/* top class probability, parts per million */
	__u64 decided_ns;    /* bpf_ktime_get_ns() clock (CLOCK_MONOTONIC) when written */
	__u32 model_id;
	__u32 seen_tick;     /* bpf_ktime_get_coarse_ns() >> ODEFLOW_TICK_SHIFT when a packet
			      * last found it (kept by the XDP program; 0: not yet) */
	/* The interface each direction's windows came from (for `odeflow
	 * flows`; the program does not read it): [0] the forward (canonical)
	 * direction's, [1] the reverse's; 0 until its first window. */
	__u32 ifindex[2];
};

enum policy_action {
	ACTION_PASS = 0,
	ACTION_DROP = 1,
	ACTION_MARK = 2,       /* rewrite IPv4 DSCP / IPv6 traffic class */
	ACTION_RATE_LIMIT = 3, /* token bucket per class; over the limit drops */
	ACTION_COUNT
};

/* What the policy did to a packet of a classified connection: the key of
 * map "class_actions" is class_id * OUTCOME_COUNT + outcome. A provisional
 * or Unknown verdict's DROP or RATE_LIMIT counts as the PASS it was. */
enum policy_outcome {
	OUTCOME_PASS = 0,
	OUTCOME_DROP = 1,
	OUTCOME_MARK = 2,
	OUTCOME_RATE_PASS = 3, /* within its class's rate limit */
	OUTCOME_RATE_DROP = 4, /* over it */
	OUTCOME_COUNT
};

#define ODEFLOW_CLASS_ACTIONS (ODEFLOW_MAX_CLASSES * OUTCOME_COUNT)
/* Buckets "rate_buckets" holds: one per class, port and hook. */
#define ODEFLOW_RATE_BUCKETS (ODEFLOW_MAX_CLASSES * ODEFLOW_MAX_PORTS * 2)

/* A value of "class_actions" (per CPU): packets and their IP bytes. */
struct class_traffic {
	__u64 packets;
	__u64 bytes;
};

struct policy {
	__u32 action;          /* enum policy_action */
	__u32 dscp;            /* for ACTION_MARK: 0..63 */
	__u64 rate_bytes;      /* for ACTION_RATE_LIMIT: bytes per second */
	__u64 burst_bytes;     /* for ACTION_RATE_LIMIT: bucket depth */
};

/* The interfaces the sampler is attached to (map "ports", keyed by ifindex,
 * written by the loader): at which hooks. A packet forwarded from one of
 * them to another is sampled and enforced once, at the ingress hook that
 * saw it first; the egress hook it leaves through passes it untouched. */
enum port_hooks {
	PORT_INGRESS = 1,
	PORT_EGRESS = 2,
};

struct attached_port {
	__u32 hooks;          /* enum port_hooks bits */
	__u32 pad;
	char name[16];        /* the interface's name when attached */
};

/* Rate limits are per direction of the link: each class has a token
 * bucket for every interface and hook the sampler enforces at (map
 * "rate_buckets", made by the program on a class's first packet there).
 * On a host that is one for what arrives and one for what leaves; on a
 * router, one for what arrives at each port: each way through it. */
struct rate_key {
	__u32 class_id;
	__u32 ifindex;
	__u32 egress;         /* 1: an egress hook */
};

/* Rate-limit state of one bucket (map "rate_buckets"), a token bucket kept
 * as its theoretical arrival time (GCRA): the bucket holds
 * burst - (tat_ns - now) * rate tokens, so one 64-bit time replaces a token
 * count and a refill clock, with no rounding on refill. Writing a class's
 * policy removes its buckets: the next packet starts a full one. */
struct rate_bucket {
#ifdef __VMLINUX_H__
	struct bpf_spin_lock lock;
#else
	__u32 lock; /* struct bpf_spin_lock, which userspace never takes: not
		     * from <linux/bpf.h>, whose struct bpf_insn clashes with libpcap's */
#endif
	__u32 pad;
	__u64 tat_ns;          /* bpf_ktime_get_ns() clock */
};

/* What the running agent publishes about itself (map "agent", one entry),
 * so `odeflow flows`, `stats`, `top` and bpftool can name the classes and
 * show the agent's health from another shell. Written by the agent only. */
struct agent_info {
	__u32 pid;            /* 0: no agent has run since the maps were pinned */
	__u32 model_id;
	__u32 window_n;
	__u32 num_classes;    /* the outcomes a verdict may name: the model's classes,
			       * then "Unknown" (VERDICT_UNKNOWN) */
	__u64 started_ns;     /* bpf_ktime_get_ns() clock */
	__u64 heartbeat_ns;   /* refreshed at least every 100 ms while running */
	__u64 windows_classified;
	__u64 windows_failed; /* the model failed on them: no verdict (sampled again) */
	__u64 batches;
	__u64 latency_p50_us; /* Nth packet in XDP to verdict in the map, since the start */
	__u64 latency_p90_us;
	__u64 latency_p99_us;
	__u64 latency_p999_us;
	__u64 latency_recent_p50_us; /* the same over the last 10 s */
	__u64 latency_recent_p99_us;
	__u64 rearms_lost;    /* the direction had left "flows" before its re-arm */
	__u64 verdicts_restored; /* enforced connections the kernel had lost entirely (their
				  * verdict and their direction's state), decided again from
				  * the agent's memory on their next window */
	__u64 events_dropped; /* events not written: the queue was full or the output failed */
	char iface[16];
	char class_names[ODEFLOW_MAX_CLASSES][ODEFLOW_CLASS_NAME_LEN];
};

/* What the teacher (odeflow run --teach, user/teach/) publishes about
 * itself in map "teach_info" (one entry), for `odeflow stats` and
 * /metrics. Written by the agent only. */
struct teach_info {
	__u32 pid;                /* the agent that teaches; 0: none */
	__u32 rate_ppm;           /* --teach RATE, parts per million */
	__u64 packets;            /* copied packets nDPI inspected */
	__u64 packets_dropped;    /* ... the teacher let go: over its CPU budget, or
				   * its table of connections was full */
	__u64 connections;        /* connections it followed */
	__u64 connections_now;    /* ... and follows now */
	__u64 labelled;           /* nDPI found them by inspection, and the class map named a class */
	__u64 unlabelled;         /* guessed, unknown, ignored or matched no rule */
	__u64 cpu_us;             /* the teacher thread's CPU time */
	__u64 memory_bytes;       /* what the teacher holds now: nDPI's memory and its tables */
	__u64 dpi_verdicts;       /* verdicts that took nDPI's class (stage dpi) */
	__u64 windows_saved;      /* labelled windows written to the site data set */
	__u64 windows_dropped;    /* ... not written: no label in time, queue full, disk errors */
	__u64 site_bytes;         /* the site data set's size on disk */
	__u64 learn_runs;         /* --learn-every: fine-tunings run */
	__u64 models_learnt;      /* ... that wrote a better model (then loaded) */
	/* Per nDPI class k: connections nDPI labelled k that the fast model
	 * decided (final, before any dpi verdict), and how many of those it
	 * named k: a live accuracy estimate. */
	__u64 checked[ODEFLOW_MAX_CLASSES];
	__u64 agreed[ODEFLOW_MAX_CLASSES];
};

/* Map "model_load" (one entry): `odeflow model load FILE` asks the running
 * agent to take another model without a restart, and the agent answers in
 * the same entry; it also names the file of the model that runs. */
#define ODEFLOW_MODEL_PATH_LEN 256
struct model_request {
	__u64 asked;          /* the command's: raised for each request */
	__u64 answered;       /* the agent's: the last request it answered */
	__s32 status;         /* of that answer: 0 loaded, -1 refused */
	__u32 model_id;       /* the agent's: the model that runs now */
	char path[ODEFLOW_MODEL_PATH_LEN];    /* the command's: the file asked for (absolute) */
	char running[ODEFLOW_MODEL_PATH_LEN]; /* the agent's: the file of the model that runs */
	char message[256];    /* the agent's answer, one line */
};

/* Per-CPU counters: map "counters" holds one struct counters per CPU, so
 * the XDP program looks them up once per packet and bpftool prints them by
 * name. One list makes the struct's fields, the enum userspace indexes the
 * summed values by (the struct read as __u64[CNT_MAX]) and the names
 * `odeflow stats` prints. */
#define ODEFLOW_COUNTERS(X)                                                           \
	X(PACKETS, packets)                                                            \
	X(BYTES, bytes)                                                                \
	X(TCP, tcp)                                                                    \
	X(UDP, udp)                                                                    \
	X(NON_IP, non_ip)                                                              \
	X(OTHER_L4, other_l4)                 /* IP but neither TCP nor UDP */         \
	X(FRAGMENTS, fragments)               /* non-first IP fragments: not sampled */\
	X(MALFORMED, malformed)               /* truncated or inconsistent headers, TCP   \
					       * data offsets or UDP lengths that do not   \
					       * fit: what the stack would discard */      \
	X(FIRST_PACKETS, first_packets)       /* directions seen once, held for admission */\
	X(ADMIT_OVERWRITES, admit_overwrites) /* a held first packet overwritten before  \
					       * its direction's second one came */        \
	X(NEW_FLOWS, new_flows)               /* directions admitted into "flows" */   \
	X(WINDOWS, windows)                   /* windows emitted */                    \
	X(RING_DROPS, ring_drops)             /* windows lost: the ring was full */    \
	X(VERDICT_HITS, verdict_hits)         /* packets of a flow with a verdict */   \
	X(ACTION_PASS, action_pass)                                                    \
	X(ACTION_DROP, action_drop)                                                    \
	X(ACTION_MARK, action_mark)                                                    \
	X(ACTION_RATE_DROP, action_rate_drop) /* dropped by a rate limit */            \
	X(ACTION_RATE_PASS, action_rate_pass) /* passed within a rate limit */         \
	X(TORN_WINDOWS, torn_windows)         /* restarted: two CPUs raced on one direction */\
	X(RESAMPLED, resampled)               /* sampled again: no verdict came in time */\
	X(AGENT_WAKEUPS, agent_wakeups)       /* windows that woke the sleeping agent */   \
	X(ENFORCED_EVICTED, enforced_evicted) /* connections "verdicts" lost, enforced on  \
					       * from their direction's state */ \
	X(EGRESS_FORWARDED, egress_forwarded) /* egress packets passed untouched: sampled \
					       * and enforced at their ingress already */\
	X(TEACH_PACKETS, teach_packets)       /* packets copied for the teacher (--teach) */\
	X(TEACH_RING_DROPS, teach_ring_drops) /* ... lost: its ring was full */

#define ODEFLOW_COUNTER_ENUM(id, name) CNT_##id,
enum counter { ODEFLOW_COUNTERS(ODEFLOW_COUNTER_ENUM) CNT_MAX };
#undef ODEFLOW_COUNTER_ENUM

#define ODEFLOW_COUNTER_FIELD(id, name) __u64 name;
struct counters { ODEFLOW_COUNTERS(ODEFLOW_COUNTER_FIELD) };
#undef ODEFLOW_COUNTER_FIELD

#endif
