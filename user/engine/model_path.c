/* SPDX-License-Identifier: MIT */
#include "model_path.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build_config.h"

void model_shipped_path(const char *file, char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;

	snprintf(buf, len, "models/%s", file);
	if (!access(buf, R_OK))
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(buf, len, "%s/../models/%s", dirname(exe), file);
		if (!access(buf, R_OK))
			return;
	}
	/* installed: `make install` put the shipped files there */
	snprintf(buf, len, ODEFLOW_SHARE_DIR "/models/%s", file);
	if (access(buf, R_OK))
		snprintf(buf, len, "models/%s", file);
}

const char *model_default_path(void)
{
	static char path[PATH_MAX + 64];

	model_shipped_path(MODEL_DEFAULT_FILE, path, sizeof(path));
	return path;
}

const char *class_map_default_path(void)
{
	static char path[PATH_MAX + 64];

	model_shipped_path(CLASS_MAP_DEFAULT_FILE, path, sizeof(path));
	return path;
}

const char *reference_default_path(void)
{
	static char path[PATH_MAX + 64];

	model_shipped_path(REFERENCE_DEFAULT_DIR, path, sizeof(path));
	return path;
}
