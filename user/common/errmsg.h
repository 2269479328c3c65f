/* SPDX-License-Identifier: MIT */
/* The project's error convention: a function that fails writes one line
 * saying what is wrong into the caller's err buffer and returns -1. */
#ifndef ODEFLOW_ERRMSG_H
#define ODEFLOW_ERRMSG_H

#include <stddef.h>

/* The size of every error buffer: one line, with room for a path. */
#define ERRMSG_LEN 512

/* Formats the message into err (truncated to errlen) and returns -1. */
__attribute__((format(printf, 3, 4)))
int errmsg(char *err, size_t errlen, const char *fmt, ...);

#endif
