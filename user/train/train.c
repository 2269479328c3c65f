/* SPDX-License-Identifier: MIT */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adam.h"
#include "augment.h"
#include "ema.h"
#include "eval_metrics.h"
#include "predict.h"
#include "common/clock.h"
#include "common/rng.h"
#include "train.h"
#include "common/errmsg.h"

/* One thread's share of a minibatch. Each has its own workspace and
 * gradient buffer; the shares are summed in a fixed order afterwards, so the
 * result depends on the thread count but not on scheduling. */
struct worker {
	const struct model *m;
	struct model_ws *ws;
	float *grads;
	struct loss_options lo;
	int batch;
	const float *sizes;
	const double *times;
	const int *labels;
	float *logits;
	float loss;
};

/* The minibatch gathered from shuffled rows into contiguous arrays. */
struct batch_buf {
	float *sizes;
	double *times;
	int *labels;
	float *logits;
};

static double now(void)
{
	return monotonic_ns() * 1e-9;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	size_t count;

	model_params((struct model *)w->m, &count);
	memset(w->grads, 0, count * sizeof(*w->grads));
	w->loss = w->batch ? model_loss_grad(w->m, w->ws, w->batch, w->sizes, w->times, w->labels,
					     &w->lo, w->grads, w->logits) : 0;
	return NULL;
}

/* Forward and backward over one minibatch on all workers; writes the mean
 * gradient into grads and returns the mean loss. seed: this step's dropout. */
static double loss_grad(struct worker *workers, int threads, const struct batch_buf *b, int batch,
			int window, int classes, uint64_t seed, float *grads, size_t count)
{
	pthread_t tid[TRAIN_MAX_THREADS];
	bool started[TRAIN_MAX_THREADS] = { false };
	double loss = 0;

	for (int t = 0; t < threads; t++) {
		struct worker *w = &workers[t];
		int begin = batch * t / threads;

		w->batch = batch * (t + 1) / threads - begin;
		w->sizes = b->sizes + (size_t)begin * window;
		w->times = b->times + (size_t)begin * window;
		w->labels = b->labels + begin;
		w->logits = b->logits + (size_t)begin * classes;
		w->lo.seed = seed + (uint64_t)t;
		if (t)
			started[t] = !pthread_create(&tid[t], NULL, work, w);
	}
	work(&workers[0]);
	for (int t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			work(&workers[t]);
	}
	/* each share's loss and gradient are means over the share: weight by its size */
	memset(grads, 0, count * sizeof(*grads));
	for (int t = 0; t < threads; t++) {
		float share = (float)workers[t].batch / (float)batch;

		cblas_saxpy((int)count, share, workers[t].grads, 1, grads, 1);
		loss += (double)share * workers[t].loss;
	}
	return loss;
}

/* Copies the batch's windows, augmented as the options say (augment.h). */
static void gather(const struct dataset *ds, const size_t *rows, int batch,
		   const struct train_options *o, struct rng *rng, struct batch_buf *b)
{
	size_t N = (size_t)ds->window;

	for (int i = 0; i < batch; i++) {
		augment_window(ds->window, ds->sizes + rows[i] * N, ds->times + rows[i] * N,
			       o->time_jitter, o->size_jitter, rng, b->sizes + i * N, b->times + i * N);
		b->labels[i] = ds->labels[rows[i]];
	}
}

/* Validation accuracy and mean negative log-likelihood. */
static int validate(const struct model *m, const struct dataset *val, int threads, float *logprobs,
		    double *acc, double *loss, char *err, size_t errlen)
{
	const int k = model_config(m)->num_classes;
	size_t correct = 0;

	if (predict_dataset(m, val, threads, logprobs, NULL, err, errlen))
		return -1;
	*loss = 0;
	for (size_t i = 0; i < val->n; i++) {
		const float *row = logprobs + i * k;

		correct += metrics_argmax(row, k) == val->labels[i];
		*loss -= row[val->labels[i]];
	}
	*acc = (double)correct / (double)val->n;
	*loss /= (double)val->n;
	return 0;
}

/* --balance: each class's windows (by_class, class c's from start[c] to
 * start[c + 1]) in a shuffled cycle, next[c] the next to draw. */
struct class_cycles {
	size_t *by_class, start[ODEFLOW_MAX_CLASSES + 1], next[ODEFLOW_MAX_CLASSES];
	int present[ODEFLOW_MAX_CLASSES], npresent;
};

struct train_state {
	struct worker workers[TRAIN_MAX_THREADS];
	struct batch_buf buf;
	struct adam adam;
	struct class_cycles cycles;
	size_t *order;
	float *grads, *best_params, *val_logprobs;
	struct ema ema;         /* when o->ema > 0 */
};

