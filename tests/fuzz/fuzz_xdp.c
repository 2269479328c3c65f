// SPDX-License-Identifier: MIT
/* libFuzzer target: the XDP program itself, run by the kernel on each input
 * frame through bpf_prog_test_run_opts (needs root; without it every input
 * is a no-op and this says so once).
 *
 * The verifier already rules out out-of-bounds reads; what this checks is
 * behaviour: with no verdicts, every frame passes unmodified, is counted
 * once in exactly one class (tcp, udp, non_ip, other_l4, fragments,
 * malformed), and agrees with the userspace parser (user/capture/packet.c) the
 * offline tools use: same class, and for sampled frames the same flow key
 * and IP length. The one allowed difference: a datagram whose IP length runs
 * past the frame is malformed in the kernel, while offline it is sampled
 * (a capture's snaplen cuts frames, so packet.c cannot tell). Frames
 * beyond one page come in several buffers (see LINEAR).
 * libFuzzer sees no coverage inside the kernel; packet.c's, which follows
 * the same header structure, guides it. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/packet.h"
#include "loader/map_ops.h"
#include "loader/xdp_loader.h"

#define WINDOW_N 3 /* an input runs twice, a direction's first two packets: nothing emits */

/* bpf_prog_test_run gives the program the first LINEAR bytes of a frame as
 * its first buffer (a page less XDP's 256-byte headroom and the 320-byte
 * skb_shared_info) and the rest in fragments, as a multi-buffer driver does
 * with jumbo frames. The program reads headers from the first buffer only
 * and checks lengths against the whole frame: what packet.c does with a
 * capture cut at LINEAR bytes of a frame `size` bytes long. */
#define LINEAR (4096 - 256 - 320)
#define MAX_FRAME 9100 /* a 9000-byte MTU */
#define ETH_HLEN 14

static struct xdp_sampler *sampler;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_xdp: %s\n", what);
		abort();
	}
}

static int setup(void)
{
	static int state; /* 0 untried, 1 loaded, -1 unavailable */
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	char err[4096];

	if (state)
		return state;
	o.window_n = WINDOW_N;
	o.flow_capacity = 4096;
	o.ring_bytes = 1 << 16;
	o.pin_dir = NULL;
	if (geteuid() != 0 || xdp_sampler_open(&o, &sampler, err, sizeof(err))) {
		fprintf(stderr, "fuzz_xdp: cannot load the XDP program (%s): inputs not run\n",
			geteuid() ? "not root" : err);
		return state = -1;
	}
	return state = 1;
}

static enum counter class_counter(enum packet_result r, const struct packet_info *info)
{
	switch (r) {
	case PACKET_SAMPLED:
		return info->key.proto == 6 ? CNT_TCP : CNT_UDP;
	case PACKET_NON_IP:
		return CNT_NON_IP;
	case PACKET_OTHER_L4:
		return CNT_OTHER_L4;
	case PACKET_FRAGMENT:
		return CNT_FRAGMENTS;
	default:
		return CNT_MALFORMED;
	}
}

/* Where the IP header starts: after Ethernet and at most two VLAN tags. */
static size_t l3_offset(const uint8_t *f, size_t len)
{
	size_t off = ETH_HLEN;

	for (int i = 0; i < 2 && off <= len; i++) {
		unsigned type = f[off - 2] << 8 | f[off - 1];

		if (type != 0x8100 && type != 0x88a8)
			break;
		off += 4;
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[MAX_FRAME];
	uint64_t before[CNT_MAX], after[CNT_MAX];
	int counters, moved = -1;
	struct packet_info info;
	enum packet_result r;
	struct flow_state_buf st;

	if (setup() < 0 || size < ETH_HLEN || size > MAX_FRAME)
		return 0; /* the kernel refuses frames shorter than an Ethernet header */
	counters = xdp_sampler_map_fd(sampler, XDP_MAP_COUNTERS);
	check(xdp_read_counters(counters, before) == 0, "reading counters");
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = size,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	check(bpf_prog_test_run_opts(xdp_sampler_prog_fd(sampler), &opts) == 0, "test run");
	check(xdp_read_counters(counters, after) == 0, "reading counters");

	check(opts.retval == XDP_PASS, "a frame without a verdict was not passed");
	check(opts.data_size_out == size && !memcmp(out, data, size), "a passed frame was changed");
	check(after[CNT_PACKETS] - before[CNT_PACKETS] == 1, "packets counted once");
	check(after[CNT_BYTES] - before[CNT_BYTES] == size, "bytes counted");
	for (int c = CNT_TCP; c <= CNT_MALFORMED; c++) {
		if (after[c] == before[c])
			continue;
		check(moved < 0 && after[c] - before[c] == 1, "counted in more than one class");
		moved = c;
	}
	check(moved >= 0, "counted in no class");

	r = packet_parse(DLT_EN10MB, data, size < LINEAR ? size : LINEAR, size, &info);
	if (moved == CNT_MALFORMED && r == PACKET_SAMPLED)
		check(l3_offset(data, size) + info.ip_len > size,
		      "malformed in the kernel, sampled offline, yet the datagram fits the frame");
	else
		check((int)class_counter(r, &info) == moved, "the kernel and packet.c disagree");
	if (r == PACKET_SAMPLED && moved != CNT_MALFORMED) {
		/* The first packet was held; the same frame again admits the
		 * direction, which must be the one packet.c read, holding this
		 * frame's IP length twice. Forget it afterwards so every input
		 * starts a new direction. */
		int flows = xdp_sampler_map_fd(sampler, XDP_MAP_FLOWS);

		check(after[CNT_FIRST_PACKETS] - before[CNT_FIRST_PACKETS] == 1, "first packet not held");
		check(bpf_prog_test_run_opts(xdp_sampler_prog_fd(sampler), &opts) == 0, "test run");
		check(bpf_map_lookup_elem(flows, &info.key, &st) == 0, "no flow for packet.c's key");
		check(st.head.count == 2 && slot_sizes(&st.head + 1, WINDOW_N)[0] == info.ip_len &&
		      slot_sizes(&st.head + 1, WINDOW_N)[1] == info.ip_len,
		      "IP length differs from packet.c");
		bpf_map_delete_elem(flows, &info.key);
	}
	return 0;
}
