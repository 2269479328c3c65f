// SPDX-License-Identifier: MIT
/* Equivalence of the live path and `odeflow classify`. Two namespaces this
 * test creates are joined by a veth pair; the agent (`odeflow run`) watches
 * the rx end while tcpdump records it; UDP captures from tests/data/pcaps,
 * rewritten into 10.200.0.0/16 without their IPv6 packets, are replayed
 * into the tx end, and a socket in the tx namespace sends UDP over IPv6 to
 * the rx namespace's own address. Then `odeflow classify` reads tcpdump's
 * recording. Both
 * must report the same flow directions with the same sizes and times within
 * 1 ms, and each side's class and confidence must be the model's answer
 * for the window its connection was decided on, as that side saw its
 * packets (confidence within 1e-4): XDP's clock and
 * tcpdump's differ by tens of microseconds on a loaded machine, which can
 * move a confidence by more than 1e-4. Threshold 0: only
 * first windows, the part where the offline and live paths must agree
 * exactly (re-armed live windows start after the decision's latency).
 * UDP only: with XDP on a veth, GRO merges TCP segments before tcpdump sees
 * them, while the sampler sees each frame.
 *
 * Bounded: every command under timeout(1), the whole test under an alarm;
 * the agent and tcpdump are stopped by their pids and the namespaces
 * deleted on every exit path. Needs root; skipped otherwise. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "engine/model.h"
#include "netns.h"

/* A scratch file name where an argv wants a char *. */
#define TMP(name) ((char *)tmp_path(name))

int cmd_classify(int argc, char **argv);

#define N 20
#define TEST_SECONDS 100
#define REPLAY_PPS 200
#define MAX_EVENTS 256

extern char **environ;

static const char *odeflow_bin;
static pid_t agent_pid = -1, tcpdump_pid = -1;
static const char *skip_reason;

/* Starts argv in the background, its output into log; returns its pid. */
static pid_t spawn(char *const argv[], const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* SIGINT, then SIGKILL after two seconds; reaps it. */
static void stop(pid_t *pid)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, SIGINT);
	for (int i = 0; i < 20; i++) {
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			*pid = -1;
			return;
		}
		usleep(100000);
	}
	kill(*pid, SIGKILL);
	waitpid(*pid, &status, 0);
	*pid = -1;
}

/* Before the namespaces go: the agent and tcpdump. */
static void stop_processes(void)
{
	stop(&agent_pid);
	stop(&tcpdump_pid);
}

/* IPv6 between the namespaces' own addresses: N + N / 2 UDP datagrams of
 * growing sizes from a socket made in the tx namespace, 5 ms apart. */
static int send_ipv6(void)
{
	struct sockaddr_storage to;
	socklen_t len = make_addr(AF_INET6, RX_V6, 5006, &to);
	char payload[1200] = { 0 };
	int fd = tx_socket(AF_INET6, SOCK_DGRAM), sent = 0;

	if (fd < 0)
		return -1;
	for (int i = 0; i < N + N / 2; i++) {
		sent += sendto(fd, payload, 20 + 37 * i, 0, (struct sockaddr *)&to, len) > 0;
		usleep(5000);
	}
	close(fd);
	return sent == N + N / 2 ? 0 : -1;
}

static int make_model(const char *path)
{
	struct model_config cfg;
	struct model *m;
	char err[256];
	int rc;

	/* the shipped architecture (ISCX classes, N = 20), smaller: a test needs no accuracy */
	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.hidden = 16;
	cfg.ode_hidden = 16;
	rc = model_create(&cfg, 11, &m, err, sizeof(err)) || model_save(m, path, err, sizeof(err));
	if (rc)
		printf("  model: %s\n", err);
	else
		model_free(m);
	return rc;
}

/* Polls until the shell condition holds, for at most harness_ms(plain_ms):
 * the milliseconds it took, or -1. */
static double wait_for(const char *cond, int plain_ms)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s >/dev/null 2>&1", cond);
	return WAIT_UNTIL(system(cmd) == 0, plain_ms);
}

struct events {
	int n;
	json_t *e[MAX_EVENTS];
};

