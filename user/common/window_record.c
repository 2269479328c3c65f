// SPDX-License-Identifier: MIT
/* Decoding the XDP program's ring records; see window_record.h. */
#include "window_record.h"

#include <string.h>

int window_record_decode(const void *data, size_t size, struct window_record *out)
{
	struct ring_window head;
	void *slots; /* read only, through the layout helpers the XDP program writes with */

	if (size < sizeof(head))
		return -1;
	memcpy(&head, data, sizeof(head));
	if (head.n < ODEFLOW_MIN_WINDOW || head.n > ODEFLOW_MAX_WINDOW ||
	    size < RING_WINDOW_BYTES(head.n))
		return -1;
	slots = (unsigned char *)data + sizeof(head);
	memset(out, 0, sizeof(*out));
	out->key = head.key;
	out->first_ns = head.first_ns;
	out->last_ns = head.last_ns;
	out->window = head.window;
	out->n = head.n;
	out->ifindex = head.ifindex;
	out->egress = head.egress;
	memcpy(out->offset_us, slot_offsets_us(slots), sizeof(__u32) * head.n);
	memcpy(out->sizes, slot_sizes(slots, head.n), sizeof(__u16) * head.n);
	return 0;
}
