/* SPDX-License-Identifier: MIT */
/* Several odeflow instances on one host, as an operator meets them: the
 * unit pins each interface's maps in /sys/fs/bpf/odeflow-IF, and stats,
 * flows, top and policy find an instance by --iface, take the only one
 * without it, and list them when several run. Also what those commands
 * say to a user who is not root, and what stats says before any window.
 * The test mounts a bpffs of its own on /sys/fs/bpf, in a mount namespace
 * of its own, so it touches nothing of the host's. Needs root. */
#include "agent_harness.h"

#define TEST_SECONDS 120

static char dir_rx[160], dir_lo[160];
/* Above INT32_MAX: printed as a signed int, it would read negative. */
#define BIG_MODEL_ID 4066132362u

/* An agent on iface with its maps in dir, in the background; NAME.pid and
 * NAME.err in the scratch dir. 0 once attached. */
static int start_instance(const char *name, const char *iface, const char *dir, const char *extra)
{
	char err[200];

	snprintf(err, sizeof(err), "%s/%s.err", scratch_dir, name);
	unlink(err);
	sh("%s run --iface %s --model %s --pin-dir %s %s 2>%s & echo $! > %s/%s.pid", odeflow, iface,
	   model_path, dir, extra, err, scratch_dir, name);
	if (!wait_for_text(err, "attached", 5000)) {
		sh("cat %s", err);
		return -1;
	}
	return 0;
}

static void stop_instance(const char *name)
{
	int pid = read_pid(name);

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int t = 0; t < 200 && kill(pid, 0) == 0; t++)
		usleep(10000);
}

static void stop_instances(void)
{
	kill_from_pidfile("rx", SIGKILL);
	kill_from_pidfile("lo", SIGKILL);
}

/* Runs `odeflow ARGS`: its exit status; stdout and stderr in out.txt. */
static int odeflow_says(const char *args)
{
	return sh("%s %s > %s 2>&1", odeflow, args, tmp_path("out.txt"));
}

static bool said(const char *text)
{
	return file_contains(tmp_path("out.txt"), text);
}

static void test_none_runs(void)
{
	CHECK(odeflow_says("stats") == 1);
	CHECKF(said("no odeflow instance here") && sh("test $(wc -l < %s) -eq 1", tmp_path("out.txt")) == 0,
	       "stats with no instance");
	CHECK(odeflow_says("flows -i eth0") == 1 && said("no odeflow instance on eth0"));
}

/* One instance: every command finds it without being told; --iface finds
 * it by its interface; before any window stats says so. */
static void test_one_instance_is_found(void)
{
	char args[256];

	if (start_instance("rx", dev_rx, dir_rx, "--threshold 0")) {
		CHECKF(0, "the agent did not start");
		return;
	}
	CHECK(odeflow_says("stats") == 0);
	CHECKF(said("on ") && said(dev_rx) && said("last 10 s: no windows; since the start: no windows yet"),
	       "stats of an agent that saw no window");
	snprintf(args, sizeof(args), "stats --json -i %s", dev_rx);
	CHECK(odeflow_says(args) == 0 && said("\"running\": true"));
	CHECK(odeflow_says("flows") == 0 && said("0 connection(s)"));
	CHECK(odeflow_says("policy") == 0 && said("pass"));
	CHECK(odeflow_says("top -n 1") == 0);
	CHECK(odeflow_says("stats -i lo") == 1);
	CHECKF(said("no odeflow instance on lo; there are: ") && said(dir_rx), "-i lo with one on rx");
}

/* Two instances: without --iface the commands list them and ask; with it
 * they read the right one; -d still names a pin dir. */
