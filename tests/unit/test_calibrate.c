/* SPDX-License-Identifier: MIT */
/* Calibration: the fitted temperature recovers the one that made the
 * labels, the ECE of calibrated predictions is small and of overconfident
 * ones large, cross-fitting scales each fold by the others' fit, and
 * odeflow calibrate stores the temperature that model_classify then
 * applies. */
#include "common/rng.h"
#include "engine/model.h"
#include "harness.h"
#include "scratch.h"
#include "subprocess.h"
#include "train/calibrate.h"
#include "train/npy.h"

int cmd_calibrate(int argc, char **argv);

#define N 20000
#define C 5

static float logits[N * C];
static int labels[N];

/* Logits at random; each label drawn from softmax(logits / T). */
static void make(double T, uint64_t seed)
{
	struct rng r = { seed };

	for (int i = 0; i < N; i++) {
		double p[C], sum = 0, u;
		int k;

		for (k = 0; k < C; k++) {
			logits[i * C + k] = (float)(6.0 * ((double)(rng_next(&r) >> 11) * 0x1p-53) - 3.0);
			p[k] = exp(logits[i * C + k] / T);
			sum += p[k];
		}
		u = (double)(rng_next(&r) >> 11) * 0x1p-53 * sum;
		for (k = 0; k < C - 1 && u >= p[k]; k++)
			u -= p[k];
		labels[i] = k;
	}
}

static void test_fit_recovers_the_temperature(void)
{
	static const double temps[] = { 0.5, 1.0, 2.5 };

	for (int t = 0; t < 3; t++) {
		double fitted;

		make(temps[t], 7 + t);
		fitted = calib_fit_temperature(logits, labels, N, C);
		CHECKF(fabs(fitted / temps[t] - 1) < 0.08, "made with T = %g, fitted %g", temps[t],
		       fitted);
	}
}

static void test_ece(void)
{
	static float lp[N * C];
	double calibrated, raw;

	make(3.0, 11);  /* logits 3 times too sharp: overconfident */
	memcpy(lp, logits, sizeof(lp));
	calib_apply(lp, N, C, 1.0);
	raw = calib_ece(lp, labels, N, C);
	memcpy(lp, logits, sizeof(lp));
	calib_apply(lp, N, C, 3.0);
	calibrated = calib_ece(lp, labels, N, C);
	CHECKF(raw > 0.1 && calibrated < 0.02, "ECE %.4f overconfident, %.4f calibrated", raw,
	       calibrated);
	for (int i = 0; i < N; i++) {
		double sum = 0;

		for (int k = 0; k < C; k++)
			sum += exp(lp[i * C + k]);
		CHECK_NEAR(sum, 1, 1e-5);
	}
}

/* Fold 0 made with T = 1, fold 1 with T = 3: each is scaled by the other's
 * fit, so the cross-fitted rows are badly calibrated where a shared fit
 * would hide it. */
static void test_crossfit_uses_the_other_folds(void)
{
	static float a[N * C], out[N * C];
	static int la[N], fold[N];
	double Ta, Tb;

	make(1.0, 3);
	memcpy(a, logits, sizeof(a));
	memcpy(la, labels, sizeof(la));
	make(3.0, 4);
	for (int i = 0; i < N; i++)
		fold[i] = i >= N / 2;
	memcpy(a + (N / 2) * C, logits + (N / 2) * C, sizeof(float) * (N / 2) * C);
	memcpy(la + N / 2, labels + N / 2, sizeof(int) * (N / 2));
	CHECK(calib_crossfit(a, la, fold, 2, N, C, out) == 0);
	Ta = calib_fit_temperature(a, la, N / 2, C);
	Tb = calib_fit_temperature(a + (N / 2) * C, la + N / 2, N / 2, C);
	/* row 0 (fold 0) is a scaled by fold 1's temperature, and the other way round */
	for (int k = 0; k < C; k++) {
		float expect[C];

		memcpy(expect, a, sizeof(expect));
		calib_apply(expect, 1, C, Tb);
		CHECK_NEAR(out[k], expect[k], 1e-5);
		memcpy(expect, a + (N - 1) * C, sizeof(expect));
		calib_apply(expect, 1, C, Ta);
		CHECK_NEAR(out[(N - 1) * C + k], expect[k], 1e-5);
	}
}

