// SPDX-License-Identifier: MIT
/* The model loader against truncated, corrupt and hostile files: each gets
 * one error naming the problem (this test also runs under ASan+UBSan, so an
 * out-of-bounds read would fail it). */
#include "engine/arch.h"
#include "harness.h"
#include "engine/model.h"
#include "engine/safetensors.h"
#include "engine/trees.h"
#include "engine/window_features.h"

static char tmp_path[] = "/tmp/odeflow-test-file-XXXXXX";

/* The whole file m saves, read back into memory. */
static uint8_t *file_of(const struct model *m, size_t *len)
{
	char err[256];
	uint8_t *buf;
	FILE *f;

	if (model_save(m, tmp_path, err, sizeof(err)))
		printf("  %s\n", err);
	f = fopen(tmp_path, "rb");
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len);
	if (fread(buf, 1, *len, f) != *len)
		*len = 0;
	fclose(f);
	return buf;
}

/* A small valid odernn model file, read back into memory. */
static uint8_t *valid_file(size_t *len, struct model **out)
{
	struct model_config cfg;
	struct model *m;
	char err[256];
	uint8_t *buf;

	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.hidden = cfg.ode_hidden = 8;
	model_create(&cfg, 3, &m, err, sizeof(err));
	buf = file_of(m, len);
	if (out)
		*out = m;
	else
		model_free(m);
	return buf;
}

/* Loads buf after replacing the first `from` with `to` (same length). */
static int load_edited(const uint8_t *buf, size_t len, const char *from, const char *to,
		       char *err, size_t errlen)
{
	uint8_t *copy = malloc(len);
	uint8_t *at;
	struct model *m = NULL;
	int rc;

	memcpy(copy, buf, len);
	at = memmem(copy, len, from, strlen(from));
	if (!at || strlen(from) != strlen(to)) {
		free(copy);
		snprintf(err, errlen, "test setup: '%s' not found", from);
		return 0;
	}
	memcpy(at, to, strlen(to));
	rc = model_load_buffer(copy, len, &m, err, errlen);
	model_free(m);
	free(copy);
	return rc;
}

static void expect_edit_error(const uint8_t *buf, size_t len, const char *from, const char *to,
			      const char *message)
{
	char err[256] = "";

	CHECKF(load_edited(buf, len, from, to, err, sizeof(err)) == -1 && strstr(err, message),
	       "'%s' -> '%s': expected an error with '%s', got '%s'", from, to, message, err);
}

/* A small valid trees model of 5 classes: tree 0 splits on the first
 * packet's size (small packets left), then on the first gap; the other
 * four trees are single leaves. */
#define TOY_TREES 5
#define TOY_NODES 9
static struct model *toy_trees(void)
{
	static const int32_t root[TOY_TREES] = { 0, 5, 6, 7, 8 };
	static const int32_t feature[TOY_NODES] = { 0, -1, 20, -1, -1, -1, -1, -1, -1 };
	static const float threshold[TOY_NODES] = { 100, 0, -3, 0, 0, 0, 0, 0, 0 };
	static const int32_t left[TOY_NODES] = { 1, -1, 3, -1, -1, -1, -1, -1, -1 };
	static const float value[TOY_NODES] = { 0, 2, 0, -1, 1, 0.5f, 0, 0, 0 };
	struct trees_arrays a = { root, feature, threshold, left, value };
	struct model_config cfg;
	struct model *m = NULL;
	char err[256];

	model_config_defaults(ARCH_TREES, &cfg);
	cfg.trees = TOY_TREES;
	cfg.nodes = TOY_NODES;
	if (model_from_trees(&cfg, &a, &m, err, sizeof(err)))
		printf("  toy trees: %s\n", err);
	return m;
}

