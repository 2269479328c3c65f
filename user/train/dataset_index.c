// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errmsg.h"
#include "common/file_read.h"
#include "dataset.h"
#include "dataset_index.h"

#define INDEX_MAX (1ull << 31)  /* about 10 million windows' records */

/* A reader of CSV text: one field at a time. */
struct csv {
	const char *p, *end;
	size_t line;            /* of p, from 1 */
};

/* A field's text, unquoted. */
struct field {
	char *s;
	size_t len, cap;
};

static int field_put(struct field *f, char c)
{
	if (f->len + 1 >= f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 64;
		char *s = realloc(f->s, cap);

		if (!s)
			return -1;
		f->s = s;
		f->cap = cap;
	}
	f->s[f->len++] = c;
	f->s[f->len] = '\0';
	return 0;
}

/* Reads the next field into f (NULL: skip it); *last says whether its
 * record ends after it (at a line break or the end of the text). */
static int csv_field(struct csv *c, struct field *f, bool *last, char *err, size_t errlen)
{
	bool quoted = c->p < c->end && *c->p == '"';
	size_t first_line = c->line;

	if (f) {
		f->len = 0;
		f->s[0] = '\0';
	}
	if (quoted)
		c->p++;
	for (;;) {
		char ch;

		if (c->p == c->end) {
			if (quoted)
				return errmsg(err, errlen, "line %zu: a quoted field does not end",
					      first_line);
			*last = true;
			return 0;
		}
		ch = *c->p++;
		if (quoted && ch == '"') {
			if (c->p < c->end && *c->p == '"') {
				c->p++;  /* "" is one quote */
			} else {
				quoted = false;
				if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
					return errmsg(err, errlen, "line %zu: text after a closing quote",
						      c->line);
				continue;
			}
		} else if (!quoted && ch == '"') {
			return errmsg(err, errlen, "line %zu: a quote inside an unquoted field", c->line);
		} else if (!quoted && ch == ',') {
			*last = false;
			return 0;
		} else if (!quoted && (ch == '\n' || (ch == '\r' && c->p < c->end && *c->p == '\n'))) {
			if (ch == '\r')
				c->p++;
			c->line++;
			*last = true;
			return 0;
		} else if (ch == '\n') {
			c->line++;
		} else if (ch == '\0') {
			return errmsg(err, errlen, "line %zu: a NUL byte", c->line);
		}
		if (f && field_put(f, ch))
			return errmsg(err, errlen, "out of memory");
	}
}

/* The number of the value name, a new one if it is new. Records come
 * grouped by file and flow (pcap2npy writes them so): the last one is
 * tried first. */
static int group_number(struct dataset_groups *out, const char *name)
{
	char **names;

	if (out->count && !strcmp(out->names[out->count - 1], name))
		return out->count - 1;
	for (int i = 0; i < out->count; i++)
		if (!strcmp(out->names[i], name))
			return i;
	if (out->count == INT32_MAX)
		return -1;
	names = realloc(out->names, (size_t)(out->count + 1) * sizeof(*names));
	if (!names)
		return -1;
	out->names = names;
	if (!(names[out->count] = strdup(name)))
		return -1;
	return out->count++;
}

/* The header: which columns are "row" and the one asked for, how many
 * there are. */
static int header(struct csv *c, struct field *f, const char *column, int *row_col,
		  int *want_col, int *cols, char *err, size_t errlen)
{
	bool last = false;

	*row_col = *want_col = -1;
	for (*cols = 0; !last; (*cols)++) {
		if (csv_field(c, f, &last, err, errlen))
			return -1;
		if (!strcmp(f->s, "row") && *row_col < 0)
			*row_col = *cols;
		else if (!strcmp(f->s, column) && *want_col < 0)
			*want_col = *cols;
	}
	if (*row_col < 0)
		return errmsg(err, errlen, "line 1: no \"row\" column: not an index written by "
			      "odeflow pcap2npy");
	if (*want_col < 0)
		return errmsg(err, errlen, "line 1: no \"%s\" column%s", column,
			      strcmp(column, "app") ? "" : " (pcap2npy --labels writes it from the "
			      "lab's labels.csv)");
	return 0;
}

/* One record: its row number must be the record's, its value is numbered. */
static int record(struct csv *c, struct field *f, int row_col, int want_col, int cols,
		  struct dataset_groups *out, size_t *cap, char *err, size_t errlen)
{
	size_t line = c->line;
	bool last = false;
	int col = 0, group = -1;

	for (; !last; col++) {
		char *end;

		if (col == cols)
			return errmsg(err, errlen, "line %zu: more than the header's %d fields", line, cols);
		if (csv_field(c, col == row_col || col == want_col ? f : NULL, &last, err, errlen))
			return -1;
		if (col == row_col && (strtoull(f->s, &end, 10) != out->n || *end || !*f->s ||
				       *f->s == '-' || *f->s == '+' || *f->s == ' '))
			return errmsg(err, errlen, "line %zu: row '%.20s' is not %zu: rows must count "
				      "from 0 in order", line, f->s, out->n);
		if (col == want_col && (group = group_number(out, f->s)) < 0)
			return errmsg(err, errlen, "out of memory");
	}
	if (col != cols)
		return errmsg(err, errlen, "line %zu: %d fields, the header has %d", line, col, cols);
	if (out->n == *cap) {
		size_t more = *cap ? 2 * *cap : 1024;
		int *grown = realloc(out->group, more * sizeof(*grown));

		if (!grown)
			return errmsg(err, errlen, "out of memory");
		out->group = grown;
		*cap = more;
	}
	out->group[out->n++] = group;
	return 0;
}

int dataset_index_parse(const char *text, size_t len, const char *column,
			struct dataset_groups *out, char *err, size_t errlen)
{
	struct csv c = { text, text + len, 1 };
	struct field f = { .s = malloc(64), .cap = 64 };
	size_t cap = 0;
	int row_col, want_col, cols, rc = -1;

	memset(out, 0, sizeof(*out));
	if (!f.s)
		return errmsg(err, errlen, "out of memory");
	if (header(&c, &f, column, &row_col, &want_col, &cols, err, errlen))
		goto out;
	while (c.p < c.end)
		if (record(&c, &f, row_col, want_col, cols, out, &cap, err, errlen))
			goto out;
	rc = 0;
out:
	free(f.s);
	if (rc)
		dataset_groups_free(out);
	return rc;
}

int dataset_index_load(const char *prefix, size_t n, const char *column,
		       struct dataset_groups *out, char *err, size_t errlen)
{
	char path[4096], why[256];
	uint8_t *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	dataset_side_path(prefix, "index.csv", path, sizeof(path));
	if (file_read_regular(path, INDEX_MAX, &buf, &len, why, sizeof(why)))
		return errmsg(err, errlen, "%s (odeflow pcap2npy writes it beside the dataset)", why);
	rc = dataset_index_parse((const char *)buf, len, column, out, why, sizeof(why));
	free(buf);
	if (rc)
		return errmsg(err, errlen, "%s: %s", path, why);
	if (out->n != n) {
		errmsg(err, errlen, "%s has %zu records, the dataset %zu windows", path, out->n, n);
		dataset_groups_free(out);
		return -1;
	}
	return 0;
}

void dataset_groups_free(struct dataset_groups *g)
{
	for (int i = 0; i < g->count; i++)
		free(g->names[i]);
	free(g->names);
	free(g->group);
	memset(g, 0, sizeof(*g));
}
