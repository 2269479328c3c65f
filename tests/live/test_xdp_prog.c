/* SPDX-License-Identifier: MIT */
/* The XDP program, run by the kernel on crafted frames through
 * bpf_prog_test_run_opts: parsing, counters, windows, verdicts, policies.
 * Needs root (loads BPF); skipped otherwise. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "common/flow_key.h"
#include "harness.h"
#include "loader/window_ring.h"
#include "loader/map_ops.h"
#include "loader/pin_dir.h"
#include "loader/xdp_loader.h"
#include "xdp_packets.h"

#define TEST_N 5
#define MAX_RECORDS 64

#include "sampler_fixture.h"

/* Runs one frame; returns the XDP action, and the frame as XDP left it in out. */
static int run_frame(struct fixture *f, const uint8_t *frame, size_t len, uint8_t *out)
{
	uint8_t scratch[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
		    .data_out = out ? out : scratch, .data_size_out = PKT_MAX, .repeat = 1);
	int err = bpf_prog_test_run_opts(xdp_sampler_prog_fd(f->s), &opts);

	CHECKF(err == 0, "bpf_prog_test_run_opts: %s", strerror(errno));
	return err ? -1 : (int)opts.retval;
}

static int run_spec(struct fixture *f, const struct pkt_spec *spec, uint8_t *out)
{
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;

	return run_frame(f, frame, pkt_build(spec, frame, &ip_len), out);
}

static const struct pkt_spec tcp4 = {
	.family = 4, .proto = IPPROTO_TCP, .saddr = "10.200.0.1", .daddr = "10.200.0.2",
	.sport = 40000, .dport = 443, .payload = 100,
};
static const struct pkt_spec udp6 = {
	.family = 6, .proto = IPPROTO_UDP, .saddr = "fd00:200::1", .daddr = "fd00:200::2",
	.sport = 5000, .dport = 5001, .payload = 60,
};

/* One frame's outcome: the action, which counter moved, whether it was a
 * new direction's first packet (held for admission). */
static void expect(struct fixture *f, const char *what, const uint8_t *frame, size_t len,
		   enum counter class_counter, int held)
{
	uint64_t d[CNT_MAX];
	int action = run_frame(f, frame, len, NULL);

	counter_delta(f, d);
	CHECKF(action == XDP_PASS, "%s: action %d, expected XDP_PASS", what, action);
	CHECKF(d[CNT_PACKETS] == 1 && d[CNT_BYTES] == len, "%s: packets %llu bytes %llu", what,
	       (unsigned long long)d[CNT_PACKETS], (unsigned long long)d[CNT_BYTES]);
	CHECKF(d[class_counter] == 1, "%s: counter %s did not move", what,
	       xdp_counter_name(class_counter));
	CHECKF(d[CNT_FIRST_PACKETS] == (uint64_t)held && d[CNT_NEW_FLOWS] == 0,
	       "%s: first_packets moved by %llu, new_flows by %llu", what,
	       (unsigned long long)d[CNT_FIRST_PACKETS], (unsigned long long)d[CNT_NEW_FLOWS]);
	for (int c = CNT_TCP; c <= CNT_MALFORMED; c++)
		CHECKF(c == (int)class_counter || d[c] == 0, "%s: counter %s moved too", what,
		       xdp_counter_name(c));
}

static void expect_spec(struct fixture *f, const char *what, const struct pkt_spec *spec,
			enum counter class_counter, int held)
{
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;

	expect(f, what, frame, pkt_build(spec, frame, &ip_len), class_counter, held);
}

static void test_parses_ip_and_ports(void)
{
	struct fixture f;
	struct pkt_spec s;
	static const uint8_t exts[] = { 0 /* hop-by-hop */, 60 /* dest opts */, 43 /* routing */ };

	if (fixture_open(&f, 1 << 16))
		return;
	expect_spec(&f, "ipv4 tcp", &tcp4, CNT_TCP, 1);
	s = tcp4;
	s.proto = IPPROTO_UDP;
	expect_spec(&f, "ipv4 udp", &s, CNT_UDP, 1);
	expect_spec(&f, "ipv6 udp", &udp6, CNT_UDP, 1);
	s = udp6;
	s.proto = IPPROTO_TCP;
	s.ext = exts;
	s.n_ext = 3;
	s.ipv6_frag_header = 1;
	s.frag = 1; /* first fragment, more to come */
	expect_spec(&f, "ipv6 tcp behind hop-by-hop, dest-opts, routing, fragment 0", &s, CNT_TCP, 1);
	s = tcp4;
	s.vlans = 1;
	s.sport = 1;
	expect_spec(&f, "one vlan tag", &s, CNT_TCP, 1);
	s.vlans = 2;
	s.sport = 2;
	expect_spec(&f, "two vlan tags (802.1ad + 802.1Q)", &s, CNT_TCP, 1);
	s.vlans = 3;
	expect_spec(&f, "three vlan tags: not parsed", &s, CNT_NON_IP, 0);
	s = tcp4;
	s.frag = 0x2000; /* MF, offset 0: the first fragment carries the ports */
	s.sport = 3;
	expect_spec(&f, "ipv4 first fragment", &s, CNT_TCP, 1);
	s.frag = 0x2000 | 185;
	expect_spec(&f, "ipv4 later fragment", &s, CNT_FRAGMENTS, 0);
	s = udp6;
	s.ipv6_frag_header = 1;
	s.frag = 1480 | 1;
	expect_spec(&f, "ipv6 later fragment", &s, CNT_FRAGMENTS, 0);
	s = tcp4;
	s.proto = IPPROTO_ICMP;
	expect_spec(&f, "icmp", &s, CNT_OTHER_L4, 0);
	CHECK(drain(&f) == 0);
	fixture_close(&f);
}

static void test_malformed_passes_and_counts(void)
{
	struct fixture f;
	uint8_t frame[PKT_MAX], bad[PKT_MAX];
	uint16_t ip_len;
	struct pkt_spec s = tcp4;
	static const uint8_t seven[] = { 0, 60, 60, 60, 60, 60, 60 };
	size_t len;
	char what[64];

	if (fixture_open(&f, 1 << 16))
		return;
	/* Truncated at every header boundary of a VLAN-tagged IPv4 TCP frame
	 * and of an IPv6 UDP frame with a hop-by-hop header (and in between). */
	s.vlans = 1;
	s.payload = 0;
	len = pkt_build(&s, frame, &ip_len);
	for (size_t cut = 14; cut < 14 + 4 + 20 + 20; cut++) {
		snprintf(what, sizeof(what), "ipv4 cut at %zu bytes", cut);
		expect(&f, what, frame, cut, CNT_MALFORMED, 0);
	}
	s = udp6;
	s.ext = seven;
	s.n_ext = 1;
	s.payload = 0;
	len = pkt_build(&s, frame, &ip_len);
	for (size_t cut = 14; cut < 14 + 40 + 8 + 4; cut++) {
		snprintf(what, sizeof(what), "ipv6 cut at %zu bytes", cut);
		expect(&f, what, frame, cut, CNT_MALFORMED, 0);
	}
	s.n_ext = 7;
	expect_spec(&f, "ipv6 with more extension headers than the bound", &s, CNT_MALFORMED, 0);

	len = pkt_build(&tcp4, frame, &ip_len);
	memcpy(bad, frame, len);
	bad[14] = 0x44; /* IHL 4 */
	expect(&f, "ihl below 5", bad, len, CNT_MALFORMED, 0);
	memcpy(bad, frame, len);
	put16(bad + 16, len - 14 + 1); /* total length beyond the frame */
	expect(&f, "ipv4 total length beyond the frame", bad, len, CNT_MALFORMED, 0);
	memcpy(bad, frame, len);
	put16(bad + 16, 19); /* total length shorter than the header */
	expect(&f, "ipv4 total length below the header", bad, len, CNT_MALFORMED, 0);
	memcpy(bad, frame, len);
	put16(bad + 16, 22); /* consistent header, but the datagram ends before the ports */
	expect(&f, "ipv4 datagram ends inside the ports", bad, len, CNT_MALFORMED, 0);
	memcpy(bad, frame, len);
	bad[14] = 0x65; /* version 6 behind an IPv4 ethertype */
	expect(&f, "ip version disagrees with ethertype", bad, len, CNT_MALFORMED, 0);

	len = pkt_build(&udp6, frame, &ip_len);
	memcpy(bad, frame, len);
	put16(bad + 18, len - 54 + 1);
	expect(&f, "ipv6 payload length beyond the frame", bad, len, CNT_MALFORMED, 0);
	memcpy(bad, frame, len);
	put16(bad + 18, 0);
	expect(&f, "ipv6 payload length 0 (jumbogram)", bad, len, CNT_MALFORMED, 0);

	memcpy(bad, frame, len);
	put16(bad + 12, 0x0806);
	expect(&f, "arp", bad, len, CNT_NON_IP, 0);

	/* transport headers the stack would discard (IPv4: L4 at byte 34) */
	len = pkt_build(&tcp4, frame, &ip_len);
	memcpy(bad, frame, len);
	bad[34 + 12] = 4 << 4;
	expect(&f, "tcp data offset 4", bad, len, CNT_MALFORMED, 0);
	s = tcp4;
	s.payload = 20;
	len = pkt_build(&s, frame, &ip_len);
	memcpy(bad, frame, len);
	bad[34 + 12] = 15 << 4; /* 60 bytes of header in a 40-byte segment */
	expect(&f, "tcp data offset past the datagram", bad, len, CNT_MALFORMED, 0);
	s = tcp4;
	s.proto = IPPROTO_UDP;
	len = pkt_build(&s, frame, &ip_len);
	memcpy(bad, frame, len);
	put16(bad + 34 + 4, 7);
	expect(&f, "udp length below 8", bad, len, CNT_MALFORMED, 0);
	memcpy(bad, frame, len);
	put16(bad + 34 + 4, ip_len - 20 + 1);
	expect(&f, "udp length past the datagram", bad, len, CNT_MALFORMED, 0);
	s.frag = 0x2000; /* a first fragment: its UDP length covers the whole datagram */
	s.sport = 77;
	len = pkt_build(&s, frame, &ip_len);
	put16(frame + 34 + 4, 3000);
	put16(frame + 14 + 10, 0);
	put16(frame + 14 + 10, ipv4_checksum(frame + 14, 20));
	expect(&f, "udp first fragment longer than itself", frame, len, CNT_UDP, 1);
	CHECK(drain(&f) == 0);
	fixture_close(&f);
}