static void check_truncations(const uint8_t *buf, size_t len)
{
	struct model *m;
	char err[256];
	int step = getenv("ODEFLOW_SANITIZED") ? 7 : 1;

	CHECKF(model_load_buffer(buf, len, &m, err, sizeof(err)) == 0, "%s", err);
	model_free(m);
	for (size_t n = 0; n < len; n += step) {
		uint8_t *cut = malloc(n ? n : 1);  /* exactly n bytes: ASan sees any overread */

		memcpy(cut, buf, n);
		err[0] = 0;
		CHECKF(model_load_buffer(cut, n, &m, err, sizeof(err)) == -1 && !m && err[0],
		       "a file cut to %zu of %zu bytes was accepted", n, len);
		free(cut);
	}
}

static void test_every_truncation_is_an_error(void)
{
	size_t len;
	uint8_t *buf = valid_file(&len, NULL);
	struct model *trees = toy_trees();

	CHECK(len > 1000);
	check_truncations(buf, len);
	free(buf);
	if (!trees)
		return;
	buf = file_of(trees, &len);
	check_truncations(buf, len);
	free(buf);
	model_free(trees);
}

static void test_corrupt_headers_name_the_problem(void)
{
	size_t len;
	uint8_t *buf = valid_file(&len, NULL);

	expect_edit_error(buf, len, "\"odernn\"", "\"odernx\"", "unknown architecture 'odernx'");
	expect_edit_error(buf, len, "\"odeflow-v1\"", "\"odeflow-v9\"", "transform 'odeflow-v9'");
	expect_edit_error(buf, len, "\"rk4\"", "\"rk5\"", "unknown solver");
	expect_edit_error(buf, len, "\"format\":\"odeflow\"", "\"format\":\"odeflox\"", "format");
	expect_edit_error(buf, len, "\"F32\"", "\"I32\"", "dtype I32, not F32");
	expect_edit_error(buf, len, "gru.bias_hh", "gru.bias_hX", "unknown tensor 'gru.bias_hX'");
	expect_edit_error(buf, len, "\"window\":\"20\"", "\"window\":\"2x\"", "'window'");
	expect_edit_error(buf, len, "\"window\":\"20\"", "\"window\":\"+9\"", "'window'");
	expect_edit_error(buf, len, "\"hidden\":\"8\"", "\"hidden\":\"9\"", "has shape");
	expect_edit_error(buf, len, "\\\"VoIP\\\"", "\\\"Chat\\\"", "appears twice");
	expect_edit_error(buf, len, "\"__metadata__\"", "\"__metadata_X\"", "has no dtype");
	expect_edit_error(buf, len, "{", "[", "not valid JSON");
	free(buf);
}

/* window_start: written, read back, "any" when absent (files from before
 * it existed, such as the shipped ISCX models), an error when not one of
 * first, any, skip:K. */
