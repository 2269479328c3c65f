/* SPDX-License-Identifier: MIT */
/* odeflow policy: show or change the per-class policy of a running agent. */
#include <bpf/bpf.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "loader/pinned.h"
#include "agent/policy.h"

ODEFLOW_COMMAND(policy, "show or change the per-class policy (live, in the pinned map)")

static void usage(FILE *out)
{
	fprintf(out, "usage: odeflow policy [show] [--pin-dir DIR]\n"
		     "       odeflow policy set CLASS pass|drop|mark DSCP|rate-limit RATE BURST [--pin-dir DIR]\n"
		     "       odeflow policy load FILE [--pin-dir DIR]\n");
}

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
			fprintf(stderr, "odeflow policy: cannot write the policy map\n");
			return 1;
		}
	return 0;
}

int cmd_policy(int argc, char **argv)
{
	const char *pin_dir = NULL, *names[ODEFLOW_MAX_CLASSES];
	char err[512], buf[ODEFLOW_MAX_CLASSES][40];
	struct policy_table table = { 0 };
	struct pinned p;
	int rc = 2, cls;

	/* --pin-dir DIR may come last; everything else is positional */
	if (argc >= 3 && !strcmp(argv[argc - 2], "--pin-dir")) {
		pin_dir = argv[argc - 1];
		argc -= 2;
	}
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (pinned_open(pin_dir, &p, err, sizeof(err))) {
		fprintf(stderr, "odeflow policy: %s\n", err);
		return 1;
	}
	if (!p.agent.num_classes) {
		fprintf(stderr, "odeflow policy: no agent has published its class names in the pinned maps\n");
		rc = 1;
	} else if (argc == 1 || (argc == 2 && !strcmp(argv[1], "show"))) {
		rc = show(&p);
	} else if (argc >= 4 && !strcmp(argv[1], "set")) {
		cls = pinned_class_id(&p, argv[2]);
		if (cls < 0)
			fprintf(stderr, "odeflow policy: unknown class '%s'\n", argv[2]);
		else if (policy_parse_action(argc - 3, argv + 3, &table.rules[cls], err, sizeof(err)))
			fprintf(stderr, "odeflow policy: %s\n", err);
		else
			rc = write_table(&p, &table, (unsigned)cls, (unsigned)cls);
	} else if (argc == 3 && !strcmp(argv[1], "load")) {
		for (unsigned k = 0; k < p.agent.num_classes && k < ODEFLOW_MAX_CLASSES; k++)
			names[k] = pinned_class_name(&p, k, buf[k], sizeof(buf[k]));
		if (policy_load(argv[2], names, (int)p.agent.num_classes, &table, err, sizeof(err)))
			fprintf(stderr, "odeflow policy: %s; the running policy is kept\n", err);
		else
			rc = write_table(&p, &table, 0, ODEFLOW_MAX_CLASSES - 1);
	} else {
		usage(stderr);
	}
	pinned_close(&p);
	return rc;
}
