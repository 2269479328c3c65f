/* SPDX-License-Identifier: MIT */
/* The cascade: one decision per window, windows of a connection (both
 * directions) averaged until confident or max_windows, the other
 * direction's first window after a final verdict, re-arm requests. */
#include <limits.h>

#include "harness.h"
#include "agent/cascade.h"
#include "common/errmsg.h"
#include "common/flow_hash.h"
#include "common/flow_key.h"

#define N 20

/* The ASan build: an allocation that cannot be had returns NULL, as it does
 * without ASan, so the test of out of memory runs under both. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static struct model *new_model(void)
{
	struct model_config cfg;

	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.hidden = cfg.ode_hidden = 8;
	cfg.window = N;
	cfg.rk4_steps = 1;
	struct model *m = NULL;
	char err[256];

	if (model_create(&cfg, 7, &m, err, sizeof(err)))
		printf("  model_create: %s\n", err);
	return m;
}

static struct cascade *new_cascade(struct model *m, const struct cascade_options *o)
{
	struct cascade *c = NULL;
	char err[ERRMSG_LEN];

	if (cascade_new(m, o, &c, err, sizeof(err)))
		printf("  cascade_new: %s\n", err);
	return c;
}

/* A window of direction a→b (or b→a when reverse) with varied packets. */
static struct window_record make_window(int conn, int reverse, int salt)
{
	struct window_record w = { 0 };
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff, 10, 200, 0, 1 };
	uint8_t b[16] = { [10] = 0xff, [11] = 0xff, 10, 200, 1, 1 };

	b[15] = (uint8_t)conn;
	memcpy(reverse ? w.key.daddr : w.key.saddr, a, 16);
	memcpy(reverse ? w.key.saddr : w.key.daddr, b, 16);
	w.key.sport = reverse ? 443 : (uint16_t)(40000 + conn);
	w.key.dport = reverse ? (uint16_t)(40000 + conn) : 443;
	w.key.proto = 6;
	w.n = N;
	for (int i = 0; i < N; i++) {
		w.sizes[i] = (uint16_t)(40 + ((i * 37 + salt * 11) % 1460));
		w.offset_us[i] = (uint32_t)(i * (1000 + salt * 13));
	}
	return w;
}

static void test_confident_first_window_is_final(void)
{
	int failed;
	struct model *m = new_model();
	struct cascade_options o = { .threshold = 0, .max_windows = 4, .max_connections = 64 };
	struct cascade *c = new_cascade(m, &o);
	struct cascade_ws *ws = c ? cascade_ws_new(c, 4) : NULL;
	struct window_record w = make_window(1, 0, 0);
	struct decision d;

	CHECK(c && ws);
	CHECK(cascade_decide(c, ws, 1, &w, &d, &failed) == 1);
	CHECK(d.stage == 1 && !d.provisional && !d.rearm);
	CHECK(d.confidence > 0 && d.confidence <= 1);
	CHECK(d.class_id >= 0 && d.class_id < 5);
	/* the decision's class is the window's most likely class */
	for (int k = 0; k < 5; k++)
		CHECK(d.window_logprobs[k] <= d.window_logprobs[d.class_id]);
	CHECK_NEAR(d.confidence, expf(d.window_logprobs[d.class_id]), 1e-5);
	cascade_free(c);
	cascade_ws_free(ws);
	model_free(m);
}

