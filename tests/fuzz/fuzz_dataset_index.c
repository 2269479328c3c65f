// SPDX-License-Identifier: MIT
/* libFuzzer target: dataset index files (PREFIX_index.csv, read by
 * odeflow cv --split files and apps). */
#include <stdint.h>
#include <stdlib.h>

#include "train/dataset_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dataset_groups g;
	char err[256];

	if (dataset_index_parse((const char *)data, size, "file", &g, err, sizeof(err)))
		return 0;
	for (size_t w = 0; w < g.n; w++)
		if (g.group[w] < 0 || g.group[w] >= g.count || !g.names[g.group[w]])
			abort();
	dataset_groups_free(&g);
	return 0;
}
