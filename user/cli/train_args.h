/* SPDX-License-Identifier: MIT */
/* The training options `odeflow train` and `odeflow cv` share: one
 * declaration, one parser, one help text. A command puts
 * TRAIN_ARGS_OPTIONS into its getopt_long table beside its own options and
 * hands every option it does not know itself to train_args_option. */
#ifndef ODEFLOW_TRAIN_ARGS_H
#define ODEFLOW_TRAIN_ARGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/model.h"
#include "train/dataset.h"
#include "train/dataset_info.h"
#include "train/fit.h"

/* getopt values of the shared options: above any single character */
enum {
	TA_DATA = 0x100, TA_ARCH, TA_CLASSES, TA_HIDDEN, TA_ODE_HIDDEN, TA_RK4_STEPS, TA_SOLVER,
	TA_EPOCHS, TA_BATCH, TA_LR, TA_LR_MIN, TA_WARMUP, TA_WEIGHT_DECAY, TA_CLIP, TA_VAL_FRAC,
	TA_VAL_BY_WINDOW, TA_PATIENCE, TA_TIME_JITTER, TA_SEED, TA_THREADS, TA_QUIET,
	TA_SCHEDULE, TA_LABEL_SMOOTHING, TA_DROPOUT, TA_EMA, TA_MEMBERS, TA_SIZE_JITTER,
	TA_ROUNDS, TA_DEPTH, TA_ETA, TA_WINDOW_START, TA_INIT,
};

#define TRAIN_ARGS_OPTIONS                                                                  \
	{ "data", required_argument, NULL, TA_DATA },                                       \
	{ "arch", required_argument, NULL, TA_ARCH },                                       \
	{ "classes", required_argument, NULL, TA_CLASSES },                                 \
	{ "hidden", required_argument, NULL, TA_HIDDEN },                                   \
	{ "ode-hidden", required_argument, NULL, TA_ODE_HIDDEN },                           \
	{ "rk4-steps", required_argument, NULL, TA_RK4_STEPS },                             \
	{ "solver", required_argument, NULL, TA_SOLVER },                                   \
	{ "epochs", required_argument, NULL, TA_EPOCHS },                                   \
	{ "batch", required_argument, NULL, TA_BATCH },                                     \
	{ "lr", required_argument, NULL, TA_LR },                                           \
	{ "lr-min", required_argument, NULL, TA_LR_MIN },                                   \
	{ "warmup", required_argument, NULL, TA_WARMUP },                                   \
	{ "weight-decay", required_argument, NULL, TA_WEIGHT_DECAY },                       \
	{ "clip", required_argument, NULL, TA_CLIP },                                       \
	{ "val-frac", required_argument, NULL, TA_VAL_FRAC },                               \
	{ "val-by-window", no_argument, NULL, TA_VAL_BY_WINDOW },                           \
	{ "patience", required_argument, NULL, TA_PATIENCE },                               \
	{ "time-jitter", required_argument, NULL, TA_TIME_JITTER },                         \
	{ "seed", required_argument, NULL, TA_SEED },                                       \
	{ "threads", required_argument, NULL, TA_THREADS },                                 \
	{ "quiet", no_argument, NULL, TA_QUIET },                                           \
	{ "schedule", required_argument, NULL, TA_SCHEDULE },                               \
	{ "label-smoothing", required_argument, NULL, TA_LABEL_SMOOTHING },                 \
	{ "dropout", required_argument, NULL, TA_DROPOUT },                                 \
	{ "ema", required_argument, NULL, TA_EMA },                                         \
	{ "members", required_argument, NULL, TA_MEMBERS },                                 \
	{ "size-jitter", required_argument, NULL, TA_SIZE_JITTER },                         \
	{ "rounds", required_argument, NULL, TA_ROUNDS },                                   \
	{ "depth", required_argument, NULL, TA_DEPTH },                                     \
	{ "eta", required_argument, NULL, TA_ETA },                                         \
	{ "window-start", required_argument, NULL, TA_WINDOW_START },                       \
	{ "init", required_argument, NULL, TA_INIT }

struct train_args {
	const char *data;
	enum model_arch arch;
	struct model_shape shape;   /* 0 or NULL: the architecture's default */
	const char *classes;        /* NULL: the dataset's, else the architecture's */
	const char *window_start;   /* NULL: the dataset's, else "any" */
	char start_from[4096];      /* where window_start came from */
	struct model_config cfg;    /* made by train_args_finish */
	struct fit_options fit;
	/* the last option given that only the networks take, and only trees */
	const char *network_only, *trees_only;
	bool arch_given;            /* --arch */
	const char *init;           /* --init MODEL: fine-tune it (fit.init, loaded by
				     * train_args_init) */
};

/* The defaults (progress lines to stdout). */
void train_args_defaults(struct train_args *a);
/* 1 when opt is a shared option and its value is good, -1 (message on
 * stderr, naming cmd) when the value is bad, 0 when opt is not one of them. */
int train_args_option(const char *cmd, int opt, const char *arg, struct train_args *a);
/* After the options: checks what only the whole set can say and makes cfg.
 * Returns -1 with a message on stderr. */
int train_args_finish(const char *cmd, struct train_args *a);
/* What the dataset says about itself (PREFIX_dataset.json, written by
 * pcap2npy): its class names unless --classes names them (and they must
 * agree), and where its windows start unless --window-start says. Call
 * after train_args_finish, before loading the data. Returns -1 with a
 * message on stderr. */
int train_args_dataset_info(const char *cmd, struct train_args *a);
/* --init MODEL: loads the model to fine-tune into fit.init and takes its
 * architecture, shape and classes into cfg (the dataset's classes, read
 * next by train_args_dataset_info, replace them); refuses what cannot be
 * fine-tuned (trees) and shape options. The temperature starts at 1: a
 * fine-tuned model is calibrated afresh (odeflow calibrate). Call after
 * train_args_finish; nothing to do without --init. Returns -1 with a
 * message on stderr. */
int train_args_init(const char *cmd, struct train_args *a);
/* With --init, one sentence (no newline) on what fine-tuning keeps of the
 * model and what it replaces; call once the classes are known. */
void train_args_init_say(const struct train_args *a, char *buf, size_t len);
/* Frees what train_args_init loaded. */
void train_args_free(struct train_args *a);
/* The window size comes from the data: sets it and checks the configuration
 * (and, with --init, that it is the model's). */
int train_args_window(const char *cmd, struct train_args *a, const struct dataset *ds);
/* The help lines of the shared options. */
void train_args_usage(FILE *out);
/* The model's id, which every verdict carries: a hash of what made the
 * model (configuration, training options, data). Never 0 ("no model"). */
uint32_t train_args_model_id(const struct train_args *a, const struct dataset *ds);

#endif
