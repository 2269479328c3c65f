/* SPDX-License-Identifier: MIT */
/* What odeflow pcap2npy's PREFIX_index.csv says about each window of a
 * dataset, one column at a time: the capture file it came from ("file"),
 * the application that made it ("app", from the lab's labels:
 * pcap2npy --labels), its position in its flow direction ("window"), ...
 * The index is a header naming the columns, then one record per window in
 * the npy files' order, its "row" column counting from 0; a field holding
 * a comma, a quote or a line break is quoted as RFC 4180 says.
 * Cross-validation holds out whole captures or applications with it
 * (folds.h, folds_by_group). */
#ifndef ODEFLOW_DATASET_INDEX_H
#define ODEFLOW_DATASET_INDEX_H

#include <stddef.h>

/* One column: windows grouped by its value. */
struct dataset_groups {
	size_t n;       /* windows (records) */
	int *group;     /* n: each window's value, 0..count-1 */
	int count;      /* distinct values, numbered in order of first appearance */
	char **names;   /* count values */
};

/* Reads column `column` of PREFIX_index.csv (PREFIX/index.csv when PREFIX
 * is a directory) for a dataset of n windows. Errors: -1 and one line in
 * err naming the file: missing, malformed (with its line), no "row" or no
 * such column, rows out of order, or not n records. */
int dataset_index_load(const char *prefix, size_t n, const char *column,
		       struct dataset_groups *out, char *err, size_t errlen);
/* The same from the file's text (errors name its line only). */
int dataset_index_parse(const char *text, size_t len, const char *column,
			struct dataset_groups *out, char *err, size_t errlen);
void dataset_groups_free(struct dataset_groups *g);

#endif
