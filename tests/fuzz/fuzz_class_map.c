// SPDX-License-Identifier: MIT
/* libFuzzer target: class maps (pcap2npy --label-ndpi --class-map). */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/class_map.h"
#include "engine/model.h"

static bool knows_short_names(enum class_field field, const char *value, void *ctx)
{
	(void)field;
	(void)ctx;
	return value[0] && strlen(value) <= 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct class_map_flow flow = { .field = { "YouTube", "QUIC", "Media" },
				       .transport = IPPROTO_UDP };
	struct class_map *m;
	char err[256];
	int c;

	if (class_map_parse((const char *)data, size, "fuzz", &m, err, sizeof(err)))
		return 0;
	c = class_map_match(m, &flow);
	if (c < CLASS_MAP_NO_RULE || c >= class_map_classes(m) ||
	    class_map_classes(m) < 2 || class_map_classes(m) > ODEFLOW_MAX_CLASSES)
		abort();
	for (int i = 0; i < class_map_classes(m); i++)
		if (!class_map_class_name(m, i))
			abort();
	class_map_check_names(m, knows_short_names, NULL, err, sizeof(err));
	class_map_free(m);
	return 0;
}
