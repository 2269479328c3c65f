/* SPDX-License-Identifier: MIT */
/* What operators run odeflow beside, for real, between two namespaces this
 * test creates: another program on the interface's tc ingress (tcx), a
 * foreign XDP program (refused unless --replace). Needs root; skipped
 * otherwise. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include "agent_harness.h"
#include "tc_drop_port.skel.h"
#include "xdp_pass.skel.h"

#define TEST_SECONDS 150
#define ATTACH_TCX_INGRESS 46 /* enum bpf_attach_type, kernel 6.6 (not in Debian 12's headers) */
#define DROPPED_PORT 7100
/* on the rx namespace's own loopback */
#define METRICS_PORT 9464
#define PROMETHEUS_PORT 9090
#define PORT_TAKEN 9465
#define PORT_TAKEN_TEXT "9465"

/* `odeflow run` expected to fail at once: its exit status, stderr in err_file. */
static int run_refused(const char *extra, const char *err_file)
{
	char cmd[2048];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s run --iface %s --model %s --pin-dir %s %s 2>%s", odeflow,
		 dev_rx, model_path, pin_dir, extra, tmp_path(err_file));
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The second program at tc ingress: drops UDP to DROPPED_PORT. */
struct tc_dropper {
	struct tc_drop_port_bpf *skel;
	int link_fd;
};

static int dropper_attach(struct tc_dropper *d)
{
	d->link_fd = -1;
	d->skel = tc_drop_port_bpf__open();
	if (!d->skel)
		return -1;
	d->skel->rodata->drop_port = DROPPED_PORT;
	if (tc_drop_port_bpf__load(d->skel))
		return -1;
	d->link_fd = bpf_link_create(bpf_program__fd(d->skel->progs.drop_udp_port),
				     (int)if_nametoindex(dev_rx), ATTACH_TCX_INGRESS, NULL);
	return d->link_fd < 0 ? -1 : 0;
}

static void dropper_detach(struct tc_dropper *d)
{
	if (d->link_fd >= 0)
		close(d->link_fd);
	tc_drop_port_bpf__destroy(d->skel);
	d->skel = NULL;
	d->link_fd = -1;
}

/* The names of the programs at the rx end's tcx ingress, in order,
 * separated by spaces: the kernel's own list of the chain. */
static void tcx_chain(char *out, size_t len)
{
	__u32 ids[16], count = 16, flags = 0;

	out[0] = '\0';
	if (bpf_prog_query((int)if_nametoindex(dev_rx), ATTACH_TCX_INGRESS, 0, &flags, ids, &count))
		return;
	for (__u32 i = 0; i < count; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 info_len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &info_len))
			snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " " : "",
				 info.name);
		if (fd >= 0)
			close(fd);
	}
}

/* A fresh UDP connection to port; sends N datagrams; returns how many arrived. */
static int send_connection(uint16_t port, uint16_t *sport)
{
	int rx, tx = udp_pair(AF_INET, port, &rx), got;

	send_udp(tx, N, 200);
	usleep(50000);
	got = drain_socket(rx);
	*sport = local_port(tx);
	close(tx);
	close(rx);
	return got;
}

/* Whether the events file has a first-window event for this connection
 * (waits up to 2 s for it). */
static bool has_event(uint16_t sport, uint16_t dport)
{
	char text[96];

	snprintf(text, sizeof(text), "\"sport\":%u,\"dport\":%u", sport, dport);
	return wait_for_text(tmp_path("events.jsonl"), text, 2000);
}

/* odeflow at tcx with a firewall-like program before it: the firewall
 * drops its port, odeflow classifies the rest; either one unloaded, the
 * other goes on; the kernel lists both in its chain. */
