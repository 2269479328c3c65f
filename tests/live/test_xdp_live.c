/* SPDX-License-Identifier: MIT */
/* The XDP sampler on a real veth pair between two network namespaces this
 * test creates (tx: 10.200.0.1, fd00:200::1; rx: 10.200.0.2, fd00:200::2).
 * The program is attached to the rx end, in native mode and then in generic
 * mode, as `odeflow run` attaches it (in libxdp's dispatcher where the kernel
 * runs one, else through its own link), and through its own link too where
 * that differs; real traffic crosses: UDP and TCP over IPv4 and IPv6 from sockets,
 * and captures from tests/data/pcaps rewritten into 10.200.0.0/16 (IPv6
 * dropped) and replayed with tcpreplay. The windows read back from the ring
 * buffer must hold exactly the sizes that were sent.
 *
 * Bounded: every command runs under timeout(1), the whole test under an
 * alarm; the namespaces (and with them the veth pair and the XDP link) are
 * deleted on every exit path. Needs root; skipped otherwise. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "common/flow_key.h"
#include "harness.h"
#include "netns.h"
#include "capture/pcap_source.h"
#include "loader/window_ring.h"
#include "loader/xdp_dispatcher.h"
#include "loader/map_ops.h"
#include "loader/pin_dir.h"
#include "loader/sampler_attach.h"
#include "loader/xdp_loader.h"

#define WINDOW_N 8
#define MAX_RECORDS 512
#define TEST_SECONDS 90
#define REPLAY_PPS 5000 /* paced: a burst could overflow the veth's ring and lose packets */
#define SKIP_DISPATCHER "LIBXDP_SKIP_DISPATCHER" /* libxdp's: attach through a link */

static char pin_dir[64];

#include "window_records.h"

struct live {
	struct xdp_sampler *s;
	struct window_ring *ring;
	uint64_t counters[CNT_MAX];
};

/* For a failure's explanation: what the program has seen so far. */
static void print_counters(struct live *l)
{
	uint64_t c[CNT_MAX];

	if (xdp_read_counters(xdp_sampler_map_fd(l->s, XDP_MAP_COUNTERS), c))
		return;
	printf("  counters:");
	for (int i = 0; i < CNT_MAX; i++)
		printf(" %s=%llu", xdp_counter_name(i), (unsigned long long)c[i]);
	printf("\n");
}

/* Reads windows until `want` arrived or a second passed. */
static int wait_windows(struct live *l, int want)
{
	for (int i = 0; i < 20 && n_records < want; i++)
		window_ring_poll(l->ring, window_ring_epoll_fd(l->ring), 50, INT_MAX);
	return n_records;
}

static const struct window_record *find_window(const struct flow_key *k)
{
	for (int i = 0; i < n_records; i++)
		if (!memcmp(&records[i].key, k, sizeof(*k)))
			return &records[i];
	return NULL;
}

/* WINDOW_N datagrams of distinct sizes from `payload` bytes up, from tx to
 * rx; the window must hold exactly their IP lengths, in order. Returns the
 * sender socket. */
