/* SPDX-License-Identifier: MIT */
/* Collects the window records a test's ring buffer delivers:
 * window_ring_new(..., on_record, NULL, ...), then read records[0..n_records). */
#ifndef ODEFLOW_TEST_WINDOW_RECORDS_H
#define ODEFLOW_TEST_WINDOW_RECORDS_H

#include "common/window_record.h"

#ifndef MAX_RECORDS
#define MAX_RECORDS 512
#endif

static struct window_record records[MAX_RECORDS];
static int n_records;

static inline int on_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (n_records < MAX_RECORDS && window_record_decode(data, len, &records[n_records]) == 0)
		n_records++;
	return 0;
}

#endif
