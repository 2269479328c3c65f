/* SPDX-License-Identifier: MIT */
/* Reading the sampler's "teach" ring (odeflow run --teach): the packets of
 * taught connections, struct teach_packet records. The program never wakes
 * its reader (labels may wait a few milliseconds, packets may not), so the
 * reader polls. */
#ifndef ODEFLOW_TEACH_RING_H
#define ODEFLOW_TEACH_RING_H

#include <bpf/libbpf.h>
#include <stddef.h>

struct teach_ring;

/* on_record gets each record (decode it with teach_record_decode). Errors:
 * NULL and one line in err. */
struct teach_ring *teach_ring_new(int teach_fd, ring_buffer_sample_fn on_record, void *ctx,
				  char *err, size_t errlen);
void teach_ring_free(struct teach_ring *r);
/* Hands every waiting record to on_record; returns how many, or a negative
 * errno. */
int teach_ring_consume(struct teach_ring *r);

#endif
