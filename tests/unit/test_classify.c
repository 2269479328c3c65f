// SPDX-License-Identifier: MIT
/* odeflow classify on real captures with a real (freshly initialised) model:
 * the windows it reports are the kernel's (each direction's packets kN ..
 * kN+N-1, read independently with tcpdump), the first window's confidence
 * is the engine's own answer for those packets, and bad input fails
 * cleanly. */
#include <fcntl.h>
#include <jansson.h>
#include <pcap/pcap.h>

#include "harness.h"
#include "scratch.h"

/* A scratch file name where an argv wants a char *. */
#define TMP(name) ((char *)tmp_path(name))
#include "engine/model.h"
#include "tcpdump_view.h"

int cmd_classify(int argc, char **argv);

#define DATA "tests/data/pcaps/"
#define N 20
#define GEN_FLOWS "build/tools/gen_flows"
/* One-way flows of the hostile capture: enough that a table whose probe
 * runs grew with the planted cluster took several times longer per flow. */
#define HOSTILE_FLOWS 10000
/* Its CPU time per flow against spread flows'; it stays near 1 now. */
#define MAX_HOSTILE_SLOWDOWN 2.0

#define RUN_CMD(...) \
	cmd_classify(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *), (char *[]){ __VA_ARGS__, NULL })

static struct model *model;
/* The --skip of the run check_events checks: window w of a direction is its
 * packets skip + wN .. skip + wN + N - 1. */
static int skip;

/* Runs classify with stdout going to a file; returns its exit code. */
#define RUN_CAPTURED(out, ...)                                                 \
	({                                                                     \
		int saved_, rc_;                                               \
		fflush(stdout);                                                \
		saved_ = dup(1);                                               \
		dup2(open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);        \
		rc_ = RUN_CMD(__VA_ARGS__);                                    \
		fflush(stdout);                                                \
		dup2(saved_, 1);                                               \
		close(saved_);                                                 \
		rc_;                                                           \
	})

static int make_model(void)
{
	struct model_config cfg;
	char err[256];

	/* the shipped architecture (ISCX classes, N = 20), smaller: a test needs no accuracy */
	model_config_defaults(ARCH_ODERNN, &cfg);
	cfg.hidden = 16;
	cfg.ode_hidden = 16;
	if (model_create(&cfg, 7, &model, err, sizeof(err)) ||
	    model_save(model, TMP("model.safetensors"), err, sizeof(err))) {
		printf("  model: %s\n", err);
		return -1;
	}
	return 0;
}

/* tcpdump's direction named as the event names it. */
static const struct direction *direction_of_event(json_t *e)
{
	char name[160];
	const char *src = json_string_value(json_object_get(e, "src"));
	const char *dst = json_string_value(json_object_get(e, "dst"));

	snprintf(name, sizeof(name), "%s.%lld > %s.%lld", src ? src : "?",
		 json_integer_value(json_object_get(e, "sport")), dst ? dst : "?",
		 json_integer_value(json_object_get(e, "dport")));
	for (int d = 0; d < ndirs; d++)
		if (!strcmp(dirs[d].name, name))
			return &dirs[d];
	return NULL;
}

/* The engine's confidence in its top class for packets [from, from+N). */
static double engine_confidence(const struct direction *d, int from)
{
	struct model_ws *ws = model_ws_new(model, 1);
	float sizes[N], logprobs[ODEFLOW_MAX_CLASSES], best = -INFINITY;
	double times[N];

	for (int i = 0; i < N; i++) {
		sizes[i] = d->sizes[from + i];
		times[i] = (d->ts_us[from + i] - d->ts_us[from]) * 1e-6;
	}
	if (model_classify(model, ws, 1, sizes, times, logprobs))
		best = NAN;
	for (int k = 0; k < 5; k++)
		best = logprobs[k] > best ? logprobs[k] : best;
	model_ws_free(ws);
	return exp(best);
}

