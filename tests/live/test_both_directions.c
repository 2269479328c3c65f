/* SPDX-License-Identifier: MIT */
/* Both directions of real conversations (TCP and UDP, IPv4 and IPv6), as an
 * operator runs the agent:
 * - on a router: a namespace between a client (the harness's tx end) and a
 *   server (a third namespace), the agent on both of its ports;
 * - on a host: the agent at its own interface's ingress and egress (tcx),
 *   the host being the server or the client.
 * Every connection gets one first window of each direction, from where that
 * direction arrived at or left the agent's host (the event's iface and hook,
 * `odeflow flows`), a verdict that saw both, and its policy applied both
 * ways: dropped both ways, marked both ways. A new connection beside them
 * still passes, so the drops are the policy's. Needs root; skipped
 * otherwise. */
#include <netinet/tcp.h>

#include "agent_harness.h"

#define TEST_SECONDS 240
/* Messages each way of a conversation: a window of N and some to spare
 * (TCP's handshake and ACKs add packets, never take any away). */
#define MESSAGES (N + 6)
/* How long a dropped message is waited for. */
#define DROP_WAIT_MS 300
/* How long a conversation's last window may take to become an event and
 * a verdict (the agent answers in about a millisecond when idle; loaded
 * machine, sanitized build: harness_ms). */
#define DECIDED_WITHIN_MS 3000
/* How long a message of a conversation that passes may take to arrive. */
#define ARRIVES_WITHIN_MS 1000

/* The server's side of the router: a second veth pair, router end in rx. */
#define ROUTER_S_V4 "10.200.1.1"
#define SERVER_V4 "10.200.1.2"
#define ROUTER_S_V6 "fd00:201::1"
#define SERVER_V6 "fd00:201::2"

static char ns_sv[32], dev_rs[IFNAMSIZ], dev_sv[IFNAMSIZ];

/* One end of a conversation: a namespace and its address in each family. */
struct host {
	const char *ns;
	const char *v4, *v6;
};

struct conversation {
	const char *what;      /* "tcp over IPv6", for messages */
	int family, type;
	struct host client, server;
	uint16_t port;         /* the server's */
	int c, s;              /* connected sockets: the client's, the server's */
	uint16_t cport;        /* the client's port */
};

static const char *addr_of(const struct host *h, int family)
{
	return family == AF_INET ? h->v4 : h->v6;
}

static void kill_server_ns(void)
{
	stop_everything();
	sh("ip netns del %s 2>/dev/null; true", ns_sv);
}

/* The server's namespace behind the router (rx), routes both ways and
 * forwarding on. */
static int add_server_side(void)
{
	return sh("ip netns add %s && ip link add %s type veth peer name %s netns %s", ns_sv, dev_rs,
		  dev_sv, ns_sv) ||
	       sh("ip addr add " ROUTER_S_V4 "/24 dev %s && ip addr add " ROUTER_S_V6 "/64 dev %s nodad"
		  " && ip link set %s up", dev_rs, dev_rs, dev_rs) ||
	       sh("ip -n %s addr add " SERVER_V4 "/24 dev %s && ip -n %s addr add " SERVER_V6
		  "/64 dev %s nodad && ip -n %s link set %s up && ip -n %s link set lo up", ns_sv,
		  dev_sv, ns_sv, dev_sv, ns_sv, dev_sv, ns_sv) ||
	       sh("ip -n %s route add 10.200.1.0/24 via " RX_V4 " && ip -n %s -6 route add "
		  "fd00:201::/64 via " RX_V6, ns_tx, ns_tx) ||
	       sh("ip -n %s route add 10.200.0.0/24 via " ROUTER_S_V4 " && ip -n %s -6 route add "
		  "fd00:200::/64 via " ROUTER_S_V6, ns_sv, ns_sv) ||
	       sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
}

/* Waits up to ms for n bytes on fd (a message of a stream or one datagram
 * of at least n). */
static bool receive_bytes(int fd, size_t n, int ms)
{
	char buf[2048];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < n && poll(&p, 1, ms) == 1) {
		ssize_t r = recv(fd, buf, n - got < sizeof(buf) ? n - got : sizeof(buf), 0);

		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return got >= n;
}

