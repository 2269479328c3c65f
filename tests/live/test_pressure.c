/* SPDX-License-Identifier: MIT */
/* The datapath under pressure (issue: under pressure, 1 and 2): with more
 * live connections than --flows, a DROP verdict evicted by churn costs the
 * connection at most one window of N packets, never more; a slow flow is
 * admitted and classified beside a one-packet flood at top speed, which
 * buys no state. Real agent, real veth, replayed traffic counted by tcpdump
 * behind the XDP program. */
#include "agent_harness.h"

#define TEST_SECONDS 300
#define GEN_FLOWS "build/tools/gen_flows"
#define CHURN_MAX_FLOWS 8192
#define CHURN_ROUND_PACKETS 40
#define CHURN_ROUNDS 3
#define CHURN_PPS 20000
/* flows sending at once, taking turns packet by packet (gen_flows) */
#define CHURN_CONCURRENT 64

static int start_tcpdump(const char *file)
{
	char err[160];

	snprintf(err, sizeof(err), "%s/tcpdump.err", scratch_dir);
	sh("timeout 120 tcpdump --immediate-mode -i %s -Q in -B 16384 -U -n -w %s/%s udp 2>%s & echo $! > %s/tcpdump.pid",
	   dev_rx, scratch_dir, file, err, scratch_dir);
	return wait_for_text(err, "listening on", 5000) ? 0 : -1;
}

static void stop_tcpdump(void)
{
	int pid = read_pid("tcpdump");

	usleep(300000); /* the last packets reach the capture */
	kill_from_pidfile("tcpdump", SIGINT);
	for (int t = 0; pid > 0 && t < 300 && kill(pid, 0) == 0; t++)
		usleep(10000);
}

/* Packets per flow of tools/bench/gen_flows.c (its flow f comes from
 * 10.200.1.0 + f, port 1024) in a capture, as tcpdump reads it; returns the
 * packets counted, -1 if the capture cannot be read. */
static long count_per_flow(const char *file, int *per_flow, int flows)
{
	char counts[200];
	unsigned a, b, c, d;
	long total = 0;
	int n;
	FILE *f;

	snprintf(counts, sizeof(counts), "%s/%s.counts", scratch_dir, file);
	if (sh("tcpdump -r %s/%s -n 2>/dev/null | awk '{print $3}' | sort | uniq -c > %s",
	       scratch_dir, file, counts))
		return -1;
	f = fopen(counts, "r");
	if (!f)
		return -1;
	memset(per_flow, 0, (size_t)flows * sizeof(*per_flow));
	while (fscanf(f, " %d %u.%u.%u.%u.%*u", &n, &a, &b, &c, &d) == 5) {
		long flow = (long)(a << 24 | b << 16 | c << 8 | d) - 0x0ac80100;

		if (flow >= 0 && flow < flows) {
			per_flow[flow] += n;
			total += n;
		}
	}
	fclose(f);
	return total;
}

static int replay_at(const char *pcap, int pps)
{
	return sh("ip netns exec %s timeout 60 tcpreplay -q --pps=%d -i %s %s/%s >/dev/null 2>&1",
		  ns_tx, pps, dev_tx, scratch_dir, pcap);
}

/* What a churn run saw: packets each flow passed in each round, and the
 * agent's counters at the end. */
struct churn {
	int flows;
	int passed[CHURN_ROUNDS][CHURN_MAX_FLOWS];
	long long windows, evicted, p999_us;
};

/* The most packets a flow passed in a round, and (*over) in how many
 * flow-rounds more than `bound` passed. */
static int churn_worst(const struct churn *c, int bound, int *over)
{
	int worst = 0;

	*over = 0;
	for (int r = 0; r < CHURN_ROUNDS; r++)
		for (int f = 0; f < c->flows; f++) {
			worst = c->passed[r][f] > worst ? c->passed[r][f] : worst;
			*over += c->passed[r][f] > bound;
		}
	return worst;
}

/* --flows 1024, a drop-everything policy, --threshold 0: `flows` one-way
 * UDP flows send N packets each, then CHURN_ROUNDS rounds of 40 more packets
 * per flow at 20,000 packets/s, 64 flows at a time taking turns (so over a
 * round they cycle through the entries of each map). 0, or -1 if the run
 * failed. */
