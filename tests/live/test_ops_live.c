/* SPDX-License-Identifier: MIT */
/* What operators run odeflow beside, for real, between two namespaces this
 * test creates: another program on the interface's tc ingress (tcx), a
 * foreign XDP program (refused unless --replace). Needs root; skipped
 * otherwise. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <math.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "agent_harness.h"
#include "loader/sampler.h"
#include "tc_drop_port.skel.h"
#include "xdp_pass.skel.h"

#define TEST_SECONDS 300
#define ATTACH_TCX_INGRESS 46 /* enum bpf_attach_type, kernel 6.6 (not in Debian 12's headers) */
#define DROPPED_PORT 7100
/* on the rx namespace's own loopback */
#define METRICS_PORT 9464
#define PROMETHEUS_PORT 9090
#define PORT_TAKEN 9465
#define PORT_TAKEN_TEXT "9465"

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
	CHECKF(stop_agent(SIGINT) == 0, "the agent did not exit 0 in time");
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
	stop_agent(SIGKILL);
	tcx_chain(chain, sizeof(chain));
	CHECKF(!strcmp(chain, "odeflow_tc"), "after a SIGKILL with --keep: '%s'", chain);
	CHECK(run_refused("", "xdp.err") == 1);
	CHECKF(file_contains(tmp_path("xdp.err"), "not at the xdp hook asked for"),
	       "asking for XDP over a kept tcx link");
	start_agent("--hook tcx");
	tcx_chain(chain, sizeof(chain));
	CHECKF(!strcmp(chain, "odeflow_tc"), "took over: '%s' (one program, not two)", chain);
	CHECK(stop_agent(SIGINT) == 0);
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

	start_agent("--replace");
	CHECK(bpf_xdp_query_id(ifindex, 0, &id) == 0 && id != 0 && id != other_id);
	CHECK(stop_agent(SIGINT) == 0);
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

static void stop_all_collectors(void);

static void stop_all(void)
{
	stop_everything();
	kill_from_pidfile("prometheus", SIGKILL);
	stop_all_collectors();
}

/* Every expression of the shipped Grafana dashboard, its variables
 * replaced, evaluates in Prometheus without an error; those that draw the
 * traffic (packets, classes, verdicts) have series. */
static void check_dashboard_queries(void)
{
	char line[2048];
	FILE *f;
	int n = 0, empty = 0;

	if (sh("jq -r '.panels[].targets[]?.expr' tools/monitoring/grafana-odeflow.json"
	       " | sed 's/\\$__rate_interval/30s/g; s/\\$instance/.*/g' > %s",
	       tmp_path("dashboard.exprs"))) {
		CHECKF(0, "jq could not read the dashboard");
		return;
	}
	f = fopen(tmp_path("dashboard.exprs"), "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		n++;
		CHECKF(sh("curl -s -m 5 -G http://127.0.0.1:%d/api/v1/query --data-urlencode 'query=%s'"
			  " | jq -e '.status == \"success\"' >/dev/null", PROMETHEUS_PORT, line) == 0,
		       "prometheus refused the dashboard's query %s", line);
		if ((strstr(line, "packets") || strstr(line, "verdicts_total") ||
		     strstr(line, "connections")) && prometheus_value(line) < 0 &&
		    sh("curl -s -m 5 -G http://127.0.0.1:%d/api/v1/query --data-urlencode 'query=%s'"
		       " | jq -e '.data.result | length > 0' >/dev/null", PROMETHEUS_PORT, line)) {
			CHECKF(0, "the dashboard's query %s has no series", line);
			empty++;
		}
	}
	if (f)
		fclose(f);
	CHECKF(n > 15 && !empty, "%d dashboard queries, %d without series", n, empty);
}

/* The shipped alert rules, loaded by this Prometheus, evaluate on the live
 * agent's series without an error, and those about the agent's health are
 * quiet on a healthy agent (latency and ring drops may be pending on a
 * loaded test machine: their thresholds are for production links). */
static void check_alert_rules(void)
{
	CHECKF(sh("curl -s -m 5 http://127.0.0.1:%d/api/v1/rules > %s", PROMETHEUS_PORT,
		  tmp_path("rules.json")) == 0, "no answer from /api/v1/rules");
	CHECKF(sh("jq -e '[.data.groups[].rules[]] | length == 7 and all(.health == \"ok\")' %s"
		  " >/dev/null", tmp_path("rules.json")) == 0,
	       "the alert rules did not all evaluate: %s", tmp_path("rules.json"));
	CHECKF(sh("jq -e '[.data.groups[].rules[] | select(.name == \"OdeflowAgentDown\" or"
		  " .name == \"OdeflowAgentUnhealthy\") | select(.state != \"inactive\")] | length == 0'"
		  " %s >/dev/null", tmp_path("rules.json")) == 0, "a health alert on a healthy agent");
	if (harness_current_failed)
		sh("jq -c '.data.groups[].rules[] | [.name, .state, .health, .lastError]' %s",
		   tmp_path("rules.json"));
}

/* A real Prometheus scrapes the agent every second while captures are
 * replayed, with the shipped alert rules; its API then has the series,
 * with values, and the dashboard's queries and the rules evaluate on them;
 * promtool finds nothing wrong with what the agent serves. */
