/* SPDX-License-Identifier: MIT */
/* The rows odeflow pcap2npy collects, one per window, and the dataset it
 * writes from them: PREFIX_x.npy, PREFIX_y.npy, PREFIX_index.csv (where
 * each row came from and what it is) and PREFIX_dataset.json (its class
 * names and where its windows start, train/dataset_info.h). */
#ifndef ODEFLOW_PCAP_DATASET_H
#define ODEFLOW_PCAP_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "sessions.h"
#include "train/dataset_info.h"

struct pcap_row {
	int file;
	int label;                  /* class id; -1: none (yet) */
	uint64_t session;
	uint16_t window;
	uint64_t first_packet;
	struct flow_key key;
	char ndpi_protocol[64];     /* "" unless labelled by nDPI */
	char ndpi_category[32];
	const char *app, *scenario; /* NULL unless labelled by the lab (lab_labels.h) */
	double *x;                  /* 2 * N: sizes, then times */
};

struct pcap_rows {
	int window;
	size_t count, capacity;
	struct pcap_row *rows;
};

/* A row for window w of capture number file, label -1. -1 when out of memory. */
int pcap_rows_add(struct pcap_rows *d, int file, const struct session_window *w);
/* Removes the rows from index `from` on whose label is still -1. */
void pcap_rows_drop_unlabelled(struct pcap_rows *d, size_t from);
void pcap_rows_free(struct pcap_rows *d);

/* Writes the dataset (rows sorted by capture, direction, window); files
 * are the captures' names. Errors: -1 and one line in err; a dataset half
 * written is removed. */
int pcap_rows_write(const char *prefix, struct pcap_rows *d, char **files,
		    const struct dataset_info *info, char *err, size_t errlen);

#endif
