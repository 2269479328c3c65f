/* SPDX-License-Identifier: MIT */
/* What the live tests of `odeflow run` share: test hosts (netns.h), the
 * agent started in the background on the rx end with a fresh model and a
 * private bpffs for its pins, and small helpers to send traffic and read
 * what the agent left in its maps. */
#ifndef ODEFLOW_TEST_AGENT_HARNESS_H
#define ODEFLOW_TEST_AGENT_HARNESS_H

#include <bpf/bpf.h>
#include <errno.h>
#include <jansson.h>
#include <sys/stat.h>
#include <time.h>

#include "common/flow_key.h"
#include "engine/model.h"
#include "harness.h"
#include "loader/pin_dir.h"
#include "loader/xdp_loader.h"
#include "netns.h"

#define N 20
#define ODEFLOW "build/odeflow"

static char odeflow[512], model_path[128], pin_dir[128];

static inline void kill_from_pidfile(const char *name, int sig)
{
	char path[160];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/%s.pid", scratch_dir, name);
	f = fopen(path, "r");
	if (f && fscanf(f, "%d", &pid) == 1 && pid > 0)
		kill(pid, sig);
	if (f)
		fclose(f);
}

static inline void stop_everything(void)
{
	kill_from_pidfile("agent", SIGKILL);
	kill_from_pidfile("tcpdump", SIGKILL);
}

static inline bool file_contains(const char *path, const char *text)
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, text) != NULL;
}

/* Waits up to `ms` for text to show up in a file. */
static inline bool wait_for_text(const char *path, const char *text, int ms)
{
	for (int t = 0; t < ms; t += 20) {
		if (file_contains(path, text))
			return true;
		usleep(20000);
	}
	return false;
}

