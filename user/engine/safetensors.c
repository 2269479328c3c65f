// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"
#include "common/errmsg.h"

static const struct {
	const char *name;
	int size;
} st_dtypes[] = {
	{ "F64", 8 }, { "F32", 4 }, { "F16", 2 }, { "BF16", 2 }, { "I64", 8 }, { "I32", 4 },
	{ "I16", 2 }, { "I8", 1 }, { "U64", 8 }, { "U32", 4 }, { "U16", 2 }, { "U8", 1 },
	{ "BOOL", 1 }, { "F8_E4M3", 1 }, { "F8_E5M2", 1 },
};

static int dtype_size(const char *name)
{
	for (size_t i = 0; i < sizeof(st_dtypes) / sizeof(st_dtypes[0]); i++)
		if (!strcmp(st_dtypes[i].name, name))
			return st_dtypes[i].size;
	return 0;
}

/* A JSON integer that fits in 0..max. */
static int get_uint(json_t *v, uint64_t max, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int parse_tensor(const char *name, json_t *v, const uint8_t *data, uint64_t data_len,
			struct st_tensor *t, char *err, size_t errlen)
{
	json_t *dtype = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape");
	json_t *offs = json_object_get(v, "data_offsets");
	uint64_t begin, end, count = 1;
	int size;

	if (!json_is_object(v))
		return errmsg(err, errlen, "tensor '%s' is not a JSON object", name);
	if (!json_is_string(dtype))
		return errmsg(err, errlen, "tensor '%s' has no dtype string", name);
	size = dtype_size(json_string_value(dtype));
	if (!size)
		return errmsg(err, errlen, "tensor '%s' has unknown dtype '%.16s'", name,
			    json_string_value(dtype));
	if (!json_is_array(shape) || json_array_size(shape) > ST_MAX_DIMS)
		return errmsg(err, errlen, "tensor '%s' has no shape list of at most %d dimensions",
			    name, ST_MAX_DIMS);
	t->ndim = (int)json_array_size(shape);
	for (int i = 0; i < t->ndim; i++) {
		/* 2^40 elements per dimension keeps the product check below simple */
		if (get_uint(json_array_get(shape, i), 1ull << 40, &t->shape[i]))
			return errmsg(err, errlen, "tensor '%s' dimension %d is not an integer in 0..2^40",
				    name, i);
		if (t->shape[i] && count > UINT64_MAX / 8 / t->shape[i])
			return errmsg(err, errlen, "tensor '%s' has too many elements", name);
		count *= t->shape[i];
	}
	if (!json_is_array(offs) || json_array_size(offs) != 2 ||
	    get_uint(json_array_get(offs, 0), UINT64_MAX >> 1, &begin) ||
	    get_uint(json_array_get(offs, 1), UINT64_MAX >> 1, &end))
		return errmsg(err, errlen, "tensor '%s' has no data_offsets [begin, end] of non-negative integers",
			    name);
	if (begin > end || end > data_len)
		return errmsg(err, errlen, "tensor '%s' data_offsets [%llu, %llu] fall outside the %llu-byte data section",
			    name, (unsigned long long)begin, (unsigned long long)end,
			    (unsigned long long)data_len);
	if (end - begin != count * size)
		return errmsg(err, errlen, "tensor '%s' holds %llu bytes but its dtype and shape need %llu",
			    name, (unsigned long long)(end - begin), (unsigned long long)(count * size));
	t->name = name;
	t->dtype = json_string_value(dtype);
	t->data = data + begin;
	t->nbytes = end - begin;
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct st_tensor *x = a, *y = b;
	const uint8_t *p = x->data, *q = y->data;

	return p < q ? -1 : p > q ? 1 : 0;
}

/* The tensors must tile the data section: no overlap, no unowned bytes. */
static int check_ranges(struct st_file *f, const uint8_t *data, uint64_t data_len, char *err,
			size_t errlen)
{
	uint64_t pos = 0;

	qsort(f->tensors, f->ntensors, sizeof(*f->tensors), by_offset);
	for (int i = 0; i < f->ntensors; i++) {
		uint64_t begin = (uint64_t)((const uint8_t *)f->tensors[i].data - data);

		if (begin < pos)
			return errmsg(err, errlen, "tensor '%s' overlaps the tensor before it (bytes %llu..%llu)",
				    f->tensors[i].name, (unsigned long long)begin, (unsigned long long)pos);
		if (begin > pos)
			return errmsg(err, errlen, "data bytes %llu..%llu before tensor '%s' belong to no tensor",
				    (unsigned long long)pos, (unsigned long long)begin, f->tensors[i].name);
		pos = begin + f->tensors[i].nbytes;
	}
	if (pos != data_len)
		return errmsg(err, errlen, "%llu trailing data bytes belong to no tensor",
			    (unsigned long long)(data_len - pos));
	return 0;
}

int st_parse(const void *buf, size_t len, struct st_file *out, char *err, size_t errlen)
{
	const uint8_t *p = buf;
	uint64_t hlen = 0;
	json_error_t jerr;
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (len < 8)
		return errmsg(err, errlen, "%zu bytes is too short for the 8-byte header length", len);
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | p[i];
	if (hlen > len - 8 || hlen > ST_MAX_HEADER)
		return errmsg(err, errlen, "header length %llu exceeds the file (%zu bytes) or 16 MiB",
			    (unsigned long long)hlen, len);
	out->header = json_loadb((const char *)p + 8, hlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!out->header)
		return errmsg(err, errlen, "header is not valid JSON: %s at byte %d", jerr.text,
			      jerr.position);
	if (!json_is_object(out->header)) {
		st_free(out);
		return errmsg(err, errlen, "header is not a JSON object");
	}
	out->tensors = calloc(json_object_size(out->header) + 1, sizeof(*out->tensors));
	if (!out->tensors) {
		st_free(out);
		return errmsg(err, errlen, "out of memory");
	}
	json_object_foreach(out->header, key, v) {
		if (!strcmp(key, "__metadata__")) {
			const char *mk;
			json_t *mv;

			if (!json_is_object(v)) {
				st_free(out);
				return errmsg(err, errlen, "__metadata__ is not a JSON object");
			}
			json_object_foreach(v, mk, mv) {
				if (!json_is_string(mv)) {
					errmsg(err, errlen, "metadata '%.64s' is not a string", mk);
					st_free(out);
					return -1;
				}
			}
			out->metadata = v;
			continue;
		}
		if (parse_tensor(key, v, p + 8 + hlen, len - 8 - hlen, &out->tensors[out->ntensors],
				 err, errlen)) {
			st_free(out);
			return -1;
		}
		out->ntensors++;
	}
	if (check_ranges(out, p + 8 + hlen, len - 8 - hlen, err, errlen)) {
		st_free(out);
		return -1;
	}
	return 0;
}

void st_free(struct st_file *f)
{
	json_decref(f->header);
	free(f->tensors);
	memset(f, 0, sizeof(*f));
}

const struct st_tensor *st_find(const struct st_file *f, const char *name)
{
	for (int i = 0; i < f->ntensors; i++)
		if (!strcmp(f->tensors[i].name, name))
			return &f->tensors[i];
	return NULL;
}

static size_t out_count(const struct st_out_tensor *t)
{
	size_t count = 1;

	for (int d = 0; d < t->ndim; d++)
		count *= t->shape[d];
	return count;
}

static int write_all(FILE *f, const struct st_out_tensor *t, int n, const char *hdr, size_t hlen)
{
	uint8_t len8[8];

	for (int i = 0; i < 8; i++)
		len8[i] = (uint8_t)(hlen >> (8 * i));
	if (fwrite(len8, 1, 8, f) != 8 || fwrite(hdr, 1, hlen, f) != hlen)
		return -1;
	/* little-endian: the in-memory layout on the little-endian hosts we build for */
	for (int i = 0; i < n; i++) {
		size_t size = (size_t)dtype_size(t[i].dtype);

		if (fwrite(t[i].data, size, out_count(&t[i]), f) != out_count(&t[i]))
			return -1;
	}
	return 0;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

int st_write(const char *path, json_t *metadata, int n, const struct st_out_tensor *t,
	     char *err, size_t errlen)
{
	json_t *hdr = json_object();
	size_t offset = 0, hlen;
	char *text, *padded, tmp[4096];
	FILE *f;
	int rc = -1;

	for (int i = 0; i < n; i++)
		if (!dtype_size(t[i].dtype))
			return errmsg(err, errlen, "%s: tensor '%s' has unknown dtype '%s'", path,
				      t[i].name,
				      t[i].dtype);
	json_object_set(hdr, "__metadata__", metadata);
	for (int i = 0; i < n; i++) {
		json_t *shape = json_array();
		size_t bytes = out_count(&t[i]) * (size_t)dtype_size(t[i].dtype);

		for (int d = 0; d < t[i].ndim; d++)
			json_array_append_new(shape, json_integer(t[i].shape[d]));
		json_object_set_new(hdr, t[i].name,
				    json_pack("{s:s, s:o, s:[I,I]}", "dtype", t[i].dtype, "shape", shape,
					      "data_offsets", (json_int_t)offset,
					      (json_int_t)(offset + bytes)));
		offset += bytes;
	}
	text = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(hdr);
	if (!text)
		return errmsg(err, errlen, "%s: out of memory", path);
	/* pad the header with spaces so the data starts 8-byte aligned, as the
	 * safetensors package does */
	hlen = (strlen(text) + 7) & ~(size_t)7;
	padded = malloc(hlen);
	if (padded) {
		memset(padded, ' ', hlen);
		memcpy(padded, text, strlen(text));
	}
	free(text);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = padded ? fopen(tmp, "wb") : NULL;
	if (!f) {
		errmsg(err, errlen, "%s: cannot write: %s", path,
		       padded ? strerror(errno) : "out of memory");
	} else if (write_all(f, t, n, padded, hlen) | fclose(f)) {
		errmsg(err, errlen, "%s: write failed: %s", path, strerror(errno));
		unlink(tmp);
	} else if (rename(tmp, path)) {
		errmsg(err, errlen, "%s: cannot rename %s into place: %s", path, tmp,
		       strerror(errno));
		unlink(tmp);
	} else {
		rc = 0;
	}
	free(padded);
	return rc;
}
