/* SPDX-License-Identifier: MIT */
#include "learn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/flow_table.h"
#include "common/errmsg.h"
#include "common/fnv.h"
#include "common/flow_key.h"
#include "engine/model.h"
#include "reference.h"
#include "site_dataset.h"
#include "train/calibrate.h"
#include "train/eval_metrics.h"
#include "train/fit.h"
#include "train/predict.h"

/* The fine-tuning recipe, fixed before the site data judges it: the rate
 * below the default's training peak (3e-3) with a cosine decay, the
 * default's regularisation and time jitter, nothing held out for early
 * stopping (the newest windows are held out to judge the result). */
static const struct train_options finetune = {
	.epochs = 20, .batch = 64, .lr = 1e-3, .lr_min = 1e-5, .warmup_epochs = 1,
	.label_smoothing = 0.1, .dropout = 0.2, .weight_decay = 0.01, .clip = 1,
	.time_jitter = 0.2, .threads = 1,
};

/* The rows to judge by (-1: out of memory): the newest LEARN_HOLDOUT of the windows, then
 * every window of a connection that has one there (no connection on both
 * sides); to train on: the newest LEARN_MAX_WINDOWS of the others. The rows
 * are in the order written, oldest first. */
static int split(const struct site_rows *rows, size_t *train, size_t *ntrain, size_t *held,
		 size_t *nheld)
{
	size_t n = rows->data.n, cut = n - (size_t)((double)n * LEARN_HOLDOUT);
	struct flow_table *conns = flow_table_new(sizeof(struct flow_key), NULL);
	bool added;

	*ntrain = *nheld = 0;
	if (!conns)
		return -1;
	for (size_t i = cut; i < n; i++) {
		struct flow_key c;

		flow_key_canonical(&rows->direction[i], &c);
		if (!flow_table_add(conns, &c, &added)) {
			flow_table_free(conns);
			return -1;
		}
	}
	for (size_t i = n; i-- > 0;) {
		struct flow_key c;

		flow_key_canonical(&rows->direction[i], &c);
		if (i >= cut || flow_table_find(conns, &c))
			held[(*nheld)++] = i;
		else if (*ntrain < LEARN_MAX_WINDOWS)
			train[(*ntrain)++] = i;
	}
	flow_table_free(conns);
	/* oldest first again */
	for (size_t i = 0; i < *ntrain / 2; i++) {
		size_t t = train[i];

		train[i] = train[*ntrain - 1 - i];
		train[*ntrain - 1 - i] = t;
	}
	return 0;
}

/* Accuracy and per-class recall of m on the held-out windows; with
 * calibrate, m's temperature fitted on them first. */
static int judge(struct model *m, const struct dataset *held, bool calibrate, int threads,
		 double *accuracy, double *recall, char *err, size_t errlen)
{
	int C = model_config(m)->num_classes;
	float *lp = malloc(held->n * (size_t)C * sizeof(*lp));
	struct metrics *mt = calloc(1, sizeof(*mt));
	int rc = -1;

	if (!lp || !mt) {
		errmsg(err, errlen, "out of memory");
		goto out;
	}
	if (calibrate) {
		if (model_set_temperature(m, 1, err, errlen) ||
		    predict_dataset(m, held, threads, lp, NULL, err, errlen) ||
		    model_set_temperature(m, calib_fit_temperature(lp, held->labels, held->n, C), err,
					  errlen))
			goto out;
	}
	if (predict_dataset(m, held, threads, lp, NULL, err, errlen))
		goto out;
	metrics_compute(held->labels, lp, held->n, C, mt);
	*accuracy = mt->accuracy;
	for (int k = 0; k < C; k++)
		recall[k] = mt->per_class[k].recall;
	rc = 0;
out:
	free(lp);
	free(mt);
	return rc;
}

