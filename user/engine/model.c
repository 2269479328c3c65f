// SPDX-License-Identifier: MIT
/* The engine: configuration, parameters, workspaces, and the calls every
 * user of a model makes (classify, loss and gradient). The layers are in
 * nn.c, the solvers in ode.c, the architectures in arch_*.c, the file
 * format in safetensors.c and model_file.c. */
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arch.h"
#include "window_features.h"
#include "nn.h"
#include "common/errmsg.h"
#include "common/rng.h"

static const struct arch_ops *const arch_table[] = {
	[ARCH_ODERNN] = &arch_odernn,
	[ARCH_LSTM_ODE] = &arch_lstm_ode,
	[ARCH_LSTM] = &arch_lstm,
	[ARCH_ODERNN_EMB] = &arch_odernn_emb,
	[ARCH_TREES] = &arch_trees,
};
static const char *const solver_names[] = { [SOLVER_RK4] = "rk4", [SOLVER_DOPRI5] = "dopri5" };
static const char *const unknown_names[] = {
	[UNKNOWN_NONE] = "none", [UNKNOWN_CONFIDENCE] = "confidence",
	[UNKNOWN_MAHALANOBIS] = "mahalanobis",
};
#define COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))
_Static_assert(COUNT(arch_table) == MODEL_ARCH_COUNT, "every architecture has its line");
_Static_assert(COUNT(solver_names) == MODEL_SOLVER_COUNT, "every solver has its name");
_Static_assert(COUNT(unknown_names) == MODEL_UNKNOWN_COUNT, "every Unknown score has its name");

const char *model_arch_name(enum model_arch arch)
{
	return (int)arch >= 0 && (int)arch < COUNT(arch_table) ? arch_table[arch]->name : "?";
}

const char *model_arch_about(enum model_arch arch)
{
	return (int)arch >= 0 && (int)arch < COUNT(arch_table) ? arch_table[arch]->about : NULL;
}

bool model_arch_creatable(enum model_arch arch)
{
	return (int)arch >= 0 && (int)arch < COUNT(arch_table) && arch_table[arch]->backward;
}

int model_arch_parse(const char *name, enum model_arch *out)
{
	for (int i = 0; i < COUNT(arch_table); i++)
		if (!strcmp(name, arch_table[i]->name))
			return *out = (enum model_arch)i, 0;
	return -1;
}

const char *model_solver_name(enum model_solver solver)
{
	return (int)solver >= 0 && (int)solver < COUNT(solver_names) ? solver_names[solver] : "?";
}

int model_solver_parse(const char *name, enum model_solver *out)
{
	for (int i = 0; i < COUNT(solver_names); i++)
		if (!strcmp(name, solver_names[i]))
			return *out = (enum model_solver)i, 0;
	return -1;
}

const char *model_unknown_name(enum model_unknown u)
{
	return (int)u >= 0 && (int)u < COUNT(unknown_names) ? unknown_names[u] : "?";
}

int model_unknown_parse(const char *name, enum model_unknown *out)
{
	for (int i = 0; i < COUNT(unknown_names); i++)
		if (!strcmp(name, unknown_names[i]))
			return *out = (enum model_unknown)i, 0;
	return -1;
}

void model_config_defaults(enum model_arch arch, struct model_config *cfg)
{
	static const char *const iscx[] = { ISCX_CLASS_NAMES };

	memset(cfg, 0, sizeof(*cfg));
	cfg->arch = arch;
	cfg->hidden = arch == ARCH_ODERNN || arch == ARCH_ODERNN_EMB ? 32 : 1;
	/* the smallest trees model, one leaf per class: training replaces it */
	cfg->trees = cfg->nodes = arch == ARCH_TREES ? COUNT(iscx) : 0;
	cfg->ode_hidden = 32;
	cfg->window = ODEFLOW_DEFAULT_WINDOW;
	cfg->solver = arch == ARCH_LSTM_ODE ? SOLVER_DOPRI5 : SOLVER_RK4;
	cfg->rk4_steps = arch == ARCH_ODERNN_EMB ? 1 : 2;
	cfg->temperature = 1;
	cfg->unknown_threshold = INFINITY;
	cfg->members = 1;
	cfg->rtol = 1e-7;
	cfg->atol = 1e-9;
	cfg->num_classes = COUNT(iscx);
	for (int i = 0; i < COUNT(iscx); i++)
		snprintf(cfg->class_names[i], sizeof(cfg->class_names[i]), "%s", iscx[i]);
	snprintf(cfg->transform, sizeof(cfg->transform), "%s", arch_table[arch]->transform);
}

