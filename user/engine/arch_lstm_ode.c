// SPDX-License-Identifier: MIT
/* lstm-ode: the architecture of the published ODE-Flow notebook. A 2-layer
 * LSTM (hidden 1) reads the normalised sizes; its top output at the first
 * step starts a scalar ODE, f = Linear(1,M)-tanh-Linear(M,1), solved at the
 * window's N arrival times (seconds after its first packet); the N states go
 * through the 128-64-C head. The LSTM is causal and only its first output
 * is used, so only the first step is computed: the result is the same. */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "window_features.h"
#include "nn.h"
#include "common/errmsg.h"

enum { T_L0 = 0, T_L1 = 4, T_ODE = 8, T_HEAD = 12 };

static int lstm_ode_check(const struct model_config *c, char *err, size_t errlen)
{
	if (c->hidden != 1)
		return errmsg(err, errlen, "lstm-ode hidden size is %d; the architecture has 1",
			      c->hidden);
	if (c->ode_hidden < 1 || c->ode_hidden > 512)
		return errmsg(err, errlen, "lstm-ode ode_hidden %d is outside 1..512",
			      c->ode_hidden);
	return 0;
}

static int lstm_ode_tensors(const struct model_config *c, struct tensor_spec *t)
{
	int n = 0, M = c->ode_hidden;

	lstm_tensors(t, &n, 1, 1);
	tensor_add(t, &n, "ode.0.weight", M, 1, 1);
	tensor_add(t, &n, "ode.0.bias", M, 0, 1);
	tensor_add(t, &n, "ode.2.weight", 1, M, M);
	tensor_add(t, &n, "ode.2.bias", 1, 0, M);
	head_tensors(t, &n, c->window, c->num_classes);
	return n;
}

struct bufs {
	float *x, *tau, *dt;         /* [B,N,F], [B,N], [B] */
	float *gx, *out[2], *c[2], *gates[2];  /* the LSTM's first step: [B,4], [B,1]... */
	float *ys, *states;          /* ODE states [N][B] and [B,N] */
	struct rk4_tapes rk;
	float *ode_scratch;
	struct head_bufs head;
	float *dstates, *dy, *dgx, *dout, *dc;  /* backward only */
};

static size_t layout(const struct model *m, float *base, int B, bool train, struct bufs *u)
{
	const int N = m->cfg.window, M = m->cfg.ode_hidden;
	struct ode_mlp f = { .D = 1, .M = M };
	struct arena a = { base, 0 };
	size_t ode = rk4_scratch_floats(&f, B), dp = dopri5_scratch_floats(&f);

	u->x = arena_take(&a, (size_t)B * N * FEATURES_PER_PACKET);
	u->tau = arena_take(&a, (size_t)B * N);
	u->dt = arena_take(&a, B);
	u->gx = arena_take(&a, (size_t)B * 4);
	for (int l = 0; l < 2; l++) {
		u->out[l] = arena_take(&a, B);
		u->c[l] = arena_take(&a, B);
		u->gates[l] = arena_take(&a, (size_t)B * 4);
	}
	u->ys = arena_take(&a, (size_t)N * B);
	u->states = arena_take(&a, (size_t)B * N);
	rk4_tapes_layout(&a, N, m->cfg.rk4_steps, B, 1, M, train, &u->rk);
	u->ode_scratch = arena_take(&a, ode > dp ? ode : dp);
	head_layout(&a, B, train, &u->head);
	if (train) {
		u->dstates = arena_take(&a, (size_t)B * N);
		u->dy = arena_take(&a, B);
		u->dgx = arena_take(&a, (size_t)B * 4);
		u->dout = arena_take(&a, B);
		u->dc = arena_take(&a, B);
	}
	return a.used;
}

static size_t lstm_ode_ws_floats(const struct model *m, int B, bool train)
{
	struct bufs u;

	return layout(m, NULL, B, train, &u);
}

static void interval_dt(const struct bufs *u, int B, int N, int i)
{
	for (int b = 0; b < B; b++)
		u->dt[b] = u->tau[(size_t)b * N + i] - u->tau[(size_t)b * N + i - 1];
}

