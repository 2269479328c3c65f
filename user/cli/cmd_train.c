/* SPDX-License-Identifier: MIT */
/* odeflow train: fit a model to a labelled dataset and save it. */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "command.h"
#include "train/dataset.h"
#include "engine/model.h"
#include "train/train.h"
#include "train/train_trees.h"

ODEFLOW_COMMAND(train, "train a classifier on labelled windows (PREFIX_x.npy, PREFIX_y.npy)")

static void usage(FILE *out)
{
	fprintf(out,
		"usage: odeflow train --data PREFIX --out FILE.safetensors [options]\n"
		"  --data PREFIX        PREFIX_x.npy and PREFIX_y.npy, or a directory with\n"
		"                       x_train.npy and y_train.npy\n"
		"  --arch NAME          odernn (default), lstm-ode (the published model), lstm\n"
		"                       or trees (gradient-boosted trees, trained by XGBoost)\n"
		"  --classes A,B,...    class names in label order (default: the five ISCX\n"
		"                       classes VoIP,Video,File_Transfer,Chat,Browsing)\n"
		"  --hidden H           state size (default: the architecture's, see model.h)\n"
		"  --ode-hidden M       width of the ODE function's hidden layer (odernn:\n"
		"                       the state size by default)\n"
		"  --rk4-steps S        RK4 substeps per inter-arrival interval\n"
		"  --solver NAME        rk4 or dopri5 for inference (training always\n"
		"                       backpropagates through RK4)\n"
		"  --epochs E           at most E passes over the data (default 60)\n"
		"  --batch B            windows per step (default 64)\n"
		"  --lr LR              peak learning rate (default 0.003)\n"
		"  --lr-min LR          final learning rate of the cosine decay (default 3e-5)\n"
		"  --warmup E           epochs of linear warm-up (default 1)\n"
		"  --weight-decay W     AdamW decoupled weight decay (default 1e-4)\n"
		"  --clip C             gradient L2 norm limit, 0 for none (default 1)\n"
		"  --val-frac F         hold out F of the windows for validation (default 0.1;\n"
		"                       0: train on everything for all epochs)\n"
		"  --val-by-window      hold out single windows instead of whole sessions\n"
		"  --patience P         stop after P epochs without a better validation\n"
		"                       accuracy, 0 for never (default 10)\n"
		"  --time-jitter J      augment: stretch each training window's times by a\n"
		"                       random factor from e^-J to e^J (default 0: off)\n"
		"  --seed S             initialisation, split and shuffling (default 1)\n"
		"  --threads T          split each batch across T threads (default 1); the\n"
		"                       result is the same for the same seed and T\n"
		"  --quiet              no progress lines\n"
		"trees only (the options from --hidden to --time-jitter are the networks'):\n"
		"  --rounds R           boosting rounds, each adds a tree per class (default 300)\n"
		"  --depth D            maximum depth of a tree (default 4)\n"
		"  --eta E              learning rate, the shrinkage of each tree (default 0.1)\n");
}

/* Options that override the architecture's defaults; 0 or NULL: not given. */
struct model_overrides {
	struct model_shape shape;
	const char *classes;
};

static int parse_classes(const char *list, struct model_config *cfg)
{
	char *copy = strdup(list), *save = NULL, *name;

	cfg->num_classes = 0;
	memset(cfg->class_names, 0, sizeof(cfg->class_names));
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (cfg->num_classes == MODEL_MAX_CLASSES || strlen(name) >= sizeof(cfg->class_names[0])) {
			fprintf(stderr, "train: --classes: at most %d names of at most %zu characters\n",
				MODEL_MAX_CLASSES, sizeof(cfg->class_names[0]) - 1);
			free(copy);
			return -1;
		}
		strcpy(cfg->class_names[cfg->num_classes++], name);
	}
	free(copy);
	if (cfg->num_classes < 2) {
		fprintf(stderr, "train: --classes '%s' names fewer than 2 classes\n", list);
		return -1;
	}
	return 0;
}

/* Fail before hours of training, not after, when the output cannot be written. */
static int check_writable(const char *out)
{
	char *copy = strdup(out);
	const char *dir = dirname(copy);
	int ok = !access(dir, W_OK);

	if (!ok)
		fprintf(stderr, "train: cannot write into '%s' for --out %s\n", dir, out);
	free(copy);
	return ok ? 0 : -1;
}

