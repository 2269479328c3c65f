/* SPDX-License-Identifier: MIT */
/* Memory the agent sizes up front: what the host has available, and large
 * tables whose pages are all there from the start. */
#ifndef ODEFLOW_MEMORY_H
#define ODEFLOW_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MemAvailable from /proc/meminfo, in bytes; 0 when it cannot be read. */
uint64_t memory_available(void);

/* A table of bytes of zeroed memory; NULL when it cannot be had. Give it
 * back with memory_release(p, bytes). resident: every page faulted in now,
 * huge pages where the kernel gives them, for a table probed at random on a
 * latency-critical path: left to fault in lazily, it takes a page fault on
 * nearly every new entry until it has all been touched, and with small
 * pages a TLB miss on nearly every probe. Else pages come as they are
 * touched (a short offline run touches few). */
void *memory_table(size_t bytes, bool resident);
void memory_release(void *p, size_t bytes);

#endif
