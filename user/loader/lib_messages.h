/* SPDX-License-Identifier: MIT */
/* What libbpf and libxdp say while the loader calls them, kept instead of
 * printed: their first warning names the cause of a failure (for example
 * "couldn't reuse pinned map", or libxdp's reason for not building its
 * dispatcher) in the loader's one error line, and nothing else reaches
 * stderr. Not thread-safe: the libraries' print hooks are process-wide.
 *
 *     lib_messages_capture();
 *     if (bpf_object__load(obj)) ... lib_messages_first() ...
 *     lib_messages_restore();
 */
#ifndef ODEFLOW_LIB_MESSAGES_H
#define ODEFLOW_LIB_MESSAGES_H

/* Starts keeping the first warning (or, from libxdp, notice) either
 * library prints; forgets any kept before. Calls nest: each is paired with
 * lib_messages_restore. */
void lib_messages_capture(void);
/* Forgets what was kept, and keeps the next one. */
void lib_messages_clear(void);
/* The first message kept, one line without its newline; "" if none. */
const char *lib_messages_first(void);
/* Gives both libraries back the print functions they had. */
void lib_messages_restore(void);

#endif