/* The architecture's defaults, then what the options say. */
static int make_config(enum model_arch arch, const struct model_overrides *o,
		       struct model_config *cfg)
{
	char err[256];

	model_config_defaults(arch, cfg);
	if (model_config_reshape(cfg, &o->shape, err, sizeof(err))) {
		fprintf(stderr, "train: %s\n", err);
		return -1;
	}
	if (o->classes && parse_classes(o->classes, cfg))
		return -1;
	if (model_config_check(cfg, err, sizeof(err))) {
		fprintf(stderr, "train: %s\n", err);
		return -1;
	}
	return 0;
}

struct train_args {
	const char *data, *out;
	struct model_config cfg;
	struct train_options opt;
	double val_frac;
	bool val_by_session;
	struct trees_options trees;
};

/* getopt codes of the options only the networks take, and only trees take */
#define NETWORK_ONLY "HOkSeblmwWcpj"
#define TREES_ONLY "RDE"

static int parse_args(int argc, char **argv, struct train_args *a)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },     { "out", required_argument, NULL, 'o' },
		{ "arch", required_argument, NULL, 'a' },     { "classes", required_argument, NULL, 'C' },
		{ "hidden", required_argument, NULL, 'H' },   { "ode-hidden", required_argument, NULL, 'O' },
		{ "rk4-steps", required_argument, NULL, 'k' }, { "epochs", required_argument, NULL, 'e' },
		{ "batch", required_argument, NULL, 'b' },    { "lr", required_argument, NULL, 'l' },
		{ "lr-min", required_argument, NULL, 'm' },   { "warmup", required_argument, NULL, 'w' },
		{ "weight-decay", required_argument, NULL, 'W' }, { "clip", required_argument, NULL, 'c' },
		{ "val-frac", required_argument, NULL, 'v' }, { "val-by-window", no_argument, NULL, 'V' },
		{ "patience", required_argument, NULL, 'p' }, { "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },  { "quiet", no_argument, NULL, 'q' },
		{ "time-jitter", required_argument, NULL, 'j' }, { "solver", required_argument, NULL, 'S' },
		{ "rounds", required_argument, NULL, 'R' },   { "depth", required_argument, NULL, 'D' },
		{ "eta", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	struct model_overrides mo = { 0 };
	enum model_arch arch = ARCH_ODERNN;
	const char *network_only = NULL, *trees_only = NULL;
	int opt, idx, bad = 0;

	/* One thread by default: on this project's shared 2-core machine, two
	 * threads per minibatch were no faster (median of 7 runs of 5 epochs:
	 * 3.9 s with one thread, 4.5 s with two) and used 15% more CPU. */
	*a = (struct train_args){
		.opt = { .epochs = 60, .batch = 64, .lr = 3e-3, .lr_min = 3e-5, .warmup_epochs = 1,
			 .weight_decay = 1e-4, .clip = 1, .patience = 10, .threads = 1, .seed = 1,
			 .progress = stdout },
		.val_frac = 0.1,
		.val_by_session = true,
		.trees = TREES_DEFAULT_OPTIONS,
	};
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		if (opt != 'h' && opt != '?' && strchr(NETWORK_ONLY, opt))
			network_only = opts[idx].name;
		if (opt != 'h' && opt != '?' && strchr(TREES_ONLY, opt))
			trees_only = opts[idx].name;
		switch (opt) {
		case 'd': a->data = optarg; break;
		case 'o': a->out = optarg; break;
		case 'a':
			if (model_arch_parse(optarg, &arch)) {
				fprintf(stderr, "train: --arch '%s' is not odernn, lstm-ode, lstm or trees\n",
					optarg);
				bad = 1;
			}
			break;
		case 'C': mo.classes = optarg; break;
		case 'S': mo.shape.solver = optarg; break;
		case 'H': bad |= cli_int("train", "hidden", optarg, 1, 512, &mo.shape.hidden); break;
		case 'O': bad |= cli_int("train", "ode-hidden", optarg, 1, 512, &mo.shape.ode_hidden); break;
		case 'k': bad |= cli_int("train", "rk4-steps", optarg, 1, 64, &mo.shape.rk4_steps); break;
		case 'e': bad |= cli_int("train", "epochs", optarg, 1, 100000, &a->opt.epochs); break;
		case 'b': bad |= cli_int("train", "batch", optarg, 1, 65536, &a->opt.batch); break;
		case 'l': bad |= cli_double("train", "lr", optarg, 0, 10, true, &a->opt.lr); break;
		case 'm': bad |= cli_double("train", "lr-min", optarg, 0, 10, false, &a->opt.lr_min); break;
		case 'w': bad |= cli_double("train", "warmup", optarg, 0, 1000, false, &a->opt.warmup_epochs); break;
		case 'W': bad |= cli_double("train", "weight-decay", optarg, 0, 1, false, &a->opt.weight_decay); break;
		case 'c': bad |= cli_double("train", "clip", optarg, 0, 1e9, false, &a->opt.clip); break;
		case 'v': bad |= cli_double("train", "val-frac", optarg, 0, 0.9, false, &a->val_frac); break;
		case 'V': a->val_by_session = false; break;
		case 'p': bad |= cli_int("train", "patience", optarg, 0, 100000, &a->opt.patience); break;
		case 's': bad |= cli_u64("train", "seed", optarg, &a->opt.seed); break;
		case 't': bad |= cli_int("train", "threads", optarg, 1, TRAIN_MAX_THREADS, &a->opt.threads); break;
		case 'j': bad |= cli_double("train", "time-jitter", optarg, 0, 5, false, &a->opt.time_jitter); break;
		case 'q': a->opt.progress = NULL; break;
		case 'R': bad |= cli_int("train", "rounds", optarg, 1, 100000, &a->trees.rounds); break;
		case 'D': bad |= cli_int("train", "depth", optarg, 1, 30, &a->trees.depth); break;
		case 'E': bad |= cli_double("train", "eta", optarg, 0, 1, true, &a->trees.eta); break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (bad)
		return -1;
	if (!a->data || !a->out || optind != argc) {
		usage(stderr);
		return -1;
	}
	if (arch == ARCH_TREES ? network_only != NULL : trees_only != NULL) {
		fprintf(stderr, "train: --%s does not apply to %s\n",
			arch == ARCH_TREES ? network_only : trees_only, model_arch_name(arch));
		return -1;
	}
	a->trees.threads = a->opt.threads;
	a->trees.seed = a->opt.seed;
	a->trees.progress = a->opt.progress;
	if (a->opt.lr_min > a->opt.lr) {
		fprintf(stderr, "train: --lr-min %g is above --lr %g\n", a->opt.lr_min, a->opt.lr);
		return -1;
	}
	return make_config(arch, &mo, &a->cfg) || check_writable(a->out);
}

static uint32_t fnv1a(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The model's id, which every verdict carries: a hash of what made the model
 * (configuration, training options, data), so the same training run gives
 * the same id and different runs different ones. Never 0 ("no model"). */
static uint32_t training_id(const struct train_args *a, const struct dataset *ds)
{
	const struct train_options *o = &a->opt;
	size_t cells = ds->n * (size_t)ds->window;
	uint32_t h = 2166136261u;

	h = fnv1a(h, &a->cfg, sizeof(a->cfg)); /* zero-filled by model_config_defaults */
	h = fnv1a(h, &o->epochs, sizeof(o->epochs));
	h = fnv1a(h, &o->batch, sizeof(o->batch));
	h = fnv1a(h, &o->lr, sizeof(o->lr));
	h = fnv1a(h, &o->lr_min, sizeof(o->lr_min));
	h = fnv1a(h, &o->warmup_epochs, sizeof(o->warmup_epochs));
	h = fnv1a(h, &o->weight_decay, sizeof(o->weight_decay));
	h = fnv1a(h, &o->clip, sizeof(o->clip));
	h = fnv1a(h, &o->patience, sizeof(o->patience));
	h = fnv1a(h, &o->time_jitter, sizeof(o->time_jitter));
	h = fnv1a(h, &o->threads, sizeof(o->threads));
	h = fnv1a(h, &o->seed, sizeof(o->seed));
	h = fnv1a(h, &a->val_frac, sizeof(a->val_frac));
	h = fnv1a(h, &a->val_by_session, sizeof(a->val_by_session));
	h = fnv1a(h, &a->trees.rounds, sizeof(a->trees.rounds));
	h = fnv1a(h, &a->trees.depth, sizeof(a->trees.depth));
	h = fnv1a(h, &a->trees.eta, sizeof(a->trees.eta));
	h = fnv1a(h, ds->sizes, cells * sizeof(*ds->sizes));
	h = fnv1a(h, ds->times, cells * sizeof(*ds->times));
	h = fnv1a(h, ds->labels, ds->n * sizeof(*ds->labels));
	return h ? h : 1;
}

/* Saved to FILE.tmp and renamed: an interrupted save never leaves half a model. */
static int save(const struct model *m, const char *out)
{
	char tmp[4096], err[512];

	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if (model_save(m, tmp, err, sizeof(err))) {
		fprintf(stderr, "train: cannot save %s: %s\n", out, err);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, out)) {
		fprintf(stderr, "train: cannot move %s into place: %s\n", out, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Trees: XGBoost fits them, the engine serves them. */
static int train_trees_and_save(const struct train_args *a, const struct dataset *train,
				const struct dataset *val)
{
	const struct trees_options *o = &a->trees;
	struct trees_result r;
	struct model *m;
	char err[512];
	int rc;

	if (o->progress)
		printf("train: %zu windows, %zu held out for validation (%s), XGBoost: %d rounds of "
		       "trees of depth %d, eta %g, %d thread%s\n", train->n, val->n,
		       a->val_by_session ? "whole sessions" : "windows", o->rounds, o->depth, o->eta,
		       o->threads, o->threads > 1 ? "s" : "");
	if (trees_train(&a->cfg, train, val, o, &m, &r, err, sizeof(err))) {
		fprintf(stderr, "train: %s\n", err);
		return -1;
	}
	rc = save(m, a->out);
	if (!rc) {
		printf("%d trees, %d nodes, training accuracy %.2f%%", model_config(m)->trees,
		       model_config(m)->nodes, 100 * r.train_acc);
		if (val->n)
			printf(", validation accuracy %.2f%%", 100 * r.val_acc);
		printf(", largest probability difference from XGBoost %.1e; saved %s, model id "
		       "%08x (%.1f s)\n", r.max_diff, a->out, a->cfg.model_id, r.seconds);
	}
	model_free(m);
	return rc;
}

int cmd_train(int argc, char **argv)
{
	struct train_args a;
	struct dataset all, train, val;
	struct train_result r;
	struct model *m = NULL;
	char err[512];
	size_t nparams;
	int rc = 1;

	if (parse_args(argc, argv, &a))
		return 2;
	if (dataset_load(a.data, a.cfg.num_classes, &all, err, sizeof(err))) {
		fprintf(stderr, "train: %s\n", err);
		return 1;
	}
	a.cfg.window = all.window;
	if (model_config_check(&a.cfg, err, sizeof(err))) {
		fprintf(stderr, "train: %s: %s\n", a.data, err);
		dataset_free(&all);
		return 1;
	}
	a.cfg.model_id = training_id(&a, &all);
	if (dataset_split(&all, a.val_frac, a.val_by_session, a.opt.seed, &train, &val)) {
		fprintf(stderr, "train: out of memory\n");
		dataset_free(&all);
		return 1;
	}
	dataset_free(&all);
	if (a.cfg.arch == ARCH_TREES) {
		rc = train_trees_and_save(&a, &train, &val) ? 1 : 0;
		goto out;
	}
	if (model_create(&a.cfg, a.opt.seed, &m, err, sizeof(err))) {
		fprintf(stderr, "train: %s\n", err);
		goto out;
	}
	model_params(m, &nparams);
	/* the minibatch is split across our threads: OpenBLAS must not add its own */
	openblas_set_num_threads(1);
	if (a.opt.progress)
		printf("train: %zu windows, %zu held out for validation (%s), %zu parameters, "
		       "%d thread%s\n", train.n, val.n, a.val_by_session ? "whole sessions" : "windows",
		       nparams, a.opt.threads, a.opt.threads > 1 ? "s" : "");
	if (train_model(m, &train, &val, &a.opt, &r, err, sizeof(err))) {
		fprintf(stderr, "train: %s\n", err);
		goto out;
	}
	if (save(m, a.out))
		goto out;
	if (val.n)
		printf("best validation accuracy %.2f%% at epoch %d of %d; saved %s, model id %08x "
		       "(%.1f s)\n", 100 * r.best_val_acc, r.best_epoch, r.epochs_run, a.out,
		       a.cfg.model_id, r.seconds);
	else
		printf("trained %d epochs, final training accuracy %.2f%%; saved %s, model id %08x "
		       "(%.1f s)\n", r.epochs_run, 100 * r.last_train_acc, a.out, a.cfg.model_id,
		       r.seconds);
	rc = 0;
out:
	if (m)
		model_free(m);
	dataset_free(&train);
	dataset_free(&val);
	return rc;
}
