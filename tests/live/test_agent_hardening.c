/* SPDX-License-Identifier: MIT */
/* The agent under attack and under load (issue: hardening): it removes only
 * its own pins; its events output cannot be turned against a root-owned
 * file, and a reader that never reads (or a full disk) never holds up
 * classification; it stays visible and stops within a second while far
 * behind; a model that overflows is refused; `stats` tells when nothing
 * enforces the pinned verdicts. Real agent, real veth, real traffic. */
#include "agent_harness.h"
#include "common/clock.h"

#define TEST_SECONDS 300
#define GEN_FLOWS "build/tools/gen_flows"
/* CPU time per window of hostile flows against spread ones: near 1 */
#define MAX_HOSTILE_SLOWDOWN 2.0

/* Replays `flows` one-way UDP flows of N packets (tools/bench/gen_flows.c,
 * addresses in 10.200.0.0/16, keys chosen as gen_flows' KEYS says) as fast
 * as the veth takes them. */
static int flood_flows(long flows, const char *keys)
{
	return sh("%s %s/flows.pcap %ld %d 256 %s >/dev/null && ip netns exec %s timeout 60 "
		  "tcpreplay -q --topspeed -i %s %s/flows.pcap >/dev/null 2>&1",
		  GEN_FLOWS, scratch_dir, flows, N, keys, ns_tx, dev_tx, scratch_dir);
}

static int flood_windows(long flows)
{
	return flood_flows(flows, "spread");
}

static long long agent_field(json_t *stats, const char *name)
{
	return json_integer_value(json_object_get(json_object_get(stats, "agent"), name));
}

/* Waits up to `ms` for the agent to have classified `want` windows. */
static json_t *stats_when_classified(long long want, int ms)
{
	json_t *stats = NULL;

	for (int t = 0; t <= ms; t += 100) {
		json_decref(stats);
		stats = read_stats();
		if (stats && agent_field(stats, "windows_classified") >= want)
			break;
		usleep(100000);
	}
	return stats;
}

/* Another tool's map pinned in the agent's pin dir survives the agent. */
static void test_stop_leaves_other_pins(void)
{
	char theirs[200];
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "theirs", 4, 4, 1, NULL);

	snprintf(theirs, sizeof(theirs), "%s/theirs", pin_dir);
	CHECK(sh("mkdir -p %s && chmod 0700 %s", pin_dir, pin_dir) == 0);
	CHECK(fd >= 0 && bpf_obj_pin(fd, theirs) == 0);
	if (start_agent("") == 0)
		CHECK(stop_agent(SIGTERM) == 0);
	CHECKF(access(theirs, F_OK) == 0, "the agent removed %s", theirs);
	CHECK(sh("test ! -e %s/verdicts && test ! -e %s/flows", pin_dir, pin_dir) == 0);
	unlink(theirs);
	close(fd);
	rmdir(pin_dir);
}

/* --events at a planted symlink, a foreign file or a FIFO: refused, the
 * target untouched, even when the start fails for another reason first;
 * a new file gets mode 0600, or --events-mode's. */
