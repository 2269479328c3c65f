// SPDX-License-Identifier: MIT
/* Pieces the architectures share: parameter tensor specs, the ODE function
 * and the classifier head of lstm-ode and lstm. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "nn.h"
#include "common/rng.h"

void tensor_add(struct tensor_spec *t, int *n, const char *name, int rows, int cols, int fan)
{
	struct tensor_spec *s = &t[*n];
	size_t offset = *n ? t[*n - 1].offset + t[*n - 1].count : 0;

	snprintf(s->name, sizeof(s->name), "%s", name);
	s->dtype = TENSOR_F32;
	s->ndim = cols ? 2 : 1;
	s->shape[0] = rows;
	s->shape[1] = cols;
	s->count = (size_t)rows * (cols ? cols : 1);
	s->offset = offset;
	s->init_bound = 1.0f / sqrtf((float)fan);
	(*n)++;
}

void rk4_tapes_layout(struct arena *a, int N, int steps, int B, int D, int M, bool train,
		      struct rk4_tapes *t)
{
	t->slots = train ? 4 * steps : 4;
	t->intervals = train ? N - 1 : 1;
	t->in_size = (size_t)B * D;
	t->act_size = (size_t)B * M;
	t->in = arena_take(a, t->intervals * t->slots * t->in_size);
	t->act = arena_take(a, t->intervals * t->slots * t->act_size);
}

struct rk4_tape rk4_tape_of(const struct rk4_tapes *t, int i)
{
	size_t first = (size_t)((i - 1) % t->intervals) * t->slots;

	return (struct rk4_tape){
		.in = t->in + first * t->in_size,
		.act = t->act + first * t->act_size,
		.slots = t->slots,
	};
}

struct ode_mlp ode_mlp_of(const struct model *m, int first, int D)
{
	return (struct ode_mlp){
		.w1 = param(m, first), .b1 = param(m, first + 1),
		.w2 = param(m, first + 2), .b2 = param(m, first + 3),
		.D = D, .M = m->cfg.ode_hidden,
	};
}

struct ode_mlp_grad ode_mlp_grad_of(const struct model *m, float *grads, int first)
{
	return (struct ode_mlp_grad){
		.w1 = grad(m, grads, first), .b1 = grad(m, grads, first + 1),
		.w2 = grad(m, grads, first + 2), .b2 = grad(m, grads, first + 3),
	};
}

#define HEAD1 128
#define HEAD2 64

void head_layout(struct arena *a, int B, bool train, struct head_bufs *hb)
{
	hb->h1 = arena_take(a, (size_t)B * HEAD1);
	hb->h2 = arena_take(a, (size_t)B * HEAD2);
	hb->dh1 = train ? arena_take(a, (size_t)B * HEAD1) : NULL;
	hb->dh2 = train ? arena_take(a, (size_t)B * HEAD2) : NULL;
}

void head_forward(const struct model *m, int first, const struct head_bufs *hb, int B, int in,
		  const float *x, float *logits)
{
	linear_forward(hb->h1, x, in, param(m, first), param(m, first + 1), B, in, HEAD1);
	relu_forward(hb->h1, (size_t)B * HEAD1);
	linear_forward(hb->h2, hb->h1, HEAD1, param(m, first + 2), param(m, first + 3), B,
		       HEAD1, HEAD2);
	relu_forward(hb->h2, (size_t)B * HEAD2);
	linear_forward(logits, hb->h2, HEAD2, param(m, first + 4), param(m, first + 5), B,
		       HEAD2, m->cfg.num_classes);
}

void head_backward(const struct model *m, int first, const struct head_bufs *hb, int B, int in,
		   const float *x, const float *dlogits, float *dx, float *grads)
{
	memset(hb->dh2, 0, sizeof(float) * B * HEAD2);
	linear_backward(hb->dh2, grad(m, grads, first + 4), grad(m, grads, first + 5), dlogits,
			hb->h2, HEAD2, param(m, first + 4), B, HEAD2, m->cfg.num_classes);
	relu_backward(hb->dh2, hb->h2, (size_t)B * HEAD2);
	memset(hb->dh1, 0, sizeof(float) * B * HEAD1);
	linear_backward(hb->dh1, grad(m, grads, first + 2), grad(m, grads, first + 3), hb->dh2,
			hb->h1, HEAD1, param(m, first + 2), B, HEAD1, HEAD2);
	relu_backward(hb->dh1, hb->h1, (size_t)B * HEAD1);
	if (dx)
		memset(dx, 0, sizeof(float) * B * in);
	linear_backward(dx, grad(m, grads, first), grad(m, grads, first + 1), hb->dh1, x, in,
			param(m, first), B, in, HEAD1);
}

void head_tensors(struct tensor_spec *t, int *n, int in, int classes)
{
	tensor_add(t, n, "head.0.weight", HEAD1, in, in);
	tensor_add(t, n, "head.0.bias", HEAD1, 0, in);
	tensor_add(t, n, "head.2.weight", HEAD2, HEAD1, HEAD1);
	tensor_add(t, n, "head.2.bias", HEAD2, 0, HEAD1);
	tensor_add(t, n, "head.4.weight", classes, HEAD2, HEAD2);
	tensor_add(t, n, "head.4.bias", classes, 0, HEAD2);
}

void head2_tensors(struct tensor_spec *t, int *n, int in, int W, int classes)
{
	tensor_add(t, n, "head.0.weight", W, in, in);
	tensor_add(t, n, "head.0.bias", W, 0, in);
	tensor_add(t, n, "head.2.weight", classes, W, W);
	tensor_add(t, n, "head.2.bias", classes, 0, W);
}

void head2_layout(struct arena *a, int B, int W, bool train, struct head2_bufs *hb)
{
	size_t BW = (size_t)B * W;

	hb->hid = arena_take(a, BW);
	hb->drop = train ? arena_take(a, BW) : NULL;
	hb->mask = train ? arena_take(a, BW) : NULL;
	hb->dhid = train ? arena_take(a, BW) : NULL;
}

void head2_forward(const struct model *m, int first, const struct head2_bufs *hb, int B, int in,
		   int W, const float *x, const struct loss_options *lo, float *logits)
{
	const size_t BW = (size_t)B * W;
	const float *top = hb->hid;

	linear_forward(hb->hid, x, in, param(m, first), param(m, first + 1), B, in, W);
	relu_forward(hb->hid, BW);
	if (hb->drop) {
		/* inverted dropout: kept units are scaled up, so inference needs nothing */
		float p = lo ? lo->dropout : 0.0f, keep = 1.0f / (1.0f - p);
		struct rng r = { lo ? lo->seed : 0 };

		for (size_t i = 0; i < BW; i++) {
			float u = (float)(rng_next(&r) >> 40) * 0x1p-24f;

			hb->mask[i] = p > 0 && u < p ? 0.0f : p > 0 ? keep : 1.0f;
			hb->drop[i] = hb->hid[i] * hb->mask[i];
		}
		top = hb->drop;
	}
	linear_forward(logits, top, W, param(m, first + 2), param(m, first + 3), B, W,
		       m->cfg.num_classes);
}