static inline int read_pid(const char *name)
{
	char path[160];
	int pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.pid", scratch_dir, name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

/* Whether a process still runs: an exited one whose parent has not reaped
 * it yet (PID 1 here reaps late) is a zombie, and does not. */
static inline bool process_running(int pid)
{
	char path[64], state = 'Z';
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 'Z';
	fclose(f);
	return state != 'Z' && state != 'X';
}

/* How long an agent may take to attach: loading and verifying the program
 * (twice in libxdp's dispatcher) takes seconds in the 6.1 VM, whose CPU is
 * emulated, on a loaded host (a start that takes over a second says how
 * long it took). */
#define AGENT_START_MS 30000

/* Starts the agent in the background with extra options; its exit status
 * lands in agent.rc. Returns 0 once it says it is attached; one that has
 * not within AGENT_START_MS fails the test and is killed, so it holds
 * nothing the next test needs (a caller that returns early on -1 does not
 * pass). Says how long a start that took over a second took. */
static inline int start_agent(const char *extra)
{
	struct timespec t0, t1;
	char err[160];
	long ms;

	snprintf(err, sizeof(err), "%s/agent.err", scratch_dir);
	unlink(err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sh("rm -f %s/agent.rc; (%s run --iface %s --model %s --pin-dir %s %s 2>%s & echo $! > %s/agent.pid;"
	   " wait $!; echo $? > %s/agent.rc) &",
	   scratch_dir, odeflow, dev_rx, model_path, pin_dir, extra, err, scratch_dir, scratch_dir);
	if (!wait_for_text(err, "attached", AGENT_START_MS)) {
		sh("cat %s", err);
		CHECKF(false, "the agent did not attach within %d ms with '%s'", AGENT_START_MS, extra);
		kill_from_pidfile("agent", SIGKILL);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (ms > 1000)
		printf("  the agent took %ld ms to attach\n", ms);
	return 0;
}

/* How long the agent may take to stop, from the signal to its exit: the
 * README says within a second (finishing the batches it queued); twice
 * that holds with margin on a loaded 2-vCPU machine. */
#define AGENT_STOP_MS 2000

/* Signals the agent, measures and prints how long it took to exit; returns
 * its exit status, or -1 if it took longer than harness_ms(AGENT_STOP_MS). */
static inline int stop_agent(int sig)
{
	char rc_path[160];
	double start = harness_now_ms(), took;
	int rc = -1, bound = harness_ms(AGENT_STOP_MS);

	kill_from_pidfile("agent", sig);
	snprintf(rc_path, sizeof(rc_path), "%s/agent.rc", scratch_dir);
	/* waits past the bound, up to four times it, to say how long it took */
	took = WAIT_UNTIL(({
		FILE *f = fopen(rc_path, "r");
		bool done = f && fscanf(f, "%d", &rc) == 1;

		if (f)
			fclose(f);
		done;
	}), 4 * AGENT_STOP_MS);
	if (took < 0)
		printf("  the agent had not stopped %.0f ms after signal %d\n", harness_now_ms() - start,
		       sig);
	else
		printf("  the agent stopped in %.0f ms after signal %d (at most %d)\n", took, sig, bound);
	return took >= 0 && took <= bound ? rc : -1;
}

static inline int verdict_of(const char *src, uint16_t sport, const char *dst, uint16_t dport, int proto,
		      struct verdict *v)
{
	char err[256];
	struct flow_key k, conn;
	int fd = xdp_open_pinned_map(pin_dir, XDP_MAP_VERDICTS, err, sizeof(err)), rc;

	if (fd < 0)
		return -1;
	flow_key_make(&k, src, sport, dst, dport, (uint8_t)proto);
	flow_key_canonical(&k, &conn);
	rc = bpf_map_lookup_elem(fd, &conn, v);
	close(fd);
	return rc;
}

/* Sends count datagrams of `size` bytes on a connected UDP socket. */
static inline void send_udp(int tx, int count, int size)
{
	char payload[1500] = { 0 };

	for (int i = 0; i < count; i++) {
		CHECK(send(tx, payload, (size_t)size, 0) == size);
		usleep(500);
	}
}

/* A UDP connection tx -> rx on a fixed port; returns the sender. */
static inline int udp_pair(int family, uint16_t port, int *receiver)
{
	struct sockaddr_storage to;
	const char *dst = family == AF_INET ? RX_V4 : RX_V6;
	socklen_t len = make_addr(family, dst, port, &to);
	int tx = tx_socket(family, SOCK_DGRAM), one = 1;

	*receiver = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(tx >= 0 && *receiver >= 0);
	CHECK(bind(*receiver, (struct sockaddr *)&to, len) == 0);
	CHECK(connect(tx, (struct sockaddr *)&to, len) == 0);
	setsockopt(*receiver, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
	return tx;
}

/* Rewrites a bundled capture into 10.200.0.0/16 (IPv6 dropped) and replays
 * it from the tx namespace, paced, bounded in time. */
static inline int replay(const char *capture, int pps)
{
	return sh("tools/rewrite_capture.sh tests/data/pcaps/%s %s/replay.pcap &&"
		  " ip netns exec %s timeout 30 tcpreplay -q --pps=%d -i %s %s/replay.pcap >/dev/null 2>&1",
		  capture, scratch_dir, ns_tx, pps, dev_tx, scratch_dir);
}

/* The events file, one JSON object a line, as an array. */
static inline json_t *read_events(const char *path)
{
	json_t *all = json_array();
	json_error_t jerr;
	char line[8192];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		json_t *e = json_loads(line, 0, &jerr);

		CHECKF(e != NULL, "event is not JSON: %s", jerr.text);
		if (e)
			json_array_append_new(all, e);
	}
	if (f)
		fclose(f);
	return all;
}

/* `odeflow stats --json` of the running agent, parsed; NULL if it failed. */
static inline json_t *read_stats(void)
{
	char path[160];
	json_error_t jerr;

	if (sh("%s stats --json --pin-dir %s > %s/stats.json", odeflow, pin_dir, scratch_dir))
		return NULL;
	snprintf(path, sizeof(path), "%s/stats.json", scratch_dir);
	return json_load_file(path, 0, &jerr);
}

static inline long long stats_counter(json_t *stats, const char *name)
{
	return json_integer_value(json_object_get(json_object_get(stats, "counters"), name));
}

/* `odeflow run --quiet` expected to fail at once (so its error is all it
 * prints): its exit status, stderr in err_file. One that runs instead is
 * stopped after 20 s (status 124). */
static inline int run_refused(const char *extra, const char *err_file)
{
	char cmd[2048];
	int rc;

	snprintf(cmd, sizeof(cmd), "timeout 20 %s run --quiet --iface %s --model %s --pin-dir %s %s 2>%s", odeflow,
		 dev_rx, model_path, pin_dir, extra, tmp_path(err_file));
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* `odeflow run` with these options is refused: exit status `status` (2: a
 * value that cannot do; 1: a start that fails), one line that holds
 * `message`, nothing attached. */
static inline void check_refused(const char *extra, int status, const char *message)
{
	CHECKF(run_refused(extra, "refused.err") == status, "%s", extra);
	CHECKF(file_contains(tmp_path("refused.err"), message), "%s: no '%s' in its error", extra,
	       message);
	CHECK(sh("test $(wc -l < %s) -eq 1", tmp_path("refused.err")) == 0);
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
}

/* A fresh UDP connection to port; sends N datagrams; returns how many arrived. */
static inline int send_connection(uint16_t port, uint16_t *sport)
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
static inline bool has_event(uint16_t sport, uint16_t dport)
{
	char text[96];

	snprintf(text, sizeof(text), "\"sport\":%u,\"dport\":%u", sport, dport);
	return wait_for_text(tmp_path("events.jsonl"), text, 2000);
}

/* Namespaces, a fresh model and a private bpffs; bounded by `seconds`. */
static inline void agent_test_setup(const char *name, int seconds)
{
	struct model_config cfg;
	struct model *m = NULL;
	char err[256], cwd[256];

	if (!getcwd(cwd, sizeof(cwd)))
		exit(1);
	snprintf(odeflow, sizeof(odeflow), "%s/%s", cwd, getenv("ODEFLOW") ? getenv("ODEFLOW") : ODEFLOW);
	netns_before_cleanup = stop_everything;
	if (setup_namespaces(name, seconds)) {
		printf("FAIL setup: cannot create the test namespaces\n");
		exit(1);
	}
	snprintf(model_path, sizeof(model_path), "%s/model.safetensors", scratch_dir);
	snprintf(pin_dir, sizeof(pin_dir), "%s/bpf/odeflow", scratch_dir);
	model_config_defaults(ARCH_ODERNN, &cfg);
	if (model_create(&cfg, 42, &m, err, sizeof(err)) || model_save(m, model_path, err, sizeof(err)) ||
	    sh("mkdir -p %s/bpf && mount -t bpf bpf %s/bpf", scratch_dir, scratch_dir)) {
		printf("FAIL setup: %s\n", err);
		exit(1);
	}
	model_free(m);
}

#endif
