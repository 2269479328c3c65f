/* SPDX-License-Identifier: MIT */
#include "model_path.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void model_shipped_path(const char *file, char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;

	snprintf(buf, len, "models/%s", file);
	if (!access(buf, R_OK))
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	snprintf(buf, len, "%s/../models/%s", dirname(exe), file);
	if (access(buf, R_OK))
		snprintf(buf, len, "models/%s", file);
}

const char *model_default_path(void)
{
	static char path[PATH_MAX + 64];

	model_shipped_path("iscx-reg-20.safetensors", path, sizeof(path));
	return path;
}