static void test_window_start(void)
{
	size_t len;
	uint8_t *buf = valid_file(&len, NULL);
	struct model *m = NULL;
	char err[256] = "";

	CHECK(memmem(buf, len, "\"window_start\":\"any\"", 20) != NULL);
	/* renamed, the key is absent: still "any" */
	CHECK(load_edited(buf, len, "\"window_start\"", "\"window_starX\"", err, sizeof(err)) == 0);
	CHECKF(!model_load("models/iscx-reg-20.safetensors", &m, err, sizeof(err)), "%s", err);
	CHECK(m && model_config(m)->window_start.kind == WINDOW_START_ANY);
	model_free(m);
	expect_edit_error(buf, len, "\"window_start\":\"any\"", "\"window_start\":\"all\"",
			  "metadata 'window_start': window start 'all' is not first, any or skip:K");
	free(buf);
	{
		struct model_config cfg;
		struct model *back = NULL;

		model_config_defaults(ARCH_ODERNN, &cfg);
		cfg.hidden = cfg.ode_hidden = 8;
		cfg.window_start = (struct window_start){ .kind = WINDOW_START_SKIP, .skip = 1000 };
		CHECK(!model_create(&cfg, 3, &m, err, sizeof(err)));
		CHECKF(!model_save(m, tmp_path, err, sizeof(err)) &&
		       !model_load(tmp_path, &back, err, sizeof(err)), "%s", err);
		CHECK(back && model_config(back)->window_start.kind == WINDOW_START_SKIP &&
		      model_config(back)->window_start.skip == 1000);
		CHECK(window_start_skip(&model_config(back)->window_start) == 1000);
		model_free(back);
		model_free(m);
	}
	{
		/* the text forms and the one rule for a skip count */
		struct window_start ws;
		char text[WINDOW_START_STRLEN];

		CHECK(!window_start_parse("first", &ws, err, sizeof(err)) && window_start_skip(&ws) == 0);
		CHECK(!window_start_parse("any", &ws, err, sizeof(err)) &&
		      window_start_skip(&ws) == WINDOW_START_ANY_SKIP);
		CHECK(!window_start_parse("skip:0", &ws, err, sizeof(err)) && ws.skip == 0);
		window_start_format(&ws, text, sizeof(text));
		CHECK(!strcmp(text, "skip:0"));
		CHECK(window_start_parse("skip:1001", &ws, err, sizeof(err)) == -1);
		CHECK(window_start_parse("skip:-1", &ws, err, sizeof(err)) == -1);
		CHECK(window_start_parse("skip: 3", &ws, err, sizeof(err)) == -1);
		CHECK(window_start_parse("skip:", &ws, err, sizeof(err)) == -1);
		CHECK(window_start_parse("First", &ws, err, sizeof(err)) == -1);
	}
}

static void test_missing_tensor_and_nan_weight(void)
{
	size_t len, n;
	struct model *m, *back = NULL;
	uint8_t *buf = valid_file(&len, &m);
	char err[256] = "";
	float *p = model_params(m, &n);

	/* the same model saved without its last tensor */
	m->ntensors--;
	CHECK(model_save(m, tmp_path, err, sizeof(err)) == 0);
	m->ntensors++;
	CHECK(model_load(tmp_path, &back, err, sizeof(err)) == -1 && !back);
	CHECKF(strstr(err, "missing tensor 'head.2.bias'") && strstr(err, tmp_path), "%s", err);
	p[n / 2] = NAN;
	CHECK(model_save(m, tmp_path, err, sizeof(err)) == 0);
	CHECK(model_load(tmp_path, &back, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "is nan"), "%s", err);
	CHECK(model_load("/nonexistent/model.safetensors", &back, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "/nonexistent/model.safetensors: cannot open"), "%s", err);
	CHECK(model_load("/tmp", &back, err, sizeof(err)) == -1);
	model_free(m);
	free(buf);
}

static int tensor_index(const struct model *m, const char *name)
{
	for (int i = 0; i < m->ntensors; i++)
		if (!strcmp(m->tensors[i].name, name))
			return i;
	return 0;
}

/* The toy trees with element i of tensor name set to v (as an int32 or a
 * float, as the tensor holds), saved and loaded again: the load fails with
 * message, and so does model_from_trees on the same arrays. */
static void expect_trees_error(const char *name, int i, double v, const char *message)
{
	struct model *m = toy_trees(), *back = NULL, *built = NULL;
	char err[256] = "", err2[256] = "";
	int t;

	if (!m)
		return;
	t = tensor_index(m, name);
	if (m->tensors[t].dtype == TENSOR_I32)
		param_i32(m, t)[i] = (int32_t)v;
	else
		param(m, t)[i] = (float)v;
	CHECK(model_save(m, tmp_path, err, sizeof(err)) == 0);
	CHECKF(model_load(tmp_path, &back, err, sizeof(err)) == -1 && !back && strstr(err, message),
	       "%s[%d] = %g: expected an error with '%s', got '%s'", name, i, v, message, err);
	CHECKF(model_from_trees(&m->cfg, &(struct trees_arrays){
			param_i32(m, tensor_index(m, "trees.root")),
			param_i32(m, tensor_index(m, "trees.feature")),
			param(m, tensor_index(m, "trees.threshold")),
			param_i32(m, tensor_index(m, "trees.left")),
			param(m, tensor_index(m, "trees.value")) }, &built, err2, sizeof(err2)) == -1 &&
	       !built && strstr(err2, message),
	       "model_from_trees accepted %s[%d] = %g", name, i, v);
	model_free(m);
}

