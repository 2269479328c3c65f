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
	if (!wait_for_text(err, "attached", AGENT_START_MS)) {
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

/* The class a connection from tx got, in the instance's verdicts map. */
static int class_now(uint16_t sport, uint16_t dport, const char *dir, char *cls, size_t len)
{
	char args[256];

	snprintf(args, sizeof(args), "flows --json -d %s", dir);
	if (odeflow_says(args))
		return -1;
	return sh("jq -r '.[] | select(.sport == %u and .dport == %u) | .class' %s | head -1 > %s &&"
		  " test -s %s", sport, dport, tmp_path("out.txt"), tmp_path("class.txt"),
		  tmp_path("class.txt")) ||
		       !fgets(cls, (int)len, fopen(tmp_path("class.txt"), "r")) ? -1 : 0;
}

/* A kept agent goes on enforcing after it stops; odeflow detach stops
 * that: the hook is free, the pins gone, the dropped connection passes.
 * A running agent is not detached from under it. At XDP and at tcx. */
static void detach_after_keep(const char *hook)
{
	char opts[256], cls[64] = "", args[512];
	int rx, tx;

	snprintf(opts, sizeof(opts), "--threshold 0 --keep --hook %s", hook);
	if (start_instance("rx", dev_rx, dir_rx, opts)) {
		CHECKF(0, "the agent did not start");
		return;
	}
	tx = udp_pair(AF_INET, 7200, &rx);
	send_udp(tx, N, 200);
	CHECK(receive_all(rx, N));
	usleep(200000);
	CHECK(class_now(local_port(tx), 7200, dir_rx, cls, sizeof(cls)) == 0);
	cls[strcspn(cls, "\n")] = '\0';
	snprintf(args, sizeof(args), "policy -i %s set %s drop", dev_rx, cls);
	CHECK(odeflow_says(args) == 0);
	CHECK(odeflow_says("detach") == 1 && said("runs on") && said("stop it"));
	stop_instance("rx");
	send_udp(tx, 10, 200);
	usleep(50000);
	CHECKF(drain_socket(rx) == 0, "%s: the kept sampler stopped enforcing", hook);
	snprintf(args, sizeof(args), "detach -i %s", dev_rx);
	CHECK(odeflow_says(args) == 0);
	CHECKF(said("detached from") && said("its link"), "%s: what detach said", hook);
	send_udp(tx, 10, 200);
	usleep(50000);
	CHECKF(drain_socket(rx) == 10, "%s: still dropped after detach", hook);
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
	CHECK(sh("! tc filter show dev %s ingress 2>/dev/null | grep -q odeflow", dev_rx) == 0);
	CHECK(sh("test ! -e %s", dir_rx) == 0);
	CHECK(odeflow_says("detach") == 1 && said("no odeflow instance here"));
	if (harness_current_failed)
		sh("cat %s; ls -la %s 2>&1", tmp_path("out.txt"), dir_rx);
	close(tx);
	close(rx);
}

static void test_detach_what_keep_left_at_xdp(void)
{
	detach_after_keep("xdp");
}

static void test_detach_what_keep_left_at_tcx(void)
{
	if (system("uname -r | awk -F. '$1 > 6 || ($1 == 6 && $2 >= 6) { exit 0 } { exit 1 }'")) {
		SKIP("no tcx before kernel 6.6");
		return;
	}
	detach_after_keep("tcx");
}

/* `odeflow run` refused: exactly one line on stderr (nothing said before
 * it), the exit status, nothing attached, no pin left. */
static void check_one_line(const char *opts, int status, const char *message)
{
	char cmd[8192];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s run --iface %s --model %s %s 2> %s", odeflow, dev_rx, model_path,
		 opts, tmp_path("start.err"));
	rc = system(cmd);
	rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
	CHECKF(rc == status, "%.80s: exit status %d, not %d", opts, rc, status);
	CHECKF(file_contains(tmp_path("start.err"), message), "%.80s: no '%s' in its error", opts,
	       message);
	CHECKF(sh("test $(wc -l < %s) -eq 1", tmp_path("start.err")) == 0, "%.80s: not one line", opts);
	CHECK(sh("! ip link show dev %s | grep -q xdp", dev_rx) == 0);
	/* maps.debug and progs.debug are the kernel's, in every bpffs */
	CHECKF(sh("test -z \"$(ls /sys/fs/bpf | grep -v '[.]debug$')\"") == 0, "a pin left");
	if (harness_current_failed)
		sh("ls -R /sys/fs/bpf | head");
	if (harness_current_failed)
		sh("cat %s", tmp_path("start.err"));
}

/* Start-up errors: checked before anything is said; a value that cannot
 * do exits 2 (as a wrong option does), a start that fails on the host
 * exits 1. */
static void test_startup_errors_are_one_line(void)
{
	static char opts[4200], long_dir[4100];
	int taken = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	socklen_t len = make_addr(AF_INET, "127.0.0.1", 9466, &ss);

	CHECK(taken >= 0 && bind(taken, (struct sockaddr *)&ss, len) == 0 && listen(taken, 1) == 0);
	check_one_line("--metrics 127.0.0.1:9466", 1, "Address already in use");
	check_one_line("--metrics 9464", 2, "--metrics '9464' is not HOST:PORT");
	check_one_line("--ipfix 10.200.0.1", 2, "--ipfix '10.200.0.1' is not HOST:PORT");
	check_one_line("--ipfix no-such-collector.invalid:4739", 1, "does not resolve");
	close(taken);
	snprintf(opts, sizeof(opts), "--events %s/no/such/dir/events.jsonl", scratch_dir);
	check_one_line(opts, 1, "events");
	snprintf(opts, sizeof(opts), "--events %s", scratch_dir);
	check_one_line(opts, 1, scratch_dir);
	check_one_line("--pin-dir odeflow-relative", 2, "--pin-dir 'odeflow-relative' is not an absolute path");
	check_one_line("--pin-dir ''", 2, "--pin-dir '' is not an absolute path");
	memset(long_dir, 'a', 4050);
	long_dir[0] = '/';
	long_dir[4050] = '\0';
	snprintf(opts, sizeof(opts), "--pin-dir %s", long_dir);
	check_one_line(opts, 2, "...' (4050 characters) is not an absolute path of fewer than 4000");
	snprintf(opts, sizeof(opts), "--pin-dir %s/x", model_path); /* under a regular file */
	check_one_line(opts, 1, model_path);
	check_one_line("--pin-dir /proc/odeflow", 1, "/proc/odeflow");
	snprintf(opts, sizeof(opts), "--pin-dir %s/not-bpffs", scratch_dir);
	check_one_line(opts, 1, "not-bpffs");
	check_one_line("--threshold 1.5", 2, "--threshold '1.5' is not");
	{
		char cmd[1024];
		int rc;

		snprintf(cmd, sizeof(cmd), "%s run --iface lo --xdp-mode native --model %s 2> %s", odeflow,
			 model_path, tmp_path("start.err"));
		rc = system(cmd);
		CHECKF(WIFEXITED(rc) && WEXITSTATUS(rc) == 1, "lo native: %d", rc);
		CHECKF(sh("test $(wc -l < %s) -eq 1", tmp_path("start.err")) == 0, "lo native: not one line");
		if (harness_current_failed)
			sh("cat %s", tmp_path("start.err"));
	}
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
	RUN(test_startup_errors_are_one_line);
	RUN(test_one_instance_is_found);
	RUN(test_two_instances_are_listed);
	RUN(test_not_root);
	RUN(test_detach_what_keep_left_at_xdp);
	RUN(test_detach_what_keep_left_at_tcx);
	return harness_done();
}
