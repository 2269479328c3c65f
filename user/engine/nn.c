// SPDX-License-Identifier: MIT
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn.h"

void linear_forward(float *out, const float *in, int in_ld, const float *w, const float *b,
		    int B, int NI, int NO)
{
	for (int r = 0; r < B; r++)
		memcpy(out + (size_t)r * NO, b, sizeof(float) * NO);
	if (B == 1)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, NO, NI, 1.0f, w, NI, in, 1, 1.0f, out, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, NO, NI, 1.0f, in, in_ld,
			    w, NI, 1.0f, out, NO);
}

void linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
		     int in_ld, const float *w, int B, int NI, int NO)
{
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, NO, NI, B, 1.0f, dout, NO,
		    in, in_ld, 1.0f, dw, NI);
	for (int r = 0; r < B; r++)
		for (int o = 0; o < NO; o++)
			db[o] += dout[(size_t)r * NO + o];
	if (din)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, NI, NO, 1.0f, dout, NO,
			    w, NI, 1.0f, din, in_ld);
}


HOT void tanh_forward(float *x, size_t n)
{
	size_t i = 0;

	for (; i + VLEN <= n; i += VLEN)
		v_store(x + i, v_tanh(v_load(x + i)));
	for (; i < n; i++)
		x[i] = fast_tanh(x[i]);
}

void tanh_backward(float *d, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] *= 1.0f - y[i] * y[i];
}

void relu_forward(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(float *d, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = y[i] > 0.0f ? d[i] : 0.0f;
}

HOT void gru_forward(float *h_out, float *gates, float *gh, const float *gi, int gi_ld,
		     const float *h, const float *w_hh, const float *b_hh, int B, int H)
{
	linear_forward(gh, h, H, w_hh, b_hh, B, H, 3 * H);
	for (int b = 0; b < B; b++) {
		const float *xi = gi + (size_t)b * gi_ld, *hh = gh + (size_t)b * 3 * H;
		const float *hp = h + (size_t)b * H;
		float *g = gates + (size_t)b * 4 * H, *ho = h_out + (size_t)b * H;
		int j = 0;

		for (; j + VLEN <= H; j += VLEN) {
			vfloat r = v_sigmoid(v_load(xi + j) + v_load(hh + j));
			vfloat z = v_sigmoid(v_load(xi + H + j) + v_load(hh + H + j));
			vfloat hn = v_load(hh + 2 * H + j);
			vfloat n = v_tanh(v_load(xi + 2 * H + j) + r * hn);

			v_store(g + j, r);
			v_store(g + H + j, z);
			v_store(g + 2 * H + j, n);
			v_store(g + 3 * H + j, hn);
			v_store(ho + j, (1.0f - z) * n + z * v_load(hp + j));
		}
		for (; j < H; j++) {
			float r = fast_sigmoid(xi[j] + hh[j]);
			float z = fast_sigmoid(xi[H + j] + hh[H + j]);
			float n = fast_tanh(xi[2 * H + j] + r * hh[2 * H + j]);

			g[j] = r;
			g[H + j] = z;
			g[2 * H + j] = n;
			g[3 * H + j] = hh[2 * H + j];
			ho[j] = (1.0f - z) * n + z * hp[j];
		}
	}
}

void gru_backward(float *dgi, int gi_ld, float *dh, float *dw_hh, float *db_hh, float *dgh,
		  const float *dh_out, const float *gates, const float *h,
		  const float *w_hh, int B, int H)
{
	for (int b = 0; b < B; b++) {
		const float *g = gates + (size_t)b * 4 * H, *hp = h + (size_t)b * H;
		const float *d = dh_out + (size_t)b * H;
		float *di = dgi + (size_t)b * gi_ld, *dhh = dgh + (size_t)b * 3 * H;
		float *dhp = dh + (size_t)b * H;

		for (int j = 0; j < H; j++) {
			float r = g[j], z = g[H + j], n = g[2 * H + j], hn = g[3 * H + j];
			float dn = d[j] * (1.0f - z) * (1.0f - n * n);
			float dz = d[j] * (hp[j] - n) * z * (1.0f - z);
			float dr = dn * hn * r * (1.0f - r);

			di[j] = dhh[j] = dr;
			di[H + j] = dhh[H + j] = dz;
			di[2 * H + j] = dn;
			dhh[2 * H + j] = dn * r;
			dhp[j] = d[j] * z;
		}
	}
	linear_backward(dh, dw_hh, db_hh, dgh, h, H, w_hh, B, H, 3 * H);
}

void lstm_forward(float *h_out, float *c_out, float *gates, const float *gx, int gx_ld,
		  const float *h, int h_ld, const float *c, const float *w_hh, const float *b_hh,
		  int B, int H)
{
	for (int b = 0; b < B; b++)
		for (int j = 0; j < 4 * H; j++)
			gates[(size_t)b * 4 * H + j] = gx[(size_t)b * gx_ld + j] + b_hh[j];
	if (h)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, 4 * H, H, 1.0f, h, h_ld,
			    w_hh, H, 1.0f, gates, 4 * H);
	for (int b = 0; b < B; b++) {
		float *g = gates + (size_t)b * 4 * H, *co = c_out + (size_t)b * H;
		float *ho = h_out + (size_t)b * h_ld;

		for (int j = 0; j < H; j++) {
			float i = fast_sigmoid(g[j]), f = fast_sigmoid(g[H + j]);
			float gg = fast_tanh(g[2 * H + j]), o = fast_sigmoid(g[3 * H + j]);
			float cp = c ? c[(size_t)b * H + j] : 0.0f;

			g[j] = i;
			g[H + j] = f;
			g[2 * H + j] = gg;
			g[3 * H + j] = o;
			co[j] = f * cp + i * gg;
			ho[j] = o * fast_tanh(co[j]);
		}
	}
}