static void test_events_path_is_opened_safely(void)
{
	char victim[160], link[160], out[160], fifo[160], cmd[2048], mine[160];
	struct stat st;

	snprintf(victim, sizeof(victim), "%s/victim", scratch_dir);
	snprintf(link, sizeof(link), "%s/planted", scratch_dir);
	snprintf(out, sizeof(out), "%s/run.err", scratch_dir);
	CHECK(sh("echo precious > %s && ln -sf %s %s", victim, victim, link) == 0);
	/* a bad interface: the start fails before the events path is touched */
	snprintf(cmd, sizeof(cmd), "%s run --model %s --pin-dir %s --iface nosuch0 --events %s 2>%s",
		 odeflow, model_path, pin_dir, link, out);
	CHECK(system(cmd) != 0);
	CHECK(file_contains(victim, "precious"));
	/* a good one: the symlink is refused */
	snprintf(cmd, sizeof(cmd), "%s run --model %s --pin-dir %s --iface %s --events %s 2>%s",
		 odeflow, model_path, pin_dir, dev_rx, link, out);
	CHECK(system(cmd) != 0);
	CHECKF(file_contains(out, "is a symlink"), "no word of the symlink");
	CHECK(file_contains(victim, "precious"));
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
	/* a file of another user */
	CHECK(sh("chown 65534 %s", victim) == 0);
	snprintf(cmd, sizeof(cmd), "%s run --model %s --pin-dir %s --iface %s --events %s 2>%s",
		 odeflow, model_path, pin_dir, dev_rx, victim, out);
	CHECK(system(cmd) != 0 && file_contains(out, "belongs to another user"));
	CHECK(file_contains(victim, "precious"));
	/* a FIFO without --events-pipe */
	snprintf(fifo, sizeof(fifo), "%s/events.fifo", scratch_dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	snprintf(cmd, sizeof(cmd), "%s run --model %s --pin-dir %s --iface %s --events %s 2>%s",
		 odeflow, model_path, pin_dir, dev_rx, fifo, out);
	CHECK(system(cmd) != 0 && file_contains(out, "--events-pipe"));
	/* modes of new files */
	snprintf(mine, sizeof(mine), "--events %s/new.jsonl", scratch_dir);
	if (start_agent(mine) == 0)
		CHECK(stop_agent(SIGTERM) == 0);
	snprintf(mine, sizeof(mine), "%s/new.jsonl", scratch_dir);
	CHECK(stat(mine, &st) == 0 && (st.st_mode & 0777) == 0600);
	unlink(mine);
	snprintf(mine, sizeof(mine), "--events %s/new.jsonl --events-mode 0640", scratch_dir);
	if (start_agent(mine) == 0)
		CHECK(stop_agent(SIGTERM) == 0);
	snprintf(mine, sizeof(mine), "%s/new.jsonl", scratch_dir);
	CHECK(stat(mine, &st) == 0 && (st.st_mode & 0777) == 0640);
	unlink(fifo);
}

/* A FIFO whose reader never reads: every window is still classified, the
 * events that do not fit are dropped and counted, and the agent stops in a
 * second. Before the queue, 129 of 5,500 windows were. */
static void test_stalled_events_reader_never_stalls_classification(void)
{
	char fifo[160], opts[256];
	long long windows, classified, dropped;
	json_t *stats;

	snprintf(fifo, sizeof(fifo), "%s/stalled.fifo", scratch_dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	/* a reader that holds the FIFO open and never reads */
	CHECK(sh("(sleep 60 < %s & echo $! > %s/reader.pid) ; sleep 0.2", fifo, scratch_dir) == 0);
	snprintf(opts, sizeof(opts), "--threshold 0 --events %s --events-pipe", fifo);
	if (start_agent(opts))
		goto out;
	CHECK(flood_windows(12000) == 0);
	stats = stats_when_classified(12000, 15000);
	windows = stats_counter(stats, "windows");
	classified = agent_field(stats, "windows_classified");
	dropped = agent_field(stats, "events_dropped");
	printf("  %lld windows, %lld classified, %lld events dropped\n", windows, classified, dropped);
	CHECKF(windows >= 11000 && classified == windows,
	       "%lld windows emitted, %lld classified", windows, classified);
	CHECKF(dropped > 0, "no events counted as dropped (%lld)", dropped);
	json_decref(stats);
	CHECKF(stop_agent(SIGTERM) == 0, "the agent did not stop in time");
out:
	kill_from_pidfile("reader", SIGKILL);
	unlink(fifo);
}

/* A full disk (/dev/full): classification goes on, the loss is counted and
 * said once, with why. */
static void test_events_write_errors_are_reported(void)
{
	char err[160];
	long long classified, dropped;
	json_t *stats;

	if (start_agent("--threshold 0 --events /dev/full"))
		return;
	CHECK(flood_windows(300) == 0);
	/* 290: a direction whose held first packet another took over fills no
	 * window of exactly N packets (admit_overwrites) */
	stats = stats_when_classified(290, 5000);
	/* the writer thread may still be behind the classifiers: wait for it */
	for (int t = 0; t < 50 && agent_field(stats, "events_dropped") <
				      agent_field(stats, "windows_classified"); t++) {
		usleep(100000);
		json_decref(stats);
		stats = read_stats();
	}
	classified = agent_field(stats, "windows_classified");
	dropped = agent_field(stats, "events_dropped");
	CHECKF(classified >= 290 && dropped == classified, "%lld classified, %lld events dropped",
	       classified, dropped);
	json_decref(stats);
	CHECK(stop_agent(SIGTERM) == 0);
	snprintf(err, sizeof(err), "%s/agent.err", scratch_dir);
	CHECK(file_contains(err, "lost: writing: No space left on device"));
	CHECK(sh("test $(grep -c 'lost: writing' %s) -eq 1", err) == 0); /* once a minute */
}

/* Far behind (one worker, a flood of windows): the agent map's heartbeat
 * stays fresh and SIGTERM ends the agent within a second. */
static void test_overloaded_agent_stays_visible_and_stops(void)
{
	uint64_t worst = 0;

	if (start_agent("--threshold 0 --threads 1"))
		return;
	CHECK(sh("%s %s/flows.pcap 40000 %d 256 >/dev/null", GEN_FLOWS, scratch_dir, N) == 0);
	sh("ip netns exec %s timeout 60 tcpreplay -q --topspeed -i %s %s/flows.pcap >/dev/null 2>&1 &"
	   " echo $! > %s/replay.pid", ns_tx, dev_tx, scratch_dir, scratch_dir);
	usleep(300000);
	for (int i = 0; i < 10; i++) {
		struct agent_info info;
		__u32 zero = 0;
		char e[256];
		int fd = xdp_open_pinned_map(pin_dir, XDP_MAP_AGENT, e, sizeof(e));

		if (fd >= 0 && bpf_map_lookup_elem(fd, &zero, &info) == 0 &&
		    monotonic_ns() - info.heartbeat_ns > worst)
			worst = monotonic_ns() - info.heartbeat_ns;
		if (fd >= 0)
			close(fd);
		usleep(100000);
	}
	printf("  the heartbeat was at most %llu ms old\n", (unsigned long long)(worst / NSEC_PER_MSEC));
	CHECKF(worst < 500 * NSEC_PER_MSEC, "the heartbeat was %llu ms old",
	       (unsigned long long)(worst / NSEC_PER_MSEC));
	CHECKF(stop_agent(SIGTERM) == 0, "the agent did not stop in time");
	kill_from_pidfile("replay", SIGTERM);
}

/* CPU seconds the agent has run, all its threads (/proc/PID/stat). */
static double agent_cpu_seconds(void)
{
	char path[64];
	unsigned long utime = 0, stime = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", read_pid("agent"));
	f = fopen(path, "r");
	/* comm holds no space here (odeflow) */
	if (!f || fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
			 &stime) != 2)
		utime = stime = 0;
	if (f)
		fclose(f);
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* The agent's CPU time per window classified over a flood of HOSTILE_FLOWS
 * flows whose keys gen_flows chose as KEYS; -1 if the run failed. */
#define HOSTILE_FLOWS 10000
static double agent_cpu_per_window(const char *keys)
{
	long long classified;
	double cpu0, cpu;
	json_t *stats;

	/* --flows as the default: the cascade's tables have the slots gen_flows aims at */
	if (start_agent("--threshold 0"))
		return -1;
	cpu0 = agent_cpu_seconds();
	CHECK(flood_flows(HOSTILE_FLOWS, keys) == 0);
	/* most flows give a window (some lose their held first packet to another) */
	stats = stats_when_classified(HOSTILE_FLOWS * 9 / 10, 30000);
	classified = agent_field(stats, "windows_classified");
	json_decref(stats);
	cpu = agent_cpu_seconds() - cpu0;
	CHECK(stop_agent(SIGTERM) == 0);
	printf("  %s: %lld windows, agent CPU %.2f s, %.1f us a window\n", keys, classified, cpu,
	       classified > 0 ? cpu * 1e6 / (double)classified : 0);
	CHECKF(classified >= HOSTILE_FLOWS * 9 / 10, "%s: %lld windows of %d flows", keys,
	       classified, HOSTILE_FLOWS);
	return classified > 0 ? cpu / (double)classified : -1;
}

/* The hostile flows through the agent: connections whose keys all
 * hash into a few hundred slots of the cascade's tables under the unseeded
 * FNV-1a it once used. The agent spends on each of their windows what it
 * spends on a window of spread flows. */
static void test_hostile_keys_cost_the_agent_what_spread_keys_cost(void)
{
	double spread = agent_cpu_per_window("spread");
	double hostile = spread > 0 ? agent_cpu_per_window("collide-connections") : -1;

	if (spread > 0 && hostile > 0)
		printf("  hostile keys cost %.2fx spread keys' CPU per window (at most %.1fx)\n",
		       hostile / spread, MAX_HOSTILE_SLOWDOWN);
	CHECK(spread > 0 && hostile > 0 && hostile <= MAX_HOSTILE_SLOWDOWN * spread);
}

/* Finite weights that overflow on real traffic: the start is refused with
 * one line, nothing attached. */
static void test_overflowing_model_refused(void)
{
	struct model_config cfg;
	struct model *m = NULL;
	char path[160], out[160], cmd[1024], err[256];
	size_t count;
	float *p;

	model_config_defaults(ARCH_ODERNN, &cfg);
	if (model_create(&cfg, 3, &m, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		return;
	}
	p = model_params(m, &count);
	for (size_t i = 0; i < count; i++)
		p[i] = 3e38f; /* finite, but the head's products overflow */
	snprintf(path, sizeof(path), "%s/overflow.safetensors", scratch_dir);
	CHECK(model_save(m, path, err, sizeof(err)) == 0);
	model_free(m);
	snprintf(out, sizeof(out), "%s/overflow.err", scratch_dir);
	snprintf(cmd, sizeof(cmd), "timeout 10 %s run --model %s --pin-dir %s --iface %s 2>%s",
		 odeflow, path, pin_dir, dev_rx, out);
	CHECK(system(cmd) != 0);
	CHECKF(file_contains(out, "weights overflow") && file_contains(out, path),
	       "no clear error for an overflowing model");
	CHECK(sh("test $(wc -l < %s) -eq 1", out) == 0);
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
}

/* Killed without --keep: the program is gone with the agent, and `stats`
 * says that nothing enforces the verdicts left in the pinned maps. */
static void test_stats_after_kill_says_nothing_enforces(void)
{
	char out[160];

	if (start_agent(""))
		return;
	CHECK(stop_agent(SIGKILL) != 0 || true);
	usleep(200000);
	snprintf(out, sizeof(out), "%s/stats.txt", scratch_dir);
	CHECK(sh("%s stats --pin-dir %s > %s", odeflow, pin_dir, out) == 0);
	CHECKF(file_contains(out, "nothing is enforced"), "stats claims enforcement");
	CHECK(!file_contains(out, "keeps enforcing"));
	CHECK(sh("%s stats --json --pin-dir %s | grep -q '\"sampler_loaded\": false'", odeflow,
		 pin_dir) == 0);
	CHECK(sh("rm -f %s/*", pin_dir) == 0);
}

/* A FIFO (or anything but a regular file) given as the model or the policy
 * is refused at once: it used to hang the start. */
static void test_fifo_model_or_policy_refused(void)
{
	char fifo[160], out[160], cmd[2048];

	snprintf(fifo, sizeof(fifo), "%s/input.fifo", scratch_dir);
	snprintf(out, sizeof(out), "%s/fifo.err", scratch_dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	snprintf(cmd, sizeof(cmd), "timeout 10 %s run --model %s --pin-dir %s --iface %s 2>%s",
		 odeflow, fifo, pin_dir, dev_rx, out);
	CHECK(WEXITSTATUS(system(cmd)) == 1);
	CHECKF(file_contains(out, "not a regular file"), "model: no clear error");
	snprintf(cmd, sizeof(cmd), "timeout 10 %s run --model %s --policy %s --pin-dir %s --iface %s 2>%s",
		 odeflow, model_path, fifo, pin_dir, dev_rx, out);
	CHECK(WEXITSTATUS(system(cmd)) == 1);
	CHECKF(file_contains(out, "not a regular file"), "policy: no clear error");
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
	unlink(fifo);
}

/* A --flows the host cannot afford: refused at once with what it would
 * cost, nothing attached (it used to lock 10 GB and ignore SIGINT). */
static void test_flows_past_memory_refused(void)
{
	char out[160], cmd[1024];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];

	while (f && fgets(line, sizeof(line), f) && sscanf(line, "MemAvailable: %llu kB", &kb) != 1)
		;
	if (f)
		fclose(f);
	if (kb > 40ULL << 20) { /* 2^26 flows take ~22 GiB: this host could afford them */
		SKIP("more than 40 GiB available: the largest --flows fits");
		return;
	}
	snprintf(out, sizeof(out), "%s/flows.err", scratch_dir);
	snprintf(cmd, sizeof(cmd), "timeout 10 %s run --model %s --pin-dir %s --iface %s --flows %d 2>%s",
		 odeflow, model_path, pin_dir, dev_rx, 1 << 26, out);
	CHECK(system(cmd) != 0);
	CHECKF(file_contains(out, "MiB of kernel memory for the maps"), "no word of the cost");
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
}

/* A policy that drops every class the test model has. */
static const char *drop_all_policy(void)
{
	static char path[160];

	snprintf(path, sizeof(path), "%s/drop-all.policy", scratch_dir);
	sh("printf 'VoIP drop\nVideo drop\nFile_Transfer drop\nChat drop\nBrowsing drop\n' > %s", path);
	return path;
}

/* A connection dropped by its verdict, whose verdict then leaves the map
 * (as the verdicts LRU evicts one when the tables churn): its direction's
 * state keeps the decision, so it goes on being dropped, and the loss is
 * counted. With its direction's state gone as well, it passes one window
 * (N packets, plus any that come while the agent answers), is decided
 * again and dropped again, instead of passing unclassified for as long as
 * it sends. */
static void test_evicted_drop_comes_back(void)
{
	char opts[256], e[256];
	struct flow_key k, conn;
	struct verdict v;
	json_t *stats;
	int rx, tx, vfd, ffd, got = 0, sent = 0;

	snprintf(opts, sizeof(opts), "--threshold 0 --policy %s", drop_all_policy());
	if (start_agent(opts))
		return;
	tx = udp_pair(AF_INET, 6300, &rx);
	send_udp(tx, N, 200);
	CHECK(receive_all(rx, N));
	for (int t = 0; t < 100 && verdict_of(TX_V4, local_port(tx), RX_V4, 6300, 17, &v); t++)
		usleep(20000);
	send_udp(tx, 5, 200);
	CHECKF(drain_socket(rx) == 0, "the verdict did not drop");
	vfd = xdp_open_pinned_map(pin_dir, XDP_MAP_VERDICTS, e, sizeof(e));
	ffd = xdp_open_pinned_map(pin_dir, XDP_MAP_FLOWS, e, sizeof(e));
	flow_key_make(&k, TX_V4, local_port(tx), RX_V4, 6300, 17);
	flow_key_canonical(&k, &conn);
	/* the verdict evicted: the direction's entry drops on */
	CHECK(vfd >= 0 && bpf_map_delete_elem(vfd, &conn) == 0);
	send_udp(tx, 50, 200);
	CHECKF(drain_socket(rx) == 0, "dropping stopped with the verdict gone");
	stats = read_stats();
	CHECKF(stats && stats_counter(stats, "enforced_evicted") == 1, "the eviction not counted");
	json_decref(stats);
	/* the direction's state evicted too: one window, then dropped again */
	CHECK(bpf_map_delete_elem(vfd, &conn) < 0 && errno == ENOENT);
	CHECK(ffd >= 0 && bpf_map_delete_elem(ffd, &k) == 0);
	for (int i = 0; i < 400; i++, sent++) {
		char payload[200] = { 0 };

		CHECK(send(tx, payload, sizeof(payload), 0) == (ssize_t)sizeof(payload));
		usleep(10000);
		got += drain_socket(rx);
	}
	printf("  %d of %d packets passed after the eviction of both\n", got, sent);
	CHECKF(got >= N && got <= N + 10, "%d of %d packets passed after the eviction", got, sent);
	CHECK(verdict_of(TX_V4, local_port(tx), RX_V4, 6300, 17, &v) == 0);
	send_udp(tx, 5, 200);
	CHECKF(drain_socket(rx) == 0, "dropping did not resume");
	stats = read_stats();
	CHECKF(stats && json_integer_value(json_object_get(json_object_get(stats, "agent"),
							   "verdicts_restored")) == 1,
	       "the agent did not count the connection it decided again");
	json_decref(stats);
	close(vfd);
	close(ffd);
	CHECK(stop_agent(SIGTERM) == 0);
	close(tx);
	close(rx);
}

int main(void)
{
	if (!harness_is_root()) {
		printf("SKIP test_agent_hardening: needs root (XDP, namespaces)\n");
		return 0;
	}
	if (system("command -v tcpreplay >/dev/null") != 0 || access(GEN_FLOWS, X_OK)) {
		printf("SKIP test_agent_hardening: tcpreplay or %s missing (make deps; make)\n",
		       GEN_FLOWS);
		return 0;
	}
	agent_test_setup("test_agent_hardening", TEST_SECONDS);
	RUN(test_stop_leaves_other_pins);
	RUN(test_events_path_is_opened_safely);
	RUN(test_stalled_events_reader_never_stalls_classification);
	RUN(test_events_write_errors_are_reported);
	RUN(test_overloaded_agent_stays_visible_and_stops);
	RUN(test_overflowing_model_refused);
	RUN(test_stats_after_kill_says_nothing_enforces);
	RUN(test_flows_past_memory_refused);
	RUN(test_fifo_model_or_policy_refused);
	RUN(test_evicted_drop_comes_back);
	RUN(test_hostile_keys_cost_the_agent_what_spread_keys_cost);
	return harness_done();
}
