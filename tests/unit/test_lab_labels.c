// SPDX-License-Identifier: MIT
/* The lab's labels.csv (pcap2npy --labels): columns found by name in any
 * order, both directions of a connection find its row, the capture column
 * separates captures, quoted fields, a connection said twice, and one line
 * of file:line for each kind of mistake. */
#include <netinet/in.h>
#include <string.h>

#include "capture/lab_labels.h"
#include "harness.h"

static struct lab_labels *parse(const char *text, char *err, size_t errlen)
{
	struct lab_labels *l = NULL;

	if (lab_labels_parse(text, strlen(text), "labels.csv", &l, err, errlen))
		return NULL;
	return l;
}

static struct flow_key key(const char *s, uint16_t sp, const char *d, uint16_t dp, uint8_t proto)
{
	struct flow_key k;

	flow_key_make(&k, s, sp, d, dp, proto);
	return k;
}

static void test_rows_and_directions(void)
{
	const char *text =
		"capture,protocol,client_addr,client_port,server_addr,server_port,class,app,"
		"scenario,seed,rtt_ms\n"
		"capture.pcap,tcp,10.200.16.3,40000,10.200.1.10,443,Video,mpv,mpv hls h2,7,20.5\n"
		"capture.pcap,udp,10.200.16.5,5060,10.200.1.90,20001,VoIP,sip-baresip,\"sip, opus\",7,3\n"
		"capture.pcap1,tcp,10.200.16.3,40000,10.200.1.10,443,Chat,irc-bot,x,7,1\n"
		",tcp,10.200.16.9,50000,10.200.1.70,5222,3,xmpp-slixmpp,,7,1\r\n"
		"capture.pcap,tcp,10.200.16.3,40000,10.200.1.10,443,Video,mpv,again,7,20.5\n";
	char err[256] = "";
	struct lab_labels *l = parse(text, err, sizeof(err));
	struct flow_key up = key("10.200.16.3", 40000, "10.200.1.10", 443, IPPROTO_TCP);
	struct flow_key down = key("10.200.1.10", 443, "10.200.16.3", 40000, IPPROTO_TCP);
	struct flow_key rtp = key("10.200.1.90", 20001, "10.200.16.5", 5060, IPPROTO_UDP);
	struct flow_key xmpp = key("10.200.16.9", 50000, "10.200.1.70", 5222, IPPROTO_TCP);
	struct flow_key other = key("10.200.16.3", 40001, "10.200.1.10", 443, IPPROTO_TCP);
	struct flow_key udp_twin = key("10.200.16.3", 40000, "10.200.1.10", 443, IPPROTO_UDP);
	int cap0, cap1;
	const struct lab_label *a, *b;

	CHECKF(l != NULL, "%s", err);
	if (!l)
		return;
	CHECK(lab_labels_count(l) == 4); /* the repeated row is one connection */
	cap0 = lab_labels_capture(l, "/data/lab/capture.pcap");
	cap1 = lab_labels_capture(l, "capture.pcap1");
	CHECK(cap0 >= 0 && cap1 >= 0 && cap0 != cap1);
	a = lab_labels_find(l, cap0, &up);
	b = lab_labels_find(l, cap0, &down);
	CHECK(a && a == b && a->label == 1 && !strcmp(a->app, "mpv") &&
	      !strcmp(a->scenario, "mpv hls h2"));
	/* the same connection in the next capture file is another row */
	a = lab_labels_find(l, cap1, &down);
	CHECK(a && a->label == 3 && !strcmp(a->app, "irc-bot"));
	a = lab_labels_find(l, cap0, &rtp);
	CHECK(a && a->label == 0 && !strcmp(a->scenario, "sip, opus"));
	/* an empty capture column matches any capture, also one it never names */
	a = lab_labels_find(l, lab_labels_capture(l, "elsewhere.pcap"), &xmpp);
	CHECK(a && a->label == 3 && !strcmp(a->app, "xmpp-slixmpp") && !a->scenario[0]);
	CHECK(lab_labels_find(l, cap0, &other) == NULL);
	CHECK(lab_labels_find(l, cap0, &udp_twin) == NULL);
	CHECK(lab_labels_find(l, lab_labels_capture(l, "elsewhere.pcap"), &up) == NULL);
	CHECK(lab_labels_unmatched(l) == 0);
	lab_labels_free(l);
}

