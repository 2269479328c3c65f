// SPDX-License-Identifier: MIT
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cv_report.h"
#include "metrics_json.h"
#include "train/calibrate.h"

/* One capture file's or application's held-out windows. */
struct group_figures {
	int class_id;           /* the class most of its windows have */
	size_t n, right, named, named_right;
};

struct cv_report {
	const struct cv_run *run;
	double acc_mean, acc_min, f1_mean, f1_min;
	int acc_min_fold;
	struct metrics pooled;
	/* calibration: the temperature fitted on all held-out predictions (what
	 * a model trained by this recipe should store); ece, nll and cal
	 * cross-fitted, each fold scaled by the others' fit */
	double temperature, ece_raw, ece, nll_raw, nll;
	struct metrics cal;
	/* Unknown: with application folds, each fold's threshold fitted on the
	 * other folds' held-out applications and named measured at it; else
	 * only the curve (held-out windows of applications the models trained
	 * on cannot fit it) */
	bool fitted;
	double thresholds[CROSSVAL_MAX_FOLDS];
	struct named_metrics named;
	struct group_figures *group;
	struct group_figures first;  /* each direction's first window */
	/* each group alike: mean accuracy, share named */
	double group_accuracy, group_share;
};

static void summarise(struct cv_report *r)
{
	const struct crossval_fold *f = r->run->folds;
	const int k = r->run->k;

	r->acc_min = r->f1_min = 2;
	for (int i = 0; i < k; i++) {
		r->acc_mean += f[i].m.accuracy / k;
		r->f1_mean += f[i].m.macro_f1 / k;
		if (f[i].m.accuracy < r->acc_min) {
			r->acc_min = f[i].m.accuracy;
			r->acc_min_fold = i;
		}
		if (f[i].m.macro_f1 < r->f1_min)
			r->f1_min = f[i].m.macro_f1;
	}
}

static int calibrate(struct cv_report *r)
{
	const struct cv_run *u = r->run;
	const int C = u->cfg->num_classes;
	const size_t n = u->ds->n;
	const int *y = u->ds->labels;
	float *cal = malloc((n ? n : 1) * C * sizeof(*cal));

	if (!cal || calib_crossfit(u->logprobs, y, u->fold, u->k, n, C, cal)) {
		free(cal);
		return -1;
	}
	r->temperature = calib_fit_temperature(u->logprobs, y, n, C);
	r->ece_raw = calib_ece(u->logprobs, y, n, C);
	r->nll_raw = calib_nll(u->logprobs, y, n, C);
	r->ece = calib_ece(cal, y, n, C);
	r->nll = calib_nll(cal, y, n, C);
	metrics_compute(y, cal, n, C, &r->cal);
	free(cal);
	return 0;
}

/* Whether window w is named: at or below its fold's threshold (every
 * window when no threshold was fitted). */
static bool named_at(const struct cv_report *r, size_t w)
{
	return !r->fitted || r->run->unknown[w] <= r->thresholds[r->run->fold[w]];
}

static void add(struct group_figures *f, const struct cv_report *r, size_t w)
{
	const int C = r->run->cfg->num_classes;
	bool right = metrics_argmax(r->run->logprobs + w * C, C) == r->run->ds->labels[w];
	bool named = named_at(r, w);

	f->n++;
	f->right += right;
	f->named += named;
	f->named_right += named && right;
}

/* The first windows of the directions: position "0" of the index. */
static void first_windows(struct cv_report *r)
{
	const struct dataset_groups *p = r->run->positions;

	for (int i = 0; i < p->count; i++)
		if (!strcmp(p->names[i], "0"))
			for (size_t w = 0; w < p->n; w++)
				if (p->group[w] == i)
					add(&r->first, r, w);
}

