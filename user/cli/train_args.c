/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "train/dataset_info.h"
#include "train_args.h"

void train_args_usage(FILE *out)
{
	fprintf(out,
		"  --data PREFIX        PREFIX_x.npy and PREFIX_y.npy, or a directory with\n"
		"                       x_train.npy and y_train.npy\n"
		"  --arch NAME          odernn (default), odernn-emb (discretised inputs),\n"
		"                       lstm-ode (the published model), lstm, or trees\n"
		"                       (gradient-boosted trees, trained by XGBoost)\n"
		"  --classes A,B,...    class names in label order (default: those of\n"
		"                       PREFIX_dataset.json if there is one, else the five ISCX\n"
		"                       classes VoIP,Video,File_Transfer,Chat,Browsing)\n"
		"  --window-start W     where the windows start in their flow directions, as\n"
		"                       the model records it: first, skip:K or any (default:\n"
		"                       what PREFIX_dataset.json says, else any)\n"
		"  --hidden H           state size (default: the architecture's, see model.h)\n"
		"  --ode-hidden M       width of the ODE function's hidden layer (odernn:\n"
		"                       the state size by default)\n"
		"  --rk4-steps S        RK4 substeps per inter-arrival interval\n"
		"  --solver NAME        rk4 or dopri5 for inference (training always\n"
		"                       backpropagates through RK4)\n"
		"  --members K          an ensemble of K such networks (1 to 8, default 1),\n"
		"                       trained one after the other with seeds S, S+1, ...;\n"
		"                       it averages their log-probabilities\n"
		"  --epochs E           at most E passes over the data (default 60)\n"
		"  --batch B            windows per step (default 64)\n"
		"  --lr LR              peak learning rate (default 0.003)\n"
		"  --lr-min LR          final learning rate of the cosine decay (default 3e-5)\n"
		"  --warmup E           epochs of linear warm-up (default 1); one-cycle: epochs\n"
		"                       of its rising phase\n"
		"  --schedule NAME      cosine (default: warm-up, then cosine decay) or onecycle\n"
		"                       (from LR/25 up to LR and down to --lr-min, both\n"
		"                       cosine, Adam's beta1 going 0.95-0.85-0.95)\n"
		"  --label-smoothing S  target S spread over all classes (default 0)\n"
		"  --dropout P          drop out P of the head's hidden units (odernn-emb;\n"
		"                       default 0)\n"
		"  --ema D              keep a moving average of the weights (decay D per step,\n"
		"                       e.g. 0.999): validated and saved instead (default 0: off)\n"
		"  --weight-decay W     AdamW decoupled weight decay (default 1e-4)\n"
		"  --clip C             gradient L2 norm limit, 0 for none (default 1)\n"
		"  --val-frac F         hold out F of the windows for validation (default 0.1;\n"
		"                       0: train on everything for all epochs)\n"
		"  --val-by-window      hold out single windows instead of whole sessions\n"
		"  --patience P         stop after P epochs without a better validation\n"
		"                       accuracy, 0 for never (default 10)\n"
		"  --time-jitter J      augment: stretch each training window's times by a\n"
		"                       random factor from e^-J to e^J (default 0: off)\n"
		"  --size-jitter B      augment: shift each training window's sizes by a random\n"
		"                       whole number of bytes from -B to B (default 0: off)\n"
		"  --init MODEL         fine-tune MODEL (a network, every member of an ensemble)\n"
		"                       instead of training from scratch: its architecture and\n"
		"                       shape, its size bucket edges; classes it does not know\n"
		"                       get new rows in its last layer; temperature back to 1\n"
		"                       (odeflow calibrate re-fits it)\n"
		"  --seed S             initialisation, split and shuffling (default 1)\n"
		"  --threads T          split each batch across T threads (default 1); the\n"
		"                       result is the same for the same seed and T\n"
		"  --quiet              no progress lines\n"
		"The options from --hidden to --time-jitter train the networks; trees (no\n"
		"early stopping: they hold out nothing for validation) take:\n"
		"  --rounds R           boosting rounds, each adds a tree per class (default 300)\n"
		"  --depth D            maximum depth of a tree (default 4)\n"
		"  --eta E              learning rate, the shrinkage of each tree (default 0.1)\n");
}

