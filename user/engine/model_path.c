/* SPDX-License-Identifier: MIT */
#include "model_path.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build_config.h"

#define MODEL_DIR "models"
#define DEFAULT_MODEL_FILE "iscx-reg-20.safetensors"
#define DEFAULT_MODEL MODEL_DIR "/" DEFAULT_MODEL_FILE

const char *model_default_path(void)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t n;

	if (!access(DEFAULT_MODEL, R_OK))
		return DEFAULT_MODEL;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(path, sizeof(path), "%s/../" DEFAULT_MODEL, dirname(exe));
		if (!access(path, R_OK))
			return path;
	}
	/* installed: `make install` put the shipped models there */
	if (!access(ODEFLOW_SHARE_DIR "/" DEFAULT_MODEL, R_OK))
		return ODEFLOW_SHARE_DIR "/" DEFAULT_MODEL;
	return DEFAULT_MODEL;
}
