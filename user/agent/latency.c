/* SPDX-License-Identifier: MIT */
#include "latency.h"

#include <string.h>

#include "common/clock.h"

#define SUB_BITS LATENCY_SUB_BITS
#define SUB (1 << SUB_BITS)

/* Values below SUB have a bucket each; above, each power of two p is split
 * into SUB buckets. */
static int bucket_of(uint64_t us)
{
	int p, b;

	if (us < SUB)
		return (int)us;
	p = 63 - __builtin_clzll(us);
	b = (p - SUB_BITS + 1) * SUB + (int)((us >> (p - SUB_BITS)) & (SUB - 1));
	return b < LATENCY_BUCKETS ? b : LATENCY_BUCKETS - 1;
}

static uint64_t bucket_upper(int b)
{
	int p;

	if (b < SUB)
		return (uint64_t)b;
	p = b / SUB + SUB_BITS - 1;
	return ((uint64_t)(SUB + b % SUB + 1) << (p - SUB_BITS)) - 1;
}

void latency_add(struct latency_hist *h, uint64_t us)
{
	__atomic_fetch_add(&h->count[bucket_of(us)], 1, __ATOMIC_RELAXED);
}

uint64_t latency_total(const struct latency_hist *h)
{
	uint64_t n = 0;

	for (int b = 0; b < LATENCY_BUCKETS; b++)
		n += __atomic_load_n(&h->count[b], __ATOMIC_RELAXED);
	return n;
}

uint64_t latency_quantile(const struct latency_hist *h, double q)
{
	uint64_t total = latency_total(h), seen = 0, want;

	if (!total)
		return 0;
	want = (uint64_t)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (int b = 0; b < LATENCY_BUCKETS; b++) {
		seen += __atomic_load_n(&h->count[b], __ATOMIC_RELAXED);
		if (seen > want)
			return bucket_upper(b);
	}
	return bucket_upper(LATENCY_BUCKETS - 1);
}

void latency_recent_tick(struct latency_recent *r, const struct latency_hist *h, uint64_t now_ns)
{
	int last = (r->next + LATENCY_RECENT_SECONDS) % (LATENCY_RECENT_SECONDS + 1);

	if (r->snap_ns[last] && now_ns - r->snap_ns[last] < NSEC_PER_SEC)
		return;
	for (int b = 0; b < LATENCY_BUCKETS; b++)
		r->snap[r->next].count[b] = __atomic_load_n(&h->count[b], __ATOMIC_RELAXED);
	r->snap_ns[r->next] = now_ns;
	r->next = (r->next + 1) % (LATENCY_RECENT_SECONDS + 1);
}

void latency_recent(const struct latency_recent *r, const struct latency_hist *h, uint64_t now_ns,
		    struct latency_hist *out)
{
	const struct latency_hist *base = NULL;
	uint64_t base_ns = 0;

	/* the newest snapshot at least LATENCY_RECENT_SECONDS old */
	for (int i = 0; i <= LATENCY_RECENT_SECONDS; i++)
		if (r->snap_ns[i] && now_ns - r->snap_ns[i] >= LATENCY_RECENT_SECONDS * NSEC_PER_SEC &&
		    r->snap_ns[i] > base_ns) {
			base = &r->snap[i];
			base_ns = r->snap_ns[i];
		}
	for (int b = 0; b < LATENCY_BUCKETS; b++) {
		uint64_t now = __atomic_load_n(&h->count[b], __ATOMIC_RELAXED);

		out->count[b] = base && base->count[b] <= now ? now - base->count[b] : now;
	}
}
