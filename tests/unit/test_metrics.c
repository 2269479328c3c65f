/* SPDX-License-Identifier: MIT */
/* /metrics: the rendering of a snapshot (checked by promtool, Prometheus's
 * own checker, when it is installed), the HTTP server on loopback (IPv4 and
 * IPv6) and the addresses it refuses. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/metrics.h"
#include "agent/metrics_http.h"
#include "loader/xdp_loader.h"
#include "harness.h"

#define MONITORING_DIR "tools/monitoring"

static const char *const classes[] = { "VoIP", "Video", "File \"Transfer\"" };

static int max_windows = 3;

static void fill(void *ctx, struct metrics_snapshot *s)
{
	struct decision d[3] = { { .class_id = 0, .stage = 1 }, { .class_id = 2, .stage = 2 },
				 { .class_id = 2, .stage = 3 } };

	(void)ctx;
	s->max_windows = max_windows;
	s->attached = true;
	s->heartbeat_age = 0.05;
	s->iface = "eth0";
	s->hook = "xdp";
	s->model_path = "/usr/share/odeflow/iscx-reg-20.safetensors";
	s->arch = "odernn";
	s->model_id = 3414289948u;
	s->window_n = 20;
	s->num_classes = 3;
	for (int k = 0; k < 3; k++)
		s->class_names[k] = classes[k];
	s->start_time = 1700000000.5;
	s->windows_classified = 3;
	agent_counts_decisions(&s->counts, d, 3);
	agent_counts_batch(&s->counts, 1);
	agent_counts_batch(&s->counts, 2);
	latency_add(&s->latency, 40);    /* 40 us */
	latency_add(&s->latency, 3000);  /* 3 ms */
	s->have_ipfix = true;
	s->have_xdp = true;
	s->xdp[CNT_PACKETS] = 1234;
	s->xdp[CNT_TCP] = 1000;
	s->xdp[CNT_UDP] = 234;
	s->xdp[CNT_RING_DROPS] = 5;
	s->xdp[CNT_ACTION_DROP] = 77;
	s->have_class_actions = true;
	s->class_actions[2 * OUTCOME_COUNT + OUTCOME_DROP] = (struct class_traffic){ 77, 7700 };
	s->have_census = true;
	s->flows = (struct map_census){ .entries = 10, .max_entries = 1024 };
	s->verdicts = (struct map_census){ .entries = 6, .max_entries = 1024 };
	s->verdicts.connections[1][CENSUS_FINAL] = 4;
	s->verdicts.connections[1][CENSUS_PROVISIONAL] = 2;
}

static bool healthy(void *ctx, char *why, size_t len)
{
	(void)ctx;
	snprintf(why, len, "ok");
	return true;
}

static char *render(size_t *len)
{
	struct metrics_snapshot *s = calloc(1, sizeof(*s));
	char *text;

	fill(NULL, s);
	text = metrics_render(s, len);
	free(s);
	return text;
}

