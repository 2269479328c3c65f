/* SPDX-License-Identifier: MIT */
/* What the tests that run the sampler's programs on crafted frames share: a
 * freshly loaded sampler (clean maps and counters, TEST_N packets a window,
 * nothing pinned) with its ring reader, the counters' changes and the
 * windows delivered. Define TEST_N (and MAX_RECORDS if 512 is not right)
 * before including it. */
#ifndef ODEFLOW_TEST_SAMPLER_FIXTURE_H
#define ODEFLOW_TEST_SAMPLER_FIXTURE_H

#include <limits.h>

#include "harness.h"
#include "loader/map_ops.h"
#include "loader/window_ring.h"
#include "loader/xdp_loader.h"
#include "window_records.h"

struct fixture {
	struct xdp_sampler *s;
	struct window_ring *ring;
	uint64_t counters[CNT_MAX];
};

/* A fresh sampler with skip, resampling and verdict idle options of its own;
 * skips the test without root. */
static inline int fixture_open_with(struct fixture *f, unsigned ring_bytes, unsigned skip,
				    uint64_t resample_after_ns, uint64_t verdict_idle_ns)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	char err[4096];

	memset(f, 0, sizeof(*f));
	n_records = 0;
	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return -1;
	}
	o.window_n = TEST_N;
	o.flow_capacity = 1024;
	o.ring_bytes = ring_bytes;
	o.skip = skip;
	o.resample_after_ns = resample_after_ns;
	o.verdict_idle_ns = verdict_idle_ns;
	o.pin_dir = NULL;
	if (xdp_sampler_open(&o, &f->s, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		return -1;
	}
	f->ring = window_ring_new(xdp_sampler_map_fd(f->s, XDP_MAP_WINDOWS),
				  xdp_sampler_map_fd(f->s, XDP_MAP_WAKEUP), on_record, NULL, err,
				  sizeof(err));
	CHECKF(f->ring != NULL, "%s", err);
	return f->ring ? 0 : -1;
}

static inline int fixture_open(struct fixture *f, unsigned ring_bytes)
{
	return fixture_open_with(f, ring_bytes, 0, ODEFLOW_RESAMPLE_AFTER_NS, ODEFLOW_VERDICT_IDLE_NS);
}

static inline void fixture_close(struct fixture *f)
{
	window_ring_free(f->ring);
	xdp_sampler_close(f->s);
}

/* Counter changes since the last call. */
static inline void counter_delta(struct fixture *f, uint64_t delta[CNT_MAX])
{
	uint64_t now[CNT_MAX];

	CHECK(xdp_read_counters(xdp_sampler_map_fd(f->s, XDP_MAP_COUNTERS), now) == 0);
	for (int i = 0; i < CNT_MAX; i++) {
		delta[i] = now[i] - f->counters[i];
		f->counters[i] = now[i];
	}
}

/* The windows the ring holds, into records[]; how many. */
static inline int drain(struct fixture *f)
{
	n_records = 0;
	window_ring_poll(f->ring, window_ring_epoll_fd(f->ring), 0, INT_MAX);
	return n_records;
}

#endif
