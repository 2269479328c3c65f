// SPDX-License-Identifier: MIT
/* odeflow pcap2npy against an independent reading of the same captures:
 * tcpdump -v prints every packet's IP length and 5-tuple; the windows built
 * from that text must equal the dataset's rows, value for value. Then the
 * options, the label map and bad input. */
#include <inttypes.h>
#include <stdint.h>

#include "cli/command.h"
#include "train/dataset.h"
#include "train/dataset_info.h"
#include "capture/label_map.h"
#include "harness.h"
#include "scratch.h"

/* A scratch file name where an argv wants a char *. */
#define TMP(name) ((char *)tmp_path(name))
#include "train/npy.h"
#include "tcpdump_view.h"

int cmd_pcap2npy(int argc, char **argv);

#define DATA "tests/data/pcaps/"
#define N 20

/* Runs the command on the given arguments (argv[0] included). */
#define RUN_CMD(...) \
	cmd_pcap2npy(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *), (char *[]){ __VA_ARGS__, NULL })

static int file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The trainer's loader accepts the dataset and its session splitting sees
 * one session per direction that gave windows. */
static void check_loads_as_dataset(const char *prefix)
{
	struct dataset ds;
	char err[512];
	size_t *session, expected = 0;

	for (int d = 0; d < ndirs; d++)
		expected += dirs[d].count >= N;
	CHECKF(!dataset_load(prefix, 5, &ds, err, sizeof(err)), "%s", err);
	session = malloc((ds.n + 1) * sizeof(*session));
	CHECK(dataset_sessions(&ds, session) == expected);
	free(session);
	dataset_free(&ds);
}

/* The dataset of one capture equals windows built from tcpdump's text. */
static void check_against_tcpdump(const char *capture)
{
	struct npy_array x = { 0 }, y = { 0 };
	char err[512], line[1024];
	size_t row = 0;
	FILE *index;

	if (tcpdump_read(capture)) {
		SKIP("tcpdump is missing or cannot read the capture");
		return;
	}
	CHECK(RUN_CMD("pcap2npy", "--label", "Video", (char *)capture, "-o",
				 TMP("ds")) == 0);
	CHECKF(!npy_read(TMP("ds_x.npy"), &x, err, sizeof(err)), "%s", err);
	CHECKF(!npy_read(TMP("ds_y.npy"), &y, err, sizeof(err)), "%s", err);
	index = fopen(TMP("ds_index.csv"), "r");
	CHECK(index && fgets(line, sizeof(line), index)); /* header */
	for (int d = 0; d < ndirs; d++) {
		for (int w = 0; w + N <= dirs[d].count; w += N, row++) {
			char src[64] = "", dst[64] = "", name[160];
			unsigned sport = 0, dport = 0;

			if (row >= y.count)
				continue;
			for (int i = 0; i < N; i++) {
				const double *r = x.data + row * 2 * N;

				CHECKF(r[i] == dirs[d].sizes[w + i], "%s window %d packet %d: size %g, "
				       "tcpdump %u", dirs[d].name, w / N, i, r[i], dirs[d].sizes[w + i]);
				CHECK_NEAR(r[N + i], (dirs[d].ts_us[w + i] - dirs[d].first_us) * 1e-6, 1e-9);
			}
			CHECK(y.data[row] == 1);
			CHECK(index && fgets(line, sizeof(line), index) &&
			      sscanf(line, "%*u,%*[^,],%63[^,],%63[^,],%u,%u", src, dst, &sport, &dport) == 4);
			snprintf(name, sizeof(name), "%s.%u > %s.%u", src, sport, dst, dport);
			CHECKF(!strcmp(name, dirs[d].name), "row %zu: index says %s, tcpdump %s",
			       row, name, dirs[d].name);
		}
	}
	CHECKF(x.ndim == 3 && x.shape[0] == row && x.shape[1] == 2 && x.shape[2] == N,
	       "x has %zu rows, tcpdump's reading gives %zu", x.shape[0], row);
	CHECK(y.ndim == 1 && y.shape[0] == row);
	check_loads_as_dataset(TMP("ds"));
	if (index)
		fclose(index);
	npy_free(&x);
	npy_free(&y);
}

static void test_skype_ipv4_udp(void)
{
	check_against_tcpdump(DATA "skype-conference-call.pcap");
}

static void test_youtube_quic(void)
{
	check_against_tcpdump(DATA "youtube_quic.pcap");
}

static void test_http_ipv6_tcp(void)
{
	check_against_tcpdump(DATA "http_ipv6.pcap");
}

/* 802.1Q tags (added to real packets by tcprewrite) */
static void test_vlan_tagged(void)
{
	check_against_tcpdump(DATA "skype_vlan.pcap");
}

/* Linux cooked capture v2 (tcpdump -i any), IPv4 and IPv6 */
static void test_sll2_any_capture(void)
{
	check_against_tcpdump(DATA "sll2_udp.pcap");
}

/* --first-only keeps window 0 of each direction; the label map picks classes
 * by file name; rows are grouped by capture in command-line order. */
