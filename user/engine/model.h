/* SPDX-License-Identifier: MIT */
/* The classifier engine: one window (N packet sizes and N arrival times of
 * one flow direction) in, class log-probabilities out. No global state: a
 * model is read-only once loaded and may be shared by threads; each thread
 * brings its own workspace. This is the only forward pass in the project:
 * the agent, the trainer and the offline tools all call it. */
#ifndef ODEFLOW_MODEL_H
#define ODEFLOW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_MAX_CLASSES 16
#define MODEL_MAX_WINDOW 64

enum model_arch { ARCH_ODERNN, ARCH_LSTM_ODE, ARCH_LSTM, ARCH_TREES };
enum model_solver { SOLVER_RK4, SOLVER_DOPRI5 };

struct model_config {
	enum model_arch arch;
	int hidden;          /* odernn: GRU/ODE state size (8..128); lstm: LSTM hidden
			      * size (1..128); lstm-ode: 1, as in the notebook */
	int ode_hidden;      /* width of the ODE function's hidden layer (1..512) */
	int window;          /* N, packets per window (2..64) */
	enum model_solver solver;
	int rk4_steps;       /* RK4 substeps per inter-arrival interval */
	double rtol, atol;   /* dopri5 tolerances */
	int num_classes;
	char class_names[MODEL_MAX_CLASSES][32];
	char transform[32];  /* feature transform name and version, e.g. "odeflow-v1" */
	uint32_t model_id;
	/* trees only (0 for the networks, whose fields above trees ignore): */
	int trees;           /* boosted trees, a multiple of num_classes */
	int nodes;           /* nodes of all trees together */
};

/* The defaults for an architecture: odernn hidden 32 (M = 32), RK4 with 2
 * substeps; lstm-ode as the ODE-Flow notebook (hidden 1, ODE width 32,
 * dopri5 at rtol 1e-7, atol 1e-9); lstm hidden 1. All with window 20, the
 * five ISCX classes (VoIP, Video, File_Transfer, Chat, Browsing), transform
 * odeflow-v1 and model_id 0. */
void model_config_defaults(enum model_arch arch, struct model_config *cfg);
/* Names as in model files ("odernn", "lstm-ode", "lstm", "trees"; "rk4", "dopri5");
 * the parsers return -1 for an unknown name. */
const char *model_arch_name(enum model_arch arch);
int model_arch_parse(const char *name, enum model_arch *out);
const char *model_solver_name(enum model_solver solver);
int model_solver_parse(const char *name, enum model_solver *out);
/* Checks every field; one line into err when something is out of range. */
int model_config_check(const struct model_config *cfg, char *err, size_t errlen);

/* Shape choices a command line makes over an architecture's defaults; 0 or
 * NULL keeps the default. A new odernn hidden size also widens its ODE
 * unless ode_hidden is given: the ODE is as wide as its state by default. */
struct model_shape {
	int hidden, ode_hidden, rk4_steps;
	const char *solver; /* "rk4" or "dopri5" */
};
int model_config_reshape(struct model_config *cfg, const struct model_shape *shape, char *err,
			 size_t errlen);

struct model;           /* opaque: config plus one contiguous float parameter array */
struct model_ws;        /* opaque: per-thread scratch, sized for a maximum batch */

/* Loading and saving (safetensors). Errors: return -1 and write one line
 * naming what is wrong into err. */
int model_load(const char *path, struct model **out, char *err, size_t errlen);
int model_save(const struct model *m, const char *path, char *err, size_t errlen);
/* The same from a whole file held in memory (errors do not name a file). */
int model_load_buffer(const void *buf, size_t len, struct model **out, char *err, size_t errlen);
/* A new network with freshly initialised parameters (PyTorch's default
 * initialisation scheme), deterministic for a seed. Trees are not
 * initialised but trained (user/train/train_trees.h): -1 for them. */
int model_create(const struct model_config *cfg, uint64_t seed, struct model **out,
		 char *err, size_t errlen);
void model_free(struct model *m);

const struct model_config *model_config(const struct model *m);
/* All parameters, contiguous; gradients use the same layout. */
float *model_params(struct model *m, size_t *count);

/* A workspace for batches of up to max_batch windows (NULL when out of
 * memory). It also sets OpenBLAS to one thread: the engine's matrices are
 * small, and callers run their own threads, one workspace each. The
 * training tape is allocated by the first model_loss_grad call. */
struct model_ws *model_ws_new(const struct model *m, int max_batch);
void model_ws_free(struct model_ws *ws);

/* Classify B windows. sizes: B*N IP total lengths in bytes; times: B*N
 * arrival times in seconds (any origin, non-decreasing within a window).
 * logprobs: B*num_classes natural-log probabilities. B <= max_batch of ws.
 * Returns 0, or -1 if an input is invalid (not finite, size negative or above
 * 65535, time decreasing) or batch is out of range, or the model breaks
 * down on it (dopri5 exceeds its step budget, an overflow to Inf or NaN). */
int model_classify(const struct model *m, struct model_ws *ws, int batch,
		   const float *sizes, const double *times, float *logprobs);
/* The same, window by window: a row that is invalid or that the model breaks
 * down on fails alone (failed[b] true, its logprobs NaN) and the others are
 * classified as they would be without it. failed may be NULL. Returns the
 * number of failed rows, or -1 if batch is out of range. */
int model_classify_rows(const struct model *m, struct model_ws *ws, int batch,
			const float *sizes, const double *times, float *logprobs, bool *failed);

/* Runs the model on windows shaped like real traffic (every size from a
 * bare ACK to a full MTU, gaps from none to minutes): a model whose finite
 * weights still overflow on them would fail every window it is given.
 * Errors: -1 and one line in err. */
int model_self_check(const struct model *m, char *err, size_t errlen);

/* Training: forward and backward over B labelled windows. Returns the mean
 * cross-entropy loss; adds d(loss)/d(params) into grads (model_params layout);
 * writes logits (B*num_classes) if logits is not NULL. Uses the model's
 * solver discretised as RK4 (backpropagation through the RK4 steps).
 * Returns NAN for invalid input or labels, when the training tape cannot be
 * allocated, or for a model without a gradient (trees). */
float model_loss_grad(const struct model *m, struct model_ws *ws, int batch,
		      const float *sizes, const double *times, const int *labels,
		      float *grads, float *logits);

/* Bytes of workspace model_classify needs per window, in batches of batch. */
size_t model_ws_bytes(const struct model *m, int batch);

/* Whether model_loss_grad can train this model (the networks, not trees). */
int model_has_gradient(const struct model *m);

#endif
