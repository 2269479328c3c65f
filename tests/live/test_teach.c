/* SPDX-License-Identifier: MIT */
/* --teach, below the agent: the sampler's copies of the first packets of
 * sampled connections (run by the kernel on crafted frames and on the
 * frames of real captures through bpf_prog_test_run: nothing is sent on any
 * network), and the teacher that runs nDPI on them: its labels against the
 * capture labeller's, the surer answer for unsure verdicts (also when the
 * label comes after the verdict), the agreement counts, the labelled
 * windows in the site data set, a class map it cannot use, and its CPU
 * budget under a flood. Needs root (loads BPF); skipped otherwise. */
#include <bpf/bpf.h>
#include <errno.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <time.h>

#include "capture/class_map.h"
#include "capture/ndpi_labeler.h"
#include "capture/ndpi_report.h"
#include "capture/pcap_source.h"
#include "common/clock.h"
#include "common/errmsg.h"
#include "common/flow_key.h"
#include "engine/model.h"
#include "engine/model_path.h"
#include "harness.h"
#include "loader/map_ops.h"
#include "loader/teach_ring.h"
#include "loader/xdp_loader.h"
#include "scratch.h"
#include "teach/site_dataset.h"
#include "teach/teach_record.h"
#include "teach/teacher.h"
#include "teach_sample.h"
#include "xdp_packets.h"

#define N 20
#define MAX_COPIES 4096
#define CAPTURES "tests/data/pcaps/"

struct copy {
	struct flow_key key;
	uint16_t ip_len, captured;
	uint8_t bytes[ODEFLOW_TEACH_BYTES];
};

static struct copy copies[MAX_COPIES];
static int n_copies;

static int on_copy(void *ctx, void *data, size_t size)
{
	struct teach_record r;

	(void)ctx;
	CHECK(teach_record_decode(data, size, &r) == 0);
	if (n_copies < MAX_COPIES) {
		struct copy *c = &copies[n_copies++];

		c->key = r.info.key;
		c->ip_len = r.info.ip_len;
		c->captured = (uint16_t)r.info.ip_captured;
		memcpy(c->bytes, r.info.ip, r.info.ip_captured);
	}
	return 0;
}

static struct xdp_sampler *open_sampler(enum xdp_hook hook, double rate)
{
	struct xdp_options o = XDP_OPTIONS_DEFAULT;
	struct xdp_sampler *s;
	char err[ERRMSG_LEN];

