/* SPDX-License-Identifier: MIT */
/* The agent end to end: `odeflow run` on the rx end of a veth pair between
 * two namespaces this test creates, real traffic from the tx end (captures
 * rewritten into 10.200.0.0/16 and replayed with tcpreplay, iperf3 over IPv4
 * and IPv6, and sockets of this test), tcpdump recording the same interface.
 * Checked: one first-window event per direction with N packets, sizes equal
 * to tcpdump's packet for packet and times within 1 ms; verdicts in the
 * pinned map; drop, mark and rate-limit policies set live; SIGHUP reloads;
 * the cascade's second window; --keep, fail-open and take-over; clean
 * errors; malformed captures. The model is a freshly initialised one: this
 * tests the data path, not accuracy. Needs root; skipped otherwise. */
#include <netinet/ip.h>

#include "agent_harness.h"
#include "tcpdump_view.h"

#define TEST_SECONDS 240

static int start_tcpdump(const char *file)
{
	char err[160];

	snprintf(err, sizeof(err), "%s/tcpdump.err", scratch_dir);
	sh("timeout 120 tcpdump -i %s -Q inout -U -n -w %s/%s 'tcp or udp' 2>%s & echo $! > %s/tcpdump.pid",
	   dev_rx, scratch_dir, file, err, scratch_dir);
	return wait_for_text(err, "listening on", 5000) ? 0 : -1;
}

static void stop_tcpdump(void)
{
	int pid = read_pid("tcpdump");

	kill_from_pidfile("tcpdump", SIGINT);
	for (int t = 0; pid > 0 && t < 200 && kill(pid, 0) == 0; t++)
		usleep(10000);
}

/* iperf3 between the namespaces: a server for one test in rx, a client in tx. */
static int iperf(const char *server, int port, const char *client_opts)
{
	return sh("timeout 20 iperf3 -s -1 -p %d >/dev/null 2>&1 & sleep 0.3;"
		  " ip netns exec %s timeout 15 iperf3 -c %s -p %d %s >/dev/null", port, ns_tx, server,
		  port, client_opts);
}

/* "10.200.0.1.5201 > 10.200.0.2.40000", as tcpdump names a direction. */
static void event_direction(json_t *e, char *out, size_t len)
{
	snprintf(out, len, "%s.%d > %s.%d", json_string_value(json_object_get(e, "src")),
		 (int)json_integer_value(json_object_get(e, "sport")),
		 json_string_value(json_object_get(e, "dst")),
		 (int)json_integer_value(json_object_get(e, "dport")));
}

/* Every direction tcpdump saw with N packets has exactly one first-window
 * event, equal packet for packet (sizes; times too for what arrived: an
 * outgoing packet's time in tcpdump is not when it passed TC egress, TCP
 * stamps its packets with their departure time, which the capture reports);
 * shorter directions have none. */
static void check_first_windows(json_t *events, int *directions_checked)
{
	char name[160];
	int long_dirs = 0, first_windows = 0;

	for (int d = 0; d < ndirs; d++) {
		json_t *match = NULL, *e;
		size_t i;
		int found = 0;
		bool timed;

		if (dirs[d].count < N)
			continue;
		long_dirs++;
		json_array_foreach(events, i, e) {
			event_direction(e, name, sizeof(name));
			if (!strcmp(name, dirs[d].name) && json_integer_value(json_object_get(e, "window")) == 0) {
				found++;
				match = e;
			}
		}
		CHECKF(found == 1, "%s (%d packets): %d first-window events", dirs[d].name, dirs[d].count, found);
		if (!match)
			continue;
		json_t *sizes = json_object_get(match, "sizes"), *ts = json_object_get(match, "ts_us");

		CHECK(json_array_size(sizes) == N && json_array_size(ts) == N);
		timed = strcmp(json_string_value(json_object_get(match, "hook")) ?: "", "egress") != 0;
		for (int p = 0; p < N; p++) {
			long size = (long)json_integer_value(json_array_get(sizes, p));
			double t = json_number_value(json_array_get(ts, p));
			double want = (double)(dirs[d].ts_us[p] - dirs[d].ts_us[0]);

			CHECKF(size == dirs[d].sizes[p], "%s packet %d: event size %ld, tcpdump %u",
			       dirs[d].name, p, size, dirs[d].sizes[p]);
			CHECKF(!timed || (t > want - 1000 && t < want + 1000),
			       "%s packet %d: event %.0f us, tcpdump %.0f us", dirs[d].name, p, t, want);
		}
	}
	for (size_t i = 0; i < json_array_size(events); i++)
		first_windows += json_integer_value(json_object_get(json_array_get(events, i), "window")) == 0;
	CHECKF(first_windows == long_dirs, "%d first-window events for %d directions with %d packets",
	       first_windows, long_dirs, N);
	*directions_checked = long_dirs;
}