/* Opens the conversation: its sockets, connected. */
static int open_conversation(struct conversation *cv)
{
	struct sockaddr_storage at;
	socklen_t len = make_addr(cv->family, addr_of(&cv->server, cv->family), cv->port, &at);
	int one = 1, listener;

	cv->c = ns_socket(cv->client.ns, cv->family, cv->type);
	listener = ns_socket(cv->server.ns, cv->family, cv->type);
	if (cv->c < 0 || listener < 0 ||
	    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(listener, (struct sockaddr *)&at, len))
		return -1;
	if (cv->type == SOCK_DGRAM) { /* the server's socket connected back to the client's */
		cv->s = listener;
		if (connect(cv->c, (struct sockaddr *)&at, len))
			return -1;
		cv->cport = local_port(cv->c);
		len = make_addr(cv->family, addr_of(&cv->client, cv->family), cv->cport, &at);
		return connect(cv->s, (struct sockaddr *)&at, len);
	}
	if (listen(listener, 1) || connect(cv->c, (struct sockaddr *)&at, len))
		return -1;
	cv->s = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	close(listener);
	cv->cport = local_port(cv->c);
	setsockopt(cv->c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(cv->s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return cv->s < 0 ? -1 : 0;
}

/* MESSAGES requests and answers, paced; whether all arrived. */
static bool talk(struct conversation *cv)
{
	char request[200] = { 1 }, answer[600] = { 2 };
	bool ok = true;

	for (int i = 0; i < MESSAGES && ok; i++) {
		ok = send(cv->c, request, sizeof(request), 0) == (ssize_t)sizeof(request) &&
		     receive_bytes(cv->s, sizeof(request), harness_ms(ARRIVES_WITHIN_MS)) &&
		     send(cv->s, answer, sizeof(answer), 0) == (ssize_t)sizeof(answer) &&
		     receive_bytes(cv->c, sizeof(answer), harness_ms(ARRIVES_WITHIN_MS));
		usleep(1000);
	}
	return ok;
}

/* One message each way after the policy: how many arrived (0, 1 or 2). */
static int exchange_once(struct conversation *cv)
{
	char msg[100] = { 3 };
	int arrived = 0;

	if (send(cv->c, msg, sizeof(msg), MSG_DONTWAIT) == (ssize_t)sizeof(msg) &&
	    receive_bytes(cv->s, sizeof(msg), DROP_WAIT_MS))
		arrived++;
	if (send(cv->s, msg, sizeof(msg), MSG_DONTWAIT) == (ssize_t)sizeof(msg) &&
	    receive_bytes(cv->c, sizeof(msg), DROP_WAIT_MS))
		arrived++;
	return arrived;
}

/* The first-window events of one direction: how many, and the last one's
 * iface and hook. */
static int first_windows(json_t *events, const char *src, uint16_t sport, const char *dst,
			 uint16_t dport, int proto, char *iface, char *hook, size_t len)
{
	size_t i;
	json_t *e;
	int n = 0;

	json_array_foreach(events, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "src")), src) ||
		    strcmp(json_string_value(json_object_get(e, "dst")), dst) ||
		    json_integer_value(json_object_get(e, "sport")) != sport ||
		    json_integer_value(json_object_get(e, "dport")) != dport ||
		    json_integer_value(json_object_get(e, "proto")) != proto ||
		    json_integer_value(json_object_get(e, "window")) != 0)
			continue;
		n++;
		snprintf(iface, len, "%s", json_string_value(json_object_get(e, "iface")) ?: "?");
		snprintf(hook, len, "%s", json_string_value(json_object_get(e, "hook")) ?: "?");
	}
	return n;
}

/* Whether the events file holds one first window of each direction of cv
 * (waits for them), from where expected: iface and hook of the client's
 * direction (c_) and of the server's (s_). */
static void check_windows(const struct conversation *cv, const char *c_iface, const char *c_hook,
			  const char *s_iface, const char *s_hook)
{
	const char *ca = addr_of(&cv->client, cv->family), *sa = addr_of(&cv->server, cv->family);
	int proto = cv->type == SOCK_STREAM ? 6 : 17, nc = 0, ns = 0;
	char ci[32] = "", ch[32] = "", si[32] = "", shk[32] = "";

	for (int t = 0; t < harness_ms(DECIDED_WITHIN_MS) && (nc < 1 || ns < 1); t += 50) {
		json_t *ev = read_events(tmp_path("events.jsonl"));

		nc = first_windows(ev, ca, cv->cport, sa, cv->port, proto, ci, ch, sizeof(ci));
		ns = first_windows(ev, sa, cv->port, ca, cv->cport, proto, si, shk, sizeof(si));
		json_decref(ev);
		if (nc < 1 || ns < 1)
			usleep(50000);
	}
	CHECKF(nc == 1 && ns == 1, "%s: %d first window(s) from the client, %d from the server "
	       "(one each)", cv->what, nc, ns);
	CHECKF(!strcmp(ci, c_iface) && !strcmp(ch, c_hook), "%s: the client's window came from "
	       "%s %s, not %s %s", cv->what, ci, ch, c_iface, c_hook);
	CHECKF(!strcmp(si, s_iface) && !strcmp(shk, s_hook), "%s: the server's window came from "
	       "%s %s, not %s %s", cv->what, si, shk, s_iface, s_hook);
}