static void test_tcx_beside_another_program(void)
{
	struct tc_dropper d = { 0 };
	char chain[256], opts[256];
	uint16_t sport;

	if (dropper_attach(&d)) {
		SKIP("no tcx here (kernel 6.6 or later)");
		dropper_detach(&d);
		return;
	}
	snprintf(opts, sizeof(opts), "--hook tcx --threshold 0 --events %s", tmp_path("events.jsonl"));
	if (start_agent(opts)) {
		CHECKF(0, "the agent did not attach at tcx");
		dropper_detach(&d);
		return;
	}
	tcx_chain(chain, sizeof(chain));
	CHECKF(!strcmp(chain, "drop_udp_port odeflow_tc"), "tcx chain: '%s'", chain);
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0); /* nothing at XDP */

	CHECKF(send_connection(DROPPED_PORT, &sport) == 0, "the firewall's port got through");
	CHECK(!has_event(sport, DROPPED_PORT));
	CHECKF(send_connection(DROPPED_PORT + 1, &sport) == N, "odeflow lost datagrams");
	CHECKF(has_event(sport, DROPPED_PORT + 1), "no event for the connection odeflow saw");

	dropper_detach(&d); /* the firewall unloaded: odeflow alone, and it sees that port now */
	tcx_chain(chain, sizeof(chain));
	CHECKF(!strcmp(chain, "odeflow_tc"), "tcx chain: '%s'", chain);
	CHECK(send_connection(DROPPED_PORT, &sport) == N);
	CHECKF(has_event(sport, DROPPED_PORT), "no event once the firewall was gone");

	CHECK(dropper_attach(&d) == 0); /* back, after odeflow this time */
	tcx_chain(chain, sizeof(chain));
	CHECKF(!strcmp(chain, "odeflow_tc drop_udp_port"), "tcx chain: '%s'", chain);
	CHECKF(stop_agent(SIGINT, 1000) == 0, "the agent did not exit 0 within a second");
	tcx_chain(chain, sizeof(chain)); /* odeflow unloaded: the firewall goes on */
	CHECKF(!strcmp(chain, "drop_udp_port"), "tcx chain after the agent: '%s'", chain);
	CHECK(send_connection(DROPPED_PORT, &sport) == 0);
	CHECK(send_connection(DROPPED_PORT + 2, &sport) == N);
	dropper_detach(&d);
}

/* A --keep agent at tcx leaves its link pinned and enforcing; the next
 * agent takes that link over; an agent asking for XDP instead is told. */
static void test_tcx_keep_and_take_over(void)
{
	char chain[256];

	if (start_agent("--hook tcx --keep")) {
		CHECKF(0, "the agent did not attach at tcx");
		return;
	}
	stop_agent(SIGKILL, 1000);
	tcx_chain(chain, sizeof(chain));
	CHECKF(!strcmp(chain, "odeflow_tc"), "after a SIGKILL with --keep: '%s'", chain);
	CHECK(run_refused("", "xdp.err") == 1);
	CHECKF(file_contains(tmp_path("xdp.err"), "not at the xdp hook asked for"),
	       "asking for XDP over a kept tcx link");
	CHECK(start_agent("--hook tcx") == 0);
	tcx_chain(chain, sizeof(chain));
	CHECKF(!strcmp(chain, "odeflow_tc"), "took over: '%s' (one program, not two)", chain);
	CHECK(stop_agent(SIGINT, 1000) == 0);
	tcx_chain(chain, sizeof(chain));
	CHECKF(chain[0] == '\0', "after the agent: '%s'", chain);
}

/* Another tool's XDP program on the interface: refused with its name and
 * the choice, nothing attached; --replace takes its place. */
static void test_foreign_xdp_program(void)
{
	struct xdp_pass_bpf *other = xdp_pass_bpf__open_and_load();
	int ifindex = (int)if_nametoindex(dev_rx);
	__u32 id = 0, other_id = 0;

	if (!other || bpf_xdp_attach(ifindex, bpf_program__fd(other->progs.xdp_pass),
				     XDP_FLAGS_SKB_MODE, NULL)) {
		CHECKF(0, "attaching the other XDP program: %s", strerror(errno));
		xdp_pass_bpf__destroy(other);
		return;
	}
	bpf_xdp_query_id(ifindex, 0, &other_id);
	CHECK(run_refused("", "foreign.err") == 1);
	CHECKF(file_contains(tmp_path("foreign.err"), "holds program 'xdp_pass'") &&
		       file_contains(tmp_path("foreign.err"), "--replace") &&
		       file_contains(tmp_path("foreign.err"), "--hook tcx"),
	       "the refusal does not name the program and the choice");
	CHECK(sh("test $(wc -l < %s) -eq 1", tmp_path("foreign.err")) == 0);
	CHECK(bpf_xdp_query_id(ifindex, 0, &id) == 0 && id == other_id); /* untouched */

	CHECK(start_agent("--replace") == 0);
	CHECK(bpf_xdp_query_id(ifindex, 0, &id) == 0 && id != 0 && id != other_id);
	CHECK(stop_agent(SIGINT, 1000) == 0);
	CHECK(bpf_xdp_query_id(ifindex, 0, &id) == 0 && id == 0);
	xdp_pass_bpf__destroy(other);
}

