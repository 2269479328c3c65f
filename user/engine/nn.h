/* SPDX-License-Identifier: MIT */
/* The layers the architectures are built from, forward and backward side by
 * side (in the style of llm.c). Activations are row-major [B, dim]; "ld"
 * arguments are row strides in floats, for rows that live inside a wider
 * array (one time step of a [B, N, dim] sequence). Backward functions ADD
 * into parameter gradients; what they write into activation gradients is
 * said at each one. Dense algebra goes through OpenBLAS. */
#ifndef ODEFLOW_NN_H
#define ODEFLOW_NN_H

#include <stddef.h>
#include <string.h>

/* out[B,NO] = in[B,NI] . w[NO,NI]^T + b[NO]  (PyTorch's nn.Linear) */
void linear_forward(float *out, const float *in, int in_ld, const float *w, const float *b,
		    int B, int NI, int NO);
/* dw += dout^T in; db += column sums of dout; din (if not NULL) += dout . w */
void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
		     int in_ld, const float *w, int B, int NI, int NO);

/* Several floats at once, with GCC/clang vector extensions. GCC builds use
 * 8 lanes: the kernels in nn.c and ode.c get an AVX2 clone picked at load
 * time (HOT), and plain SSE elsewhere. clang (the sanitizer and fuzzing
 * builds) refuses 32-byte vectors without AVX, so it gets 4 lanes, the same
 * arithmetic per lane. libm's tanhf and scalar loops took most of the
 * ODE-RNN's time. */
#ifdef __clang__
#define VLEN 4
#define HOT
#else
#define VLEN 8
#define HOT __attribute__((target_clones("avx2", "default")))
/* The helpers below are always inlined, so the ABI of passing a 32-byte
 * vector without AVX, which GCC warns about, never applies. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float vfloat __attribute__((vector_size(VLEN * sizeof(float))));
typedef int vint __attribute__((vector_size(VLEN * sizeof(int))));
/* Inlined into each target clone: a call across clones would disagree on
 * how a vector is passed. */
#define VEC static inline __attribute__((always_inline))

VEC vfloat v_load(const float *p)
{
	vfloat v;

	memcpy(&v, p, sizeof(v));
	return v;
}

VEC void v_store(float *p, vfloat v)
{
	memcpy(p, &v, sizeof(v));
}

VEC vfloat v_set1(float x)
{
	return (vfloat){ 0 } + x;
}

VEC vfloat v_select(vint mask, vfloat yes, vfloat no)
{
	return (vfloat)((mask & (vint)yes) | (~mask & (vint)no));
}

/* tanh accurate to a few float ulps: the rational approximation Eigen uses,
 * on [-7.9, 7.9]; beyond that tanh is 1 to float precision. */
VEC vfloat v_tanh(vfloat x)
{
	const vfloat lo = v_set1(-7.90531110763549805f), hi = v_set1(7.90531110763549805f);
	vfloat x2, p, q;

	x = v_select(x < lo, lo, x);
	x = v_select(x > hi, hi, x);
	x2 = x * x;
	p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
	p = x2 * p + -8.60467152213735e-11f;
	p = x2 * p + 5.12229709037114e-08f;
	p = x2 * p + 1.48572235717979e-05f;
	p = x2 * p + 6.37261928875436e-04f;
	p = x2 * p + 4.89352455891786e-03f;
	p = x * p;
	q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
	q = x2 * q + 2.26843463243900e-03f;
	q = x2 * q + 4.89352518554385e-03f;
	return p / q;
}

VEC vfloat v_sigmoid(vfloat x)
{
	return 0.5f + 0.5f * v_tanh(0.5f * x);
}

/* One value through the same arithmetic, so that a row's result does not
 * depend on whether it fell in a vector or in the tail. */
static inline float fast_tanh(float x)
{
	return v_tanh(v_set1(x))[0];
}

static inline float fast_sigmoid(float x)
{
	return v_sigmoid(v_set1(x))[0];
}

/* In place; the backward passes take the activation's output y. */
void tanh_forward(float *x, size_t n);
void tanh_backward(float *d, const float *y, size_t n);   /* d *= 1 - y^2 */
void relu_forward(float *x, size_t n);
void relu_backward(float *d, const float *y, size_t n);   /* d *= y > 0 */

/* PyTorch's nn.GRUCell, gate order r, z, n, for one step of B rows.
 * gi[B,3H] (row stride gi_ld) = x W_ih^T + b_ih, precomputed for all steps
 * at once by the caller; h[B,H] the state before the step. Writes the new
 * state h_out[B,H] and keeps gates[B,4H] = (r, z, n, W_hn h + b_hn) for the
 * backward pass. gh[B,3H] is scratch. */
void gru_forward(float *h_out, float *gates, float *gh, const float *gi, int gi_ld,
		 const float *h, const float *w_hh, const float *b_hh, int B, int H);
/* From dh_out: writes dgi (stride gi_ld) and dh (the gradient for h);
 * adds into dw_hh, db_hh. dgh[B,3H] is scratch. */
void gru_backward(float *dgi, int gi_ld, float *dh, float *dw_hh, float *db_hh, float *dgh,
		  const float *dh_out, const float *gates, const float *h,
		  const float *w_hh, int B, int H);

/* PyTorch's nn.LSTM cell, gate order i, f, g, o, for one step of B rows.
 * gx[B,4H] (stride gx_ld) = x W_ih^T + b_ih, precomputed by the caller;
 * h (stride h_ld) and c[B,H] the state before the step (both NULL for the
 * zero state). Writes gates[B,4H] (activated, kept for the
 * backward pass), c_out[B,H] and h_out (stride h_ld). */
void lstm_forward(float *h_out, float *c_out, float *gates, const float *gx, int gx_ld,
		  const float *h, int h_ld, const float *c, const float *w_hh, const float *b_hh,
		  int B, int H);
/* From dh_out (stride h_ld) and dc_out: writes dgx (stride gx_ld); adds
 * into db_hh; unless the state was zero (h NULL), writes dc (for c), adds
 * dgx.w_hh into dh (stride h_ld) and dgx^T h into dw_hh. */
void lstm_backward(float *dgx, int gx_ld, float *dh, float *dc, float *dw_hh, float *db_hh,
		   const float *dh_out, const float *dc_out, const float *gates,
		   const float *c_out, const float *h, int h_ld, const float *c,
		   const float *w_hh, int B, int H);

/* Row-wise log-softmax of logits[B,C] into out (may alias). */
void log_softmax(float *out, const float *logits, int B, int C);
/* Mean cross-entropy of B rows of log-probabilities against the labels,
 * smoothed: the target is (1 - smoothing) on the label plus smoothing / C on
 * every class (PyTorch's label_smoothing). Writes dlogits = (softmax -
 * target) / B (may alias logprobs). */
float cross_entropy(float *dlogits, const float *logprobs, const int *labels, float smoothing,
		    int B, int C);

#endif