static void test_uncertain_connection_averages_both_directions(void)
{
	int failed;
	struct model *m = new_model();
	struct cascade_options o = { .threshold = 1.0f, .max_windows = 3, .max_connections = 64 };
	struct cascade *c = new_cascade(m, &o);
	struct cascade_ws *ws = c ? cascade_ws_new(c, 4) : NULL;
	struct window_record w[3] = { make_window(2, 0, 0), make_window(2, 1, 1), make_window(2, 0, 2) };
	struct decision d[3], extra;
	float mean[5], best = -INFINITY, norm = 0;
	int cls = 0;

	CHECK(cascade_decide(c, ws, 2, w, d, &failed) == 2);
	CHECK(!memcmp(&d[0].connection, &d[1].connection, sizeof(struct flow_key)));
	CHECK(d[0].stage == 1 && d[0].provisional && d[0].rearm);
	CHECK(d[1].stage == 2 && d[1].provisional && d[1].rearm);
	CHECK(cascade_decide(c, ws, 1, &w[2], &d[2], &failed) == 1);
	CHECK(d[2].stage == 3 && !d[2].provisional && !d[2].rearm);
	/* the verdict is the renormalised mean of the three windows' log-probabilities */
	for (int k = 0; k < 5; k++) {
		mean[k] = (d[0].window_logprobs[k] + d[1].window_logprobs[k] + d[2].window_logprobs[k]) / 3;
		if (mean[k] > best) {
			best = mean[k];
			cls = k;
		}
	}
	for (int k = 0; k < 5; k++)
		norm += expf(mean[k] - best);
	CHECK(d[2].class_id == cls);
	CHECK_NEAR(d[2].confidence, 1 / norm, 1e-5);
	/* a final connection stays final and is not re-armed again */
	CHECK(cascade_decide(c, ws, 1, &w[0], &extra, &failed) == 1);
	CHECK(extra.stage == 3 && !extra.rearm && extra.class_id == cls);
	cascade_free(c);
	cascade_ws_free(ws);
	model_free(m);
}

/* A final verdict from one direction's first window still takes in the
 * other direction's first window (never a later one), and says where each
 * direction's last window came from. */
static void test_final_verdict_takes_in_the_other_direction(void)
{
	int failed;
	struct model *m = new_model();
	struct cascade_options o = { .threshold = 0, .max_windows = 4, .max_connections = 64 };
	struct cascade *c = new_cascade(m, &o);
	struct cascade_ws *ws = c ? cascade_ws_new(c, 4) : NULL;
	struct window_record w[3] = { make_window(5, 0, 0), make_window(5, 1, 1), make_window(5, 1, 2) };
	struct decision d[3];
	float mean[5], best = -INFINITY, norm = 0;
	int cls = 0;

	w[0].ifindex = 3;
	w[1].ifindex = 4;
	w[1].egress = 1;
	w[2].ifindex = 4;
	CHECK(c && ws);
	CHECK(cascade_decide(c, ws, 1, &w[0], &d[0], &failed) == 1);
	CHECK(d[0].stage == 1 && !d[0].provisional);
	CHECK(d[0].ifindex[0] == 3 && d[0].ifindex[1] == 0 && d[0].egress == 0);
	CHECK(cascade_decide(c, ws, 1, &w[1], &d[1], &failed) == 1);
	CHECK(d[1].stage == 2 && !d[1].provisional && !d[1].rearm);
	CHECK(d[1].directions_seen == (VERDICT_SEEN_FORWARD | VERDICT_SEEN_REVERSE));
	CHECK(d[1].ifindex[0] == 3 && d[1].ifindex[1] == 4 && d[1].egress == VERDICT_SEEN_REVERSE);
	for (int k = 0; k < 5; k++) {
		mean[k] = (d[0].window_logprobs[k] + d[1].window_logprobs[k]) / 2;
		if (mean[k] > best) {
			best = mean[k];
			cls = k;
		}
	}
	for (int k = 0; k < 5; k++)
		norm += expf(mean[k] - best);
	CHECK(d[1].class_id == cls);
	CHECK_NEAR(d[1].confidence, 1 / norm, 1e-5);
	/* a second window of a direction already in: the verdict stands */
	CHECK(cascade_decide(c, ws, 1, &w[2], &d[2], &failed) == 1);
	CHECK(d[2].stage == 2 && d[2].class_id == cls && d[2].egress == 0);
	CHECK_NEAR(d[2].confidence, d[1].confidence, 1e-7);
	cascade_free(c);
	cascade_ws_free(ws);
	model_free(m);
}

static void test_connections_are_forgotten_oldest_first(void)
{
	int failed;
	struct model *m = new_model();
	struct cascade_options o = { .threshold = 1.0f, .max_windows = 5, .max_connections = 8 };
	struct cascade *c = new_cascade(m, &o);
	struct cascade_ws *ws = c ? cascade_ws_new(c, 1) : NULL;
	struct window_record w;
	struct decision d;

	/* 100 connections through a cascade that remembers 8: no failure, and
	 * a recent connection is still remembered while the first is not */
	for (int i = 0; i < 100; i++) {
		w = make_window(i, 0, i);
		CHECK(cascade_decide(c, ws, 1, &w, &d, &failed) == 1 && d.stage == 1);
	}
	w = make_window(99, 1, 5);
	CHECK(cascade_decide(c, ws, 1, &w, &d, &failed) == 1 && d.stage == 2);
	w = make_window(0, 1, 5);
	CHECK(cascade_decide(c, ws, 1, &w, &d, &failed) == 1 && d.stage == 1);
	cascade_free(c);
	cascade_ws_free(ws);
	model_free(m);
}

