/* SPDX-License-Identifier: MIT */
/* libFuzzer target: .npy files (header dictionary, dtypes, shapes, data size). */
#include <stddef.h>
#include <stdint.h>

#include "train/npy.h"

static volatile double sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct npy_array a;
	char err[256];

	if (npy_parse(data, size, "fuzz.npy", &a, err, sizeof(err)) == 0) {
		/* touch every element so ASan sees any short allocation */
		for (size_t i = 0; i < a.count; i++)
			sink = a.data[i];
		npy_free(&a);
	}
	return 0;
}
