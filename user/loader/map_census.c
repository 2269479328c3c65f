/* SPDX-License-Identifier: MIT */
#include "map_census.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Entries per bpf_map_lookup_batch call: one system call per this many. */
#define CENSUS_BATCH 4096

static void count_verdicts(const struct verdict *v, uint32_t n, struct map_census *out)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i].class_id < ODEFLOW_MAX_CLASSES)
			out->connections[v[i].class_id][v[i].flags & VERDICT_PROVISIONAL
								? CENSUS_PROVISIONAL : CENSUS_FINAL]++;
}

int map_census(int map_fd, int by_class, struct map_census *out)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info), batch = 0, n;
	void *keys, *values;
	int rc = 0, err = 0;
	bool first = true;

	memset(out, 0, sizeof(*out));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return -1;
	if (by_class && info.value_size != sizeof(struct verdict)) {
		errno = EINVAL;
		return -1;
	}
	out->max_entries = info.max_entries;
	keys = malloc((size_t)CENSUS_BATCH * info.key_size);
	values = malloc((size_t)CENSUS_BATCH * info.value_size);
	if (!keys || !values) {
		free(keys);
		free(values);
		errno = ENOMEM;
		return -1;
	}
	/* A batch ends with ENOENT after the last bucket, with its last
	 * entries in it; entries added or removed meanwhile may or may not be
	 * counted (a gauge: good enough). */
	do {
		n = CENSUS_BATCH;
		rc = bpf_map_lookup_batch(map_fd, first ? NULL : &batch, &batch, keys, values, &n,
					  NULL);
		err = rc ? errno : 0;
		if (rc && err != ENOENT)
			break;
		first = false;
		out->entries += n;
		if (by_class)
			count_verdicts(values, n, out);
	} while (!rc);
	free(keys);
	free(values);
	if (rc && err != ENOENT) {
		errno = err;
		return -1;
	}
	return 0;
}