/* The direction back: "a.1 > b.2" -> "b.2 > a.1". */
static const struct direction *reverse_of(const struct direction *d)
{
	char name[160];
	const char *gt = strstr(d->name, " > ");

	snprintf(name, sizeof(name), "%s > %.*s", gt + 3, (int)(gt - d->name), d->name);
	for (int i = 0; i < ndirs; i++)
		if (!strcmp(dirs[i].name, name))
			return &dirs[i];
	return NULL;
}

/* Checks every event of one run; returns how many there were. A decision
 * is the connection's: at stage 1 its confidence is the engine's answer for
 * the connection's first window (of either direction). */
static int check_events(const char *out, const char *capture, int *windows_by_dir, int *max_stage)
{
	double first_confidence[MAX_DIRS];
	FILE *f = fopen(out, "r");
	char line[8192];
	int events = 0;

	for (int d = 0; d < MAX_DIRS; d++)
		first_confidence[d] = -1;
	*max_stage = 0;

	while (f && fgets(line, sizeof(line), f)) {
		json_t *e = json_loads(line, 0, NULL);
		const struct direction *d = e ? direction_of_event(e) : NULL;
		json_t *sizes = json_object_get(e, "sizes"), *ts = json_object_get(e, "ts_us");
		int w = (int)json_integer_value(json_object_get(e, "window")), first;

		CHECKF(d != NULL, "event of no direction tcpdump knows: %s", line);
		if (!d) {
			json_decref(e);
			continue;
		}
		events++;
		windows_by_dir[d - dirs]++;
		CHECK(!strcmp(json_string_value(json_object_get(e, "iface")), capture));
		CHECK(json_array_size(sizes) == N && json_array_size(ts) == N);
		first = skip + w * N;
		CHECKF(first + N <= d->count, "%s: window %d of %d packets", d->name, w, d->count);
		for (int i = 0; i < N && first + N <= d->count; i++) {
			int p = first + i;

			CHECKF(json_integer_value(json_array_get(sizes, i)) == d->sizes[p],
			       "%s window %d packet %d", d->name, w, i);
			CHECK(json_integer_value(json_array_get(ts, i)) ==
			      (json_int_t)(d->ts_us[p] - d->ts_us[first]));
		}
		if (first + N <= d->count) /* the event's time: its last packet's */
			CHECK_NEAR(json_real_value(json_object_get(e, "time")),
				   d->ts_us[first + N - 1] * 1e-6, 1e-6);
		CHECK(json_is_null(json_object_get(e, "latency_us")));
		if (first_confidence[d - dirs] < 0) {
			const struct direction *r = reverse_of(d);

			first_confidence[d - dirs] = engine_confidence(d, first);
			if (r && first_confidence[r - dirs] < 0)
				first_confidence[r - dirs] = first_confidence[d - dirs];
		}
		if (json_integer_value(json_object_get(e, "stage")) == 1)
			CHECK_NEAR(json_real_value(json_object_get(e, "confidence")),
				   first_confidence[d - dirs], 1e-5);
		if (json_integer_value(json_object_get(e, "stage")) > *max_stage)
			*max_stage = (int)json_integer_value(json_object_get(e, "stage"));
		json_decref(e);
	}
	if (f)
		fclose(f);
	return events;
}

/* Threshold 0: every direction with N packets gives exactly window 0; a
 * connection's second direction's joins its verdict (stage 2). */
static void test_first_windows(void)
{
	const char *captures[] = { DATA "skype-conference-call.pcap", DATA "youtube_quic.pcap",
				   DATA "http_ipv6.pcap" };

	for (int c = 0; c < 3; c++) {
		int windows[MAX_DIRS] = { 0 }, expected = 0, max_stage;
		bool both;

		if (tcpdump_read(captures[c])) {
			SKIP("tcpdump is missing");
			return;
		}
		CHECK(RUN_CAPTURED(TMP("events"), "classify", "--model",
				   TMP("model.safetensors"), "--threshold", "0",
				   (char *)captures[c]) == 0);
		for (int d = 0; d < ndirs; d++)
			expected += dirs[d].count >= N;
		CHECKF(check_events(TMP("events"), captures[c], windows, &max_stage) == expected,
		       "%s: not one event per direction with %d packets", captures[c], N);
		/* stage 2 only where both directions of a connection have a window:
		 * the other direction's first window joins the final verdict */
		both = false;
		for (int d = 0; d < ndirs; d++) {
			CHECK(windows[d] == (dirs[d].count >= N));
			both |= dirs[d].count >= N && reverse_of(&dirs[d]) &&
				reverse_of(&dirs[d])->count >= N;
		}
		CHECKF(max_stage == (both ? 2 : 1), "%s: stage %d at threshold 0", captures[c],
		       max_stage);
	}
}

