// SPDX-License-Identifier: MIT
/* odernn: an ODE-RNN (odegru.h) over the odeflow-v1 features of each
 * packet (scaled size, log size, log gap, small and full flags); the gaps
 * compressed as ln(1 + gap / 10 ms) / 4. Head: Linear(2H,H)-ReLU-Linear(H,C). */
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "nn.h"
#include "odegru.h"
#include "window_features.h"

enum { T_HEAD = ODEGRU_TENSORS };

static int odernn_tensors(const struct model_config *c, struct tensor_spec *t)
{
	int n = 0;

	odegru_tensors(c, FEATURES_PER_PACKET, t, &n);
	head2_tensors(t, &n, 2 * c->hidden, c->hidden, c->num_classes);
	return n;
}

struct bufs {
	float *x, *gi, *head_in;     /* [B,N,F], [B,N,3H], [B,2H] */
	struct odegru_bufs rnn;
	struct head2_bufs head;
	float *dgi, *dhead_in;       /* backward only */
};

static size_t layout(const struct model *m, float *base, int B, bool train, struct bufs *u)
{
	const int N = m->cfg.window, H = m->cfg.hidden;
	struct arena a = { base, 0 };

	odegru_tables(&a, m, train, &u->rnn);
	u->x = arena_take(&a, (size_t)B * N * FEATURES_PER_PACKET);
	u->gi = arena_take(&a, (size_t)B * N * 3 * H);
	u->head_in = arena_take(&a, (size_t)B * 2 * H);
	odegru_layout(&a, m, B, train, &u->rnn);
	head2_layout(&a, B, H, train, &u->head);
	u->dgi = train ? arena_take(&a, (size_t)B * N * 3 * H) : NULL;
	u->dhead_in = train ? arena_take(&a, (size_t)B * 2 * H) : NULL;
	return a.used;
}

static size_t odernn_ws_floats(const struct model *m, int B, bool train)
{
	struct bufs u;

	return layout(m, NULL, B, train, &u);
}

static void odernn_prepare(const struct model *m, float *ws)
{
	struct bufs u;

	layout(m, ws, 1, false, &u);
	odegru_prepare(m, &u.rnn);
}

static int odernn_forward(const struct model *m, float *ws, int B, bool train,
			  const struct loss_options *lo, const float *sizes, const double *times,
			  float *logits)
{
	const int N = m->cfg.window, H = m->cfg.hidden, F = FEATURES_PER_PACKET;
	struct bufs u;

	layout(m, ws, B, train, &u);
	for (int b = 0; b < B; b++)
		if (features_window(N, sizes + (size_t)b * N, times + (size_t)b * N,
				    u.x + (size_t)b * N * F, u.rnn.dtau + (size_t)b * N, NULL))
			return -1;
	/* the input half of every GRU step in one matrix product */
	linear_forward(u.gi, u.x, F, param(m, ODEGRU_WIH), param(m, ODEGRU_BIH), B * N, F, 3 * H);
	if (odegru_forward(m, &u.rnn, B, train, odegru_all_inputs,
			   &(struct odegru_all){ u.gi, N, H }, u.head_in))
		return -1;
	head2_forward(m, T_HEAD, &u.head, B, 2 * H, H, u.head_in, lo, logits);
	return 0;
}

static void odernn_backward(const struct model *m, float *ws, int B, const float *dlogits,
			    float *grads)
{
	const int N = m->cfg.window, H = m->cfg.hidden, F = FEATURES_PER_PACKET;
	struct bufs u;

	layout(m, ws, B, true, &u);
	head2_backward(m, T_HEAD, &u.head, B, 2 * H, H, u.head_in, dlogits, u.dhead_in, grads);
	odegru_backward(m, &u.rnn, B, u.dhead_in, u.dgi, grads);
	linear_backward(NULL, grad(m, grads, ODEGRU_WIH), grad(m, grads, ODEGRU_BIH), u.dgi, u.x, F,
			param(m, ODEGRU_WIH), B * N, F, 3 * H);
}

static const float *odernn_head_input(const struct model *m, float *ws, int B)
{
	struct bufs u;

	layout(m, ws, B, false, &u);
	return u.head_in;
}

const struct arch_ops arch_odernn = {
	.name = "odernn",
	.transform = FEATURES_TRANSFORM,
	.check = odegru_check,
	.tensors = odernn_tensors,
	.ws_floats = odernn_ws_floats,
	.forward = odernn_forward,
	.backward = odernn_backward,
	.prepare = odernn_prepare,
	.head_input = odernn_head_input,
	.state_dim = odegru_state_dim,
};
