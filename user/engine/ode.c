// SPDX-License-Identifier: MIT
#include <math.h>
#include <string.h>

#include "nn.h"
#include "ode.h"

void ode_mlp_forward(const struct ode_mlp *f, int B, const float *y, float *act, float *dydt)
{
	linear_forward(act, y, f->D, f->w1, f->b1, B, f->D, f->M);
	tanh_forward(act, (size_t)B * f->M);
	linear_forward(dydt, act, f->M, f->w2, f->b2, B, f->M, f->D);
}

void ode_mlp_backward(const struct ode_mlp *f, const struct ode_mlp_grad *g, int B,
		      const float *y, const float *act, const float *ddydt, float *dact,
		      float *dy)
{
	memset(dact, 0, sizeof(float) * B * f->M);
	linear_backward(dact, g->w2, g->b2, ddydt, act, f->M, f->w2, B, f->M, f->D);
	tanh_backward(dact, act, (size_t)B * f->M);
	linear_backward(dy, g->w1, g->b1, dact, y, f->D, f->w1, B, f->D, f->M);
}

/* ---- RK4 ---- */

static float *slot_in(const struct rk4_tape *t, int stage, size_t n)
{
	return t->in + (size_t)(stage % t->slots) * n;
}

static float *slot_act(const struct rk4_tape *t, int stage, size_t n)
{
	return t->act + (size_t)(stage % t->slots) * n;
}

static int all_zero(const float *dt, int B)
{
	for (int b = 0; b < B; b++)
		if (dt[b] != 0.0f)
			return 0;
	return 1;
}

size_t rk4_scratch_floats(const struct ode_mlp *f, int B)
{
	return (size_t)B * (7 * f->D + f->M) + f->D;
}

/* out[D] = y[D] + h * k[D] */
static HOT void axpy(float *out, const float *y, const float *k, float h, int D)
{
	int d = 0;

	for (; d + VLEN <= D; d += VLEN)
		v_store(out + d, v_load(y + d) + h * v_load(k + d));
	for (; d < D; d++)
		out[d] = y[d] + h * k[d];
}

/* out[D] = y + h/6 (k1 + 2 k2 + 2 k3 + k4); the k are n floats apart. */
static HOT void rk4_combine(float *out, const float *y, const float *k, size_t n, float h,
			    int D)
{
	const float w = h / 6;
	int d = 0;

	for (; d + VLEN <= D; d += VLEN) {
		vfloat sum = v_load(k + d) + 2.0f * v_load(k + n + d) + 2.0f * v_load(k + 2 * n + d) +
			   v_load(k + 3 * n + d);

		v_store(out + d, v_load(y + d) + w * sum);
	}
	for (; d < D; d++)
		out[d] = y[d] + w * (k[d] + 2.0f * k[n + d] + 2.0f * k[2 * n + d] + k[3 * n + d]);
}

/* Stage j's input is y0 + node[j] * h * k[j-1]. */
static const float rk4_node[4] = { 0.0f, 0.5f, 0.5f, 1.0f };
/* The weights of k1..k4 in a step (rk4_combine), for the backward pass. */
static const float rk4_weight[4] = { 1.0f / 6, 1.0f / 3, 1.0f / 3, 1.0f / 6 };

void rk4_forward(const struct ode_mlp *f, int B, int steps, const float *dt,
		 const float *y, float *y_out, const struct rk4_tape *tape, float *scratch)
{
	const int D = f->D;
	const size_t n = (size_t)B * D, na = (size_t)B * f->M;
	float *k = scratch;

	/* A batch of zero-length intervals (a lone window whose packets share
	 * a timestamp) costs nothing; the backward pass skips it the same way. */
	if (all_zero(dt, B)) {
		if (y_out != y)
			memcpy(y_out, y, sizeof(float) * n);
		return;
	}
	memcpy(slot_in(tape, 0, n), y, sizeof(float) * n);
	for (int s = 0; s < steps; s++) {
		float *y0 = slot_in(tape, 4 * s, n), *next;

		for (int j = 0; j < 4; j++) {
			float *yj = slot_in(tape, 4 * s + j, n);

			for (int b = 0; j && b < B; b++)
				axpy(yj + (size_t)b * D, y0 + (size_t)b * D,
				     k + (j - 1) * n + (size_t)b * D, rk4_node[j] * dt[b] / steps, D);
			ode_mlp_forward(f, B, yj, slot_act(tape, 4 * s + j, na), k + j * n);
		}
		next = s + 1 < steps ? slot_in(tape, 4 * (s + 1), n) : y_out;
		for (int b = 0; b < B; b++)
			rk4_combine(next + (size_t)b * D, y0 + (size_t)b * D, k + (size_t)b * D, n,
				    dt[b] / steps, D);
	}
}

