// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "nn.h"
#include "odegru.h"
#include "common/errmsg.h"

int odegru_check(const struct model_config *c, char *err, size_t errlen)
{
	const char *name = model_arch_name(c->arch);

	if (c->hidden < 8 || c->hidden > 128)
		return errmsg(err, errlen, "%s hidden size %d is outside 8..128", name, c->hidden);
	if (c->ode_hidden < 1 || c->ode_hidden > 512)
		return errmsg(err, errlen, "%s ode_hidden %d is outside 1..512", name,
			      c->ode_hidden);
	return 0;
}

int odegru_state_dim(const struct model_config *c)
{
	return 2 * c->hidden;
}

void odegru_tensors(const struct model_config *c, int inputs, struct tensor_spec *t, int *n)
{
	int H = c->hidden, M = c->ode_hidden;

	tensor_add(t, n, "ode.0.weight", M, H, H);
	tensor_add(t, n, "ode.0.bias", M, 0, H);
	tensor_add(t, n, "ode.2.weight", H, M, M);
	tensor_add(t, n, "ode.2.bias", H, 0, M);
	tensor_add(t, n, "gru.weight_ih", 3 * H, inputs, H);
	tensor_add(t, n, "gru.weight_hh", 3 * H, H, H);
	tensor_add(t, n, "gru.bias_ih", 3 * H, 0, H);
	tensor_add(t, n, "gru.bias_hh", 3 * H, 0, H);
}

void odegru_tables(struct arena *a, const struct model *m, bool train, struct odegru_bufs *u)
{
	struct ode_mlp f = { .D = m->cfg.hidden, .M = m->cfg.ode_hidden };

	u->factored = !train && m->cfg.solver == SOLVER_RK4;
	memset(&u->fac, 0, sizeof(u->fac));
	if (u->factored)
		rk4_factors_make(&f, arena_take(a, rk4_factors_floats(&f)), false, &u->fac);
}

void odegru_prepare(const struct model *m, struct odegru_bufs *u)
{
	struct ode_mlp f = ode_mlp_of(m, ODEGRU_ODE, m->cfg.hidden);

	if (u->factored)
		rk4_factors_make(&f, u->fac.P, true, &u->fac);
}

void odegru_layout(struct arena *a, const struct model *m, int B, bool train,
		   struct odegru_bufs *u)
{
	const struct model_config *c = &m->cfg;
	int N = c->window, H = c->hidden, M = c->ode_hidden;
	struct ode_mlp f = { .D = H, .M = M };
	size_t ode = rk4_scratch_floats(&f, B);

	if (u->factored && rk4_factored_scratch_floats(&f, B) > ode)
		ode = rk4_factored_scratch_floats(&f, B);
	if (!train && c->solver == SOLVER_DOPRI5)
		ode = dopri5_scratch_floats(&f) + 2 * (size_t)H;
	/* Inference keeps two slots per step: step i reads step i-1's state. */
	u->slots = train ? N : 2;
	u->dtau = arena_take(a, (size_t)B * N);
	u->dt = arena_take(a, B);
	_Static_assert(sizeof(int) == sizeof(float), "an int takes a float's place");
	u->budget = (int *)arena_take(a, B);
	u->hode = arena_take(a, (size_t)u->slots * B * H);
	u->hgru = arena_take(a, (size_t)u->slots * B * H);
	u->gates = arena_take(a, (size_t)u->slots * B * 4 * H);
	rk4_tapes_layout(a, N, c->rk4_steps, B, H, M, train, &u->rk);
	u->ode_scratch = arena_take(a, ode);
	u->gh = arena_take(a, (size_t)B * 3 * H);
	u->hsum = arena_take(a, (size_t)B * H);
	u->dh = train ? arena_take(a, (size_t)B * H) : NULL;
	u->dh2 = train ? arena_take(a, (size_t)B * H) : NULL;
	u->dgh = train ? arena_take(a, (size_t)B * 3 * H) : NULL;
}

static float *slot(float *base, const struct odegru_bufs *u, int step, size_t size)
{
	return base + (size_t)(step % u->slots) * size;
}

static void interval_dt(const struct odegru_bufs *u, int B, int N, int i)
{
	for (int b = 0; b < B; b++)
		u->dt[b] = u->dtau[(size_t)b * N + i];
}

/* dopri5 one window at a time: each adapts its own steps, so a window gets
 * the same result alone or in any batch. budget[b]: steps window b has left. */
