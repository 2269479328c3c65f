// SPDX-License-Identifier: MIT
/* The capture reader on real captures (numbers checked with tcpdump) and on
 * files written here: snaplen-cut, truncated, garbage, unknown link type,
 * nanosecond pcap, pcapng with SLL2. */
#include <pcap/pcap.h>
#include <stdint.h>

#include "harness.h"
#include "scratch.h"

/* A scratch file name where an argv wants a char *. */
#define TMP(name) ((char *)tmp_path(name))
#include "capture/pcap_source.h"

#define DATA "tests/data/pcaps/"

/* Reads a whole capture; returns its counts (read_error set if it stopped). */
static struct pcap_counts read_counts(const char *path, uint16_t *first_sizes, int nsizes)
{
	struct pcap_counts none = { 0 };
	struct pcap_source *src;
	struct packet_info info;
	uint64_t ts;
	char err[256];
	int i = 0;

	if (pcap_source_open(path, &src, err, sizeof(err))) {
		printf("  %s\n", err);
		return none;
	}
	while (pcap_source_next(src, &info, &ts) == 1)
		if (i < nsizes)
			first_sizes[i++] = info.ip_len;
	none = *pcap_source_counts(src);
	pcap_source_close(src);
	return none;
}

static void test_real_captures(void)
{
	uint16_t sizes[4];
	struct pcap_counts c;

	c = read_counts(DATA "skype-conference-call.pcap", sizes, 4);
	CHECK(c.packets == 200 && c.by_result[PACKET_SAMPLED] == 200);
	CHECK(sizes[0] == 132 && sizes[1] == 132 && sizes[2] == 100 && sizes[3] == 100);
	CHECK(c.read_error[0] == 0);

	/* 4 IPv4 and 3 IPv6 non-first fragments (tcpdump: offset > 0, frag (N>0|...)) */
	c = read_counts(DATA "dns_fragmented.pcap", sizes, 0);
	CHECK(c.packets == 66);
	CHECK(c.by_result[PACKET_FRAGMENT] == 7);
	CHECK(c.by_result[PACKET_SAMPLED] == 59);

	c = read_counts(DATA "http_ipv6.pcap", sizes, 1);
	CHECK(c.packets == 193 && c.by_result[PACKET_SAMPLED] == 193);
	CHECK(sizes[0] == 32 + 40);

	/* broken DNS inside well-formed IP/UDP: sampled like any UDP */
	c = read_counts(DATA "malformed_dns.pcap", sizes, 2);
	CHECK(c.packets == 6 && c.by_result[PACKET_SAMPLED] == 6);
	CHECK(sizes[0] == 56 && sizes[1] == 1416);
}

/* Copies a capture's packets into a new file, each cut to caplen bytes. */
static int write_cut_copy(const char *in, const char *out, int dlt, int precision,
			  unsigned caplen)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *r = pcap_open_offline(in, errbuf);
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(dlt, 65535, precision);
	pcap_dumper_t *d = dead ? pcap_dump_open(dead, out) : NULL;
	struct pcap_pkthdr *h;
	const u_char *data;

	if (!r || !d)
		return -1;
	while (pcap_next_ex(r, &h, &data) == 1) {
		struct pcap_pkthdr copy = *h;

		if (copy.caplen > caplen)
			copy.caplen = caplen;
		if (precision == PCAP_TSTAMP_PRECISION_NANO)
			copy.ts.tv_usec *= 1000;
		pcap_dump((u_char *)d, &copy, data);
	}
	pcap_dump_close(d);
	pcap_close(dead);
	pcap_close(r);
	return 0;
}

/* Cut after the UDP ports (14 + 20 + 4 bytes), sizes still come from the
 * IP header; cut before them, every packet is skipped as snaplen-cut. */
static void test_snaplen_cut(void)
{
	uint16_t whole[4], cut[4];
	struct pcap_counts c;

	CHECK(!write_cut_copy(DATA "skype-conference-call.pcap", TMP("cut38.pcap"),
			      DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 38));
	read_counts(DATA "skype-conference-call.pcap", whole, 4);
	c = read_counts(TMP("cut38.pcap"), cut, 4);
	CHECK(c.by_result[PACKET_SAMPLED] == 200);
	CHECK(!memcmp(whole, cut, sizeof(whole)));

	CHECK(!write_cut_copy(DATA "skype-conference-call.pcap", TMP("cut36.pcap"),
			      DLT_EN10MB, PCAP_TSTAMP_PRECISION_MICRO, 36));
	c = read_counts(TMP("cut36.pcap"), cut, 0);
	CHECK(c.packets == 200 && c.by_result[PACKET_SNAPLEN_CUT] == 200);
}

static void test_truncated_file(void)
{
	const char *path = TMP("truncated.pcap");
	struct pcap_counts c;
	uint16_t sizes[1];

	CHECK(!write_cut_copy(DATA "skype-conference-call.pcap", path, DLT_EN10MB,
			      PCAP_TSTAMP_PRECISION_MICRO, 65535));
	CHECK(!truncate(path, 24 + 10 * (16 + 146) + 50)); /* 10 records, then half of one */
	c = read_counts(path, sizes, 1);
	CHECKF(c.packets >= 9 && c.packets < 200, "%llu packets", (unsigned long long)c.packets);
	CHECKF(strstr(c.read_error, "truncated") != NULL, "read_error '%s'", c.read_error);
	CHECK(sizes[0] == 132);
}

