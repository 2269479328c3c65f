// SPDX-License-Identifier: MIT
/* libFuzzer target: packet_parse on arbitrary frames of every link type.
 * Byte 0 picks the link type, byte 1 whether the frame was longer on the
 * wire; the rest is the captured frame. */
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/packet.h"

static const int linktypes[] = {
	DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct packet_info info;
	enum packet_result r;
	size_t caplen;
	uint8_t *frame;
	int dlt;

	if (size < 2)
		return 0;
	dlt = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
	caplen = size - 2;
	frame = malloc(caplen ? caplen : 1); /* exact size: reads past it are caught */
	memcpy(frame, data + 2, caplen);
	r = packet_parse(dlt, frame, caplen, caplen + data[1], &info);
	if (r == PACKET_SAMPLED && info.key.proto != 6 && info.key.proto != 17)
		abort(); /* only TCP and UDP are ever sampled */
	if (r >= PACKET_RESULT_COUNT)
		abort();
	free(frame);
	return 0;
}