static void test_events_match_the_capture(void)
{
	char path[160];
	json_t *events;
	struct verdict v;
	int checked = 0;

	CHECK(start_tcpdump("live.pcap") == 0);
	snprintf(path, sizeof(path), "--threshold 0 --events %s/events.jsonl", scratch_dir);
	if (start_agent(path))
		goto out;
	/* what its memory of connections takes, said at the start (the default
	 * --flows: 2 tables of 262144 slots) */
	CHECKF(file_contains(tmp_path("agent.err"), "the cascade remembers 262144 connections in "),
	       "the start does not say what the cascade's memory takes");
	CHECK(replay("skype-conference-call.pcap", 2000) == 0);
	CHECK(replay("youtube_quic.pcap", 2000) == 0);
	CHECK(iperf(RX_V4, 5201, "-u -b 1M -t 1 -l 600") == 0);
	CHECK(iperf(RX_V4, 5202, "-b 20M -t 1") == 0);
	CHECK(iperf(RX_V6, 5203, "-n 300K -b 10M") == 0);
	usleep(300000);
	/* from a second shell, while the agent runs */
	CHECK(sh("%s flows --pin-dir %s > %s/flows.txt && %s stats --json --pin-dir %s > %s/stats.json",
		 odeflow, pin_dir, scratch_dir, odeflow, pin_dir, scratch_dir) == 0);
	snprintf(path, sizeof(path), "%s/flows.txt", scratch_dir);
	CHECK(file_contains(path, "10.200.0.1:") && file_contains(path, "connection(s)"));
	snprintf(path, sizeof(path), "%s/stats.json", scratch_dir);
	CHECK(file_contains(path, "\"running\": true"));
	stop_tcpdump();
	CHECKF(stop_agent(SIGINT) == 0, "the agent did not exit 0 in time after SIGINT");

	snprintf(path, sizeof(path), "%s/live.pcap", scratch_dir);
	CHECK(tcpdump_read(path) == 0);
	snprintf(path, sizeof(path), "%s/events.jsonl", scratch_dir);
	events = read_events(path);
	check_first_windows(events, &checked);
	/* skype: 3, youtube: 1, iperf3 data: 3, at least (the rx -> tx halves
	 * of iperf3's, its answers, leave through the agent's egress) */
	CHECKF(checked >= 7, "only %d directions with %d packets crossed", checked, N);
	CHECKF(ndirs < MAX_DIRS, "more than %d directions: the tcpdump view is truncated", MAX_DIRS);
	json_decref(events);
	/* the agent removed its pins on a clean exit, and detached */
	CHECK(verdict_of(TX_V4, 1, RX_V4, 2, 17, &v) == -1);
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
	return;
out:
	stop_tcpdump();
}

/* The class the agent gave a UDP connection from tx, as a name. */
static int class_of(int tx, uint16_t port, char *name, size_t len)
{
	struct verdict v;
	char cmd[1024], line[256] = "";
	FILE *p;

	for (int t = 0; t < 100; t++) {
		if (verdict_of(TX_V4, local_port(tx), RX_V4, port, 17, &v) == 0)
			break;
		usleep(20000);
	}
	if (verdict_of(TX_V4, local_port(tx), RX_V4, port, 17, &v))
		return -1;
	/* the class name as `odeflow policy` lists it, by class id */
	snprintf(cmd, sizeof(cmd), "%s policy --pin-dir %s | sed -n %dp | cut -d' ' -f1", odeflow,
		 pin_dir, v.class_id + 1);
	p = popen(cmd, "r");
	if (!p || !fgets(line, sizeof(line), p)) {
		if (p)
			pclose(p);
		return -1;
	}
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	snprintf(name, len, "%s", line);
	return name[0] ? 0 : -1;
}