static void test_first_only_and_label_map(void)
{
	struct npy_array x = { 0 }, y = { 0 };
	char err[512];
	FILE *map = fopen(TMP("labels"), "w");

	fputs("# class by capture name\n*skype*  VoIP\n\n*quic* Video\n", map);
	fclose(map);
	CHECK(RUN_CMD("pcap2npy", "--label-map", TMP("labels"), "--first-only",
				 "--window", "30", DATA "youtube_quic.pcap",
				 DATA "skype-conference-call.pcap", "-o", TMP("first")) == 0);
	CHECKF(!npy_read(TMP("first_x.npy"), &x, err, sizeof(err)), "%s", err);
	CHECKF(!npy_read(TMP("first_y.npy"), &y, err, sizeof(err)), "%s", err);
	/* youtube_quic: 2 directions with >= 30 packets (145, 113); skype: 133, 67 */
	CHECKF(y.count == 4, "%zu rows", y.count);
	if (y.count == 4) {
		CHECK(y.data[0] == 1 && y.data[1] == 1 && y.data[2] == 0 && y.data[3] == 0);
		CHECK(x.shape[2] == 30);
		CHECK(x.data[30] == 0.0 && x.data[2 * 30 + 30] == 0.0); /* times start at 0 */
	}
	npy_free(&x);
	npy_free(&y);
}

/* --skip K with --max-windows M: window w of a direction is its packets
 * K + wN .. K + wN + N - 1 in tcpdump's reading, at most M of them, and the
 * index numbers them; the dataset says where its windows start. */
static void test_skip_and_max_windows(void)
{
	struct npy_array x = { 0 };
	char err[512], line[1024], *json;
	size_t row = 0;
	FILE *index, *f;
	const int skip = 5, max = 2;

	if (tcpdump_read(DATA "youtube_quic.pcap")) {
		SKIP("tcpdump is missing or cannot read the capture");
		return;
	}
	CHECK(RUN_CMD("pcap2npy", "--label", "Video", "--skip", "5", "--max-windows", "2",
		      DATA "youtube_quic.pcap", "-o", TMP("skip")) == 0);
	CHECKF(!npy_read(TMP("skip_x.npy"), &x, err, sizeof(err)), "%s", err);
	index = fopen(TMP("skip_index.csv"), "r");
	CHECK(index && fgets(line, sizeof(line), index)); /* header */
	for (int d = 0; d < ndirs; d++) {
		for (int w = 0; w < max && skip + (w + 1) * N <= dirs[d].count; w++, row++) {
			unsigned window = 99, first = 99;
			char label[32] = "";

			if (row >= x.shape[0])
				continue;
			for (int i = 0; i < N; i++)
				CHECK(x.data[row * 2 * N + i] == dirs[d].sizes[skip + w * N + i]);
			CHECK(index && fgets(line, sizeof(line), index) &&
			      sscanf(line, "%*u,%*[^,],%*[^,],%*[^,],%*u,%*u,%*u,%u,%u,%31[^,]",
				     &window, &first, label) == 3);
			CHECKF(window == (unsigned)w && first == (unsigned)(skip + w * N) &&
			       !strcmp(label, "Video"), "row %zu: window %u from packet %u, %s", row,
			       window, first, label);
		}
	}
	CHECKF(x.ndim == 3 && x.shape[0] == row && row > 0, "%zu rows, expected %zu",
	       x.shape[0], row);
	npy_free(&x);
	if (index)
		fclose(index);
	f = fopen(TMP("skip_dataset.json"), "r");
	json = calloc(1, 4096);
	if (f && json && fread(json, 1, 4095, f) > 0) {
		/* more than one window per direction: windows from anywhere */
		CHECKF(strstr(json, "\"window_start\": \"any\"") != NULL, "%s", json);
		CHECKF(strstr(json, "\"classes\": [\n  \"VoIP\"") != NULL, "%s", json);
	} else {
		CHECKF(0, "cannot read %s", TMP("skip_dataset.json"));
	}
	if (f)
		fclose(f);
	free(json);
	/* one window after 5 packets: skip:5; the first only: first */
	CHECK(RUN_CMD("pcap2npy", "--label", "Video", "--skip", "5", "--first-only",
		      DATA "youtube_quic.pcap", "-o", TMP("skip1")) == 0);
	CHECK(RUN_CMD("pcap2npy", "--label", "Video", "--max-windows", "1",
		      DATA "youtube_quic.pcap", "-o", TMP("first1")) == 0);
	{
		struct dataset_info info;

		CHECKF(!dataset_info_load(TMP("skip1"), &info, err, sizeof(err)), "%s", err);
		CHECK(info.window_start.kind == WINDOW_START_SKIP && info.window_start.skip == 5);
		CHECKF(!dataset_info_load(TMP("first1"), &info, err, sizeof(err)), "%s", err);
		CHECK(info.window_start.kind == WINDOW_START_FIRST && info.num_classes == 5);
		CHECK(dataset_info_load(TMP("nothing"), &info, err, sizeof(err)) == 1);
	}
	/* the modes are exclusive, the numbers bounded */
	CHECK(RUN_CMD("pcap2npy", "--label", "Video", "--first-only", "--all-windows",
		      DATA "youtube_quic.pcap", "-o", TMP("x")) == 2);
	CHECK(RUN_CMD("pcap2npy", "--label", "Video", "--skip", "1001",
		      DATA "youtube_quic.pcap", "-o", TMP("x")) == 2);
	CHECK(RUN_CMD("pcap2npy", "--label", "Video", "--max-windows", "0",
		      DATA "youtube_quic.pcap", "-o", TMP("x")) == 2);
}

