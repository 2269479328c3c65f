// SPDX-License-Identifier: MIT
/* Model files: safetensors with the configuration in __metadata__ (every
 * value a string, as the format requires) and one tensor per parameter
 * tensor: F32 weights named as in the PyTorch reference
 * (tools/reference/golden.py) for the networks, F32 and I32 arrays for
 * trees (arch_trees.c). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arch.h"
#include "common/errmsg.h"
#include "common/file_read.h"
#include "safetensors.h"

#define MODEL_FILE_MAX (256u << 20)

static void set_str(json_t *meta, const char *key, const char *value)
{
	json_object_set_new(meta, key, json_string(value));
}

static void set_int(json_t *meta, const char *key, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	set_str(meta, key, buf);
}

/* The shortest decimal that reads back as the same double ("1e-07"). */
static void set_double(json_t *meta, const char *key, double v)
{
	char buf[32];

	for (int digits = 1; digits <= 17; digits++) {
		snprintf(buf, sizeof(buf), "%.*g", digits, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	set_str(meta, key, buf);
}

static const char *dtype_name(enum tensor_dtype dtype)
{
	return dtype == TENSOR_I32 ? "I32" : "F32";
}

/* A tensor's name in the file: an ensemble's member k prefixes "mK." */
static void file_name(const struct model *m, int k, int t, char *name, size_t len)
{
	if (m->cfg.members > 1)
		snprintf(name, len, "m%d.%s", k, m->tensors[t].name);
	else
		snprintf(name, len, "%s", m->tensors[t].name);
}

int model_save(const struct model *m, const char *path, char *err, size_t errlen)
{
	const struct model_config *c = &m->cfg;
	const int n = m->ntensors * c->members;
	struct st_out_tensor t[MODEL_MAX_TENSORS * MODEL_MAX_MEMBERS];
	char names[MODEL_MAX_TENSORS * MODEL_MAX_MEMBERS][48];
	json_t *meta = json_object(), *classes = json_array();
	char *classes_text, start[WINDOW_START_STRLEN];
	int rc;

	for (int i = 0; i < c->num_classes; i++)
		json_array_append_new(classes, json_string(c->class_names[i]));
	classes_text = json_dumps(classes, JSON_COMPACT);
	json_decref(classes);
	set_str(meta, "format", "odeflow");
	set_str(meta, "arch", model_arch_name(c->arch));
	set_int(meta, "window", c->window);
	set_str(meta, "classes", classes_text ? classes_text : "");
	set_str(meta, "transform", c->transform);
	set_double(meta, "temperature", c->temperature);
	set_int(meta, "members", c->members);
	set_int(meta, "model_id", c->model_id);
	window_start_format(&c->window_start, start, sizeof(start));
	set_str(meta, "window_start", start);
	free(classes_text);
	if (c->arch == ARCH_TREES) {
		set_int(meta, "trees", c->trees);
		set_int(meta, "nodes", c->nodes);
	} else {
		set_int(meta, "hidden", c->hidden);
		set_int(meta, "ode_hidden", c->ode_hidden);
		set_str(meta, "solver", model_solver_name(c->solver));
		set_int(meta, "rk4_steps", c->rk4_steps);
		set_double(meta, "rtol", c->rtol);
		set_double(meta, "atol", c->atol);
	}
	if (c->unknown != UNKNOWN_NONE) {
		set_str(meta, "unknown", model_unknown_name(c->unknown));
		if (isfinite(c->unknown_threshold)) /* absent: never Unknown */
			set_double(meta, "unknown_threshold", c->unknown_threshold);
	}
	for (int i = 0; i < n; i++) {
		int k = i / m->ntensors;
		const struct tensor_spec *s = &m->tensors[i % m->ntensors];

		file_name(m, k, i % m->ntensors, names[i], sizeof(names[i]));
		t[i] = (struct st_out_tensor){ .name = names[i], .dtype = dtype_name(s->dtype),
					       .ndim = s->ndim, .shape = { s->shape[0], s->shape[1] },
					       .data = m->params + k * m->member_params + s->offset };
	}
	rc = st_write(path, meta, n, t, err, errlen);
	json_decref(meta);
	return rc;
}

/* ---- loading ---- */

/* The metadata string key, or NULL with the problem in err. */
static const char *meta_str(json_t *meta, const char *key, char *err, size_t errlen)
{
	const char *v = json_string_value(json_object_get(meta, key));

	if (!v)
		errmsg(err, errlen, "metadata has no '%s'", key);
	return v;
}

static int meta_int(json_t *meta, const char *key, long min, long max, long *out, char *err,
		    size_t errlen)
{
	const char *v = meta_str(meta, key, err, errlen);
	char *end;

	if (!v)
		return -1;
	errno = 0;
	*out = strtol(v, &end, 10);
	/* digits only: strtol would also take spaces and a sign */
	if (!isdigit((unsigned char)*v) || *end || errno || *out < min || *out > max)
		return errmsg(err, errlen, "metadata '%s' = '%.32s' is not an integer in %ld..%ld",
			      key, v,
			      min, max);
	return 0;
}

static int meta_double(json_t *meta, const char *key, double *out, char *err, size_t errlen)
{
	const char *v = meta_str(meta, key, err, errlen);
	char *end;

	if (!v)
		return -1;
	*out = strtod(v, &end);
	if (!*v || *end || !isfinite(*out))
		return errmsg(err, errlen, "metadata '%s' = '%.32s' is not a finite number", key,
			      v);
	return 0;
}

static int meta_classes(json_t *meta, struct model_config *c, char *err, size_t errlen)
{
	const char *text = meta_str(meta, "classes", err, errlen);
	json_t *list, *v;
	size_t i;

	if (!text)
		return -1;
	list = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(list) || json_array_size(list) > ODEFLOW_MAX_CLASSES) {
		errmsg(err, errlen, "metadata 'classes' is not a JSON list of at most %d names",
		       ODEFLOW_MAX_CLASSES);
		json_decref(list);
		return -1;
	}
	json_array_foreach(list, i, v) {
		const char *name = json_string_value(v);

		if (!name || strlen(name) >= sizeof(c->class_names[i])) {
			errmsg(err, errlen,
			       "metadata 'classes' entry %zu is not a string of at most %zu bytes",
			       i, sizeof(c->class_names[i]) - 1);
			json_decref(list);
			return -1;
		}
		snprintf(c->class_names[i], sizeof(c->class_names[i]), "%s", name);
	}
	c->num_classes = (int)json_array_size(list);
	json_decref(list);
	return 0;
}

/* The networks' solver and sizes. */
static int meta_network(json_t *meta, struct model_config *c, char *err, size_t errlen)
{
	const char *solver = meta_str(meta, "solver", err, errlen);
	long hidden, ode_hidden, steps;

	if (!solver)
		return -1;
	if (model_solver_parse(solver, &c->solver))
		return errmsg(err, errlen, "unknown solver '%.32s'", solver);
	if (meta_int(meta, "hidden", 0, INT_MAX, &hidden, err, errlen) ||
	    meta_int(meta, "ode_hidden", 0, INT_MAX, &ode_hidden, err, errlen) ||
	    meta_int(meta, "rk4_steps", 0, INT_MAX, &steps, err, errlen) ||
	    meta_double(meta, "rtol", &c->rtol, err, errlen) ||
	    meta_double(meta, "atol", &c->atol, err, errlen))
		return -1;
	c->hidden = (int)hidden;
	c->ode_hidden = (int)ode_hidden;
	c->rk4_steps = (int)steps;
	return 0;
}

static int meta_trees(json_t *meta, struct model_config *c, char *err, size_t errlen)
{
	long trees, nodes;

	if (meta_int(meta, "trees", 0, INT_MAX, &trees, err, errlen) ||
	    meta_int(meta, "nodes", 0, INT_MAX, &nodes, err, errlen))
		return -1;
	c->trees = (int)trees;
	c->nodes = (int)nodes;
	return 0;
}

/* Absent in files written before it existed: the shipped ISCX models, whose
 * windows came from anywhere in a session. */
static int meta_window_start(json_t *meta, struct model_config *c, char *err, size_t errlen)
{
	json_t *v = json_object_get(meta, "window_start");
	char why[ERRMSG_LEN];

	if (!v) {
		c->window_start = (struct window_start){ .kind = WINDOW_START_ANY };
		return 0;
	}
	if (!json_is_string(v) ||
	    window_start_parse(json_string_value(v), &c->window_start, why, sizeof(why)))
		return errmsg(err, errlen, "metadata 'window_start': %s",
			      json_is_string(v) ? why : "not a string");
	return 0;
}

/* Absent in files without an Unknown score (every model before it); a
 * score without a threshold is computed but never makes a window Unknown. */
static int meta_unknown(json_t *meta, struct model_config *c, char *err, size_t errlen)
{
	const char *name;

	if (!json_object_get(meta, "unknown"))
		return json_object_get(meta, "unknown_threshold") ?
		       errmsg(err, errlen, "metadata has 'unknown_threshold' but no 'unknown'") : 0;
	if (!(name = meta_str(meta, "unknown", err, errlen)))
		return -1;
	if (model_unknown_parse(name, &c->unknown))
		return errmsg(err, errlen, "unknown Unknown score '%.32s'", name);
	return json_object_get(meta, "unknown_threshold") ?
	       meta_double(meta, "unknown_threshold", &c->unknown_threshold, err, errlen) : 0;
}

static int meta_config(json_t *meta, struct model_config *c, char *err, size_t errlen)
{
	const char *format, *arch_name, *transform;
	enum model_arch arch;
	long window, id, members;

	memset(c, 0, sizeof(*c));
	if (!meta)
		return errmsg(err, errlen, "no __metadata__: not an odeflow model");
	if (!(format = meta_str(meta, "format", err, errlen)))
		return -1;
	if (strcmp(format, "odeflow"))
		return errmsg(err, errlen, "metadata format '%.32s' is not 'odeflow'", format);
	if (!(arch_name = meta_str(meta, "arch", err, errlen)) ||
	    !(transform = meta_str(meta, "transform", err, errlen)))
		return -1;
	if (model_arch_parse(arch_name, &arch))
		return errmsg(err, errlen, "unknown architecture '%.32s'", arch_name);
	/* the defaults fill what this architecture's files do not carry */
	model_config_defaults(arch, c);
	if (strlen(transform) >= sizeof(c->transform))
		return errmsg(err, errlen, "unknown feature transform '%.32s...'", transform);
	snprintf(c->transform, sizeof(c->transform), "%s", transform);
	if (meta_int(meta, "window", 0, INT_MAX, &window, err, errlen) ||
	    meta_int(meta, "model_id", 0, UINT32_MAX, &id, err, errlen) ||
	    meta_classes(meta, c, err, errlen) || meta_window_start(meta, c, err, errlen) ||
	    (arch == ARCH_TREES ? meta_trees : meta_network)(meta, c, err, errlen))
		return -1;
	/* files from before calibration have no temperature: their logits as they
	 * are; files from before ensembles are one network */
	c->temperature = 1;
	if (json_object_get(meta, "temperature") &&
	    meta_double(meta, "temperature", &c->temperature, err, errlen))
		return -1;
	members = 1;
	if (json_object_get(meta, "members") &&
	    meta_int(meta, "members", 0, INT_MAX, &members, err, errlen))
		return -1;
	c->members = (int)members;
	c->window = (int)window;
	c->model_id = (uint32_t)id;
	if (meta_unknown(meta, c, err, errlen))
		return -1;
	return model_config_check(c, err, errlen);
}

static int copy_tensor(const struct tensor_spec *s, const char *name, const struct st_tensor *t,
		       float *dst, char *err, size_t errlen)
{
	int same = t->ndim == s->ndim && t->shape[0] == (uint64_t)s->shape[0] &&
		   (s->ndim == 1 || t->shape[1] == (uint64_t)s->shape[1]);

	if (strcmp(t->dtype, dtype_name(s->dtype)))
		return errmsg(err, errlen, "tensor '%s' has dtype %s, not %s", name, t->dtype,
			      dtype_name(s->dtype));
	if (!same) {
		char got[ST_MAX_DIMS * 24 + 3] = "[";

		for (int d = 0; d < t->ndim; d++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%llu", d ? "," : "",
				 (unsigned long long)t->shape[d]);
		return errmsg(err, errlen, "tensor '%s' has shape %s], expected [%d%s%.0d]", name,
			      got,
			      s->shape[0], s->ndim > 1 ? "," : "", s->ndim > 1 ? s->shape[1] : 0);
	}
	memcpy(dst, t->data, t->nbytes);
	return 0;
}

static int load_from(const struct st_file *f, struct model **out, char *err, size_t errlen)
{
	struct model_config cfg;
	struct model *m;
	char name[48];

	if (meta_config(f->metadata, &cfg, err, errlen) || model_alloc(&cfg, &m, err, errlen))
		return -1;
	for (int i = 0; i < f->ntensors; i++) {
		int known = 0;

		for (int j = 0; j < m->ntensors * cfg.members; j++) {
			file_name(m, j / m->ntensors, j % m->ntensors, name, sizeof(name));
			known |= !strcmp(f->tensors[i].name, name);
		}
		if (!known) {
			errmsg(err, errlen, "unknown tensor '%.64s' for architecture %s",
			       f->tensors[i].name, m->ops->name);
			model_free(m);
			return -1;
		}
	}
	for (int j = 0; j < m->ntensors * cfg.members; j++) {
		const struct tensor_spec *s = &m->tensors[j % m->ntensors];
		int k = j / m->ntensors;
		const struct st_tensor *t;

		file_name(m, k, j % m->ntensors, name, sizeof(name));
		t = st_find(f, name);
		if (!t) {
			errmsg(err, errlen, "missing tensor '%s'", name);
			model_free(m);
			return -1;
		}
		if (copy_tensor(s, name, t, m->params + k * m->member_params + s->offset, err,
				errlen)) {
			model_free(m);
			return -1;
		}
	}
	if (model_check_params(m, err, errlen)) {
		model_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

int model_load_buffer(const void *buf, size_t len, struct model **out, char *err, size_t errlen)
{
	struct st_file f;
	int rc;

	*out = NULL;
	if (st_parse(buf, len, &f, err, errlen))
		return -1;
	rc = load_from(&f, out, err, errlen);
	st_free(&f);
	return rc;
}

int model_load(const char *path, struct model **out, char *err, size_t errlen)
{
	char why[ERRMSG_LEN];
	uint8_t *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (file_read_regular(path, MODEL_FILE_MAX, &buf, &len, err, errlen))
		return -1;
	rc = model_load_buffer(buf, len, out, why, sizeof(why));
	if (rc)
		errmsg(err, errlen, "%s: %s", path, why);
	free(buf);
	return rc;
}
