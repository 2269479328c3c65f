/* SPDX-License-Identifier: MIT */
/* ODE solvers for dy/dt = f(y), f a small MLP: f(y) = W2 tanh(W1 y + b1) + b2
 * (PyTorch's Linear(D,M)-Tanh-Linear(M,D)). Fixed-step RK4 runs over a batch
 * (its rows have their own interval lengths) and has a backward pass;
 * dopri5 adapts its steps to one window at a time, for inference. */
#ifndef ODEFLOW_ODE_H
#define ODEFLOW_ODE_H

#include <stdbool.h>
#include <stddef.h>

struct ode_mlp {
	const float *w1, *b1, *w2, *b2; /* [M,D], [M], [D,M], [D] */
	int D, M;
};

struct ode_mlp_grad {
	float *w1, *b1, *w2, *b2;
};

/* dydt[B,D] = f(y[B,D]); keeps the hidden activation act[B,M]. */
void ode_mlp_forward(const struct ode_mlp *f, int B, const float *y, float *act, float *dydt);
/* Adds d(dydt)/d(params) . ddydt into g and d(dydt)/dy . ddydt into dy;
 * dact[B,M] is scratch. */
void ode_mlp_backward(const struct ode_mlp *f, const struct ode_mlp_grad *g, int B,
		      const float *y, const float *act, const float *ddydt, float *dact,
		      float *dy);

/* The activations RK4 keeps: for each of steps*4 stages, the stage's input
 * [B,D] and f's hidden activation [B,M]. Inference passes a tape of 4 slots
 * (one substep), reused; training one of 4*steps slots. */
struct rk4_tape {
	float *in, *act;
	int slots;
};

/* Floats of scratch rk4_forward/rk4_backward need for B rows. */
size_t rk4_scratch_floats(const struct ode_mlp *f, int B);

/* y_out[B,D] = y after `steps` RK4 substeps of dt[b] / steps for row b.
 * y and y_out may alias. Rows with dt = 0 are left unchanged. */
void rk4_forward(const struct ode_mlp *f, int B, int steps, const float *dt,
		 const float *y, float *y_out, const struct rk4_tape *tape, float *scratch);
/* dy[B,D] = the gradient for y, given dy_out for y_out (may alias); adds
 * into the parameter gradients g. The tape must hold every substep. */
void rk4_backward(const struct ode_mlp *f, const struct ode_mlp_grad *g, int B, int steps,
		  const float *dt, const float *dy_out, float *dy, const struct rk4_tape *tape,
		  float *scratch);

/* Inference RK4 in a factored form. Every stage's input is y0 plus a
 * multiple of the previous stage's slope k = W2 a + b2, so its hidden
 * pre-activation is W1 y0 + b1 plus that multiple of P a + q, with
 * P = W1 W2 [M,M] and q = W1 b2; and the step's sum of slopes is
 * W2 (a1 + 2 a2 + 2 a3 + a4) + 6 b2. A substep then costs two products
 * with W1 and W2 and three with P instead of eight with W1 or W2: less
 * when the state is wider than half the ODE's hidden layer. The same
 * arithmetic as rk4_forward up to rounding. */
struct rk4_factors {
	float *P, *q, *b2x6;    /* [M,M], [M], [D] = 6 b2 */
};
size_t rk4_factors_floats(const struct ode_mlp *f);
/* Lays the factors out from base (rk4_factors_floats of them); fills them if fill. */
void rk4_factors_make(const struct ode_mlp *f, float *base, bool fill, struct rk4_factors *out);
size_t rk4_factored_scratch_floats(const struct ode_mlp *f, int B);
/* As rk4_forward, without a tape (y and y_out may alias). */
void rk4_forward_factored(const struct ode_mlp *f, const struct rk4_factors *k, int B, int steps,
			  const float *dt, const float *y, float *y_out, float *scratch);

struct dopri5_options {
	double rtol, atol;
	int max_steps; /* budget of steps, accepted or rejected */
};

/* Floats of scratch dopri5_solve needs. */
size_t dopri5_scratch_floats(const struct ode_mlp *f);

/* One window: solves from y0[D] at t[0] and writes the state at each of the
 * n non-decreasing times t[i] to out + i * out_stride, as torchdiffeq's
 * dopri5 does (its initial step, error norm and step-size control, and its
 * interpolation at output times). Returns the number of steps it took
 * (accepted or rejected), or -1 when the solution is not finite or the
 * step budget runs out. */
int dopri5_solve(const struct ode_mlp *f, const struct dopri5_options *opt, const float *y0,
		 const double *t, int n, float *out, int out_stride, float *scratch);

#endif
