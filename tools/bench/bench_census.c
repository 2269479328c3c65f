/* SPDX-License-Identifier: MIT */
/* What a /metrics scrape's walk of the verdicts map costs (map_census,
 * user/loader/map_census.h): an LRU hash map shaped like "verdicts" filled
 * to its capacity, walked five times; prints the median. Needs root.
 *   bench_census [ENTRIES]     (default: odeflow run's --flows default) */
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "loader/map_census.h"

#define RUNS 5

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : ODEFLOW_DEFAULT_FLOWS;
	int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "census", sizeof(struct flow_key),
				sizeof(struct verdict), n, NULL);
	struct flow_key k = { 0 };
	struct verdict v = { 0 };
	uint64_t ns[RUNS];
	struct map_census c = { 0 };

	if (fd < 0) {
		perror("bench_census: creating the map (needs root)");
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		memcpy(k.saddr, &i, sizeof(i));
		v.class_id = (__u8)(i % 5);
		bpf_map_update_elem(fd, &k, &v, BPF_ANY);
	}
	for (int r = 0; r < RUNS; r++) {
		uint64_t t = monotonic_ns();

		if (map_census(fd, 1, &c)) {
			perror("bench_census: map_census");
			return 1;
		}
		ns[r] = monotonic_ns() - t;
	}
	qsort(ns, RUNS, sizeof(ns[0]), cmp);
	printf("| verdicts map walked for /metrics (%llu of %u entries) | %.1f ms (median of %d) |\n",
	       (unsigned long long)c.entries, n, ns[RUNS / 2] / 1e6, RUNS);
	close(fd);
	return 0;
}