void lstm_backward(float *dgx, int gx_ld, float *dh, float *dc, float *dw_hh, float *db_hh,
		   const float *dh_out, const float *dc_out, const float *gates,
		   const float *c_out, const float *h, int h_ld, const float *c,
		   const float *w_hh, int B, int H)
{
	for (int b = 0; b < B; b++) {
		const float *g = gates + (size_t)b * 4 * H;
		float *dg = dgx + (size_t)b * gx_ld;

		for (int j = 0; j < H; j++) {
			size_t k = (size_t)b * H + j;
			float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
			float tc = fast_tanh(c_out[k]), dho = dh_out[(size_t)b * h_ld + j];
			float dcs = dc_out[k] + dho * o * (1.0f - tc * tc);
			float cp = c ? c[k] : 0.0f;

			dg[j] = dcs * gg * i * (1.0f - i);
			dg[H + j] = dcs * cp * f * (1.0f - f);
			dg[2 * H + j] = dcs * i * (1.0f - gg * gg);
			dg[3 * H + j] = dho * tc * o * (1.0f - o);
			if (c)
				dc[k] = dcs * f;
			for (int q = 0; q < 4; q++)
				db_hh[q * H + j] += dg[q * H + j];
		}
	}
	if (!h)
		return;
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 4 * H, H, B, 1.0f, dgx, gx_ld,
		    h, h_ld, 1.0f, dw_hh, H);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, 4 * H, 1.0f, dgx, gx_ld,
		    w_hh, H, 1.0f, dh, h_ld);
}

void log_softmax(float *out, const float *logits, int B, int C)
{
	for (int b = 0; b < B; b++) {
		const float *l = logits + (size_t)b * C;
		float *o = out + (size_t)b * C, max = l[0];
		double sum = 0;

		for (int k = 1; k < C; k++)
			max = l[k] > max ? l[k] : max;
		for (int k = 0; k < C; k++)
			sum += exp((double)l[k] - max);
		float lse = max + (float)log(sum);
		for (int k = 0; k < C; k++)
			o[k] = l[k] - lse;
	}
}

float cross_entropy(float *dlogits, const float *logprobs, const int *labels, float smoothing,
		    int B, int C)
{
	const float spread = smoothing / C, on = 1.0f - smoothing + spread;
	double loss = 0;

	for (int b = 0; b < B; b++) {
		const float *lp = logprobs + (size_t)b * C;
		float *d = dlogits + (size_t)b * C;

		for (int k = 0; k < C; k++) {
			float target = k == labels[b] ? on : spread;

			if (target != 0)  /* 0 * -inf would be NaN */
				loss -= (double)target * lp[k];
			d[k] = (expf(lp[k]) - target) / B;
		}
	}
	return (float)(loss / B);
}
