/* SPDX-License-Identifier: MIT */
/* Fine-tuning (train --init): a model started from another keeps every
 * tensor (same classes) or all but its last layer's rows of unknown
 * classes (a head swap); fine-tuning lowers the loss on the new windows
 * and trains every member of an ensemble, never the frozen size bucket
 * edges; what cannot be fine-tuned is refused with one line. */
#include <math.h>

#include "engine/arch.h"
#include "harness.h"
#include "scratch.h"
#include "subprocess.h"
#include "train/dataset.h"
#include "train/dataset_info.h"
#include "train/fit.h"
#include "train/predict.h"

int cmd_train(int argc, char **argv);

static bool sanitized(void)
{
	return getenv("ODEFLOW_SANITIZED") != NULL;
}

static void set_classes(struct model_config *cfg, int n, const char *const *names)
{
	memset(cfg->class_names, 0, sizeof(cfg->class_names));
	cfg->num_classes = n;
	for (int i = 0; i < n; i++)
		snprintf(cfg->class_names[i], sizeof(cfg->class_names[i]), "%s", names[i]);
}

/* Mean negative log-likelihood of the model on ds. */
static double loss_on(const struct model *m, const struct dataset *ds)
{
	const int C = model_config(m)->num_classes;
	float *lp = malloc(ds->n * C * sizeof(*lp));
	char err[256];
	double nll = 0;

	if (!lp || predict_dataset(m, ds, 1, lp, NULL, err, sizeof(err))) {
		free(lp);
		return NAN;
	}
	for (size_t i = 0; i < ds->n; i++)
		nll -= lp[i * C + ds->labels[i]];
	free(lp);
	return nll / (double)ds->n;
}

static bool same_floats(const float *a, const float *b, size_t n)
{
	return !memcmp(a, b, n * sizeof(float));
}

/* Is tensor t the last layer, whose rows are the classes? Its first
 * dimension follows the class count. */
static bool class_rows(const struct model *m, int t)
{
	struct tensor_spec other[MODEL_MAX_TENSORS];
	struct model_config more = m->cfg;

	more.num_classes++;
	m->ops->tensors(&more, other);
	return other[t].shape[0] != m->tensors[t].shape[0];
}

/* Every network architecture, a 2-member ensemble of 5 ISCX classes
 * re-headed for Chat, Gaming, VoIP: every tensor but the last layer's
 * keeps its values bit for bit, in every member; Chat and VoIP keep their
 * rows, Gaming's row is new. The same classes: a copy but for the
 * temperature, which starts at 1. */
