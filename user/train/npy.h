/* SPDX-License-Identifier: MIT */
/* Reading and writing NumPy .npy files (format versions 1.0-3.0, C order,
 * little-endian float32/float64/int32/int64/uint8 etc.), the dataset format
 * shared by train, eval and pcap2npy. */
#ifndef ODEFLOW_NPY_H
#define ODEFLOW_NPY_H

#include <stddef.h>

#define NPY_MAX_DIMS 8

struct npy_array {
	int ndim;
	size_t shape[NPY_MAX_DIMS];
	size_t count;   /* product of shape */
	double *data;   /* every dtype is converted to double on read */
};

/* Reads path; on error returns -1 and writes one line into err naming the
 * file and what is wrong (bad magic, unsupported dtype, truncated data...). */
int npy_read(const char *path, struct npy_array *out, char *err, size_t errlen);
void npy_free(struct npy_array *a);
/* The same from a buffer holding a whole file; name is used in errors. */
int npy_parse(const void *buf, size_t len, const char *name, struct npy_array *out,
	      char *err, size_t errlen);

/* Writes float64 (NPY_F64) or int64 (NPY_I64) data of the given shape,
 * atomically (a temporary file renamed into place). */
enum npy_dtype { NPY_F64, NPY_I64 };
int npy_write(const char *path, enum npy_dtype dtype, int ndim, const size_t *shape,
	      const double *data, char *err, size_t errlen);

#endif
