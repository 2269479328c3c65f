// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errmsg.h"
#include "common/file_read.h"
#include "engine/model.h"
#include "lab_labels.h"
#include "label_map.h"
#include "rule_file.h"

#define MAX_FIELDS 64

enum column { COL_CAPTURE, COL_PROTOCOL, COL_CLIENT, COL_CLIENT_PORT, COL_SERVER, COL_SERVER_PORT,
	      COL_CLASS, COL_APP, COL_SCENARIO, COL_COUNT };
static const char *const column_names[COL_COUNT] = {
	"capture", "protocol", "client_addr", "client_port", "server_addr", "server_port",
	"class", "app", "scenario",
};

/* A connection, its endpoints in a fixed order (lower address and port
 * first), so either direction's key finds it. */
struct conn {
	uint8_t a[16], b[16];
	uint16_t aport, bport;
	uint8_t proto;
	int capture;                /* -1: any capture */
};

struct entry {
	struct conn conn;
	int line;                   /* 0: slot free */
	struct lab_label lab;
};

struct lab_labels {
	struct entry *slots;
	size_t capacity, count;
	char **captures;
	int ncaptures;
	int col[COL_COUNT];         /* field number of each column; -1: missing */
	int nfields;
	const char *name;
	char *err;
	size_t errlen;
};

static void conn_make(struct conn *c, uint8_t proto, const uint8_t x[16], uint16_t xport,
		      const uint8_t y[16], uint16_t yport, int capture)
{
	int order = memcmp(x, y, 16);

	if (order > 0 || (!order && xport > yport)) {
		const uint8_t *t = x;
		uint16_t tp = xport;

		x = y, xport = yport, y = t, yport = tp;
	}
	memset(c, 0, sizeof(*c));
	memcpy(c->a, x, 16);
	memcpy(c->b, y, 16);
	c->aport = xport;
	c->bport = yport;
	c->proto = proto;
	c->capture = capture;
}

static uint64_t conn_hash(const struct conn *c)
{
	const uint8_t *p = (const uint8_t *)c;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < sizeof(*c); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* The slot of C: its entry, or the free slot where it goes. */
static struct entry *slot_of(const struct lab_labels *l, const struct conn *c)
{
	size_t i = conn_hash(c) & (l->capacity - 1);

	while (l->slots[i].line && memcmp(&l->slots[i].conn, c, sizeof(*c)))
		i = (i + 1) & (l->capacity - 1);
	return &l->slots[i];
}

static int grow(struct lab_labels *l)
{
	size_t cap = l->capacity ? 2 * l->capacity : 64;
	struct entry *old = l->slots;
	size_t old_cap = l->capacity;

	l->slots = calloc(cap, sizeof(*l->slots));
	if (!l->slots) {
		l->slots = old;
		return -1;
	}
	l->capacity = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].line)
			*slot_of(l, &old[i].conn) = old[i];
	free(old);
	return 0;
}

/* Splits a CSV line in place; fields may be quoted, "" is a quote. Returns
 * the number of fields, -1 for a quote left open. */
static int split_csv(char *line, char *fields[MAX_FIELDS], int *too_many)
{
	int n = 0;
	char *p = line;

	*too_many = 0;
	for (;;) {
		char *out = p;

		if (n == MAX_FIELDS) {
			*too_many = 1;
			return n;
		}
		fields[n++] = out;
		if (*p == '"') {
			p++;
			for (;;) {
				if (!*p)
					return -1;
				if (*p == '"' && p[1] == '"') {
					*out++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*out++ = *p++;
				}
			}
			if (*p && *p != ',')
				return -1;
		} else {
			while (*p && *p != ',')
				*out++ = *p++;
		}
		if (!*p) {
			*out = 0;
			return n;
		}
		*out = 0;
		p++;
	}
}

