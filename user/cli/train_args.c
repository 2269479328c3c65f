/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/errmsg.h"
#include "common/fnv.h"
#include "model_choices.h"
#include "train/dataset_info.h"
#include "train/recipe.h"
#include "train_args.h"

static const char *recipe_choice(int i, const char **about)
{
	const struct recipe *r = recipe_at(i);

	if (!r)
		return NULL;
	*about = r->model;
	return r->name;
}

CLI_CHOICES(balance_choice, { "windows", "each window alike" },
	    { "classes", "each class alike, however many windows it has" })

CLI_CHOICES(unknown_choice, { "none", "no Unknown outcome" },
	    { "confidence", "1 - the calibrated top probability" },
	    { "mahalanobis", "the distance of the window's hidden state to its class's "
			     "training states, in their covariance's metric (networks)" })

/* The default of every option a recipe sets */
#define FROM_RECIPE "the recipe's"

CLI_CHOICES(schedule_choice, { "cosine", "warm-up, then cosine decay" },
	    { "onecycle", "from LR/25 up to LR and down to --lr-min, both cosine, Adam's beta1 "
			  "going 0.95-0.85-0.95" })

const struct cli_option train_args_options[] = {
	CLI_OPTION(TA_DATA, "data", 0, "PREFIX",
		   "PREFIX_x.npy and PREFIX_y.npy, or a directory with x_train.npy and y_train.npy",
		   .required = true),
	CLI_OPTION(TA_ALSO, "also", 0, "PREFIX",
		   "more windows to train on, of the same classes and size (e.g. the ISCX windows "
		   "beside a lab's): train adds them to --data's; cv adds them to every fold's "
		   "training windows and never holds them out"),
	CLI_OPTION(TA_RECIPE, "recipe", 0, "NAME",
		   "start from the recipe of a shipped model (odeflow info --recipes): its "
		   "architecture, shape and training options; the options given change them",
		   .def = RECIPE_DEFAULT ", or with --arch the recipe of that architecture",
		   .choice = recipe_choice),
	CLI_OPTION(TA_ARCH, "arch", 0, "NAME", "the classifier", .def = FROM_RECIPE,
		   .choice = model_arch_choice),
	CLI_OPTION(TA_CLASSES, "classes", 0, "A,B,...", "class names in label order",
		   .def = "those of PREFIX_dataset.json if there is one, else the five ISCX classes "
			  ISCX_CLASS_LIST),
	CLI_OPTION(TA_WINDOW_START, "window-start", 0, "W",
		   "where the windows start in their flow directions, as the model records it: "
		   "first, skip:K or any", .def = "what PREFIX_dataset.json says, else any"),
	CLI_OPTION(TA_INIT, "init", 0, "MODEL",
		   "fine-tune MODEL (a network, every member of an ensemble) instead of training "
		   "from scratch: its architecture and shape, its size bucket edges; "
		   "classes it does not know get new rows in its last layer; temperature back to 1 "
		   "(odeflow calibrate re-fits it)"),
	CLI_OPTION(TA_BALANCE, "balance", 0, "HOW",
		   "what the training windows weigh: each window alike, or each class alike "
		   "(networks: every epoch draws its windows from the classes in turn; trees: "
		   "weights)", .def = FROM_RECIPE, .choice = balance_choice),
	CLI_OPTION(TA_UNKNOWN, "unknown", 0, "NAME",
		   "the score that tells a window unlike the training windows (the outcome "
		   "Unknown); its threshold comes from odeflow calibrate", .def = FROM_RECIPE,
		   .choice = unknown_choice),
	CLI_OPTION(TA_SEED, "seed", 0, "S", "initialisation, split and shuffling", .def = "1"),
	CLI_OPTION(TA_THREADS, "threads", 0, "T",
		   "split each batch across T threads; the result is the same for the same seed "
		   "and T", .def = "1"),
	CLI_OPTION(TA_QUIET, "quiet", 0, NULL, "no progress lines"),
	{ 0 },
};

