/* SPDX-License-Identifier: MIT */
/* The ODE-RNN recurrence odernn and odernn-emb share. From the zero state,
 * at each packet i of a window: the state evolves by dh/dtau = f(h) over
 * the packet's (compressed) gap dtau[i], f = Linear(H,M)-tanh-Linear(M,H)
 * (RK4; dopri5 at inference if the model says so), then a GRU cell folds
 * in the packet's input. The head reads the last state and the mean of the
 * post-GRU states. The architectures differ in their per-packet inputs:
 * each computes the GRU's input half gi = x W_ih^T + b_ih its own way. */
#ifndef ODEFLOW_ODEGRU_H
#define ODEFLOW_ODEGRU_H

#include "arch.h"

/* An architecture's tensors 0..7, in this order. */
enum {
	ODEGRU_ODE = 0,      /* ode.0.weight, ode.0.bias, ode.2.weight, ode.2.bias */
	ODEGRU_WIH = 4, ODEGRU_WHH, ODEGRU_BIH, ODEGRU_BHH,
	ODEGRU_TENSORS,
};

/* The sizes both architectures accept: hidden 8..128, ode_hidden 1..512;
 * one line naming the architecture into err when out of range. */
int odegru_check(const struct model_config *c, char *err, size_t errlen);

/* The size of the head's input, 2H: the last and the mean state. */
int odegru_state_dim(const struct model_config *c);

/* Adds the 8 tensors for a GRU of `inputs` inputs (t must be empty). */
void odegru_tensors(const struct model_config *c, int inputs, struct tensor_spec *t, int *n);

struct odegru_bufs {
	struct rk4_factors fac;      /* inference with RK4: the factored ODE (ode.h) */
	bool factored;
	float *dtau;                 /* [B,N], filled by the architecture; dtau[.,0] unused */
	float *dt;                   /* [B] */
	int *budget;                 /* dopri5 steps left per window [B] */
	float *hode, *hgru, *gates;  /* per step (slots): [B,H], [B,H], [B,4H] */
	int slots;
	struct rk4_tapes rk;
	float *ode_scratch, *gh, *hsum;
	float *dh, *dh2, *dgh;       /* backward only */
};

/* What inference precomputes (the factored ODE): an architecture lays it
 * out at the start of its workspace, where it does not depend on B, and
 * fills it in its prepare with odegru_prepare. */
void odegru_tables(struct arena *a, const struct model *m, bool train, struct odegru_bufs *u);
void odegru_prepare(const struct model *m, struct odegru_bufs *u);
void odegru_layout(struct arena *a, const struct model *m, int B, bool train,
		   struct odegru_bufs *u);
/* The GRU's input half of packet i of every window: B rows of 3H floats,
 * *ld floats apart, made on demand (so inference need not hold all N
 * packets' at once) or precomputed (odegru_all_inputs). */
typedef const float *(*odegru_input_fn)(void *ctx, int i, int *ld);
struct odegru_all {
	const float *gi;             /* [B,N,3H] */
	int N, H;
};
const float *odegru_all_inputs(void *all, int i, int *ld);

/* head_in[B,2H] = (last state, mean state) out. Returns -1 when dopri5
 * fails. */
int odegru_forward(const struct model *m, const struct odegru_bufs *u, int B, bool train,
		   odegru_input_fn input, void *ctx, float *head_in);
/* After odegru_forward(train): from dhead_in[B,2H], writes dgi[B,N,3H] and
 * adds into the gradients of the ODE and of W_hh, b_hh (W_ih and b_ih are
 * the caller's: they depend on its inputs). */
void odegru_backward(const struct model *m, const struct odegru_bufs *u, int B,
		     const float *dhead_in, float *dgi, float *grads);

#endif
