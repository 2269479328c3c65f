/* SPDX-License-Identifier: MIT */
/* The trainer's smaller parts: the moving average of the weights and the
 * augmentation of a window. */
#include "harness.h"
#include "train/augment.h"
#include "train/ema.h"

/* The average follows its formula step by step; swapping puts it in place
 * and the trained weights back. */
static void test_ema(void)
{
	struct ema e;
	float p[2], keep[2];
	double avg[2] = { 0, 0 };

	CHECK(ema_init(&e, 2, 0.9) == 0);
	for (long step = 0; step < 50; step++) {
		double warm = (1.0 + step) / (10.0 + step), d = warm < 0.9 ? warm : 0.9;

		p[0] = (float)step;
		p[1] = (float)(100 - 2 * step);
		ema_update(&e, p, step);
		for (int i = 0; i < 2; i++)
			avg[i] = step ? d * avg[i] + (1 - d) * p[i] : p[i];
		CHECK_NEAR(e.avg[0], avg[0], 1e-3);
		CHECK_NEAR(e.avg[1], avg[1], 1e-3);
	}
	/* late in a rising run the average lags behind, by about d / (1 - d)
	 * steps: d is still warming up (50/59) at step 49 */
	CHECKF(e.avg[0] > 42 && e.avg[0] < 45, "average %g at step 49", e.avg[0]);
	memcpy(keep, p, sizeof(p));
	ema_swap(&e, p, true);
	CHECK(p[0] == e.avg[0] && p[1] == e.avg[1]);
	ema_swap(&e, p, false);
	CHECK(!memcmp(p, keep, sizeof(p)));
	ema_free(&e);
}

static void test_augment(void)
{
	float sizes[6] = { 40, 1500, 52, 0, 65535, 600 }, out[6];
	double times[6] = { 10.0, 10.001, 10.5, 10.5, 12.0, 20.0 }, t[6];
	struct rng r = { 1 };
	int shifted = 0, stretched = 0;

	augment_window(6, sizes, times, 0, 0, &r, out, t);
	CHECK(!memcmp(out, sizes, sizeof(out)) && !memcmp(t, times, sizeof(t)) && r.state == 1);
	for (int i = 0; i < 200; i++) {
		double stretch;
		float shift;

		augment_window(6, sizes, times, 0.2, 8, &r, out, t);
		stretch = (t[5] - t[0]) / (times[5] - times[0]);
		shift = out[5] - sizes[5];
		CHECK(t[0] == times[0] && stretch >= exp(-0.2) - 1e-12 && stretch <= exp(0.2) + 1e-12);
		for (int p = 1; p < 6; p++)
			CHECK(t[p] >= t[p - 1] && fabs((t[p] - t[0]) - stretch * (times[p] - times[0])) < 1e-9);
		/* one whole shift for every packet, kept within 0..65535 */
		CHECK(shift == floorf(shift) && shift >= -8 && shift <= 8);
		CHECK(out[0] == sizes[0] + shift && out[1] == sizes[1] + shift);
		CHECK(out[3] == fmaxf(shift, 0) && out[4] == fminf(65535 + shift, 65535));
		shifted += shift != 0;
		stretched += stretch != 1;
	}
	CHECK(shifted > 150 && stretched == 200);
}

int main(void)
{
	RUN(test_ema);
	RUN(test_augment);
	return harness_done();
}
