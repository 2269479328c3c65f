/* SPDX-License-Identifier: MIT */
/* The traffic lab's labels (tools/lab, `pcap2npy --labels`): a CSV file,
 * one row per connection, named by its columns in a header line:
 *     capture,protocol,client_addr,client_port,server_addr,server_port,class,app,scenario,...
 * capture is a capture file's base name (empty: any capture), protocol tcp,
 * udp or a number, class a class name or id (label_parse), app and
 * scenario free text (scenario may be missing); other columns are ignored.
 * A field may be quoted ("a ""b"""). Both directions of a connection get
 * its row. */
#ifndef ODEFLOW_LAB_LABELS_H
#define ODEFLOW_LAB_LABELS_H

#include <stddef.h>

#include "common/flow_key.h"

/* The largest labels file read: an hour of the lab is a few MB. */
#define LAB_LABELS_MAX (256u << 20)
#define LAB_APP_MAX 64
#define LAB_SCENARIO_MAX 192

struct lab_label {
	int label;                          /* class id */
	char app[LAB_APP_MAX];
	char scenario[LAB_SCENARIO_MAX];
	unsigned long matched;              /* windows that found this row */
};

struct lab_labels;

/* Errors: -1 and one line in err naming the file, the line and the problem. */
int lab_labels_load(const char *path, struct lab_labels **out, char *err, size_t errlen);
int lab_labels_parse(const char *text, size_t len, const char *name, struct lab_labels **out,
		     char *err, size_t errlen);
void lab_labels_free(struct lab_labels *l);

/* The id of capture file PATH (by base name) for lab_labels_find: rows for
 * other captures never match it. */
int lab_labels_capture(const struct lab_labels *l, const char *path);

/* The row of the connection one direction of which is KEY in capture
 * CAPTURE, or NULL. */
struct lab_label *lab_labels_find(struct lab_labels *l, int capture, const struct flow_key *key);

/* Rows in the file, and rows no window found. */
size_t lab_labels_count(const struct lab_labels *l);
size_t lab_labels_unmatched(const struct lab_labels *l);

#endif