/* The connection's verdict saw both directions, and `odeflow flows` says
 * where each came from ("in@IF" / "out@IF" in its text, its JSON alike). */
static void check_verdict(const struct conversation *cv, const char *c_seen, const char *s_seen)
{
	const char *ca = addr_of(&cv->client, cv->family), *sa = addr_of(&cv->server, cv->family);
	int proto = cv->type == SOCK_STREAM ? 6 : 17;
	struct verdict v = { 0 };
	char grep[256];

	CHECKF(verdict_of(ca, cv->cport, sa, cv->port, proto, &v) == 0, "%s: no verdict", cv->what);
	CHECKF((v.flags & (VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE)) ==
		       (VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE) && !(v.flags & VERDICT_PROVISIONAL),
	       "%s: the verdict (flags %#x) did not see both directions, or is not final", cv->what,
	       v.flags);
	/* the text row names the ends in canonical order; either way, both seen */
	snprintf(grep, sizeof(grep), "grep ':%u ' %s | grep -q '%s' && grep ':%u ' %s | grep -q '%s'",
		 cv->cport, tmp_path("flows.txt"), c_seen, cv->cport, tmp_path("flows.txt"), s_seen);
	CHECK(sh("%s flows --pin-dir %s > %s", odeflow, pin_dir, tmp_path("flows.txt")) == 0);
	CHECKF(sh("%s", grep) == 0, "%s: odeflow flows does not show %s and %s", cv->what, c_seen,
	       s_seen);
}

/* Every class of the harness's model gets `rules` (odeflow policy load). */
static void policy_for_all(const char *rules)
{
	static const char *const classes[] = { "VoIP", "Video", "File_Transfer", "Chat", "Browsing" };
	FILE *f = fopen(tmp_path("policy.conf"), "w");

	CHECK(f != NULL);
	if (!f)
		return;
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		fprintf(f, "%s %s\n", classes[i], rules);
	fclose(f);
	CHECK(sh("%s policy load %s --pin-dir %s >/dev/null", odeflow, tmp_path("policy.conf"),
		 pin_dir) == 0);
}

/* The DSCP of one datagram each way on a UDP conversation (IP_TOS /
 * IPV6_TCLASS >> 2), -1 where none arrived. */
static int dscp_of_next(int tx, int rx, int family)
{
	char buf[256], control[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct pollfd p = { .fd = rx, .events = POLLIN };
	int one = 1;

	if (family == AF_INET)
		setsockopt(rx, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
	else
		setsockopt(rx, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one));
	if (send(tx, buf, 100, 0) != 100 || poll(&p, 1, harness_ms(ARRIVES_WITHIN_MS)) != 1 ||
	    recvmsg(rx, &msg, 0) < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
			return *(unsigned char *)CMSG_DATA(c) >> 2;
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)
			return *(int *)CMSG_DATA(c) >> 2;
	}
	return -1;
}

/* What every test does with its conversations once the agent runs: talk,
 * see both windows and the verdict, then mark (UDP: both ways) and drop
 * (both ways), a fresh connection passing beside them. seen[i][0..3]:
 * iface and hook of the client's windows, then the server's. */
static void run_conversations(struct conversation *cvs, int n, const char *const seen[][4])
{
	struct conversation fresh;
	char c_seen[48], s_seen[48];

	for (int i = 0; i < n; i++) {
		CHECKF(open_conversation(&cvs[i]) == 0, "%s: cannot connect", cvs[i].what);
		CHECKF(talk(&cvs[i]), "%s: the conversation did not get through", cvs[i].what);
	}
	for (int i = 0; i < n; i++) {
		check_windows(&cvs[i], seen[i][0], seen[i][1], seen[i][2], seen[i][3]);
		snprintf(c_seen, sizeof(c_seen), "%s@%s", !strcmp(seen[i][1], "egress") ? "out" : "in",
			 seen[i][0]);
		snprintf(s_seen, sizeof(s_seen), "%s@%s", !strcmp(seen[i][3], "egress") ? "out" : "in",
			 seen[i][2]);
		check_verdict(&cvs[i], c_seen, s_seen);
	}

	policy_for_all("mark ef"); /* DSCP 46 */
	for (int i = 0; i < n; i++)
		if (cvs[i].type == SOCK_DGRAM) {
			CHECKF(dscp_of_next(cvs[i].c, cvs[i].s, cvs[i].family) == 46,
			       "%s: the client's datagram was not marked EF", cvs[i].what);
			CHECKF(dscp_of_next(cvs[i].s, cvs[i].c, cvs[i].family) == 46,
			       "%s: the server's datagram was not marked EF", cvs[i].what);
		}

	policy_for_all("drop");
	for (int i = 0; i < n; i++)
		CHECKF(exchange_once(&cvs[i]) == 0, "%s: a message of a dropped connection arrived",
		       cvs[i].what);
	/* a new connection between the same ends: its first packets pass (no
	 * verdict yet), both ways, so what was dropped was the policy's doing */
	fresh = cvs[0];
	fresh.port++;
	fresh.what = "a fresh connection";
	CHECKF(open_conversation(&fresh) == 0 && exchange_once(&fresh) == 2,
	       "a fresh connection beside the dropped ones did not get through");
	close(fresh.c);
	close(fresh.s);
	policy_for_all("pass");
	for (int i = 0; i < n; i++) {
		close(cvs[i].c);
		close(cvs[i].s);
	}
}