	o.hook = hook;
	o.window_n = N;
	o.flow_capacity = 65536;
	o.pin_dir = NULL;
	o.teach_rate = rate;
	if (xdp_sampler_open(&o, &s, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		return NULL;
	}
	return s;
}

/* Runs one frame through the program: 0, or -1 if the kernel refused. */
static int run_frame(struct xdp_sampler *s, const uint8_t *frame, size_t len)
{
	uint8_t out[PKT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(xdp_sampler_prog_fd(s), &opts)) {
		printf("  bpf_prog_test_run_opts: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int read_copies(struct xdp_sampler *s)
{
	char err[ERRMSG_LEN];
	struct teach_ring *r = teach_ring_new(xdp_sampler_map_fd(s, XDP_MAP_TEACH), on_copy, NULL,
					      err, sizeof(err));

	n_copies = 0;
	CHECKF(r != NULL, "%s", err);
	if (r)
		teach_ring_consume(r);
	teach_ring_free(r);
	return n_copies;
}

static uint64_t counter(struct xdp_sampler *s, enum counter c)
{
	uint64_t v[CNT_MAX];

	return xdp_read_counters(xdp_sampler_map_fd(s, XDP_MAP_COUNTERS), v) ? 0 : v[c];
}

static struct pkt_spec udp_spec(int i, bool reverse)
{
	static char addr[2][64][24];
	struct pkt_spec p = { .family = 4, .proto = IPPROTO_UDP, .payload = 200 };

	snprintf(addr[0][i % 64], sizeof(addr[0][0]), "10.200.%d.%d", 1 + i / 250, 1 + i % 250);
	snprintf(addr[1][i % 64], sizeof(addr[1][0]), "10.200.0.2");
	p.saddr = reverse ? addr[1][i % 64] : addr[0][i % 64];
	p.daddr = reverse ? addr[0][i % 64] : addr[1][i % 64];
	p.sport = reverse ? 443 : (uint16_t)(20000 + i % 30000);
	p.dport = reverse ? (uint16_t)(20000 + i % 30000) : 443;
	return p;
}

/* Sends packet `seq` of a direction: its payload says which, so its copy
 * can be told apart. */
static size_t build(const struct pkt_spec *p, int seq, uint8_t *frame, uint16_t *ip_len)
{
	size_t len = pkt_build(p, frame, ip_len);

	frame[len - 1] = (uint8_t)seq;
	return len;
}

static void check_copies_of(struct xdp_sampler *s, enum xdp_hook hook)
{
	struct pkt_spec a = udp_spec(7, false), b = udp_spec(7, true);
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;
	size_t len;
	int seen_a = 0, seen_b = 0;

	for (int i = 0; i < 10; i++) {
		len = build(&a, i, frame, &ip_len);
		CHECK(run_frame(s, frame, len) == 0);
		if (i < 3) {
			len = build(&b, 100 + i, frame, &ip_len);
			CHECK(run_frame(s, frame, len) == 0);
		}
	}
	CHECKF(read_copies(s) == ODEFLOW_TEACH_PACKETS + 3, "%s: %d copies", xdp_hook_name(hook),
	       n_copies);
	for (int i = 0; i < n_copies; i++) {
		bool fwd = copies[i].key.sport == a.sport;
		int seq = fwd ? seen_a++ : 100 + seen_b++;

		len = build(fwd ? &a : &b, seq, frame, &ip_len);
		CHECK(copies[i].ip_len == ip_len && copies[i].captured == ip_len);
		/* the IP datagram, as sent: the frame after its Ethernet header */
		CHECKF(!memcmp(copies[i].bytes, frame + 14, ip_len), "copy %d differs", i);
	}
	CHECK(seen_a == ODEFLOW_TEACH_PACKETS && seen_b == 3);
	CHECK(counter(s, CNT_TEACH_PACKETS) == (uint64_t)ODEFLOW_TEACH_PACKETS + 3);
	CHECK(counter(s, CNT_TEACH_RING_DROPS) == 0);
}

/* The first ODEFLOW_TEACH_PACKETS packets of each direction, the first one
 * (held for admission) included, whole; later ones are not copied. */
static void test_first_packets_copied(void)
{
	struct xdp_sampler *s;

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	s = open_sampler(XDP_HOOK_XDP, 1.0);
	if (s)
		check_copies_of(s, XDP_HOOK_XDP);
	xdp_sampler_close(s);
	s = open_sampler(XDP_HOOK_TCX, 1.0);
	if (s)
		check_copies_of(s, XDP_HOOK_TCX);
	xdp_sampler_close(s);
}

static void test_off_copies_nothing(void)
{
	struct xdp_sampler *s;
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	s = open_sampler(XDP_HOOK_XDP, 0);
	if (!s)
		return;
	for (int c = 0; c < 50; c++)
		for (int i = 0; i < 5; i++) {
			struct pkt_spec a = udp_spec(c, false);

			CHECK(run_frame(s, frame, build(&a, i, frame, &ip_len)) == 0);
		}
	CHECK(read_copies(s) == 0 && counter(s, CNT_TEACH_PACKETS) == 0);
	xdp_sampler_close(s);
}

/* About RATE of the connections, both directions or neither, exactly those
 * userspace's mirror of the keyed hash names; another load, another seed. */
static void test_sample_keyed_and_whole(void)
{
	enum { CONNS = 1500 };
	static bool sampled[CONNS], copied_a[CONNS], copied_b[CONNS];
	struct xdp_sampler *s;
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;
	uint64_t seed, below, seed2, below2;
	int taught = 0, mismatched = 0, differ = 0;

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	s = open_sampler(XDP_HOOK_XDP, 0.3);
	if (!s)
		return;
	xdp_sampler_teach(s, &seed, &below);
	for (int c = 0; c < CONNS; c++) {
		struct pkt_spec a = udp_spec(c, false), b = udp_spec(c, true);
		struct flow_key k, conn;

		CHECK(run_frame(s, frame, build(&a, 0, frame, &ip_len)) == 0);
		CHECK(run_frame(s, frame, build(&b, 0, frame, &ip_len)) == 0);
		flow_key_make(&k, a.saddr, a.sport, a.daddr, a.dport, IPPROTO_UDP);
		flow_key_canonical(&k, &conn);
		sampled[c] = teach_sampled(&conn, seed, below);
		taught += sampled[c];
		if (n_copies + 2 >= MAX_COPIES || c == CONNS - 1) { /* drain before the buffer fills */
			int n = read_copies(s);

			for (int i = 0; i < n; i++) {
				int id = copies[i].key.dport == 443 ? copies[i].key.sport - 20000
								     : copies[i].key.dport - 20000;

				if (id >= 0 && id < CONNS)
					*(copies[i].key.dport == 443 ? &copied_a[id] : &copied_b[id]) = true;
			}
		}
	}
	for (int c = 0; c < CONNS; c++) {
		mismatched += copied_a[c] != sampled[c] || copied_b[c] != sampled[c];
	}
	CHECKF(taught > CONNS * 0.25 && taught < CONNS * 0.35, "%d of %d connections taught at 0.3",
	       taught, CONNS);
	CHECKF(mismatched == 0, "%d connections copied otherwise than the mirror says", mismatched);
	xdp_sampler_close(s);
	s = open_sampler(XDP_HOOK_XDP, 0.3);
	if (!s)
		return;
	xdp_sampler_teach(s, &seed2, &below2);
	CHECK(below2 == below && seed2 != seed);
	for (int c = 0; c < CONNS; c++) {
		struct pkt_spec a = udp_spec(c, false);
		struct flow_key k, conn;

		flow_key_make(&k, a.saddr, a.sport, a.daddr, a.dport, IPPROTO_UDP);
		flow_key_canonical(&k, &conn);
		differ += teach_sampled(&conn, seed2, below2) != sampled[c];
	}
	CHECKF(differ > CONNS / 5, "only %d of %d connections changed with the seed", differ, CONNS);
	xdp_sampler_close(s);
}

/* A jumbo frame (several buffers): its first ODEFLOW_TEACH_BYTES, and its
 * true length, which tells the teacher it was cut. */
static void test_jumbo_cut(void)
{
	struct xdp_sampler *s;
	struct pkt_spec a = udp_spec(3, false);
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;
	size_t len;

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	s = open_sampler(XDP_HOOK_XDP, 1.0);
	if (!s)
		return;
	a.payload = 8000;
	len = build(&a, 1, frame, &ip_len);
	CHECK(run_frame(s, frame, len) == 0);
	CHECK(read_copies(s) == 1);
	CHECK(n_copies == 1 && copies[0].ip_len == ip_len && copies[0].captured == ODEFLOW_TEACH_BYTES);
	CHECK(n_copies == 1 && !memcmp(copies[0].bytes, frame + 14, ODEFLOW_TEACH_BYTES));
	xdp_sampler_close(s);
}

/* ---- the teacher ---- */

static struct model *model;
static pthread_mutex_t written_lock = PTHREAD_MUTEX_INITIALIZER;
static struct flow_key written_keys[64];
static struct verdict written[64];
static int n_written;

static void on_write(void *ctx, const struct flow_key *keys, const struct verdict *v, unsigned n)
{
	(void)ctx;
	pthread_mutex_lock(&written_lock);
	for (unsigned i = 0; i < n && n_written < 64; i++) {
		written_keys[n_written] = keys[i];
		written[n_written++] = v[i];
	}
	pthread_mutex_unlock(&written_lock);
}

static int start_teacher(struct xdp_sampler *s, const char *class_map, const char *site,
			 struct teacher **t, char *err, size_t errlen)
{
	struct teacher_options o = {
		.ring_fd = xdp_sampler_map_fd(s, XDP_MAP_TEACH),
		.info_fd = xdp_sampler_map_fd(s, XDP_MAP_TEACH_INFO),
		.class_map = class_map, .model = model_config(model), .threshold = 0.9f,
		.site_dir = site, .site_cap = SITE_MIN_CAP_BYTES, .write_verdicts = on_write,
	};

	xdp_sampler_teach(s, &o.seed, &o.below);
	return teacher_start(&o, t, err, errlen);
}

/* Every packet of a capture the sampler samples through the program, in
 * order, as an Ethernet frame around its IP datagram. */
static int replay_frames(struct xdp_sampler *s, const char *path)
{
	struct pcap_source *src;
	struct packet_info info;
	char err[ERRMSG_LEN];
	uint8_t frame[14 + 65536];
	uint64_t ts;
	int n = 0;

	if (pcap_source_open(path, &src, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		return 0;
	}
	while (pcap_source_next(src, &info, &ts) == 1) {
		if (info.ip_captured < info.ip_len)
			continue;
		memset(frame, 0, 12);
		frame[12] = (info.ip[0] >> 4) == 6 ? 0x86 : 0x08;
		frame[13] = (info.ip[0] >> 4) == 6 ? 0xdd : 0x00;
		memcpy(frame + 14, info.ip, info.ip_captured);
		if (run_frame(s, frame, 14 + (size_t)info.ip_captured) == 0)
			n++;
	}
	pcap_source_close(src);
	return n;
}

/* The capture labeller's class for each connection of a capture. */
struct reference {
	struct flow_key key[256];
	int class_id[256];
	int n;
};

static void label_offline(const char *path, const struct class_map *map, struct reference *ref)
{
	struct ndpi_labeler *l;
	struct pcap_source *src;
	struct packet_info info;
	const struct ndpi_result *r;
	char err[ERRMSG_LEN];
	uint64_t ts;
	size_t pos = 0;

	l = ndpi_labeler_new(err, sizeof(err));
	CHECK(l && pcap_source_open(path, &src, err, sizeof(err)) == 0);
	if (!l)
		return;
	while (pcap_source_next(src, &info, &ts) == 1) {
		struct flow_key conn;
		bool known = false;

		CHECK(ndpi_labeler_add(l, &info, ts) == 0);
		flow_key_canonical(&info.key, &conn);
		for (int i = 0; i < ref->n && !known; i++)
			known = !memcmp(&ref->key[i], &conn, sizeof(conn));
		if (!known && ref->n < 256)
			ref->key[ref->n++] = conn;
	}
	pcap_source_close(src);
	ndpi_labeler_finish(l);
	for (int i = 0; i < ref->n; i++) {
		r = ndpi_labeler_result(l, &ref->key[i]);
		ref->class_id[i] = r ? ndpi_report_verdict(map, r) : -1;
	}
	(void)pos;
	ndpi_labeler_free(l);
}

static struct window_record window_of(const struct flow_key *direction)
{
	struct window_record w = { .key = *direction, .n = N };

	for (int p = 0; p < N; p++) {
		w.sizes[p] = (uint16_t)(100 + p);
		w.offset_us[p] = (uint32_t)(1000 * p);
	}
	return w;
}

/* A final verdict through the teacher. */
static struct verdict review_verdict(struct teacher *t, const struct flow_key *conn,
				     struct verdict v)
{
	struct window_record w = window_of(conn);

	if (teacher_begin(t, conn, 1)) {
		teacher_review(t, conn, &v, &w);
		teacher_end(t);
	}
	return v;
}

/* A final verdict of class `cls`, sure or not, through the teacher. */
static struct verdict review(struct teacher *t, const struct flow_key *conn, int cls, bool sure)
{
	return review_verdict(t, conn, (struct verdict){ .class_id = (uint8_t)cls, .stage = 3,
							  .flags = VERDICT_SEEN_FORWARD,
							  .confidence_ppm = sure ? 990000 : 400000 });
}

/* The outcome Unknown (the class id after the model's five), every window
 * of it Unknown: unsure however high its confidence. */
static struct verdict review_unknown(struct teacher *t, const struct flow_key *conn)
{
	return review_verdict(t, conn, (struct verdict){ .class_id = 5, .stage = 3,
							  .flags = VERDICT_SEEN_FORWARD |
								   VERDICT_UNKNOWN,
							  .confidence_ppm = 1000000 });
}

static void test_teacher_labels_as_the_capture_labeller(void)
{
	static const char *captures[] = { "skype-conference-call.pcap", "youtube_quic.pcap",
					  "whatsapp_voice_and_message.pcap" };
	struct reference ref[3] = { 0 };
	struct class_map *map;
	struct xdp_sampler *s;
	struct teacher *t = NULL;
	struct teach_info info;
	struct site_rows rows;
	char err[ERRMSG_LEN], site[160];
	int labelled = 0, dpi = 0, kept = 0, late = -1;

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	CHECK(class_map_load(class_map_default_path(), &map, err, sizeof(err)) == 0);
	snprintf(site, sizeof(site), "%s", tmp_path("site"));
	s = open_sampler(XDP_HOOK_XDP, 1.0);
	if (!s || start_teacher(s, class_map_default_path(), site, &t, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		xdp_sampler_close(s);
		class_map_free(map);
		return;
	}
	for (int c = 0; c < 3; c++) {
		char path[256];

		snprintf(path, sizeof(path), CAPTURES "%s", captures[c]);
		label_offline(path, map, &ref[c]);
		if (c == 2) { /* a verdict that comes before its label */
			for (int i = 0; i < ref[c].n && late < 0; i++)
				if (ref[c].class_id[i] >= 0)
					late = i;
			if (late >= 0)
				review(t, &ref[c].key[late], 4, false);
		}
		CHECK(replay_frames(s, path) > 0);
	}
	/* the teacher concludes connections whose other direction never comes
	 * after TEACH_IDLE_NS of quiet */
	usleep((TEACH_IDLE_NS + 1500 * NSEC_PER_MSEC) / NSEC_PER_USEC);
	for (int c = 0; c < 3; c++)
		for (int i = 0; i < ref[c].n; i++) {
			struct verdict v;

			if (ref[c].class_id[i] < 0 || (c == 2 && i == late))
				continue;
			labelled++;
			/* unsure (every other one Unknown): takes nDPI's class, and
			 * is Unknown no more; sure and right: counted, kept */
			v = i % 2 ? review_unknown(t, &ref[c].key[i])
				  : review(t, &ref[c].key[i], (ref[c].class_id[i] + 1) % 5, false);
			dpi += v.class_id == ref[c].class_id[i] && (v.flags & VERDICT_DPI) &&
			       !(v.flags & VERDICT_UNKNOWN);
			v = review(t, &ref[c].key[i], ref[c].class_id[i], true);
			kept += v.class_id == ref[c].class_id[i];
		}
	CHECKF(labelled >= 10, "only %d labelled connections in the captures", labelled);
	CHECKF(dpi == labelled, "%d of %d unsure verdicts took nDPI's class", dpi, labelled);
	CHECK(kept == labelled);
	/* the verdict that came first was written again, with nDPI's class */
	pthread_mutex_lock(&written_lock);
	CHECKF(late >= 0 && n_written == 1 && written[0].class_id == ref[2].class_id[late] &&
	       (written[0].flags & VERDICT_DPI) && !memcmp(&written_keys[0], &ref[2].key[late],
							   sizeof(struct flow_key)),
	       "%d late verdicts written", n_written);
	pthread_mutex_unlock(&written_lock);
	teacher_info(t, &info);
	CHECKF(info.dpi_verdicts == (uint64_t)labelled + 1, "%llu dpi verdicts",
	       (unsigned long long)info.dpi_verdicts);
	{
		uint64_t checked = 0, agreed = 0;

		for (int k = 0; k < ODEFLOW_MAX_CLASSES; k++) {
			checked += info.checked[k];
			agreed += info.agreed[k];
		}
		/* each connection counted once, at its first final verdict: the
		 * unsure wrong one */
		CHECK(checked == (uint64_t)labelled + 1 && agreed == 0);
	}
	CHECK(info.packets > 0 && info.labelled >= (uint64_t)labelled && info.cpu_us > 0);
	CHECK(info.memory_bytes > 0 && info.rate_ppm == 1000000);
	/* the windows, labelled, in the site data set */
	CHECKF(teacher_flush(t, err, sizeof(err)) == 0, "%s", err);
	CHECKF(site_dataset_load(site, 5, &rows, err, sizeof(err)) == 0, "%s", err);
	/* two reviews of each, one of the late one */
	CHECKF(rows.data.n == 2 * (size_t)labelled + 1, "%zu windows for %d connections",
	       rows.data.n, labelled);
	for (size_t r = 0; r < rows.data.n; r++) {
		struct flow_key conn;
		bool right = false;

		flow_key_canonical(&rows.direction[r], &conn);
		for (int c = 0; c < 3; c++)
			for (int i = 0; i < ref[c].n; i++)
				if (!memcmp(&ref[c].key[i], &conn, sizeof(conn)))
					right |= rows.data.labels[r] == ref[c].class_id[i];
		CHECK(right);
	}
	site_rows_free(&rows);
	teacher_stop(t);
	xdp_sampler_close(s);
	class_map_free(map);
}

static void test_class_map_it_cannot_use(void)
{
	struct xdp_sampler *s;
	struct teacher *t;
	char err[ERRMSG_LEN];
	FILE *f;

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	s = open_sampler(XDP_HOOK_XDP, 1.0);
	if (!s)
		return;
	f = fopen(tmp_path("calls.map"), "w");
	fputs("classes Calls Web\nCalls category=VoIP\nWeb master=TLS\n", f);
	fclose(f);
	CHECK(start_teacher(s, tmp_path("calls.map"), NULL, &t, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "class Calls is not one of the model's classes"), "%s", err);
	f = fopen(tmp_path("typo.map"), "w");
	fputs("classes VoIP Video\nVoIP category=VoIP\nVideo protocol=YuoTube\n", f);
	fclose(f);
	CHECK(start_teacher(s, tmp_path("typo.map"), NULL, &t, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "typo.map:3") && strstr(err, "YuoTube"), "%s", err);
	CHECK(start_teacher(s, tmp_path("missing.map"), NULL, &t, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "missing.map"), "%s", err);
	CHECK(!strchr(err, '\n'));
	xdp_sampler_close(s);
}

/* A flood of taught connections: the teacher spends at most its share of a
 * core (plus its burst) and lets the rest go, counted; every copy is either
 * inspected or counted as let go. */
static void test_flood_stays_in_budget(void)
{
	struct xdp_sampler *s;
	struct teacher *t;
	struct teach_info info;
	char err[ERRMSG_LEN];
	uint8_t frame[PKT_MAX];
	uint16_t ip_len;
	uint64_t start, wall, sent = 0;
	struct pkt_spec p = { .family = 4, .proto = IPPROTO_TCP, .saddr = "10.200.9.1",
			      .daddr = "10.200.0.2", .dport = 443, .payload = 600 };

	if (!harness_is_root()) {
		SKIP("needs root to load BPF programs");
		return;
	}
	s = open_sampler(XDP_HOOK_XDP, 1.0);
	if (!s || start_teacher(s, class_map_default_path(), NULL, &t, err, sizeof(err))) {
		CHECKF(0, "%s", err);
		xdp_sampler_close(s);
		return;
	}
	start = monotonic_ns();
	/* 4 s of new connections, each a TCP packet of 600 payload bytes nDPI
	 * has to try every dissector on */
	while (monotonic_ns() - start < 4 * NSEC_PER_SEC) {
		p.sport = (uint16_t)(1024 + sent % 60000);
		p.saddr = sent / 60000 % 2 ? "10.200.9.2" : "10.200.9.1";
		build(&p, (int)sent, frame, &ip_len);
		frame[14 + 40] = (uint8_t)sent; /* payload bytes vary */
		CHECK(run_frame(s, frame, pkt_build(&p, frame, &ip_len)) == 0);
		sent++;
	}
	usleep(300000); /* the teacher's last look at the ring, and a publication */
	wall = monotonic_ns() - start;
	teacher_info(t, &info);
	printf("  %llu connections offered in %.1f s: %llu packets inspected, %llu let go, "
	       "%llu lost to a full ring; teacher cpu %.3f s\n", (unsigned long long)sent,
	       wall / 1e9, (unsigned long long)info.packets, (unsigned long long)info.packets_dropped,
	       (unsigned long long)counter(s, CNT_TEACH_RING_DROPS), info.cpu_us / 1e6);
	CHECKF(info.cpu_us / 1e6 <= TEACH_CPU_SHARE * wall / 1e9 + 0.1 + 0.05,
	       "teacher cpu %.3f s in %.1f s", info.cpu_us / 1e6, wall / 1e9);
	CHECK(info.packets + info.packets_dropped + counter(s, CNT_TEACH_RING_DROPS) <= sent);
	CHECKF(info.packets_dropped + counter(s, CNT_TEACH_RING_DROPS) > 0 ||
	       info.cpu_us / 1e6 < TEACH_CPU_SHARE * wall / 1e9,
	       "over budget and nothing let go");
	teacher_stop(t);
	xdp_sampler_close(s);
}

int main(void)
{
	char err[ERRMSG_LEN];

	if (scratch_create("teach"))
		return 1;
	if (model_load(model_default_path(), &model, err, sizeof(err))) {
		printf("FAIL loading the model: %s\n", err);
		return 1;
	}
	RUN(test_first_packets_copied);
	RUN(test_off_copies_nothing);
	RUN(test_sample_keyed_and_whole);
	RUN(test_jumbo_cut);
	RUN(test_teacher_labels_as_the_capture_labeller);
	RUN(test_class_map_it_cannot_use);
	RUN(test_flood_stays_in_budget);
	model_free(model);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch_dir);
		if (system(cmd))
			return 1;
	}
	return harness_done();
}
