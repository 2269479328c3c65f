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

#include "common/window_start.h"

#define MODEL_MAX_MEMBERS 8

/* An architecture is its arch_*.c file and its line in model.c's table;
 * commands list and parse them from there. */
enum model_arch {
	ARCH_ODERNN, ARCH_LSTM_ODE, ARCH_LSTM, ARCH_ODERNN_EMB, ARCH_TREES, MODEL_ARCH_COUNT
};
enum model_solver { SOLVER_RK4, SOLVER_DOPRI5, MODEL_SOLVER_COUNT };
/* How a model tells a window it should not name (the outcome Unknown,
 * engine/unknown.c): none; how unsure it is, 1 - its calibrated top
 * probability (any model); or, for a network, the Mahalanobis distance of
 * its hidden state to the states of its training windows of the class it
 * names. */
enum model_unknown {
	UNKNOWN_NONE, UNKNOWN_CONFIDENCE, UNKNOWN_MAHALANOBIS, MODEL_UNKNOWN_COUNT
};

/* The five classes of the ISCX data and the shipped models, in label
 * order: once as the names, once as the text that lists them (help and
 * error messages). */
#define ISCX_CLASS_NAMES "VoIP", "Video", "File_Transfer", "Chat", "Browsing"
#define ISCX_CLASS_LIST "VoIP, Video, File_Transfer, Chat, Browsing"

/* The outcome Unknown: what a connection is called when its windows are
 * unlike what the model learnt (model_is_unknown). Wherever the product
 * names a connection's outcome (verdicts, policy, flows, stats, top,
 * events, metrics, IPFIX) it follows the model's classes, as class id
 * num_classes; no class of a model may take its name. */
#define MODEL_UNKNOWN_NAME "Unknown"

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
	char class_names[ODEFLOW_MAX_CLASSES][ODEFLOW_CLASS_NAME_LEN];
	char transform[32];  /* feature transform name and version, e.g. "odeflow-v1";
			      * each architecture has its own */
	double temperature;  /* model_classify divides the logits by it (calibration:
			      * 1 leaves them; metadata "temperature", 1 when absent) */
	int members;         /* an ensemble of this many networks of this configuration,
			      * each with its own weights (tensors "m0.", "m1.", ...);
			      * its logits are the mean of theirs log-softmaxed
			      * (metadata "members", 1 when absent) */
	uint32_t model_id;
	struct window_start window_start; /* where its training windows started */
	enum model_unknown unknown;  /* the networks: its Unknown score (metadata "unknown",
				      * none when absent) */
	double unknown_threshold;    /* a window whose score is above it is Unknown
				      * (metadata "unknown_threshold"; absent: +inf,
				      * never); fitted on held-out applications by
				      * odeflow calibrate */
	/* trees only (0 for the networks, whose fields above trees ignore): */
	int trees;           /* boosted trees, a multiple of num_classes */
	int nodes;           /* nodes of all trees together */
};

/* The defaults for an architecture (one member): odernn hidden 32 (M = 32),
 * RK4 with 2 substeps; odernn-emb hidden 32, M = 32, RK4 with 1 substep; lstm-ode as
 * the ODE-Flow notebook (hidden 1, ODE width 32, dopri5 at rtol 1e-7, atol
 * 1e-9); lstm hidden 1; trees a single leaf per class. All with window 20,
 * the five ISCX classes (VoIP, Video, File_Transfer, Chat, Browsing), the
 * architecture's transform, temperature 1, model_id 0 and window_start
 * "any" (windows from anywhere in a session, as the ISCX data). */
void model_config_defaults(enum model_arch arch, struct model_config *cfg);
/* Names as in model files ("odernn", "lstm-ode", "lstm", "odernn-emb",
 * "trees"; "rk4", "dopri5");
 * the parsers return -1 for an unknown name. */
const char *model_arch_name(enum model_arch arch);
int model_arch_parse(const char *name, enum model_arch *out);
/* What the architecture is, in a few words ("discretised inputs"), or
 * NULL when its name says enough. */
