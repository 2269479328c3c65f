/* SPDX-License-Identifier: MIT */
/* Status and error lines on stderr, one line per event, in a form journald
 * keeps: when stderr is the journal's stream (systemd sets JOURNAL_STREAM
 * to its device:inode), each line starts with the sd-daemon level prefix
 * ("<3>" error, "<4>" warning, "<6>" info) that journald stores as the
 * line's priority; on a terminal or a file the line reads "odeflow: ..."
 * ("odeflow run: ..." once log_set_name named the command). */
#ifndef ODEFLOW_LOG_H
#define ODEFLOW_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_INFO = 6,
};

/* The name lines start with: "odeflow" until a command names itself
 * ("odeflow run"). */
void log_set_name(const char *name);

/* The name, ": " and the message, in one write; in the journal every line
 * of a message of several lines (a verifier log) carries the level. */
__attribute__((format(printf, 2, 3)))
void log_line(enum log_level level, const char *fmt, ...);
__attribute__((format(printf, 2, 0)))
void log_vline(enum log_level level, const char *fmt, va_list ap);

#endif