static void check_window(const struct window_record *r, const struct pkt_spec *spec,
			 const uint16_t *sizes, unsigned window)
{
	struct flow_key k;

	CHECK(flow_key_make(&k, spec->saddr, spec->sport, spec->daddr, spec->dport,
			    spec->proto) == 0);
	CHECK(!memcmp(&r->key, &k, sizeof(k)));
	CHECKF(r->n == TEST_N && r->window == window, "n %u window %u", r->n, r->window);
	for (int i = 0; i < TEST_N; i++)
		CHECKF(r->sizes[i] == sizes[i], "size %d: %u, expected %u", i, r->sizes[i], sizes[i]);
	CHECK(r->offset_us[0] == 0);
	for (int i = 1; i < TEST_N; i++)
		CHECKF(r->offset_us[i] > r->offset_us[i - 1], "offset %d: %u after %u", i,
		       r->offset_us[i], r->offset_us[i - 1]);
	CHECK(r->sizes[TEST_N] == 0 && r->offset_us[TEST_N] == 0);
	CHECK(r->last_ns > r->first_ns);
	CHECK(r->last_ns - r->first_ns >= (uint64_t)r->offset_us[TEST_N - 1] * 1000);
}

/* Sends TEST_N packets of growing size, a little apart; returns their sizes. */
static void send_window(struct fixture *f, struct pkt_spec s, uint16_t *sizes, int expect_windows)
{
	uint8_t frame[PKT_MAX];

	for (int i = 0; i < TEST_N; i++) {
		s.payload = 10 * i + 1;
		CHECK(run_frame(f, frame, pkt_build(&s, frame, &sizes[i]), NULL) == XDP_PASS);
		if (i < TEST_N - 1)
			CHECKF(drain(f) == 0, "a window after %d packets", i + 1);
		usleep(20); /* distinct microsecond offsets */
	}
	CHECKF(drain(f) == expect_windows, "%d windows after the Nth packet", n_records);
}

/* A jumbo frame: bpf_prog_test_run hands a program loaded as xdp.frags
 * everything past its first 3,520 bytes in fragments, as a multi-buffer
 * driver would. The headers are in the first buffer; the lengths are
 * checked against the whole frame, and the window records the whole IP
 * length. */
static void test_jumbo_frames_span_buffers(void)
{
	struct fixture f;
	uint8_t frame[PKT_MAX], out[PKT_MAX];
	uint16_t sizes[TEST_N];
	uint64_t d[CNT_MAX];
	struct pkt_spec s;
	size_t len;

	if (fixture_open(&f, 1 << 16))
		return;
	for (int family = 4; family <= 6; family += 2) {
		counter_delta(&f, d); /* start counting afresh */
		s = family == 4 ? tcp4 : udp6;
		s.payload = 8000;
		len = pkt_build(&s, frame, &sizes[0]);
		frame[len - 1] = 0xab; /* the last byte comes back unchanged */
		expect(&f, family == 4 ? "ipv4 jumbo" : "ipv6 jumbo", frame, len,
		       family == 4 ? CNT_TCP : CNT_UDP, 1);
		/* the datagram claims more than the frame holds */
		expect(&f, "jumbo cut short", frame, len - 1, CNT_MALFORMED, 0);
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out));
		CHECK(bpf_prog_test_run_opts(xdp_sampler_prog_fd(f.s), &opts) == 0);
		CHECK(opts.retval == XDP_PASS && opts.data_size_out == len && !memcmp(out, frame, len));
		for (int i = 2; i < TEST_N; i++) /* packets 3..N: the window completes */
			CHECK(run_frame(&f, frame, len, NULL) == XDP_PASS);
		CHECK(drain(&f) == 1);
		CHECKF(records[0].n == TEST_N && records[0].sizes[0] == sizes[0] &&
		       records[0].sizes[TEST_N - 1] == sizes[0], "sizes %u..%u, expected %u",
		       records[0].sizes[0], records[0].sizes[TEST_N - 1], sizes[0]);
	}
	fixture_close(&f);
}

/* What the agent writes into a direction's "flows" entry when it decides
 * on the direction's window 0 (xdp_settle_directions). */
static int settle(struct fixture *f, const struct pkt_spec *spec, int class_id,
		  bool provisional, bool rearm)
{
	struct direction_decision d = { .class_id = (uint8_t)class_id, .provisional = provisional,
					.rearm = rearm };

	flow_key_make(&d.direction, spec->saddr, spec->sport, spec->daddr, spec->dport,
		      spec->proto);
	return xdp_settle_directions(xdp_sampler_map_fd(f->s, XDP_MAP_FLOWS), TEST_N, &d, 1);
}

static void test_window_at_nth_packet(void)
{
	struct fixture f;
	uint16_t sizes[TEST_N];
	uint64_t d[CNT_MAX];

	if (fixture_open(&f, 1 << 16))
		return;
	send_window(&f, udp6, sizes, 1);
	check_window(&records[0], &udp6, sizes, 0);
	CHECK(sizes[0] == 40 + 8 + 1);
	counter_delta(&f, d);
	CHECK(d[CNT_WINDOWS] == 1 && d[CNT_NEW_FLOWS] == 1);

	/* Sampled once: later packets add nothing until userspace re-arms. */
	CHECK(run_spec(&f, &udp6, NULL) == XDP_PASS);
	CHECK(drain(&f) == 0);
	CHECK(settle(&f, &udp6, 0, true, true) == 0);
	send_window(&f, udp6, sizes, 1);
	check_window(&records[0], &udp6, sizes, 1);
	fixture_close(&f);
}

/* Another CPU claimed slot 3 and has not written it when the last slot's
 * owner emits (simulated by raising count from userspace): the window is
 * restarted and counted, never sent with a hole. */
