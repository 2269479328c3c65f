/* SPDX-License-Identifier: MIT */
/* The training options `odeflow train` and `odeflow cv` share: one
 * declaration, one parser. A command puts TRAIN_ARGS_GROUPS among its
 * option groups and hands every option it does not know itself to
 * train_args_option. */
#ifndef ODEFLOW_TRAIN_ARGS_H
#define ODEFLOW_TRAIN_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "engine/model.h"
#include "train/dataset.h"
#include "train/dataset_info.h"
#include "train/fit.h"
#include "train/recipe.h"

/* Option ids of the shared options: above the commands' own */
enum {
	TA_DATA = 0x100, TA_ALSO, TA_RECIPE, TA_ARCH, TA_CLASSES, TA_WINDOW_START, TA_INIT, TA_BALANCE, TA_SEED, TA_THREADS,
	TA_QUIET, TA_HIDDEN, TA_ODE_HIDDEN, TA_RK4_STEPS, TA_SOLVER, TA_MEMBERS, TA_EPOCHS,
	TA_BATCH, TA_LR, TA_LR_MIN, TA_WARMUP, TA_SCHEDULE, TA_LABEL_SMOOTHING, TA_DROPOUT, TA_EMA,
	TA_WEIGHT_DECAY, TA_CLIP, TA_VAL_FRAC, TA_VAL_BY_WINDOW, TA_PATIENCE, TA_TIME_JITTER,
	TA_SIZE_JITTER, TA_UNKNOWN, TA_ROUNDS, TA_DEPTH, TA_ETA,
};

/* Three groups of a command's options (command.h): what every
 * architecture takes, what only the networks take, what only trees take. */
#define TRAIN_ARGS_GROUPS                                                                   \
	{ "training options", train_args_options },                                        \
	{ "options of the networks (all but trees)", train_args_network_options },         \
	{ "options of trees (no early stopping: they hold out nothing for validation)",     \
	  train_args_trees_options }
extern const struct cli_option train_args_options[], train_args_network_options[],
	train_args_trees_options[];

struct train_args {
	const char *data;
	const char *also;           /* --also: more training windows (never held out) */
	const struct recipe *recipe; /* what the options change */
	enum model_arch arch;
	struct model_shape shape;   /* the options' (0 or NULL: the recipe's) */
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

/* Reads the command line once for the recipe it starts from (--recipe,
 * else --arch's, else the default model's) and sets a to it (progress
 * lines to stdout, one thread). Returns -1 when the command goes on (its
 * options, parsed next, change a), else its exit status: --help was
 * printed, or a wrong option said. */
int train_args_start(struct train_args *a, const struct cli_command *cmd, int argc, char **argv);
/* Takes the option cli_next returned (id) when it is a shared one: 1, its
 * value taken or said to be bad (cli.h); 0 when it is not one of them. */
int train_args_option(struct cli_parse *p, int id, struct train_args *a);
/* After the options: checks what only the whole set can say and makes cfg.
 * Returns -1 with a message on stderr. */
int train_args_finish(struct train_args *a);
/* What the dataset says about itself (PREFIX_dataset.json, written by
 * pcap2npy): its class names unless --classes names them (and they must
 * agree), and where its windows start unless --window-start says. Call
 * after train_args_finish, before loading the data. Returns -1 with a
 * message on stderr. */
int train_args_dataset_info(struct train_args *a);
/* --init MODEL: loads the model to fine-tune into fit.init and takes its
 * architecture, shape and classes into cfg (the dataset's classes, read
 * next by train_args_dataset_info, replace them); refuses what cannot be
 * fine-tuned (trees) and shape options. The temperature starts at 1: a
 * fine-tuned model is calibrated afresh (odeflow calibrate). Call after
 * train_args_finish; nothing to do without --init. Returns -1 with a
 * message on stderr. */
int train_args_init(struct train_args *a);
/* With --init, one sentence (no newline) on what fine-tuning keeps of the
 * model and what it replaces; call once the classes are known. */
void train_args_init_say(const struct train_args *a, char *buf, size_t len);
/* --also PREFIX: its windows into also (none: also->n 0), after checking
 * that its classes (PREFIX_dataset.json) and window size are ds's. Returns
 * -1 with a message on stderr. */
int train_args_also(const struct train_args *a, const struct dataset *ds, struct dataset *also);
/* Frees what train_args_init loaded. */
void train_args_free(struct train_args *a);
/* The window size comes from the data: sets it and checks the configuration
 * (and, with --init, that it is the model's). */
int train_args_window(struct train_args *a, const struct dataset *ds);
/* The model's id, which every verdict carries: a hash of what made the
 * model (configuration, training options, data). Never 0 ("no model"). */
uint32_t train_args_model_id(const struct train_args *a, const struct dataset *ds);

#endif
