/* SPDX-License-Identifier: MIT */
/* libFuzzer target: policy files. */
#include <stddef.h>
#include <stdint.h>

#include "agent/policy.h"

static const char *const classes[] = { "VoIP", "Video", "File_Transfer", "Chat", "Browsing" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_table t;
	char err[256];

	policy_parse((const char *)data, size, classes, 5, &t, err, sizeof(err));
	return 0;
}
