// SPDX-License-Identifier: MIT
/* odeflow bench: how fast the engine classifies, on one thread, at batch 1,
 * 16 and 256, and the workspace memory each window in flight costs; with
 * the same model and weights in PyTorch for comparison when it is there. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "common/errmsg.h"
#include "engine/model.h"
#include "model_choices.h"
#include "train/npy.h"

#define WINDOWS_DIR "tests/data/golden/"  /* real ISCX windows, N = 20 */
#define PYTHON "/usr/bin/python3"
#define REFERENCE "tools/reference/golden.py"

static const int batches[] = { 1, 16, 256 };
#define NBATCH (int)(sizeof(batches) / sizeof(batches[0]))
#define MAX_BATCH 256

enum { OPT_ARCH = 1, OPT_HIDDEN, OPT_ODE_HIDDEN, OPT_RK4_STEPS, OPT_MEMBERS, OPT_SOLVER, OPT_RUNS,
       OPT_NO_TORCH };

static const struct cli_option options[] = {
	CLI_OPTION(OPT_ARCH, "arch", 0, "NAME",
		   "benchmark a fresh model of this architecture (trees are trained, not created: "
		   "bench a trees model file)", .choice = model_arch_choice),
	CLI_OPTION(OPT_HIDDEN, "hidden", 0, "H", "its state size", .def = "the architecture's"),
	CLI_OPTION(OPT_ODE_HIDDEN, "ode-hidden", 0, "M", "its ODE function's width",
		   .def = "odernn: the state size"),
	CLI_OPTION(OPT_RK4_STEPS, "rk4-steps", 0, "K", "its RK4 substeps per interval"),
	CLI_OPTION(OPT_MEMBERS, "members", 0, "K", "an ensemble of K such networks"),
	CLI_OPTION(OPT_SOLVER, "solver", 0, "NAME", "its solver", .choice = model_solver_choice),
	CLI_OPTION(OPT_RUNS, "runs", 0, "R", "timed runs per batch size, the median is shown",
		   .def = "5"),
	CLI_OPTION(OPT_NO_TORCH, "no-torch", 0, NULL, "skip the PyTorch comparison"),
	{ 0 },
};

ODEFLOW_COMMAND(bench,
	.summary = "classifier speed: flows/s at batch 1, 16, 256 and bytes per window, vs PyTorch",
	.description = "How fast the engine classifies real ISCX windows on one thread, at batch "
		       "1, 16 and 256, and the workspace memory each window in flight costs; beside "
		       "it the same model and weights in PyTorch when that is installed. Without "
		       "models: every models/*.safetensors; without those, a freshly created model "
		       "of each architecture (or of --arch). Run it from the source tree.",
	.operands = { "[MODEL.safetensors...]" },
	.groups = { { NULL, options } });

struct bench_opts {
	bool fresh;     /* --arch: a freshly created model */
	struct model_shape shape;
	int runs;
	int torch;
};

/* MAX_BATCH windows cut to n packets, cycling through the real ones. */
struct windows {
	int n;
	float sizes[MAX_BATCH * ODEFLOW_MAX_WINDOW];
	double times[MAX_BATCH * ODEFLOW_MAX_WINDOW];
};