static void test_torn_window_restarts(void)
{
	struct fixture f;
	struct flow_key k;
	struct flow_state_buf st;
	uint16_t sizes[TEST_N];
	uint64_t d[CNT_MAX];
	int flows;

	if (fixture_open(&f, 1 << 16))
		return;
	flows = xdp_sampler_map_fd(f.s, XDP_MAP_FLOWS);
	for (int i = 0; i < 3; i++)
		CHECK(run_spec(&f, &udp6, NULL) == XDP_PASS);
	flow_key_make(&k, udp6.saddr, udp6.sport, udp6.daddr, udp6.dport, udp6.proto);
	CHECK(bpf_map_lookup_elem(flows, &k, &st) == 0 && st.head.count == 3);
	st.head.count = TEST_N - 1; /* slot 3 claimed elsewhere, still empty */
	CHECK(bpf_map_update_elem(flows, &k, &st, BPF_EXIST) == 0);
	CHECK(run_spec(&f, &udp6, NULL) == XDP_PASS);
	CHECK(drain(&f) == 0);
	counter_delta(&f, d);
	CHECK(d[CNT_TORN_WINDOWS] == 1 && d[CNT_WINDOWS] == 0);
	CHECK(bpf_map_lookup_elem(flows, &k, &st) == 0);
	CHECK(st.head.count == 0 && st.head.phase == FLOW_SAMPLING && st.head.window == 0);
	for (int i = 0; i < TEST_N; i++)
		CHECK(slot_sizes(&st.head + 1, TEST_N)[i] == 0);
	send_window(&f, udp6, sizes, 1); /* the restarted window completes whole */
	check_window(&records[0], &udp6, sizes, 0);
	fixture_close(&f);
}

/* "flows" holds N slots per direction, not the largest N, and its BTF
 * names them: bpftool prints the direction being filled field by field. */
static void test_flows_map_sized_by_n(void)
{
	struct fixture f;
	struct bpf_map_info info = { 0 };
	__u32 info_len = sizeof(info);
	uint8_t frame[PKT_MAX];
	uint16_t ip_len[2];
	char cmd[128];
	json_error_t jerr;
	json_t *dump, *value, *sizes, *offsets;
	FILE *p;

	if (fixture_open(&f, 1 << 16))
		return;
	CHECK(bpf_obj_get_info_by_fd(xdp_sampler_map_fd(f.s, XDP_MAP_FLOWS), &info, &info_len) == 0);
	CHECKF(info.value_size == FLOW_STATE_BYTES(TEST_N), "value size %u", info.value_size);
	CHECK(info.btf_id != 0 && info.btf_value_type_id != 0);
	for (int i = 0; i < 2; i++)
		CHECK(run_frame(&f, frame, pkt_build(&udp6, frame, &ip_len[i]), NULL) == XDP_PASS);

	snprintf(cmd, sizeof(cmd), "bpftool -j map dump id %u", info.id);
	p = popen(cmd, "r");
	dump = p ? json_loadf(p, 0, &jerr) : NULL;
	if (p)
		pclose(p);
	value = json_object_get(json_object_get(json_array_get(dump, 0), "formatted"), "value");
	sizes = json_object_get(value, "sizes");
	offsets = json_object_get(value, "offset_us");
	CHECKF(value != NULL, "%s: no formatted value (%s)", cmd, dump ? "no BTF?" : jerr.text);
	CHECK(json_integer_value(json_object_get(value, "count")) == 2);
	CHECK(json_array_size(sizes) == TEST_N && json_array_size(offsets) == TEST_N);
	CHECK(json_integer_value(json_array_get(sizes, 0)) == ip_len[0] &&
	      json_integer_value(json_array_get(sizes, 1)) == ip_len[1] &&
	      json_integer_value(json_array_get(sizes, 2)) == 0);
	json_decref(dump);
	fixture_close(&f);
}

static void test_directions_fill_separate_windows(void)
{
	struct fixture f;
	struct pkt_spec fwd = tcp4, rev = tcp4;
	uint16_t fwd_sizes[TEST_N], rev_sizes[TEST_N];
	uint8_t frame[PKT_MAX];

	if (fixture_open(&f, 1 << 16))
		return;
	rev.saddr = tcp4.daddr;
	rev.daddr = tcp4.saddr;
	rev.sport = tcp4.dport;
	rev.dport = tcp4.sport;
	for (int i = 0; i < TEST_N; i++) {
		fwd.payload = 100 + i;
		rev.payload = 500 + 2 * i;
		run_frame(&f, frame, pkt_build(&fwd, frame, &fwd_sizes[i]), NULL);
		usleep(20);
		run_frame(&f, frame, pkt_build(&rev, frame, &rev_sizes[i]), NULL);
		usleep(20);
	}
	CHECK(drain(&f) == 2);
	check_window(&records[0], &fwd, fwd_sizes, 0);
	check_window(&records[1], &rev, rev_sizes, 0);
	fixture_close(&f);
}

/* Writes a verdict for spec's connection, keyed from the reverse direction
 * to show that both directions share it. */
static void put_verdict(struct fixture *f, const struct pkt_spec *spec, int class_id, int flags)
{
	struct flow_key k, conn;
	struct verdict v = { .class_id = class_id, .stage = 1, .flags = flags,
			     .confidence_ppm = 900000, .model_id = 7 };

	flow_key_make(&k, spec->daddr, spec->dport, spec->saddr, spec->sport, spec->proto);
	flow_key_canonical(&k, &conn);
	CHECK(bpf_map_update_elem(xdp_sampler_map_fd(f->s, XDP_MAP_VERDICTS), &conn, &v,
				  BPF_ANY) == 0);
}

static void set_policy(struct fixture *f, int class_id, struct policy p)
{
	CHECK(xdp_set_policy(xdp_sampler_map_fd(f->s, XDP_MAP_POLICY),
			     xdp_sampler_map_fd(f->s, XDP_MAP_RATE_BUCKETS), class_id, &p) == 0);
}

/* Map "class_actions" summed over the CPUs has want packets, entry for
 * entry, each of ip_len bytes. */
static void check_class_actions(struct fixture *f, const uint64_t want[ODEFLOW_CLASS_ACTIONS],
				uint64_t ip_len)
{
	struct class_traffic got[ODEFLOW_CLASS_ACTIONS];

	CHECK(xdp_read_class_actions(xdp_sampler_map_fd(f->s, XDP_MAP_CLASS_ACTIONS), got) == 0);
	for (int k = 0; k < ODEFLOW_CLASS_ACTIONS; k++)
		CHECKF(got[k].packets == want[k] && got[k].bytes == want[k] * ip_len,
		       "class %d outcome %d: %llu packets, %llu bytes, expected %llu packets",
		       k / OUTCOME_COUNT, k % OUTCOME_COUNT, (unsigned long long)got[k].packets,
		       (unsigned long long)got[k].bytes, (unsigned long long)want[k]);
}

