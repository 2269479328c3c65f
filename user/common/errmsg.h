/* SPDX-License-Identifier: MIT */
/* The project's error convention: a function that fails writes one line
 * saying what is wrong into the caller's err buffer and returns -1:
 *
 *     char err[ERRMSG_LEN];
 *     if (thing_open(path, &t, err, sizeof(err)))
 *             return cli_fail("%s", err);         (user/cli: "odeflow CMD: ...")
 *     ...
 *     return errmsg(err, errlen, "%s: %s", path, strerror(errno));
 *
 * A message says what failed and why ("reading x.npy: bad header"); a
 * caller that adds to one it got says only what it knows more, never a
 * prefix: the command names itself once, when the message reaches the
 * operator. */
#ifndef ODEFLOW_ERRMSG_H
#define ODEFLOW_ERRMSG_H

#include <stddef.h>

/* The size of every err buffer: room for a path, what failed and the last
 * lines of a verifier log (loader/verifier_log.h). */
#define ERRMSG_LEN 2048

/* Formats the message into err (truncated to errlen) and returns -1. */
__attribute__((format(printf, 3, 4)))
int errmsg(char *err, size_t errlen, const char *fmt, ...);

#endif
