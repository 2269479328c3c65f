/* SPDX-License-Identifier: MIT */
/* What the engine (model.c) needs from each architecture (arch_*.c): its
 * parameter tensors, its workspace size, and forward and backward passes
 * over a batch. Training and inference run the same forward function; in
 * training it keeps every activation (the tape), in inference it reuses a
 * few slots, so a window in flight costs little memory. */
#ifndef ODEFLOW_ARCH_H
#define ODEFLOW_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "ode.h"

#define MODEL_MAX_TENSORS 32  /* lstm-ode has 18 */
/* dopri5 steps per window: a stiff or hostile model cannot hang the agent */
#define MODEL_DOPRI5_MAX_STEPS 10000

/* Every element takes 4 bytes of the parameter array: a float, or an int32
 * (the trees' node indexes) kept in a float's place. */
enum tensor_dtype { TENSOR_F32, TENSOR_I32 };
_Static_assert(sizeof(float) == sizeof(int32_t), "an int32 takes a float's place");

struct tensor_spec {
	char name[32];
	enum tensor_dtype dtype;
	int ndim;
	int shape[2];
	size_t offset;      /* into the parameter array, in floats */
	size_t count;
	float init_bound;   /* initialised uniform in [-bound, bound] */
	bool frozen;        /* set from data, not trained (model_frozen) */
};

/* An ensemble's members share the configuration and the tensor specs and
 * lie one after the other in params: member k is the model whose params
 * start member_params * k floats in (model_member). */
struct model {
	struct model_config cfg;
	const struct arch_ops *ops;
	int ntensors;                   /* of one member */
	struct tensor_spec tensors[MODEL_MAX_TENSORS];
	size_t member_params;
	size_t nparams;                 /* all members */
	float *params;
	unsigned char *frozen;  /* per parameter, NULL when no tensor is frozen */
};

/* Member k of m as a one-member model sharing m's parameters. */
void model_member(const struct model *m, int k, struct model *member);

struct arch_ops {
	const char *name;
	const char *about;      /* model_arch_about */
	const char *transform;  /* the feature transform its model files name */
	/* Checks the architecture's sizes; one line into err when invalid. */
	int (*check)(const struct model_config *c, char *err, size_t errlen);
	/* Writes the parameter tensors in parameter-array order; returns how many. */
	int (*tensors)(const struct model_config *c, struct tensor_spec *t);
	/* Floats of workspace one forward (and, if train, backward) pass over
	 * B windows needs. */
	size_t (*ws_floats)(const struct model *m, int B, bool train);
	/* logits[B,C]. train: keep the tape for backward and solve with RK4
	 * whatever the model's solver; lo (training only, may be NULL) says
	 * whether to drop out. Returns -1 on invalid input or when dopri5
	 * fails. */
	int (*forward)(const struct model *m, float *ws, int B, bool train,
		       const struct loss_options *lo, const float *sizes, const double *times,
		       float *logits);
	/* After forward(train): adds d(loss)/d(params) into grads, given dlogits.
	 * NULL for an architecture without a gradient (trees). */
	void (*backward)(const struct model *m, float *ws, int B, const float *dlogits,
			 float *grads);
	/* Optional. Fills the tables an inference workspace keeps at its start
	 * (ws_floats(train = false) counts them), derived from the parameters. */
	void (*prepare)(const struct model *m, float *ws);
	/* Optional. Sets the frozen tensors from training data (count sizes;
	 * count 0: a data-free default). model_create calls it with none. */
	void (*init_inputs)(struct model *m, const float *sizes, size_t count);
	/* Optional. Checks loaded parameters beyond finiteness: that they make a
	 * model forward() can run safely (trees: indexes in range, no cycle). */
	int (*check_params)(const struct model *m, char *err, size_t errlen);
	/* Optional (the architectures an Unknown score reads). After an
	 * inference forward() over B windows on ws: the input of its head,
	 * [B, state_dim(cfg)] (the last and the mean hidden state). */
	const float *(*head_input)(const struct model *m, float *ws, int B);
	int (*state_dim)(const struct model_config *c);
};

/* The Unknown score's covariance has its diagonal lifted by this share of
 * its mean, and this much more, so a state dimension the training windows
 * never move cannot make it singular. */
#define UNKNOWN_SHRINK 1e-3
#define UNKNOWN_FLOOR 1e-12

/* The Unknown scores (unknown.c): the tensors the Mahalanobis score adds
 * after each member's own, the workspace it takes per window, and every
 * score of a batch (z: the members' whitened states, for Mahalanobis). */
void unknown_tensors(const struct model_config *c, int dim, struct tensor_spec *t, int *n);
size_t unknown_ws_floats(const struct model *m, int B);
/* Member k's head input h[B,D] whitened into z[B,D] (ws from unknown_ws_floats). */
void unknown_project(const struct model *member, const float *h, int B, float *z);
/* score[b]: confidence, 1 - the top probability of logprobs[B,C];
 * mahalanobis, the mean over members of |z_k[b] - center_k[class of b]|^2,
 * the class the ensemble names; none, 0. */
void unknown_score(const struct model *m, const float *z, int B, const float *logprobs,
		   float *score);

