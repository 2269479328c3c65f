/* SPDX-License-Identifier: MIT */
/* What a dataset says about itself, beside its npy files: PREFIX_dataset.json,
 *     {"classes": ["VoIP", ...], "window_start": "first", "window": 20,
 *      "labelled_by": "nDPI 4.2.0, class map models/ndpi-classes.txt"}
 * classes names the class ids of PREFIX_y.npy in order (optional);
 * window_start says where its windows start in their directions
 * (common/window_start.h). odeflow pcap2npy writes it and odeflow train
 * reads these two, so a model knows its class names and where its windows
 * came from. The other keys are for people. */
#ifndef ODEFLOW_DATASET_INFO_H
#define ODEFLOW_DATASET_INFO_H

#include <stdbool.h>
#include <stddef.h>

#include "common/window_start.h"
#include "engine/model.h"

struct dataset_info {
	int num_classes;                              /* 0: the file names none */
	char class_names[ODEFLOW_MAX_CLASSES][ODEFLOW_CLASS_NAME_LEN];
	struct window_start window_start;
	int window;             /* N; written, not read */
	char labelled_by[160];  /* written if not empty, not read */
};

/* PREFIX_dataset.json for a dataset prefix (or PREFIX/dataset.json when
 * PREFIX is a directory, the layout of the published data). */
void dataset_info_path(const char *prefix, char *buf, size_t len);

/* Reads it. 0 when read, 1 when there is no such file, -1 with one line in
 * err when it is there but wrong. */
int dataset_info_load(const char *prefix, struct dataset_info *info, char *err, size_t errlen);
int dataset_info_parse(const char *text, size_t len, struct dataset_info *info, char *err,
		       size_t errlen);
/* Whether the info names exactly the model's classes, in its order. */
bool dataset_info_same_classes(const struct dataset_info *info, const struct model_config *cfg);
int dataset_info_save(const char *prefix, const struct dataset_info *info, char *err,
		      size_t errlen);

#endif