/* Prometheus's HTTP API, inside the rx namespace: the value of an instant
 * query that returns one series, -1 if it returns none. */
static double prometheus_value(const char *query)
{
	char cmd[1024];
	json_error_t jerr;
	json_t *j, *result;
	double v = -1;

	snprintf(cmd, sizeof(cmd), "curl -s -m 5 -G http://127.0.0.1:%d/api/v1/query"
		 " --data-urlencode 'query=%s' > %s", PROMETHEUS_PORT, query,
		 tmp_path("query.json"));
	if (sh("%s", cmd))
		return -1;
	j = json_load_file(tmp_path("query.json"), 0, &jerr);
	result = json_object_get(json_object_get(j, "data"), "result");
	if (json_array_size(result) == 1)
		v = atof(json_string_value(
			json_array_get(json_object_get(json_array_get(result, 0), "value"), 1)));
	json_decref(j);
	return v;
}

static void stop_prometheus(void)
{
	kill_from_pidfile("prometheus", SIGTERM);
	for (int t = 0; t < 100 && kill(read_pid("prometheus"), 0) == 0; t++)
		usleep(50000);
	kill_from_pidfile("prometheus", SIGKILL);
}

static void stop_all(void)
{
	stop_everything();
	kill_from_pidfile("prometheus", SIGKILL);
}

/* A real Prometheus scrapes the agent every second while captures are
 * replayed; its API then has the series, with values; promtool finds
 * nothing wrong with what the agent serves. */
static void test_prometheus_scrapes_the_agent(void)
{
	static const char *const nonzero[] = {
		"odeflow_windows_classified_total", "odeflow_xdp_packets_total",
		"odeflow_xdp_windows_total", "sum(odeflow_verdicts_total)",
		"sum(odeflow_policy_packets_total{action=\"pass\"})",
		"odeflow_batch_windows_count", "odeflow_verdict_latency_seconds_count",
		"odeflow_verdict_latency_seconds_sum", "odeflow_model_info{window=\"20\"}",
		"count(odeflow_build_info)",
	};
	char opts[256];
	uint16_t sport;

	if (system("command -v prometheus promtool curl >/dev/null")) {
		SKIP("prometheus, promtool or curl missing (make deps)");
		return;
	}
	sh("printf 'global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
	   "scrape_configs: [{job_name: odeflow, static_configs: [{targets: [\"127.0.0.1:%d\"]}]}]\n'"
	   " > %s", METRICS_PORT, tmp_path("prometheus.yml"));
	sh("timeout 90 prometheus --config.file=%s --storage.tsdb.path=%s --web.listen-address=127.0.0.1:%d"
	   " > %s 2>&1 & echo $! > %s", tmp_path("prometheus.yml"), tmp_path("tsdb"), PROMETHEUS_PORT,
	   tmp_path("prometheus.log"), tmp_path("prometheus.pid"));
	if (!wait_for_text(tmp_path("prometheus.log"), "Server is ready to receive web requests", 20000)) {
		CHECKF(0, "prometheus did not start");
		sh("tail -5 %s", tmp_path("prometheus.log"));
		stop_prometheus();
		return;
	}
	snprintf(opts, sizeof(opts), "--threshold 0 --metrics 127.0.0.1:%d", METRICS_PORT);
	if (start_agent(opts)) {
		CHECKF(0, "the agent did not start");
		stop_prometheus();
		return;
	}
	/* Prometheus applies its targets every 5 s: wait for the first scrape */
	for (int t = 0; t < 100 && prometheus_value("up{job=\"odeflow\"}") != 1; t++)
		usleep(200000);
	CHECKF(prometheus_value("up{job=\"odeflow\"}") == 1, "prometheus never scraped the agent");
	CHECK(replay("skype-conference-call.pcap", 2000) == 0);
	CHECK(replay("youtube_quic.pcap", 2000) == 0);
	CHECK(send_connection(7300, &sport) == N);
	for (int i = 0; i < 3; i++) /* packets of a classified connection: policy counts */
		CHECK(send_connection(7300, &sport) == N);
	/* until a scrape has seen the policy counts (the last to move) */
	for (int t = 0; t < 50 && prometheus_value(nonzero[4]) <= 0; t++)
		usleep(200000);
	for (size_t i = 0; i < sizeof(nonzero) / sizeof(nonzero[0]); i++) {
		double v = prometheus_value(nonzero[i]);

		CHECKF(v > 0, "prometheus: %s = %g", nonzero[i], v);
	}
	if (harness_current_failed)
		sh("cat %s; tail -20 %s", tmp_path("query.json"), tmp_path("prometheus.log"));
	CHECK(prometheus_value("up{job=\"odeflow\"}") == 1);
	CHECK(sh("curl -s -m 5 http://127.0.0.1:%d/metrics > %s && promtool check metrics < %s",
		 METRICS_PORT, tmp_path("metrics.txt"), tmp_path("metrics.txt")) == 0);
	CHECK(stop_agent(SIGINT, 1000) == 0);
	stop_prometheus();
}

