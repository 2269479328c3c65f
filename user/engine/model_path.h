/* SPDX-License-Identifier: MIT */
#ifndef ODEFLOW_MODEL_PATH_H
#define ODEFLOW_MODEL_PATH_H

#include <stddef.h>

#define MODEL_DEFAULT_FILE "iscx-reg-20.safetensors"
/* The shipped class map: nDPI's protocols as the five ISCX classes. */
#define CLASS_MAP_DEFAULT_FILE "ndpi-classes.txt"
/* The shipped model's reference windows (teach/reference.h). */
#define REFERENCE_DEFAULT_DIR "reference"

/* The shipped default model: models/MODEL_DEFAULT_FILE under the
 * current directory if it is there, else in the binary's ../models/
 * (build/odeflow in a checkout), else in the share dir `make install`
 * filled (PREFIX/share/odeflow/models/, fixed at build time). */
const char *model_default_path(void);
/* The shipped class map, found as the model is. */
const char *class_map_default_path(void);
/* The shipped reference windows, found as the model is. */
const char *reference_default_path(void);
/* Any shipped file of models/ (e.g. "ndpi-classes.txt"), found the same way. */
void model_shipped_path(const char *file, char *buf, size_t len);

#endif