int model_config_reshape(struct model_config *cfg, const struct model_shape *shape, char *err,
			 size_t errlen)
{
	if (shape->hidden)
		cfg->hidden = shape->hidden;
	if (shape->ode_hidden)
		cfg->ode_hidden = shape->ode_hidden;
	else if (shape->hidden && (cfg->arch == ARCH_ODERNN || cfg->arch == ARCH_ODERNN_EMB))
		cfg->ode_hidden = shape->hidden;
	if (shape->rk4_steps)
		cfg->rk4_steps = shape->rk4_steps;
	if (shape->members)
		cfg->members = shape->members;
	if (shape->solver && model_solver_parse(shape->solver, &cfg->solver))
		return errmsg(err, errlen, "solver '%s' is not rk4 or dopri5", shape->solver);
	if (shape->unknown && model_unknown_parse(shape->unknown, &cfg->unknown))
		return errmsg(err, errlen, "Unknown score '%s' is not none, confidence or "
			      "mahalanobis", shape->unknown);
	return 0;
}

int model_config_check(const struct model_config *c, char *err, size_t errlen)
{
	if ((int)c->arch < 0 || (int)c->arch >= COUNT(arch_table))
		return errmsg(err, errlen, "unknown architecture %d", (int)c->arch);
	if (c->window < 2 || c->window > ODEFLOW_MAX_WINDOW)
		return errmsg(err, errlen, "window %d is outside 2..%d", c->window,
			      ODEFLOW_MAX_WINDOW);
	if ((int)c->solver < 0 || (int)c->solver >= COUNT(solver_names))
		return errmsg(err, errlen, "unknown solver %d", (int)c->solver);
	if (c->rk4_steps < 1 || c->rk4_steps > 64)
		return errmsg(err, errlen, "rk4_steps %d is outside 1..64", c->rk4_steps);
	if (!(c->rtol > 0 && c->rtol < 1) || !(c->atol > 0 && c->atol < 1))
		return errmsg(err, errlen, "rtol %g and atol %g must be in (0, 1)", c->rtol,
			      c->atol);
	if (c->num_classes < 2 || c->num_classes > ODEFLOW_MAX_CLASSES)
		return errmsg(err, errlen, "%d classes is outside 2..%d", c->num_classes,
			      ODEFLOW_MAX_CLASSES);
	for (int i = 0; i < c->num_classes; i++) {
		const char *name = c->class_names[i];

		if (!name[0] || !memchr(name, 0, sizeof(c->class_names[i])))
			return errmsg(err, errlen,
				      "class %d has an empty name or one of 32 bytes or more", i);
		for (int j = 0; j < i; j++)
			if (!strcmp(name, c->class_names[j]))
				return errmsg(err, errlen, "class name '%s' appears twice", name);
		if (!strcasecmp(name, MODEL_UNKNOWN_NAME))
			return errmsg(err, errlen, "class name '%s' is the outcome of windows the "
				      "model does not know, not a class", name);
	}
	if (strncmp(c->transform, arch_table[c->arch]->transform, sizeof(c->transform)))
		return errmsg(err, errlen,
			      "unknown feature transform '%.31s' (this build's %s takes %s)",
			      c->transform, arch_table[c->arch]->name,
			      arch_table[c->arch]->transform);
	if (c->members < 1 || c->members > MODEL_MAX_MEMBERS)
		return errmsg(err, errlen, "%d members is outside 1..%d", c->members,
			      MODEL_MAX_MEMBERS);
	if (!(c->temperature >= 0.01 && c->temperature <= 100))
		return errmsg(err, errlen, "temperature %g is outside 0.01..100", c->temperature);
	if ((int)c->unknown < 0 || (int)c->unknown >= COUNT(unknown_names))
		return errmsg(err, errlen, "unknown Unknown score %d", (int)c->unknown);
	if (c->unknown == UNKNOWN_MAHALANOBIS && !arch_table[c->arch]->head_input)
		return errmsg(err, errlen, "%s has no hidden state for the Unknown score %s",
			      arch_table[c->arch]->name, unknown_names[c->unknown]);
	if (c->unknown != UNKNOWN_NONE && c->num_classes >= ODEFLOW_MAX_CLASSES)
		return errmsg(err, errlen, "a model with an Unknown score has at most %d classes "
			      "(the outcome %s takes the last id)", ODEFLOW_MAX_CLASSES - 1,
			      MODEL_UNKNOWN_NAME);
	if (isnan(c->unknown_threshold))
		return errmsg(err, errlen, "the Unknown threshold is not a number");
	return arch_table[c->arch]->check(c, err, errlen);
}

