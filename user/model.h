/* SPDX-License-Identifier: MIT */
/* The classifier engine: one window (N packet sizes and N arrival times of
 * one flow direction) in, class log-probabilities out. No global state: a
 * model is read-only once loaded and may be shared by threads; each thread
 * brings its own workspace. This is the only forward pass in the project:
 * the agent, the trainer and the offline tools all call it. */
#ifndef ODEFLOW_MODEL_H
#define ODEFLOW_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define MODEL_MAX_CLASSES 16
#define MODEL_MAX_WINDOW 64

enum model_arch { ARCH_ODERNN, ARCH_LSTM_ODE, ARCH_LSTM };
enum model_solver { SOLVER_RK4, SOLVER_DOPRI5 };

struct model_config {
	enum model_arch arch;
	int hidden;          /* odernn: GRU/ODE state size (8..128); lstm: LSTM hidden size */
	int ode_hidden;      /* width of the ODE function's hidden layer */
	int window;          /* N, packets per window (2..64) */
	enum model_solver solver;
	int rk4_steps;       /* RK4 substeps per inter-arrival interval */
	double rtol, atol;   /* dopri5 tolerances */
	int num_classes;
	char class_names[MODEL_MAX_CLASSES][32];
	char transform[32];  /* feature transform name and version, e.g. "odeflow-v1" */
	uint32_t model_id;
};

struct model;           /* opaque: config plus one contiguous float parameter array */
struct model_ws;        /* opaque: per-thread scratch, sized for a maximum batch */

/* Loading and saving (safetensors). Errors: return -1 and write one line
 * naming what is wrong into err. */
int model_load(const char *path, struct model **out, char *err, size_t errlen);
int model_save(const struct model *m, const char *path, char *err, size_t errlen);
/* A new model with freshly initialised parameters (PyTorch's default
 * initialisation scheme), deterministic for a seed. */
int model_create(const struct model_config *cfg, uint64_t seed, struct model **out,
		 char *err, size_t errlen);
void model_free(struct model *m);

const struct model_config *model_config(const struct model *m);
/* All parameters, contiguous; gradients use the same layout. */
float *model_params(struct model *m, size_t *count);

struct model_ws *model_ws_new(const struct model *m, int max_batch);
void model_ws_free(struct model_ws *ws);

/* Classify B windows. sizes: B*N IP total lengths in bytes; times: B*N
 * arrival times in seconds (any origin, non-decreasing within a window).
 * logprobs: B*num_classes natural-log probabilities. B <= max_batch of ws.
 * Returns 0, or -1 if an input is invalid (NaN, negative size, decreasing time). */
int model_classify(const struct model *m, struct model_ws *ws, int batch,
		   const float *sizes, const double *times, float *logprobs);

/* Training: forward and backward over B labelled windows. Returns the mean
 * cross-entropy loss; adds d(loss)/d(params) into grads (model_params layout);
 * writes logits (B*num_classes) if logits is not NULL. Uses the model's
 * solver discretised as RK4 (backpropagation through the RK4 steps). */
float model_loss_grad(const struct model *m, struct model_ws *ws, int batch,
		      const float *sizes, const double *times, const int *labels,
		      float *grads, float *logits);

#endif