static void test_prometheus_scrapes_the_agent(void)
{
	static const char *const nonzero[] = {
		"odeflow_windows_classified_total", "sum(odeflow_xdp_packets_total)",
		"odeflow_xdp_packets_total{kind=\"udp\"}",
		"odeflow_xdp_windows_total", "sum(odeflow_verdicts_total)",
		"sum(odeflow_policy_packets_total{action=\"pass\"})",
		"sum(odeflow_policy_bytes_total{action=\"pass\"})",
		"odeflow_batch_windows_count", "odeflow_verdict_latency_seconds_count",
		"odeflow_verdict_latency_seconds_sum", "odeflow_model_info{window=\"20\"}",
		"count(odeflow_build_info)", "odeflow_sampler_attached",
		"odeflow_map_max_entries{map=\"verdicts\"}",
		"odeflow_map_entries{map=\"flows\"}",
	};
	char opts[256];
	uint16_t sport;

	if (system("command -v prometheus promtool curl >/dev/null")) {
		SKIP("prometheus, promtool or curl missing (make deps)");
		return;
	}
	sh("cp tools/monitoring/odeflow-alerts.yml %s", tmp_path("odeflow-alerts.yml"));
	sh("printf 'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
	   "rule_files: [%s]\n"
	   "scrape_configs: [{job_name: odeflow, static_configs: [{targets: [\"127.0.0.1:%d\"]}]}]\n'"
	   " > %s", tmp_path("odeflow-alerts.yml"), METRICS_PORT, tmp_path("prometheus.yml"));
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
	for (int t = 0; t < 50 && prometheus_value(nonzero[5]) <= 0; t++)
		usleep(200000);
	/* the map census is at most METRICS_CENSUS_EVERY_NS old: until it has
	 * counted the connections just classified */
	for (int t = 0; t < 100 && prometheus_value("sum(odeflow_connections)") <= 0; t++)
		usleep(200000);
	CHECK(prometheus_value("sum(odeflow_connections)") > 0);
	CHECK(prometheus_value("odeflow_heartbeat_age_seconds") < 1);
	for (size_t i = 0; i < sizeof(nonzero) / sizeof(nonzero[0]); i++) {
		double v = prometheus_value(nonzero[i]);

		CHECKF(v > 0, "prometheus: %s = %g", nonzero[i], v);
	}
	if (harness_current_failed)
		sh("cat %s; tail -20 %s", tmp_path("query.json"), tmp_path("prometheus.log"));
	CHECK(prometheus_value("up{job=\"odeflow\"}") == 1);
	check_dashboard_queries();
	check_alert_rules();
	CHECK(sh("curl -s -m 5 http://127.0.0.1:%d/metrics > %s && promtool check metrics < %s",
		 METRICS_PORT, tmp_path("metrics.txt"), tmp_path("metrics.txt")) == 0);
	/* --max-windows 3 (the default): no series for stages past it */
	CHECK(sh("grep -q 'stage=\"3\"' %s && ! grep -q 'stage=\"4\"' %s", tmp_path("metrics.txt"),
		 tmp_path("metrics.txt")) == 0);
	CHECK(stop_agent(SIGINT) == 0);
	stop_prometheus();
}

/* GET http://127.0.0.1:METRICS_PORT/PATH within 2 s: the HTTP status, 0
 * when nothing answered; the body in NAME. */
static int http_status(const char *path, const char *name)
{
	char out[16] = "";
	FILE *p;
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "curl -s -m 2 -o %s -w '%%{http_code}' http://127.0.0.1:%d%s",
		 tmp_path(name), METRICS_PORT, path);
	p = popen(cmd, "r");
	if (p && !fgets(out, sizeof(out), p))
		out[0] = '\0';
	if (p)
		pclose(p);
	return atoi(out);
}

/* /healthz: 200 while the drain loop runs; 503, saying why, once it has
 * not run for a second while the metrics thread still answers (the drain,
 * the agent's main thread, stopped alone with ptrace); 200 again once it
 * runs. A whole agent stopped (SIGSTOP) does not answer at all, and
 * answers 200 again after SIGCONT. */
static void test_healthz_follows_the_drain(void)
{
	char opts[256];
	int pid, status, code;

	snprintf(opts, sizeof(opts), "--metrics 127.0.0.1:%d", METRICS_PORT);
	if (start_agent(opts)) {
		CHECKF(0, "the agent did not start");
		return;
	}
	pid = read_pid("agent");
	code = http_status("/healthz", "health.txt");
	CHECKF(code == 200 && file_contains(tmp_path("health.txt"), "ok"), "healthy agent: %d", code);
	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) || ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) ||
	    waitpid(pid, &status, __WALL) != pid) {
		CHECKF(0, "cannot stop the drain thread: %s", strerror(errno));
		stop_agent(SIGKILL);
		return;
	}
	usleep(1500000);
	code = http_status("/healthz", "health.txt");
	CHECKF(code == 503 && file_contains(tmp_path("health.txt"), "drain loop has not run for"),
	       "stopped drain: %d", code);
	CHECK(http_status("/metrics", "stuck.txt") == 200);
	CHECK(sh("awk '/^odeflow_heartbeat_age_seconds / { exit !($2 > 1) }' %s",
		 tmp_path("stuck.txt")) == 0);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	usleep(300000);
	code = http_status("/healthz", "health.txt");
	CHECKF(code == 200, "drain running again: %d", code);

	kill(pid, SIGSTOP);
	code = http_status("/healthz", "health.txt");
	CHECKF(code == 0, "a stopped agent answered %d", code);
	kill(pid, SIGCONT);
	usleep(300000);
	code = http_status("/healthz", "health.txt");
	CHECKF(code == 200, "after SIGCONT: %d", code);
	CHECK(stop_agent(SIGINT) == 0);
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
	CHECKF(stop_agent(SIGINT) == 0, "the agent did not exit 0 in time");
	while (n-- > 0)
		close(idle[n]);
}