const char *model_arch_about(enum model_arch arch);
/* Whether model_create makes one (trees are trained, not initialised). */
bool model_arch_creatable(enum model_arch arch);
const char *model_solver_name(enum model_solver solver);
int model_solver_parse(const char *name, enum model_solver *out);
/* How many outcomes a connection of this model may get: its classes, then
 * Unknown (id num_classes) when there is room for it (fewer than
 * ODEFLOW_MAX_CLASSES classes; a model with an Unknown score always has
 * it). A model without an Unknown score never gives it, but it is listed,
 * so a policy file or a dashboard that names it works with any model. */
int model_outcomes(const struct model_config *cfg);
/* The name of outcome id (a class or MODEL_UNKNOWN_NAME); "?" out of range. */
const char *model_outcome_name(const struct model_config *cfg, int id);
/* "none", "confidence", "mahalanobis" */
const char *model_unknown_name(enum model_unknown u);
int model_unknown_parse(const char *name, enum model_unknown *out);
/* Checks every field; one line into err when something is out of range. */
int model_config_check(const struct model_config *cfg, char *err, size_t errlen);

/* Shape choices a command line makes over an architecture's defaults; 0 or
 * NULL keeps the default. A new odernn hidden size also widens its ODE
 * unless ode_hidden is given: the ODE is as wide as its state by default. */
struct model_shape {
	int hidden, ode_hidden, rk4_steps, members;
	const char *solver; /* "rk4" or "dopri5" */
	const char *unknown; /* "none", "confidence" or "mahalanobis" */
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
 * initialisation scheme), deterministic for a seed; an ensemble's members
 * are initialised one after the other from the same stream. Trees are not
 * initialised but trained (user/train/train_trees.h): -1 for them. */
int model_create(const struct model_config *cfg, uint64_t seed, struct model **out,
		 char *err, size_t errlen);
/* Sets what an architecture derives from its training data rather than
 * learns (odernn-emb: the size bucket edges, quantiles of the count packet
 * sizes), in every member. Other architectures: nothing. Call before
 * training. */
void model_init_inputs(struct model *m, const float *sizes, size_t count);
/* Copies the parameters of a one-member model of the same configuration
 * into member k of an ensemble (how fit_model assembles one). */
int model_set_member(struct model *m, int k, const struct model *member, char *err,
		     size_t errlen);
/* Member k of an ensemble as a model of its own (a copy: one member,
 * the same configuration otherwise); how fit_model trains each member of
 * a model it fine-tunes. */
int model_get_member(const struct model *m, int k, struct model **out, char *err,
		     size_t errlen);
void model_free(struct model *m);

/* Fine-tuning starts from a trained model. For each class of `to`, the
 * class of `from` of the same name: row_of[c] is its index there, or -1.
 * Returns how many of to's classes from knows. */
int model_class_rows(const struct model_config *from, const struct model_config *to,
		     int row_of[ODEFLOW_MAX_CLASSES]);
/* A model of configuration cfg starting from src's parameters, for
 * fine-tuning: cfg must be src's architecture, window and shape (every
 * field but the classes, temperature, model id and window_start). Every
 * tensor is copied, frozen ones too (odernn-emb keeps its size bucket
 * edges: its embeddings were learnt for them); in the tensors whose rows
 * are the classes (the last layer of the head), a class of cfg keeps the
 * row of src's class of the same name and a new class gets a fresh row,
 * initialised as model_create would for this seed. The temperature is
 * cfg's (re-fit it after training). Errors (-1, one line): a model
 * without a gradient (trees), another architecture, window or shape. */
int model_transfer(const struct model *src, const struct model_config *cfg, uint64_t seed,
		   struct model **out, char *err, size_t errlen);

const struct model_config *model_config(const struct model *m);
/* Sets the calibration temperature (0.01..100); -1 with err when out of range. */
int model_set_temperature(struct model *m, double temperature, char *err, size_t errlen);
/* Sets the Unknown threshold (finite, or +inf: never Unknown); -1 with err
 * for a model without an Unknown score or a NaN. */
int model_set_unknown_threshold(struct model *m, double threshold, char *err, size_t errlen);
/* Whether a window of this score is Unknown (never for a model without an
 * Unknown score; always for a window the model failed on, score NaN). */
bool model_is_unknown(const struct model *m, float score);
/* All parameters, contiguous (an ensemble: member after member); gradients
 * use the same layout. */
