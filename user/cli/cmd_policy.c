/* SPDX-License-Identifier: MIT */
/* odeflow policy: show or change the per-class policy of a running agent. */
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "common/errmsg.h"
#include "loader/pinned.h"
#include "agent/policy.h"
#include "pinned_command.h"

ODEFLOW_COMMAND(policy,
	.summary = "show or change the per-class policy (live, in the pinned map)",
	.description = "Shows the action of every class (show, the default), sets one class's "
		       "action, or loads a policy file (lines CLASS ACTION [ARGS], as odeflow run "
		       "--policy takes) into the pinned policy map of a running agent; the XDP "
		       "program applies it to the next packet. A file that does not parse changes "
		       "nothing. Unknown (what the model does not recognise) may be passed or "
		       "marked, never dropped or rate-limited.",
	.operands = { "[show]", "set CLASS pass|drop|mark DSCP|rate-limit RATE BURST",
		     "load FILE" },
	.groups = { PINNED_WHERE_GROUP });

static int show(const struct pinned *p)
{
	char name[40], action[80];
	struct policy rule;

	for (unsigned k = 0; k < p->agent.num_classes && k < ODEFLOW_MAX_CLASSES; k++) {
		if (bpf_map_lookup_elem(p->fd[XDP_MAP_POLICY], &k, &rule))
			return 1;
		policy_format(&rule, action, sizeof(action));
		printf("%-16s %s\n", pinned_class_name(p, k, name, sizeof(name)), action);
	}
	return 0;
}

static int write_table(const struct pinned *p, const struct policy_table *t, unsigned first,
		       unsigned last)
{
	for (unsigned k = first; k <= last; k++)
		if (xdp_set_policy(p->fd[XDP_MAP_POLICY], p->fd[XDP_MAP_RATE_BUCKETS], k, &t->rules[k])) {
			return cli_fail("cannot write the policy map");
		}
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	const char *names[ODEFLOW_MAX_CLASSES];
	struct pinned_where where = { 0 };
	char err[ERRMSG_LEN], buf[ODEFLOW_MAX_CLASSES][40];
	struct policy_table table = { 0 };
	struct cli_parse cp;
	struct pinned p;
	int id, n, rc = CLI_EXIT_USAGE, cls;
	char **args;

	cli_parse_start(&cp, &command_policy, argc, argv);
	while ((id = cli_next(&cp)) > 0)
		pinned_where_take(&where, id, cp.arg);
	if (id < 0)
		return cp.exit;
	args = argv + cp.operands;
	n = argc - cp.operands;
	if (!(n == 0 || (n == 1 && !strcmp(args[0], "show")) || (n >= 3 && !strcmp(args[0],
										   "set")) ||
	      (n == 2 && !strcmp(args[0], "load"))))
		return cli_usage_error(&cp, "show, set CLASS ACTION or load FILE");
	if (pinned_where_open(&where, &p))
		return CLI_EXIT_FAILURE;
	if (!p.agent.num_classes) {
		rc = cli_fail("no agent has published its class names in the pinned maps");
	} else if (n <= 1) {
		rc = show(&p);
	} else if (!strcmp(args[0], "set")) {
		cls = pinned_class_id(&p, args[1]);
		if (cls < 0)
			cli_fail("unknown class '%s'", args[1]);
		else if (policy_parse_action(n - 2, args + 2, &table.rules[cls], err, sizeof(err)) ||
			 policy_check_rule(args[1], &table.rules[cls], err, sizeof(err)))
			cli_fail("%s", err);
		else
			rc = write_table(&p, &table, (unsigned)cls, (unsigned)cls);
	} else {
		for (unsigned k = 0; k < p.agent.num_classes && k < ODEFLOW_MAX_CLASSES; k++)
			names[k] = pinned_class_name(&p, k, buf[k], sizeof(buf[k]));
		if (policy_load(args[1], names, (int)p.agent.num_classes, &table, err, sizeof(err)))
			cli_fail("%s; the running policy is kept", err);
		else
			rc = write_table(&p, &table, 0, ODEFLOW_MAX_CLASSES - 1);
	}
	pinned_close(&p);
	return rc;
}
