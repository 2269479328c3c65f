// SPDX-License-Identifier: MIT
/* The engine's API: creation, saving and loading, the training forward
 * being the inference forward, batches, solvers and input validation. */
#include <pthread.h>

#include "engine/arch.h"
#include "engine_windows.h"
#include "harness.h"
#include "engine/model.h"

static const enum model_arch archs[] = { ARCH_ODERNN, ARCH_LSTM_ODE, ARCH_LSTM, ARCH_ODERNN_EMB };

static struct model *new_model(enum model_arch arch, enum model_solver solver, uint64_t seed)
{
	struct model_config cfg;
	struct model *m = NULL;
	char err[256];

	model_config_defaults(arch, &cfg);
	cfg.solver = solver;
	if (model_create(&cfg, seed, &m, err, sizeof(err)))
		printf("  model_create: %s\n", err);
	return m;
}

static void test_lstm_ode_has_the_notebooks_parameter_count(void)
{
	struct model *m = new_model(ARCH_LSTM_ODE, SOLVER_DOPRI5, 1);
	size_t n = 0;

	CHECK(m);
	model_params(m, &n);
	CHECKF(n == 11398, "lstm-ode N=20 C=5 has %zu parameters, the notebook 11398", n);
	model_free(m);
}

static void test_create_is_deterministic_and_bounded(void)
{
	struct model *a = new_model(ARCH_ODERNN, SOLVER_RK4, 42);
	struct model *b = new_model(ARCH_ODERNN, SOLVER_RK4, 42);
	struct model *c = new_model(ARCH_ODERNN, SOLVER_RK4, 43);
	size_t n;
	float *pa = model_params(a, &n), *pb = model_params(b, NULL), *pc = model_params(c, NULL);

	CHECK(!memcmp(pa, pb, n * sizeof(float)));
	CHECK(memcmp(pa, pc, n * sizeof(float)));
	for (int t = 0; t < a->ntensors; t++) {
		const struct tensor_spec *s = &a->tensors[t];
		float max = 0;

		if (s->frozen)
			continue;
		for (size_t i = 0; i < s->count; i++)
			max = fmaxf(max, fabsf(pa[s->offset + i]));
		CHECKF(max <= s->init_bound && max > 0.5f * s->init_bound,
		       "%s: max |w| %g, bound %g", s->name, max, s->init_bound);
	}
	model_free(a);
	model_free(b);
	model_free(c);
}

static void test_save_load_roundtrip(void)
{
	char path[] = "/tmp/odeflow-test-model-XXXXXX", err[256];
	int fd = mkstemp(path);

	close(fd);
	for (size_t a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		struct model *m = new_model(archs[a], SOLVER_RK4, 5), *back = NULL;
		size_t n, nb;
		float *p, *pb;

		m->cfg.model_id = 4000000000u;
		CHECKF(model_save(m, path, err, sizeof(err)) == 0, "%s", err);
		CHECKF(model_load(path, &back, err, sizeof(err)) == 0, "%s", err);
		if (!back) {
			model_free(m);
			continue;
		}
		p = model_params(m, &n);
		pb = model_params(back, &nb);
		CHECK(n == nb && !memcmp(p, pb, n * sizeof(float)));
		CHECK(!memcmp(model_config(m), model_config(back), sizeof(struct model_config)));
		model_free(m);
		model_free(back);
	}
	unlink(path);
}

/* model_loss_grad runs the very forward pass model_classify runs. */
static void test_training_logits_are_the_inference_logits(void)
{
	enum { B = 8 };
	float sizes[B * 20], logits[B * ODEFLOW_MAX_CLASSES], lp[B * ODEFLOW_MAX_CLASSES];
	double times[B * 20];
	int labels[B] = { 0, 1, 2, 3, 4, 0, 1, 2 };

	make_windows(B, 20, 3, sizes, times);
	for (size_t a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		struct model *m = new_model(archs[a], SOLVER_RK4, 9);
		struct model_ws *ws = model_ws_new(m, B);
		size_t n;
		float *g;

		model_params(m, &n);
		g = calloc(n, sizeof(float));
		CHECK(isfinite(model_loss_grad(m, ws, B, sizes, times, labels, NULL, g, logits)));
		CHECK(model_classify(m, ws, B, sizes, times, lp) == 0);
		for (int b = 0; b < B; b++) {
			float max = -INFINITY, lse = 0;

			for (int k = 0; k < 5; k++)
				max = fmaxf(max, logits[b * 5 + k]);
			for (int k = 0; k < 5; k++)
				lse += expf(logits[b * 5 + k] - max);
			for (int k = 0; k < 5; k++)
				CHECK_NEAR(lp[b * 5 + k], logits[b * 5 + k] - max - logf(lse), 1e-6);
		}
		free(g);
		model_ws_free(ws);
		model_free(m);
	}
}

