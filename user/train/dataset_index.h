/* SPDX-License-Identifier: MIT */
/* Which capture file each window of a dataset came from: the "file" column
 * of PREFIX_index.csv, which odeflow pcap2npy writes beside PREFIX_x.npy
 * (a header naming the columns, then one record per window in the npy
 * files' order, its "row" column counting from 0; a field holding a comma,
 * a quote or a line break is quoted as RFC 4180 says). Cross-validation
 * holds out whole captures with it (folds.h, folds_by_file). */
#ifndef ODEFLOW_DATASET_INDEX_H
#define ODEFLOW_DATASET_INDEX_H

#include <stddef.h>

struct dataset_files {
	size_t n;       /* windows (records) */
	int *file;      /* n: each window's file, 0..count-1 */
	int count;      /* distinct files, numbered in order of first appearance */
	char **names;   /* count file names */
};

/* Reads PREFIX_index.csv (PREFIX/index.csv when PREFIX is a directory)
 * for a dataset of n windows. Errors: -1 and one line in err
 * naming the file: missing, malformed (with its line), no "row" or "file"
 * column, rows out of order, or not n records. */
int dataset_files_load(const char *prefix, size_t n, struct dataset_files *out, char *err,
		       size_t errlen);
/* The same from the file's text (errors name its line only). */
int dataset_files_parse(const char *text, size_t len, struct dataset_files *out, char *err,
			size_t errlen);
void dataset_files_free(struct dataset_files *f);

#endif
