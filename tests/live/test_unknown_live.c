/* SPDX-License-Identifier: MIT */
/* The outcome Unknown in the product, end to end: `odeflow run` on the rx
 * end of a veth pair between two namespaces this test creates, with a model
 * that finds every window unlike what it learnt (a fresh network with the
 * Unknown score 'confidence' and a threshold below any score). Checked: the
 * cascade asks for the next window before it settles on Unknown; the
 * verdict carries VERDICT_UNKNOWN; a policy file or `odeflow policy set`
 * that drops Unknown is refused, and a drop written straight into the
 * policy map is not applied by the XDP program while a mark is; `flows`,
 * `top`, `stats`, `policy`, the events, /metrics and the IPFIX records name it.
 * Needs root; skipped otherwise. */
#include "agent_harness.h"
#include "loader/map_ops.h"

#define TEST_SECONDS 120
#define PORT 6500
/* on the rx namespace's own loopback, unlike test_ops_live's */
#define METRICS_PORT 9474
#define IPFIX_PORT 4742

/* Replaces the harness's model with one that says Unknown for every window. */
static int write_unknown_model(void)
{
	struct model_config cfg;
	struct model *m = NULL;
	char err[256];
	int rc;

	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.unknown = UNKNOWN_CONFIDENCE;
	rc = model_create(&cfg, 42, &m, err, sizeof(err)) ||
	     model_set_unknown_threshold(m, -1, err, sizeof(err)) ||
	     model_save(m, model_path, err, sizeof(err));
	if (rc)
		printf("  %s\n", err);
	model_free(m);
	return rc ? -1 : 0;
}

static int verdict_of_port(int tx, struct verdict *v)
{
	for (int t = 0; t < 100; t++) {
		if (verdict_of(TX_V4, local_port(tx), RX_V4, PORT, 17, v) == 0)
			return 0;
		usleep(20000);
	}
	return -1;
}

/* Waits until the connection's verdict has `stage` windows. */
static bool wait_for_stage(int tx, int stage, struct verdict *v)
{
	for (int t = 0; t < 100; t++) {
		if (verdict_of_port(tx, v) == 0 && v->stage == stage)
			return true;
		usleep(20000);
	}
	return false;
}

/* A policy file that drops Unknown: the agent does not start, one line says why. */
static void test_policy_never_drops_unknown(void)
{
	char opts[256];

	sh("printf 'Video drop\\nUnknown drop\\n' > %s", tmp_path("drop.policy"));
	snprintf(opts, sizeof(opts), "--policy %s", tmp_path("drop.policy"));
	check_refused(opts, 1, "line 2: Unknown may be passed or marked, never dropped");
}