static int state_init(struct train_state *s, const struct model *m, const struct dataset *train,
		      const struct dataset *val, const struct train_options *o, size_t count)
{
	const int k = model_config(m)->num_classes;
	size_t N = (size_t)train->window, B = (size_t)o->batch;
	bool ok;

	memset(s, 0, sizeof(*s));
	ok = !adam_init(&s->adam, count, (float)o->weight_decay);
	s->order = malloc(train->n * sizeof(*s->order));
	if (o->balance) {
		struct class_cycles *cy = &s->cycles;
		size_t at[ODEFLOW_MAX_CLASSES + 1] = { 0 };

		cy->by_class = malloc(train->n * sizeof(*cy->by_class));
		ok = ok && cy->by_class;
		for (size_t i = 0; i < train->n; i++)
			at[train->labels[i] + 1]++;
		for (int c = 0; c < k; c++) {
			at[c + 1] += at[c];
			cy->start[c] = cy->next[c] = at[c];
			if (at[c + 1] > at[c])
				cy->present[cy->npresent++] = c;
		}
		cy->start[k] = train->n;
		for (size_t i = 0; ok && i < train->n; i++)
			cy->by_class[at[train->labels[i]]++] = i;
	}
	s->grads = malloc(count * sizeof(*s->grads));
	s->best_params = malloc(count * sizeof(*s->best_params));
	s->val_logprobs = malloc((val->n ? val->n : 1) * k * sizeof(*s->val_logprobs));
	s->buf.sizes = malloc(B * N * sizeof(*s->buf.sizes));
	s->buf.times = malloc(B * N * sizeof(*s->buf.times));
	s->buf.labels = malloc(B * sizeof(*s->buf.labels));
	s->buf.logits = malloc(B * k * sizeof(*s->buf.logits));
	if (o->ema > 0)
		ok = ok && !ema_init(&s->ema, count, o->ema);
	ok = ok && s->order && s->grads && s->best_params && s->val_logprobs && s->buf.sizes &&
	     s->buf.times && s->buf.labels && s->buf.logits;
	s->adam.frozen = model_frozen(m);
	for (int t = 0; ok && t < o->threads; t++) {
		s->workers[t].m = m;
		s->workers[t].lo = (struct loss_options){ .label_smoothing = (float)o->label_smoothing,
							  .dropout = (float)o->dropout };
		s->workers[t].ws = model_ws_new(m, (o->batch + o->threads - 1) / o->threads);
		s->workers[t].grads = malloc(count * sizeof(float));
		ok = s->workers[t].ws && s->workers[t].grads;
	}
	return ok ? 0 : -1;
}

static void state_free(struct train_state *s)
{
	for (int t = 0; t < TRAIN_MAX_THREADS; t++) {
		if (s->workers[t].ws)
			model_ws_free(s->workers[t].ws);
		free(s->workers[t].grads);
	}
	adam_free(&s->adam);
	free(s->cycles.by_class);
	free(s->order);
	free(s->grads);
	free(s->best_params);
	free(s->val_logprobs);
	free(s->buf.sizes);
	free(s->buf.times);
	free(s->buf.labels);
	free(s->buf.logits);
	ema_free(&s->ema);
}

/* The epoch's order: every window shuffled; with balance, as many windows
 * drawn from the classes in turn, each class's in a shuffled cycle that
 * goes on across epochs, then shuffled. */