/* Each group's figures, and their means with each group alike. */
static int groups(struct cv_report *r)
{
	const struct cv_run *u = r->run;
	const struct dataset_groups *g = u->groups;
	const int C = u->cfg->num_classes;
	size_t *per_class = calloc((size_t)g->count * C + 1, sizeof(*per_class));

	r->group = calloc((size_t)g->count + 1, sizeof(*r->group));
	if (!r->group || !per_class) {
		free(per_class);
		return -1;
	}
	for (size_t w = 0; w < u->ds->n; w++) {
		per_class[(size_t)g->group[w] * C + u->ds->labels[w]]++;
		add(&r->group[g->group[w]], r, w);
	}
	for (int i = 0; i < g->count; i++) {
		struct group_figures *f = &r->group[i];

		for (int c = 1; c < C; c++)
			if (per_class[(size_t)i * C + c] > per_class[(size_t)i * C + f->class_id])
				f->class_id = c;
		r->group_accuracy += (double)f->right / f->n / g->count;
		r->group_share += (double)f->named / f->n / g->count;
	}
	free(per_class);
	return 0;
}

struct cv_report *cv_report_new(const struct cv_run *run)
{
	struct cv_report *r = calloc(1, sizeof(*r));
	const int C = run->cfg->num_classes;
	const size_t n = run->ds->n;

	if (!r)
		return NULL;
	r->run = run;
	summarise(r);
	metrics_compute(run->ds->labels, run->logprobs, n, C, &r->pooled);
	r->fitted = run->cfg->unknown != UNKNOWN_NONE && run->split == FOLD_APPS;
	if (r->fitted) {
		if (named_crossfit(run->ds->labels, run->logprobs, run->unknown, run->fold, run->k,
				   n, C, run->named_accuracy, r->thresholds, &r->named))
			goto fail;
	} else {
		named_compute(run->ds->labels, run->logprobs, run->unknown, n, C, INFINITY,
			      &r->named);
	}
	if (calibrate(r) || (run->groups->count && groups(r)))
		goto fail;
	first_windows(r);
	return r;
fail:
	cv_report_free(r);
	return NULL;
}

void cv_report_free(struct cv_report *r)
{
	if (r)
		free(r->group);
	free(r);
}

/* The capture files or applications fold f holds out, as JSON. */
static json_t *fold_groups_json(const struct dataset_groups *groups, const int *fold, int f)
{
	json_t *names = json_array();
	bool *named = calloc((size_t)groups->count + 1, sizeof(*named));

	for (size_t w = 0; named && w < groups->n; w++)
		if (fold[w] == f && !named[groups->group[w]]) {
			named[groups->group[w]] = true;
			json_array_append_new(names, json_string(groups->names[groups->group[w]]));
		}
	free(named);
	return names;
}

void cv_report_folds(const struct cv_run *run, FILE *out)
{
	for (int f = 0; run->groups->count && f < run->k; f++) {
		json_t *names = fold_groups_json(run->groups, run->fold, f), *v;
		size_t i, windows = 0;

		for (size_t w = 0; w < run->groups->n; w++)
			windows += run->fold[w] == f;
		fprintf(out, "fold %d holds out %zu window%s of", f + 1, windows,
			windows == 1 ? "" : "s");
		json_array_foreach(names, i, v)
			fprintf(out, "%s %s", i ? "," : "", json_string_value(v));
		fputc('\n', out);
		json_decref(names);
	}
}

static void unknown_text(const struct cv_report *r, FILE *out)
{
	const struct cv_run *u = r->run;
	const char *score = model_unknown_name(u->cfg->unknown);

	if (u->cfg->unknown == UNKNOWN_NONE)
		return;
	if (r->fitted)
		fprintf(out, "Unknown (%s; each fold's threshold fitted on the other folds' held-out "
			"applications for %.0f%% right): the models name %.2f%% of the windows, "
			"%.2f%% of those right\n", score, 100 * u->named_accuracy,
			100 * r->named.share, 100 * r->named.accuracy);
	else
		fprintf(out, "Unknown (%s): no threshold from these folds (it is fitted on held-out "
			"applications: --split apps); accuracy by the share of windows named, the "
			"least unlike their training first:\n", score);
	named_print_curve(out, &r->named);
}

