// SPDX-License-Identifier: MIT
/* Nanoseconds per packet of the XDP program, measured by the kernel with
 * bpf_prog_test_run_opts (its `duration`: the average over `repeat` runs of
 * one packet, in whole nanoseconds, excluding time the thread was
 * rescheduled). Each cell is the median of RUNS runs.
 *
 *   build/tools/bench_xdp            (root)
 *
 * "many flows" puts bpf/bench/bench_rotate.bpf.c in front: it rewrites the source
 * address to the next of MANY_FLOWS (or NEW_FLOWS) flows and tail-calls the
 * program; the same wrapper in front of the empty program is measured too
 * and subtracted, so the column shows the program's own cost with its maps
 * spread over many entries. "hot" repeats one packet, or, for the rows that
 * need a fresh direction or a window not yet full, rotates over HOT_FLOWS
 * flows in maps of HOT_CAPACITY entries, which stay in the cache. The
 * reference rows at the end time each kernel operation the sampler needs
 * (a lookup, an insert, a ring-buffer record, a clock read) alone, in maps
 * shaped like the sampler's (bpf/bench/bench_reference.bpf.c): the floor under
 * the rows above them.
 *
 *   build/tools/bench_xdp --dispatcher   (only the floor and the dispatcher row)
 *
 * The tcx egress rows run the TC egress entry point on a host's own packet
 * (a new direction, a classified one), against the empty TC program and
 * behind a TC copy of the wrapper.
 *
 * The dispatcher row runs the classified flow through libxdp's dispatcher,
 * where the kernel runs one, against the same program alone, measured in
 * turns: what sharing the XDP hook costs a packet. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_reference.skel.h"
#include "bench_rotate.skel.h"
#include "common/flow_key.h"
#include "loader/xdp_dispatcher.h"
#include "loader/map_ops.h"
#include "loader/sampler_attach.h"
#include "loader/xdp_loader.h"
#include "xdp_pass.skel.h"

#define RUNS 5
#define REPEAT 1000000
#define MANY_FLOWS 65536  /* connections with state or verdicts */
#define NEW_FLOWS 131072  /* distinct new directions per run */
#define HOT_FLOWS 1024
#define HOT_CAPACITY 4096
#define PKT_LEN 140

struct bench {
	struct xdp_pass_bpf *pass;
	struct bench_rotate_bpf *rotate;
	uint8_t pkt[PKT_LEN]; /* Ethernet + IPv4 + TCP, 10.0.0.0:40000 -> 10.200.0.2:443 */
	double empty, rotate_floor;
	bool egress;          /* the rows of the TC egress entry point (floors: TC's) */
	double teach_rate;    /* --teach of the samplers loaded (the teaching rows) */
};

static void die(const char *what)
{
	fprintf(stderr, "bench_xdp: %s\n", what);
	exit(1);
}

static unsigned test_run(int prog_fd, const uint8_t *pkt, unsigned repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = PKT_LEN,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		fprintf(stderr, "bench_xdp: bpf_prog_test_run_opts: %s\n", strerror(errno));
		exit(1);
	}
	return opts.duration;
}

/* The direction of the benchmark packet after the wrapper gave it source
 * address number i (build_packet, bpf/bench/bench_rotate.bpf.c). */