static int check_udp(struct live *l, int family, const char *src, const char *dst, uint16_t port,
		     int payload, int *receiver)
{
	struct sockaddr_storage to, me;
	socklen_t to_len = make_addr(family, dst, port, &to);
	int hdr = (family == AF_INET ? 20 : 40) + 8;
	int tx = tx_socket(family, SOCK_DGRAM);
	struct flow_key k;
	const struct window_record *w;
	static const char data[9000];

	*receiver = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(tx >= 0 && *receiver >= 0);
	CHECK(bind(*receiver, (struct sockaddr *)&me, make_addr(family, dst, port, &me)) == 0);
	n_records = 0;
	for (int i = 0; i < WINDOW_N; i++) {
		CHECK(sendto(tx, data, payload + 37 * i, 0, (struct sockaddr *)&to, to_len) ==
		      payload + 37 * i);
		usleep(1000);
	}
	wait_windows(l, 1);
	flow_key_make(&k, src, local_port(tx), dst, port, IPPROTO_UDP);
	if (!find_window(&k))
		print_counters(l);
	w = find_window(&k);
	CHECKF(w != NULL, "no window for udp %s -> %s (%d windows)", src, dst, n_records);
	if (w) {
		CHECK(w->n == WINDOW_N && w->window == 0);
		for (int i = 0; i < WINDOW_N; i++)
			CHECKF(w->sizes[i] == hdr + payload + 37 * i, "size %d: %u, sent %d", i,
			       w->sizes[i], hdr + payload + 37 * i);
		/* Sent 1 ms apart, but softirq may run late on a busy machine:
		 * only the order is certain. */
		for (int i = 1; i < WINDOW_N; i++)
			CHECK(w->offset_us[i] >= w->offset_us[i - 1]);
		CHECK(w->offset_us[WINDOW_N - 1] > 0);
	}
	CHECKF(receive_all(*receiver, WINDOW_N), "the receiver missed datagrams");
	return tx;
}

/* A final DROP verdict stops the connection's packets before the stack. */
static void check_drop(struct live *l, int tx, int receiver, const char *src, const char *dst,
		       uint16_t port)
{
	struct sockaddr_storage to;
	socklen_t to_len = make_addr(AF_INET, dst, port, &to);
	struct flow_key k, conn;
	struct verdict v = { .class_id = 2, .stage = 1, .confidence_ppm = 990000 };
	struct policy drop = { .action = ACTION_DROP };
	int verdicts = xdp_sampler_map_fd(l->s, XDP_MAP_VERDICTS);

	CHECK(xdp_set_policy(xdp_sampler_map_fd(l->s, XDP_MAP_POLICY),
			     xdp_sampler_map_fd(l->s, XDP_MAP_RATE_BUCKETS), 2, &drop) == 0);
	flow_key_make(&k, src, local_port(tx), dst, port, IPPROTO_UDP);
	flow_key_canonical(&k, &conn);
	CHECK(bpf_map_update_elem(verdicts, &conn, &v, BPF_ANY) == 0);
	for (int i = 0; i < 5; i++)
		CHECK(sendto(tx, "x", 1, 0, (struct sockaddr *)&to, to_len) == 1);
	usleep(50000);
	CHECKF(drain_socket(receiver) == 0, "datagrams of a dropped connection arrived");
	CHECK(bpf_map_delete_elem(verdicts, &conn) == 0);
	CHECK(sendto(tx, "x", 1, 0, (struct sockaddr *)&to, to_len) == 1);
	usleep(50000);
	CHECKF(drain_socket(receiver) == 1, "the datagram after the verdict was removed is missing");
}

/* A MARK verdict rewrites the DSCP the receiving socket sees; for IPv4 the
 * datagram arriving at all proves the header checksum was updated right
 * (the stack drops a bad one). */
static void check_mark(struct live *l, int family, int tx, int receiver, const char *src,
		       const char *dst, uint16_t port)
{
	struct sockaddr_storage to;
	socklen_t to_len = make_addr(family, dst, port, &to);
	struct flow_key k, conn;
	struct verdict v = { .class_id = 3, .stage = 1, .confidence_ppm = 990000 };
	struct policy mark = { .action = ACTION_MARK, .dscp = 46 }; /* EF */
	int verdicts = xdp_sampler_map_fd(l->s, XDP_MAP_VERDICTS), one = 1, tos = -1;
	char buf[64], control[128];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct pollfd p = { .fd = receiver, .events = POLLIN };

	CHECK(xdp_set_policy(xdp_sampler_map_fd(l->s, XDP_MAP_POLICY),
			     xdp_sampler_map_fd(l->s, XDP_MAP_RATE_BUCKETS), 3, &mark) == 0);
	CHECK(family == AF_INET ? setsockopt(receiver, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) == 0
				: setsockopt(receiver, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)) == 0);
	flow_key_make(&k, src, local_port(tx), dst, port, IPPROTO_UDP);
	flow_key_canonical(&k, &conn);
	CHECK(bpf_map_update_elem(verdicts, &conn, &v, BPF_ANY) == 0);
	CHECK(sendto(tx, "x", 1, 0, (struct sockaddr *)&to, to_len) == 1);
	if (poll(&p, 1, 1000) != 1 || recvmsg(receiver, &msg, 0) != 1) {
		CHECKF(0, "the marked datagram (%s) did not arrive", dst);
		return;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
			tos = *(unsigned char *)CMSG_DATA(c);
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)
			tos = *(int *)CMSG_DATA(c);
	}
	CHECKF(tos == 46 << 2, "%s: TOS/traffic class %#x, expected DSCP EF (0xb8)", dst, tos);
	CHECK(bpf_map_delete_elem(verdicts, &conn) == 0);
}