/* The tensors of one member of a model of this configuration: its
 * architecture's, then the Unknown score's. Returns how many. */
int model_tensor_specs(const struct model_config *cfg, struct tensor_spec *t);
/* A model of this configuration (checked) with zeroed parameters. */
int model_alloc(const struct model_config *cfg, struct model **out, char *err, size_t errlen);
/* Parameters as set (loaded, or built from trees): every F32 element finite,
 * and what the architecture's check_params checks. */
int model_check_params(const struct model *m, char *err, size_t errlen);

extern const struct arch_ops arch_odernn, arch_lstm_ode, arch_lstm, arch_odernn_emb, arch_trees;

/* Carves a workspace into buffers; with a NULL base it only counts, so one
 * layout function both sizes and cuts the workspace. */
struct arena {
	float *base;
	size_t used;
};

static inline float *arena_take(struct arena *a, size_t n)
{
	float *p = a->base ? a->base + a->used : NULL;

	a->used += (n + 15) & ~(size_t)15; /* 64-byte aligned buffers */
	return p;
}

/* The RK4 tapes of a window's N-1 intervals: training keeps every stage of
 * every interval, inference reuses the 4 slots of one substep. */
struct rk4_tapes {
	float *in, *act;
	int slots, intervals;
	size_t in_size, act_size;   /* floats per slot */
};

void rk4_tapes_layout(struct arena *a, int N, int steps, int B, int D, int M, bool train,
		      struct rk4_tapes *t);
/* The tape of interval i (1..N-1). */
struct rk4_tape rk4_tape_of(const struct rk4_tapes *t, int i);

/* Fills a tensor spec; bound is 1/sqrt(fan) as PyTorch initialises it. */
void tensor_add(struct tensor_spec *t, int *n, const char *name, int rows, int cols, int fan);

/* The ODE function whose weights are the model's tensors w1..b2 (in that
 * order from index first), in params or in a gradient array. */
struct ode_mlp ode_mlp_of(const struct model *m, int first, int D);
struct ode_mlp_grad ode_mlp_grad_of(const struct model *m, float *grads, int first);

/* The classifier head shared by lstm-ode and lstm: Linear(in,128)-ReLU-
 * Linear(128,64)-ReLU-Linear(64,C), tensors from index first. */
struct head_bufs {
	float *h1, *h2, *dh1, *dh2;   /* [B,128], [B,64] and their gradients */
};
void head_tensors(struct tensor_spec *t, int *n, int in, int classes);
void head_layout(struct arena *a, int B, bool train, struct head_bufs *hb);
void head_forward(const struct model *m, int first, const struct head_bufs *hb, int B, int in,
		  const float *x, float *logits);
/* dx (if not NULL) is written. */
void head_backward(const struct model *m, int first, const struct head_bufs *hb, int B, int in,
		   const float *x, const float *dlogits, float *dx, float *grads);

/* The head of odernn and odernn-emb: Linear(in,W)-ReLU-Dropout-Linear(W,C),
 * tensors from index first (named head.0 and head.2 as in PyTorch). */
struct head2_bufs {
	float *hid;                  /* [B,W] after the ReLU */
	float *drop, *mask, *dhid;   /* training: after dropout, its mask, the gradient */
};
void head2_tensors(struct tensor_spec *t, int *n, int in, int W, int classes);
void head2_layout(struct arena *a, int B, int W, bool train, struct head2_bufs *hb);
/* lo: training options (dropout), NULL at inference. */
void head2_forward(const struct model *m, int first, const struct head2_bufs *hb, int B, int in,
		   int W, const float *x, const struct loss_options *lo, float *logits);
/* dx[B,in] is written. */
void head2_backward(const struct model *m, int first, const struct head2_bufs *hb, int B, int in,
		    int W, const float *x, const float *dlogits, float *dx, float *grads);

/* A 2-layer nn.LSTM's tensors (l0 then l1, each w_ih, w_hh, b_ih, b_hh). */
void lstm_tensors(struct tensor_spec *t, int *n, int input, int H);
/* One LSTM layer over T steps from the zero state. gx[B,T,4H] = inputs .
 * W_ih^T + b_ih; writes out[B,T,H] and keeps c[T][B,H], gates[T][B,4H]. */
void lstm_seq_forward(const float *gx, float *out, float *c, float *gates, const float *w_hh,
		      const float *b_hh, int B, int T, int H);
/* dout[B,T,H]: the gradient for out, consumed; writes dgx[B,T,4H]; dc[B,H]
 * is scratch. */
void lstm_seq_backward(float *dgx, float *dout, float *dc, float *dw_hh, float *db_hh,
		       const float *gates, const float *c, const float *out, const float *w_hh,
		       int B, int T, int H);

static inline float *param(const struct model *m, int idx)
{
	return m->params + m->tensors[idx].offset;
}

static inline int32_t *param_i32(const struct model *m, int idx)
{
	return (int32_t *)(m->params + m->tensors[idx].offset);
}

static inline float *grad(const struct model *m, float *grads, int idx)
{
	return grads + m->tensors[idx].offset;
}

#endif
