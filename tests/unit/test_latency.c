/* SPDX-License-Identifier: MIT */
#include "harness.h"
#include "agent/latency.h"
#include "common/clock.h"

static void test_quantiles_within_a_32nd(void)
{
	static struct latency_hist h;

	/* 1..10000 us, uniform: p50 near 5000, p99 near 9900 */
	for (uint64_t us = 1; us <= 10000; us++)
		latency_add(&h, us);
	CHECK(latency_total(&h) == 10000);
	uint64_t p50 = latency_quantile(&h, 0.5), p99 = latency_quantile(&h, 0.99);
	CHECKF(p50 >= 5000 && p50 <= 5000 * 33 / 32, "p50 %lu", (unsigned long)p50);
	CHECKF(p99 >= 9900 && p99 <= 9900 * 33 / 32, "p99 %lu", (unsigned long)p99);
	CHECK(latency_quantile(&h, 0) <= 1);
}

static void test_small_and_huge_values(void)
{
	static struct latency_hist h;

	CHECK(latency_quantile(&h, 0.5) == 0); /* empty */
	latency_add(&h, 0);
	latency_add(&h, 31);
	latency_add(&h, UINT64_MAX); /* clamps into the last bucket */
	CHECK(latency_total(&h) == 3);
	CHECK(latency_quantile(&h, 0.0) == 0);
	CHECK(latency_quantile(&h, 0.5) == 31);
	CHECK(latency_quantile(&h, 1.0) > 1000000000ULL);
}

/* After a flood of slow windows, the recent figures recover within ten
 * seconds while the lifetime figures keep it. Time is simulated. */
static void test_recent_window_forgets_a_flood(void)
{
	static struct latency_hist h, recent;
	static struct latency_recent r;
	uint64_t t = 1000 * NSEC_PER_SEC;

	for (int s = 0; s < 5; s++, t += NSEC_PER_SEC) { /* five seconds of 6 s latencies */
		for (int i = 0; i < 100; i++)
			latency_add(&h, 6000000);
		latency_recent_tick(&r, &h, t);
	}
	latency_recent(&r, &h, t, &recent);
	CHECK(latency_quantile(&recent, 0.99) >= 6000000); /* younger than the window: all of it */
	for (int s = 0; s < 12; s++, t += NSEC_PER_SEC) { /* then twelve of 20 ms */
		for (int i = 0; i < 100; i++)
			latency_add(&h, 20000);
		latency_recent_tick(&r, &h, t);
	}
	latency_recent(&r, &h, t, &recent);
	CHECKF(latency_quantile(&recent, 0.99) <= 20000 * 33 / 32, "recent p99 %lu",
	       (unsigned long)latency_quantile(&recent, 0.99));
	CHECK(latency_total(&recent) >= 900 && latency_total(&recent) <= 1100);
	CHECK(latency_quantile(&h, 0.99) >= 6000000); /* the lifetime figure remembers */
}

int main(void)
{
	RUN(test_quantiles_within_a_32nd);
	RUN(test_small_and_huge_values);
	RUN(test_recent_window_forgets_a_flood);
	return harness_done();
}
