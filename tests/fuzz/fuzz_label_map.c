// SPDX-License-Identifier: MIT
/* libFuzzer target: label map files (pcap2npy --label-map). */
#include <stdint.h>
#include <stdlib.h>

#include "capture/label_map.h"
#include "engine/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct label_map *m;
	char err[256];
	int label;

	if (label_map_parse((const char *)data, size, "fuzz", &m, err, sizeof(err)))
		return 0;
	label = label_map_lookup(m, "captures/skype-call.pcap");
	if (label < -1 || label >= ODEFLOW_MAX_CLASSES)
		abort();
	label_map_free(m);
	return 0;
}
