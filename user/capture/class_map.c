// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "class_map.h"
#include "common/errmsg.h"
#include "common/file_read.h"
#include "engine/model.h"
#include "rule_file.h"

#define BAD_ACTION (-3) /* parse_action failed: err says why */
#define TRANSPORT_TCP 1u
#define TRANSPORT_UDP 2u

/* One condition: its comma-separated values, split in place (values holds
 * count NUL-terminated strings one after the other), or for transport a
 * set of TRANSPORT_* bits. */
struct condition {
	char *values;
	int count;
	unsigned transport;
};

struct rule {
	int action; /* a class id or CLASS_MAP_IGNORE */
	int line;
	struct condition cond[CLASS_FIELD_COUNT]; /* values NULL: no condition */
	bool any;   /* no condition at all: matches every flow */
};

struct class_map {
	char *name;          /* the file, for errors found after parsing */
	size_t count;
	struct rule *rules;
	int classes;
	bool declared;       /* the classes came from a `classes` line */
	char names[ODEFLOW_MAX_CLASSES][ODEFLOW_CLASS_NAME_LEN];
};

static const char *const field_names[CLASS_FIELD_COUNT] = {
	[CLASS_FIELD_PROTOCOL] = "protocol",
	[CLASS_FIELD_MASTER] = "master",
	[CLASS_FIELD_CATEGORY] = "category",
	[CLASS_FIELD_TRANSPORT] = "transport",
};

const char *class_field_name(enum class_field field)
{
	return (unsigned)field < CLASS_FIELD_COUNT ? field_names[field] : "?";
}

void class_map_free(struct class_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->count; i++)
		for (int f = 0; f < CLASS_FIELD_COUNT; f++)
			free(m->rules[i].cond[f].values);
	free(m->rules);
	free(m->name);
	free(m);
}

struct parse_state {
	struct class_map *map;
	const char *name;
	int lineno;
	int catch_all_line; /* the first rule without conditions, 0: none yet */
	char *err;
	size_t errlen;
};

/* "NAME:LINE: message" into err; returns -1. */
__attribute__((format(printf, 2, 3)))
static int fail(const struct parse_state *st, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return errmsg(st->err, st->errlen, "%s:%d: %s", st->name, st->lineno, msg);
}

/* Class names become model class names: short, and safe in a CSV column. */
static int check_class_name(const struct parse_state *st, const char *name)
{
	if (strlen(name) >= sizeof(st->map->names[0]))
		return fail(st, "class name '%.40s...' is longer than 31 characters", name);
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
			return fail(st, "class name '%.40s' may hold only letters, digits, '_', "
				    "'-' and '.'", name);
	if (!strcmp(name, "ignore") || !strcmp(name, "classes"))
		return fail(st, "'%s' is a keyword, not a class name", name);
	return 0;
}

static int class_id(const struct class_map *m, const char *name)
{
	for (int i = 0; i < m->classes; i++)
		if (!strcmp(m->names[i], name))
			return i;
	return -1;
}

static int add_class(struct parse_state *st, const char *name)
{
	struct class_map *m = st->map;

	if (check_class_name(st, name))
		return -1;
	if (m->classes == ODEFLOW_MAX_CLASSES)
		return fail(st, "more than %d classes, as many as a model can have", ODEFLOW_MAX_CLASSES);
	snprintf(m->names[m->classes++], sizeof(m->names[0]), "%s", name);
	return m->classes - 1;
}

/* "classes A B C": the class ids, before any rule. */
static int parse_classes(struct parse_state *st, char **save)
{
	struct class_map *m = st->map;
	char *name;

	if (m->declared || m->count)
		return fail(st, "%s", m->declared ? "a second 'classes' line"
				      : "the 'classes' line must come before every rule");
	m->declared = true;
	while ((name = strtok_r(NULL, " \t\r", save)))
		if (class_id(m, name) >= 0 ? fail(st, "class '%s' named twice", name)
					   : add_class(st, name) < 0)
			return -1;
	if (m->classes < 2)
		return fail(st, "%s", "'classes' names fewer than 2 classes");
	return 0;
}

static int parse_action(struct parse_state *st, const char *action)
{
	int id;

	if (!strcmp(action, "ignore"))
		return CLASS_MAP_IGNORE;
	id = class_id(st->map, action);
	if (id >= 0)
		return id;
	if (st->map->declared) {
		if (!check_class_name(st, action))
			fail(st, "class '%s' is not on the 'classes' line", action);
		return BAD_ACTION;
	}
	id = add_class(st, action);
	return id < 0 ? BAD_ACTION : id;
}

static int parse_transport(struct parse_state *st, struct condition *c)
{
	const char *v = c->values;

	for (int i = 0; i < c->count; i++, v += strlen(v) + 1) {
		if (!strcasecmp(v, "tcp"))
			c->transport |= TRANSPORT_TCP;
		else if (!strcasecmp(v, "udp"))
			c->transport |= TRANSPORT_UDP;
		else
			return fail(st, "transport '%.40s' is not tcp or udp", v);
	}
	return 0;
}

