/* SPDX-License-Identifier: MIT */
/* odeflow stats: the XDP program's counters and the agent's health. */
#include <jansson.h>
#include <stdio.h>

#include "cli.h"
#include "pinned_command.h"

ODEFLOW_COMMAND(stats,
	.summary = "print the packet counters and the agent's state",
	.description = "Prints the XDP program's counters, summed over the CPUs, and whether "
		       "the agent runs, with its windows classified and its latency.",
	.groups = { { NULL, pinned_command_options } });

int cmd_stats(int argc, char **argv)
{
	uint64_t counters[CNT_MAX];
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
	if (json) {
		json_t *o = json_object(), *cnt = json_object();

		for (int i = 0; i < CNT_MAX; i++)
			json_object_set_new(cnt, xdp_counter_name(i), json_integer((json_int_t)counters[i]));
		json_object_set_new(o, "counters", cnt);
		json_object_set_new(o, "sampler_loaded", json_boolean(hook != NULL));
		json_object_set_new(o, "hook", hook ? json_string(hook) : json_null());
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
		if (hook)
			printf("hook: %s\n", hook);
		if (pinned_agent_alive(&p))
			printf("agent pid %u: %llu windows classified (%llu failed), %llu events dropped, "
			       "%llu verdicts restored\n"
			       "latency, last 10 s: p50 %llu us, p99 %llu us; since the start: p50 %llu us, "
			       "p99 %llu us\n",
			       p.agent.pid, (unsigned long long)p.agent.windows_classified,
			       (unsigned long long)p.agent.windows_failed,
			       (unsigned long long)p.agent.events_dropped,
			       (unsigned long long)p.agent.verdicts_restored,
			       (unsigned long long)p.agent.latency_recent_p50_us,
			       (unsigned long long)p.agent.latency_recent_p99_us,
			       (unsigned long long)p.agent.latency_p50_us,
			       (unsigned long long)p.agent.latency_p99_us);
		else if (hook)
			printf("agent: not running (the XDP program keeps enforcing the last verdicts)\n");
		else
			printf("agent: not running, and no XDP program uses these maps: nothing is "
			       "enforced (the pins are left over)\n");
	}
	pinned_close(&p);
	return 0;
}