static int solve_dopri5(const struct model *m, const struct ode_mlp *f,
			const struct odegru_bufs *u, int B, const float *h, float *out)
{
	const int H = m->cfg.hidden;
	float *sol = u->ode_scratch + dopri5_scratch_floats(f);

	for (int b = 0; b < B; b++) {
		struct dopri5_options opt = { m->cfg.rtol, m->cfg.atol, u->budget[b] };
		double t[2] = { 0.0, u->dt[b] };
		int steps;

		if (u->dt[b] == 0.0f) {
			memmove(out + (size_t)b * H, h + (size_t)b * H, sizeof(float) * H);
			continue;
		}
		steps = dopri5_solve(f, &opt, h + (size_t)b * H, t, 2, sol, H, u->ode_scratch);
		if (steps < 0)
			return -1;
		u->budget[b] -= steps;
		memcpy(out + (size_t)b * H, sol + H, sizeof(float) * H);
	}
	return 0;
}

const float *odegru_all_inputs(void *all, int i, int *ld)
{
	const struct odegru_all *a = all;

	*ld = a->N * 3 * a->H;
	return a->gi + (size_t)i * 3 * a->H;
}

int odegru_forward(const struct model *m, const struct odegru_bufs *u, int B, bool train,
		   odegru_input_fn input, void *ctx, float *head_in)
{
	const struct model_config *c = &m->cfg;
	const int N = c->window, H = c->hidden;
	const size_t BH = (size_t)B * H;
	struct ode_mlp f = ode_mlp_of(m, ODEGRU_ODE, H);

	memset(u->hode, 0, sizeof(float) * BH);
	memset(u->hsum, 0, sizeof(float) * BH);
	for (int b = 0; b < B; b++)
		u->budget[b] = MODEL_DOPRI5_MAX_STEPS;
	for (int i = 0; i < N; i++) {
		float *hode = slot(u->hode, u, i, BH), *hgru = slot(u->hgru, u, i, BH);
		const float *gi;
		int ld;

		if (i > 0) {
			const float *prev = slot(u->hgru, u, i - 1, BH);

			interval_dt(u, B, N, i);
			if (u->factored) {
				rk4_forward_factored(&f, &u->fac, B, c->rk4_steps, u->dt, prev, hode,
						     u->ode_scratch);
			} else if (train || c->solver == SOLVER_RK4) {
				struct rk4_tape t = rk4_tape_of(&u->rk, i);

				rk4_forward(&f, B, c->rk4_steps, u->dt, prev, hode, &t, u->ode_scratch);
			} else if (solve_dopri5(m, &f, u, B, prev, hode)) {
				return -1;
			}
		}
		gi = input(ctx, i, &ld);
		gru_forward(hgru, slot(u->gates, u, i, (size_t)B * 4 * H), u->gh, gi, ld, hode,
			    param(m, ODEGRU_WHH), param(m, ODEGRU_BHH), B, H);
		for (size_t j = 0; j < BH; j++)
			u->hsum[j] += hgru[j];
	}
	for (int b = 0; b < B; b++) {
		const float *last = slot(u->hgru, u, N - 1, BH) + (size_t)b * H;
		float *in = head_in + (size_t)b * 2 * H;

		for (int j = 0; j < H; j++) {
			in[j] = last[j];
			in[H + j] = u->hsum[(size_t)b * H + j] / N;
		}
	}
	return 0;
}

void odegru_backward(const struct model *m, const struct odegru_bufs *u, int B,
		     const float *dhead_in, float *dgi, float *grads)
{
	const struct model_config *c = &m->cfg;
	const int N = c->window, H = c->hidden;
	const size_t BH = (size_t)B * H;
	struct ode_mlp f = ode_mlp_of(m, ODEGRU_ODE, H);
	struct ode_mlp_grad g = ode_mlp_grad_of(m, grads, ODEGRU_ODE);

	for (int b = 0; b < B; b++)
		memcpy(u->dh + (size_t)b * H, dhead_in + (size_t)b * 2 * H, sizeof(float) * H);
	for (int i = N - 1; i >= 0; i--) {
		/* every post-GRU state also feeds the mean */
		for (int b = 0; b < B; b++)
			for (int j = 0; j < H; j++)
				u->dh[(size_t)b * H + j] += dhead_in[(size_t)b * 2 * H + H + j] / N;
		gru_backward(dgi + (size_t)i * 3 * H, N * 3 * H, u->dh2, grad(m, grads, ODEGRU_WHH),
			     grad(m, grads, ODEGRU_BHH), u->dgh, u->dh,
			     u->gates + (size_t)i * B * 4 * H, u->hode + (size_t)i * BH,
			     param(m, ODEGRU_WHH), B, H);
		if (i > 0) {
			struct rk4_tape t = rk4_tape_of(&u->rk, i);

			interval_dt(u, B, N, i);
			rk4_backward(&f, &g, B, c->rk4_steps, u->dt, u->dh2, u->dh, &t, u->ode_scratch);
		}
	}
}
