// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/errmsg.h"
#include "common/flow_key.h"
#include "pcap_dataset.h"
#include "train/dataset.h"

int pcap_rows_add(struct pcap_rows *d, int file, const struct session_window *w)
{
	struct pcap_row *r;
	int n = d->window;

	if (d->count == d->capacity) {
		size_t cap = d->capacity ? 2 * d->capacity : 1024;
		struct pcap_row *rows = realloc(d->rows, cap * sizeof(*rows));

		if (!rows)
			return -1;
		d->rows = rows;
		d->capacity = cap;
	}
	r = &d->rows[d->count];
	*r = (struct pcap_row){ .file = file, .label = -1, .session = w->session,
				.window = w->rec.window, .first_packet = w->first_packet,
				.key = w->rec.key, .x = malloc(2 * n * sizeof(double)) };
	if (!r->x)
		return -1;
	for (int i = 0; i < n; i++) {
		r->x[i] = w->rec.sizes[i];
		r->x[n + i] = (double)((w->ts_ns[i] - w->session_first_ns) / 1000) * 1e-6;
	}
	d->count++;
	return 0;
}

void pcap_rows_drop_unlabelled(struct pcap_rows *d, size_t from)
{
	size_t kept = from;

	for (size_t i = from; i < d->count; i++) {
		if (d->rows[i].label < 0)
			free(d->rows[i].x);
		else
			d->rows[kept++] = d->rows[i];
	}
	d->count = kept;
}

void pcap_rows_free(struct pcap_rows *d)
{
	for (size_t i = 0; i < d->count; i++)
		free(d->rows[i].x);
	free(d->rows);
	d->rows = NULL;
	d->count = d->capacity = 0;
}

static int row_order(const void *a, const void *b)
{
	const struct pcap_row *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->session != y->session)
		return x->session < y->session ? -1 : 1;
	return (int)x->window - (int)y->window;
}

/* A CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int write_index(const char *path, const struct pcap_rows *d, char **files,
		       const struct dataset_info *info)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "row,file,src,dst,sport,dport,proto,window,first_packet,label,ndpi_protocol,"
		"ndpi_category,app,scenario\n");
	for (size_t i = 0; i < d->count; i++) {
		const struct pcap_row *r = &d->rows[i];
		char src[FLOW_ADDR_STRLEN], dst[FLOW_ADDR_STRLEN], id[16];

		flow_addr_format(r->key.saddr, src, sizeof(src));
		flow_addr_format(r->key.daddr, dst, sizeof(dst));
		snprintf(id, sizeof(id), "%d", r->label);
		fprintf(f, "%zu,", i);
		csv_field(f, files[r->file]);
		fprintf(f, ",%s,%s,%u,%u,%u,%u,%" PRIu64 ",", src, dst, r->key.sport, r->key.dport,
			r->key.proto, r->window, r->first_packet);
		csv_field(f, r->label < info->num_classes ? info->class_names[r->label] : id);
		fputc(',', f);
		csv_field(f, r->ndpi_protocol);
		fputc(',', f);
		csv_field(f, r->ndpi_category);
		fputc(',', f);
		csv_field(f, r->app ? r->app : "");
		fputc(',', f);
		csv_field(f, r->scenario ? r->scenario : "");
		fputc('\n', f);
	}
	return fclose(f) ? -1 : 0;
}

int pcap_rows_write(const char *prefix, struct pcap_rows *d, char **files,
		    const struct dataset_info *info, char *err, size_t errlen)
{
	size_t n = (size_t)d->window;
	struct dataset ds = {
		.n = d->count, .window = d->window,
		.sizes = malloc((d->count * n + 1) * sizeof(*ds.sizes)),
		.times = malloc((d->count * n + 1) * sizeof(*ds.times)),
		.labels = malloc((d->count + 1) * sizeof(*ds.labels)),
	};
	char path[4096];
	int rc = -1;

	if (!ds.sizes || !ds.times || !ds.labels) {
		errmsg(err, errlen, "out of memory");
		goto out;
	}
	if (d->count) /* rows is NULL when no window was cut */
		qsort(d->rows, d->count, sizeof(*d->rows), row_order);
	for (size_t i = 0; i < d->count; i++) {
		for (size_t p = 0; p < n; p++) {
			ds.sizes[i * n + p] = (float)d->rows[i].x[p];
			ds.times[i * n + p] = d->rows[i].x[n + p];
		}
		ds.labels[i] = d->rows[i].label;
	}
	if (dataset_save(prefix, &ds, err, errlen))
		goto out;
	snprintf(path, sizeof(path), "%s_index.csv", prefix);
	if (write_index(path, d, files, info)) {
		errmsg(err, errlen, "%s: cannot write it", path);
		goto undo;
	}
	if (dataset_info_save(prefix, info, err, errlen))
		goto undo;
	rc = 0;
	goto out;
undo: /* half a dataset is worse than none */
	unlink(path);
	snprintf(path, sizeof(path), "%s_x.npy", prefix);
	unlink(path);
	snprintf(path, sizeof(path), "%s_y.npy", prefix);
	unlink(path);
out:
	dataset_free(&ds);
	return rc;
}