int model_tensor_specs(const struct model_config *cfg, struct tensor_spec *t)
{
	const struct arch_ops *ops = arch_table[cfg->arch];
	int n = ops->tensors(cfg, t);

	if (cfg->unknown == UNKNOWN_MAHALANOBIS)
		unknown_tensors(cfg, ops->state_dim(cfg), t, &n);
	return n;
}

/* A model with its tensors laid out and parameters zeroed. */
int model_alloc(const struct model_config *cfg, struct model **out, char *err, size_t errlen)
{
	struct model *m;

	*out = NULL;
	if (model_config_check(cfg, err, errlen))
		return -1;
	m = calloc(1, sizeof(*m));
	if (!m)
		return errmsg(err, errlen, "out of memory");
	m->cfg = *cfg;
	m->ops = arch_table[cfg->arch];
	m->ntensors = model_tensor_specs(cfg, m->tensors);
	m->member_params = m->tensors[m->ntensors - 1].offset + m->tensors[m->ntensors - 1].count;
	m->nparams = m->member_params * cfg->members;
	m->params = calloc(m->nparams, sizeof(float));
	if (!m->params) {
		errmsg(err, errlen, "out of memory for %zu parameters", m->nparams);
		free(m);
		return -1;
	}
	for (int t = 0; t < m->ntensors; t++) {
		const struct tensor_spec *s = &m->tensors[t];

		if (!s->frozen)
			continue;
		if (!m->frozen && !(m->frozen = calloc(m->nparams, 1))) {
			errmsg(err, errlen, "out of memory for %zu parameters", m->nparams);
			model_free(m);
			return -1;
		}
		for (int k = 0; k < cfg->members; k++)
			memset(m->frozen + k * m->member_params + s->offset, 1, s->count);
	}
	*out = m;
	return 0;
}

void model_member(const struct model *m, int k, struct model *member)
{
	*member = *m;
	member->cfg.members = 1;
	member->nparams = m->member_params;
	member->params = m->params + (size_t)k * m->member_params;
	member->frozen = m->frozen ? m->frozen + (size_t)k * m->member_params : NULL;
}

int model_set_member(struct model *m, int k, const struct model *member, char *err,
		     size_t errlen)
{
	struct model_config a = m->cfg, b = member->cfg;

	/* the same configuration but for the member count and the id */
	a.members = b.members = 1;
	a.model_id = b.model_id = 0;
	if (k < 0 || k >= m->cfg.members || memcmp(&a, &b, sizeof(a)))
		return errmsg(err, errlen, "member %d does not fit the ensemble", k);
	memcpy(m->params + (size_t)k * m->member_params, member->params,
	       m->member_params * sizeof(float));
	return 0;
}

