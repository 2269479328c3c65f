/* SPDX-License-Identifier: MIT */
/* Learning the site (odeflow learn, and odeflow run --learn-every): the
 * running model fine-tuned (train --init: its architecture, shape and
 * classes) on the site data set, rehearsing half of its reference windows
 * (teach/reference.h), then judged against itself on the newest windows,
 * held out by time: the newest LEARN_HOLDOUT of the labelled windows, and
 * every window of their connections. The new model is written only when it
 * names more of those windows right and forgets no class: one those
 * windows hold too few of to judge (under LEARN_MIN_CLASS_HELD) may lose at
 * most LEARN_MAX_FORGET of its recall on the other half of the reference.
 * Its temperature is fitted on the site's held-out windows (a temperature
 * changes no answer, only how sure it is). */
#ifndef ODEFLOW_LEARN_H
#define ODEFLOW_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/errmsg.h"
#include "odeflow.h"

/* The newest share of the labelled windows held out to judge on. */
#define LEARN_HOLDOUT_PERCENT 20 /* a plain number: the help says it */
#define LEARN_HOLDOUT (LEARN_HOLDOUT_PERCENT / 100.0)
/* Fewer labelled windows to train on, or to judge on: nothing is learnt. */
#define LEARN_MIN_TRAIN 200
#define LEARN_MIN_HELD 50
/* Fine-tune on at most the newest this many (the oldest say least about
 * the site now, and the time a run takes stays bounded). */
#define LEARN_MAX_WINDOWS 60000
/* A class with fewer held-out site windows is judged on the reference. */
#define LEARN_MIN_CLASS_HELD 20
/* The most recall (points of a percent) NEW may lose on such a class. */
#define LEARN_MAX_FORGET_POINTS 10 /* a plain number: the help says it */
#define LEARN_MAX_FORGET (LEARN_MAX_FORGET_POINTS / 100.0)

struct learn_options {
	const char *data;       /* the site data set's directory */
	const char *model;      /* CURRENT */
	const char *out;        /* NEW: written only when better */
	const char *reference;  /* reference windows; NULL: none */
	bool reference_optional; /* reference of other classes: learn without */
	bool rehearse;          /* fine-tune on half of the reference too */
	int epochs;             /* 0: the fine-tuning recipe's */
	uint64_t seed;
	int threads;            /* training threads, >= 1 */
	FILE *progress;         /* progress lines; NULL: none */
};

struct learn_result {
	size_t trained, held;          /* windows */
	int num_classes;
	char class_names[ODEFLOW_MAX_CLASSES][ODEFLOW_CLASS_NAME_LEN];
	size_t support[ODEFLOW_MAX_CLASSES];     /* held-out windows per class */
	double current_accuracy, new_accuracy;   /* on the held-out windows */
	double current_recall[ODEFLOW_MAX_CLASSES], new_recall[ODEFLOW_MAX_CLASSES];
	/* the reference: windows rehearsed, judged on, per class, recall */
	size_t rehearsed, ref_judged, ref_support[ODEFLOW_MAX_CLASSES];
	double ref_current_recall[ODEFLOW_MAX_CLASSES], ref_new_recall[ODEFLOW_MAX_CLASSES];
	char reference_skipped[ERRMSG_LEN]; /* why an optional reference was not used */
	int forgotten;                 /* a class NEW forgot (not written), or -1 */
	bool written;                  /* NEW was better: written to out */
	uint32_t new_model_id;
	double seconds;
};

/* Errors (an unreadable model or data set, too few windows, a failed
 * write): -1 and one line in err. A NEW that is not better is no error:
 * 0, r->written false, nothing written. */
int site_learn(const struct learn_options *o, struct learn_result *r, char *err, size_t errlen);

/* What the run found, per class: held-out windows, CURRENT's and NEW's
 * accuracy, and the verdict (several lines). */
void learn_report(FILE *out, const struct learn_result *r, const char *out_path);

#endif
