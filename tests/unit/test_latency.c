/* SPDX-License-Identifier: MIT */
#include "harness.h"
#include "agent/latency.h"

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

int main(void)
{
	RUN(test_quantiles_within_a_32nd);
	RUN(test_small_and_huge_values);
	return harness_done();
}
