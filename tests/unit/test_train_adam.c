/* SPDX-License-Identifier: MIT */
/* The optimiser against PyTorch's AdamW (tools/reference/adam_reference.py), gradient
 * clipping, and the learning-rate schedule. */
#include "train/adam.h"
#include "harness.h"

static void test_matches_pytorch_adamw(void)
{
	static const float expect[5][4] = {
		{ 3.995000124e-01f, -8.990000486e-01f, 1.898000002e+00f, 9.999998659e-02f },
		{ 3.033947647e-01f, -7.984088659e-01f, 1.796303511e+00f, 1.956489980e-01f },
		{ 2.187975496e-01f, -6.984735727e-01f, 1.695062995e+00f, 2.799289823e-01f },
		{ 1.560087502e-01f, -5.994772315e-01f, 1.594445586e+00f, 3.426530659e-01f },
		{ 1.218742505e-01f, -5.017424822e-01f, 1.494634151e+00f, 3.769363761e-01f },
	};
	float p[4] = { 0.5f, -1.0f, 2.0f, 0.0f }, c[4] = { 1, 3, 0.5f, 2 }, g[4];
	struct adam a;

	CHECK(adam_init(&a, 4, 0.01f) == 0);
	for (int step = 0; step < 5; step++) {
		for (int i = 0; i < 4; i++)
			g[i] = 2 * c[i] * (p[i] - 0.25f); /* d/dp of c (p - 0.25)^2 */
		adam_step(&a, p, g, 0.1f);
		for (int i = 0; i < 4; i++)
			CHECK_NEAR(p[i], expect[step][i], 2e-6);
	}
	adam_free(&a);
}

static void test_clip(void)
{
	float g[2] = { 3, 4 }, small[2] = { 0.3f, 0.4f };

	CHECK_NEAR(clip_grad_norm(g, 2, 1.0), 5.0, 1e-6);
	CHECK_NEAR(g[0], 0.6, 1e-6);
	CHECK_NEAR(g[1], 0.8, 1e-6);
	CHECK_NEAR(clip_grad_norm(small, 2, 1.0), 0.5, 1e-6);
	CHECK(small[0] == 0.3f && small[1] == 0.4f); /* under the limit: untouched */
	CHECK_NEAR(clip_grad_norm(g, 2, 0), 1.0, 1e-6); /* 0: no limit */
}

static void test_schedule(void)
{
	struct lr_schedule s = { .lr = 1e-2, .lr_min = 1e-4, .warmup_steps = 10, .total_steps = 111 };

	CHECK_NEAR(lr_at(&s, 0), 1e-3, 1e-12);
	CHECK_NEAR(lr_at(&s, 9), 1e-2, 1e-12);
	CHECK_NEAR(lr_at(&s, 10), 1e-2, 1e-12);
	CHECK_NEAR(lr_at(&s, 60), (1e-2 + 1e-4) / 2, 1e-6);
	CHECK_NEAR(lr_at(&s, 110), 1e-4, 1e-12);
	CHECK_NEAR(lr_at(&s, 500), 1e-4, 1e-12); /* past the end: stays at the floor */
	for (long i = 11; i < 111; i++)
		CHECK(lr_at(&s, i) < lr_at(&s, i - 1));
}

/* PyTorch's OneCycleLR (tools/reference/adam_reference.py): 110 steps, 33 rising. */
static void test_one_cycle(void)
{
	static const double expect[][3] = {
		{ 0, 4.000000000000e-04, 9.500000000000e-01 },
		{ 1, 4.231133119735e-04, 9.497592363336e-01 },
		{ 16, 5.200000000000e-03, 9.000000000000e-01 },
		{ 32, 1.000000000000e-02, 8.500000000000e-01 },
		{ 33, 9.995880606756e-03, 8.500416100328e-01 },
		{ 60, 7.106304314359e-03, 8.792292493499e-01 },
		{ 109, 1.000000000000e-04, 9.500000000000e-01 },
	};
	struct lr_schedule s = { .lr = 1e-2, .lr_min = 1e-4, .warmup_steps = 33, .total_steps = 110,
				 .one_cycle = true };
	struct lr_schedule cosine = s;

	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		CHECK_NEAR(lr_at(&s, (long)expect[i][0]), expect[i][1], 1e-12);
		CHECK_NEAR(beta1_at(&s, (long)expect[i][0]), expect[i][2], 1e-12);
	}
	cosine.one_cycle = false;
	CHECK(beta1_at(&cosine, 50) == 0.9);
}

/* Frozen parameters stay exactly as they are: no step, no weight decay. */
static void test_frozen(void)
{
	float p[3] = { 1, 2, 3 }, g[3] = { 0.5f, 0.5f, 0.5f };
	unsigned char frozen[3] = { 0, 1, 0 };
	struct adam a;

	CHECK(adam_init(&a, 3, 0.1f) == 0);
	a.frozen = frozen;
	adam_step(&a, p, g, 0.1f);
	CHECK(p[0] != 1 && p[1] == 2 && p[2] != 3);
	adam_free(&a);
}

int main(void)
{
	RUN(test_matches_pytorch_adamw);
	RUN(test_clip);
	RUN(test_schedule);
	RUN(test_one_cycle);
	RUN(test_frozen);
	return harness_done();
}