static int received_tos(int fd)
{
	char buf[2048], control[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1 || recvmsg(fd, &msg, 0) < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
			return *(unsigned char *)CMSG_DATA(c);
	return -1;
}

/* Writes "CLASS RULES" into the policy file, sends the agent SIGHUP and
 * waits for what it should say about it. */
static void reload_policy(const char *path, const char *cls, const char *rules, const char *said)
{
	char log[160];
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fprintf(f, "# reloaded\n%s %s\n", cls, rules);
	fclose(f);
	kill_from_pidfile("agent", SIGHUP);
	snprintf(log, sizeof(log), "%s/agent.err", scratch_dir);
	CHECKF(wait_for_text(log, said, 2000), "the agent did not say '%s'", said);
}

static void test_policies_live(void)
{
	char cls[64], path[160];
	int rx, tx, n = 0;
	long bytes = 0;
	struct timespec start, now;
	FILE *f;

	if (start_agent("--threshold 0"))
		return;
	tx = udp_pair(AF_INET, 6000, &rx);
	send_udp(tx, N, 200);
	CHECK(receive_all(rx, N));
	CHECK(class_of(tx, 6000, cls, sizeof(cls)) == 0);

	/* drop, set live from a second shell; the agent's log says so */
	CHECK(sh("%s policy set %s drop --pin-dir %s", odeflow, cls, pin_dir) == 0);
	send_udp(tx, 10, 200);
	usleep(50000);
	CHECKF(drain_socket(rx) == 0, "a dropped connection's datagrams arrived");
	{
		char said[160], log[160];

		snprintf(said, sizeof(said), "policy changed in the pinned map (odeflow policy): %s drop"
			 " (was pass)", cls);
		snprintf(log, sizeof(log), "%s/agent.err", scratch_dir);
		CHECKF(wait_for_text(log, said, 1000), "the agent did not log '%s'", said);
	}

	/* mark: the receiver sees DSCP EF (TOS 0xb8) */
	CHECK(sh("%s policy set %s mark ef --pin-dir %s", odeflow, cls, pin_dir) == 0);
	send_udp(tx, 1, 200);
	CHECKF(received_tos(rx) == 0xb8, "TOS after mark ef is not 0xb8");

	/* rate-limit 200 kB/s with a 20 kB burst, offered far more for a second */
	CHECK(sh("%s policy set %s rate-limit 200k 20k --pin-dir %s", odeflow, cls, pin_dir) == 0);
	drain_socket(rx);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		char payload[1000] = { 0 };

		if (send(tx, payload, sizeof(payload), 0) == (ssize_t)sizeof(payload))
			n++;
		if (n % 16 == 0)
			while (recv(rx, path, sizeof(path), MSG_DONTWAIT) > 0)
				bytes += 1028;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 1000000000L);
	usleep(20000);
	bytes += 1028L * drain_socket(rx);
	CHECKF(bytes > 150000 && bytes < 300000, "rate limit 200k+20k burst let %ld bytes of %d datagrams through in 1 s",
	       bytes, n);

	/* SIGHUP reloads the policy file; a bad one keeps the running policy */
	snprintf(path, sizeof(path), "%s/policy", scratch_dir);
	CHECK(stop_agent(SIGINT) == 0);
	f = fopen(path, "w");
	fprintf(f, "%s pass\n", cls);
	fclose(f);
	{
		char opts[300];

		snprintf(opts, sizeof(opts), "--threshold 0 --policy %s", path);
		if (start_agent(opts))
			return;
	}
	close(tx);
	tx = udp_pair(AF_INET, 6001, &rx); /* a new connection */
	send_udp(tx, N, 200);
	CHECK(receive_all(rx, N));
	CHECK(class_of(tx, 6001, cls, sizeof(cls)) == 0);
	{
		char said[300];

		snprintf(said, sizeof(said), "policy reloaded from %s: %s drop (was pass)", path, cls);
		reload_policy(path, cls, "drop", said);
	}
	send_udp(tx, 5, 200);
	usleep(50000);
	CHECKF(drain_socket(rx) == 0, "the reloaded drop policy did not apply");
	/* odeflow policy set, then SIGHUP: the file wins, and the log says what it undid */
	CHECK(sh("%s policy set %s pass -i %s", odeflow, cls, dev_rx) != 0); /* other pin dir */
	CHECK(sh("%s policy set %s pass -d %s", odeflow, cls, pin_dir) == 0);
	{
		char said[160], log[160];

		snprintf(said, sizeof(said), "(odeflow policy): %s pass (was drop)", cls);
		snprintf(log, sizeof(log), "%s/agent.err", scratch_dir);
		CHECKF(wait_for_text(log, said, 1000), "the agent did not log '%s'", said);
		reload_policy(path, cls, "drop", "policy reloaded");
		CHECKF(sh("for i in $(seq 20); do [ $(grep -c 'policy reloaded from.*: %s drop (was pass)'"
			  " %s) = 2 ] && exit 0; sleep 0.1; done; exit 1", cls, log) == 0,
		       "SIGHUP after policy set did not log what it undid");
	}
	reload_policy(path, cls, "pass\nNoSuchClass drop", "line 3: unknown class 'NoSuchClass'");
	send_udp(tx, 5, 200);
	usleep(50000);
	CHECKF(drain_socket(rx) == 0, "a bad policy file replaced the running policy");
	CHECK(stop_agent(SIGTERM) == 0);
	close(tx);
	close(rx);
}

