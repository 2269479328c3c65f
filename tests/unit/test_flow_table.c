/* SPDX-License-Identifier: MIT */
/* The offline flow table (user/capture/flow_table.c) against keys chosen to
 * collide: planted under a known hash key, they make a probe run too long,
 * the table rehashes under a fresh key, and adding them costs about what
 * adding as many spread keys costs. */
#include <stdbool.h>
#include <stdint.h>

#include "harness.h"
#include "capture/flow_table.h"

#define KEYS 20000
/* A planted key's home slot is among the first CLUSTER of any table of up to
 * 2^16 slots (KEYS at most half full fit in 2^16). */
#define CLUSTER 256
/* Planted keys against spread ones, CPU time to add: near 1 here; a table
 * whose probe runs grow with the cluster is several times above this. */
#define MAX_SLOWDOWN 5.0

struct entry {
	struct flow_key key;
	uint32_t value;
};

static struct flow_key key_of(uint32_t i)
{
	struct flow_key k = { .sport = (uint16_t)(1024 + (i >> 16)), .dport = 443, .proto = 6 };

	k.saddr[10] = k.saddr[11] = k.daddr[10] = k.daddr[11] = 0xff;
	k.saddr[12] = 10;
	k.saddr[13] = 200;
	k.saddr[14] = (uint8_t)(i >> 8);
	k.saddr[15] = (uint8_t)i;
	k.daddr[12] = 10;
	k.daddr[13] = 200;
	return k;
}

/* Adds keys[0..n) with values 0..n-1, checks each is found with its own
 * value, and returns the CPU seconds the adds took (-1 if something failed). */
static double add_and_find(const struct flow_hash_key *hash_key, const struct flow_key *keys,
			   int n)
{
	struct flow_table *t = flow_table_new(sizeof(struct entry), hash_key);
	double took;
	bool added;
	int found = 0;

	if (!t)
		return -1;
	took = harness_cpu_seconds();
	for (int i = 0; i < n; i++) {
		struct entry *e = flow_table_add(t, &keys[i], &added);

		if (!e || !added)
			break;
		e->value = (uint32_t)i;
	}
	took = harness_cpu_seconds() - took;
	for (int i = 0; i < n; i++) {
		struct entry *e = flow_table_find(t, &keys[i]);

		found += e && e->value == (uint32_t)i;
	}
	CHECKF(found == n && flow_table_count(t) == (size_t)n, "%d of %d keys found, count %zu",
	       found, n, flow_table_count(t));
	flow_table_free(t);
	return took;
}

static void test_planted_collisions_cost_what_spread_keys_cost(void)
{
	const struct flow_hash_key hash_key = { .bytes = "planted:odeflow" };
	static struct flow_key planted[KEYS], spread[KEYS];
	double t_planted = 1e9, t_spread = 1e9;
	int n = 0;

	for (uint32_t i = 0; n < KEYS; i++) {
		struct flow_key k = key_of(i);

		if ((flow_hash(&hash_key, &k) & 0xffff) < CLUSTER)
			planted[n++] = k;
	}
	for (int i = 0; i < KEYS; i++)
		spread[i] = key_of((uint32_t)i);
	/* the best of three of each: the machine may be busy */
	for (int round = 0; round < 3; round++) {
		double a = add_and_find(&hash_key, planted, KEYS), b = add_and_find(&hash_key, spread, KEYS);

		CHECK(a >= 0 && b >= 0);
		t_planted = a < t_planted ? a : t_planted;
		t_spread = b < t_spread ? b : t_spread;
	}
	printf("  %d keys added, CPU time: planted collisions %.2f ms, spread keys %.2f ms (%.1fx, at most "
	       "%.0fx)\n", KEYS, t_planted * 1e3, t_spread * 1e3, t_planted / t_spread, MAX_SLOWDOWN);
	CHECK(t_planted <= MAX_SLOWDOWN * t_spread);
}

/* With a random key (what sessions and the nDPI labeller use) the table
 * still holds and finds everything. */
static void test_random_key_holds_every_key(void)
{
	static struct flow_key keys[KEYS];

	for (int i = 0; i < KEYS; i++)
		keys[i] = key_of((uint32_t)i * 7919);
	CHECK(add_and_find(NULL, keys, KEYS) >= 0);
}

int main(void)
{
	RUN(test_planted_collisions_cost_what_spread_keys_cost);
	RUN(test_random_key_holds_every_key);
	return harness_done();
}
