/* SPDX-License-Identifier: MIT */
/* Reading a whole input file (a model, a policy, a label map) as a command
 * that may run as root must: only a regular file is read. A FIFO, a device
 * or a socket is refused at once rather than opened and waited on. */
#ifndef ODEFLOW_FILE_READ_H
#define ODEFLOW_FILE_READ_H

#include <stddef.h>
#include <stdint.h>

/* Reads path into a new buffer (*buf, one byte more than *len, NUL-terminated
 * so text parsers may use it as a string; free it). Errors: -1 and one line
 * in err naming the file: missing, not a regular file, larger than max
 * bytes, unreadable. */
int file_read_regular(const char *path, size_t max, uint8_t **buf, size_t *len, char *err,
		      size_t errlen);

#endif