static void test_verdict_drop(void)
{
	struct fixture f;
	uint64_t d[CNT_MAX];
	struct pkt_spec other = tcp4;

	if (fixture_open(&f, 1 << 16))
		return;
	set_policy(&f, 2, (struct policy){ .action = ACTION_DROP });
	put_verdict(&f, &tcp4, 2, VERDICT_PROVISIONAL);
	CHECKF(run_spec(&f, &tcp4, NULL) == XDP_PASS, "a provisional verdict dropped");
	counter_delta(&f, d);
	CHECK(d[CNT_VERDICT_HITS] == 1 && d[CNT_ACTION_PASS] == 1 && d[CNT_FIRST_PACKETS] == 1);
	put_verdict(&f, &tcp4, 2, 0);
	CHECK(run_spec(&f, &tcp4, NULL) == XDP_DROP);
	counter_delta(&f, d);
	CHECK(d[CNT_VERDICT_HITS] == 1 && d[CNT_ACTION_DROP] == 1);
	other.sport++; /* another connection: no verdict, passes */
	CHECK(run_spec(&f, &other, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(d[CNT_VERDICT_HITS] == 0 && d[CNT_ACTION_DROP] == 0);
	put_verdict(&f, &tcp4, 3, 0); /* class 3 has the default policy */
	CHECK(run_spec(&f, &tcp4, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(d[CNT_ACTION_PASS] == 1);
	check_class_actions(&f, (uint64_t[ODEFLOW_CLASS_ACTIONS]){
					[2 * OUTCOME_COUNT + OUTCOME_PASS] = 1, /* provisional */
					[2 * OUTCOME_COUNT + OUTCOME_DROP] = 1,
					[3 * OUTCOME_COUNT + OUTCOME_PASS] = 1 }, 140 /* IP bytes of tcp4 */);
	fixture_close(&f);
}

/* A direction whose connection "verdicts" lost (its LRU evicted it) is
 * enforced from its own entry, where the agent wrote the decision: a final
 * DROP drops from the first packet on, with no new window, and the loss is
 * counted once; a provisional one never drops, keeps sampling and is not
 * counted (nothing it enforced was lost). */
static void test_direction_enforces_a_lost_verdict(void)
{
	struct fixture f;
	uint16_t sizes[TEST_N];
	uint64_t d[CNT_MAX];
	struct pkt_spec prov = udp6;

	if (fixture_open(&f, 1 << 16))
		return;
	set_policy(&f, 2, (struct policy){ .action = ACTION_DROP });
	send_window(&f, tcp4, sizes, 1);
	CHECK(settle(&f, &tcp4, 2, false, false) == 0);
	counter_delta(&f, d);
	for (int i = 0; i < 3; i++)
		CHECK(run_spec(&f, &tcp4, NULL) == XDP_DROP);
	CHECK(drain(&f) == 0);
	counter_delta(&f, d);
	CHECKF(d[CNT_ACTION_DROP] == 3 && d[CNT_ENFORCED_EVICTED] == 1 && d[CNT_VERDICT_HITS] == 0,
	       "%llu dropped, %llu counted evicted", (unsigned long long)d[CNT_ACTION_DROP],
	       (unsigned long long)d[CNT_ENFORCED_EVICTED]);

	prov.sport++;
	send_window(&f, prov, sizes, 1);
	CHECK(settle(&f, &prov, 2, true, true) == 0);
	send_window(&f, prov, sizes, 1); /* passes, and fills the re-armed window */
	check_window(&records[0], &prov, sizes, 1);
	counter_delta(&f, d);
	CHECK(d[CNT_ACTION_DROP] == 0 && d[CNT_ACTION_PASS] == TEST_N && d[CNT_ENFORCED_EVICTED] == 0);
	fixture_close(&f);
}

/* A final verdict reached from one direction still lets the other direction
 * fill its first window; once the agent has seen a direction's first window
 * (its SEEN bit), that direction is no longer sampled. */
/* An Unknown verdict (the model did not recognise the connection) is
 * marked when its policy marks, and passed when its policy would drop or
 * rate-limit: whatever the policy map says, Unknown is never dropped. */
static void test_unknown_verdict_never_drops(void)
{
	struct fixture f;
	uint64_t d[CNT_MAX];

	if (fixture_open(&f, 1 << 16))
		return;
	set_policy(&f, 5, (struct policy){ .action = ACTION_DROP });
	put_verdict(&f, &tcp4, 5, VERDICT_UNKNOWN);
	CHECKF(run_spec(&f, &tcp4, NULL) == XDP_PASS, "an Unknown verdict dropped");
	counter_delta(&f, d);
	CHECK(d[CNT_VERDICT_HITS] == 1 && d[CNT_ACTION_PASS] == 1 && d[CNT_ACTION_DROP] == 0);
	set_policy(&f, 5, (struct policy){ .action = ACTION_RATE_LIMIT, .rate_bytes = 1,
					   .burst_bytes = 1 });
	CHECKF(run_spec(&f, &tcp4, NULL) == XDP_PASS, "an Unknown verdict was rate-limited");
	counter_delta(&f, d);
	CHECK(d[CNT_ACTION_PASS] == 1 && d[CNT_ACTION_RATE_DROP] == 0);
	set_policy(&f, 5, (struct policy){ .action = ACTION_MARK, .dscp = 8 });
	CHECK(run_spec(&f, &tcp4, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(d[CNT_ACTION_MARK] == 1);
	check_class_actions(&f, (uint64_t[ODEFLOW_CLASS_ACTIONS]){
					[5 * OUTCOME_COUNT + OUTCOME_PASS] = 2,
					[5 * OUTCOME_COUNT + OUTCOME_MARK] = 1 }, 140);
	fixture_close(&f);
}

static void test_final_verdict_samples_unseen_direction(void)
{
	struct fixture f;
	uint16_t sizes[TEST_N];
	uint64_t d[CNT_MAX];
	struct pkt_spec rev = tcp4;
	struct flow_key k, conn;
	int reverse_bit;

	if (fixture_open(&f, 1 << 16))
		return;
	rev.saddr = tcp4.daddr;
	rev.daddr = tcp4.saddr;
	rev.sport = tcp4.dport;
	rev.dport = tcp4.sport;
	flow_key_make(&k, rev.saddr, rev.sport, rev.daddr, rev.dport, rev.proto);
	reverse_bit = flow_key_canonical(&k, &conn) ? VERDICT_SEEN_REVERSE : VERDICT_SEEN_FORWARD;
	/* final, and only the other direction seen */
	put_verdict(&f, &tcp4, 3, VERDICT_SEEN_FORWARD + VERDICT_SEEN_REVERSE - reverse_bit);
	send_window(&f, rev, sizes, 1);
	check_window(&records[0], &rev, sizes, 0);
	/* both seen: a classified packet is not sampled any more */
	put_verdict(&f, &tcp4, 3, VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE);
	counter_delta(&f, d);
	CHECK(run_spec(&f, &rev, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(d[CNT_VERDICT_HITS] == 1 && d[CNT_NEW_FLOWS] == 0 && d[CNT_WINDOWS] == 0);
	fixture_close(&f);
}

static void test_mark_rewrites_dscp(void)
{
	struct fixture f;
	uint8_t out[PKT_MAX];
	struct pkt_spec s4 = tcp4, s6 = udp6;

	if (fixture_open(&f, 1 << 16))
		return;
	set_policy(&f, 0, (struct policy){ .action = ACTION_MARK, .dscp = 46 });
	s4.tos = 0x03; /* ECN bits set: they must survive */
	s4.vlans = 1;
	put_verdict(&f, &s4, 0, 0);
	CHECK(run_spec(&f, &s4, out) == XDP_PASS);
	CHECKF(out[18 + 1] == (46 << 2 | 3), "tos %#x", out[18 + 1]);
	CHECKF(ipv4_checksum(out + 18, 20) == 0, "the IPv4 header checksum does not verify");

	s6.tos = 0x01;
	put_verdict(&f, &s6, 0, VERDICT_PROVISIONAL); /* provisional verdicts still mark */
	CHECK(run_spec(&f, &s6, out) == XDP_PASS);
	CHECKF(((out[14] & 0x0f) << 4 | out[15] >> 4) == (46 << 2 | 1), "traffic class %#x",
	       (out[14] & 0x0f) << 4 | out[15] >> 4);
	CHECK(out[14] >> 4 == 6);
	fixture_close(&f);
}

static void test_rate_limit_passes_burst_then_drops(void)
{
	struct fixture f;
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;
	size_t len;
	uint64_t d[CNT_MAX];

	if (fixture_open(&f, 1 << 16))
		return;
	len = pkt_build(&tcp4, frame, &ip_len); /* 140 bytes of IP */
	/* 10 bytes/s refill: the burst of 1400 bytes is ten packets */
	set_policy(&f, 4, (struct policy){ .action = ACTION_RATE_LIMIT, .rate_bytes = 10,
					   .burst_bytes = 10 * ip_len });
	put_verdict(&f, &tcp4, 4, 0);
	for (int i = 0; i < 15; i++) {
		int action = run_frame(&f, frame, len, NULL);

		if (i < 10)
			CHECKF(action == XDP_PASS, "packet %d within the burst: %d", i, action);
		else
			CHECKF(action == XDP_DROP, "packet %d over the limit: %d", i, action);
	}
	counter_delta(&f, d);
	CHECK(d[CNT_ACTION_RATE_PASS] == 10 && d[CNT_ACTION_RATE_DROP] == 5);
	check_class_actions(&f, (uint64_t[ODEFLOW_CLASS_ACTIONS]){
					[4 * OUTCOME_COUNT + OUTCOME_RATE_PASS] = 10,
					[4 * OUTCOME_COUNT + OUTCOME_RATE_DROP] = 5 }, ip_len);
	/* A new policy refills the bucket. */
	set_policy(&f, 4, (struct policy){ .action = ACTION_RATE_LIMIT, .rate_bytes = 10,
					   .burst_bytes = ip_len });
	CHECK(run_frame(&f, frame, len, NULL) == XDP_PASS);
	CHECK(run_frame(&f, frame, len, NULL) == XDP_DROP);
	fixture_close(&f);
}

/* Runs the TEST_N packets of one window of s, leaving it in the ring. */
static void fill_window(struct fixture *f, struct pkt_spec s)
{
	uint8_t frame[PKT_MAX];
	uint16_t size;

	for (int i = 0; i < TEST_N; i++)
		CHECK(run_frame(f, frame, pkt_build(&s, frame, &size), NULL) == XDP_PASS);
}

/* The ring-buffer bytes a record of `len` bytes takes: an 8-byte header,
 * rounded up to 8. */
static unsigned ring_record_bytes(unsigned len)
{
	return (len + 8 + 7) / 8 * 8;
}


/* The state "flows" holds for a direction, or -1 if it holds none. */
static int flow_state_of(struct fixture *f, const struct pkt_spec *spec, struct flow_state_buf *st)
{
	struct flow_key k;

	flow_key_make(&k, spec->saddr, spec->sport, spec->daddr, spec->dport, spec->proto);
	return bpf_map_lookup_elem(xdp_sampler_map_fd(f->s, XDP_MAP_FLOWS), &k, st);
}

/* A direction's first packet is held, not inserted; its second inserts the
 * direction with both in their slots, so the window still starts at the
 * first packet. */
static void test_second_packet_admits(void)
{
	struct fixture f;
	struct flow_state_buf st;
	uint16_t sizes[TEST_N];
	uint64_t d[CNT_MAX];
	struct pkt_spec s = udp6;

	if (fixture_open(&f, 1 << 16))
		return;
	s.payload = 10;
	CHECK(run_spec(&f, &s, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(d[CNT_FIRST_PACKETS] == 1 && d[CNT_NEW_FLOWS] == 0);
	CHECK(flow_state_of(&f, &s, &st) != 0);
	s.payload = 20;
	CHECK(run_spec(&f, &s, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(d[CNT_FIRST_PACKETS] == 0 && d[CNT_NEW_FLOWS] == 1);
	CHECK(flow_state_of(&f, &s, &st) == 0 && st.head.count == 2);
	CHECK(slot_sizes(st.slots, TEST_N)[0] == 40 + 8 + 10 && slot_sizes(st.slots, TEST_N)[1] == 40 + 8 + 20);
	fixture_close(&f);

	/* and a whole window of a new direction is exactly its first N packets */
	if (fixture_open(&f, 1 << 16))
		return;
	send_window(&f, udp6, sizes, 1);
	check_window(&records[0], &udp6, sizes, 0);
	fixture_close(&f);
}

/* First packets held before a flood of one-packet directions (300,000 of
 * them, a second of a fast flood) are still there when their directions'
 * second packets come: nearly all of them are admitted, where a table of
 * one slot per hash (the program's before) kept about one in a hundred. */
static void test_first_packets_outlive_a_flood(void)
{
	struct fixture f;
	struct pkt_spec s = udp6, flood = tcp4;
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;
	uint64_t d[CNT_MAX];
	const int held = 100, flood_packets = 300000;

	if (fixture_open(&f, 1 << 16))
		return;
	for (int i = 0; i < held; i++) {
		s.sport = (uint16_t)(2000 + i);
		run_frame(&f, frame, pkt_build(&s, frame, &ip_len), NULL);
	}
	for (int i = 0; i < flood_packets; i++) {
		flood.sport = (uint16_t)(1024 + i % 60000);
		flood.dport = (uint16_t)(1 + i / 60000);
		run_frame(&f, frame, pkt_build(&flood, frame, &ip_len), NULL);
	}
	counter_delta(&f, d);
	CHECK(d[CNT_NEW_FLOWS] == 0);
	for (int i = 0; i < held; i++) {
		s.sport = (uint16_t)(2000 + i);
		run_frame(&f, frame, pkt_build(&s, frame, &ip_len), NULL);
	}
	counter_delta(&f, d);
	printf("  %llu of %d held first packets outlived %d one-packet directions\n",
	       (unsigned long long)d[CNT_NEW_FLOWS], held, flood_packets);
	CHECKF(d[CNT_NEW_FLOWS] >= 90, "%llu of %d admitted", (unsigned long long)d[CNT_NEW_FLOWS],
	       held);
	fixture_close(&f);
}

/* A flood of one-packet directions inserts nothing into "flows"; held
 * first packets that lose their slot are counted. */
static void test_one_packet_flood_inserts_nothing(void)
{
	struct fixture f;
	struct pkt_spec s = tcp4;
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;
	uint64_t d[CNT_MAX];
	struct flow_key next;

	if (fixture_open(&f, 1 << 16))
		return;
	for (unsigned i = 0; i < 2 * ODEFLOW_FIRST_PACKET_SLOTS; i++) {
		s.sport = (uint16_t)(1024 + i % 60000);
		s.dport = (uint16_t)(1 + i / 60000);
		run_frame(&f, frame, pkt_build(&s, frame, &ip_len), NULL);
	}
	counter_delta(&f, d);
	CHECK(d[CNT_FIRST_PACKETS] == 2 * ODEFLOW_FIRST_PACKET_SLOTS && d[CNT_NEW_FLOWS] == 0);
	CHECKF(d[CNT_ADMIT_OVERWRITES] > ODEFLOW_FIRST_PACKET_SLOTS / 2, "%llu overwrites",
	       (unsigned long long)d[CNT_ADMIT_OVERWRITES]);
	CHECK(bpf_map_get_next_key(xdp_sampler_map_fd(f.s, XDP_MAP_FLOWS), NULL, &next) != 0);
	fixture_close(&f);
}

/* With --verdict-idle 1s, a DROP verdict (and the decision its direction
 * keeps) lasts while the connection sends, however long, and is gone once
 * it has been idle past that (within a tick of the coarse clock, about a
 * second): the connection's next packet passes and is sampled again. */
static void test_idle_verdict_expires(void)
{
	struct fixture f;
	struct flow_state_buf st;
	uint16_t sizes[TEST_N];
	uint64_t d[CNT_MAX];
	struct verdict v;
	struct flow_key k, conn;
	struct pkt_spec other = tcp4;
	int vfd;

	if (fixture_open_with(&f, 1 << 16, 0, ODEFLOW_RESAMPLE_AFTER_NS, NSEC_PER_SEC))
		return;
	vfd = xdp_sampler_map_fd(f.s, XDP_MAP_VERDICTS);
	flow_key_make(&k, tcp4.saddr, tcp4.sport, tcp4.daddr, tcp4.dport, tcp4.proto);
	flow_key_canonical(&k, &conn);
	set_policy(&f, 2, (struct policy){ .action = ACTION_DROP });
	send_window(&f, tcp4, sizes, 1);
	put_verdict(&f, &tcp4, 2, VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE);
	CHECK(settle(&f, &tcp4, 2, false, false) == 0);
	for (int i = 0; i < 12; i++) { /* 3.6 s of a packet every 0.3 s: never idle */
		CHECKF(run_spec(&f, &tcp4, NULL) == XDP_DROP, "packet %d after %d ms passed", i,
		       300 * i);
		usleep(300000);
	}
	CHECK(bpf_map_lookup_elem(vfd, &conn, &v) == 0 && v.seen_tick != 0);
	usleep(2300000); /* idle past a second, and a tick */
	counter_delta(&f, d);
	CHECK(run_spec(&f, &tcp4, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(bpf_map_lookup_elem(vfd, &conn, &v) < 0 && errno == ENOENT);
	CHECK(flow_state_of(&f, &tcp4, &st) == 0 && st.head.decision == 0 &&
	      st.head.phase == FLOW_SAMPLING && st.head.count == 1);
	CHECK(d[CNT_VERDICT_HITS] == 0 && d[CNT_ACTION_DROP] == 0 && d[CNT_ENFORCED_EVICTED] == 0);

	/* the direction's decision alone (its verdict evicted) expires too */
	other.sport++;
	send_window(&f, other, sizes, 1);
	CHECK(settle(&f, &other, 2, false, false) == 0);
	CHECK(run_spec(&f, &other, NULL) == XDP_DROP);
	usleep(2300000);
	CHECK(run_spec(&f, &other, NULL) == XDP_PASS);
	fixture_close(&f);
}

/* A direction whose window got no verdict is sampled again by the program
 * once resample_after_ns has passed: the window was lost, or the verdict
 * was (here: deleted, as the verdicts LRU evicts one). Before that, it
 * waits for the agent. */
static void test_unanswered_direction_is_sampled_again(void)
{
	struct fixture f;
	struct flow_state_buf st;
	uint16_t sizes[TEST_N];
	uint64_t d[CNT_MAX];
	struct flow_key k, conn;
	struct pkt_spec other = tcp4;

	if (fixture_open_with(&f, 1 << 16, 0, 50 * NSEC_PER_MSEC, ODEFLOW_VERDICT_IDLE_NS))
		return;
	send_window(&f, tcp4, sizes, 1); /* emitted, and nobody answers */
	CHECK(run_spec(&f, &tcp4, NULL) == XDP_PASS);
	CHECK(flow_state_of(&f, &tcp4, &st) == 0 && st.head.phase == FLOW_EMITTED);
	usleep(60000);
	counter_delta(&f, d);
	CHECK(run_spec(&f, &tcp4, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(d[CNT_RESAMPLED] == 1);
	CHECK(flow_state_of(&f, &tcp4, &st) == 0 && st.head.phase == FLOW_SAMPLING &&
	      st.head.window == 1 && st.head.count == 1);

	/* a final verdict stops sampling; when it is evicted, sampling resumes */
	other.sport++;
	send_window(&f, other, sizes, 1);
	put_verdict(&f, &other, 2, VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE);
	usleep(60000);
	counter_delta(&f, d);
	CHECK(run_spec(&f, &other, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(d[CNT_VERDICT_HITS] == 1 && d[CNT_RESAMPLED] == 0);
	flow_key_make(&k, other.saddr, other.sport, other.daddr, other.dport, other.proto);
	flow_key_canonical(&k, &conn);
	CHECK(bpf_map_delete_elem(xdp_sampler_map_fd(f.s, XDP_MAP_VERDICTS), &conn) == 0);
	CHECK(run_spec(&f, &other, NULL) == XDP_PASS);
	counter_delta(&f, d);
	CHECK(d[CNT_RESAMPLED] == 1);
	fixture_close(&f);
}

/* --skip K: a direction's first window starts at its packet K+1; a window
 * lost to a full ring does not skip again. */
static void test_skip_starts_the_first_window_later(void)
{
	struct fixture f;
	struct pkt_spec s = udp6;
	uint8_t frame[PKT_MAX];
	uint16_t sizes[3 + TEST_N];

	for (unsigned skip = 0; skip <= 3; skip++) {
		if (fixture_open_with(&f, 1 << 16, skip, ODEFLOW_RESAMPLE_AFTER_NS,
				      ODEFLOW_VERDICT_IDLE_NS))
			return;
		for (unsigned i = 0; i < skip + TEST_N; i++) {
			s.payload = 10 * i + 1;
			CHECK(run_frame(&f, frame, pkt_build(&s, frame, &sizes[i]), NULL) == XDP_PASS);
			usleep(20);
		}
		CHECKF(drain(&f) == 1, "skip %u: %d windows", skip, n_records);
		check_window(&records[0], &s, sizes + skip, 0);
		fixture_close(&f);
	}
}

/* A poll hands over at most its budget: a reader behind a ring that never
 * empties gets control back (to publish, to stop) between slices. */
static void test_poll_stops_at_its_budget(void)
{
	struct fixture f;
	struct pkt_spec s = udp6;

	if (fixture_open(&f, 1 << 16))
		return;
	for (int i = 0; i < 5; i++) {
		s.sport = (uint16_t)(7000 + i);
		fill_window(&f, s);
	}
	n_records = 0;
	CHECK(window_ring_poll(f.ring, window_ring_epoll_fd(f.ring), 0, 2) == 2 && n_records == 2);
	CHECK(window_ring_poll(f.ring, window_ring_epoll_fd(f.ring), 0, 2) == 2 && n_records == 4);
	CHECK(window_ring_poll(f.ring, window_ring_epoll_fd(f.ring), 0, 2) == 1 && n_records == 5);
	CHECK(window_ring_poll(f.ring, window_ring_epoll_fd(f.ring), 0, 2) == 0);
	for (int i = 0; i < 5; i++)
		CHECK(records[i].key.sport == 7000 + i); /* none lost, none twice, in order */
	fixture_close(&f);
}

static void test_full_ring_counts_passes_and_resamples(void)
{
	struct fixture f;
	struct pkt_spec s = udp6;
	uint16_t sizes[TEST_N];
	uint64_t d[CNT_MAX];
	long page = sysconf(_SC_PAGESIZE);
	int flows = page / ring_record_bytes(RING_WINDOW_BYTES(TEST_N)) + 4;

	if (fixture_open(&f, page))
		return;
	for (int i = 0; i < flows; i++) {
		s.sport = 1000 + i;
		fill_window(&f, s);
	}
	counter_delta(&f, d);
	CHECKF(d[CNT_RING_DROPS] >= 4 && d[CNT_WINDOWS] + d[CNT_RING_DROPS] == (uint64_t)flows,
	       "windows %llu, ring drops %llu, of %d", (unsigned long long)d[CNT_WINDOWS],
	       (unsigned long long)d[CNT_RING_DROPS], flows);
	CHECK(drain(&f) == (int)d[CNT_WINDOWS]);
	/* The last flow's window was lost: once the ring has room, its next
	 * N packets make a window the agent does see. */
	send_window(&f, s, sizes, 1);
	check_window(&records[0], &s, sizes, 0);
	fixture_close(&f);
}

/* A reader waiting for the next window, on a thread of its own. */
struct sleeper {
	struct window_ring *ring;
	int got;
	double waited_s;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void *sleep_for_window(void *arg)
{
	struct sleeper *sl = arg;
	double start = now_s();

	sl->got = window_ring_poll(sl->ring, window_ring_epoll_fd(sl->ring), 5000, INT_MAX);
	sl->waited_s = now_s() - start;
	return NULL;
}

static void set_wakeup_flag(struct fixture *f, __u32 asleep)
{
	__u32 zero = 0;

	CHECK(bpf_map_update_elem(xdp_sampler_map_fd(f->s, XDP_MAP_WAKEUP), &zero, &asleep,
				  BPF_ANY) == 0);
}

static __u32 wakeup_flag(struct fixture *f)
{
	__u32 zero = 0, asleep = ~0u;

	CHECK(bpf_map_lookup_elem(xdp_sampler_map_fd(f->s, XDP_MAP_WAKEUP), &zero, &asleep) == 0);
	return asleep;
}

/* Waits (up to 5 s) until a reader has raised the wakeup flag. */
static bool wait_for_flag(struct fixture *f)
{
	for (int i = 0; i < 5000; i++) {
		if (wakeup_flag(f) == 1)
			return true;
		usleep(1000);
	}
	return false;
}

/* A window goes into the ring without waking its reader: a wakeup costs the
 * packet that sends it an interrupt. Only a reader that raised the wakeup
 * flag before sleeping (window_ring_poll) is woken, at once, by the next
 * window. */
static void test_window_wakes_only_a_sleeping_reader(void)
{
	struct fixture f;
	struct pkt_spec spec = udp6;
	struct sleeper sl;
	struct epoll_event ev;
	uint64_t d[CNT_MAX];
	pthread_t t;
	int ep;

	if (fixture_open(&f, 1 << 16))
		return;
	/* A plain epoll reader, without the flag, sleeps through a window. */
	ep = window_ring_epoll_fd(f.ring);
	fill_window(&f, spec);
	CHECKF(epoll_wait(ep, &ev, 1, 300) == 0, "a window woke a reader that did not ask");
	counter_delta(&f, d);
	CHECK(d[CNT_WINDOWS] == 1 && d[CNT_AGENT_WAKEUPS] == 0);
	CHECK(drain(&f) == 1);

	/* A window for a reader asleep in window_ring_poll wakes it. */
	sl = (struct sleeper){ .ring = f.ring };
	n_records = 0;
	CHECK(pthread_create(&t, NULL, sleep_for_window, &sl) == 0);
	CHECK(wait_for_flag(&f));
	spec.sport++;
	fill_window(&f, spec);
	pthread_join(t, NULL);
	CHECKF(sl.got == 1 && n_records == 1, "the reader got %d windows", sl.got);
	CHECKF(sl.waited_s < 1.0, "the reader slept %.2f s of its 5 s timeout", sl.waited_s);
	counter_delta(&f, d);
	CHECK(d[CNT_WINDOWS] == 1 && d[CNT_AGENT_WAKEUPS] == 1);

	/* Awake again, it gets the next windows without being woken. */
	spec.sport++;
	fill_window(&f, spec);
	counter_delta(&f, d);
	CHECK(d[CNT_WINDOWS] == 1 && d[CNT_AGENT_WAKEUPS] == 0);
	CHECK(drain(&f) == 1);
	fixture_close(&f);
}

/* How many windows that wake nobody (quiet) and that wake the reader (woke,
 * each followed by an 8-byte wakeup record) fill a ring of `size` bytes so
 * that one more window fits and its wakeup record does not. The kernel takes
 * a record while the ring then holds at most size - 1 bytes. */
static bool fill_for_no_wakeup_room(long size, int *quiet, int *woke)
{
	long window = ring_record_bytes(RING_WINDOW_BYTES(TEST_N)), nudge = ring_record_bytes(8);

	for (*woke = 0; *woke < 8; (*woke)++)
		for (*quiet = 0; *quiet * window < size; (*quiet)++) {
			long used = *quiet * window + *woke * (window + nudge);

			if (used + window < size && used + window + nudge >= size)
				return true;
		}
	return false;
}

/* A sleeping reader, and a ring with room for the next window but not for
 * the wakeup record after it: the window goes in, unannounced, and the flag
 * stays up; the first window after the reader has made room wakes it. */
static void test_wakeup_waits_for_room(void)
{
	struct fixture f;
	struct pkt_spec spec = udp6;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t d[CNT_MAX];
	int quiet, woke;

	if (fixture_open(&f, page))
		return;
	CHECK(fill_for_no_wakeup_room(page, &quiet, &woke));
	for (int i = 0; i < quiet + woke; i++) {
		set_wakeup_flag(&f, i >= quiet);
		spec.sport++;
		fill_window(&f, spec);
	}
	counter_delta(&f, d);
	CHECKF(d[CNT_WINDOWS] == (uint64_t)(quiet + woke) && d[CNT_AGENT_WAKEUPS] == (uint64_t)woke &&
	       d[CNT_RING_DROPS] == 0, "filling: %llu windows, %llu wakeups, %llu drops",
	       (unsigned long long)d[CNT_WINDOWS], (unsigned long long)d[CNT_AGENT_WAKEUPS],
	       (unsigned long long)d[CNT_RING_DROPS]);

	set_wakeup_flag(&f, 1);
	spec.sport++;
	fill_window(&f, spec);
	counter_delta(&f, d);
	CHECKF(d[CNT_WINDOWS] == 1 && d[CNT_RING_DROPS] == 0 && d[CNT_AGENT_WAKEUPS] == 0,
	       "the window that fits: %llu windows, %llu drops, %llu wakeups",
	       (unsigned long long)d[CNT_WINDOWS], (unsigned long long)d[CNT_RING_DROPS],
	       (unsigned long long)d[CNT_AGENT_WAKEUPS]);
	CHECKF(wakeup_flag(&f) == 1, "the flag went down with no wakeup sent");

	CHECK(drain(&f) == quiet + woke + 1);
	spec.sport++;
	fill_window(&f, spec);
	counter_delta(&f, d);
	CHECK(d[CNT_WINDOWS] == 1 && d[CNT_AGENT_WAKEUPS] == 1);
	CHECK(wakeup_flag(&f) == 0);
	fixture_close(&f);
}

static void test_bad_options_rejected(void)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	struct xdp_sampler *s;
	char err[256] = "";

	o.window_n = 65;
	CHECK(xdp_sampler_open(&o, &s, err, sizeof(err)) == -1 && s == NULL);
	CHECKF(strstr(err, "window size 65") != NULL, "%s", err);
	o.window_n = 20;
	o.ring_bytes = 5000;
	CHECK(xdp_sampler_open(&o, &s, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "power of two") != NULL, "%s", err);
}

/* A restarted agent finds the verdicts of the one before: maps pinned by
 * the first load are reused by the second. */
static void test_pinned_maps_are_reused(void)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	struct xdp_sampler *s;
	struct flow_key k;
	struct verdict v = { .class_id = 3, .stage = 2, .model_id = 9 }, got;
	char dir[64], flows_pin[80], err[4096];

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/odeflow-test-%d", (int)getpid());
	o.pin_dir = dir;
	o.flow_capacity = 1024;
	flow_key_make(&k, "10.200.1.1", 1, "10.200.1.2", 2, IPPROTO_UDP);
	if (xdp_sampler_open(&o, &s, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		xdp_unpin(dir, NULL, err, sizeof(err)); /* whatever it left */
		return;
	}
	CHECK(bpf_map_update_elem(xdp_sampler_map_fd(s, XDP_MAP_VERDICTS), &k, &v, BPF_ANY) == 0);
	xdp_sampler_close(s);
	if (xdp_sampler_open(&o, &s, err, sizeof(err))) {
		CHECKF(0, "reopening: %s", err);
	} else {
		CHECK(bpf_map_lookup_elem(xdp_sampler_map_fd(s, XDP_MAP_VERDICTS), &k, &got) == 0);
		CHECK(got.class_id == 3 && got.stage == 2 && got.model_id == 9);
		xdp_sampler_close(s);
	}
	/* A different capacity or window length cannot reuse them: one clear error. */
	o.flow_capacity = 2048;
	CHECK(xdp_sampler_open(&o, &s, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "reuse") != NULL, "%s", err);
	o.flow_capacity = 1024;
	o.window_n = 30;
	CHECK(xdp_sampler_open(&o, &s, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "reuse") && strstr(err, "window size") && strstr(err, dir), "%s", err);
	/* A failed load pins nothing new: with "flows" gone, the load that
	 * pins a new "flows" and then trips over "windows" (pinned with
	 * another ring size; maps are made in the order of the skeleton's
	 * list) must take that "flows" back. */
	snprintf(flows_pin, sizeof(flows_pin), "%s/flows", dir);
	CHECK(unlink(flows_pin) == 0);
	o.window_n = XDP_OPTIONS_DEFAULT.window_n;
	o.ring_bytes = 2 * XDP_OPTIONS_DEFAULT.ring_bytes;
	CHECK(xdp_sampler_open(&o, &s, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "windows") != NULL, "%s", err);
	CHECKF(access(flows_pin, F_OK) == -1, "%s was left pinned after a failed load", flows_pin);
	CHECKF(xdp_unpin(dir, NULL, err, sizeof(err)) == 0, "%s", err);
	CHECK(access(dir, F_OK) == -1);
}

/* The query tools (stats, flows, top, policy) read pinned maps with this
 * build's structs. A map of another layout, as another version of odeflow
 * would pin (here: a counters map with one counter more), is refused with
 * a clear error rather than misread or overrun. */
static void test_pins_of_another_layout_refused(void)
{
	char dir[64], path[96], err[512];
	int fd, good;

	if (!harness_is_root()) {
		SKIP("needs root to create BPF maps");
		return;
	}
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/odeflow-layout-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/counters", dir);
	CHECK(mkdir(dir, 0700) == 0);
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "counters", sizeof(__u32),
			    sizeof(struct counters) + sizeof(__u64), 1, NULL);
	CHECK(fd >= 0 && bpf_obj_pin(fd, path) == 0);
	CHECK(xdp_open_pinned_map(dir, XDP_MAP_COUNTERS, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "another version") && strstr(err, path), "%s", err);
	close(fd);
	unlink(path);

	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "counters", sizeof(__u32),
			    sizeof(struct counters), 1, NULL);
	CHECK(fd >= 0 && bpf_obj_pin(fd, path) == 0);
	good = xdp_open_pinned_map(dir, XDP_MAP_COUNTERS, err, sizeof(err));
	CHECKF(good >= 0, "%s", err);
	if (good >= 0)
		close(good);
	close(fd);
	CHECKF(xdp_unpin(dir, NULL, err, sizeof(err)) == 0, "%s", err);
}

static bool is_bpffs(const char *path)
{
	struct statfs fs;

	return statfs(path, &fs) == 0 && fs.f_type == BPF_FS_MAGIC;
}

/* A sampler removes its own pins by name and nothing else: another tool's
 * map pinned in the same folder stays, and so does the folder; at a bpffs
 * mount root, nothing of the kernel's is touched. A start that failed
 * removes only what it pinned itself. */
static void test_unpin_removes_only_its_own(void)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	struct xdp_sampler *s;
	char dir[64], theirs[96], verdicts[96], root[64], err[4096];
	int fd;

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	snprintf(dir, sizeof(dir), "/sys/fs/bpf/odeflow-unpin-%d", (int)getpid());
	snprintf(theirs, sizeof(theirs), "%s/theirs", dir);
	snprintf(verdicts, sizeof(verdicts), "%s/verdicts", dir);
	CHECK(mkdir(dir, 0700) == 0);
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "theirs", 4, 4, 1, NULL);
	CHECK(fd >= 0 && bpf_obj_pin(fd, theirs) == 0);
	o.pin_dir = dir;
	o.flow_capacity = 1024;
	if (xdp_sampler_open(&o, &s, err, sizeof(err)) == 0) {
		CHECK(xdp_sampler_unpin(s, true, err, sizeof(err)) == 0);
		xdp_sampler_close(s);
	} else {
		CHECKF(0, "%s", err);
	}
	CHECK(access(verdicts, F_OK) == -1);
	CHECKF(access(theirs, F_OK) == 0, "another tool's pin was removed");

	/* pins found at open (a --keep run's) survive a failed start's cleanup */
	if (xdp_sampler_open(&o, &s, err, sizeof(err)) == 0) {
		xdp_sampler_close(s);
		if (xdp_sampler_open(&o, &s, err, sizeof(err)) == 0) {
			CHECK(xdp_sampler_unpin(s, false, err, sizeof(err)) == 0);
			xdp_sampler_close(s);
		}
		CHECKF(access(verdicts, F_OK) == 0, "a failed start removed pins it had found");
	}
	CHECK(xdp_unpin(dir, NULL, err, sizeof(err)) == 0);
	CHECK(access(theirs, F_OK) == 0 && access(verdicts, F_OK) == -1);
	unlink(theirs);
	close(fd);
	CHECK(rmdir(dir) == 0);

	/* a bpffs mount root as the pin dir: its own entries stay */
	snprintf(root, sizeof(root), "/tmp/odeflow-bpffs-%d", (int)getpid());
	CHECK(mkdir(root, 0700) == 0 && mount("bpf", root, "bpf", 0, "mode=0700") == 0);
	o.pin_dir = root;
	if (xdp_sampler_open(&o, &s, err, sizeof(err)) == 0) {
		CHECKF(xdp_sampler_unpin(s, true, err, sizeof(err)) == 0, "%s", err);
		xdp_sampler_close(s);
	} else {
		CHECKF(0, "%s", err);
	}
	CHECK(is_bpffs(root));
	umount(root);
	rmdir(root);
}

/* A pin dir that is a symlink, belongs to someone else, may be written by
 * others, has a dot in its name or is off bpffs: one clear error, and
 * nothing created. */
static void test_pin_dir_refused(void)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	struct xdp_sampler *s;
	char base[64], path[128], err[4096];
	struct {
		const char *name, *setup, *expect;
	} cases[] = {
		{ "link", "ln -s %s/real %s", "is a symlink" },
		{ "nobody", "mkdir %s && chown 65534 %s", "belongs to uid 65534" },
		{ "open", "mkdir %s && chmod 0777 %s", "writable by no one else" },
		{ "with.dot", "true %s %s", "does not allow '.'" },
	};

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	snprintf(base, sizeof(base), "/sys/fs/bpf/odeflow-refuse-%d", (int)getpid());
	CHECK(mkdir(base, 0700) == 0);
	snprintf(path, sizeof(path), "%s/real", base);
	CHECK(mkdir(path, 0700) == 0);
	o.flow_capacity = 1024;
	o.pin_dir = path;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[512];

		snprintf(path, sizeof(path), "%s/%s", base, cases[i].name);
		snprintf(cmd, sizeof(cmd), cases[i].setup, i == 0 ? base : path, path);
		CHECK(system(cmd) == 0);
		CHECK(xdp_sampler_open(&o, &s, err, sizeof(err)) == -1);
		CHECKF(strstr(err, cases[i].expect) && strstr(err, path), "%s: '%s'", cases[i].name, err);
	}
	snprintf(path, sizeof(path), "/tmp/odeflow-off-bpffs-%d", (int)getpid());
	o.pin_dir = path;
	CHECK(xdp_sampler_open(&o, &s, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "is not on a bpffs"), "%s", err);
	CHECKF(access(path, F_OK) == -1, "a pin dir off bpffs was left behind");
	snprintf(path, sizeof(path), "rm -rf %s", base);
	CHECK(system(path) == 0);
}

/* The child of test_mounts_bpffs_when_missing, in a mount namespace of its
 * own: returns 0, or the number of the step that failed. */
static int open_without_bpffs(void)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	struct xdp_sampler *s;
	char err[4096];

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 1;
	for (int i = 0; i < 8 && is_bpffs("/sys/fs/bpf"); i++) /* mounts may be stacked */
		if (umount2("/sys/fs/bpf", MNT_DETACH))
			return 2;
	if (is_bpffs("/sys/fs/bpf"))
		return 3;
	o.pin_dir = "/sys/fs/bpf/odeflow-mount-test";
	o.flow_capacity = 1024;
	if (xdp_sampler_open(&o, &s, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 4;
	}
	xdp_sampler_close(s);
	if (!is_bpffs("/sys/fs/bpf") || access("/sys/fs/bpf/odeflow-mount-test/verdicts", F_OK))
		return 5;
	return 0;
}

/* With nothing mounted on /sys/fs/bpf (some minimal systems), a pin dir
 * below it gets bpffs mounted there. The child's mount namespace, and the
 * bpffs it mounts, end with it: the machine's own is never touched. */
static void test_mounts_bpffs_when_missing(void)
{
	static const char *const steps[] = {
		"", "making a private mount namespace", "unmounting bpffs",
		"bpffs still mounted", "opening the sampler", "no bpffs or pins afterwards",
	};
	int status = -1;
	pid_t pid;

	if (!harness_is_root()) {
		SKIP("needs root to mount and load BPF programs");
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(open_without_bpffs());
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "failed at: %s",
	       WIFEXITED(status) && WEXITSTATUS(status) < 6 ? steps[WEXITSTATUS(status)]
							  : "the child died");
	CHECK(is_bpffs("/sys/fs/bpf") && access("/sys/fs/bpf/odeflow-mount-test", F_OK) == -1);
}

int main(void)
{
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	RUN(test_parses_ip_and_ports);
	RUN(test_malformed_passes_and_counts);
	RUN(test_jumbo_frames_span_buffers);
	RUN(test_window_at_nth_packet);
	RUN(test_torn_window_restarts);
	RUN(test_flows_map_sized_by_n);
	RUN(test_directions_fill_separate_windows);
	RUN(test_verdict_drop);
	RUN(test_direction_enforces_a_lost_verdict);
	RUN(test_idle_verdict_expires);
	RUN(test_unknown_verdict_never_drops);
	RUN(test_final_verdict_samples_unseen_direction);
	RUN(test_mark_rewrites_dscp);
	RUN(test_rate_limit_passes_burst_then_drops);
	RUN(test_full_ring_counts_passes_and_resamples);
	RUN(test_poll_stops_at_its_budget);
	RUN(test_second_packet_admits);
	RUN(test_one_packet_flood_inserts_nothing);
	RUN(test_first_packets_outlive_a_flood);
	RUN(test_unanswered_direction_is_sampled_again);
	RUN(test_skip_starts_the_first_window_later);
	RUN(test_window_wakes_only_a_sleeping_reader);
	RUN(test_wakeup_waits_for_room);
	RUN(test_bad_options_rejected);
	RUN(test_pinned_maps_are_reused);
	RUN(test_pins_of_another_layout_refused);
	RUN(test_mounts_bpffs_when_missing);
	RUN(test_unpin_removes_only_its_own);
	RUN(test_pin_dir_refused);
	return harness_done();
}