const struct cli_option train_args_network_options[] = {
	CLI_OPTION(TA_HIDDEN, "hidden", 0, "H", "state size", .def = FROM_RECIPE),
	CLI_OPTION(TA_ODE_HIDDEN, "ode-hidden", 0, "M", "width of the ODE function's hidden layer",
		   .def = FROM_RECIPE ", or with --hidden H (odernn, odernn-emb): H"),
	CLI_OPTION(TA_RK4_STEPS, "rk4-steps", 0, "S", "RK4 substeps per inter-arrival interval",
		   .def = FROM_RECIPE),
	CLI_OPTION(TA_SOLVER, "solver", 0, "NAME",
		   "the solver for inference (training always backpropagates through RK4)",
		   .def = FROM_RECIPE, .choice = model_solver_choice),
	CLI_OPTION(TA_MEMBERS, "members", 0, "K",
		   "an ensemble of K (1 to " CLI_STR(MODEL_MAX_MEMBERS) ") such networks, trained "
		   "one after the other with seeds S, S+1, ...; it averages their "
		   "log-probabilities", .def = FROM_RECIPE),
	CLI_OPTION(TA_EPOCHS, "epochs", 0, "E", "at most E passes over the data",
		   .def = FROM_RECIPE),
	CLI_OPTION(TA_BATCH, "batch", 0, "B", "windows per step", .def = FROM_RECIPE),
	CLI_OPTION(TA_LR, "lr", 0, "LR", "peak learning rate", .def = FROM_RECIPE),
	CLI_OPTION(TA_LR_MIN, "lr-min", 0, "LR", "final learning rate of the cosine decay",
		   .def = FROM_RECIPE),
	CLI_OPTION(TA_WARMUP, "warmup", 0, "E",
		   "epochs of linear warm-up; one-cycle: epochs of its rising phase",
		   .def = FROM_RECIPE),
	CLI_OPTION(TA_SCHEDULE, "schedule", 0, "NAME", "the learning rate's schedule",
		   .def = FROM_RECIPE, .choice = schedule_choice),
	CLI_OPTION(TA_LABEL_SMOOTHING, "label-smoothing", 0, "S",
		   "target S spread over all classes", .def = FROM_RECIPE),
	CLI_OPTION(TA_DROPOUT, "dropout", 0, "P", "drop out P of the head's hidden units "
		   "(odernn-emb)", .def = FROM_RECIPE),
	CLI_OPTION(TA_EMA, "ema", 0, "D",
		   "keep a moving average of the weights (decay D per step, e.g. 0.999): "
		   "validated and saved instead", .def = FROM_RECIPE),
	CLI_OPTION(TA_WEIGHT_DECAY, "weight-decay", 0, "W", "AdamW decoupled weight decay",
		   .def = FROM_RECIPE),
	CLI_OPTION(TA_CLIP, "clip", 0, "C", "gradient L2 norm limit, 0 for none",
		   .def = FROM_RECIPE),
	CLI_OPTION(TA_VAL_FRAC, "val-frac", 0, "F",
		   "hold out F of the windows for validation (0: train on everything for all "
		   "epochs)", .def = FROM_RECIPE),
	CLI_OPTION(TA_VAL_BY_WINDOW, "val-by-window", 0, NULL,
		   "hold out single windows instead of whole sessions"),
	CLI_OPTION(TA_PATIENCE, "patience", 0, "P",
		   "stop after P epochs without a better validation accuracy, 0 for never",
		   .def = FROM_RECIPE),
	CLI_OPTION(TA_TIME_JITTER, "time-jitter", 0, "J",
		   "augment: stretch each training window's times by a random factor from e^-J to "
		   "e^J", .def = FROM_RECIPE),
	CLI_OPTION(TA_SIZE_JITTER, "size-jitter", 0, "B",
		   "augment: shift each training window's sizes by a random whole number of bytes "
		   "from -B to B", .def = FROM_RECIPE),
	{ 0 },
};

const struct cli_option train_args_trees_options[] = {
	CLI_OPTION(TA_ROUNDS, "rounds", 0, "R", "boosting rounds, each adds a tree per class",
		   .def = FROM_RECIPE),
	CLI_OPTION(TA_DEPTH, "depth", 0, "D", "maximum depth of a tree", .def = FROM_RECIPE),
	CLI_OPTION(TA_ETA, "eta", 0, "E", "learning rate, the shrinkage of each tree",
		   .def = FROM_RECIPE),
	{ 0 },
};

/* The recipe the command line names: --recipe, else the recipe of --arch,
 * else the default's. */