static void test_columns_any_order_and_scenario_optional(void)
{
	const char *text = "app,class,server_port,server_addr,client_port,client_addr,protocol,"
			   "capture\nscp,File_Transfer,22,10.200.1.50,41000,10.200.16.7,6,\n";
	char err[256] = "";
	struct lab_labels *l = parse(text, err, sizeof(err));
	struct flow_key k = key("10.200.1.50", 22, "10.200.16.7", 41000, IPPROTO_TCP);
	const struct lab_label *a;

	CHECKF(l != NULL, "%s", err);
	if (!l)
		return;
	a = lab_labels_find(l, -2, &k);
	CHECK(a && a->label == 2 && !strcmp(a->app, "scp"));
	lab_labels_free(l);
}

static void test_many_rows(void)
{
	size_t n = 5000, len = 0, cap = n * 96 + 200;
	char *text = malloc(cap), err[256] = "";
	struct lab_labels *l;
	int found = 0;

	len += (size_t)snprintf(text, cap, "capture,protocol,client_addr,client_port,server_addr,"
				"server_port,class,app\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "c.pcap,tcp,10.200.%zu.%zu,%zu,"
					"10.200.1.30,443,Browsing,web-firefox\n", 16 + i / 250,
					1 + i % 250, 1024 + i);
	CHECK(lab_labels_parse(text, len, "big", &l, err, sizeof(err)) == 0);
	for (size_t i = 0; l && i < n; i += 7) {
		char addr[32];
		struct flow_key k;

		snprintf(addr, sizeof(addr), "10.200.%zu.%zu", 16 + i / 250, 1 + i % 250);
		k = key("10.200.1.30", 443, addr, (uint16_t)(1024 + i), IPPROTO_TCP);
		found += lab_labels_find(l, 0, &k) != NULL;
	}
	CHECK(found == (int)((n + 6) / 7));
	CHECK(l && lab_labels_count(l) == n && lab_labels_unmatched(l) == n - (size_t)found);
	lab_labels_free(l);
	free(text);
}

static void test_errors(void)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
		{ "", "empty" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class\n",
		  "labels.csv:1: no column 'app'" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.3,1,10.200.1.1,2,Video\n", "labels.csv:2: 7 fields where the header has 8" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,sctp,10.200.16.3,1,10.200.1.1,2,Video,mpv\n", "labels.csv:2: bad protocol 'sctp'" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.300,1,10.200.1.1,2,Video,mpv\n", "labels.csv:2: bad addresses" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.3,1,fd00::1,2,Video,mpv\n", "labels.csv:2: bad addresses" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.3,65536,10.200.1.1,2,Video,mpv\n", "labels.csv:2: bad ports" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.3,1,10.200.1.1,2,Gaming,mpv\n", "labels.csv:2: unknown class 'Gaming'" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.3,1,10.200.1.1,2,Video,\n", "labels.csv:2: no application" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.3,1,10.200.1.1,2,Video,\"mpv\n", "labels.csv:2: a quoted field is not closed" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.3,1,10.200.1.1,2,Video,\"mpv\"x\n", "labels.csv:2: a quoted field is not closed" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.3,1,10.200.1.1,2,Video,mpv\n"
		  "c,tcp,10.200.1.1,2,10.200.16.3,1,Chat,irc-bot\n", "labels.csv:3: the connection of line 2 again" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\n"
		  "c,tcp,10.200.16.3,1,10.200.1.1,2,Video,"
		  "an-application-name-that-is-longer-than-sixty-three-characters-for-sure\n",
		  "labels.csv:2: app longer than 63 characters" },
		{ "capture,protocol,client_addr,client_port,server_addr,server_port,class,app\0\n",
		  "not a text file" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		struct lab_labels *l = NULL;
		size_t len = strlen(bad[i].text);

		if (strstr(bad[i].says, "text file"))
			len += 2; /* past the NUL */
		CHECKF(lab_labels_parse(bad[i].text, len, "labels.csv", &l, err, sizeof(err)) == -1 &&
		       !l && strstr(err, bad[i].says) && !strchr(err, '\n'),
		       "case %zu: said '%s', expected '%s'", i, err, bad[i].says);
		lab_labels_free(l);
	}
}

static void test_load_refuses_what_is_no_file(void)
{
	char err[256] = "";
	struct lab_labels *l = NULL;

	CHECK(lab_labels_load("/nonexistent/labels.csv", &l, err, sizeof(err)) == -1 && !l &&
	      strstr(err, "/nonexistent/labels.csv"));
	CHECK(lab_labels_load("/dev/null", &l, err, sizeof(err)) == -1 && !l &&
	      strstr(err, "/dev/null"));
}

int main(void)
{
	RUN(test_rows_and_directions);
	RUN(test_columns_any_order_and_scenario_optional);
	RUN(test_many_rows);
	RUN(test_errors);
	RUN(test_load_refuses_what_is_no_file);
	return harness_done();
}