static int churn_rounds(int flows, struct churn *c)
{
	char opts[256], cap[32];
	json_t *stats;
	int rc = 0;

	c->flows = flows;
	snprintf(opts, sizeof(opts), "--flows 1024 --threshold 0 --policy %s", tmp_path("drop.policy"));
	if (sh("printf 'VoIP drop\nVideo drop\nFile_Transfer drop\nChat drop\nBrowsing drop\n' > %s",
	       tmp_path("drop.policy")) ||
	    sh("%s %s/first.pcap %d %d %d >/dev/null && %s %s/round.pcap %d %d %d >/dev/null",
	       GEN_FLOWS, scratch_dir, flows, N, CHURN_CONCURRENT, GEN_FLOWS, scratch_dir, flows,
	       CHURN_ROUND_PACKETS, CHURN_CONCURRENT) ||
	    start_agent(opts))
		return -1;
	CHECK(replay_at("first.pcap", CHURN_PPS) == 0);
	usleep(200000);
	for (int r = 0; r < CHURN_ROUNDS && !rc; r++) {
		int over = 0, most = 0, whole = 0;
		long passed;

		snprintf(cap, sizeof(cap), "round%d.pcap", r);
		if (start_tcpdump(cap)) {
			rc = -1;
			break;
		}
		CHECK(replay_at("round.pcap", CHURN_PPS) == 0);
		stop_tcpdump();
		passed = count_per_flow(cap, c->passed[r], flows);
		if (passed < 0)
			rc = -1;
		for (int f = 0; f < flows; f++) {
			over += c->passed[r][f] > N;
			whole += c->passed[r][f] == CHURN_ROUND_PACKETS;
			most = c->passed[r][f] > most ? c->passed[r][f] : most;
		}
		printf("  %d flows, round %d: %ld of %d packets passed; %d flows passed more than %d, "
		       "%d all %d; at most %d\n", flows, r + 1, passed, flows * CHURN_ROUND_PACKETS,
		       over, N, whole, CHURN_ROUND_PACKETS, most);
	}
	stats = read_stats();
	if (!stats)
		rc = -1;
	if (stats) {
		json_t *agent = json_object_get(stats, "agent");
		long long restored = json_integer_value(json_object_get(agent, "verdicts_restored"));

		c->windows = stats_counter(stats, "windows");
		c->evicted = stats_counter(stats, "enforced_evicted") + restored;
		c->p999_us = json_integer_value(json_object_get(agent, "latency_p999_us"));
		printf("  counters: new_flows %lld, windows %lld, resampled %lld, action_drop %lld, "
		       "enforced_evicted %lld, verdicts_restored %lld; verdict latency p99 %lld us, "
		       "p99.9 %lld us\n", stats_counter(stats, "new_flows"), c->windows,
		       stats_counter(stats, "resampled"), stats_counter(stats, "action_drop"),
		       c->evicted - restored, restored,
		       (long long)json_integer_value(json_object_get(agent, "latency_p99_us")),
		       c->p999_us);
		json_decref(stats);
	}
	CHECK(stop_agent(SIGTERM) == 0);
	return rc;
}

/* The scenario: 3,000 flows at --flows 1024. No flow passes more
 * than one window's packets (N) in any round. */
static void test_drop_survives_churn(void)
{
	static struct churn c;
	int over, worst;

	if (churn_rounds(3000, &c)) {
		CHECKF(0, "the run failed");
		return;
	}
	worst = churn_worst(&c, N, &over);
	CHECKF(worst <= N, "%d flow-rounds passed more than one window (%d packets), one %d",
	       over, N, worst);
}

/* Twice the connections "verdicts" holds: every round evicts each
 * connection's verdict once, and each eviction costs it one window (the
 * kernel samples it once, at once). What passes beyond the window's N
 * packets is what arrives while the agent answers: a flow's packets are
 * CHURN_CONCURRENT / CHURN_PPS apart, and the agent's p99.9 latency (what
 * this machine's load makes it) says how many; at most one flow-round in a
 * hundred may pass more. Evictions are counted. */
static void test_drop_beyond_capacity(void)
{
	static struct churn c;
	long long gap_us = 1000000LL * CHURN_CONCURRENT / CHURN_PPS;
	int over, bound;

	if (churn_rounds(CHURN_MAX_FLOWS, &c)) {
		CHECKF(0, "the run failed");
		return;
	}
	bound = N + (int)((c.p999_us + gap_us - 1) / gap_us);
	churn_worst(&c, bound, &over);
	CHECKF(c.windows <= (long long)CHURN_MAX_FLOWS * (CHURN_ROUNDS + 1),
	       "%lld windows for %d flows in %d passes: more than one per eviction", c.windows,
	       CHURN_MAX_FLOWS, CHURN_ROUNDS + 1);
	CHECKF(over <= CHURN_ROUNDS * CHURN_MAX_FLOWS / 100, "%d flow-rounds passed more than one "
	       "window (%d) and the %d packets of a p99.9 verdict latency (%lld us)", over, N,
	       bound - N, c.p999_us);
	CHECKF(c.evicted > 0, "no eviction counted");
}

