/* SPDX-License-Identifier: MIT */
#include "model_path.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MODEL "models/iscx-reg-20.safetensors"

const char *model_default_path(void)
{
	static char path[PATH_MAX + 64];
	char exe[PATH_MAX];
	ssize_t n;

	if (!access(DEFAULT_MODEL, R_OK))
		return DEFAULT_MODEL;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return DEFAULT_MODEL;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/../" DEFAULT_MODEL, dirname(exe));
	return access(path, R_OK) ? DEFAULT_MODEL : path;
}