static void test_head_swap(void)
{
	static const char *const names[] = { "Chat", "Gaming", "VoIP" };
	static const int was[] = { 3, -1, 0 };
	static const enum model_arch archs[] = { ARCH_ODERNN, ARCH_ODERNN_EMB, ARCH_LSTM,
						 ARCH_LSTM_ODE };

	for (size_t a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		struct model_config cfg, to;
		struct model *src = NULL, *m = NULL, *copy = NULL;
		char err[256] = "";
		int class_tensors = 0, rows[ODEFLOW_MAX_CLASSES];

		model_config_defaults(archs[a], &cfg);
		cfg.members = 2;
		cfg.temperature = 0.7;
		CHECKF(model_create(&cfg, 3, &src, err, sizeof(err)) == 0, "%s", err);
		to = cfg;
		to.temperature = 1;
		set_classes(&to, 3, names);
		CHECK(model_class_rows(&cfg, &to, rows) == 2 && rows[0] == 3 && rows[1] == -1 &&
		      rows[2] == 0);
		CHECKF(model_transfer(src, &to, 9, &m, err, sizeof(err)) == 0, "%s", err);
		if (!src || !m)
			return;
		CHECK(m->cfg.num_classes == 3 && !strcmp(m->cfg.class_names[1], "Gaming") &&
		      m->cfg.temperature == 1 && m->ntensors == src->ntensors);
		for (int k = 0; k < 2; k++) {
			const float *p = src->params + k * src->member_params;
			const float *q = m->params + k * m->member_params;

			for (int t = 0; t < m->ntensors; t++) {
				const struct tensor_spec *s = &src->tensors[t], *d = &m->tensors[t];
				size_t row = d->ndim == 2 ? (size_t)d->shape[1] : 1;

				if (!class_rows(m, t)) {
					CHECKF(same_floats(p + s->offset, q + d->offset, s->count),
					       "%s member %d: %s changed", model_arch_name(archs[a]), k,
					       s->name);
					continue;
				}
				class_tensors++;
				for (int c = 0; c < 3; c++) {
					const float *now = q + d->offset + c * row;

					if (was[c] >= 0) {
						CHECKF(same_floats(p + s->offset + was[c] * row, now, row),
						       "%s %s: the row of %s moved", model_arch_name(archs[a]),
						       s->name, names[c]);
					} else {
						for (int o = 0; o < 5; o++)
							CHECKF(!same_floats(p + s->offset + o * row, now, row),
							       "%s %s: Gaming took row %d", model_arch_name(archs[a]),
							       s->name, o);
						for (size_t i = 0; i < row; i++)
							CHECK(isfinite(now[i]) && fabsf(now[i]) <= 1);
					}
				}
			}
		}
		/* weight and bias of the last layer, in both members */
		CHECKF(class_tensors == 4, "%s: %d class tensors", model_arch_name(archs[a]),
		       class_tensors);
		to = cfg;
		to.temperature = 1;
		CHECKF(model_transfer(src, &to, 9, &copy, err, sizeof(err)) == 0, "%s", err);
		CHECK(copy && copy->nparams == src->nparams &&
		      same_floats(copy->params, src->params, src->nparams) &&
		      copy->cfg.temperature == 1);
		model_free(copy);
		model_free(m);
		model_free(src);
	}
}

/* A base model trained briefly on half the sessions, fine-tuned on the
 * other half: its loss on that half falls; each member moved; the size
 * bucket edges did not. */
static void test_finetune_lowers_loss(void)
{
	struct fit_options o = {
		.train = { .epochs = 3, .batch = 32, .lr = 3e-3, .lr_min = 1e-4, .warmup_epochs = 0.5,
			   .clip = 1, .threads = 1, .seed = 4 },
	};
	struct dataset all, a, b;
	struct model_config cfg;
	struct train_result r;
	struct model *base = NULL, *tuned = NULL;
	char err[512] = "";
	double before, after;

	CHECKF(dataset_load("tests/data/iscx-small", 5, &all, err, sizeof(err)) == 0, "%s", err);
	CHECK(dataset_split(&all, 0.5, true, 7, &a, &b) == 0);
	model_config_defaults(ARCH_ODERNN_EMB, &cfg);
	cfg.hidden = cfg.ode_hidden = 8;
	cfg.members = 2;
	CHECKF(fit_model(&cfg, &a, &o, &base, &r, err, sizeof(err)) == 0, "%s", err);
	if (!base)
		goto out;
	o.init = base;
	o.train.epochs = sanitized() ? 4 : 8;
	before = loss_on(base, &b);
	CHECKF(fit_model(&cfg, &b, &o, &tuned, &r, err, sizeof(err)) == 0, "%s", err);
	if (!tuned)
		goto out;
	after = loss_on(tuned, &b);
	printf("  loss on the new windows: %.4f before fine-tuning, %.4f after\n", before, after);
	CHECKF(after < 0.9 * before, "loss %.4f -> %.4f", before, after);
	for (int k = 0; k < 2; k++) {
		size_t off = k * base->member_params;
		const struct tensor_spec *edges = NULL;

		for (int t = 0; t < base->ntensors; t++)
			if (!strcmp(base->tensors[t].name, "size_edges"))
				edges = &base->tensors[t];
		CHECK(edges != NULL);
		if (!edges)
			break;
		CHECKF(!same_floats(base->params + off, tuned->params + off, base->member_params),
		       "member %d was not trained", k);
		CHECKF(same_floats(base->params + off + edges->offset,
				   tuned->params + off + edges->offset, edges->count),
		       "member %d: the size bucket edges moved", k);
	}
out:
	model_free(base);
	model_free(tuned);
	dataset_free(&all);
	dataset_free(&a);
	dataset_free(&b);
}

