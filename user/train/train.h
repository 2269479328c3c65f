/* SPDX-License-Identifier: MIT */
/* The training loop: minibatch AdamW over the engine's model_loss_grad
 * (backpropagation through the RK4 steps; there is no other forward pass),
 * gradient clipping, warm-up + cosine or one-cycle learning rate, label
 * smoothing, dropout, an exponential moving average of the weights, early
 * stopping on a validation set. Deterministic for a seed and a thread count. */
#ifndef ODEFLOW_TRAIN_H
#define ODEFLOW_TRAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dataset.h"
#include "engine/model.h"

#define TRAIN_MAX_THREADS 16

struct train_options {
	int epochs;             /* at most this many passes over the data */
	int batch;              /* windows per step */
	double lr, lr_min;      /* peak and final learning rate */
	double warmup_epochs;   /* linear warm-up, then cosine decay to lr_min; with
				 * one_cycle: the rising phase */
	bool one_cycle;         /* one-cycle schedule (adam.h) instead */
	double label_smoothing; /* 0: plain cross-entropy */
	double dropout;         /* in the head, for architectures that have it */
	double ema;             /* decay of a moving average of the weights, which then
				 * are validated and kept (0: off) */
	double weight_decay;    /* AdamW's decoupled decay */
	double clip;            /* gradient L2 norm limit; <= 0: none */
	int patience;           /* stop after this many epochs without a better
				 * validation accuracy; 0: never stop early */
	double time_jitter;     /* augmentation: each training window's time axis is
				 * stretched by exp(u), u uniform in [-time_jitter,
				 * time_jitter] (0: off) */
	int size_jitter;        /* augmentation: each training window's sizes shifted
				 * by a whole number of bytes in [-size_jitter,
				 * size_jitter] (0: off) */
	bool balance;           /* every class alike: each epoch draws its windows class
				 * by class in turn (trees: weights), so a class of few
				 * windows counts as much as one of many */
	int threads;            /* each minibatch is split across this many threads */
	uint64_t seed;          /* shuffling */
	FILE *progress;         /* one line per epoch, or NULL */
};

struct train_result {
	int epochs_run;
	int best_epoch;         /* 1-based; the last epoch when there is no validation set */
	double best_val_acc;    /* -1 without a validation set */
	double first_loss, last_loss;           /* mean training loss of the first and last epoch */
	double first_train_acc, last_train_acc;
	double seconds;
};

/* Trains m in place. With a non-empty val, m ends with the parameters of the
 * epoch of best validation accuracy (ties: lower validation loss). */
int train_model(struct model *m, const struct dataset *train, const struct dataset *val,
		const struct train_options *o, struct train_result *r, char *err, size_t errlen);

#endif
