/* SPDX-License-Identifier: MIT */
/* The sampler at both hooks of an interface, run by the kernel on crafted
 * frames through bpf_prog_test_run_opts: the TC egress program and the XDP
 * one share the maps; each window says the interface and hook it came
 * from; a connection's verdict is enforced at both; a packet forwarded
 * from an attached ingress is left alone at egress; rate limits keep a
 * bucket per interface and hook. Needs root (loads BPF); skipped otherwise. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <stdio.h>

#include "common/flow_key.h"
#include "harness.h"
#include "loader/map_ops.h"
#include "loader/window_ring.h"
#include "loader/xdp_loader.h"
#include "xdp_packets.h"

#define TEST_N 4
#define MAX_RECORDS 16

#include "sampler_fixture.h"

/* What tc programs return (enum tcx_action_base, kernel 6.6). */
#define TCX_NEXT (-1)
#define TCX_DROP 2
#define LOOPBACK 1 /* the one interface test runs may name: no other device is needed */

/* A fresh sampler, its egress program loaded too (tcx exists here). */
static int egress_fixture_open(struct fixture *f)
{
	if (fixture_open(f, 1 << 16))
		return -1;
	CHECK(xdp_sampler_prog_fd(f->s) >= 0 && xdp_sampler_egress_prog_fd(f->s) >= 0);
	return 0;
}

