/* SPDX-License-Identifier: MIT */
/* One-directional sessions keyed by the 5-tuple (struct flow_key), as in the
 * ODE-Flow parser, and the windows of N consecutive packets cut from them.
 * Sessions never time out: a capture is read whole. In every mode a
 * direction's first window starts after its first `skip` packets (packets
 * skip..skip+N-1, counting from 0); later windows follow on consecutively. */
#ifndef ODEFLOW_SESSIONS_H
#define ODEFLOW_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/window_record.h"
#include "common/window_start.h"

enum window_mode {
	WINDOWS_ALL,    /* every non-overlapping window, up to max_windows: the ODE-Flow
			 * dataset generator (skip 0, no limit) */
	WINDOWS_KERNEL, /* the XDP sampler: one window, the next N only when re-armed */
};

/* How windows are cut from each direction. */
struct window_cut {
	int window;            /* N: ODEFLOW_MIN_WINDOW..ODEFLOW_MAX_WINDOW */
	enum window_mode mode;
	int skip;              /* packets before the first window: 0..ODEFLOW_MAX_SKIP */
	int max_windows;       /* WINDOWS_ALL: at most this many per direction; 0: all */
};

/* A completed window. rec is what the XDP program would emit: key, window
 * number, sizes, first/last arrival and offsets in microseconds from packet
 * 0, cut (not rounded) to whole microseconds as the kernel divides. */
struct session_window {
	struct window_record rec;
	uint64_t session;           /* directions numbered in order of their first packet */
	uint64_t session_first_ns;  /* arrival of the direction's first packet */
	uint64_t first_packet;      /* index of packet 0 among the direction's packets */
	uint64_t ts_ns[ODEFLOW_MAX_WINDOW]; /* arrival times, ns since the epoch */
};

enum session_event {
	SESSION_PACKET_TAKEN,       /* recorded, or passed over (skipped, or no more windows) */
	SESSION_WINDOW_DONE,        /* this packet completed *out */
	SESSION_AWAITING_DECISION,  /* WINDOWS_KERNEL: the direction's last window has no
				     * decision yet; packet NOT taken (see sessions_add) */
};

struct sessions;

/* NULL if out of memory or a field of cut is out of range. */
struct sessions *sessions_new(const struct window_cut *cut);
void sessions_free(struct sessions *s);

/* Adds one sampled packet (its IP total length and arrival time) to its
 * direction. A time earlier than the direction's previous packet (capture
 * reordering) is raised to it, so times within a window never decrease.
 * In WINDOWS_KERNEL mode, a direction whose window was emitted waits for
 * sessions_rearm or sessions_close; offline the decision is instantaneous,
 * so the caller decides the pending windows and adds the packet again.
 * Returns a session_event, or -1 when out of memory. */
int sessions_add(struct sessions *s, const struct flow_key *key, uint16_t ip_len,
		 uint64_t ts_ns, struct session_window *out);

/* WINDOWS_KERNEL: has the direction emitted a window that has no decision yet? */
bool sessions_awaiting(const struct sessions *s, const struct flow_key *key);
/* WINDOWS_KERNEL: the direction's next window starts with its next packet. */
void sessions_rearm(struct sessions *s, const struct flow_key *key);
/* The direction records nothing more, from any phase: decided, or (as a
 * final verdict does in the kernel) stopped in the middle of a window. */
void sessions_close(struct sessions *s, const struct flow_key *key);

/* Packets whose time was raised to keep a direction's times in order. */
uint64_t sessions_reordered(const struct sessions *s);
/* Says so on out, naming the capture, if there were any. */
void sessions_report(FILE *out, const char *name, const struct sessions *s);

#endif