static void test_render(void)
{
	size_t len;
	char *text = render(&len);

	CHECK(text && len == strlen(text));
	if (!text)
		return;
	CHECK(strstr(text, "odeflow_windows_classified_total 3\n"));
	CHECK(strstr(text, "odeflow_verdicts_total{class=\"VoIP\",stage=\"1\"} 1\n"));
	CHECK(strstr(text, "odeflow_verdicts_total{class=\"File \\\"Transfer\\\"\",stage=\"2\"} 1\n"));
	CHECK(strstr(text, "odeflow_verdicts_total{class=\"File \\\"Transfer\\\"\",stage=\"3\"} 1\n"));
	/* no series for stages --max-windows never reaches */
	CHECK(!strstr(text, "stage=\"4\"") && !strstr(text, "stage=\"8+\""));
	CHECK(strstr(text, "odeflow_policy_packets_total{class=\"File \\\"Transfer\\\"\",action=\"drop\"} 77\n"));
	CHECK(strstr(text, "odeflow_policy_bytes_total{class=\"File \\\"Transfer\\\"\",action=\"drop\"} 7700\n"));
	CHECK(strstr(text, "odeflow_policy_packets_total{class=\"VoIP\",action=\"rate_limit_drop\"} 0\n"));
	/* one family of packets by kind, no action_* duplicates of the policy's */
	CHECK(strstr(text, "odeflow_xdp_packets_total{kind=\"tcp\"} 1000\n"));
	CHECK(strstr(text, "odeflow_xdp_packets_total{kind=\"udp\"} 234\n"));
	CHECK(!strstr(text, "\nodeflow_xdp_packets_total ") && !strstr(text, "odeflow_xdp_tcp_total"));
	CHECK(!strstr(text, "action_drop") && !strstr(text, "odeflow_xdp_action"));
	CHECK(strstr(text, "odeflow_xdp_ring_drops_total 5\n"));
	/* every counter with a HELP of its own */
	CHECKF(!strstr(text, "The sampler's counter"), "a counter without its HELP: %s",
	       strstr(text, "The sampler's counter") ?: "");
	CHECK(strstr(text, "odeflow_connections{class=\"Video\",state=\"final\"} 4\n"));
	CHECK(strstr(text, "odeflow_connections{class=\"Video\",state=\"provisional\"} 2\n"));
	CHECK(strstr(text, "odeflow_map_entries{map=\"verdicts\"} 6\n"));
	CHECK(strstr(text, "odeflow_map_max_entries{map=\"flows\"} 1024\n"));
	CHECK(strstr(text, "odeflow_heartbeat_age_seconds 0.050\n"));
	CHECK(strstr(text, "odeflow_sampler_attached 1\n"));
	CHECK(strstr(text, "odeflow_model_info{model_id=\"3414289948\",arch=\"odernn\",window=\"20\""));
	CHECK(strstr(text, "odeflow_build_info{version=\""));
	/* histograms: cumulative buckets, sum and count */
	CHECK(strstr(text, "odeflow_batch_windows_bucket{le=\"1\"} 1\n"));
	CHECK(strstr(text, "odeflow_batch_windows_bucket{le=\"2\"} 2\n"));
	CHECK(strstr(text, "odeflow_batch_windows_sum 3\n"));
	CHECK(strstr(text, "odeflow_verdict_latency_seconds_bucket{le=\"5e-05\"} 1\n"));
	CHECK(strstr(text, "odeflow_verdict_latency_seconds_bucket{le=\"0.001\"} 1\n"));
	CHECK(strstr(text, "odeflow_verdict_latency_seconds_bucket{le=\"0.005\"} 2\n"));
	CHECK(strstr(text, "odeflow_verdict_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
	CHECK(strstr(text, "odeflow_verdict_latency_seconds_sum 0.003040\n"));
	CHECK(strstr(text, "odeflow_verdict_latency_seconds_count 2\n"));
	free(text);
	/* --max-windows past the stages counted: the last one says so */
	max_windows = 12;
	text = render(&len);
	CHECK(text && strstr(text, "odeflow_verdicts_total{class=\"VoIP\",stage=\"8+\"} 0\n"));
	CHECK(text && !strstr(text, "stage=\"8\""));
	free(text);
	max_windows = 3;
}

/* Every metric the shipped alert rules and Grafana dashboard name is one
 * the agent serves (a histogram by its _bucket, _sum and _count). */
static void check_names_in(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char buf[1 << 16], name[128], family[160];
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	int found = 0;

	CHECKF(f != NULL, "%s: %s", path, strerror(errno));
	if (f)
		fclose(f);
	buf[n] = '\0';
	for (char *p = buf; (p = strstr(p, "odeflow_")); p += strlen(name)) {
		size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
		static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if (p > buf && (p[-1] == '/' || p[-1] == '-' || p[-1] == '.'))
			continue; /* a file or a path, not a metric */
		for (size_t i = 0; i < 3; i++) {
			size_t sl = strlen(suffixes[i]);

			if (len > sl && !strcmp(name + len - sl, suffixes[i]))
				name[len - sl] = '\0';
		}
		snprintf(family, sizeof(family), "# TYPE %s ", name);
		CHECKF(strstr(text, family), "%s names %s, which the agent does not serve", path, name);
		found++;
	}
	CHECKF(found > 5, "%s: %d metric names", path, found);
}

static void test_alerts_and_dashboard_name_served_metrics(void)
{
	size_t len;
	char *text = render(&len);

	if (!text)
		return;
	check_names_in(MONITORING_DIR "/odeflow-alerts.yml", text);
	check_names_in(MONITORING_DIR "/odeflow-alerts.test.yml", text);
	check_names_in(MONITORING_DIR "/grafana-odeflow.json", text);
	free(text);
}

/* promtool check metrics: the exposition format and Prometheus's naming
 * conventions (exit 0 and nothing printed). */
static void test_promtool_accepts_it(void)
{
	char path[] = "/tmp/odeflow-test-metrics-XXXXXX", cmd[256], out[1024] = "";
	size_t len, got;
	char *text;
	FILE *f, *p;
	int fd, rc;

	if (system("command -v promtool >/dev/null 2>&1")) {
		SKIP("promtool is not installed (make deps)");
		return;
	}
	text = render(&len);
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	CHECK(text && f && fwrite(text, 1, len, f) == len);
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	got = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	out[got] = '\0';
	rc = p ? pclose(p) : -1;
	CHECKF(rc == 0 && got == 0, "promtool (status %d): %s", rc, out);
	unlink(path);
	free(text);
}

/* A free loopback port of this family (bound, read back, released). */
static int free_port(int family)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&ss, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					       : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* GET path from a loopback server; the whole response in out. */
static int http_get(int family, int port, const char *path, char *out, size_t outlen)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	char req[256];
	size_t n = 0;
	ssize_t r;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 5 };

	if (family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	} else {
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: test\r\n\r\n", path);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	while (n < outlen - 1 && (r = read(fd, out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd);
	return 0;
}

static void serve(int family, const char *fmt)
{
	static char response[1 << 17];
	struct metrics_server *m;
	char addr[64], err[256], want[64];
	int port = free_port(family);

	snprintf(addr, sizeof(addr), fmt, port);
	if (metrics_server_start(addr, fill, healthy, NULL, &m, err, sizeof(err))) {
		CHECKF(0, "%s: %s", addr, err);
		return;
	}
	snprintf(want, sizeof(want), family == AF_INET ? "127.0.0.1:%d" : "[::1]:%d", port);
	CHECKF(!strcmp(metrics_server_address(m), want), "listens on %s", metrics_server_address(m));
	CHECK(http_get(family, port, "/metrics", response, sizeof(response)) == 0);
	CHECKF(!strncmp(response, "HTTP/1.0 200", 12) || !strncmp(response, "HTTP/1.1 200", 12),
	       "%.40s", response);
	CHECK(strstr(response, "Content-Type: text/plain; version=0.0.4"));
	CHECK(strstr(response, "odeflow_xdp_packets_total{kind=\"tcp\"} 1000\n"));
	CHECK(http_get(family, port, "/healthz", response, sizeof(response)) == 0);
	CHECKF(strstr(response, " 200 ") && strstr(response, "\r\n\r\nok\n"), "%.200s", response);
	CHECK(http_get(family, port, "/", response, sizeof(response)) == 0);
	CHECK(strstr(response, " 404 "));
	/* the port is taken now */
	CHECK(metrics_server_start(addr, fill, healthy, NULL, &(struct metrics_server *){ NULL }, err,
				   sizeof(err)) == -1);
	CHECKF(strstr(err, "Address already in use"), "%s", err);
	metrics_server_stop(m);
}

static void test_serves_ipv4(void)
{
	serve(AF_INET, "127.0.0.1:%d");
}

static void test_serves_ipv6(void)
{
	serve(AF_INET6, "[::1]:%d");
}

static void test_bad_addresses(void)
{
	static const struct {
		const char *addr, *message;
	} cases[] = {
		{ "9464", "is not HOST:PORT" },
		{ "::1:9464", "is not HOST:PORT" },
		{ "[::1]9464", "is not [IPv6]:PORT" },
		{ "127.0.0.1:", "port must be 1..65535" },
		{ "127.0.0.1:0", "port must be 1..65535" },
		{ "127.0.0.1:99999", "port must be 1..65535" },
		{ "127.0.0.1:94x", "port must be 1..65535" },
		{ ":9464", "has no host" },
		/* a name that does not resolve is tried by the live test, inside
		 * its namespaces: here the lookup would leave the machine */
	};
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct metrics_server *m = NULL;

		err[0] = '\0';
		CHECK(metrics_server_start(cases[i].addr, fill, healthy, NULL, &m, err, sizeof(err)) == -1);
		CHECK(m == NULL);
		CHECKF(strstr(err, cases[i].message), "'%s': %s", cases[i].addr, err);
	}
}

