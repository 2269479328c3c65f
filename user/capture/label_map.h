/* SPDX-License-Identifier: MIT */
/* Class labels for building datasets from captures. A class is named as in
 * the shipped models and the ISCX data (VoIP, Video, File_Transfer, Chat,
 * Browsing = ids 0..4) or given as its id. A label map turns file names into
 * classes, one rule a line:
 *     # comment
 *     *voip*        VoIP
 *     captures/ft-* File_Transfer
 * A pattern (fnmatch glob) without '/' matches the file's base name, one
 * with '/' the path as given; the first matching rule wins. */
#ifndef ODEFLOW_LABEL_MAP_H
#define ODEFLOW_LABEL_MAP_H

#include <stddef.h>

/* A class name or id -> id, or -1. */
int label_parse(const char *text);

struct label_map;

/* Errors: -1 and one line in err naming the file, the line and the problem. */
int label_map_load(const char *path, struct label_map **out, char *err, size_t errlen);
int label_map_parse(const char *text, size_t len, const char *name, struct label_map **out,
		    char *err, size_t errlen);
void label_map_free(struct label_map *m);

/* The class of a capture file, or -1 if no rule matches. */
int label_map_lookup(const struct label_map *m, const char *path);

#endif