static void groups_text(const struct cv_report *r, FILE *out)
{
	const struct cv_run *u = r->run;
	const struct dataset_groups *g = u->groups;
	const char *what = fold_split_groups(u->split);

	if (!g->count)
		return;
	fprintf(out, "held-out %s, each alike: mean accuracy %.2f%%", what,
		100 * r->group_accuracy);
	if (r->fitted)
		fprintf(out, ", mean share named %.2f%%", 100 * r->group_share);
	fprintf(out, "\n  %-32s %-14s %8s %9s", "", "class", "windows", "accuracy");
	if (r->fitted)
		fprintf(out, " %7s %15s", "named", "right of named");
	fputc('\n', out);
	for (int i = 0; i < g->count; i++) {
		const struct group_figures *f = &r->group[i];

		fprintf(out, "  %-32.32s %-14.14s %8zu %8.2f%%", g->names[i],
			u->cfg->class_names[f->class_id], f->n, 100.0 * f->right / f->n);
		if (r->fitted && f->named)
			fprintf(out, " %6.2f%% %14.2f%%", 100.0 * f->named / f->n,
				100.0 * f->named_right / f->named);
		else if (r->fitted)
			fprintf(out, " %6.2f%% %15s", 0.0, "-");
		fputc('\n', out);
	}
}

static void first_text(const struct cv_report *r, FILE *out)
{
	const struct group_figures *f = &r->first;

	if (!f->n)
		return;
	fprintf(out, "first windows of each direction (%zu): accuracy %.2f%%", f->n,
		100.0 * f->right / f->n);
	if (r->fitted)
		fprintf(out, "; named %.2f%%, %.2f%% of those right", 100.0 * f->named / f->n,
			f->named ? 100.0 * f->named_right / f->named : 0);
	fputc('\n', out);
}

void cv_report_text(const struct cv_report *r, FILE *out)
{
	const struct coverage_point *raw = &r->pooled.coverage[COVERAGE_AT_90];
	const struct coverage_point *cal = &r->cal.coverage[COVERAGE_AT_90];

	fprintf(out, "accuracy: mean %.2f%%, min %.2f%% (fold %d); macro F1: mean %.4f, min %.4f\n",
		100 * r->acc_mean, 100 * r->acc_min, r->acc_min_fold + 1, r->f1_mean, r->f1_min);
	fprintf(out, "all %zu held-out windows: accuracy %.2f%%, ECE %.4f; at confidence >= 0.90: "
		"%.2f%% of windows, accuracy %.2f%%\n", r->pooled.n, 100 * r->pooled.accuracy,
		r->ece_raw, 100 * raw->coverage, 100 * raw->accuracy);
	fprintf(out, "calibrated (temperature %.3f; each fold scaled by the others' fit): ECE %.4f; "
		"at confidence >= 0.90: %.2f%% of windows, accuracy %.2f%%\n", r->temperature,
		r->ece, 100 * cal->coverage, 100 * cal->accuracy);
	unknown_text(r, out);
	first_text(r, out);
	groups_text(r, out);
}

static json_t *unknown_json(const struct cv_report *r)
{
	const struct cv_run *u = r->run;
	json_t *o, *thresholds = json_array();

	if (u->cfg->unknown == UNKNOWN_NONE)
		return json_null();
	o = named_json(&r->named, u->cfg->unknown);
	for (int f = 0; r->fitted && f < u->k; f++)
		json_array_append_new(thresholds, isfinite(r->thresholds[f]) ?
					  json_real(r->thresholds[f]) : json_null());
	json_object_set_new(o, "fitted", json_boolean(r->fitted));
	json_object_set_new(o, "accuracy_target", json_real(u->named_accuracy));
	json_object_set_new(o, "fold_thresholds", thresholds);
	return o;
}