static void test_not_a_capture(void)
{
	struct pcap_source *src = NULL;
	char err[256] = "";
	FILE *f = fopen(TMP("garbage.pcap"), "w");

	fputs("this is not a capture file, just some text long enough\n", f);
	fclose(f);
	CHECK(pcap_source_open(TMP("garbage.pcap"), &src, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "garbage.pcap") && strstr(err, "format"), "err '%s'", err);
	CHECK(pcap_source_open(TMP("missing.pcap"), &src, err, sizeof(err)) == -1);
	CHECKF(strstr(err, "missing.pcap") != NULL, "err '%s'", err);
	CHECK(src == NULL);
}

static void test_unknown_link_type(void)
{
	struct pcap_counts c;
	char line[512] = "";
	FILE *mem;

	CHECK(!write_cut_copy(DATA "malformed_dns.pcap", TMP("wifi.pcap"),
			      DLT_IEEE802_11, PCAP_TSTAMP_PRECISION_MICRO, 65535));
	c = read_counts(TMP("wifi.pcap"), NULL, 0);
	CHECK(c.packets == 6 && c.by_result[PACKET_UNKNOWN_LINK] == 6);
	CHECK(c.by_result[PACKET_SAMPLED] == 0);
	mem = fmemopen(line, sizeof(line) - 1, "w");
	pcap_counts_print(mem, "wifi.pcap", &c);
	fclose(mem);
	CHECKF(strstr(line, "6 unknown link type 105") != NULL, "summary '%s'", line);
}

/* Nanosecond timestamps come through unrounded. */
static void test_nanosecond_pcap(void)
{
	struct pcap_source *src;
	struct packet_info info;
	uint64_t ts = 0;
	char err[256];

	CHECK(!write_cut_copy(DATA "malformed_dns.pcap", TMP("ns.pcap"), DLT_EN10MB,
			      PCAP_TSTAMP_PRECISION_NANO, 65535));
	CHECK(!pcap_source_open(TMP("ns.pcap"), &src, err, sizeof(err)));
	CHECK(pcap_source_next(src, &info, &ts) == 1);
	/* 17:42:40.342902 in the original, microseconds scaled to nanoseconds */
	CHECKF(ts % 1000000000u == 342902000u, "ts %llu", (unsigned long long)ts);
	pcap_source_close(src);
}

/* pcapng block writer (little-endian): type, total length, body, length. */
static void ng_block(FILE *f, uint32_t type, const void *body, uint32_t len)
{
	uint32_t pad = (4 - len % 4) % 4, total = 12 + len + pad, zero = 0;

	fwrite(&type, 4, 1, f);
	fwrite(&total, 4, 1, f);
	fwrite(body, 1, len, f);
	fwrite(&zero, 1, pad, f);
	fwrite(&total, 4, 1, f);
}

/* A pcapng file with one SLL2 interface and one IPv6 UDP packet. */
static void test_pcapng_sll2(void)
{
	const uint32_t shb[4] = { 0x1a2b3c4d, 0x00000001, 0xffffffff, 0xffffffff };
	const uint32_t idb[2] = { DLT_LINUX_SLL2, 0 }; /* link type, snaplen 0 */
	uint8_t epb[20 + 72] = { 0 }, *pkt = epb + 20;
	uint32_t *w = (uint32_t *)epb;
	struct pcap_counts c;
	uint16_t size[1];
	FILE *f = fopen(TMP("sll2.pcapng"), "wb");

	w[0] = 0;                    /* interface */
	w[1] = 0;                    /* timestamp high */
	w[2] = 1000000;              /* timestamp low: 1 s in microseconds */
	w[3] = w[4] = 20 + 48 + 4;   /* captured and original length */
	pkt[0] = 0x86, pkt[1] = 0xdd;/* SLL2 protocol type */
	pkt[20] = 0x60;
	pkt[20 + 5] = 12;            /* payload length */
	pkt[20 + 6] = 17;            /* UDP */
	pkt[20 + 40] = 0x04, pkt[20 + 41] = 0xd2; /* sport 1234 */
	pkt[20 + 45] = 12;           /* UDP length: the whole payload */
	ng_block(f, 0x0a0d0d0a, shb, sizeof(shb));
	ng_block(f, 1, idb, sizeof(idb));
	ng_block(f, 6, epb, 20 + 72);
	fclose(f);
	c = read_counts(TMP("sll2.pcapng"), size, 1);
	CHECK(c.packets == 1 && c.by_result[PACKET_SAMPLED] == 1);
	CHECK(size[0] == 52);
	CHECKF(c.read_error[0] == 0, "%s", c.read_error);
}

int main(void)
{
	if (scratch_create("pcap"))
		return 1;
	RUN(test_real_captures);
	RUN(test_snaplen_cut);
	RUN(test_truncated_file);
	RUN(test_not_a_capture);
	RUN(test_unknown_link_type);
	RUN(test_nanosecond_pcap);
	RUN(test_pcapng_sll2);
	scratch_remove();
	return harness_done();
}