void head2_backward(const struct model *m, int first, const struct head2_bufs *hb, int B, int in,
		    int W, const float *x, const float *dlogits, float *dx, float *grads)
{
	const size_t BW = (size_t)B * W;

	memset(hb->dhid, 0, sizeof(float) * BW);
	linear_backward(hb->dhid, grad(m, grads, first + 2), grad(m, grads, first + 3), dlogits,
			hb->drop, W, param(m, first + 2), B, W, m->cfg.num_classes);
	for (size_t i = 0; i < BW; i++)
		hb->dhid[i] *= hb->mask[i];
	relu_backward(hb->dhid, hb->hid, BW);
	memset(dx, 0, sizeof(float) * B * in);
	linear_backward(dx, grad(m, grads, first), grad(m, grads, first + 1), hb->dhid, x, in,
			param(m, first), B, in, W);
}

void lstm_seq_forward(const float *gx, float *out, float *c, float *gates, const float *w_hh,
		      const float *b_hh, int B, int T, int H)
{
	const size_t BH = (size_t)B * H;

	for (int i = 0; i < T; i++)
		lstm_forward(out + (size_t)i * H, c + i * BH, gates + i * 4 * BH,
			     gx + (size_t)i * 4 * H, T * 4 * H, i ? out + (size_t)(i - 1) * H : NULL,
			     T * H, i ? c + (i - 1) * BH : NULL, w_hh, b_hh, B, H);
}

void lstm_seq_backward(float *dgx, float *dout, float *dc, float *dw_hh, float *db_hh,
		       const float *gates, const float *c, const float *out, const float *w_hh,
		       int B, int T, int H)
{
	const size_t BH = (size_t)B * H;

	memset(dc, 0, sizeof(float) * BH);
	for (int i = T - 1; i >= 0; i--)
		lstm_backward(dgx + (size_t)i * 4 * H, T * 4 * H,
			      i ? dout + (size_t)(i - 1) * H : NULL, dc, dw_hh, db_hh,
			      dout + (size_t)i * H, dc, gates + i * 4 * BH, c + i * BH,
			      i ? out + (size_t)(i - 1) * H : NULL, T * H,
			      i ? c + (i - 1) * BH : NULL, w_hh, B, H);
}

void lstm_tensors(struct tensor_spec *t, int *n, int input, int H)
{
	static const char *const names[2][4] = {
		{ "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0" },
		{ "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1" },
	};

	for (int l = 0; l < 2; l++) {
		tensor_add(t, n, names[l][0], 4 * H, l ? H : input, H);
		tensor_add(t, n, names[l][1], 4 * H, H, H);
		tensor_add(t, n, names[l][2], 4 * H, 0, H);
		tensor_add(t, n, names[l][3], 4 * H, 0, H);
	}
}
