/* SPDX-License-Identifier: MIT */
/* Sharing the XDP hook through libxdp's multi-program dispatcher, for real,
 * on a veth pair between two namespaces this test creates: xdp-filter
 * (xdp-tools) drops one port while odeflow classifies the rest, unloading
 * either leaves the other working, `xdp-loader status` lists both, and
 * `odeflow stats` and /metrics name the attachment ("libxdp"); the
 * next agent takes over what a --keep agent left in the dispatcher, and
 * never what a running one holds; a dispatcher's mode decides --xdp-mode.
 * Where the kernel runs no dispatcher (it refuses freplace programs, as the
 * 6.18 kernel of this project's test VM does) those tests SKIP with the
 * kernel's reason; what odeflow does instead is checked everywhere (forced
 * with LIBXDP_SKIP_DISPATCHER=1 where the dispatcher works): it attaches
 * alone through a BPF link and says so in one line.
 * tests/vm/kernel61_check.sh runs this on Debian 12's 6.1 kernel, where the
 * dispatcher works. xdp-filter and libxdp pin under /sys/fs/bpf: the test
 * mounts a bpffs of its own there, in a mount namespace of its own, so it
 * touches nothing of the host's. Needs root. */
#include <bpf/libbpf.h>

#include "agent_harness.h"
#include "loader/xdp_dispatcher.h"

#define TEST_SECONDS 300
#define DROPPED_PORT 7300
#define DROPPED_PORT_TEXT "7300"
#define METRICS "127.0.0.1:9470" /* on the rx namespace's own loopback */
#define SKIP_ENV "LIBXDP_SKIP_DISPATCHER"

static char no_dispatcher[300]; /* why this kernel runs none; "" when it does */
static char skip_reason[400];

static bool dispatcher_missing(void)
{
	if (!no_dispatcher[0])
		return false;
	SKIP(skip_reason);
	return true;
}

/* `xdp-loader status` of the rx end. */
static const char *loader_status(void)
{
	static char text[8192];
	size_t n = 0;
	FILE *f;

	text[0] = '\0';
	if (sh("xdp-loader status %s > %s 2>&1", dev_rx, tmp_path("status.txt")))
		return text;
	f = fopen(tmp_path("status.txt"), "r");
	if (f) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	return text;
}

/* The dispatcher's members named `name` in a status (lines " => PRIO NAME ID
 * TAG ACTIONS"): how many, and in *prio and *id the last one's. */
static int members(const char *status, const char *name, int *prio, unsigned *id)
{
	char line[256], mark[8], got[64];
	const char *p = status;
	int n = 0, pr;
	unsigned i;

	while (*p) {
		size_t len = strcspn(p, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), p);
		if (sscanf(line, " %7s %d %63s %u", mark, &pr, got, &i) == 4 && !strcmp(mark, "=>") &&
		    !strcmp(got, name)) {
			n++;
			*prio = pr;
			*id = i;
		}
		p += len + (p[len] == '\n');
	}
	return n;
}

static int odeflow_members(unsigned *id)
{
	int prio;

	return members(loader_status(), "odeflow_xdp", &prio, id);
}

/* Starts the agent with an events file; 0 once attached. */
static int start_classifying(const char *extra)
{
	char opts[512];

	snprintf(opts, sizeof(opts), "--threshold 0 --events %s %s", tmp_path("events.jsonl"), extra);
	return start_agent(opts);
}

/* Runs `xdp-filter COMMAND ... IF-or-port` on the rx end; its exit status. */
static int filter(const char *command)
{
	return sh("xdp-filter %s %s >> %s 2>&1", command,
		  strstr(command, "port") ? "" : dev_rx, tmp_path("xdp-filter.log"));
}

/* Whether the agent's /metrics names this hook in odeflow_model_info. */
static bool metrics_hook(const char *hook)
{
	return sh("curl -s -m 5 http://" METRICS "/metrics | grep -q '^odeflow_model_info{.*hook=\"%s\"'",
		  hook) == 0;
}

static long long stats_of(const char *counter, char *hook, size_t len)
{
	json_t *st = read_stats();
	long long v = st ? stats_counter(st, counter) : -1;

	if (hook)
		snprintf(hook, len, "%s", json_string_value(json_object_get(st, "hook")) ?: "(none)");
	json_decref(st);
	return v;
}

/* Where the dispatcher cannot be had, odeflow takes the hook alone through
 * its own link and says so in one line, naming the reason and --hook tcx. */
