/* SPDX-License-Identifier: MIT */
/* odeflow flows: the verdicts in the pinned map, one connection a line. */
#include <bpf/bpf.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/flow_key.h"
#include "common/clock.h"
#include "pinned_command.h"
#include "teach_view.h"

ODEFLOW_COMMAND(flows,
	.summary = "list the classified connections (verdict map)",
	.description = "Lists the connections in the verdict map of a running (or --keep'd) "
		       "agent, one a line: its endpoints, protocol, class, confidence, stage, "
		       "whether the verdict is final, and its age.",
	.groups = { { NULL, pinned_command_options }, PINNED_WHERE_GROUP });

static const char *proto_name(unsigned proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : "ip";
}

static json_t *flow_json(const struct pinned *p, const struct flow_key *k, const struct verdict *v,
			 uint64_t now)
{
	char a[FLOW_ADDR_STRLEN], b[FLOW_ADDR_STRLEN], cls[40];

	flow_addr_format(k->saddr, a, sizeof(a));
	flow_addr_format(k->daddr, b, sizeof(b));
	return json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:i, s:f, s:i, s:b, s:b, s:f, s:I}",
			 "src", a, "sport", k->sport, "dst", b, "dport", k->dport,
			 "proto", proto_name(k->proto),
			 "class", pinned_class_name(p, v->class_id, cls, sizeof(cls)),
			 "class_id", v->class_id, "confidence", v->confidence_ppm / 1e6,
			 "stage", v->stage, "provisional", (v->flags & VERDICT_PROVISIONAL) != 0,
			 "dpi", (v->flags & VERDICT_DPI) != 0,
			 "age_s", now > v->decided_ns ? (now - v->decided_ns) / 1e9 : 0.0,
			 "model_id", (json_int_t)v->model_id); /* unsigned, as everywhere */
}

static void print_row(const struct pinned *p, const struct flow_key *k, const struct verdict *v,
		      uint64_t now)
{
	char a[FLOW_ADDR_STRLEN], b[FLOW_ADDR_STRLEN], ends[128], cls[40], stage[8];

	flow_addr_format(k->saddr, a, sizeof(a));
	flow_addr_format(k->daddr, b, sizeof(b));
	snprintf(ends, sizeof(ends), flow_addr_is_ipv4(k->saddr) ? "%s:%u <-> %s:%u" : "[%s]:%u <-> [%s]:%u",
		 a, k->sport, b, k->dport);
	printf("%-47s %-5s %-14s %6.3f %5s %-11s %7.1fs\n", ends, proto_name(k->proto),
	       pinned_class_name(p, v->class_id, cls, sizeof(cls)), v->confidence_ppm / 1e6,
	       teach_stage_name(v, stage, sizeof(stage)),
	       v->flags & VERDICT_PROVISIONAL ? "provisional" : "final",
	       now > v->decided_ns ? (now - v->decided_ns) / 1e9 : 0.0);
}

int cmd_flows(int argc, char **argv)
{
	struct flow_key key, next, *prev = NULL;
	struct verdict v;
	struct pinned p;
	bool json;
	json_t *list;
	uint64_t now;
	int n = 0, rc;

	if (!pinned_command_start(&command_flows, argc, argv, &json, &p, &rc))
		return rc;
	list = json_array();
	now = monotonic_ns();
	if (!json)
		printf("%-47s %-5s %-14s %6s %5s %-11s %8s\n", "CONNECTION", "PROTO", "CLASS", "CONF",
		       "STAGE", "STATE", "AGE");
	while (bpf_map_get_next_key(p.fd[XDP_MAP_VERDICTS], prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(p.fd[XDP_MAP_VERDICTS], &key, &v))
			continue; /* evicted between the two calls */
		n++;
		if (json)
			json_array_append_new(list, flow_json(&p, &key, &v, now));
		else
			print_row(&p, &key, &v, now);
	}
	if (json) {
		json_dumpf(list, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("%d connection(s)\n", n);
	}
	json_decref(list);
	pinned_close(&p);
	return 0;
}