static void epoch_order(struct train_state *s, size_t n, bool balance, struct rng *rng)
{
	struct class_cycles *cy = &s->cycles;

	if (!balance) {
		rng_shuffle(rng, s->order, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int c = cy->present[i % (size_t)cy->npresent];

		if (cy->next[c] == cy->start[c]) /* a new cycle of class c */
			rng_shuffle(rng, cy->by_class + cy->start[c], cy->start[c + 1] - cy->start[c]);
		s->order[i] = cy->by_class[cy->next[c]++];
		if (cy->next[c] == cy->start[c + 1])
			cy->next[c] = cy->start[c];
	}
	rng_shuffle(rng, s->order, n);
}

int train_model(struct model *m, const struct dataset *train, const struct dataset *val,
		const struct train_options *o, struct train_result *r, char *err, size_t errlen)
{
	const int k = model_config(m)->num_classes;
	const long steps_per_epoch = (long)((train->n + o->batch - 1) / o->batch);
	struct lr_schedule sched = {
		.lr = o->lr,
		.lr_min = o->lr_min,
		.warmup_steps = (long)(o->warmup_epochs * steps_per_epoch),
		.total_steps = steps_per_epoch * o->epochs,
		.one_cycle = o->one_cycle,
	};
	struct rng rng = { o->seed ^ 0x5eed5eed5eedULL };
	double start = now(), best_val_loss = INFINITY;
	struct train_state s;
	size_t count;
	float *params = model_params(m, &count);
	long step = 0;
	int since_best = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	r->best_val_acc = -1;
	if (!train->n)
		return errmsg(err, errlen, "no windows left to train on");
	if (!model_has_gradient(m))
		return errmsg(err, errlen, "%s models have no gradient: XGBoost trains them "
			      "(train_trees.h)", model_arch_name(model_config(m)->arch));
	if (o->threads < 1 || o->threads > TRAIN_MAX_THREADS || o->batch < o->threads ||
	    o->epochs < 1) {
		return errmsg(err, errlen,
			      "need 1 to %d threads, a batch of at least one window per "
			      "thread and at least one epoch", TRAIN_MAX_THREADS);
	}
	if (!(o->dropout >= 0 && o->dropout < 1) || !(o->label_smoothing >= 0 &&
	    o->label_smoothing < 1) || !(o->ema >= 0 && o->ema < 1)) {
		return errmsg(err, errlen,
			      "dropout, label smoothing and EMA decay must be in [0, 1)");
	}
	if (state_init(&s, m, train, val, o, count)) {
		errmsg(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < train->n; i++)
		s.order[i] = i;

	for (int epoch = 1; epoch <= o->epochs; epoch++) {
		double loss_sum = 0, lr = 0, val_acc = -1, val_loss = 0;
		size_t correct = 0;
		bool improved = false;

		epoch_order(&s, train->n, o->balance, &rng);
		for (size_t first = 0; first < train->n; first += (size_t)o->batch, step++) {
			int b = (int)(train->n - first < (size_t)o->batch ? train->n - first : (size_t)o->batch);
			int threads = b < o->threads ? b : o->threads;

			double loss;

			gather(train, s.order + first, b, o, &rng, &s.buf);
			loss = loss_grad(s.workers, threads, &s.buf, b, train->window, k,
					 o->seed * 0x100000001b3ULL + (uint64_t)step * TRAIN_MAX_THREADS,
					 s.grads, count);
			/* stop before a non-finite gradient reaches the weights */
			if (!isfinite(loss)) {
				errmsg(err, errlen, "training diverged in epoch %d (loss is not "
				       "finite): lower --lr or --clip", epoch);
				goto out;
			}
			loss_sum += b * loss;
			for (int i = 0; i < b; i++)
				correct += metrics_argmax(s.buf.logits + (size_t)i * k, k) == s.buf.labels[i];
			clip_grad_norm(s.grads, count, o->clip);
			lr = lr_at(&sched, step);
			s.adam.beta1 = (float)beta1_at(&sched, step);
			adam_step(&s.adam, params, s.grads, (float)lr);
			if (s.ema.avg)
				ema_update(&s.ema, params, step);
		}
		r->last_loss = loss_sum / (double)train->n;
		r->last_train_acc = (double)correct / (double)train->n;
		if (epoch == 1) {
			r->first_loss = r->last_loss;
			r->first_train_acc = r->last_train_acc;
		}
		r->epochs_run = epoch;

		if (s.ema.avg)
			ema_swap(&s.ema, params, true);
		if (val->n) {
			if (validate(m, val, o->threads, s.val_logprobs, &val_acc, &val_loss, err, errlen))
				goto out;
			improved = val_acc > r->best_val_acc ||
				   (val_acc == r->best_val_acc && val_loss < best_val_loss);
		}
		if (improved || !val->n) {
			r->best_epoch = epoch;
			r->best_val_acc = val_acc;
			best_val_loss = val_loss;
			memcpy(s.best_params, params, count * sizeof(*params));
			since_best = 0;
		} else {
			since_best++;
		}
		if (s.ema.avg)
			ema_swap(&s.ema, params, false);
		if (o->progress) {
			fprintf(o->progress, "epoch %3d/%d  loss %.4f  train %6.2f%%", epoch, o->epochs,
				r->last_loss, 100 * r->last_train_acc);
			if (val->n)
				fprintf(o->progress, "  val %6.2f%% (loss %.4f)%s", 100 * val_acc, val_loss,
					improved ? " *" : "  ");
			fprintf(o->progress, "  lr %.2e  %6.1f s\n", lr, now() - start);
			fflush(o->progress);
		}
		if (o->patience && since_best >= o->patience)
			break;
	}
	memcpy(params, s.best_params, count * sizeof(*params));
	rc = 0;
out:
	r->seconds = now() - start;
	state_free(&s);
	return rc;
}