void rk4_backward(const struct ode_mlp *f, const struct ode_mlp_grad *g, int B, int steps,
		  const float *dt, const float *dy_out, float *dy, const struct rk4_tape *tape,
		  float *scratch)
{
	const int D = f->D;
	const size_t n = (size_t)B * D, na = (size_t)B * f->M;
	float *cur = scratch, *dk = cur + n, *tmp = dk + 4 * n, *zero = tmp + n, *dact = zero + D;

	if (dy != dy_out)
		memcpy(dy, dy_out, sizeof(float) * n);
	if (all_zero(dt, B))
		return;
	/* cur: the gradient for the current substep's output, then its input */
	memcpy(cur, dy, sizeof(float) * n);
	memset(zero, 0, sizeof(float) * D);
	for (int s = steps - 1; s >= 0; s--) {
		for (int j = 0; j < 4; j++)
			for (int b = 0; b < B; b++)
				axpy(dk + j * n + (size_t)b * D, zero, cur + (size_t)b * D,
				     rk4_weight[j] * dt[b] / steps, D);
		/* stage j's input depends on y0 and on k[j-1]: walk the stages back */
		for (int j = 3; j >= 0; j--) {
			int stage = 4 * s + j;

			memset(tmp, 0, sizeof(float) * n);
			ode_mlp_backward(f, g, B, slot_in(tape, stage, n), slot_act(tape, stage, na),
					 dk + j * n, dact, tmp);
			for (int b = 0; b < B; b++) {
				size_t row = (size_t)b * D;

				axpy(cur + row, cur + row, tmp + row, 1.0f, D);
				if (j)
					axpy(dk + (j - 1) * n + row, dk + (j - 1) * n + row, tmp + row,
					     rk4_node[j] * dt[b] / steps, D);
			}
		}
	}
	memcpy(dy, cur, sizeof(float) * n);
}

/* ---- RK4, factored for inference ---- */

size_t rk4_factors_floats(const struct ode_mlp *f)
{
	return (size_t)f->M * f->M + f->M + f->D;
}

void rk4_factors_make(const struct ode_mlp *f, float *base, bool fill, struct rk4_factors *out)
{
	const int D = f->D, M = f->M;

	out->P = base;
	out->q = base + (size_t)M * M;
	out->b2x6 = out->q + M;
	if (!fill)
		return;
	for (int i = 0; i < M; i++) {
		double qi = 0;

		for (int j = 0; j < M; j++) {
			double sum = 0;

			for (int d = 0; d < D; d++)
				sum += (double)f->w1[(size_t)i * D + d] * f->w2[(size_t)d * M + j];
			out->P[(size_t)i * M + j] = (float)sum;
		}
		for (int d = 0; d < D; d++)
			qi += (double)f->w1[(size_t)i * D + d] * f->b2[d];
		out->q[i] = (float)qi;
	}
	for (int d = 0; d < D; d++)
		out->b2x6[d] = 6.0f * f->b2[d];
}

size_t rk4_factored_scratch_floats(const struct ode_mlp *f, int B)
{
	return (size_t)B * (4 * f->M + f->D);
}

/* z[B,M] = z1 + c dt[b] / steps * t, row by row */
static HOT void stage_input(float *z, const float *z1, const float *t, const float *dt, float c,
			    int steps, int B, int M)
{
	for (int b = 0; b < B; b++)
		axpy(z + (size_t)b * M, z1 + (size_t)b * M, t + (size_t)b * M, c * dt[b] / steps, M);
}

void rk4_forward_factored(const struct ode_mlp *f, const struct rk4_factors *k, int B, int steps,
			  const float *dt, const float *y, float *y_out, float *scratch)
{
	const int D = f->D, M = f->M;
	const size_t nm = (size_t)B * M;
	float *z1 = scratch, *z = z1 + nm, *t = z + nm, *sum = t + nm, *slope = sum + nm;

	if (all_zero(dt, B)) {
		if (y_out != y)
			memcpy(y_out, y, sizeof(float) * B * D);
		return;
	}
	for (int s = 0; s < steps; s++) {
		const float *y0 = s ? y_out : y;

		/* stage 1 at y0 */
		linear_forward(z1, y0, D, f->w1, f->b1, B, D, M);
		memcpy(z, z1, sizeof(float) * nm);
		tanh_forward(z, nm);
		memcpy(sum, z, sizeof(float) * nm);
		for (int j = 1; j < 4; j++) {
			/* t = P a + q = W1 k (a: the previous stage's activation, in z) */
			linear_forward(t, z, M, k->P, k->q, B, M, M);
			stage_input(z, z1, t, dt, rk4_node[j], steps, B, M);
			tanh_forward(z, nm);
			axpy(sum, sum, z, j == 3 ? 1.0f : 2.0f, (int)nm);
		}
		/* y = y0 + h/6 (W2 sum + 6 b2) */
		linear_forward(slope, sum, M, f->w2, k->b2x6, B, M, D);
		for (int b = 0; b < B; b++)
			axpy(y_out + (size_t)b * D, y0 + (size_t)b * D, slope + (size_t)b * D,
			     dt[b] / steps / 6, D);
	}
}

