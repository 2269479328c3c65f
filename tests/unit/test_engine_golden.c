// SPDX-License-Identifier: MIT
/* The C engine against an independent reference: tools/reference/golden.py builds
 * each architecture in PyTorch, saves its weights as safetensors, and
 * computes float64 logits for real ISCX windows (intervals of exactly 0 and
 * a window spanning minutes among them) with both solvers. */
#include "engine/arch.h"
#include "harness.h"
#include "engine/model.h"
#include "train/npy.h"

#define DIR "tests/data/golden/"
#define TOLERANCE 1e-4

struct inputs {
	int count;
	float *sizes;
	double *times;
};

static int read_inputs(struct inputs *in)
{
	struct npy_array s, t;
	char err[256];
	int ok;

	if (npy_read(DIR "sizes.npy", &s, err, sizeof(err)) ||
	    npy_read(DIR "times.npy", &t, err, sizeof(err))) {
		printf("  %s\n", err);
		return -1;
	}
	in->count = (int)s.shape[0];
	in->sizes = malloc(sizeof(float) * s.count);
	in->times = t.data;
	for (size_t i = 0; i < s.count; i++)
		in->sizes[i] = (float)s.data[i];
	ok = s.ndim == 2 && s.shape[1] == 20 && t.count == s.count;
	npy_free(&s);
	return ok ? 0 : -1;
}

static void check(const char *arch, enum model_solver solver)
{
	char path[128], err[256];
	struct model *m = NULL;
	struct model_ws *ws;
	struct npy_array ref = { 0 };
	struct inputs in = { 0 };
	float *lp, *logits, worst = 0;
	int C;

	snprintf(path, sizeof(path), DIR "%s.safetensors", arch);
	CHECKF(model_load(path, &m, err, sizeof(err)) == 0, "%s", err);
	snprintf(path, sizeof(path), DIR "%s_%s_logits.npy", arch, model_solver_name(solver));
	CHECKF(npy_read(path, &ref, err, sizeof(err)) == 0, "%s", err);
	CHECK(read_inputs(&in) == 0);
	if (harness_current_failed)
		return;
	C = model_config(m)->num_classes;
	CHECK(ref.count == (size_t)in.count * C);
	m->cfg.solver = solver;
	ws = model_ws_new(m, in.count);
	lp = malloc(sizeof(float) * in.count * C);
	logits = malloc(sizeof(float) * in.count * C);
	CHECK(model_classify(m, ws, in.count, in.sizes, in.times, lp) == 0);
	for (int b = 0; b < in.count; b++) {
		const double *r = ref.data + (size_t)b * C;
		double max = r[0], lse = 0;

		for (int k = 1; k < C; k++)
			max = fmax(max, r[k]);
		for (int k = 0; k < C; k++)
			lse += exp(r[k] - max);
		for (int k = 0; k < C; k++)
			worst = fmaxf(worst, fabsf(lp[b * C + k] - (float)(r[k] - max - log(lse))));
	}
	CHECKF(worst <= TOLERANCE, "%s %s: log-probabilities differ from PyTorch's by %g", arch,
	       model_solver_name(solver), worst);
	if (solver == SOLVER_RK4) {
		/* the training path gives the raw logits */
		int *labels = calloc(in.count, sizeof(int));
		size_t n;
		float *g;

		model_params(m, &n);
		g = calloc(n, sizeof(float));
		worst = 0;
		model_loss_grad(m, ws, in.count, in.sizes, in.times, labels, NULL, g, logits);
		for (int i = 0; i < in.count * C; i++)
			worst = fmaxf(worst, fabsf(logits[i] - (float)ref.data[i]));
		CHECKF(worst <= TOLERANCE, "%s: logits differ from PyTorch's by %g", arch, worst);
		free(g);
		free(labels);
	}
	free(lp);
	free(logits);
	free(in.sizes);
	free(in.times);
	npy_free(&ref);
	model_ws_free(ws);
	model_free(m);
}

static void test_golden_odernn_rk4(void) { check("odernn", SOLVER_RK4); }
static void test_golden_odernn_dopri5(void) { check("odernn", SOLVER_DOPRI5); }
static void test_golden_lstm_ode_rk4(void) { check("lstm-ode", SOLVER_RK4); }
static void test_golden_lstm_ode_dopri5(void) { check("lstm-ode", SOLVER_DOPRI5); }
static void test_golden_lstm_rk4(void) { check("lstm", SOLVER_RK4); }
static void test_golden_lstm_dopri5(void) { check("lstm", SOLVER_DOPRI5); }
static void test_golden_odernn_emb_rk4(void) { check("odernn-emb", SOLVER_RK4); }
static void test_golden_odernn_emb_dopri5(void) { check("odernn-emb", SOLVER_DOPRI5); }

/* odernn-emb's size edges, set from data as the trainer does, are NumPy's
 * quantiles of the same sizes (the reference file holds those). */
static void test_golden_odernn_emb_edges(void)
{
	struct model *ref = NULL, *m = NULL;
	struct model_config cfg;
	struct inputs in = { 0 };
	char err[256];
	int t;

	CHECKF(model_load(DIR "odernn-emb.safetensors", &ref, err, sizeof(err)) == 0, "%s", err);
	CHECK(read_inputs(&in) == 0);
	if (harness_current_failed)
		return;
	cfg = *model_config(ref);
	CHECKF(model_create(&cfg, 1, &m, err, sizeof(err)) == 0, "%s", err);
	model_init_inputs(m, in.sizes, (size_t)in.count * 20);
	for (t = 0; t < m->ntensors && strcmp(m->tensors[t].name, "size_edges"); t++)
		;
	CHECK(t < m->ntensors && m->tensors[t].frozen);
	for (size_t i = 0; t < m->ntensors && i < m->tensors[t].count; i++)
		CHECK_NEAR(m->params[m->tensors[t].offset + i], ref->params[ref->tensors[t].offset + i],
			   1e-3);
	free(in.sizes);
	free(in.times);
	model_free(m);
	model_free(ref);
}

int main(void)
{
	RUN(test_golden_odernn_rk4);
	RUN(test_golden_odernn_dopri5);
	RUN(test_golden_lstm_ode_rk4);
	RUN(test_golden_lstm_ode_dopri5);
	RUN(test_golden_lstm_rk4);
	RUN(test_golden_lstm_dopri5);
	RUN(test_golden_odernn_emb_rk4);
	RUN(test_golden_odernn_emb_dopri5);
	RUN(test_golden_odernn_emb_edges);
	return harness_done();
}