/* --metrics that cannot be served: one line, nothing attached; exit status
 * 2 for a value that does not parse, 1 for one that fails on the host. The name lookup stays inside the test's namespace (it has no
 * route to any resolver). */
static void test_bad_metrics_address(void)
{
	static const struct {
		const char *opt;
		int status;
		const char *message;
	} cases[] = {
		{ "--metrics 127.0.0.1", 2, "is not HOST:PORT" },
		{ "--metrics 127.0.0.1:70000", 2, "port must be 1..65535" },
		{ "--metrics no-such-host.invalid:9464", 1, "does not resolve" },
		{ "--metrics 127.0.0.1:" PORT_TAKEN_TEXT, 1, "Address already in use" },
	};
	struct sockaddr_storage ss;
	socklen_t len = make_addr(AF_INET, "127.0.0.1", PORT_TAKEN, &ss);
	int taken = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(taken >= 0 && bind(taken, (struct sockaddr *)&ss, len) == 0 && listen(taken, 1) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_refused(cases[i].opt, cases[i].status, cases[i].message);
	close(taken);
}

/* A collector in the tx namespace, in its own process group (nfacctd
 * forks its plugins), bounded in time; its pid in NAME.pid. */
static void start_collector(const char *name, const char *cmd)
{
	sh("setsid ip netns exec %s timeout -s KILL 60 %s > %s 2>&1 & echo $! > %s/%s.pid", ns_tx,
	   cmd, tmp_path(name), scratch_dir, name);
}

/* Waits (up to 10 s) until something listens on the port ('u' UDP, 't'
 * TCP) in the tx namespace: a datagram sent before would come back as ICMP
 * port unreachable, and the exporter would count the next send as failed;
 * a TCP connection refused would drop records until the exporter retries. */
static bool listening(char proto, int port)
{
	for (int t = 0; t < 100; t++) {
		if (sh("ip netns exec %s ss -Hl%cn 'sport = :%d' | grep -q .", ns_tx, proto, port) == 0)
			return true;
		usleep(100000);
	}
	return false;
}

/* Waits (up to 5 s) for a collector to end by itself (socat does when the
 * exporter closes its connection, after writing what it read). */
static void wait_collector_exit(const char *name)
{
	for (int t = 0; t < 50 && process_running(read_pid(name)); t++)
		usleep(100000);
}

static void stop_collector(const char *name)
{
	int pid = read_pid(name);

	if (pid > 0)
		kill(-pid, SIGKILL);
	usleep(100000);
}

static void stop_all_collectors(void)
{
	stop_collector("nfacctd");
	stop_collector("socat");
}

/* One decision as both sides print it: the events file and a collector.
 * Packets and octets are the window's (N, and the sum of its IP sizes);
 * ifindex the interface it arrived at (ingressInterface), out_ifindex the
 * one it was seen leaving (egressInterface), direction flowDirection (0
 * ingress, 1 egress; -1 where the collector does not say), domain the
 * observation domain. */
struct exported {
	char src[64], dst[64], cls[32];
	long sport, dport, proto, window, class_id, confidence_ppm, stage, provisional;
	long packets, octets, ifindex, out_ifindex, direction, domain;
	unsigned long model_id;
};

/* The observation domain the agent is expected to use. */
static long expected_domain = -1;

/* The events file's decisions, with the model's class ids and id. */
static int events_as_exported(const struct model_config *cfg, struct exported *out, int max)
{
	json_t *events = read_events(tmp_path("events.jsonl")), *e;
	size_t i;
	int n = 0;

	json_array_foreach(events, i, e) {
		struct exported *x = &out[n];

		if (n == max)
			break;
		memset(x, 0, sizeof(*x));
		snprintf(x->src, sizeof(x->src), "%s", json_string_value(json_object_get(e, "src")));
		snprintf(x->dst, sizeof(x->dst), "%s", json_string_value(json_object_get(e, "dst")));
		snprintf(x->cls, sizeof(x->cls), "%s", json_string_value(json_object_get(e, "class")));
		x->sport = (long)json_integer_value(json_object_get(e, "sport"));
		x->dport = (long)json_integer_value(json_object_get(e, "dport"));
		x->proto = (long)json_integer_value(json_object_get(e, "proto"));
		x->window = (long)json_integer_value(json_object_get(e, "window"));
		x->stage = (long)json_integer_value(json_object_get(e, "stage"));
		x->provisional = json_is_true(json_object_get(e, "provisional"));
		x->confidence_ppm = lround(json_number_value(json_object_get(e, "confidence")) * 1e6);
		json_t *sizes = json_object_get(e, "sizes"), *size;
		size_t k;

		json_array_foreach(sizes, k, size) {
			x->packets++;
			x->octets += (long)json_integer_value(size);
		}
		/* ingressInterface: where the window arrived, egressInterface where
		 * it was seen leaving: the other one 0 */
		x->direction = !strcmp(json_string_value(json_object_get(e, "hook")) ?: "", "egress");
		*(x->direction ? &x->out_ifindex : &x->ifindex) =
			(long)if_nametoindex(json_string_value(json_object_get(e, "iface")));
		x->domain = expected_domain >= 0 ? expected_domain : (long)if_nametoindex(dev_rx);
		x->class_id = -1;
		for (int k = 0; k < cfg->num_classes; k++)
			if (!strcmp(cfg->class_names[k], x->cls))
				x->class_id = k;
		x->model_id = cfg->model_id;
		n++;
	}
	json_decref(events);
	return n;
}

/* Every event has one collector record equal to it field for field, and
 * the collector has no other record. */
static void check_same(const struct exported *ev, int nev, const struct exported *col, int ncol,
		       const char *collector)
{
	CHECKF(nev > 0 && ncol == nev, "%s: %d records for %d events", collector, ncol, nev);
	for (int i = 0; i < nev; i++) {
		int found = 0;

		for (int j = 0; j < ncol; j++)
			found += !strcmp(ev[i].src, col[j].src) && !strcmp(ev[i].dst, col[j].dst) &&
				 ev[i].sport == col[j].sport && ev[i].dport == col[j].dport &&
				 ev[i].proto == col[j].proto && ev[i].window == col[j].window &&
				 !strcmp(ev[i].cls, col[j].cls) && ev[i].class_id == col[j].class_id &&
				 ev[i].confidence_ppm == col[j].confidence_ppm &&
				 ev[i].stage == col[j].stage && ev[i].provisional == col[j].provisional &&
				 ev[i].model_id == col[j].model_id && ev[i].packets == col[j].packets &&
				 ev[i].octets == col[j].octets && ev[i].ifindex == col[j].ifindex &&
				 ev[i].out_ifindex == col[j].out_ifindex &&
				 (col[j].direction < 0 || ev[i].direction == col[j].direction) &&
				 ev[i].domain == col[j].domain;
		CHECKF(found == 1, "%s: %d records equal to the event %s:%ld > %s:%ld window %ld"
		       " %s %ld ppm stage %ld, %ld packets %ld octets, in %ld out %ld direction %ld"
		       " domain %ld", collector, found, ev[i].src, ev[i].sport, ev[i].dst, ev[i].dport,
		       ev[i].window, ev[i].cls, ev[i].confidence_ppm, ev[i].stage, ev[i].packets,
		       ev[i].octets, ev[i].ifindex, ev[i].out_ifindex, ev[i].direction, ev[i].domain);
	}
}

/* nfacctd's JSON lines (print plugin), as decisions. */
static int read_nfacctd(const char *path, struct exported *out, int max)
{
	char line[4096];
	json_error_t jerr;
	FILE *f = fopen(path, "r");
	int n = 0;

	while (f && n < max && fgets(line, sizeof(line), f)) {
		json_t *j = json_loads(line, 0, &jerr);
		struct exported *x = &out[n];
		const char *proto;

		if (!j)
			continue;
		memset(x, 0, sizeof(*x));
		snprintf(x->src, sizeof(x->src), "%s", json_string_value(json_object_get(j, "ip_src")));
		snprintf(x->dst, sizeof(x->dst), "%s", json_string_value(json_object_get(j, "ip_dst")));
		snprintf(x->cls, sizeof(x->cls), "%s",
			 json_string_value(json_object_get(j, "odeflow_class")));
		x->sport = (long)json_integer_value(json_object_get(j, "port_src"));
		x->dport = (long)json_integer_value(json_object_get(j, "port_dst"));
		proto = json_string_value(json_object_get(j, "ip_proto"));
		x->proto = proto && !strcmp(proto, "tcp") ? 6 : proto && !strcmp(proto, "udp") ? 17 : -1;
#define NF_NUMBER(field) atol(json_string_value(json_object_get(j, field)) ?: "-1")
		x->window = NF_NUMBER("odeflow_window");
		x->class_id = NF_NUMBER("odeflow_class_id");
		x->confidence_ppm = NF_NUMBER("odeflow_confidence_ppm");
		x->stage = NF_NUMBER("odeflow_stage");
		x->provisional = NF_NUMBER("odeflow_provisional");
		x->model_id = strtoul(json_string_value(json_object_get(j, "odeflow_model_id")) ?: "0",
				      NULL, 10);
#undef NF_NUMBER
		/* pmacct's own primitives: no configuration for these */
		x->packets = (long)json_integer_value(json_object_get(j, "packets"));
		x->octets = (long)json_integer_value(json_object_get(j, "bytes"));
		x->ifindex = (long)json_integer_value(json_object_get(j, "iface_in"));
		x->out_ifindex = (long)json_integer_value(json_object_get(j, "iface_out"));
		x->direction = -1; /* no primitive for flowDirection */
		x->domain = (long)json_integer_value(json_object_get(j, "export_proto_sysid"));
		json_decref(j);
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* ipfixDump's data records of the odeflow templates (tid 256 and 257), as
 * decisions: "(id) name : value" lines after each record header. */
static int read_ipfixdump(const char *dump, struct exported *out, int max)
{
	char line[512], name[64], value[256];
	FILE *f = fopen(dump, "r");
	struct exported *x = NULL;
	long domain = -1;
	int n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned tid;

		if (strstr(line, "observation domain id:")) {
			domain = atol(strstr(line, "observation domain id:") + 22);
			continue;
		}
		if (sscanf(line, " count: %*u tid: %u", &tid) == 1) {
			x = (tid == 256 || tid == 257) && n < max ? &out[n++] : NULL;
			if (x) {
				memset(x, 0, sizeof(*x));
				x->domain = domain;
			}
			continue;
		}
		if (!x || sscanf(line, " (%*[^)]) %63s : %255[^\n]", name, value) != 2)
			continue;
		if (!strcmp(name, "sourceIPv4Address") || !strcmp(name, "sourceIPv6Address"))
			snprintf(x->src, sizeof(x->src), "%.63s", value);
		else if (!strcmp(name, "destinationIPv4Address") || !strcmp(name, "destinationIPv6Address"))
			snprintf(x->dst, sizeof(x->dst), "%.63s", value);
		else if (!strcmp(name, "sourceTransportPort"))
			x->sport = atol(value);
		else if (!strcmp(name, "destinationTransportPort"))
			x->dport = atol(value);
		else if (!strcmp(name, "protocolIdentifier"))
			x->proto = atol(value);
		else if (!strcmp(name, "octetDeltaCount"))
			x->octets = atol(value);
		else if (!strcmp(name, "packetDeltaCount"))
			x->packets = atol(value);
		else if (!strcmp(name, "ingressInterface"))
			x->ifindex = atol(value);
		else if (!strcmp(name, "egressInterface"))
			x->out_ifindex = atol(value);
		else if (!strcmp(name, "flowDirection"))
			x->direction = atol(value);
		else if (!strcmp(name, "applicationName")) /* "(len: 4) Chat" */
			snprintf(x->cls, sizeof(x->cls), "%s", strchr(value, ')') ? strchr(value, ')') + 2 : "");
		else if (!strcmp(name, "odeflowClassId"))
			x->class_id = atol(value);
		else if (!strcmp(name, "odeflowConfidencePpm"))
			x->confidence_ppm = atol(value);
		else if (!strcmp(name, "odeflowStage"))
			x->stage = atol(value);
		else if (!strcmp(name, "odeflowModelId"))
			x->model_id = strtoul(value, NULL, 10);
		else if (!strcmp(name, "odeflowWindow"))
			x->window = atol(value);
		else if (!strcmp(name, "odeflowProvisional"))
			x->provisional = atol(value);
	}
	if (f)
		fclose(f);
	return n;
}

#define MAX_DECISIONS 256

/* The decisions of a short run: captures and sockets from tx. */
static void classify_some_traffic(uint16_t first_port)
{
	uint16_t sport;

	CHECK(replay("skype-conference-call.pcap", 2000) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(send_connection(first_port + i, &sport) == N);
}

/* The agent exporting to a collector that is up (named, to stop it when
 * the agent does not start): some traffic classified, then SIGINT. */
static bool export_some_decisions(const char *ipfix_opts, uint16_t first_port,
				  const char *collector)
{
	char opts[512];

	snprintf(opts, sizeof(opts), "--threshold 0 %s --events %s", ipfix_opts,
		 tmp_path("events.jsonl"));
	unlink(tmp_path("events.jsonl"));
	if (start_agent(opts)) {
		CHECKF(0, "the agent did not start");
		stop_collector(collector);
		return false;
	}
	classify_some_traffic(first_port);
	CHECK(stop_agent(SIGINT) == 0);
	return true;
}

static void load_model_config(struct model_config *cfg)
{
	struct model *m = NULL;
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	CHECKF(model_load(model_path, &m, err, sizeof(err)) == 0, "%s", err);
	if (m)
		*cfg = *model_config(m);
	model_free(m);
}

/* Over UDP to pmacct's nfacctd (its print plugin writes each record as
 * JSON): the records equal the events, field for field. */
static void test_ipfix_udp_to_nfacctd(void)
{
	static struct exported ev[MAX_DECISIONS], col[MAX_DECISIONS];
	struct model_config cfg;
	char opts[512];
	int nev, ncol;

	if (system("command -v nfacctd >/dev/null")) {
		SKIP("nfacctd missing (make deps: pmacct)");
		return;
	}
	load_model_config(&cfg);
	sh("printf '%%s\n' 'name=odeflow_class field_type=96 len=32 semantics=str'"
	   " 'name=odeflow_class_id field_type=32473:2 len=1 semantics=u_int'"
	   " 'name=odeflow_confidence_ppm field_type=32473:3 len=4 semantics=u_int'"
	   " 'name=odeflow_stage field_type=32473:4 len=1 semantics=u_int'"
	   " 'name=odeflow_model_id field_type=32473:5 len=4 semantics=u_int'"
	   " 'name=odeflow_window field_type=32473:6 len=2 semantics=u_int'"
	   " 'name=odeflow_provisional field_type=32473:7 len=1 semantics=u_int' > %s",
	   tmp_path("primitives.lst"));
	sh("printf '%%s\n' 'daemonize: false' 'nfacctd_ip: " TX_V4 "' 'nfacctd_port: 4739'"
	   " 'aggregate_primitives: %s' 'plugins: print' 'print_output: json'"
	   " 'print_output_file: %s' 'print_output_file_append: true' 'print_refresh_time: 1'"
	   " 'aggregate: src_host, dst_host, src_port, dst_port, proto, in_iface, out_iface,"
	   " export_proto_sysid,"
	   " odeflow_class,"
	   " odeflow_class_id, odeflow_confidence_ppm, odeflow_stage, odeflow_model_id,"
	   " odeflow_window, odeflow_provisional' > %s",
	   tmp_path("primitives.lst"), tmp_path("nfacctd.json"), tmp_path("nfacctd.conf"));
	snprintf(opts, sizeof(opts), "nfacctd -f %s", tmp_path("nfacctd.conf"));
	start_collector("nfacctd", opts);
	CHECKF(listening('u', 4739), "nfacctd does not listen");
	if (!export_some_decisions("--ipfix " TX_V4 ":4739", 7500, "nfacctd"))
		return;
	usleep(2500000); /* nfacctd prints its cache every second */
	stop_collector("nfacctd");
	nev = events_as_exported(&cfg, ev, MAX_DECISIONS);
	ncol = read_nfacctd(tmp_path("nfacctd.json"), col, MAX_DECISIONS);
	check_same(ev, nev, col, ncol, "nfacctd");
}

/* ipfixDump's reading of what a socat listener received over TCP. */
static int collected_over_tcp(struct exported *col, int max)
{
	if (sh("ipfixDump --rfc5610 --data --in %s > %s 2>&1", tmp_path("ipfix.bin"),
	       tmp_path("ipfixdump.txt")))
		return -1;
	return read_ipfixdump(tmp_path("ipfixdump.txt"), col, max);
}

static bool start_tcp_collector(int port)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "socat -u TCP-LISTEN:%d,bind=" TX_V4 ",reuseaddr CREATE:%s",
		 port, tmp_path("ipfix.bin"));
	start_collector("socat", cmd);
	return listening('t', port);
}

/* Over TCP, read back by libfixbuf's ipfixDump (which learns the odeflow
 * elements from the RFC 5610 records in the stream): the records equal the
 * events, field for field. */
static void test_ipfix_tcp_to_ipfixdump(void)
{
	static struct exported ev[MAX_DECISIONS], col[MAX_DECISIONS];
	struct model_config cfg;

	if (system("command -v ipfixDump socat >/dev/null")) {
		SKIP("ipfixDump or socat missing (make deps: libfixbuf-tools, socat)");
		return;
	}
	load_model_config(&cfg);
	CHECKF(start_tcp_collector(4740), "socat does not listen");
	if (!export_some_decisions("--ipfix " TX_V4 ":4740 --ipfix-transport tcp", 7600, "socat"))
		return;
	wait_collector_exit("socat"); /* the agent closed the connection */
	stop_collector("socat");
	check_same(ev, events_as_exported(&cfg, ev, MAX_DECISIONS), col,
		   collected_over_tcp(col, MAX_DECISIONS), "ipfixDump");
	if (harness_current_failed)
		sh("grep -v 'informationElement\\|privateEnterprise' %s | tail -150",
		   tmp_path("ipfixdump.txt"));
}

/* N datagrams from the rx end out to tx (egress at the agent's interface). */
static void send_out(uint16_t port)
{
	struct sockaddr_storage to;
	socklen_t len = make_addr(AF_INET, TX_V4, port, &to);
	int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rx = ns_socket(ns_tx, AF_INET, SOCK_DGRAM);

	CHECK(tx >= 0 && rx >= 0 && bind(rx, (struct sockaddr *)&to, len) == 0 &&
	      connect(tx, (struct sockaddr *)&to, len) == 0);
	send_udp(tx, N, 300);
	usleep(50000);
	CHECK(drain_socket(rx) == N);
	close(tx);
	close(rx);
}

/* With egress (tcx), both directions' windows become records: a window
 * seen leaving names its interface in egressInterface, with flowDirection
 * 1; one that arrived names it in ingressInterface. ipfixDump's reading
 * equals the events, field for field. */
static void test_ipfix_egress_records(void)
{
	static struct exported ev[MAX_DECISIONS], col[MAX_DECISIONS];
	struct model_config cfg;
	char opts[512];
	uint16_t sport;
	int nev, out = 0;

	if (system("command -v ipfixDump socat >/dev/null")) {
		SKIP("ipfixDump or socat missing (make deps: libfixbuf-tools, socat)");
		return;
	}
	if (!kernel_has_tcx()) {
		SKIP("no tcx egress here (kernel 6.6 or later)");
		return;
	}
	load_model_config(&cfg);
	CHECKF(start_tcp_collector(4742), "socat does not listen");
	snprintf(opts, sizeof(opts), "--hook tcx --threshold 0 --ipfix " TX_V4 ":4742 "
		 "--ipfix-transport tcp --events %s", tmp_path("events.jsonl"));
	unlink(tmp_path("events.jsonl"));
	if (start_agent(opts)) {
		stop_collector("socat");
		return;
	}
	for (int i = 0; i < 2; i++) {
		send_out((uint16_t)(7800 + i));
		CHECK(send_connection((uint16_t)(7810 + i), &sport) == N);
	}
	CHECK(stop_agent(SIGINT) == 0);
	wait_collector_exit("socat");
	stop_collector("socat");
	nev = events_as_exported(&cfg, ev, MAX_DECISIONS);
	for (int i = 0; i < nev; i++)
		out += ev[i].direction == 1;
	CHECKF(out >= 2 && nev - out >= 2, "%d egress and %d ingress events", out, nev - out);
	check_same(ev, nev, col, collected_over_tcp(col, MAX_DECISIONS), "ipfixDump");
}

/* A collector that is down holds up nothing: windows are classified and
 * their events written at once, their records dropped and counted; once
 * the collector is up the exporter connects again (after its backoff: 1 s,
 * then 2 s, ...) and what comes next reaches it, equal to its events. */
static void test_ipfix_collector_down(void)
{
	static struct exported ev[MAX_DECISIONS], col[MAX_DECISIONS];
	struct model_config cfg;
	char opts[512], said[128];
	uint16_t sport, port = 7700;
	int nev = 0, ncol = 0, down = 3;

	if (system("command -v ipfixDump socat >/dev/null")) {
		SKIP("ipfixDump or socat missing (make deps: libfixbuf-tools, socat)");
		return;
	}
	load_model_config(&cfg);
	unlink(tmp_path("ipfix.bin"));
	snprintf(opts, sizeof(opts), "--threshold 0 --ipfix " TX_V4 ":4741 --ipfix-transport tcp"
		 " --events %s", tmp_path("events.jsonl"));
	unlink(tmp_path("events.jsonl"));
	if (start_agent(opts)) {
		CHECKF(0, "the agent did not start");
		return;
	}
	for (int i = 0; i < down; i++, port++) {
		CHECK(send_connection(port, &sport) == N);
		CHECKF(has_event(sport, port), "no event with the collector down");
	}
	start_tcp_collector(4741);
	/* a connection every 300 ms until one reaches the collector */
	for (int t = 0; t < 30 && (ncol = collected_over_tcp(col, MAX_DECISIONS)) < 1; t++, port++) {
		CHECK(send_connection(port, &sport) == N);
		usleep(300000);
	}
	CHECKF(ncol >= 1, "no record reached the collector once it was up");
	CHECK(stop_agent(SIGINT) == 0);
	wait_collector_exit("socat");
	stop_collector("socat");
	nev = events_as_exported(&cfg, ev, MAX_DECISIONS);
	ncol = collected_over_tcp(col, MAX_DECISIONS);
	CHECKF(nev == port - 7700, "%d events for %d connections", nev, port - 7700);
	/* what the collector got is the newest events, the rest was dropped */
	check_same(ev + (nev - ncol), ncol, col, ncol, "ipfixDump after reconnect");
	snprintf(said, sizeof(said), "IPFIX: %d records exported, %d dropped,", ncol, nev - ncol);
	CHECKF(ncol < nev && file_contains(tmp_path("agent.err"), said), "the agent did not say '%s'",
	       said);
}

/* A UDP collector that is down (its port unreachable): the sends after
 * the kernel's ICMP answer fail, and are counted as failures and drops,
 * not as exported records; events go on. */
static void test_ipfix_udp_collector_down_is_counted(void)
{
	char opts[512], said[160];
	unsigned long exported = 0, dropped = 0, failed = 0;
	uint16_t sport;
	FILE *f;
	char line[512];
	int sent = 0;

	snprintf(opts, sizeof(opts), "--threshold 0 --ipfix " TX_V4 ":4743 --events %s",
		 tmp_path("events.jsonl"));
	unlink(tmp_path("events.jsonl"));
	if (start_agent(opts)) {
		CHECKF(0, "the agent did not start");
		return;
	}
	for (uint16_t port = 7800; port < 7806; port++, sent++) {
		CHECK(send_connection(port, &sport) == N);
		CHECKF(has_event(sport, port), "no event with the collector down");
		usleep(100000); /* each connection's records in a message of their own */
	}
	CHECK(stop_agent(SIGINT) == 0);
	f = fopen(tmp_path("agent.err"), "r");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "%*[^I]IPFIX: %lu records exported, %lu dropped, %lu failed sends", &exported,
		       &dropped, &failed);
	if (f)
		fclose(f);
	snprintf(said, sizeof(said), "%lu exported, %lu dropped, %lu failed sends", exported, dropped,
		 failed);
	CHECKF(failed >= 1 && dropped >= (unsigned long)sent - 1 && exported + dropped >= (unsigned long)sent,
	       "collector down over UDP: %s for %d connections", said, sent);
	CHECKF(!file_contains(tmp_path("agent.err"), "WARNING **"),
	       "a raw GLib warning in the agent's log");
}

