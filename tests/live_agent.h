/* SPDX-License-Identifier: MIT */
/* `odeflow run` as a live test drives it: the namespaces and veth pair of
 * netns.h, a freshly initialised model and a private bpffs in the scratch
 * folder, the agent started in the background on the rx end (its stderr in
 * agent.err, its pid in agent.pid, its exit status in agent.rc), and UDP
 * connections from the tx end. The model is untrained: these tests check
 * the plumbing, not accuracy. */
#ifndef ODEFLOW_TEST_LIVE_AGENT_H
#define ODEFLOW_TEST_LIVE_AGENT_H

#include <signal.h>

#include "engine/model.h"
#include "harness.h"
#include "netns.h"

static char odeflow[512], model_path[160], pin_dir[160];

static inline bool file_contains(const char *path, const char *text)
{
	char buf[65536];
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
	FILE *f = fopen(tmp_path(name), "r");
	int pid = -1;

	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return pid;
}

/* Signals the process whose pid a test wrote into NAME (e.g. "agent.pid"). */
static inline void kill_from_pidfile(const char *name, int sig)
{
	int pid = read_pid(name);

	if (pid > 0)
		kill(pid, sig);
}

/* Starts the agent in the background with extra options. Returns 0 once it
 * says it is attached; -1 (its stderr printed) if it did not within 5 s. */
static inline int start_agent(const char *extra)
{
	const char *err = tmp_path("agent.err");

	unlink(err);
	sh("rm -f %s/agent.rc; (%s run --iface %s --model %s --pin-dir %s %s 2>%s & echo $! > %s/agent.pid;"
	   " wait $!; echo $? > %s/agent.rc) &",
	   scratch_dir, odeflow, dev_rx, model_path, pin_dir, extra, err, scratch_dir, scratch_dir);
	if (!wait_for_text(err, "attached", 5000)) {
		sh("cat %s", err);
		return -1;
	}
	return 0;
}

/* Signals the agent; returns its exit status, or -1 if it did not exit
 * within `ms`. */
static inline int stop_agent(int sig, int ms)
{
	int rc = -1;

	kill_from_pidfile("agent.pid", sig);
	for (int t = 0; t <= ms; t += 10) {
		FILE *f = fopen(tmp_path("agent.rc"), "r");

		if (f) {
			int ok = fscanf(f, "%d", &rc) == 1;

			fclose(f);
			if (ok)
				return rc;
		}
		usleep(10000);
	}
	return -1;
}

/* The namespaces, the model and the bpffs; exits the test if they fail. */
static inline void live_agent_setup(const char *test_name, unsigned seconds)
{
	struct model_config cfg;
	struct model *m = NULL;
	char err[256] = "", cwd[256];

	if (!getcwd(cwd, sizeof(cwd)))
		exit(1);
	snprintf(odeflow, sizeof(odeflow), "%s/%s", cwd,
		 getenv("ODEFLOW") ? getenv("ODEFLOW") : "build/odeflow");
	if (setup_namespaces(test_name, seconds)) {
		printf("FAIL %s: cannot create the test namespaces\n", test_name);
		exit(1);
	}
	snprintf(model_path, sizeof(model_path), "%s/model.safetensors", scratch_dir);
	snprintf(pin_dir, sizeof(pin_dir), "%s/bpf/odeflow", scratch_dir);
	model_config_defaults(ARCH_ODERNN, &cfg);
	if (model_create(&cfg, 42, &m, err, sizeof(err)) || model_save(m, model_path, err, sizeof(err)) ||
	    sh("mkdir -p %s/bpf && mount -t bpf bpf %s/bpf", scratch_dir, scratch_dir)) {
		printf("FAIL %s: %s\n", test_name, err);
		exit(1);
	}
	model_free(m);
}

/* A UDP connection tx -> rx (RX_V4 or RX_V6) on a fixed port; returns the
 * sender, *receiver the bound socket in rx. */
static inline int udp_pair(int family, uint16_t port, int *receiver)
{
	struct sockaddr_storage to;
	const char *dst = family == AF_INET ? RX_V4 : RX_V6;
	socklen_t len = make_addr(family, dst, port, &to);
	int tx = tx_socket(family, SOCK_DGRAM);

	*receiver = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(tx >= 0 && *receiver >= 0);
	CHECK(bind(*receiver, (struct sockaddr *)&to, len) == 0);
	CHECK(connect(tx, (struct sockaddr *)&to, len) == 0);
	return tx;
}

/* count datagrams of `size` bytes, 0.5 ms apart. */
static inline void send_udp(int tx, int count, int size)
{
	char payload[1500] = { 0 };

	for (int i = 0; i < count; i++) {
		CHECK(send(tx, payload, (size_t)size, 0) == size);
		usleep(500);
	}
}

#endif