static void load_events(const char *path, struct events *ev)
{
	FILE *f = fopen(path, "r");
	char line[8192];

	ev->n = 0;
	while (f && fgets(line, sizeof(line), f) && ev->n < MAX_EVENTS) {
		json_t *e = json_loads(line, 0, NULL);

		if (json_is_object(e))
			ev->e[ev->n++] = e;
		else
			json_decref(e);
	}
	if (f)
		fclose(f);
}

static void free_events(struct events *ev)
{
	for (int i = 0; i < ev->n; i++)
		json_decref(ev->e[i]);
	ev->n = 0;
}

static bool same_field(json_t *a, json_t *b, const char *field)
{
	return json_equal(json_object_get(a, field), json_object_get(b, field));
}

/* The live event of the same direction and window. */
static json_t *find_event(const struct events *ev, json_t *want)
{
	static const char *const key[] = { "src", "dst", "sport", "dport", "proto", "window" };

	for (int i = 0; i < ev->n; i++) {
		bool same = true;

		for (size_t k = 0; k < sizeof(key) / sizeof(key[0]) && same; k++)
			same = same_field(ev->e[i], want, key[k]);
		if (same)
			return ev->e[i];
	}
	return NULL;
}

/* The model's class and confidence for the windows n events show (their
 * sizes and times), as the cascade averages them: the top class of the
 * mean log-probability, renormalised. */
static void model_answer(const struct model *m, json_t *const *e, int n, const char **cls,
			 double *confidence)
{
	struct model_ws *ws = model_ws_new(m, 1);
	float sizes[N], logprobs[ODEFLOW_MAX_CLASSES];
	double times[N], mean[ODEFLOW_MAX_CLASSES] = { 0 }, norm = 0;
	int best = 0, k, classes = model_config(m)->num_classes;
	bool ok = ws != NULL;

	for (int w = 0; w < n && ok; w++) {
		for (int i = 0; i < N; i++) {
			sizes[i] = (float)json_integer_value(json_array_get(json_object_get(e[w], "sizes"), i));
			times[i] = json_integer_value(json_array_get(json_object_get(e[w], "ts_us"), i)) * 1e-6;
		}
		ok = !model_classify(m, ws, 1, sizes, times, logprobs);
		for (k = 0; k < classes; k++)
			mean[k] += logprobs[k] / n;
	}
	*confidence = NAN;
	*cls = "?";
	if (ok) {
		for (k = 1; k < classes; k++)
			best = mean[k] > mean[best] ? k : best;
		for (k = 0; k < classes; k++)
			norm += exp(mean[k] - mean[best]);
		*confidence = 1 / norm;
		*cls = model_config(m)->class_names[best];
	}
	model_ws_free(ws);
}

/* The connection's first event among ev (either direction): the window its
 * stage-1 decision came from. */
static json_t *connection_first(const struct events *ev, json_t *e)
{
	for (int i = 0; i < ev->n; i++) {
		json_t *f = ev->e[i];
		bool same = same_field(f, e, "src") && same_field(f, e, "dst") &&
			    same_field(f, e, "sport") && same_field(f, e, "dport");
		bool reverse = json_equal(json_object_get(f, "src"), json_object_get(e, "dst")) &&
			       json_equal(json_object_get(f, "dst"), json_object_get(e, "src")) &&
			       json_equal(json_object_get(f, "sport"), json_object_get(e, "dport")) &&
			       json_equal(json_object_get(f, "dport"), json_object_get(e, "sport"));

		if (same_field(f, e, "proto") && (same || reverse))
			return f;
	}
	return e;
}

/* The event's class and confidence are the model's answer for the windows
 * its connection was decided on (threshold 0: its first, of either
 * direction, among the same side's events, and the other direction's first
 * when the event is that one). */
static void check_answer(const struct model *m, const struct events *ev, json_t *e,
			 const char *side, const char *text, double *worst)
{
	json_t *windows[2] = { connection_first(ev, e), e };
	const char *cls;
	double confidence, d;

	model_answer(m, windows, windows[0] == e ? 1 : 2, &cls, &confidence);
	d = fabs(json_real_value(json_object_get(e, "confidence")) - confidence);
	CHECKF(!strcmp(json_string_value(json_object_get(e, "class")), cls) && d <= 1e-4,
	       "%s: not the model's answer (%s, %.6f) for its connection's windows: %s", side, cls,
	       confidence, text);
	*worst = d > *worst || isnan(d) ? d : *worst;
}

