/* SPDX-License-Identifier: MIT */
/* odeflow eval: its JSON parses and its numbers agree with each other, the
 * plots are written, and bad input gets one clear error. */
#include <jansson.h>

#include "harness.h"
#include "scratch.h"
#include "train/eval_metrics.h"
#include "train/npy.h"
#include "subprocess.h"

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);

static char model[400];

static void test_json_is_consistent(void)
{
	json_t *root, *confusion, *per_class, *coverage, *v;
	json_error_t jerr;
	size_t n, i, j, diagonal = 0, total = 0;
	double accuracy, previous_coverage = 2;
	int rc = run_command(cmd_eval, "eval", "--model", model, "--data", "tests/data/iscx-small",
			     "--json", NULL);

	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	root = json_loads(command_output, 0, &jerr);
	CHECKF(root != NULL, "JSON does not parse: %s at line %d:\n%s", jerr.text, jerr.line,
	       command_output);
	if (!root)
		return;
	n = (size_t)json_integer_value(json_object_get(root, "n"));
	accuracy = json_real_value(json_object_get(root, "accuracy"));
	confusion = json_object_get(root, "confusion");
	per_class = json_object_get(root, "per_class");
	coverage = json_object_get(root, "coverage");
	CHECK(n == 543);
	CHECK(json_array_size(confusion) == 5 && json_object_size(per_class) == 5);
	json_array_foreach(confusion, i, v) {
		json_t *cell;
		size_t row = 0;

		json_array_foreach(v, j, cell) {
			row += (size_t)json_integer_value(cell);
			diagonal += i == j ? (size_t)json_integer_value(cell) : 0;
		}
		total += row;
		/* each row adds up to its class's support */
		CHECK(row == (size_t)json_integer_value(json_object_get(
			json_object_get(per_class, json_string_value(json_array_get(
				json_object_get(root, "classes"), i))), "support")));
	}
	CHECKF(total == n, "confusion sums to %zu, n is %zu", total, n);
	CHECK_NEAR(accuracy, (double)diagonal / n, 1e-9);
	CHECK(json_array_size(coverage) == COVERAGE_POINTS);
	/* the lowest threshold covers every window at the overall accuracy (argmax of 5 classes
	 * can be below 0.5, so coverage may be < 1); coverage only shrinks as the bar rises */
	json_array_foreach(coverage, i, v) {
		double c = json_real_value(json_object_get(v, "coverage"));

		CHECK(c <= previous_coverage && c >= 0);
		previous_coverage = c;
		CHECK(json_is_real(json_object_get(v, "accuracy")) ||
		      json_integer_value(json_object_get(v, "n")) == 0);
	}
	CHECK(json_object_get(json_object_get(per_class, "Chat"), "f1") != NULL);
	json_decref(root);
}

static void test_text_and_plots(void)
{
	int rc = run_command(cmd_eval, "eval", "--model", model, "--data", "tests/data/iscx-small",
			     "--plot", scratch_dir, NULL);

	CHECKF(rc == 0, "exit %d: %s", rc, command_output);
	CHECK(strstr(command_output, "543 windows: accuracy ") != NULL);
	CHECK(strstr(command_output, "File_Transfer") && strstr(command_output, "threshold"));
	CHECK(access(tmp_path("confusion.svg"), R_OK) == 0);
	CHECK(access(tmp_path("coverage.svg"), R_OK) == 0);
}

static void test_bad_input(void)
{
	size_t xshape[3] = { 2, 2, 10 }, yshape[1] = { 2 };
	double x[40] = { 0 }, y[2] = { 0, 1 };
	char err[300], path[400];

	CHECK(run_command(cmd_eval, "eval", "--model", tmp_path("missing.safetensors"), "--data",
			  "tests/data/iscx-small", NULL) == 1);
	CHECKF(strstr(command_output, "missing.safetensors"), "%s", command_output);
	CHECK(run_command(cmd_eval, "eval", "--model", model, "--data", tmp_path("nothing"), NULL) == 1);
	CHECKF(strstr(command_output, "nothing_x.npy: No such file"), "%s", command_output);
	/* windows of 10 packets for a model of 20 */
	npy_write(strcat(strcpy(path, tmp_path("short")), "_x.npy"), NPY_F64, 3, xshape, x, err, 300);
	npy_write(strcat(strcpy(path, tmp_path("short")), "_y.npy"), NPY_I64, 1, yshape, y, err, 300);
	CHECK(run_command(cmd_eval, "eval", "--model", model, "--data", tmp_path("short"), NULL) == 1);
	CHECKF(strstr(command_output, "windows of 10 packets, but"), "%s", command_output);
	CHECK(run_command(cmd_eval, "eval", "--model", model, NULL) == 2);
}

int main(void)
{
	int rc;

	if (scratch_create("eval"))
		return 1;
	snprintf(model, sizeof(model), "%s", tmp_path("model.safetensors"));
	rc = run_command(cmd_train, "train", "--data", "tests/data/iscx-small", "--out", model,
			 "--hidden", "8", "--epochs", "2", "--quiet", NULL);
	if (rc) {
		printf("FAIL setup: training the model to evaluate: exit %d: %s\n", rc, command_output);
		return 1;
	}
	RUN(test_json_is_consistent);
	RUN(test_text_and_plots);
	RUN(test_bad_input);
	scratch_remove();
	return harness_done();
}