static int solve(const struct model *m, const struct bufs *u, int B, bool train)
{
	const int N = m->cfg.window;
	struct ode_mlp f = ode_mlp_of(m, T_ODE, 1);
	struct dopri5_options opt = { m->cfg.rtol, m->cfg.atol, MODEL_DOPRI5_MAX_STEPS };

	if (train || m->cfg.solver == SOLVER_RK4) {
		for (int i = 1; i < N; i++) {
			struct rk4_tape t = rk4_tape_of(&u->rk, i);

			interval_dt(u, B, N, i);
			rk4_forward(&f, B, m->cfg.rk4_steps, u->dt, u->ys + (size_t)(i - 1) * B,
				    u->ys + (size_t)i * B, &t, u->ode_scratch);
		}
		for (int b = 0; b < B; b++)
			for (int i = 0; i < N; i++)
				u->states[(size_t)b * N + i] = u->ys[(size_t)i * B + b];
		return 0;
	}
	/* one window at a time, so its steps do not depend on the batch */
	for (int b = 0; b < B; b++) {
		double t[ODEFLOW_MAX_WINDOW];

		for (int i = 0; i < N; i++)
			t[i] = u->tau[(size_t)b * N + i];
		if (dopri5_solve(&f, &opt, u->ys + b, t, N, u->states + (size_t)b * N, 1,
				 u->ode_scratch) < 0)
			return -1;
	}
	return 0;
}

static int lstm_ode_forward(const struct model *m, float *ws, int B, bool train,
			    const struct loss_options *lo, const float *sizes,
			    const double *times, float *logits)
{
	const int N = m->cfg.window, F = FEATURES_PER_PACKET;
	struct bufs u;

	(void)lo; /* no dropout layer */
	layout(m, ws, B, train, &u);
	for (int b = 0; b < B; b++)
		if (features_window(N, sizes + (size_t)b * N, times + (size_t)b * N,
				    u.x + (size_t)b * N * F, NULL, u.tau + (size_t)b * N))
			return -1;
	/* the first size of each window (feature size_norm) through both layers */
	linear_forward(u.gx, u.x + FEAT_SIZE_NORM, N * F, param(m, T_L0), param(m, T_L0 + 2), B,
		       1, 4);
	lstm_seq_forward(u.gx, u.out[0], u.c[0], u.gates[0], param(m, T_L0 + 1),
			 param(m, T_L0 + 3), B, 1, 1);
	linear_forward(u.gx, u.out[0], 1, param(m, T_L1), param(m, T_L1 + 2), B, 1, 4);
	lstm_seq_forward(u.gx, u.out[1], u.c[1], u.gates[1], param(m, T_L1 + 1),
			 param(m, T_L1 + 3), B, 1, 1);
	memcpy(u.ys, u.out[1], sizeof(float) * B);
	if (solve(m, &u, B, train))
		return -1;
	head_forward(m, T_HEAD, &u.head, B, N, u.states, logits);
	return 0;
}

static void lstm_ode_backward(const struct model *m, float *ws, int B, const float *dlogits,
			      float *grads)
{
	const int N = m->cfg.window, F = FEATURES_PER_PACKET;
	struct ode_mlp f = ode_mlp_of(m, T_ODE, 1);
	struct ode_mlp_grad g = ode_mlp_grad_of(m, grads, T_ODE);
	struct bufs u;

	layout(m, ws, B, true, &u);
	head_backward(m, T_HEAD, &u.head, B, N, u.states, dlogits, u.dstates, grads);
	memset(u.dy, 0, sizeof(float) * B);
	for (int i = N - 1; i >= 0; i--) {
		for (int b = 0; b < B; b++)
			u.dy[b] += u.dstates[(size_t)b * N + i];
		if (i > 0) {
			struct rk4_tape t = rk4_tape_of(&u.rk, i);

			interval_dt(&u, B, N, i);
			rk4_backward(&f, &g, B, m->cfg.rk4_steps, u.dt, u.dy, u.dy, &t,
				     u.ode_scratch);
		}
	}
	lstm_seq_backward(u.dgx, u.dy, u.dc, grad(m, grads, T_L1 + 1), grad(m, grads, T_L1 + 3),
			  u.gates[1], u.c[1], u.out[1], param(m, T_L1 + 1), B, 1, 1);
	memset(u.dout, 0, sizeof(float) * B);
	linear_backward(u.dout, grad(m, grads, T_L1), grad(m, grads, T_L1 + 2), u.dgx, u.out[0], 1,
			param(m, T_L1), B, 1, 4);
	lstm_seq_backward(u.dgx, u.dout, u.dc, grad(m, grads, T_L0 + 1), grad(m, grads, T_L0 + 3),
			  u.gates[0], u.c[0], u.out[0], param(m, T_L0 + 1), B, 1, 1);
	linear_backward(NULL, grad(m, grads, T_L0), grad(m, grads, T_L0 + 2), u.dgx,
			u.x + FEAT_SIZE_NORM, N * F, param(m, T_L0), B, 1, 4);
}

const struct arch_ops arch_lstm_ode = {
	.name = "lstm-ode",
	.about = "the published model",
	.transform = FEATURES_TRANSFORM,
	.check = lstm_ode_check,
	.tensors = lstm_ode_tensors,
	.ws_floats = lstm_ode_ws_floats,
	.forward = lstm_ode_forward,
	.backward = lstm_ode_backward,
};