void train_args_defaults(struct train_args *a)
{
	/* One thread by default: the minibatches are small, and splitting one
	 * across two threads of a small shared machine was no faster and cost
	 * more CPU. */
	*a = (struct train_args){
		.arch = ARCH_ODERNN,
		.fit = {
			.train = { .epochs = 60, .batch = 64, .lr = 3e-3, .lr_min = 3e-5,
				   .warmup_epochs = 1, .weight_decay = 1e-4, .clip = 1,
				   .patience = 10, .threads = 1, .seed = 1, .progress = stdout },
			.val_frac = 0.1,
			.val_by_session = true,
			.trees = TREES_DEFAULT_OPTIONS,
		},
	};
}

/* The options only the networks take, and those only trees take. */
static const int network_options[] = {
	TA_HIDDEN, TA_ODE_HIDDEN, TA_RK4_STEPS, TA_SOLVER, TA_EPOCHS, TA_BATCH, TA_LR, TA_LR_MIN,
	TA_WARMUP, TA_WEIGHT_DECAY, TA_CLIP, TA_PATIENCE, TA_TIME_JITTER, TA_SCHEDULE,
	TA_LABEL_SMOOTHING, TA_DROPOUT, TA_EMA, TA_VAL_FRAC, TA_VAL_BY_WINDOW, TA_MEMBERS,
	TA_SIZE_JITTER,
};
static const int trees_options[] = { TA_ROUNDS, TA_DEPTH, TA_ETA };

static bool among(int opt, const int *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == opt)
			return true;
	return false;
}

