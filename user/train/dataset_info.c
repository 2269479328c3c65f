// SPDX-License-Identifier: MIT
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/file_read.h"
#include "dataset.h"
#include "dataset_info.h"

#define DATASET_INFO_MAX (1u << 20)

void dataset_info_path(const char *prefix, char *buf, size_t len)
{
	dataset_side_path(prefix, "dataset.json", buf, len);
}

static int parse_classes(json_t *list, struct dataset_info *info, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(list) || json_array_size(list) < 2 ||
	    json_array_size(list) > ODEFLOW_MAX_CLASSES)
		return errmsg(err, errlen, "'classes' is not a list of 2 to %d names",
			      ODEFLOW_MAX_CLASSES);
	json_array_foreach(list, i, v) {
		const char *name = json_string_value(v);

		if (!name || !*name || strlen(name) >= sizeof(info->class_names[i]))
			return errmsg(err, errlen, "'classes' entry %zu is not a name of 1 to %zu "
				      "characters", i, sizeof(info->class_names[i]) - 1);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(info->class_names[j], name))
				return errmsg(err, errlen, "'classes' names '%s' twice", name);
		snprintf(info->class_names[i], sizeof(info->class_names[i]), "%s", name);
	}
	info->num_classes = (int)json_array_size(list);
	return 0;
}

int dataset_info_parse(const char *text, size_t len, struct dataset_info *info, char *err,
		       size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *classes, *start;
	char why[ERRMSG_LEN];
	int rc = 0;

	memset(info, 0, sizeof(*info));
	if (!json_is_object(root)) {
		json_decref(root);
		return errmsg(err, errlen, "not a JSON object%s%s", root ? "" : ": ",
			      root ? "" : jerr.text);
	}
	classes = json_object_get(root, "classes");
	start = json_object_get(root, "window_start");
	if (classes)
		rc = parse_classes(classes, info, err, errlen);
	if (!rc && !json_is_string(start))
		rc = errmsg(err, errlen, "no 'window_start' string (first, any or skip:K)");
	if (!rc && window_start_parse(json_string_value(start), &info->window_start, why,
				      sizeof(why)))
		rc = errmsg(err, errlen, "'window_start': %s", why);
	json_decref(root);
	return rc;
}

int dataset_info_load(const char *prefix, struct dataset_info *info, char *err, size_t errlen)
{
	char path[4096], why[256];
	uint8_t *text;
	size_t len;
	int rc;

	dataset_info_path(prefix, path, sizeof(path));
	if (access(path, F_OK) && errno == ENOENT)
		return 1;
	if (file_read_regular(path, DATASET_INFO_MAX, &text, &len, err, errlen))
		return -1;
	rc = dataset_info_parse((const char *)text, len, info, why, sizeof(why));
	free(text);
	return rc ? errmsg(err, errlen, "%s: %s", path, why) : 0;
}

bool dataset_info_same_classes(const struct dataset_info *info, const struct model_config *cfg)
{
	if (info->num_classes != cfg->num_classes)
		return false;
	for (int k = 0; k < cfg->num_classes; k++)
		if (strcmp(info->class_names[k], cfg->class_names[k]))
			return false;
	return true;
}

int dataset_info_save(const char *prefix, const struct dataset_info *info, char *err,
		      size_t errlen)
{
	json_t *root = json_object(), *classes;
	char path[4096], start[WINDOW_START_STRLEN];
	int rc;

	dataset_info_path(prefix, path, sizeof(path));
	if (info->num_classes) {
		classes = json_array();
		for (int i = 0; i < info->num_classes; i++)
			json_array_append_new(classes, json_string(info->class_names[i]));
		json_object_set_new(root, "classes", classes);
	}
	window_start_format(&info->window_start, start, sizeof(start));
	json_object_set_new(root, "window_start", json_string(start));
	if (info->window)
		json_object_set_new(root, "window", json_integer(info->window));
	if (info->labelled_by[0])
		json_object_set_new(root, "labelled_by", json_string(info->labelled_by));
	rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return rc ? errmsg(err, errlen, "%s: cannot write it", path) : 0;
}