static void test_router(void)
{
	const struct host client = { ns_tx, TX_V4, TX_V6 }, server = { ns_sv, SERVER_V4, SERVER_V6 };
	struct conversation cvs[] = {
		{ "tcp over IPv4", AF_INET, SOCK_STREAM, client, server, 7100, -1, -1, 0 },
		{ "udp over IPv4", AF_INET, SOCK_DGRAM, client, server, 7200, -1, -1, 0 },
		{ "tcp over IPv6", AF_INET6, SOCK_STREAM, client, server, 7300, -1, -1, 0 },
		{ "udp over IPv6", AF_INET6, SOCK_DGRAM, client, server, 7400, -1, -1, 0 },
	};
	const char *seen[4][4];
	char extra[512];
	json_t *stats;

	if (!harness_is_root()) {
		SKIP("needs root");
		return;
	}
	CHECK(add_server_side() == 0);
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;

		CHECK(reach(client.ns, server.ns, family, addr_of(&server, family)) == 0 &&
		      reach(server.ns, client.ns, family, addr_of(&client, family)) == 0);
	}
	/* the harness names the client's port; the server's beside it; egress
	 * (tcx) too, where forwarded packets must not count twice */
	snprintf(extra, sizeof(extra), "--iface %s --threshold 0 --events %s", dev_rs,
		 tmp_path("events.jsonl"));
	if (start_agent(extra)) {
		CHECKF(0, "the agent did not start");
		return;
	}
	for (int i = 0; i < 4; i++) {
		seen[i][0] = dev_rx; /* the client's packets arrive at the router there */
		seen[i][1] = "ingress";
		seen[i][2] = dev_rs;
		seen[i][3] = "ingress";
	}
	run_conversations(cvs, 4, seen);
	stats = read_stats();
	CHECKF(stats && stats_counter(stats, "egress_forwarded") > 0,
	       "no forwarded packet passed an egress hook untouched");
	json_decref(stats);
	CHECK(stop_agent(SIGINT) == 0);
}

static void test_host(void)
{
	const struct host peer = { ns_tx, TX_V4, TX_V6 }, host = { ns_rx, RX_V4, RX_V6 };
	struct conversation cvs[] = {
		{ "tcp over IPv4 to the host", AF_INET, SOCK_STREAM, peer, host, 7500, -1, -1, 0 },
		{ "udp over IPv4 to the host", AF_INET, SOCK_DGRAM, peer, host, 7600, -1, -1, 0 },
		{ "tcp over IPv6 from the host", AF_INET6, SOCK_STREAM, host, peer, 7700, -1, -1, 0 },
		{ "udp over IPv6 from the host", AF_INET6, SOCK_DGRAM, host, peer, 7800, -1, -1, 0 },
	};
	const char *seen[4][4];
	char extra[512];

	if (!harness_is_root()) {
		SKIP("needs root");
		return;
	}
	unlink(tmp_path("events.jsonl"));
	snprintf(extra, sizeof(extra), "--hook tcx --threshold 0 --events %s",
		 tmp_path("events.jsonl"));
	if (start_agent(extra)) {
		CHECKF(0, "the agent did not start");
		return;
	}
	for (int i = 0; i < 4; i++) {
		bool to_host = cvs[i].server.ns == ns_rx;

		seen[i][0] = seen[i][2] = dev_rx;
		seen[i][1] = to_host ? "ingress" : "egress"; /* the client's packets */
		seen[i][3] = to_host ? "egress" : "ingress";
	}
	run_conversations(cvs, 4, seen);
	CHECK(stop_agent(SIGINT) == 0);
}

int main(void)
{
	if (harness_is_root()) {
		agent_test_setup("test_both_directions", TEST_SECONDS);
		snprintf(ns_sv, sizeof(ns_sv), "odeflow-sv-%d", (int)getpid());
		snprintf(dev_rs, sizeof(dev_rs), "odrs%d", (int)getpid() % 10000000);
		snprintf(dev_sv, sizeof(dev_sv), "odsv%d", (int)getpid() % 10000000);
		netns_before_cleanup = kill_server_ns;
	}
	RUN(test_router);
	RUN(test_host);
	return harness_done();
}