static void test_alone_when_not_shared(void)
{
	const char *err = tmp_path("agent.err"), *reason = no_dispatcher;
	char hook[32];
	uint16_t sport;
	__u32 id = 0;
	int rc;

	if (!no_dispatcher[0]) {
		setenv(SKIP_ENV, "1", 1); /* inherited by the agent */
		reason = SKIP_ENV "=1";
	}
	rc = start_classifying("--metrics " METRICS);
	unsetenv(SKIP_ENV);
	if (rc) {
		CHECKF(0, "the agent did not attach");
		return;
	}
	CHECKF(sh("test $(grep -c 'is not shared' %s) -eq 1", err) == 0, "not one line");
	CHECKF(file_contains(err, reason) && file_contains(err, "--hook tcx shares TC ingress"),
	       "the line does not name the reason (%s) and --hook tcx", reason);
	CHECK(file_contains(err, "in native XDP mode"));
	CHECK(bpf_xdp_query_id((int)if_nametoindex(dev_rx), 0, &id) == 0 && id != 0);
	CHECK(odeflow_members(&id) == 0);
	CHECK(stats_of("packets", hook, sizeof(hook)) >= 0 && !strcmp(hook, "xdp"));
	CHECK(metrics_hook("xdp"));
	CHECK(send_connection(DROPPED_PORT + 50, &sport) == N);
	CHECKF(has_event(sport, DROPPED_PORT + 50), "no event through the link");
	CHECK(stop_agent(SIGINT) == 0);
	CHECK(bpf_xdp_query_id((int)if_nametoindex(dev_rx), 0, &id) == 0 && id == 0);
}

/* xdp-filter drops a port while odeflow classifies the rest, in one
 * dispatcher, the filter first (priority 10 before odeflow's 20); either
 * unloaded, the other goes on. */
static void test_beside_xdp_filter(void)
{
	const char *status;
	unsigned id;
	uint16_t sport;
	char hook[32];
	int prio = 0;

	if (dispatcher_missing())
		return;
	if (start_classifying("--metrics " METRICS)) {
		CHECKF(0, "the agent did not attach");
		return;
	}
	CHECK(file_contains(tmp_path("agent.err"), "in native XDP mode, in libxdp's dispatcher"));
	CHECK(!file_contains(tmp_path("agent.err"), "is not shared"));
	CHECK(stats_of("packets", hook, sizeof(hook)) >= 0 && !strcmp(hook, "libxdp"));
	CHECK(metrics_hook("libxdp"));
	CHECK(filter("load") == 0 && filter("port " DROPPED_PORT_TEXT) == 0);
	status = loader_status();
	CHECKF(members(status, "odeflow_xdp", &prio, &id) == 1 && prio == ODEFLOW_XDP_RUN_PRIO,
	       "xdp-loader status:\n%s", status);
	CHECKF(members(status, "xdpfilt_alw_all", &prio, &id) == 1 && prio == 10,
	       "xdp-loader status:\n%s", status);
	CHECK(strstr(status, "xdp_dispatcher") != NULL);

	CHECKF(send_connection(DROPPED_PORT, &sport) == 0, "xdp-filter's port got through");
	CHECKF(!has_event(sport, DROPPED_PORT), "odeflow saw what the filter before it dropped");
	CHECKF(send_connection(DROPPED_PORT + 1, &sport) == N, "odeflow lost datagrams");
	CHECKF(has_event(sport, DROPPED_PORT + 1), "no event beside xdp-filter");

	CHECK(filter("unload") == 0);
	CHECK(odeflow_members(&id) == 1);
	CHECKF(send_connection(DROPPED_PORT, &sport) == N, "the port is dropped without the filter");
	CHECKF(has_event(sport, DROPPED_PORT), "no event once the filter was gone");

	CHECK(filter("load") == 0 && filter("port " DROPPED_PORT_TEXT) == 0);
	CHECK(stop_agent(SIGINT) == 0);
	status = loader_status();
	CHECKF(members(status, "odeflow_xdp", &prio, &id) == 0 &&
		       members(status, "xdpfilt_alw_all", &prio, &id) == 1,
	       "after the agent:\n%s", status);
	CHECK(send_connection(DROPPED_PORT, &sport) == 0);
	CHECK(send_connection(DROPPED_PORT + 2, &sport) == N);
	CHECK(filter("unload") == 0);
}

/* A --keep agent killed leaves its program in the dispatcher, enforcing;
 * the next agent takes its place (one odeflow program, a new one, and no
 * packet counted twice); a second agent while that one runs is refused;
 * the last one out takes the dispatcher with it. */