/* The command stores the fitted temperature; the engine divides by it. */
static void test_command(void)
{
	static double lp[N * C], y[N];
	size_t shape[2] = { N, C };
	char path[400], err[300];
	struct model *m = NULL, *back = NULL;
	struct model_config cfg;
	struct model_ws *ws;
	float sizes[20], raw[C], cal[C];
	double times[20], T;
	int rc;

	make(2.0, 5);
	for (int i = 0; i < N; i++) {
		float row[C];

		memcpy(row, logits + i * C, sizeof(row));
		calib_apply(row, 1, C, 1.0);
		for (int k = 0; k < C; k++)
			lp[i * C + k] = row[k];
		y[i] = labels[i];
	}
	snprintf(path, sizeof(path), "%s_logprobs.npy", tmp_path("pred"));
	CHECK(npy_write(path, NPY_F64, 2, shape, lp, err, sizeof(err)) == 0);
	snprintf(path, sizeof(path), "%s_y.npy", tmp_path("pred"));
	CHECK(npy_write(path, NPY_I64, 1, shape, y, err, sizeof(err)) == 0);
	model_config_defaults(ARCH_ODERNN, &cfg);
	CHECK(model_create(&cfg, 1, &m, err, sizeof(err)) == 0);
	CHECK(model_save(m, tmp_path("m.safetensors"), err, sizeof(err)) == 0);
	rc = run_command(cmd_calibrate, "calibrate", "--model", tmp_path("m.safetensors"),
			 "--predictions", tmp_path("pred"), "--out", tmp_path("c.safetensors"), NULL);
	CHECKF(rc == 0 && strstr(command_output, "temperature 2.0") &&
	       strstr(command_output, "saved "), "exit %d: %s", rc, command_output);
	CHECKF(model_load(tmp_path("c.safetensors"), &back, err, sizeof(err)) == 0, "%s", err);
	if (!back)
		goto out;
	T = model_config(back)->temperature;
	CHECKF(fabs(T - 2) < 0.1, "stored temperature %g", T);
	/* the same logits, divided by T */
	for (int i = 0; i < 20; i++) {
		sizes[i] = 100 + 50 * i;
		times[i] = 0.01 * i;
	}
	ws = model_ws_new(m, 1);
	CHECK(model_classify(m, ws, 1, sizes, times, raw) == 0);
	model_ws_free(ws);
	ws = model_ws_new(back, 1);
	CHECK(model_classify(back, ws, 1, sizes, times, cal) == 0);
	model_ws_free(ws);
	calib_apply(raw, 1, C, T);
	for (int k = 0; k < C; k++)
		CHECK_NEAR(cal[k], raw[k], 1e-5);
	/* bad input: one line, exit 1, nothing written */
	lp[7] = 0.5;
	snprintf(path, sizeof(path), "%s_logprobs.npy", tmp_path("bad"));
	CHECK(npy_write(path, NPY_F64, 2, shape, lp, err, sizeof(err)) == 0);
	snprintf(path, sizeof(path), "%s_y.npy", tmp_path("bad"));
	CHECK(npy_write(path, NPY_I64, 1, shape, y, err, sizeof(err)) == 0);
	rc = run_command(cmd_calibrate, "calibrate", "--model", tmp_path("m.safetensors"),
			 "--predictions", tmp_path("bad"), "--out", tmp_path("never.safetensors"), NULL);
	CHECKF(rc == 1 && strstr(command_output, "element 7 (0.5) is not a log-probability") &&
	       !strchr(command_output, '\n')[1], "exit %d: %s", rc, command_output);
	CHECK(access(tmp_path("never.safetensors"), F_OK) != 0);
	rc = run_command(cmd_calibrate, "calibrate", "--model", tmp_path("m.safetensors"),
			 "--predictions", tmp_path("missing"), NULL);
	CHECK(rc == 1);
out:
	model_free(m);
	model_free(back);
}

int main(void)
{
	if (scratch_create("calibrate"))
		return 1;
	RUN(test_fit_recovers_the_temperature);
	RUN(test_ece);
	RUN(test_crossfit_uses_the_other_folds);
	RUN(test_command);
	scratch_remove();
	return harness_done();
}