/* A TCP connection from tx: the window of the tx -> rx direction is the SYN,
 * the handshake's ACK, then one segment per paced write. */
static void check_tcp(struct live *l, int family, const char *src, const char *dst, uint16_t port)
{
	struct sockaddr_storage addr;
	socklen_t len = make_addr(family, dst, port, &addr);
	int listener = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	int tx = tx_socket(family, SOCK_STREAM), rx = -1;
	char buf[200] = { 0 };
	struct flow_key k;
	const struct window_record *w;

	CHECK(listener >= 0 && tx >= 0);
	CHECK(setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	CHECK(bind(listener, (struct sockaddr *)&addr, len) == 0 && listen(listener, 1) == 0);
	CHECK(setsockopt(tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0);
	n_records = 0;
	if (connect(tx, (struct sockaddr *)&addr, len) == 0 && (rx = accept(listener, NULL, NULL)) >= 0) {
		for (int i = 0; i < WINDOW_N; i++) {
			CHECK(send(tx, buf, sizeof(buf), 0) == sizeof(buf));
			CHECK(recv(rx, buf, sizeof(buf), MSG_WAITALL) == sizeof(buf));
		}
	} else {
		CHECKF(0, "tcp connection %s -> %s: %s", src, dst, strerror(errno));
	}
	wait_windows(l, 1);
	flow_key_make(&k, src, local_port(tx), dst, port, IPPROTO_TCP);
	w = find_window(&k);
	CHECKF(w != NULL, "no window for tcp %s -> %s", src, dst);
	if (w) {
		int ack = w->sizes[1]; /* IP + TCP header with this connection's options */

		CHECKF(w->sizes[0] > ack, "SYN %u, ACK %d", w->sizes[0], ack);
		for (int i = 2; i < WINDOW_N; i++)
			CHECKF(w->sizes[i] == ack + (int)sizeof(buf), "segment %d: %u, expected %d", i,
			       w->sizes[i], ack + (int)sizeof(buf));
	}
	close(tx);
	if (rx >= 0)
		close(rx);
	close(listener);
}

/* Rewrites a capture into 10.200.0.0/16 without its IPv6 packets, replays it
 * into the tx end, and checks every direction with at least WINDOW_N sampled
 * packets against the window the program emitted. */
static void check_replay(struct live *l, const char *pcap, bool expect_windows)
{
	char rewritten[128], err[256];
	struct pcap_source *src;
	struct packet_info info;
	uint64_t ts;
	struct expected {
		struct flow_key key;
		uint16_t sizes[WINDOW_N];
		int count;
	} *exp = calloc(MAX_RECORDS, sizeof(*exp));
	int n_exp = 0, windows = 0;

	snprintf(rewritten, sizeof(rewritten), "%s/replay.pcap", scratch_dir);
	if (!exp || sh("tools/rewrite_capture.sh tests/data/pcaps/%s %s", pcap, rewritten)) {
		CHECKF(0, "preparing %s for replay", pcap);
		free(exp);
		return;
	}
	/* What the program should see: the same parser rules, in userspace. */
	CHECKF(pcap_source_open(rewritten, &src, err, sizeof(err)) == 0, "%s", err);
	while (src && pcap_source_next(src, &info, &ts) == 1) {
		int i = 0;

		while (i < n_exp && memcmp(&exp[i].key, &info.key, sizeof(info.key)))
			i++;
		if (i == n_exp && n_exp < MAX_RECORDS)
			exp[n_exp++].key = info.key;
		if (i < n_exp && exp[i].count < WINDOW_N)
			exp[i].sizes[exp[i].count++] = info.ip_len;
	}
	pcap_source_close(src);
	for (int i = 0; i < n_exp; i++)
		windows += exp[i].count == WINDOW_N;
	CHECKF(windows > 0 || !expect_windows, "%s has no direction with %d packets", pcap, WINDOW_N);

	n_records = 0;
	CHECK(sh("ip netns exec %s timeout 30 tcpreplay -q --pps=%d -i %s %s >/dev/null 2>&1",
		 ns_tx, REPLAY_PPS, dev_tx, rewritten) == 0);
	wait_windows(l, windows);
	CHECKF(n_records == windows, "%s: %d windows, expected %d", pcap, n_records, windows);
	for (int i = 0; i < n_exp; i++) {
		const struct window_record *w = find_window(&exp[i].key);
		char name[FLOW_KEY_STRLEN];

		if (exp[i].count < WINDOW_N)
			continue;
		flow_key_format(&exp[i].key, name, sizeof(name));
		CHECKF(w != NULL, "%s: no window for %s", pcap, name);
		for (int j = 0; w && j < WINDOW_N; j++)
			CHECKF(w->sizes[j] == exp[i].sizes[j], "%s: %s size %d: %u, sent %u", pcap, name,
			       j, w->sizes[j], exp[i].sizes[j]);
	}
	free(exp);
}

static void counter_delta(struct live *l, uint64_t d[CNT_MAX])
{
	uint64_t now[CNT_MAX];

	CHECK(xdp_read_counters(xdp_sampler_map_fd(l->s, XDP_MAP_COUNTERS), now) == 0);
	for (int i = 0; i < CNT_MAX; i++) {
		d[i] = now[i] - l->counters[i];
		l->counters[i] = now[i];
	}
}

/* A second sampler on an interface that has one: refused, naming it, when
 * the first holds the hook through its own link; beside it when the first
 * is in libxdp's dispatcher (and out again when closed). The first stays. */
static void check_second_sampler(const struct xdp_options *o, enum xdp_mode mode,
				 const struct xdp_sampler *first)
{
	struct xdp_sampler *s;
	enum xdp_mode got;
	char err[4096];
	int rc;

	if (xdp_sampler_open(o, &s, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		return;
	}
	rc = xdp_sampler_attach(s, if_nametoindex(dev_rx), mode, 0, &got, err, sizeof(err));
	if (xdp_sampler_attachment(first) == XDP_VIA_DISPATCHER) {
		CHECKF(rc == 0 && xdp_sampler_attachment(s) == XDP_VIA_DISPATCHER, "%s", err);
	} else {
		CHECK(rc == -1);
		CHECKF(strstr(err, "holds program 'odeflow_xdp'") != NULL, "%s", err);
	}
	xdp_sampler_close(s);
}

/* Loads the sampler and attaches it to the receiving end in `mode`. */
static int live_open(struct live *l, enum xdp_mode mode)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	enum xdp_mode got;
	char err[4096];

	memset(l, 0, sizeof(*l));
	o.window_n = WINDOW_N;
	o.flow_capacity = 4096;
	o.ring_bytes = 1 << 20;
	o.pin_dir = NULL;
	if (xdp_sampler_open(&o, &l->s, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		return -1;
	}
	if (xdp_sampler_attach(l->s, if_nametoindex(dev_rx), mode, 0, &got, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		xdp_sampler_close(l->s);
		return -1;
	}
	CHECKF(got == mode, "asked for %s, got %s", xdp_mode_name(mode), xdp_mode_name(got));
	check_second_sampler(&o, mode, l->s);
	l->ring = window_ring_new(xdp_sampler_map_fd(l->s, XDP_MAP_WINDOWS),
				  xdp_sampler_map_fd(l->s, XDP_MAP_WAKEUP), on_record, NULL, err,
				  sizeof(err));
	CHECKF(l->ring != NULL, "%s", err);
	return 0;
}

static void live_close(struct live *l)
{
	char err[4096];

	window_ring_free(l->ring);
	CHECKF(xdp_sampler_detach(l->s, err, sizeof(err)) == 0, "%s", err);
	xdp_sampler_close(l->s);
}

/* Loads and attaches in `mode`, runs the traffic, detaches. Ports differ per
 * mode so every run starts new flows. */
static void run_mode(enum xdp_mode mode, uint16_t port_base, bool replay)
{
	struct live l;
	uint64_t d[CNT_MAX];
	int tx, rx;

	if (live_open(&l, mode))
		return;
	if (l.ring) {
		tx = check_udp(&l, AF_INET, "10.200.0.1", "10.200.0.2", port_base, 100, &rx);
		check_drop(&l, tx, rx, "10.200.0.1", "10.200.0.2", port_base);
		check_mark(&l, AF_INET, tx, rx, "10.200.0.1", "10.200.0.2", port_base);
		close(tx);
		close(rx);
		tx = check_udp(&l, AF_INET6, "fd00:200::1", "fd00:200::2", port_base + 1, 100, &rx);
		check_mark(&l, AF_INET6, tx, rx, "fd00:200::1", "fd00:200::2", port_base + 1);
		close(tx);
		close(rx);
		check_tcp(&l, AF_INET, "10.200.0.1", "10.200.0.2", port_base + 2);
		check_tcp(&l, AF_INET6, "fd00:200::1", "fd00:200::2", port_base + 3);
		if (replay) {
			check_replay(&l, "skype-conference-call.pcap", true);
			check_replay(&l, "dns_fragmented.pcap", false); /* short flows, fragments */
			counter_delta(&l, d);
			CHECK(d[CNT_FRAGMENTS] > 0); /* dns_fragmented's later fragments */
		}
		counter_delta(&l, d);
		CHECK(d[CNT_RING_DROPS] == 0 && d[CNT_TORN_WINDOWS] == 0);
	}
	live_close(&l);
}

/* A 9000-byte MTU: native XDP on veth then takes only a program that
 * handles frames spread over several buffers (xdp.frags), and the windows
 * must hold the jumbo datagrams' whole IP lengths. */
static void run_jumbo(enum xdp_mode mode, uint16_t port_base)
{
	struct live l;
	int tx, rx;

	if (sh("ip -n %s link set %s mtu 9000 && ip -n %s link set %s mtu 9000", ns_tx, dev_tx,
	       ns_rx, dev_rx)) {
		CHECKF(0, "cannot set a 9000-byte MTU on the veth pair");
		return;
	}
	if (live_open(&l, mode) == 0) {
		if (l.ring) {
			tx = check_udp(&l, AF_INET, TX_V4, RX_V4, port_base, 8000, &rx);
			close(tx);
			close(rx);
			tx = check_udp(&l, AF_INET6, TX_V6, RX_V6, port_base + 1, 8000, &rx);
			close(tx);
			close(rx);
		}
		live_close(&l);
	}
	CHECK(sh("ip -n %s link set %s mtu 1500 && ip -n %s link set %s mtu 1500", ns_tx, dev_tx,
		 ns_rx, dev_rx) == 0);
}

static int prerequisites(void)
{
	if (!harness_is_root()) {
		SKIP("needs root for namespaces and XDP");
		return -1;
	}
	if (system("for c in ip tcpreplay tcprewrite tcpdump timeout; do"
		   " command -v $c >/dev/null || exit 1; done") != 0) {
		SKIP("needs ip, tcpreplay, tcprewrite, tcpdump (tools/deps.sh installs them)");
		return -1;
	}
	return 0;
}

static void test_native_mode(void)
{
	if (prerequisites())
		return;
	run_mode(XDP_MODE_NATIVE, 9000, true);
}

static void test_jumbo_mtu_native(void)
{
	if (prerequisites())
		return;
	run_jumbo(XDP_MODE_NATIVE, 9200);
}

static void test_generic_mode(void)
{
	if (prerequisites())
		return;
	run_mode(XDP_MODE_GENERIC, 9100, !getenv("ODEFLOW_SANITIZED"));
}

/* Where the tests above went through libxdp's dispatcher, the same traffic
 * through the sampler's own link, as on kernels without the dispatcher. */
static void test_own_link(void)
{
	char why[256];

	if (prerequisites())
		return;
	if (!dispatcher_supported(why, sizeof(why))) {
		SKIP("the tests above attached through the sampler's own link: no dispatcher here");
		return;
	}
	setenv(SKIP_DISPATCHER, "1", 1);
	run_mode(XDP_MODE_NATIVE, 9300, false);
	unsetenv(SKIP_DISPATCHER);
}

/* A pinned link keeps the program attached after its sampler is gone; the
 * next sampler takes that link over; unpinning detaches. (What a --keep
 * run leaves in libxdp's dispatcher: tests/live/test_xdp_share.c.) */
static void test_pinned_link_outlives_the_sampler(void)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	struct xdp_sampler *s;
	enum xdp_mode got;
	char *dir = pin_dir, err[4096];
	int ifindex = if_nametoindex(dev_rx);
	__u32 id = 0, kept_id = 0;

	if (prerequisites())
		return;
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/odeflow-live-%d", (int)getpid());
	o.pin_dir = dir;
	o.flow_capacity = 1024;
	o.ring_bytes = 1 << 16;
	if (xdp_sampler_open(&o, &s, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		return;
	}
	setenv(SKIP_DISPATCHER, "1", 1);
	CHECKF(xdp_sampler_attach(s, ifindex, XDP_MODE_GENERIC, XDP_ATTACH_KEEP, &got, err,
				  sizeof(err)) == 0, "%s", err);
	xdp_sampler_close(s);
	CHECK(bpf_xdp_query_id(ifindex, 0, &kept_id) == 0 && kept_id != 0);

	if (xdp_sampler_open(&o, &s, err, sizeof(err)) == 0) {
		CHECKF(xdp_sampler_attach(s, ifindex, XDP_MODE_NATIVE, 0, &got, err,
					  sizeof(err)) == 0, "%s", err);
		CHECK(xdp_sampler_took_over(s));
		CHECKF(got == XDP_MODE_GENERIC, "a kept generic link reported as %s",
		       xdp_mode_name(got));
		CHECK(bpf_xdp_query_id(ifindex, 0, &id) == 0 && id != 0 && id != kept_id);
		xdp_sampler_close(s);
	} else {
		CHECKF(0, "reopening: %s", err);
	}
	CHECKF(xdp_unpin(dir, dev_rx, err, sizeof(err)) == 0, "%s", err);
	usleep(100000); /* the link is released after an RCU grace period */
	CHECK(bpf_xdp_query_id(ifindex, 0, &id) == 0 && id == 0);
	unsetenv(SKIP_DISPATCHER);
}

static void remove_pins(void)
{
	if (pin_dir[0] && sh("rm -rf %s", pin_dir))
		fprintf(stderr, "cleanup: could not remove %s\n", pin_dir);
}

int main(void)
{
	if (harness_is_root()) {
		netns_before_cleanup = remove_pins;
		if (private_bpffs()) {
			printf("FAIL test_xdp_live: a bpffs of its own: %s\n", strerror(errno));
			return 1;
		}
		if (setup_namespaces("test_xdp_live", TEST_SECONDS)) {
			printf("FAIL test_xdp_live: could not set up the namespaces and veth pair\n");
			return 1;
		}
	}
	RUN(test_native_mode);
	RUN(test_jumbo_mtu_native);
	RUN(test_generic_mode);
	RUN(test_own_link);
	RUN(test_pinned_link_outlives_the_sampler);
	return harness_done();
}
