/* SPDX-License-Identifier: MIT */
#include "site_dataset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/flow_table.h"
#include "capture/pcap_dataset.h"
#include "common/errmsg.h"
#include "common/flow_key.h"
#include "common/log.h"
#include "train/dataset_index.h"

/* A segment's files: SEG_PREFIX NNNNNN then one of the suffixes; written
 * under NEW_PREFIX NNNNNN first. */
#define SEG_PREFIX "seg-"
#define NEW_PREFIX ".new-"
#define SEG_DIGITS 6
static const char *const seg_suffixes[] = { "_x.npy", "_y.npy", "_index.csv", "_dataset.json" };
#define SEG_FILES (int)(sizeof(seg_suffixes) / sizeof(seg_suffixes[0]))
#define SEG_COMMIT (SEG_FILES - 1) /* the file whose presence makes a segment whole */
#define SEG_MAX 999999u

struct segment {
	uint32_t number;
	uint64_t bytes;
};

struct site_dataset {
	int dirfd;
	char dir[4096];
	char via[64];            /* "/proc/self/fd/N": the directory as opened */
	uint64_t cap;
	struct dataset_info info;
	int skip;
	struct segment *segments; /* oldest first */
	size_t nsegments, capacity;
	uint32_t next;
	uint64_t bytes, saved, lost;
	struct pcap_rows rows;    /* the segment being filled */
	struct flow_table *directions; /* its directions, numbered (the rows' sessions) */
	uint64_t ndirections;
};

struct direction_number {
	struct flow_key key;
	uint64_t number;
};

/* The directories above path, made (0755) where missing: the default
 * site is under /var/lib/odeflow, which a fresh host lacks. */