static void test_two_instances_are_listed(void)
{
	char args[256];
	uint16_t sport;

	if (start_instance("lo", "lo", dir_lo, "--xdp-mode generic")) {
		CHECKF(0, "the agent on lo did not start");
		return;
	}
	CHECK(odeflow_says("stats") == 1);
	CHECKF(said("2 odeflow instances: ") && said(dir_rx) && said(dir_lo) &&
		       said("say which with --iface IF") &&
		       sh("test $(wc -l < %s) -eq 1", tmp_path("out.txt")) == 0,
	       "stats with two instances");
	CHECK(odeflow_says("policy show") == 1 && said("say which with --iface IF"));
	CHECK(odeflow_says("stats -i lo") == 0 && said("on lo"));
	CHECK(send_connection(7100, &sport) == N);
	usleep(200000);
	snprintf(args, sizeof(args), "flows --json -i %s", dev_rx);
	CHECK(odeflow_says(args) == 0);
	/* model_id: unsigned, as info, bpftool and IPFIX print it */
	CHECKF(sh("jq -e 'length > 0 and all(.[]; .model_id == %u)' %s >/dev/null", BIG_MODEL_ID,
		  tmp_path("out.txt")) == 0, "flows --json: no connection, or not model_id %u",
	       BIG_MODEL_ID);
	if (harness_current_failed)
		sh("cat %s; cat %s/rx.err", tmp_path("out.txt"), scratch_dir);
	CHECK(sh("%s info %s | grep -q \"^model_id $(jq '.[0].model_id' %s)$\"", odeflow,
		 model_path, tmp_path("out.txt")) == 0);
	snprintf(args, sizeof(args), "policy -d %s set Chat drop", dir_lo);
	CHECK(odeflow_says(args) == 0);
	snprintf(args, sizeof(args), "policy -i lo");
	CHECK(odeflow_says(args) == 0 && sh("grep -q '^Chat *drop' %s", tmp_path("out.txt")) == 0);
	snprintf(args, sizeof(args), "policy -i %s", dev_rx);
	CHECK(odeflow_says(args) == 0 && sh("grep -q '^Chat *pass' %s", tmp_path("out.txt")) == 0);
	stop_instance("lo");
	/* one left running beside nothing: found again without --iface */
	CHECK(odeflow_says("stats") == 0 && said(dev_rx));
	stop_instance("rx");
}

/* A user without CAP_BPF is told what is missing, not "Permission denied
 * (is the agent running?)". */
static void test_not_root(void)
{
	if (start_instance("rx", dev_rx, dir_rx, "")) {
		CHECKF(0, "the agent did not start");
		return;
	}
	CHECK(sh("setpriv --reuid=65534 --regid=65534 --clear-groups %s stats > %s 2>&1", odeflow,
		 tmp_path("out.txt")) == 1);
	CHECKF(said("needs root (or CAP_BPF)") && !said("is the agent running"), "stats as nobody");
	stop_instance("rx");
}

int main(void)
{
	if (!harness_is_root()) {
		printf("SKIP test_instances: needs root (XDP, namespaces)\n");
		return 0;
	}
	if (private_bpffs()) {
		printf("FAIL test_instances: a bpffs of its own on /sys/fs/bpf: %s\n", strerror(errno));
		return 1;
	}
	agent_test_setup("test_instances", TEST_SECONDS);
	netns_before_cleanup = stop_instances;
	snprintf(dir_rx, sizeof(dir_rx), "/sys/fs/bpf/odeflow-%s", dev_rx);
	snprintf(dir_lo, sizeof(dir_lo), "/sys/fs/bpf/odeflow-lo");
	{ /* the agents' model, with a model id past INT32_MAX */
		struct model_config cfg;
		struct model *m = NULL;
		char err[256];

		model_config_defaults(ARCH_ODERNN, &cfg);
		cfg.model_id = BIG_MODEL_ID;
		if (model_create(&cfg, 42, &m, err, sizeof(err)) ||
		    model_save(m, model_path, err, sizeof(err))) {
			printf("FAIL setup: %s\n", err);
			return 1;
		}
		model_free(m);
	}
	RUN(test_none_runs);
	RUN(test_one_instance_is_found);
	RUN(test_two_instances_are_listed);
	RUN(test_not_root);
	return harness_done();
}
