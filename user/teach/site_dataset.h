/* SPDX-License-Identifier: MIT */
/* The site data set: the windows of taught connections, each labelled with
 * the class nDPI found in its connection, on disk in a directory of its
 * own, as segments in the format `odeflow pcap2npy --label-ndpi` writes
 * (capture/pcap_dataset.h: SEG_x.npy, SEG_y.npy, SEG_index.csv with the
 * same index columns, SEG_dataset.json), so `odeflow train --data
 * SITE/seg-000001` reads any one of them. Segments are numbered in the
 * order they were written: the data set reads in time order.
 *
 * Bounded: when the segments pass `cap_bytes`, the oldest go. Payload
 * bytes never get here: only sizes and times, as the model sees them.
 *
 * The directory is opened as a root process must open a path an attacker
 * may have chosen: made with mode 0700 if missing; refused if it is a
 * symlink, not a directory, not this user's or writable by others. Every
 * file is then reached through the directory opened once (never through
 * its path again), written under a temporary name, given mode 0600 and
 * renamed into place, SEG_dataset.json last: a segment whose json is
 * missing was cut short (a crash, a full disk) and is removed when the
 * directory is next opened. The directory holds nothing else of ours;
 * files of other names are left alone. */
#ifndef ODEFLOW_SITE_DATASET_H
#define ODEFLOW_SITE_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/window_record.h"
#include "train/dataset.h"
#include "train/dataset_info.h"

/* Windows a segment holds at most (about 500 bytes each on disk). */
#define SITE_SEGMENT_WINDOWS 2000
/* The smallest cap: a few segments. */
#define SITE_MIN_CAP_BYTES (4ull << 20)
#define SITE_DEFAULT_CAP_MIB 256 /* a plain number: --help shows it */

struct site_dataset_options {
	const char *dir;
	uint64_t cap_bytes;           /* >= SITE_MIN_CAP_BYTES */
	struct dataset_info info;     /* class names, N, window_start, labelled_by */
	int skip;                     /* packets before a direction's first window */
};

struct site_dataset;

/* Opens (makes) the directory, removes segments cut short, and counts what
 * it holds. Errors: -1 and one line in err. */
int site_dataset_open(const struct site_dataset_options *o, struct site_dataset **out,
		      char *err, size_t errlen);
/* Writes what is held (site_dataset_flush) and closes. */
void site_dataset_close(struct site_dataset *d);

/* One labelled window (class id `label` of info's classes) of a
 * connection nDPI named `ndpi_name` (category ndpi_category). Held in
 * memory until the segment is full (then written: the return value is
 * site_dataset_flush's) or flushed. -1 with one line in err only when the
 * write failed: the segment's windows are lost and counted. */
int site_dataset_add(struct site_dataset *d, const struct window_record *w, int label,
		     const char *ndpi_name, const char *ndpi_category, char *err, size_t errlen);
/* Writes the windows held as a new segment, then removes the oldest
 * segments while the data set is over its cap. Nothing held: nothing
 * written. Errors (a full disk): -1 and one line in err; the windows held
 * are dropped and counted. */
int site_dataset_flush(struct site_dataset *d, char *err, size_t errlen);

uint64_t site_dataset_bytes(const struct site_dataset *d);   /* on disk */
uint64_t site_dataset_saved(const struct site_dataset *d);   /* windows written */
uint64_t site_dataset_lost(const struct site_dataset *d);    /* windows a write lost */
size_t site_dataset_held(const struct site_dataset *d);      /* windows waiting in memory */

/* The whole data set, for learning: every segment in the order written,
 * as one dataset whose rows keep that order, with each row's segment
 * number and direction (from the index). Segments that do not read (a
 * corrupt file) are skipped, each with one line on stderr (prefix names
 * the caller). Errors (no directory, nothing readable): -1 and one line. */
struct site_rows {
	struct dataset data;
	struct dataset_info info;     /* the newest segment's */
	uint32_t *segment;            /* per row */
	struct flow_key *direction;   /* per row */
	int segments;                 /* read */
	int skipped;                  /* corrupt, skipped */
};
int site_dataset_load(const char *dir, int num_classes, struct site_rows *out, char *err,
		      size_t errlen);
void site_rows_free(struct site_rows *r);

#endif