/* With a threshold no window reaches, every connection takes max-windows
 * windows: the second one comes from a live re-arm. */
static void test_cascade_rearms_live(void)
{
	char path[160], first[96], second[96];
	json_t *events;
	int rx, tx, windows = 0;
	long stage2 = 0;

	snprintf(path, sizeof(path), "--threshold 1 --max-windows 2 --events %s/cascade.jsonl", scratch_dir);
	if (start_agent(path))
		return;
	snprintf(path, sizeof(path), "%s/cascade.jsonl", scratch_dir);
	tx = udp_pair(AF_INET, 6100, &rx);
	snprintf(first, sizeof(first), "\"sport\":%u,\"dport\":6100,\"proto\":17,\"window\":0",
		 local_port(tx));
	snprintf(second, sizeof(second), "\"sport\":%u,\"dport\":6100,\"proto\":17,\"window\":1",
		 local_port(tx));
	send_udp(tx, N, 300);
	/* the agent writes the event after the re-arm: the next window's
	 * packets then fall into the re-armed window */
	CHECK_TOOK("the first window's decision", WAIT_UNTIL(file_contains(path, first), 2000), 2000);
	send_udp(tx, N, 400);
	CHECK_TOOK("the second window's decision", WAIT_UNTIL(file_contains(path, second), 2000),
		   2000);
	CHECK(stop_agent(SIGINT) == 0);
	events = read_events(path);
	for (size_t i = 0; i < json_array_size(events); i++) {
		json_t *e = json_array_get(events, i);

		if (json_integer_value(json_object_get(e, "sport")) != local_port(tx))
			continue;
		windows++;
		if (json_integer_value(json_object_get(e, "window")) == 1) {
			stage2 = (long)json_integer_value(json_object_get(e, "stage"));
			CHECK(json_integer_value(json_array_get(json_object_get(e, "sizes"), 0)) == 428);
			CHECK(!json_is_true(json_object_get(e, "provisional")));
		} else {
			CHECK(json_is_true(json_object_get(e, "provisional")));
		}
	}
	CHECKF(windows == 2 && stage2 == 2, "%d windows, second at stage %ld", windows, stage2);
	json_decref(events);
	close(tx);
	close(rx);
}

/* --keep leaves the program attached and the verdicts pinned; with the agent
 * killed, traffic still flows (no verdict: pass); the next agent takes the
 * attachment over and keeps the verdicts. */
