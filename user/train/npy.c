/* SPDX-License-Identifier: MIT */
/* NumPy .npy files: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 * The header is a Python dict literal; it is parsed strictly (known keys,
 * each once) because a file that says something we do not understand must
 * not be read as something else. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "common/errmsg.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Same bound as numpy's max_header_size: headers are tiny; a huge one is damage. */
#define NPY_MAX_HEADER 10000

struct npy_dtype_info {
	char kind;      /* 'f' float, 'i' signed, 'u' unsigned, 'b' bool */
	int size;       /* bytes per element */
	bool big;       /* big-endian on disk */
};

struct npy_header {
	struct npy_dtype_info dtype;
	bool fortran;
	int ndim;
	size_t shape[NPY_MAX_DIMS];
};

static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s: ", name);

	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A cursor over the NUL-terminated header text. */
struct cursor {
	const char *p;
};

static void skip_space(struct cursor *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')
		c->p++;
}

static bool accept(struct cursor *c, char ch)
{
	skip_space(c);
	if (*c->p != ch)
		return false;
	c->p++;
	return true;
}

/* A quoted Python string without escapes (all numpy ever writes here). */
static bool parse_string(struct cursor *c, char *out, size_t outlen)
{
	char quote;
	size_t n = 0;

	skip_space(c);
	quote = *c->p;
	if (quote != '\'' && quote != '"')
		return false;
	c->p++;
	while (*c->p && *c->p != quote && *c->p != '\\') {
		if (n + 1 >= outlen)
			return false;
		out[n++] = *c->p++;
	}
	if (*c->p != quote)
		return false;
	c->p++;
	out[n] = '\0';
	return true;
}