/* One line each: trees, another architecture, window or shape. */
static void test_refused(void)
{
	struct model_config cfg;
	struct model *src = NULL, *trees = NULL, *m = NULL;
	char err[256] = "";

	model_config_defaults(ARCH_ODERNN_EMB, &cfg);
	CHECK(model_create(&cfg, 1, &src, err, sizeof(err)) == 0);
	if (!src)
		return;
	cfg.window = 30;
	CHECK(model_transfer(src, &cfg, 1, &m, err, sizeof(err)) == -1 && !m);
	CHECKF(strstr(err, "the model takes windows of 20 packets, not 30"), "%s", err);
	model_config_defaults(ARCH_ODERNN, &cfg);
	CHECK(model_transfer(src, &cfg, 1, &m, err, sizeof(err)) == -1 && !m);
	CHECKF(strstr(err, "the model is odernn-emb, not odernn"), "%s", err);
	model_config_defaults(ARCH_ODERNN_EMB, &cfg);
	cfg.hidden = 16;
	CHECK(model_transfer(src, &cfg, 1, &m, err, sizeof(err)) == -1 && !m);
	CHECKF(strstr(err, "shape (hidden 32, ode_hidden 32, rk4 x1, 1 members) is not the one"),
	       "%s", err);
	CHECKF(model_load("models/iscx-reg-20-trees.safetensors", &trees, err, sizeof(err)) == 0,
	       "%s", err);
	if (trees) {
		struct fit_options o = { .train = { .epochs = 1, .batch = 8, .threads = 1 },
					 .init = trees };
		struct dataset ds;
		struct train_result r;

		CHECK(model_transfer(trees, model_config(trees), 1, &m, err, sizeof(err)) == -1 && !m);
		CHECKF(strstr(err, "trees models cannot be fine-tuned"), "%s", err);
		CHECK(dataset_load("tests/data/iscx-small", 5, &ds, err, sizeof(err)) == 0);
		CHECK(fit_model(model_config(trees), &ds, &o, &m, &r, err, sizeof(err)) == -1 && !m);
		CHECKF(strstr(err, "trees models cannot be fine-tuned"), "%s", err);
		dataset_free(&ds);
	}
	model_free(trees);
	model_free(src);
}

/* The command: the shipped default re-headed for three classes named by
 * the dataset (two of which it knows), said on the progress line; the
 * saved model has the data's classes, temperature 1 and the default's
 * size bucket edges. Bad input: one line, exit 1, nothing written. */