static void test_trees_files(void)
{
	struct model *m = toy_trees(), *back = NULL;
	struct model_ws *ws;
	size_t len;
	uint8_t *buf;
	float sizes[20], lp[2][5];
	double times[20];
	char err[256] = "";

	if (!m)
		return;
	/* a small first packet goes left (leaf value 2 for VoIP); 100 bytes is
	 * not below the threshold and goes right, to the gap split */
	for (int i = 0; i < 20; i++) {
		sizes[i] = 60;
		times[i] = 0.1 * i;
	}
	buf = file_of(m, &len);
	CHECKF(model_load_buffer(buf, len, &back, err, sizeof(err)) == 0, "%s", err);
	ws = back ? model_ws_new(back, 1) : NULL;
	CHECK(ws && model_classify(back, ws, 1, sizes, times, lp[0]) == 0);
	sizes[0] = 100;
	CHECK(ws && model_classify(back, ws, 1, sizes, times, lp[1]) == 0);
	CHECK(lp[0][0] > lp[0][1] && lp[0][0] > lp[0][4]);    /* VoIP +2 */
	CHECK(lp[1][0] > lp[1][1] && lp[1][0] > lp[1][4] && lp[1][0] < lp[0][0]); /* gap 0.1 s: +1 */
	model_ws_free(ws);
	model_free(back);

	expect_trees_error("trees.left", 0, 9, "outside the tree's nodes");
	expect_trees_error("trees.left", 2, 100000, "outside the tree's nodes");
	expect_trees_error("trees.left", 2, -5, "a cycle");
	expect_trees_error("trees.left", 2, 0, "a cycle");
	expect_trees_error("trees.left", 2, 1, "a cycle");
	expect_trees_error("trees.left", 1, 3, "leaf 1 has a child");
	expect_trees_error("trees.feature", 0, FEATURES_TREES(20), "outside 0..");
	expect_trees_error("trees.feature", 2, -2, "outside 0..");
	expect_trees_error("trees.feature", 4, 3, "at or before itself");
	expect_trees_error("trees.threshold", 0, NAN, "is nan");
	expect_trees_error("trees.threshold", 2, INFINITY, "is inf");
	expect_trees_error("trees.value", 3, NAN, "is nan");
	expect_trees_error("trees.root", 0, 1, "tree 0 starts at node 1");
	expect_trees_error("trees.root", 2, 5, "roots must increase");
	expect_trees_error("trees.root", 4, 10, "roots must increase");
	expect_trees_error("trees.root", 4, 9, "nodes 8..8 have no parent");
	expect_trees_error("trees.root", 1, 7, "have no parent");
	expect_trees_error("trees.feature", 2, -1, "leaf 2 has a child");

	expect_edit_error(buf, len, "\"nodes\":\"9\"", "\"nodes\":\"8\"", "has shape [9]");
	expect_edit_error(buf, len, "\"trees\":\"5\"", "\"trees\":\"4\"", "multiple of the 5 classes");
	expect_edit_error(buf, len, "\"nodes\":\"9\"", "\"nodes\":\"x\"", "'nodes'");
	expect_edit_error(buf, len, "\"nodes\":\"9\"", "\"nodez\":\"9\"", "no 'nodes'");
	expect_edit_error(buf, len, "\"I32\"", "\"F32\"", "dtype F32, not I32");
	expect_edit_error(buf, len, "trees.left", "trees.lefX", "unknown tensor 'trees.lefX'");
	free(buf);
	model_free(m);
}

