// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "recipe.h"

enum { R_DEFAULT, R_ODERNN, R_LSTM_ODE, R_LSTM, R_TREES, R_COUNT };

static struct recipe recipes[R_COUNT];
static pthread_once_t made = PTHREAD_ONCE_INIT;

/* What a recipe does not say: the training loop's own defaults. */
static struct recipe base(const char *name, const char *model, enum model_arch arch)
{
	return (struct recipe){
		.name = name, .model = model, .arch = arch,
		.fit = {
			.train = { .epochs = 60, .batch = 64, .lr = 3e-3, .lr_min = 3e-5,
				   .warmup_epochs = 1, .weight_decay = 1e-4, .clip = 1,
				   .patience = 10, .threads = 1, .seed = 1 },
			.val_frac = 0.1,
			.val_by_session = true,
			.trees = TREES_DEFAULT_OPTIONS,
		},
	};
}

/* The recipes of models/README.md: how each shipped model was chosen is
 * told there, with the cross-validation of every variant tried. */
static void make(void)
{
	struct recipe *r;

	/* two odernn-emb networks, one-cycle AdamW, label smoothing, dropout,
	 * stretched time axes */
	r = &recipes[R_DEFAULT];
	*r = base(RECIPE_DEFAULT, "iscx-reg-20.safetensors", ARCH_ODERNN_EMB);
	r->shape = (struct model_shape){ .hidden = 24, .ode_hidden = 16, .rk4_steps = 1,
					 .members = 2, .unknown = "confidence" };
	r->fit.train.epochs = 40;
	r->fit.train.one_cycle = true;
	r->fit.train.warmup_epochs = 12;
	r->fit.train.lr_min = 1e-8;
	r->fit.train.weight_decay = 0.01;
	r->fit.train.label_smoothing = 0.1;
	r->fit.train.dropout = 0.2;
	r->fit.train.time_jitter = 0.2;
	r->fit.val_frac = 0;

	r = &recipes[R_ODERNN];
	*r = base("odernn", "iscx-reg-20-odernn.safetensors", ARCH_ODERNN);
	r->shape = (struct model_shape){ .hidden = 24, .rk4_steps = 1 };
	r->fit.train.time_jitter = 0.2;
	r->fit.val_frac = 0;

	r = &recipes[R_LSTM_ODE];
	*r = base("lstm-ode", "iscx-reg-20-lstm-ode.safetensors", ARCH_LSTM_ODE);
	r->fit.val_frac = 0;

	r = &recipes[R_LSTM];
	*r = base("lstm", "iscx-reg-20-lstm.safetensors", ARCH_LSTM);
	r->fit.train.epochs = 200;
	r->fit.train.lr = 1e-2;
	r->fit.train.lr_min = 1e-4;
	r->fit.val_frac = 0;

	recipes[R_TREES] = base("trees", "iscx-reg-20-trees.safetensors", ARCH_TREES);
}

const struct recipe *recipe_at(int i)
{
	pthread_once(&made, make);
	return i >= 0 && i < R_COUNT ? &recipes[i] : NULL;
}

const struct recipe *recipe_find(const char *name)
{
	const struct recipe *r;

	for (int i = 0; (r = recipe_at(i)); i++)
		if (!strcmp(r->name, name))
			return r;
	return NULL;
}

const struct recipe *recipe_of_arch(enum model_arch arch)
{
	const struct recipe *r;

	for (int i = 0; (r = recipe_at(i)); i++)
		if (r->arch == arch)
			return r;
	return NULL;
}

__attribute__((format(printf, 4, 5)))
static void put(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	*used += n < 0 ? len : (size_t)n;
}

int recipe_options(const struct recipe *r, char *buf, size_t len)
{
	const struct train_options *t = &r->fit.train;
	struct model_config c;
	size_t used = 0;
	char err[128];

	model_config_defaults(r->arch, &c);
	if (model_config_reshape(&c, &r->shape, err, sizeof(err)))
		return -1;
	put(buf, len, &used, "--arch %s --balance %s --unknown %s", model_arch_name(r->arch),
	    t->balance ? "classes" : "windows", model_unknown_name(c.unknown));
	if (r->arch == ARCH_TREES) {
		put(buf, len, &used, " --rounds %d --depth %d --eta %g", r->fit.trees.rounds,
		    r->fit.trees.depth, r->fit.trees.eta);
		return used < len ? 0 : -1;
	}
	put(buf, len, &used, " --hidden %d", c.hidden);
	if (r->arch != ARCH_LSTM) /* the one network without an ODE */
		put(buf, len, &used, " --ode-hidden %d --solver %s --rk4-steps %d", c.ode_hidden,
		    model_solver_name(c.solver), c.rk4_steps);
	put(buf, len, &used, " --members %d --epochs %d --batch %d "
	    "--schedule %s --lr %g --lr-min %g --warmup %g --weight-decay %g --clip %g "
	    "--label-smoothing %g --dropout %g --ema %g --time-jitter %g --size-jitter %d "
	    "--val-frac %g --patience %d%s", c.members,
	    t->epochs, t->batch, t->one_cycle ? "onecycle" : "cosine", t->lr, t->lr_min,
	    t->warmup_epochs, t->weight_decay, t->clip, t->label_smoothing, t->dropout, t->ema,
	    t->time_jitter, t->size_jitter, r->fit.val_frac, t->patience,
	    r->fit.val_by_session ? "" : " --val-by-window");
	return used < len ? 0 : -1;
}