static void test_rejects_bad_input(void)
{
	int failed;
	struct model *m = new_model();
	struct cascade_options o = { .threshold = 0.5f, .max_windows = 2, .max_connections = 8 };
	struct cascade_options bad = { .threshold = 2.0f, .max_windows = 2, .max_connections = 8 };
	struct cascade *c = new_cascade(m, &o);
	struct cascade_ws *ws = c ? cascade_ws_new(c, 1) : NULL;
	struct window_record w = make_window(3, 0, 0);
	struct decision d;
	struct cascade *bad_c;
	char err[ERRMSG_LEN];

	CHECK(cascade_new(m, &bad, &bad_c, err, sizeof(err)) == -1 && !bad_c);
	CHECK(strstr(err, "threshold 2 is not from 0 to 1"));
	bad = (struct cascade_options){ .threshold = 0.5f, .max_windows = 0, .max_connections = 8 };
	CHECK(cascade_new(m, &bad, &bad_c, err, sizeof(err)) == -1 && strstr(err, "max-windows 0"));
	/* out of memory is said as such, not as a bad option */
	bad = (struct cascade_options){ .threshold = 0.5f, .max_windows = 2,
					.max_connections = INT_MAX };
	CHECKF(cascade_new(m, &bad, &bad_c, err, sizeof(err)) == -1 &&
	       strstr(err, "out of memory for the cascade's"), "%s", err);
	w.n = N - 1;
	CHECK(cascade_decide(c, ws, 1, &w, &d, &failed) == -1);
	cascade_free(c);
	cascade_ws_free(ws);
	model_free(m);
}

/* A window the model cannot take (times running backwards) fails alone:
 * the windows around it in the batch are decided as if it were not there. */
static void test_a_failed_window_fails_alone(void)
{
	struct model *m = new_model();
	struct cascade_options o = { .threshold = 0, .max_windows = 1, .max_connections = 8 };
	struct cascade *c = new_cascade(m, &o);
	struct cascade_ws *ws = c ? cascade_ws_new(c, 3) : NULL;
	struct window_record w[3] = { make_window(1, 0, 1), make_window(2, 0, 2),
				      make_window(3, 0, 3) };
	struct decision d[3], alone;
	int failed;

	w[1].offset_us[5] = w[1].offset_us[4] - 1;
	CHECK(cascade_decide(c, ws, 3, w, d, &failed) == 2 && failed == 1);
	CHECK(d[0].window.key.sport == w[0].key.sport && d[1].window.key.sport == w[2].key.sport);
	cascade_ws_free(ws);
	cascade_free(c);
	c = new_cascade(m, &o);
	ws = cascade_ws_new(c, 3);
	CHECK(cascade_decide(c, ws, 1, &w[2], &alone, &failed) == 1 && failed == 0);
	CHECK(alone.class_id == d[1].class_id && fabsf(alone.confidence - d[1].confidence) < 1e-6f);
	cascade_free(c);
	cascade_ws_free(ws);
	model_free(m);
}

/* A window of connection number i (any of 2^24), one direction. */
static struct window_record window_of(uint32_t i, int salt)
{
	struct window_record w = make_window(0, 0, salt);

	w.key.daddr[13] = (uint8_t)(i >> 16);
	w.key.daddr[14] = (uint8_t)(i >> 8);
	w.key.daddr[15] = (uint8_t)i;
	return w;
}

/* Connections chosen to share one home slot under a known hash key fill
 * its probe run; past FLOW_HASH_MAX_PROBE each new one takes the run's last
 * slot. So the run never grows: the first connections stay remembered, the
 * ones that passed through the last slot are forgotten, and the cascade
 * never walks further than the bound, whatever keys arrive. */