/* Threshold 1 is never met: the cascade re-arms until max-windows windows of
 * the connection (both directions) were averaged; each re-armed window
 * starts right after the previous one (check_events). */
static void test_cascade_rearms(void)
{
	int windows[MAX_DIRS] = { 0 }, max_stage, both;
	const struct direction *big = NULL, *back;

	if (tcpdump_read(DATA "youtube_quic.pcap")) {
		SKIP("tcpdump is missing");
		return;
	}
	CHECK(RUN_CAPTURED(TMP("events"), "classify", "--model",
			   TMP("model.safetensors"), "--threshold", "1", "--max-windows", "4",
			   DATA "youtube_quic.pcap") == 0);
	check_events(TMP("events"), DATA "youtube_quic.pcap", windows, &max_stage);
	CHECK(max_stage == 4);
	/* the QUIC connection: 145 packets one way, 113 the other, enough for
	 * 4 windows; the 4th makes the verdict final, which (as in the kernel)
	 * also stops the other direction's re-armed window */
	for (int d = 0; d < ndirs; d++)
		if (!big || dirs[d].count > big->count)
			big = &dirs[d];
	back = big ? reverse_of(big) : NULL;
	CHECK(big && back && big->count >= 3 * N && back->count >= 2 * N);
	both = big && back ? windows[big - dirs] + windows[back - dirs] : 0;
	CHECKF(both == 4, "%d windows of the QUIC connection", both);
}

/* A capture of UDP between 10.0.0.1:1000 (a) and 10.0.0.2:2000 (b): runs[i]
 * packets a -> b if positive, b -> a if negative, in turn, 1 ms apart. */
