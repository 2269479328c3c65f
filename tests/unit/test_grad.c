// SPDX-License-Identifier: MIT
/* Gradient check: model_loss_grad's analytic gradient against central
 * finite differences of its own loss, for every parameter tensor of every
 * architecture (backpropagation through the RK4 steps included), and with
 * label smoothing and dropout. */
#include "engine/arch.h"
#include "engine_windows.h"
#include "harness.h"
#include "engine/model.h"

#define BATCH 3
#define WINDOW 6
#define SAMPLES 24  /* elements checked per tensor */

static double loss_at(struct model *m, struct model_ws *ws, const float *sizes,
		      const double *times, const int *labels, const struct loss_options *lo,
		      float *scratch, size_t i, float value)
{
	float *p = model_params(m, NULL), keep = p[i];
	double loss;

	p[i] = value;
	loss = model_loss_grad(m, ws, BATCH, sizes, times, labels, lo, scratch, NULL);
	p[i] = keep;
	return loss;
}

/* lo: label smoothing and dropout (the same mask in every call: a fixed seed) */
static void check_arch(enum model_arch arch, int hidden, const struct loss_options *lo)
{
	struct model_config cfg;
	struct model *m;
	struct model_ws *ws;
	float sizes[BATCH * WINDOW], *g, *scratch;
	double times[BATCH * WINDOW];
	int labels[BATCH] = { 0, 3, 1 };
	char err[256];
	size_t n;

	model_config_defaults(arch, &cfg);
	cfg.window = WINDOW;
	cfg.hidden = hidden;
	cfg.ode_hidden = arch == ARCH_LSTM_ODE ? 32 : 12;
	cfg.solver = SOLVER_RK4;
	CHECKF(model_create(&cfg, 7, &m, err, sizeof(err)) == 0, "%s", err);
	ws = model_ws_new(m, BATCH);
	make_windows(BATCH, WINDOW, 11, sizes, times);
	model_params(m, &n);
	g = calloc(n, sizeof(float));
	scratch = calloc(n, sizeof(float));
	CHECK(isfinite(model_loss_grad(m, ws, BATCH, sizes, times, labels, lo, g, NULL)));
	for (int t = 0; t < m->ntensors; t++) {
		const struct tensor_spec *s = &m->tensors[t];
		struct rng r = { 100 + t };
		double err2 = 0, norm2 = 0;
		int kinks = 0;
		int k = s->count < SAMPLES ? (int)s->count : SAMPLES;

		/* set from data, not trained: no gradient at all */
		if (s->frozen) {
			for (size_t i = 0; i < s->count; i++)
				CHECKF(g[s->offset + i] == 0, "%s %s: gradient %g", model_arch_name(arch),
				       s->name, g[s->offset + i]);
			continue;
		}
		for (int j = 0; j < k; j++) {
			size_t i = s->offset + (k == (int)s->count ? (size_t)j : rng_below(&r, s->count));
			float p = model_params(m, NULL)[i], h = 1e-2f * fmaxf(0.1f, fabsf(p));
			double l0 = loss_at(m, ws, sizes, times, labels, lo, scratch, i, p);
			double up = (loss_at(m, ws, sizes, times, labels, lo, scratch, i, p + h) - l0) / h;
			double down = (l0 - loss_at(m, ws, sizes, times, labels, lo, scratch, i, p - h)) / h;
			double num = (up + down) / 2;

			/* a ReLU switching inside [p - h, p + h] gives one-sided slopes
			 * that disagree: the loss is not smooth there, skip the element */
			if (fabs(up - down) > 0.1 * fabs(num) + 1e-6 / h) {
				kinks++;
				continue;
			}
			err2 += (num - g[i]) * (num - g[i]);
			norm2 += (double)g[i] * g[i];
		}
		CHECKF(kinks <= k / 4, "%s %s: %d of %d elements at a kink", model_arch_name(arch),
		       s->name, kinks, k);
		CHECKF(sqrt(err2) <= 0.03 * sqrt(norm2) + 2e-4 * sqrt(k),
		       "%s %s: |numeric - analytic| = %.3g, |analytic| = %.3g over %d elements",
		       model_arch_name(arch), s->name, sqrt(err2), sqrt(norm2), k);
		/* only the hidden-to-hidden weights of lstm-ode's single LSTM step
		 * multiply a zero state; everything else must get a gradient */
		if (!(arch == ARCH_LSTM_ODE && strstr(s->name, "weight_hh")))
			CHECKF(norm2 > 0, "%s %s: zero gradient", model_arch_name(arch), s->name);
	}
	free(g);
	free(scratch);
	model_ws_free(ws);
	model_free(m);
}

static void test_grad_odernn(void)
{
	check_arch(ARCH_ODERNN, 8, NULL);
}

static void test_grad_lstm_ode(void)
{
	check_arch(ARCH_LSTM_ODE, 1, NULL);
}

static void test_grad_lstm(void)
{
	check_arch(ARCH_LSTM, 3, NULL);
}

static void test_grad_odernn_emb(void)
{
	check_arch(ARCH_ODERNN_EMB, 8, NULL);
}

/* Label smoothing and the head's dropout, through the same check. */
static void test_grad_odernn_emb_smoothing_dropout(void)
{
	struct loss_options lo = { .label_smoothing = 0.1f, .dropout = 0.2f, .seed = 3 };

	check_arch(ARCH_ODERNN_EMB, 8, &lo);
}

int main(void)
{
	RUN(test_grad_odernn);
	RUN(test_grad_lstm_ode);
	RUN(test_grad_lstm);
	RUN(test_grad_odernn_emb);
	RUN(test_grad_odernn_emb_smoothing_dropout);
	return harness_done();
}
