// SPDX-License-Identifier: MIT
/* odernn-emb: the ODE-RNN of odegru.h over discretised inputs, as the
 * gradient-boosted trees see them. Each packet's input (32 values) is the
 * embedding of its size's bucket (63 edges, quantiles of the training
 * sizes, stored in the model: 16 values), the embedding of its gap's
 * quarter-decade bin (8 values), and a linear map of three raw scalars
 * (odeflow-v2, window_features.h: 8 values). The ODE runs over
 * ln(1 + 1000 gap) / 2. Head: Linear(2H,64)-ReLU-Dropout-Linear(64,C).
 *
 * Inference folds the input layer away: every input is linear in the GRU's
 * input half, so each bucket's embedding times W_ih is one precomputed 3H
 * vector, and the raw map times W_ih one 3H x 3 matrix (prepare). A packet
 * then costs two lookups and a 3-column product instead of a 32-column one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "nn.h"
#include "odegru.h"
#include "window_features.h"
#include "common/errmsg.h"

#define SIZE_EDGES 63
#define SIZE_BUCKETS (SIZE_EDGES + 1)
#define SIZE_EMB 16
#define GAP_EMB 8
#define RAW_OUT 8
#define INPUTS (SIZE_EMB + GAP_EMB + RAW_OUT)
#define HEAD_WIDTH 64

enum {
	T_EDGES = ODEGRU_TENSORS, T_SIZE_EMB, T_GAP_EMB, T_RAW_W, T_RAW_B, T_HEAD,
};

static int emb_tensors(const struct model_config *c, struct tensor_spec *t)
{
	int n = 0;

	odegru_tensors(c, INPUTS, t, &n);
	tensor_add(t, &n, "size_edges", SIZE_EDGES, 0, 1);
	t[n - 1].frozen = true;
	/* embeddings start as PyTorch's N(0, 1) does: here uniform with variance 1 */
	tensor_add(t, &n, "size_emb.weight", SIZE_BUCKETS, SIZE_EMB, 1);
	t[n - 1].init_bound = sqrtf(3.0f);
	tensor_add(t, &n, "gap_emb.weight", V2_GAP_BINS, GAP_EMB, 1);
	t[n - 1].init_bound = sqrtf(3.0f);
	tensor_add(t, &n, "raw.weight", RAW_OUT, V2_RAW, V2_RAW);
	tensor_add(t, &n, "raw.bias", RAW_OUT, 0, V2_RAW);
	head2_tensors(t, &n, 2 * c->hidden, HEAD_WIDTH, c->num_classes);
	return n;
}

static int by_value(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/* The edges at the quantiles k/64 of the sizes, interpolated as NumPy's
 * quantile does; without data, evenly spaced up to 1500 bytes. */
static void emb_init_inputs(struct model *m, const float *sizes, size_t count)
{
	float *edges = param(m, T_EDGES), *sorted = count ? malloc(count * sizeof(*sorted)) : NULL;

	if (!sorted) {
		for (int k = 0; k < SIZE_EDGES; k++)
			edges[k] = 1500.0f * (k + 1) / SIZE_BUCKETS;
		return;
	}
	memcpy(sorted, sizes, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), by_value);
	for (int k = 0; k < SIZE_EDGES; k++) {
		double pos = (double)(k + 1) / SIZE_BUCKETS * (double)(count - 1);
		size_t lo = (size_t)pos;
		double frac = pos - (double)lo;

		edges[k] = lo + 1 < count ? (float)(sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]))
					  : sorted[lo];
	}
	free(sorted);
}

static int emb_check_params(const struct model *m, char *err, size_t errlen)
{
	const float *edges = param(m, T_EDGES);

	for (int k = 1; k < SIZE_EDGES; k++)
		if (!(edges[k] >= edges[k - 1]))
			return errmsg(err, errlen,
				      "tensor 'size_edges' decreases at element %d (%g after %g)",
				      k, edges[k], edges[k - 1]);
	return 0;
}