static int pick_recipe(struct cli_parse *p, const struct recipe **out)
{
	const struct recipe *named = NULL;
	int id, choice, arch = -1;

	while ((id = cli_next(p)) > 0)
		if (id == TA_RECIPE && !cli_choice(p, &choice))
			named = recipe_at(choice);
		else if (id == TA_ARCH && !cli_choice(p, &choice))
			arch = choice;
	if (id < 0)
		return p->exit;
	if (named && arch >= 0 && (enum model_arch)arch != named->arch)
		return cli_usage_error(p, "--arch %s, but --recipe %s is %s: give one of them",
				       model_arch_name((enum model_arch)arch), named->name,
				       model_arch_name(named->arch));
	*out = named ? named : arch >= 0 ? recipe_of_arch((enum model_arch)arch) :
	       recipe_find(RECIPE_DEFAULT);
	return -1;
}

int train_args_start(struct train_args *a, const struct cli_command *cmd, int argc, char **argv)
{
	struct cli_parse p;
	const struct recipe *r = NULL;
	int rc;

	cli_parse_start(&p, cmd, argc, argv);
	if ((rc = pick_recipe(&p, &r)) >= 0)
		return rc;
	/* One thread by default: the minibatches are small, and splitting one
	 * across two threads of a small shared machine was no faster and cost
	 * more CPU. */
	*a = (struct train_args){ .recipe = r, .arch = r->arch, .fit = r->fit };
	a->fit.train.threads = 1;
	a->fit.train.progress = stdout;
	a->fit.init = NULL;
	return -1;
}

static bool in_table(const struct cli_option *o, const struct cli_option *table)
{
	for (; table->id; table++)
		if (o == table)
			return true;
	return false;
}

int train_args_option(struct cli_parse *p, int id, struct train_args *a)
{
	struct train_options *t = &a->fit.train;
	int choice;

	if (in_table(p->opt, train_args_network_options))
		a->network_only = p->opt->name;
	if (in_table(p->opt, train_args_trees_options))
		a->trees_only = p->opt->name;
	switch (id) {
	case TA_DATA: a->data = p->arg; break;
	case TA_ALSO: a->also = p->arg; break;
	case TA_RECIPE: break; /* taken by train_args_start */
	case TA_ARCH: a->arch_given = true; break;
	case TA_CLASSES: a->classes = p->arg; break;
	case TA_WINDOW_START: a->window_start = p->arg; break;
	case TA_INIT: a->init = p->arg; break;
	case TA_BALANCE:
		if (!cli_choice(p, &choice))
			t->balance = choice == 1;
		break;
	case TA_SOLVER: a->shape.solver = p->arg; break;
	case TA_UNKNOWN:
		if (!cli_choice(p, &choice))
			a->shape.unknown = p->arg;
		break;
	case TA_HIDDEN: cli_int(p, 1, 512, &a->shape.hidden); break;
	case TA_ODE_HIDDEN: cli_int(p, 1, 512, &a->shape.ode_hidden); break;
	case TA_RK4_STEPS: cli_int(p, 1, 64, &a->shape.rk4_steps); break;
	case TA_MEMBERS: cli_int(p, 1, MODEL_MAX_MEMBERS, &a->shape.members); break;
	case TA_EPOCHS: cli_int(p, 1, 100000, &t->epochs); break;
	case TA_BATCH: cli_int(p, 1, 65536, &t->batch); break;
	case TA_LR: cli_double(p, 0, 10, true, &t->lr); break;
	case TA_LR_MIN: cli_double(p, 0, 10, false, &t->lr_min); break;
	case TA_WARMUP: cli_double(p, 0, 1000, false, &t->warmup_epochs); break;
	case TA_WEIGHT_DECAY: cli_double(p, 0, 1, false, &t->weight_decay); break;
	case TA_CLIP: cli_double(p, 0, 1e9, false, &t->clip); break;
	case TA_VAL_FRAC: cli_double(p, 0, 0.9, false, &a->fit.val_frac); break;
	case TA_VAL_BY_WINDOW: a->fit.val_by_session = false; break;
	case TA_PATIENCE: cli_int(p, 0, 100000, &t->patience); break;
	case TA_SEED: cli_u64(p, &t->seed); break;
	case TA_THREADS: cli_int(p, 1, TRAIN_MAX_THREADS, &t->threads); break;
	case TA_TIME_JITTER: cli_double(p, 0, 5, false, &t->time_jitter); break;
	case TA_QUIET: t->progress = NULL; break;
	case TA_SIZE_JITTER: cli_int(p, 0, 1500, &t->size_jitter); break;
	case TA_SCHEDULE:
		if (!cli_choice(p, &choice))
			t->one_cycle = choice == 1;
		break;
	case TA_LABEL_SMOOTHING: cli_double(p, 0, 0.99, false, &t->label_smoothing); break;
	case TA_DROPOUT: cli_double(p, 0, 0.95, false, &t->dropout); break;
	case TA_EMA: cli_double(p, 0, 0.99999, false, &t->ema); break;
	case TA_ROUNDS: cli_int(p, 1, 100000, &a->fit.trees.rounds); break;
	case TA_DEPTH: cli_int(p, 1, 30, &a->fit.trees.depth); break;
	case TA_ETA: cli_double(p, 0, 1, true, &a->fit.trees.eta); break;
	default: return 0;
	}
	return 1;
}

