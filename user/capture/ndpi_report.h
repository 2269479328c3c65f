/* SPDX-License-Identifier: MIT */
/* What odeflow pcap2npy --label-ndpi found: connections, directions with
 * windows and windows, per class and per nDPI protocol, with what became of
 * those left out (guessed, unknown, ignored, no rule). */
#ifndef ODEFLOW_NDPI_REPORT_H
#define ODEFLOW_NDPI_REPORT_H

#include <stdio.h>

#include "class_map.h"
#include "ndpi_labeler.h"

/* A connection's fate: a class id, CLASS_MAP_IGNORE, CLASS_MAP_NO_RULE, or
 * NDPI_LEFT_OUT (nDPI did not detect it by inspection: r->outcome says how). */
#define NDPI_LEFT_OUT (-3)

struct ndpi_report;

struct ndpi_report *ndpi_report_new(const struct class_map *map);
void ndpi_report_free(struct ndpi_report *rep);

/* The fate of a connection nDPI has finished with. */
int ndpi_report_verdict(const struct class_map *map, const struct ndpi_result *r);
/* Counts a connection, or one window of it (first: its direction's first). */
int ndpi_report_connection(struct ndpi_report *rep, const struct ndpi_result *r, int verdict);
int ndpi_report_window(struct ndpi_report *rep, const struct ndpi_result *r, int verdict,
		       bool first);

/* The tables, per class then per nDPI protocol. */
void ndpi_report_print(FILE *out, const struct ndpi_report *rep);

#endif