static void rotated_flow_key(unsigned i, struct flow_key *k)
{
	char src[16];

	snprintf(src, sizeof(src), "10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
	flow_key_make(k, src, 40000, "10.200.0.2", 443, IPPROTO_TCP);
}

/* The program under test: the sampler's ingress entry point, or its TC egress one. */
static int under_test(const struct bench *b, const struct xdp_sampler *s)
{
	return b->egress ? xdp_sampler_egress_prog_fd(s) : xdp_sampler_prog_fd(s);
}

/* The wrapper in front of it (an XDP or a TC program, like it). */
static int wrapper(const struct bench *b)
{
	return bpf_program__fd(b->egress ? b->rotate->progs.bench_rotate_tc
					 : b->rotate->progs.bench_rotate);
}

static void set_target(struct bench *b, int target_fd)
{
	__u32 zero = 0;
	int map_fd = bpf_map__fd(b->egress ? b->rotate->maps.tc_target : b->rotate->maps.target);

	if (bpf_map_update_elem(map_fd, &zero, &target_fd, BPF_ANY)) {
		fprintf(stderr, "bench_xdp: cannot set the tail-call target: %s\n", strerror(errno));
		exit(1);
	}
}

/* Runs through the rotating wrapper: `repeat` packets over `flows` flows,
 * starting at flow `first`. */
static unsigned rotated_run_from(struct bench *b, int target_fd, unsigned flows, unsigned first,
				 unsigned repeat)
{
	b->rotate->bss->flow_mask = flows - 1;
	b->rotate->bss->next_flow = first;
	b->rotate->bss->flow_shift = 0;
	set_target(b, target_fd);
	return test_run(wrapper(b), b->pkt, repeat);
}

static unsigned rotated_run(struct bench *b, int target_fd, unsigned flows, unsigned repeat)
{
	return rotated_run_from(b, target_fd, flows, 0, repeat);
}

/* The first two packets of each of `flows` directions, in a row: each is
 * held, then admitted into "flows" (the first packets of many flows in turn
 * would overwrite each other's held slots). */
static unsigned admit_run(struct bench *b, int target_fd, unsigned flows)
{
	b->rotate->bss->flow_mask = flows - 1;
	b->rotate->bss->next_flow = 0;
	b->rotate->bss->flow_shift = 1;
	set_target(b, target_fd);
	return test_run(wrapper(b), b->pkt, 2 * flows);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct xdp_sampler *load_at(const struct bench *b, enum xdp_hook hook, unsigned ring_bytes,
				   unsigned capacity)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	struct xdp_sampler *s;
	char err[4096];

	o.hook = hook;
	o.ring_bytes = ring_bytes;
	o.flow_capacity = capacity;
	o.pin_dir = NULL;
	o.teach_rate = b->teach_rate;
	if (xdp_sampler_open(&o, &s, err, sizeof(err)))
		die(err);
	return s;
}

static struct xdp_sampler *load(const struct bench *b, unsigned ring_bytes, unsigned capacity)
{
	return load_at(b, XDP_HOOK_XDP, ring_bytes, capacity);
}

static uint64_t counter(struct xdp_sampler *s, enum counter c)
{
	uint64_t v[CNT_MAX];

	if (xdp_read_counters(xdp_sampler_map_fd(s, XDP_MAP_COUNTERS), v))
		die("cannot read the counters");
	return v[c];
}

/* Checks that a scenario did what its row says. */
static void expect(struct xdp_sampler *s, enum counter c, uint64_t want, const char *row)
{
	uint64_t got = counter(s, c);

	if (got != want) {
		fprintf(stderr, "bench_xdp: %s: counter %s is %llu, expected %llu\n", row,
			xdp_counter_name(c), (unsigned long long)got, (unsigned long long)want);
		exit(1);
	}
}

static void print_row(const char *name, double one, double many, const struct bench *b)
{
	char a[32] = "-", m[32] = "-";

	if (one >= 0)
		snprintf(a, sizeof(a), "%.0f (%.1fx)", one, one / b->empty);
	if (many >= 0)
		snprintf(m, sizeof(m), "%.0f (%.1fx)", many, many / b->empty);
	printf("| %-41s | %14s | %14s |\n", name, a, m);
}

/* The program's own cost per packet over many flows: wrapper run minus the
 * wrapper in front of the empty program, plus the empty program. */
static double net(const struct bench *b, double rotated)
{
	return rotated - b->rotate_floor + b->empty;
}

static void bench_floor(struct bench *b)
{
	double one[RUNS], many[RUNS];
	int pass_fd = bpf_program__fd(b->pass->progs.xdp_pass);

	for (int r = 0; r < RUNS; r++) {
		one[r] = test_run(pass_fd, b->pkt, REPEAT);
		many[r] = rotated_run(b, pass_fd, MANY_FLOWS, REPEAT);
	}
	b->empty = median(one, RUNS);
	b->rotate_floor = median(many, RUNS);
	printf("| %-41s | %14.0f | %14s |\n", "empty XDP program (the floor)", b->empty, "-");
}

/* Each of `flows` packets is a new direction's first: held for admission,
 * nothing inserted. A flood of one-packet flows costs this per packet: it
 * misses in "verdicts" and "flows" (of `capacity` entries) and writes a
 * slot of the held-packet table. */
static double first_packet_cost(struct bench *b, unsigned flows, unsigned capacity)
{
	const char *row = "first packet of a direction (held)";
	double ns[RUNS];

	for (int r = 0; r < RUNS; r++) {
		struct xdp_sampler *s = load(b, XDP_DEFAULT_RING_BYTES, capacity);

		ns[r] = net(b, rotated_run(b, xdp_sampler_prog_fd(s), flows, flows));
		expect(s, CNT_FIRST_PACKETS, flows, row);
		expect(s, CNT_NEW_FLOWS, 0, row);
		expect(s, CNT_TEACH_PACKETS, b->teach_rate >= 1 ? flows : 0, row);
		xdp_sampler_close(s);
	}
	return median(ns, RUNS);
}

/* A direction's first two packets in a row, held then admitted into fresh
 * maps, per packet; with more flows than capacity, the later ones evict the
 * least recently used. */
static double new_flow_cost(struct bench *b, unsigned flows, unsigned capacity)
{
	const char *row = "first two packets (held, then admitted)";
	double ns[RUNS];

	for (int r = 0; r < RUNS; r++) {
		struct xdp_sampler *s = load(b, XDP_DEFAULT_RING_BYTES, capacity);

		ns[r] = net(b, admit_run(b, under_test(b, s), flows));
		expect(s, CNT_NEW_FLOWS, flows, row);
		expect(s, CNT_TEACH_PACKETS, b->teach_rate >= 1 ? 2 * flows : 0, row);
		xdp_sampler_close(s);
	}
	return median(ns, RUNS);
}

/* Packets 3..N-1 of `flows` directions: each goes into a window. One run
 * over all of them, in fresh maps each time: every test run starts with its
 * working set out of the caches and TLB (on a VM that refill is a large
 * part of a short run), so a long run shows the packet's cost, not that. */
static double window_filling_cost(struct bench *b, unsigned flows, unsigned capacity)
{
	const char *row = "packet inside a window being filled";
	double ns[RUNS];

	for (int r = 0; r < RUNS; r++) {
		struct xdp_sampler *s = load(b, XDP_DEFAULT_RING_BYTES, capacity);
		int fd = xdp_sampler_prog_fd(s);

		admit_run(b, fd, flows); /* slots 0 and 1 of each */
		ns[r] = net(b, rotated_run(b, fd, flows, flows * (ODEFLOW_DEFAULT_WINDOW - 3)));
		expect(s, CNT_NEW_FLOWS, flows, row); /* nothing evicted */
		expect(s, CNT_WINDOWS, 0, row);       /* every packet went into a window */
		expect(s, CNT_TEACH_PACKETS, 0, row);
		xdp_sampler_close(s);
	}
	return median(ns, RUNS);
}

/* The Nth packet of `flows` directions: each copies its window into the ring. */
static double window_completing_cost(struct bench *b, unsigned flows, unsigned capacity)
{
	double ns[RUNS];

	for (int r = 0; r < RUNS; r++) {
		/* a ring that holds every flow's window: a lost one is cheaper */
		struct xdp_sampler *s = load(b, 32u << 20, capacity);
		int fd = xdp_sampler_prog_fd(s);

		admit_run(b, fd, flows);
		rotated_run(b, fd, flows, flows * (ODEFLOW_DEFAULT_WINDOW - 3));
		ns[r] = net(b, rotated_run(b, fd, flows, flows));
		expect(s, CNT_WINDOWS, flows, "packet completing a window");
		xdp_sampler_close(s);
	}
	return median(ns, RUNS);
}

/* The Nth packet of each of `flows` directions, with the agent asleep: the
 * window wakes it (bpf/odeflow.bpf.c, wake_agent_if_asleep). One packet
 * per run, since the wakeup lowers the flag; the median over the packets. */
static double window_waking_cost(struct bench *b, unsigned flows, unsigned capacity)
{
	const char *row = "packet completing a window, waking the agent";
	struct xdp_sampler *s = load(b, 32u << 20, capacity);
	int fd = xdp_sampler_prog_fd(s), wakeup_fd = xdp_sampler_map_fd(s, XDP_MAP_WAKEUP);
	double *ns = calloc(flows, sizeof(*ns)), cost;
	__u32 zero = 0, asleep = 1;

	if (!ns)
		die("out of memory");
	admit_run(b, fd, flows);
	rotated_run(b, fd, flows, flows * (ODEFLOW_DEFAULT_WINDOW - 3));
	for (unsigned i = 0; i < flows; i++) {
		if (bpf_map_update_elem(wakeup_fd, &zero, &asleep, BPF_ANY))
			die("cannot raise the wakeup flag");
		ns[i] = net(b, rotated_run_from(b, fd, flows, i, 1));
	}
	expect(s, CNT_WINDOWS, flows, row);
	expect(s, CNT_AGENT_WAKEUPS, flows, row);
	cost = median(ns, flows);
	free(ns);
	xdp_sampler_close(s);
	return cost;
}

static void bench_sampled(struct bench *b)
{
	/* hot: small maps; many flows: the default ones; a new direction every
	 * packet either way, as in a flood */
	print_row("first packet of a direction (held)", first_packet_cost(b, NEW_FLOWS, HOT_CAPACITY),
		  first_packet_cost(b, NEW_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	print_row("first two packets (held, then admitted)", new_flow_cost(b, HOT_FLOWS, HOT_CAPACITY),
		  new_flow_cost(b, NEW_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	/* A busy link's steady state: every new direction evicts an old one. */
	print_row("... into a full table (evicts one)",
		  new_flow_cost(b, 4 * HOT_CAPACITY, HOT_CAPACITY),
		  new_flow_cost(b, 2 * ODEFLOW_DEFAULT_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	print_row("packet inside a window being filled",
		  window_filling_cost(b, HOT_FLOWS, HOT_CAPACITY),
		  window_filling_cost(b, MANY_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	print_row("packet completing a window (emits it)",
		  window_completing_cost(b, HOT_FLOWS, HOT_CAPACITY),
		  window_completing_cost(b, MANY_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	print_row("... and waking the sleeping agent", window_waking_cost(b, HOT_FLOWS, HOT_CAPACITY),
		  window_waking_cost(b, MANY_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
}

/* A rate no connection of these runs falls under (4 in 2^32), and as many
 * sampled directions as the teach ring holds copies of (a full ring would
 * time the cheaper loss). */
#define TEACH_NONE 1e-9
#define TEACH_FLOWS 8192

/* --teach on: what a connection outside the sample pays, against the rows
 * above with teaching off (then the copying paths are not in the program):
 * a hash of its key on each of its first ODEFLOW_TEACH_PACKETS packets each
 * way, nothing after; and what a sampled one pays, a copy of the packet
 * into the teach ring. */
static void bench_teaching(struct bench *b)
{
	b->teach_rate = TEACH_NONE;
	print_row("held first packet, teaching, not sampled",
		  first_packet_cost(b, NEW_FLOWS, HOT_CAPACITY),
		  first_packet_cost(b, NEW_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	print_row("first two packets, teaching, not sampled", new_flow_cost(b, HOT_FLOWS, HOT_CAPACITY),
		  new_flow_cost(b, NEW_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	print_row("packet in a window, teaching, not sampled",
		  window_filling_cost(b, HOT_FLOWS, HOT_CAPACITY),
		  window_filling_cost(b, MANY_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	b->teach_rate = 1;
	print_row("held first packet, sampled: copied",
		  first_packet_cost(b, 2 * TEACH_FLOWS, HOT_CAPACITY),
		  first_packet_cost(b, 2 * TEACH_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	print_row("first two packets, sampled: both copied",
		  new_flow_cost(b, HOT_FLOWS, HOT_CAPACITY),
		  new_flow_cost(b, TEACH_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	b->teach_rate = 0;
}

/* Final verdicts of class 0 for every rotated connection (and so the hot
 * one), with both directions' first windows seen: nothing left to sample. */
static void write_verdicts(struct xdp_sampler *s)
{
	struct verdict v = { .class_id = 0, .stage = 1, .confidence_ppm = 950000,
			     .flags = VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE };
	int fd = xdp_sampler_map_fd(s, XDP_MAP_VERDICTS);
	struct flow_key k;

	for (unsigned i = 0; i < MANY_FLOWS; i++) {
		rotated_flow_key(i, &k);
		flow_key_canonical(&k, &k);
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
			die("cannot write the verdicts");
	}
}

/* At tcx's ingress (the TC entry point) only the hot column: its rows
 * measure against the XDP floors, and the XDP wrapper cannot call a TC
 * program (a tail call stays within one program type); the egress rows
 * have TC floors and the TC wrapper (bench_egress). */
static void bench_classified_at(struct bench *b, enum xdp_hook hook, const char *row,
				const struct policy *p, enum counter action_counter)
{
	struct xdp_sampler *s = load_at(b, hook, XDP_DEFAULT_RING_BYTES, ODEFLOW_DEFAULT_FLOWS);
	double one[RUNS], many[RUNS];
	int fd = under_test(b, s);
	bool spread = hook == XDP_HOOK_XDP || b->egress;

	write_verdicts(s);
	if (xdp_set_policy(xdp_sampler_map_fd(s, XDP_MAP_POLICY),
			   xdp_sampler_map_fd(s, XDP_MAP_RATE_BUCKETS), 0, p))
		die("cannot write the policy");
	for (int r = 0; r < RUNS; r++) {
		one[r] = test_run(fd, b->pkt, REPEAT);
		if (spread)
			many[r] = net(b, rotated_run(b, fd, MANY_FLOWS, REPEAT));
	}
	expect(s, action_counter, (spread ? 2ull : 1ull) * RUNS * REPEAT, row);
	expect(s, CNT_NEW_FLOWS, 0, row); /* classified: never sampled */
	xdp_sampler_close(s);
	print_row(row, median(one, RUNS), spread ? median(many, RUNS) : -1, b);
}

static void bench_classified(struct bench *b, const char *row, const struct policy *p,
			     enum counter action_counter)
{
	bench_classified_at(b, XDP_HOOK_XDP, row, p, action_counter);
}

/* The classified flow (PASS) through libxdp's dispatcher holding only the
 * sampler, and the same loaded program alone, in turns. Only the hot
 * column: a program with an extension attached (the dispatcher) may not be
 * a tail call's target (EBUSY: it could loop back through the extension),
 * so the wrapper that spreads packets over many flows cannot call it. A
 * child process attaches the dispatcher (generic) to the loopback device of
 * a network namespace of its own, with a bpffs of its own for libxdp's pins:
 * nothing of the host's is touched, and they go when the child does. */
static void bench_dispatcher_in_child(struct bench *b)
{
	const char *row = "... in libxdp's dispatcher";
	double one[2][RUNS];
	struct xdp_sampler *s;
	int fd[2], ifindex;
	enum xdp_mode got;
	char why[512], cell[32];
	__u32 id = 0;

	if (unshare(CLONE_NEWNET | CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		die("cannot make a network namespace and a bpffs of its own");
	ifindex = (int)if_nametoindex("lo");
	s = load(b, XDP_DEFAULT_RING_BYTES, ODEFLOW_DEFAULT_FLOWS);
	write_verdicts(s);
	if (xdp_set_policy(xdp_sampler_map_fd(s, XDP_MAP_POLICY),
			   xdp_sampler_map_fd(s, XDP_MAP_RATE_BUCKETS), 0,
			   &(struct policy){ .action = ACTION_PASS }))
		die("cannot write the policy");
	fd[0] = dup(xdp_sampler_prog_fd(s)); /* attached, the sampler runs its extension */
	if (fd[0] < 0 || xdp_sampler_attach(s, ifindex, XDP_MODE_GENERIC, 0, &got, why, sizeof(why)))
		die(fd[0] < 0 ? "dup" : why);
	if (xdp_sampler_attachment(s) != XDP_VIA_DISPATCHER ||
	    bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id) || (fd[1] = bpf_prog_get_fd_by_id(id)) < 0)
		die("the sampler is not in a dispatcher");
	for (int r = 0; r < RUNS; r++)
		for (int k = 0; k < 2; k++)
			one[k][r] = test_run(fd[k], b->pkt, REPEAT);
	expect(s, CNT_ACTION_PASS, 2ull * RUNS * REPEAT, row);
	expect(s, CNT_NEW_FLOWS, 0, row);
	print_row("classified flow, PASS (alone, same runs)", median(one[0], RUNS), -1, b);
	snprintf(cell, sizeof(cell), "%.0f (%+.0f ns)", median(one[1], RUNS),
		 median(one[1], RUNS) - median(one[0], RUNS));
	printf("| %-41s | %14s | %14s |\n", row, cell, "-");
	close(fd[0]);
	close(fd[1]);
	xdp_sampler_close(s);
	fflush(stdout);
}

/* Prints the dispatcher's rows, or says why there are none (after the
 * table: *why_not). */
static void bench_dispatcher(struct bench *b, char *why_not, size_t len)
{
	int status;
	pid_t pid;

	if (!dispatcher_supported(why_not, len)) {
		printf("| %-41s | %14s | %14s |\n", "classified, PASS, in libxdp's dispatcher", "-", "-");
		return;
	}
	why_not[0] = '\0';
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		bench_dispatcher_in_child(b);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		die("the dispatcher's benchmark failed");
}

/* The TC egress entry point (`--direction out` or `both`) on a host's own
 * packets (no ingress interface: sampled and enforced there), against the
 * empty TC program, behind the TC wrapper for many flows: a new direction
 * and a classified one, the rows issue 22 asks to compare with XDP's. */
static void bench_egress(const struct bench *xdp)
{
	struct bench b = *xdp;
	double one[RUNS], many[RUNS];
	int pass_fd = bpf_program__fd(b.pass->progs.tc_pass);

	b.egress = true;
	for (int r = 0; r < RUNS; r++) {
		one[r] = test_run(pass_fd, b.pkt, REPEAT);
		many[r] = rotated_run(&b, pass_fd, MANY_FLOWS, REPEAT);
	}
	b.empty = median(one, RUNS);
	b.rotate_floor = median(many, RUNS);
	printf("| %-41s | %14.0f | %14s |\n", "empty TC program (floor of tcx egress)", b.empty,
	       "-");
	print_row("tcx egress: first two packets (admitted)", new_flow_cost(&b, HOT_FLOWS, HOT_CAPACITY),
		  new_flow_cost(&b, NEW_FLOWS, ODEFLOW_DEFAULT_FLOWS), &b);
	bench_classified_at(&b, XDP_HOOK_XDP, "tcx egress: classified flow, PASS",
			    &(struct policy){ .action = ACTION_PASS }, CNT_ACTION_PASS);
}

/* A direction whose window was sent, waiting for its verdict. */
static void bench_emitted(struct bench *b)
{
	const char *row = "window sent, no verdict yet";
	/* a ring that holds every flow's window: a lost one would resample */
	struct xdp_sampler *s = load(b, 32u << 20, ODEFLOW_DEFAULT_FLOWS);
	double one[RUNS], many[RUNS];
	int fd = xdp_sampler_prog_fd(s);

	admit_run(b, fd, MANY_FLOWS);
	rotated_run(b, fd, MANY_FLOWS, MANY_FLOWS * (ODEFLOW_DEFAULT_WINDOW - 2));
	expect(s, CNT_WINDOWS, MANY_FLOWS, row);
	for (int r = 0; r < RUNS; r++) {
		one[r] = test_run(fd, b->pkt, REPEAT);
		many[r] = net(b, rotated_run(b, fd, MANY_FLOWS, REPEAT));
	}
	expect(s, CNT_NEW_FLOWS, MANY_FLOWS, row);
	xdp_sampler_close(s);
	print_row(row, median(one, RUNS), median(many, RUNS), b);
}

/* The reference rows: each kernel operation the sampler needs, alone
 * (bpf/bench/bench_reference.bpf.c), in fresh maps of `capacity` entries. */
static struct bench_reference_bpf *load_reference(unsigned capacity)
{
	struct bench_reference_bpf *ref = bench_reference_bpf__open();

	if (!ref || bpf_map__set_max_entries(ref->maps.table, capacity) ||
	    bench_reference_bpf__load(ref))
		die("cannot load the reference programs");
	return ref;
}

/* Fails unless the program returned XDP_PASS for the benchmark packet:
 * its one operation succeeded. */
static void expect_pass(int prog_fd, const struct bench *b, const char *row)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = b->pkt, .data_size_in = PKT_LEN);

	if (bpf_prog_test_run_opts(prog_fd, &opts) || opts.retval != XDP_PASS) {
		fprintf(stderr, "bench_xdp: %s: the operation failed\n", row);
		exit(1);
	}
}

/* Fails unless the last of `flows` rotated flows is in the reference table:
 * the run before inserted every one of them. */
static void expect_inserted(struct bench_reference_bpf *ref, unsigned flows, const char *row)
{
	uint8_t value[FLOW_STATE_BYTES(ODEFLOW_DEFAULT_WINDOW)];
	struct flow_key last;

	rotated_flow_key(flows - 1, &last);
	if (bpf_map_lookup_elem(bpf_map__fd(ref->maps.table), &last, value)) {
		fprintf(stderr, "bench_xdp: %s: the last new key is not in the table\n", row);
		exit(1);
	}
}

/* One hit in a hash like "flows" holding every rotated flow. */
static void reference_lookup(struct bench *b)
{
	const char *row = "one hash lookup (hit)";
	struct bench_reference_bpf *ref = load_reference(ODEFLOW_DEFAULT_FLOWS);
	int fd = bpf_program__fd(ref->progs.ref_lookup);
	double one[RUNS], many[RUNS];

	rotated_run(b, bpf_program__fd(ref->progs.ref_insert), MANY_FLOWS, MANY_FLOWS);
	expect_inserted(ref, MANY_FLOWS, row);
	for (int r = 0; r < RUNS; r++) {
		one[r] = test_run(fd, b->pkt, REPEAT);
		many[r] = net(b, rotated_run(b, fd, MANY_FLOWS, REPEAT));
	}
	expect_pass(fd, b, row); /* a miss returns XDP_DROP */
	bench_reference_bpf__destroy(ref);
	print_row(row, median(one, RUNS), median(many, RUNS), b);
}

/* `flows` new keys into a hash of `capacity`, fresh each run. */
static double reference_insert_cost(struct bench *b, unsigned flows, unsigned capacity)
{
	double ns[RUNS];

	for (int r = 0; r < RUNS; r++) {
		struct bench_reference_bpf *ref = load_reference(capacity);
		int fd = bpf_program__fd(ref->progs.ref_insert);

		ns[r] = net(b, rotated_run(b, fd, flows, flows));
		expect_inserted(ref, flows, "one insert");
		bench_reference_bpf__destroy(ref);
	}
	return median(ns, RUNS);
}

/* A window-sized record reserved, written and submitted, and the clock
 * read: the same whatever the flow, so one column. */
static void reference_ring_and_clock(struct bench *b)
{
	double ring[RUNS], clock[RUNS], coarse[RUNS];

	for (int r = 0; r < RUNS; r++) {
		struct bench_reference_bpf *ref = load_reference(HOT_CAPACITY);

		ring[r] = test_run(bpf_program__fd(ref->progs.ref_ring), b->pkt, MANY_FLOWS);
		expect_pass(bpf_program__fd(ref->progs.ref_ring), b, "ring-buffer record");
		clock[r] = test_run(bpf_program__fd(ref->progs.ref_clock), b->pkt, REPEAT);
		coarse[r] = test_run(bpf_program__fd(ref->progs.ref_coarse_clock), b->pkt, REPEAT);
		bench_reference_bpf__destroy(ref);
	}
	print_row("one ring record (reserve, write, submit)", median(ring, RUNS), -1, b);
	print_row("one clock read (bpf_ktime_get_ns)", median(clock, RUNS), -1, b);
	print_row("one coarse clock read (ktime_get_coarse)", median(coarse, RUNS), -1, b);
}

static void bench_references(struct bench *b)
{
	printf("| %-41s | %14s | %14s |\n", "*reference: one kernel operation alone*", "", "");
	reference_lookup(b);
	print_row("one insert (new key)", reference_insert_cost(b, HOT_FLOWS, HOT_CAPACITY),
		  reference_insert_cost(b, NEW_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	print_row("one insert into a full table (evicts one)",
		  reference_insert_cost(b, 4 * HOT_CAPACITY, HOT_CAPACITY),
		  reference_insert_cost(b, 2 * ODEFLOW_DEFAULT_FLOWS, ODEFLOW_DEFAULT_FLOWS), b);
	reference_ring_and_clock(b);
}

static void build_packet(uint8_t *p)
{
	static const uint8_t hdr[] = {
		0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,  /* Ethernet, IPv4 */
		0x45, 0, 0, PKT_LEN - 14, 0, 0, 0, 0, 64, 6, 0, 0,      /* IPv4, TCP */
		10, 0, 0, 0, 10, 200, 0, 2,                            /* 10.0.0.0 -> 10.200.0.2 */
		0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x50,  /* 40000 -> 443 */
	};

	memset(p, 0, PKT_LEN);
	memcpy(p, hdr, sizeof(hdr));
}

int main(int argc, char **argv)
{
	bool only_dispatcher = argc == 2 && !strcmp(argv[1], "--dispatcher");
	struct bench b = { 0 };
	char why_not[256];

	if (geteuid() != 0)
		die("needs root (bpf_prog_test_run)");
	build_packet(b.pkt);
	b.pass = xdp_pass_bpf__open_and_load();
	b.rotate = bench_rotate_bpf__open_and_load();
	if (!b.pass || !b.rotate)
		die("cannot load the benchmark programs");

	printf("XDP program cost, ns per packet (x the empty program), median of %d runs of up to %d packets\n"
	       "(hot: one flow, or for the sampled rows %d flows in maps of %d, %d into the full table);\n"
	       "many flows: %d connections, %d distinct new flows per run (%d into the full table)\n\n",
	       RUNS, REPEAT, HOT_FLOWS, HOT_CAPACITY, 4 * HOT_CAPACITY, MANY_FLOWS, NEW_FLOWS,
	       2 * ODEFLOW_DEFAULT_FLOWS);
	printf("| %-41s | %14s | %14s |\n", "packet", "hot", "many flows");
	printf("|%s|%s|%s|\n", "-------------------------------------------",
	       "----------------", "----------------");
	bench_floor(&b);
	if (only_dispatcher) {
		bench_dispatcher(&b, why_not, sizeof(why_not));
		goto out;
	}
	bench_sampled(&b);
	bench_teaching(&b);
	bench_emitted(&b);
	bench_classified(&b, "classified flow, PASS", &(struct policy){ .action = ACTION_PASS },
			 CNT_ACTION_PASS);
	bench_classified(&b, "classified flow, MARK (DSCP EF)",
			 &(struct policy){ .action = ACTION_MARK, .dscp = 46 }, CNT_ACTION_MARK);
	/* a limit no run reaches: every packet takes the bucket's lock and passes */
	bench_classified(&b, "classified flow, RATE_LIMIT (passing)",
			 &(struct policy){ .action = ACTION_RATE_LIMIT, .rate_bytes = 1ull << 50,
					   .burst_bytes = 1ull << 40 }, CNT_ACTION_RATE_PASS);
	bench_classified_at(&b, XDP_HOOK_TCX, "classified flow, PASS, at tcx (TC entry)",
			    &(struct policy){ .action = ACTION_PASS }, CNT_ACTION_PASS);
	bench_egress(&b);
	bench_dispatcher(&b, why_not, sizeof(why_not));
	bench_references(&b);
	printf("\nwrapper that spreads packets over many flows: %.0f ns, subtracted (minus the floor)\n",
	       b.rotate_floor - b.empty);
out:
	if (why_not[0])
		printf("%sno libxdp dispatcher on this kernel, so no dispatcher row: %s\n",
		       only_dispatcher ? "\n" : "", why_not);
	xdp_pass_bpf__destroy(b.pass);
	bench_rotate_bpf__destroy(b.rotate);
	return 0;
}