/* Scrapers that connect and never ask (every connection the server takes)
 * hold up nothing: the agent goes on classifying and stops on time. */
static void test_stuck_scrapers_never_stall_the_agent(void)
{
	struct sockaddr_storage to;
	socklen_t len = make_addr(AF_INET, "127.0.0.1", METRICS_PORT, &to);
	int idle[12], n = 0;
	char opts[256];
	uint16_t sport;

	snprintf(opts, sizeof(opts), "--threshold 0 --metrics 127.0.0.1:%d --events %s",
		 METRICS_PORT, tmp_path("events.jsonl"));
	if (start_agent(opts)) {
		CHECKF(0, "the agent did not start");
		return;
	}
	for (; n < 12; n++) {
		idle[n] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (idle[n] < 0 || connect(idle[n], (struct sockaddr *)&to, len))
			break;
	}
	CHECK(n == 12);
	CHECK(send_connection(7400, &sport) == N);
	CHECKF(has_event(sport, 7400), "no event while scrapers hung");
	CHECKF(stop_agent(SIGINT, 1000) == 0, "the agent did not exit 0 within a second");
	while (n-- > 0)
		close(idle[n]);
}

/* --metrics that cannot be served: one line, exit status 1, nothing
 * attached. The name lookup stays inside the test's namespace (it has no
 * route to any resolver). */
static void test_bad_metrics_address(void)
{
	static const struct {
		const char *opt, *message;
	} cases[] = {
		{ "--metrics 127.0.0.1", "is not HOST:PORT" },
		{ "--metrics 127.0.0.1:70000", "port must be 1..65535" },
		{ "--metrics no-such-host.invalid:9464", "does not resolve" },
		{ "--metrics 127.0.0.1:" PORT_TAKEN_TEXT, "Address already in use" },
	};
	struct sockaddr_storage ss;
	socklen_t len = make_addr(AF_INET, "127.0.0.1", PORT_TAKEN, &ss);
	int taken = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(taken >= 0 && bind(taken, (struct sockaddr *)&ss, len) == 0 && listen(taken, 1) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECKF(run_refused(cases[i].opt, "bad.err") == 1, "%s", cases[i].opt);
		CHECKF(file_contains(tmp_path("bad.err"), cases[i].message), "%s: no '%s' in its error",
		       cases[i].opt, cases[i].message);
		CHECK(sh("test $(wc -l < %s) -eq 1", tmp_path("bad.err")) == 0);
		CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
	}
	close(taken);
}

int main(void)
{
	if (!harness_is_root()) {
		printf("SKIP test_ops_live: needs root (XDP, tcx, namespaces)\n");
		return 0;
	}
	agent_test_setup("test_ops_live", TEST_SECONDS);
	netns_before_cleanup = stop_all;
	RUN(test_tcx_beside_another_program);
	RUN(test_tcx_keep_and_take_over);
	RUN(test_foreign_xdp_program);
	RUN(test_prometheus_scrapes_the_agent);
	RUN(test_stuck_scrapers_never_stall_the_agent);
	RUN(test_bad_metrics_address);
	return harness_done();
}