static int parse_port(const char *text, uint16_t *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno || v < 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int parse_proto(const char *text, uint8_t *proto)
{
	uint16_t v;

	if (!strcmp(text, "tcp") || !strcmp(text, "TCP"))
		*proto = 6;
	else if (!strcmp(text, "udp") || !strcmp(text, "UDP"))
		*proto = 17;
	else if (parse_port(text, &v) || v > 255)
		return -1;
	else
		*proto = (uint8_t)v;
	return 0;
}

static int capture_id(struct lab_labels *l, const char *name)
{
	char **caps;

	if (!*name)
		return -1;
	for (int i = 0; i < l->ncaptures; i++)
		if (!strcmp(l->captures[i], name))
			return i;
	caps = realloc(l->captures, (size_t)(l->ncaptures + 1) * sizeof(*caps));
	if (!caps)
		return -2;
	l->captures = caps;
	caps[l->ncaptures] = strdup(name);
	if (!caps[l->ncaptures])
		return -2;
	return l->ncaptures++;
}

static int parse_header(struct lab_labels *l, char **fields, int n, int lineno)
{
	for (int c = 0; c < COL_COUNT; c++) {
		l->col[c] = -1;
		for (int f = 0; f < n; f++)
			if (!strcmp(fields[f], column_names[c]))
				l->col[c] = f;
		if (l->col[c] < 0 && c != COL_SCENARIO)
			return errmsg(l->err, l->errlen, "%s:%d: no column '%s' in the header (it "
				      "needs capture, protocol, client_addr, client_port, server_addr, "
				      "server_port, class and app)", l->name, lineno, column_names[c]);
	}
	l->nfields = n;
	return 0;
}

static const char *field(const struct lab_labels *l, char **fields, enum column c)
{
	return l->col[c] >= 0 ? fields[l->col[c]] : "";
}

static int copy_text(const struct lab_labels *l, int lineno, const char *what, const char *text,
		     char *dst, size_t size)
{
	if (strlen(text) >= size)
		return errmsg(l->err, l->errlen, "%s:%d: %s longer than %zu characters", l->name,
			      lineno, what, size - 1);
	memcpy(dst, text, strlen(text) + 1);
	return 0;
}

static int parse_line(char *line, int lineno, void *ctx)
{
	struct lab_labels *l = ctx;
	char *fields[MAX_FIELDS];
	uint8_t client[16], server[16], proto;
	uint16_t cport, sport;
	struct lab_label lab = { 0 };
	struct conn conn;
	struct entry *e;
	int n, too_many, capture;

	if (!*line || (line[0] == '\r' && !line[1]))
		return 0;
	line[strcspn(line, "\r")] = 0;
	n = split_csv(line, fields, &too_many);
	if (n < 0)
		return errmsg(l->err, l->errlen, "%s:%d: a quoted field is not closed", l->name,
			      lineno);
	if (too_many)
		return errmsg(l->err, l->errlen, "%s:%d: more than %d fields", l->name, lineno,
			      MAX_FIELDS);
	if (!l->nfields)
		return parse_header(l, fields, n, lineno);
	if (n != l->nfields)
		return errmsg(l->err, l->errlen, "%s:%d: %d fields where the header has %d", l->name,
			      lineno, n, l->nfields);
	if (parse_proto(field(l, fields, COL_PROTOCOL), &proto))
		return errmsg(l->err, l->errlen, "%s:%d: bad protocol '%s' (tcp, udp or a number)",
			      l->name, lineno, field(l, fields, COL_PROTOCOL));
	if (flow_addr_parse(field(l, fields, COL_CLIENT), client) ||
	    flow_addr_parse(field(l, fields, COL_SERVER), server) ||
	    flow_addr_is_ipv4(client) != flow_addr_is_ipv4(server))
		return errmsg(l->err, l->errlen, "%s:%d: bad addresses '%s' and '%s'", l->name,
			      lineno, field(l, fields, COL_CLIENT), field(l, fields, COL_SERVER));
	if (parse_port(field(l, fields, COL_CLIENT_PORT), &cport) ||
	    parse_port(field(l, fields, COL_SERVER_PORT), &sport))
		return errmsg(l->err, l->errlen, "%s:%d: bad ports '%s' and '%s' (0 to 65535)",
			      l->name, lineno, field(l, fields, COL_CLIENT_PORT),
			      field(l, fields, COL_SERVER_PORT));
	lab.label = label_parse(field(l, fields, COL_CLASS));
	if (lab.label < 0)
		return errmsg(l->err, l->errlen, "%s:%d: unknown class '%s' (" ISCX_CLASS_LIST
			      " or an id)", l->name, lineno, field(l, fields, COL_CLASS));
	if (!*field(l, fields, COL_APP))
		return errmsg(l->err, l->errlen, "%s:%d: no application", l->name, lineno);
	if (copy_text(l, lineno, "app", field(l, fields, COL_APP), lab.app, sizeof(lab.app)) ||
	    copy_text(l, lineno, "scenario", field(l, fields, COL_SCENARIO), lab.scenario,
		      sizeof(lab.scenario)))
		return -1;
	capture = capture_id(l, field(l, fields, COL_CAPTURE));
	if (capture == -2 || (2 * (l->count + 1) > l->capacity && grow(l)))
		return errmsg(l->err, l->errlen, "%s:%d: out of memory", l->name, lineno);
	conn_make(&conn, proto, client, cport, server, sport, capture);
	e = slot_of(l, &conn);
	if (e->line) {
		if (e->lab.label == lab.label && !strcmp(e->lab.app, lab.app))
			return 0; /* the same connection said twice */
		return errmsg(l->err, l->errlen, "%s:%d: the connection of line %d again, with "
			      "another class or application", l->name, lineno, e->line);
	}
	*e = (struct entry){ .conn = conn, .line = lineno, .lab = lab };
	l->count++;
	return 0;
}

int lab_labels_parse(const char *text, size_t len, const char *name, struct lab_labels **out,
		     char *err, size_t errlen)
{
	struct lab_labels *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l || grow(l)) {
		free(l);
		return errmsg(err, errlen, "%s: out of memory", name);
	}
	l->name = name;
	l->err = err;
	l->errlen = errlen;
	if (rule_file_lines(text, len, name, parse_line, l, err, errlen)) {
		lab_labels_free(l);
		return -1;
	}
	if (!l->nfields) {
		lab_labels_free(l);
		return errmsg(err, errlen, "%s: empty: no header line", name);
	}
	l->name = NULL;
	l->err = NULL;
	*out = l;
	return 0;
}