static void test_unknown_reaches_the_product(void)
{
	char opts[512];
	struct verdict v;
	int rx, tx, policy_fd, buckets_fd;
	bool ipfix = system("command -v ipfixDump socat >/dev/null") == 0;
	struct policy drop = { .action = ACTION_DROP };
	char err[256];
	json_t *stats;

	sh("printf '# the model does not know it: a QoS hint, never a drop\\nunknown mark cs1\\n' > %s",
	   tmp_path("mark.policy"));
	if (ipfix) {
		sh("setsid ip netns exec %s timeout -s KILL 60 socat -u TCP-LISTEN:%d,bind=" TX_V4
		   ",reuseaddr CREATE:%s > /dev/null 2>&1 & echo $! > %s/socat.pid", ns_tx, IPFIX_PORT,
		   tmp_path("ipfix.bin"), scratch_dir);
		usleep(300000);
	}
	snprintf(opts, sizeof(opts),
		 "--threshold 0 --max-windows 2 --policy %s --events %s --metrics 127.0.0.1:%d %s",
		 tmp_path("mark.policy"), tmp_path("events.jsonl"), METRICS_PORT,
		 ipfix ? "--ipfix " TX_V4 ":4742 --ipfix-transport tcp" : "");
	if (start_agent(opts))
		return;
	tx = udp_pair(AF_INET, PORT, &rx);

	/* the first window: Unknown, provisional, and the next one asked for */
	send_udp(tx, N, 200);
	CHECK(receive_all(rx, N));
	CHECK(wait_for_stage(tx, 1, &v));
	CHECKF(v.class_id == 5 && (v.flags & VERDICT_UNKNOWN) && (v.flags & VERDICT_PROVISIONAL),
	       "class %d, flags %#x after the first window", v.class_id, v.flags);
	/* the second: settled on Unknown */
	send_udp(tx, N, 200);
	CHECK(receive_all(rx, N));
	CHECK(wait_for_stage(tx, 2, &v));
	CHECKF(v.class_id == 5 && (v.flags & VERDICT_UNKNOWN) && !(v.flags & VERDICT_PROVISIONAL),
	       "class %d, flags %#x after the second window", v.class_id, v.flags);

	/* a drop of Unknown written into the map behind the CLI's back: the
	 * XDP program passes the packets all the same */
	policy_fd = xdp_open_pinned_map(pin_dir, XDP_MAP_POLICY, err, sizeof(err));
	buckets_fd = xdp_open_pinned_map(pin_dir, XDP_MAP_RATE_BUCKETS, err, sizeof(err));
	CHECKF(policy_fd >= 0 && buckets_fd >= 0, "%s", err);
	CHECK(xdp_set_policy(policy_fd, buckets_fd, 5, &drop) == 0);
	send_udp(tx, 10, 200);
	CHECK(receive_all(rx, 10));
	close(policy_fd);
	close(buckets_fd);
	/* the CLI refuses it, and a mark goes back in */
	CHECK(sh("%s policy set Unknown drop --pin-dir %s 2> %s", odeflow, pin_dir,
		 tmp_path("set.err")) != 0);
	CHECK(file_contains(tmp_path("set.err"), "never dropped or rate-limited"));
	CHECK(sh("%s policy set Unknown mark cs1 --pin-dir %s", odeflow, pin_dir) == 0);
	CHECK(sh("%s policy --pin-dir %s | grep -q '^Unknown  *mark 8$'", odeflow, pin_dir) == 0);

	/* flows, top, stats and /metrics, from a second shell */
	CHECK(sh("%s flows --pin-dir %s | grep -q 'Unknown'", odeflow, pin_dir) == 0);
	CHECK(sh("%s top -n 1 --pin-dir %s > %s", odeflow, pin_dir, tmp_path("top.txt")) == 0);
	CHECKF(sh("grep -q '^  Unknown  *1 #' %s && grep -q ' Unknown  *1.000 final' %s",
		  tmp_path("top.txt"), tmp_path("top.txt")) == 0, "top does not show Unknown");
	CHECK(sh("%s stats --json --pin-dir %s > %s", odeflow, pin_dir, tmp_path("stats.json")) == 0);
	stats = json_load_file(tmp_path("stats.json"), 0, NULL);
	{
		json_t *u = json_object_get(json_object_get(stats, "classes"), "Unknown");

		CHECKF(json_integer_value(json_object_get(u, "packets")) >= 10 &&
		       json_integer_value(json_object_get(u, "dropped")) == 0,
		       "stats: Unknown %lld packets, %lld dropped",
		       json_integer_value(json_object_get(u, "packets")),
		       json_integer_value(json_object_get(u, "dropped")));
	}
	json_decref(stats);
	CHECK(sh("%s stats --pin-dir %s | grep -q '^Unknown '", odeflow, pin_dir) == 0);
	CHECK(sh("curl -s -m 5 http://127.0.0.1:%d/metrics > %s", METRICS_PORT,
		 tmp_path("metrics.txt")) == 0);
	CHECK(file_contains(tmp_path("metrics.txt"),
			    "odeflow_verdicts_total{class=\"Unknown\",stage=\"2\"} 1\n"));
	CHECK(sh("grep -q 'odeflow_policy_packets_total{class=\"Unknown\",action=\"mark\"} [1-9]' %s",
		 tmp_path("metrics.txt")) == 0);
	CHECK(sh("grep -q 'odeflow_policy_packets_total{class=\"Unknown\",action=\"drop\"} 0$' %s",
		 tmp_path("metrics.txt")) == 0);
	CHECK(sh("grep -q 'odeflow_connections{class=\"Unknown\",state=\"final\"} 1$' %s",
		 tmp_path("metrics.txt")) == 0);
	CHECK(stop_agent(SIGINT) == 0);
	close(tx);
	close(rx);

	/* the events and the IPFIX records */
	CHECK(sh("grep -c '\"class\":\"Unknown\"' %s | grep -qx 2", tmp_path("events.jsonl")) == 0);
	if (!ipfix) {
		SKIP("ipfixDump or socat missing (make deps: libfixbuf-tools, socat)");
		return;
	}
	usleep(200000); /* the agent closed the connection: socat exits */
	kill_from_pidfile("socat", SIGKILL);
	CHECK(sh("ipfixDump --rfc5610 --data --in %s > %s 2>&1", tmp_path("ipfix.bin"),
		 tmp_path("ipfixdump.txt")) == 0);
	CHECKF(sh("grep -c 'applicationName.*) Unknown$' %s | grep -qx 2",
		  tmp_path("ipfixdump.txt")) == 0, "the IPFIX records do not name Unknown twice");
}

int main(void)
{
	if (!harness_is_root()) {
		printf("SKIP test_unknown_live: needs root (XDP, namespaces)\n");
		return 0;
	}
	if (system("command -v curl >/dev/null") != 0) {
		printf("SKIP test_unknown_live: curl missing (make deps)\n");
		return 0;
	}
	agent_test_setup("test_unknown_live", TEST_SECONDS);
	if (write_unknown_model()) {
		printf("FAIL setup: cannot write the Unknown model\n");
		return 1;
	}
	RUN(test_policy_never_drops_unknown);
	RUN(test_unknown_reaches_the_product);
	return harness_done();
}