static int make_parents(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* Opens dir (made 0700 if missing) as a root process must: no symlink
 * followed, a directory of this user that no one else may write into. */
static int open_dir(const char *dir, bool create, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (create && make_parents(dir))
		return errmsg(err, errlen, "%s: cannot make its parent directories: %s", dir,
			      strerror(errno));
	if (create && mkdir(dir, 0700) && errno != EEXIST)
		return errmsg(err, errlen, "%s: cannot make it: %s", dir, strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errmsg(err, errlen, "%s: %s", dir,
			      errno == ELOOP || errno == ENOTDIR ? "not a directory (a symlink is "
			      "not followed)" : strerror(errno));
	if (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		errmsg(err, errlen, "%s: %s: refusing it as the site data set", dir,
		       st.st_uid != geteuid() ? "belongs to another user" :
		       "others may write into it");
		close(fd);
		return -1;
	}
	return fd;
}

static void segment_name(char *buf, size_t len, const char *prefix, uint32_t number, int file)
{
	snprintf(buf, len, "%s%0*u%s", prefix, SEG_DIGITS, number, file < 0 ? "" : seg_suffixes[file]);
}

/* The number and file of a name of ours ("seg-000012_x.npy"), or -1. */
static int parse_name(const char *name, const char *prefix, uint32_t *number)
{
	size_t plen = strlen(prefix);
	char *end;
	unsigned long v;

	if (strncmp(name, prefix, plen) || !strchr("0123456789", name[plen]))
		return -1;
	v = strtoul(name + plen, &end, 10);
	if (end != name + plen + SEG_DIGITS || v > SEG_MAX)
		return -1;
	for (int f = 0; f < SEG_FILES; f++)
		if (!strcmp(end, seg_suffixes[f])) {
			*number = (uint32_t)v;
			return f;
		}
	return -1;
}

static int by_number(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;

	return x->number < y->number ? -1 : x->number > y->number;
}

static int remove_segment(int dirfd, const char *prefix, uint32_t number)
{
	char name[64];
	int rc = 0;

	for (int f = 0; f < SEG_FILES; f++) {
		segment_name(name, sizeof(name), prefix, number, f);
		if (unlinkat(dirfd, name, 0) && errno != ENOENT)
			rc = -1;
	}
	return rc;
}

/* Segments of the directory, oldest first: whole ones into d; with tidy,
 * cut ones (their json missing) and unfinished writes are removed (only
 * the writer tidies: a reader beside it would remove what it is writing). */
static int scan(struct site_dataset *d, bool tidy, char *err, size_t errlen)
{
	int fd = dup(d->dirfd);
	DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t kept = 0;

	if (!dh) {
		if (fd >= 0)
			close(fd);
		return errmsg(err, errlen, "%s: cannot list it: %s", d->dir, strerror(errno));
	}
	while ((e = readdir(dh))) {
		struct stat st;
		uint32_t number;
		int file = parse_name(e->d_name, SEG_PREFIX, &number);
		size_t i;

		if (file < 0) {
			if (tidy && !strncmp(e->d_name, NEW_PREFIX, strlen(NEW_PREFIX)))
				unlinkat(d->dirfd, e->d_name, 0); /* a write cut short */
			continue;
		}
		if (fstatat(d->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		for (i = 0; i < d->nsegments && d->segments[i].number != number; i++)
			;
		if (i == d->nsegments) {
			if (d->nsegments == d->capacity) {
				size_t cap = d->capacity ? 2 * d->capacity : 64;
				struct segment *s = realloc(d->segments, cap * sizeof(*s));

				if (!s) {
					closedir(dh);
					return errmsg(err, errlen, "out of memory");
				}
				d->segments = s;
				d->capacity = cap;
			}
			d->segments[d->nsegments++] = (struct segment){ .number = number };
		}
		d->segments[i].bytes += (uint64_t)st.st_size;
		if (file == SEG_COMMIT)
			d->segments[i].bytes |= 1ull << 63; /* whole: marked until sorted out */
	}
	closedir(dh);
	if (d->nsegments) /* an empty folder has no array: qsort wants one */
		qsort(d->segments, d->nsegments, sizeof(*d->segments), by_number);
	for (size_t i = 0; i < d->nsegments; i++) {
		struct segment s = d->segments[i];

		if (!(s.bytes >> 63)) {
			if (tidy)
				remove_segment(d->dirfd, SEG_PREFIX, s.number);
			continue;
		}
		s.bytes &= ~(1ull << 63);
		d->segments[kept++] = s;
		d->bytes += s.bytes;
		d->next = s.number + 1;
	}
	d->nsegments = kept;
	return 0;
}

int site_dataset_open(const struct site_dataset_options *o, struct site_dataset **out,
		      char *err, size_t errlen)
{
	struct site_dataset *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return errmsg(err, errlen, "out of memory");
	if (o->cap_bytes < SITE_MIN_CAP_BYTES) {
		free(d);
		return errmsg(err, errlen, "a site data set of %llu bytes holds too little: at "
			      "least %llu", (unsigned long long)o->cap_bytes,
			      (unsigned long long)SITE_MIN_CAP_BYTES);
	}
	snprintf(d->dir, sizeof(d->dir), "%s", o->dir);
	d->cap = o->cap_bytes;
	d->info = o->info;
	d->skip = o->skip;
	d->rows.window = o->info.window;
	d->next = 1;
	d->dirfd = open_dir(o->dir, true, err, errlen);
	d->directions = flow_table_new(sizeof(struct direction_number), NULL);
	if (d->dirfd < 0 || !d->directions || scan(d, true, err, errlen)) {
		if (d->dirfd >= 0 && !d->directions)
			errmsg(err, errlen, "out of memory");
		site_dataset_close(d);
		return -1;
	}
	snprintf(d->via, sizeof(d->via), "/proc/self/fd/%d", d->dirfd);
	*out = d;
	return 0;
}

static void drop_held(struct site_dataset *d)
{
	pcap_rows_free(&d->rows);
	d->rows.window = d->info.window;
	flow_table_free(d->directions);
	d->directions = flow_table_new(sizeof(struct direction_number), NULL);
	d->ndirections = 0;
}

void site_dataset_close(struct site_dataset *d)
{
	char err[ERRMSG_LEN];

	if (!d)
		return;
	if (d->dirfd >= 0 && d->rows.count)
		site_dataset_flush(d, err, sizeof(err)); /* what is lost is counted */
	pcap_rows_free(&d->rows);
	flow_table_free(d->directions);
	free(d->segments);
	if (d->dirfd >= 0)
		close(d->dirfd);
	free(d);
}

int site_dataset_add(struct site_dataset *d, const struct window_record *w, int label,
		     const char *ndpi_name, const char *ndpi_category, char *err, size_t errlen)
{
	struct session_window sw = { .rec = *w };
	struct direction_number *dn;
	struct pcap_row *r;
	bool added;

	if (!d->directions || w->n != d->info.window)
		return errmsg(err, errlen, "a window of %u packets for a data set of %d", w->n,
			      d->info.window);
	dn = flow_table_add(d->directions, &w->key, &added);
	if (!dn)
		return errmsg(err, errlen, "out of memory");
	if (added)
		dn->number = d->ndirections++;
	sw.session = dn->number;
	/* times from the window's first packet (the model reads gaps only) */
	sw.session_first_ns = w->first_ns;
	for (int i = 0; i < w->n; i++)
		sw.ts_ns[i] = w->first_ns + (uint64_t)w->offset_us[i] * NSEC_PER_USEC;
	/* the fewest packets the direction had before this window: exact for
	 * its first, a bound for later ones (packets pass unrecorded between a
	 * window and its re-arm) */
	sw.first_packet = (uint64_t)d->skip + (uint64_t)w->window * (uint64_t)w->n;
	if (pcap_rows_add(&d->rows, 0, &sw))
		return errmsg(err, errlen, "out of memory");
	r = &d->rows.rows[d->rows.count - 1];
	r->label = label;
	snprintf(r->ndpi_protocol, sizeof(r->ndpi_protocol), "%s", ndpi_name);
	snprintf(r->ndpi_category, sizeof(r->ndpi_category), "%s", ndpi_category);
	if (d->rows.count >= SITE_SEGMENT_WINDOWS)
		return site_dataset_flush(d, err, errlen);
	return 0;
}

/* The oldest segments go while the data set is over its cap (the newest
 * always stays). */
static void rotate(struct site_dataset *d)
{
	size_t gone = 0;

	while (d->bytes > d->cap && d->nsegments - gone > 1) {
		remove_segment(d->dirfd, SEG_PREFIX, d->segments[gone].number);
		d->bytes -= d->segments[gone].bytes;
		gone++;
	}
	memmove(d->segments, d->segments + gone, (d->nsegments - gone) * sizeof(*d->segments));
	d->nsegments -= gone;
}

/* The temporary files of segment `number` made 0600 and renamed into
 * place, the commit file last; their size into *bytes. */
static int commit(struct site_dataset *d, uint32_t number, uint64_t *bytes, char *err,
		  size_t errlen)
{
	char from[64], to[64];

	*bytes = 0;
	for (int f = 0; f < SEG_FILES; f++) {
		struct stat st;
		int fd;

		segment_name(from, sizeof(from), NEW_PREFIX, number, f);
		segment_name(to, sizeof(to), SEG_PREFIX, number, f);
		fd = openat(d->dirfd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fchmod(fd, 0600) || fstat(fd, &st) ||
		    renameat(d->dirfd, from, d->dirfd, to)) {
			errmsg(err, errlen, "%s/%s: %s", d->dir, to, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		*bytes += (uint64_t)st.st_size;
	}
	return 0;
}

/* A message that names a file through d->via ("/proc/self/fd/7/x"),
 * rewritten to name it in the data set's directory ("DIR/x"). */
static const char *named(const struct site_dataset *d, char *msg)
{
	static __thread char buf[ERRMSG_LEN];
	char *at = strstr(msg, d->via);

	if (!at)
		return msg;
	if (snprintf(buf, sizeof(buf), "%.*s%.1024s%.900s", (int)(at - msg), msg, d->dir,
		     at + strlen(d->via)) < 0)
		return msg;
	return buf;
}

int site_dataset_flush(struct site_dataset *d, char *err, size_t errlen)
{
	char prefix[128], name[16], *files[1] = { name }, why[ERRMSG_LEN];
	uint32_t number = d->next;
	uint64_t bytes;
	size_t n = d->rows.count;

	if (!n)
		return 0;
	if (number > SEG_MAX) { /* a million segments: start the numbers again */
		d->lost += n;
		drop_held(d);
		return errmsg(err, errlen, "%s: segment numbers ran out: move the data set away",
			      d->dir);
	}
	if (d->nsegments == d->capacity) {
		size_t cap = d->capacity ? 2 * d->capacity : 64;
		struct segment *s = realloc(d->segments, cap * sizeof(*s));

		if (!s) {
			d->lost += n;
			drop_held(d);
			return errmsg(err, errlen, "out of memory");
		}
		d->segments = s;
		d->capacity = cap;
	}
	segment_name(name, sizeof(name), SEG_PREFIX, number, -1); /* the index's "file" */
	snprintf(prefix, sizeof(prefix), "%s/" NEW_PREFIX "%0*u", d->via, SEG_DIGITS, number);
	if (pcap_rows_write(prefix, &d->rows, files, &d->info, why, sizeof(why)) ||
	    commit(d, number, &bytes, why, sizeof(why))) {
		remove_segment(d->dirfd, NEW_PREFIX, number);
		remove_segment(d->dirfd, SEG_PREFIX, number);
		d->lost += n;
		drop_held(d);
		return errmsg(err, errlen, "site data set: %zu windows not written: %s", n,
			      named(d, why));
	}
	d->segments[d->nsegments++] = (struct segment){ .number = number, .bytes = bytes };
	d->bytes += bytes;
	d->saved += n;
	d->next = number + 1;
	drop_held(d);
	rotate(d);
	return 0;
}

uint64_t site_dataset_bytes(const struct site_dataset *d)
{
	return d->bytes;
}

uint64_t site_dataset_saved(const struct site_dataset *d)
{
	return d->saved;
}

uint64_t site_dataset_lost(const struct site_dataset *d)
{
	return d->lost;
}

size_t site_dataset_held(const struct site_dataset *d)
{
	return d->rows.count;
}

/* The direction of every row, from the index's address columns. */
static int read_directions(const char *prefix, size_t n, struct flow_key *out, char *err,
			   size_t errlen)
{
	static const char *const columns[] = { "src", "dst", "sport", "dport", "proto" };
	struct dataset_groups g[5] = { 0 };
	int rc = 0;

	for (int c = 0; c < 5 && !rc; c++)
		rc = dataset_index_load(prefix, n, columns[c], &g[c], err, errlen);
	for (size_t i = 0; !rc && i < n; i++) {
		const char *v[5];

		for (int c = 0; c < 5; c++)
			v[c] = g[c].names[g[c].group[i]];
		if (flow_key_make(&out[i], v[0], (uint16_t)atoi(v[2]), v[1], (uint16_t)atoi(v[3]),
				  (uint8_t)atoi(v[4])))
			rc = errmsg(err, errlen, "%s_index.csv: row %zu: a bad address", prefix, i);
	}
	for (int c = 0; c < 5; c++)
		dataset_groups_free(&g[c]);
	return rc;
}

/* Appends rows of one segment to out. */
static int append(struct site_rows *out, const struct dataset *ds, uint32_t number,
		  const struct flow_key *dirs)
{
	size_t n = out->data.n + ds->n, N = (size_t)ds->window, cells = n * N;
	float *sizes = realloc(out->data.sizes, (cells + 1) * sizeof(*sizes));
	double *times = sizes ? realloc(out->data.times, (cells + 1) * sizeof(*times)) : NULL;
	int *labels = times ? realloc(out->data.labels, (n + 1) * sizeof(*labels)) : NULL;
	uint32_t *seg = labels ? realloc(out->segment, (n + 1) * sizeof(*seg)) : NULL;
	struct flow_key *dir = seg ? realloc(out->direction, (n + 1) * sizeof(*dir)) : NULL;

	/* whatever was reallocated is kept, so site_rows_free frees it */
	if (sizes)
		out->data.sizes = sizes;
	if (times)
		out->data.times = times;
	if (labels)
		out->data.labels = labels;
	if (seg)
		out->segment = seg;
	if (!dir)
		return -1;
	out->direction = dir;
	memcpy(out->data.sizes + out->data.n * N, ds->sizes, ds->n * N * sizeof(*sizes));
	memcpy(out->data.times + out->data.n * N, ds->times, ds->n * N * sizeof(*times));
	memcpy(out->data.labels + out->data.n, ds->labels, ds->n * sizeof(*labels));
	memcpy(out->direction + out->data.n, dirs, ds->n * sizeof(*dir));
	for (size_t i = out->data.n; i < n; i++)
		out->segment[i] = number;
	out->data.n = n;
	out->data.window = ds->window;
	return 0;
}

int site_dataset_load(const char *dir, int num_classes, struct site_rows *out, char *err,
		      size_t errlen)
{
	struct site_dataset d = { .dirfd = -1 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	snprintf(d.dir, sizeof(d.dir), "%s", dir);
	d.dirfd = open_dir(dir, false, err, errlen);
	if (d.dirfd < 0 || scan(&d, false, err, errlen))
		goto out;
	snprintf(d.via, sizeof(d.via), "/proc/self/fd/%d", d.dirfd);
	for (size_t s = 0; s < d.nsegments; s++) {
		char prefix[128], why[ERRMSG_LEN], name[16];
		struct dataset ds = { 0 };
		struct dataset_info info;
		struct flow_key *dirs = NULL;
		int bad;

		segment_name(name, sizeof(name), SEG_PREFIX, d.segments[s].number, -1);
		snprintf(prefix, sizeof(prefix), "%s/%s", d.via, name);
		bad = dataset_info_load(prefix, &info, why, sizeof(why)) != 0 ||
		      dataset_load(prefix, num_classes, &ds, why, sizeof(why)) ||
		      (out->data.n && ds.window != out->data.window &&
		       errmsg(why, sizeof(why), "windows of %d packets, not %d", ds.window,
			      out->data.window)) ||
		      !(dirs = calloc(ds.n + 1, sizeof(*dirs))) ||
		      read_directions(prefix, ds.n, dirs, why, sizeof(why));
		if (!bad && append(out, &ds, d.segments[s].number, dirs)) {
			errmsg(err, errlen, "out of memory");
			free(dirs);
			dataset_free(&ds);
			goto out;
		}
		if (bad) {
			log_line(LOG_LEVEL_WARNING, "%s/%s: skipped: %s", dir, name, named(&d, why));
			out->skipped++;
		} else {
			out->info = info;
			out->segments++;
		}
		free(dirs);
		dataset_free(&ds);
	}
	if (!out->segments) {
		errmsg(err, errlen, "%s: no segment of labelled windows to read%s", dir,
		       out->skipped ? " (every one is corrupt)" : "");
		goto out;
	}
	rc = 0;
out:
	free(d.segments);
	if (d.dirfd >= 0)
		close(d.dirfd);
	if (rc)
		site_rows_free(out);
	return rc;
}

void site_rows_free(struct site_rows *r)
{
	dataset_free(&r->data);
	free(r->segment);
	free(r->direction);
	memset(r, 0, sizeof(*r));
}
