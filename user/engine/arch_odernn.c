// SPDX-License-Identifier: MIT
/* odernn: an ODE-RNN. Between packets the state evolves by dh/dtau = f(h)
 * over the (log-compressed) inter-arrival time, at each packet a GRU cell
 * folds the packet's features in, and an MLP head reads the last state and
 * the mean of all post-GRU states. */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "window_features.h"
#include "nn.h"

enum {
	T_ODE_W1, T_ODE_B1, T_ODE_W2, T_ODE_B2,
	T_GRU_WIH, T_GRU_WHH, T_GRU_BIH, T_GRU_BHH,
	T_HEAD0_W, T_HEAD0_B, T_HEAD2_W, T_HEAD2_B,
};

static int odernn_check(const struct model_config *c, char *err, size_t errlen)
{
	if (c->hidden < 8 || c->hidden > 128) {
		snprintf(err, errlen, "odernn hidden size %d is outside 8..128", c->hidden);
		return -1;
	}
	if (c->ode_hidden < 1 || c->ode_hidden > 512) {
		snprintf(err, errlen, "odernn ode_hidden %d is outside 1..512", c->ode_hidden);
		return -1;
	}
	return 0;
}

static int odernn_tensors(const struct model_config *c, struct tensor_spec *t)
{
	int H = c->hidden, M = c->ode_hidden, n = 0;

	tensor_add(t, &n, "ode.0.weight", M, H, H);
	tensor_add(t, &n, "ode.0.bias", M, 0, H);
	tensor_add(t, &n, "ode.2.weight", H, M, M);
	tensor_add(t, &n, "ode.2.bias", H, 0, M);
	tensor_add(t, &n, "gru.weight_ih", 3 * H, FEATURES_PER_PACKET, H);
	tensor_add(t, &n, "gru.weight_hh", 3 * H, H, H);
	tensor_add(t, &n, "gru.bias_ih", 3 * H, 0, H);
	tensor_add(t, &n, "gru.bias_hh", 3 * H, 0, H);
	tensor_add(t, &n, "head.0.weight", H, 2 * H, 2 * H);
	tensor_add(t, &n, "head.0.bias", H, 0, 2 * H);
	tensor_add(t, &n, "head.2.weight", c->num_classes, H, H);
	tensor_add(t, &n, "head.2.bias", c->num_classes, 0, H);
	return n;
}

struct bufs {
	float *x, *dtau, *dt, *gi;   /* [B,N,F], [B,N], [B], [B,N,3H] */
	int *budget;                 /* dopri5 steps left per window [B] */
	float *hode, *hgru, *gates;  /* per step (slots): [B,H], [B,H], [B,4H] */
	int slots;
	struct rk4_tapes rk;
	float *ode_scratch, *gh, *hsum, *head_in, *head_hid;
	/* backward only */
	float *dgi, *dh, *dh2, *dhead_in, *dhead_hid, *dgh;
};

static size_t layout(const struct model *m, float *base, int B, bool train, struct bufs *u)
{
	const struct model_config *c = &m->cfg;
	int N = c->window, H = c->hidden, M = c->ode_hidden, steps = c->rk4_steps;
	struct ode_mlp f = { .D = H, .M = M };
	struct arena a = { base, 0 };
	size_t ode = rk4_scratch_floats(&f, B);

	if (!train && c->solver == SOLVER_DOPRI5)
		ode = dopri5_scratch_floats(&f) + 2 * (size_t)H;
	/* Inference keeps two slots per step: step i reads step i-1's state. */
	u->slots = train ? N : 2;
	u->x = arena_take(&a, (size_t)B * N * FEATURES_PER_PACKET);
	u->dtau = arena_take(&a, (size_t)B * N);
	u->dt = arena_take(&a, B);
	_Static_assert(sizeof(int) == sizeof(float), "an int takes a float's place");
	u->budget = (int *)arena_take(&a, B);
	u->gi = arena_take(&a, (size_t)B * N * 3 * H);
	u->hode = arena_take(&a, (size_t)u->slots * B * H);
	u->hgru = arena_take(&a, (size_t)u->slots * B * H);
	u->gates = arena_take(&a, (size_t)u->slots * B * 4 * H);
	rk4_tapes_layout(&a, N, steps, B, H, M, train, &u->rk);
	u->ode_scratch = arena_take(&a, ode);
	u->gh = arena_take(&a, (size_t)B * 3 * H);
	u->hsum = arena_take(&a, (size_t)B * H);
	u->head_in = arena_take(&a, (size_t)B * 2 * H);
	u->head_hid = arena_take(&a, (size_t)B * H);
	if (train) {
		u->dgi = arena_take(&a, (size_t)B * N * 3 * H);
		u->dh = arena_take(&a, (size_t)B * H);
		u->dh2 = arena_take(&a, (size_t)B * H);
		u->dhead_in = arena_take(&a, (size_t)B * 2 * H);
		u->dhead_hid = arena_take(&a, (size_t)B * H);
		u->dgh = arena_take(&a, (size_t)B * 3 * H);
	}
	return a.used;
}

