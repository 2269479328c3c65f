/* SPDX-License-Identifier: MIT */
/* The safetensors container: an 8-byte little-endian header length, a JSON
 * header ({"__metadata__": {string: string}, "name": {"dtype", "shape",
 * "data_offsets"}}), then the raw tensors. Parsing checks the structure
 * completely (lengths, JSON, dtypes, shapes against byte ranges, ranges
 * inside the data and not overlapping), so that a caller only has to check
 * that the tensors are the ones it expects. */
#ifndef ODEFLOW_SAFETENSORS_H
#define ODEFLOW_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (16u << 20)   /* bytes; a model header is a few KB */

struct st_tensor {
	const char *name;        /* valid until st_free */
	const char *dtype;       /* "F32", "F64", ... */
	int ndim;
	uint64_t shape[ST_MAX_DIMS];
	const void *data;        /* inside the parsed buffer */
	size_t nbytes;
};

struct st_file {
	json_t *header;
	json_t *metadata;        /* the "__metadata__" object, or NULL */
	int ntensors;
	struct st_tensor *tensors;
};

/* Parses a whole file held in buf; tensors point into buf. On error
 * returns -1 with one line in err saying what is wrong. */
int st_parse(const void *buf, size_t len, struct st_file *out, char *err, size_t errlen);
void st_free(struct st_file *f);
const struct st_tensor *st_find(const struct st_file *f, const char *name);

/* Writes tensors with string metadata to path atomically (a temporary
 * file renamed into place). */
struct st_out_tensor {
	const char *name;
	const char *dtype;       /* a dtype st_parse knows, "F32", "I32", ... */
	int ndim;
	int shape[ST_MAX_DIMS];
	const void *data;        /* in the host's (little-endian) byte order */
};
int st_write(const char *path, json_t *metadata, int n, const struct st_out_tensor *t,
	     char *err, size_t errlen);

#endif
