/* SPDX-License-Identifier: MIT */
/* A completed window as userspace holds it: decoded from the XDP program's
 * ring record (struct ring_window, N slots) or built from a capture
 * (sessions.c). It has room for the largest N, so batches of windows are
 * plain arrays. */
#ifndef ODEFLOW_WINDOW_RECORD_H
#define ODEFLOW_WINDOW_RECORD_H

#include <stddef.h>

#include "odeflow.h"

struct window_record {
	struct flow_key key;
	__u64 first_ns;                     /* arrival of packet 0 (bpf_ktime_get_ns) */
	__u64 last_ns;                      /* arrival of packet n-1: start of the latency clock */
	__u16 window;                       /* 0 for the direction's first window */
	__u16 n;
	__u32 ifindex;                      /* the interface it was seen on; 0: a capture's */
	__u8 egress;                        /* 1: seen at an egress hook */
	__u8 pad;
	__u16 sizes[ODEFLOW_MAX_WINDOW];    /* IP total length, bytes */
	__u32 offset_us[ODEFLOW_MAX_WINDOW];/* arrival time, microseconds after first_ns */
};

/* Decodes one ring record of `size` bytes into out. -1 if it is not one
 * whole window (too short, or n outside 2..64). */
int window_record_decode(const void *data, size_t size, struct window_record *out);

#endif
