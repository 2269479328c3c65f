// SPDX-License-Identifier: MIT
#include <math.h>

#include "metrics_json.h"

json_t *confusion_json(const struct metrics *m)
{
	json_t *rows = json_array();

	for (int t = 0; t < m->num_classes; t++) {
		json_t *row = json_array();

		for (int p = 0; p < m->num_classes; p++)
			json_array_append_new(row, json_integer((json_int_t)m->confusion[t][p]));
		json_array_append_new(rows, row);
	}
	return rows;
}

json_t *coverage_json(const struct metrics *m)
{
	json_t *a = json_array();

	for (int i = 0; i < COVERAGE_POINTS; i++) {
		const struct coverage_point *p = &m->coverage[i];

		/* accuracy over no windows is undefined: null, not 0 */
		json_array_append_new(a, json_pack("{s:f, s:f, s:I, s:o}", "threshold", p->threshold,
						   "coverage", p->coverage, "n", (json_int_t)p->covered,
						   "accuracy", p->covered ? json_real(p->accuracy) :
									    json_null()));
	}
	return a;
}

/* A finite number, else null (JSON has no infinity). */
static json_t *number(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *named_json(const struct named_metrics *m, enum model_unknown score)
{
	json_t *curve = json_array();

	for (int i = 0; i < NAMED_POINTS; i++) {
		const struct named_point *p = &m->curve[i];

		json_array_append_new(curve, json_pack("{s:f, s:o, s:I, s:o}", "share", p->share,
						       "threshold", number(p->threshold), "named",
						       (json_int_t)p->named, "accuracy",
						       p->named ? json_real(p->accuracy) :
								  json_null()));
	}
	return json_pack("{s:s, s:o, s:I, s:I, s:f, s:o, s:o}", "score", model_unknown_name(score),
			 "threshold", number(m->threshold), "n", (json_int_t)m->n, "named",
			 (json_int_t)m->named, "share", m->share, "accuracy",
			 m->named ? json_real(m->accuracy) : json_null(), "curve", curve);
}

void named_print_curve(FILE *out, const struct named_metrics *m)
{
	fprintf(out, "  %-24s", "share of windows named");
	for (int i = 0; i < NAMED_POINTS; i++)
		fprintf(out, " %6.0f%%", 100 * m->curve[i].share);
	fprintf(out, "\n  %-24s", "accuracy of those named");
	for (int i = 0; i < NAMED_POINTS; i++)
		if (m->curve[i].named)
			fprintf(out, " %6.2f%%", 100 * m->curve[i].accuracy);
		else
			fprintf(out, " %7s", "-");
	fputc('\n', out);
}
