// SPDX-License-Identifier: MIT
/* The reader's half of the ring buffer's wakeup handshake; see window_ring.h. */
#include "window_ring.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/errmsg.h"

struct window_ring {
	struct ring_buffer *rb;
	uint32_t *asleep; /* the "wakeup" map's one value, shared with the XDP program */
	size_t asleep_bytes;
	ring_buffer_sample_fn on_record;
	void *ctx;
	int budget, taken; /* records this poll may still hand over */
};

/* A negative return ends libbpf's consume loop after committing the record
 * just read, so a poll hands over at most `budget` records even while the
 * ring never empties (libbpf 1.1 has no ring_buffer__consume_n). */
#define BUDGET_SPENT (-ERANGE)

static int take_record(void *ctx, void *data, size_t size)
{
	struct window_ring *r = ctx;
	int rc = r->on_record(r->ctx, data, size);

	if (rc < 0)
		return rc;
	return ++r->taken >= r->budget ? BUDGET_SPENT : 0;
}

/* Consumes up to the budget left; the number taken, or a negative errno. */
static int consume(struct window_ring *r)
{
	int before = r->taken, rc;

	if (r->taken >= r->budget)
		return 0;
	rc = ring_buffer__consume(r->rb);
	if (rc < 0 && rc != BUDGET_SPENT)
		return rc;
	return r->taken - before;
}

struct window_ring *window_ring_new(int windows_fd, int wakeup_fd, ring_buffer_sample_fn on_record,
				    void *ctx, char *err, size_t errlen)
{
	struct window_ring *r = calloc(1, sizeof(*r));

	if (!r) {
		errmsg(err, errlen, "out of memory");
		return NULL;
	}
	r->asleep_bytes = (size_t)sysconf(_SC_PAGESIZE);
	r->asleep = mmap(NULL, r->asleep_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, wakeup_fd, 0);
	if (r->asleep == MAP_FAILED) {
		errmsg(err, errlen, "mapping the wakeup flag: %s", strerror(errno));
		r->asleep = NULL;
		window_ring_free(r);
		return NULL;
	}
	r->on_record = on_record;
	r->ctx = ctx;
	r->rb = ring_buffer__new(windows_fd, take_record, r, NULL);
	if (!r->rb) {
		errmsg(err, errlen, "opening the windows ring buffer: %s", strerror(errno));
		window_ring_free(r);
		return NULL;
	}
	return r;
}

void window_ring_free(struct window_ring *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	if (r->asleep) {
		__atomic_store_n(r->asleep, 0, __ATOMIC_RELAXED); /* nobody left to wake */
		munmap(r->asleep, r->asleep_bytes);
	}
	free(r);
}

int window_ring_epoll_fd(const struct window_ring *r)
{
	return ring_buffer__epoll_fd(r->rb);
}

int window_ring_poll(struct window_ring *r, int epoll_fd, int timeout_ms, int budget)
{
	struct epoll_event events[4];
	int n;

	r->budget = budget;
	r->taken = 0;
	n = consume(r);
	if (n != 0 || timeout_ms == 0)
		return n;
	/* Raise the flag, then look again: the XDP program commits a window,
	 * then reads the flag, so either it sees the flag and wakes us, or
	 * this second look finds its window. The fence orders the flag's store
	 * before the ring's load. */
	__atomic_store_n(r->asleep, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	n = consume(r);
	if (n == 0 && epoll_wait(epoll_fd, events, 4, timeout_ms) < 0)
		n = -errno;
	/* Awake: windows from now on need no wakeup. If a window woke us, the
	 * program has lowered the flag already. */
	__atomic_store_n(r->asleep, 0, __ATOMIC_RELAXED);
	return n != 0 ? n : consume(r);
}