int model_get_member(const struct model *m, int k, struct model **out, char *err,
		     size_t errlen)
{
	struct model_config one = m->cfg;

	*out = NULL;
	if (k < 0 || k >= m->cfg.members)
		return errmsg(err, errlen, "member %d of %d does not exist", k, m->cfg.members);
	one.members = 1;
	if (model_alloc(&one, out, err, errlen))
		return -1;
	memcpy((*out)->params, m->params + (size_t)k * m->member_params,
	       m->member_params * sizeof(float));
	return 0;
}

int model_check_params(const struct model *m, char *err, size_t errlen)
{
	for (int k = 0; k < m->cfg.members; k++) {
		struct model member;

		model_member(m, k, &member);
		for (int t = 0; t < member.ntensors; t++) {
			const struct tensor_spec *s = &member.tensors[t];
			const float *p = member.params + s->offset;

			for (size_t i = 0; s->dtype == TENSOR_F32 && i < s->count; i++)
				if (!isfinite(p[i])) {
					char name[48];

					/* as in the file: an ensemble's member k prefixes "mK." */
					if (m->cfg.members > 1)
						snprintf(name, sizeof(name), "m%d.%s", k, s->name);
					else
						snprintf(name, sizeof(name), "%s", s->name);
					return errmsg(err, errlen, "tensor '%s' element %zu is %g",
						      name, i,
						      p[i]);
				}
		}
		if (m->ops->check_params && m->ops->check_params(&member, err, errlen))
			return -1;
	}
	return 0;
}

int model_create(const struct model_config *cfg, uint64_t seed, struct model **out,
		 char *err, size_t errlen)
{
	struct rng rng = { seed };

	*out = NULL;
	if ((int)cfg->arch >= 0 && (int)cfg->arch < COUNT(arch_table) &&
	    !arch_table[cfg->arch]->backward) {
		return errmsg(err, errlen,
			      "%s models are trained, not initialised: odeflow train --arch %s",
			      arch_table[cfg->arch]->name, arch_table[cfg->arch]->name);
	}
	if (model_alloc(cfg, out, err, errlen))
		return -1;
	for (int k = 0; k < cfg->members; k++)
		for (int t = 0; t < (*out)->ntensors; t++) {
			const struct tensor_spec *s = &(*out)->tensors[t];
			float *p = (*out)->params + k * (*out)->member_params + s->offset;

			for (size_t i = 0; i < s->count; i++) {
				float u = (float)(rng_next(&rng) >> 40) * 0x1p-24f; /* [0, 1) */

				p[i] = (2.0f * u - 1.0f) * s->init_bound;
			}
		}
	model_init_inputs(*out, NULL, 0);
	return 0;
}

void model_init_inputs(struct model *m, const float *sizes, size_t count)
{
	for (int k = 0; m->ops->init_inputs && k < m->cfg.members; k++) {
		struct model member;

		model_member(m, k, &member);
		m->ops->init_inputs(&member, sizes, count);
	}
}

void model_free(struct model *m)
{
	if (!m)
		return;
	free(m->params);
	free(m->frozen);
	free(m);
}

const struct model_config *model_config(const struct model *m)
{
	return &m->cfg;
}

int model_set_unknown_threshold(struct model *m, double threshold, char *err, size_t errlen)
{
	if (m->cfg.unknown == UNKNOWN_NONE)
		return errmsg(err, errlen, "the model has no Unknown score");
	if (isnan(threshold))
		return errmsg(err, errlen, "the Unknown threshold is not a number");
	m->cfg.unknown_threshold = threshold;
	return 0;
}

int model_outcomes(const struct model_config *cfg)
{
	return cfg->num_classes < ODEFLOW_MAX_CLASSES ? cfg->num_classes + 1 : cfg->num_classes;
}

const char *model_outcome_name(const struct model_config *cfg, int id)
{
	if (id < 0 || id >= model_outcomes(cfg))
		return "?";
	return id < cfg->num_classes ? cfg->class_names[id] : MODEL_UNKNOWN_NAME;
}

