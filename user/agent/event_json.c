// SPDX-License-Identifier: MIT
#include <jansson.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "event_json.h"
#include "common/flow_key.h"

/* A JSON string of s; a name that is not UTF-8 (file names need not be)
 * has its non-ASCII bytes shown as '?' instead of failing the event. */
static json_t *name_string(const char *s)
{
	json_t *j = json_string(s);
	char *ascii;

	if (j || !(ascii = strdup(s)))
		return j;
	for (char *p = ascii; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(ascii);
	free(ascii);
	return j;
}

char *event_json(const struct decision *d, const struct model_config *cfg, const char *iface,
		 double time, double latency_us)
{
	const struct window_record *w = &d->window;
	char src[FLOW_ADDR_STRLEN], dst[FLOW_ADDR_STRLEN];
	int n = w->n < ODEFLOW_MAX_WINDOW ? w->n : ODEFLOW_MAX_WINDOW;
	const char *cls = model_outcome_name(cfg, d->class_id);
	json_t *sizes = json_array(), *ts_us = json_array(), *o;
	char name[IF_NAMESIZE];
	char *text;

	for (int i = 0; sizes && ts_us && i < n; i++) {
		json_array_append_new(sizes, json_integer(w->sizes[i]));
		json_array_append_new(ts_us, json_integer(w->offset_us[i]));
	}
	/* the window's own interface when the agent has several; by number when gone */
	if (w->ifindex && !if_indextoname(w->ifindex, name))
		snprintf(name, sizeof(name), "if%u", w->ifindex);
	flow_addr_format(w->key.saddr, src, sizeof(src));
	flow_addr_format(w->key.daddr, dst, sizeof(dst));
	/* json_pack fails as a whole (NULL) if any part is NULL, and frees the rest */
	o = json_pack("{s:f, s:o, s:o, s:s, s:s, s:i, s:i, s:i, s:i, s:o, s:o, s:s, s:f, s:i, s:b, s:o}",
		      "time", time, "iface", name_string(w->ifindex ? name : iface),
		      "hook", w->ifindex ? json_string(w->egress ? "egress" : "ingress") : json_null(),
		      "src", src, "dst", dst,
		      "sport", w->key.sport, "dport", w->key.dport, "proto", w->key.proto,
		      "window", w->window, "sizes", sizes, "ts_us", ts_us, "class", cls,
		      "confidence", (double)d->confidence, "stage", d->stage,
		      "provisional", d->provisional,
		      "latency_us", latency_us < 0 ? json_null() : json_real(latency_us));
	if (!o)
		return NULL;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}