/* One window alone and inside a batch of 256 gives the same result. */
static void test_batch_equals_single(void)
{
	enum { B = 256, C = 5 };
	int count = getenv("ODEFLOW_SANITIZED") ? 16 : B;
	float *sizes = malloc(sizeof(float) * B * 20), batch_lp[B * C], one[C];
	double *times = malloc(sizeof(double) * B * 20);

	make_windows(B, 20, 17, sizes, times);
	for (size_t a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		for (int solver = SOLVER_RK4; solver <= SOLVER_DOPRI5; solver++) {
			struct model *m = new_model(archs[a], solver, 2);
			struct model_ws *ws = model_ws_new(m, B);
			float worst = 0;

			CHECK(model_classify(m, ws, count, sizes, times, batch_lp) == 0);
			for (int b = 0; b < count; b++) {
				CHECK(model_classify(m, ws, 1, sizes + b * 20, times + b * 20, one) == 0);
				for (int k = 0; k < C; k++)
					worst = fmaxf(worst, fabsf(one[k] - batch_lp[b * C + k]));
			}
			CHECKF(worst <= 1e-5f, "%s %s: batch and single differ by %g",
			       model_arch_name(archs[a]), model_solver_name(solver), worst);
			model_ws_free(ws);
			model_free(m);
		}
	}
	free(sizes);
	free(times);
}

/* dopri5 at tight tolerance and RK4 with many substeps solve the same ODE. */
static void test_dopri5_agrees_with_fine_rk4(void)
{
	enum { B = 16 };
	float sizes[B * 20], a_lp[B * 5], b_lp[B * 5];
	double times[B * 20];

	make_windows(B, 20, 23, sizes, times);
	for (int a = 0; a < 2; a++) {
		struct model *m = new_model(archs[a], SOLVER_DOPRI5, 31);
		struct model_ws *ws = model_ws_new(m, B);
		float worst = 0;

		CHECK(model_classify(m, ws, B, sizes, times, a_lp) == 0);
		m->cfg.solver = SOLVER_RK4;
		m->cfg.rk4_steps = 64;
		model_ws_free(ws);
		ws = model_ws_new(m, B);
		CHECK(model_classify(m, ws, B, sizes, times, b_lp) == 0);
		for (int i = 0; i < B * 5; i++)
			worst = fmaxf(worst, fabsf(a_lp[i] - b_lp[i]));
		CHECKF(worst < 1e-4f, "%s: dopri5 and RK4x64 differ by %g", model_arch_name(archs[a]),
		       worst);
		model_ws_free(ws);
		model_free(m);
	}
}

static void test_invalid_input_is_rejected(void)
{
	struct model *m = new_model(ARCH_ODERNN, SOLVER_RK4, 1);
	struct model_ws *ws = model_ws_new(m, 2);
	float sizes[40], lp[10];
	double times[40];
	int labels[2] = { 0, 5 };

	make_windows(2, 20, 1, sizes, times);
	CHECK(model_classify(m, ws, 2, sizes, times, lp) == 0);
	CHECK(model_classify(m, ws, 3, sizes, times, lp) == -1);
	CHECK(model_classify(m, ws, 0, sizes, times, lp) == -1);
	CHECK(isnan(model_loss_grad(m, ws, 2, sizes, times, labels, NULL, lp, NULL)));
	sizes[25] = NAN;
	CHECK(model_classify(m, ws, 2, sizes, times, lp) == -1);
	sizes[25] = -1;
	CHECK(model_classify(m, ws, 2, sizes, times, lp) == -1);
	sizes[25] = 70000;
	CHECK(model_classify(m, ws, 2, sizes, times, lp) == -1);
	sizes[25] = 100;
	times[7] = times[6] - 1e-6;
	CHECK(model_classify(m, ws, 2, sizes, times, lp) == -1);
	times[7] = INFINITY;
	CHECK(model_classify(m, ws, 2, sizes, times, lp) == -1);
	times[7] = times[6];
	CHECK(model_classify(m, ws, 2, sizes, times, lp) == 0);
	/* weights that overflow the logits: an error, not NaN probabilities */
	for (int t = 0; t < m->ntensors; t++)
		if (!strncmp(m->tensors[t].name, "head.2.", 7))
			for (size_t i = 0; i < m->tensors[t].count; i++)
				m->params[m->tensors[t].offset + i] = 3e38f;
	CHECK(model_classify(m, ws, 2, sizes, times, lp) == -1);
	model_ws_free(ws);
	model_free(m);
}

