/* SPDX-License-Identifier: MIT */
/* A packet the sampler copied for the teacher (odeflow run --teach), as a
 * record of the "teach" ring holds it (struct teach_packet, then its bytes
 * from the IP header on), decoded into what the nDPI labeller reads. */
#ifndef ODEFLOW_TEACH_RECORD_H
#define ODEFLOW_TEACH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"

struct teach_record {
	struct packet_info info; /* info.ip points into the record's bytes */
	uint64_t ts_ns;          /* arrival, bpf_ktime_get_ns() */
};

/* -1 when the record is not whole, or its bytes are not an IP packet of
 * the direction its head names (the sampler parsed them as such). */
int teach_record_decode(const void *data, size_t size, struct teach_record *out);

#endif