/* A running agent's snapshot (metrics_fill) lists the outcome Unknown after
 * the model's classes: its verdicts are counted and shown under its name,
 * while the model's info keeps the model's own class count. */
static void test_unknown_is_one_more_class(void)
{
	struct model_config cfg;
	struct agent_counts counts = { 0 };
	struct latency_hist lat = { 0 };
	struct metrics_source src = { .iface = "eth0", .hook = "xdp", .model_path = "m",
				       .model = &cfg, .max_windows = 1, .counts = &counts,
				       .latency = &lat, .counters_fd = -1, .class_actions_fd = -1,
				       .flows_fd = -1, .verdicts_fd = -1 };
	struct decision d = { .class_id = 5, .unknown = true, .stage = 1 };
	struct metrics_snapshot *s = calloc(1, sizeof(*s));
	size_t len;
	char *text;

	model_config_defaults(ARCH_ODERNN, &cfg);
	agent_counts_decisions(&counts, &d, 1);
	metrics_fill(&src, s);
	CHECK(s->num_classes == 6 && !strcmp(s->class_names[5], "Unknown"));
	text = metrics_render(s, &len);
	CHECK(text && strstr(text, "odeflow_verdicts_total{class=\"Unknown\",stage=\"1\"} 1\n"));
	CHECK(text && strstr(text, "odeflow_verdicts_total{class=\"Browsing\",stage=\"1\"} 0\n"));
	CHECK(text && strstr(text, ",classes=\"5\","));
	free(text);
	free(s);
}

int main(void)
{
	RUN(test_render);
	RUN(test_unknown_is_one_more_class);
	RUN(test_promtool_accepts_it);
	RUN(test_alerts_and_dashboard_name_served_metrics);
	RUN(test_serves_ipv4);
	RUN(test_serves_ipv6);
	RUN(test_bad_addresses);
	return harness_done();
}
