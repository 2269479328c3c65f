/* SPDX-License-Identifier: MIT */
/* odeflow flows: the verdicts in the pinned map, one connection a line. */
#include <bpf/bpf.h>
#include <jansson.h>
#include <net/if.h>
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
		       "whether the verdict is final, its age, and where each direction's windows "
		       "came from (the interface, and in: its ingress, out: its egress; the forward "
		       "direction is the one from the first endpoint shown).",
	.groups = { { NULL, pinned_command_options }, PINNED_WHERE_GROUP });

static const char *proto_name(unsigned proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : "ip";
}

/* The name of an interface the sampler is attached to (map "ports"), or
 * its number when it is gone. */
static const char *port_name(const struct pinned *p, __u32 ifindex, char *buf, size_t len)
{
	struct attached_port port;

	if (!bpf_map_lookup_elem(p->fd[XDP_MAP_PORTS], &ifindex, &port) && port.name[0])
		snprintf(buf, len, "%.*s", (int)sizeof(port.name), port.name);
	else
		snprintf(buf, len, "if%u", ifindex);
	return buf;
}

/* Where one direction's windows came from: {"iface", "hook"}, or null
 * before its first window. */
static json_t *seen_json(const struct pinned *p, const struct verdict *v, int reverse)
{
	__u8 bit = reverse ? VERDICT_SEEN_REVERSE : VERDICT_SEEN_FORWARD;
	char name[IF_NAMESIZE + 8];

	if (!(v->flags & bit))
		return json_null();
	return json_pack("{s:s, s:s}", "iface", port_name(p, v->ifindex[reverse], name, sizeof(name)),
			 "hook", v->egress & bit ? "egress" : "ingress");
}

/* The same as text: "in@eth0" (arrived there), "out@eth0" (left there), "-". */
static const char *seen_text(const struct pinned *p, const struct verdict *v, int reverse,
			     char *buf, size_t len)
{
	__u8 bit = reverse ? VERDICT_SEEN_REVERSE : VERDICT_SEEN_FORWARD;
	char name[IF_NAMESIZE + 8];

	if (!(v->flags & bit))
		return "-";
	snprintf(buf, len, "%s@%s", v->egress & bit ? "out" : "in",
		 port_name(p, v->ifindex[reverse], name, sizeof(name)));
	return buf;
}

static json_t *flow_json(const struct pinned *p, const struct flow_key *k, const struct verdict *v,
			 uint64_t now)
{
	char a[FLOW_ADDR_STRLEN], b[FLOW_ADDR_STRLEN], cls[40];

	flow_addr_format(k->saddr, a, sizeof(a));
	flow_addr_format(k->daddr, b, sizeof(b));
	return json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:i, s:f, s:i, s:b, s:b, s:f, s:I, s:o, s:o}",
			 "src", a, "sport", k->sport, "dst", b, "dport", k->dport,
			 "proto", proto_name(k->proto),
			 "class", pinned_class_name(p, v->class_id, cls, sizeof(cls)),
			 "class_id", v->class_id, "confidence", v->confidence_ppm / 1e6,
			 "stage", v->stage, "provisional", (v->flags & VERDICT_PROVISIONAL) != 0,
			 "dpi", (v->flags & VERDICT_DPI) != 0,
			 "age_s", now > v->decided_ns ? (now - v->decided_ns) / 1e9 : 0.0,
			 "model_id", (json_int_t)v->model_id, /* unsigned, as everywhere */
			 "forward", seen_json(p, v, 0), "reverse", seen_json(p, v, 1));
}

static void print_row(const struct pinned *p, const struct flow_key *k, const struct verdict *v,
		      uint64_t now)
{
	char a[FLOW_ADDR_STRLEN], b[FLOW_ADDR_STRLEN], ends[128], cls[40], stage[8], fwd[32], rev[32];

	flow_addr_format(k->saddr, a, sizeof(a));
	flow_addr_format(k->daddr, b, sizeof(b));
	snprintf(ends, sizeof(ends), flow_addr_is_ipv4(k->saddr) ? "%s:%u <-> %s:%u" : "[%s]:%u <-> [%s]:%u",
		 a, k->sport, b, k->dport);
	printf("%-47s %-5s %-14s %6.3f %5s %-11s %7.1fs  %s %s\n", ends, proto_name(k->proto),
	       pinned_class_name(p, v->class_id, cls, sizeof(cls)), v->confidence_ppm / 1e6,
	       teach_stage_name(v, stage, sizeof(stage)),
	       v->flags & VERDICT_PROVISIONAL ? "provisional" : "final",
	       now > v->decided_ns ? (now - v->decided_ns) / 1e9 : 0.0,
	       seen_text(p, v, 0, fwd, sizeof(fwd)), seen_text(p, v, 1, rev, sizeof(rev)));
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
		printf("%-47s %-5s %-14s %6s %5s %-11s %8s  %s\n", "CONNECTION", "PROTO", "CLASS",
		       "CONF", "STAGE", "STATE", "AGE", "SEEN (-> <-)");
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