static size_t odernn_ws_floats(const struct model *m, int B, bool train)
{
	struct bufs u;

	return layout(m, NULL, B, train, &u);
}

static float *slot(float *base, const struct bufs *u, int step, size_t size)
{
	return base + (size_t)(step % u->slots) * size;
}

static void interval_dt(const struct bufs *u, int B, int N, int i)
{
	for (int b = 0; b < B; b++)
		u->dt[b] = u->dtau[(size_t)b * N + i];
}

/* dopri5 one window at a time: each adapts its own steps, so a window gets
 * the same result alone or in any batch. budget[b]: steps window b has left. */
static int solve_dopri5(const struct model *m, const struct ode_mlp *f, const struct bufs *u,
			int B, const float *h, float *out, int *budget)
{
	const int H = m->cfg.hidden;
	float *sol = u->ode_scratch + dopri5_scratch_floats(f);

	for (int b = 0; b < B; b++) {
		struct dopri5_options opt = { m->cfg.rtol, m->cfg.atol, budget[b] };
		double t[2] = { 0.0, u->dt[b] };
		int steps;

		if (u->dt[b] == 0.0f) {
			memmove(out + (size_t)b * H, h + (size_t)b * H, sizeof(float) * H);
			continue;
		}
		steps = dopri5_solve(f, &opt, h + (size_t)b * H, t, 2, sol, H, u->ode_scratch);
		if (steps < 0)
			return -1;
		budget[b] -= steps;
		memcpy(out + (size_t)b * H, sol + H, sizeof(float) * H);
	}
	return 0;
}

static int odernn_forward(const struct model *m, float *ws, int B, bool train,
			  const float *sizes, const double *times, float *logits)
{
	const struct model_config *c = &m->cfg;
	const int N = c->window, H = c->hidden, F = FEATURES_PER_PACKET;
	const size_t BH = (size_t)B * H;
	struct ode_mlp f = ode_mlp_of(m, T_ODE_W1, H);
	struct bufs u;

	layout(m, ws, B, train, &u);
	for (int b = 0; b < B; b++)
		if (features_window(N, sizes + (size_t)b * N, times + (size_t)b * N,
				    u.x + (size_t)b * N * F, u.dtau + (size_t)b * N, NULL))
			return -1;
	/* the input half of every GRU step in one matrix product */
	linear_forward(u.gi, u.x, F, param(m, T_GRU_WIH), param(m, T_GRU_BIH), B * N, F, 3 * H);
	memset(u.hode, 0, sizeof(float) * BH);
	memset(u.hsum, 0, sizeof(float) * BH);
	for (int b = 0; b < B; b++)
		u.budget[b] = MODEL_DOPRI5_MAX_STEPS;
	for (int i = 0; i < N; i++) {
		float *hode = slot(u.hode, &u, i, BH), *hgru = slot(u.hgru, &u, i, BH);

		if (i > 0) {
			const float *prev = slot(u.hgru, &u, i - 1, BH);

			interval_dt(&u, B, N, i);
			if (train || c->solver == SOLVER_RK4) {
				struct rk4_tape t = rk4_tape_of(&u.rk, i);

				rk4_forward(&f, B, c->rk4_steps, u.dt, prev, hode, &t, u.ode_scratch);
			} else if (solve_dopri5(m, &f, &u, B, prev, hode, u.budget)) {
				return -1;
			}
		}
		gru_forward(hgru, slot(u.gates, &u, i, (size_t)B * 4 * H), u.gh,
			    u.gi + (size_t)i * 3 * H, N * 3 * H, hode,
			    param(m, T_GRU_WHH), param(m, T_GRU_BHH), B, H);
		for (size_t j = 0; j < BH; j++)
			u.hsum[j] += hgru[j];
	}
	for (int b = 0; b < B; b++) {
		const float *last = slot(u.hgru, &u, N - 1, BH) + (size_t)b * H;
		float *in = u.head_in + (size_t)b * 2 * H;

		for (int j = 0; j < H; j++) {
			in[j] = last[j];
			in[H + j] = u.hsum[(size_t)b * H + j] / N;
		}
	}
	linear_forward(u.head_hid, u.head_in, 2 * H, param(m, T_HEAD0_W), param(m, T_HEAD0_B),
		       B, 2 * H, H);
	relu_forward(u.head_hid, BH);
	linear_forward(logits, u.head_hid, H, param(m, T_HEAD2_W), param(m, T_HEAD2_B),
		       B, H, c->num_classes);
	return 0;
}