static void test_colliding_connections_never_lengthen_a_probe_run(void)
{
	enum { PLANTED = FLOW_HASH_MAX_PROBE + 10, CAPACITY = 1024 };
	const struct flow_hash_key key = { .bytes = "planted:odeflow" };
	struct model *m = new_model();
	struct cascade_options o = { .threshold = 1.0f, .max_windows = 10,
				     .max_connections = CAPACITY, .hash_key = &key };
	struct cascade *c = new_cascade(m, &o);
	struct cascade_ws *ws = c ? cascade_ws_new(c, 1) : NULL;
	struct window_record planted[PLANTED], w;
	struct decision d;
	struct flow_key canon;
	uint64_t home = 0;
	int n = 0, failed;

	CHECK(c && ws);
	if (!ws)
		goto out;
	/* the cascade's tables have CAPACITY slots (max_connections, a power of two) */
	for (uint32_t i = 0; n < PLANTED; i++) {
		w = window_of(i, 0);
		flow_key_canonical(&w.key, &canon);
		if (!n)
			home = flow_hash(&key, &canon) & (CAPACITY - 1);
		if ((flow_hash(&key, &canon) & (CAPACITY - 1)) == home)
			planted[n++] = w;
	}
	for (int i = 0; i < PLANTED; i++)
		CHECK(cascade_decide(c, ws, 1, &planted[i], &d, &failed) == 1 && d.stage == 1);
	/* the last planted holds the run's last slot; those before it there are gone */
	w = planted[PLANTED - 1];
	CHECK(cascade_decide(c, ws, 1, &w, &d, &failed) == 1 && d.stage == 2);
	w = planted[0];
	CHECK(cascade_decide(c, ws, 1, &w, &d, &failed) == 1 && d.stage == 2);
	w = planted[FLOW_HASH_MAX_PROBE - 2];
	CHECK(cascade_decide(c, ws, 1, &w, &d, &failed) == 1 && d.stage == 2);
	for (int i = FLOW_HASH_MAX_PROBE - 1; i < PLANTED - 1; i++) {
		w = planted[i];
		CHECKF(cascade_decide(c, ws, 1, &w, &d, &failed) == 1 && d.stage == 1,
		       "planted connection %d: stage %d, not forgotten", i, d.stage);
	}
out:
	cascade_ws_free(ws);
	cascade_free(c);
	model_free(m);
}

/* A model with the Unknown score 'confidence' (1 - its top probability)
 * and windows a (score lower) and b (score higher): a threshold between
 * them makes b Unknown and leaves a named. */
static struct model *unknown_model(struct window_record *a, struct window_record *b)
{
	struct model *m = new_model();
	struct model_config cfg;
	float sizes[2 * N], lp[2 * 5], score[2];
	double times[2 * N];
	struct window_record w[2] = { make_window(1, 0, 1), make_window(2, 0, 5) };
	struct model_ws *ws;
	struct model *u = NULL;
	char err[ERRMSG_LEN];

	if (!m)
		return NULL;
	cfg = *model_config(m);
	model_free(m);
	cfg.unknown = UNKNOWN_CONFIDENCE;
	if (model_create(&cfg, 7, &u, err, sizeof(err)))
		return NULL;
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < N; j++) {
			sizes[i * N + j] = w[i].sizes[j];
			times[i * N + j] = w[i].offset_us[j] * 1e-6;
		}
	ws = model_ws_new(u, 2);
	CHECK(ws && model_classify_scored(u, ws, 2, sizes, times, lp, score, NULL) == 0);
	model_ws_free(ws);
	CHECK(score[0] != score[1]);
	*a = w[score[0] < score[1] ? 0 : 1];
	*b = w[score[0] < score[1] ? 1 : 0];
	CHECK(model_set_unknown_threshold(u, (score[0] + score[1]) / 2, err, sizeof(err)) == 0);
	return u;
}

/* A window unlike the training data adds nothing to the connection's
 * average and asks for the next window: while it is all the connection
 * has, the connection is a provisional Unknown (the class id after the
 * model's classes); a named window that is sure enough then settles it. */