/* The first len bytes of a file, as a capture cut short is. */
static int copy_prefix(const char *from, const char *to, size_t len)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[65536];
	size_t n = in && len <= sizeof(buf) ? fread(buf, 1, len, in) : 0;
	int rc = out && n == len && fwrite(buf, 1, n, out) == n ? 0 : -1;

	if (in)
		fclose(in);
	if (out && fclose(out))
		rc = -1;
	return rc;
}

static void test_bad_input(void)
{
	struct npy_array y = { 0 };
	char err[512];
	FILE *f = fopen(TMP("garbage.pcap"), "w");

	fputs("definitely not a capture\n", f);
	fclose(f);
	/* a file that is not a capture fails the command and writes nothing */
	CHECK(RUN_CMD("pcap2npy", "--label", "Chat", TMP("garbage.pcap"), "-o",
				 TMP("bad")) == 1);
	CHECK(!file_exists(TMP("bad_x.npy")));
	CHECK(RUN_CMD("pcap2npy", "--label", "Gaming", DATA "malformed_dns.pcap", "-o",
				 TMP("bad")) == 1);
	CHECK(RUN_CMD("pcap2npy", "--label-map", TMP("labels"),
				 DATA "malformed_dns.pcap", "-o", TMP("bad")) == 1);
	CHECK(RUN_CMD("pcap2npy", "--label", "Chat", DATA "malformed_dns.pcap") == 2);
	CHECK(RUN_CMD("pcap2npy", "--label", "Chat", "--window", "65",
				 DATA "malformed_dns.pcap", "-o", TMP("bad")) == 2);
	CHECK(!file_exists(TMP("bad_x.npy")));
	/* a truncated capture: the packets before the cut still make windows */
	CHECK(!copy_prefix(DATA "skype-conference-call.pcap", TMP("truncated.pcap"), 20000));
	CHECK(RUN_CMD("pcap2npy", "--label", "VoIP", TMP("truncated.pcap"), "-o",
		      TMP("cut")) == 0);
	CHECKF(npy_read(TMP("cut_y.npy"), &y, err, sizeof(err)) == 0, "%s", err);
	CHECKF(y.count >= 1 && y.count < 9, "%zu windows from the truncated capture", y.count);
	npy_free(&y);

	/* a capture with too few packets for a window: nothing to write, and the
	 * exit status says so */
	CHECK(RUN_CMD("pcap2npy", "--label", "4", DATA "malformed_dns.pcap", "-o",
				 TMP("empty")) == 1);
	CHECK(!file_exists(TMP("empty_x.npy")) && !file_exists(TMP("empty_index.csv")));
}

static void test_label_map_rules(void)
{
	const char *text = "# rules\n*voip*\tVoIP\ncaptures/*.pcapng  3\n*  Browsing\n";
	struct label_map *m;
	char err[256] = "";

	CHECK(label_parse("File_Transfer") == 2 && label_parse("15") == 15);
	CHECK(label_parse("16") == -1 && label_parse("voip") == -1 && label_parse("") == -1);
	CHECKF(!label_map_parse(text, strlen(text), "map", &m, err, sizeof(err)), "%s", err);
	CHECK(label_map_lookup(m, "/data/run1/voip-1.pcap") == 0);
	CHECK(label_map_lookup(m, "captures/x.pcapng") == 3);
	CHECK(label_map_lookup(m, "other/x.pcapng") == 4); /* path patterns need the path */
	label_map_free(m);

	CHECK(label_map_parse("*a* VoIP\n*b*\n", 13, "map", &m, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "map:2:") != NULL, "%s", err);
	CHECK(label_map_parse("*a* Gaming", 10, "map", &m, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "map:1: unknown class 'Gaming'") != NULL, "%s", err);
	CHECK(label_map_parse("# nothing\n", 10, "map", &m, err, sizeof(err)) == -1);
	CHECK(label_map_parse("*a\0* VoIP", 10, "map", &m, err, sizeof(err)) == -1);
}

int main(void)
{
	if (scratch_create("pcap2npy"))
		return 1;
	RUN(test_skype_ipv4_udp);
	RUN(test_youtube_quic);
	RUN(test_http_ipv6_tcp);
	RUN(test_vlan_tagged);
	RUN(test_sll2_any_capture);
	RUN(test_first_only_and_label_map);
	RUN(test_skip_and_max_windows);
	RUN(test_bad_input);
	RUN(test_label_map_rules);
	scratch_remove();
	return harness_done();
}