static int load_windows(int n, struct windows *w)
{
	struct npy_array s, t;
	char err[ERRMSG_LEN];
	size_t count;

	if (npy_read(WINDOWS_DIR "sizes.npy", &s, err, sizeof(err)) ||
	    (npy_read(WINDOWS_DIR "times.npy", &t, err, sizeof(err)) && (npy_free(&s), 1))) {
		cli_fail("%s (run from the source tree)", err);
		return -1;
	}
	count = s.ndim == 2 ? s.shape[0] : 0;
	if (!count || s.shape[1] < (size_t)n || t.count != s.count) {
		cli_fail("%s holds no windows of %d packets", WINDOWS_DIR, n);
		npy_free(&s);
		npy_free(&t);
		return -1;
	}
	w->n = n;
	for (int b = 0; b < MAX_BATCH; b++)
		for (int i = 0; i < n; i++) {
			size_t from = (b % count) * s.shape[1] + i;

			w->sizes[b * n + i] = (float)s.data[from];
			w->times[b * n + i] = t.data[from];
		}
	npy_free(&s);
	npy_free(&t);
	return 0;
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Flows per CPU-second of this thread: the median of runs, each at least
 * 0.1 s and 512 windows, each with its Unknown score as the agent asks
 * for it. Returns -1 if the model rejects the windows. */
static double measure(const struct model *m, struct model_ws *ws, const struct windows *w,
		      int batch, int runs)
{
	float lp[MAX_BATCH * ODEFLOW_MAX_CLASSES], unknown[MAX_BATCH];
	double rate[32];

	for (int r = 0; r < runs; r++) {
		double start = cpu_seconds(), used;
		long done = 0;

		do {
			/* batches walk through all the windows (batch divides MAX_BATCH) */
			size_t at = (size_t)(done % MAX_BATCH) * w->n;

			if (model_classify_scored(m, ws, batch, w->sizes + at, w->times + at, lp,
						  unknown, NULL))
				return -1;
			done += batch;
			used = cpu_seconds() - start;
		} while (done < 512 || used < 0.1);
		rate[r] = done / used;
	}
	qsort(rate, runs, sizeof(rate[0]), by_value);
	return rate[runs / 2];
}

/* The same model in PyTorch, one thread: flows/s per batch size (0 if not
 * run). The reference runs as a child process without a shell, so a model
 * path is never interpreted. */
static void measure_torch(const char *path, int runs, double *out)
{
	char runs_arg[16], line[128];
	int fds[2];
	pid_t pid;
	FILE *p;

	memset(out, 0, sizeof(double) * NBATCH);
	snprintf(runs_arg, sizeof(runs_arg), "%d", runs);
	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl(PYTHON, PYTHON, REFERENCE, "bench", path, "1,16,256", runs_arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	p = pid > 0 ? fdopen(fds[0], "r") : NULL;
	while (p && fgets(line, sizeof(line), p)) {
		int b;
		double fps;

		if (sscanf(line, "%d %lf", &b, &fps) == 2)
			for (int i = 0; i < NBATCH; i++)
				if (batches[i] == b)
					out[i] = fps;
	}
	if (p)
		fclose(p);
	else
		close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int bench_model(struct model *m, const char *label, const char *path,
		       const struct bench_opts *o)
{
	const struct model_config *c = model_config(m);
	struct windows *w = malloc(sizeof(*w));
	double c_fps[NBATCH], torch_fps[NBATCH] = { 0 };
	/* the lstm baseline and trees have no ODE */
	bool ode = c->arch != ARCH_LSTM && c->arch != ARCH_TREES;
	size_t nparams;
	int rc = 0;

	model_params(m, &nparams);
	if (!w || load_windows(c->window, w)) {
		free(w);
		return -1;
	}
	printf("%s: %s", label, model_arch_name(c->arch));
	if (c->arch == ARCH_TREES)
		printf(", %d trees, %d nodes", c->trees, c->nodes);
	else
		printf(", hidden %d", c->hidden);
	if (ode)
		printf(", ode_hidden %d, %s", c->ode_hidden, model_solver_name(c->solver));
	if (ode && c->solver == SOLVER_RK4)
		printf(" x%d", c->rk4_steps);
	else if (ode)
		printf(" rtol %g atol %g", c->rtol, c->atol);
	if (c->members > 1)
		printf(", %d members", c->members);
	printf(", window %d, %zu parameters\n", c->window, nparams);
	fflush(stdout);
	for (int i = 0; i < NBATCH && !rc; i++) {
		struct model_ws *ws = model_ws_new(m, batches[i]);

		c_fps[i] = ws ? measure(m, ws, w, batches[i], o->runs) : -1;
		model_ws_free(ws);
		if (c_fps[i] < 0) {
			cli_fail("%s cannot classify the sample windows", label);
			rc = -1;
		}
	}
	/* the PyTorch reference (tools/reference/golden.py) has the networks only */
	if (!rc && o->torch && c->arch != ARCH_TREES)
		measure_torch(path, o->runs, torch_fps);
	for (int i = 0; i < NBATCH && !rc; i++) {
		printf("  batch %3d: %9.0f flows/s  %6zu bytes/window", batches[i], c_fps[i],
		       model_ws_bytes(m, batches[i]));
		if (o->torch && c->arch == ARCH_TREES)
			printf("  (no PyTorch reference for trees)");
		else if (o->torch && torch_fps[i] > 0)
			printf("  PyTorch %8.0f flows/s  C/PyTorch %6.1fx", torch_fps[i],
			       c_fps[i] / torch_fps[i]);
		else if (o->torch)
			printf("  PyTorch not measured (too slow at this batch)");
		printf("\n");
	}
	free(w);
	return rc;
}

/* A freshly created model, saved to a temporary file for PyTorch. */
static int bench_fresh(enum model_arch arch, const struct bench_opts *o)
{
	struct model_config cfg;
	struct model *m;
	char err[ERRMSG_LEN], path[] = "/tmp/odeflow-bench-XXXXXX";
	int fd, rc;

	model_config_defaults(arch, &cfg);
	if (model_config_reshape(&cfg, &o->shape, err, sizeof(err)) ||
	    model_create(&cfg, 1, &m, err, sizeof(err))) {
		cli_fail("%s", err);
		return -1;
	}
	fd = mkstemp(path);
	if (fd < 0 || model_save(m, path, err, sizeof(err))) {
		cli_fail("cannot write a temporary model: %s", fd < 0 ? "mkstemp failed" : err);
		rc = -1;
	} else {
		rc = bench_model(m, "fresh model", path, o);
	}
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	model_free(m);
	return rc;
}

static int bench_file(const char *path, const struct bench_opts *o)
{
	struct model *m;
	char err[ERRMSG_LEN];
	int rc;

	if (model_load(path, &m, err, sizeof(err))) {
		cli_fail("%s", err);
		return -1;
	}
	rc = bench_model(m, path, path, o);
	model_free(m);
	return rc;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_opts o = { .runs = 5, .torch = 1 };
	enum model_arch arch = MODEL_ARCH_COUNT;
	struct cli_parse p;
	glob_t g = { 0 };
	int id, choice, rc = 0;

	cli_parse_start(&p, &command_bench, argc, argv);
	while ((id = cli_next(&p)) > 0) {
		switch (id) {
		case OPT_ARCH:
			if (!cli_choice(&p, &choice))
				arch = (enum model_arch)choice;
			break;
		case OPT_SOLVER: o.shape.solver = p.arg; break;
		case OPT_NO_TORCH: o.torch = 0; break;
		case OPT_HIDDEN: cli_int(&p, 1, 512, &o.shape.hidden); break;
		case OPT_ODE_HIDDEN: cli_int(&p, 1, 512, &o.shape.ode_hidden); break;
		case OPT_RK4_STEPS: cli_int(&p, 1, 64, &o.shape.rk4_steps); break;
		case OPT_MEMBERS: cli_int(&p, 1, MODEL_MAX_MEMBERS, &o.shape.members); break;
		case OPT_RUNS: cli_int(&p, 1, 31, &o.runs); break;
		}
	}
	if (id < 0)
		return p.exit;
	o.fresh = arch != MODEL_ARCH_COUNT;
	if (!o.fresh && (o.shape.hidden || o.shape.ode_hidden || o.shape.rk4_steps ||
			 o.shape.solver || o.shape.members))
		return cli_usage_error(&p, "--hidden, --ode-hidden, --rk4-steps, --members and "
				       "--solver shape a fresh model: give --arch");
	if (o.torch && system(PYTHON " -c 'import torch' >/dev/null 2>&1") != 0) {
		printf("(PyTorch not installed: no comparison)\n");
		o.torch = 0;
	}
	printf("odeflow bench: one thread, flows per CPU-second of that thread (median of %d runs),"
	       " real ISCX windows from " WINDOWS_DIR "\n", o.runs);
	if (o.fresh)
		return bench_fresh(arch, &o) ? 1 : 0;
	for (int i = p.operands; i < argc; i++)
		rc |= bench_file(argv[i], &o);
	if (p.operands < argc)
		return rc ? 1 : 0;
	if (glob("models/*.safetensors", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			rc |= bench_file(g.gl_pathv[i], &o);
	} else {
		printf("(no models/*.safetensors: freshly created models of each architecture)\n");
		for (int a = 0; a < MODEL_ARCH_COUNT; a++)
			if (model_arch_creatable((enum model_arch)a))
				rc |= bench_fresh((enum model_arch)a, &o);
	}
	globfree(&g);
	return rc ? 1 : 0;
}