static void test_unknown_asks_for_the_next_window(void)
{
	struct window_record a, b, w[2];
	struct model *m = unknown_model(&a, &b);
	struct cascade_options o = { .threshold = 0, .max_windows = 3, .max_connections = 64 };
	struct cascade *c = m ? new_cascade(m, &o) : NULL;
	struct cascade_ws *ws = c ? cascade_ws_new(c, 2) : NULL;
	struct decision d[2];
	int failed;

	CHECK(m && c && ws);
	if (!ws)
		return;
	w[0] = b;               /* Unknown */
	w[1] = a;               /* named, the same connection */
	w[1].key = b.key;
	CHECK(cascade_decide(c, ws, 1, &w[0], &d[0], &failed) == 1);
	CHECK(d[0].unknown && d[0].class_id == 5 && d[0].provisional && d[0].rearm);
	CHECK(d[0].stage == 1 && d[0].confidence == 1.0f);
	CHECK(cascade_decide(c, ws, 1, &w[1], &d[1], &failed) == 1);
	CHECK(!d[1].unknown && d[1].class_id >= 0 && d[1].class_id < 5);
	CHECK(!d[1].provisional && !d[1].rearm && d[1].stage == 2);
	cascade_ws_free(ws);
	cascade_free(c);
	model_free(m);
}

/* At max_windows a connection settles on Unknown when at least half of its
 * windows were Unknown (a tie too), on its named windows' class otherwise; a final
 * Unknown stays so for the windows that come after. */
static void test_unknown_settles_by_the_majority(void)
{
	struct window_record a, b;
	struct model *m = unknown_model(&a, &b);
	struct cascade_options o = { .threshold = 1, .max_windows = 3, .max_connections = 64 };
	struct cascade *c = m ? new_cascade(m, &o) : NULL;
	struct cascade_ws *ws = c ? cascade_ws_new(c, 4) : NULL;
	struct window_record u1[4], u2[3];
	struct decision d1[4], d2[3];
	int failed;

	CHECK(m && c && ws);
	if (!ws)
		return;
	/* connection 1: Unknown, named, Unknown, then one more named */
	u1[0] = b, u1[1] = a, u1[2] = b, u1[3] = a;
	/* connection 2: named, Unknown, named */
	u2[0] = a, u2[1] = b, u2[2] = a;
	for (int i = 0; i < 4; i++)
		u1[i].key = make_window(7, 0, 0).key;
	for (int i = 0; i < 3; i++)
		u2[i].key = make_window(8, 0, 0).key;
	for (int i = 0; i < 4; i++)
		CHECK(cascade_decide(c, ws, 1, &u1[i], &d1[i], &failed) == 1);
	for (int i = 0; i < 3; i++)
		CHECK(cascade_decide(c, ws, 1, &u2[i], &d2[i], &failed) == 1);
	CHECK(d1[0].unknown && d1[0].provisional);
	CHECK(d1[1].unknown && d1[1].provisional && d1[1].stage == 2); /* a tie is Unknown */
	CHECK(d1[2].unknown && !d1[2].provisional && !d1[2].rearm && d1[2].class_id == 5);
	CHECK(fabsf(d1[2].confidence - 2.0f / 3) < 1e-6f);
	CHECK(d1[3].unknown && d1[3].stage == 3 && !d1[3].provisional);
	CHECK(!d2[2].unknown && !d2[2].provisional && d2[2].class_id == d2[0].class_id);
	cascade_ws_free(ws);
	cascade_free(c);
	model_free(m);
}

/* A model without an Unknown score never gives it. */
static void test_no_unknown_score_names_every_connection(void)
{
	struct model *m = new_model();
	struct cascade_options o = { .threshold = 1, .max_windows = 2, .max_connections = 64 };
	struct cascade *c = new_cascade(m, &o);
	struct cascade_ws *ws = c ? cascade_ws_new(c, 1) : NULL;
	struct window_record w = make_window(3, 0, 4);
	struct decision d;
	int failed;

	CHECK(c && ws);
	for (int i = 0; i < 2 && ws; i++) {
		CHECK(cascade_decide(c, ws, 1, &w, &d, &failed) == 1);
		CHECK(!d.unknown && d.class_id < 5);
	}
	CHECK(!d.provisional);
	cascade_ws_free(ws);
	cascade_free(c);
	model_free(m);
}

int main(void)
{
	RUN(test_confident_first_window_is_final);
	RUN(test_uncertain_connection_averages_both_directions);
	RUN(test_final_verdict_takes_in_the_other_direction);
	RUN(test_connections_are_forgotten_oldest_first);
	RUN(test_rejects_bad_input);
	RUN(test_a_failed_window_fails_alone);
	RUN(test_colliding_connections_never_lengthen_a_probe_run);
	RUN(test_unknown_asks_for_the_next_window);
	RUN(test_unknown_settles_by_the_majority);
	RUN(test_no_unknown_score_names_every_connection);
	return harness_done();
}
