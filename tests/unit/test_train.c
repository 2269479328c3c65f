/* SPDX-License-Identifier: MIT */
/* odeflow train on the committed real subset: it learns (the loss falls,
 * accuracy rises well above chance), it is deterministic for a seed and a
 * thread count, and bad input writes nothing. */

#include "train/dataset.h"
#include "harness.h"
#include "scratch.h"
#include "engine/model.h"
#include "train/npy.h"
#include "subprocess.h"
#include "train/fit.h"
#include "train/recipe.h"
#include "train/train.h"

int cmd_train(int argc, char **argv);

static bool sanitized(void)
{
	return getenv("ODEFLOW_SANITIZED") != NULL;
}

static bool same_bytes(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	bool same = fa && fb;
	int ca = 0;

	while (same && ca != EOF) {
		ca = fgetc(fa);
		same = ca == fgetc(fb);
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* A few epochs on 543 real windows: loss falls, accuracy beats chance (the
 * largest class is 23% of the windows) by a wide margin. */
static void test_learns(void)
{
	struct model_config cfg;
	struct train_options o = { .epochs = sanitized() ? 6 : 12, .batch = 32, .lr = 1e-2,
				   .lr_min = 1e-3, .warmup_epochs = 0.5, .clip = 1, .threads = 2,
				   .seed = 5 };
	struct dataset all, train, val;
	struct train_result r;
	struct model *m = NULL;
	char err[512] = "";

	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.hidden = cfg.ode_hidden = 16;
	CHECKF(dataset_load("tests/data/iscx-small", 5, &all, err, sizeof(err)) == 0, "%s", err);
	CHECK(dataset_split(&all, 0.2, true, 1, &train, &val) == 0);
	CHECKF(model_create(&cfg, 1, &m, err, sizeof(err)) == 0, "%s", err);
	if (!m)
		return;
	CHECKF(train_model(m, &train, &val, &o, &r, err, sizeof(err)) == 0, "%s", err);
	printf("  %d epochs: loss %.4f -> %.4f, train accuracy %.1f%% -> %.1f%%, best validation "
	       "%.1f%% (epoch %d), %.1f s\n", r.epochs_run, r.first_loss, r.last_loss,
	       100 * r.first_train_acc, 100 * r.last_train_acc, 100 * r.best_val_acc, r.best_epoch,
	       r.seconds);
	CHECK(r.epochs_run == o.epochs);
	CHECKF(r.last_loss < 0.6 * r.first_loss, "loss %.4f -> %.4f", r.first_loss, r.last_loss);
	CHECKF(r.last_train_acc > 0.75, "train accuracy %.3f", r.last_train_acc);
	/* unseen sessions, 5 classes: chance is 20-25% */
	CHECKF(r.best_val_acc > 0.4, "validation accuracy %.3f", r.best_val_acc);
	model_free(m);
	dataset_free(&all);
	dataset_free(&train);
	dataset_free(&val);
}

/* Same seed and threads: the same file, byte for byte. Another seed: another model. */
static void test_deterministic(void)
{
	const char *epochs = sanitized() ? "1" : "2";
	int rc;

	rc = run_command(cmd_train, "train", "--data", "tests/data/iscx-small", "--out",
			 tmp_path("a.safetensors"), "--hidden", "8", "--epochs", epochs, "--seed", "9",
			 "--threads", "2", "--quiet", NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	rc = run_command(cmd_train, "train", "--data", "tests/data/iscx-small", "--out",
			 tmp_path("b.safetensors"), "--hidden", "8", "--epochs", epochs, "--seed", "9",
			 "--threads", "2", "--quiet", NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	CHECK(strstr(command_output, "saved ") != NULL);
	rc = run_command(cmd_train, "train", "--data", "tests/data/iscx-small", "--out",
			 tmp_path("c.safetensors"), "--hidden", "8", "--epochs", epochs, "--seed", "10",
			 "--threads", "2", "--quiet", NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	CHECK(same_bytes(tmp_path("a.safetensors"), tmp_path("b.safetensors")));
	CHECK(!same_bytes(tmp_path("a.safetensors"), tmp_path("c.safetensors")));
}

/* One progress line per epoch with loss, accuracies, LR and time; a closing line. */
static void test_progress_lines(void)
{
	int rc = run_command(cmd_train, "train", "--data", "tests/data/iscx-small", "--out",
			     tmp_path("p.safetensors"), "--hidden", "8", "--epochs", "2", "--members",
			     "1", "--val-frac", "0.1", NULL);
	char *line;
	int epochs = 0;

	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	for (line = command_output; (line = strstr(line, "epoch ")); line++)
		epochs += !strncmp(line, "epoch   ", 8) && strstr(line, "loss ") &&
			  strstr(line, "train ") && strstr(line, "val ") && strstr(line, "lr ");
	CHECKF(epochs == 2, "%d epoch lines in:\n%s", epochs, command_output);
	CHECK(strstr(command_output, "best validation accuracy ") != NULL);
	CHECK(strstr(command_output, tmp_path("p.safetensors")) != NULL);
	CHECK(strstr(command_output, ", model id ") != NULL);
}

/* Without options, train takes the default model's recipe; the options
 * odeflow info --recipes prints for it say all of it (the same model, byte
 * for byte); --arch alone takes that architecture's recipe. */
static void test_default_recipe(void)
{
	const struct recipe *r = recipe_find(RECIPE_DEFAULT);
	char opts[1024], *argv[64], *save = NULL;
	const struct model_config *c;
	struct model *m = NULL;
	char err[300];
	int argc = 0, rc;

	rc = run_command(cmd_train, "train", "--data", "tests/data/iscx-small", "--out",
			 tmp_path("d.safetensors"), "--epochs", "1", "--quiet", NULL);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	CHECKF(model_load(tmp_path("d.safetensors"), &m, err, sizeof(err)) == 0, "%s", err);
	if (!m)
		return;
	c = model_config(m);
	CHECK(r == recipe_at(0) && c->arch == r->arch && c->arch == ARCH_ODERNN_EMB);
	CHECKF(c->hidden == 24 && c->ode_hidden == 16 && c->rk4_steps == 1 && c->members == 2,
	       "hidden %d, ode %d, rk4 %d, members %d", c->hidden, c->ode_hidden, c->rk4_steps,
	       c->members);
	model_free(m);

	CHECK(recipe_options(r, opts, sizeof(opts)) == 0);
	argv[argc++] = "train";
	for (char *w = strtok_r(opts, " ", &save); w && argc < 56; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc++] = "--data";
	argv[argc++] = "tests/data/iscx-small";
	argv[argc++] = "--out";
	argv[argc++] = (char *)tmp_path("e.safetensors");
	argv[argc++] = "--epochs";
	argv[argc++] = "1";
	argv[argc++] = "--quiet";
	argv[argc] = NULL;
	rc = run_command_argv(cmd_train, argc, argv);
	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	CHECK(same_bytes(tmp_path("d.safetensors"), tmp_path("e.safetensors")));
	/* a recipe other than the default's makes another model */
	CHECK(recipe_options(recipe_of_arch(ARCH_ODERNN), opts, sizeof(opts)) == 0 &&
	      strstr(opts, "--arch odernn "));

	rc = run_command(cmd_train, "train", "--data", "tests/data/iscx-small", "--out",
			 tmp_path("x.safetensors"), "--recipe", "default", "--arch", "lstm", NULL);
	CHECKF(rc == 2 && strstr(command_output, "--arch lstm, but --recipe default is odernn-emb"),
	       "exit %d: %s", rc, command_output);
	CHECK(access(tmp_path("x.safetensors"), F_OK) != 0);
}

/* Writes NAME_x.npy / NAME_y.npy: 40 windows of 20 packets with one defect. */
static void write_bad(const char *name, int defect)
{
	size_t xshape[3] = { 40, 2, 20 }, yshape[1] = { 40 }, xshape2[2] = { 40, 40 };
	double x[40 * 40], y[40];
	char path[400], err[300];

	for (int w = 0; w < 40; w++) {
		for (int p = 0; p < 20; p++) {
			x[w * 40 + p] = 60 + 40 * p;
			x[w * 40 + 20 + p] = 0.01 * p;
		}
		y[w] = w % 5;
	}
	switch (defect) {
	case 0: x[7 * 40 + 3] = NAN; break;             /* NaN size */
	case 1: x[8 * 40 + 25] = INFINITY; break;       /* Inf time */
	case 2: x[9 * 40 + 4] = -1; break;              /* negative size */
	case 3: x[10 * 40 + 30] = 0.001; break;         /* time decreases */
	case 4: y[11] = 5; break;                       /* label out of range */
	}
	snprintf(path, sizeof(path), "%s_x.npy", tmp_path(name));
	npy_write(path, NPY_F64, defect == 5 ? 2 : 3, defect == 5 ? xshape2 : xshape, x, err, 300);
	snprintf(path, sizeof(path), "%s_y.npy", tmp_path(name));
	npy_write(path, NPY_F64, 1, yshape, y, err, 300);
	if (defect == 6)
		CHECK(truncate(path, 200) == 0); /* truncated labels */
}

static void test_bad_input_writes_nothing(void)
{
	static const char *says[] = {
		"window 7, packet 3: size nan is not finite",
		"window 8, packet 5: time inf is not finite",
		"window 9, packet 4: size -1 is negative",
		"window 10, packet 10: time 0.001000 decreases",
		"index 11: label 5 is not a class id 0 to 4",
		"shape (40, 40), expected (n, 2, N)",
		"_y.npy: truncated data",
	};
	char name[32];

	for (int d = 0; d < 7; d++) {
		const char *out = tmp_path("never.safetensors");
		int rc;

		snprintf(name, sizeof(name), "bad%d", d);
		write_bad(name, d);
		rc = run_command(cmd_train, "train", "--data", tmp_path(name), "--out", out, NULL);
		CHECKF(rc == 1, "defect %d: exit %d", d, rc);
		CHECKF(strstr(command_output, tmp_path(name)) && strstr(command_output, says[d]) &&
			       !strchr(strchr(command_output, '\n') + 1, '\n'),
		       "defect %d: not one line naming the file and saying '%s':\n%s", d, says[d],
		       command_output);
		CHECK(access(out, F_OK) != 0 && access(tmp_path("never.safetensors.tmp"), F_OK) != 0);
	}
	write_bad("good", -1);
	CHECK(run_command(cmd_train, "train", "--data", tmp_path("good"), "--out",
			  "/nonexistent-dir/m.safetensors", NULL) == 2);
	CHECKF(strstr(command_output, "cannot write into '/nonexistent-dir'"), "%s", command_output);
	CHECK(run_command(cmd_train, "train", "--data", tmp_path("good"), "--out", tmp_path("m"),
			  "--arch", "gru", NULL) == 2);
	CHECKF(strstr(command_output,
		      "--arch 'gru' is not odernn, lstm-ode, lstm, odernn-emb or trees"),
	       "%s", command_output);
	CHECK(run_command(cmd_train, "train", "--data", tmp_path("good"), "--out", tmp_path("m"),
			  "--lr", "fast", NULL) == 2);
	CHECKF(strstr(command_output, "--lr 'fast' is not a number"), "%s", command_output);
}

/* One window, and the validation part takes it: an error, not an empty run. */
static void test_nothing_left_to_train(void)
{
	size_t xs[3] = { 1, 2, 3 }, ys[1] = { 1 };
	double x[6] = { 100, 200, 300, 0, 0.1, 0.2 }, y[1] = { 2 };
	char path[400], err[300];

	snprintf(path, sizeof(path), "%s_x.npy", tmp_path("one"));
	npy_write(path, NPY_F64, 3, xs, x, err, sizeof(err));
	snprintf(path, sizeof(path), "%s_y.npy", tmp_path("one"));
	npy_write(path, NPY_F64, 1, ys, y, err, sizeof(err));
	CHECK(run_command(cmd_train, "train", "--data", tmp_path("one"), "--out",
			  tmp_path("never.safetensors"), "--val-frac", "0.9", NULL) == 1);
	CHECKF(strstr(command_output, "no windows left to train on"), "%s", command_output);
	CHECK(access(tmp_path("never.safetensors"), F_OK) != 0);
}

/* An ensemble of 2 is two models trained alone with seeds S and S + 1. */
static void test_ensemble_members_are_trained_alone(void)
{
	struct fit_options o = { .train = { .epochs = 2, .batch = 32, .lr = 1e-2, .lr_min = 1e-3,
					    .clip = 1, .threads = 1, .seed = 7, .dropout = 0.2 },
				 .val_frac = 0.1, .val_by_session = true };
	struct model_config cfg;
	struct train_result r;
	struct dataset ds;
	struct model *ens = NULL, *one = NULL;
	char err[512] = "";
	size_t n, n1;

	CHECKF(dataset_load("tests/data/iscx-small", 5, &ds, err, sizeof(err)) == 0, "%s", err);
	model_config_defaults(ARCH_ODERNN_EMB, &cfg);
	cfg.hidden = cfg.ode_hidden = 8;
	cfg.members = 2;
	CHECKF(fit_model(&cfg, &ds, &o, &ens, &r, err, sizeof(err)) == 0, "%s", err);
	cfg.members = 1;
	for (int k = 0; ens && k < 2; k++) {
		o.train.seed = 7 + (uint64_t)k;
		CHECKF(fit_model(&cfg, &ds, &o, &one, &r, err, sizeof(err)) == 0, "%s", err);
		if (!one)
			break;
		model_params(one, &n1);
		CHECK(!memcmp(model_params(ens, &n) + k * n1, model_params(one, NULL),
			      n1 * sizeof(float)));
		CHECK(n == 2 * n1);
		model_free(one);
	}
	model_free(ens);
	dataset_free(&ds);
}

int main(void)
{
	if (scratch_create("train"))
		return 1;
	RUN(test_learns);
	RUN(test_deterministic);
	RUN(test_progress_lines);
	RUN(test_default_recipe);
	RUN(test_bad_input_writes_nothing);
	RUN(test_nothing_left_to_train);
	RUN(test_ensemble_members_are_trained_alone);
	scratch_remove();
	return harness_done();
}