static void test_keep_and_take_over(void)
{
	unsigned kept = 0, id = 0;
	long long before, after;
	__u32 hook_id = 0;
	uint16_t sport;
	char hook[32];

	if (dispatcher_missing())
		return;
	if (start_classifying("--keep")) {
		CHECKF(0, "the agent did not attach");
		return;
	}
	stop_agent(SIGKILL);
	CHECK(odeflow_members(&kept) == 1);
	CHECK(stats_of("packets", hook, sizeof(hook)) >= 0 && !strcmp(hook, "libxdp"));

	CHECK(start_classifying("") == 0);
	CHECKF(odeflow_members(&id) == 1 && id != kept, "kept %u, now %u", kept, id);
	before = stats_of("udp", NULL, 0);
	CHECK(send_connection(DROPPED_PORT + 3, &sport) == N);
	CHECK(has_event(sport, DROPPED_PORT + 3));
	after = stats_of("udp", NULL, 0);
	CHECKF(after - before == N, "%lld UDP packets counted for %d sent", after - before, N);

	CHECK(run_refused("", "second.err") == 1);
	CHECKF(file_contains(tmp_path("second.err"), "stop it"), "a running agent's program taken");
	CHECK(sh("test $(wc -l < %s) -eq 1", tmp_path("second.err")) == 0);
	CHECK(odeflow_members(&kept) == 1 && kept == id);

	CHECK(stop_agent(SIGINT) == 0);
	CHECK(odeflow_members(&id) == 0);
	CHECK(bpf_xdp_query_id((int)if_nametoindex(dev_rx), 0, &hook_id) == 0 && hook_id == 0);
}

/* libxdp, when it cannot build its dispatcher after all (here: no bpffs
 * where LIBXDP_BPFFS points), attaches the program alone through netlink;
 * odeflow takes that back and attaches through its own link instead,
 * saying why in one line, and its link goes with it. */
static void test_libxdp_alone_is_undone(void)
{
	const char *err = tmp_path("agent.err");
	char hook[32];
	__u32 id = 0;
	int rc;

	if (dispatcher_missing())
		return;
	setenv("LIBXDP_BPFFS", "/nonexistent", 1);
	rc = start_classifying("");
	unsetenv("LIBXDP_BPFFS");
	if (rc) {
		CHECKF(0, "the agent did not attach");
		return;
	}
	CHECKF(sh("grep 'is not shared' %s | grep -q 'libxdp attached it alone'", err) == 0,
	       "no line saying why");
	CHECK(sh("test $(grep -c 'is not shared' %s) -eq 1", err) == 0);
	CHECK(stats_of("packets", hook, sizeof(hook)) >= 0 && !strcmp(hook, "xdp"));
	CHECK(stop_agent(SIGINT) == 0);
	CHECK(bpf_xdp_query_id((int)if_nametoindex(dev_rx), 0, &id) == 0 && id == 0);
}

/* A dispatcher in generic mode: odeflow joins it in that mode, and refuses
 * a --xdp-mode that differs, in one line. */
static void test_the_dispatcher_mode_decides(void)
{
	if (dispatcher_missing())
		return;
	CHECK(filter("load -m skb") == 0);
	CHECK(run_refused("--xdp-mode native", "mode.err") == 1);
	CHECKF(file_contains(tmp_path("mode.err"), "runs in generic mode"), "no mode in the refusal");
	CHECK(sh("test $(wc -l < %s) -eq 1", tmp_path("mode.err")) == 0);
	if (start_classifying("") == 0) {
		CHECK(file_contains(tmp_path("agent.err"), "in generic XDP mode, in libxdp's dispatcher"));
		CHECK(stop_agent(SIGINT) == 0);
	} else {
		CHECKF(0, "the agent did not join a generic dispatcher");
	}
	CHECK(filter("unload") == 0);
}

int main(void)
{
	if (!harness_is_root()) {
		printf("SKIP test_xdp_share: needs root (XDP, namespaces)\n");
		return 0;
	}
	if (system("command -v xdp-filter >/dev/null && command -v xdp-loader >/dev/null")) {
		printf("SKIP test_xdp_share: xdp-filter or xdp-loader missing (make deps: xdp-tools)\n");
		return 0;
	}
	if (private_bpffs()) {
		printf("FAIL test_xdp_share: a bpffs of its own on /sys/fs/bpf: %s\n", strerror(errno));
		return 1;
	}
	if (!dispatcher_supported(no_dispatcher, sizeof(no_dispatcher)))
		snprintf(skip_reason, sizeof(skip_reason), "this kernel runs no libxdp dispatcher: %s",
			 no_dispatcher);
	agent_test_setup("test_xdp_share", TEST_SECONDS);
	RUN(test_alone_when_not_shared);
	RUN(test_beside_xdp_filter);
	RUN(test_keep_and_take_over);
	RUN(test_the_dispatcher_mode_decides);
	RUN(test_libxdp_alone_is_undone);
	return harness_done();
}