/* One frame through the XDP program, as arriving on ifindex. */
static int run_ingress(struct fixture *f, const struct pkt_spec *spec, __u32 ifindex)
{
	uint8_t frame[PKT_MAX], out[PKT_MAX];
	uint16_t ip_len;
	size_t len = pkt_build(spec, frame, &ip_len);
	struct xdp_md ctx = { .data_end = (__u32)len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err = bpf_prog_test_run_opts(xdp_sampler_prog_fd(f->s), &opts);

	CHECKF(err == 0, "XDP test run: %s", strerror(errno));
	return err ? -100 : (int)opts.retval;
}

/* One frame through the TC egress program, leaving by ifindex, arrived on
 * arrived_on (0: the host's own). */
static int run_egress(struct fixture *f, const struct pkt_spec *spec, __u32 ifindex,
		      __u32 arrived_on)
{
	uint8_t frame[PKT_MAX], out[PKT_MAX];
	uint16_t ip_len;
	size_t len = pkt_build(spec, frame, &ip_len);
	struct __sk_buff ctx = { .ifindex = ifindex, .ingress_ifindex = arrived_on };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err = bpf_prog_test_run_opts(xdp_sampler_egress_prog_fd(f->s), &opts);

	CHECKF(err == 0, "tc test run: %s", strerror(errno));
	return err ? -100 : (int)opts.retval;
}

static const struct pkt_spec out4 = {
	.family = 4, .proto = IPPROTO_TCP, .saddr = "10.200.0.2", .daddr = "10.200.0.1",
	.sport = 443, .dport = 40000, .payload = 100,
};

static struct pkt_spec reversed(struct pkt_spec s)
{
	const char *a = s.saddr;
	uint16_t p = s.sport;

	s.saddr = s.daddr;
	s.daddr = a;
	s.sport = s.dport;
	s.dport = p;
	return s;
}

static void put_verdict(struct fixture *f, const struct pkt_spec *spec, int class_id)
{
	struct flow_key k, conn;
	struct verdict v = { .class_id = class_id, .stage = 1,
			     .flags = VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE,
			     .confidence_ppm = 990000 };

	flow_key_make(&k, spec->saddr, spec->sport, spec->daddr, spec->dport, spec->proto);
	flow_key_canonical(&k, &conn);
	CHECK(bpf_map_update_elem(xdp_sampler_map_fd(f->s, XDP_MAP_VERDICTS), &conn, &v,
				  BPF_ANY) == 0);
}

static void set_policy(struct fixture *f, int class_id, struct policy p)
{
	CHECK(xdp_set_policy(xdp_sampler_map_fd(f->s, XDP_MAP_POLICY),
			     xdp_sampler_map_fd(f->s, XDP_MAP_RATE_BUCKETS), class_id, &p) == 0);
}

static void set_port(struct fixture *f, __u32 ifindex, __u32 hooks)
{
	struct attached_port p = { .hooks = hooks };

	CHECK(bpf_map_update_elem(xdp_sampler_map_fd(f->s, XDP_MAP_PORTS), &ifindex, &p,
				  BPF_ANY) == 0);
}

/* A direction sampled at egress and its reverse at ingress: one window
 * each, and each says where it came from. */
static void test_windows_say_where_they_came_from(void)
{
	struct fixture f;
	struct pkt_spec in = reversed(out4);
	struct flow_key k;

	if (egress_fixture_open(&f))
		return;
	for (int i = 0; i < TEST_N; i++) {
		CHECK(run_egress(&f, &out4, LOOPBACK, 0) == TCX_NEXT);
		CHECK(run_ingress(&f, &in, LOOPBACK) == XDP_PASS);
	}
	CHECK(drain(&f) == 2);
	flow_key_make(&k, out4.saddr, out4.sport, out4.daddr, out4.dport, out4.proto);
	for (int i = 0; i < n_records; i++) {
		bool egress = !memcmp(&records[i].key, &k, sizeof(k));

		CHECKF(records[i].egress == egress && records[i].ifindex == LOOPBACK,
		       "window %d: egress %u ifindex %u (expected %u, %d)", i, records[i].egress,
		       records[i].ifindex, egress, LOOPBACK);
		CHECK(records[i].n == TEST_N && records[i].sizes[TEST_N - 1] > 0);
	}
	fixture_close(&f);
}

/* One verdict, enforced wherever the connection's packets pass: DROP at
 * ingress and at egress alike, counted at both. */
static void test_drop_both_ways(void)
{
	struct fixture f;
	uint64_t d[CNT_MAX];

	if (egress_fixture_open(&f))
		return;
	set_policy(&f, 3, (struct policy){ .action = ACTION_DROP });
	put_verdict(&f, &out4, 3);
	CHECK(run_egress(&f, &out4, LOOPBACK, 0) == TCX_DROP);
	CHECK(run_ingress(&f, &out4, LOOPBACK) == XDP_DROP);
	CHECK(run_ingress(&f, &(struct pkt_spec){ .family = 4, .proto = IPPROTO_TCP,
						  .saddr = out4.daddr, .daddr = out4.saddr,
						  .sport = out4.dport, .dport = out4.sport },
			  LOOPBACK) == XDP_DROP);
	counter_delta(&f, d);
	CHECKF(d[CNT_ACTION_DROP] == 3 && d[CNT_VERDICT_HITS] == 3, "drops %llu hits %llu",
	       (unsigned long long)d[CNT_ACTION_DROP], (unsigned long long)d[CNT_VERDICT_HITS]);
	fixture_close(&f);
}

/* A packet that arrived through an interface the sampler watches at
 * ingress was sampled and enforced there: egress leaves it alone (even a
 * DROP), counts it, and samples nothing. The host's own packets, and those
 * from an interface watched at egress only, are the egress hook's. */
static void test_forwarded_packets_seen_once(void)
{
	struct fixture f;
	uint64_t d[CNT_MAX];

	if (egress_fixture_open(&f))
		return;
	set_port(&f, 7, PORT_INGRESS | PORT_EGRESS);
	set_port(&f, 8, PORT_EGRESS);
	for (int i = 0; i < TEST_N; i++)
		CHECK(run_egress(&f, &out4, LOOPBACK, 7) == TCX_NEXT);
	counter_delta(&f, d);
	CHECKF(d[CNT_EGRESS_FORWARDED] == TEST_N && d[CNT_PACKETS] == 0 && drain(&f) == 0,
	       "forwarded %llu packets %llu windows %d", (unsigned long long)d[CNT_EGRESS_FORWARDED],
	       (unsigned long long)d[CNT_PACKETS], n_records);
	set_policy(&f, 1, (struct policy){ .action = ACTION_DROP });
	put_verdict(&f, &out4, 1);
	CHECKF(run_egress(&f, &out4, LOOPBACK, 7) == TCX_NEXT, "dropped twice");
	CHECK(run_egress(&f, &out4, LOOPBACK, 8) == TCX_DROP);
	CHECK(run_egress(&f, &out4, LOOPBACK, 0) == TCX_DROP);
	counter_delta(&f, d);
	CHECK(d[CNT_EGRESS_FORWARDED] == 1 && d[CNT_ACTION_DROP] == 2);
	fixture_close(&f);
}

static int buckets(struct fixture *f)
{
	struct rate_key k, at;
	int n = 0;

	for (int more = !bpf_map_get_next_key(xdp_sampler_map_fd(f->s, XDP_MAP_RATE_BUCKETS), NULL,
					      &k);
	     more; more = !bpf_map_get_next_key(xdp_sampler_map_fd(f->s, XDP_MAP_RATE_BUCKETS),
						&at, &k)) {
		at = k;
		n++;
	}
	return n;
}

/* A rate limit is per direction of the link: what arrives and what leaves
 * have a bucket each, so a download over its limit leaves the upload of
 * the same class alone. A new policy starts full buckets. */
static void test_rate_limit_per_direction(void)
{
	struct fixture f;
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;
	struct pkt_spec in = reversed(out4);

	if (egress_fixture_open(&f))
		return;
	pkt_build(&out4, frame, &ip_len);
	/* 1 byte/s: a burst of two packets, then nothing for the test's length */
	set_policy(&f, 4, (struct policy){ .action = ACTION_RATE_LIMIT, .rate_bytes = 1,
					   .burst_bytes = 2 * ip_len });
	put_verdict(&f, &out4, 4);
	CHECK(run_ingress(&f, &in, LOOPBACK) == XDP_PASS);
	CHECK(run_ingress(&f, &in, LOOPBACK) == XDP_PASS);
	CHECK(run_ingress(&f, &in, LOOPBACK) == XDP_DROP);
	CHECKF(run_egress(&f, &out4, LOOPBACK, 0) == TCX_NEXT, "egress shares ingress's bucket");
	CHECK(run_egress(&f, &out4, LOOPBACK, 0) == TCX_NEXT);
	CHECK(run_egress(&f, &out4, LOOPBACK, 0) == TCX_DROP);
	CHECKF(buckets(&f) == 2, "%d buckets, expected one per hook", buckets(&f));
	set_policy(&f, 4, (struct policy){ .action = ACTION_RATE_LIMIT, .rate_bytes = 1,
					   .burst_bytes = 2 * ip_len });
	CHECKF(buckets(&f) == 0, "%d buckets left after a new policy", buckets(&f));
	CHECK(run_ingress(&f, &in, LOOPBACK) == XDP_PASS);
	fixture_close(&f);
}

int main(void)
{
	RUN(test_windows_say_where_they_came_from);
	RUN(test_drop_both_ways);
	RUN(test_forwarded_packets_seen_once);
	RUN(test_rate_limit_per_direction);
	return harness_done();
}