/* The standard elements of the records, as Wireshark's IPFIX dissector
 * (tshark) reads them off the wire with no configuration of odeflow's
 * elements: for every event one record with its connection, interface,
 * the window's packets and octets, the class as applicationName, and the
 * observation domain asked for. */
struct standard_record {
	char src[64], dst[64], cls[32];
	long sport, dport, proto, ifindex, packets, octets, domain;
};

static int read_tshark(const char *path, struct standard_record *out, int max)
{
	char line[1 << 16];
	FILE *f = fopen(path, "r");
	int n = 0;

	/* one line per message: tab-separated fields, each a comma-separated
	 * list of one value per data record (the domain: one per message) */
	while (f && fgets(line, sizeof(line), f)) {
		char *fields[10], *save = NULL, *tok = strtok_r(line, "\t\n", &save);
		int nf = 0;

		for (; tok && nf < 10; tok = strtok_r(NULL, "\t\n", &save))
			fields[nf++] = tok;
		if (nf != 10)
			continue;
		char *lists[9], *lsave[9];
		for (int i = 0; i < 9; i++)
			lists[i] = strtok_r(fields[i + 1], ",", &lsave[i]);
		while (lists[0] && n < max) {
			struct standard_record *r = &out[n++];

			r->domain = atol(fields[0]);
			snprintf(r->src, sizeof(r->src), "%s", lists[0]);
			r->sport = atol(lists[1] ?: "-1");
			snprintf(r->dst, sizeof(r->dst), "%s", lists[2] ?: "");
			r->dport = atol(lists[3] ?: "-1");
			r->proto = atol(lists[4] ?: "-1");
			r->ifindex = atol(lists[5] ?: "-1");
			r->packets = atol(lists[6] ?: "-1");
			r->octets = atol(lists[7] ?: "-1");
			snprintf(r->cls, sizeof(r->cls), "%s", lists[8] ?: "");
			for (int i = 0; i < 9; i++)
				lists[i] = lists[i] ? strtok_r(NULL, ",", &lsave[i]) : NULL;
		}
	}
	if (f)
		fclose(f);
	return n;
}

