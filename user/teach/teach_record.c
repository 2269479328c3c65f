/* SPDX-License-Identifier: MIT */
#include "teach_record.h"

#include <pcap/dlt.h>
#include <string.h>

int teach_record_decode(const void *data, size_t size, struct teach_record *out)
{
	struct teach_packet head;
	const uint8_t *bytes = (const uint8_t *)data + sizeof(head);

	if (size < sizeof(head))
		return -1;
	memcpy(&head, data, sizeof(head));
	if (head.captured > ODEFLOW_TEACH_BYTES || head.captured > head.ip_len ||
	    size < sizeof(head) + head.captured)
		return -1;
	/* the datagram as the wire had it: ip_len bytes, of which captured came */
	if (packet_parse(DLT_RAW, bytes, head.captured, head.ip_len, &out->info) != PACKET_SAMPLED ||
	    memcmp(&out->info.key, &head.key, sizeof(head.key)))
		return -1;
	out->ts_ns = head.ts_ns;
	return 0;
}