/* ---- Dormand-Prince 5(4), as torchdiffeq's dopri5 ---- */

static const double dp_a[6][6] = {
	{ 1 / 5.0 },
	{ 3 / 40.0, 9 / 40.0 },
	{ 44 / 45.0, -56 / 15.0, 32 / 9.0 },
	{ 19372 / 6561.0, -25360 / 2187.0, 64448 / 6561.0, -212 / 729.0 },
	{ 9017 / 3168.0, -355 / 33.0, 46732 / 5247.0, 49 / 176.0, -5103 / 18656.0 },
	{ 35 / 384.0, 0, 500 / 1113.0, 125 / 192.0, -2187 / 6784.0, 11 / 84.0 },
};
static const double dp_err[7] = {
	35 / 384.0 - 1951 / 21600.0, 0, 500 / 1113.0 - 22642 / 50085.0,
	125 / 192.0 - 451 / 720.0, -2187 / 6784.0 + 12231 / 42400.0,
	11 / 84.0 - 649 / 6300.0, -1 / 60.0,
};
/* Weights of the solution at mid-step, for the interpolating polynomial. */
static const double dp_mid[7] = {
	6025192743 / 30085553152.0 / 2, 0, 51252292925 / 65400821598.0 / 2,
	-2691868925 / 45128329728.0 / 2, 187940372067 / 1594534317056.0 / 2,
	-1776094331 / 19743644256.0 / 2, 11237099 / 235043384.0 / 2,
};

#define DP_SAFETY 0.9
#define DP_IFACTOR 10.0
#define DP_DFACTOR 0.2
#define DP_ORDER 5

size_t dopri5_scratch_floats(const struct ode_mlp *f)
{
	return (size_t)16 * f->D + f->M;
}

struct dp_state {
	const struct ode_mlp *f;
	const struct dopri5_options *opt;
	int D;
	float *act;
	float *y, *fy;       /* state and f(state) at t1 */
	float *k, *y1, *coeff; /* 7 stages, trial step, interpolation (5 * D) */
	double t0, t1, dt;   /* last accepted step [t0, t1]; next step size */
};

static void dp_f(struct dp_state *s, const float *y, float *dydt)
{
	ode_mlp_forward(s->f, 1, y, s->act, dydt);
}

static double rms(const double *v, int n)
{
	double sum = 0;

	for (int i = 0; i < n; i++)
		sum += v[i] * v[i];
	return sqrt(sum / n);
}

/* torchdiffeq's _select_initial_step (Hairer, Norsett & Wanner II.4), in double. */
static double dp_initial_step(struct dp_state *s, double *tmp)
{
	const int D = s->D;
	const double rtol = s->opt->rtol, atol = s->opt->atol, order = DP_ORDER - 1;
	double d0, d1, d2, h0, h1;
	float *y1 = s->y1, *f1 = s->k;

	for (int i = 0; i < D; i++)
		tmp[i] = s->y[i] / (atol + fabs(s->y[i]) * rtol);
	d0 = rms(tmp, D);
	for (int i = 0; i < D; i++)
		tmp[i] = s->fy[i] / (atol + fabs(s->y[i]) * rtol);
	d1 = rms(tmp, D);
	h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
	for (int i = 0; i < D; i++)
		y1[i] = (float)(s->y[i] + h0 * s->fy[i]);
	dp_f(s, y1, f1);
	for (int i = 0; i < D; i++)
		tmp[i] = (f1[i] - s->fy[i]) / (atol + fabs(s->y[i]) * rtol);
	d2 = rms(tmp, D) / h0;
	if (d1 <= 1e-15 && d2 <= 1e-15)
		h1 = fmax(1e-6, h0 * 1e-3);
	else
		h1 = pow(0.01 / fmax(d1, d2), 1.0 / (order + 1));
	return fmin(100 * h0, h1);
}

