/* SPDX-License-Identifier: MIT */
/* The part of a verifier log worth showing: its last lines. */
#ifndef ODEFLOW_VERIFIER_LOG_H
#define ODEFLOW_VERIFIER_LOG_H

#include <stddef.h>

/* Appends "\nverifier log (last lines):\n" and the last `lines` lines of
 * log (trailing blank lines dropped) to the message in err, within errlen
 * bytes. Appends nothing for an empty log. */
void verifier_log_tail(char *err, size_t errlen, const char *log, int lines);

#endif