static void test_command(void)
{
	static const char *const names[] = { "Chat", "Gaming", "VoIP" };
	static const int relabel[] = { 2, 1, 1, 0, 1 }; /* ISCX id -> Chat, Gaming, VoIP */
	struct dataset_info info = { .num_classes = 3, .window = 20 };
	struct dataset ds, narrow;
	struct model *def = NULL, *out = NULL;
	char err[512] = "";
	const char *epochs = "1";
	int rc;

	scratch_empty();
	CHECK(dataset_load("tests/data/iscx-small", 5, &ds, err, sizeof(err)) == 0);
	for (size_t i = 0; i < ds.n; i++)
		ds.labels[i] = relabel[ds.labels[i]];
	CHECKF(dataset_save(tmp_path("site"), &ds, err, sizeof(err)) == 0, "%s", err);
	for (int i = 0; i < 3; i++)
		snprintf(info.class_names[i], sizeof(info.class_names[i]), "%s", names[i]);
	info.window_start.kind = WINDOW_START_FIRST;
	CHECKF(dataset_info_save(tmp_path("site"), &info, err, sizeof(err)) == 0, "%s", err);
	rc = run_command(cmd_train, "train", "--init", "models/iscx-reg-20.safetensors", "--data",
			 tmp_path("site"), "--epochs", epochs, "--out", tmp_path("site.safetensors"),
			 NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	CHECKF(strstr(command_output, "train: fine-tuning models/iscx-reg-20.safetensors (odernn-emb, "
		      "2 members): its classes (VoIP,Video,File_Transfer,Chat,Browsing) are not the "
		      "data's (Chat,Gaming,VoIP): body kept, a new last layer for 3 classes (rows "
		      "carried over: Chat, VoIP); its size bucket edges kept; temperature reset to 1") &&
	       strstr(command_output, "member 2 of 2"), "%s", command_output);
	CHECKF(model_load(tmp_path("site.safetensors"), &out, err, sizeof(err)) == 0, "%s", err);
	CHECK(model_load("models/iscx-reg-20.safetensors", &def, err, sizeof(err)) == 0);
	if (out && def) {
		CHECK(out->cfg.num_classes == 3 && !strcmp(out->cfg.class_names[2], "VoIP") &&
		      out->cfg.temperature == 1 && out->cfg.members == 2 && out->cfg.hidden == def->cfg.hidden &&
		      out->cfg.window_start.kind == WINDOW_START_FIRST &&
		      out->cfg.model_id != def->cfg.model_id);
		for (int t = 0; t < def->ntensors; t++)
			if (!strcmp(def->tensors[t].name, "size_edges"))
				for (int k = 0; k < 2; k++)
					CHECK(same_floats(def->params + k * def->member_params +
							  def->tensors[t].offset,
							  out->params + k * out->member_params +
							  out->tensors[t].offset, def->tensors[t].count));
	}
	model_free(out);
	model_free(def);

	/* windows of 10 packets for a model of 20 */
	CHECK(dataset_load("tests/data/iscx-small", 5, &narrow, err, sizeof(err)) == 0);
	narrow.window = 10;
	for (size_t i = 0; i < narrow.n; i++) {
		memmove(narrow.sizes + i * 10, narrow.sizes + i * 20, 10 * sizeof(float));
		memmove(narrow.times + i * 10, narrow.times + i * 20, 10 * sizeof(double));
	}
	CHECKF(dataset_save(tmp_path("narrow"), &narrow, err, sizeof(err)) == 0, "%s", err);
	dataset_free(&narrow);
	{
		static const char *const says[] = {
			"trees models cannot be fine-tuned (XGBoost trains them whole): train --arch",
			"train: --arch odernn, but --init models/iscx-reg-20.safetensors is odernn-emb",
			"train: --members: --init takes the shape of models/iscx-reg-20.safetensors",
			"windows of 10 packets, but --init models/iscx-reg-20.safetensors takes 20",
			"train: --init tests/data/iscx-small/x_train.npy: ",
		};
		const char *init[] = { "models/iscx-reg-20-trees.safetensors",
				       "models/iscx-reg-20.safetensors", "models/iscx-reg-20.safetensors",
				       "models/iscx-reg-20.safetensors", "tests/data/iscx-small/x_train.npy" };
		const char *opt[] = { "--quiet", "--arch=odernn", "--members=3", "--quiet", "--quiet" };

		for (int i = 0; i < 5; i++) {
			rc = run_command(cmd_train, "train", "--init", init[i], opt[i], "--data",
					 i == 3 ? tmp_path("narrow") : "tests/data/iscx-small", "--out",
					 tmp_path("never.safetensors"), NULL);
			CHECKF(rc == 1 && strstr(command_output, says[i]) &&
			       !strchr(command_output, '\n')[1], "case %d: exit %d:\n%s", i, rc,
			       command_output);
		}
	}
	CHECK(access(tmp_path("never.safetensors"), F_OK) != 0);
	dataset_free(&ds);
}

int main(void)
{
	if (scratch_create("finetune"))
		return 1;
	RUN(test_head_swap);
	RUN(test_finetune_lowers_loss);
	RUN(test_refused);
	RUN(test_command);
	scratch_remove();
	return harness_done();
}
