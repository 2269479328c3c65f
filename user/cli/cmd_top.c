/* SPDX-License-Identifier: MIT */
/* odeflow top: a live view of a running agent, from the pinned maps. */
#include <bpf/bpf.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "common/flow_key.h"
#include "common/clock.h"
#include "common/errmsg.h"
#include "loader/pinned.h"
#include "pinned_command.h"

#define WIDTH 80
#define HEIGHT 24
#define RECENT 8
/* More classes than this go in two columns, so a 16-class model fits. */
#define ONE_COLUMN_CLASSES 8

enum { OPT_ITERATIONS = 1 };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_ITERATIONS, "iterations", 'n', "N", "stop after N screens",
		   .def = "run until q"),
	{ 0 },
};

ODEFLOW_COMMAND(top,
	.summary = "live view of a running agent (q quits)",
	.description = "Redraws every second what a running agent does, from its pinned maps: "
		       "packets, bytes and windows per second, the policy's actions, ring drops and "
		       "latency, the connections of each class and the latest verdicts. q quits.",
	.groups = { { NULL, options }, PINNED_WHERE_GROUP });

static volatile sig_atomic_t stop;
static struct termios saved_tty;
static bool tty_changed;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Alternate screen, hidden cursor, keys without Enter; undone on exit. */
static void screen_enter(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		t = saved_tty;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tty_changed = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
	printf("\033[?1049h\033[?25l");
}

static void screen_leave(void)
{
	printf("\033[?25h\033[?1049l");
	fflush(stdout);
	if (tty_changed)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
}

struct recent {
	struct flow_key key;
	struct verdict v;
};

struct snapshot {
	uint64_t counters[CNT_MAX];
	uint64_t at_ns;
	unsigned per_class[ODEFLOW_MAX_CLASSES];
	unsigned provisional, connections;
	struct recent recent[RECENT];
	int nrecent;
};

/* Keeps the RECENT newest verdicts, newest first. */
static void remember(struct snapshot *s, const struct flow_key *k, const struct verdict *v)
{
	int i = s->nrecent < RECENT ? s->nrecent++ : RECENT - 1;

	if (i == RECENT - 1 && s->nrecent == RECENT && v->decided_ns <= s->recent[i].v.decided_ns)
		return;
	while (i > 0 && s->recent[i - 1].v.decided_ns < v->decided_ns) {
		s->recent[i] = s->recent[i - 1];
		i--;
	}
	s->recent[i] = (struct recent){ *k, *v };
}

static int take_snapshot(struct pinned *p, struct snapshot *s)
{
	struct flow_key key, next, *prev = NULL;
	struct verdict v;

	memset(s, 0, sizeof(*s));
	s->at_ns = monotonic_ns();
	if (xdp_read_counters(p->fd[XDP_MAP_COUNTERS], s->counters))
		return -1;
	pinned_refresh_agent(p);
	while (bpf_map_get_next_key(p->fd[XDP_MAP_VERDICTS], prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(p->fd[XDP_MAP_VERDICTS], &key, &v))
			continue;
		s->connections++;
		if (v.class_id < ODEFLOW_MAX_CLASSES)
			s->per_class[v.class_id]++;
		s->provisional += !!(v.flags & VERDICT_PROVISIONAL);
		remember(s, &key, &v);
	}
	return 0;
}

static double rate(const struct snapshot *now, const struct snapshot *then, enum counter c)
{
	double dt = (double)(now->at_ns - then->at_ns) / 1e9;

	return dt > 0 ? (double)(now->counters[c] - then->counters[c]) / dt : 0;
}

#define SHORT_US_LEN 16

/* A latency in at most 6 characters ("850us", "12.3ms", "6.3s"): the line
 * that shows two of them must fit 80 columns whatever they are. */
static const char *short_us(uint64_t us, char *buf)
{
	if (us < 1000)
		snprintf(buf, SHORT_US_LEN, "%lluus", (unsigned long long)us);
	else if (us < 100000)
		snprintf(buf, SHORT_US_LEN, "%.1fms", us / 1e3);
	else if (us < 1000000)
		snprintf(buf, SHORT_US_LEN, "%.0fms", us / 1e3);
	else
		snprintf(buf, SHORT_US_LEN, "%.1fs", us / 1e6);
	return buf;
}

