/* SPDX-License-Identifier: MIT */
/* .npy: round trips, numpy's exact header layout, every dtype numpy writes,
 * and one clear error (naming the file) for each kind of damage. */
#include <stdint.h>

#include "harness.h"
#include "train/npy.h"
#include "scratch.h"

/* Parses a hand-made file: 10-byte v1.0 prefix + header text + raw data. */
static int parse_v1(const char *header, const void *data, size_t datalen, struct npy_array *a,
		    char *err)
{
	unsigned char buf[512];
	size_t hlen = strlen(header);

	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	buf[8] = hlen & 0xff;
	buf[9] = hlen >> 8;
	memcpy(buf + 10, header, hlen);
	memcpy(buf + 10 + hlen, data, datalen);
	return npy_parse(buf, 10 + hlen + datalen, "hand.npy", a, err, 200);
}

static void test_round_trip_f64(void)
{
	size_t shape[3] = { 3, 2, 4 };
	double data[24];
	struct npy_array a;
	char err[200] = "";

	for (int i = 0; i < 24; i++)
		data[i] = i * 0.37 - 2.0 + (i == 5 ? 1e300 : 0);
	CHECKF(npy_write(tmp_path("x.npy"), NPY_F64, 3, shape, data, err, sizeof(err)) == 0, "%s", err);
	CHECKF(npy_read(tmp_path("x.npy"), &a, err, sizeof(err)) == 0, "%s", err);
	CHECK(a.ndim == 3 && a.shape[0] == 3 && a.shape[1] == 2 && a.shape[2] == 4 && a.count == 24);
	CHECK(a.data && !memcmp(a.data, data, sizeof(data)));
	CHECK(scratch_count() == 1); /* no temporary file left behind */
	npy_free(&a);
}

static void test_round_trip_i64_and_scalar(void)
{
	size_t shape[1] = { 4 };
	double labels[4] = { 0, 4, -3, 9007199254740992.0 }, one = 7.5;
	struct npy_array a;
	char err[200] = "";

	CHECKF(npy_write(tmp_path("y.npy"), NPY_I64, 1, shape, labels, err, sizeof(err)) == 0, "%s", err);
	CHECKF(npy_read(tmp_path("y.npy"), &a, err, sizeof(err)) == 0, "%s", err);
	CHECK(a.ndim == 1 && a.count == 4 && !memcmp(a.data, labels, sizeof(labels)));
	npy_free(&a);
	CHECKF(npy_write(tmp_path("s.npy"), NPY_F64, 0, shape, &one, err, sizeof(err)) == 0, "%s", err);
	CHECKF(npy_read(tmp_path("s.npy"), &a, err, sizeof(err)) == 0, "%s", err);
	CHECK(a.ndim == 0 && a.count == 1 && a.data[0] == 7.5);
	npy_free(&a);
	shape[0] = 0;
	CHECKF(npy_write(tmp_path("e.npy"), NPY_F64, 1, shape, NULL, err, sizeof(err)) == 0, "%s", err);
	CHECKF(npy_read(tmp_path("e.npy"), &a, err, sizeof(err)) == 0, "%s", err);
	CHECK(a.ndim == 1 && a.shape[0] == 0 && a.count == 0);
	npy_free(&a);
}

/* Byte for byte what numpy 1.x writes for np.save of a (12922, 2, 20) float64 array. */
static void test_header_matches_numpy(void)
{
	static const char expect[] = "\x93NUMPY\x01\x00v\x00"
		"{'descr': '<f8', 'fortran_order': False, 'shape': (12922, 2, 20), }";
	size_t shape[3] = { 12922, 2, 20 };
	double *zeros = calloc(12922 * 40, sizeof(double));
	unsigned char got[128];
	char err[200] = "";
	FILE *f;

	CHECKF(npy_write(tmp_path("big.npy"), NPY_F64, 3, shape, zeros, err, sizeof(err)) == 0, "%s", err);
	f = fopen(tmp_path("big.npy"), "rb");
	CHECK(f && fread(got, 1, sizeof(got), f) == sizeof(got));
	CHECK(!memcmp(got, expect, sizeof(expect) - 1));
	for (size_t i = sizeof(expect) - 1; i < 127; i++)
		CHECKF(got[i] == ' ', "byte %zu is 0x%02x, not a space", i, got[i]);
	CHECK(got[127] == '\n');
	if (f)
		fclose(f);
	free(zeros);
}