/* Repeated timestamps (a fifth of real windows) and minutes-long gaps. */
static void test_zero_and_long_intervals(void)
{
	float sizes[20];
	double times[20];

	for (int i = 0; i < 20; i++) {
		sizes[i] = 60 + 70 * i;
		times[i] = i < 10 ? 5.0 : 5.0 + 60.0 * (i - 9);  /* 10 equal, then 1 min apart */
	}
	for (size_t a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		for (int solver = SOLVER_RK4; solver <= SOLVER_DOPRI5; solver++) {
			struct model *m = new_model(archs[a], solver, 8);
			struct model_ws *ws = model_ws_new(m, 1);
			float lp[5], sum = 0;

			CHECK(model_classify(m, ws, 1, sizes, times, lp) == 0);
			for (int k = 0; k < 5; k++)
				sum += expf(lp[k]);
			CHECKF(fabsf(sum - 1) < 1e-5f, "%s %s: probabilities sum to %g",
			       model_arch_name(archs[a]), model_solver_name(solver), sum);
			model_ws_free(ws);
			model_free(m);
		}
	}
}

struct thread_job {
	const struct model *m;
	const float *sizes;
	const double *times;
	float lp[64 * 5];
	int rc;
};

static void *classify_thread(void *arg)
{
	struct thread_job *j = arg;
	struct model_ws *ws = model_ws_new(j->m, 64);

	j->rc = -1;
	for (int round = 0; round < 20 && ws; round++)
		j->rc = model_classify(j->m, ws, 64, j->sizes, j->times, j->lp);
	model_ws_free(ws);
	return NULL;
}

/* No global state: threads sharing one model, each with its own workspace,
 * get exactly what one thread gets. */
static void test_threads_share_a_model(void)
{
	struct model *m = new_model(ARCH_ODERNN, SOLVER_DOPRI5, 12);
	struct model_ws *ws = model_ws_new(m, 64);
	struct thread_job jobs[2];
	pthread_t tid[2];
	float sizes[64 * 20], alone[64 * 5];
	double times[64 * 20];

	make_windows(64, 20, 41, sizes, times);
	CHECK(model_classify(m, ws, 64, sizes, times, alone) == 0);
	for (int t = 0; t < 2; t++) {
		jobs[t] = (struct thread_job){ .m = m, .sizes = sizes, .times = times };
		CHECK(pthread_create(&tid[t], NULL, classify_thread, &jobs[t]) == 0);
	}
	for (int t = 0; t < 2; t++) {
		pthread_join(tid[t], NULL);
		CHECK(jobs[t].rc == 0 && !memcmp(jobs[t].lp, alone, sizeof(alone)));
	}
	model_ws_free(ws);
	model_free(m);
}

/* A stiff (or hostile) ODE cannot hold the caller: dopri5 gives up when
 * its step budget runs out or its step no longer advances time, and the
 * window is refused. */
static void test_dopri5_step_budget(void)
{
	struct model *m = new_model(ARCH_ODERNN, SOLVER_DOPRI5, 4);
	struct model_ws *ws = model_ws_new(m, 1);
	float sizes[20], lp[5];
	double times[20];
	struct rng r = { 9 };

	make_windows(1, 20, 77, sizes, times);
	for (int t = 0; t < 4; t++)  /* ode.0.weight .. ode.2.bias */
		for (size_t i = 0; i < m->tensors[t].count; i++)
			m->params[m->tensors[t].offset + i] = (rng_next(&r) & 1 ? 1e4f : -1e4f);
	CHECK(model_classify(m, ws, 1, sizes, times, lp) == -1);
	model_ws_free(ws);
	model_free(m);
}