static int parse_classes(const char *list, struct model_config *cfg)
{
	char *copy = strdup(list), *save = NULL, *name;

	cfg->num_classes = 0;
	memset(cfg->class_names, 0, sizeof(cfg->class_names));
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (cfg->num_classes == ODEFLOW_MAX_CLASSES || strlen(name) >= sizeof(cfg->class_names[0])) {
			cli_fail("--classes: at most %d names of at most %zu characters",
				 ODEFLOW_MAX_CLASSES, sizeof(cfg->class_names[0]) - 1);
			free(copy);
			return -1;
		}
		strcpy(cfg->class_names[cfg->num_classes++], name);
	}
	free(copy);
	if (cfg->num_classes < 2) {
		cli_fail("--classes '%s' names fewer than 2 classes", list);
		return -1;
	}
	return 0;
}

int train_args_finish(struct train_args *a)
{
	struct model_config *cfg = &a->cfg;
	char err[ERRMSG_LEN];

	/* with --init, the model's architecture decides (train_args_init) */
	if (!a->init && (a->arch == ARCH_TREES ? a->network_only != NULL : a->trees_only != NULL)) {
		cli_fail("--%s does not apply to %s",
			 a->arch == ARCH_TREES ? a->network_only : a->trees_only,
			 model_arch_name(a->arch));
		return -1;
	}
	if (a->fit.train.lr_min > a->fit.train.lr) {
		cli_fail("--lr-min %g is above --lr %g", a->fit.train.lr_min, a->fit.train.lr);
		return -1;
	}
	/* the architecture's defaults, the recipe's shape, then what the options say */
	model_config_defaults(a->arch, cfg);
	if (model_config_reshape(cfg, &a->recipe->shape, err, sizeof(err)) ||
	    model_config_reshape(cfg, &a->shape, err, sizeof(err))) {
		cli_fail("%s", err);
		return -1;
	}
	if (a->classes && parse_classes(a->classes, cfg))
		return -1;
	if (a->window_start && window_start_parse(a->window_start, &cfg->window_start, err,
						  sizeof(err))) {
		cli_fail("--window-start: %s", err);
		return -1;
	}
	if (model_config_check(cfg, err, sizeof(err))) {
		cli_fail("%s", err);
		return -1;
	}
	return 0;
}

int train_args_dataset_info(struct train_args *a)
{
	struct dataset_info info;
	char err[ERRMSG_LEN], path[4096];
	int rc = dataset_info_load(a->data, &info, err, sizeof(err));

	dataset_info_path(a->data, path, sizeof(path));
	if (rc < 0) {
		cli_fail("%s", err);
		return -1;
	}
	if (rc == 0 && info.num_classes) {
		bool same = info.num_classes == a->cfg.num_classes;

		for (int i = 0; same && i < info.num_classes; i++)
			same = !strcmp(info.class_names[i], a->cfg.class_names[i]);
		if (a->classes && !same) {
			cli_fail("--classes %s disagrees with the classes of %s", a->classes, path);
			return -1;
		}
		a->cfg.num_classes = info.num_classes;
		memcpy(a->cfg.class_names, info.class_names, sizeof(info.class_names));
	}
	if (!a->window_start && rc == 0)
		a->cfg.window_start = info.window_start;
	snprintf(a->start_from, sizeof(a->start_from), "%s", a->window_start ? "--window-start" :
		 rc == 0 ? path : "no dataset.json: windows from anywhere, as the ISCX data");
	return 0;
}