static const char *option_name(int opt)
{
	static const struct option shared[] = { TRAIN_ARGS_OPTIONS, { NULL, 0, NULL, 0 } };

	for (const struct option *o = shared; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

int train_args_option(const char *cmd, int opt, const char *arg, struct train_args *a)
{
	struct train_options *t = &a->fit.train;
	int bad = 0;

	if (among(opt, network_options, sizeof(network_options) / sizeof(network_options[0])))
		a->network_only = option_name(opt);
	if (among(opt, trees_options, sizeof(trees_options) / sizeof(trees_options[0])))
		a->trees_only = option_name(opt);
	switch (opt) {
	case TA_DATA: a->data = arg; break;
	case TA_ARCH:
		a->arch_given = true;
		if (model_arch_parse(arg, &a->arch)) {
			fprintf(stderr, "%s: --arch '%s' is not odernn, odernn-emb, lstm-ode, lstm or "
				"trees\n", cmd, arg);
			bad = 1;
		}
		break;
	case TA_CLASSES: a->classes = arg; break;
	case TA_WINDOW_START: a->window_start = arg; break;
	case TA_INIT: a->init = arg; break;
	case TA_SOLVER: a->shape.solver = arg; break;
	case TA_HIDDEN: bad = cli_int(cmd, "hidden", arg, 1, 512, &a->shape.hidden); break;
	case TA_ODE_HIDDEN: bad = cli_int(cmd, "ode-hidden", arg, 1, 512, &a->shape.ode_hidden); break;
	case TA_RK4_STEPS: bad = cli_int(cmd, "rk4-steps", arg, 1, 64, &a->shape.rk4_steps); break;
	case TA_MEMBERS:
		bad = cli_int(cmd, "members", arg, 1, MODEL_MAX_MEMBERS, &a->shape.members);
		break;
	case TA_EPOCHS: bad = cli_int(cmd, "epochs", arg, 1, 100000, &t->epochs); break;
	case TA_BATCH: bad = cli_int(cmd, "batch", arg, 1, 65536, &t->batch); break;
	case TA_LR: bad = cli_double(cmd, "lr", arg, 0, 10, true, &t->lr); break;
	case TA_LR_MIN: bad = cli_double(cmd, "lr-min", arg, 0, 10, false, &t->lr_min); break;
	case TA_WARMUP: bad = cli_double(cmd, "warmup", arg, 0, 1000, false, &t->warmup_epochs); break;
	case TA_WEIGHT_DECAY:
		bad = cli_double(cmd, "weight-decay", arg, 0, 1, false, &t->weight_decay);
		break;
	case TA_CLIP: bad = cli_double(cmd, "clip", arg, 0, 1e9, false, &t->clip); break;
	case TA_VAL_FRAC: bad = cli_double(cmd, "val-frac", arg, 0, 0.9, false, &a->fit.val_frac); break;
	case TA_VAL_BY_WINDOW: a->fit.val_by_session = false; break;
	case TA_PATIENCE: bad = cli_int(cmd, "patience", arg, 0, 100000, &t->patience); break;
	case TA_SEED: bad = cli_u64(cmd, "seed", arg, &t->seed); break;
	case TA_THREADS: bad = cli_int(cmd, "threads", arg, 1, TRAIN_MAX_THREADS, &t->threads); break;
	case TA_TIME_JITTER:
		bad = cli_double(cmd, "time-jitter", arg, 0, 5, false, &t->time_jitter);
		break;
	case TA_QUIET: t->progress = NULL; break;
	case TA_SIZE_JITTER: bad = cli_int(cmd, "size-jitter", arg, 0, 1500, &t->size_jitter); break;
	case TA_SCHEDULE:
		if (strcmp(arg, "cosine") && strcmp(arg, "onecycle")) {
			fprintf(stderr, "%s: --schedule '%s' is not cosine or onecycle\n", cmd, arg);
			bad = 1;
		}
		t->one_cycle = !strcmp(arg, "onecycle");
		break;
	case TA_LABEL_SMOOTHING:
		bad = cli_double(cmd, "label-smoothing", arg, 0, 0.99, false, &t->label_smoothing);
		break;
	case TA_DROPOUT: bad = cli_double(cmd, "dropout", arg, 0, 0.95, false, &t->dropout); break;
	case TA_EMA: bad = cli_double(cmd, "ema", arg, 0, 0.99999, false, &t->ema); break;
	case TA_ROUNDS: bad = cli_int(cmd, "rounds", arg, 1, 100000, &a->fit.trees.rounds); break;
	case TA_DEPTH: bad = cli_int(cmd, "depth", arg, 1, 30, &a->fit.trees.depth); break;
	case TA_ETA: bad = cli_double(cmd, "eta", arg, 0, 1, true, &a->fit.trees.eta); break;
	default: return 0;
	}
	return bad ? -1 : 1;
}

static int parse_classes(const char *cmd, const char *list, struct model_config *cfg)
{
	char *copy = strdup(list), *save = NULL, *name;

	cfg->num_classes = 0;
	memset(cfg->class_names, 0, sizeof(cfg->class_names));
	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (cfg->num_classes == ODEFLOW_MAX_CLASSES || strlen(name) >= sizeof(cfg->class_names[0])) {
			fprintf(stderr, "%s: --classes: at most %d names of at most %zu characters\n",
				cmd, ODEFLOW_MAX_CLASSES, sizeof(cfg->class_names[0]) - 1);
			free(copy);
			return -1;
		}
		strcpy(cfg->class_names[cfg->num_classes++], name);
	}
	free(copy);
	if (cfg->num_classes < 2) {
		fprintf(stderr, "%s: --classes '%s' names fewer than 2 classes\n", cmd, list);
		return -1;
	}
	return 0;
}

int train_args_finish(const char *cmd, struct train_args *a)
{
	struct model_config *cfg = &a->cfg;
	char err[256];

	/* with --init, the model's architecture decides (train_args_init) */
	if (!a->init && (a->arch == ARCH_TREES ? a->network_only != NULL : a->trees_only != NULL)) {
		fprintf(stderr, "%s: --%s does not apply to %s\n", cmd,
			a->arch == ARCH_TREES ? a->network_only : a->trees_only,
			model_arch_name(a->arch));
		return -1;
	}
	if (a->fit.train.lr_min > a->fit.train.lr) {
		fprintf(stderr, "%s: --lr-min %g is above --lr %g\n", cmd, a->fit.train.lr_min,
			a->fit.train.lr);
		return -1;
	}
	/* the architecture's defaults, then what the options say */
	model_config_defaults(a->arch, cfg);
	if (model_config_reshape(cfg, &a->shape, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return -1;
	}
	if (a->classes && parse_classes(cmd, a->classes, cfg))
		return -1;
	if (a->window_start && window_start_parse(a->window_start, &cfg->window_start, err,
						  sizeof(err))) {
		fprintf(stderr, "%s: --window-start: %s\n", cmd, err);
		return -1;
	}
	if (model_config_check(cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

int train_args_dataset_info(const char *cmd, struct train_args *a)
{
	struct dataset_info info;
	char err[512], path[4096];
	int rc = dataset_info_load(a->data, &info, err, sizeof(err));

	dataset_info_path(a->data, path, sizeof(path));
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return -1;
	}
	if (rc == 0 && info.num_classes) {
		bool same = info.num_classes == a->cfg.num_classes;

		for (int i = 0; same && i < info.num_classes; i++)
			same = !strcmp(info.class_names[i], a->cfg.class_names[i]);
		if (a->classes && !same) {
			fprintf(stderr, "%s: --classes %s disagrees with the classes of %s\n", cmd,
				a->classes, path);
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

int train_args_init(const char *cmd, struct train_args *a)
{
	struct model_config cfg;
	struct model *m;
	const char *shape = shape_option(&a->shape);
	char err[512];

	if (!a->init)
		return 0;
	if (model_load(a->init, &m, err, sizeof(err))) {
		fprintf(stderr, "%s: --init %s\n", cmd, err);
		return -1;
	}
	cfg = *model_config(m);
	if (!model_has_gradient(m))
		fprintf(stderr, "%s: --init %s: %s models cannot be fine-tuned (XGBoost trains them "
			"whole): train --arch %s without --init\n", cmd, a->init,
			model_arch_name(cfg.arch), model_arch_name(cfg.arch));
	else if (a->arch_given && a->arch != cfg.arch)
		fprintf(stderr, "%s: --arch %s, but --init %s is %s\n", cmd, model_arch_name(a->arch),
			a->init, model_arch_name(cfg.arch));
	else if (shape)
		fprintf(stderr, "%s: --%s: --init takes the shape of %s\n", cmd, shape, a->init);
	else if (a->trees_only)
		fprintf(stderr, "%s: --%s does not apply to %s\n", cmd, a->trees_only,
			model_arch_name(cfg.arch));
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

void train_args_free(struct train_args *a)
{
	model_free((struct model *)a->fit.init);
	a->fit.init = NULL;
}

int train_args_window(const char *cmd, struct train_args *a, const struct dataset *ds)
{
	char err[256];

	if (a->fit.init && ds->window != model_config(a->fit.init)->window) {
		fprintf(stderr, "%s: %s: windows of %d packets, but --init %s takes %d\n", cmd,
			a->data, ds->window, a->init, model_config(a->fit.init)->window);
		return -1;
	}
	a->cfg.window = ds->window;
	if (model_config_check(&a->cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s: %s\n", cmd, a->data, err);
		return -1;
	}
	return 0;
}

static uint32_t fnv1a(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The same training run gives the same id, different runs different ones. */
uint32_t train_args_model_id(const struct train_args *a, const struct dataset *ds)
{
	const struct train_options *o = &a->fit.train;
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
	h = fnv1a(h, &o->size_jitter, sizeof(o->size_jitter));
	h = fnv1a(h, &o->one_cycle, sizeof(o->one_cycle));
	h = fnv1a(h, &o->label_smoothing, sizeof(o->label_smoothing));
	h = fnv1a(h, &o->dropout, sizeof(o->dropout));
	h = fnv1a(h, &o->ema, sizeof(o->ema));
	h = fnv1a(h, &o->threads, sizeof(o->threads));
	h = fnv1a(h, &o->seed, sizeof(o->seed));
	h = fnv1a(h, &a->fit.val_frac, sizeof(a->fit.val_frac));
	h = fnv1a(h, &a->fit.val_by_session, sizeof(a->fit.val_by_session));
	h = fnv1a(h, &a->fit.trees.rounds, sizeof(a->fit.trees.rounds));
	h = fnv1a(h, &a->fit.trees.depth, sizeof(a->fit.trees.depth));
	h = fnv1a(h, &a->fit.trees.eta, sizeof(a->fit.trees.eta));
	if (a->fit.init) /* fine-tuned from which model */
		h = fnv1a(h, &model_config(a->fit.init)->model_id, sizeof(uint32_t));
	h = fnv1a(h, ds->sizes, cells * sizeof(*ds->sizes));
	h = fnv1a(h, ds->times, cells * sizeof(*ds->times));
	h = fnv1a(h, ds->labels, ds->n * sizeof(*ds->labels));
	return h ? h : 1;
}