static void draw(const struct pinned *p, const struct snapshot *now, const struct snapshot *then)
{
	char name[40], a[FLOW_ADDR_STRLEN], b[FLOW_ADDR_STRLEN], ends[2 * FLOW_ADDR_STRLEN + 16];
	char p50[SHORT_US_LEN], p99[SHORT_US_LEN];
	unsigned max = 1, classes = p->agent.num_classes < ODEFLOW_MAX_CLASSES ? p->agent.num_classes
									     : ODEFLOW_MAX_CLASSES;
	unsigned columns = classes > ONE_COLUMN_CLASSES ? 2 : 1;
	int bar_width = columns > 1 ? 14 : 50;
	/* the 7 lines above the classes, theirs, 2 more, the last line free */
	int recent_rows = HEIGHT - 7 - (int)((classes + columns - 1) / columns) - 2 - 1;

	printf("\033[H\033[2J");
	printf("odeflow top  %-12.12s agent %-8s model %-10u window N=%-3u  q: quit\n",
	       p->agent.iface[0] ? p->agent.iface : "?",
	       pinned_agent_alive(p) ? "running" : "STOPPED", p->agent.model_id, p->agent.window_n);
	printf("%.*s\n", WIDTH, "--------------------------------------------------------------------------------");
	printf("packets/s %12.0f   bytes/s %14.0f   windows/s %10.1f\n", rate(now, then, CNT_PACKETS),
	       rate(now, then, CNT_BYTES), rate(now, then, CNT_WINDOWS));
	printf("dropped/s %12.0f   marked/s %13.0f   rate-limited/s %5.0f\n",
	       rate(now, then, CNT_ACTION_DROP), rate(now, then, CNT_ACTION_MARK),
	       rate(now, then, CNT_ACTION_RATE_DROP));
	printf("ring drops %9llu  verdict hits/s %7.0f  latency 10s p50/p99 %s/%s\n",
	       (unsigned long long)now->counters[CNT_RING_DROPS], rate(now, then, CNT_VERDICT_HITS),
	       short_us(p->agent.latency_recent_p50_us, p50),
	       short_us(p->agent.latency_recent_p99_us, p99));
	printf("\nconnections %u (%u provisional)\n", now->connections, now->provisional);
	for (unsigned k = 0; k < classes; k++)
		if (now->per_class[k] > max)
			max = now->per_class[k];
	for (unsigned k = 0; k < classes; k++) {
		int bar = (int)(now->per_class[k] * (unsigned)bar_width / max);

		printf("  %-14.14s %7u %-*.*s", pinned_class_name(p, k, name, sizeof(name)),
		       now->per_class[k], columns > 1 ? bar_width : 0, bar,
		       "##################################################");
		if (k % columns == columns - 1 || k == classes - 1)
			putchar('\n');
	}
	printf("\n  %-40s %-13s %5s %-5s %2s %7s\n", "recent verdicts", "class", "conf", "state",
	       "st", "age");
	for (int i = 0; i < now->nrecent && i < recent_rows; i++) {
		const struct recent *r = &now->recent[i];

		flow_addr_format(r->key.saddr, a, sizeof(a));
		flow_addr_format(r->key.daddr, b, sizeof(b));
		snprintf(ends, sizeof(ends), "%s:%u-%s:%u", a, r->key.sport, b, r->key.dport);
		printf("  %-40.40s %-13.13s %5.3f %-5s %2u %6.1fs\n", ends,
		       pinned_class_name(p, r->v.class_id, name, sizeof(name)), r->v.confidence_ppm / 1e6,
		       r->v.flags & VERDICT_PROVISIONAL ? "prov." : r->v.flags & VERDICT_DPI ? "dpi" :
		       "final", r->v.stage,
		       now->at_ns > r->v.decided_ns ? (now->at_ns - r->v.decided_ns) / 1e9 : 0.0);
	}
	fflush(stdout);
}

int cmd_top(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct snapshot snaps[2];
	struct pinned_where where = { 0 };
	long iterations = -1;
	struct cli_parse cp;
	struct pinned p;
	bool tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	int id, cur = 0;

	cli_parse_start(&cp, &command_top, argc, argv);
	while ((id = cli_next(&cp)) > 0) {
		if (id == OPT_ITERATIONS)
			cli_long(&cp, 0, LONG_MAX, &iterations);
		else
			pinned_where_take(&where, id, cp.arg);
	}
	if (id < 0)
		return cp.exit;
	if (pinned_where_open(&where, &p))
		return CLI_EXIT_FAILURE;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (tty)
		screen_enter();
	take_snapshot(&p, &snaps[0]);
	while (!stop && iterations != 0) {
		struct pollfd in = { .fd = STDIN_FILENO, .events = POLLIN };
		char key;

		if (poll(&in, tty ? 1 : 0, 1000) > 0 && read(STDIN_FILENO, &key, 1) == 1 &&
		    (key == 'q' || key == 'Q'))
			break;
		cur = !cur;
		if (take_snapshot(&p, &snaps[cur]))
			break;
		draw(&p, &snaps[cur], &snaps[!cur]);
		if (iterations > 0)
			iterations--;
	}
	if (tty)
		screen_leave();
	pinned_close(&p);
	return 0;
}