/* The shape option given, if any: --init takes the model's shape. */
static const char *shape_option(const struct model_shape *s)
{
	return s->hidden ? "hidden" : s->ode_hidden ? "ode-hidden" : s->rk4_steps ? "rk4-steps" :
	       s->members ? "members" : s->solver ? "solver" : NULL;
}

int train_args_init(struct train_args *a)
{
	struct model_config cfg;
	struct model *m;
	const char *shape = shape_option(&a->shape);
	char err[ERRMSG_LEN];

	if (!a->init)
		return 0;
	if (model_load(a->init, &m, err, sizeof(err))) {
		cli_fail("--init %s", err);
		return -1;
	}
	cfg = *model_config(m);
	if (!model_has_gradient(m))
		cli_fail("--init %s: %s models cannot be fine-tuned (XGBoost trains them whole): "
			 "train --arch %s without --init", a->init, model_arch_name(cfg.arch),
			 model_arch_name(cfg.arch));
	else if (a->arch_given && a->arch != cfg.arch)
		cli_fail("--arch %s, but --init %s is %s", model_arch_name(a->arch), a->init,
			 model_arch_name(cfg.arch));
	else if (shape)
		cli_fail("--%s: --init takes the shape of %s", shape, a->init);
	else if (a->trees_only)
		cli_fail("--%s does not apply to %s", a->trees_only, model_arch_name(cfg.arch));
	else
		goto ok;
	model_free(m);
	return -1;
ok:
	if (a->classes) {
		cfg.num_classes = a->cfg.num_classes;
		memcpy(cfg.class_names, a->cfg.class_names, sizeof(cfg.class_names));
	}
	cfg.window_start = a->cfg.window_start;
	cfg.unknown = a->cfg.unknown;   /* the recipe's, fitted afresh after training */
	cfg.unknown_threshold = INFINITY;
	cfg.temperature = 1;
	cfg.model_id = 0;
	a->cfg = cfg;
	a->arch = cfg.arch;
	a->fit.init = m;
	return 0;
}

static void join_classes(const struct model_config *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < c->num_classes && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
					 c->class_names[i]);
}

void train_args_init_say(const struct train_args *a, char *buf, size_t len)
{
	const struct model_config *from = model_config(a->fit.init), *to = &a->cfg;
	char was[ODEFLOW_MAX_CLASSES * 32], now[ODEFLOW_MAX_CLASSES * 32];
	char head[3 * ODEFLOW_MAX_CLASSES * 34 + 128];  /* both lists and the rows kept */
	int row_of[ODEFLOW_MAX_CLASSES], known = model_class_rows(from, to, row_of);
	bool same = from->num_classes == to->num_classes;

	for (int c = 0; same && c < to->num_classes; c++)
		same = row_of[c] == c;
	join_classes(from, was, sizeof(was));
	join_classes(to, now, sizeof(now));
	if (same) {
		snprintf(head, sizeof(head), "its classes, every tensor kept");
	} else {
		size_t used = (size_t)snprintf(head, sizeof(head), "its classes (%s) are not the "
					       "data's (%s): body kept, a new last layer for %d "
					       "classes", was, now, to->num_classes);

		for (int c = 0, n = 0; c < to->num_classes && used < sizeof(head); c++)
			if (row_of[c] >= 0)
				used += (size_t)snprintf(head + used, sizeof(head) - used, "%s%s",
							 n++ ? ", " : " (rows carried over: ",
							 to->class_names[c]);
		if (used < sizeof(head))
			snprintf(head + used, sizeof(head) - used, "%s", known ? ")" :
				 " (no class in common)");
	}
	snprintf(buf, len, "fine-tuning %s (%s, %d member%s): %s%s; temperature reset to 1 "
		 "(re-fit it: odeflow calibrate)", a->init, model_arch_name(from->arch),
		 from->members, from->members > 1 ? "s" : "", head,
		 from->arch == ARCH_ODERNN_EMB ? "; its size bucket edges kept" : "");
}