static void test_ipfix_standard_elements_in_wireshark(void)
{
	static struct exported ev[MAX_DECISIONS];
	static struct standard_record col[MAX_DECISIONS];
	struct model_config cfg;
	int nev, ncol;

	if (system("command -v tshark tcpdump socat >/dev/null")) {
		SKIP("tshark, tcpdump or socat missing (make deps)");
		return;
	}
	load_model_config(&cfg);
	unlink(tmp_path("ipfix.pcap"));
	sh("ip netns exec %s timeout -s INT 30 tcpdump --immediate-mode -i %s -U -w %s udp port 4742 > %s 2>&1 &"
	   " echo $! > %s/tcpdump.pid", ns_tx, dev_tx, tmp_path("ipfix.pcap"),
	   tmp_path("tcpdump.log"), scratch_dir);
	CHECK(wait_for_text(tmp_path("tcpdump.log"), "listening on", 5000));
	start_collector("socat", "socat -u UDP-RECV:4742,bind=" TX_V4 " /dev/null");
	CHECKF(listening('u', 4742), "socat does not listen");
	expected_domain = 77;
	if (!export_some_decisions("--ipfix " TX_V4 ":4742 --ipfix-domain 77", 7900, "socat")) {
		expected_domain = -1;
		kill_from_pidfile("tcpdump", SIGINT);
		return;
	}
	usleep(300000);
	kill_from_pidfile("tcpdump", SIGINT);
	usleep(500000);
	stop_collector("socat");
	CHECK(sh("tshark -r %s -d udp.port==4742,cflow -Y cflow.appl_name -T fields -E occurrence=a"
		 " -e cflow.od_id -e cflow.srcaddr -e cflow.srcport -e cflow.dstaddr -e cflow.dstport"
		 " -e cflow.protocol -e cflow.inputint -e cflow.packets -e cflow.octets"
		 " -e cflow.appl_name > %s 2> %s", tmp_path("ipfix.pcap"), tmp_path("tshark.txt"),
		 tmp_path("tshark.err")) == 0);
	nev = events_as_exported(&cfg, ev, MAX_DECISIONS);
	expected_domain = -1;
	ncol = read_tshark(tmp_path("tshark.txt"), col, MAX_DECISIONS);
	/* every event has its record, and every record equals an event (the
	 * capture runs in immediate mode: without it, what tcpdump holds in
	 * an unfilled ring block when it is stopped is lost) */
	CHECKF(nev > 0 && ncol == nev, "tshark: %d records for %d events", ncol, nev);
	for (int j = 0; j < ncol; j++) {
		int found = 0;

		for (int i = 0; i < nev; i++)
			found += !strcmp(ev[i].src, col[j].src) && !strcmp(ev[i].dst, col[j].dst) &&
				 ev[i].sport == col[j].sport && ev[i].dport == col[j].dport &&
				 ev[i].proto == col[j].proto && ev[i].ifindex == col[j].ifindex &&
				 ev[i].packets == col[j].packets && ev[i].octets == col[j].octets &&
				 !strcmp(ev[i].cls, col[j].cls) && col[j].domain == 77;
		CHECKF(found >= 1, "tshark: the record %s:%ld > %s:%ld %s, %ld packets %ld octets, domain"
		       " %ld equals no event", col[j].src, col[j].sport, col[j].dst, col[j].dport,
		       col[j].cls, col[j].packets, col[j].octets, col[j].domain);
	}
	if (ncol < nev)
		sh("grep IPFIX %s", tmp_path("agent.err"));
	if (harness_current_failed)
		sh("head -c 2000 %s; cat %s", tmp_path("tshark.txt"), tmp_path("tshark.err"));
}

