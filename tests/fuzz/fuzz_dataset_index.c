// SPDX-License-Identifier: MIT
/* libFuzzer target: dataset index files (PREFIX_index.csv, read by
 * odeflow cv --split files). */
#include <stdint.h>
#include <stdlib.h>

#include "train/dataset_index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dataset_files f;
	char err[256];

	if (dataset_files_parse((const char *)data, size, &f, err, sizeof(err)))
		return 0;
	for (size_t w = 0; w < f.n; w++)
		if (f.file[w] < 0 || f.file[w] >= f.count || !f.names[f.file[w]])
			abort();
	dataset_files_free(&f);
	return 0;
}