static void test_every_dtype(void)
{
	struct npy_array a;
	char err[200] = "";
	float f4[2] = { 1.5f, -2.25f };
	unsigned char be_f8[8] = { 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18 }; /* pi */
	int16_t i2[3] = { -32768, -1, 32767 };
	unsigned char be_i4[4] = { 0xff, 0xff, 0xff, 0xfe }; /* -2 */
	unsigned char u1[2] = { 0, 255 }, b1[2] = { 0, 1 };
	uint64_t u8 = UINT64_C(1) << 63;

	CHECKF(parse_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4, 8, &a, err) == 0,
	       "%s", err);
	CHECK(a.count == 2 && a.data[0] == 1.5 && a.data[1] == -2.25);
	npy_free(&a);
	/* keys in another order, double quotes, no trailing comma */
	CHECKF(parse_v1("{\"shape\": (1,), \"fortran_order\": False, \"descr\": \">f8\"}", be_f8, 8, &a,
			err) == 0, "%s", err);
	CHECK(a.count == 1 && fabs(a.data[0] - M_PI) < 1e-15);
	npy_free(&a);
	CHECKF(parse_v1("{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }", i2, 6, &a, err) == 0,
	       "%s", err);
	CHECK(a.count == 3 && a.data[0] == -32768 && a.data[1] == -1 && a.data[2] == 32767);
	npy_free(&a);
	CHECKF(parse_v1("{'descr': '>i4', 'fortran_order': False, 'shape': (), }", be_i4, 4, &a, err) == 0,
	       "%s", err);
	CHECK(a.ndim == 0 && a.count == 1 && a.data[0] == -2);
	npy_free(&a);
	CHECKF(parse_v1("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2), }", u1, 2, &a, err) == 0,
	       "%s", err);
	CHECK(a.ndim == 2 && a.data[1] == 255);
	npy_free(&a);
	CHECKF(parse_v1("{'descr': '|b1', 'fortran_order': True, 'shape': (2L,), }", b1, 2, &a, err) == 0,
	       "%s", err);
	CHECK(a.data[0] == 0 && a.data[1] == 1);
	npy_free(&a);
	CHECKF(parse_v1("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", &u8, 8, &a, err) == 0,
	       "%s", err);
	CHECK(a.data[0] == 9223372036854775808.0);
	npy_free(&a);
}

static void test_version_2_header(void)
{
	unsigned char buf[128];
	const char *h = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n";
	size_t hlen = strlen(h);
	double v = 42;
	struct npy_array a;
	char err[200] = "";

	memcpy(buf, "\x93NUMPY\x02\x00", 8);
	buf[8] = (unsigned char)hlen;
	buf[9] = buf[10] = buf[11] = 0;
	memcpy(buf + 12, h, hlen);
	memcpy(buf + 12 + hlen, &v, 8);
	CHECKF(npy_parse(buf, 12 + hlen + 8, "v2.npy", &a, err, sizeof(err)) == 0, "%s", err);
	CHECK(a.count == 1 && a.data[0] == 42);
	npy_free(&a);
}