bool model_is_unknown(const struct model *m, float score)
{
	return m->cfg.unknown != UNKNOWN_NONE && !(score <= m->cfg.unknown_threshold);
}

int model_set_temperature(struct model *m, double temperature, char *err, size_t errlen)
{
	struct model_config c = m->cfg;

	c.temperature = temperature;
	if (model_config_check(&c, err, errlen))
		return -1;
	m->cfg.temperature = temperature;
	return 0;
}

float *model_params(struct model *m, size_t *count)
{
	if (count)
		*count = m->nparams;
	return m->params;
}

const unsigned char *model_frozen(const struct model *m)
{
	return m->frozen;
}

/* An ensemble's members each have their own part of infer and train,
 * member_infer and member_train floats apart. */
struct model_ws {
	int max_batch;
	float *infer;        /* forward passes of model_classify */
	float *train;        /* the tape and backward buffers, on first use */
	float *logits, *dlogits, *sum;
	float *z;            /* the Unknown score's whitened states [members][B][D] */
	size_t member_infer, member_train;
	/* model_classify_rows: a batch with its invalid rows replaced */
	float *clean_sizes;
	double *clean_times;
	bool *failed;
};

/* Once per process: workspaces are made by several threads at once, and
 * OpenBLAS's thread-count setting is not meant to be raced. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_one_thread(void)
{
	openblas_set_num_threads(1);
}

static float *alloc_floats(size_t n)
{
	size_t bytes = ((n * sizeof(float)) + 63) & ~(size_t)63;
	float *p = aligned_alloc(64, bytes ? bytes : 64);

	if (p)
		memset(p, 0, bytes);
	return p;
}

struct model_ws *model_ws_new(const struct model *m, int max_batch)
{
	struct model_ws *ws;
	size_t C = m->cfg.num_classes;

	if (max_batch < 1 || max_batch > (1 << 20))
		return NULL;
	pthread_once(&blas_once, blas_one_thread);
	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return NULL;
	ws->max_batch = max_batch;
	/* 64-byte aligned parts: each member's buffers stay aligned */
	ws->member_infer = (m->ops->ws_floats(m, max_batch, false) + 15) & ~(size_t)15;
	ws->infer = alloc_floats(ws->member_infer * m->cfg.members);
	ws->logits = alloc_floats(max_batch * C);
	ws->dlogits = alloc_floats(max_batch * C);
	ws->sum = alloc_floats(max_batch * C);
	ws->z = alloc_floats(unknown_ws_floats(m, max_batch));
	ws->clean_sizes = calloc((size_t)max_batch * m->cfg.window, sizeof(float));
	ws->clean_times = calloc((size_t)max_batch * m->cfg.window, sizeof(double));
	ws->failed = calloc((size_t)max_batch, sizeof(bool));
	if (!ws->infer || !ws->logits || !ws->dlogits || !ws->sum || !ws->z || !ws->clean_sizes ||
	    !ws->clean_times || !ws->failed) {
		model_ws_free(ws);
		return NULL;
	}
	for (int k = 0; m->ops->prepare && k < m->cfg.members; k++) {
		struct model member;

		model_member(m, k, &member);
		m->ops->prepare(&member, ws->infer + k * ws->member_infer);
	}
	return ws;
}

void model_ws_free(struct model_ws *ws)
{
	if (!ws)
		return;
	free(ws->infer);
	free(ws->train);
	free(ws->logits);
	free(ws->dlogits);
	free(ws->sum);
	free(ws->z);
	free(ws->clean_sizes);
	free(ws->clean_times);
	free(ws->failed);
	free(ws);
}

size_t model_ws_bytes(const struct model *m, int batch)
{
	size_t floats = m->ops->ws_floats(m, batch, false) * m->cfg.members +
			3 * (size_t)batch * m->cfg.num_classes + unknown_ws_floats(m, batch);

	return floats * sizeof(float) / batch;
}

