// SPDX-License-Identifier: MIT
/* lstm: the paper's baseline without an ODE. A 2-layer LSTM over
 * (size_norm, iat) per packet; the top layer's N outputs, flattened, go
 * through the 128-64-C head. */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "window_features.h"
#include "nn.h"
#include "common/errmsg.h"

enum { T_L0 = 0, T_L1 = 4, T_HEAD = 8 };  /* each layer: w_ih, w_hh, b_ih, b_hh */
#define INPUTS 2

static int lstm_check(const struct model_config *c, char *err, size_t errlen)
{
	if (c->hidden < 1 || c->hidden > 128)
		return errmsg(err, errlen, "lstm hidden size %d is outside 1..128", c->hidden);
	return 0;
}

static int lstm_arch_tensors(const struct model_config *c, struct tensor_spec *t)
{
	int n = 0;

	lstm_tensors(t, &n, INPUTS, c->hidden);
	head_tensors(t, &n, c->window * c->hidden, c->num_classes);
	return n;
}

struct bufs {
	float *x, *in;               /* features [B,N,F]; LSTM inputs [B,N,2] */
	float *gx, *out[2], *c[2], *gates[2];
	struct head_bufs head;
	float *dgx, *dout, *dc;      /* backward only */
};

static size_t layout(const struct model *m, float *base, int B, bool train, struct bufs *u)
{
	const int N = m->cfg.window, H = m->cfg.hidden;
	const size_t BNH = (size_t)B * N * H;
	struct arena a = { base, 0 };

	u->x = arena_take(&a, (size_t)B * N * FEATURES_PER_PACKET);
	u->in = arena_take(&a, (size_t)B * N * INPUTS);
	u->gx = arena_take(&a, 4 * BNH);
	for (int l = 0; l < 2; l++) {
		u->out[l] = arena_take(&a, BNH);
		u->c[l] = arena_take(&a, BNH);
		u->gates[l] = arena_take(&a, 4 * BNH);
	}
	head_layout(&a, B, train, &u->head);
	u->dgx = train ? arena_take(&a, 4 * BNH) : NULL;
	u->dout = train ? arena_take(&a, BNH) : NULL;
	u->dc = train ? arena_take(&a, (size_t)B * H) : NULL;
	return a.used;
}

static size_t lstm_ws_floats(const struct model *m, int B, bool train)
{
	struct bufs u;

	return layout(m, NULL, B, train, &u);
}

static int lstm_arch_forward(const struct model *m, float *ws, int B, bool train,
			     const struct loss_options *lo, const float *sizes,
			     const double *times, float *logits)
{
	const int N = m->cfg.window, H = m->cfg.hidden, F = FEATURES_PER_PACKET;
	struct bufs u;

	(void)lo; /* no dropout layer */
	layout(m, ws, B, train, &u);
	for (int b = 0; b < B; b++) {
		float *x = u.x + (size_t)b * N * F;

		if (features_window(N, sizes + (size_t)b * N, times + (size_t)b * N, x, NULL, NULL))
			return -1;
		for (int i = 0; i < N; i++) {
			u.in[((size_t)b * N + i) * INPUTS] = x[i * F + FEAT_SIZE_NORM];
			u.in[((size_t)b * N + i) * INPUTS + 1] = x[i * F + FEAT_IAT];
		}
	}
	for (int l = 0; l < 2; l++) {
		int t = l ? T_L1 : T_L0, in = l ? H : INPUTS;

		linear_forward(u.gx, l ? u.out[0] : u.in, in, param(m, t), param(m, t + 2), B * N,
			       in, 4 * H);
		lstm_seq_forward(u.gx, u.out[l], u.c[l], u.gates[l], param(m, t + 1),
				 param(m, t + 3), B, N, H);
	}
	head_forward(m, T_HEAD, &u.head, B, N * H, u.out[1], logits);
	return 0;
}

static void lstm_arch_backward(const struct model *m, float *ws, int B, const float *dlogits,
			       float *grads)
{
	const int N = m->cfg.window, H = m->cfg.hidden;
	struct bufs u;

	layout(m, ws, B, true, &u);
	head_backward(m, T_HEAD, &u.head, B, N * H, u.out[1], dlogits, u.dout, grads);
	for (int l = 1; l >= 0; l--) {
		int t = l ? T_L1 : T_L0, in = l ? H : INPUTS;

		lstm_seq_backward(u.dgx, u.dout, u.dc, grad(m, grads, t + 1), grad(m, grads, t + 3),
				  u.gates[l], u.c[l], u.out[l], param(m, t + 1), B, N, H);
		if (l)
			memset(u.dout, 0, sizeof(float) * B * N * H);
		linear_backward(l ? u.dout : NULL, grad(m, grads, t), grad(m, grads, t + 2), u.dgx,
				l ? u.out[0] : u.in, in, param(m, t), B * N, in, 4 * H);
	}
}

const struct arch_ops arch_lstm = {
	.name = "lstm",
	.transform = FEATURES_TRANSFORM,
	.check = lstm_check,
	.tensors = lstm_arch_tensors,
	.ws_floats = lstm_ws_floats,
	.forward = lstm_arch_forward,
	.backward = lstm_arch_backward,
};
