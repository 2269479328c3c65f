/* SPDX-License-Identifier: MIT */
/* One agent on several interfaces, given by a glob: both take the sampler;
 * one deleted is reported and its traffic stops while the other goes on;
 * created again under its name it is attached again and classified; down
 * and up are reported; a name that does not exist is refused in one line.
 * Two veth pairs join the test's namespaces (the harness's, 10.200.0.0/24,
 * and a second, 10.200.1.0/24). Needs root; skipped otherwise. */
#include "agent_harness.h"

#define TEST_SECONDS 150
#define B_TX_V4 "10.200.1.1"
#define B_RX_V4 "10.200.1.2"

static char dev_btx[IFNAMSIZ], dev_brx[IFNAMSIZ];

/* The second pair, between the same namespaces. */
static int add_pair_b(void)
{
	return sh("ip link add %s netns %s type veth peer name %s netns %s && "
		  "ip -n %s addr add " B_TX_V4 "/24 dev %s && ip -n %s link set %s up && "
		  "ip -n %s addr add " B_RX_V4 "/24 dev %s && ip -n %s link set %s up",
		  dev_btx, ns_tx, dev_brx, ns_rx, ns_tx, dev_btx, ns_tx, dev_btx, ns_rx, dev_brx,
		  ns_rx, dev_brx);
}

/* A UDP connection of N datagrams from the tx namespace to dst:port;
 * whether the agent classified it (its first-window event) within 3 s. */
static bool classified(const char *dst, uint16_t port)
{
	struct sockaddr_storage to;
	socklen_t len = make_addr(AF_INET, dst, port, &to);
	int tx = tx_socket(AF_INET, SOCK_DGRAM), rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char text[96];
	bool got;

	CHECK(tx >= 0 && rx >= 0 && bind(rx, (struct sockaddr *)&to, len) == 0 &&
	      connect(tx, (struct sockaddr *)&to, len) == 0);
	/* the first datagram may wait for ARP: 2 more than a window */
	send_udp(tx, N + 2, 200);
	snprintf(text, sizeof(text), "\"dst\":\"%s\",\"sport\":%u,\"dport\":%u", dst, local_port(tx),
		 port);
	got = wait_for_text(tmp_path("events.jsonl"), text, 3000);
	close(tx);
	close(rx);
	return got;
}

static void test_glob_follows_interfaces(void)
{
	char err[PATH_MAX], extra[256];

	if (!harness_is_root()) {
		SKIP("needs root");
		return;
	}
	snprintf(err, sizeof(err), "%s", tmp_path("agent.err"));
	CHECK(add_pair_b() == 0);
	/* the harness gives --iface dev_rx; the glob adds the second pair's end */
	snprintf(extra, sizeof(extra), "--iface 'odrb*' --threshold 0 --events %s",
		 tmp_path("events.jsonl"));
	if (start_agent(extra)) {
		CHECKF(0, "the agent did not start");
		return;
	}
	CHECKF(file_contains(err, dev_rx) && file_contains(err, dev_brx), "not attached to both");
	CHECKF(classified(RX_V4, 7001) && classified(B_RX_V4, 7002), "not classified on both");

	CHECK(sh("ip -n %s link del %s", ns_rx, dev_brx) == 0);
	CHECKF(wait_for_text(err, "went away", 3000), "the deletion was not reported");
	CHECKF(classified(RX_V4, 7003), "the other interface stopped");

	CHECK(add_pair_b() == 0);
	CHECKF(wait_for_text(err, "is back: attached", 5000), "not attached again");
	CHECKF(classified(B_RX_V4, 7004), "not classified after it came back");

	CHECK(sh("ip -n %s link set %s down", ns_rx, dev_rx) == 0);
	CHECKF(wait_for_text(err, "is down", 3000), "down not reported");
	CHECK(sh("ip -n %s link set %s up", ns_rx, dev_rx) == 0);
	CHECKF(wait_for_text(err, "is up again", 3000), "up not reported");
	CHECK(warm_up(AF_INET, RX_V4) == 0);
	CHECKF(classified(RX_V4, 7005), "not classified after down and up");
	CHECK(stop_agent(SIGINT) == 0);
	CHECK(sh("! ip -n %s link show dev %s | grep -q xdp", ns_rx, dev_brx) == 0);
}

/* A name that is not there: one line, nothing attached, even beside a
 * glob that names something. */
static void test_missing_name_refused(void)
{
	if (!harness_is_root()) {
		SKIP("needs root");
		return;
	}
	check_refused("--iface nosuch0 --iface 'odrb*'", 1, "no interface 'nosuch0'");
	CHECK(sh("! ip -n %s link show dev %s | grep -q xdp", ns_rx, dev_brx) == 0);
}

int main(void)
{
	if (harness_is_root()) {
		agent_test_setup("test_interfaces_live", TEST_SECONDS);
		snprintf(dev_btx, sizeof(dev_btx), "odtb%d", (int)getpid() % 10000000);
		snprintf(dev_brx, sizeof(dev_brx), "odrb%d", (int)getpid() % 10000000);
	}
	RUN(test_glob_follows_interfaces);
	RUN(test_missing_name_refused);
	return harness_done();
}