/* An ensemble's logits: the mean of its members' log-probabilities. With
 * z (a model with an Unknown score), each member's whitened state too: row
 * b of member k at z + (k * zB + b) * D. */
static int ensemble_forward(const struct model *m, struct model_ws *ws, int batch,
			    const float *sizes, const double *times, float *logits, float *z,
			    int zB)
{
	const int C = m->cfg.num_classes, K = m->cfg.members;
	const size_t n = (size_t)batch * C;

	if (K == 1 && !z)
		return m->ops->forward(m, ws->infer, batch, false, NULL, sizes, times, logits);
	memset(ws->sum, 0, n * sizeof(float));
	for (int k = 0; k < K; k++) {
		struct model member;
		float *infer = ws->infer + k * ws->member_infer;

		model_member(m, k, &member);
		if (m->ops->forward(&member, infer, batch, false, NULL, sizes, times,
				    K == 1 ? logits : ws->logits))
			return -1;
		if (z)
			unknown_project(&member, m->ops->head_input(&member, infer, batch), batch,
					z + (size_t)k * zB * m->ops->state_dim(&m->cfg));
		if (K == 1)
			return 0;
		log_softmax(ws->logits, ws->logits, batch, C);
		for (size_t i = 0; i < n; i++)
			ws->sum[i] += ws->logits[i];
	}
	for (size_t i = 0; i < n; i++)
		logits[i] = ws->sum[i] / K;
	return 0;
}

/* Copies the batch with every invalid row replaced by a valid stand-in, so
 * one bad window cannot fail the others; marks the invalid rows. Returns
 * the inputs to run: the caller's own when every row is valid. */
static int screen_rows(const struct model *m, struct model_ws *ws, int batch, const float **sizes,
		       const double **times, bool *failed)
{
	const int N = m->cfg.window;
	int bad = 0;

	for (int b = 0; b < batch; b++) {
		failed[b] = features_window(N, *sizes + (size_t)b * N, *times + (size_t)b * N, NULL,
					    NULL, NULL) != 0;
		bad += failed[b];
	}
	if (!bad)
		return 0;
	memcpy(ws->clean_sizes, *sizes, sizeof(float) * (size_t)batch * N);
	memcpy(ws->clean_times, *times, sizeof(double) * (size_t)batch * N);
	for (int b = 0; b < batch; b++)
		for (int i = 0; failed[b] && i < N; i++) {
			ws->clean_sizes[(size_t)b * N + i] = 100.0f;
			ws->clean_times[(size_t)b * N + i] = i * 1e-3;
		}
	*sizes = ws->clean_sizes;
	*times = ws->clean_times;
	return bad;
}

int model_classify_scored(const struct model *m, struct model_ws *ws, int batch,
			  const float *sizes, const double *times, float *logprobs,
			  float *unknown, bool *failed)
{
	const int N = m->cfg.window, C = m->cfg.num_classes;
	float *z = unknown && m->cfg.unknown == UNKNOWN_MAHALANOBIS ? ws->z : NULL;
	const int D = z ? m->ops->state_dim(&m->cfg) : 0;
	int nfailed = 0;

	if (batch < 1 || batch > ws->max_batch)
		return -1;
	if (!failed)
		failed = ws->failed;
	screen_rows(m, ws, batch, &sizes, &times, failed);
	if (ensemble_forward(m, ws, batch, sizes, times, logprobs, z, batch)) {
		/* Only dopri5 gives up on a window: find which, one at a time. */
		for (int b = 0; b < batch; b++)
			failed[b] |= ensemble_forward(m, ws, 1, sizes + (size_t)b * N,
						      times + (size_t)b * N,
						      logprobs + (size_t)b * C,
						      z ? z + (size_t)b * D : NULL, batch) != 0;
	}
	if (m->cfg.temperature != 1) {
		float inv = (float)(1 / m->cfg.temperature);

		for (int i = 0; i < batch * C; i++)
			logprobs[i] *= inv;
	}
	log_softmax(logprobs, logprobs, batch, C);
	/* finite weights can still overflow; never hand a NaN to a decision */
	for (int b = 0; b < batch; b++) {
		for (int k = 0; k < C && !failed[b]; k++)
			failed[b] = !isfinite(logprobs[(size_t)b * C + k]);
		if (failed[b])
			for (int k = 0; k < C; k++)
				logprobs[(size_t)b * C + k] = NAN;
		nfailed += failed[b];
	}
	if (unknown)
		unknown_score(m, z, batch, logprobs, unknown);
	for (int b = 0; unknown && b < batch; b++)
		if (failed[b])
			unknown[b] = NAN;
	return nfailed;
}