int lab_labels_load(const char *path, struct lab_labels **out, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (file_read_regular(path, LAB_LABELS_MAX, &buf, &len, err, errlen))
		return -1;
	rc = lab_labels_parse((const char *)buf, len, path, out, err, errlen);
	free(buf);
	return rc;
}

void lab_labels_free(struct lab_labels *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->ncaptures; i++)
		free(l->captures[i]);
	free(l->captures);
	free(l->slots);
	free(l);
}

int lab_labels_capture(const struct lab_labels *l, const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	for (int i = 0; i < l->ncaptures; i++)
		if (!strcmp(l->captures[i], base))
			return i;
	return -2;
}

struct lab_label *lab_labels_find(struct lab_labels *l, int capture, const struct flow_key *key)
{
	struct conn c;
	struct entry *e;

	for (int pass = 0; pass < 2; pass++) {
		int cap = pass ? -1 : capture;

		if (cap < -1)
			continue;
		conn_make(&c, key->proto, key->saddr, key->sport, key->daddr, key->dport, cap);
		e = slot_of(l, &c);
		if (e->line) {
			e->lab.matched++;
			return &e->lab;
		}
	}
	return NULL;
}

size_t lab_labels_count(const struct lab_labels *l)
{
	return l->count;
}

size_t lab_labels_unmatched(const struct lab_labels *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->capacity; i++)
		n += l->slots[i].line && !l->slots[i].lab.matched;
	return n;
}