/* A file with the given header and data_len bytes of data. */
static int parse_raw(const char *header, size_t data_len, char *err, size_t errlen)
{
	size_t hlen = strlen(header), len = 8 + hlen + data_len;
	uint8_t *buf = calloc(1, len);
	struct st_file f;
	int rc;

	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
	memcpy(buf + 8, header, hlen);
	rc = st_parse(buf, len, &f, err, errlen);
	if (!rc)
		st_free(&f);
	free(buf);
	return rc;
}

static void expect_raw_error(const char *header, size_t data_len, const char *message)
{
	char err[256] = "";

	CHECKF(parse_raw(header, data_len, err, sizeof(err)) == -1 && strstr(err, message),
	       "%s: expected an error with '%s', got '%s'", header, message, err);
}

static void test_safetensors_structure(void)
{
	char err[256];

	CHECK(parse_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", 16,
			err, sizeof(err)) == 0);
	expect_raw_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
			 "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16,
			 "overlaps");
	expect_raw_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16,
			 "belong to no tensor");
	expect_raw_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16,
			 "trailing");
	expect_raw_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
			 "outside");
	expect_raw_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16,
			 "need 12");
	expect_raw_error("{\"a\":{\"dtype\":\"Q7\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
			 "unknown dtype");
	expect_raw_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16,
			 "dimension 0");
	expect_raw_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776,"
			 "1099511627776],\"data_offsets\":[0,16]}}", 16, "too many elements");
	expect_raw_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", 16,
			 "outside");
	expect_raw_error("{\"a\":1,\"a\":2}", 0, "not valid JSON");
	expect_raw_error("[1,2]", 0, "not a JSON object");
	expect_raw_error("{\"__metadata__\":{\"x\":1}}", 0, "metadata 'x' is not a string");
	expect_raw_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16, "data_offsets");
}

/* odernn-emb's size edges must not decrease (its bucket search assumes
 * sorted edges); a temperature must be in range; a file without one (from
 * before calibration) serves its logits as they are. */
static void test_edges_and_temperature(void)
{
	struct model_config cfg;
	struct model *m, *back = NULL;
	char err[256] = "";
	size_t len;
	uint8_t *buf;
	int t;

	model_config_defaults(ARCH_ODERNN_EMB, &cfg);
	cfg.hidden = cfg.ode_hidden = 8;
	CHECK(model_create(&cfg, 3, &m, err, sizeof(err)) == 0);
	CHECK(model_save(m, tmp_path, err, sizeof(err)) == 0);
	CHECKF(model_load(tmp_path, &back, err, sizeof(err)) == 0, "%s", err);
	model_free(back);
	for (t = 0; strcmp(m->tensors[t].name, "size_edges"); t++)
		;
	m->params[m->tensors[t].offset + 5] = -1;
	CHECK(model_save(m, tmp_path, err, sizeof(err)) == 0);
	CHECK(model_load(tmp_path, &back, err, sizeof(err)) == -1 && !back);
	CHECKF(strstr(err, "'size_edges' decreases at element 5"), "%s", err);
	model_free(m);

	buf = valid_file(&len, NULL);
	expect_edit_error(buf, len, "\"temperature\":\"1\"", "\"temperature\":\"0\"",
			  "temperature 0 is outside 0.01..100");
	expect_edit_error(buf, len, "\"temperature\":\"1\"", "\"temperature\":\"x\"",
			  "metadata 'temperature' = 'x' is not a finite number");
	CHECKF(load_edited(buf, len, "\"temperature\"", "\"temperaturX\"", err, sizeof(err)) == 0,
	       "a file without a temperature: %s", err);
	free(buf);
}

int main(void)
{
	int fd = mkstemp(tmp_path);

	close(fd);
	RUN(test_every_truncation_is_an_error);
	RUN(test_corrupt_headers_name_the_problem);
	RUN(test_window_start);
	RUN(test_missing_tensor_and_nan_weight);
	RUN(test_trees_files);
	RUN(test_safetensors_structure);
	RUN(test_edges_and_temperature);
	unlink(tmp_path);
	return harness_done();
}