static void compare(const struct events *live, const struct events *offline, const struct model *m)
{
	long long max_dt = 0;
	double max_dconf = 0, max_answer = 0;

	CHECKF(live->n == offline->n, "%d live events, %d offline", live->n, offline->n);
	for (int i = 0; i < offline->n; i++) {
		json_t *o = offline->e[i], *l = find_event(live, o);
		char *text = json_dumps(o, JSON_COMPACT);
		double dconf;

		CHECKF(l != NULL, "no live event for %s", text);
		if (l) {
			json_t *lt = json_object_get(l, "ts_us"), *ot = json_object_get(o, "ts_us");

			CHECKF(same_field(l, o, "sizes"), "sizes differ: %s", text);
			CHECK(json_array_size(lt) == N && json_array_size(ot) == N);
			for (size_t j = 0; j < json_array_size(ot); j++) {
				long long dt = llabs(json_integer_value(json_array_get(lt, j)) -
						     json_integer_value(json_array_get(ot, j)));

				CHECKF(dt <= 1000, "packet %zu time differs by %lld us: %s", j, dt, text);
				max_dt = dt > max_dt ? dt : max_dt;
			}
			check_answer(m, live, l, "live", text, &max_answer);
			check_answer(m, offline, o, "offline", text, &max_answer);
			dconf = fabs(json_real_value(json_object_get(l, "confidence")) -
				     json_real_value(json_object_get(o, "confidence")));
			max_dconf = dconf > max_dconf ? dconf : max_dconf;
		}
		free(text);
	}
	printf("  %d directions; largest differences: %lld us, confidence %.2g live against "
	       "offline, %.2g from the model's answer\n", offline->n, max_dt, max_dconf, max_answer);
}

/* Rewrites a capture for replay: IPv4 only, addresses in 10.200.0.0/16. */
static int prepare_replay(const char *capture, const char *out)
{
	return sh("tools/rewrite_capture.sh %s %s", capture, out);
}

/* The agent and `odeflow classify` (the same --skip) on what tcpdump
 * recorded on the agent's interface. */