/* "field=v1,v2" into r. */
static int parse_condition(struct parse_state *st, char *token, struct rule *r)
{
	char *eq = strchr(token, '='), *v;
	struct condition *c;
	int f;

	if (!eq)
		return fail(st, "'%.40s' is not FIELD=VALUE (protocol, master, category, "
			    "transport)", token);
	*eq = 0;
	for (f = 0; f < CLASS_FIELD_COUNT && strcmp(token, field_names[f]); f++)
		;
	if (f == CLASS_FIELD_COUNT)
		return fail(st, "unknown field '%.40s' (protocol, master, category, transport)",
			    token);
	c = &r->cond[f];
	if (c->values)
		return fail(st, "%s given twice in one rule", field_names[f]);
	c->values = strdup(eq + 1);
	if (!c->values)
		return errmsg(st->err, st->errlen, "%s: out of memory", st->name);
	c->count = 1;
	for (v = c->values; *v; v++)
		if (*v == ',') {
			*v = 0;
			c->count++;
		}
	v = c->values;
	for (int i = 0; i < c->count; i++, v += strlen(v) + 1)
		if (!*v)
			return fail(st, "%s has an empty value", field_names[f]);
	return f == CLASS_FIELD_TRANSPORT ? parse_transport(st, c) : 0;
}

static int parse_line(char *line, int lineno, void *ctx)
{
	struct parse_state *st = ctx;
	struct class_map *m = st->map;
	char *hash = strchr(line, '#'), *action, *token, *save;
	struct rule r = { .line = lineno, .any = true }, *rules;

	st->lineno = lineno;
	if (hash)
		*hash = 0;
	action = strtok_r(line, " \t\r", &save);
	if (!action)
		return 0;
	if (!strcmp(action, "classes"))
		return parse_classes(st, &save);
	if (st->catch_all_line)
		return fail(st, "never reached: the rule on line %d matches every flow",
			    st->catch_all_line);
	r.action = parse_action(st, action);
	while (r.action != BAD_ACTION && (token = strtok_r(NULL, " \t\r", &save))) {
		r.any = false;
		if (parse_condition(st, token, &r)) {
			r.action = BAD_ACTION;
			break;
		}
	}
	rules = r.action == BAD_ACTION ? NULL : realloc(m->rules, (m->count + 1) * sizeof(*rules));
	if (!rules) {
		for (int f = 0; f < CLASS_FIELD_COUNT; f++)
			free(r.cond[f].values);
		return r.action == BAD_ACTION ? -1 : errmsg(st->err, st->errlen, "%s: out of memory", st->name);
	}
	m->rules = rules;
	m->rules[m->count++] = r;
	if (r.any)
		st->catch_all_line = lineno;
	return 0;
}

int class_map_parse(const char *text, size_t len, const char *name, struct class_map **out,
		    char *err, size_t errlen)
{
	struct parse_state st = { .map = calloc(1, sizeof(*st.map)), .name = name, .err = err,
				  .errlen = errlen };
	int rc;

	if (!st.map || !(st.map->name = strdup(name))) {
		class_map_free(st.map);
		return errmsg(err, errlen, "%s: out of memory", name);
	}
	rc = rule_file_lines(text, len, name, parse_line, &st, err, errlen);
	if (!rc && !st.map->count)
		rc = errmsg(err, errlen, "%s: no rules", name);
	if (!rc && st.map->classes < 2)
		rc = errmsg(err, errlen, "%s: the rules name %s class: a classifier needs two",
			    name, st.map->classes ? "one" : "no");
	if (rc) {
		class_map_free(st.map);
		return -1;
	}
	*out = st.map;
	return 0;
}

int class_map_load(const char *path, struct class_map **out, char *err, size_t errlen)
{
	uint8_t *text;
	size_t len;
	int rc;

	if (file_read_regular(path, RULE_FILE_MAX, &text, &len, err, errlen))
		return -1;
	rc = class_map_parse((const char *)text, len, path, out, err, errlen);
	free(text);
	return rc;
}

int class_map_check_names(const struct class_map *m,
			  bool (*known)(enum class_field field, const char *value, void *ctx),
			  void *ctx, char *err, size_t errlen)
{
	for (size_t i = 0; i < m->count; i++) {
		for (int f = 0; f < CLASS_FIELD_TRANSPORT; f++) {
			const struct condition *c = &m->rules[i].cond[f];
			const char *v = c->values;

			for (int j = 0; v && j < c->count; j++, v += strlen(v) + 1)
				if (!strpbrk(v, "*?[") && !known((enum class_field)f, v, ctx))
					return errmsg(err, errlen, "%s:%d: nDPI knows no %s called '%.40s'",
						      m->name, m->rules[i].line, field_names[f], v);
		}
	}
	return 0;
}

static bool condition_holds(const struct condition *c, enum class_field f,
			    const struct class_map_flow *flow)
{
	const char *v = c->values;

	if (!v)
		return true;
	if (f == CLASS_FIELD_TRANSPORT)
		return (flow->transport == IPPROTO_TCP && (c->transport & TRANSPORT_TCP)) ||
		       (flow->transport == IPPROTO_UDP && (c->transport & TRANSPORT_UDP));
	for (int i = 0; i < c->count; i++, v += strlen(v) + 1)
		if (!fnmatch(v, flow->field[f] ? flow->field[f] : "", FNM_CASEFOLD))
			return true;
	return false;
}

int class_map_match(const struct class_map *m, const struct class_map_flow *flow)
{
	for (size_t i = 0; i < m->count; i++) {
		const struct rule *r = &m->rules[i];
		int f;

		for (f = 0; f < CLASS_FIELD_COUNT && condition_holds(&r->cond[f], f, flow); f++)
			;
		if (f == CLASS_FIELD_COUNT)
			return r->action;
	}
	return CLASS_MAP_NO_RULE;
}

int class_map_classes(const struct class_map *m)
{
	return m->classes;
}

const char *class_map_class_name(const struct class_map *m, int id)
{
	return id >= 0 && id < m->classes ? m->names[id] : NULL;
}