/* torchdiffeq's _optimal_step_size */
static double dp_next_step(double dt, double ratio)
{
	double dfactor = ratio < 1 ? 1.0 : DP_DFACTOR;

	if (ratio == 0)
		return dt * DP_IFACTOR;
	return dt * fmin(DP_IFACTOR, fmax(DP_SAFETY / pow(ratio, 1.0 / DP_ORDER), dfactor));
}

/* One attempted step from (t1, y) of size dt; on success moves t0, t1, y,
 * fy and the interpolation coefficients forward. */
static void dp_step(struct dp_state *s, double *tmp)
{
	const int D = s->D;
	const double dt = s->dt, rtol = s->opt->rtol, atol = s->opt->atol;
	float *k = s->k, *y1 = s->y1, *c = s->coeff;
	double ratio;

	memcpy(k, s->fy, sizeof(float) * D);
	for (int st = 0; st < 6; st++) {
		for (int i = 0; i < D; i++) {
			double sum = 0;

			for (int j = 0; j <= st; j++)
				sum += dp_a[st][j] * k[j * D + i];
			y1[i] = (float)(s->y[i] + dt * sum);
		}
		dp_f(s, y1, k + (st + 1) * D);
	}
	/* the last stage is evaluated at the solution (FSAL): y1 holds it */
	for (int i = 0; i < D; i++) {
		double err = 0;

		for (int j = 0; j < 7; j++)
			err += dp_err[j] * k[j * D + i];
		tmp[i] = dt * err / (atol + rtol * fmax(fabs(s->y[i]), fabs(y1[i])));
	}
	ratio = rms(tmp, D);
	if (ratio <= 1) {
		for (int i = 0; i < D; i++) {
			double mid = 0, y0 = s->y[i], yn = y1[i];
			double f0 = k[i], fn = k[6 * D + i];

			for (int j = 0; j < 7; j++)
				mid += dp_mid[j] * k[j * D + i];
			mid = y0 + dt * mid;
			c[i] = (float)y0;
			c[D + i] = (float)(dt * f0);
			c[2 * D + i] = (float)(dt * (fn - 4 * f0) - 11 * y0 - 5 * yn + 16 * mid);
			c[3 * D + i] = (float)(dt * (5 * f0 - 3 * fn) + 18 * y0 + 14 * yn - 32 * mid);
			c[4 * D + i] = (float)(2 * dt * (fn - f0) - 8 * (yn + y0) + 16 * mid);
		}
		memcpy(s->y, y1, sizeof(float) * D);
		memcpy(s->fy, k + 6 * D, sizeof(float) * D);
		s->t0 = s->t1;
		s->t1 += dt;
	}
	s->dt = dp_next_step(dt, ratio);
}

static void dp_interpolate(const struct dp_state *s, double t, float *out)
{
	double x = (t - s->t0) / (s->t1 - s->t0);

	for (int i = 0; i < s->D; i++) {
		const float *c = s->coeff + i;
		int D = s->D;

		out[i] = (float)(c[0] + x * (c[D] + x * (c[2 * D] + x * (c[3 * D] + x * c[4 * D]))));
	}
}

int dopri5_solve(const struct ode_mlp *f, const struct dopri5_options *opt, const float *y0,
		 const double *t, int n, float *out, int out_stride, float *scratch)
{
	const int D = f->D;
	double tmp[D];
	struct dp_state s = {
		.f = f, .opt = opt, .D = D,
		.y = scratch, .fy = scratch + D, .k = scratch + 2 * D,
		.y1 = scratch + 9 * D, .coeff = scratch + 10 * D, .act = scratch + 15 * D,
		.t0 = t[0], .t1 = t[0],
	};
	int steps = 0;

	memcpy(s.y, y0, sizeof(float) * D);
	memcpy(out, y0, sizeof(float) * D);
	dp_f(&s, s.y, s.fy);
	s.dt = dp_initial_step(&s, tmp);
	for (int i = 1; i < n; i++) {
		float *o = out + (size_t)i * out_stride;

		while (t[i] > s.t1) {
			if (++steps > opt->max_steps || !(s.t1 + s.dt > s.t1))
				return -1;
			dp_step(&s, tmp);
			for (int d = 0; d < D; d++)
				if (!isfinite(s.y[d]))
					return -1;
		}
		if (s.t1 == s.t0)  /* no step yet: t[i] == t[0] */
			memcpy(o, s.y, sizeof(float) * D);
		else
			dp_interpolate(&s, t[i], o);
	}
	return steps;
}