static void test_keep_fail_open_and_take_over(void)
{
	struct verdict v;
	int rx, tx, rx2, tx2;

	if (start_agent("--threshold 0 --keep"))
		return;
	tx = udp_pair(AF_INET, 6200, &rx);
	send_udp(tx, N, 200);
	CHECK(receive_all(rx, N));
	for (int t = 0; t < 100 && verdict_of(TX_V4, local_port(tx), RX_V4, 6200, 17, &v); t++)
		usleep(20000);
	stop_agent(SIGKILL);
	CHECK(sh("ip link show dev %s | grep -q xdp", dev_rx) == 0); /* still attached */
	tx2 = udp_pair(AF_INET, 6201, &rx2);
	send_udp(tx2, 2 * N, 100);
	CHECKF(receive_all(rx2, 2 * N), "traffic stopped with the agent gone");
	CHECK(verdict_of(TX_V4, local_port(tx), RX_V4, 6200, 17, &v) == 0);

	start_agent("--threshold 0");
	CHECK(verdict_of(TX_V4, local_port(tx), RX_V4, 6200, 17, &v) == 0); /* kept */
	CHECK(stop_agent(SIGINT) == 0);
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0); /* now detached */
	close(tx);
	close(rx);
	close(tx2);
	close(rx2);
}

/* Bad setups: one clear line, a nonzero exit, nothing attached or pinned. */
static void test_bad_setup_leaves_nothing(void)
{
	char policy[160], out[160];
	struct {
		char cmd[1024];
		const char *message;
	} cases[6] = {
		{ .message = "no interface 'nosuch0'" },
		{ .message = "/nonexistent.safetensors" },
		{ .message = "line 2: bad DSCP '99'" },
		{ .message = "threshold" },
		{ .message = "needs root with CAP_BPF" },  /* root without capabilities */
		{ .message = "is not on a bpffs" },
	};

	snprintf(policy, sizeof(policy), "%s/bad.policy", scratch_dir);
	sh("printf 'VoIP pass\\nVideo mark 99\\n' > %s", policy);
	snprintf(out, sizeof(out), "%s/bad.err", scratch_dir);
	snprintf(cases[0].cmd, sizeof(cases[0].cmd), "%s run --model %s --pin-dir %s --iface nosuch0",
		 odeflow, model_path, pin_dir);
	snprintf(cases[1].cmd, sizeof(cases[1].cmd),
		 "%s run --pin-dir %s --iface %s --model /nonexistent.safetensors", odeflow, pin_dir, dev_rx);
	snprintf(cases[2].cmd, sizeof(cases[2].cmd), "%s run --model %s --pin-dir %s --iface %s --policy %s",
		 odeflow, model_path, pin_dir, dev_rx, policy);
	snprintf(cases[3].cmd, sizeof(cases[3].cmd), "%s run --model %s --pin-dir %s --iface %s --threshold 1.5",
		 odeflow, model_path, pin_dir, dev_rx);
	snprintf(cases[4].cmd, sizeof(cases[4].cmd),
		 "setpriv --inh-caps=-all --bounding-set=-all %s run --model %s --pin-dir %s --iface %s",
		 odeflow, model_path, pin_dir, dev_rx);
	snprintf(cases[5].cmd, sizeof(cases[5].cmd), "%s run --model %s --pin-dir %s/not-bpffs --iface %s",
		 odeflow, model_path, scratch_dir, dev_rx);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[8192];
		int rc;

		snprintf(cmd, sizeof(cmd), "%s 2>%s", cases[i].cmd, out);
		rc = system(cmd);
		CHECKF(WIFEXITED(rc) && WEXITSTATUS(rc) != 0, "'%s' exited %d", cases[i].cmd, rc);
		CHECKF(file_contains(out, cases[i].message), "'%s': no '%s' in its error", cases[i].cmd,
		       cases[i].message);
		CHECK(sh("test $(wc -l < %s) -le 3", out) == 0);
		CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
	}
}

/* Connections one after another, each finding the agent idle: windows and
 * the wakeups they sent, as `odeflow stats` counts them. */
