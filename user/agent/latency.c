/* SPDX-License-Identifier: MIT */
#include "latency.h"

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

uint64_t latency_bucket_upper(int b)
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
	__atomic_fetch_add(&h->sum_us, us, __ATOMIC_RELAXED);
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
			return latency_bucket_upper(b);
	}
	return latency_bucket_upper(LATENCY_BUCKETS - 1);
}
