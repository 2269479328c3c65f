/* SPDX-License-Identifier: MIT */
#ifndef ODEFLOW_MODEL_PATH_H
#define ODEFLOW_MODEL_PATH_H

#include <stddef.h>

/* The shipped default model: models/iscx-reg-20.safetensors under the
 * current directory if it is there, else next to the binary's ../models/
 * (build/odeflow in a checkout, or an installed bin/ beside a models/). */
const char *model_default_path(void);
/* Any shipped file of models/ (e.g. "ndpi-classes.txt"), found the same way. */
void model_shipped_path(const char *file, char *buf, size_t len);

#endif
