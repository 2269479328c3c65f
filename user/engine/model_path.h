/* SPDX-License-Identifier: MIT */
#ifndef ODEFLOW_MODEL_PATH_H
#define ODEFLOW_MODEL_PATH_H

/* The shipped default model: models/iscx-reg-20.safetensors under the
 * current directory if it is there, else in the binary's ../models/
 * (build/odeflow in a checkout), else in the share dir `make install`
 * filled (PREFIX/share/odeflow/models/, fixed at build time). */
const char *model_default_path(void);

#endif