static void windows_and_wakeups(const char *agent_opts, uint16_t first_port, long long *windows,
				long long *wakeups)
{
	char cls[64];
	json_t *stats;

	*windows = *wakeups = -1;
	if (start_agent(agent_opts))
		return;
	for (uint16_t port = first_port; port < first_port + 4; port++) {
		int rx, tx = udp_pair(AF_INET, port, &rx);

		send_udp(tx, N, 200);
		CHECKF(class_of(tx, port, cls, sizeof(cls)) == 0, "no verdict for port %u", port);
		usleep(200000); /* the default agent goes to sleep */
		close(tx);
		close(rx);
	}
	stats = read_stats();
	CHECK(stats != NULL);
	*windows = stats_counter(stats, "windows");
	*wakeups = stats_counter(stats, "agent_wakeups");
	json_decref(stats);
	CHECK(stop_agent(SIGINT) == 0);
}

/* --busy-poll: the agent never sleeps, so no window pays for waking it;
 * the same traffic to a default agent does wake it. */
static void test_busy_poll_never_wakes(void)
{
	char err[160];
	long long windows, wakeups;

	windows_and_wakeups("--threshold 0", 6200, &windows, &wakeups);
	CHECKF(windows >= 4 && wakeups >= 1, "default agent: %lld windows, %lld wakeups", windows,
	       wakeups);
	windows_and_wakeups("--threshold 0 --busy-poll", 6210, &windows, &wakeups);
	CHECKF(windows >= 4 && wakeups == 0, "busy-polling agent: %lld windows, %lld wakeups",
	       windows, wakeups);
	snprintf(err, sizeof(err), "%s/agent.err", scratch_dir);
	CHECK(file_contains(err, "busy-polling the ring"));
}

/* Captures with fragments and malformed DNS: the agent stays up and the
 * fragment counter matches what the capture holds. */
static void test_malformed_captures(void)
{
	FILE *p;
	int fragments = -1;
	json_t *stats;

	if (start_agent("--threshold 0"))
		return;
	CHECK(replay("malformed_dns.pcap", 1000) == 0);
	CHECK(replay("dns_fragmented.pcap", 1000) == 0);
	usleep(200000);
	stats = read_stats();
	/* non-first IPv4 fragments in the replayed capture, counted by tcpdump */
	p = popen("tcpdump -nn -r tests/data/pcaps/dns_fragmented.pcap 'ip and ip[6:2] & 0x1fff != 0'"
		  " 2>/dev/null | wc -l", "r");
	if (p && fscanf(p, "%d", &fragments) != 1)
		fragments = -1;
	if (p)
		pclose(p);
	CHECK(stats != NULL && fragments > 0);
	if (stats) {
		CHECKF(stats_counter(stats, "fragments") == fragments,
		       "fragments counter %lld, capture has %d", stats_counter(stats, "fragments"),
		       fragments);
		CHECK(json_is_true(json_object_get(json_object_get(stats, "agent"), "running")));
	}
	json_decref(stats);
	CHECK(stop_agent(SIGINT) == 0);
}

/* odeflow top in a real 80x24 terminal (tmux), the agent started with
 * agent_opts: it draws the agent's state within 80 columns and 24 rows, its
 * title and every name of want[] on screen, q quits, and the terminal is
 * given back (the alternate screen is left, the shell's screen is back). */