static void test_config_is_checked(void)
{
	struct model_config cfg;
	struct model *m = NULL;
	char err[256] = "";

	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.hidden = 4;
	CHECK(model_create(&cfg, 1, &m, err, sizeof(err)) == -1 && !m);
	CHECKF(strstr(err, "hidden size 4"), "%s", err);
	model_config_defaults(ARCH_ODERNN, &cfg);
	snprintf(cfg.transform, sizeof(cfg.transform), "odeflow-v0");
	CHECK(model_create(&cfg, 1, &m, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "transform"), "%s", err);
	model_config_defaults(ARCH_LSTM, &cfg);
	snprintf(cfg.class_names[3], sizeof(cfg.class_names[3]), "VoIP");
	CHECK(model_create(&cfg, 1, &m, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "twice"), "%s", err);
}

/* An ensemble classifies by the mean of its members' log-probabilities;
 * its file keeps every member; training gives each member the gradient
 * it would get alone. */
static void test_ensemble(void)
{
	enum { B = 6, C = 5 };
	char path[] = "/tmp/odeflow-test-ensemble-XXXXXX", err[256];
	struct model_config cfg;
	struct model *m = NULL, *back = NULL, member;
	struct model_ws *ws, *mws;
	float sizes[B * 20], lp[B * C], one[B * C], expect[B * C] = { 0 };
	float logits[B * C], *g, *g1;
	double times[B * 20];
	int labels[B] = { 0, 1, 2, 3, 4, 0 }, fd = mkstemp(path);
	size_t n;

	close(fd);
	make_windows(B, 20, 5, sizes, times);
	model_config_defaults(ARCH_ODERNN_EMB, &cfg);
	cfg.hidden = cfg.ode_hidden = 8;
	cfg.members = 3;
	CHECKF(model_create(&cfg, 4, &m, err, sizeof(err)) == 0, "%s", err);
	if (!m)
		return;
	model_params(m, &n);
	ws = model_ws_new(m, B);
	CHECK(model_classify(m, ws, B, sizes, times, lp) == 0);
	for (int k = 0; k < 3; k++) {
		model_member(m, k, &member);
		mws = model_ws_new(&member, B);
		CHECK(model_classify(&member, mws, B, sizes, times, one) == 0);
		for (int i = 0; i < B * C; i++)
			expect[i] += one[i] / 3;
		model_ws_free(mws);
	}
	/* members differ: the mean is not any one of them */
	CHECK(memcmp(one, lp, sizeof(lp)));
	for (int b = 0; b < B; b++) {
		float lse = 0;

		for (int k = 0; k < C; k++)
			lse += expf(expect[b * C + k]);
		for (int k = 0; k < C; k++)
			CHECK_NEAR(lp[b * C + k], expect[b * C + k] - logf(lse), 1e-5);
	}
	CHECKF(model_save(m, path, err, sizeof(err)) == 0, "%s", err);
	CHECKF(model_load(path, &back, err, sizeof(err)) == 0, "%s", err);
	if (back) {
		float *p = model_params(m, NULL), *pb = model_params(back, NULL);

		CHECK(model_config(back)->members == 3 && !memcmp(p, pb, n * sizeof(float)));
		model_free(back);
	}
	/* member 1's gradient is its own loss's, over 3 */
	g = calloc(n, sizeof(float));
	CHECK(isfinite(model_loss_grad(m, ws, B, sizes, times, labels, NULL, g, logits)));
	for (int i = 0; i < B * C; i++)
		CHECK_NEAR(logits[i], expect[i], 1e-5);
	model_member(m, 1, &member);
	mws = model_ws_new(&member, B);
	g1 = calloc(member.nparams, sizeof(float));
	CHECK(isfinite(model_loss_grad(&member, mws, B, sizes, times, labels, NULL, g1, NULL)));
	for (size_t i = 0; i < member.nparams; i++)
		CHECK_NEAR(g[member.nparams + i], g1[i] / 3, 1e-6);
	free(g);
	free(g1);
	model_ws_free(mws);
	model_ws_free(ws);
	model_free(m);
	unlink(path);
}

int main(void)
{
	RUN(test_lstm_ode_has_the_notebooks_parameter_count);
	RUN(test_create_is_deterministic_and_bounded);
	RUN(test_save_load_roundtrip);
	RUN(test_training_logits_are_the_inference_logits);
	RUN(test_batch_equals_single);
	RUN(test_dopri5_agrees_with_fine_rk4);
	RUN(test_invalid_input_is_rejected);
	RUN(test_zero_and_long_intervals);
	RUN(test_threads_share_a_model);
	RUN(test_dopri5_step_budget);
	RUN(test_config_is_checked);
	RUN(test_ensemble);
	return harness_done();
}
