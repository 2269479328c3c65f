// SPDX-License-Identifier: MIT
/* Decoding the XDP program's ring records (struct ring_window + N slots). */
#include <stddef.h>

#include "common/flow_key.h"
#include "harness.h"
#include "common/window_record.h"

#define N 5

/* A record laid out as bpf/odeflow.bpf.c emits it, sizes 100.., times 0, 7, 14.. */
static size_t build(unsigned char *buf, unsigned n)
{
	struct ring_window head = { .first_ns = 1000, .last_ns = 9000, .window = 2, .n = n };

	flow_key_make(&head.key, "10.200.0.1", 5000, "10.200.0.2", 5001, 17);
	memcpy(buf, &head, sizeof(head));
	for (unsigned i = 0; i < n; i++) {
		__u32 t = 7 * i;
		__u16 size = 100 + i;

		memcpy(buf + sizeof(head) + 4 * i, &t, 4);
		memcpy(buf + sizeof(head) + 4 * n + 2 * i, &size, 2);
	}
	return RING_WINDOW_BYTES(n);
}

static void test_decodes_every_field(void)
{
	unsigned char buf[RING_WINDOW_BYTES(ODEFLOW_MAX_WINDOW) + 8];
	struct window_record w;
	struct flow_key k;
	size_t len = build(buf, N);

	memset(&w, 0xff, sizeof(w));
	CHECK(window_record_decode(buf, len, &w) == 0);
	flow_key_make(&k, "10.200.0.1", 5000, "10.200.0.2", 5001, 17);
	CHECK(!memcmp(&w.key, &k, sizeof(k)));
	CHECK(w.first_ns == 1000 && w.last_ns == 9000 && w.window == 2 && w.n == N);
	for (int i = 0; i < N; i++)
		CHECK(w.sizes[i] == 100 + i && w.offset_us[i] == 7u * i);
	for (int i = N; i < ODEFLOW_MAX_WINDOW; i++)
		CHECK(w.sizes[i] == 0 && w.offset_us[i] == 0); /* nothing left over */
	/* the ring may pad a record: longer is fine */
	CHECK(window_record_decode(buf, len + 3, &w) == 0 && w.n == N);
}

static void test_rejects_what_is_not_a_window(void)
{
	unsigned char buf[RING_WINDOW_BYTES(ODEFLOW_MAX_WINDOW) + 8];
	struct window_record w;
	size_t len = build(buf, N);

	for (size_t cut = 0; cut < len; cut++)
		CHECKF(window_record_decode(buf, cut, &w) == -1, "%zu of %zu bytes accepted", cut, len);
	build(buf, 1);
	CHECK(window_record_decode(buf, sizeof(buf), &w) == -1); /* n below 2 */
	build(buf, ODEFLOW_MAX_WINDOW);
	memcpy(buf + offsetof(struct ring_window, n), &(__u16){ ODEFLOW_MAX_WINDOW + 1 }, 2);
	CHECK(window_record_decode(buf, sizeof(buf), &w) == -1); /* n above 64 */
}

int main(void)
{
	RUN(test_decodes_every_field);
	RUN(test_rejects_what_is_not_a_window);
	return harness_done();
}
