/* SPDX-License-Identifier: MIT */
/* One live agent per pin dir (issue: under pressure, 3), whatever the pair
 * of hooks: with an agent running on a pin dir, a second one (at XDP or at
 * tcx, or with another --flows) is refused with one line naming the first,
 * exit status 1, before it attaches or writes a map; the first keeps its
 * policy, its pins and its enforcement. What a --keep run left is still
 * taken over by the next agent. Real agent, real veth, real traffic. */
#include "agent_harness.h"

#define TEST_SECONDS 240

/* A policy that drops every class the test model has. */
static const char *drop_all_policy(void)
{
	static char path[160];

	snprintf(path, sizeof(path), "%s/drop-all.policy", scratch_dir);
	sh("printf 'VoIP drop\nVideo drop\nFile_Transfer drop\nChat drop\nBrowsing drop\n' > %s", path);
	return path;
}

/* Every class's action in the pinned policy is DROP. */
static bool policy_drops_all(void)
{
	char err[256];
	int fd = xdp_open_pinned_map(pin_dir, XDP_MAP_POLICY, err, sizeof(err));
	bool all = fd >= 0;

	for (__u32 k = 0; all && k < 5; k++) {
		struct policy p;

		all = bpf_map_lookup_elem(fd, &k, &p) == 0 && p.action == ACTION_DROP;
	}
	if (fd >= 0)
		close(fd);
	return all;
}

/* Every map of the pin dir is still pinned. */
static bool all_pins_present(void)
{
	for (int m = 0; m < XDP_MAP_COUNT; m++)
		if (sh("test -e %s/%s", pin_dir, xdp_map_name(m)))
			return false;
	return true;
}

/* A new UDP connection gets its verdict and is dropped after it: the
 * running agent still classifies and enforces. */
static bool still_enforces(uint16_t port)
{
	struct verdict v;
	int rx, tx = udp_pair(AF_INET, port, &rx), t;
	bool dropped;

	send_udp(tx, N, 200);
	for (t = 0; t < 100 && verdict_of(TX_V4, local_port(tx), RX_V4, port, 17, &v); t++)
		usleep(20000);
	drain_socket(rx);
	send_udp(tx, 5, 200);
	usleep(50000);
	dropped = t < 100 && drain_socket(rx) == 0;
	close(tx);
	close(rx);
	return dropped;
}

static bool hook_available(const char *hook)
{
	/* tcx came with kernel 6.6 */
	return strcmp(hook, "tcx") ||
	       sh("uname -r | awk -F. '{exit !($1 * 100 + $2 >= 606)}'") == 0;
}

/* The second agent is refused, whatever its hook, and so is one with
 * another --flows (which libbpf alone would refuse as "couldn't reuse
 * pinned map"). */
static void second_agent_refused(const char *first, const char *second, uint16_t port)
{
	char opts[256], extra[64], line[128];
	int pid;

	if (!hook_available(first) || !hook_available(second)) {
		SKIP("no tcx before kernel 6.6");
		return;
	}
	snprintf(opts, sizeof(opts), "--hook %s --threshold 0 --policy %s", first, drop_all_policy());
	if (start_agent(opts))
		return;
	pid = read_pid("agent");
	snprintf(line, sizeof(line), "odeflow (pid %d) runs on %s with these maps", pid, dev_rx);
	for (int flows = 0; flows < 2; flows++) {
		snprintf(extra, sizeof(extra), "--hook %s%s", second, flows ? " --flows 4096" : "");
		CHECKF(run_refused(extra, "second.err") == 1, "%s/%s: %s not refused", first, second,
		       extra);
		CHECKF(file_contains(tmp_path("second.err"), line), "%s/%s (%s): no '%s' in:", first,
		       second, extra, line);
		CHECK(sh("test $(wc -l < %s) -eq 1 || cat %s", tmp_path("second.err"),
			 tmp_path("second.err")) == 0);
	}
	CHECKF(policy_drops_all(), "%s/%s: the first agent's policy was replaced", first, second);
	CHECKF(all_pins_present(), "%s/%s: the first agent's pins went", first, second);
	CHECKF(still_enforces(port), "%s/%s: the first agent no longer enforces", first, second);
	CHECK(stop_agent(SIGTERM) == 0);
}

static void test_xdp_then_xdp(void) { second_agent_refused("xdp", "xdp", 6500); }
static void test_xdp_then_tcx(void) { second_agent_refused("xdp", "tcx", 6501); }
static void test_tcx_then_xdp(void) { second_agent_refused("tcx", "xdp", 6502); }
static void test_tcx_then_tcx(void) { second_agent_refused("tcx", "tcx", 6503); }

/* A --keep agent killed at tcx: the next agent takes its link over, and
 * with it the verdicts, as at XDP (test_agent_live.c). */
static void test_kept_tcx_taken_over(void)
{
	struct verdict v;
	int rx, tx;

	if (!hook_available("tcx")) {
		SKIP("no tcx before kernel 6.6");
		return;
	}
	if (start_agent("--hook tcx --threshold 0 --keep")) {
		CHECKF(0, "the kept agent did not start");
		return;
	}
	tx = udp_pair(AF_INET, 6560, &rx);
	send_udp(tx, N, 200);
	for (int t = 0; t < 100 && verdict_of(TX_V4, local_port(tx), RX_V4, 6560, 17, &v); t++)
		usleep(20000);
	stop_agent(SIGKILL);
	start_agent("--hook tcx --threshold 0");
	CHECK(file_contains(tmp_path("agent.err"), "attached"));
	CHECK(verdict_of(TX_V4, local_port(tx), RX_V4, 6560, 17, &v) == 0);
	CHECK(stop_agent(SIGINT) == 0);
	CHECK(sh("test -z \"$(bpftool net show dev %s 2>/dev/null | grep -i odeflow)\"", dev_rx) == 0);
	close(tx);
	close(rx);
}

int main(void)
{
	if (!harness_is_root()) {
		printf("SKIP test_one_agent: needs root (XDP, namespaces)\n");
		return 0;
	}
	agent_test_setup("test_one_agent", TEST_SECONDS);
	RUN(test_xdp_then_xdp);
	RUN(test_xdp_then_tcx);
	RUN(test_tcx_then_xdp);
	RUN(test_tcx_then_tcx);
	RUN(test_kept_tcx_taken_over);
	return harness_done();
}