int train_args_also(const struct train_args *a, const struct dataset *ds, struct dataset *also)
{
	const struct model_config *c = &a->cfg;
	struct dataset_info info;
	char err[ERRMSG_LEN];
	int rc;

	memset(also, 0, sizeof(*also));
	if (!a->also)
		return 0;
	rc = dataset_info_load(a->also, &info, err, sizeof(err));
	if (rc < 0) {
		cli_fail("--also %s", err);
		return -1;
	}
	for (int k = 0; rc == 0 && info.num_classes && k < c->num_classes; k++)
		if (info.num_classes != c->num_classes || strcmp(info.class_names[k], c->class_names[k])) {
			cli_fail("--also %s: its classes are not those of %s", a->also, a->data);
			return -1;
		}
	if (dataset_load(a->also, c->num_classes, also, err, sizeof(err))) {
		cli_fail("--also %s", err);
		return -1;
	}
	if (also->window != ds->window) {
		cli_fail("--also %s: windows of %d packets, %s has %d", a->also, also->window,
			 a->data, ds->window);
		dataset_free(also);
		return -1;
	}
	return 0;
}

void train_args_free(struct train_args *a)
{
	model_free((struct model *)a->fit.init);
	a->fit.init = NULL;
}

int train_args_window(struct train_args *a, const struct dataset *ds)
{
	char err[ERRMSG_LEN];

	if (a->fit.init && ds->window != model_config(a->fit.init)->window) {
		cli_fail("%s: windows of %d packets, but --init %s takes %d", a->data, ds->window,
			 a->init, model_config(a->fit.init)->window);
		return -1;
	}
	a->cfg.window = ds->window;
	if (model_config_check(&a->cfg, err, sizeof(err))) {
		cli_fail("%s: %s", a->data, err);
		return -1;
	}
	return 0;
}

/* The same training run gives the same id, different runs different ones. */
uint32_t train_args_model_id(const struct train_args *a, const struct dataset *ds)
{
	const struct train_options *o = &a->fit.train;
	size_t cells = ds->n * (size_t)ds->window;
	uint32_t h = FNV1A32_START;

	h = fnv1a32(h, &a->cfg, sizeof(a->cfg)); /* zero-filled by model_config_defaults */
	h = fnv1a32(h, &o->epochs, sizeof(o->epochs));
	h = fnv1a32(h, &o->batch, sizeof(o->batch));
	h = fnv1a32(h, &o->lr, sizeof(o->lr));
	h = fnv1a32(h, &o->lr_min, sizeof(o->lr_min));
	h = fnv1a32(h, &o->warmup_epochs, sizeof(o->warmup_epochs));
	h = fnv1a32(h, &o->weight_decay, sizeof(o->weight_decay));
	h = fnv1a32(h, &o->clip, sizeof(o->clip));
	h = fnv1a32(h, &o->patience, sizeof(o->patience));
	h = fnv1a32(h, &o->time_jitter, sizeof(o->time_jitter));
	h = fnv1a32(h, &o->size_jitter, sizeof(o->size_jitter));
	h = fnv1a32(h, &o->one_cycle, sizeof(o->one_cycle));
	h = fnv1a32(h, &o->label_smoothing, sizeof(o->label_smoothing));
	h = fnv1a32(h, &o->dropout, sizeof(o->dropout));
	h = fnv1a32(h, &o->ema, sizeof(o->ema));
	h = fnv1a32(h, &o->balance, sizeof(o->balance));
	h = fnv1a32(h, &o->threads, sizeof(o->threads));
	h = fnv1a32(h, &o->seed, sizeof(o->seed));
	h = fnv1a32(h, &a->fit.val_frac, sizeof(a->fit.val_frac));
	h = fnv1a32(h, &a->fit.val_by_session, sizeof(a->fit.val_by_session));
	h = fnv1a32(h, &a->fit.trees.rounds, sizeof(a->fit.trees.rounds));
	h = fnv1a32(h, &a->fit.trees.depth, sizeof(a->fit.trees.depth));
	h = fnv1a32(h, &a->fit.trees.eta, sizeof(a->fit.trees.eta));
	if (a->fit.init) /* fine-tuned from which model */
		h = fnv1a32(h, &model_config(a->fit.init)->model_id, sizeof(uint32_t));
	h = fnv1a32(h, ds->sizes, cells * sizeof(*ds->sizes));
	h = fnv1a32(h, ds->times, cells * sizeof(*ds->times));
	h = fnv1a32(h, ds->labels, ds->n * sizeof(*ds->labels));
	return h ? h : 1;
}
