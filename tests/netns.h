/* SPDX-License-Identifier: MIT */
/* Test hosts for live tests: two network namespaces this process creates,
 * joined by a veth pair (tx: 10.200.0.1, fd00:200::1; rx: 10.200.0.2,
 * fd00:200::2), and a scratch folder (scratch.h), all torn down on every
 * exit path (atexit, signals, an alarm that bounds the whole test). Traffic
 * never leaves them. */
#ifndef ODEFLOW_TEST_NETNS_H
#define ODEFLOW_TEST_NETNS_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scratch.h"

#define TX_V4 "10.200.0.1"
#define RX_V4 "10.200.0.2"
#define TX_V6 "fd00:200::1"
#define RX_V6 "fd00:200::2"

static char ns_tx[32], ns_rx[32], dev_tx[IFNAMSIZ], dev_rx[IFNAMSIZ];
static int original_ns = -1;
static const char *netns_test_name = "live test";
static void (*netns_before_cleanup)(void);

/* Runs a shell command; returns its exit status (quiet unless it fails). */
static inline int __attribute__((format(printf, 1, 2))) sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status != 0)
		printf("  command failed (%d): %s\n", status, cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline void netns_cleanup(void)
{
	char cmd[512];

	if (netns_before_cleanup)
		netns_before_cleanup();
	if (original_ns >= 0)
		setns(original_ns, CLONE_NEWNET);
	/* Deleting the namespaces deletes the veth pair and any XDP link on it. */
	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null; "
		 "umount %s/bpf 2>/dev/null; rm -rf %s",
		 ns_tx, ns_rx, scratch_dir, scratch_dir[0] ? scratch_dir : "/nonexistent");
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup: %s failed\n", cmd);
}

static inline void netns_on_signal(int sig)
{
	printf("FAIL %s: stopped by signal %d\n", netns_test_name, sig);
	fflush(stdout);
	netns_cleanup();
	_exit(1);
}

static inline int enter_ns(const char *name)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = setns(fd, CLONE_NEWNET);
	close(fd);
	return ret;
}

/* A socket that lives in the namespace ns (sockets keep the namespace they
 * were created in), while this process stays in rx. */
static inline int ns_socket(const char *ns, int family, int type)
{
	int fd;

	if (enter_ns(ns))
		return -1;
	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (enter_ns(ns_rx)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One of the tx namespace. */
static inline int tx_socket(int family, int type)
{
	return ns_socket(ns_tx, family, type);
}

static inline socklen_t make_addr(int family, const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, addr, &a->sin_addr);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	inet_pton(AF_INET6, addr, &a6->sin6_addr);
	return sizeof(*a6);
}

static inline uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	getsockname(fd, (struct sockaddr *)&ss, &len);
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Waits up to a second for n datagrams on a receiver socket. */
static inline bool receive_all(int fd, int n)
{
	char buf[2048];
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (n > 0 && poll(&p, 1, 1000) == 1 && recv(fd, buf, sizeof(buf), 0) >= 0)
		n--;
	return n == 0;
}

/* Counts datagrams waiting on a receiver socket (and empties it). */
static inline int drain_socket(int fd)
{
	char buf[2048];
	int n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

/* Resolves the neighbours (ARP, IPv6 neighbour discovery) on the way from
 * namespace from_ns to dst in to_ns before any test traffic: a datagram
 * queued behind an unanswered first solicitation waits a full retransmit
 * interval (1 s). Sends until one arrives, at most 5 tries of a second. */
static inline int reach(const char *from_ns, const char *to_ns, int family, const char *dst)
{
	struct sockaddr_storage to;
	socklen_t len = make_addr(family, dst, 7, &to);
	int tx = ns_socket(from_ns, family, SOCK_DGRAM), rx = ns_socket(to_ns, family, SOCK_DGRAM);
	bool arrived = false;

	if (tx >= 0 && rx >= 0 && bind(rx, (struct sockaddr *)&to, len) == 0)
		for (int i = 0; i < 5 && !arrived; i++)
			arrived = sendto(tx, "", 0, 0, (struct sockaddr *)&to, len) == 0 &&
				  receive_all(rx, 1);
	close(tx);
	close(rx);
	return arrived ? 0 : -1;
}

/* The same from tx to dst, an address of rx. */
static inline int warm_up(int family, const char *dst)
{
	return reach(ns_tx, ns_rx, family, dst);
}

/* Creates the namespaces, the veth pair and a temporary folder, moves this
 * process into rx, and bounds the whole test to `seconds`. */
/* A bpffs of this process's own on /sys/fs/bpf, in a mount namespace of
 * its own whose mounts do not propagate back: what the test and the tools
 * it runs pin there (odeflow, libxdp's dispatcher, xdp-filter, all of
 * which look there first) goes with the process and never meets the
 * host's. Call before setup_namespaces. Commands must then run in this
 * mount namespace, not through `ip netns exec` (which mounts its own
 * /sys). */
static inline int private_bpffs(void)
{
	return unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
	       mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700");
}

static inline int setup_namespaces(const char *test_name, unsigned seconds)
{
	int pid = (int)getpid();

	netns_test_name = test_name;
	snprintf(ns_tx, sizeof(ns_tx), "odeflow-tx-%d", pid);
	snprintf(ns_rx, sizeof(ns_rx), "odeflow-rx-%d", pid);
	snprintf(dev_tx, sizeof(dev_tx), "odtx%d", pid % 10000000);
	snprintf(dev_rx, sizeof(dev_rx), "odrx%d", pid % 10000000);
	atexit(netns_cleanup);
	signal(SIGALRM, netns_on_signal);
	signal(SIGINT, netns_on_signal);
	signal(SIGTERM, netns_on_signal);
	alarm(seconds);
	original_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return scratch_create("live") ||
	       sh("ip netns add %s && ip netns add %s", ns_tx, ns_rx) ||
	       sh("ip link add %s netns %s type veth peer name %s netns %s", dev_tx, ns_tx, dev_rx,
		  ns_rx) ||
	       sh("ip -n %s addr add " TX_V4 "/24 dev %s && ip -n %s addr add " TX_V6 "/64 dev %s nodad"
		  " && ip -n %s link set %s up && ip -n %s link set lo up",
		  ns_tx, dev_tx, ns_tx, dev_tx, ns_tx, dev_tx, ns_tx) ||
	       sh("ip -n %s addr add " RX_V4 "/24 dev %s && ip -n %s addr add " RX_V6 "/64 dev %s nodad"
		  " && ip -n %s link set %s up && ip -n %s link set lo up",
		  ns_rx, dev_rx, ns_rx, dev_rx, ns_rx, dev_rx, ns_rx) ||
	       enter_ns(ns_rx) || warm_up(AF_INET, RX_V4) || warm_up(AF_INET6, RX_V6);
}

#endif