/* Each damaged header or body fails with an error naming the file and saying what is wrong. */
static void test_damage(void)
{
	static const struct {
		const char *header;
		size_t datalen;
		const char *says;
	} cases[] = {
		{ "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 8, "truncated data" },
		{ "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 16, "after the data" },
		{ "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", 16, "unsupported dtype" },
		{ "{'descr': '|f8', 'fortran_order': False, 'shape': (1,), }", 8, "unsupported dtype" },
		{ "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }", 8, "unsupported dtype" },
		{ "{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }", 8, "Fortran" },
		{ "{'descr': '<f8', 'shape': (1,), }", 8, "lacks 'fortran_order'" },
		{ "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", 8, "repeated" },
		{ "{'descr': '<f8', 'fortran_order': False, 'shape': (1 2), }", 8, "malformed shape" },
		{ "{'descr': '<f8', 'fortran_order': False, 'shape': (1), }", 8, "malformed shape" },
		{ "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8,
		  "malformed shape" },
		{ "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 8,
		  "too large" },
		{ "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), } x", 8, "trailing" },
		{ "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }", 8, "True or False" },
		{ "['descr']", 8, "not a dictionary" },
	};
	double zeros[2] = { 0, 0 };
	struct npy_array a;
	char err[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CHECKF(parse_v1(cases[i].header, zeros, cases[i].datalen, &a, err) == -1,
		       "case %zu accepted", i);
		CHECKF(strstr(err, "hand.npy: ") == err && strstr(err, cases[i].says),
		       "case %zu: error '%s' does not say '%s'", i, err, cases[i].says);
		CHECK(a.data == NULL);
	}
}

static void test_damaged_prefix(void)
{
	struct npy_array a;
	char err[200];

	CHECK(npy_parse("\x93NUMPX\x01\x00\x00\x00", 10, "m.npy", &a, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "m.npy: not a .npy file"), "%s", err);
	CHECK(npy_parse("\x93NUMPY\x01", 7, "m.npy", &a, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "truncated header"), "%s", err);
	CHECK(npy_parse("\x93NUMPY\x04\x00\x00\x00", 10, "m.npy", &a, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "version 4.0"), "%s", err);
	CHECK(npy_parse("\x93NUMPY\x01\x00\x40\x00{}", 12, "m.npy", &a, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "truncated header"), "%s", err);
	CHECK(npy_parse("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12, "m.npy", &a, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "implausibly long"), "%s", err);
	CHECK(npy_parse("\x93NUMPY\x01\x00\x03\x00{\0}", 13, "m.npy", &a, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "NUL byte"), "%s", err);
}

static void test_read_errors_name_the_file(void)
{
	struct npy_array a;
	char err[200];
	FILE *f = fopen(tmp_path("empty.npy"), "w");

	if (f)
		fclose(f);
	CHECK(npy_read(tmp_path("empty.npy"), &a, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "empty.npy: empty file"), "%s", err);
	CHECK(npy_read(tmp_path("missing.npy"), &a, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "missing.npy: No such file"), "%s", err);
	CHECK(npy_read(scratch_dir, &a, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "not a regular file"), "%s", err);
}

static void test_write_refuses_and_writes_nothing(void)
{
	size_t shape[1] = { 3 };
	double bad[3] = { 1, 2.5, 3 }, ok[3] = { 1, 2, 3 };
	char err[200] = "";
	int before;

	scratch_empty();
	before = scratch_count();
	CHECK(npy_write(tmp_path("y.npy"), NPY_I64, 1, shape, bad, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "element 1 (2.5) is not an integer"), "%s", err);
	bad[1] = NAN;
	CHECK(npy_write(tmp_path("y.npy"), NPY_I64, 1, shape, bad, err, sizeof(err)) == -1);
	CHECK(npy_write(tmp_path("y.npy"), NPY_F64, 9, shape, ok, err, sizeof(err)) == -1);
	CHECK(scratch_count() == before);
	CHECK(npy_write("/nonexistent-dir/y.npy", NPY_F64, 1, shape, ok, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "/nonexistent-dir/y.npy: cannot create"), "%s", err);
}

int main(void)
{
	if (scratch_create("npy"))
		return 1;
	RUN(test_round_trip_f64);
	RUN(test_round_trip_i64_and_scalar);
	RUN(test_header_matches_numpy);
	RUN(test_every_dtype);
	RUN(test_version_2_header);
	RUN(test_damage);
	RUN(test_damaged_prefix);
	RUN(test_read_errors_name_the_file);
	RUN(test_write_refuses_and_writes_nothing);
	scratch_remove();
	return harness_done();
}