static int write_runs(const char *path, const int *runs, int nruns)
{
	pcap_t *dead = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *d = dead ? pcap_dump_open(dead, path) : NULL;
	uint8_t a_to_b[28] = { 0x45, 0, 0, 28, [8] = 64, [9] = 17, [12] = 10, 0, 0, 1, 10, 0, 0, 2,
			       0x03, 0xe8, 0x07, 0xd0, 0, 8 /* UDP length: a bare header */ };
	uint8_t b_to_a[28];
	struct pcap_pkthdr h = { .caplen = 28, .len = 28 };
	int t = 0;

	if (!d)
		return -1;
	memcpy(b_to_a, a_to_b, 28);
	memcpy(b_to_a + 12, a_to_b + 16, 4);
	memcpy(b_to_a + 16, a_to_b + 12, 4);
	memcpy(b_to_a + 20, a_to_b + 22, 2);
	memcpy(b_to_a + 22, a_to_b + 20, 2);
	for (int i = 0; i < nruns; i++)
		for (int j = 0; j < abs(runs[i]); j++, t++) {
			h.ts.tv_sec = 1 + t / 1000;
			h.ts.tv_usec = (t % 1000) * 1000;
			pcap_dump((u_char *)d, &h, runs[i] > 0 ? a_to_b : b_to_a);
		}
	pcap_dump_close(d);
	pcap_close(dead);
	return 0;
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

/* b's window 0 is decided (provisional: b re-armed, its next packet is
 * window 1's first), then a's window 0 makes the verdict final (2 windows):
 * as in the kernel, b samples nothing more, so b's next N - 1 packets do not
 * complete a window 1 although they come while a's window waits in the
 * batch. */
static void test_final_verdict_stops_the_other_direction(void)
{
	const int runs[] = { -N, -1, N, -(N - 1), N };

	CHECK(!write_runs(TMP("runs.pcap"), runs, 5));
	CHECK(RUN_CAPTURED(TMP("events"), "classify", "--model",
			   TMP("model.safetensors"), "--threshold", "1", "--max-windows", "2",
			   TMP("runs.pcap")) == 0);
	CHECKF(count_lines(TMP("events")) == 2, "%d events, expected b's and a's window 0",
	       count_lines(TMP("events")));
}

/* --skip K: each direction's first window is its packets K+1..K+N (from
 * 1), the re-armed ones follow on; directions of fewer than K + N packets
 * give nothing. Without --skip the model's window_start decides, and the
 * run says which it uses. */
static void test_skip(void)
{
	int windows[MAX_DIRS] = { 0 }, max_stage, expected = 0, events;
	struct model_config cfg = *model_config(model);
	struct model *skipping = NULL;
	char err[256] = "", *said;
	FILE *f;

	if (tcpdump_read(DATA "youtube_quic.pcap")) {
		SKIP("tcpdump is missing");
		return;
	}
	skip = 7;
	CHECK(RUN_CAPTURED(TMP("events"), "classify", "--model", TMP("model.safetensors"),
			   "--threshold", "0", "--skip", "7", DATA "youtube_quic.pcap") == 0);
	for (int d = 0; d < ndirs; d++)
		expected += dirs[d].count >= skip + N;
	events = check_events(TMP("events"), DATA "youtube_quic.pcap", windows, &max_stage);
	CHECKF(events == expected && expected > 0, "%d events, %d directions of %d packets",
	       events, expected, skip + N);
	/* threshold 1: re-armed windows follow on from packet skip + N */
	CHECK(RUN_CAPTURED(TMP("events"), "classify", "--model", TMP("model.safetensors"),
			   "--threshold", "1", "--max-windows", "3", "--skip", "7",
			   DATA "youtube_quic.pcap") == 0);
	check_events(TMP("events"), DATA "youtube_quic.pcap", windows, &max_stage);
	CHECK(max_stage == 3);

	/* a model trained on windows after 5 packets: classify takes 5 by itself */
	cfg.window_start = (struct window_start){ .kind = WINDOW_START_SKIP, .skip = 5 };
	CHECKF(!model_create(&cfg, 7, &skipping, err, sizeof(err)) &&
	       !model_save(skipping, TMP("skip5.safetensors"), err, sizeof(err)), "%s", err);
	model_free(skipping);
	skip = 5;
	{
		int saved = dup(2);

		fflush(stderr);
		dup2(open(TMP("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
		CHECK(RUN_CAPTURED(TMP("events"), "classify", "--model", TMP("skip5.safetensors"),
				   "--threshold", "0", DATA "youtube_quic.pcap") == 0);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
	}
	check_events(TMP("events"), DATA "youtube_quic.pcap", windows, &max_stage);
	f = fopen(TMP("stderr"), "r");
	said = calloc(1, 4096);
	if (f && said) {
		CHECK(fread(said, 1, 4095, f) > 0);
		CHECKF(strstr(said, "odeflow classify: first windows start after 5 packets of each "
			      "direction (the model's window_start is skip:5)\n") == said, "%s", said);
	}
	if (f)
		fclose(f);
	free(said);
	skip = 0;
	CHECK(RUN_CMD("classify", "--model", TMP("model.safetensors"), "--skip", "1001",
		      DATA "malformed_dns.pcap") == 2);
	CHECK(RUN_CMD("classify", "--model", TMP("model.safetensors"), "--skip", "-1",
		      DATA "malformed_dns.pcap") == 2);
}

/* The least CPU time of two runs of classify --threshold 0 on a capture of
 * HOSTILE_FLOWS flows whose keys gen_flows chose as KEYS; -1 if one failed. */
static double classify_cpu(const char *keys)
{
	char cmd[512];
	double best = -1;

	snprintf(cmd, sizeof(cmd), "%s %s %d %d 256 %s", GEN_FLOWS, tmp_path("flows.pcap"),
		 HOSTILE_FLOWS, N, keys);
	if (system(cmd)) {
		printf("  %s failed\n", cmd);
		return -1;
	}
	for (int run = 0; run < 2; run++) {
		double start = harness_cpu_seconds(), took;

		if (RUN_CAPTURED(TMP("events"), "classify", "--model", TMP("model.safetensors"),
				 "--threshold", "0", TMP("flows.pcap")))
			return -1;
		took = harness_cpu_seconds() - start;
		best = best < 0 || took < best ? took : best;
	}
	unlink(tmp_path("flows.pcap"));
	return best;
}

/* The hostile capture: one-way flows whose keys all hash into a few
 * hundred slots of the tables under the unseeded FNV-1a userspace once
 * used (per direction: the sessions; per connection: the cascade). Under
 * the keyed hash they cost what spread flows cost. */
static void test_hostile_keys_cost_what_spread_keys_cost(void)
{
	const char *hostile[] = { "collide-directions", "collide-connections" };
	double spread = classify_cpu("spread");

	CHECK(spread > 0);
	for (int i = 0; i < 2 && spread > 0; i++) {
		double t = classify_cpu(hostile[i]);

		printf("  %d flows, CPU time per flow: %s %.1f us, spread %.1f us (%.2fx, at most "
		       "%.1fx)\n", HOSTILE_FLOWS, hostile[i], t * 1e6 / HOSTILE_FLOWS,
		       spread * 1e6 / HOSTILE_FLOWS, t / spread, MAX_HOSTILE_SLOWDOWN);
		CHECK(t > 0 && t <= MAX_HOSTILE_SLOWDOWN * spread);
	}
}

static void test_bad_input(void)
{
	FILE *f = fopen(TMP("garbage.pcap"), "w");

	fputs("not a capture at all\n", f);
	fclose(f);
	CHECK(RUN_CMD("classify", "--model", TMP("missing.safetensors"),
		      DATA "malformed_dns.pcap") == 1);
	CHECK(RUN_CMD("classify", "--model", TMP("garbage.pcap"), DATA "malformed_dns.pcap") == 1);
	CHECK(RUN_CMD("classify", "--model", TMP("model.safetensors"),
		      TMP("garbage.pcap")) == 1);
	CHECK(RUN_CMD("classify", "--model", TMP("model.safetensors"), "--threshold", "1.5",
		      DATA "malformed_dns.pcap") == 2);
	CHECK(RUN_CMD("classify", "--model", TMP("model.safetensors"), "--max-windows", "0",
		      DATA "malformed_dns.pcap") == 2);
	/* the cascade's options are run's: -w is --max-windows, -k is no option */
	CHECK(RUN_CMD("classify", "--model", TMP("model.safetensors"), "-w", "0",
		      DATA "malformed_dns.pcap") == 2);
	CHECK(RUN_CMD("classify", "--model", TMP("model.safetensors"), "-k", "2",
		      DATA "malformed_dns.pcap") == 2);
	CHECK(RUN_CMD("classify", "--model", TMP("model.safetensors")) == 2);
	/* fewer than N packets in every direction: no events, success */
	CHECK(RUN_CAPTURED(TMP("events"), "classify", "--model", TMP("model.safetensors"),
			   DATA "malformed_dns.pcap") == 0);
}

int main(void)
{
	if (scratch_create("classify"))
		return 1;
	if (make_model()) {
		printf("FAIL setup: cannot create the model\n");
		scratch_remove();
		return 1;
	}
	RUN(test_first_windows);
	RUN(test_cascade_rearms);
	RUN(test_final_verdict_stops_the_other_direction);
	RUN(test_skip);
	RUN(test_hostile_keys_cost_what_spread_keys_cost);
	RUN(test_bad_input);
	model_free(model);
	scratch_remove();
	return harness_done();
}