static json_t *groups_json(const struct cv_report *r)
{
	const struct cv_run *u = r->run;
	json_t *list = json_array();

	for (int i = 0; i < u->groups->count; i++) {
		const struct group_figures *f = &r->group[i];

		json_array_append_new(list, json_pack(
			"{s:s, s:s, s:I, s:f, s:I, s:o}", "name", u->groups->names[i], "class",
			u->cfg->class_names[f->class_id], "n", (json_int_t)f->n, "accuracy",
			(double)f->right / f->n, "named", (json_int_t)f->named, "named_accuracy",
			f->named ? json_real((double)f->named_right / f->named) : json_null()));
	}
	return json_pack("{s:o, s:f, s:f}", "each", list, "mean_accuracy", r->group_accuracy,
			 "mean_share_named", r->group_share);
}

void cv_report_json(const struct cv_report *r, FILE *out)
{
	const struct cv_run *u = r->run;
	json_t *root = json_object(), *folds = json_array(), *classes = json_array();

	for (int i = 0; i < u->k; i++) {
		const struct crossval_fold *f = &u->folds[i];
		json_t *one = json_pack("{s:i, s:I, s:I, s:f, s:f, s:f}", "fold", i + 1, "train",
					(json_int_t)f->train_n, "test", (json_int_t)f->test_n,
					"accuracy", f->m.accuracy, "macro_f1", f->m.macro_f1,
					"seconds", f->seconds);

		if (u->groups->count)
			json_object_set_new(one, fold_split_name(u->split),
					    fold_groups_json(u->groups, u->fold, i));
		json_array_append_new(folds, one);
	}
	for (int k = 0; k < u->cfg->num_classes; k++)
		json_array_append_new(classes, json_string(u->cfg->class_names[k]));
	json_object_set_new(root, "data", json_string(u->data));
	json_object_set_new(root, "recipe", json_string(u->recipe));
	json_object_set_new(root, "arch", json_string(model_arch_name(u->cfg->arch)));
	json_object_set_new(root, "split", json_string(fold_split_name(u->split)));
	if (u->init)
		json_object_set_new(root, "init", json_string(u->init));
	json_object_set_new(root, "k", json_integer(u->k));
	json_object_set_new(root, "n", json_integer((json_int_t)r->pooled.n));
	json_object_set_new(root, "folds", folds);
	json_object_set_new(root, "accuracy",
			    json_pack("{s:f, s:f}", "mean", r->acc_mean, "min", r->acc_min));
	json_object_set_new(root, "macro_f1",
			    json_pack("{s:f, s:f}", "mean", r->f1_mean, "min", r->f1_min));
	json_object_set_new(root, "classes", classes);
	json_object_set_new(root, "pooled",
			    json_pack("{s:f, s:f, s:f, s:f, s:o, s:o}", "accuracy",
				      r->pooled.accuracy, "macro_f1", r->pooled.macro_f1, "ece",
				      r->ece_raw, "nll", r->nll_raw, "confusion",
				      confusion_json(&r->pooled), "coverage",
				      coverage_json(&r->pooled)));
	json_object_set_new(root, "calibrated",
			    json_pack("{s:f, s:f, s:f, s:o}", "temperature", r->temperature, "ece",
				      r->ece, "nll", r->nll, "coverage", coverage_json(&r->cal)));
	json_object_set_new(root, "unknown", unknown_json(r));
	if (r->first.n)
		json_object_set_new(root, "first_windows", json_pack(
			"{s:I, s:f, s:I, s:o}", "n", (json_int_t)r->first.n, "accuracy",
			(double)r->first.right / r->first.n, "named", (json_int_t)r->first.named,
			"named_accuracy", r->first.named ?
			json_real((double)r->first.named_right / r->first.named) : json_null()));
	if (u->groups->count)
		json_object_set_new(root, fold_split_name(u->split), groups_json(r));
	json_dumpf(root, out, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
	fputc('\n', out);
	json_decref(root);
}
