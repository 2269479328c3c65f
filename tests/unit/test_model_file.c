// SPDX-License-Identifier: MIT
/* The model loader against truncated, corrupt and hostile files: each gets
 * one error naming the problem (this test also runs under ASan+UBSan, so an
 * out-of-bounds read would fail it). */
#include "engine/arch.h"
#include "harness.h"
#include "engine/model.h"
#include "engine/safetensors.h"

static char tmp_path[] = "/tmp/odeflow-test-file-XXXXXX";

/* A small valid odernn model file, read back into memory. */
static uint8_t *valid_file(size_t *len, struct model **out)
{
	struct model_config cfg;
	struct model *m;
	char err[256];
	uint8_t *buf;
	FILE *f;

	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.hidden = cfg.ode_hidden = 8;
	model_create(&cfg, 3, &m, err, sizeof(err));
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

static void test_every_truncation_is_an_error(void)
{
	size_t len;
	uint8_t *buf = valid_file(&len, NULL);
	struct model *m;
	char err[256];
	int step = getenv("ODEFLOW_SANITIZED") ? 7 : 1;

	CHECK(len > 1000);
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
	free(buf);
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
	RUN(test_safetensors_structure);
	RUN(test_edges_and_temperature);
	unlink(tmp_path);
	return harness_done();
}