static void live_equals_offline(const char *skip)
{
	const char *captures[] = { "tests/data/pcaps/skype-conference-call.pcap",
				   "tests/data/pcaps/youtube_quic.pcap" };
	struct events live, offline;
	struct model *model;
	char cond[256], err[256];
	int saved, rc;

	if (skip_reason) {
		SKIP(skip_reason);
		return;
	}
	if (make_model(TMP("model.safetensors"))) {
		CHECKF(0, "setup failed");
		return;
	}
	for (size_t c = 0; c < sizeof(captures) / sizeof(captures[0]); c++) {
		char name[32];

		snprintf(name, sizeof(name), "replay%zu.pcap", c);
		if (prepare_replay(captures[c], TMP(name))) {
			CHECKF(0, "cannot prepare %s", captures[c]);
			return;
		}
	}
	tcpdump_pid = spawn((char *[]){ "/usr/bin/timeout", "60", "ip", "netns", "exec", ns_rx,
					"tcpdump", "-i", dev_rx, "-U", "-n", "-w",
					TMP("recorded.pcap"), NULL }, TMP("tcpdump.log"));
	snprintf(cond, sizeof(cond), "grep -q 'listening on' %s", TMP("tcpdump.log"));
	CHECK(tcpdump_pid > 0);
	CHECK_TOOK("tcpdump's start", wait_for(cond, 10000), 10000);
	agent_pid = spawn((char *[]){ "/usr/bin/timeout", "60", "ip", "netns", "exec", ns_rx,
				      (char *)odeflow_bin, "run", "--iface", dev_rx, "--model",
				      TMP("model.safetensors"), "--events", TMP("live.jsonl"),
				      "--threshold", "0", "--skip", (char *)skip, "--quiet", NULL },
			  TMP("agent.log"));
	snprintf(cond, sizeof(cond), "ip -n %s link show %s | grep -q xdp", ns_rx, dev_rx);
	CHECK(agent_pid > 0);
	CHECK_TOOK("the agent's attach", wait_for(cond, 20000), 20000);
	for (size_t c = 0; c < sizeof(captures) / sizeof(captures[0]); c++) {
		char name[32];

		snprintf(name, sizeof(name), "replay%zu.pcap", c);
		CHECK(sh("ip netns exec %s timeout 30 tcpreplay -q --pps=%d -i %s %s >/dev/null 2>&1",
			 ns_tx, REPLAY_PPS, dev_tx, TMP(name)) == 0);
	}
	CHECKF(send_ipv6() == 0, "sending IPv6 datagrams from the tx namespace");
	/* tcpdump writes what it has read when stopped, not what the kernel
	 * still holds for it: on a busy machine the last datagrams were lost
	 * from the recording. Wait until they are in it. */
	snprintf(cond, sizeof(cond), "test $(tcpdump -r %s -n 'ip6 and udp' 2>/dev/null | wc -l) -ge %d",
		 TMP("recorded.pcap"), N + N / 2);
	CHECK_TOOK("tcpdump's recording of the IPv6 datagrams", wait_for(cond, 10000), 10000);
	stop(&tcpdump_pid);

	fflush(stdout);
	saved = dup(1);
	dup2(open(TMP("offline.jsonl"), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
	rc = cmd_classify(8, (char *[]){ "classify", "--model", TMP("model.safetensors"),
					 "--threshold", "0", "--skip", (char *)skip, TMP("recorded.pcap"),
					 NULL });
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	CHECK(rc == 0);
	/* the agent decides the last windows a little after their packets */
	snprintf(cond, sizeof(cond), "test $(wc -l < %s) -ge $(wc -l < %s)", TMP("live.jsonl"),
		 TMP("offline.jsonl"));
	CHECK_TOOK("the agent's last decisions", wait_for(cond, 5000), 5000);
	stop(&agent_pid);

	load_events(TMP("live.jsonl"), &live);
	load_events(TMP("offline.jsonl"), &offline);
	CHECKF(offline.n >= 5, "only %d offline events", offline.n);
	for (int i = 0; offline.n < 5 && i < offline.n; i++) { /* which direction was short */
		char *text = json_dumps(offline.e[i], JSON_COMPACT);

		printf("  offline: %.160s\n", text);
		free(text);
	}
	if (model_load(TMP("model.safetensors"), &model, err, sizeof(err)) == 0) {
		compare(&live, &offline, model);
		model_free(model);
	} else {
		CHECKF(0, "%s", err);
	}
	if (harness_current_failed)
		sh("head -20 %s %s", TMP("agent.log"), TMP("tcpdump.log"));
	free_events(&live);
	free_events(&offline);
}

static void test_live_equals_offline(void)
{
	live_equals_offline("0");
}

/* --skip 5: each direction's window is its packets 6..N+5, live and offline. */
static void test_live_equals_offline_after_skip(void)
{
	live_equals_offline("5");
}

int main(int argc, char **argv)
{
	static char bin[512];
	const char *slash;

	(void)argc;
	if (!harness_is_root())
		skip_reason = "needs root (namespaces, XDP)";
	else if (system("(command -v tcpdump && command -v tcpreplay && command -v tcprewrite)"
			" >/dev/null 2>&1"))
		skip_reason = "tcpdump, tcpreplay or tcprewrite is missing";
	if (skip_reason) {
		RUN(test_live_equals_offline);
		RUN(test_live_equals_offline_after_skip);
		return harness_done();
	}
	/* BUILD/tests/test_classify_live -> BUILD/odeflow */
	slash = strstr(argv[0], "/tests/");
	snprintf(bin, sizeof(bin), "%.*s/odeflow", slash ? (int)(slash - argv[0]) : 1,
		 slash ? argv[0] : ".");
	odeflow_bin = bin;
	netns_before_cleanup = stop_processes;
	if (setup_namespaces("test_classify_live", TEST_SECONDS)) {
		printf("FAIL test_classify_live: could not set up the namespaces and veth pair\n");
		return 1;
	}
	RUN(test_live_equals_offline);
	RUN(test_live_equals_offline_after_skip);
	return harness_done();
}
