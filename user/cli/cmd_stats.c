/* SPDX-License-Identifier: MIT */
/* odeflow stats: the XDP program's counters and the agent's health. */
#include <jansson.h>
#include <stdio.h>

#include "cli.h"
#include "pinned_command.h"
#include "teach_view.h"

ODEFLOW_COMMAND(stats,
	.summary = "print the packet counters and the agent's state",
	.description = "Prints the XDP program's counters, summed over the CPUs, the packets "
		       "and bytes of classified connections by class (Unknown among them) with "
		       "those the policy dropped, and whether the agent runs, with its windows "
		       "classified and its latency.",
	.groups = { { NULL, pinned_command_options }, PINNED_WHERE_GROUP });

static void latency_text(uint64_t p50, uint64_t p99, const char *none, char *out, size_t len)
{
	if (!p50 && !p99)
		snprintf(out, len, "%s", none);
	else
		snprintf(out, len, "p50 %llu us, p99 %llu us", (unsigned long long)p50,
			 (unsigned long long)p99);
}

/* Packets, bytes and dropped packets of classified connections, by the
 * class (or Unknown) of their verdict. */
struct class_row {
	uint64_t packets, bytes, dropped;
};

static void class_rows(const struct class_traffic *t, unsigned num_classes, struct class_row *rows)
{
	for (unsigned k = 0; k < num_classes; k++) {
		rows[k] = (struct class_row){ 0 };
		for (int o = 0; o < OUTCOME_COUNT; o++) {
			const struct class_traffic *c = &t[k * OUTCOME_COUNT + o];

			rows[k].packets += c->packets;
			rows[k].bytes += c->bytes;
			if (o == OUTCOME_DROP || o == OUTCOME_RATE_DROP)
				rows[k].dropped += c->packets;
		}
	}
}

int cmd_stats(int argc, char **argv)
{
	static struct class_traffic traffic[ODEFLOW_CLASS_ACTIONS];
	struct class_row rows[ODEFLOW_MAX_CLASSES];
	uint64_t counters[CNT_MAX];
	unsigned classes;
	char name[40];
	const char *hook;
	struct pinned p;
	bool json;
	int rc;

	if (!pinned_command_start(&command_stats, argc, argv, &json, &p, &rc))
		return rc;
	if (xdp_read_counters(p.fd[XDP_MAP_COUNTERS], counters)) {
		pinned_close(&p);
		return cli_fail("cannot read the counters map");
	}
	hook = pinned_sampler_hook(&p);
	classes = p.agent.num_classes < ODEFLOW_MAX_CLASSES ? p.agent.num_classes
							     : ODEFLOW_MAX_CLASSES;
	if (xdp_read_class_actions(p.fd[XDP_MAP_CLASS_ACTIONS], traffic))
		classes = 0;
	class_rows(traffic, classes, rows);
	if (json) {
		json_t *by_class = json_object();

		for (unsigned k = 0; k < classes; k++)
			json_object_set_new(by_class, pinned_class_name(&p, k, name, sizeof(name)),
					    json_pack("{s:I, s:I, s:I}",
						      "packets", (json_int_t)rows[k].packets,
						      "bytes", (json_int_t)rows[k].bytes,
						      "dropped", (json_int_t)rows[k].dropped));
		json_t *o = json_object(), *cnt = json_object();

		for (int i = 0; i < CNT_MAX; i++)
			json_object_set_new(cnt, xdp_counter_name(i), json_integer((json_int_t)counters[i]));
		json_object_set_new(o, "counters", cnt);
		json_object_set_new(o, "classes", by_class);
		json_object_set_new(o, "sampler_loaded", json_boolean(hook != NULL));
		json_object_set_new(o, "hook", hook ? json_string(hook) : json_null());
		json_t *teach = teach_stats_json(&p);

		if (teach)
			json_object_set_new(o, "teach", teach);
		json_object_set_new(o, "agent", json_pack("{s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"running", pinned_agent_alive(&p), "pid", (int)p.agent.pid,
			"windows_classified", (json_int_t)p.agent.windows_classified,
			"windows_failed", (json_int_t)p.agent.windows_failed,
			"latency_p50_us", (json_int_t)p.agent.latency_p50_us,
			"latency_p90_us", (json_int_t)p.agent.latency_p90_us,
			"latency_p99_us", (json_int_t)p.agent.latency_p99_us,
			"latency_p999_us", (json_int_t)p.agent.latency_p999_us,
			"latency_recent_p50_us", (json_int_t)p.agent.latency_recent_p50_us,
			"latency_recent_p99_us", (json_int_t)p.agent.latency_recent_p99_us,
			"rearms_lost", (json_int_t)p.agent.rearms_lost,
			"verdicts_restored", (json_int_t)p.agent.verdicts_restored,
			"events_dropped", (json_int_t)p.agent.events_dropped));
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		for (int i = 0; i < CNT_MAX; i++)
			printf("%-18s %20llu\n", xdp_counter_name(i), (unsigned long long)counters[i]);
		if (classes)
			printf("%-18s %20s %20s %20s\n", "class", "packets", "bytes", "dropped");
		for (unsigned k = 0; k < classes; k++)
			printf("%-18s %20llu %20llu %20llu\n",
			       pinned_class_name(&p, k, name, sizeof(name)),
			       (unsigned long long)rows[k].packets, (unsigned long long)rows[k].bytes,
			       (unsigned long long)rows[k].dropped);
		if (hook)
			printf("hook: %s\n", hook);
		if (pinned_agent_alive(&p)) {
			char recent[64], lifetime[64];

			/* a verdict takes microseconds at least: 0 means no window */
			latency_text(p.agent.latency_recent_p50_us, p.agent.latency_recent_p99_us,
				     "no windows", recent, sizeof(recent));
			latency_text(p.agent.latency_p50_us, p.agent.latency_p99_us, "no windows yet",
				     lifetime, sizeof(lifetime));
			printf("agent pid %u on %.16s: %llu windows classified (%llu failed), %llu events "
			       "dropped, %llu verdicts restored\nlatency, last 10 s: %s; since the start: %s\n", p.agent.pid,
			       p.agent.iface, (unsigned long long)p.agent.windows_classified,
			       (unsigned long long)p.agent.windows_failed,
			       (unsigned long long)p.agent.events_dropped,
			       (unsigned long long)p.agent.verdicts_restored, recent, lifetime);
		} else if (hook)
			printf("agent: not running (the XDP program keeps enforcing the last verdicts)\n");
		else
			printf("agent: not running, and no XDP program uses these maps: nothing is "
			       "enforced (the pins are left over)\n");
		teach_stats_print(stdout, &p);
	}
	pinned_close(&p);
	return 0;
}