/* A slow real flow (N packets, one every 0.5 s) beside a flood of
 * one-packet flows (spoofed sources, each seen once) at the top speed
 * tcpreplay reaches on the same veth, for as long as the slow flow sends:
 * the slow flow is admitted on its second packet and classified, while
 * the flood takes no entry of "flows". */
static void slow_flow_during_flood(const char *extra)
{
	char opts[128], pid[32];
	long long packets0, packets1, held0, held, admitted;
	double t0, t1;
	struct verdict v;
	json_t *stats;
	int rx, tx;

	snprintf(opts, sizeof(opts), "--threshold 0 %s", extra);
	if (access(tmp_path("flood.pcap"), R_OK) &&
	    sh("%s %s 4000000 1 256 spread one 40 >/dev/null", GEN_FLOWS, tmp_path("flood.pcap"))) {
		CHECKF(0, "cannot write the flood");
		return;
	}
	if (start_agent(opts))
		return;
	/* looped: a direction comes again after a whole pass, long after its
	 * held first packet was pushed out by newer ones */
	sh("ip netns exec %s timeout 60 tcpreplay -q --topspeed --loop=3 -i %s %s >/dev/null 2>&1 & "
	   "echo $! > %s/replay.pid", ns_tx, dev_tx, tmp_path("flood.pcap"), scratch_dir);
	usleep(500000);
	stats = read_stats();
	packets0 = stats_counter(stats, "packets");
	held0 = stats_counter(stats, "first_packets");
	admitted = stats_counter(stats, "new_flows");
	t0 = harness_now_ms();
	json_decref(stats);
	tx = udp_pair(AF_INET, 6400, &rx);
	for (int i = 0; i < N; i++) { /* a packet every 0.5 s */
		char payload[300] = { 0 };

		CHECK(send(tx, payload, sizeof(payload), 0) == (ssize_t)sizeof(payload));
		if (i < N - 1)
			usleep(500000);
	}
	for (int t = 0; t < 100 && verdict_of(TX_V4, local_port(tx), RX_V4, 6400, 17, &v); t++)
		usleep(20000);
	stats = read_stats();
	packets1 = stats_counter(stats, "packets");
	t1 = harness_now_ms();
	snprintf(pid, sizeof(pid), "%d", read_pid("replay"));
	CHECKF(sh("kill -0 %s", pid) == 0, "the flood ended before the slow flow did");
	printf("  %s: flood at %.0f packets/s while the slow flow sent\n", extra,
	       (packets1 - packets0) * 1e3 / (t1 - t0));
	CHECKF(verdict_of(TX_V4, local_port(tx), RX_V4, 6400, 17, &v) == 0,
	       "%s: no verdict for the slow flow during the flood", extra);
	held = stats_counter(stats, "first_packets") - held0;
	admitted = stats_counter(stats, "new_flows") - admitted;
	CHECKF(held > (packets1 - packets0) / 2 && admitted <= 10,
	       "%s: of %lld packets, %lld first packets held, %lld directions admitted", extra,
	       packets1 - packets0, held, admitted);
	json_decref(stats);
	kill_from_pidfile("replay", SIGTERM);
	CHECK(stop_agent(SIGTERM) == 0);
	close(tx);
	close(rx);
}

static void test_slow_flow_during_flood(void)
{
	slow_flow_during_flood("--flows 262144"); /* the default */
}

static void test_slow_flow_during_flood_16384(void)
{
	slow_flow_during_flood("--flows 16384");
}

int main(void)
{
	if (!harness_is_root()) {
		printf("SKIP test_pressure: needs root (XDP, namespaces)\n");
		return 0;
	}
	if (system("command -v tcpreplay >/dev/null && command -v tcpdump >/dev/null") != 0 ||
	    access(GEN_FLOWS, X_OK)) {
		printf("SKIP test_pressure: tcpreplay, tcpdump or %s missing (make deps; make)\n",
		       GEN_FLOWS);
		return 0;
	}
	agent_test_setup("test_pressure", TEST_SECONDS);
	RUN(test_drop_survives_churn);
	RUN(test_drop_beyond_capacity);
	RUN(test_slow_flow_during_flood);
	RUN(test_slow_flow_during_flood_16384);
	return harness_done();
}
