// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errmsg.h"
#include "label_map.h"
#include "rule_file.h"
#include "common/file_read.h"
#include "engine/model.h"

struct rule {
	char *pattern;
	int label;
};

struct label_map {
	size_t count;
	struct rule *rules;
};

int label_parse(const char *text)
{
	struct model_config iscx;
	char *end;
	long id;

	model_config_defaults(ARCH_ODERNN, &iscx); /* the shipped models' classes */
	for (int i = 0; i < iscx.num_classes; i++)
		if (!strcmp(text, iscx.class_names[i]))
			return i;
	errno = 0;
	id = strtol(text, &end, 10);
	if (!*text || *end || errno || id < 0 || id >= ODEFLOW_MAX_CLASSES)
		return -1;
	return (int)id;
}

void label_map_free(struct label_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->count; i++)
		free(m->rules[i].pattern);
	free(m->rules);
	free(m);
}

struct parse_state {
	struct label_map *map;
	const char *name;
	char *err;
	size_t errlen;
};

/* One line "PATTERN CLASS" (already without its newline) into the map. */
static int parse_rule(char *line, int lineno, void *ctx)
{
	struct parse_state *st = ctx;
	struct label_map *m = st->map;
	char *pattern, *label, *extra, *save;
	struct rule *rules;
	int id;

	pattern = strtok_r(line, " \t\r", &save);
	if (!pattern || pattern[0] == '#')
		return 0;
	label = strtok_r(NULL, " \t\r", &save);
	extra = strtok_r(NULL, " \t\r", &save);
	if (!label || extra)
		return errmsg(st->err, st->errlen, "%s:%d: expected 'PATTERN CLASS'", st->name, lineno);
	id = label_parse(label);
	if (id < 0)
		return errmsg(st->err, st->errlen, "%s:%d: unknown class '%s' (" ISCX_CLASS_LIST
			      " or an id 0..%d)", st->name, lineno, label, ODEFLOW_MAX_CLASSES - 1);
	rules = realloc(m->rules, (m->count + 1) * sizeof(*rules));
	if (rules)
		m->rules = rules;
	if (!rules || !(rules[m->count].pattern = strdup(pattern)))
		return errmsg(st->err, st->errlen, "%s: out of memory", st->name);
	m->rules[m->count++].label = id;
	return 0;
}

int label_map_parse(const char *text, size_t len, const char *name, struct label_map **out,
		    char *err, size_t errlen)
{
	struct parse_state st = { .map = calloc(1, sizeof(*st.map)), .name = name, .err = err,
				  .errlen = errlen };
	int rc;

	if (!st.map)
		return errmsg(err, errlen, "%s: out of memory", name);
	rc = rule_file_lines(text, len, name, parse_rule, &st, err, errlen);
	if (!rc && !st.map->count)
		rc = errmsg(err, errlen, "%s: no rules", name);
	if (rc) {
		label_map_free(st.map);
		return -1;
	}
	*out = st.map;
	return 0;
}

int label_map_load(const char *path, struct label_map **out, char *err, size_t errlen)
{
	uint8_t *text;
	size_t len;
	int rc;

	if (file_read_regular(path, RULE_FILE_MAX, &text, &len, err, errlen))
		return -1;
	rc = label_map_parse((const char *)text, len, path, out, err, errlen);
	free(text);
	return rc;
}

int label_map_lookup(const struct label_map *m, const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	for (size_t i = 0; i < m->count; i++) {
		const char *p = m->rules[i].pattern;

		if (!fnmatch(p, strchr(p, '/') ? path : base, 0))
			return m->rules[i].label;
	}
	return -1;
}
