/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "svg_plot.h"
#include "common/errmsg.h"

#define FONT "font-family=\"sans-serif\" font-size=\"12\""

/* Class names come from model files: escape what XML gives meaning to. */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* Plots are written to PATH.tmp and renamed, so a reader never sees half a file. */
static FILE *begin(const char *path, char *tmp, size_t tmplen, int width, int height, char *err,
		   size_t errlen)
{
	FILE *f;

	snprintf(tmp, tmplen, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		errmsg(err, errlen, "%s: %s", tmp, strerror(errno));
		return NULL;
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		width, height, width, height);
	return f;
}

static int finish(FILE *f, const char *tmp, const char *path, char *err, size_t errlen)
{
	fputs("</svg>\n", f);
	if (ferror(f) | fclose(f) || rename(tmp, path)) {
		errmsg(err, errlen, "%s: write failed: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int svg_confusion(const char *path, const struct metrics *m, const char (*class_names)[ODEFLOW_CLASS_NAME_LEN],
		  char *err, size_t errlen)
{
	const int cell = 64, left = 120, top = 40, k = m->num_classes;
	char tmp[4096];
	FILE *f = begin(path, tmp, sizeof(tmp), left + k * cell + 20, top + k * cell + 110, err,
			errlen);

	if (!f)
		return -1;
	fprintf(f, "<text x=\"%d\" y=\"24\" " FONT " font-weight=\"bold\">Confusion matrix: "
		   "%zu windows, accuracy %.2f%%</text>\n", left, m->n, 100 * m->accuracy);
	for (int t = 0; t < k; t++) {
		size_t row = m->per_class[t].support;

		fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT " text-anchor=\"end\">", left - 6,
			top + t * cell + cell / 2 + 4);
		put_text(f, class_names[t]);
		fputs("</text>\n", f);
		for (int p = 0; p < k; p++) {
			size_t count = m->confusion[t][p];
			double share = row ? (double)count / (double)row : 0;
			/* white to dark blue by share of the true class */
			int shade = (int)(255 * (1 - share));

			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
				   "fill=\"rgb(%d,%d,255)\" stroke=\"#999\"/>\n",
				left + p * cell, top + t * cell, cell, cell, shade, shade);
			fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT " text-anchor=\"middle\" fill=\"%s\">"
				   "%zu</text>\n", left + p * cell + cell / 2, top + t * cell + cell / 2 + 4,
				share > 0.5 ? "white" : "black", count);
		}
	}
	for (int p = 0; p < k; p++) {
		int x = left + p * cell + cell / 2, y = top + k * cell + 8;

		fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT " text-anchor=\"end\" "
			   "transform=\"rotate(-45 %d %d)\">", x, y, x, y);
		put_text(f, class_names[p]);
		fputs("</text>\n", f);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT ">rows: true class, columns: predicted</text>\n",
		left, top + k * cell + 100);
	return finish(f, tmp, path, err, errlen);
}

int svg_coverage(const char *path, const struct metrics *m, char *err, size_t errlen)
{
	/* x: threshold 0.5..1, y: 0..1 */
	const int left = 60, top = 40, w = 400, h = 300;
	const char *colour[2] = { "#1f77b4", "#ff7f0e" }, *label[2] = { "accuracy", "coverage" };
	char tmp[4096];
	FILE *f = begin(path, tmp, sizeof(tmp), left + w + 140, top + h + 60, err, errlen);

	if (!f)
		return -1;
	fprintf(f, "<text x=\"%d\" y=\"24\" " FONT " font-weight=\"bold\">Accuracy and coverage "
		   "against confidence threshold (%zu windows)</text>\n", left, m->n);
	fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		   "stroke=\"black\"/>\n", left, top, w, h);
	for (int i = 0; i <= 10; i++) {
		int y = top + h - i * h / 10, x = left + i * w / 10;

		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n", left, y,
			left + w, y);
		fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT " text-anchor=\"end\">%.1f</text>\n",
			left - 6, y + 4, i / 10.0);
		fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT " text-anchor=\"middle\">%.2f</text>\n", x,
			top + h + 16, 0.5 + i * 0.05);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT " text-anchor=\"middle\">confidence threshold"
		   "</text>\n", left + w / 2, top + h + 40);
	for (int s = 0; s < 2; s++) {
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
			colour[s]);
		for (int t = 0; t < COVERAGE_POINTS; t++) {
			const struct coverage_point *c = &m->coverage[t];
			double v = s ? c->coverage : c->accuracy;

			fprintf(f, "%.1f,%.1f ", left + (c->threshold - 0.5) / 0.5 * w,
				top + h - v * h);
		}
		fputs("\"/>\n", f);
		fprintf(f, "<text x=\"%d\" y=\"%d\" " FONT " fill=\"%s\">%s</text>\n", left + w + 10,
			top + 20 + 20 * s, colour[s], label[s]);
	}
	return finish(f, tmp, path, err, errlen);
}