static void top_in_a_terminal(const char *agent_opts, const char *const *want, int nwant)
{
	char session[64], screen[160];
	FILE *p;
	char line[512];
	int lines = 0, too_wide = 0, seen = 0, rx, tx;
	bool title = false;

	if (start_agent(agent_opts))
		return;
	tx = udp_pair(AF_INET, 6300, &rx);
	send_udp(tx, N, 200);
	snprintf(session, sizeof(session), "odeflow-top-%d", (int)getpid());
	snprintf(screen, sizeof(screen), "%s/top.txt", scratch_dir);
	CHECK(sh("tmux new-session -d -s %s -x 80 -y 24 'echo shell-before; %s top --pin-dir %s; echo top-exited-$?; sleep 5'",
		 session, odeflow, pin_dir) == 0);
	usleep(2500000); /* two refreshes */
	/* -J joins lines tmux wrapped, so a line wider than 80 shows as one;
	 * a screen taller than 24 rows scrolls its title away */
	CHECK(sh("tmux capture-pane -p -J -t %s > %s", session, screen) == 0);
	if (getenv("ODEFLOW_SHOW_TOP"))
		sh("cat %s", screen);
	p = fopen(screen, "r");
	while (p && fgets(line, sizeof(line), p)) {
		lines++;
		line[strcspn(line, "\n")] = '\0';
		too_wide += strlen(line) > 80;
		title |= strstr(line, "odeflow top") && strstr(line, dev_rx);
	}
	if (p)
		fclose(p);
	for (int i = 0; i < nwant; i++)
		seen += file_contains(screen, want[i]);
	CHECKF(title && seen == nwant, "the screen lacks the title or %d of %d classes:",
	       nwant - seen, nwant);
	CHECKF(lines <= 24 && too_wide == 0, "%d lines, %d wider than 80:", lines, too_wide);
	if (!title || seen < nwant || lines > 24 || too_wide)
		sh("cat -A %s", screen);
	CHECK(sh("tmux send-keys -t %s q", session) == 0);
	usleep(1500000);
	CHECK(sh("tmux capture-pane -p -t %s > %s", session, screen) == 0);
	CHECKF(file_contains(screen, "shell-before") && file_contains(screen, "top-exited-0"),
	       "after q the terminal does not show the shell's screen and exit status 0");
	sh("tmux kill-session -t %s 2>/dev/null", session);
	CHECK(stop_agent(SIGINT) == 0);
	close(tx);
	close(rx);
}

static void test_top_in_a_terminal(void)
{
	static const char *const classes[] = { "VoIP", "Video", "File_Transfer", "Chat",
					       "Browsing" };

	top_in_a_terminal("--threshold 0", classes, 5);
}

/* A model of ODEFLOW_MAX_CLASSES classes fits the 80x24 screen too. */
static void test_top_fits_the_most_classes(void)
{
	struct model_config cfg;
	struct model *m = NULL;
	char err[256], path[192], opts[256];
	char names[ODEFLOW_MAX_CLASSES][ODEFLOW_CLASS_NAME_LEN];
	const char *want[ODEFLOW_MAX_CLASSES];

	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.num_classes = ODEFLOW_MAX_CLASSES;
	for (int k = 0; k < ODEFLOW_MAX_CLASSES; k++) {
		snprintf(names[k], sizeof(names[k]), "kind_%02d", k);
		snprintf(cfg.class_names[k], sizeof(cfg.class_names[k]), "%s", names[k]);
		want[k] = names[k];
	}
	snprintf(path, sizeof(path), "%s/many.safetensors", scratch_dir);
	CHECKF(model_create(&cfg, 7, &m, err, sizeof(err)) == 0 &&
	       model_save(m, path, err, sizeof(err)) == 0, "%s", err);
	model_free(m);
	snprintf(opts, sizeof(opts), "--threshold 0 --model %s", path);
	top_in_a_terminal(opts, want, ODEFLOW_MAX_CLASSES);
}

int main(void)
{
	if (!harness_is_root()) {
		printf("SKIP test_agent_live: needs root (XDP, namespaces)\n");
		return 0;
	}
	if (system("command -v tcpreplay tcprewrite tcpdump iperf3 tmux >/dev/null") != 0) {
		printf("SKIP test_agent_live: tcpreplay, tcpdump, iperf3 or tmux missing (make deps)\n");
		return 0;
	}
	agent_test_setup("test_agent_live", TEST_SECONDS);
	RUN(test_events_match_the_capture);
	RUN(test_policies_live);
	RUN(test_cascade_rearms_live);
	RUN(test_keep_fail_open_and_take_over);
	RUN(test_bad_setup_leaves_nothing);
	RUN(test_busy_poll_never_wakes);
	RUN(test_malformed_captures);
	RUN(test_top_in_a_terminal);
	RUN(test_top_fits_the_most_classes);
	return harness_done();
}