float *model_params(struct model *m, size_t *count);
/* NULL, or one byte per parameter: 1 for those training must leave alone
 * (they get no gradient and no weight decay: odernn-emb's bucket edges). */
const unsigned char *model_frozen(const struct model *m);

/* A workspace for batches of up to max_batch windows (NULL when out of
 * memory). It also sets OpenBLAS to one thread: the engine's matrices are
 * small, and callers run their own threads, one workspace each. The
 * training tape is allocated by the first model_loss_grad call. A
 * workspace also holds what inference precomputes from the parameters
 * (odernn-emb: its embeddings folded through the GRU's input weights), so
 * model_classify serves the parameters the model had when the workspace
 * was made: after changing them, make a new workspace. */
struct model_ws *model_ws_new(const struct model *m, int max_batch);
void model_ws_free(struct model_ws *ws);

/* Classify B windows. sizes: B*N IP total lengths in bytes; times: B*N
 * arrival times in seconds (any origin, non-decreasing within a window).
 * logprobs: B*num_classes natural-log probabilities of the logits divided
 * by the model's temperature. B <= max_batch of ws.
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

/* model_classify_rows and each window's Unknown score (unknown[b]: higher
 * is less like the training windows; model_is_unknown compares it with the
 * model's threshold): 0 for a model without one, NaN for a failed row.
 * unknown may be NULL. */
int model_classify_scored(const struct model *m, struct model_ws *ws, int batch,
			  const float *sizes, const double *times, float *logprobs,
			  float *unknown, bool *failed);

/* What the Unknown score reads, for studies of it (odeflow eval --states):
 * each member's raw logits (logits[k][b][c], no temperature) and its
 * hidden state, the input of its head (states[k][b][d], d < model_state_dim:
 * the last and the mean state). Returns -1 for an architecture without one
 * (trees, lstm, lstm-ode), an invalid window or a batch out of range. */
int model_states(const struct model *m, struct model_ws *ws, int batch, const float *sizes,
		 const double *times, float *logits, float *states);
/* The size of that state; 0 for an architecture without one. */
int model_state_dim(const struct model *m);

/* Fits what the Mahalanobis score of m compares a window with: each
 * member's hidden state over the n labelled training windows, its mean in
 * each class and their shared covariance. A class without windows is as far
 * as can be (a window named so is always Unknown). Nothing to do for any
 * other score. Errors: -1 and one line. */
int model_fit_unknown(struct model *m, size_t n, const float *sizes, const double *times,
		      const int *labels, char *err, size_t errlen);

/* Runs the model on windows shaped like real traffic (every size from a
 * bare ACK to a full MTU, gaps from none to minutes): a model whose finite
 * weights still overflow on them would fail every window it is given.
 * Errors: -1 and one line in err. */
int model_self_check(const struct model *m, char *err, size_t errlen);

/* What training adds to a forward pass; all zero: none of it. */
struct loss_options {
	float label_smoothing;  /* the target puts this much mass evenly on all classes */
	float dropout;          /* share of the head's hidden units zeroed (architectures
				 * with a dropout layer: odernn-emb) */
	uint64_t seed;          /* the dropout mask's; give each call its own */
};

/* Training: forward and backward over B labelled windows. Returns the mean
 * cross-entropy loss (against label-smoothed targets if asked; an
 * ensemble: the mean of its members' losses, each member trained on its
 * own logits); adds
 * d(loss)/d(params) into grads (model_params layout); writes the raw
 * logits (B*num_classes, no temperature) if logits is not NULL. Uses the
 * model's solver discretised as RK4 (backpropagation through the RK4
 * steps). lo may be NULL (plain cross-entropy, no dropout). Returns NAN for
 * invalid input or labels, when the training tape cannot be allocated, or
 * for a model without a gradient (trees). */
float model_loss_grad(const struct model *m, struct model_ws *ws, int batch,
		      const float *sizes, const double *times, const int *labels,
		      const struct loss_options *lo, float *grads, float *logits);

/* Bytes of workspace model_classify needs per window, in batches of batch. */
size_t model_ws_bytes(const struct model *m, int batch);

/* Whether model_loss_grad can train this model (the networks, not trees). */
int model_has_gradient(const struct model *m);

#endif