/* The size's bucket: how many edges are at or below it. */
static int size_bucket(const float *edges, float size)
{
	int lo = 0, hi = SIZE_EDGES;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (edges[mid] <= size)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The folded input layer, at the start of an inference workspace. */
struct tables {
	float *size, *gap;   /* [SIZE_BUCKETS,3H], [V2_GAP_BINS,3H]: embedding . W_ih^T */
	float *raw_w, *bias; /* [V2_RAW,3H]: (W_ih (raw part) . raw.weight)^T; [3H]: all biases */
};

struct bufs {
	struct tables tab;           /* inference only */
	float *raw, *x, *head_in;    /* [B,N,3], [B,N,INPUTS] (training), [B,2H] */
	float *gi;                   /* [B,N,3H]; inference: one packet's, [B,3H] */
	int *size_bin, *gap_bin;     /* [B,N] */
	struct odegru_bufs rnn;
	struct head2_bufs head;
	float *dgi, *dx, *dhead_in;  /* backward only */
};

static size_t layout(const struct model *m, float *base, int B, bool train, struct bufs *u)
{
	const int N = m->cfg.window, G = 3 * m->cfg.hidden;
	const size_t BN = (size_t)B * N;
	struct arena a = { base, 0 };

	memset(&u->tab, 0, sizeof(u->tab));
	odegru_tables(&a, m, train, &u->rnn);
	if (!train) {
		u->tab.size = arena_take(&a, (size_t)SIZE_BUCKETS * G);
		u->tab.gap = arena_take(&a, (size_t)V2_GAP_BINS * G);
		u->tab.raw_w = arena_take(&a, (size_t)G * V2_RAW);
		u->tab.bias = arena_take(&a, G);
	}
	u->raw = arena_take(&a, BN * V2_RAW);
	u->x = train ? arena_take(&a, BN * INPUTS) : NULL;
	u->gi = arena_take(&a, train ? BN * G : (size_t)B * G);
	u->head_in = arena_take(&a, (size_t)B * 2 * m->cfg.hidden);
	u->size_bin = (int *)arena_take(&a, BN);
	u->gap_bin = (int *)arena_take(&a, BN);
	odegru_layout(&a, m, B, train, &u->rnn);
	head2_layout(&a, B, HEAD_WIDTH, train, &u->head);
	u->dgi = train ? arena_take(&a, BN * G) : NULL;
	u->dx = train ? arena_take(&a, BN * INPUTS) : NULL;
	u->dhead_in = train ? arena_take(&a, (size_t)B * 2 * m->cfg.hidden) : NULL;
	return a.used;
}

static size_t emb_ws_floats(const struct model *m, int B, bool train)
{
	struct bufs u;

	return layout(m, NULL, B, train, &u);
}

/* out[rows,G] = in[rows,K] . W_ih[:, col:col+K]^T (+ nothing): a block of
 * the GRU's input weights applied to one part of the input. */
static void through_wih(const struct model *m, const float *in, int rows, int col, int K,
			float *out)
{
	const int G = 3 * m->cfg.hidden;
	const float *w = param(m, ODEGRU_WIH);

	for (int r = 0; r < rows; r++)
		for (int j = 0; j < G; j++) {
			float sum = 0;

			for (int k = 0; k < K; k++)
				sum += w[(size_t)j * INPUTS + col + k] * in[(size_t)r * K + k];
			out[(size_t)r * G + j] = sum;
		}
}

static void emb_prepare(const struct model *m, float *ws)
{
	const int G = 3 * m->cfg.hidden;
	const float *raw_w = param(m, T_RAW_W), *raw_b = param(m, T_RAW_B);
	float colw[RAW_OUT * V2_RAW];
	struct bufs u;

	layout(m, ws, 1, false, &u);
	through_wih(m, param(m, T_SIZE_EMB), SIZE_BUCKETS, 0, SIZE_EMB, u.tab.size);
	through_wih(m, param(m, T_GAP_EMB), V2_GAP_BINS, SIZE_EMB, GAP_EMB, u.tab.gap);
	/* W_ih (raw part) . raw.weight, as the rows of raw.weight^T go through W_ih */
	for (int o = 0; o < RAW_OUT; o++)
		for (int k = 0; k < V2_RAW; k++)
			colw[k * RAW_OUT + o] = raw_w[o * V2_RAW + k];
	through_wih(m, colw, V2_RAW, SIZE_EMB + GAP_EMB, RAW_OUT, u.tab.raw_w);
	through_wih(m, raw_b, 1, SIZE_EMB + GAP_EMB, RAW_OUT, u.tab.bias);
	for (int j = 0; j < G; j++)
		u.tab.bias[j] += param(m, ODEGRU_BIH)[j];
	odegru_prepare(m, &u.rnn);
}

/* gi of packet i of every window from the folded tables: two lookups and
 * 3 columns, into u->gi [B,3H]. */
static HOT void folded_gi(const struct tables *t, const struct bufs *u, int B, int N, int i,
			  int G)
{
	const float *w0 = t->raw_w, *w1 = w0 + G, *w2 = w1 + G;

	_Static_assert(V2_RAW == 3, "three raw columns");
	for (int b = 0; b < B; b++) {
		size_t r = (size_t)b * N + i;
		const float *s = t->size + (size_t)u->size_bin[r] * G;
		const float *g = t->gap + (size_t)u->gap_bin[r] * G;
		const float *x = u->raw + r * V2_RAW;
		float *out = u->gi + (size_t)b * G;
		int j = 0;

		for (; j + VLEN <= G; j += VLEN)
			v_store(out + j, v_load(t->bias + j) + v_load(s + j) + v_load(g + j) +
					 v_load(w0 + j) * x[0] + v_load(w1 + j) * x[1] +
					 v_load(w2 + j) * x[2]);
		for (; j < G; j++)
			out[j] = t->bias[j] + s[j] + g[j] + w0[j] * x[0] + w1[j] * x[1] + w2[j] * x[2];
	}
}

/* The 32 inputs of every packet, kept for the backward pass. */
static void unfolded_x(const struct model *m, const struct bufs *u, size_t rows)
{
	const float *se = param(m, T_SIZE_EMB), *ge = param(m, T_GAP_EMB);
	const float *rw = param(m, T_RAW_W), *rb = param(m, T_RAW_B);

	for (size_t r = 0; r < rows; r++) {
		float *x = u->x + r * INPUTS;
		const float *raw = u->raw + r * V2_RAW;

		memcpy(x, se + (size_t)u->size_bin[r] * SIZE_EMB, sizeof(float) * SIZE_EMB);
		memcpy(x + SIZE_EMB, ge + (size_t)u->gap_bin[r] * GAP_EMB, sizeof(float) * GAP_EMB);
		for (int o = 0; o < RAW_OUT; o++) {
			float sum = rb[o];

			for (int k = 0; k < V2_RAW; k++)
				sum += rw[o * V2_RAW + k] * raw[k];
			x[SIZE_EMB + GAP_EMB + o] = sum;
		}
	}
}

struct step_inputs {
	const struct bufs *u;
	int B, N, G;
};

static const float *step_gi(void *ctx, int i, int *ld)
{
	const struct step_inputs *s = ctx;

	folded_gi(&s->u->tab, s->u, s->B, s->N, i, s->G);
	*ld = s->G;
	return s->u->gi;
}

static int emb_forward(const struct model *m, float *ws, int B, bool train,
		       const struct loss_options *lo, const float *sizes, const double *times,
		       float *logits)
{
	const int N = m->cfg.window, H = m->cfg.hidden, G = 3 * H;
	const size_t BN = (size_t)B * N;
	const float *edges = param(m, T_EDGES);
	struct bufs u;

	layout(m, ws, B, train, &u);
	for (int b = 0; b < B; b++) {
		size_t at = (size_t)b * N;

		if (features_v2(N, sizes + at, times + at, u.raw + at * V2_RAW, u.gap_bin + at,
				u.rnn.dtau + at))
			return -1;
		for (int i = 0; i < N; i++)
			u.size_bin[at + i] = size_bucket(edges, sizes[at + i]);
	}
	if (train) {
		/* every packet's input at once, kept for the backward pass */
		unfolded_x(m, &u, BN);
		linear_forward(u.gi, u.x, INPUTS, param(m, ODEGRU_WIH), param(m, ODEGRU_BIH), (int)BN,
			       INPUTS, G);
		if (odegru_forward(m, &u.rnn, B, train, odegru_all_inputs,
				   &(struct odegru_all){ u.gi, N, H }, u.head_in))
			return -1;
	} else if (odegru_forward(m, &u.rnn, B, train, step_gi,
				  &(struct step_inputs){ &u, B, N, G }, u.head_in)) {
		return -1;
	}
	head2_forward(m, T_HEAD, &u.head, B, 2 * H, HEAD_WIDTH, u.head_in, lo, logits);
	return 0;
}

static void emb_backward(const struct model *m, float *ws, int B, const float *dlogits,
			 float *grads)
{
	const int N = m->cfg.window, H = m->cfg.hidden, G = 3 * H;
	const size_t BN = (size_t)B * N;
	float *dse = grad(m, grads, T_SIZE_EMB), *dge = grad(m, grads, T_GAP_EMB);
	float *drw = grad(m, grads, T_RAW_W), *drb = grad(m, grads, T_RAW_B);
	struct bufs u;

	layout(m, ws, B, true, &u);
	head2_backward(m, T_HEAD, &u.head, B, 2 * H, HEAD_WIDTH, u.head_in, dlogits, u.dhead_in,
		       grads);
	odegru_backward(m, &u.rnn, B, u.dhead_in, u.dgi, grads);
	memset(u.dx, 0, sizeof(float) * BN * INPUTS);
	linear_backward(u.dx, grad(m, grads, ODEGRU_WIH), grad(m, grads, ODEGRU_BIH), u.dgi, u.x,
			INPUTS, param(m, ODEGRU_WIH), (int)BN, INPUTS, G);
	/* each packet's share back to the rows it looked up and to the raw map */
	for (size_t r = 0; r < BN; r++) {
		const float *dx = u.dx + r * INPUTS, *raw = u.raw + r * V2_RAW;
		float *ds = dse + (size_t)u.size_bin[r] * SIZE_EMB;
		float *dg = dge + (size_t)u.gap_bin[r] * GAP_EMB;

		for (int k = 0; k < SIZE_EMB; k++)
			ds[k] += dx[k];
		for (int k = 0; k < GAP_EMB; k++)
			dg[k] += dx[SIZE_EMB + k];
		for (int o = 0; o < RAW_OUT; o++) {
			float d = dx[SIZE_EMB + GAP_EMB + o];

			drb[o] += d;
			for (int k = 0; k < V2_RAW; k++)
				drw[o * V2_RAW + k] += d * raw[k];
		}
	}
}

static const float *emb_head_input(const struct model *m, float *ws, int B)
{
	struct bufs u;

	layout(m, ws, B, false, &u);
	return u.head_in;
}

const struct arch_ops arch_odernn_emb = {
	.name = "odernn-emb",
	.about = "discretised inputs",
	.transform = FEATURES_V2_TRANSFORM,
	.check = odegru_check,
	.tensors = emb_tensors,
	.ws_floats = emb_ws_floats,
	.forward = emb_forward,
	.backward = emb_backward,
	.prepare = emb_prepare,
	.head_input = emb_head_input,
	.state_dim = odegru_state_dim,
	.init_inputs = emb_init_inputs,
	.check_params = emb_check_params,
};
