// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "engine/model.h"
#include "ndpi_report.h"

struct counts {
	unsigned long connections, directions, windows;
};

/* One row of the per-protocol table. */
struct protocol_row {
	char name[64], category[32];
	int verdict;
	enum ndpi_outcome outcome;
	struct counts n;
};

struct ndpi_report {
	const struct class_map *map;
	struct counts by_class[ODEFLOW_MAX_CLASSES];
	struct counts by_outcome[NDPI_OUTCOME_COUNT]; /* connections only */
	unsigned long ignored, no_rule;               /* connections */
	size_t count, capacity;
	struct protocol_row *rows;
};

struct ndpi_report *ndpi_report_new(const struct class_map *map)
{
	struct ndpi_report *rep = calloc(1, sizeof(*rep));

	if (rep)
		rep->map = map;
	return rep;
}

void ndpi_report_free(struct ndpi_report *rep)
{
	if (!rep)
		return;
	free(rep->rows);
	free(rep);
}

int ndpi_report_verdict(const struct class_map *map, const struct ndpi_result *r)
{
	struct class_map_flow flow;

	if (r->outcome != NDPI_DETECTED)
		return NDPI_LEFT_OUT;
	ndpi_result_flow(r, &flow);
	return class_map_match(map, &flow);
}

static struct protocol_row *row_of(struct ndpi_report *rep, const struct ndpi_result *r,
				   int verdict)
{
	enum ndpi_outcome o = r->outcome;

	for (size_t i = 0; i < rep->count; i++) {
		struct protocol_row *p = &rep->rows[i];

		if (p->verdict == verdict && p->outcome == o && !strcmp(p->name, r->name) &&
		    !strcmp(p->category, r->category))
			return p;
	}
	if (rep->count == rep->capacity) {
		size_t cap = rep->capacity ? 2 * rep->capacity : 32;
		struct protocol_row *rows = realloc(rep->rows, cap * sizeof(*rows));

		if (!rows)
			return NULL;
		rep->rows = rows;
		rep->capacity = cap;
	}
	rep->rows[rep->count] = (struct protocol_row){ .verdict = verdict, .outcome = o };
	snprintf(rep->rows[rep->count].name, sizeof(rep->rows[0].name), "%s", r->name);
	snprintf(rep->rows[rep->count].category, sizeof(rep->rows[0].category), "%s", r->category);
	return &rep->rows[rep->count++];
}

int ndpi_report_connection(struct ndpi_report *rep, const struct ndpi_result *r, int verdict)
{
	struct protocol_row *p = row_of(rep, r, verdict);

	if (!p)
		return -1;
	p->n.connections++;
	rep->by_outcome[r->outcome].connections++;
	if (verdict >= 0)
		rep->by_class[verdict].connections++;
	rep->ignored += verdict == CLASS_MAP_IGNORE;
	rep->no_rule += verdict == CLASS_MAP_NO_RULE;
	return 0;
}

int ndpi_report_window(struct ndpi_report *rep, const struct ndpi_result *r, int verdict,
		       bool first)
{
	struct protocol_row *p = row_of(rep, r, verdict);

	if (!p)
		return -1;
	p->n.windows++;
	p->n.directions += first;
	if (verdict >= 0) {
		rep->by_class[verdict].windows++;
		rep->by_class[verdict].directions += first;
	}
	return 0;
}

static const char *verdict_name(const struct ndpi_report *rep, const struct protocol_row *p)
{
	if (p->verdict >= 0)
		return class_map_class_name(rep->map, p->verdict);
	if (p->verdict == CLASS_MAP_IGNORE)
		return "(ignore)";
	if (p->verdict == CLASS_MAP_NO_RULE)
		return "(no rule)";
	switch (p->outcome) {
	case NDPI_GUESSED:
		return "(guessed)";
	case NDPI_NO_PAYLOAD:
		return "(no payload)";
	default:
		return "(unknown)";
	}
}

/* Classes first, in id order; then the rest; most windows first within. */
static int row_order(const void *a, const void *b)
{
	const struct protocol_row *x = a, *y = b;
	int kx = x->verdict >= 0 ? x->verdict : ODEFLOW_MAX_CLASSES - x->verdict;
	int ky = y->verdict >= 0 ? y->verdict : ODEFLOW_MAX_CLASSES - y->verdict;

	if (kx != ky)
		return kx - ky;
	if (x->outcome != y->outcome)
		return (int)x->outcome - (int)y->outcome;
	if (x->n.windows != y->n.windows)
		return x->n.windows > y->n.windows ? -1 : 1;
	return strcmp(x->name, y->name);
}

void ndpi_report_print(FILE *out, const struct ndpi_report *rep)
{
	const struct counts *o = rep->by_outcome;
	unsigned long seen = 0;

	for (int i = 0; i < NDPI_OUTCOME_COUNT; i++)
		seen += o[i].connections;
	fprintf(out, "connections: %lu; nDPI detected %lu by inspection (%lu ignored, %lu "
		"matched no rule); left out: %lu guessed by port or address, %lu unknown, "
		"%lu cut by the snaplen\n\n", seen, o[NDPI_DETECTED].connections, rep->ignored,
		rep->no_rule, o[NDPI_GUESSED].connections, o[NDPI_UNKNOWN].connections,
		o[NDPI_NO_PAYLOAD].connections);
	fprintf(out, "%-16s %11s %10s %8s\n", "class", "connections", "directions", "windows");
	for (int c = 0; c < class_map_classes(rep->map); c++)
		fprintf(out, "%-16s %11lu %10lu %8lu\n", class_map_class_name(rep->map, c),
			rep->by_class[c].connections, rep->by_class[c].directions,
			rep->by_class[c].windows);
	fprintf(out, "\n%-28s %-18s %-16s %11s %10s %8s\n", "nDPI protocol", "category", "class",
		"connections", "directions", "windows");
	if (rep->count) /* no rows, no array: qsort wants one */
		qsort(rep->rows, rep->count, sizeof(*rep->rows), row_order);
	for (size_t i = 0; i < rep->count; i++) {
		const struct protocol_row *p = &rep->rows[i];

		fprintf(out, "%-28s %-18s %-16s %11lu %10lu %8lu\n", p->name, p->category,
			verdict_name(rep, p), p->n.connections, p->n.directions, p->n.windows);
	}
}