/* Saved to OUT.tmp (created, never an existing file followed) and renamed. */
static int save(const struct model *m, const char *out, char *err, size_t errlen)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	unlink(tmp); /* a temporary file of a run cut short, or planted: never written through */
	if (model_save(m, tmp, err, errlen)) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, out)) {
		errmsg(err, errlen, "moving %s into place: %s", out, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The class NEW forgets most among those the site's held-out windows are
 * too few to judge: more than LEARN_MAX_FORGET of its reference recall
 * lost; -1 when none. */
static int forgotten_class(const struct learn_result *r)
{
	double worst = LEARN_MAX_FORGET;
	int k_worst = -1;

	for (int k = 0; k < r->num_classes; k++) {
		double lost = r->ref_current_recall[k] - r->ref_new_recall[k];

		if (r->support[k] < LEARN_MIN_CLASS_HELD && r->ref_support[k] >= LEARN_MIN_CLASS_HELD &&
		    lost > worst) {
			worst = lost;
			k_worst = k;
		}
	}
	return k_worst;
}

/* The reference windows: 1 when loaded, 0 when there are none to use
 * (none asked for, or an optional one of other classes: r says why), -1
 * on error. */
static int load_reference(const struct learn_options *o, const struct model_config *cfg,
			  struct reference *ref, struct learn_result *r, char *err, size_t errlen)
{
	if (!o->reference)
		return 0;
	if (!reference_load(o->reference, cfg, o->seed, ref, err, errlen))
		return 1;
	if (!o->reference_optional)
		return -1;
	snprintf(r->reference_skipped, sizeof(r->reference_skipped), "%s", err);
	return 0;
}

int site_learn(const struct learn_options *o, struct learn_result *r, char *err, size_t errlen)
{
	struct model *cur = NULL, *next = NULL;
	struct site_rows rows = { 0 };
	struct dataset train = { 0 }, held = { 0 };
	struct reference ref = { 0 };
	struct fit_options fo = { .train = finetune };
	struct train_result tr;
	struct model_config cfg;
	struct timespec t0, t1;
	size_t *train_rows = NULL, *held_rows = NULL, ntrain = 0, nheld = 0;
	int rc = -1, use_ref = 0;

	memset(r, 0, sizeof(*r));
	r->forgotten = -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (model_load(o->model, &cur, err, errlen))
		return -1;
	cfg = *model_config(cur);
	if (!model_has_gradient(cur)) {
		errmsg(err, errlen, "%s: %s models cannot be fine-tuned", o->model,
		       model_arch_name(cfg.arch));
		goto out;
	}
	if (site_dataset_load(o->data, cfg.num_classes, &rows, err, errlen))
		goto out;
	if (!dataset_info_same_classes(&rows.info, &cfg) || rows.data.window != cfg.window) {
		errmsg(err, errlen, "%s holds windows of %d packets of other classes than %s's "
		       "(%d packets): it was made for another model", o->data, rows.data.window,
		       o->model, cfg.window);
		goto out;
	}
	train_rows = calloc(rows.data.n + 1, sizeof(*train_rows));
	held_rows = calloc(rows.data.n + 1, sizeof(*held_rows));
	if (!train_rows || !held_rows ||
	    split(&rows, train_rows, &ntrain, held_rows, &nheld) ||
	    dataset_subset(&rows.data, train_rows, ntrain, &train) ||
	    dataset_subset(&rows.data, held_rows, nheld, &held)) {
		errmsg(err, errlen, "out of memory"); /* all that can go wrong here */
		goto out;
	}
	r->trained = train.n;
	r->held = held.n;
	r->num_classes = cfg.num_classes;
	memcpy(r->class_names, cfg.class_names, sizeof(r->class_names));
	for (size_t i = 0; i < held.n; i++)
		r->support[held.labels[i]]++;
	if (train.n < LEARN_MIN_TRAIN || held.n < LEARN_MIN_HELD) {
		errmsg(err, errlen, "%s: %zu labelled windows to learn from and %zu to judge by: "
		       "learning needs %d and %d", o->data, train.n, held.n, LEARN_MIN_TRAIN,
		       LEARN_MIN_HELD);
		goto out;
	}
	use_ref = load_reference(o, &cfg, &ref, r, err, errlen);
	if (use_ref < 0)
		goto out;
	if (use_ref) {
		r->ref_judged = ref.judge.n;
		for (size_t i = 0; i < ref.judge.n; i++)
			r->ref_support[ref.judge.labels[i]]++;
		if (o->rehearse) {
			r->rehearsed = ref.rehearse.n;
			if (dataset_append(&train, &ref.rehearse)) {
				errmsg(err, errlen, "out of memory");
				goto out;
			}
		}
	}
	if (judge(cur, &held, false, o->threads, &r->current_accuracy, r->current_recall, err,
		  errlen) ||
	    (use_ref && judge(cur, &ref.judge, false, o->threads, &(double){ 0 },
				r->ref_current_recall, err, errlen)))
		goto out;
	/* NEW: CURRENT's architecture, shape, classes and window_start; its id
	 * from what made it (CURRENT, the windows, the seed) */
	r->new_model_id = fnv1a32(FNV1A32_START, &cfg.model_id, sizeof(cfg.model_id));
	r->new_model_id = fnv1a32(r->new_model_id, train.sizes,
				  train.n * (size_t)train.window * sizeof(*train.sizes));
	r->new_model_id = fnv1a32(r->new_model_id, train.labels, train.n * sizeof(*train.labels));
	r->new_model_id = fnv1a32(r->new_model_id, &o->seed, sizeof(o->seed));
	cfg.model_id = r->new_model_id ? r->new_model_id : 1;
	r->new_model_id = cfg.model_id;
	cfg.temperature = 1;
	fo.init = cur;
	fo.train.threads = o->threads;
	fo.train.progress = o->progress;
	fo.train.seed = o->seed;
	if (o->epochs > 0)
		fo.train.epochs = o->epochs;
	if (fit_model(&cfg, &train, &fo, &next, &tr, err, errlen))
		goto out;
	if (judge(next, &held, true, o->threads, &r->new_accuracy, r->new_recall, err, errlen) ||
	    (use_ref && judge(next, &ref.judge, false, o->threads, &(double){ 0 },
				r->ref_new_recall, err, errlen)))
		goto out;
	r->forgotten = forgotten_class(r);
	if (r->new_accuracy > r->current_accuracy && r->forgotten < 0) {
		char why[ERRMSG_LEN];

		if (model_self_check(next, why, sizeof(why))) {
			errmsg(err, errlen, "the fine-tuned model fails its self-check: %s", why);
			goto out;
		}
		if (save(next, o->out, err, errlen))
			goto out;
		r->written = true;
	}
	rc = 0;
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	free(train_rows);
	free(held_rows);
	dataset_free(&train);
	dataset_free(&held);
	reference_free(&ref);
	site_rows_free(&rows);
	model_free(next);
	model_free(cur);
	return rc;
}

static void percent_or_dash(FILE *out, size_t support, double recall)
{
	if (support)
		fprintf(out, " %8.1f%%", 100 * recall);
	else
		fprintf(out, " %9s", "-");
}

void learn_report(FILE *out, const struct learn_result *r, const char *out_path)
{
	bool ref = r->ref_judged > 0;

	fprintf(out, "learned on %zu site windows", r->trained);
	if (r->rehearsed)
		fprintf(out, " and %zu reference windows", r->rehearsed);
	fprintf(out, ", judged on the newest %zu (held out by time)", r->held);
	if (ref)
		fprintf(out, " and %zu other reference windows", r->ref_judged);
	fprintf(out, ":\n");
	if (r->reference_skipped[0])
		fprintf(out, "  without reference windows: %s\n", r->reference_skipped);
	fprintf(out, "  %-16s %8s %9s %9s %8s", "class", "windows", "current", "new", "change");
	if (ref)
		fprintf(out, " %9s %9s %9s", "reference", "current", "new");
	fprintf(out, "\n");
	for (int k = 0; k < r->num_classes; k++) {
		if (!r->support[k] && !r->ref_support[k])
			continue;
		fprintf(out, "  %-16s %8zu", r->class_names[k], r->support[k]);
		percent_or_dash(out, r->support[k], r->current_recall[k]);
		percent_or_dash(out, r->support[k], r->new_recall[k]);
		if (r->support[k])
			fprintf(out, " %+8.1f", 100 * (r->new_recall[k] - r->current_recall[k]));
		else
			fprintf(out, " %8s", "-");
		if (ref) {
			fprintf(out, " %9zu", r->ref_support[k]);
			percent_or_dash(out, r->ref_support[k], r->ref_current_recall[k]);
			percent_or_dash(out, r->ref_support[k], r->ref_new_recall[k]);
		}
		fprintf(out, "\n");
	}
	fprintf(out, "  %-16s %8zu %8.1f%% %8.1f%% %+8.1f\n", "all", r->held,
		100 * r->current_accuracy, 100 * r->new_accuracy,
		100 * (r->new_accuracy - r->current_accuracy));
	if (r->written)
		fprintf(out, "the new model is better: saved %s, model id %08x (%.1f s)\n", out_path,
			r->new_model_id, r->seconds);
	else if (r->forgotten >= 0)
		fprintf(out, "the new model forgets %s (%.1f%% of its reference windows, against "
			"%.1f%%; the newest site windows hold %zu of it, too few to judge it): %s not "
			"written, keep the current one (%.1f s)\n", r->class_names[r->forgotten],
			100 * r->ref_new_recall[r->forgotten],
			100 * r->ref_current_recall[r->forgotten], r->support[r->forgotten], out_path,
			r->seconds);
	else
		fprintf(out, "the new model is no better: %s not written, keep the current one "
			"(%.1f s)\n", out_path, r->seconds);
}