int model_classify_rows(const struct model *m, struct model_ws *ws, int batch,
			const float *sizes, const double *times, float *logprobs, bool *failed)
{
	return model_classify_scored(m, ws, batch, sizes, times, logprobs, NULL, failed);
}

int model_classify(const struct model *m, struct model_ws *ws, int batch,
		   const float *sizes, const double *times, float *logprobs)
{
	return model_classify_rows(m, ws, batch, sizes, times, logprobs, NULL) ? -1 : 0;
}

int model_state_dim(const struct model *m)
{
	return m->ops->state_dim ? m->ops->state_dim(&m->cfg) : 0;
}

int model_states(const struct model *m, struct model_ws *ws, int batch, const float *sizes,
		 const double *times, float *logits, float *states)
{
	const int C = m->cfg.num_classes;
	int D;

	if (!m->ops->head_input || batch < 1 || batch > ws->max_batch)
		return -1;
	D = m->ops->state_dim(&m->cfg);
	for (int k = 0; k < m->cfg.members; k++) {
		struct model member;
		float *infer = ws->infer + k * ws->member_infer;

		model_member(m, k, &member);
		if (m->ops->forward(&member, infer, batch, false, NULL, sizes, times,
				    logits + (size_t)k * batch * C))
			return -1;
		memcpy(states + (size_t)k * batch * D, m->ops->head_input(&member, infer, batch),
		       sizeof(float) * batch * D);
	}
	return 0;
}

float model_loss_grad(const struct model *m, struct model_ws *ws, int batch,
		      const float *sizes, const double *times, const int *labels,
		      const struct loss_options *lo, float *grads, float *logits)
{
	const int C = m->cfg.num_classes, K = m->cfg.members;
	const size_t n = (size_t)batch * C;
	double loss = 0;

	if (batch < 1 || batch > ws->max_batch || !model_has_gradient(m))
		return NAN;
	for (int b = 0; b < batch; b++)
		if (labels[b] < 0 || labels[b] >= C)
			return NAN;
	if (!ws->train) {
		ws->member_train = (m->ops->ws_floats(m, ws->max_batch, true) + 15) & ~(size_t)15;
		ws->train = alloc_floats(ws->member_train * K);
		if (!ws->train)
			return NAN;
	}
	memset(ws->sum, 0, n * sizeof(float));
	/* each member learns from its own logits, as if trained alone */
	for (int k = 0; k < K; k++) {
		struct model member;
		float *tape = ws->train + k * ws->member_train;

		model_member(m, k, &member);
		if (m->ops->forward(&member, tape, batch, true, lo, sizes, times, ws->logits))
			return NAN;
		log_softmax(ws->dlogits, ws->logits, batch, C);
		for (size_t i = 0; i < n; i++)
			ws->sum[i] += K > 1 ? ws->dlogits[i] / K : ws->logits[i];
		loss += cross_entropy(ws->dlogits, ws->dlogits, labels,
				      lo ? lo->label_smoothing : 0, batch, C) / K;
		for (size_t i = 0; K > 1 && i < n; i++)
			ws->dlogits[i] /= K;
		m->ops->backward(&member, tape, batch, ws->dlogits, grads + k * m->member_params);
	}
	if (logits)
		memcpy(logits, ws->sum, n * sizeof(float));
	return (float)loss;
}

int model_has_gradient(const struct model *m)
{
	return m->ops->backward != NULL;
}
