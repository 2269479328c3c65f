/* SPDX-License-Identifier: MIT */
/* Rule files (label maps, class maps): small text files read whole (only
 * regular files: file_read_regular) and parsed a line at a time, so every
 * error can name its line. */
#ifndef ODEFLOW_RULE_FILE_H
#define ODEFLOW_RULE_FILE_H

#include <stddef.h>

/* The largest rule file read (common/file_read.h reads it). */
#define RULE_FILE_MAX (1u << 20)

/* Calls line_fn with each line of text (its line break removed, writable)
 * and its number from 1, until one returns -1. A NUL byte in text is an
 * error: not a text file. Returns 0 or -1 (err filled by whoever failed). */
int rule_file_lines(const char *text, size_t len, const char *name,
		    int (*line_fn)(char *line, int lineno, void *ctx), void *ctx,
		    char *err, size_t errlen);

#endif
