// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "label_map.h"
#include "common/file_read.h"
#include "engine/model.h"

#define LABEL_MAP_FILE_MAX (1u << 20)

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
	if (!*text || *end || errno || id < 0 || id >= MODEL_MAX_CLASSES)
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

/* One line "PATTERN CLASS" (already without its newline) into m. */
static int parse_rule(struct label_map *m, char *line, const char *name, int lineno,
		      char *err, size_t errlen)
{
	char *pattern, *label, *extra, *save;
	struct rule *rules;
	int id;

	pattern = strtok_r(line, " \t\r", &save);
	if (!pattern || pattern[0] == '#')
		return 0;
	label = strtok_r(NULL, " \t\r", &save);
	extra = strtok_r(NULL, " \t\r", &save);
	if (!label || extra) {
		snprintf(err, errlen, "%s:%d: expected 'PATTERN CLASS'", name, lineno);
		return -1;
	}
	id = label_parse(label);
	if (id < 0) {
		snprintf(err, errlen, "%s:%d: unknown class '%s' (VoIP, Video, File_Transfer, "
			 "Chat, Browsing or an id 0..%d)", name, lineno, label,
			 MODEL_MAX_CLASSES - 1);
		return -1;
	}
	rules = realloc(m->rules, (m->count + 1) * sizeof(*rules));
	if (!rules || !(rules[m->count].pattern = strdup(pattern))) {
		if (rules)
			m->rules = rules;
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	m->rules = rules;
	m->rules[m->count++].label = id;
	return 0;
}

int label_map_parse(const char *text, size_t len, const char *name, struct label_map **out,
		    char *err, size_t errlen)
{
	struct label_map *m = calloc(1, sizeof(*m));
	char *copy = malloc(len + 1), *line, *next;
	int lineno = 1, rc = 0;

	if (!m || !copy) {
		free(m);
		free(copy);
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = 0;
	if (strlen(copy) != len) {
		snprintf(err, errlen, "%s: contains a NUL byte: not a text file", name);
		rc = -1;
	}
	for (line = copy; !rc && line; line = next, lineno++) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		rc = parse_rule(m, line, name, lineno, err, errlen);
	}
	if (!rc && !m->count) {
		snprintf(err, errlen, "%s: no rules", name);
		rc = -1;
	}
	free(copy);
	if (rc) {
		label_map_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* The whole of f (label maps are a few lines) into a malloc'd buffer. */
int label_map_load(const char *path, struct label_map **out, char *err, size_t errlen)
{
	uint8_t *text;
	size_t len;
	int rc;

	if (file_read_regular(path, LABEL_MAP_FILE_MAX, &text, &len, err, errlen))
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
