/* SPDX-License-Identifier: MIT */
#include "teach_view.h"

#include <stdio.h>

#include "loader/map_ops.h"

const char *teach_stage_name(const struct verdict *v, char *buf, size_t len)
{
	if (v->flags & VERDICT_DPI)
		snprintf(buf, len, "dpi");
	else
		snprintf(buf, len, "%u", v->stage);
	return buf;
}

/* The teacher's numbers, when one runs (or ran: pid 0 after it stopped). */
static bool read_info(const struct pinned *p, struct teach_info *t)
{
	return !xdp_read_teach(p->fd[XDP_MAP_TEACH_INFO], t) && t->rate_ppm;
}

void teach_stats_print(FILE *out, const struct pinned *p)
{
	struct teach_info t;
	char name[40];
	bool first = true;

	if (!read_info(p, &t))
		return;
	fprintf(out, "teacher%s (--teach %g): %llu packets inspected by nDPI, %llu let go; "
		"%llu connections (%llu now), %llu labelled, %llu not\n",
		t.pid ? "" : " (stopped)", t.rate_ppm / 1e6, (unsigned long long)t.packets,
		(unsigned long long)t.packets_dropped, (unsigned long long)t.connections,
		(unsigned long long)t.connections_now, (unsigned long long)t.labelled,
		(unsigned long long)t.unlabelled);
	fprintf(out, "  cpu %.2f s, memory %.1f MiB; %llu dpi verdicts; site data set %.1f MiB, "
		"%llu windows saved, %llu lost; learning: %llu runs, %llu better models\n",
		t.cpu_us / 1e6, t.memory_bytes / 1048576.0, (unsigned long long)t.dpi_verdicts,
		t.site_bytes / 1048576.0, (unsigned long long)t.windows_saved,
		(unsigned long long)t.windows_dropped, (unsigned long long)t.learn_runs,
		(unsigned long long)t.models_learnt);
	fprintf(out, "  the model agrees with nDPI, per nDPI class:");
	for (unsigned k = 0; k < ODEFLOW_MAX_CLASSES; k++) {
		if (!t.checked[k])
			continue;
		fprintf(out, "%s %s %llu/%llu (%.1f%%)", first ? "" : ",",
			pinned_class_name(p, k, name, sizeof(name)), (unsigned long long)t.agreed[k],
			(unsigned long long)t.checked[k], 100.0 * t.agreed[k] / t.checked[k]);
		first = false;
	}
	fprintf(out, "%s\n", first ? " no connection decided yet" : "");
}

json_t *teach_stats_json(const struct pinned *p)
{
	struct teach_info t;
	json_t *o, *agree;
	char name[40];

	if (!read_info(p, &t))
		return NULL;
	agree = json_object();
	for (unsigned k = 0; k < ODEFLOW_MAX_CLASSES; k++)
		if (t.checked[k])
			json_object_set_new(agree, pinned_class_name(p, k, name, sizeof(name)),
					    json_pack("{s:I, s:I}", "checked", (json_int_t)t.checked[k],
						      "agreed", (json_int_t)t.agreed[k]));
	o = json_pack("{s:b, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:I}",
		      "running", t.pid != 0, "rate", t.rate_ppm / 1e6,
		      "packets", (json_int_t)t.packets, "packets_dropped", (json_int_t)t.packets_dropped,
		      "connections", (json_int_t)t.connections,
		      "connections_now", (json_int_t)t.connections_now,
		      "labelled", (json_int_t)t.labelled, "unlabelled", (json_int_t)t.unlabelled,
		      "cpu_seconds", t.cpu_us / 1e6, "memory_bytes", (json_int_t)t.memory_bytes,
		      "dpi_verdicts", (json_int_t)t.dpi_verdicts,
		      "windows_saved", (json_int_t)t.windows_saved,
		      "windows_dropped", (json_int_t)t.windows_dropped,
		      "site_bytes", (json_int_t)t.site_bytes, "learn_runs", (json_int_t)t.learn_runs,
		      "models_learnt", (json_int_t)t.models_learnt);
	json_object_set_new(o, "agreement", agree);
	return o;
}