/* --ipfix that cannot work: one line, nothing attached; exit status 2 for
 * a value that does not parse, 1 for a name that does not resolve. */
static void test_bad_collector(void)
{
	static const struct {
		const char *opt;
		int status;
		const char *message;
	} cases[] = {
		{ "--ipfix " TX_V4, 2, "is not HOST:PORT" },
		{ "--ipfix no-such-collector.invalid:4739", 1, "does not resolve" },
		{ "--ipfix [fd00:200::1:4739", 2, "is not [IPv6]:PORT" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_refused(cases[i].opt, cases[i].status, cases[i].message);
	CHECK(run_refused("--ipfix " TX_V4 ":4739 --ipfix-transport sctp", "bad.err") == 2);
	CHECK(file_contains(tmp_path("bad.err"), "--ipfix-transport 'sctp' is not udp or tcp"));
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
	RUN(test_healthz_follows_the_drain);
	RUN(test_stuck_scrapers_never_stall_the_agent);
	RUN(test_bad_metrics_address);
	RUN(test_ipfix_udp_to_nfacctd);
	RUN(test_ipfix_tcp_to_ipfixdump);
	RUN(test_ipfix_egress_records);
	RUN(test_ipfix_collector_down);
	RUN(test_ipfix_udp_collector_down_is_counted);
	RUN(test_ipfix_standard_elements_in_wireshark);
	RUN(test_bad_collector);
	return harness_done();
}
