/* SPDX-License-Identifier: MIT */
#include "teach_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/errmsg.h"

struct teach_ring {
	struct ring_buffer *rb;
};

struct teach_ring *teach_ring_new(int teach_fd, ring_buffer_sample_fn on_record, void *ctx,
				  char *err, size_t errlen)
{
	struct teach_ring *out = calloc(1, sizeof(*out));

	if (!out) {
		errmsg(err, errlen, "out of memory");
		return NULL;
	}
	out->rb = ring_buffer__new(teach_fd, on_record, ctx, NULL);
	if (!out->rb) {
		errmsg(err, errlen, "reading the teach ring: %s", strerror(errno));
		free(out);
		return NULL;
	}
	return out;
}

void teach_ring_free(struct teach_ring *r)
{
	if (!r)
		return;
	ring_buffer__free(r->rb);
	free(r);
}

int teach_ring_consume(struct teach_ring *r)
{
	return ring_buffer__consume(r->rb);
}
