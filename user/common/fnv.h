/* SPDX-License-Identifier: MIT */
/* FNV-1a, 32 bits: the ids of models, hashed from what made them (never a
 * table's hash of keys a sender chooses: those are keyed). */
#ifndef ODEFLOW_FNV_H
#define ODEFLOW_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A32_START 2166136261u

static inline uint32_t fnv1a32(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

#endif