static bool parse_size(struct cursor *c, size_t *out)
{
	size_t v = 0;

	skip_space(c);
	if (*c->p < '0' || *c->p > '9')
		return false;
	while (*c->p >= '0' && *c->p <= '9') {
		size_t d = (size_t)(*c->p++ - '0');

		if (v > (SIZE_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (*c->p == 'L') /* Python 2 long, written by old numpy */
		c->p++;
	*out = v;
	return true;
}

static int parse_descr(const char *s, struct npy_dtype_info *dt)
{
	char *end;
	long size;

	if (strlen(s) < 3 || !strchr("<>|", s[0]) || !strchr("fiub", s[1]))
		return -1;
	errno = 0;
	size = strtol(s + 2, &end, 10);
	if (errno || *end)
		return -1;
	dt->kind = s[1];
	dt->big = s[0] == '>';
	dt->size = (int)size;
	if (s[0] == '|' && size != 1) /* "not applicable" byte order: single bytes only */
		return -1;
	switch (dt->kind) {
	case 'f':
		return size == 4 || size == 8 ? 0 : -1;
	case 'i':
	case 'u':
		return size == 1 || size == 2 || size == 4 || size == 8 ? 0 : -1;
	default: /* 'b' */
		return size == 1 ? 0 : -1;
	}
}

static int parse_shape(struct cursor *c, struct npy_header *h)
{
	if (!accept(c, '('))
		return -1;
	h->ndim = 0;
	while (!accept(c, ')')) {
		if (h->ndim == NPY_MAX_DIMS || !parse_size(c, &h->shape[h->ndim]))
			return -1;
		h->ndim++;
		if (!accept(c, ',')) {
			/* only a 1-tuple needs its comma: "(5,)" */
			if (h->ndim == 1 || !accept(c, ')'))
				return -1;
			break;
		}
	}
	return 0;
}

/* Parses "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }". */
static int parse_header(const char *text, struct npy_header *h, const char *name, char *err,
			size_t errlen)
{
	struct cursor c = { text };
	bool seen_descr = false, seen_order = false, seen_shape = false;
	char key[32], descr[32];

	if (!accept(&c, '{'))
		return fail(err, errlen, name, "header is not a dictionary");
	while (!accept(&c, '}')) {
		if (!parse_string(&c, key, sizeof(key)) || !accept(&c, ':'))
			return fail(err, errlen, name, "malformed header near '%.20s'", c.p);
		if (!strcmp(key, "descr") && !seen_descr) {
			if (!parse_string(&c, descr, sizeof(descr)))
				return fail(err, errlen, name,
					    "unsupported dtype (structured or malformed descr)");
			if (parse_descr(descr, &h->dtype))
				return fail(err, errlen, name, "unsupported dtype '%s'", descr);
			seen_descr = true;
		} else if (!strcmp(key, "fortran_order") && !seen_order) {
			skip_space(&c);
			if (!strncmp(c.p, "False", 5)) {
				h->fortran = false;
				c.p += 5;
			} else if (!strncmp(c.p, "True", 4)) {
				h->fortran = true;
				c.p += 4;
			} else {
				return fail(err, errlen, name, "fortran_order is not True or False");
			}
			seen_order = true;
		} else if (!strcmp(key, "shape") && !seen_shape) {
			if (parse_shape(&c, h))
				return fail(err, errlen, name, "malformed shape (at most %d dimensions)",
					    NPY_MAX_DIMS);
			seen_shape = true;
		} else {
			return fail(err, errlen, name, "unexpected or repeated header key '%s'", key);
		}
		if (!accept(&c, ',')) {
			if (!accept(&c, '}'))
				return fail(err, errlen, name, "malformed header near '%.20s'", c.p);
			break;
		}
	}
	skip_space(&c);
	if (*c.p)
		return fail(err, errlen, name, "trailing characters after the header dictionary");
	if (!seen_descr || !seen_order || !seen_shape)
		return fail(err, errlen, name, "header lacks '%s'",
			    !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape");
	if (h->fortran && h->ndim > 1)
		return fail(err, errlen, name, "Fortran-order arrays are not supported");
	return 0;
}

static uint64_t load_le_or_be(const unsigned char *p, int size, bool big)
{
	uint64_t v = 0;

	for (int i = 0; i < size; i++)
		v |= (uint64_t)p[big ? i : size - 1 - i] << (8 * (size - 1 - i));
	return v;
}

static double element_to_double(const unsigned char *p, const struct npy_dtype_info *dt)
{
	uint64_t bits = load_le_or_be(p, dt->size, dt->big);
	int shift = 64 - 8 * dt->size;

	switch (dt->kind) {
	case 'f':
		if (dt->size == 4) {
			uint32_t b32 = (uint32_t)bits;
			float f;

			memcpy(&f, &b32, sizeof(f));
			return f;
		} else {
			double d;

			memcpy(&d, &bits, sizeof(d));
			return d;
		}
	case 'i': /* sign-extend from the element's width */
		return (double)((int64_t)(bits << shift) >> shift);
	case 'u':
		return (double)bits;
	default: /* bool: numpy writes 0 or 1; any nonzero byte is true */
		return bits ? 1.0 : 0.0;
	}
}

int npy_parse(const void *buf, size_t len, const char *name, struct npy_array *out, char *err,
	      size_t errlen)
{
	const unsigned char *b = buf;
	struct npy_header h = { 0 };
	size_t hlen, offset, count = 1, data_bytes;
	char *text;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < NPY_MAGIC_LEN || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN))
		return fail(err, errlen, name, "not a .npy file (bad magic)");
	if (len < 10)
		return fail(err, errlen, name, "truncated header");
	if (b[6] < 1 || b[6] > 3 || b[7] != 0)
		return fail(err, errlen, name, "unsupported .npy version %u.%u", b[6], b[7]);
	if (b[6] == 1) {
		hlen = (size_t)b[8] | (size_t)b[9] << 8;
		offset = 10;
	} else {
		if (len < 12)
			return fail(err, errlen, name, "truncated header");
		hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
		offset = 12;
	}
	if (hlen > NPY_MAX_HEADER)
		return fail(err, errlen, name, "header of %zu bytes is implausibly long", hlen);
	if (hlen > len - offset)
		return fail(err, errlen, name, "truncated header");
	text = strndup((const char *)b + offset, hlen);
	if (!text)
		return fail(err, errlen, name, "out of memory");
	if (strlen(text) != hlen) {
		free(text);
		return fail(err, errlen, name, "NUL byte inside the header");
	}
	rc = parse_header(text, &h, name, err, errlen);
	free(text);
	if (rc)
		return -1;
	offset += hlen;

	for (int i = 0; i < h.ndim; i++) {
		if (h.shape[i] && count > SIZE_MAX / h.shape[i])
			return fail(err, errlen, name, "shape is too large");
		count *= h.shape[i];
	}
	if (count > SIZE_MAX / sizeof(double))
		return fail(err, errlen, name, "shape is too large");
	data_bytes = count * (size_t)h.dtype.size;
	if (len - offset < data_bytes)
		return fail(err, errlen, name, "truncated data: shape needs %zu bytes, file has %zu",
			    data_bytes, len - offset);
	if (len - offset > data_bytes)
		return fail(err, errlen, name, "%zu unexpected bytes after the data",
			    len - offset - data_bytes);

	out->data = malloc(count ? count * sizeof(double) : 1);
	if (!out->data)
		return fail(err, errlen, name, "out of memory for %zu elements", count);
	for (size_t i = 0; i < count; i++)
		out->data[i] = element_to_double(b + offset + i * (size_t)h.dtype.size, &h.dtype);
	out->ndim = h.ndim;
	memcpy(out->shape, h.shape, sizeof(h.shape));
	out->count = count;
	return 0;
}

int npy_read(const char *path, struct npy_array *out, char *err, size_t errlen)
{
	struct stat st;
	void *map;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO: refused below, not waited on */
	if (fd < 0)
		return fail(err, errlen, path, "%s", strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, path, "not a regular file");
	}
	if (st.st_size == 0) {
		close(fd);
		return fail(err, errlen, path, "empty file, not a .npy file");
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return fail(err, errlen, path, "cannot map: %s", strerror(errno));
	rc = npy_parse(map, (size_t)st.st_size, path, out, err, errlen);
	munmap(map, (size_t)st.st_size);
	return rc;
}

void npy_free(struct npy_array *a)
{
	free(a->data);
	a->data = NULL;
	a->count = 0;
}

/* Header text padded with spaces so the data starts at a multiple of 64
 * bytes, as numpy writes it. At most NPY_MAX_DIMS numbers of 20 digits: it
 * always fits in buf. Returns the header length. */
static size_t format_header(char *buf, size_t buflen, enum npy_dtype dtype, int ndim,
			    const size_t *shape)
{
	size_t n, total;

	n = (size_t)snprintf(buf, buflen, "{'descr': '%s', 'fortran_order': False, 'shape': (",
			     dtype == NPY_F64 ? "<f8" : "<i8");
	for (int i = 0; i < ndim; i++)
		n += (size_t)snprintf(buf + n, buflen - n, "%zu%s", shape[i],
				      ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
	n += (size_t)snprintf(buf + n, buflen - n, "), }");
	total = (NPY_MAGIC_LEN + 4 + n + 1 + 63) / 64 * 64 - NPY_MAGIC_LEN - 4;
	memset(buf + n, ' ', total - 1 - n);
	buf[total - 1] = '\n';
	return total;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_data(int fd, enum npy_dtype dtype, const double *data, size_t count)
{
	uint64_t chunk[4096];
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		uint64_t bits;

		if (dtype == NPY_F64) {
			memcpy(&bits, &data[i], sizeof(bits));
		} else {
			int64_t v = (int64_t)data[i];

			memcpy(&bits, &v, sizeof(bits));
		}
		chunk[n++] = htole64(bits);
		if (n == sizeof(chunk) / sizeof(chunk[0]) || i + 1 == count) {
			if (write_all(fd, chunk, n * sizeof(chunk[0])))
				return -1;
			n = 0;
		}
	}
	return 0;
}

int npy_write(const char *path, enum npy_dtype dtype, int ndim, const size_t *shape,
	      const double *data, char *err, size_t errlen)
{
	char header[NPY_MAX_HEADER], *tmp;
	unsigned char prefix[NPY_MAGIC_LEN + 4];
	size_t hlen, count = 1;
	int fd;

	if (ndim < 0 || ndim > NPY_MAX_DIMS)
		return fail(err, errlen, path, "%d dimensions (at most %d)", ndim, NPY_MAX_DIMS);
	for (int i = 0; i < ndim; i++) {
		if (shape[i] && count > SIZE_MAX / sizeof(double) / shape[i])
			return fail(err, errlen, path, "shape is too large");
		count *= shape[i];
	}
	if (dtype == NPY_I64)
		for (size_t i = 0; i < count; i++)
			if (!(data[i] == trunc(data[i]) && fabs(data[i]) <= 9007199254740992.0))
				return fail(err, errlen, path,
					    "element %zu (%g) is not an integer for int64 output",
					    i, data[i]);
	hlen = format_header(header, sizeof(header), dtype, ndim, shape);
	memcpy(prefix, NPY_MAGIC, NPY_MAGIC_LEN);
	prefix[6] = 1;
	prefix[7] = 0;
	prefix[8] = hlen & 0xff;
	prefix[9] = hlen >> 8;

	if (asprintf(&tmp, "%s.XXXXXX.tmp", path) < 0)
		return fail(err, errlen, path, "out of memory");
	fd = mkstemps(tmp, 4);
	if (fd < 0) {
		fail(err, errlen, path, "cannot create temporary file: %s", strerror(errno));
		free(tmp);
		return -1;
	}
	/* mkstemps creates 0600; a dataset is as readable as any file we write */
	if (fchmod(fd, 0644) || write_all(fd, prefix, sizeof(prefix)) ||
	    write_all(fd, header, hlen) || write_data(fd, dtype, data, count) || fsync(fd)) {
		fail(err, errlen, path, "write failed: %s", strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	if (close(fd) || rename(tmp, path)) {
		fail(err, errlen, path, "cannot move into place: %s", strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