static void odernn_backward(const struct model *m, float *ws, int B, const float *dlogits,
			    float *grads)
{
	const struct model_config *c = &m->cfg;
	const int N = c->window, H = c->hidden, F = FEATURES_PER_PACKET;
	const size_t BH = (size_t)B * H;
	struct ode_mlp f = ode_mlp_of(m, T_ODE_W1, H);
	struct ode_mlp_grad g = ode_mlp_grad_of(m, grads, T_ODE_W1);
	struct bufs u;

	layout(m, ws, B, true, &u);
	memset(u.dhead_hid, 0, sizeof(float) * BH);
	linear_backward(u.dhead_hid, grad(m, grads, T_HEAD2_W), grad(m, grads, T_HEAD2_B),
			dlogits, u.head_hid, H, param(m, T_HEAD2_W), B, H, c->num_classes);
	relu_backward(u.dhead_hid, u.head_hid, BH);
	memset(u.dhead_in, 0, sizeof(float) * 2 * BH);
	linear_backward(u.dhead_in, grad(m, grads, T_HEAD0_W), grad(m, grads, T_HEAD0_B),
			u.dhead_hid, u.head_in, 2 * H, param(m, T_HEAD0_W), B, 2 * H, H);
	for (int b = 0; b < B; b++)
		memcpy(u.dh + (size_t)b * H, u.dhead_in + (size_t)b * 2 * H, sizeof(float) * H);
	for (int i = N - 1; i >= 0; i--) {
		/* every post-GRU state also feeds the mean */
		for (int b = 0; b < B; b++)
			for (int j = 0; j < H; j++)
				u.dh[(size_t)b * H + j] += u.dhead_in[(size_t)b * 2 * H + H + j] / N;
		gru_backward(u.dgi + (size_t)i * 3 * H, N * 3 * H, u.dh2, grad(m, grads, T_GRU_WHH),
			     grad(m, grads, T_GRU_BHH), u.dgh, u.dh, u.gates + (size_t)i * B * 4 * H,
			     u.hode + (size_t)i * BH, param(m, T_GRU_WHH), B, H);
		if (i > 0) {
			struct rk4_tape t = rk4_tape_of(&u.rk, i);

			interval_dt(&u, B, N, i);
			rk4_backward(&f, &g, B, c->rk4_steps, u.dt, u.dh2, u.dh, &t, u.ode_scratch);
		}
	}
	linear_backward(NULL, grad(m, grads, T_GRU_WIH), grad(m, grads, T_GRU_BIH), u.dgi, u.x, F,
			param(m, T_GRU_WIH), B * N, F, 3 * H);
}

const struct arch_ops arch_odernn = {
	.name = "odernn",
	.check = odernn_check,
	.tensors = odernn_tensors,
	.ws_floats = odernn_ws_floats,
	.forward = odernn_forward,
	.backward = odernn_backward,
};
