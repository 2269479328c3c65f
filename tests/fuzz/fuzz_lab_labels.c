// SPDX-License-Identifier: MIT
/* libFuzzer target: the lab's labels.csv (pcap2npy --labels). */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>

#include "capture/lab_labels.h"
#include "engine/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lab_labels *l;
	struct flow_key k;
	const struct lab_label *a;
	char err[256];

	if (lab_labels_parse((const char *)data, size, "fuzz", &l, err, sizeof(err)))
		return 0;
	flow_key_make(&k, "10.200.1.10", 443, "10.200.16.3", 40000, IPPROTO_TCP);
	a = lab_labels_find(l, lab_labels_capture(l, "dir/capture.pcap"), &k);
	if (a && (a->label < 0 || a->label >= ODEFLOW_MAX_CLASSES || !a->app[0]))
		abort();
	if (lab_labels_unmatched(l) > lab_labels_count(l))
		abort();
	lab_labels_free(l);
	return 0;
}
